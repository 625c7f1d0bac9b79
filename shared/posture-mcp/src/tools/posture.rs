//! The posture tools: `check_compliance_status`, `assess_security_posture`,
//! `validate_security_controls` and `recommend_security_improvements`. Each
//! evaluates the inventories of the accounts in scope and the recent
//! findings ([`posture_data`]).

use super::args::{FrameworkName, Threshold, default};
use super::call::{Answer, Cx, ToolOutput, task_of};
use super::findings::fetch_all;
use super::runs::{self, RunStarted};
use crate::backend::Backend;
use crate::error::ToolError;
use jiff::Timestamp;
use posture_core::Severity;
use posture_core::findings::analysis;
use posture_core::posture::assessment::{self, Assessment};
use posture_core::posture::compliance::{self, ComplianceReport, DataSources};
use posture_core::posture::recommendations::{self, RecommendationsReport};
use posture_core::posture::validation;
use posture_core::report::format::score_text;
use posture_core::sources::FindingQuery;
use posture_core::time::TimeWindow;
use rmcp::model::TaskStatus;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;

/// `check_compliance_status`.
pub const CHECK_COMPLIANCE_STATUS: &str = "check_compliance_status";
/// `assess_security_posture`.
pub const ASSESS_SECURITY_POSTURE: &str = "assess_security_posture";
/// `validate_security_controls`.
pub const VALIDATE_SECURITY_CONTROLS: &str = "validate_security_controls";
/// `recommend_security_improvements`.
pub const RECOMMEND_SECURITY_IMPROVEMENTS: &str = "recommend_security_improvements";

/// Longest control id accepted (`CIS 1.14`, `securityhub.enabled`,
/// `"PCI-DSS 10.2.1.1"`): a caller cannot make an error echo megabytes.
const CONTROL_ID_CHARS: u32 = 100;

/// Items listed in full in the text renderings.
const LISTED: usize = 10;

/// What posture tools evaluate.
pub struct PostureData {
    /// Inventories of the accounts in scope.
    pub inventories: Vec<posture_core::posture::inventory::Inventory>,
    /// Recent findings of every source, merged.
    pub findings: Vec<posture_core::Finding>,
    /// What was read and what could not be.
    pub sources: DataSources,
}

/// Inventories and recent findings (Security Hub refreshes control findings
/// daily; 90 days also covers stale ones).
pub async fn posture_data(backend: &Backend, now: Timestamp) -> PostureData {
    let query = FindingQuery {
        window: TimeWindow::last_days(now, 90),
        min_severity: Severity::Informational,
        max_findings: 10_000,
    };
    let (inventories, findings) = tokio::join!(backend.inventories.inventories(), fetch_all(backend, &query));
    let merged = analysis::merge(findings, &query);
    let (inventories, inventory_error) = match inventories {
        Ok(i) => (i, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    PostureData {
        sources: DataSources {
            inventory_error,
            finding_sources: merged.sources,
            aws_tooling: compliance::tooling(&inventories),
            findings_truncated: merged.truncated,
        },
        inventories,
        findings: merged.findings,
    }
}

// ---------------------------------------------------------------- compliance

/// Arguments of `check_compliance_status`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceArgs {
    /// Compliance framework to assess
    pub framework: FrameworkName,
    /// Whether to include the per-control results
    #[serde(default = "default::yes")]
    pub generate_report: bool,
    /// Whether to include the API facts and findings behind each verdict (at most 500 items; evidence_total gives the count)
    #[serde(default)]
    pub include_evidence: bool,
    /// Specific requirement ids to assess (empty = all)
    #[serde(default)]
    #[schemars(length(max = 200), inner(length(max = CONTROL_ID_CHARS)))]
    pub control_ids: Vec<String>,
}

/// `check_compliance_status`: one framework over every account in scope.
pub async fn check_compliance(cx: &Cx<'_>, args: ComplianceArgs) -> Result<ToolOutput, ToolError> {
    let backend = cx.backend;
    let Some(fw) = backend.framework(&args.framework.0) else {
        return Err(ToolError::engine(format!("framework {} vanished", args.framework.0)));
    };
    let unknown: Vec<&String> = args
        .control_ids
        .iter()
        .filter(|c| !fw.requirements.iter().any(|r| &r.id == *c))
        .collect();
    if !unknown.is_empty() {
        return Err(ToolError::validation(
            "control_ids",
            format!(
                "not requirements of {}: {}",
                fw.id,
                unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
            json!({"unknown": unknown}),
        ));
    }
    let now = Timestamp::now();
    let data = posture_data(backend, now).await;
    let mut report = compliance::report(
        fw,
        &data.inventories,
        &data.findings,
        &args.control_ids,
        args.include_evidence,
        data.sources,
        now,
    );
    if !args.generate_report {
        report.control_results.clear();
    }
    let text = render_compliance(&report);
    ToolOutput::new(&report, text)
}

fn render_compliance(r: &ComplianceReport) -> String {
    let c = &r.counts;
    let mut s = format!(
        "{} ({}) over {} account(s): {} — score {}{} ({} passed, {} failed, {} not applicable, {} unknown, {} manual)\n",
        r.framework,
        r.framework_version,
        r.accounts.len(),
        r.compliance_status,
        score_text(r.overall_compliance_score) + if r.overall_compliance_score.is_some() { "%" } else { "" },
        if r.score_partial { ", partial" } else { "" },
        c.passed,
        c.failed,
        c.not_applicable,
        c.unknown,
        c.manual
    );
    if let Some(e) = &r.data_sources.inventory_error {
        let _ = writeln!(s, "Native checks could not run: {e}");
    }
    for (label, list) in [
        ("Immediate", &r.remediation_timeline.immediate),
        ("Short term", &r.remediation_timeline.short_term),
        ("Long term", &r.remediation_timeline.long_term),
    ] {
        if !list.is_empty() {
            let _ = writeln!(s, "\n{label}:");
            for item in list.iter().take(LISTED) {
                let _ = writeln!(s, "- {item}");
            }
            if list.len() > LISTED {
                let _ = writeln!(s, "- … and {} more (see compliance_gaps)", list.len() - LISTED);
            }
        }
    }
    s
}

// ---------------------------------------------------------------- assessment

super::args::choice! {
    /// What `assess_security_posture` assesses.
    pub enum Scope {
        Account = "account",
        Region = "region",
        Service = "service",
        Workload = "workload",
        Organization = "organization",
    }
}

/// Arguments of `assess_security_posture`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessArgs {
    /// Assessment scope; organization starts an org-wide run in the background (target all) and returns its run_id at once (a client that declares the io.modelcontextprotocol/tasks extension gets a task instead, task id = run id, polled with tasks/get)
    pub scope: Scope,
    /// Account id, region name, service name, or workload tag key=value
    #[schemars(length(max = 256))]
    pub target: String,
    /// Compliance frameworks to assess against
    #[serde(default = "cis_only")]
    #[schemars(length(min = 1))]
    pub frameworks: Vec<FrameworkName>,
    /// Minimum severity level to include
    #[serde(default = "default::medium")]
    pub severity_threshold: Threshold,
    /// Whether to include security recommendations
    #[serde(default = "default::yes")]
    pub include_recommendations: bool,
}

fn cis_only() -> Vec<FrameworkName> {
    vec![FrameworkName::cis()]
}

/// What `assess_security_posture` returns: an assessment, or (scope
/// `organization`) the id of the run it started.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum AssessOutput {
    /// Scopes account, region, service, workload.
    Assessment(Box<Assessment>),
    /// Scope organization.
    Started(RunStarted),
}

/// `assess_security_posture`: one scope now, or an org-wide run started in
/// the background (followed with tasks/get when the client takes tasks, or
/// `get_assessment_status`).
pub async fn assess(cx: &Cx<'_>, args: AssessArgs) -> Result<Answer, ToolError> {
    let backend = cx.backend;
    if args.scope == Scope::Organization {
        if cx.options.tasks {
            let (record, _) = runs::begin_org_run(backend, &args.target).await?;
            return Ok(Answer::Task(task_of(&record, TaskStatus::Working, Timestamp::now())));
        }
        return runs::start_org_assessment(backend, &args.target)
            .await
            .map(Answer::Output);
    }
    let mut frameworks = Vec::new();
    for name in &args.frameworks {
        let Some(f) = backend.framework(&name.0) else {
            return Err(ToolError::engine(format!("framework {} vanished", name.0)));
        };
        // A framework named twice is assessed once.
        if !frameworks
            .iter()
            .any(|known: &&posture_core::posture::frameworks::Framework| known.id == f.id)
        {
            frameworks.push(f);
        }
    }
    let now = Timestamp::now();
    let data = posture_data(backend, now).await;
    let known = assessment::Known::from(&data.inventories, &data.findings);
    let scope = args.scope.as_str();
    let parsed = assessment::Scope::parse(scope, &args.target, &known, &data.inventories)
        .map_err(|e| ToolError::validation("target", e.0, json!({"scope": scope})))?;
    let region = match &parsed {
        assessment::Scope::Region(r) => r.clone(),
        _ => backend.health.region(),
    };
    let request = assessment::Request {
        assessment_id: format!("PA-{}", uuid::Uuid::new_v4()),
        scope: parsed,
        target: args.target.clone(),
        frameworks,
        min_severity: args.severity_threshold.severity(),
        include_recommendations: args.include_recommendations,
        region,
        now,
    };
    let report = assessment::assess_scope(&request, &data.inventories, &data.findings, data.sources);
    let text = render_assessment(&report);
    ToolOutput::new(&report, text).map(Answer::Output)
}

fn render_assessment(r: &Assessment) -> String {
    let mut s = format!(
        "Posture of {} {}: risk {}, score {}{}; {} finding(s) ({} critical, {} high, {} medium, {} low)\n",
        r.scope,
        r.target,
        r.risk_level,
        score_text(r.overall_score),
        if r.score_partial {
            " (partial: some requirements UNKNOWN)"
        } else {
            ""
        },
        r.total_findings,
        r.critical_findings,
        r.high_findings,
        r.medium_findings,
        r.low_findings
    );
    for (name, f) in &r.compliance_status {
        let _ = writeln!(
            s,
            "- {name}: {} ({} passed, {} failed, {} unknown of {})",
            f.status, f.passed_controls, f.failed_controls, f.unknown_controls, f.total_controls
        );
    }
    for t in r.top_findings.iter().take(LISTED) {
        let _ = writeln!(
            s,
            "- [{}] {} ({}, {} resource(s))",
            t.severity, t.title, t.source_service, t.resource_count
        );
    }
    s
}

// ---------------------------------------------------------------- validation

/// Arguments of `validate_security_controls`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateArgs {
    /// Controls to verify: native check ids, Security Hub control ids, or '<framework> <requirement>'
    #[schemars(length(min = 1, max = 50), inner(length(max = CONTROL_ID_CHARS)))]
    pub control_ids: Vec<String>,
    /// An account id to restrict to (default: every account in scope)
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub target: Option<String>,
}

/// One validated control.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ValidatedControl {
    /// The id as given.
    pub control_id: String,
    /// How it was understood: `native check`, `Security Hub control`, `CIS requirement`, ...
    pub resolved_as: String,
    /// The verdict, its sources, failing resources and conflicts.
    pub result: compliance::ControlResult,
    /// The facts behind the verdict (at most 500 over all controls).
    pub evidence: Vec<compliance::Evidence>,
}

/// The `validate_security_controls` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ValidationReport {
    /// Id of this validation.
    pub validation_id: String,
    /// The account validated, or `all accounts`.
    pub target: String,
    /// Per control, in the order given.
    pub controls: Vec<ValidatedControl>,
    /// Requirement counts.
    pub summary: compliance::StatusCounts,
    /// Evidence items in total.
    pub evidence_total: usize,
    /// Where the facts came from.
    pub data_sources: DataSources,
    /// ISO 8601.
    pub generated_at: String,
}

/// `validate_security_controls`: each named control from every source that
/// can speak to it.
pub async fn validate(cx: &Cx<'_>, args: ValidateArgs) -> Result<ToolOutput, ToolError> {
    let backend = cx.backend;
    let mut resolved = Vec::new();
    for id in &args.control_ids {
        let r = validation::resolve(id, &backend.frameworks)
            .map_err(|why| ToolError::validation("control_ids", why, json!({"control_id": id})))?;
        resolved.push(r);
    }
    let now = Timestamp::now();
    let mut data = posture_data(backend, now).await;
    if let Some(account) = &args.target {
        let known = assessment::Known::from(&data.inventories, &data.findings);
        if !known.accounts.contains(account) {
            return Err(ToolError::validation(
                "target",
                format!("unknown account {account:?}; known: {}", known.accounts.join(", ")),
                json!({"allowed": known.accounts}),
            ));
        }
        data.inventories.retain(|i| &i.account_id == account);
        data.findings.retain(|f| &f.account_id == account);
    }
    let report = validation::validate(&resolved, &data.inventories, &data.findings, data.sources, now);
    let mut evidence = report.evidence.unwrap_or_default();
    let controls = resolved
        .iter()
        .zip(report.control_results)
        .map(|(r, result)| {
            let (mine, rest): (Vec<_>, Vec<_>) = evidence.drain(..).partition(|e| e.control_id == result.control_id);
            evidence = rest;
            ValidatedControl {
                control_id: result.control_id.clone(),
                resolved_as: r.kind.clone(),
                result,
                evidence: mine,
            }
        })
        .collect();
    let out = ValidationReport {
        validation_id: format!("VA-{}", uuid::Uuid::new_v4()),
        target: args.target.unwrap_or_else(|| "all accounts".into()),
        controls,
        summary: report.counts,
        evidence_total: report.evidence_total,
        data_sources: report.data_sources,
        generated_at: report.generated_at,
    };
    let text = render_validation(&out);
    ToolOutput::new(&out, text)
}

fn render_validation(r: &ValidationReport) -> String {
    let mut s = format!("Validated {} control(s) over {}:\n", r.controls.len(), r.target);
    for c in &r.controls {
        let _ = writeln!(
            s,
            "- {} ({}): {:?}{}{}",
            c.control_id,
            c.resolved_as,
            c.result.status,
            if c.result.failing_resources.is_empty() {
                String::new()
            } else {
                format!(", failing: {}", c.result.failing_resources.join(", "))
            },
            if c.result.conflict { " — sources disagree" } else { "" }
        );
    }
    s
}

// ----------------------------------------------------------- recommendations

super::args::choice! {
    /// How `recommend_security_improvements` orders its recommendations.
    pub enum Strategy {
        CostEffective = "cost-effective",
        HighImpact = "high-impact",
        QuickWins = "quick-wins",
    }
}

/// A security area of `recommend_security_improvements`: a check service or
/// a group of them ([`focus_areas`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FocusArea(pub String);

impl schemars::JsonSchema for FocusArea {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FocusArea".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<String> = focus_areas().into_iter().map(|(name, _)| name).collect();
        schemars::json_schema!({"type": "string", "enum": names})
    }
}

/// Focus areas `recommend_security_improvements` accepts: each check service,
/// plus groups of them.
pub fn focus_areas() -> Vec<(String, Vec<String>)> {
    let mut areas: Vec<(String, Vec<String>)> = Vec::new();
    for c in posture_core::posture::checks::CHECKS {
        if !areas.iter().any(|(n, _)| n == c.service) {
            areas.push((c.service.to_string(), vec![c.service.to_string()]));
        }
    }
    let group = |name: &str, members: &[&str]| (name.to_string(), members.iter().map(|m| m.to_string()).collect());
    areas.push(group("identity", &["IAM", "IAM Access Analyzer"]));
    areas.push(group("data-protection", &["S3", "KMS"]));
    areas.push(group("logging", &["CloudTrail", "Config"]));
    areas.push(group("network", &["EC2"]));
    areas.push(group("threat-detection", &["GuardDuty", "Security Hub"]));
    areas
}

/// Arguments of `recommend_security_improvements`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendArgs {
    /// Recommendation priority strategy
    #[serde(default = "high_impact")]
    pub priority: Strategy,
    /// Whether to identify safe automated remediation options (nothing is ever applied)
    #[serde(default)]
    pub auto_implement_safe: bool,
    /// Maximum number of recommendations to return; total_recommendations gives the count before the cut
    #[serde(default = "twenty")]
    #[schemars(range(min = 1, max = 50))]
    pub max_recommendations: u32,
    /// Security areas to focus on (empty = all)
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub focus_areas: Vec<FocusArea>,
}

fn high_impact() -> Strategy {
    Strategy::HighImpact
}

fn twenty() -> u32 {
    20
}

/// `recommend_security_improvements`: failed checks and controls as ranked
/// recommendations.
pub async fn recommend(cx: &Cx<'_>, args: RecommendArgs) -> Result<ToolOutput, ToolError> {
    let backend = cx.backend;
    let areas = focus_areas();
    let wanted: Vec<String> = args
        .focus_areas
        .iter()
        .filter_map(|f| areas.iter().find(|(name, _)| *name == f.0))
        .flat_map(|(_, services)| services.iter().map(|s| s.to_ascii_lowercase()))
        .collect();
    let now = Timestamp::now();
    let data = posture_data(backend, now).await;
    let outcomes: Vec<_> = compliance::outcomes(&data.inventories)
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    let mut recs = recommendations::derive(&outcomes, &data.findings, &backend.frameworks);
    if !wanted.is_empty() {
        recs.retain(|r| wanted.contains(&r.area.to_ascii_lowercase()));
    }
    if !args.auto_implement_safe {
        for r in &mut recs {
            r.automation_available = false;
            r.remediation_steps.iter_mut().for_each(|s| s.safe_to_automate = false);
        }
    }
    let strategy = args.priority.as_str();
    let report = RecommendationsReport::new(
        format!("RA-{}", uuid::Uuid::new_v4()),
        strategy,
        recommendations::rank(recs, strategy),
        args.max_recommendations as usize,
        data.sources,
        now,
    );
    let text = render_recommendations(&report);
    ToolOutput::new(&report, text)
}

fn render_recommendations(r: &RecommendationsReport) -> String {
    let mut s = format!(
        "{} recommendation(s) by {} ({} listed; {}):\n",
        r.total_recommendations,
        r.priority_strategy,
        r.recommendations.len(),
        r.summary.estimated_total_effort
    );
    for rec in r.recommendations.iter().take(LISTED) {
        let _ = writeln!(
            s,
            "- [{}] {} (impact {}, {} complexity, {} resource(s))",
            rec.priority,
            rec.title,
            rec.impact_score,
            rec.implementation_complexity,
            rec.affected_resources.len()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_are_bounded_in_number_and_length() {
        let schema = super::super::args::input_schema::<ValidateArgs>();
        assert_eq!(schema["properties"]["control_ids"]["items"]["maxLength"], 100);
        let long = serde_json::json!({"control_ids": ["x".repeat(1_000_000)]});
        let e = super::super::args::parse::<ValidateArgs>(long.as_object().unwrap(), &schema).unwrap_err();
        assert_eq!(e.context["field"], "control_ids");
        assert!(
            e.to_value().to_string().len() < 1_000,
            "the refusal does not echo the value"
        );
        let schema = super::super::args::input_schema::<ComplianceArgs>();
        assert_eq!(schema["properties"]["control_ids"]["items"]["maxLength"], 100);
    }

    #[test]
    fn strategies_are_the_cores() {
        let ours: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(ours, recommendations::STRATEGIES);
    }

    #[test]
    fn every_focus_area_names_known_services() {
        let services: Vec<&str> = posture_core::posture::checks::CHECKS
            .iter()
            .map(|c| c.service)
            .collect();
        for (name, members) in focus_areas() {
            assert!(!members.is_empty(), "{name}");
            for m in members {
                assert!(services.contains(&m.as_str()), "{name}: {m}");
            }
        }
    }
}
