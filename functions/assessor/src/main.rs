//! `assessor [--demo] [--event FILE | --run-id ID]`: one org-wide assessment.
//! In AWS Lambda (detected by `AWS_LAMBDA_RUNTIME_API`) it handles each
//! EventBridge schedule tick; elsewhere it runs once and exits, printing the
//! run as JSON (exit status 1 when the run failed).

use anyhow::Context;

// In-process collections and the run's snapshots are allocation-heavy (every
// finding normalized and kept): the MCP server's and the collector's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::Parser;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use posture_aws::org::{Org, OrgSettings};
use posture_aws::runtime;
use serde_json::Value;
use std::sync::Arc;

#[derive(Parser)]
#[command(version, about = "Posture Advisor assessor: one org-wide assessment run")]
struct Cli {
    /// Assess the built-in demo organization (stored in POSTURE_DATA_DIR).
    #[arg(long, env = "POSTURE_DEMO", value_parser = clap::builder::FalseyValueParser::new())]
    demo: bool,
    /// An event to handle (EventBridge scheduled-event JSON, or {"run_id": ...}).
    #[arg(long, conflicts_with = "run_id")]
    event: Option<std::path::PathBuf>,
    /// Run id to use (default: the current time, suffix `cli`).
    #[arg(long)]
    run_id: Option<String>,
}

fn clock() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    runtime::init_tracing("info");
    runtime::init_metrics("assessor");
    let cli = Cli::parse();
    let settings = OrgSettings::from_env()?;
    let (frameworks, framework_errors) = settings.frameworks()?;
    if let Some(e) = framework_errors.first() {
        anyhow::bail!("custom framework not usable: {e}");
    }
    let (org, results, sdk) = if cli.demo {
        let org = Org::demo(
            Arc::new(posture_core::demo::DemoOrganization::load(clock())?),
            &settings.data_dir,
        );
        (org, None, None)
    } else {
        let ctx = posture_aws::AwsContext::load().await;
        let results = posture_aws::s3::s3_client(&ctx.sdk, posture_aws::iam::STATE_MACHINE_FANOUT);
        (
            Org::aws(&settings, &ctx.sdk)?.with_state_machine(&settings, &ctx.sdk)?,
            Some(results),
            Some(ctx.sdk),
        )
    };
    // Read for every run, so a reviewed change to the file applies from the next run.
    let run_settings_now = async || -> anyhow::Result<posture_core::org::execute::RunSettings> {
        let loaded = posture_aws::org::load_exceptions(settings.exceptions.as_ref(), sdk.as_ref()).await;
        if let Some(e) = loaded.error {
            anyhow::bail!("the exceptions file is not usable: {e}");
        }
        Ok(settings.run_settings(frameworks.clone(), loaded.exceptions))
    };

    if runtime::in_lambda() {
        let (org, results, run_settings_now) = (&org, &results, &run_settings_now);
        return lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
            let run_settings = run_settings_now()
                .await
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))?;
            let answer = match assessor::event(&event.payload)? {
                assessor::AssessorEvent::Run(request) => assessor::assess(org, &run_settings, &request, &clock).await?,
                assessor::AssessorEvent::Finish(request) => {
                    let s3 = results.as_ref().ok_or("a finish event needs the AWS stores")?;
                    let end = posture_aws::fanout::finish_event(s3, &request).await;
                    assessor::finish(org, &run_settings, &request, end, &clock).await?
                }
            };
            if answer.outcome == "failed" {
                // A failed invocation is retried by EventBridge: the retry is
                // the run's next attempt. (The state machine's finish is not
                // retried on a function error: the run is failed already.)
                return Err(lambda_runtime::Error::from(format!(
                    "run {} failed: {}",
                    answer.run.run_id,
                    answer.run.error.unwrap_or_default()
                )));
            }
            Ok::<Value, lambda_runtime::Error>(serde_json::to_value(answer)?)
        }))
        .await
        .map_err(|e| anyhow::anyhow!(e));
    }

    let request = match (&cli.event, &cli.run_id) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
            assessor::run_request(&serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?)?
        }
        (None, Some(id)) => assessor::run_request(&serde_json::json!({"run_id": id, "trigger": "cli"}))?,
        (None, None) => {
            let id = posture_core::org::run::run_id(clock(), "cli");
            assessor::run_request(&serde_json::json!({"run_id": id, "trigger": "cli"}))?
        }
    };
    let answer = assessor::assess(&org, &run_settings_now().await?, &request, &clock).await?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    if answer.outcome == "failed" {
        std::process::exit(1);
    }
    Ok(())
}
