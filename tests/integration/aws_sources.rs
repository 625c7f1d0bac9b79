//! The Security Hub and GuardDuty adapters through the real SDK clients:
//! moto for Security Hub, the stand-in for GuardDuty's findings APIs.

use aws_config::SdkConfig;
use aws_sdk_securityhub::types::{AwsSecurityFinding, RecordState, SeverityLabel, WorkflowStatus};
use jiff::Timestamp;
use posture_aws::guardduty::GuardDutySource;
use posture_aws::health::AwsHealth;
use posture_aws::securityhub::SecurityHubSource;
use posture_core::Severity;
use posture_core::ports::FindingSource;
use posture_core::sources::{FindingQuery, SourceErrorKind};
use posture_core::time::TimeWindow;
use posture_mcp::{Backend, Mode, PostureServer};
use posture_tests::faults::{Fault, FaultProxy, FaultRule, sdk_through};
use posture_tests::fixtures::{DETECTOR, asff, guardduty_arn, guardduty_finding};
use posture_tests::moto::{Moto, sdk_config_for};
use posture_tests::standin::{Failure, GuardDutyStandIn};
use serde_json::{Value, json};
use std::sync::Arc;

const CVE: &str = "Software and Configuration Checks/Vulnerabilities/CVE";

fn query(days: u32, min: Severity, max: usize) -> FindingQuery {
    FindingQuery {
        window: TimeWindow::last_days(Timestamp::now(), days),
        min_severity: min,
        max_findings: max,
        filter: Default::default(),
    }
}

async fn import(cfg: &SdkConfig, findings: Vec<AwsSecurityFinding>) {
    let client = aws_sdk_securityhub::Client::new(cfg);
    client.enable_security_hub().send().await.unwrap();
    for chunk in findings.chunks(100) {
        let out = client
            .batch_import_findings()
            .set_findings(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_count(), Some(0), "{:?}", out.failed_findings());
    }
}

fn guardduty_client(cfg: &SdkConfig, endpoint: &str) -> aws_sdk_guardduty::Client {
    aws_sdk_guardduty::Client::from_conf(
        aws_sdk_guardduty::config::Builder::from(cfg)
            .endpoint_url(endpoint)
            .build(),
    )
}

fn backend(cfg: &SdkConfig, securityhub_cfg: &SdkConfig, guardduty_endpoint: &str) -> Backend {
    let sh = aws_sdk_securityhub::Client::new(securityhub_cfg);
    let gd = guardduty_client(cfg, guardduty_endpoint);
    let sources: Vec<Arc<dyn posture_core::ports::FindingSource>> = vec![
        Arc::new(SecurityHubSource::new(sh.clone())),
        Arc::new(GuardDutySource::new(gd.clone())),
    ];
    aws_backend(
        sources,
        AwsHealth {
            sts: aws_sdk_sts::Client::new(cfg),
            securityhub: sh,
            guardduty: gd,
            region: "us-east-1".into(),
        },
    )
}

/// An AWS-mode backend over `sources`, with the demo's inventories and the
/// built-in frameworks (the finding tools' tests need no more).
pub(crate) fn aws_backend(sources: Vec<Arc<dyn posture_core::ports::FindingSource>>, health: AwsHealth) -> Backend {
    Backend {
        sources,
        health: Arc::new(health),
        mode: Mode::Aws,
        log_level: "info".into(),
        auth_methods: vec!["test".into()],
        inventories: Arc::new(posture_core::demo::DemoOrganization::load(Timestamp::now()).unwrap()),
        frameworks: posture_core::posture::frameworks::builtin().unwrap(),
        framework_errors: Vec::new(),
        exceptions: Default::default(),
        history: None,
        members: None,
        events: None,
        startup: None,
        access: None,
        explorer: None,
    }
}

async fn call(server: &PostureServer, tool: &str, args: Value) -> (bool, Value) {
    let result = server
        .call(tool, args.as_object().cloned(), "test", "req-1")
        .await
        .unwrap();
    (result.is_error == Some(true), result.structured_content.unwrap())
}

#[tokio::test]
async fn security_hub_pages_are_all_read_and_the_filters_hold_client_side() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let mut findings = Vec::new();
    for i in 0..230 {
        let label = if i % 2 == 1 {
            SeverityLabel::High
        } else {
            SeverityLabel::Medium
        };
        findings.push(asff(
            &format!("sh-{i}"),
            "inspector",
            label,
            i % 200,
            RecordState::Active,
            WorkflowStatus::New,
            &[CVE],
        ));
    }
    for i in 230..240 {
        findings.push(asff(
            &format!("sh-low-{i}"),
            "inspector",
            SeverityLabel::Low,
            5,
            RecordState::Active,
            WorkflowStatus::New,
            &[CVE],
        ));
    }
    for i in 240..245 {
        findings.push(asff(
            &format!("sh-old-{i}"),
            "inspector",
            SeverityLabel::High,
            40 * 24,
            RecordState::Active,
            WorkflowStatus::New,
            &[CVE],
        ));
    }
    for i in 245..248 {
        findings.push(asff(
            &format!("sh-archived-{i}"),
            "inspector",
            SeverityLabel::High,
            5,
            RecordState::Archived,
            WorkflowStatus::New,
            &[CVE],
        ));
    }
    for i in 248..250 {
        findings.push(asff(
            &format!("sh-suppressed-{i}"),
            "inspector",
            SeverityLabel::High,
            5,
            RecordState::Active,
            WorkflowStatus::Suppressed,
            &[CVE],
        ));
    }
    import(&cfg, findings).await;
    let source = SecurityHubSource::new(aws_sdk_securityhub::Client::new(&cfg));

    let all = source.fetch(&query(30, Severity::Medium, 1000)).await.unwrap();
    assert_eq!(all.records_read, 250, "three pages of at most 100 were read");
    assert_eq!(all.findings.len(), 230);
    assert_eq!(all.dropped_by_filter, 20);
    assert!(all.rejected.is_empty(), "{:?}", all.rejected);
    assert!(!all.more_available);
    assert!(
        all.findings
            .iter()
            .all(|f| f.id.starts_with("sh-") && f.id[3..].parse::<u32>().is_ok())
    );

    let high = source.fetch(&query(30, Severity::High, 1000)).await.unwrap();
    assert_eq!(high.findings.len(), 115);
    assert!(high.findings.iter().all(|f| f.severity == Severity::High));

    let recent = source.fetch(&query(1, Severity::Medium, 1000)).await.unwrap();
    assert_eq!(
        recent.findings.len(),
        24 + 24,
        "updated 0..23 h ago, twice over i % 200"
    );

    let capped = source.fetch(&query(30, Severity::Medium, 120)).await.unwrap();
    assert_eq!(capped.findings.len(), 120);
    assert!(capped.more_available);

    // Through an account's HTTP client the pages are parsed straight into
    // ASFF, not through the SDK's model: the same findings either way.
    let account_cfg = posture_aws::transport::for_account(&cfg, "raw-pages");
    let raw = SecurityHubSource::new(aws_sdk_securityhub::Client::new(&account_cfg));
    let via_raw = raw.fetch(&query(30, Severity::Medium, 1000)).await.unwrap();
    assert_eq!(via_raw, all, "raw pages and the SDK's model normalize alike");
}

/// Every finding of `cfg`'s account in us-east-1, through an account's
/// HTTP client (its quota buckets) named `account`.
async fn collect_through(cfg: &SdkConfig, account: &str) -> posture_aws::collector::FindingsRead {
    let sdk = posture_aws::transport::for_account(cfg, account);
    // Its own task: the read is a deep future for a test thread's stack.
    tokio::spawn(async move {
        posture_aws::collector::collect_findings(
            &sdk,
            &["us-east-1".to_string()],
            &posture_aws::finding_sources::SourceKind::HUB_AND_GUARDDUTY,
            Timestamp::now(),
            posture_aws::collector::MAX_FINDINGS_PER_ACCOUNT,
        )
        .await
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_throttled_source_still_yields_every_finding_and_says_so() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let findings = (0..250)
        .map(|i| {
            asff(
                &format!("sh-{i}"),
                "inspector",
                SeverityLabel::High,
                i % 48,
                RecordState::Active,
                WorkflowStatus::New,
                &[CVE],
            )
        })
        .collect();
    import(&cfg, findings).await;
    let get_findings = |share| FaultRule {
        service: Some("securityhub".into()),
        region: None,
        operation: Some("POST /findings".into()),
        fault: Fault::Throttle,
        share,
    };

    // A third of the GetFindings requests throttled: the retries carry every
    // page through, and the read says how many attempts were throttled.
    let proxy = FaultProxy::start(&moto.endpoint, vec![get_findings(0.34)], 7).await;
    let read = collect_through(&sdk_through(&proxy.endpoint).await, "throttled-at-times").await;
    let throttled = proxy.totals().faulted;
    assert!(throttled > 0, "the seed throttles some requests");
    assert_eq!(read.findings.len(), 250, "complete: {:?}", read.gaps);
    assert!(read.gaps.iter().all(|g| !g.leaves_unread()), "{:?}", read.gaps);
    let flagged = read.throttled.iter().find(|t| t.service == "Security Hub").unwrap();
    assert_eq!((flagged.region.as_str(), flagged.attempts), ("us-east-1", throttled));

    // Every request throttled: the retries run out and the read is a gap
    // of kind Throttled, never a short result passed off as whole.
    let proxy = FaultProxy::start(&moto.endpoint, vec![get_findings(1.0)], 7).await;
    let read = collect_through(&sdk_through(&proxy.endpoint).await, "throttled-always").await;
    assert!(read.findings.is_empty());
    let gap = read.gaps.iter().find(|g| g.service == "Security Hub").unwrap();
    assert_eq!(gap.error, Some(SourceErrorKind::Throttled), "{gap}");
    assert!(gap.leaves_unread());
    let attempts: usize = proxy
        .counts()
        .iter()
        .filter(|(call, _)| call.operation == "POST /findings")
        .map(|(_, n)| n.requests)
        .sum();
    assert_eq!(attempts, 4, "one call, its 4 attempts");
}

fn guardduty_fixtures() -> Vec<Value> {
    let mut v = Vec::new();
    for i in 0..100 {
        v.push(guardduty_finding(
            &format!("{i:032x}"),
            "CryptoCurrency:EC2/BitcoinTool.B",
            8.0,
            i,
            false,
        ));
    }
    for i in 100..110 {
        v.push(guardduty_finding(
            &format!("{i:032x}"),
            "Recon:EC2/PortProbeUnprotectedPort",
            2.0,
            3,
            false,
        ));
    }
    for i in 110..120 {
        v.push(guardduty_finding(
            &format!("{i:032x}"),
            "Backdoor:EC2/C&CActivity.B",
            8.0,
            3,
            true,
        ));
    }
    for i in 120..130 {
        v.push(guardduty_finding(
            &format!("{i:032x}"),
            "Trojan:EC2/DNSDataExfiltration",
            8.0,
            1000,
            false,
        ));
    }
    v
}

#[tokio::test]
async fn guardduty_lists_every_page_gets_in_batches_of_50_and_filters_client_side() {
    let standin = GuardDutyStandIn::start(DETECTOR, guardduty_fixtures()).await;
    let cfg = sdk_config_for(&standin.endpoint).await;
    let source = GuardDutySource::new(guardduty_client(&cfg, &standin.endpoint));
    let before = Timestamp::now();
    let batch = source.fetch(&query(30, Severity::Medium, 1000)).await.unwrap();
    assert_eq!(batch.records_read, 130);
    assert_eq!(batch.findings.len(), 100, "low, archived and old findings are dropped");
    assert_eq!(batch.dropped_by_filter, 30);
    assert!(
        batch
            .findings
            .iter()
            .all(|f| f.finding_type == "CryptoCurrency:EC2/BitcoinTool.B")
    );

    let requests = standin.list_requests();
    assert_eq!(requests.len(), 3, "130 ids in pages of 50");
    let criterion = &requests[0]["findingCriteria"]["criterion"];
    assert_eq!(criterion["service.archived"]["equals"], json!(["false"]));
    assert_eq!(criterion["severity"]["greaterThanOrEqual"], json!(4));
    let since = criterion["updatedAt"]["greaterThanOrEqual"].as_i64().unwrap();
    let expected = before.as_millisecond() - 30 * 86_400_000;
    assert!(
        (since - expected).abs() < 60_000,
        "updatedAt filter {since} vs {expected}"
    );
    let batches = standin.get_batches();
    assert!(batches.iter().all(|&n| n <= 50));
    assert_eq!(batches.iter().sum::<usize>(), 130);
}

#[tokio::test]
async fn guardduty_copies_in_security_hub_are_counted_once_and_a_failed_source_leaves_a_partial_result() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let gd = vec![
        guardduty_finding("a1", "CryptoCurrency:EC2/BitcoinTool.B", 8.0, 10, false),
        guardduty_finding("a2", "Backdoor:EC2/C&CActivity.B", 8.0, 5, false),
        guardduty_finding("a3", "UnauthorizedAccess:EC2/TorClient", 5.0, 4, false),
    ];
    let standin = GuardDutyStandIn::start(DETECTOR, gd).await;
    let ttp = "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B";
    import(
        &cfg,
        vec![
            asff(
                &guardduty_arn("a1"),
                "guardduty",
                SeverityLabel::High,
                10,
                RecordState::Active,
                WorkflowStatus::New,
                &["Effects/Resource Consumption/CryptoCurrency:EC2-BitcoinTool.B"],
            ),
            asff(
                &guardduty_arn("a2"),
                "guardduty",
                SeverityLabel::High,
                5,
                RecordState::Active,
                WorkflowStatus::New,
                &[ttp],
            ),
            asff(
                "native-1",
                "securityhub",
                SeverityLabel::High,
                2,
                RecordState::Active,
                WorkflowStatus::New,
                &["Software and Configuration Checks/Industry and Regulatory Standards"],
            ),
            asff(
                "native-2",
                "inspector",
                SeverityLabel::Critical,
                2,
                RecordState::Active,
                WorkflowStatus::New,
                &[CVE],
            ),
        ],
    )
    .await;
    let server = PostureServer::new(backend(&cfg, &cfg, &standin.endpoint));

    let (is_error, a) = call(&server, "analyze_security_findings", json!({})).await;
    assert!(!is_error, "{a}");
    assert_eq!(a["coverage"]["duplicates_removed"], 2);
    assert_eq!(a["coverage"]["findings_analyzed"], 5);
    assert_eq!(a["coverage"]["partial"], false);
    assert_eq!(a["threat_landscape"]["source_counts"]["GuardDuty"], 3);
    let patterns = a["attack_patterns"].as_array().unwrap();
    assert_eq!(patterns.len(), 1, "{patterns:#?}");
    assert_eq!(patterns[0]["related_findings_count"], 3);

    standin.fail_with(Some(Failure {
        status: 403,
        code: "AccessDeniedException",
    }));
    let (is_error, a) = call(&server, "analyze_security_findings", json!({})).await;
    assert!(!is_error, "{a}");
    assert_eq!(a["coverage"]["partial"], true);
    let sources = a["coverage"]["sources"].as_array().unwrap();
    let gd = sources.iter().find(|s| s["service"] == "GuardDuty").unwrap();
    assert_eq!(gd["status"], "failed");
    assert_eq!(gd["error"]["kind"], "Authentication");
    let sh = sources.iter().find(|s| s["service"] == "Security Hub").unwrap();
    assert_eq!(sh["status"], "ok");
    assert_eq!(
        a["coverage"]["findings_analyzed"], 4,
        "Security Hub alone still answers"
    );
    assert_eq!(a["coverage"]["duplicates_removed"], 0);

    let closed = sdk_config_for("http://127.0.0.1:1").await;
    let broken = PostureServer::new(backend(&cfg, &closed, &standin.endpoint));
    let (is_error, e) = call(&broken, "analyze_security_findings", json!({})).await;
    assert!(is_error);
    assert_eq!(e["error_type"], "AuthenticationError", "{e}");
    assert_eq!(e["context"]["sources"].as_array().unwrap().len(), 2);
    assert!(!e.to_string().contains("testing"), "no credentials in errors: {e}");
}

#[tokio::test]
async fn health_follows_the_dependencies() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    aws_sdk_securityhub::Client::new(&cfg)
        .enable_security_hub()
        .send()
        .await
        .unwrap();
    let standin = GuardDutyStandIn::start(DETECTOR, Vec::new()).await;
    let server = PostureServer::new(backend(&cfg, &cfg, &standin.endpoint));
    let (_, h) = call(&server, "health_check", json!({})).await;
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["services"]["credentials"], "operational");
    assert!(
        h["dependencies"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("123456789012")
    );

    standin.fail_with(Some(Failure {
        status: 500,
        code: "InternalServerErrorException",
    }));
    let (_, h) = call(&server, "health_check", json!({})).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["services"]["guardduty"], "failed");

    let closed = sdk_config_for("http://127.0.0.1:1").await;
    let server = PostureServer::new(backend(&closed, &closed, &standin.endpoint));
    let (_, h) = call(&server, "health_check", json!({})).await;
    assert_eq!(h["status"], "unhealthy", "{h}");
}

#[tokio::test]
async fn the_demo_guardduty_findings_have_the_wire_shape_the_sdk_reads() {
    let now = Timestamp::now();
    let raw = posture_core::demo::guardduty_api_json(now).unwrap();
    let standin = GuardDutyStandIn::start(DETECTOR, raw.clone()).await;
    let cfg = sdk_config_for(&standin.endpoint).await;
    let source = GuardDutySource::new(guardduty_client(&cfg, &standin.endpoint));
    let everything = query(365, Severity::Low, 1000);
    let via_sdk = source.fetch(&everything).await.unwrap();
    assert!(via_sdk.rejected.is_empty(), "{:?}", via_sdk.rejected);
    assert_eq!(via_sdk.records_read, raw.len());

    let org = Arc::new(posture_core::demo::DemoOrganization::load(now).unwrap());
    let guardduty = org.sources().into_iter().find(|s| s.service() == "GuardDuty").unwrap();
    let direct = guardduty.fetch(&everything).await.unwrap();
    assert!(!direct.findings.is_empty());
    assert_eq!(
        via_sdk.findings, direct.findings,
        "the SDK path and the demo path normalize alike"
    );
}

#[tokio::test]
async fn throttled_calls_are_retried_under_the_product_retry_settings() {
    let standin = GuardDutyStandIn::start(DETECTOR, guardduty_fixtures()).await;
    let base = sdk_config_for(&standin.endpoint).await;
    let cfg = base
        .to_builder()
        .retry_config(posture_aws::config::retry_config())
        .build();
    let source = GuardDutySource::new(guardduty_client(&cfg, &standin.endpoint));
    // Three throttled answers: the fourth and last attempt of the first call succeeds.
    standin.fail_next(
        Failure {
            status: 400,
            code: "ThrottlingException",
        },
        3,
    );
    let batch = source.fetch(&query(30, Severity::Medium, 1000)).await.unwrap();
    assert_eq!(standin.failures_left(), Some(0));
    assert_eq!(batch.records_read, 130);

    // A fourth throttled answer in a row exhausts the attempts: the source reports it.
    standin.fail_next(
        Failure {
            status: 400,
            code: "ThrottlingException",
        },
        4,
    );
    let e = source.fetch(&query(30, Severity::Medium, 1000)).await.unwrap_err();
    assert_eq!(e.kind, posture_core::sources::SourceErrorKind::Throttled, "{e:?}");
    assert_eq!(standin.failures_left(), Some(0));
}
