//! An org-wide run against moto, end to end: an organization with three
//! member accounts, a read-only role in each trusting the collector's account
//! with an ExternalId, and the assessor fed a captured EventBridge tick. One
//! snapshot per reachable account and the org summary land in DynamoDB, the
//! reports in S3; the member whose role refuses the collector is a gap, and
//! only that member.
//!
//! moto enforces neither trust policies nor ExternalId, so the SDK talks to
//! moto through [`StsGate`], which answers the one refused `AssumeRole` as
//! STS does (403 `AccessDenied`) and records every `AssumeRole` it sees.

use aws_sdk_dynamodb::types::AttributeValue;
use posture_aws::org::{Org, OrgSettings};
use posture_aws::store::dynamodb::{AwsStoreConfig, DynamoSnapshotStore};
use posture_core::org::run::{AccountOutcome, RunReport, RunState};
use posture_core::ports::SnapshotStore;
use posture_tests::fixtures::MOTO_ACCOUNT;
use posture_tests::moto::{Moto, sdk_config_for};
use posture_tests::org::{
    admin_sessions, create_member_role, create_organization, create_private_bucket, create_public_bucket,
};
use posture_tests::sts_gate::StsGate;
use std::collections::{BTreeSet, HashMap};

const TABLE: &str = "posture-org";
const BUCKET: &str = "posture-org-reports";
const EXTERNAL_ID: &str = "posture-test-external-id";
const ROLE: &str = "PostureAdvisorReadOnly";
/// The run id the captured tick (`time` 2026-11-26T06:00:00Z) becomes.
const RUN_ID: &str = "20261126T060000Z-scheduled";
const PUBLIC_BUCKET: &str = "member-a-public-assets";
const PRIVATE_BUCKET: &str = "member-b-private-data";

/// The checks account A's planted settings fail and account B's pass.
const PLANTED: [&str; 4] = [
    "iam.password_min_length",
    "iam.password_reuse",
    "s3.bucket_not_public",
    "s3.bucket_public_access_block",
];

fn role_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:role/{ROLE}")
}

async fn get_item(ddb: &aws_sdk_dynamodb::Client, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
    ddb.get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(pk.to_string()))
        .key("sk", AttributeValue::S(sk.to_string()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

#[tokio::test]
async fn an_org_run_snapshots_each_reachable_member_and_records_the_refused_one_as_a_gap() {
    let started = std::time::Instant::now();
    let moto = Moto::start();
    let management = moto.sdk_config().await;

    // The organization: the management account and three members.
    let members = create_organization(&management, &["member-a", "member-b", "member-c"]).await;
    let [a, b, c] = [members[0].clone(), members[1].clone(), members[2].clone()];
    assert_eq!(BTreeSet::from([&a, &b, &c, &MOTO_ACCOUNT.to_string()]).len(), 4);

    // Each member, entered as an administrator would.
    let admin = admin_sessions(&management, &moto.endpoint, &members).await;
    create_member_role(&admin[0], ROLE, EXTERNAL_ID).await;
    create_member_role(&admin[1], ROLE, EXTERNAL_ID).await;
    // C's role trusts another ExternalId: AWS would refuse the collector (the gate does).
    create_member_role(&admin[2], ROLE, "someone-elses-external-id").await;

    // A: no password policy, a bucket anyone may read.
    create_public_bucket(&admin[0], PUBLIC_BUCKET).await;
    // B: a CIS password policy, a private bucket behind Block Public Access.
    aws_sdk_iam::Client::new(&admin[1])
        .update_account_password_policy()
        .minimum_password_length(14)
        .password_reuse_prevention(24)
        .send()
        .await
        .unwrap();
    create_private_bucket(&admin[1], PRIVATE_BUCKET).await;

    // The assessor's stores, in the management account.
    super::aws_runs::create_table_and_bucket(&management, TABLE, BUCKET).await;

    let gate = StsGate::start(&moto.endpoint, vec![role_arn(&c)]).await;
    let include = members.join(",");
    let vars: HashMap<&str, &str> = HashMap::from([
        ("POSTURE_TABLE", TABLE),
        ("POSTURE_BUCKET", BUCKET),
        ("POSTURE_BUCKET_PREFIX", "org/"),
        ("POSTURE_EXTERNAL_ID", EXTERNAL_ID),
        ("POSTURE_REGIONS", "us-east-1"),
        ("POSTURE_INCLUDE_ACCOUNTS", include.as_str()),
        ("POSTURE_CONCURRENCY", "2"),
    ]);
    let settings = OrgSettings::from_vars(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    let sdk = sdk_config_for(&gate.endpoint).await;
    let org = Org::aws(&settings, &sdk).unwrap();
    let run_settings = settings.run_settings(posture_core::posture::frameworks::builtin().unwrap(), Vec::new());
    let tick: serde_json::Value = posture_tests::fixtures::event("assessor-scheduled.json");
    let request = assessor::run_request(&tick).unwrap();
    assert_eq!(request.run_id, RUN_ID);
    let setup_done = started.elapsed();

    let answer = assessor::assess(&org, &run_settings, &request, &jiff::Timestamp::now)
        .await
        .unwrap();
    let run_took = started.elapsed() - setup_done;
    let run = &answer.run;
    assert_eq!(answer.outcome, "completed", "{run:#?}");
    assert_eq!(run.state, RunState::Complete);
    assert_eq!(run.trigger, posture_core::org::run::RunTrigger::Schedule);
    // ListAccounts names the management account too; the include list keeps the members.
    let mut in_scope: Vec<&str> = run.accounts.iter().map(|x| x.account_id.as_str()).collect();
    in_scope.sort_unstable();
    let mut expected: Vec<&str> = members.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(in_scope, expected);
    assert_eq!(run.accounts_done, 3);
    for account in &run.accounts {
        if account.account_id == c {
            assert_eq!(account.outcome, AccountOutcome::Gap, "{account:?}");
            let why = account.gap.as_deref().unwrap();
            // The STS error's code and message, not a debug dump of the error chain.
            let expected = format!("sts:AssumeRole {}: AccessDenied: User: ", role_arn(&c));
            assert!(why.starts_with(&expected), "{why}");
            assert!(why.ends_with(&format!("on resource: {}", role_arn(&c))), "{why}");
        } else {
            assert_eq!(account.outcome, AccountOutcome::Assessed, "{account:?}");
            assert_eq!(account.gap, None);
        }
    }
    let summary = run.summary.as_ref().unwrap();
    assert_eq!(summary.accounts, 2, "C has no snapshot to summarize");

    // Through the store: the committed record, latest, one snapshot per reachable account.
    let ddb = aws_sdk_dynamodb::Client::new(&management);
    let store = DynamoSnapshotStore::connect(
        &management,
        AwsStoreConfig {
            table: TABLE.to_string(),
            bucket: BUCKET.to_string(),
            prefix: "org/".to_string(),
            retention_days: 400,
        },
    );
    let stored = store.run(RUN_ID).await.unwrap().unwrap();
    assert_eq!(&stored, run);
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, RUN_ID);
    let snap_a = store.snapshot(&a, RUN_ID).await.unwrap().unwrap();
    let snap_b = store.snapshot(&b, RUN_ID).await.unwrap().unwrap();
    assert_eq!(store.snapshot(&c, RUN_ID).await.unwrap(), None);
    let failing = |snap: &posture_core::org::snapshot::AccountSnapshot, check: &str| {
        snap.failures
            .iter()
            .filter(|f| f.check_id == check)
            .map(|f| f.resource.clone())
            .collect::<Vec<_>>()
    };
    // Only what moto lacks (Access Analyzer: the test front has no analyzer,
    // posture_tests::moto); a call refused by an adapter's declared-actions
    // guard (posture_aws::iam) would show here as a gap naming the action.
    for snap in [&snap_a, &snap_b] {
        assert_eq!(
            snap.gaps,
            [
                "us-east-1 securityhub_standards: error: securityhub:GetEnabledStandards: Unknown: ",
                "us-east-1 GuardDuty: NotEnabled: GuardDuty is not enabled in this region (no detector)",
                "us-east-1 IAM Access Analyzer: NotEnabled: IAM Access Analyzer has no active analyzer in this region",
            ],
            "{}",
            snap.account_id
        );
    }
    for check in PLANTED {
        assert!(
            !failing(&snap_a, check).is_empty(),
            "A should fail {check}: {:#?}",
            snap_a.failures
        );
        assert!(
            failing(&snap_b, check).is_empty(),
            "B should pass {check}: {:#?}",
            snap_b.failures
        );
    }
    assert_eq!(failing(&snap_a, "s3.bucket_not_public"), [PUBLIC_BUCKET]);
    assert!(
        snap_a.failures.len() > snap_b.failures.len(),
        "A: {:?}\nB: {:?}",
        snap_a.failures,
        snap_b.failures
    );

    // The same items under the documented keys, read raw.
    let record = get_item(&ddb, "ORG", &format!("RUN#{RUN_ID}")).await.unwrap();
    assert_eq!(record["state"].as_s().unwrap(), "COMPLETE");
    assert_eq!(record["run_id"].as_s().unwrap(), RUN_ID);
    assert_eq!(record["schema_version"].as_n().unwrap(), "1");
    let body: serde_json::Value = serde_json::from_str(record["body"].as_s().unwrap()).unwrap();
    assert_eq!(body["summary"]["accounts"], 2);
    let latest = get_item(&ddb, "ORG", "LATEST").await.unwrap();
    assert_eq!(latest["run_id"].as_s().unwrap(), RUN_ID);
    for id in [&a, &b] {
        let item = get_item(&ddb, &format!("ACCOUNT#{id}"), &format!("SNAP#{RUN_ID}"))
            .await
            .unwrap();
        assert_eq!(item["account_id"].as_s().unwrap(), id);
        assert_eq!(item["run_id"].as_s().unwrap(), RUN_ID);
    }
    assert_eq!(
        get_item(&ddb, &format!("ACCOUNT#{c}"), &format!("SNAP#{RUN_ID}")).await,
        None,
        "no snapshot item for the refused account"
    );

    // The reports, under the prefix, in S3.
    let s3 = posture_tests::moto::admin_s3(&management);
    let prefix = format!("org/reports/{RUN_ID}/");
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(&prefix)
        .send()
        .await
        .unwrap();
    let keys: BTreeSet<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect();
    let names = ["report.html", "report.json", "report.md"];
    let reports: BTreeSet<String> = names.iter().map(|n| format!("{prefix}{n}")).collect();
    // Beside the reports, each assessed account's exports (not listed in the run record).
    let mut expected = reports.clone();
    for account in run.accounts.iter().filter(|a| a.outcome == AccountOutcome::Assessed) {
        for format in posture_core::report::export::ExportFormat::ALL {
            expected.insert(format!(
                "{prefix}{}",
                posture_core::org::execute::export_name(&account.account_id, format)
            ));
        }
    }
    assert_eq!(keys, expected);
    let uris: BTreeSet<String> = run.reports.iter().map(|r| r.uri.clone()).collect();
    assert_eq!(uris, reports.iter().map(|k| format!("s3://{BUCKET}/{k}")).collect());
    let read = |name: &str| {
        let s3 = s3.clone();
        let key = format!("{prefix}{name}");
        async move {
            let object = s3.get_object().bucket(BUCKET).key(key).send().await.unwrap();
            let content_type = object.content_type().unwrap_or_default().to_string();
            let bytes = object.body.collect().await.unwrap().to_vec();
            (content_type, String::from_utf8(bytes).unwrap())
        }
    };
    let (json_type, json) = read("report.json").await;
    assert_eq!(json_type, "application/json");
    let report: RunReport = serde_json::from_str(&json).unwrap();
    let reported: Vec<&str> = report.snapshots.iter().map(|s| s.account_id.as_str()).collect();
    let mut assessed = vec![a.as_str(), b.as_str()];
    assessed.sort_unstable();
    assert_eq!(reported, assessed);
    assert_eq!(report.run.summary.as_ref().unwrap().accounts, 2);
    let (_, md) = read("report.md").await;
    assert!(
        md.starts_with(&format!("# Security posture: run {RUN_ID}")),
        "{md:.200}"
    );
    assert!(
        md.contains("## Accounts not assessed") && md.contains(&format!("| {c} | ")),
        "the Markdown report lists the gap: {md:.1500}"
    );
    let (html_type, html) = read("report.html").await;
    assert!(html_type.starts_with("text/html"), "{html_type}");
    assert!(
        html.contains("id=\"gap-accounts\"") && html.contains(&c),
        "the HTML report lists the gap"
    );

    // The gate saw each member's role assumed, as the trust policies require:
    // ExternalId, a session named after the run, the shortest session. (A
    // reachable role is assumed twice today: `enter_account`'s up-front check
    // does not seed the SDK's credentials cache, hence a set, not a count.)
    let calls = gate.assume_role_calls();
    let arns: BTreeSet<String> = calls.iter().map(|x| x.role_arn.clone()).collect();
    assert_eq!(arns, members.iter().map(|m| role_arn(m)).collect(), "{calls:#?}");
    for call in &calls {
        assert_eq!(call.external_id.as_deref(), Some(EXTERNAL_ID), "{call:?}");
        assert!(call.role_session_name.contains(RUN_ID), "{call:?}");
        assert_eq!(call.duration_seconds, Some(900), "{call:?}");
        assert_eq!(call.refused, call.role_arn == role_arn(&c), "{call:?}");
    }
    // Each member's role is assumed exactly once for the whole collection,
    // and a refusal is final: not retried.
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert_eq!(calls.iter().filter(|x| x.refused).count(), 1, "{calls:#?}");

    // The tick redelivered: recognized as done, no member entered again.
    let again = assessor::assess(&org, &run_settings, &request, &jiff::Timestamp::now)
        .await
        .unwrap();
    assert_eq!(again.outcome, "already_complete");
    assert_eq!(&again.run, run);
    assert_eq!(
        gate.assume_role_calls().len(),
        calls.len(),
        "a redelivered tick assumed roles again"
    );
    eprintln!(
        "aws_org_run: setup {:.1}s, run {:.1}s, total {:.1}s",
        setup_done.as_secs_f64(),
        run_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
