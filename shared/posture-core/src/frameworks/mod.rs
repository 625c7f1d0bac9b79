//! Compliance frameworks as data: one JSON file per framework, one format
//! (see `data/frameworks/README.md`), validated on load. Built-in files are
//! embedded; users add their own by putting a file of the same format in a
//! directory the server reads (the caller does the IO and passes the text).
//!
//! Assessment follows Security Hub's control status rules, per source:
//! FAILED if any evaluated resource fails, PASSED if all evaluated resources
//! pass, NOT_APPLICABLE if every resource was out of scope, UNKNOWN if there
//! was no data. Sources (native checks, Security Hub control findings) are
//! combined: FAILED if any source fails, PASSED if one passes and none fails;
//! a PASSED/FAILED disagreement is kept as a conflict. Requirements with
//! neither a check nor a control are MANUAL. Score = passed ÷ (passed +
//! failed): unknowns and manual requirements are counted and shown, never
//! scored as passed.

use crate::checks::{self, Outcome, Status};
use crate::finding::Finding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// `CIS-AWS-3.0`.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Version.
    pub version: String,
    /// What tools accept as `frameworks` values: `CIS`, `NIST`, `SOC2`, `PCI-DSS`.
    pub short_name: String,
    /// Where the requirements and mappings come from.
    #[serde(default)]
    pub source: String,
    /// Requirements.
    pub requirements: Vec<Requirement>,
}

/// One requirement and what decides it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// `1.4`, `AC-2`, `CC6.1`, `8.3.1`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Section heading.
    #[serde(default)]
    pub section: Option<String>,
    /// Whether the framework calls it automatable.
    #[serde(default)]
    pub automated: bool,
    /// Native check ids.
    #[serde(default)]
    pub checks: Vec<String>,
    /// Security Hub control ids.
    #[serde(default)]
    pub security_hub_controls: Vec<String>,
}

/// A framework file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{file}: {location}: {message}")]
pub struct FrameworkError {
    /// The file.
    pub file: String,
    /// `line 12, column 5` or `requirements[3] (id 1.4).checks[0]`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "cis-aws-3.0.json",
        include_str!("../../data/frameworks/cis-aws-3.0.json"),
    ),
    (
        "nist-800-53-r5.json",
        include_str!("../../data/frameworks/nist-800-53-r5.json"),
    ),
    ("soc2-2017.json", include_str!("../../data/frameworks/soc2-2017.json")),
    (
        "pci-dss-4.0.json",
        include_str!("../../data/frameworks/pci-dss-4.0.json"),
    ),
];

/// The built-in frameworks, validated.
pub fn builtin() -> Result<Vec<Framework>, FrameworkError> {
    BUILTIN.iter().map(|(file, text)| parse(file, text)).collect()
}

/// Parses and validates one framework file.
pub fn parse(file: &str, text: &str) -> Result<Framework, FrameworkError> {
    let err = |location: String, message: String| FrameworkError {
        file: file.to_string(),
        location,
        message,
    };
    let fw: Framework = serde_json::from_str(text)
        .map_err(|e| err(format!("line {}, column {}", e.line(), e.column()), e.to_string()))?;
    for (field, value) in [("id", &fw.id), ("name", &fw.name), ("short_name", &fw.short_name)] {
        if value.trim().is_empty() {
            return Err(err(field.to_string(), "must not be empty".into()));
        }
    }
    if fw.requirements.is_empty() {
        return Err(err(
            "requirements".into(),
            "a framework needs at least one requirement".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, r) in fw.requirements.iter().enumerate() {
        let at = format!("requirements[{i}] (id {:?})", r.id);
        if r.id.trim().is_empty() {
            return Err(err(at, "id must not be empty".into()));
        }
        if !seen.insert(r.id.as_str()) {
            return Err(err(at, "duplicate requirement id".into()));
        }
        for (j, c) in r.checks.iter().enumerate() {
            if checks::find(c).is_none() {
                return Err(err(format!("{at}.checks[{j}]"), format!("unknown native check {c:?}")));
            }
        }
        for (j, c) in r.security_hub_controls.iter().enumerate() {
            let valid = c.split_once('.').is_some_and(|(svc, n)| {
                !svc.is_empty()
                    && svc.chars().all(|ch| ch.is_ascii_alphanumeric())
                    && !n.is_empty()
                    && n.chars().all(|ch| ch.is_ascii_digit())
            });
            if !valid {
                return Err(err(
                    format!("{at}.security_hub_controls[{j}]"),
                    format!("{c:?} is not a Security Hub control id (like S3.1)"),
                ));
            }
        }
    }
    Ok(fw)
}

/// A requirement's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ControlStatus {
    /// All evaluated resources pass.
    Passed,
    /// A resource fails.
    Failed,
    /// Nothing in scope.
    NotApplicable,
    /// No data to decide.
    Unknown,
    /// Not automatable: needs a person.
    Manual,
}

/// What one source says about a requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceVerdict {
    /// `native checks` or `Security Hub`.
    pub source: String,
    /// Its status.
    pub status: ControlStatus,
    /// Resources passing.
    pub passed_resources: usize,
    /// Resources failing, by id or name.
    pub failed_resources: Vec<String>,
    /// Why data was missing, when it was.
    pub gaps: Vec<String>,
}

/// A requirement's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RequirementResult {
    /// Requirement id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Combined status.
    pub status: ControlStatus,
    /// Per source.
    pub sources: Vec<SourceVerdict>,
    /// True when one source says PASSED and another FAILED.
    pub conflict: bool,
}

/// A framework's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameworkResult {
    /// Framework id.
    pub framework_id: String,
    /// Short name.
    pub short_name: String,
    /// Requirements PASSED.
    pub passed: usize,
    /// Requirements FAILED.
    pub failed: usize,
    /// Requirements NOT_APPLICABLE.
    pub not_applicable: usize,
    /// Requirements UNKNOWN (no data).
    pub unknown: usize,
    /// Requirements MANUAL.
    pub manual: usize,
    /// passed ÷ (passed + failed) × 100, `None` when nothing was decided.
    pub score: Option<f64>,
    /// Per requirement.
    pub requirements: Vec<RequirementResult>,
}

fn status_of(passed: usize, failed: usize, skipped: usize) -> ControlStatus {
    if failed > 0 {
        ControlStatus::Failed
    } else if passed > 0 {
        ControlStatus::Passed
    } else if skipped > 0 {
        ControlStatus::NotApplicable
    } else {
        ControlStatus::Unknown
    }
}

fn native_verdict(req: &Requirement, outcomes: &[Outcome]) -> Option<SourceVerdict> {
    if req.checks.is_empty() {
        return None;
    }
    let mine: Vec<&Outcome> = outcomes.iter().filter(|o| req.checks.contains(&o.check_id)).collect();
    let count = |s: Status| mine.iter().filter(|o| o.status == s).count();
    let failed_resources: Vec<String> = mine
        .iter()
        .filter(|o| o.status == Status::Fail)
        .map(|o| o.resource.clone())
        .collect();
    let gaps: Vec<String> = mine
        .iter()
        .filter(|o| o.status == Status::Error)
        .map(|o| format!("{}: {}", o.resource, o.reason))
        .collect();
    Some(SourceVerdict {
        source: "native checks".into(),
        status: status_of(count(Status::Pass), failed_resources.len(), count(Status::Skip)),
        passed_resources: count(Status::Pass),
        failed_resources,
        gaps,
    })
}

fn security_hub_verdict(req: &Requirement, findings: &[Finding]) -> Option<SourceVerdict> {
    if req.security_hub_controls.is_empty() {
        return None;
    }
    let mut passed = 0;
    let mut failed_resources = Vec::new();
    for f in findings.iter().filter(|f| f.is_live()) {
        let Some(c) = &f.compliance else { continue };
        if !c
            .control_id
            .as_ref()
            .is_some_and(|id| req.security_hub_controls.contains(id))
        {
            continue;
        }
        match c.status.as_deref() {
            Some("PASSED") => passed += 1,
            // Named as the native checks name them (`account/resource`), so the two sources line up.
            Some("FAILED") | Some("WARNING") => failed_resources.extend(f.resource_names().into_iter().map(|r| {
                if r.starts_with("account ") {
                    r
                } else {
                    format!("{}/{r}", f.account_id)
                }
            })),
            _ => {}
        }
    }
    Some(SourceVerdict {
        source: "Security Hub".into(),
        status: status_of(passed, failed_resources.len(), 0),
        passed_resources: passed,
        failed_resources,
        gaps: Vec::new(),
    })
}

/// Assesses a framework from native outcomes and Security Hub control findings.
pub fn assess(fw: &Framework, outcomes: &[Outcome], findings: &[Finding]) -> FrameworkResult {
    let mut requirements = Vec::new();
    for req in &fw.requirements {
        let sources: Vec<SourceVerdict> = [native_verdict(req, outcomes), security_hub_verdict(req, findings)]
            .into_iter()
            .flatten()
            .collect();
        let any = |s: ControlStatus| sources.iter().any(|v| v.status == s);
        let status = if sources.is_empty() {
            ControlStatus::Manual
        } else if any(ControlStatus::Failed) {
            ControlStatus::Failed
        } else if any(ControlStatus::Passed) {
            ControlStatus::Passed
        } else if any(ControlStatus::NotApplicable) {
            ControlStatus::NotApplicable
        } else {
            ControlStatus::Unknown
        };
        requirements.push(RequirementResult {
            id: req.id.clone(),
            title: req.title.clone(),
            status,
            conflict: any(ControlStatus::Passed) && any(ControlStatus::Failed),
            sources,
        });
    }
    let count = |s: ControlStatus| requirements.iter().filter(|r| r.status == s).count();
    let (passed, failed) = (count(ControlStatus::Passed), count(ControlStatus::Failed));
    FrameworkResult {
        framework_id: fw.id.clone(),
        short_name: fw.short_name.clone(),
        passed,
        failed,
        not_applicable: count(ControlStatus::NotApplicable),
        unknown: count(ControlStatus::Unknown),
        manual: count(ControlStatus::Manual),
        score: (passed + failed > 0).then(|| (passed as f64 * 1000.0 / (passed + failed) as f64).round() / 10.0),
        requirements,
    }
}

#[cfg(test)]
mod tests;
