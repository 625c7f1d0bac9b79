//! Text helpers of the HTML report: escaping, number and time formats.

use crate::org::run::{RunReport, RunState};
use crate::org::snapshot::OrgSummary;
use crate::severity::Severity;
use std::fmt;

/// Severities as the report lists them, most severe first.
pub(super) const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Informational,
];

/// Escapes text for HTML content and double- or single-quoted attributes.
pub(super) struct Esc<'a>(pub(super) &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// A score for a `data-*` attribute: the shortest text that parses back to
/// the same f64 (as `report.json` has it), empty when unscored.
pub(super) fn exact(score: Option<f64>) -> String {
    score.map_or_else(String::new, |v| format!("{v}"))
}

pub(super) fn state_label(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "QUEUED",
        RunState::Running => "RUNNING",
        RunState::Complete => "COMPLETE",
        RunState::Failed => "FAILED",
    }
}

/// An instant to the minute, in UTC: `2026-11-26 06:00`.
pub(super) fn short_time(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M").to_string()
}

pub(super) fn truncate(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(chars.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The framework that ranks accounts, as [`crate::org::snapshot::org_summary`]
/// picks it: CIS if present, else the first.
pub(super) fn ranking_framework(org: &OrgSummary) -> Option<&str> {
    if org.frameworks.contains_key("CIS") {
        Some("CIS")
    } else {
        org.frameworks.keys().next().map(String::as_str)
    }
}

pub(super) fn account_name<'a>(report: &'a RunReport, account_id: &str) -> Option<&'a str> {
    report
        .run
        .accounts
        .iter()
        .find(|a| a.account_id == account_id)
        .map(|a| a.name.as_str())
}
