//! The run semantics every snapshot store must keep, as one scenario that
//! runs against any store: a run commits, a re-run of the same id writes
//! nothing, a run that dies half-way leaves the previous latest and is
//! recorded failed, a retry completes it, an unreachable account is a gap.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use posture_core::demo::DemoOrganization;
use posture_core::org::execute::{FanOutEnd, RunOutcome, RunPorts, RunSettings, execute, finish};
use posture_core::org::run::{AccountOutcome, RunRecord, RunState, RunTrigger, TrendPoint};
use posture_core::ports::SnapshotStore;
use posture_core::ports::{
    AccountCollector, CollectError, CollectionStore, FanOut, FannedOut, Page, PortError, ReportStore, SpooledCollection,
};
use std::collections::BTreeMap;
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
    async fn collect(&self, run_id: &str, account_id: &str) -> Result<SpooledCollection, CollectError> {
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
        exceptions: Vec::new(),
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
        fanout: None,
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
        let again = posture_core::org::snapshot::take(
            first,
            &kept.inventory,
            &kept.findings,
            &kept.gaps,
            &settings.frameworks,
            &posture_core::exceptions::Acceptance::NONE,
        );
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
    // History reads past it: the failed run is incomplete, its snapshot not
    // history.
    let incomplete = store.incomplete_runs("", "~").await.unwrap();
    assert_eq!(incomplete, vec![second.to_string()]);
    let recent = store
        .recent_account_snapshots(&ids[0], "", "~", 10, &incomplete)
        .await
        .unwrap();
    let runs_of = |page: &posture_core::ports::SnapshotPage| -> Vec<String> {
        page.snapshots.iter().map(|s| s.run_id.clone()).collect()
    };
    assert_eq!((runs_of(&recent), recent.total), (vec![first.to_string()], 1));

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

/// A fan-out engine over the demo organization: a run of at least
/// `min_accounts` accounts is handed to it; starting one stores each
/// account's collection, as the collector function does, except for the
/// `unreachable` ones.
pub struct FakeFanOut<'a> {
    /// The data.
    pub org: &'a DemoOrganization,
    /// Where collections go.
    pub collections: &'a dyn CollectionStore,
    /// Runs of at least this many accounts are taken.
    pub min_accounts: usize,
    /// Accounts it cannot enter.
    pub unreachable: BTreeSet<String>,
    /// Executions started, by name.
    pub started: Mutex<Vec<String>>,
}

#[async_trait]
impl FanOut for FakeFanOut<'_> {
    fn takes(&self, accounts: usize) -> bool {
        accounts >= self.min_accounts
    }

    fn max_duration(&self) -> SignedDuration {
        SignedDuration::from_hours(24)
    }

    async fn start(&self, run: &RunRecord) -> Result<String, PortError> {
        for account in run
            .accounts
            .iter()
            .filter(|a| !self.unreachable.contains(&a.account_id))
        {
            let collected = self.org.collect(&run.run_id, &account.account_id).await.unwrap();
            self.collections.put_collection(&run.run_id, &collected).await?;
        }
        let name = format!("{}-a{}", run.run_id, run.attempt);
        self.started.lock().unwrap().push(name.clone());
        Ok(format!(
            "arn:aws:states:us-east-1:999999999999:execution:test-assessment:{name}"
        ))
    }
}

/// Runs handed to a fan-out engine, against `store`, `reports` and
/// `collections`: the hand-off leaves the run RUNNING with the engine's
/// deadline and execution; finishing it takes the snapshots from the stored
/// collections, with the unreachable and failed accounts as gaps; a finish
/// for another attempt, or a second one, changes nothing; an engine failure
/// fails the run and leaves the latest in place; small runs stay in-process.
pub async fn fanout_semantics(store: &dyn SnapshotStore, reports: &dyn ReportStore, collections: &dyn CollectionStore) {
    let now: Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
    let org = DemoOrganization::load(now).unwrap();
    let ids: Vec<String> = org.accounts.iter().map(|a| a.account_id.clone()).collect();
    let collector = FaultyCollector::new(DemoOrganization::load(now).unwrap());
    let fanout = FakeFanOut {
        org: &org,
        collections,
        min_accounts: 3,
        unreachable: BTreeSet::from([ids[2].clone()]),
        started: Mutex::new(Vec::new()),
    };
    let test_clock = move || now;
    let ports = RunPorts {
        directory: &org,
        collector: &collector,
        store,
        reports,
        collections,
        fanout: Some(&fanout),
        clock: &test_clock,
    };
    let settings = settings();

    let run_id = "20261126T060000Z-scheduled";
    let outcome = execute(ports, &settings, run_id, RunTrigger::Schedule, now)
        .await
        .unwrap();
    let RunOutcome::HandedOff(handed) = outcome else {
        panic!("a run of 3 accounts was not handed off: {outcome:?}")
    };
    assert!(
        collector.collected.lock().unwrap().is_empty(),
        "collected in-process too"
    );
    let stored = store.run(run_id).await.unwrap().unwrap();
    assert_eq!(stored, handed);
    assert_eq!(stored.state, RunState::Running);
    assert_eq!(stored.accounts.len(), 3);
    assert_eq!(stored.deadline, now + SignedDuration::from_hours(24));
    assert!(stored.execution.as_deref().unwrap().ends_with(&format!("{run_id}-a1")));
    assert!(store.latest_run().await.unwrap().is_none());
    // The tick delivered again while the engine collects: left alone.
    let again = execute(ports, &settings, run_id, RunTrigger::Schedule, now)
        .await
        .unwrap();
    assert!(matches!(again, RunOutcome::InProgress(_)), "{again:?}");
    assert_eq!(fanout.started.lock().unwrap().len(), 1);

    let collected = |failed: Option<&str>| {
        let mut outcomes = BTreeMap::from([
            (ids[0].clone(), FannedOut::Collected),
            (
                ids[2].clone(),
                FannedOut::Unreachable("sts:AssumeRole: AccessDenied".to_string()),
            ),
        ]);
        match failed {
            Some(why) => outcomes.insert(ids[1].clone(), FannedOut::Failed(why.to_string())),
            None => outcomes.insert(ids[1].clone(), FannedOut::Collected),
        };
        FanOutEnd::Collected(outcomes)
    };
    // A finish for another attempt changes nothing.
    let other = finish(ports, &settings, run_id, 2, collected(None)).await.unwrap();
    assert!(matches!(other, RunOutcome::InProgress(_)), "{other:?}");
    assert_eq!(store.run(run_id).await.unwrap().unwrap(), handed);

    let outcome = finish(ports, &settings, run_id, 1, collected(None)).await.unwrap();
    let RunOutcome::Completed(done) = outcome else {
        panic!("the handed-off run did not complete: {outcome:?}")
    };
    assert_eq!(done.accounts_done, 3);
    let gap = done.accounts.iter().find(|a| a.account_id == ids[2]).unwrap();
    assert_eq!(gap.outcome, AccountOutcome::Gap);
    assert!(gap.gap.as_deref().unwrap().contains("AccessDenied"));
    assert_eq!(done.summary.as_ref().unwrap().accounts, 2);
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, run_id);
    for id in &ids[..2] {
        let snap = store.snapshot(id, run_id).await.unwrap().unwrap();
        let kept = collections.collection(run_id, id).await.unwrap().unwrap();
        let direct = posture_core::org::snapshot::take(
            run_id,
            &kept.inventory,
            &kept.findings,
            &kept.gaps,
            &settings.frameworks,
            &posture_core::exceptions::Acceptance::NONE,
        );
        assert_eq!(snap, direct, "{id}: the snapshot is the stored collection's");
    }
    assert!(reports.get(run_id, "report.json").await.unwrap().is_some());
    let twice = finish(ports, &settings, run_id, 1, collected(None)).await.unwrap();
    assert!(matches!(twice, RunOutcome::AlreadyComplete(_)), "{twice:?}");

    // The next run: one account failed every attempt (a gap, named as such).
    let next = "20261127T060000Z-scheduled";
    let later = now + SignedDuration::from_hours(24);
    execute(ports, &settings, next, RunTrigger::Schedule, later)
        .await
        .unwrap();
    let outcome = finish(
        ports,
        &settings,
        next,
        1,
        collected(Some("States.Timeout: collector timed out")),
    )
    .await
    .unwrap();
    let RunOutcome::Completed(done) = outcome else {
        panic!("a failed account failed the run: {outcome:?}")
    };
    let failed = done.accounts.iter().find(|a| a.account_id == ids[1]).unwrap();
    assert_eq!(failed.outcome, AccountOutcome::Gap);
    assert!(
        failed
            .gap
            .as_deref()
            .unwrap()
            .contains("every collection attempt failed: States.Timeout"),
        "{failed:?}"
    );

    // The engine itself failed: the run fails, the latest stays.
    let broken = "20261128T060000Z-scheduled";
    execute(ports, &settings, broken, RunTrigger::Schedule, later)
        .await
        .unwrap();
    let outcome = finish(
        ports,
        &settings,
        broken,
        1,
        FanOutEnd::Failed("States.ItemReaderFailed: no such key".to_string()),
    )
    .await
    .unwrap();
    let RunOutcome::Failed(failed) = outcome else {
        panic!("an engine failure did not fail the run: {outcome:?}")
    };
    assert!(failed.error.as_deref().unwrap().contains("States.ItemReaderFailed"));
    assert_eq!(store.latest_run().await.unwrap().unwrap().run_id, next);

    // Below the threshold a run is collected in-process.
    let small = RunSettings {
        include: ids[..2].iter().cloned().collect(),
        ..settings.clone()
    };
    let outcome = execute(ports, &small, "20261129T060000Z-small", RunTrigger::Cli, later)
        .await
        .unwrap();
    assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
    assert_eq!(collector.collected.lock().unwrap().len(), 2);
    assert_eq!(fanout.started.lock().unwrap().len(), 3);

    // History: the failed run is the one incomplete run; an account's
    // newest snapshots come from complete runs only, counted.
    let incomplete = store.incomplete_runs("", "~").await.unwrap();
    assert_eq!(incomplete, vec![broken.to_string()]);
    let recent = store
        .recent_account_snapshots(&ids[0], "", "~", 2, &incomplete)
        .await
        .unwrap();
    let runs: Vec<&str> = recent.snapshots.iter().map(|s| s.run_id.as_str()).collect();
    assert_eq!((runs, recent.total), (vec![next, "20261129T060000Z-small"], 3));
    let none = store
        .recent_account_snapshots(&ids[2], "", "~", 2, &incomplete)
        .await
        .unwrap();
    assert_eq!(
        (none.snapshots.len(), none.total),
        (0, 0),
        "never reachable: no history"
    );
}
