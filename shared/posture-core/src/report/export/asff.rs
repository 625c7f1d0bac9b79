//! ASFF: the account's check outcomes as AWS Security Finding Format
//! findings, a JSON array an operator can send to Security Hub's
//! `BatchImportFindings` (at most 100 findings a call, each to the Region of
//! its `ProductArn`) under the account's own custom-integration product,
//! `arn:aws:securityhub:<region>:<account>:product/<account>/default`.
//!
//! Every outcome is a finding with a stable `Id` (account, Region, check,
//! resource), so importing the next run's file updates the same findings:
//! `Compliance.Status` PASSED, FAILED, or NOT_AVAILABLE (ERROR: not decided;
//! SKIP: not applicable); `Workflow.Status` SUPPRESSED for a failure under an
//! accepted-risk exception (with the exception in `ProductFields` and the
//! description), NEW otherwise; `Severity.Label` the check's severity for a
//! failure or error, INFORMATIONAL for a pass or skip (as Security Hub rates
//! its own passed controls), `Severity.Original` always the check's; both
//! also in `FindingProviderFields`, where Security Hub reads a provider's
//! updates of an existing finding. Security Hub sets `Workflow` only when it
//! creates a finding: a later suppression is made in Security Hub.
//!
//! Findings are not exported: they came from AWS services (Security Hub,
//! GuardDuty, Inspector, Macie, Config, Access Analyzer), which already send
//! them to Security Hub; importing them again would make a second copy under
//! this product's ARN, attributed to the wrong product. `finding` writes
//! nothing and counts no row.

use super::{Context, ExportError, PRODUCT_NAME, Row, RowStatus};
use serde_json::{Map, Value, json};

/// ASFF's only schema version.
pub const ASFF_SCHEMA_VERSION: &str = "2018-10-08";

/// The Region a global outcome (no Region: IAM, account settings) is placed
/// in: `ProductArn` and `Region` need one.
pub const DEFAULT_REGION: &str = "us-east-1";

const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 1024;
const MAX_RECOMMENDATION: usize = 512;
const MAX_PRODUCT_FIELD: usize = 2048;
const MAX_RELATED_REQUIREMENTS: usize = 32;
const MAX_TYPES: usize = 50;
const TRUNCATED: &str = " [truncated]";

#[derive(Debug)]
pub(crate) struct AsffWriter {
    body: Vec<u8>,
    first: bool,
}

impl AsffWriter {
    pub(crate) fn new() -> AsffWriter {
        AsffWriter {
            body: b"[".to_vec(),
            first: true,
        }
    }

    pub(crate) fn check(&mut self, ctx: &Context, row: &Row) -> Result<bool, ExportError> {
        self.body.extend_from_slice(if self.first { b"\n" } else { b",\n" });
        self.first = false;
        serde_json::to_writer(&mut self.body, &finding(ctx, row))?;
        Ok(true)
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.body.extend_from_slice(if self.first { b"]\n" } else { b"\n]\n" });
        self.body
    }
}

fn compliance_status(status: RowStatus) -> &'static str {
    match status {
        RowStatus::Pass => "PASSED",
        RowStatus::Fail | RowStatus::Suppressed => "FAILED",
        RowStatus::Error | RowStatus::Skip => "NOT_AVAILABLE",
    }
}

/// ASFF limits text fields and forbids none of its characters, but a
/// one-line value is what every console and ticket shows well.
fn text(value: &str, max: usize) -> String {
    super::truncate(&super::one_line(value), max, TRUNCATED)
}

/// `Types`: the namespace/category/classifier taxonomy ASFF requires.
fn types(row: &Row) -> Vec<String> {
    let mut types = vec!["Software and Configuration Checks/AWS Security Best Practices".to_string()];
    for standard in &row.mapping.standards {
        types.push(format!(
            "Software and Configuration Checks/Industry and Regulatory Standards/{}",
            standard.replace('/', "-")
        ));
    }
    types.truncate(MAX_TYPES);
    types
}

/// One outcome as an ASFF finding.
pub(crate) fn finding(ctx: &Context, row: &Row) -> Value {
    let o = row.outcome;
    let c = row.check;
    let region = row.region_or_default();
    let at = super::rfc3339(row.collected_at);
    let exception = row.exception.filter(|_| row.status == RowStatus::Suppressed);
    let mut description = format!("{}: {}.", row.status.as_str(), o.reason);
    if let Some(e) = exception {
        description.push_str(&format!(" {}.", super::exception_note(e)));
    }
    description.push(' ');
    description.push_str(c.rationale);
    let mut product_fields = Map::new();
    let mut field = |key: &str, value: &str| {
        if !value.is_empty() {
            product_fields.insert(format!("PostureAdvisor/{key}"), json!(text(value, MAX_PRODUCT_FIELD)));
        }
    };
    field("CheckId", c.id);
    field("Status", row.status.as_str());
    field("RunId", &ctx.run_id);
    field("Service", c.service);
    field("Resource", &o.resource);
    field("SecurityHubControl", c.security_hub_control.unwrap_or_default());
    if let Some(e) = exception {
        field("ExceptionId", &e.id);
        field("ExceptionReason", &e.reason);
        field("ExceptionOwner", &e.owner);
        field("ExceptionCreated", &e.created.to_string());
        field("ExceptionExpires", &e.expires.to_string());
    }
    // Security Hub takes a provider's later Severity and Types from
    // FindingProviderFields (the top-level ones belong to the customer once
    // the finding exists), so both carry them.
    let severity = json!({
        "Label": row.effective_severity().label(),
        "Original": c.severity.label(),
    });
    let types = types(row);
    let requirements: Vec<&String> = row.mapping.requirements.iter().take(MAX_RELATED_REQUIREMENTS).collect();
    let mut finding = json!({
        "SchemaVersion": ASFF_SCHEMA_VERSION,
        "Id": row.id,
        "ProductArn": format!("arn:aws:securityhub:{region}:{0}:product/{0}/default", ctx.account_id),
        "ProductName": PRODUCT_NAME,
        "CompanyName": PRODUCT_NAME,
        "GeneratorId": format!("posture-advisor/{}", c.id),
        "AwsAccountId": ctx.account_id,
        "Region": region,
        "Types": types,
        "CreatedAt": at,
        "UpdatedAt": at,
        "FirstObservedAt": at,
        "LastObservedAt": at,
        "Severity": severity,
        "FindingProviderFields": {"Severity": severity, "Types": types},
        "Title": text(c.title, MAX_TITLE),
        "Description": text(&description, MAX_DESCRIPTION),
        "ProductFields": product_fields,
        "Resources": [{
            "Type": row.resource.kind,
            "Id": row.resource.id,
            "Partition": "aws",
            "Region": region,
        }],
        "Compliance": {
            "Status": compliance_status(row.status),
        },
        "Workflow": {
            "Status": if exception.is_some() { "SUPPRESSED" } else { "NEW" },
        },
        "RecordState": "ACTIVE",
    });
    if !requirements.is_empty() {
        finding["Compliance"]["RelatedRequirements"] = json!(requirements);
    }
    let mut recommendation = Map::new();
    if !c.remediation.is_empty() {
        recommendation.insert(
            "Text".into(),
            json!(text(&super::remediation_steps(c), MAX_RECOMMENDATION)),
        );
    }
    if !c.doc_url.is_empty() {
        recommendation.insert("Url".into(), json!(c.doc_url));
    }
    if !recommendation.is_empty() {
        finding["Remediation"] = json!({"Recommendation": recommendation});
    }
    finding
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use super::*;

    fn findings(fx: &Fixture) -> Vec<Value> {
        serde_json::from_slice(&export(ExportFormat::Asff, fx).body).unwrap()
    }

    #[test]
    fn every_outcome_is_a_finding_and_findings_are_not_reexported() {
        let fx = demo();
        let file = export(ExportFormat::Asff, &fx);
        let all: Vec<Value> = serde_json::from_slice(&file.body).unwrap();
        assert_eq!(all.len(), fx.outcomes.len());
        assert_eq!(file.rows, fx.outcomes.len());
        let mut only_findings = AccountExport::new(ExportFormat::Asff, &ctx(&fx.frameworks));
        for f in &fx.findings {
            only_findings.finding(f).unwrap();
        }
        let file = only_findings.finish().unwrap();
        assert_eq!((file.rows, file.body.as_slice()), (0, b"[]\n".as_slice()));
    }

    #[test]
    fn required_fields_limits_and_product_arn() {
        let fx = demo();
        for f in findings(&fx) {
            assert_eq!(f["SchemaVersion"], "2018-10-08");
            assert_eq!(f["AwsAccountId"], ACCOUNT);
            let region = f["Region"].as_str().unwrap();
            assert_eq!(
                f["ProductArn"],
                format!("arn:aws:securityhub:{region}:{ACCOUNT}:product/{ACCOUNT}/default")
            );
            assert_eq!(f["Resources"][0]["Region"], region);
            assert!(f["Title"].as_str().unwrap().chars().count() <= 256);
            assert!(f["Description"].as_str().unwrap().chars().count() <= 1024);
            assert!(f["Id"].as_str().unwrap().len() <= 512);
            assert!(
                f["Types"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("Software and Configuration Checks/")
            );
            assert_eq!(f["RecordState"], "ACTIVE");
            jiff::Timestamp::from_str(f["CreatedAt"].as_str().unwrap()).unwrap();
            assert!(!f["Description"].as_str().unwrap().contains('\n'));
        }
        let global = findings(&fx)
            .into_iter()
            .find(|f| f["GeneratorId"] == "posture-advisor/iam.password_reuse")
            .unwrap();
        assert_eq!(global["Region"], DEFAULT_REGION);
    }

    #[test]
    fn status_workflow_and_severity_follow_the_outcome() {
        let fx = demo();
        let all = findings(&fx);
        let status = |f: &Value| {
            f["ProductFields"]["PostureAdvisor/Status"]
                .as_str()
                .unwrap()
                .to_string()
        };
        for f in &all {
            let check = checks::find(f["ProductFields"]["PostureAdvisor/CheckId"].as_str().unwrap()).unwrap();
            assert_eq!(f["Severity"]["Original"], check.severity.label());
            assert_eq!(f["FindingProviderFields"]["Severity"], f["Severity"]);
            assert_eq!(f["FindingProviderFields"]["Types"], f["Types"]);
            let (compliance, workflow, label) = match status(f).as_str() {
                "PASS" => ("PASSED", "NEW", "INFORMATIONAL"),
                "SKIP" => ("NOT_AVAILABLE", "NEW", "INFORMATIONAL"),
                "FAIL" => ("FAILED", "NEW", check.severity.label()),
                "ERROR" => ("NOT_AVAILABLE", "NEW", check.severity.label()),
                "SUPPRESSED" => ("FAILED", "SUPPRESSED", check.severity.label()),
                other => panic!("{other}"),
            };
            assert_eq!(f["Compliance"]["Status"], compliance);
            assert_eq!(f["Workflow"]["Status"], workflow);
            assert_eq!(f["Severity"]["Label"], label);
        }
        let suppressed: Vec<_> = all.iter().filter(|f| status(f) == "SUPPRESSED").collect();
        assert_eq!(suppressed.len(), 1);
        let s = suppressed[0];
        assert_eq!(s["ProductFields"]["PostureAdvisor/ExceptionId"], "EXC-7");
        assert_eq!(s["ProductFields"]["PostureAdvisor/ExceptionOwner"], "platform-team");
        assert_eq!(s["ProductFields"]["PostureAdvisor/ExceptionExpires"], "2026-07-10");
        assert!(s["Description"].as_str().unwrap().contains("Accepted risk EXC-7"));
        assert!(
            all.iter()
                .filter(|f| status(f) != "SUPPRESSED")
                .all(|f| f["ProductFields"].get("PostureAdvisor/ExceptionId").is_none())
        );
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let fx = demo();
        let mut outcome = fx.outcomes[0].clone();
        outcome.reason = "x".repeat(5000);
        let mut export = AccountExport::new(ExportFormat::Asff, &ctx(&fx.frameworks));
        export
            .check(&CheckRow {
                outcome: &outcome,
                collected_at: fx.collected_at,
                suppressed_by: None,
            })
            .unwrap();
        let all: Vec<Value> = serde_json::from_slice(&export.finish().unwrap().body).unwrap();
        let description = all[0]["Description"].as_str().unwrap();
        assert_eq!(description.chars().count(), 1024);
        assert!(description.ends_with(" [truncated]"));
    }
}
