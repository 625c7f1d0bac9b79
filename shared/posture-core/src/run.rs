//! Org-wide assessment runs: the record of a run, the ports a run talks to
//! (account directory, collector, snapshot store, report store) and
//! [`execute`], which drives one run from start to the committed result.
//!
//! The visibility rule every store keeps: a run's snapshots and summary are
//! seen as "latest" only after [`SnapshotStore::complete_run`] commits the run
//! (one atomic step, conditional on the run being the newest complete one).
//! A run that dies before that leaves the previous latest in place; its record
//! says `FAILED` (or stays `RUNNING` past its deadline, which readers report
//! as abandoned).

use crate::finding::Finding;
use crate::frameworks::Framework;
use crate::ids::RunId;
use crate::inventory::Inventory;
use crate::ports::SourceGap;
use crate::report;
use crate::snapshot::{self, AccountSnapshot, OrgSummary};
use async_trait::async_trait;
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Version of the stored run record and run report.
pub const RUN_SCHEMA_VERSION: u32 = 1;

/// Past runs drawn in a report's trend chart.
pub const TREND_RUNS: usize = 12;

/// State of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    /// Accepted (by the MCP server) and handed to the assessor, not started.
    Queued,
    /// Collecting and evaluating.
    Running,
    /// Committed: its snapshots are history, and it may be the latest.
    Complete,
    /// Stopped by an error; nothing of it is visible as latest.
    Failed,
}

/// An account as the directory lists it, and what the run made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunAccount {
    /// 12-digit id.
    pub account_id: String,
    /// Account name from the directory.
    pub name: String,
    /// Directory status (`ACTIVE`).
    pub status: String,
    /// `PENDING`, `ASSESSED`, or `GAP` (could not be collected).
    pub outcome: AccountOutcome,
    /// Why the account is a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
}

/// What happened to one account in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountOutcome {
    /// Not collected yet.
    Pending,
    /// Collected and evaluated; a snapshot exists.
    Assessed,
    /// Could not be collected (role refused, account closed); no snapshot.
    Gap,
}

/// A stored report file of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReportLocation {
    /// File name within the run (`report.html`).
    pub name: String,
    /// Where it lies: a file path locally, `s3://bucket/key` in AWS.
    pub uri: String,
}

/// The record of one run, kept in the snapshot store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRecord {
    /// Format version.
    pub schema_version: u32,
    /// Sortable id: `<yyyymmddThhmmssZ>-<suffix>`.
    pub run_id: String,
    /// `schedule`, `mcp` or `cli`.
    pub trigger: String,
    /// Start (RFC 3339); for a scheduled run, the schedule tick.
    pub started_at: String,
    /// After this instant a run still `RUNNING` is taken as dead.
    pub deadline: String,
    /// End (RFC 3339), once complete or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// State.
    pub state: RunState,
    /// 1 for the first attempt; a retry of a failed or abandoned run adds one.
    pub attempt: u32,
    /// Accounts in scope with their outcome.
    pub accounts: Vec<RunAccount>,
    /// Accounts done (assessed or gap).
    pub accounts_done: usize,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The org summary, once complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<OrgSummary>,
    /// Report files written for the run.
    #[serde(default)]
    pub reports: Vec<ReportLocation>,
}

impl RunRecord {
    /// True for a `QUEUED` or `RUNNING` record past its deadline: its
    /// process died (or never started).
    pub fn is_abandoned(&self, now: Timestamp) -> bool {
        matches!(self.state, RunState::Queued | RunState::Running)
            && self.deadline.parse::<Timestamp>().is_ok_and(|d| now > d)
    }

    /// The state readers should show: an abandoned run counts as failed.
    pub fn effective_state(&self, now: Timestamp) -> RunState {
        if self.is_abandoned(now) {
            RunState::Failed
        } else {
            self.state
        }
    }

    /// Progress in percent (accounts done of accounts in scope).
    pub fn progress_percent(&self) -> f64 {
        if self.accounts.is_empty() {
            return if self.state == RunState::Complete { 100.0 } else { 0.0 };
        }
        (self.accounts_done as f64 * 1000.0 / self.accounts.len() as f64).round() / 10.0
    }
}

/// Builds a run id that sorts by time: `20261126T060000Z-scheduled`.
pub fn run_id(started_at: Timestamp, suffix: &str) -> String {
    format!("{}-{suffix}", started_at.strftime("%Y%m%dT%H%M%SZ"))
}

/// True when `id` has the shape [`run_id`] produces (see [`RunId`]).
pub fn is_valid_run_id(id: &str) -> bool {
    id.parse::<RunId>().is_ok()
}

/// The instant a run id starts with (`None` for a malformed id).
pub fn run_started_at(id: &str) -> Option<Timestamp> {
    id.parse::<RunId>().ok().map(|r| r.started_at())
}

/// An account the directory knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryAccount {
    /// 12-digit id.
    pub account_id: String,
    /// Name.
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`.
    pub status: String,
}

/// What went wrong in a port, safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct PortError {
    /// The port operation or AWS action (`dynamodb:PutItem`).
    pub operation: String,
    /// What went wrong, sanitized.
    pub message: String,
    /// A conditional write lost (someone else changed the item first).
    pub conflict: bool,
}

impl PortError {
    /// A plain failure.
    pub fn new(operation: impl Into<String>, message: impl Into<String>) -> PortError {
        PortError {
            operation: operation.into(),
            message: message.into(),
            conflict: false,
        }
    }

    /// A lost conditional write.
    pub fn conflict(operation: impl Into<String>, message: impl Into<String>) -> PortError {
        PortError {
            conflict: true,
            ..PortError::new(operation, message)
        }
    }
}

/// Lists the accounts of the organization.
#[async_trait]
pub trait AccountDirectory: Send + Sync {
    /// Every account, any status.
    async fn accounts(&self) -> Result<Vec<DirectoryAccount>, PortError>;
}

/// One account collected.
#[derive(Debug, Clone)]
pub struct CollectedAccount {
    /// The inventory.
    pub inventory: Inventory,
    /// Findings from the account's finding sources.
    pub findings: Vec<Finding>,
    /// Finding sources that could not be read (fully).
    pub gaps: Vec<SourceGap>,
}

/// Why an account was not collected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectError {
    /// The account could not be entered (role assumption refused, account
    /// closed): the account is a gap, the run goes on.
    #[error("account not reachable: {0}")]
    Unreachable(String),
    /// The collector itself failed (crashed, timed out, could not store):
    /// the run stops and is marked failed.
    #[error("collector failed: {0}")]
    Failed(String),
}

/// Collects one account (in-process locally, a Lambda invocation in AWS).
#[async_trait]
pub trait AccountCollector: Send + Sync {
    /// Collects `account_id` for `run_id`.
    async fn collect(&self, run_id: &str, account_id: &str) -> Result<CollectedAccount, CollectError>;
}

/// A page request: at most `limit` items after the cursor `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Items per page.
    pub limit: usize,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// The items, oldest first.
    pub items: Vec<T>,
    /// Cursor for the next page, when there is one.
    pub next: Option<String>,
}

/// The record the MCP server writes when it hands a run to the assessor: the
/// run id is known (and queryable) at once; the assessor takes it over.
pub fn queued(run_id: &str, trigger: &str, now: Timestamp, max_duration: SignedDuration) -> RunRecord {
    RunRecord {
        schema_version: RUN_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        trigger: trigger.to_string(),
        started_at: now.to_string(),
        deadline: (now + max_duration).to_string(),
        finished_at: None,
        state: RunState::Queued,
        attempt: 0,
        accounts: Vec::new(),
        accounts_done: 0,
        error: None,
        summary: None,
        reports: Vec::new(),
    }
}

/// Starts a run in the background (a task locally, an asynchronous Lambda
/// invocation of the assessor in AWS).
#[async_trait]
pub trait RunLauncher: Send + Sync {
    /// Hands the queued run `run_id` to the assessor.
    async fn launch(&self, run_id: &str) -> Result<(), PortError>;
}

/// Result of trying to start a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Begun {
    /// The record was created (or a failed/abandoned one taken over).
    Started,
    /// A record with this run id already exists; here it is.
    Exists(Box<RunRecord>),
}

/// Where snapshots, run records and the latest pointer live.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Creates the run record if no record with its id exists.
    async fn begin_run(&self, run: &RunRecord) -> Result<Begun, PortError>;
    /// Replaces a failed or abandoned record, if it still has `prior_attempt`.
    async fn retake_run(&self, run: &RunRecord, prior_attempt: u32) -> Result<(), PortError>;
    /// Saves progress of a running run (same attempt).
    async fn update_run(&self, run: &RunRecord) -> Result<(), PortError>;
    /// Stores an account's snapshot of a running run (invisible until commit).
    async fn put_snapshot(&self, snapshot: &AccountSnapshot) -> Result<(), PortError>;
    /// Commits a run: its record becomes `COMPLETE` and, if it is newer than
    /// the current latest, the latest, in one atomic step.
    async fn complete_run(&self, run: &RunRecord) -> Result<(), PortError>;
    /// Marks a run failed (same attempt); the latest is untouched.
    async fn fail_run(&self, run: &RunRecord) -> Result<(), PortError>;
    /// A run record by id.
    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>, PortError>;
    /// The latest complete run.
    async fn latest_run(&self) -> Result<Option<RunRecord>, PortError>;
    /// Run records with ids in `[from, to]` (any state), oldest first.
    async fn runs(&self, from: &str, to: &str, page: &Page) -> Result<Paged<RunRecord>, PortError>;
    /// One account's snapshot in one run.
    async fn snapshot(&self, account_id: &str, run_id: &str) -> Result<Option<AccountSnapshot>, PortError>;
    /// One account's snapshots with run ids in `[from, to]`, oldest first,
    /// whatever their run's state (callers keep complete runs only).
    async fn account_snapshots(
        &self,
        account_id: &str,
        from: &str,
        to: &str,
        page: &Page,
    ) -> Result<Paged<AccountSnapshot>, PortError>;
}

/// A report file to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    /// File name (`report.json`, `report.md`, `report.html`).
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Content.
    pub body: Vec<u8>,
}

/// Where report files go (a directory locally, S3 in AWS).
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores one file of a run's reports.
    async fn put(&self, run_id: &str, file: &ReportFile) -> Result<ReportLocation, PortError>;
    /// A link a reader can open: a presigned URL in AWS, the path locally.
    async fn link(&self, location: &ReportLocation) -> Result<String, PortError>;
}

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
}

impl RunOutcome {
    /// The run record.
    pub fn record(&self) -> &RunRecord {
        match self {
            RunOutcome::Completed(r)
            | RunOutcome::AlreadyComplete(r)
            | RunOutcome::InProgress(r)
            | RunOutcome::Failed(r) => r,
        }
    }
}

/// A run could not even be recorded (the store is unreachable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the run could not be recorded: {0}")]
pub struct RunError(pub PortError);

/// One point of the org trend: a complete run's pooled scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrendPoint {
    /// The run.
    pub run_id: String,
    /// Its start.
    pub started_at: String,
    /// Pooled score per framework.
    pub scores: BTreeMap<String, Option<f64>>,
    /// Failing check outcomes, all accounts.
    pub failures: usize,
    /// Open findings, all accounts.
    pub open_findings: usize,
}

impl TrendPoint {
    /// The point of a run with a summary.
    pub fn of(run: &RunRecord, summary: &OrgSummary) -> TrendPoint {
        TrendPoint {
            run_id: run.run_id.clone(),
            started_at: run.started_at.clone(),
            scores: summary.frameworks.iter().map(|(k, v)| (k.clone(), v.score)).collect(),
            failures: summary.failures,
            open_findings: summary.open_findings.values().sum(),
        }
    }
}

/// The JSON report of a run: everything the run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    /// Format version.
    pub schema_version: u32,
    /// The run (its `summary` is the org summary).
    pub run: RunRecord,
    /// Every account's snapshot.
    pub snapshots: Vec<AccountSnapshot>,
    /// Complete runs before this one and this one, oldest first.
    pub trend: Vec<TrendPoint>,
}

/// Runs one org-wide assessment with id `run_id` for the instant
/// `started_at` (a schedule tick, or the request time); the current time for
/// deadlines comes from the ports' clock.
///
/// Idempotent per run id: a complete run is not redone; a failed or
/// abandoned one is retried as a new attempt; a live one is left alone.
/// An unreachable account is a gap and the run goes on; a collector or store
/// failure fails the run and leaves the previous latest in place.
pub async fn execute(
    ports: RunPorts<'_>,
    settings: &RunSettings,
    run_id: &str,
    trigger: &str,
    started_at: Timestamp,
) -> Result<RunOutcome, RunError> {
    let now = (ports.clock)();
    let mut run = RunRecord {
        schema_version: RUN_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        trigger: trigger.to_string(),
        started_at: started_at.to_string(),
        deadline: (now + settings.max_duration).to_string(),
        finished_at: None,
        state: RunState::Running,
        attempt: 1,
        accounts: Vec::new(),
        accounts_done: 0,
        error: None,
        summary: None,
        reports: Vec::new(),
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
        Ok(()) => {
            run.state = RunState::Complete;
            match ports.store.complete_run(&run).await {
                Ok(()) => Ok(RunOutcome::Completed(run)),
                Err(e) => fail(ports, run, e.to_string()).await,
            }
        }
        Err(reason) => fail(ports, run, reason).await,
    }
}

async fn fail(ports: RunPorts<'_>, mut run: RunRecord, reason: String) -> Result<RunOutcome, RunError> {
    run.state = RunState::Failed;
    run.error = Some(reason);
    run.finished_at = Some((ports.clock)().to_string());
    run.summary = None;
    run.reports.clear();
    ports.store.fail_run(&run).await.map_err(RunError)?;
    Ok(RunOutcome::Failed(run))
}

/// Collects, evaluates and reports; `Err` is the reason the run failed.
async fn carry_out(ports: RunPorts<'_>, settings: &RunSettings, run: &mut RunRecord) -> Result<(), String> {
    let listed = ports.directory.accounts().await.map_err(|e| e.to_string())?;
    run.accounts = in_scope(listed, settings);
    ports.store.update_run(run).await.map_err(|e| e.to_string())?;

    let run_id = run.run_id.clone();
    let ids: Vec<String> = run.accounts.iter().map(|a| a.account_id.clone()).collect();
    let mut collected = futures::stream::iter(ids)
        .map(|id| {
            let run_id = run_id.clone();
            async move {
                let result = ports.collector.collect(&run_id, &id).await;
                (id, result)
            }
        })
        .buffer_unordered(settings.concurrency.max(1));
    let mut snapshots = Vec::new();
    while let Some((id, result)) = collected.next().await {
        let (outcome, gap) = match result {
            Ok(account) => {
                let snap = snapshot::take(
                    &run_id,
                    &account.inventory,
                    &account.findings,
                    &account.gaps,
                    &settings.frameworks,
                );
                ports.store.put_snapshot(&snap).await.map_err(|e| e.to_string())?;
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
    let earlier = all_runs(ports.store, "", &run_id).await.map_err(|e| e.to_string())?;
    run.summary = Some(summary);
    run.finished_at = Some((ports.clock)().to_string());
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
    report.trend = trend_of(
        earlier
            .iter()
            .filter(|r| r.run_id < run_id)
            .chain(std::iter::once(&report.run)),
    );
    for file in report_files(&report) {
        let location = ports.reports.put(&run_id, &file).await.map_err(|e| e.to_string())?;
        run.reports.push(location);
    }
    Ok(())
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
        })
        .collect();
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    accounts.dedup_by(|a, b| a.account_id == b.account_id);
    accounts
}

/// Page size when a caller reads every item of a range.
const READ_ALL_PAGE: usize = 200;

/// Every run record with an id in `[from, to]`, oldest first, page by page.
pub async fn all_runs(store: &dyn SnapshotStore, from: &str, to: &str) -> Result<Vec<RunRecord>, PortError> {
    let mut out = Vec::new();
    let mut page = Page {
        limit: READ_ALL_PAGE,
        after: None,
    };
    loop {
        let batch = store.runs(from, to, &page).await?;
        out.extend(batch.items);
        match batch.next {
            Some(next) => page.after = Some(next),
            None => return Ok(out),
        }
    }
}

/// Every snapshot of `account_id` with a run id in `[from, to]`, oldest
/// first, page by page.
pub async fn all_account_snapshots(
    store: &dyn SnapshotStore,
    account_id: &str,
    from: &str,
    to: &str,
) -> Result<Vec<AccountSnapshot>, PortError> {
    let mut out = Vec::new();
    let mut page = Page {
        limit: READ_ALL_PAGE,
        after: None,
    };
    loop {
        let batch = store.account_snapshots(account_id, from, to, &page).await?;
        out.extend(batch.items);
        match batch.next {
            Some(next) => page.after = Some(next),
            None => return Ok(out),
        }
    }
}

/// The trend ending with the last of `runs` (oldest first): their complete
/// runs with a summary, at most [`TREND_RUNS`] of the latest.
pub fn trend_of<'a>(runs: impl IntoIterator<Item = &'a RunRecord>) -> Vec<TrendPoint> {
    let points: Vec<TrendPoint> = runs
        .into_iter()
        .filter(|r| r.state == RunState::Complete)
        .filter_map(|r| r.summary.as_ref().map(|s| TrendPoint::of(r, s)))
        .collect();
    let skip = points.len().saturating_sub(TREND_RUNS);
    points.into_iter().skip(skip).collect()
}

/// The files written for every run: the full JSON, Markdown and HTML.
pub fn report_files(report: &RunReport) -> Vec<ReportFile> {
    let mut files = Vec::new();
    // A report of plain data always serializes.
    if let Ok(json) = serde_json::to_vec_pretty(report) {
        files.push(ReportFile {
            name: "report.json".to_string(),
            content_type: "application/json".to_string(),
            body: json,
        });
    }
    if let Some(summary) = &report.run.summary {
        files.push(ReportFile {
            name: "report.md".to_string(),
            content_type: "text/markdown; charset=utf-8".to_string(),
            body: report::markdown(summary, &report.snapshots, &report.run.accounts).into_bytes(),
        });
    }
    files.push(ReportFile {
        name: "report.html".to_string(),
        content_type: "text/html; charset=utf-8".to_string(),
        body: crate::report_html::html(report).into_bytes(),
    });
    files
}
