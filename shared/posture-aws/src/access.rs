//! The server's identity and the onboarding check of members: the member
//! role entered with its ExternalId (and the explorer role, when there is
//! one), then one dry read of every inventory section and finding source in
//! one Region, refusals turned into the IAM actions they name.

use crate::collector::RoleSettings;
use aws_config::SdkConfig;
use posture_core::access::{AccessProbe, CallerIdentity, MemberAccess, OrganizationInfo, SectionProblem, Step};
use posture_core::ports::InventorySource;
use posture_core::posture::inventory::GapKind;
use posture_core::sources::{SourceError, SourceErrorKind};

/// Session name of onboarding checks (CloudTrail shows `posture-validate`).
const VALIDATE_SESSION: &str = "validate";

/// The access probe over AWS.
pub struct AwsAccessProbe {
    /// The server's configuration.
    pub base: SdkConfig,
    /// The member (collection) role.
    pub roles: RoleSettings,
    /// The explorer role's name or ARN, when `aws_read` is on.
    pub explorer_role: Option<String>,
}

#[async_trait::async_trait]
impl AccessProbe for AwsAccessProbe {
    async fn identity(&self) -> Result<CallerIdentity, SourceError> {
        let who = crate::guarded_client!(aws_sdk_sts, &self.base, crate::iam::READ_ONLY)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| crate::errors::classify("STS", &e))?;
        // The root's ARN names the organization and its management account.
        let roots = crate::guarded_client!(aws_sdk_organizations, &self.base, crate::iam::DIRECTORY)
            .list_roots()
            .send()
            .await;
        let (organization, organization_error) = match roots {
            Ok(out) => match out
                .roots()
                .first()
                .and_then(|r| r.arn())
                .and_then(OrganizationInfo::from_root_arn)
            {
                Some(org) => (Some(org), None),
                None => (None, Some("Organizations answered without a root".to_string())),
            },
            Err(e) => (None, Some(crate::errors::classify("Organizations", &e).message)),
        };
        Ok(CallerIdentity {
            account_id: who.account().unwrap_or_default().to_string(),
            arn: who.arn().unwrap_or_default().to_string(),
            organization,
            organization_error,
        })
    }

    async fn member_accounts(&self) -> Result<Vec<String>, SourceError> {
        crate::org::directory::OrganizationsDirectory {
            client: crate::guarded_client!(aws_sdk_organizations, &self.base, crate::iam::DIRECTORY),
        }
        .active_account_ids()
        .await
        .map_err(|e| SourceError {
            kind: SourceErrorKind::Other,
            service: "Organizations".into(),
            message: e.to_string(),
        })
    }

    async fn validate(&self, account_id: &str) -> MemberAccess {
        let region = self
            .roles
            .regions
            .as_ref()
            .and_then(|r| r.first().cloned())
            .or_else(|| self.base.region().map(|r| r.to_string()))
            .unwrap_or_else(|| "us-east-1".into());
        let role_arn = self.roles.role_arn(account_id);
        let explorer_role = match &self.explorer_role {
            Some(role) => {
                let roles = RoleSettings {
                    role: role.clone(),
                    ..self.roles.clone()
                };
                Some(
                    match crate::collector::enter_account(&self.base, &roles, VALIDATE_SESSION, account_id).await {
                        Ok(_) => Step {
                            ok: true,
                            detail: format!("entered {}", roles.role_arn(account_id)),
                        },
                        Err(e) => Step {
                            ok: false,
                            detail: e.to_string(),
                        },
                    },
                )
            }
            None => None,
        };
        let sdk = match crate::collector::enter_account(&self.base, &self.roles, VALIDATE_SESSION, account_id).await {
            Ok(sdk) => sdk,
            Err(e) => {
                return MemberAccess {
                    account_id: account_id.into(),
                    role_arn,
                    assume_role: Step {
                        ok: false,
                        detail: e.to_string(),
                    },
                    explorer_role,
                    region,
                    problems: Vec::new(),
                    missing_permissions: Vec::new(),
                    ready: false,
                };
            }
        };
        let live = crate::collect::LiveInventory {
            sdk: sdk.clone(),
            regions: Some(vec![region.clone()]),
            breakers: None,
        };
        // One finding a source is enough to know it answers.
        let (inventories, findings) = tokio::join!(
            live.inventories(),
            crate::collector::collect_findings(
                &sdk,
                std::slice::from_ref(&region),
                &crate::finding_sources::SourceKind::ALL,
                jiff::Timestamp::now(),
                1,
            )
        );
        let mut problems = Vec::new();
        let mut denied = false;
        match inventories {
            Ok(inventories) => {
                for inventory in &inventories {
                    for (section, gap) in inventory.section_gaps() {
                        denied |= gap.kind == GapKind::AccessDenied;
                        problems.push(SectionProblem {
                            section,
                            kind: format!("{:?}", gap.kind),
                            detail: gap.detail.clone(),
                        });
                    }
                }
            }
            Err(e) => {
                denied |= e.kind == SourceErrorKind::Authentication;
                problems.push(SectionProblem {
                    section: "inventory".into(),
                    kind: source_kind(e.kind).into(),
                    detail: e.message,
                });
            }
        }
        for gap in findings.gaps {
            // A read cut at the one finding asked for is not a problem.
            let Some(kind) = gap.error else { continue };
            denied |= kind == SourceErrorKind::Authentication;
            problems.push(SectionProblem {
                section: format!("{} {}", gap.region, gap.service),
                kind: source_kind(kind).into(),
                detail: gap.detail,
            });
        }
        let missing_permissions = posture_core::access::refused_actions(problems.iter().map(|p| p.detail.as_str()));
        MemberAccess {
            account_id: account_id.into(),
            role_arn,
            assume_role: Step {
                ok: true,
                detail: "entered".into(),
            },
            explorer_role,
            region,
            problems,
            missing_permissions,
            ready: !denied,
        }
    }
}

fn source_kind(kind: SourceErrorKind) -> &'static str {
    match kind {
        SourceErrorKind::Authentication => "AccessDenied",
        SourceErrorKind::NotEnabled => "NotEnabled",
        SourceErrorKind::Throttled => "Throttled",
        SourceErrorKind::Unavailable => "Unavailable",
        SourceErrorKind::Other => "Error",
    }
}
