//! Reading the snapshot store, for the tools that answer from stored runs
//! (history, runs, reports): only complete runs count as history.

use crate::backend::{Backend, HistoryBackend};
use crate::error::{ErrorType, ToolError};
use posture_core::org::run::{self, RunRecord, RunState};
use posture_core::org::snapshot::AccountSnapshot;
use posture_core::ports::{PortError, SnapshotStore};
use serde_json::{Map, json};

/// A store that could not be read, as a tool error.
pub fn store_error(e: PortError) -> ToolError {
    let mut context = Map::new();
    context.insert("operation".into(), json!(e.operation));
    ToolError {
        detail: format!("the snapshot store could not be read: {e}"),
        error_type: ErrorType::ServiceError,
        context,
    }
}

/// What argument `field` names does not exist.
pub fn not_found(field: &str, detail: String) -> ToolError {
    ToolError::validation(field, detail, json!({}))
}

/// A service error with `detail`.
pub fn service_error(detail: String) -> ToolError {
    ToolError {
        detail,
        error_type: ErrorType::ServiceError,
        context: Map::new(),
    }
}

/// The error that says how to configure a store.
pub fn no_store() -> ToolError {
    service_error(
        "no snapshot store is configured: set POSTURE_DATA_DIR (local) or POSTURE_TABLE and \
         POSTURE_BUCKET (AWS), and run the assessor"
            .to_string(),
    )
}

/// The error that says no run has completed.
pub fn no_complete_run() -> ToolError {
    service_error(
        "no assessment run has completed yet: start one with assess_security_posture \
         (scope organization, target all) or wait for the schedule"
            .to_string(),
    )
}

/// The store, or the error that says how to configure one.
pub fn history_of(backend: &Backend) -> Result<&HistoryBackend, ToolError> {
    backend.history.as_ref().ok_or_else(no_store)
}

/// The latest complete run, or the error that says none has completed.
pub async fn latest(h: &HistoryBackend) -> Result<RunRecord, ToolError> {
    h.store
        .latest_run()
        .await
        .map_err(store_error)?
        .ok_or_else(no_complete_run)
}

/// Run `id`, which must be complete (argument `field` named it).
pub async fn complete_run(h: &HistoryBackend, id: &str, field: &str) -> Result<RunRecord, ToolError> {
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

/// Every run record with an id in `[from, "~"]`, oldest first.
pub async fn runs_since(store: &dyn SnapshotStore, from: &str) -> Result<Vec<RunRecord>, ToolError> {
    posture_core::ports::all_runs(store, from, "~")
        .await
        .map_err(store_error)
}

/// Every snapshot of `account` with a run id in `[from, to]`, oldest first.
pub async fn snapshots_of(
    store: &dyn SnapshotStore,
    account: &str,
    from: &str,
    to: &str,
) -> Result<Vec<AccountSnapshot>, ToolError> {
    posture_core::ports::all_account_snapshots(store, account, from, to)
        .await
        .map_err(store_error)
}

/// The snapshots of a complete run (every assessed account).
pub async fn run_snapshots(store: &dyn SnapshotStore, run: &RunRecord) -> Result<Vec<AccountSnapshot>, ToolError> {
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
