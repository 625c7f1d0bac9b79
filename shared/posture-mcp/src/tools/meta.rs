//! `health_check` and `get_server_info`: the server and what it depends on.

use super::account::{GET_ACCOUNT_INFO, VALIDATE_MEMBER_ACCESS};
use super::args::NoArgs;
use super::call::{Cx, ToolOutput};
use super::exceptions::LIST_EXCEPTIONS;
use super::explore::{AWS_READ, DESCRIBE_AWS_OPERATION, SUGGEST_AWS_READ};
use super::findings::ANALYZE_SECURITY_FINDINGS;
use super::history::{COMPARE_SNAPSHOTS, GET_POSTURE_HISTORY, LIST_ACCOUNTS};
use super::investigate::INVESTIGATE_SECURITY_INCIDENT;
use super::report::GENERATE_SECURITY_REPORT;
use super::runs::GET_ASSESSMENT_STATUS;
use super::{
    ASSESS_SECURITY_POSTURE, CHECK_COMPLIANCE_STATUS, RECOMMEND_SECURITY_IMPROVEMENTS, VALIDATE_SECURITY_CONTROLS,
};
use crate::error::ToolError;
use crate::serving::Latest;
use posture_core::findings::attack;
use posture_core::sources::DependencyStatus;
use rmcp::model::ProtocolVersion;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `health_check`.
pub const HEALTH_CHECK: &str = "health_check";
/// `get_server_info`.
pub const GET_SERVER_INFO: &str = "get_server_info";

/// Server name announced to clients.
pub const SERVER_NAME: &str = "posture-advisor";
/// Server version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The protocol revisions served: every Streamable HTTP revision rmcp
/// implements (2025-03-26 introduced the transport).
pub static PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

/// The server's overall health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Credentials resolve and every finding source is operational.
    Healthy,
    /// Credentials resolve; a finding source is not operational.
    Degraded,
    /// Credentials do not resolve.
    Unhealthy,
}

impl std::fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Unhealthy => "unhealthy",
        })
    }
}

/// `health_check`: probes each dependency.
pub async fn health_check(cx: &Cx<'_>, _args: NoArgs) -> Result<ToolOutput, ToolError> {
    let dependencies = cx.backend.health.probe().await;
    let credentials_ok = dependencies
        .iter()
        .filter(|d| d.name == "credentials")
        .all(|d| d.status == DependencyStatus::Operational);
    let all_ok = dependencies.iter().all(|d| d.status == DependencyStatus::Operational);
    let status = if !credentials_ok {
        HealthStatus::Unhealthy
    } else if all_ok {
        HealthStatus::Healthy
    } else {
        HealthStatus::Degraded
    };
    let mut services = BTreeMap::new();
    for component in ["mcp_server", "logging", "configuration"] {
        services.insert(component.to_string(), DependencyStatus::Operational);
    }
    for d in &dependencies {
        services.insert(d.name.clone(), d.status);
    }
    let report = HealthReport {
        server_name: SERVER_NAME.to_string(),
        version: VERSION.to_string(),
        status,
        timestamp: jiff::Timestamp::now().as_second(),
        configuration: HealthConfiguration {
            aws_region: cx.backend.health.region(),
            log_level: cx.backend.log_level.clone(),
            read_only_mode: true,
            data_source: cx.backend.mode.name().to_string(),
        },
        services,
        dependencies,
        metrics: posture_core::metrics::global().totals(),
    };
    let text = render(&report);
    ToolOutput::new(&report, text)
}

/// `get_server_info`: what this server is and offers.
pub async fn server_info(cx: &Cx<'_>, _args: NoArgs) -> Result<ToolOutput, ToolError> {
    let tool_names: Vec<String> = cx.tool_names.to_vec();
    let has = |n: &str| tool_names.iter().any(|t| t == n);
    let services: Vec<String> = cx.backend.sources.iter().map(|s| s.service().to_string()).collect();
    let mut capabilities = BTreeMap::new();
    capabilities.insert(
        "threat_analysis".to_string(),
        Capability {
            description: "Correlates GuardDuty and Security Hub findings into ATT&CK-mapped attack patterns with a remediation plan".to_string(),
            available: has(ANALYZE_SECURITY_FINDINGS),
            tools: vec![ANALYZE_SECURITY_FINDINGS.to_string()],
            supported_scopes: Vec::new(),
            aws_services: services.clone(),
            supported_frameworks: Vec::new(),
            features: vec![
                "de-duplication of GuardDuty findings seen through Security Hub".to_string(),
                "MITRE ATT&CK tactic and technique mapping".to_string(),
                "attack patterns from shared principals, resources and remote IPs".to_string(),
                "GuardDuty attack sequences".to_string(),
                "trend over the window's halves".to_string(),
                "remediation plan derived from the findings".to_string(),
            ],
        },
    );
    let mut investigated = services.clone();
    if cx.backend.events.is_some() {
        investigated.push("CloudTrail".to_string());
    }
    capabilities.insert(
        "incident_investigation".to_string(),
        Capability {
            description: "What happened around a finding, principal, resource or IP address: related findings, \
                          CloudTrail timeline across accounts, actors, blast radius and containment steps"
                .to_string(),
            available: has(INVESTIGATE_SECURITY_INCIDENT),
            tools: vec![INVESTIGATE_SECURITY_INCIDENT.to_string()],
            supported_scopes: Vec::new(),
            aws_services: investigated,
            supported_frameworks: Vec::new(),
            features: vec![
                "CloudTrail LookupEvents in the related Regions plus us-east-1, within AWS's 2 requests/s".to_string(),
                "roles assumed into other accounts followed one hop".to_string(),
                "actors new with the incident told from usual ones".to_string(),
                "containment and eradication advice with the AWS action (never executed)".to_string(),
            ],
        },
    );
    let frameworks = cx.backend.framework_names();
    let mut assessed_services: Vec<String> = posture_core::posture::checks::CHECKS
        .iter()
        .map(|c| c.service.to_string())
        .collect();
    assessed_services.sort();
    assessed_services.dedup();
    capabilities.insert(
        "security_assessment".to_string(),
        Capability {
            description: "Posture of an account, region, service, workload or the whole organization from native \
                          read-only checks, findings and frameworks, with ranked recommendations and control validation"
                .to_string(),
            available: has(ASSESS_SECURITY_POSTURE),
            tools: [
                ASSESS_SECURITY_POSTURE,
                RECOMMEND_SECURITY_IMPROVEMENTS,
                VALIDATE_SECURITY_CONTROLS,
            ]
            .into_iter()
            .filter(|t| has(t))
            .map(str::to_string)
            .collect(),
            supported_scopes: super::posture::Scope::ALL
                .iter()
                .map(|s| s.as_str().to_string())
                .collect(),
            aws_services: assessed_services,
            supported_frameworks: frameworks.clone(),
            features: vec![
                format!("{} native checks", posture_core::posture::checks::CHECKS.len()),
                "recommendations ranked by risk and effort".to_string(),
                "control validation by check id, Security Hub control id or framework requirement".to_string(),
                "organization scope: an org-wide run with progress, answered from its snapshots".to_string(),
            ],
        },
    );
    capabilities.insert(
        "compliance_monitoring".to_string(),
        Capability {
            description:
                "Framework requirements decided from native read-only checks and Security Hub control findings"
                    .to_string(),
            available: has(CHECK_COMPLIANCE_STATUS) && !frameworks.is_empty(),
            tools: [CHECK_COMPLIANCE_STATUS, LIST_EXCEPTIONS]
                .into_iter()
                .filter(|t| has(t))
                .map(str::to_string)
                .collect(),
            supported_scopes: Vec::new(),
            aws_services: services.clone(),
            supported_frameworks: frameworks,
            features: vec![
                format!("{} native checks", posture_core::posture::checks::CHECKS.len()),
                "Security Hub control status rules, conflicts flagged".to_string(),
                "evidence per verdict".to_string(),
                "custom frameworks from POSTURE_FRAMEWORKS_DIR".to_string(),
                "accepted risks from a reviewed exceptions file (POSTURE_EXCEPTIONS): SUPPRESSED, scores with and without"
                    .to_string(),
                "exports per account and run: CSV, OCSF 1.8.0, SARIF 2.1.0, ASFF (resources posture://exports/...)"
                    .to_string(),
            ],
        },
    );
    capabilities.insert(
        "aws_explorer".to_string(),
        Capability {
            description: "Any read-only AWS API operation in any account of the organization and any Regions, \
                          refused before sending unless its IAM action is List or Read and it is not on a deny list"
                .to_string(),
            available: has(AWS_READ) && cx.backend.explorer.is_some(),
            tools: vec![AWS_READ.to_string()],
            supported_scopes: vec!["organization".to_string(), "account".to_string(), "region".to_string()],
            aws_services: Vec::new(),
            supported_frameworks: Vec::new(),
            features: vec![
                "embedded AWS service models (json, rest-json, query, ec2, rest-xml protocols)".to_string(),
                "paging within a page and item budget, resumable next_token".to_string(),
                "answers trimmed to a byte budget, every cut listed".to_string(),
            ],
        },
    );
    capabilities.insert(
        "account_access".to_string(),
        Capability {
            description: "Who the server is in AWS and whether it can enter and read each member (the onboarding \
                          check after deploying the member StackSet)"
                .to_string(),
            available: (has(GET_ACCOUNT_INFO) || has(VALIDATE_MEMBER_ACCESS)) && cx.backend.access.is_some(),
            tools: [GET_ACCOUNT_INFO, VALIDATE_MEMBER_ACCESS]
                .into_iter()
                .filter(|t| has(t))
                .map(str::to_string)
                .collect(),
            supported_scopes: vec!["organization".to_string(), "account".to_string()],
            aws_services: vec!["STS".to_string(), "Organizations".to_string()],
            supported_frameworks: Vec::new(),
            features: vec![
                "member role and explorer role entered with the ExternalId".to_string(),
                "a dry read of every inventory section and finding source".to_string(),
                "the IAM actions AWS refused, by name".to_string(),
            ],
        },
    );
    capabilities.insert(
        "aws_api_catalog".to_string(),
        Capability {
            description:
                "Which read-only AWS operations answer a question, and how to call them: from the AWS service \
                          models embedded in the server (no AWS call)"
                    .to_string(),
            available: has(SUGGEST_AWS_READ) || has(DESCRIBE_AWS_OPERATION),
            tools: [SUGGEST_AWS_READ, DESCRIBE_AWS_OPERATION]
                .into_iter()
                .filter(|t| has(t))
                .map(str::to_string)
                .collect(),
            supported_scopes: Vec::new(),
            aws_services: Vec::new(),
            supported_frameworks: Vec::new(),
            features: vec![
                "ranking by operation names, AWS documentation summaries and a curated table of everyday words"
                    .to_string(),
                "input and output shapes with required members, allowed values and paging".to_string(),
            ],
        },
    );
    let answers_from = answers_from(cx).await;
    let history_tools = [
        LIST_ACCOUNTS,
        GET_POSTURE_HISTORY,
        COMPARE_SNAPSHOTS,
        GET_ASSESSMENT_STATUS,
        GENERATE_SECURITY_REPORT,
    ];
    capabilities.insert(
        "history_and_reports".to_string(),
        Capability {
            description: "Org-wide assessment runs kept as per-account snapshots: accounts, score history, drift \
                          between runs, run progress, and reports (also as MCP resources)"
                .to_string(),
            available: history_tools.iter().any(|t| has(t)) && answers_from.store_readable,
            tools: history_tools.iter().filter(|t| has(t)).map(|t| t.to_string()).collect(),
            supported_scopes: vec!["organization".to_string(), "account".to_string()],
            aws_services: Vec::new(),
            supported_frameworks: cx.backend.framework_names(),
            features: vec![
                "report resources posture://reports/{run_id}/{kind}.{format} (resources/list, resources/read)"
                    .to_string(),
                format!(
                    "markdown reports up to {} KiB returned inline",
                    super::report::INLINE_REPORT_BYTES / 1024
                ),
            ],
        },
    );
    let mut engines = BTreeMap::new();
    let (status, detail) = match attack::catalog() {
        Ok(c) => (
            "available",
            format!(
                "{} tactics, {} techniques, {} GuardDuty finding types mapped ({})",
                c.tactics.len(),
                c.techniques.len(),
                c.finding_types.len(),
                c.source
            ),
        ),
        Err(e) => ("unavailable", e.to_string()),
    };
    engines.insert(
        "threat_correlation".to_string(),
        Engine {
            description: "MITRE ATT&CK mapping and attack-pattern correlation".to_string(),
            status: status.to_string(),
            detail: detail.clone(),
        },
    );
    engines.insert(
        "remediation_planner".to_string(),
        Engine {
            description: "Remediation actions derived from finding types, resources, principals and IPs".to_string(),
            status: "available".to_string(),
            detail: "rules in posture-core::remediation".to_string(),
        },
    );
    let versions: Vec<String> = PROTOCOL_VERSIONS.iter().map(ToString::to_string).collect();
    let report = ServerInfoReport {
        server: ServerIdentity {
            name: SERVER_NAME.to_string(),
            version: VERSION.to_string(),
            description: "Security posture of an AWS organization over MCP (read-only)".to_string(),
            author: "Posture Advisor team".to_string(),
            mcp_version: versions.last().cloned().unwrap_or_default(),
            supported_protocol_versions: versions,
        },
        capabilities,
        intelligence_engines: engines,
        configuration: InfoConfiguration {
            aws_region: cx.backend.health.region(),
            read_only_mode: true,
            audit_logging: true,
            supported_auth_methods: cx.backend.auth_methods.clone(),
            data_source: cx.backend.mode.name().to_string(),
            answers_from,
        },
        tools: tool_names,
        frameworks: cx
            .backend
            .frameworks
            .iter()
            .map(|f| FrameworkInfo {
                short_name: f.short_name.clone(),
                id: f.id.clone(),
                name: f.name.clone(),
                version: f.version.clone(),
                requirements: f.requirements.len(),
                automated: f.requirements.iter().filter(|r| r.automated).count(),
                with_native_checks: f.requirements.iter().filter(|r| !r.checks.is_empty()).count(),
            })
            .collect(),
        framework_errors: cx.backend.framework_errors.iter().map(ToString::to_string).collect(),
        exceptions_file: cx.backend.exceptions.source.clone(),
        exceptions_loaded: cx.backend.exceptions.exceptions.len(),
        exceptions_error: cx.backend.exceptions.error.as_ref().map(ToString::to_string),
    };
    let text = render_info(&report);
    ToolOutput::new(&report, text)
}

/// The `health_check` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct HealthReport {
    /// Server name.
    pub server_name: String,
    /// Server version.
    pub version: String,
    /// Overall.
    pub status: HealthStatus,
    /// Unix seconds.
    pub timestamp: i64,
    /// Effective configuration.
    pub configuration: HealthConfiguration,
    /// Per component and dependency.
    pub services: BTreeMap<String, DependencyStatus>,
    /// Each dependency with the reason for its status.
    pub dependencies: Vec<posture_core::sources::DependencyHealth>,
    /// What this process has done since it started: tool calls, AWS calls
    /// (with retries, throttles, failures), runs and collections; the same
    /// numbers its CloudWatch EMF lines carry.
    pub metrics: posture_core::metrics::Totals,
}

/// Configuration part of the health report.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct HealthConfiguration {
    /// Region the sources read.
    pub aws_region: String,
    /// Log filter in effect.
    pub log_level: String,
    /// Always true: the server never changes the accounts it inspects.
    pub read_only_mode: bool,
    /// `demo` or `aws`.
    pub data_source: String,
}

/// The `get_server_info` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServerInfoReport {
    /// Identity.
    pub server: ServerIdentity,
    /// Capabilities, generated from the registered tools and sources.
    pub capabilities: BTreeMap<String, Capability>,
    /// Analysis engines and whether they loaded.
    pub intelligence_engines: BTreeMap<String, Engine>,
    /// Effective configuration.
    pub configuration: InfoConfiguration,
    /// Registered tool names.
    pub tools: Vec<String>,
    /// Loaded frameworks.
    pub frameworks: Vec<FrameworkInfo>,
    /// Custom framework files that could not be loaded, with where.
    pub framework_errors: Vec<String>,
    /// The accepted-risks file (`POSTURE_EXCEPTIONS`); `null`: none configured.
    pub exceptions_file: Option<String>,
    /// Exceptions read from it.
    pub exceptions_loaded: usize,
    /// Why the file is not applied, with the place in it.
    pub exceptions_error: Option<String>,
}

/// A loaded framework.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FrameworkInfo {
    /// What `framework` arguments accept.
    pub short_name: String,
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Requirements.
    pub requirements: usize,
    /// Automated requirements.
    pub automated: usize,
    /// Requirements with at least one native check.
    pub with_native_checks: usize,
}

/// Server identity.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ServerIdentity {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// What it is.
    pub description: String,
    /// Who makes it.
    pub author: String,
    /// Newest MCP protocol revision supported.
    pub mcp_version: String,
    /// All MCP protocol revisions supported.
    pub supported_protocol_versions: Vec<String>,
}

/// One capability area.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Capability {
    /// What it does.
    pub description: String,
    /// Whether a registered tool provides it and its data can be read.
    pub available: bool,
    /// Tools providing it.
    pub tools: Vec<String>,
    /// Assessment scopes (empty until a tool offers them).
    pub supported_scopes: Vec<String>,
    /// AWS services it reads.
    pub aws_services: Vec<String>,
    /// Compliance frameworks (empty until framework data is registered).
    pub supported_frameworks: Vec<String>,
    /// Features.
    pub features: Vec<String>,
}

/// One analysis engine.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Engine {
    /// What it does.
    pub description: String,
    /// available | unavailable.
    pub status: String,
    /// Why unavailable, or what data it loaded.
    pub detail: String,
}

/// Configuration part of the server info.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct InfoConfiguration {
    /// Region.
    pub aws_region: String,
    /// Always true.
    pub read_only_mode: bool,
    /// Always true: one JSON line per tool call.
    pub audit_logging: bool,
    /// How clients authenticate.
    pub supported_auth_methods: Vec<String>,
    /// `demo` or `aws`.
    pub data_source: String,
    /// What posture answers stand on now.
    pub answers_from: AnswersFrom,
}

/// What posture answers stand on (see `as_of` in each answer).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AnswersFrom {
    /// `run` (the latest complete run's snapshots) or `live`.
    pub basis: String,
    /// The run, when `run`.
    pub run_id: Option<String>,
    /// Accounts the run assessed.
    pub accounts: usize,
    /// Accounts of the run with no data (a gap).
    pub missing_accounts: usize,
    /// A snapshot store is configured and answered.
    pub store_readable: bool,
    /// Why live, when live.
    pub note: Option<String>,
}

async fn answers_from(cx: &Cx<'_>) -> AnswersFrom {
    let live = |store_readable: bool, note: &str| AnswersFrom {
        basis: "live".to_string(),
        run_id: None,
        accounts: 0,
        missing_accounts: 0,
        store_readable,
        note: Some(note.to_string()),
    };
    let Some(h) = &cx.backend.history else {
        return live(
            false,
            "no snapshot store is configured: the accounts this server reads, live",
        );
    };
    match h.latest_served().await {
        Latest::Run(run) => AnswersFrom {
            basis: "run".to_string(),
            run_id: Some(run.data.run.run_id.clone()),
            accounts: run.data.inventories.len(),
            missing_accounts: run.data.run.accounts.len() - run.data.inventories.len(),
            store_readable: true,
            note: None,
        },
        Latest::NoRun => live(true, "no assessment run has completed yet"),
        Latest::Unusable(why) => live(true, &why),
        Latest::StoreFailed(why) => live(false, &why),
    }
}

/// `health_check`.
fn render(r: &HealthReport) -> String {
    let mut s = format!(
        "{} {} is {} (region {}, {} data, read-only)\n",
        r.server_name, r.version, r.status, r.configuration.aws_region, r.configuration.data_source
    );
    for d in &r.dependencies {
        let _ = writeln!(s, "- {}: {} — {}", d.name, d.status, d.detail);
    }
    let m = &r.metrics;
    let calls: u64 = m.tools.values().map(|t| t.calls).sum();
    let errors: u64 = m.tools.values().flat_map(|t| t.errors.values()).sum();
    let aws = m
        .aws
        .values()
        .fold(posture_core::metrics::AwsTotals::default(), |a, b| a.plus(*b));
    let _ = writeln!(
        s,
        "Since {}: {calls} tool call(s), {errors} failed; {} AWS call(s), {} retries, {} throttled, {} failed; {} run(s)",
        m.since.as_deref().unwrap_or("start"),
        aws.calls,
        aws.retries,
        aws.throttles,
        aws.errors,
        m.runs.runs
    );
    s
}

/// `get_server_info`.
fn render_info(r: &ServerInfoReport) -> String {
    let mut s = format!(
        "{} {} (MCP protocol revisions: {})\ntools: {}\n",
        r.server.name,
        r.server.version,
        r.server.supported_protocol_versions.join(", "),
        r.tools.join(", ")
    );
    for (name, c) in &r.capabilities {
        let _ = writeln!(
            s,
            "- {name}: {}",
            if c.available { "available" } else { "not available" }
        );
    }
    for (name, e) in &r.intelligence_engines {
        let _ = writeln!(s, "- engine {name}: {} ({})", e.status, e.detail);
    }
    let a = &r.configuration.answers_from;
    match &a.run_id {
        Some(run) => {
            let _ = writeln!(
                s,
                "posture answers: from run {run} ({} account(s), {} missing)",
                a.accounts, a.missing_accounts
            );
        }
        None => {
            let _ = writeln!(s, "posture answers: live ({})", a.note.as_deref().unwrap_or(""));
        }
    }
    match (&r.exceptions_file, &r.exceptions_error) {
        (_, Some(e)) => {
            let _ = writeln!(s, "exceptions: NOT APPLIED: {e}");
        }
        (Some(file), None) => {
            let _ = writeln!(s, "exceptions: {} from {file}", r.exceptions_loaded);
        }
        (None, None) => {}
    }
    s
}
