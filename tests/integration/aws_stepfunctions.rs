//! The Step Functions fan-out against moto, driven by the state machine's
//! own definition in `template.yaml`: a run of at least
//! `POSTURE_FANOUT_MIN_ACCOUNTS` accounts is handed to the state machine
//! (an execution started with the run's input, the accounts written where
//! the Map's ItemReader reads them); each item is collected by the
//! collector's handler, as the Map's child executions invoke it (one caught
//! as a failure); the results are written as the Map's ResultWriter writes
//! them; and the assessor's finish, invoked with the payload the definition
//! builds, completes the run with the unreachable and failed accounts as
//! gaps.
//!
//! moto records executions but does not run a Distributed Map, so the test
//! plays the Map: the JSONPath parameters of the definition are resolved
//! here against the execution's input, which ties the definition, the
//! assessor's input and its finish event together.

use posture_aws::collector::{CollectRequest, handle_collect};
use posture_aws::fanout::ExecutionInput;
use posture_aws::org::{Org, OrgSettings};
use posture_core::org::run::{AccountOutcome, RunState};
use posture_tests::moto::{Moto, admin_s3};
use posture_tests::org::{admin_sessions, create_member_role, create_organization};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

const TABLE: &str = "posture-sfn";
const BUCKET: &str = "posture-sfn-data";
const PREFIX: &str = "org/";
const EXTERNAL_ID: &str = "posture-sfn-external-id";
const ROLE: &str = "PostureAdvisorReadOnly";
const RUN_ID: &str = "20261126T060000Z-scheduled";

/// The state machine's definition in `template.yaml`, its substitutions made.
fn definition() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let machine = &template["Resources"]["AssessmentStateMachine"]["Properties"];
    let text = serde_json::to_string(&serde_json::to_value(&machine["Definition"]).unwrap()).unwrap();
    let text = text
        .replace(
            "${CollectorFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:collector",
        )
        .replace(
            "${AssessorFunctionArn}",
            "arn:aws:lambda:us-east-1:123456789012:function:assessor",
        );
    serde_json::from_str(&text).unwrap()
}

/// `$.a.b` of `state`.
fn path<'a>(state: &'a Value, path: &str) -> &'a Value {
    let rest = path.strip_prefix('$').unwrap();
    rest.split('.').filter(|s| !s.is_empty()).fold(state, |v, key| {
        v.get(key).unwrap_or_else(|| panic!("{path}: no {key} in {v}"))
    })
}

/// A state's `Parameters` resolved against `state` (keys ending in `.$`
/// are JSONPaths), as Step Functions builds a task's input.
fn parameters(template: &Value, state: &Value) -> Value {
    match template {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match k.strip_suffix(".$") {
                    Some(key) => (key.to_string(), path(state, v.as_str().unwrap()).clone()),
                    None => (k.clone(), parameters(v, state)),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test]
async fn a_large_run_is_collected_by_the_state_machine_and_finished_by_the_assessor() {
    let moto = Moto::start();
    let management = moto.sdk_config().await;
    let members = create_organization(&management, &["sfn-a", "sfn-b", "sfn-c"]).await;
    let admin = admin_sessions(&management, &moto.endpoint, &members).await;
    for member in &admin {
        create_member_role(member, ROLE, EXTERNAL_ID).await;
    }
    super::aws_runs::create_table_and_bucket(&management, TABLE, BUCKET).await;

    let definition = definition();
    let sfn = aws_sdk_sfn::Client::new(&management);
    let machine = sfn
        .create_state_machine()
        .name("posture-assessment")
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::123456789012:role/posture-state-machine")
        .send()
        .await
        .unwrap();
    let machine_arn = machine.state_machine_arn().to_string();

    let include = members.join(",");
    let vars: HashMap<&str, &str> = HashMap::from([
        ("POSTURE_TABLE", TABLE),
        ("POSTURE_BUCKET", BUCKET),
        ("POSTURE_BUCKET_PREFIX", PREFIX),
        ("POSTURE_EXTERNAL_ID", EXTERNAL_ID),
        ("POSTURE_REGIONS", "us-east-1"),
        ("POSTURE_INCLUDE_ACCOUNTS", include.as_str()),
        ("POSTURE_STATE_MACHINE", machine_arn.as_str()),
        ("POSTURE_FANOUT_MIN_ACCOUNTS", "3"),
        ("POSTURE_CONCURRENCY", "4"),
    ]);
    let settings = OrgSettings::from_vars(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    let org = Org::aws(&settings, &management)
        .unwrap()
        .with_state_machine(&settings, &management)
        .unwrap();
    let run_settings = settings.run_settings(posture_core::posture::frameworks::builtin().unwrap(), Vec::new());

    // The schedule's tick: the run is begun and handed off.
    let tick = assessor::event(&posture_tests::fixtures::event("assessor-scheduled.json")).unwrap();
    let assessor::AssessorEvent::Run(request) = tick else {
        panic!("a tick is a run request")
    };
    let answer = assessor::assess(&org, &run_settings, &request, &jiff::Timestamp::now)
        .await
        .unwrap();
    assert_eq!(answer.outcome, "handed_off", "{:#?}", answer.run);
    assert_eq!(answer.run.state, RunState::Running);
    let execution_arn = answer.run.execution.clone().unwrap();
    let execution = sfn
        .describe_execution()
        .execution_arn(&execution_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(execution.name(), Some(format!("{RUN_ID}-a1").as_str()));
    let input: Value = serde_json::from_str(execution.input().unwrap()).unwrap();
    let typed: ExecutionInput = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(
        (typed.run_id.as_str(), typed.attempt, typed.concurrency),
        (RUN_ID, 1, 4)
    );
    let stored = org.stores.snapshots.run(RUN_ID).await.unwrap().unwrap();
    assert_eq!(stored.execution.as_deref(), Some(execution_arn.as_str()));
    assert_eq!(stored.state, RunState::Running);

    // The Map: its item list where its ItemReader reads it, one collector
    // request per account, in the shape of the collector's event file.
    let map = &definition["States"]["CollectAccounts"];
    assert_eq!(map["ItemProcessor"]["ProcessorConfig"]["Mode"], "DISTRIBUTED");
    assert_eq!(path(&input, map["MaxConcurrencyPath"].as_str().unwrap()), &json!(4));
    let reader = parameters(&map["ItemReader"]["Parameters"], &input);
    let s3 = admin_s3(&management);
    let get = |bucket: String, key: String| {
        let s3 = s3.clone();
        async move {
            let object = s3.get_object().bucket(bucket).key(key).send().await.unwrap();
            object.body.collect().await.unwrap().to_vec()
        }
    };
    let items: Vec<Value> = serde_json::from_slice(
        &get(
            reader["Bucket"].as_str().unwrap().into(),
            reader["Key"].as_str().unwrap().into(),
        )
        .await,
    )
    .unwrap();
    assert_eq!(items.len(), 3);
    let fixture = posture_tests::fixtures::event("collector-collect.json");
    for item in &items {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(keys, fixture.as_object().unwrap().keys().collect::<Vec<_>>());
    }

    // Each child execution: the collector's handler with the item as its
    // event; the third account's every attempt fails, and the child's
    // catch passes the request on with the failure.
    let collect_state = &map["ItemProcessor"]["States"]["Collect"];
    assert_eq!(
        collect_state["Parameters"]["Payload.$"], "$",
        "the item is the collector's event"
    );
    assert_eq!(collect_state["Catch"][0]["ResultPath"], "$.failure");
    let mut children = Vec::new();
    for item in &items {
        let request: CollectRequest = serde_json::from_value(item.clone()).unwrap();
        let output = if request.account_id == members[2] {
            let mut caught = item.clone();
            caught["failure"] = json!({
                "Error": "States.TaskFailed",
                "Cause": json!({"errorType": "Runtime.ExitError", "errorMessage": "account crashed (test fault)"}).to_string()
            });
            caught
        } else {
            let summary = handle_collect(&management, &s3, BUCKET, PREFIX, "aws", request)
                .await
                .unwrap();
            serde_json::to_value(summary).unwrap()
        };
        children.push(json!({
            "ExecutionArn": format!("{execution_arn}/CollectAccounts:{}", children.len()),
            "Input": item.to_string(),
            "InputDetails": {"Included": true},
            "Output": output.to_string(),
            "OutputDetails": {"Included": true},
            "Status": "SUCCEEDED",
        }));
    }
    // The ResultWriter: a manifest and a result file under its prefix.
    let writer = parameters(&map["ResultWriter"]["Parameters"], &input);
    let results_prefix = format!("{}/0f1e2d3c", writer["Prefix"].as_str().unwrap());
    let manifest_key = format!("{results_prefix}/manifest.json");
    let file_key = format!("{results_prefix}/SUCCEEDED_0.json");
    for (key, body) in [
        (&file_key, Value::Array(children).to_string()),
        (
            &manifest_key,
            json!({
                "DestinationBucket": writer["Bucket"],
                "MapRunArn": format!("{execution_arn}:CollectAccounts"),
                "ResultFiles": {"FAILED": [], "PENDING": [], "SUCCEEDED": [{"Key": file_key, "Size": 1}]}
            })
            .to_string(),
        ),
    ] {
        s3.put_object()
            .bucket(BUCKET)
            .key(key)
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
    }

    // Finish: the payload the definition builds from the Map's output.
    let mut state = input.clone();
    state[map["ResultPath"].as_str().unwrap().trim_start_matches("$.")] = json!({
        "MapRunArn": format!("{execution_arn}:CollectAccounts"),
        "ResultWriterDetails": {"Bucket": BUCKET, "Key": manifest_key}
    });
    assert_eq!(map["Next"], "Finish");
    let finish_state = &definition["States"]["Finish"];
    let payload = parameters(&finish_state["Parameters"]["Payload"], &state);
    let assessor::AssessorEvent::Finish(finish) = assessor::event(&payload).unwrap() else {
        panic!("the Finish payload is not a finish event: {payload}")
    };
    let results = admin_s3(&management);
    let end = posture_aws::fanout::finish_event(&results, &finish).await;
    let answer = assessor::finish(&org, &run_settings, &finish, end, &jiff::Timestamp::now)
        .await
        .unwrap();
    assert_eq!(answer.outcome, "completed", "{:#?}", answer.run);
    let outcomes: BTreeMap<&str, (AccountOutcome, Option<&str>)> = answer
        .run
        .accounts
        .iter()
        .map(|a| (a.account_id.as_str(), (a.outcome, a.gap.as_deref())))
        .collect();
    assert_eq!(outcomes[members[0].as_str()], (AccountOutcome::Assessed, None));
    assert_eq!(outcomes[members[1].as_str()], (AccountOutcome::Assessed, None));
    let (outcome, gap) = outcomes[members[2].as_str()];
    assert_eq!(outcome, AccountOutcome::Gap);
    assert!(
        gap.unwrap().contains("States.TaskFailed: account crashed (test fault)"),
        "{gap:?}"
    );
    let store = org.stores.snapshots.clone();
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, RUN_ID);
    for member in &members[..2] {
        assert!(store.snapshot(member, RUN_ID).await.unwrap().is_some(), "{member}");
    }

    // The Map failing as a whole: FinishFailed's payload fails the next run.
    let next = assessor::event(&json!({"run_id": "20261127T060000Z-manual", "trigger": "manual"})).unwrap();
    let assessor::AssessorEvent::Run(next) = next else {
        panic!()
    };
    let handed = assessor::assess(&org, &run_settings, &next, &jiff::Timestamp::now)
        .await
        .unwrap();
    assert_eq!(handed.outcome, "handed_off");
    let mut state: Value = serde_json::from_str(
        sfn.describe_execution()
            .execution_arn(handed.run.execution.as_deref().unwrap())
            .send()
            .await
            .unwrap()
            .input()
            .unwrap(),
    )
    .unwrap();
    let catch = &map["Catch"][0];
    state[catch["ResultPath"].as_str().unwrap().trim_start_matches("$.")] =
        json!({"Error": "States.ItemReaderFailed", "Cause": "the item list could not be read"});
    let failed_state = &definition["States"][catch["Next"].as_str().unwrap()];
    let payload = parameters(&failed_state["Parameters"]["Payload"], &state);
    let assessor::AssessorEvent::Finish(finish) = assessor::event(&payload).unwrap() else {
        panic!("the FinishFailed payload is not a finish event: {payload}")
    };
    let end = posture_aws::fanout::finish_event(&results, &finish).await;
    let answer = assessor::finish(&org, &run_settings, &finish, end, &jiff::Timestamp::now)
        .await
        .unwrap();
    assert_eq!(answer.outcome, "failed");
    assert!(answer.run.error.as_deref().unwrap().contains("States.ItemReaderFailed"));
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, RUN_ID);
}
