//! The log-line classifier: the previous container's last lines (read by the live connector with
//! `--logs`) to one class and one redacted matching line. Pure and deterministic; nothing else of
//! the log is kept.

/// How many lines of a log tail are looked at (the last ones).
pub const MAX_LINES: usize = 200;
/// How many bytes of a log tail are looked at (the last ones), whatever the line count.
pub const MAX_BYTES: usize = 64 * 1024;
/// Longest matching line kept in evidence, after redaction.
const LINE_MAX: usize = 240;

use serde::{Deserialize, Serialize};

/// What a crashing container's log says, as one class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogClass {
    /// A runtime ran out of memory (JVM, Go, Python, Node).
    OutOfMemory,
    /// A panic, an uncaught exception or a stack trace.
    Panic,
    /// A binary built for another platform.
    ExecFormat,
    /// A missing module, class or shared library.
    MissingModule,
    /// A missing file or directory.
    MissingFile,
    /// A missing environment variable or configuration key.
    MissingConfig,
    /// Denied by RBAC (`forbidden: User "system:serviceaccount:..."`).
    Forbidden,
    /// Permission denied by the filesystem or kernel.
    PermissionDenied,
    /// The port is taken.
    AddressInUse,
    /// A name does not resolve.
    DnsFailure,
    /// A dependency refuses connections.
    ConnectionRefused,
}

impl LogClass {
    /// The stable name (used as the hypothesis sub-class, `log-` prefixed by callers).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            LogClass::OutOfMemory => "out-of-memory",
            LogClass::Panic => "panic",
            LogClass::ExecFormat => "exec-format",
            LogClass::MissingModule => "missing-module",
            LogClass::MissingFile => "missing-file",
            LogClass::MissingConfig => "missing-config",
            LogClass::Forbidden => "forbidden",
            LogClass::PermissionDenied => "permission-denied",
            LogClass::AddressInUse => "address-in-use",
            LogClass::DnsFailure => "dns-failure",
            LogClass::ConnectionRefused => "connection-refused",
        }
    }
}

/// Patterns per class, matched case-insensitively on the raw line; the first class in this list
/// with a matching line wins: out of memory first, a bare panic or stack trace last, so the cause
/// a trace prints (a missing module, a refused connection) beats the trace itself.
const PATTERNS: &[(LogClass, &[&str])] = &[
    (
        LogClass::OutOfMemory,
        &[
            "java.lang.OutOfMemoryError",
            "fatal error: runtime: out of memory",
            "MemoryError",
            "JavaScript heap out of memory",
            "Cannot allocate memory",
            "memory allocation of ",
        ],
    ),
    (LogClass::ExecFormat, &["exec format error"]),
    (
        LogClass::MissingModule,
        &[
            "ModuleNotFoundError",
            "Cannot find module",
            "ClassNotFoundException",
            "NoClassDefFoundError",
            "error while loading shared libraries",
            "ImportError",
        ],
    ),
    (LogClass::MissingFile, &["No such file or directory", "ENOENT", "FileNotFoundError", "NoSuchFileException"]),
    (
        LogClass::MissingConfig,
        &[
            "environment variable",
            "env var",
            "KeyError: '",
            "missing required",
            "is required but not set",
            "must be set",
            "config key",
        ],
    ),
    (LogClass::Forbidden, &["forbidden: User \"system:serviceaccount:"]),
    (LogClass::PermissionDenied, &["permission denied", "Permission denied", "EACCES", "Operation not permitted"]),
    (LogClass::AddressInUse, &["address already in use", "EADDRINUSE", "Address already in use"]),
    (
        LogClass::DnsFailure,
        &[
            "no such host",
            "Name or service not known",
            "Temporary failure in name resolution",
            "getaddrinfo ENOTFOUND",
            "UnknownHostException",
        ],
    ),
    (LogClass::ConnectionRefused, &["connection refused", "Connection refused", "ECONNREFUSED"]),
    (
        LogClass::Panic,
        &[
            "panic: ",
            "' panicked at ",
            "Traceback (most recent call last)",
            "Exception in thread \"",
            "Unhandled exception",
            "UnhandledPromiseRejection",
            "Segmentation fault",
            "goroutine 1 [running]",
        ],
    ),
];

/// A classified log tail: the class and one redacted matching line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogMatch {
    /// The class.
    pub class: LogClass,
    /// The first matching line of that class, redacted and cut to a readable length.
    pub line: String,
    /// The host a connection or name lookup failed for, when the line names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// The classified previous log of one crashing container, as the live connector read it: this is
/// all that is kept of the log (snapshots store it, so a replay diagnoses like the live run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousLog {
    /// The pod's UID (how a diagnosis finds it again, whatever the context's name).
    pub uid: String,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The container.
    pub container: String,
    /// The class and the one redacted matching line.
    #[serde(flatten)]
    pub found: LogMatch,
}

/// Classifies a log tail (only its last [`MAX_LINES`] lines and [`MAX_BYTES`] bytes).
#[must_use]
pub fn classify(log: &str) -> Option<LogMatch> {
    let start = log.len().saturating_sub(MAX_BYTES);
    // Start on a character boundary.
    let start = (start..=log.len()).find(|&i| log.is_char_boundary(i)).unwrap_or(log.len());
    let tail = log.get(start..).unwrap_or_default();
    let lines: Vec<&str> = tail.lines().collect();
    let lines = &lines[lines.len().saturating_sub(MAX_LINES)..];
    let lower: Vec<String> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
    for (class, patterns) in PATTERNS {
        let hit = lower.iter().position(|l| patterns.iter().any(|p| l.contains(&p.to_ascii_lowercase())));
        if let Some(line) = hit.and_then(|i| lines.get(i)) {
            let host =
                matches!(class, LogClass::DnsFailure | LogClass::ConnectionRefused).then(|| host_of(line)).flatten();
            return Some(LogMatch { class: *class, line: cut(&redact(line)), host });
        }
    }
    None
}

impl LogMatch {
    /// The match as a hypothesis for a crash diagnosis: the class as sub-class (`log-panic`), the
    /// redacted line as its only evidence (`Pod/ns/name container app previous log`).
    #[must_use]
    pub fn hypothesis(&self, pod: &str, container: &str) -> crate::model::Hypothesis {
        let cause = match (self.class, &self.host) {
            (LogClass::OutOfMemory, _) => {
                "the runtime ran out of memory (its heap limit or the container's)".to_string()
            }
            (LogClass::Panic, _) => "the application panicked or threw an uncaught exception".to_string(),
            (LogClass::ExecFormat, _) => "the binary is built for another CPU architecture".to_string(),
            (LogClass::MissingModule, _) => "a module, class or shared library is missing from the image".to_string(),
            (LogClass::MissingFile, _) => "a file it needs is missing (a mount or a path in the image)".to_string(),
            (LogClass::MissingConfig, _) => {
                "a required environment variable or configuration key is missing".to_string()
            }
            (LogClass::Forbidden, _) => "its ServiceAccount is not allowed to call the API it needs".to_string(),
            (LogClass::PermissionDenied, _) => {
                "it is denied access to a file or operation (user, fsGroup, capabilities)".to_string()
            }
            (LogClass::AddressInUse, _) => "its port is already taken in the pod".to_string(),
            (LogClass::DnsFailure, Some(h)) => format!("the name `{h}` does not resolve"),
            (LogClass::DnsFailure, None) => "a name it connects to does not resolve".to_string(),
            (LogClass::ConnectionRefused, Some(h)) => format!("`{h}` refuses connections (the dependency is down)"),
            (LogClass::ConnectionRefused, None) => "a dependency refuses connections".to_string(),
        };
        crate::model::Hypothesis {
            cause,
            subclass: Some(format!("log-{}", self.class.as_str())),
            confidence: crate::model::Confidence::Medium,
            evidence: vec![crate::model::Evidence::note(
                format!("{pod} container {container} previous log"),
                self.line.clone(),
            )],
        }
    }
}

/// The host a failed connection or lookup names: `lookup HOST`, `dial tcp HOST:PORT`,
/// `ENOTFOUND HOST`, `connect to HOST`.
fn host_of(line: &str) -> Option<String> {
    for marker in ["lookup ", "dial tcp ", "ENOTFOUND ", "ECONNREFUSED ", "connect to ", "UnknownHostException: "] {
        if let Some(rest) = line.split(marker).nth(1) {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
                .collect();
            let word = word.trim_end_matches(':').to_string();
            if !word.is_empty() && word.chars().any(|c| c.is_ascii_alphabetic() || c == '.') {
                return Some(word);
            }
        }
    }
    None
}

fn cut(s: &str) -> String {
    let one = s.trim();
    if one.chars().count() <= LINE_MAX {
        return one.to_string();
    }
    let mut c: String = one.chars().take(LINE_MAX).collect();
    c.push('…');
    c
}

/// Keys whose values are secrets wherever they appear (`password=x`, `"token": "x"`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "authorization",
    "auth",
    "credential",
    "private_key",
];

/// Removes what looks like a secret from a log line: values of secret-named keys, bearer and basic
/// credentials, credentials in URLs, JWTs and long opaque tokens (hex or base64 of 20+ chars).
#[must_use]
pub fn redact(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut redact_next = false;
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let lower = word.to_ascii_lowercase();
        // `Authorization: Bearer X`: the scheme stays, the credential after it goes.
        if lower == "bearer" || lower == "basic" {
            out.push_str(word);
            redact_next = true;
            continue;
        }
        if redact_next && !word.is_empty() {
            out.push_str("<redacted>");
            redact_next = false;
            continue;
        }
        // `password: x`, `token = x`: the value is the next word.
        let key =
            lower.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-' && c != ':' && c != '=');
        if let Some(k) = key.strip_suffix(':').or_else(|| key.strip_suffix('='))
            && SECRET_KEYS.iter().any(|s| k.ends_with(s))
        {
            out.push_str(word);
            redact_next = true;
            continue;
        }
        out.push_str(&redact_word(word));
    }
    out
}

fn redact_word(word: &str) -> String {
    // key=value, key:value, "key":"value"
    for sep in ['=', ':'] {
        if let Some((k, v)) = word.split_once(sep) {
            let key = k.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-').to_ascii_lowercase();
            if !v.is_empty() && SECRET_KEYS.iter().any(|s| key.ends_with(s)) {
                return format!("{k}{sep}<redacted>");
            }
        }
    }
    // scheme://user:pass@host
    if let Some((scheme, rest)) = word.split_once("://")
        && let Some((cred, host)) = rest.split_once('@')
        && cred.contains(':')
    {
        return format!("{scheme}://<redacted>@{host}");
    }
    let core =
        word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && !matches!(c, '-' | '_' | '.' | '/' | '+' | '='));
    if looks_like_token(core) {
        return word.replace(core, "<redacted>");
    }
    word.to_string()
}

/// A JWT, or a long run of token characters with both digits and letters (hex, base64, API keys).
fn looks_like_token(s: &str) -> bool {
    if s.starts_with("eyJ") && s.matches('.').count() >= 2 {
        return true;
    }
    if s.len() < 20 || s.contains('/') && !s.contains('+') {
        return false;
    }
    let token_chars = s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '=' | '.'));
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let letters = s.chars().filter(char::is_ascii_alphabetic).count();
    // Dotted names (hosts, Java classes) are words, not tokens.
    let dotted_words =
        s.contains('.') && s.split('.').all(|p| p.chars().all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_'));
    token_chars && digits >= 4 && letters >= 4 && !dotted_words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pattern_has_its_class() {
        let table: &[(&str, LogClass)] = &[
            ("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space", LogClass::OutOfMemory),
            ("fatal error: runtime: out of memory", LogClass::OutOfMemory),
            ("MemoryError", LogClass::OutOfMemory),
            (
                "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
                LogClass::OutOfMemory,
            ),
            ("panic: runtime error: invalid memory address or nil pointer dereference", LogClass::Panic),
            ("thread 'main' panicked at src/main.rs:4:5:", LogClass::Panic),
            ("Traceback (most recent call last):", LogClass::Panic),
            ("exec /app/server: exec format error", LogClass::ExecFormat),
            ("ModuleNotFoundError: No module named 'flask'", LogClass::MissingModule),
            ("Error: Cannot find module '/app/index.js'", LogClass::MissingModule),
            (
                "./server: error while loading shared libraries: libssl.so.3: cannot open shared object file",
                LogClass::MissingModule,
            ),
            ("open /etc/app/config.yaml: no such file or directory", LogClass::MissingFile),
            ("Error: ENOENT: no such file or directory, open '/data/x'", LogClass::MissingFile),
            ("KeyError: 'DATABASE_URL'", LogClass::MissingConfig),
            ("required environment variable DATABASE_URL is not set", LogClass::MissingConfig),
            (
                "pods is forbidden: User \"system:serviceaccount:shop:web\" cannot list resource \"pods\" in API group \"\"",
                LogClass::Forbidden,
            ),
            ("mkdir /var/lib/app: permission denied", LogClass::PermissionDenied),
            ("listen tcp :8080: bind: address already in use", LogClass::AddressInUse),
            ("dial tcp: lookup db.shop.svc.cluster.local on 10.96.0.10:53: no such host", LogClass::DnsFailure),
            ("Error: getaddrinfo ENOTFOUND redis", LogClass::DnsFailure),
            ("dial tcp 10.96.12.34:5432: connect: connection refused", LogClass::ConnectionRefused),
        ];
        for (line, class) in table {
            let m = classify(line).unwrap_or_else(|| panic!("no class for {line}"));
            assert_eq!(m.class, *class, "{line}");
        }
        assert_eq!(classify("all good\nlistening on :8080"), None);
    }

    #[test]
    fn the_most_telling_class_wins_and_hosts_are_named() {
        let log = "starting\nconnecting to db\ndial tcp: lookup db.shop.svc on 10.96.0.10:53: no such host\npanic: cannot connect\ngoroutine 1 [running]:";
        assert_eq!(classify(log).map(|m| m.class), Some(LogClass::DnsFailure));
        let trace = "Traceback (most recent call last):\n  File \"app.py\", line 1\nModuleNotFoundError: No module named 'flask'";
        assert_eq!(classify(trace).map(|m| m.class), Some(LogClass::MissingModule));
        let m = classify("dial tcp: lookup db.shop.svc on 10.96.0.10:53: no such host").expect("class");
        assert_eq!(m.host.as_deref(), Some("db.shop.svc"));
        let m = classify("Error: getaddrinfo ENOTFOUND redis-master").expect("class");
        assert_eq!(m.host.as_deref(), Some("redis-master"));
    }

    #[test]
    fn only_the_tail_is_read() {
        let mut log = String::from("java.lang.OutOfMemoryError: old news\n");
        for i in 0..MAX_LINES {
            log.push_str(&format!("line {i}\n"));
        }
        assert_eq!(classify(&log), None);
        let huge = format!("{}\npermission denied", "x".repeat(MAX_BYTES * 2));
        assert_eq!(classify(&huge).map(|m| m.class), Some(LogClass::PermissionDenied));
    }

    #[test]
    fn token_like_strings_are_redacted_in_the_evidence_line() {
        let line = "panic: auth failed token=ghp_16C7e42F292c6912E7710c838347Ae178B4a for https://admin:hunter2@db.shop.svc:5432 with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl key 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let m = classify(line).expect("class");
        assert_eq!(m.class, LogClass::Panic);
        for secret in
            ["ghp_16C7e42F292c6912E7710c838347Ae178B4a", "hunter2", "eyJhbGciOiJIUzI1NiJ9", "9f86d081884c7d659a2f"]
        {
            assert!(!m.line.contains(secret), "{secret} leaked: {}", m.line);
        }
        assert!(m.line.contains("token=<redacted>"), "{}", m.line);
        assert!(m.line.contains("https://<redacted>@db.shop.svc:5432"), "{}", m.line);
        assert!(m.line.contains("Bearer <redacted>"), "{}", m.line);
        // Ordinary words, hosts and class names stay readable.
        let m = classify("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space").expect("class");
        assert!(m.line.contains("java.lang.OutOfMemoryError"), "{}", m.line);
        assert_eq!(redact("password: hunter2"), "password: <redacted>");
    }
}
