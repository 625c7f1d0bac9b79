//! Fuzzing of the ASFF and GuardDuty normalizers (item 5 of the reliability
//! issue): arbitrary JSON, and real findings (the demo's) with random parts
//! replaced by arbitrary values, never panic; a record that decodes either
//! normalizes to a finding that keeps its id and account or is refused with
//! a reason. 256 cases per property by default; `scripts/fuzz` runs them
//! with `PROPTEST_CASES` in the hundreds of thousands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use posture_core::findings::asff::AsffFinding;
use posture_core::findings::guardduty::GdFinding;
use proptest::prelude::*;
use serde_json::Value;
use std::sync::LazyLock;

static SECURITYHUB: LazyLock<Vec<Value>> =
    LazyLock::new(|| serde_json::from_str(include_str!("../data/demo/securityhub_findings.json")).unwrap());
static GUARDDUTY: LazyLock<Vec<Value>> =
    LazyLock::new(|| serde_json::from_str(include_str!("../data/demo/guardduty_findings.json")).unwrap());

/// Field names the decoders look for, so arbitrary objects hit them.
const KEYS: &[&str] = &[
    "Id",
    "AwsAccountId",
    "CreatedAt",
    "UpdatedAt",
    "Severity",
    "Label",
    "Normalized",
    "Product",
    "Resources",
    "Type",
    "Details",
    "Compliance",
    "Status",
    "Workflow",
    "RecordState",
    "ProductFields",
    "Types",
    "Network",
    "id",
    "accountId",
    "createdAt",
    "updatedAt",
    "severity",
    "type",
    "resource",
    "service",
    "resourceType",
    "accessKeyDetails",
    "instanceDetails",
    "count",
    "archived",
    "region",
    "action",
    "x",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9:/._ -]{0,24}".prop_map(Value::String),
        Just(Value::String("2026-13-45T99:99:99Z".into())),
        Just(Value::String("2026-12-06T04:00:00.000Z".into())),
        Just(Value::String("CRITICAL".into())),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// Replaces the value at a path chosen by `steps` with `replacement`.
fn replace_at(value: &mut Value, steps: &[usize], replacement: Value) {
    let Some((step, rest)) = steps.split_first() else {
        *value = replacement;
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(step % map.len()).cloned().unwrap();
            replace_at(map.get_mut(&key).unwrap(), rest, replacement);
        }
        Value::Array(items) if !items.is_empty() => {
            let i = step % items.len();
            replace_at(&mut items[i], rest, replacement);
        }
        other => *other = replacement,
    }
}

/// One of the demo's `findings`, picked by `pick`, damaged.
fn damaged(findings: &[Value], pick: usize, damage: Vec<(Vec<usize>, Value)>) -> Value {
    let mut record = findings[pick % findings.len()].clone();
    for (steps, replacement) in damage {
        replace_at(&mut record, &steps, replacement);
    }
    record
}

fn check_asff(record: Value) {
    if let Ok(finding) = serde_json::from_value::<AsffFinding>(record)
        && let Ok(normalized) = finding.normalize()
    {
        assert_eq!(normalized.id, finding.id);
        assert_eq!(normalized.account_id, finding.aws_account_id);
    }
}

fn check_guardduty(record: Value) {
    if let Ok(finding) = serde_json::from_value::<GdFinding>(record)
        && let Ok(normalized) = finding.normalize()
    {
        assert_eq!(normalized.id, finding.id);
    }
}

proptest! {
    #[test]
    fn asff_never_panics_on_arbitrary_json(record in json_value()) {
        check_asff(record);
    }

    #[test]
    fn guardduty_never_panics_on_arbitrary_json(record in json_value()) {
        check_guardduty(record);
    }

    #[test]
    fn asff_never_panics_on_damaged_real_findings(
        pick in any::<usize>(),
        damage in prop::collection::vec((prop::collection::vec(any::<usize>(), 0..5), json_value()), 1..4),
    ) {
        check_asff(damaged(&SECURITYHUB, pick, damage));
    }

    #[test]
    fn guardduty_never_panics_on_damaged_real_findings(
        pick in any::<usize>(),
        damage in prop::collection::vec((prop::collection::vec(any::<usize>(), 0..5), json_value()), 1..4),
    ) {
        check_guardduty(damaged(&GUARDDUTY, pick, damage));
    }
}
