//! Org-wide assessments as MCP tasks (SEP-2663 tasks extension) and
//! progress notifications, against the in-process router: a 2026-07-28
//! client that declares the tasks extension gets a task whose id is the run
//! id and polls it with tasks/get to the RunStatus; a client without the
//! extension gets the plain queued result; get_assessment_status with
//! `wait_seconds` and a progress token streams notifications/progress.
//! Every task answer comes from the store (the server keeps no task state).

use async_trait::async_trait;
use axum::Router;
use jiff::{SignedDuration, Timestamp};
use posture_aws::org::{Org, OrgSettings, TaskLauncher};
use posture_core::demo::DemoOrganization;
use posture_core::org::run;
use posture_core::ports::{AccountCollector, CollectError, SnapshotStore, SpooledCollection};
use posture_mcp::HistoryBackend;
use posture_mcp::http::HttpConfig;
use posture_tests::mcp::{Reply, meta_2026, post_router};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The demo organization's collector, `delay` per account: slow enough to
/// watch a run progress.
struct SlowCollector {
    org: Arc<DemoOrganization>,
    delay: Duration,
}

#[async_trait]
impl AccountCollector for SlowCollector {
    async fn collect(&self, run_id: &str, account_id: &str) -> Result<SpooledCollection, CollectError> {
        tokio::time::sleep(self.delay).await;
        self.org.collect(run_id, account_id).await
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("posture-tasks-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo backend with history in a fresh local store: runs start
/// in-process, one account at a time, each taking `delay`.
fn app(name: &str, delay: Duration) -> (Router, Arc<dyn SnapshotStore>) {
    let dir = fresh_dir(name);
    let mut backend = posture_tests::mcp::demo_backend();
    let demo = Arc::new(DemoOrganization::load(Timestamp::now()).unwrap());
    let mut org = Org::demo(demo.clone(), &dir);
    org.collector = Arc::new(SlowCollector { org: demo, delay });
    let dir_str = dir.to_string_lossy().to_string();
    let settings = OrgSettings::from_vars(|k| match k {
        "POSTURE_DATA_DIR" => Some(dir_str.clone()),
        "POSTURE_CONCURRENCY" => Some("1".to_string()),
        _ => None,
    })
    .unwrap();
    let run_settings = settings.run_settings(backend.frameworks.clone(), Vec::new());
    let store = org.stores.snapshots.clone();
    backend.history = Some(HistoryBackend {
        store: store.clone(),
        reports: org.stores.reports.clone(),
        collections: org.stores.collections.clone(),
        max_duration: run_settings.max_duration,
        launcher: Arc::new(TaskLauncher {
            org,
            settings: run_settings,
        }),
        serving: Default::default(),
    });
    (mcp_server::app(backend, &HttpConfig::loopback()), store)
}

const ORG_ASSESSMENT: &str = "assess_security_posture";

fn org_args() -> Value {
    json!({"scope": "organization", "target": "all"})
}

async fn call_2026(app: &Router, tool: &str, arguments: Value, tasks: bool) -> Reply {
    post_router(
        app,
        "2026-07-28",
        "tools/call",
        Some(tool),
        json!({"name": tool, "arguments": arguments, "_meta": meta_2026(tasks)}),
    )
    .await
}

async fn task_method(app: &Router, method: &str, task_id: &str, tasks: bool) -> Reply {
    post_router(
        app,
        "2026-07-28",
        method,
        Some(task_id),
        json!({"taskId": task_id, "_meta": meta_2026(tasks)}),
    )
    .await
}

#[tokio::test]
async fn org_assessment_is_a_task_polled_to_its_run_status() {
    let (app, _store) = app("task", Duration::from_millis(300));

    let reply = call_2026(&app, ORG_ASSESSMENT, org_args(), true).await;
    assert!(reply.status.is_success(), "{reply:?}");
    assert!(reply.content_type.starts_with("application/json"), "{reply:?}");
    let task = reply.result().clone();
    assert_eq!(task["resultType"], "task", "{task}");
    assert_eq!(task["status"], "working", "{task}");
    assert_eq!(task["pollIntervalMs"], 2000, "{task}");
    assert_eq!(task["ttlMs"], 86_400_000, "{task}");
    let task_id = task["taskId"].as_str().unwrap().to_string();
    assert!(run::is_valid_run_id(&task_id) && task_id.contains("-mcp-"), "{task}");
    assert!(
        task["createdAt"].as_str().unwrap().parse::<Timestamp>().is_ok(),
        "{task}"
    );
    let created = task["createdAt"].clone();
    assert!(task.get("structuredContent").is_none(), "a task, not a result: {task}");

    // The task resolves at once (the queued record was written before the
    // answer), and works while accounts are collected.
    let first = task_method(&app, "tasks/get", &task_id, true).await;
    let first = first.result().clone();
    assert_eq!(first["resultType"], "complete", "{first}");
    assert_eq!(first["taskId"], task_id.as_str(), "{first}");
    assert_eq!(first["status"], "working", "{first}");
    assert!(first.get("result").is_none(), "{first}");
    assert_eq!(first["createdAt"], created, "{first}");

    let started = Instant::now();
    let mut messages = Vec::new();
    let done = loop {
        let got = task_method(&app, "tasks/get", &task_id, true).await;
        let got = got.result().clone();
        messages.push(got["statusMessage"].as_str().unwrap_or("").to_string());
        if got["status"] != "working" {
            break got;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "still working: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done.get("error").is_none(), "{done}");
    let result = &done["result"];
    assert_eq!(result["isError"], false, "{done}");
    let status = &result["structuredContent"];
    assert_eq!(status["run_id"], task_id.as_str(), "{status}");
    assert_eq!(status["state"], "COMPLETE", "{status}");
    assert_eq!(status["accounts_done"], 3, "{status}");
    assert_eq!(status["accounts_total"], 3, "{status}");
    assert!(status["summary"].is_object(), "{status}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with(&format!("Run {task_id}: Complete, 3 of 3")), "{text}");
    assert_eq!(done["statusMessage"], "3 of 3 accounts assessed (100.0%)", "{done}");
    assert!(
        messages
            .iter()
            .any(|m| m.ends_with("accounts assessed (33.3%)") || m.ends_with("accounts assessed (66.7%)")),
        "progress seen while working: {messages:?}"
    );
    assert_eq!(done["createdAt"], created, "stable: {done}");
    assert_eq!(done["lastUpdatedAt"], status["finished_at"], "{done}");

    // Same answer as the tool.
    let tool = call_2026(&app, "get_assessment_status", json!({"run_id": task_id}), false).await;
    assert_eq!(tool.result()["structuredContent"], *status);

    // Runs cannot be cancelled, take no input, and tasks need the extension.
    let cancel = task_method(&app, "tasks/cancel", &task_id, true).await;
    assert_eq!(cancel.error()["code"], -32600, "{cancel:?}");
    assert!(
        cancel.error()["message"]
            .as_str()
            .unwrap()
            .contains("cannot be cancelled"),
        "{cancel:?}"
    );
    let update = post_router(
        &app,
        "2026-07-28",
        "tasks/update",
        Some(&task_id),
        json!({"taskId": task_id, "inputResponses": {}, "_meta": meta_2026(true)}),
    )
    .await;
    assert_eq!(update.error()["code"], -32600, "{update:?}");
    let undeclared = task_method(&app, "tasks/get", &task_id, false).await;
    assert_eq!(undeclared.error()["code"], -32021, "{undeclared:?}");
}

#[tokio::test]
async fn unknown_malformed_and_failed_tasks() {
    let (app, store) = app("unknown", Duration::ZERO);
    for id in ["20200101T000000Z-mcp-deadbeef", "not-a-run", ""] {
        let got = task_method(&app, "tasks/get", id, true).await;
        let e = got.error();
        assert_eq!(e["code"], -32602, "{id:?}: {got:?}");
        assert!(e["message"].as_str().unwrap().contains("unknown task"), "{got:?}");
        let cancel = task_method(&app, "tasks/cancel", id, true).await;
        assert_eq!(cancel.error()["code"], -32602, "{id:?}: {cancel:?}");
    }

    // A queued run whose assessor never came: past its deadline it fails.
    let past = Timestamp::now() - SignedDuration::from_hours(2);
    let id = run::run_id(past, "mcp-0badc0de");
    store
        .begin_run(&run::queued(
            &id,
            run::RunTrigger::Mcp,
            past,
            SignedDuration::from_mins(30),
        ))
        .await
        .unwrap();
    let got = task_method(&app, "tasks/get", &id, true).await;
    let task = got.result();
    assert_eq!(task["status"], "failed", "{task}");
    assert!(task.get("result").is_none(), "{task}");
    assert_eq!(task["error"]["code"], -32603, "{task}");
    assert_eq!(task["error"]["data"]["abandoned"], true, "{task}");
    let message = task["error"]["message"].as_str().unwrap();
    assert!(message.contains("did not finish by its deadline"), "{task}");
    assert!(
        task["statusMessage"]
            .as_str()
            .unwrap()
            .contains("did not finish by its deadline"),
        "{task}"
    );
    assert_eq!(
        task["createdAt"],
        run::run_started_at(&id).unwrap().to_string(),
        "{task}"
    );
    assert_eq!(
        task["lastUpdatedAt"],
        task["error"]["message"].as_str().unwrap().rsplit(' ').next().unwrap(),
        "the deadline: {task}"
    );
}

#[tokio::test]
async fn clients_without_tasks_get_the_queued_result() {
    let (app, _store) = app("legacy", Duration::ZERO);
    // A 2025-11-25 client (stateless, no per-request capabilities).
    let legacy = post_router(
        &app,
        "2025-11-25",
        "tools/call",
        None,
        json!({"name": ORG_ASSESSMENT, "arguments": org_args()}),
    )
    .await;
    assert!(legacy.content_type.starts_with("application/json"), "{legacy:?}");
    let r = legacy.result();
    assert!(r.get("resultType").is_none_or(|t| t == "complete"), "{r}");
    assert!(r.get("taskId").is_none(), "{r}");
    assert_eq!(r["structuredContent"]["state"], "QUEUED", "{r}");
    assert_eq!(r["structuredContent"]["status_tool"], "get_assessment_status", "{r}");
    assert!(
        run::is_valid_run_id(r["structuredContent"]["run_id"].as_str().unwrap()),
        "{r}"
    );

    // A 2026-07-28 client that does not declare the extension: the plain
    // result too (the run just started, if still going, is the one answered).
    let plain = call_2026(&app, ORG_ASSESSMENT, org_args(), false).await;
    let state = &plain.result()["structuredContent"]["state"];
    assert!(state == "QUEUED" || state == "RUNNING", "{plain:?}");

    // Tasks never replace errors: a bad target is a tool error either way.
    let bad = call_2026(
        &app,
        ORG_ASSESSMENT,
        json!({"scope": "organization", "target": "x"}),
        true,
    )
    .await;
    assert_eq!(bad.result()["isError"], true, "{bad:?}");
    assert!(bad.result().get("taskId").is_none(), "{bad:?}");
    // Other scopes answer at once, tasks or not.
    let account = call_2026(
        &app,
        ORG_ASSESSMENT,
        json!({"scope": "account", "target": "111111111111"}),
        true,
    )
    .await;
    assert!(account.result().get("taskId").is_none(), "{account:?}");
}

#[tokio::test]
async fn waiting_for_status_streams_progress() {
    let (app, _store) = app("progress", Duration::from_millis(300));
    let started = call_2026(&app, ORG_ASSESSMENT, org_args(), false).await;
    let run_id = started.result()["structuredContent"]["run_id"]
        .as_str()
        .unwrap()
        .to_string();

    let mut meta = meta_2026(false);
    meta["progressToken"] = json!("wait-1");
    let clock = Instant::now();
    let reply = post_router(
        &app,
        "2026-07-28",
        "tools/call",
        Some("get_assessment_status"),
        json!({"name": "get_assessment_status", "arguments": {"run_id": run_id, "wait_seconds": 25}, "_meta": meta}),
    )
    .await;
    assert!(clock.elapsed() < Duration::from_secs(20), "returned when the run ended");
    assert!(reply.content_type.starts_with("text/event-stream"), "{reply:?}");
    let (progress, rest) = reply.messages.split_at(reply.messages.len() - 1);
    assert!(progress.len() >= 2, "{reply:?}");
    let mut last = -1.0;
    for p in progress {
        assert_eq!(p["method"], "notifications/progress", "{p}");
        assert_eq!(p["params"]["progressToken"], "wait-1", "{p}");
        let n = p["params"]["progress"].as_f64().unwrap();
        assert!(n > last, "progress increases: {reply:?}");
        last = n;
        assert!(p["params"]["message"].is_string(), "{p}");
    }
    let final_progress = &progress[progress.len() - 1]["params"];
    assert_eq!(final_progress["progress"], 3.0, "{reply:?}");
    assert_eq!(final_progress["total"], 3.0, "{reply:?}");
    assert_eq!(
        final_progress["message"], "3 of 3 accounts assessed (100.0%)",
        "{reply:?}"
    );
    let status = &rest[0]["result"]["structuredContent"];
    assert_eq!(status["state"], "COMPLETE", "{reply:?}");
    assert_eq!(status["run_id"], run_id.as_str());

    // A finished run answers at once, as plain JSON, with no progress.
    let mut meta = meta_2026(false);
    meta["progressToken"] = json!("wait-2");
    let again = post_router(
        &app,
        "2026-07-28",
        "tools/call",
        Some("get_assessment_status"),
        json!({"name": "get_assessment_status", "arguments": {"run_id": run_id, "wait_seconds": 25}, "_meta": meta}),
    )
    .await;
    assert!(again.content_type.starts_with("application/json"), "{again:?}");
    assert_eq!(again.messages.len(), 1);
    assert_eq!(again.result()["structuredContent"]["state"], "COMPLETE");

    // The wait is capped.
    let over = call_2026(
        &app,
        "get_assessment_status",
        json!({"run_id": run_id, "wait_seconds": 26}),
        false,
    )
    .await;
    assert_eq!(over.result()["isError"], true, "{over:?}");
}

/// D5: at most one org-wide run at a time. While one is in progress, asking
/// for another answers that one (sequentially and under a burst of
/// concurrent requests), and the store holds one live run.
#[tokio::test]
async fn one_org_run_at_a_time() {
    let (app, store) = app("one-at-a-time", Duration::from_millis(700));
    let first = call_2026(&app, ORG_ASSESSMENT, org_args(), false).await;
    let first = first.result()["structuredContent"].clone();
    assert_eq!(first["already_in_progress"], false, "{first}");
    let run_id = first["run_id"].as_str().unwrap().to_string();

    let again = call_2026(&app, ORG_ASSESSMENT, org_args(), false).await;
    let again = again.result()["structuredContent"].clone();
    assert_eq!(
        (again["run_id"].as_str(), again["already_in_progress"].as_bool()),
        (Some(run_id.as_str()), Some(true)),
        "{again}"
    );

    let burst = futures::future::join_all((0..8).map(|_| call_2026(&app, ORG_ASSESSMENT, org_args(), true))).await;
    for reply in &burst {
        assert_eq!(reply.result()["taskId"].as_str(), Some(run_id.as_str()), "{reply:?}");
    }
    let runs = posture_core::ports::all_runs(store.as_ref(), "", "~").await.unwrap();
    let live: Vec<&str> = runs
        .iter()
        .filter(|r| r.state != run::RunState::Failed)
        .map(|r| r.run_id.as_str())
        .collect();
    assert_eq!(live, [run_id.as_str()], "{runs:?}");
}
