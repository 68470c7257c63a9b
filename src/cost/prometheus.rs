//! Container usage over a window from a Prometheus HTTP API (`/api/v1/query_range`, read by
//! `cluster::prometheus`), reduced on arrival to a few numbers per container (the CPU percentile, the CPU and memory peaks, the hours
//! covered): what right-sizing (rule CST005) needs, small enough to keep in a snapshot so a
//! replay gives the same recommendations.
//!
//! CPU is `rate(container_cpu_usage_seconds_total)`, memory `container_memory_working_set_bytes`
//! (what the kubelet evicts and the OOM killer acts on), both from cAdvisor, per namespace, pod
//! and container, as KRR reads them. Percentiles are computed here with Prometheus's own
//! `quantile_over_time` interpolation, so a user can check a number with one PromQL query.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Points per series Prometheus answers at most (11,000); we ask for about this many.
const POINTS: u64 = 1_000;

/// Usage of the containers Prometheus knows, over one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageHistory {
    /// The cluster (context) it belongs to; `""` applies to every object of the input.
    pub context: String,
    /// The Prometheus URL, without credentials.
    pub source: String,
    /// The window, as given (`7d`).
    pub window: String,
    /// End of the window (RFC 3339).
    pub end: String,
    /// Resolution, seconds.
    pub step_seconds: u64,
    /// The CPU percentile of `cpu` (95).
    pub cpu_percentile: f64,
    /// Whether Prometheus answered both queries.
    pub available: bool,
    /// Where the numbers come from, or why there are none.
    pub note: String,
    /// By `namespace/pod/container`.
    #[serde(default)]
    pub containers: BTreeMap<String, ContainerHistory>,
}

/// One container's usage over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerHistory {
    /// vCPUs at the percentile.
    pub cpu: f64,
    /// Peak vCPUs.
    pub cpu_max: f64,
    /// Peak working-set memory, bytes.
    pub memory_max: f64,
    /// Hours between the first and last sample (the shorter of CPU and memory).
    pub hours: f64,
}

/// What a usage history covered, for reports: the history without its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryNote {
    /// The cluster (context) it belongs to; empty for file inputs.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
    /// The Prometheus URL, without credentials.
    pub source: String,
    /// The window, as given (`7d`).
    pub window: String,
    /// End of the window (RFC 3339); empty when the window was invalid.
    pub end: String,
    /// Whether Prometheus answered.
    pub available: bool,
    /// Containers with usage.
    pub containers: usize,
    /// Where the numbers come from, or why there are none.
    pub note: String,
}

impl UsageHistory {
    /// The report's view of it.
    #[must_use]
    pub fn note(&self) -> HistoryNote {
        HistoryNote {
            context: self.context.clone(),
            source: self.source.clone(),
            window: self.window.clone(),
            end: self.end.clone(),
            available: self.available,
            containers: self.containers.len(),
            note: self.note.clone(),
        }
    }

    /// The history of one container of a pod, when this history covers the pod's cluster.
    #[must_use]
    pub fn container(&self, context: &str, namespace: &str, pod: &str, container: &str) -> Option<&ContainerHistory> {
        if !self.context.is_empty() && self.context != context {
            return None;
        }
        self.containers.get(&format!("{namespace}/{pod}/{container}"))
    }
}

/// A window such as `7d`, `36h`, `90m`, `2w`, in seconds: between one hour and 90 days.
///
/// # Errors
/// A message saying what is accepted.
pub fn parse_window(s: &str) -> Result<u64, String> {
    let bad =
        || format!("invalid window `{s}`: expected a number and a unit (m, h, d, w), e.g. 7d, between 1h and 90d");
    let (n, unit) = s.trim().split_at(s.trim().len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = n * match unit {
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    if (3_600..=90 * 86_400).contains(&secs) { Ok(secs) } else { Err(bad()) }
}

/// The two PromQL range queries: CPU cores and working-set bytes by namespace, pod and container.
/// `max by` rather than `sum by`: a cluster scraping cAdvisor twice (two jobs) must not double.
#[must_use]
pub fn queries(namespaces: &[String], rate_window: u64) -> [String; 2] {
    let mut sel = r#"container!="",container!="POD",image!="""#.to_string();
    // Kubernetes names are DNS labels: nothing to escape in a regex alternation of them.
    let names: Vec<&str> = namespaces
        .iter()
        .map(String::as_str)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        .collect();
    if !names.is_empty() {
        sel.push_str(&format!(r#",namespace=~"{}""#, names.join("|")));
    }
    [
        format!(
            "max by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{{{sel}}}[{rate_window}s]))"
        ),
        format!("max by (namespace, pod, container) (container_memory_working_set_bytes{{{sel}}})"),
    ]
}

/// The step for a window (about [`POINTS`] points, whole minutes, at least one) and the window's
/// end aligned to it, so two runs within one step ask the same question.
#[must_use]
pub fn step_and_end(window: u64, now: u64) -> (u64, u64) {
    let step = (window.div_ceil(POINTS)).div_ceil(60).max(1) * 60;
    (step, now / step * step)
}

/// One series' samples: `namespace/pod/container` → (timestamp, value) in time order.
pub type Matrix = BTreeMap<String, Vec<(f64, f64)>>;

/// A `query_range` answer: `{"status": "success", "data": {"resultType": "matrix", "result": [...]}}`.
pub fn parse_matrix(status: u16, body: &[u8]) -> Result<Matrix, String> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("HTTP {status} with an answer that is not the Prometheus API's JSON ({e})"))?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        let kind = v.get("errorType").and_then(Value::as_str).unwrap_or("error");
        let msg = v.get("error").and_then(Value::as_str).unwrap_or("no message");
        return Err(format!("HTTP {status}: {kind}: {msg}"));
    }
    let data = v.get("data").ok_or("the answer has no `data`")?;
    if data.get("resultType").and_then(Value::as_str) != Some("matrix") {
        return Err("the answer is not a range vector (`matrix`)".to_string());
    }
    let mut out = Matrix::new();
    for r in data.get("result").and_then(Value::as_array).into_iter().flatten() {
        let label = |k: &str| r.pointer(&format!("/metric/{k}")).and_then(Value::as_str).unwrap_or_default();
        let (ns, pod, container) = (label("namespace"), label("pod"), label("container"));
        if ns.is_empty() || pod.is_empty() || container.is_empty() {
            continue;
        }
        let samples = out.entry(format!("{ns}/{pod}/{container}")).or_default();
        for p in r.get("values").and_then(Value::as_array).into_iter().flatten() {
            let t = p.get(0).and_then(Value::as_f64);
            let x = p.get(1).and_then(Value::as_str).and_then(|s| s.parse::<f64>().ok());
            if let (Some(t), Some(x)) = (t, x)
                && x.is_finite()
                && x >= 0.0
            {
                samples.push((t, x));
            }
        }
    }
    out.retain(|_, s| !s.is_empty());
    for s in out.values_mut() {
        s.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    Ok(out)
}

/// Per container: the CPU percentile and peak, the memory peak, the hours both series cover.
pub fn combine(cpu: &Matrix, mem: &Matrix, percentile: f64) -> BTreeMap<String, ContainerHistory> {
    let span = |s: &[(f64, f64)]| match (s.first(), s.last()) {
        (Some(a), Some(b)) => (b.0 - a.0) / 3_600.0,
        _ => 0.0,
    };
    let mut out = BTreeMap::new();
    for (key, c) in cpu {
        let Some(m) = mem.get(key) else { continue };
        let mut values: Vec<f64> = c.iter().map(|p| p.1).collect();
        values.sort_by(f64::total_cmp);
        out.insert(
            key.clone(),
            ContainerHistory {
                cpu: quantile(&values, percentile / 100.0),
                cpu_max: values.last().copied().unwrap_or(0.0),
                memory_max: m.iter().map(|p| p.1).fold(0.0, f64::max),
                hours: span(c).min(span(m)),
            },
        );
    }
    out
}

/// The φ-quantile of sorted values as Prometheus's `quantile_over_time` computes it: rank
/// φ·(n−1), linear interpolation between its neighbours.
#[must_use]
pub fn quantile(sorted: &[f64], phi: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else { return 0.0 };
    let rank = phi.clamp(0.0, 1.0) * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let w = rank - rank.floor();
    sorted[lo.min(last)] * (1.0 - w) + sorted[hi.min(last)] * w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_like_prometheus() {
        // quantile_over_time(0.95, ...) over 1..=10 is 9.55; 0.5 over 1..=4 is 2.5.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((quantile(&v, 0.95) - 9.55).abs() < 1e-9);
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0], 0.5) - 2.5).abs() < 1e-9);
        assert!((quantile(&[7.0], 0.95) - 7.0).abs() < 1e-9);
        assert!(quantile(&[], 0.95).abs() < 1e-9);
    }

    #[test]
    fn windows_parse_within_bounds() {
        assert_eq!(parse_window("7d"), Ok(604_800));
        assert_eq!(parse_window("36h"), Ok(129_600));
        assert_eq!(parse_window("2w"), Ok(1_209_600));
        for bad in ["", "7", "d", "30m", "100d", "7y", "-1d"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn steps_are_whole_minutes_and_ends_align() {
        assert_eq!(step_and_end(604_800, 1_000_000), (660, 999_900));
        assert_eq!(step_and_end(3_600, 1_000_000), (60, 999_960));
    }

    #[test]
    fn queries_restrict_namespaces_and_ignore_odd_names() {
        let [cpu, mem] = queries(&["shop".into(), "a|b".into()], 660);
        assert!(cpu.contains(r#"namespace=~"shop""#) && cpu.contains("[660s]"), "{cpu}");
        assert!(mem.starts_with("max by (namespace, pod, container) (container_memory_working_set_bytes{"), "{mem}");
    }

    #[test]
    fn matrix_answers_and_errors() {
        let ok = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"namespace":"shop","pod":"api-1","container":"app"},"values":[[20,"0.3"],[10,"0.1"],[30,"NaN"]]},
            {"metric":{"namespace":"shop","pod":"api-1"},"values":[[10,"1"]]}]}}"#;
        let m = parse_matrix(200, ok).expect("matrix");
        assert_eq!(m.len(), 1);
        assert_eq!(m["shop/api-1/app"], vec![(10.0, 0.1), (20.0, 0.3)]);
        let err = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#;
        assert_eq!(parse_matrix(400, err), Err("HTTP 400: bad_data: parse error at char 5".to_string()));
        assert!(parse_matrix(502, b"<html>bad gateway</html>").is_err_and(|e| e.starts_with("HTTP 502")));
    }
}
