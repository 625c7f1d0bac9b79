//! The Streamable HTTP endpoint: stateless (no session survives a request,
//! since Lambda instances come and go), JSON responses, Host and Origin
//! allow-lists, mounted at `/mcp`. The same router is served by axum locally
//! and by lambda_http in Lambda.

use crate::audit::{Caller, RequestId};
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::ServerHandler;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;

/// Largest request body accepted (bytes); larger gets 413.
pub const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

/// Transport settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Accepted `Host` values (`name` or `name:port`).
    pub allowed_hosts: Vec<String>,
    /// Accepted `Origin` values (`scheme://host:port`, `:*` for any port).
    /// Requests without an Origin (non-browser clients) pass; any other
    /// Origin is refused with 403.
    pub allowed_origins: Vec<String>,
}

impl HttpConfig {
    /// Loopback only: what the local server uses by default.
    pub fn loopback() -> HttpConfig {
        HttpConfig {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: vec![
                "http://localhost:*".into(),
                "http://127.0.0.1:*".into(),
                "http://[::1]:*".into(),
            ],
        }
    }

    /// Parses comma-separated lists (as in the environment variables
    /// `POSTURE_ALLOWED_HOSTS` and `POSTURE_ALLOWED_ORIGINS`).
    pub fn from_lists(hosts: &str, origins: &str) -> HttpConfig {
        let split = |s: &str| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        HttpConfig {
            allowed_hosts: split(hosts),
            allowed_origins: split(origins),
        }
    }

    fn streamable(&self) -> StreamableHttpServerConfig {
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None)
            .with_allowed_hosts(self.allowed_hosts.clone())
            .with_allowed_origins(self.allowed_origins.clone())
            .enforce_origin_validation()
            .with_max_request_body_bytes(MAX_REQUEST_BODY_BYTES)
    }
}

/// Gives every request a [`RequestId`] (from `x-request-id` when the
/// transport set one, else a new one) and a [`Caller`] (anonymous unless the
/// transport established one).
async fn identify(mut request: Request, next: Next) -> Response {
    if request.extensions().get::<RequestId>().is_none() {
        let id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        request.extensions_mut().insert(RequestId(id));
    }
    if request.extensions().get::<Caller>().is_none() {
        request.extensions_mut().insert(Caller("anonymous".into()));
    }
    next.run(request).await
}

async fn not_found() -> Response {
    (http::StatusCode::NOT_FOUND, "not found: the MCP endpoint is /mcp\n").into_response()
}

/// The router: `/mcp` serves MCP, everything else is 404.
pub fn router<H>(handler: H, config: &HttpConfig) -> Router
where
    H: ServerHandler + Clone + Send + Sync + 'static,
{
    let service = StreamableHttpService::<H, NeverSessionManager>::new(
        move || Ok(handler.clone()),
        Arc::new(NeverSessionManager::default()),
        config.streamable(),
    );
    Router::new()
        .route_service("/mcp", service)
        .fallback(not_found)
        .layer(middleware::from_fn(identify))
}
