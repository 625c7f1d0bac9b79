//! The one normalized finding type every source is turned into.

use crate::severity::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The AWS service (or product) that produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SourceService {
    /// Security Hub's own control checks (CSPM).
    SecurityHub,
    /// Amazon GuardDuty.
    GuardDuty,
    /// Amazon Inspector.
    Inspector,
    /// Amazon Macie.
    Macie,
    /// AWS Config (rules forwarded to Security Hub).
    Config,
    /// IAM Access Analyzer.
    AccessAnalyzer,
    /// Any other product integrated with Security Hub.
    Other,
}

impl SourceService {
    /// The display name used in tool output.
    pub fn name(self) -> &'static str {
        match self {
            SourceService::SecurityHub => "Security Hub",
            SourceService::GuardDuty => "GuardDuty",
            SourceService::Inspector => "Inspector",
            SourceService::Macie => "Macie",
            SourceService::Config => "Config",
            SourceService::AccessAnalyzer => "IAM Access Analyzer",
            SourceService::Other => "Other",
        }
    }

    /// Identifies the producing product from an ASFF `ProductArn`.
    pub fn from_product_arn(product_arn: &str) -> SourceService {
        let product = product_arn.rsplit("product/").next().unwrap_or_default();
        match product {
            "aws/securityhub" => SourceService::SecurityHub,
            "aws/guardduty" => SourceService::GuardDuty,
            "aws/inspector" => SourceService::Inspector,
            "aws/macie" => SourceService::Macie,
            "aws/config" => SourceService::Config,
            "aws/access-analyzer" => SourceService::AccessAnalyzer,
            _ => SourceService::Other,
        }
    }
}

/// The API a finding was read from (a GuardDuty finding can arrive through
/// both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// Security Hub `GetFindings`.
    SecurityHubApi,
    /// GuardDuty `GetFindings`.
    GuardDutyApi,
    /// Inspector `ListFindings`.
    InspectorApi,
    /// Macie `GetFindings`.
    MacieApi,
    /// IAM Access Analyzer `ListFindingsV2`.
    AccessAnalyzerApi,
    /// AWS Config rule evaluations (`GetComplianceDetailsByConfigRule`).
    ConfigApi,
}

impl Channel {
    /// Whether the channel is the producing service's own API (richer than
    /// the copy Security Hub keeps: the copy that wins a merge).
    pub fn is_direct(self) -> bool {
        self != Channel::SecurityHubApi
    }

    /// The API's name in tool output.
    pub fn name(self) -> &'static str {
        match self {
            Channel::SecurityHubApi => SourceService::SecurityHub.name(),
            Channel::GuardDutyApi => "GuardDuty",
            Channel::InspectorApi => "Inspector",
            Channel::MacieApi => "Macie",
            Channel::AccessAnalyzerApi => "IAM Access Analyzer",
            Channel::ConfigApi => "Config",
        }
    }
}

/// A resource a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// AWS resource type, ASFF style (`AwsEc2Instance`, `AwsS3Bucket`, ...).
    pub kind: String,
    /// The resource's identifier: an ARN or the service's own id.
    pub id: String,
}

/// Security Hub control compliance carried by a control finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceRef {
    /// `Compliance.SecurityControlId`, e.g. `S3.1`.
    pub control_id: Option<String>,
    /// `Compliance.Status`: PASSED, FAILED, WARNING, NOT_AVAILABLE.
    pub status: Option<String>,
    /// `Compliance.RelatedRequirements`.
    pub related_requirements: Vec<String>,
}

/// GuardDuty Extended Threat Detection's own correlation of signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackSequenceRef {
    /// Sequence title, e.g. "Potential data exfiltration using compromised credentials".
    pub title: String,
    /// MITRE tactics GuardDuty names in its sequence indicators.
    pub tactics: Vec<String>,
    /// MITRE techniques GuardDuty names in its sequence indicators.
    pub techniques: Vec<String>,
    /// Ids of the signals (often other findings) the sequence is built from.
    pub signal_ids: Vec<String>,
    /// Number of signals.
    pub signal_count: usize,
}

/// A finding from any source, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The id the source gives (Security Hub `Id`, GuardDuty finding ARN).
    pub id: String,
    /// Key under which the same finding from two channels is recognised:
    /// the GuardDuty finding ARN for GuardDuty findings, the ASFF `Id` else.
    pub dedup_key: String,
    /// Producing service.
    pub source: SourceService,
    /// Channels this finding was read from (two after de-duplication).
    pub channels: Vec<Channel>,
    /// The finding's type: a GuardDuty type or the first ASFF type.
    pub finding_type: String,
    /// All ASFF `Types` (or the GuardDuty type alone).
    pub types: Vec<String>,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub description: String,
    /// Severity label.
    pub severity: Severity,
    /// Severity on 0–100 (ASFF `Severity.Normalized`, GuardDuty score × 10).
    pub severity_score: f64,
    /// Account the finding is in.
    pub account_id: String,
    /// Region the finding is in.
    pub region: String,
    /// Resources concerned.
    pub resources: Vec<ResourceRef>,
    /// Principals involved: access key ids, user and role names, and the
    /// session name of role sessions.
    pub principals: Vec<String>,
    /// Remote IP addresses involved (callers, connection peers).
    pub remote_ips: Vec<String>,
    /// Domains queried or contacted.
    pub domains: Vec<String>,
    /// API calls observed (`s3:GetObject` style when the service is known).
    pub api_calls: Vec<String>,
    /// When the activity was first seen.
    pub first_seen: Timestamp,
    /// When the activity was last seen.
    pub last_seen: Timestamp,
    /// When the source last updated the finding (the time filters use this).
    pub updated_at: Timestamp,
    /// Workflow status (NEW, NOTIFIED, RESOLVED, SUPPRESSED) where known.
    pub workflow_status: Option<String>,
    /// False when the source archived the finding (ASFF `RecordState`
    /// ARCHIVED, GuardDuty `service.archived`).
    pub active: bool,
    /// Recommendation text from the source.
    pub remediation_text: Option<String>,
    /// Documentation link from the source.
    pub remediation_url: Option<String>,
    /// Control compliance, for control findings.
    pub compliance: Option<ComplianceRef>,
    /// CVE ids for vulnerability findings.
    pub cves: Vec<String>,
    /// Set for GuardDuty attack-sequence findings.
    pub attack_sequence: Option<AttackSequenceRef>,
}

impl Finding {
    /// Whether the analysis should consider the finding at all: active and
    /// not suppressed.
    pub fn is_live(&self) -> bool {
        self.active && self.workflow_status.as_deref() != Some("SUPPRESSED")
    }

    /// Whether the finding describes an open threat or weakness: live, not
    /// resolved, and not a passed control check.
    pub fn is_open(&self) -> bool {
        self.is_live()
            && self.workflow_status.as_deref() != Some("RESOLVED")
            && self
                .compliance
                .as_ref()
                .and_then(|c| c.status.as_deref())
                .is_none_or(|s| s != "PASSED")
    }

    /// Short resource ids (`i-0abc`, bucket names) rather than full ARNs.
    pub fn resource_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.resources.iter().map(|r| short_id(&r.id)).collect();
        names.dedup();
        names
    }
}

/// Why a source record could not be normalized.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    /// A required field is missing or empty.
    #[error("{format} finding {id:?}: field {field} is missing")]
    Missing {
        /// `ASFF` or `GuardDuty`.
        format: &'static str,
        /// The record's id (may be empty).
        id: String,
        /// The missing field.
        field: &'static str,
    },
    /// A timestamp could not be parsed.
    #[error("{format} finding {id:?}: field {field} is not an RFC 3339 timestamp")]
    BadTimestamp {
        /// `ASFF` or `GuardDuty`.
        format: &'static str,
        /// The record's id.
        id: String,
        /// The field.
        field: &'static str,
    },
}

/// A record's timestamps, as `(field name, text)` pairs, before parsing.
pub(crate) struct RawTimes<'a> {
    pub format: &'static str,
    pub id: &'a str,
    pub created: (&'static str, &'a str),
    pub updated: (&'static str, &'a str),
    pub first_seen: (&'static str, Option<&'a str>),
    pub last_seen: (&'static str, Option<&'a str>),
}

/// Parsed timestamps: first and last seen default to created and updated.
pub(crate) struct Times {
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub updated_at: Timestamp,
}

impl RawTimes<'_> {
    pub(crate) fn parse(&self) -> Result<Times, NormalizeError> {
        let ts = |(field, text): (&'static str, &str)| {
            crate::time::parse_timestamp(text).ok_or(NormalizeError::BadTimestamp {
                format: self.format,
                id: self.id.to_string(),
                field,
            })
        };
        let updated_at = ts(self.updated)?;
        // Sources often repeat one instant in several fields: parsed once.
        let known = |text: &str| {
            if text == self.updated.1 { Some(updated_at) } else { None }
        };
        let created_at = match known(self.created.1) {
            Some(t) => t,
            None => ts(self.created)?,
        };
        let optional = |(field, text): (&'static str, Option<&str>), default| match text {
            Some(t) if t == self.created.1 => Ok(created_at),
            Some(t) => known(t).map_or_else(|| ts((field, t)), Ok),
            None => Ok(default),
        };
        Ok(Times {
            first_seen: optional(self.first_seen, created_at)?,
            last_seen: optional(self.last_seen, updated_at)?,
            updated_at,
        })
    }
}

/// Adds the session name of a role session principal id (`AROA...:session`):
/// an EC2 instance's role session is named after the instance.
pub(crate) fn push_session_name(principals: &mut Vec<String>, principal_id: &str) {
    if let Some((_, session)) = principal_id.split_once(':')
        && !session.is_empty()
    {
        push_unique(principals, Some(session.to_string()));
    }
}

pub(crate) fn push_unique(list: &mut Vec<String>, value: Option<String>) {
    if let Some(v) = value
        && !v.is_empty()
        && !list.contains(&v)
    {
        list.push(v);
    }
}

pub(crate) fn qualified_api(service: Option<&str>, api: Option<&str>) -> Option<String> {
    let api = api?;
    Some(match service {
        Some(s) if !s.is_empty() => format!("{}:{api}", s.trim_end_matches(".amazonaws.com")),
        _ => api.to_string(),
    })
}

/// A CloudFormation resource type (`AWS::S3::Bucket`, as Config and Access
/// Analyzer name them) in ASFF's naming (`AwsS3Bucket`), so a resource read
/// directly and through Security Hub looks alike.
pub fn asff_resource_type(cloudformation_type: &str) -> String {
    let mut out = String::with_capacity(cloudformation_type.len());
    for part in cloudformation_type.split("::") {
        // Acronyms become words: AWS -> Aws, EC2 -> Ec2, DBInstance -> DbInstance.
        let chars: Vec<char> = part.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let after_capital = i > 0 && (chars[i - 1].is_ascii_uppercase() || chars[i - 1].is_ascii_digit());
            let starts_word = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if c.is_ascii_uppercase() && after_capital && !starts_word {
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// The short form of a resource id: the part after the last `/` of an ARN,
/// or after the last `:` when there is no `/`; other ids unchanged.
pub fn short_id(id: &str) -> String {
    if let Some(account) = id.strip_prefix("AWS::::Account:") {
        return format!("account {account}");
    }
    if !id.starts_with("arn:") {
        return id.to_string();
    }
    let tail = match id.rsplit_once('/') {
        Some((_, tail)) => tail,
        None => id.rsplit(':').next().unwrap_or(id),
    };
    if tail.is_empty() {
        id.to_string()
    } else {
        tail.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_drop_arn_prefixes() {
        assert_eq!(short_id("arn:aws:ec2:us-east-1:1:instance/i-0abc"), "i-0abc");
        assert_eq!(short_id("arn:aws:s3:::my-bucket"), "my-bucket");
        assert_eq!(short_id("i-0abc"), "i-0abc");
        assert_eq!(asff_resource_type("AWS::EC2::SecurityGroup"), "AwsEc2SecurityGroup");
        assert_eq!(asff_resource_type("AWS::RDS::DBInstance"), "AwsRdsDbInstance");
        assert_eq!(asff_resource_type("AWS::IAM::Role"), "AwsIamRole");
        assert_eq!(asff_resource_type("AWS::S3::Bucket"), "AwsS3Bucket");
        assert_eq!(asff_resource_type("AWS::CloudTrail::Trail"), "AwsCloudTrailTrail");
        assert_eq!(short_id("AWS::::Account:123456789012"), "account 123456789012");
    }

    #[test]
    fn products_are_recognised_from_their_arn() {
        assert_eq!(
            SourceService::from_product_arn("arn:aws:securityhub:us-east-1::product/aws/guardduty"),
            SourceService::GuardDuty
        );
        assert_eq!(
            SourceService::from_product_arn("arn:aws:securityhub:eu-west-1::product/aws/securityhub"),
            SourceService::SecurityHub
        );
        assert_eq!(
            SourceService::from_product_arn("arn:aws:securityhub:us-east-1:123:product/123/default"),
            SourceService::Other
        );
    }
}
