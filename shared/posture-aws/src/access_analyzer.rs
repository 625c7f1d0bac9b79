//! IAM Access Analyzer findings read directly: the Region's analyzers
//! (`ListAnalyzers`), then each active analyzer's active findings
//! (`ListFindingsV2`, pages of 100) parsed straight into `posture-core`'s
//! shape and normalized there. No analyzer in the Region is `NotEnabled`.

use crate::transport::ThrottleCount;
use aws_sdk_accessanalyzer::Client;
use aws_sdk_accessanalyzer::types::Criterion;
use posture_core::findings::access_analyzer::{Analyzer, AnalyzerFindingPage, AnalyzerPage};
use posture_core::sources::{FindingQuery, PagedRead, Reading, SourceError, SourceErrorKind};

/// The source's name in results.
pub const SERVICE: &str = "IAM Access Analyzer";
/// Page size asked of `ListFindingsV2`.
pub const PAGE_SIZE: i32 = 100;

/// IAM Access Analyzer as a finding source.
pub struct AccessAnalyzerSource {
    client: Client,
}

impl AccessAnalyzerSource {
    /// A source over `client` (an account's: see `transport::RawBody::parse`).
    pub fn new(client: Client) -> AccessAnalyzerSource {
        AccessAnalyzerSource { client }
    }

    /// The analyzers of the client's Region.
    pub async fn analyzers(&self, throttles: &ThrottleCount) -> Result<Vec<Analyzer>, SourceError> {
        let mut analyzers = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page: AnalyzerPage = crate::raw_page!(
                self.client.list_analyzers().set_next_token(token.take()),
                throttles,
                SERVICE,
                "ListAnalyzers"
            )?;
            analyzers.extend(page.analyzers);
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(analyzers);
            }
        }
    }
}

crate::paged_finding_source!(AccessAnalyzerSource, SERVICE);

impl AccessAnalyzerSource {
    async fn read(&self, query: &FindingQuery, mut reading: Reading) -> Result<PagedRead, SourceError> {
        let region = self.client.config().region().map(|r| r.to_string()).unwrap_or_default();
        let throttles = ThrottleCount::default();
        let analyzers: Vec<Analyzer> = self
            .analyzers(&throttles)
            .await?
            .into_iter()
            .filter(Analyzer::is_active)
            .collect();
        if analyzers.is_empty() {
            return Err(SourceError {
                kind: SourceErrorKind::NotEnabled,
                service: SERVICE.to_string(),
                message: "IAM Access Analyzer has no active analyzer in this region".into(),
            });
        }
        let status = Criterion::builder().eq("ACTIVE").build();
        let accounts = query
            .filter
            .account_ids
            .iter()
            .fold(Criterion::builder(), |c, account| c.eq(account))
            .build();
        let mut unread_pages = false;
        for analyzer in &analyzers {
            let mut token: Option<String> = None;
            loop {
                if reading.has_enough(query) {
                    unread_pages = true;
                    break;
                }
                let mut request = self
                    .client
                    .list_findings_v2()
                    .analyzer_arn(&analyzer.arn)
                    .filter("status", status.clone());
                if !query.filter.account_ids.is_empty() {
                    request = request.filter("resourceOwnerAccount", accounts.clone());
                }
                let page: AnalyzerFindingPage = crate::raw_page!(
                    request.max_results(PAGE_SIZE).set_next_token(token.take()),
                    throttles,
                    SERVICE,
                    "ListFindingsV2"
                )?;
                for finding in page.findings {
                    reading.push(finding.normalize(analyzer, &region), query);
                }
                token = page.next_token.filter(|t| !t.is_empty());
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(PagedRead {
            reading,
            unread_pages,
            throttled_attempts: throttles.count(),
        })
    }
}
