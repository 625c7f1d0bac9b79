//! The tool registry: one [`ToolDef`] per tool, made from its arguments
//! struct (the input schema, the validator and the documentation at once),
//! its output type and its handler. A tool lives in the module of its family
//! and is registered here with one `typed_tool!` entry.

use crate::backend::Backend;
use crate::error::ToolError;
use call::{Answer, Cx};
use futures::future::BoxFuture;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};
use std::sync::Arc;

pub mod account;
pub mod args;
pub mod call;
pub mod exceptions;
pub mod explore;
pub mod findings;
pub mod history;
pub mod investigate;
pub mod meta;
pub mod posture;
pub mod report;
pub mod runs;
pub mod scope;
mod stored;

pub use account::{GET_ACCOUNT_INFO, VALIDATE_MEMBER_ACCESS};
pub use exceptions::LIST_EXCEPTIONS;
pub use explore::{AWS_READ, DESCRIBE_AWS_OPERATION, SUGGEST_AWS_READ};
pub use findings::ANALYZE_SECURITY_FINDINGS;
pub use history::{COMPARE_SNAPSHOTS, GET_POSTURE_HISTORY, LIST_ACCOUNTS};
pub use investigate::INVESTIGATE_SECURITY_INCIDENT;
pub use meta::{GET_SERVER_INFO, HEALTH_CHECK};
pub use posture::{
    ASSESS_SECURITY_POSTURE, CHECK_COMPLIANCE_STATUS, RECOMMEND_SECURITY_IMPROVEMENTS, VALIDATE_SECURITY_CONTROLS,
};
pub use report::GENERATE_SECURITY_REPORT;
pub use runs::GET_ASSESSMENT_STATUS;

/// The JSON schema of `T` as an MCP schema object. MCP output schemas must
/// be objects: an untagged enum's schema (an `anyOf` of objects) is marked so.
pub fn schema_of<T: schemars::JsonSchema>() -> Arc<JsonObject> {
    let mut schema = match serde_json::to_value(schemars::schema_for!(T)) {
        Ok(Value::Object(o)) => o,
        _ => JsonObject::new(),
    };
    schema.insert("type".to_string(), json!("object"));
    Arc::new(schema)
}

/// A tool's annotations: it never touches the inspected accounts; a tool
/// that is not `read_only` writes to the product's own store (a queued run,
/// a report file), so it is neither read-only nor idempotent.
fn annotations(title: &str, read_only: bool) -> ToolAnnotations {
    let mut a = ToolAnnotations::default();
    a.title = Some(title.to_string());
    a.read_only_hint = Some(read_only);
    a.destructive_hint = Some(false);
    a.idempotent_hint = Some(read_only);
    a.open_world_hint = Some(true);
    a
}

/// A tool: its published definition and its handler.
pub struct ToolDef {
    /// The tool's name.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What it does, for the client's model.
    pub description: &'static str,
    /// False when it writes to the product's own store.
    pub read_only: bool,
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
        read_only: $read_only:expr,
        description: $description:expr $(,)?
    ) => {{
        fn run<'a>(
            cx: &'a Cx<'a>,
            arguments: &'a JsonObject,
            schema: &'a JsonObject,
        ) -> BoxFuture<'a, Result<Answer, ToolError>> {
            Box::pin(async move {
                let parsed: $args = args::parse(arguments, schema).map_err(|e| unloaded_frameworks(cx.backend, e))?;
                $handler(cx, parsed).await.map(Answer::from)
            })
        }
        ToolDef {
            name: $name,
            title: $title,
            description: $description,
            read_only: $read_only,
            input_schema: args::input_schema::<$args>,
            output_schema: schema_of::<$output>,
            run,
        }
    }};
}

/// A refused framework name, when some framework files could not be loaded:
/// the framework asked for may be one of them, so the error says so.
fn unloaded_frameworks(backend: &Backend, refusal: ToolError) -> ToolError {
    let field = refusal.context.get("field").and_then(Value::as_str);
    if backend.framework_errors.is_empty() || !matches!(field, Some("framework" | "frameworks")) {
        return refusal;
    }
    ToolError::framework(
        format!(
            "{} (and {} framework file(s) could not be loaded)",
            refusal.detail,
            backend.framework_errors.len()
        ),
        &backend.framework_errors,
    )
}

/// Every tool, in the order `tools/list` shows them.
pub static TOOLS: &[ToolDef] = &[
    typed_tool! {
        name: ASSESS_SECURITY_POSTURE,
        title: "Assess security posture",
        args: posture::AssessArgs,
        output: posture::AssessOutput,
        handler: posture::assess,
        read_only: false,
        description: "Security posture of one scope: an account id, a region, a service (IAM, S3, EC2, CloudTrail, KMS, Config, GuardDuty, Security Hub, IAM Access Analyzer) or a workload (resources tagged key=value, given as target). Counts open findings and failed native checks at or above the threshold, scores each requested framework (passed / (passed + failed); unknown requirements are shown, not scored), lists the top findings and, optionally, recommendations. Unknown targets are a ValidationError.",
    },
    typed_tool! {
        name: ANALYZE_SECURITY_FINDINGS,
        title: "Analyze security findings",
        args: findings::AnalyzeArgs,
        output: scope::Served<posture_core::findings::analysis::FindingsAnalysis>,
        handler: findings::analyze_findings,
        read_only: true,
        description: "Threat analysis of the organization's Security Hub and GuardDuty findings: by default those of the latest complete assessment run (every account through its collector role, every enabled region; as_of says when), or with freshness=live the sources this server reads now. Filters: account_ids, regions, resource (ARN or id), principal (ARN, name or access key id), finding_types (type prefixes). Every count is over all matching findings; max_findings bounds what is correlated and listed. coverage says which accounts and regions were read and what could not be. Returns de-duplicated findings, MITRE ATT&CK tactics and techniques, attack patterns (findings sharing a principal, resource or remote IP across several tactics, with an explained confidence), the threat landscape with its trend (second half of the window against the first), high-risk findings and a remediation plan derived from the findings present. If a source fails the result is partial and says which (coverage.sources).",
    },
    typed_tool! {
        name: INVESTIGATE_SECURITY_INCIDENT,
        title: "Investigate security incident",
        args: investigate::InvestigateArgs,
        output: scope::Served<posture_core::investigation::Investigation>,
        handler: investigate::investigate,
        read_only: true,
        description: "What happened around exactly one subject: a finding id (Security Hub or GuardDuty), an IAM principal (ARN or access key id), a resource (ARN or id) or an IP address. Related findings (same principal, access key or IP, GuardDuty attack sequences and their signals) across the organization; CloudTrail management events (LookupEvents in the related Regions plus us-east-1, 90 days at most) of every account involved, following roles assumed into other accounts; one timeline in time order; actors (principals, access keys, source IPs, user agents: first/last seen, new with the incident or seen before); the blast radius of the principals (policies, sensitive access, roles assumed); ATT&CK tactics; containment and eradication steps with the AWS action and documentation (advice only: nothing is changed); the evidence ids; and coverage (what could not be read and why). Default window: 24 hours before the first related finding to now.",
    },
    typed_tool! {
        name: CHECK_COMPLIANCE_STATUS,
        title: "Check compliance status",
        args: posture::ComplianceArgs,
        output: scope::Served<posture_core::posture::compliance::ComplianceReport>,
        handler: posture::check_compliance,
        read_only: true,
        description: "Assesses one compliance framework over every account in scope: each requirement decided from the native read-only checks (on the collected inventories) and from Security Hub control findings, following Security Hub's rules (FAILED if any resource fails, PASSED if all pass, NOT_APPLICABLE, UNKNOWN when there is no data, MANUAL when not automatable); conflicts between the two sources are flagged. Score = passed / (passed + failed); unknown and manual requirements are counted, never scored. Returns gaps with priority and effort, a remediation timeline and, on request, the evidence behind each verdict. generate_report=false returns the summary, gaps and timeline without per-control results.",
    },
    typed_tool! {
        name: RECOMMEND_SECURITY_IMPROVEMENTS,
        title: "Recommend security improvements",
        args: posture::RecommendArgs,
        output: scope::Served<posture_core::posture::recommendations::RecommendationsReport>,
        handler: posture::recommend,
        read_only: true,
        description: "Prioritized recommendations derived from failed native checks (all accounts in scope) and failed Security Hub controls no native check covers: impact score with its basis (severity + affected resources + framework requirements helped), complexity, cost, steps with the AWS API actions involved, and the frameworks each fix improves. Strategies: high-impact (impact first), quick-wins (low complexity first), cost-effective (impact per hour of effort). The server is read-only: auto_implement_safe only marks which steps your automation could apply safely.",
    },
    typed_tool! {
        name: VALIDATE_SECURITY_CONTROLS,
        title: "Validate security controls",
        args: posture::ValidateArgs,
        output: scope::Served<posture::ValidationReport>,
        handler: posture::validate,
        read_only: true,
        description: "Verifies named controls from every source that can speak to each: a native check id (iam.root_mfa), a Security Hub control id (S3.1: its findings plus the native checks mapped to it) or a framework requirement (\"CIS 1.14\", \"NIST AC-2\"). Per control: status (PASSED, FAILED, NOT_APPLICABLE, UNKNOWN, MANUAL), each source's verdict, failing resources, conflicts between sources, and the evidence (API facts and findings, with source and timestamp).",
    },
    typed_tool! {
        name: LIST_ACCOUNTS,
        title: "List accounts",
        args: history::ListAccountsArgs,
        output: history::AccountList,
        handler: history::list_accounts,
        read_only: true,
        description: "Accounts in scope of the latest complete org-wide run: name, status, whether that run assessed them (or why not), when each was last assessed and its latest score per framework. Paginated by next_token.",
    },
    typed_tool! {
        name: GET_POSTURE_HISTORY,
        title: "Posture history",
        args: history::HistoryArgs,
        output: history::PostureHistory,
        handler: history::posture_history,
        read_only: true,
        description: "Score series of one framework over complete org-wide runs in the last N days, for the organization (pooled) or one account, with failure and open-finding counts per run and the trend (last scored point against the first; within 1 point is stable). Runs that failed are listed apart, never as history.",
    },
    typed_tool! {
        name: COMPARE_SNAPSHOTS,
        title: "Compare snapshots",
        args: history::CompareArgs,
        output: history::Comparison,
        handler: history::compare,
        read_only: true,
        description: "Drift between two complete runs (default: the latest against the one before): new, resolved and persisting failing resources, requirement status changes and score deltas, for the organization or one account; accounts added or no longer assessed. Lists are cut at max_items and say so.",
    },
    typed_tool! {
        name: GET_ASSESSMENT_STATUS,
        title: "Assessment status",
        args: runs::StatusArgs,
        output: runs::RunStatus,
        handler: runs::assessment_status,
        read_only: true,
        description: "State and progress of an org-wide run (QUEUED, RUNNING, COMPLETE, FAILED; a run past its deadline is FAILED and marked abandoned): accounts done of accounts in scope, accounts that could not be assessed with the reason, and once complete the org summary and report files.",
    },
    typed_tool! {
        name: GENERATE_SECURITY_REPORT,
        title: "Generate security report",
        args: report::ReportArgs,
        output: report::GeneratedReport,
        handler: report::generate_report,
        read_only: false,
        description: "Writes a report of a complete run (default: the latest) for the organization or one account and returns where it lies (a presigned S3 URL valid one hour in AWS, a file path locally) with the headline numbers. executive: scores, severities, worst accounts (html adds charts: score per framework, severity distribution, trend, worst accounts); technical: every failing resource and every gap; compliance: every requirement across accounts. html is executive only.",
    },
    typed_tool! {
        name: AWS_READ,
        title: "Read AWS (read-only API call)",
        args: explore::AwsReadArgs,
        output: explore::AwsReadOutput,
        handler: explore::aws_read,
        read_only: true,
        description: "Runs one read-only AWS API operation (service and operation as the SDKs name them, parameters in the API's own JSON shape) in one, several or all accounts of the organization (members through their explorer role) and one, several or all enabled Regions, following the operation's paginator up to max_pages and max_items. Only operations whose IAM action is List or Read in the Service Authorization Reference run, never one on the deny list (secret values, credentials and tokens, object, table, log and stream data) or refused by this deployment's lists: a refusal is a ValidationError before any request is sent. Results per account and Region with the response as the API documents it, next_token where paging stopped, and each failure's reason; answers above max_response_bytes have their largest lists cut, every cut listed in trimmed.",
    },
    typed_tool! {
        name: SUGGEST_AWS_READ,
        title: "Suggest AWS reads",
        args: explore::SuggestArgs,
        output: explore::SuggestOutput,
        handler: explore::suggest_aws_read,
        read_only: true,
        description: "From a question in plain words (\"which lambda functions use a deprecated runtime\"), the read operations that answer it, best first: service, operation, access level, IAM action, the AWS documentation's summary, the required parameters and whether it pages. Only operations aws_read would run are suggested; matching ones it refuses are listed with the reason. Works on the embedded AWS service models (no AWS call).",
    },
    typed_tool! {
        name: DESCRIBE_AWS_OPERATION,
        title: "Describe AWS operation",
        args: explore::DescribeArgs,
        output: posture_explorer::describe::OperationDoc,
        handler: explore::describe_aws_operation,
        read_only: true,
        description: "The input and output shape of one read operation aws_read may run (member names, types, required members, allowed values, bounds, nested structures) and its paging (token and page-size parameters, the lists joined across pages), to build a correct aws_read call. An operation aws_read refuses is a ValidationError saying why. No AWS call.",
    },
    typed_tool! {
        name: LIST_EXCEPTIONS,
        title: "List accepted risks",
        args: exceptions::ListExceptionsArgs,
        output: scope::Served<exceptions::ExceptionsList>,
        handler: exceptions::list_exceptions,
        read_only: true,
        description: "The accepted risks of the reviewed exceptions file (POSTURE_EXCEPTIONS), each with its control, scope, reason, owner, dates and state on the evidence's day, judged against the latest run (or live): active, expiring within N days, expired (its failures count again) or stale (covers no failure). A file that cannot be used is reported with its location. Posture answers show the failures each exception suppresses; exceptions are changed only by a reviewed change to the file.",
    },
    typed_tool! {
        name: GET_ACCOUNT_INFO,
        title: "Account information",
        args: args::NoArgs,
        output: account::AccountInfo,
        handler: account::get_account_info,
        read_only: true,
        description: "Who the server is in AWS: its account and principal (STS GetCallerIdentity), its Region, and the organization (id, management account, root) when the account may list it, or why not. Credentials are never shown.",
    },
    typed_tool! {
        name: VALIDATE_MEMBER_ACCESS,
        title: "Validate member access",
        args: account::ValidateAccessArgs,
        output: account::AccessReport,
        handler: account::validate_member_access,
        read_only: true,
        description: "The onboarding check after deploying the member StackSet, for one, several or all members: can the server assume the member role (with the ExternalId), and the explorer role when aws_read is on; then one dry read of every inventory section and finding source in one Region: which answer, which are off, and the IAM actions AWS refused (missing_permissions). ready when entered and nothing was refused for want of a permission.",
    },
    typed_tool! {
        name: HEALTH_CHECK,
        title: "Health check",
        args: args::NoArgs,
        output: meta::HealthReport,
        handler: meta::health_check,
        read_only: true,
        description: "Checks the server and what it depends on: that AWS credentials resolve (STS GetCallerIdentity) and that Security Hub and GuardDuty are reachable and enabled in the configured region. Status is healthy when all are operational, degraded when a finding source is not, unhealthy when credentials fail.",
    },
    typed_tool! {
        name: GET_SERVER_INFO,
        title: "Server information",
        args: args::NoArgs,
        output: meta::ServerInfoReport,
        handler: meta::server_info,
        read_only: true,
        description: "Server version, supported MCP protocol versions, the registered tools, the AWS services and frameworks in use, and the state of the analysis engines.",
    },
];

/// The published definitions, framework enums filled with `frameworks` (the
/// short names of the loaded frameworks), in registry order.
pub fn definitions(frameworks: &[String]) -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|def| {
            let mut input = Value::Object((def.input_schema)());
            args::fill_frameworks(&mut input, frameworks);
            let input = Arc::new(input.as_object().cloned().unwrap_or_default());
            let mut t = Tool::new(def.name, def.description, input);
            t.title = Some(def.title.to_string());
            t.output_schema = Some((def.output_schema)());
            t.annotations = Some(annotations(def.title, def.read_only));
            t
        })
        .collect()
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
        for def in TOOLS {
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
        // The seed's four, then the organization-wide selection.
        let mut names: Vec<&str> = props.as_object().unwrap().keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "account_ids",
                "finding_types",
                "freshness",
                "include_remediation",
                "max_findings",
                "organizational_unit",
                "principal",
                "regions",
                "resource",
                "severity_threshold",
                "time_range_days"
            ]
        );
    }
}
