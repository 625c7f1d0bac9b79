//! OCSF: a JSON array of events, one per line. Each check outcome is a
//! Compliance Finding (class 2003), each finding a Detection Finding (class
//! 2004), both in the Findings category (2), activity Create (1), with the
//! `cloud` profile (AWS, the account, the Region).
//!
//! Compliance status: PASS → Pass (1), FAIL → Fail (3), ERROR → Unknown (0),
//! SKIP → Other (99, "Not Applicable"). A suppressed failure keeps its
//! compliance status Fail (the control still fails; the risk is accepted),
//! and the finding's own status is Suppressed (3), with the exception in
//! `comment` (one readable line) and `unmapped.exception` (its fields: OCSF
//! has no attribute for an accepted-risk exception). Every other outcome's
//! finding status is New (1).

use super::{Context, ExportError, PRODUCT_NAME, Row, RowStatus};
use crate::finding::Finding;
use crate::severity::Severity;
use serde_json::{Map, Value, json};

/// The OCSF schema version the events follow: the newest whose published
/// schema the tests validate against (`tests/schemas/`).
pub const OCSF_VERSION: &str = "1.8.0";

/// The profiles the events declare (`metadata.profiles`).
const PROFILES: [&str; 1] = ["cloud"];

const CATEGORY_FINDINGS: u32 = 2;
const COMPLIANCE_FINDING: u32 = 2003;
const DETECTION_FINDING: u32 = 2004;
const ACTIVITY_CREATE: u32 = 1;

#[derive(Debug)]
pub(crate) struct OcsfWriter {
    body: Vec<u8>,
    first: bool,
}

impl OcsfWriter {
    pub(crate) fn new() -> OcsfWriter {
        OcsfWriter {
            body: b"[".to_vec(),
            first: true,
        }
    }

    fn push(&mut self, event: &Value) -> Result<bool, ExportError> {
        self.body.extend_from_slice(if self.first { b"\n" } else { b",\n" });
        self.first = false;
        serde_json::to_writer(&mut self.body, event)?;
        Ok(true)
    }

    pub(crate) fn check(&mut self, ctx: &Context, row: &Row) -> Result<bool, ExportError> {
        self.push(&compliance_finding(ctx, row))
    }

    pub(crate) fn finding(&mut self, ctx: &Context, finding: &Finding) -> Result<bool, ExportError> {
        self.push(&detection_finding(ctx, finding))
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.body.extend_from_slice(b"\n]\n");
        self.body
    }
}

/// OCSF `severity_id` and its caption.
pub(crate) fn severity(s: Severity) -> (u32, &'static str) {
    match s {
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// The compliance `status_id` and caption of an outcome.
fn compliance_status(status: RowStatus) -> (u32, &'static str) {
    match status {
        RowStatus::Pass => (1, "Pass"),
        RowStatus::Fail | RowStatus::Suppressed => (3, "Fail"),
        RowStatus::Error => (0, "Unknown"),
        RowStatus::Skip => (99, "Not Applicable"),
    }
}

fn millis(ts: jiff::Timestamp) -> i64 {
    ts.as_millisecond()
}

fn metadata(ctx: &Context) -> Value {
    json!({
        "version": OCSF_VERSION,
        "profiles": PROFILES,
        "product": {
            "name": PRODUCT_NAME,
            "vendor_name": PRODUCT_NAME,
            "version": ctx.product_version,
        },
        "correlation_uid": ctx.run_id,
        "processed_time": millis(ctx.generated_at),
    })
}

fn cloud(account_id: &str, region: Option<&str>) -> Value {
    let mut cloud = json!({
        "provider": "AWS",
        "account": {"uid": account_id, "type_id": 10, "type": "AWS Account"},
    });
    if let Some(region) = region.filter(|r| !r.is_empty()) {
        cloud["region"] = json!(region);
    }
    cloud
}

/// The header every event has: class, category, activity, type, time,
/// severity and status.
fn base(class_uid: u32, class_name: &str, time: i64, severity: Severity, status: (u32, &str)) -> Map<String, Value> {
    let (severity_id, severity) = self::severity(severity);
    let event = json!({
        "category_uid": CATEGORY_FINDINGS,
        "category_name": "Findings",
        "class_uid": class_uid,
        "class_name": class_name,
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": class_uid * 100 + ACTIVITY_CREATE,
        "type_name": format!("{class_name}: Create"),
        "time": time,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status.0,
        "status": status.1,
    });
    match event {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// One check outcome as a Compliance Finding.
pub(crate) fn compliance_finding(ctx: &Context, row: &Row) -> Value {
    let o = row.outcome;
    let c = row.check;
    let time = millis(row.collected_at);
    let finding_status = if row.status == RowStatus::Suppressed {
        (3, "Suppressed")
    } else {
        (1, "New")
    };
    let head = base(
        COMPLIANCE_FINDING,
        "Compliance Finding",
        time,
        row.effective_severity(),
        finding_status,
    );
    let (status_id, status) = compliance_status(row.status);
    let (check_severity_id, check_severity) = severity(c.severity);
    let mut extra = json!({
        "status_code": row.status.as_str(),
        "status_detail": o.reason,
        "message": format!("{}: {} on {}: {}", c.title, row.status.as_str(), o.resource, o.reason),
        "metadata": metadata(ctx),
        "finding_info": {
            "uid": row.id,
            "title": c.title,
            "desc": c.rationale,
            "types": [c.service],
            "analytic": {"uid": c.id, "name": c.title, "type_id": 1, "type": "Rule"},
            "created_time": time,
            "modified_time": time,
        },
        "cloud": cloud(&ctx.account_id, o.region.as_deref()),
        "resources": [resource(&row.resource.id, &o.resource, row.resource.kind, o.region.as_deref())],
        "compliance": {
            "control": c.id,
            "desc": c.title,
            "status_id": status_id,
            "status": status,
            "status_details": [o.reason],
            "standards": row.mapping.standards,
            "requirements": row.mapping.requirements,
            "checks": [{
                "uid": c.id,
                "name": c.title,
                "desc": c.rationale,
                "severity_id": check_severity_id,
                "severity": check_severity,
                "status_id": status_id,
                "status": status,
                "standards": row.mapping.standards,
            }],
        },
    });
    if !c.remediation.is_empty() {
        let mut remediation = json!({"desc": super::remediation_steps(c)});
        if !c.doc_url.is_empty() {
            remediation["references"] = json!([c.doc_url]);
        }
        extra["remediation"] = remediation;
    }
    let mut unmapped = Map::new();
    if let Some(control) = c.security_hub_control {
        unmapped.insert("security_hub_control".into(), json!(control));
    }
    if let Some(e) = row.exception.filter(|_| row.status == RowStatus::Suppressed) {
        extra["comment"] = json!(super::exception_note(e));
        unmapped.insert(
            "exception".into(),
            json!({
                "id": e.id,
                "control": e.control,
                "reason": e.reason,
                "owner": e.owner,
                "created": e.created.to_string(),
                "expires": e.expires.to_string(),
            }),
        );
    }
    if !unmapped.is_empty() {
        extra["unmapped"] = Value::Object(unmapped);
    }
    event(head, extra)
}

/// One finding as a Detection Finding.
pub(crate) fn detection_finding(ctx: &Context, f: &Finding) -> Value {
    let status = finding_status(f);
    let head = base(
        DETECTION_FINDING,
        "Detection Finding",
        millis(f.updated_at),
        f.severity,
        status,
    );
    let mut info = json!({
        "uid": f.id,
        "title": f.title,
        "desc": f.description,
        "types": f.types,
        "first_seen_time": millis(f.first_seen),
        "last_seen_time": millis(f.last_seen),
        "modified_time": millis(f.updated_at),
        "product": {"name": f.source.name(), "vendor_name": "AWS"},
        "data_sources": f.channels.iter().map(|c| c.name()).collect::<Vec<_>>(),
    });
    if let Some(control) = f.compliance.as_ref().and_then(|c| c.control_id.as_deref()) {
        info["analytic"] = json!({"uid": control, "type_id": 1, "type": "Rule"});
    }
    let mut extra = json!({
        "message": f.title,
        "metadata": metadata(ctx),
        "finding_info": info,
        "cloud": cloud(&f.account_id, Some(&f.region)),
        "resources": f
            .resources
            .iter()
            .map(|r| resource(&r.id, &crate::finding::short_id(&r.id), &r.kind, Some(&f.region)))
            .collect::<Vec<_>>(),
    });
    if let Some(workflow) = &f.workflow_status {
        extra["status_code"] = json!(workflow);
    }
    if let Some(text) = f.remediation_text.as_deref().filter(|t| !t.is_empty()) {
        let mut remediation = json!({"desc": text});
        if let Some(url) = &f.remediation_url {
            remediation["references"] = json!([url]);
        }
        extra["remediation"] = remediation;
    }
    let mut observables = Vec::new();
    let mut unmapped = Map::new();
    for (field, values, type_id, type_name) in [
        ("remote_ips", &f.remote_ips, 2, "IP Address"),
        ("domains", &f.domains, 1, "Hostname"),
        ("cves", &f.cves, 18, "CVE Object: uid"),
    ] {
        for (i, value) in values.iter().enumerate() {
            observables.push(json!({
                "name": format!("unmapped.{field}[{i}]"),
                "type_id": type_id,
                "type": type_name,
                "value": value,
            }));
        }
    }
    for (field, values) in [
        ("remote_ips", &f.remote_ips),
        ("domains", &f.domains),
        ("cves", &f.cves),
        ("principals", &f.principals),
        ("api_calls", &f.api_calls),
    ] {
        if !values.is_empty() {
            unmapped.insert(field.into(), json!(values));
        }
    }
    if let Some(c) = &f.compliance {
        unmapped.insert(
            "compliance".into(),
            json!({"control_id": c.control_id, "status": c.status, "related_requirements": c.related_requirements}),
        );
    }
    if let Some(seq) = &f.attack_sequence {
        unmapped.insert(
            "attack_sequence".into(),
            serde_json::to_value(seq).unwrap_or(Value::Null),
        );
    }
    unmapped.insert("severity_score".into(), json!(f.severity_score));
    if !observables.is_empty() {
        extra["observables"] = Value::Array(observables);
    }
    extra["unmapped"] = Value::Object(unmapped);
    event(head, extra)
}

/// The finding's workflow as OCSF's finding status: archived → Archived (5),
/// SUPPRESSED → Suppressed (3), RESOLVED → Resolved (4), NOTIFIED → In
/// Progress (2), NEW or none (GuardDuty has no workflow) → New (1).
fn finding_status(f: &Finding) -> (u32, &'static str) {
    if !f.active {
        return (5, "Archived");
    }
    match f.workflow_status.as_deref() {
        Some("SUPPRESSED") => (3, "Suppressed"),
        Some("RESOLVED") => (4, "Resolved"),
        Some("NOTIFIED") => (2, "In Progress"),
        _ => (1, "New"),
    }
}

fn resource(uid: &str, name: &str, kind: &str, region: Option<&str>) -> Value {
    let mut r = json!({"uid": uid, "name": name, "type": kind, "cloud_partition": "aws"});
    if let Some(region) = region.filter(|r| !r.is_empty()) {
        r["region"] = json!(region);
    }
    r
}

/// The header and the rest of an event, as one object.
fn event(mut head: Map<String, Value>, rest: Value) -> Value {
    if let Value::Object(rest) = rest {
        head.extend(rest);
    }
    Value::Object(head)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    fn events(fx: &Fixture) -> Vec<Value> {
        serde_json::from_slice(&export(ExportFormat::Ocsf, fx).body).unwrap()
    }

    #[test]
    fn compliance_findings_for_outcomes_and_detection_findings_for_findings() {
        let fx = demo();
        let events = events(&fx);
        let class = |uid: u64| events.iter().filter(|e| e["class_uid"] == uid).count();
        assert_eq!(class(2003), fx.outcomes.len());
        assert_eq!(class(2004), fx.findings.len());
        assert_eq!(events.len(), fx.outcomes.len() + fx.findings.len());
        for e in &events {
            let class_uid = e["class_uid"].as_u64().unwrap();
            assert_eq!(
                e["type_uid"].as_u64().unwrap(),
                class_uid * 100 + e["activity_id"].as_u64().unwrap()
            );
            assert_eq!(e["category_uid"], 2);
            assert_eq!(e["metadata"]["version"], OCSF_VERSION);
            assert_eq!(e["metadata"]["product"]["name"], "Posture Advisor");
            assert_eq!(e["cloud"]["provider"], "AWS");
            assert_eq!(e["cloud"]["account"]["uid"], ACCOUNT);
            assert!(
                e["time"].as_i64().unwrap() > 1_700_000_000_000,
                "time is in milliseconds"
            );
            assert!(!e["finding_info"]["uid"].as_str().unwrap().is_empty());
        }
    }

    #[test]
    fn compliance_status_follows_the_outcome_and_a_suppressed_failure_stays_failed() {
        let fx = demo();
        let events = events(&fx);
        let by_code = |code: &str| {
            events
                .iter()
                .filter(|e| e["class_uid"] == 2003 && e["status_code"] == code)
                .collect::<Vec<_>>()
        };
        for (code, status_id, status) in [
            ("PASS", 1, "Pass"),
            ("FAIL", 3, "Fail"),
            ("ERROR", 0, "Unknown"),
            ("SKIP", 99, "Not Applicable"),
            ("SUPPRESSED", 3, "Fail"),
        ] {
            let found = by_code(code);
            assert!(!found.is_empty(), "{code}");
            for e in found {
                assert_eq!(e["compliance"]["status_id"], status_id, "{code}");
                assert_eq!(e["compliance"]["status"], status, "{code}");
            }
        }
        let suppressed = by_code("SUPPRESSED")[0];
        assert_eq!(suppressed["status_id"], 3);
        assert_eq!(suppressed["status"], "Suppressed");
        assert_eq!(suppressed["unmapped"]["exception"]["id"], "EXC-7");
        assert_eq!(suppressed["unmapped"]["exception"]["owner"], "platform-team");
        assert_eq!(suppressed["unmapped"]["exception"]["expires"], "2026-07-10");
        assert!(suppressed["comment"].as_str().unwrap().contains("EXC-7"));
        assert!(
            by_code("FAIL")
                .iter()
                .all(|e| e["status_id"] == 1 && e.get("comment").is_none())
        );
    }

    #[test]
    fn severities_map_to_ocsf_ids_and_passes_are_informational() {
        assert_eq!(severity(Severity::Informational), (1, "Informational"));
        assert_eq!(severity(Severity::Low), (2, "Low"));
        assert_eq!(severity(Severity::Medium), (3, "Medium"));
        assert_eq!(severity(Severity::High), (4, "High"));
        assert_eq!(severity(Severity::Critical), (5, "Critical"));
        let fx = demo();
        let events = events(&fx);
        for e in events.iter().filter(|e| e["class_uid"] == 2003) {
            let check = checks::find(e["compliance"]["control"].as_str().unwrap()).unwrap();
            let own = severity(check.severity).0;
            assert_eq!(e["compliance"]["checks"][0]["severity_id"], own);
            let want = match e["status_code"].as_str().unwrap() {
                "PASS" | "SKIP" => 1,
                _ => own,
            };
            assert_eq!(e["severity_id"], want, "{}", e["status_code"]);
        }
    }

    #[test]
    fn detection_findings_carry_the_finding() {
        let fx = demo();
        let events = events(&fx);
        for (f, e) in fx.findings.iter().zip(events.iter().filter(|e| e["class_uid"] == 2004)) {
            assert_eq!(e["finding_info"]["uid"], f.id.as_str());
            assert_eq!(e["finding_info"]["title"], f.title.as_str());
            assert_eq!(e["severity_id"], severity(f.severity).0);
            assert_eq!(e["cloud"]["region"], f.region.as_str());
            assert_eq!(e["resources"].as_array().unwrap().len(), f.resources.len());
            assert_eq!(e["time"], f.updated_at.as_millisecond());
        }
    }

    #[test]
    fn finding_workflow_maps_to_ocsf_status() {
        let fx = demo();
        let mut f = fx.findings[0].clone();
        for (workflow, active, want) in [
            (None, true, 1),
            (Some("NEW"), true, 1),
            (Some("NOTIFIED"), true, 2),
            (Some("SUPPRESSED"), true, 3),
            (Some("RESOLVED"), true, 4),
            (Some("NEW"), false, 5),
        ] {
            f.workflow_status = workflow.map(String::from);
            f.active = active;
            assert_eq!(finding_status(&f).0, want, "{workflow:?} {active}");
        }
    }
}
