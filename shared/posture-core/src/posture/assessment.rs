//! `assess_security_posture`: findings, native check failures and framework
//! scores for one scope — an account, a region, a service, or a workload
//! (resources carrying a tag `key=value`).
//!
//! An account is assessed against every requirement of each framework; a
//! region, service or workload only against the requirements that something
//! in the scope speaks to.
//!
//! `total_findings` counts open external findings (Security Hub, GuardDuty,
//! Inspector, ...) and failed native check outcomes at or above the
//! threshold. `overall_score` is the mean of the requested frameworks'
//! scores. `risk_level` is the highest severity among those findings (LOW
//! when there are none). A framework is COMPLIANT when no requirement FAILED
//! or is UNKNOWN in scope, else NON_COMPLIANT.

use crate::finding::Finding;
use crate::posture::acceptance::{AcceptedRisk, set_aside};
use crate::posture::checks::{self, Outcome, Status};
use crate::posture::compliance::{StatusCounts, account_scores};
use crate::posture::frameworks::{Accepting, Framework, assess, score};
use crate::posture::inventory::Inventory;
use crate::posture::recommendations;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to assess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every account in the data: framework standings pool the accounts'
    /// requirement results (`frameworks::SCORE_DEFINITION`).
    Organization,
    /// One account id.
    Account(String),
    /// One region.
    Region(String),
    /// One service, as the checks name them (`S3`, `IAM`, ...).
    Service(String),
    /// Resources tagged `key=value`.
    Workload {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
}

/// Why a scope cannot be assessed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScopeError(pub String);

/// What is known to exist, for validating targets.
pub struct Known {
    /// Account ids.
    pub accounts: Vec<String>,
    /// Regions.
    pub regions: Vec<String>,
    /// Services.
    pub services: Vec<String>,
}

impl Known {
    /// Collects what the inventories and findings mention.
    pub fn from(inventories: &[Inventory], findings: &[Finding]) -> Known {
        let mut accounts: Vec<String> = inventories.iter().map(|i| i.account_id.clone()).collect();
        accounts.extend(findings.iter().map(|f| f.account_id.clone()));
        let mut regions: Vec<String> = inventories.iter().flat_map(|i| i.region.keys().cloned()).collect();
        regions.extend(findings.iter().map(|f| f.region.clone()));
        let mut services: Vec<String> = checks::CHECKS.iter().map(|c| c.service.to_string()).collect();
        for v in [&mut accounts, &mut regions, &mut services] {
            v.sort();
            v.dedup();
            v.retain(|x| !x.is_empty());
        }
        Known {
            accounts,
            regions,
            services,
        }
    }
}

impl Scope {
    /// Parses `scope` and `target`, checking the target exists.
    pub fn parse(scope: &str, target: &str, known: &Known, inventories: &[Inventory]) -> Result<Scope, ScopeError> {
        let target = target.trim();
        match scope {
            "organization" if target == "all" => Ok(Scope::Organization),
            "organization" => Err(ScopeError(
                "with scope organization, target must be \"all\" (the accounts in scope come from the assessor's settings)"
                    .into(),
            )),
            "account" => known
                .accounts
                .iter()
                .any(|a| a == target)
                .then(|| Scope::Account(target.to_string()))
                .ok_or_else(|| {
                    ScopeError(format!(
                        "unknown account {target:?}; known: {}",
                        known.accounts.join(", ")
                    ))
                }),
            "region" => known
                .regions
                .iter()
                .any(|r| r == target)
                .then(|| Scope::Region(target.to_string()))
                .ok_or_else(|| {
                    ScopeError(format!(
                        "no data for region {target:?}; known: {}",
                        known.regions.join(", ")
                    ))
                }),
            "service" => known
                .services
                .iter()
                .find(|s| s.eq_ignore_ascii_case(target))
                .map(|s| Scope::Service(s.clone()))
                .ok_or_else(|| {
                    ScopeError(format!(
                        "unknown service {target:?}; known: {}",
                        known.services.join(", ")
                    ))
                }),
            "workload" => {
                let (key, value) = target
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| ScopeError(format!("a workload target is a tag key=value, got {target:?}")))?;
                let scope = Scope::Workload {
                    key: key.to_string(),
                    value: value.to_string(),
                };
                if tagged(&scope, inventories).is_empty() {
                    return Err(ScopeError(format!("no resource carries the tag {key}={value}")));
                }
                Ok(scope)
            }
            other => Err(ScopeError(format!("unknown scope {other:?}"))),
        }
    }

    /// `organization`, `account`, `region`, `service` or `workload`.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Organization => "organization",
            Scope::Account(_) => "account",
            Scope::Region(_) => "region",
            Scope::Service(_) => "service",
            Scope::Workload { .. } => "workload",
        }
    }
}

/// `account/resource` of every resource carrying the workload tag.
fn tagged(scope: &Scope, inventories: &[Inventory]) -> Vec<String> {
    let Scope::Workload { key, value } = scope else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for inv in inventories {
        for region in inv.region.values() {
            if let Ok(ec2) = region.ec2.get() {
                for i in &ec2.instances {
                    if i.tags.iter().any(|(k, v)| k == key && v == value) {
                        out.push(format!("{}/{}", inv.account_id, i.id));
                    }
                }
            }
        }
    }
    out
}

fn outcome_in_scope(scope: &Scope, o: &Outcome, workload: &[String]) -> bool {
    match scope {
        Scope::Organization => true,
        Scope::Account(a) => {
            o.resource.starts_with(&format!("{a}/"))
                || o.resource == format!("account {a}")
                || o.resource.starts_with(&format!("account {a} "))
        }
        Scope::Region(r) => o.region.as_deref() == Some(r.as_str()),
        Scope::Service(s) => checks::find(&o.check_id).is_some_and(|c| c.service == s),
        Scope::Workload { .. } => workload.contains(&o.resource),
    }
}

fn finding_in_scope(scope: &Scope, f: &Finding, workload: &[String]) -> bool {
    match scope {
        Scope::Organization => true,
        Scope::Account(a) => &f.account_id == a,
        Scope::Region(r) => &f.region == r,
        Scope::Service(s) => {
            let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            f.source.name().eq_ignore_ascii_case(s)
                || f.resources.iter().any(|r| r.kind.starts_with(&format!("Aws{compact}")))
        }
        Scope::Workload { .. } => f
            .resource_names()
            .iter()
            .any(|r| workload.contains(&format!("{}/{r}", f.account_id))),
    }
}

/// For a region, service or workload, only the requirements something in the
/// scope speaks to: a requirement about IAM says nothing about a region.
fn in_scope_requirements(fw: &Framework, outcomes: &[Outcome], findings: &[Finding]) -> Framework {
    let mut scoped = fw.clone();
    scoped.requirements.retain(|r| {
        r.checks.iter().any(|c| outcomes.iter().any(|o| &o.check_id == c))
            || r.security_hub_controls.iter().any(|c| {
                findings
                    .iter()
                    .any(|f| f.compliance.as_ref().and_then(|x| x.control_id.as_ref()) == Some(c))
            })
    });
    scoped
}

/// A framework's standing in the scope. For the organization, the counts
/// are of account × requirement results (pooled over the accounts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameworkStanding {
    /// passed ÷ (passed + failed) × 100 (`frameworks::SCORE_DEFINITION`).
    pub overall_score: Option<f64>,
    /// True when some requirement is UNKNOWN: the score covers only what
    /// was decided.
    pub score_partial: bool,
    /// COMPLIANT or NON_COMPLIANT.
    pub status: String,
    /// PASSED requirements.
    pub passed_controls: usize,
    /// FAILED requirements.
    pub failed_controls: usize,
    /// Requirements assessed (for a region, service or workload: those in scope).
    pub total_controls: usize,
    /// UNKNOWN requirements (no data in scope).
    pub unknown_controls: usize,
    /// NOT_APPLICABLE requirements.
    pub not_applicable_controls: usize,
    /// MANUAL requirements.
    pub manual_controls: usize,
    /// SUPPRESSED requirements (every failure an accepted risk).
    pub suppressed_controls: usize,
    /// The score with accepted failures' requirements counted as passed.
    pub overall_score_with_exceptions: Option<f64>,
}

impl FrameworkStanding {
    /// From requirement counts (an account's, or several accounts' added up:
    /// the pooled score).
    fn of(counts: &StatusCounts, total_controls: usize) -> FrameworkStanding {
        let (passed, failed) = counts.scored();
        let (passed_with, failed_with) = counts.scored_with_exceptions();
        FrameworkStanding {
            overall_score: score(passed, failed),
            overall_score_with_exceptions: score(passed_with, failed_with),
            suppressed_controls: counts.suppressed,
            score_partial: counts.unknown > 0,
            status: if counts.failed == 0 && counts.unknown == 0 {
                "COMPLIANT"
            } else {
                "NON_COMPLIANT"
            }
            .into(),
            passed_controls: counts.passed,
            failed_controls: counts.failed,
            total_controls,
            unknown_controls: counts.unknown,
            not_applicable_controls: counts.not_applicable,
            manual_controls: counts.manual,
        }
    }
}

/// A top finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TopFinding {
    /// `check:<id>` for native checks, else the (first) finding id.
    pub finding_id: String,
    /// Title.
    pub title: String,
    /// Severity label.
    pub severity: Severity,
    /// What it means.
    pub description: String,
    /// `Posture Advisor checks`, `Security Hub`, `GuardDuty`, ...
    pub source_service: String,
    /// Resources affected.
    pub resource_count: usize,
    /// Requested frameworks whose requirements it touches.
    pub compliance_frameworks: Vec<String>,
}

/// A recommendation, as the assessment lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AssessmentRecommendation {
    /// Id (see `recommend_security_improvements` for the full entry).
    pub recommendation_id: String,
    /// Title.
    pub title: String,
    /// HIGH, MEDIUM, LOW.
    pub priority: String,
    /// What is wrong, where.
    pub description: String,
    /// Number of affected resources.
    pub affected_resources: usize,
    /// Framework requirements helped.
    pub compliance_impact: Vec<String>,
    /// A step could be automated safely (nothing is applied by the server).
    pub automation_available: bool,
}

/// The assessment (seed 000 fields plus data sources).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Assessment {
    /// Id.
    pub assessment_id: String,
    /// account, region, service, workload.
    pub scope: String,
    /// The target.
    pub target: String,
    /// Frameworks assessed (short names).
    pub frameworks: Vec<String>,
    /// Mean of the framework scores, `null` when none could be scored.
    pub overall_score: Option<f64>,
    /// True when a framework score is partial (some requirement UNKNOWN).
    pub score_partial: bool,
    /// LOW, MEDIUM, HIGH, CRITICAL.
    pub risk_level: Severity,
    /// Findings and failed checks at or above the threshold.
    pub total_findings: usize,
    /// CRITICAL.
    pub critical_findings: usize,
    /// HIGH.
    pub high_findings: usize,
    /// MEDIUM.
    pub medium_findings: usize,
    /// LOW.
    pub low_findings: usize,
    /// Per framework.
    pub compliance_status: BTreeMap<String, FrameworkStanding>,
    /// Riskiest first, at most 10.
    pub top_findings: Vec<TopFinding>,
    /// Highest impact first, at most 10; empty when not asked for.
    pub recommendations: Vec<AssessmentRecommendation>,
    /// Region (the target for a region scope).
    pub region: String,
    /// Where the facts came from.
    pub data_sources: crate::posture::compliance::DataSources,
    /// Failures accepted by an exception in force: left out of the counts,
    /// top findings and recommendations, listed here with their exception.
    pub accepted_risks: Vec<AcceptedRisk>,
    /// ISO 8601.
    pub generated_at: String,
}

/// Inputs of an assessment.
pub struct Request<'a> {
    /// Id to give it.
    pub assessment_id: String,
    /// Scope.
    pub scope: Scope,
    /// Target as given.
    pub target: String,
    /// Frameworks to score.
    pub frameworks: Vec<&'a Framework>,
    /// Threshold.
    pub min_severity: Severity,
    /// Include recommendations.
    pub include_recommendations: bool,
    /// Region to report.
    pub region: String,
    /// Time.
    pub now: jiff::Timestamp,
}

/// Assesses a scope.
pub fn assess_scope(
    req: &Request<'_>,
    inventories: &[Inventory],
    findings: &[Finding],
    data_sources: crate::posture::compliance::DataSources,
) -> Assessment {
    let workload = tagged(&req.scope, inventories);
    let outcomes: Vec<Outcome> = crate::posture::compliance::outcomes(inventories)
        .into_iter()
        .map(|(o, _)| o)
        .filter(|o| outcome_in_scope(&req.scope, o, &workload))
        .collect();
    let findings: Vec<Finding> = findings
        .iter()
        .filter(|f| f.is_live() && finding_in_scope(&req.scope, f, &workload))
        .cloned()
        .collect();
    // Every resource is named `account/resource` (`compliance::outcomes`).
    let accepting = Accepting {
        acceptance: &data_sources.exceptions,
        account: None,
    };

    let mut compliance_status = BTreeMap::new();
    let mut scores = Vec::new();
    for fw in &req.frameworks {
        let standing = match &req.scope {
            Scope::Organization => {
                let accounts = account_scores(fw, inventories, &findings, &data_sources);
                FrameworkStanding::of(
                    &StatusCounts::total(accounts.iter().map(|a| &a.counts)),
                    fw.requirements.len() * accounts.len(),
                )
            }
            Scope::Account(account) => {
                let r = assess(fw, &outcomes, &findings, &data_sources.unread_of(account), &accepting);
                FrameworkStanding::of(&StatusCounts::from(&r), r.requirements.len())
            }
            _ => {
                let scoped = in_scope_requirements(fw, &outcomes, &findings);
                let r = assess(&scoped, &outcomes, &findings, &data_sources.unread_of_any(), &accepting);
                FrameworkStanding::of(&StatusCounts::from(&r), r.requirements.len())
            }
        };
        if let Some(s) = standing.overall_score {
            scores.push(s);
        }
        compliance_status.insert(fw.short_name.clone(), standing);
    }

    let touches = |check: Option<&str>, control: Option<&str>| -> Vec<String> {
        req.frameworks
            .iter()
            .filter(|fw| {
                fw.requirements.iter().any(|r| {
                    check.is_some_and(|c| r.checks.iter().any(|x| x == c))
                        || control.is_some_and(|c| r.security_hub_controls.iter().any(|x| x == c))
                })
            })
            .map(|fw| fw.short_name.clone())
            .collect()
    };

    let all_frameworks: Vec<Framework> = req.frameworks.iter().map(|f| (*f).clone()).collect();
    let (outcomes, findings, accepted_risks) =
        set_aside(&data_sources.exceptions, &all_frameworks, outcomes, &findings, None);
    let mut severities = Vec::new();
    let mut top: Vec<TopFinding> = Vec::new();
    let mut by_check: BTreeMap<&str, usize> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.status == Status::Fail) {
        *by_check.entry(o.check_id.as_str()).or_default() += 1;
    }
    for (id, count) in by_check {
        let Some(c) = checks::find(id) else { continue };
        if c.severity < req.min_severity {
            continue;
        }
        severities.extend(std::iter::repeat_n(c.severity, count));
        top.push(TopFinding {
            finding_id: format!("check:{id}"),
            title: c.title.to_string(),
            severity: c.severity,
            description: c.rationale.to_string(),
            source_service: "Posture Advisor checks".into(),
            resource_count: count,
            compliance_frameworks: touches(Some(id), c.security_hub_control),
        });
    }
    let mut groups: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in findings
        .iter()
        .filter(|f| f.is_open() && f.severity >= req.min_severity)
    {
        severities.push(f.severity);
        let key = f
            .compliance
            .as_ref()
            .and_then(|c| c.control_id.clone())
            .unwrap_or_else(|| f.finding_type.clone());
        groups.entry(key).or_default().push(f);
    }
    for (key, group) in groups {
        let first = group[0];
        let severity = group.iter().map(|f| f.severity).max().unwrap_or(first.severity);
        let mut resources: Vec<String> = group.iter().flat_map(|f| f.resource_names()).collect();
        resources.sort();
        resources.dedup();
        top.push(TopFinding {
            finding_id: first.id.clone(),
            title: first.title.clone(),
            severity,
            description: first.description.clone(),
            source_service: first.source.name().to_string(),
            resource_count: resources.len().max(1),
            compliance_frameworks: touches(None, Some(&key)),
        });
    }
    top.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.resource_count.cmp(&a.resource_count))
    });
    top.truncate(10);

    let count = |s: Severity| severities.iter().filter(|x| **x == s).count();
    let recommendations = if req.include_recommendations {
        recommendations::rank(
            recommendations::derive(&outcomes, &findings, &all_frameworks),
            "high-impact",
        )
        .into_iter()
        .filter(|r| r.severity >= req.min_severity)
        .take(10)
        .map(|r| AssessmentRecommendation {
            recommendation_id: r.recommendation_id,
            title: r.title,
            priority: r.priority,
            description: r.description,
            affected_resources: r.affected_resources.len(),
            compliance_impact: r.compliance_frameworks,
            automation_available: r.automation_available,
        })
        .collect()
    } else {
        Vec::new()
    };
    Assessment {
        assessment_id: req.assessment_id.clone(),
        scope: req.scope.kind().into(),
        target: req.target.clone(),
        frameworks: req.frameworks.iter().map(|f| f.short_name.clone()).collect(),
        overall_score: (!scores.is_empty())
            .then(|| (scores.iter().sum::<f64>() / scores.len() as f64 * 10.0).round() / 10.0),
        score_partial: compliance_status.values().any(|s| s.score_partial),
        risk_level: severities
            .iter()
            .copied()
            .max()
            .filter(|s| *s >= Severity::Low)
            .unwrap_or(Severity::Low),
        total_findings: severities.len(),
        critical_findings: count(Severity::Critical),
        high_findings: count(Severity::High),
        medium_findings: count(Severity::Medium),
        low_findings: count(Severity::Low),
        compliance_status,
        top_findings: top,
        recommendations,
        region: req.region.clone(),
        data_sources,
        accepted_risks,
        generated_at: req.now.to_string(),
    }
}
