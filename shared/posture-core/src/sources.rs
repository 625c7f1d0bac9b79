//! What a read of a data source returns, and what it could not read: the
//! query, a batch of findings, the kinds of source failure, and the gaps a
//! failure leaves in a verdict.

use crate::finding::{Finding, NormalizeError};
use crate::findings::filter::FindingFilter;
use crate::findings::spool::{FindingSpool, SpoolError};
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

/// What one source returned: its findings as a list, or (a whole account's
/// collection, [`Reading::finish_spooled`]) in a [`FindingSpool`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceBatch<F = Vec<Finding>> {
    /// Findings that passed [`FindingQuery::admits`], at most `max_findings`.
    pub findings: F,
    /// True when the source had more matching findings than were read.
    pub more_available: bool,
    /// Raw records read from the API.
    pub records_read: usize,
    /// Records the client-side predicate dropped.
    pub dropped_by_filter: usize,
    /// Records that could not be normalized.
    pub rejected_total: usize,
    /// Why, for the first [`REJECTED_EXAMPLES`] of them.
    pub rejected: Vec<String>,
    /// Attempts the service throttled (each retried; a read whose retries
    /// ran out is a [`SourceErrorKind::Throttled`] error instead).
    pub throttled_attempts: usize,
}

impl<F> SourceBatch<F> {
    /// The same counts over other findings.
    pub fn with_findings<G>(self, findings: G, more_available: bool) -> SourceBatch<G> {
        SourceBatch {
            findings,
            more_available,
            records_read: self.records_read,
            dropped_by_filter: self.dropped_by_filter,
            rejected_total: self.rejected_total,
            rejected: self.rejected,
            throttled_attempts: self.throttled_attempts,
        }
    }
}

/// Reasons kept for records that could not be normalized (all are counted).
pub const REJECTED_EXAMPLES: usize = 20;

/// What a source has read so far. Records are folded in as pages arrive:
/// an admitted finding is kept, anything else only counted, so memory holds
/// the findings the query admits and nothing else. A reading for a whole
/// account's collection ([`Reading::spooling`]) keeps them compressed
/// ([`FindingSpool`]), a few hundred bytes each; a tool's read keeps them as
/// they are.
#[derive(Debug, Default)]
pub struct Reading {
    admitted: Admitted,
    records_read: usize,
    dropped_by_filter: usize,
    rejected_total: usize,
    rejected: Vec<String>,
    spool_error: Option<SpoolError>,
}

/// How a reading keeps what it admits.
#[derive(Debug)]
enum Admitted {
    Listed(Vec<Finding>),
    Spooled(FindingSpool),
}

impl Default for Admitted {
    fn default() -> Admitted {
        Admitted::Listed(Vec::new())
    }
}

impl Admitted {
    fn len(&self) -> usize {
        match self {
            Admitted::Listed(list) => list.len(),
            Admitted::Spooled(spool) => spool.len(),
        }
    }
}

impl Reading {
    /// A reading that spools what it admits (a whole account's collection).
    pub fn spooling() -> Reading {
        Reading {
            admitted: Admitted::Spooled(FindingSpool::new()),
            ..Reading::default()
        }
    }

    /// Adds one normalized record.
    pub fn push(&mut self, record: Result<Finding, NormalizeError>, query: &FindingQuery) {
        self.records_read += 1;
        match record {
            Ok(f) if query.admits(&f) => match &mut self.admitted {
                Admitted::Listed(list) => list.push(f),
                Admitted::Spooled(spool) => {
                    if let Err(e) = spool.push(f) {
                        self.spool_error.get_or_insert(e);
                    }
                }
            },
            Ok(_) => self.dropped_by_filter += 1,
            Err(e) => {
                self.rejected_total += 1;
                if self.rejected.len() < REJECTED_EXAMPLES {
                    self.rejected.push(e.to_string());
                }
            }
        }
    }

    /// True once more findings were admitted than `max_findings` keeps, so
    /// further pages cannot change the result (only confirm there is more).
    pub fn has_enough(&self, query: &FindingQuery) -> bool {
        self.admitted.len() > query.max_findings
    }

    /// The batch: admitted findings, most recently updated first, at most
    /// `max_findings`; counts of what was dropped or could not be read.
    /// `unread_pages` says the source stopped with pages left.
    pub fn finish(self, query: &FindingQuery, unread_pages: bool) -> Result<SourceBatch, SpoolError> {
        let (admitted, batch) = self.split()?;
        let mut admitted = match admitted {
            Admitted::Listed(list) => list,
            Admitted::Spooled(spool) => spool.into_vec()?,
        };
        // Sources page newest first: sorting is then only a check.
        if !admitted.is_sorted_by(|a, b| a.updated_at >= b.updated_at) {
            admitted.sort_by_key(|f| std::cmp::Reverse(f.updated_at));
        }
        let more_available = unread_pages || admitted.len() > query.max_findings;
        admitted.truncate(query.max_findings);
        Ok(batch.with_findings(admitted, more_available))
    }

    /// The batch with its findings left spooled: the newest `max_findings`,
    /// in the order they were read.
    pub fn finish_spooled(
        self,
        query: &FindingQuery,
        unread_pages: bool,
    ) -> Result<SourceBatch<FindingSpool>, SpoolError> {
        let (admitted, batch) = self.split()?;
        let spool = match admitted {
            Admitted::Listed(list) => FindingSpool::try_from(list)?,
            Admitted::Spooled(spool) => spool,
        };
        let (findings, left_out) = spool.keep_newest(query.max_findings)?;
        Ok(batch.with_findings(findings, unread_pages || left_out > 0))
    }

    fn split(self) -> Result<(Admitted, SourceBatch<()>), SpoolError> {
        if let Some(e) = self.spool_error {
            return Err(e);
        }
        Ok((
            self.admitted,
            SourceBatch {
                findings: (),
                more_available: false,
                records_read: self.records_read,
                dropped_by_filter: self.dropped_by_filter,
                rejected_total: self.rejected_total,
                rejected: self.rejected,
                throttled_attempts: 0,
            },
        ))
    }
}

/// A paging source's read once it stopped: what it read, whether pages were
/// left unread, and the attempts the service throttled.
#[derive(Debug)]
pub struct PagedRead {
    /// What was read.
    pub reading: Reading,
    /// The source stopped with pages left.
    pub unread_pages: bool,
    /// Attempts the service throttled (each retried).
    pub throttled_attempts: usize,
}

impl PagedRead {
    /// The batch of `service`'s read ([`Reading::finish`]).
    pub fn batch(self, query: &FindingQuery, service: &str) -> Result<SourceBatch, SourceError> {
        let mut batch = self
            .reading
            .finish(query, self.unread_pages)
            .map_err(|e| spool_failed(service, e))?;
        batch.throttled_attempts = self.throttled_attempts;
        Ok(batch)
    }

    /// The batch, its findings left spooled ([`Reading::finish_spooled`]).
    pub fn spooled(self, query: &FindingQuery, service: &str) -> Result<SourceBatch<FindingSpool>, SourceError> {
        let mut batch = self
            .reading
            .finish_spooled(query, self.unread_pages)
            .map_err(|e| spool_failed(service, e))?;
        batch.throttled_attempts = self.throttled_attempts;
        Ok(batch)
    }
}

/// A source's read that failed to spool what it read (a bug, said as one).
pub fn spool_failed(service: &str, e: SpoolError) -> SourceError {
    SourceError {
        kind: SourceErrorKind::Other,
        service: service.to_string(),
        message: e.to_string(),
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
    /// Findings of an account that were read but are not held (a ceiling or
    /// a budget): `detail` says how many and why. It leaves them unread.
    pub fn findings_left_out(detail: String) -> SourceGap {
        SourceGap {
            service: "findings".to_string(),
            region: "all".to_string(),
            error: None,
            detail,
        }
    }

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

/// A source read in full although AWS throttled some of its requests (the
/// retries carried it through): complete, and said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThrottledRead {
    /// The service, e.g. `Security Hub`.
    pub service: String,
    /// The region read.
    pub region: String,
    /// Requests AWS throttled and the product retried.
    pub attempts: usize,
}

impl std::fmt::Display for ThrottledRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {} attempts throttled",
            self.region, self.service, self.attempts
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Channel, SourceService};

    fn finding(n: usize, severity: Severity) -> Finding {
        Finding {
            id: format!("f-{n}"),
            dedup_key: format!("f-{n}"),
            source: SourceService::SecurityHub,
            channels: vec![Channel::SecurityHubApi],
            finding_type: "Software and Configuration Checks".into(),
            types: Vec::new(),
            title: String::new(),
            description: String::new(),
            severity,
            severity_score: 40.0,
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            resources: Vec::new(),
            principals: Vec::new(),
            remote_ips: Vec::new(),
            domains: Vec::new(),
            api_calls: Vec::new(),
            first_seen: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            last_seen: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
            updated_at: jiff::Timestamp::from_second(1_700_000_000 + n as i64).unwrap(),
            workflow_status: None,
            active: true,
            remediation_text: None,
            remediation_url: None,
            compliance: None,
            cves: Vec::new(),
            attack_sequence: None,
        }
    }

    #[test]
    fn a_reading_keeps_only_what_the_query_admits_and_counts_the_rest() {
        let end = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let query = FindingQuery {
            window: TimeWindow::last_days(end, 3650),
            min_severity: Severity::High,
            max_findings: 3,
            filter: FindingFilter::default(),
        };
        let read = |mut reading: Reading| {
            for n in 0..100 {
                let severity = if n % 10 == 0 { Severity::Critical } else { Severity::Low };
                reading.push(Ok(finding(n, severity)), &query);
            }
            for n in 0..30 {
                reading.push(
                    Err(NormalizeError::Missing {
                        format: "ASFF",
                        id: format!("bad-{n}"),
                        field: "Id",
                    }),
                    &query,
                );
            }
            // Dropped records are not held while reading.
            assert_eq!(reading.admitted.len(), 10);
            assert!(reading.has_enough(&query));
            reading
        };
        for reading in [Reading::default(), Reading::spooling()] {
            let batch = read(reading).finish(&query, false).unwrap();
            assert_eq!(batch.records_read, 130);
            assert_eq!(batch.dropped_by_filter, 90);
            assert_eq!(batch.rejected_total, 30);
            assert_eq!(batch.rejected.len(), REJECTED_EXAMPLES);
            assert!(batch.more_available);
            let ids: Vec<_> = batch.findings.iter().map(|f| f.id.as_str()).collect();
            assert_eq!(ids, ["f-90", "f-80", "f-70"], "newest first, capped");
        }
        // Spooled, the newest three are kept in the order they were read.
        for reading in [Reading::default(), Reading::spooling()] {
            let batch = read(reading).finish_spooled(&query, false).unwrap();
            assert!(batch.more_available);
            let ids: Vec<String> = batch.findings.into_vec().unwrap().into_iter().map(|f| f.id).collect();
            assert_eq!(ids, ["f-70", "f-80", "f-90"]);
        }
    }
}
