//! The Lambda fan-out, end to end against moto: with
//! `POSTURE_COLLECTOR_FUNCTION` set, `Org::aws` collects each member by
//! invoking the collector function (`RequestResponse`, a `CollectRequest`
//! payload), the function writes the collection to S3 and answers a
//! `CollectSummary`, and the assessor reads the collection back. A function
//! error for one member fails the run and leaves the latest run in place.
//! Also the MCP server's `LambdaLauncher`: one `Event` invocation of the
//! assessor function.
//!
//! moto's Invoke needs Docker, so the SDK talks to [`LambdaStandIn`], which
//! answers Invoke (running the collector's handler in this process) and
//! forwards everything else to moto.

use posture_aws::collector::CollectRequest;
use posture_aws::org::{LambdaLauncher, Org, OrgSettings};
use posture_core::org::run::{AccountOutcome, RunState};
use posture_core::ports::CollectedAccount;
use posture_core::ports::RunLauncher;
use posture_tests::lambda_standin::{CollectorFunction, LambdaStandIn, runtime_error_type};
use posture_tests::moto::{Moto, sdk_config_for};
use posture_tests::org::{
    admin_sessions, create_member_role, create_organization, create_private_bucket, create_public_bucket,
};
use std::collections::{BTreeSet, HashMap};

const TABLE: &str = "posture-fanout";
const BUCKET: &str = "posture-fanout-data";
const PREFIX: &str = "org/";
const EXTERNAL_ID: &str = "posture-fanout-external-id";
const ROLE: &str = "PostureAdvisorReadOnly";
const COLLECTOR: &str = "posture-collector";
const ASSESSOR: &str = "posture-assessor";
/// The run id the captured tick (`time` 2026-11-26T06:00:00Z) becomes.
const RUN_ID: &str = "20261126T060000Z-scheduled";
/// The next day's tick.
const NEXT_RUN_ID: &str = "20261127T060000Z-scheduled";
const PUBLIC_BUCKET: &str = "fanout-a-public-assets";
const PRIVATE_BUCKET: &str = "fanout-b-private-data";

fn scheduled_tick(time: &str) -> assessor::RunRequest {
    let mut tick: serde_json::Value = posture_tests::fixtures::event("assessor-scheduled.json");
    tick["time"] = serde_json::Value::String(time.to_string());
    assessor::run_request(&tick).unwrap()
}

#[tokio::test]
async fn lambda_fanout_invokes_the_collector_per_member_and_a_function_error_fails_the_run() {
    let started = std::time::Instant::now();
    let moto = Moto::start();
    let management = moto.sdk_config().await;

    // The organization: the management account and three members, each with
    // the collector's role.
    let members = create_organization(&management, &["fanout-a", "fanout-b", "fanout-c"]).await;
    let [a, b, c] = [members[0].clone(), members[1].clone(), members[2].clone()];
    let admin = admin_sessions(&management, &moto.endpoint, &members).await;
    for member in &admin {
        create_member_role(member, ROLE, EXTERNAL_ID).await;
    }
    // A: a bucket anyone may read. B: a private bucket behind Block Public Access.
    create_public_bucket(&admin[0], PUBLIC_BUCKET).await;
    create_private_bucket(&admin[1], PRIVATE_BUCKET).await;
    super::aws_runs::create_table_and_bucket(&management, TABLE, BUCKET).await;

    let standin = LambdaStandIn::start(
        &moto.endpoint,
        CollectorFunction {
            name: COLLECTOR.to_string(),
            bucket: BUCKET.to_string(),
            prefix: PREFIX.to_string(),
            partition: "aws".to_string(),
        },
        vec![ASSESSOR.to_string()],
    )
    .await;
    let include = members.join(",");
    let vars: HashMap<&str, &str> = HashMap::from([
        ("POSTURE_TABLE", TABLE),
        ("POSTURE_BUCKET", BUCKET),
        ("POSTURE_BUCKET_PREFIX", PREFIX),
        ("POSTURE_EXTERNAL_ID", EXTERNAL_ID),
        ("POSTURE_REGIONS", "us-east-1"),
        ("POSTURE_INCLUDE_ACCOUNTS", include.as_str()),
        ("POSTURE_COLLECTOR_FUNCTION", COLLECTOR),
    ]);
    let settings = OrgSettings::from_vars(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    let sdk = sdk_config_for(&standin.endpoint).await;
    let org = Org::aws(&settings, &sdk).unwrap();
    let run_settings = settings.run_settings(posture_core::posture::frameworks::builtin().unwrap(), Vec::new());
    let request = scheduled_tick("2026-11-26T06:00:00Z");
    assert_eq!(request.run_id, RUN_ID);
    let setup_done = started.elapsed();

    // Scenario 1: every member collected by the function.
    let answer = assessor::assess(&org, &run_settings, &request, &jiff::Timestamp::now)
        .await
        .unwrap();
    let run_took = started.elapsed() - setup_done;
    let run = &answer.run;
    assert_eq!(answer.outcome, "completed", "{run:#?}");
    assert_eq!(run.state, RunState::Complete);
    let in_scope: BTreeSet<&str> = run.accounts.iter().map(|x| x.account_id.as_str()).collect();
    assert_eq!(in_scope, members.iter().map(String::as_str).collect());
    assert!(
        run.accounts
            .iter()
            .all(|x| x.outcome == AccountOutcome::Assessed && x.gap.is_none()),
        "{:#?}",
        run.accounts
    );
    assert_eq!(run.summary.as_ref().unwrap().accounts, 3);

    // One synchronous invocation of the collector per member, with the
    // request the function needs.
    let calls = standin.invocations();
    assert_eq!(calls.len(), 3, "{calls:#?}");
    let mut invoked = BTreeSet::new();
    for call in &calls {
        assert_eq!(call.function, COLLECTOR, "{call:?}");
        assert_eq!(call.qualifier, None, "{call:?}");
        assert_eq!(call.invocation_type(), "RequestResponse", "{call:?}");
        assert_eq!((call.status, call.function_error.as_deref()), (200, None), "{call:?}");
        let keys: BTreeSet<&str> = call.payload.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "run_id",
                "account_id",
                "role",
                "external_id",
                "regions",
                "max_findings_per_account"
            ]),
            "{call:?}"
        );
        // The event file users invoke the collector with has the same shape.
        let fixture: serde_json::Value = posture_tests::fixtures::event("collector-collect.json");
        assert_eq!(keys, fixture.as_object().unwrap().keys().map(String::as_str).collect());
        let sent: CollectRequest = serde_json::from_value(call.payload.clone()).unwrap();
        assert_eq!(
            sent,
            CollectRequest {
                run_id: RUN_ID.to_string(),
                account_id: sent.account_id.clone(),
                role: ROLE.to_string(),
                external_id: Some(EXTERNAL_ID.to_string()),
                regions: Some(vec!["us-east-1".to_string()]),
                max_findings_per_account: Some(posture_aws::collector::MAX_FINDINGS_PER_ACCOUNT),
            }
        );
        invoked.insert(sent.account_id);
    }
    assert_eq!(invoked, members.iter().cloned().collect(), "one invocation per member");

    // What the function wrote: one collection per member under the prefix,
    // each the member's own inventory.
    let s3 = posture_tests::moto::admin_s3(&management);
    let collections = format!("{PREFIX}runs/{RUN_ID}/collections/");
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(&collections)
        .send()
        .await
        .unwrap();
    let keys: BTreeSet<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect();
    assert_eq!(
        keys,
        members.iter().map(|m| format!("{collections}{m}.json")).collect(),
        "collections in S3"
    );
    for member in &members {
        let object = s3
            .get_object()
            .bucket(BUCKET)
            .key(format!("{collections}{member}.json"))
            .send()
            .await
            .unwrap();
        let stored: CollectedAccount = serde_json::from_slice(&object.body.collect().await.unwrap().to_vec()).unwrap();
        assert_eq!(&stored.inventory.account_id, member);
        assert_eq!(stored.inventory.regions, ["us-east-1"]);
    }

    // The snapshots in the store are the real collections: only A's public bucket fails.
    let store = org.stores.snapshots.clone();
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, RUN_ID);
    let not_public = |snap: &posture_core::org::snapshot::AccountSnapshot| {
        snap.failures
            .iter()
            .filter(|f| f.check_id == "s3.bucket_not_public")
            .map(|f| f.resource.clone())
            .collect::<Vec<_>>()
    };
    for member in &members {
        let snap = store.snapshot(member, RUN_ID).await.unwrap().unwrap();
        assert_eq!(&snap.account_id, member);
        let expected: Vec<String> = if *member == a {
            vec![PUBLIC_BUCKET.to_string()]
        } else {
            Vec::new()
        };
        assert_eq!(not_public(&snap), expected, "{member}: {:#?}", snap.failures);
    }

    // Scenario 2: the next day, the function fails for B.
    let reason = "s3:PutObject: AccessDenied: stand-in refused the write";
    standin.fail_account(&b, reason);
    let next = scheduled_tick("2026-11-27T06:00:00Z");
    assert_eq!(next.run_id, NEXT_RUN_ID);
    let failed = assessor::assess(&org, &run_settings, &next, &jiff::Timestamp::now)
        .await
        .unwrap();
    assert_eq!(failed.outcome, "failed", "{:#?}", failed.run);
    assert_eq!(failed.run.state, RunState::Failed);
    let error = failed.run.error.as_deref().unwrap();
    let expected = format!("account {b}: collector function Unhandled: ");
    // Only the runtime's errorMessage, not its errorType (a Rust type name).
    assert_eq!(error, format!("{expected}account {b}: collector failed: {reason}"));
    assert!(!error.contains(runtime_error_type()), "{error}");
    assert!(!error.contains(&a) && !error.contains(&c), "{error}");
    eprintln!("failed run error: {error}");
    assert!(failed.run.summary.is_none() && failed.run.reports.is_empty());
    let next_calls: Vec<_> = standin
        .invocations()
        .into_iter()
        .filter(|x| x.payload["run_id"] == NEXT_RUN_ID)
        .collect();
    let b_calls: Vec<_> = next_calls.iter().filter(|x| x.payload["account_id"] == b).collect();
    assert_eq!(b_calls.len(), 1, "a function error is not retried: {next_calls:#?}");
    assert_eq!(
        (b_calls[0].status, b_calls[0].function_error.as_deref()),
        (200, Some("Unhandled"))
    );
    let accounts: BTreeSet<&str> = next_calls
        .iter()
        .filter_map(|x| x.payload["account_id"].as_str())
        .collect();
    assert_eq!(
        accounts.len(),
        next_calls.len(),
        "at most one invocation per member: {next_calls:#?}"
    );
    // The failed run is recorded as such; the latest is still the first run.
    let recorded = store.run(NEXT_RUN_ID).await.unwrap().unwrap();
    assert_eq!(recorded.state, RunState::Failed);
    assert_eq!(recorded.error.as_deref(), Some(error));
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, RUN_ID);
    eprintln!(
        "aws_lambda_fanout: setup {:.1}s, run {:.1}s, total {:.1}s",
        setup_done.as_secs_f64(),
        run_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn lambda_launcher_queues_an_event_invocation_of_the_assessor() {
    // No upstream is needed: the launcher only invokes.
    let standin = LambdaStandIn::start(
        "http://127.0.0.1:9",
        CollectorFunction {
            name: COLLECTOR.to_string(),
            bucket: BUCKET.to_string(),
            prefix: String::new(),
            partition: "aws".to_string(),
        },
        vec![ASSESSOR.to_string()],
    )
    .await;
    let sdk = sdk_config_for(&standin.endpoint).await;
    let launcher = LambdaLauncher::connect(&sdk, ASSESSOR.to_string());
    // What the launcher sends is the event file users invoke the assessor with.
    let fixture: serde_json::Value = posture_tests::fixtures::event("assessor-mcp-run.json");
    let run_id = fixture["run_id"].as_str().unwrap();
    launcher.launch(run_id).await.unwrap();
    let calls = standin.invocations();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(call.function, ASSESSOR);
    assert_eq!(call.invocation_type_header.as_deref(), Some("Event"));
    assert_eq!((call.status, call.function_error.as_deref()), (202, None));
    assert_eq!(call.payload, fixture);
    // The assessor reads that payload as the queued MCP run.
    let request = assessor::run_request(&call.payload).unwrap();
    assert_eq!((request.run_id.as_str(), request.trigger.as_str()), (run_id, "mcp"));

    // A function that does not exist: the launch fails and says so.
    let missing = LambdaLauncher::connect(&sdk, "no-such-assessor".to_string());
    let e = missing.launch(run_id).await.unwrap_err();
    assert_eq!(e.operation, "lambda:InvokeFunction");
    assert!(e.message.contains("Function not found"), "{e:?}");
    assert_eq!(standin.invocations().len(), 2);
    assert_eq!(standin.invocations()[1].status, 404);
}

/// The collector function writes a collection as it decodes its spooled
/// findings: one PutObject when small, a multipart upload of 8 MiB parts
/// when not, and either reads back as the same collection.
#[tokio::test]
async fn a_collection_is_written_part_by_part_and_reads_back_whole() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    super::aws_runs::create_table_and_bucket(&sdk, TABLE, BUCKET).await;
    let s3 = posture_tests::moto::admin_s3(&sdk);
    let now: jiff::Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
    let org = posture_core::demo::DemoOrganization::load(now).unwrap();
    let demo = org.findings();
    for (count, min_parts) in [(demo.len(), 1), (20_000, 3)] {
        let findings: Vec<_> = (0..count)
            .map(|i| {
                let mut f = demo[i % demo.len()].clone();
                f.id = format!("{}-{i}", f.id);
                f
            })
            .collect();
        let collection = posture_core::ports::CollectedAccount {
            inventory: org.inventories[0].clone(),
            findings: posture_core::findings::spool::FindingSpool::try_from(findings.clone()).unwrap(),
            gaps: Vec::new(),
            throttled: vec![posture_core::sources::ThrottledRead {
                service: "GuardDuty".into(),
                region: "us-east-1".into(),
                attempts: 3,
            }],
            stored: false,
        };
        let key = format!("{PREFIX}runs/{RUN_ID}/collections/{count}.json");
        let written = posture_aws::collector::put_streamed(&s3, BUCKET, &key, &collection)
            .await
            .unwrap();
        let whole = s3.get_object().bucket(BUCKET).key(&key).send().await.unwrap();
        let bytes = whole.body.collect().await.unwrap().to_vec();
        // One object when it fits in a part; else parts of at least 8 MiB
        // but for the last.
        assert_eq!(written == 1, bytes.len() < 8 << 20, "{count} findings, {written} parts");
        assert!(written >= min_parts && written <= bytes.len().div_ceil(8 << 20).max(1));
        let back: CollectedAccount = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.findings, findings);
        assert_eq!(back.inventory.account_id, collection.inventory.account_id);
        assert_eq!(back.throttled, collection.throttled);
        // The same JSON as the collection serialized whole.
        let expected: serde_json::Value = serde_json::to_value(&collection).unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(), expected);
    }
}
