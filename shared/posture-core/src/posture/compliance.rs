//! `check_compliance_status`: one framework assessed over every account in
//! scope, shaped as seed 000 describes, with gaps, evidence and a timeline.
//!
//! Resources are named `<account>/<resource>` so an organization-wide answer
//! says where each one is. Status values are PASSED, FAILED, NOT_APPLICABLE
//! as in the seed, plus UNKNOWN (no data) and MANUAL (needs a person), which
//! are shown and never scored. `compliance_status` is COMPLIANT when no
//! requirement FAILED or is UNKNOWN, NON_COMPLIANT when the score is below
//! 50, PARTIAL otherwise.

use crate::exceptions::{Acceptance, Suppressed};
use crate::finding::Finding;
use crate::posture::acceptance::{ExceptionReview, review};
use crate::posture::checks::{self, Outcome, Status};
use crate::posture::frameworks::{
    Accepting, ControlStatus, Framework, FrameworkResult, SCORE_DEFINITION, assess, pooled_score,
};
use crate::posture::inventory::Inventory;
use crate::severity::Severity;
use crate::sources::{SECURITY_HUB, SourceGap};
use crate::verdict::Unread;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Evidence items listed in full at most; the total is always given.
pub const EVIDENCE_LIMIT: usize = 500;

/// One requirement's result (seed `control_results`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ControlResult {
    /// Requirement id.
    pub control_id: String,
    /// Title.
    pub title: String,
    /// What decides it: checks and Security Hub controls.
    pub description: String,
    /// PASSED, FAILED, NOT_APPLICABLE, UNKNOWN, MANUAL.
    pub status: ControlStatus,
    /// Highest severity among its checks.
    pub severity: Severity,
    /// Resources passing.
    pub compliant_resources: usize,
    /// Resources failing.
    pub non_compliant_resources: usize,
    /// The failing resources (`account/resource`).
    pub failing_resources: Vec<String>,
    /// Native check and Security Hub disagree.
    pub conflict: bool,
    /// What each source said (native checks, Security Hub).
    pub sources: Vec<crate::posture::frameworks::SourceVerdict>,
    /// Why data was missing, when UNKNOWN or partly so.
    pub data_gaps: Vec<String>,
    /// Failing resources that are accepted risks, each with its exception
    /// (the requirement is SUPPRESSED when these are all its failures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Suppressed>,
    /// Failing resources an exception covered until it expired: failing
    /// again, flagged with the exception.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expired_exceptions: Vec<Suppressed>,
    /// What to do.
    pub remediation_guidance: String,
}

/// A requirement's accepted failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AcceptedControl {
    /// Requirement id.
    pub control_id: String,
    /// Its status: SUPPRESSED when these are all its failures, else FAILED.
    pub status: ControlStatus,
    /// Each accepted failing resource with its exception.
    pub suppressed: Vec<Suppressed>,
}

/// A failed requirement (seed `compliance_gaps`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComplianceGap {
    /// `GAP-<framework>-<requirement>`.
    pub gap_id: String,
    /// Requirement id.
    pub control_id: String,
    /// Title.
    pub title: String,
    /// Failing resources.
    pub description: String,
    /// HIGH for critical/high checks, MEDIUM, LOW.
    pub remediation_priority: String,
    /// From the number of failing resources.
    pub estimated_effort: String,
    /// The checks' rationale.
    pub business_impact: String,
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evidence {
    /// Requirement id.
    pub control_id: String,
    /// `native_check` or `security_hub_finding`.
    pub evidence_type: String,
    /// The check id or finding id.
    pub source: String,
    /// When the fact was read.
    pub timestamp: String,
    /// Resource, account, region, status, reason.
    pub details: serde_json::Value,
}

/// Gaps by urgency.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Timeline {
    /// HIGH priority gaps.
    pub immediate: Vec<String>,
    /// MEDIUM.
    pub short_term: Vec<String>,
    /// LOW.
    pub long_term: Vec<String>,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComplianceReport {
    /// Framework short name.
    pub framework: String,
    /// Framework id and version.
    pub framework_version: String,
    /// Accounts assessed.
    pub accounts: Vec<String>,
    /// When the inventories were collected (oldest).
    pub assessment_date: String,
    /// The accounts' requirement results pooled: Σ passed ÷ (Σ passed + Σ
    /// failed) × 100 (`score_definition`); for one account, its score.
    /// `null` when nothing was decided. Accepted failures count as failed.
    pub overall_compliance_score: Option<f64>,
    /// The same with accepted failures' requirements counted as passed.
    pub overall_compliance_score_with_exceptions: Option<f64>,
    /// True when some account has a requirement UNKNOWN: the score covers
    /// only what was decided.
    pub score_partial: bool,
    /// How the scores are computed.
    pub score_definition: String,
    /// COMPLIANT, NON_COMPLIANT or PARTIAL; a SUPPRESSED requirement (an
    /// accepted risk) does not keep it from COMPLIANT.
    pub compliance_status: String,
    /// The accepted risks: every exception of the file about this framework
    /// with its state on the evidence's day, how many failures it covers,
    /// and flags for expired and stale (matching no failure) ones.
    pub exceptions: Vec<ExceptionReview>,
    /// Per requirement, the failing resources accepted by an exception
    /// (listed even when `control_results` is not asked for).
    pub accepted_risks: Vec<AcceptedControl>,
    /// Each account's own standing, lowest score first (unscored last).
    pub account_scores: Vec<AccountScore>,
    /// Requirements by their status over all accounts together (FAILED when
    /// failing in any account), as `control_results` lists them.
    pub counts: StatusCounts,
    /// Per requirement.
    pub control_results: Vec<ControlResult>,
    /// Failed requirements.
    pub compliance_gaps: Vec<ComplianceGap>,
    /// Present when evidence was asked for.
    pub evidence: Option<Vec<Evidence>>,
    /// Evidence items in total (at most 500 are listed).
    pub evidence_total: usize,
    /// Gaps by urgency.
    pub remediation_timeline: Timeline,
    /// Where the facts came from and what could not be read.
    pub data_sources: DataSources,
    /// ISO 8601.
    pub generated_at: String,
}

/// The sources behind a report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DataSources {
    /// Inventories could not be read: why (native checks are then UNKNOWN).
    pub inventory_error: Option<String>,
    /// The finding sources (Security Hub control findings).
    pub finding_sources: Vec<crate::findings::analysis::SourceStatus>,
    /// What each account's own compliance tooling (Security Hub standards,
    /// AWS Config rules and conformance packs) reported, per region.
    #[serde(default)]
    pub aws_tooling: Vec<ToolingStatus>,
    /// More findings matched than were read: control findings past the
    /// limit were not seen.
    #[serde(default)]
    pub findings_truncated: bool,
    /// Per account, its finding sources that were not read in full (when
    /// answering from a run's collections): they keep that account's
    /// requirements from passing, not the others'.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub account_source_gaps: BTreeMap<String, Vec<SourceGap>>,
    /// The accepted risks in force (shown in each answer's `exceptions`).
    #[serde(skip)]
    #[schemars(skip)]
    pub exceptions: Acceptance,
    /// The exceptions file could not be used (where and why): no exception
    /// was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptions_error: Option<String>,
}

impl DataSources {
    /// These sources with the accepted risks of `loaded` as they stand on
    /// `day`, for accounts in the organizational units `units` names
    /// (`org::run::unit_names`).
    pub fn accepting(
        self,
        loaded: &crate::exceptions::LoadedExceptions,
        day: jiff::civil::Date,
        units: impl IntoIterator<Item = (String, Vec<String>)>,
    ) -> DataSources {
        DataSources {
            exceptions: Acceptance::new(loaded.exceptions.clone(), day, units),
            exceptions_error: loaded.error.as_ref().map(|e| format!("not applied: {e}")),
            ..self
        }
    }
}

impl DataSources {
    /// The evidence these sources could not read. A Security Hub that is
    /// not enabled has nothing to say, which is not a gap; one that failed
    /// or was cut short is.
    pub fn unread(&self) -> Unread {
        let mut security_hub: Vec<String> = self
            .finding_sources
            .iter()
            .filter(|s| s.service == SECURITY_HUB)
            .filter_map(|s| s.error.as_ref())
            .filter(|e| e.kind.leaves_unread())
            .map(|e| format!("{:?}: {}", e.kind, e.message))
            .collect();
        if self.findings_truncated {
            security_hub.push("more findings matched than were read".into());
        }
        Unread {
            inventory: self.inventory_error.iter().cloned().collect(),
            security_hub,
        }
    }

    /// What was left unread for `account`: the shared sources' gaps and its own.
    pub fn unread_of(&self, account: &str) -> Unread {
        let mut unread = self.unread();
        if let Some(gaps) = self.account_source_gaps.get(account) {
            unread.security_hub.extend(Unread::of_source_gaps(gaps).security_hub);
        }
        unread
    }

    /// What was left unread for any account: for a verdict over several.
    pub fn unread_of_any(&self) -> Unread {
        let mut unread = self.unread();
        for (account, gaps) in &self.account_source_gaps {
            let own = Unread::of_source_gaps(gaps).security_hub;
            unread
                .security_hub
                .extend(own.into_iter().map(|why| format!("account {account}: {why}")));
        }
        unread
    }
}

/// The compliance tooling of one account in one region, as collected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolingStatus {
    /// The account.
    pub account_id: String,
    /// The region.
    pub region: String,
    /// Enabled Security Hub standards as `ARN (STATUS)`; `null` when unknown.
    pub securityhub_standards: Option<Vec<String>>,
    /// AWS Config rules counted by compliance (`NOT_EVALUATED` when AWS
    /// Config has no result yet); `null` when unknown.
    pub config_rules: Option<BTreeMap<String, usize>>,
    /// Conformance packs as `name: COMPLIANCE`; `null` when unknown.
    pub conformance_packs: Option<Vec<String>>,
    /// Why a part is unknown.
    pub gaps: Vec<String>,
}

/// The tooling status of every collected account and region.
pub fn tooling(inventories: &[Inventory]) -> Vec<ToolingStatus> {
    let mut out = Vec::new();
    for inv in inventories {
        for (region, r) in &inv.region {
            let mut gaps = Vec::new();
            let mut known = |what: &str, gap: &crate::posture::inventory::Gap| {
                gaps.push(format!("{what}: {} ({})", gap.detail, gap.kind));
            };
            let securityhub_standards = match r.securityhub_standards.get() {
                Ok(list) => Some(list.iter().map(|s| format!("{} ({})", s.arn, s.status)).collect()),
                Err(g) => {
                    known("Security Hub standards", g);
                    None
                }
            };
            let (config_rules, conformance_packs) = match r.config.get() {
                Ok(c) => {
                    let rules = match c.rules.get() {
                        Ok(rules) => {
                            let mut counts = BTreeMap::new();
                            for rule in rules {
                                *counts
                                    .entry(rule.compliance.clone().unwrap_or_else(|| "NOT_EVALUATED".into()))
                                    .or_insert(0) += 1;
                            }
                            Some(counts)
                        }
                        Err(g) => {
                            known("AWS Config rules", g);
                            None
                        }
                    };
                    let packs = match c.conformance_packs.get() {
                        Ok(packs) => Some(
                            packs
                                .iter()
                                .map(|p| format!("{}: {}", p.name, p.compliance.as_deref().unwrap_or("NOT_REPORTED")))
                                .collect(),
                        ),
                        Err(g) => {
                            known("AWS Config conformance packs", g);
                            None
                        }
                    };
                    (rules, packs)
                }
                Err(g) => {
                    known("AWS Config", g);
                    (None, None)
                }
            };
            out.push(ToolingStatus {
                account_id: inv.account_id.clone(),
                region: region.clone(),
                securityhub_standards,
                config_rules,
                conformance_packs,
                gaps,
            });
        }
    }
    out
}

/// One account's standing in a framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountScore {
    /// The account.
    pub account_id: String,
    /// passed ÷ (passed + failed) × 100; `null` when nothing was decided.
    pub score: Option<f64>,
    /// Requirement counts in this account.
    pub counts: StatusCounts,
    /// The same with accepted failures counted as passed.
    pub score_with_exceptions: Option<f64>,
    /// Requirements FAILED in this account.
    pub failed_controls: Vec<String>,
}

/// Requirement counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StatusCounts {
    /// PASSED.
    pub passed: usize,
    /// FAILED.
    pub failed: usize,
    /// NOT_APPLICABLE.
    pub not_applicable: usize,
    /// UNKNOWN.
    pub unknown: usize,
    /// MANUAL.
    pub manual: usize,
    /// SUPPRESSED (every failure an accepted risk).
    #[serde(default)]
    pub suppressed: usize,
}

impl StatusCounts {
    /// (passed, failed) as scored without exceptions: accepted failures fail.
    pub fn scored(&self) -> (usize, usize) {
        (self.passed, self.failed + self.suppressed)
    }

    /// (passed, failed) as scored with exceptions: accepted failures pass.
    pub fn scored_with_exceptions(&self) -> (usize, usize) {
        (self.passed + self.suppressed, self.failed)
    }

    /// Counts of several accounts added up.
    pub fn total<'a>(all: impl IntoIterator<Item = &'a StatusCounts>) -> StatusCounts {
        all.into_iter().fold(StatusCounts::default(), |t, c| StatusCounts {
            passed: t.passed + c.passed,
            failed: t.failed + c.failed,
            not_applicable: t.not_applicable + c.not_applicable,
            unknown: t.unknown + c.unknown,
            manual: t.manual + c.manual,
            suppressed: t.suppressed + c.suppressed,
        })
    }
}

impl From<&FrameworkResult> for StatusCounts {
    fn from(r: &FrameworkResult) -> StatusCounts {
        StatusCounts {
            passed: r.passed,
            failed: r.failed,
            not_applicable: r.not_applicable,
            unknown: r.unknown,
            manual: r.manual,
            suppressed: r.suppressed,
        }
    }
}

/// The AWS services the native checks name (`S3`, `IAM`, ...): what a
/// service selection can name.
pub fn services() -> Vec<&'static str> {
    let mut services: Vec<&'static str> = checks::CHECKS.iter().map(|c| c.service).collect();
    services.sort_unstable();
    services.dedup();
    services
}

/// `fw` narrowed to the requirements about `services`: those with a native
/// check of one of them, or a Security Hub control of one (`S3.1` is S3's,
/// `SecurityHub.1` Security Hub's). Names compare without case and spaces.
pub fn for_services(fw: &Framework, services: &[String]) -> Framework {
    let compact = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let wanted: Vec<String> = services.iter().map(|s| compact(s)).collect();
    let mut narrowed = fw.clone();
    narrowed.requirements.retain(|r| {
        r.checks
            .iter()
            .filter_map(|c| checks::find(c))
            .any(|c| wanted.contains(&compact(c.service)))
            || r.security_hub_controls
                .iter()
                .filter_map(|c| c.split_once('.'))
                .any(|(prefix, _)| wanted.contains(&compact(prefix)))
    });
    narrowed
}

/// Native outcomes of all accounts, resources prefixed with their account.
pub fn outcomes(inventories: &[Inventory]) -> Vec<(Outcome, Timestamp)> {
    inventories
        .iter()
        .flat_map(|inv| {
            checks::evaluate_all(inv).into_iter().map(move |mut o| {
                if !o.resource.starts_with("account ") {
                    o.resource = format!("{}/{}", inv.account_id, o.resource);
                }
                (o, inv.collected_at)
            })
        })
        .collect()
}

/// Builds the report. `control_ids` filters requirements (empty: all).
pub fn report(
    fw: &Framework,
    inventories: &[Inventory],
    findings: &[Finding],
    control_ids: &[String],
    include_evidence: bool,
    data_sources: DataSources,
    now: Timestamp,
) -> ComplianceReport {
    let native = outcomes(inventories);
    let plain: Vec<Outcome> = native.iter().map(|(o, _)| o.clone()).collect();
    let accepting = Accepting {
        acceptance: &data_sources.exceptions,
        account: None,
    };
    let result = assess(fw, &plain, findings, &data_sources.unread_of_any(), &accepting);
    let account_scores = account_scores(fw, inventories, findings, &data_sources);
    let wanted = |id: &str| control_ids.is_empty() || control_ids.iter().any(|c| c == id);

    let mut control_results = Vec::new();
    let mut gaps = Vec::new();
    let mut timeline = Timeline::default();
    let mut evidence = Vec::new();
    for (req, res) in fw
        .requirements
        .iter()
        .zip(&result.requirements)
        .filter(|(r, _)| wanted(&r.id))
    {
        let checks: Vec<&checks::Check> = req.checks.iter().filter_map(|c| checks::find(c)).collect();
        let severity = checks.iter().map(|c| c.severity).max().unwrap_or(Severity::Medium);
        let mut failing: Vec<String> = res.sources.iter().flat_map(|s| s.failed_resources.clone()).collect();
        failing.sort();
        failing.dedup();
        let compliant = res.sources.iter().map(|s| s.passed_resources).max().unwrap_or(0);
        let guidance =
            checks
                .iter()
                .map(|c| format!("{}: {} ({})", c.id, c.remediation.join("; "), c.doc_url))
                .chain(req.security_hub_controls.iter().map(|c| {
                    format!("Security Hub {c}: https://docs.aws.amazon.com/console/securityhub/{c}/remediation")
                }))
                .collect::<Vec<_>>()
                .join("\n");
        let mut description = Vec::new();
        if !req.checks.is_empty() {
            description.push(format!("native checks: {}", req.checks.join(", ")));
        }
        if !req.security_hub_controls.is_empty() {
            description.push(format!(
                "Security Hub controls: {}",
                req.security_hub_controls.join(", ")
            ));
        }
        if description.is_empty() {
            description.push("manual: no automated check".into());
        }
        if res.status == ControlStatus::Failed {
            let priority = match severity {
                Severity::Critical | Severity::High => "HIGH",
                Severity::Medium => "MEDIUM",
                _ => "LOW",
            };
            let hours = 0.5 + 0.5 * failing.len() as f64;
            let entry = format!(
                "{} {}: {} ({} resource(s))",
                fw.short_name,
                req.id,
                req.title,
                failing.len().max(1)
            );
            match priority {
                "HIGH" => timeline.immediate.push(entry),
                "MEDIUM" => timeline.short_term.push(entry),
                _ => timeline.long_term.push(entry),
            }
            gaps.push(ComplianceGap {
                gap_id: format!("GAP-{}-{}", fw.short_name, req.id),
                control_id: req.id.clone(),
                title: req.title.clone(),
                description: if failing.is_empty() {
                    "failed".into()
                } else {
                    format!("failing: {}", failing.join(", "))
                },
                remediation_priority: priority.into(),
                estimated_effort: format!("about {hours:.1} h ({} failing resource(s))", failing.len()),
                business_impact: checks.iter().map(|c| c.rationale).collect::<Vec<_>>().join(" "),
            });
        }
        if include_evidence {
            for (o, at) in native
                .iter()
                .filter(|(o, _)| req.checks.contains(&o.check_id) && o.status != Status::Skip)
            {
                evidence.push(Evidence {
                    control_id: req.id.clone(),
                    evidence_type: "native_check".into(),
                    source: o.check_id.clone(),
                    timestamp: at.to_string(),
                    details: serde_json::json!({"resource": o.resource, "region": o.region, "status": o.status, "reason": o.reason}),
                });
            }
            for f in findings.iter().filter(|f| {
                f.is_live()
                    && f.compliance
                        .as_ref()
                        .and_then(|c| c.control_id.as_ref())
                        .is_some_and(|c| req.security_hub_controls.contains(c))
            }) {
                evidence.push(Evidence {
                    control_id: req.id.clone(),
                    evidence_type: "security_hub_finding".into(),
                    source: f.id.clone(),
                    timestamp: f.updated_at.to_string(),
                    details: serde_json::json!({
                        "resources": f.resource_names(), "account": f.account_id, "region": f.region,
                        "status": f.compliance.as_ref().and_then(|c| c.status.clone()), "title": f.title,
                    }),
                });
            }
        }
        control_results.push(ControlResult {
            control_id: req.id.clone(),
            title: req.title.clone(),
            description: description.join("; "),
            status: res.status,
            severity,
            compliant_resources: compliant,
            non_compliant_resources: failing.len(),
            failing_resources: failing,
            conflict: res.conflict,
            sources: res.sources.clone(),
            data_gaps: res.sources.iter().flat_map(|s| s.gaps.clone()).collect(),
            suppressed: merged(res.sources.iter().flat_map(|s| s.suppressed.iter())),
            expired_exceptions: merged(res.sources.iter().flat_map(|s| s.expired_exceptions.iter())),
            remediation_guidance: guidance,
        });
    }
    let accepted_risks = control_results
        .iter()
        .filter(|r| !r.suppressed.is_empty())
        .map(|r| AcceptedControl {
            control_id: r.control_id.clone(),
            status: r.status,
            suppressed: r.suppressed.clone(),
        })
        .collect();
    let count = |s: ControlStatus| control_results.iter().filter(|r| r.status == s).count();
    let counts = StatusCounts {
        passed: count(ControlStatus::Passed),
        failed: count(ControlStatus::Failed),
        not_applicable: count(ControlStatus::NotApplicable),
        unknown: count(ControlStatus::Unknown),
        manual: count(ControlStatus::Manual),
        suppressed: count(ControlStatus::Suppressed),
    };
    let score = pooled_score(account_scores.iter().map(|a| a.counts.scored()));
    let score_with_exceptions = pooled_score(account_scores.iter().map(|a| a.counts.scored_with_exceptions()));
    let status = if counts.failed == 0 && counts.unknown == 0 {
        "COMPLIANT"
    } else if score_with_exceptions.is_some_and(|s| s < 50.0) {
        "NON_COMPLIANT"
    } else {
        "PARTIAL"
    };
    let evidence_total = evidence.len();
    evidence.truncate(EVIDENCE_LIMIT);
    ComplianceReport {
        framework: fw.short_name.clone(),
        framework_version: format!("{} {}", fw.id, fw.version),
        accounts: inventories.iter().map(|i| i.account_id.clone()).collect(),
        assessment_date: inventories
            .iter()
            .map(|i| i.collected_at)
            .min()
            .unwrap_or(now)
            .to_string(),
        overall_compliance_score: score,
        overall_compliance_score_with_exceptions: score_with_exceptions,
        score_partial: account_scores.iter().any(|a| a.counts.unknown > 0),
        score_definition: SCORE_DEFINITION.into(),
        compliance_status: status.into(),
        exceptions: review(&data_sources.exceptions, std::slice::from_ref(fw), &plain, findings),
        accepted_risks,
        account_scores,
        counts,
        control_results,
        compliance_gaps: gaps,
        evidence: include_evidence.then_some(evidence),
        evidence_total,
        remediation_timeline: timeline,
        data_sources,
        generated_at: now.to_string(),
    }
}

/// Each entry once, in order.
fn merged<'a>(entries: impl Iterator<Item = &'a Suppressed>) -> Vec<Suppressed> {
    let set: std::collections::BTreeSet<&Suppressed> = entries.collect();
    set.into_iter().cloned().collect()
}

/// Each account assessed on its own: its checks, its findings, what was
/// left unread for it. Accounts known only from findings (no inventory) are
/// assessed from those. Lowest score first, unscored last.
pub fn account_scores(
    fw: &Framework,
    inventories: &[Inventory],
    findings: &[Finding],
    data_sources: &DataSources,
) -> Vec<AccountScore> {
    let mut accounts: Vec<&str> = inventories.iter().map(|i| i.account_id.as_str()).collect();
    accounts.extend(findings.iter().map(|f| f.account_id.as_str()).filter(|a| !a.is_empty()));
    accounts.sort_unstable();
    accounts.dedup();
    let mut out: Vec<AccountScore> = accounts
        .into_iter()
        .map(|account| {
            let outcomes: Vec<Outcome> = inventories
                .iter()
                .filter(|i| i.account_id == account)
                .flat_map(checks::evaluate_all)
                .collect();
            let own: Vec<Finding> = findings.iter().filter(|f| f.account_id == account).cloned().collect();
            let accepting = Accepting {
                acceptance: &data_sources.exceptions,
                account: Some(account),
            };
            let r = assess(fw, &outcomes, &own, &data_sources.unread_of(account), &accepting);
            AccountScore {
                account_id: account.to_string(),
                score: r.score,
                score_with_exceptions: r.score_with_exceptions,
                counts: StatusCounts::from(&r),
                failed_controls: r
                    .requirements
                    .iter()
                    .filter(|q| q.status == ControlStatus::Failed)
                    .map(|q| q.id.clone())
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| match (a.score, b.score) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    out
}
