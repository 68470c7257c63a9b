use serde_json::json;

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Severity};
use crate::rules::reliability::common::{ImageRef, image_ref, image_repository};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// No container (init containers included) uses an image tagged `:latest` or without a tag
    /// (which pulls `latest`). A registry port is not a tag (`localhost:5000/app` has none), and an
    /// image pinned by digest (`app@sha256:...`, with or without a tag) always passes.
    ///
    /// ## Why it matters
    /// `latest` names whatever was pushed last. Two pods of the same ReplicaSet can run different code,
    /// a node that restarts a pod silently upgrades it, a rollback redeploys the same moving tag, and
    /// nobody can tell from the manifest which version is running.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: nginx:latest
    /// ```
    ///
    /// ## Fix
    /// Pin a version tag, or better a digest:
    /// ```yaml
    ///     image: nginx:1.27.3
    ///     # or
    ///     image: nginx@sha256:<digest>
    /// ```
    /// The fix is display-only: only you know which version you mean to run, so it shows the image
    /// with a `<VERSION>` placeholder.
    pub struct MutableImageTag;
    meta {
        id: "REL008",
        name: "mutable-image-tag",
        area: Area::Reliability,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Container image uses the latest tag or no tag",
        fix: Some(Applicability::DisplayOnly),
        equivalents: Equivalents {
            polaris: &["tagNotSpecified"],
            kube_score: &["container-image-tag"],
            kube_linter: &["latest-tag"],
            checkov: &["CKV_K8S_14"],
            trivy: &["KSV013"],
        },
    }
}

impl Rule for MutableImageTag {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.containers() {
            let Some(image) = c.image().filter(|i| !i.trim().is_empty()) else { continue };
            let what = match image_ref(image) {
                ImageRef::Latest => "the `latest` tag",
                ImageRef::Untagged => "no tag (Kubernetes pulls `latest`)",
                ImageRef::Digest | ImageRef::Tag(_) => continue,
            };
            let path = c.field("/image");
            let pinned = format!("{}:<VERSION>", image_repository(image));
            out.push(
                Violation::new(&path, format!("container `{}` uses image `{image}` with {what}", c.name()))
                    .evidence(Evidence::field(&path, &json!(image)))
                    .fix(
                        Fix::new(
                            "Pin the image to a version",
                            Applicability::DisplayOnly,
                            vec![FixOp::Replace { path, value: json!(pinned).into() }],
                        )
                        .with_note("replace <VERSION> with the version you run, or pin a digest (`@sha256:...`)"),
                    ),
            );
        }
    }
}
