//! A fake AWS on loopback for benchmarks: Security Hub `GetFindings` over
//! generated findings, GuardDuty `ListDetectors` (no detector), and STS
//! `AssumeRole` (a member's credentials are `bench-<account id>`), with
//! AWS's published quotas enforced per (access key, Region, operation) the
//! way AWS enforces them (a token bucket; a request over it is answered 429
//! `TooManyRequestsException`) and a fixed latency per request.
//!
//! The quotas here are typed in from AWS's pages independently of the
//! product's own table, so a product that exceeds AWS's quota is caught.

use crate::generate::{self, Scope};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeSettings {
    /// Findings each (account, Region) holds.
    pub findings_per_region: usize,
    /// Enforce AWS's quotas (else answer everything).
    pub quotas: bool,
    /// Added to every answer.
    pub latency: Duration,
    /// `UpdatedAt` of every finding (inside the collector's 90-day window).
    pub updated_at: String,
}

/// AWS's `GetFindings` quota: 3 per second, burst 6 (Security Hub API
/// Reference, Welcome).
const GET_FINDINGS: (f64, u32) = (3.0, 6);
/// GuardDuty publishes none; the fake allows 10 per second.
const GUARDDUTY: (f64, u32) = (10.0, 10);
/// STS: 600 requests per second per account (IAM and STS quotas, "STS
/// request quotas").
const ASSUME_ROLE: (f64, u32) = (600.0, 600);

/// Requests seen for one (access key, Region, operation).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Counted {
    /// Requests answered.
    pub requests: u64,
    /// Requests over the quota, answered 429.
    pub throttled: u64,
}

struct Gcra {
    interval: Duration,
    tolerance: Duration,
    theoretical_arrival: Instant,
}

impl Gcra {
    fn new((rate, burst): (f64, u32)) -> Gcra {
        let interval = Duration::from_secs_f64(1.0 / rate);
        Gcra {
            interval,
            tolerance: interval * burst.saturating_sub(1),
            theoretical_arrival: Instant::now(),
        }
    }

    /// Whether a request arriving `now` is within the quota (and takes its token).
    fn admit(&mut self, now: Instant) -> bool {
        let arrival = self.theoretical_arrival.max(now);
        if arrival
            .checked_sub(self.tolerance)
            .is_some_and(|earliest| earliest > now)
        {
            return false;
        }
        self.theoretical_arrival = arrival + self.interval;
        true
    }
}

struct Inner {
    settings: FakeSettings,
    buckets: Mutex<BTreeMap<(String, String, &'static str), Gcra>>,
    counts: Mutex<BTreeMap<(String, String, &'static str), Counted>>,
}

/// A running fake.
#[derive(Clone)]
pub struct Fake {
    inner: Arc<Inner>,
}

impl Fake {
    /// A fake with `settings` (serve it with [`Fake::router`]).
    pub fn new(settings: FakeSettings) -> Fake {
        Fake {
            inner: Arc::new(Inner {
                settings,
                buckets: Mutex::default(),
                counts: Mutex::default(),
            }),
        }
    }

    /// The HTTP routes: every request goes to one handler; `GET /__stats`
    /// answers the counts.
    pub fn router(&self) -> Router {
        Router::new().fallback(handle).with_state(self.clone())
    }

    /// Requests and throttles so far, as `access key region operation`.
    pub fn counts(&self) -> BTreeMap<String, Counted> {
        self.inner
            .counts
            .lock()
            .map(|c| {
                c.iter()
                    .map(|((key, region, op), n)| (format!("{key} {region} {op}"), *n))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Access key and Region from a SigV4 `Authorization` header.
fn credential_scope(headers: &HeaderMap) -> Option<(String, String)> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?.split(',').next()?;
    let mut parts = credential.split('/');
    let key = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    Some((key, region))
}

/// The account a benchmark access key stands for (`bench-<account id>`).
fn account_of(key: &str) -> String {
    key.strip_prefix("bench-").unwrap_or("111122223333").to_string()
}

fn answer(status: StatusCode, error_type: Option<&str>, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", axum::http::HeaderValue::from_static("application/json"));
    if let Some(t) = error_type.and_then(|t| axum::http::HeaderValue::from_str(t).ok()) {
        headers.insert("x-amzn-errortype", t);
    }
    response
}

async fn handle(State(fake): State<Fake>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if uri.path() == "/__stats" {
        return answer(
            StatusCode::OK,
            None,
            serde_json::to_string(&fake.counts()).unwrap_or_default(),
        );
    }
    let Some((key, region)) = credential_scope(&headers) else {
        return answer(
            StatusCode::FORBIDDEN,
            Some("MissingAuthenticationTokenException"),
            "{}".into(),
        );
    };
    let (operation, quota) = match (&method, uri.path()) {
        (&Method::POST, "/findings") => ("GetFindings", GET_FINDINGS),
        (&Method::GET, "/detector") => ("ListDetectors", GUARDDUTY),
        (&Method::POST, "/") if body.starts_with(b"Action=AssumeRole&") => ("AssumeRole", ASSUME_ROLE),
        _ => {
            return answer(
                StatusCode::NOT_FOUND,
                Some("UnknownOperationException"),
                format!(r#"{{"message":"the fake does not serve {method} {}"}}"#, uri.path()),
            );
        }
    };
    let scope = (key.clone(), region.clone(), operation);
    let settings = &fake.inner.settings;
    let admitted = !settings.quotas
        || fake
            .inner
            .buckets
            .lock()
            .map(|mut b| {
                b.entry(scope.clone())
                    .or_insert_with(|| Gcra::new(quota))
                    .admit(Instant::now())
            })
            .unwrap_or(true);
    if let Ok(mut counts) = fake.inner.counts.lock() {
        let counted = counts.entry(scope).or_default();
        counted.requests += 1;
        counted.throttled += u64::from(!admitted);
    }
    if !settings.latency.is_zero() {
        tokio::time::sleep(settings.latency).await;
    }
    if !admitted {
        return answer(
            StatusCode::TOO_MANY_REQUESTS,
            Some("TooManyRequestsException"),
            r#"{"message":"Rate exceeded"}"#.into(),
        );
    }
    match operation {
        "GetFindings" => {
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let token = request.get("NextToken").and_then(|t| t.as_str());
            let page_size = request
                .get("MaxResults")
                .and_then(serde_json::Value::as_u64)
                .map_or(generate::PAGE_SIZE, |m| m.clamp(1, 100) as usize);
            let Some(page) = generate::page_of_token(token) else {
                return answer(
                    StatusCode::BAD_REQUEST,
                    Some("InvalidInputException"),
                    r#"{"message":"bad NextToken"}"#.into(),
                );
            };
            let account = account_of(&key);
            let scope = Scope {
                account: &account,
                region: &region,
                updated_at: &settings.updated_at,
            };
            answer(
                StatusCode::OK,
                None,
                generate::page(&scope, settings.findings_per_region, page, page_size),
            )
        }
        "AssumeRole" => assume_role(&body),
        _ => answer(StatusCode::OK, None, r#"{"detectorIds":[]}"#.into()),
    }
}

/// Credentials for the account of the requested role: `bench-<account id>`.
fn assume_role(body: &[u8]) -> Response {
    let form = String::from_utf8_lossy(body);
    let role = form
        .split('&')
        .find_map(|kv| kv.strip_prefix("RoleArn="))
        .map(|arn| arn.replace("%3A", ":").replace("%2F", "/"))
        .unwrap_or_default();
    let Some(account) = role.split(':').nth(4).filter(|a| a.len() == 12) else {
        return answer(
            StatusCode::BAD_REQUEST,
            Some("ValidationError"),
            format!(
                "<ErrorResponse><Error><Code>ValidationError</Code><Message>bad RoleArn {role}</Message></Error></ErrorResponse>"
            ),
        );
    };
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let mut response = answer(
        StatusCode::OK,
        None,
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
             <Credentials><AccessKeyId>bench-{account}</AccessKeyId><SecretAccessKey>bench-secret</SecretAccessKey>\
             <SessionToken>bench-session</SessionToken><Expiration>{}</Expiration></Credentials>\
             <AssumedRoleUser><AssumedRoleId>AROABENCH:posture</AssumedRoleId>\
             <Arn>arn:aws:sts::{account}:assumed-role/bench/posture</Arn></AssumedRoleUser>\
             </AssumeRoleResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></AssumeRoleResponse>",
            expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
    );
    response
        .headers_mut()
        .insert("content-type", axum::http::HeaderValue::from_static("text/xml"));
    response
}

/// Serves `fake` on a free loopback port; returns `http://127.0.0.1:PORT`.
pub async fn serve(fake: &Fake, port: u16) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let app = fake.router();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((endpoint, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_admits_aws_burst_then_its_rate() {
        let mut bucket = Gcra::new(GET_FINDINGS);
        let now = Instant::now();
        let at_once = (0..20).filter(|_| bucket.admit(now)).count();
        assert_eq!(at_once, 6);
        let later = now + Duration::from_secs(1);
        let a_second_later = (0..20).filter(|_| bucket.admit(later)).count();
        assert_eq!(a_second_later, 3);
    }
}
