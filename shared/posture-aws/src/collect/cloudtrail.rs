//! CloudTrail: every trail visible from the collected regions (shadow copies
//! of multi-region and organization trails included, de-duplicated by ARN),
//! with its logging status, what its event selectors record and the
//! CloudWatch Logs group it delivers to. A failing region or trail keeps its
//! own gap; the rest is read.

use super::gap;
use aws_config::SdkConfig;
use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::types::{AdvancedEventSelector, EventSelector, ReadWriteType};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use posture_core::posture::inventory::{Collected, Gap, Trail};
use std::collections::BTreeMap;

/// Collects the trails seen from `regions`. A region whose listing fails
/// is a regional gap (second value) and the others are still read; the
/// section is a gap only when no region could be listed. A trail whose
/// status or selectors cannot be read keeps that gap on itself.
pub async fn collect(sdk: &SdkConfig, regions: &[String]) -> (Collected<Vec<Trail>>, BTreeMap<String, Gap>) {
    let mut seen = BTreeMap::new();
    let mut region_gaps = BTreeMap::new();
    for region in regions {
        match client(sdk, region)
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
        {
            Ok(listed) => {
                for t in listed.trail_list() {
                    let Some(arn) = t.trail_arn() else { continue };
                    seen.entry(arn.to_string()).or_insert_with(|| t.clone());
                }
            }
            Err(e) => {
                let action = "cloudtrail:DescribeTrails";
                region_gaps.insert(region.clone(), gap(action, crate::errors::classify(action, &e)));
            }
        }
    }
    if !regions.is_empty() && region_gaps.len() == regions.len() {
        // Nothing was listed anywhere: the section is unread, not empty.
        let first = region_gaps.values().next().cloned().unwrap_or_else(Gap::not_collected);
        return (Collected::Gap(first), region_gaps);
    }
    let fallback = regions.first().map_or("us-east-1", String::as_str);
    let mut trails = Vec::with_capacity(seen.len());
    for (arn, t) in seen {
        trails.push(describe(sdk, fallback, arn, &t).await);
    }
    (Collected::Collected(trails), region_gaps)
}

/// One trail with its status and selectors, read in its home region.
async fn describe(sdk: &SdkConfig, fallback: &str, arn: String, t: &aws_sdk_cloudtrail::types::Trail) -> Trail {
    let home_region = t.home_region().unwrap_or_default().to_string();
    let home = client(sdk, if home_region.is_empty() { fallback } else { &home_region });
    let mut trail = Trail {
        name: t.name().unwrap_or_default().to_string(),
        arn,
        home_region,
        is_multi_region: t.is_multi_region_trail().unwrap_or(false),
        is_organization_trail: t.is_organization_trail().unwrap_or(false),
        log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
        kms_key_id: t.kms_key_id().map(str::to_string),
        s3_bucket_name: t.s3_bucket_name().map(str::to_string),
        cloud_watch_logs_log_group_arn: t.cloud_watch_logs_log_group_arn().map(str::to_string),
        ..Trail::default()
    };
    match home.get_trail_status().name(&trail.arn).send().await {
        Ok(status) => trail.is_logging = status.is_logging().unwrap_or(false),
        Err(e) => {
            let action = "cloudtrail:GetTrailStatus";
            trail
                .gaps
                .insert("status".into(), gap(action, crate::errors::classify(action, &e)));
        }
    }
    match home.get_event_selectors().trail_name(&trail.arn).send().await {
        Ok(selectors) => {
            let recorded = Recorded::of(selectors.event_selectors(), selectors.advanced_event_selectors());
            trail.management_events = recorded.management.map(|k| k.name().to_string());
            trail.s3_data_events = recorded.s3_data_all_buckets.map(|k| k.name().to_string());
        }
        Err(e) => {
            let action = "cloudtrail:GetEventSelectors";
            trail
                .gaps
                .insert("selectors".into(), gap(action, crate::errors::classify(action, &e)));
        }
    }
    trail
}

/// A read-only CloudTrail client for `region` (the guard and botocore's
/// target form), shared with `trail_events`.
pub(crate) fn client(sdk: &SdkConfig, region: &str) -> Client {
    Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(sdk)
            .region(aws_sdk_cloudtrail::config::Region::new(region.to_string()))
            .interceptor(crate::iam::READ_ONLY)
            .interceptor(BotocoreTarget)
            .build(),
    )
}

/// The full target prefix of CloudTrail's JSON protocol, as botocore (and
/// so the AWS CLI) sends it.
const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.";

/// Sends CloudTrail's `X-Amz-Target` in botocore's form
/// (`com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.DescribeTrails`)
/// rather than the SDK's short one (`CloudTrail_20131101.DescribeTrails`).
/// AWS accepts both; moto from 5.2.6 routes only the long one (it answers
/// the short one 404 with an empty body, and the section became a gap).
/// Public so tests can set up trails with a plain client against moto.
#[derive(Debug)]
pub struct BotocoreTarget;

impl Intercept for BotocoreTarget {
    fn name(&self) -> &'static str {
        "BotocoreTarget"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context.request_mut().headers_mut();
        if let Some(short) = headers
            .get("x-amz-target")
            .filter(|t| t.starts_with("CloudTrail_20131101."))
            .map(str::to_string)
        {
            headers.insert("x-amz-target", format!("{TARGET_PREFIX}{short}"));
        }
        Ok(())
    }
}

/// Which half of the API calls a selector records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    All,
    ReadOnly,
    WriteOnly,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::All => "All",
            Kind::ReadOnly => "ReadOnly",
            Kind::WriteOnly => "WriteOnly",
        }
    }

    /// Two selectors together.
    fn and(a: Option<Kind>, b: Kind) -> Kind {
        match a {
            None => b,
            Some(a) if a == b => a,
            Some(_) => Kind::All,
        }
    }
}

/// What a trail's selectors record: management events, and S3 object-level
/// events for all buckets (selectors naming some buckets do not count).
#[derive(Debug, Default, PartialEq, Eq)]
struct Recorded {
    management: Option<Kind>,
    s3_data_all_buckets: Option<Kind>,
}

/// The ARN values that mean "every bucket" in a basic data resource.
const ALL_BUCKETS: &[&str] = &["arn:aws:s3", "arn:aws:s3:::"];

impl Recorded {
    fn of(basic: &[EventSelector], advanced: &[AdvancedEventSelector]) -> Recorded {
        let mut r = Recorded::default();
        for s in basic {
            let kind = match s.read_write_type() {
                Some(ReadWriteType::ReadOnly) => Kind::ReadOnly,
                Some(ReadWriteType::WriteOnly) => Kind::WriteOnly,
                _ => Kind::All,
            };
            // IncludeManagementEvents defaults to true.
            if s.include_management_events().unwrap_or(true) {
                r.management = Some(Kind::and(r.management, kind));
            }
            let all_buckets = s.data_resources().iter().any(|d| {
                d.r#type() == Some("AWS::S3::Object") && d.values().iter().any(|v| ALL_BUCKETS.contains(&v.as_str()))
            });
            if all_buckets {
                r.s3_data_all_buckets = Some(Kind::and(r.s3_data_all_buckets, kind));
            }
        }
        for s in advanced {
            let equals = |field: &str| {
                s.field_selectors()
                    .iter()
                    .find(|f| f.field() == field)
                    .map(|f| f.equals().to_vec())
            };
            let kind = match equals("readOnly").as_deref() {
                Some([v]) if v == "true" => Kind::ReadOnly,
                Some([v]) if v == "false" => Kind::WriteOnly,
                _ => Kind::All,
            };
            let category = equals("eventCategory").unwrap_or_default();
            if category.iter().any(|c| c == "Management") {
                r.management = Some(Kind::and(r.management, kind));
            }
            let s3_objects = equals("resources.type").is_some_and(|t| t.iter().any(|t| t == "AWS::S3::Object"));
            // Any condition on resources.ARN narrows the selector to some buckets.
            let narrowed = s.field_selectors().iter().any(|f| f.field() == "resources.ARN");
            if category.iter().any(|c| c == "Data") && s3_objects && !narrowed {
                r.s3_data_all_buckets = Some(Kind::and(r.s3_data_all_buckets, kind));
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, Recorded};
    use aws_sdk_cloudtrail::types::{
        AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, ReadWriteType,
    };

    fn field(name: &str, equals: &[&str]) -> AdvancedFieldSelector {
        let mut f = AdvancedFieldSelector::builder().field(name);
        for e in equals {
            f = f.equals(*e);
        }
        f.build().unwrap()
    }

    #[test]
    fn basic_selectors_for_all_buckets_count_and_named_buckets_do_not() {
        let all = EventSelector::builder()
            .read_write_type(ReadWriteType::WriteOnly)
            .data_resources(
                DataResource::builder()
                    .r#type("AWS::S3::Object")
                    .values("arn:aws:s3")
                    .build(),
            )
            .build();
        let one_bucket = EventSelector::builder()
            .read_write_type(ReadWriteType::ReadOnly)
            .include_management_events(false)
            .data_resources(
                DataResource::builder()
                    .r#type("AWS::S3::Object")
                    .values("arn:aws:s3:::logs/")
                    .build(),
            )
            .build();
        let r = Recorded::of(&[all, one_bucket], &[]);
        assert_eq!(r.management, Some(Kind::WriteOnly));
        assert_eq!(r.s3_data_all_buckets, Some(Kind::WriteOnly));
    }

    #[test]
    fn advanced_selectors_read_category_type_and_read_only() {
        let management = AdvancedEventSelector::builder()
            .field_selectors(field("eventCategory", &["Management"]))
            .build()
            .unwrap();
        let reads = AdvancedEventSelector::builder()
            .field_selectors(field("eventCategory", &["Data"]))
            .field_selectors(field("resources.type", &["AWS::S3::Object"]))
            .field_selectors(field("readOnly", &["true"]))
            .build()
            .unwrap();
        let writes = AdvancedEventSelector::builder()
            .field_selectors(field("eventCategory", &["Data"]))
            .field_selectors(field("resources.type", &["AWS::S3::Object"]))
            .field_selectors(field("readOnly", &["false"]))
            .build()
            .unwrap();
        let r = Recorded::of(&[], &[management.clone(), reads.clone()]);
        assert_eq!(r.management, Some(Kind::All));
        assert_eq!(r.s3_data_all_buckets, Some(Kind::ReadOnly));
        let r = Recorded::of(&[], &[management, reads, writes]);
        assert_eq!(r.s3_data_all_buckets, Some(Kind::All));
    }
}
