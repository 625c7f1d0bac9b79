//! The history tools: `list_accounts`, `get_posture_history` and
//! `compare_snapshots`, answered from the complete runs in the snapshot
//! store.

use super::args::FrameworkName;
use super::call::{Cx, ToolOutput};
use super::stored::{
    complete_run, history_of, latest, not_found, run_snapshots, runs_since, snapshots_of, store_error,
};
use crate::error::ToolError;
use jiff::{SignedDuration, Timestamp};
use posture_core::ids::{AccountId, RunId};
use posture_core::org::history::{self, OrgDrift, OrgHistoryPoint};
use posture_core::org::run::{self, RunState};
use posture_core::org::snapshot::{self, Drift, Failure, HistoryPoint, Trend};
use posture_core::report::format::{delta_text, score_text};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// `list_accounts`.
pub const LIST_ACCOUNTS: &str = "list_accounts";
/// `get_posture_history`.
pub const GET_POSTURE_HISTORY: &str = "get_posture_history";
/// `compare_snapshots`.
pub const COMPARE_SNAPSHOTS: &str = "compare_snapshots";

/// Arguments of `list_accounts`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAccountsArgs {
    /// Accounts per page
    #[serde(default = "fifty")]
    #[schemars(range(min = 1, max = 100))]
    pub max_results: u32,
    /// From the previous page
    #[serde(default)]
    #[schemars(length(max = 12))]
    pub next_token: Option<String>,
}

fn fifty() -> u32 {
    50
}

/// Arguments of `get_posture_history`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryArgs {
    /// 12-digit account id; omit for the whole organization
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// Framework whose score series is shown
    #[serde(default = "FrameworkName::cis")]
    pub framework: FrameworkName,
    /// How far back
    #[serde(default = "ninety")]
    #[schemars(range(min = 1, max = 3650))]
    pub days: u32,
    /// Latest runs shown; earlier ones are counted in points_omitted
    #[serde(default = "one_hundred")]
    #[schemars(range(min = 1, max = 500))]
    pub max_points: u32,
}

fn ninety() -> u32 {
    90
}

fn one_hundred() -> u32 {
    100
}

/// Arguments of `compare_snapshots`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareArgs {
    /// 12-digit account id; omit for the whole organization
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// Earlier run (default: the complete run before to_run_id)
    #[serde(default)]
    pub from_run_id: Option<RunId>,
    /// Later run (default: the latest complete run)
    #[serde(default)]
    pub to_run_id: Option<RunId>,
    /// Items per list per account
    #[serde(default = "fifty")]
    #[schemars(range(min = 1, max = 200))]
    pub max_items: u32,
}

/// An account in `list_accounts`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AccountEntry {
    /// 12-digit id.
    pub account_id: String,
    /// Name from the directory.
    pub name: String,
    /// Directory status at the latest run.
    pub status: String,
    /// Its organizational units, outermost first (empty: under the root,
    /// or the directory is a configured list).
    pub ou_path: Vec<posture_core::org::run::OrgUnit>,
    /// `ASSESSED` or `GAP` in the latest run.
    pub latest_outcome: run::AccountOutcome,
    /// Why the latest run could not assess it.
    pub gap: Option<String>,
    /// Start of the latest complete run that assessed it.
    #[schemars(with = "Option<posture_core::time::DateTime>")]
    pub last_assessed: Option<Timestamp>,
    /// That run.
    pub last_assessed_run: Option<String>,
    /// Score per framework in that run.
    pub scores: BTreeMap<String, Option<f64>>,
    /// Failing check outcomes in that run.
    pub failures: Option<usize>,
}

/// `list_accounts` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AccountList {
    /// The latest complete run the list comes from.
    pub latest_run: String,
    /// Its start.
    #[schemars(with = "posture_core::time::DateTime")]
    pub latest_run_started_at: Timestamp,
    /// Accounts in scope of that run.
    pub total_accounts: usize,
    /// This page.
    pub accounts: Vec<AccountEntry>,
    /// Pass as `next_token` for the next page.
    pub next_token: Option<String>,
}

/// `get_posture_history` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct PostureHistory {
    /// `organization` or the account id.
    pub scope: String,
    /// Framework short name.
    pub framework: String,
    /// Start of the range (RFC 3339).
    pub from: String,
    /// End of the range.
    pub to: String,
    /// Org series (scope organization): one point per complete run.
    pub organization: Vec<OrgHistoryPoint>,
    /// Account series (scope account): one point per complete run that assessed it.
    pub account: Vec<HistoryPoint>,
    /// Last scored point against the first, stable within 1 point.
    pub trend: Trend,
    /// Score change from the first to the last scored point.
    pub score_change: Option<f64>,
    /// Complete runs in the range left out (only the latest `max_points` are shown).
    pub points_omitted: usize,
    /// Runs in the range that did not complete (not history).
    pub incomplete_runs: Vec<String>,
}

/// Failures of one account's drift, capped.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AccountDriftView {
    /// The account.
    pub account_id: String,
    /// Score change per framework.
    pub score_changes: BTreeMap<String, snapshot::ScoreChange>,
    /// Count of new failures.
    pub new_failures_count: usize,
    /// Count of resolved failures.
    pub resolved_failures_count: usize,
    /// Count of persisting failures.
    pub persisting_failures_count: usize,
    /// New failures (first `max_items`).
    pub new_failures: Vec<Failure>,
    /// Resolved failures (first `max_items`).
    pub resolved_failures: Vec<Failure>,
    /// Requirements whose status changed (first `max_items`).
    pub control_changes: Vec<snapshot::ControlChange>,
    /// Count of control changes.
    pub control_changes_count: usize,
    /// True when a list above was cut at `max_items`.
    pub truncated: bool,
}

/// `compare_snapshots` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Comparison {
    /// `organization` or the account id.
    pub scope: String,
    /// Earlier run.
    pub from_run: String,
    /// Later run.
    pub to_run: String,
    /// Org score changes (organization scope).
    pub score_changes: BTreeMap<String, snapshot::ScoreChange>,
    /// Accounts assessed only in the later run.
    pub accounts_added: Vec<String>,
    /// Accounts assessed only in the earlier run.
    pub accounts_removed: Vec<history::RemovedAccount>,
    /// Totals over accounts.
    pub totals: BTreeMap<String, usize>,
    /// Per account, most new failures first.
    pub accounts: Vec<AccountDriftView>,
}

/// `list_accounts`: the accounts of the latest complete run, a page at a time.
pub async fn list_accounts(cx: &Cx<'_>, args: ListAccountsArgs) -> Result<ToolOutput, ToolError> {
    let limit = args.max_results as usize;
    let after = args.next_token;
    let h = history_of(cx.backend)?;
    let latest = latest(h).await?;
    let mut accounts: Vec<&run::RunAccount> = latest.accounts.iter().collect();
    accounts.sort_by(|x, y| x.account_id.cmp(&y.account_id));
    if let Some(after) = &after
        && !accounts.iter().any(|x| &x.account_id == after)
    {
        return Err(ToolError::validation(
            "next_token",
            "next_token does not come from this account list",
            json!({}),
        ));
    }
    let start = after.map_or(0, |t| {
        accounts.iter().position(|x| x.account_id == t).map_or(0, |p| p + 1)
    });
    let page: Vec<&run::RunAccount> = accounts.iter().skip(start).take(limit).copied().collect();
    let next_token = (start + page.len() < accounts.len())
        .then(|| page.last().map(|x| x.account_id.clone()))
        .flatten();
    let standing: BTreeMap<&str, &snapshot::AccountStanding> = latest
        .summary
        .iter()
        .flat_map(|s| s.worst_accounts.iter())
        .map(|s| (s.account_id.as_str(), s))
        .collect();
    // Complete runs, read once and only if an account on this page needs them.
    let mut complete: Option<BTreeSet<String>> = None;
    let mut entries = Vec::new();
    for acct in page {
        let mut entry = AccountEntry {
            account_id: acct.account_id.clone(),
            name: acct.name.clone(),
            status: acct.status.clone(),
            ou_path: acct.ou_path.clone(),
            latest_outcome: acct.outcome,
            gap: acct.gap.clone(),
            last_assessed: None,
            last_assessed_run: None,
            scores: BTreeMap::new(),
            failures: None,
        };
        if let Some(s) = standing.get(acct.account_id.as_str()) {
            entry.last_assessed = Some(latest.started_at);
            entry.last_assessed_run = Some(latest.run_id.clone());
            entry.scores = s.scores.clone();
            entry.failures = Some(s.failures);
        } else {
            // Not assessed in the latest run: its newest snapshot of a complete run.
            if complete.is_none() {
                complete = Some(
                    runs_since(h.store.as_ref(), "")
                        .await?
                        .into_iter()
                        .filter(|r| r.state == RunState::Complete)
                        .map(|r| r.run_id)
                        .collect(),
                );
            }
            let snaps = snapshots_of(h.store.as_ref(), &acct.account_id, "", &latest.run_id).await?;
            let is_complete = |id: &String| complete.as_ref().is_some_and(|c| c.contains(id));
            if let Some(s) = snaps.iter().rev().find(|s| is_complete(&s.run_id)) {
                entry.last_assessed = Some(s.taken_at);
                entry.last_assessed_run = Some(s.run_id.clone());
                entry.scores = s.frameworks.iter().map(|(k, v)| (k.clone(), v.score)).collect();
                entry.failures = Some(s.failures.len());
            }
        }
        entries.push(entry);
    }
    let list = AccountList {
        latest_run: latest.run_id.clone(),
        latest_run_started_at: latest.started_at,
        total_accounts: accounts.len(),
        accounts: entries,
        next_token,
    };
    let mut text = format!(
        "{} account(s) in the latest run {} ({}).\n",
        list.total_accounts, list.latest_run, list.latest_run_started_at
    );
    for e in &list.accounts {
        let scores: Vec<String> = e
            .scores
            .iter()
            .map(|(k, v)| format!("{k} {}", score_text(*v)))
            .collect();
        let unit: Vec<&str> = e.ou_path.iter().map(|u| u.name.as_str()).collect();
        let _ = writeln!(
            text,
            "- {} {}{} [{}]: {}{}",
            e.account_id,
            e.name,
            if unit.is_empty() {
                String::new()
            } else {
                format!(" in {}", unit.join("/"))
            },
            e.status,
            if scores.is_empty() {
                "not assessed".to_string()
            } else {
                scores.join(", ")
            },
            e.gap
                .as_deref()
                .map(|g| format!(" (latest run: {g})"))
                .unwrap_or_default()
        );
    }
    if let Some(t) = &list.next_token {
        let _ = writeln!(text, "More accounts: next_token {t}.");
    }
    ToolOutput::new(&list, text)
}

/// `get_posture_history`: one framework's score series over the complete
/// runs of the window, for the organization or one account.
pub async fn posture_history(cx: &Cx<'_>, args: HistoryArgs) -> Result<ToolOutput, ToolError> {
    let account = args.account_id.map(|a| a.to_string());
    let framework = args.framework.0;
    let days = i64::from(args.days);
    let max_points = args.max_points as usize;
    let h = history_of(cx.backend)?;
    let now = Timestamp::now();
    let from = now - SignedDuration::from_hours(24 * days);
    // The run index and the account's newest snapshots: what the answer
    // shows is read, not every run of the window.
    let since = RunId::stamp(from);
    let incomplete_runs = h.store.incomplete_runs(&since, "~").await.map_err(store_error)?;
    let mut result = PostureHistory {
        scope: account.clone().unwrap_or_else(|| "organization".to_string()),
        framework: framework.clone(),
        from: from.to_string(),
        to: now.to_string(),
        organization: Vec::new(),
        account: Vec::new(),
        trend: Trend::InsufficientData,
        score_change: None,
        points_omitted: 0,
        incomplete_runs,
    };
    let scores: Vec<Option<f64>>;
    match &account {
        None => {
            let page = h
                .store
                .trend_points(&since, "~", max_points)
                .await
                .map_err(store_error)?;
            result.points_omitted = page.total.saturating_sub(page.points.len());
            let (series, trend) = history::org_series(&page.points, &framework);
            scores = series.iter().map(|p| p.score).collect();
            result.organization = series;
            result.trend = trend;
        }
        Some(id) => {
            let page = h
                .store
                .recent_account_snapshots(id, &since, "~", max_points, &result.incomplete_runs)
                .await
                .map_err(store_error)?;
            if page.total == 0 {
                return Err(not_found(
                    "account_id",
                    format!("account {id} has no snapshot in a complete run of the last {days} days"),
                ));
            }
            result.points_omitted = page.total.saturating_sub(page.snapshots.len());
            let (series, trend) = snapshot::history(&page.snapshots, &framework);
            scores = series.iter().map(|p| p.score).collect();
            result.account = series;
            result.trend = trend;
        }
    }
    let scored: Vec<f64> = scores.into_iter().flatten().collect();
    if let (Some(first), Some(last)) = (scored.first(), scored.last())
        && scored.len() >= 2
    {
        result.score_change = Some(((last - first) * 10.0).round() / 10.0);
    }
    let mut text = format!(
        "{} history of {} over {} day(s): trend {:?}{}.\n",
        framework,
        result.scope,
        days,
        result.trend,
        result
            .score_change
            .map(|d| format!(" ({d:+.1} points)"))
            .unwrap_or_default()
    );
    for p in &result.organization {
        let _ = writeln!(
            text,
            "- {} score {} | failures {} | open findings {}",
            p.run_id,
            score_text(p.score),
            p.failures,
            p.open_findings
        );
    }
    for p in &result.account {
        let accepted = if p.suppressed_controls > 0 {
            format!(
                " | suppressed controls {} (score with exceptions {})",
                p.suppressed_controls,
                score_text(p.score_with_exceptions)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "- {} score {} | failed controls {}{accepted} | failures {} | open findings {}",
            p.run_id,
            score_text(p.score),
            p.failed_controls,
            p.failures,
            p.open_findings
        );
        for line in &p.accepted {
            let _ = writeln!(text, "  accepted: {line}");
        }
    }
    if result.points_omitted > 0 {
        let _ = writeln!(
            text,
            "({} earlier runs not shown; raise max_points.)",
            result.points_omitted
        );
    }
    ToolOutput::new(&result, text)
}

/// `compare_snapshots`: drift between two complete runs.
pub async fn compare(cx: &Cx<'_>, args: CompareArgs) -> Result<ToolOutput, ToolError> {
    let account = args.account_id.map(|a| a.to_string());
    let from_id = args.from_run_id.map(|r| r.to_string());
    let to_id = args.to_run_id.map(|r| r.to_string());
    let max_items = args.max_items as usize;
    let h = history_of(cx.backend)?;
    let to = match &to_id {
        Some(id) => complete_run(h, id, "to_run_id").await?,
        None => latest(h).await?,
    };
    let from = match &from_id {
        Some(id) => complete_run(h, id, "from_run_id").await?,
        None => runs_since(h.store.as_ref(), "")
            .await?
            .into_iter()
            .rfind(|r| r.state == RunState::Complete && r.run_id < to.run_id)
            .ok_or_else(|| not_found("from_run_id", format!("no complete run before {}", to.run_id)))?,
    };
    if from.run_id >= to.run_id {
        return Err(ToolError::validation(
            "from_run_id",
            "from_run_id must be an earlier run than to_run_id",
            json!({"from_run_id": from.run_id, "to_run_id": to.run_id}),
        ));
    }
    let (drift, scope) = match &account {
        None => {
            let (a_snaps, b_snaps) = (
                run_snapshots(h.store.as_ref(), &from).await?,
                run_snapshots(h.store.as_ref(), &to).await?,
            );
            (
                history::org_drift(&from, &a_snaps, &to, &b_snaps),
                "organization".to_string(),
            )
        }
        Some(id) => {
            let before = h.store.snapshot(id, &from.run_id).await.map_err(store_error)?;
            let after = h.store.snapshot(id, &to.run_id).await.map_err(store_error)?;
            let (Some(before), Some(after)) = (before, after) else {
                return Err(not_found(
                    "account_id",
                    format!(
                        "account {id} was not assessed in both {} and {}",
                        from.run_id, to.run_id
                    ),
                ));
            };
            let d = snapshot::drift(&before, &after);
            let org = OrgDrift {
                from_run: from.run_id.clone(),
                to_run: to.run_id.clone(),
                score_changes: d.score_changes.clone(),
                accounts_added: Vec::new(),
                accounts_removed: Vec::new(),
                accounts: vec![d],
            };
            (org, id.clone())
        }
    };
    let comparison = view(drift, scope, max_items);
    let text = render_comparison(&comparison);
    ToolOutput::new(&comparison, text)
}

fn view(drift: OrgDrift, scope: String, max_items: usize) -> Comparison {
    let mut totals = BTreeMap::new();
    let mut accounts: Vec<AccountDriftView> = drift
        .accounts
        .into_iter()
        .map(|d: Drift| {
            for (k, n) in [
                ("new_failures", d.new_failures.len()),
                ("resolved_failures", d.resolved_failures.len()),
                ("persisting_failures", d.persisting_failures.len()),
                ("control_changes", d.control_changes.len()),
            ] {
                *totals.entry(k.to_string()).or_insert(0) += n;
            }
            let truncated = d.new_failures.len() > max_items
                || d.resolved_failures.len() > max_items
                || d.control_changes.len() > max_items;
            AccountDriftView {
                account_id: d.account_id,
                score_changes: d.score_changes,
                new_failures_count: d.new_failures.len(),
                resolved_failures_count: d.resolved_failures.len(),
                persisting_failures_count: d.persisting_failures.len(),
                control_changes_count: d.control_changes.len(),
                new_failures: d.new_failures.into_iter().take(max_items).collect(),
                resolved_failures: d.resolved_failures.into_iter().take(max_items).collect(),
                control_changes: d.control_changes.into_iter().take(max_items).collect(),
                truncated,
            }
        })
        .collect();
    accounts.sort_by(|a, b| {
        b.new_failures_count
            .cmp(&a.new_failures_count)
            .then(a.account_id.cmp(&b.account_id))
    });
    Comparison {
        scope,
        from_run: drift.from_run,
        to_run: drift.to_run,
        score_changes: drift.score_changes,
        accounts_added: drift.accounts_added,
        accounts_removed: drift.accounts_removed,
        totals,
        accounts,
    }
}

fn render_comparison(c: &Comparison) -> String {
    let mut text = format!("Drift of {} from {} to {}:\n", c.scope, c.from_run, c.to_run);
    for (name, s) in &c.score_changes {
        let _ = writeln!(
            text,
            "- {name}: {} -> {} ({})",
            score_text(s.from),
            score_text(s.to),
            delta_text(s.delta)
        );
    }
    let get = |k: &str| c.totals.get(k).copied().unwrap_or(0);
    let _ = writeln!(
        text,
        "{} new, {} resolved, {} persisting failure(s); {} control status change(s).",
        get("new_failures"),
        get("resolved_failures"),
        get("persisting_failures"),
        get("control_changes")
    );
    for a in &c.accounts_added {
        let _ = writeln!(text, "Account {a} assessed only in the later run.");
    }
    for r in &c.accounts_removed {
        let _ = writeln!(
            text,
            "Account {} not assessed in the later run{}.",
            r.account_id,
            r.reason.as_deref().map(|x| format!(": {x}")).unwrap_or_default()
        );
    }
    for a in &c.accounts {
        for f in &a.new_failures {
            let _ = writeln!(text, "NEW {} {} {}", a.account_id, f.check_id, f.resource);
        }
        for f in &a.resolved_failures {
            let _ = writeln!(text, "RESOLVED {} {} {}", a.account_id, f.check_id, f.resource);
        }
        if a.truncated {
            let _ = writeln!(text, "(account {}: lists cut at max_items)", a.account_id);
        }
    }
    text
}
