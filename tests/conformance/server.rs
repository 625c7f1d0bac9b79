//! `conformance-server [--listen 127.0.0.1:PORT]`: the Posture Advisor MCP
//! server (demo data) plus the MCP conformance suite's fixtures, served by our
//! own transport and local configuration (`posture_mcp::http::router` with
//! `mcp_server::local_http_config`), as `mcp-server` serves locally.
//! Test-only: `scripts/conformance.sh` runs the suite against it. Prints the
//! endpoint URL once listening; port 0 (the default) picks a free port.

mod fixtures;

use posture_mcp::PostureServer;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

/// Our server, with the suite's fixtures on top. Our three tools go to the
/// inner [`PostureServer`] unchanged (its `call_tool`, audit line included).
#[derive(Clone)]
struct ConformanceServer {
    inner: PostureServer,
    tools: Arc<Vec<Tool>>,
}

impl ConformanceServer {
    fn new(inner: PostureServer) -> ConformanceServer {
        let tools = inner.tools().iter().cloned().chain(fixtures::tools()).collect();
        ConformanceServer {
            inner,
            tools: Arc::new(tools),
        }
    }
}

impl ServerHandler for ConformanceServer {
    fn get_info(&self) -> ServerConfig {
        let mut config = PostureServer::config();
        // Not `resources.subscribe`: updates would need a standing
        // server-to-client stream, which a stateless transport lacks.
        #[expect(
            deprecated,
            reason = "logging is deprecated by SEP-2577 but the suite still tests it"
        )]
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_completions()
            .enable_prompts()
            .enable_resources()
            .enable_tools()
            .build();
        config.capabilities = capabilities;
        config
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        ServerHandler::supported_protocol_versions(&self.inner)
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
        match fixtures::call_tool(&request.name, &context).await {
            Some(result) => result.map(Into::into),
            None => self.inner.call_tool(request, context).await,
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(fixtures::resources()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(
            fixtures::resource_templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let contents = fixtures::read_resource(&request.uri)?;
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(fixtures::prompts()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let messages = fixtures::get_prompt(&request.name, &request.arguments.unwrap_or_default())?;
        Ok(GetPromptResult::new(messages).into())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        fixtures::complete(&request)
    }

    /// Accepted, but nothing survives a stateless request: later requests
    /// log at whatever level their tool uses.
    #[expect(
        deprecated,
        reason = "logging is deprecated by SEP-2577 but the suite still tests it"
    )]
    async fn set_level(
        &self,
        _request: rmcp::model::SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        Ok(())
    }
}

fn listen_address() -> anyhow::Result<SocketAddr> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(SocketAddr::from(([127, 0, 0, 1], 0))),
        [flag, addr] if flag == "--listen" => Ok(addr.parse()?),
        _ => anyhow::bail!("usage: conformance-server [--listen 127.0.0.1:PORT]"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = listen_address()?;
    let settings = mcp_server::Settings::from_env()?;
    let handler = ConformanceServer::new(PostureServer::new(mcp_server::demo_backend(&settings)?));
    let mut config = mcp_server::local_http_config(&settings);
    // The suite fires its scenarios faster than any person's assistant;
    // the per-caller rate limit is tested on its own (server_limits.rs).
    config.callers.requests_per_second = 0;
    let app = posture_mcp::http::router(handler, &config);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("http://{}/mcp", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
