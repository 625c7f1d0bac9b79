//! AWS Config rule evaluations as `GetComplianceDetailsByConfigRule`
//! returns them (awsJson 1.1, PascalCase, epoch-second timestamps): a
//! NON_COMPLIANT evaluation of one resource by one rule becomes a finding.
//!
//! Rules Security Hub created for its own controls (created by
//! `securityhub.amazonaws.com`, named `securityhub-*`) are not read here:
//! their results already arrive as Security Hub control findings, under the
//! control's id.

use crate::finding::{Channel, Finding, NormalizeError, ResourceRef, SourceService, asff_resource_type};
use crate::severity::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Prefix of the rules Security Hub creates for its controls.
pub const SECURITY_HUB_RULE_PREFIX: &str = "securityhub-";

/// One `DescribeConfigRules` page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConfigRulePage {
    pub config_rules: Vec<ConfigRule>,
    pub next_token: Option<String>,
}

/// A rule (the subset the product reads).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConfigRule {
    pub config_rule_name: String,
    /// `arn:aws:config:<region>:<account>:config-rule/config-rule-<id>`.
    pub config_rule_arn: String,
    /// The service that created a service-linked rule
    /// (`securityhub.amazonaws.com`), absent for the account's own rules.
    pub created_by: Option<String>,
}

impl ConfigRule {
    /// Whether its evaluations are read as findings: every rule but those
    /// Security Hub created for its controls.
    pub fn is_read(&self) -> bool {
        self.created_by.as_deref() != Some("securityhub.amazonaws.com")
            && !self.config_rule_name.starts_with(SECURITY_HUB_RULE_PREFIX)
    }

    /// The account and Region its ARN names (Config's evaluations repeat
    /// neither).
    pub fn account_and_region(&self) -> Option<(&str, &str)> {
        let mut parts = self.config_rule_arn.split(':');
        let region = parts.nth(3).filter(|r| !r.is_empty())?;
        let account = parts.next().filter(|a| !a.is_empty())?;
        Some((account, region))
    }
}

/// One `DescribeComplianceByConfigRule` page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RuleCompliancePage {
    pub compliance_by_config_rules: Vec<RuleCompliance>,
    pub next_token: Option<String>,
}

/// A rule and its compliance.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RuleCompliance {
    pub config_rule_name: String,
    pub compliance: Option<ComplianceSummary>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ComplianceSummary {
    /// `COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE`, `INSUFFICIENT_DATA`.
    pub compliance_type: Option<String>,
}

impl RuleCompliance {
    /// Whether some resource fails the rule.
    pub fn is_non_compliant(&self) -> bool {
        self.compliance.as_ref().and_then(|c| c.compliance_type.as_deref()) == Some("NON_COMPLIANT")
    }
}

/// One `GetComplianceDetailsByConfigRule` page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EvaluationPage {
    pub evaluation_results: Vec<EvaluationResult>,
    pub next_token: Option<String>,
}

/// One evaluation of one resource.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EvaluationResult {
    pub evaluation_result_identifier: EvaluationIdentifier,
    pub compliance_type: String,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub result_recorded_time: Option<Timestamp>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub config_rule_invoked_time: Option<Timestamp>,
    pub annotation: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EvaluationIdentifier {
    pub evaluation_result_qualifier: EvaluationQualifier,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub ordering_timestamp: Option<Timestamp>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EvaluationQualifier {
    pub config_rule_name: String,
    /// `AWS::S3::Bucket`, ...
    pub resource_type: String,
    /// The resource's id as Config records it (a bucket name, `sg-…`, `i-…`).
    pub resource_id: String,
}

impl EvaluationResult {
    /// Normalizes the evaluation, read in `account_id` and `region` (Config
    /// does not repeat them).
    pub fn normalize(&self, account_id: &str, region: &str) -> Result<Finding, NormalizeError> {
        let q = &self.evaluation_result_identifier.evaluation_result_qualifier;
        let id = format!("{}/{}/{}", q.config_rule_name, q.resource_type, q.resource_id);
        let missing = |field| NormalizeError::Missing {
            format: "Config",
            id: id.clone(),
            field,
        };
        if q.config_rule_name.is_empty() {
            return Err(missing("ConfigRuleName"));
        }
        if q.resource_id.is_empty() {
            return Err(missing("ResourceId"));
        }
        let updated_at = self
            .result_recorded_time
            .or(self.evaluation_result_identifier.ordering_timestamp)
            .ok_or_else(|| missing("ResultRecordedTime"))?;
        let first_seen = self
            .evaluation_result_identifier
            .ordering_timestamp
            .unwrap_or(updated_at);
        let severity = Severity::Medium;
        let description = match self.annotation.as_deref().filter(|a| !a.is_empty()) {
            Some(annotation) => annotation.to_string(),
            None => format!(
                "AWS Config rule {} evaluated {} {} as {}.",
                q.config_rule_name, q.resource_type, q.resource_id, self.compliance_type
            ),
        };
        Ok(Finding {
            id: format!("arn:aws:config:{region}:{account_id}:config-rule-evaluation/{id}"),
            dedup_key: dedup_key(account_id, region, &q.config_rule_name, &q.resource_id),
            source: SourceService::Config,
            channels: vec![Channel::ConfigApi],
            finding_type: format!("Config rule {}", q.config_rule_name),
            types: vec!["Software and Configuration Checks/AWS Config Analysis".to_string()],
            title: format!("{} is not compliant with {}", q.resource_id, q.config_rule_name),
            description,
            severity,
            severity_score: severity.default_score(),
            account_id: account_id.to_string(),
            region: region.to_string(),
            resources: vec![ResourceRef {
                kind: asff_resource_type(&q.resource_type),
                id: q.resource_id.clone(),
            }],
            principals: Vec::new(),
            remote_ips: Vec::new(),
            domains: Vec::new(),
            api_calls: Vec::new(),
            first_seen,
            last_seen: updated_at,
            updated_at,
            workflow_status: None,
            active: self.compliance_type == "NON_COMPLIANT",
            remediation_text: None,
            remediation_url: Some(format!(
                "https://console.aws.amazon.com/config/home?region={region}#/rules/details?configRuleName={}",
                q.config_rule_name
            )),
            compliance: None,
            cves: Vec::new(),
            attack_sequence: None,
        })
    }
}

/// The key a Config evaluation is recognised under in both channels: the
/// rule and the resource's short id in its account and Region.
pub fn dedup_key(account_id: &str, region: &str, rule_name: &str, resource_id: &str) -> String {
    format!(
        "config:{account_id}:{region}:{rule_name}:{}",
        crate::finding::short_id(resource_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation(rule: &str, compliance: &str) -> EvaluationResult {
        serde_json::from_value(serde_json::json!({
            "EvaluationResultIdentifier": {
                "EvaluationResultQualifier": {"ConfigRuleName": rule, "ResourceType": "AWS::S3::Bucket",
                    "ResourceId": "payments-exports", "EvaluationMode": "DETECTIVE"},
                "OrderingTimestamp": 1_764_000_000.5,
                "ResourceEvaluationId": "ev-1"
            },
            "ComplianceType": compliance,
            "ResultRecordedTime": 1_764_000_100,
            "ConfigRuleInvokedTime": 1_764_000_050,
            "Annotation": "Versioning is not enabled."
        }))
        .unwrap()
    }

    #[test]
    fn a_non_compliant_evaluation_is_an_open_failed_finding_on_its_resource() {
        let f = evaluation("s3-bucket-versioning-enabled", "NON_COMPLIANT")
            .normalize("345678901234", "eu-west-1")
            .unwrap();
        assert_eq!(f.source, SourceService::Config);
        assert_eq!(f.resource_names(), ["payments-exports"]);
        assert_eq!(f.resources[0].kind, "AwsS3Bucket");
        assert_eq!(f.description, "Versioning is not enabled.");
        assert_eq!(
            f.dedup_key,
            "config:345678901234:eu-west-1:s3-bucket-versioning-enabled:payments-exports"
        );
        assert_eq!(f.updated_at.as_second(), 1_764_000_100);
        assert!(f.is_open());
        let compliant = evaluation("s3-bucket-versioning-enabled", "COMPLIANT")
            .normalize("345678901234", "eu-west-1")
            .unwrap();
        assert!(!compliant.is_live());
    }

    #[test]
    fn security_hub_rules_are_not_read_and_a_rule_arn_names_its_account_and_region() {
        let rule = |name: &str, created_by: Option<&str>| ConfigRule {
            config_rule_name: name.into(),
            config_rule_arn: "arn:aws:config:eu-west-1:345678901234:config-rule/config-rule-ab12cd".into(),
            created_by: created_by.map(str::to_string),
        };
        assert!(rule("s3-bucket-versioning-enabled", None).is_read());
        assert!(!rule("securityhub-s3-bucket-public-read-prohibited-a1b2c3", None).is_read());
        assert!(!rule("renamed", Some("securityhub.amazonaws.com")).is_read());
        assert_eq!(
            rule("r", None).account_and_region(),
            Some(("345678901234", "eu-west-1"))
        );
        let compliance = |t: &str| RuleCompliance {
            config_rule_name: "r".into(),
            compliance: Some(ComplianceSummary {
                compliance_type: Some(t.into()),
            }),
        };
        assert!(compliance("NON_COMPLIANT").is_non_compliant());
        assert!(!compliance("COMPLIANT").is_non_compliant());
    }
}
