//! A fault-injecting proxy in front of moto, on loopback.
//!
//! Every request is forwarded unchanged, except those a [`FaultRule`]
//! matches: by service and region (from the SigV4 credential scope) and by
//! operation (`X-Amz-Target`, the awsQuery `Action`, or `METHOD /path` for
//! REST protocols), for every matching request or a seeded random share of
//! them. A fault is answered the way the service's protocol answers it
//! (EC2 query, awsQuery, awsJson, restJson, S3 restXml), so the SDK
//! classifies and retries it as it would in AWS. Every request is counted,
//! per (service, region, operation), with the faults injected.

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a matching request gets instead of moto's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error (`RequestLimitExceeded`, `Throttling`,
    /// `ThrottlingException`, `TooManyRequestsException`, `SlowDown`).
    Throttle,
    /// HTTP 500 with the protocol's internal-error shape.
    InternalError,
    /// HTTP 503 with the protocol's unavailable shape.
    Unavailable,
    /// The protocol's access-denied error.
    AccessDenied,
    /// Forwarded after this delay.
    Delay(Duration),
    /// The response starts and the connection is cut before its body.
    Drop,
}

/// Which requests a fault hits.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    /// SigV4 service name (`ec2`, `securityhub`, `kms`); `None`: any.
    pub service: Option<String>,
    /// Region; `None`: any.
    pub region: Option<String>,
    /// Operation (`DescribeSecurityGroups`, `POST /findings`); `None`: any.
    pub operation: Option<String>,
    /// The fault.
    pub fault: Fault,
    /// Share of matching requests hit, 0.0 to 1.0 (1.0: persistent).
    pub share: f64,
}

impl FaultRule {
    /// Every request to `service` in `region`.
    pub fn persistent(service: &str, region: Option<&str>, fault: Fault) -> FaultRule {
        FaultRule {
            service: Some(service.to_string()),
            region: region.map(str::to_string),
            operation: None,
            fault,
            share: 1.0,
        }
    }

    fn matches(&self, call: &Call) -> bool {
        self.service.as_ref().is_none_or(|s| *s == call.service)
            && self.region.as_ref().is_none_or(|r| *r == call.region)
            && self.operation.as_ref().is_none_or(|o| *o == call.operation)
    }
}

/// One kind of request, as counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Call {
    /// SigV4 service name.
    pub service: String,
    /// Region.
    pub region: String,
    /// Operation.
    pub operation: String,
}

/// Requests seen and faults injected for one [`Call`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests received.
    pub requests: usize,
    /// Of those, answered with a fault (delays included).
    pub faulted: usize,
}

struct Inner {
    upstream: String,
    http: reqwest::Client,
    rules: Vec<FaultRule>,
    random: Mutex<u64>,
    counts: Mutex<BTreeMap<Call, Counts>>,
}

/// The running proxy.
#[derive(Clone)]
pub struct FaultProxy {
    inner: Arc<Inner>,
    /// `http://127.0.0.1:PORT`: point the SDK here instead of at moto.
    pub endpoint: String,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` applying `rules` (the first
    /// that matches decides); `seed` makes random shares repeatable.
    pub async fn start(upstream: &str, rules: Vec<FaultRule>, seed: u64) -> FaultProxy {
        let http = crate::forward::upstream_client();
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_string(),
            http,
            rules,
            random: Mutex::new(seed | 1),
            counts: Mutex::new(BTreeMap::new()),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let endpoint = crate::forward::serve(app).await;
        FaultProxy { inner, endpoint }
    }

    /// Requests and faults so far, per call.
    pub fn counts(&self) -> BTreeMap<Call, Counts> {
        self.inner.counts.lock().unwrap().clone()
    }

    /// Requests and faults so far, summed.
    pub fn totals(&self) -> Counts {
        self.counts().values().fold(Counts::default(), |a, c| Counts {
            requests: a.requests + c.requests,
            faulted: a.faulted + c.faulted,
        })
    }
}

impl Inner {
    /// xorshift64: repeatable for a seed, no dependency.
    fn chance(&self, share: f64) -> bool {
        if share >= 1.0 {
            return true;
        }
        let mut x = self.random.lock().unwrap();
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        let unit = (*x >> 11) as f64 / (1u64 << 53) as f64;
        unit < share
    }
}

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("fault proxy: unreadable body: {e}")).into_response(),
    };
    let call = identify(&parts.headers, parts.method.as_str(), parts.uri.path(), &body);
    let fault = inner
        .rules
        .iter()
        .find(|r| r.matches(&call))
        .filter(|r| inner.chance(r.share))
        .map(|r| r.fault);
    {
        let mut counts = inner.counts.lock().unwrap();
        let c = counts.entry(call.clone()).or_default();
        c.requests += 1;
        c.faulted += usize::from(fault.is_some());
    }
    match fault {
        None => {}
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Drop) => {
            let cut = cut_body();
            return Response::new(Body::from_stream(cut));
        }
        Some(fault) => {
            let credential = credential_of(&parts.headers);
            return error_response(&call, protocol(&call, &parts.headers), fault, &credential);
        }
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    crate::forward::forward(
        &inner.http,
        &inner.upstream,
        "fault proxy: moto",
        parts.method,
        path,
        &parts.headers,
        body,
    )
    .await
}

/// A body that fails at once: the client sees the connection cut.
fn cut_body() -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::once(async { Err(std::io::Error::other("fault proxy: connection cut")) })
}

/// The SigV4 credential scope of a request (`AKID/20261205/eu-west-1/ec2/aws4_request`).
fn credential_of(headers: &HeaderMap) -> String {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    auth.split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("")
        .to_string()
}

/// Service and region from the SigV4 credential scope, and the operation.
fn identify(headers: &HeaderMap, method: &str, path: &str, body: &[u8]) -> Call {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Credential=AKID/20261205/eu-west-1/ec2/aws4_request
    let scope: Vec<&str> = auth
        .split("Credential=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .map(|s| s.split('/').collect())
        .unwrap_or_default();
    let (region, service) = match scope.as_slice() {
        [_, _, region, service, ..] => (region.to_string(), service.to_string()),
        _ => ("-".to_string(), "-".to_string()),
    };
    let operation = if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        target.rsplit('.').next().unwrap_or(target).to_string()
    } else if let Some(action) = std::str::from_utf8(body)
        .ok()
        .and_then(|b| b.split('&').find_map(|kv| kv.strip_prefix("Action=")))
    {
        action.to_string()
    } else {
        format!("{method} {path}")
    };
    Call {
        service,
        region,
        operation,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Ec2Query,
    AwsQuery,
    AwsJson,
    RestJson,
    RestXml,
}

fn protocol(call: &Call, headers: &HeaderMap) -> Protocol {
    if call.service == "ec2" {
        Protocol::Ec2Query
    } else if call.service == "s3" {
        Protocol::RestXml
    } else if headers.contains_key("x-amz-target") {
        Protocol::AwsJson
    } else if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
    {
        Protocol::AwsQuery
    } else {
        Protocol::RestJson
    }
}

/// The error each protocol sends for `fault`, with the codes AWS uses.
fn error_response(call: &Call, protocol: Protocol, fault: Fault, credential: &str) -> Response {
    use Protocol::*;
    let (status, code) = match (fault, protocol) {
        (Fault::Throttle, Ec2Query) => (503, "RequestLimitExceeded"),
        (Fault::Throttle, AwsQuery) => (400, "Throttling"),
        (Fault::Throttle, AwsJson) => (400, "ThrottlingException"),
        (Fault::Throttle, RestJson) => (429, "TooManyRequestsException"),
        (Fault::Throttle, RestXml) => (503, "SlowDown"),
        (Fault::AccessDenied, Ec2Query) => (403, "UnauthorizedOperation"),
        (Fault::AccessDenied, AwsQuery | RestXml) => (403, "AccessDenied"),
        (Fault::AccessDenied, AwsJson) => (400, "AccessDeniedException"),
        (Fault::AccessDenied, RestJson) => (403, "AccessDeniedException"),
        (Fault::InternalError, Ec2Query | RestXml) => (500, "InternalError"),
        (Fault::InternalError, _) => (500, "InternalFailure"),
        (_, Ec2Query) => (503, "Unavailable"),
        (_, _) => (503, "ServiceUnavailable"),
    };
    // Access denials echo the request's credential scope, as AWS's
    // signature errors do (the key id must not travel further).
    let message = match fault {
        Fault::AccessDenied => format!(
            "injected fault for {} {} in {}: not authorized, Credential={credential}",
            call.service, call.operation, call.region
        ),
        _ => format!(
            "injected fault for {} {} in {}",
            call.service, call.operation, call.region
        ),
    };
    let request_id = "fa017fa0-0000-4000-8000-000000000000";
    let (content_type, body, error_type) = match protocol {
        Ec2Query => (
            "text/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            ),
            None,
        ),
        AwsQuery => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                if status >= 500 { "Receiver" } else { "Sender" }
            ),
            None,
        ),
        RestXml => (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
            ),
            None,
        ),
        AwsJson => (
            "application/x-amz-json-1.1",
            serde_json::json!({"__type": code, "message": message}).to_string(),
            Some(code),
        ),
        RestJson => (
            "application/json",
            serde_json::json!({"message": message}).to_string(),
            Some(code),
        ),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    headers.insert("x-amzn-requestid", request_id.parse().unwrap());
    if let Some(t) = error_type {
        headers.insert("x-amzn-errortype", t.parse().unwrap());
    }
    response
}

/// SDK configuration through `endpoint` (a proxy) with the product's own
/// retry budget (`posture_aws::config::retry_config`), so that retries
/// under faults are the product's.
pub async fn sdk_through(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_securityhub::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "posture-tests",
        ))
        .retry_config(posture_aws::config::retry_config())
        .load()
        .await
}

/// Opens SSH (tcp/22) of a new security group to `cidr` in `sdk`'s account
/// and `region`.
pub async fn open_ssh(sdk: &aws_config::SdkConfig, region: &str, cidr: &str) {
    let ec2 = aws_sdk_ec2::Client::new(
        &sdk.to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build(),
    );
    let group = ec2
        .create_security_group()
        .group_name("admin")
        .description("remote administration")
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(group.group_id().unwrap())
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip(cidr)
        .send()
        .await
        .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_identified_by_scope_and_operation() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=testing/20261205/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=00"
                .parse()
                .unwrap(),
        );
        let call = identify(&h, "POST", "/", b"Action=DescribeSecurityGroups&Version=2016-11-15");
        assert_eq!(
            (call.service.as_str(), call.region.as_str(), call.operation.as_str()),
            ("ec2", "eu-west-1", "DescribeSecurityGroups")
        );
        h.insert("x-amz-target", "TrentService.ListKeys".parse().unwrap());
        assert_eq!(identify(&h, "POST", "/", b"{}").operation, "ListKeys");
        h.remove("x-amz-target");
        assert_eq!(identify(&h, "POST", "/findings", b"{}").operation, "POST /findings");
    }
}
