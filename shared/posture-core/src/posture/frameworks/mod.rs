//! Compliance frameworks as data: one JSON file per framework, one format
//! (see `data/frameworks/README.md`), validated on load. Built-in files are
//! embedded; users add their own by putting a file of the same format in a
//! directory the server reads (the caller does the IO and passes the text).
//!
//! Assessment, per source (native checks, Security Hub control findings),
//! follows [`crate::verdict`]: FAILED if any resource fails; UNKNOWN if any
//! resource or region in scope could not be read (an Error outcome, a
//! NOT_AVAILABLE control finding, or the source itself unread: every such gap
//! is listed); PASSED only if every resource read passes; NOT_APPLICABLE if
//! every resource was out of scope; UNKNOWN with no gap when the source had
//! nothing to say. Sources combine by the same rule: FAILED if one fails,
//! UNKNOWN if one has gaps, PASSED if one passes; a source with nothing to
//! say neither helps nor hurts. A PASSED/FAILED disagreement is kept as a
//! conflict. Requirements with neither a check nor a control are MANUAL.
//! Score = passed ÷ (passed + failed): unknowns and manual requirements are
//! counted and shown, never scored as passed, and `score_partial` says when
//! some requirement was left undecided.
//!
//! A failing resource an exception in force covers ([`Accepting`]) is
//! SUPPRESSED, listed with its exception; a requirement whose failures are
//! all accepted is SUPPRESSED. Scores are given both ways: `score` counts
//! accepted failures as failed (without exceptions), `score_with_exceptions`
//! counts their requirements as passed.

use crate::exceptions::{Acceptance, Exception, FailedEvidence, Suppressed, account_and_resource};
use crate::finding::Finding;
use crate::posture::checks::{self, Outcome, Status};
use crate::sources::SECURITY_HUB;
pub use crate::verdict::ControlStatus;
use crate::verdict::{Tally, Unread};
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
    /// The framework's own severity of a failure, where it gives one (AWS
    /// FSBP does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<crate::severity::Severity>,
    /// Why no native check decides it (only where `checks` is empty): what
    /// the framework asks that no API answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_reason: Option<String>,
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
        include_str!("../../../data/frameworks/cis-aws-3.0.json"),
    ),
    (
        "nist-800-53-r5.json",
        include_str!("../../../data/frameworks/nist-800-53-r5.json"),
    ),
    (
        "soc2-2017.json",
        include_str!("../../../data/frameworks/soc2-2017.json"),
    ),
    (
        "pci-dss-4.0.json",
        include_str!("../../../data/frameworks/pci-dss-4.0.json"),
    ),
    (
        "aws-fsbp-1.0.json",
        include_str!("../../../data/frameworks/aws-fsbp-1.0.json"),
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
        match &r.manual_reason {
            Some(_) if !r.checks.is_empty() => {
                return Err(err(
                    format!("{at}.manual_reason"),
                    "a requirement with native checks is not manual".into(),
                ));
            }
            Some(why) if why.trim().is_empty() => {
                return Err(err(format!("{at}.manual_reason"), "must not be empty".into()));
            }
            _ => {}
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
    /// Failing resources that are accepted risks, with their exception.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Suppressed>,
    /// Failing resources whose exception has expired (they fail again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_exceptions: Vec<Suppressed>,
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
    /// Why it is MANUAL, when the framework file says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_reason: Option<String>,
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
    /// Requirements SUPPRESSED (every failure an accepted risk).
    pub suppressed: usize,
    /// passed ÷ (passed + failed + suppressed) × 100: accepted failures
    /// count as failed. `None` when nothing was decided.
    pub score: Option<f64>,
    /// (passed + suppressed) ÷ (passed + failed + suppressed) × 100:
    /// accepted failures count as passed.
    pub score_with_exceptions: Option<f64>,
    /// True when some requirement is UNKNOWN: the score covers only what
    /// was decided.
    pub score_partial: bool,
    /// Per requirement.
    pub requirements: Vec<RequirementResult>,
}

/// The names a failure of native check `check_id` answers to: the check, its
/// Security Hub control, and every requirement of `frameworks` that lists it.
pub fn check_names(frameworks: &[Framework], check_id: &str) -> Vec<String> {
    let control = checks::find(check_id).and_then(|c| c.security_hub_control);
    let mut names = vec![check_id.to_string()];
    names.extend(control.map(str::to_string));
    names.extend(requirement_names(frameworks, |r| {
        r.checks.iter().any(|c| c == check_id)
    }));
    names
}

/// The names a failed Security Hub control finding answers to: the control,
/// the native checks that correspond to it, and every requirement of
/// `frameworks` that lists it.
pub fn control_names(frameworks: &[Framework], control: &str) -> Vec<String> {
    let mut names = vec![control.to_string()];
    names.extend(
        checks::CHECKS
            .iter()
            .filter(|c| c.security_hub_control == Some(control))
            .map(|c| c.id.to_string()),
    );
    names.extend(requirement_names(frameworks, |r| {
        r.security_hub_controls.iter().any(|c| c == control)
    }));
    names
}

fn requirement_names(frameworks: &[Framework], lists: impl Fn(&Requirement) -> bool) -> Vec<String> {
    frameworks
        .iter()
        .flat_map(|fw| {
            fw.requirements
                .iter()
                .filter(|r| lists(r))
                .flat_map(|r| [format!("{} {}", fw.short_name, r.id), format!("{} {}", fw.id, r.id)])
        })
        .collect()
}

/// The native checks' source name in verdicts.
pub const NATIVE_CHECKS: &str = "native checks";

/// The exceptions an assessment applies, and whose evidence it reads.
#[derive(Debug, Clone, Copy)]
pub struct Accepting<'a> {
    /// The exceptions in force.
    pub acceptance: &'a Acceptance,
    /// The account all the evidence is from; `None` when it is several
    /// accounts', whose resources are named `account/resource` (or
    /// `account <id>` for the account itself).
    pub account: Option<&'a str>,
}

impl Accepting<'_> {
    /// Nothing accepted.
    pub const NONE: Accepting<'static> = Accepting {
        acceptance: &Acceptance::NONE,
        account: None,
    };

    /// The exception covering a failure of `resources` in `region`, known by
    /// `controls` ([`check_names`] or [`control_names`] without frameworks:
    /// only this requirement's names are added here, as an exception on a
    /// requirement covers that requirement only): `Ok` one in force, `Err`
    /// one that has expired, `Ok(None)` none.
    fn covering(
        &self,
        fw: &Framework,
        req: &Requirement,
        controls: &[String],
        account: &str,
        region: &str,
        resources: &[&str],
    ) -> Result<Option<&Exception>, &Exception> {
        if self.acceptance.is_empty() {
            return Ok(None);
        }
        let by_short = format!("{} {}", fw.short_name, req.id);
        let by_id = format!("{} {}", fw.id, req.id);
        let mut names: Vec<&str> = controls.iter().map(String::as_str).collect();
        names.extend([by_short.as_str(), by_id.as_str()]);
        let failed = FailedEvidence {
            controls: &names,
            account_id: account,
            region,
            resources,
        };
        match self.acceptance.covering(&failed) {
            Some(e) => Ok(Some(e)),
            None => self.acceptance.lapsed(&failed).map_or(Ok(None), Err),
        }
    }
}

fn native_verdict(
    fw: &Framework,
    req: &Requirement,
    outcomes: &[Outcome],
    unread: &Unread,
    accepting: &Accepting,
) -> Option<SourceVerdict> {
    if req.checks.is_empty() {
        return None;
    }
    let mut tally = Tally::default();
    let mut failed_resources = Vec::new();
    let mut suppressed = Vec::new();
    let mut expired_exceptions = Vec::new();
    let mut gaps = Vec::new();
    for o in outcomes.iter().filter(|o| req.checks.contains(&o.check_id)) {
        match o.status {
            Status::Pass => tally.passed += 1,
            Status::Fail => {
                let (account, resource) = account_and_resource(&o.resource, accepting.account);
                let region = o.region.as_deref().unwrap_or_default();
                let controls = check_names(&[], &o.check_id);
                match accepting.covering(fw, req, &controls, account, region, &[resource]) {
                    Ok(Some(exception)) => {
                        tally.suppressed += 1;
                        suppressed.push(Suppressed::new(o.resource.clone(), exception));
                    }
                    lapsed => {
                        tally.failed += 1;
                        failed_resources.push(o.resource.clone());
                        if let Err(expired) = lapsed {
                            expired_exceptions.push(Suppressed::new(o.resource.clone(), expired));
                        }
                    }
                }
            }
            Status::Skip => tally.not_applicable += 1,
            Status::Error => {
                tally.unread += 1;
                gaps.push(match &o.region {
                    Some(region) => format!("{} ({region}): {}", o.resource, o.reason),
                    None => format!("{}: {}", o.resource, o.reason),
                });
            }
        }
    }
    for why in &unread.inventory {
        tally.unread += 1;
        gaps.push(format!("inventory not read: {why}"));
    }
    Some(SourceVerdict {
        source: NATIVE_CHECKS.into(),
        status: tally.status(),
        passed_resources: tally.passed,
        failed_resources,
        gaps,
        suppressed,
        expired_exceptions,
    })
}

fn security_hub_verdict(
    fw: &Framework,
    req: &Requirement,
    findings: &[Finding],
    unread: &Unread,
    accepting: &Accepting,
) -> Option<SourceVerdict> {
    if req.security_hub_controls.is_empty() {
        return None;
    }
    let mut tally = Tally::default();
    let mut failed_resources = Vec::new();
    let mut suppressed = Vec::new();
    let mut expired_exceptions = Vec::new();
    let mut gaps = Vec::new();
    // Named as the native checks name them (`account/resource`), so the two sources line up.
    let names = |f: &Finding| -> Vec<String> {
        f.resource_names()
            .into_iter()
            .map(|r| {
                if r.starts_with("account ") {
                    r
                } else {
                    format!("{}/{r}", f.account_id)
                }
            })
            .collect()
    };
    for f in findings.iter().filter(|f| f.is_live()) {
        let Some(c) = &f.compliance else { continue };
        let Some(control) = c
            .control_id
            .as_ref()
            .filter(|id| req.security_hub_controls.contains(id))
        else {
            continue;
        };
        match c.status.as_deref() {
            Some("PASSED") => tally.passed += 1,
            Some("FAILED") | Some("WARNING") => {
                let resources = f.resource_names();
                let resources: Vec<&str> = resources.iter().map(String::as_str).collect();
                let controls = control_names(&[], control);
                let covered = accepting.covering(fw, req, &controls, &f.account_id, &f.region, &resources);
                match covered {
                    Ok(Some(exception)) => {
                        tally.suppressed += 1;
                        suppressed.extend(names(f).into_iter().map(|r| Suppressed::new(r, exception)));
                    }
                    lapsed => {
                        tally.failed += 1;
                        failed_resources.extend(names(f));
                        if let Err(expired) = lapsed {
                            expired_exceptions.extend(names(f).into_iter().map(|r| Suppressed::new(r, expired)));
                        }
                    }
                }
            }
            // ASFF: the check could not be performed (service outage, API
            // error); the finding is archived instead when it does not apply.
            Some("NOT_AVAILABLE") => {
                tally.unread += 1;
                gaps.extend(
                    names(f)
                        .into_iter()
                        .map(|r| format!("{r}: Security Hub could not evaluate {control} (NOT_AVAILABLE)")),
                );
            }
            _ => {}
        }
    }
    for why in &unread.security_hub {
        tally.unread += 1;
        gaps.push(format!("Security Hub control findings not read: {why}"));
    }
    Some(SourceVerdict {
        source: SECURITY_HUB.into(),
        status: tally.status(),
        passed_resources: tally.passed,
        failed_resources,
        gaps,
        suppressed,
        expired_exceptions,
    })
}

/// Assesses a framework from native outcomes and Security Hub control
/// findings; `unread` names the evidence that could not be read, which
/// keeps every requirement it would have decided from passing; `accepting`
/// the exceptions that suppress failures.
pub fn assess(
    fw: &Framework,
    outcomes: &[Outcome],
    findings: &[Finding],
    unread: &Unread,
    accepting: &Accepting,
) -> FrameworkResult {
    let mut requirements = Vec::new();
    for req in &fw.requirements {
        let sources: Vec<SourceVerdict> = [
            native_verdict(fw, req, outcomes, unread, accepting),
            security_hub_verdict(fw, req, findings, unread, accepting),
        ]
        .into_iter()
        .flatten()
        .collect();
        let any = |s: ControlStatus| sources.iter().any(|v| v.status == s);
        let status = if sources.is_empty() {
            ControlStatus::Manual
        } else {
            let mut tally = Tally::default();
            for v in &sources {
                tally.add(v.status, !v.gaps.is_empty());
            }
            tally.status()
        };
        requirements.push(RequirementResult {
            id: req.id.clone(),
            title: req.title.clone(),
            status,
            conflict: any(ControlStatus::Passed) && any(ControlStatus::Failed),
            manual_reason: req.manual_reason.clone().filter(|_| status == ControlStatus::Manual),
            sources,
        });
    }
    let count = |s: ControlStatus| requirements.iter().filter(|r| r.status == s).count();
    let (passed, failed, unknown, suppressed) = (
        count(ControlStatus::Passed),
        count(ControlStatus::Failed),
        count(ControlStatus::Unknown),
        count(ControlStatus::Suppressed),
    );
    FrameworkResult {
        framework_id: fw.id.clone(),
        short_name: fw.short_name.clone(),
        passed,
        failed,
        not_applicable: count(ControlStatus::NotApplicable),
        unknown,
        manual: count(ControlStatus::Manual),
        suppressed,
        score: score(passed, failed + suppressed),
        score_with_exceptions: score(passed + suppressed, failed),
        // An accepted failure's requirement with gaps: the score with
        // exceptions counts it passed on what was read.
        score_partial: unknown > 0
            || requirements
                .iter()
                .any(|r| r.status == ControlStatus::Suppressed && r.sources.iter().any(|s| !s.gaps.is_empty())),
        requirements,
    }
}

/// How every score in the product is defined, as answers state it.
pub const SCORE_DEFINITION: &str = "Security Hub's definition: requirements PASSED ÷ requirements with data \
(PASSED + FAILED) × 100, to one decimal, per framework; UNKNOWN, NOT_APPLICABLE and MANUAL requirements \
are not scored. For several accounts (the organization), the accounts' requirement results are pooled: \
Σ PASSED ÷ (Σ PASSED + Σ FAILED) over the accounts. A SUPPRESSED requirement (every failure an accepted \
risk) counts as FAILED in the score and as PASSED in the score with exceptions.";

/// The score of one account's framework result: passed ÷ (passed +
/// failed) × 100 to one decimal, `None` when nothing was decided
/// ([`SCORE_DEFINITION`]).
pub fn score(passed: usize, failed: usize) -> Option<f64> {
    (passed + failed > 0).then(|| (passed as f64 * 1000.0 / (passed + failed) as f64).round() / 10.0)
}

/// The score of a set of accounts from each one's (passed, failed)
/// requirement counts: pooled, then [`score`] ([`SCORE_DEFINITION`]).
pub fn pooled_score(accounts: impl IntoIterator<Item = (usize, usize)>) -> Option<f64> {
    let (passed, failed) = accounts.into_iter().fold((0, 0), |(p, f), (ap, af)| (p + ap, f + af));
    score(passed, failed)
}

#[cfg(test)]
mod tests;
