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
