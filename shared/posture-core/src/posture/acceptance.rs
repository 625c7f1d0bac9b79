//! The accepted risks reviewed against the evidence: each exception's state
//! on the evidence's day, how many failures it covers, and the flags an
//! operator acts on (expired: its failures count again; stale: it covers no
//! failure, so its scope is wrong or the risk is gone). What `list_exceptions`
//! and every compliance answer show.

use crate::exceptions::{Acceptance, Exception, ExceptionState, FailedEvidence, Suppressed, account_and_resource};
use crate::finding::Finding;
use crate::posture::checks::{self, Outcome, Status};
use crate::posture::frameworks::{Framework, check_names, control_names};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// One exception as it stands against the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExceptionReview {
    /// The exception as the file gives it.
    #[serde(flatten)]
    pub exception: Exception,
    /// PENDING, ACTIVE or EXPIRED on the evidence's day.
    pub state: ExceptionState,
    /// Days left to its last day (0 on it); `null` once expired.
    pub days_left: Option<i32>,
    /// Failures it covers in the evidence (for an expired one: the failures
    /// that count again because it expired).
    pub failures_covered: usize,
    /// Active, yet it covers no failure: the risk is gone or the scope is wrong.
    pub stale: bool,
    /// What needs attention, in words (expired, stale, expiring soon).
    pub flags: Vec<String>,
}

/// Whether `exception` names a control these `frameworks` know of: a native
/// check, a Security Hub control, or one of their requirements. An
/// exception on another framework's requirement is not judged against them.
fn is_about(frameworks: &[Framework], exception: &Exception) -> bool {
    let control = exception.control.trim();
    let named = |name: String| name.eq_ignore_ascii_case(control);
    checks::find(control).is_some()
        || control.split_once('.').is_some_and(|(service, number)| {
            !service.is_empty() && !service.contains(' ') && number.chars().all(|c| c.is_ascii_digit())
        })
        || frameworks.iter().any(|fw| {
            fw.requirements
                .iter()
                .any(|r| named(format!("{} {}", fw.short_name, r.id)) || named(format!("{} {}", fw.id, r.id)))
        })
}

/// Every exception about `frameworks` reviewed against the failures of
/// `outcomes` (native checks, resources named `account/resource` as
/// `compliance::outcomes` names them) and `findings` (Security Hub control
/// findings), on the acceptance's day.
pub fn review(
    acceptance: &Acceptance,
    frameworks: &[Framework],
    outcomes: &[Outcome],
    findings: &[Finding],
) -> Vec<ExceptionReview> {
    let Some(day) = acceptance.day() else {
        return Vec::new();
    };
    let relevant: Vec<&Exception> = acceptance
        .exceptions()
        .iter()
        .filter(|e| is_about(frameworks, e))
        .collect();
    if relevant.is_empty() {
        return Vec::new();
    }
    let mut covered = vec![0usize; relevant.len()];
    let mut count = |names: &[String], account: &str, region: &str, resources: &[&str]| {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let failed = FailedEvidence {
            controls: &names,
            account_id: account,
            region,
            resources,
        };
        for (n, e) in covered.iter_mut().zip(&relevant) {
            if acceptance.covers(e, &failed) {
                *n += 1;
            }
        }
    };
    for o in outcomes.iter().filter(|o| o.status == Status::Fail) {
        let (account, resource) = account_and_resource(&o.resource, None);
        let region = o.region.as_deref().unwrap_or_default();
        count(&check_names(frameworks, &o.check_id), account, region, &[resource]);
    }
    for f in findings.iter().filter(|f| f.is_live()) {
        let Some(control) = failed_control(f) else { continue };
        let resources = f.resource_names();
        let resources: Vec<&str> = resources.iter().map(String::as_str).collect();
        count(
            &control_names(frameworks, control),
            &f.account_id,
            &f.region,
            &resources,
        );
    }
    relevant
        .into_iter()
        .zip(covered)
        .map(|(e, failures_covered)| {
            let state = e.state(day);
            let days_left = e.days_left(day);
            let stale = state == ExceptionState::Active && failures_covered == 0;
            let mut flags = Vec::new();
            match state {
                ExceptionState::Expired => flags.push(format!(
                    "expired on {}: the {failures_covered} failure(s) it covered count again; renew it by a reviewed change or fix them",
                    e.expires
                )),
                ExceptionState::Pending => flags.push(format!("not in force until {}", e.created)),
                ExceptionState::Active => {}
            }
            if stale {
                flags.push(
                    "stale: covers no current failure; the risk is gone or the scope is wrong: remove or correct it"
                        .into(),
                );
            }
            if let Some(left) = days_left.filter(|d| state == ExceptionState::Active && *d <= EXPIRING_SOON_DAYS) {
                flags.push(format!("expires in {left} day(s)"));
            }
            ExceptionReview {
                exception: e.clone(),
                state,
                days_left,
                failures_covered,
                stale,
                flags,
            }
        })
        .collect()
}

/// An active exception this close to its last day is flagged in answers.
pub const EXPIRING_SOON_DAYS: i32 = 30;

/// A failure set aside from findings lists and recommendations because an
/// exception in force accepts it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AcceptedRisk {
    /// The native check or Security Hub control that fails.
    pub control: String,
    /// The account.
    pub account_id: String,
    /// The Region, for a regional resource.
    pub region: Option<String>,
    /// The resource and the exception that accepts its failure.
    #[serde(flatten)]
    pub suppressed: Suppressed,
}

/// The exception in force that accepts outcome `o` when it fails (by its
/// check, its Security Hub control, or a requirement of `frameworks` it
/// decides); `account` as for [`set_aside`].
pub fn covering_outcome<'a>(
    acceptance: &'a Acceptance,
    frameworks: &[Framework],
    account: Option<&str>,
    o: &Outcome,
) -> Option<&'a Exception> {
    if o.status != Status::Fail || acceptance.is_empty() {
        return None;
    }
    let names = check_names(frameworks, &o.check_id);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (account_id, resource) = account_and_resource(&o.resource, account);
    acceptance.covering(&FailedEvidence {
        controls: &names,
        account_id,
        region: o.region.as_deref().unwrap_or_default(),
        resources: &[resource],
    })
}

/// The Security Hub control a control finding says FAILED (or WARNING).
fn failed_control(f: &Finding) -> Option<&String> {
    let c = f.compliance.as_ref()?;
    matches!(c.status.as_deref(), Some("FAILED" | "WARNING"))
        .then_some(c.control_id.as_ref())
        .flatten()
}

/// `outcomes` and `findings` without the failures an exception in force
/// accepts (by check, Security Hub control, or a requirement of
/// `frameworks` that the failure decides), and those failures: what is not
/// to be listed or recommended again. `account` is the account of every
/// outcome, or `None` when their resources are named `account/resource`.
pub fn set_aside<'f>(
    acceptance: &Acceptance,
    frameworks: &[Framework],
    outcomes: Vec<Outcome>,
    findings: &'f [Finding],
    account: Option<&str>,
) -> (Vec<Outcome>, Cow<'f, [Finding]>, Vec<AcceptedRisk>) {
    if acceptance.is_empty() {
        return (outcomes, Cow::Borrowed(findings), Vec::new());
    }
    let mut accepted = Vec::new();
    let outcomes = outcomes
        .into_iter()
        .filter(|o| match covering_outcome(acceptance, frameworks, account, o) {
            Some(e) => {
                accepted.push(AcceptedRisk {
                    control: o.check_id.clone(),
                    account_id: account_and_resource(&o.resource, account).0.to_string(),
                    region: o.region.clone(),
                    suppressed: Suppressed::new(o.resource.clone(), e),
                });
                false
            }
            None => true,
        })
        .collect();
    let findings: Vec<Finding> = findings
        .iter()
        .filter(|f| {
            let Some(control) = failed_control(f) else { return true };
            let names = control_names(frameworks, control);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let resources = f.resource_names();
            let resource_names: Vec<&str> = resources.iter().map(String::as_str).collect();
            let covering = acceptance.covering(&FailedEvidence {
                controls: &names,
                account_id: &f.account_id,
                region: &f.region,
                resources: &resource_names,
            });
            match covering {
                Some(e) => {
                    accepted.extend(resources.iter().map(|r| AcceptedRisk {
                        control: control.clone(),
                        account_id: f.account_id.clone(),
                        region: Some(f.region.clone()),
                        suppressed: Suppressed::new(r.clone(), e),
                    }));
                    false
                }
                None => true,
            }
        })
        .cloned()
        .collect();
    accepted.sort();
    accepted.dedup();
    (outcomes, Cow::Owned(findings), accepted)
}
