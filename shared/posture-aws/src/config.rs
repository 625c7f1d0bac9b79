//! SDK configuration shared by every client.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// The profile variable of seed 000, honoured before `AWS_PROFILE`.
pub const PROFILE_VARIABLE: &str = "AWS_SECURITY_ADVISOR_PROFILE_NAME";

/// Standard retries: exponential backoff with jitter, 4 attempts. (The SDK's
/// adaptive mode was tried: its process-wide limiter, cut by three early
/// throttles, stretched the throttling test from 1.6 s to 98 s.)
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(200))
}

/// Clients built once per process (a Lambda cold start) and shared.
#[derive(Clone)]
pub struct AwsContext {
    /// The loaded configuration.
    pub sdk: SdkConfig,
    /// The region in use.
    pub region: String,
    /// Circuit breakers of the clients built from this context (none:
    /// every call goes out).
    pub breakers: Option<std::sync::Arc<crate::breaker::Breakers>>,
}

impl AwsContext {
    /// The same context, its clients behind `breakers`.
    pub fn with_breakers(mut self, breakers: std::sync::Arc<crate::breaker::Breakers>) -> AwsContext {
        self.breakers = Some(breakers);
        self
    }

    /// Loads the standard configuration: default credential chain, standard
    /// environment variables (`AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_<SERVICE>`, ...), the profile named by
    /// `AWS_SECURITY_ADVISOR_PROFILE_NAME` when set, [`retry_config`], and
    /// the quota buckets of the process's own account.
    pub async fn load() -> AwsContext {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry_config())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Ok(profile) = std::env::var(PROFILE_VARIABLE)
            && !profile.trim().is_empty()
        {
            loader = loader.profile_name(profile.trim());
        }
        // The process's own account: its calls share one set of quota buckets.
        let sdk = crate::transport::for_account(&loader.load().await, crate::transport::OWN_ACCOUNT);
        let region = sdk.region().map(ToString::to_string).unwrap_or_default();
        AwsContext {
            sdk,
            region,
            breakers: None,
        }
    }
}
