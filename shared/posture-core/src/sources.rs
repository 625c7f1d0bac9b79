//! What a read of a data source returns, and what it could not read: the
//! query, a batch of findings, the kinds of source failure, and the gaps a
//! failure leaves in a verdict.

use crate::finding::{Finding, NormalizeError};
use crate::findings::filter::FindingFilter;
use crate::severity::Severity;
use crate::time::TimeWindow;
use serde::{Deserialize, Serialize};

/// Security Hub's name as a source ([`FindingSource::service`]) and in verdicts.
pub const SECURITY_HUB: &str = "Security Hub";

/// What to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingQuery {
    /// Findings updated within this window.
    pub window: TimeWindow,
    /// At or above this severity.
    pub min_severity: Severity,
    /// At most this many findings per source.
    pub max_findings: usize,
    /// Accounts, regions, resource, principal and types asked for (sources
    /// send what their API can filter on).
    pub filter: FindingFilter,
}

impl FindingQuery {
    /// The predicate every source applies to what it reads, whether or not
    /// the service filtered server-side: live (active, not suppressed),
    /// updated within the window, at or above the threshold, selected by
    /// the filter.
    pub fn admits(&self, f: &Finding) -> bool {
        f.is_live() && self.window.contains(f.updated_at) && f.severity >= self.min_severity && self.filter.admits(f)
    }
}

/// What one source returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceBatch {
    /// Findings that passed [`FindingQuery::admits`], at most `max_findings`.
    pub findings: Vec<Finding>,
    /// True when the source had more matching findings than were read.
    pub more_available: bool,
    /// Raw records read from the API.
    pub records_read: usize,
    /// Records the client-side predicate dropped.
    pub dropped_by_filter: usize,
    /// Records that could not be normalized, with the reason.
    pub rejected: Vec<String>,
}

/// What a source has read so far: every record normalized (or why it could
/// not be), and how many of them the query admits.
#[derive(Debug, Default)]
pub struct Reading {
    records: Vec<Result<Finding, String>>,
    admitted: usize,
}

impl Reading {
    /// Adds one normalized record.
    pub fn push(&mut self, record: Result<Finding, NormalizeError>, query: &FindingQuery) {
        let record = record.map_err(|e| e.to_string());
        if record.as_ref().is_ok_and(|f| query.admits(f)) {
            self.admitted += 1;
        }
        self.records.push(record);
    }

    /// True once more findings were admitted than `max_findings` keeps, so
    /// further pages cannot change the result (only confirm there is more).
    pub fn has_enough(&self, query: &FindingQuery) -> bool {
        self.admitted > query.max_findings
    }

    /// The batch: admitted findings, most recently updated first, at most
    /// `max_findings`; counts of what was dropped or could not be read.
    /// `unread_pages` says the source stopped with pages left.
    pub fn finish(self, query: &FindingQuery, unread_pages: bool) -> SourceBatch {
        let mut batch = SourceBatch {
            records_read: self.records.len(),
            ..SourceBatch::default()
        };
        let mut admitted = Vec::new();
        for record in self.records {
            match record {
                Ok(f) if query.admits(&f) => admitted.push(f),
                Ok(_) => batch.dropped_by_filter += 1,
                Err(e) => batch.rejected.push(e),
            }
        }
        admitted.sort_by_key(|f| std::cmp::Reverse(f.updated_at));
        batch.more_available = unread_pages || admitted.len() > query.max_findings;
        admitted.truncate(query.max_findings);
        batch.findings = admitted;
        batch
    }
}

/// Why a source could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum SourceErrorKind {
    /// Credentials missing, expired or not allowed (`AccessDenied`).
    Authentication,
    /// The service is not enabled in this account/region.
    NotEnabled,
    /// The service throttled us beyond the retry budget.
    Throttled,
    /// Timeouts, 5xx, connection failures.
    Unavailable,
    /// Anything else the service rejected.
    Other,
}

impl SourceErrorKind {
    /// Whether a failure of this kind leaves evidence unread. A service that
    /// is not enabled has no findings to give, which is not a gap in what
    /// was read; every other failure is.
    pub fn leaves_unread(self) -> bool {
        self != SourceErrorKind::NotEnabled
    }
}

/// A failed source call, safe to show: no credentials, no request signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize, schemars::JsonSchema)]
#[error("{service}: {message}")]
pub struct SourceError {
    /// The kind of failure.
    pub kind: SourceErrorKind,
    /// The service, e.g. `GuardDuty`.
    pub service: String,
    /// What went wrong, sanitized.
    pub message: String,
}

/// A finding source that was not read in full for one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceGap {
    /// The service, e.g. `Security Hub`.
    pub service: String,
    /// The region read.
    pub region: String,
    /// Why the read failed; `None` when it answered but had more findings
    /// than were read.
    pub error: Option<SourceErrorKind>,
    /// What went wrong, sanitized.
    pub detail: String,
}

impl SourceGap {
    /// A failed read.
    pub fn failed(region: &str, error: &SourceError) -> SourceGap {
        SourceGap {
            service: error.service.clone(),
            region: region.to_string(),
            error: Some(error.kind),
            detail: error.message.clone(),
        }
    }

    /// Whether it leaves evidence unread (see [`SourceErrorKind::leaves_unread`]).
    pub fn leaves_unread(&self) -> bool {
        self.error.is_none_or(SourceErrorKind::leaves_unread)
    }
}

impl std::fmt::Display for SourceGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.error {
            Some(kind) => write!(f, "{} {}: {kind:?}: {}", self.region, self.service, self.detail),
            None => write!(f, "{} {}: truncated: {}", self.region, self.service, self.detail),
        }
    }
}

/// How a dependency is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DependencyStatus {
    /// Reachable and enabled.
    Operational,
    /// Reachable but not fully usable (throttled, a detector suspended).
    Degraded,
    /// Not reachable, refused, or not enabled.
    Failed,
}

impl std::fmt::Display for DependencyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DependencyStatus::Operational => "operational",
            DependencyStatus::Degraded => "degraded",
            DependencyStatus::Failed => "failed",
        })
    }
}

/// Health of one dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DependencyHealth {
    /// `credentials`, `securityhub`, `guardduty`.
    pub name: String,
    /// How it is.
    pub status: DependencyStatus,
    /// Why, in one sentence.
    pub detail: String,
}
