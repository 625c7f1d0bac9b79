//! Amazon Inspector findings read directly (`ListFindings`), so they count
//! where Security Hub is off: active findings updated within the window, at
//! or above the threshold, newest observation first, pages of 100 parsed
//! straight into `posture-core`'s Inspector shape and normalized there. The
//! predicates are applied again to what comes back.

use crate::transport::ThrottleCount;
use aws_sdk_inspector2::Client;
use aws_sdk_inspector2::types::{
    DateFilter, FilterCriteria, SortCriteria, SortField, SortOrder, StringComparison, StringFilter,
};
use posture_core::findings::inspector::InspectorPage;
use posture_core::severity::Severity;
use posture_core::sources::{FindingQuery, PagedRead, Reading, SourceError, SourceErrorKind};

/// The source's name in results.
pub const SERVICE: &str = "Inspector";
/// Largest page `ListFindings` returns.
pub const PAGE_SIZE: i32 = 100;

/// Inspector as a finding source.
pub struct InspectorSource {
    client: Client,
}

impl InspectorSource {
    /// A source over `client` (an account's: see `transport::RawBody::parse`).
    pub fn new(client: Client) -> InspectorSource {
        InspectorSource { client }
    }
}

fn filter(comparison: StringComparison, value: &str) -> Result<StringFilter, SourceError> {
    StringFilter::builder()
        .comparison(comparison)
        .value(value)
        .build()
        .map_err(|e| SourceError {
            kind: SourceErrorKind::Other,
            service: SERVICE.to_string(),
            message: format!("ListFindings filter: {e}"),
        })
}

/// The `filterCriteria` sent with `ListFindings`: values of one key are
/// OR-ed, keys AND-ed.
pub fn criteria(query: &FindingQuery) -> Result<FilterCriteria, SourceError> {
    let mut c = FilterCriteria::builder()
        .finding_status(filter(StringComparison::Equals, "ACTIVE")?)
        .updated_at(
            DateFilter::builder()
                .start_inclusive(aws_smithy_types::DateTime::from_millis(
                    query.window.start.as_millisecond(),
                ))
                .build(),
        );
    for severity in query.min_severity.at_or_above() {
        c = c.severity(filter(StringComparison::Equals, severity.label())?);
    }
    // Not yet scored: normalized as MEDIUM, so asked for with it.
    if query.min_severity <= Severity::Medium {
        c = c.severity(filter(StringComparison::Equals, "UNTRIAGED")?);
    }
    for account in &query.filter.account_ids {
        c = c.aws_account_id(filter(StringComparison::Equals, account)?);
    }
    Ok(c.build())
}

crate::paged_finding_source!(InspectorSource, SERVICE);

impl InspectorSource {
    async fn read(&self, query: &FindingQuery, mut reading: Reading) -> Result<PagedRead, SourceError> {
        let criteria = criteria(query)?;
        let sort = SortCriteria::builder()
            .field(SortField::LastObservedAt)
            .sort_order(SortOrder::Desc)
            .build()
            .map_err(|e| SourceError {
                kind: SourceErrorKind::Other,
                service: SERVICE.to_string(),
                message: format!("ListFindings sort: {e}"),
            })?;
        let throttles = ThrottleCount::default();
        let mut token: Option<String> = None;
        loop {
            let page: InspectorPage = crate::raw_page!(
                self.client
                    .list_findings()
                    .filter_criteria(criteria.clone())
                    .sort_criteria(sort.clone())
                    .max_results(PAGE_SIZE)
                    .set_next_token(token.take()),
                throttles,
                SERVICE,
                "ListFindings"
            )?;
            for finding in page.findings {
                reading.push(finding.normalize(), query);
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
