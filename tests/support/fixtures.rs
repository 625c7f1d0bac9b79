//! Findings shaped as AWS returns them, for moto and the stand-in.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, RecordState, Resource, Severity, SeverityLabel, Workflow, WorkflowStatus,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// The account moto's static test credentials belong to.
pub const MOTO_ACCOUNT: &str = "123456789012";
/// The stand-in's detector.
pub const DETECTOR: &str = "12abc34d567e8fa901bc2d34e56789f0";

/// RFC 3339 time `hours` before now.
pub fn hours_ago(hours: i64) -> String {
    (Timestamp::now() - SignedDuration::from_hours(hours)).to_string()
}

/// The ARN GuardDuty gives a finding of the stand-in's detector.
pub fn guardduty_arn(id: &str) -> String {
    format!("arn:aws:guardduty:us-east-1:{MOTO_ACCOUNT}:detector/{DETECTOR}/finding/{id}")
}

/// A GuardDuty API `Finding` (REST JSON, camelCase) of an EC2 instance
/// talking to a remote IP.
pub fn guardduty_finding(id: &str, finding_type: &str, severity: f64, updated_hours_ago: i64, archived: bool) -> Value {
    let updated = hours_ago(updated_hours_ago);
    let first = hours_ago(updated_hours_ago + 2);
    json!({
        "accountId": MOTO_ACCOUNT,
        "arn": guardduty_arn(id),
        "createdAt": first,
        "description": format!("{finding_type} observed on i-0123456789abcdef0."),
        "id": id,
        "partition": "aws",
        "region": "us-east-1",
        "resource": {
            "resourceType": "Instance",
            "instanceDetails": {
                "instanceId": "i-0123456789abcdef0",
                "instanceType": "t3.medium",
                "iamInstanceProfile": {"arn": format!("arn:aws:iam::{MOTO_ACCOUNT}:instance-profile/web"), "id": "AIPAEXAMPLEPROFILE01"}
            }
        },
        "schemaVersion": "2.0",
        "service": {
            "action": {
                "actionType": "NETWORK_CONNECTION",
                "networkConnectionAction": {
                    "blocked": false,
                    "connectionDirection": "OUTBOUND",
                    "protocol": "TCP",
                    "remoteIpDetails": {"ipAddressV4": "203.0.113.77", "country": {"countryName": "Example"}}
                }
            },
            "archived": archived,
            "count": 3,
            "detectorId": DETECTOR,
            "eventFirstSeen": first,
            "eventLastSeen": updated,
            "resourceRole": "ACTOR",
            "serviceName": "guardduty"
        },
        "severity": severity,
        "title": format!("{finding_type} on i-0123456789abcdef0"),
        "type": finding_type,
        "updatedAt": updated
    })
}

/// An ASFF finding for `BatchImportFindings`.
#[allow(clippy::too_many_arguments)]
pub fn asff(
    id: &str,
    product: &str,
    label: SeverityLabel,
    updated_hours_ago: i64,
    record_state: RecordState,
    workflow: WorkflowStatus,
    types: &[&str],
) -> AwsSecurityFinding {
    let normalized = match label {
        SeverityLabel::Critical => 90,
        SeverityLabel::High => 70,
        SeverityLabel::Medium => 40,
        SeverityLabel::Low => 1,
        _ => 0,
    };
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(format!("arn:aws:securityhub:us-east-1::product/aws/{product}"))
        .generator_id(format!("{product}-generator"))
        .aws_account_id(MOTO_ACCOUNT)
        .region("us-east-1")
        .set_types(Some(types.iter().map(|t| t.to_string()).collect()))
        .created_at(hours_ago(updated_hours_ago + 24))
        .updated_at(hours_ago(updated_hours_ago))
        .severity(Severity::builder().label(label).normalized(normalized).build())
        .title(format!("finding {id}"))
        .description(format!("test finding {id}"))
        .resources(
            Resource::builder()
                .r#type("AwsEc2Instance")
                .id(format!(
                    "arn:aws:ec2:us-east-1:{MOTO_ACCOUNT}:instance/i-0123456789abcdef0"
                ))
                .build(),
        )
        .record_state(record_state)
        .workflow(Workflow::builder().status(workflow).build())
        .build()
}

/// `tests/fixtures/events/`: the event files of the three functions.
pub fn events_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/events")
}

/// The event file `name`, parsed.
pub fn event(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(events_dir().join(name)).unwrap()).unwrap()
}
