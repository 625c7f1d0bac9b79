//! `get_account_info` and `validate_member_access`: who the server is, and
//! whether it can enter and read each member (the onboarding check after
//! deploying the member StackSet).

use super::args::NoArgs;
use super::call::{Cx, ToolOutput};
use crate::error::ToolError;
use futures::StreamExt;
use posture_core::access::{AccessProbe, CallerIdentity, MemberAccess};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Tool name.
pub const GET_ACCOUNT_INFO: &str = "get_account_info";
/// Tool name.
pub const VALIDATE_MEMBER_ACCESS: &str = "validate_member_access";

/// Members checked at once.
const CONCURRENT_CHECKS: usize = 8;

/// The answer of `get_account_info`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AccountInfo {
    /// demo or aws.
    pub data_source: String,
    /// The server's Region.
    pub aws_region: String,
    /// Who the server is and its organization.
    pub identity: CallerIdentity,
}

fn probe(cx: &Cx<'_>) -> Result<Arc<dyn AccessProbe>, ToolError> {
    cx.backend
        .access
        .clone()
        .ok_or_else(|| ToolError::service("this server has no access probe configured"))
}

fn source_error(e: posture_core::sources::SourceError) -> ToolError {
    let mut error = ToolError::service(e.to_string());
    if e.kind == posture_core::sources::SourceErrorKind::Authentication {
        error.error_type = crate::error::ErrorType::AuthenticationError;
    }
    error
}

/// Who the server is in AWS.
pub async fn get_account_info(cx: &Cx<'_>, _args: NoArgs) -> Result<ToolOutput, ToolError> {
    let identity = probe(cx)?.identity().await.map_err(source_error)?;
    let info = AccountInfo {
        data_source: cx.backend.mode.name().to_string(),
        aws_region: cx.backend.health.region(),
        identity,
    };
    let org = info.identity.organization.as_ref().map_or_else(
        || {
            format!(
                "organization not read: {}",
                info.identity.organization_error.as_deref().unwrap_or("-")
            )
        },
        |o| format!("organization {} (management account {})", o.id, o.management_account_id),
    );
    let text = format!("account {} as {}; {org}", info.identity.account_id, info.identity.arn);
    ToolOutput::new(&info, text)
}

/// Arguments of `validate_member_access`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateAccessArgs {
    /// 12-digit member account ids; omitted or ["all"]: every active account of the organization
    #[serde(default)]
    #[schemars(length(min = 1, max = 1000))]
    pub account_ids: Option<Vec<String>>,
}

/// The answer of `validate_member_access`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AccessReport {
    /// Accounts checked.
    pub accounts_checked: usize,
    /// Entered, and nothing refused for want of a permission.
    pub ready: usize,
    /// The role could not be entered (refused, missing, wrong ExternalId).
    pub not_entered: usize,
    /// Entered, but some read was refused.
    pub missing_permissions: usize,
    /// One per account, in account order.
    pub results: Vec<MemberAccess>,
}

/// Enters each member and reads a little of every section.
pub async fn validate_member_access(cx: &Cx<'_>, args: ValidateAccessArgs) -> Result<ToolOutput, ToolError> {
    let probe = probe(cx)?;
    let accounts = match args.account_ids.as_deref() {
        None => probe.member_accounts().await.map_err(source_error)?,
        Some([all]) if all == "all" => probe.member_accounts().await.map_err(source_error)?,
        Some(list) => super::explore::account_list(list)?,
    };
    let mut results: Vec<MemberAccess> = futures::stream::iter(accounts)
        .map(|account| {
            let probe = probe.clone();
            async move { probe.validate(&account).await }
        })
        .buffer_unordered(CONCURRENT_CHECKS)
        .collect()
        .await;
    results.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let report = AccessReport {
        accounts_checked: results.len(),
        ready: results.iter().filter(|r| r.ready).count(),
        not_entered: results.iter().filter(|r| !r.assume_role.ok).count(),
        missing_permissions: results.iter().filter(|r| r.assume_role.ok && !r.ready).count(),
        results,
    };
    let text = std::iter::once(format!(
        "{} checked: {} ready, {} not entered, {} missing permissions",
        report.accounts_checked, report.ready, report.not_entered, report.missing_permissions
    ))
    .chain(report.results.iter().filter(|r| !r.ready).map(|r| {
        if r.assume_role.ok {
            format!("{}: missing {}", r.account_id, r.missing_permissions.join(", "))
        } else {
            format!("{}: {}", r.account_id, r.assume_role.detail)
        }
    }))
    .collect::<Vec<_>>()
    .join("\n");
    ToolOutput::new(&report, text)
}
