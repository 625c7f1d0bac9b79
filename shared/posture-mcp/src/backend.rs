//! What the tools talk to: the ports of the data sources and stores, the
//! loaded frameworks, and how the server was configured.

use crate::serving::{Latest, RunCache};
use jiff::SignedDuration;
use posture_core::ports::{CollectionStore, EventHistory, FindingSource, HealthProbe, InventorySource, LiveCollector};
use posture_core::ports::{ReportStore, RunLauncher, SnapshotStore};
use posture_core::posture::frameworks::{Framework, FrameworkError};
use std::sync::Arc;

/// Where the data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The built-in demo organization.
    Demo,
    /// AWS APIs (or moto through `AWS_ENDPOINT_URL`).
    Aws,
}

impl Mode {
    /// `demo` or `aws`, as reported.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Demo => "demo",
            Mode::Aws => "aws",
        }
    }
}

/// What the tools talk to.
pub struct Backend {
    /// Finding sources, queried concurrently.
    pub sources: Vec<Arc<dyn FindingSource>>,
    /// Dependency probe for `health_check`.
    pub health: Arc<dyn HealthProbe>,
    /// Data mode.
    pub mode: Mode,
    /// Log filter in effect (reported, not applied here).
    pub log_level: String,
    /// How clients authenticate to this deployment.
    pub auth_methods: Vec<String>,
    /// Inventories of the accounts in scope.
    pub inventories: Arc<dyn InventorySource>,
    /// Loaded frameworks (built-in and custom).
    pub frameworks: Vec<Framework>,
    /// Custom framework files that could not be loaded.
    pub framework_errors: Vec<FrameworkError>,
    /// The accepted risks (`POSTURE_EXCEPTIONS`), or why the file could not
    /// be used (then none applies).
    pub exceptions: posture_core::exceptions::LoadedExceptions,
    /// Stored runs and snapshots (history tools); `None` when no store is
    /// configured.
    pub history: Option<HistoryBackend>,
    /// Collects a named member account now through its role, for live
    /// answers (kept per account and regions for the live TTL); `None`:
    /// live answers cover the accounts this server reads directly.
    pub members: Option<Arc<dyn LiveCollector>>,
    /// CloudTrail event history of the organization's accounts, for
    /// investigations; `None`: investigations stand on findings alone.
    pub events: Option<Arc<dyn EventHistory>>,
    /// Read-only AWS API calls in the organization's accounts (`aws_read`);
    /// `None`: not available (the demo, or no explorer configured).
    pub explorer: Option<Arc<dyn posture_explorer::read::Explorer>>,
    /// Who the server is and whether it can read each member
    /// (`get_account_info`, `validate_member_access`).
    pub access: Option<Arc<dyn posture_core::access::AccessProbe>>,
    /// Work the server started with that tool calls wait for (the local
    /// demo's first org-wide run); `None`: nothing to wait for.
    pub startup: Option<Startup>,
}

/// A start-up task that tool calls wait for, so the server listens (and
/// answers the handshake and `tools/list`) before it is done.
#[derive(Clone)]
pub struct Startup(tokio::sync::watch::Receiver<bool>);

impl Startup {
    /// A start-up task not yet finished, and what finishes it.
    pub fn pending() -> (StartupDone, Self) {
        let (done, waiting) = tokio::sync::watch::channel(false);
        (StartupDone(done), Self(waiting))
    }

    /// Returns once the task has finished, or was abandoned.
    pub async fn finished(&self) {
        let mut waiting = self.0.clone();
        let _ = waiting.wait_for(|done| *done).await;
    }
}

/// Finishes a [`Startup`].
pub struct StartupDone(tokio::sync::watch::Sender<bool>);

impl StartupDone {
    /// Lets the waiting tool calls through.
    pub fn finish(self) {
        self.0.send_replace(true);
    }
}

impl Backend {
    /// The loaded frameworks' short names, in load order.
    pub fn framework_names(&self) -> Vec<String> {
        self.frameworks.iter().map(|f| f.short_name.clone()).collect()
    }

    /// The loaded framework `short_name`.
    pub fn framework(&self, short_name: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.short_name == short_name)
    }
}

/// Where history lives and how runs are started.
pub struct HistoryBackend {
    /// Run records and snapshots.
    pub store: Arc<dyn SnapshotStore>,
    /// Report files.
    pub reports: Arc<dyn ReportStore>,
    /// Each account's collection of a run: what posture tools answer from.
    pub collections: Arc<dyn CollectionStore>,
    /// Starts org-wide runs in the background.
    pub launcher: Arc<dyn RunLauncher>,
    /// A queued or running run older than this is reported failed.
    pub max_duration: SignedDuration,
    /// The latest complete run's data, loaded once per run (start with
    /// `RunCache::default()`).
    pub serving: RunCache,
}

impl HistoryBackend {
    /// The latest complete run to answer from ([`RunCache::latest`]).
    pub async fn latest_served(&self) -> Latest {
        self.serving
            .latest(self.store.as_ref(), self.collections.as_ref())
            .await
    }
}
