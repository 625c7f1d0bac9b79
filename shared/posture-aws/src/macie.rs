//! Amazon Macie findings read directly: `ListFindings` (ids, unarchived,
//! updated within the window, at or above the threshold, newest first) and
//! `GetFindings` in batches of 50, parsed straight into `posture-core`'s
//! Macie shape and normalized there. The predicates are applied again to
//! what comes back. Macie answers "Macie is not enabled" when it is off:
//! that is `NotEnabled`, not a gap in what was read.

use crate::transport::ThrottleCount;
use aws_sdk_macie2::Client;
use aws_sdk_macie2::types::{CriterionAdditionalProperties, FindingCriteria, OrderBy, SortCriteria};
use posture_core::findings::macie::{MacieFindings, MacieIdPage};
use posture_core::severity::Severity;
use posture_core::sources::{FindingQuery, PagedRead, Reading, SourceError};

/// The source's name in results.
pub const SERVICE: &str = "Macie";
/// Largest page of ids asked of `ListFindings`, and the most ids `GetFindings` takes.
pub const PAGE_SIZE: usize = 50;

/// Macie as a finding source.
pub struct MacieSource {
    client: Client,
}

impl MacieSource {
    /// A source over `client` (an account's: see `transport::RawBody::parse`).
    pub fn new(client: Client) -> MacieSource {
        MacieSource { client }
    }
}

/// Macie's severity descriptions at or above `min` (it has three).
fn severities(min: Severity) -> Vec<&'static str> {
    [
        ("High", Severity::High),
        ("Medium", Severity::Medium),
        ("Low", Severity::Low),
    ]
    .into_iter()
    .filter(|(_, s)| *s >= min)
    .map(|(d, _)| d)
    .collect()
}

/// The `findingCriteria` sent with `ListFindings`.
pub fn criteria(query: &FindingQuery) -> FindingCriteria {
    let eq = |values: &[&str]| {
        values
            .iter()
            .fold(CriterionAdditionalProperties::builder(), |b, v| b.eq(*v))
            .build()
    };
    let mut c = FindingCriteria::builder()
        .criterion("archived", eq(&["false"]))
        .criterion(
            "updatedAt",
            CriterionAdditionalProperties::builder()
                .gte(query.window.start.as_millisecond())
                .build(),
        );
    // Macie has no CRITICAL: a CRITICAL threshold still asks for High, and
    // the predicate on what comes back keeps nothing below the threshold.
    let wanted = severities(query.min_severity.min(Severity::High));
    c = c.criterion("severity.description", eq(&wanted));
    if !query.filter.account_ids.is_empty() {
        let accounts: Vec<&str> = query.filter.account_ids.iter().map(String::as_str).collect();
        c = c.criterion("accountId", eq(&accounts));
    }
    c.build()
}

crate::paged_finding_source!(MacieSource, SERVICE);

impl MacieSource {
    async fn read(&self, query: &FindingQuery, mut reading: Reading) -> Result<PagedRead, SourceError> {
        let criteria = criteria(query);
        let throttles = ThrottleCount::default();
        let mut token: Option<String> = None;
        loop {
            let page: MacieIdPage = crate::raw_page!(
                self.client
                    .list_findings()
                    .finding_criteria(criteria.clone())
                    .sort_criteria(
                        SortCriteria::builder()
                            .attribute_name("updatedAt")
                            .order_by(OrderBy::Desc)
                            .build(),
                    )
                    .max_results(PAGE_SIZE as i32)
                    .set_next_token(token.take()),
                throttles,
                SERVICE,
                "ListFindings"
            )?;
            for ids in page.finding_ids.chunks(PAGE_SIZE) {
                let got: MacieFindings = crate::raw_page!(
                    self.client.get_findings().set_finding_ids(Some(ids.to_vec())),
                    throttles,
                    SERVICE,
                    "GetFindings"
                )?;
                for finding in got.findings {
                    reading.push(finding.normalize(), query);
                }
            }
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() || reading.has_enough(query) {
                return Ok(PagedRead {
                    reading,
                    unread_pages: token.is_some(),
                    throttled_attempts: throttles.count(),
                });
            }
        }
    }
}
