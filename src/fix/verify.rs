//! Checking an applied fix against the rest of the input.
//!
//! A fix is kept when the file still parses, the finding is gone and no other finding appears
//! anywhere. [`Full`] re-audits every object after every fix: the reference, quadratic in the
//! input. [`Incremental`] re-parses the edited document only and re-checks the objects the edit
//! can affect: the objects whose text changed, their graph neighbourhood (two hops, before and
//! after the edit: a PDB reads its workload's autoscaler), and, for edits whose effect is not
//! bounded by the graph (labels, identities, RBAC, custom resources, created objects), a whole
//! namespace or every object. Each pass ends with one full audit that the bookkeeping must
//! match; if it does not, the caller redoes the pass with [`Full`].

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

use serde_json::Value;

use super::edit::FileStyle;
use super::{VerificationStats, may_reveal, region};
use crate::audit::{self, Audit, Indexes, RunOptions};
use crate::config::Config;
use crate::graph::Graph;
use crate::model::{Finding, Fix, FixOp, Object, ObjectRef, Origin, SourceFile};
use crate::rules::architecture::is_custom_resource;
use crate::source::{self, Input, InputError, Skipped};
use crate::workload::Workload;
use crate::yaml::Limits;

/// The state a fix pass works on.
pub(super) trait Checker {
    /// The audit the pass takes its candidates from.
    fn audit(&self) -> &Audit;
    /// Whether a finding with this fingerprint exists now.
    fn has(&self, fingerprint: &str) -> bool;
    /// Applies `fix`, the fix of `f` (about an object in `file`), to the current text and keeps
    /// the edit if it verifies; `None` when the object is no longer there.
    fn try_fix(
        &mut self,
        f: &Finding,
        file: &str,
        fix: &Fix,
        stats: &mut VerificationStats,
    ) -> Option<Result<(), String>>;
    /// Ends a pass that applied fixes; `false` when the bookkeeping disagrees with a full audit.
    fn end_pass(&mut self) -> bool;
    /// Every file's current text.
    fn texts(&mut self) -> &BTreeMap<String, String>;
    /// The final texts and the audit of them.
    fn finish(self: Box<Self>) -> (BTreeMap<String, String>, Audit);
}

/// Reads one file's text.
pub(super) fn parse_one(path: &str, text: &str) -> Input {
    let mut input = Input::default();
    source::load_text(path, text.to_string(), Limits::default(), &mut input);
    input
}

/// Whether `after` holds findings `before` did not, other than those the fixed rule may reveal:
/// the reason to refuse the fix.
fn introduced<'a>(rule: &str, new: impl Iterator<Item = &'a Finding>, before: impl Fn(&str) -> bool) -> Option<String> {
    let allowed_new = may_reveal(rule);
    let new: Vec<String> = new
        .filter(|g| !before(&g.fingerprint) && !allowed_new.contains(&g.rule.as_ref()))
        .map(|g| format!("{} {}", g.rule, g.message))
        .collect();
    (!new.is_empty()).then(|| format!("the edit introduces new findings: {}", new.join("; ")))
}

const REMAINS: &str = "the finding remains after the edit";

/// Re-audits everything after every fix.
pub(super) struct Full<'c> {
    config: &'c Config,
    opts: &'c RunOptions,
    texts: BTreeMap<String, String>,
    parsed: BTreeMap<String, Input>,
    audit: Audit,
    objects: Vec<Object>,
}

impl<'c> Full<'c> {
    pub(super) fn new(texts: BTreeMap<String, String>, config: &'c Config, opts: &'c RunOptions) -> Full<'c> {
        let parsed: BTreeMap<String, Input> = texts.iter().map(|(p, t)| (p.clone(), parse_one(p, t))).collect();
        let (audit, objects) = audit_all(&parsed, config, opts);
        Full { config, opts, texts, parsed, audit, objects }
    }

    pub(super) fn into_texts(self) -> BTreeMap<String, String> {
        self.texts
    }
}

fn audit_all(parsed: &BTreeMap<String, Input>, config: &Config, opts: &RunOptions) -> (Audit, Vec<Object>) {
    let mut all = Input::default();
    for input in parsed.values() {
        all.objects.extend(input.objects.iter().cloned());
        all.errors.extend(input.errors.iter().cloned());
        all.skipped.extend(input.skipped.iter().cloned());
        all.files += input.files;
    }
    audit::run_with_objects(all, config, opts)
}

impl Checker for Full<'_> {
    fn audit(&self) -> &Audit {
        &self.audit
    }

    fn has(&self, fingerprint: &str) -> bool {
        self.audit.findings.iter().any(|g| g.fingerprint == fingerprint)
    }

    fn try_fix(
        &mut self,
        f: &Finding,
        file: &str,
        fix: &Fix,
        stats: &mut VerificationStats,
    ) -> Option<Result<(), String>> {
        let obj = self.objects.iter().find(|o| o.file() == Some(file) && ObjectRef::of(o) == *f.object)?;
        Some(super::text_edit(obj, fix).and_then(|fixed| self.try_apply(f, file, fixed, stats)))
    }

    fn end_pass(&mut self) -> bool {
        true
    }

    fn texts(&mut self) -> &BTreeMap<String, String> {
        &self.texts
    }

    fn finish(self: Box<Self>) -> (BTreeMap<String, String>, Audit) {
        (self.texts, self.audit)
    }
}

impl Full<'_> {
    fn try_apply(
        &mut self,
        f: &Finding,
        file: &str,
        fixed: String,
        stats: &mut VerificationStats,
    ) -> Result<(), String> {
        stats.full += 1;
        let mut trial = self.parsed.clone();
        let input = parse_one(file, &fixed);
        if !input.errors.is_empty() {
            return Err(format!("the fixed file does not parse: {}", input.errors[0]));
        }
        trial.insert(file.to_string(), input);
        let (after, after_objects) = audit_all(&trial, self.config, self.opts);
        if after.findings.iter().any(|g| g.fingerprint == f.fingerprint) {
            return Err(REMAINS.to_string());
        }
        let before: BTreeSet<&str> = self.audit.findings.iter().map(|g| g.fingerprint.as_str()).collect();
        if let Some(reason) = introduced(&f.rule, after.findings.iter(), |fp| before.contains(fp)) {
            return Err(reason);
        }
        self.texts.insert(file.to_string(), fixed);
        self.parsed = trial;
        self.audit = after;
        self.objects = after_objects;
        Ok(())
    }
}

/// Whether an object is an item of a List document (its text a part of the document's).
fn is_list_item(o: &Object) -> bool {
    matches!(&o.origin, Origin::File { prefix, .. } if !prefix.is_empty()) && o.provenance.is_none()
}

/// Identity of an object's findings: its file and reference.
type Key = (String, ObjectRef);

fn key_of(o: &Object) -> Key {
    (o.file().unwrap_or_default().to_string(), ObjectRef::of(o))
}

fn finding_key(f: &Finding) -> Key {
    (f.location.file.clone().unwrap_or_default(), (*f.object).clone())
}

/// One file's objects (a range of `Incremental::objects`) and what else reading it produced.
struct FileState {
    range: Range<usize>,
    errors: Vec<InputError>,
    skipped: Vec<Skipped>,
}

/// Re-checks only what an edit can affect.
pub(super) struct Incremental<'c> {
    config: &'c Config,
    opts: &'c RunOptions,
    texts: BTreeMap<String, String>,
    /// Per file, in path order: the objects are laid out in the same order.
    files: BTreeMap<String, FileState>,
    objects: Vec<Object>,
    graph: Graph,
    /// The last full audit: the candidates of a pass.
    audit: Audit,
    /// Object indices per key.
    index: BTreeMap<Key, Vec<usize>>,
    /// Fingerprints of the current findings, per object key.
    stored: BTreeMap<Key, Vec<String>>,
    /// How many current findings carry each fingerprint.
    counts: BTreeMap<String, usize>,
    /// Files with documents edited since they were last parsed whole: their positions are stale
    /// until the pass ends.
    dirty: BTreeSet<String>,
    /// Per file, List items edited since it was last parsed whole. The file's text is left as its
    /// other objects were read from it (so their positions stay exact, and an edit costs the
    /// item's size, not the file's): each edited item is an object of its own text until the
    /// file is read whole again.
    overlays: BTreeMap<String, BTreeMap<usize, ItemText>>,
    /// The indexes over every object that checking a few needs, kept while edits cannot change
    /// them (building them reads every object).
    indexes: Option<Indexes>,
    /// Documents' styles by file and document index, found once per reading of the file.
    styles: BTreeMap<String, BTreeMap<usize, Option<FileStyle>>>,
}

/// An edited List item (by its index among its file's objects): where it is in the file's text
/// and its text now.
struct ItemText {
    range: Range<usize>,
    source: Arc<SourceFile>,
}

/// Where a List item's edit goes: its index among its file's objects, its range in the file's
/// text, and whether it is a block item.
struct ItemAt {
    index: usize,
    range: Range<usize>,
    block: bool,
}

/// The verdict of an incremental check.
enum Outcome {
    /// The fix verifies: commit it.
    Keep(Box<Trial>),
    /// The fix is refused, for this reason.
    Refuse(String),
    /// Only the full check can tell (or word the refusal exactly).
    Unsure,
}

/// What an accepted trial commits.
struct Trial {
    /// The graph after the edit, when the edit changed it.
    graph: Option<Graph>,
    index: Option<BTreeMap<Key, Vec<usize>>>,
    keys: BTreeSet<Key>,
    findings: Vec<Finding>,
    /// The edit can change the indexes.
    indexes_changed: bool,
}

/// How to undo a trial edit of one document.
struct Undo {
    file: String,
    /// Where the document's objects are now, and what was there before.
    run: Range<usize>,
    old: Vec<Object>,
    /// The file's other objects as they were, by index before the edit.
    fields: Vec<(usize, Placement)>,
}

/// Where an object's text is: what an edit earlier in its file moves.
struct Placement {
    doc_range: Option<(usize, usize)>,
    source: Option<Arc<SourceFile>>,
    origin: Origin,
}

impl<'c> Incremental<'c> {
    pub(super) fn new(texts: BTreeMap<String, String>, config: &'c Config, opts: &'c RunOptions) -> Incremental<'c> {
        let mut files = BTreeMap::new();
        let mut objects = Vec::new();
        for (path, text) in &texts {
            let input = parse_one(path, text);
            let start = objects.len();
            objects.extend(input.objects);
            files.insert(
                path.clone(),
                FileState { range: start..objects.len(), errors: input.errors, skipped: input.skipped },
            );
        }
        let (audit, objects) = run_full(objects, &files, config, opts);
        let mut me = Incremental {
            config,
            opts,
            texts,
            files,
            graph: Graph::build(&objects),
            objects,
            audit,
            index: BTreeMap::new(),
            stored: BTreeMap::new(),
            counts: BTreeMap::new(),
            dirty: BTreeSet::new(),
            overlays: BTreeMap::new(),
            indexes: None,
            styles: BTreeMap::new(),
        };
        me.reset_bookkeeping();
        me
    }

    /// Rebuilds the index and the fingerprint bookkeeping from `self.audit`.
    fn reset_bookkeeping(&mut self) {
        self.index = index_of(&self.objects);
        let (stored, counts) = bookkeeping(&self.audit.findings);
        self.stored = stored;
        self.counts = counts;
    }

    fn lookup(&self, file: &str, object: &ObjectRef) -> Option<usize> {
        // Same object as a linear scan would find: the first with this file and reference.
        self.index.get(&(file.to_string(), object.clone())).and_then(|v| v.first().copied())
    }

    /// Replaces one file's objects, shifting the ranges of the files after it; returns the old ones.
    fn replace_file(&mut self, file: &str, objects: Vec<Object>) -> Vec<Object> {
        let Some(state) = self.files.get(file) else { return Vec::new() };
        let range = state.range.clone();
        let (old_len, new_len) = (range.len(), objects.len());
        let old: Vec<Object> = self.objects.splice(range.clone(), objects).collect();
        for (path, st) in &mut self.files {
            if path.as_str() == file {
                st.range = range.start..range.start + new_len;
            } else if st.range.start >= range.end {
                st.range = st.range.start + new_len - old_len..st.range.end + new_len - old_len;
            }
        }
        old
    }

    /// Shifts the ranges of the files after `file` by `by` objects.
    fn shift_files_after(&mut self, file: &str, grow: usize) {
        let mut after = false;
        for (path, st) in &mut self.files {
            if after {
                st.range = st.range.start + grow..st.range.end + grow;
            } else if path.as_str() == file {
                st.range.end += grow;
                after = true;
            }
        }
    }

    fn shrink_files_after(&mut self, file: &str, by: usize) {
        let mut after = false;
        for (path, st) in &mut self.files {
            if after {
                st.range = st.range.start - by..st.range.end - by;
            } else if path.as_str() == file {
                st.range.end -= by;
                after = true;
            }
        }
    }

    /// The exact check: the whole file parsed again and every object audited.
    fn full_trial(&mut self, f: &Finding, file: &str, fixed: String) -> Result<(), String> {
        let input = parse_one(file, &fixed);
        if !input.errors.is_empty() {
            return Err(format!("the fixed file does not parse: {}", input.errors[0]));
        }
        let Input { objects, errors, skipped, .. } = input;
        let old = self.replace_file(file, objects);
        let (old_errors, old_skipped) = match self.files.get_mut(file) {
            Some(st) => (std::mem::replace(&mut st.errors, errors), std::mem::replace(&mut st.skipped, skipped)),
            None => (Vec::new(), Vec::new()),
        };
        let (after, objects) = run_full(std::mem::take(&mut self.objects), &self.files, self.config, self.opts);
        self.objects = objects;
        let verdict = if after.findings.iter().any(|g| g.fingerprint == f.fingerprint) {
            Err(REMAINS.to_string())
        } else {
            match introduced(&f.rule, after.findings.iter(), |fp| self.counts.contains_key(fp)) {
                Some(reason) => Err(reason),
                None => Ok(()),
            }
        };
        if verdict.is_err() {
            self.replace_file(file, old);
            if let Some(st) = self.files.get_mut(file) {
                st.errors = old_errors;
                st.skipped = old_skipped;
            }
            return verdict;
        }
        self.texts.insert(file.to_string(), fixed);
        self.graph = Graph::build(&self.objects);
        self.indexes = None;
        self.index = index_of(&self.objects);
        let (stored, counts) = bookkeeping(&after.findings);
        self.stored = stored;
        self.counts = counts;
        // Parsed whole: its positions are exact again, its edited items part of its text.
        self.dirty.remove(file);
        self.overlays.remove(file);
        self.styles.remove(file);
        Ok(())
    }

    /// Puts the edited document's objects in place of the old ones; `None` when the edit is not
    /// one this path handles (the caller then runs the full check).
    fn splice_document(&mut self, file: &str, e: usize, fixed: &str) -> Option<Undo> {
        let obj = self.objects.get(e)?;
        let src = Arc::clone(obj.source.as_ref()?);
        let (a, b) = obj.doc_range?;
        let Origin::File { document: doc_index, .. } = &obj.origin else { return None };
        let doc_index = *doc_index;
        let old_text = &src.text;
        // The edit stays inside the document: the text before and after it is unchanged.
        let new_b = (b + fixed.len()).checked_sub(old_text.len())?;
        if new_b < a || fixed.get(..a)? != old_text.get(..a)? || fixed.get(new_b..)? != old_text.get(b..)? {
            return None;
        }
        let mut input = Input::default();
        source::load_text(file, fixed.get(a..new_b)?.to_string(), Limits::default(), &mut input);
        if !input.errors.is_empty() {
            return None;
        }
        let range = self.files.get(file)?.range.clone();
        let run: Vec<usize> = range.clone().filter(|&i| self.objects[i].doc_range == Some((a, b))).collect();
        let (j, k) = (*run.first()?, *run.last()? + 1);
        if run.len() != k - j || input.objects.len() < run.len() {
            return None;
        }
        let new_src = Arc::new(SourceFile { path: src.path.clone(), text: fixed.to_string(), json: src.json });
        let mut new_objects = input.objects;
        let mut extra_docs = 0;
        for (n, o) in new_objects.iter_mut().enumerate() {
            let Origin::File { document, prefix, .. } = &o.origin else { return None };
            let (document, prefix) = (*document, prefix.clone());
            if n < run.len() {
                // The document's own objects: the same items, in the same order.
                let old = &self.objects[j + n];
                let Origin::File { prefix: old_prefix, .. } = &old.origin else { return None };
                if document != 0 || prefix != *old_prefix {
                    return None;
                }
                o.origin = old.origin.clone();
            } else {
                // Objects a fix created, in new documents after this one.
                if document == 0 {
                    return None;
                }
                extra_docs = extra_docs.max(document);
                o.origin = Origin::File { path: file.to_string(), document: doc_index + document, prefix };
            }
            o.doc_range = o.doc_range.map(|(x, y)| (x + a, y + a));
            o.source = Some(Arc::clone(&new_src));
        }
        let mut fields = Vec::new();
        for i in range.clone().filter(|i| !(j..k).contains(i)) {
            let o = &mut self.objects[i];
            fields.push((i, Placement { doc_range: o.doc_range, source: o.source.clone(), origin: o.origin.clone() }));
            o.source = Some(Arc::clone(&new_src));
            if let Some((x, y)) = o.doc_range
                && x >= b
            {
                o.doc_range = Some((x + new_b - b, y + new_b - b));
                if let Origin::File { document, .. } = &mut o.origin {
                    *document += extra_docs;
                }
            }
        }
        let grow = new_objects.len() - run.len();
        let old: Vec<Object> = self.objects.splice(j..k, new_objects).collect();
        self.shift_files_after(file, grow);
        Some(Undo { file: file.to_string(), run: j..k + grow, old, fields })
    }

    fn undo(&mut self, u: Undo) {
        let grow = u.run.len() - u.old.len();
        let _ = self.objects.splice(u.run, u.old);
        self.shrink_files_after(&u.file, grow);
        for (i, p) in u.fields {
            if let Some(o) = self.objects.get_mut(i) {
                o.doc_range = p.doc_range;
                o.source = p.source;
                o.origin = p.origin;
            }
        }
    }

    /// The objects whose findings the edit in `u` can change, by index after the edit, sorted.
    fn scope(&self, u: &Undo, graph: &Graph) -> Vec<usize> {
        let n = self.objects.len();
        let matched = u.old.len();
        let grow = u.run.len() - matched;
        let two_hops = |g: &Graph, i: usize, set: &mut BTreeSet<usize>| {
            set.insert(i);
            for x in g.linked(i) {
                set.insert(x);
                set.extend(g.linked(x));
            }
        };
        let mut set: BTreeSet<usize> = BTreeSet::new();
        let mut before: BTreeSet<usize> = BTreeSet::new();
        for (m, old) in u.old.iter().enumerate() {
            let i = u.run.start + m;
            let new = &self.objects[i];
            if old.body == new.body {
                continue;
            }
            if reaches_far(old, new) {
                return (0..n).collect();
            }
            two_hops(&self.graph, i, &mut before);
            two_hops(graph, i, &mut set);
        }
        // The old graph numbers objects past the document `grow` lower (created objects moved them).
        let moved = u.run.start + matched;
        set.extend(before.into_iter().map(|i| if i >= moved { i + grow } else { i }));
        for i in moved..u.run.end {
            // A created object: a new name in its namespace, which counts and lookups see.
            let o = &self.objects[i];
            if created_reaches_far(o) {
                return (0..n).collect();
            }
            set.extend(graph.in_namespace(o.effective_namespace().unwrap_or_default()));
            set.extend(graph.in_namespace(""));
            two_hops(graph, i, &mut set);
        }
        set.into_iter().filter(|&i| i < n).collect()
    }

    /// The incremental check of one document edit.
    fn trial(&mut self, f: &Finding, file: &str, fixed: &str) -> Outcome {
        let Some(e) = self.lookup(file, &f.object) else { return Outcome::Unsure };
        let Some(u) = self.splice_document(file, e, fixed) else { return Outcome::Unsure };
        let outcome = self.check(f, e, u);
        if let Outcome::Keep(_) = outcome {
            self.dirty.insert(file.to_string());
        }
        outcome
    }

    /// Checks the edit `u` made to object `e` (and its document): keeps it in place when the
    /// fix verifies, undoes it otherwise.
    fn check(&mut self, f: &Finding, e: usize, u: Undo) -> Outcome {
        // Building the graph costs as much as checking every object; most fixes (security
        // contexts, resources, probes, replicas) cannot change an edge, so the graph is kept.
        let linked = u.run.len() != u.old.len()
            || u.old
                .iter()
                .enumerate()
                .any(|(m, o)| m + u.run.start != e && o.body != self.objects[u.run.start + m].body)
            || f.fix.as_ref().is_none_or(|x| !x.ops.iter().all(unlinked));
        let rebuilt = linked.then(|| Graph::build(&self.objects));
        let graph = rebuilt.as_ref().unwrap_or(&self.graph);
        let scope = self.scope(&u, graph);
        // Findings are kept per object key: re-check every object that shares a key with one in
        // scope (copies of an object in one file), before or after the edit.
        let rekeyed = u.run.len() != u.old.len()
            || u.old.iter().enumerate().any(|(m, o)| key_of(o) != key_of(&self.objects[u.run.start + m]));
        let index = rekeyed.then(|| index_of(&self.objects));
        let idx = index.as_ref().unwrap_or(&self.index);
        let mut keys: BTreeSet<Key> = scope.iter().map(|&i| key_of(&self.objects[i])).collect();
        keys.extend(u.old.iter().map(key_of));
        let mut indices: BTreeSet<usize> = scope.into_iter().collect();
        for k in &keys {
            indices.extend(idx.get(k).into_iter().flatten().copied());
        }
        let indices: Vec<usize> = indices.into_iter().collect();
        // Fixes edit specs: the indexes stand unless the edit moved objects, changed the graph
        // or edited what they are made of.
        let indexes_changed = rebuilt.is_some()
            || u.run.len() != u.old.len()
            || u.old.iter().enumerate().any(|(m, o)| Indexes::changed_by(o, &self.objects[u.run.start + m]));
        if !indexes_changed && self.indexes.is_none() {
            self.indexes = Some(Indexes::build(&self.objects, &self.graph));
        }
        let indexes = if indexes_changed { None } else { self.indexes.as_ref() };
        let findings = audit::findings_of(&self.objects, graph, indexes, &indices, self.config, self.opts);
        let mut delta: BTreeMap<&str, isize> = BTreeMap::new();
        for fp in keys.iter().filter_map(|k| self.stored.get(k)).flatten() {
            *delta.entry(fp.as_str()).or_insert(0) -= 1;
        }
        for g in &findings {
            *delta.entry(g.fingerprint.as_str()).or_insert(0) += 1;
        }
        let count = |fp: &str| {
            let before = isize::try_from(self.counts.get(fp).copied().unwrap_or(0)).unwrap_or(isize::MAX);
            before + delta.get(fp).copied().unwrap_or(0)
        };
        let outcome = if count(&f.fingerprint) > 0 {
            Outcome::Refuse(REMAINS.to_string())
        } else {
            let allowed_new = may_reveal(&f.rule);
            let new: Vec<Finding> = findings
                .iter()
                .filter(|g| !self.counts.contains_key(&g.fingerprint) && !allowed_new.contains(&g.rule.as_ref()))
                .cloned()
                .collect();
            // The refusal lists new findings in file order; positions are exact relative to each
            // other only inside the edited document, so anything else is left to the full check.
            let local =
                new.iter().all(|g| idx.get(&finding_key(g)).is_some_and(|v| v.iter().all(|i| u.run.contains(i))));
            match introduced(&f.rule, audit::sorted(new).iter(), |_| false) {
                None => Outcome::Keep(Box::new(Trial { graph: rebuilt, index, keys, findings, indexes_changed })),
                Some(reason) if local => Outcome::Refuse(reason),
                Some(_) => Outcome::Unsure,
            }
        };
        if !matches!(outcome, Outcome::Keep(_)) {
            self.undo(u);
        }
        outcome
    }

    /// Keeps an accepted trial's graph, index and findings.
    fn commit(&mut self, t: Trial) {
        if t.indexes_changed {
            self.indexes = None;
        }
        if let Some(graph) = t.graph {
            self.graph = graph;
        }
        if let Some(index) = t.index {
            self.index = index;
        }
        for k in &t.keys {
            for fp in self.stored.remove(k).into_iter().flatten() {
                if let Some(c) = self.counts.get_mut(&fp) {
                    *c -= 1;
                    if *c == 0 {
                        self.counts.remove(&fp);
                    }
                }
            }
        }
        for g in t.findings {
            *self.counts.entry(g.fingerprint.clone()).or_insert(0) += 1;
            self.stored.entry(finding_key(&g)).or_default().push(g.fingerprint);
        }
    }
}

impl Incremental<'_> {
    /// The style of document `document` of `file`, whose text is `doc_text`.
    fn style(&mut self, file: &str, document: usize, doc_text: &str, json: bool) -> Option<FileStyle> {
        *self
            .styles
            .entry(file.to_string())
            .or_default()
            .entry(document)
            .or_insert_with(|| super::document_style(doc_text, json))
    }

    /// The fixed text of List item `e`, computed from the item's text alone; `None` when the item
    /// path does not apply or cannot decide (the document path then does, with the same messages).
    fn item_edit(&mut self, file: &str, e: usize, fix: &Fix) -> Option<(ItemAt, Result<String, String>)> {
        let start = self.files.get(file)?.range.start;
        let edited = self.overlays.get(file).and_then(|m| m.get(&(e - start))).map(|t| (t.range.clone(), &t.source));
        let obj = self.objects.get(e)?;
        if !is_list_item(obj) {
            return None;
        }
        let Origin::File { document, .. } = &obj.origin else { return None };
        let (src, (a, b), root) = (obj.source.as_ref()?, obj.doc_range?, obj.spans.as_ref()?.root()?);
        if edited.as_ref().is_some_and(|(_, t)| !Arc::ptr_eq(t, src)) {
            return None;
        }
        let (s, end) = (root.start.byte.checked_sub(a)?, root.end.byte.checked_sub(a)?);
        let (document, src) = (*document, Arc::clone(src));
        let edited = edited.map(|(range, _)| range);
        let doc_text = src.text.get(a..b)?;
        let style = match &edited {
            // An edited item's text is the item alone: its document's style was found before.
            Some(_) => *self.styles.get(file)?.get(&document)?,
            None => self.style(file, document, doc_text, src.json),
        }?;
        let obj = self.objects.get(e)?;
        let item = region::Item::parse(doc_text, s, end, &obj.body)?;
        let range = match edited {
            Some(range) if item.range() == (0..doc_text.len()) => range,
            Some(_) => return None,
            None => a + item.range().start..a + item.range().end,
        };
        let result = region::item_edit(doc_text, &item, obj, fix, style)?;
        Some((ItemAt { index: e - start, range, block: item.block() }, result))
    }

    /// Verifies an edit of List item `e` whose text becomes `new`, and keeps it if it verifies.
    fn try_item(
        &mut self,
        f: &Finding,
        file: &str,
        e: usize,
        at: ItemAt,
        new: String,
        stats: &mut VerificationStats,
    ) -> Result<(), String> {
        let json = self.objects.get(e).and_then(|o| o.source.as_ref()).is_some_and(|s| s.json);
        let source = Arc::new(SourceFile { path: file.to_string(), text: new, json });
        let Some(obj) = self.reread_item(e, &source, at.block) else {
            stats.full += 1;
            let whole = self.materialize(file, Some((&at.range, &source.text)));
            return self.full_trial(f, file, whole);
        };
        let old = std::mem::replace(&mut self.objects[e], obj);
        let u = Undo { file: file.to_string(), run: e..e + 1, old: vec![old], fields: Vec::new() };
        match self.check(f, e, u) {
            Outcome::Keep(t) => {
                stats.incremental += 1;
                stats.items += 1;
                self.commit(*t);
                self.overlays
                    .entry(file.to_string())
                    .or_default()
                    .insert(at.index, ItemText { range: at.range, source });
                Ok(())
            }
            Outcome::Refuse(reason) => {
                stats.incremental += 1;
                stats.items += 1;
                Err(reason)
            }
            Outcome::Unsure => {
                stats.full += 1;
                let whole = self.materialize(file, Some((&at.range, &source.text)));
                self.full_trial(f, file, whole)
            }
        }
    }

    /// Object `e`, a List item, read again from its new text alone (`src`).
    fn reread_item(&self, e: usize, src: &Arc<SourceFile>, block: bool) -> Option<Object> {
        let old = self.objects.get(e)?;
        let Origin::File { document, prefix, .. } = &old.origin else { return None };
        let node = region::parse_edited(&src.text, block)?;
        let list_kind = format!("{}List", old.kind);
        let mut obj = source::read_item(src, *document, prefix.clone(), node, &list_kind, &old.api_version)?;
        obj.doc_range = Some((0, src.text.len()));
        Some(obj)
    }

    /// `file`'s text with its edited items written in, and `extra` (an item's range and new text)
    /// too when given.
    fn materialize(&self, file: &str, extra: Option<(&Range<usize>, &str)>) -> String {
        let base = self.texts.get(file).map_or("", String::as_str);
        let mut parts: BTreeMap<usize, (usize, &str)> = BTreeMap::new();
        for t in self.overlays.get(file).into_iter().flat_map(BTreeMap::values) {
            parts.insert(t.range.start, (t.range.end, t.source.text.as_str()));
        }
        if let Some((range, text)) = extra {
            parts.insert(range.start, (range.end, text));
        }
        let mut out = String::with_capacity(base.len() + 4096);
        let mut at = 0;
        for (&start, &(end, text)) in &parts {
            out.push_str(base.get(at..start).unwrap_or_default());
            out.push_str(text);
            at = end;
        }
        out.push_str(base.get(at..).unwrap_or_default());
        out
    }

    /// Writes every edited item into its file's text; the files' positions are then stale.
    fn write_items(&mut self) {
        let edited: Vec<String> = self.overlays.keys().cloned().collect();
        for path in edited {
            let text = self.materialize(&path, None);
            self.texts.insert(path.clone(), text);
            self.dirty.insert(path);
        }
        self.overlays.clear();
    }

    /// Reads `file` whole again from its text with its edited items written in: its objects'
    /// positions are exact again.
    fn settle(&mut self, file: &str) {
        if !self.overlays.contains_key(file) && !self.dirty.contains(file) {
            return;
        }
        let text = self.materialize(file, None);
        let Input { objects, errors, skipped, .. } = parse_one(file, &text);
        self.texts.insert(file.to_string(), text);
        self.overlays.remove(file);
        self.dirty.remove(file);
        self.styles.remove(file);
        let old = self.replace_file(file, objects);
        if let Some(st) = self.files.get_mut(file) {
            st.errors = errors;
            st.skipped = skipped;
        }
        // Verified edits keep every object: the graph and index stand unless reading it whole
        // disagrees.
        let range = self.files.get(file).map(|st| st.range.clone()).unwrap_or_default();
        if old.len() != range.len() || old.iter().zip(&self.objects[range]).any(|(o, n)| key_of(o) != key_of(n)) {
            self.graph = Graph::build(&self.objects);
            self.indexes = None;
            self.index = index_of(&self.objects);
        }
    }
}

/// Runs the full audit over the objects of every file.
fn run_full(
    objects: Vec<Object>,
    files: &BTreeMap<String, FileState>,
    config: &Config,
    opts: &RunOptions,
) -> (Audit, Vec<Object>) {
    let input = Input {
        objects,
        errors: files.values().flat_map(|f| f.errors.iter().cloned()).collect(),
        skipped: files.values().flat_map(|f| f.skipped.iter().cloned()).collect(),
        ..Input::default()
    };
    audit::run_with_objects(input, config, opts)
}

fn index_of(objects: &[Object]) -> BTreeMap<Key, Vec<usize>> {
    let mut index: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        index.entry(key_of(o)).or_default().push(i);
    }
    index
}

fn bookkeeping(findings: &[Finding]) -> (BTreeMap<Key, Vec<String>>, BTreeMap<String, usize>) {
    let mut stored: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings {
        stored.entry(finding_key(f)).or_default().push(f.fingerprint.clone());
        *counts.entry(f.fingerprint.clone()).or_insert(0) += 1;
    }
    (stored, counts)
}

/// Keys below which nothing feeds the object graph (selectors, references, names and labels
/// do): an edit there leaves every edge as it was.
const UNLINKED: &[&str] = &[
    "securityContext",
    "resources",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "imagePullPolicy",
    "image",
    "replicas",
    "minReplicas",
    "maxReplicas",
    "minAvailable",
    "maxUnavailable",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "automountServiceAccountToken",
    "priorityClassName",
    "storageClassName",
    "annotations",
    "affinity",
    "topologySpreadConstraints",
    "apiVersion",
];

/// Whether an operation edits only below an [`UNLINKED`] key.
fn unlinked(op: &FixOp) -> bool {
    match op {
        FixOp::Add { path, .. } | FixOp::Replace { path, .. } | FixOp::Remove { path } => {
            crate::yaml::pointer_segments_cow(path).any(|seg| UNLINKED.contains(&seg.as_ref()))
        }
        FixOp::Create { .. } => false,
    }
}

/// Kinds rules look up by name or scan for, rather than reach through graph edges: a PVC reads
/// its PersistentVolume, a missing ConfigMap is excused by RBAC that lets a workload create it.
const LOOKED_UP: &[&str] = &[
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ServiceAccount",
    "StorageClass",
    "PersistentVolume",
    "Namespace",
    "CustomResourceDefinition",
];

fn pod_labels(o: &Object) -> Option<&serde_json::Map<String, Value>> {
    Workload::of(o).and_then(|w| w.pod_labels)
}

/// Whether editing an object can change findings beyond its graph neighbourhood: a new identity,
/// kinds found by lookup, custom resources (operators own what is named after them), and labels,
/// which selectors in every namespace are compared against (closest matches included).
fn reaches_far(old: &Object, new: &Object) -> bool {
    let identity = |o: &Object| (o.kind.clone(), o.effective_namespace().map(str::to_string), o.name.clone());
    identity(old) != identity(new)
        || LOOKED_UP.contains(&old.kind.as_str())
        || is_custom_resource(old)
        || is_custom_resource(new)
        || old.labels() != new.labels()
        || pod_labels(old) != pod_labels(new)
        || Workload::of(old).is_some() != Workload::of(new).is_some()
}

/// Whether a created object can change findings beyond its namespace and neighbourhood.
fn created_reaches_far(o: &Object) -> bool {
    LOOKED_UP.contains(&o.kind.as_str()) || is_custom_resource(o)
}

impl Checker for Incremental<'_> {
    fn audit(&self) -> &Audit {
        &self.audit
    }

    fn has(&self, fingerprint: &str) -> bool {
        self.counts.contains_key(fingerprint)
    }

    fn try_fix(
        &mut self,
        f: &Finding,
        file: &str,
        fix: &Fix,
        stats: &mut VerificationStats,
    ) -> Option<Result<(), String>> {
        let mut e = self.lookup(file, &f.object)?;
        if self.dirty.contains(file) && self.objects.get(e).is_some_and(is_list_item) {
            // A document before it was edited: the item's position is stale.
            self.settle(file);
            e = self.lookup(file, &f.object)?;
        }
        if let Some((at, result)) = self.item_edit(file, e, fix) {
            return Some(result.and_then(|new| self.try_item(f, file, e, at, new, stats)));
        }
        if self.overlays.contains_key(file) {
            self.settle(file);
            e = self.lookup(file, &f.object)?;
        }
        let fixed = match super::text_edit(self.objects.get(e)?, fix) {
            Ok(fixed) => fixed,
            Err(reason) => return Some(Err(reason)),
        };
        Some(match self.trial(f, file, &fixed) {
            Outcome::Keep(t) => {
                stats.incremental += 1;
                self.texts.insert(file.to_string(), fixed);
                self.commit(*t);
                Ok(())
            }
            Outcome::Refuse(reason) => {
                stats.incremental += 1;
                Err(reason)
            }
            Outcome::Unsure => {
                stats.full += 1;
                self.full_trial(f, file, fixed)
            }
        })
    }

    fn end_pass(&mut self) -> bool {
        // Positions in edited files are stale: read them again whole.
        self.write_items();
        self.styles.clear();
        for path in std::mem::take(&mut self.dirty) {
            let Some(text) = self.texts.get(&path) else { continue };
            let input = parse_one(&path, text);
            let Input { objects, errors, skipped, .. } = input;
            self.replace_file(&path, objects);
            if let Some(st) = self.files.get_mut(&path) {
                st.errors = errors;
                st.skipped = skipped;
            }
        }
        let (audit, objects) = run_full(std::mem::take(&mut self.objects), &self.files, self.config, self.opts);
        self.objects = objects;
        self.graph = Graph::build(&self.objects);
        self.indexes = None;
        let expected = std::mem::take(&mut self.counts);
        self.audit = audit;
        self.reset_bookkeeping();
        expected == self.counts
    }

    fn texts(&mut self) -> &BTreeMap<String, String> {
        self.write_items();
        &self.texts
    }

    fn finish(mut self: Box<Self>) -> (BTreeMap<String, String>, Audit) {
        self.write_items();
        (self.texts, self.audit)
    }
}
