//! The MCP server handler: tool dispatch, validation, errors and audit.

use crate::audit::{self, Caller, RequestId};
use crate::backend::Backend;
use crate::error::ToolError;
use crate::splice::SpliceSlot;
use crate::tools::call::{Answer, CallOptions, Cx, ProgressSink, ToolOutput, run_error, task_of};
use crate::tools::meta::{PROTOCOL_VERSIONS, SERVER_NAME, VERSION};
use crate::tools::report::{self, ResourceError};
use crate::tools::{self, TOOLS, runs};
use jiff::Timestamp;
use posture_core::org::run::{self, RunRecord, RunState};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock, CreateTaskResult,
    DetailedTask, GetPromptRequestParams, GetPromptResponse, GetTaskParams, GetTaskResult, Implementation, JsonObject,
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ResourceContents,
    ServerCapabilities, ServerConfig, TaskPayload, TaskStatus, Tool, UpdateTaskParams,
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

impl PostureServer {
    /// A server over `backend`.
    pub fn new(backend: Backend) -> PostureServer {
        let names = backend.framework_names();
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
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tasks()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
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
        let def = TOOLS.iter().find(|t| t.name == name)?;
        if let Some(startup) = &self.backend.startup {
            startup.finished().await;
        }
        let started = Instant::now();
        let args = arguments.unwrap_or_default();
        let tool_names: Vec<String> = self.tools.iter().map(|t| t.name.to_string()).collect();
        let schema = self
            .tools
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.input_schema.clone())
            .unwrap_or_default();
        let cx = Cx {
            backend: &self.backend,
            options: &options,
            tool_names: &tool_names,
        };
        let result = (def.run)(&cx, &args, &schema).await;
        let (outcome, error_type) = match &result {
            Ok(Answer::Output(_)) => ("ok", None),
            Ok(Answer::Task(_)) => ("task", None),
            Err(e) => ("error", Some(format!("{:?}", e.error_type))),
        };
        let partial = matches!(&result, Ok(Answer::Output(out)) if is_partial(out.kept.as_ref().map_or(&out.structured, |k| &k.0.value)));
        posture_core::metrics::global().tool_call(
            name,
            started.elapsed(),
            error_type.as_deref(),
            partial,
            jiff::Timestamp::now(),
        );
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
            Ok(Answer::Output(out)) => spliced_result(out, options.splice.as_ref()).into(),
            Ok(Answer::Task(task)) => CallToolResponse::Task(CreateTaskResult::new(task)),
            Err(e) => tool_result(Err(e)).into(),
        })
    }
}

/// Whether an answer says it stands on less than everything: a partial
/// coverage or score, or listed data gaps (the fields the tools use).
fn is_partial(structured: &Value) -> bool {
    structured.pointer("/coverage/partial") == Some(&Value::Bool(true))
        || structured.get("score_partial") == Some(&Value::Bool(true))
        || structured
            .get("data_gaps")
            .and_then(Value::as_array)
            .is_some_and(|gaps| !gaps.is_empty())
}

/// A tool's answer as an MCP result; a kept answer's structured content is
/// left in `slot` for the transport to write (a marker stands in for it),
/// or built in full when there is no slot.
fn spliced_result(out: ToolOutput, slot: Option<&SpliceSlot>) -> CallToolResult {
    let Some((kept, as_of)) = out.kept else {
        return call_result(out.text, out.structured, false, true);
    };
    let marker = slot.and_then(|slot| {
        let as_of = serde_json::to_string(&as_of).ok()?;
        slot.put(format!("{},\"as_of\":{as_of}}}", kept.head))
    });
    let structured = match marker {
        Some(marker) => marker,
        None => {
            let mut full = kept.value.clone();
            if let Some(fields) = full.as_object_mut() {
                fields.insert("as_of".into(), as_of);
            }
            full
        }
    };
    // A kept answer and its as_of were masked when they were made.
    call_result(out.text, structured, false, false)
}

/// A tool's answer as an MCP result (errors in the seed's shape, `isError`).
/// The configured secrets are masked in both the text and the structured
/// content: nothing a tool answers relays a credential.
pub(crate) fn tool_result(result: Result<ToolOutput, ToolError>) -> CallToolResult {
    match result {
        Ok(out) => spliced_result(out, None),
        Err(e) => {
            let value = e.to_value();
            call_result(
                format!("{:?}: {}\n{}", e.error_type, e.detail, value),
                value,
                true,
                true,
            )
        }
    }
}

/// The MCP result of `text` and `structured`, both masked (`structured`
/// only when `mask_structured`: a kept answer was masked once already).
fn call_result(text: String, mut structured: Value, failed: bool, mask_structured: bool) -> CallToolResult {
    if mask_structured {
        posture_core::secrets::mask_value(&mut structured);
    }
    let content = vec![ContentBlock::text(posture_core::secrets::mask(&text))];
    let mut r = if failed {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    r.structured_content = Some(structured);
    r
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
        match runs::run_record(&self.backend, task_id).await {
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
                    result: to_object(&tool_result(runs::status_output(&run, now))),
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
            splice: context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<SpliceSlot>())
                .cloned(),
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

    /// Guided workflows naming the tools in order.
    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(crate::prompts::list()))
    }

    /// One prompt made from its arguments (checked first).
    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        crate::prompts::get(
            &request.name,
            request.arguments.as_ref(),
            &self.backend.framework_names(),
        )
        .map(Into::into)
        .map_err(|e| match &e {
            crate::prompts::PromptError::Unknown(_) => McpError::invalid_params(
                e.to_string(),
                Some(json!({"available": crate::prompts::PROMPTS.iter().map(|p| p.name).collect::<Vec<_>>()})),
            ),
            crate::prompts::PromptError::Argument { argument, .. } => {
                McpError::invalid_params(e.to_string(), Some(json!({"argument": argument})))
            }
        })
    }

    /// The organization's accounts, frameworks, checks, configuration, and
    /// the report resources of the latest complete runs.
    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut all = crate::resources::list(&self.backend);
        all.extend(crate::resources::export_resources(&self.backend).await);
        all.extend(
            report::resources(&self.backend)
                .await
                .map_err(|e| McpError::internal_error(e.detail.clone(), Some(e.to_value())))?,
        );
        Ok(ListResourcesResult::with_all_items(all))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let mut all = crate::resources::templates();
        all.extend(report::resource_templates());
        Ok(ListResourceTemplatesResult::with_all_items(all))
    }

    /// A report, rendered from its stored run.
    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let (caller, request_id) = transport_identity(&context);
        let started = Instant::now();
        let uri = request.uri;
        let read = if crate::resources::owns(&uri) {
            crate::resources::read(&self.backend, &uri).await
        } else {
            report::read_resource(&self.backend, &uri).await
        };
        let (outcome, error_type) = match &read {
            Ok(_) => ("ok", None),
            Err(ResourceError::Invalid(_) | ResourceError::NotFound(_)) => {
                ("error", Some("ValidationError".to_string()))
            }
            Err(ResourceError::Failed(e)) => ("error", Some(format!("{:?}", e.error_type))),
        };
        // Report contents leave the server: audited like a tool call.
        audit::record(
            "resources/read",
            &caller,
            &request_id,
            &json!({"uri": uri}),
            started.elapsed(),
            outcome,
            error_type.as_deref(),
        );
        match read {
            Ok((mime_type, text)) => Ok(ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
                uri,
                mime_type: Some(mime_type),
                text,
                meta: None,
            }])
            .into()),
            Err(ResourceError::Invalid(why)) => Err(McpError::invalid_params(why, Some(json!({"uri": uri})))),
            Err(ResourceError::NotFound(why)) => Err(McpError::resource_not_found(why, Some(json!({"uri": uri})))),
            Err(ResourceError::Failed(e)) => Err(McpError::internal_error(e.detail.clone(), Some(e.to_value()))),
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
