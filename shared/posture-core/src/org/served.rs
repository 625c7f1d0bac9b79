//! What a posture answer stands on: the latest complete run's collections
//! (`as_of` that run), or a live collection. Every posture tool says which,
//! how old each account's data is, and which accounts it could not see.

use crate::finding::Finding;
use crate::org::run::{AccountOutcome, RunRecord};
use crate::ports::CollectedAccount;
use crate::posture::inventory::Inventory;
use crate::sources::{SourceGap, ThrottledRead};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A collection holds the findings updated within this many days before it
/// was taken (they count as open in its snapshot).
pub const FINDINGS_WINDOW_DAYS: u32 = 90;

/// Where an answer's data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The latest complete assessment run's stored collections.
    Run,
    /// Collected now (or within the live cache's TTL).
    Live,
}

/// What an answer stands on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AsOf {
    /// `run` or `live`.
    pub basis: Basis,
    /// The run answered from (basis `run`).
    pub run_id: Option<String>,
    /// When the run finished, or when the live data was collected (oldest).
    pub time: Option<String>,
    /// Each account answered for, with its data's age.
    pub accounts: Vec<AccountAge>,
    /// Accounts of the run that are not in the answer, with why.
    pub missing_accounts: Vec<MissingAccount>,
    /// Why the answer is live though a run exists, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One account's data and its age.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountAge {
    /// The account.
    pub account_id: String,
    /// When its inventory was collected.
    pub collected_at: String,
    /// Seconds between then and the answer.
    pub age_seconds: i64,
}

/// An account the run lists but the answer has no data for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MissingAccount {
    /// The account.
    pub account_id: String,
    /// Its name in the directory.
    pub name: String,
    /// Why (the run's gap for it).
    pub gap: String,
}

/// A complete run's data, ready to answer from.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The run.
    pub run: RunRecord,
    /// Inventories of the assessed accounts.
    pub inventories: Vec<Inventory>,
    /// Their findings.
    pub findings: Vec<Finding>,
    /// Per account, finding sources not read in full.
    pub source_gaps: BTreeMap<String, Vec<SourceGap>>,
    /// Per account, finding sources read in full through throttling.
    pub throttled: BTreeMap<String, Vec<ThrottledRead>>,
}

impl RunData {
    /// Assembles a run's data from its accounts' collections.
    pub fn new(run: RunRecord, collections: Vec<CollectedAccount>) -> RunData {
        let throttled = throttled_reads(&collections);
        let (inventories, findings, source_gaps) = combine(collections);
        RunData {
            run,
            inventories,
            findings,
            source_gaps,
            throttled,
        }
    }

    /// What an answer over `accounts` (a subset of the run's) stands on.
    pub fn as_of<'a>(&self, inventories: impl IntoIterator<Item = &'a Inventory>, now: Timestamp) -> AsOf {
        AsOf {
            basis: Basis::Run,
            run_id: Some(self.run.run_id.clone()),
            time: Some(self.run.finished_at.unwrap_or(self.run.started_at).to_string()),
            accounts: ages(inventories, now),
            missing_accounts: self
                .run
                .accounts
                .iter()
                .filter(|a| a.outcome != AccountOutcome::Assessed)
                .map(|a| MissingAccount {
                    account_id: a.account_id.clone(),
                    name: a.name.clone(),
                    gap: a.gap.clone().unwrap_or_else(|| format!("{:?}", a.outcome)),
                })
                .collect(),
            note: None,
        }
    }
}

/// The inventories, findings and (per account) unread finding sources of
/// `collections`.
pub fn combine(
    collections: impl IntoIterator<Item = CollectedAccount>,
) -> (Vec<Inventory>, Vec<Finding>, BTreeMap<String, Vec<SourceGap>>) {
    let mut inventories = Vec::new();
    let mut findings = Vec::new();
    let mut source_gaps = BTreeMap::new();
    for c in collections {
        if !c.gaps.is_empty() {
            source_gaps.insert(c.inventory.account_id.clone(), c.gaps);
        }
        findings.extend(c.findings);
        inventories.push(c.inventory);
    }
    (inventories, findings, source_gaps)
}

/// Per account, the finding reads of `collections` that AWS throttled and
/// the retries completed.
pub fn throttled_reads<'a>(
    collections: impl IntoIterator<Item = &'a CollectedAccount>,
) -> BTreeMap<String, Vec<ThrottledRead>> {
    collections
        .into_iter()
        .filter(|c| !c.throttled.is_empty())
        .map(|c| (c.inventory.account_id.clone(), c.throttled.clone()))
        .collect()
}

/// What a live answer over `inventories` stands on.
pub fn live<'a, I>(inventories: I, now: Timestamp, note: Option<String>) -> AsOf
where
    I: IntoIterator<Item = &'a Inventory> + Clone,
{
    AsOf {
        basis: Basis::Live,
        run_id: None,
        time: inventories
            .clone()
            .into_iter()
            .map(|i| i.collected_at)
            .min()
            .map(|t| t.to_string()),
        accounts: ages(inventories, now),
        missing_accounts: Vec::new(),
        note,
    }
}

fn ages<'a>(inventories: impl IntoIterator<Item = &'a Inventory>, now: Timestamp) -> Vec<AccountAge> {
    inventories
        .into_iter()
        .map(|i| AccountAge {
            account_id: i.account_id.clone(),
            collected_at: i.collected_at.to_string(),
            // A live collection can finish after the answer's clock was read.
            age_seconds: now.duration_since(i.collected_at).as_secs().max(0),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::run::RunRecord;

    #[test]
    fn a_run_keeps_which_reads_were_throttled_per_account() {
        let collection = |account: &str, throttled: Vec<ThrottledRead>| CollectedAccount {
            inventory: Inventory {
                account_id: account.into(),
                ..Inventory::default()
            },
            findings: Vec::new(),
            gaps: Vec::new(),
            throttled,
            stored: false,
        };
        let read = ThrottledRead {
            service: "GuardDuty".into(),
            region: "eu-west-1".into(),
            attempts: 2,
        };
        let run: RunRecord = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "run_id": "20261207T000000Z-test", "state": "COMPLETE", "trigger": "manual",
            "started_at": "2026-12-07T00:00:00Z", "attempt": 1, "deadline": "2026-12-07T00:20:00Z",
            "accounts_total": 2, "accounts_done": 2, "accounts": []
        }))
        .unwrap();
        let data = RunData::new(
            run,
            vec![
                collection("111111111111", vec![read.clone()]),
                collection("222222222222", Vec::new()),
            ],
        );
        assert_eq!(
            data.throttled,
            BTreeMap::from([("111111111111".to_string(), vec![read])])
        );
    }
}
