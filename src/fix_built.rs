//! `clustergpt fix` on built objects (Kustomize targets, Helm charts).
//!
//! A fix of a built object is moved onto the patch, values or resource file that sets the field
//! (`fix::source_edit`). It is kept only when building again shows its finding gone and no new
//! finding: the edits are made in a copy of the tree (never in the user's files before they are
//! verified), the targets are built there with the same tool, and the audits compared. All fixes
//! are tried together first (one build per target); if that fails, one at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::audit::{self, RunOptions};
use crate::config::Config;
use crate::fix::source_edit::{self, SourceEdit};
use crate::fix::{Applied, FixReport, not_applied};
use crate::model::{Finding, Fix, ObjectRef};
use crate::source::render::{RenderOptions, TempDir};
use crate::source::{self, BuildTarget, Input, InputError};
use crate::yaml::Limits;

/// How the reason of a fix with no edit in the built target's files starts.
pub const NO_EDIT: &str = "no text edit in the files the build reads: ";

/// A finding as the build shows it, whatever file it is reported on.
type Key = (String, ObjectRef, String);

/// The most files, and bytes, copied to verify fixes.
const MAX_COPY_FILES: usize = 20_000;
const MAX_COPY_BYTES: u64 = 256 << 20;

/// One fix to try: its finding, target and edit, and the edited file relative to the copy's root.
struct Planned {
    finding: Finding,
    fix: Fix,
    target: usize,
    edit: SourceEdit,
    file: PathBuf,
}

/// Each target's audit and objects.
type Builds = Vec<(crate::audit::Audit, Vec<crate::model::Object>)>;

/// Fixes the built objects of `targets` (paths as given, relative to the working directory).
/// Returns the report (`changed` holds the edited files) and the targets' input errors.
///
/// Like the plain-file fixer it runs in passes: a fix may reveal another fixable finding (an
/// unprivileged container must now forbid privilege escalation), found by the next build.
#[must_use]
pub fn fix_built(
    targets: &[BuildTarget],
    render: &RenderOptions,
    config: &Config,
    opts: &RunOptions,
    allow_unsafe: bool,
    avoid: &BTreeSet<PathBuf>,
) -> (FixReport, Vec<InputError>) {
    let mut report = FixReport::default();
    let mut errors = Vec::new();
    let mut builds: Builds = Vec::new();
    for t in targets {
        let mut input = Input::default();
        source::build(std::slice::from_ref(t), render, Limits::default(), &mut input);
        errors.append(&mut input.errors);
        builds.push(audit::run_with_objects(input, config, opts));
    }
    let mut attempted: BTreeSet<(usize, Key)> = BTreeSet::new();
    let mut planned = plan(&builds, allow_unsafe, &mut attempted, &mut report);
    // A file another fix of this run changed (a live diagnosis's) is left for the next run: its
    // text here is the one before that change.
    let cwd = std::env::current_dir().unwrap_or_default();
    planned.retain(|((f, fix, _), e)| {
        let busy = avoid.contains(&source::provenance::lexical(&cwd.join(&e.source.path)));
        if busy {
            let reason = format!("{} was changed by a live fix in this run; run fix again", e.source.path);
            report.failed.push(not_applied(f, fix, reason));
        }
        !busy
    });
    if planned.is_empty() {
        return (report, errors);
    }
    let copy = match Copy::new(targets, planned.iter().map(|(_, e)| &e.source.path)) {
        Ok(c) => c,
        Err(e) => {
            let reason = format!("cannot verify it by building again: {e}");
            report.failed.extend(planned.iter().map(|(p, _)| not_applied(&p.0, &p.1, reason.clone())));
            return (report, errors);
        }
    };
    // Files by their path under the copied root: as the user names them, and as they were.
    let mut originals: BTreeMap<PathBuf, (String, String)> = BTreeMap::new();
    let mut texts: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut before: Vec<BTreeSet<Key>> = builds.iter().map(|(a, _)| keys(&a.findings)).collect();
    let mut round: Vec<Planned> = Vec::new();
    for ((finding, fix, target), edit) in planned.drain(..) {
        let Some(file) = copy.rel_of_given(&edit.source.path) else { continue };
        originals.entry(file.clone()).or_insert_with(|| (edit.source.path.clone(), edit.source.text.clone()));
        round.push(Planned { finding, fix, target, edit, file });
    }
    for _pass in 0..crate::fix::MAX_PASSES {
        if !run_round(&round, &mut texts, &originals, &before, &copy, (targets, render, config, opts), &mut report) {
            break;
        }
        // What the fixes kept so far build to: the next pass's findings.
        let Ok(next) = copy.build_full(targets, render, config, opts) else { break };
        before = next.iter().map(|(a, _)| keys(&a.findings)).collect();
        round.clear();
        for ((finding, fix, target), edit) in plan(&next, allow_unsafe, &mut attempted, &mut report) {
            let Some(file) = copy.rel_of_copy(&edit.source.path) else { continue };
            originals.entry(file.clone()).or_insert_with(|| (copy.display(&file), edit.source.text.clone()));
            round.push(Planned { finding, fix, target, edit, file });
        }
        if round.is_empty() {
            break;
        }
    }
    for (file, (shown, orig)) in originals {
        if let Some(text) = texts.get(&file)
            && *text != orig
        {
            report.changed.insert(shown, (orig, text.clone()));
        }
    }
    (report, errors)
}

/// The fixes of a build not tried yet: moved onto their files, or reported as skipped.
fn plan(
    builds: &Builds,
    allow_unsafe: bool,
    attempted: &mut BTreeSet<(usize, Key)>,
    report: &mut FixReport,
) -> Vec<((Finding, Fix, usize), SourceEdit)> {
    let mut out = Vec::new();
    for (ti, (a, objects)) in builds.iter().enumerate() {
        for f in &a.findings {
            let Some(fix) = f.fix.as_deref().cloned() else { continue };
            if f.rendered.is_none() || fix.ops.is_empty() || !attempted.insert((ti, key(f))) {
                continue;
            }
            if let Some(reason) = crate::fix::skip_reason(&fix, allow_unsafe) {
                report.skipped.push(not_applied(f, &fix, reason));
                continue;
            }
            let Some(obj) = objects.iter().find(|o| ObjectRef::of(o) == *f.object && o.provenance.is_some()) else {
                continue;
            };
            let Some(prov) = &obj.provenance else { continue };
            match source_edit::translate(prov, &obj.body, &fix.ops) {
                Ok(edit) => out.push(((f.clone(), fix, ti), edit)),
                // Shown (with its patch), never applied: what to change is in the finding.
                Err(reason) => report.skipped.push(not_applied(f, &fix, format!("{NO_EDIT}{reason}"))),
            }
        }
    }
    out
}

/// One pass: applies the planned fixes in the copy, all together first (one build per target),
/// then one at a time on top of the ones kept. Returns whether any was kept.
fn run_round(
    round: &[Planned],
    texts: &mut BTreeMap<PathBuf, String>,
    originals: &BTreeMap<PathBuf, (String, String)>,
    before: &[BTreeSet<Key>],
    copy: &Copy,
    (targets, render, config, opts): (&[BuildTarget], &RenderOptions, &Config, &RunOptions),
    report: &mut FixReport,
) -> bool {
    let current = |texts: &BTreeMap<PathBuf, String>, file: &PathBuf| {
        texts.get(file).or_else(|| originals.get(file).map(|(_, t)| t)).cloned().unwrap_or_default()
    };
    let start = texts.clone();
    let mut ok = Vec::new();
    for (i, p) in round.iter().enumerate() {
        match source_edit::apply_to_source(&current(texts, &p.file), p.edit.document, &p.edit.ops, &p.fix) {
            Ok(t) => {
                texts.insert(p.file.clone(), t);
                ok.push(i);
            }
            Err(reason) => report.failed.push(not_applied(&p.finding, &p.fix, reason)),
        }
    }
    if ok.is_empty() {
        return false;
    }
    let together = copy.write_all(texts).and_then(|()| copy.build(targets, render, config, opts));
    // What the batch may reveal: the findings any of its fixes may legitimately bring up.
    let revealed: BTreeSet<&str> =
        ok.iter().flat_map(|&i| crate::fix::may_reveal(&round[i].finding.rule)).copied().collect();
    if let Ok(after) = &together
        && ok.iter().all(|&i| verdict(&round[i], before, after, &revealed).is_ok())
    {
        report.applied.extend(ok.iter().map(|&i| applied(&round[i])));
        return true;
    }
    // One at a time, each on top of the ones kept.
    *texts = start;
    let _ = copy.write_all(&originals.keys().map(|f| (f.clone(), current(texts, f))).collect());
    let mut base = before.to_vec();
    let mut kept = false;
    for &i in &ok {
        let p = &round[i];
        let was = current(texts, &p.file);
        let result = source_edit::apply_to_source(&was, p.edit.document, &p.edit.ops, &p.fix).and_then(|t| {
            copy.write(&p.file, &t)?;
            let after = copy.build(targets, render, config, opts)?;
            let revealed: BTreeSet<&str> = crate::fix::may_reveal(&p.finding.rule).iter().copied().collect();
            verdict(p, &base, &after, &revealed)?;
            Ok((t, after))
        });
        match result {
            Ok((t, after)) => {
                texts.insert(p.file.clone(), t);
                base = after;
                kept = true;
                report.applied.push(applied(p));
            }
            Err(reason) => {
                let _ = copy.write(&p.file, &was);
                report.failed.push(not_applied(&p.finding, &p.fix, reason));
            }
        }
    }
    kept
}

/// Whether a fix did what it should: its finding is gone from its target, and no target shows a
/// finding it did not show before, other than what the fixes may reveal (`fix::may_reveal`: a
/// second replica makes a missing PodDisruptionBudget matter).
fn verdict(
    p: &Planned,
    before: &[BTreeSet<Key>],
    after: &[BTreeSet<Key>],
    revealed: &BTreeSet<&str>,
) -> Result<(), String> {
    if after.get(p.target).is_some_and(|a| a.contains(&key(&p.finding))) {
        return Err("the finding remains after building again".to_string());
    }
    let new: Vec<String> = before
        .iter()
        .zip(after)
        .flat_map(|(b, a)| a.difference(b))
        .filter(|(rule, _, _)| !revealed.contains(rule.as_str()))
        .map(|(rule, object, _)| format!("{rule} on {object}"))
        .collect();
    if let Some(first) = new.first() {
        return Err(format!("building again shows a new finding ({first})"));
    }
    Ok(())
}

fn key(f: &Finding) -> Key {
    (f.rule.to_string(), (*f.object).clone(), f.location.path.clone())
}

fn keys(findings: &[Finding]) -> BTreeSet<Key> {
    findings.iter().filter(|f| f.rendered.is_some()).map(key).collect()
}

fn applied(p: &Planned) -> Applied {
    Applied {
        rule: p.finding.rule.to_string(),
        fingerprint: p.finding.fingerprint.clone(),
        object: p.finding.object.to_string(),
        title: p.fix.title.to_string(),
        applicability: p.fix.applicability,
    }
}

/// A copy of the smallest directory holding every target and edited file, to build in.
struct Copy {
    dir: TempDir,
    /// The directory copied (absolute).
    root: PathBuf,
    /// The working directory (absolute), against which given paths are read.
    cwd: PathBuf,
}

impl Copy {
    fn new<'a>(targets: &[BuildTarget], edited: impl Iterator<Item = &'a String>) -> Result<Copy, String> {
        let cwd = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
        let abs = |p: &Path| source::provenance::lexical(&cwd.join(p));
        let mut all: Vec<PathBuf> = Vec::new();
        for t in targets {
            // The target's own directory too: a chart's release is named after it.
            let dir = abs(t.path());
            all.push(dir.parent().map_or_else(|| dir.clone(), Path::to_path_buf));
            if let BuildTarget::Kustomize(d) = t {
                all.extend(reach(&abs(d)));
            }
        }
        for t in targets {
            if let BuildTarget::Chart(c) = t {
                all.extend(c.values.iter().filter_map(|v| abs(v).parent().map(Path::to_path_buf)));
            }
        }
        all.extend(edited.filter_map(|e| abs(Path::new(e)).parent().map(Path::to_path_buf)));
        let mut root = all.first().cloned().ok_or("nothing to build")?;
        for p in &all {
            while !p.starts_with(&root) {
                root = root.parent().map(Path::to_path_buf).ok_or("the files have no common directory")?;
            }
        }
        let dir = TempDir::new().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let mut budget = (MAX_COPY_FILES, MAX_COPY_BYTES);
        copy_tree(&root, dir.path(), &mut budget)?;
        Ok(Copy { dir, root, cwd })
    }

    /// A path as the user gave it (relative to the working directory), under the copied root.
    fn rel_of_given(&self, p: &str) -> Option<PathBuf> {
        let a = source::provenance::lexical(&self.cwd.join(p));
        a.strip_prefix(&self.root).ok().map(Path::to_path_buf)
    }

    /// A path a build in the copy printed, under the copied root.
    fn rel_of_copy(&self, p: &str) -> Option<PathBuf> {
        let a = source::provenance::lexical(Path::new(p));
        a.strip_prefix(self.dir.path()).ok().map(Path::to_path_buf)
    }

    /// A file under the copied root as the user names files: relative to the working directory
    /// when it is below it.
    fn display(&self, rel: &Path) -> String {
        let a = self.root.join(rel);
        a.strip_prefix(&self.cwd).map_or_else(|_| a.display().to_string(), |r| r.display().to_string())
    }

    /// Where a given path is in the copy.
    fn map(&self, p: &Path) -> PathBuf {
        let a = source::provenance::lexical(&self.cwd.join(p));
        self.dir.path().join(a.strip_prefix(&self.root).unwrap_or(&a))
    }

    fn write(&self, rel: &Path, text: &str) -> Result<(), String> {
        std::fs::write(self.dir.path().join(rel), text)
            .map_err(|e| format!("cannot write the copy of {}: {e}", self.display(rel)))
    }

    fn write_all(&self, texts: &BTreeMap<PathBuf, String>) -> Result<(), String> {
        texts.iter().try_for_each(|(p, t)| self.write(p, t))
    }

    /// Builds every target in the copy and audits each: its findings' keys.
    fn build(
        &self,
        targets: &[BuildTarget],
        render: &RenderOptions,
        config: &Config,
        opts: &RunOptions,
    ) -> Result<Vec<BTreeSet<Key>>, String> {
        Ok(self.build_full(targets, render, config, opts)?.iter().map(|(a, _)| keys(&a.findings)).collect())
    }

    /// Builds every target in the copy and audits each.
    fn build_full(
        &self,
        targets: &[BuildTarget],
        render: &RenderOptions,
        config: &Config,
        opts: &RunOptions,
    ) -> Result<Builds, String> {
        let mut out = Vec::new();
        for t in targets {
            let mapped = match t {
                BuildTarget::Kustomize(d) => BuildTarget::Kustomize(self.map(d)),
                BuildTarget::Chart(c) => {
                    let mut c = c.clone();
                    // The same release name as the build being fixed, wherever the copy is.
                    c.release = Some(crate::source::render::release_name(&c));
                    c.path = self.map(&c.path);
                    c.values = c.values.iter().map(|v| self.map(v)).collect();
                    BuildTarget::Chart(c)
                }
            };
            let mut input = Input::default();
            source::build(std::slice::from_ref(&mapped), render, Limits::default(), &mut input);
            if let Some(e) = input.errors.first() {
                return Err(format!("building again failed: {}", e.message));
            }
            out.push(audit::run_with_objects(input, config, opts));
        }
        Ok(out)
    }
}

/// Every local path a kustomization reads, transitively (bases, components, patches, generator
/// files): the copy must hold them all for the build to run there.
fn reach(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    let mut seen = BTreeSet::new();
    while let Some(d) = todo.pop() {
        if !seen.insert(d.clone()) {
            continue;
        }
        let Some(text) = source::kustomize::FILE_NAMES.iter().find_map(|n| std::fs::read_to_string(d.join(n)).ok())
        else {
            continue;
        };
        for r in source::kustomize::references(&text) {
            let p = source::provenance::lexical(&d.join(r));
            if p.is_dir() {
                todo.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// Copies a directory tree (regular files and directories; `.git` and symbolic links left out).
fn copy_tree(from: &Path, to: &Path, budget: &mut (usize, u64)) -> Result<(), String> {
    let entries = std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let name = e.file_name();
        if name == ".git" {
            continue;
        }
        let ty = e.file_type().map_err(|err| format!("cannot read {}: {err}", e.path().display()))?;
        let dest = to.join(&name);
        if ty.is_dir() {
            std::fs::create_dir(&dest).map_err(|err| format!("cannot copy {}: {err}", e.path().display()))?;
            copy_tree(&e.path(), &dest, budget)?;
        } else if ty.is_file() {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            if budget.0 == 0 || budget.1 < len {
                return Err(format!(
                    "{} holds more than {MAX_COPY_FILES} files or {} MiB",
                    from.display(),
                    MAX_COPY_BYTES >> 20
                ));
            }
            budget.0 -= 1;
            budget.1 -= len;
            std::fs::copy(e.path(), &dest).map_err(|err| format!("cannot copy {}: {err}", e.path().display()))?;
        }
    }
    Ok(())
}
