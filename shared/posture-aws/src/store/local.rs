//! The local stores: a directory on disk with the same semantics as the
//! DynamoDB and S3 stores, for local mode and tests.
//!
//! ```text
//! <root>/runs/<run_id>.json                  run records
//! <root>/index/<run_id>.json                 the run index: a complete run's trend point
//! <root>/accounts/<account_id>/<run_id>.json snapshots
//! <root>/reports/<run_id>/<name>             report files
//! <root>/collections/<run_id>/<account_id>.json  each account's collection
//! ```
//!
//! Every file is written to a temporary name and renamed into place, so a
//! reader never sees half a file; a run record is created with a hard link,
//! which fails if the name exists (the conditional create). The latest run is
//! the newest run record in state `COMPLETE`: the rename that commits a run is
//! the one step that makes it visible. Conditional updates are serialized by a
//! lock within one process; two processes sharing a directory are not
//! supported.

use posture_core::org::run::{ReportLocation, RunRecord, RunState, TrendPoint};
use posture_core::org::snapshot::AccountSnapshot;
use posture_core::ports::SnapshotStore;
use posture_core::ports::{
    Begun, CollectedAccount, CollectionStore, Page, Paged, PortError, ReportFile, ReportStore, SnapshotPage,
    SpooledCollection, TrendPage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

/// Snapshots and run records in a directory.
#[derive(Debug, Clone)]
pub struct LocalSnapshotStore {
    root: PathBuf,
    lock: Arc<Mutex<()>>,
    listings: Arc<std::sync::Mutex<HashMap<PathBuf, Listing>>>,
}

/// A directory's file stems as of its modification time.
#[derive(Debug)]
struct Listing {
    modified: SystemTime,
    stems: Arc<Vec<String>>,
}

/// A listing is kept only once its directory has been unchanged this long:
/// on a file system with coarse timestamps, a change within the same tick
/// would not show in the modification time.
const SETTLED: Duration = Duration::from_secs(2);

/// Report files in a directory.
#[derive(Debug, Clone)]
pub struct LocalReportStore {
    root: PathBuf,
}

impl LocalSnapshotStore {
    /// A store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> LocalSnapshotStore {
        LocalSnapshotStore {
            root: root.into(),
            lock: Arc::new(Mutex::new(())),
            listings: Arc::default(),
        }
    }

    /// The `.json` file stems in `dir`, sorted: listed again only when the
    /// directory changed (its modification time), so reading the newest few
    /// of a thousand runs does not list a thousand names each time.
    async fn listed(&self, dir: &Path, operation: &str) -> Result<Arc<Vec<String>>, PortError> {
        let modified = match tokio::fs::metadata(dir).await {
            Ok(meta) => meta.modified().ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Arc::default()),
            Err(e) => return Err(PortError::new(operation, format!("{}: {e}", dir.display()))),
        };
        let cached = |listings: &HashMap<PathBuf, Listing>| {
            listings
                .get(dir)
                .filter(|l| Some(l.modified) == modified)
                .map(|l| l.stems.clone())
        };
        if let Some(stems) = self.listings.lock().ok().and_then(|l| cached(&l)) {
            return Ok(stems);
        }
        let listed = Arc::new(stems(dir, operation).await?);
        let settled = modified.filter(|m| m.elapsed().is_ok_and(|age| age > SETTLED));
        if let (Some(modified), Ok(mut listings)) = (settled, self.listings.lock()) {
            listings.insert(
                dir.to_path_buf(),
                Listing {
                    modified,
                    stems: listed.clone(),
                },
            );
        }
        Ok(listed)
    }

    fn run_path(&self, run_id: &str) -> Result<PathBuf, PortError> {
        Ok(self.root.join("runs").join(format!("{}.json", safe_name(run_id)?)))
    }

    fn index_path(&self, run_id: &str) -> Result<PathBuf, PortError> {
        Ok(self.root.join("index").join(format!("{}.json", safe_name(run_id)?)))
    }

    /// The ids in `[from, to]` of the runs in the index and of the runs
    /// that are not complete. Runs completed before the index existed, or
    /// whose point a crash after the commit lost, get theirs now; only file
    /// names are listed for the rest, and only incomplete runs are read.
    async fn index_of(&self, from: &str, to: &str) -> Result<(BTreeSet<String>, Vec<String>), PortError> {
        let in_range = |ids: &[String]| {
            ids.iter()
                .filter(|id| id.as_str() >= from && id.as_str() <= to)
                .cloned()
                .collect::<Vec<_>>()
        };
        let mut indexed: BTreeSet<String> = in_range(&self.listed(&self.root.join("index"), "trend_points").await?)
            .into_iter()
            .collect();
        let mut incomplete = Vec::new();
        for id in in_range(&self.listed(&self.root.join("runs"), "trend_points").await?) {
            if indexed.contains(&id) {
                continue;
            }
            match self.run(&id).await? {
                Some(run) if run.state == RunState::Complete && self.index(&run).await? => {
                    indexed.insert(id);
                }
                Some(run) if run.state != RunState::Complete => incomplete.push(id),
                _ => {}
            }
        }
        Ok((indexed, incomplete))
    }

    /// Writes a complete run's point into the index (false: it has no summary).
    async fn index(&self, run: &RunRecord) -> Result<bool, PortError> {
        let Some(summary) = &run.summary else {
            return Ok(false);
        };
        write_json(&self.index_path(&run.run_id)?, &TrendPoint::of(run, summary), "index").await?;
        Ok(true)
    }

    fn snapshot_path(&self, account_id: &str, run_id: &str) -> Result<PathBuf, PortError> {
        Ok(self
            .root
            .join("accounts")
            .join(safe_name(account_id)?)
            .join(format!("{}.json", safe_name(run_id)?)))
    }

    /// Checks the stored record is the same attempt, still running, then
    /// replaces it.
    async fn replace_running(&self, run: &RunRecord, operation: &str) -> Result<(), PortError> {
        let _guard = self.lock.lock().await;
        let path = self.run_path(&run.run_id)?;
        let current: Option<RunRecord> = read_json(&path, operation).await?;
        match current {
            Some(c) if c.attempt == run.attempt && c.state == RunState::Running => {
                write_json(&path, run, operation).await
            }
            Some(c) => Err(PortError::conflict(
                operation,
                format!(
                    "run {} is attempt {} in state {:?}, not attempt {} running",
                    c.run_id, c.attempt, c.state, run.attempt
                ),
            )),
            None => Err(PortError::conflict(
                operation,
                format!("run {} does not exist", run.run_id),
            )),
        }
    }
}

impl LocalReportStore {
    /// A store under `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalReportStore {
        LocalReportStore { root: root.into() }
    }
}

/// Ids become file names: only `[A-Za-z0-9-_]` is allowed, so no input can
/// climb out of the directory.
fn safe_name(id: &str) -> Result<&str, PortError> {
    if !id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
        Ok(id)
    } else {
        Err(PortError::new("local store", format!("not a valid id: {id:?}")))
    }
}

async fn blocking<T: Send + 'static>(
    operation: &str,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, PortError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(PortError::new(operation, e.to_string())),
        Err(e) => Err(PortError::new(operation, e.to_string())),
    }
}

fn temp_beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    path.with_file_name(name)
}

async fn write_bytes(path: &Path, body: Vec<u8>, operation: &str) -> Result<(), PortError> {
    let path = path.to_path_buf();
    blocking(operation, move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = temp_beside(&path);
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, &path)
    })
    .await
}

async fn write_json<T: Serialize>(path: &Path, value: &T, operation: &str) -> Result<(), PortError> {
    let body = serde_json::to_vec_pretty(value).map_err(|e| PortError::new(operation, e.to_string()))?;
    write_bytes(path, body, operation).await
}

/// Creates `path` only if it does not exist.
async fn create_json<T: Serialize>(path: &Path, value: &T, operation: &str) -> Result<bool, PortError> {
    let body = serde_json::to_vec_pretty(value).map_err(|e| PortError::new(operation, e.to_string()))?;
    let path = path.to_path_buf();
    blocking(operation, move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = temp_beside(&path);
        std::fs::write(&tmp, body)?;
        let linked = std::fs::hard_link(&tmp, &path);
        std::fs::remove_file(&tmp)?;
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    })
    .await
}

async fn read_json<T: DeserializeOwned>(path: &Path, operation: &str) -> Result<Option<T>, PortError> {
    let p = path.to_path_buf();
    let body = blocking(operation, move || match std::fs::read(&p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    })
    .await?;
    body.map(|b| serde_json::from_slice(&b).map_err(|e| PortError::new(operation, format!("{}: {e}", path.display()))))
        .transpose()
}

/// The `.json` file stems in `dir`, sorted.
async fn stems(dir: &Path, operation: &str) -> Result<Vec<String>, PortError> {
    let dir = dir.to_path_buf();
    blocking(operation, move || {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".json") {
                out.push(stem.to_string());
            }
        }
        out.sort();
        Ok(out)
    })
    .await
}

/// Ids in `[from, to]` after the cursor, at most `page.limit`.
fn window(ids: Vec<String>, from: &str, to: &str, page: &Page) -> (Vec<String>, Option<String>) {
    let mut selected: Vec<String> = ids
        .into_iter()
        .filter(|id| id.as_str() >= from && id.as_str() <= to)
        .filter(|id| page.after.as_deref().is_none_or(|after| id.as_str() > after))
        .collect();
    let limit = page.limit.max(1);
    let next = (selected.len() > limit).then(|| selected[limit - 1].clone());
    selected.truncate(limit);
    (selected, next)
}

#[async_trait::async_trait]
impl SnapshotStore for LocalSnapshotStore {
    async fn begin_run(&self, run: &RunRecord) -> Result<Begun, PortError> {
        let path = self.run_path(&run.run_id)?;
        if create_json(&path, run, "begin_run").await? {
            return Ok(Begun::Started);
        }
        match read_json::<RunRecord>(&path, "begin_run").await? {
            Some(existing) => Ok(Begun::Exists(Box::new(existing))),
            None => Err(PortError::conflict("begin_run", "run record vanished")),
        }
    }

    async fn retake_run(&self, run: &RunRecord, prior_attempt: u32) -> Result<(), PortError> {
        let _guard = self.lock.lock().await;
        let path = self.run_path(&run.run_id)?;
        match read_json::<RunRecord>(&path, "retake_run").await? {
            Some(c) if c.attempt == prior_attempt && c.state != RunState::Complete => {
                write_json(&path, run, "retake_run").await
            }
            _ => Err(PortError::conflict(
                "retake_run",
                format!("run {} changed since attempt {prior_attempt}", run.run_id),
            )),
        }
    }

    async fn update_run(&self, run: &RunRecord) -> Result<(), PortError> {
        self.replace_running(run, "update_run").await
    }

    async fn put_snapshot(&self, snapshot: &AccountSnapshot) -> Result<(), PortError> {
        let path = self.snapshot_path(&snapshot.account_id, &snapshot.run_id)?;
        write_json(&path, snapshot, "put_snapshot").await
    }

    async fn complete_run(&self, run: &RunRecord) -> Result<(), PortError> {
        self.replace_running(run, "complete_run").await?;
        // After the commit: a point never names a run that is not complete
        // (one a crash loses here, `trend_points` writes again).
        self.index(run).await.map(|_| ())
    }

    async fn fail_run(&self, run: &RunRecord) -> Result<(), PortError> {
        self.replace_running(run, "fail_run").await
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>, PortError> {
        read_json(&self.run_path(run_id)?, "run").await
    }

    async fn latest_run(&self) -> Result<Option<RunRecord>, PortError> {
        let ids = stems(&self.root.join("runs"), "latest_run").await?;
        for id in ids.iter().rev() {
            if let Some(run) = self.run(id).await?
                && run.state == RunState::Complete
            {
                return Ok(Some(run));
            }
        }
        Ok(None)
    }

    async fn runs(&self, from: &str, to: &str, page: &Page) -> Result<Paged<RunRecord>, PortError> {
        let ids = stems(&self.root.join("runs"), "runs").await?;
        let (ids, next) = window(ids, from, to, page);
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(run) = self.run(&id).await? {
                items.push(run);
            }
        }
        Ok(Paged { items, next })
    }

    async fn trend_points(&self, from: &str, to: &str, limit: usize) -> Result<TrendPage, PortError> {
        let (indexed, _) = self.index_of(from, to).await?;
        let newest: Vec<&String> = indexed.iter().rev().take(limit).collect();
        let mut points = Vec::with_capacity(newest.len());
        for id in newest.into_iter().rev() {
            if let Some(point) = read_json(&self.index_path(id)?, "trend_points").await? {
                points.push(point);
            }
        }
        Ok(TrendPage {
            points,
            total: indexed.len(),
        })
    }

    async fn incomplete_runs(&self, from: &str, to: &str) -> Result<Vec<String>, PortError> {
        Ok(self.index_of(from, to).await?.1)
    }

    async fn recent_account_snapshots(
        &self,
        account_id: &str,
        from: &str,
        to: &str,
        limit: usize,
        incomplete: &[String],
    ) -> Result<SnapshotPage, PortError> {
        // File names only, then the newest `limit` read.
        let dir = self.root.join("accounts").join(safe_name(account_id)?);
        let listed = self.listed(&dir, "recent_account_snapshots").await?;
        let ids: Vec<&String> = listed
            .iter()
            .filter(|id| id.as_str() >= from && id.as_str() <= to && !incomplete.contains(id))
            .collect();
        let mut snapshots = Vec::with_capacity(limit.min(ids.len()));
        for id in ids.iter().rev().take(limit).rev() {
            if let Some(snap) = self.snapshot(account_id, id).await? {
                snapshots.push(snap);
            }
        }
        Ok(SnapshotPage {
            snapshots,
            total: ids.len(),
        })
    }

    async fn snapshot(&self, account_id: &str, run_id: &str) -> Result<Option<AccountSnapshot>, PortError> {
        read_json(&self.snapshot_path(account_id, run_id)?, "snapshot").await
    }

    async fn account_snapshots(
        &self,
        account_id: &str,
        from: &str,
        to: &str,
        page: &Page,
    ) -> Result<Paged<AccountSnapshot>, PortError> {
        let dir = self.root.join("accounts").join(safe_name(account_id)?);
        let (ids, next) = window(stems(&dir, "account_snapshots").await?, from, to, page);
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = self.snapshot(account_id, &id).await? {
                items.push(s);
            }
        }
        Ok(Paged { items, next })
    }
}

#[async_trait::async_trait]
impl ReportStore for LocalReportStore {
    async fn put(&self, run_id: &str, file: &ReportFile) -> Result<ReportLocation, PortError> {
        let path = self
            .root
            .join("reports")
            .join(safe_name(run_id)?)
            .join(report_name(&file.name)?);
        write_bytes(&path, file.body.clone(), "put_report").await?;
        Ok(ReportLocation {
            name: file.name.clone(),
            uri: path.display().to_string(),
        })
    }

    async fn link(&self, location: &ReportLocation) -> Result<String, PortError> {
        Ok(location.uri.clone())
    }

    async fn get(&self, run_id: &str, name: &str) -> Result<Option<Vec<u8>>, PortError> {
        let path = self
            .root
            .join("reports")
            .join(safe_name(run_id)?)
            .join(report_name(name)?);
        blocking("get_report", move || match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }
}

impl LocalReportStore {
    fn collection_path(&self, run_id: &str, account_id: &str) -> Result<PathBuf, PortError> {
        Ok(self
            .root
            .join("collections")
            .join(safe_name(run_id)?)
            .join(format!("{}.json", safe_name(account_id)?)))
    }
}

#[async_trait::async_trait]
impl CollectionStore for LocalReportStore {
    async fn put_collection(&self, run_id: &str, account: &SpooledCollection) -> Result<(), PortError> {
        let path = self.collection_path(run_id, &account.inventory.account_id)?;
        let body = serde_json::to_vec(account).map_err(|e| PortError::new("put_collection", e.to_string()))?;
        write_bytes(&path, body, "put_collection").await
    }

    async fn collection(&self, run_id: &str, account_id: &str) -> Result<Option<CollectedAccount>, PortError> {
        read_json(&self.collection_path(run_id, account_id)?, "collection").await
    }

    async fn collection_spooled(&self, run_id: &str, account_id: &str) -> Result<Option<SpooledCollection>, PortError> {
        read_json(&self.collection_path(run_id, account_id)?, "collection").await
    }
}

/// A report file name: one path component of `[A-Za-z0-9._-]`, not hidden.
pub(crate) fn report_name(name: &str) -> Result<&str, PortError> {
    if !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
    {
        Ok(name)
    } else {
        Err(PortError::new(
            "report store",
            format!("not a valid report name: {name:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_modified(dir: &Path, at: SystemTime) {
        std::fs::File::open(dir).unwrap().set_modified(at).unwrap();
    }

    #[tokio::test]
    async fn a_listing_is_read_again_whenever_its_directory_changed() {
        let root = std::env::temp_dir().join(format!("posture-listing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = root.join("runs");
        std::fs::create_dir_all(&dir).unwrap();
        let store = LocalSnapshotStore::new(&root);
        let names = |l: Arc<Vec<String>>| l.iter().cloned().collect::<Vec<_>>();
        assert!(names(store.listed(&root.join("none"), "test").await.unwrap()).is_empty());

        std::fs::write(dir.join("a.json"), "{}").unwrap();
        let settled = SystemTime::now() - Duration::from_secs(10);
        set_modified(&dir, settled);
        assert_eq!(names(store.listed(&dir, "test").await.unwrap()), ["a"]);
        // Kept: a change that left the time as it was is not seen (what the
        // cache saves is the listing).
        std::fs::write(dir.join("hidden.json"), "{}").unwrap();
        set_modified(&dir, settled);
        assert_eq!(names(store.listed(&dir, "test").await.unwrap()), ["a"]);
        // Any change of the time is seen, and a fresh listing is not kept
        // until it has settled.
        std::fs::write(dir.join("b.json"), "{}").unwrap();
        assert_eq!(names(store.listed(&dir, "test").await.unwrap()), ["a", "b", "hidden"]);
        std::fs::remove_file(dir.join("hidden.json")).unwrap();
        assert_eq!(names(store.listed(&dir, "test").await.unwrap()), ["a", "b"]);
        let _ = std::fs::remove_dir_all(&root);
    }
}
