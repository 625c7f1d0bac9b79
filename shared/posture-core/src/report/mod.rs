//! Reports of a run: the only place that knows the report kinds, their
//! formats and MIME types. [`render`] makes one report; [`run_files`] are
//! the files the assessor writes for every run.

pub mod compliance;
pub mod executive;
pub mod export;
#[cfg(test)]
mod fixtures;
pub mod format;
pub mod html;
pub mod technical;

use crate::org::run::RunReport;
use crate::ports::ReportFile;
use crate::posture::frameworks::Framework;
use serde_json::json;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Scores, severities, worst accounts (HTML adds charts).
    Executive,
    /// Every failing resource and every gap.
    Technical,
    /// Every requirement across accounts.
    Compliance,
}

impl ReportKind {
    /// As named in file names and tool arguments.
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Executive => "executive",
            ReportKind::Technical => "technical",
            ReportKind::Compliance => "compliance",
        }
    }
}

/// A report's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// JSON.
    Json,
    /// Markdown.
    Markdown,
    /// A self-contained HTML page (the executive report only).
    Html,
}

impl ReportFormat {
    /// The MIME type of a file in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Json => "application/json",
            ReportFormat::Markdown => "text/markdown; charset=utf-8",
            ReportFormat::Html => "text/html; charset=utf-8",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Markdown => "md",
            ReportFormat::Html => "html",
        }
    }
}

/// Why a report could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// This kind does not come in this format.
    #[error(
        "the {kind} report does not come as {format}: html is the executive report (charts); technical and compliance reports come as markdown or json"
    )]
    Unsupported {
        /// The kind asked for.
        kind: &'static str,
        /// The format asked for.
        format: &'static str,
    },
    /// The executive Markdown report needs the run's summary.
    #[error("the run has no summary")]
    NoSummary,
    /// The report did not serialize.
    #[error("report could not be serialized: {0}")]
    Serialize(String),
}

/// Whether report `kind` comes in `format` (HTML is the executive report).
pub fn supports(kind: ReportKind, format: ReportFormat) -> bool {
    format != ReportFormat::Html || kind == ReportKind::Executive
}

/// Report `kind` of `report` in `format`, as a file named `name`.
/// `frameworks` are the loaded frameworks (the compliance report lists their
/// requirements).
pub fn render(
    report: &RunReport,
    kind: ReportKind,
    format: ReportFormat,
    frameworks: &[Framework],
    name: &str,
) -> Result<ReportFile, RenderError> {
    if !supports(kind, format) {
        return Err(RenderError::Unsupported {
            kind: kind.name(),
            format: format.extension(),
        });
    }
    let body = match (kind, format) {
        // `supports` admits HTML for the executive report only.
        (_, ReportFormat::Html) => html::html(report),
        (ReportKind::Executive, ReportFormat::Markdown) => match &report.run.summary {
            Some(s) => executive::markdown(s, &report.snapshots, &report.run.accounts),
            None => return Err(RenderError::NoSummary),
        },
        (ReportKind::Executive, ReportFormat::Json) => to_json(&json!({"run": report.run, "trend": report.trend}))?,
        (ReportKind::Technical, ReportFormat::Markdown) => technical::technical_markdown(report),
        (ReportKind::Technical, ReportFormat::Json) => to_json(report)?,
        (ReportKind::Compliance, ReportFormat::Markdown) => compliance::compliance_markdown(report, frameworks),
        (ReportKind::Compliance, ReportFormat::Json) => to_json(&json!({
            "run_id": report.run.run_id,
            "summary": report.run.summary,
            "controls": compliance::compliance_matrix(report, frameworks),
        }))?,
    };
    Ok(ReportFile {
        name: name.to_string(),
        content_type: format.content_type().to_string(),
        body: body.into_bytes(),
    })
}

/// The files written for every run: the full JSON (the technical report),
/// the executive Markdown (when the run has a summary) and the executive
/// HTML.
pub fn run_files(report: &RunReport) -> Vec<ReportFile> {
    [
        (ReportKind::Technical, ReportFormat::Json),
        (ReportKind::Executive, ReportFormat::Markdown),
        (ReportKind::Executive, ReportFormat::Html),
    ]
    .into_iter()
    .filter_map(|(kind, format)| render(report, kind, format, &[], &format!("report.{}", format.extension())).ok())
    .collect()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, RenderError> {
    serde_json::to_string_pretty(value).map_err(|e| RenderError::Serialize(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::demo_report;

    #[test]
    fn every_kind_renders_in_its_formats_and_html_is_executive_only() {
        let report = demo_report();
        let frameworks = crate::posture::frameworks::builtin().expect("frameworks");
        for kind in [ReportKind::Executive, ReportKind::Technical, ReportKind::Compliance] {
            for format in [ReportFormat::Json, ReportFormat::Markdown, ReportFormat::Html] {
                let result = render(&report, kind, format, &frameworks, "r");
                if !supports(kind, format) {
                    assert!(matches!(result, Err(RenderError::Unsupported { .. })), "{kind:?}");
                    continue;
                }
                let file = result.expect("renders");
                assert_eq!(file.content_type, format.content_type());
                assert!(!file.body.is_empty(), "{kind:?} {format:?}");
                if format == ReportFormat::Json {
                    serde_json::from_slice::<serde_json::Value>(&file.body).expect("valid JSON");
                }
            }
        }
    }

    #[test]
    fn a_run_writes_json_markdown_and_html() {
        let names: Vec<String> = run_files(&demo_report()).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["report.json", "report.md", "report.html"]);
        let frameworks = crate::posture::frameworks::builtin().expect("frameworks");
        let technical = render(
            &demo_report(),
            ReportKind::Technical,
            ReportFormat::Json,
            &frameworks,
            "t",
        )
        .expect("renders");
        assert_eq!(
            technical.body,
            run_files(&demo_report())[0].body,
            "the run's JSON is the technical report"
        );
    }
}
