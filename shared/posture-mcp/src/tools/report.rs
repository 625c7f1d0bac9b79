//! `generate_security_report`: a report of a complete run, written to the
//! report store.

use super::call::{Cx, ToolOutput};
use super::stored::{complete_run, history_of, latest, not_found, run_snapshots, store_error};
use crate::backend::Backend;
use crate::error::ToolError;
use posture_core::ids::{AccountId, RunId};
use posture_core::org::run::{self, ReportLocation, RunReport};
use posture_core::org::snapshot;
use posture_core::ports::ReportFile;
use posture_core::report::{ReportKind, render, supports};
use rmcp::model::{Resource, ResourceTemplate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `generate_security_report`.
pub const GENERATE_SECURITY_REPORT: &str = "generate_security_report";

super::args::choice! {
    /// Which report.
    pub enum ReportType {
        Executive = "executive",
        Technical = "technical",
        Compliance = "compliance",
    }
}

super::args::choice! {
    /// The report's file format.
    pub enum ReportFormat {
        Json = "json",
        Markdown = "markdown",
        Html = "html",
    }
}

/// Arguments of `generate_security_report`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportArgs {
    /// executive: scores, severities, worst accounts; technical: every failing resource and every gap; compliance: every requirement across accounts
    #[serde(default = "executive")]
    pub report_type: ReportType,
    /// html is the executive report only
    #[serde(default = "markdown")]
    pub format: ReportFormat,
    /// Default: the latest complete run
    #[serde(default)]
    pub run_id: Option<RunId>,
    /// 12-digit account id; omit for the whole organization
    #[serde(default)]
    pub account_id: Option<AccountId>,
}

impl ReportType {
    fn kind(self) -> ReportKind {
        match self {
            ReportType::Executive => ReportKind::Executive,
            ReportType::Technical => ReportKind::Technical,
            ReportType::Compliance => ReportKind::Compliance,
        }
    }
}

impl ReportFormat {
    fn format(self) -> posture_core::report::ReportFormat {
        match self {
            ReportFormat::Json => posture_core::report::ReportFormat::Json,
            ReportFormat::Markdown => posture_core::report::ReportFormat::Markdown,
            ReportFormat::Html => posture_core::report::ReportFormat::Html,
        }
    }
}

fn executive() -> ReportType {
    ReportType::Executive
}

fn markdown() -> ReportFormat {
    ReportFormat::Markdown
}

/// Markdown reports up to this many bytes come back in the tool result
/// itself (`content`); larger ones are read as the resource `uri`.
pub const INLINE_REPORT_BYTES: usize = 64 * 1024;

/// Complete runs whose reports `resources/list` lists (newest first); older
/// runs' reports are read through the resource templates.
pub const LISTED_RUNS: usize = 10;

/// `generate_security_report` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct GeneratedReport {
    /// `executive`, `technical` or `compliance`.
    pub report_type: String,
    /// `json`, `markdown` or `html`.
    pub format: String,
    /// The run it reports on.
    pub run_id: String,
    /// `organization` or the account id.
    pub scope: String,
    /// The report as an MCP resource (`resources/read`): stable, the same
    /// content for the same run.
    pub uri: String,
    /// Where it is stored.
    pub location: ReportLocation,
    /// A link to open it: a presigned HTTPS URL (valid one hour) in AWS, a
    /// file path locally.
    pub link: String,
    /// Size in bytes.
    pub bytes: usize,
    /// The markdown itself, when it is at most 64 KiB (`INLINE_REPORT_BYTES`).
    pub content: Option<String>,
    /// Why `content` is absent: read `uri` instead.
    pub content_omitted: Option<String>,
    /// The headline numbers.
    pub summary: Value,
}

/// A report rendered from a stored run.
struct Built {
    run_id: String,
    scope: String,
    file: ReportFile,
    summary: Value,
}

/// Renders report `kind` in `format` of run `run_id` (default: the latest
/// complete run), for the organization or one account.
async fn build(
    backend: &Backend,
    run_id: Option<&str>,
    account: Option<&str>,
    report_type: ReportType,
    format: ReportFormat,
    field: &str,
) -> Result<Built, ToolError> {
    let kind = report_type.kind();
    let h = history_of(backend)?;
    let run = match run_id {
        Some(id) => complete_run(h, id, field).await?,
        None => latest(h).await?,
    };
    let mut snapshots = run_snapshots(h.store.as_ref(), &run).await?;
    let earlier = h
        .store
        .trend_points("", &run.run_id, run::TREND_RUNS)
        .await
        .map_err(store_error)?;
    let mut report = RunReport {
        schema_version: run::RUN_SCHEMA_VERSION,
        run: run.clone(),
        snapshots: Vec::new(),
        trend: run::trend_ending_with(earlier.points, &run),
    };
    let scope = match account {
        Some(id) => {
            snapshots.retain(|s| s.account_id == id);
            if snapshots.is_empty() {
                return Err(not_found(
                    "account_id",
                    format!("account {id} was not assessed in run {}", run.run_id),
                ));
            }
            // An account report: the summary is the account's own.
            report.run.summary = Some(snapshot::org_summary(&run.run_id, &snapshots));
            report.run.accounts.retain(|x| x.account_id == id);
            report.trend.clear();
            id.to_string()
        }
        None => "organization".to_string(),
    };
    report.snapshots = snapshots;
    let name = format!("{}-{scope}.{}", report_type.as_str(), format.format().extension());
    let file = render(&report, kind, format.format(), &backend.frameworks, &name)
        .map_err(|e| ToolError::engine(e.to_string()))?;
    let summary = match &report.run.summary {
        Some(s) => json!({
            "accounts": s.accounts,
            "scores": s.frameworks.iter().map(|(k, v)| (k.clone(), v.score)).collect::<BTreeMap<_, _>>(),
            "failures": s.failures,
            "open_findings": s.open_findings.values().sum::<usize>(),
            "gaps": report.run.accounts.iter().filter(|x| x.gap.is_some()).count(),
        }),
        None => Value::Null,
    };
    Ok(Built {
        run_id: run.run_id,
        scope,
        file,
        summary,
    })
}

fn unsupported(report_type: ReportType) -> ToolError {
    ToolError::validation(
        "format",
        "html is the executive report (charts); technical and compliance reports come as markdown or json",
        json!({"report_type": report_type.as_str(), "allowed": ["markdown", "json"]}),
    )
}

/// `generate_security_report`: renders the report, stores it and answers
/// where it lies (and, for a small markdown report, its content).
pub async fn generate_report(cx: &Cx<'_>, args: ReportArgs) -> Result<ToolOutput, ToolError> {
    if !supports(args.report_type.kind(), args.format.format()) {
        return Err(unsupported(args.report_type));
    }
    let account = args.account_id.map(|a| a.to_string());
    let run_id = args.run_id.map(|r| r.to_string());
    let built = build(
        cx.backend,
        run_id.as_deref(),
        account.as_deref(),
        args.report_type,
        args.format,
        "run_id",
    )
    .await?;
    let h = history_of(cx.backend)?;
    let bytes = built.file.body.len();
    let location = h.reports.put(&built.run_id, &built.file).await.map_err(store_error)?;
    let link = h.reports.link(&location).await.map_err(store_error)?;
    let (content, content_omitted) = match args.format {
        ReportFormat::Markdown if bytes <= INLINE_REPORT_BYTES => {
            (String::from_utf8(built.file.body.clone()).ok(), None)
        }
        ReportFormat::Markdown => (
            None,
            Some(format!(
                "{bytes} bytes, over the {INLINE_REPORT_BYTES}-byte inline limit: read the resource uri"
            )),
        ),
        _ => (
            None,
            Some(format!("{} reports are read as the resource uri", args.format.as_str())),
        ),
    };
    let result = GeneratedReport {
        report_type: args.report_type.as_str().to_string(),
        format: args.format.as_str().to_string(),
        uri: resource_uri(&built.run_id, account.as_deref(), args.report_type, args.format),
        run_id: built.run_id,
        scope: built.scope,
        location,
        link,
        bytes,
        content,
        content_omitted,
        summary: built.summary,
    };
    let mut text = format!(
        "{} {} report of run {} ({}): {} bytes, resource {}\n{}\n",
        result.report_type, result.format, result.run_id, result.scope, result.bytes, result.uri, result.link
    );
    if let Some(content) = &result.content {
        text.push('\n');
        text.push_str(content);
    }
    ToolOutput::new(&result, text)
}

// ------------------------------------------------------------------ resources

const SCHEME: &str = "posture://reports/";

/// Every report kind and format a run offers.
fn offered() -> impl Iterator<Item = (ReportType, ReportFormat)> {
    ReportType::ALL.iter().flat_map(|t| {
        ReportFormat::ALL
            .iter()
            .filter(|f| supports(t.kind(), f.format()))
            .map(|f| (*t, *f))
    })
}

/// `posture://reports/<run_id>/<kind>.<ext>`, or
/// `posture://reports/<run_id>/accounts/<account_id>/<kind>.<ext>`.
pub fn resource_uri(run_id: &str, account: Option<&str>, report_type: ReportType, format: ReportFormat) -> String {
    let file = format!("{}.{}", report_type.as_str(), format.format().extension());
    match account {
        Some(a) => format!("{SCHEME}{run_id}/accounts/{a}/{file}"),
        None => format!("{SCHEME}{run_id}/{file}"),
    }
}

/// The organization reports of the latest complete runs, newest first.
pub async fn resources(backend: &Backend) -> Result<Vec<Resource>, ToolError> {
    let Some(h) = backend.history.as_ref() else {
        return Ok(Vec::new());
    };
    // The run index names the latest complete runs without reading them all.
    let indexed = h.store.trend_points("", "~", LISTED_RUNS).await.map_err(store_error)?;
    let mut out = Vec::new();
    for r in indexed.points.iter().rev() {
        for (t, f) in offered() {
            out.push(
                Resource::new(
                    resource_uri(&r.run_id, None, t, f),
                    format!("{}-{}", r.run_id, t.as_str()),
                )
                .with_title(format!("{} report of run {} ({})", t.as_str(), r.run_id, f.as_str()))
                .with_mime_type(f.format().content_type()),
            );
        }
    }
    Ok(out)
}

/// The templates for any complete run's reports, organization and account.
pub fn resource_templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(format!("{SCHEME}{{run_id}}/{{kind}}.{{format}}"), "run-report").with_description(
            "A report of a complete run: kind executive, technical or compliance; format md, json \
             (and html for executive)",
        ),
        ResourceTemplate::new(
            format!("{SCHEME}{{run_id}}/accounts/{{account_id}}/{{kind}}.{{format}}"),
            "account-report",
        )
        .with_description("One account's report of a complete run: kinds and formats as for the run"),
    ]
}

/// Why a resource cannot be read.
pub enum ResourceError {
    /// The URI is not one of ours, or malformed.
    Invalid(String),
    /// Well formed, but no such run or account.
    NotFound(String),
    /// The store failed.
    Failed(ToolError),
}

/// Reads the report resource `uri`: (MIME type, text).
pub async fn read_resource(backend: &Backend, uri: &str) -> Result<(String, String), ResourceError> {
    let invalid = || {
        ResourceError::Invalid(format!(
            "not a report resource: {uri:?} (posture://reports/<run_id>/<kind>.<format> or \
             posture://reports/<run_id>/accounts/<account_id>/<kind>.<format>)"
        ))
    };
    let rest = uri.strip_prefix(SCHEME).ok_or_else(invalid)?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (run_id, account, file) = match parts.as_slice() {
        [run_id, file] => (*run_id, None, *file),
        [run_id, "accounts", account, file] => (*run_id, Some(*account), *file),
        _ => return Err(invalid()),
    };
    let run_id: RunId = run_id
        .parse()
        .map_err(|e| ResourceError::Invalid(format!("{uri:?}: run id {e}")))?;
    let account: Option<AccountId> = account
        .map(str::parse)
        .transpose()
        .map_err(|e| ResourceError::Invalid(format!("{uri:?}: account id {e}")))?;
    let (kind, ext) = file.split_once('.').ok_or_else(invalid)?;
    let (report_type, format) = offered()
        .find(|(t, f)| t.as_str() == kind && f.format().extension() == ext)
        .ok_or_else(|| {
            ResourceError::Invalid(format!(
                "{uri:?}: no {kind}.{ext} report; offered: {}",
                offered()
                    .map(|(t, f)| format!("{}.{}", t.as_str(), f.format().extension()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let account = account.map(|a| a.to_string());
    let built = build(
        backend,
        Some(run_id.as_ref()),
        account.as_deref(),
        report_type,
        format,
        "uri",
    )
    .await
    .map_err(|e| match e.error_type {
        crate::error::ErrorType::ValidationError => ResourceError::NotFound(e.detail),
        _ => ResourceError::Failed(e),
    })?;
    let text = String::from_utf8(built.file.body)
        .map_err(|e| ResourceError::Failed(ToolError::engine(format!("report is not UTF-8: {e}"))))?;
    Ok((format.format().content_type().to_string(), text))
}
