//! AWS Config in a region: recorders with their status, delivery channels,
//! rules with their compliance, conformance packs with theirs.

use super::{call, collected};
use aws_sdk_config::Client;
use posture_core::posture::inventory::{Collected, ConfigRecorder, ConfigRegion, ConfigRule, ConformancePack, Gap};
use std::collections::BTreeMap;

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
    // Rules and packs fail on their own: the recorder verdicts stand without them.
    let (rules, conformance_packs) = tokio::join!(rules(client), conformance_packs(client));
    Ok(ConfigRegion {
        recorders,
        delivery_channels: u32::try_from(channels.delivery_channels().len()).unwrap_or(u32::MAX),
        rules: collected(rules),
        conformance_packs: collected(conformance_packs),
    })
}

async fn rules(client: &Client) -> Result<Vec<ConfigRule>, Gap> {
    let mut rules = Vec::new();
    let mut token = None;
    loop {
        let page = call!(
            "config:DescribeConfigRules",
            client.describe_config_rules().set_next_token(token.take()).send()
        );
        rules.extend(page.config_rules().iter().map(|r| ConfigRule {
            name: r.config_rule_name().unwrap_or_default().to_string(),
            source_identifier: r.source().and_then(|s| s.source_identifier()).map(str::to_string),
            compliance: None,
        }));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut compliance = BTreeMap::new();
    let mut token = None;
    loop {
        let page = call!(
            "config:DescribeComplianceByConfigRule",
            client
                .describe_compliance_by_config_rule()
                .set_next_token(token.take())
                .send()
        );
        for c in page.compliance_by_config_rules() {
            if let (Some(name), Some(kind)) = (c.config_rule_name(), c.compliance().and_then(|c| c.compliance_type())) {
                compliance.insert(name.to_string(), kind.as_str().to_string());
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    for rule in &mut rules {
        rule.compliance = compliance.remove(&rule.name);
    }
    Ok(rules)
}

/// `GetConformancePackComplianceSummary` takes at most this many names.
const PACK_SUMMARY_BATCH: usize = 5;

async fn conformance_packs(client: &Client) -> Result<Vec<ConformancePack>, Gap> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = call!(
            "config:DescribeConformancePacks",
            client.describe_conformance_packs().set_next_token(token.take()).send()
        );
        names.extend(
            page.conformance_pack_details()
                .iter()
                .map(|p| p.conformance_pack_name().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut status = BTreeMap::new();
    for batch in names.chunks(PACK_SUMMARY_BATCH) {
        let summary = call!(
            "config:GetConformancePackComplianceSummary",
            client
                .get_conformance_pack_compliance_summary()
                .set_conformance_pack_names(Some(batch.to_vec()))
                .send()
        );
        for s in summary.conformance_pack_compliance_summary_list() {
            status.insert(
                s.conformance_pack_name().to_string(),
                s.conformance_pack_compliance_status().as_str().to_string(),
            );
        }
    }
    Ok(names
        .into_iter()
        .map(|name| ConformancePack {
            compliance: status.remove(&name),
            name,
        })
        .collect())
}
