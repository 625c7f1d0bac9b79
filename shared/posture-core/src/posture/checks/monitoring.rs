//! CIS v3.0 section 4: a CloudWatch alarm, with a subscribed SNS topic, on a
//! metric filter of the trail's log group that matches at least the events
//! CIS names. One check per recommendation (4.1 to 4.15); they differ only
//! in the reference pattern.
//!
//! A recommendation is met when some multi-region trail that is logging
//! and records all management events delivers to a CloudWatch Logs group in
//! which a metric filter covers the reference pattern (see
//! `filter_pattern` for what "covers" means), an enabled alarm watches that
//! filter's metric, and one of the alarm's actions is an SNS topic with at
//! least one confirmed subscription.

use super::filter_pattern::{self, Coverage, Pattern};
use super::{Check, Complexity, Effort, Outcome, Status, Verdicts, account};
use crate::posture::inventory::{Collected, Inventory, MetricFilter, MonitoringRegion, Trail};
use crate::severity::Severity;

/// The reference patterns, as CIS v3.0 writes them, with two changes that
/// only make them exact: parentheses where CIS mixes `&&` and `||` (4.1,
/// 4.13), grouping as its text intends; and the event source of each
/// service's events, which those events always carry, so a filter that also
/// names it is not taken as narrower.
mod reference {
    pub(super) const UNAUTHORIZED_API_CALLS: &str = r#"{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && ($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }"#;
    pub(super) const CONSOLE_SIGNIN_WITHOUT_MFA: &str = r#"{ ($.eventSource = "signin.amazonaws.com") && ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#;
    pub(super) const ROOT_USAGE: &str = r#"{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) && ($.eventType != "AwsServiceEvent") }"#;
    pub(super) const IAM_POLICY_CHANGES: &str = r#"{ ($.eventSource = "iam.amazonaws.com") && (($.eventName = "DeleteGroupPolicy") || ($.eventName = "DeleteRolePolicy") || ($.eventName = "DeleteUserPolicy") || ($.eventName = "PutGroupPolicy") || ($.eventName = "PutRolePolicy") || ($.eventName = "PutUserPolicy") || ($.eventName = "CreatePolicy") || ($.eventName = "DeletePolicy") || ($.eventName = "CreatePolicyVersion") || ($.eventName = "DeletePolicyVersion") || ($.eventName = "AttachRolePolicy") || ($.eventName = "DetachRolePolicy") || ($.eventName = "AttachUserPolicy") || ($.eventName = "DetachUserPolicy") || ($.eventName = "AttachGroupPolicy") || ($.eventName = "DetachGroupPolicy")) }"#;
    pub(super) const CLOUDTRAIL_CHANGES: &str = r#"{ ($.eventSource = "cloudtrail.amazonaws.com") && (($.eventName = "CreateTrail") || ($.eventName = "UpdateTrail") || ($.eventName = "DeleteTrail") || ($.eventName = "StartLogging") || ($.eventName = "StopLogging")) }"#;
    pub(super) const CONSOLE_AUTH_FAILURES: &str = r#"{ ($.eventSource = "signin.amazonaws.com") && ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }"#;
    pub(super) const CMK_DISABLED_OR_DELETED: &str = r#"{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "DisableKey") || ($.eventName = "ScheduleKeyDeletion")) }"#;
    pub(super) const S3_BUCKET_POLICY_CHANGES: &str = r#"{ ($.eventSource = "s3.amazonaws.com") && (($.eventName = "PutBucketAcl") || ($.eventName = "PutBucketPolicy") || ($.eventName = "PutBucketCors") || ($.eventName = "PutBucketLifecycle") || ($.eventName = "PutBucketReplication") || ($.eventName = "DeleteBucketPolicy") || ($.eventName = "DeleteBucketCors") || ($.eventName = "DeleteBucketLifecycle") || ($.eventName = "DeleteBucketReplication")) }"#;
    pub(super) const CONFIG_CHANGES: &str = r#"{ ($.eventSource = "config.amazonaws.com") && (($.eventName = "StopConfigurationRecorder") || ($.eventName = "DeleteDeliveryChannel") || ($.eventName = "PutDeliveryChannel") || ($.eventName = "PutConfigurationRecorder")) }"#;
    pub(super) const SECURITY_GROUP_CHANGES: &str = r#"{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = "AuthorizeSecurityGroupIngress") || ($.eventName = "AuthorizeSecurityGroupEgress") || ($.eventName = "RevokeSecurityGroupIngress") || ($.eventName = "RevokeSecurityGroupEgress") || ($.eventName = "CreateSecurityGroup") || ($.eventName = "DeleteSecurityGroup")) }"#;
    pub(super) const NACL_CHANGES: &str = r#"{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = "CreateNetworkAcl") || ($.eventName = "CreateNetworkAclEntry") || ($.eventName = "DeleteNetworkAcl") || ($.eventName = "DeleteNetworkAclEntry") || ($.eventName = "ReplaceNetworkAclEntry") || ($.eventName = "ReplaceNetworkAclAssociation")) }"#;
    pub(super) const NETWORK_GATEWAY_CHANGES: &str = r#"{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = "CreateCustomerGateway") || ($.eventName = "DeleteCustomerGateway") || ($.eventName = "AttachInternetGateway") || ($.eventName = "CreateInternetGateway") || ($.eventName = "DeleteInternetGateway") || ($.eventName = "DetachInternetGateway")) }"#;
    pub(super) const ROUTE_TABLE_CHANGES: &str = r#"{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = "CreateRoute") || ($.eventName = "CreateRouteTable") || ($.eventName = "ReplaceRoute") || ($.eventName = "ReplaceRouteTableAssociation") || ($.eventName = "DeleteRouteTable") || ($.eventName = "DeleteRoute") || ($.eventName = "DisassociateRouteTable")) }"#;
    pub(super) const VPC_CHANGES: &str = r#"{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = "CreateVpc") || ($.eventName = "DeleteVpc") || ($.eventName = "ModifyVpcAttribute") || ($.eventName = "AcceptVpcPeeringConnection") || ($.eventName = "CreateVpcPeeringConnection") || ($.eventName = "DeleteVpcPeeringConnection") || ($.eventName = "RejectVpcPeeringConnection") || ($.eventName = "AttachClassicLinkVpc") || ($.eventName = "DetachClassicLinkVpc") || ($.eventName = "DisableVpcClassicLink") || ($.eventName = "EnableVpcClassicLink")) }"#;
    pub(super) const ORGANIZATIONS_CHANGES: &str = r#"{ ($.eventSource = "organizations.amazonaws.com") && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#;
}

/// One CIS section 4 check: the id, title, Security Hub control and
/// reference pattern vary; everything else is shared.
macro_rules! alarm_check {
    ($name:ident, $id:literal, $title:literal, $control:expr, $rationale:literal, $pattern:expr) => {
        pub(crate) const $name: Check = Check {
            id: $id,
            title: $title,
            severity: Severity::Low,
            service: "CloudWatch",
            rationale: $rationale,
            remediation: &[
                "On the log group of a multi-region trail that records all management events: \
                 aws logs put-metric-filter with the CIS pattern (this check's reason quotes it)",
                "aws cloudwatch put-metric-alarm on the filter's metric: Sum >= 1 over 300 s, \
                 alarm action an SNS topic",
                "aws sns subscribe the responders to the topic, and have them confirm",
            ],
            doc_url: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudwatch-alarms-for-cloudtrail.html",
            security_hub_control: $control,
            effort: Effort {
                complexity: Complexity::Low,
                cost: "USD 0.10/month per alarm; log ingestion of the trail",
                actions: &[
                    "logs:PutMetricFilter",
                    "cloudwatch:PutMetricAlarm",
                    "sns:CreateTopic",
                    "sns:Subscribe",
                ],
                safe_to_automate: true,
            },
            evaluate: |inv| alarmed(inv, $id, $pattern),
        };
    };
}

alarm_check!(
    UNAUTHORIZED_API_CALLS,
    "cloudwatch.alarm_unauthorized_api_calls",
    "An alarm watches unauthorized API calls",
    Some("CloudWatch.2"),
    "A burst of AccessDenied errors is often the first sign of stolen credentials probing what they can do.",
    reference::UNAUTHORIZED_API_CALLS
);
alarm_check!(
    CONSOLE_SIGNIN_WITHOUT_MFA,
    "cloudwatch.alarm_console_signin_without_mfa",
    "An alarm watches console sign-ins without MFA",
    Some("CloudWatch.3"),
    "A console session opened with a password alone is the one a phished password gives away.",
    reference::CONSOLE_SIGNIN_WITHOUT_MFA
);
alarm_check!(
    ROOT_USAGE,
    "cloudwatch.alarm_root_usage",
    "An alarm watches use of the root user",
    Some("CloudWatch.1"),
    "The root user cannot be restricted by IAM; any use of it should be seen at once.",
    reference::ROOT_USAGE
);
alarm_check!(
    IAM_POLICY_CHANGES,
    "cloudwatch.alarm_iam_policy_changes",
    "An alarm watches IAM policy changes",
    Some("CloudWatch.4"),
    "Changed policies are how an intruder widens or keeps access.",
    reference::IAM_POLICY_CHANGES
);
alarm_check!(
    CLOUDTRAIL_CHANGES,
    "cloudwatch.alarm_cloudtrail_changes",
    "An alarm watches CloudTrail configuration changes",
    Some("CloudWatch.5"),
    "Stopping or changing a trail is how activity is hidden.",
    reference::CLOUDTRAIL_CHANGES
);
alarm_check!(
    CONSOLE_AUTH_FAILURES,
    "cloudwatch.alarm_console_auth_failures",
    "An alarm watches failed console sign-ins",
    Some("CloudWatch.6"),
    "Repeated failed sign-ins are password guessing.",
    reference::CONSOLE_AUTH_FAILURES
);
alarm_check!(
    CMK_DISABLED_OR_DELETED,
    "cloudwatch.alarm_cmk_disabled_or_deleted",
    "An alarm watches customer managed KMS keys being disabled or scheduled for deletion",
    Some("CloudWatch.7"),
    "Data encrypted under a deleted key is lost for good.",
    reference::CMK_DISABLED_OR_DELETED
);
alarm_check!(
    S3_BUCKET_POLICY_CHANGES,
    "cloudwatch.alarm_s3_bucket_policy_changes",
    "An alarm watches S3 bucket policy changes",
    Some("CloudWatch.8"),
    "A changed bucket policy or ACL can expose data to anyone.",
    reference::S3_BUCKET_POLICY_CHANGES
);
alarm_check!(
    CONFIG_CHANGES,
    "cloudwatch.alarm_config_changes",
    "An alarm watches AWS Config configuration changes",
    Some("CloudWatch.9"),
    "Stopping the recorder hides later configuration changes.",
    reference::CONFIG_CHANGES
);
alarm_check!(
    SECURITY_GROUP_CHANGES,
    "cloudwatch.alarm_security_group_changes",
    "An alarm watches security group changes",
    Some("CloudWatch.10"),
    "A rule opened to the internet exposes whatever sits behind the group.",
    reference::SECURITY_GROUP_CHANGES
);
alarm_check!(
    NACL_CHANGES,
    "cloudwatch.alarm_nacl_changes",
    "An alarm watches network ACL changes",
    Some("CloudWatch.11"),
    "Network ACLs are the subnet's stateless firewall; changing them opens or cuts whole subnets.",
    reference::NACL_CHANGES
);
alarm_check!(
    NETWORK_GATEWAY_CHANGES,
    "cloudwatch.alarm_network_gateway_changes",
    "An alarm watches network gateway changes",
    Some("CloudWatch.12"),
    "A new or moved gateway changes what can reach the VPC and where data can leave.",
    reference::NETWORK_GATEWAY_CHANGES
);
alarm_check!(
    ROUTE_TABLE_CHANGES,
    "cloudwatch.alarm_route_table_changes",
    "An alarm watches route table changes",
    Some("CloudWatch.13"),
    "Changed routes can send traffic through a path an attacker controls.",
    reference::ROUTE_TABLE_CHANGES
);
alarm_check!(
    VPC_CHANGES,
    "cloudwatch.alarm_vpc_changes",
    "An alarm watches VPC changes",
    Some("CloudWatch.14"),
    "New peerings and VPC changes alter which networks can talk to each other.",
    reference::VPC_CHANGES
);
alarm_check!(
    ORGANIZATIONS_CHANGES,
    "cloudwatch.alarm_organizations_changes",
    "An alarm watches AWS Organizations changes",
    None,
    "Organization changes move accounts, policies and guardrails for every member at once.",
    reference::ORGANIZATIONS_CHANGES
);

/// How far one trail's chain got.
enum Chain {
    Complete(String),
    Broken(String),
    Unknown(String),
}

fn alarmed(inv: &Inventory, id: &'static str, reference: &str) -> Vec<Outcome> {
    let mut v = Verdicts::new(id);
    let reference = match filter_pattern::parse(reference) {
        Ok(p) => p,
        Err(why) => {
            v.add(
                account(inv),
                None,
                Status::Error,
                format!("reference pattern unreadable: {why}"),
            );
            return v.done();
        }
    };
    let Some(trails) = v.section(inv, &inv.cloudtrail, "CloudTrail trails") else {
        return v.done();
    };
    let mut chains = Vec::new();
    for t in trails {
        match t.records_everything() {
            Ok(false) => {}
            Err(gap) => chains.push(Chain::Unknown(format!(
                "whether trail {} logs all management events was not read ({}: {})",
                t.name, gap.kind, gap.detail
            ))),
            Ok(true) => chains.push(match &t.cloud_watch_logs_log_group_arn {
                None => Chain::Broken(format!("trail {} delivers to no CloudWatch Logs group", t.name)),
                Some(arn) => chain(inv, t, arn, &reference),
            }),
        }
    }
    if let Some(Chain::Complete(how)) = chains.iter().find(|c| matches!(c, Chain::Complete(_))) {
        v.add(account(inv), None, Status::Pass, how.clone());
        return v.done();
    }
    let unknown: Vec<&str> = chains
        .iter()
        .filter_map(|c| match c {
            Chain::Unknown(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    let broken: Vec<&str> = chains
        .iter()
        .filter_map(|c| match c {
            Chain::Broken(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    if !unknown.is_empty() {
        v.add(account(inv), None, Status::Error, unknown.join("; "));
    } else if broken.is_empty() {
        v.add(
            account(inv),
            None,
            Status::Fail,
            "no multi-region trail that is logging and records all management events, so no metric filter \
             sees every region's events",
        );
    } else {
        v.add(account(inv), None, Status::Fail, broken.join("; "));
    }
    v.done()
}

/// Trail -> log group -> covering metric filter -> enabled alarm -> SNS
/// topic with a confirmed subscriber.
fn chain(inv: &Inventory, trail: &Trail, group_arn: &str, reference: &Pattern) -> Chain {
    // arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
    let parts: Vec<&str> = group_arn.splitn(7, ':').collect();
    let [_, _, "logs", region, owner, "log-group", rest] = parts.as_slice() else {
        return Chain::Unknown(format!(
            "trail {}: log group ARN {group_arn} not understood",
            trail.name
        ));
    };
    let group = rest.strip_suffix(":*").unwrap_or(rest);
    if *owner != inv.account_id {
        return Chain::Unknown(format!(
            "trail {} delivers to log group {group} in account {owner}, which this account's inventory does not hold",
            trail.name
        ));
    }
    let monitoring = match inv.region.get(*region).map(|r| &r.monitoring) {
        None => {
            return Chain::Unknown(format!(
                "trail {} delivers to log group {group} in {region}, a region not collected",
                trail.name
            ));
        }
        Some(Collected::Gap(gap)) => {
            return Chain::Unknown(format!(
                "metric filters and alarms of {region} not collected ({}: {})",
                gap.kind, gap.detail
            ));
        }
        Some(Collected::Collected(m)) => m,
    };
    let filters: Vec<&MetricFilter> = monitoring
        .metric_filters
        .iter()
        .filter(|f| f.log_group_name == group)
        .collect();
    if filters.is_empty() {
        return Chain::Broken(format!(
            "log group {group} of trail {} has no metric filter",
            trail.name
        ));
    }
    let (mut broken, mut unknown) = (Vec::new(), Vec::new());
    for f in filters {
        let coverage = filter_pattern::covers(&f.pattern, reference);
        if let Coverage::Misses(event) = &coverage {
            broken.push(format!("filter {} misses events such as {event}", f.name));
            continue;
        }
        // An undecided filter matters only if its alarm path is whole.
        match (alarm_path(monitoring, f), coverage) {
            (Chain::Complete(how), Coverage::Covers) => {
                return Chain::Complete(format!("trail {} -> log group {group} -> {how}", trail.name));
            }
            (Chain::Broken(why), _) => broken.push(why),
            (Chain::Unknown(why), Coverage::Covers) => unknown.push(why),
            (_, Coverage::Undecided(why)) => unknown.push(format!("filter {}: {why}", f.name)),
            (_, Coverage::Misses(_)) => {}
        }
    }
    if unknown.is_empty() {
        Chain::Broken(format!("log group {group}: {}", broken.join("; ")))
    } else {
        Chain::Unknown(unknown.join("; "))
    }
}

/// From a covering filter to a notified, subscribed topic.
fn alarm_path(monitoring: &MonitoringRegion, filter: &MetricFilter) -> Chain {
    let alarms: Vec<_> = monitoring
        .alarms
        .iter()
        .filter(|a| filter.metrics.contains(&a.metric))
        .collect();
    if alarms.is_empty() {
        return Chain::Broken(format!("no alarm watches the metric of filter {}", filter.name));
    }
    let mut unknown = Vec::new();
    for a in alarms.iter().filter(|a| a.actions_enabled) {
        for action in a
            .alarm_actions
            .iter()
            .filter(|x| x.starts_with("arn:aws") && x.contains(":sns:"))
        {
            match monitoring.topics.iter().find(|t| &t.arn == action) {
                Some(t) if t.gap.is_none() && t.confirmed_subscriptions > 0 => {
                    return Chain::Complete(format!(
                        "filter {} -> alarm {} -> topic {} ({} confirmed subscription(s))",
                        filter.name, a.name, t.arn, t.confirmed_subscriptions
                    ));
                }
                Some(t) => {
                    if let Some(gap) = &t.gap {
                        unknown.push(format!(
                            "subscriptions of {} not read ({}: {})",
                            t.arn, gap.kind, gap.detail
                        ));
                    }
                }
                None => unknown.push(format!("topic {action} (another region or account) not inspected")),
            }
        }
    }
    if !unknown.is_empty() {
        return Chain::Unknown(unknown.join("; "));
    }
    Chain::Broken(format!(
        "no enabled alarm on the metric of filter {} notifies an SNS topic with a confirmed subscription",
        filter.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &[
        reference::UNAUTHORIZED_API_CALLS,
        reference::CONSOLE_SIGNIN_WITHOUT_MFA,
        reference::ROOT_USAGE,
        reference::IAM_POLICY_CHANGES,
        reference::CLOUDTRAIL_CHANGES,
        reference::CONSOLE_AUTH_FAILURES,
        reference::CMK_DISABLED_OR_DELETED,
        reference::S3_BUCKET_POLICY_CHANGES,
        reference::CONFIG_CHANGES,
        reference::SECURITY_GROUP_CHANGES,
        reference::NACL_CHANGES,
        reference::NETWORK_GATEWAY_CHANGES,
        reference::ROUTE_TABLE_CHANGES,
        reference::VPC_CHANGES,
        reference::ORGANIZATIONS_CHANGES,
    ];

    #[test]
    fn every_reference_parses_unambiguously_and_covers_itself() {
        for text in ALL {
            let Ok(Pattern::Json(seq)) = filter_pattern::parse(text) else {
                panic!("{text} does not parse as a JSON pattern");
            };
            assert!(!seq.is_ambiguous(), "{text}");
            let reference = Pattern::Json(seq);
            assert_eq!(filter_pattern::covers(text, &reference), Coverage::Covers, "{text}");
        }
    }

    /// CIS's own text, as users paste it (from the benchmark, without the
    /// event source this product adds, and with its unparenthesized
    /// mixes), covers each reference.
    #[test]
    fn the_benchmarks_own_patterns_are_accepted() {
        let cis_text = [
            (
                reference::UNAUTHORIZED_API_CALLS,
                r#"{($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }"#,
            ),
            (
                reference::ROUTE_TABLE_CHANGES,
                "{($.eventSource = ec2.amazonaws.com) && ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }",
            ),
            (
                reference::IAM_POLICY_CHANGES,
                "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}",
            ),
            (
                reference::ROOT_USAGE,
                r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
            ),
            (
                reference::CONSOLE_SIGNIN_WITHOUT_MFA,
                r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
            ),
        ];
        for (reference, pasted) in cis_text {
            let reference = filter_pattern::parse(reference).unwrap();
            assert_eq!(filter_pattern::covers(pasted, &reference), Coverage::Covers, "{pasted}");
        }
    }
}
