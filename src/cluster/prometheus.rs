//! Reads container usage history from a Prometheus HTTP API (`--prometheus URL`): two
//! `query_range` calls, reduced to [`UsageHistory`] on arrival (see `cost::prometheus`).

use std::time::Duration;

use crate::cost::prometheus::{self, UsageHistory};
use crate::http::{self, Auth};

/// A bearer token for Prometheus (managed services, OAuth proxies), read from the environment so
/// it is never on a command line.
pub const TOKEN_VAR: &str = "CLUSTERGPT_PROMETHEUS_TOKEN";
/// The largest answer read per query.
const MAX_BODY: usize = 512 << 20;
/// What to read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL (`http://prometheus:9090`, a path prefix allowed); `user:password@` gives Basic auth.
    pub url: String,
    /// Bearer token (see [`TOKEN_VAR`]).
    pub token: Option<String>,
    /// How far back, as given (`7d`).
    pub window: String,
    /// The CPU percentile (95).
    pub cpu_percentile: f64,
    /// Only these namespaces (empty: all).
    pub namespaces: Vec<String>,
    /// The cluster (context) the numbers belong to (`""`: whatever the input holds).
    pub context: String,
    /// Per query.
    pub timeout: Duration,
}

/// The URL without credentials, and the credentials (URL userinfo, else the token).
fn split_auth(url: &str, token: Option<&str>) -> (String, Auth) {
    let trimmed = url.trim_end_matches('/');
    let (scheme, rest) = trimmed.split_once("://").unwrap_or(("http", trimmed));
    let (host_end, _) = rest.split_once('/').unwrap_or((rest, ""));
    if let Some((userinfo, _)) = host_end.rsplit_once('@') {
        let clean = format!("{scheme}://{}", &rest[userinfo.len() + 1..]);
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        return (clean, Auth::Basic(percent_decode(user), percent_decode(password)));
    }
    let auth = token.map_or(Auth::None, |t| Auth::Bearer(t.to_string()));
    (format!("{scheme}://{rest}"), auth)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Options {
    /// Options from the command line: the window checked, the token read from [`TOKEN_VAR`], the
    /// context left for the reader to set (`""`: whatever the input holds).
    ///
    /// # Errors
    /// When the window is not one.
    pub fn from_flags(
        url: &str,
        window: &str,
        cpu_percentile: f64,
        namespaces: &[String],
        timeout: Duration,
    ) -> Result<Options, String> {
        prometheus::parse_window(window)?;
        Ok(Options {
            url: url.to_string(),
            token: std::env::var(TOKEN_VAR).ok().filter(|t| !t.is_empty()),
            window: window.to_string(),
            cpu_percentile,
            namespaces: namespaces.to_vec(),
            context: String::new(),
            timeout,
        })
    }
}

/// [`read_blocking`] with the window ending now (the wall clock), for inputs without a read time.
#[must_use]
pub fn read_now(opts: &Options) -> UsageHistory {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    read_blocking(opts, now)
}

/// Reads the history on a runtime of its own. Never fails: a Prometheus that does not answer gives
/// a history that says why (`available: false`), and the audit goes on without right-sizing.
#[must_use]
pub fn read_blocking(opts: &Options, now: u64) -> UsageHistory {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(read(opts, now)),
        Err(e) => UsageHistory { note: format!("cannot start the runtime: {e}"), ..UsageHistory::default() },
    }
}

/// Reads the history (see [`read_blocking`]).
pub async fn read(opts: &Options, now: u64) -> UsageHistory {
    let (base, auth) = split_auth(&opts.url, opts.token.as_deref());
    let mut h = UsageHistory {
        context: opts.context.clone(),
        source: base.clone(),
        window: opts.window.clone(),
        cpu_percentile: opts.cpu_percentile,
        ..UsageHistory::default()
    };
    let window = match prometheus::parse_window(&opts.window) {
        Ok(w) => w,
        Err(e) => {
            h.note = e;
            return h;
        }
    };
    let (step, end) = prometheus::step_and_end(window, now);
    h.step_seconds = step;
    h.end = crate::rules::diagnosis::common::format_time(end);
    let client = match http::client(&base) {
        Ok(c) => c,
        Err(e) => {
            h.note = format!("Prometheus at {base}: {e}");
            return h;
        }
    };
    let [cpu_q, mem_q] = prometheus::queries(&opts.namespaces, step.max(300));
    let start = end.saturating_sub(window);
    let mut series = Vec::new();
    for q in [cpu_q, mem_q] {
        let url = format!("{base}/api/v1/query_range?query={}&start={start}&end={end}&step={step}", http::encode(&q));
        match http::get(&client, &url, &auth, opts.timeout, MAX_BODY).await {
            Ok((status, body)) => match prometheus::parse_matrix(status.as_u16(), &body) {
                Ok(m) => series.push(m),
                Err(e) => {
                    h.note = format!("Prometheus at {base}: {e}: right-sizing is not evaluated");
                    return h;
                }
            },
            Err(e) => {
                h.note = format!("Prometheus at {base}: {e}: right-sizing is not evaluated");
                return h;
            }
        }
    }
    let mem = series.pop().unwrap_or_default();
    let cpu = series.pop().unwrap_or_default();
    h.containers = prometheus::combine(&cpu, &mem, opts.cpu_percentile);
    h.available = true;
    h.note = format!(
        "Prometheus at {base}: {} containers over {} to {} (step {step} s)",
        h.containers.len(),
        opts.window,
        h.end
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url() {
        let (u, a) = split_auth("https://ops:p%40ss@prom.example.com:9090/prom/", None);
        assert_eq!(u, "https://prom.example.com:9090/prom");
        assert_eq!(a, Auth::Basic("ops".into(), "p@ss".into()));
        let (u, a) = split_auth("http://prom:9090", Some("t0k"));
        assert_eq!((u.as_str(), a), ("http://prom:9090", Auth::Bearer("t0k".into())));
    }
}
