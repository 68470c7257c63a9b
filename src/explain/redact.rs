//! The secret scanner every string in the facts passes through before it can leave the machine.
//!
//! Matches are replaced with `[REDACTED:kind]`. It errs on the side of redacting: a false positive
//! costs a word of narration, a false negative leaks a credential.

/// Replaces every secret-looking part of `s` with `[REDACTED:kind]`.
#[must_use]
pub fn scrub(s: &str) -> String {
    let s = pem_blocks(s);
    let s = url_credentials(&s);
    let s = assignments(&s);
    tokens(&s)
}

/// Whether `s` holds anything [`scrub`] would replace.
#[must_use]
pub fn is_clean(s: &str) -> bool {
    scrub(s) == s
}

const PEM_BEGIN: &str = "-----BEGIN ";

/// PEM blocks, from `-----BEGIN` to the end of the matching `-----END ...-----` (or of the string).
fn pem_blocks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(PEM_BEGIN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + PEM_BEGIN.len()..];
        let end = after.find("-----END ").and_then(|e| {
            let tail = &after[e + "-----END ".len()..];
            tail.find("-----").map(|close| e + "-----END ".len() + close + "-----".len())
        });
        out.push_str("[REDACTED:pem]");
        match end {
            Some(e) => rest = &after[e..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// `scheme://user:password@host` keeps the scheme and host, drops the user information.
fn url_credentials(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("[REDACTED:url-credentials]");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Words that make the value after `=` or `:` a secret.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "private_key",
    "credential",
    "auth",
];

/// `password=...`, `api_key: ...`, `"token":"..."`: the value up to the next separator.
fn assignments(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c != b'=' && c != b':' {
            i += 1;
            continue;
        }
        // The key: the identifier-like run right before the separator (quotes skipped).
        let mut k_end = i;
        while k_end > 0 && matches!(bytes[k_end - 1], b'"' | b'\'' | b' ') {
            k_end -= 1;
        }
        let mut k_start = k_end;
        while k_start > 0
            && (bytes[k_start - 1].is_ascii_alphanumeric() || matches!(bytes[k_start - 1], b'_' | b'-' | b'.'))
        {
            k_start -= 1;
        }
        let key = &lower[k_start..k_end];
        let is_secret_key = !key.is_empty() && SECRET_KEYS.iter().any(|w| key.contains(w));
        // `://` is a URL, not an assignment.
        if !is_secret_key || lower[i..].starts_with("://") {
            i += 1;
            continue;
        }
        let mut v_start = i + 1;
        while v_start < bytes.len() && matches!(bytes[v_start], b' ' | b'"' | b'\'') {
            v_start += 1;
        }
        let mut v_end = v_start;
        while v_end < bytes.len()
            && !matches!(bytes[v_end], b' ' | b'"' | b'\'' | b'&' | b',' | b';' | b'\n' | b'\t' | b'}' | b')')
        {
            v_end += 1;
        }
        let value = &s[v_start..v_end];
        // Booleans and numbers (`automountServiceAccountToken: false`) are settings, not secrets.
        let plain = value == "true" || value == "false" || value.parse::<f64>().is_ok();
        if v_end > v_start && !plain && !value.starts_with("[REDACTED:") {
            out.push_str(&s[copied..v_start]);
            out.push_str("[REDACTED:assignment]");
            copied = v_end;
        }
        i = v_end.max(i + 1);
    }
    out.push_str(&s[copied..]);
    out
}

/// Runs of token characters (`A-Za-z0-9+/=_-.`) checked against known token shapes.
fn tokens(s: &str) -> String {
    let is_tok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-' | '.');
    let mut out = String::with_capacity(s.len());
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        if i < s.len() && is_tok(c) {
            start.get_or_insert(i);
            continue;
        }
        if let Some(st) = start.take() {
            let tok = &s[st..i];
            match classify(tok) {
                Some(kind) => {
                    out.push_str("[REDACTED:");
                    out.push_str(kind);
                    out.push(']');
                }
                None => out.push_str(tok),
            }
        }
        if i < s.len() {
            out.push(c);
        }
    }
    out
}

/// What kind of secret a token looks like, if any.
fn classify(tok: &str) -> Option<&'static str> {
    // Our own markers (`[REDACTED:pem]` splits into `REDACTED` and `pem`) are never secrets.
    let t = tok.trim_matches(|c| c == '.' || c == '-' || c == '/');
    let prefixed = |prefixes: &[&str], min: usize| prefixes.iter().any(|p| t.starts_with(p)) && t.len() >= min;
    if prefixed(&["AKIA", "ASIA"], 20) && t[4..].chars().take(16).all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some("aws-key");
    }
    if prefixed(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"], 20) {
        return Some("github-token");
    }
    if prefixed(&["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"], 15) {
        return Some("slack-token");
    }
    if prefixed(&["sk-"], 20) {
        return Some("openai-key");
    }
    if prefixed(&["AIza"], 30) {
        return Some("google-key");
    }
    if t.starts_with("eyJ") && t.matches('.').count() == 2 && t.len() >= 30 {
        return Some("jwt");
    }
    if looks_random(t) {
        return Some("base64");
    }
    None
}

/// Long runs mixing upper case, lower case and digits: base64 or similar key material.
/// Pure lowercase hex (digests, our fingerprints) and words joined by dashes are left alone.
fn looks_random(t: &str) -> bool {
    let core = t.trim_end_matches('=');
    if core.len() < 32 {
        return false;
    }
    let longest_segment = core.split(['.', '/', '-', '_']).map(str::len).max().unwrap_or(0);
    if longest_segment < 24 {
        return false;
    }
    let upper = core.chars().any(|c| c.is_ascii_uppercase());
    let lower = core.chars().any(|c| c.is_ascii_lowercase());
    let digit = core.chars().any(|c| c.is_ascii_digit());
    upper && lower && digit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_shapes_are_redacted() {
        let cases = [
            ("key AKIAIOSFODNN7EXAMPLE here", "key [REDACTED:aws-key] here"),
            ("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "[REDACTED:github-token]"),
            ("xoxb-1234567890-abcdefghij", "[REDACTED:slack-token]"),
            ("sk-proj-abcdefghijklmnopqrstuvwx", "[REDACTED:openai-key]"),
            ("postgres://admin:hunter2@db.svc:5432/app", "postgres://[REDACTED:url-credentials]@db.svc:5432/app"),
            ("DB_PASSWORD=hunter2 other", "DB_PASSWORD=[REDACTED:assignment] other"),
            ("{\"api_key\": \"abc123\"}", "{\"api_key\": \"[REDACTED:assignment]\"}"),
            ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- after", "[REDACTED:pem] after"),
        ];
        for (input, want) in cases {
            assert_eq!(scrub(input), want, "{input}");
        }
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(scrub(jwt), "[REDACTED:jwt]");
        assert_eq!(scrub("blob dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSBvZiBzb21lIGtpbmQK"), "blob [REDACTED:base64]");
    }

    #[test]
    fn ordinary_text_is_kept() {
        for s in [
            "kubectl patch deployment web -n shop --type strategic -p '{\"spec\":{\"replicas\":2}}'",
            "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "https://example.com/path",
            "Deployment/shop/web-frontend-canary-deployment",
            "0123456789abcdef0123456789abcdef",
            "limits.memory: 512Mi",
        ] {
            assert!(is_clean(s), "{s} -> {}", scrub(s));
        }
    }

    #[test]
    fn scrubbing_is_idempotent() {
        let s = "postgres://a:b@h password=x AKIAIOSFODNN7EXAMPLE";
        assert_eq!(scrub(&scrub(s)), scrub(s));
    }
}
