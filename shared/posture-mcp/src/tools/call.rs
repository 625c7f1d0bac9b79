//! What every tool handler works with: the backend, the per-request options,
//! and the shape of its answer.

use crate::backend::Backend;
use crate::error::ToolError;
use crate::serving::KeptAnswer;
use crate::splice::SpliceSlot;
use jiff::Timestamp;
use posture_core::org::run::{RunRecord, RunState};
use rmcp::model::{ProgressNotificationParam, ProgressToken, Task, TaskStatus};
use rmcp::{Peer, RoleServer};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// One tool call's context.
pub struct Cx<'a> {
    /// What the tools talk to.
    pub backend: &'a Backend,
    /// Per-request options.
    pub options: &'a CallOptions,
    /// The registered tool names, in `tools/list` order.
    pub tool_names: &'a [String],
}

/// Per-request options of a tool call.
#[derive(Default)]
pub struct CallOptions {
    /// The request declared the tasks extension: long work may answer a task.
    pub tasks: bool,
    /// Where to send progress (the request carried a progress token).
    pub progress: Option<ProgressSink>,
    /// Where a kept answer's bytes go (the HTTP transport splices them in).
    pub splice: Option<SpliceSlot>,
}

/// What a tool call answers: a result now, or a task to poll.
pub enum Answer {
    /// The result.
    Output(ToolOutput),
    /// Long work started: poll the task.
    Task(Task),
}

impl From<ToolOutput> for Answer {
    fn from(out: ToolOutput) -> Answer {
        Answer::Output(out)
    }
}

/// A tool's successful output.
pub struct ToolOutput {
    /// Structured content.
    pub structured: Value,
    /// Human-readable rendering.
    pub text: String,
    /// An answer kept with its run (masked once, when kept) and this call's
    /// `as_of` (masked): the structured content is `kept.value` plus
    /// `as_of`, written into the response without building it when the
    /// transport can splice (`structured` is then `Null`). The text is
    /// masked on every call.
    pub kept: Option<(Arc<KeptAnswer>, Value)>,
}

impl ToolOutput {
    /// `value` as structured content with its text rendering.
    pub fn new<T: Serialize>(value: &T, text: String) -> Result<ToolOutput, ToolError> {
        let structured = serde_json::to_value(value)
            .map_err(|e| ToolError::engine(format!("result could not be serialized: {e}")))?;
        Ok(ToolOutput {
            structured,
            text,
            kept: None,
        })
    }
}

/// Where a waiting tool reports progress: the requesting client and the
/// progress token of its request.
pub struct ProgressSink {
    /// The client.
    pub peer: Peer<RoleServer>,
    /// The request's `_meta.progressToken`.
    pub token: ProgressToken,
}

impl ProgressSink {
    /// Sends `notifications/progress`: accounts done of accounts in scope
    /// (no total until the directory is read). A lost notification is not an
    /// error of the tool.
    pub async fn report(&self, run: &RunRecord) {
        let mut param = ProgressNotificationParam::new(self.token.clone(), run.accounts_done as f64)
            .with_message(progress_message(run));
        if !run.accounts.is_empty() {
            param = param.with_total(run.accounts.len() as f64);
        }
        if let Err(e) = self.peer.notify_progress(param).await {
            tracing::debug!(run_id = %run.run_id, error = %e, "progress notification not sent");
        }
    }
}

/// "2 of 3 accounts assessed (66.7%)", or what a run without accounts yet waits for.
pub fn progress_message(run: &RunRecord) -> String {
    match (run.state, run.accounts.len()) {
        (RunState::Queued, 0) => "queued: waiting for the assessor to start".to_string(),
        (_, 0) => "reading the accounts in scope".to_string(),
        (_, total) => format!(
            "{} of {total} accounts assessed ({:.1}%)",
            run.accounts_done,
            run.progress_percent()
        ),
    }
}

/// Suggested `tasks/get` polling interval: an account takes seconds to
/// collect, so faster polling would mostly read an unchanged record.
pub const TASK_POLL_INTERVAL_MS: u64 = 2_000;

/// How long a task (its run record) stays readable after creation: one day,
/// the shortest retention the store can be configured with
/// (`POSTURE_RETENTION_DAYS` >= 1, default 400 days; the local store keeps
/// records forever), so the promise holds for every deployment.
pub const TASK_TTL_MS: u64 = 86_400_000;

/// The task of an org-wide run: its id is the run id, it was created when
/// the run was queued (the instant in the run id, stable while the assessor
/// rewrites the record), and it last changed when the run ended (while it
/// runs, the record keeps no update time: the creation is reported).
pub fn task_of(run: &RunRecord, status: TaskStatus, now: Timestamp) -> Task {
    let created = posture_core::org::run::run_started_at(&run.run_id).unwrap_or(run.started_at);
    let updated = match (run.finished_at, run.is_abandoned(now)) {
        (Some(f), _) => f,
        (None, true) => run.deadline,
        (None, false) => created,
    };
    let message = match run_error(run, now) {
        Some(e) if status == TaskStatus::Failed => e,
        _ => progress_message(run),
    };
    Task::new(run.run_id.clone(), status, created.to_string(), updated.to_string())
        .with_status_message(message)
        .with_ttl_ms(TASK_TTL_MS)
        .with_poll_interval_ms(TASK_POLL_INTERVAL_MS)
}

/// Why `run` failed (an abandoned run: its deadline passed).
pub fn run_error(run: &RunRecord, now: Timestamp) -> Option<String> {
    if run.is_abandoned(now) {
        Some(format!("the run did not finish by its deadline {}", run.deadline))
    } else {
        run.error.clone()
    }
}
