//! Circuit breakers per (account, region, service): after repeated failed
//! operations in one scope (5xx, throttling after the retries, timeouts,
//! connection failures), the scope's circuit opens and its calls fail at
//! once, before anything is sent, as an `Unavailable` gap saying "circuit
//! open", instead of each spending the retry budget against a service that
//! is down. After a cool-down one call goes through as a probe (half-open):
//! its success closes the circuit, its failure opens it again. An answer
//! from the service (success, or a client error such as AccessDenied)
//! closes it: the endpoint is alive.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The words a skipped call's error starts with (`errors::classify` makes it
/// an `Unavailable` gap).
pub const CIRCUIT_OPEN: &str = "circuit open";

/// Environment variable: failed operations in a row that open a circuit
/// (default 3; 0 turns the breakers off).
pub const FAILURES_VAR: &str = "POSTURE_CIRCUIT_FAILURES";
/// Environment variable: seconds an open circuit waits before a probe
/// (default 30).
pub const COOL_DOWN_VAR: &str = "POSTURE_CIRCUIT_COOLDOWN_SECS";

/// When circuits open and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failed operations in a row that open a circuit; 0: never.
    pub failures_to_open: u32,
    /// Time an open circuit skips calls before letting a probe through.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> BreakerSettings {
        BreakerSettings {
            failures_to_open: 3,
            cool_down: Duration::from_secs(30),
        }
    }
}

impl BreakerSettings {
    /// Reads the settings through `var`; a malformed value is an error
    /// naming its variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<BreakerSettings, String> {
        let defaults = BreakerSettings::default();
        let number = |name: &str, default: u64| match var(name) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("{name} must be a whole number (got {v:?})")),
        };
        Ok(BreakerSettings {
            failures_to_open: u32::try_from(number(FAILURES_VAR, u64::from(defaults.failures_to_open))?)
                .map_err(|_| format!("{FAILURES_VAR} is too large"))?,
            cool_down: Duration::from_secs(number(COOL_DOWN_VAR, defaults.cool_down.as_secs())?),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The cool-down is over and one probe is out (sent then). A probe that
    /// never reports (its call dropped) is replaced after another cool-down.
    HalfOpen {
        probe_sent: Instant,
    },
}

/// One scope: (account, region, service).
type Scope = (Arc<str>, String, &'static str);

/// The breakers of one process.
#[derive(Debug)]
pub struct Breakers {
    settings: BreakerSettings,
    scopes: Mutex<HashMap<Scope, State>>,
}

/// A call's outcome as the breaker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The service answered (success or a client error).
    Answered,
    /// 5xx, throttling after the retries, timeout or connection failure.
    Failed,
}

impl Breakers {
    /// Breakers with these settings, every circuit closed.
    pub fn new(settings: BreakerSettings) -> Arc<Breakers> {
        Arc::new(Breakers {
            settings,
            scopes: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Scope, State>> {
        self.scopes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// May a call in `scope` go out now? `Err` says until when it is skipped.
    fn admit(&self, scope: &Scope, now: Instant) -> Result<(), Option<Duration>> {
        if self.settings.failures_to_open == 0 {
            return Ok(());
        }
        let mut scopes = self.lock();
        match scopes.get(scope).copied() {
            None | Some(State::Closed { .. }) => Ok(()),
            Some(State::Open { until }) if now >= until => {
                scopes.insert(scope.clone(), State::HalfOpen { probe_sent: now });
                Ok(())
            }
            Some(State::Open { until }) => Err(Some(until.saturating_duration_since(now))),
            Some(State::HalfOpen { probe_sent }) if now >= probe_sent + self.settings.cool_down => {
                scopes.insert(scope.clone(), State::HalfOpen { probe_sent: now });
                Ok(())
            }
            Some(State::HalfOpen { .. }) => Err(None),
        }
    }

    /// Records a finished call; returns true when this opened the circuit.
    fn record(&self, scope: &Scope, outcome: Outcome, now: Instant) -> bool {
        if self.settings.failures_to_open == 0 {
            return false;
        }
        let mut scopes = self.lock();
        let state = scopes.get(scope).copied().unwrap_or(State::Closed { failures: 0 });
        let open = State::Open {
            until: now + self.settings.cool_down,
        };
        let (next, opened) = match (state, outcome) {
            (_, Outcome::Answered) => (State::Closed { failures: 0 }, false),
            (State::Closed { failures }, Outcome::Failed) if failures + 1 >= self.settings.failures_to_open => {
                (open, true)
            }
            (State::Closed { failures }, Outcome::Failed) => (State::Closed { failures: failures + 1 }, false),
            (State::HalfOpen { .. }, Outcome::Failed) => (open, true),
            // A call that was already out when the circuit opened.
            (State::Open { until }, Outcome::Failed) => (State::Open { until }, false),
        };
        scopes.insert(scope.clone(), next);
        opened
    }

    /// The interceptor for clients of `account`'s calls.
    pub fn guard(self: &Arc<Self>, account: &str) -> Guard {
        Guard {
            breakers: self.clone(),
            account: Arc::from(account),
        }
    }
}

/// The SDK interceptor: skips calls of open scopes, records outcomes.
#[derive(Debug, Clone)]
pub struct Guard {
    breakers: Arc<Breakers>,
    account: Arc<str>,
}

impl Guard {
    fn scope(&self, cfg: &ConfigBag) -> Scope {
        let service = crate::iam::operation_service(cfg);
        let region = cfg
            .load::<aws_config::Region>()
            .map(ToString::to_string)
            .unwrap_or_default();
        (self.account.clone(), region, service)
    }
}

impl Intercept for Guard {
    fn name(&self) -> &'static str {
        "CircuitBreaker"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let scope = self.scope(cfg);
        match self.breakers.admit(&scope, Instant::now()) {
            Ok(()) => Ok(()),
            Err(wait) => {
                posture_core::metrics::global().circuit_skip(scope.2);
                let (_, region, service) = &scope;
                let when = match wait {
                    Some(wait) => format!("for {} s more", wait.as_secs().max(1)),
                    None => "while a probe is out".to_string(),
                };
                Err(format!(
                    "{CIRCUIT_OPEN}: {service} in {region} failed {} times in a row; calls are skipped {when}",
                    self.breakers.settings.failures_to_open
                )
                .into())
            }
        }
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let outcome = match context.output_or_error() {
            None | Some(Ok(_)) => Outcome::Answered,
            Some(Err(e)) if e.is_interceptor_error() => return Ok(()),
            Some(Err(e)) if e.is_timeout_error() || e.is_connector_error() || e.is_response_error() => Outcome::Failed,
            Some(Err(_)) => match context.response().map(|r| r.status().as_u16()) {
                Some(status) if status >= 500 || status == 429 => Outcome::Failed,
                Some(status)
                    if crate::iam::is_throttle(
                        status,
                        context.response().and_then(|r| r.headers().get("x-amzn-errortype")),
                        context.response().and_then(|r| r.body().bytes()),
                    ) =>
                {
                    Outcome::Failed
                }
                Some(_) => Outcome::Answered,
                None => Outcome::Failed,
            },
        };
        let scope = self.scope(cfg);
        if self.breakers.record(&scope, outcome, Instant::now()) {
            posture_core::metrics::global().circuit_open(scope.2);
            tracing::warn!(
                account = %scope.0,
                region = %scope.1,
                service = scope.2,
                "circuit open: calls to this service in this region are skipped for the cool-down"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(service: &'static str) -> Scope {
        (Arc::from("111122223333"), "eu-west-1".to_string(), service)
    }

    #[test]
    fn opens_after_failures_in_a_row_probes_after_the_cool_down_and_closes_on_an_answer() {
        let b = Breakers::new(BreakerSettings {
            failures_to_open: 3,
            cool_down: Duration::from_secs(30),
        });
        let (ec2, kms) = (scope("ec2"), scope("kms"));
        let t0 = Instant::now();
        assert!(!b.record(&ec2, Outcome::Failed, t0));
        assert!(!b.record(&ec2, Outcome::Answered, t0), "an answer resets the count");
        assert!(!b.record(&ec2, Outcome::Failed, t0));
        assert!(!b.record(&ec2, Outcome::Failed, t0));
        assert!(b.admit(&ec2, t0).is_ok());
        assert!(b.record(&ec2, Outcome::Failed, t0), "the third in a row opens");
        assert_eq!(
            b.admit(&ec2, t0 + Duration::from_secs(10)),
            Err(Some(Duration::from_secs(20)))
        );
        assert!(
            b.admit(&kms, t0).is_ok(),
            "another service of the region is its own scope"
        );
        // After the cool-down: one probe, the others wait for it.
        let t1 = t0 + Duration::from_secs(30);
        assert!(b.admit(&ec2, t1).is_ok());
        assert_eq!(b.admit(&ec2, t1), Err(None));
        // A probe that never reports is replaced after another cool-down.
        assert!(b.admit(&ec2, t1 + Duration::from_secs(30)).is_ok());
        assert!(b.record(&ec2, Outcome::Failed, t1), "a failed probe opens again");
        assert!(b.admit(&ec2, t1 + Duration::from_secs(1)).is_err());
        let t2 = t1 + Duration::from_secs(30);
        assert!(b.admit(&ec2, t2).is_ok());
        assert!(!b.record(&ec2, Outcome::Answered, t2), "an answered probe closes");
        assert!(b.admit(&ec2, t2).is_ok());
    }

    #[test]
    fn zero_failures_turns_the_breakers_off() {
        let b = Breakers::new(BreakerSettings {
            failures_to_open: 0,
            cool_down: Duration::from_secs(30),
        });
        let now = Instant::now();
        for _ in 0..10 {
            assert!(!b.record(&scope("ec2"), Outcome::Failed, now));
        }
        assert!(b.admit(&scope("ec2"), now).is_ok());
    }

    #[test]
    fn settings_come_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(BreakerSettings::from_vars(vars(&[])), Ok(BreakerSettings::default()));
        assert_eq!(
            BreakerSettings::from_vars(vars(&[(FAILURES_VAR, "5"), (COOL_DOWN_VAR, "60")])),
            Ok(BreakerSettings {
                failures_to_open: 5,
                cool_down: Duration::from_secs(60)
            })
        );
        assert!(
            BreakerSettings::from_vars(vars(&[(COOL_DOWN_VAR, "soon")]))
                .unwrap_err()
                .contains(COOL_DOWN_VAR)
        );
    }
}
