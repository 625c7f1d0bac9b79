//! `analyze_security_findings`: threat analysis of the finding sources.

use super::args::{Threshold, default};
use super::call::{Cx, ToolOutput};
use crate::backend::Backend;
use crate::error::ToolError;
use posture_core::findings::analysis::{self, AnalysisRequest, FindingsAnalysis};
use posture_core::findings::attack;
use posture_core::sources::{FindingQuery, SourceBatch, SourceError};
use posture_core::time::TimeWindow;
use serde::Deserialize;
use std::fmt::Write;

/// `analyze_security_findings`.
pub const ANALYZE_SECURITY_FINDINGS: &str = "analyze_security_findings";

/// Findings listed in full in the text rendering.
const LISTED: usize = 10;

/// Arguments of `analyze_security_findings`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeArgs {
    /// Minimum severity level to include
    #[serde(default = "default::medium")]
    pub severity_threshold: Threshold,
    /// Number of days to look back for findings (by last update)
    #[serde(default = "thirty_days")]
    #[schemars(range(min = 1, max = 365))]
    pub time_range_days: u32,
    /// Whether to include remediation guidance
    #[serde(default = "default::yes")]
    pub include_remediation: bool,
    /// Maximum number of findings to analyze; the most severe and most recent are kept and coverage.truncated_at_max_findings says when more matched
    #[serde(default = "five_hundred")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_findings: u32,
}

fn thirty_days() -> u32 {
    30
}

fn five_hundred() -> u32 {
    500
}

/// Every finding source of `backend`, read concurrently, with its service name.
pub async fn fetch_all(backend: &Backend, query: &FindingQuery) -> Vec<(String, Result<SourceBatch, SourceError>)> {
    let fetches = backend.sources.iter().map(|source| {
        let source = source.clone();
        async move { (source.service().to_string(), source.fetch(query).await) }
    });
    futures::future::join_all(fetches).await
}

/// `analyze_security_findings`: read every source, merge, analyse.
pub async fn analyze_findings(cx: &Cx<'_>, args: AnalyzeArgs) -> Result<ToolOutput, ToolError> {
    let min_severity = args.severity_threshold.severity();
    let days = args.time_range_days;
    let include_remediation = args.include_remediation;
    let max_findings = args.max_findings as usize;
    let catalog = attack::catalog().map_err(|e| ToolError::engine(format!("ATT&CK mapping data unusable: {e}")))?;

    let now = jiff::Timestamp::now();
    let query = FindingQuery {
        window: TimeWindow::last_days(now, days),
        min_severity,
        max_findings,
    };
    let results = fetch_all(cx.backend, &query).await;
    let errors: Vec<_> = results.iter().filter_map(|(_, r)| r.as_ref().err().cloned()).collect();
    if !results.is_empty() && errors.len() == results.len() {
        return Err(ToolError::all_sources_failed(&errors));
    }
    let merged = analysis::merge(results, &query);
    let request = AnalysisRequest {
        query,
        days,
        include_remediation,
        analysis_id: format!("FA-{}", uuid::Uuid::new_v4()),
        now,
    };
    let result = analysis::analyze(merged, &request, catalog);
    let text = render(&result);
    ToolOutput::new(&result, text)
}

/// `analyze_security_findings`.
fn render(a: &FindingsAnalysis) -> String {
    let t = &a.threat_landscape;
    let mut s = String::new();
    let counts: Vec<String> = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
        .iter()
        .filter_map(|l| {
            t.severity_counts
                .get(*l)
                .map(|n| format!("{n} {}", l.to_ascii_lowercase()))
        })
        .collect();
    let _ = writeln!(
        s,
        "Findings analysis {} over {} days ({} to {}): {} findings ({}), {} open. Risk {}/100, trend {} ({} then {}).",
        a.analysis_id,
        a.time_range.days,
        a.time_range.start_date,
        a.time_range.end_date,
        t.total_threats,
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        },
        t.active_threats,
        t.risk_score,
        t.trend,
        t.trend_basis.first_half,
        t.trend_basis.second_half
    );
    if a.coverage.partial {
        let failed: Vec<String> = a
            .coverage
            .sources
            .iter()
            .filter(|x| x.status != "ok")
            .map(|x| {
                format!(
                    "{} ({})",
                    x.service,
                    x.error.as_ref().map(|e| e.message.as_str()).unwrap_or("failed")
                )
            })
            .collect();
        let _ = writeln!(s, "PARTIAL RESULT: could not read {}.", failed.join(", "));
    }
    if a.coverage.truncated_at_max_findings {
        let _ = writeln!(
            s,
            "More findings matched than max_findings; the most severe and most recent {} were analysed.",
            a.coverage.findings_analyzed
        );
    }
    if !a.attack_patterns.is_empty() {
        let _ = writeln!(s, "\nAttack patterns:");
        for p in &a.attack_patterns {
            let _ = writeln!(
                s,
                "- {} [{}] {} — confidence {:.2}, risk {}, {} findings; tactics: {}; resources: {}",
                p.pattern_id,
                p.severity,
                p.name,
                p.confidence_score,
                p.risk_score,
                p.related_findings_count,
                p.tactics.join(" → "),
                p.affected_resources.join(", ")
            );
        }
    }
    if !a.high_risk_findings.is_empty() {
        let _ = writeln!(
            s,
            "\nHigh-risk findings ({} in total, top {} here):",
            a.coverage.high_risk_findings_total,
            LISTED.min(a.high_risk_findings.len())
        );
        for f in a.high_risk_findings.iter().take(LISTED) {
            let _ = writeln!(
                s,
                "- [{}] {} ({}, {}, {})",
                f.severity,
                f.title,
                f.source_service,
                f.account_id,
                f.affected_resources.join(", ")
            );
        }
    }
    if let Some(plan) = &a.remediation_plan {
        for (label, list) in [
            ("Immediate", &plan.immediate_actions),
            ("Short term", &plan.short_term_actions),
            ("Long term", &plan.long_term_actions),
        ] {
            if !list.is_empty() {
                let _ = writeln!(s, "\n{label}:");
                for item in list {
                    let _ = writeln!(s, "- {item}");
                }
            }
        }
        let _ = writeln!(s, "\nEffort: {}", plan.estimated_effort);
    }
    s
}
