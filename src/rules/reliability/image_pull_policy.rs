use serde_json::{Value, json};

use crate::declare_rule;
use crate::model::{Applicability, Area, Evidence, Fix, Severity, value_text};
use crate::rules::reliability::common::{ImageRef, image_ref, set};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every container (init containers included) pulls its image with `imagePullPolicy: Always`,
    /// unless the image is pinned by digest. An unset policy counts as Kubernetes defaults it:
    /// `Always` for untagged and `:latest` images (so those pass), `IfNotPresent` for every other
    /// tag (so those are flagged). Polaris's `pullPolicyNotAlways` also flags the unset policy on
    /// untagged and `:latest` images; this rule does not, since Kubernetes already pulls those
    /// `Always` (REL008 reports the mutable tag itself).
    ///
    /// This rule is **off by default** (`select: [REL009]` turns it on). With immutable tags, the
    /// default `IfNotPresent` is what most teams want: `Always` makes every pod start depend on the
    /// registry being reachable (and within its rate limits) and adds a round trip to each start, while
    /// for a digest-pinned image it changes nothing at all, so those are never flagged. Turn it on where
    /// tags are mutable or where private images must be re-authorised on every pull (with
    /// `IfNotPresent`, any pod on a node can run a private image that another pod already pulled there,
    /// without having the pull secret).
    ///
    /// ## Why it matters
    /// With `IfNotPresent` and a tag that was pushed again, nodes keep running whatever they pulled
    /// first: pods of one workload run different builds depending on their node. `Always` re-checks the
    /// tag (and the pull credentials) at every container start.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    ///   - name: web
    ///     image: ghcr.io/acme/web:1.4
    ///     imagePullPolicy: IfNotPresent
    /// ```
    ///
    /// ## Fix
    /// Set `imagePullPolicy: Always`, or pin the image by digest. The automatic fix sets `Always` and is
    /// unsafe: images that exist only in a node's cache (preloaded, air-gapped, `kind load`) stop
    /// starting, and starts fail while the registry is down or rate-limits.
    pub struct ImagePullPolicy;
    meta {
        id: "REL009",
        name: "image-pull-policy",
        area: Area::Reliability,
        severity: Severity::Low,
        default_enabled: false,
        summary: "Container does not set imagePullPolicy to Always",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &["pullPolicyNotAlways"],
            kube_score: &["container-image-pull-policy"],
            kube_linter: &[],
            checkov: &["CKV_K8S_15"],
            trivy: &[],
        },
    }
}

impl Rule for ImagePullPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(w) = cx.workload(idx) else { return };
        for c in w.containers() {
            let image = c.image().unwrap_or_default();
            let reference = image_ref(image);
            if reference == ImageRef::Digest {
                continue;
            }
            let path = c.field("/imagePullPolicy");
            let policy = c.get("/imagePullPolicy").filter(|v| !v.is_null());
            if policy.and_then(Value::as_str) == Some("Always") {
                continue;
            }
            let (message, evidence) = match policy {
                Some(p) => (
                    format!("container `{}` pulls `{image}` with imagePullPolicy {}", c.name(), value_text(p)),
                    Evidence::field(&path, p),
                ),
                // Kubernetes defaults an unset policy to Always for these images: nothing to report.
                None if matches!(reference, ImageRef::Latest | ImageRef::Untagged) => continue,
                None => (
                    format!(
                        "container `{}` does not set imagePullPolicy, so `{image}` is pulled IfNotPresent",
                        c.name()
                    ),
                    Evidence::note(&path, "<unset> (defaults to IfNotPresent for this image)"),
                ),
            };
            let fix = Fix::new(
                "Set imagePullPolicy to Always",
                Applicability::Unsafe,
                vec![set(w.object, path.clone(), json!("Always"))],
            )
            .with_note("every container start then needs the registry; images only cached on nodes stop starting");
            out.push(Violation::new(&path, message).evidence(evidence).fix(fix));
        }
    }
}
