//! SARIF 2.1.0: one log, one run. The tool's rules are the checks that
//! produced a result and the finding types (a Security Hub control finding's
//! rule is its control id); results are:
//!
//! - FAIL: kind `fail`, level from the check's severity (critical and high →
//!   `error`, medium → `warning`, low and informational → `note`);
//! - SUPPRESSED: the same failure with `suppressions: [{kind: external,
//!   status: accepted, justification: <reason>}]` and the exception's id,
//!   owner and dates in the suppression's properties;
//! - ERROR: kind `open`, level `none` (the check could not decide: a question
//!   left open, never a pass);
//! - PASS and SKIP: not results (a viewer lists results as things to look
//!   at); their counts are in the run's `properties.outcomes`, and the CSV,
//!   OCSF and ASFF exports list them;
//! - each finding: kind `fail` with its severity's level (suppressed in its
//!   service: with an external accepted suppression), `pass` for a passed
//!   control finding, `open` for a control finding that could not be
//!   evaluated, `informational` for a resolved or archived one.
//!
//! There are no files: each result is placed by a logical location, the
//! resource (`name`: as the check or service names it; `fullyQualifiedName`:
//! `<account>/<region or global>/<resource id>`).
//!
//! Results are written as they come, before the tool object (JSON object
//! members have no order), so only the rule list is held until the end.

use super::{Context, ExportError, PRODUCT_NAME, Row, RowStatus};
use crate::finding::Finding;
use crate::posture::checks::Check;
use crate::severity::Severity;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";

/// The `$schema` of the log: OASIS's published SARIF 2.1.0 schema (errata 01).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

enum Rule {
    Check(&'static Check),
    Finding {
        id: String,
        source: &'static str,
        description: String,
    },
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Check(c) => f.debug_tuple("Check").field(&c.id).finish(),
            Rule::Finding { id, .. } => f.debug_tuple("Finding").field(id).finish(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct SarifWriter {
    body: Vec<u8>,
    first: bool,
    rules: Vec<Rule>,
    index: HashMap<String, usize>,
    outcomes: BTreeMap<&'static str, usize>,
    findings: usize,
}

/// A SARIF level for a severity.
pub(crate) fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Informational => "note",
    }
}

impl SarifWriter {
    pub(crate) fn new() -> SarifWriter {
        let mut body = Vec::new();
        body.extend_from_slice(
            format!("{{\"$schema\":\"{SARIF_SCHEMA}\",\"version\":\"{SARIF_VERSION}\",\"runs\":[{{\"results\":[")
                .as_bytes(),
        );
        SarifWriter {
            body,
            first: true,
            rules: Vec::new(),
            index: HashMap::new(),
            outcomes: BTreeMap::new(),
            findings: 0,
        }
    }

    fn rule(&mut self, id: &str, make: impl FnOnce() -> Rule) -> usize {
        if let Some(i) = self.index.get(id) {
            return *i;
        }
        let i = self.rules.len();
        self.rules.push(make());
        self.index.insert(id.to_string(), i);
        i
    }

    fn push(&mut self, result: &Value) -> Result<bool, ExportError> {
        self.body.extend_from_slice(if self.first { b"\n" } else { b",\n" });
        self.first = false;
        serde_json::to_writer(&mut self.body, result)?;
        Ok(true)
    }

    pub(crate) fn check(&mut self, ctx: &Context, row: &Row) -> Result<bool, ExportError> {
        *self.outcomes.entry(row.status.as_str()).or_default() += 1;
        let (kind, level) = match row.status {
            RowStatus::Pass | RowStatus::Skip => return Ok(false),
            RowStatus::Fail | RowStatus::Suppressed => ("fail", level(row.check.severity)),
            RowStatus::Error => ("open", "none"),
        };
        let c = row.check;
        let o = row.outcome;
        let rule_index = self.rule(c.id, || Rule::Check(c));
        let region = o.region.as_deref().unwrap_or("global");
        let mut result = json!({
            "ruleId": c.id,
            "ruleIndex": rule_index,
            "kind": kind,
            "level": level,
            "message": {"text": format!("{}: {}", c.title, o.reason)},
            "locations": [{
                "logicalLocations": [{
                    "name": o.resource,
                    "fullyQualifiedName": format!("{}/{region}/{}", ctx.account_id, row.resource.id),
                    "kind": "resource",
                    "properties": {"resource_type": row.resource.kind},
                }],
            }],
            "partialFingerprints": {"postureAdvisorRecordId/v1": row.id},
            "properties": {
                "account_id": ctx.account_id,
                "region": o.region,
                "status": row.status.as_str(),
                "severity": c.severity.label(),
                "collected_at": super::rfc3339(row.collected_at),
                "security_hub_control": c.security_hub_control,
                "requirements": row.mapping.requirements,
            },
        });
        if let Some(e) = row.exception.filter(|_| row.status == RowStatus::Suppressed) {
            result["suppressions"] = json!([{
                "kind": "external",
                "status": "accepted",
                "justification": e.reason,
                "properties": {
                    "exception_id": e.id,
                    "control": e.control,
                    "owner": e.owner,
                    "created": e.created.to_string(),
                    "expires": e.expires.to_string(),
                },
            }]);
        }
        self.push(&result)
    }

    pub(crate) fn finding(&mut self, ctx: &Context, f: &Finding) -> Result<bool, ExportError> {
        self.findings += 1;
        let control = f.compliance.as_ref().and_then(|c| c.control_id.as_deref());
        let rule_id = match (control, f.finding_type.as_str()) {
            (Some(control), _) => control.to_string(),
            (None, "") => "finding".to_string(),
            (None, t) => t.to_string(),
        };
        let rule_index = self.rule(&rule_id, || Rule::Finding {
            id: rule_id.clone(),
            source: f.source.name(),
            description: match control {
                Some(_) => f.title.clone(),
                None => format!("{} finding of type {rule_id}", f.source.name()),
            },
        });
        let compliance = f.compliance.as_ref().and_then(|c| c.status.as_deref());
        let workflow = f.workflow_status.as_deref();
        let (kind, level) = if compliance == Some("PASSED") {
            ("pass", "none")
        } else if compliance == Some("NOT_AVAILABLE") {
            ("open", "none")
        } else if !f.active || workflow == Some("RESOLVED") {
            ("informational", "none")
        } else {
            ("fail", level(f.severity))
        };
        let locations: Vec<Value> = if f.resources.is_empty() {
            vec![location(
                &format!("account {}", f.account_id),
                &format!("{}/{}/AWS::::Account:{}", f.account_id, f.region, f.account_id),
                "AwsAccount",
            )]
        } else {
            f.resources
                .iter()
                .map(|r| {
                    location(
                        &crate::finding::short_id(&r.id),
                        &format!("{}/{}/{}", f.account_id, f.region, r.id),
                        &r.kind,
                    )
                })
                .collect()
        };
        let mut result = json!({
            "ruleId": rule_id,
            "ruleIndex": rule_index,
            "kind": kind,
            "level": level,
            "message": {"text": if f.title.is_empty() { rule_id.clone() } else { f.title.clone() }},
            "locations": locations,
            "partialFingerprints": {"postureAdvisorFindingKey/v1": f.dedup_key},
            "properties": {
                "account_id": ctx.account_id,
                "region": f.region,
                "source": f.source.name(),
                "finding_id": f.id,
                "types": f.types,
                "description": f.description,
                "severity": f.severity.label(),
                "severity_score": f.severity_score,
                "workflow_status": f.workflow_status,
                "active": f.active,
                "first_seen": super::rfc3339(f.first_seen),
                "last_seen": super::rfc3339(f.last_seen),
                "updated_at": super::rfc3339(f.updated_at),
            },
        });
        if workflow == Some("SUPPRESSED") {
            result["suppressions"] = json!([{
                "kind": "external",
                "status": "accepted",
                "justification": format!("workflow status SUPPRESSED in {}", f.source.name()),
            }]);
        }
        if let Some(url) = f.remediation_url.as_deref().filter(|u| !u.is_empty()) {
            result["properties"]["remediation_url"] = json!(url);
        }
        self.push(&result)
    }

    pub(crate) fn finish(mut self, ctx: &Context) -> Result<Vec<u8>, ExportError> {
        self.body.extend_from_slice(if self.first { b"]," } else { b"\n]," });
        let rules: Vec<Value> = self.rules.iter().map(|r| descriptor(ctx, r)).collect();
        let tool = json!({
            "driver": {
                "name": PRODUCT_NAME,
                "version": ctx.product_version,
                "rules": rules,
            },
        });
        let automation = json!({"id": format!("posture-advisor/{}/{}", ctx.account_id, ctx.run_id)});
        let properties = json!({
            "run_id": ctx.run_id,
            "account_id": ctx.account_id,
            "generated_at": super::rfc3339(ctx.generated_at),
            "outcomes": self.outcomes,
            "findings": self.findings,
            "not_results": "PASS and SKIP outcomes are counted in outcomes, not written as results",
        });
        for (key, value) in [
            ("tool", tool),
            ("automationDetails", automation),
            ("properties", properties),
        ] {
            self.body.extend_from_slice(format!("\"{key}\":").as_bytes());
            serde_json::to_writer(&mut self.body, &value)?;
            self.body.push(b',');
        }
        self.body.pop();
        self.body.extend_from_slice(b"}]}\n");
        Ok(self.body)
    }
}

fn location(name: &str, fully_qualified: &str, kind: &str) -> Value {
    json!({
        "logicalLocations": [{
            "name": name,
            "fullyQualifiedName": fully_qualified,
            "kind": "resource",
            "properties": {"resource_type": kind},
        }],
    })
}

/// A rule's `reportingDescriptor`.
fn descriptor(ctx: &Context, rule: &Rule) -> Value {
    match rule {
        Rule::Check(c) => {
            let mapping = ctx.mapping(c.id);
            let mut d = json!({
                "id": c.id,
                "shortDescription": {"text": c.title},
                "fullDescription": {"text": c.rationale},
                "defaultConfiguration": {"level": level(c.severity)},
                "properties": {
                    "severity": c.severity.label(),
                    "service": c.service,
                    "security_hub_control": c.security_hub_control,
                    "requirements": mapping.requirements,
                    "standards": mapping.standards,
                    "tags": ["security", c.service],
                },
            });
            if !c.remediation.is_empty() {
                d["help"] = json!({"text": super::remediation_steps(c)});
            }
            if !c.doc_url.is_empty() {
                d["helpUri"] = json!(c.doc_url);
            }
            d
        }
        Rule::Finding {
            id,
            source,
            description,
        } => json!({
            "id": id,
            "shortDescription": {"text": description},
            "properties": {"source": source, "tags": ["security", source]},
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    fn log(fx: &Fixture) -> Value {
        serde_json::from_slice(&export(ExportFormat::Sarif, fx).body).unwrap()
    }

    #[test]
    fn failures_errors_and_findings_are_results_passes_and_skips_are_counted() {
        let fx = demo();
        let log = log(&fx);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SARIF_SCHEMA);
        let run = &log["runs"][0];
        assert_eq!(log["runs"].as_array().unwrap().len(), 1);
        let results = run["results"].as_array().unwrap();
        let status = |s: &str| results.iter().filter(|r| r["properties"]["status"] == s).count();
        assert_eq!(status("FAIL"), count(&fx.outcomes, Status::Fail) - 1);
        assert_eq!(status("SUPPRESSED"), 1);
        assert_eq!(status("ERROR"), count(&fx.outcomes, Status::Error));
        assert_eq!(status("PASS") + status("SKIP"), 0);
        assert_eq!(
            results.iter().filter(|r| r["properties"]["source"].is_string()).count(),
            fx.findings.len()
        );
        assert_eq!(run["properties"]["outcomes"]["PASS"], count(&fx.outcomes, Status::Pass));
        assert_eq!(run["properties"]["outcomes"]["SKIP"], count(&fx.outcomes, Status::Skip));
        assert_eq!(run["tool"]["driver"]["name"], "Posture Advisor");
        // Every result points at its rule.
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        for r in results {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], r["ruleId"]);
            let location = &r["locations"][0]["logicalLocations"][0];
            assert!(location["fullyQualifiedName"].as_str().unwrap().starts_with(ACCOUNT));
        }
        let ids: std::collections::BTreeSet<_> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), rules.len(), "one rule per id");
    }

    #[test]
    fn a_suppressed_failure_is_an_accepted_external_suppression() {
        let fx = demo();
        let log = log(&fx);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let suppressed: Vec<_> = results
            .iter()
            .filter(|r| r["properties"]["status"] == "SUPPRESSED")
            .collect();
        let r = suppressed[0];
        assert_eq!(r["kind"], "fail");
        assert_eq!(r["level"], level(checks::find("rds.multi_az").unwrap().severity));
        let s = &r["suppressions"][0];
        assert_eq!(s["kind"], "external");
        assert_eq!(s["status"], "accepted");
        assert_eq!(s["justification"], "scratch database, =rebuilt nightly");
        assert_eq!(s["properties"]["exception_id"], "EXC-7");
        assert_eq!(s["properties"]["owner"], "platform-team");
        assert_eq!(s["properties"]["expires"], "2026-07-10");
        assert!(
            results
                .iter()
                .filter(|r| r["properties"]["status"] == "FAIL")
                .all(|r| r.get("suppressions").is_none())
        );
    }

    #[test]
    fn levels_follow_severity_and_errors_are_open_questions() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Informational), "note");
        let fx = demo();
        let log = log(&fx);
        for r in log["runs"][0]["results"].as_array().unwrap() {
            match r["properties"]["status"].as_str() {
                Some("ERROR") => assert_eq!((&r["kind"], &r["level"]), (&json!("open"), &json!("none"))),
                Some("FAIL") => {
                    let check = checks::find(r["ruleId"].as_str().unwrap()).unwrap();
                    assert_eq!(r["level"], level(check.severity));
                }
                _ => {}
            }
        }
    }
}
