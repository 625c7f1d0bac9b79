//! IAM Access Analyzer findings as `ListFindingsV2` returns them (REST JSON,
//! camelCase): the summary of each finding, typed, and its normalization.
//! External access (a resource shared outside the zone of trust), internal
//! access, and unused access (roles, keys, passwords, permissions nobody
//! uses) all become findings on the resource they are about.

use crate::finding::{Channel, Finding, NormalizeError, ResourceRef, SourceService, asff_resource_type};
use crate::severity::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One `ListAnalyzers` page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyzerPage {
    pub analyzers: Vec<Analyzer>,
    pub next_token: Option<String>,
}

/// An analyzer (the subset the product reads).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Analyzer {
    pub arn: String,
    pub name: String,
    /// `ACCOUNT`, `ORGANIZATION`, `ACCOUNT_UNUSED_ACCESS`,
    /// `ORGANIZATION_UNUSED_ACCESS`, `ACCOUNT_INTERNAL_ACCESS`,
    /// `ORGANIZATION_INTERNAL_ACCESS`.
    #[serde(rename = "type")]
    pub analyzer_type: String,
    /// `ACTIVE`, `CREATING`, `DISABLED`, `FAILED`.
    pub status: String,
}

impl Analyzer {
    /// Whether it has findings to give.
    pub fn is_active(&self) -> bool {
        self.status == "ACTIVE"
    }
}

/// One `ListFindingsV2` page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyzerFindingPage {
    pub findings: Vec<AnalyzerFinding>,
    pub next_token: Option<String>,
}

/// One finding summary (`FindingSummaryV2`).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalyzerFinding {
    pub id: String,
    /// The resource's ARN.
    pub resource: Option<String>,
    /// `AWS::S3::Bucket`, `AWS::IAM::Role`, `AWS::IAM::User`, ...
    pub resource_type: String,
    pub resource_owner_account: String,
    /// `ACTIVE`, `ARCHIVED`, `RESOLVED`.
    pub status: String,
    /// `ExternalAccess`, `InternalAccess`, `UnusedIAMRole`,
    /// `UnusedIAMUserAccessKey`, `UnusedIAMUserPassword`, `UnusedPermission`.
    pub finding_type: Option<String>,
    /// Set when the analysis of the resource failed.
    pub error: Option<String>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub created_at: Option<Timestamp>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub updated_at: Option<Timestamp>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub analyzed_at: Option<Timestamp>,
}

impl AnalyzerFinding {
    /// Normalizes the finding of `analyzer` (read in `region`). Severity is
    /// the product's (Access Analyzer gives none; Security Hub's copies say
    /// LOW): access from outside the zone of trust is MEDIUM, to be reviewed;
    /// access inside it and access nobody uses are LOW.
    pub fn normalize(&self, analyzer: &Analyzer, region: &str) -> Result<Finding, NormalizeError> {
        let missing = |field| NormalizeError::Missing {
            format: "Access Analyzer",
            id: self.id.clone(),
            field,
        };
        if self.id.is_empty() {
            return Err(missing("id"));
        }
        if self.resource_owner_account.is_empty() {
            return Err(missing("resourceOwnerAccount"));
        }
        let updated_at = self
            .updated_at
            .or(self.analyzed_at)
            .ok_or_else(|| missing("updatedAt"))?;
        let created_at = self.created_at.unwrap_or(updated_at);
        let finding_type = self.finding_type.clone().unwrap_or_else(|| "ExternalAccess".into());
        let severity = match finding_type.as_str() {
            "ExternalAccess" => Severity::Medium,
            _ => Severity::Low,
        };
        let resource = self.resource.clone().unwrap_or_default();
        let mut principals = Vec::new();
        // An unused role or user is the principal the finding is about.
        if matches!(self.resource_type.as_str(), "AWS::IAM::Role" | "AWS::IAM::User")
            && let Some(name) = resource.rsplit('/').next().filter(|n| !n.is_empty() && *n != resource)
        {
            principals.push(name.to_string());
        }
        let title = match finding_type.as_str() {
            "ExternalAccess" => format!("{resource} is accessible from outside the zone of trust"),
            "InternalAccess" => format!("{resource} is accessible from inside the organization"),
            "UnusedIAMRole" => format!("IAM role {resource} is unused"),
            "UnusedIAMUserAccessKey" => format!("An access key of {resource} is unused"),
            "UnusedIAMUserPassword" => format!("The console password of {resource} is unused"),
            "UnusedPermission" => format!("{resource} has permissions it does not use"),
            other => format!("{other} on {resource}"),
        };
        let description = match &self.error {
            Some(error) => format!("{title} (analyzer {}; analysis error: {error})", analyzer.name),
            None => format!("{title} (analyzer {})", analyzer.name),
        };
        Ok(Finding {
            id: format!("{}/{}", analyzer.arn, self.id),
            dedup_key: match finding_type.as_str() {
                "ExternalAccess" | "InternalAccess" => dedup_key(&analyzer.arn, &resource),
                _ => dedup_key(&analyzer.arn, &self.id),
            },
            source: SourceService::AccessAnalyzer,
            channels: vec![Channel::AccessAnalyzerApi],
            finding_type: finding_type.clone(),
            types: vec![asff_type(&finding_type).to_string()],
            title,
            description,
            severity,
            severity_score: severity.default_score(),
            account_id: self.resource_owner_account.clone(),
            region: region.to_string(),
            resources: (!resource.is_empty())
                .then(|| ResourceRef {
                    kind: asff_resource_type(&self.resource_type),
                    id: resource,
                })
                .into_iter()
                .collect(),
            principals,
            remote_ips: Vec::new(),
            domains: Vec::new(),
            api_calls: Vec::new(),
            first_seen: created_at,
            last_seen: updated_at,
            updated_at,
            workflow_status: (self.status == "RESOLVED").then(|| "RESOLVED".to_string()),
            active: self.status != "ARCHIVED",
            remediation_text: None,
            remediation_url: Some(
                "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-findings-remediate.html".into(),
            ),
            compliance: None,
            cves: Vec::new(),
            attack_sequence: None,
        })
    }
}

/// The key an Access Analyzer finding is recognised under in both channels:
/// `<analyzer ARN>/<resource ARN>` for access findings (Security Hub keeps
/// one finding per resource under that `Id`, so the external principals of
/// one resource are one finding in both channels), `<analyzer ARN>/<finding
/// id>` for unused access (Security Hub's copy names the id in
/// `ProductFields.findingId`).
pub fn dedup_key(analyzer_arn: &str, resource_or_finding_id: &str) -> String {
    format!("{analyzer_arn}/{resource_or_finding_id}")
}

/// The analyzer's ARN at the start of a Security Hub copy's `Id`
/// (`arn:aws:access-analyzer:<region>:<account>:analyzer/<name>/...`).
pub fn analyzer_arn_of(asff_id: &str) -> Option<&str> {
    let (head, tail) = asff_id.split_once(":analyzer/")?;
    let name_end = tail.find('/').unwrap_or(tail.len());
    Some(&asff_id[..head.len() + ":analyzer/".len() + name_end])
}

/// The ASFF finding type Security Hub gives each Access Analyzer finding type.
fn asff_type(finding_type: &str) -> &'static str {
    match finding_type {
        "ExternalAccess" => "Software and Configuration Checks/AWS Security Best Practices/External Access Granted",
        "InternalAccess" => "Software and Configuration Checks/AWS Security Best Practices/Internal Access Granted",
        _ => "Software and Configuration Checks/AWS Security Best Practices/Unused Access",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyzer() -> Analyzer {
        Analyzer {
            arn: "arn:aws:access-analyzer:eu-west-1:345678901234:analyzer/org-analyzer".into(),
            name: "org-analyzer".into(),
            analyzer_type: "ORGANIZATION".into(),
            status: "ACTIVE".into(),
        }
    }

    fn summary(finding_type: &str, resource_type: &str, resource: &str) -> AnalyzerFinding {
        serde_json::from_value(serde_json::json!({
            "id": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
            "resource": resource,
            "resourceType": resource_type,
            "resourceOwnerAccount": "345678901234",
            "status": "ACTIVE",
            "findingType": finding_type,
            "createdAt": "2026-11-19T08:00:00Z",
            "updatedAt": "2026-11-20T08:00:00Z",
            "analyzedAt": "2026-11-20T08:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn external_access_is_medium_and_keyed_by_analyzer_and_resource() {
        let f = summary("ExternalAccess", "AWS::S3::Bucket", "arn:aws:s3:::payments-exports")
            .normalize(&analyzer(), "eu-west-1")
            .unwrap();
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(f.resources[0].kind, "AwsS3Bucket");
        assert_eq!(f.resource_names(), ["payments-exports"]);
        assert_eq!(
            f.dedup_key,
            "arn:aws:access-analyzer:eu-west-1:345678901234:analyzer/org-analyzer/arn:aws:s3:::payments-exports"
        );
        assert_eq!(
            analyzer_arn_of(&f.dedup_key),
            Some("arn:aws:access-analyzer:eu-west-1:345678901234:analyzer/org-analyzer")
        );
        assert!(f.is_open());
    }

    #[test]
    fn unused_roles_are_low_and_name_the_role_as_principal() {
        let f = summary(
            "UnusedIAMRole",
            "AWS::IAM::Role",
            "arn:aws:iam::345678901234:role/old-deployer",
        )
        .normalize(&analyzer(), "eu-west-1")
        .unwrap();
        assert_eq!(f.severity, Severity::Low);
        assert_eq!(f.principals, ["old-deployer"]);
        assert!(f.dedup_key.ends_with("/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"));
        let mut archived = summary("UnusedIAMRole", "AWS::IAM::Role", "arn:aws:iam::345678901234:role/x");
        archived.status = "ARCHIVED".into();
        assert!(!archived.normalize(&analyzer(), "eu-west-1").unwrap().is_live());
    }
}
