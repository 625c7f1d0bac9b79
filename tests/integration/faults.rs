//! Verdicts under injected faults: one account in moto, collected live in two
//! regions through the fault-injecting proxy, assessed against CIS v3.0.
//! Every scenario is compared with the fault-free run through the same
//! proxy: a fault may move a requirement to UNKNOWN (with the gap listed),
//! never to PASSED or FAILED from anything else; every faulted read is a
//! gap; retries stay within the SDK's budget; the run ends in bounded time.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_securityhub::config::Credentials;
use aws_sdk_securityhub::types::{Compliance, ComplianceStatus, RecordState, SeverityLabel, WorkflowStatus};
use posture_core::findings::analysis;
use posture_core::ports::{FindingSource, InventorySource};
use posture_core::posture::compliance::{self, ComplianceReport, DataSources};
use posture_core::posture::frameworks::{self, ControlStatus};
use posture_core::posture::inventory::Inventory;
use posture_core::severity::Severity;
use posture_core::sources::FindingQuery;
use posture_core::time::TimeWindow;
use posture_tests::faults::{Fault, FaultProxy, FaultRule, open_ssh, sdk_through};
use posture_tests::fixtures::{MOTO_ACCOUNT, asff};
use posture_tests::moto::{Moto, sdk_config_for};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// The product's own retry budget (posture_aws::config): at most this many
/// attempts per call.
const MAX_ATTEMPTS: usize = 4;

/// The account, in the D1 shape: what fails is only in eu-west-1 (SSH open
/// to the world, EBS default encryption off, a KMS key without rotation),
/// while us-east-1 passes (SSH closed to the internet, encryption on, a
/// rotating key); and a Security Hub control finding (IAM.4, CIS 1.4) that
/// FAILED while the native check passes.
async fn plant(moto: &Moto) {
    let base = sdk_config_for(&moto.endpoint).await;
    for (region, cidr) in [("eu-west-1", "0.0.0.0/0"), ("us-east-1", "10.0.0.0/8")] {
        open_ssh(&base, region, cidr).await;
        let ec2 = aws_sdk_ec2::Client::new(&base.to_builder().region(Region::new(region)).build());
        let regional = base.to_builder().region(Region::new(region)).build();
        let kms = aws_sdk_kms::Client::new(&regional);
        let key = kms.create_key().send().await.unwrap();
        if region == "us-east-1" {
            ec2.enable_ebs_encryption_by_default().send().await.unwrap();
            let id = key.key_metadata().unwrap().key_id();
            kms.enable_key_rotation().key_id(id).send().await.unwrap();
        }
    }
    let hub = aws_sdk_securityhub::Client::new(&base);
    hub.enable_security_hub().send().await.unwrap();
    let mut finding = asff(
        "iam-4-root-keys",
        "securityhub",
        SeverityLabel::Critical,
        2,
        RecordState::Active,
        WorkflowStatus::New,
        &["Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"],
    );
    finding.compliance = Some(
        Compliance::builder()
            .status(ComplianceStatus::Failed)
            .security_control_id("IAM.4")
            .build(),
    );
    let out = hub.batch_import_findings().findings(finding).send().await.unwrap();
    assert_eq!(out.failed_count(), Some(0), "{:?}", out.failed_findings());
    // One trail, homed in us-east-1 and not multi-region: CIS 3.1 fails
    // whatever another region says.
    let s3 = posture_tests::moto::admin_s3(&base);
    s3.create_bucket().bucket("single-region-trail").send().await.unwrap();
    let trail = posture_tests::moto::admin_cloudtrail(&base);
    trail
        .create_trail()
        .name("us-east-1-only")
        .s3_bucket_name("single-region-trail")
        .send()
        .await
        .unwrap();
    trail.start_logging().name("us-east-1-only").send().await.unwrap();
}

/// What one assessment through the proxy gave.
struct Assessed {
    inventory: Inventory,
    report: ComplianceReport,
    took: Duration,
}

/// Collects and assesses as `check_compliance_status` does: inventory and
/// Security Hub control findings read together, merged, then CIS.
async fn assess(proxy: &FaultProxy) -> Assessed {
    let started = Instant::now();
    let sdk = sdk_through(&proxy.endpoint).await;
    let live = posture_aws::collect::LiveInventory {
        sdk: sdk.clone(),
        regions: Some(REGIONS.iter().map(|r| r.to_string()).collect()),
        breakers: None,
    };
    let now = jiff::Timestamp::now();
    let query = FindingQuery {
        window: TimeWindow::last_days(now, 90),
        min_severity: Severity::Informational,
        max_findings: 10_000,
        filter: Default::default(),
    };
    let hub = posture_aws::securityhub::SecurityHubSource::new(posture_aws::guarded_client!(
        aws_sdk_securityhub,
        &sdk,
        posture_aws::iam::READ_ONLY
    ));
    let (inventories, findings) = tokio::join!(live.inventories(), hub.fetch(&query));
    let mut inventories = inventories.unwrap();
    assert_eq!(inventories.len(), 1);
    let merged = analysis::merge(vec![(hub.service().to_string(), findings)], &query);
    let sources = DataSources {
        inventory_error: None,
        finding_sources: merged.sources,
        aws_tooling: compliance::tooling(&inventories),
        findings_truncated: merged.truncated,
        ..DataSources::default()
    };
    let cis = frameworks::builtin()
        .unwrap()
        .into_iter()
        .find(|f| f.short_name == "CIS")
        .unwrap();
    let report = compliance::report(&cis, &inventories, &merged.findings, &[], false, sources, now);
    Assessed {
        inventory: inventories.remove(0),
        report,
        took: started.elapsed(),
    }
}

fn statuses(r: &ComplianceReport) -> BTreeMap<String, ControlStatus> {
    r.control_results
        .iter()
        .map(|c| (c.control_id.clone(), c.status))
        .collect()
}

fn result<'a>(r: &'a ComplianceReport, id: &str) -> &'a compliance::ControlResult {
    r.control_results.iter().find(|c| c.control_id == id).unwrap()
}

/// A change a fault may make: none, or to UNKNOWN with the gap listed.
fn dishonest_flips(baseline: &ComplianceReport, faulted: &ComplianceReport) -> Vec<String> {
    let before = statuses(baseline);
    faulted
        .control_results
        .iter()
        .filter(|c| {
            let honest =
                c.status == before[&c.control_id] || (c.status == ControlStatus::Unknown && !c.data_gaps.is_empty());
            !honest
        })
        .map(|c| format!("{}: {:?} -> {:?}", c.control_id, before[&c.control_id], c.status))
        .collect()
}

struct Scenario {
    name: &'static str,
    rules: Vec<FaultRule>,
    /// Inventory sections (as `snapshot::inventory_gaps` names them) that
    /// must be gaps under this fault.
    gap_sections: Vec<&'static str>,
    /// CIS requirements FAILED in the baseline only through what the fault
    /// hides: UNKNOWN under it (each was PASSED here before the fix).
    now_unknown: Vec<&'static str>,
    /// CIS requirements FAILED in the baseline that the fault must not
    /// hide: what the other regions show still decides them.
    still_failed: Vec<&'static str>,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "EC2 503 in eu-west-1",
            rules: vec![FaultRule::persistent("ec2", Some("eu-west-1"), Fault::Unavailable)],
            gap_sections: vec!["eu-west-1 ec2"],
            now_unknown: vec!["5.2", "2.2.1"],
            still_failed: vec![],
        },
        Scenario {
            name: "KMS throttled in eu-west-1",
            rules: vec![FaultRule::persistent("kms", Some("eu-west-1"), Fault::Throttle)],
            gap_sections: vec!["eu-west-1 kms"],
            now_unknown: vec!["3.6"],
            still_failed: vec![],
        },
        Scenario {
            name: "Config AccessDenied",
            rules: vec![FaultRule::persistent("config", None, Fault::AccessDenied)],
            gap_sections: vec!["us-east-1 config", "eu-west-1 config"],
            now_unknown: vec![],
            still_failed: vec![],
        },
        Scenario {
            name: "eu-west-1 throttled (every service)",
            rules: vec![FaultRule {
                service: None,
                region: Some("eu-west-1".into()),
                operation: None,
                fault: Fault::Throttle,
                share: 1.0,
            }],
            gap_sections: vec!["eu-west-1 ec2", "eu-west-1 kms", "eu-west-1 config"],
            now_unknown: vec!["5.2", "2.2.1", "3.6"],
            still_failed: vec!["3.1"],
        },
        Scenario {
            name: "CloudTrail 503 in eu-west-1",
            rules: vec![FaultRule::persistent(
                "cloudtrail",
                Some("eu-west-1"),
                Fault::Unavailable,
            )],
            gap_sections: vec!["eu-west-1 cloudtrail"],
            now_unknown: vec![],
            still_failed: vec!["3.1"],
        },
        Scenario {
            name: "Security Hub 500",
            rules: vec![FaultRule::persistent("securityhub", None, Fault::InternalError)],
            gap_sections: vec![],
            now_unknown: vec!["1.4"],
            still_failed: vec![],
        },
        Scenario {
            name: "EC2 connections cut in eu-west-1",
            rules: vec![FaultRule::persistent("ec2", Some("eu-west-1"), Fault::Drop)],
            gap_sections: vec!["eu-west-1 ec2"],
            now_unknown: vec!["5.2", "2.2.1"],
            still_failed: vec![],
        },
    ]
}

#[tokio::test]
async fn faults_never_turn_a_verdict_into_passed() {
    let moto = Moto::start();
    plant(&moto).await;

    let clean = FaultProxy::start(&moto.endpoint, Vec::new(), 1).await;
    let baseline = assess(&clean).await;
    assert_eq!(clean.totals().faulted, 0);
    // The planted facts decide in the fault-free run.
    assert_eq!(result(&baseline.report, "5.2").status, ControlStatus::Failed);
    assert!(
        result(&baseline.report, "5.2")
            .failing_resources
            .iter()
            .any(|r| r.starts_with(&format!("{MOTO_ACCOUNT}/sg-"))),
        "{:?}",
        result(&baseline.report, "5.2")
    );
    for id in ["1.4", "2.2.1", "3.6", "3.1"] {
        assert_eq!(result(&baseline.report, id).status, ControlStatus::Failed, "{id}");
    }
    println!(
        "baseline: {} requests, CIS score {:?} ({} passed, {} failed, {} unknown), {:.1} s",
        clean.totals().requests,
        baseline.report.overall_compliance_score,
        baseline.report.counts.passed,
        baseline.report.counts.failed,
        baseline.report.counts.unknown,
        baseline.took.as_secs_f64()
    );

    println!("| fault | requests | faulted | max attempts per call | gaps | UNKNOWN | flips | score | time |");
    for scenario in scenarios() {
        let proxy = FaultProxy::start(&moto.endpoint, scenario.rules.clone(), 7).await;
        let faulted = assess(&proxy).await;
        let counts = proxy.counts();
        let totals = proxy.totals();
        let gaps = posture_core::org::snapshot::inventory_gaps(&faulted.inventory);
        let flips = dishonest_flips(&baseline.report, &faulted.report);
        let max_attempts = counts
            .values()
            .filter(|c| c.faulted > 0)
            .map(|c| c.requests)
            .max()
            .unwrap_or(0);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:?}{} | {:.1} s |",
            scenario.name,
            totals.requests,
            totals.faulted,
            max_attempts,
            gaps.len(),
            faulted.report.counts.unknown,
            flips.len(),
            faulted.report.overall_compliance_score,
            if faulted.report.score_partial { " partial" } else { "" },
            faulted.took.as_secs_f64()
        );
        assert!(totals.faulted > 0, "{}: no fault was injected", scenario.name);
        assert!(flips.is_empty(), "{}: dishonest flips {flips:?}", scenario.name);
        for id in &scenario.now_unknown {
            let r = result(&faulted.report, id);
            assert_eq!(r.status, ControlStatus::Unknown, "{}: {id}: {r:?}", scenario.name);
        }
        for id in &scenario.still_failed {
            let r = result(&faulted.report, id);
            assert_eq!(r.status, ControlStatus::Failed, "{}: {id}: {r:?}", scenario.name);
        }
        for section in &scenario.gap_sections {
            assert!(
                gaps.iter().any(|g| g.starts_with(&format!("{section}:"))),
                "{}: {section} is not a gap: {gaps:?}",
                scenario.name
            );
        }
        // Persistent faults: each faulted call was tried at most the retry
        // budget's attempts (the collector moves on after a failed call).
        for (call, c) in counts.iter().filter(|(_, c)| c.faulted > 0) {
            assert!(
                c.requests <= MAX_ATTEMPTS,
                "{}: {call:?} was sent {} times",
                scenario.name,
                c.requests
            );
        }
        assert!(
            faulted.took < Duration::from_secs(60),
            "{}: {:?}",
            scenario.name,
            faulted.took
        );
        assert!(faulted.report.counts.passed <= baseline.report.counts.passed);
    }
}

#[tokio::test]
async fn d1_an_unreadable_region_makes_cis_5_2_unknown_with_the_gap() {
    let moto = Moto::start();
    plant(&moto).await;
    let proxy = FaultProxy::start(
        &moto.endpoint,
        vec![FaultRule::persistent("ec2", Some("eu-west-1"), Fault::Unavailable)],
        1,
    )
    .await;
    let faulted = assess(&proxy).await;
    let r = result(&faulted.report, "5.2");
    assert_eq!(r.status, ControlStatus::Unknown, "{r:?}");
    assert!(
        r.data_gaps
            .iter()
            .any(|g| g.contains("eu-west-1") && g.contains("security groups not collected")),
        "{:?}",
        r.data_gaps
    );
    assert!(faulted.report.score_partial);
    // The Security Hub source was read; only the inventory had a gap.
    assert!(
        faulted
            .report
            .data_sources
            .finding_sources
            .iter()
            .all(|s| s.error.is_none())
    );
}

#[tokio::test]
async fn a_security_hub_outage_leaves_its_requirements_unknown_not_passed() {
    let moto = Moto::start();
    plant(&moto).await;
    let proxy = FaultProxy::start(
        &moto.endpoint,
        vec![FaultRule::persistent("securityhub", None, Fault::Unavailable)],
        1,
    )
    .await;
    let faulted = assess(&proxy).await;
    let r = result(&faulted.report, "1.4");
    assert_eq!(r.status, ControlStatus::Unknown, "{r:?}");
    assert!(
        r.data_gaps
            .iter()
            .any(|g| g.starts_with("Security Hub control findings not read: Unavailable")),
        "{:?}",
        r.data_gaps
    );
}

/// D7: an access denial that echoes the request's credential scope
/// (`Credential=AKIA…/20261206/…`, as AWS's signature errors do) reaches the
/// result with the key id masked, wherever it sits in the message.
#[tokio::test]
async fn a_denial_echoing_the_credential_never_relays_the_key_id() {
    const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        vec![FaultRule::persistent("securityhub", None, Fault::AccessDenied)],
        1,
    )
    .await;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&proxy.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(KEY_ID, "testing", None, None, "posture-tests"))
        .retry_config(posture_aws::config::retry_config())
        .load()
        .await;
    let hub = posture_aws::securityhub::SecurityHubSource::new(posture_aws::guarded_client!(
        aws_sdk_securityhub,
        &sdk,
        posture_aws::iam::READ_ONLY
    ));
    let query = FindingQuery {
        window: TimeWindow::last_days(jiff::Timestamp::now(), 1),
        min_severity: Severity::Informational,
        max_findings: 10,
        filter: Default::default(),
    };
    let error = hub.fetch(&query).await.unwrap_err();
    assert!(proxy.totals().faulted > 0);
    assert!(error.message.contains("Credential=***/"), "{}", error.message);
    assert!(!error.message.contains(KEY_ID), "{}", error.message);
}
