//! Security Hub findings (`GetFindings`), mapped into ASFF structs of
//! `posture-core` and normalized there.
//!
//! The server-side filters (active records, not suppressed, updated within the
//! window, severity labels at or above the threshold) are sent because they
//! make AWS return less; the same predicates are applied again to what comes
//! back, because a stand-in such as moto ignores them.

use crate::errors::classify;
use crate::transport::{RawBody, ThrottleCount};
use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, DateFilter, DateRange, DateRangeUnit, SeverityLabel, SortCriterion,
    SortOrder, StringFilter, StringFilterComparison,
};
use posture_core::findings::asff::{
    AsffAction, AsffApiCall, AsffCompliance, AsffDnsRequest, AsffFinding, AsffIamAccessKey, AsffNetwork,
    AsffNetworkConnection, AsffPage, AsffRecommendation, AsffRemediation, AsffRemoteIp, AsffResource,
    AsffResourceDetails, AsffSeverity, AsffVulnerability, AsffWorkflow,
};
use posture_core::sources::{FindingQuery, PagedRead, Reading, SourceError, SourceErrorKind};

/// Largest page `GetFindings` returns.
pub const PAGE_SIZE: usize = 100;

/// Security Hub as a finding source (within AWS's `GetFindings` quota when
/// the client's configuration went through `transport::for_account`).
pub struct SecurityHubSource {
    client: Client,
}

impl SecurityHubSource {
    /// A source over `client`.
    pub fn new(client: Client) -> SecurityHubSource {
        SecurityHubSource { client }
    }
}

fn eq(value: &str) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(StringFilterComparison::Equals)
        .build()
}

/// The filters sent with `GetFindings`.
pub fn filters(query: &FindingQuery) -> AwsSecurityFindingFilters {
    let days = i32::try_from(query.window.days().max(1)).unwrap_or(i32::MAX);
    let mut f = AwsSecurityFindingFilters::builder()
        .record_state(eq("ACTIVE"))
        .workflow_status(
            StringFilter::builder()
                .value("SUPPRESSED")
                .comparison(StringFilterComparison::NotEquals)
                .build(),
        )
        .updated_at(
            DateFilter::builder()
                .date_range(DateRange::builder().value(days).unit(DateRangeUnit::Days).build())
                .build(),
        );
    for s in query.min_severity.at_or_above() {
        f = f.severity_label(eq(s.label()));
    }
    // Values of one field are OR-ed by Security Hub; fields are AND-ed.
    let filter = &query.filter;
    for account in &filter.account_ids {
        f = f.aws_account_id(eq(account));
    }
    for region in &filter.regions {
        f = f.region(eq(region));
    }
    for prefix in &filter.types {
        f = f.r#type(
            StringFilter::builder()
                .value(prefix)
                .comparison(StringFilterComparison::Prefix)
                .build(),
        );
    }
    // A bare id (a bucket name) can end many ARNs: it is matched on what comes back.
    if let Some(arn) = filter.resource.as_deref().filter(|r| r.starts_with("arn:")) {
        f = f.resource_id(eq(arn));
    }
    f.build()
}

crate::paged_finding_source!(SecurityHubSource, posture_core::sources::SECURITY_HUB);

impl SecurityHubSource {
    /// Reads pages until the query has what it asks for.
    async fn read(&self, query: &FindingQuery, mut reading: Reading) -> Result<PagedRead, SourceError> {
        let mut token: Option<String> = None;
        let throttles = ThrottleCount::default();
        loop {
            let raw = RawBody::default();
            let page = self
                .client
                .get_findings()
                .filters(filters(query))
                .sort_criteria(
                    SortCriterion::builder()
                        .field("UpdatedAt")
                        .sort_order(SortOrder::Descending)
                        .build(),
                )
                .max_results(PAGE_SIZE as i32)
                .set_next_token(token.take())
                .customize()
                .interceptor(raw.clone())
                .interceptor(throttles.clone())
                .send()
                .await
                .map_err(|e| classify(posture_core::sources::SECURITY_HUB, &e))?;
            token = match raw.take() {
                // An account's client kept the page: parsed once, straight into ASFF.
                Some(body) => {
                    let page: AsffPage = serde_json::from_slice(&body).map_err(|e| SourceError {
                        kind: SourceErrorKind::Other,
                        service: posture_core::sources::SECURITY_HUB.to_string(),
                        message: format!("GetFindings answered a page that is not ASFF: {e}"),
                    })?;
                    for finding in page.findings {
                        reading.push(finding.into_normalized(), query);
                    }
                    page.next_token
                }
                None => {
                    for finding in page.findings() {
                        reading.push(to_asff(finding).into_normalized(), query);
                    }
                    page.next_token().map(str::to_string)
                }
            }
            .filter(|t| !t.is_empty());
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

/// Maps an SDK finding into the ASFF struct of `posture-core`.
pub fn to_asff(f: &AwsSecurityFinding) -> AsffFinding {
    let s = |v: Option<&str>| v.unwrap_or_default().to_string();
    let o = |v: Option<&str>| v.map(str::to_string);
    AsffFinding {
        schema_version: s(f.schema_version()),
        id: s(f.id()),
        product_arn: s(f.product_arn()),
        product_name: o(f.product_name()),
        generator_id: s(f.generator_id()),
        aws_account_id: s(f.aws_account_id()),
        region: o(f.region()),
        types: f.types().to_vec(),
        first_observed_at: o(f.first_observed_at()),
        last_observed_at: o(f.last_observed_at()),
        created_at: s(f.created_at()),
        updated_at: s(f.updated_at()),
        severity: f.severity().map(|sev| AsffSeverity {
            label: sev.label().map(|l: &SeverityLabel| l.as_str().to_string()),
            normalized: sev.normalized().map(i64::from),
            original: o(sev.original()),
            product: sev.product(),
        }),
        title: s(f.title()),
        description: s(f.description()),
        remediation: f.remediation().map(|r| AsffRemediation {
            recommendation: r.recommendation().map(|rec| AsffRecommendation {
                text: o(rec.text()),
                url: o(rec.url()),
            }),
        }),
        product_fields: f
            .product_fields()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        resources: f
            .resources()
            .iter()
            .map(|r| AsffResource {
                kind: s(r.r#type()),
                id: s(r.id()),
                partition: r.partition().map(|p| p.as_str().to_string()),
                region: o(r.region()),
                details: r
                    .details()
                    .and_then(|d| d.aws_iam_access_key())
                    .map(|k| AsffResourceDetails {
                        aws_iam_access_key: Some(AsffIamAccessKey {
                            access_key_id: o(k.access_key_id()),
                            principal_id: o(k.principal_id()),
                            principal_name: o(k.principal_name()),
                            #[allow(deprecated)]
                            user_name: o(k.user_name()),
                        }),
                    }),
            })
            .collect(),
        compliance: f.compliance().map(|c| AsffCompliance {
            status: c.status().map(|x| x.as_str().to_string()),
            security_control_id: o(c.security_control_id()),
            related_requirements: c.related_requirements().to_vec(),
        }),
        workflow: f.workflow().map(|w| AsffWorkflow {
            status: w.status().map(|x| x.as_str().to_string()),
        }),
        record_state: f.record_state().map(|x| x.as_str().to_string()),
        network: f.network().map(|n| AsffNetwork {
            direction: n.direction().map(|d| d.as_str().to_string()),
            source_ip_v4: o(n.source_ipv4()),
            destination_ip_v4: o(n.destination_ipv4()),
            destination_domain: o(n.destination_domain()),
        }),
        action: f.action().map(|a| AsffAction {
            action_type: o(a.action_type()),
            aws_api_call_action: a.aws_api_call_action().map(|c| AsffApiCall {
                api: o(c.api()),
                service_name: o(c.service_name()),
                remote_ip_details: c.remote_ip_details().map(|r| AsffRemoteIp {
                    ip_address_v4: o(r.ip_address_v4()),
                }),
            }),
            network_connection_action: a.network_connection_action().map(|c| AsffNetworkConnection {
                remote_ip_details: c.remote_ip_details().map(|r| AsffRemoteIp {
                    ip_address_v4: o(r.ip_address_v4()),
                }),
            }),
            dns_request_action: a.dns_request_action().map(|d| AsffDnsRequest { domain: o(d.domain()) }),
        }),
        vulnerabilities: f
            .vulnerabilities()
            .iter()
            .map(|v| AsffVulnerability { id: s(v.id()) })
            .collect(),
    }
}
