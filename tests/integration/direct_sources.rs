//! Inspector, Macie, IAM Access Analyzer and AWS Config read directly,
//! through the real SDK clients against the direct-sources stand-in (moto
//! has no Macie or Config compliance findings and no Access Analyzer, and
//! serves Inspector findings without paging or filters): every page read,
//! the filters sent, an AccessDenied failing only its own source, and the
//! copies Security Hub keeps (moto) merged with the direct reads.

use aws_config::SdkConfig;
use aws_sdk_securityhub::types::{AwsSecurityFinding, Resource, Severity as AsffSeverity, SeverityLabel};
use jiff::{SignedDuration, Timestamp};
use posture_aws::finding_sources::SourceKind;
use posture_aws::health::AwsHealth;
use posture_aws::securityhub::SecurityHubSource;
use posture_core::Severity;
use posture_core::sources::{FindingQuery, SourceErrorKind};
use posture_core::time::TimeWindow;
use posture_mcp::PostureServer;
use posture_tests::direct_standin::{DirectFindings, DirectStandIn};
use posture_tests::fixtures::MOTO_ACCOUNT;
use posture_tests::moto::{Moto, sdk_config_for};
use serde_json::{Value, json};
use std::sync::Arc;

const REGION: &str = "us-east-1";
const ANALYZER: &str = "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/org-analyzer";
const DISABLED_ANALYZER: &str = "arn:aws:access-analyzer:us-east-1:123456789012:analyzer/old";
const FAILING_RULE: &str = "s3-bucket-versioning-enabled";
const SECURITY_HUB_RULE: &str = "securityhub-s3-bucket-public-read-prohibited-ab12cd";
/// The stand-in's page size: small, so every source pages.
const PAGE: usize = 7;
const DIRECT: [SourceKind; 4] = [
    SourceKind::Inspector,
    SourceKind::Macie,
    SourceKind::AccessAnalyzer,
    SourceKind::Config,
];

fn minutes_ago(n: usize) -> Timestamp {
    Timestamp::now() - SignedDuration::from_mins(n as i64 + 1)
}

fn inspector_arn(n: usize) -> String {
    format!("arn:aws:inspector2:{REGION}:{MOTO_ACCOUNT}:finding/{n:032x}")
}

fn inspector_finding(n: usize) -> Value {
    let updated = minutes_ago(n).as_second();
    let severity = ["HIGH", "MEDIUM", "LOW", "CRITICAL"][n % 4];
    json!({
        "awsAccountId": MOTO_ACCOUNT,
        "description": format!("openssl {n} is vulnerable"),
        "findingArn": inspector_arn(n),
        "firstObservedAt": updated - 86_400,
        "lastObservedAt": updated,
        "inspectorScore": 7.5,
        "packageVulnerabilityDetails": {"vulnerabilityId": format!("CVE-2026-{:04}", 1000 + n), "source": "NVD"},
        "remediation": {"recommendation": {"text": "Upgrade the package."}},
        "resources": [{"id": format!("i-{n:017x}"), "partition": "aws", "region": REGION, "type": "AWS_EC2_INSTANCE"}],
        "severity": severity,
        "status": "ACTIVE",
        "title": format!("CVE-2026-{:04} - openssl", 1000 + n),
        "type": "PACKAGE_VULNERABILITY",
        "updatedAt": updated
    })
}

fn macie_id(n: usize) -> String {
    format!("{n:032x}")
}

fn macie_finding(n: usize) -> Value {
    let severity = ["High", "Medium", "Low"][n % 3];
    json!({
        "accountId": MOTO_ACCOUNT,
        "archived": false,
        "category": "POLICY",
        "count": 1,
        "createdAt": minutes_ago(n + 60).to_string(),
        "description": format!("Bucket bucket-{n} is public."),
        "id": macie_id(n),
        "partition": "aws",
        "region": REGION,
        "resourcesAffected": {"s3Bucket": {"arn": format!("arn:aws:s3:::bucket-{n}"), "name": format!("bucket-{n}")}},
        "sample": false,
        "schemaVersion": "1.0",
        "severity": {"description": severity, "score": 3 - (n % 3)},
        "title": format!("The S3 bucket bucket-{n} is publicly accessible"),
        "type": "Policy:IAMUser/S3BucketPublic",
        "updatedAt": minutes_ago(n).to_string()
    })
}

fn analyzer_finding(n: usize) -> Value {
    let (kind, resource_type, resource) = if n.is_multiple_of(2) {
        ("ExternalAccess", "AWS::S3::Bucket", format!("arn:aws:s3:::shared-{n}"))
    } else {
        (
            "UnusedIAMRole",
            "AWS::IAM::Role",
            format!("arn:aws:iam::{MOTO_ACCOUNT}:role/unused-{n}"),
        )
    };
    json!({
        "analyzedAt": minutes_ago(n).to_string(),
        "createdAt": minutes_ago(n + 600).to_string(),
        "findingType": kind,
        "id": format!("aa-{n:04}"),
        "resource": resource,
        "resourceOwnerAccount": MOTO_ACCOUNT,
        "resourceType": resource_type,
        "status": "ACTIVE",
        "updatedAt": minutes_ago(n).to_string()
    })
}

fn evaluation(rule: &str, n: usize) -> Value {
    json!({
        "EvaluationResultIdentifier": {
            "EvaluationResultQualifier": {"ConfigRuleName": rule, "ResourceType": "AWS::S3::Bucket",
                "ResourceId": format!("bucket-{n}"), "EvaluationMode": "DETECTIVE"},
            "OrderingTimestamp": minutes_ago(n + 5).as_second(),
            "ResourceEvaluationId": format!("ev-{n}")
        },
        "ComplianceType": "NON_COMPLIANT",
        "ResultRecordedTime": minutes_ago(n).as_second(),
        "ConfigRuleInvokedTime": minutes_ago(n + 1).as_second(),
        "Annotation": "Versioning is not enabled."
    })
}

fn rule(name: &str, created_by: Option<&str>) -> Value {
    let mut r = json!({
        "ConfigRuleName": name,
        "ConfigRuleArn": format!("arn:aws:config:{REGION}:{MOTO_ACCOUNT}:config-rule/config-rule-{}", name.len()),
        "ConfigRuleId": format!("config-rule-{}", name.len()),
        "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_VERSIONING_ENABLED"},
        "ConfigRuleState": "ACTIVE"
    });
    if let Some(by) = created_by {
        r["CreatedBy"] = by.into();
    }
    r
}

/// Each source's records: `inspector` Inspector findings, `macie` Macie
/// findings, `analyzer` Access Analyzer findings (on the active analyzer;
/// a disabled one has its own that must not be read), `config` NON_COMPLIANT
/// evaluations of one rule (a compliant rule and a Security Hub rule beside it).
fn data(inspector: usize, macie: usize, analyzer: usize, config: usize) -> DirectFindings {
    let mut d = DirectFindings {
        inspector: (0..inspector).map(inspector_finding).collect(),
        macie: (0..macie).map(macie_finding).collect(),
        analyzers: vec![
            json!({"arn": ANALYZER, "name": "org-analyzer", "type": "ORGANIZATION", "status": "ACTIVE",
                   "createdAt": "2026-01-10T10:00:00Z"}),
            json!({"arn": DISABLED_ANALYZER, "name": "old", "type": "ACCOUNT", "status": "DISABLED",
                   "createdAt": "2025-01-10T10:00:00Z"}),
        ],
        config_rules: vec![
            rule(FAILING_RULE, None),
            rule("ec2-imdsv2-check", None),
            rule(SECURITY_HUB_RULE, Some("securityhub.amazonaws.com")),
        ],
        rule_compliance: vec![
            json!({"ConfigRuleName": FAILING_RULE, "Compliance": {"ComplianceType": "NON_COMPLIANT",
                   "ComplianceContributorCount": {"CappedCount": config, "CapExceeded": false}}}),
            json!({"ConfigRuleName": "ec2-imdsv2-check", "Compliance": {"ComplianceType": "COMPLIANT"}}),
            json!({"ConfigRuleName": SECURITY_HUB_RULE, "Compliance": {"ComplianceType": "NON_COMPLIANT"}}),
        ],
        ..DirectFindings::default()
    };
    d.analyzer_findings
        .insert(ANALYZER.to_string(), (0..analyzer).map(analyzer_finding).collect());
    d.analyzer_findings
        .insert(DISABLED_ANALYZER.to_string(), vec![analyzer_finding(999)]);
    d.evaluations.insert(
        FAILING_RULE.to_string(),
        (0..config).map(|n| evaluation(FAILING_RULE, n)).collect(),
    );
    d.evaluations
        .insert(SECURITY_HUB_RULE.to_string(), vec![evaluation(SECURITY_HUB_RULE, 0)]);
    d
}

/// An account's configuration (its HTTP client keeps the raw bodies the
/// direct sources parse) whose every endpoint is the stand-in.
async fn account_sdk(endpoint: &str) -> SdkConfig {
    posture_aws::transport::for_account(&sdk_config_for(endpoint).await, MOTO_ACCOUNT)
}

fn query(max: usize) -> FindingQuery {
    FindingQuery {
        window: TimeWindow::last_days(Timestamp::now(), 30),
        min_severity: Severity::Informational,
        max_findings: max,
        filter: Default::default(),
    }
}

#[tokio::test]
async fn each_direct_source_reads_every_page_and_sends_its_filters() {
    let standin = DirectStandIn::start(data(23, 60, 15, 12), PAGE).await;
    let sdk = account_sdk(&standin.endpoint).await;
    let read = |kind: SourceKind| {
        let sdk = sdk.clone();
        async move { kind.source(&sdk, None).fetch(&query(1000)).await.unwrap() }
    };

    let inspector = read(SourceKind::Inspector).await;
    assert_eq!(inspector.findings.len(), 23);
    assert!(!inspector.more_available);
    assert_eq!(standin.calls("inspector2:ListFindings"), 4, "pages of 7: 7+7+7+2");
    let sent = &standin.requests("inspector2:ListFindings")[0];
    assert_eq!(
        sent["filterCriteria"]["findingStatus"],
        json!([{"comparison": "EQUALS", "value": "ACTIVE"}])
    );
    assert_eq!(
        sent["sortCriteria"],
        json!({"field": "LAST_OBSERVED_AT", "sortOrder": "DESC"})
    );
    assert_eq!(sent["maxResults"], 100);
    assert!(
        sent["filterCriteria"]["updatedAt"][0]["startInclusive"].is_number(),
        "{sent}"
    );
    assert!(
        inspector
            .findings
            .iter()
            .all(|f| f.cves.len() == 1 && f.resources[0].kind == "AwsEc2Instance")
    );

    let macie = read(SourceKind::Macie).await;
    assert_eq!(macie.findings.len(), 60);
    assert_eq!(standin.calls("macie2:ListFindings"), 9, "pages of 7 ids");
    assert_eq!(
        standin.calls("macie2:GetFindings"),
        9,
        "one GetFindings per page of ids"
    );
    let sent = &standin.requests("macie2:ListFindings")[0];
    assert_eq!(sent["findingCriteria"]["criterion"]["archived"]["eq"], json!(["false"]));
    assert_eq!(
        sent["findingCriteria"]["criterion"]["severity.description"]["eq"],
        json!(["High", "Medium", "Low"])
    );
    assert_eq!(
        sent["sortCriteria"],
        json!({"attributeName": "updatedAt", "orderBy": "DESC"})
    );

    let analyzer = read(SourceKind::AccessAnalyzer).await;
    assert_eq!(analyzer.findings.len(), 15);
    assert_eq!(
        standin.calls("access-analyzer:ListFindingsV2"),
        3,
        "7+7+1, the active analyzer only"
    );
    let sent = standin.requests("access-analyzer:ListFindingsV2");
    assert!(sent.iter().all(|b| b["analyzerArn"] == ANALYZER));
    assert_eq!(sent[0]["filter"]["status"], json!({"eq": ["ACTIVE"]}));
    let unused = analyzer
        .findings
        .iter()
        .filter(|f| f.finding_type == "UnusedIAMRole")
        .count();
    assert_eq!(unused, 7);

    let config = read(SourceKind::Config).await;
    assert_eq!(config.findings.len(), 12);
    assert_eq!(standin.calls("config:GetComplianceDetailsByConfigRule"), 2, "7+5");
    let asked = &standin.requests("config:DescribeComplianceByConfigRule")[0];
    assert_eq!(
        asked["ConfigRuleNames"],
        json!([FAILING_RULE, "ec2-imdsv2-check"]),
        "Security Hub's rule is not read"
    );
    let details = standin.requests("config:GetComplianceDetailsByConfigRule");
    assert!(
        details
            .iter()
            .all(|b| b["ConfigRuleName"] == FAILING_RULE && b["Limit"] == 100)
    );
    assert!(
        config
            .findings
            .iter()
            .all(|f| f.account_id == MOTO_ACCOUNT && f.region == REGION)
    );

    // A ceiling stops paging once more than it was admitted, and says so.
    let fresh = DirectStandIn::start(data(23, 0, 0, 0), PAGE).await;
    let capped = SourceKind::Inspector
        .source(&account_sdk(&fresh.endpoint).await, None)
        .fetch(&query(10))
        .await
        .unwrap();
    assert_eq!(capped.findings.len(), 10);
    assert!(capped.more_available);
    assert_eq!(
        fresh.calls("inspector2:ListFindings"),
        2,
        "14 admitted > 10: no third page"
    );
}

#[tokio::test]
async fn access_denied_on_a_later_page_fails_its_own_source_and_the_collection_keeps_the_others() {
    let (inspector, macie, analyzer, config) = (23, 60, 15, 12);
    for (operation, service, lost) in [
        ("inspector2:ListFindings", "Inspector", inspector),
        ("macie2:GetFindings", "Macie", macie),
        ("access-analyzer:ListFindingsV2", "IAM Access Analyzer", analyzer),
        ("config:GetComplianceDetailsByConfigRule", "Config", config),
    ] {
        let standin = DirectStandIn::start(data(inspector, macie, analyzer, config), PAGE).await;
        standin.deny_after(operation, 1);
        let sdk = account_sdk(&standin.endpoint).await;
        // Its own task: the read is a deep future for a test thread's stack.
        let read = tokio::spawn(async move {
            posture_aws::collector::collect_findings(
                &sdk,
                &[REGION.to_string()],
                &DIRECT,
                Timestamp::now(),
                posture_aws::collector::MAX_FINDINGS_PER_ACCOUNT,
            )
            .await
        })
        .await
        .unwrap();
        assert_eq!(
            standin.calls(operation),
            2,
            "{operation}: the first page answered, the second refused"
        );
        assert_eq!(read.gaps.len(), 1, "{operation}: {:?}", read.gaps);
        let gap = &read.gaps[0];
        assert_eq!(gap.service, service);
        assert_eq!(gap.region, REGION);
        assert_eq!(gap.error, Some(SourceErrorKind::Authentication), "{gap}");
        assert!(gap.detail.contains("AccessDeniedException"), "{gap}");
        assert!(gap.leaves_unread());
        assert_eq!(
            read.findings.len(),
            inspector + macie + analyzer + config - lost,
            "{operation}: every other source read in full"
        );
    }
}

/// Security Hub's copy of a finding, as the producing service sends it.
fn copy(id: &str, product: &str, product_fields: &[(&str, &str)], resource: &str) -> AwsSecurityFinding {
    let now = Timestamp::now().to_string();
    let mut f = AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(format!("arn:aws:securityhub:{REGION}::product/aws/{product}"))
        .generator_id(product)
        .aws_account_id(MOTO_ACCOUNT)
        .region(REGION)
        .types("Software and Configuration Checks")
        .created_at(&now)
        .updated_at(&now)
        .severity(AsffSeverity::builder().label(SeverityLabel::Low).normalized(1).build())
        .title("Security Hub's copy")
        .description("Security Hub's copy")
        .resources(Resource::builder().r#type("Other").id(resource).build());
    for (k, v) in product_fields {
        f = f.product_fields(*k, *v);
    }
    f.build()
}

#[tokio::test]
async fn security_hub_copies_of_direct_findings_are_merged_into_one_each() {
    let moto = Moto::start();
    let cfg = moto.sdk_config().await;
    let hub = aws_sdk_securityhub::Client::new(&cfg);
    hub.enable_security_hub().send().await.unwrap();
    let copies = vec![
        copy(
            &inspector_arn(0),
            "inspector",
            &[("aws/inspector/ProductVersion", "2")],
            "arn:aws:ec2:us-east-1:123456789012:i-0",
        ),
        copy(&macie_id(0), "macie", &[], "arn:aws:s3:::bucket-0"),
        copy(
            &format!("{ANALYZER}/arn:aws:iam::{MOTO_ACCOUNT}:role/unused-1/UnusedIAMRole"),
            "access-analyzer",
            &[("findingId", "aa-0001")],
            &format!("arn:aws:iam::{MOTO_ACCOUNT}:role/unused-1"),
        ),
        copy(
            &format!("arn:aws:config:{REGION}:{MOTO_ACCOUNT}:config-rule/config-rule-28/finding/0f1e2d3c"),
            "config",
            &[
                ("aws/config/ConfigRuleName", FAILING_RULE),
                ("aws/config/ConfigComplianceType", "NON_COMPLIANT"),
            ],
            "arn:aws:s3:::bucket-0",
        ),
    ];
    let out = hub
        .batch_import_findings()
        .set_findings(Some(copies))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_count(), Some(0), "{:?}", out.failed_findings());

    // One record of each source (two of Access Analyzer: the copy is of the second).
    let standin = DirectStandIn::start(data(1, 1, 2, 1), PAGE).await;
    let direct = account_sdk(&standin.endpoint).await;
    let sh = aws_sdk_securityhub::Client::new(&cfg);
    let mut sources: Vec<Arc<dyn posture_core::ports::FindingSource>> =
        vec![Arc::new(SecurityHubSource::new(sh.clone()))];
    sources.extend(DIRECT.iter().map(|kind| kind.source(&direct, None)));
    let server = PostureServer::new(super::aws_sources::aws_backend(
        sources,
        AwsHealth {
            sts: aws_sdk_sts::Client::new(&cfg),
            securityhub: sh,
            guardduty: aws_sdk_guardduty::Client::new(&cfg),
            region: REGION.into(),
        },
    ));
    let result = server
        .call(
            "analyze_security_findings",
            json!({"severity_threshold": "LOW", "time_range_days": 7, "freshness": "live"})
                .as_object()
                .cloned(),
            "test",
            "req-1",
        )
        .await
        .unwrap();
    let a = result.structured_content.unwrap();
    assert_ne!(result.is_error, Some(true), "{a}");
    assert_eq!(a["coverage"]["duplicates_removed"], 4, "{:#}", a["coverage"]);
    assert_eq!(a["coverage"]["findings_analyzed"], 5, "{:#}", a["coverage"]);
    let sources = a["coverage"]["sources"].as_array().unwrap();
    for service in ["Security Hub", "Inspector", "Macie", "IAM Access Analyzer", "Config"] {
        let s = sources
            .iter()
            .find(|s| s["service"] == service)
            .unwrap_or_else(|| panic!("{service}: {sources:#?}"));
        assert_eq!(s["status"], "ok", "{s}");
    }
    let counts = &a["threat_landscape"]["source_counts"];
    assert_eq!(counts["Inspector"], 1, "{counts}");
    assert_eq!(counts["Macie"], 1, "{counts}");
    assert_eq!(counts["IAM Access Analyzer"], 2, "{counts}");
    assert_eq!(counts["Config"], 1, "{counts}");
}

fn config_item(resource_type: &str, id: &str, at: Timestamp, state: &str, versioning: &str) -> Value {
    json!({
        "accountId": MOTO_ACCOUNT,
        "awsRegion": REGION,
        "resourceType": resource_type,
        "resourceId": id,
        "resourceName": id,
        "configurationItemCaptureTime": at.as_second(),
        "configurationItemStatus": "OK",
        "configurationStateId": state,
        "relatedEvents": [format!("event-{state}")],
        "configuration": json!({"versioning": versioning}).to_string(),
        "supplementaryConfiguration": {}
    })
}

#[tokio::test]
async fn config_history_reads_the_baseline_then_each_seven_day_window_in_pages() {
    let start = Timestamp::now() - SignedDuration::from_hours(20 * 24);
    let end = Timestamp::now();
    let day = |d: f64| start + SignedDuration::from_secs_f64(d * 86_400.0);
    let bucket = "AWS::S3::Bucket";
    let mut items = vec![config_item(
        bucket,
        "exports",
        start - SignedDuration::from_hours(240),
        "base",
        "Suspended",
    )];
    // 25 items inside the window, one exactly on the first 7-day boundary
    // (both requests' ranges include it), versioning flipping every fifth.
    for n in 0..25 {
        let at = if n == 9 { day(7.0) } else { day(0.5 + n as f64 * 0.75) };
        let versioning = if (n / 5) % 2 == 0 { "Enabled" } else { "Suspended" };
        items.push(config_item(bucket, "exports", at, &format!("s{n:02}"), versioning));
    }
    items.push(config_item(bucket, "other-bucket", day(1.0), "x", "Enabled"));
    let role_id = "AROAEXAMPLEEXAMPLE001";
    items.push(config_item("AWS::IAM::Role", role_id, day(2.0), "r1", "n/a"));
    let data = DirectFindings {
        config_items: items,
        discovered: vec![json!({"resourceType": "AWS::IAM::Role", "resourceId": role_id, "resourceName": "deployer"})],
        ..DirectFindings::default()
    };
    let standin = DirectStandIn::start(data.clone(), PAGE).await;
    let sdk = account_sdk(&standin.endpoint).await;
    let exports = posture_core::config_history::ConfigResource::from_subject("arn:aws:s3:::exports").unwrap();
    let h = posture_aws::config_history::read(&sdk, REGION, &exports, (start, end), 200)
        .await
        .unwrap();
    assert_eq!(h.baseline.as_ref().map(|b| b.state_id.as_str()), Some("base"));
    assert_eq!(h.changes.len(), 25, "each item once, the boundary one too");
    assert!(!h.truncated);
    assert!(h.changes.windows(2).all(|w| w[0].time <= w[1].time), "oldest first");
    // Told against the one before: the first against the baseline.
    assert_eq!(h.changes[0].changed, ["versioning"]);
    assert!(h.changes[1].changed.is_empty());
    assert_eq!(h.changes[0].related_events, ["event-s00"]);
    let requests = standin.requests("config:GetResourceConfigHistory");
    let baseline = &requests[0];
    assert_eq!(baseline["limit"], 1);
    assert!(baseline.get("earlierTime").is_none() && baseline["chronologicalOrder"] == "Reverse");
    let forward = &requests[1..];
    assert!(
        forward
            .iter()
            .all(|r| r["chronologicalOrder"] == "Forward" && r["limit"] == 100)
    );
    for r in forward {
        let span = r["laterTime"].as_f64().unwrap() - r["earlierTime"].as_f64().unwrap();
        assert!(span <= 7.0 * 86_400.0 + 1.0, "a 7-day window at most: {r}");
    }
    // Windows of 7, 7 and 6 days hold 10, 10 and 6 items (the boundary one
    // in the first two): pages of 7 give 2 + 2 + 1 requests.
    assert_eq!(forward.len(), 5, "{forward:#?}");

    // A budget cuts the read and says so.
    let cut = posture_aws::config_history::read(&sdk, REGION, &exports, (start, end), 10)
        .await
        .unwrap();
    assert_eq!(cut.changes.len(), 10);
    assert!(cut.truncated);

    // An IAM role is looked up by name for Config's id.
    let role = posture_core::config_history::ConfigResource::from_subject(&format!(
        "arn:aws:iam::{MOTO_ACCOUNT}:role/deployer"
    ))
    .unwrap();
    let h = posture_aws::config_history::read(&sdk, REGION, &role, (start, end), 200)
        .await
        .unwrap();
    assert_eq!(h.changes.len(), 1);
    assert_eq!(h.changes[0].resource_id, role_id);
    assert_eq!(
        standin.requests("config:ListDiscoveredResources")[0]["resourceName"],
        "deployer"
    );

    // A refusal part-way is an error naming it, never a short history.
    let refusing = DirectStandIn::start(data, PAGE).await;
    refusing.deny_after("config:GetResourceConfigHistory", 2);
    let e = posture_aws::config_history::read(
        &account_sdk(&refusing.endpoint).await,
        REGION,
        &exports,
        (start, end),
        200,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind, SourceErrorKind::Authentication, "{e}");
    assert!(e.message.contains("config:GetResourceConfigHistory"), "{e}");
}
