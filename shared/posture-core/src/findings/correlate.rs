//! Threat correlation: findings that share an entity (a principal, a resource
//! or a remote IP) and together span several ATT&CK tactics form an attack
//! pattern.
//!
//! Rules, in order:
//! 1. Only findings with at least one ATT&CK tactic take part (a failed
//!    configuration check is a weakness, not a step of an attack).
//! 2. Two findings are linked when they share a principal or resource in the
//!    same account (an EC2 role session is named after its instance, so the
//!    session name links credential findings to the instance's findings), or
//!    a remote IP address (in any account). Links are transitive.
//! 3. A linked group is an attack pattern when it has two or more findings
//!    spanning two or more distinct tactics, or when it contains a GuardDuty attack-sequence finding
//!    (GuardDuty already correlated it).
//! 4. The confidence starts at 0.30 and adds, each stated in the result:
//!    +0.10 per tactic beyond the first (at most +0.30); +0.10 per kind of
//!    link that joins the group (identity/resource, network; at most +0.20);
//!    up to +0.10 for the share of consecutive steps whose tactics follow
//!    kill-chain order in time; +0.25 when a GuardDuty attack sequence
//!    confirms the group. The total is capped at 0.99.
//! 5. Severity is the highest member severity; the risk score is the highest
//!    member score (0–100) plus 5 per tactic beyond the first and 2 per extra
//!    finding, capped at 100.

use crate::finding::{Finding, short_id};
use crate::findings::attack::{Catalog, Mapping, phase_name};
use crate::severity::Severity;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One correlated attack pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttackPattern {
    /// Stable id derived from the member findings.
    pub pattern_id: String,
    /// Short name.
    pub name: String,
    /// What happened, in time order.
    pub description: String,
    /// 0–1.
    pub confidence_score: f64,
    /// How the confidence was reached, one factor per line.
    pub confidence_factors: Vec<String>,
    /// Highest member severity.
    pub severity: Severity,
    /// STIX kill-chain phases (`mitre-attack:credential-access`) in kill-chain order.
    pub kill_chain_phases: Vec<String>,
    /// ATT&CK tactic names in kill-chain order.
    pub tactics: Vec<String>,
    /// Techniques (`T1552.005 Unsecured Credentials: ...`).
    pub techniques: Vec<String>,
    /// Resources touched (short ids).
    pub affected_resources: Vec<String>,
    /// Number of member findings.
    pub related_findings_count: usize,
    /// Member finding ids, in time order.
    pub related_finding_ids: Vec<String>,
    /// The shared entities that link the members (`principal/resource x`, `ip x`).
    pub linked_by: Vec<String>,
    /// Accounts involved.
    pub accounts: Vec<String>,
    /// First activity.
    #[schemars(with = "String")]
    pub first_seen: Timestamp,
    /// Last activity.
    #[schemars(with = "String")]
    pub last_seen: Timestamp,
    /// 0–100.
    pub risk_score: u32,
    /// The GuardDuty attack-sequence finding that confirms the pattern, if any.
    pub guardduty_attack_sequence: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LinkKind {
    Identity,
    Network,
}

struct UnionFind(Vec<usize>);

impl UnionFind {
    fn find(&mut self, i: usize) -> usize {
        let mut root = i;
        while self.0[root] != root {
            root = self.0[root];
        }
        let mut cur = i;
        while self.0[cur] != root {
            let next = self.0[cur];
            self.0[cur] = root;
            cur = next;
        }
        root
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.0[ra.max(rb)] = ra.min(rb);
        }
    }
}

fn entities(f: &Finding) -> Vec<(LinkKind, String, String)> {
    let mut out = Vec::new();
    for p in &f.principals {
        out.push((LinkKind::Identity, format!("{}|{}", f.account_id, p), p.clone()));
    }
    for r in &f.resources {
        if r.kind == "AwsAccount" {
            continue; // the account is everyone's resource
        }
        let id = short_id(&r.id);
        out.push((LinkKind::Identity, format!("{}|{}", f.account_id, id), id));
    }
    for ip in &f.remote_ips {
        out.push((LinkKind::Network, format!("ip|{ip}"), ip.clone()));
    }
    out.sort();
    out.dedup();
    out
}

/// Correlates findings into attack patterns. `mappings[i]` is the ATT&CK
/// mapping of `findings[i]`.
pub fn correlate(findings: &[Finding], mappings: &[Mapping], catalog: &Catalog) -> Vec<AttackPattern> {
    let members: Vec<usize> = (0..findings.len())
        .filter(|&i| !mappings[i].tactics.is_empty() || findings[i].attack_sequence.is_some())
        .collect();
    let mut uf = UnionFind((0..findings.len()).collect());
    let mut by_entity: BTreeMap<String, (LinkKind, String, Vec<usize>)> = BTreeMap::new();
    for &i in &members {
        for (kind, key, label) in entities(&findings[i]) {
            by_entity.entry(key).or_insert((kind, label, Vec::new())).2.push(i);
        }
    }
    for (_, _, idx) in by_entity.values() {
        for w in idx.windows(2) {
            uf.union(w[0], w[1]);
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &members {
        groups.entry(uf.find(i)).or_default().push(i);
    }

    let mut patterns = Vec::new();
    for group in groups.values() {
        let tactics: BTreeSet<&String> = group.iter().flat_map(|&i| &mappings[i].tactics).collect();
        let sequence = group.iter().find(|&&i| findings[i].attack_sequence.is_some());
        // One finding alone is not a pattern, however many tactics it maps to.
        if (tactics.len() < 2 || group.len() < 2) && sequence.is_none() {
            continue;
        }
        let links: Vec<(LinkKind, String)> = by_entity
            .values()
            .filter(|(_, _, idx)| idx.len() > 1 && idx.iter().any(|i| group.contains(i)))
            .map(|(kind, label, _)| (*kind, label.clone()))
            .collect();
        patterns.push(build_pattern(
            findings,
            mappings,
            catalog,
            group,
            &links,
            sequence.copied(),
        ));
    }
    patterns.sort_by(|a, b| b.risk_score.cmp(&a.risk_score).then(a.first_seen.cmp(&b.first_seen)));
    patterns
}

fn build_pattern(
    findings: &[Finding],
    mappings: &[Mapping],
    catalog: &Catalog,
    group: &[usize],
    links: &[(LinkKind, String)],
    sequence: Option<usize>,
) -> AttackPattern {
    let mut ordered: Vec<usize> = group.to_vec();
    ordered.sort_by(|&a, &b| findings[a].first_seen.cmp(&findings[b].first_seen).then(a.cmp(&b)));

    let mut tactics: Vec<String> = Vec::new();
    let mut techniques: Vec<String> = Vec::new();
    for &i in &ordered {
        for t in &mappings[i].tactics {
            if !tactics.contains(t) {
                tactics.push(t.clone());
            }
        }
        for t in &mappings[i].techniques {
            let label = catalog.technique_label(t);
            if !techniques.contains(&label) {
                techniques.push(label);
            }
        }
    }
    tactics.sort_by_key(|t| catalog.order(t));
    techniques.sort();

    let mut factors = vec!["base 0.30: findings linked by shared entities within the window".to_string()];
    let mut confidence = 0.30;
    let breadth = (0.10 * (tactics.len().saturating_sub(1)) as f64).min(0.30);
    if breadth > 0.0 {
        confidence += breadth;
        factors.push(format!("+{breadth:.2}: spans {} ATT&CK tactics", tactics.len()));
    }
    let kinds: BTreeSet<LinkKind> = links.iter().map(|(k, _)| *k).collect();
    let link_bonus = 0.10 * kinds.len() as f64;
    if link_bonus > 0.0 {
        confidence += link_bonus;
        let names: Vec<&str> = kinds
            .iter()
            .map(|k| match k {
                LinkKind::Identity => "shared identity/resource",
                LinkKind::Network => "shared remote IP",
            })
            .collect();
        factors.push(format!("+{link_bonus:.2}: linked by {}", names.join(" and ")));
    }
    let steps: Vec<usize> = ordered
        .iter()
        .filter_map(|&i| mappings[i].tactics.iter().filter_map(|t| catalog.order(t)).min())
        .collect();
    if steps.len() > 1 {
        let in_order = steps.windows(2).filter(|w| w[0] <= w[1]).count();
        let share = in_order as f64 / (steps.len() - 1) as f64;
        let bonus = 0.10 * share;
        confidence += bonus;
        factors.push(format!(
            "+{bonus:.2}: {in_order} of {} consecutive steps follow kill-chain order in time",
            steps.len() - 1
        ));
    }
    let sequence_id = sequence.map(|i| findings[i].id.clone());
    if sequence.is_some() {
        confidence += 0.25;
        factors.push("+0.25: confirmed by a GuardDuty attack-sequence finding".to_string());
    }
    let confidence = (confidence.min(0.99) * 100.0).round() / 100.0;

    let severity = ordered
        .iter()
        .map(|&i| findings[i].severity)
        .max()
        .unwrap_or(Severity::Low);
    let max_score = ordered.iter().map(|&i| findings[i].severity_score).fold(0.0, f64::max);
    let risk = max_score + 5.0 * tactics.len().saturating_sub(1) as f64 + 2.0 * ordered.len().saturating_sub(1) as f64;
    let risk_score = risk.clamp(0.0, 100.0).round() as u32;

    let mut affected: Vec<String> = Vec::new();
    let mut accounts: Vec<String> = Vec::new();
    for &i in &ordered {
        for r in &findings[i].resources {
            let id = short_id(&r.id);
            if r.kind != "AwsAccount" && !affected.contains(&id) {
                affected.push(id);
            }
        }
        if !accounts.contains(&findings[i].account_id) {
            accounts.push(findings[i].account_id.clone());
        }
    }

    let mut linked_by: Vec<String> = links
        .iter()
        .map(|(k, label)| match k {
            LinkKind::Identity => format!("principal/resource {label}"),
            LinkKind::Network => format!("ip {label}"),
        })
        .collect();
    linked_by.sort();
    linked_by.dedup();

    let first_seen = ordered
        .iter()
        .map(|&i| findings[i].first_seen)
        .min()
        .unwrap_or_default();
    let last_seen = ordered.iter().map(|&i| findings[i].last_seen).max().unwrap_or_default();
    let key_entity = links
        .iter()
        .find(|(k, _)| *k == LinkKind::Identity)
        .or(links.first())
        .map(|(_, l)| l.clone());
    let name = match (sequence, tactics.first(), tactics.last()) {
        (Some(i), _, _) => findings[i]
            .attack_sequence
            .as_ref()
            .map(|s| s.title.clone())
            .unwrap_or_else(|| findings[i].title.clone()),
        (None, Some(first), Some(last)) => match &key_entity {
            Some(e) => format!("{first} to {last} involving {e}"),
            None => format!("{first} to {last}"),
        },
        _ => "Correlated activity".to_string(),
    };
    let narrative: Vec<String> = ordered
        .iter()
        .map(|&i| {
            let f = &findings[i];
            let t = mappings[i].tactics.join("/");
            format!(
                "{} {} [{}] in {}",
                f.first_seen.strftime("%Y-%m-%d %H:%M UTC"),
                f.finding_type,
                t,
                f.account_id
            )
        })
        .collect();
    let description = format!(
        "{} linked findings across {} tactic(s), linked by {}: {}.",
        ordered.len(),
        tactics.len(),
        if linked_by.is_empty() {
            "GuardDuty's own attack-sequence correlation".to_string()
        } else {
            linked_by.join(", ")
        },
        narrative.join("; then ")
    );

    let mut keys: Vec<&str> = ordered.iter().map(|&i| findings[i].dedup_key.as_str()).collect();
    keys.sort_unstable();
    AttackPattern {
        pattern_id: format!("AP-{:016x}", fnv1a(&keys.join("\n"))),
        name,
        description,
        confidence_score: confidence,
        confidence_factors: factors,
        severity,
        kill_chain_phases: tactics
            .iter()
            .map(|t| format!("mitre-attack:{}", phase_name(t)))
            .collect(),
        tactics,
        techniques,
        affected_resources: affected,
        related_findings_count: ordered.len(),
        related_finding_ids: ordered.iter().map(|&i| findings[i].id.clone()).collect(),
        linked_by,
        accounts,
        first_seen,
        last_seen,
        risk_score,
        guardduty_attack_sequence: sequence_id,
    }
}

/// FNV-1a, 64 bit: a stable id that does not change between builds.
pub(crate) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
