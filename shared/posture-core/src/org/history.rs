//! The organization over time, from stored runs (pure): the org score series
//! and drift between two runs.

use crate::org::run::{RunRecord, TrendPoint};
use crate::org::snapshot::{self, AccountSnapshot, Drift, ScoreChange, Trend};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The org series of one framework over complete runs (oldest first) and its
/// trend (same rule as an account's: last scored point against the first).
pub fn org_series(points: &[TrendPoint], framework: &str) -> (Vec<OrgHistoryPoint>, Trend) {
    let series: Vec<OrgHistoryPoint> = points
        .iter()
        .map(|p| OrgHistoryPoint {
            run_id: p.run_id.clone(),
            started_at: p.started_at,
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
    #[schemars(with = "crate::time::DateTime")]
    pub started_at: jiff::Timestamp,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoOrganization;
    use crate::org::run::{AccountOutcome, RUN_SCHEMA_VERSION, RunAccount, RunState, RunTrigger};
    use crate::org::snapshot::{org_summary, take};

    fn run(id: &str, snaps: &[AccountSnapshot], gap: Option<(&str, &str)>) -> RunRecord {
        let mut accounts: Vec<RunAccount> = snaps
            .iter()
            .map(|s| RunAccount {
                account_id: s.account_id.clone(),
                name: s.account_id.clone(),
                status: "ACTIVE".into(),
                outcome: AccountOutcome::Assessed,
                gap: None,
                ou_path: Vec::new(),
            })
            .collect();
        if let Some((id, why)) = gap {
            accounts.push(RunAccount {
                account_id: id.into(),
                name: id.into(),
                status: "ACTIVE".into(),
                outcome: AccountOutcome::Gap,
                gap: Some(why.into()),
                ou_path: Vec::new(),
            });
        }
        RunRecord {
            schema_version: RUN_SCHEMA_VERSION,
            run_id: id.into(),
            trigger: RunTrigger::Cli,
            started_at: "2026-11-26T06:00:00Z".parse().unwrap(),
            deadline: "2026-11-26T07:00:00Z".parse().unwrap(),
            finished_at: None,
            state: RunState::Complete,
            attempt: 1,
            accounts_done: accounts.len(),
            accounts,
            error: None,
            summary: Some(org_summary(id, snaps)),
            reports: Vec::new(),
            execution: None,
        }
    }

    #[test]
    fn org_drift_names_added_removed_and_changed_accounts() {
        let now: jiff::Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let org = DemoOrganization::load(now).unwrap();
        let fws = crate::posture::frameworks::builtin().unwrap();
        let before: Vec<_> = org.inventories[..2]
            .iter()
            .map(|i| take("r1", i, &[], &[], &fws, &crate::exceptions::Acceptance::NONE))
            .collect();
        let mut fixed = org.inventories[1].clone();
        // The second account drops every bucket: its bucket failures resolve.
        if let crate::posture::inventory::Collected::Collected(s3) = &mut fixed.s3 {
            s3.buckets.clear();
        }
        let after = vec![
            take("r2", &fixed, &[], &[], &fws, &crate::exceptions::Acceptance::NONE),
            take(
                "r2",
                &org.inventories[2],
                &[],
                &[],
                &fws,
                &crate::exceptions::Acceptance::NONE,
            ),
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
        let per_bucket = |f: &&crate::org::snapshot::Failure| {
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
