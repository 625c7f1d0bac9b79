//! Org-wide runs: starting one (for `assess_security_posture` with scope
//! organization) and `get_assessment_status`, which follows it.

use super::call::{Cx, ToolOutput, run_error};
use super::stored::{history_of, not_found, runs_since, store_error};
use crate::backend::{Backend, HistoryBackend};
use crate::error::{ErrorType, ToolError};
use jiff::Timestamp;
use posture_core::ids::RunId;
use posture_core::org::run::{self, ReportLocation, RunRecord, RunState};
use posture_core::org::snapshot;
use posture_core::report::format::score_text;
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use std::fmt::Write;

/// `get_assessment_status`.
pub const GET_ASSESSMENT_STATUS: &str = "get_assessment_status";

/// Longest `wait_seconds` of `get_assessment_status`: the request must end
/// well within the Lambda Function URL / API Gateway timeouts (29 s).
pub const MAX_WAIT_SECONDS: u32 = 25;

/// How often `get_assessment_status` re-reads the run while waiting.
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Arguments of `get_assessment_status`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusArgs {
    /// From assess_security_posture (scope organization), list_accounts or get_posture_history
    pub run_id: RunId,
    /// Wait up to this many seconds for a QUEUED or RUNNING run to end before answering (the store is re-read every 250 ms); with a progressToken in the request's _meta, notifications/progress (accounts done of accounts in scope) are sent whenever an account is done, and the reply comes as an SSE stream. At most 25 s: the request must end within the Lambda Function URL / API Gateway timeouts; call again to keep waiting.
    #[serde(default)]
    #[schemars(range(min = 0, max = MAX_WAIT_SECONDS))]
    pub wait_seconds: u32,
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
    #[schemars(with = "posture_core::time::DateTime")]
    pub started_at: Timestamp,
    /// End.
    #[schemars(with = "Option<posture_core::time::DateTime>")]
    pub finished_at: Option<Timestamp>,
    /// Attempt number.
    pub attempt: u32,
    /// The org summary, once complete.
    pub summary: Option<snapshot::OrgSummary>,
    /// Report files, once complete.
    pub reports: Vec<ReportLocation>,
}

/// `assess_security_posture` with scope `organization`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RunStarted {
    /// The run id to pass to `get_assessment_status`.
    pub run_id: String,
    /// `QUEUED`, or `RUNNING` for a run already in progress.
    pub state: RunState,
    /// True when no new run was started because this one was in progress.
    pub already_in_progress: bool,
    /// What to call next.
    pub status_tool: String,
}

/// The run record `id` from the store (`None`: no such run).
pub async fn run_record(backend: &Backend, id: &str) -> Result<Option<RunRecord>, ToolError> {
    let h = history_of(backend)?;
    h.store.run(id).await.map_err(store_error)
}

/// `get_assessment_status`. With `wait_seconds`, polls the store until the
/// run ends or the wait elapses, reporting each change of `accounts_done`
/// to the request's progress token (when it carried one).
pub async fn assessment_status(cx: &Cx<'_>, args: StatusArgs) -> Result<ToolOutput, ToolError> {
    let h = history_of(cx.backend)?;
    let id = args.run_id.as_str();
    let read = || async {
        h.store
            .run(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found("run_id", format!("no run {id}")))
    };
    let mut run = read().await?;
    if args.wait_seconds > 0 {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(u64::from(args.wait_seconds));
        let mut reported: Option<usize> = None;
        loop {
            let active = matches!(
                run.effective_state(Timestamp::now()),
                RunState::Queued | RunState::Running
            );
            // The first report only while the run is going (a finished run
            // answers plain JSON); later ones on every change, the last one
            // included.
            if let Some(p) = &cx.options.progress
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

/// The runs in progress (queued or running, not abandoned), oldest first.
/// Runs are listed by id (their queue time) back to twice the longest run,
/// since one may start running well after it was queued.
async fn runs_in_progress(h: &HistoryBackend, now: Timestamp) -> Result<Vec<RunRecord>, ToolError> {
    let since = RunId::stamp(now - h.max_duration - h.max_duration);
    Ok(runs_since(h.store.as_ref(), &since)
        .await?
        .into_iter()
        .filter(|r| matches!(r.effective_state(now), RunState::Queued | RunState::Running))
        .collect())
}

/// Validates the target and starts an org-wide run, unless one is in
/// progress: at most one runs at a time, and a caller asking for another
/// gets that one (`true`: a run was already in progress). A new run's
/// queued record is written durably before anything is returned, then
/// handed to the launcher. Of two requests racing, the earlier run id
/// wins: the later one sees it after writing its own record, marks its own
/// FAILED (superseded) and answers the earlier. Shared by the plain tool
/// result and the task.
pub async fn begin_org_run(backend: &Backend, target: &str) -> Result<(RunRecord, bool), ToolError> {
    if target != "all" {
        return Err(ToolError::validation(
            "target",
            "with scope organization, target must be \"all\" (the accounts in scope come from the \
             assessor's settings)",
            json!({"allowed": ["all"]}),
        ));
    }
    let h = history_of(backend)?;
    let now = Timestamp::now();
    if let Some(running) = runs_in_progress(h, now).await?.into_iter().next() {
        return Ok((running, true));
    }
    let suffix = format!("mcp-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let run_id = run::run_id(now, &suffix);
    let record = run::queued(&run_id, run::RunTrigger::Mcp, now, h.max_duration);
    h.store.begin_run(&record).await.map_err(store_error)?;
    let earlier = runs_in_progress(h, now)
        .await?
        .into_iter()
        .find(|r| r.run_id < record.run_id);
    if let Some(earlier) = earlier {
        let mut superseded = record.clone();
        superseded.state = RunState::Failed;
        superseded.error = Some(format!(
            "superseded by run {}, started at the same time",
            earlier.run_id
        ));
        let _ = h.store.retake_run(&superseded, 0).await;
        return Ok((earlier, true));
    }
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
    Ok((record, false))
}

/// Starts an org-wide run (or finds the one in progress) and answers its id
/// (clients without tasks).
pub async fn start_org_assessment(backend: &Backend, target: &str) -> Result<ToolOutput, ToolError> {
    let (run, already_in_progress) = begin_org_run(backend, target).await?;
    let now = Timestamp::now();
    let run_id = run.run_id.clone();
    let started = RunStarted {
        run_id: run_id.clone(),
        state: run.effective_state(now),
        already_in_progress,
        status_tool: GET_ASSESSMENT_STATUS.to_string(),
    };
    let what = if already_in_progress {
        "is already in progress (one org-wide run at a time)"
    } else {
        "started"
    };
    let text = format!(
        "Org-wide assessment {run_id} {what}. Follow it with get_assessment_status {{\"run_id\": \"{run_id}\"}}."
    );
    ToolOutput::new(&started, text)
}

/// The `get_assessment_status` answer for `run` at `now`.
pub fn status_output(run: &RunRecord, now: Timestamp) -> Result<ToolOutput, ToolError> {
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
        started_at: run.started_at,
        finished_at: run.finished_at,
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
            let _ = write!(text, "\n{name}: {}", score_text(f.score));
        }
    }
    ToolOutput::new(&status, text)
}
