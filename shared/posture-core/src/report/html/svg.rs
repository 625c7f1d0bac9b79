//! The report's charts, as inline SVG: every mark carries `data-*`
//! attributes with the exact numbers it draws.

use super::text::*;
use crate::org::run::RunReport;
use crate::org::snapshot::OrgSummary;
use crate::report::executive::WORST_ACCOUNTS_SHOWN;
use crate::report::format::score_text;
use crate::severity::Severity;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

/// Framework colours, by the framework's place among all names in the report
/// (so one framework has one colour in every chart).
pub(super) const PALETTE: [&str; 8] = [
    "#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#db2777", "#65a30d", "#475569",
];

/// SVG widths in user units, about the CSS pixels they get on a 1280 px wide
/// screen, so text in the charts renders near its nominal size.
pub(super) const NARROW: f64 = 480.0;
pub(super) const WIDE: f64 = 1000.0;

/// Longest account name drawn in a chart label (the tables show it whole).
pub(super) const CHART_NAME_CHARS: usize = 20;

pub(super) fn framework_colours(org: &OrgSummary, report: &RunReport) -> BTreeMap<String, &'static str> {
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

pub(super) fn colour<'a>(colours: &BTreeMap<String, &'a str>, name: &str) -> &'a str {
    colours.get(name).copied().unwrap_or(PALETTE[0])
}

/// One bar of a horizontal bar chart.
pub(super) struct Bar {
    /// Text left of the bar (raw; escaped when written).
    pub(super) label: String,
    /// `data-*` attributes of the bar's rect, in order (raw values).
    pub(super) data: Vec<(&'static str, String)>,
    /// Length in units of the chart's maximum; `None` draws no bar.
    pub(super) value: Option<f64>,
    /// Text right of the bar.
    pub(super) text: String,
    pub(super) fill: &'static str,
}

pub(super) const ROW: f64 = 30.0;

pub(super) fn svg_open(out: &mut String, id: &str, title: &str, width: f64, height: f64, extra: &str) -> fmt::Result {
    writeln!(
        out,
        "<svg id=\"{id}\" class=\"chart\" role=\"img\" aria-labelledby=\"{id}-title\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\"{extra}>"
    )?;
    writeln!(out, "<title id=\"{id}-title\">{}</title>", Esc(title))
}

/// A horizontal bar chart.
pub(super) struct BarChart<'a> {
    pub(super) id: &'a str,
    pub(super) title: &'a str,
    pub(super) width: f64,
    /// Width of the label column left of the bars.
    pub(super) label_width: f64,
    /// Room right of a full-length bar for its value text.
    pub(super) text_width: f64,
    /// The value of a full-length bar.
    pub(super) max: f64,
    /// More attributes of the `<svg>` element.
    pub(super) extra: String,
}

pub(super) fn bar_chart(out: &mut String, chart: &BarChart<'_>, bars: &[Bar]) -> fmt::Result {
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

pub(super) fn framework_chart(
    out: &mut String,
    org: &OrgSummary,
    colours: &BTreeMap<String, &'static str>,
) -> fmt::Result {
    let bars: Vec<Bar> = org
        .frameworks
        .iter()
        .map(|(name, f)| Bar {
            label: name.clone(),
            data: vec![("framework", name.clone()), ("score", exact(f.score))],
            value: f.score,
            text: score_text(f.score),
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

pub(super) fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#7f1d1d",
        Severity::High => "#c2410c",
        Severity::Medium => "#ca8a04",
        Severity::Low => "#2563eb",
        Severity::Informational => "#9ca3af",
    }
}

pub(super) fn severity_chart(out: &mut String, org: &OrgSummary) -> fmt::Result {
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

pub(super) fn trend_chart(
    out: &mut String,
    report: &RunReport,
    colours: &BTreeMap<String, &'static str>,
) -> fmt::Result {
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
            Esc(&short_time(p.started_at))
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
                    score_text(Some(score)),
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

pub(super) fn worst_accounts_chart(out: &mut String, org: &OrgSummary, report: &RunReport) -> fmt::Result {
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
                text: format!("{} · {} failing", score_text(score), a.failures),
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
