//! The finding sources read in each account and Region, one kind per
//! service API, and the one place their clients are built.

use crate::{access_analyzer, breaker, config_rules, guardduty, inspector, macie, securityhub};

/// Implements `FindingSource` for a source that reads page by page into a
/// `Reading` (its `async fn read(&self, &FindingQuery, Reading) ->
/// Result<PagedRead, SourceError>`): a tool's read keeps the findings as a
/// list, a collection's spools them.
#[macro_export]
macro_rules! paged_finding_source {
    ($source:ty, $service:expr) => {
        #[async_trait::async_trait]
        impl posture_core::ports::FindingSource for $source {
            fn service(&self) -> &'static str {
                $service
            }

            async fn fetch(
                &self,
                query: &posture_core::sources::FindingQuery,
            ) -> Result<posture_core::sources::SourceBatch, posture_core::sources::SourceError> {
                self.read(query, posture_core::sources::Reading::default())
                    .await?
                    .batch(query, $service)
            }

            async fn fetch_spooled(
                &self,
                query: &posture_core::sources::FindingQuery,
            ) -> Result<
                posture_core::sources::SourceBatch<posture_core::findings::spool::FindingSpool>,
                posture_core::sources::SourceError,
            > {
                self.read(query, posture_core::sources::Reading::spooling())
                    .await?
                    .spooled(query, $service)
            }
        }
    };
}
use posture_core::ports::FindingSource;
use std::sync::Arc;

/// A finding source the product reads in each account and Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Security Hub `GetFindings` (every integrated product's copies).
    SecurityHub,
    /// GuardDuty's own API.
    GuardDuty,
    /// Inspector's own API.
    Inspector,
    /// Macie's own API.
    Macie,
    /// IAM Access Analyzer's own API.
    AccessAnalyzer,
    /// AWS Config rule evaluations.
    Config,
}

impl SourceKind {
    /// Every source: each service read directly too, so findings count where
    /// Security Hub is off (copies seen both ways are merged by their key).
    pub const ALL: [SourceKind; 6] = [
        SourceKind::SecurityHub,
        SourceKind::GuardDuty,
        SourceKind::Inspector,
        SourceKind::Macie,
        SourceKind::AccessAnalyzer,
        SourceKind::Config,
    ];

    /// Security Hub and GuardDuty alone: the two a run read before the
    /// direct sources (the findings benchmark's fake AWS serves these).
    pub const HUB_AND_GUARDDUTY: [SourceKind; 2] = [SourceKind::SecurityHub, SourceKind::GuardDuty];

    /// The source over `sdk` (an account's configuration in one Region),
    /// its calls through `breaker` when one is given.
    pub fn source(self, sdk: &aws_config::SdkConfig, breaker: Option<breaker::Guard>) -> Arc<dyn FindingSource> {
        match self {
            SourceKind::SecurityHub => Arc::new(securityhub::SecurityHubSource::new(crate::guarded_client!(
                aws_sdk_securityhub,
                sdk,
                crate::iam::READ_ONLY,
                breaker
            ))),
            SourceKind::GuardDuty => Arc::new(guardduty::GuardDutySource::new(crate::guarded_client!(
                aws_sdk_guardduty,
                sdk,
                crate::iam::READ_ONLY,
                breaker
            ))),
            SourceKind::Inspector => Arc::new(inspector::InspectorSource::new(crate::guarded_client!(
                aws_sdk_inspector2,
                sdk,
                crate::iam::READ_ONLY,
                breaker
            ))),
            SourceKind::Macie => Arc::new(macie::MacieSource::new(crate::guarded_client!(
                aws_sdk_macie2,
                sdk,
                crate::iam::READ_ONLY,
                breaker
            ))),
            SourceKind::AccessAnalyzer => Arc::new(access_analyzer::AccessAnalyzerSource::new(crate::guarded_client!(
                aws_sdk_accessanalyzer,
                sdk,
                crate::iam::READ_ONLY,
                breaker
            ))),
            SourceKind::Config => Arc::new(config_rules::ConfigRulesSource::new(crate::guarded_client!(
                aws_sdk_config,
                sdk,
                crate::iam::READ_ONLY,
                breaker
            ))),
        }
    }
}
