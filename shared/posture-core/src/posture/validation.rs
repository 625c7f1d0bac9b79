//! `validate_security_controls`: verify named controls from every source that
//! can speak to each. A control id may be a native check (`iam.root_mfa`), a
//! Security Hub control (`S3.1`: its Security Hub findings plus every native
//! check mapped to it), or a framework requirement (`CIS 1.14`,
//! `NIST AC-2`: its checks and controls). The verdict per control follows the
//! same rules as compliance (see `frameworks`), with the evidence behind it.

use crate::finding::Finding;
use crate::posture::checks;
use crate::posture::compliance::{self, ComplianceReport, DataSources};
use crate::posture::frameworks::{Framework, Requirement};
use crate::posture::inventory::Inventory;

/// A control id resolved to what decides it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// `native check`, `Security Hub control`, or `<framework> requirement`.
    pub kind: String,
    /// The requirement to assess (its id is the id as given).
    pub requirement: Requirement,
}

/// Resolves one id, or says why not.
pub fn resolve(id: &str, frameworks: &[Framework]) -> Result<Resolved, String> {
    let id = id.trim();
    if let Some(check) = checks::find(id) {
        return Ok(Resolved {
            kind: "native check".into(),
            requirement: Requirement {
                id: id.into(),
                title: check.title.into(),
                section: None,
                automated: true,
                checks: vec![id.into()],
                security_hub_controls: check
                    .security_hub_control
                    .map(|c| vec![c.to_string()])
                    .unwrap_or_default(),
                severity: None,
                manual_reason: None,
            },
        });
    }
    if let Some((name, req_id)) = id.split_once(' ')
        && let Some(fw) = frameworks.iter().find(|f| f.short_name.eq_ignore_ascii_case(name))
    {
        let req = fw
            .requirements
            .iter()
            .find(|r| r.id == req_id.trim())
            .ok_or_else(|| format!("{} has no requirement {req_id:?}", fw.id))?;
        let mut requirement = req.clone();
        requirement.id = id.into();
        return Ok(Resolved {
            kind: format!("{} requirement", fw.short_name),
            requirement,
        });
    }
    let shaped_like_control = id.split_once('.').is_some_and(|(svc, n)| {
        !svc.is_empty()
            && svc.chars().all(|c| c.is_ascii_alphanumeric())
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
    });
    if shaped_like_control {
        let mapped: Vec<String> = checks::CHECKS
            .iter()
            .filter(|c| c.security_hub_control == Some(id))
            .map(|c| c.id.to_string())
            .collect();
        let title = mapped
            .first()
            .and_then(|c| checks::find(c))
            .map(|c| c.title.to_string());
        return Ok(Resolved {
            kind: "Security Hub control".into(),
            requirement: Requirement {
                id: id.into(),
                title: title.unwrap_or_else(|| format!("Security Hub control {id}")),
                section: None,
                automated: true,
                checks: mapped,
                security_hub_controls: vec![id.into()],
                severity: None,
                manual_reason: None,
            },
        });
    }
    Err(format!(
        "{id:?} is neither a native check id, a Security Hub control id (like S3.1), nor a framework requirement (like \"CIS 1.14\")"
    ))
}

/// Assesses resolved controls; evidence is always included.
pub fn validate(
    resolved: &[Resolved],
    inventories: &[Inventory],
    findings: &[Finding],
    data_sources: DataSources,
    now: jiff::Timestamp,
) -> ComplianceReport {
    let adhoc = Framework {
        id: "VALIDATION".into(),
        name: "Controls to validate".into(),
        version: "-".into(),
        short_name: "VALIDATION".into(),
        source: "validate_security_controls arguments".into(),
        requirements: resolved.iter().map(|r| r.requirement.clone()).collect(),
    };
    compliance::report(&adhoc, inventories, findings, &[], true, data_sources, now)
}
