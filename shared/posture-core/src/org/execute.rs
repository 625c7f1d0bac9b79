//! [`execute`]: drives one org-wide run from start to the committed result,
//! through the ports (account directory, collector, snapshot store, report
//! store).

use crate::exceptions::{Acceptance, Exception};
use crate::org::run::{
    self, AccountOutcome, RUN_SCHEMA_VERSION, RunAccount, RunRecord, RunReport, RunState, RunTrigger,
};
use crate::org::snapshot::{self};
use crate::ports::*;
use crate::posture::acceptance::covering_outcome;
use crate::posture::checks;
use crate::posture::frameworks::Framework;
use crate::report;
use crate::report::export::{AccountExport, CheckRow, ExportContext, ExportFormat};
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Frameworks to score.
    pub frameworks: Vec<Framework>,
    /// Accounts collected at once.
    pub concurrency: usize,
    /// Only these accounts (empty: all).
    pub include: BTreeSet<String>,
    /// Never these accounts.
    pub exclude: BTreeSet<String>,
    /// A run still going after this long is taken as dead.
    pub max_duration: SignedDuration,
    /// The accepted risks (the reviewed exceptions file), judged on the
    /// day the run started.
    pub exceptions: Vec<Exception>,
}

/// The ports a run uses.
#[derive(Clone, Copy)]
pub struct RunPorts<'a> {
    /// Accounts.
    pub directory: &'a dyn AccountDirectory,
    /// Collection.
    pub collector: &'a dyn AccountCollector,
    /// Snapshots and run records.
    pub store: &'a dyn SnapshotStore,
    /// Report files.
    pub reports: &'a dyn ReportStore,
    /// Each account's collection, kept for the tools that answer from the run.
    pub collections: &'a dyn CollectionStore,
    /// The engine large runs are handed to (none: every run is collected here).
    pub fanout: Option<&'a dyn FanOut>,
    /// The time of day (a fixed clock in tests).
    pub clock: &'a (dyn Fn() -> Timestamp + Sync),
}

/// How [`execute`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// This call carried the run to completion.
    Completed(RunRecord),
    /// The run had completed before; nothing was written.
    AlreadyComplete(RunRecord),
    /// Another invocation is running it (not past its deadline).
    InProgress(RunRecord),
    /// This call's attempt failed; the record says why.
    Failed(RunRecord),
    /// The accounts are being collected by the fan-out engine, which has the
    /// run finished when they are done (the record names the execution).
    HandedOff(RunRecord),
}

impl RunOutcome {
    /// The run record.
    pub fn record(&self) -> &RunRecord {
        match self {
            RunOutcome::Completed(r)
            | RunOutcome::AlreadyComplete(r)
            | RunOutcome::InProgress(r)
            | RunOutcome::Failed(r)
            | RunOutcome::HandedOff(r) => r,
        }
    }
}

/// A run could not even be recorded (the store is unreachable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the run could not be recorded: {0}")]
pub struct RunError(pub PortError);

/// Runs one org-wide assessment with id `run_id` for the instant
/// `started_at` (a schedule tick, or the request time); the current time for
/// deadlines comes from the ports' clock.
///
/// Idempotent per run id: a complete run is not redone; a failed or
/// abandoned one is retried as a new attempt; a live one is left alone.
/// An unreachable account is a gap and the run goes on; a collector or store
/// failure fails the run and leaves the previous latest in place.
/// A run this call carried to its end is counted in the metrics.
pub async fn execute(
    ports: RunPorts<'_>,
    settings: &RunSettings,
    run_id: &str,
    trigger: RunTrigger,
    started_at: Timestamp,
) -> Result<RunOutcome, RunError> {
    let clock = ports.clock;
    let began = clock();
    let outcome = execute_run(ports, settings, run_id, trigger, started_at).await;
    count_if_ended(&outcome, began, clock());
    outcome
}

/// Counts a run this call carried to its end (completed or failed) in the
/// metrics, as having taken from `began` to `ended`.
fn count_if_ended(outcome: &Result<RunOutcome, RunError>, began: Timestamp, ended: Timestamp) {
    if let Ok(RunOutcome::Completed(run) | RunOutcome::Failed(run)) = outcome {
        let duration = ended.duration_since(began).unsigned_abs();
        let gaps = run.accounts.iter().filter(|a| a.gap.is_some()).count();
        let failed = matches!(outcome, Ok(RunOutcome::Failed(_)));
        crate::metrics::global().run_finished(duration, run.accounts.len(), gaps, failed, ended);
    }
}

async fn execute_run(
    ports: RunPorts<'_>,
    settings: &RunSettings,
    run_id: &str,
    trigger: RunTrigger,
    started_at: Timestamp,
) -> Result<RunOutcome, RunError> {
    let now = (ports.clock)();
    let mut run = RunRecord {
        schema_version: RUN_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        trigger,
        started_at,
        deadline: now + settings.max_duration,
        finished_at: None,
        state: RunState::Running,
        attempt: 1,
        accounts: Vec::new(),
        accounts_done: 0,
        error: None,
        summary: None,
        reports: Vec::new(),
        execution: None,
    };
    match ports.store.begin_run(&run).await.map_err(RunError)? {
        Begun::Started => {}
        Begun::Exists(existing) => match existing.effective_state(now) {
            RunState::Complete => return Ok(RunOutcome::AlreadyComplete(*existing)),
            RunState::Running => return Ok(RunOutcome::InProgress(*existing)),
            RunState::Queued | RunState::Failed => {
                run.attempt = existing.attempt + 1;
                match ports.store.retake_run(&run, existing.attempt).await {
                    Ok(()) => {}
                    Err(e) if e.conflict => {
                        let current = ports.store.run(run_id).await.map_err(RunError)?;
                        return Ok(RunOutcome::InProgress(current.unwrap_or(*existing)));
                    }
                    Err(e) => return Err(RunError(e)),
                }
            }
        },
    }
    match carry_out(ports, settings, &mut run).await {
        Ok(Carried::Assessed) => commit(ports, run).await,
        Ok(Carried::HandedOff) => Ok(RunOutcome::HandedOff(run)),
        Err(reason) => fail(ports, run, reason).await,
    }
}

async fn commit(ports: RunPorts<'_>, mut run: RunRecord) -> Result<RunOutcome, RunError> {
    run.state = RunState::Complete;
    match ports.store.complete_run(&run).await {
        Ok(()) => Ok(RunOutcome::Completed(run)),
        Err(e) => fail(ports, run, e.to_string()).await,
    }
}

/// How the fan-out engine ended a handed-off run's collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FanOutEnd {
    /// Every account was tried: how each one ended.
    Collected(BTreeMap<String, FannedOut>),
    /// The engine itself failed (its item list unreadable, its results not
    /// written): the run fails.
    Failed(String),
}

/// Finishes attempt `attempt` of run `run_id`, handed off by [`execute`],
/// once the fan-out engine has collected its accounts: snapshots from the
/// stored collections, the unreachable and failed accounts as gaps, then
/// the summary, reports and commit. A run that is no longer that attempt's
/// (complete, failed, or retaken by a later attempt) is left as it is.
pub async fn finish(
    ports: RunPorts<'_>,
    settings: &RunSettings,
    run_id: &str,
    attempt: u32,
    end: FanOutEnd,
) -> Result<RunOutcome, RunError> {
    let clock = ports.clock;
    let run = ports
        .store
        .run(run_id)
        .await
        .map_err(RunError)?
        .ok_or_else(|| RunError(PortError::new("finish", format!("no run {run_id} to finish"))))?;
    match run.state {
        RunState::Complete => return Ok(RunOutcome::AlreadyComplete(run)),
        RunState::Running if run.attempt == attempt => {}
        _ => return Ok(RunOutcome::InProgress(run)),
    }
    let started_at = run.started_at;
    let outcome = match end {
        FanOutEnd::Failed(reason) => fail(ports, run, format!("fan-out: {reason}")).await,
        FanOutEnd::Collected(outcomes) => {
            let collector = FannedOutCollections {
                outcomes,
                collections: ports.collections,
            };
            let mut run = run;
            match assess_collections(ports, settings, &mut run, &collector).await {
                Ok(()) => commit(ports, run).await,
                Err(reason) => fail(ports, run, reason).await,
            }
        }
    };
    // A handed-off run took from its start, the engine's time included.
    count_if_ended(&outcome, started_at, clock());
    outcome
}

/// The fan-out engine's results as a collector: each account's stored
/// collection, or the reason it is a gap.
struct FannedOutCollections<'a> {
    outcomes: BTreeMap<String, FannedOut>,
    collections: &'a dyn CollectionStore,
}

#[async_trait::async_trait]
impl AccountCollector for FannedOutCollections<'_> {
    async fn collect(&self, run_id: &str, account_id: &str) -> Result<SpooledCollection, CollectError> {
        match self.outcomes.get(account_id) {
            None => Err(CollectError::Unreachable(
                "the fan-out returned no result for this account".to_string(),
            )),
            Some(FannedOut::Unreachable(why)) => Err(CollectError::Unreachable(why.clone())),
            Some(FannedOut::Failed(why)) => Err(CollectError::Unreachable(format!(
                "every collection attempt failed: {why}"
            ))),
            Some(FannedOut::Collected) => match self.collections.collection_spooled(run_id, account_id).await {
                Ok(Some(mut collected)) => {
                    collected.stored = true;
                    Ok(collected)
                }
                Ok(None) => Err(CollectError::Failed(format!(
                    "the fan-out collected {account_id} but its collection is not stored"
                ))),
                Err(e) => Err(CollectError::Failed(e.to_string())),
            },
        }
    }
}

async fn fail(ports: RunPorts<'_>, mut run: RunRecord, reason: String) -> Result<RunOutcome, RunError> {
    run.state = RunState::Failed;
    run.error = Some(reason);
    run.finished_at = Some((ports.clock)());
    run.summary = None;
    run.reports.clear();
    ports.store.fail_run(&run).await.map_err(RunError)?;
    Ok(RunOutcome::Failed(run))
}

/// How [`carry_out`] left a run.
enum Carried {
    /// Assessed and reported: ready to commit.
    Assessed,
    /// Handed to the fan-out engine.
    HandedOff,
}

/// Lists the accounts, then collects, evaluates and reports, or hands the
/// collection to the fan-out engine; `Err` is the reason the run failed.
async fn carry_out(ports: RunPorts<'_>, settings: &RunSettings, run: &mut RunRecord) -> Result<Carried, String> {
    let listed = ports.directory.accounts().await.map_err(|e| e.to_string())?;
    run.accounts = in_scope(listed, settings);
    if let Some(fanout) = ports.fanout.filter(|f| f.takes(run.accounts.len())) {
        // The engine's deadline, before it starts: the run must not look
        // abandoned while its accounts are being collected.
        run.deadline = (ports.clock)() + fanout.max_duration();
        ports.store.update_run(run).await.map_err(|e| e.to_string())?;
        run.execution = Some(fanout.start(run).await.map_err(|e| e.to_string())?);
        ports.store.update_run(run).await.map_err(|e| e.to_string())?;
        return Ok(Carried::HandedOff);
    }
    ports.store.update_run(run).await.map_err(|e| e.to_string())?;
    assess_collections(ports, settings, run, ports.collector).await?;
    Ok(Carried::Assessed)
}

/// Collects each account of `run` through `collector` (`concurrency` at a
/// time), snapshots it, then summarizes and reports; `Err` is the reason
/// the run failed.
async fn assess_collections(
    ports: RunPorts<'_>,
    settings: &RunSettings,
    run: &mut RunRecord,
    collector: &dyn AccountCollector,
) -> Result<(), String> {
    let run_id = run.run_id.clone();
    let ids: Vec<String> = run.accounts.iter().map(|a| a.account_id.clone()).collect();
    let mut collected = futures::stream::iter(ids)
        .map(|id| {
            let run_id = run_id.clone();
            async move {
                let result = collector.collect(&run_id, &id).await;
                (id, result)
            }
        })
        .buffer_unordered(settings.concurrency.max(1));
    let acceptance = Acceptance::new(
        settings.exceptions.clone(),
        crate::time::utc_day(run.started_at),
        run.accounts
            .iter()
            .map(|a| (a.account_id.clone(), run::unit_names(&a.ou_path))),
    );
    let mut snapshots = Vec::new();
    while let Some((id, result)) = collected.next().await {
        let (outcome, gap) = match result {
            Ok(account) => {
                if !account.stored {
                    ports
                        .collections
                        .put_collection(&run_id, &account)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                // Evaluated once: the snapshot's verdicts and the exports' rows.
                let outcomes = checks::evaluate_all(&account.inventory);
                let snap = snapshot::take_spooled(
                    &run_id,
                    &account.inventory,
                    &outcomes,
                    &account.findings,
                    &account.gaps,
                    &settings.frameworks,
                    &acceptance,
                )
                .map_err(|e| format!("account {id}: {e}"))?;
                ports.store.put_snapshot(&snap).await.map_err(|e| e.to_string())?;
                write_exports(ports, settings, &run_id, &account, &outcomes, &acceptance)
                    .await
                    .map_err(|e| format!("account {id}: exports: {e}"))?;
                snapshots.push(snap);
                (AccountOutcome::Assessed, None)
            }
            Err(CollectError::Unreachable(why)) => (AccountOutcome::Gap, Some(why)),
            Err(CollectError::Failed(why)) => return Err(format!("account {id}: {why}")),
        };
        if let Some(entry) = run.accounts.iter_mut().find(|a| a.account_id == id) {
            entry.outcome = outcome;
            entry.gap = gap;
        }
        run.accounts_done += 1;
        ports.store.update_run(run).await.map_err(|e| e.to_string())?;
    }
    drop(collected);
    snapshots.sort_by(|a, b| a.account_id.cmp(&b.account_id));

    let summary = snapshot::org_summary(&run_id, &snapshots);
    // The trend reads the run index, not every earlier run record.
    let earlier = ports
        .store
        .trend_points("", &run_id, run::TREND_RUNS)
        .await
        .map_err(|e| e.to_string())?;
    run.summary = Some(summary);
    run.finished_at = Some((ports.clock)());
    // The reports describe the run as it will be committed; a run whose
    // commit fails drops them from its record (see `fail`).
    let mut report = RunReport {
        schema_version: RUN_SCHEMA_VERSION,
        run: RunRecord {
            state: RunState::Complete,
            ..run.clone()
        },
        snapshots,
        trend: Vec::new(),
    };
    report.trend = run::trend_ending_with(earlier.points, &report.run);
    for file in report::run_files(&report) {
        let location = ports.reports.put(&run_id, &file).await.map_err(|e| e.to_string())?;
        run.reports.push(location);
    }
    Ok(())
}

/// The name of an account's export in `format` among a run's report files.
pub fn export_name(account_id: &str, format: ExportFormat) -> String {
    format!("export-{account_id}.{}", format.extension())
}

/// The account's results in every export format, written beside the run's
/// reports ([`export_name`]), made one account at a time from its check
/// `outcomes`: the findings are read once from the spool, straight into the
/// four files.
async fn write_exports(
    ports: RunPorts<'_>,
    settings: &RunSettings,
    run_id: &str,
    account: &SpooledCollection,
    outcomes: &[checks::Outcome],
    acceptance: &Acceptance,
) -> Result<(), String> {
    let account_id = account.inventory.account_id.as_str();
    let ctx = ExportContext {
        run_id,
        account_id,
        generated_at: (ports.clock)(),
        frameworks: &settings.frameworks,
        product_version: env!("CARGO_PKG_VERSION"),
    };
    let mut exports: Vec<AccountExport> = ExportFormat::ALL.iter().map(|f| AccountExport::new(*f, &ctx)).collect();
    for outcome in outcomes {
        let row = CheckRow {
            outcome,
            collected_at: account.inventory.collected_at,
            suppressed_by: covering_outcome(acceptance, &settings.frameworks, Some(account_id), outcome),
        };
        for export in &mut exports {
            export.check(&row).map_err(|e| e.to_string())?;
        }
    }
    account
        .findings
        .try_for_each(|f| {
            if f.account_id != account_id {
                return Ok(());
            }
            for export in &mut exports {
                export.finding(&f).map_err(ExportFailure::Export)?;
            }
            Ok::<(), ExportFailure>(())
        })
        .map_err(|e| e.to_string())?;
    for (format, export) in ExportFormat::ALL.into_iter().zip(exports) {
        let file = export.finish().map_err(|e| e.to_string())?;
        let file = ReportFile {
            name: export_name(account_id, format),
            content_type: file.content_type,
            body: file.body,
        };
        ports.reports.put(run_id, &file).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Why an account's exports could not be made.
#[derive(Debug, thiserror::Error)]
enum ExportFailure {
    #[error("{0}")]
    Spool(#[from] crate::findings::spool::SpoolError),
    #[error("{0}")]
    Export(crate::report::export::ExportError),
}

/// The directory's accounts that this run assesses: ACTIVE ones, narrowed by
/// the include list, minus the exclude list, in id order.
fn in_scope(listed: Vec<DirectoryAccount>, settings: &RunSettings) -> Vec<RunAccount> {
    let mut accounts: Vec<RunAccount> = listed
        .into_iter()
        .filter(|a| a.status == "ACTIVE")
        .filter(|a| settings.include.is_empty() || settings.include.contains(&a.account_id))
        .filter(|a| !settings.exclude.contains(&a.account_id))
        .map(|a| RunAccount {
            account_id: a.account_id,
            name: a.name,
            status: a.status,
            outcome: AccountOutcome::Pending,
            gap: None,
            ou_path: a.ou_path,
        })
        .collect();
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    accounts.dedup_by(|a, b| a.account_id == b.account_id);
    accounts
}
