//! What every function's `main` does first: logs set up one way (JSON on
//! stderr, `RUST_LOG` or the given default filter), and knowing whether it
//! runs inside Lambda.

/// Set by the Lambda runtime in every function instance.
pub const LAMBDA_RUNTIME_VAR: &str = "AWS_LAMBDA_RUNTIME_API";

/// Whether this process runs inside AWS Lambda.
pub fn in_lambda() -> bool {
    std::env::var_os(LAMBDA_RUNTIME_VAR).is_some()
}

/// Stderr, with every line masked by [`posture_core::secrets::mask`] (the
/// formatter hands each event over in one write).
struct MaskedStderr;

impl std::io::Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let masked = posture_core::secrets::mask(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(masked.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Installs the secrets of this process's environment for masking
/// ([`posture_core::secrets`]), then JSON logs on stderr, masked, filtered by
/// `RUST_LOG` or else `default_filter`.
pub fn init_tracing(default_filter: &str) {
    posture_core::secrets::install(posture_core::secrets::Secrets::from_vars(|k| std::env::var(k).ok()));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(|| MaskedStderr)
        .with_current_span(false)
        .init();
}

/// Set to `emf` to write CloudWatch EMF metric lines outside Lambda too.
pub const METRICS_VAR: &str = "POSTURE_METRICS";

/// Starts the process's metrics ([`posture_core::metrics`]) for `function`
/// (`mcp-server`, `assessor`, `collector`; in Lambda the `Function`
/// dimension is the deployed function's name, so that two stacks in one
/// account never mix, and the template's dashboard finds it). In
/// Lambda, or with `POSTURE_METRICS=emf`, every tool call, run and
/// collection (and the AWS calls made since the last line) is also written
/// as a CloudWatch Embedded Metric Format line on stderr, where Lambda
/// sends it to CloudWatch Logs and CloudWatch extracts the metrics.
pub fn init_metrics(function: &str) {
    let emit = in_lambda() || std::env::var(METRICS_VAR).is_ok_and(|v| v.trim().eq_ignore_ascii_case("emf"));
    let sink: Option<posture_core::metrics::Sink> = emit.then(|| {
        Box::new(|line: &str| {
            use std::io::Write;
            // One write per line, so lines never interleave with log lines.
            let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
        }) as posture_core::metrics::Sink
    });
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| function.to_string());
    posture_core::metrics::global().install(&function, jiff::Timestamp::now(), sink);
}
