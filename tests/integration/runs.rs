//! Assessment runs against the local directory store (the DynamoDB store
//! runs the same scenario against moto in `aws_runs`).

use posture_aws::store::local::{LocalReportStore, LocalSnapshotStore};
use posture_tests::runs::run_semantics;

#[tokio::test]
async fn local_store_keeps_the_run_semantics() {
    let dir = std::env::temp_dir().join(format!("posture-runs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = LocalSnapshotStore::new(&dir);
    let reports = LocalReportStore::new(&dir);
    run_semantics(&store, &reports).await;
    let md = dir.join("reports/20261126T060000Z-scheduled/report.md");
    assert!(
        std::fs::read_to_string(md)
            .unwrap()
            .contains("# Security posture: run 20261126T060000Z-scheduled")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
