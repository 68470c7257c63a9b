//! A loopback GitHub for the `pr` tests: a wiremock server whose single responder keeps the state
//! of one pull request (files, review comments, issue comments, check runs) the way the REST API
//! shapes it, checks review anchors against the hunks as GitHub does (422 outside them), and can
//! be told to fail chosen requests. wiremock records every request for the assertions.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use clustergpt::github::api::{Clock, RetryPolicy};
use clustergpt::github::context::ActionsEnv;
use clustergpt::github::{Inputs, Outcome, PrArgs};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const OWNER: &str = "acme";
pub const REPO: &str = "shop";
pub const PR: u64 = 7;
pub const BOT: &str = "github-actions[bot]";
pub const TOKEN: &str = "ghs_TESTTOKEN0123456789abcdef";

/// A fault injected into the fake: the first `times` requests matching method and path suffix get
/// this answer instead.
pub struct Fault {
    pub method: &'static str,
    pub path_contains: String,
    pub times: usize,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    /// Carry the request out first, then answer with the fault (a lost answer).
    pub after: bool,
}

impl Fault {
    pub fn new(method: &'static str, path_contains: &str, status: u16) -> Fault {
        Fault {
            method,
            path_contains: path_contains.to_string(),
            times: 1,
            status,
            headers: Vec::new(),
            body: json!({ "message": format!("injected {status}") }),
            after: false,
        }
    }

    pub fn times(mut self, n: usize) -> Fault {
        self.times = n;
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Fault {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn body(mut self, b: Value) -> Fault {
        self.body = b;
        self
    }

    pub fn after(mut self) -> Fault {
        self.after = true;
        self
    }
}

#[derive(Default)]
pub struct State {
    pub head_sha: String,
    pub files: Vec<Value>,
    pub review_comments: Vec<Value>,
    pub issue_comments: Vec<Value>,
    pub check_runs: Vec<Value>,
    pub reviews: Vec<Value>,
    pub minimized: Vec<String>,
    pub next_id: u64,
    pub faults: VecDeque<Fault>,
    /// Every write answers 403 (a fork's read-only token).
    pub deny_writes: bool,
    /// What happened, `METHOD path`, in order.
    pub log: Vec<String>,
}

#[derive(Clone)]
pub struct Fake(pub Arc<Mutex<State>>);

fn hunks_of(patch: &str) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for line in patch.lines() {
        let Some(rest) = line.strip_prefix("@@ -") else { continue };
        let Some((ranges, _)) = rest.split_once(" @@") else { continue };
        let Some((_, new)) = ranges.split_once(" +") else { continue };
        let (start, len) = match new.split_once(',') {
            Some((s, l)) => (s.parse::<u64>().unwrap(), l.parse::<u64>().unwrap()),
            None => (new.parse::<u64>().unwrap(), 1),
        };
        if len > 0 {
            out.push((start, start + len - 1));
        }
    }
    out
}

impl Fake {
    fn id(st: &mut State) -> u64 {
        st.next_id += 1;
        st.next_id
    }

    fn anchor_ok(st: &State, c: &Value) -> bool {
        let path = c["path"].as_str().unwrap_or_default();
        let line = c["line"].as_u64().unwrap_or(0);
        let start = c["start_line"].as_u64().unwrap_or(line);
        if c["side"] != "RIGHT" {
            return false;
        }
        st.files
            .iter()
            .filter(|f| f["filename"] == path)
            .any(|f| hunks_of(f["patch"].as_str().unwrap_or_default()).iter().any(|(a, b)| *a <= start && line <= *b))
    }
}

fn ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

impl Respond for Fake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        let fault = {
            let mut st = self.0.lock().unwrap();
            st.log.push(format!("{method} {path}"));
            match st.faults.iter().position(|f| f.method == method && path.contains(&f.path_contains)) {
                Some(i) => {
                    let f = &mut st.faults[i];
                    f.times -= 1;
                    let mut t = ResponseTemplate::new(f.status).set_body_json(f.body.clone());
                    for (k, v) in &f.headers {
                        t = t.insert_header(k.as_str(), v.as_str());
                    }
                    let after = f.after;
                    if f.times == 0 {
                        st.faults.remove(i);
                    }
                    Some((t, after))
                }
                None => None,
            }
        };
        match fault {
            Some((t, true)) => {
                let _ = self.handle(req);
                t
            }
            Some((t, false)) => t,
            None => self.handle(req),
        }
    }
}

impl Fake {
    fn handle(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        let query = req.url.query().unwrap_or_default().to_string();
        if st.deny_writes && method != "GET" {
            return ResponseTemplate::new(403).set_body_json(json!({
                "message": "Resource not accessible by integration",
                "documentation_url": "https://docs.github.com/rest"
            }));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let page = query.split('&').find_map(|kv| kv.strip_prefix("page=")).unwrap_or("1").to_string();
        let repo = format!("/repos/{OWNER}/{REPO}");
        let rest = path.strip_prefix(&repo).unwrap_or(&path).to_string();
        let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("GET", ["pulls", n]) if *n == PR.to_string() => {
                ok(json!({ "number": PR, "head": { "sha": st.head_sha }, "base": { "sha": "0".repeat(40) } }))
            }
            ("GET", ["pulls", _, "files"]) => ok(if page == "1" { json!(st.files) } else { json!([]) }),
            ("GET", ["pulls", _, "comments"]) => ok(if page == "1" { json!(st.review_comments) } else { json!([]) }),
            ("POST", ["pulls", _, "reviews"]) => {
                let comments = body["comments"].as_array().cloned().unwrap_or_default();
                if body["commit_id"] != st.head_sha.as_str() {
                    return ResponseTemplate::new(422)
                        .set_body_json(json!({"message": "commit_id is not part of the pull request"}));
                }
                if let Some(bad) = comments.iter().find(|c| !Fake::anchor_ok(&st, c)) {
                    let _ = bad;
                    return ResponseTemplate::new(422).set_body_json(json!({
                        "message": "Unprocessable Entity",
                        "errors": ["Line could not be resolved"]
                    }));
                }
                let review_id = Fake::id(&mut st);
                for c in comments {
                    let id = Fake::id(&mut st);
                    st.review_comments.push(json!({
                        "id": id,
                        "pull_request_review_id": review_id,
                        "user": { "login": BOT, "type": "Bot" },
                        "body": c["body"],
                        "path": c["path"],
                        "line": c["line"],
                        "start_line": c.get("start_line").cloned().unwrap_or(Value::Null),
                        "side": "RIGHT",
                    }));
                }
                st.reviews.push(body.clone());
                ok(json!({ "id": review_id, "state": "COMMENTED" }))
            }
            ("DELETE", ["pulls", "comments", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                let before = st.review_comments.len();
                st.review_comments.retain(|c| c["id"] != id);
                if st.review_comments.len() == before {
                    ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))
                } else {
                    ResponseTemplate::new(204)
                }
            }
            ("GET", ["issues", _, "comments"]) => ok(if page == "1" { json!(st.issue_comments) } else { json!([]) }),
            ("POST", ["issues", _, "comments"]) => {
                let id = Fake::id(&mut st);
                let c = json!({
                    "id": id,
                    "node_id": format!("IC_{id}"),
                    "user": { "login": BOT, "type": "Bot" },
                    "body": body["body"],
                    "html_url": format!("https://github.test/{OWNER}/{REPO}/pull/{PR}#issuecomment-{id}"),
                });
                st.issue_comments.push(c.clone());
                ResponseTemplate::new(201).set_body_json(c)
            }
            ("PATCH", ["issues", "comments", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                match st.issue_comments.iter_mut().find(|c| c["id"] == id) {
                    Some(c) => {
                        c["body"] = body["body"].clone();
                        ok(c.clone())
                    }
                    None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
                }
            }
            ("DELETE", ["issues", "comments", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                st.issue_comments.retain(|c| c["id"] != id);
                ResponseTemplate::new(204)
            }
            ("POST", ["check-runs"]) => {
                let id = Fake::id(&mut st);
                let mut run = body.clone();
                run["id"] = json!(id);
                st.check_runs.push(run.clone());
                ResponseTemplate::new(201).set_body_json(run)
            }
            ("PATCH", ["check-runs", id]) => {
                let id: u64 = id.parse().unwrap_or(0);
                match st.check_runs.iter_mut().find(|r| r["id"] == id) {
                    Some(r) => {
                        let mut all = r["output"]["annotations"].as_array().cloned().unwrap_or_default();
                        all.extend(body["output"]["annotations"].as_array().cloned().unwrap_or_default());
                        r["output"]["annotations"] = json!(all);
                        if let Some(c) = body.get("conclusion") {
                            r["conclusion"] = c.clone();
                            r["status"] = body["status"].clone();
                        }
                        ok(r.clone())
                    }
                    None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
                }
            }
            ("GET", ["commits", _, "check-runs"]) => {
                ok(json!({ "total_count": st.check_runs.len(), "check_runs": st.check_runs }))
            }
            ("POST", ["graphql"]) | ("POST", ["api", "graphql"]) if path.ends_with("graphql") => {
                let id = body["variables"]["id"].as_str().unwrap_or_default().to_string();
                st.minimized.push(id);
                ok(json!({ "data": { "minimizeComment": { "minimizedComment": { "isMinimized": true } } } }))
            }
            _ => ResponseTemplate::new(404)
                .set_body_json(json!({ "message": format!("fake: no route {method} {path}") })),
        }
    }
}

/// A git repository with a base and a head commit.
pub struct Repo {
    pub dir: tempfile::TempDir,
    pub base: String,
    pub head: String,
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        // Fixed dates: the same files give the same commit ids in every repository.
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// Makes a repository: `base` files committed, then `head` files written over them and committed.
pub fn repo(base: &[(&str, &str)], head: &[(&str, &str)]) -> Repo {
    // Repositories live in the target's temporary directory, never under /tmp.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let write = |files: &[(&str, &str)]| {
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
    };
    write(base);
    std::fs::write(dir.path().join("README.md"), "demo\n").unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "base"]);
    let base_sha = git(dir.path(), &["rev-parse", "HEAD"]).trim().to_string();
    write(head);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-qm", "head"]);
    let head_sha = git(dir.path(), &["rev-parse", "HEAD"]).trim().to_string();
    Repo { dir, base: base_sha, head: head_sha }
}

/// The PR's files as `pulls/{n}/files` lists them, from `git diff`.
pub fn pr_files(r: &Repo) -> Vec<Value> {
    let names = git(r.dir.path(), &["diff", "--name-status", &r.base, &r.head]);
    let mut out = Vec::new();
    for line in names.lines() {
        let (status, name) = line.split_once('\t').unwrap();
        let diff = git(r.dir.path(), &["diff", "-U3", &r.base, &r.head, "--", name]);
        let patch: String = diff.lines().skip_while(|l| !l.starts_with("@@")).map(|l| format!("{l}\n")).collect();
        let status = match status {
            "A" => "added",
            "D" => "removed",
            _ => "modified",
        };
        out.push(json!({ "filename": name, "status": status, "patch": patch.trim_end_matches('\n') }));
    }
    out
}

pub struct Harness {
    pub server: MockServer,
    pub fake: Fake,
    pub repo: Repo,
    pub clock: Clock,
    pub rt: tokio::runtime::Runtime,
}

impl Harness {
    pub fn new(base: &[(&str, &str)], head: &[(&str, &str)]) -> Harness {
        clustergpt::github::api::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let repo = repo(base, head);
        let fake = Fake(Arc::new(Mutex::new(State {
            head_sha: repo.head.clone(),
            files: pr_files(&repo),
            next_id: 1000,
            ..State::default()
        })));
        let server = rt.block_on(async {
            let s = MockServer::start().await;
            Mock::given(any()).respond_with(fake.clone()).mount(&s).await;
            s
        });
        Harness { server, fake, repo, clock: Clock::virtual_at(1_700_000_000), rt }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.fake.0.lock().unwrap()
    }

    pub fn inputs(&self) -> Inputs {
        Inputs {
            env: ActionsEnv {
                repository: Some(format!("{OWNER}/{REPO}")),
                api_url: Some(self.server.uri()),
                ..ActionsEnv::default()
            },
            token: Some(TOKEN.to_string()),
            clock: self.clock.clone(),
            retry: RetryPolicy { write_interval: std::time::Duration::ZERO, ..RetryPolicy::default() },
            cwd: self.repo.dir.path().to_path_buf(),
            today: "2026-01-01".to_string(),
        }
    }

    pub fn args(&self, extra: &[&str]) -> PrArgs {
        let pr = PR.to_string();
        let mut argv: Vec<String> = vec![
            "--pr".into(),
            pr,
            "--base-sha".into(),
            self.repo.base.clone(),
            "--head-sha".into(),
            self.repo.head.clone(),
            "--no-config".into(),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        argv.push("k8s".into());
        clustergpt::github::parse_args(argv).unwrap()
    }

    /// Runs `pr` with these flags; returns the outcome and what it printed.
    pub fn run_with(&self, args: &PrArgs, inputs: &Inputs) -> (Outcome, String) {
        let mut out = Vec::new();
        let outcome = self.rt.block_on(clustergpt::github::run_outcome(args, inputs, &mut out)).unwrap();
        (outcome, String::from_utf8(out).unwrap())
    }

    pub fn run(&self, extra: &[&str]) -> (Outcome, String) {
        self.run_with(&self.args(extra), &self.inputs())
    }

    /// Every request the server received: (method, path, body).
    pub fn requests(&self) -> Vec<(String, String, Value)> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                let path = match r.url.query() {
                    Some(q) => format!("{}?{q}", r.url.path()),
                    None => r.url.path().to_string(),
                };
                (r.method.as_str().to_string(), path, serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            })
            .collect()
    }

    pub fn writes(&self) -> Vec<(String, String, Value)> {
        self.requests().into_iter().filter(|(m, _, _)| m != "GET").collect()
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.repo.dir.path().join(p)
    }
}

/// A Deployment; `extra_sc` lines go into the container's securityContext.
pub fn deployment(name: &str, replicas: u32, extra_sc: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
  labels:
    app: {name}
    team: payments
    tier: frontend
    owner: sre
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      automountServiceAccountToken: false
      securityContext:
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {name}
          image: nginx:1.27.0
          securityContext:
            runAsNonRoot: true
{extra_sc}            readOnlyRootFilesystem: true
            allowPrivilegeEscalation: false
            capabilities:
              drop: [\"ALL\"]
          readinessProbe:
            httpGet: {{path: /healthz, port: 8080}}
          livenessProbe:
            httpGet: {{path: /healthz, port: 8080}}
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 128Mi
"
    )
}

/// The standard PR: replicas 1 → 3 (line 12) and `privileged: true` added (line 30).
pub fn standard() -> Harness {
    let base = deployment("web", 1, "");
    let head = deployment("web", 3, "            privileged: true\n");
    Harness::new(&[("k8s/app.yaml", &base)], &[("k8s/app.yaml", &head)])
}
