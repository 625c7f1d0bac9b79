//! Snapshots: what one assessment run found in one account, kept so that
//! history and drift can be asked about later. A snapshot is a pure function
//! of the account's inventory, its findings and the frameworks; drift and
//! history are pure functions of snapshots.

use crate::exceptions::Acceptance;
use crate::finding::Finding;
use crate::findings::spool::{FindingSpool, SpoolError};
use crate::posture::checks::{self, Outcome, Status};
use crate::posture::frameworks::{Accepting, ControlStatus, Framework, assess, score};
use crate::posture::inventory::Inventory;
use crate::severity::Severity;
use crate::sources::SourceGap;
use crate::verdict::Unread;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Version of the stored snapshot format.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

/// A score change smaller than this many points is `stable`.
pub const STABLE_WITHIN_POINTS: f64 = 1.0;

/// One account at one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountSnapshot {
    /// Format version.
    pub schema_version: u32,
    /// The assessment run.
    pub run_id: String,
    /// The account.
    pub account_id: String,
    /// When the inventory was collected.
    #[schemars(with = "crate::time::DateTime")]
    pub taken_at: Timestamp,
    /// Per framework short name.
    pub frameworks: BTreeMap<String, FrameworkScore>,
    /// Failed native check outcomes, sorted.
    pub failures: Vec<Failure>,
    /// Open findings by severity (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `INFORMATIONAL`).
    pub open_findings: BTreeMap<Severity, usize>,
    /// Inventory sections that could not be read, as `section: kind: detail`,
    /// then finding sources not read in full, as `region service: kind: detail`.
    pub gaps: Vec<String>,
    /// The exceptions that suppressed a failure here, with what they
    /// suppressed: why a failure that persisted no longer counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<AppliedException>,
}

/// An exception as it applied in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AppliedException {
    /// Its id.
    pub exception_id: String,
    /// The control it names.
    pub control: String,
    /// Why the risk is accepted.
    pub reason: String,
    /// Who accepted it.
    pub owner: String,
    /// When it was accepted.
    #[schemars(with = "String")]
    pub accepted_on: jiff::civil::Date,
    /// Its last day.
    #[schemars(with = "String")]
    pub expires: jiff::civil::Date,
    /// The requirements it left SUPPRESSED or kept a failure out of (`CIS 2.1.4`).
    pub requirements: Vec<String>,
    /// The failing resources it covered.
    pub resources: Vec<String>,
}

impl AppliedException {
    /// One line for history: what was accepted, when, by whom, until when.
    pub fn describe(&self) -> String {
        format!(
            "{} accepted on {} by {} (exception {}: {}; until {}): {} resource(s)",
            self.requirements.join(", "),
            self.accepted_on,
            self.owner,
            self.exception_id,
            self.reason,
            self.expires,
            self.resources.len()
        )
    }
}

/// A framework's standing in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FrameworkScore {
    /// passed ÷ (passed + failed) × 100; `None` when nothing was decided.
    pub score: Option<f64>,
    /// Requirements PASSED.
    pub passed: usize,
    /// Requirements FAILED.
    pub failed: usize,
    /// Requirements UNKNOWN.
    pub unknown: usize,
    /// Requirements NOT_APPLICABLE.
    pub not_applicable: usize,
    /// Requirements MANUAL.
    pub manual: usize,
    /// Every requirement's status.
    pub controls: BTreeMap<String, ControlStatus>,
    /// Requirements SUPPRESSED (every failure an accepted risk); counted as
    /// failed in `score`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suppressed: usize,
    /// The score with SUPPRESSED requirements counted as passed; absent when
    /// nothing was suppressed (then it is `score`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_with_exceptions: Option<f64>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl FrameworkScore {
    /// The score with exceptions: accepted failures' requirements counted as passed.
    pub fn with_exceptions(&self) -> Option<f64> {
        if self.suppressed == 0 {
            self.score
        } else {
            self.score_with_exceptions
        }
    }
}

/// One failing resource of one check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Failure {
    /// Native check.
    pub check_id: String,
    /// Resource as the check names it.
    pub resource: String,
    /// Region, for regional resources.
    pub region: Option<String>,
    /// The check's severity.
    pub severity: Severity,
}

/// Builds the snapshot of `inventory`'s account; `findings` may hold other
/// accounts' findings (only this account's are counted); `source_gaps` are
/// the account's finding sources that were not read in full, which keep the
/// requirements they decide from passing and are listed with the gaps;
/// `acceptance` the exceptions in force, whose suppressions it records.
pub fn take(
    run_id: &str,
    inventory: &Inventory,
    findings: &[Finding],
    source_gaps: &[SourceGap],
    frameworks: &[Framework],
    acceptance: &Acceptance,
) -> AccountSnapshot {
    let account = &inventory.account_id;
    let own: Vec<Finding> = findings.iter().filter(|f| &f.account_id == account).cloned().collect();
    let mut open_findings = BTreeMap::new();
    for f in own.iter().filter(|f| f.is_open()) {
        *open_findings.entry(f.severity).or_insert(0) += 1;
    }
    take_with(
        run_id,
        inventory,
        &checks::evaluate_all(inventory),
        Seen {
            controls: &own,
            open_findings,
        },
        source_gaps,
        frameworks,
        acceptance,
    )
}

/// [`take`] over spooled findings, decoded a chunk at a time: what the
/// snapshot needs of them is folded in as they come (open findings by
/// severity, and the control findings a framework's Security Hub verdict
/// reads, without their texts), never the findings themselves. `outcomes`
/// are the inventory's check outcomes (`checks::evaluate_all(inventory)`),
/// evaluated once by the caller, which writes them to the exports too.
pub fn take_spooled(
    run_id: &str,
    inventory: &Inventory,
    outcomes: &[Outcome],
    findings: &FindingSpool,
    source_gaps: &[SourceGap],
    frameworks: &[Framework],
    acceptance: &Acceptance,
) -> Result<AccountSnapshot, SpoolError> {
    let account = &inventory.account_id;
    let mut open_findings = BTreeMap::new();
    let mut controls = Vec::new();
    findings.try_for_each(|f| {
        if &f.account_id != account {
            return Ok::<(), SpoolError>(());
        }
        if f.is_open() {
            *open_findings.entry(f.severity).or_insert(0) += 1;
        }
        if f.is_live() && f.compliance.as_ref().is_some_and(|c| c.control_id.is_some()) {
            controls.push(control_evidence(f));
        }
        Ok(())
    })?;
    Ok(take_with(
        run_id,
        inventory,
        outcomes,
        Seen {
            controls: &controls,
            open_findings,
        },
        source_gaps,
        frameworks,
        acceptance,
    ))
}

/// What a framework's Security Hub verdict reads of a control finding
/// (`frameworks::assess`): its state, control, account and resources; the
/// texts are dropped.
fn control_evidence(f: Finding) -> Finding {
    Finding {
        title: String::new(),
        description: String::new(),
        types: Vec::new(),
        remediation_text: None,
        remediation_url: None,
        principals: Vec::new(),
        remote_ips: Vec::new(),
        domains: Vec::new(),
        api_calls: Vec::new(),
        cves: Vec::new(),
        attack_sequence: None,
        ..f
    }
}

/// What a snapshot takes of an account's findings: the control findings its
/// verdicts read, and the open ones counted by severity.
struct Seen<'a> {
    controls: &'a [Finding],
    open_findings: BTreeMap<Severity, usize>,
}

fn take_with(
    run_id: &str,
    inventory: &Inventory,
    outcomes: &[Outcome],
    seen: Seen<'_>,
    source_gaps: &[SourceGap],
    frameworks: &[Framework],
    acceptance: &Acceptance,
) -> AccountSnapshot {
    let account = &inventory.account_id;
    let accepting = Accepting {
        acceptance,
        account: Some(account),
    };
    let mut accepted: BTreeMap<String, AppliedException> = BTreeMap::new();
    let mut failures: Vec<Failure> = outcomes
        .iter()
        .filter(|o| o.status == Status::Fail)
        .map(|o| Failure {
            check_id: o.check_id.clone(),
            resource: o.resource.clone(),
            region: o.region.clone(),
            severity: checks::find(&o.check_id).map_or(Severity::Medium, |c| c.severity),
        })
        .collect();
    failures.sort();
    failures.dedup();
    let unread = Unread::of_source_gaps(source_gaps);
    let frameworks = frameworks
        .iter()
        .map(|fw| {
            let r = assess(fw, outcomes, seen.controls, &unread, &accepting);
            for q in &r.requirements {
                for s in q.sources.iter().flat_map(|v| &v.suppressed) {
                    let entry = accepted
                        .entry(s.exception_id.clone())
                        .or_insert_with(|| AppliedException {
                            exception_id: s.exception_id.clone(),
                            control: acceptance
                                .exceptions()
                                .iter()
                                .find(|e| e.id == s.exception_id)
                                .map_or_else(String::new, |e| e.control.clone()),
                            reason: s.reason.clone(),
                            owner: s.owner.clone(),
                            accepted_on: s.accepted_on,
                            expires: s.expires,
                            requirements: Vec::new(),
                            resources: Vec::new(),
                        });
                    let requirement = format!("{} {}", fw.short_name, q.id);
                    if !entry.requirements.contains(&requirement) {
                        entry.requirements.push(requirement);
                    }
                    if !entry.resources.contains(&s.resource) {
                        entry.resources.push(s.resource.clone());
                    }
                }
            }
            let score = FrameworkScore {
                score: r.score,
                passed: r.passed,
                failed: r.failed,
                unknown: r.unknown,
                not_applicable: r.not_applicable,
                manual: r.manual,
                controls: r.requirements.iter().map(|q| (q.id.clone(), q.status)).collect(),
                suppressed: r.suppressed,
                score_with_exceptions: r.score_with_exceptions.filter(|_| r.suppressed > 0),
            };
            (fw.short_name.clone(), score)
        })
        .collect();
    AccountSnapshot {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        account_id: account.clone(),
        taken_at: inventory.collected_at,
        frameworks,
        failures,
        open_findings: seen.open_findings,
        gaps: inventory_gaps(inventory)
            .into_iter()
            .chain(source_gaps.iter().map(ToString::to_string))
            .collect(),
        accepted: accepted.into_values().collect(),
    }
}

/// The inventory sections that could not be read, as `section: kind: detail`.
pub fn inventory_gaps(inv: &Inventory) -> Vec<String> {
    inv.section_gaps()
        .into_iter()
        .map(|(section, g)| format!("{section}: {}: {}", g.kind, g.detail))
        .collect()
}

/// What changed between two snapshots of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Drift {
    /// The account.
    pub account_id: String,
    /// The earlier run.
    pub from_run: String,
    /// The later run.
    pub to_run: String,
    /// Failing in the later run only.
    pub new_failures: Vec<Failure>,
    /// Failing in the earlier run only.
    pub resolved_failures: Vec<Failure>,
    /// Failing in both.
    pub persisting_failures: Vec<Failure>,
    /// Requirements whose status changed.
    pub control_changes: Vec<ControlChange>,
    /// Per framework: earlier score, later score, difference in points.
    pub score_changes: BTreeMap<String, ScoreChange>,
    /// The exceptions in force at the later run: a failure that persists
    /// but no longer counts was accepted (who, when, why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<AppliedException>,
}

/// A requirement whose status changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ControlChange {
    /// Framework short name.
    pub framework: String,
    /// Requirement id.
    pub control_id: String,
    /// Earlier status (`None`: not in the earlier snapshot).
    pub from: Option<ControlStatus>,
    /// Later status (`None`: not in the later snapshot).
    pub to: Option<ControlStatus>,
}

/// A framework score, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScoreChange {
    /// Earlier score.
    pub from: Option<f64>,
    /// Later score.
    pub to: Option<f64>,
    /// `to - from` in points; `None` when either is unscored.
    pub delta: Option<f64>,
}

/// Failures are the same when check, resource and region are (a severity
/// change of the check itself is not drift of the account).
fn key(f: &Failure) -> (&str, &str, Option<&str>) {
    (&f.check_id, &f.resource, f.region.as_deref())
}

/// Drift from `from` to `to` (same account; the caller checks).
pub fn drift(from: &AccountSnapshot, to: &AccountSnapshot) -> Drift {
    let before: BTreeSet<_> = from.failures.iter().map(key).collect();
    let after: BTreeSet<_> = to.failures.iter().map(key).collect();
    let new_failures = to
        .failures
        .iter()
        .filter(|f| !before.contains(&key(f)))
        .cloned()
        .collect();
    let resolved_failures = from
        .failures
        .iter()
        .filter(|f| !after.contains(&key(f)))
        .cloned()
        .collect();
    let persisting_failures = to
        .failures
        .iter()
        .filter(|f| before.contains(&key(f)))
        .cloned()
        .collect();

    let mut control_changes = Vec::new();
    let mut score_changes = BTreeMap::new();
    let names: BTreeSet<&String> = from.frameworks.keys().chain(to.frameworks.keys()).collect();
    for name in names {
        let (a, b) = (from.frameworks.get(name), to.frameworks.get(name));
        let ids: BTreeSet<&String> = a
            .iter()
            .flat_map(|s| s.controls.keys())
            .chain(b.iter().flat_map(|s| s.controls.keys()))
            .collect();
        for id in ids {
            let was = a.and_then(|s| s.controls.get(id)).copied();
            let is = b.and_then(|s| s.controls.get(id)).copied();
            if was != is {
                control_changes.push(ControlChange {
                    framework: name.clone(),
                    control_id: id.clone(),
                    from: was,
                    to: is,
                });
            }
        }
        let (x, y) = (a.and_then(|s| s.score), b.and_then(|s| s.score));
        score_changes.insert(
            name.clone(),
            ScoreChange {
                from: x,
                to: y,
                delta: x.zip(y).map(|(x, y)| round1(y - x)),
            },
        );
    }
    Drift {
        account_id: to.account_id.clone(),
        from_run: from.run_id.clone(),
        to_run: to.run_id.clone(),
        new_failures,
        resolved_failures,
        persisting_failures,
        control_changes,
        score_changes,
        accepted: to.accepted.clone(),
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One point of a history series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryPoint {
    /// The run.
    pub run_id: String,
    /// When its inventory was collected.
    #[schemars(with = "crate::time::DateTime")]
    pub taken_at: Timestamp,
    /// The framework's score (`None`: unscored, or the framework was absent).
    pub score: Option<f64>,
    /// The score with accepted failures' requirements counted as passed.
    pub score_with_exceptions: Option<f64>,
    /// Requirements FAILED.
    pub failed_controls: usize,
    /// Requirements SUPPRESSED (every failure an accepted risk).
    pub suppressed_controls: usize,
    /// The accepted risks behind them, in words (who accepted what, when).
    pub accepted: Vec<String>,
    /// Requirements UNKNOWN.
    pub unknown_controls: usize,
    /// Failing native check outcomes.
    pub failures: usize,
    /// Open findings, all severities.
    pub open_findings: usize,
}

/// Direction of a score series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Last score above the first by at least [`STABLE_WITHIN_POINTS`].
    Improving,
    /// Below by at least that much.
    Declining,
    /// Within it.
    Stable,
    /// Fewer than two scored points.
    InsufficientData,
}

/// The series of one framework over `snapshots` (oldest first, as given
/// sorted by `taken_at`), and its trend: last scored point against the first.
pub fn history(snapshots: &[AccountSnapshot], framework: &str) -> (Vec<HistoryPoint>, Trend) {
    let mut sorted: Vec<&AccountSnapshot> = snapshots.iter().collect();
    sorted.sort_by_key(|s| s.taken_at);
    let points: Vec<HistoryPoint> = sorted
        .iter()
        .map(|s| {
            let fw = s.frameworks.get(framework);
            HistoryPoint {
                run_id: s.run_id.clone(),
                taken_at: s.taken_at,
                score: fw.and_then(|f| f.score),
                score_with_exceptions: fw.and_then(FrameworkScore::with_exceptions),
                failed_controls: fw.map_or(0, |f| f.failed),
                suppressed_controls: fw.map_or(0, |f| f.suppressed),
                accepted: s
                    .accepted
                    .iter()
                    .filter(|a| {
                        a.requirements
                            .iter()
                            .any(|r| r.split_once(' ').is_some_and(|(fw, _)| fw == framework))
                    })
                    .map(AppliedException::describe)
                    .collect(),
                unknown_controls: fw.map_or(0, |f| f.unknown),
                failures: s.failures.len(),
                open_findings: s.open_findings.values().sum(),
            }
        })
        .collect();
    let trend = trend_of(points.iter().map(|p| p.score));
    (points, trend)
}

/// The organization at one run: the accounts' snapshots pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrgSummary {
    /// Format version.
    pub schema_version: u32,
    /// The assessment run.
    pub run_id: String,
    /// Accounts with a snapshot in this run.
    pub accounts: usize,
    /// Per framework, pooled over accounts: requirement verdicts are summed,
    /// so the score is Σ passed ÷ (Σ passed + Σ failed) × 100 (an account with
    /// more decided requirements weighs more, as it has more to fix).
    pub frameworks: BTreeMap<String, OrgFrameworkScore>,
    /// Open findings by severity, all accounts.
    pub open_findings: BTreeMap<Severity, usize>,
    /// Failing native check outcomes, all accounts.
    pub failures: usize,
    /// Accounts with their score per framework, lowest CIS (or first
    /// framework) score first; unscored accounts last.
    pub worst_accounts: Vec<AccountStanding>,
}

/// A framework across the organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrgFrameworkScore {
    /// Pooled score (`frameworks::SCORE_DEFINITION`); `None` when no
    /// account decided any requirement.
    pub score: Option<f64>,
    /// Σ passed.
    pub passed: usize,
    /// Σ failed.
    pub failed: usize,
    /// Σ unknown.
    pub unknown: usize,
    /// Accounts whose own score is 100 with no requirement UNKNOWN.
    pub fully_compliant_accounts: usize,
    /// Σ suppressed (requirements whose every failure is an accepted risk;
    /// counted as failed in `score`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suppressed: usize,
    /// The pooled score with suppressed requirements counted as passed;
    /// absent when nothing was suppressed (then it is `score`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_with_exceptions: Option<f64>,
}

/// One account's line in the org summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountStanding {
    /// The account.
    pub account_id: String,
    /// Score per framework.
    pub scores: BTreeMap<String, Option<f64>>,
    /// Failing native check outcomes.
    pub failures: usize,
}

/// Trend of a score series (oldest first): the last scored point against
/// the first; within [`STABLE_WITHIN_POINTS`] is stable.
pub fn trend_of(scores: impl Iterator<Item = Option<f64>>) -> Trend {
    let scored: Vec<f64> = scores.flatten().collect();
    match (scored.first(), scored.last()) {
        (Some(first), Some(last)) if scored.len() >= 2 => {
            let delta = last - first;
            if delta >= STABLE_WITHIN_POINTS {
                Trend::Improving
            } else if delta <= -STABLE_WITHIN_POINTS {
                Trend::Declining
            } else {
                Trend::Stable
            }
        }
        _ => Trend::InsufficientData,
    }
}

/// Pools the snapshots of one run.
pub fn org_summary(run_id: &str, snapshots: &[AccountSnapshot]) -> OrgSummary {
    let mut frameworks: BTreeMap<String, OrgFrameworkScore> = BTreeMap::new();
    let mut open_findings = BTreeMap::new();
    for s in snapshots {
        for (name, f) in &s.frameworks {
            let o = frameworks.entry(name.clone()).or_default();
            o.passed += f.passed;
            o.failed += f.failed;
            o.unknown += f.unknown;
            o.suppressed += f.suppressed;
            if f.score == Some(100.0) && f.unknown == 0 {
                o.fully_compliant_accounts += 1;
            }
        }
        for (severity, n) in &s.open_findings {
            *open_findings.entry(*severity).or_insert(0) += n;
        }
    }
    for o in frameworks.values_mut() {
        o.score = score(o.passed, o.failed + o.suppressed);
        o.score_with_exceptions = score(o.passed + o.suppressed, o.failed).filter(|_| o.suppressed > 0);
    }
    let ranking = if frameworks.contains_key("CIS") {
        Some("CIS".to_string())
    } else {
        frameworks.keys().next().cloned()
    };
    let mut worst_accounts: Vec<AccountStanding> = snapshots
        .iter()
        .map(|s| AccountStanding {
            account_id: s.account_id.clone(),
            scores: s.frameworks.iter().map(|(n, f)| (n.clone(), f.score)).collect(),
            failures: s.failures.len(),
        })
        .collect();
    let rank = |a: &AccountStanding| ranking.as_ref().and_then(|r| a.scores.get(r).copied().flatten());
    worst_accounts.sort_by(|a, b| match (rank(a), rank(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y).then(b.failures.cmp(&a.failures)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b.failures.cmp(&a.failures),
    });
    OrgSummary {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        accounts: snapshots.len(),
        frameworks,
        open_findings,
        failures: snapshots.iter().map(|s| s.failures.len()).sum(),
        worst_accounts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoOrganization;
    use crate::posture::inventory::Collected;

    fn demo() -> (Vec<Inventory>, Vec<Finding>, Vec<Framework>) {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let org = DemoOrganization::load(now).unwrap();
        let findings = org.findings();
        (
            org.inventories,
            findings,
            crate::posture::frameworks::builtin().unwrap(),
        )
    }

    #[test]
    fn a_snapshot_agrees_with_the_framework_assessment() {
        let (inventories, findings, frameworks) = demo();
        let inv = &inventories[0];
        let s = take("run-1", inv, &findings, &[], &frameworks, &Acceptance::NONE);
        assert_eq!(s.account_id, inv.account_id);
        let outcomes = checks::evaluate_all(inv);
        let own: Vec<Finding> = findings
            .iter()
            .filter(|f| f.account_id == inv.account_id)
            .cloned()
            .collect();
        for fw in &frameworks {
            let r = assess(fw, &outcomes, &own, &Unread::default(), &Accepting::NONE);
            let got = &s.frameworks[&fw.short_name];
            assert_eq!(
                (got.score, got.passed, got.failed),
                (r.score, r.passed, r.failed),
                "{}",
                fw.short_name
            );
            assert_eq!(got.controls.len(), fw.requirements.len());
        }
        let fails = outcomes.iter().filter(|o| o.status == Status::Fail).count();
        assert_eq!(s.failures.len(), fails);
        assert!(s.open_findings.values().sum::<usize>() <= own.len());
    }

    #[test]
    fn a_snapshot_from_spooled_findings_is_the_same_snapshot() {
        let (inventories, findings, frameworks) = demo();
        let spool = FindingSpool::try_from(findings.clone()).unwrap();
        let unread = [SourceGap {
            service: crate::sources::SECURITY_HUB.to_string(),
            region: "us-east-1".to_string(),
            error: Some(crate::sources::SourceErrorKind::Throttled),
            detail: "throttled".to_string(),
        }];
        let mut open = 0;
        for inv in &inventories {
            for gaps in [&[][..], &unread[..]] {
                let direct = take("run-1", inv, &findings, gaps, &frameworks, &Acceptance::NONE);
                open += direct.open_findings.values().sum::<usize>();
                assert_eq!(
                    take_spooled(
                        "run-1",
                        inv,
                        &checks::evaluate_all(inv),
                        &spool,
                        gaps,
                        &frameworks,
                        &Acceptance::NONE,
                    )
                    .unwrap(),
                    direct,
                    "{}",
                    inv.account_id
                );
            }
        }
        assert!(open > 0, "the demo's findings count");
    }

    #[test]
    fn an_unread_security_hub_keeps_the_snapshot_from_passing_what_it_decides() {
        let (inventories, findings, frameworks) = demo();
        let inv = &inventories[0];
        let clean = take("run-1", inv, &findings, &[], &frameworks, &Acceptance::NONE);
        let gap = |error| SourceGap {
            service: crate::sources::SECURITY_HUB.into(),
            region: "eu-west-1".into(),
            error,
            detail: "injected".into(),
        };
        let throttled = take(
            "run-1",
            inv,
            &findings,
            &[gap(Some(crate::sources::SourceErrorKind::Throttled))],
            &frameworks,
            &Acceptance::NONE,
        );
        assert!(
            throttled
                .gaps
                .contains(&"eu-west-1 Security Hub: Throttled: injected".to_string())
        );
        let cis = &frameworks.iter().find(|f| f.short_name == "CIS").unwrap();
        let mut moved = 0;
        for req in &cis.requirements {
            let (was, now) = (
                clean.frameworks["CIS"].controls[&req.id],
                throttled.frameworks["CIS"].controls[&req.id],
            );
            if req.security_hub_controls.is_empty() || was == ControlStatus::Failed {
                assert_eq!(now, was, "{}", req.id);
            } else {
                assert_ne!(now, ControlStatus::Passed, "{}", req.id);
                moved += usize::from(was != now);
            }
        }
        assert!(moved > 0, "some requirement rested on Security Hub");
        // A Security Hub that is not enabled has nothing to say: no gap.
        let off = take(
            "run-1",
            inv,
            &findings,
            &[gap(Some(crate::sources::SourceErrorKind::NotEnabled))],
            &frameworks,
            &Acceptance::NONE,
        );
        assert_eq!(off.frameworks, clean.frameworks);
    }

    #[test]
    fn drift_names_new_resolved_and_persisting_failures_and_status_changes() {
        let (inventories, findings, frameworks) = demo();
        let sandbox = inventories.iter().find(|i| i.account_id == "456789012345").unwrap();
        let before = take("run-1", sandbox, &findings, &[], &frameworks, &Acceptance::NONE);

        // Fix the scratch database's encryption and the password length; take the
        // builder instance's role away.
        let mut changed = sandbox.clone();
        if let Collected::Collected(iam) = &mut changed.iam {
            iam.password_policy.as_mut().unwrap().minimum_password_length = Some(14);
        }
        let us = changed.region.get_mut("us-east-1").unwrap();
        if let Collected::Collected(dbs) = &mut us.rds {
            dbs[0].storage_encrypted = true;
        }
        if let Collected::Collected(ec2) = &mut us.ec2 {
            let builder = ec2
                .instances
                .iter_mut()
                .find(|i| i.id == "i-0d1e2f3a4b5c6d7e8")
                .unwrap();
            builder.iam_instance_profile = None;
        }
        let after = take("run-2", &changed, &findings, &[], &frameworks, &Acceptance::NONE);
        let d = drift(&before, &after);

        let names = |v: &[Failure]| {
            v.iter()
                .map(|f| format!("{} {}", f.check_id, f.resource))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&d.new_failures),
            ["ec2.instance_profile_attached i-0d1e2f3a4b5c6d7e8"]
        );
        assert_eq!(
            names(&d.resolved_failures),
            [
                "iam.password_min_length account 456789012345",
                "rds.storage_encrypted sandbox-scratch-db"
            ]
        );
        assert_eq!(d.persisting_failures.len(), before.failures.len() - 2);
        let cis: Vec<(&str, Option<ControlStatus>, Option<ControlStatus>)> = d
            .control_changes
            .iter()
            .filter(|c| c.framework == "CIS")
            .map(|c| (c.control_id.as_str(), c.from, c.to))
            .collect();
        // 1.18 was already FAILED (dana-test has no role): no status change there.
        assert_eq!(
            cis,
            [
                ("1.8", Some(ControlStatus::Failed), Some(ControlStatus::Passed)),
                ("2.3.1", Some(ControlStatus::Failed), Some(ControlStatus::Passed))
            ]
        );
        let cis_score = &d.score_changes["CIS"];
        let (from, to) = (cis_score.from.unwrap(), cis_score.to.unwrap());
        assert!(to > from && cis_score.delta == Some(round1(to - from)), "{cis_score:?}");

        // Same snapshot twice: no drift at all.
        let none = drift(&after, &after);
        assert!(none.new_failures.is_empty() && none.resolved_failures.is_empty() && none.control_changes.is_empty());
    }

    #[test]
    fn history_orders_by_time_and_reads_the_trend_from_first_to_last_score() {
        let (inventories, findings, frameworks) = demo();
        let inv = &inventories[0];
        let mut runs = Vec::new();
        for (i, (at, score)) in [
            ("2026-11-03T00:00:00Z", 60.0),
            ("2026-11-01T00:00:00Z", 50.0),
            ("2026-11-02T00:00:00Z", 40.0),
        ]
        .into_iter()
        .enumerate()
        {
            let mut s = take(&format!("run-{i}"), inv, &findings, &[], &frameworks, &Acceptance::NONE);
            s.taken_at = at.parse().unwrap();
            s.frameworks.get_mut("CIS").unwrap().score = Some(score);
            runs.push(s);
        }
        let (points, trend) = history(&runs, "CIS");
        let order: Vec<(String, Option<f64>)> = points.iter().map(|p| (p.taken_at.to_string(), p.score)).collect();
        let order: Vec<(&str, Option<f64>)> = order.iter().map(|(t, s)| (t.as_str(), *s)).collect();
        assert_eq!(
            order,
            [
                ("2026-11-01T00:00:00Z", Some(50.0)),
                ("2026-11-02T00:00:00Z", Some(40.0)),
                ("2026-11-03T00:00:00Z", Some(60.0))
            ]
        );
        assert_eq!(trend, Trend::Improving);
        runs[0].frameworks.get_mut("CIS").unwrap().score = Some(50.5);
        assert_eq!(history(&runs, "CIS").1, Trend::Stable);
        assert_eq!(history(&runs[..1], "CIS").1, Trend::InsufficientData);
        assert_eq!(history(&runs, "NOPE").1, Trend::InsufficientData);
    }

    #[test]
    fn the_org_summary_pools_verdicts_and_ranks_the_worst_account_first() {
        let (inventories, findings, frameworks) = demo();
        let snaps: Vec<AccountSnapshot> = inventories
            .iter()
            .map(|i| take("run-1", i, &findings, &[], &frameworks, &Acceptance::NONE))
            .collect();
        let org = org_summary("run-1", &snaps);
        assert_eq!(org.accounts, 3);
        let cis = &org.frameworks["CIS"];
        let (p, f): (usize, usize) = snaps
            .iter()
            .map(|s| (s.frameworks["CIS"].passed, s.frameworks["CIS"].failed))
            .fold((0, 0), |(a, b), (x, y)| (a + x, b + y));
        assert_eq!((cis.passed, cis.failed), (p, f));
        assert_eq!(cis.score, crate::posture::frameworks::score(p, f));
        assert_eq!(org.failures, snaps.iter().map(|s| s.failures.len()).sum::<usize>());
        // The sloppy sandbox has the lowest CIS score; scores ascend down the list.
        assert_eq!(org.worst_accounts[0].account_id, "456789012345");
        let scores: Vec<f64> = org.worst_accounts.iter().filter_map(|a| a.scores["CIS"]).collect();
        assert!(scores.windows(2).all(|w| w[0] <= w[1]), "{scores:?}");

        // By hand: two accounts, 3 passed + 1 failed and 1 passed + 3 failed: (3 + 1) / (4 + 4) = 50 %.
        let mut a = snaps[0].clone();
        let mut b = snaps[1].clone();
        for (s, (passed, failed)) in [(&mut a, (3, 1)), (&mut b, (1, 3))] {
            let cis = s.frameworks.get_mut("CIS").unwrap();
            cis.passed = passed;
            cis.failed = failed;
            cis.score = Some(passed as f64 * 100.0 / 4.0);
        }
        let org = org_summary("run-2", &[a, b]);
        assert_eq!(org.frameworks["CIS"].score, Some(50.0));
        assert_eq!(org.worst_accounts[0].scores["CIS"], Some(25.0));
        assert_eq!(org_summary("run-3", &[]).frameworks.len(), 0);
    }

    /// One score definition: the compliance report, the organization and
    /// account assessments, the snapshots and the org summary agree to the
    /// decimal, with one account's Security Hub read cut short.
    #[test]
    fn every_answer_gives_the_same_scores_for_the_org_and_each_account() {
        use crate::posture::assessment::{Request, Scope, assess_scope};
        use crate::posture::compliance::{DataSources, report};
        let (inventories, findings, frameworks) = demo();
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let throttled = inventories[1].account_id.clone();
        let gaps = vec![SourceGap {
            service: crate::sources::SECURITY_HUB.into(),
            region: "eu-west-1".into(),
            error: Some(crate::sources::SourceErrorKind::Throttled),
            detail: "injected".into(),
        }];
        let snaps: Vec<AccountSnapshot> = inventories
            .iter()
            .map(|i| {
                let own = if i.account_id == throttled { &gaps[..] } else { &[] };
                take("run-1", i, &findings, own, &frameworks, &Acceptance::NONE)
            })
            .collect();
        let org = org_summary("run-1", &snaps);
        let sources = DataSources {
            account_source_gaps: BTreeMap::from([(throttled.clone(), gaps.clone())]),
            ..DataSources::default()
        };
        let request = |scope: Scope| Request {
            assessment_id: "PA-1".into(),
            scope,
            target: String::new(),
            frameworks: frameworks.iter().collect(),
            min_severity: Severity::Low,
            include_recommendations: false,
            region: "eu-west-1".into(),
            now,
        };
        let org_assessment = assess_scope(&request(Scope::Organization), &inventories, &findings, sources.clone());
        let mut differs_from_merged = false;
        for fw in &frameworks {
            let name = &fw.short_name;
            let r = report(fw, &inventories, &findings, &[], false, sources.clone(), now);
            assert_eq!(r.overall_compliance_score, org.frameworks[name].score, "{name}");
            assert_eq!(
                org_assessment.compliance_status[name].overall_score, org.frameworks[name].score,
                "{name}"
            );
            differs_from_merged |=
                r.overall_compliance_score != crate::posture::frameworks::score(r.counts.passed, r.counts.failed);
            assert_eq!(r.account_scores.len(), snaps.len());
            for a in &r.account_scores {
                let snap = snaps.iter().find(|s| s.account_id == a.account_id).unwrap();
                let f = &snap.frameworks[name];
                assert_eq!(
                    (a.score, a.counts.passed, a.counts.failed, a.counts.unknown),
                    (f.score, f.passed, f.failed, f.unknown),
                    "{name} {}",
                    a.account_id
                );
                let one = assess_scope(
                    &request(Scope::Account(a.account_id.clone())),
                    &inventories,
                    &findings,
                    sources.clone(),
                );
                assert_eq!(
                    one.compliance_status[name].overall_score, f.score,
                    "{name} {}",
                    a.account_id
                );
            }
        }
        // The throttled read kept that account (only) from passing something.
        let cut = &snaps.iter().find(|s| s.account_id == throttled).unwrap().frameworks["CIS"];
        assert!(cut.unknown > snaps[0].frameworks["CIS"].unknown, "{cut:?}");
        // Pooling differs from scoring the merged requirement verdicts:
        // the test would not tell the two apart otherwise.
        assert!(differs_from_merged);
    }
}
