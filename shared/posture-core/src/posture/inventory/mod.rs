//! What an account looks like, as read-only APIs report it: the input of the
//! native checks. Collection (posture-aws) produces an `Inventory`;
//! evaluation (`crate::posture::checks`) is a pure function of it.
//!
//! Every section is [`Collected`]: either the data, or the gap that kept it
//! from being read (access denied, not enabled, throttled), so a check can
//! tell "no resource" from "could not look". Stored inventories carry
//! `schema_version`; readers accept the current and the previous version.

mod credential_report;
mod types;

pub use credential_report::{CredentialReportError, parse as parse_credential_report};

pub use types::*;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the stored inventory format.
pub const INVENTORY_SCHEMA_VERSION: u32 = 1;

/// What kind of failure left a section unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// The role may not read it.
    AccessDenied,
    /// The service is off in the account or region.
    NotEnabled,
    /// AWS throttled the reads past the retries.
    Throttled,
    /// The service did not answer.
    Unavailable,
    /// The section was not part of this collection.
    NotCollected,
    /// Anything else (a malformed answer, an unexpected error).
    Error,
}

impl std::fmt::Display for GapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GapKind::AccessDenied => "access_denied",
            GapKind::NotEnabled => "not_enabled",
            GapKind::Throttled => "throttled",
            GapKind::Unavailable => "unavailable",
            GapKind::NotCollected => "not_collected",
            GapKind::Error => "error",
        })
    }
}

/// Why a section could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Gap {
    /// What kind of failure.
    pub kind: GapKind,
    /// What happened, sanitized.
    pub detail: String,
}

impl Gap {
    /// The section was not part of this collection.
    pub fn not_collected() -> Gap {
        Gap {
            kind: GapKind::NotCollected,
            detail: "not collected".into(),
        }
    }
}

/// A section of the inventory: read, or why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collected<T> {
    /// The data.
    Collected(T),
    /// Why it is missing.
    Gap(Gap),
}

impl<T> Default for Collected<T> {
    fn default() -> Self {
        Collected::Gap(Gap::not_collected())
    }
}

impl<T> Collected<T> {
    /// The data, or the gap.
    pub fn get(&self) -> Result<&T, &Gap> {
        match self {
            Collected::Collected(t) => Ok(t),
            Collected::Gap(g) => Err(g),
        }
    }
}

/// One account's inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Inventory {
    /// Format version.
    pub schema_version: u32,
    /// The account.
    pub account_id: String,
    /// When collection finished.
    pub collected_at: Timestamp,
    /// Regions collected.
    pub regions: Vec<String>,
    /// IAM (global).
    pub iam: Collected<IamInventory>,
    /// S3 (global listing; each bucket carries its region).
    pub s3: Collected<S3Inventory>,
    /// CloudTrail trails visible from any region, de-duplicated by ARN (a
    /// gap only when no region could be listed).
    pub cloudtrail: Collected<Vec<Trail>>,
    /// Regions whose trails could not be listed, with why: a trail homed
    /// there that is not multi-region is missing from `cloudtrail`.
    pub cloudtrail_region_gaps: BTreeMap<String, Gap>,
    /// Per region.
    pub region: BTreeMap<String, RegionInventory>,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory {
            schema_version: INVENTORY_SCHEMA_VERSION,
            account_id: String::new(),
            collected_at: Timestamp::UNIX_EPOCH,
            regions: Vec::new(),
            iam: Collected::default(),
            s3: Collected::default(),
            cloudtrail: Collected::default(),
            cloudtrail_region_gaps: BTreeMap::new(),
            region: BTreeMap::new(),
        }
    }
}

/// What one region holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegionInventory {
    /// EC2 and VPC.
    pub ec2: Collected<Ec2Region>,
    /// KMS keys.
    pub kms: Collected<Vec<KmsKey>>,
    /// AWS Config.
    pub config: Collected<ConfigRegion>,
    /// Which security services are on.
    pub services: Collected<ServiceEnablement>,
    /// RDS DB instances.
    pub rds: Collected<Vec<DbInstance>>,
    /// EFS file systems.
    pub efs: Collected<Vec<FileSystem>>,
    /// Security Hub standards enabled (empty when Security Hub is off).
    pub securityhub_standards: Collected<Vec<EnabledStandard>>,
    /// Metric filters, alarms and SNS topics.
    pub monitoring: Collected<MonitoringRegion>,
}

/// Why an inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// Not JSON of the inventory shape.
    #[error("inventory is malformed: {0}")]
    Malformed(String),
    /// A version this build does not read.
    #[error("inventory schema_version {found} is not supported (this build reads {min} to {max})")]
    UnsupportedVersion {
        /// The version found.
        found: u32,
        /// Oldest readable.
        min: u32,
        /// Newest readable.
        max: u32,
    },
}

impl Inventory {
    /// The gap of every section that has one, named `iam`, `s3`,
    /// `cloudtrail`, then `<region> <section>`. The inventory is taken apart
    /// field by field, so a section added to it cannot be left out here.
    pub fn section_gaps(&self) -> Vec<(String, &Gap)> {
        fn note<'a, T>(out: &mut Vec<(String, &'a Gap)>, section: String, c: &'a Collected<T>) {
            if let Collected::Gap(g) = c {
                out.push((section, g));
            }
        }
        let Inventory {
            schema_version: _,
            account_id: _,
            collected_at: _,
            regions: _,
            iam,
            s3,
            cloudtrail,
            cloudtrail_region_gaps,
            region,
        } = self;
        let mut out = Vec::new();
        note(&mut out, "iam".into(), iam);
        note(&mut out, "s3".into(), s3);
        note(&mut out, "cloudtrail".into(), cloudtrail);
        for (name, gap) in cloudtrail_region_gaps {
            out.push((format!("{name} cloudtrail"), gap));
        }
        if let Collected::Collected(trails) = cloudtrail {
            for t in trails {
                for (what, gap) in &t.gaps {
                    out.push((format!("cloudtrail {} {what}", t.name), gap));
                }
            }
        }
        for (name, r) in region {
            let RegionInventory {
                ec2,
                kms,
                config,
                services,
                rds,
                efs,
                securityhub_standards,
                monitoring,
            } = r;
            note(&mut out, format!("{name} ec2"), ec2);
            note(&mut out, format!("{name} kms"), kms);
            note(&mut out, format!("{name} config"), config);
            note(&mut out, format!("{name} services"), services);
            note(&mut out, format!("{name} rds"), rds);
            note(&mut out, format!("{name} efs"), efs);
            note(&mut out, format!("{name} securityhub_standards"), securityhub_standards);
            note(&mut out, format!("{name} monitoring"), monitoring);
        }
        out
    }

    /// Reads a stored inventory, accepting the current and previous version.
    pub fn from_json(text: &str) -> Result<Inventory, InventoryError> {
        let inventory: Inventory = serde_json::from_str(text).map_err(|e| InventoryError::Malformed(e.to_string()))?;
        let min = INVENTORY_SCHEMA_VERSION.saturating_sub(1).max(1);
        if inventory.schema_version < min || inventory.schema_version > INVENTORY_SCHEMA_VERSION {
            return Err(InventoryError::UnsupportedVersion {
                found: inventory.schema_version,
                min,
                max: INVENTORY_SCHEMA_VERSION,
            });
        }
        Ok(inventory)
    }
}
