//! Large runs on Step Functions. The assessor writes the run's accounts as
//! collector requests beside the run and starts one execution of the state
//! machine in `template.yaml`: a Distributed Map runs the collector function
//! (unchanged) once per account, retrying each, a failed account caught as
//! a gap; then the state machine invokes the assessor again with the Map's
//! results, which [`finish_event`] turns into how each account ended.
//!
//! The Map's results (its `ResultWriter`): a manifest naming result files,
//! each a JSON array of child executions with their `Input` and `Output`
//! as JSON strings.

use crate::collector::{CollectRequest, RoleSettings};
use crate::errors::sanitize;
use jiff::SignedDuration;
use posture_core::org::execute::FanOutEnd;
use posture_core::org::run::RunRecord;
use posture_core::ports::{FanOut, FannedOut, PortError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long a handed-off run may take: the state machine's `TimeoutSeconds`.
pub const FANOUT_MAX_DURATION: SignedDuration = SignedDuration::from_hours(24);

/// An S3 object as Step Functions names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Object {
    /// Bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// Key.
    #[serde(rename = "Key")]
    pub key: String,
}

/// Where the Map writes its results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Prefix {
    /// Bucket.
    #[serde(rename = "Bucket")]
    pub bucket: String,
    /// Key prefix.
    #[serde(rename = "Prefix")]
    pub prefix: String,
}

/// The state machine's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionInput {
    /// The run.
    pub run_id: String,
    /// Its attempt (a later attempt's execution supersedes this one).
    pub attempt: u32,
    /// The account list: a JSON array of [`CollectRequest`].
    pub items: S3Object,
    /// Where the Map writes its results.
    pub results: S3Prefix,
    /// Collector executions at once.
    pub concurrency: usize,
}

/// The assessor's event from the state machine's last step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishRequest {
    /// The run.
    pub run_id: String,
    /// The attempt the execution collected for.
    pub attempt: u32,
    /// The Map's result manifest (its `ResultWriterDetails`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<S3Object>,
    /// The Map's error, when it failed as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<StatesError>,
}

/// A Step Functions error as a `Catch` passes it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatesError {
    /// Error name (`States.TaskFailed`, `Lambda.ServiceException`, ...).
    #[serde(rename = "Error", default)]
    pub error: String,
    /// What happened (for a function error, its JSON error document).
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

impl std::fmt::Display for StatesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A function error's cause is `{"errorMessage": ..., "errorType": ...}`:
        // the message is what helps.
        let cause = serde_json::from_str::<serde_json::Value>(&self.cause)
            .ok()
            .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| self.cause.clone());
        write!(f, "{}: {}", self.error, sanitize(&cause))
    }
}

/// The key of a fan-out file of `run_id` (`accounts.json`, `results/...`).
pub fn fanout_key(prefix: &str, run_id: &str, name: &str) -> String {
    format!("{prefix}runs/{run_id}/fanout/{name}")
}

/// The execution name of a run's attempt (unique per state machine for 90
/// days, as Step Functions requires; a repeated start of the same attempt
/// is answered with the same execution).
pub fn execution_name(run: &RunRecord) -> String {
    format!("{}-a{}", run.run_id, run.attempt)
}

/// Hands runs of at least `min_accounts` accounts to the state machine.
pub struct StepFunctionsFanOut {
    /// Step Functions client.
    pub sfn: aws_sdk_sfn::Client,
    /// S3 client (the account list, the Map's results).
    pub s3: aws_sdk_s3::Client,
    /// The state machine's ARN.
    pub state_machine: String,
    /// The product's bucket.
    pub bucket: String,
    /// Key prefix in it.
    pub prefix: String,
    /// How the collector enters members.
    pub roles: RoleSettings,
    /// Runs over at least this many accounts are handed off.
    pub min_accounts: usize,
    /// Collector executions at once.
    pub concurrency: usize,
}

impl StepFunctionsFanOut {
    /// The collector requests of `run`'s accounts.
    pub fn requests(&self, run: &RunRecord) -> Vec<CollectRequest> {
        run.accounts
            .iter()
            .map(|a| CollectRequest {
                run_id: run.run_id.clone(),
                account_id: a.account_id.clone(),
                role: self.roles.role.clone(),
                external_id: self.roles.external_id.clone(),
                regions: self.roles.regions.clone(),
                max_findings_per_account: Some(self.roles.max_findings_per_account),
            })
            .collect()
    }

    /// The state machine's input for `run`.
    pub fn input(&self, run: &RunRecord) -> ExecutionInput {
        ExecutionInput {
            run_id: run.run_id.clone(),
            attempt: run.attempt,
            items: S3Object {
                bucket: self.bucket.clone(),
                key: fanout_key(&self.prefix, &run.run_id, &format!("a{}/accounts.json", run.attempt)),
            },
            results: S3Prefix {
                bucket: self.bucket.clone(),
                prefix: fanout_key(&self.prefix, &run.run_id, &format!("a{}/results", run.attempt)),
            },
            concurrency: self.concurrency,
        }
    }
}

#[async_trait::async_trait]
impl FanOut for StepFunctionsFanOut {
    fn takes(&self, accounts: usize) -> bool {
        accounts >= self.min_accounts
    }

    fn max_duration(&self) -> SignedDuration {
        FANOUT_MAX_DURATION
    }

    async fn start(&self, run: &RunRecord) -> Result<String, PortError> {
        let input = self.input(run);
        let items = serde_json::to_vec(&self.requests(run)).map_err(|e| PortError::new("fan-out", e.to_string()))?;
        self.s3
            .put_object()
            .bucket(&input.items.bucket)
            .key(&input.items.key)
            .content_type("application/json")
            .body(items.into())
            .send()
            .await
            .map_err(|e| PortError::new("s3:PutObject", crate::errors::classify("S3", &e).message))?;
        let started = self
            .sfn
            .start_execution()
            .state_machine_arn(&self.state_machine)
            .name(execution_name(run))
            .input(serde_json::to_string(&input).map_err(|e| PortError::new("fan-out", e.to_string()))?)
            .send()
            .await
            .map_err(|e| {
                PortError::new(
                    "states:StartExecution",
                    crate::errors::classify("Step Functions", &e).message,
                )
            })?;
        tracing::info!(
            run_id = %run.run_id,
            accounts = run.accounts.len(),
            execution = started.execution_arn(),
            "run handed to the state machine"
        );
        Ok(started.execution_arn().to_string())
    }
}

/// The Map's result manifest.
#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(rename = "DestinationBucket")]
    destination_bucket: String,
    #[serde(rename = "ResultFiles")]
    result_files: BTreeMap<String, Vec<ResultFile>>,
}

#[derive(Debug, Deserialize)]
struct ResultFile {
    #[serde(rename = "Key")]
    key: String,
}

/// One child execution in a result file.
#[derive(Debug, Deserialize)]
struct ChildExecution {
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "Input", default)]
    input: Option<String>,
    #[serde(rename = "Output", default)]
    output: Option<String>,
    #[serde(rename = "Error", default)]
    error: Option<String>,
    #[serde(rename = "Cause", default)]
    cause: Option<String>,
}

/// The output of a child execution: the collector's summary, or its
/// request with the caught `failure`.
#[derive(Debug, Deserialize)]
struct ChildOutput {
    run_id: String,
    account_id: String,
    #[serde(default)]
    unreachable: Option<String>,
    #[serde(default)]
    failure: Option<StatesError>,
}

/// Why the Map's results cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ResultsError(pub String);

/// The result files a manifest names, with the bucket they are in.
pub fn manifest_files(manifest: &[u8]) -> Result<(String, Vec<String>), ResultsError> {
    let manifest: Manifest =
        serde_json::from_slice(manifest).map_err(|e| ResultsError(format!("the Map's manifest: {e}")))?;
    let keys = manifest
        .result_files
        .into_values()
        .flatten()
        .map(|file| file.key)
        .collect();
    Ok((manifest.destination_bucket, keys))
}

/// Adds how each child execution of a result file left its account to
/// `outcomes`; a child of another run is refused.
pub fn read_result_file(
    run_id: &str,
    file: &[u8],
    outcomes: &mut BTreeMap<String, FannedOut>,
) -> Result<(), ResultsError> {
    let children: Vec<ChildExecution> =
        serde_json::from_slice(file).map_err(|e| ResultsError(format!("a result file of the Map: {e}")))?;
    for child in children {
        let parse = |text: &Option<String>| {
            text.as_deref()
                .map(serde_json::from_str::<ChildOutput>)
                .transpose()
                .map_err(|e| ResultsError(format!("a child execution's {}: {e}", child.status)))
        };
        let (account, outcome) = match (child.status.as_str(), parse(&child.output)?) {
            ("SUCCEEDED", Some(out)) => {
                if out.run_id != run_id {
                    return Err(ResultsError(format!(
                        "the Map's results hold run {}, not {run_id}",
                        out.run_id
                    )));
                }
                let outcome = match (out.failure, out.unreachable) {
                    (Some(failure), _) => FannedOut::Failed(failure.to_string()),
                    (None, Some(why)) => FannedOut::Unreachable(why),
                    (None, None) => FannedOut::Collected,
                };
                (out.account_id, outcome)
            }
            // A child that failed past its own catch (timed out, aborted):
            // its input says which account.
            (status, _) => {
                let Some(input) = parse(&child.input)? else {
                    return Err(ResultsError(format!("a {status} child execution without its input")));
                };
                let why = StatesError {
                    error: child.error.unwrap_or_else(|| status.to_string()),
                    cause: child.cause.unwrap_or_default(),
                };
                (input.account_id, FannedOut::Failed(why.to_string()))
            }
        };
        outcomes.insert(account, outcome);
    }
    Ok(())
}

/// How the state machine ended a run's collection: the Map's results read
/// from S3, or the Map's own failure.
pub async fn finish_event(s3: &aws_sdk_s3::Client, request: &FinishRequest) -> FanOutEnd {
    match (&request.results, &request.failure) {
        (_, Some(failure)) => FanOutEnd::Failed(failure.to_string()),
        (None, None) => FanOutEnd::Failed("the state machine passed neither results nor a failure".to_string()),
        (Some(manifest), None) => match read_results(s3, &request.run_id, manifest).await {
            Ok(outcomes) => FanOutEnd::Collected(outcomes),
            Err(e) => FanOutEnd::Failed(e.to_string()),
        },
    }
}

async fn read_results(
    s3: &aws_sdk_s3::Client,
    run_id: &str,
    manifest: &S3Object,
) -> Result<BTreeMap<String, FannedOut>, ResultsError> {
    let (bucket, keys) = manifest_files(&get(s3, &manifest.bucket, &manifest.key).await?)?;
    let mut outcomes = BTreeMap::new();
    for key in keys {
        read_result_file(run_id, &get(s3, &bucket, &key).await?, &mut outcomes)?;
    }
    Ok(outcomes)
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Vec<u8>, ResultsError> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| ResultsError(format!("s3:GetObject {key}: {}", crate::errors::classify("S3", &e))))?;
    let body = object
        .body
        .collect()
        .await
        .map_err(|e| ResultsError(format!("s3:GetObject {key}: {e}")))?;
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::CollectSummary;

    const RUN: &str = "20261126T060000Z-scheduled";

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/events")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_maps_results_say_how_each_account_ended() {
        let (bucket, keys) = manifest_files(&fixture("stepfunctions-manifest.json")).unwrap();
        assert_eq!(bucket, "posture-fanout-data");
        assert_eq!(keys.len(), 1);
        assert!(
            keys[0].starts_with(&format!("org/runs/{RUN}/fanout/a1/results/")),
            "{keys:?}"
        );
        let mut outcomes = BTreeMap::new();
        read_result_file(RUN, &fixture("stepfunctions-results.json"), &mut outcomes).unwrap();
        assert_eq!(outcomes.len(), 3);
        assert_eq!(outcomes["111111111111"], FannedOut::Collected);
        assert!(
            matches!(&outcomes["222222222222"], FannedOut::Unreachable(why) if why.contains("AccessDenied")),
            "{outcomes:?}"
        );
        assert!(
            matches!(&outcomes["333333333333"], FannedOut::Failed(why) if why.starts_with("Sandbox.Timedout: ")),
            "{outcomes:?}"
        );
        // Results of another run are refused, not mixed in.
        let mut other = BTreeMap::new();
        let error = read_result_file(
            "20261127T060000Z-scheduled",
            &fixture("stepfunctions-results.json"),
            &mut other,
        )
        .unwrap_err();
        assert!(error.0.contains("not 20261127T060000Z-scheduled"), "{error}");
    }

    #[test]
    fn a_child_that_failed_past_its_catch_is_a_failed_account() {
        let request = serde_json::json!({"run_id": RUN, "account_id": "444444444444", "role": "R"}).to_string();
        let file = serde_json::json!([{
            "Status": "TIMED_OUT", "Input": request, "Error": "States.Timeout",
            "Cause": "{\"errorMessage\": \"Task timed out after 900.00 seconds\"}"
        }]);
        let mut outcomes = BTreeMap::new();
        read_result_file(RUN, file.to_string().as_bytes(), &mut outcomes).unwrap();
        assert_eq!(
            outcomes["444444444444"],
            FannedOut::Failed("States.Timeout: Task timed out after 900.00 seconds".to_string())
        );
        let without_input = serde_json::json!([{"Status": "FAILED"}]);
        assert!(read_result_file(RUN, without_input.to_string().as_bytes(), &mut outcomes).is_err());
    }

    #[test]
    fn every_collector_summary_is_a_child_output() {
        let summary = CollectSummary {
            run_id: RUN.to_string(),
            account_id: "111111111111".to_string(),
            unreachable: Some("refused".to_string()),
            inventory_uri: None,
            regions: Vec::new(),
            findings: 0,
            gaps: Vec::new(),
            throttled: Vec::new(),
        };
        let out: ChildOutput = serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
        assert_eq!(
            (out.run_id.as_str(), out.account_id.as_str(), out.unreachable.as_deref()),
            (RUN, "111111111111", Some("refused"))
        );
    }

    #[test]
    fn the_finish_events_parse() {
        for name in ["stepfunctions-finish.json", "stepfunctions-finish-failed.json"] {
            let mut event: serde_json::Value = serde_json::from_slice(&fixture(name)).unwrap();
            assert_eq!(event["phase"], "finish");
            event.as_object_mut().unwrap().remove("phase");
            let request: FinishRequest = serde_json::from_value(event).unwrap();
            assert_eq!((request.run_id.as_str(), request.attempt), (RUN, 1));
            assert!(request.results.is_some() != request.failure.is_some(), "{name}");
        }
    }
}
