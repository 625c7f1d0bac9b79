//! Inventory collection: read-only calls that fill `posture_core::inventory`.
//! Each section is collected on its own; a failure becomes that section's
//! gap (with the call that failed and why), and the rest stands.

pub mod config;
pub mod iam;
pub mod kms;

use posture_core::inventory::Gap;
use posture_core::ports::{SourceError, SourceErrorKind};

/// Awaits an SDK call; a failure returns early as the section's gap, naming
/// the action (`iam:ListUsers`) and why.
macro_rules! call {
    ($action:literal, $e:expr) => {
        $e.await
            .map_err(|e| $crate::collect::gap($action, $crate::errors::classify($action, &e)))?
    };
}
pub(crate) use call;

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
        SourceErrorKind::Authentication => "access_denied",
        SourceErrorKind::NotEnabled => "not_enabled",
        SourceErrorKind::Throttled => "throttled",
        SourceErrorKind::Unavailable => "unavailable",
        SourceErrorKind::Other => "error",
    };
    Gap {
        kind: kind.into(),
        detail: format!("{call}: {}", error.message),
    }
}

use async_trait::async_trait;
use posture_core::inventory::{Collected, Inventory, RegionInventory};
use posture_core::ports::InventorySource;

/// The gap of a section this build does not collect yet.
fn not_in_build(what: &str) -> Gap {
    Gap {
        kind: "not_collected".into(),
        detail: format!("{what} collection is not in this build yet"),
    }
}

/// Collects the inventory of the account the credentials belong to, live,
/// in the configured region (IAM, KMS and AWS Config today; the other
/// sections are gaps that say they are not collected yet).
pub struct LiveInventory {
    /// STS, for the account id.
    pub sts: aws_sdk_sts::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// KMS.
    pub kms: aws_sdk_kms::Client,
    /// AWS Config.
    pub config: aws_sdk_config::Client,
    /// The configured region.
    pub region: String,
}

#[async_trait]
impl InventorySource for LiveInventory {
    async fn inventories(&self) -> Result<Vec<Inventory>, SourceError> {
        let who = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| crate::errors::classify("STS", &e))?;
        let account_id = who.account().unwrap_or_default().to_string();
        let (iam, kms, config) = tokio::join!(
            iam::collect(&self.iam, &account_id),
            kms::collect(&self.kms),
            config::collect(&self.config)
        );
        let region = RegionInventory {
            ec2: Collected::Gap(not_in_build("EC2/VPC")),
            kms,
            config,
            services: Collected::Gap(not_in_build("service enablement")),
        };
        Ok(vec![Inventory {
            account_id,
            collected_at: jiff::Timestamp::now(),
            regions: vec![self.region.clone()],
            iam,
            s3: Collected::Gap(not_in_build("S3")),
            cloudtrail: Collected::Gap(not_in_build("CloudTrail")),
            region: [(self.region.clone(), region)].into(),
            ..Inventory::default()
        }])
    }
}
