//! The AWS actions this crate calls, declared beside the code that calls them
//! (the deployment's IAM policies are checked against this list).

/// `(service prefix, action)` pairs called by the finding sources and the
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
