//! A CloudTrail `LookupEvents` stand-in on 127.0.0.1 (moto does not
//! implement LookupEvents): events per Region, answered in AWS's JSON 1.1
//! shape with `NextToken` paging, the time window and the one lookup
//! attribute applied; a Region can be made to deny. It records when each
//! request arrived, per Region, so a test can count requests per second.
//!
//! For an organization (`start_org`) it also answers STS in AWS's query/XML
//! shape: `GetCallerIdentity` (the hub account for the test credentials, a
//! member for the keys it issued) and `AssumeRole` (temporary keys
//! `ASIA<account>0000` for the role's account, or AccessDenied for an account
//! whose role refuses); LookupEvents then answers the events of the account
//! whose key signed the request.

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
    /// Account ("" for the one account of `start`) -> Region -> CloudTrail
    /// records (the `CloudTrailEvent` JSON objects).
    events: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
    denied: BTreeSet<String>,
    requests: BTreeMap<String, Vec<Instant>>,
    /// The account the test credentials belong to (`start_org`).
    hub: String,
    /// Accounts whose role refuses AssumeRole.
    refusing: BTreeSet<String>,
    /// AssumeRole calls answered, by role ARN.
    assumed: Vec<String>,
}

/// The account a request's key is for: a key this stand-in issued names it.
fn account_of_key(key: &str, hub: &str) -> String {
    match key.strip_prefix("ASIA") {
        Some(rest) if rest.len() == 16 && rest.ends_with("0000") => rest[..12].to_string(),
        _ => hub.to_string(),
    }
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
        let inner = Inner {
            events: [(String::new(), events)].into(),
            denied: denied.iter().map(|r| r.to_string()).collect(),
            ..Inner::default()
        };
        Self::serve(inner).await
    }

    /// Serves an organization: `events` per account and Region, the test
    /// credentials in `hub`, the roles of `refusing` accounts denying
    /// AssumeRole.
    pub async fn start_org(
        hub: &str,
        events: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
        refusing: &[&str],
    ) -> CloudTrailStandIn {
        let inner = Inner {
            events,
            hub: hub.to_string(),
            refusing: refusing.iter().map(|a| a.to_string()).collect(),
            ..Inner::default()
        };
        Self::serve(inner).await
    }

    async fn serve(inner: Inner) -> CloudTrailStandIn {
        let inner = Arc::new(Mutex::new(inner));
        let app = Router::new().route("/", post(answer)).with_state(inner.clone());
        let endpoint = crate::forward::serve(app).await;
        CloudTrailStandIn { inner, endpoint }
    }

    /// The role ARNs AssumeRole was asked for, in order.
    pub fn assumed(&self) -> Vec<String> {
        self.inner.lock().unwrap().assumed.clone()
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

fn region_of(headers: &HeaderMap) -> String {
    crate::forward::credential_part(headers, 2)
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert("content-type", "text/xml".parse().unwrap());
    response
}

/// STS in its query protocol: GetCallerIdentity and AssumeRole.
fn sts(s: &Mutex<Inner>, headers: &HeaderMap, body: &[u8]) -> Response {
    let form: BTreeMap<String, String> = crate::sts_gate::parse_form(&String::from_utf8_lossy(body))
        .into_iter()
        .collect();
    let mut inner = s.lock().unwrap();
    let caller = account_of_key(&crate::forward::credential_part(headers, 0), &inner.hub);
    const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
    match form.get("Action").map(String::as_str) {
        Some("GetCallerIdentity") => xml(
            StatusCode::OK,
            format!(
                "<GetCallerIdentityResponse xmlns=\"{NS}\"><GetCallerIdentityResult>\
                 <Arn>arn:aws:iam::{caller}:user/standin</Arn><UserId>AIDASTANDIN</UserId><Account>{caller}</Account>\
                 </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>\
                 </GetCallerIdentityResponse>"
            ),
        ),
        Some("AssumeRole") => {
            let role = form.get("RoleArn").cloned().unwrap_or_default();
            inner.assumed.push(role.clone());
            let account = role.split(':').nth(4).unwrap_or_default().to_string();
            if inner.refusing.contains(&account) {
                return crate::sts_gate::access_denied(&role, "2");
            }
            let session = form.get("RoleSessionName").cloned().unwrap_or_default();
            let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
            xml(
                StatusCode::OK,
                format!(
                    "<AssumeRoleResponse xmlns=\"{NS}\"><AssumeRoleResult><Credentials>\
                     <AccessKeyId>ASIA{account}0000</AccessKeyId><SecretAccessKey>standin-secret</SecretAccessKey>\
                     <SessionToken>standin-token</SessionToken><Expiration>{expires}</Expiration></Credentials>\
                     <AssumedRoleUser><Arn>arn:aws:sts::{account}:assumed-role/member/{session}</Arn>\
                     <AssumedRoleId>AROASTANDIN:{session}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>\
                     <ResponseMetadata><RequestId>3</RequestId></ResponseMetadata></AssumeRoleResponse>",
                    expires = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
                ),
            )
        }
        other => (StatusCode::BAD_REQUEST, format!("unexpected STS action {other:?}")).into_response(),
    }
}

async fn answer(State(s): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    if crate::forward::credential_part(&headers, 3) == "sts" {
        return sts(&s, &headers, &body);
    }
    lookup_events(&s, &headers, &body)
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

fn lookup_events(s: &Mutex<Inner>, headers: &HeaderMap, body: &[u8]) -> Response {
    let region = region_of(headers);
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !target.ends_with("CloudTrail_20131101.LookupEvents") {
        return (StatusCode::BAD_REQUEST, format!("unexpected target {target}")).into_response();
    }
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let mut inner = s.lock().unwrap();
    let account = match inner.events.contains_key("") {
        true => String::new(),
        false => account_of_key(&crate::forward::credential_part(headers, 0), &inner.hub),
    };
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
        .get(&account)
        .and_then(|regions| regions.get(&region))
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
