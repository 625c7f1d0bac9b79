//! AWS Config's recorded history of one resource, for investigations
//! (`GetResourceConfigHistory`): the item recorded last before the window
//! (what the resource looked like when it opened), then the window read
//! forward in 7-day pieces, pages of 100, within a budget. Types Config
//! keys by an id an ARN does not carry (IAM, RDS) are looked up by name
//! first (`ListDiscoveredResources`).

use crate::errors::classify;
use crate::transport::RawBody;
use aws_config::SdkConfig;
use aws_sdk_config::types::{ChronologicalOrder, ResourceType};
use aws_smithy_types::DateTime;
use jiff::Timestamp;
use posture_core::config_history::{ConfigHistory, ConfigItem, ConfigItemPage, ConfigResource, windows};
use posture_core::sources::{SourceError, SourceErrorKind};

/// The source's name in errors.
pub const SERVICE: &str = "Config";
/// `GetResourceConfigHistory`'s largest page.
pub const PAGE_SIZE: i32 = 100;

fn at(t: Timestamp) -> DateTime {
    DateTime::from_millis(t.as_millisecond())
}

/// Reads the history of `resource` in `region` of the account `sdk` is
/// for, over `window`, at most `max_items` items inside it.
pub async fn read(
    sdk: &SdkConfig,
    region: &str,
    resource: &ConfigResource,
    window: (Timestamp, Timestamp),
    max_items: usize,
) -> Result<ConfigHistory, SourceError> {
    let regional = sdk
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build();
    let client = crate::guarded_client!(aws_sdk_config, &regional, crate::iam::READ_ONLY);
    let resource_type = ResourceType::from(resource.resource_type.as_str());
    let id = match &resource.resource_id {
        Some(id) => id.clone(),
        None => {
            let found = client
                .list_discovered_resources()
                .resource_type(resource_type.clone())
                .resource_name(&resource.resource_name)
                .include_deleted_resources(true)
                .send()
                .await
                .map_err(|e| classify(SERVICE, &e))?;
            found
                .resource_identifiers()
                .iter()
                .find_map(|r| r.resource_id())
                .map(str::to_string)
                .ok_or_else(|| SourceError {
                    kind: SourceErrorKind::Other,
                    service: SERVICE.to_string(),
                    message: format!(
                        "AWS Config has recorded no {} named {} in {region}",
                        resource.resource_type, resource.resource_name
                    ),
                })?
        }
    };
    let page = |earlier: Option<Timestamp>, later: Timestamp, order: ChronologicalOrder, limit: i32, token| {
        let raw = RawBody::default();
        let request = client
            .get_resource_config_history()
            .resource_type(resource_type.clone())
            .resource_id(&id)
            .set_earlier_time(earlier.map(at))
            .later_time(at(later))
            .chronological_order(order)
            .limit(limit)
            .set_next_token(token)
            .customize()
            .interceptor(raw.clone());
        async move {
            request.send().await.map_err(|e| classify(SERVICE, &e))?;
            raw.parse::<ConfigItemPage>(SERVICE, "GetResourceConfigHistory")
        }
    };
    let (start, end) = window;
    // Newest first by default: the first item at or before the start.
    let baseline: Option<ConfigItem> = page(None, start, ChronologicalOrder::Reverse, 1, None)
        .await?
        .configuration_items
        .into_iter()
        .next();
    let mut items: Vec<ConfigItem> = Vec::new();
    let mut truncated = false;
    'windows: for (from, to) in windows(start, end) {
        let mut token: Option<String> = None;
        loop {
            let read = page(Some(from), to, ChronologicalOrder::Forward, PAGE_SIZE, token.take()).await?;
            for item in read.configuration_items {
                // Both ends are inclusive: an item on a boundary comes twice.
                let seen = items
                    .iter()
                    .chain(baseline.as_ref())
                    .any(|i| i.configuration_state_id == item.configuration_state_id);
                if seen {
                    continue;
                }
                if items.len() == max_items {
                    truncated = true;
                    break 'windows;
                }
                items.push(item);
            }
            token = read.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
    }
    Ok(ConfigHistory::read(baseline, items, truncated))
}
