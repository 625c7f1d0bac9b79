//! Who the server is in AWS and whether it can read each member: the
//! onboarding check an operator runs after deploying the member StackSet.

use crate::sources::SourceError;
use serde::Serialize;

/// The server's own identity and organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CallerIdentity {
    /// The account the server's credentials belong to.
    pub account_id: String,
    /// The principal (role session ARN in Lambda).
    pub arn: String,
    /// The organization, when the account may list it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationInfo>,
    /// Why the organization could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_error: Option<String>,
}

/// The organization as its root names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OrganizationInfo {
    /// `o-...`.
    pub id: String,
    /// The management account.
    pub management_account_id: String,
    /// `r-...`.
    pub root_id: String,
}

impl OrganizationInfo {
    /// From a root's ARN, `arn:aws:organizations::<management>:root/<o-id>/<r-id>`.
    pub fn from_root_arn(arn: &str) -> Option<OrganizationInfo> {
        let mut parts = arn.split(':');
        let management = parts.nth(4)?;
        let resource = parts.next()?;
        let mut ids = resource.strip_prefix("root/")?.split('/');
        let (id, root) = (ids.next()?, ids.next()?);
        (id.starts_with("o-") && root.starts_with("r-") && management.len() == 12).then(|| OrganizationInfo {
            id: id.to_string(),
            management_account_id: management.to_string(),
            root_id: root.to_string(),
        })
    }
}

/// One step of entering or reading a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Step {
    /// True when it worked.
    pub ok: bool,
    /// What happened (the refusal, the gap).
    pub detail: String,
}

/// One part of the collection that could not be read in a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SectionProblem {
    /// `iam`, `s3`, `us-east-1 ec2`, `us-east-1 Security Hub`, ...
    pub section: String,
    /// AccessDenied, NotEnabled, Throttled, Unavailable, Error.
    pub kind: String,
    /// What AWS said (sanitized).
    pub detail: String,
}

/// Whether the server can read one member account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MemberAccess {
    /// The member.
    pub account_id: String,
    /// The collection role entered (with the ExternalId).
    pub role_arn: String,
    /// sts:AssumeRole into the collection role.
    pub assume_role: Step,
    /// The explorer role, when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explorer_role: Option<Step>,
    /// The Region the dry read ran in.
    pub region: String,
    /// Sections and finding sources that could not be read.
    pub problems: Vec<SectionProblem>,
    /// IAM actions AWS named in its refusals.
    pub missing_permissions: Vec<String>,
    /// Entered, and nothing refused for want of a permission (a service
    /// that is off is not the role's fault).
    pub ready: bool,
}

/// The IAM actions named by AWS refusals (`... not authorized to perform:
/// iam:ListUsers on resource ...`), in order, once each.
pub fn refused_actions<'a>(details: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for detail in details {
        let mut rest = detail;
        while let Some(at) = rest.find("perform: ") {
            rest = &rest[at + "perform: ".len()..];
            let action: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == ':' || *c == '-')
                .collect();
            if action.contains(':') && !out.contains(&action) {
                out.push(action);
            }
        }
    }
    out
}

/// Checks the server's access (AWS, or the demo's organization).
#[async_trait::async_trait]
pub trait AccessProbe: Send + Sync {
    /// Who the server is.
    async fn identity(&self) -> Result<CallerIdentity, SourceError>;
    /// The organization's active accounts.
    async fn member_accounts(&self) -> Result<Vec<String>, SourceError>;
    /// Enters `account_id` and reads a little of every section.
    async fn validate(&self, account_id: &str) -> MemberAccess;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_from_root_arns() {
        let o =
            OrganizationInfo::from_root_arn("arn:aws:organizations::111111111111:root/o-exampleorgid/r-examplerootid")
                .unwrap();
        assert_eq!(
            (o.id.as_str(), o.management_account_id.as_str(), o.root_id.as_str()),
            ("o-exampleorgid", "111111111111", "r-examplerootid")
        );
        assert!(OrganizationInfo::from_root_arn("arn:aws:iam::111111111111:root").is_none());
    }

    #[test]
    fn actions_named_by_refusals() {
        let details = [
            "AccessDeniedException: User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: iam:ListUsers on resource: *",
            "not authorized to perform: kms:ListKeys because no identity-based policy allows the kms:ListKeys action",
            "again iam:ListUsers: not authorized to perform: iam:ListUsers",
            "NotEnabled: GuardDuty is off",
        ];
        assert_eq!(
            refused_actions(details.into_iter()),
            vec!["iam:ListUsers", "kms:ListKeys"]
        );
    }
}
