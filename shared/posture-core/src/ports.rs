//! Ports: every trait the domain needs from the world, and the data that
//! crosses them. The AWS adapters (posture-aws), the local stores and the
//! demo organization implement them; nothing here does IO.
//!
//! The visibility rule every snapshot store keeps: a run's snapshots and
//! summary are seen as "latest" only after [`SnapshotStore::complete_run`]
//! commits the run (one atomic step, conditional on the run being the newest
//! complete one). A run that dies before that leaves the previous latest in
//! place; its record says `FAILED` (or stays `RUNNING` past its deadline,
//! which readers report as abandoned).

use crate::finding::Finding;
use crate::findings::spool::FindingSpool;
use crate::org::run::{OrgUnit, ReportLocation, RunRecord, TrendPoint};
use crate::org::snapshot::AccountSnapshot;
use crate::posture::inventory::Inventory;
use crate::sources::{DependencyHealth, FindingQuery, SourceBatch, SourceError, SourceGap};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

// ------------------------------------------------------------ finding sources

/// What happened in the organization's accounts, for investigations:
/// CloudTrail event history (LookupEvents) and AWS Config's recorded
/// history of a resource (GetResourceConfigHistory).
#[async_trait]
pub trait EventHistory: Send + Sync {
    /// Reads `query` in `regions` (and us-east-1, where global services
    /// log) of `account_id`. A Region that fails is in the timeline's
    /// `regions`; `Err` when the account itself cannot be entered.
    async fn lookup(
        &self,
        account_id: &str,
        regions: &[String],
        query: &crate::events::EventQuery,
    ) -> Result<crate::events::Timeline, SourceError>;

    /// The configuration changes AWS Config recorded for `resource` in
    /// `account_id` and `region` between `start` and `end` (read in 7-day
    /// pieces), at most `max_items`; `Err` when it could not be read.
    async fn config_history(
        &self,
        account_id: &str,
        region: &str,
        resource: &crate::config_history::ConfigResource,
        window: (jiff::Timestamp, jiff::Timestamp),
        max_items: usize,
    ) -> Result<crate::config_history::ConfigHistory, SourceError>;
}

/// A source of findings.
#[async_trait]
pub trait FindingSource: Send + Sync {
    /// Service name shown in results (`Security Hub`, `GuardDuty`).
    fn service(&self) -> &'static str;
    /// Reads findings matching `query`.
    async fn fetch(&self, query: &FindingQuery) -> Result<SourceBatch, SourceError>;
    /// Reads findings matching `query` into a spool (a whole account's
    /// collection): the newest `max_findings`, kept compressed as they are
    /// read. Sources that page override it; the default spools a [`fetch`].
    ///
    /// [`fetch`]: FindingSource::fetch
    async fn fetch_spooled(&self, query: &FindingQuery) -> Result<SourceBatch<FindingSpool>, SourceError> {
        let mut batch = self.fetch(query).await?;
        let findings = FindingSpool::try_from(std::mem::take(&mut batch.findings))
            .map_err(|e| crate::sources::spool_failed(self.service(), e))?;
        let more_available = batch.more_available;
        Ok(batch.with_findings(findings, more_available))
    }
}

/// Inventories of the accounts in scope (collected by the assessor, or read
/// live).
#[async_trait]
pub trait InventorySource: Send + Sync {
    /// One inventory per account.
    async fn inventories(&self) -> Result<Vec<crate::posture::inventory::Inventory>, SourceError>;
}

/// Probes the environment the server depends on.
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// One entry per dependency, credentials first.
    async fn probe(&self) -> Vec<DependencyHealth>;
    /// The region the sources read from.
    fn region(&self) -> String;
}

// --------------------------------------------------------------- org-wide runs

/// An account the directory knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryAccount {
    /// 12-digit id.
    pub account_id: String,
    /// Name.
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`.
    pub status: String,
    /// Its organizational units, outermost first (empty: directly under
    /// the root, or not known: a configured list).
    #[serde(default)]
    pub ou_path: Vec<OrgUnit>,
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

/// One account collected: everything its snapshot, and every answer served
/// from the run, is computed from. Stored with the run
/// ([`CollectionStore`]) in this form; a [`SpooledCollection`] is the same
/// with its findings kept compressed (and the same JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectedAccount<F = Vec<Finding>> {
    /// The inventory.
    pub inventory: Inventory,
    /// Findings from the account's finding sources.
    pub findings: F,
    /// Finding sources that could not be read (fully).
    pub gaps: Vec<SourceGap>,
    /// Finding sources read in full through throttling.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttled: Vec<crate::sources::ThrottledRead>,
    /// Already in the run's collection store (the collector function wrote
    /// it), so the run need not write it again.
    #[serde(skip)]
    pub stored: bool,
}

impl SpooledCollection {
    /// The same collection, its findings decoded into a list.
    pub fn unspooled(self) -> Result<CollectedAccount, crate::findings::spool::SpoolError> {
        Ok(CollectedAccount {
            findings: self.findings.into_vec()?,
            inventory: self.inventory,
            gaps: self.gaps,
            throttled: self.throttled,
            stored: self.stored,
        })
    }
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

/// A collection with its findings kept compressed ([`FindingSpool`]): what
/// a run holds per account, so an account's size weighs a few hundred bytes
/// a finding rather than 3.2 KB.
pub type SpooledCollection = CollectedAccount<FindingSpool>;

/// Collects one account (in-process locally, a Lambda invocation in AWS).
#[async_trait]
pub trait AccountCollector: Send + Sync {
    /// Collects `account_id` for `run_id`.
    async fn collect(&self, run_id: &str, account_id: &str) -> Result<SpooledCollection, CollectError>;
}

/// Hands a run's collection to an engine outside this process (Step
/// Functions in AWS), which collects every account and then has the run
/// finished ([`crate::org::execute::finish`]).
#[async_trait]
pub trait FanOut: Send + Sync {
    /// Whether a run over `accounts` accounts is handed off (smaller ones
    /// are collected by the process that began them).
    fn takes(&self, accounts: usize) -> bool;
    /// How long a handed-off run may take before it counts as abandoned.
    fn max_duration(&self) -> jiff::SignedDuration;
    /// Starts collecting the accounts of `run` (its record lists them);
    /// returns the engine's id of the execution.
    async fn start(&self, run: &RunRecord) -> Result<String, PortError>;
}

/// How the fan-out engine left one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FannedOut {
    /// Collected: its collection is in the run's collection store.
    Collected,
    /// The role was refused: the account is a gap.
    Unreachable(String),
    /// Every attempt at collecting it failed: the account is a gap.
    Failed(String),
}

/// Collects one account now, outside any run, for a live answer (through
/// the same member role the assessor uses).
#[async_trait]
pub trait LiveCollector: Send + Sync {
    /// Collects `account_id` in `regions` (`None`: the configured regions,
    /// or the account's enabled regions).
    async fn collect_now(
        &self,
        account_id: &str,
        regions: Option<&[String]>,
    ) -> Result<Arc<CollectedAccount>, CollectError>;
}

/// A page request: at most `limit` items after the cursor `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Items per page.
    pub limit: usize,
    /// Cursor from the previous page.
    pub after: Option<String>,
}

/// The newest points of a range of the run index, and how many it holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendPage {
    /// Points of complete runs, oldest first.
    pub points: Vec<TrendPoint>,
    /// Complete runs in the range (more than `points` when the range holds
    /// more than were asked for).
    pub total: usize,
}

/// The newest snapshots of an account, and how many the range holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotPage {
    /// Snapshots of complete runs, oldest first.
    pub snapshots: Vec<AccountSnapshot>,
    /// Snapshots of complete runs in the range.
    pub total: usize,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Paged<T> {
    /// The items, oldest first.
    pub items: Vec<T>,
    /// Cursor for the next page, when there is one.
    pub next: Option<String>,
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
    /// The run index: the trend points of the complete runs with ids in
    /// `[from, to]`, the newest `limit` of them (oldest first), and how many
    /// the range holds. A point is kept when its run completes, so a trend
    /// reads what it shows, not every run record.
    async fn trend_points(&self, from: &str, to: &str, limit: usize) -> Result<TrendPage, PortError>;
    /// Ids of the runs in `[from, to]` that are not complete (running,
    /// failed, abandoned), oldest first, found without reading the complete
    /// ones' records.
    async fn incomplete_runs(&self, from: &str, to: &str) -> Result<Vec<String>, PortError>;
    /// One account's snapshots of complete runs with ids in `[from, to]`:
    /// the newest `limit` (oldest first), and how many the range holds.
    /// `incomplete` lists the range's incomplete runs
    /// ([`SnapshotStore::incomplete_runs`]), whose snapshots are not history.
    async fn recent_account_snapshots(
        &self,
        account_id: &str,
        from: &str,
        to: &str,
        limit: usize,
        incomplete: &[String],
    ) -> Result<SnapshotPage, PortError>;
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

/// Where each account's collection of a run is kept, so that tools can
/// answer from the run later (a directory locally, S3 in AWS).
#[async_trait]
pub trait CollectionStore: Send + Sync {
    /// Stores `account`'s collection in `run_id`.
    async fn put_collection(&self, run_id: &str, account: &SpooledCollection) -> Result<(), PortError>;
    /// One account's collection in one run.
    async fn collection(&self, run_id: &str, account_id: &str) -> Result<Option<CollectedAccount>, PortError>;
    /// The same, its findings spooled as they are read (never all decoded
    /// at once).
    async fn collection_spooled(&self, run_id: &str, account_id: &str) -> Result<Option<SpooledCollection>, PortError>;
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
    /// The content of report file `name` of `run_id`; `None` when absent.
    async fn get(&self, run_id: &str, name: &str) -> Result<Option<Vec<u8>>, PortError>;
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
