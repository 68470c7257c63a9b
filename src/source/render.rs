//! Rendering Kustomize targets into objects that know where their fields are set.
//!
//! A target is built through a generated wrapper kustomization (in a temporary directory, never in
//! the user's tree) that switches on origin and transformer annotations; the annotations are read
//! into each object's [`Provenance`] and removed before rules run. The tool runs with a timeout and
//! a clean environment (only `PATH`; `HOME` is the temporary directory).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::provenance::{self, Files, Paths};
use super::{Input, InputError};
use crate::model::{Object, Origin, Provenance, Rendered};
use crate::yaml::Limits;

/// How rendering runs.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Find kustomizations (and charts) in the directories walked.
    pub discover: bool,
    /// Longest a tool may run per target.
    pub timeout: Duration,
    /// Targets to render besides (or, without discovery, instead of) the ones found.
    pub targets: Vec<Target>,
}

/// A target listed in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The kustomization or chart directory.
    pub path: PathBuf,
    /// Helm values files, in order, after the chart's `values.yaml`.
    pub values: Vec<PathBuf>,
    /// Helm `--set` entries.
    pub set: Vec<String>,
    /// Helm release name (default: the chart directory's name).
    pub release: Option<String>,
    /// Helm release namespace.
    pub namespace: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions { discover: true, timeout: Duration::from_secs(120), targets: Vec::new() }
    }
}

/// A program that builds kustomizations, and the arguments before the directory.
#[derive(Debug, Clone)]
pub struct Tool {
    /// Path of the program.
    pub program: PathBuf,
    /// `["build"]` for kustomize, `["kustomize"]` for kubectl.
    pub args: Vec<&'static str>,
    /// `kustomize` or `kubectl`.
    pub name: &'static str,
}

/// `kustomize` if it is on `PATH`, else `kubectl` (its built-in `kubectl kustomize`).
#[must_use]
pub fn kustomize_tool() -> Option<Tool> {
    if let Some(p) = which("kustomize") {
        return Some(Tool { program: p, args: vec!["build"], name: "kustomize" });
    }
    which("kubectl").map(|p| Tool { program: p, args: vec!["kustomize"], name: "kubectl" })
}

/// Looks a program up on `PATH`.
#[must_use]
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

/// The error for a target when no tool can build it.
#[must_use]
pub fn missing_kustomize(target: &Path) -> InputError {
    InputError {
        source: target.display().to_string(),
        line: None,
        column: None,
        message:
            "a Kustomize target, but neither `kustomize` nor `kubectl` is on PATH, so it was not built or audited; \
                  install kubectl (https://kubernetes.io/docs/tasks/tools/) or kustomize \
                  (https://kubectl.docs.kubernetes.io/installation/kustomize/)"
                .to_string(),
    }
}

static WRAPPERS: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// The directory (canonical).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Creates one under the system's temporary directory.
    ///
    /// # Errors
    /// When it cannot be created.
    pub fn new() -> std::io::Result<TempDir> {
        let base = std::env::temp_dir();
        loop {
            let n = WRAPPERS.fetch_add(1, Ordering::Relaxed);
            let d = base.join(format!("clustergpt-render-{}-{n}", std::process::id()));
            match std::fs::create_dir(&d) {
                Ok(()) => return Ok(TempDir(std::fs::canonicalize(&d)?)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Builds one Kustomize target and adds its objects (with provenance) to `input`.
pub fn kustomize(target: &Path, tool: &Tool, opts: &RenderOptions, limits: Limits, input: &mut Input) {
    let shown = target.display().to_string();
    let err = |message: String| InputError { source: shown.clone(), line: None, column: None, message };
    let canonical = match std::fs::canonicalize(target) {
        Ok(c) => c,
        Err(e) => return input.errors.push(err(format!("cannot read: {e}"))),
    };
    let wrapper = match TempDir::new() {
        Ok(w) => w,
        Err(e) => return input.errors.push(err(format!("cannot create a temporary directory to build it: {e}"))),
    };
    let rel = provenance::relative(&wrapper.0, &canonical);
    let text = format!(
        "# Generated by clustergpt to build {} with origin annotations.\nresources:\n  - {}\nbuildMetadata: [originAnnotations, transformerAnnotations]\n",
        canonical.display(),
        serde_json::Value::String(rel.display().to_string())
    );
    if let Err(e) = std::fs::write(wrapper.0.join("kustomization.yaml"), text) {
        return input.errors.push(err(format!("cannot write the wrapper kustomization: {e}")));
    }
    let mut args: Vec<String> = tool.args.iter().map(|a| (*a).to_string()).collect();
    args.push(wrapper.0.display().to_string());
    let out = match run(&tool.program, &args, &wrapper.0, opts.timeout) {
        Ok(o) => o,
        // The tool names the wrapper; the user knows the target.
        Err(e) => {
            let e = e.replace(&wrapper.0.display().to_string(), &shown);
            return input.errors.push(err(format!("`{} {} {shown}` failed: {e}", tool.name, tool.args.join(" "))));
        }
    };
    let before = input.objects.len();
    input.files += 1;
    super::load_text(&shown, out, limits, input);
    let paths = Paths { wrapper: wrapper.0.clone(), target: canonical, given: target.to_path_buf() };
    let mut files = Files::default();
    for o in &mut input.objects[before..] {
        let Origin::File { document, .. } = o.origin else { continue };
        let mut body = std::mem::take(&mut o.body);
        let origin = take_annotation(&mut body, provenance::ORIGIN);
        let steps = take_annotation(&mut body, provenance::TRANSFORMATIONS);
        let traced = provenance::trace(&body, origin.as_deref(), steps.as_deref(), &paths, &mut files);
        let mut obj = Object::from_body(body, o.origin.clone());
        obj.provenance = Some(Arc::new(Provenance {
            rendered: Rendered { tool: "kustomize".to_string(), target: shown.clone(), document },
            object: traced.object,
            fields: traced.fields,
            edits: traced.edits,
        }));
        *o = obj;
    }
}

/// Removes an annotation (and an emptied `annotations` map), returning its value.
fn take_annotation(body: &mut Value, key: &str) -> Option<String> {
    let meta = body.get_mut("metadata")?.as_object_mut()?;
    let ann = meta.get_mut("annotations")?.as_object_mut()?;
    let v = ann.remove(key)?;
    if ann.is_empty() {
        meta.remove("annotations");
    }
    v.as_str().map(str::to_string)
}

/// Runs a program with a clean environment and a timeout; its standard output, or what failed.
pub(crate) fn run(program: &Path, args: &[String], home: &Path, timeout: Duration) -> Result<String, String> {
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear().env("HOME", home).current_dir(home);
    if let Some(p) = std::env::var_os("PATH") {
        cmd.env("PATH", p);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let reader = |s: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut s) = s {
                let _ = s.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = reader(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        let msg = String::from_utf8_lossy(&stderr);
        let msg: String = msg.trim().chars().take(2000).collect();
        return Err(format!("{status}: {msg}"));
    }
    String::from_utf8(stdout).map_err(|_| "output is not UTF-8".to_string())
}

/// The error for a chart when `helm` is not on PATH.
#[must_use]
pub fn missing_helm(chart: &Path) -> InputError {
    InputError {
        source: chart.display().to_string(),
        line: None,
        column: None,
        message: "a Helm chart, but `helm` is not on PATH, so it was not rendered or audited; install helm \
                  (https://helm.sh/docs/intro/install/) or list the chart's rendered output instead \
                  (`helm template <release> <chart> | clustergpt analyze -`)"
            .to_string(),
    }
}

/// The release name a chart is rendered with: the target's, else the chart directory's name.
#[must_use]
pub fn release_name(target: &Target) -> String {
    target.release.clone().unwrap_or_else(|| {
        std::fs::canonicalize(&target.path)
            .ok()
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().to_lowercase()))
            .unwrap_or_else(|| "release".to_string())
    })
}

/// Renders a chart with `helm template` and adds its objects (with provenance) to `input`.
pub fn helm(chart: &Path, helm: &Path, target: &Target, opts: &RenderOptions, limits: Limits, input: &mut Input) {
    let shown = chart.display().to_string();
    let err = |message: String| InputError { source: shown.clone(), line: None, column: None, message };
    let home = match TempDir::new() {
        Ok(w) => w,
        Err(e) => return input.errors.push(err(format!("cannot create a temporary directory to render it: {e}"))),
    };
    let release = release_name(target);
    // helm runs in the temporary directory: relative paths would name files there.
    let absolute = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()).display().to_string();
    let mut args = vec!["template".to_string(), release, absolute(chart), "--include-crds".to_string()];
    if let Some(ns) = &target.namespace {
        args.extend(["--namespace".to_string(), ns.clone()]);
    }
    for v in &target.values {
        args.extend(["--values".to_string(), absolute(v)]);
    }
    for s in &target.set {
        args.extend(["--set".to_string(), s.clone()]);
    }
    match run(helm, &args, &home.0, opts.timeout) {
        Ok(text) => helm_output(chart, text, &target.values, limits, input),
        Err(e) => input.errors.push(err(format!("`helm template` failed: {e}"))),
    }
}

/// Reads `helm template` output of `chart` rendered with the values files `values` (after the
/// chart's `values.yaml`): objects with provenance to the values keys and templates.
pub fn helm_output(chart: &Path, text: String, values: &[PathBuf], limits: Limits, input: &mut Input) {
    let shown = chart.display().to_string();
    let Ok(canonical) = std::fs::canonicalize(chart) else {
        return input.errors.push(InputError {
            source: shown,
            line: None,
            column: None,
            message: "cannot read the chart directory".to_string(),
        });
    };
    let paths = super::helm::paths(&canonical, chart);
    let mut files = vec![(canonical.join("values.yaml"), paths.display(&canonical.join("values.yaml")))];
    for v in values {
        let abs = std::fs::canonicalize(v).unwrap_or_else(|_| v.clone());
        files.push((abs, v.display().to_string()));
    }
    let merged = super::helm::Values::read(&files);
    let sources = super::helm::sources(&text);
    let before = input.objects.len();
    input.files += 1;
    super::load_text(&shown, text, limits, input);
    let mut templates: std::collections::BTreeMap<PathBuf, Option<String>> = std::collections::BTreeMap::new();
    for o in &mut input.objects[before..] {
        let Origin::File { document, .. } = o.origin else { continue };
        let end = o.doc_range.map_or(usize::MAX, |r| r.1);
        let source = sources.iter().rev().find(|(at, _)| *at < end).map(|(_, s)| s.clone());
        let (object, traced) = match source {
            Some(src) => {
                let abs = super::helm::template_path(&canonical, &src);
                let file = paths.display(&abs);
                let template = templates.entry(abs.clone()).or_insert_with(|| std::fs::read_to_string(&abs).ok());
                let traced =
                    template.as_deref().map(|t| super::helm::trace(&o.body, t, &file, &merged)).unwrap_or_default();
                (Some(crate::model::SourcePos { file, line: None, column: None }), traced)
            }
            None => (None, super::helm::Traced::default()),
        };
        let mut obj = Object::from_body(std::mem::take(&mut o.body), o.origin.clone());
        obj.provenance = Some(Arc::new(Provenance {
            rendered: Rendered { tool: "helm".to_string(), target: shown.clone(), document },
            object,
            fields: traced.fields,
            edits: traced.edits,
        }));
        *o = obj;
    }
}
