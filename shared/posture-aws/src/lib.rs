//! AWS adapters of Posture Advisor: SDK configuration (standard credential
//! chain and environment, `AWS_ENDPOINT_URL` included, so the same binary runs
//! against moto), client-side rate limits, SDK retries, error classification
//! and the implementations of the `posture-core` ports.
//!
//! This crate reads AWS and maps what it reads into `posture-core` types; it
//! makes no security judgement and never calls a mutating API.
#![deny(missing_docs)]

pub mod access;
pub mod access_analyzer;
pub mod breaker;
pub mod collect;
pub mod collector;
pub mod config;
pub mod config_history;
pub mod config_rules;
pub mod errors;
pub mod explorer;
pub mod fanout;
pub mod finding_sources;
pub mod guardduty;
pub mod health;
pub mod iam;
pub mod inspector;
pub mod macie;
pub mod org;
pub mod ratelimit;
pub mod runtime;
pub mod s3;
pub mod securityhub;
pub mod store;
pub mod trail_events;
pub mod transport;

pub use aws_sdk_lambda;
pub use config::AwsContext;

use posture_core::ports::{FindingSource, HealthProbe};
use std::sync::Arc;

impl AwsContext {
    /// The finding sources ([`finding_sources::SourceKind::ALL`]) over this configuration.
    pub fn finding_sources(&self) -> Vec<Arc<dyn FindingSource>> {
        finding_sources::SourceKind::ALL
            .iter()
            .map(|kind| kind.source(&self.sdk, self.breaker_guard()))
            .collect()
    }

    /// The breaker interceptor for this context's own account (its
    /// credentials: one account per context).
    fn breaker_guard(&self) -> Option<breaker::Guard> {
        self.breakers.as_ref().map(|b| b.guard("configured credentials"))
    }

    /// Live inventory collection over this configuration, in `regions`
    /// (`None`: the account's enabled regions).
    pub fn inventory_source(&self, regions: Option<Vec<String>>) -> Arc<dyn posture_core::ports::InventorySource> {
        Arc::new(collect::LiveInventory {
            sdk: self.sdk.clone(),
            regions,
            breakers: self.breakers.clone(),
        })
    }

    /// The dependency probe over this configuration.
    pub fn health_probe(&self) -> Arc<dyn HealthProbe> {
        Arc::new(health::AwsHealth {
            sts: crate::guarded_client!(aws_sdk_sts, &self.sdk, iam::READ_ONLY),
            securityhub: crate::guarded_client!(aws_sdk_securityhub, &self.sdk, iam::READ_ONLY),
            guardduty: crate::guarded_client!(aws_sdk_guardduty, &self.sdk, iam::READ_ONLY),
            region: self.region.clone(),
        })
    }
}
