//! Answering from the latest complete run. The run's collections are loaded
//! once per run and kept for the process (a Lambda instance); which run is
//! the latest is asked of the store at most every [`RECHECK`], so a run
//! that completes is answered from within that time. Computed answers are
//! kept per run, so repeated questions cost a lookup.

use futures::StreamExt;
use posture_core::findings::spool::{Cutoff, FindingSpool, SpoolError};
use posture_core::org::run::{AccountOutcome, RunRecord};
use posture_core::org::served::RunData;
use posture_core::ports::{CollectedAccount, CollectionStore, SnapshotStore, SpooledCollection};
use posture_core::sources::SourceGap;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the latest run's id is trusted before the store is asked again.
pub const RECHECK: Duration = Duration::from_secs(10);

/// Computed answers kept per run; past this the cache starts over.
const ANSWERS_KEPT: usize = 256;

/// Collections read at once while loading a run.
const LOAD_CONCURRENCY: usize = 16;

/// Findings the server holds from a run at most, the newest across its
/// accounts: held as findings they take about 3.2 KB each, and 200,000 is
/// what a 1 GB function holds beside the rest. Those left out are said, per
/// account, as a gap of its findings (so what they would decide is unknown,
/// never passed).
pub const SERVED_FINDINGS: usize = 200_000;

/// The latest run, as posture tools see it.
#[derive(Clone)]
pub enum Latest {
    /// No run has completed: answers are live.
    NoRun,
    /// The store could not be read: why (answers are live and say so).
    StoreFailed(String),
    /// A run exists but cannot be answered from: why (answers are live and say so).
    Unusable(String),
    /// The run to answer from.
    Run(Arc<ServedRun>),
}

/// An answer computed from a run, masked, kept for the questions that
/// repeat it.
pub struct KeptAnswer {
    /// The structured content (without `as_of`, which is per call).
    pub value: Value,
    /// `value` serialized without its closing brace: a call's response
    /// appends `,"as_of":{..}}` instead of cloning and serializing `value`.
    pub head: String,
    /// The text rendering (without the `as_of` line).
    pub text: String,
}

impl KeptAnswer {
    /// Keeps `value` (an object, masked already) and its text.
    pub fn new(value: Value, text: String) -> Option<KeptAnswer> {
        let mut head = serde_json::to_string(&value).ok()?;
        // `{}` has nothing to continue with a comma; answers are never empty.
        if !head.ends_with('}') || head.len() < 3 {
            return None;
        }
        head.pop();
        Some(KeptAnswer { value, head, text })
    }
}

/// A loaded run and the answers computed from it.
pub struct ServedRun {
    /// The run's data.
    pub data: RunData,
    answers: Mutex<HashMap<String, Arc<KeptAnswer>>>,
}

impl ServedRun {
    /// A loaded run with no answers kept yet.
    pub fn new(data: RunData) -> ServedRun {
        ServedRun {
            data,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// The answer (structured, text) computed earlier for `key`.
    pub fn answer(&self, key: &str) -> Option<Arc<KeptAnswer>> {
        self.answers.lock().ok()?.get(key).cloned()
    }

    /// Keeps `answer` for `key`.
    pub fn keep(&self, key: String, answer: Arc<KeptAnswer>) {
        if let Ok(mut answers) = self.answers.lock() {
            if answers.len() >= ANSWERS_KEPT {
                answers.clear();
            }
            answers.insert(key, answer);
        }
    }
}

struct Checked {
    at: Instant,
    latest: Latest,
}

/// The latest complete run's data, per process.
#[derive(Default)]
pub struct RunCache {
    state: tokio::sync::Mutex<Option<Checked>>,
}

impl RunCache {
    /// The run to answer from. Concurrent callers wait for one load.
    pub async fn latest(&self, store: &dyn SnapshotStore, collections: &dyn CollectionStore) -> Latest {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_ref().filter(|c| c.at.elapsed() < RECHECK) {
            return c.latest.clone();
        }
        let latest = match store.latest_run().await {
            Err(e) => Latest::StoreFailed(format!("the snapshot store could not be read: {e}")),
            Ok(None) => Latest::NoRun,
            Ok(Some(run)) => match state.as_ref().map(|c| &c.latest) {
                Some(Latest::Run(served)) if served.data.run.run_id == run.run_id => Latest::Run(served.clone()),
                _ => load(collections, run).await,
            },
        };
        *state = Some(Checked {
            at: Instant::now(),
            latest: latest.clone(),
        });
        latest
    }
}

/// Reads every assessed account's collection. An account whose collection
/// is missing or unreadable becomes a gap of the answer; a run with none
/// (made before collections were kept, or expired) cannot be answered from.
async fn load(collections: &dyn CollectionStore, run: RunRecord) -> Latest {
    load_within(collections, run, SERVED_FINDINGS).await
}

/// [`load`], holding at most `max_findings` findings (the newest) of all
/// the accounts together.
async fn load_within(collections: &dyn CollectionStore, mut run: RunRecord, max_findings: usize) -> Latest {
    let assessed: Vec<String> = run
        .accounts
        .iter()
        .filter(|a| a.outcome == AccountOutcome::Assessed)
        .map(|a| a.account_id.clone())
        .collect();
    let run_id = run.run_id.clone();
    let reads = futures::stream::iter(assessed.into_iter().map(|account| {
        let run_id = run_id.clone();
        async move {
            let read = collections.collection_spooled(&run_id, &account).await;
            (account, read)
        }
    }))
    .buffer_unordered(LOAD_CONCURRENCY)
    .collect::<Vec<_>>()
    .await;
    let mut loaded = Vec::new();
    let mut failed = 0;
    for (account, read) in reads {
        let gap = match read {
            Ok(Some(c)) if c.inventory.account_id == account => {
                loaded.push(c);
                continue;
            }
            Ok(Some(_)) => "its stored collection is of another account".to_string(),
            Ok(None) => "its stored collection is missing (expired, or the run predates kept collections)".to_string(),
            Err(e) => format!("its stored collection could not be read: {e}"),
        };
        failed += 1;
        tracing::warn!(run_id = %run_id, account_id = %account, gap = %gap, "run collection unavailable");
        if let Some(a) = run.accounts.iter_mut().find(|a| a.account_id == account) {
            a.outcome = AccountOutcome::Gap;
            a.gap = Some(gap);
        }
    }
    if loaded.is_empty() && failed > 0 {
        return Latest::Unusable(format!(
            "the latest complete run {run_id} has no readable account collections"
        ));
    }
    loaded.sort_by(|a, b| a.inventory.account_id.cmp(&b.inventory.account_id));
    match unspool(loaded, max_findings) {
        Ok(loaded) => Latest::Run(Arc::new(ServedRun::new(RunData::new(run, loaded)))),
        Err(e) => Latest::Unusable(format!("the latest complete run {run_id}: {e}")),
    }
}

/// The collections with their findings as lists: the newest `max_findings`
/// of all of them, each account's left-out findings a gap of its own.
fn unspool(loaded: Vec<SpooledCollection>, max_findings: usize) -> Result<Vec<CollectedAccount>, SpoolError> {
    let total: usize = loaded.iter().map(|c| c.findings.len()).sum();
    let spools: Vec<&FindingSpool> = loaded.iter().map(|c| &c.findings).collect();
    let mut cutoff = Cutoff::newest(&spools, max_findings)?;
    let mut out = Vec::with_capacity(loaded.len());
    for c in loaded {
        let mut findings = Vec::new();
        c.findings.try_for_each(|f| {
            if cutoff.as_mut().is_none_or(|cut| cut.keeps(&f)) {
                findings.push(f);
            }
            Ok::<(), SpoolError>(())
        })?;
        let mut gaps = c.gaps;
        let left_out = c.findings.len() - findings.len();
        if left_out > 0 {
            gaps.push(SourceGap::findings_left_out(format!(
                "{left_out} of the account's findings not loaded for answers: the server holds the newest \
                 {max_findings} of the run's {total}"
            )));
        }
        out.push(CollectedAccount {
            inventory: c.inventory,
            findings,
            gaps,
            throttled: c.throttled,
            stored: c.stored,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use posture_core::demo::DemoOrganization;
    use posture_core::ports::{AccountCollector, PortError};
    use std::collections::BTreeMap;

    /// The demo's collections, as a run keeps them.
    struct Kept(BTreeMap<String, SpooledCollection>);

    #[async_trait::async_trait]
    impl CollectionStore for Kept {
        async fn put_collection(&self, _run_id: &str, _account: &SpooledCollection) -> Result<(), PortError> {
            Err(PortError::new("put_collection", "read-only in this test"))
        }
        async fn collection(&self, _run_id: &str, _account_id: &str) -> Result<Option<CollectedAccount>, PortError> {
            Err(PortError::new("collection", "the server reads collections spooled"))
        }
        async fn collection_spooled(
            &self,
            _run_id: &str,
            account_id: &str,
        ) -> Result<Option<SpooledCollection>, PortError> {
            Ok(self.0.get(account_id).cloned())
        }
    }

    #[tokio::test]
    async fn a_run_is_served_within_the_findings_budget_and_says_what_it_left_out() {
        let now: jiff::Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
        let org = DemoOrganization::load(now).unwrap();
        let mut kept = BTreeMap::new();
        for a in &org.accounts {
            kept.insert(a.account_id.clone(), org.collect("run", &a.account_id).await.unwrap());
        }
        let total: usize = kept.values().map(|c| c.findings.len()).sum();
        let accounts: Vec<serde_json::Value> = org
            .accounts
            .iter()
            .map(|a| serde_json::json!({"account_id": a.account_id, "name": a.name, "status": "ACTIVE", "outcome": "ASSESSED"}))
            .collect();
        let run: RunRecord = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "run_id": "20261126T060000Z-test", "state": "COMPLETE", "trigger": "manual",
            "started_at": "2026-11-26T06:00:00Z", "attempt": 1, "deadline": "2026-11-26T07:00:00Z",
            "accounts_done": 3, "accounts": accounts
        }))
        .unwrap();
        let store = Kept(kept);
        let served = |latest: Latest| match latest {
            Latest::Run(served) => served,
            _ => panic!("the run was not served"),
        };

        let whole = served(load_within(&store, run.clone(), total).await);
        assert_eq!(whole.data.findings.len(), total);
        assert!(whole.data.source_gaps.is_empty(), "{:?}", whole.data.source_gaps);

        let budget = total / 3;
        let part = served(load_within(&store, run, budget).await);
        assert_eq!(part.data.findings.len(), budget);
        let left_out: usize = part
            .data
            .source_gaps
            .values()
            .flatten()
            .filter(|g| g.service == "findings")
            .map(|g| {
                assert!(g.leaves_unread(), "{g:?}");
                g.detail.split(' ').next().unwrap().parse::<usize>().unwrap()
            })
            .sum();
        assert_eq!(left_out, total - budget);
        // The newest are the ones kept.
        let oldest_kept = part.data.findings.iter().map(|f| f.updated_at).min().unwrap();
        let newest_left = whole
            .data
            .findings
            .iter()
            .filter(|f| {
                !part
                    .data
                    .findings
                    .iter()
                    .any(|k| k.id == f.id && k.account_id == f.account_id)
            })
            .map(|f| f.updated_at)
            .max()
            .unwrap();
        assert!(oldest_kept >= newest_left);
    }
}
