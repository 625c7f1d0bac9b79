//! AWS Config recorders, their status, and delivery channels in a region.

use super::{call, collected};
use aws_sdk_config::Client;
use posture_core::inventory::{Collected, ConfigRecorder, ConfigRegion, Gap};

/// Collects the AWS Config settings of the client's region.
pub async fn collect(client: &Client) -> Collected<ConfigRegion> {
    collected(collect_inner(client).await)
}

async fn collect_inner(client: &Client) -> Result<ConfigRegion, Gap> {
    let recorders = call!(
        "config:DescribeConfigurationRecorders",
        client.describe_configuration_recorders().send()
    );
    let statuses = call!(
        "config:DescribeConfigurationRecorderStatus",
        client.describe_configuration_recorder_status().send()
    );
    let channels = call!(
        "config:DescribeDeliveryChannels",
        client.describe_delivery_channels().send()
    );
    let recorders = recorders
        .configuration_recorders()
        .iter()
        .map(|r| {
            let name = r.name().unwrap_or_default().to_string();
            let status = statuses
                .configuration_recorders_status()
                .iter()
                .find(|s| s.name() == Some(name.as_str()));
            let group = r.recording_group();
            ConfigRecorder {
                all_supported: group.is_some_and(|g| g.all_supported()),
                include_global_resource_types: group.is_some_and(|g| g.include_global_resource_types()),
                recording: status.is_some_and(|s| s.recording()),
                last_status: status.and_then(|s| s.last_status()).map(|s| s.as_str().to_string()),
                name,
            }
        })
        .collect();
    Ok(ConfigRegion {
        recorders,
        delivery_channels: u32::try_from(channels.delivery_channels().len()).unwrap_or(u32::MAX),
    })
}
