//! The HTTP endpoint under bad input: malformed and random JSON-RPC, wrong
//! headers, oversized bodies, foreign Host and Origin. Every reply must be an
//! HTTP error or valid JSON-RPC, and the server must keep answering.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use posture_mcp::http::{HttpConfig, MAX_REQUEST_BODY_BYTES};
use proptest::prelude::*;
use serde_json::{Value, json};
use tower::ServiceExt;

fn app() -> Router {
    mcp_server::app(posture_tests::mcp::demo_backend(), &HttpConfig::loopback())
}

async fn post(app: &Router, body: Vec<u8>, headers: &[(&str, &str)]) -> (StatusCode, Vec<u8>) {
    let defaults = [
        ("host", "127.0.0.1:3000"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    let mut req = Request::post("/mcp");
    for (k, v) in defaults
        .iter()
        .filter(|(k, _)| !headers.iter().any(|(h, _)| h == k))
        .chain(headers)
    {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, bytes.to_vec())
}

fn assert_jsonrpc(bytes: &[u8]) -> Value {
    let v: Value =
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)));
    assert_eq!(v["jsonrpc"], "2.0", "{v}");
    assert!(
        v.get("result").is_some() != v.get("error").is_some(),
        "exactly one of result/error: {v}"
    );
    v
}

#[tokio::test]
async fn malformed_requests_get_errors_not_crashes() {
    let app = app();
    let (s, b) = post(&app, b"{not json".to_vec(), &[]).await;
    assert!(s.is_client_error() || assert_jsonrpc(&b).get("error").is_some(), "{s}");
    let (s, _) = post(&app, b"{}".to_vec(), &[]).await;
    assert!(s.is_client_error() || s.is_success());
    let (s, _) = post(&app, vec![b' '; MAX_REQUEST_BODY_BYTES + 1], &[]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, _) = post(
        &app,
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec(),
        &[("accept", "text/html")],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_ACCEPTABLE);
    let (s, b) = post(
        &app,
        br#"{"jsonrpc":"2.0","id":1,"method":"no/such/method"}"#.to_vec(),
        &[],
    )
    .await;
    assert!(s.is_success(), "{s}");
    assert!(assert_jsonrpc(&b).get("error").is_some());
    let (s, b) = post(
        &app,
        br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"nope"}}"#.to_vec(),
        &[],
    )
    .await;
    assert!(s.is_success());
    assert_eq!(assert_jsonrpc(&b)["error"]["code"], -32602);
    let (s, b) = post(&app, br#"{"jsonrpc":"2.0","id":8,"method":"tools/list"}"#.to_vec(), &[]).await;
    assert!(s.is_success());
    assert_eq!(
        assert_jsonrpc(&b)["result"]["tools"].as_array().unwrap().len(),
        posture_mcp::tools::TOOLS.len()
    );
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let app = app();
    let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec();
    let (s, _) = post(&app, list.clone(), &[("origin", "http://localhost:5173")]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(&app, list.clone(), &[("origin", "https://evil.example")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let req = Request::post("/mcp")
        .header("host", "rebind.attacker.example")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Body::from(list))
        .unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::FORBIDDEN);
    let req = Request::get("/other")
        .header("host", "127.0.0.1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.oneshot(req).await.unwrap().status(), StatusCode::NOT_FOUND);
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![Just("LOW"), Just("HIGH"), Just("URGENT"), Just("MEDIUM")].prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("severity_threshold".to_string()),
                    Just("time_range_days".to_string()),
                    Just("max_findings".to_string()),
                    Just("include_remediation".to_string()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_tool_calls_always_get_valid_jsonrpc(
        tool in prop_oneof![
            Just("analyze_security_findings".to_string()),
            Just("health_check".to_string()),
            Just("get_server_info".to_string()),
            "[a-z_]{0,20}",
        ],
        arguments in arb_json(),
        method in prop_oneof![
            Just("tools/call".to_string()),
            Just("tools/list".to_string()),
            Just("ping".to_string()),
            "[a-z/]{0,16}",
        ],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let app = app();
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"name": tool, "arguments": arguments}});
            let (status, bytes) = post(&app, serde_json::to_vec(&body).unwrap(), &[]).await;
            if status.is_success() {
                let reply = assert_jsonrpc(&bytes);
                if let Some(result) = reply.get("result")
                    && result["isError"] == true
                {
                    let e = &result["structuredContent"];
                    prop_assert!(e["error_type"].is_string() && e["detail"].is_string() && e["context"].is_object(), "{}", e);
                }
            } else {
                prop_assert!(status.is_client_error(), "{}", status);
            }
            Ok(())
        })?;
    }
}
