//! Throughput of the analysis core: parsing alone, and parsing plus a full audit (every rule);
//! and of `fix` (every fix, unsafe ones included, verified).
//!
//! `cargo bench --bench core -- [PATH ...]` (defaults to ../shared/corpus/real and a generated
//! 50,000-object input). Reports the median of several runs; numbers go in BENCHMARKS.md.
//! `cargo bench --bench core -- fix [compare] PATH ...` times `fix_files` in memory; with
//! `compare` it also runs the reference verification (a full re-audit per fix) and checks that
//! both give the same report.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clustergpt::audit::{self, RunOptions};
use clustergpt::config::Config;
use clustergpt::fix::{self, FixReport, Verification};
use clustergpt::source::{self, Input};
use clustergpt::yaml::Limits;

fn parse(paths: &[PathBuf]) -> Input {
    source::load_paths(paths, &mut std::io::empty(), Limits::default())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Times parsing alone, then parsing plus the audit with the default rules and with every rule.
fn bench(label: &str, paths: &[PathBuf], runs: usize) {
    let first = parse(paths);
    let (files, objects) = (first.files, first.objects.len());
    drop(first);
    let config = Config::defaults();
    let mut parse_times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let input = parse(paths);
        parse_times.push(t.elapsed());
        drop(input);
    }
    let p = median(parse_times);
    let per_s = |d: Duration| objects as f64 / d.as_secs_f64();
    println!("{label}: {files} files, {objects} objects");
    println!("  parse only:                {:>8.1} ms  {:>9.0} objects/s", p.as_secs_f64() * 1e3, per_s(p));
    for (name, select) in [("default rules", Vec::new()), ("all rules", vec!["all".to_string()])] {
        let opts = RunOptions { select, ..RunOptions::default() };
        let mut times = Vec::new();
        let mut findings = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let a = audit::run(parse(paths), &config, &opts);
            times.push(t.elapsed());
            findings = a.findings.len();
        }
        let a = median(times);
        println!(
            "  parse + audit, {name:<13} {:>8.1} ms  {:>9.0} objects/s  ({:.2}x parse, {findings} findings)",
            a.as_secs_f64() * 1e3,
            per_s(a),
            a.as_secs_f64() / p.as_secs_f64()
        );
    }
}

/// A synthetic input of `n` objects: Deployments, Services, HPAs, ConfigMaps across namespaces.
fn generated(n: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = String::new();
    for i in 0..n {
        let ns = format!("team-{}", i % 50);
        match i % 4 {
            0 => out.push_str(&format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: {ns}\n  labels: {{app: app-{i}}}\nspec:\n  replicas: {r}\n  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n      containers:\n        - name: main\n          image: registry.example.com/app:{i}\n          ports: [{{containerPort: 8080}}]\n          resources:\n            requests: {{cpu: 250m, memory: 256Mi}}\n            limits: {{memory: 512Mi}}\n          readinessProbe: {{httpGet: {{path: /ready, port: 8080}}}}\n          securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true}}\n          env:\n            - {{name: MODE, value: prod}}\n            - name: CONFIG\n              valueFrom: {{configMapKeyRef: {{name: cfg-{c}, key: k}}}}\n",
                r = 1 + i % 3,
                c = i + 3
            )),
            1 => out.push_str(&format!(
                "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: {ns}\nspec:\n  selector: {{app: app-{p}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n",
                p = i - 1
            )),
            2 => out.push_str(&format!(
                "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: hpa-{i}\n  namespace: {ns}\nspec:\n  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: app-{p}}}\n  minReplicas: 2\n  maxReplicas: 10\n",
                p = i - 2
            )),
            _ => out.push_str(&format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-{i}\n  namespace: {ns}\ndata:\n  k: value-{i}\n"
            )),
        }
    }
    // Split into files of 500 objects, as a repository would be.
    let docs: Vec<&str> = out.split("---\n").filter(|d| !d.is_empty()).collect();
    docs.chunks(500)
        .enumerate()
        .map(|(i, c)| {
            (format!("gen/file-{i:03}.yaml"), c.iter().map(|d| format!("---\n{d}")).collect::<String>().into_bytes())
        })
        .collect()
}

/// Times `fix_files` over the files under `paths`, as `clustergpt fix --unsafe` runs it.
fn bench_fix(paths: &[PathBuf], compare: bool) {
    let mut errors = Vec::new();
    let files: Vec<(String, String)> = source::collect_files(paths, &source::Filter::default(), &mut errors)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p.display().to_string(), t)))
        .collect();
    let config = Config::defaults();
    let opts = RunOptions::default();
    let run = |v: Verification| {
        let t = Instant::now();
        let r = fix::fix_files_with(&files, &config, &opts, true, v);
        (t.elapsed(), r)
    };
    let mut times = Vec::new();
    let mut report = FixReport::default();
    for _ in 0..3 {
        let (t, r) = run(Verification::Incremental);
        times.push(t);
        report = r;
    }
    println!(
        "fix {} files: {:.0} ms; {} applied, {} failed, {} skipped in {} files; {:?}",
        files.len(),
        median(times).as_secs_f64() * 1e3,
        report.applied.len(),
        report.failed.len(),
        report.skipped.len(),
        report.changed.len(),
        report.verification
    );
    if compare {
        let (t, full) = run(Verification::Full);
        let same = full.applied == report.applied
            && full.failed == report.failed
            && full.skipped == report.skipped
            && full.changed == report.changed
            && full.after == report.after;
        println!("  full re-audit per fix: {:.0} ms; same report: {same}", t.as_secs_f64() * 1e3);
    }
}

/// `reports [N]`: renders the Markdown, HTML and PDF reports of an audit of N findings (generated
/// objects, fixes enriched as the CLI does), and the Markdown and PDF diffs with those findings
/// new, median of 5 runs each.
fn bench_reports(n: usize) {
    use clustergpt::report::{html, markdown, pdf, view::Report};
    let dir = std::env::temp_dir().join(format!("clustergpt-bench-reports-{n}"));
    if !dir.is_dir() {
        // About 2.2 findings per generated object with the default rules.
        for (name, bytes) in generated(n / 2 + 100) {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
            }
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    let (mut a, objects) = audit::run_with_objects(parse(&[dir]), &Config::defaults(), &RunOptions::default());
    a.findings.truncate(n);
    audit::refresh_summary(&mut a);
    fix::enrich(&mut a, &objects);
    println!("reports of {} findings ({} objects)", a.findings.len(), a.summary.objects);
    let time = |name: &str, f: &dyn Fn() -> usize| {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            size = f();
            times.push(t.elapsed());
        }
        println!("  {name:<28} {:>8.1} ms  {:>6.1} MB", median(times).as_secs_f64() * 1e3, size as f64 / 1e6);
    };
    time("view model", &|| Report::of(&a).findings.len());
    time("markdown", &|| markdown::render(&a).map_or(0, |s| s.len()));
    time("html (view + render)", &|| html::render(&a).map_or(0, |s| s.len()));
    time("pdf (view + layout + fonts)", &|| pdf::render(&a, &pdf::Options::at("2026-01-01")).map_or(0, |b| b.len()));
    // The same findings as a diff's new findings (a base without findings).
    let mut base = a.clone();
    base.findings.clear();
    let d = clustergpt::diff::Diff::new(&base, &a);
    time("diff markdown", &|| clustergpt::report::diff_md::render(&d).map_or(0, |s| s.len()));
    time("diff pdf (view + layout)", &|| {
        let r = clustergpt::report::view::DiffReport::of(&d);
        pdf::render_diff(&r, &pdf::Options::at("2026-01-01")).map_or(0, |b| b.len())
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if args.first().map(String::as_str) == Some("fix") {
        let compare = args.get(1).map(String::as_str) == Some("compare");
        let paths: Vec<PathBuf> = args.iter().skip(if compare { 2 } else { 1 }).map(PathBuf::from).collect();
        bench_fix(&paths, compare);
        return;
    }
    if args.first().map(String::as_str) == Some("reports") {
        bench_reports(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(5_000));
        return;
    }
    if args.first().map(String::as_str) == Some("write-generated") {
        // `write-generated DIR N`: writes the synthetic input for whole-process timing.
        let dir = PathBuf::from(args.get(1).map_or("target/generated", String::as_str));
        let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(50_000);
        for (name, bytes) in generated(n) {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
            }
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        println!("wrote {n} objects under {}", dir.display());
        return;
    }
    if args.is_empty() {
        let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
        if corpus.is_dir() {
            bench("corpus/real", &[corpus], 15);
        } else {
            println!("corpus/real not found; skipping it");
        }
        let dir = std::env::temp_dir().join("clustergpt-bench-50k");
        if !dir.is_dir() {
            for (name, bytes) in generated(50_000) {
                let path = dir.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
                }
                std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
        }
        bench("generated 50,000 objects", &[dir], 5);
    } else {
        let paths: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
        bench(&args.join(" "), &paths, 5);
    }
}
