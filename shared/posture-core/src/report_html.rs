//! The HTML report of a run: one self-contained page (inline CSS and SVG, no
//! scripts, fonts or fetched resources) so it opens from S3 or a mail
//! attachment as it is. It carries what the Markdown report carries, with the
//! same caps, plus four charts. Every chart mark has `data-*` attributes with
//! the exact numbers it draws, so a browser test can check the drawing
//! against `report.json`.

use crate::checks;
use crate::report::{CHECKS_SHOWN_PER_ACCOUNT, WORST_ACCOUNTS_SHOWN};
use crate::run::{AccountOutcome, RunReport, RunState};
use crate::severity::Severity;
use crate::snapshot::{AccountSnapshot, OrgSummary};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

/// Severities as the report lists them, most severe first.
const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Informational,
];

/// Framework colours, by the framework's place among all names in the report
/// (so one framework has one colour in every chart).
const PALETTE: [&str; 8] = [
    "#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#475569",
];

/// SVG widths in user units, about the CSS pixels they get on a 1280 px wide
/// screen, so text in the charts renders near its nominal size.
const NARROW: f64 = 480.0;
const WIDE: f64 = 1000.0;

/// Longest account name drawn in a chart label (the tables show it whole).
const CHART_NAME_CHARS: usize = 20;

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

/// Escapes text for HTML content and double- or single-quoted attributes.
struct Esc<'a>(&'a str);

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

/// A score as people read it: one decimal, or `n/a` (as the Markdown report).
fn shown(score: Option<f64>) -> String {
    score.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1}"))
}

/// A score for a `data-*` attribute: the shortest text that parses back to
/// the same f64 (as `report.json` has it), empty when unscored.
fn exact(score: Option<f64>) -> String {
    score.map_or_else(String::new, |v| format!("{v}"))
}

fn state_label(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "QUEUED",
        RunState::Running => "RUNNING",
        RunState::Complete => "COMPLETE",
        RunState::Failed => "FAILED",
    }
}

/// `2026-11-26T06:00:00Z` as `2026-11-26 06:00`; anything else unchanged.
fn short_time(at: &str) -> String {
    at.get(..16).map_or_else(|| at.to_string(), |s| s.replacen('T', " ", 1))
}

fn truncate(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(chars.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The framework that ranks accounts, as [`crate::snapshot::org_summary`]
/// picks it: CIS if present, else the first.
fn ranking_framework(org: &OrgSummary) -> Option<&str> {
    if org.frameworks.contains_key("CIS") {
        Some("CIS")
    } else {
        org.frameworks.keys().next().map(String::as_str)
    }
}

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

fn account_name<'a>(report: &'a RunReport, account_id: &str) -> Option<&'a str> {
    report
        .run
        .accounts
        .iter()
        .find(|a| a.account_id == account_id)
        .map(|a| a.name.as_str())
}

fn header(out: &mut String, report: &RunReport) -> fmt::Result {
    let run = &report.run;
    let count = |o: AccountOutcome| run.accounts.iter().filter(|a| a.outcome == o).count();
    writeln!(out, "<header>\n<h1>Security posture</h1>")?;
    writeln!(
        out,
        "<div class=\"muted\">Run <code id=\"run-id\">{}</code> · {} · attempt {}</div>",
        Esc(&run.run_id),
        Esc(&run.trigger),
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
    fact("Started", "started", &short_time(&run.started_at))?;
    if let Some(finished) = &run.finished_at {
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

fn framework_colours(org: &OrgSummary, report: &RunReport) -> BTreeMap<String, &'static str> {
    let names: BTreeSet<&String> = org
        .frameworks
        .keys()
        .chain(report.trend.iter().flat_map(|p| p.scores.keys()))
        .collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), PALETTE[i % PALETTE.len()]))
        .collect()
}

fn colour<'a>(colours: &BTreeMap<String, &'a str>, name: &str) -> &'a str {
    colours.get(name).copied().unwrap_or(PALETTE[0])
}

/// One bar of a horizontal bar chart.
struct Bar {
    /// Text left of the bar (raw; escaped when written).
    label: String,
    /// `data-*` attributes of the bar's rect, in order (raw values).
    data: Vec<(&'static str, String)>,
    /// Length in units of the chart's maximum; `None` draws no bar.
    value: Option<f64>,
    /// Text right of the bar.
    text: String,
    fill: &'static str,
}

const ROW: f64 = 30.0;

fn svg_open(out: &mut String, id: &str, title: &str, width: f64, height: f64, extra: &str) -> fmt::Result {
    writeln!(
        out,
        "<svg id=\"{id}\" class=\"chart\" role=\"img\" aria-labelledby=\"{id}-title\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\"{extra}>"
    )?;
    writeln!(out, "<title id=\"{id}-title\">{}</title>", Esc(title))
}

/// A horizontal bar chart.
struct BarChart<'a> {
    id: &'a str,
    title: &'a str,
    width: f64,
    /// Width of the label column left of the bars.
    label_width: f64,
    /// Room right of a full-length bar for its value text.
    text_width: f64,
    /// The value of a full-length bar.
    max: f64,
    /// More attributes of the `<svg>` element.
    extra: String,
}

fn bar_chart(out: &mut String, chart: &BarChart<'_>, bars: &[Bar]) -> fmt::Result {
    let BarChart {
        id,
        title,
        width,
        label_width,
        text_width,
        max,
        ..
    } = *chart;
    let height = ROW * bars.len().max(1) as f64 + 8.0;
    svg_open(out, id, title, width, height, &chart.extra)?;
    let span = width - label_width - text_width;
    if bars.is_empty() {
        writeln!(
            out,
            "<text class=\"note\" x=\"{:.1}\" y=\"20\">no data</text>",
            label_width
        )?;
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW;
        let length = bar.value.map_or(0.0, |v| {
            if max > 0.0 {
                (v / max).clamp(0.0, 1.0) * span
            } else {
                0.0
            }
        });
        writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_width - 8.0,
            y + ROW / 2.0 + 4.0,
            // About 7 px a character at 12 px: the label stays in its column.
            Esc(&truncate(&bar.label, (label_width / 7.0) as usize))
        )?;
        // Background track: shows the full scale, so a short bar reads as short.
        writeln!(
            out,
            "<rect x=\"{label_width:.1}\" y=\"{:.1}\" width=\"{span:.1}\" height=\"{:.1}\" fill=\"#f3f4f6\"/>",
            y + 6.0,
            ROW - 12.0
        )?;
        write!(out, "<rect class=\"bar\"")?;
        for (key, value) in &bar.data {
            write!(out, " data-{key}=\"{}\"", Esc(value))?;
        }
        writeln!(
            out,
            " x=\"{label_width:.1}\" y=\"{:.1}\" width=\"{length:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
            y + 6.0,
            ROW - 12.0,
            bar.fill,
            Esc(&bar.label),
            Esc(&bar.text)
        )?;
        writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            label_width + length + 6.0,
            y + ROW / 2.0 + 4.0,
            Esc(&bar.text)
        )?;
    }
    writeln!(out, "</svg>")
}

fn framework_chart(out: &mut String, org: &OrgSummary, colours: &BTreeMap<String, &'static str>) -> fmt::Result {
    let bars: Vec<Bar> = org
        .frameworks
        .iter()
        .map(|(name, f)| Bar {
            label: name.clone(),
            data: vec![("framework", name.clone()), ("score", exact(f.score))],
            value: f.score,
            text: shown(f.score),
            fill: colour(colours, name),
        })
        .collect();
    writeln!(
        out,
        "<figure>\n<figcaption>Compliance score by framework (%)</figcaption>"
    )?;
    let chart = BarChart {
        id: "chart-framework-scores",
        title: "Org-wide compliance score per framework, 0 to 100",
        width: NARROW,
        label_width: 90.0,
        text_width: 56.0,
        max: 100.0,
        extra: String::new(),
    };
    bar_chart(out, &chart, &bars)?;
    writeln!(out, "</figure>")
}

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#7f1d1d",
        Severity::High => "#c2410c",
        Severity::Medium => "#ca8a04",
        Severity::Low => "#2563eb",
        Severity::Informational => "#9ca3af",
    }
}

fn severity_chart(out: &mut String, org: &OrgSummary) -> fmt::Result {
    let count = |s: &Severity| org.open_findings.get(s).copied().unwrap_or(0);
    let max = SEVERITIES.iter().map(count).max().unwrap_or(0);
    let bars: Vec<Bar> = SEVERITIES
        .iter()
        .map(|s| Bar {
            label: s.label().to_string(),
            data: vec![("severity", s.label().to_string()), ("count", count(s).to_string())],
            value: Some(count(s) as f64),
            text: count(s).to_string(),
            fill: severity_colour(*s),
        })
        .collect();
    writeln!(out, "<figure>\n<figcaption>Open findings by severity</figcaption>")?;
    let chart = BarChart {
        id: "chart-severity",
        title: "Open findings per severity, all accounts",
        width: NARROW,
        label_width: 110.0,
        text_width: 56.0,
        max: max as f64,
        extra: String::new(),
    };
    bar_chart(out, &chart, &bars)?;
    writeln!(out, "</figure>")
}

fn trend_chart(out: &mut String, report: &RunReport, colours: &BTreeMap<String, &'static str>) -> fmt::Result {
    let points = &report.trend;
    let names: BTreeSet<&String> = points.iter().flat_map(|p| p.scores.keys()).collect();
    // Legend rows of five on top, time labels below.
    let per_row = 5;
    let legend_rows = names.len().div_ceil(per_row).max(1) as f64;
    let (left, right) = (48.0, WIDE - 24.0);
    let top = 16.0 + legend_rows * 20.0;
    let bottom = top + 200.0;
    // Time labels (about 100 px) lie flat while they fit between points.
    let step = (right - left - 48.0) / points.len().saturating_sub(1).max(1) as f64;
    let rotate = points.len() > 1 && step < 120.0;
    let height = bottom + if rotate { 96.0 } else { 36.0 };
    let x = |i: usize| {
        if points.len() < 2 {
            (left + right) / 2.0
        } else {
            left + 24.0 + i as f64 * (right - left - 48.0) / (points.len() - 1) as f64
        }
    };
    let y = |score: f64| bottom - score.clamp(0.0, 100.0) / 100.0 * (bottom - top);

    writeln!(
        out,
        "<figure class=\"wide\">\n<figcaption>Compliance score trend (%), oldest run first</figcaption>"
    )?;
    svg_open(
        out,
        "chart-trend",
        "Org-wide compliance score per framework over recent runs",
        WIDE,
        height,
        &format!(" data-runs=\"{}\"", points.len()),
    )?;
    for (k, name) in names.iter().enumerate() {
        let lx = left + (k % per_row) as f64 * 150.0;
        let ly = 16.0 + (k / per_row) as f64 * 20.0;
        writeln!(
            out,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"4\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            ly - 6.0,
            colour(colours, name),
            lx + 20.0,
            ly,
            Esc(&truncate(name, 18))
        )?;
    }
    for tick in [0.0, 25.0, 50.0, 75.0, 100.0] {
        writeln!(
            out,
            "<line class=\"grid\" x1=\"{left:.1}\" x2=\"{right:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{tick:.0}</text>",
            y(tick),
            y(tick),
            left - 8.0,
            y(tick) + 4.0
        )?;
    }
    for (i, p) in points.iter().enumerate() {
        let (tx, ty) = (x(i), bottom + 18.0);
        let place = if rotate {
            format!("text-anchor=\"end\" transform=\"rotate(-35 {tx:.1} {ty:.1})\"")
        } else {
            "text-anchor=\"middle\"".to_string()
        };
        writeln!(
            out,
            "<text x=\"{tx:.1}\" y=\"{ty:.1}\" {place}>{}</text>",
            Esc(&short_time(&p.started_at))
        )?;
    }
    if points.len() >= 2 {
        for name in &names {
            let line: Vec<String> = points
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    p.scores
                        .get(*name)
                        .copied()
                        .flatten()
                        .map(|s| format!("{:.1},{:.1}", x(i), y(s)))
                })
                .collect();
            writeln!(
                out,
                "<polyline class=\"series\" data-framework=\"{}\" points=\"{}\" stroke=\"{}\"/>",
                Esc(name),
                line.join(" "),
                colour(colours, name)
            )?;
        }
    }
    for name in &names {
        for (i, p) in points.iter().enumerate() {
            if let Some(score) = p.scores.get(*name).copied().flatten() {
                writeln!(
                    out,
                    "<circle class=\"point\" data-framework=\"{}\" data-run=\"{}\" data-score=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{}\"><title>{} {} in run {}</title></circle>",
                    Esc(name),
                    Esc(&p.run_id),
                    exact(Some(score)),
                    x(i),
                    y(score),
                    colour(colours, name),
                    Esc(name),
                    shown(Some(score)),
                    Esc(&p.run_id)
                )?;
            }
        }
    }
    if points.len() < 2 {
        writeln!(
            out,
            "<text class=\"note\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">trend needs two or more runs</text>",
            (left + right) / 2.0,
            top + 24.0
        )?;
    }
    writeln!(out, "</svg>\n</figure>")
}

fn worst_accounts_chart(out: &mut String, org: &OrgSummary, report: &RunReport) -> fmt::Result {
    let ranking = ranking_framework(org);
    let bars: Vec<Bar> = org
        .worst_accounts
        .iter()
        .take(WORST_ACCOUNTS_SHOWN)
        .map(|a| {
            let score = ranking.and_then(|r| a.scores.get(r).copied().flatten());
            let label = match account_name(report, &a.account_id) {
                Some(name) => format!("{} ({})", truncate(name, CHART_NAME_CHARS), a.account_id),
                None => a.account_id.clone(),
            };
            Bar {
                label,
                data: vec![
                    ("account", a.account_id.clone()),
                    ("score", exact(score)),
                    ("failures", a.failures.to_string()),
                ],
                value: score,
                text: format!("{} · {} failing", shown(score), a.failures),
                fill: "#b91c1c",
            }
        })
        .collect();
    let by = ranking.map_or_else(|| "no framework".to_string(), |r| format!("{r} score"));
    writeln!(
        out,
        "<figure class=\"wide\">\n<figcaption>Worst accounts by {} (%)</figcaption>",
        Esc(&by)
    )?;
    let title = format!("Accounts with the lowest {by}, with their failing check outcomes");
    let chart = BarChart {
        id: "chart-worst-accounts",
        title: &title,
        width: WIDE,
        label_width: 260.0,
        text_width: 150.0,
        max: 100.0,
        // How many accounts there are in all, so a test can tell the chart is capped.
        extra: format!(" data-total=\"{}\"", org.worst_accounts.len()),
    };
    bar_chart(out, &chart, &bars)?;
    if org.worst_accounts.len() > WORST_ACCOUNTS_SHOWN {
        writeln!(
            out,
            "<p class=\"note\" id=\"worst-accounts-more\">{} more accounts not shown (see the JSON report).</p>",
            org.worst_accounts.len() - WORST_ACCOUNTS_SHOWN
        )?;
    }
    writeln!(out, "</figure>")
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
            shown(f.score),
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
                shown(a.scores.get(name).copied().flatten())
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
        let rows = crate::report::failed_checks_ranked(s);
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
        Esc(&short_time(&s.taken_at))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoOrganization;
    use crate::run::{RUN_SCHEMA_VERSION, RunAccount, RunRecord, TrendPoint};
    use crate::snapshot::{org_summary, take};

    /// The demo organization as a complete run, with a fourth account that
    /// could not be entered, and two earlier runs in the trend.
    fn demo_report() -> RunReport {
        let now: jiff::Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
        let org = DemoOrganization::load(now).unwrap();
        let findings: Vec<_> = org
            .securityhub
            .iter()
            .filter_map(|f| f.normalize().ok())
            .chain(org.guardduty.iter().filter_map(|f| f.normalize().ok()))
            .collect();
        let frameworks = crate::frameworks::builtin().unwrap();
        let run_id = "20261126T060000Z-scheduled";
        let mut snaps: Vec<_> = org
            .inventories
            .iter()
            .map(|i| take(run_id, i, &findings, &[], &frameworks))
            .collect();
        snaps.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let summary = org_summary(run_id, &snaps);
        let mut accounts: Vec<RunAccount> = org
            .accounts
            .iter()
            .map(|a| RunAccount {
                account_id: a.account_id.clone(),
                name: a.name.clone(),
                status: "ACTIVE".to_string(),
                outcome: AccountOutcome::Assessed,
                gap: None,
            })
            .collect();
        accounts.push(RunAccount {
            account_id: "999999999999".to_string(),
            name: "legacy \"ops\" & <friends>".to_string(),
            status: "ACTIVE".to_string(),
            outcome: AccountOutcome::Gap,
            gap: Some("AccessDenied: <script>alert('x')</script>".to_string()),
        });
        let run = RunRecord {
            schema_version: RUN_SCHEMA_VERSION,
            run_id: run_id.to_string(),
            trigger: "schedule".to_string(),
            started_at: now.to_string(),
            deadline: "2026-11-26T07:00:00Z".to_string(),
            finished_at: Some("2026-11-26T06:03:12Z".to_string()),
            state: RunState::Complete,
            attempt: 1,
            accounts_done: accounts.len(),
            accounts,
            error: None,
            summary: Some(summary.clone()),
            reports: Vec::new(),
        };
        let current = TrendPoint::of(&run, &summary);
        let earlier = |run_id: &str, started_at: &str, shift: f64| TrendPoint {
            run_id: run_id.to_string(),
            started_at: started_at.to_string(),
            scores: current
                .scores
                .iter()
                .map(|(k, v)| (k.clone(), v.map(|s| ((s - shift).max(0.0) * 10.0).round() / 10.0)))
                .collect(),
            failures: current.failures + 3,
            open_findings: current.open_findings + 1,
        };
        let trend = vec![
            earlier("20261124T060000Z-scheduled", "2026-11-24T06:00:00Z", 12.5),
            earlier("20261125T060000Z-scheduled", "2026-11-25T06:00:00Z", 4.0),
            current,
        ];
        RunReport {
            schema_version: RUN_SCHEMA_VERSION,
            run,
            snapshots: snaps,
            trend,
        }
    }

    /// The value of `attr` on the first element with `marker` in its tag.
    fn attr<'a>(html: &'a str, marker: &str, attr: &str) -> Option<&'a str> {
        let at = html.find(marker)?;
        let tag_end = at + html[at..].find('>')?;
        let tag_start = html[..at].rfind('<')?;
        let tag = &html[tag_start..tag_end];
        let key = format!(" {attr}=\"");
        let value = tag.find(&key)? + key.len();
        Some(&tag[value..value + tag[value..].find('"')?])
    }

    #[test]
    fn the_page_has_the_four_charts_with_the_summary_numbers_on_their_marks() {
        let report = demo_report();
        let org = report.run.summary.as_ref().unwrap();
        let page = html(&report);

        assert!(page.starts_with("<!DOCTYPE html>"));
        for id in [
            "chart-framework-scores",
            "chart-severity",
            "chart-trend",
            "chart-worst-accounts",
        ] {
            let marker = format!("<svg id=\"{id}\"");
            assert_eq!(page.matches(&marker).count(), 1, "{id}");
            assert_eq!(attr(&page, &marker, "role"), Some("img"), "{id}");
            assert!(page.contains(&format!("<title id=\"{id}-title\">")), "{id}");
        }

        assert_eq!(org.frameworks.len(), 4);
        for (name, f) in &org.frameworks {
            let marker = format!("<rect class=\"bar\" data-framework=\"{name}\"");
            assert_eq!(
                attr(&page, &marker, "data-score"),
                Some(exact(f.score).as_str()),
                "{name}"
            );
            // The one-decimal label is drawn too.
            assert!(page.contains(&format!(">{}</text>", shown(f.score))), "{name}");
        }

        for s in SEVERITIES {
            let marker = format!("<rect class=\"bar\" data-severity=\"{}\"", s.label());
            let n = org.open_findings.get(&s).copied().unwrap_or(0);
            assert_eq!(
                attr(&page, &marker, "data-count"),
                Some(n.to_string().as_str()),
                "{s:?}"
            );
        }
        assert!(org.open_findings.values().sum::<usize>() > 0);

        // One line per framework, one point per scored run and framework.
        assert_eq!(page.matches("<polyline class=\"series\"").count(), 4);
        let scored: usize = report.trend.iter().map(|p| p.scores.values().flatten().count()).sum();
        assert_eq!(page.matches("<circle class=\"point\"").count(), scored);
        let first = &report.trend[0];
        let marker = format!(
            "<circle class=\"point\" data-framework=\"CIS\" data-run=\"{}\"",
            first.run_id
        );
        assert_eq!(
            attr(&page, &marker, "data-score"),
            Some(exact(first.scores["CIS"]).as_str())
        );
        assert!(!page.contains("trend needs two or more runs"));

        // The worst account first, with its CIS score and failures.
        let worst = &org.worst_accounts[0];
        let marker = format!("<rect class=\"bar\" data-account=\"{}\"", worst.account_id);
        assert_eq!(
            attr(&page, &marker, "data-score"),
            Some(exact(worst.scores["CIS"]).as_str())
        );
        assert_eq!(
            attr(&page, &marker, "data-failures"),
            Some(worst.failures.to_string().as_str())
        );
        assert_eq!(page.matches("data-account=").count(), org.worst_accounts.len());
        assert!(!page.contains("more accounts not shown"));

        // The sandbox has more failed checks than the cap: the page says how many it left out.
        let sandbox = report
            .snapshots
            .iter()
            .find(|s| s.account_id == "456789012345")
            .unwrap();
        let failed: BTreeSet<&str> = sandbox.failures.iter().map(|f| f.check_id.as_str()).collect();
        assert!(failed.len() > CHECKS_SHOWN_PER_ACCOUNT);
        assert!(page.contains(&format!(
            "{} more failed checks in the JSON report.",
            failed.len() - CHECKS_SHOWN_PER_ACCOUNT
        )));
        let title = checks::find("rds.not_publicly_accessible").unwrap().title;
        assert!(page.contains(&format!("<code>rds.not_publicly_accessible</code> {}", Esc(title))));

        // Self-contained: nothing is fetched and nothing runs.
        for banned in ["<script", "<link", "src=", "href=", "url(", "@import", "http"] {
            assert!(!page.contains(banned), "{banned}");
        }
    }

    #[test]
    fn text_from_data_is_escaped() {
        let report = demo_report();
        let page = html(&report);
        assert!(page.contains("AccessDenied: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(page.contains("legacy &quot;ops&quot; &amp; &lt;friends&gt;"));
        assert_eq!(Esc("a&b<c>d\"e'f").to_string(), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        assert_eq!(Esc("plain — ünïcode").to_string(), "plain — ünïcode");
    }

    #[test]
    fn caps_and_short_trends_are_said_on_the_page() {
        let mut report = demo_report();
        let org = report.run.summary.as_mut().unwrap();
        let extra = org.worst_accounts[0].clone();
        for i in 0..WORST_ACCOUNTS_SHOWN {
            let mut a = extra.clone();
            a.account_id = format!("{:012}", 100 + i);
            org.worst_accounts.push(a);
        }
        let total = org.worst_accounts.len();
        report.trend.drain(..2);
        let page = html(&report);
        assert_eq!(page.matches("data-account=").count(), WORST_ACCOUNTS_SHOWN);
        assert_eq!(
            attr(&page, "<svg id=\"chart-worst-accounts\"", "data-total"),
            Some(total.to_string().as_str())
        );
        assert!(page.contains(&format!("{} more accounts not shown", total - WORST_ACCOUNTS_SHOWN)));
        assert!(page.contains("trend needs two or more runs"));
        assert_eq!(page.matches("<polyline").count(), 0);
        assert_eq!(page.matches("<circle class=\"point\"").count(), 4);
    }

    #[test]
    fn a_run_without_a_summary_gets_a_page_that_says_so() {
        let mut report = demo_report();
        report.run.summary = None;
        report.run.state = RunState::Failed;
        report.run.error = Some("account 1: collector <timed out>".to_string());
        report.snapshots.clear();
        report.trend.clear();
        let page = html(&report);
        assert!(page.contains("No summary for this run"));
        assert!(page.contains("collector &lt;timed out&gt;"));
        assert!(!page.contains("<svg"));
        assert!(page.contains("id=\"gap-accounts\""));
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn severity_labels_are_the_serde_names() {
        for s in SEVERITIES {
            assert_eq!(serde_json::to_value(s).unwrap(), s.label());
        }
    }
}
