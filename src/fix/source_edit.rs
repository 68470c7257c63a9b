//! Fixes of rendered (Kustomize, Helm) objects, moved onto the files people edit.
//!
//! A rendered object's text is the tool's output; what can be edited is where provenance proved a
//! field comes from ([`EditAt`]): the target's own patch or values file first (what is set there
//! overrides the base, and changes only this target), then the resource file. An operation on a
//! rendered field goes to the deepest node on its path that can change it; the part of the path
//! below that node must not run through a list (list items of a patch or of a base sit at other
//! indices than in the output). Anything else is no edit, with the reason, never a guess.

use std::sync::Arc;

use serde_json::Value;

use crate::model::{EditAt, EditKind, Fix, FixOp, Provenance, SourceFile};
use crate::yaml::{self, Limits, escape_segment, pointer_segments};

/// A fix's operations on one document of an editable file.
#[derive(Debug)]
pub struct SourceEdit {
    /// The file (path as shown, text as read when rendering).
    pub source: Arc<SourceFile>,
    /// The document's index in the file's stream.
    pub document: usize,
    /// The operations, on that document.
    pub ops: Vec<FixOp>,
}

impl SourceEdit {
    /// The file's text with the edit applied.
    ///
    /// # Errors
    /// Why no faithful text edit exists.
    pub fn apply(&self, fix: &Fix) -> Result<String, String> {
        apply_to_source(&self.source.text, self.document, &self.ops, fix)
    }
}

/// Applies `ops` to document `document` of `text` (a file as it is now).
///
/// # Errors
/// Why no faithful text edit exists.
pub fn apply_to_source(text: &str, document: usize, ops: &[FixOp], fix: &Fix) -> Result<String, String> {
    let docs = yaml::parse_stream(text, Limits::default()).map_err(|e| format!("the file does not parse: {e}"))?;
    let i = docs.iter().position(|d| d.index == document).ok_or("the document is gone from the file")?;
    let root = docs[i].root.as_ref().ok_or("the document is empty")?;
    let range = (docs[i].start.byte, docs.get(i + 1).map_or(text.len(), |d| d.start.byte));
    let moved = Fix { ops: ops.to_vec(), suggestion: None, patch: None, edit_error: None, ..fix.clone() };
    super::apply_to_text(text, false, range, "", &root.to_json(), &moved)
}

/// Moves a fix of a rendered object onto the file that sets its fields.
///
/// # Errors
/// Why the fix has no edit in the files people edit.
pub fn translate(prov: &Provenance, body: &Value, ops: &[FixOp]) -> Result<SourceEdit, String> {
    let mut out: Option<SourceEdit> = None;
    for op in ops {
        let (at, moved) = translate_op(prov, body, op)?;
        match &mut out {
            None => out = Some(SourceEdit { source: Arc::clone(&at.source), document: at.document, ops: vec![moved] }),
            Some(e) if e.source.path == at.source.path && e.document == at.document => e.ops.push(moved),
            Some(e) => {
                return Err(format!(
                    "the fix changes fields set in different files ({} and {}); edit them by hand",
                    e.source.path, at.source.path
                ));
            }
        }
    }
    out.ok_or_else(|| "the fix has no operations".to_string())
}

fn translate_op<'p>(prov: &'p Provenance, body: &Value, op: &FixOp) -> Result<(&'p EditAt, FixOp), String> {
    let path = match op {
        FixOp::Add { path, .. } | FixOp::Replace { path, .. } | FixOp::Remove { path } => path,
        FixOp::Create { .. } => {
            return Err(if prov.rendered.tool == "helm" {
                "the fix adds a new object: add it to the chart's templates by hand".to_string()
            } else {
                "the fix adds a new object: add it to the kustomization's resources by hand".to_string()
            });
        }
    };
    let segs: Vec<String> = pointer_segments(path).collect();
    let prefix = |n: usize| segs[..n].iter().map(|s| format!("/{}", escape_segment(s))).collect::<String>();
    // The target's own patch or values file first, then the resource file.
    for kinds in [&[EditKind::Patch, EditKind::Values][..], &[EditKind::Resource]] {
        for n in (1..=segs.len()).rev() {
            let q = prefix(n);
            let Some(at) = prov.edits.get(&q).and_then(|l| l.iter().find(|e| kinds.contains(&e.kind))) else {
                continue;
            };
            // Below the node, the path must not index a list: its items are elsewhere in the file.
            if (n..segs.len()).any(|k| body.pointer(&prefix(k)).is_some_and(Value::is_array)) {
                break;
            }
            let rest: String = segs[n..].iter().map(|s| format!("/{}", escape_segment(s))).collect();
            let target = format!("{}{rest}", at.pointer);
            let moved = match op {
                FixOp::Remove { .. } if n == segs.len() && at.kind == EditKind::Resource => {
                    FixOp::Remove { path: target }
                }
                // Removing what a patch or values file sets would bring back what is under it.
                FixOp::Remove { .. } => break,
                FixOp::Add { value, .. } => FixOp::Add { path: target, value: value.clone() },
                // A values key may be set in an earlier values file only: set it in this one.
                FixOp::Replace { value, .. } if n == segs.len() && at.kind != EditKind::Values => {
                    FixOp::Replace { path: target, value: value.clone() }
                }
                // Replacing a field the node's file does not hold: add it there.
                FixOp::Replace { value, .. } => FixOp::Add { path: target, value: value.clone() },
                FixOp::Create { .. } => break,
            };
            return Ok((at, moved));
        }
    }
    Err(if prov.rendered.tool == "helm" {
        format!("no values key sets `{path}` on its own: change the chart's template by hand")
    } else {
        format!("no patch or resource file sets `{path}` in a way a text edit can change; change it by hand")
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::model::{Applicability, Rendered};

    fn file(path: &str, text: &str) -> Arc<SourceFile> {
        Arc::new(SourceFile { path: path.to_string(), text: text.to_string(), json: false })
    }

    fn at(source: &Arc<SourceFile>, pointer: &str, kind: EditKind) -> EditAt {
        EditAt { source: Arc::clone(source), document: 0, pointer: pointer.to_string(), kind }
    }

    fn prov(edits: Vec<(&str, EditAt)>) -> Provenance {
        let mut map: BTreeMap<String, Vec<EditAt>> = BTreeMap::new();
        for (p, e) in edits {
            map.entry(p.to_string()).or_default().push(e);
        }
        Provenance {
            rendered: Rendered { tool: "kustomize".into(), target: "k8s/prod".into(), document: 0 },
            object: None,
            fields: BTreeMap::new(),
            edits: map,
        }
    }

    fn fix(ops: Vec<FixOp>) -> Fix {
        Fix {
            title: "t".into(),
            applicability: Applicability::Safe,
            ops,
            note: None,
            suggestion: None,
            patch: None,
            edit_error: None,
        }
    }

    fn body() -> Value {
        json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "side", "image": "s"},
            {"name": "api", "image": "a", "resources": {"requests": {"cpu": "1"}}}
        ]}}}})
    }

    #[test]
    fn a_field_under_a_patched_container_goes_into_the_patch_at_the_patch_index() {
        let base = file("base/deploy.yaml", "");
        let patch = file("prod/patch.yaml", "");
        let p = prov(vec![
            ("/spec/template/spec/containers/1", at(&base, "/spec/template/spec/containers/1", EditKind::Resource)),
            ("/spec/template/spec/containers/1", at(&patch, "/spec/template/spec/containers/0", EditKind::Patch)),
            (
                "/spec/template/spec/containers/1/resources",
                at(&base, "/spec/template/spec/containers/1/resources", EditKind::Resource),
            ),
        ]);
        let op = FixOp::Add {
            path: "/spec/template/spec/containers/1/resources/limits/memory".into(),
            value: json!("256Mi").into(),
        };
        let e = translate(&p, &body(), &[op]).unwrap();
        assert_eq!(e.source.path, "prod/patch.yaml");
        assert_eq!(
            e.ops,
            [FixOp::Add {
                path: "/spec/template/spec/containers/0/resources/limits/memory".into(),
                value: json!("256Mi").into()
            }]
        );
    }

    #[test]
    fn a_path_through_a_list_the_node_does_not_map_falls_back_to_the_resource() {
        let base = file("base/deploy.yaml", "");
        let patch = file("prod/patch.yaml", "");
        // The patch only sets replicas: its `spec` block says nothing about the containers list.
        let p = prov(vec![
            ("/spec", at(&patch, "/spec", EditKind::Patch)),
            ("/spec/template/spec/containers/1", at(&base, "/spec/template/spec/containers/1", EditKind::Resource)),
        ]);
        let op =
            FixOp::Add { path: "/spec/template/spec/containers/1/securityContext".into(), value: json!({}).into() };
        let e = translate(&p, &body(), std::slice::from_ref(&op)).unwrap();
        assert_eq!(e.source.path, "base/deploy.yaml");
        // Without the container's own entry nothing maps.
        let p = prov(vec![("/spec", at(&patch, "/spec", EditKind::Patch))]);
        assert!(translate(&p, &body(), &[op]).is_err());
    }

    #[test]
    fn removing_is_for_resource_files_only_and_new_objects_are_not_edits() {
        let base = file("base/deploy.yaml", "");
        let patch = file("prod/patch.yaml", "");
        let rm = FixOp::Remove { path: "/spec/replicas".into() };
        let p = prov(vec![("/spec/replicas", at(&patch, "/spec/replicas", EditKind::Patch))]);
        assert!(translate(&p, &body(), std::slice::from_ref(&rm)).is_err());
        let p = prov(vec![("/spec/replicas", at(&base, "/spec/replicas", EditKind::Resource))]);
        assert_eq!(translate(&p, &body(), std::slice::from_ref(&rm)).unwrap().ops, [rm]);
        assert!(
            translate(&p, &body(), &[FixOp::Create { value: json!({}).into() }])
                .unwrap_err()
                .contains("kustomization's resources")
        );
    }

    #[test]
    fn ops_in_two_files_are_refused() {
        let a = file("a.yaml", "");
        let b = file("b.yaml", "");
        let p = prov(vec![
            ("/spec/replicas", at(&a, "/spec/replicas", EditKind::Patch)),
            ("/spec/template", at(&b, "/spec/template", EditKind::Resource)),
        ]);
        let ops = [
            FixOp::Replace { path: "/spec/replicas".into(), value: json!(2).into() },
            FixOp::Add { path: "/spec/template/metadata".into(), value: json!({}).into() },
        ];
        assert!(translate(&p, &body(), &ops).unwrap_err().contains("different files"));
    }

    #[test]
    fn the_edit_keeps_the_rest_of_the_file() {
        let text = "# prod sizes\nreplicaCount: 2\nresources:\n  requests:\n    cpu: 100m # keep\n";
        let values = file("values-prod.yaml", text);
        let p = prov(vec![("/spec/template/spec/containers/1/resources", at(&values, "/resources", EditKind::Values))]);
        let op = FixOp::Add {
            path: "/spec/template/spec/containers/1/resources/limits".into(),
            value: json!({"memory": "256Mi"}).into(),
        };
        let e = translate(&p, &body(), &[op]).unwrap();
        let f = fix(e.ops.clone());
        assert_eq!(
            e.apply(&f).unwrap(),
            "# prod sizes\nreplicaCount: 2\nresources:\n  requests:\n    cpu: 100m # keep\n  limits:\n    memory: 256Mi\n"
        );
    }
}
