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
];

#[cfg(test)]
mod tests {
    use super::ACTIONS;

    #[test]
    fn every_action_is_read_only() {
        for action in ACTIONS {
            let (service, name) = action.split_once(':').unwrap();
            assert!(!service.is_empty());
            assert!(
                ["Get", "List", "Describe"].iter().any(|p| name.starts_with(p)),
                "{action} is not a read-only action"
            );
        }
    }
}
