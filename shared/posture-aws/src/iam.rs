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
];

#[cfg(test)]
mod tests {
    use super::ACTIONS;

    #[test]
    fn every_action_is_read_only() {
        for action in ACTIONS {
            let (service, name) = action.split_once(':').unwrap();
            assert!(!service.is_empty());
            // GenerateCredentialReport only asks IAM to build the read-only
            // report; IAM classes it as a Read action.
            assert!(
                ["Get", "List", "Describe"].iter().any(|p| name.starts_with(p))
                    || *action == "iam:GenerateCredentialReport",
                "{action} is not a read-only action"
            );
        }
    }
}
