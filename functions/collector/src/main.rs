//! `collector --event FILE`: collect one member account for one run. In AWS
//! Lambda (detected by `AWS_LAMBDA_RUNTIME_API`) the assessor invokes it once
//! per account with a `CollectRequest`; elsewhere it handles one request file
//! and prints the summary. Needs `POSTURE_BUCKET` (and optionally
//! `POSTURE_BUCKET_PREFIX`, `POSTURE_PARTITION`).

use anyhow::Context;

// A collection normalizes and keeps every finding it reads: small
// allocations by the million (bench/run measures them with this allocator).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::Parser;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use posture_aws::collector::{CollectRequest, CollectSummary, handle_collect};
use posture_aws::org::CollectorSettings;
use posture_aws::s3::s3_client;

#[derive(Parser)]
#[command(version, about = "Posture Advisor collector: one account for one run")]
struct Cli {
    /// A CollectRequest JSON file (run_id, account_id, role, external_id, regions).
    #[arg(long)]
    event: Option<std::path::PathBuf>,
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
        let started = std::time::Instant::now();
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
        let gaps = summary.gaps.len() + usize::from(summary.unreachable.is_some());
        posture_core::metrics::global().collection_finished(started.elapsed(), gaps, jiff::Timestamp::now());
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
    posture_aws::runtime::init_tracing("info");
    posture_aws::runtime::init_metrics("collector");
    let cli = Cli::parse();
    let settings = CollectorSettings::from_env()?;
    let ctx = posture_aws::AwsContext::load().await;
    let wiring = Wiring {
        s3: s3_client(&ctx.sdk, posture_aws::iam::COLLECTION_OUTPUT),
        sdk: ctx.sdk,
        bucket: settings.bucket,
        prefix: settings.prefix,
        partition: settings.partition,
    };
    if posture_aws::runtime::in_lambda() {
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
