//! GuardDuty findings as GuardDuty `GetFindings` returns them (REST JSON,
//! camelCase): the fields we read, typed, and their normalization.

use crate::finding::{
    AttackSequenceRef, Channel, Finding, NormalizeError, RawTimes, ResourceRef, SourceService, Times,
};
use crate::finding::{push_session_name, push_unique, qualified_api};
use crate::findings::attack;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};

/// One GuardDuty finding (the subset the product reads).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdFinding {
    pub account_id: String,
    pub arn: String,
    pub confidence: Option<f64>,
    pub created_at: String,
    pub description: String,
    pub id: String,
    pub partition: Option<String>,
    pub region: String,
    pub resource: GdResource,
    pub schema_version: Option<String>,
    pub service: GdService,
    pub severity: f64,
    pub title: String,
    #[serde(rename = "type")]
    pub finding_type: String,
    pub updated_at: String,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdResource {
    pub resource_type: String,
    pub access_key_details: Option<GdAccessKeyDetails>,
    pub instance_details: Option<GdInstanceDetails>,
    pub s3_bucket_details: Vec<GdS3Bucket>,
    pub eks_cluster_details: Option<GdNamed>,
    pub lambda_details: Option<GdLambda>,
    pub rds_db_instance_details: Option<GdRds>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdAccessKeyDetails {
    pub access_key_id: Option<String>,
    pub principal_id: Option<String>,
    pub user_name: Option<String>,
    pub user_type: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdInstanceDetails {
    pub instance_id: Option<String>,
    pub iam_instance_profile: Option<GdInstanceProfile>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdInstanceProfile {
    pub arn: Option<String>,
    pub id: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdS3Bucket {
    pub arn: Option<String>,
    pub name: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdNamed {
    pub name: Option<String>,
    pub arn: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdLambda {
    pub function_name: Option<String>,
    pub function_arn: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdRds {
    pub db_instance_identifier: Option<String>,
    pub db_instance_arn: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdService {
    pub action: Option<GdAction>,
    pub archived: bool,
    pub count: Option<i64>,
    pub detector_id: Option<String>,
    pub event_first_seen: Option<String>,
    pub event_last_seen: Option<String>,
    pub resource_role: Option<String>,
    pub detection: Option<GdDetection>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdAction {
    pub action_type: Option<String>,
    pub aws_api_call_action: Option<GdApiCall>,
    pub network_connection_action: Option<GdNetworkConnection>,
    pub dns_request_action: Option<GdDnsRequest>,
    pub port_probe_action: Option<GdPortProbe>,
    pub kubernetes_api_call_action: Option<GdRemoteHolder>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdApiCall {
    pub api: Option<String>,
    pub service_name: Option<String>,
    pub caller_type: Option<String>,
    pub remote_ip_details: Option<GdRemoteIp>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdNetworkConnection {
    pub connection_direction: Option<String>,
    pub remote_ip_details: Option<GdRemoteIp>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdDnsRequest {
    pub domain: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdPortProbe {
    pub port_probe_details: Vec<GdRemoteHolder>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdRemoteHolder {
    pub remote_ip_details: Option<GdRemoteIp>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdRemoteIp {
    pub ip_address_v4: Option<String>,
    pub ip_address_v6: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdDetection {
    pub sequence: Option<GdSequence>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdSequence {
    pub uid: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub actors: Vec<GdActor>,
    pub resources: Vec<GdSequenceResource>,
    pub endpoints: Vec<GdEndpoint>,
    pub signals: Vec<GdSignal>,
    pub sequence_indicators: Vec<GdIndicator>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdActor {
    pub id: Option<String>,
    pub user: Option<GdUser>,
    pub session: Option<GdSession>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdUser {
    pub name: Option<String>,
    pub uid: Option<String>,
    pub credential_uid: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdSession {
    pub uid: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdSequenceResource {
    pub uid: Option<String>,
    pub name: Option<String>,
    pub resource_type: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdEndpoint {
    pub id: Option<String>,
    pub ip: Option<String>,
    pub domain: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdSignal {
    pub uid: Option<String>,
    #[serde(rename = "type")]
    pub signal_type: Option<String>,
    pub name: Option<String>,
}

#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GdIndicator {
    pub key: Option<String>,
    pub values: Vec<String>,
    pub title: Option<String>,
}

impl GdFinding {
    /// Normalizes the finding.
    pub fn normalize(&self) -> Result<Finding, NormalizeError> {
        let missing = |field| NormalizeError::Missing {
            format: "GuardDuty",
            id: self.id.clone(),
            field,
        };
        if self.arn.is_empty() {
            return Err(missing("arn"));
        }
        if self.account_id.is_empty() {
            return Err(missing("accountId"));
        }
        if self.finding_type.is_empty() {
            return Err(missing("type"));
        }
        let Times {
            first_seen,
            last_seen,
            updated_at,
        } = RawTimes {
            format: "GuardDuty",
            id: &self.id,
            created: ("createdAt", &self.created_at),
            updated: ("updatedAt", &self.updated_at),
            first_seen: ("service.eventFirstSeen", self.service.event_first_seen.as_deref()),
            last_seen: ("service.eventLastSeen", self.service.event_last_seen.as_deref()),
        }
        .parse()?;

        let mut resources = Vec::new();
        let mut principals = Vec::new();
        let mut remote_ips = Vec::new();
        let mut domains = Vec::new();
        let mut api_calls = Vec::new();
        let r = &self.resource;
        if let Some(key) = &r.access_key_details {
            if let Some(id) = key.access_key_id.clone().filter(|k| !k.is_empty()) {
                resources.push(ResourceRef {
                    kind: "AwsIamAccessKey".into(),
                    id: id.clone(),
                });
                push_unique(&mut principals, Some(id));
            }
            // Root is everyone's root: linking on it would merge unrelated activity.
            if key.user_type.as_deref() != Some("Root") {
                push_unique(&mut principals, key.user_name.clone());
            }
            if let Some(pid) = &key.principal_id {
                push_session_name(&mut principals, pid);
            }
        }
        if let Some(instance) = &r.instance_details
            && let Some(id) = instance.instance_id.clone().filter(|i| !i.is_empty())
        {
            resources.push(ResourceRef {
                kind: "AwsEc2Instance".into(),
                id,
            });
        }
        for bucket in &r.s3_bucket_details {
            if let Some(name) = bucket.name.clone().or_else(|| bucket.arn.clone()) {
                resources.push(ResourceRef {
                    kind: "AwsS3Bucket".into(),
                    id: name,
                });
            }
        }
        if let Some(eks) = &r.eks_cluster_details
            && let Some(name) = eks.name.clone()
        {
            resources.push(ResourceRef {
                kind: "AwsEksCluster".into(),
                id: name,
            });
        }
        if let Some(lambda) = &r.lambda_details
            && let Some(name) = lambda.function_name.clone()
        {
            resources.push(ResourceRef {
                kind: "AwsLambdaFunction".into(),
                id: name,
            });
        }
        if let Some(rds) = &r.rds_db_instance_details
            && let Some(name) = rds.db_instance_identifier.clone()
        {
            resources.push(ResourceRef {
                kind: "AwsRdsDbInstance".into(),
                id: name,
            });
        }

        if let Some(action) = &self.service.action {
            let ip = |r: &Option<GdRemoteIp>| {
                r.as_ref()
                    .and_then(|r| r.ip_address_v4.clone().or_else(|| r.ip_address_v6.clone()))
            };
            if let Some(call) = &action.aws_api_call_action {
                push_unique(&mut remote_ips, ip(&call.remote_ip_details));
                push_unique(
                    &mut api_calls,
                    qualified_api(call.service_name.as_deref(), call.api.as_deref()),
                );
            }
            if let Some(conn) = &action.network_connection_action {
                push_unique(&mut remote_ips, ip(&conn.remote_ip_details));
            }
            if let Some(dns) = &action.dns_request_action {
                push_unique(&mut domains, dns.domain.clone());
            }
            if let Some(probe) = &action.port_probe_action {
                for detail in &probe.port_probe_details {
                    push_unique(&mut remote_ips, ip(&detail.remote_ip_details));
                }
            }
            if let Some(k8s) = &action.kubernetes_api_call_action {
                push_unique(&mut remote_ips, ip(&k8s.remote_ip_details));
            }
        }

        let attack_sequence = self
            .service
            .detection
            .as_ref()
            .and_then(|d| d.sequence.as_ref())
            .map(|seq| {
                for actor in &seq.actors {
                    if let Some(user) = &actor.user {
                        push_unique(&mut principals, user.credential_uid.clone());
                        push_unique(&mut principals, user.name.clone());
                    }
                    if let Some(session) = actor.session.as_ref().and_then(|s| s.uid.as_deref()) {
                        push_session_name(&mut principals, session);
                    }
                }
                for res in &seq.resources {
                    if let Some(uid) = res.uid.clone().or_else(|| res.name.clone()) {
                        let kind = res.resource_type.clone().unwrap_or_else(|| "Other".into());
                        if !resources.iter().any(|r| r.id == uid) {
                            resources.push(ResourceRef { kind, id: uid });
                        }
                    }
                }
                for endpoint in &seq.endpoints {
                    push_unique(&mut remote_ips, endpoint.ip.clone());
                    push_unique(&mut domains, endpoint.domain.clone());
                }
                let indicator = |key: &str| -> Vec<String> {
                    seq.sequence_indicators
                        .iter()
                        .filter(|i| i.key.as_deref() == Some(key))
                        .flat_map(|i| i.values.iter().cloned())
                        .collect()
                };
                AttackSequenceRef {
                    title: seq.title.clone().unwrap_or_else(|| self.title.clone()),
                    tactics: indicator("ATTACK_TACTIC"),
                    techniques: indicator("ATTACK_TECHNIQUE"),
                    signal_ids: seq.signals.iter().filter_map(|s| s.uid.clone()).collect(),
                    signal_count: seq.signals.len(),
                }
            });

        Ok(Finding {
            id: self.arn.clone(),
            dedup_key: self.arn.clone(),
            source: SourceService::GuardDuty,
            channels: vec![Channel::GuardDutyApi],
            finding_type: self.finding_type.clone(),
            types: vec![self.finding_type.clone()],
            title: self.title.clone(),
            description: self.description.clone(),
            severity: Severity::from_guardduty(self.severity),
            severity_score: (self.severity * 10.0).clamp(0.0, 100.0),
            account_id: self.account_id.clone(),
            region: self.region.clone(),
            resources,
            principals,
            remote_ips,
            domains,
            api_calls,
            first_seen,
            last_seen,
            updated_at,
            workflow_status: None,
            active: !self.service.archived,
            remediation_text: None,
            remediation_url: Some(attack::guardduty_doc_url(&self.finding_type)),
            compliance: None,
            cves: Vec::new(),
            attack_sequence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exfiltration() -> serde_json::Value {
        serde_json::json!({
            "accountId": "345678901234",
            "arn": "arn:aws:guardduty:us-east-1:345678901234:detector/d1/finding/f1",
            "createdAt": "2026-11-20T10:00:00.000Z",
            "description": "Credentials created exclusively for an EC2 instance are being used from an external IP address.",
            "id": "f1",
            "partition": "aws",
            "region": "us-east-1",
            "resource": {
                "resourceType": "AccessKey",
                "accessKeyDetails": {
                    "accessKeyId": "ASIAEXAMPLE",
                    "principalId": "AROAEXAMPLE:i-0abc",
                    "userName": "app-role",
                    "userType": "AssumedRole"
                }
            },
            "schemaVersion": "2.0",
            "service": {
                "action": {"actionType": "AWS_API_CALL", "awsApiCallAction": {
                    "api": "ListBuckets", "serviceName": "s3.amazonaws.com", "callerType": "Remote IP",
                    "remoteIpDetails": {"ipAddressV4": "198.51.100.23"}}},
                "archived": false, "count": 3, "detectorId": "d1",
                "eventFirstSeen": "2026-11-20T09:00:00.000Z", "eventLastSeen": "2026-11-20T09:30:00.000Z",
                "resourceRole": "TARGET", "serviceName": "guardduty"
            },
            "severity": 8,
            "title": "Credentials for instance role app-role used from external IP address.",
            "type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            "updatedAt": "2026-11-20T10:00:00.000Z"
        })
    }

    #[test]
    fn guardduty_findings_normalize_with_their_entities() {
        let gd: GdFinding = serde_json::from_value(exfiltration()).unwrap();
        let f = gd.normalize().unwrap();
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.severity_score, 80.0);
        assert_eq!(f.principals, vec!["ASIAEXAMPLE", "app-role", "i-0abc"]);
        assert_eq!(f.remote_ips, vec!["198.51.100.23"]);
        assert_eq!(f.api_calls, vec!["s3:ListBuckets"]);
        assert_eq!(f.first_seen.to_string(), "2026-11-20T09:00:00Z");
        assert!(f.is_live());
    }

    #[test]
    fn archived_guardduty_findings_are_not_live() {
        let mut v = exfiltration();
        v["service"]["archived"] = true.into();
        let f = serde_json::from_value::<GdFinding>(v).unwrap().normalize().unwrap();
        assert!(!f.is_live());
    }

    #[test]
    fn findings_without_arn_are_rejected() {
        let mut v = exfiltration();
        v["arn"] = "".into();
        let err = serde_json::from_value::<GdFinding>(v).unwrap().normalize().unwrap_err();
        assert!(matches!(err, NormalizeError::Missing { field: "arn", .. }));
    }
}
