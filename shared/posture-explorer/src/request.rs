//! A serialized operation made into a signed HTTP request: the endpoint
//! (regional, global, an `AWS_ENDPOINT_URL` override; S3 virtual-hosted
//! buckets), then SigV4.

use crate::model::CatalogService;
use crate::policy::Allowed;
use crate::serialize::{self, RequestParts, SerializeError};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;
use serde_json::Value;
use std::time::SystemTime;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Parameters(#[from] SerializeError),
    #[error("the request cannot be signed: {0}")]
    Signing(String),
    #[error("the endpoint override {0:?} is not an http(s) URL")]
    Endpoint(String),
}

/// Where a request goes and how it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `scheme://host[:port]`, no path.
    pub base: String,
    pub signing_region: String,
    /// An override endpoint (tests, VPC endpoints): S3 buckets go in the path.
    pub overridden: bool,
}

/// The endpoint of `service` in `region`: `override_url` if given (from
/// `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`), else the service's
/// global endpoint, else `https://<prefix>.<region>.<dns suffix>`.
pub fn endpoint(service: &CatalogService, region: &str, override_url: Option<&str>) -> Result<Endpoint, RequestError> {
    if let Some(url) = override_url {
        let base = url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RequestError::Endpoint(url.to_string()));
        }
        return Ok(Endpoint {
            base: base.to_string(),
            signing_region: region.to_string(),
            overridden: true,
        });
    }
    if let Some(global) = &service.global_endpoint {
        return Ok(Endpoint {
            base: format!("https://{}", global.hostname),
            signing_region: global.signing_region.clone().unwrap_or_else(|| region.to_string()),
            overridden: false,
        });
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Ok(Endpoint {
        base: format!("https://{}.{region}.{suffix}", service.endpoint_prefix),
        signing_region: region.to_string(),
        overridden: false,
    })
}

/// The environment variable that overrides one service's endpoint
/// (`AWS_ENDPOINT_URL_` and the service id in upper snake case).
pub fn endpoint_variable(service: &CatalogService) -> Option<String> {
    let id = service.service_id.as_deref()?;
    Some(format!(
        "AWS_ENDPOINT_URL_{}",
        id.replace([' ', '-'], "_").to_ascii_uppercase()
    ))
}

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Serializes, addresses and signs one call the policy allowed.
pub fn build(
    allowed: &Allowed,
    params: &Value,
    endpoint: &Endpoint,
    credentials: &Credentials,
    at: SystemTime,
) -> Result<SignedRequest, RequestError> {
    let model = &allowed.model;
    let mut parts = serialize::serialize(model, allowed.operation(), params)?;
    let is_s3 = model.metadata.signing_name() == "s3";
    if model.metadata.endpoint_prefix == "apigateway" {
        // API Gateway answers XML-ish HAL unless asked for JSON.
        parts.headers.push(("Accept".into(), "application/json".into()));
    }
    let mut base = endpoint.base.clone();
    if let Some(prefix) = parts.host_prefix.take() {
        base = insert_host_prefix(&base, &prefix);
    }
    // S3 buckets that can be a host label go in the host (as the SDKs
    // send them); others, and any bucket at an override endpoint, in the path.
    let virtual_bucket = params
        .get("Bucket")
        .and_then(Value::as_str)
        .filter(|b| model.metadata.endpoint_prefix == "s3" && !endpoint.overridden && virtual_hostable(b));
    if let Some(bucket) = virtual_bucket
        && let Some(rest) = parts
            .path
            .strip_prefix(&format!("/{}", serialize::encode::percent(bucket)))
    {
        parts.path = if rest.starts_with('/') {
            rest.to_string()
        } else {
            format!("/{rest}")
        };
        base = insert_host_prefix(&base, &format!("{bucket}."));
    }
    sign_parts(
        parts,
        &base,
        model.metadata.signing_name(),
        endpoint,
        is_s3,
        credentials,
        at,
    )
}

fn insert_host_prefix(base: &str, prefix: &str) -> String {
    match base.split_once("://") {
        Some((scheme, host)) => format!("{scheme}://{prefix}{host}"),
        None => format!("{prefix}{base}"),
    }
}

/// A bucket name that can be a DNS label of the S3 host.
fn virtual_hostable(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

fn sign_parts(
    parts: RequestParts,
    base: &str,
    signing_name: &str,
    endpoint: &Endpoint,
    is_s3: bool,
    credentials: &Credentials,
    at: SystemTime,
) -> Result<SignedRequest, RequestError> {
    let mut url = format!("{base}{}", parts.path);
    if !parts.query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&serialize::encode::query_string(&parts.query));
    }
    let mut headers = parts.headers;
    let mut settings = SigningSettings::default();
    if is_s3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&endpoint.signing_region)
        .name(signing_name)
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| RequestError::Signing(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        &parts.method,
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&parts.body),
    )
    .map_err(|e| RequestError::Signing(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| RequestError::Signing(e.to_string()))?
        .into_parts();
    let (signed_headers, signed_query) = instructions.into_parts();
    if !signed_query.is_empty() {
        return Err(RequestError::Signing("query-string signing is not used".into()));
    }
    for header in signed_headers {
        headers.push((header.name().to_string(), header.value().to_string()));
    }
    // Not signed (nor by the SDKs): proxies may rewrite it.
    if !parts.body.is_empty() {
        headers.push(("Content-Length".into(), parts.body.len().to_string()));
    }
    Ok(SignedRequest {
        method: parts.method,
        url,
        headers,
        body: parts.body,
    })
}
