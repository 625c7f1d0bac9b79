//! JSON-RPC over Streamable HTTP, the way an MCP client sends it.

use serde_json::{Value, json};

/// Posts one JSON-RPC request to `url` and returns the parsed reply.
pub async fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let reply = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "{method}: HTTP {}", reply.status());
    reply.json().await.unwrap()
}

/// Calls a tool and returns its result object.
pub async fn call_tool(url: &str, name: &str, arguments: Value) -> Value {
    let reply = rpc(url, "tools/call", json!({"name": name, "arguments": arguments})).await;
    reply
        .get("result")
        .cloned()
        .unwrap_or_else(|| panic!("no result: {reply}"))
}

/// An MCP reply read off the in-process router: HTTP status, content type
/// and the JSON-RPC messages (one for `application/json`, every `data:`
/// event for `text/event-stream`).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: http::StatusCode,
    /// `Content-Type`.
    pub content_type: String,
    /// The messages, in order.
    pub messages: Vec<Value>,
}

impl Reply {
    /// The last message: the JSON-RPC response.
    pub fn response(&self) -> &Value {
        self.messages
            .last()
            .unwrap_or_else(|| panic!("no messages in the reply: {self:?}"))
    }

    /// The response's `result`.
    pub fn result(&self) -> &Value {
        let r = self.response();
        r.get("result").unwrap_or_else(|| panic!("no result: {r}"))
    }

    /// The response's `error`.
    pub fn error(&self) -> &Value {
        let r = self.response();
        r.get("error").unwrap_or_else(|| panic!("no error: {r}"))
    }
}

/// `_meta` of a 2026-07-28 request: version, client info and client
/// capabilities (with the tasks extension when `tasks`).
pub fn meta_2026(tasks: bool) -> Value {
    let capabilities = if tasks {
        json!({"extensions": {rmcp::model::TASKS_EXTENSION_ID: {}}})
    } else {
        json!({})
    };
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "posture-tests", "version": "1.0"},
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    })
}

/// Posts one JSON-RPC request to `/mcp` of the in-process `app` the way a
/// client of `version` does (2026-07-28 adds the `Mcp-Method` / `Mcp-Name`
/// headers; `name` is the tool name or task id) and reads the whole reply.
pub async fn post_router(app: &axum::Router, version: &str, method: &str, name: Option<&str>, params: Value) -> Reply {
    use tower::ServiceExt;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = http::Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", version);
    if version >= "2026-07-28" {
        req = req.header("mcp-method", method);
        if let Some(n) = name {
            req = req.header("mcp-name", n);
        }
    }
    let req = req
        .body(axum::body::Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let messages = if content_type.starts_with("text/event-stream") {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| serde_json::from_str(d).unwrap_or_else(|e| panic!("bad SSE data ({e}): {d}")))
            .collect()
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        vec![serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))]
    };
    Reply {
        status,
        content_type,
        messages,
    }
}

/// A Function URL `event` through the adapter `lambda_http::run` uses, in
/// front of `app` as the Lambda main wires it; the Lambda response as JSON.
pub async fn invoke_function_url(app: axum::Router, auth: mcp_server::UrlAuth, event: Value) -> Value {
    use lambda_http::tower::Service;
    let mut adapter = lambda_http::Adapter::from(mcp_server::lambda_service(app, auth));
    let request: lambda_http::request::LambdaRequest = serde_json::from_value(event).unwrap();
    let response = adapter
        .call(lambda_http::LambdaEvent::new(request, lambda_http::Context::default()))
        .await
        .unwrap();
    serde_json::to_value(&response).unwrap()
}

/// Server settings for tests: every setting at its default, whatever the
/// environment of the test process holds.
pub fn settings() -> mcp_server::Settings {
    mcp_server::Settings::from_vars(|_| None, false).expect("the defaults are valid settings")
}

/// The demo backend with default settings.
pub fn demo_backend() -> posture_mcp::Backend {
    mcp_server::demo_backend(&settings()).expect("the demo data loads")
}
