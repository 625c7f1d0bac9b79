//! A GuardDuty stand-in on 127.0.0.1 for the findings APIs moto lacks
//! (`ListDetectors`, `GetDetector`, `ListFindings`, `GetFindings`), answering
//! with AWS-shaped JSON so the real SDK client exercises its wire path.
//!
//! Like moto with Security Hub, it does not apply the finding criteria it is
//! sent (it records them instead), so the client's own predicates are what a
//! test observes.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A failure every call answers with.
#[derive(Clone, Debug)]
pub struct Failure {
    /// HTTP status.
    pub status: u16,
    /// Error code (`AccessDeniedException`, `InternalServerErrorException`).
    pub code: &'static str,
}

#[derive(Default)]
struct Inner {
    detector_id: String,
    findings: Vec<Value>,
    failure: Option<Failure>,
    /// Calls left to fail (`None`: every call).
    failures_left: Option<usize>,
    list_requests: Vec<Value>,
    get_batches: Vec<usize>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct GuardDutyStandIn {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl GuardDutyStandIn {
    /// Serves `findings` (GuardDuty API `Finding` objects) under one detector.
    pub async fn start(detector_id: &str, findings: Vec<Value>) -> GuardDutyStandIn {
        let inner = Arc::new(Mutex::new(Inner {
            detector_id: detector_id.to_string(),
            findings,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/detector", get(list_detectors))
            .route("/detector/{id}", get(get_detector))
            .route("/detector/{id}/findings", post(list_findings))
            .route("/detector/{id}/findings/get", post(get_findings))
            .with_state(inner.clone());
        let endpoint = crate::forward::serve(app).await;
        GuardDutyStandIn { inner, endpoint }
    }

    /// Makes every call fail (or succeed again with `None`).
    pub fn fail_with(&self, failure: Option<Failure>) {
        let mut inner = self.inner.lock().unwrap();
        inner.failure = failure;
        inner.failures_left = None;
    }

    /// Makes the next `times` calls fail, then answers again.
    pub fn fail_next(&self, failure: Failure, times: usize) {
        let mut inner = self.inner.lock().unwrap();
        inner.failure = Some(failure);
        inner.failures_left = Some(times);
    }

    /// Calls still to fail after `fail_next`.
    pub fn failures_left(&self) -> Option<usize> {
        self.inner.lock().unwrap().failures_left
    }

    /// The bodies of the `ListFindings` requests received.
    pub fn list_requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().list_requests.clone()
    }

    /// The number of ids in each `GetFindings` request received.
    pub fn get_batches(&self) -> Vec<usize> {
        self.inner.lock().unwrap().get_batches.clone()
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

fn failure(inner: &mut Inner) -> Option<Response> {
    let f = inner.failure.clone()?;
    match &mut inner.failures_left {
        Some(0) => return None,
        Some(n) => *n -= 1,
        None => {}
    }
    let mut headers = HeaderMap::new();
    headers.insert("x-amzn-errortype", f.code.parse().unwrap());
    headers.insert(
        "x-amzn-requestid",
        "11111111-2222-3333-4444-555555555555".parse().unwrap(),
    );
    let body = json!({"__type": f.code, "message": format!("stand-in configured to fail with {}", f.code)});
    Some((StatusCode::from_u16(f.status).unwrap(), headers, Json(body)).into_response())
}

fn unknown_detector(id: &str) -> Response {
    let body = json!({"__type": "BadRequestException", "message": format!("The request is rejected because the input detectorId {id} is not owned by the current account.")});
    let mut headers = HeaderMap::new();
    headers.insert("x-amzn-errortype", "BadRequestException".parse().unwrap());
    (StatusCode::BAD_REQUEST, headers, Json(body)).into_response()
}

async fn list_detectors(State(s): Shared) -> Response {
    let mut inner = s.lock().unwrap();
    failure(&mut inner).unwrap_or_else(|| Json(json!({"detectorIds": [inner.detector_id]})).into_response())
}

async fn get_detector(State(s): Shared, Path(id): Path<String>) -> Response {
    let mut inner = s.lock().unwrap();
    if let Some(r) = failure(&mut inner) {
        return r;
    }
    if id != inner.detector_id {
        return unknown_detector(&id);
    }
    Json(json!({
        "createdAt": "2025-01-15T10:00:00.000Z",
        "findingPublishingFrequency": "SIX_HOURS",
        "serviceRole": "arn:aws:iam::123456789012:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty",
        "status": "ENABLED",
        "updatedAt": "2025-01-15T10:00:00.000Z"
    }))
    .into_response()
}

async fn list_findings(State(s): Shared, Path(id): Path<String>, Json(body): Json<Value>) -> Response {
    let mut inner = s.lock().unwrap();
    if let Some(r) = failure(&mut inner) {
        return r;
    }
    if id != inner.detector_id {
        return unknown_detector(&id);
    }
    inner.list_requests.push(body.clone());
    let page = body["maxResults"].as_u64().unwrap_or(50).min(50) as usize;
    let start: usize = body["nextToken"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
    let ids: Vec<Value> = inner
        .findings
        .iter()
        .skip(start)
        .take(page)
        .map(|f| f["id"].clone())
        .collect();
    let next = start + ids.len();
    let mut out = json!({"findingIds": ids});
    if next < inner.findings.len() {
        out["nextToken"] = json!(next.to_string());
    }
    Json(out).into_response()
}

async fn get_findings(State(s): Shared, Path(id): Path<String>, Json(body): Json<Value>) -> Response {
    let mut inner = s.lock().unwrap();
    if let Some(r) = failure(&mut inner) {
        return r;
    }
    if id != inner.detector_id {
        return unknown_detector(&id);
    }
    let wanted: Vec<String> = body["findingIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    if wanted.len() > 50 {
        let body = json!({"__type": "BadRequestException", "message": "1 validation error detected: Value at 'findingIds' failed to satisfy constraint: Member must have length less than or equal to 50"});
        return (
            StatusCode::BAD_REQUEST,
            [("x-amzn-errortype", "BadRequestException")],
            Json(body),
        )
            .into_response();
    }
    inner.get_batches.push(wanted.len());
    let findings: Vec<Value> = inner
        .findings
        .iter()
        .filter(|f| wanted.iter().any(|w| f["id"] == *w.as_str()))
        .cloned()
        .collect();
    Json(json!({"findings": findings})).into_response()
}
