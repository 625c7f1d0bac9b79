//! Item 7 of the reliability issue: the assessor killed with SIGKILL at
//! random points of a real local-store run of the demo organization, many
//! times. After every kill: no file a reader sees is torn, the latest run is
//! unchanged unless the killed run had committed (and then all its
//! snapshots are there), and every stored run and snapshot still reads.
//! Then a run completes on the same directory.

use posture_aws::store::local::LocalSnapshotStore;
use posture_core::org::run::RunState;
use posture_core::ports::{Page, SnapshotStore};
use posture_tests::isolated_command;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const KILLS: u64 = 40;

fn assessor(dir: &Path, run_id: &str) -> std::process::Command {
    let mut cmd = isolated_command("assessor");
    cmd.args(["--demo", "--run-id", run_id])
        .env("POSTURE_DATA_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn new_run_id(suffix: &str) -> String {
    posture_core::org::run::run_id(jiff::Timestamp::now(), suffix)
}

/// Every stored file parses; returns the leftover temporary files (never
/// read: readers look for `*.json` only).
fn no_torn_files(dir: &Path) -> usize {
    let mut leftovers = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                stack.push(path);
            } else if name.contains(".tmp-") {
                leftovers += 1;
            } else if name.ends_with(".json") {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
                    "torn file {}",
                    path.display()
                );
            }
        }
    }
    leftovers
}

/// The latest committed run, after checking that it has every snapshot and
/// that every run record reads.
async fn latest_committed(store: &LocalSnapshotStore) -> Option<String> {
    let runs = store
        .runs(
            "",
            "~",
            &Page {
                limit: 1000,
                after: None,
            },
        )
        .await
        .expect("every run record reads");
    assert!(runs.items.iter().all(|r| !r.run_id.is_empty()));
    let latest = store.latest_run().await.expect("the latest run reads")?;
    assert_eq!(latest.state, RunState::Complete);
    for account in &latest.accounts {
        assert!(
            store
                .snapshot(&account.account_id, &latest.run_id)
                .await
                .expect("the snapshot reads")
                .is_some(),
            "run {} committed without the snapshot of {}",
            latest.run_id,
            account.account_id
        );
    }
    Some(latest.run_id)
}

#[tokio::test]
async fn killing_the_assessor_anywhere_never_tears_the_store() {
    let dir = std::env::temp_dir().join(format!("posture-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = LocalSnapshotStore::new(&dir);

    let base = new_run_id("base");
    let started = Instant::now();
    assert!(assessor(&dir, &base).status().unwrap().success());
    let full_run = started.elapsed();
    let mut latest = latest_committed(&store).await;
    assert_eq!(latest.as_deref(), Some(base.as_str()));

    // Kill points spread over 0–120 % of a full run (repeatable: fixed seed).
    let mut random: u64 = 0x9E37_79B9_7F4A_7C15;
    let span = full_run.as_micros() as u64 * 12 / 10;
    let (mut committed, mut leftovers) = (0, 0);
    for i in 0..KILLS {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let at = Duration::from_micros(random % span.max(1));
        let id = new_run_id(&format!("kill{i:02}"));
        let mut child = assessor(&dir, &id).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        leftovers = no_torn_files(&dir);
        let now = latest_committed(&store).await;
        if now.as_deref() == Some(id.as_str()) {
            committed += 1;
        } else {
            assert_eq!(
                now, latest,
                "kill {i} at {at:?}: the latest run changed without a commit"
            );
        }
        latest = now;
    }

    // Ids carry the second: the final run must sort after every killed one.
    std::thread::sleep(Duration::from_millis(1100));
    let last = new_run_id("final");
    assert!(
        assessor(&dir, &last).status().unwrap().success(),
        "a run completes after the kills"
    );
    assert_eq!(latest_committed(&store).await.as_deref(), Some(last.as_str()));
    println!(
        "kill -9: {KILLS} kills over 0–{:?} (a full run took {full_run:?}); {committed} had committed \
         before the kill; 0 torn files; {leftovers} temporary files left (never read); the next run completed",
        Duration::from_micros(span)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
