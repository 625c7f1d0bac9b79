//! OAuth 2.1 bearer-token access to `/mcp`, for a Function URL with
//! `AuthType: NONE` (with `AWS_IAM`, Lambda checks SigV4 before our code runs
//! and none of this is configured).
//!
//! A request to `/mcp` must carry `Authorization: Bearer <JWT>`, where the JWT
//! is signed by a key of the configured issuer's JWKS (fetched, cached for
//! [`JWKS_TTL`], refetched at most every [`REFETCH_INTERVAL`] when a token
//! names an unknown `kid`: key rotation), with `iss` exactly the issuer, `aud`
//! containing the audience (this resource), `exp` required and in the future,
//! `nbf` (if present) in the past, both with [`LEEWAY_SECS`] of leeway, and
//! the required scope in `scope` (space-separated) or `scp` (array or
//! space-separated string).
//!
//! Refusals follow RFC 6750 §3 and RFC 9728 §5.1: 401 with
//! `WWW-Authenticate: Bearer resource_metadata="…"` (no error code) when the
//! token is absent, plus `error="invalid_token"` and `error_description` when
//! it is bad; 403 with `error="insufficient_scope"` when the scope is missing.
//! The protected-resource metadata (RFC 9728) is served without a token at
//! [`METADATA_PATH`] and its path-suffixed form `METADATA_PATH/mcp`.
//!
//! The token is never logged nor echoed; only the reason of a refusal is.

use crate::audit::{Caller, RequestId};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Environment variable: the issuer URL (`iss` of accepted tokens, e.g.
/// `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf`). Setting
/// it turns OAuth on; every other `POSTURE_OAUTH_*` variable and
/// `POSTURE_RESOURCE_URL` need it.
pub const ISSUER_VAR: &str = "POSTURE_OAUTH_ISSUER";
/// Environment variable: the audience accepted tokens must name in `aud`:
/// this resource's identifier, e.g. the Function URL followed by `/mcp`.
/// Required with the issuer.
pub const AUDIENCE_VAR: &str = "POSTURE_OAUTH_AUDIENCE";
/// Environment variable: the issuer's JWKS URL. Default: the `jwks_uri` of
/// `<issuer>/.well-known/openid-configuration`.
pub const JWKS_URL_VAR: &str = "POSTURE_OAUTH_JWKS_URL";
/// Environment variable: the scope that grants access (default
/// [`DEFAULT_SCOPE`]), looked for in the `scope` (space-separated) and `scp`
/// (array) claims.
pub const REQUIRED_SCOPE_VAR: &str = "POSTURE_OAUTH_REQUIRED_SCOPE";
/// Environment variable: comma-separated signature algorithms accepted
/// (default `RS256,ES256`). Asymmetric only: `none` and `HS*` are refused.
pub const ALGORITHMS_VAR: &str = "POSTURE_OAUTH_ALGORITHMS";
/// Environment variable: the public URL of the MCP endpoint, the `resource`
/// of the protected-resource metadata (default: the audience, which must
/// then be a URL). The metadata is announced at this URL's origin.
pub const RESOURCE_URL_VAR: &str = "POSTURE_RESOURCE_URL";

/// The scope required when none is configured.
pub const DEFAULT_SCOPE: &str = "posture:read";
/// Where the protected-resource metadata is served (RFC 9728 §3).
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";
/// How long a fetched JWKS is used before it is fetched again.
pub const JWKS_TTL: Duration = Duration::from_secs(600);
/// Least time between two refetches caused by an unknown `kid`.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp` and `nbf` (seconds).
pub const LEEWAY_SECS: u64 = 60;
/// Timeout of one request to the issuer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a failed fetch (with no keys to fall back on) is the answer.
const FAILURE_TTL: Duration = Duration::from_secs(10);
/// Largest discovery document or JWKS read (bytes).
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// A malformed OAuth setting: names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct SettingError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn setting_error(var: &'static str, reason: impl Into<String>) -> SettingError {
    SettingError {
        var,
        reason: reason.into(),
    }
}

/// The OAuth settings (see the `*_VAR` constants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// Accepted `iss`, exactly.
    pub issuer: String,
    /// Required member of `aud`.
    pub audience: String,
    /// The JWKS URL; `None`: discovered from the issuer.
    pub jwks_url: Option<String>,
    /// The scope that grants access.
    pub required_scope: String,
    /// Accepted signature algorithms (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// The `resource` of the protected-resource metadata.
    pub resource_url: String,
}

/// An `https` URL, or `http` on a loopback host (local issuers in tests).
fn web_url(var: &'static str, value: &str) -> Result<reqwest::Url, SettingError> {
    let url = reqwest::Url::parse(value).map_err(|e| setting_error(var, format!("not a URL ({e}): {value}")))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(setting_error(var, format!("must be an https URL: {value}"))),
    }
    if url.fragment().is_some() || url.host_str().is_none() {
        return Err(setting_error(
            var,
            format!("must be an absolute URL without fragment: {value}"),
        ));
    }
    Ok(url)
}

/// Characters safe inside an RFC 7235 quoted-string without escaping.
fn header_safe(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

impl OAuthConfig {
    /// Settings with the defaults for everything but issuer and audience.
    pub fn new(issuer: &str, audience: &str) -> Result<OAuthConfig, SettingError> {
        OAuthConfig::from_vars(|k| match k {
            ISSUER_VAR => Some(issuer.to_string()),
            AUDIENCE_VAR => Some(audience.to_string()),
            _ => None,
        })
        .and_then(|c| c.ok_or_else(|| setting_error(ISSUER_VAR, "is empty")))
    }

    /// Reads the settings through `get` (an environment lookup). `None`: OAuth
    /// is off (no issuer, and no other OAuth variable set).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Option<OAuthConfig>, SettingError> {
        let var = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let Some(issuer) = var(ISSUER_VAR) else {
            for other in [
                AUDIENCE_VAR,
                JWKS_URL_VAR,
                REQUIRED_SCOPE_VAR,
                ALGORITHMS_VAR,
                RESOURCE_URL_VAR,
            ] {
                if var(other).is_some() {
                    return Err(setting_error(
                        other,
                        format!("is set but {ISSUER_VAR} is not: OAuth needs the issuer"),
                    ));
                }
            }
            return Ok(None);
        };
        let issuer_url = web_url(ISSUER_VAR, &issuer)?;
        if issuer_url.query().is_some() {
            return Err(setting_error(ISSUER_VAR, "must not have a query"));
        }
        let audience = var(AUDIENCE_VAR).ok_or_else(|| {
            setting_error(
                AUDIENCE_VAR,
                format!("is required with {ISSUER_VAR} (this resource, e.g. https://<function-url-host>/mcp)"),
            )
        })?;
        if audience.chars().any(char::is_whitespace) {
            return Err(setting_error(AUDIENCE_VAR, "must not contain whitespace"));
        }
        let jwks_url = var(JWKS_URL_VAR)
            .map(|u| web_url(JWKS_URL_VAR, &u).map(|_| u))
            .transpose()?;
        let required_scope = var(REQUIRED_SCOPE_VAR).unwrap_or_else(|| DEFAULT_SCOPE.to_string());
        if !header_safe(&required_scope) {
            return Err(setting_error(
                REQUIRED_SCOPE_VAR,
                "must be one scope token (no spaces, quotes or backslashes)",
            ));
        }
        let algorithms = match var(ALGORITHMS_VAR) {
            None => vec![Algorithm::RS256, Algorithm::ES256],
            Some(list) => parse_algorithms(&list)?,
        };
        let (resource_var, resource_url) = match var(RESOURCE_URL_VAR) {
            Some(url) => (RESOURCE_URL_VAR, url),
            None => (AUDIENCE_VAR, audience.clone()),
        };
        let resource = web_url(resource_var, &resource_url).map_err(|e| {
            if resource_var == AUDIENCE_VAR {
                setting_error(
                    RESOURCE_URL_VAR,
                    format!("is required when {AUDIENCE_VAR} is not an https URL ({})", e.reason),
                )
            } else {
                e
            }
        })?;
        if !header_safe(resource.as_str()) {
            return Err(setting_error(resource_var, "must not contain quotes or backslashes"));
        }
        Ok(Some(OAuthConfig {
            issuer,
            audience,
            jwks_url,
            required_scope,
            algorithms,
            resource_url,
        }))
    }

    /// The URL of the protected-resource metadata: the resource's origin
    /// followed by [`METADATA_PATH`].
    pub fn metadata_url(&self) -> String {
        let origin = reqwest::Url::parse(&self.resource_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        format!("{origin}{METADATA_PATH}")
    }

    /// The protected-resource metadata document (RFC 9728 §2).
    pub fn metadata(&self) -> Value {
        json!({
            "resource": self.resource_url,
            "authorization_servers": [self.issuer],
            "scopes_supported": [self.required_scope],
            "bearer_methods_supported": ["header"],
            "resource_name": "Posture Advisor",
        })
    }

    /// How `get_server_info` names this access method.
    pub fn describe(&self) -> String {
        format!(
            "OAuth 2.1 bearer (issuer {}, scope {})",
            self.issuer, self.required_scope
        )
    }
}

fn parse_algorithms(list: &str) -> Result<Vec<Algorithm>, SettingError> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let alg = Algorithm::from_str(name).map_err(|_| {
            setting_error(
                ALGORITHMS_VAR,
                format!("unknown or refused algorithm {name:?} (asymmetric only: RS*, PS*, ES256, ES384, EdDSA)"),
            )
        })?;
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(setting_error(
                ALGORITHMS_VAR,
                format!("{name} is refused: shared-secret algorithms cannot be verified with a JWKS"),
            ));
        }
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    if out.is_empty() {
        return Err(setting_error(ALGORITHMS_VAR, "names no algorithm"));
    }
    Ok(out)
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No bearer token (401, no error code).
    Missing,
    /// A bad token (401 `invalid_token`), with a description safe to send.
    Invalid(String),
    /// A valid token without the required scope (403 `insufficient_scope`).
    InsufficientScope,
    /// The issuer's keys could not be fetched (503).
    Unavailable(String),
}

/// What the cache answers at `now` for `kid` and `alg`, without fetching.
fn cached(cache: &KeyCache, kid: Option<&str>, alg: Algorithm, now: Instant) -> Cached {
    if let Some((until, reason)) = &cache.failed
        && now < *until
    {
        return Cached::Failed(reason.clone());
    }
    if cache.refresh_at.is_none_or(|at| now >= at) {
        return Cached::Fetch;
    }
    if let Some(jwk) = find_key(&cache.keys, kid, alg) {
        return Cached::Key(Box::new(jwk));
    }
    // An unknown `kid` may be a rotated key: refetch, at most every interval.
    let refetched_lately = cache
        .last_forced
        .is_some_and(|at| now.duration_since(at) < REFETCH_INTERVAL);
    if kid.is_none() || refetched_lately {
        Cached::NoKey
    } else {
        Cached::Fetch
    }
}

fn invalid(description: &str) -> Refusal {
    Refusal::Invalid(description.to_string())
}

struct KeyCache {
    /// The JWKS URL (configured, or discovered once).
    jwks_url: Option<String>,
    keys: Vec<Jwk>,
    /// When the keys are to be fetched again; `None`: never fetched.
    refresh_at: Option<Instant>,
    /// Last refetch caused by an unknown `kid`.
    last_forced: Option<Instant>,
    /// A fetch failed with no keys to fall back on: its reason, the answer
    /// until then (a hanging issuer costs one timeout, not one per request).
    failed: Option<(Instant, String)>,
    /// Fetches done; a request that waited for another's fetch uses its
    /// result instead of fetching again.
    generation: u64,
}

/// What the cache says without fetching.
enum Cached {
    /// The key.
    Key(Box<Jwk>),
    /// No such key, and no refetch is due.
    NoKey,
    /// The issuer failed recently and there are no keys.
    Failed(String),
    /// A fetch is needed (keys stale, or an unknown `kid` may be new).
    Fetch,
}

/// Verifies bearer tokens against the issuer's JWKS (cached in memory).
pub struct Verifier {
    config: OAuthConfig,
    client: reqwest::Client,
    cache: tokio::sync::Mutex<KeyCache>,
    /// Held by the one request fetching the keys; the cache itself is never
    /// locked across a fetch, so requests with a known key never wait.
    fetching: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("config", &self.config).finish()
    }
}

impl Verifier {
    /// A verifier for `config`; the keys are fetched on first use.
    pub fn new(config: OAuthConfig) -> Result<Verifier, SettingError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| setting_error(ISSUER_VAR, format!("cannot build the HTTP client: {e}")))?;
        Ok(Verifier {
            cache: tokio::sync::Mutex::new(KeyCache {
                jwks_url: config.jwks_url.clone(),
                keys: Vec::new(),
                refresh_at: None,
                last_forced: None,
                failed: None,
                generation: 0,
            }),
            fetching: tokio::sync::Mutex::new(()),
            config,
            client,
        })
    }

    /// The settings.
    pub fn config(&self) -> &OAuthConfig {
        &self.config
    }

    /// Verifies a token; on success, the caller for the audit line.
    pub async fn verify(&self, token: &str) -> Result<Caller, Refusal> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid("the token is not a well-formed JWT with a supported algorithm"))?;
        let alg = header.alg;
        if !self.config.algorithms.contains(&alg) {
            return Err(Refusal::Invalid(format!(
                "the token's algorithm {alg:?} is not accepted"
            )));
        }
        let jwk = self
            .key_for(header.kid.as_deref(), alg)
            .await?
            .ok_or_else(|| invalid("no signing key of the issuer matches the token"))?;
        if !key_fits(&jwk, alg) {
            return Err(invalid("the issuer's key for this token does not allow its algorithm"));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("the issuer's key for this token is unusable"))?;
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| Refusal::Invalid(describe_error(e.kind())))?
            .claims;
        if !has_scope(&claims, &self.config.required_scope) {
            return Err(Refusal::InsufficientScope);
        }
        Ok(caller_of(&claims))
    }

    /// The key for `kid` (or, without `kid`, the only key fitting `alg`):
    /// from the cache, fetched when stale, refetched (rate-limited) when
    /// unknown. One request fetches at a time; those that waited for it use
    /// what it brought.
    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<Option<Jwk>, Refusal> {
        let seen = {
            let cache = self.cache.lock().await;
            match cached(&cache, kid, alg, Instant::now()) {
                Cached::Key(jwk) => return Ok(Some(*jwk)),
                Cached::NoKey => return Ok(None),
                Cached::Failed(reason) => return Err(Refusal::Unavailable(reason)),
                Cached::Fetch => cache.generation,
            }
        };
        let _fetching = self.fetching.lock().await;
        let jwks_url = {
            let mut cache = self.cache.lock().await;
            if cache.generation != seen {
                // Another request fetched while this one waited.
                return match cached(&cache, kid, alg, Instant::now()) {
                    Cached::Key(jwk) => Ok(Some(*jwk)),
                    Cached::Failed(reason) => Err(Refusal::Unavailable(reason)),
                    Cached::NoKey | Cached::Fetch => Ok(find_key(&cache.keys, kid, alg)),
                };
            }
            let now = Instant::now();
            if cache.refresh_at.is_some_and(|at| now < at) {
                cache.last_forced = Some(now);
            }
            cache.jwks_url.clone()
        };
        let fetched = self.fetch(jwks_url).await;
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        cache.generation += 1;
        match fetched {
            Ok((url, keys)) => {
                cache.jwks_url = Some(url);
                cache.keys = keys;
                cache.refresh_at = Some(now + JWKS_TTL);
                cache.failed = None;
            }
            Err(e) if cache.keys.is_empty() => {
                tracing::warn!(target: "audit", event = "jwks_fetch_failed", reason = %e);
                cache.failed = Some((now + FAILURE_TTL, e.clone()));
                return Err(Refusal::Unavailable(e));
            }
            Err(e) => {
                // Keep the stale keys; try again after the refetch interval.
                tracing::warn!(target: "audit", event = "jwks_fetch_failed", reason = %e, stale_keys = true);
                cache.refresh_at = Some(now + REFETCH_INTERVAL);
            }
        }
        Ok(find_key(&cache.keys, kid, alg))
    }

    /// The issuer's keys, from `jwks_url` (discovered when `None`), with the
    /// URL they came from.
    async fn fetch(&self, jwks_url: Option<String>) -> Result<(String, Vec<Jwk>), String> {
        let jwks_url = match jwks_url {
            Some(url) => url,
            None => self.discover().await?,
        };
        let set = self.get_json(&jwks_url).await?;
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{jwks_url}: not a JWKS (no keys array)"))?;
        // Keys of types we do not know are skipped, not fatal.
        let keys = keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect();
        Ok((jwks_url, keys))
    }

    /// The `jwks_uri` of the issuer's OpenID configuration.
    async fn discover(&self) -> Result<String, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let doc = self.get_json(&url).await?;
        if doc.get("issuer").and_then(Value::as_str) != Some(self.config.issuer.as_str()) {
            return Err(format!("{url}: its issuer is not {}", self.config.issuer));
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{url}: no jwks_uri"))?;
        web_url(JWKS_URL_VAR, jwks_uri).map_err(|e| format!("{url}: jwks_uri {}", e.reason))?;
        Ok(jwks_uri.to_string())
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let response = self
            .client
            .get(url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(format!("{url}: larger than {MAX_DOCUMENT_BYTES} bytes"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON ({e})"))
    }
}

fn family_fits(params: &AlgorithmParameters, alg: Algorithm) -> bool {
    use Algorithm::*;
    match params {
        AlgorithmParameters::RSA(_) => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
        AlgorithmParameters::EllipticCurve(_) => matches!(alg, ES256 | ES384),
        AlgorithmParameters::OctetKeyPair(_) => matches!(alg, EdDSA),
        _ => false,
    }
}

/// Whether `jwk` may verify `alg`: key type of the algorithm's family, the
/// key's own `alg` (if any) the same, its `use` (if any) `sig`.
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let alg_ok = jwk.common.key_algorithm.is_none_or(|k| k == KeyAlgorithm::from(alg));
    let use_ok = matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature));
    family_fits(&jwk.algorithm, alg) && alg_ok && use_ok
}

fn find_key(keys: &[Jwk], kid: Option<&str>, alg: Algorithm) -> Option<Jwk> {
    match kid {
        Some(kid) => keys.iter().find(|k| k.common.key_id.as_deref() == Some(kid)).cloned(),
        None => {
            let mut fitting = keys.iter().filter(|k| key_fits(k, alg));
            match (fitting.next(), fitting.next()) {
                (Some(only), None) => Some(only.clone()),
                _ => None,
            }
        }
    }
}

fn describe_error(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidSignature => "the token's signature does not verify".into(),
        K::ExpiredSignature => "the token has expired".into(),
        K::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        K::InvalidIssuer => "the token was issued by another issuer".into(),
        K::InvalidAudience => "the token is for another audience".into(),
        K::InvalidAlgorithm => "the token's algorithm does not match its key".into(),
        K::MissingRequiredClaim(c) if header_safe(c) => format!("the token lacks the {c} claim"),
        K::InvalidClaimFormat(c) if header_safe(c) => format!("the token's {c} claim is malformed"),
        _ => "the token is malformed".into(),
    }
}

fn has_scope(claims: &Map<String, Value>, scope: &str) -> bool {
    let in_words = |v: &Value| v.as_str().is_some_and(|s| s.split_whitespace().any(|w| w == scope));
    let in_scope = claims.get("scope").is_some_and(in_words);
    let in_scp = match claims.get("scp") {
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(scope)),
        Some(v) => in_words(v),
        None => false,
    };
    in_scope || in_scp
}

/// The audit caller: `oauth:<sub>`, plus ` client:<client_id or azp>`.
fn caller_of(claims: &Map<String, Value>) -> Caller {
    let clip = |s: &str| s.chars().take(200).collect::<String>();
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    let client = ["client_id", "azp"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(Value::as_str));
    Caller(match client {
        Some(c) if c != sub => format!("oauth:{} client:{}", clip(sub), clip(c)),
        _ => format!("oauth:{}", clip(sub)),
    })
}

/// The `WWW-Authenticate` value for a refusal (none for 503).
pub fn challenge(config: &OAuthConfig, refusal: &Refusal) -> Option<String> {
    let metadata = config.metadata_url();
    match refusal {
        Refusal::Missing => Some(format!(r#"Bearer resource_metadata="{metadata}""#)),
        Refusal::Invalid(description) => {
            let description: String = description
                .chars()
                .filter(|c| *c == ' ' || (c.is_ascii_graphic() && *c != '"' && *c != '\\'))
                .collect();
            Some(format!(
                r#"Bearer error="invalid_token", error_description="{description}", resource_metadata="{metadata}""#
            ))
        }
        Refusal::InsufficientScope => Some(format!(
            r#"Bearer error="insufficient_scope", scope="{}", resource_metadata="{metadata}""#,
            config.required_scope
        )),
        Refusal::Unavailable(_) => None,
    }
}

/// The HTTP answer to a refusal.
pub fn refusal_response(config: &OAuthConfig, refusal: &Refusal) -> Response {
    let (status, error, description) = match refusal {
        Refusal::Missing => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint requires an OAuth 2.1 bearer token (Authorization: Bearer <token>)".to_string(),
        ),
        Refusal::Invalid(d) => (StatusCode::UNAUTHORIZED, "invalid_token", d.clone()),
        Refusal::InsufficientScope => (
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("the token lacks the scope {}", config.required_scope),
        ),
        Refusal::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the issuer's signing keys could not be fetched; try again later".to_string(),
        ),
    };
    let body = json!({"error": error, "error_description": description}).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(value) = challenge(config, refusal).and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    if matches!(refusal, Refusal::Unavailable(_)) {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    response
}

/// The bearer token of a request: `None` when there is no `Authorization:
/// Bearer` header (another scheme counts as none).
fn bearer_token(request: &Request) -> Option<&str> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Middleware: lets a request through only with a valid bearer token, and
/// makes the token's subject the request's [`Caller`].
pub async fn authenticate(State(verifier): State<Arc<Verifier>>, mut request: Request, next: Next) -> Response {
    let outcome = match bearer_token(&request) {
        None => Err(Refusal::Missing),
        Some("") => Err(invalid("the bearer token is empty")),
        Some(token) => verifier.verify(token).await,
    };
    match outcome {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refusal) => {
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .map(|r| r.0.as_str())
                .unwrap_or("");
            let reason = match &refusal {
                Refusal::Missing => "no bearer token",
                Refusal::Invalid(d) => d.as_str(),
                Refusal::InsufficientScope => "insufficient scope",
                Refusal::Unavailable(e) => e.as_str(),
            };
            tracing::info!(target: "audit", event = "auth_refused", request_id, reason);
            refusal_response(verifier.config(), &refusal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let pairs = pairs.to_vec();
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn off_without_issuer_and_defaults_with_it() {
        assert_eq!(OAuthConfig::from_vars(vars(&[])), Ok(None));
        let c = OAuthConfig::from_vars(vars(&[
            (ISSUER_VAR, "https://issuer.example/tenant"),
            (AUDIENCE_VAR, "https://abc.lambda-url.us-east-1.on.aws/mcp"),
        ]))
        .ok()
        .flatten();
        let Some(c) = c else { panic!("no config") };
        assert_eq!(c.required_scope, "posture:read");
        assert_eq!(c.algorithms, vec![Algorithm::RS256, Algorithm::ES256]);
        assert_eq!(c.resource_url, "https://abc.lambda-url.us-east-1.on.aws/mcp");
        assert_eq!(
            c.metadata_url(),
            "https://abc.lambda-url.us-east-1.on.aws/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            c.metadata()["authorization_servers"][0],
            "https://issuer.example/tenant"
        );
    }

    #[test]
    fn malformed_settings_name_the_variable() {
        let iss = (ISSUER_VAR, "https://issuer.example");
        let aud = (AUDIENCE_VAR, "https://api.example/mcp");
        let cases: Vec<(Vec<(&'static str, &'static str)>, &str)> = vec![
            (vec![aud], AUDIENCE_VAR),
            (vec![iss], AUDIENCE_VAR),
            (vec![(ISSUER_VAR, "http://issuer.example"), aud], ISSUER_VAR),
            (vec![(ISSUER_VAR, "not a url"), aud], ISSUER_VAR),
            (vec![iss, aud, (ALGORITHMS_VAR, "HS256")], ALGORITHMS_VAR),
            (vec![iss, aud, (ALGORITHMS_VAR, "none")], ALGORITHMS_VAR),
            (vec![iss, aud, (ALGORITHMS_VAR, " , ")], ALGORITHMS_VAR),
            (vec![iss, aud, (REQUIRED_SCOPE_VAR, "a b")], REQUIRED_SCOPE_VAR),
            (vec![iss, aud, (JWKS_URL_VAR, "ftp://x/jwks")], JWKS_URL_VAR),
            (vec![iss, (AUDIENCE_VAR, "api://posture")], RESOURCE_URL_VAR),
            (
                vec![iss, (AUDIENCE_VAR, "api://posture"), (RESOURCE_URL_VAR, "nope")],
                RESOURCE_URL_VAR,
            ),
        ];
        for (pairs, var) in cases {
            let got = OAuthConfig::from_vars(vars(&pairs));
            assert!(
                matches!(&got, Err(e) if e.var == var && e.to_string().starts_with(var)),
                "{pairs:?}: {got:?}"
            );
        }
    }

    #[test]
    fn scope_in_scope_or_scp() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert!(has_scope(&m(json!({"scope": "openid posture:read"})), "posture:read"));
        assert!(has_scope(&m(json!({"scp": ["posture:read"]})), "posture:read"));
        assert!(has_scope(&m(json!({"scp": "x posture:read"})), "posture:read"));
        assert!(!has_scope(&m(json!({"scope": "posture:readwrite"})), "posture:read"));
        assert!(!has_scope(&m(json!({})), "posture:read"));
    }

    #[test]
    fn the_caller_is_the_subject_and_client() {
        let m = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(caller_of(&m(json!({"sub": "u1"}))), Caller("oauth:u1".into()));
        assert_eq!(
            caller_of(&m(json!({"sub": "u1", "azp": "app"}))),
            Caller("oauth:u1 client:app".into())
        );
        assert_eq!(
            caller_of(&m(json!({"sub": "svc", "client_id": "svc"}))),
            Caller("oauth:svc".into())
        );
    }
}
