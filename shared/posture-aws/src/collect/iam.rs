//! IAM: credential report, account summary, password policy, users with
//! their policies and groups, attached managed policies with their documents,
//! AWSSupportAccess attachments, server certificates, whether the root
//! user's MFA device is a virtual one, and roles and groups with their trust
//! and inline policies.

use super::{call, collected};
use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::{EntityType, PolicyScopeType, ReportStateType, SummaryKeyType};
use posture_core::posture::inventory::{
    Collected, Gap, IamGroup, IamInventory, IamRole, IamUser, InlinePolicy, ManagedPolicy, PasswordPolicy,
    ServerCertificate, parse_credential_report,
};
use std::time::Duration;

const SUPPORT_POLICY: &str = "arn:aws:iam::aws:policy/AWSSupportAccess";

/// Collects the IAM section of `account_id`.
pub async fn collect(client: &Client, account_id: &str) -> Collected<IamInventory> {
    collected(collect_inner(client, account_id).await)
}

async fn credential_report(client: &Client) -> Result<String, Gap> {
    // AWS builds the report asynchronously; it is usually ready within seconds.
    for _ in 0..30 {
        let state = call!(
            "iam:GenerateCredentialReport",
            client.generate_credential_report().send()
        );
        if state.state() == Some(&ReportStateType::Complete) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let report = call!("iam:GetCredentialReport", client.get_credential_report().send());
    let bytes = report.content().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| Gap {
        kind: posture_core::posture::inventory::GapKind::Error,
        detail: "iam:GetCredentialReport: not UTF-8".into(),
    })
}

async fn collect_inner(client: &Client, account_id: &str) -> Result<IamInventory, Gap> {
    let report = credential_report(client).await?;
    let credential_report = parse_credential_report(&report).map_err(|e| Gap {
        kind: posture_core::posture::inventory::GapKind::Error,
        detail: format!("iam:GetCredentialReport: {e}"),
    })?;

    let summary = call!("iam:GetAccountSummary", client.get_account_summary().send());
    let value = |k: SummaryKeyType| summary.summary_map().and_then(|m| m.get(&k)).map(|v| *v == 1);

    let password_policy = match client.get_account_password_policy().send().await {
        Ok(out) => out.password_policy().map(|p| PasswordPolicy {
            minimum_password_length: p.minimum_password_length().and_then(|v| u32::try_from(v).ok()),
            password_reuse_prevention: p.password_reuse_prevention().and_then(|v| u32::try_from(v).ok()),
            require_symbols: p.require_symbols(),
            require_numbers: p.require_numbers(),
            require_uppercase_characters: p.require_uppercase_characters(),
            require_lowercase_characters: p.require_lowercase_characters(),
            max_password_age: p.max_password_age().and_then(|v| u32::try_from(v).ok()),
        }),
        // NoSuchEntity: no password policy is set.
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchEntity") => None,
        Err(e) => {
            return Err(super::gap(
                "iam:GetAccountPasswordPolicy",
                crate::errors::classify("IAM", &e),
            ));
        }
    };

    let mut users = Vec::new();
    let mut marker = None;
    loop {
        let page = call!("iam:ListUsers", client.list_users().set_marker(marker.take()).send());
        for u in page.users() {
            let name = u.user_name().to_string();
            let attached = call!(
                "iam:ListAttachedUserPolicies",
                client.list_attached_user_policies().user_name(&name).send()
            );
            let inline = call!(
                "iam:ListUserPolicies",
                client.list_user_policies().user_name(&name).send()
            );
            let groups = call!(
                "iam:ListGroupsForUser",
                client.list_groups_for_user().user_name(&name).send()
            );
            users.push(IamUser {
                inline_policies: Vec::new(),
                name,
                arn: u.arn().to_string(),
                attached_policy_arns: attached
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string))
                    .collect(),
                inline_policy_names: inline.policy_names().to_vec(),
                groups: groups.groups().iter().map(|g| g.group_name().to_string()).collect(),
            });
        }
        marker = page.marker().map(str::to_string).filter(|_| page.is_truncated());
        if marker.is_none() {
            break;
        }
    }

    let mut attached_policies = Vec::new();
    let mut marker = None;
    loop {
        let page = call!(
            "iam:ListPolicies",
            client
                .list_policies()
                .only_attached(true)
                .scope(PolicyScopeType::All)
                .set_marker(marker.take())
                .send()
        );
        for p in page.policies() {
            let (Some(arn), Some(version)) = (p.arn(), p.default_version_id()) else {
                continue;
            };
            let got = call!(
                "iam:GetPolicyVersion",
                client.get_policy_version().policy_arn(arn).version_id(version).send()
            );
            let raw = got.policy_version().and_then(|v| v.document()).unwrap_or("{}");
            attached_policies.push(ManagedPolicy {
                arn: arn.to_string(),
                name: p.policy_name().unwrap_or_default().to_string(),
                attachment_count: p.attachment_count().and_then(|c| u32::try_from(c).ok()).unwrap_or(0),
                document: policy_document(raw),
            });
        }
        marker = page.marker().map(str::to_string).filter(|_| page.is_truncated());
        if marker.is_none() {
            break;
        }
    }

    let entities = call!(
        "iam:ListEntitiesForPolicy",
        client.list_entities_for_policy().policy_arn(SUPPORT_POLICY).send()
    );
    let mut support_access_entities: Vec<String> = Vec::new();
    support_access_entities.extend(
        entities
            .policy_roles()
            .iter()
            .filter_map(|r| r.role_name())
            .map(|n| format!("arn:aws:iam::{account_id}:role/{n}")),
    );
    support_access_entities.extend(
        entities
            .policy_users()
            .iter()
            .filter_map(|u| u.user_name())
            .map(|n| format!("arn:aws:iam::{account_id}:user/{n}")),
    );
    support_access_entities.extend(
        entities
            .policy_groups()
            .iter()
            .filter_map(|g| g.group_name())
            .map(|n| format!("arn:aws:iam::{account_id}:group/{n}")),
    );

    let certs = call!("iam:ListServerCertificates", client.list_server_certificates().send());
    let server_certificates = certs
        .server_certificate_metadata_list()
        .iter()
        .map(|c| ServerCertificate {
            name: c.server_certificate_name().to_string(),
            arn: c.arn().to_string(),
            expiration: c.expiration().and_then(|t| jiff::Timestamp::from_second(t.secs()).ok()),
        })
        .collect();

    let (root_virtual_mfa, virtual_mfa_gap) = match root_virtual_mfa(client).await {
        Ok(assigned) => (Some(assigned), None),
        Err(gap) => (None, Some(gap)),
    };
    let (roles, groups, roles_gap) = match authorization_details(client).await {
        Ok(details) => {
            for user in &mut users {
                if let Some(policies) = details.user_inline.iter().find(|(name, _)| name == &user.name) {
                    user.inline_policies = policies.1.clone();
                }
            }
            (Some(details.roles), Some(details.groups), None)
        }
        Err(gap) => (None, None, Some(gap)),
    };
    Ok(IamInventory {
        root_virtual_mfa,
        virtual_mfa_gap,
        roles,
        groups,
        roles_gap,
        credential_report,
        root_mfa_enabled: value(SummaryKeyType::AccountMfaEnabled),
        root_access_keys_present: value(SummaryKeyType::AccountAccessKeysPresent),
        password_policy,
        users,
        attached_policies,
        support_access_entities,
        server_certificates,
    })
}

/// A policy document as IAM returns it (URL-encoded JSON), parsed.
fn policy_document(raw: &str) -> serde_json::Value {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    serde_json::from_str(&decoded).unwrap_or(serde_json::Value::Null)
}

fn inline(list: &[aws_sdk_iam::types::PolicyDetail]) -> Vec<InlinePolicy> {
    list.iter()
        .map(|p| InlinePolicy {
            name: p.policy_name().unwrap_or_default().to_string(),
            document: policy_document(p.policy_document().unwrap_or("{}")),
        })
        .collect()
}

fn attached(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<String> {
    list.iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect()
}

/// What `GetAccountAuthorizationDetails` gives beyond the other calls.
struct AuthorizationDetails {
    roles: Vec<IamRole>,
    groups: Vec<IamGroup>,
    /// Each user's inline policies with their documents.
    user_inline: Vec<(String, Vec<InlinePolicy>)>,
}

/// Every role and group with its policies, and users' inline policy
/// documents, in pages of `GetAccountAuthorizationDetails` (one call instead
/// of three per role); a failure is these fields' gap only.
async fn authorization_details(client: &Client) -> Result<AuthorizationDetails, Gap> {
    let (mut roles, mut groups, mut user_inline) = (Vec::new(), Vec::new(), Vec::new());
    let mut marker = None;
    loop {
        let page = call!(
            "iam:GetAccountAuthorizationDetails",
            client
                .get_account_authorization_details()
                .filter(EntityType::Role)
                .filter(EntityType::Group)
                .filter(EntityType::User)
                .set_marker(marker.take())
                .send()
        );
        roles.extend(page.role_detail_list().iter().map(|r| IamRole {
            name: r.role_name().unwrap_or_default().to_string(),
            arn: r.arn().unwrap_or_default().to_string(),
            trust_policy: policy_document(r.assume_role_policy_document().unwrap_or("{}")),
            attached_policy_arns: attached(r.attached_managed_policies()),
            inline_policies: inline(r.role_policy_list()),
        }));
        groups.extend(page.group_detail_list().iter().map(|g| IamGroup {
            name: g.group_name().unwrap_or_default().to_string(),
            arn: g.arn().unwrap_or_default().to_string(),
            attached_policy_arns: attached(g.attached_managed_policies()),
            inline_policies: inline(g.group_policy_list()),
        }));
        user_inline.extend(
            page.user_detail_list()
                .iter()
                .filter(|u| !u.user_policy_list().is_empty())
                .map(|u| {
                    (
                        u.user_name().unwrap_or_default().to_string(),
                        inline(u.user_policy_list()),
                    )
                }),
        );
        marker = page.marker().map(str::to_string).filter(|_| page.is_truncated());
        if marker.is_none() {
            return Ok(AuthorizationDetails {
                roles,
                groups,
                user_inline,
            });
        }
    }
}

/// Whether one of the account's assigned virtual MFA devices is the root
/// user's (its `User` is the root ARN); a failure is this field's gap only.
async fn root_virtual_mfa(client: &Client) -> Result<bool, Gap> {
    let mut marker = None;
    loop {
        let page = call!(
            "iam:ListVirtualMFADevices",
            client
                .list_virtual_mfa_devices()
                .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Assigned)
                .set_marker(marker.take())
                .send()
        );
        let root = page
            .virtual_mfa_devices()
            .iter()
            .any(|d| d.user().is_some_and(|u| u.arn().ends_with(":root")));
        if root {
            return Ok(true);
        }
        marker = page.marker().map(str::to_string).filter(|_| page.is_truncated());
        if marker.is_none() {
            return Ok(false);
        }
    }
}
