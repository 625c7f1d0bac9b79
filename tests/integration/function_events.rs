//! The event files in `tests/fixtures/events/` (the ones `sam local invoke -e`
//! and `cargo lambda invoke --data-file` take) through each function's
//! handler, as the shipped binaries run them outside Lambda. The MCP server's
//! Function URL events are in `lambda_events.rs`; the scheduled tick also
//! drives the org-run tests.

use posture_tests::fixtures::{event, events_dir};
use posture_tests::isolated_command;
use posture_tests::moto::{Moto, admin_s3};
use serde_json::Value;
use std::process::Command;

fn run(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_function_of_the_template_has_event_files() {
    let names: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for prefix in ["mcp-server-", "assessor-", "collector-"] {
        assert!(
            names.iter().any(|n| n.starts_with(prefix)),
            "no {prefix}*.json in {names:?}"
        );
    }
}

#[test]
fn the_assessor_handles_the_scheduled_tick_and_the_run_the_mcp_server_starts() {
    let data = std::env::temp_dir().join(format!("posture-events-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let assess = |file: &str| {
        run(isolated_command("assessor")
            .args(["--demo", "--event"])
            .arg(events_dir().join(file))
            .env("POSTURE_DATA_DIR", &data))
    };
    let tick = assess("assessor-scheduled.json");
    assert_eq!(tick["outcome"], "completed", "{tick}");
    assert_eq!(tick["run"]["run_id"], "20261126T060000Z-scheduled");
    assert_eq!(tick["run"]["trigger"], "schedule");
    assert_eq!(tick["run"]["state"], "COMPLETE");
    // EventBridge delivers at least once: the same tick again is the same run.
    assert_eq!(assess("assessor-scheduled.json")["outcome"], "already_complete");

    let started = assess("assessor-mcp-run.json");
    let sent = event("assessor-mcp-run.json");
    assert_eq!(started["outcome"], "completed", "{started}");
    assert_eq!(started["run"]["run_id"], sent["run_id"]);
    assert_eq!(started["run"]["trigger"], "mcp");
    std::fs::remove_dir_all(&data).unwrap();
}

#[tokio::test]
async fn the_collector_handles_its_event_file_against_moto() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let s3 = admin_s3(&sdk);
    s3.create_bucket().bucket("posture-collections").send().await.unwrap();
    let request = event("collector-collect.json");

    let summary = run(isolated_command("collector")
        .arg("--event")
        .arg(events_dir().join("collector-collect.json"))
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("POSTURE_BUCKET", "posture-collections")
        .env("POSTURE_BUCKET_PREFIX", "org/"));
    assert_eq!(summary["run_id"], request["run_id"], "{summary}");
    assert_eq!(summary["account_id"], request["account_id"], "{summary}");
    assert_eq!(summary.get("unreachable"), None, "{summary}");

    // The collection the assessor will read, in the member account's name.
    let key = "org/runs/20261126T060000Z-scheduled/collections/111122223333.json";
    let object = s3
        .get_object()
        .bucket("posture-collections")
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"));
    let body: Value = serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(body["inventory"]["account_id"], "111122223333", "{body:#}");
}
