//! The report page: header, gaps, tables and the place of each chart.

use super::svg::{framework_chart, framework_colours, severity_chart, trend_chart, worst_accounts_chart};
use super::text::*;
use crate::org::run::{AccountOutcome, RunReport};
use crate::org::snapshot::{AccountSnapshot, OrgSummary};
use crate::posture::checks;
use crate::report::executive::{CHECKS_SHOWN_PER_ACCOUNT, WORST_ACCOUNTS_SHOWN};
use crate::report::format::score_text;
use std::fmt::{self, Write};

const STYLE: &str = "\
:root{color-scheme:light}\
*{box-sizing:border-box}\
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937;background:#f3f4f6}\
main{max-width:1120px;margin:0 auto;padding:24px}\
h1{font-size:22px;margin:0 0 2px}\
h2{font-size:17px;margin:0 0 12px}\
h3{font-size:15px;margin:20px 0 6px}\
header,section,figure{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px 20px;margin:0 0 16px}\
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:10px 16px;margin:14px 0 0}\
.facts dt{font-size:11px;color:#6b7280;text-transform:uppercase;letter-spacing:.04em}\
.facts dd{margin:0;font-size:17px;font-weight:600}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px;margin:0 0 16px}\
.charts figure{margin:0}\
.charts .wide{grid-column:1/-1}\
figcaption{font-weight:600;font-size:15px;margin:0 0 8px}\
svg.chart{display:block;width:100%;height:auto;overflow:visible}\
svg.chart text{font-size:12px;fill:#374151}\
svg.chart .grid{stroke:#e5e7eb;stroke-width:1}\
svg.chart .series{fill:none;stroke-width:2}\
svg.chart text.note{fill:#6b7280;font-style:italic}\
table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}\
th{font-size:11px;color:#6b7280;text-transform:uppercase;letter-spacing:.04em}\
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
.nowrap{white-space:nowrap}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;background:#f3f4f6;padding:1px 4px;border-radius:4px}\
.sev{display:inline-block;min-width:92px;text-align:center;padding:1px 6px;border-radius:4px;font-size:11px;font-weight:700;color:#fff}\
.sev-CRITICAL{background:#7f1d1d}.sev-HIGH{background:#c2410c}.sev-MEDIUM{background:#a16207}\
.sev-LOW{background:#1d4ed8}.sev-INFORMATIONAL{background:#4b5563}\
.note{color:#6b7280;font-size:13px;margin:8px 0 0}\
.notice{border-left:4px solid #b45309}\
.muted{color:#6b7280}\
";

/// HTML report of one run. A run without a summary (failed, or still
/// running) gets a page that says so, with its accounts and gaps.
pub fn html(report: &RunReport) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = page(&mut out, report);
    out
}

fn page(out: &mut String, report: &RunReport) -> fmt::Result {
    let run = &report.run;
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(out, "<title>Security posture: run {}</title>", Esc(&run.run_id))?;
    writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<main>")?;
    header(out, report)?;
    gap_accounts(out, report)?;
    match &run.summary {
        None => {
            writeln!(
                out,
                "<section class=\"notice\" id=\"no-summary\">\n<h2>No summary for this run</h2>"
            )?;
            write!(
                out,
                "<p>This run is {} and has no org summary, so there are no scores or charts.",
                state_label(run.state)
            )?;
            if let Some(error) = &run.error {
                write!(out, " It stopped with: <code>{}</code>", Esc(error))?;
            }
            writeln!(out, "</p>\n</section>")?;
        }
        Some(org) => {
            let colours = framework_colours(org, report);
            writeln!(out, "<div class=\"charts\">")?;
            framework_chart(out, org, &colours)?;
            severity_chart(out, org)?;
            trend_chart(out, report, &colours)?;
            worst_accounts_chart(out, org, report)?;
            writeln!(out, "</div>")?;
            framework_table(out, org)?;
            worst_accounts_table(out, org, report)?;
            failed_checks(out, report)?;
            data_gaps(out, report)?;
        }
    }
    writeln!(out, "</main>\n</body>\n</html>")
}

fn header(out: &mut String, report: &RunReport) -> fmt::Result {
    let run = &report.run;
    let count = |o: AccountOutcome| run.accounts.iter().filter(|a| a.outcome == o).count();
    writeln!(out, "<header>\n<h1>Security posture</h1>")?;
    writeln!(
        out,
        "<div class=\"muted\">Run <code id=\"run-id\">{}</code> · {} · attempt {}</div>",
        Esc(&run.run_id),
        Esc(run.trigger.as_str()),
        run.attempt
    )?;
    writeln!(out, "<dl class=\"facts\">")?;
    let mut fact = |label: &str, id: &str, value: &str| {
        writeln!(
            out,
            "<div><dt>{label}</dt><dd id=\"fact-{id}\">{}</dd></div>",
            Esc(value)
        )
    };
    fact("Started", "started", &short_time(run.started_at))?;
    if let Some(finished) = run.finished_at {
        fact("Finished", "finished", &short_time(finished))?;
    }
    fact("State", "state", state_label(run.state))?;
    fact("Accounts in scope", "in-scope", &run.accounts.len().to_string())?;
    fact("Assessed", "assessed", &count(AccountOutcome::Assessed).to_string())?;
    fact("Not assessed (gaps)", "gaps", &count(AccountOutcome::Gap).to_string())?;
    let pending = count(AccountOutcome::Pending);
    if pending > 0 {
        fact("Pending", "pending", &pending.to_string())?;
    }
    if let Some(org) = &run.summary {
        fact("Failing check outcomes", "failures", &org.failures.to_string())?;
        let open: usize = org.open_findings.values().sum();
        fact("Open findings", "open-findings", &open.to_string())?;
    }
    writeln!(out, "</dl>\n</header>")
}

/// Accounts the run could not enter, with the reason: the report does not
/// speak for them.
fn gap_accounts(out: &mut String, report: &RunReport) -> fmt::Result {
    let gaps: Vec<_> = report
        .run
        .accounts
        .iter()
        .filter(|a| a.outcome == AccountOutcome::Gap)
        .collect();
    if gaps.is_empty() {
        return Ok(());
    }
    writeln!(out, "<section id=\"gap-accounts\">\n<h2>Accounts not assessed</h2>")?;
    writeln!(
        out,
        "<p class=\"note\">These accounts could not be collected; no score below covers them.</p>"
    )?;
    writeln!(
        out,
        "<table>\n<thead><tr><th>account</th><th>name</th><th>reason</th></tr></thead>\n<tbody>"
    )?;
    for a in gaps {
        writeln!(
            out,
            "<tr><td class=\"nowrap\"><code>{}</code></td><td class=\"nowrap\">{}</td><td>{}</td></tr>",
            Esc(&a.account_id),
            Esc(&a.name),
            Esc(a.gap.as_deref().unwrap_or("no reason recorded"))
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</section>")
}

fn framework_table(out: &mut String, org: &OrgSummary) -> fmt::Result {
    writeln!(
        out,
        "<section id=\"framework-scores\">\n<h2>Compliance by framework</h2>"
    )?;
    writeln!(
        out,
        "<table>\n<thead><tr><th>framework</th><th class=\"num\">score</th><th class=\"num\">passed</th>\
         <th class=\"num\">failed</th><th class=\"num\">unknown</th><th class=\"num\">fully compliant accounts</th></tr></thead>\n<tbody>"
    )?;
    for (name, f) in &org.frameworks {
        writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{} of {}</td></tr>",
            Esc(name),
            score_text(f.score),
            f.passed,
            f.failed,
            f.unknown,
            f.fully_compliant_accounts,
            org.accounts
        )?;
    }
    writeln!(out, "</tbody>\n</table>")?;
    writeln!(
        out,
        "<p class=\"note\">Score: passed ÷ (passed + failed) requirements, pooled over the assessed accounts. \
         Unknown requirements need data the run could not collect.</p>\n</section>"
    )
}

fn worst_accounts_table(out: &mut String, org: &OrgSummary, report: &RunReport) -> fmt::Result {
    writeln!(out, "<section id=\"worst-accounts\">\n<h2>Worst accounts</h2>")?;
    write!(out, "<table>\n<thead><tr><th>account</th><th>name</th>")?;
    for name in org.frameworks.keys() {
        write!(out, "<th class=\"num\">{} score</th>", Esc(name))?;
    }
    writeln!(out, "<th class=\"num\">failing outcomes</th></tr></thead>\n<tbody>")?;
    for a in org.worst_accounts.iter().take(WORST_ACCOUNTS_SHOWN) {
        write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td>",
            Esc(&a.account_id),
            Esc(account_name(report, &a.account_id).unwrap_or(""))
        )?;
        for name in org.frameworks.keys() {
            write!(
                out,
                "<td class=\"num\">{}</td>",
                score_text(a.scores.get(name).copied().flatten())
            )?;
        }
        writeln!(out, "<td class=\"num\">{}</td></tr>", a.failures)?;
    }
    writeln!(out, "</tbody>\n</table>")?;
    if org.worst_accounts.len() > WORST_ACCOUNTS_SHOWN {
        writeln!(
            out,
            "<p class=\"note\">{} more accounts in the JSON report.</p>",
            org.worst_accounts.len() - WORST_ACCOUNTS_SHOWN
        )?;
    }
    writeln!(out, "</section>")
}

/// Per account its failed checks, most severe first, then most failing
/// resources (the Markdown report's order and cap).
fn failed_checks(out: &mut String, report: &RunReport) -> fmt::Result {
    writeln!(out, "<section id=\"failed-checks\">\n<h2>Failed checks by account</h2>")?;
    if report.snapshots.is_empty() {
        writeln!(out, "<p class=\"muted\">No account was assessed.</p>")?;
    }
    for s in &report.snapshots {
        account_heading(out, report, s)?;
        let rows = crate::report::executive::failed_checks_ranked(s);
        if rows.is_empty() {
            writeln!(out, "<p>No native check fails.</p>")?;
            continue;
        }
        writeln!(
            out,
            "<table>\n<thead><tr><th>severity</th><th>check</th><th class=\"num\">failing resources</th></tr></thead>\n<tbody>"
        )?;
        for (severity, id, n) in rows.iter().take(CHECKS_SHOWN_PER_ACCOUNT) {
            let title = checks::find(id).map_or("", |c| c.title);
            writeln!(
                out,
                "<tr><td><span class=\"sev sev-{0}\">{0}</span></td><td><code>{1}</code> {2}</td><td class=\"num\">{n}</td></tr>",
                severity.label(),
                Esc(id),
                Esc(title)
            )?;
        }
        writeln!(out, "</tbody>\n</table>")?;
        if rows.len() > CHECKS_SHOWN_PER_ACCOUNT {
            writeln!(
                out,
                "<p class=\"note\">{} more failed checks in the JSON report.</p>",
                rows.len() - CHECKS_SHOWN_PER_ACCOUNT
            )?;
        }
    }
    writeln!(out, "</section>")
}

fn account_heading(out: &mut String, report: &RunReport, s: &AccountSnapshot) -> fmt::Result {
    write!(
        out,
        "<h3 id=\"account-{0}\">Account <code>{0}</code>",
        Esc(&s.account_id)
    )?;
    if let Some(name) = account_name(report, &s.account_id) {
        write!(out, " {}", Esc(name))?;
    }
    writeln!(
        out,
        " <span class=\"muted\">· inventory collected {}</span></h3>",
        Esc(&short_time(s.taken_at))
    )
}

/// Inventory sections each assessed account could not read: the
/// requirements that need them are UNKNOWN.
fn data_gaps(out: &mut String, report: &RunReport) -> fmt::Result {
    writeln!(out, "<section id=\"data-gaps\">\n<h2>Data gaps</h2>")?;
    let rows: Vec<(&AccountSnapshot, &String)> = report
        .snapshots
        .iter()
        .flat_map(|s| s.gaps.iter().map(move |g| (s, g)))
        .collect();
    if rows.is_empty() {
        writeln!(
            out,
            "<p>Every inventory section and finding source of the assessed accounts was read.</p>"
        )?;
        return writeln!(out, "</section>");
    }
    writeln!(
        out,
        "<p class=\"note\">Inventory sections and finding sources not (fully) read; requirements that need them are UNKNOWN.</p>"
    )?;
    writeln!(
        out,
        "<table>\n<thead><tr><th>account</th><th>name</th><th>not collected</th></tr></thead>\n<tbody>"
    )?;
    for (s, gap) in rows {
        writeln!(
            out,
            "<tr><td class=\"nowrap\"><code>{}</code></td><td class=\"nowrap\">{}</td><td>{}</td></tr>",
            Esc(&s.account_id),
            Esc(account_name(report, &s.account_id).unwrap_or("")),
            Esc(gap)
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</section>")
}
