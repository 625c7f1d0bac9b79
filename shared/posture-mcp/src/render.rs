//! Text renderings of tool results: a summary a person (or an assistant with
//! no structured-content support) can read; the structured content carries
//! everything.

use std::fmt::Write;

const LISTED: usize = 10;

/// `validate_security_controls`.
pub fn validation(r: &crate::tools::ValidationReport) -> String {
    let mut s = format!("Validated {} control(s) over {}:\n", r.controls.len(), r.target);
    for c in &r.controls {
        let _ = writeln!(
            s,
            "- {} ({}): {:?}{}{}",
            c.control_id,
            c.resolved_as,
            c.result.status,
            if c.result.failing_resources.is_empty() {
                String::new()
            } else {
                format!(", failing: {}", c.result.failing_resources.join(", "))
            },
            if c.result.conflict { " — sources disagree" } else { "" }
        );
    }
    s
}

/// `assess_security_posture`.
pub fn assessment(r: &posture_core::assessment::Assessment) -> String {
    let mut s = format!(
        "Posture of {} {}: risk {}, score {}{}; {} finding(s) ({} critical, {} high, {} medium, {} low)\n",
        r.scope,
        r.target,
        r.risk_level,
        r.overall_score
            .map(|v| format!("{v:.1}"))
            .unwrap_or_else(|| "n/a".into()),
        if r.score_partial {
            " (partial: some requirements UNKNOWN)"
        } else {
            ""
        },
        r.total_findings,
        r.critical_findings,
        r.high_findings,
        r.medium_findings,
        r.low_findings
    );
    for (name, f) in &r.compliance_status {
        let _ = writeln!(
            s,
            "- {name}: {} ({} passed, {} failed, {} unknown of {})",
            f.status, f.passed_controls, f.failed_controls, f.unknown_controls, f.total_controls
        );
    }
    for t in r.top_findings.iter().take(LISTED) {
        let _ = writeln!(
            s,
            "- [{}] {} ({}, {} resource(s))",
            t.severity, t.title, t.source_service, t.resource_count
        );
    }
    s
}

/// `recommend_security_improvements`.
pub fn recommendations(r: &posture_core::recommendations::RecommendationsReport) -> String {
    let mut s = format!(
        "{} recommendation(s) by {} ({} listed; {}):\n",
        r.total_recommendations,
        r.priority_strategy,
        r.recommendations.len(),
        r.summary.estimated_total_effort
    );
    for rec in r.recommendations.iter().take(LISTED) {
        let _ = writeln!(
            s,
            "- [{}] {} (impact {}, {} complexity, {} resource(s))",
            rec.priority,
            rec.title,
            rec.impact_score,
            rec.implementation_complexity,
            rec.affected_resources.len()
        );
    }
    s
}

/// `check_compliance_status`.
pub fn compliance(r: &posture_core::compliance::ComplianceReport) -> String {
    let c = &r.counts;
    let mut s = format!(
        "{} ({}) over {} account(s): {} — score {}{} ({} passed, {} failed, {} not applicable, {} unknown, {} manual)\n",
        r.framework,
        r.framework_version,
        r.accounts.len(),
        r.compliance_status,
        r.overall_compliance_score
            .map(|v| format!("{v:.1}%"))
            .unwrap_or_else(|| "n/a".into()),
        if r.score_partial { ", partial" } else { "" },
        c.passed,
        c.failed,
        c.not_applicable,
        c.unknown,
        c.manual
    );
    if let Some(e) = &r.data_sources.inventory_error {
        let _ = writeln!(s, "Native checks could not run: {e}");
    }
    for (label, list) in [
        ("Immediate", &r.remediation_timeline.immediate),
        ("Short term", &r.remediation_timeline.short_term),
        ("Long term", &r.remediation_timeline.long_term),
    ] {
        if !list.is_empty() {
            let _ = writeln!(s, "\n{label}:");
            for item in list.iter().take(LISTED) {
                let _ = writeln!(s, "- {item}");
            }
            if list.len() > LISTED {
                let _ = writeln!(s, "- … and {} more (see compliance_gaps)", list.len() - LISTED);
            }
        }
    }
    s
}
