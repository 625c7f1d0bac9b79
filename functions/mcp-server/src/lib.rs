//! Wiring of the MCP endpoint: which backend (demo or AWS), which transport
//! settings, and the Lambda glue that turns a Function URL request context
//! into the caller identity and request id of the audit line. `main.rs` only
//! reads the command line and runs one of the two entry points.

use axum::Router;
use axum::response::IntoResponse;
use posture_aws::collector::InProcessCollector;
use posture_aws::org::{
    ASSESSOR_FUNCTION_VAR, ExceptionsLocation, LambdaLauncher, Org, OrgSettings, Stores, TaskLauncher,
};
use posture_core::demo::{DemoHealth, DemoOrganization};
use posture_core::org::execute::RunOutcome;
use posture_core::org::run;
use posture_core::ports::{PortError, RunLauncher};
use posture_core::posture::frameworks::{Framework, FrameworkError};
use posture_mcp::HistoryBackend;
use posture_mcp::audit::{Caller, RequestId};
use posture_mcp::http::{HttpConfig, router, router_with_oauth};
use posture_mcp::limits::CallerLimits;
use posture_mcp::oauth::{OAuthConfig, Verifier};
use posture_mcp::{Backend, Mode, PostureServer};
use std::path::Path;
use std::sync::Arc;

/// Environment variable: comma-separated `Host` values to accept.
pub const ALLOWED_HOSTS_VAR: &str = "POSTURE_ALLOWED_HOSTS";
/// Environment variable: comma-separated `Origin` values to accept.
pub const ALLOWED_ORIGINS_VAR: &str = "POSTURE_ALLOWED_ORIGINS";
/// Environment variable: seconds a live inventory collection is reused
/// (default 900; 0 collects on every call).
pub const LIVE_CACHE_TTL_VAR: &str = "POSTURE_LIVE_CACHE_TTL_SECS";
/// `off` turns `aws_read` off (the template sets it when EnableExplorer is false).
pub const EXPLORER_VAR: &str = "POSTURE_EXPLORER";
/// The explorer role's name (or ARN with `{account_id}`) in member accounts;
/// unset: `aws_read` reads only the server's own account.
pub const EXPLORER_ROLE_VAR: &str = "POSTURE_EXPLORER_ROLE";
/// The deployment's deny and allow patterns for `aws_read` (comma-separated
/// `service:Operation` or `prefix:Action` globs); they only narrow.
pub const EXPLORER_DENY_VAR: &str = "POSTURE_EXPLORER_DENY";
/// See [`EXPLORER_DENY_VAR`].
pub const EXPLORER_ALLOW_VAR: &str = "POSTURE_EXPLORER_ALLOW";
/// A reviewed JSON file of the same lists, `{"deny": [...], "allow": [...]}`.
pub const EXPLORER_POLICY_FILE_VAR: &str = "POSTURE_EXPLORER_POLICY_FILE";

/// Wiring errors.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    /// The demo data could not be loaded.
    #[error("demo data: {0}")]
    Demo(#[from] posture_core::demo::DemoDataError),
    /// A required setting is missing.
    #[error("{0}")]
    Config(String),
}

/// Everything the MCP server reads from its environment, read once in
/// `main.rs` (tests build one from a map).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Stores, regions, member roles, frameworks, the assessor function.
    pub org: OrgSettings,
    /// OAuth bearer verification (`POSTURE_OAUTH_*`), when an issuer is set.
    pub oauth: Option<OAuthConfig>,
    /// `POSTURE_ALLOWED_HOSTS`.
    pub allowed_hosts: String,
    /// `POSTURE_ALLOWED_ORIGINS`.
    pub allowed_origins: String,
    /// `POSTURE_URL_AUTH_TYPE`, the Function URL's declared AuthType.
    pub url_auth_type: Option<String>,
    /// How long a live inventory collection is reused (`POSTURE_LIVE_CACHE_TTL_SECS`).
    pub live_cache_ttl: jiff::SignedDuration,
    /// Circuit breakers of the AWS calls (`POSTURE_CIRCUIT_FAILURES`,
    /// `POSTURE_CIRCUIT_COOLDOWN_SECS`).
    pub circuit: posture_aws::breaker::BreakerSettings,
    /// Request rate and requests in flight per caller
    /// (`POSTURE_CALLER_REQUESTS_PER_SECOND`, `_BURST`, `_CONCURRENCY`).
    pub callers: CallerLimits,
    /// `RUST_LOG` (reported by `get_server_info`).
    pub log_level: String,
    /// Whether the process runs inside Lambda.
    pub in_lambda: bool,
    /// `aws_read`: `None` when turned off.
    pub explorer: Option<ExplorerSettings>,
}

/// How `aws_read` reads.
#[derive(Debug, Clone)]
pub struct ExplorerSettings {
    /// The explorer role in members (`None`: the own account only).
    pub role: Option<String>,
    /// What may run.
    pub policy: posture_explorer::policy::Policy,
}

impl Settings {
    /// Reads the settings from the process environment (mains only).
    pub fn from_env() -> Result<Settings, WiringError> {
        Settings::from_vars(|k| std::env::var(k).ok(), posture_aws::runtime::in_lambda())
    }

    /// Reads the settings through `var`; a malformed setting is an error
    /// naming its variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>, in_lambda: bool) -> Result<Settings, WiringError> {
        let config = |e: &dyn std::fmt::Display| WiringError::Config(e.to_string());
        Ok(Settings {
            org: OrgSettings::from_vars(&var).map_err(|e| config(&e))?,
            oauth: OAuthConfig::from_vars(&var).map_err(|e| config(&e))?,
            allowed_hosts: var(ALLOWED_HOSTS_VAR).unwrap_or_default(),
            allowed_origins: var(ALLOWED_ORIGINS_VAR).unwrap_or_default(),
            url_auth_type: var(URL_AUTH_TYPE_VAR),
            callers: CallerLimits::from_vars(&var).map_err(WiringError::Config)?,
            circuit: posture_aws::breaker::BreakerSettings::from_vars(&var).map_err(WiringError::Config)?,
            live_cache_ttl: match var(LIVE_CACHE_TTL_VAR) {
                None => posture_core::cache::DEFAULT_TTL,
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .map(|secs| jiff::SignedDuration::from_secs(i64::from(secs)))
                    .map_err(|_| {
                        WiringError::Config(format!("{LIVE_CACHE_TTL_VAR} must be whole seconds (got {v:?})"))
                    })?,
            },
            log_level: var("RUST_LOG").unwrap_or_else(|| "info".to_string()),
            in_lambda,
            explorer: if var(EXPLORER_VAR).is_some_and(|v| v.trim().eq_ignore_ascii_case("off")) {
                None
            } else {
                Some(ExplorerSettings {
                    role: var(EXPLORER_ROLE_VAR).filter(|r| !r.trim().is_empty()),
                    policy: {
                        let file = match var(EXPLORER_POLICY_FILE_VAR) {
                            Some(path) => Some((
                                std::fs::read_to_string(&path).map_err(|e| {
                                    WiringError::Config(format!("{EXPLORER_POLICY_FILE_VAR} {path}: {e}"))
                                })?,
                                path,
                            )),
                            None => None,
                        };
                        posture_explorer::policy::Policy::from_sources(
                            var(EXPLORER_DENY_VAR).as_deref(),
                            var(EXPLORER_ALLOW_VAR).as_deref(),
                            file.as_ref().map(|(text, path)| (path.as_str(), text.as_str())),
                        )
                        .map_err(|e| config(&e))?
                    },
                })
            },
        })
    }

    fn frameworks(&self) -> Result<(Vec<Framework>, Vec<FrameworkError>), WiringError> {
        self.org.frameworks().map_err(|e| WiringError::Config(e.to_string()))
    }
}

/// The built-in frameworks plus the custom ones in `dir` (see
/// [`posture_aws::org::load_frameworks`]).
pub fn load_frameworks(dir: Option<&Path>) -> Result<(Vec<Framework>, Vec<FrameworkError>), WiringError> {
    posture_aws::org::load_frameworks(dir).map_err(|e| WiringError::Config(e.to_string()))
}

/// The backend over the built-in demo organization.
pub fn demo_backend(settings: &Settings) -> Result<Backend, WiringError> {
    demo_backend_of(Arc::new(DemoOrganization::load(jiff::Timestamp::now())?), settings)
}

/// The demo server: its backend with history, and the first org-wide run
/// to make (`demo_history`); the demo organization is loaded once.
pub fn demo_server(
    settings: &Settings,
) -> Result<
    (
        Backend,
        impl Future<Output = Result<String, WiringError>> + Send + 'static,
    ),
    WiringError,
> {
    let now = jiff::Timestamp::now();
    let demo = Arc::new(DemoOrganization::load(now)?);
    let mut backend = demo_backend_of(demo.clone(), settings)?;
    let first_run = demo_history(&mut backend, settings, demo, now)?;
    Ok((backend, first_run))
}

fn demo_backend_of(org: Arc<DemoOrganization>, settings: &Settings) -> Result<Backend, WiringError> {
    let (frameworks, framework_errors) = settings.frameworks()?;
    Ok(Backend {
        sources: org.sources(),
        health: Arc::new(DemoHealth),
        mode: Mode::Demo,
        log_level: settings.log_level.clone(),
        auth_methods: vec!["none (local demo, loopback only)".to_string()],
        inventories: org.clone(),
        frameworks,
        framework_errors,
        exceptions: match &settings.org.exceptions {
            None => Default::default(),
            Some(ExceptionsLocation::File(path)) => posture_aws::org::load_exceptions_file(path),
            Some(s3) => posture_core::exceptions::LoadedExceptions {
                source: None,
                exceptions: Vec::new(),
                error: Some(posture_core::exceptions::ExceptionsError {
                    file: format!("{s3:?}"),
                    location: posture_aws::org::EXCEPTIONS_VAR.into(),
                    message: "the demo reads a local file; s3:// is for AWS mode".into(),
                }),
            },
        },
        history: None,
        members: None,
        events: Some(org.clone()),
        startup: None,
        access: Some(org),
        explorer: None,
    })
}

/// Gives the demo backend its history: a local store in `POSTURE_DATA_DIR`
/// (default: the user's data directory), org-wide runs in-process, and one
/// org-wide run of `demo` (loaded at `now`), which the returned future makes
/// (its run id); tool calls wait for it ([`Backend::startup`]), so the server
/// can listen while it runs.
fn demo_history(
    backend: &mut Backend,
    settings: &Settings,
    demo: Arc<DemoOrganization>,
    now: jiff::Timestamp,
) -> Result<impl Future<Output = Result<String, WiringError>> + Send + use<>, WiringError> {
    let dir = settings.org.data_dir.clone();
    let org = Org::demo(demo, &dir);
    let run_settings = settings
        .org
        .run_settings(backend.frameworks.clone(), backend.exceptions.exceptions.clone());
    let (done, startup) = posture_mcp::Startup::pending();
    backend.startup = Some(startup);
    backend.history = Some(HistoryBackend {
        store: org.stores.snapshots.clone(),
        reports: org.stores.reports.clone(),
        collections: org.stores.collections.clone(),
        max_duration: run_settings.max_duration,
        launcher: Arc::new(TaskLauncher {
            org: org.clone(),
            settings: run_settings.clone(),
        }),
        serving: Default::default(),
    });
    Ok(async move {
        let run_id = run::run_id(now, "demo");
        let outcome = posture_core::org::execute::execute(
            org.ports(&clock),
            &run_settings,
            &run_id,
            posture_core::org::run::RunTrigger::Cli,
            now,
        )
        .await
        .map_err(|e| WiringError::Config(format!("demo assessment in {}: {e}", dir.display())))?;
        if let RunOutcome::Failed(r) = &outcome {
            return Err(WiringError::Config(format!(
                "demo assessment failed: {}",
                r.error.as_deref().unwrap_or("")
            )));
        }
        done.finish();
        Ok(run_id)
    })
}

fn clock() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// Refuses to start runs, saying what is missing.
struct NoLauncher(String);

#[async_trait::async_trait]
impl RunLauncher for NoLauncher {
    async fn launch(&self, _run_id: &str) -> Result<(), PortError> {
        Err(PortError::new("launch", self.0.clone()))
    }
}

/// History over the configured store (none when no store is configured):
/// runs start through the assessor function when one is named, in-process
/// otherwise (never in-process inside Lambda, which freezes after the reply).
fn aws_history(
    settings: &Settings,
    ctx: &posture_aws::AwsContext,
    frameworks: &[Framework],
    exceptions: &[posture_core::exceptions::Exception],
) -> Result<Option<HistoryBackend>, WiringError> {
    let org_settings = &settings.org;
    let Some(store) = &org_settings.store else {
        return Ok(None);
    };
    let stores = Stores::new(store, Some(&ctx.sdk)).map_err(|e| WiringError::Config(e.to_string()))?;
    let run_settings = org_settings.run_settings(frameworks.to_vec(), exceptions.to_vec());
    let launcher: Arc<dyn RunLauncher> = match &org_settings.assessor_function {
        Some(function) => Arc::new(LambdaLauncher::connect(&ctx.sdk, function.clone())),
        None if settings.in_lambda => Arc::new(NoLauncher(format!(
            "{ASSESSOR_FUNCTION_VAR} is not set: in Lambda, org-wide runs are started through the assessor function"
        ))),
        None => Arc::new(TaskLauncher {
            org: Org::aws(org_settings, &ctx.sdk).map_err(|e| WiringError::Config(e.to_string()))?,
            settings: run_settings.clone(),
        }),
    };
    Ok(Some(HistoryBackend {
        store: stores.snapshots,
        reports: stores.reports,
        collections: stores.collections,
        launcher,
        max_duration: run_settings.max_duration,
        serving: Default::default(),
    }))
}

/// The backend over AWS (standard SDK configuration).
pub async fn aws_backend(settings: &Settings, auth_methods: Vec<String>) -> Result<Backend, WiringError> {
    // One set of breakers for the process: a service that keeps failing is
    // skipped by later calls too, until its cool-down ends.
    let ctx = posture_aws::AwsContext::load()
        .await
        .with_breakers(posture_aws::breaker::Breakers::new(settings.circuit));
    let (frameworks, framework_errors) = settings.frameworks()?;
    let exceptions = posture_aws::org::load_exceptions(settings.org.exceptions.as_ref(), Some(&ctx.sdk)).await;
    if let Some(error) = &exceptions.error {
        tracing::error!(%error, "the exceptions file is not applied");
    }
    Ok(Backend {
        sources: ctx.finding_sources(),
        health: ctx.health_probe(),
        mode: Mode::Aws,
        log_level: settings.log_level.clone(),
        auth_methods,
        // One live collection serves every call within the TTL, and all
        // concurrent calls (so tool calls never multiply AWS load).
        inventories: Arc::new(posture_core::cache::SharedInventory::new(
            ctx.inventory_source(settings.org.roles.regions.clone()),
            settings.live_cache_ttl,
            clock,
        )),
        history: aws_history(settings, &ctx, &frameworks, &exceptions.exceptions)?,
        // Named member accounts, live: through their role, kept like the
        // own account's inventory (per account and regions, this instance only).
        members: Some(Arc::new(posture_core::cache::SharedCollections::new(
            Arc::new(InProcessCollector {
                base: ctx.sdk.clone(),
                roles: settings.org.roles.clone(),
            }),
            settings.live_cache_ttl,
            clock,
        ))),
        events: Some(Arc::new(posture_aws::trail_events::OrgEventHistory {
            base: ctx.sdk.clone(),
            roles: settings.org.roles.clone(),
            own_account: Default::default(),
        })),
        startup: None,
        access: Some(Arc::new(posture_aws::access::AwsAccessProbe {
            base: ctx.sdk.clone(),
            roles: settings.org.roles.clone(),
            explorer_role: settings.explorer.as_ref().and_then(|e| e.role.clone()),
        })),
        explorer: settings.explorer.as_ref().map(|explorer| {
            let roles = explorer.role.as_ref().map(|role| posture_aws::collector::RoleSettings {
                role: role.clone(),
                ..settings.org.roles.clone()
            });
            Arc::new(posture_aws::explorer::AwsExplorer::new(
                ctx.sdk.clone(),
                roles,
                explorer.policy.clone(),
            )) as Arc<dyn posture_explorer::read::Explorer>
        }),
        frameworks,
        framework_errors,
        exceptions,
    })
}

/// The HTTP app for a backend.
pub fn app(backend: Backend, config: &HttpConfig) -> Router {
    router(PostureServer::new(backend), config)
}

/// The HTTP app for a backend, with `/mcp` behind OAuth bearer tokens when
/// `oauth` is given (and `get_server_info` saying so).
pub fn app_with_oauth(
    mut backend: Backend,
    config: &HttpConfig,
    oauth: Option<OAuthConfig>,
) -> Result<Router, WiringError> {
    let verifier = match oauth {
        Some(oauth) => {
            backend.auth_methods = vec![oauth.describe()];
            Some(Arc::new(
                Verifier::new(oauth).map_err(|e| WiringError::Config(e.to_string()))?,
            ))
        }
        None => None,
    };
    Ok(router_with_oauth(PostureServer::new(backend), config, verifier))
}

/// Transport settings in Lambda: the allow-lists from the environment. The
/// Function URL host must be listed (rmcp refuses any other Host).
pub fn lambda_http_config(settings: &Settings) -> Result<HttpConfig, WiringError> {
    let mut config = HttpConfig::from_lists(&settings.allowed_hosts, &settings.allowed_origins);
    config.callers = settings.callers;
    if config.allowed_hosts.is_empty() {
        return Err(WiringError::Config(format!(
            "{ALLOWED_HOSTS_VAR} must list the Function URL host (e.g. abcdefg.lambda-url.us-east-1.on.aws)"
        )));
    }
    Ok(config)
}

/// Refuses to serve a non-loopback address without OAuth (anyone who can
/// reach it could call every tool; the Host allow-list is no guard, a client
/// sets that header) unless `allow_unauthenticated_network` says so.
pub fn check_listen(
    addr: std::net::SocketAddr,
    oauth: bool,
    allow_unauthenticated_network: bool,
) -> Result<(), WiringError> {
    if addr.ip().is_loopback() || oauth || allow_unauthenticated_network {
        return Ok(());
    }
    Err(WiringError::Config(format!(
        "refusing to serve {addr} without authentication: anyone who can reach it could call every tool. \
         Set POSTURE_OAUTH_ISSUER (bearer tokens), listen on 127.0.0.1, or pass \
         --allow-unauthenticated-network if the network itself is trusted"
    )))
}

/// Transport settings locally: loopback, plus anything configured.
pub fn local_http_config(settings: &Settings) -> HttpConfig {
    let mut config = HttpConfig::loopback();
    let extra = HttpConfig::from_lists(&settings.allowed_hosts, &settings.allowed_origins);
    config.allowed_hosts.extend(extra.allowed_hosts);
    config.allowed_origins.extend(extra.allowed_origins);
    config.callers = settings.callers;
    config
}

/// Copies what Lambda established about a Function URL request (the caller
/// that SigV4 authenticated, the request id) into request extensions, where
/// clients cannot forge them. With OAuth (`AuthType: NONE`), the caller is
/// then replaced by the bearer token's subject.
pub fn lambda_identity(mut request: lambda_http::Request) -> lambda_http::Request {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    let (caller, request_id) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            let iam = ctx.authorizer.as_ref().and_then(|a| a.iam.as_ref());
            let caller = iam
                .and_then(|i| i.user_arn.clone().or_else(|| i.caller_id.clone()))
                .unwrap_or_else(|| UNAUTHENTICATED.to_string());
            (caller, ctx.request_id.clone())
        }
        _ => ("unknown".to_string(), None),
    };
    let request_id = request_id.or_else(|| request.lambda_context_ref().map(|c| c.request_id.clone()));
    request.extensions_mut().insert(Caller(caller));
    if let Some(id) = request_id {
        request.extensions_mut().insert(RequestId(id));
    }
    request
}

/// Names the Function URL's `AuthType` (the template's `McpAuthType`); the
/// function cannot read it from Lambda, so the deployment declares it.
pub const URL_AUTH_TYPE_VAR: &str = "POSTURE_URL_AUTH_TYPE";

/// Who authenticates callers of the Function URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlAuth {
    /// `AWS_IAM`: Lambda verified SigV4; every request carries the caller.
    AwsIam,
    /// `NONE`: the URL is public; the app verifies OAuth bearer tokens.
    OAuth,
}

/// Checks the declared `AuthType` against the OAuth settings before serving:
/// a public URL without token checks, or OAuth behind `AWS_IAM` (whose
/// `Authorization` header carries SigV4, so no bearer token arrives), would
/// be a deployment that is open or unusable, so the function refuses to start.
pub fn lambda_url_auth(declared: Option<&str>, oauth: Option<&OAuthConfig>) -> Result<UrlAuth, WiringError> {
    match (declared.map(str::trim), oauth) {
        (Some("AWS_IAM"), None) => Ok(UrlAuth::AwsIam),
        (Some("NONE"), Some(_)) => Ok(UrlAuth::OAuth),
        (Some("NONE"), None) => Err(WiringError::Config(format!(
            "{URL_AUTH_TYPE_VAR}=NONE makes the Function URL public: set POSTURE_OAUTH_ISSUER and \
             POSTURE_OAUTH_AUDIENCE, or use AWS_IAM"
        ))),
        (Some("AWS_IAM"), Some(_)) => Err(WiringError::Config(format!(
            "{URL_AUTH_TYPE_VAR}=AWS_IAM: the Authorization header carries SigV4, so bearer tokens never \
             arrive; unset POSTURE_OAUTH_ISSUER or use NONE"
        ))),
        (other, _) => Err(WiringError::Config(format!(
            "{URL_AUTH_TYPE_VAR} must be AWS_IAM or NONE, the Function URL's AuthType (got {other:?})"
        ))),
    }
}

/// Refuses, under [`UrlAuth::AwsIam`], a request without the SigV4 identity
/// Lambda adds: the URL is then not what the deployment declared (public),
/// and serving would let anyone in.
async fn require_sigv4_identity(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let signed = request
        .extensions()
        .get::<Caller>()
        .is_some_and(|c| c.0 != UNAUTHENTICATED);
    if signed {
        return next.run(request).await;
    }
    tracing::error!(
        "request without a SigV4 caller identity although {URL_AUTH_TYPE_VAR}=AWS_IAM: is the Function URL's AuthType NONE?"
    );
    (
        axum::http::StatusCode::FORBIDDEN,
        "this endpoint requires AWS SigV4 (Function URL AuthType AWS_IAM); the request carries no verified caller",
    )
        .into_response()
}

const UNAUTHENTICATED: &str = "unauthenticated";

/// The Lambda service: identity glue in front of the app, and under
/// [`UrlAuth::AwsIam`] the refusal of requests Lambda did not authenticate.
pub fn lambda_service(
    app: Router,
    auth: UrlAuth,
) -> impl tower::Service<
    lambda_http::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    use tower::ServiceExt;
    let app = match auth {
        UrlAuth::AwsIam => app.layer(axum::middleware::from_fn(require_sigv4_identity)),
        UrlAuth::OAuth => app,
    };
    app.map_request(lambda_identity)
}
