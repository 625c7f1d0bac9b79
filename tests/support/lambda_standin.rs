//! A Lambda `Invoke` stand-in on 127.0.0.1, in front of moto (whose Invoke
//! needs Docker).
//!
//! It answers the Lambda Invoke REST API as AWS does,
//! `POST /2015-03-31/functions/{FunctionName}/invocations[?Qualifier=...]`
//! with the payload as the raw body and the invocation type in
//! `X-Amz-Invocation-Type` (absent: `RequestResponse`):
//!
//! - `RequestResponse` to the collector function: runs
//!   [`posture_aws::collector::handle_collect`] in this process, as the
//!   collector function's handler would, and answers 200 with the
//!   `CollectSummary` JSON and `X-Amz-Executed-Version: $LATEST`. A handler
//!   error (or a failure configured with [`LambdaStandIn::fail_account`]) is
//!   answered as Lambda answers an unhandled error of a Rust function: still
//!   200, with `X-Amz-Function-Error: Unhandled` and the runtime's
//!   `{"errorType": ..., "errorMessage": ...}` as the body.
//! - `Event` to a known function: 202 with an empty body (queued, not run).
//! - `DryRun`: 204.
//! - An unknown function: 404 `ResourceNotFoundException`; a payload that is
//!   not JSON: 400 `InvalidRequestContentException`.
//!
//! Every other request is forwarded unchanged to the upstream (moto, or a
//! gate in front of it), so one endpoint serves a whole SDK configuration.
//! Every invocation is recorded.

use aws_config::SdkConfig;
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use posture_aws::collector::{CollectRequest, handle_collect};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The invoke path, as the SDK writes it (`FunctionName` percent-encoded).
pub const INVOKE_PATH: &str = "/2015-03-31/functions/{function}/invocations";

/// What the collector function is configured with (its environment).
#[derive(Debug, Clone)]
pub struct CollectorFunction {
    /// Function name the assessor invokes (`POSTURE_COLLECTOR_FUNCTION`).
    pub name: String,
    /// `POSTURE_BUCKET`.
    pub bucket: String,
    /// `POSTURE_BUCKET_PREFIX`.
    pub prefix: String,
    /// `POSTURE_PARTITION`.
    pub partition: String,
}

/// One Invoke request the stand-in answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// `FunctionName`, decoded from the path.
    pub function: String,
    /// `Qualifier`, when sent.
    pub qualifier: Option<String>,
    /// `X-Amz-Invocation-Type` as sent (`None`: the header was absent).
    pub invocation_type_header: Option<String>,
    /// The payload, parsed (`Value::Null` when the body was not JSON).
    pub payload: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// `X-Amz-Function-Error` answered, if any.
    pub function_error: Option<String>,
}

impl Invocation {
    /// The invocation type Lambda applies (`RequestResponse` when no header).
    pub fn invocation_type(&self) -> &str {
        self.invocation_type_header.as_deref().unwrap_or("RequestResponse")
    }
}

struct Inner {
    upstream: String,
    http: reqwest::Client,
    collector: CollectorFunction,
    /// Other functions that exist (invocable with `Event`).
    functions: BTreeSet<String>,
    /// The collector's own configuration and S3 client (pointed at this stand-in).
    base: OnceLock<(SdkConfig, aws_sdk_s3::Client)>,
    /// Accounts whose collection fails with a function error, with the reason.
    failing: Mutex<BTreeMap<String, String>>,
    invocations: Mutex<Vec<Invocation>>,
    request_ids: AtomicU64,
}

/// The running stand-in.
#[derive(Clone)]
pub struct LambdaStandIn {
    inner: Arc<Inner>,
    /// `http://127.0.0.1:PORT`: the SDK's endpoint for Lambda and everything else.
    pub endpoint: String,
}

/// The `errorType` the Rust runtime (`lambda_runtime`) reports for a handler
/// returning `Err(lambda_runtime::Error)`, as the collector function does.
pub fn runtime_error_type() -> &'static str {
    std::any::type_name::<&lambda_http::lambda_runtime::Error>()
}

impl LambdaStandIn {
    /// Starts a stand-in forwarding non-Lambda requests to `upstream`, running
    /// `collector` in-process and accepting `Event` invocations of `functions`.
    pub async fn start(upstream: &str, collector: CollectorFunction, functions: Vec<String>) -> LambdaStandIn {
        let http = crate::forward::upstream_client();
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_string(),
            http,
            collector,
            functions: functions.into_iter().collect(),
            base: OnceLock::new(),
            failing: Mutex::new(BTreeMap::new()),
            invocations: Mutex::new(Vec::new()),
            request_ids: AtomicU64::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        // The function's own AWS calls (STS, the member's APIs, S3) come back
        // through this stand-in and on to the upstream.
        let base = crate::moto::sdk_config_for(&endpoint).await;
        let s3 = posture_aws::s3::s3_client(&base, posture_aws::iam::COLLECTION_OUTPUT);
        assert!(inner.base.set((base, s3)).is_ok());
        let app = Router::new()
            .route(INVOKE_PATH, post(invoke))
            .fallback(forward)
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        LambdaStandIn { inner, endpoint }
    }

    /// Makes the collector function fail for `account_id` with an unhandled
    /// error carrying `reason` (as if `handle_collect` had returned it).
    pub fn fail_account(&self, account_id: &str, reason: &str) {
        self.inner
            .failing
            .lock()
            .unwrap()
            .insert(account_id.to_string(), reason.to_string());
    }

    /// Every invocation so far, in arrival order.
    pub fn invocations(&self) -> Vec<Invocation> {
        self.inner.invocations.lock().unwrap().clone()
    }
}

/// `Qualifier` from the query string, percent-decoded.
fn qualifier(uri: &Uri) -> Option<String> {
    let raw = uri
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("Qualifier="))?;
    let mut out = Vec::new();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn request_id(inner: &Inner) -> String {
    let n = inner.request_ids.fetch_add(1, Ordering::SeqCst) + 1;
    format!("1a3b5d00-{n:04x}-4000-8000-{n:012x}")
}

/// A Lambda service error (restJson1: `x-amzn-ErrorType`, `Type`/`message`).
fn service_error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    (
        status,
        [
            (HeaderName::from_static("x-amzn-errortype"), code.to_string()),
            (HeaderName::from_static("x-amzn-requestid"), request_id.to_string()),
            (header::CONTENT_TYPE, "application/json".to_string()),
        ],
        json!({"Type": "User", "message": message}).to_string(),
    )
        .into_response()
}

async fn invoke(
    State(inner): State<Arc<Inner>>,
    Path(function): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = request_id(&inner);
    let invocation_type_header = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut record = Invocation {
        function: function.clone(),
        qualifier: qualifier(&uri),
        invocation_type_header,
        payload: Value::Null,
        status: 0,
        function_error: None,
    };
    let (response, status, function_error) = answer(&inner, &mut record, &body, &id).await;
    record.status = status.as_u16();
    record.function_error = function_error;
    inner.invocations.lock().unwrap().push(record);
    response
}

async fn answer(
    inner: &Inner,
    record: &mut Invocation,
    body: &[u8],
    id: &str,
) -> (Response, StatusCode, Option<String>) {
    let arn = format!(
        "arn:aws:lambda:us-east-1:{}:function:{}",
        crate::fixtures::MOTO_ACCOUNT,
        record.function
    );
    let is_collector = record.function == inner.collector.name;
    if !is_collector && !inner.functions.contains(&record.function) {
        let status = StatusCode::NOT_FOUND;
        let message = format!("Function not found: {arn}");
        return (
            service_error(status, "ResourceNotFoundException", &message, id),
            status,
            None,
        );
    }
    let kind = record.invocation_type().to_string();
    if !["RequestResponse", "Event", "DryRun"].contains(&kind.as_str()) {
        let status = StatusCode::BAD_REQUEST;
        let message = format!(
            "1 validation error detected: Value '{kind}' at 'invocationType' failed to satisfy constraint: \
             Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
        );
        return (service_error(status, "ValidationException", &message, id), status, None);
    }
    // An empty payload is `{}` to Lambda; anything else must be JSON.
    let payload: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                let status = StatusCode::BAD_REQUEST;
                let message = format!("Could not parse request body into json: {e}");
                return (
                    service_error(status, "InvalidRequestContentException", &message, id),
                    status,
                    None,
                );
            }
        }
    };
    record.payload = payload.clone();
    let request_id_header = (HeaderName::from_static("x-amzn-requestid"), id.to_string());
    match kind.as_str() {
        "DryRun" => {
            let status = StatusCode::NO_CONTENT;
            return ((status, [request_id_header]).into_response(), status, None);
        }
        "Event" => {
            // Queued for an asynchronous run; nothing runs here.
            let status = StatusCode::ACCEPTED;
            return (
                (status, [request_id_header], Body::empty()).into_response(),
                status,
                None,
            );
        }
        _ => {}
    }
    let result: Result<Value, (String, String)> = if is_collector {
        run_collector(inner, payload).await
    } else {
        // Another function's handler returning nothing.
        Ok(Value::Null)
    };
    let status = StatusCode::OK;
    let executed = (HeaderName::from_static("x-amz-executed-version"), "$LATEST".to_string());
    let content_type = (header::CONTENT_TYPE, "application/json".to_string());
    match result {
        Ok(value) => (
            (status, [request_id_header, executed, content_type], value.to_string()).into_response(),
            status,
            None,
        ),
        Err((error_type, error_message)) => {
            // Field order as the runtime serializes its `Diagnostic`.
            let body = format!(
                r#"{{"errorType":{},"errorMessage":{}}}"#,
                Value::from(error_type),
                Value::from(error_message)
            );
            let function_error = (HeaderName::from_static("x-amz-function-error"), "Unhandled".to_string());
            (
                (
                    status,
                    [request_id_header, executed, content_type, function_error],
                    body,
                )
                    .into_response(),
                status,
                Some("Unhandled".to_string()),
            )
        }
    }
}

/// The collector function's handler, as `functions/collector` wires it:
/// `Err` is `(errorType, errorMessage)` as the runtime reports it.
async fn run_collector(inner: &Inner, payload: Value) -> Result<Value, (String, String)> {
    let request: CollectRequest = serde_json::from_value(payload).map_err(|e| {
        (
            "&lambda_runtime::deserializer::DeserializeError".to_string(),
            format!("failed to deserialize the incoming data into the function's payload type: {e}\n"),
        )
    })?;
    let account = request.account_id.clone();
    let failing = inner.failing.lock().unwrap().get(&account).cloned();
    if let Some(reason) = failing {
        let e = posture_core::ports::CollectError::Failed(reason);
        return Err((runtime_error_type().to_string(), format!("account {account}: {e}")));
    }
    let (base, s3) = inner.base.get().unwrap();
    let f = &inner.collector;
    match handle_collect(base, s3, &f.bucket, &f.prefix, &f.partition, request).await {
        Ok(summary) => Ok(serde_json::to_value(summary).unwrap()),
        Err(e) => Err((runtime_error_type().to_string(), format!("account {account}: {e}"))),
    }
}

/// Anything but Invoke: to the upstream unchanged, its answer back unchanged.
async fn forward(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("stand-in: unreadable body: {e}")).into_response(),
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let who = "stand-in: upstream";
    crate::forward::forward(
        &inner.http,
        &inner.upstream,
        who,
        parts.method,
        path,
        &parts.headers,
        body,
    )
    .await
}
