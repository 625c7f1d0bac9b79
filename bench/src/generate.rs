//! Generated ASFF findings, shaped as Security Hub's `GetFindings` returns
//! them (every top-level field AWS fills, nested details included), so a
//! page weighs what a real one does: about 2.7 KB per finding, 270 MB for
//! 100,000. Finding `n` of an account and Region is always the same bytes,
//! so the collector and the parse floor read identical pages.

use std::fmt::Write;

/// Security Hub's largest page.
pub const PAGE_SIZE: usize = 100;

/// What a generated finding is about.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    /// Account id.
    pub account: &'a str,
    /// Region.
    pub region: &'a str,
    /// When the findings were last updated (RFC 3339), within the collector's window.
    pub updated_at: &'a str,
}

const CONTROLS: &[(&str, &str, &str, &str)] = &[
    (
        "EC2.19",
        "HIGH",
        "Security groups should not allow unrestricted access to ports with high risk",
        "AwsEc2SecurityGroup",
    ),
    (
        "S3.8",
        "HIGH",
        "S3 general purpose buckets should block public access",
        "AwsS3Bucket",
    ),
    (
        "IAM.6",
        "CRITICAL",
        "Hardware MFA should be enabled for the root user",
        "AwsAccount",
    ),
    ("KMS.4", "MEDIUM", "AWS KMS key rotation should be enabled", "AwsKmsKey"),
    (
        "CloudTrail.2",
        "MEDIUM",
        "CloudTrail should have encryption at-rest enabled",
        "AwsCloudTrailTrail",
    ),
];

fn severity_normalized(label: &str) -> u32 {
    match label {
        "CRITICAL" => 90,
        "HIGH" => 70,
        "MEDIUM" => 40,
        _ => 1,
    }
}

/// Appends finding `n` to `out`: four in five are Security Hub control
/// findings, one in five a GuardDuty finding imported into Security Hub.
pub fn finding(out: &mut String, scope: &Scope<'_>, n: usize) {
    if n % 5 == 4 {
        guardduty_finding(out, scope, n);
    } else {
        control_finding(out, scope, n);
    }
}

fn control_finding(out: &mut String, s: &Scope<'_>, n: usize) {
    let (control, label, title, kind) = CONTROLS[n % CONTROLS.len()];
    let (account, region, at) = (s.account, s.region, s.updated_at);
    let resource_id = match kind {
        "AwsEc2SecurityGroup" => format!("arn:aws:ec2:{region}:{account}:security-group/sg-{n:017x}"),
        "AwsS3Bucket" => format!("arn:aws:s3:::bench-bucket-{account}-{n}"),
        "AwsKmsKey" => format!("arn:aws:kms:{region}:{account}:key/{n:08x}-0000-4000-8000-{n:012x}"),
        "AwsCloudTrailTrail" => format!("arn:aws:cloudtrail:{region}:{account}:trail/trail-{n}"),
        _ => format!("AWS::::Account:{account}"),
    };
    let normalized = severity_normalized(label);
    let _ = write!(
        out,
        r#"{{"SchemaVersion":"2018-10-08","Id":"arn:aws:securityhub:{region}:{account}:security-control/{control}/finding/{n:08x}-5f2e-4c1a-9b7d-{n:012x}","ProductArn":"arn:aws:securityhub:{region}::product/aws/securityhub","ProductName":"Security Hub","CompanyName":"AWS","Region":"{region}","GeneratorId":"security-control/{control}","AwsAccountId":"{account}","Types":["Software and Configuration Checks/Industry and Regulatory Standards"],"FirstObservedAt":"{at}","LastObservedAt":"{at}","CreatedAt":"{at}","UpdatedAt":"{at}","Severity":{{"Label":"{label}","Normalized":{normalized},"Original":"{label}"}},"Title":"{control} {title}","Description":"This control checks whether the resource is configured as the {control} requirement of AWS Foundational Security Best Practices expects. The control fails if it is not.","Remediation":{{"Recommendation":{{"Text":"For information on how to correct this issue, consult the AWS Security Hub controls documentation.","Url":"https://docs.aws.amazon.com/console/securityhub/{control}/remediation"}}}},"ProductFields":{{"RelatedAWSResources:0/name":"securityhub-{control}-{n:08x}","RelatedAWSResources:0/type":"AWS::Config::ConfigRule","aws/securityhub/ProductName":"Security Hub","aws/securityhub/CompanyName":"AWS","Resources:0/Id":"{resource_id}","aws/securityhub/FindingId":"arn:aws:securityhub:{region}::product/aws/securityhub/arn:aws:securityhub:{region}:{account}:security-control/{control}/finding/{n:08x}"}},"Resources":[{{"Type":"{kind}","Id":"{resource_id}","Partition":"aws","Region":"{region}","Details":{{"AwsEc2SecurityGroup":{{"GroupName":"bench-{n}","GroupId":"sg-{n:017x}","OwnerId":"{account}","VpcId":"vpc-{n:017x}","IpPermissions":[{{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{{"CidrIp":"0.0.0.0/0"}}]}},{{"IpProtocol":"tcp","FromPort":3389,"ToPort":3389,"IpRanges":[{{"CidrIp":"0.0.0.0/0"}}]}}]}}}}}}],"Compliance":{{"Status":"FAILED","SecurityControlId":"{control}","AssociatedStandards":[{{"StandardsId":"standards/aws-foundational-security-best-practices/v/1.0.0"}},{{"StandardsId":"standards/cis-aws-foundations-benchmark/v/3.0.0"}}],"RelatedRequirements":["NIST.800-53.r5 AC-4","NIST.800-53.r5 CM-7","NIST.800-53.r5 SC-7","PCI DSS v4.0.1/1.3.1"]}},"WorkflowState":"NEW","Workflow":{{"Status":"NEW"}},"RecordState":"ACTIVE","FindingProviderFields":{{"Severity":{{"Label":"{label}","Original":"{label}"}},"Types":["Software and Configuration Checks/Industry and Regulatory Standards"]}},"ProcessedAt":"{at}","AwsAccountName":"bench-{account}"}}"#
    );
}

fn guardduty_finding(out: &mut String, s: &Scope<'_>, n: usize) {
    let (account, region, at) = (s.account, s.region, s.updated_at);
    let ip = format!("198.51.100.{}", n % 250 + 1);
    let _ = write!(
        out,
        r#"{{"SchemaVersion":"2018-10-08","Id":"arn:aws:guardduty:{region}:{account}:detector/12abc34d567e8fa901bc2d34e56789f0/finding/{n:032x}","ProductArn":"arn:aws:securityhub:{region}::product/aws/guardduty","ProductName":"GuardDuty","CompanyName":"Amazon","Region":"{region}","GeneratorId":"arn:aws:guardduty:{region}:{account}:detector/12abc34d567e8fa901bc2d34e56789f0","AwsAccountId":"{account}","Types":["TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS"],"FirstObservedAt":"{at}","LastObservedAt":"{at}","CreatedAt":"{at}","UpdatedAt":"{at}","Severity":{{"Label":"HIGH","Normalized":80,"Product":8.0}},"Title":"EC2 instance i-{n:017x} is querying a domain name associated with a known Command & Control server.","Description":"EC2 instance i-{n:017x} is querying algorithmically generated domains. Such domains are commonly used by malware and can be an indication of a compromised EC2 instance.","ProductFields":{{"aws/guardduty/service/action/actionType":"DNS_REQUEST","aws/guardduty/service/action/dnsRequestAction/domain":"c2.example.com","aws/guardduty/service/action/dnsRequestAction/protocol":"UDP","aws/guardduty/service/action/dnsRequestAction/blocked":"false","aws/guardduty/service/archived":"false","aws/guardduty/service/count":"{count}","aws/guardduty/service/detectorId":"12abc34d567e8fa901bc2d34e56789f0","aws/guardduty/service/eventFirstSeen":"{at}","aws/guardduty/service/eventLastSeen":"{at}","aws/guardduty/service/resourceRole":"TARGET","aws/guardduty/service/serviceName":"guardduty","aws/guardduty/service/additionalInfo/threatListName":"ProofPoint","aws/securityhub/FindingId":"arn:aws:securityhub:{region}::product/aws/guardduty/arn:aws:guardduty:{region}:{account}:detector/12abc34d567e8fa901bc2d34e56789f0/finding/{n:032x}","aws/securityhub/ProductName":"GuardDuty","aws/securityhub/CompanyName":"Amazon"}},"Resources":[{{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:{region}:{account}:instance/i-{n:017x}","Partition":"aws","Region":"{region}","Details":{{"AwsEc2Instance":{{"Type":"m5.large","ImageId":"ami-0123456789abcdef0","IpV4Addresses":["10.0.{a}.{b}","{ip}"],"VpcId":"vpc-{n:017x}","SubnetId":"subnet-{n:017x}","LaunchedAt":"{at}","IamInstanceProfileArn":"arn:aws:iam::{account}:instance-profile/bench-profile"}}}}}}],"Network":{{"Direction":"OUT","Protocol":"UDP","DestinationDomain":"c2.example.com","DestinationIpV4":"{ip}"}},"Action":{{"ActionType":"DNS_REQUEST","DnsRequestAction":{{"Domain":"c2.example.com","Protocol":"UDP","Blocked":false}}}},"WorkflowState":"NEW","Workflow":{{"Status":"NEW"}},"RecordState":"ACTIVE","FindingProviderFields":{{"Severity":{{"Label":"HIGH","Original":"8"}},"Types":["TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS"]}},"ProcessedAt":"{at}","Sample":false}}"#,
        count = n % 17 + 1,
        a = n % 250,
        b = n % 199 + 1,
    );
}

/// The `GetFindings` response body of page `page` (0-based) of `total`
/// findings, with the next page's token when there is one.
pub fn page(scope: &Scope<'_>, total: usize, page: usize, page_size: usize) -> String {
    let start = page * page_size;
    let end = (start + page_size).min(total);
    let mut out = String::with_capacity((end.saturating_sub(start)) * 2900 + 64);
    out.push_str(r#"{"Findings":["#);
    for n in start..end {
        if n > start {
            out.push(',');
        }
        finding(&mut out, scope, n);
    }
    out.push(']');
    if end < total {
        let _ = write!(out, r#","NextToken":"page-{}""#, page + 1);
    }
    out.push('}');
    out
}

/// The page a `NextToken` names (`None`: the first).
pub fn page_of_token(token: Option<&str>) -> Option<usize> {
    match token {
        None | Some("") => Some(0),
        Some(t) => t.strip_prefix("page-")?.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use posture_core::findings::asff::AsffFinding;

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Page {
        findings: Vec<AsffFinding>,
        next_token: Option<String>,
    }

    #[test]
    fn pages_parse_normalize_and_weigh_what_aws_pages_weigh() -> anyhow::Result<()> {
        let scope = Scope {
            account: "111122223333",
            region: "us-east-1",
            updated_at: "2026-12-01T00:00:00.000Z",
        };
        let body = page(&scope, 250, 0, PAGE_SIZE);
        let parsed: Page = serde_json::from_str(&body)?;
        assert_eq!(parsed.findings.len(), 100);
        assert_eq!(parsed.next_token.as_deref(), Some("page-1"));
        for f in &parsed.findings {
            f.normalize()?;
        }
        let per_finding = body.len() / 100;
        assert!(
            (2_000..=3_500).contains(&per_finding),
            "{per_finding} bytes per finding"
        );
        let last: Page = serde_json::from_str(&page(&scope, 250, 2, PAGE_SIZE))?;
        assert_eq!(last.findings.len(), 50);
        assert_eq!(last.next_token, None);
        assert_eq!(page_of_token(Some("page-2")), Some(2));
        Ok(())
    }
}
