//! EC2 and VPC settings of one region: security groups, network ACLs, VPCs,
//! flow logs, EBS encryption by default, and instances' metadata options.

use super::{call, collected};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, IpPermission};
use posture_core::posture::inventory::{
    Collected, Ec2Region, FlowLog, Gap, Instance, IpRule, NaclEntry, NetworkAcl, SecurityGroup, Vpc,
};
use posture_core::sources::SourceError;

/// The regions enabled for the account (opted in, or not requiring opt-in).
pub async fn enabled_regions(client: &Client) -> Result<Vec<String>, SourceError> {
    let out = client
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|e| crate::errors::classify("ec2:DescribeRegions", &e))?;
    let mut regions: Vec<String> = out
        .regions()
        .iter()
        .filter(|r| r.opt_in_status().is_none_or(|s| s != "not-opted-in"))
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    Ok(regions)
}

/// Collects the EC2/VPC section of the client's region.
pub async fn collect(client: &Client) -> Collected<Ec2Region> {
    collected(collect_inner(client).await)
}

fn rule(p: &IpPermission) -> IpRule {
    IpRule {
        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        ipv4_ranges: p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip().map(str::to_string))
            .collect(),
        ipv6_ranges: p
            .ipv6_ranges()
            .iter()
            .filter_map(|r| r.cidr_ipv6().map(str::to_string))
            .collect(),
        group_ids: p
            .user_id_group_pairs()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
    }
}

async fn collect_inner(client: &Client) -> Result<Ec2Region, Gap> {
    let mut security_groups = Vec::new();
    let mut token = None;
    loop {
        let page = call!(
            "ec2:DescribeSecurityGroups",
            client.describe_security_groups().set_next_token(token.take()).send()
        );
        security_groups.extend(page.security_groups().iter().map(|g| SecurityGroup {
            id: g.group_id().unwrap_or_default().to_string(),
            name: g.group_name().unwrap_or_default().to_string(),
            vpc_id: g.vpc_id().unwrap_or_default().to_string(),
            ingress: g.ip_permissions().iter().map(rule).collect(),
            egress: g.ip_permissions_egress().iter().map(rule).collect(),
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }

    let mut network_acls = Vec::new();
    let mut token = None;
    loop {
        let page = call!(
            "ec2:DescribeNetworkAcls",
            client.describe_network_acls().set_next_token(token.take()).send()
        );
        network_acls.extend(page.network_acls().iter().map(|a| {
            NetworkAcl {
                id: a.network_acl_id().unwrap_or_default().to_string(),
                vpc_id: a.vpc_id().unwrap_or_default().to_string(),
                entries: a
                    .entries()
                    .iter()
                    .map(|e| NaclEntry {
                        rule_number: e.rule_number().unwrap_or_default(),
                        protocol: e.protocol().unwrap_or("-1").to_string(),
                        rule_action: e.rule_action().map(|r| r.as_str().to_string()).unwrap_or_default(),
                        egress: e.egress().unwrap_or(false),
                        cidr_block: e.cidr_block().map(str::to_string),
                        ipv6_cidr_block: e.ipv6_cidr_block().map(str::to_string),
                        from_port: e.port_range().and_then(|p| p.from()),
                        to_port: e.port_range().and_then(|p| p.to()),
                    })
                    .collect(),
            }
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }

    let mut vpcs = Vec::new();
    let mut token = None;
    loop {
        let page = call!(
            "ec2:DescribeVpcs",
            client.describe_vpcs().set_next_token(token.take()).send()
        );
        vpcs.extend(page.vpcs().iter().map(|v| Vpc {
            id: v.vpc_id().unwrap_or_default().to_string(),
            is_default: v.is_default().unwrap_or(false),
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }

    let mut flow_logs = Vec::new();
    let mut token = None;
    loop {
        let page = call!(
            "ec2:DescribeFlowLogs",
            client.describe_flow_logs().set_next_token(token.take()).send()
        );
        flow_logs.extend(page.flow_logs().iter().map(|f| FlowLog {
            id: f.flow_log_id().unwrap_or_default().to_string(),
            resource_id: f.resource_id().unwrap_or_default().to_string(),
            traffic_type: f.traffic_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
            status: f.flow_log_status().unwrap_or_default().to_string(),
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }

    let ebs = call!(
        "ec2:GetEbsEncryptionByDefault",
        client.get_ebs_encryption_by_default().send()
    );

    let mut instances = Vec::new();
    let mut token = None;
    let live_states = Filter::builder()
        .name("instance-state-name")
        .values("pending")
        .values("running")
        .values("stopping")
        .values("stopped")
        .build();
    loop {
        let page = call!(
            "ec2:DescribeInstances",
            client
                .describe_instances()
                .filters(live_states.clone())
                .set_next_token(token.take())
                .send()
        );
        for r in page.reservations() {
            instances.extend(r.instances().iter().map(|i| {
                Instance {
                    id: i.instance_id().unwrap_or_default().to_string(),
                    state: i
                        .state()
                        .and_then(|s| s.name())
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_default(),
                    http_tokens: i
                        .metadata_options()
                        .and_then(|m| m.http_tokens())
                        .map(|t| t.as_str().to_string()),
                    http_endpoint: i
                        .metadata_options()
                        .and_then(|m| m.http_endpoint())
                        .map(|t| t.as_str().to_string()),
                    iam_instance_profile: i.iam_instance_profile().and_then(|p| p.arn()).map(str::to_string),
                    public_ip: i.public_ip_address().map(str::to_string),
                    public_ip_collected: true,
                    tags: i
                        .tags()
                        .iter()
                        .map(|t| {
                            (
                                t.key().unwrap_or_default().to_string(),
                                t.value().unwrap_or_default().to_string(),
                            )
                        })
                        .collect(),
                }
            }));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }

    Ok(Ec2Region {
        security_groups,
        network_acls,
        vpcs,
        flow_logs,
        ebs_encryption_by_default: ebs.ebs_encryption_by_default().unwrap_or(false),
        instances,
    })
}
