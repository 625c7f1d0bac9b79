//! Networking checks (CIS v3.0 section 5).

use super::{Check, Complexity, Effort, Status, Verdicts, account, regions};
use crate::posture::inventory::{Inventory, NaclEntry, SecurityGroup};
use crate::severity::Severity;

/// Remote administration ports of CIS 5.1–5.3 (SSH, RDP).
const ADMIN_PORTS: [i32; 2] = [22, 3389];

/// Whether the entry applies to `protocol` (`6` TCP, `17` UDP) on `port`.
fn entry_covers(e: &NaclEntry, protocol: &str, port: i32) -> bool {
    if e.protocol == "-1" {
        return true;
    }
    let name = if protocol == "6" { "tcp" } else { "udp" };
    let same = e.protocol == protocol || e.protocol.eq_ignore_ascii_case(name);
    same && e.from_port.unwrap_or(0) <= port && port <= e.to_port.unwrap_or(65535)
}

/// Ports reachable from the whole internet through a NACL: for each admin
/// port, protocol (TCP, UDP: CIS 5.1 names both) and open CIDR, the
/// lowest-numbered ingress entry that matches decides, as AWS evaluates.
fn nacl_open_ports(entries: &[NaclEntry]) -> Vec<String> {
    let mut ingress: Vec<&NaclEntry> = entries.iter().filter(|e| !e.egress).collect();
    ingress.sort_by_key(|e| e.rule_number);
    let mut open = Vec::new();
    for port in ADMIN_PORTS {
        for (protocol, label) in [("6", "tcp"), ("17", "udp")] {
            for (cidr, v6) in [("0.0.0.0/0", false), ("::/0", true)] {
                let decisive = ingress.iter().find(|e| {
                    let block = if v6 {
                        e.ipv6_cidr_block.as_deref()
                    } else {
                        e.cidr_block.as_deref()
                    };
                    block == Some(cidr) && entry_covers(e, protocol, port)
                });
                if decisive.is_some_and(|e| e.rule_action.eq_ignore_ascii_case("allow")) {
                    open.push(format!("{label} {port} from {cidr}"));
                }
            }
        }
    }
    open
}

fn sg_open_ports(sg: &SecurityGroup, v6: bool) -> Vec<i32> {
    let anywhere = if v6 { "::/0" } else { "0.0.0.0/0" };
    ADMIN_PORTS
        .into_iter()
        .filter(|port| {
            sg.ingress.iter().any(|r| {
                let ranges = if v6 { &r.ipv6_ranges } else { &r.ipv4_ranges };
                ranges.iter().any(|c| c == anywhere) && r.covers_port(*port)
            })
        })
        .collect()
}

fn per_group(
    inv: &Inventory,
    id: &'static str,
    judge: impl Fn(&SecurityGroup) -> Option<(bool, String, String)>,
) -> Vec<super::Outcome> {
    let mut v = Verdicts::new(id);
    for (region, ec2) in regions(inv, |r| &r.ec2) {
        match ec2 {
            Ok(e) => {
                for sg in &e.security_groups {
                    match judge(sg) {
                        Some((ok, pass, fail)) => v.pass_if(ok, &sg.id, Some(region), pass, fail),
                        None => v.add(&sg.id, Some(region), Status::Skip, "not applicable to this group"),
                    }
                }
            }
            Err(gap) => v.gap(account(inv), Some(region), "security groups", gap),
        }
    }
    v.done()
}

fn ports(p: &[i32]) -> String {
    p.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

pub(crate) const NACL_ADMIN_PORTS: Check = Check {
    id: "ec2.nacl_admin_ports",
    title: "No network ACL allows ingress from anywhere to SSH or RDP",
    severity: Severity::Medium,
    service: "EC2",
    rationale: "Open administration ports invite brute force and exploitation.",
    remediation: &[
        "Add a lower-numbered DENY entry for ports 22 and 3389 from 0.0.0.0/0 and ::/0, or narrow the ALLOW to known CIDRs",
    ],
    doc_url: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html",
    security_hub_control: Some("EC2.21"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["ec2:CreateNetworkAclEntry", "ec2:ReplaceNetworkAclEntry"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("ec2.nacl_admin_ports");
        for (region, ec2) in regions(inv, |r| &r.ec2) {
            match ec2 {
                Ok(e) => {
                    for acl in &e.network_acls {
                        let open = nacl_open_ports(&acl.entries);
                        v.pass_if(
                            open.is_empty(),
                            &acl.id,
                            Some(region),
                            "SSH and RDP are not allowed from anywhere",
                            format!("allows {}", open.join(", ")),
                        );
                    }
                }
                Err(gap) => v.gap(account(inv), Some(region), "network ACLs", gap),
            }
        }
        v.done()
    },
};

pub(crate) const SG_ADMIN_PORTS_IPV4: Check = Check {
    id: "ec2.sg_admin_ports_ipv4",
    title: "No security group allows ingress from 0.0.0.0/0 to SSH or RDP",
    severity: Severity::High,
    service: "EC2",
    rationale: "Open administration ports invite brute force and exploitation.",
    remediation: &["Remove the 0.0.0.0/0 rule for ports 22/3389; use Systems Manager Session Manager or a narrow CIDR"],
    doc_url: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html",
    security_hub_control: Some("EC2.53"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        per_group(inv, "ec2.sg_admin_ports_ipv4", |sg| {
            let open = sg_open_ports(sg, false);
            Some((
                open.is_empty(),
                "no admin port open to 0.0.0.0/0".into(),
                format!("port(s) {} open to 0.0.0.0/0", ports(&open)),
            ))
        })
    },
};

pub(crate) const SG_ADMIN_PORTS_IPV6: Check = Check {
    id: "ec2.sg_admin_ports_ipv6",
    title: "No security group allows ingress from ::/0 to SSH or RDP",
    severity: Severity::High,
    service: "EC2",
    rationale: "Open administration ports invite brute force and exploitation, over IPv6 too.",
    remediation: &["Remove the ::/0 rule for ports 22/3389"],
    doc_url: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html",
    security_hub_control: Some("EC2.54"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        per_group(inv, "ec2.sg_admin_ports_ipv6", |sg| {
            let open = sg_open_ports(sg, true);
            Some((
                open.is_empty(),
                "no admin port open to ::/0".into(),
                format!("port(s) {} open to ::/0", ports(&open)),
            ))
        })
    },
};

pub(crate) const DEFAULT_SG_CLOSED: Check = Check {
    id: "ec2.default_sg_restricts_all",
    title: "The default security group of every VPC allows no traffic",
    severity: Severity::Medium,
    service: "EC2",
    rationale: "Resources launched without a group land in the default one; it should admit nothing.",
    remediation: &["Delete every inbound and outbound rule of each VPC's default security group"],
    doc_url: "https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html",
    security_hub_control: Some("EC2.2"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        per_group(inv, "ec2.default_sg_restricts_all", |sg| {
            (sg.name == "default").then(|| {
                (
                    sg.ingress.is_empty() && sg.egress.is_empty(),
                    "no inbound or outbound rules".into(),
                    format!("{} inbound and {} outbound rule(s)", sg.ingress.len(), sg.egress.len()),
                )
            })
        })
    },
};

pub(crate) const IMDSV2_REQUIRED: Check = Check {
    id: "ec2.imdsv2_required",
    title: "EC2 instances require IMDSv2",
    severity: Severity::High,
    service: "EC2",
    rationale: "IMDSv1 lets SSRF and open proxies steal the instance role's credentials.",
    remediation: &[
        "aws ec2 modify-instance-metadata-options --instance-id ID --http-tokens required --http-endpoint enabled",
    ],
    doc_url: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html",
    security_hub_control: Some("EC2.8"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost; test applications that read instance metadata",
        actions: &["ec2:ModifyInstanceMetadataOptions"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("ec2.imdsv2_required");
        for (region, ec2) in regions(inv, |r| &r.ec2) {
            match ec2 {
                Ok(e) => {
                    for i in &e.instances {
                        if i.http_endpoint.as_deref() == Some("disabled") {
                            v.add(&i.id, Some(region), Status::Pass, "the metadata service is disabled");
                        } else {
                            let tokens = i.http_tokens.as_deref().unwrap_or("unknown");
                            v.pass_if(
                                tokens == "required",
                                &i.id,
                                Some(region),
                                "HttpTokens is required",
                                format!("HttpTokens is {tokens}"),
                            );
                        }
                    }
                }
                Err(gap) => v.gap(account(inv), Some(region), "instances", gap),
            }
        }
        v.done()
    },
};

pub(crate) const INSTANCE_ROLES: Check = Check {
    id: "ec2.instance_profile_attached",
    title: "EC2 instances use an IAM role (instance profile) for AWS access",
    severity: Severity::Medium,
    service: "EC2",
    rationale: "Without a role, software on the instance needs long-lived access keys stored on it to call AWS.",
    remediation: &[
        "Create a role with the permissions the workload needs and attach it: aws ec2 associate-iam-instance-profile --instance-id ID --iam-instance-profile Name=PROFILE; then remove any access keys stored on the instance",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2.html",
    security_hub_control: None,
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &[
            "iam:CreateRole",
            "iam:CreateInstanceProfile",
            "ec2:AssociateIamInstanceProfile",
        ],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("ec2.instance_profile_attached");
        for (region, ec2) in regions(inv, |r| &r.ec2) {
            match ec2 {
                Ok(e) => {
                    for i in &e.instances {
                        v.pass_if(
                            i.iam_instance_profile.is_some(),
                            &i.id,
                            Some(region),
                            format!(
                                "instance profile {}",
                                i.iam_instance_profile.as_deref().unwrap_or_default()
                            ),
                            "no instance profile: any AWS access from it needs stored access keys",
                        );
                    }
                }
                Err(gap) => v.gap(account(inv), Some(region), "instances", gap),
            }
        }
        v.done_or_none(account(inv), "no EC2 instances")
    },
};

/// The ports of Security Hub EC2.19 ("high risk"), as its control page lists them.
const HIGH_RISK_PORTS: [i32; 24] = [
    20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601, 8080, 8088,
    8888, 9200, 9300,
];

/// `port from CIDR` for each of `ports` a rule opens to 0.0.0.0/0 or ::/0.
fn open_to_world(sg: &SecurityGroup, ports: &[i32]) -> Vec<String> {
    let mut open = Vec::new();
    for port in ports {
        for (anywhere, v6) in [("0.0.0.0/0", false), ("::/0", true)] {
            let opened = sg.ingress.iter().any(|r| {
                let ranges = if v6 { &r.ipv6_ranges } else { &r.ipv4_ranges };
                ranges.iter().any(|c| c == anywhere) && r.covers_port(*port)
            });
            if opened {
                open.push(format!("{port} from {anywhere}"));
            }
        }
    }
    open
}

fn world_ports(inv: &Inventory, id: &'static str, ports: &'static [i32]) -> Vec<super::Outcome> {
    per_group(inv, id, |sg| {
        let open = open_to_world(sg, ports);
        Some((
            open.is_empty(),
            format!("no ingress from anywhere to {}", self::ports(ports)),
            format!("allows ingress to {}", open.join(", ")),
        ))
    })
}

macro_rules! world_port_check {
    ($name:ident, $id:literal, $title:literal, $control:literal, $severity:expr, $ports:expr) => {
        pub(crate) const $name: Check = Check {
            id: $id,
            title: $title,
            severity: $severity,
            service: "EC2",
            rationale: "A port open to the whole internet is found by scanners within minutes; what listens \
                        behind it is then only as safe as its last patch.",
            remediation: &[
                "Remove the 0.0.0.0/0 and ::/0 rules for these ports; allow known CIDRs or use \
                            Systems Manager Session Manager for administration",
            ],
            doc_url: "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html",
            security_hub_control: Some($control),
            effort: Effort {
                complexity: Complexity::Medium,
                cost: "no cost",
                actions: &["ec2:RevokeSecurityGroupIngress"],
                safe_to_automate: false,
            },
            evaluate: |inv| world_ports(inv, $id, $ports),
        };
    };
}

world_port_check!(
    SG_SSH_FROM_ANYWHERE,
    "ec2.sg_no_ssh_from_anywhere",
    "No security group allows ingress from 0.0.0.0/0 or ::/0 to port 22",
    "EC2.13",
    Severity::High,
    &[22]
);
world_port_check!(
    SG_RDP_FROM_ANYWHERE,
    "ec2.sg_no_rdp_from_anywhere",
    "No security group allows ingress from 0.0.0.0/0 or ::/0 to port 3389",
    "EC2.14",
    Severity::High,
    &[3389]
);
world_port_check!(
    SG_HIGH_RISK_PORTS,
    "ec2.sg_no_high_risk_ports_from_anywhere",
    "No security group allows unrestricted ingress to high-risk ports",
    "EC2.19",
    Severity::Medium,
    &HIGH_RISK_PORTS
);

pub(crate) const NO_PUBLIC_IPV4: Check = Check {
    id: "ec2.no_public_ipv4",
    title: "EC2 instances have no public IPv4 address",
    severity: Severity::High,
    service: "EC2",
    rationale: "A public address makes the instance reachable from the internet wherever a security group allows; \
                load balancers and NAT keep instances private.",
    remediation: &[
        "Move the instance behind a load balancer or NAT and launch it without a public address (subnet setting \
         or --no-associate-public-ip-address); release Elastic IPs no longer needed",
    ],
    doc_url: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-instance-addressing.html",
    security_hub_control: Some("EC2.9"),
    effort: Effort {
        complexity: Complexity::High,
        cost: "a load balancer or NAT gateway where one is not there yet",
        actions: &["ec2:RunInstances", "ec2:DisassociateAddress"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("ec2.no_public_ipv4");
        for (region, ec2) in regions(inv, |r| &r.ec2) {
            match ec2 {
                Ok(e) => {
                    for i in &e.instances {
                        if !i.public_ip_collected {
                            v.add(
                                &i.id,
                                Some(region),
                                Status::Error,
                                "public address not collected (an inventory from before it was)",
                            );
                            continue;
                        }
                        match &i.public_ip {
                            Some(ip) => v.add(&i.id, Some(region), Status::Fail, format!("public IPv4 {ip}")),
                            None => v.add(&i.id, Some(region), Status::Pass, "no public IPv4 address"),
                        }
                    }
                }
                Err(gap) => v.gap(account(inv), Some(region), "EC2 instances", gap),
            }
        }
        v.done_or_none(account(inv), "no EC2 instances")
    },
};
