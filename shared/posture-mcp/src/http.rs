//! The Streamable HTTP endpoint: stateless (no session survives a request,
//! since Lambda instances come and go), JSON responses, Host and Origin
//! allow-lists, mounted at `/mcp`. The same router is served by axum locally
//! and by lambda_http in Lambda. With OAuth configured ([`crate::oauth`]),
//! `/mcp` needs a bearer token and the protected-resource metadata is served
//! beside it.

use crate::audit::{Caller, RequestId};
use crate::jsonrpc::{self, BodyLimits};
use crate::limits::{self, CallerLimiter, CallerLimits};
use crate::oauth::{self, METADATA_PATH, Verifier};
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::ServerHandler;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// Largest request body accepted (bytes); larger gets 413.
pub const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

/// Time for a whole request body to arrive; slower gets 408.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Transport settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Accepted `Host` values (`name` or `name:port`).
    pub allowed_hosts: Vec<String>,
    /// Accepted `Origin` values (`scheme://host:port`, `:*` for any port).
    /// Requests without an Origin (non-browser clients) pass; any other
    /// Origin is refused with 403.
    pub allowed_origins: Vec<String>,
    /// Size and time limits of a request body.
    pub body: BodyLimits,
    /// Request rate and requests in flight per caller.
    pub callers: CallerLimits,
}

fn default_body_limits() -> BodyLimits {
    BodyLimits {
        max_bytes: MAX_REQUEST_BODY_BYTES,
        timeout: BODY_TIMEOUT,
    }
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
            body: default_body_limits(),
            callers: CallerLimits::default(),
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
            body: default_body_limits(),
            callers: CallerLimits::default(),
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
    router_with_oauth(handler, config, None)
}

/// The router, with `/mcp` behind OAuth bearer tokens when `oauth` is given:
/// then the protected-resource metadata is served (without a token) at
/// [`METADATA_PATH`] and `METADATA_PATH/mcp`, and the Host/Origin allow-lists
/// are checked before the token, on every route.
pub fn router_with_oauth<H>(handler: H, config: &HttpConfig, oauth: Option<Arc<Verifier>>) -> Router
where
    H: ServerHandler + Clone + Send + Sync + 'static,
{
    let service = StreamableHttpService::<H, NeverSessionManager>::new(
        move || Ok(handler.clone()),
        Arc::new(NeverSessionManager::default()),
        config.streamable(),
    );
    let body_limits = config.body;
    // rmcp behind the JSON-RPC checks (and batch splitting) of [`jsonrpc`].
    let front = tower::service_fn(move |request: Request| {
        let service = service.clone();
        async move { Ok::<_, Infallible>(jsonrpc::serve(service, body_limits, request).await) }
    });
    let limiter = Arc::new(CallerLimiter::new(config.callers));
    // Layers added later run first: Host/Origin, then the token, then the
    // caller's limits (counted against the authenticated caller).
    let mut app = Router::new()
        .route_service("/mcp", front)
        .route_layer(middleware::from_fn_with_state(limiter, limits::limit));
    if let Some(verifier) = oauth {
        let document = Arc::new(verifier.config().metadata().to_string());
        let metadata = move || {
            let document = document.clone();
            async move {
                (
                    [
                        (http::header::CONTENT_TYPE, "application/json"),
                        (http::header::CACHE_CONTROL, "public, max-age=300"),
                    ],
                    document.as_str().to_string(),
                )
                    .into_response()
            }
        };
        app = app
            .route_layer(middleware::from_fn_with_state(verifier, oauth::authenticate))
            .route(METADATA_PATH, get(metadata.clone()))
            .route(&format!("{METADATA_PATH}/mcp"), get(metadata))
            .route_layer(middleware::from_fn_with_state(Arc::new(config.clone()), guard));
    }
    app.fallback(not_found).layer(middleware::from_fn(identify))
}

/// Host and Origin allow-lists, as rmcp applies them to `/mcp` (empty Host
/// list: any Host; an Origin must be listed; no Origin passes), for routes
/// that answer before rmcp does.
async fn guard(State(config): State<Arc<HttpConfig>>, request: Request, next: Next) -> Response {
    let forbidden = |what: &str| (http::StatusCode::FORBIDDEN, format!("Forbidden: {what}")).into_response();
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let Some(host) = host.and_then(|h| http::uri::Authority::try_from(h.as_str()).ok()) else {
        return (http::StatusCode::BAD_REQUEST, "Bad Request: Invalid Host header").into_response();
    };
    if !host_allowed(&host, &config.allowed_hosts) {
        return forbidden("Host header is not allowed");
    }
    if let Some(origin) = request.headers().get(http::header::ORIGIN)
        && !origin
            .to_str()
            .is_ok_and(|o| origin_allowed(o, &config.allowed_origins))
    {
        return forbidden("Origin header is not allowed");
    }
    next.run(request).await
}

fn normalize_host(host: &str) -> String {
    host.trim_matches(['[', ']']).to_ascii_lowercase()
}

fn host_allowed(host: &http::uri::Authority, allowed: &[String]) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|a| {
            let (name, port) = match http::uri::Authority::try_from(a.trim()) {
                Ok(a) => (normalize_host(a.host()), a.port_u16()),
                Err(_) => (normalize_host(a.trim()), None),
            };
            name == normalize_host(host.host()) && port.is_none_or(|p| host.port_u16() == Some(p))
        })
}

/// `(scheme, host, port)` of an origin; `None` if malformed.
fn parse_origin(value: &str) -> Option<(String, String, Option<u16>)> {
    let uri = http::Uri::try_from(value.trim()).ok()?;
    let authority = uri.authority()?;
    Some((
        uri.scheme_str()?.to_ascii_lowercase(),
        normalize_host(authority.host()),
        authority.port_u16(),
    ))
}

fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    if origin.trim().eq_ignore_ascii_case("null") {
        return allowed.iter().any(|a| a.trim().eq_ignore_ascii_case("null"));
    }
    let Some((scheme, host, port)) = parse_origin(origin) else {
        return false;
    };
    let default_port = match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    allowed.iter().any(|a| {
        let (base, any_port) = match a.trim().strip_suffix(":*") {
            Some(base) => (base, true),
            None => (a.trim(), false),
        };
        let Some((a_scheme, a_host, a_port)) = parse_origin(base) else {
            return false;
        };
        let port_ok = match (any_port, a_port) {
            (true, None) | (false, None) => true,
            (true, Some(_)) => false,
            (false, Some(p)) => port.or(default_port) == Some(p),
        };
        a_scheme == scheme && a_host == host && port_ok
    })
}
