//! Inventory collection: read-only calls that fill `posture_core::posture::inventory`.
//! Each section is collected on its own; a failure becomes that section's
//! gap (with the call that failed and why), and the rest stands.

pub mod cloudtrail;
pub mod config;
pub mod ec2;
pub mod efs;
pub mod iam;
pub mod kms;
pub mod monitoring;
pub mod rds;
pub mod s3;
pub mod services;

use posture_core::posture::inventory::{Gap, GapKind};
use posture_core::sources::{SourceError, SourceErrorKind};

/// Awaits an SDK call; a failure returns early as the section's gap, naming
/// the action (`iam:ListUsers`) and why.
macro_rules! call {
    ($action:literal, $e:expr) => {
        $e.await
            .map_err(|e| $crate::collect::gap($action, $crate::errors::classify($action, &e)))?
    };
}
pub(crate) use call;

/// Like `call!`, but the listed service error codes mean "not configured"
/// and give `None` (e.g. `NoSuchBucketPolicy`: the bucket has no policy).
macro_rules! optional {
    ($action:literal, [$($code:literal),+], $e:expr) => {
        match $e.await {
            Ok(out) => Some(out),
            Err(e) if matches!(
                e.as_service_error().and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code),
                Some($($code)|+)
            ) => None,
            Err(e) => return Err($crate::collect::gap($action, $crate::errors::classify($action, &e))),
        }
    };
}
pub(crate) use optional;

/// A section: its data, or the gap that stopped it.
pub(crate) fn collected<T>(result: Result<T, Gap>) -> Collected<T> {
    match result {
        Ok(data) => Collected::Collected(data),
        Err(g) => Collected::Gap(g),
    }
}

/// A classified SDK failure as an inventory gap.
pub fn gap(call: &str, error: SourceError) -> Gap {
    let kind = match error.kind {
        SourceErrorKind::Authentication => GapKind::AccessDenied,
        SourceErrorKind::NotEnabled => GapKind::NotEnabled,
        SourceErrorKind::Throttled => GapKind::Throttled,
        SourceErrorKind::Unavailable => GapKind::Unavailable,
        SourceErrorKind::Other => GapKind::Error,
    };
    Gap {
        kind,
        detail: format!("{call}: {}", error.message),
    }
}

use crate::iam::READ_ONLY;
use async_trait::async_trait;
use aws_config::SdkConfig;
use futures::StreamExt;
use posture_core::ports::InventorySource;
use posture_core::posture::inventory::{Collected, Inventory, RegionInventory};

/// Regions collected at once.
const REGION_CONCURRENCY: usize = 4;

/// Collects the inventory of the account the credentials belong to, live:
/// IAM, S3 and CloudTrail once, and EC2/VPC, KMS, AWS Config, RDS, EFS,
/// CloudWatch monitoring and service enablement in every region asked for (by default the account's enabled
/// regions, from `ec2:DescribeRegions`), a few regions at a time.
pub struct LiveInventory {
    /// The configuration every client is built from.
    pub sdk: SdkConfig,
    /// Regions to collect; `None`: the account's enabled regions.
    pub regions: Option<Vec<String>>,
    /// Circuit breakers of the regional calls (none: every call goes out).
    pub breakers: Option<std::sync::Arc<crate::breaker::Breakers>>,
}

impl LiveInventory {
    fn in_region(&self, region: &str) -> SdkConfig {
        self.sdk
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build()
    }

    async fn region(&self, account_id: &str, region: String) -> (String, RegionInventory) {
        let sdk = self.in_region(&region);
        let services = services::ServiceClients::new(&sdk);
        let guard = || self.breakers.as_ref().map(|b| b.guard(account_id));
        let (ec2, kms, config, rds, efs) = (
            crate::guarded_client!(aws_sdk_ec2, &sdk, READ_ONLY, guard()),
            crate::guarded_client!(aws_sdk_kms, &sdk, READ_ONLY, guard()),
            crate::guarded_client!(aws_sdk_config, &sdk, READ_ONLY, guard()),
            crate::guarded_client!(aws_sdk_rds, &sdk, READ_ONLY, guard()),
            crate::guarded_client!(aws_sdk_efs, &sdk, READ_ONLY, guard()),
        );
        let watch = monitoring::MonitoringClients {
            logs: crate::guarded_client!(aws_sdk_cloudwatchlogs, &sdk, READ_ONLY, guard()),
            cloudwatch: crate::guarded_client!(aws_sdk_cloudwatch, &sdk, READ_ONLY, guard()),
            sns: crate::guarded_client!(aws_sdk_sns, &sdk, READ_ONLY, guard()),
        };
        let (ec2, kms, config, enablement, securityhub_standards, rds, efs, monitoring) = tokio::join!(
            ec2::collect(&ec2),
            kms::collect(&kms),
            config::collect(&config),
            services::collect(&services),
            services::securityhub_standards(&services),
            rds::collect(&rds),
            efs::collect(&efs),
            monitoring::collect(&watch, &region)
        );
        (
            region,
            RegionInventory {
                ec2,
                kms,
                config,
                services: enablement,
                rds,
                efs,
                securityhub_standards,
                monitoring,
            },
        )
    }
}

/// The account `sdk`'s credentials belong to (STS GetCallerIdentity).
pub async fn caller_account(sdk: &SdkConfig) -> Result<String, SourceError> {
    let who = crate::guarded_client!(aws_sdk_sts, sdk, READ_ONLY)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| crate::errors::classify("STS", &e))?;
    Ok(who.account().unwrap_or_default().to_string())
}

#[async_trait]
impl InventorySource for LiveInventory {
    async fn inventories(&self) -> Result<Vec<Inventory>, SourceError> {
        let account_id = caller_account(&self.sdk).await?;
        let regions = match &self.regions {
            Some(r) => r.clone(),
            None => ec2::enabled_regions(&crate::guarded_client!(aws_sdk_ec2, &self.sdk, READ_ONLY)).await?,
        };
        let s3 = s3::S3Collector::new(&self.sdk);
        let iam = crate::guarded_client!(aws_sdk_iam, &self.sdk, READ_ONLY);
        let (iam, s3, (cloudtrail, cloudtrail_region_gaps), region) = tokio::join!(
            iam::collect(&iam, &account_id),
            s3.collect(&account_id),
            cloudtrail::collect(&self.sdk, &regions),
            futures::stream::iter(regions.clone())
                .map(|r| self.region(&account_id, r))
                .buffer_unordered(REGION_CONCURRENCY)
                .collect::<std::collections::BTreeMap<_, _>>()
        );
        Ok(vec![Inventory {
            account_id,
            collected_at: jiff::Timestamp::now(),
            regions,
            iam,
            s3,
            cloudtrail,
            cloudtrail_region_gaps,
            region,
            ..Inventory::default()
        }])
    }
}
