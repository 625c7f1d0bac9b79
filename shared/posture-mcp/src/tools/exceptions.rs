//! `list_exceptions`: the accepted risks of the reviewed exceptions file,
//! each judged against the evidence an answer stands on (the latest run by
//! default): in force, expiring soon, expired (its failures count again) or
//! stale (it covers no failure). Creating or changing an exception is a
//! reviewed change to the file, never a tool call.

use super::args::choice;
use super::call::{Cx, ToolOutput};
use super::posture::{Selection, posture_data};
use super::scope::{Freshness, Served, as_of_line};
use crate::error::ToolError;
use jiff::Timestamp;
use posture_core::exceptions::{ExceptionState, ExceptionsError};
use posture_core::posture::acceptance::{ExceptionReview, review};
use posture_core::posture::compliance;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// Tool name.
pub const LIST_EXCEPTIONS: &str = "list_exceptions";

choice! {
    /// Which exceptions to list.
    pub enum Which {
        All = "all",
        Active = "active",
        Expiring = "expiring",
        Expired = "expired",
        Stale = "stale",
    }
}

/// Arguments of `list_exceptions`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListExceptionsArgs {
    /// all, active (in force), expiring (in force, last day within expiring_within_days), expired, or stale (in force, covering no failure)
    #[serde(default = "Which::all")]
    pub state: Which,
    /// What counts as expiring soon, in days
    #[serde(default = "thirty")]
    #[schemars(range(min = 0, max = 366))]
    pub expiring_within_days: u32,
    /// latest_run (the default when a run has completed) or live: the evidence exceptions are judged against
    #[serde(default)]
    pub freshness: Option<Freshness>,
}

fn thirty() -> u32 {
    30
}

impl Which {
    fn all() -> Which {
        Which::All
    }
}

/// Counts by state.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct ExceptionCounts {
    /// In the file.
    pub total: usize,
    /// In force.
    pub active: usize,
    /// In force, last day within `expiring_within_days`.
    pub expiring: usize,
    /// Past their last day.
    pub expired: usize,
    /// In force, covering no failure.
    pub stale: usize,
    /// Not yet in force.
    pub pending: usize,
}

/// The answer of `list_exceptions`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ExceptionsList {
    /// The file read (`null`: none configured, set `POSTURE_EXCEPTIONS`).
    pub file: Option<String>,
    /// The file could not be used (no exception applies), with the place in it.
    pub file_error: Option<ExceptionsError>,
    /// The day the exceptions were judged on (the evidence's).
    pub judged_on: String,
    /// Counts over the whole file.
    pub counts: ExceptionCounts,
    /// The exceptions asked for, soonest last day first.
    pub exceptions: Vec<ExceptionReview>,
    /// How exceptions are added or changed.
    pub how_to_change: String,
}

/// Lists the accepted risks.
pub async fn list_exceptions(cx: &Cx<'_>, args: ListExceptionsArgs) -> Result<ToolOutput, ToolError> {
    let backend = cx.backend;
    let now = Timestamp::now();
    let selection = Selection {
        freshness: args.freshness,
        ..Selection::default()
    };
    let data = posture_data(backend, now, &selection).await?;
    let sources = data.sources();
    let outcomes: Vec<_> = compliance::outcomes(data.data.inventories())
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    let reviews = review(
        &sources.exceptions,
        &backend.frameworks,
        &outcomes,
        data.data.findings(),
    );
    let within = i32::try_from(args.expiring_within_days).unwrap_or(i32::MAX);
    let expiring = |r: &ExceptionReview| r.state == ExceptionState::Active && r.days_left.is_some_and(|d| d <= within);
    let counts = ExceptionCounts {
        total: reviews.len(),
        active: reviews.iter().filter(|r| r.state == ExceptionState::Active).count(),
        expiring: reviews.iter().filter(|r| expiring(r)).count(),
        expired: reviews.iter().filter(|r| r.state == ExceptionState::Expired).count(),
        stale: reviews.iter().filter(|r| r.stale).count(),
        pending: reviews.iter().filter(|r| r.state == ExceptionState::Pending).count(),
    };
    let mut exceptions: Vec<ExceptionReview> = reviews
        .into_iter()
        .filter(|r| match args.state {
            Which::All => true,
            Which::Active => r.state == ExceptionState::Active,
            Which::Expiring => expiring(r),
            Which::Expired => r.state == ExceptionState::Expired,
            Which::Stale => r.stale,
        })
        .collect();
    exceptions.sort_by(|a, b| {
        a.exception
            .expires
            .cmp(&b.exception.expires)
            .then(a.exception.id.cmp(&b.exception.id))
    });
    let list = ExceptionsList {
        file: backend.exceptions.source.clone(),
        file_error: backend.exceptions.error.clone(),
        judged_on: sources
            .exceptions
            .day()
            .map_or_else(String::new, |d| d.to_string()),
        counts,
        exceptions,
        how_to_change: "Exceptions are a reviewed file (POSTURE_EXCEPTIONS: a path locally, s3://<bucket>/<prefix>config/exceptions.json when deployed); change it through your review process. No tool writes it.".into(),
    };
    let text = render(&list, &as_of_line(&data.as_of));
    ToolOutput::new(
        &Served {
            answer: list,
            as_of: data.as_of,
        },
        text,
    )
}

fn render(list: &ExceptionsList, as_of: &str) -> String {
    let mut s = String::new();
    match (&list.file, &list.file_error) {
        (_, Some(e)) => {
            let _ = writeln!(s, "The exceptions file is not applied: {e}");
        }
        (None, None) => {
            let _ = writeln!(s, "No exceptions file is configured (POSTURE_EXCEPTIONS).");
        }
        (Some(file), None) => {
            let c = &list.counts;
            let _ = writeln!(
                s,
                "{file}, judged on {}: {} exception(s): {} active ({} expiring soon, {} stale), {} expired, {} pending",
                list.judged_on, c.total, c.active, c.expiring, c.stale, c.expired, c.pending
            );
        }
    }
    for r in &list.exceptions {
        let e = &r.exception;
        let _ = writeln!(
            s,
            "- {} {:?} {} — {} (owner {}, {} to {}), covers {} failure(s){}",
            e.id,
            r.state,
            e.control,
            e.reason,
            e.owner,
            e.created,
            e.expires,
            r.failures_covered,
            if r.flags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", r.flags.join("; "))
            }
        );
    }
    let _ = write!(s, "{as_of}");
    s
}
