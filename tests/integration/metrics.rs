//! Item 6 of the reliability issue: the metrics count what really happened.
//! The binary, in AWS mode, reads moto through the fault-injecting proxy
//! (KMS throttled in eu-west-1, a share of EC2 calls in us-east-1 answered
//! 503), with EMF lines on: the AWS calls and retries it counts per service
//! equal the requests the proxy saw, its throttles equal the throttles the
//! proxy injected, `health_check` shows the same totals, and the EMF lines
//! add up to them. And the circuit breakers, whose skips and opens the
//! metrics count.

use posture_tests::faults::{Fault, FaultProxy, FaultRule};
use posture_tests::mcp::call_tool;
use posture_tests::moto::Moto;
use posture_tests::{aws_mode_server, free_port, spawn_serving};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_the_calls_the_proxy_saw() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        vec![
            FaultRule::persistent("kms", Some("eu-west-1"), Fault::Throttle),
            FaultRule {
                service: Some("ec2".into()),
                region: Some("us-east-1".into()),
                operation: None,
                fault: Fault::Unavailable,
                share: 0.3,
            },
        ],
        11,
    )
    .await;
    let port = free_port();
    let log = std::env::temp_dir().join(format!("posture-metrics-{}-{port}.log", std::process::id()));
    let mut cmd = aws_mode_server(&proxy.endpoint, port);
    cmd.env("POSTURE_REGIONS", "us-east-1,eu-west-1")
        .env("POSTURE_METRICS", "emf")
        .stderr(std::fs::File::create(&log).unwrap());
    let server = spawn_serving(&mut cmd, port);
    let url = format!("http://127.0.0.1:{port}/mcp");

    let c = call_tool(&url, "check_compliance_status", json!({"framework": "CIS"})).await;
    assert_ne!(c["isError"], json!(true), "{c}");
    let h = call_tool(&url, "health_check", json!({})).await;
    let metrics = &h["structuredContent"]["metrics"];
    drop(server);

    // Requests per service as the proxy saw them, and the throttles it sent.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut throttled = 0;
    for (call, counts) in proxy.counts() {
        *seen.entry(call.service.clone()).or_default() += counts.requests as u64;
        if call.service == "kms" && call.region == "eu-west-1" {
            throttled += counts.faulted as u64;
        }
    }
    let counted: BTreeMap<String, u64> = metrics["aws"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(service, t)| {
            (
                service.clone(),
                t["calls"].as_u64().unwrap() + t["retries"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counted, seen, "attempts per service: counted vs seen by the proxy");
    let total = |field: &str| -> u64 {
        metrics["aws"]
            .as_object()
            .unwrap()
            .values()
            .map(|t| t[field].as_u64().unwrap())
            .sum()
    };
    assert_eq!(total("throttles"), throttled);
    assert!(throttled >= 4, "KMS calls are retried while throttled: {throttled}");
    assert!(metrics["aws"]["kms"]["errors"].as_u64().unwrap() >= 1);
    assert!(metrics["aws"]["ec2"]["retries"].as_u64().unwrap() >= 1, "{metrics}");
    assert_eq!(metrics["tools"]["check_compliance_status"]["calls"], 1);
    assert_eq!(
        metrics["tools"]["check_compliance_status"]["partial_answers"], 1,
        "KMS unread"
    );

    // The EMF lines carry the same numbers.
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("_aws").is_some())
        .collect();
    let emf_sum = |name: &str| -> u64 { lines.iter().filter_map(|l| l[name].as_f64()).sum::<f64>() as u64 };
    assert_eq!(emf_sum("AwsCalls") + emf_sum("AwsRetries"), seen.values().sum::<u64>());
    assert_eq!(emf_sum("AwsThrottles"), throttled);
    assert_eq!(emf_sum("ToolCalls"), 2);
    let tool_line = lines.iter().find(|l| l["Tool"] == "check_compliance_status").unwrap();
    println!("EMF tool line: {tool_line}");
    if let Some(kms) = lines.iter().find(|l| l["Service"] == "kms") {
        println!("EMF AWS line: {kms}");
    }
    println!(
        "metrics: {} AWS requests seen by the proxy = counted; {throttled} throttles; {} EMF lines",
        seen.values().sum::<u64>(),
        lines.len()
    );
    let _ = std::fs::remove_file(&log);
}

/// Item 3: with Security Hub answering 500 to everything, eight
/// `analyze_security_findings` calls in a row. Without breakers every call
/// spends the retry budget on it; with them, the third failed call opens the
/// circuit and the later calls skip it at once, saying "circuit open" in
/// the list of sources (moto has no GuardDuty detector, so each call is an
/// error listing both sources' reasons). Measured: requests and time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_circuit_skips_a_failing_service() {
    let moto = Moto::start();
    let mut figures = Vec::new();
    for failures in ["0", "3"] {
        let proxy = FaultProxy::start(
            &moto.endpoint,
            vec![FaultRule::persistent("securityhub", None, Fault::InternalError)],
            3,
        )
        .await;
        let port = free_port();
        let mut cmd = aws_mode_server(&proxy.endpoint, port);
        cmd.env("POSTURE_CIRCUIT_FAILURES", failures);
        let server = spawn_serving(&mut cmd, port);
        let url = format!("http://127.0.0.1:{port}/mcp");
        let started = std::time::Instant::now();
        let mut last = Value::Null;
        for _ in 0..8 {
            last = call_tool(&url, "analyze_security_findings", json!({})).await;
        }
        let took = started.elapsed();
        let health = call_tool(&url, "health_check", json!({})).await;
        drop(server);
        let hub_requests: usize = proxy
            .counts()
            .iter()
            .filter(|(call, _)| call.service == "securityhub" && call.operation.contains("findings"))
            .map(|(_, c)| c.requests)
            .sum();
        // Security Hub fails; the sources read directly still answer (GuardDuty
        // has no detector in moto), so the answer is partial and says why.
        assert_ne!(last["isError"], json!(true), "{last}");
        assert_eq!(last["structuredContent"]["coverage"]["partial"], json!(true));
        let sources = last["structuredContent"]["coverage"]["sources"].to_string();
        figures.push((
            failures,
            hub_requests,
            took,
            health["structuredContent"]["metrics"]["aws"]["securityhub"].clone(),
        ));
        if failures == "0" {
            assert_eq!(hub_requests, 8 * 4, "each call tries the retry budget's 4 attempts");
            assert!(!sources.contains("circuit open"), "{sources}");
        } else {
            assert_eq!(
                hub_requests,
                3 * 4,
                "three failed calls open the circuit; the rest send nothing"
            );
            assert!(
                sources
                    .contains("circuit open: securityhub in us-east-1 failed 3 times in a row; calls are skipped for"),
                "{sources}"
            );
            assert!(!sources.contains("ConstructionFailure"), "{sources}");
            let skipped = &health["structuredContent"]["metrics"]["aws"]["securityhub"];
            assert_eq!(skipped["circuit_opens"], 1, "{skipped}");
            assert_eq!(skipped["circuit_skips"], 5, "{skipped}");
        }
    }
    for (failures, requests, took, metrics) in figures {
        println!(
            "breaker {}: 8 calls with Security Hub down: {requests} Security Hub requests, {took:.1?}; {metrics}",
            if failures == "0" { "off" } else { "on (3 failures)" }
        );
    }
}
