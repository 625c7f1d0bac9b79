//! Amazon Macie findings as Macie's `GetFindings` returns them (REST JSON,
//! camelCase, RFC 3339 timestamps): the fields we read, typed, and their
//! normalization. Policy findings name the actor (IAM identity, IP) whose
//! change made a bucket public or unencrypted, which an investigation joins
//! on.

use crate::finding::{Channel, Finding, NormalizeError, ResourceRef, SourceService};
use crate::finding::{push_session_name, push_unique};
use crate::severity::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A `ListFindings` page: ids only.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieIdPage {
    pub finding_ids: Vec<String>,
    pub next_token: Option<String>,
}

/// A `GetFindings` answer.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieFindings {
    pub findings: Vec<MacieFinding>,
}

/// One Macie finding (the subset the product reads).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieFinding {
    pub id: String,
    pub account_id: String,
    pub region: String,
    pub partition: Option<String>,
    /// `SensitiveData:S3Object/Personal`, `Policy:IAMUser/S3BucketPublic`, ...
    #[serde(rename = "type")]
    pub finding_type: String,
    /// `CLASSIFICATION` or `POLICY`.
    pub category: Option<String>,
    pub title: String,
    pub description: String,
    pub severity: MacieSeverity,
    pub archived: bool,
    pub sample: bool,
    pub count: Option<i64>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub created_at: Option<Timestamp>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub updated_at: Option<Timestamp>,
    pub resources_affected: MacieResources,
    pub policy_details: Option<MaciePolicyDetails>,
}

/// Macie's severity: `Low`, `Medium`, `High` and a score of 1–3.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieSeverity {
    pub description: String,
    pub score: Option<i64>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieResources {
    pub s3_bucket: Option<MacieBucket>,
    pub s3_object: Option<MacieObject>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieBucket {
    pub arn: Option<String>,
    pub name: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieObject {
    pub key: Option<String>,
    pub path: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MaciePolicyDetails {
    pub action: Option<MacieAction>,
    pub actor: Option<MacieActor>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieAction {
    pub action_type: Option<String>,
    pub api_call_details: Option<MacieApiCall>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieApiCall {
    pub api: Option<String>,
    pub api_service_name: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieActor {
    pub ip_address_details: Option<MacieIp>,
    pub user_identity: Option<MacieUserIdentity>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieIp {
    pub ip_address_v4: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieUserIdentity {
    /// `IAMUser`, `AssumedRole`, `Root`, `FederatedUser`, `AWSAccount`, `AWSService`.
    #[serde(rename = "type")]
    pub identity_type: Option<String>,
    pub iam_user: Option<MacieIdentity>,
    pub assumed_role: Option<MacieIdentity>,
}

/// An IAM user or an assumed role as Macie names it.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieIdentity {
    pub arn: Option<String>,
    pub user_name: Option<String>,
    pub principal_id: Option<String>,
    pub access_key_id: Option<String>,
    pub session_context: Option<MacieSessionContext>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieSessionContext {
    pub session_issuer: Option<MacieSessionIssuer>,
}

/// The role a session was issued for.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MacieSessionIssuer {
    pub arn: Option<String>,
    pub user_name: Option<String>,
}

impl MacieFinding {
    /// Normalizes the finding. Sample findings (Macie's generated examples)
    /// are normalized like any other but never live.
    pub fn normalize(&self) -> Result<Finding, NormalizeError> {
        let missing = |field| NormalizeError::Missing {
            format: "Macie",
            id: self.id.clone(),
            field,
        };
        if self.id.is_empty() {
            return Err(missing("id"));
        }
        if self.account_id.is_empty() {
            return Err(missing("accountId"));
        }
        if self.finding_type.is_empty() {
            return Err(missing("type"));
        }
        let updated_at = self.updated_at.ok_or_else(|| missing("updatedAt"))?;
        let created_at = self.created_at.unwrap_or(updated_at);
        let severity = match self.severity.description.as_str() {
            "High" => Severity::High,
            "Medium" => Severity::Medium,
            _ => Severity::Low,
        };
        let mut resources = Vec::new();
        let bucket = self.resources_affected.s3_bucket.as_ref();
        if let Some(name) = bucket.and_then(|b| b.name.clone().or_else(|| b.arn.clone())) {
            resources.push(ResourceRef {
                kind: "AwsS3Bucket".into(),
                id: name,
            });
        }
        if let Some(object) = &self.resources_affected.s3_object
            && let Some(path) = object.path.clone().or_else(|| object.key.clone())
        {
            resources.push(ResourceRef {
                kind: "AwsS3Object".into(),
                id: path,
            });
        }
        let mut principals = Vec::new();
        let mut remote_ips = Vec::new();
        let mut api_calls = Vec::new();
        if let Some(policy) = &self.policy_details {
            if let Some(actor) = &policy.actor {
                push_unique(
                    &mut remote_ips,
                    actor.ip_address_details.as_ref().and_then(|i| i.ip_address_v4.clone()),
                );
                // Root is everyone's root: linking on it would merge unrelated activity.
                let identity = actor
                    .user_identity
                    .as_ref()
                    .filter(|u| u.identity_type.as_deref() != Some("Root"));
                if let Some(user) = identity.and_then(|u| u.iam_user.as_ref()) {
                    push_unique(&mut principals, user.user_name.clone());
                }
                if let Some(role) = identity.and_then(|u| u.assumed_role.as_ref()) {
                    push_unique(&mut principals, role.access_key_id.clone());
                    let issuer = role.session_context.as_ref().and_then(|c| c.session_issuer.as_ref());
                    push_unique(&mut principals, issuer.and_then(|i| i.user_name.clone()));
                    if let Some(pid) = &role.principal_id {
                        push_session_name(&mut principals, pid);
                    }
                }
            }
            if let Some(call) = policy.action.as_ref().and_then(|a| a.api_call_details.as_ref()) {
                push_unique(
                    &mut api_calls,
                    crate::finding::qualified_api(call.api_service_name.as_deref(), call.api.as_deref()),
                );
            }
        }
        Ok(Finding {
            id: self.id.clone(),
            dedup_key: dedup_key(&self.account_id, &self.region, &self.id),
            source: SourceService::Macie,
            channels: vec![Channel::MacieApi],
            finding_type: self.finding_type.clone(),
            types: vec![self.finding_type.clone()],
            title: self.title.clone(),
            description: self.description.clone(),
            severity,
            severity_score: severity.default_score(),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            resources,
            principals,
            remote_ips,
            domains: Vec::new(),
            api_calls,
            first_seen: created_at,
            last_seen: updated_at,
            updated_at,
            workflow_status: None,
            active: !self.archived && !self.sample,
            remediation_text: None,
            remediation_url: Some(doc_url(&self.finding_type)),
            compliance: None,
            cves: Vec::new(),
            attack_sequence: None,
        })
    }
}

/// The key a Macie finding is recognised under in both channels: Macie's
/// finding id is unique only within its account and Region, and Security
/// Hub's copy carries it in `ProductFields` (`aws/macie/FindingId`).
pub fn dedup_key(account_id: &str, region: &str, finding_id: &str) -> String {
    format!("macie:{account_id}:{region}:{finding_id}")
}

/// Macie's documentation of its finding types.
fn doc_url(finding_type: &str) -> String {
    let page = if finding_type.starts_with("Policy:") {
        "findings-types.html#findings-policy-types"
    } else {
        "findings-types.html#findings-sensitive-data-types"
    };
    format!("https://docs.aws.amazon.com/macie/latest/user/{page}")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn public_bucket_policy_finding() -> serde_json::Value {
        serde_json::json!({
            "accountId": "345678901234",
            "archived": false,
            "category": "POLICY",
            "count": 1,
            "createdAt": "2026-11-20T09:00:00.000Z",
            "description": "Block public access settings were disabled for the bucket.",
            "id": "5d1e0c3ab2c4f1e2a3b4c5d6e7f8a9b0",
            "partition": "aws",
            "policyDetails": {
                "action": {"actionType": "AWS_API_CALL",
                    "apiCallDetails": {"api": "PutBucketPublicAccessBlock", "apiServiceName": "s3.amazonaws.com"}},
                "actor": {
                    "ipAddressDetails": {"ipAddressV4": "198.51.100.23"},
                    "userIdentity": {"type": "AssumedRole", "assumedRole": {
                        "accessKeyId": "ASIAEXAMPLEEXAMPLE01",
                        "arn": "arn:aws:sts::345678901234:assumed-role/payments-app-role/i-0abc",
                        "principalId": "AROAEXAMPLE:i-0abc",
                        "sessionContext": {"sessionIssuer": {"userName": "payments-app-role",
                            "arn": "arn:aws:iam::345678901234:role/payments-app-role"}}}}
                }
            },
            "region": "eu-west-1",
            "resourcesAffected": {"s3Bucket": {"arn": "arn:aws:s3:::payments-exports", "name": "payments-exports"}},
            "sample": false,
            "schemaVersion": "1.0",
            "severity": {"description": "High", "score": 3},
            "title": "The S3 bucket payments-exports is publicly accessible",
            "type": "Policy:IAMUser/S3BlockPublicAccessDisabled",
            "updatedAt": "2026-11-20T09:05:00.000Z"
        })
    }

    #[test]
    fn macie_policy_findings_name_their_actor_and_bucket() {
        let raw: MacieFinding = serde_json::from_value(public_bucket_policy_finding()).unwrap();
        let f = raw.normalize().unwrap();
        assert_eq!(f.source, SourceService::Macie);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.resource_names(), ["payments-exports"]);
        assert_eq!(f.principals, ["ASIAEXAMPLEEXAMPLE01", "payments-app-role", "i-0abc"]);
        assert_eq!(f.remote_ips, ["198.51.100.23"]);
        assert_eq!(f.api_calls, ["s3:PutBucketPublicAccessBlock"]);
        assert_eq!(
            f.dedup_key,
            "macie:345678901234:eu-west-1:5d1e0c3ab2c4f1e2a3b4c5d6e7f8a9b0"
        );
        assert!(f.is_open());
    }

    #[test]
    fn archived_and_sample_macie_findings_are_not_live() {
        for field in ["archived", "sample"] {
            let mut v = public_bucket_policy_finding();
            v[field] = true.into();
            let f = serde_json::from_value::<MacieFinding>(v).unwrap().normalize().unwrap();
            assert!(!f.is_live(), "{field}");
        }
    }
}
