//! JSON-RPC in front of rmcp on `POST /mcp`: the body is read within a
//! deadline and a size limit, then checked as JSON-RPC 2.0 before rmcp sees
//! it, so that a malformed message gets the answer the specification gives
//! (HTTP 400 with -32700 parse error, -32600 invalid request or -32602
//! invalid params, and the request id whenever it can be recovered) instead
//! of rmcp's `415 text/plain`. Batches (JSON arrays), part of MCP 2025-03-26
//! and removed in 2025-06-18, are split here and answered as an array when
//! the client speaks 2025-03-26; under later revisions they are refused.

use crate::limits::BatchCharge;
use crate::splice::{SpliceSlot, splice};
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::time::Duration;
use tower::ServiceExt;

/// Most messages in one batch; a larger batch is refused whole.
pub const MAX_BATCH_MESSAGES: usize = 20;

/// The one protocol revision with JSON-RPC batches.
pub const BATCH_PROTOCOL_VERSION: &str = "2025-03-26";

/// Longest string id echoed back; a longer one is answered with `id: null`
/// (a reply never repeats a megabyte the client sent).
const MAX_ECHOED_ID_CHARS: usize = 200;

/// Longest detail (a deserializer's message) put into an error.
const MAX_DETAIL_CHARS: usize = 300;

/// JSON-RPC error codes used here.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;
const INTERNAL_ERROR: i64 = -32603;

/// How the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest body accepted; larger gets 413.
    pub max_bytes: usize,
    /// The whole body must arrive within this; a slower one gets 408 and
    /// the connection is closed (a slow-body client holds nothing longer).
    pub timeout: Duration,
}

/// A JSON-RPC error answer for one message.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// The request id, when it could be recovered (else `null`).
    pub id: Value,
    /// JSON-RPC error code.
    pub code: i64,
    /// What was wrong.
    pub message: String,
}

impl RpcError {
    fn new(id: Value, code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            id,
            code,
            message: message.into(),
        }
    }

    /// The JSON-RPC error object.
    pub fn to_json(&self) -> Value {
        json!({"jsonrpc": "2.0", "id": self.id, "error": {"code": self.code, "message": self.message}})
    }

    fn response(&self, status: StatusCode) -> Response {
        json_response(status, &self.to_json())
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The id to echo: a string or number id (strings up to a bound), else null.
fn echoable_id(id: Option<&Value>) -> Value {
    match id {
        Some(Value::Number(n)) => Value::Number(n.clone()),
        Some(Value::String(s)) if s.chars().count() <= MAX_ECHOED_ID_CHARS => Value::String(s.clone()),
        _ => Value::Null,
    }
}

/// Checks one message: a JSON-RPC 2.0 request, notification or response
/// that rmcp can decode. Requests with bad `params` for a method MCP defines
/// are -32602, everything else malformed is -32600.
pub fn check_message(message: &Value) -> Result<(), RpcError> {
    let Some(object) = message.as_object() else {
        return Err(RpcError::new(
            Value::Null,
            INVALID_REQUEST,
            "Invalid Request: a JSON-RPC message is an object",
        ));
    };
    let id = echoable_id(object.get("id"));
    let invalid = |what: &str| {
        Err(RpcError::new(
            id.clone(),
            INVALID_REQUEST,
            format!("Invalid Request: {what}"),
        ))
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid("\"jsonrpc\" must be \"2.0\"");
    }
    if !matches!(object.get("id"), None | Some(Value::String(_) | Value::Number(_))) {
        return invalid("\"id\" must be a string or a number");
    }
    let method = match object.get("method") {
        Some(Value::String(method)) => Some(shorten(method, 100)),
        Some(_) => return invalid("\"method\" must be a string"),
        None if object.contains_key("result") || object.contains_key("error") => None,
        None => {
            return invalid("a message needs \"method\" (request, notification) or \"result\"/\"error\" (response)");
        }
    };
    if !matches!(object.get("params"), None | Some(Value::Object(_) | Value::Array(_))) {
        return invalid("\"params\" must be an object");
    }
    if let Some(method) = method
        && let Some(detail) = params_error(&method, object.get("params"))
    {
        return Err(RpcError::new(
            id,
            INVALID_PARAMS,
            format!("Invalid params for {method}: {}", shorten(&detail, MAX_DETAIL_CHARS)),
        ));
    }
    if let Err(e) = rmcp::model::ClientJsonRpcMessage::deserialize(message) {
        let detail = shorten(&e.to_string(), MAX_DETAIL_CHARS);
        return Err(RpcError::new(id, INVALID_REQUEST, format!("Invalid Request: {detail}")));
    }
    Ok(())
}

/// Why `params` do not fit `method`, for the methods MCP defines with
/// parameters (rmcp would take a misfit for an unknown method and answer
/// -32601, or refuse the body with 415).
fn params_error(method: &str, params: Option<&Value>) -> Option<String> {
    use rmcp::model as m;
    fn misfit<T: serde::de::DeserializeOwned>(params: Option<&Value>, required: bool) -> Option<String> {
        match params {
            None if required => Some("params are required".to_string()),
            None => None,
            Some(params) => T::deserialize(params).err().map(|e| e.to_string()),
        }
    }
    match method {
        "initialize" => misfit::<m::InitializeRequestParams>(params, true),
        "tools/call" => misfit::<m::CallToolRequestParams>(params, true),
        "prompts/get" => misfit::<m::GetPromptRequestParams>(params, true),
        "resources/read" => misfit::<m::ReadResourceRequestParams>(params, true),
        "resources/subscribe" => misfit::<m::SubscribeRequestParams>(params, true),
        "resources/unsubscribe" => misfit::<m::UnsubscribeRequestParams>(params, true),
        "completion/complete" => misfit::<m::CompleteRequestParams>(params, true),
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => {
            misfit::<m::PaginatedRequestParams>(params, false)
        }
        _ => None,
    }
}

/// Reads the body within `limits`; the refusal is the response to send.
async fn read_body(body: Body, declared_length: Option<usize>, limits: BodyLimits) -> Result<Vec<u8>, Response> {
    let too_large = || {
        RpcError::new(
            Value::Null,
            INVALID_REQUEST,
            format!("Invalid Request: the body exceeds {} bytes", limits.max_bytes),
        )
        .response(StatusCode::PAYLOAD_TOO_LARGE)
    };
    if declared_length.is_some_and(|n| n > limits.max_bytes) {
        return Err(too_large());
    }
    let collect = async {
        let mut body = body;
        let mut collected = Vec::with_capacity(declared_length.unwrap_or(0));
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map(|f| f.into_data()) else {
                return Err(StatusCode::BAD_REQUEST);
            };
            if let Ok(data) = data {
                if data.len() > limits.max_bytes.saturating_sub(collected.len()) {
                    return Err(StatusCode::PAYLOAD_TOO_LARGE);
                }
                collected.extend_from_slice(&data);
            }
        }
        Ok(collected)
    };
    match tokio::time::timeout(limits.timeout, collect).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(StatusCode::PAYLOAD_TOO_LARGE)) => Err(too_large()),
        Ok(Err(status)) => Err((status, "Bad Request: the body could not be read\n").into_response()),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            format!(
                "Request Timeout: the body did not arrive within {} s\n",
                limits.timeout.as_secs()
            ),
        )
            .into_response()),
    }
}

fn is_json(headers: &http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// Serves one HTTP request to `/mcp` through `inner` (rmcp's service): the
/// body is read within the limits; non-JSON and non-POST requests then pass
/// to rmcp, which answers them; a JSON body is checked first, and a batch
/// is split.
pub async fn serve<S, B>(inner: S, limits: BodyLimits, request: Request) -> Response
where
    S: tower::Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    // Each message rmcp answers gets its own slot for a kept answer's bytes.
    let call = |inner: S, mut request: Request| async move {
        let slot = SpliceSlot::default();
        request.extensions_mut().insert(slot.clone());
        match inner.oneshot(request).await {
            Ok(response) => splice(&slot, response.map(Body::new)).await,
            Err(never) => match never {},
        }
    };
    let (parts, body) = request.into_parts();
    let declared_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bytes = match read_body(body, declared_length, limits).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    // Read in full even when rmcp refuses the request unread (405, 415):
    // an unread body makes the connection unusable, and a client's next
    // request on it would fail.
    if parts.method != http::Method::POST || !is_json(&parts.headers) {
        return call(inner, Request::from_parts(parts, Body::from(bytes))).await;
    }
    let message: Value = match serde_json::from_slice(&bytes) {
        Ok(message) => message,
        Err(e) => {
            return RpcError::new(
                Value::Null,
                PARSE_ERROR,
                format!("Parse error: {}", shorten(&e.to_string(), MAX_DETAIL_CHARS)),
            )
            .response(StatusCode::BAD_REQUEST);
        }
    };
    match message {
        Value::Array(batch) => serve_batch(inner, parts, batch, call).await,
        message => match check_message(&message) {
            Ok(()) => call(inner, Request::from_parts(parts, Body::from(bytes))).await,
            Err(e) => e.response(StatusCode::BAD_REQUEST),
        },
    }
}

async fn serve_batch<S, F, Fut>(inner: S, parts: http::request::Parts, batch: Vec<Value>, call: F) -> Response
where
    S: Clone,
    F: Fn(S, Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let refuse =
        |message: String| RpcError::new(Value::Null, INVALID_REQUEST, message).response(StatusCode::BAD_REQUEST);
    if let Some(version) = parts.headers.get("mcp-protocol-version") {
        let version = version.to_str().unwrap_or("?");
        if version != BATCH_PROTOCOL_VERSION {
            return refuse(format!(
                "Invalid Request: JSON-RPC batches exist in MCP {BATCH_PROTOCOL_VERSION} only (2025-06-18 removed them); this request speaks {}",
                shorten(version, 40)
            ));
        }
    }
    if batch.is_empty() {
        return refuse("Invalid Request: an empty batch".to_string());
    }
    if batch.len() > MAX_BATCH_MESSAGES {
        return refuse(format!(
            "Invalid Request: a batch holds at most {MAX_BATCH_MESSAGES} messages (got {})",
            batch.len()
        ));
    }
    // The caller's rate limit counts every message of the batch.
    if let Some(charge) = parts.extensions.get::<BatchCharge>()
        && let Err(refusal) = charge.take(batch.len() - 1)
    {
        return refusal.response();
    }
    let mut answers = Vec::new();
    for message in batch {
        let is_request = message.get("method").is_some() && message.get("id").is_some();
        if let Err(e) = check_message(&message) {
            answers.push(e.to_json());
            continue;
        }
        if message.get("method").and_then(Value::as_str) == Some("initialize") {
            answers.push(
                RpcError::new(
                    echoable_id(message.get("id")),
                    INVALID_REQUEST,
                    "Invalid Request: initialize must not be part of a batch",
                )
                .to_json(),
            );
            continue;
        }
        let id = echoable_id(message.get("id"));
        let mut one = http::Request::builder()
            .method(parts.method.clone())
            .uri(parts.uri.clone())
            .version(parts.version);
        if let Some(headers) = one.headers_mut() {
            headers.extend(parts.headers.clone());
            headers.remove(header::CONTENT_LENGTH);
        }
        if let Some(extensions) = one.extensions_mut() {
            extensions.extend(parts.extensions.clone());
        }
        let Ok(one) = one.body(Body::from(message.to_string())) else {
            answers.push(RpcError::new(id, INTERNAL_ERROR, "Internal error: request not rebuilt").to_json());
            continue;
        };
        let response = call(inner.clone(), one).await;
        if response.status() == StatusCode::ACCEPTED || !is_request {
            continue;
        }
        let status = response.status();
        let body = match response.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => bytes::Bytes::new(),
        };
        match serde_json::from_slice::<Value>(&body) {
            Ok(answer) if answer.is_object() => answers.push(answer),
            _ => answers.push(
                RpcError::new(
                    id,
                    INVALID_REQUEST,
                    format!(
                        "HTTP {}: {}",
                        status.as_u16(),
                        shorten(String::from_utf8_lossy(&body).trim(), MAX_DETAIL_CHARS)
                    ),
                )
                .to_json(),
            ),
        }
    }
    if answers.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    json_response(StatusCode::OK, &Value::Array(answers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(message: Value) -> (i64, Value) {
        let e = check_message(&message).unwrap_err();
        (e.code, e.id)
    }

    #[test]
    fn well_formed_messages_pass() {
        for ok in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            json!({"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": {"name": "x", "arguments": {}}}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "some/custom"}),
        ] {
            assert_eq!(check_message(&ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn malformed_envelopes_are_invalid_requests_with_the_id_when_recoverable() {
        assert_eq!(code(json!([1])), (INVALID_REQUEST, Value::Null));
        assert_eq!(code(json!("x")), (INVALID_REQUEST, Value::Null));
        assert_eq!(
            code(json!({"id": 7, "method": "tools/list"})),
            (INVALID_REQUEST, json!(7))
        );
        assert_eq!(
            code(json!({"jsonrpc": "1.0", "id": "q", "method": "tools/list"})),
            (INVALID_REQUEST, json!("q"))
        );
        assert_eq!(
            code(json!({"jsonrpc": "2.0", "id": 7, "method": 5})),
            (INVALID_REQUEST, json!(7))
        );
        assert_eq!(
            code(json!({"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"})),
            (INVALID_REQUEST, Value::Null)
        );
        assert_eq!(code(json!({"jsonrpc": "2.0", "id": 7})), (INVALID_REQUEST, json!(7)));
        assert_eq!(
            code(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": "x"})),
            (INVALID_REQUEST, json!(7))
        );
    }

    #[test]
    fn bad_params_of_a_known_method_are_invalid_params_with_the_id() {
        assert_eq!(
            code(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": 5}})),
            (INVALID_PARAMS, json!(9))
        );
        assert_eq!(
            code(json!({"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {}})),
            (INVALID_PARAMS, json!(9))
        );
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop::sample::select(vec!["2.0", "tools/call", "initialize", "tools/list", "ping", "x"])
                .prop_map(|s| Value::String(s.to_string())),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            let keys = prop::sample::select(vec![
                "jsonrpc",
                "id",
                "method",
                "params",
                "name",
                "arguments",
                "protocolVersion",
                "capabilities",
                "clientInfo",
                "cursor",
                "result",
                "error",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((keys, inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any JSON gets an answer, never a panic; an error keeps the id
        /// only when it is a string or number that was sent.
        #[test]
        fn any_json_is_checked_without_panicking(message in json_value()) {
            if let Err(e) = check_message(&message) {
                proptest::prop_assert!([INVALID_REQUEST, INVALID_PARAMS].contains(&e.code));
                if !e.id.is_null() {
                    proptest::prop_assert_eq!(Some(&e.id), message.get("id"));
                }
            }
        }
    }

    #[test]
    fn long_ids_and_details_are_not_echoed_in_full() {
        let long = "i".repeat(1_000_000);
        let e = check_message(
            &json!({"jsonrpc": "2.0", "id": long, "method": "tools/call", "params": {"name": "t", "arguments": long}}),
        )
        .unwrap_err();
        assert_eq!((e.code, &e.id), (INVALID_PARAMS, &Value::Null));
        assert!(e.to_json().to_string().len() < 1_000, "{}", e.to_json());
    }
}
