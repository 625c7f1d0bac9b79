//! Assessment runs against the local directory store (the DynamoDB store
//! runs the same scenario against moto in `aws_runs`).

use posture_aws::store::local::{LocalReportStore, LocalSnapshotStore};
use posture_core::org::run::RunTrigger;
use posture_core::ports::SnapshotStore;
use posture_tests::runs::{fanout_semantics, run_semantics};

#[tokio::test]
async fn local_store_keeps_the_fanout_semantics() {
    let dir = std::env::temp_dir().join(format!("posture-fanout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let reports = LocalReportStore::new(&dir);
    fanout_semantics(&LocalSnapshotStore::new(&dir), &reports, &reports).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn local_store_keeps_the_run_semantics() {
    let dir = std::env::temp_dir().join(format!("posture-runs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = LocalSnapshotStore::new(&dir);
    let reports = LocalReportStore::new(&dir);
    run_semantics(&store, &reports, &reports).await;
    // A store written before the run index (or whose point a crash lost)
    // gets its points back from the run records on the next read.
    let indexed = store.trend_points("", "~", 10).await.unwrap();
    std::fs::remove_dir_all(dir.join("index")).unwrap();
    assert_eq!(store.trend_points("", "~", 10).await.unwrap(), indexed);
    assert!(dir.join("index/20261126T060000Z-scheduled.json").exists());
    let md = dir.join("reports/20261126T060000Z-scheduled/report.md");
    assert!(
        std::fs::read_to_string(md)
            .unwrap()
            .contains("# Security posture: run 20261126T060000Z-scheduled")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

struct NoLaunch;

#[async_trait::async_trait]
impl posture_core::ports::RunLauncher for NoLaunch {
    async fn launch(&self, _run_id: &str) -> Result<(), posture_core::ports::PortError> {
        Err(posture_core::ports::PortError::new("launch", "not in this test"))
    }
}

/// An account the latest run could not enter is listed with the reason and
/// with its last complete assessment.
#[tokio::test]
async fn list_accounts_shows_a_gap_with_the_last_assessment() {
    use posture_core::org::execute::{RunOutcome, RunPorts, execute};
    use posture_tests::runs::{FaultyCollector, settings};
    use std::sync::Arc;

    let dir = std::env::temp_dir().join(format!("posture-list-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(LocalSnapshotStore::new(&dir));
    let reports = Arc::new(LocalReportStore::new(&dir));
    let now: jiff::Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
    let collector = FaultyCollector::new(posture_core::demo::DemoOrganization::load(now).unwrap());
    let clock = || now;
    let ports = RunPorts {
        directory: &collector.org,
        collector: &collector,
        store: store.as_ref(),
        reports: reports.as_ref(),
        collections: reports.as_ref(),
        fanout: None,
        clock: &clock,
    };
    let first = execute(ports, &settings(), "20261125T060000Z-one", RunTrigger::Cli, now)
        .await
        .unwrap();
    let RunOutcome::Completed(first) = first else {
        panic!("{first:?}")
    };
    let refused = "456789012345";
    collector.unreachable.lock().unwrap().insert(refused.to_string());
    let second = execute(ports, &settings(), "20261126T060000Z-two", RunTrigger::Cli, now)
        .await
        .unwrap();
    assert!(matches!(second, RunOutcome::Completed(_)), "{second:?}");

    let mut backend = posture_tests::mcp::demo_backend();
    backend.history = Some(posture_mcp::HistoryBackend {
        store: store.clone(),
        reports: reports.clone(),
        collections: reports.clone(),
        launcher: Arc::new(NoLaunch),
        max_duration: jiff::SignedDuration::from_hours(1),
        serving: Default::default(),
    });
    let server = posture_mcp::PostureServer::new(backend);
    let page = |args: serde_json::Value| {
        let server = server.clone();
        async move {
            let r = server
                .call("list_accounts", args.as_object().cloned(), "test", "r1")
                .await
                .unwrap();
            assert_eq!(r.is_error, Some(false), "{:?}", r.structured_content);
            r.structured_content.unwrap()
        }
    };
    let listed = page(serde_json::json!({"max_results": 2})).await;
    assert_eq!(listed["latest_run"], "20261126T060000Z-two");
    assert_eq!(listed["total_accounts"], 3);
    assert_eq!(listed["accounts"].as_array().unwrap().len(), 2);
    let next = listed["next_token"].as_str().unwrap().to_string();
    let rest = page(serde_json::json!({"next_token": next})).await;
    assert!(rest["next_token"].is_null());
    let entry = &rest["accounts"][0];
    assert_eq!(entry["account_id"], refused);
    assert_eq!(entry["latest_outcome"], "GAP");
    assert!(entry["gap"].as_str().unwrap().contains("AccessDenied"));
    assert_eq!(entry["last_assessed_run"], "20261125T060000Z-one");
    let earlier = first
        .summary
        .unwrap()
        .worst_accounts
        .into_iter()
        .find(|a| a.account_id == refused)
        .unwrap();
    assert_eq!(entry["scores"]["CIS"], serde_json::json!(earlier.scores["CIS"]));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The local demo listens before its first org-wide run is made: tool calls
/// wait for that run and then answer from it, never from an empty store.
#[tokio::test]
async fn demo_tool_calls_wait_for_the_first_run() {
    let dir = std::env::temp_dir().join(format!("posture-demo-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut settings = posture_tests::mcp::settings();
    settings.org.data_dir = dir.clone();
    let (backend, first_run) = mcp_server::demo_server(&settings).unwrap();
    let server = posture_mcp::PostureServer::new(backend);
    let call = tokio::spawn(async move { server.call("list_accounts", None, "test", "r1").await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !call.is_finished(),
        "a tool call answered before the first run was made"
    );
    let run_id = first_run.await.unwrap();
    let answer = call.await.unwrap();
    assert_eq!(answer.is_error, Some(false), "{:?}", answer.structured_content);
    assert_eq!(answer.structured_content.unwrap()["latest_run"], run_id.as_str());
    std::fs::remove_dir_all(&dir).unwrap();
}
