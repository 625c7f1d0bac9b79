//! The record of an org-wide assessment run: its state, its accounts and
//! their outcome, its id, and the report written from it.

use crate::ids::RunId;
use crate::org::snapshot::{AccountSnapshot, OrgSummary};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the stored run record and run report.
pub const RUN_SCHEMA_VERSION: u32 = 1;

/// Past runs drawn in a report's trend chart.
pub const TREND_RUNS: usize = 12;

/// State of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    /// Accepted (by the MCP server) and handed to the assessor, not started.
    Queued,
    /// Collecting and evaluating.
    Running,
    /// Committed: its snapshots are history, and it may be the latest.
    Complete,
    /// Stopped by an error; nothing of it is visible as latest.
    Failed,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunTrigger {
    /// The EventBridge schedule.
    Schedule,
    /// `assess_security_posture` with scope organization.
    Mcp,
    /// The assessor's command line.
    Cli,
    /// An invocation with a run id and no trigger.
    Manual,
}

impl RunTrigger {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Schedule => "schedule",
            RunTrigger::Mcp => "mcp",
            RunTrigger::Cli => "cli",
            RunTrigger::Manual => "manual",
        }
    }
}

impl std::fmt::Display for RunTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account as the directory lists it, and what the run made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunAccount {
    /// 12-digit id.
    pub account_id: String,
    /// Account name from the directory.
    pub name: String,
    /// Directory status (`ACTIVE`).
    pub status: String,
    /// `PENDING`, `ASSESSED`, or `GAP` (could not be collected).
    pub outcome: AccountOutcome,
    /// Why the account is a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
    /// Its organizational units, outermost first, as the directory gave them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ou_path: Vec<OrgUnit>,
}

/// The names an exception's `ou` may give for the units of `path`
/// (outermost first): each unit's id, its name, and its path of names from
/// the root (`Workloads/Prod`).
pub fn unit_names(path: &[OrgUnit]) -> Vec<String> {
    let mut names = Vec::new();
    let mut prefix = String::new();
    for unit in path {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(&unit.name);
        names.extend([unit.id.clone(), unit.name.clone(), prefix.clone()]);
    }
    names
}

/// An organizational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrgUnit {
    /// `ou-abcd-12345678`.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl RunAccount {
    /// Whether the account is in organizational unit `unit` or one of its
    /// children: `unit` is an OU id, an OU name, or a path of names from
    /// the root (`Workloads/Prod`).
    pub fn in_unit(&self, unit: &str) -> bool {
        let names: Vec<&str> = self.ou_path.iter().map(|u| u.name.as_str()).collect();
        let wanted: Vec<&str> = unit.split('/').collect();
        self.ou_path.iter().any(|u| u.id == unit || u.name == unit) || (wanted.len() > 1 && names.starts_with(&wanted))
    }

    /// The account's OU path as names (`Workloads/Prod`; empty under the root).
    pub fn ou_names(&self) -> String {
        self.ou_path
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// What happened to one account in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountOutcome {
    /// Not collected yet.
    Pending,
    /// Collected and evaluated; a snapshot exists.
    Assessed,
    /// Could not be collected (role refused, account closed); no snapshot.
    Gap,
}

/// A stored report file of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReportLocation {
    /// File name within the run (`report.html`).
    pub name: String,
    /// Where it lies: a file path locally, `s3://bucket/key` in AWS.
    pub uri: String,
}

/// The record of one run, kept in the snapshot store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunRecord {
    /// Format version.
    pub schema_version: u32,
    /// Sortable id: `<yyyymmddThhmmssZ>-<suffix>` (its shape is [`RunId`]'s).
    pub run_id: String,
    /// What started it.
    pub trigger: RunTrigger,
    /// Start; for a scheduled run, the schedule tick.
    #[schemars(with = "crate::time::DateTime")]
    pub started_at: Timestamp,
    /// After this instant a run still `RUNNING` is taken as dead.
    #[schemars(with = "crate::time::DateTime")]
    pub deadline: Timestamp,
    /// End, once complete or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<crate::time::DateTime>")]
    pub finished_at: Option<Timestamp>,
    /// State.
    pub state: RunState,
    /// 1 for the first attempt; a retry of a failed or abandoned run adds one.
    pub attempt: u32,
    /// Accounts in scope with their outcome.
    pub accounts: Vec<RunAccount>,
    /// Accounts done (assessed or gap).
    pub accounts_done: usize,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The org summary, once complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<OrgSummary>,
    /// Report files written for the run.
    #[serde(default)]
    pub reports: Vec<ReportLocation>,
    /// The fan-out engine's execution collecting the accounts, when the run
    /// was handed off (a Step Functions execution ARN in AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
}

impl RunRecord {
    /// True for a `QUEUED` or `RUNNING` record past its deadline: its
    /// process died (or never started).
    pub fn is_abandoned(&self, now: Timestamp) -> bool {
        matches!(self.state, RunState::Queued | RunState::Running) && now > self.deadline
    }

    /// The state readers should show: an abandoned run counts as failed.
    pub fn effective_state(&self, now: Timestamp) -> RunState {
        if self.is_abandoned(now) {
            RunState::Failed
        } else {
            self.state
        }
    }

    /// Progress in percent (accounts done of accounts in scope).
    pub fn progress_percent(&self) -> f64 {
        if self.accounts.is_empty() {
            return if self.state == RunState::Complete { 100.0 } else { 0.0 };
        }
        (self.accounts_done as f64 * 1000.0 / self.accounts.len() as f64).round() / 10.0
    }
}

/// Builds a run id that sorts by time: `20261126T060000Z-scheduled`.
pub fn run_id(started_at: Timestamp, suffix: &str) -> String {
    format!("{}-{suffix}", RunId::stamp(started_at))
}

/// True when `id` has the shape [`run_id`] produces (see [`RunId`]).
pub fn is_valid_run_id(id: &str) -> bool {
    id.parse::<RunId>().is_ok()
}

/// The instant a run id starts with (`None` for a malformed id).
pub fn run_started_at(id: &str) -> Option<Timestamp> {
    id.parse::<RunId>().ok().map(|r| r.started_at())
}

/// The record the MCP server writes when it hands a run to the assessor: the
/// run id is known (and queryable) at once; the assessor takes it over.
pub fn queued(run_id: &str, trigger: RunTrigger, now: Timestamp, max_duration: SignedDuration) -> RunRecord {
    RunRecord {
        schema_version: RUN_SCHEMA_VERSION,
        run_id: run_id.to_string(),
        trigger,
        started_at: now,
        deadline: now + max_duration,
        finished_at: None,
        state: RunState::Queued,
        attempt: 0,
        accounts: Vec::new(),
        accounts_done: 0,
        error: None,
        summary: None,
        reports: Vec::new(),
        execution: None,
    }
}

/// One point of the org trend: a complete run's pooled scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrendPoint {
    /// The run.
    pub run_id: String,
    /// Its start.
    #[schemars(with = "crate::time::DateTime")]
    pub started_at: Timestamp,
    /// Pooled score per framework.
    pub scores: BTreeMap<String, Option<f64>>,
    /// Failing check outcomes, all accounts.
    pub failures: usize,
    /// Open findings, all accounts.
    pub open_findings: usize,
}

impl TrendPoint {
    /// The point of a run with a summary.
    pub fn of(run: &RunRecord, summary: &OrgSummary) -> TrendPoint {
        TrendPoint {
            run_id: run.run_id.clone(),
            started_at: run.started_at,
            scores: summary.frameworks.iter().map(|(k, v)| (k.clone(), v.score)).collect(),
            failures: summary.failures,
            open_findings: summary.open_findings.values().sum(),
        }
    }
}

/// The JSON report of a run: everything the run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    /// Format version.
    pub schema_version: u32,
    /// The run (its `summary` is the org summary).
    pub run: RunRecord,
    /// Every account's snapshot.
    pub snapshots: Vec<AccountSnapshot>,
    /// Complete runs before this one and this one, oldest first.
    pub trend: Vec<TrendPoint>,
}

/// The trend ending with `run`: the points of earlier complete runs
/// (oldest first, from the run index) and `run`'s own, at most
/// [`TREND_RUNS`] of the latest.
pub fn trend_ending_with(earlier: Vec<TrendPoint>, run: &RunRecord) -> Vec<TrendPoint> {
    let mut points: Vec<TrendPoint> = earlier.into_iter().filter(|p| p.run_id < run.run_id).collect();
    if let Some(summary) = &run.summary {
        points.push(TrendPoint::of(run, summary));
    }
    let skip = points.len().saturating_sub(TREND_RUNS);
    points.split_off(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ou_exception_names_a_unit_by_id_name_or_path_and_covers_its_children() {
        use crate::exceptions::{Acceptance, FailedEvidence, parse};
        let path = [
            OrgUnit {
                id: "ou-ab-1".into(),
                name: "Workloads".into(),
            },
            OrgUnit {
                id: "ou-ab-2".into(),
                name: "Sandbox".into(),
            },
        ];
        assert_eq!(
            unit_names(&path),
            [
                "ou-ab-1",
                "Workloads",
                "Workloads",
                "ou-ab-2",
                "Sandbox",
                "Workloads/Sandbox"
            ]
        );
        let file = |ou: &str| {
            format!(
                r#"{{"schema_version": 1, "exceptions": [{{"id": "e", "control": "S3.8", "scope": {{"ou": "{ou}"}},
                "reason": "r", "owner": "o", "created": "2026-12-01", "expires": "2027-01-01"}}]}}"#
            )
        };
        let failed = FailedEvidence {
            controls: &["S3.8"],
            account_id: "111122223333",
            region: "us-east-1",
            resources: &["b"],
        };
        for (ou, covers) in [
            ("ou-ab-1", true),
            ("Workloads/Sandbox", true),
            ("Sandbox", true),
            ("Prod", false),
        ] {
            let acceptance = Acceptance::new(
                parse("e.json", &file(ou)).unwrap(),
                jiff::civil::date(2026, 12, 7),
                [("111122223333".to_string(), unit_names(&path))],
            );
            assert_eq!(acceptance.covering(&failed).is_some(), covers, "{ou}");
        }
    }

    fn account(path: &[(&str, &str)]) -> RunAccount {
        RunAccount {
            account_id: "111122223333".into(),
            name: "a".into(),
            status: "ACTIVE".into(),
            outcome: AccountOutcome::Assessed,
            gap: None,
            ou_path: path
                .iter()
                .map(|(id, name)| OrgUnit {
                    id: (*id).into(),
                    name: (*name).into(),
                })
                .collect(),
        }
    }

    #[test]
    fn an_account_is_in_its_units_and_their_parents_by_id_name_or_path() {
        let prod = account(&[("ou-ab12-workload", "Workloads"), ("ou-ab12-prod", "Prod")]);
        for unit in [
            "ou-ab12-prod",
            "ou-ab12-workload",
            "Prod",
            "Workloads",
            "Workloads/Prod",
        ] {
            assert!(prod.in_unit(unit), "{unit}");
        }
        for unit in ["ou-ab12", "Prod/Workloads", "Workloads/Dev", "Work", "Root", ""] {
            assert!(!prod.in_unit(unit), "{unit}");
        }
        assert!(!account(&[]).in_unit("Workloads"));
    }
}
