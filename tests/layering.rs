//! The dependency direction written in ARCHITECTURE.md ("Layers"), checked against the code.
//!
//! Every `crate::` path in `src/**/*.rs` outside `#[cfg(test)]` items (comments and string
//! literals ignored) is an edge between two top-level modules. An edge may point into the same
//! layer or a layer closer to the core, never outward; top-level modules form no cycle; and modules
//! of layers marked pure do no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Edges that break the rules today, each with who removes it. Keep this list empty.
const PENDING: &[(&str, &str, &str)] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Layer {
    name: String,
    modules: Vec<String>,
    pure: bool,
}

/// The layer table of ARCHITECTURE.md: `| N. name | `a` `b` | I/O |`, core first.
fn layers() -> Vec<Layer> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("read ARCHITECTURE.md");
    let section = text.split("\n## Layers\n").nth(1).expect("ARCHITECTURE.md has a `## Layers` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut out = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| ") && l.as_bytes().get(2).is_some_and(u8::is_ascii_digit)) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 3, "layer row with three cells: {line}");
        let modules: Vec<String> = cells[1].split('`').skip(1).step_by(2).map(str::to_string).collect();
        assert!(!modules.is_empty(), "a layer without modules: {line}");
        out.push(Layer { name: cells[0].to_string(), modules, pure: cells[2].starts_with("none") });
    }
    assert!(out.len() >= 3, "the layer table was not found: {section}");
    out
}

/// Source text with comments, string and char literals blanked (lengths and newlines kept).
fn strip_comments_and_strings(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if c[i] == 'r' && (next == Some('"') || (next == Some('#') && !ident_char(c.get(i.wrapping_sub(1))))) {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') || ident_char(c.get(i.wrapping_sub(1))) {
                out.push(c[i]);
                i += 1;
                continue;
            }
            let end: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let mut k = j + 1;
            while k < c.len() && !c[k..].starts_with(&end.chars().collect::<Vec<_>>()) {
                k += 1;
            }
            let stop = (k + end.chars().count()).min(c.len());
            for ch in &c[i..stop] {
                blank(&mut out, *ch);
            }
            i = stop;
        } else if c[i] == '"' {
            blank(&mut out, c[i]);
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            if i < c.len() {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '\'' && (next == Some('\\') || c.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\''), not a lifetime.
            let mut j = i + 1;
            if c.get(j) == Some(&'\\') {
                j += 2;
            } else {
                j += 1;
            }
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            for ch in &c[i..=j.min(c.len() - 1)] {
                blank(&mut out, *ch);
            }
            i = j + 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// Code with every `#[cfg(test)]` item removed, and the names of `#[cfg(test)] mod x;` files.
fn strip_test_items(code: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(code.len());
    let mut test_mods = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at + "#[cfg(test)]".len()..];
        // The item ends at its first `;` or with the block its first `{` opens.
        let b = item.as_bytes();
        let mut i = 0;
        let mut depth = 0usize;
        let mut end = item.len();
        while i < b.len() {
            match b[i] {
                b';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        let head = item[..end].trim();
        if let Some(name) = head.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            test_mods.push(name.trim().to_string());
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_mods)
}

/// Top-level modules named by `crate::` paths (`crate::a::b`, `crate::{a, b::c}`, `$crate::a`).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if ident_char(code[..at].chars().last().as_ref()) {
            continue; // `my_crate::`, not `crate::`
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && depth == 1 && (c.is_alphabetic() || c == '_') => {
                        let name: String =
                            group[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        out.insert(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("read src").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/github/api.rs` → `github`); `None` for the crate root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy().to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

struct Code {
    /// module → (imported module → a file that imports it).
    edges: BTreeMap<String, BTreeMap<String, String>>,
    /// module → files with their test-free code.
    files: BTreeMap<String, Vec<(String, String)>>,
}

fn read_code() -> Code {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut texts: BTreeMap<PathBuf, (String, Vec<String>)> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source");
        texts.insert(f.clone(), strip_test_items(&strip_comments_and_strings(&text)));
    }
    // Files that are test-only modules (`#[cfg(test)] mod x;`) are left out entirely.
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    for (f, (_, mods)) in &texts {
        let dir = if f.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs" || n == "main.rs") {
            f.parent().map(Path::to_path_buf)
        } else {
            f.parent().map(|p| p.join(f.file_stem().unwrap_or_default()))
        };
        for m in mods {
            if let Some(d) = &dir {
                test_only.insert(d.join(format!("{m}.rs")));
                test_only.insert(d.join(m).join("mod.rs"));
            }
        }
    }
    let mut code = Code { edges: BTreeMap::new(), files: BTreeMap::new() };
    for (f, (text, _)) in texts {
        if test_only.contains(&f) {
            continue;
        }
        let Some(module) = module_of(&src, &f) else { continue };
        let shown = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
        for target in crate_paths(&text) {
            if target != module {
                code.edges.entry(module.clone()).or_default().entry(target).or_insert_with(|| shown.clone());
            }
        }
        code.edges.entry(module.clone()).or_default();
        code.files.entry(module).or_default().push((shown, text));
    }
    code
}

fn pending(from: &str, to: &str) -> bool {
    PENDING.iter().any(|(f, t, _)| *f == from && *t == to)
}

#[test]
fn every_module_has_a_layer() {
    let layers = layers();
    let placed: Vec<&String> = layers.iter().flat_map(|l| &l.modules).collect();
    let unique: BTreeSet<&String> = placed.iter().copied().collect();
    assert_eq!(placed.len(), unique.len(), "a module is in two layers");
    let code = read_code();
    let modules: BTreeSet<&String> = code.files.keys().collect();
    let missing: Vec<&&String> = modules.iter().filter(|m| !unique.contains(**m)).collect();
    assert!(missing.is_empty(), "modules missing from the layer table in ARCHITECTURE.md: {missing:?}");
    let gone: Vec<&&String> = unique.iter().filter(|m| !modules.contains(**m)).collect();
    assert!(gone.is_empty(), "the layer table names modules that do not exist: {gone:?}");
}

#[test]
fn no_module_imports_an_outer_layer() {
    let layers = layers();
    let layer_of: BTreeMap<&str, usize> =
        layers.iter().enumerate().flat_map(|(i, l)| l.modules.iter().map(move |m| (m.as_str(), i))).collect();
    let code = read_code();
    let mut wrong = Vec::new();
    let mut used_pending = BTreeSet::new();
    for (from, targets) in &code.edges {
        for (to, file) in targets {
            let (Some(&lf), Some(&lt)) = (layer_of.get(from.as_str()), layer_of.get(to.as_str())) else { continue };
            if lt > lf {
                if pending(from, to) {
                    used_pending.insert((from.clone(), to.clone()));
                    continue;
                }
                wrong.push(format!(
                    "{file}: `{from}` ({}) imports `{to}` ({}), a layer further out",
                    layers[lf].name, layers[lt].name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "dependency direction (ARCHITECTURE.md, Layers):\n{}", wrong.join("\n"));
    for (f, t, why) in PENDING {
        let still = code.edges.get(*f).is_some_and(|m| m.contains_key(*t));
        assert!(still, "`{f}` no longer imports `{t}`: remove it from PENDING in tests/layering.rs ({why})");
    }
}

#[test]
fn top_level_modules_form_no_cycle() {
    let code = read_code();
    let graph: BTreeMap<&str, Vec<&str>> = code
        .edges
        .iter()
        .map(|(f, ts)| (f.as_str(), ts.keys().map(String::as_str).filter(|t| !pending(f, t)).collect()))
        .collect();
    // Depth-first search; a back edge closes a cycle.
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(n, 1);
        stack.push(n);
        for &m in graph.get(n).map(Vec::as_slice).unwrap_or_default() {
            match state.get(m).copied().unwrap_or(0) {
                0 => visit(m, graph, state, stack, cycles),
                1 => {
                    let from = stack.iter().position(|s| *s == m).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[from..].to_vec();
                    cycle.push(m);
                    cycles.push(cycle.join(" → "));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n, 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for &n in graph.keys() {
        if !state.contains_key(n) {
            visit(n, &graph, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles between top-level modules:\n{}", cycles.join("\n"));
}

#[test]
fn pure_layers_do_no_io() {
    const IO: &[&str] = &[
        "std::fs",
        "std::process",
        "std::net",
        "std::env",
        "SystemTime",
        "Instant::now",
        "stdin()",
        "stdout()",
        "stderr()",
        "println!",
        "eprintln!",
        "print!",
        "eprint!",
        "tokio::",
    ];
    let layers = layers();
    let code = read_code();
    let mut wrong = Vec::new();
    for layer in layers.iter().filter(|l| l.pure) {
        for m in &layer.modules {
            for (file, text) in code.files.get(m).map(Vec::as_slice).unwrap_or_default() {
                for needle in IO {
                    if text.contains(needle) {
                        wrong.push(format!("{file}: `{needle}` in `{m}` ({})", layer.name));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "I/O in a pure layer (ARCHITECTURE.md, Layers):\n{}", wrong.join("\n"));
}

/// The checker itself: comments, strings and test items are not imports.
#[test]
fn the_scanner_reads_only_code() {
    let src = r##"
use crate::model::Object; // crate::report in a comment
use crate::{audit::{self, Audit}, yaml};
/* crate::github in a block comment */
const S: &str = "crate::cli in a string";
const R: &str = r#"crate::fix "in" a raw string"#;
const C: char = '"';
fn f<'a>(x: &'a str) -> &'a str { let _ = $crate::rules::find; x }
#[cfg(test)]
mod tests {
    use crate::cost::money;
    fn g() { let _ = "}"; }
}
#[cfg(test)]
use crate::diff::Diff;
#[cfg(test)]
mod helpers;
fn after() { crate::graph::Graph::default(); }
"##;
    let (code, test_mods) = strip_test_items(&strip_comments_and_strings(src));
    let found: Vec<String> = crate_paths(&code).into_iter().collect();
    assert_eq!(found, ["audit", "graph", "model", "rules", "yaml"]);
    assert_eq!(test_mods, ["helpers"]);
}

/// The bodies of `async fn`s in `code`, with their names.
fn async_bodies(code: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("async fn ") {
        let rest = &code[at + "async fn ".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let Some(open) = rest.find('{') else { continue };
        let mut depth = 0;
        for (i, ch) in rest[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push((name.clone(), rest[open..open + i + 1].to_string()));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// `code` without the arguments of `blocking(...)` calls: what runs on the async thread itself.
fn outside_blocking(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("blocking(") {
        let open = at + "blocking".len();
        out.push_str(&rest[..open]);
        let mut depth = 0;
        let mut end = rest.len();
        for (i, ch) in rest[open..].char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Async code in `github/` only waits on the network: git, files and audits go through
/// `github::blocking` (ARCHITECTURE.md, github invariant).
#[test]
fn async_github_code_hands_blocking_work_to_the_pool() {
    const BLOCKING: &[&str] = &[
        "std::fs",
        "std::process",
        "crate::git::",
        "audit::run",
        "fix::enrich",
        "fix::fix_files",
        "fixpr::compute",
        "read_files_at(",
        "artifact::read(",
        "artifact::write(",
        "read_event(",
        "resolve_config(",
        " analyze(",
        "local_hunks(",
        " load(",
        "append_step_summary(",
        "write_outputs(",
    ];
    let code = read_code();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (file, text) in code.files.get("github").map(Vec::as_slice).unwrap_or_default() {
        for (name, body) in async_bodies(text) {
            checked += 1;
            let own = outside_blocking(&body);
            for needle in BLOCKING {
                if own.contains(needle) {
                    wrong.push(format!("{file}: async fn {name} calls `{}` outside `blocking(..)`", needle.trim()));
                }
            }
        }
    }
    assert!(checked >= 10, "found only {checked} async fns in src/github");
    assert!(wrong.is_empty(), "blocking work in async code:\n{}", wrong.join("\n"));
    // The checker itself.
    let sample = "async fn f() { let x = blocking(move || std::fs::read(p)).await; std::fs::write(q, x); }";
    let bodies = async_bodies(sample);
    assert_eq!(bodies.len(), 1);
    let own = outside_blocking(&bodies[0].1);
    assert_eq!(own.matches("std::fs").count(), 1, "{own}");
}
