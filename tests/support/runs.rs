//! The run semantics every snapshot store must keep, as one scenario that
//! runs against any store: a run commits, a re-run of the same id writes
//! nothing, a run that dies half-way leaves the previous latest and is
//! recorded failed, a retry completes it, an unreachable account is a gap.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use posture_core::demo::DemoOrganization;
use posture_core::org::execute::{RunOutcome, RunPorts, RunSettings, execute};
use posture_core::org::run::{AccountOutcome, RunRecord, RunState, RunTrigger, TrendPoint};
use posture_core::ports::SnapshotStore;
use posture_core::ports::{AccountCollector, CollectError, CollectedAccount, CollectionStore, Page, ReportStore};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

/// The demo organization's collector, with faults on demand: after `ok_before_crash`
/// successful collections every further one fails (a dying run), and
/// `unreachable` accounts are refused.
pub struct FaultyCollector {
    /// The data.
    pub org: DemoOrganization,
    /// Collections that succeed before the crash (`usize::MAX`: never crash).
    pub ok_before_crash: AtomicUsize,
    /// Accounts whose role cannot be assumed.
    pub unreachable: Mutex<BTreeSet<String>>,
    /// Accounts collected, in order.
    pub collected: Mutex<Vec<String>>,
}

impl FaultyCollector {
    /// A healthy collector over the demo organization.
    pub fn new(org: DemoOrganization) -> FaultyCollector {
        FaultyCollector {
            org,
            ok_before_crash: AtomicUsize::new(usize::MAX),
            unreachable: Mutex::new(BTreeSet::new()),
            collected: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl AccountCollector for FaultyCollector {
    async fn collect(&self, run_id: &str, account_id: &str) -> Result<CollectedAccount, CollectError> {
        if self.unreachable.lock().unwrap().contains(account_id) {
            return Err(CollectError::Unreachable(format!(
                "sts:AssumeRole: AccessDenied: not authorized to assume the role in {account_id}"
            )));
        }
        let left = self.ok_before_crash.load(Ordering::SeqCst);
        if left == 0 {
            return Err(CollectError::Failed("collector crashed (test fault)".to_string()));
        }
        if left != usize::MAX {
            self.ok_before_crash.store(left - 1, Ordering::SeqCst);
        }
        self.collected.lock().unwrap().push(account_id.to_string());
        self.org.collect(run_id, account_id).await
    }
}

/// Settings for the demo: built-in frameworks, one account at a time (so
/// the crash point is deterministic), a one-hour deadline.
pub fn settings() -> RunSettings {
    RunSettings {
        frameworks: posture_core::posture::frameworks::builtin().unwrap(),
        concurrency: 1,
        include: BTreeSet::new(),
        exclude: BTreeSet::new(),
        max_duration: SignedDuration::from_hours(1),
    }
}

/// Everything a store holds, to show that a re-run wrote nothing.
pub async fn everything(store: &dyn SnapshotStore, accounts: &[String]) -> String {
    let page = Page {
        limit: 1000,
        after: None,
    };
    let runs = store.runs("", "~", &page).await.unwrap();
    let mut out = serde_json::to_string(&runs.items).unwrap();
    for a in accounts {
        let snaps = store.account_snapshots(a, "", "~", &page).await.unwrap();
        out.push_str(&serde_json::to_string(&snaps.items).unwrap());
    }
    out
}

/// Runs the whole scenario against `store`, `reports` and `collections`.
pub async fn run_semantics(store: &dyn SnapshotStore, reports: &dyn ReportStore, collections: &dyn CollectionStore) {
    let now: Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
    let org = DemoOrganization::load(now).unwrap();
    let ids: Vec<String> = org.accounts.iter().map(|a| a.account_id.clone()).collect();
    assert_eq!(ids.len(), 3, "the demo has three accounts");
    let collector = FaultyCollector::new(org);
    // The scenario's clock: set by the test, read by the run.
    let clock_seconds = AtomicI64::new(0);
    let set_now = |t: Timestamp| clock_seconds.store(t.as_second(), Ordering::SeqCst);
    let test_clock = || Timestamp::from_second(clock_seconds.load(Ordering::SeqCst)).unwrap();
    let ports = RunPorts {
        directory: &collector.org,
        collector: &collector,
        store,
        reports,
        collections,
        clock: &test_clock,
    };
    let settings = settings();
    set_now(now);

    // Run 1 completes: one snapshot per account, summary, reports, latest.
    let first = "20261126T060000Z-scheduled";
    let outcome = execute(ports, &settings, first, RunTrigger::Schedule, now)
        .await
        .unwrap();
    let RunOutcome::Completed(run) = outcome else {
        panic!("first run did not complete: {outcome:?}")
    };
    assert_eq!(run.accounts.len(), 3);
    assert!(run.accounts.iter().all(|a| a.outcome == AccountOutcome::Assessed));
    assert_eq!(run.accounts_done, 3);
    assert_eq!(run.summary.as_ref().unwrap().accounts, 3);
    let names: BTreeSet<&str> = run.reports.iter().map(|r| r.name.as_str()).collect();
    assert!(
        names.contains("report.json") && names.contains("report.md"),
        "{names:?}"
    );
    for id in &ids {
        let snap = store.snapshot(id, first).await.unwrap().unwrap();
        assert_eq!(&snap.account_id, id);
        // The collection the snapshot was taken from is kept with the run,
        // and gives the same snapshot again.
        let kept = collections.collection(first, id).await.unwrap().unwrap();
        let again =
            posture_core::org::snapshot::take(first, &kept.inventory, &kept.findings, &kept.gaps, &settings.frameworks);
        assert_eq!(again, snap, "{id}");
        let md = reports.get(first, "report.md").await.unwrap().unwrap();
        assert!(String::from_utf8(md).unwrap().contains(first));
    }
    assert!(collections.collection(first, "000000000000").await.unwrap().is_none());
    assert!(reports.get(first, "report.pdf").await.unwrap().is_none());
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, first);
    let stored = store.run(first).await.unwrap().unwrap();
    assert_eq!(stored.state, RunState::Complete);
    assert_eq!(stored.summary, run.summary);

    // The same tick again writes nothing.
    let before = everything(store, &ids).await;
    let again = execute(ports, &settings, first, RunTrigger::Schedule, now)
        .await
        .unwrap();
    assert!(matches!(again, RunOutcome::AlreadyComplete(_)), "{again:?}");
    assert_eq!(
        everything(store, &ids).await,
        before,
        "a re-run of the same tick changed the store"
    );
    assert_eq!(collector.collected.lock().unwrap().len(), 3, "a re-run collected again");

    // Run 2 dies after one account: failed, previous latest intact.
    let second = "20261127T060000Z-scheduled";
    let later = now + SignedDuration::from_hours(24);
    collector.ok_before_crash.store(1, Ordering::SeqCst);
    set_now(later);
    let outcome = execute(ports, &settings, second, RunTrigger::Schedule, later)
        .await
        .unwrap();
    let RunOutcome::Failed(failed) = outcome else {
        panic!("the crashed run did not fail: {outcome:?}")
    };
    let error = failed.error.clone().unwrap();
    assert!(error.contains("collector crashed"), "{error}");
    assert!(error.contains(&ids[1]), "the error names the account: {error}");
    let stored = store.run(second).await.unwrap().unwrap();
    assert_eq!(stored.state, RunState::Failed);
    assert_eq!(stored.error.as_deref(), Some(error.as_str()));
    assert!(stored.summary.is_none());
    assert_eq!(
        store.latest_run().await.unwrap().unwrap().run_id,
        first,
        "latest moved to a failed run"
    );
    assert!(
        store.snapshot(&ids[0], second).await.unwrap().is_some(),
        "the account written before the crash is kept (but not visible as latest)"
    );

    // Retrying the failed tick is a second attempt, and completes, with
    // one account refused: a gap for that account only.
    collector.ok_before_crash.store(usize::MAX, Ordering::SeqCst);
    collector.unreachable.lock().unwrap().insert(ids[2].clone());
    let outcome = execute(ports, &settings, second, RunTrigger::Schedule, later)
        .await
        .unwrap();
    let RunOutcome::Completed(retried) = outcome else {
        panic!("the retry did not complete: {outcome:?}")
    };
    assert_eq!(retried.attempt, 2);
    let gap = retried.accounts.iter().find(|a| a.account_id == ids[2]).unwrap();
    assert_eq!(gap.outcome, AccountOutcome::Gap);
    assert!(gap.gap.as_deref().unwrap().contains("AccessDenied"));
    assert_eq!(retried.summary.as_ref().unwrap().accounts, 2);
    assert!(store.snapshot(&ids[2], second).await.unwrap().is_none());
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, second);

    // A run older than the latest completes without moving latest back.
    let backfill = "20261126T120000Z-backfill";
    collector.unreachable.lock().unwrap().clear();
    let outcome = execute(ports, &settings, backfill, RunTrigger::Cli, now).await.unwrap();
    assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, second);

    // A record left RUNNING past its deadline (the process died) is taken
    // over; before the deadline it is left alone.
    let third = "20261128T060000Z-scheduled";
    let t3 = later + SignedDuration::from_hours(24);
    let mut stuck = retried.clone();
    stuck.run_id = third.to_string();
    stuck.state = RunState::Running;
    stuck.attempt = 1;
    stuck.started_at = t3;
    stuck.deadline = t3 + SignedDuration::from_hours(1);
    stuck.summary = None;
    stuck.reports.clear();
    stuck.finished_at = None;
    assert!(matches!(
        store.begin_run(&stuck).await.unwrap(),
        posture_core::ports::Begun::Started
    ));
    set_now(t3 + SignedDuration::from_mins(5));
    let busy = execute(ports, &settings, third, RunTrigger::Schedule, t3)
        .await
        .unwrap();
    assert!(matches!(busy, RunOutcome::InProgress(_)), "{busy:?}");
    set_now(t3 + SignedDuration::from_hours(2));
    let taken = execute(ports, &settings, third, RunTrigger::Schedule, t3)
        .await
        .unwrap();
    let RunOutcome::Completed(taken) = taken else {
        panic!("the abandoned run was not taken over: {taken:?}")
    };
    assert_eq!(taken.attempt, 2);
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, third);

    // Trend in the third run's JSON report: the complete runs, oldest first.
    let runs = store.runs("", "~", &Page { limit: 2, after: None }).await.unwrap();
    assert_eq!(runs.items.len(), 2, "pages hold at most the limit");
    let rest = store
        .runs(
            "",
            "~",
            &Page {
                limit: 10,
                after: runs.next.clone(),
            },
        )
        .await
        .unwrap();
    let all_records: Vec<RunRecord> = runs.items.iter().chain(&rest.items).cloned().collect();
    let all: Vec<String> = all_records.iter().map(|r| r.run_id.clone()).collect();
    assert_eq!(all, vec![first, backfill, second, third]);
    assert!(rest.next.is_none());

    // The run index: every complete run's point (the failed first attempt of
    // the second run is no point), the newest asked for, and the count.
    let index = store.trend_points("", "~", 2).await.unwrap();
    assert_eq!(index.total, 4);
    let expected: Vec<TrendPoint> = [second, third]
        .iter()
        .map(|id| {
            let run = all_records.iter().find(|r| r.run_id == *id).unwrap();
            TrendPoint::of(run, run.summary.as_ref().unwrap())
        })
        .collect();
    assert_eq!(
        index.points, expected,
        "the newest two, oldest first, as the records say"
    );
    let window = store.trend_points(backfill, second, 10).await.unwrap();
    let ids: Vec<&str> = window.points.iter().map(|p| p.run_id.as_str()).collect();
    assert_eq!((ids, window.total), (vec![backfill, second], 2));
    // The third run's report trend ends with it and holds the earlier points.
    let report: serde_json::Value =
        serde_json::from_slice(&reports.get(third, "report.json").await.unwrap().unwrap()).unwrap();
    let trend: Vec<&str> = report["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(trend, vec![first, backfill, second, third]);
}
