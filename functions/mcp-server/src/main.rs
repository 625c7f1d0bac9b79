//! `mcp-server [--demo] [--listen 127.0.0.1:3000]`: the Posture Advisor MCP
//! endpoint. In AWS Lambda (detected by `AWS_LAMBDA_RUNTIME_API`) it serves
//! the Function URL through lambda_http; elsewhere it listens on `--listen`.

use anyhow::Context;

// Served answers are allocation-heavy (cloned, serialized): see Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::Parser;
use posture_mcp::serve::ConnectionLimits;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Parser)]
#[command(version, about = "Posture Advisor MCP server (Streamable HTTP at /mcp)")]
struct Cli {
    /// Serve the built-in demo organization instead of reading AWS.
    #[arg(long, env = "POSTURE_DEMO", value_parser = clap::builder::FalseyValueParser::new())]
    demo: bool,
    /// Address to listen on (local mode).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Serve a non-loopback address without OAuth: anyone who can reach it
    /// can call every tool. Refused unless given.
    #[arg(long)]
    allow_unauthenticated_network: bool,
    /// Most open connections in all; more are closed at once.
    #[arg(long, env = "POSTURE_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_connections as u32, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Most open connections from one address.
    #[arg(long, env = "POSTURE_MAX_CONNECTIONS_PER_PEER", default_value_t = ConnectionLimits::default().max_connections_per_peer as u32, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_peer: u32,
    /// Seconds for a request's headers to arrive (also the keep-alive idle
    /// timeout).
    #[arg(long, env = "POSTURE_HEADER_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().header_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds for a request's body to arrive (408 after).
    #[arg(long, env = "POSTURE_BODY_TIMEOUT_SECS", default_value_t = posture_mcp::http::BODY_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_secs: u64,
    /// Seconds a write may stall (the client not reading) before the
    /// connection is dropped.
    #[arg(long, env = "POSTURE_WRITE_TIMEOUT_SECS", default_value_t = ConnectionLimits::default().write_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    write_timeout_secs: u64,
}

impl Cli {
    fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections as usize,
            max_connections_per_peer: self.max_connections_per_peer as usize,
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            write_timeout: Duration::from_secs(self.write_timeout_secs),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    posture_aws::runtime::init_tracing("info,rmcp=warn");
    posture_aws::runtime::init_metrics("mcp-server");
    let cli = Cli::parse();
    let settings = mcp_server::Settings::from_env()?;
    let in_lambda = settings.in_lambda;
    if !in_lambda {
        // Before any data is loaded: a refused address serves nothing.
        mcp_server::check_listen(cli.listen, settings.oauth.is_some(), cli.allow_unauthenticated_network)?;
    }
    let oauth = settings.oauth.clone();
    // Checked before anything else is wired: a misdeclared URL never serves.
    let url_auth = if in_lambda {
        Some(mcp_server::lambda_url_auth(
            settings.url_auth_type.as_deref(),
            oauth.as_ref(),
        )?)
    } else {
        None
    };
    let auth = match &oauth {
        Some(oauth) => oauth.describe(),
        None if in_lambda => "AWS_IAM (SigV4, checked by the Function URL)".to_string(),
        None => "none (loopback only)".to_string(),
    };
    let backend = if cli.demo {
        let (backend, first_run) = mcp_server::demo_server(&settings)?;
        // Listening does not wait for the run (tool calls do): a quick start.
        tokio::spawn(async move {
            match first_run.await {
                Ok(run_id) => eprintln!("Org-wide assessment of the demo organization: run {run_id}"),
                Err(e) => {
                    // A demo that cannot assess serves nothing, as before it listened.
                    eprintln!("Error: {e}");
                    std::process::exit(1);
                }
            }
        });
        backend
    } else {
        mcp_server::aws_backend(&settings, vec![auth]).await?
    };
    if let Some(url_auth) = url_auth {
        let app = mcp_server::app_with_oauth(backend, &mcp_server::lambda_http_config(&settings)?, oauth)?;
        lambda_http::run(mcp_server::lambda_service(app, url_auth))
            .await
            .map_err(|e| anyhow::anyhow!(e))
    } else {
        let mut http_config = mcp_server::local_http_config(&settings);
        http_config.body.timeout = Duration::from_secs(cli.body_timeout_secs);
        let app = mcp_server::app_with_oauth(backend, &http_config, oauth)?;
        let listener = tokio::net::TcpListener::bind(cli.listen)
            .await
            .with_context(|| format!("cannot listen on {}", cli.listen))?;
        let addr = listener.local_addr()?;
        println!(
            "Posture Advisor MCP endpoint ({} data): http://{addr}/mcp",
            if cli.demo { "demo" } else { "AWS" }
        );
        posture_mcp::serve::serve(listener, app, cli.connection_limits(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    }
}
