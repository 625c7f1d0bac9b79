//! MITRE ATT&CK mapping of GuardDuty finding types, GuardDuty threat purposes
//! and ASFF `Types`, from the data file `data/mitre/attack.json`.

use crate::finding::Finding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

const ATTACK_JSON: &str = include_str!("../../data/mitre/attack.json");

/// An ATT&CK tactic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tactic {
    /// `TA0006`.
    pub id: String,
    /// `Credential Access`.
    pub name: String,
}

/// An ATT&CK technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// Technique name.
    pub name: String,
    /// Tactics the technique belongs to.
    pub tactics: Vec<String>,
}

/// The tactics and techniques a finding type or category maps to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Tactic names.
    pub tactics: Vec<String>,
    /// Technique ids.
    pub techniques: Vec<String>,
}

/// The whole mapping data set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// Where the mapping comes from.
    pub source: String,
    /// The 14 enterprise tactics in kill-chain order.
    pub tactics: Vec<Tactic>,
    /// Techniques by id.
    pub techniques: BTreeMap<String, Technique>,
    /// GuardDuty threat purposes (the part before `:` in a finding type).
    pub threat_purposes: BTreeMap<String, Mapping>,
    /// GuardDuty finding types.
    pub finding_types: BTreeMap<String, Mapping>,
    /// ASFF `Namespace/Category` types.
    pub asff_types: BTreeMap<String, Mapping>,
}

static CATALOG: LazyLock<Result<Catalog, String>> = LazyLock::new(|| {
    let catalog: Catalog = serde_json::from_str(ATTACK_JSON).map_err(|e| format!("data/mitre/attack.json: {e}"))?;
    catalog.validate()?;
    Ok(catalog)
});

/// The embedded catalog, or why it is unusable.
pub fn catalog() -> Result<&'static Catalog, &'static str> {
    CATALOG.as_ref().map_err(String::as_str)
}

impl Catalog {
    fn validate(&self) -> Result<(), String> {
        let known = |t: &str| self.tactics.iter().any(|k| k.name == t);
        let check = |what: &str, key: &str, m: &Mapping| -> Result<(), String> {
            if let Some(t) = m.tactics.iter().find(|t| !known(t)) {
                return Err(format!("{what} {key:?}: unknown tactic {t:?}"));
            }
            if let Some(t) = m.techniques.iter().find(|t| !self.techniques.contains_key(*t)) {
                return Err(format!("{what} {key:?}: undefined technique {t:?}"));
            }
            Ok(())
        };
        for (k, m) in &self.threat_purposes {
            check("threat purpose", k, m)?;
        }
        for (k, m) in &self.finding_types {
            check("finding type", k, m)?;
        }
        for (k, m) in &self.asff_types {
            check("ASFF type", k, m)?;
        }
        for (id, t) in &self.techniques {
            if let Some(bad) = t.tactics.iter().find(|t| !known(t)) {
                return Err(format!("technique {id}: unknown tactic {bad:?}"));
            }
        }
        Ok(())
    }

    /// Kill-chain position of a tactic (0 = Reconnaissance), if known.
    pub fn order(&self, tactic: &str) -> Option<usize> {
        self.tactics.iter().position(|t| t.name == tactic)
    }

    /// The tactic by name.
    pub fn tactic(&self, name: &str) -> Option<&Tactic> {
        self.tactics.iter().find(|t| t.name == name)
    }

    /// `T1552.005 Unsecured Credentials: Cloud Instance Metadata API`.
    pub fn technique_label(&self, id: &str) -> String {
        match self.techniques.get(id) {
            Some(t) => format!("{id} {}", t.name),
            None => id.to_string(),
        }
    }

    /// Maps a finding to ATT&CK.
    pub fn classify(&self, finding: &Finding) -> Mapping {
        let mut out = Mapping::default();
        if let Some(seq) = &finding.attack_sequence {
            for t in &seq.tactics {
                if let Some(name) = self.normalize_tactic(t) {
                    push(&mut out.tactics, name);
                }
            }
            for t in &seq.techniques {
                if let Some(id) = t
                    .split_whitespace()
                    .next()
                    .filter(|id| self.techniques.contains_key(*id))
                {
                    push(&mut out.techniques, id.to_string());
                }
            }
        }
        if let Some(m) = self.guardduty_mapping(&finding.finding_type) {
            merge(&mut out, m);
        }
        for t in &finding.types {
            let mut parts = t.splitn(3, '/');
            if let (Some(ns), Some(cat)) = (parts.next(), parts.next())
                && let Some(m) = self.asff_types.get(&format!("{ns}/{cat}"))
            {
                merge(&mut out, m);
            }
        }
        out.tactics.sort_by_key(|t| self.order(t));
        out
    }

    fn guardduty_mapping(&self, finding_type: &str) -> Option<&Mapping> {
        if let Some(m) = self.finding_types.get(finding_type) {
            return Some(m);
        }
        let (purpose, _) = finding_type.split_once(':')?;
        // Finding types spell some purposes differently (`PenTest:` vs `Pentest`).
        self.threat_purposes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(purpose))
            .map(|(_, m)| m)
    }

    /// Accepts tactic names as GuardDuty writes them (`PRIVILEGE_ESCALATION`,
    /// `Privilege Escalation`, `TA0004`).
    fn normalize_tactic(&self, raw: &str) -> Option<String> {
        let wanted: String = raw
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        self.tactics
            .iter()
            .find(|t| {
                t.id.eq_ignore_ascii_case(raw)
                    || t.name
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .to_ascii_lowercase()
                        == wanted
            })
            .map(|t| t.name.clone())
    }
}

fn push(list: &mut Vec<String>, v: String) {
    if !list.contains(&v) {
        list.push(v);
    }
}

fn merge(into: &mut Mapping, m: &Mapping) {
    for t in &m.tactics {
        push(&mut into.tactics, t.clone());
    }
    for t in &m.techniques {
        push(&mut into.techniques, t.clone());
    }
}

/// The STIX kill-chain phase name of a tactic (`credential-access`).
pub fn phase_name(tactic: &str) -> String {
    tactic.to_ascii_lowercase().replace(' ', "-")
}

/// Whether `purpose` is a GuardDuty threat purpose (`Backdoor`, `Recon`, ...).
pub fn is_guardduty_purpose(purpose: &str) -> bool {
    const PURPOSES: &[&str] = &[
        "AttackSequence",
        "Backdoor",
        "Behavior",
        "CredentialAccess",
        "CryptoCurrency",
        "DefenseEvasion",
        "Discovery",
        "Execution",
        "Exfiltration",
        "Impact",
        "InitialAccess",
        "Pentest",
        "Persistence",
        "Policy",
        "PrivilegeEscalation",
        "Recon",
        "Stealth",
        "Trojan",
        "UnauthorizedAccess",
        "Object",
        "DefenseImpairment",
        "LateralMovement",
        "ResourceDevelopment",
    ];
    PURPOSES.iter().any(|p| p.eq_ignore_ascii_case(purpose))
}

/// The GuardDuty user guide page that documents a finding type.
pub fn guardduty_doc_url(finding_type: &str) -> String {
    let base = "https://docs.aws.amazon.com/guardduty/latest/ug/";
    let resource = finding_type.split_once(':').map(|(_, r)| r).unwrap_or_default();
    let resource = resource.split('/').next().unwrap_or_default();
    let page = if finding_type.starts_with("AttackSequence:") {
        "guardduty-attack-sequence-finding-types.html"
    } else {
        match resource {
            "EC2" => "guardduty_finding-types-ec2.html",
            "IAMUser" => "guardduty_finding-types-iam.html",
            "S3" => "guardduty_finding-types-s3.html",
            "Kubernetes" => "guardduty-finding-types-eks-audit-logs.html",
            "Runtime" => "findings-runtime-monitoring.html",
            "Lambda" => "lambda-protection-finding-types.html",
            "RDS" => "rds-protection-finding-types.html",
            _ => "guardduty_finding-types-active.html",
        }
    };
    format!("{base}{page}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_is_valid_and_ordered() {
        let c = catalog().unwrap();
        assert_eq!(c.tactics.len(), 14);
        assert_eq!(c.tactics[0].name, "Reconnaissance");
        assert_eq!(c.tactics[13].name, "Impact");
        assert!(c.order("Credential Access") < c.order("Exfiltration"));
        assert!(c.finding_types.len() > 100, "{}", c.finding_types.len());
    }

    #[test]
    fn tactic_names_are_normalized() {
        let c = catalog().unwrap();
        assert_eq!(
            c.normalize_tactic("PRIVILEGE_ESCALATION").as_deref(),
            Some("Privilege Escalation")
        );
        assert_eq!(c.normalize_tactic("TA0010").as_deref(), Some("Exfiltration"));
        assert_eq!(c.normalize_tactic("Nonsense"), None);
    }

    #[test]
    fn doc_urls_follow_the_resource_type() {
        assert!(
            guardduty_doc_url("CryptoCurrency:EC2/BitcoinTool.B!DNS").ends_with("guardduty_finding-types-ec2.html")
        );
        assert!(
            guardduty_doc_url("AttackSequence:IAM/CompromisedCredentials")
                .ends_with("guardduty-attack-sequence-finding-types.html")
        );
    }
}
