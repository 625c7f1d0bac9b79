//! `suggest_aws_read`'s ranking on questions people ask: a correct
//! operation first for at least 16 of these 20.

use posture_explorer::suggest::suggest;

/// A question and the operations that answer it (any of them counts).
const QUESTIONS: &[(&str, &[&str])] = &[
    (
        "which security groups allow 0.0.0.0/0 on port 22",
        &["ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"],
    ),
    (
        "which lambda functions use a deprecated runtime",
        &["lambda:ListFunctions"],
    ),
    ("show the bucket policy of my-bucket", &["s3:GetBucketPolicy"]),
    ("list all IAM users", &["iam:ListUsers"]),
    (
        "which IAM users have MFA devices",
        &["iam:ListMFADevices", "iam:ListVirtualMFADevices"],
    ),
    ("is key rotation enabled for my KMS keys", &["kms:GetKeyRotationStatus"]),
    (
        "which CloudTrail trails exist",
        &["cloudtrail:DescribeTrails", "cloudtrail:ListTrails"],
    ),
    (
        "which RDS databases are publicly accessible",
        &["rds:DescribeDBInstances"],
    ),
    (
        "which EC2 instances are running",
        &["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"],
    ),
    ("which EBS volumes are not encrypted", &["ec2:DescribeVolumes"]),
    ("which S3 buckets exist in the account", &["s3:ListBuckets"]),
    ("what is the account password policy", &["iam:GetAccountPasswordPolicy"]),
    ("which VPCs have flow logs enabled", &["ec2:DescribeFlowLogs"]),
    (
        "list the secrets stored in Secrets Manager",
        &["secretsmanager:ListSecrets"],
    ),
    (
        "which ACM certificates expire soon",
        &["acm:ListCertificates", "acm:DescribeCertificate"],
    ),
    (
        "which CloudWatch log groups have no retention",
        &["logs:DescribeLogGroups"],
    ),
    ("which DynamoDB tables exist", &["dynamodb:ListTables"]),
    ("which EKS clusters are there", &["eks:ListClusters"]),
    (
        "which accounts are in the organization",
        &["organizations:ListAccounts"],
    ),
    (
        "what GuardDuty findings are open",
        &["guardduty:ListFindings", "guardduty:GetFindings"],
    ),
];

#[test]
fn suggestions_rank_a_correct_operation_first_for_most_questions() {
    let mut first = 0;
    let mut report = Vec::new();
    for (question, answers) in QUESTIONS {
        let got = suggest(question, None, 5).unwrap();
        let names: Vec<String> = got.iter().map(|s| format!("{}:{}", s.service, s.operation)).collect();
        let top = names.first().is_some_and(|n| answers.contains(&n.as_str()));
        if top {
            first += 1;
        }
        for s in &got {
            assert!(matches!(s.access_level.as_str(), "List" | "Read"), "{s:?}");
        }
        report.push(format!("{} {question:?}: {names:?}", if top { "ok  " } else { "MISS" }));
    }
    println!("{}", report.join("\n"));
    assert_eq!(QUESTIONS.len(), 20);
    assert!(first >= 16, "{first} of 20 first:\n{}", report.join("\n"));
}
