//! The org-wide tools: accounts in scope, posture history, drift between
//! runs, run status, reports, and starting an org-wide run. They read the
//! snapshot store (only complete runs count as history) and the report store
//! through their ports.

use crate::args::Args;
use crate::backend::{Backend, HistoryBackend};
use crate::error::{ErrorType, ToolError};
use crate::tools;
use crate::tools::call::{ProgressSink, ToolOutput, run_error};
use jiff::{SignedDuration, Timestamp};
use posture_core::history::{self, OrgDrift, OrgHistoryPoint};
use posture_core::run::{
    self, PortError, ReportFile, ReportLocation, RunRecord, RunReport, RunState, SnapshotStore, TrendPoint,
};
use posture_core::snapshot::{self, AccountSnapshot, Drift, Failure, HistoryPoint, Trend};
use rmcp::model::JsonObject;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

fn store_error(e: PortError) -> ToolError {
    let mut context = Map::new();
    context.insert("operation".into(), json!(e.operation));
    ToolError {
        detail: format!("the snapshot store could not be read: {e}"),
        error_type: ErrorType::ServiceError,
        context,
    }
}

fn not_found(field: &str, detail: String) -> ToolError {
    ToolError::validation(field, detail, json!({}))
}

fn stamp(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Every run record with an id in `[from, "~"]`, oldest first.
async fn runs_since(store: &dyn SnapshotStore, from: &str) -> Result<Vec<RunRecord>, ToolError> {
    run::all_runs(store, from, "~").await.map_err(store_error)
}

/// Every snapshot of `account` with a run id in `[from, to]`, oldest first.
async fn snapshots_of(
    store: &dyn SnapshotStore,
    account: &str,
    from: &str,
    to: &str,
) -> Result<Vec<AccountSnapshot>, ToolError> {
    run::all_account_snapshots(store, account, from, to)
        .await
        .map_err(store_error)
}

/// The snapshots of a complete run (every assessed account).
async fn run_snapshots(store: &dyn SnapshotStore, run: &RunRecord) -> Result<Vec<AccountSnapshot>, ToolError> {
    let mut out = Vec::new();
    for a in run
        .accounts
        .iter()
        .filter(|a| a.outcome == run::AccountOutcome::Assessed)
    {
        match store.snapshot(&a.account_id, &run.run_id).await.map_err(store_error)? {
            Some(s) => out.push(s),
            None => {
                return Err(ToolError {
                    detail: format!(
                        "run {} lists account {} as assessed but its snapshot is missing (expired by TTL?)",
                        run.run_id, a.account_id
                    ),
                    error_type: ErrorType::ServiceError,
                    context: Map::new(),
                });
            }
        }
    }
    Ok(out)
}

fn account_arg(a: &Args<'_>, args: &JsonObject) -> Result<Option<String>, ToolError> {
    match args.get("account_id") {
        None | Some(Value::Null) => Ok(None),
        Some(_) => {
            let id = a.required_string("account_id", 12)?;
            if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
                Ok(Some(id))
            } else {
                Err(ToolError::validation(
                    "account_id",
                    "account_id must be a 12-digit AWS account id",
                    json!({"received": id}),
                ))
            }
        }
    }
}

fn run_id_arg(a: &Args<'_>, args: &JsonObject, field: &str) -> Result<Option<String>, ToolError> {
    match args.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => {
            let id = a.required_string(field, 64)?;
            if run::is_valid_run_id(&id) {
                Ok(Some(id))
            } else {
                Err(ToolError::validation(
                    field,
                    format!("{field} is not a run id (like 20261126T060000Z-scheduled)"),
                    json!({"received": id}),
                ))
            }
        }
    }
}

/// An account in `list_accounts`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AccountEntry {
    /// 12-digit id.
    pub account_id: String,
    /// Name from the directory.
    pub name: String,
    /// Directory status at the latest run.
    pub status: String,
    /// `ASSESSED` or `GAP` in the latest run.
    pub latest_outcome: run::AccountOutcome,
    /// Why the latest run could not assess it.
    pub gap: Option<String>,
    /// Start of the latest complete run that assessed it.
    pub last_assessed: Option<String>,
    /// That run.
    pub last_assessed_run: Option<String>,
    /// Score per framework in that run.
    pub scores: BTreeMap<String, Option<f64>>,
    /// Failing check outcomes in that run.
    pub failures: Option<usize>,
}

/// `list_accounts` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AccountList {
    /// The latest complete run the list comes from.
    pub latest_run: String,
    /// Its start.
    pub latest_run_started_at: String,
    /// Accounts in scope of that run.
    pub total_accounts: usize,
    /// This page.
    pub accounts: Vec<AccountEntry>,
    /// Pass as `next_token` for the next page.
    pub next_token: Option<String>,
}

/// `get_posture_history` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PostureHistory {
    /// `organization` or the account id.
    pub scope: String,
    /// Framework short name.
    pub framework: String,
    /// Start of the range (RFC 3339).
    pub from: String,
    /// End of the range.
    pub to: String,
    /// Org series (scope organization): one point per complete run.
    pub organization: Vec<OrgHistoryPoint>,
    /// Account series (scope account): one point per complete run that assessed it.
    pub account: Vec<HistoryPoint>,
    /// Last scored point against the first, stable within 1 point.
    pub trend: Trend,
    /// Score change from the first to the last scored point.
    pub score_change: Option<f64>,
    /// Complete runs in the range left out (only the latest `max_points` are shown).
    pub points_omitted: usize,
    /// Runs in the range that did not complete (not history).
    pub incomplete_runs: Vec<String>,
}

/// Failures of one account's drift, capped.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AccountDriftView {
    /// The account.
    pub account_id: String,
    /// Score change per framework.
    pub score_changes: BTreeMap<String, snapshot::ScoreChange>,
    /// Count of new failures.
    pub new_failures_count: usize,
    /// Count of resolved failures.
    pub resolved_failures_count: usize,
    /// Count of persisting failures.
    pub persisting_failures_count: usize,
    /// New failures (first `max_items`).
    pub new_failures: Vec<Failure>,
    /// Resolved failures (first `max_items`).
    pub resolved_failures: Vec<Failure>,
    /// Requirements whose status changed (first `max_items`).
    pub control_changes: Vec<snapshot::ControlChange>,
    /// Count of control changes.
    pub control_changes_count: usize,
    /// True when a list above was cut at `max_items`.
    pub truncated: bool,
}

/// `compare_snapshots` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Comparison {
    /// `organization` or the account id.
    pub scope: String,
    /// Earlier run.
    pub from_run: String,
    /// Later run.
    pub to_run: String,
    /// Org score changes (organization scope).
    pub score_changes: BTreeMap<String, snapshot::ScoreChange>,
    /// Accounts assessed only in the later run.
    pub accounts_added: Vec<String>,
    /// Accounts assessed only in the earlier run.
    pub accounts_removed: Vec<history::RemovedAccount>,
    /// Totals over accounts.
    pub totals: BTreeMap<String, usize>,
    /// Per account, most new failures first.
    pub accounts: Vec<AccountDriftView>,
}

/// `get_assessment_status` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunStatus {
    /// The run.
    pub run_id: String,
    /// `QUEUED`, `RUNNING`, `COMPLETE` or `FAILED` (a run past its deadline is FAILED).
    pub state: RunState,
    /// True when the record still says running but its deadline passed.
    pub abandoned: bool,
    /// Accounts done ÷ in scope × 100.
    pub progress_percent: f64,
    /// Accounts done.
    pub accounts_done: usize,
    /// Accounts in scope (0 until the directory is read).
    pub accounts_total: usize,
    /// Accounts that could not be assessed, with reasons.
    pub gaps: Vec<run::RunAccount>,
    /// Why it failed.
    pub error: Option<String>,
    /// Start.
    pub started_at: String,
    /// End.
    pub finished_at: Option<String>,
    /// Attempt number.
    pub attempt: u32,
    /// The org summary, once complete.
    pub summary: Option<snapshot::OrgSummary>,
    /// Report files, once complete.
    pub reports: Vec<ReportLocation>,
}

/// `generate_security_report` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GeneratedReport {
    /// `executive`, `technical` or `compliance`.
    pub report_type: String,
    /// `json`, `markdown` or `html`.
    pub format: String,
    /// The run it reports on.
    pub run_id: String,
    /// `organization` or the account id.
    pub scope: String,
    /// Where it is stored.
    pub location: ReportLocation,
    /// A link to open it: a presigned HTTPS URL (valid one hour) in AWS, a
    /// file path locally.
    pub link: String,
    /// Size in bytes.
    pub bytes: usize,
    /// The headline numbers.
    pub summary: Value,
}

/// `assess_security_posture` with scope `organization`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunStarted {
    /// The run id to pass to `get_assessment_status`.
    pub run_id: String,
    /// `QUEUED`.
    pub state: RunState,
    /// What to call next.
    pub status_tool: String,
}

impl Backend {
    fn history_backend(&self) -> Result<&HistoryBackend, ToolError> {
        self.history.as_ref().ok_or_else(|| ToolError {
            detail: "no snapshot store is configured: set POSTURE_DATA_DIR (local) or POSTURE_TABLE and \
                     POSTURE_BUCKET (AWS), and run the assessor"
                .to_string(),
            error_type: ErrorType::ServiceError,
            context: Map::new(),
        })
    }

    async fn latest(&self, h: &HistoryBackend) -> Result<RunRecord, ToolError> {
        h.store
            .latest_run()
            .await
            .map_err(store_error)?
            .ok_or_else(|| ToolError {
                detail: "no assessment run has completed yet: start one with assess_security_posture \
                     (scope organization, target all) or wait for the schedule"
                    .to_string(),
                error_type: ErrorType::ServiceError,
                context: Map::new(),
            })
    }

    pub(crate) async fn list_accounts(&self, args: &JsonObject) -> Result<ToolOutput, ToolError> {
        let a = Args::new(args, tools::LIST_ACCOUNTS_ARGS)?;
        let limit = a.integer("max_results", 1, 100, 50)? as usize;
        let after = match args.get("next_token") {
            None | Some(Value::Null) => None,
            Some(_) => Some(a.required_string("next_token", 12)?),
        };
        let h = self.history_backend()?;
        let latest = self.latest(h).await?;
        let mut accounts: Vec<&run::RunAccount> = latest.accounts.iter().collect();
        accounts.sort_by(|x, y| x.account_id.cmp(&y.account_id));
        if let Some(after) = &after
            && !accounts.iter().any(|x| &x.account_id == after)
        {
            return Err(ToolError::validation(
                "next_token",
                "next_token does not come from this account list",
                json!({}),
            ));
        }
        let start = after.map_or(0, |t| {
            accounts.iter().position(|x| x.account_id == t).map_or(0, |p| p + 1)
        });
        let page: Vec<&run::RunAccount> = accounts.iter().skip(start).take(limit).copied().collect();
        let next_token = (start + page.len() < accounts.len())
            .then(|| page.last().map(|x| x.account_id.clone()))
            .flatten();
        let standing: BTreeMap<&str, &snapshot::AccountStanding> = latest
            .summary
            .iter()
            .flat_map(|s| s.worst_accounts.iter())
            .map(|s| (s.account_id.as_str(), s))
            .collect();
        // Complete runs, read once and only if an account on this page needs them.
        let mut complete: Option<BTreeSet<String>> = None;
        let mut entries = Vec::new();
        for acct in page {
            let mut entry = AccountEntry {
                account_id: acct.account_id.clone(),
                name: acct.name.clone(),
                status: acct.status.clone(),
                latest_outcome: acct.outcome,
                gap: acct.gap.clone(),
                last_assessed: None,
                last_assessed_run: None,
                scores: BTreeMap::new(),
                failures: None,
            };
            if let Some(s) = standing.get(acct.account_id.as_str()) {
                entry.last_assessed = Some(latest.started_at.clone());
                entry.last_assessed_run = Some(latest.run_id.clone());
                entry.scores = s.scores.clone();
                entry.failures = Some(s.failures);
            } else {
                // Not assessed in the latest run: its newest snapshot of a complete run.
                if complete.is_none() {
                    complete = Some(
                        runs_since(h.store.as_ref(), "")
                            .await?
                            .into_iter()
                            .filter(|r| r.state == RunState::Complete)
                            .map(|r| r.run_id)
                            .collect(),
                    );
                }
                let snaps = snapshots_of(h.store.as_ref(), &acct.account_id, "", &latest.run_id).await?;
                let is_complete = |id: &String| complete.as_ref().is_some_and(|c| c.contains(id));
                if let Some(s) = snaps.iter().rev().find(|s| is_complete(&s.run_id)) {
                    entry.last_assessed = Some(s.taken_at.clone());
                    entry.last_assessed_run = Some(s.run_id.clone());
                    entry.scores = s.frameworks.iter().map(|(k, v)| (k.clone(), v.score)).collect();
                    entry.failures = Some(s.failures.len());
                }
            }
            entries.push(entry);
        }
        let list = AccountList {
            latest_run: latest.run_id.clone(),
            latest_run_started_at: latest.started_at.clone(),
            total_accounts: accounts.len(),
            accounts: entries,
            next_token,
        };
        let mut text = format!(
            "{} account(s) in the latest run {} ({}).\n",
            list.total_accounts, list.latest_run, list.latest_run_started_at
        );
        for e in &list.accounts {
            let scores: Vec<String> = e
                .scores
                .iter()
                .map(|(k, v)| format!("{k} {}", v.map_or("n/a".to_string(), |v| format!("{v:.1}"))))
                .collect();
            let _ = writeln!(
                text,
                "- {} {} [{}]: {}{}",
                e.account_id,
                e.name,
                e.status,
                if scores.is_empty() {
                    "not assessed".to_string()
                } else {
                    scores.join(", ")
                },
                e.gap
                    .as_deref()
                    .map(|g| format!(" (latest run: {g})"))
                    .unwrap_or_default()
            );
        }
        if let Some(t) = &list.next_token {
            let _ = writeln!(text, "More accounts: next_token {t}.");
        }
        ToolOutput::new(&list, text)
    }

    fn framework_arg(&self, a: &Args<'_>, args: &JsonObject) -> Result<String, ToolError> {
        let names: Vec<String> = self.frameworks.iter().map(|f| f.short_name.clone()).collect();
        match args.get("framework") {
            None | Some(Value::Null) => Ok("CIS".to_string()),
            Some(_) => a.one_of("framework", &names),
        }
    }

    pub(crate) async fn posture_history(&self, args: &JsonObject) -> Result<ToolOutput, ToolError> {
        let a = Args::new(args, tools::HISTORY_ARGS)?;
        let account = account_arg(&a, args)?;
        let framework = self.framework_arg(&a, args)?;
        let days = a.integer("days", 1, 3650, 90)?;
        let max_points = a.integer("max_points", 1, 500, 100)? as usize;
        let h = self.history_backend()?;
        let now = Timestamp::now();
        let from = now - SignedDuration::from_hours(24 * days);
        let runs = runs_since(h.store.as_ref(), &stamp(from)).await?;
        let incomplete_runs: Vec<String> = runs
            .iter()
            .filter(|r| r.state != RunState::Complete)
            .map(|r| r.run_id.clone())
            .collect();
        let complete: Vec<&RunRecord> = runs.iter().filter(|r| r.state == RunState::Complete).collect();
        let mut result = PostureHistory {
            scope: account.clone().unwrap_or_else(|| "organization".to_string()),
            framework: framework.clone(),
            from: from.to_string(),
            to: now.to_string(),
            organization: Vec::new(),
            account: Vec::new(),
            trend: Trend::InsufficientData,
            score_change: None,
            points_omitted: 0,
            incomplete_runs,
        };
        let scores: Vec<Option<f64>>;
        match &account {
            None => {
                let points: Vec<TrendPoint> = complete
                    .iter()
                    .filter_map(|r| r.summary.as_ref().map(|s| TrendPoint::of(r, s)))
                    .collect();
                result.points_omitted = points.len().saturating_sub(max_points);
                let (series, trend) = history::org_series(&points[result.points_omitted..], &framework);
                scores = series.iter().map(|p| p.score).collect();
                result.organization = series;
                result.trend = trend;
            }
            Some(id) => {
                let ids: BTreeSet<&str> = complete.iter().map(|r| r.run_id.as_str()).collect();
                let snaps: Vec<AccountSnapshot> = snapshots_of(h.store.as_ref(), id, &stamp(from), "~")
                    .await?
                    .into_iter()
                    .filter(|s| ids.contains(s.run_id.as_str()))
                    .collect();
                if snaps.is_empty() && !complete.iter().any(|r| r.accounts.iter().any(|x| &x.account_id == id)) {
                    return Err(not_found(
                        "account_id",
                        format!("account {id} is in no complete run of the last {days} days"),
                    ));
                }
                result.points_omitted = snaps.len().saturating_sub(max_points);
                let (series, trend) = snapshot::history(&snaps[result.points_omitted..], &framework);
                scores = series.iter().map(|p| p.score).collect();
                result.account = series;
                result.trend = trend;
            }
        }
        let scored: Vec<f64> = scores.into_iter().flatten().collect();
        if let (Some(first), Some(last)) = (scored.first(), scored.last())
            && scored.len() >= 2
        {
            result.score_change = Some(((last - first) * 10.0).round() / 10.0);
        }
        let mut text = format!(
            "{} history of {} over {} day(s): trend {:?}{}.\n",
            framework,
            result.scope,
            days,
            result.trend,
            result
                .score_change
                .map(|d| format!(" ({d:+.1} points)"))
                .unwrap_or_default()
        );
        for p in &result.organization {
            let _ = writeln!(
                text,
                "- {} score {} | failures {} | open findings {}",
                p.run_id,
                p.score.map_or("n/a".to_string(), |v| format!("{v:.1}")),
                p.failures,
                p.open_findings
            );
        }
        for p in &result.account {
            let _ = writeln!(
                text,
                "- {} score {} | failed controls {} | failures {} | open findings {}",
                p.run_id,
                p.score.map_or("n/a".to_string(), |v| format!("{v:.1}")),
                p.failed_controls,
                p.failures,
                p.open_findings
            );
        }
        if result.points_omitted > 0 {
            let _ = writeln!(
                text,
                "({} earlier runs not shown; raise max_points.)",
                result.points_omitted
            );
        }
        ToolOutput::new(&result, text)
    }

    /// The run to compare: given, or latest complete (`to`) / the complete
    /// run before `to` (`from`).
    async fn complete_run(&self, h: &HistoryBackend, id: &str, field: &str) -> Result<RunRecord, ToolError> {
        let run = h
            .store
            .run(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(field, format!("no run {id}")))?;
        if run.state != RunState::Complete {
            return Err(not_found(
                field,
                format!(
                    "run {id} is {:?}, not complete: only complete runs are history",
                    run.state
                ),
            ));
        }
        Ok(run)
    }

    pub(crate) async fn compare(&self, args: &JsonObject) -> Result<ToolOutput, ToolError> {
        let a = Args::new(args, tools::COMPARE_ARGS)?;
        let account = account_arg(&a, args)?;
        let from_id = run_id_arg(&a, args, "from_run_id")?;
        let to_id = run_id_arg(&a, args, "to_run_id")?;
        let max_items = a.integer("max_items", 1, 200, 50)? as usize;
        let h = self.history_backend()?;
        let to = match &to_id {
            Some(id) => self.complete_run(h, id, "to_run_id").await?,
            None => self.latest(h).await?,
        };
        let from = match &from_id {
            Some(id) => self.complete_run(h, id, "from_run_id").await?,
            None => runs_since(h.store.as_ref(), "")
                .await?
                .into_iter()
                .rfind(|r| r.state == RunState::Complete && r.run_id < to.run_id)
                .ok_or_else(|| not_found("from_run_id", format!("no complete run before {}", to.run_id)))?,
        };
        if from.run_id >= to.run_id {
            return Err(ToolError::validation(
                "from_run_id",
                "from_run_id must be an earlier run than to_run_id",
                json!({"from_run_id": from.run_id, "to_run_id": to.run_id}),
            ));
        }
        let (drift, scope) = match &account {
            None => {
                let (a_snaps, b_snaps) = (
                    run_snapshots(h.store.as_ref(), &from).await?,
                    run_snapshots(h.store.as_ref(), &to).await?,
                );
                (
                    history::org_drift(&from, &a_snaps, &to, &b_snaps),
                    "organization".to_string(),
                )
            }
            Some(id) => {
                let before = h.store.snapshot(id, &from.run_id).await.map_err(store_error)?;
                let after = h.store.snapshot(id, &to.run_id).await.map_err(store_error)?;
                let (Some(before), Some(after)) = (before, after) else {
                    return Err(not_found(
                        "account_id",
                        format!(
                            "account {id} was not assessed in both {} and {}",
                            from.run_id, to.run_id
                        ),
                    ));
                };
                let d = snapshot::drift(&before, &after);
                let org = OrgDrift {
                    from_run: from.run_id.clone(),
                    to_run: to.run_id.clone(),
                    score_changes: d.score_changes.clone(),
                    accounts_added: Vec::new(),
                    accounts_removed: Vec::new(),
                    accounts: vec![d],
                };
                (org, id.clone())
            }
        };
        let comparison = view(drift, scope, max_items);
        let text = render_comparison(&comparison);
        ToolOutput::new(&comparison, text)
    }

    /// The run record `id` from the store (`None`: no such run).
    pub(crate) async fn run_record(&self, id: &str) -> Result<Option<RunRecord>, ToolError> {
        let h = self.history_backend()?;
        h.store.run(id).await.map_err(store_error)
    }

    /// `get_assessment_status`. With `wait_seconds`, polls the store until
    /// the run ends or the wait elapses, reporting each change of
    /// `accounts_done` to `progress` (when the request carried a token).
    pub(crate) async fn assessment_status(
        &self,
        args: &JsonObject,
        progress: Option<&ProgressSink>,
    ) -> Result<ToolOutput, ToolError> {
        let a = Args::new(args, tools::STATUS_ARGS)?;
        let id = run_id_arg(&a, args, "run_id")?
            .ok_or_else(|| ToolError::validation("run_id", "run_id is required", json!({})))?;
        let wait = a.integer("wait_seconds", 0, tools::MAX_WAIT_SECONDS, 0)?;
        let h = self.history_backend()?;
        let read = || async {
            h.store
                .run(&id)
                .await
                .map_err(store_error)?
                .ok_or_else(|| not_found("run_id", format!("no run {id}")))
        };
        let mut run = read().await?;
        if wait > 0 {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(wait.unsigned_abs());
            let mut reported: Option<usize> = None;
            loop {
                let active = matches!(
                    run.effective_state(Timestamp::now()),
                    RunState::Queued | RunState::Running
                );
                // The first report only while the run is going (a finished run
                // answers plain JSON); later ones on every change, the last
                // one included.
                if let Some(p) = progress
                    && reported != Some(run.accounts_done)
                    && (active || reported.is_some())
                {
                    p.report(&run).await;
                    reported = Some(run.accounts_done);
                }
                let left = until.saturating_duration_since(std::time::Instant::now());
                if !active || left.is_zero() {
                    break;
                }
                tokio::time::sleep(left.min(POLL_INTERVAL)).await;
                run = read().await?;
            }
        }
        status_output(&run, Timestamp::now())
    }

    /// Validates the target, writes the queued record (durably, before
    /// anything is returned) and hands the run to the launcher. Shared by
    /// the plain tool result and the task.
    pub(crate) async fn begin_org_run(&self, target: &str) -> Result<RunRecord, ToolError> {
        if target != "all" {
            return Err(ToolError::validation(
                "target",
                "with scope organization, target must be \"all\" (the accounts in scope come from the \
                 assessor's settings)",
                json!({"allowed": ["all"]}),
            ));
        }
        let h = self.history_backend()?;
        let now = Timestamp::now();
        let suffix = format!("mcp-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let run_id = run::run_id(now, &suffix);
        let record = run::queued(&run_id, "mcp", now, h.max_duration);
        h.store.begin_run(&record).await.map_err(store_error)?;
        if let Err(e) = h.launcher.launch(&run_id).await {
            let mut failed = record.clone();
            failed.state = RunState::Failed;
            failed.error = Some(format!("could not start the assessor: {e}"));
            // The record is queued (attempt 0); mark it failed so status says so.
            let _ = h.store.retake_run(&failed, 0).await;
            return Err(ToolError {
                detail: format!("the assessment could not be started: {e}"),
                error_type: ErrorType::ServiceError,
                context: Map::new(),
            });
        }
        Ok(record)
    }

    pub(crate) async fn start_org_assessment(&self, target: &str) -> Result<ToolOutput, ToolError> {
        let run_id = self.begin_org_run(target).await?.run_id;
        let started = RunStarted {
            run_id: run_id.clone(),
            state: RunState::Queued,
            status_tool: tools::GET_ASSESSMENT_STATUS.to_string(),
        };
        let text = format!(
            "Org-wide assessment {run_id} started. Follow it with get_assessment_status {{\"run_id\": \"{run_id}\"}}."
        );
        ToolOutput::new(&started, text)
    }

    pub(crate) async fn generate_report(&self, args: &JsonObject) -> Result<ToolOutput, ToolError> {
        let a = Args::new(args, tools::REPORT_ARGS)?;
        let pick = |field: &str, allowed: &[&str], default: &str| -> Result<String, ToolError> {
            match args.get(field) {
                None | Some(Value::Null) => Ok(default.to_string()),
                Some(_) => a.one_of(field, &allowed.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            }
        };
        let report_type = pick("report_type", &["executive", "technical", "compliance"], "executive")?;
        let format = pick("format", &["json", "markdown", "html"], "markdown")?;
        if format == "html" && report_type != "executive" {
            return Err(ToolError::validation(
                "format",
                "html is the executive report (charts); technical and compliance reports come as markdown or json",
                json!({"report_type": report_type, "allowed": ["markdown", "json"]}),
            ));
        }
        let account = account_arg(&a, args)?;
        let run_id = run_id_arg(&a, args, "run_id")?;
        let h = self.history_backend()?;
        let run = match &run_id {
            Some(id) => self.complete_run(h, id, "run_id").await?,
            None => self.latest(h).await?,
        };
        let mut snapshots = run_snapshots(h.store.as_ref(), &run).await?;
        let earlier = runs_since(h.store.as_ref(), "").await?;
        let mut report = RunReport {
            schema_version: run::RUN_SCHEMA_VERSION,
            run: run.clone(),
            snapshots: Vec::new(),
            trend: run::trend_of(earlier.iter().filter(|r| r.run_id <= run.run_id)),
        };
        let scope = match &account {
            Some(id) => {
                snapshots.retain(|s| &s.account_id == id);
                if snapshots.is_empty() {
                    return Err(not_found(
                        "account_id",
                        format!("account {id} was not assessed in run {}", run.run_id),
                    ));
                }
                // An account report: the summary is the account's own.
                report.run.summary = Some(snapshot::org_summary(&run.run_id, &snapshots));
                report.run.accounts.retain(|x| &x.account_id == id);
                report.trend.clear();
                id.clone()
            }
            None => "organization".to_string(),
        };
        report.snapshots = snapshots;
        let frameworks = &self.frameworks;
        let (body, content_type, ext) = match (report_type.as_str(), format.as_str()) {
            ("executive", "html") => (
                posture_core::report_html::html(&report),
                "text/html; charset=utf-8",
                "html",
            ),
            ("executive", "markdown") => match &report.run.summary {
                Some(s) => (
                    posture_core::report::markdown(s, &report.snapshots, &report.run.accounts),
                    "text/markdown; charset=utf-8",
                    "md",
                ),
                None => return Err(ToolError::engine("the run has no summary")),
            },
            ("executive", _) => (
                to_json(&json!({"run": report.run, "trend": report.trend}))?,
                "application/json",
                "json",
            ),
            ("technical", "markdown") => (
                history::technical_markdown(&report),
                "text/markdown; charset=utf-8",
                "md",
            ),
            ("technical", _) => (to_json(&report)?, "application/json", "json"),
            ("compliance", "markdown") => (
                history::compliance_markdown(&report, frameworks),
                "text/markdown; charset=utf-8",
                "md",
            ),
            (_, _) => (
                to_json(&json!({
                    "run_id": report.run.run_id,
                    "summary": report.run.summary,
                    "controls": history::compliance_matrix(&report, frameworks),
                }))?,
                "application/json",
                "json",
            ),
        };
        let name = format!("{report_type}-{scope}.{ext}");
        let bytes = body.len();
        let file = ReportFile {
            name,
            content_type: content_type.to_string(),
            body: body.into_bytes(),
        };
        let location = h.reports.put(&run.run_id, &file).await.map_err(store_error)?;
        let link = h.reports.link(&location).await.map_err(store_error)?;
        let summary = match &report.run.summary {
            Some(s) => json!({
                "accounts": s.accounts,
                "scores": s.frameworks.iter().map(|(k, v)| (k.clone(), v.score)).collect::<BTreeMap<_, _>>(),
                "failures": s.failures,
                "open_findings": s.open_findings.values().sum::<usize>(),
                "gaps": report.run.accounts.iter().filter(|x| x.gap.is_some()).count(),
            }),
            None => Value::Null,
        };
        let result = GeneratedReport {
            report_type,
            format,
            run_id: run.run_id.clone(),
            scope,
            location,
            link,
            bytes,
            summary,
        };
        let text = format!(
            "{} {} report of run {} ({}): {} bytes at {}\n{}",
            result.report_type,
            result.format,
            result.run_id,
            result.scope,
            result.bytes,
            result.location.uri,
            result.link
        );
        ToolOutput::new(&result, text)
    }
}

/// How often `get_assessment_status` re-reads the run while waiting.
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// The `get_assessment_status` answer for `run` at `now`.
pub(crate) fn status_output(run: &RunRecord, now: Timestamp) -> Result<ToolOutput, ToolError> {
    let abandoned = run.is_abandoned(now);
    let status = RunStatus {
        run_id: run.run_id.clone(),
        state: run.effective_state(now),
        abandoned,
        progress_percent: run.progress_percent(),
        accounts_done: run.accounts_done,
        accounts_total: run.accounts.len(),
        gaps: run.accounts.iter().filter(|x| x.gap.is_some()).cloned().collect(),
        error: run_error(run, now),
        started_at: run.started_at.clone(),
        finished_at: run.finished_at.clone(),
        attempt: run.attempt,
        summary: run.summary.clone(),
        reports: run.reports.clone(),
    };
    let mut text = format!(
        "Run {}: {:?}, {} of {} account(s) done ({:.1}%).",
        status.run_id, status.state, status.accounts_done, status.accounts_total, status.progress_percent
    );
    if let Some(e) = &status.error {
        let _ = write!(text, " Error: {e}");
    }
    for g in &status.gaps {
        let _ = write!(
            text,
            "\nNot assessed: {} ({})",
            g.account_id,
            g.gap.as_deref().unwrap_or("")
        );
    }
    if let Some(s) = &status.summary {
        for (name, f) in &s.frameworks {
            let _ = write!(
                text,
                "\n{name}: {}",
                f.score.map_or("n/a".to_string(), |v| format!("{v:.1}"))
            );
        }
    }
    ToolOutput::new(&status, text)
}

fn to_json<T: Serialize>(value: &T) -> Result<String, ToolError> {
    serde_json::to_string_pretty(value).map_err(|e| ToolError::engine(format!("report could not be serialized: {e}")))
}

fn view(drift: OrgDrift, scope: String, max_items: usize) -> Comparison {
    let mut totals = BTreeMap::new();
    let mut accounts: Vec<AccountDriftView> = drift
        .accounts
        .into_iter()
        .map(|d: Drift| {
            for (k, n) in [
                ("new_failures", d.new_failures.len()),
                ("resolved_failures", d.resolved_failures.len()),
                ("persisting_failures", d.persisting_failures.len()),
                ("control_changes", d.control_changes.len()),
            ] {
                *totals.entry(k.to_string()).or_insert(0) += n;
            }
            let truncated = d.new_failures.len() > max_items
                || d.resolved_failures.len() > max_items
                || d.control_changes.len() > max_items;
            AccountDriftView {
                account_id: d.account_id,
                score_changes: d.score_changes,
                new_failures_count: d.new_failures.len(),
                resolved_failures_count: d.resolved_failures.len(),
                persisting_failures_count: d.persisting_failures.len(),
                control_changes_count: d.control_changes.len(),
                new_failures: d.new_failures.into_iter().take(max_items).collect(),
                resolved_failures: d.resolved_failures.into_iter().take(max_items).collect(),
                control_changes: d.control_changes.into_iter().take(max_items).collect(),
                truncated,
            }
        })
        .collect();
    accounts.sort_by(|a, b| {
        b.new_failures_count
            .cmp(&a.new_failures_count)
            .then(a.account_id.cmp(&b.account_id))
    });
    Comparison {
        scope,
        from_run: drift.from_run,
        to_run: drift.to_run,
        score_changes: drift.score_changes,
        accounts_added: drift.accounts_added,
        accounts_removed: drift.accounts_removed,
        totals,
        accounts,
    }
}

fn render_comparison(c: &Comparison) -> String {
    let mut text = format!("Drift of {} from {} to {}:\n", c.scope, c.from_run, c.to_run);
    for (name, s) in &c.score_changes {
        let _ = writeln!(
            text,
            "- {name}: {} -> {} ({})",
            s.from.map_or("n/a".to_string(), |v| format!("{v:.1}")),
            s.to.map_or("n/a".to_string(), |v| format!("{v:.1}")),
            s.delta.map_or("n/a".to_string(), |v| format!("{v:+.1}"))
        );
    }
    let get = |k: &str| c.totals.get(k).copied().unwrap_or(0);
    let _ = writeln!(
        text,
        "{} new, {} resolved, {} persisting failure(s); {} control status change(s).",
        get("new_failures"),
        get("resolved_failures"),
        get("persisting_failures"),
        get("control_changes")
    );
    for a in &c.accounts_added {
        let _ = writeln!(text, "Account {a} assessed only in the later run.");
    }
    for r in &c.accounts_removed {
        let _ = writeln!(
            text,
            "Account {} not assessed in the later run{}.",
            r.account_id,
            r.reason.as_deref().map(|x| format!(": {x}")).unwrap_or_default()
        );
    }
    for a in &c.accounts {
        for f in &a.new_failures {
            let _ = writeln!(text, "NEW {} {} {}", a.account_id, f.check_id, f.resource);
        }
        for f in &a.resolved_failures {
            let _ = writeln!(text, "RESOLVED {} {} {}", a.account_id, f.check_id, f.resource);
        }
        if a.truncated {
            let _ = writeln!(text, "(account {}: lists cut at max_items)", a.account_id);
        }
    }
    text
}
