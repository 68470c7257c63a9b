//! A small GitHub REST client over octocrab's raw requests, with our own retry policy.
//!
//! octocrab's retry layer re-sends a POST on 5xx, which could post a review twice; it is not
//! compiled in (its `retry` feature is off). Instead:
//! - 429, and 403 that is a rate limit (`retry-after`, `x-ratelimit-remaining: 0`, or a "rate limit"
//!   message), are retried for every method after the time GitHub asks for (`retry-after`, else
//!   `x-ratelimit-reset`, else a minute doubling each time): the request was refused, not done;
//! - 5xx and transport errors are retried with capped exponential backoff only for idempotent
//!   methods (GET, PATCH, DELETE); a POST is handed back to the caller, which checks whether it
//!   landed before sending it again;
//! - writes are sent one at a time with a pause between them, and the whole run has a time budget:
//!   a wait that would overrun it gives up instead.
//!
//! The token lives only inside octocrab (as a secret) and in a redaction filter applied to every
//! error message; dry runs print requests without it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// HTTP methods we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    /// The method name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether sending it twice has the effect of sending it once.
    #[must_use]
    pub fn idempotent(self) -> bool {
        self != Method::Post
    }
}

/// How long and how often to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff after a 5xx or transport error.
    pub base_delay: Duration,
    /// Longest backoff between two attempts (rate-limit waits GitHub asks for are not capped by
    /// this, only by `total`).
    pub max_delay: Duration,
    /// Wait after a rate limit that names no time (GitHub: "at least one minute").
    pub secondary_wait: Duration,
    /// Time budget of the whole run's requests.
    pub total: Duration,
    /// Pause between two writes.
    pub write_interval: Duration,
    /// Time limit of one request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            secondary_wait: Duration::from_secs(60),
            total: Duration::from_secs(300),
            write_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Time as the client sees it: real, or virtual for tests (sleeps are recorded and return at once).
#[derive(Clone)]
pub struct Clock(Arc<ClockKind>);

enum ClockKind {
    Real(Instant),
    Virtual(Mutex<VirtualTime>),
}

struct VirtualTime {
    unix: i64,
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            ClockKind::Real(_) => f.write_str("Clock::Real"),
            ClockKind::Virtual(_) => f.write_str("Clock::Virtual"),
        }
    }
}

impl Clock {
    /// The system clock.
    #[must_use]
    pub fn real() -> Clock {
        Clock(Arc::new(ClockKind::Real(Instant::now())))
    }

    /// A virtual clock starting at `unix` seconds; `sleep` advances it without waiting.
    #[must_use]
    pub fn virtual_at(unix: i64) -> Clock {
        Clock(Arc::new(ClockKind::Virtual(Mutex::new(VirtualTime {
            unix,
            elapsed: Duration::ZERO,
            sleeps: Vec::new(),
        }))))
    }

    /// Every sleep so far (virtual clocks only).
    #[must_use]
    pub fn sleeps(&self) -> Vec<Duration> {
        match &*self.0 {
            ClockKind::Real(_) => Vec::new(),
            ClockKind::Virtual(m) => m.lock().map(|v| v.sleeps.clone()).unwrap_or_default(),
        }
    }

    /// Seconds since the epoch.
    #[must_use]
    pub fn now_unix(&self) -> i64 {
        match &*self.0 {
            ClockKind::Real(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            ClockKind::Virtual(m) => m.lock().map(|v| v.unix).unwrap_or(0),
        }
    }

    /// Time since the clock was made.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        match &*self.0 {
            ClockKind::Real(start) => start.elapsed(),
            ClockKind::Virtual(m) => m.lock().map(|v| v.elapsed).unwrap_or_default(),
        }
    }

    /// Waits.
    pub async fn sleep(&self, d: Duration) {
        match &*self.0 {
            ClockKind::Real(_) => tokio::time::sleep(d).await,
            ClockKind::Virtual(m) => {
                if let Ok(mut v) = m.lock() {
                    v.sleeps.push(d);
                    v.elapsed += d;
                    v.unix += i64::try_from(d.as_secs()).unwrap_or(0);
                }
            }
        }
    }
}

/// Where and how to reach GitHub.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// REST base URL (`https://api.github.com`, or `https://HOST/api/v3` on GitHub Enterprise Server).
    pub base_url: String,
    /// GraphQL URL (derived from the base URL when unset).
    pub graphql_url: Option<String>,
    /// The token; `None` sends unauthenticated requests.
    pub token: Option<String>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Clock.
    pub clock: Clock,
    /// Print writes instead of sending them (reads are still sent).
    pub dry_run: bool,
}

impl ApiConfig {
    /// A configuration with the default policy and the real clock.
    #[must_use]
    pub fn new(base_url: impl Into<String>, token: Option<String>) -> ApiConfig {
        ApiConfig {
            base_url: base_url.into(),
            graphql_url: None,
            token,
            retry: RetryPolicy::default(),
            clock: Clock::real(),
            dry_run: false,
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// GitHub answered with this status (after any retries).
    Status(u16),
    /// Still rate limited when attempts or time ran out.
    RateLimited,
    /// No HTTP answer (connection, timeout).
    Transport,
    /// Waiting longer would overrun the run's time budget.
    Budget,
}

/// A failed request, with GitHub's message; never holds the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Method.
    pub method: Method,
    /// Path (relative to the API base).
    pub path: String,
    /// What happened.
    pub kind: ErrorKind,
    /// GitHub's message or the transport error.
    pub message: String,
}

impl ApiError {
    /// The HTTP status, when GitHub answered.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ErrorKind::Status(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the token may not do this (403 that is not a rate limit, or 404): a fork's read-only
    /// token, or missing `permissions:`.
    #[must_use]
    pub fn is_permission(&self) -> bool {
        matches!(self.kind, ErrorKind::Status(403 | 404))
    }

    /// Whether the request may or may not have been carried out (5xx or no answer to a POST).
    #[must_use]
    pub fn is_uncertain(&self) -> bool {
        matches!(self.kind, ErrorKind::Transport) || self.status().is_some_and(|s| s >= 500)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match &self.kind {
            ErrorKind::Status(s) => format!("HTTP {s}"),
            ErrorKind::RateLimited => "rate limited".to_string(),
            ErrorKind::Transport => "no answer".to_string(),
            ErrorKind::Budget => "out of time".to_string(),
        };
        write!(f, "{} {}: {what}: {}", self.method.as_str(), self.path, self.message)
    }
}

impl std::error::Error for ApiError {}

/// One request as a dry run prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Method.
    pub method: Method,
    /// Full URL.
    pub url: String,
    /// JSON body.
    pub body: Option<Value>,
}

impl Recorded {
    /// `METHOD URL` and the pretty JSON body.
    #[must_use]
    pub fn render(&self) -> String {
        let mut s = format!("{} {}\n", self.method.as_str(), self.url);
        if let Some(b) = &self.body {
            s.push_str(&serde_json::to_string_pretty(b).unwrap_or_default());
            s.push('\n');
        }
        s
    }
}

struct Raw {
    status: u16,
    retry_after: Option<String>,
    remaining: Option<String>,
    reset: Option<String>,
    text: String,
}

/// The client.
pub struct Api {
    octo: octocrab::Octocrab,
    base_url: String,
    graphql_url: String,
    token: Option<String>,
    policy: RetryPolicy,
    clock: Clock,
    dry_run: bool,
    last_write: Option<Duration>,
    /// Writes a dry run would have sent, in order.
    pub recorded: Vec<Recorded>,
}

/// Installs ring as the process's rustls crypto provider (once; later calls do nothing).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The GraphQL endpoint for a REST base: `…/api/v3` → `…/api/graphql`, else `…/graphql`.
#[must_use]
pub fn graphql_url_for(base: &str) -> String {
    let b = base.trim_end_matches('/');
    match b.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{b}/graphql"),
    }
}

impl Api {
    /// Makes a client. Call inside a tokio runtime.
    ///
    /// # Errors
    /// When the base URL or token cannot be used.
    pub fn new(cfg: &ApiConfig) -> Result<Api, String> {
        install_crypto_provider();
        let base_url = cfg.base_url.trim_end_matches('/').to_string();
        if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
            return Err(format!("the API URL `{base_url}` must start with https:// (or http:// for a local server)"));
        }
        let token = cfg.token.as_ref().map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        if let Some(t) = &token
            && !t.bytes().all(|b| b.is_ascii_graphic())
        {
            // octocrab would panic building the header; say what is wrong without showing it.
            return Err("the GitHub token holds spaces or control characters; check how it is passed".to_string());
        }
        let mut b = octocrab::Octocrab::builder()
            .base_uri(base_url.as_str())
            .map_err(|e| format!("the API URL `{base_url}` is not a URL: {e}"))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(cfg.retry.request_timeout))
            .set_write_timeout(Some(cfg.retry.request_timeout));
        if let Some(t) = &token {
            b = b.personal_token(t.clone());
        }
        let octo = b.build().map_err(|e| redact(&format!("cannot make the GitHub client: {e}"), token.as_deref()))?;
        Ok(Api {
            octo,
            graphql_url: cfg.graphql_url.clone().unwrap_or_else(|| graphql_url_for(&base_url)),
            base_url,
            token,
            policy: cfg.retry.clone(),
            clock: cfg.clock.clone(),
            dry_run: cfg.dry_run,
            last_write: None,
            recorded: Vec::new(),
        })
    }

    /// Whether writes are only printed.
    #[must_use]
    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Whether a token is set.
    #[must_use]
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Removes the token from a text.
    #[must_use]
    pub fn redact(&self, s: &str) -> String {
        redact(s, self.token.as_deref())
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base_url)
        }
    }

    async fn send_raw(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Raw, String> {
        let fut = async {
            let res = match method {
                Method::Get => self.octo._get(url).await,
                Method::Post => self.octo._post(url, body).await,
                Method::Patch => self.octo._patch(url, body).await,
                Method::Delete => self.octo._delete(url, body).await,
            }
            .map_err(|e| error_chain(&e))?;
            let status = res.status().as_u16();
            let header = |n: &str| res.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
            let (retry_after, remaining, reset) =
                (header("retry-after"), header("x-ratelimit-remaining"), header("x-ratelimit-reset"));
            let text = self.octo.body_to_string(res).await.map_err(|e| error_chain(&e))?;
            Ok::<Raw, String>(Raw { status, retry_after, remaining, reset, text })
        };
        match tokio::time::timeout(self.policy.request_timeout, fut).await {
            Ok(r) => r.map_err(|e: String| self.redact(&e)),
            Err(_) => Err(format!("no answer within {} s", self.policy.request_timeout.as_secs())),
        }
    }

    async fn pace_write(&mut self) {
        let now = self.clock.elapsed();
        if let Some(last) = self.last_write {
            let next = last + self.policy.write_interval;
            if next > now {
                self.clock.sleep(next - now).await;
            }
        }
        self.last_write = Some(self.clock.elapsed());
    }

    fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
        self.policy.base_delay.saturating_mul(factor).min(self.policy.max_delay)
    }

    /// How long a rate-limited answer asks us to wait; `None` when it is not a rate limit.
    fn rate_limit_wait(&self, raw: &Raw, rate_limited_before: u32) -> Option<Duration> {
        let message_says = raw.text.to_ascii_lowercase().contains("rate limit");
        let is_limit = raw.status == 429
            || (raw.status == 403
                && (raw.retry_after.is_some() || raw.remaining.as_deref() == Some("0") || message_says));
        if !is_limit {
            return None;
        }
        if let Some(secs) = raw.retry_after.as_deref().and_then(|s| s.trim().parse::<u64>().ok()) {
            return Some(Duration::from_secs(secs.max(1)));
        }
        if raw.remaining.as_deref() == Some("0")
            && let Some(reset) = raw.reset.as_deref().and_then(|s| s.trim().parse::<i64>().ok())
        {
            let secs = (reset - self.clock.now_unix() + 1).max(1);
            return Some(Duration::from_secs(u64::try_from(secs).unwrap_or(1)));
        }
        let factor = 2u32.saturating_pow(rate_limited_before.min(8));
        Some(self.policy.secondary_wait.saturating_mul(factor))
    }

    /// Sends one request with the retry policy and returns the JSON answer (`null` when empty).
    ///
    /// # Errors
    /// The final failure; see [`ErrorKind`].
    pub async fn request(&mut self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, ApiError> {
        let url = self.url(path);
        let err = |kind: ErrorKind, message: String| ApiError { method, path: path.to_string(), kind, message };
        if method != Method::Get {
            if self.dry_run {
                self.recorded.push(Recorded { method, url, body: body.cloned() });
                return Ok(json!({ "id": 0, "node_id": "", "html_url": "" }));
            }
            self.pace_write().await;
        }
        let mut attempt = 0u32;
        let mut rate_limited = 0u32;
        loop {
            attempt += 1;
            let (wait, last) = match self.send_raw(method, &url, body).await {
                Ok(raw) if (200..300).contains(&raw.status) => {
                    let text = raw.text.trim();
                    return Ok(if text.is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_str(text).unwrap_or(Value::Null)
                    });
                }
                // A DELETE retried after a lost answer finds the thing already gone.
                Ok(raw) if raw.status == 404 && method == Method::Delete && attempt > 1 => return Ok(Value::Null),
                Ok(raw) => {
                    let message = self.redact(&github_message(&raw.text, raw.status));
                    if let Some(w) = self.rate_limit_wait(&raw, rate_limited) {
                        rate_limited += 1;
                        (w, err(ErrorKind::RateLimited, message))
                    } else if raw.status >= 500 && method.idempotent() {
                        (self.backoff(attempt), err(ErrorKind::Status(raw.status), message))
                    } else {
                        return Err(err(ErrorKind::Status(raw.status), message));
                    }
                }
                Err(e) if method.idempotent() => (self.backoff(attempt), err(ErrorKind::Transport, e)),
                Err(e) => return Err(err(ErrorKind::Transport, e)),
            };
            if attempt >= self.policy.max_attempts {
                let mut last = last;
                last.message = format!("{} (gave up after {attempt} attempts)", last.message);
                return Err(last);
            }
            let elapsed = self.clock.elapsed();
            if elapsed + wait > self.policy.total {
                return Err(err(
                    ErrorKind::Budget,
                    format!(
                        "{}; retrying would mean waiting {} s, past the time budget of {} s",
                        last.message,
                        wait.as_secs(),
                        self.policy.total.as_secs()
                    ),
                ));
            }
            self.clock.sleep(wait).await;
        }
    }

    /// GETs every page of a list (`per_page=100`, at most 30 pages).
    ///
    /// # Errors
    /// The first failed page.
    pub async fn get_all(&mut self, path: &str) -> Result<Vec<Value>, ApiError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1..=30 {
            let v = self.request(Method::Get, &format!("{path}{sep}per_page=100&page={page}"), None).await?;
            let items = match v {
                Value::Array(a) => a,
                _ => Vec::new(),
            };
            let n = items.len();
            out.extend(items);
            if n < 100 {
                break;
            }
        }
        Ok(out)
    }

    /// Sends a GraphQL query.
    ///
    /// # Errors
    /// HTTP failures, or GraphQL `errors` (as a 200 with errors).
    pub async fn graphql(&mut self, query: &str, variables: Value) -> Result<Value, ApiError> {
        let url = self.graphql_url.clone();
        let body = json!({ "query": query, "variables": variables });
        let v = self.request(Method::Post, &url, Some(&body)).await?;
        if let Some(errors) = v.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
            let msg: Vec<String> =
                errors.iter().filter_map(|e| e.get("message").and_then(Value::as_str).map(str::to_string)).collect();
            return Err(ApiError {
                method: Method::Post,
                path: url,
                kind: ErrorKind::Status(200),
                message: self.redact(&msg.join("; ")),
            });
        }
        Ok(v)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

/// GitHub's error message from an error body: `message` and each `errors[].message`.
fn github_message(text: &str, status: u16) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let mut parts = Vec::new();
    if let Some(m) = v.get("message").and_then(Value::as_str) {
        parts.push(m.to_string());
    }
    if let Some(errs) = v.get("errors").and_then(Value::as_array) {
        for e in errs {
            match e {
                Value::String(s) => parts.push(s.clone()),
                other => {
                    if let Some(m) = other.get("message").and_then(Value::as_str) {
                        parts.push(m.to_string());
                    } else if let Some(c) = other.get("code").and_then(Value::as_str) {
                        parts.push(c.to_string());
                    }
                }
            }
        }
    }
    if parts.is_empty() {
        let t: String = text.trim().chars().take(200).collect();
        if t.is_empty() { format!("status {status}") } else { t }
    } else {
        parts.join("; ")
    }
}

/// Replaces every occurrence of the token with `***`.
#[must_use]
pub fn redact(s: &str, token: Option<&str>) -> String {
    match token {
        Some(t) if t.len() >= 4 => s.replace(t, "***"),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_urls() {
        assert_eq!(graphql_url_for("https://api.github.com"), "https://api.github.com/graphql");
        assert_eq!(graphql_url_for("https://ghe.example.com/api/v3/"), "https://ghe.example.com/api/graphql");
    }

    #[test]
    fn messages() {
        assert_eq!(
            github_message(
                r#"{"message":"Validation Failed","errors":[{"message":"line must be part of the diff"}]}"#,
                422
            ),
            "Validation Failed; line must be part of the diff"
        );
        assert_eq!(github_message("", 502), "status 502");
        assert_eq!(redact("token abcd1234 here", Some("abcd1234")), "token *** here");
    }
}
