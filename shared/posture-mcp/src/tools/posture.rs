//! The posture tools: `check_compliance_status`, `assess_security_posture`,
//! `validate_security_controls` and `recommend_security_improvements`. Each
//! evaluates the inventories of the accounts in scope and the recent
//! findings ([`posture_data`]).

use super::args::{FrameworkName, Threshold, default};
use super::call::{Answer, Cx, ToolOutput, task_of};
use super::runs::{self, RunStarted};
use super::scope::{Freshness, Ground, Served, as_of_line, fetch_all, ground, live_members};
use super::scope::{check_accounts, check_regions, no_unit_live, unit_accounts};
use crate::backend::Backend;
use crate::error::ToolError;
use crate::serving::{KeptAnswer, Latest, ServedRun};
use jiff::Timestamp;
use posture_core::Finding;
use posture_core::Severity;
use posture_core::exceptions::LoadedExceptions;
use posture_core::findings::analysis;
use posture_core::org::served::{self, AsOf};
use posture_core::ports::CollectedAccount;
use posture_core::posture::acceptance::set_aside;
use posture_core::posture::assessment::{self, Assessment};
use posture_core::posture::compliance::{self, ComplianceReport, DataSources};
use posture_core::posture::frameworks::Framework;
use posture_core::posture::inventory::Inventory;
use posture_core::posture::recommendations::{self, RecommendationsReport};
use posture_core::posture::validation;
use posture_core::report::format::score_text;
use posture_core::sources::FindingQuery;
use posture_core::time::{TimeWindow, utc_day};
use rmcp::model::TaskStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::fmt::Write;
use std::sync::Arc;

/// `check_compliance_status`.
pub const CHECK_COMPLIANCE_STATUS: &str = "check_compliance_status";
/// `assess_security_posture`.
pub const ASSESS_SECURITY_POSTURE: &str = "assess_security_posture";
/// `validate_security_controls`.
pub const VALIDATE_SECURITY_CONTROLS: &str = "validate_security_controls";
/// `recommend_security_improvements`.
pub const RECOMMEND_SECURITY_IMPROVEMENTS: &str = "recommend_security_improvements";

/// Longest control id accepted (`CIS 1.14`, `securityhub.enabled`,
/// `"PCI-DSS 10.2.1.1"`): a caller cannot make an error echo megabytes.
const CONTROL_ID_CHARS: u32 = 100;

/// Items listed in full in the text renderings.
const LISTED: usize = 10;

/// Which data, and which part of it, a posture answer covers.
#[derive(Debug, Default, Clone, Copy)]
pub struct Selection<'a> {
    /// `None`: the latest complete run when there is one, else live.
    pub freshness: Option<Freshness>,
    /// Accounts to answer for (empty: all).
    pub account_ids: &'a [String],
    /// Regions to answer for (empty: all; global resources always count).
    pub regions: &'a [String],
    /// Only the accounts of this organizational unit (and its children):
    /// an OU id, name or path of names (answered from a run only).
    pub organizational_unit: Option<&'a str>,
}

impl Selection<'_> {
    fn is_whole(&self) -> bool {
        self.account_ids.is_empty() && self.regions.is_empty() && self.organizational_unit.is_none()
    }
}

/// What posture tools evaluate.
pub struct PostureData {
    /// Inventories and findings of the accounts in scope.
    pub data: Data,
    /// What was read and what could not be, but the accounts' own tooling
    /// ([`PostureData::sources`] derives it when an answer is computed, not
    /// for one served from the run's kept answers).
    sources: DataSources,
    /// What it stands on.
    pub as_of: AsOf,
    /// The run answered from, whose answers can be kept (whole selection only).
    pub cacheable: Option<Arc<ServedRun>>,
}

impl PostureData {
    /// What the answer stands on, with each account's compliance tooling.
    pub fn sources(&self) -> DataSources {
        DataSources {
            aws_tooling: compliance::tooling(self.data.inventories()),
            ..self.sources.clone()
        }
    }
}

/// Inventories and findings: a selection of their own, or a whole run's.
pub enum Data {
    /// Read live, or a part of a run.
    Owned(Vec<Inventory>, Vec<Finding>),
    /// A whole run, shared.
    Run(Arc<ServedRun>),
}

impl Data {
    /// Inventories of the accounts in scope.
    pub fn inventories(&self) -> &[Inventory] {
        match self {
            Data::Owned(i, _) => i,
            Data::Run(r) => &r.data.inventories,
        }
    }

    /// Findings of the accounts in scope.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Data::Owned(_, f) => f,
            Data::Run(r) => &r.data.findings,
        }
    }
}

/// The data a posture answer stands on ([`ground`]), narrowed to the
/// selection.
pub async fn posture_data(
    backend: &Backend,
    now: Timestamp,
    selection: &Selection<'_>,
) -> Result<PostureData, ToolError> {
    let note = match ground(backend, selection.freshness).await? {
        Ground::Run(run) => {
            let account_ids = unit_accounts(&run, selection.account_ids, selection.organizational_unit)?;
            let selection = Selection {
                account_ids: &account_ids,
                ..*selection
            };
            return run_data(run, now, &selection, &backend.exceptions);
        }
        Ground::Live(note) => note,
    };
    no_unit_live(selection.organizational_unit)?;
    if let Some(members) = live_members(backend, selection.account_ids, selection.regions).await? {
        let (inventories, findings, account_source_gaps) =
            served::combine(members.collected.iter().map(|c| CollectedAccount::clone(c)));
        let sources = DataSources {
            account_source_gaps,
            ..DataSources::default()
        }
        .accepting(&backend.exceptions, utc_day(now), []);
        let (inventories, findings) = narrow(inventories, findings, selection)?;
        let mut as_of = served::live(&inventories, now, note);
        as_of.missing_accounts = members.missing;
        return Ok(PostureData {
            data: Data::Owned(inventories, findings),
            sources,
            as_of,
            cacheable: None,
        });
    }
    let (inventories, findings, sources) = live_data(backend, now).await;
    let sources = sources.accepting(&backend.exceptions, utc_day(now), []);
    let (inventories, findings) = narrow(inventories, findings, selection)?;
    let as_of = served::live(&inventories, now, note);
    Ok(PostureData {
        data: Data::Owned(inventories, findings),
        sources,
        as_of,
        cacheable: None,
    })
}

fn run_data(
    run: Arc<ServedRun>,
    now: Timestamp,
    selection: &Selection<'_>,
    exceptions: &LoadedExceptions,
) -> Result<PostureData, ToolError> {
    check_accounts(&run, selection.account_ids)?;
    // Judged on the day the run's evidence was read, with the accounts' OUs then.
    let mut sources = DataSources {
        account_source_gaps: run.data.source_gaps.clone(),
        ..DataSources::default()
    }
    .accepting(
        exceptions,
        utc_day(run.data.run.started_at),
        run.data
            .run
            .accounts
            .iter()
            .map(|a| (a.account_id.clone(), posture_core::org::run::unit_names(&a.ou_path))),
    );
    let (data, cacheable) = if selection.is_whole() {
        (Data::Run(run.clone()), Some(run.clone()))
    } else {
        let (inventories, findings) = narrow(run.data.inventories.clone(), run.data.findings.clone(), selection)?;
        sources
            .account_source_gaps
            .retain(|a, _| selection.account_ids.is_empty() || selection.account_ids.contains(a));
        // A source unread in a region outside the selection leaves nothing in it unread.
        if !selection.regions.is_empty() {
            for gaps in sources.account_source_gaps.values_mut() {
                gaps.retain(|g| selection.regions.contains(&g.region));
            }
            sources.account_source_gaps.retain(|_, gaps| !gaps.is_empty());
        }
        (Data::Owned(inventories, findings), None)
    };
    let mut as_of = run.data.as_of(data.inventories(), now);
    if !selection.account_ids.is_empty() {
        as_of
            .missing_accounts
            .retain(|m| selection.account_ids.contains(&m.account_id));
    }
    Ok(PostureData {
        data,
        sources,
        as_of,
        cacheable,
    })
}

/// Keeps the selected accounts and regions (global resources stay).
fn narrow(
    mut inventories: Vec<Inventory>,
    mut findings: Vec<Finding>,
    selection: &Selection<'_>,
) -> Result<(Vec<Inventory>, Vec<Finding>), ToolError> {
    if !selection.account_ids.is_empty() {
        inventories.retain(|i| selection.account_ids.contains(&i.account_id));
        findings.retain(|f| selection.account_ids.contains(&f.account_id));
    }
    if !selection.regions.is_empty() {
        check_regions(
            selection.regions,
            assessment::Known::from(&inventories, &findings).regions,
        )?;
        for i in &mut inventories {
            i.region.retain(|r, _| selection.regions.contains(r));
        }
        findings.retain(|f| selection.regions.contains(&f.region));
    }
    Ok((inventories, findings))
}

/// Inventories and recent findings read now (Security Hub refreshes
/// control findings daily; 90 days also covers stale ones).
async fn live_data(backend: &Backend, now: Timestamp) -> (Vec<Inventory>, Vec<Finding>, DataSources) {
    let query = FindingQuery {
        window: TimeWindow::last_days(now, 90),
        min_severity: Severity::Informational,
        max_findings: 10_000,
        filter: Default::default(),
    };
    let (inventories, findings) = tokio::join!(backend.inventories.inventories(), fetch_all(backend, &query));
    let merged = analysis::merge(findings, &query);
    let (inventories, inventory_error) = match inventories {
        Ok(i) => (i, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let sources = DataSources {
        inventory_error,
        finding_sources: merged.sources,
        aws_tooling: Vec::new(),
        findings_truncated: merged.truncated,
        ..DataSources::default()
    };
    (inventories, merged.findings, sources)
}

/// An answer (serialized) with what it stands on, in structured content
/// (`as_of`, as [`Served`] describes) and text.
fn served(mut answer: Value, as_of: &AsOf, text: &str) -> Result<ToolOutput, ToolError> {
    let basis = as_of_value(as_of)?;
    match answer.as_object_mut() {
        Some(fields) => fields.insert("as_of".into(), basis),
        None => return Err(ToolError::engine("a posture answer is not an object")),
    };
    Ok(ToolOutput {
        structured: answer,
        text: as_of_line(as_of) + text,
        kept: None,
    })
}

fn as_of_value(as_of: &AsOf) -> Result<Value, ToolError> {
    serde_json::to_value(as_of).map_err(|e| ToolError::engine(format!("as_of could not be serialized: {e}")))
}

/// A kept answer with this call's `as_of` (masked like the answer was when
/// it was kept); the server writes the structured content from them.
fn serve_kept(kept: Arc<KeptAnswer>, as_of: &AsOf) -> Result<ToolOutput, ToolError> {
    let mut basis = as_of_value(as_of)?;
    posture_core::secrets::mask_value(&mut basis);
    Ok(ToolOutput {
        structured: Value::Null,
        text: as_of_line(as_of) + &kept.text,
        kept: Some((kept, basis)),
    })
}

fn to_value<T: Serialize>(answer: &T) -> Result<Value, ToolError> {
    serde_json::to_value(answer).map_err(|e| ToolError::engine(format!("result could not be serialized: {e}")))
}

/// Serves `answer`, keeping it (masked, once) with the run when the whole
/// run was answered for.
fn keep_and_serve<T: Serialize>(
    answer: &T,
    text: String,
    key: String,
    data: &PostureData,
) -> Result<ToolOutput, ToolError> {
    let mut value = to_value(answer)?;
    let Some(run) = &data.cacheable else {
        return served(value, &data.as_of, &text);
    };
    posture_core::secrets::mask_value(&mut value);
    let kept =
        Arc::new(KeptAnswer::new(value, text).ok_or_else(|| ToolError::engine("a posture answer is not an object"))?);
    run.keep(key, kept.clone());
    serve_kept(kept, &data.as_of)
}

/// Serves `answer` (computed for this call only).
fn serve<T: Serialize>(answer: &T, text: &str, data: &PostureData) -> Result<ToolOutput, ToolError> {
    served(to_value(answer)?, &data.as_of, text)
}

/// The answer kept for `key` with the run answered from, if any.
fn kept(key: &str, data: &PostureData) -> Option<Result<ToolOutput, ToolError>> {
    let hit = data.cacheable.as_ref()?.answer(key)?;
    Some(serve_kept(hit, &data.as_of))
}

// ---------------------------------------------------------------- compliance

/// Arguments of `check_compliance_status`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplianceArgs {
    /// Compliance framework to assess
    pub framework: FrameworkName,
    /// Whether to include the per-control results
    #[serde(default = "default::yes")]
    pub generate_report: bool,
    /// Whether to include the API facts and findings behind each verdict (at most 500 items; evidence_total gives the count)
    #[serde(default)]
    pub include_evidence: bool,
    /// Specific requirement ids to assess (empty = all)
    #[serde(default)]
    #[schemars(length(max = 200), inner(length(max = CONTROL_ID_CHARS)))]
    pub control_ids: Vec<String>,
    /// Account ids to assess (empty = every account: of the latest complete run, or of live data)
    #[serde(default)]
    #[schemars(length(max = ACCOUNTS_LISTED), inner(length(max = 12)))]
    pub account_ids: Vec<String>,
    /// Regions to assess (empty = all; global resources such as IAM always count)
    #[serde(default)]
    #[schemars(length(max = 50), inner(length(max = 32)))]
    pub regions: Vec<String>,
    /// Only the accounts of this organizational unit and its children: an OU id (ou-abcd-12345678), name, or path of names (Workloads/Prod); answered from the latest run
    #[serde(default)]
    #[schemars(length(min = 1, max = 512))]
    pub organizational_unit: Option<String>,
    /// Only the requirements about these AWS services (one of their native checks or Security Hub controls), e.g. ["S3", "IAM"]; scores are over those (empty = all)
    #[serde(default)]
    #[schemars(length(max = 20), inner(length(min = 1, max = 64)))]
    pub services: Vec<String>,
    /// latest_run (the default when a run has completed: the organization's stored snapshots) or live (this server's accounts, read now)
    #[serde(default)]
    pub freshness: Option<Freshness>,
}

/// Account ids one call can name.
const ACCOUNTS_LISTED: u32 = 1000;

/// `check_compliance_status`: one framework over every account in scope.
pub async fn check_compliance(cx: &Cx<'_>, args: ComplianceArgs) -> Result<ToolOutput, ToolError> {
    let backend = cx.backend;
    let Some(fw) = backend.framework(&args.framework.0) else {
        return Err(ToolError::engine(format!("framework {} vanished", args.framework.0)));
    };
    let unknown: Vec<&String> = args
        .control_ids
        .iter()
        .filter(|c| !fw.requirements.iter().any(|r| &r.id == *c))
        .collect();
    if !unknown.is_empty() {
        return Err(ToolError::validation(
            "control_ids",
            format!(
                "not requirements of {}: {}",
                fw.id,
                unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
            json!({"unknown": unknown}),
        ));
    }
    let narrowed;
    let fw = if args.services.is_empty() {
        fw
    } else {
        narrowed = services_of(fw, &args.services)?;
        &narrowed
    };
    let now = Timestamp::now();
    let selection = Selection {
        freshness: args.freshness,
        account_ids: &args.account_ids,
        regions: &args.regions,
        organizational_unit: args.organizational_unit.as_deref(),
    };
    let data = posture_data(backend, now, &selection).await?;
    let key = format!("{CHECK_COMPLIANCE_STATUS}:{args:?}");
    if let Some(answer) = kept(&key, &data) {
        return answer;
    }
    let mut report = compliance::report(
        fw,
        data.data.inventories(),
        data.data.findings(),
        &args.control_ids,
        args.include_evidence,
        data.sources(),
        now,
    );
    if !args.generate_report {
        report.control_results.clear();
    }
    let text = render_compliance(&report);
    keep_and_serve(&report, text, key, &data)
}

/// `fw` narrowed to the requirements about `services`; an unknown service,
/// or one the framework says nothing about, is a ValidationError.
fn services_of(fw: &Framework, services: &[String]) -> Result<Framework, ToolError> {
    let known = compliance::services();
    let compact = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let unknown: Vec<&String> = services
        .iter()
        .filter(|s| !known.iter().any(|k| compact(k) == compact(s)))
        .collect();
    if !unknown.is_empty() {
        return Err(ToolError::validation(
            "services",
            format!(
                "unknown service(s) {}; known: {}",
                unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                known.join(", ")
            ),
            json!({"allowed": known}),
        ));
    }
    let narrowed = compliance::for_services(fw, services);
    if narrowed.requirements.is_empty() {
        return Err(ToolError::validation(
            "services",
            format!("no requirement of {} is about {}", fw.id, services.join(", ")),
            json!({}),
        ));
    }
    Ok(narrowed)
}

fn percent(score: Option<f64>) -> String {
    score_text(score) + if score.is_some() { "%" } else { "" }
}

fn render_compliance(r: &ComplianceReport) -> String {
    let c = &r.counts;
    let with_exceptions = if c.suppressed > 0 {
        format!(
            ", {} with accepted risks counted as passed",
            percent(r.overall_compliance_score_with_exceptions)
        )
    } else {
        String::new()
    };
    let mut s = format!(
        "{} ({}) over {} account(s): {} — score {}{}{with_exceptions} (accounts' results pooled); requirements over all accounts: \
         {} passed, {} failed, {} suppressed (accepted risk), {} not applicable, {} unknown, {} manual\n",
        r.framework,
        r.framework_version,
        r.accounts.len(),
        r.compliance_status,
        percent(r.overall_compliance_score),
        if r.score_partial { ", partial" } else { "" },
        c.passed,
        c.failed,
        c.suppressed,
        c.not_applicable,
        c.unknown,
        c.manual
    );
    if let Some(e) = &r.data_sources.inventory_error {
        let _ = writeln!(s, "Native checks could not run: {e}");
    }
    if let Some(e) = &r.data_sources.exceptions_error {
        let _ = writeln!(s, "Exceptions file {e}");
    }
    if !r.accepted_risks.is_empty() {
        let _ = writeln!(s, "\nAccepted risks:");
        for a in r.accepted_risks.iter().take(LISTED) {
            for x in &a.suppressed {
                let _ = writeln!(
                    s,
                    "- {} {:?}: {} accepted by {} on {} until {} (exception {}: {})",
                    a.control_id, a.status, x.resource, x.owner, x.accepted_on, x.expires, x.exception_id, x.reason
                );
            }
        }
    }
    let flagged: Vec<&_> = r.exceptions.iter().filter(|e| !e.flags.is_empty()).collect();
    if !flagged.is_empty() {
        let _ = writeln!(s, "\nExceptions needing attention:");
        for e in flagged {
            let _ = writeln!(
                s,
                "- {} ({}): {}",
                e.exception.id,
                e.exception.control,
                e.flags.join("; ")
            );
        }
    }
    if r.account_scores.len() > 1 {
        let _ = writeln!(s, "\nAccounts, lowest score first:");
        for a in r.account_scores.iter().take(LISTED) {
            let failing = if a.failed_controls.is_empty() {
                String::new()
            } else {
                let shown: Vec<&str> = a.failed_controls.iter().take(8).map(String::as_str).collect();
                let more = a.failed_controls.len().saturating_sub(shown.len());
                format!(
                    "; failing {}{}",
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            };
            let _ = writeln!(
                s,
                "- {}: {} ({} passed, {} failed, {} unknown){failing}",
                a.account_id,
                percent(a.score),
                a.counts.passed,
                a.counts.failed,
                a.counts.unknown
            );
        }
        if r.account_scores.len() > LISTED {
            let _ = writeln!(
                s,
                "- … and {} more (see account_scores)",
                r.account_scores.len() - LISTED
            );
        }
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

// ---------------------------------------------------------------- assessment

super::args::choice! {
    /// What `assess_security_posture` assesses.
    pub enum Scope {
        Account = "account",
        Region = "region",
        Service = "service",
        Workload = "workload",
        Organization = "organization",
    }
}

/// Arguments of `assess_security_posture`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessArgs {
    /// Assessment scope; organization answers from the latest complete org-wide run (scores pooled over its accounts), or, when none has completed or freshness is live, starts one in the background (target all) and returns its run_id at once (a client that declares the io.modelcontextprotocol/tasks extension gets a task instead, task id = run id, polled with tasks/get)
    pub scope: Scope,
    /// Account id, region name, service name, or workload tag key=value
    #[schemars(length(max = 256))]
    pub target: String,
    /// Compliance frameworks to assess against
    #[serde(default = "cis_only")]
    #[schemars(length(min = 1))]
    pub frameworks: Vec<FrameworkName>,
    /// Minimum severity level to include
    #[serde(default = "default::medium")]
    pub severity_threshold: Threshold,
    /// Whether to include security recommendations
    #[serde(default = "default::yes")]
    pub include_recommendations: bool,
    /// latest_run (the default when a run has completed) or live; for scope organization, live (or no completed run yet) starts a new org-wide run instead of answering
    #[serde(default)]
    pub freshness: Option<Freshness>,
}

fn cis_only() -> Vec<FrameworkName> {
    vec![FrameworkName::cis()]
}

/// What `assess_security_posture` returns: an assessment, or (scope
/// `organization` with no run to answer from) the id of the run it started.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum AssessOutput {
    /// An assessment and what it stands on.
    Assessment(Box<Served<Assessment>>),
    /// Scope organization: the run started.
    Started(RunStarted),
}

/// `assess_security_posture`: one scope now, or an org-wide run started in
/// the background (followed with tasks/get when the client takes tasks, or
/// `get_assessment_status`).
pub async fn assess(cx: &Cx<'_>, args: AssessArgs) -> Result<Answer, ToolError> {
    let backend = cx.backend;
    if args.scope == Scope::Organization && starts_a_run(backend, args.freshness).await {
        if cx.options.tasks {
            let (record, _) = runs::begin_org_run(backend, &args.target).await?;
            return Ok(Answer::Task(task_of(&record, TaskStatus::Working, Timestamp::now())));
        }
        return runs::start_org_assessment(backend, &args.target)
            .await
            .map(Answer::Output);
    }
    let mut frameworks = Vec::new();
    for name in &args.frameworks {
        let Some(f) = backend.framework(&name.0) else {
            return Err(ToolError::engine(format!("framework {} vanished", name.0)));
        };
        // A framework named twice is assessed once.
        if !frameworks
            .iter()
            .any(|known: &&posture_core::posture::frameworks::Framework| known.id == f.id)
        {
            frameworks.push(f);
        }
    }
    let now = Timestamp::now();
    let selection = Selection {
        freshness: args.freshness,
        ..Selection::default()
    };
    let data = posture_data(backend, now, &selection).await?;
    let (inventories, findings) = (data.data.inventories(), data.data.findings());
    let known = assessment::Known::from(inventories, findings);
    let scope = args.scope.as_str();
    let parsed = assessment::Scope::parse(scope, &args.target, &known, inventories)
        .map_err(|e| ToolError::validation("target", e.0, json!({"scope": scope})))?;
    let region = match &parsed {
        assessment::Scope::Region(r) => r.clone(),
        _ => backend.health.region(),
    };
    let request = assessment::Request {
        assessment_id: format!("PA-{}", uuid::Uuid::new_v4()),
        scope: parsed,
        target: args.target.clone(),
        frameworks,
        min_severity: args.severity_threshold.severity(),
        include_recommendations: args.include_recommendations,
        region,
        now,
    };
    let report = assessment::assess_scope(&request, inventories, findings, data.sources());
    let text = render_assessment(&report);
    serve(&report, &text, &data).map(Answer::Output)
}

/// Whether an organization assessment starts a run (asked for live data,
/// or no run can be answered from yet) rather than answering from the
/// latest complete run.
async fn starts_a_run(backend: &Backend, freshness: Option<Freshness>) -> bool {
    match (freshness, &backend.history) {
        (Some(Freshness::Live), _) => true,
        (Some(Freshness::LatestRun), _) => false,
        (None, Some(h)) => !matches!(h.latest_served().await, Latest::Run(_)),
        (None, None) => true,
    }
}

fn render_assessment(r: &Assessment) -> String {
    let mut s = format!(
        "Posture of {} {}: risk {}, score {}{}; {} finding(s) ({} critical, {} high, {} medium, {} low)\n",
        r.scope,
        r.target,
        r.risk_level,
        score_text(r.overall_score),
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
        let accepted = if f.suppressed_controls > 0 {
            format!(
                ", {} suppressed; score with exceptions {}",
                f.suppressed_controls,
                score_text(f.overall_score_with_exceptions)
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "- {name}: {} ({} passed, {} failed, {} unknown of {}{accepted})",
            f.status, f.passed_controls, f.failed_controls, f.unknown_controls, f.total_controls
        );
    }
    render_accepted(&mut s, &r.accepted_risks);
    for t in r.top_findings.iter().take(LISTED) {
        let _ = writeln!(
            s,
            "- [{}] {} ({}, {} resource(s))",
            t.severity, t.title, t.source_service, t.resource_count
        );
    }
    s
}

// ---------------------------------------------------------------- validation

/// Arguments of `validate_security_controls`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateArgs {
    /// Controls to verify: native check ids, Security Hub control ids, or '<framework> <requirement>'
    #[schemars(length(min = 1, max = 50), inner(length(max = CONTROL_ID_CHARS)))]
    pub control_ids: Vec<String>,
    /// An account id to restrict to (default: every account in scope)
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub target: Option<String>,
    /// latest_run (the default when a run has completed: the organization's stored snapshots) or live (this server's accounts, read now)
    #[serde(default)]
    pub freshness: Option<Freshness>,
}

/// One validated control.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ValidatedControl {
    /// The id as given.
    pub control_id: String,
    /// How it was understood: `native check`, `Security Hub control`, `CIS requirement`, ...
    pub resolved_as: String,
    /// The verdict, its sources, failing resources and conflicts.
    pub result: compliance::ControlResult,
    /// The facts behind the verdict (at most 500 over all controls).
    pub evidence: Vec<compliance::Evidence>,
}

/// The `validate_security_controls` result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ValidationReport {
    /// Id of this validation.
    pub validation_id: String,
    /// The account validated, or `all accounts`.
    pub target: String,
    /// Per control, in the order given.
    pub controls: Vec<ValidatedControl>,
    /// Requirement counts.
    pub summary: compliance::StatusCounts,
    /// Evidence items in total.
    pub evidence_total: usize,
    /// Where the facts came from.
    pub data_sources: DataSources,
    /// ISO 8601.
    pub generated_at: String,
}

/// `validate_security_controls`: each named control from every source that
/// can speak to it.
pub async fn validate(cx: &Cx<'_>, args: ValidateArgs) -> Result<ToolOutput, ToolError> {
    let backend = cx.backend;
    let mut resolved = Vec::new();
    for id in &args.control_ids {
        let r = validation::resolve(id, &backend.frameworks)
            .map_err(|why| ToolError::validation("control_ids", why, json!({"control_id": id})))?;
        resolved.push(r);
    }
    let now = Timestamp::now();
    let selection = Selection {
        freshness: args.freshness,
        ..Selection::default()
    };
    let mut data = posture_data(backend, now, &selection).await?;
    let (mut inventories, mut findings) = (
        Cow::Borrowed(data.data.inventories()),
        Cow::Borrowed(data.data.findings()),
    );
    if let Some(account) = &args.target {
        let known = assessment::Known::from(&inventories, &findings);
        if !known.accounts.contains(account) {
            return Err(ToolError::validation(
                "target",
                format!("unknown account {account:?}; known: {}", known.accounts.join(", ")),
                json!({"allowed": known.accounts}),
            ));
        }
        inventories = Cow::Owned(
            inventories
                .iter()
                .filter(|i| &i.account_id == account)
                .cloned()
                .collect(),
        );
        findings = Cow::Owned(findings.iter().filter(|f| &f.account_id == account).cloned().collect());
        data.as_of.accounts.retain(|a| &a.account_id == account);
        data.as_of.missing_accounts.clear();
    }
    let report = validation::validate(&resolved, &inventories, &findings, data.sources(), now);
    let mut evidence = report.evidence.unwrap_or_default();
    let controls = resolved
        .iter()
        .zip(report.control_results)
        .map(|(r, result)| {
            let (mine, rest): (Vec<_>, Vec<_>) = evidence.drain(..).partition(|e| e.control_id == result.control_id);
            evidence = rest;
            ValidatedControl {
                control_id: result.control_id.clone(),
                resolved_as: r.kind.clone(),
                result,
                evidence: mine,
            }
        })
        .collect();
    let out = ValidationReport {
        validation_id: format!("VA-{}", uuid::Uuid::new_v4()),
        target: args.target.unwrap_or_else(|| "all accounts".into()),
        controls,
        summary: report.counts,
        evidence_total: report.evidence_total,
        data_sources: report.data_sources,
        generated_at: report.generated_at,
    };
    let text = render_validation(&out);
    serve(&out, &text, &data)
}

fn render_validation(r: &ValidationReport) -> String {
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

// ----------------------------------------------------------- recommendations

super::args::choice! {
    /// How `recommend_security_improvements` orders its recommendations.
    pub enum Strategy {
        CostEffective = "cost-effective",
        HighImpact = "high-impact",
        QuickWins = "quick-wins",
    }
}

/// A security area of `recommend_security_improvements`: a check service or
/// a group of them ([`focus_areas`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FocusArea(pub String);

impl schemars::JsonSchema for FocusArea {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FocusArea".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<String> = focus_areas().into_iter().map(|(name, _)| name).collect();
        schemars::json_schema!({"type": "string", "enum": names})
    }
}

/// Focus areas `recommend_security_improvements` accepts: each check service,
/// plus groups of them.
pub fn focus_areas() -> Vec<(String, Vec<String>)> {
    let mut areas: Vec<(String, Vec<String>)> = Vec::new();
    for c in posture_core::posture::checks::CHECKS {
        if !areas.iter().any(|(n, _)| n == c.service) {
            areas.push((c.service.to_string(), vec![c.service.to_string()]));
        }
    }
    let group = |name: &str, members: &[&str]| (name.to_string(), members.iter().map(|m| m.to_string()).collect());
    areas.push(group("identity", &["IAM", "IAM Access Analyzer"]));
    areas.push(group("data-protection", &["S3", "KMS"]));
    areas.push(group("logging", &["CloudTrail", "Config"]));
    areas.push(group("network", &["EC2"]));
    areas.push(group("threat-detection", &["GuardDuty", "Security Hub"]));
    areas
}

/// Arguments of `recommend_security_improvements`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendArgs {
    /// Recommendation priority strategy
    #[serde(default = "high_impact")]
    pub priority: Strategy,
    /// Whether to identify safe automated remediation options (nothing is ever applied)
    #[serde(default)]
    pub auto_implement_safe: bool,
    /// Maximum number of recommendations to return; total_recommendations gives the count before the cut
    #[serde(default = "twenty")]
    #[schemars(range(min = 1, max = 50))]
    pub max_recommendations: u32,
    /// Security areas to focus on (empty = all)
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub focus_areas: Vec<FocusArea>,
    /// Account ids to cover (empty = every account: of the latest complete run, or of live data)
    #[serde(default)]
    #[schemars(length(max = ACCOUNTS_LISTED), inner(length(max = 12)))]
    pub account_ids: Vec<String>,
    /// Regions to cover (empty = all; global resources such as IAM always count)
    #[serde(default)]
    #[schemars(length(max = 50), inner(length(max = 32)))]
    pub regions: Vec<String>,
    /// Only the accounts of this organizational unit and its children: an OU id (ou-abcd-12345678), name, or path of names (Workloads/Prod); answered from the latest run
    #[serde(default)]
    #[schemars(length(min = 1, max = 512))]
    pub organizational_unit: Option<String>,
    /// latest_run (the default when a run has completed: the organization's stored snapshots) or live (this server's accounts, read now)
    #[serde(default)]
    pub freshness: Option<Freshness>,
}

fn high_impact() -> Strategy {
    Strategy::HighImpact
}

fn twenty() -> u32 {
    20
}

/// `recommend_security_improvements`: failed checks and controls as ranked
/// recommendations.
pub async fn recommend(cx: &Cx<'_>, args: RecommendArgs) -> Result<ToolOutput, ToolError> {
    let backend = cx.backend;
    let areas = focus_areas();
    let wanted: Vec<String> = args
        .focus_areas
        .iter()
        .filter_map(|f| areas.iter().find(|(name, _)| *name == f.0))
        .flat_map(|(_, services)| services.iter().map(|s| s.to_ascii_lowercase()))
        .collect();
    let now = Timestamp::now();
    let selection = Selection {
        freshness: args.freshness,
        account_ids: &args.account_ids,
        regions: &args.regions,
        organizational_unit: args.organizational_unit.as_deref(),
    };
    let data = posture_data(backend, now, &selection).await?;
    let sources = data.sources();
    let outcomes: Vec<_> = compliance::outcomes(data.data.inventories())
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    // Accepted failures are not recommended again; they are listed instead.
    let (outcomes, findings, accepted_risks) = set_aside(
        &sources.exceptions,
        &backend.frameworks,
        outcomes,
        data.data.findings(),
        None,
    );
    let mut recs = recommendations::derive(&outcomes, &findings, &backend.frameworks);
    if !wanted.is_empty() {
        recs.retain(|r| wanted.contains(&r.area.to_ascii_lowercase()));
    }
    if !args.auto_implement_safe {
        for r in &mut recs {
            r.automation_available = false;
            r.remediation_steps.iter_mut().for_each(|s| s.safe_to_automate = false);
        }
    }
    let strategy = args.priority.as_str();
    let report = RecommendationsReport::new(
        format!("RA-{}", uuid::Uuid::new_v4()),
        strategy,
        recommendations::rank(recs, strategy),
        args.max_recommendations as usize,
        sources,
        accepted_risks,
        now,
    );
    let text = render_recommendations(&report);
    serve(&report, &text, &data)
}

fn render_recommendations(r: &RecommendationsReport) -> String {
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
    render_accepted(&mut s, &r.accepted_risks);
    s
}

/// The accepted failures left out of an answer, with their exceptions.
fn render_accepted(s: &mut String, accepted: &[posture_core::posture::acceptance::AcceptedRisk]) {
    if accepted.is_empty() {
        return;
    }
    let _ = writeln!(s, "Accepted risks (left out, {}):", accepted.len());
    for a in accepted.iter().take(LISTED) {
        let x = &a.suppressed;
        let _ = writeln!(
            s,
            "- {} {}: accepted by {} on {} until {} (exception {}: {})",
            a.control, x.resource, x.owner, x.accepted_on, x.expires, x.exception_id, x.reason
        );
    }
    if accepted.len() > LISTED {
        let _ = writeln!(s, "- … and {} more (see accepted_risks)", accepted.len() - LISTED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_are_bounded_in_number_and_length() {
        let schema = super::super::args::input_schema::<ValidateArgs>();
        assert_eq!(schema["properties"]["control_ids"]["items"]["maxLength"], 100);
        let long = serde_json::json!({"control_ids": ["x".repeat(1_000_000)]});
        let e = super::super::args::parse::<ValidateArgs>(long.as_object().unwrap(), &schema).unwrap_err();
        assert_eq!(e.context["field"], "control_ids");
        assert!(
            e.to_value().to_string().len() < 1_000,
            "the refusal does not echo the value"
        );
        let schema = super::super::args::input_schema::<ComplianceArgs>();
        assert_eq!(schema["properties"]["control_ids"]["items"]["maxLength"], 100);
    }

    /// A run of `collections` to answer from.
    fn served_run(collections: Vec<posture_core::ports::CollectedAccount>, now: Timestamp) -> Arc<ServedRun> {
        use posture_core::org::run::{self, RunTrigger};
        let record = run::queued(
            "20261126T060000Z-test",
            RunTrigger::Cli,
            now,
            jiff::SignedDuration::from_hours(1),
        );
        Arc::new(ServedRun::new(posture_core::org::served::RunData::new(
            record,
            collections,
        )))
    }

    #[test]
    fn a_region_selection_keeps_only_that_regions_unread_sources() {
        use posture_core::sources::{SourceErrorKind, SourceGap};
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let org = posture_core::demo::DemoOrganization::load(now).unwrap();
        let inventory = org.inventories[0].clone();
        let account = inventory.account_id.clone();
        let region = inventory.region.keys().next().unwrap().clone();
        let gap = |region: &str| SourceGap {
            service: posture_core::sources::SECURITY_HUB.into(),
            region: region.into(),
            error: Some(SourceErrorKind::Throttled),
            detail: "injected".into(),
        };
        let collected = posture_core::ports::CollectedAccount {
            inventory,
            findings: Vec::new(),
            gaps: vec![gap(&region), gap("elsewhere-1")],
            throttled: Vec::new(),
            stored: false,
        };
        let served = served_run(vec![collected], now);
        let whole = run_data(served.clone(), now, &Selection::default(), &LoadedExceptions::default()).unwrap();
        assert_eq!(whole.sources().account_source_gaps[&account].len(), 2);
        assert!(whole.cacheable.is_some());
        let regions = [region.clone()];
        let one = Selection {
            regions: &regions,
            ..Selection::default()
        };
        let narrowed = run_data(served, now, &one, &LoadedExceptions::default()).unwrap();
        assert_eq!(narrowed.sources().account_source_gaps[&account], vec![gap(&region)]);
        assert!(
            narrowed.cacheable.is_none(),
            "a selection's answer is not kept as the run's"
        );
        assert!(narrowed.sources().aws_tooling.iter().all(|t| t.region == region));
    }

    #[test]
    fn an_answer_kept_with_the_run_is_masked_once_and_served_masked() {
        let now: Timestamp = "2026-11-26T12:00:00Z".parse().unwrap();
        let data = run_data(
            served_run(Vec::new(), now),
            now,
            &Selection::default(),
            &LoadedExceptions::default(),
        )
        .unwrap();
        // An access key id is masked whatever secrets are configured.
        let answer = json!({"detail": "found AKIAABCDEFGHIJKLMNOP in a policy"});
        let first = keep_and_serve(&answer, "text".into(), "k".into(), &data).unwrap();
        let again = kept("k", &data).unwrap().unwrap();
        for out in [first, again] {
            assert!(out.kept.is_some(), "the server must not mask it again");
            let (kept, as_of) = out.kept.as_ref().unwrap();
            let detail = kept.value["detail"].as_str().unwrap();
            assert!(
                !detail.contains("AKIA") && detail.contains(posture_core::secrets::MASK),
                "{detail}"
            );
            assert!(!kept.head.contains("AKIA") && kept.head.starts_with('{') && !kept.head.ends_with('}'));
            assert!(as_of.is_object());
        }
        let once = serve(&answer, "text", &data).unwrap();
        assert!(once.kept.is_none(), "an answer for one call is masked by the server");
    }

    #[test]
    fn strategies_are_the_cores() {
        let ours: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(ours, recommendations::STRATEGIES);
    }

    #[test]
    fn every_focus_area_names_known_services() {
        let services: Vec<&str> = posture_core::posture::checks::CHECKS
            .iter()
            .map(|c| c.service)
            .collect();
        for (name, members) in focus_areas() {
            assert!(!members.is_empty(), "{name}");
            for m in members {
                assert!(services.contains(&m.as_str()), "{name}: {m}");
            }
        }
    }
}
