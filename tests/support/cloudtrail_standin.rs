//! A CloudTrail `LookupEvents` stand-in on 127.0.0.1 (moto does not
//! implement LookupEvents): events per Region, answered in AWS's JSON 1.1
//! shape with `NextToken` paging, the time window and the one lookup
//! attribute applied; a Region can be made to deny. It records when each
//! request arrived, per Region, so a test can count requests per second.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
struct Inner {
    /// Region -> CloudTrail records (the `CloudTrailEvent` JSON objects).
    events: BTreeMap<String, Vec<Value>>,
    denied: BTreeSet<String>,
    requests: BTreeMap<String, Vec<Instant>>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct CloudTrailStandIn {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl CloudTrailStandIn {
    /// Serves `events` (Region -> records); the Regions in `denied` answer
    /// AccessDeniedException.
    pub async fn start(events: BTreeMap<String, Vec<Value>>, denied: &[&str]) -> CloudTrailStandIn {
        let inner = Arc::new(Mutex::new(Inner {
            events,
            denied: denied.iter().map(|r| r.to_string()).collect(),
            ..Inner::default()
        }));
        let app = Router::new().route("/", post(lookup_events)).with_state(inner.clone());
        let endpoint = crate::forward::serve(app).await;
        CloudTrailStandIn { inner, endpoint }
    }

    /// When each request of `region` arrived.
    pub fn requests(&self, region: &str) -> Vec<Instant> {
        self.inner
            .lock()
            .unwrap()
            .requests
            .get(region)
            .cloned()
            .unwrap_or_default()
    }
}

/// The Region of a SigV4-signed request (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`).
fn region_of(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or_default()
        .to_string()
}

fn matches_attribute(record: &Value, attributes: &Value) -> bool {
    let Some(a) = attributes.as_array().and_then(|a| a.first()) else {
        return true;
    };
    let wanted = a["AttributeValue"].as_str().unwrap_or_default();
    let identity = &record["userIdentity"];
    match a["AttributeKey"].as_str().unwrap_or_default() {
        "EventName" => record["eventName"] == wanted,
        "EventId" => record["eventID"] == wanted,
        "AccessKeyId" => identity["accessKeyId"] == wanted,
        "Username" => {
            identity["userName"] == wanted
                || identity["arn"]
                    .as_str()
                    .is_some_and(|arn| arn.ends_with(&format!("/{wanted}")))
        }
        "ResourceName" => record["resources"]
            .as_array()
            .is_some_and(|rs| rs.iter().any(|r| r["ARN"] == wanted || r["name"] == wanted)),
        _ => false,
    }
}

fn epoch(record: &Value) -> f64 {
    record["eventTime"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0.0, |t| t.as_millisecond() as f64 / 1000.0)
}

async fn lookup_events(State(s): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let region = region_of(&headers);
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !target.ends_with("CloudTrail_20131101.LookupEvents") {
        return (StatusCode::BAD_REQUEST, format!("unexpected target {target}")).into_response();
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut inner = s.lock().unwrap();
    inner.requests.entry(region.clone()).or_default().push(Instant::now());
    if inner.denied.contains(&region) {
        let error = json!({"__type": "AccessDeniedException", "message": format!("not authorized in {region}")});
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    let (start, end) = (
        body["StartTime"].as_f64().unwrap_or(f64::MIN),
        body["EndTime"].as_f64().unwrap_or(f64::MAX),
    );
    // AWS returns the newest first.
    let mut matching: Vec<&Value> = inner
        .events
        .get(&region)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    matching.retain(|r| (start..=end).contains(&epoch(r)) && matches_attribute(r, &body["LookupAttributes"]));
    matching.sort_by(|a, b| epoch(b).total_cmp(&epoch(a)));
    let size = body["MaxResults"].as_u64().unwrap_or(50).min(50) as usize;
    let from: usize = body["NextToken"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = matching
        .iter()
        .skip(from)
        .take(size)
        .map(|r| {
            json!({
                "EventId": r["eventID"], "EventName": r["eventName"], "EventSource": r["eventSource"],
                "EventTime": epoch(r), "ReadOnly": r["readOnly"].to_string(),
                "Username": r["userIdentity"]["userName"],
                "Resources": r["resources"].as_array().map(|rs| rs.iter().map(|x| json!({
                    "ResourceType": x["type"], "ResourceName": x["ARN"]})).collect::<Vec<_>>()).unwrap_or_default(),
                "CloudTrailEvent": r.to_string(),
            })
        })
        .collect();
    let mut out = json!({"Events": page});
    if from + size < matching.len() {
        out["NextToken"] = json!((from + size).to_string());
    }
    let mut response = axum::Json(out).into_response();
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    response
}
