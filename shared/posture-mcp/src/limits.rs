//! Per-caller limits on `/mcp`: a token bucket of requests and a cap on
//! requests in flight, per caller (the authenticated principal; without
//! authentication, the peer address). Over either limit the answer is
//! `429 Too Many Requests` with `Retry-After`, before any tool runs, so one
//! caller cannot spend the process (or the audited accounts' API quotas) on
//! everyone else's behalf. In Lambda each instance keeps its own counts (one
//! request at a time per instance): there the function's reserved
//! concurrency is the bound, and these limits matter for the local server.

use crate::audit::Caller;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The limits each caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerLimits {
    /// Sustained requests per second (the bucket's refill rate); 0 turns
    /// the rate limit off.
    pub requests_per_second: u32,
    /// Requests that may arrive at once above the rate (the bucket's size).
    pub burst: u32,
    /// Requests of one caller in flight at once; 0 turns the cap off.
    pub concurrency: u32,
}

impl Default for CallerLimits {
    fn default() -> CallerLimits {
        CallerLimits {
            requests_per_second: 20,
            burst: 100,
            concurrency: 8,
        }
    }
}

/// Environment variables of the limits (defaults in [`CallerLimits::default`]).
pub const REQUESTS_PER_SECOND_VAR: &str = "POSTURE_CALLER_REQUESTS_PER_SECOND";
/// See [`REQUESTS_PER_SECOND_VAR`].
pub const BURST_VAR: &str = "POSTURE_CALLER_BURST";
/// See [`REQUESTS_PER_SECOND_VAR`].
pub const CONCURRENCY_VAR: &str = "POSTURE_CALLER_CONCURRENCY";

impl CallerLimits {
    /// Reads the limits through `var`; a malformed value is an error naming
    /// its variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<CallerLimits, String> {
        let defaults = CallerLimits::default();
        let read = |name: &str, default: u32| match var(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("{name} must be a whole number (got {v:?})")),
        };
        Ok(CallerLimits {
            requests_per_second: read(REQUESTS_PER_SECOND_VAR, defaults.requests_per_second)?,
            burst: read(BURST_VAR, defaults.burst)?.max(1),
            concurrency: read(CONCURRENCY_VAR, defaults.concurrency)?,
        })
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the request rate; a token is back after this long.
    Rate(Duration),
    /// Too many requests of this caller in flight.
    Concurrency,
    /// Too many distinct callers tracked at once (none idle to forget).
    Overloaded,
}

impl Refusal {
    fn retry_after_secs(&self) -> u64 {
        match self {
            Refusal::Rate(wait) => wait.as_secs_f64().ceil().max(1.0) as u64,
            Refusal::Concurrency | Refusal::Overloaded => 1,
        }
    }

    /// `429` with `Retry-After` and a JSON-RPC error body saying which limit.
    pub fn response(&self) -> Response {
        let retry = self.retry_after_secs();
        let reason = match self {
            Refusal::Rate(_) => "this caller is over its request rate",
            Refusal::Concurrency => "this caller has too many requests in flight",
            Refusal::Overloaded => "the server is tracking too many callers",
        };
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {"code": -32000, "message": format!("Too Many Requests: {reason}; retry after {retry} s")},
        });
        (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, HeaderValue::from(retry)),
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            ],
            body.to_string(),
        )
            .into_response()
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refreshed: Instant,
    in_flight: u32,
}

/// Most callers tracked at once; idle ones (full bucket, nothing in flight)
/// are forgotten first.
const MAX_TRACKED_CALLERS: usize = 10_000;

/// The counts of every caller.
#[derive(Debug)]
pub struct CallerLimiter {
    limits: CallerLimits,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl CallerLimiter {
    /// A limiter with no caller seen yet.
    pub fn new(limits: CallerLimits) -> CallerLimiter {
        CallerLimiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        // A panic while holding the lock leaves counts that are still usable.
        self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let rate = f64::from(self.limits.requests_per_second);
        let elapsed = now.saturating_duration_since(bucket.refreshed).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(f64::from(self.limits.burst));
        bucket.refreshed = now;
    }

    /// Takes `cost` tokens from `caller`'s bucket, or says how long until
    /// they are there.
    fn take(&self, caller: &str, cost: u32, now: Instant) -> Result<(), Refusal> {
        if self.limits.requests_per_second == 0 || cost == 0 {
            return Ok(());
        }
        let mut buckets = self.lock();
        let Some(bucket) = buckets.get_mut(caller) else {
            return Ok(());
        };
        self.refill(bucket, now);
        let cost = f64::from(cost);
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            return Ok(());
        }
        let missing = cost - bucket.tokens;
        Err(Refusal::Rate(Duration::from_secs_f64(
            missing / f64::from(self.limits.requests_per_second),
        )))
    }

    /// Admits one request of `caller` now: a token taken and a place in
    /// flight held until the returned permit drops.
    pub fn admit(self: &Arc<Self>, caller: &str, now: Instant) -> Result<Permit, Refusal> {
        let mut buckets = self.lock();
        if !buckets.contains_key(caller) {
            if buckets.len() >= MAX_TRACKED_CALLERS {
                let burst = f64::from(self.limits.burst);
                let rate = f64::from(self.limits.requests_per_second);
                buckets.retain(|_, b| {
                    let refilled = b.tokens + now.saturating_duration_since(b.refreshed).as_secs_f64() * rate;
                    b.in_flight > 0 || refilled < burst
                });
                if buckets.len() >= MAX_TRACKED_CALLERS {
                    return Err(Refusal::Overloaded);
                }
            }
            buckets.insert(
                caller.to_string(),
                Bucket {
                    tokens: f64::from(self.limits.burst),
                    refreshed: now,
                    in_flight: 0,
                },
            );
        }
        let limits = self.limits;
        let Some(bucket) = buckets.get_mut(caller) else {
            return Err(Refusal::Overloaded);
        };
        if limits.concurrency > 0 && bucket.in_flight >= limits.concurrency {
            return Err(Refusal::Concurrency);
        }
        if limits.requests_per_second > 0 {
            self.refill(bucket, now);
            if bucket.tokens < 1.0 {
                let wait = (1.0 - bucket.tokens) / f64::from(limits.requests_per_second);
                return Err(Refusal::Rate(Duration::from_secs_f64(wait)));
            }
            bucket.tokens -= 1.0;
        }
        bucket.in_flight += 1;
        Ok(Permit {
            limiter: self.clone(),
            caller: caller.to_string(),
        })
    }
}

/// A request in flight; dropping it frees the place.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<CallerLimiter>,
    caller: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(bucket) = self.limiter.lock().get_mut(&self.caller) {
            bucket.in_flight = bucket.in_flight.saturating_sub(1);
        }
    }
}

/// Lets the JSON-RPC layer charge the messages of a batch beyond the first
/// (which the request itself paid for).
#[derive(Debug, Clone)]
pub struct BatchCharge {
    limiter: Arc<CallerLimiter>,
    caller: String,
}

impl BatchCharge {
    /// Takes `extra` more tokens from the caller's bucket.
    pub fn take(&self, extra: usize) -> Result<(), Refusal> {
        let extra = u32::try_from(extra).unwrap_or(u32::MAX);
        self.limiter.take(&self.caller, extra, Instant::now())
    }
}

/// Who the limits count against: the authenticated caller, else the peer
/// address, else one shared anonymous key.
fn caller_key(request: &Request) -> String {
    let caller = request.extensions().get::<Caller>().map(|c| c.0.as_str());
    match caller {
        Some(name) if !matches!(name, "anonymous" | "unauthenticated" | "unknown") => format!("caller:{name}"),
        _ => match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => format!("ip:{}", peer.ip()),
            None => "anonymous".to_string(),
        },
    }
}

/// The middleware: admits the request or answers 429.
pub async fn limit(State(limiter): State<Arc<CallerLimiter>>, mut request: Request, next: Next) -> Response {
    let caller = caller_key(&request);
    match limiter.admit(&caller, Instant::now()) {
        Ok(permit) => {
            request.extensions_mut().insert(BatchCharge {
                limiter: limiter.clone(),
                caller,
            });
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(refusal) => {
            tracing::info!(target: "audit", event = "rate_limited", caller, refusal = ?refusal);
            refusal.response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(requests_per_second: u32, burst: u32, concurrency: u32) -> Arc<CallerLimiter> {
        Arc::new(CallerLimiter::new(CallerLimits {
            requests_per_second,
            burst,
            concurrency,
        }))
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds_with_the_wait_said() {
        let l = limiter(2, 3, 0);
        let t0 = Instant::now();
        let permits: Vec<_> = (0..3).map(|_| l.admit("a", t0).unwrap()).collect();
        assert_eq!(l.admit("a", t0).unwrap_err(), Refusal::Rate(Duration::from_millis(500)));
        // Another caller has its own bucket.
        assert!(l.admit("b", t0).is_ok());
        // Half a second later one token is back, and only one.
        assert!(l.admit("a", t0 + Duration::from_millis(500)).is_ok());
        assert!(matches!(
            l.admit("a", t0 + Duration::from_millis(500)),
            Err(Refusal::Rate(_))
        ));
        drop(permits);
    }

    #[test]
    fn in_flight_requests_are_capped_and_freed_on_drop() {
        let l = limiter(0, 1, 2);
        let now = Instant::now();
        let first = l.admit("a", now).unwrap();
        let _second = l.admit("a", now).unwrap();
        assert_eq!(l.admit("a", now).unwrap_err(), Refusal::Concurrency);
        drop(first);
        assert!(l.admit("a", now).is_ok());
    }

    #[test]
    fn a_batch_pays_for_each_message() {
        let l = limiter(1, 5, 0);
        let now = Instant::now();
        let _p = l.admit("a", now).unwrap();
        assert!(l.take("a", 4, now).is_ok());
        assert!(matches!(l.take("a", 1, now), Err(Refusal::Rate(_))));
    }

    #[test]
    fn idle_callers_are_forgotten_when_the_table_is_full() {
        let l = limiter(1000, 1, 0);
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED_CALLERS {
            drop(l.admit(&format!("c{i}"), t0).unwrap());
        }
        // All buckets are empty at t0: the table is full of active callers.
        assert_eq!(l.admit("new", t0).unwrap_err(), Refusal::Overloaded);
        // A second later every bucket is full again (idle): forgotten.
        assert!(l.admit("new", t0 + Duration::from_secs(1)).is_ok());
        assert_eq!(l.lock().len(), 1);
    }

    #[test]
    fn limits_read_from_the_environment_name_the_bad_variable() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(CallerLimits::from_vars(vars(&[])), Ok(CallerLimits::default()));
        assert_eq!(
            CallerLimits::from_vars(vars(&[(CONCURRENCY_VAR, "3"), (REQUESTS_PER_SECOND_VAR, "0")])),
            Ok(CallerLimits {
                requests_per_second: 0,
                burst: 100,
                concurrency: 3
            })
        );
        let e = CallerLimits::from_vars(vars(&[(BURST_VAR, "lots")])).unwrap_err();
        assert!(e.contains(BURST_VAR), "{e}");
    }

    #[test]
    fn the_refusal_says_when_to_retry() {
        let r = Refusal::Rate(Duration::from_millis(2100)).response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "3");
    }
}
