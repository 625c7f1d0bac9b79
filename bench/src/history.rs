//! `history-bench fill --dir DIR --runs N`: a local store holding N complete
//! runs of the demo organization, one an hour ending now, written through
//! the store's own port (as the assessor commits them: run record,
//! snapshots, then the commit with its trend point), for
//! `bench/history_latency.py` to serve history from.

use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use posture_aws::store::local::LocalSnapshotStore;
use posture_core::demo::DemoOrganization;
use posture_core::org::run::{self, AccountOutcome, RunAccount, RunState, RunTrigger};
use posture_core::org::snapshot;
use posture_core::ports::SnapshotStore;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .with_context(|| format!("{name} is required"))
    };
    anyhow::ensure!(
        args.first().map(String::as_str) == Some("fill"),
        "usage: history-bench fill --dir DIR --runs N"
    );
    let dir = std::path::PathBuf::from(flag("--dir")?);
    let runs: usize = flag("--runs")?.parse().context("--runs")?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(fill(&dir, runs))
}

async fn fill(dir: &std::path::Path, runs: usize) -> anyhow::Result<()> {
    let now = Timestamp::now();
    let org = DemoOrganization::load(now)?;
    let frameworks = posture_core::posture::frameworks::builtin()?;
    let findings = org.findings();
    let snapshots: Vec<_> = org
        .inventories
        .iter()
        .map(|inventory| {
            snapshot::take(
                "template",
                inventory,
                &findings,
                &[],
                &frameworks,
                &posture_core::exceptions::Acceptance::NONE,
            )
        })
        .collect();
    let store = LocalSnapshotStore::new(dir);
    for i in 0..runs {
        // Oldest first, the newest an hour before now (within any window).
        let started = now - SignedDuration::from_hours((runs - i) as i64);
        let run_id = run::run_id(started, "bench");
        let mut record = run::queued(&run_id, RunTrigger::Schedule, started, SignedDuration::from_hours(1));
        record.state = RunState::Running;
        record.attempt = 1;
        record.accounts = org
            .accounts
            .iter()
            .map(|a| RunAccount {
                account_id: a.account_id.clone(),
                name: a.name.clone(),
                status: a.status.clone(),
                outcome: AccountOutcome::Assessed,
                gap: None,
                ou_path: Vec::new(),
            })
            .collect();
        store.begin_run(&record).await?;
        let mut taken = Vec::with_capacity(snapshots.len());
        for s in &snapshots {
            let mut s = s.clone();
            s.run_id = run_id.clone();
            s.taken_at = started;
            store.put_snapshot(&s).await?;
            taken.push(s);
        }
        record.accounts_done = record.accounts.len();
        record.summary = Some(snapshot::org_summary(&run_id, &taken));
        record.finished_at = Some(started + SignedDuration::from_secs(30));
        record.state = RunState::Complete;
        store.complete_run(&record).await?;
    }
    println!("{}", serde_json::json!({"runs": runs, "accounts": org.accounts.len()}));
    Ok(())
}
