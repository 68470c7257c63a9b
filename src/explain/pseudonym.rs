//! Pseudonyms (`--anonymize`, `llm.anonymize_patterns`): object and namespace names replaced
//! with stable names like `deploy-7f3a` before the facts leave the machine, restored in the answer.
//!
//! A pseudonym is an HMAC-SHA256 of the identity (kind, namespace, name) with a local key kept
//! in the cache directory: the same object always gets the same pseudonym on this machine (so the
//! cache still hits), and nobody without the key can map it back. Replacement and restoration
//! work on whole name tokens from an explicit map, never on patterns over raw names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ring::hmac;

use super::facts::Facts;

/// The key file inside the cache directory.
pub const KEY_FILE: &str = "pseudonym.key";

/// Which names are replaced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NamePolicy {
    /// Every object and namespace name (`--anonymize`).
    pub all: bool,
    /// Names matching these globs (`*` wildcards), always.
    pub patterns: Vec<String>,
}

impl NamePolicy {
    /// Whether any name can be replaced.
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.all || !self.patterns.is_empty()
    }

    fn covers(&self, name: &str) -> bool {
        self.all || self.patterns.iter().any(|p| crate::config::glob_match(p, name))
    }
}

/// The map of one run: pseudonym → real name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pseudonyms {
    real: BTreeMap<String, String>,
}

/// Loads the local key from `dir`, creating it (32 random bytes, owner-only) on first use.
///
/// # Errors
/// When it can be neither read nor created.
pub fn load_or_create_key(dir: &Path) -> Result<Vec<u8>, String> {
    let path = dir.join(KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return hex_decode(text.trim())
            .filter(|k| k.len() >= 16)
            .ok_or_else(|| format!("{} is not a hex key; delete it to make a new one", path.display()));
    }
    super::cache::create_private_dir(dir)?;
    let mut key = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
        .map_err(|_| "the system has no random source for the pseudonym key".to_string())?;
    let text: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(&path) {
        Ok(mut f) => {
            std::io::Write::write_all(&mut f, text.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(key.to_vec())
        }
        // Another run created it meanwhile: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_key(dir),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// The short prefix of a kind's pseudonyms.
fn prefix(kind: &str) -> &'static str {
    match kind {
        "Deployment" => "deploy",
        "StatefulSet" => "sts",
        "DaemonSet" => "ds",
        "ReplicaSet" => "rs",
        "Pod" => "pod",
        "Job" => "job",
        "CronJob" => "cronjob",
        "Service" => "svc",
        "Ingress" => "ing",
        "ConfigMap" => "cm",
        "Secret" => "secret",
        "PersistentVolumeClaim" => "pvc",
        "ServiceAccount" => "sa",
        "HorizontalPodAutoscaler" => "hpa",
        "PodDisruptionBudget" => "pdb",
        "NetworkPolicy" => "netpol",
        "Role" | "ClusterRole" => "role",
        "RoleBinding" | "ClusterRoleBinding" => "binding",
        "Node" => "node",
        "Namespace" => "ns",
        _ => "obj",
    }
}

/// Every prefix a pseudonym can have: a token shaped like one must be a known pseudonym.
pub const PREFIXES: &[&str] = &[
    "deploy", "sts", "ds", "rs", "pod", "job", "cronjob", "svc", "ing", "cm", "secret", "pvc", "sa", "hpa", "pdb",
    "netpol", "role", "binding", "node", "ns", "obj",
];

/// Whether `token` looks like a pseudonym (`deploy-7f3a`).
#[must_use]
pub fn is_pseudonym_shaped(token: &str) -> bool {
    token.split_once('-').is_some_and(|(p, hex)| {
        PREFIXES.contains(&p) && hex.len() >= 4 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl Pseudonyms {
    /// Replaces the names `policy` covers in `facts` with pseudonyms keyed by `key`.
    #[must_use]
    pub fn apply(facts: &Facts, policy: &NamePolicy, key: &[u8]) -> (Facts, Pseudonyms) {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        // Identities, sorted, so collisions resolve the same way every run.
        let mut ids: BTreeSet<(String, String, String)> = BTreeSet::new();
        for f in &facts.findings {
            let o = &f.object;
            let ns = o.namespace.clone().unwrap_or_default();
            if policy.covers(&o.name) {
                ids.insert((o.kind.clone(), ns.clone(), o.name.clone()));
            }
            if !ns.is_empty() && policy.covers(&ns) {
                ids.insert(("Namespace".to_string(), String::new(), ns));
            }
        }
        // A pseudonym must not collide with a token already in the facts (it would be restored).
        let facts_json = facts.to_json();
        let taken: BTreeSet<&str> = tokens(&facts_json).map(|(_, _, t)| t).collect();
        let mut of_id: BTreeMap<(String, String, String), String> = BTreeMap::new();
        let mut real: BTreeMap<String, String> = BTreeMap::new();
        // The name a real string gets where the object is not known (text of another finding).
        let mut any: BTreeMap<String, String> = BTreeMap::new();
        for id in ids {
            let tag = hmac::sign(&key, format!("{}\0{}\0{}", id.0, id.1, id.2).as_bytes());
            let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
            let p = prefix(&id.0);
            let name = (4..=hex.len())
                .step_by(2)
                .map(|n| format!("{p}-{}", &hex[..n]))
                .find(|n| !real.contains_key(n) && !taken.contains(n.as_str()))
                .unwrap_or_else(|| format!("{p}-{hex}"));
            real.insert(name.clone(), id.2.clone());
            any.entry(id.2.clone()).or_insert_with(|| name.clone());
            of_id.insert(id, name);
        }
        let mut out = facts.clone();
        for f in &mut out.findings {
            // This finding's own object and namespace first, then any other known name.
            let mut map = any.clone();
            let ns = f.object.namespace.clone().unwrap_or_default();
            if let Some(p) = of_id.get(&(f.object.kind.clone(), ns.clone(), f.object.name.clone())) {
                map.insert(f.object.name.clone(), p.clone());
            }
            if let Some(p) = of_id.get(&("Namespace".to_string(), String::new(), ns)) {
                map.insert(f.object.namespace.clone().unwrap_or_default(), p.clone());
            }
            let r = |s: &mut String| *s = replace_tokens(s, |t| map.get(t).cloned());
            r(&mut f.object.name);
            if let Some(n) = &mut f.object.namespace {
                r(n);
            }
            r(&mut f.path);
            for e in &mut f.evidence {
                r(&mut e.path);
                if let Some(v) = &mut e.value {
                    r(v);
                }
            }
            if let Some(fix) = &mut f.fix {
                r(&mut fix.title);
                if let Some(c) = &mut fix.command {
                    r(c);
                }
            }
            if let Some(d) = &mut f.diagnosis {
                for h in &mut d.hypotheses {
                    r(&mut h.cause);
                }
            }
        }
        if let Some(o) = &mut out.omitted {
            o.by_rule = o.by_rule.iter().map(|(k, v)| (replace_tokens(k, |t| any.get(t).cloned()), *v)).collect();
        }
        (out, Pseudonyms { real })
    }

    /// Whether any name was replaced.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.real.is_empty()
    }

    /// The pseudonyms in use.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.real.keys().map(String::as_str)
    }

    /// `s` with every pseudonym token replaced by its real name.
    #[must_use]
    pub fn restore(&self, s: &str) -> String {
        replace_tokens(s, |t| self.real.get(t).cloned())
    }
}

/// Whether `c` can be part of a Kubernetes name.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')
}

/// The name tokens of `s`: `(start, end, token)`, maximal runs of name characters without
/// leading or trailing `-`, `.` or `_` (a name ends in a letter or digit; "web." ends a sentence).
pub fn tokens(s: &str) -> impl Iterator<Item = (usize, usize, &str)> {
    let mut i = 0;
    std::iter::from_fn(move || {
        loop {
            let rest = s.get(i..)?;
            let start = i + rest.find(name_char)?;
            let len = s[start..].find(|c: char| !name_char(c)).unwrap_or(s.len() - start);
            i = start + len;
            let raw = &s[start..start + len];
            let trimmed_front = raw.trim_start_matches(['-', '.', '_']);
            let t = trimmed_front.trim_end_matches(['-', '.', '_']);
            if !t.is_empty() {
                let a = start + (raw.len() - trimmed_front.len());
                return Some((a, a + t.len(), t));
            }
        }
    })
}

/// `s` with each name token `f` maps replaced; everything else kept byte for byte.
pub fn replace_tokens(s: &str, f: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (a, b, t) in tokens(s) {
        if let Some(r) = f(t) {
            out.push_str(&s[last..a]);
            out.push_str(&r);
            last = b;
        }
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_trim_sentence_punctuation() {
        let t: Vec<&str> = tokens("Scale deploy-7f3a. Then `web-1`/x, -n shop_").map(|(_, _, t)| t).collect();
        assert_eq!(t, ["Scale", "deploy-7f3a", "Then", "web-1", "x", "n", "shop"]);
        let m = |t: &str| (t == "web").then(|| "deploy-7f3a".to_string());
        assert_eq!(
            replace_tokens("kubectl patch deployment web -p '{\"name\":\"web\"}'", m),
            "kubectl patch deployment deploy-7f3a -p '{\"name\":\"deploy-7f3a\"}'"
        );
        assert_eq!(replace_tokens("webserver web.", m), "webserver deploy-7f3a.");
    }

    #[test]
    fn pseudonym_shape() {
        assert!(is_pseudonym_shaped("deploy-7f3a"));
        assert!(!is_pseudonym_shaped("deploy-7f3"));
        assert!(!is_pseudonym_shaped("web-7f3a"));
        assert!(!is_pseudonym_shaped("deploy-7g3a"));
    }
}
