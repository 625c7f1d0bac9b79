//! Operational metrics: counters that every part of the process adds to
//! (tool calls, AWS calls, runs, collections), read as totals by
//! `health_check` and written as CloudWatch Embedded Metric Format lines when
//! a sink is installed (in Lambda, by each function's main). No IO here: the
//! sink is a function the process installs once.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "PostureAdvisor";

/// Totals of one tool since the process started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ToolTotals {
    /// Calls answered.
    pub calls: u64,
    /// Of those, errors, by `error_type`.
    pub errors: BTreeMap<String, u64>,
    /// Summed latency (ms).
    pub latency_ms_total: u64,
    /// Slowest call (ms).
    pub latency_ms_max: u64,
    /// Answers that left something unread (sources or sections with gaps).
    pub partial_answers: u64,
}

/// Totals of one AWS service since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AwsTotals {
    /// Operations (one per SDK call, however many attempts it took).
    pub calls: u64,
    /// Attempts beyond the first (retries).
    pub retries: u64,
    /// Attempts answered with a throttling error.
    pub throttles: u64,
    /// Operations that failed after their retries.
    pub errors: u64,
    /// Operations skipped because the circuit of their scope was open.
    pub circuit_skips: u64,
    /// Times a circuit opened.
    pub circuit_opens: u64,
}

impl AwsTotals {
    /// Field by field, `self + other`.
    pub fn plus(self, other: AwsTotals) -> AwsTotals {
        self.zip(other, u64::saturating_add)
    }

    /// Field by field, `self - other` (what happened since `other`).
    pub fn minus(self, other: AwsTotals) -> AwsTotals {
        self.zip(other, u64::saturating_sub)
    }

    fn zip(self, o: AwsTotals, f: fn(u64, u64) -> u64) -> AwsTotals {
        AwsTotals {
            calls: f(self.calls, o.calls),
            retries: f(self.retries, o.retries),
            throttles: f(self.throttles, o.throttles),
            errors: f(self.errors, o.errors),
            circuit_skips: f(self.circuit_skips, o.circuit_skips),
            circuit_opens: f(self.circuit_opens, o.circuit_opens),
        }
    }
}

/// Totals of org-wide runs and account collections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RunTotals {
    /// Runs finished (completed or failed).
    pub runs: u64,
    /// Of those, failed.
    pub failed: u64,
    /// Accounts in finished runs.
    pub accounts: u64,
    /// Of those, not assessed (a gap).
    pub account_gaps: u64,
    /// Summed run duration (ms).
    pub duration_ms_total: u64,
    /// Accounts collected (the collector).
    pub collections: u64,
    /// Sections and sources left unread by those collections.
    pub collection_gaps: u64,
}

/// Everything counted since the process started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Totals {
    /// When counting started.
    pub since: Option<String>,
    /// Per tool.
    pub tools: BTreeMap<String, ToolTotals>,
    /// Per AWS service (SigV4 name, e.g. `ec2`).
    pub aws: BTreeMap<String, AwsTotals>,
    /// Runs and collections.
    pub runs: RunTotals,
}

/// Where EMF lines go.
pub type Sink = Box<dyn Fn(&str) + Send + Sync>;

struct Emitter {
    function: String,
    sink: Sink,
}

#[derive(Default)]
struct State {
    totals: Totals,
    /// AWS totals as last emitted, for the deltas of the next line.
    aws_emitted: BTreeMap<String, AwsTotals>,
}

/// The counters of one process.
pub struct Registry {
    state: Mutex<State>,
    emitter: OnceLock<Emitter>,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new()
    }
}

/// The process's registry.
pub fn global() -> &'static Registry {
    static GLOBAL: OnceLock<Registry> = OnceLock::new();
    GLOBAL.get_or_init(Registry::new)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One EMF line: `metrics` (name, unit, value) under the dimension sets
/// `dimension_sets` (every key a member of `properties`).
pub fn emf_line(
    at: Timestamp,
    properties: &[(&str, &str)],
    dimension_sets: &[&[&str]],
    metrics: &[(&str, &str, f64)],
) -> String {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.as_millisecond(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimension_sets,
                "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (key, value) in properties {
        line.insert((*key).to_string(), Value::String((*value).to_string()));
    }
    for (name, _, value) in metrics {
        line.insert((*name).to_string(), json!(value));
    }
    Value::Object(line).to_string()
}

impl Registry {
    /// Nothing counted, no sink.
    pub fn new() -> Registry {
        Registry {
            state: Mutex::new(State::default()),
            emitter: OnceLock::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Counters stay usable after a panic elsewhere.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts counting at `now` and, with a sink, writes EMF lines to it
    /// with dimension `Function = function`. Only the first call counts.
    pub fn install(&self, function: &str, now: Timestamp, sink: Option<Sink>) {
        let mut state = self.lock();
        if state.totals.since.is_none() {
            state.totals.since = Some(now.to_string());
        }
        if let Some(sink) = sink {
            let _ = self.emitter.set(Emitter {
                function: function.to_string(),
                sink,
            });
        }
    }

    fn emit(&self, line: impl FnOnce(&str) -> String) {
        if let Some(emitter) = self.emitter.get() {
            (emitter.sink)(&line(&emitter.function));
        }
    }

    /// One tool call answered: its latency, its error type if it failed,
    /// and whether the answer was partial.
    pub fn tool_call(&self, tool: &str, latency: Duration, error_type: Option<&str>, partial: bool, now: Timestamp) {
        {
            let mut state = self.lock();
            let totals = state.totals.tools.entry(tool.to_string()).or_default();
            totals.calls += 1;
            totals.latency_ms_total += millis(latency);
            totals.latency_ms_max = totals.latency_ms_max.max(millis(latency));
            totals.partial_answers += u64::from(partial);
            if let Some(kind) = error_type {
                *totals.errors.entry(kind.to_string()).or_default() += 1;
            }
        }
        self.emit(|function| {
            emf_line(
                now,
                &[
                    ("Function", function),
                    ("Tool", tool),
                    ("ErrorType", error_type.unwrap_or("none")),
                ],
                &[&["Function"], &["Function", "Tool"], &["Function", "ErrorType"]],
                &[
                    ("ToolCalls", "Count", 1.0),
                    ("ToolErrors", "Count", f64::from(u8::from(error_type.is_some()))),
                    ("Latency", "Milliseconds", latency.as_secs_f64() * 1000.0),
                    ("PartialAnswers", "Count", f64::from(u8::from(partial))),
                ],
            )
        });
        self.flush_aws(now);
    }

    /// One attempt of an AWS operation finished (retries are attempts after
    /// the first).
    pub fn aws_attempt(&self, service: &str, retry: bool, throttled: bool) {
        let mut state = self.lock();
        let totals = state.totals.aws.entry(service.to_string()).or_default();
        totals.retries += u64::from(retry);
        totals.throttles += u64::from(throttled);
    }

    /// One AWS operation finished, after all its attempts.
    pub fn aws_call(&self, service: &str, failed: bool) {
        let mut state = self.lock();
        let totals = state.totals.aws.entry(service.to_string()).or_default();
        totals.calls += 1;
        totals.errors += u64::from(failed);
    }

    /// An operation was skipped because its circuit was open.
    pub fn circuit_skip(&self, service: &str) {
        self.lock()
            .totals
            .aws
            .entry(service.to_string())
            .or_default()
            .circuit_skips += 1;
    }

    /// A circuit opened.
    pub fn circuit_open(&self, service: &str) {
        self.lock()
            .totals
            .aws
            .entry(service.to_string())
            .or_default()
            .circuit_opens += 1;
    }

    /// One org-wide run finished.
    pub fn run_finished(&self, duration: Duration, accounts: usize, account_gaps: usize, failed: bool, now: Timestamp) {
        {
            let mut state = self.lock();
            let runs = &mut state.totals.runs;
            runs.runs += 1;
            runs.failed += u64::from(failed);
            runs.accounts += accounts as u64;
            runs.account_gaps += account_gaps as u64;
            runs.duration_ms_total += millis(duration);
        }
        self.emit(|function| {
            emf_line(
                now,
                &[("Function", function)],
                &[&["Function"]],
                &[
                    ("Runs", "Count", 1.0),
                    ("RunsFailed", "Count", f64::from(u8::from(failed))),
                    ("RunDuration", "Seconds", duration.as_secs_f64()),
                    ("Accounts", "Count", accounts as f64),
                    ("AccountGaps", "Count", account_gaps as f64),
                ],
            )
        });
        self.flush_aws(now);
    }

    /// One account collected (by the collector) with `gaps` left unread.
    pub fn collection_finished(&self, duration: Duration, gaps: usize, now: Timestamp) {
        {
            let mut state = self.lock();
            state.totals.runs.collections += 1;
            state.totals.runs.collection_gaps += gaps as u64;
        }
        self.emit(|function| {
            emf_line(
                now,
                &[("Function", function)],
                &[&["Function"]],
                &[
                    ("Collections", "Count", 1.0),
                    ("CollectionDuration", "Seconds", duration.as_secs_f64()),
                    ("CollectionGaps", "Count", gaps as f64),
                ],
            )
        });
        self.flush_aws(now);
    }

    /// Writes one line per AWS service with what it did since the last
    /// line (nothing for a service that did nothing).
    pub fn flush_aws(&self, now: Timestamp) {
        let Some(emitter) = self.emitter.get() else {
            return;
        };
        let deltas: Vec<(String, AwsTotals)> = {
            let mut state = self.lock();
            let current = state.totals.aws.clone();
            let deltas = current
                .iter()
                .filter_map(|(service, totals)| {
                    let before = state.aws_emitted.get(service).copied().unwrap_or_default();
                    let delta = totals.minus(before);
                    (delta != AwsTotals::default()).then(|| (service.clone(), delta))
                })
                .collect();
            state.aws_emitted = current;
            deltas
        };
        for (service, d) in deltas {
            (emitter.sink)(&emf_line(
                now,
                &[("Function", &emitter.function), ("Service", &service)],
                &[&["Function"], &["Function", "Service"]],
                &[
                    ("AwsCalls", "Count", d.calls as f64),
                    ("AwsRetries", "Count", d.retries as f64),
                    ("AwsThrottles", "Count", d.throttles as f64),
                    ("AwsErrors", "Count", d.errors as f64),
                    ("CircuitSkips", "Count", d.circuit_skips as f64),
                    ("CircuitOpens", "Count", d.circuit_opens as f64),
                ],
            ));
        }
    }

    /// Everything counted so far.
    pub fn totals(&self) -> Totals {
        self.lock().totals.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn capture(registry: &Registry) -> Arc<Mutex<Vec<Value>>> {
        let lines: Arc<Mutex<Vec<Value>>> = Arc::default();
        let sink = lines.clone();
        registry.install(
            "mcp-server",
            Timestamp::UNIX_EPOCH,
            Some(Box::new(move |line: &str| {
                sink.lock().unwrap().push(serde_json::from_str(line).unwrap());
            })),
        );
        lines
    }

    /// Every EMF line is what CloudWatch accepts: each dimension key and
    /// each metric is a member of the line.
    fn assert_valid_emf(line: &Value) {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert!(line["_aws"]["Timestamp"].is_i64());
        for set in directive["Dimensions"].as_array().unwrap() {
            for key in set.as_array().unwrap() {
                assert!(line[key.as_str().unwrap()].is_string(), "{key} missing in {line}");
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(line[metric["Name"].as_str().unwrap()].is_number(), "{line}");
        }
    }

    #[test]
    fn tool_calls_are_totalled_and_emitted_with_the_aws_calls_they_made() {
        let registry = Registry::new();
        let lines = capture(&registry);
        registry.aws_attempt("ec2", false, false);
        registry.aws_attempt("ec2", true, true);
        registry.aws_call("ec2", false);
        registry.aws_attempt("kms", false, false);
        registry.aws_call("kms", true);
        registry.tool_call(
            "check_compliance_status",
            Duration::from_millis(120),
            None,
            true,
            Timestamp::UNIX_EPOCH,
        );
        registry.tool_call(
            "list_accounts",
            Duration::from_millis(5),
            Some("ValidationError"),
            false,
            Timestamp::UNIX_EPOCH,
        );

        let totals = registry.totals();
        let tool = &totals.tools["check_compliance_status"];
        assert_eq!((tool.calls, tool.latency_ms_max, tool.partial_answers), (1, 120, 1));
        assert_eq!(totals.tools["list_accounts"].errors["ValidationError"], 1);
        assert_eq!(
            totals.aws["ec2"],
            AwsTotals {
                calls: 1,
                retries: 1,
                throttles: 1,
                ..AwsTotals::default()
            }
        );
        assert_eq!(totals.aws["kms"].errors, 1);

        let lines = lines.lock().unwrap();
        lines.iter().for_each(assert_valid_emf);
        // The first call's line, then one line per service that did
        // something since, then the second call's line (no AWS since).
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0]["Tool"], "check_compliance_status");
        assert_eq!(lines[0]["ErrorType"], "none");
        assert_eq!(lines[0]["Latency"], 120.0);
        assert_eq!(
            (lines[1]["Service"].as_str(), lines[1]["AwsRetries"].as_f64()),
            (Some("ec2"), Some(1.0))
        );
        assert_eq!(
            (lines[2]["Service"].as_str(), lines[2]["AwsErrors"].as_f64()),
            (Some("kms"), Some(1.0))
        );
        assert_eq!(
            (lines[3]["ToolErrors"].as_f64(), lines[3]["ErrorType"].as_str()),
            (Some(1.0), Some("ValidationError"))
        );
    }

    #[test]
    fn runs_and_collections_are_emitted() {
        let registry = Registry::new();
        let lines = capture(&registry);
        registry.run_finished(Duration::from_secs(42), 3, 1, false, Timestamp::UNIX_EPOCH);
        registry.collection_finished(Duration::from_secs(7), 2, Timestamp::UNIX_EPOCH);
        let totals = registry.totals().runs;
        assert_eq!(
            (
                totals.runs,
                totals.accounts,
                totals.account_gaps,
                totals.collection_gaps
            ),
            (1, 3, 1, 2)
        );
        let lines = lines.lock().unwrap();
        lines.iter().for_each(assert_valid_emf);
        assert_eq!(lines[0]["RunDuration"], 42.0);
        assert_eq!(lines[1]["CollectionGaps"], 2.0);
    }

    #[test]
    fn without_a_sink_nothing_is_written_but_everything_counts() {
        let registry = Registry::new();
        registry.install("assessor", Timestamp::UNIX_EPOCH, None);
        registry.tool_call(
            "health_check",
            Duration::from_millis(1),
            None,
            false,
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(registry.totals().tools["health_check"].calls, 1);
        assert_eq!(registry.totals().since.as_deref(), Some("1970-01-01T00:00:00Z"));
    }
}
