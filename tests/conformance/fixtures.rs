//! The fixtures the MCP conformance suite (`@modelcontextprotocol/conformance`
//! 0.1.16) calls by name: tools, resources, resource templates, prompts and
//! completions, with the content its scenario descriptions specify.

use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock, JsonObject,
    ProgressNotificationParam, Prompt, PromptArgument, PromptMessage, Reference, Resource, ResourceContents,
    ResourceTemplate, Role, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A 1x1 red PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
/// A WAV of eight silent 8-bit samples at 8 kHz.
const WAV: &str = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

const TEMPLATE_PREFIX: &str = "test://template/";
const TEMPLATE_SUFFIX: &str = "/data";

/// Why the tools that need a server-to-client request (sampling, elicitation)
/// do not send it. Sending works (on this call's SSE stream), but the answer
/// comes back as a separate POST that a stateless server cannot route to the
/// waiting call (rmcp refuses it), so the call would hang until a timeout.
/// 2026-07-28 clients could be served with an `InputRequired` result; the
/// suite's client speaks at most 2025-11-25.
const STATELESS: &str = "not sent: over this stateless transport (no session) the client's answer to a \
                         server-initiated request arrives as a new POST that cannot reach this call";

fn schema(value: Value) -> Arc<JsonObject> {
    Arc::new(value.as_object().cloned().unwrap_or_default())
}

fn no_args() -> Arc<JsonObject> {
    schema(json!({"type": "object", "properties": {}}))
}

fn string_args(names: &[&str]) -> Arc<JsonObject> {
    let properties: JsonObject = names
        .iter()
        .map(|n| (n.to_string(), json!({"type": "string"})))
        .collect();
    schema(json!({"type": "object", "properties": properties, "required": names}))
}

/// Fixture tools without arguments: name, description.
const PLAIN_TOOLS: &[(&str, &str)] = &[
    ("test_simple_text", "Returns simple text content"),
    ("test_image_content", "Returns image content"),
    ("test_audio_content", "Returns audio content"),
    ("test_embedded_resource", "Returns an embedded resource"),
    ("test_multiple_content_types", "Returns text, image, resource"),
    ("test_tool_with_logging", "Sends three log notifications"),
    ("test_tool_with_progress", "Sends progress notifications"),
    ("test_error_handling", "Always returns a tool error"),
    ("test_reconnection", "Just completes: no resumable streams"),
    ("test_elicitation_sep1034_defaults", "Would elicit with defaults"),
    ("test_elicitation_sep1330_enums", "Would elicit with enums"),
];

/// The fixture tools.
pub fn tools() -> Vec<Tool> {
    let plain = PLAIN_TOOLS
        .iter()
        .map(|&(name, description)| Tool::new(name, description, no_args()));
    let with_args = [
        Tool::new(
            "test_sampling",
            "Would ask the client to sample",
            string_args(&["prompt"]),
        ),
        Tool::new(
            "test_elicitation",
            "Would ask the client for input",
            string_args(&["message"]),
        ),
        Tool::new(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "type": "object",
                        "properties": {"street": {"type": "string"}, "city": {"type": "string"}}
                    }
                },
                "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
                "additionalProperties": false
            })),
        ),
    ];
    plain.chain(with_args).collect()
}

fn embedded(uri: &str, mime_type: &str, text: &str) -> ContentBlock {
    ContentBlock::resource(ResourceContents::text(text, uri).with_mime_type(mime_type))
}

#[expect(
    deprecated,
    reason = "logging is deprecated by SEP-2577 but the suite still tests it"
)]
async fn log(context: &RequestContext<RoleServer>, message: &str) -> Result<(), McpError> {
    use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
    let param = LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message));
    let sent = context.peer.notify_logging_message(param).await;
    sent.map_err(|e| McpError::internal_error(e.to_string(), None))
}

async fn progress(context: &RequestContext<RoleServer>, done: f64) -> Result<(), McpError> {
    let Some(token) = context.meta.get_progress_token() else {
        return Ok(());
    };
    let sent = context
        .peer
        .notify_progress(ProgressNotificationParam::new(token, done).with_total(100.0))
        .await;
    sent.map_err(|e| McpError::internal_error(e.to_string(), None))
}

async fn pause() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn success(content: Vec<ContentBlock>) -> Result<CallToolResult, McpError> {
    Ok(CallToolResult::success(content))
}

fn text(text: &str) -> Result<CallToolResult, McpError> {
    success(vec![ContentBlock::text(text)])
}

async fn with_logging(context: &RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
    log(context, "Tool execution started").await?;
    pause().await;
    log(context, "Tool processing data").await?;
    pause().await;
    log(context, "Tool execution completed").await?;
    text("Tool with logging executed successfully")
}

async fn with_progress(context: &RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
    progress(context, 0.0).await?;
    pause().await;
    progress(context, 50.0).await?;
    pause().await;
    progress(context, 100.0).await?;
    text("Tool with progress executed successfully")
}

/// Runs fixture tool `name`; `None` if there is no such fixture.
pub async fn call_tool(name: &str, context: &RequestContext<RoleServer>) -> Option<Result<CallToolResult, McpError>> {
    Some(match name {
        "test_simple_text" => text("This is a simple text response for testing."),
        "test_image_content" => success(vec![ContentBlock::image(PNG, "image/png")]),
        "test_audio_content" => success(vec![ContentBlock::audio(WAV, "audio/wav")]),
        "test_embedded_resource" => success(vec![embedded(
            "test://embedded-resource",
            "text/plain",
            "This is an embedded resource content.",
        )]),
        "test_multiple_content_types" => success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG, "image/png"),
            embedded(
                "test://mixed-content-resource",
                "application/json",
                r#"{"test":"data","value":123}"#,
            ),
        ]),
        "test_tool_with_logging" => with_logging(context).await,
        "test_tool_with_progress" => with_progress(context).await,
        "test_error_handling" => Ok(CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )])),
        "test_reconnection" => text("Completed without closing the stream (JSON responses, no event store)"),
        "test_sampling"
        | "test_elicitation"
        | "test_elicitation_sep1034_defaults"
        | "test_elicitation_sep1330_enums" => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "{name}: {STATELESS}"
        ))])),
        "json_schema_2020_12_tool" => text("JSON Schema 2020-12 tool called"),
        _ => return None,
    })
}

/// The fixture resources.
pub fn resources() -> Vec<Resource> {
    vec![
        Resource::new("test://static-text", "static-text")
            .with_description("A static text resource")
            .with_mime_type("text/plain"),
        Resource::new("test://static-binary", "static-binary")
            .with_description("A static binary resource (1x1 PNG)")
            .with_mime_type("image/png"),
    ]
}

/// The fixture resource templates.
pub fn resource_templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(format!("{TEMPLATE_PREFIX}{{id}}{TEMPLATE_SUFFIX}"), "template-data")
            .with_description("Data for an id, substituted into the content")
            .with_mime_type("application/json"),
    ]
}

/// Reads fixture resource `uri`.
pub fn read_resource(uri: &str) -> Result<ResourceContents, McpError> {
    let id = uri
        .strip_prefix(TEMPLATE_PREFIX)
        .and_then(|rest| rest.strip_suffix(TEMPLATE_SUFFIX));
    match (uri, id) {
        ("test://static-text", _) => Ok(ResourceContents::text(
            "This is the content of the static text resource.",
            uri,
        )),
        ("test://static-binary", _) => Ok(ResourceContents::blob(PNG, uri).with_mime_type("image/png")),
        (_, Some(id)) if !id.is_empty() && !id.contains('/') => {
            let data = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
            Ok(ResourceContents::text(data.to_string(), uri).with_mime_type("application/json"))
        }
        _ => Err(McpError::resource_not_found(
            format!("no resource {uri:?}"),
            Some(json!({"uri": uri})),
        )),
    }
}

fn argument(name: &str, description: &str) -> PromptArgument {
    PromptArgument::new(name)
        .with_description(description)
        .with_required(true)
}

/// The fixture prompts.
pub fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new("test_simple_prompt", Some("A simple prompt without arguments"), None),
        Prompt::new(
            "test_prompt_with_arguments",
            Some("A prompt with two required arguments"),
            Some(vec![
                argument("arg1", "First test argument"),
                argument("arg2", "Second test argument"),
            ]),
        ),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            Some("A prompt that embeds a resource"),
            Some(vec![argument("resourceUri", "URI of the resource to embed")]),
        ),
        Prompt::new("test_prompt_with_image", Some("A prompt with image content"), None),
    ]
}

/// Renders fixture prompt `name` with `arguments`.
pub fn get_prompt(name: &str, arguments: &JsonObject) -> Result<Vec<PromptMessage>, McpError> {
    let arg = |key: &str| {
        arguments
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| McpError::invalid_params(format!("prompt {name} needs string argument {key:?}"), None))
    };
    let user = |content| PromptMessage::new(Role::User, content);
    let user_text = |text: &str| PromptMessage::new_text(Role::User, text);
    Ok(match name {
        "test_simple_prompt" => vec![user_text("This is a simple prompt for testing.")],
        "test_prompt_with_arguments" => vec![user_text(&format!(
            "Prompt with arguments: arg1='{}', arg2='{}'",
            arg("arg1")?,
            arg("arg2")?
        ))],
        "test_prompt_with_embedded_resource" => vec![
            user(embedded(
                arg("resourceUri")?,
                "text/plain",
                "Embedded resource content for testing.",
            )),
            user_text("Please process the embedded resource above."),
        ],
        "test_prompt_with_image" => vec![
            user(ContentBlock::image(PNG, "image/png")),
            user_text("Please analyze the image above."),
        ],
        _ => return Err(McpError::invalid_params(format!("unknown prompt {name:?}"), None)),
    })
}

/// Completes a fixture prompt argument or template parameter: the
/// candidates starting with the typed value.
pub fn complete(request: &CompleteRequestParams) -> Result<CompleteResult, McpError> {
    let candidates: &[&str] = match (&request.r#ref, request.argument.name.as_str()) {
        (Reference::Prompt(p), "arg1" | "arg2") if p.name == "test_prompt_with_arguments" => {
            &["paris", "park", "party", "test", "testing"]
        }
        (Reference::Resource(r), "id") if r.uri == format!("{TEMPLATE_PREFIX}{{id}}{TEMPLATE_SUFFIX}") => {
            &["1", "2", "3", "123"]
        }
        _ => {
            return Err(McpError::invalid_params(
                "nothing to complete for this reference and argument",
                None,
            ));
        }
    };
    let values = candidates
        .iter()
        .filter(|c| c.starts_with(&request.argument.value))
        .map(|c| c.to_string())
        .collect();
    let completion = CompletionInfo::with_all_values(values).map_err(|e| McpError::internal_error(e, None))?;
    Ok(CompleteResult::new(completion))
}
