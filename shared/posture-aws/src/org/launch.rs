//! Starting a queued run: the assessor function invoked asynchronously (AWS),
//! or a background task in this process (local mode).

use super::wiring::Org;
use crate::iam;
use aws_config::SdkConfig;
use posture_core::org::execute::RunSettings;
use posture_core::org::run::RunTrigger;
use posture_core::ports::{PortError, RunLauncher};

/// Starts a queued run by invoking the assessor function asynchronously
/// (`InvocationType=Event`): the MCP request returns at once, the assessor
/// takes the queued record over.
pub struct LambdaLauncher {
    /// Lambda client.
    pub lambda: aws_sdk_lambda::Client,
    /// Assessor function name or ARN.
    pub function: String,
}

impl LambdaLauncher {
    /// A launcher of `function` over `sdk`, its client limited to
    /// [`iam::RUN_LAUNCHER`].
    pub fn connect(sdk: &SdkConfig, function: String) -> LambdaLauncher {
        LambdaLauncher {
            lambda: crate::guarded_client!(aws_sdk_lambda, sdk, iam::RUN_LAUNCHER),
            function,
        }
    }
}

#[async_trait::async_trait]
impl RunLauncher for LambdaLauncher {
    async fn launch(&self, run_id: &str) -> Result<(), PortError> {
        let payload = serde_json::json!({"run_id": run_id, "trigger": "mcp"}).to_string();
        self.lambda
            .invoke()
            .function_name(&self.function)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(payload.into_bytes().into())
            .send()
            .await
            .map_err(|e| PortError::new("lambda:InvokeFunction", crate::errors::classify("Lambda", &e).message))?;
        Ok(())
    }
}

/// Runs a queued run in this process, in a background task (local mode).
pub struct TaskLauncher {
    /// The organization and stores.
    pub org: Org,
    /// How runs are carried out.
    pub settings: RunSettings,
}

fn system_clock() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[async_trait::async_trait]
impl RunLauncher for TaskLauncher {
    async fn launch(&self, run_id: &str) -> Result<(), PortError> {
        let started_at = posture_core::org::run::run_started_at(run_id)
            .ok_or_else(|| PortError::new("launch", format!("not a run id: {run_id:?}")))?;
        let (org, settings, run_id) = (self.org.clone(), self.settings.clone(), run_id.to_string());
        tokio::spawn(async move {
            match posture_core::org::execute::execute(
                org.ports(&system_clock),
                &settings,
                &run_id,
                RunTrigger::Mcp,
                started_at,
            )
            .await
            {
                Ok(outcome) => tracing::info!(run_id, state = ?outcome.record().state, "assessment run"),
                Err(e) => tracing::error!(run_id, error = %e, "assessment run not recorded"),
            }
        });
        Ok(())
    }
}
