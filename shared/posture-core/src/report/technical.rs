//! The technical report of a run (Markdown): every failing resource of every
//! account, most severe first, and every gap.

use crate::org::run::RunReport;
use crate::posture::checks;
use crate::severity::Severity;
use std::fmt::Write;

/// Technical report (Markdown): every failing resource of every account,
/// most severe first, and every gap. Nothing is capped: this is a file.
pub fn technical_markdown(report: &RunReport) -> String {
    let mut out = String::new();
    let run = &report.run;
    let _ = writeln!(out, "# Technical findings: run {}\n", run.run_id);
    let _ = writeln!(
        out,
        "Started {}; {} account(s) in scope, {} assessed.\n",
        run.started_at,
        run.accounts.len(),
        report.snapshots.len()
    );
    for a in run.accounts.iter().filter(|a| a.gap.is_some()) {
        let _ = writeln!(
            out,
            "- Account {} ({}) not assessed: {}",
            a.account_id,
            a.name,
            a.gap.as_deref().unwrap_or("")
        );
    }
    for s in &report.snapshots {
        let _ = writeln!(out, "\n## Account {}\n", s.account_id);
        let mut failures: Vec<_> = s.failures.iter().collect();
        failures.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.check_id.cmp(&b.check_id)));
        if failures.is_empty() {
            let _ = writeln!(out, "No native check fails.");
        } else {
            let _ = writeln!(out, "| severity | check | resource | region |");
            let _ = writeln!(out, "| --- | --- | --- | --- |");
            for f in failures {
                let title = checks::find(&f.check_id).map_or("", |c| c.title);
                let _ = writeln!(
                    out,
                    "| {} | `{}` {title} | {} | {} |",
                    f.severity.label(),
                    f.check_id,
                    f.resource,
                    f.region.as_deref().unwrap_or("global")
                );
            }
        }
        let findings: usize = s.open_findings.values().sum();
        let by: Vec<String> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Informational,
        ]
        .iter()
        .map(|sev| format!("{} {}", sev.label(), s.open_findings.get(sev).copied().unwrap_or(0)))
        .collect();
        let _ = writeln!(out, "\nOpen findings: {findings} ({}).", by.join(", "));
        if !s.gaps.is_empty() {
            let _ = writeln!(out, "\nNot collected:\n");
            for g in &s.gaps {
                let _ = writeln!(out, "- {g}");
            }
        }
    }
    out
}
