use serde_json::{Value, json};

use crate::declare_rule;
use crate::graph::backend_refs;
use crate::model::{Applicability, Area, Evidence, Fix, FixOp, Object, Severity, value_text};
use crate::rules::{Context, Equivalents, Rule, RuleMeta, Violation};

declare_rule! {
    /// ## What it checks
    /// Every port an Ingress backend (`service.port.number` or `service.port.name`, and the
    /// v1beta1 `servicePort`) or a Gateway API HTTPRoute/GRPCRoute `backendRef` (`port`) sends
    /// traffic to is a port the Service exposes: a number matches `spec.ports[].port` (not
    /// `targetPort`), a name matches `spec.ports[].name`.
    ///
    /// Only checked when the Service is in the input (ARC002 reports a missing one). Services of
    /// type `ExternalName` and Services that list no ports are skipped: there is nothing to match.
    ///
    /// ## Why it matters
    /// The controller finds no endpoint for that Service port: the host or path answers 503
    /// (Ingress) or 500 (Gateway API) while every object looks healthy. It usually comes from using
    /// the container port instead of the Service port, or from renaming a port on one side only.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: { name: web }
    /// spec:
    ///   ports: [{ name: http, port: 80, targetPort: 8080 }]
    /// ---
    /// kind: Ingress
    /// spec:
    ///   defaultBackend:
    ///     service: { name: web, port: { number: 8080 } }   # the container port, not the Service port
    /// ```
    ///
    /// ## Fix
    /// Point the backend at a port the Service exposes (`port: { number: 80 }` or
    /// `port: { name: http }`), or add the port to the Service. When the Service exposes exactly
    /// one port, the automatic fix points the backend at it and is unsafe: traffic then goes to that
    /// port, and the Service may be the side that is wrong.
    pub struct BackendPortNotExposed;
    meta {
        id: "ARC008",
        name: "backend-port-not-exposed",
        area: Area::Architecture,
        severity: Severity::Medium,
        default_enabled: true,
        summary: "Ingress or route sends traffic to a port its Service does not expose",
        fix: Some(Applicability::Unsafe),
        equivalents: Equivalents {
            polaris: &[],
            kube_score: &["ingress-targets-service"],
            kube_linter: &[],
            checkov: &[],
            trivy: &[],
        },
    }
}

/// A backend port as written.
#[derive(Debug, Clone, PartialEq)]
enum Port {
    Number(i64),
    Name(String),
}

/// Where the port of a backend is, given the pointer of the Service name it sits next to, and
/// whether it is the v1 `{number|name}` object.
fn port_path(name_path: &str) -> Option<(String, bool)> {
    if let Some(base) = name_path.strip_suffix("/service/name") {
        return Some((format!("{base}/service/port"), true));
    }
    if let Some(base) = name_path.strip_suffix("/serviceName") {
        return Some((format!("{base}/servicePort"), false));
    }
    name_path.strip_suffix("/name").map(|base| (format!("{base}/port"), false))
}

/// The port at `path` (an IntOrString, or a v1 `{number|name}` object), with the pointer of the
/// value that holds it.
fn read_port<'o>(o: &'o Object, path: &str, v1: bool) -> Option<(Port, String, &'o Value)> {
    let (p, v) = if v1 {
        let obj = o.get(path)?;
        match (obj.get("number"), obj.get("name")) {
            (Some(n), _) if !n.is_null() => (format!("{path}/number"), n),
            (_, Some(n)) if !n.is_null() => (format!("{path}/name"), n),
            _ => return None,
        }
    } else {
        (path.to_string(), o.get(path)?)
    };
    let port = match v {
        Value::Number(n) => Port::Number(n.as_i64()?),
        Value::String(s) if s.parse::<i64>().is_ok() => Port::Number(s.parse().ok()?),
        Value::String(s) if !s.is_empty() => Port::Name(s.clone()),
        _ => return None,
    };
    Some((port, p, v))
}

/// A Service port as `80` or `80 (http)`.
fn describe(p: &Value) -> String {
    let num = p.get("port").map(value_text).unwrap_or_default();
    match p.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
        Some(n) => format!("{num} ({n})"),
        None => num,
    }
}

impl Rule for BackendPortNotExposed {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, idx: usize, out: &mut Vec<Violation>) {
        let Some(o) = cx.object(idx) else { return };
        if !matches!(o.kind.as_str(), "Ingress" | "HTTPRoute" | "GRPCRoute") {
            return;
        }
        for r in backend_refs(o) {
            let ns = r.namespace.clone().unwrap_or_else(|| "default".to_string());
            let Some(svc) = cx.graph.find("Service", Some(&ns), &r.name).and_then(|i| cx.object(i)) else { continue };
            if svc.get("/spec/type").and_then(Value::as_str) == Some("ExternalName") {
                continue;
            }
            let Some(Value::Array(ports)) = svc.get("/spec/ports") else { continue };
            if ports.is_empty() {
                continue;
            }
            let Some((at, v1)) = port_path(&r.path) else { continue };
            let Some((port, value_path, value)) = read_port(o, &at, v1) else { continue };
            let exposed = ports.iter().any(|p| match &port {
                Port::Number(n) => p.get("port").and_then(Value::as_i64) == Some(*n),
                Port::Name(n) => p.get("name").and_then(Value::as_str) == Some(n.as_str()),
            });
            if exposed {
                continue;
            }
            let (what, wanted) = match &port {
                Port::Number(n) => ("port", n.to_string()),
                Port::Name(n) => ("port name", format!("`{n}`")),
            };
            let listed: Vec<String> = ports.iter().map(describe).collect();
            let mut v = Violation::new(
                &value_path,
                format!(
                    "backend {what} {wanted} is not exposed by Service `{}`, whose ports are {}",
                    r.name,
                    listed.join(", ")
                ),
            )
            .evidence(Evidence::field(&value_path, value))
            .evidence(Evidence::note(format!("{}/spec/ports", svc.display_id()), listed.join(", ")));
            if let [only] = ports.as_slice()
                && let Some(number) = only.get("port").and_then(Value::as_i64)
            {
                let name = only.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
                // Edit the scalar in place; switch between `name` and `number` only when needed.
                let (ops, shown) = match (&port, name, v1) {
                    (Port::Name(_), Some(n), true) => {
                        (vec![FixOp::Replace { path: value_path.clone(), value: json!(n).into() }], format!("`{n}`"))
                    }
                    (Port::Name(_), None, true) => (
                        vec![
                            FixOp::Remove { path: value_path.clone() },
                            FixOp::Add { path: format!("{at}/number"), value: json!(number).into() },
                        ],
                        number.to_string(),
                    ),
                    _ => (
                        vec![FixOp::Replace { path: value_path.clone(), value: json!(number).into() }],
                        number.to_string(),
                    ),
                };
                v = v.fix(
                    Fix::new(
                        format!("Send the traffic to port {shown}, the Service's only port"),
                        Applicability::Unsafe,
                        ops,
                    )
                    .with_note("the Service may be the side that is wrong: check which port the app serves"),
                );
            }
            out.push(v);
        }
    }
}
