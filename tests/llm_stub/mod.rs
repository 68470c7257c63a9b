//! A scripted OpenAI-compatible endpoint for the explainer's tests (real HTTP through wiremock).
#![allow(dead_code)]

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A chat completion whose message content is `content`.
pub fn completion(content: &str, finish: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "c1", "object": "chat.completion", "created": 1_764_633_600, "model": "test-model",
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}]
    }))
}

/// A scripted endpoint that writes a valid answer from the facts it receives, the way a model
/// should: it cites the findings, quotes their rendered commands and names their objects.
pub struct Stub;

impl wiremock::Respond for Stub {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let user = body["messages"][1]["content"].as_str().unwrap_or_default();
        let facts: Value = user.split_once('\n').and_then(|(_, j)| serde_json::from_str(j).ok()).unwrap_or_default();
        completion(&stub_answer(&facts).to_string(), "stop")
    }
}

pub fn stub_answer(facts: &Value) -> Value {
    let findings = facts["findings"].as_array().cloned().unwrap_or_default();
    let reference = |f: &Value| {
        format!(
            "{}/{}",
            f["object"]["kind"].as_str().unwrap_or("pod").to_ascii_lowercase(),
            f["object"]["name"].as_str().unwrap_or_default()
        )
    };
    let actions: Vec<Value> = findings
        .iter()
        .take(3)
        .map(|f| {
            let priority = match f["severity"].as_str() {
                Some("critical" | "high") => "p1",
                Some("medium") => "p2",
                _ => "p3",
            };
            json!({
                "finding_ids": [f["id"]],
                "action": format!("Fix {} on {}.", f["rule"].as_str().unwrap_or_default(), reference(f)),
                "command": f["fix"]["command"],
                "priority": priority,
            })
        })
        .collect();
    // One narrative, for the first diagnosis: the template writes the others.
    let diagnoses: Vec<Value> = findings
        .iter()
        .filter(|f| f.get("diagnosis").is_some())
        .take(1)
        .map(|f| {
            json!({
                "finding_id": f["id"],
                "narrative": format!("{} fails with {}.", reference(f), f["diagnosis"]["class"].as_str().unwrap_or_default()),
            })
        })
        .collect();
    let first = findings.first().map_or_else(|| "nothing".to_string(), reference);
    let n = facts["summary"]["findings"].as_u64().unwrap_or(0);
    json!({
        "exec_summary": format!("{n} findings; the most severe is on {first}."),
        "cto_summary": format!("Risk score {}.", facts["summary"]["risk_score"]),
        "sre_actions": actions,
        "diagnoses": diagnoses,
        "pr_title": format!("Fix {n} findings"),
        "pr_body": findings.iter().take(5).map(|f| format!("- {}: {}", reference(f), f["rule"].as_str().unwrap_or_default())).collect::<Vec<_>>().join("\n") + "\n",
    })
}

pub async fn stub_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(Stub).mount(&server).await;
    server
}
