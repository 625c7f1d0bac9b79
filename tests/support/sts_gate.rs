//! A loopback gate in front of moto that stands in for IAM trust policies.
//!
//! moto answers every `sts:AssumeRole` (it enforces neither trust policies
//! nor `ExternalId`), so a test of a refused role needs someone to refuse
//! it. The gate forwards every request to moto unchanged (method, path and
//! query, headers, body; moto's status, headers and body come back), except
//! an STS `AssumeRole` whose `RoleArn` is in its refused set: that one is
//! answered as AWS answers it, HTTP 403 with the awsQuery `AccessDenied`
//! error document. Every `AssumeRole` seen, refused or forwarded, is
//! recorded with the parameters a trust policy would look at.

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The account the refused caller is shown as (moto's static test keys).
const CALLER_ACCOUNT: &str = crate::fixtures::MOTO_ACCOUNT;

/// One `AssumeRole` request the gate saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleCall {
    /// `RoleArn`.
    pub role_arn: String,
    /// `ExternalId`, when sent.
    pub external_id: Option<String>,
    /// `RoleSessionName`.
    pub role_session_name: String,
    /// `DurationSeconds`, when sent.
    pub duration_seconds: Option<u32>,
    /// True when the gate answered `AccessDenied` instead of forwarding.
    pub refused: bool,
}

struct Inner {
    moto: String,
    http: reqwest::Client,
    refused: BTreeSet<String>,
    calls: Mutex<Vec<AssumeRoleCall>>,
    request_ids: AtomicU64,
    requests: AtomicU64,
    /// (role ARN, `service:Action`) pairs refused as a missing permission.
    denied: Vec<(String, String)>,
    /// Session access key id → the role it was issued for.
    sessions: Mutex<std::collections::HashMap<String, String>>,
}

/// The running gate.
#[derive(Clone)]
pub struct StsGate {
    inner: Arc<Inner>,
    /// `http://127.0.0.1:PORT`: point the SDK here instead of at moto.
    pub endpoint: String,
}

impl StsGate {
    /// Starts a gate in front of `moto_endpoint` that refuses `AssumeRole`
    /// into each role ARN of `refused`.
    pub async fn start(moto_endpoint: &str, refused: Vec<String>) -> StsGate {
        Self::start_with_denials(moto_endpoint, refused, Vec::new()).await
    }

    /// Also stands in for IAM policies without some permissions: a session
    /// of a role in `denied` is refused that action (`service:Action`, for
    /// the query and json protocols) as AWS refuses it, naming the action.
    pub async fn start_with_denials(
        moto_endpoint: &str,
        refused: Vec<String>,
        denied: Vec<(String, String)>,
    ) -> StsGate {
        let http = crate::forward::upstream_client();
        let inner = Arc::new(Inner {
            moto: moto_endpoint.trim_end_matches('/').to_string(),
            http,
            refused: refused.into_iter().collect(),
            calls: Mutex::new(Vec::new()),
            request_ids: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            denied,
            sessions: Mutex::new(Default::default()),
        });
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let endpoint = crate::forward::serve(app).await;
        StsGate { inner, endpoint }
    }

    /// Requests seen so far (any service).
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::SeqCst)
    }

    /// Every `AssumeRole` seen so far, in arrival order.
    pub fn assume_role_calls(&self) -> Vec<AssumeRoleCall> {
        self.inner.calls.lock().unwrap().clone()
    }
}

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("gate: unreadable body: {e}")).into_response(),
    };
    let assumed = assume_role(&parts.headers, &body);
    if let Some(refusal) = missing_permission(&inner, &parts.headers, &body) {
        return refusal;
    }
    if let Some(call) = &assumed {
        let refuse = inner.refused.contains(&call.role_arn);
        let call = AssumeRoleCall {
            refused: refuse,
            ..call.clone()
        };
        inner.calls.lock().unwrap().push(call.clone());
        if refuse {
            let n = inner.request_ids.fetch_add(1, Ordering::SeqCst) + 1;
            return access_denied(&call.role_arn, &format!("0a7e5a7e-{n:04x}-4000-8000-{n:012x}"));
        }
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let response = crate::forward::forward(
        &inner.http,
        &inner.moto,
        "gate: moto",
        parts.method,
        path,
        &parts.headers,
        body,
    )
    .await;
    let Some(call) = assumed.filter(|_| !inner.denied.is_empty()) else {
        return response;
    };
    // Remember whose session the issued keys are.
    let (head, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    if let Some(key) = text.split("<AccessKeyId>").nth(1).and_then(|r| r.split('<').next()) {
        inner.sessions.lock().unwrap().insert(key.to_string(), call.role_arn);
    }
    Response::from_parts(head, axum::body::Body::from(bytes))
}

/// AccessDenied for a session whose role lacks the request's action.
fn missing_permission(inner: &Inner, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    let key = crate::forward::credential_part(headers, 0);
    let role = inner.sessions.lock().unwrap().get(&key).cloned()?;
    let service = crate::forward::credential_part(headers, 3);
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    let action = match target {
        Some(t) => t.rsplit('.').next()?.to_string(),
        None => {
            let fields = parse_form(std::str::from_utf8(body).ok()?);
            fields.into_iter().find(|(k, _)| k == "Action").map(|(_, v)| v)?
        }
    };
    let wanted = format!("{service}:{action}");
    inner.denied.iter().find(|(r, a)| *r == role && *a == wanted)?;
    let message = format!(
        "User: {role} is not authorized to perform: {wanted} because no identity-based policy allows the {wanted} action"
    );
    Some(if target.is_some() {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.1")],
            serde_json::json!({"__type": "AccessDeniedException", "message": message}).to_string(),
        )
            .into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/xml")],
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{}</Message></Error><RequestId>denied</RequestId></ErrorResponse>", xml_escape(&message)),
        )
            .into_response()
    })
}

/// The `AssumeRole` parameters, when `body` is an awsQuery `AssumeRole` form.
fn assume_role(headers: &HeaderMap, body: &[u8]) -> Option<AssumeRoleCall> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return None;
    }
    let fields = parse_form(std::str::from_utf8(body).ok()?);
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("Action").as_deref() != Some("AssumeRole") {
        return None;
    }
    Some(AssumeRoleCall {
        role_arn: field("RoleArn").unwrap_or_default(),
        external_id: field("ExternalId"),
        role_session_name: field("RoleSessionName").unwrap_or_default(),
        duration_seconds: field("DurationSeconds").and_then(|d| d.parse().ok()),
        refused: false,
    })
}

/// `application/x-www-form-urlencoded` pairs, decoded.
pub(crate) fn parse_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// STS's answer to a caller the role's trust policy does not admit.
/// AWS's answer to a refused `AssumeRole` of `role_arn`.
pub(crate) fn access_denied(role_arn: &str, request_id: &str) -> Response {
    let body = format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:sts::{CALLER_ACCOUNT}:assumed-role/PostureAdvisorAssessor/posture-assessor is not authorized to perform: sts:AssumeRole on resource: {}</Message>
  </Error>
  <RequestId>{request_id}</RequestId>
</ErrorResponse>
"#,
        xml_escape(role_arn)
    );
    (
        StatusCode::FORBIDDEN,
        [
            (header::CONTENT_TYPE, "text/xml".to_string()),
            (HeaderName::from_static("x-amzn-requestid"), request_id.to_string()),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let fields = parse_form("Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2FR&X=a+b&Y=%zz&Z=%4");
        assert_eq!(fields[0], ("Action".into(), "AssumeRole".into()));
        assert_eq!(fields[1].1, "arn:aws:iam::1:role/R");
        assert_eq!(fields[2].1, "a b");
        assert_eq!(fields[3].1, "%zz");
        assert_eq!(fields[4].1, "%4");
    }
}
