//! The MCP server handler: tool dispatch, validation, errors and audit.

use crate::args::Args;
use crate::audit::{self, Caller, RequestId};
use crate::backend::Backend;
use crate::error::ToolError;
use crate::history;
use crate::render;
use crate::tools::call::{Answer, CallOptions, Cx, ProgressSink, ToolOutput, run_error, task_of};
use crate::tools::findings::fetch_all;
use crate::tools::meta::{PROTOCOL_VERSIONS, SERVER_NAME, VERSION};
use crate::tools::{self, TYPED};
use jiff::Timestamp;
use posture_core::Severity;
use posture_core::analysis;
use posture_core::compliance::{self, DataSources};
use posture_core::ports::FindingQuery;
use posture_core::run::{self, RunRecord, RunState};
use posture_core::time::TimeWindow;
use posture_core::{assessment, recommendations, validation};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock, CreateTaskResult,
    DetailedTask, GetTaskParams, GetTaskResult, Implementation, JsonObject, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ServerCapabilities, ServerConfig, TaskPayload, TaskStatus, Tool, UpdateTaskParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde::Serialize;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

/// The MCP service. Cheap to clone: one is built per HTTP request.
#[derive(Clone)]
pub struct PostureServer {
    backend: Arc<Backend>,
    tools: Arc<Vec<Tool>>,
}

/// What posture tools evaluate.
struct PostureData {
    inventories: Vec<posture_core::inventory::Inventory>,
    findings: Vec<posture_core::Finding>,
    sources: DataSources,
}

impl PostureServer {
    /// A server over `backend`.
    pub fn new(backend: Backend) -> PostureServer {
        let names: Vec<String> = backend.frameworks.iter().map(|f| f.short_name.clone()).collect();
        PostureServer {
            tools: Arc::new(tools::definitions(&names)),
            backend: Arc::new(backend),
        }
    }

    /// The registered tools.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The `initialize` / `server/discover` answer.
    pub fn config() -> ServerConfig {
        let mut info = Implementation::new(SERVER_NAME, VERSION);
        info.title = Some("Posture Advisor".to_string());
        info.description = Some("Security posture of an AWS organization over MCP (read-only)".to_string());
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tasks().build())
            .with_server_info(info)
            .with_instructions(
                "Read-only AWS security posture advisor. Start with health_check, then analyze_security_findings. \
                 Errors come as {detail, error_type, context}.",
            )
    }

    /// Runs a tool and writes its audit line. Unknown tools are `None`.
    pub async fn call(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        caller: &str,
        request_id: &str,
    ) -> Option<CallToolResult> {
        match self
            .call_with(name, arguments, caller, request_id, CallOptions::default())
            .await?
        {
            CallToolResponse::Complete(r) => Some(r),
            // Without the tasks option no tool answers anything else.
            _ => None,
        }
    }

    /// [`PostureServer::call`] with per-request options: an org-wide
    /// assessment answers a task when the client takes tasks.
    pub(crate) async fn call_with(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        caller: &str,
        request_id: &str,
        options: CallOptions,
    ) -> Option<CallToolResponse> {
        let started = Instant::now();
        let args = arguments.unwrap_or_default();
        let typed = TYPED.iter().find(|t| t.name == name);
        let result = match (name, typed) {
            (_, Some(def)) => {
                let tool_names: Vec<String> = self.tools.iter().map(|t| t.name.to_string()).collect();
                let schema = self
                    .tools
                    .iter()
                    .find(|t| t.name == name)
                    .map(|t| t.input_schema.clone());
                let schema = schema.unwrap_or_default();
                let cx = Cx {
                    backend: &self.backend,
                    options: &options,
                    tool_names: &tool_names,
                };
                (def.run)(&cx, &args, &schema).await
            }
            (tools::ASSESS_SECURITY_POSTURE, None) => self.assess(&args, options.tasks).await,
            _ => self.run_tool(name, &args, &options).await?.map(Answer::Output),
        };
        let (outcome, error_type) = match &result {
            Ok(Answer::Output(_)) => ("ok", None),
            Ok(Answer::Task(_)) => ("task", None),
            Err(e) => ("error", Some(format!("{:?}", e.error_type))),
        };
        audit::record(
            name,
            caller,
            request_id,
            &Value::Object(args),
            started.elapsed(),
            outcome,
            error_type.as_deref(),
        );
        Some(match result {
            Ok(Answer::Output(out)) => tool_result(Ok(out)).into(),
            Ok(Answer::Task(task)) => CallToolResponse::Task(CreateTaskResult::new(task)),
            Err(e) => tool_result(Err(e)).into(),
        })
    }

    /// The tools that answer at once. Unknown tools are `None`.
    async fn run_tool(
        &self,
        name: &str,
        args: &JsonObject,
        options: &CallOptions,
    ) -> Option<Result<ToolOutput, ToolError>> {
        Some(match name {
            tools::CHECK_COMPLIANCE_STATUS => self.compliance(args).await,
            tools::RECOMMEND_SECURITY_IMPROVEMENTS => self.recommend(args).await,
            tools::VALIDATE_SECURITY_CONTROLS => self.validate(args).await,
            tools::LIST_ACCOUNTS => self.backend.list_accounts(args).await,
            tools::GET_POSTURE_HISTORY => self.backend.posture_history(args).await,
            tools::COMPARE_SNAPSHOTS => self.backend.compare(args).await,
            tools::GET_ASSESSMENT_STATUS => self.backend.assessment_status(args, options.progress.as_ref()).await,
            tools::GENERATE_SECURITY_REPORT => self.backend.generate_report(args).await,
            _ => return None,
        })
    }

    async fn compliance(&self, args: &JsonObject) -> Result<ToolOutput, ToolError> {
        let a = Args::new(args, tools::COMPLIANCE_ARGS)?;
        let names: Vec<String> = self.backend.frameworks.iter().map(|f| f.short_name.clone()).collect();
        let name = match a.one_of("framework", &names) {
            Ok(n) => n,
            Err(e) if !self.backend.framework_errors.is_empty() => {
                return Err(ToolError::framework(
                    format!(
                        "{} (and {} framework file(s) could not be loaded)",
                        e.detail,
                        self.backend.framework_errors.len()
                    ),
                    &self.backend.framework_errors,
                ));
            }
            Err(e) => return Err(e),
        };
        let generate_report = a.boolean("generate_report", true)?;
        let include_evidence = a.boolean("include_evidence", false)?;
        let control_ids = a.strings("control_ids", 200)?;
        let Some(fw) = self.backend.frameworks.iter().find(|f| f.short_name == name) else {
            return Err(ToolError::engine(format!("framework {name} vanished")));
        };
        let unknown: Vec<&String> = control_ids
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

        let now = jiff::Timestamp::now();
        let data = self.posture_data(now).await;
        let mut report = compliance::report(
            fw,
            &data.inventories,
            &data.findings,
            &control_ids,
            include_evidence,
            data.sources,
            now,
        );
        if !generate_report {
            report.control_results.clear();
        }
        let text = render::compliance(&report);
        ToolOutput::new(&report, text)
    }

    /// Inventories and recent findings (Security Hub refreshes control
    /// findings daily; 90 days also covers stale ones).
    async fn posture_data(&self, now: jiff::Timestamp) -> PostureData {
        let query = FindingQuery {
            window: TimeWindow::last_days(now, 90),
            min_severity: Severity::Informational,
            max_findings: 10_000,
        };
        let (inventories, findings) =
            tokio::join!(self.backend.inventories.inventories(), fetch_all(&self.backend, &query));
        let merged = analysis::merge(findings, &query);
        let (inventories, inventory_error) = match inventories {
            Ok(i) => (i, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        PostureData {
            sources: DataSources {
                inventory_error,
                finding_sources: merged.sources,
                aws_tooling: posture_core::compliance::tooling(&inventories),
                findings_truncated: merged.truncated,
            },
            inventories,
            findings: merged.findings,
        }
    }

    async fn assess(&self, args: &JsonObject, tasks: bool) -> Result<Answer, ToolError> {
        let a = Args::new(args, tools::ASSESS_ARGS)?;
        let scopes: Vec<String> = ["account", "region", "service", "workload", "organization"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let scope = a.one_of("scope", &scopes)?;
        let target = a.required_string("target", 256)?;
        if scope == "organization" {
            // Long work: started in the background, followed with tasks/get
            // (when the client takes tasks) or get_assessment_status.
            if tasks {
                let record = self.backend.begin_org_run(&target).await?;
                return Ok(Answer::Task(task_of(&record, TaskStatus::Working, Timestamp::now())));
            }
            return self.backend.start_org_assessment(&target).await.map(Answer::Output);
        }
        let names: Vec<String> = self.backend.frameworks.iter().map(|f| f.short_name.clone()).collect();
        let requested = match args.get("frameworks") {
            None | Some(Value::Null) => vec!["CIS".to_string()],
            Some(_) => a.strings("frameworks", names.len().max(1))?,
        };
        if requested.is_empty() {
            return Err(ToolError::validation(
                "frameworks",
                "frameworks must name at least one framework",
                json!({"allowed": names}),
            ));
        }
        let mut frameworks = Vec::new();
        for name in &requested {
            match self.backend.frameworks.iter().find(|f| &f.short_name == name) {
                Some(f) => frameworks.push(f),
                None => {
                    return Err(ToolError::validation(
                        "frameworks",
                        format!("unknown framework {name:?}; one of {}", names.join(", ")),
                        json!({"allowed": names}),
                    ));
                }
            }
        }
        let min_severity = a.severity("severity_threshold", Severity::Medium)?;
        let include_recommendations = a.boolean("include_recommendations", true)?;

        let now = jiff::Timestamp::now();
        let data = self.posture_data(now).await;
        let known = assessment::Known::from(&data.inventories, &data.findings);
        let parsed = assessment::Scope::parse(&scope, &target, &known, &data.inventories)
            .map_err(|e| ToolError::validation("target", e.0, json!({"scope": scope})))?;
        let region = match &parsed {
            assessment::Scope::Region(r) => r.clone(),
            _ => self.backend.health.region(),
        };
        let request = assessment::Request {
            assessment_id: format!("PA-{}", uuid::Uuid::new_v4()),
            scope: parsed,
            target: target.clone(),
            frameworks,
            min_severity,
            include_recommendations,
            region,
            now,
        };
        let report = assessment::assess_scope(&request, &data.inventories, &data.findings, data.sources);
        let text = render::assessment(&report);
        ToolOutput::new(&report, text).map(Answer::Output)
    }

    async fn validate(&self, args: &JsonObject) -> Result<ToolOutput, ToolError> {
        let a = Args::new(args, tools::VALIDATE_ARGS)?;
        let ids = a.strings("control_ids", 50)?;
        if ids.is_empty() {
            return Err(ToolError::validation(
                "control_ids",
                "control_ids must name at least one control",
                json!({"minItems": 1}),
            ));
        }
        let target = match args.get("target") {
            None | Some(Value::Null) => None,
            Some(_) => Some(a.required_string("target", 64)?),
        };
        let mut resolved = Vec::new();
        for id in &ids {
            let r = validation::resolve(id, &self.backend.frameworks)
                .map_err(|why| ToolError::validation("control_ids", why, json!({"control_id": id})))?;
            resolved.push(r);
        }
        let now = jiff::Timestamp::now();
        let mut data = self.posture_data(now).await;
        if let Some(account) = &target {
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
                let (mine, rest): (Vec<_>, Vec<_>) =
                    evidence.drain(..).partition(|e| e.control_id == result.control_id);
                evidence = rest;
                tools::ValidatedControl {
                    control_id: result.control_id.clone(),
                    resolved_as: r.kind.clone(),
                    result,
                    evidence: mine,
                }
            })
            .collect();
        let out = tools::ValidationReport {
            validation_id: format!("VA-{}", uuid::Uuid::new_v4()),
            target: target.unwrap_or_else(|| "all accounts".into()),
            controls,
            summary: report.counts,
            evidence_total: report.evidence_total,
            data_sources: report.data_sources,
            generated_at: report.generated_at,
        };
        let text = render::validation(&out);
        ToolOutput::new(&out, text)
    }

    async fn recommend(&self, args: &JsonObject) -> Result<ToolOutput, ToolError> {
        let a = Args::new(args, tools::RECOMMEND_ARGS)?;
        let strategies: Vec<String> = recommendations::STRATEGIES.iter().map(|s| s.to_string()).collect();
        let strategy = match args.get("priority") {
            None | Some(Value::Null) => "high-impact".to_string(),
            Some(_) => a.one_of("priority", &strategies)?,
        };
        let auto_implement_safe = a.boolean("auto_implement_safe", false)?;
        let max = a.integer("max_recommendations", 1, 50, 20)? as usize;
        let focus = a.strings("focus_areas", 20)?;
        let areas = tools::focus_areas();
        let mut wanted: Vec<String> = Vec::new();
        for f in &focus {
            match areas.iter().find(|(name, _)| name.eq_ignore_ascii_case(f)) {
                Some((_, services)) => wanted.extend(services.iter().map(|s| s.to_ascii_lowercase())),
                None => {
                    return Err(ToolError::validation(
                        "focus_areas",
                        format!(
                            "unknown focus area {f:?}; known: {}",
                            areas.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        json!({"allowed": areas.iter().map(|(n, _)| n).collect::<Vec<_>>()}),
                    ));
                }
            }
        }
        let now = jiff::Timestamp::now();
        let data = self.posture_data(now).await;
        let outcomes: Vec<_> = compliance::outcomes(&data.inventories)
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        let mut recs = recommendations::derive(&outcomes, &data.findings, &self.backend.frameworks);
        if !wanted.is_empty() {
            recs.retain(|r| wanted.contains(&r.area.to_ascii_lowercase()));
        }
        if !auto_implement_safe {
            for r in &mut recs {
                r.automation_available = false;
                r.remediation_steps.iter_mut().for_each(|s| s.safe_to_automate = false);
            }
        }
        let report = recommendations::RecommendationsReport::new(
            format!("RA-{}", uuid::Uuid::new_v4()),
            &strategy,
            recommendations::rank(recs, &strategy),
            max,
            data.sources,
            now,
        );
        let text = render::recommendations(&report);
        ToolOutput::new(&report, text)
    }
}

/// A tool's answer as an MCP result (errors in the seed's shape, `isError`).
pub(crate) fn tool_result(result: Result<ToolOutput, ToolError>) -> CallToolResult {
    match result {
        Ok(out) => {
            let mut r = CallToolResult::success(vec![ContentBlock::text(out.text)]);
            r.structured_content = Some(out.structured);
            r
        }
        Err(e) => {
            let value = e.to_value();
            let mut r = CallToolResult::error(vec![ContentBlock::text(format!(
                "{:?}: {}\n{}",
                e.error_type, e.detail, value
            ))]);
            r.structured_content = Some(value);
            r
        }
    }
}

fn to_object<T: Serialize>(value: &T) -> JsonObject {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => JsonObject::new(),
    }
}

impl PostureServer {
    /// The run behind task `task_id` (task ids are run ids).
    async fn task_run(&self, task_id: &str) -> Result<RunRecord, McpError> {
        if !run::is_valid_run_id(task_id) {
            return Err(McpError::invalid_params(
                format!("unknown task {task_id:?}: task ids are run ids (like 20261126T060000Z-mcp-1a2b3c4d)"),
                Some(json!({"taskId": task_id})),
            ));
        }
        match self.backend.run_record(task_id).await {
            Ok(Some(run)) => Ok(run),
            Ok(None) => Err(McpError::invalid_params(
                format!("unknown task {task_id:?}: no such assessment run (expired or never created)"),
                Some(json!({"taskId": task_id})),
            )),
            Err(e) => Err(McpError::internal_error(e.detail.clone(), Some(e.to_value()))),
        }
    }

    /// `tasks/get`: the run's state from the store. Working while queued or
    /// running; completed with the `get_assessment_status` result; failed
    /// (abandoned runs too) with the run's error.
    async fn task_state(&self, task_id: &str) -> Result<DetailedTask, McpError> {
        let run = self.task_run(task_id).await?;
        let now = Timestamp::now();
        let (status, payload) = match run.effective_state(now) {
            RunState::Queued | RunState::Running => (TaskStatus::Working, TaskPayload::Working),
            RunState::Complete => (
                TaskStatus::Completed,
                TaskPayload::Completed {
                    result: to_object(&tool_result(history::status_output(&run, now))),
                },
            ),
            RunState::Failed => {
                let message = run_error(&run, now).unwrap_or_else(|| "the run failed".to_string());
                let error = McpError::internal_error(
                    format!("assessment run {} failed: {message}", run.run_id),
                    Some(json!({"run_id": run.run_id, "abandoned": run.is_abandoned(now)})),
                );
                (
                    TaskStatus::Failed,
                    TaskPayload::Failed {
                        error: to_object(&error),
                    },
                )
            }
        };
        Ok(DetailedTask::new(task_of(&run, status, now), payload))
    }
}

fn transport_identity(context: &RequestContext<RoleServer>) -> (String, String) {
    let parts = context.extensions.get::<http::request::Parts>();
    let caller = parts
        .and_then(|p| p.extensions.get::<Caller>())
        .map(|c| c.0.clone())
        .unwrap_or_else(|| "unknown".to_string());
    let request_id = parts
        .and_then(|p| p.extensions.get::<RequestId>())
        .map(|r| r.0.clone())
        .unwrap_or_else(|| format!("jsonrpc-{}", json!(context.id)));
    (caller, request_id)
}

impl ServerHandler for PostureServer {
    fn get_info(&self) -> ServerConfig {
        PostureServer::config()
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(PROTOCOL_VERSIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let (caller, request_id) = transport_identity(&context);
        let options = CallOptions {
            tasks: context.client_capabilities().is_some_and(|c| c.supports_tasks()),
            progress: context.meta.get_progress_token().map(|token| ProgressSink {
                peer: context.peer.clone(),
                token,
            }),
        };
        match self
            .call_with(&request.name, request.arguments, &caller, &request_id, options)
            .await
        {
            Some(response) => Ok(response),
            None => Err(McpError::invalid_params(
                format!("unknown tool {:?}", request.name),
                Some(json!({"available": self.tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>()})),
            )),
        }
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        Ok(GetTaskResult::new(self.task_state(&request.task_id).await?))
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.task_run(&request.task_id).await?;
        Err(McpError::invalid_request(
            format!(
                "task {} takes no input: assessment runs never ask for any (no task is ever input_required)",
                request.task_id
            ),
            Some(json!({"taskId": request.task_id})),
        ))
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.task_run(&request.task_id).await?;
        Err(McpError::invalid_request(
            format!(
                "task {} cannot be cancelled: an assessment run, once started, runs to its end (or fails at its \
                 deadline); follow it with tasks/get",
                request.task_id
            ),
            Some(json!({"taskId": request.task_id})),
        ))
    }
}
