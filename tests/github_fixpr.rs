//! `clustergpt pr --open-fix-pr` and `clustergpt audit-issue` against a loopback GitHub that keeps
//! git data (blobs, trees, commits, refs), pull requests and issues the way the REST API shapes
//! them. Asserts the exact write sequences and idempotent reruns.
#![allow(clippy::unwrap_used)]

mod cluster_fake;
mod github_fake;
mod llm_stub;

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use clustergpt::cli::Status;
use clustergpt::github::api::{Clock, RetryPolicy};
use clustergpt::github::context::ActionsEnv;
use clustergpt::github::{Inputs, Posted};
use github_fake::{BOT, OWNER, PR, REPO, TOKEN, git, repo};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const HEAD_REF: &str = "feature/scale";
const FIX_BRANCH: &str = "clustergpt/fixes/feature/scale";

#[derive(Default)]
struct State {
    head_sha: String,
    /// sha → (tree, parent)
    commits: BTreeMap<String, (String, String)>,
    refs: BTreeMap<String, String>,
    blobs: BTreeMap<String, String>,
    pulls: Vec<Value>,
    issues: Vec<Value>,
    next: u64,
    /// Every write answers 403 (a token without `contents: write`).
    deny_writes: bool,
}

#[derive(Clone)]
struct GitFake(Arc<Mutex<State>>);

fn hash(v: &impl Hash) -> String {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" }))
}

impl Respond for GitFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        let query: BTreeMap<String, String> =
            req.url.query_pairs().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if st.deny_writes && method != "GET" {
            return ResponseTemplate::new(403)
                .set_body_json(json!({ "message": "Resource not accessible by integration" }));
        }
        let prefix = format!("/repos/{OWNER}/{REPO}/");
        let Some(rest) = path.strip_prefix(&prefix) else { return not_found() };
        let page1 = query.get("page").is_none_or(|p| p == "1");
        match (method.as_str(), rest) {
            ("GET", r) if r == format!("pulls/{PR}") => ok(json!({
                "number": PR,
                "head": { "sha": st.head_sha, "ref": HEAD_REF, "repo": { "full_name": format!("{OWNER}/{REPO}") } },
                "base": { "sha": "0".repeat(40), "ref": "main", "repo": { "full_name": format!("{OWNER}/{REPO}") } },
            })),
            ("GET", "pulls") => {
                let head = query.get("head").cloned().unwrap_or_default();
                let state = query.get("state").cloned().unwrap_or_default();
                let list: Vec<Value> = st
                    .pulls
                    .iter()
                    .filter(|p| {
                        format!("{OWNER}:{}", p["head"]["ref"].as_str().unwrap()) == head
                            && p["state"] == state.as_str()
                    })
                    .cloned()
                    .collect();
                ok(if page1 { json!(list) } else { json!([]) })
            }
            ("POST", "pulls") => {
                st.next += 1;
                let n = st.next;
                let pr = json!({
                    "number": n, "state": "open", "title": body["title"], "body": body["body"],
                    "head": { "ref": body["head"] }, "base": { "ref": body["base"] },
                    "user": { "login": BOT },
                });
                st.pulls.push(pr.clone());
                ResponseTemplate::new(201).set_body_json(pr)
            }
            ("PATCH", r) if r.starts_with("pulls/") => {
                let n: u64 = r["pulls/".len()..].parse().unwrap();
                let Some(pr) = st.pulls.iter_mut().find(|p| p["number"] == n) else { return not_found() };
                for k in ["title", "body", "state"] {
                    if let Some(v) = body.get(k) {
                        pr[k] = v.clone();
                    }
                }
                ok(pr.clone())
            }
            ("GET", r) if r.starts_with("git/commits/") => match st.commits.get(&r["git/commits/".len()..]) {
                Some((tree, parent)) => {
                    let parents = if parent.is_empty() { json!([]) } else { json!([{ "sha": parent }]) };
                    ok(json!({ "sha": &r["git/commits/".len()..], "tree": { "sha": tree }, "parents": parents }))
                }
                None => not_found(),
            },
            ("GET", r) if r.starts_with("git/ref/") => match st.refs.get(&r["git/ref/".len()..]) {
                Some(sha) => ok(
                    json!({ "ref": format!("refs/{}", &r["git/ref/".len()..]), "object": { "sha": sha, "type": "commit" } }),
                ),
                None => not_found(),
            },
            ("POST", "git/blobs") => {
                assert_eq!(body["encoding"], "utf-8");
                let content = body["content"].as_str().unwrap().to_string();
                let sha = format!("blob{}", hash(&content));
                st.blobs.insert(sha.clone(), content);
                ResponseTemplate::new(201).set_body_json(json!({ "sha": sha }))
            }
            ("POST", "git/trees") => {
                let sha = format!("tree{}", hash(&body.to_string()));
                ResponseTemplate::new(201).set_body_json(json!({ "sha": sha }))
            }
            ("POST", "git/commits") => {
                st.next += 1;
                let sha = format!("commit{}", st.next);
                let parent = body["parents"][0].as_str().unwrap_or_default().to_string();
                st.commits.insert(sha.clone(), (body["tree"].as_str().unwrap().to_string(), parent));
                ResponseTemplate::new(201).set_body_json(json!({ "sha": sha }))
            }
            ("POST", "git/refs") => {
                let r = body["ref"].as_str().unwrap().strip_prefix("refs/").unwrap().to_string();
                if st.refs.contains_key(&r) {
                    return ResponseTemplate::new(422).set_body_json(json!({ "message": "Reference already exists" }));
                }
                st.refs.insert(r, body["sha"].as_str().unwrap().to_string());
                ResponseTemplate::new(201).set_body_json(json!({}))
            }
            ("PATCH", r) if r.starts_with("git/refs/") => {
                let name = r["git/refs/".len()..].to_string();
                if !st.refs.contains_key(&name) {
                    return ResponseTemplate::new(422).set_body_json(json!({ "message": "Reference does not exist" }));
                }
                st.refs.insert(name, body["sha"].as_str().unwrap().to_string());
                ok(json!({}))
            }
            // The PR's sticky summary comment (`pr` without --no-summary): none yet, created once.
            ("GET", r) if r == format!("issues/{PR}/comments") => ok(json!([])),
            ("POST", r) if r == format!("issues/{PR}/comments") => ResponseTemplate::new(201)
                .set_body_json(json!({ "id": 900, "node_id": "IC_900", "html_url": "https://github.com/c/900" })),
            ("GET", "issues") => {
                let list: Vec<Value> = st.issues.iter().filter(|i| i["state"] == "open").cloned().collect();
                ok(if page1 { json!(list) } else { json!([]) })
            }
            ("POST", "issues") => {
                st.next += 1;
                let issue = json!({
                    "number": st.next, "state": "open", "title": body["title"], "body": body["body"],
                    "user": { "login": BOT, "type": "Bot" },
                });
                st.issues.push(issue.clone());
                ResponseTemplate::new(201).set_body_json(issue)
            }
            ("PATCH", r) if r.starts_with("issues/") => {
                let n: u64 = r["issues/".len()..].parse().unwrap();
                let Some(i) = st.issues.iter_mut().find(|i| i["number"] == n) else { return not_found() };
                for k in ["body", "state", "state_reason"] {
                    if let Some(v) = body.get(k) {
                        i[k] = v.clone();
                    }
                }
                ok(i.clone())
            }
            _ => ResponseTemplate::new(404)
                .set_body_json(json!({ "message": format!("fake: no route {method} {path}") })),
        }
    }
}

struct H {
    server: MockServer,
    fake: GitFake,
    repo: github_fake::Repo,
    rt: tokio::runtime::Runtime,
    seen: usize,
}

fn manifest(env_dup: bool, privileged: bool) -> String {
    let env = if env_dup { "            - name: MODE\n              value: a\n" } else { "" };
    let sc = if privileged { "          securityContext:\n            privileged: true\n" } else { "" };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.27.0
{sc}          env:
{env}            - name: MODE
              value: b
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
            limits:
              memory: 128Mi
"
    )
}

impl H {
    fn new(head: &str) -> H {
        let base = manifest(false, false);
        H::with_files(&[("k8s/app.yaml", &base)], &[("k8s/app.yaml", head), ("notes.txt", "head\n")])
    }

    fn with_files(base: &[(&str, &str)], head: &[(&str, &str)]) -> H {
        clustergpt::github::api::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let repo = repo(base, head);
        let mut st = State { head_sha: repo.head.clone(), next: 100, ..State::default() };
        st.commits.insert(repo.head.clone(), ("treehead".to_string(), repo.base.clone()));
        let fake = GitFake(Arc::new(Mutex::new(st)));
        let server = rt.block_on(async {
            let s = MockServer::start().await;
            Mock::given(any()).respond_with(fake.clone()).mount(&s).await;
            s
        });
        H { server, fake, repo, rt, seen: 0 }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.fake.0.lock().unwrap()
    }

    fn inputs(&self) -> Inputs {
        Inputs {
            env: ActionsEnv {
                repository: Some(format!("{OWNER}/{REPO}")),
                api_url: Some(self.server.uri()),
                ..ActionsEnv::default()
            },
            token: Some(TOKEN.to_string()),
            clock: Clock::virtual_at(1_700_000_000),
            retry: RetryPolicy { write_interval: std::time::Duration::ZERO, ..RetryPolicy::default() },
            cwd: self.repo.dir.path().to_path_buf(),
            today: "2026-01-01".to_string(),
        }
    }

    fn fix_pr(&self) -> (Posted, String) {
        let pr = PR.to_string();
        let argv = [
            "--pr",
            &pr,
            "--base-sha",
            &self.repo.base,
            "--head-sha",
            &self.repo.head,
            "--no-config",
            "--no-review",
            "--no-summary",
            "--no-check-run",
            "--open-fix-pr",
            "k8s",
        ];
        let a = clustergpt::github::parse_args(argv).unwrap();
        let mut out = Vec::new();
        let o = self.rt.block_on(clustergpt::github::run_outcome(&a, &self.inputs(), &mut out)).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(TOKEN));
        (o.fix_pr, out)
    }

    /// `pr` with the summary comment and the fix PR, `--explain` against `llm` (a stub endpoint
    /// named in a config file; `--no-cache`, so nothing is written outside the test's directories).
    fn explained(&self, llm: &MockServer) -> Vec<u8> {
        let config = self.repo.dir.path().join("../llm.yaml");
        std::fs::write(&config, format!("llm:\n  base_url: {}/v1\n  model: stub-model\n", llm.uri())).unwrap();
        let (pr, config) = (PR.to_string(), config.display().to_string());
        let argv = [
            "--pr",
            &pr,
            "--base-sha",
            &self.repo.base,
            "--head-sha",
            &self.repo.head,
            "--config",
            &config,
            "--no-review",
            "--no-check-run",
            "--open-fix-pr",
            "--explain",
            "--no-cache",
            "k8s",
        ];
        let a = clustergpt::github::parse_args(argv).unwrap();
        let mut out = Vec::new();
        self.rt.block_on(clustergpt::github::run_outcome(&a, &self.inputs(), &mut out)).unwrap();
        out
    }

    fn audit_issue(&self, extra: &[&str]) -> (clustergpt::github::issue::IssueOutcome, String) {
        let mut argv: Vec<&str> = vec!["--no-config"];
        argv.extend(extra);
        argv.push("k8s");
        let a = clustergpt::github::issue::parse_args(argv).unwrap();
        let mut out = Vec::new();
        let o = self.rt.block_on(clustergpt::github::issue::run_outcome(&a, &self.inputs(), &mut out)).unwrap();
        (o, String::from_utf8(out).unwrap())
    }

    /// Writes (method, path, body) since the last call.
    fn new_writes(&mut self) -> Vec<(String, String, Value)> {
        let all: Vec<(String, String, Value)> = self
            .rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r.method.as_str().to_string(),
                    r.url.path().to_string(),
                    serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                )
            })
            .collect();
        let fresh = all[self.seen..].to_vec();
        self.seen = all.len();
        fresh.into_iter().filter(|(m, _, _)| m != "GET").collect()
    }

    /// Commits a new version of the manifest on top of the head (for audit-issue reruns).
    fn commit(&self, text: &str) {
        std::fs::write(self.repo.dir.path().join("k8s/app.yaml"), text).unwrap();
        git(self.repo.dir.path(), &["commit", "-qam", "change"]);
    }
}

fn sequence(w: &[(String, String, Value)]) -> Vec<String> {
    let p = format!("/repos/{OWNER}/{REPO}");
    w.iter().map(|(m, path, _)| format!("{m} {}", path.strip_prefix(&p).unwrap_or(path))).collect()
}

#[test]
fn fix_pr_commits_through_the_git_data_api_and_opens_one_pr() {
    let mut h = H::new(&manifest(true, false));
    let (posted, out) = h.fix_pr();
    assert!(matches!(&posted, Posted::Done(s) if s.contains("opened #")), "{posted:?}\n{out}");
    let w = h.new_writes();
    assert_eq!(
        sequence(&w),
        ["POST /git/blobs", "POST /git/trees", "POST /git/commits", "POST /git/refs", "POST /pulls"],
        "{out}"
    );
    let fixed = w[0].2["content"].as_str().unwrap();
    assert!(!fixed.contains("value: a") && fixed.contains("value: b"), "{fixed}");
    assert_eq!(fixed, manifest(false, false), "only the duplicate env entry is removed");
    let tree = &w[1].2;
    assert_eq!(tree["base_tree"], "treehead", "the tree builds on the head commit's tree");
    assert_eq!(
        tree["tree"],
        json!([{ "path": "k8s/app.yaml", "mode": "100644", "type": "blob", "sha": h.st().blobs.keys().next().unwrap() }])
    );
    let commit = &w[2].2;
    assert_eq!(commit["parents"], json!([h.repo.head]));
    assert_eq!(commit["tree"], h.st().commits.values().find(|(_, p)| *p == h.repo.head).unwrap().0.as_str());
    assert!(commit["message"].as_str().unwrap().contains("REL018"));
    assert_eq!(w[3].2["ref"], format!("refs/heads/{FIX_BRANCH}"));
    let pr = &w[4].2;
    assert_eq!(pr["head"], FIX_BRANCH);
    assert_eq!(pr["base"], HEAD_REF, "the fixes are proposed into the PR's head branch");
    let body = pr["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- clustergpt:fix-pr -->"), "{body}");
    assert!(body.contains("**REL018**") && body.contains("`Deployment/shop/web`"), "{body}");
    assert!(body.contains("`k8s/app.yaml:19`"), "file:line of the finding: {body}");
    assert!(body.contains("**Why:**") && body.contains("**Evidence:**"), "{body}");
    assert!(body.contains("#7"), "{body}");

    // Rerun on the same head: the tree is the same, so no commit, no ref move, no second PR.
    let (posted, out) = h.fix_pr();
    assert!(
        matches!(&posted, Posted::Done(s) if s.contains("already up to date") && s.contains("unchanged")),
        "{posted:?}\n{out}"
    );
    assert_eq!(sequence(&h.new_writes()), ["POST /git/blobs", "POST /git/trees"]);
    let st = h.st();
    assert_eq!(st.pulls.len(), 1);
    assert_eq!(st.commits.len(), 2, "the head and one fix commit");
    assert_eq!(st.refs.len(), 1);
}

#[test]
fn fix_pr_force_updates_the_branch_and_updates_the_existing_pr() {
    let mut h = H::new(&manifest(true, false));
    {
        let mut st = h.st();
        // An older fix commit on the branch (for an earlier head) and its open PR.
        st.commits.insert("oldfix".into(), ("oldtree".into(), h.repo.base.clone()));
        st.refs.insert(format!("heads/{FIX_BRANCH}"), "oldfix".into());
        st.pulls.push(json!({
            "number": 50, "state": "open", "title": "old", "body": "old body",
            "head": { "ref": FIX_BRANCH }, "base": { "ref": HEAD_REF }, "user": { "login": BOT },
        }));
    }
    let (posted, out) = h.fix_pr();
    assert!(matches!(&posted, Posted::Done(s) if s.contains("updated #50")), "{posted:?}\n{out}");
    let w = h.new_writes();
    assert_eq!(
        sequence(&w),
        [
            "POST /git/blobs",
            "POST /git/trees",
            "POST /git/commits",
            &format!("PATCH /git/refs/heads/{FIX_BRANCH}"),
            "PATCH /pulls/50"
        ]
    );
    assert_eq!(w[3].2["force"], true);
    let new_commit = w[3].2["sha"].as_str().unwrap().to_string();
    assert_eq!(h.st().refs[&format!("heads/{FIX_BRANCH}")], new_commit);
    assert!(w[4].2["body"].as_str().unwrap().contains("REL018"));
    assert_eq!(w[4].2["title"], "ClusterGPT: 1 safe fix for feature/scale");
    assert_eq!(h.st().pulls.len(), 1, "no second PR");
}

#[test]
fn fix_pr_is_closed_when_nothing_is_left_to_fix() {
    let mut h = H::new(&manifest(false, false));
    h.st().pulls.push(json!({
        "number": 50, "state": "open", "title": "old", "body": "old body",
        "head": { "ref": FIX_BRANCH }, "base": { "ref": HEAD_REF }, "user": { "login": BOT },
    }));
    let (posted, out) = h.fix_pr();
    assert!(matches!(&posted, Posted::Done(s) if s.contains("closed #50")), "{posted:?}\n{out}");
    let w = h.new_writes();
    assert_eq!(sequence(&w), ["PATCH /pulls/50"]);
    assert_eq!(w[0].2, json!({ "state": "closed" }));
    // Nothing open, nothing to fix: no write at all.
    let (posted, _) = h.fix_pr();
    assert_eq!(posted, Posted::Done("nothing to fix".into()));
    assert!(h.new_writes().is_empty());
}

#[test]
fn audit_issue_create_unchanged_update_close() {
    let mut h = H::new(&manifest(false, true));
    // Someone pasted our marker into their own issue: it is not ours.
    h.st().issues.push(json!({
        "number": 9, "state": "open", "title": "hijack",
        "body": "<!-- clustergpt:audit-issue id=default -->\nmine now", "user": { "login": "mallory" },
    }));

    let (o, out) = h.audit_issue(&["--fail-on", "critical"]);
    assert_eq!(o.status, Status::GateFailed, "{out}");
    assert!(matches!(&o.issue, Posted::Done(s) if s.starts_with("opened #")), "{:?}", o.issue);
    let w = h.new_writes();
    assert_eq!(sequence(&w), ["POST /issues"]);
    let body = w[0].2["body"].as_str().unwrap().to_string();
    assert!(body.starts_with("<!-- clustergpt:audit-issue id=default -->\n"), "{body}");
    assert!(body.contains("SEC001"), "{body}");
    assert!(body.len() < 60_000);
    assert_eq!(w[0].2["title"], "ClusterGPT audit");
    let ours = h.st().issues.last().unwrap()["number"].as_u64().unwrap();

    // Same audit: nothing is written.
    let (o, _) = h.audit_issue(&["--fail-on", "critical"]);
    assert_eq!(o.issue, Posted::Done(format!("#{ours} unchanged, not updated")));
    assert!(h.new_writes().is_empty());

    // The audit changed (still not clean): the body is edited in place.
    h.commit(&manifest(true, true));
    let (o, _) = h.audit_issue(&["--fail-on", "critical"]);
    assert_eq!(o.issue, Posted::Done(format!("updated #{ours}")));
    let w = h.new_writes();
    assert_eq!(sequence(&w), [format!("PATCH /issues/{ours}")]);
    assert!(w[0].2["body"].as_str().unwrap().contains("REL018"));
    assert!(w[0].2.get("state").is_none());

    // Clean at the threshold: closed.
    h.commit(&manifest(true, false));
    let (o, out) = h.audit_issue(&["--fail-on", "critical"]);
    assert_eq!(o.status, Status::Passed, "{out}");
    assert!(matches!(&o.issue, Posted::Done(s) if s.contains(&format!("closed #{ours}"))), "{:?}", o.issue);
    let w = h.new_writes();
    assert_eq!(sequence(&w), [format!("PATCH /issues/{ours}")]);
    assert_eq!(w[0].2["state"], "closed");

    // Clean and no open issue: nothing written; mallory's issue was never touched.
    let (o, _) = h.audit_issue(&["--fail-on", "critical"]);
    assert_eq!(o.issue, Posted::Done("the audit is clean; no issue".into()));
    assert!(h.new_writes().is_empty());
    let st = h.st();
    let mallory = st.issues.iter().find(|i| i["number"] == 9).unwrap();
    assert_eq!(mallory["body"], "<!-- clustergpt:audit-issue id=default -->\nmine now");
    assert_eq!(mallory["state"], "open");
}

#[test]
fn audit_issue_without_threshold_is_clean_only_without_findings() {
    let mut h = H::new(&manifest(false, false));
    let (o, _) = h.audit_issue(&[]);
    assert_eq!(o.status, Status::Passed, "no threshold: the exit status does not gate");
    assert!(matches!(&o.issue, Posted::Done(s) if s.starts_with("opened #")), "{:?}", o.issue);
    assert_eq!(sequence(&h.new_writes()), ["POST /issues"]);
    // Only REL018 selected and nothing duplicated: no finding at all, so the issue closes.
    let (o, _) = h.audit_issue(&["--select", "REL018"]);
    assert!(matches!(&o.issue, Posted::Done(s) if s.contains("closed #")), "{:?}", o.issue);
}

#[test]
fn audit_issue_dry_run_sends_no_writes() {
    let mut h = H::new(&manifest(false, true));
    let (o, out) = h.audit_issue(&["--dry-run"]);
    assert_eq!(o.dry_run_requests.len(), 1, "{out}");
    assert!(out.contains("POST ") && out.contains("/issues"), "{out}");
    assert!(h.new_writes().is_empty());
    assert!(!out.contains(TOKEN));
}

#[test]
fn fix_pr_dry_run_prints_the_git_data_requests_and_sends_none() {
    let mut h = H::new(&manifest(true, false));
    let pr = PR.to_string();
    let argv = [
        "--pr",
        &pr,
        "--base-sha",
        &h.repo.base,
        "--head-sha",
        &h.repo.head,
        "--no-config",
        "--no-review",
        "--no-summary",
        "--no-check-run",
        "--open-fix-pr",
        "--dry-run",
        "k8s",
    ];
    let a = clustergpt::github::parse_args(argv).unwrap();
    let mut out = Vec::new();
    let o = h.rt.block_on(clustergpt::github::run_outcome(&a, &h.inputs(), &mut out)).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(h.new_writes().is_empty(), "{out}");
    let methods: Vec<String> = o.dry_run_requests.iter().map(|r| r.method.as_str().to_string()).collect();
    assert_eq!(methods, ["POST", "POST", "POST", "POST", "POST"], "{out}");
    assert!(out.contains("/git/blobs") && out.contains("/git/trees") && out.contains("/pulls"), "{out}");
    assert!(!out.contains(TOKEN));
}

#[test]
fn open_fix_pr_conflicts_with_the_artifact_stages() {
    assert!(clustergpt::github::parse_args(["--open-fix-pr", "--emit-artifact", "d"]).is_err());
    assert!(clustergpt::github::parse_args(["--open-fix-pr", "--post-artifact", "d"]).is_err());
    assert!(clustergpt::github::parse_args(["--open-fix-pr", "k8s"]).unwrap().open_fix_pr);
}

#[test]
fn fix_pr_without_write_permission_is_reported_and_does_not_change_the_exit_code() {
    let mut h = H::new(&manifest(true, false));
    h.st().deny_writes = true;
    let pr = PR.to_string();
    let argv = [
        "--pr",
        &pr,
        "--base-sha",
        &h.repo.base,
        "--head-sha",
        &h.repo.head,
        "--no-config",
        "--no-review",
        "--no-summary",
        "--no-check-run",
        "--open-fix-pr",
        "k8s",
    ];
    let a = clustergpt::github::parse_args(argv).unwrap();
    let mut out = Vec::new();
    let o = h.rt.block_on(clustergpt::github::run_outcome(&a, &h.inputs(), &mut out)).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(o.status, Status::Passed, "{out}");
    assert!(matches!(&o.fix_pr, Posted::Denied(_)), "{:?}", o.fix_pr);
    assert!(out.contains("fix pull request: not permitted") && out.contains("contents: write"), "{out}");
    assert_eq!(sequence(&h.new_writes()), ["POST /git/blobs"], "stops at the first refused write");
    assert!(!out.contains(TOKEN));
}

#[test]
fn audit_issue_open_fix_pr_proposes_safe_fixes_into_the_checked_out_branch() {
    let mut h = H::new(&manifest(true, false));
    let (o, out) = h.audit_issue(&["--open-fix-pr"]);
    let posted = o.fix_pr.clone().expect("a fix PR outcome");
    assert!(matches!(&posted, Posted::Done(s) if s.contains("opened #")), "{posted:?}\n{out}");
    let w = h.new_writes();
    let seq = sequence(&w);
    // The audit issue is written first, then the git data sequence and the PR.
    let git_part: Vec<&str> = seq.iter().map(String::as_str).filter(|s| !s.contains("/issues")).collect();
    assert_eq!(
        git_part,
        ["POST /git/blobs", "POST /git/trees", "POST /git/commits", "POST /git/refs", "POST /pulls"],
        "{out}"
    );
    let by_path = |p: &str| w.iter().find(|(_, path, _)| path.ends_with(p)).map(|(_, _, b)| b.clone()).unwrap();
    assert_eq!(by_path("/git/commits")["parents"], json!([h.repo.head]), "fixes go on top of HEAD");
    assert_eq!(by_path("/git/refs")["ref"], "refs/heads/clustergpt/fixes/main");
    let pr = by_path("/pulls");
    assert_eq!(pr["head"], "clustergpt/fixes/main");
    assert_eq!(pr["base"], "main", "on a schedule the fixes are proposed into the checked-out branch");
    assert!(pr["body"].as_str().unwrap().contains("REL018"));
    // A rerun on the same commit makes no new commit and opens no second PR.
    let (o, out) = h.audit_issue(&["--open-fix-pr"]);
    assert!(matches!(&o.fix_pr, Some(Posted::Done(s)) if s.contains("already up to date")), "{:?}\n{out}", o.fix_pr);
    assert_eq!(h.st().pulls.len(), 1);
    assert!(!sequence(&h.new_writes()).iter().any(|s| s == "POST /git/commits" || s == "POST /pulls"));
}

/// `remediate --cluster --manifests k8s --open-fix-pr`: the OOM diagnosis of the live Deployment
/// (the loopback Kubernetes API server) raises `limits.memory` in the manifest it was deployed
/// from, as one pull request; a rerun changes nothing; the cluster gets no write.
#[test]
fn remediate_open_fix_pr_writes_live_fixes_into_the_manifests() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/diagnosis/link");
    let manifest = std::fs::read_to_string(root.join("k8s/api/deployment.yaml")).unwrap();
    let mut h = H::with_files(
        &[("k8s/api/deployment.yaml", &manifest)],
        &[("k8s/api/deployment.yaml", &manifest), ("notes.txt", "head\n")],
    );
    let cluster = h.rt.block_on(cluster_fake::FakeCluster::start(cluster_fake::load_objects(&root.join("dump.json"))));
    let kubeconfig = h.repo.dir.path().join("../kubeconfig-remediate");
    std::fs::write(&kubeconfig, cluster.kubeconfig(&["kind-shop"])).unwrap();
    let (uri, dir) = (h.server.uri(), h.repo.dir.path().to_path_buf());
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_clustergpt"))
            .args(["remediate", "--cluster", "--kubeconfig", &kubeconfig.display().to_string(), "--no-config"])
            .args(["--select", "DIA001", "--unsafe", "--manifests", "k8s", "--open-fix-pr", "--repo", "acme/shop"])
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_API_URL", &uri)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let o = run();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("opened #"), "{out}");
    assert!(!out.contains(TOKEN));
    let w = h.new_writes();
    assert_eq!(
        sequence(&w),
        ["POST /git/blobs", "POST /git/trees", "POST /git/commits", "POST /git/refs", "POST /pulls"]
    );
    let blob = w[0].2["content"].as_str().unwrap().to_string();
    assert!(blob.contains("memory: 384Mi # raised after the last incident"), "format kept: {blob}");
    assert_eq!(w[3].2["ref"], "refs/heads/clustergpt/fixes/main");
    assert!(w[4].2["body"].as_str().unwrap().contains("DIA001"));
    assert!(cluster.log().iter().all(|l| l.method == "GET"), "a fix PR never writes to the cluster");

    let o = run();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("already up to date"), "{out}");
    assert_eq!(h.st().pulls.len(), 1, "idempotent: one PR");
    assert!(!sequence(&h.new_writes()).iter().any(|s| s == "POST /git/commits" || s == "POST /pulls"));
}

/// `pr --explain`: the summary comment gets a collapsed "Summary" and the fix PR the model's title
/// and text, each saying which model wrote it; without `--explain` the template says it wrote it.
#[test]
fn pr_explain_puts_the_models_summary_and_fix_pr_text_and_says_who_wrote_them() {
    let mut h = H::new(&manifest(true, false));
    let llm = h.rt.block_on(llm_stub::stub_server());
    let out = h.explained(&llm);
    let out = String::from_utf8_lossy(&out);
    let w = h.new_writes();
    let seq = sequence(&w);
    let comment = w.iter().find(|(m, p, _)| m == "POST" && p.ends_with(&format!("/issues/{PR}/comments")));
    let comment = comment.unwrap_or_else(|| panic!("{seq:?}\n{out}"));
    let comment = comment.2["body"].as_str().unwrap();
    assert!(
        comment.contains("<details><summary>Summary (written by `stub-model` from redacted facts)</summary>"),
        "{comment}"
    );
    assert!(comment.contains("deployment/web"), "{comment}");
    let pr = &w.iter().find(|(m, p, _)| m == "POST" && p.ends_with("/pulls")).unwrap().2;
    assert_eq!(pr["title"], "Fix 1 findings", "{out}");
    let body = pr["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- clustergpt:fix-pr -->") && body.contains("- deployment/web: REL018"), "{body}");
    assert!(body.contains("<details><summary>The fixes</summary>") && body.contains("**REL018**"), "{body}");
    assert!(body.contains("description written by `stub-model` from redacted facts"), "{body}");
    let asked = h.rt.block_on(llm.received_requests()).unwrap_or_default();
    assert_eq!(asked.len(), 2, "one request for the summary, one for the fix PR");

    // The template, without --explain.
    let mut h = H::new(&manifest(true, false));
    h.fix_pr();
    let w = h.new_writes();
    let body = w.iter().find(|(m, p, _)| m == "POST" && p.ends_with("/pulls")).unwrap().2["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(body.contains("description written by the built-in template"), "{body}");
    assert!(!body.contains("<details>"));
}

/// `remediate --open-fix-pr --explain`: the model (from the environment) writes the remediation
/// PR's title and description, and the description says so.
#[test]
fn remediate_open_fix_pr_with_explain_uses_the_models_text() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests-fixtures/diagnosis/link");
    let manifest = std::fs::read_to_string(root.join("k8s/api/deployment.yaml")).unwrap();
    let mut h = H::with_files(
        &[("k8s/api/deployment.yaml", &manifest)],
        &[("k8s/api/deployment.yaml", &manifest), ("notes.txt", "head\n")],
    );
    let cluster = h.rt.block_on(cluster_fake::FakeCluster::start(cluster_fake::load_objects(&root.join("dump.json"))));
    let llm = h.rt.block_on(llm_stub::stub_server());
    let kubeconfig = h.repo.dir.path().join("../kubeconfig-remediate-explain");
    std::fs::write(&kubeconfig, cluster.kubeconfig(&["kind-shop"])).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_clustergpt"))
        .args(["remediate", "--cluster", "--kubeconfig", &kubeconfig.display().to_string(), "--no-config"])
        .args(["--select", "DIA001", "--unsafe", "--manifests", "k8s", "--open-fix-pr", "--repo", "acme/shop"])
        .arg("--explain")
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", h.server.uri())
        .env("CLUSTERGPT_LLM_BASE_URL", format!("{}/v1", llm.uri()))
        .env("CLUSTERGPT_LLM_MODEL", "stub-model")
        .env_remove("OPENAI_API_KEY")
        .env_remove("CLUSTERGPT_LLM_API_KEY")
        .env("XDG_CACHE_HOME", h.repo.dir.path().join("../cache-remediate"))
        .current_dir(h.repo.dir.path())
        .output()
        .unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}");
    let w = h.new_writes();
    let pr = &w.iter().find(|(m, p, _)| m == "POST" && p.ends_with("/pulls")).unwrap().2;
    assert_eq!(pr["title"], "Fix 1 findings", "{out}");
    let body = pr["body"].as_str().unwrap();
    assert!(body.contains("description written by `stub-model` from redacted facts"), "{body}");
    assert!(body.contains("DIA001"), "{body}");
    assert_eq!(h.rt.block_on(llm.received_requests()).unwrap_or_default().len(), 1);
}

/// `audit-issue --open-fix-pr --explain`: the model (named in a config file) writes the fix PR's
/// title and description above the template's table of fixes, and says so; a model whose answer
/// is unusable leaves the template, which says why.
#[test]
fn audit_issue_open_fix_pr_with_explain_uses_the_models_text() {
    let mut h = H::new(&manifest(true, false));
    let llm = h.rt.block_on(llm_stub::stub_server());
    let config = h.repo.dir.path().join("../llm-issue.yaml");
    std::fs::write(&config, format!("llm:\n  base_url: {}/v1\n  model: stub-model\n", llm.uri())).unwrap();
    let config = config.display().to_string();
    let a =
        clustergpt::github::issue::parse_args(["--config", &config, "--open-fix-pr", "--explain", "--no-cache", "k8s"])
            .unwrap();
    let mut out = Vec::new();
    let o = h.rt.block_on(clustergpt::github::issue::run_outcome(&a, &h.inputs(), &mut out)).unwrap();
    let out = String::from_utf8_lossy(&out);
    assert!(matches!(&o.fix_pr, Some(Posted::Done(s)) if s.contains("opened #")), "{:?}\n{out}", o.fix_pr);
    let w = h.new_writes();
    let pr = &w.iter().find(|(m, p, _)| m == "POST" && p.ends_with("/pulls")).unwrap().2;
    assert_eq!(pr["title"], "Fix 1 findings", "{out}");
    let body = pr["body"].as_str().unwrap();
    assert!(body.contains("- deployment/web: REL018"), "{body}");
    assert!(body.contains("<details><summary>The fixes</summary>") && body.contains("**REL018**"), "{body}");
    assert!(body.contains("description written by `stub-model` from redacted facts"), "{body}");
    assert_eq!(h.rt.block_on(llm.received_requests()).unwrap_or_default().len(), 1);

    // A model answering 500s: the template writes it and says why.
    let mut h = H::new(&manifest(true, false));
    let broken = h.rt.block_on(async {
        let s = MockServer::start().await;
        Mock::given(wiremock::matchers::method("POST")).respond_with(ResponseTemplate::new(500)).mount(&s).await;
        s
    });
    let config = h.repo.dir.path().join("../llm-issue-broken.yaml");
    std::fs::write(
        &config,
        format!("llm:\n  base_url: {}/v1\n  model: stub-model\n  timeout_seconds: 5\n", broken.uri()),
    )
    .unwrap();
    let config = config.display().to_string();
    let a =
        clustergpt::github::issue::parse_args(["--config", &config, "--open-fix-pr", "--explain", "--no-cache", "k8s"])
            .unwrap();
    let mut out = Vec::new();
    h.rt.block_on(clustergpt::github::issue::run_outcome(&a, &h.inputs(), &mut out)).unwrap();
    let w = h.new_writes();
    let body = w.iter().find(|(m, p, _)| m == "POST" && p.ends_with("/pulls")).unwrap().2["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        body.contains("the built-in template (the model's answer was not used: the endpoint answered HTTP 500"),
        "{body}"
    );

    // --explain needs --open-fix-pr.
    assert!(clustergpt::github::issue::parse_args(["--explain", "k8s"]).is_err());
}
