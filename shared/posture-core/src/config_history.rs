//! AWS Config's recorded history of one resource, as an investigation reads
//! it (`GetResourceConfigHistory`, awsJson 1.1): the resource named by an
//! ARN or id mapped to Config's type and id, the window cut into 7-day
//! pieces, and each recorded configuration item turned into a change that
//! says which parts of the configuration differ from the item before.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Length of each `GetResourceConfigHistory` request's time range.
pub const WINDOW_DAYS: i64 = 7;

/// A resource as AWS Config knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConfigResource {
    /// Config's resource type, e.g. `AWS::S3::Bucket`.
    pub resource_type: String,
    /// Config's resource id when the ARN or id gives it (`None` for types
    /// Config keys by an id the ARN does not carry: IAM, RDS; looked up by
    /// name with `ListDiscoveredResources`).
    pub resource_id: Option<String>,
    /// The resource's name (or id).
    pub resource_name: String,
    /// The Region the ARN names, if any.
    pub region: Option<String>,
    /// The account the ARN names, if any.
    pub account_id: Option<String>,
}

impl ConfigResource {
    /// The resource an investigation's subject names: an ARN, or an EC2-style
    /// id (`i-`, `sg-`, `vpc-`, `vol-`, `eni-`). `None` when Config's type
    /// cannot be told from it.
    pub fn from_subject(resource: &str) -> Option<ConfigResource> {
        let by_id = |resource_type: &str, id: &str, region: Option<&str>, account: Option<&str>| ConfigResource {
            resource_type: resource_type.to_string(),
            resource_id: Some(id.to_string()),
            resource_name: id.to_string(),
            region: region.filter(|r| !r.is_empty()).map(str::to_string),
            account_id: account.filter(|a| !a.is_empty()).map(str::to_string),
        };
        let by_name = |resource_type: &str, name: &str, region: Option<&str>, account: Option<&str>| ConfigResource {
            resource_id: None,
            ..by_id(resource_type, name, region, account)
        };
        let Some(rest) = resource.strip_prefix("arn:") else {
            return ec2_type(resource).map(|t| by_id(t, resource, None, None));
        };
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [_, service, region, account, path] = parts.as_slice() else {
            return None;
        };
        let (region, account) = (Some(*region), Some(*account));
        let (kind, name) = path.split_once(['/', ':']).unwrap_or((path, ""));
        let last = name.rsplit('/').next().unwrap_or(name);
        match (*service, kind) {
            ("s3", bucket) if !bucket.is_empty() && name.is_empty() => {
                Some(by_id("AWS::S3::Bucket", bucket, None, account))
            }
            ("ec2", _) => ec2_type(last).map(|t| by_id(t, last, region, account)),
            ("iam", "role") => Some(by_name("AWS::IAM::Role", last, None, account)),
            ("iam", "user") => Some(by_name("AWS::IAM::User", last, None, account)),
            ("iam", "group") => Some(by_name("AWS::IAM::Group", last, None, account)),
            ("iam", "policy") => Some(by_name("AWS::IAM::Policy", last, None, account)),
            ("lambda", "function") => Some(by_id("AWS::Lambda::Function", last, region, account)),
            ("kms", "key") => Some(by_id("AWS::KMS::Key", last, region, account)),
            ("rds", "db") => Some(by_name("AWS::RDS::DBInstance", last, region, account)),
            _ => None,
        }
    }

    /// Whether Config records it once per account rather than per Region
    /// (IAM: in the Region that records global resources).
    pub fn is_global(&self) -> bool {
        self.resource_type.starts_with("AWS::IAM::")
    }
}

/// Config's type of an EC2-style id.
fn ec2_type(id: &str) -> Option<&'static str> {
    let (prefix, rest) = id.split_once('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(match prefix {
        "i" => "AWS::EC2::Instance",
        "sg" => "AWS::EC2::SecurityGroup",
        "vpc" => "AWS::EC2::VPC",
        "vol" => "AWS::EC2::Volume",
        "eni" => "AWS::EC2::NetworkInterface",
        "subnet" => "AWS::EC2::Subnet",
        _ => return None,
    })
}

/// The 7-day pieces of `[start, end]`, oldest first.
pub fn windows(start: Timestamp, end: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut from = start;
    while from < end {
        let to = (from + SignedDuration::from_hours(24 * WINDOW_DAYS)).min(end);
        out.push((from, to));
        from = to;
    }
    out
}

/// One `GetResourceConfigHistory` page.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConfigItemPage {
    pub configuration_items: Vec<ConfigItem>,
    pub next_token: Option<String>,
}

/// One recorded configuration item (the subset the product reads).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConfigItem {
    pub account_id: String,
    pub aws_region: String,
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    #[serde(deserialize_with = "crate::time::wire_timestamp")]
    pub configuration_item_capture_time: Option<Timestamp>,
    /// `OK`, `ResourceDiscovered`, `ResourceNotRecorded`, `ResourceDeleted`,
    /// `ResourceDeletedNotRecorded`.
    pub configuration_item_status: String,
    pub configuration_state_id: String,
    /// CloudTrail event ids of the calls that caused the change.
    pub related_events: Vec<String>,
    /// The configuration, as a JSON text.
    pub configuration: Option<String>,
    /// Other configuration (an S3 bucket's policy, public access block, ...)
    /// by name, each a JSON text.
    pub supplementary_configuration: BTreeMap<String, String>,
}

/// One recorded change of the resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConfigChange {
    /// When Config captured it (RFC 3339).
    pub time: String,
    /// The account.
    pub account_id: String,
    /// The Region.
    pub region: String,
    /// Config's resource type.
    pub resource_type: String,
    /// Config's resource id.
    pub resource_id: String,
    /// The resource's name.
    pub resource_name: Option<String>,
    /// Config's item status (`OK`, `ResourceDiscovered`, `ResourceDeleted`, ...).
    pub status: String,
    /// Config's state id of this item.
    pub state_id: String,
    /// What differs from the item before: top-level configuration keys and
    /// `supplementaryConfiguration.<name>`; empty for the first item read.
    pub changed: Vec<String>,
    /// CloudTrail event ids Config ties to the change.
    pub related_events: Vec<String>,
}

impl ConfigItem {
    fn parts(&self) -> BTreeMap<String, serde_json::Value> {
        let mut parts = BTreeMap::new();
        let parsed = self
            .configuration
            .as_deref()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
        if let Some(serde_json::Value::Object(map)) = parsed {
            parts.extend(map);
        }
        for (name, text) in &self.supplementary_configuration {
            let value = serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.clone()));
            parts.insert(format!("supplementaryConfiguration.{name}"), value);
        }
        parts
    }
}

/// The changes `items` record, oldest first (items without a capture time
/// are left out: they cannot be placed on a timeline).
pub fn changes(mut items: Vec<ConfigItem>) -> Vec<ConfigChange> {
    items.retain(|i| i.configuration_item_capture_time.is_some());
    items.sort_by_key(|i| i.configuration_item_capture_time);
    let mut previous: Option<BTreeMap<String, serde_json::Value>> = None;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let parts = item.parts();
        let changed = match &previous {
            None => Vec::new(),
            Some(before) => {
                let mut keys: Vec<String> = parts
                    .iter()
                    .filter(|(k, v)| before.get(*k) != Some(*v))
                    .map(|(k, _)| k.clone())
                    .collect();
                keys.extend(before.keys().filter(|k| !parts.contains_key(*k)).cloned());
                keys.sort();
                keys
            }
        };
        previous = Some(parts);
        out.push(ConfigChange {
            time: item
                .configuration_item_capture_time
                .map(|t| t.to_string())
                .unwrap_or_default(),
            account_id: item.account_id,
            region: item.aws_region,
            resource_type: item.resource_type,
            resource_id: item.resource_id,
            resource_name: item.resource_name,
            status: item.configuration_item_status,
            state_id: item.configuration_state_id,
            changed,
            related_events: item.related_events,
        });
    }
    out
}

/// What a read of `items` (every item recorded for one resource) gives
/// for `window`: the last item before it (the baseline changes are told
/// against) and those inside it, at most `max_items` of them.
pub fn within(mut items: Vec<ConfigItem>, window: (Timestamp, Timestamp), max_items: usize) -> ConfigHistory {
    let (start, end) = window;
    items.retain(|i| i.configuration_item_capture_time.is_some_and(|t| t <= end));
    items.sort_by_key(|i| i.configuration_item_capture_time);
    let inside = items
        .iter()
        .position(|i| i.configuration_item_capture_time.is_some_and(|t| t >= start))
        .unwrap_or(items.len());
    let baseline = inside.checked_sub(1).map(|at| items[at].clone());
    let mut in_window = items.split_off(inside);
    let truncated = in_window.len() > max_items;
    in_window.truncate(max_items);
    ConfigHistory::read(baseline, in_window, truncated)
}

/// What a history read gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigHistory {
    /// The item recorded last before the window: what the resource looked
    /// like when it opened.
    pub baseline: Option<ConfigChange>,
    /// The changes inside the window, oldest first, each told against the
    /// one before (the first against the baseline).
    pub changes: Vec<ConfigChange>,
    /// True when the read stopped at its budget with items left.
    pub truncated: bool,
}

impl ConfigHistory {
    /// The history of `baseline` and the items read in the window.
    pub fn read(baseline: Option<ConfigItem>, in_window: Vec<ConfigItem>, truncated: bool) -> ConfigHistory {
        let had_baseline = baseline.is_some();
        let mut all = changes(baseline.into_iter().chain(in_window).collect());
        let baseline = if had_baseline && !all.is_empty() {
            Some(all.remove(0))
        } else {
            None
        };
        ConfigHistory {
            baseline,
            changes: all,
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_map_to_configs_types_and_ids() {
        let r = ConfigResource::from_subject("arn:aws:s3:::payments-exports").unwrap();
        assert_eq!(
            (r.resource_type.as_str(), r.resource_id.as_deref(), r.region),
            ("AWS::S3::Bucket", Some("payments-exports"), None)
        );
        let r = ConfigResource::from_subject("arn:aws:ec2:eu-west-1:345678901234:instance/i-0abc123").unwrap();
        assert_eq!(r.resource_type, "AWS::EC2::Instance");
        assert_eq!(r.resource_id.as_deref(), Some("i-0abc123"));
        assert_eq!(r.region.as_deref(), Some("eu-west-1"));
        assert_eq!(r.account_id.as_deref(), Some("345678901234"));
        let r = ConfigResource::from_subject("arn:aws:iam::345678901234:role/service/payments-app-role").unwrap();
        assert!(r.is_global());
        assert_eq!(
            (r.resource_type.as_str(), r.resource_id, r.resource_name.as_str()),
            ("AWS::IAM::Role", None, "payments-app-role")
        );
        assert_eq!(
            ConfigResource::from_subject("sg-0a1b2c").unwrap().resource_type,
            "AWS::EC2::SecurityGroup"
        );
        assert_eq!(ConfigResource::from_subject("payments-exports"), None);
        assert_eq!(ConfigResource::from_subject("arn:aws:sqs:eu-west-1:1:q"), None);
    }

    #[test]
    fn a_window_is_cut_into_seven_day_pieces() {
        let start: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let end: Timestamp = "2026-11-16T12:00:00Z".parse().unwrap();
        let w = windows(start, end);
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].0, start);
        assert_eq!(w[1].0.to_string(), "2026-11-08T00:00:00Z");
        assert_eq!(w[2].1, end);
        assert!(windows(end, start).is_empty());
    }

    #[test]
    fn changes_say_what_differs_from_the_item_before() {
        let item = |t: i64, versioning: &str, policy: Option<&str>| ConfigItem {
            account_id: "345678901234".into(),
            aws_region: "eu-west-1".into(),
            resource_type: "AWS::S3::Bucket".into(),
            resource_id: "payments-exports".into(),
            configuration_item_capture_time: Some(Timestamp::from_second(t).unwrap()),
            configuration_item_status: "OK".into(),
            configuration_state_id: t.to_string(),
            configuration: Some(format!(r#"{{"name":"payments-exports","versioning":"{versioning}"}}"#)),
            supplementary_configuration: policy
                .map(|p| BTreeMap::from([("BucketPolicy".to_string(), p.to_string())]))
                .unwrap_or_default(),
            ..ConfigItem::default()
        };
        // Read out of order: sorted by capture time.
        let c = changes(vec![
            item(300, "Enabled", Some(r#"{"policyText":"public"}"#)),
            item(100, "Suspended", None),
            item(200, "Enabled", None),
        ]);
        let changed: Vec<&[String]> = c.iter().map(|c| c.changed.as_slice()).collect();
        assert_eq!(changed[0], [] as [String; 0]);
        assert_eq!(changed[1], ["versioning"]);
        assert_eq!(changed[2], ["supplementaryConfiguration.BucketPolicy"]);
        assert_eq!(c[2].time, "1970-01-01T00:05:00Z");
    }
}
