//! The shipped binary, unchanged, against moto and the GuardDuty stand-in,
//! configured only through the standard AWS environment.

use aws_sdk_securityhub::types::{RecordState, SeverityLabel, WorkflowStatus};
use posture_tests::fixtures::{DETECTOR, asff, guardduty_finding};
use posture_tests::mcp::call_tool;
use posture_tests::moto::Moto;
use posture_tests::standin::GuardDutyStandIn;
use posture_tests::{Server, free_port, isolated_command, spawn_serving};
use serde_json::json;
use std::process::Stdio;

fn start(envs: &[(&str, String)]) -> (Server, String) {
    let port = free_port();
    let mut cmd = isolated_command("mcp-server");
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    (spawn_serving(&mut cmd, port), format!("http://127.0.0.1:{port}/mcp"))
}

#[tokio::test]
async fn the_binary_reads_moto_and_the_standin_through_the_standard_environment() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let sh = aws_sdk_securityhub::Client::new(&cfg);
    sh.enable_security_hub().send().await.unwrap();
    sh.batch_import_findings()
        .findings(asff(
            "bin-1",
            "inspector",
            SeverityLabel::Critical,
            3,
            RecordState::Active,
            WorkflowStatus::New,
            &["Software and Configuration Checks/Vulnerabilities/CVE"],
        ))
        .send()
        .await
        .unwrap();
    let standin = GuardDutyStandIn::start(
        DETECTOR,
        vec![guardduty_finding(
            "b1",
            "CryptoCurrency:EC2/BitcoinTool.B!DNS",
            8.0,
            6,
            false,
        )],
    )
    .await;

    let (_server, url) = start(&[
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_ENDPOINT_URL_GUARDDUTY", standin.endpoint.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]);
    let a = call_tool(&url, "analyze_security_findings", json!({"severity_threshold": "HIGH"})).await;
    let s = &a["structuredContent"];
    assert_ne!(a["isError"], json!(true), "{a}");
    assert_eq!(s["coverage"]["partial"], false, "{s}");
    assert_eq!(s["coverage"]["findings_analyzed"], 2);
    assert_eq!(s["threat_landscape"]["source_counts"]["Inspector"], 1);
    assert_eq!(s["threat_landscape"]["source_counts"]["GuardDuty"], 1);

    let h = call_tool(&url, "health_check", json!({})).await;
    assert_eq!(h["structuredContent"]["status"], "healthy", "{h}");

    // The inventory is collected live in every enabled region (POSTURE_REGIONS unset):
    // moto starts without a password policy (CIS 1.8 fails) and with a default VPC
    // without flow logs in each region (3.7 fails on each); moto has no Access
    // Analyzer, and the test front answers for it with no analyzer, so 1.20
    // fails.
    let c = call_tool(
        &url,
        "check_compliance_status",
        json!({"framework": "CIS", "control_ids": ["1.8", "3.7", "1.20"]}),
    )
    .await;
    let c = &c["structuredContent"];
    assert_eq!(c["data_sources"]["inventory_error"], json!(null), "{c}");
    let status = |id: &str| {
        c["control_results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["control_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(status("1.8")["status"], "FAILED", "{c}");
    let flow_logs = status("3.7");
    assert_eq!(flow_logs["status"], "FAILED", "{c}");
    let vpcs = flow_logs["failing_resources"].as_array().unwrap();
    assert!(vpcs.len() > 10, "a default VPC in each enabled region: {vpcs:?}");
    assert!(
        vpcs.iter()
            .all(|v| v.as_str().unwrap().starts_with("123456789012/vpc-"))
    );
    let analyzer = status("1.20");
    assert_eq!(analyzer["status"], "FAILED", "{analyzer}");
    assert_eq!(h["structuredContent"]["configuration"]["data_source"], "aws");
}

#[tokio::test]
async fn the_advisor_profile_variable_selects_the_profile() {
    let moto = Moto::start();
    let dir = std::env::temp_dir().join(format!("posture-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(
        &config,
        "[default]\nregion = us-east-1\n\n[profile advisor]\nregion = eu-west-1\n",
    )
    .unwrap();
    std::fs::write(
        &credentials,
        "[advisor]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let (_server, url) = start(&[
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_CONFIG_FILE", config.display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.display().to_string()),
        ("AWS_SECURITY_ADVISOR_PROFILE_NAME", "advisor".into()),
    ]);
    let h = call_tool(&url, "health_check", json!({})).await;
    let h = &h["structuredContent"];
    assert_eq!(h["configuration"]["aws_region"], "eu-west-1", "{h}");
    assert_eq!(h["services"]["credentials"], "operational", "{h}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// D2: a network address without OAuth is refused before anything is served,
/// unless the operator says the network is trusted.
#[test]
fn a_network_address_without_oauth_is_refused() {
    let refused = isolated_command("mcp-server")
        .args(["--demo", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("refusing to serve 0.0.0.0:0 without authentication"),
        "{stderr}"
    );

    let port = free_port();
    let data = std::env::temp_dir().join(format!("posture-network-{}", std::process::id()));
    let mut allowed = isolated_command("mcp-server");
    allowed
        .args([
            "--demo",
            "--allow-unauthenticated-network",
            "--listen",
            &format!("0.0.0.0:{port}"),
        ])
        .env("POSTURE_DATA_DIR", &data)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    drop(spawn_serving(&mut allowed, port));
    let _ = std::fs::remove_dir_all(&data);
}

/// D7 end to end: the configured credential values never leave the binary,
/// even when an AWS error echoes them (the fault proxy's denials carry the
/// request's `Credential=<key id>/…` scope, as AWS's signature errors do).
/// The key id is not shaped like one, so only exact masking can hide it.
#[tokio::test]
async fn configured_credentials_never_leave_the_binary() {
    const KEY_ID: &str = "PostureTestKeyId7";
    const SECRET: &str = "posture-test-secret-value-0123456789";
    let moto = Moto::start();
    let proxy = posture_tests::faults::FaultProxy::start(
        &moto.endpoint,
        ["sts", "securityhub"]
            .into_iter()
            .map(|service| {
                posture_tests::faults::FaultRule::persistent(service, None, posture_tests::faults::Fault::AccessDenied)
            })
            .collect(),
        1,
    )
    .await;
    let log = std::env::temp_dir().join(format!("posture-masking-{}.log", std::process::id()));
    let port = free_port();
    let mut cmd = isolated_command("mcp-server");
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("RUST_LOG", "debug");
    let server = spawn_serving(&mut cmd, port);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let health = call_tool(&url, "health_check", json!({})).await.to_string();
    let findings = call_tool(&url, "analyze_security_findings", json!({"severity_threshold": "LOW"}))
        .await
        .to_string();
    drop(server);
    let logs = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(proxy.totals().faulted > 0);
    assert!(
        health.contains("Credential=***/"),
        "the denial was echoed and masked: {health}"
    );
    for (what, text) in [
        ("health_check", &health),
        ("analyze_security_findings", &findings),
        ("logs", &logs),
    ] {
        assert!(!text.contains(KEY_ID), "{what} relays the key id: {text}");
        assert!(!text.contains(SECRET), "{what} relays the secret: {text}");
    }
}
