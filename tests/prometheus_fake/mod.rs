//! A loopback Prometheus HTTP API (`/api/v1/query_range`) for the right-sizing tests: a wiremock
//! server answering the two cAdvisor queries from series given as (seconds before the window's
//! end, value), with Prometheus's own envelope, its `bad_data` checks (start/end/step, the 11,000
//! points limit), an optional namespace matcher, switches for errors and required credentials,
//! and a request log (path, query parameters, the Authorization header's scheme).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// `namespace/pod/container` → samples as (seconds before the end, value).
pub type Series = BTreeMap<String, Vec<(u64, f64)>>;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The full Authorization header, for asserting what was sent.
    pub authorization: Option<String>,
}

#[derive(Default)]
pub struct State {
    pub cpu: Series,
    pub memory: Series,
    /// Answer every query with this HTTP status and a Prometheus error body.
    pub fail: Option<u16>,
    /// Refuse requests without exactly this Authorization header (401).
    pub require_auth: Option<String>,
    pub log: Vec<Logged>,
}

pub struct FakePrometheus {
    pub server: MockServer,
    pub state: Arc<Mutex<State>>,
}

struct Responder(Arc<Mutex<State>>);

fn error(status: u16, kind: &str, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"status": "error", "errorType": kind, "error": msg}))
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let query: BTreeMap<String, String> =
            req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let authorization = req.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
        s.log.push(Logged {
            path: req.url.path().to_string(),
            query: query.clone(),
            authorization: authorization.clone(),
        });
        if let Some(want) = &s.require_auth
            && authorization.as_ref() != Some(want)
        {
            return ResponseTemplate::new(401).set_body_string("Unauthorized\n");
        }
        if let Some(status) = s.fail {
            return error(status, "unavailable", "the storage is being compacted");
        }
        if !req.url.path().ends_with("/api/v1/query_range") {
            return ResponseTemplate::new(404).set_body_string("404 page not found\n");
        }
        let num = |k: &str| query.get(k).and_then(|v| v.parse::<f64>().ok());
        let (Some(start), Some(end), Some(step), Some(q)) = (num("start"), num("end"), num("step"), query.get("query"))
        else {
            return error(400, "bad_data", "invalid parameter: start, end, step and query are required");
        };
        if end < start || step <= 0.0 {
            return error(400, "bad_data", "end timestamp must not be before start time / zero or negative step");
        }
        if (end - start) / step > 11_000.0 {
            return error(400, "bad_data", "exceeded maximum resolution of 11,000 points per timeseries");
        }
        let series = if q.contains("container_cpu_usage_seconds_total") {
            &s.cpu
        } else if q.contains("container_memory_working_set_bytes") {
            &s.memory
        } else {
            return ResponseTemplate::new(200)
                .set_body_json(json!({"status": "success", "data": {"resultType": "matrix", "result": []}}));
        };
        // `namespace=~"a|b"`, the only matcher that varies.
        let only: Option<Vec<String>> = q
            .split_once("namespace=~\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(names, _)| names.split('|').map(str::to_string).collect());
        let mut result = Vec::new();
        for (key, samples) in series {
            let parts: Vec<&str> = key.split('/').collect();
            if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == parts[0])) {
                continue;
            }
            let values: Vec<Value> = samples
                .iter()
                .filter_map(|(ago, v)| {
                    let t = end - *ago as f64;
                    (t >= start).then(|| json!([t, format!("{v}")]))
                })
                .collect();
            if values.is_empty() {
                continue;
            }
            result.push(
                json!({"metric": {"namespace": parts[0], "pod": parts[1], "container": parts[2]}, "values": values}),
            );
        }
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": "success", "data": {"resultType": "matrix", "result": result}}))
    }
}

impl FakePrometheus {
    pub async fn start(cpu: Series, memory: Series) -> FakePrometheus {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State { cpu, memory, ..State::default() }));
        Mock::given(any()).respond_with(Responder(state.clone())).mount(&server).await;
        FakePrometheus { server, state }
    }

    pub fn url(&self) -> String {
        self.server.uri()
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }
}

/// Hourly samples going back `hours`, value `f(i)` for the i-th hour before the end.
pub fn hourly(hours: u64, f: impl Fn(u64) -> f64) -> Vec<(u64, f64)> {
    (0..hours).map(|i| (i * 3_600, f(i))).collect()
}
