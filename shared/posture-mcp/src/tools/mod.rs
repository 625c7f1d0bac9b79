//! The tool registry: each tool's name, description, input schema (the
//! seed's types, enums, ranges and defaults) and output schema.

use crate::error::ToolError;
use call::{Answer, Cx};
use futures::future::BoxFuture;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub mod args;
pub mod call;
pub mod findings;
pub mod meta;

pub use findings::ANALYZE_SECURITY_FINDINGS;
pub use meta::{GET_SERVER_INFO, HEALTH_CHECK};

/// `check_compliance_status`.
pub const CHECK_COMPLIANCE_STATUS: &str = "check_compliance_status";
/// Arguments `check_compliance_status` accepts.
pub const COMPLIANCE_ARGS: &[&str] = &["framework", "generate_report", "include_evidence", "control_ids"];

/// `assess_security_posture`.
pub const ASSESS_SECURITY_POSTURE: &str = "assess_security_posture";
/// Arguments `assess_security_posture` accepts.
pub const ASSESS_ARGS: &[&str] = &[
    "scope",
    "target",
    "frameworks",
    "severity_threshold",
    "include_recommendations",
];

/// `list_accounts`.
pub const LIST_ACCOUNTS: &str = "list_accounts";
/// Arguments `list_accounts` accepts.
pub const LIST_ACCOUNTS_ARGS: &[&str] = &["max_results", "next_token"];
/// `get_posture_history`.
pub const GET_POSTURE_HISTORY: &str = "get_posture_history";
/// Arguments `get_posture_history` accepts.
pub const HISTORY_ARGS: &[&str] = &["account_id", "framework", "days", "max_points"];
/// `compare_snapshots`.
pub const COMPARE_SNAPSHOTS: &str = "compare_snapshots";
/// Arguments `compare_snapshots` accepts.
pub const COMPARE_ARGS: &[&str] = &["account_id", "from_run_id", "to_run_id", "max_items"];
/// `get_assessment_status`.
pub const GET_ASSESSMENT_STATUS: &str = "get_assessment_status";
/// Arguments `get_assessment_status` accepts.
pub const STATUS_ARGS: &[&str] = &["run_id", "wait_seconds"];
/// Longest `wait_seconds` of `get_assessment_status`: the request must end
/// well within the Lambda Function URL / API Gateway timeouts (29 s).
pub const MAX_WAIT_SECONDS: i64 = 25;
/// `generate_security_report`.
pub const GENERATE_SECURITY_REPORT: &str = "generate_security_report";
/// Arguments `generate_security_report` accepts.
pub const REPORT_ARGS: &[&str] = &["report_type", "format", "run_id", "account_id"];

/// What `assess_security_posture` returns: an assessment, or (scope
/// `organization`) the id of the run it started.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum AssessOutput {
    /// Scopes account, region, service, workload.
    Assessment(Box<posture_core::assessment::Assessment>),
    /// Scope organization.
    Started(crate::history::RunStarted),
}

/// An object schema of `T` (MCP output schemas must be objects; an untagged
/// enum's schema is an `anyOf` of objects).
fn object_schema_of<T: schemars::JsonSchema>() -> Arc<JsonObject> {
    let mut schema = (*schema_of::<T>()).clone();
    schema.insert("type".to_string(), json!("object"));
    Arc::new(schema)
}

const ACCOUNT_ID: &str = "12-digit account id; omit for the whole organization";
const RUN_ID_PATTERN: &str = "^[0-9]{8}T[0-9]{6}Z-[a-z0-9-]{1,40}$";

/// `validate_security_controls`.
pub const VALIDATE_SECURITY_CONTROLS: &str = "validate_security_controls";
/// Arguments `validate_security_controls` accepts.
pub const VALIDATE_ARGS: &[&str] = &["control_ids", "target"];

/// `recommend_security_improvements`.
pub const RECOMMEND_SECURITY_IMPROVEMENTS: &str = "recommend_security_improvements";
/// Arguments `recommend_security_improvements` accepts.
pub const RECOMMEND_ARGS: &[&str] = &["priority", "auto_implement_safe", "max_recommendations", "focus_areas"];

/// Focus areas `recommend_security_improvements` accepts: each check service,
/// plus groups of them.
pub fn focus_areas() -> Vec<(String, Vec<String>)> {
    let mut areas: Vec<(String, Vec<String>)> = Vec::new();
    for c in posture_core::checks::CHECKS {
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

fn object(value: Value) -> Arc<JsonObject> {
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

/// The JSON schema of `T` as an MCP schema object.
pub fn schema_of<T: schemars::JsonSchema>() -> Arc<JsonObject> {
    object(serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default())
}

fn read_only(title: &str) -> ToolAnnotations {
    let mut a = ToolAnnotations::default();
    a.title = Some(title.to_string());
    a.read_only_hint = Some(true);
    a.destructive_hint = Some(false);
    a.idempotent_hint = Some(true);
    a.open_world_hint = Some(true);
    a
}

fn tool(name: &'static str, title: &str, description: &str, input: Value, output: Arc<JsonObject>) -> Tool {
    let mut t = Tool::new(name, description.to_string(), object(input));
    t.title = Some(title.to_string());
    t.output_schema = Some(output);
    t.annotations = Some(read_only(title));
    t
}

/// A tool whose arguments struct is its schema: its definition and handler.
pub struct ToolDef {
    /// The tool's name.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What it does, for the client's model.
    pub description: &'static str,
    /// The input schema, generated from the arguments struct.
    pub input_schema: fn() -> JsonObject,
    /// The output schema, generated from the output type.
    pub output_schema: fn() -> Arc<JsonObject>,
    /// Parses the arguments against the published schema and runs the tool.
    pub run: for<'a> fn(&'a Cx<'a>, &'a JsonObject, &'a JsonObject) -> BoxFuture<'a, Result<Answer, ToolError>>,
}

/// A [`ToolDef`] from the tool's arguments type, output type and handler.
macro_rules! typed_tool {
    (
        name: $name:expr,
        title: $title:expr,
        args: $args:ty,
        output: $output:ty,
        handler: $handler:path,
        description: $description:expr $(,)?
    ) => {{
        fn run<'a>(
            cx: &'a Cx<'a>,
            arguments: &'a JsonObject,
            schema: &'a JsonObject,
        ) -> BoxFuture<'a, Result<Answer, ToolError>> {
            Box::pin(async move {
                let parsed: $args = args::parse(arguments, schema)?;
                $handler(cx, parsed).await.map(Answer::from)
            })
        }
        ToolDef {
            name: $name,
            title: $title,
            description: $description,
            input_schema: args::input_schema::<$args>,
            output_schema: schema_of::<$output>,
            run,
        }
    }};
}

/// The tools defined by their arguments structs.
pub static TYPED: &[ToolDef] = &[
    typed_tool! {
        name: ANALYZE_SECURITY_FINDINGS,
        title: "Analyze security findings",
        args: findings::AnalyzeArgs,
        output: posture_core::analysis::FindingsAnalysis,
        handler: findings::analyze_findings,
        description: "Threat analysis of Security Hub and GuardDuty findings: de-duplicated findings, MITRE ATT&CK tactics and techniques, attack patterns (findings sharing a principal, resource or remote IP across several tactics, with an explained confidence), the threat landscape with its trend (second half of the window against the first), high-risk findings and a remediation plan derived from the findings present. If a source fails the result is partial and says which (coverage.sources).",
    },
    typed_tool! {
        name: HEALTH_CHECK,
        title: "Health check",
        args: meta::NoArgs,
        output: meta::HealthReport,
        handler: meta::health_check,
        description: "Checks the server and what it depends on: that AWS credentials resolve (STS GetCallerIdentity) and that Security Hub and GuardDuty are reachable and enabled in the configured region. Status is healthy when all are operational, degraded when a finding source is not, unhealthy when credentials fail.",
    },
    typed_tool! {
        name: GET_SERVER_INFO,
        title: "Server information",
        args: meta::NoArgs,
        output: meta::ServerInfoReport,
        handler: meta::server_info,
        description: "Server version, supported MCP protocol versions, the registered tools, the AWS services and frameworks in use, and the state of the analysis engines.",
    },
];

/// The published definition of typed tool `name`, its framework enums
/// filled with `frameworks`.
fn typed(name: &str, frameworks: &[String]) -> Tool {
    let Some(def) = TYPED.iter().find(|t| t.name == name) else {
        return Tool::new(name.to_string(), String::new(), Arc::new(JsonObject::new()));
    };
    let mut input = Value::Object((def.input_schema)());
    args::fill_frameworks(&mut input, frameworks);
    tool(def.name, def.title, def.description, input, (def.output_schema)())
}

/// Every registered tool, in the order `tools/list` shows them.
/// `frameworks` are the short names of the loaded frameworks.
pub fn definitions(frameworks: &[String]) -> Vec<Tool> {
    let mut tools = vec![
        tool(
            ASSESS_SECURITY_POSTURE,
            "Assess security posture",
            "Security posture of one scope: an account id, a region, a service (IAM, S3, EC2, CloudTrail, KMS, Config, GuardDuty, Security Hub, IAM Access Analyzer) or a workload (resources tagged key=value, given as target). Counts open findings and failed native checks at or above the threshold, scores each requested framework (passed / (passed + failed); unknown requirements are shown, not scored), lists the top findings and, optionally, recommendations. Unknown targets are a ValidationError.",
            json!({
                "type": "object",
                "properties": {
                    "scope": {"type": "string", "enum": ["account", "region", "service", "workload", "organization"], "description": "Assessment scope; organization starts an org-wide run in the background (target all) and returns its run_id at once (a client that declares the io.modelcontextprotocol/tasks extension gets a task instead, task id = run id, polled with tasks/get)"},
                    "target": {"type": "string", "description": "Account id, region name, service name, or workload tag key=value"},
                    "frameworks": {
                        "type": "array",
                        "items": {"type": "string", "enum": frameworks},
                        "default": ["CIS"],
                        "description": "Compliance frameworks to assess against"
                    },
                    "severity_threshold": {
                        "type": "string",
                        "enum": ["LOW", "MEDIUM", "HIGH", "CRITICAL"],
                        "default": "MEDIUM",
                        "description": "Minimum severity level to include"
                    },
                    "include_recommendations": {"type": "boolean", "default": true, "description": "Whether to include security recommendations"}
                },
                "required": ["scope", "target"],
                "additionalProperties": false
            }),
            object_schema_of::<AssessOutput>(),
        ),
        typed(ANALYZE_SECURITY_FINDINGS, frameworks),
        tool(
            CHECK_COMPLIANCE_STATUS,
            "Check compliance status",
            "Assesses one compliance framework over every account in scope: each requirement decided from the native read-only checks (on the collected inventories) and from Security Hub control findings, following Security Hub's rules (FAILED if any resource fails, PASSED if all pass, NOT_APPLICABLE, UNKNOWN when there is no data, MANUAL when not automatable); conflicts between the two sources are flagged. Score = passed / (passed + failed); unknown and manual requirements are counted, never scored. Returns gaps with priority and effort, a remediation timeline and, on request, the evidence behind each verdict. generate_report=false returns the summary, gaps and timeline without per-control results.",
            json!({
                "type": "object",
                "properties": {
                    "framework": {
                        "type": "string",
                        "enum": frameworks,
                        "description": "Compliance framework to assess"
                    },
                    "generate_report": {
                        "type": "boolean",
                        "default": true,
                        "description": "Whether to include the per-control results"
                    },
                    "include_evidence": {
                        "type": "boolean",
                        "default": false,
                        "description": "Whether to include the API facts and findings behind each verdict (at most 500 items; evidence_total gives the count)"
                    },
                    "control_ids": {
                        "type": "array",
                        "items": {"type": "string"},
                        "default": [],
                        "maxItems": 200,
                        "description": "Specific requirement ids to assess (empty = all)"
                    }
                },
                "required": ["framework"],
                "additionalProperties": false
            }),
            schema_of::<posture_core::compliance::ComplianceReport>(),
        ),
        tool(
            RECOMMEND_SECURITY_IMPROVEMENTS,
            "Recommend security improvements",
            "Prioritized recommendations derived from failed native checks (all accounts in scope) and failed Security Hub controls no native check covers: impact score with its basis (severity + affected resources + framework requirements helped), complexity, cost, steps with the AWS API actions involved, and the frameworks each fix improves. Strategies: high-impact (impact first), quick-wins (low complexity first), cost-effective (impact per hour of effort). The server is read-only: auto_implement_safe only marks which steps your automation could apply safely.",
            json!({
                "type": "object",
                "properties": {
                    "priority": {
                        "type": "string",
                        "enum": ["cost-effective", "high-impact", "quick-wins"],
                        "default": "high-impact",
                        "description": "Recommendation priority strategy"
                    },
                    "auto_implement_safe": {
                        "type": "boolean",
                        "default": false,
                        "description": "Whether to identify safe automated remediation options (nothing is ever applied)"
                    },
                    "max_recommendations": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 50,
                        "default": 20,
                        "description": "Maximum number of recommendations to return; total_recommendations gives the count before the cut"
                    },
                    "focus_areas": {
                        "type": "array",
                        "items": {"type": "string", "enum": focus_areas().into_iter().map(|(n, _)| n).collect::<Vec<_>>()},
                        "default": [],
                        "description": "Security areas to focus on (empty = all)"
                    }
                },
                "additionalProperties": false
            }),
            schema_of::<posture_core::recommendations::RecommendationsReport>(),
        ),
        tool(
            VALIDATE_SECURITY_CONTROLS,
            "Validate security controls",
            "Verifies named controls from every source that can speak to each: a native check id (iam.root_mfa), a Security Hub control id (S3.1: its findings plus the native checks mapped to it) or a framework requirement (\"CIS 1.14\", \"NIST AC-2\"). Per control: status (PASSED, FAILED, NOT_APPLICABLE, UNKNOWN, MANUAL), each source's verdict, failing resources, conflicts between sources, and the evidence (API facts and findings, with source and timestamp).",
            json!({
                "type": "object",
                "properties": {
                    "control_ids": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "maxItems": 50,
                        "description": "Controls to verify: native check ids, Security Hub control ids, or '<framework> <requirement>'"
                    },
                    "target": {"type": "string", "description": "An account id to restrict to (default: every account in scope)"}
                },
                "required": ["control_ids"],
                "additionalProperties": false
            }),
            schema_of::<ValidationReport>(),
        ),
        tool(
            LIST_ACCOUNTS,
            "List accounts",
            "Accounts in scope of the latest complete org-wide run: name, status, whether that run assessed them (or why not), when each was last assessed and its latest score per framework. Paginated by next_token.",
            json!({
                "type": "object",
                "properties": {
                    "max_results": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50, "description": "Accounts per page"},
                    "next_token": {"type": "string", "description": "From the previous page"}
                },
                "additionalProperties": false
            }),
            schema_of::<crate::history::AccountList>(),
        ),
        tool(
            GET_POSTURE_HISTORY,
            "Posture history",
            "Score series of one framework over complete org-wide runs in the last N days, for the organization (pooled) or one account, with failure and open-finding counts per run and the trend (last scored point against the first; within 1 point is stable). Runs that failed are listed apart, never as history.",
            json!({
                "type": "object",
                "properties": {
                    "account_id": {"type": "string", "pattern": "^[0-9]{12}$", "description": ACCOUNT_ID},
                    "framework": {"type": "string", "enum": frameworks, "default": "CIS"},
                    "days": {"type": "integer", "minimum": 1, "maximum": 3650, "default": 90, "description": "How far back"},
                    "max_points": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100, "description": "Latest runs shown; earlier ones are counted in points_omitted"}
                },
                "additionalProperties": false
            }),
            schema_of::<crate::history::PostureHistory>(),
        ),
        tool(
            COMPARE_SNAPSHOTS,
            "Compare snapshots",
            "Drift between two complete runs (default: the latest against the one before): new, resolved and persisting failing resources, requirement status changes and score deltas, for the organization or one account; accounts added or no longer assessed. Lists are cut at max_items and say so.",
            json!({
                "type": "object",
                "properties": {
                    "account_id": {"type": "string", "pattern": "^[0-9]{12}$", "description": ACCOUNT_ID},
                    "from_run_id": {"type": "string", "pattern": RUN_ID_PATTERN, "description": "Earlier run (default: the complete run before to_run_id)"},
                    "to_run_id": {"type": "string", "pattern": RUN_ID_PATTERN, "description": "Later run (default: the latest complete run)"},
                    "max_items": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50, "description": "Items per list per account"}
                },
                "additionalProperties": false
            }),
            schema_of::<crate::history::Comparison>(),
        ),
        tool(
            GET_ASSESSMENT_STATUS,
            "Assessment status",
            "State and progress of an org-wide run (QUEUED, RUNNING, COMPLETE, FAILED; a run past its deadline is FAILED and marked abandoned): accounts done of accounts in scope, accounts that could not be assessed with the reason, and once complete the org summary and report files.",
            json!({
                "type": "object",
                "properties": {
                    "run_id": {"type": "string", "pattern": RUN_ID_PATTERN, "description": "From assess_security_posture (scope organization), list_accounts or get_posture_history"},
                    "wait_seconds": {"type": "integer", "minimum": 0, "maximum": MAX_WAIT_SECONDS, "default": 0, "description": "Wait up to this many seconds for a QUEUED or RUNNING run to end before answering (the store is re-read every 250 ms); with a progressToken in the request's _meta, notifications/progress (accounts done of accounts in scope) are sent whenever an account is done, and the reply comes as an SSE stream. At most 25 s: the request must end within the Lambda Function URL / API Gateway timeouts; call again to keep waiting."}
                },
                "required": ["run_id"],
                "additionalProperties": false
            }),
            schema_of::<crate::history::RunStatus>(),
        ),
        tool(
            GENERATE_SECURITY_REPORT,
            "Generate security report",
            "Writes a report of a complete run (default: the latest) for the organization or one account and returns where it lies (a presigned S3 URL valid one hour in AWS, a file path locally) with the headline numbers. executive: scores, severities, worst accounts (html adds charts: score per framework, severity distribution, trend, worst accounts); technical: every failing resource and every gap; compliance: every requirement across accounts. html is executive only.",
            json!({
                "type": "object",
                "properties": {
                    "report_type": {"type": "string", "enum": ["executive", "technical", "compliance"], "default": "executive"},
                    "format": {"type": "string", "enum": ["json", "markdown", "html"], "default": "markdown"},
                    "run_id": {"type": "string", "pattern": RUN_ID_PATTERN, "description": "Default: the latest complete run"},
                    "account_id": {"type": "string", "pattern": "^[0-9]{12}$", "description": ACCOUNT_ID}
                },
                "additionalProperties": false
            }),
            schema_of::<crate::history::GeneratedReport>(),
        ),
        typed(HEALTH_CHECK, frameworks),
        typed(GET_SERVER_INFO, frameworks),
    ];
    // These two write to the product's own store (a queued run, a report
    // file); nothing touches the inspected accounts, but they are not reads.
    for t in tools
        .iter_mut()
        .filter(|t| [ASSESS_SECURITY_POSTURE, GENERATE_SECURITY_REPORT].contains(&t.name.as_ref()))
    {
        if let Some(a) = t.annotations.as_mut() {
            a.read_only_hint = Some(false);
            a.idempotent_hint = Some(false);
        }
    }
    tools
}

/// One validated control.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ValidatedControl {
    /// The id as given.
    pub control_id: String,
    /// How it was understood: `native check`, `Security Hub control`, `CIS requirement`, ...
    pub resolved_as: String,
    /// The verdict, its sources, failing resources and conflicts.
    pub result: posture_core::compliance::ControlResult,
    /// The facts behind the verdict (at most 500 over all controls).
    pub evidence: Vec<posture_core::compliance::Evidence>,
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
    pub summary: posture_core::compliance::StatusCounts,
    /// Evidence items in total.
    pub evidence_total: usize,
    /// Where the facts came from.
    pub data_sources: posture_core::compliance::DataSources,
    /// ISO 8601.
    pub generated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_object_schemas_and_unique_names() {
        let defs = definitions(&["CIS".to_string()]);
        let mut names: Vec<&str> = defs.iter().map(|t| t.name.as_ref()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), defs.len());
        for t in &defs {
            assert_eq!(t.input_schema.get("type"), Some(&json!("object")), "{}", t.name);
            let out = t.output_schema.as_ref().unwrap();
            assert_eq!(out.get("type"), Some(&json!("object")), "{}", t.name);
        }
    }

    #[test]
    fn typed_tools_publish_the_schema_of_their_arguments_struct() {
        let names = ["CIS".to_string(), "NIST".to_string()];
        let defs = definitions(&names);
        for def in TYPED {
            let published = defs.iter().find(|t| t.name == def.name).unwrap();
            let mut generated = Value::Object((def.input_schema)());
            args::fill_frameworks(&mut generated, &names);
            assert_eq!(
                Value::Object((*published.input_schema).clone()),
                generated,
                "{}",
                def.name
            );
        }
    }

    #[test]
    fn analyze_schema_carries_the_seed_ranges() {
        let defs = definitions(&["CIS".to_string()]);
        let analyze = defs.iter().find(|t| t.name == ANALYZE_SECURITY_FINDINGS).unwrap();
        let props = &analyze.input_schema["properties"];
        assert_eq!(props["max_findings"]["maximum"], 1000);
        assert_eq!(props["max_findings"]["default"], 500);
        assert_eq!(props["time_range_days"]["maximum"], 365);
        assert_eq!(props["severity_threshold"]["default"], "MEDIUM");
        assert_eq!(props.as_object().unwrap().len(), 4);
    }
}
