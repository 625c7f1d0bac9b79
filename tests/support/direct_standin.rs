//! A stand-in on 127.0.0.1 for the findings APIs moto lacks or serves
//! without paging: Inspector `ListFindings`, Macie `ListFindings` /
//! `GetFindings`, IAM Access Analyzer `ListAnalyzers` / `ListFindingsV2`,
//! and AWS Config `DescribeConfigRules` / `DescribeComplianceByConfigRule`
//! / `GetComplianceDetailsByConfigRule` / `GetResourceConfigHistory` /
//! `ListDiscoveredResources` — one port, each at the path (REST
//! JSON) or `X-Amz-Target` (awsJson 1.1) AWS serves it on, answering with
//! AWS-shaped JSON so the real SDK clients exercise their wire path.
//!
//! Pages are cut at the request's page size or the stand-in's own (smaller,
//! so a test pages without thousands of records); each operation can be
//! refused with `AccessDeniedException` after a number of answered calls.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What the stand-in serves.
#[derive(Debug, Clone, Default)]
pub struct DirectFindings {
    /// Inspector `Finding` objects.
    pub inspector: Vec<Value>,
    /// Macie `Finding` objects.
    pub macie: Vec<Value>,
    /// Access Analyzer `AnalyzerSummary` objects.
    pub analyzers: Vec<Value>,
    /// `FindingSummaryV2` objects per analyzer ARN.
    pub analyzer_findings: BTreeMap<String, Vec<Value>>,
    /// Config `ConfigRule` objects.
    pub config_rules: Vec<Value>,
    /// Config `ComplianceByConfigRule` objects.
    pub rule_compliance: Vec<Value>,
    /// Config `EvaluationResult` objects per rule name.
    pub evaluations: BTreeMap<String, Vec<Value>>,
    /// Config `ConfigurationItem` objects of one resource, any order.
    pub config_items: Vec<Value>,
    /// Config `ResourceIdentifier` objects (`ListDiscoveredResources`).
    pub discovered: Vec<Value>,
}

#[derive(Default)]
struct Inner {
    data: DirectFindings,
    page_size: usize,
    /// Operation (`inspector2:ListFindings`) -> calls answered before it is refused.
    denied_after: BTreeMap<String, usize>,
    calls: BTreeMap<String, usize>,
    requests: Vec<(String, Value)>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct DirectStandIn {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl DirectStandIn {
    /// Serves `data` in pages of at most `page_size` records.
    pub async fn start(data: DirectFindings, page_size: usize) -> DirectStandIn {
        let inner = Arc::new(Mutex::new(Inner {
            data,
            page_size,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/findings/list", post(inspector_list))
            .route("/findings", post(macie_list))
            .route("/findings/describe", post(macie_get))
            .route("/analyzer", get(list_analyzers))
            .route("/findingv2", post(list_findings_v2))
            .route("/", post(config))
            .with_state(inner.clone());
        let endpoint = crate::forward::serve(app).await;
        DirectStandIn { inner, endpoint }
    }

    /// Refuses `operation` (`service:Action`) with AccessDeniedException once
    /// it has answered `answered` calls.
    pub fn deny_after(&self, operation: &str, answered: usize) {
        self.inner
            .lock()
            .unwrap()
            .denied_after
            .insert(operation.to_string(), answered);
    }

    /// Calls received per operation (refused ones included).
    pub fn calls(&self, operation: &str) -> usize {
        self.inner.lock().unwrap().calls.get(operation).copied().unwrap_or(0)
    }

    /// The request bodies received for `operation`, in order.
    pub fn requests(&self, operation: &str) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner
            .requests
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, body)| body.clone())
            .collect()
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

/// Counts the call; the refusal when the operation is denied by now.
fn admit(inner: &mut Inner, operation: &str, body: &Value) -> Option<Response> {
    let n = inner.calls.entry(operation.to_string()).or_default();
    *n += 1;
    let answered = *n - 1;
    inner.requests.push((operation.to_string(), body.clone()));
    let limit = *inner.denied_after.get(operation)?;
    if answered < limit {
        return None;
    }
    let message = format!(
        "User: arn:aws:sts::123456789012:assumed-role/PostureAdvisorMember/posture-run is not authorized to perform: {operation}"
    );
    Some(if operation.starts_with("config:") {
        // awsJson 1.1: the code travels in the body's __type.
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"__type": "AccessDeniedException", "message": message})),
        )
            .into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            [("x-amzn-errortype", "AccessDeniedException")],
            Json(json!({"message": message})),
        )
            .into_response()
    })
}

/// One page of `items` from the offset the request's `token_key` names: at
/// most the smaller of its `size_key` and the stand-in's page size; the next
/// token while records remain.
fn paged(
    items: &[Value],
    body: &Value,
    token_key: &str,
    size_key: &str,
    page_size: usize,
) -> (Vec<Value>, Option<String>) {
    let asked = body[size_key].as_u64().map_or(page_size, |a| a as usize);
    let size = asked.min(page_size).max(1);
    let start: usize = body[token_key].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let next = start + page.len();
    (page, (next < items.len()).then(|| next.to_string()))
}

fn parse(body: &Bytes) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

async fn inspector_list(State(s): Shared, body: Bytes) -> Response {
    let body = parse(&body);
    let mut inner = s.lock().unwrap();
    if let Some(refused) = admit(&mut inner, "inspector2:ListFindings", &body) {
        return refused;
    }
    let (findings, next) = paged(&inner.data.inspector, &body, "nextToken", "maxResults", inner.page_size);
    Json(json!({"findings": findings, "nextToken": next})).into_response()
}

async fn macie_list(State(s): Shared, body: Bytes) -> Response {
    let body = parse(&body);
    let mut inner = s.lock().unwrap();
    if let Some(refused) = admit(&mut inner, "macie2:ListFindings", &body) {
        return refused;
    }
    let (findings, next) = paged(&inner.data.macie, &body, "nextToken", "maxResults", inner.page_size);
    let ids: Vec<Value> = findings.iter().map(|f| f["id"].clone()).collect();
    Json(json!({"findingIds": ids, "nextToken": next})).into_response()
}

async fn macie_get(State(s): Shared, body: Bytes) -> Response {
    let body = parse(&body);
    let mut inner = s.lock().unwrap();
    if let Some(refused) = admit(&mut inner, "macie2:GetFindings", &body) {
        return refused;
    }
    let wanted: Vec<&str> = body["findingIds"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if wanted.len() > 50 {
        return (
            StatusCode::BAD_REQUEST,
            [("x-amzn-errortype", "ValidationException")],
            Json(json!({"message": "findingIds: at most 50"})),
        )
            .into_response();
    }
    let findings: Vec<Value> = inner
        .data
        .macie
        .iter()
        .filter(|f| f["id"].as_str().is_some_and(|id| wanted.contains(&id)))
        .cloned()
        .collect();
    Json(json!({"findings": findings})).into_response()
}

async fn list_analyzers(State(s): Shared) -> Response {
    let mut inner = s.lock().unwrap();
    if let Some(refused) = admit(&mut inner, "access-analyzer:ListAnalyzers", &Value::Null) {
        return refused;
    }
    Json(json!({"analyzers": inner.data.analyzers})).into_response()
}

async fn list_findings_v2(State(s): Shared, body: Bytes) -> Response {
    let body = parse(&body);
    let mut inner = s.lock().unwrap();
    if let Some(refused) = admit(&mut inner, "access-analyzer:ListFindingsV2", &body) {
        return refused;
    }
    let arn = body["analyzerArn"].as_str().unwrap_or_default().to_string();
    let Some(findings) = inner.data.analyzer_findings.get(&arn) else {
        return (
            StatusCode::NOT_FOUND,
            [("x-amzn-errortype", "ResourceNotFoundException")],
            Json(json!({"message": format!("Analyzer {arn} not found")})),
        )
            .into_response();
    };
    let (findings, next) = paged(findings, &body, "nextToken", "maxResults", inner.page_size);
    Json(json!({"findings": findings, "nextToken": next})).into_response()
}

async fn config(State(s): Shared, headers: HeaderMap, body: Bytes) -> Response {
    let body = parse(&body);
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = format!("config:{}", target.trim_start_matches("StarlingDoveService."));
    let mut inner = s.lock().unwrap();
    if let Some(refused) = admit(&mut inner, &operation, &body) {
        return refused;
    }
    let page_size = inner.page_size;
    let answer = match operation.as_str() {
        "config:DescribeConfigRules" => {
            let (rules, next) = paged(&inner.data.config_rules, &body, "NextToken", "Limit", page_size);
            json!({"ConfigRules": rules, "NextToken": next})
        }
        "config:DescribeComplianceByConfigRule" => {
            let names: Vec<&str> = body["ConfigRuleNames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let wanted: Vec<&str> = body["ComplianceTypes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let matching: Vec<Value> = inner
                .data
                .rule_compliance
                .iter()
                .filter(|c| names.is_empty() || names.iter().any(|n| c["ConfigRuleName"] == *n))
                .filter(|c| wanted.is_empty() || wanted.iter().any(|w| c["Compliance"]["ComplianceType"] == *w))
                .cloned()
                .collect();
            json!({"ComplianceByConfigRules": matching})
        }
        "config:GetComplianceDetailsByConfigRule" => {
            let rule = body["ConfigRuleName"].as_str().unwrap_or_default();
            let evaluations = inner.data.evaluations.get(rule).cloned().unwrap_or_default();
            let (results, next) = paged(&evaluations, &body, "NextToken", "Limit", page_size);
            json!({"EvaluationResults": results, "NextToken": next})
        }
        "config:GetResourceConfigHistory" => {
            let time = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
            let (earlier, later) = (body["earlierTime"].as_f64(), body["laterTime"].as_f64());
            let mut items: Vec<Value> = inner
                .data
                .config_items
                .iter()
                .filter(|i| i["resourceId"] == body["resourceId"] && i["resourceType"] == body["resourceType"])
                .filter(|i| {
                    let t = time(&i["configurationItemCaptureTime"]);
                    earlier.is_none_or(|e| t >= e) && later.is_none_or(|l| t <= l)
                })
                .cloned()
                .collect();
            items.sort_by(|a, b| {
                time(&a["configurationItemCaptureTime"]).total_cmp(&time(&b["configurationItemCaptureTime"]))
            });
            // Config's default order is newest first.
            if body["chronologicalOrder"] != "Forward" {
                items.reverse();
            }
            let (items, next) = paged(&items, &body, "nextToken", "limit", page_size);
            json!({"configurationItems": items, "nextToken": next})
        }
        "config:ListDiscoveredResources" => {
            let found: Vec<Value> = inner
                .data
                .discovered
                .iter()
                .filter(|r| r["resourceType"] == body["resourceType"])
                .filter(|r| body["resourceName"].is_null() || r["resourceName"] == body["resourceName"])
                .cloned()
                .collect();
            json!({"resourceIdentifiers": found})
        }
        other => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"__type": "UnknownOperationException", "message": format!("{other} is not served here")})),
            )
                .into_response();
        }
    };
    Json(answer).into_response()
}
