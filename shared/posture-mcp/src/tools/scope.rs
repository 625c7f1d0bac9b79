//! What an answer is computed from and which part of it: the latest
//! complete run or live data ([`ground`]), the accounts an organizational
//! unit selects, the members collected live, and the `as_of` every answer
//! carries. Shared by the posture tools and `analyze_security_findings`.

use super::args;
use super::stored;
use crate::backend::Backend;
use crate::error::ToolError;
use crate::serving::{Latest, ServedRun};
use posture_core::org::served::{AsOf, Basis, MissingAccount};
use posture_core::ports::CollectedAccount;
use posture_core::sources::{FindingQuery, SourceBatch, SourceError};
use serde::Serialize;
use serde_json::json;
use std::fmt::Write;
use std::sync::Arc;

args::choice! {
    /// What a posture answer stands on.
    pub enum Freshness {
        LatestRun = "latest_run",
        Live = "live",
    }
}

/// The accounts an OU selection leaves of `account_ids` (all of the unit's
/// when empty); `account_ids` unchanged without a unit. Never empty: an
/// empty list would mean every account.
pub fn unit_accounts(run: &ServedRun, account_ids: &[String], unit: Option<&str>) -> Result<Vec<String>, ToolError> {
    let Some(unit) = unit else {
        return Ok(account_ids.to_vec());
    };
    // An unknown id is refused, not silently left out of the unit's accounts.
    check_accounts(run, account_ids)?;
    let accounts = &run.data.run.accounts;
    let in_unit: Vec<String> = accounts
        .iter()
        .filter(|a| a.in_unit(unit))
        .filter(|a| account_ids.is_empty() || account_ids.contains(&a.account_id))
        .map(|a| a.account_id.clone())
        .collect();
    if !in_unit.is_empty() {
        return Ok(in_unit);
    }
    let mut known: Vec<String> = accounts
        .iter()
        .filter(|a| !a.ou_path.is_empty())
        .flat_map(|a| {
            a.ou_path
                .iter()
                .enumerate()
                .map(|(depth, u)| {
                    let path: Vec<&str> = a.ou_path[..=depth].iter().map(|x| x.name.as_str()).collect();
                    format!("{} ({})", path.join("/"), u.id)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    known.sort();
    known.dedup();
    let detail = if known.is_empty() {
        format!(
            "run {} recorded no organizational units (its directory is a configured account list, or the \
             Organizations OU tree could not be read)",
            run.data.run.run_id
        )
    } else if account_ids.is_empty() {
        format!(
            "no account of run {} is in {unit:?}; its units: {}",
            run.data.run.run_id,
            known.join(", ")
        )
    } else {
        format!(
            "none of account_ids is in {unit:?}; the run's units: {}",
            known.join(", ")
        )
    };
    Err(ToolError::validation(
        "organizational_unit",
        detail,
        json!({"known": known}),
    ))
}

/// Refuses an OU selection on live data (only a run records the OU tree).
pub fn no_unit_live(unit: Option<&str>) -> Result<(), ToolError> {
    match unit {
        Some(unit) => Err(ToolError::validation(
            "organizational_unit",
            format!(
                "organizational_unit {unit:?} is answered from a run (which records the OU tree): drop freshness: \
                 live, or name the accounts with account_ids"
            ),
            json!({}),
        )),
        None => Ok(()),
    }
}

/// An answer and what it stands on.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Served<T> {
    /// The answer.
    #[serde(flatten)]
    pub answer: T,
    /// The run (or live collection) it stands on, each account's data age,
    /// and the accounts it could not see.
    pub as_of: AsOf,
}

/// What an answer is computed from.
pub enum Ground {
    /// The latest complete run.
    Run(Arc<ServedRun>),
    /// Data read now; the note says why, when a run could have answered.
    Live(Option<String>),
}

/// The latest complete run unless the caller asks for live data or no run
/// can be answered from (then live, with why); `freshness: latest_run`
/// refuses to fall back.
pub async fn ground(backend: &Backend, freshness: Option<Freshness>) -> Result<Ground, ToolError> {
    let wants_run = freshness == Some(Freshness::LatestRun);
    let note = match (&backend.history, freshness) {
        (_, Some(Freshness::Live)) => Some("live data, as asked (freshness: live)".to_string()),
        (None, _) if wants_run => return Err(stored::no_store()),
        (None, _) => None,
        (Some(h), _) => match h.latest_served().await {
            Latest::Run(run) => return Ok(Ground::Run(run)),
            Latest::NoRun if wants_run => return Err(stored::no_complete_run()),
            Latest::NoRun => {
                Some("no assessment run has completed yet: live data of the accounts this server reads".to_string())
            }
            Latest::Unusable(why) | Latest::StoreFailed(why) if wants_run => return Err(stored::service_error(why)),
            Latest::Unusable(why) | Latest::StoreFailed(why) => {
                Some(format!("{why}: live data of the accounts this server reads"))
            }
        },
    };
    Ok(Ground::Live(note))
}

/// Member accounts one live call can collect: each costs a full
/// collection, so an organization is asked of a run instead.
pub const LIVE_ACCOUNTS: usize = 5;

/// Accounts collected live through their roles, and those that could not be.
pub struct LiveMembers {
    /// The collections (kept for the live TTL).
    pub collected: Vec<Arc<CollectedAccount>>,
    /// The accounts that could not be entered or collected, with why.
    pub missing: Vec<MissingAccount>,
}

/// Collects the named accounts now through their member roles (in
/// `regions` when given) when the server can enter members; `None` when no
/// account is named or it cannot (live answers then cover the accounts it
/// reads directly).
pub async fn live_members(
    backend: &Backend,
    account_ids: &[String],
    regions: &[String],
) -> Result<Option<LiveMembers>, ToolError> {
    let Some(collector) = backend.members.as_ref().filter(|_| !account_ids.is_empty()) else {
        return Ok(None);
    };
    if account_ids.len() > LIVE_ACCOUNTS {
        return Err(ToolError::validation(
            "account_ids",
            format!(
                "a live answer collects at most {LIVE_ACCOUNTS} accounts ({} named); ask the latest run \
                 (freshness: latest_run) for more, or start one with assess_security_posture (scope organization)",
                account_ids.len()
            ),
            json!({"maximum": LIVE_ACCOUNTS}),
        ));
    }
    let regions = (!regions.is_empty()).then_some(regions);
    let results = futures::future::join_all(
        account_ids
            .iter()
            .map(|account| async move { (account, collector.collect_now(account, regions).await) }),
    )
    .await;
    let mut live = LiveMembers {
        collected: Vec::new(),
        missing: Vec::new(),
    };
    for (account, result) in results {
        match result {
            Ok(c) => live.collected.push(c),
            Err(e) => live.missing.push(MissingAccount {
                account_id: account.clone(),
                name: String::new(),
                gap: e.to_string(),
            }),
        }
    }
    if live.collected.is_empty() {
        let why: Vec<String> = live
            .missing
            .iter()
            .map(|m| format!("{}: {}", m.account_id, m.gap))
            .collect();
        return Err(stored::service_error(format!(
            "no named account could be collected live: {}",
            why.join("; ")
        )));
    }
    Ok(Some(live))
}

/// Refuses account ids that are not the run's.
pub fn check_accounts(run: &ServedRun, account_ids: &[String]) -> Result<(), ToolError> {
    let listed: Vec<String> = run.data.run.accounts.iter().map(|a| a.account_id.clone()).collect();
    let what = format!("not accounts of run {}", run.data.run.run_id);
    only_known("account_ids", &what, "its accounts", account_ids, listed)
}

/// Refuses regions of which there is no data.
pub fn check_regions(regions: &[String], known: Vec<String>) -> Result<(), ToolError> {
    only_known("regions", "no data for region(s)", "known", regions, known)
}

/// A ValidationError of `field` naming the `asked` values not in `known`.
fn only_known(field: &str, what: &str, listed: &str, asked: &[String], known: Vec<String>) -> Result<(), ToolError> {
    let unknown: Vec<&str> = asked
        .iter()
        .filter(|a| !known.contains(a))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ToolError::validation(
        field,
        format!("{what}: {}; {listed}: {}", unknown.join(", "), known.join(", ")),
        json!({"allowed": known}),
    ))
}

/// The first line of every posture answer's text: what it stands on.
pub fn as_of_line(a: &AsOf) -> String {
    let mut s = match (&a.basis, &a.run_id) {
        (Basis::Run, Some(run)) => format!(
            "As of run {run} (finished {}), {} account(s)",
            a.time.as_deref().unwrap_or("?"),
            a.accounts.len()
        ),
        _ => format!(
            "Live data collected {}, {} account(s)",
            a.time.as_deref().unwrap_or("now"),
            a.accounts.len()
        ),
    };
    if !a.missing_accounts.is_empty() {
        let _ = write!(
            s,
            "; not covered: {}",
            a.missing_accounts
                .iter()
                .map(|m| format!("{} ({})", m.account_id, m.gap))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(note) = &a.note {
        let _ = write!(s, " — {note}");
    }
    s.push('\n');
    s
}

/// Every finding source of `backend`, read concurrently, with its service name.
pub async fn fetch_all(backend: &Backend, query: &FindingQuery) -> Vec<(String, Result<SourceBatch, SourceError>)> {
    let fetches = backend.sources.iter().map(|source| {
        let source = source.clone();
        async move { (source.service().to_string(), source.fetch(query).await) }
    });
    futures::future::join_all(fetches).await
}
