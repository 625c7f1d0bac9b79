//! CloudTrail event history through `LookupEvents`, for investigations:
//! every Region asked for plus us-east-1 (where IAM, STS, Organizations
//! and the other global services log), read at once, each Region paged
//! until the window or its budget ends, then merged into one timeline.
//!
//! LookupEvents allows 2 requests per second per account and Region: the
//! quota bucket of `ratelimit::QUOTAS` (family `cloudtrail:LookupEvents`)
//! holds every request of a client built on `transport::for_account`.
//! A Region that fails keeps what it read and says why; the others stand.
//! CloudTrail Lake is not used (closed to new customers in 2026).

use crate::collect::cloudtrail::client;
use aws_config::SdkConfig;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use posture_core::config_history::{ConfigHistory, ConfigResource};
use posture_core::events::{EventFilter, EventQuery, GLOBAL_EVENTS_REGION, RegionRead, Timeline, TrailEvent};
use posture_core::sources::{SourceError, SourceErrorKind};

/// LookupEvents' largest page.
const PAGE_SIZE: i32 = 50;

/// Reads `query` in `regions` (and us-east-1) of the account `sdk` is for.
pub async fn read(sdk: &SdkConfig, regions: &[String], query: &EventQuery) -> Timeline {
    let mut all: Vec<String> = regions.to_vec();
    if !all.iter().any(|r| r == GLOBAL_EVENTS_REGION) {
        all.push(GLOBAL_EVENTS_REGION.to_string());
    }
    let reads = futures::future::join_all(all.into_iter().map(|region| read_region(sdk, region, query))).await;
    Timeline::merge(reads)
}

fn attribute(filter: &EventFilter) -> Option<LookupAttribute> {
    let (key, value) = match filter {
        EventFilter::Username(v) => (LookupAttributeKey::Username, v),
        EventFilter::AccessKeyId(v) => (LookupAttributeKey::AccessKeyId, v),
        EventFilter::ResourceName(v) => (LookupAttributeKey::ResourceName, v),
        EventFilter::EventName(v) => (LookupAttributeKey::EventName, v),
        EventFilter::EventId(v) => (LookupAttributeKey::EventId, v),
    };
    LookupAttribute::builder()
        .attribute_key(key)
        .attribute_value(value)
        .build()
        .ok()
}

fn timestamp(t: jiff::Timestamp) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_millis(t.as_millisecond())
}

async fn read_region(sdk: &SdkConfig, region: String, query: &EventQuery) -> (String, Vec<TrailEvent>, RegionRead) {
    let client = client(sdk, &region);
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .lookup_events()
            .start_time(timestamp(query.start))
            .end_time(timestamp(query.end))
            .max_results(PAGE_SIZE)
            .set_lookup_attributes(query.filter.as_ref().and_then(attribute).map(|a| vec![a]))
            .set_next_token(token.take())
            .send()
            .await;
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                let error = crate::errors::classify("CloudTrail", &e);
                let read = RegionRead::Failed {
                    events: events.len(),
                    error,
                };
                return (region, events, read);
            }
        };
        for e in page.events() {
            let resources = e
                .resources()
                .iter()
                .filter_map(|r| r.resource_name().map(str::to_string))
                .collect();
            let record = e.cloud_trail_event().unwrap_or_default();
            match TrailEvent::from_record(record, resources) {
                Ok(event) => events.push(event),
                Err(why) => {
                    let error = SourceError {
                        kind: SourceErrorKind::Other,
                        service: "CloudTrail".into(),
                        message: format!("an event record could not be read: {why}"),
                    };
                    let read = RegionRead::Failed {
                        events: events.len(),
                        error,
                    };
                    return (region, events, read);
                }
            }
        }
        token = page.next_token().map(str::to_string);
        match token {
            None => {
                let read = RegionRead::Complete { events: events.len() };
                return (region, events, read);
            }
            Some(next) if events.len() >= query.max_events_per_region => {
                let read = RegionRead::Truncated {
                    events: events.len(),
                    next_token: next,
                };
                return (region, events, read);
            }
            Some(_) => {}
        }
    }
}

/// The event history of the organization's accounts: the server's own
/// account with its own credentials, a member through its role (as the
/// collector enters it, session `investigate`).
pub struct OrgEventHistory {
    /// The server's configuration.
    pub base: SdkConfig,
    /// How to enter members.
    pub roles: crate::collector::RoleSettings,
    /// The server's own account, asked of STS once.
    pub own_account: tokio::sync::OnceCell<String>,
}

/// Session name of investigations (CloudTrail shows `posture-investigate`).
const INVESTIGATE_SESSION: &str = "investigate";

impl OrgEventHistory {
    async fn own_account(&self) -> Result<&str, SourceError> {
        self.own_account
            .get_or_try_init(|| crate::collect::caller_account(&self.base))
            .await
            .map(String::as_str)
    }

    /// The configuration to read `account_id` with: the server's own, or
    /// the member's role entered; a refusal is `service`'s error.
    async fn account_sdk(&self, account_id: &str, service: &str) -> Result<SdkConfig, SourceError> {
        if self.own_account().await? == account_id {
            return Ok(self.base.clone());
        }
        crate::collector::enter_account(&self.base, &self.roles, INVESTIGATE_SESSION, account_id)
            .await
            .map_err(|e| {
                let kind = match e {
                    posture_core::ports::CollectError::Unreachable(_) => SourceErrorKind::Authentication,
                    _ => SourceErrorKind::Other,
                };
                SourceError {
                    kind,
                    service: service.into(),
                    message: e.to_string(),
                }
            })
    }
}

#[async_trait::async_trait]
impl posture_core::ports::EventHistory for OrgEventHistory {
    async fn lookup(&self, account_id: &str, regions: &[String], query: &EventQuery) -> Result<Timeline, SourceError> {
        let sdk = self.account_sdk(account_id, "CloudTrail").await?;
        Ok(read(&sdk, regions, query).await)
    }

    async fn config_history(
        &self,
        account_id: &str,
        region: &str,
        resource: &ConfigResource,
        window: (jiff::Timestamp, jiff::Timestamp),
        max_items: usize,
    ) -> Result<ConfigHistory, SourceError> {
        let sdk = self.account_sdk(account_id, crate::config_history::SERVICE).await?;
        crate::config_history::read(&sdk, region, resource, window, max_items).await
    }
}
