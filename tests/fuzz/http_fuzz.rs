//! `http-fuzz --url http://127.0.0.1:PORT/mcp --pid PID [--requests N]
//! [--concurrency C] [--seed S]`: sends N generated requests to a local MCP
//! server (never anything but 127.0.0.1): valid MCP requests for every tool,
//! then mutated (bytes flipped, cut, values swapped for other JSON types,
//! huge strings, deep nesting, batches, wrong headers and methods). Counts
//! answers by status, fails on any 5xx, dropped connection or request
//! without an answer within 30 s (a hang), samples the server's RSS and
//! prints the figures. `scripts/fuzz` starts the server and runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Valid tool calls, one or more per tool, as the seeds of mutation.
fn seeds() -> Vec<Value> {
    let call = |name: &str, arguments: Value| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    vec![
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        call(
            "assess_security_posture",
            json!({"scope": "account", "target": "123456789012", "frameworks": ["CIS"]}),
        ),
        call(
            "analyze_security_findings",
            json!({"severity_threshold": "HIGH", "time_range_days": 7, "max_findings": 20}),
        ),
        call(
            "check_compliance_status",
            json!({"framework": "CIS", "control_ids": ["1.4", "5.2"]}),
        ),
        call(
            "recommend_security_improvements",
            json!({"priority": "quick-wins", "max_recommendations": 5}),
        ),
        call(
            "validate_security_controls",
            json!({"control_ids": ["iam.root_mfa", "S3.1", "CIS 1.14"]}),
        ),
        call("list_accounts", json!({"max_results": 10})),
        call("get_posture_history", json!({"days": 30, "framework": "CIS"})),
        call("compare_snapshots", json!({"max_items": 10})),
        call("get_assessment_status", json!({"run_id": "20261206T040903Z-demo"})),
        call("health_check", json!({})),
        call("get_server_info", json!({})),
        call(
            "generate_security_report",
            json!({"report_type": "executive", "format": "json"}),
        ),
    ]
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.next() as i64),
        3 => json!((rng.next() as f64) / 7.0),
        4 => json!("x".repeat(rng.below(64))),
        5 => json!(["CIS", "HIGH", "account", "", "-1", "💥", "1.4", "../../etc/passwd"][rng.below(8)]),
        6 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|i| (format!("k{i}"), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

/// Replaces one value somewhere in `v` (a random path) with another.
fn mutate_value(rng: &mut Rng, v: &mut Value) {
    match v {
        Value::Object(map) if !map.is_empty() && rng.chance(75) => {
            let key = map.keys().nth(rng.below(map.len())).cloned().unwrap_or_default();
            if let Some(inner) = map.get_mut(&key) {
                if rng.chance(20) {
                    map.remove(&key);
                } else {
                    mutate_value(rng, inner);
                }
            }
        }
        Value::Array(items) if !items.is_empty() && rng.chance(75) => {
            let i = rng.below(items.len());
            mutate_value(rng, &mut items[i]);
        }
        other => *other = random_value(rng, 0),
    }
}

/// One request: (HTTP method, content type, protocol header, body).
fn request(rng: &mut Rng, seeds: &[Value]) -> (&'static str, &'static str, Option<&'static str>, Vec<u8>) {
    let mut message = seeds[rng.below(seeds.len())].clone();
    let version = [
        None,
        Some("2025-03-26"),
        Some("2025-06-18"),
        Some("2025-11-25"),
        Some("garbage"),
    ][rng.below(5)];
    let method = if rng.chance(97) {
        "POST"
    } else {
        ["GET", "PUT", "DELETE", "PATCH"][rng.below(4)]
    };
    let content_type = if rng.chance(95) {
        "application/json"
    } else {
        ["text/plain", "application/xml", ""][rng.below(3)]
    };
    let body = match rng.below(10) {
        // The seed as it is: the server does real work.
        0 => serde_json::to_vec(&message).unwrap_or_default(),
        // Value mutations (wrong types, missing fields, unknown fields).
        1..=4 => {
            for _ in 0..=rng.below(3) {
                mutate_value(rng, &mut message);
            }
            serde_json::to_vec(&message).unwrap_or_default()
        }
        // Byte mutations: flips, cuts, insertions.
        5 | 6 => {
            let mut bytes = serde_json::to_vec(&message).unwrap_or_default();
            for _ in 0..=rng.below(4) {
                if bytes.is_empty() {
                    break;
                }
                let i = rng.below(bytes.len());
                match rng.below(3) {
                    0 => bytes[i] = rng.next() as u8,
                    1 => bytes.truncate(i),
                    _ => bytes.insert(i, b"{}[]\",:\\0"[rng.below(9)]),
                }
            }
            bytes
        }
        // Batches of seeds and mutants.
        7 => {
            let batch: Vec<Value> = (0..=rng.below(25))
                .map(|_| {
                    let mut m = seeds[rng.below(seeds.len())].clone();
                    if rng.chance(50) {
                        mutate_value(rng, &mut m);
                    }
                    m
                })
                .collect();
            serde_json::to_vec(&batch).unwrap_or_default()
        }
        // Deep nesting and long strings.
        8 => {
            let depth = rng.below(5000);
            let mut s = "[".repeat(depth);
            s.push_str(&"]".repeat(depth));
            s.into_bytes()
        }
        _ => {
            if let Some(args) = message.pointer_mut("/params/arguments").and_then(Value::as_object_mut) {
                args.insert("scope".into(), json!("a".repeat(rng.below(200_000))));
            } else {
                message["id"] = json!("i".repeat(rng.below(200_000)));
            }
            serde_json::to_vec(&message).unwrap_or_default()
        }
    };
    (method, content_type, version, body)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut pid, mut requests, mut concurrency, mut seed) =
        (String::new(), 0u32, 1_000_000u64, 32usize, 1u64);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = value,
            "--pid" => pid = value.parse()?,
            "--requests" => requests = value.parse()?,
            "--concurrency" => concurrency = value.parse()?,
            "--seed" => seed = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if !url.starts_with("http://127.0.0.1:") {
        bail!("--url must be http://127.0.0.1:PORT/mcp (fuzz traffic stays on this machine)");
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let seeds = Arc::new(seeds());
    let next = Arc::new(AtomicU64::new(0));
    let statuses: Arc<std::sync::Mutex<BTreeMap<u16, u64>>> = Arc::default();
    let failures: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let started = Instant::now();
    let rss_start = rss_kib(pid).unwrap_or(0);
    let rss_peak = Arc::new(AtomicU64::new(rss_start));
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let (client, url, seeds, next, statuses, failures, rss_peak) = (
            client.clone(),
            url.clone(),
            seeds.clone(),
            next.clone(),
            statuses.clone(),
            failures.clone(),
            rss_peak.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (worker as u64 + 1) << 32 | 1);
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= requests {
                    break;
                }
                let (method, content_type, version, body) = request(&mut rng, &seeds);
                let mut req = client
                    .request(method.parse().unwrap_or(reqwest::Method::POST), &url)
                    .header("accept", "application/json, text/event-stream")
                    .body(body.clone());
                if !content_type.is_empty() {
                    req = req.header("content-type", content_type);
                }
                if let Some(v) = version {
                    req = req.header("mcp-protocol-version", v);
                }
                match req.send().await {
                    Ok(reply) => {
                        let status = reply.status().as_u16();
                        let _ = reply.bytes().await;
                        *statuses.lock().unwrap().entry(status).or_default() += 1;
                        if status >= 500 {
                            failures.lock().unwrap().push(format!(
                                "HTTP {status} for {}",
                                String::from_utf8_lossy(&body[..body.len().min(300)])
                            ));
                        }
                    }
                    Err(e) => failures.lock().unwrap().push(format!(
                        "no answer ({}) for {}",
                        error_chain(&e),
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    )),
                }
                if n % 10_000 == 0 {
                    if let Some(rss) = rss_kib(pid) {
                        rss_peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    if n % 100_000 == 0 && n > 0 {
                        eprintln!(
                            "{n} requests, {:.0} s, server RSS {} KiB",
                            started.elapsed().as_secs_f64(),
                            rss_kib(pid).unwrap_or(0)
                        );
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let elapsed = started.elapsed();
    let rss_end = rss_kib(pid).unwrap_or(0);
    let statuses = statuses.lock().unwrap().clone();
    let failures = failures.lock().unwrap().clone();
    println!(
        "{requests} requests in {:.1} s ({:.0}/s), concurrency {concurrency}, seed {seed}",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64()
    );
    println!("statuses: {statuses:?}");
    println!(
        "server RSS: {rss_start} KiB at start, peak sampled {} KiB, {rss_end} KiB at end",
        rss_peak.load(Ordering::Relaxed)
    );
    let alive = rss_kib(pid).is_some();
    println!("failures (5xx, no answer): {}; server alive: {alive}", failures.len());
    for f in failures.iter().take(10) {
        println!("  {f}");
    }
    if !failures.is_empty() || !alive {
        bail!("the fuzz run found failures");
    }
    Ok(())
}
