//! KMS keys of a region with their rotation status.

use super::{call, collected};
use aws_sdk_kms::Client;
use posture_core::posture::inventory::{Collected, Gap, KmsKey};

/// Collects the KMS keys of the client's region.
pub async fn collect(client: &Client) -> Collected<Vec<KmsKey>> {
    collected(collect_inner(client).await)
}

async fn collect_inner(client: &Client) -> Result<Vec<KmsKey>, Gap> {
    let mut keys = Vec::new();
    let mut marker = None;
    loop {
        let page = call!("kms:ListKeys", client.list_keys().set_marker(marker.take()).send());
        for k in page.keys() {
            let Some(id) = k.key_id() else { continue };
            let described = call!("kms:DescribeKey", client.describe_key().key_id(id).send());
            let Some(meta) = described.key_metadata() else { continue };
            let manager = meta.key_manager().map(|m| m.as_str().to_string()).unwrap_or_default();
            let spec = meta.key_spec().map(|s| s.as_str().to_string()).unwrap_or_default();
            let state = meta.key_state().map(|s| s.as_str().to_string()).unwrap_or_default();
            // Rotation applies to enabled customer-managed symmetric keys only.
            let rotation_enabled = if manager == "CUSTOMER" && spec == "SYMMETRIC_DEFAULT" && state == "Enabled" {
                Some(
                    call!(
                        "kms:GetKeyRotationStatus",
                        client.get_key_rotation_status().key_id(id).send()
                    )
                    .key_rotation_enabled(),
                )
            } else {
                None
            };
            keys.push(KmsKey {
                id: id.to_string(),
                arn: meta.arn().unwrap_or_default().to_string(),
                manager,
                key_spec: spec,
                state,
                rotation_enabled,
            });
        }
        marker = page.next_marker().map(str::to_string).filter(|_| page.truncated());
        if marker.is_none() {
            return Ok(keys);
        }
    }
}
