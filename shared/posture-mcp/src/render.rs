//! Text renderings of tool results: a summary a person (or an assistant with
//! no structured-content support) can read; the structured content carries
//! everything.

use crate::tools::{HealthReport, ServerInfoReport};
use posture_core::analysis::FindingsAnalysis;
use std::fmt::Write;

const LISTED: usize = 10;

/// `health_check`.
pub fn health(r: &HealthReport) -> String {
    let mut s = format!(
        "{} {} is {} (region {}, {} data, read-only)\n",
        r.server_name, r.version, r.status, r.configuration.aws_region, r.configuration.data_source
    );
    for d in &r.dependencies {
        let _ = writeln!(s, "- {}: {} — {}", d.name, d.status, d.detail);
    }
    s
}

/// `get_server_info`.
pub fn server_info(r: &ServerInfoReport) -> String {
    let mut s = format!(
        "{} {} (MCP protocol revisions: {})\ntools: {}\n",
        r.server.name,
        r.server.version,
        r.server.supported_protocol_versions.join(", "),
        r.tools.join(", ")
    );
    for (name, c) in &r.capabilities {
        let _ = writeln!(
            s,
            "- {name}: {}",
            if c.available { "available" } else { "not available" }
        );
    }
    for (name, e) in &r.intelligence_engines {
        let _ = writeln!(s, "- engine {name}: {} ({})", e.status, e.detail);
    }
    s
}

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

/// `analyze_security_findings`.
pub fn analysis(a: &FindingsAnalysis) -> String {
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
