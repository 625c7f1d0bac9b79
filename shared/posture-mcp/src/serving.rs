//! Answering from the latest complete run. The run's collections are loaded
//! once per run and kept for the process (a Lambda instance); which run is
//! the latest is asked of the store at most every [`RECHECK`], so a run
//! that completes is answered from within that time. Computed answers are
//! kept per run, so repeated questions cost a lookup.

use futures::StreamExt;
use posture_core::org::run::{AccountOutcome, RunRecord};
use posture_core::org::served::RunData;
use posture_core::ports::{CollectionStore, SnapshotStore};
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
async fn load(collections: &dyn CollectionStore, mut run: RunRecord) -> Latest {
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
            let read = collections.collection(&run_id, &account).await;
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
    Latest::Run(Arc::new(ServedRun::new(RunData::new(run, loaded))))
}
