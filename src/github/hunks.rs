//! Diff hunks of a pull request: which lines of the new file a review comment may target.
//!
//! GitHub accepts review comments only on lines inside the hunks of a file's patch (`pulls/{n}/files`);
//! one anchor outside them fails the whole review with 422. On the RIGHT side (the head), a hunk
//! `@@ -a,b +c,d @@` covers the new-file lines `c..c+d-1` (its context and added lines).

use std::collections::BTreeMap;

/// The new-file line range of one hunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hunk {
    /// First new-file line (1-based).
    pub start: u32,
    /// Last new-file line (inclusive).
    pub end: u32,
}

/// Hunks per file path (repository-relative, as GitHub names files).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hunks {
    files: BTreeMap<String, Vec<Hunk>>,
}

impl Hunks {
    /// Adds the hunks of one file from its patch text.
    pub fn add_patch(&mut self, path: &str, patch: &str) {
        let hunks = parse_patch(patch);
        if !hunks.is_empty() {
            self.files.entry(path.to_string()).or_default().extend(hunks);
        }
    }

    /// Adds the hunks of every file of a `git diff` (unified, several files).
    pub fn add_git_diff(&mut self, diff: &str) {
        let mut path: Option<String> = None;
        let mut patch = String::new();
        // In a file's header (between `diff --git` and its first `@@`), `---`/`+++` name the files;
        // in its body they are removed or added lines.
        let mut in_header = false;
        for line in diff.lines() {
            if line.starts_with("diff --git ") {
                if let Some(p) = &path {
                    self.add_patch(p, &patch);
                }
                patch.clear();
                path = None;
                in_header = true;
            } else if in_header && line.starts_with("@@") {
                in_header = false;
                patch.push_str(line);
                patch.push('\n');
            } else if in_header {
                if let Some(rest) = line.strip_prefix("+++ ") {
                    path = unquote(rest.trim_end_matches('\t')).strip_prefix("b/").map(str::to_string);
                }
            } else if path.is_some() {
                patch.push_str(line);
                patch.push('\n');
            }
        }
        if let Some(p) = &path {
            self.add_patch(p, &patch);
        }
    }

    /// The hunks of a file.
    #[must_use]
    pub fn of(&self, path: &str) -> &[Hunk] {
        self.files.get(path).map_or(&[], Vec::as_slice)
    }

    /// The hunk holding every line of `start..=end` on the RIGHT side, if one does.
    #[must_use]
    pub fn containing(&self, path: &str, start: u32, end: u32) -> Option<Hunk> {
        if start == 0 || end < start {
            return None;
        }
        self.of(path).iter().copied().find(|h| h.start <= start && end <= h.end)
    }

    /// Whether a line is inside a hunk on the RIGHT side.
    #[must_use]
    pub fn contains_line(&self, path: &str, line: u32) -> bool {
        self.containing(path, line, line).is_some()
    }

    /// Number of files with hunks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file has hunks.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// `"a\tb"`-style quoted paths from git (only when they hold unusual characters).
fn unquote(p: &str) -> String {
    match p.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => p.to_string(),
    }
}

/// Parses the hunks of one file's patch. Malformed headers are skipped; a hunk whose body is
/// shorter than its header says is cut to the lines actually present.
#[must_use]
pub fn parse_patch(patch: &str) -> Vec<Hunk> {
    let mut out = Vec::new();
    let mut lines = patch.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((new_start, new_len, old_len)) = header(line) else { continue };
        // Walk the body to count the new-side lines really there.
        let (mut seen_new, mut seen_old) = (0u32, 0u32);
        while seen_new < new_len || seen_old < old_len {
            let Some(next) = lines.peek() else { break };
            if next.starts_with("@@") {
                break;
            }
            let next = lines.next().unwrap_or_default();
            match next.as_bytes().first() {
                Some(b'+') => seen_new += 1,
                Some(b'-') => seen_old += 1,
                Some(b'\\') => {}
                // A context line (an empty line is a context line whose leading space was trimmed).
                _ => {
                    seen_new += 1;
                    seen_old += 1;
                }
            }
        }
        let len = seen_new.min(new_len);
        if len > 0 && new_start > 0 {
            out.push(Hunk { start: new_start, end: new_start + len - 1 });
        }
    }
    out
}

/// `@@ -a,b +c,d @@` → (c, d, b); a missing length is 1.
fn header(line: &str) -> Option<(u32, u32, u32)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let range = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((s, l)) => Some((s.parse().ok()?, l.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (_, old_len) = range(old)?;
    let (new_start, new_len) = range(new)?;
    Some((new_start, new_len, old_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hunks() {
        let patch = "@@ -1,3 +1,4 @@\n a\n-b\n+c\n+d\n e\n@@ -10 +11,2 @@ spec:\n x\n+y\n";
        assert_eq!(parse_patch(patch), vec![Hunk { start: 1, end: 4 }, Hunk { start: 11, end: 12 }]);
    }

    #[test]
    fn deletion_only_hunk_has_no_right_lines() {
        assert_eq!(parse_patch("@@ -3,2 +2,0 @@\n-a\n-b\n"), vec![]);
    }

    #[test]
    fn new_file() {
        let mut h = Hunks::default();
        h.add_patch("k8s/app.yaml", "@@ -0,0 +1,3 @@\n+a\n+b\n+c\n\\ No newline at end of file\n");
        assert!(h.contains_line("k8s/app.yaml", 3));
        assert!(!h.contains_line("k8s/app.yaml", 4));
        assert_eq!(h.containing("k8s/app.yaml", 1, 3), Some(Hunk { start: 1, end: 3 }));
        assert_eq!(h.containing("k8s/app.yaml", 2, 1), None);
        assert!(!h.contains_line("other.yaml", 1));
    }

    #[test]
    fn truncated_body_shrinks_the_hunk() {
        assert_eq!(parse_patch("@@ -1,2 +1,5 @@\n a\n+b\n"), vec![Hunk { start: 1, end: 2 }]);
    }

    #[test]
    fn git_diff_of_several_files() {
        let diff = "diff --git a/a.yaml b/a.yaml\nindex 1..2 100644\n--- a/a.yaml\n+++ b/a.yaml\n@@ -1 +1 @@\n-x\n+y\n\
                    diff --git a/b.yaml b/b.yaml\nnew file mode 100644\n--- /dev/null\n+++ b/b.yaml\n@@ -0,0 +1,2 @@\n+p\n+q\n\
                    diff --git a/c.yaml b/c.yaml\ndeleted file mode 100644\n--- a/c.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-z\n";
        let mut h = Hunks::default();
        h.add_git_diff(diff);
        assert_eq!(h.of("a.yaml"), &[Hunk { start: 1, end: 1 }]);
        assert_eq!(h.of("b.yaml"), &[Hunk { start: 1, end: 2 }]);
        assert!(h.of("c.yaml").is_empty());
        assert_eq!(h.len(), 2);
    }
}
