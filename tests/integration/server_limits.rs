//! The local server under hostile clients (D3, D5, D8 of the reliability
//! issue): slow and idle connections are capped per address and dropped at
//! their deadlines while other clients are served; a caller over its rate
//! gets 429 with Retry-After; malformed JSON-RPC gets 400 with the
//! specification's error codes and the id; batches work under 2025-03-26.
//! Traffic goes to 127.0.0.1 only (the "other" client is 127.0.0.2, another
//! loopback address, so that the per-address cap tells them apart).

use posture_tests::mcp::{demo_backend, settings};
use posture_tests::{Server, free_port, isolated_command, spawn_serving};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

const HEADER_TIMEOUT_SECS: u64 = 2;
const BODY_TIMEOUT_SECS: u64 = 2;
const PER_PEER: usize = 100;

fn start_demo(extra: &[&str]) -> (Server, u16, std::path::PathBuf) {
    let port = free_port();
    let data = std::env::temp_dir().join(format!("posture-limits-{}-{port}", std::process::id()));
    let mut cmd = isolated_command("mcp-server");
    cmd.args(["--demo", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--header-timeout-secs",
            &HEADER_TIMEOUT_SECS.to_string(),
            "--body-timeout-secs",
            &BODY_TIMEOUT_SECS.to_string(),
            "--max-connections-per-peer",
            &PER_PEER.to_string(),
        ])
        .args(extra)
        .env("POSTURE_DATA_DIR", &data)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    (spawn_serving(&mut cmd, port), port, data)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// One hostile connection: `kind` 0 trickles header bytes, 1 sends headers
/// then trickles a body, 2 sends nothing. Returns how long the server kept
/// it open (until EOF or a reset), or None if it was never accepted.
async fn hostile(port: u16, kind: usize, stop: Instant) -> Option<Duration> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let opened = Instant::now();
    let head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n\
                accept: application/json, text/event-stream\r\ncontent-length: 100000\r\n\r\n";
    if kind == 1 && stream.write_all(head.as_bytes()).await.is_err() {
        return Some(opened.elapsed());
    }
    let mut buf = [0u8; 512];
    loop {
        // Something arriving (a 408) or EOF ends it; else trickle a byte.
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(opened.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
        if Instant::now() > stop + Duration::from_secs(10) {
            return Some(opened.elapsed());
        }
        let byte: &[u8] = if kind == 0 { b"X" } else { b"{" };
        if kind != 2 && stream.write_all(byte).await.is_err() {
            return Some(opened.elapsed());
        }
    }
}

/// D3: 2,000 slow-header, slow-body and idle connections from one address
/// while another address calls tools: every call of the other client is
/// answered, the hostile address never holds more than its cap, each
/// hostile connection is dropped at its deadline, and memory stays flat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_never_starve_the_others() {
    let (server, port, data) = start_demo(&[]);
    let pid = server.0.id();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let call = |client: reqwest::Client, url: String| async move {
        let started = Instant::now();
        let reply = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": "list_accounts", "arguments": {}}}))
            .send()
            .await;
        let ok = match reply {
            Ok(r) if r.status().is_success() => r.json::<Value>().await.is_ok_and(|v| v.get("result").is_some()),
            _ => false,
        };
        (ok, started.elapsed())
    };
    let (ok, before) = call(other.clone(), url.clone()).await;
    assert!(ok, "the server answers before the attack");
    let rss_before = rss_kib(pid);

    let attack_for = Duration::from_secs(6);
    let stop = Instant::now() + attack_for;
    let opened = Arc::new(AtomicUsize::new(0));
    let longest_ms = Arc::new(AtomicU64::new(0));
    let refused_at_once = Arc::new(AtomicUsize::new(0));
    let mut attackers = Vec::new();
    for i in 0..2_000 {
        let (opened, longest_ms, refused_at_once) = (opened.clone(), longest_ms.clone(), refused_at_once.clone());
        attackers.push(tokio::spawn(async move {
            // Spread the connects over the first two seconds.
            tokio::time::sleep(Duration::from_millis((i % 200) * 10)).await;
            if let Some(held) = hostile(port, i as usize % 3, stop).await {
                opened.fetch_add(1, Ordering::Relaxed);
                if held < Duration::from_millis(100) {
                    refused_at_once.fetch_add(1, Ordering::Relaxed);
                }
                longest_ms.fetch_max(held.as_millis() as u64, Ordering::Relaxed);
            }
        }));
    }
    let mut answered = 0;
    let mut slowest = Duration::ZERO;
    let mut peak_rss = rss_before;
    let mut calls = 0;
    while Instant::now() < stop {
        let (ok, took) = call(other.clone(), url.clone()).await;
        calls += 1;
        answered += usize::from(ok);
        slowest = slowest.max(took);
        peak_rss = peak_rss.max(rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for a in attackers {
        a.await.unwrap();
    }
    let longest = Duration::from_millis(longest_ms.load(Ordering::Relaxed));
    println!(
        "slowloris: {} hostile connections ({} closed at once by the per-address cap of {PER_PEER}), \
         longest held {longest:?}; other client: {answered}/{calls} calls answered, slowest {slowest:?} \
         (before the attack {before:?}); RSS {rss_before} KiB before, peak {peak_rss} KiB",
        opened.load(Ordering::Relaxed),
        refused_at_once.load(Ordering::Relaxed),
    );
    assert_eq!(answered, calls, "every call of the other client is answered");
    assert!(calls >= 10, "{calls}");
    assert!(
        refused_at_once.load(Ordering::Relaxed) > 1_000,
        "the per-address cap closes the surplus at once"
    );
    // Header and body deadlines (2 s each) drop every held connection;
    // the slack covers a loaded machine.
    assert!(longest < Duration::from_secs(6), "held {longest:?}");
    assert!(
        peak_rss < rss_before + 64 * 1024,
        "RSS grew from {rss_before} to {peak_rss} KiB"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// D3: an idle connection is closed at the header deadline, and a body that
/// does not arrive in time gets 408 and a closed connection.
#[tokio::test]
async fn idle_connections_and_slow_bodies_meet_their_deadlines() {
    let (server, port, data) = start_demo(&[]);
    let mut idle = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut buf))
        .await
        .expect("closed within 10 s")
        .unwrap_or(0);
    let waited = started.elapsed();
    assert_eq!(n, 0);
    assert!(
        waited >= Duration::from_millis(HEADER_TIMEOUT_SECS * 1000 - 200),
        "closed after {waited:?}: the deadline, not at once"
    );

    let mut slow = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    slow.write_all(
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n\
          accept: application/json, text/event-stream\r\ncontent-length: 50\r\n\r\n{",
    )
    .await
    .unwrap();
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut reply))
        .await
        .expect("answered and closed within 10 s")
        .unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
}

/// A request to the in-process router with a raw body.
async fn post_raw(app: &axum::Router, version: Option<&str>, body: &str) -> (http::StatusCode, http::HeaderMap, Value) {
    let mut request = http::Request::post("/mcp")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(v) = version {
        request = request.header("mcp-protocol-version", v);
    }
    let response = app
        .clone()
        .oneshot(request.body(axum::body::Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, value)
}

fn demo_app(callers: posture_mcp::limits::CallerLimits) -> axum::Router {
    let mut config = mcp_server::local_http_config(&settings());
    config.callers = callers;
    mcp_server::app(demo_backend(), &config)
}

/// D8: malformed messages get HTTP 400 and the JSON-RPC error the
/// specification names, with the id whenever it can be read.
#[tokio::test]
async fn malformed_json_rpc_gets_400_with_the_specified_codes() {
    let app = demo_app(Default::default());
    let cases = [
        (r#"{"jsonrpc":"2.0","id":1,"method":"tools/list""#, -32700, Value::Null),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":"x"}"#,
            -32600,
            json!(7),
        ),
        (
            r#"{"jsonrpc":"1.0","id":"q","method":"tools/list"}"#,
            -32600,
            json!("q"),
        ),
        (
            r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":5}}"#,
            -32602,
            json!(8),
        ),
        (r#"{"jsonrpc":"2.0","id":9,"method":"tools/call"}"#, -32602, json!(9)),
        (
            r#"{"jsonrpc":"2.0","id":10,"method":"initialize","params":{}}"#,
            -32602,
            json!(10),
        ),
        ("[]", -32600, Value::Null),
    ];
    for (body, code, id) in cases {
        let (status, headers, reply) = post_raw(&app, None, body).await;
        assert_eq!(status, http::StatusCode::BAD_REQUEST, "{body}: {reply}");
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(reply["error"]["code"], code, "{body}: {reply}");
        assert_eq!(reply["id"], id, "{body}: {reply}");
    }
}

/// D8: a batch under 2025-03-26 (no protocol header, or that one) is
/// answered as an array in order, notifications and all; later revisions
/// get a 400 saying batches are gone.
#[tokio::test]
async fn batches_are_answered_under_2025_03_26_and_refused_after() {
    let app = demo_app(Default::default());
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_accounts", "arguments": {}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "b", "method": "ping"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": 5}},
        {"jsonrpc": "2.0", "id": 4, "method": "initialize",
         "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
    ])
    .to_string();
    for version in [None, Some("2025-03-26")] {
        let (status, _, reply) = post_raw(&app, version, &batch).await;
        assert_eq!(status, http::StatusCode::OK, "{reply}");
        let answers = reply.as_array().unwrap_or_else(|| panic!("{reply}"));
        let ids: Vec<&Value> = answers.iter().map(|a| &a["id"]).collect();
        assert_eq!(ids, [&json!(1), &json!("b"), &json!(3), &json!(4)], "{reply}");
        assert!(answers[0]["result"]["structuredContent"].is_object(), "{reply}");
        assert_eq!(answers[1]["result"], json!({}));
        assert_eq!(answers[2]["error"]["code"], -32602);
        assert_eq!(answers[3]["error"]["code"], -32600, "initialize is never batched");
    }
    let (status, _, reply) = post_raw(&app, Some("2025-11-25"), &batch).await;
    assert_eq!(status, http::StatusCode::BAD_REQUEST);
    assert_eq!(reply["error"]["code"], -32600);
    let (status, _, reply) = post_raw(
        &app,
        None,
        &json!(vec![json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}); 21]).to_string(),
    )
    .await;
    assert_eq!(status, http::StatusCode::BAD_REQUEST, "{reply}");
}

/// D5: a caller over its request rate gets 429 with Retry-After, and a
/// batch pays for each of its messages.
#[tokio::test]
async fn a_caller_over_its_rate_gets_429_with_retry_after() {
    let app = demo_app(posture_mcp::limits::CallerLimits {
        requests_per_second: 1,
        burst: 3,
        concurrency: 0,
    });
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    for _ in 0..3 {
        assert_eq!(post_raw(&app, None, ping).await.0, http::StatusCode::OK);
    }
    let (status, headers, reply) = post_raw(&app, None, ping).await;
    assert_eq!(status, http::StatusCode::TOO_MANY_REQUESTS, "{reply}");
    assert_eq!(headers["retry-after"], "1");
    assert!(
        reply["error"]["message"].as_str().unwrap().contains("request rate"),
        "{reply}"
    );

    let fresh = demo_app(posture_mcp::limits::CallerLimits {
        requests_per_second: 1,
        burst: 3,
        concurrency: 0,
    });
    let batch = json!(vec![json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}); 5]).to_string();
    let (status, headers, _) = post_raw(&fresh, None, &batch).await;
    assert_eq!(
        status,
        http::StatusCode::TOO_MANY_REQUESTS,
        "5 messages against a burst of 3"
    );
    assert!(headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 2);
}

/// The binary in AWS mode through the counting proxy in front of moto.
fn start_aws(proxy: &posture_tests::faults::FaultProxy, ttl_secs: &str) -> (Server, String) {
    let port = free_port();
    let mut cmd = posture_tests::aws_mode_server(&proxy.endpoint, port);
    cmd.env("POSTURE_REGIONS", "us-east-1,eu-west-1")
        .env("POSTURE_LIVE_CACHE_TTL_SECS", ttl_secs)
        .env("POSTURE_CALLER_CONCURRENCY", "0");
    (spawn_serving(&mut cmd, port), format!("http://127.0.0.1:{port}/mcp"))
}

async fn compliance(url: &str) {
    let c = posture_tests::mcp::call_tool(url, "check_compliance_status", json!({"framework": "CIS"})).await;
    assert_ne!(c["isError"], json!(true), "{c}");
}

/// D5: concurrent posture calls share one live collection, and calls within
/// the TTL reuse it, so twenty calls cost the AWS reads of about one (the
/// finding reads stay per call). With the TTL at 0 every call collects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posture_calls_share_one_live_collection() {
    let moto = posture_tests::moto::Moto::start();
    let proxy = posture_tests::faults::FaultProxy::start(&moto.endpoint, Vec::new(), 1).await;
    let calls = |proxy: &posture_tests::faults::FaultProxy| proxy.totals().requests;

    let (one, url) = start_aws(&proxy, "900");
    compliance(&url).await;
    let single = calls(&proxy);
    drop(one);

    let (twenty, url) = start_aws(&proxy, "900");
    let before = calls(&proxy);
    futures::future::join_all((0..20).map(|_| compliance(&url))).await;
    let concurrent = calls(&proxy) - before;
    let before = calls(&proxy);
    compliance(&url).await;
    let within_ttl = calls(&proxy) - before;
    drop(twenty);

    let (uncached, url) = start_aws(&proxy, "0");
    let before = calls(&proxy);
    for _ in 0..3 {
        compliance(&url).await;
    }
    let three_uncached = calls(&proxy) - before;
    drop(uncached);
    println!(
        "AWS calls: one check_compliance_status {single}; 20 concurrent {concurrent}; \
         one more within the TTL {within_ttl}; 3 with TTL 0 {three_uncached}"
    );
    let finding_reads = within_ttl;
    assert!(
        finding_reads < single / 4,
        "a cached call reads findings only: {finding_reads} of {single}"
    );
    assert!(
        concurrent <= single + 19 * finding_reads,
        "20 concurrent calls collect once: {concurrent} > {single} + 19 × {finding_reads}"
    );
    assert!(
        three_uncached >= 3 * (single - finding_reads),
        "TTL 0 collects each time"
    );
}
