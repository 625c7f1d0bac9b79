//! The assessor: turns an event (an EventBridge schedule tick, or a request
//! to run now) into one org-wide assessment run and a short JSON answer.
//! `main.rs` wires settings and ports and calls [`assess`]; tests call it
//! directly with captured events.

use jiff::Timestamp;
use posture_aws::fanout::FinishRequest;
use posture_aws::org::Org;
use posture_core::org::execute::{FanOutEnd, RunOutcome, RunSettings, execute};
use posture_core::org::run::{RunTrigger, is_valid_run_id, run_id};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Run id (from the tick for scheduled runs, so a redelivered tick is the
    /// same run).
    pub run_id: String,
    /// What started it.
    pub trigger: RunTrigger,
    /// The run's instant.
    pub started_at: Timestamp,
}

/// An event that is not a run request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an assessor event: {0}")]
pub struct EventError(pub String);

/// Reads an event: an EventBridge `Scheduled Event` (run id from its `time`),
/// or `{"run_id": ..., "trigger": ...}` (a run started elsewhere, e.g. by the
/// MCP server).
pub fn run_request(event: &Value) -> Result<RunRequest, EventError> {
    if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        let time = event
            .get("time")
            .and_then(Value::as_str)
            .ok_or_else(|| EventError("scheduled event without time".into()))?;
        let tick: Timestamp = time
            .parse()
            .map_err(|e| EventError(format!("scheduled event time {time:?}: {e}")))?;
        return Ok(RunRequest {
            run_id: run_id(tick, "scheduled"),
            trigger: RunTrigger::Schedule,
            started_at: tick,
        });
    }
    let id = event
        .get("run_id")
        .and_then(Value::as_str)
        .ok_or_else(|| EventError("expected a Scheduled Event or {\"run_id\": ...}".into()))?;
    if !is_valid_run_id(id) {
        return Err(EventError(format!("run_id {id:?} is not a run id")));
    }
    let started_at = posture_core::org::run::run_started_at(id)
        .ok_or_else(|| EventError(format!("run_id {id:?} does not start with a valid time")))?;
    // A schedule tick comes only as a Scheduled Event (its run id is the tick's).
    let trigger = match event.get("trigger").and_then(Value::as_str).unwrap_or("manual") {
        "mcp" => RunTrigger::Mcp,
        "cli" => RunTrigger::Cli,
        "manual" => RunTrigger::Manual,
        other => return Err(EventError(format!("trigger {other:?} is not mcp, cli or manual"))),
    };
    Ok(RunRequest {
        run_id: id.to_string(),
        trigger,
        started_at,
    })
}

/// What the assessor is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssessorEvent {
    /// Run (or recognize as done) a run.
    Run(RunRequest),
    /// Finish a run the state machine collected (`{"phase": "finish", ...}`).
    Finish(FinishRequest),
}

/// Reads an event: the state machine's `{"phase": "finish", ...}`, else a
/// run request ([`run_request`]).
pub fn event(event: &Value) -> Result<AssessorEvent, EventError> {
    match event.get("phase").and_then(Value::as_str) {
        None => run_request(event).map(AssessorEvent::Run),
        Some("finish") => {
            let request: FinishRequest =
                serde_json::from_value(event.clone()).map_err(|e| EventError(format!("finish event: {e}")))?;
            if !is_valid_run_id(&request.run_id) {
                return Err(EventError(format!("run_id {:?} is not a run id", request.run_id)));
            }
            Ok(AssessorEvent::Finish(request))
        }
        Some(other) => Err(EventError(format!("phase {other:?} is not finish"))),
    }
}

/// The answer: how the run ended, and where its results are.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssessorAnswer {
    /// `completed`, `already_complete`, `in_progress`, `failed` or
    /// `handed_off` (to the state machine, which has it finished).
    pub outcome: &'static str,
    /// The run.
    pub run: posture_core::org::run::RunRecord,
}

/// Runs (or recognizes as done) the requested run.
pub async fn assess(
    org: &Org,
    settings: &RunSettings,
    request: &RunRequest,
    clock: &(dyn Fn() -> Timestamp + Sync),
) -> Result<AssessorAnswer, posture_core::org::execute::RunError> {
    let outcome = execute(
        org.ports(clock),
        settings,
        &request.run_id,
        request.trigger,
        request.started_at,
    )
    .await?;
    Ok(answer(outcome))
}

/// Finishes a run the state machine collected: `end` is how its Map ended
/// (`posture_aws::fanout::finish_event`).
pub async fn finish(
    org: &Org,
    settings: &RunSettings,
    request: &FinishRequest,
    end: FanOutEnd,
    clock: &(dyn Fn() -> Timestamp + Sync),
) -> Result<AssessorAnswer, posture_core::org::execute::RunError> {
    let outcome =
        posture_core::org::execute::finish(org.ports(clock), settings, &request.run_id, request.attempt, end).await?;
    Ok(answer(outcome))
}

fn answer(outcome: RunOutcome) -> AssessorAnswer {
    let label = match &outcome {
        RunOutcome::Completed(_) => "completed",
        RunOutcome::AlreadyComplete(_) => "already_complete",
        RunOutcome::InProgress(_) => "in_progress",
        RunOutcome::Failed(_) => "failed",
        RunOutcome::HandedOff(_) => "handed_off",
    };
    let run = outcome.record().clone();
    tracing::info!(
        run_id = %run.run_id,
        outcome = label,
        attempt = run.attempt,
        accounts = run.accounts.len(),
        gaps = run.accounts.iter().filter(|a| a.gap.is_some()).count(),
        error = run.error.as_deref().unwrap_or(""),
        execution = run.execution.as_deref().unwrap_or(""),
        "assessment run"
    );
    AssessorAnswer { outcome: label, run }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_run_requests() {
        let tick: Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/events/assessor-scheduled.json")).unwrap();
        let r = run_request(&tick).unwrap();
        assert_eq!(r.run_id, "20261126T060000Z-scheduled");
        assert_eq!(r.trigger, RunTrigger::Schedule);
        let r = run_request(&serde_json::json!({"run_id": "20261126T101500Z-a1b2c3", "trigger": "mcp"})).unwrap();
        assert_eq!(r.started_at.to_string(), "2026-11-26T10:15:00Z");
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"run_id": "../../etc"}),
            serde_json::json!({"run_id": "20261126T101500Z-x", "trigger": "schedule"}),
            serde_json::json!({"detail-type": "Scheduled Event", "time": "yesterday"}),
        ] {
            assert!(run_request(&bad).is_err(), "{bad}");
        }
    }
}
