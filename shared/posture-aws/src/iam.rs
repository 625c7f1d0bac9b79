//! The AWS actions this crate calls, declared beside the code that calls them
//! (the deployment's IAM policies are checked against this list).

/// `service:Action` names called by the finding sources and the
/// health probe.
pub const ACTIONS: &[&str] = &[
    "sts:GetCallerIdentity",
    "securityhub:DescribeHub",
    "securityhub:GetFindings",
    "guardduty:ListDetectors",
    "guardduty:GetDetector",
    "guardduty:ListFindings",
    "guardduty:GetFindings",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:GetAccountSummary",
    "iam:GetAccountPasswordPolicy",
    "iam:ListUsers",
    "iam:ListAttachedUserPolicies",
    "iam:ListUserPolicies",
    "iam:ListGroupsForUser",
    "iam:ListPolicies",
    "iam:GetPolicyVersion",
    "iam:ListEntitiesForPolicy",
    "iam:ListServerCertificates",
    "kms:ListKeys",
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeDeliveryChannels",
    "config:DescribeConfigRules",
    "config:DescribeComplianceByConfigRule",
    "config:DescribeConformancePacks",
    "config:GetConformancePackComplianceSummary",
    "securityhub:GetEnabledStandards",
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetEncryptionConfiguration",
    "s3:GetBucketVersioning",
    "s3:GetBucketLogging",
    "s3:GetBucketPolicy",
    "s3:GetBucketPolicyStatus",
    "s3:GetBucketAcl",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
    "ec2:DescribeRegions",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeVpcs",
    "ec2:DescribeFlowLogs",
    "ec2:GetEbsEncryptionByDefault",
    "ec2:DescribeInstances",
    "inspector2:BatchGetAccountStatus",
    "macie2:GetMacieSession",
    "access-analyzer:ListAnalyzers",
    "rds:DescribeDBInstances",
    "elasticfilesystem:DescribeFileSystems",
];

/// `service:Action` names the assessor, collector and MCP server call in the
/// product's own account, on its own resources (never in a member account:
/// there only [`ACTIONS`], through the assumed read-only role).
/// `TransactWriteItems` is authorized as the `PutItem`s it contains.
pub const OWN_ACCOUNT_ACTIONS: &[&str] = &[
    "organizations:ListAccounts",
    "sts:AssumeRole",
    "lambda:InvokeFunction",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "s3:GetObject",
    "s3:PutObject",
];

#[cfg(test)]
mod tests {
    use super::{ACTIONS, OWN_ACCOUNT_ACTIONS};

    /// The sources of every adapter, to find the `service:Action` names
    /// their calls are labelled with.
    const SOURCES: &[(&str, &str)] = &[
        ("collect/mod.rs", include_str!("collect/mod.rs")),
        ("collect/iam.rs", include_str!("collect/iam.rs")),
        ("collect/kms.rs", include_str!("collect/kms.rs")),
        ("collect/config.rs", include_str!("collect/config.rs")),
        ("collect/s3.rs", include_str!("collect/s3.rs")),
        ("collect/cloudtrail.rs", include_str!("collect/cloudtrail.rs")),
        ("collect/ec2.rs", include_str!("collect/ec2.rs")),
        ("collect/services.rs", include_str!("collect/services.rs")),
        ("collect/rds.rs", include_str!("collect/rds.rs")),
        ("collect/efs.rs", include_str!("collect/efs.rs")),
        ("collector.rs", include_str!("collector.rs")),
        ("org.rs", include_str!("org.rs")),
        ("store/dynamodb.rs", include_str!("store/dynamodb.rs")),
    ];

    #[test]
    fn every_labelled_call_is_declared() {
        for (file, text) in SOURCES {
            for quoted in text.split('"').skip(1).step_by(2) {
                let Some((service, action)) = quoted.split_once(':') else {
                    continue;
                };
                let labelled = !service.is_empty()
                    && service
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && action.starts_with(|c: char| c.is_ascii_uppercase())
                    && action.bytes().all(|b| b.is_ascii_alphanumeric());
                if labelled {
                    assert!(
                        ACTIONS.contains(&quoted) || OWN_ACCOUNT_ACTIONS.contains(&quoted),
                        "{file} calls {quoted}, which ACTIONS does not declare"
                    );
                }
            }
        }
    }

    #[test]
    fn every_action_is_read_only() {
        for action in ACTIONS {
            let (service, name) = action.split_once(':').unwrap();
            assert!(!service.is_empty());
            // GenerateCredentialReport only asks IAM to build the read-only
            // report; IAM classes it as a Read action.
            assert!(
                ["Get", "List", "Describe", "BatchGet"]
                    .iter()
                    .any(|p| name.starts_with(p))
                    || *action == "iam:GenerateCredentialReport",
                "{action} is not a read-only action"
            );
        }
    }
}
