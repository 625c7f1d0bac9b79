//! The AWS Security Finding Format (ASFF), as Security Hub `GetFindings`
//! returns it: the fields we read, typed, and their normalization.
//!
//! The AWS adapter maps SDK types into these structs and the demo loads JSON
//! into them, so there is one normalization for both.

use crate::finding::{
    Channel, ComplianceRef, Finding, NormalizeError, RawTimes, ResourceRef, SourceService, Times, push_session_name,
    push_unique, qualified_api,
};
use crate::findings::attack;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One ASFF finding (the subset the product reads; other fields are ignored).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffFinding {
    pub schema_version: String,
    pub id: String,
    pub product_arn: String,
    pub product_name: Option<String>,
    pub generator_id: String,
    pub aws_account_id: String,
    pub region: Option<String>,
    pub types: Vec<String>,
    pub first_observed_at: Option<String>,
    pub last_observed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub severity: Option<AsffSeverity>,
    pub title: String,
    pub description: String,
    pub remediation: Option<AsffRemediation>,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<AsffResource>,
    pub compliance: Option<AsffCompliance>,
    pub workflow: Option<AsffWorkflow>,
    pub record_state: Option<String>,
    pub network: Option<AsffNetwork>,
    pub action: Option<AsffAction>,
    pub vulnerabilities: Vec<AsffVulnerability>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffSeverity {
    pub label: Option<String>,
    pub normalized: Option<i64>,
    pub original: Option<String>,
    pub product: Option<f64>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffRemediation {
    pub recommendation: Option<AsffRecommendation>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffRecommendation {
    pub text: Option<String>,
    pub url: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffResource {
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    pub partition: Option<String>,
    pub region: Option<String>,
    pub details: Option<AsffResourceDetails>,
}

/// The resource details the product reads (the dozens of other kinds are
/// skipped unparsed).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffResourceDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_iam_access_key: Option<AsffIamAccessKey>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffIamAccessKey {
    pub access_key_id: Option<String>,
    pub principal_id: Option<String>,
    pub principal_name: Option<String>,
    pub user_name: Option<String>,
}

/// A `GetFindings` response page, parsed straight from the wire.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffPage {
    /// The page's findings.
    pub findings: Vec<AsffFinding>,
    /// The next page's token (absent or empty on the last page).
    pub next_token: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffCompliance {
    pub status: Option<String>,
    pub security_control_id: Option<String>,
    pub related_requirements: Vec<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffWorkflow {
    pub status: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffNetwork {
    pub direction: Option<String>,
    pub source_ip_v4: Option<String>,
    pub destination_ip_v4: Option<String>,
    pub destination_domain: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffAction {
    pub action_type: Option<String>,
    pub aws_api_call_action: Option<AsffApiCall>,
    pub network_connection_action: Option<AsffNetworkConnection>,
    pub dns_request_action: Option<AsffDnsRequest>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffApiCall {
    pub api: Option<String>,
    pub service_name: Option<String>,
    pub remote_ip_details: Option<AsffRemoteIp>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffNetworkConnection {
    pub remote_ip_details: Option<AsffRemoteIp>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffDnsRequest {
    pub domain: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffRemoteIp {
    pub ip_address_v4: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AsffVulnerability {
    pub id: String,
}

impl AsffFinding {
    /// The key under which the producing service's own API knows this
    /// finding (see [`Finding::dedup_key`]). Security Hub copies a GuardDuty
    /// finding under its ARN and an Inspector finding under its finding ARN
    /// as `Id`; a Macie finding's id ends its `Id`; Access Analyzer and
    /// Config copies are keyed as their direct reads are.
    fn dedup_key(&self, source: SourceService, region: &str) -> String {
        let field = |key: &str| self.product_fields.get(key).map(String::as_str);
        match source {
            SourceService::Macie => {
                let id = self.id.rsplit('/').next().unwrap_or(&self.id);
                crate::findings::macie::dedup_key(&self.aws_account_id, region, id)
            }
            SourceService::AccessAnalyzer => {
                let analyzer = crate::findings::access_analyzer::analyzer_arn_of(&self.id);
                match (analyzer, field("findingId")) {
                    (Some(analyzer), Some(id)) => crate::findings::access_analyzer::dedup_key(analyzer, id),
                    _ => self.id.clone(),
                }
            }
            SourceService::Config => match (field("aws/config/ConfigRuleName"), self.resources.first()) {
                (Some(rule), Some(resource)) => {
                    crate::findings::config_rules::dedup_key(&self.aws_account_id, region, rule, &resource.id)
                }
                _ => self.id.clone(),
            },
            _ => self.id.clone(),
        }
    }

    /// Normalizes the finding. Fails only when the fields every finding has
    /// (Id, AwsAccountId, UpdatedAt, CreatedAt) are missing or malformed.
    pub fn normalize(&self) -> Result<Finding, NormalizeError> {
        self.clone().into_normalized()
    }

    /// [`AsffFinding::normalize`], moving the record's strings into the
    /// finding instead of copying them (the collector's path: a page is
    /// parsed, normalized and dropped).
    pub fn into_normalized(mut self) -> Result<Finding, NormalizeError> {
        let missing = |field| NormalizeError::Missing {
            format: "ASFF",
            id: self.id.clone(),
            field,
        };
        if self.id.is_empty() {
            return Err(missing("Id"));
        }
        if self.aws_account_id.is_empty() {
            return Err(missing("AwsAccountId"));
        }
        let Times {
            first_seen,
            last_seen,
            updated_at,
        } = RawTimes {
            format: "ASFF",
            id: &self.id,
            created: ("CreatedAt", &self.created_at),
            updated: ("UpdatedAt", &self.updated_at),
            first_seen: ("FirstObservedAt", self.first_observed_at.as_deref()),
            last_seen: ("LastObservedAt", self.last_observed_at.as_deref()),
        }
        .parse()?;

        let (severity, severity_score) = self.severity_of();
        let source = SourceService::from_product_arn(&self.product_arn);
        let mut principals = Vec::new();
        let mut remote_ips = Vec::new();
        let mut domains = Vec::new();
        let mut api_calls = Vec::new();
        for resource in &self.resources {
            collect_principals_from_details(resource, &mut principals);
        }
        if let Some(network) = &self.network {
            if network.direction.as_deref() == Some("IN") {
                push_unique(&mut remote_ips, network.source_ip_v4.clone());
            } else {
                push_unique(&mut remote_ips, network.destination_ip_v4.clone());
            }
            push_unique(&mut domains, network.destination_domain.clone());
        }
        if let Some(action) = &self.action {
            if let Some(call) = &action.aws_api_call_action {
                push_unique(
                    &mut remote_ips,
                    call.remote_ip_details.as_ref().and_then(|r| r.ip_address_v4.clone()),
                );
                push_unique(
                    &mut api_calls,
                    qualified_api(call.service_name.as_deref(), call.api.as_deref()),
                );
            }
            if let Some(conn) = &action.network_connection_action {
                push_unique(
                    &mut remote_ips,
                    conn.remote_ip_details.as_ref().and_then(|r| r.ip_address_v4.clone()),
                );
            }
            if let Some(dns) = &action.dns_request_action {
                push_unique(&mut domains, dns.domain.clone());
            }
        }

        let finding_type = self
            .product_fields
            .get("aws/guardduty/service/type")
            .cloned()
            .filter(|_| source == SourceService::GuardDuty)
            .or_else(|| guardduty_type_from_asff_types(&self.types).filter(|_| source == SourceService::GuardDuty))
            .or_else(|| self.types.first().cloned())
            .unwrap_or_default();
        let region = match self.region.take() {
            Some(region) => region,
            None => region_of_arn(&self.product_arn),
        };
        let dedup_key = self.dedup_key(source, &region);
        let recommendation = self.remediation.and_then(|r| r.recommendation);
        let (remediation_text, remediation_url) = match recommendation {
            Some(r) => (r.text, r.url),
            None => (None, None),
        };

        Ok(Finding {
            dedup_key,
            id: self.id,
            source,
            channels: vec![Channel::SecurityHubApi],
            finding_type,
            types: self.types,
            title: self.title,
            description: self.description,
            severity,
            severity_score,
            account_id: self.aws_account_id,
            region,
            resources: self
                .resources
                .into_iter()
                .map(|r| ResourceRef { kind: r.kind, id: r.id })
                .collect(),
            principals,
            remote_ips,
            domains,
            api_calls,
            first_seen,
            last_seen,
            updated_at,
            workflow_status: self.workflow.and_then(|w| w.status),
            active: self.record_state.as_deref() != Some("ARCHIVED"),
            remediation_text,
            remediation_url,
            compliance: self.compliance.map(|c| ComplianceRef {
                control_id: c.security_control_id,
                status: c.status,
                related_requirements: c.related_requirements,
            }),
            cves: self
                .vulnerabilities
                .into_iter()
                .map(|v| v.id)
                .filter(|v| !v.is_empty())
                .collect(),
            attack_sequence: None,
        })
    }

    fn severity_of(&self) -> (Severity, f64) {
        let Some(sev) = &self.severity else {
            return (Severity::Informational, 0.0);
        };
        let from_label = sev.label.as_deref().and_then(|l| l.parse::<Severity>().ok());
        let normalized = sev.normalized.map(|n| n.clamp(0, 100) as f64);
        match (from_label, normalized) {
            (Some(label), Some(score)) => (label, score),
            (Some(label), None) => (label, label.default_score()),
            (None, Some(score)) => (Severity::from_normalized(score), score),
            (None, None) => (Severity::Informational, 0.0),
        }
    }
}

/// GuardDuty puts its type into ASFF `Types` as
/// `TTPs/<Category>/<ThreatPurpose>:<Resource>-<Family>...`; recover it.
fn guardduty_type_from_asff_types(types: &[String]) -> Option<String> {
    types.iter().find_map(|t| {
        let last = t.rsplit('/').next()?;
        let (purpose, rest) = last.split_once(':')?;
        let (resource, family) = rest.split_once('-')?;
        attack::is_guardduty_purpose(purpose).then(|| format!("{purpose}:{resource}/{family}"))
    })
}

fn collect_principals_from_details(resource: &AsffResource, principals: &mut Vec<String>) {
    if let Some(key) = resource.details.as_ref().and_then(|d| d.aws_iam_access_key.as_ref()) {
        for value in [&key.access_key_id, &key.principal_name, &key.user_name] {
            push_unique(principals, value.clone());
        }
        if let Some(pid) = &key.principal_id {
            push_session_name(principals, pid);
        }
    }
    if resource.kind == "AwsIamAccessKey" && !resource.id.is_empty() {
        push_unique(principals, Some(resource.id.clone()));
    }
    if resource.kind == "AwsIamRole" || resource.kind == "AwsIamUser" {
        push_unique(principals, Some(crate::finding::short_id(&resource.id)));
    }
}

fn region_of_arn(arn: &str) -> String {
    arn.split(':').nth(3).unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control_finding() -> serde_json::Value {
        serde_json::json!({
            "SchemaVersion": "2018-10-08",
            "Id": "arn:aws:securityhub:us-east-1:111122223333:security-control/S3.1/finding/abc",
            "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
            "GeneratorId": "security-control/S3.1",
            "AwsAccountId": "111122223333",
            "Region": "us-east-1",
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
            "CreatedAt": "2026-11-01T10:00:00.000Z",
            "UpdatedAt": "2026-11-20T10:00:00.000Z",
            "Severity": {"Label": "MEDIUM", "Normalized": 40, "Original": "MEDIUM"},
            "Title": "S3 general purpose buckets should have block public access settings enabled",
            "Description": "This control checks ...",
            "Remediation": {"Recommendation": {"Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation.", "Url": "https://docs.aws.amazon.com/console/securityhub/S3.1/remediation"}},
            "Resources": [{"Type": "AwsAccount", "Id": "AWS::::Account:111122223333", "Partition": "aws", "Region": "us-east-1"}],
            "Compliance": {"Status": "FAILED", "SecurityControlId": "S3.1", "RelatedRequirements": ["CIS AWS Foundations Benchmark v3.0.0/2.1.4"]},
            "Workflow": {"Status": "NEW"},
            "RecordState": "ACTIVE"
        })
    }

    #[test]
    fn control_findings_normalize() {
        let asff: AsffFinding = serde_json::from_value(control_finding()).unwrap();
        let f = asff.normalize().unwrap();
        assert_eq!(f.source, SourceService::SecurityHub);
        assert_eq!(f.severity, Severity::Medium);
        assert_eq!(f.severity_score, 40.0);
        assert_eq!(
            f.compliance.as_ref().and_then(|c| c.control_id.as_deref()),
            Some("S3.1")
        );
        assert!(f.is_live() && f.is_open());
        assert_eq!(f.first_seen.to_string(), "2026-11-01T10:00:00Z");
    }

    #[test]
    fn archived_and_suppressed_findings_are_not_live() {
        let mut v = control_finding();
        v["RecordState"] = "ARCHIVED".into();
        let f = serde_json::from_value::<AsffFinding>(v).unwrap().normalize().unwrap();
        assert!(!f.is_live());
        let mut v = control_finding();
        v["Workflow"]["Status"] = "SUPPRESSED".into();
        let f = serde_json::from_value::<AsffFinding>(v).unwrap().normalize().unwrap();
        assert!(!f.is_live());
    }

    #[test]
    fn missing_and_malformed_fields_are_errors() {
        let mut v = control_finding();
        v["AwsAccountId"] = "".into();
        let err = serde_json::from_value::<AsffFinding>(v)
            .unwrap()
            .normalize()
            .unwrap_err();
        assert!(matches!(
            err,
            NormalizeError::Missing {
                field: "AwsAccountId",
                ..
            }
        ));
        let mut v = control_finding();
        v["UpdatedAt"] = "yesterday".into();
        let err = serde_json::from_value::<AsffFinding>(v)
            .unwrap()
            .normalize()
            .unwrap_err();
        assert!(matches!(err, NormalizeError::BadTimestamp { field: "UpdatedAt", .. }));
    }

    #[test]
    fn guardduty_types_are_recovered_from_asff_types() {
        let types = vec![
            "TTPs/Initial Access/UnauthorizedAccess:IAMUser-InstanceCredentialExfiltration.OutsideAWS".to_string(),
        ];
        assert_eq!(
            guardduty_type_from_asff_types(&types).as_deref(),
            Some("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS")
        );
        assert_eq!(
            guardduty_type_from_asff_types(&["Effects/Data Exposure".to_string()]),
            None
        );
    }
}
