//! Amazon Inspector findings as Inspector's `ListFindings` returns them
//! (REST JSON, camelCase, epoch-second timestamps): the fields we read,
//! typed, and their normalization. Security Hub keeps a copy under the same
//! finding ARN as its `Id`, which is what the two channels share.

use crate::finding::push_unique;
use crate::finding::{Channel, Finding, NormalizeError, ResourceRef, SourceService};
use crate::severity::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One page of `ListFindings`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InspectorPage {
    pub findings: Vec<InspectorFinding>,
    pub next_token: Option<String>,
}

/// One Inspector finding (the subset the product reads).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InspectorFinding {
    pub finding_arn: String,
    pub aws_account_id: String,
    /// `PACKAGE_VULNERABILITY`, `NETWORK_REACHABILITY`, `CODE_VULNERABILITY`.
    #[serde(rename = "type")]
    pub finding_type: String,
    pub title: Option<String>,
    pub description: String,
    /// `INFORMATIONAL`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`, `UNTRIAGED`.
    pub severity: String,
    pub inspector_score: Option<f64>,
    /// `ACTIVE`, `SUPPRESSED`, `CLOSED`.
    pub status: String,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub first_observed_at: Option<Timestamp>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub last_observed_at: Option<Timestamp>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub updated_at: Option<Timestamp>,
    pub resources: Vec<InspectorResource>,
    pub package_vulnerability_details: Option<InspectorVulnerability>,
    pub remediation: Option<InspectorRemediation>,
    /// `YES` / `NO`.
    pub exploit_available: Option<String>,
    /// `YES` / `NO` / `PARTIAL`.
    pub fix_available: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InspectorResource {
    /// `AWS_EC2_INSTANCE`, `AWS_ECR_CONTAINER_IMAGE`, `AWS_ECR_REPOSITORY`,
    /// `AWS_LAMBDA_FUNCTION`, `CODE_REPOSITORY`.
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
    pub region: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InspectorVulnerability {
    pub vulnerability_id: Option<String>,
    pub related_vulnerabilities: Vec<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InspectorRemediation {
    pub recommendation: Option<InspectorRecommendation>,
}

/// Inspector's `Recommendation` spells its link `Url`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InspectorRecommendation {
    pub text: Option<String>,
    #[serde(rename = "Url")]
    pub url: Option<String>,
}

/// Inspector's resource type in ASFF's naming, so resources read directly
/// and through Security Hub look alike.
fn asff_kind(inspector: &str) -> String {
    match inspector {
        "AWS_EC2_INSTANCE" => "AwsEc2Instance",
        "AWS_ECR_CONTAINER_IMAGE" => "AwsEcrContainerImage",
        "AWS_ECR_REPOSITORY" => "AwsEcrRepository",
        "AWS_LAMBDA_FUNCTION" => "AwsLambdaFunction",
        "CODE_REPOSITORY" => "CodeRepository",
        other => other,
    }
    .to_string()
}

/// The region an ARN names (`arn:aws:inspector2:REGION:...`).
pub(crate) fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

impl InspectorFinding {
    /// Normalizes the finding.
    pub fn normalize(&self) -> Result<Finding, NormalizeError> {
        let missing = |field| NormalizeError::Missing {
            format: "Inspector",
            id: self.finding_arn.clone(),
            field,
        };
        if self.finding_arn.is_empty() {
            return Err(missing("findingArn"));
        }
        if self.aws_account_id.is_empty() {
            return Err(missing("awsAccountId"));
        }
        // `updatedAt` is optional in Inspector's model; `lastObservedAt` is not.
        let updated_at = self
            .updated_at
            .or(self.last_observed_at)
            .ok_or_else(|| missing("updatedAt"))?;
        let first_seen = self.first_observed_at.unwrap_or(updated_at);
        let last_seen = self.last_observed_at.unwrap_or(updated_at);
        // UNTRIAGED: Inspector could not score it yet; shown, never hidden.
        let severity = match self.severity.as_str() {
            "CRITICAL" => Severity::Critical,
            "HIGH" => Severity::High,
            "MEDIUM" | "UNTRIAGED" => Severity::Medium,
            "LOW" => Severity::Low,
            _ => Severity::Informational,
        };
        let severity_score = match self.inspector_score {
            Some(score) => (score * 10.0).clamp(0.0, 100.0),
            None => severity.default_score(),
        };
        let mut cves = Vec::new();
        if let Some(v) = &self.package_vulnerability_details {
            push_unique(&mut cves, v.vulnerability_id.clone());
        }
        let region = self
            .resources
            .iter()
            .find_map(|r| r.region.clone())
            .or_else(|| arn_region(&self.finding_arn).map(str::to_string))
            .unwrap_or_default();
        let recommendation = self.remediation.as_ref().and_then(|r| r.recommendation.clone());
        let (remediation_text, remediation_url) = match recommendation {
            Some(r) => (r.text, r.url),
            None => (None, None),
        };
        let title = self
            .title
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| self.finding_type.clone());
        Ok(Finding {
            id: self.finding_arn.clone(),
            dedup_key: self.finding_arn.clone(),
            source: SourceService::Inspector,
            channels: vec![Channel::InspectorApi],
            finding_type: self.finding_type.clone(),
            types: vec![asff_type(&self.finding_type).to_string()],
            title,
            description: self.description.clone(),
            severity,
            severity_score,
            account_id: self.aws_account_id.clone(),
            region,
            resources: self
                .resources
                .iter()
                .filter(|r| !r.id.is_empty())
                .map(|r| ResourceRef {
                    kind: asff_kind(&r.resource_type),
                    id: r.id.clone(),
                })
                .collect(),
            principals: Vec::new(),
            remote_ips: Vec::new(),
            domains: Vec::new(),
            api_calls: Vec::new(),
            first_seen,
            last_seen,
            updated_at,
            workflow_status: (self.status == "SUPPRESSED").then(|| "SUPPRESSED".to_string()),
            active: self.status != "CLOSED",
            remediation_text,
            remediation_url,
            compliance: None,
            cves,
            attack_sequence: None,
        })
    }
}

/// The ASFF finding type Security Hub gives each Inspector finding type.
fn asff_type(inspector: &str) -> &'static str {
    match inspector {
        "NETWORK_REACHABILITY" => "Software and Configuration Checks/AWS Security Best Practices/Network Reachability",
        _ => "Software and Configuration Checks/Vulnerabilities/CVE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vulnerable_instance() -> serde_json::Value {
        serde_json::json!({
            "awsAccountId": "345678901234",
            "description": "A heap overflow in openssl allows remote code execution.",
            "exploitAvailable": "YES",
            "findingArn": "arn:aws:inspector2:eu-west-1:345678901234:finding/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "firstObservedAt": 1_764_000_000.123,
            "fixAvailable": "YES",
            "inspectorScore": 9.8,
            "lastObservedAt": 1_764_500_000,
            "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2024-12797", "source": "NVD",
                "vulnerablePackages": [{"name": "openssl", "version": "3.0.7"}]},
            "remediation": {"recommendation": {"text": "Upgrade openssl to 3.0.16.", "Url": "https://example.org/fix"}},
            "resources": [{"id": "i-0abc123def4567890", "partition": "aws", "region": "eu-west-1",
                "type": "AWS_EC2_INSTANCE"}],
            "severity": "CRITICAL",
            "status": "ACTIVE",
            "title": "CVE-2024-12797 - openssl",
            "type": "PACKAGE_VULNERABILITY",
            "updatedAt": 1_764_500_100
        })
    }

    #[test]
    fn inspector_findings_normalize_with_their_cve_and_resource() {
        let raw: InspectorFinding = serde_json::from_value(vulnerable_instance()).unwrap();
        let f = raw.normalize().unwrap();
        assert_eq!(f.source, SourceService::Inspector);
        assert_eq!(f.dedup_key, f.id);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.severity_score, 98.0);
        assert_eq!(f.region, "eu-west-1");
        assert_eq!(f.cves, ["CVE-2024-12797"]);
        assert_eq!(f.resources[0].kind, "AwsEc2Instance");
        assert_eq!(f.first_seen.as_millisecond(), 1_764_000_000_123);
        assert_eq!(f.remediation_url.as_deref(), Some("https://example.org/fix"));
        assert!(f.is_open());
    }

    #[test]
    fn closed_and_suppressed_inspector_findings_are_not_live_and_rfc3339_times_read() {
        let mut v = vulnerable_instance();
        v["status"] = "CLOSED".into();
        v["updatedAt"] = "2026-11-20T10:00:00Z".into();
        let f = serde_json::from_value::<InspectorFinding>(v.clone())
            .unwrap()
            .normalize()
            .unwrap();
        assert!(!f.is_live());
        assert_eq!(f.updated_at.to_string(), "2026-11-20T10:00:00Z");
        v["status"] = "SUPPRESSED".into();
        let f = serde_json::from_value::<InspectorFinding>(v)
            .unwrap()
            .normalize()
            .unwrap();
        assert!(!f.is_live());
    }

    #[test]
    fn an_inspector_finding_without_any_update_time_is_rejected() {
        let mut v = vulnerable_instance();
        v.as_object_mut().unwrap().remove("updatedAt");
        v.as_object_mut().unwrap().remove("lastObservedAt");
        let err = serde_json::from_value::<InspectorFinding>(v)
            .unwrap()
            .normalize()
            .unwrap_err();
        assert!(matches!(err, NormalizeError::Missing { field: "updatedAt", .. }));
    }
}
