//! What every function's `main` does first: logs set up one way (JSON on
//! stderr, `RUST_LOG` or the given default filter), and knowing whether it
//! runs inside Lambda.

/// Set by the Lambda runtime in every function instance.
pub const LAMBDA_RUNTIME_VAR: &str = "AWS_LAMBDA_RUNTIME_API";

/// Whether this process runs inside AWS Lambda.
pub fn in_lambda() -> bool {
    std::env::var_os(LAMBDA_RUNTIME_VAR).is_some()
}

/// JSON logs on stderr, filtered by `RUST_LOG` or else `default_filter`.
pub fn init_tracing(default_filter: &str) {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .init();
}
