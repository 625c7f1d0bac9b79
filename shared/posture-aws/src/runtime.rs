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
