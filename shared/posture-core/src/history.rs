//! The organization over time, from stored runs (pure): the org score series,
//! drift between two runs, and the technical and compliance reports of a run.

use crate::checks;
use crate::frameworks::{ControlStatus, Framework};
use crate::run::{RunRecord, RunReport, TrendPoint};
use crate::severity::Severity;
use crate::snapshot::{self, AccountSnapshot, Drift, ScoreChange, Trend};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The org series of one framework over complete runs (oldest first) and its
/// trend (same rule as an account's: last scored point against the first).
pub fn org_series(points: &[TrendPoint], framework: &str) -> (Vec<OrgHistoryPoint>, Trend) {
    let series: Vec<OrgHistoryPoint> = points
        .iter()
        .map(|p| OrgHistoryPoint {
            run_id: p.run_id.clone(),
            started_at: p.started_at.clone(),
            score: p.scores.get(framework).copied().flatten(),
            failures: p.failures,
            open_findings: p.open_findings,
        })
        .collect();
    let trend = snapshot::trend_of(series.iter().map(|p| p.score));
    (series, trend)
}

/// One complete run in the org series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrgHistoryPoint {
    /// The run.
    pub run_id: String,
    /// Its start.
    pub started_at: String,
    /// Pooled score of the framework.
    pub score: Option<f64>,
    /// Failing check outcomes, all accounts.
    pub failures: usize,
    /// Open findings, all accounts.
    pub open_findings: usize,
}

/// What changed in the organization between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrgDrift {
    /// The earlier run.
    pub from_run: String,
    /// The later run.
    pub to_run: String,
    /// Pooled score per framework, before and after.
    pub score_changes: BTreeMap<String, ScoreChange>,
    /// Accounts with a snapshot in the later run only.
    pub accounts_added: Vec<String>,
    /// Accounts with a snapshot in the earlier run only (with the later
    /// run's reason when it was a gap there).
    pub accounts_removed: Vec<RemovedAccount>,
    /// Per account present in both runs.
    pub accounts: Vec<Drift>,
}

/// An account assessed before but not after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RemovedAccount {
    /// The account.
    pub account_id: String,
    /// Why the later run has no snapshot (its gap reason), when it says.
    pub reason: Option<String>,
}

/// Drift of the organization from run `from` to run `to`.
pub fn org_drift(
    from: &RunRecord,
    from_snaps: &[AccountSnapshot],
    to: &RunRecord,
    to_snaps: &[AccountSnapshot],
) -> OrgDrift {
    let before: BTreeMap<&str, &AccountSnapshot> = from_snaps.iter().map(|s| (s.account_id.as_str(), s)).collect();
    let after: BTreeMap<&str, &AccountSnapshot> = to_snaps.iter().map(|s| (s.account_id.as_str(), s)).collect();
    let mut score_changes = BTreeMap::new();
    if let (Some(a), Some(b)) = (&from.summary, &to.summary) {
        let names: std::collections::BTreeSet<&String> = a.frameworks.keys().chain(b.frameworks.keys()).collect();
        for name in names {
            let x = a.frameworks.get(name).and_then(|f| f.score);
            let y = b.frameworks.get(name).and_then(|f| f.score);
            score_changes.insert(
                name.clone(),
                ScoreChange {
                    from: x,
                    to: y,
                    delta: x.zip(y).map(|(x, y)| ((y - x) * 10.0).round() / 10.0),
                },
            );
        }
    }
    OrgDrift {
        from_run: from.run_id.clone(),
        to_run: to.run_id.clone(),
        score_changes,
        accounts_added: after
            .keys()
            .filter(|id| !before.contains_key(*id))
            .map(|id| id.to_string())
            .collect(),
        accounts_removed: before
            .keys()
            .filter(|id| !after.contains_key(*id))
            .map(|id| RemovedAccount {
                account_id: id.to_string(),
                reason: to
                    .accounts
                    .iter()
                    .find(|a| a.account_id == *id)
                    .and_then(|a| a.gap.clone()),
            })
            .collect(),
        accounts: before
            .iter()
            .filter_map(|(id, b)| after.get(id).map(|a| snapshot::drift(b, a)))
            .collect(),
    }
}

/// Technical report (Markdown): every failing resource of every account,
/// most severe first, and every gap. Nothing is capped: this is a file.
pub fn technical_markdown(report: &RunReport) -> String {
    let mut out = String::new();
    let run = &report.run;
    let _ = writeln!(out, "# Technical findings: run {}\n", run.run_id);
    let _ = writeln!(
        out,
        "Started {}; {} account(s) in scope, {} assessed.\n",
        run.started_at,
        run.accounts.len(),
        report.snapshots.len()
    );
    for a in run.accounts.iter().filter(|a| a.gap.is_some()) {
        let _ = writeln!(
            out,
            "- Account {} ({}) not assessed: {}",
            a.account_id,
            a.name,
            a.gap.as_deref().unwrap_or("")
        );
    }
    for s in &report.snapshots {
        let _ = writeln!(out, "\n## Account {}\n", s.account_id);
        let mut failures: Vec<_> = s.failures.iter().collect();
        failures.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.check_id.cmp(&b.check_id)));
        if failures.is_empty() {
            let _ = writeln!(out, "No native check fails.");
        } else {
            let _ = writeln!(out, "| severity | check | resource | region |");
            let _ = writeln!(out, "| --- | --- | --- | --- |");
            for f in failures {
                let title = checks::find(&f.check_id).map_or("", |c| c.title);
                let _ = writeln!(
                    out,
                    "| {} | `{}` {title} | {} | {} |",
                    f.severity.label(),
                    f.check_id,
                    f.resource,
                    f.region.as_deref().unwrap_or("global")
                );
            }
        }
        let findings: usize = s.open_findings.values().sum();
        let by: Vec<String> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Informational,
        ]
        .iter()
        .map(|sev| format!("{} {}", sev.label(), s.open_findings.get(sev).copied().unwrap_or(0)))
        .collect();
        let _ = writeln!(out, "\nOpen findings: {findings} ({}).", by.join(", "));
        if !s.gaps.is_empty() {
            let _ = writeln!(out, "\nNot collected:\n");
            for g in &s.gaps {
                let _ = writeln!(out, "- {g}");
            }
        }
    }
    out
}

/// One requirement across the accounts of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ControlAcrossAccounts {
    /// Requirement id.
    pub control_id: String,
    /// Title.
    pub title: String,
    /// Accounts per status.
    pub accounts_by_status: BTreeMap<String, usize>,
    /// Accounts where it FAILED.
    pub failing_accounts: Vec<String>,
}

/// The compliance matrix of a run: per framework, each requirement's status
/// counted over accounts.
pub fn compliance_matrix(report: &RunReport, frameworks: &[Framework]) -> BTreeMap<String, Vec<ControlAcrossAccounts>> {
    let mut out = BTreeMap::new();
    for fw in frameworks {
        if !report
            .snapshots
            .iter()
            .any(|s| s.frameworks.contains_key(&fw.short_name))
        {
            continue;
        }
        let rows = fw
            .requirements
            .iter()
            .map(|req| {
                let mut by = BTreeMap::new();
                let mut failing = Vec::new();
                for s in &report.snapshots {
                    let status = s
                        .frameworks
                        .get(&fw.short_name)
                        .and_then(|f| f.controls.get(&req.id))
                        .copied();
                    let label = status.map_or("NOT_EVALUATED".to_string(), |st| {
                        serde_json::to_value(st)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    });
                    *by.entry(label).or_insert(0) += 1;
                    if status == Some(ControlStatus::Failed) {
                        failing.push(s.account_id.clone());
                    }
                }
                ControlAcrossAccounts {
                    control_id: req.id.clone(),
                    title: req.title.clone(),
                    accounts_by_status: by,
                    failing_accounts: failing,
                }
            })
            .collect();
        out.insert(fw.short_name.clone(), rows);
    }
    out
}

/// Compliance report (Markdown): per framework, every requirement with the
/// accounts in each status and the failing accounts by id.
pub fn compliance_markdown(report: &RunReport, frameworks: &[Framework]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Compliance: run {}\n", report.run.run_id);
    let _ = writeln!(out, "{} account(s) assessed.", report.snapshots.len());
    for (name, rows) in compliance_matrix(report, frameworks) {
        let score = report
            .run
            .summary
            .as_ref()
            .and_then(|s| s.frameworks.get(&name))
            .and_then(|f| f.score)
            .map_or("n/a".to_string(), |v| format!("{v:.1}"));
        let _ = writeln!(out, "\n## {name} (organization score {score})\n");
        let _ = writeln!(
            out,
            "| requirement | title | passed | failed | unknown | other | failing accounts |"
        );
        let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |");
        for r in rows {
            let get = |k: &str| r.accounts_by_status.get(k).copied().unwrap_or(0);
            let other: usize = r
                .accounts_by_status
                .iter()
                .filter(|(k, _)| !["PASSED", "FAILED", "UNKNOWN"].contains(&k.as_str()))
                .map(|(_, v)| v)
                .sum();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {other} | {} |",
                r.control_id,
                r.title.replace('|', "/"),
                get("PASSED"),
                get("FAILED"),
                get("UNKNOWN"),
                r.failing_accounts.join(", ")
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoOrganization;
    use crate::run::{AccountOutcome, RUN_SCHEMA_VERSION, RunAccount, RunState};
    use crate::snapshot::{org_summary, take};

    fn run(id: &str, snaps: &[AccountSnapshot], gap: Option<(&str, &str)>) -> RunRecord {
        let mut accounts: Vec<RunAccount> = snaps
            .iter()
            .map(|s| RunAccount {
                account_id: s.account_id.clone(),
                name: s.account_id.clone(),
                status: "ACTIVE".into(),
                outcome: AccountOutcome::Assessed,
                gap: None,
            })
            .collect();
        if let Some((id, why)) = gap {
            accounts.push(RunAccount {
                account_id: id.into(),
                name: id.into(),
                status: "ACTIVE".into(),
                outcome: AccountOutcome::Gap,
                gap: Some(why.into()),
            });
        }
        RunRecord {
            schema_version: RUN_SCHEMA_VERSION,
            run_id: id.into(),
            trigger: "cli".into(),
            started_at: "2026-11-26T06:00:00Z".into(),
            deadline: "2026-11-26T07:00:00Z".into(),
            finished_at: None,
            state: RunState::Complete,
            attempt: 1,
            accounts_done: accounts.len(),
            accounts,
            error: None,
            summary: Some(org_summary(id, snaps)),
            reports: Vec::new(),
        }
    }

    #[test]
    fn org_drift_names_added_removed_and_changed_accounts() {
        let now: jiff::Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let org = DemoOrganization::load(now).unwrap();
        let fws = crate::frameworks::builtin().unwrap();
        let before: Vec<_> = org.inventories[..2]
            .iter()
            .map(|i| take("r1", i, &[], &[], &fws))
            .collect();
        let mut fixed = org.inventories[1].clone();
        // The second account drops every bucket: its bucket failures resolve.
        if let crate::inventory::Collected::Collected(s3) = &mut fixed.s3 {
            s3.buckets.clear();
        }
        let after = vec![
            take("r2", &fixed, &[], &[], &fws),
            take("r2", &org.inventories[2], &[], &[], &fws),
        ];
        let d = org_drift(
            &run("r1", &before, None),
            &before,
            &run("r2", &after, Some((&org.inventories[0].account_id, "AccessDenied"))),
            &after,
        );
        assert_eq!(d.accounts_added, vec![org.inventories[2].account_id.clone()]);
        assert_eq!(d.accounts_removed.len(), 1);
        assert_eq!(d.accounts_removed[0].reason.as_deref(), Some("AccessDenied"));
        assert_eq!(d.accounts.len(), 1);
        let per_bucket = |f: &&crate::snapshot::Failure| {
            f.check_id.starts_with("s3.") && f.check_id != "s3.account_public_access_block"
        };
        let bucket_failures_before = before[1].failures.iter().filter(per_bucket).count();
        assert!(bucket_failures_before > 0);
        assert_eq!(
            d.accounts[0].resolved_failures.iter().filter(per_bucket).count(),
            bucket_failures_before
        );
        assert!(
            d.accounts[0].new_failures.is_empty(),
            "{:?}",
            d.accounts[0].new_failures
        );
        let cis = &d.score_changes["CIS"];
        assert_eq!(
            cis.delta,
            Some(((cis.to.unwrap() - cis.from.unwrap()) * 10.0).round() / 10.0)
        );
    }
}
