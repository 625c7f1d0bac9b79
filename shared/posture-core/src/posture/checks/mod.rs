//! Native checks: metadata plus one pure function of an [`Inventory`],
//! registered in [`CHECKS`]. Each returns one [`Outcome`] per resource it
//! judges: Pass, Fail, Skip (not applicable) or Error (the data needed was not
//! collected, with the gap's reason). Time-dependent checks measure against
//! `inventory.collected_at`, so a verdict never changes on re-evaluation.

mod filter_pattern;
pub(crate) use filter_pattern::glob;
mod iam;
mod logging;
mod monitoring;
mod network;
mod policy;
mod storage;

use crate::posture::inventory::{Collected, Gap, Inventory, RegionInventory, Trail};
use crate::severity::Severity;
use serde::{Deserialize, Serialize};

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The resource complies.
    Pass,
    /// It does not.
    Fail,
    /// The check does not apply to it.
    Skip,
    /// The data to decide was not collected.
    Error,
}

/// One verdict on one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Outcome {
    /// The check.
    pub check_id: String,
    /// The resource, by id or name (`account 123456789012` for account-wide).
    pub resource: String,
    /// Region, for regional resources.
    pub region: Option<String>,
    /// Verdict.
    pub status: Status,
    /// Why, with the API fact behind it.
    pub reason: String,
}

/// How hard a fix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Complexity {
    /// A setting or one call.
    Low,
    /// Several calls, or a change people notice.
    Medium,
    /// A migration or a redesign.
    High,
}

impl Complexity {
    /// `LOW`, `MEDIUM` or `HIGH`, as reported.
    pub fn as_str(self) -> &'static str {
        match self {
            Complexity::Low => "LOW",
            Complexity::Medium => "MEDIUM",
            Complexity::High => "HIGH",
        }
    }
}

/// What fixing a check's failure takes: how hard, what it costs, the AWS
/// actions involved, and whether those calls are safe to automate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effort {
    /// How hard.
    pub complexity: Complexity,
    /// What it costs.
    pub cost: &'static str,
    /// The AWS API actions of the fix.
    pub actions: &'static [&'static str],
    /// Whether the fix is a call your automation could apply without risk
    /// to workloads (the product itself never applies anything).
    pub safe_to_automate: bool,
}

/// A native check.
pub struct Check {
    /// `iam.root_mfa`.
    pub id: &'static str,
    /// One line.
    pub title: &'static str,
    /// Severity of a failure.
    pub severity: Severity,
    /// AWS service.
    pub service: &'static str,
    /// Why it matters.
    pub rationale: &'static str,
    /// What to do, step by step.
    pub remediation: &'static [&'static str],
    /// AWS documentation.
    pub doc_url: &'static str,
    /// The Security Hub control it corresponds to.
    pub security_hub_control: Option<&'static str>,
    /// What fixing a failure takes.
    pub effort: Effort,
    /// The evaluation.
    pub evaluate: fn(&Inventory) -> Vec<Outcome>,
}

/// Every native check.
pub static CHECKS: &[Check] = &[
    iam::ROOT_NO_ACCESS_KEYS,
    iam::ROOT_MFA,
    iam::ROOT_HARDWARE_MFA,
    iam::PASSWORD_MIN_LENGTH,
    iam::PASSWORD_REUSE,
    iam::CONSOLE_USERS_MFA,
    iam::UNUSED_CREDENTIALS,
    iam::SINGLE_ACTIVE_KEY,
    iam::KEYS_ROTATED,
    iam::NO_USER_POLICIES,
    iam::NO_FULL_ADMIN,
    iam::SUPPORT_ROLE,
    iam::NO_EXPIRED_CERTIFICATES,
    iam::ACCESS_ANALYZER,
    iam::NO_CLOUDSHELL_FULL_ACCESS,
    iam::NO_INITIAL_ACCESS_KEYS,
    iam::UNUSED_CREDENTIALS_90D,
    iam::ALL_USERS_MFA,
    iam::STRONG_PASSWORD_POLICY,
    storage::S3_ACCESS_LOGGING,
    storage::S3_VERSIONING,
    storage::KMS_NOT_PENDING_DELETION,
    logging::CLOUDTRAIL_ENABLED,
    logging::CLOUDTRAIL_CLOUDWATCH_LOGS,
    logging::CLOUDTRAIL_BUCKET_NOT_PUBLIC,
    network::SG_SSH_FROM_ANYWHERE,
    network::SG_RDP_FROM_ANYWHERE,
    network::SG_HIGH_RISK_PORTS,
    network::NO_PUBLIC_IPV4,
    storage::RDS_MULTI_AZ,
    storage::RDS_ENHANCED_MONITORING,
    storage::RDS_DELETION_PROTECTION,
    storage::RDS_IAM_AUTHENTICATION,
    storage::RDS_BACKUPS,
    storage::RDS_COPY_TAGS,
    storage::RDS_NON_DEFAULT_PORT,
    storage::RDS_CUSTOM_ADMIN,
    storage::S3_TLS_ONLY,
    storage::S3_BUCKET_PUBLIC_ACCESS_BLOCK,
    storage::S3_ACCOUNT_PUBLIC_ACCESS_BLOCK,
    storage::S3_NOT_PUBLIC,
    storage::S3_MFA_DELETE,
    storage::EBS_DEFAULT_ENCRYPTION,
    logging::CLOUDTRAIL_MULTI_REGION,
    logging::CLOUDTRAIL_VALIDATION,
    logging::CONFIG_RECORDING,
    logging::CLOUDTRAIL_BUCKET_LOGGING,
    logging::CLOUDTRAIL_KMS,
    logging::KMS_ROTATION,
    logging::VPC_FLOW_LOGS,
    logging::S3_WRITE_DATA_EVENTS,
    logging::S3_READ_DATA_EVENTS,
    logging::SECURITY_HUB_ENABLED,
    logging::GUARDDUTY_ENABLED,
    network::NACL_ADMIN_PORTS,
    network::SG_ADMIN_PORTS_IPV4,
    network::SG_ADMIN_PORTS_IPV6,
    network::DEFAULT_SG_CLOSED,
    network::IMDSV2_REQUIRED,
    storage::RDS_ENCRYPTED,
    storage::RDS_AUTO_MINOR_UPGRADE,
    storage::RDS_NOT_PUBLIC,
    storage::EFS_ENCRYPTED,
    network::INSTANCE_ROLES,
    monitoring::UNAUTHORIZED_API_CALLS,
    monitoring::CONSOLE_SIGNIN_WITHOUT_MFA,
    monitoring::ROOT_USAGE,
    monitoring::IAM_POLICY_CHANGES,
    monitoring::CLOUDTRAIL_CHANGES,
    monitoring::CONSOLE_AUTH_FAILURES,
    monitoring::CMK_DISABLED_OR_DELETED,
    monitoring::S3_BUCKET_POLICY_CHANGES,
    monitoring::CONFIG_CHANGES,
    monitoring::SECURITY_GROUP_CHANGES,
    monitoring::NACL_CHANGES,
    monitoring::NETWORK_GATEWAY_CHANGES,
    monitoring::ROUTE_TABLE_CHANGES,
    monitoring::VPC_CHANGES,
    monitoring::ORGANIZATIONS_CHANGES,
];

/// The check with this id.
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// Runs every check.
pub fn evaluate_all(inventory: &Inventory) -> Vec<Outcome> {
    CHECKS.iter().flat_map(|c| (c.evaluate)(inventory)).collect()
}

/// Builds outcomes for one check.
pub(crate) struct Verdicts {
    check_id: &'static str,
    out: Vec<Outcome>,
}

impl Verdicts {
    pub(crate) fn new(check_id: &'static str) -> Verdicts {
        Verdicts {
            check_id,
            out: Vec::new(),
        }
    }

    pub(crate) fn add(
        &mut self,
        resource: impl Into<String>,
        region: Option<&str>,
        status: Status,
        reason: impl Into<String>,
    ) {
        self.out.push(Outcome {
            check_id: self.check_id.to_string(),
            resource: resource.into(),
            region: region.map(str::to_string),
            status,
            reason: reason.into(),
        });
    }

    pub(crate) fn pass_if(
        &mut self,
        ok: bool,
        resource: impl Into<String>,
        region: Option<&str>,
        pass: impl Into<String>,
        fail: impl Into<String>,
    ) {
        if ok {
            self.add(resource, region, Status::Pass, pass);
        } else {
            self.add(resource, region, Status::Fail, fail);
        }
    }

    /// The section's data, or (having recorded the gap) `None`.
    pub(crate) fn section<'a, T>(&mut self, inv: &Inventory, section: &'a Collected<T>, what: &str) -> Option<&'a T> {
        match section.get() {
            Ok(data) => Some(data),
            Err(gap) => {
                self.gap(account(inv), None, what, gap);
                None
            }
        }
    }

    /// The trails, judged one by one: with an error for each region whose
    /// listing failed (a single-region trail homed there is not in the list).
    pub(crate) fn trails_by_home_region<'a>(&mut self, inv: &'a Inventory) -> Option<&'a Vec<Trail>> {
        let trails = self.section(inv, &inv.cloudtrail, "CloudTrail trails")?;
        for (region, gap) in &inv.cloudtrail_region_gaps {
            self.gap(account(inv), Some(region), "CloudTrail trails homed in the region", gap);
        }
        Some(trails)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub(crate) fn gap(&mut self, resource: impl Into<String>, region: Option<&str>, what: &str, gap: &Gap) {
        self.add(
            resource,
            region,
            Status::Error,
            format!("{what} not collected ({}: {})", gap.kind, gap.detail),
        );
    }

    pub(crate) fn done(self) -> Vec<Outcome> {
        self.out
    }

    /// Like `done`, but says so when there was nothing to judge, so "checked,
    /// none exist" is distinguishable from "did not run".
    pub(crate) fn done_or_none(mut self, resource: impl Into<String>, nothing: &str) -> Vec<Outcome> {
        if self.out.is_empty() {
            self.add(resource, None, Status::Skip, nothing);
        }
        self.out
    }
}

/// `account 123456789012`.
pub(crate) fn account(inv: &Inventory) -> String {
    format!("account {}", inv.account_id)
}

/// Each collected region's section, or its gap.
pub(crate) fn regions<'a, T: 'a>(
    inv: &'a Inventory,
    pick: impl Fn(&'a RegionInventory) -> &'a Collected<T>,
) -> impl Iterator<Item = (&'a str, Result<&'a T, &'a Gap>)> {
    inv.region.iter().map(move |(name, r)| (name.as_str(), pick(r).get()))
}

#[cfg(test)]
mod tests;
