//! The remediation plan of a findings analysis: actions derived from the
//! findings present (their types, resources, principals and IPs), merged per
//! target and ordered by urgency. Nothing here is generic filler: an action
//! exists only because a finding calls for it.
//!
//! Urgency: a threat finding that is HIGH or CRITICAL, or part of an attack
//! pattern, is immediate; MEDIUM is short term; LOW is long term. Control
//! failures and vulnerabilities are short term when HIGH or CRITICAL, long
//! term otherwise. Preventive hardening after a credential theft is long term.

use crate::finding::{Finding, SourceService, short_id};
use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The plan, as seed 000 shapes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RemediationPlan {
    /// Do now (contain).
    pub immediate_actions: Vec<String>,
    /// Do within days.
    pub short_term_actions: Vec<String>,
    /// Plan (harden).
    pub long_term_actions: Vec<String>,
    /// Total effort, with how it was counted.
    pub estimated_effort: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Horizon {
    Immediate,
    ShortTerm,
    LongTerm,
}

struct Draft {
    horizon: Horizon,
    order: u8,
    text: String,
    targets: BTreeSet<String>,
    base_hours: f64,
    hours_per_target: f64,
    reasons: BTreeSet<String>,
}

#[derive(Default)]
struct Plan(BTreeMap<String, Draft>);

impl Plan {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        key: String,
        horizon: Horizon,
        order: u8,
        text: &str,
        targets: impl IntoIterator<Item = String>,
        (base_hours, hours_per_target): (f64, f64),
        reason: &str,
    ) {
        let draft = self.0.entry(key).or_insert_with(|| Draft {
            horizon,
            order,
            text: text.to_string(),
            targets: BTreeSet::new(),
            base_hours,
            hours_per_target,
            reasons: BTreeSet::new(),
        });
        if !reason.is_empty() {
            draft.reasons.insert(reason.to_string());
        }
        draft.horizon = draft.horizon.min(horizon);
        draft.targets.extend(targets.into_iter().filter(|t| !t.is_empty()));
    }
}

fn threat_horizon(f: &Finding, in_pattern: bool) -> Horizon {
    if in_pattern || f.severity >= Severity::High {
        Horizon::Immediate
    } else if f.severity == Severity::Medium {
        Horizon::ShortTerm
    } else {
        Horizon::LongTerm
    }
}

fn instances(f: &Finding) -> Vec<String> {
    let mut out: Vec<String> = f
        .resources
        .iter()
        .filter(|r| r.kind == "AwsEc2Instance")
        .map(|r| short_id(&r.id))
        .collect();
    out.extend(f.principals.iter().filter(|p| p.starts_with("i-")).cloned());
    out
}

fn buckets(f: &Finding) -> Vec<String> {
    f.resources
        .iter()
        .filter(|r| r.kind == "AwsS3Bucket")
        .map(|r| short_id(&r.id))
        .collect()
}

/// Named identities (not access key ids or instance session names).
fn identities(f: &Finding) -> Vec<String> {
    f.principals
        .iter()
        .filter(|p| !p.starts_with("i-") && !p.starts_with("ASIA") && !p.starts_with("AKIA"))
        .cloned()
        .collect()
}

/// Builds the plan for `findings` (already filtered to the analysis);
/// `in_pattern` holds the ids of findings that belong to an attack pattern.
pub fn build_plan(findings: &[Finding], in_pattern: &HashSet<String>) -> RemediationPlan {
    let mut plan = Plan::default();
    for f in findings.iter().filter(|f| f.is_open()) {
        let linked = in_pattern.contains(&f.id);
        let t = f.finding_type.as_str();
        let horizon = threat_horizon(f, linked);
        let acct = &f.account_id;
        let is_guardduty = f.source == SourceService::GuardDuty;

        if is_guardduty && (t.contains("InstanceCredentialExfiltration") || t.starts_with("AttackSequence:IAM/")) {
            for role in identities(f) {
                plan.add(
                    format!("revoke:{acct}:{role}"),
                    Horizon::Immediate,
                    0,
                    &format!("Revoke all active sessions of IAM role {role} in account {acct} (IAM console: Roles > {role} > Revoke active sessions, which attaches an AWSRevokeOlderSessions deny policy) and rotate its credentials"),
                    [],
                    (1.0, 0.0),
                    "",
                );
            }
            let hosts = instances(f);
            if !hosts.is_empty() {
                plan.add(
                    format!("imds:{acct}"),
                    Horizon::LongTerm,
                    0,
                    &format!("Require IMDSv2 (HttpTokens=required, hop limit 1) and restrict instance-role credentials to their network with the aws:EC2InstanceSourceVPC and aws:EC2InstanceSourcePrivateIPv4 condition keys, starting with the instances whose credentials were stolen in account {acct}"),
                    hosts,
                    (2.0, 0.5),
                    "",
                );
            }
        }
        if is_guardduty
            && [
                "CryptoCurrency:",
                "Backdoor:",
                "Trojan:",
                "Impact:EC2/",
                "Execution:Runtime/",
            ]
            .iter()
            .any(|p| t.starts_with(p))
        {
            let hosts = instances(f);
            if !hosts.is_empty() {
                plan.add(
                    format!("isolate:{acct}"),
                    horizon,
                    1,
                    &format!("Isolate EC2 instance(s) in account {acct} behind a security group with no rules, snapshot their EBS volumes for forensics, then replace them from a known-good image"),
                    hosts,
                    (1.0, 2.0),
                    t,
                );
            }
        }
        if (is_guardduty && t.starts_with("Exfiltration:S3/")) || f.source == SourceService::Macie {
            let b = buckets(f);
            if !b.is_empty() {
                plan.add(
                    format!("s3-review:{acct}"),
                    horizon,
                    2,
                    &format!("Review CloudTrail S3 data events and access logs for the bucket(s) in account {acct}, deny the implicated principals in the bucket policy until investigated, and confirm Block Public Access is enabled"),
                    b,
                    (1.0, 1.0),
                    "",
                );
            }
        }
        if is_guardduty
            && [
                "Discovery:IAMUser/",
                "PrivilegeEscalation:IAMUser/",
                "Persistence:IAMUser/",
                "CredentialAccess:IAMUser/",
                "Exfiltration:IAMUser/",
                "Impact:IAMUser/",
                "DefenseEvasion:IAMUser/",
            ]
            .iter()
            .any(|p| t.starts_with(p))
        {
            plan.add(
                format!("review-principal:{acct}"),
                horizon,
                3,
                &format!("Review CloudTrail activity of the principal(s) in account {acct} and undo what they changed (policy attachments, new users, access keys, roles)"),
                identities(f),
                (1.0, 1.0),
                &f.api_calls.join(", "),
            );
        }
        if is_guardduty && t.starts_with("Stealth:IAMUser/CloudTrailLoggingDisabled") {
            plan.add(
                format!("cloudtrail:{acct}"),
                horizon.min(Horizon::ShortTerm),
                4,
                &format!(
                    "Re-enable CloudTrail logging in account {acct}, find who called StopLogging, and alarm on it"
                ),
                [],
                (0.5, 0.0),
                "",
            );
        }
        if is_guardduty && t.starts_with("Policy:IAMUser/RootCredentialUsage") {
            plan.add(
                format!("root:{acct}"),
                Horizon::ShortTerm,
                5,
                &format!("Investigate root user activity in account {acct}; keep root credentials unused, without access keys, and behind hardware MFA"),
                [],
                (1.0, 0.0),
                "",
            );
        }
        if is_guardduty
            && (t.contains("SSHBruteForce") || t.contains("RDPBruteForce") || t.starts_with("Recon:EC2/PortProbe"))
        {
            plan.add(
                format!("ingress:{acct}"),
                horizon,
                6,
                &format!("Restrict inbound access on the security groups of the instance(s) in account {acct} to known CIDRs and use Systems Manager Session Manager instead of open SSH/RDP"),
                instances(f),
                (0.5, 0.5),
                "",
            );
        }
        if is_guardduty && !f.remote_ips.is_empty() && f.severity >= Severity::Medium && !t.starts_with("Policy:") {
            let external: Vec<String> = f.remote_ips.iter().filter(|ip| !is_private(ip)).cloned().collect();
            if !external.is_empty() {
                plan.add(
                    "block-ips".to_string(),
                    Horizon::ShortTerm,
                    7,
                    "Block the remote IP address(es) seen in threat findings with network ACLs or AWS WAF and add them to a GuardDuty threat list",
                    external,
                    (0.5, 0.1),
                    "",
                );
            }
        }
        if is_guardduty && plan_is_untouched_by(t) {
            plan.add(
                format!("investigate:{t}:{acct}"),
                horizon,
                8,
                &format!(
                    "Investigate GuardDuty finding type {t} in account {acct} following {}",
                    f.remediation_url.clone().unwrap_or_default()
                ),
                f.resource_names(),
                (1.0, 0.5),
                "",
            );
        }
        if let Some(control) = f.compliance.as_ref().and_then(|c| c.control_id.clone()) {
            let h = if f.severity >= Severity::High {
                Horizon::ShortTerm
            } else {
                Horizon::LongTerm
            };
            let url = f.remediation_url.clone().unwrap_or_default();
            plan.add(
                format!("control:{control}"),
                h,
                9,
                &format!("Fix Security Hub control {control} ({}) on", f.title),
                f.resource_names(),
                (0.5, 0.25),
                &url,
            );
        } else if !f.cves.is_empty() {
            let h = if f.severity >= Severity::High {
                Horizon::ShortTerm
            } else {
                Horizon::LongTerm
            };
            plan.add(
                format!("patch:{}", f.cves.join(",")),
                h,
                10,
                &format!("Patch {} (Amazon Inspector: {}) on", f.cves.join(", "), f.title),
                f.resource_names(),
                (0.5, 1.0),
                "",
            );
        }
    }
    render(plan)
}

/// Types handled by a specific rule above need no generic investigation.
fn plan_is_untouched_by(t: &str) -> bool {
    let specific = [
        "InstanceCredentialExfiltration",
        "AttackSequence:IAM/",
        "CryptoCurrency:",
        "Backdoor:",
        "Trojan:",
        "Impact:EC2/",
        "Execution:Runtime/",
        "Exfiltration:S3/",
        "Discovery:IAMUser/",
        "PrivilegeEscalation:IAMUser/",
        "Persistence:IAMUser/",
        "CredentialAccess:IAMUser/",
        "Exfiltration:IAMUser/",
        "Impact:IAMUser/",
        "DefenseEvasion:IAMUser/",
        "Stealth:IAMUser/CloudTrailLoggingDisabled",
        "Policy:IAMUser/RootCredentialUsage",
        "SSHBruteForce",
        "RDPBruteForce",
        "Recon:EC2/PortProbe",
    ];
    !specific.iter().any(|s| t.contains(s))
}

fn is_private(ip: &str) -> bool {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        Ok(std::net::IpAddr::V6(v6)) => v6.is_loopback(),
        Err(_) => false,
    }
}

fn render(plan: Plan) -> RemediationPlan {
    let mut drafts: Vec<Draft> = plan.0.into_values().collect();
    drafts.sort_by(|a, b| {
        a.horizon
            .cmp(&b.horizon)
            .then(a.order.cmp(&b.order))
            .then(a.text.cmp(&b.text))
    });
    let mut out = RemediationPlan::default();
    let mut hours = [0.0_f64; 3];
    for d in drafts {
        let reasons = if d.reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", d.reasons.iter().cloned().collect::<Vec<_>>().join("; "))
        };
        let text = if d.targets.is_empty() {
            format!("{}{reasons}", d.text)
        } else {
            let joiner = if d.text.ends_with(" on") { " " } else { ": " };
            format!(
                "{}{joiner}{}{reasons}",
                d.text,
                d.targets.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        let h = d.base_hours + d.hours_per_target * d.targets.len() as f64;
        let (slot, list) = match d.horizon {
            Horizon::Immediate => (0, &mut out.immediate_actions),
            Horizon::ShortTerm => (1, &mut out.short_term_actions),
            Horizon::LongTerm => (2, &mut out.long_term_actions),
        };
        hours[slot] += h;
        list.push(text);
    }
    let total: f64 = hours.iter().sum();
    out.estimated_effort = if total == 0.0 {
        "none: no open findings call for action".to_string()
    } else {
        format!(
            "about {:.0} engineer-hours ({:.1} h immediate, {:.1} h short term, {:.1} h long term), counted per action from its fixed cost plus a cost per affected resource",
            total.ceil(),
            hours[0],
            hours[1],
            hours[2]
        )
    };
    out
}
