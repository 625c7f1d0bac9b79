//! Severity labels and the conversions between AWS's scales.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A finding's severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// Security Hub `INFORMATIONAL` (no issue, or a passed check).
    Informational,
    /// `LOW`.
    Low,
    /// `MEDIUM`.
    Medium,
    /// `HIGH`.
    High,
    /// `CRITICAL`.
    Critical,
}

/// The labels a caller may give as a minimum severity (seed 000).
pub const THRESHOLD_LABELS: [&str; 4] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

impl Severity {
    /// The Security Hub label (`SeverityLabel`).
    pub fn label(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// Parses a threshold as accepted by the tools: only `LOW`, `MEDIUM`,
    /// `HIGH` or `CRITICAL`, exactly as the seed lists them.
    pub fn parse_threshold(label: &str) -> Option<Severity> {
        match label {
            "LOW" => Some(Severity::Low),
            "MEDIUM" => Some(Severity::Medium),
            "HIGH" => Some(Severity::High),
            "CRITICAL" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// Maps a GuardDuty numeric severity to its band, as GuardDuty documents
    /// it: 1.0–3.9 LOW, 4.0–6.9 MEDIUM, 7.0–8.9 HIGH, 9.0–10.0 CRITICAL.
    pub fn from_guardduty(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score >= 1.0 {
            Severity::Low
        } else {
            Severity::Informational
        }
    }

    /// The lowest GuardDuty score that falls in this band (for server-side
    /// `FindingCriteria` filters).
    pub fn guardduty_floor(self) -> f64 {
        match self {
            Severity::Informational => 0.0,
            Severity::Low => 1.0,
            Severity::Medium => 4.0,
            Severity::High => 7.0,
            Severity::Critical => 9.0,
        }
    }

    /// Maps a Security Hub normalized score (0–100) to its label, using the
    /// ranges of the ASFF documentation.
    pub fn from_normalized(score: f64) -> Severity {
        if score >= 90.0 {
            Severity::Critical
        } else if score >= 70.0 {
            Severity::High
        } else if score >= 40.0 {
            Severity::Medium
        } else if score >= 1.0 {
            Severity::Low
        } else {
            Severity::Informational
        }
    }

    /// A representative 0–100 score for a label, used when a source gives only
    /// the label (values from the ASFF label-to-normalized table).
    pub fn default_score(self) -> f64 {
        match self {
            Severity::Informational => 0.0,
            Severity::Low => 30.0,
            Severity::Medium => 60.0,
            Severity::High => 80.0,
            Severity::Critical => 95.0,
        }
    }

    /// Every severity at or above `self`, most severe first.
    pub fn at_or_above(self) -> Vec<Severity> {
        [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Informational,
        ]
        .into_iter()
        .filter(|s| *s >= self)
        .collect()
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "INFORMATIONAL" => Ok(Severity::Informational),
            "LOW" => Ok(Severity::Low),
            "MEDIUM" => Ok(Severity::Medium),
            "HIGH" => Ok(Severity::High),
            "CRITICAL" => Ok(Severity::Critical),
            other => Err(format!("unknown severity label {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guardduty_bands_match_the_documented_ranges() {
        assert_eq!(Severity::from_guardduty(3.9), Severity::Low);
        assert_eq!(Severity::from_guardduty(4.0), Severity::Medium);
        assert_eq!(Severity::from_guardduty(6.9), Severity::Medium);
        assert_eq!(Severity::from_guardduty(7.0), Severity::High);
        assert_eq!(Severity::from_guardduty(8.9), Severity::High);
        assert_eq!(Severity::from_guardduty(9.0), Severity::Critical);
        for s in [Severity::Low, Severity::Medium, Severity::High, Severity::Critical] {
            assert_eq!(Severity::from_guardduty(s.guardduty_floor()), s);
        }
    }

    #[test]
    fn thresholds_accept_only_the_seed_labels() {
        assert_eq!(Severity::parse_threshold("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse_threshold("URGENT"), None);
        assert_eq!(Severity::parse_threshold("high"), None);
        assert_eq!(Severity::parse_threshold("INFORMATIONAL"), None);
        assert_eq!(Severity::High.at_or_above(), vec![Severity::Critical, Severity::High]);
    }

    #[test]
    fn normalized_scores_map_to_labels() {
        assert_eq!(Severity::from_normalized(0.0), Severity::Informational);
        assert_eq!(Severity::from_normalized(39.0), Severity::Low);
        assert_eq!(Severity::from_normalized(40.0), Severity::Medium);
        assert_eq!(Severity::from_normalized(70.0), Severity::High);
        assert_eq!(Severity::from_normalized(90.0), Severity::Critical);
    }
}
