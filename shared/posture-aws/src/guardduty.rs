//! GuardDuty findings: `ListDetectors`, then per detector `ListFindings`
//! (archived excluded, severity and update time filtered server-side) and
//! `GetFindings` in batches of 50, mapped into the GuardDuty structs of
//! `posture-core` and normalized there. The predicates are applied again to
//! what comes back.

use crate::errors::classify;
use crate::transport::ThrottleCount;
use aws_sdk_guardduty::Client;
use aws_sdk_guardduty::types::{Condition, Finding, FindingCriteria, OrderBy, SortCriteria};
use posture_core::findings::guardduty::{
    GdAccessKeyDetails, GdAction, GdActor, GdApiCall, GdDetection, GdDnsRequest, GdEndpoint, GdFinding, GdIndicator,
    GdInstanceDetails, GdInstanceProfile, GdLambda, GdNamed, GdNetworkConnection, GdPortProbe, GdRds, GdRemoteHolder,
    GdRemoteIp, GdResource, GdS3Bucket, GdSequence, GdSequenceResource, GdService, GdSession, GdSignal, GdUser,
};
use posture_core::sources::{FindingQuery, PagedRead, Reading, SourceError, SourceErrorKind};

/// Largest batch `GetFindings` accepts.
pub const GET_BATCH: usize = 50;
/// Largest page `ListFindings` returns.
pub const LIST_PAGE: i32 = 50;

/// GuardDuty as a finding source (within the quota table's rate when the
/// client's configuration went through `transport::for_account`).
pub struct GuardDutySource {
    client: Client,
}

impl GuardDutySource {
    /// A source over `client`.
    pub fn new(client: Client) -> GuardDutySource {
        GuardDutySource { client }
    }

    /// The detector ids in the client's region.
    pub async fn detectors(&self) -> Result<Vec<String>, SourceError> {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_detectors()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify("GuardDuty", &e))?;
            ids.extend(page.detector_ids().iter().cloned());
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                return Ok(ids);
            }
        }
    }
}

/// The `FindingCriteria` sent with `ListFindings`.
pub fn criteria(query: &FindingQuery) -> FindingCriteria {
    let accounts = &query.filter.account_ids;
    let by_account = (!accounts.is_empty()).then(|| Condition::builder().set_equals(Some(accounts.clone())).build());
    let builder = match by_account {
        Some(condition) => FindingCriteria::builder().criterion("accountId", condition),
        None => FindingCriteria::builder(),
    };
    builder
        .criterion("service.archived", Condition::builder().equals("false").build())
        .criterion(
            "severity",
            Condition::builder()
                .greater_than_or_equal(query.min_severity.guardduty_floor() as i64)
                .build(),
        )
        .criterion(
            "updatedAt",
            Condition::builder()
                .greater_than_or_equal(query.window.start.as_millisecond())
                .build(),
        )
        .build()
}

crate::paged_finding_source!(GuardDutySource, "GuardDuty");

impl GuardDutySource {
    /// Reads every detector's findings until the query has what it asks for.
    async fn read(&self, query: &FindingQuery, mut reading: Reading) -> Result<PagedRead, SourceError> {
        let detectors = self.detectors().await?;
        if detectors.is_empty() {
            return Err(SourceError {
                kind: SourceErrorKind::NotEnabled,
                service: "GuardDuty".into(),
                message: "GuardDuty is not enabled in this region (no detector)".into(),
            });
        }
        let mut unread_pages = false;
        let throttles = ThrottleCount::default();
        for detector in &detectors {
            let mut token: Option<String> = None;
            loop {
                if reading.has_enough(query) {
                    unread_pages = true;
                    break;
                }
                let page = self
                    .client
                    .list_findings()
                    .detector_id(detector)
                    .finding_criteria(criteria(query))
                    .sort_criteria(
                        SortCriteria::builder()
                            .attribute_name("updatedAt")
                            .order_by(OrderBy::Desc)
                            .build(),
                    )
                    .max_results(LIST_PAGE)
                    .set_next_token(token.take())
                    .customize()
                    .interceptor(throttles.clone())
                    .send()
                    .await
                    .map_err(|e| classify("GuardDuty", &e))?;
                for chunk in page.finding_ids().chunks(GET_BATCH) {
                    let got = self
                        .client
                        .get_findings()
                        .detector_id(detector)
                        .set_finding_ids(Some(chunk.to_vec()))
                        .customize()
                        .interceptor(throttles.clone())
                        .send()
                        .await
                        .map_err(|e| classify("GuardDuty", &e))?;
                    for f in got.findings() {
                        reading.push(to_gd(f).normalize(), query);
                    }
                }
                token = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
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

fn o(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

fn ip(r: Option<&aws_sdk_guardduty::types::RemoteIpDetails>) -> Option<GdRemoteIp> {
    r.map(|r| GdRemoteIp {
        ip_address_v4: o(r.ip_address_v4()),
        ip_address_v6: o(r.ip_address_v6()),
    })
}

/// Maps an SDK finding into the GuardDuty struct of `posture-core`.
pub fn to_gd(f: &Finding) -> GdFinding {
    let s = |v: Option<&str>| v.unwrap_or_default().to_string();
    let resource = f.resource().map(|r| GdResource {
        resource_type: s(r.resource_type()),
        access_key_details: r.access_key_details().map(|k| GdAccessKeyDetails {
            access_key_id: o(k.access_key_id()),
            principal_id: o(k.principal_id()),
            user_name: o(k.user_name()),
            user_type: o(k.user_type()),
        }),
        instance_details: r.instance_details().map(|i| GdInstanceDetails {
            instance_id: o(i.instance_id()),
            iam_instance_profile: i.iam_instance_profile().map(|p| GdInstanceProfile {
                arn: o(p.arn()),
                id: o(p.id()),
            }),
        }),
        s3_bucket_details: r
            .s3_bucket_details()
            .iter()
            .map(|b| GdS3Bucket {
                arn: o(b.arn()),
                name: o(b.name()),
            })
            .collect(),
        eks_cluster_details: r.eks_cluster_details().map(|e| GdNamed {
            name: o(e.name()),
            arn: o(e.arn()),
        }),
        lambda_details: r.lambda_details().map(|l| GdLambda {
            function_name: o(l.function_name()),
            function_arn: o(l.function_arn()),
        }),
        rds_db_instance_details: r.rds_db_instance_details().map(|d| GdRds {
            db_instance_identifier: o(d.db_instance_identifier()),
            db_instance_arn: o(d.db_instance_arn()),
        }),
    });
    let service = f.service().map(|sv| GdService {
        action: sv.action().map(|a| GdAction {
            action_type: o(a.action_type()),
            aws_api_call_action: a.aws_api_call_action().map(|c| GdApiCall {
                api: o(c.api()),
                service_name: o(c.service_name()),
                caller_type: o(c.caller_type()),
                remote_ip_details: ip(c.remote_ip_details()),
            }),
            network_connection_action: a.network_connection_action().map(|c| GdNetworkConnection {
                connection_direction: o(c.connection_direction()),
                remote_ip_details: ip(c.remote_ip_details()),
            }),
            dns_request_action: a.dns_request_action().map(|d| GdDnsRequest { domain: o(d.domain()) }),
            port_probe_action: a.port_probe_action().map(|p| GdPortProbe {
                port_probe_details: p
                    .port_probe_details()
                    .iter()
                    .map(|d| GdRemoteHolder {
                        remote_ip_details: ip(d.remote_ip_details()),
                    })
                    .collect(),
            }),
            kubernetes_api_call_action: a.kubernetes_api_call_action().map(|k| GdRemoteHolder {
                remote_ip_details: ip(k.remote_ip_details()),
            }),
        }),
        archived: sv.archived().unwrap_or(false),
        count: sv.count().map(i64::from),
        detector_id: o(sv.detector_id()),
        event_first_seen: o(sv.event_first_seen()),
        event_last_seen: o(sv.event_last_seen()),
        resource_role: o(sv.resource_role()),
        detection: sv.detection().map(|d| GdDetection {
            sequence: d.sequence().map(|q| GdSequence {
                uid: o(q.uid()),
                title: None,
                description: o(q.description()),
                actors: q
                    .actors()
                    .iter()
                    .map(|a| GdActor {
                        id: o(a.id()),
                        user: a.user().map(|u| GdUser {
                            name: o(u.name()),
                            uid: o(u.uid()),
                            credential_uid: o(u.credential_uid()),
                        }),
                        session: a.session().map(|x| GdSession { uid: o(x.uid()) }),
                    })
                    .collect(),
                resources: q
                    .resources()
                    .iter()
                    .map(|r| GdSequenceResource {
                        uid: o(r.uid()),
                        name: o(r.name()),
                        resource_type: r.resource_type().map(|t| t.as_str().to_string()),
                    })
                    .collect(),
                endpoints: q
                    .endpoints()
                    .iter()
                    .map(|e| GdEndpoint {
                        id: o(e.id()),
                        ip: o(e.ip()),
                        domain: o(e.domain()),
                    })
                    .collect(),
                signals: q
                    .signals()
                    .iter()
                    .map(|x| GdSignal {
                        uid: o(x.uid()),
                        signal_type: x.r#type().map(|t| t.as_str().to_string()),
                        name: o(x.name()),
                    })
                    .collect(),
                sequence_indicators: q
                    .sequence_indicators()
                    .iter()
                    .map(|i| GdIndicator {
                        key: i.key().map(|k| k.as_str().to_string()),
                        values: i.values().to_vec(),
                        title: o(i.title()),
                    })
                    .collect(),
            }),
        }),
    });
    GdFinding {
        account_id: s(f.account_id()),
        arn: s(f.arn()),
        confidence: f.confidence(),
        created_at: s(f.created_at()),
        description: s(f.description()),
        id: s(f.id()),
        partition: o(f.partition()),
        region: s(f.region()),
        resource: resource.unwrap_or_default(),
        schema_version: o(f.schema_version()),
        service: service.unwrap_or_default(),
        severity: f.severity().unwrap_or_default(),
        title: s(f.title()),
        finding_type: s(f.r#type()),
        updated_at: s(f.updated_at()),
    }
}
