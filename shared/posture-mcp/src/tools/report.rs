//! `generate_security_report`: a report of a complete run, written to the
//! report store.

use super::call::{Cx, ToolOutput};
use super::stored::{complete_run, history_of, latest, not_found, run_snapshots, runs_since, store_error};
use crate::error::ToolError;
use posture_core::ids::{AccountId, RunId};
use posture_core::org::run::{self, ReportLocation, RunReport};
use posture_core::org::snapshot;
use posture_core::report::{ReportKind, render, supports};
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
    /// Where it is stored.
    pub location: ReportLocation,
    /// A link to open it: a presigned HTTPS URL (valid one hour) in AWS, a
    /// file path locally.
    pub link: String,
    /// Size in bytes.
    pub bytes: usize,
    /// The headline numbers.
    pub summary: Value,
}

/// `generate_security_report`: renders the report, stores it and answers
/// where it lies.
pub async fn generate_report(cx: &Cx<'_>, args: ReportArgs) -> Result<ToolOutput, ToolError> {
    let report_type = args.report_type.as_str().to_string();
    let (kind, format) = (args.report_type.kind(), args.format.format());
    if !supports(kind, format) {
        return Err(ToolError::validation(
            "format",
            "html is the executive report (charts); technical and compliance reports come as markdown or json",
            json!({"report_type": report_type, "allowed": ["markdown", "json"]}),
        ));
    }
    let account = args.account_id.map(|a| a.to_string());
    let run_id = args.run_id.map(|r| r.to_string());
    let h = history_of(cx.backend)?;
    let run = match &run_id {
        Some(id) => complete_run(h, id, "run_id").await?,
        None => latest(h).await?,
    };
    let mut snapshots = run_snapshots(h.store.as_ref(), &run).await?;
    let earlier = runs_since(h.store.as_ref(), "").await?;
    let mut report = RunReport {
        schema_version: run::RUN_SCHEMA_VERSION,
        run: run.clone(),
        snapshots: Vec::new(),
        trend: run::trend_of(earlier.iter().filter(|r| r.run_id <= run.run_id)),
    };
    let scope = match &account {
        Some(id) => {
            snapshots.retain(|s| &s.account_id == id);
            if snapshots.is_empty() {
                return Err(not_found(
                    "account_id",
                    format!("account {id} was not assessed in run {}", run.run_id),
                ));
            }
            // An account report: the summary is the account's own.
            report.run.summary = Some(snapshot::org_summary(&run.run_id, &snapshots));
            report.run.accounts.retain(|x| &x.account_id == id);
            report.trend.clear();
            id.clone()
        }
        None => "organization".to_string(),
    };
    report.snapshots = snapshots;
    let name = format!("{report_type}-{scope}.{}", format.extension());
    let file =
        render(&report, kind, format, &cx.backend.frameworks, &name).map_err(|e| ToolError::engine(e.to_string()))?;
    let bytes = file.body.len();
    let location = h.reports.put(&run.run_id, &file).await.map_err(store_error)?;
    let link = h.reports.link(&location).await.map_err(store_error)?;
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
    let result = GeneratedReport {
        report_type,
        format: args.format.as_str().to_string(),
        run_id: run.run_id.clone(),
        scope,
        location,
        link,
        bytes,
        summary,
    };
    let text = format!(
        "{} {} report of run {} ({}): {} bytes at {}\n{}",
        result.report_type, result.format, result.run_id, result.scope, result.bytes, result.location.uri, result.link
    );
    ToolOutput::new(&result, text)
}
