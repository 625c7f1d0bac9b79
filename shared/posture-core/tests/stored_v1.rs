//! Records stored by earlier builds (schema version 1, written by the
//! assessor before ids, triggers and timestamps were typed) still read, and
//! write back byte-for-byte the same JSON: typing changed no stored form.

use posture_core::org::run::{RUN_SCHEMA_VERSION, RunRecord, RunTrigger};
use posture_core::org::snapshot::{AccountSnapshot, SNAPSHOT_SCHEMA_VERSION};
use serde_json::Value;

const RUN: &str = include_str!("fixtures/stored-v1/run.json");
const SNAPSHOT: &str = include_str!("fixtures/stored-v1/snapshot.json");

#[test]
fn a_version_1_run_record_reads_and_writes_back_unchanged() {
    let stored: Value = serde_json::from_str(RUN).unwrap();
    assert_eq!(stored["schema_version"], 1);
    let run: RunRecord = serde_json::from_str(RUN).unwrap();
    assert_eq!(run.schema_version, RUN_SCHEMA_VERSION);
    assert_eq!(run.trigger, RunTrigger::Cli);
    assert_eq!(run.started_at.to_string(), "2026-12-01T06:00:00Z");
    assert!(run.finished_at.is_some_and(|f| f > run.started_at));
    assert_eq!(serde_json::to_value(&run).unwrap(), stored);
}

#[test]
fn a_version_1_snapshot_reads_and_writes_back_unchanged() {
    let stored: Value = serde_json::from_str(SNAPSHOT).unwrap();
    let snapshot: AccountSnapshot = serde_json::from_str(SNAPSHOT).unwrap();
    assert_eq!(snapshot.schema_version, SNAPSHOT_SCHEMA_VERSION);
    assert_eq!(snapshot.taken_at.to_string(), stored["taken_at"].as_str().unwrap());
    assert_eq!(serde_json::to_value(&snapshot).unwrap(), stored);
}

#[test]
fn a_record_with_a_malformed_time_is_refused_not_misread() {
    let mut stored: Value = serde_json::from_str(RUN).unwrap();
    stored["deadline"] = Value::String("tomorrow".into());
    // Before timestamps were typed, such a deadline read as "never passed".
    assert!(serde_json::from_value::<RunRecord>(stored).is_err());
}
