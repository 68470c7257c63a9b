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
use crate::fix::{Applied, FixReport, NotApplied};
use crate::model::{Applicability, Finding, Fix, ObjectRef};
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

/// One fix to try: its finding, target and edit.
struct Planned {
    finding: Finding,
    fix: Fix,
    target: usize,
    edit: SourceEdit,
}

/// Fixes the built objects of `targets` (paths as given, relative to the working directory).
/// Returns the report (`changed` holds the edited files) and the targets' input errors.
#[must_use]
pub fn fix_built(
    targets: &[BuildTarget],
    render: &RenderOptions,
    config: &Config,
    opts: &RunOptions,
    allow_unsafe: bool,
) -> (FixReport, Vec<InputError>) {
    let mut report = FixReport::default();
    let mut errors = Vec::new();
    let mut before: Vec<BTreeSet<Key>> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    for (ti, t) in targets.iter().enumerate() {
        let mut input = Input::default();
        source::build(std::slice::from_ref(t), render, Limits::default(), &mut input);
        errors.append(&mut input.errors);
        let (a, objects) = audit::run_with_objects(input, config, opts);
        before.push(keys(&a.findings));
        for f in a.findings {
            let Some(fix) = f.fix.as_deref().cloned() else { continue };
            if f.rendered.is_none() || fix.ops.is_empty() {
                continue;
            }
            let allowed = match fix.applicability {
                Applicability::Safe => true,
                Applicability::Unsafe => allow_unsafe,
                Applicability::DisplayOnly => false,
            };
            if !allowed {
                let reason = match fix.applicability {
                    Applicability::Unsafe => "unsafe: pass --unsafe to apply".to_string(),
                    _ => fix.note.clone().unwrap_or_else(|| "display-only: needs values only you know".to_string()),
                };
                report.skipped.push(not_applied(&f, &fix, reason));
                continue;
            }
            let Some(obj) = objects.iter().find(|o| ObjectRef::of(o) == *f.object && o.provenance.is_some()) else {
                continue;
            };
            let Some(prov) = &obj.provenance else { continue };
            match source_edit::translate(prov, &obj.body, &fix.ops) {
                Ok(edit) => planned.push(Planned { finding: f, fix, target: ti, edit }),
                // Shown (with its patch), never applied: what to change is in the finding.
                Err(reason) => report.skipped.push(not_applied(&f, &fix, format!("{NO_EDIT}{reason}"))),
            }
        }
    }
    if planned.is_empty() {
        return (report, errors);
    }
    let originals: BTreeMap<String, String> =
        planned.iter().map(|p| (p.edit.source.path.clone(), p.edit.source.text.clone())).collect();
    let copy = match Copy::new(targets, originals.keys()) {
        Ok(c) => c,
        Err(e) => {
            let reason = format!("cannot verify it by building again: {e}");
            report.failed.extend(planned.iter().map(|p| not_applied(&p.finding, &p.fix, reason.clone())));
            return (report, errors);
        }
    };
    // All together: one build per target.
    let mut texts = originals.clone();
    let mut ok = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let path = &p.edit.source.path;
        let current = texts.get(path).cloned().unwrap_or_default();
        match source_edit::apply_to_source(&current, p.edit.document, &p.edit.ops, &p.fix) {
            Ok(t) => {
                texts.insert(path.clone(), t);
                ok.push(i);
            }
            Err(reason) => report.failed.push(not_applied(&p.finding, &p.fix, reason)),
        }
    }
    let together = copy.write_all(&texts).and_then(|()| copy.build(targets, render, config, opts));
    // What the batch may reveal: the findings any of its fixes may legitimately bring up.
    let revealed: BTreeSet<&str> =
        ok.iter().flat_map(|&i| crate::fix::may_reveal(&planned[i].finding.rule)).copied().collect();
    let verdicts: Vec<Result<(), String>> = match &together {
        Ok(after) => ok.iter().map(|&i| verdict(&planned[i], &before, after, &revealed)).collect(),
        Err(e) => vec![Err(e.clone()); ok.len()],
    };
    if verdicts.iter().all(Result::is_ok) {
        for &i in &ok {
            report.applied.push(applied(&planned[i]));
        }
    } else {
        // One at a time, each on top of the ones kept.
        texts = originals.clone();
        let mut base = before.clone();
        for &i in &ok {
            let p = &planned[i];
            let path = &p.edit.source.path;
            let current = texts.get(path).cloned().unwrap_or_default();
            let result = source_edit::apply_to_source(&current, p.edit.document, &p.edit.ops, &p.fix).and_then(|t| {
                copy.write(path, &t)?;
                let after = copy.build(targets, render, config, opts)?;
                let revealed: BTreeSet<&str> = crate::fix::may_reveal(&p.finding.rule).iter().copied().collect();
                verdict(p, &base, &after, &revealed)?;
                Ok((t, after))
            });
            match result {
                Ok((t, after)) => {
                    texts.insert(path.clone(), t);
                    base = after;
                    report.applied.push(applied(p));
                }
                Err(reason) => {
                    let _ = copy.write(path, &current);
                    report.failed.push(not_applied(&p.finding, &p.fix, reason));
                }
            }
        }
    }
    for (path, text) in texts {
        if let Some(orig) = originals.get(&path)
            && *orig != text
        {
            report.changed.insert(path, (orig.clone(), text));
        }
    }
    (report, errors)
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
    (f.rule.clone(), (*f.object).clone(), f.location.path.clone())
}

fn keys(findings: &[Finding]) -> BTreeSet<Key> {
    findings.iter().filter(|f| f.rendered.is_some()).map(key).collect()
}

fn applied(p: &Planned) -> Applied {
    Applied {
        rule: p.finding.rule.clone(),
        fingerprint: p.finding.fingerprint.clone(),
        object: p.finding.object.to_string(),
        title: p.fix.title.clone(),
        applicability: p.fix.applicability,
    }
}

fn not_applied(f: &Finding, fix: &Fix, reason: String) -> NotApplied {
    NotApplied {
        rule: f.rule.clone(),
        fingerprint: f.fingerprint.clone(),
        object: f.object.to_string(),
        title: fix.title.clone(),
        reason,
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

    /// Where a given path is in the copy.
    fn map(&self, p: &Path) -> PathBuf {
        let a = source::provenance::lexical(&self.cwd.join(p));
        self.dir.path().join(a.strip_prefix(&self.root).unwrap_or(&a))
    }

    fn write(&self, path: &str, text: &str) -> Result<(), String> {
        std::fs::write(self.map(Path::new(path)), text).map_err(|e| format!("cannot write the copy of {path}: {e}"))
    }

    fn write_all(&self, texts: &BTreeMap<String, String>) -> Result<(), String> {
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
            out.push(keys(&audit::run(input, config, opts).findings));
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
