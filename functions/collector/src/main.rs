//! `collector --event FILE`: collect one member account for one run. In AWS
//! Lambda (detected by `AWS_LAMBDA_RUNTIME_API`) the assessor invokes it once
//! per account with a `CollectRequest`; elsewhere it handles one request file
//! and prints the summary. Needs `POSTURE_BUCKET` (and optionally
//! `POSTURE_BUCKET_PREFIX`, `POSTURE_PARTITION`).

use anyhow::Context;
use clap::Parser;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use posture_aws::collector::{CollectRequest, CollectSummary, handle_collect};
use posture_aws::org::{BUCKET_PREFIX_VAR, BUCKET_VAR, PARTITION_VAR};
use posture_aws::s3::s3_client;

#[derive(Parser)]
#[command(version, about = "Posture Advisor collector: one account for one run")]
struct Cli {
    /// A CollectRequest JSON file (run_id, account_id, role, external_id, regions).
    #[arg(long)]
    event: Option<std::path::PathBuf>,
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .init();
}

struct Wiring {
    sdk: aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    partition: String,
}

impl Wiring {
    async fn handle(&self, request: CollectRequest) -> Result<CollectSummary, lambda_runtime::Error> {
        let account = request.account_id.clone();
        let summary = handle_collect(
            &self.sdk,
            &self.s3,
            &self.bucket,
            &self.prefix,
            &self.partition,
            request,
        )
        .await
        .map_err(|e| lambda_runtime::Error::from(format!("account {account}: {e}")))?;
        tracing::info!(
            run_id = %summary.run_id,
            account_id = %summary.account_id,
            unreachable = summary.unreachable.as_deref().unwrap_or(""),
            findings = summary.findings,
            gaps = summary.gaps.len(),
            "collected"
        );
        Ok(summary)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let cli = Cli::parse();
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let bucket = var(BUCKET_VAR).with_context(|| format!("{BUCKET_VAR} is required"))?;
    let ctx = posture_aws::AwsContext::load().await;
    let wiring = Wiring {
        s3: s3_client(&ctx.sdk, posture_aws::iam::COLLECTION_OUTPUT),
        sdk: ctx.sdk,
        bucket,
        prefix: var(BUCKET_PREFIX_VAR).unwrap_or_default(),
        partition: var(PARTITION_VAR).unwrap_or_else(|| "aws".to_string()),
    };
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        let wiring = &wiring;
        return lambda_runtime::run(service_fn(move |event: LambdaEvent<CollectRequest>| async move {
            wiring.handle(event.payload).await
        }))
        .await
        .map_err(|e| anyhow::anyhow!(e));
    }
    let path = cli.event.context("--event FILE is required outside Lambda")?;
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let request: CollectRequest = serde_json::from_str(&text).with_context(|| path.display().to_string())?;
    let summary = wiring.handle(request).await.map_err(|e| anyhow::anyhow!(e))?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
