//! `investigate_security_incident`: what happened around one finding,
//! principal, resource or IP address — the organization's findings of the
//! latest run (or read now), CloudTrail event history of every account
//! involved (one hop into the accounts whose roles were assumed), and the
//! assembled timeline, actors, blast radius and steps.

use super::call::{Cx, ToolOutput};
use super::scope::{Freshness, Ground, Served, as_of_line, fetch_all, ground};
use crate::error::ToolError;
use jiff::{SignedDuration, Timestamp};
use posture_core::config_history::ConfigResource;
use posture_core::events::{EVENT_HISTORY_DAYS, EventFilter, EventQuery, GLOBAL_EVENTS_REGION};
use posture_core::finding::Finding;
use posture_core::findings::attack;
use posture_core::findings::filter::FindingFilter;
use posture_core::investigation::{
    self, Evidence, Investigation, Lookup, Resolved, ResourceHistory, Subject, SubjectError,
};
use posture_core::org::served;
use posture_core::posture::inventory::Inventory;
use posture_core::severity::Severity;
use posture_core::sources::FindingQuery;
use posture_core::time::TimeWindow;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::fmt::Write;

/// `investigate_security_incident`.
pub const INVESTIGATE_SECURITY_INCIDENT: &str = "investigate_security_incident";

/// Accounts entered through a cross-account hop, at most.
const MAX_HOP_ACCOUNTS: usize = 5;

/// Findings read per source for a live investigation.
const LIVE_READ_PER_SOURCE: usize = 10_000;

/// Timeline entries shown in the text rendering.
const LISTED: usize = 25;

/// AWS Config items read for a resource subject, at most.
const MAX_CONFIG_ITEMS: usize = 200;

/// Arguments of `investigate_security_incident`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvestigateArgs {
    /// Subject: a Security Hub finding id, or a GuardDuty finding id or ARN
    #[serde(default)]
    #[schemars(length(min = 1, max = 1024))]
    pub finding_id: Option<String>,
    /// Subject: an IAM principal ARN (user, role, assumed-role session, root) or an access key id (AKIA.../ASIA...)
    #[serde(default)]
    #[schemars(length(min = 1, max = 2048))]
    pub principal: Option<String>,
    /// Subject: a resource ARN or id (instance id, bucket name, key id)
    #[serde(default)]
    #[schemars(length(min = 1, max = 2048))]
    pub resource: Option<String>,
    /// Subject: a source IP address (IPv4 or IPv6)
    #[serde(default)]
    #[schemars(length(min = 2, max = 64))]
    pub ip_address: Option<String>,
    /// An account to read CloudTrail in besides those of the related findings (needed when no finding names the subject)
    #[serde(default)]
    #[schemars(length(min = 12, max = 12))]
    pub account_id: Option<String>,
    /// Window start, RFC 3339 (default: 24 hours before the first related finding, or 24 hours ago); at most 90 days ago (CloudTrail event history)
    #[serde(default)]
    #[schemars(length(min = 20, max = 40))]
    pub start_time: Option<String>,
    /// Window end, RFC 3339 (default: now)
    #[serde(default)]
    #[schemars(length(min = 20, max = 40))]
    pub end_time: Option<String>,
    /// Regions to read CloudTrail in (default: those of the related findings); us-east-1 is always read, for IAM and STS events
    #[serde(default)]
    #[schemars(length(max = 50), inner(length(max = 32)))]
    pub regions: Vec<String>,
    /// Most CloudTrail events read per account, filter and Region; coverage says where it cut
    #[serde(default = "two_hundred")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_events_per_region: u32,
    /// Most timeline entries returned; timeline_total counts them all
    #[serde(default = "two_hundred")]
    #[schemars(range(min = 1, max = 2000))]
    pub max_timeline: u32,
    /// latest_run (the default when a run has completed: the organization's findings as collected) or live (the finding sources this server reads, now)
    #[serde(default)]
    pub freshness: Option<Freshness>,
}

fn two_hundred() -> u32 {
    200
}

fn time_arg(field: &str, text: Option<&str>) -> Result<Option<Timestamp>, ToolError> {
    text.map(|t| {
        t.parse::<Timestamp>().map_err(|_| {
            ToolError::validation(
                field,
                format!("{field} {t:?} is not an RFC 3339 time (2026-12-01T10:00:00Z)"),
                serde_json::json!({}),
            )
        })
    })
    .transpose()
}

/// The window: as given (checked against CloudTrail's 90 days), or from
/// the first related finding; notes say how it was chosen.
fn window(
    args: &InvestigateArgs,
    resolved: &Resolved,
    now: Timestamp,
) -> Result<((Timestamp, Timestamp), Vec<String>), ToolError> {
    let start = time_arg("start_time", args.start_time.as_deref())?;
    let end = time_arg("end_time", args.end_time.as_deref())?;
    let history_start = now - SignedDuration::from_hours(24 * EVENT_HISTORY_DAYS);
    let mut notes = Vec::new();
    let end = match end {
        Some(e) if e > now => {
            notes.push(format!("end_time {e} is in the future: the window ends now"));
            now
        }
        Some(e) => e,
        None => now,
    };
    let start = match start {
        Some(s) if s < history_start => {
            return Err(ToolError::validation(
                "start_time",
                format!(
                    "start_time {s} is more than {EVENT_HISTORY_DAYS} days ago: CloudTrail event history starts at \
                     {history_start}"
                ),
                serde_json::json!({"earliest": history_start.to_string()}),
            ));
        }
        Some(s) => s,
        None => match resolved.first_finding {
            Some(first) if first - SignedDuration::from_hours(24) < history_start => {
                notes.push(format!(
                    "the first related finding ({first}) is older than CloudTrail's {EVENT_HISTORY_DAYS}-day event \
                     history: the window starts at its limit, earlier events cannot be read"
                ));
                history_start
            }
            Some(first) => {
                notes.push(format!("24 hours before the first related finding ({first})"));
                first - SignedDuration::from_hours(24)
            }
            None => {
                notes.push("no related finding dates the incident: the last 24 hours".into());
                now - SignedDuration::from_hours(24)
            }
        },
    };
    if end < start {
        return Err(ToolError::validation(
            "end_time",
            format!("end_time {end} is before start_time {start}"),
            serde_json::json!({}),
        ));
    }
    Ok(((start, end), notes))
}

/// `investigate_security_incident`.
pub async fn investigate(cx: &Cx<'_>, args: InvestigateArgs) -> Result<ToolOutput, ToolError> {
    let catalog = attack::catalog().map_err(|e| ToolError::engine(format!("ATT&CK mapping data unusable: {e}")))?;
    let subject = Subject::parse(
        args.finding_id.as_deref(),
        args.principal.as_deref(),
        args.resource.as_deref(),
        args.ip_address.as_deref(),
    )
    .map_err(|e| subject_error(&e))?;
    if let Some(a) = &args.account_id
        && !a.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(ToolError::validation(
            "account_id",
            format!("account_id {a:?} is not a 12-digit account id"),
            serde_json::json!({}),
        ));
    }
    let now = Timestamp::now();
    // Check the window's own arguments before reading anything.
    window(&args, &unresolved(subject.clone()), now)?;
    // The run's findings are borrowed, not copied: a run holds up to
    // SERVED_FINDINGS of them.
    let run;
    let read;
    let (findings, inventories, as_of, mut unread): (&[Finding], &[Inventory], _, _) =
        match ground(cx.backend, args.freshness).await? {
            Ground::Run(served) => {
                run = served;
                let as_of = run.data.as_of(run.data.inventories.iter(), now);
                (
                    run.data.findings.as_slice(),
                    run.data.inventories.as_slice(),
                    as_of,
                    Vec::new(),
                )
            }
            Ground::Live(note) => {
                read = live(cx, now, note).await?;
                (
                    read.findings.as_slice(),
                    read.inventories.as_slice(),
                    read.as_of.clone(),
                    read.unread.clone(),
                )
            }
        };
    let resolved = investigation::resolve(subject, findings);
    if let Subject::Finding(id) = &resolved.subject
        && resolved.related.is_empty()
    {
        return Err(ToolError::validation(
            "finding_id",
            format!(
                "no finding {id:?} among the {} findings this answer reads (the latest run's, or the live sources')",
                findings.len()
            ),
            serde_json::json!({}),
        ));
    }
    let (span, window_notes) = window(&args, &resolved, now)?;
    let lookups = read_events(cx, &args, &resolved, span, now, &mut unread).await;
    let config_history = read_config_history(cx, &args, &resolved, span, &mut unread).await;
    let involved: BTreeSet<&str> = resolved
        .accounts
        .iter()
        .map(String::as_str)
        .chain(lookups.iter().map(|l| l.account_id.as_str()))
        .collect();
    let inventories: Vec<&Inventory> = inventories
        .iter()
        .filter(|i| involved.contains(i.account_id.as_str()))
        .collect();
    let evidence = Evidence {
        resolved: &resolved,
        findings,
        lookups: &lookups,
        inventories: &inventories,
        window: span,
        window_notes,
        max_timeline: args.max_timeline as usize,
        config_history: &config_history,
    };
    let mut answer = investigation::assemble(&evidence, catalog);
    answer.coverage.unread.extend(unread);
    let text = as_of_line(&as_of) + &render(&answer);
    ToolOutput::new(&Served { answer, as_of }, text)
}

/// AWS Config's history of a resource subject over the window, in the
/// account and Region its ARN names (else those of its findings, else
/// `account_id` and the first of `regions`; IAM in us-east-1).
async fn read_config_history(
    cx: &Cx<'_>,
    args: &InvestigateArgs,
    resolved: &Resolved,
    window: (Timestamp, Timestamp),
    unread: &mut Vec<String>,
) -> Vec<ResourceHistory> {
    let (Subject::Resource(resource), Some(history)) = (&resolved.subject, &cx.backend.events) else {
        return Vec::new();
    };
    let Some(config) = ConfigResource::from_subject(resource) else {
        unread.push(format!(
            "AWS Config history: the resource type of {resource:?} is not known (give the resource's ARN)"
        ));
        return Vec::new();
    };
    let account = config
        .account_id
        .clone()
        .or_else(|| resolved.accounts.first().cloned())
        .or_else(|| args.account_id.clone());
    let Some(account_id) = account else {
        unread.push("AWS Config history: no account is known for the resource: give account_id".into());
        return Vec::new();
    };
    let region = match &config.region {
        Some(region) => region.clone(),
        None if config.is_global() => GLOBAL_EVENTS_REGION.to_string(),
        None => resolved
            .regions
            .first()
            .or(args.regions.first())
            .cloned()
            .unwrap_or_else(|| GLOBAL_EVENTS_REGION.to_string()),
    };
    let read = history
        .config_history(&account_id, &region, &config, window, MAX_CONFIG_ITEMS)
        .await;
    let (baseline, changes, truncated, error) = match read {
        Ok(h) => (h.baseline, h.changes, h.truncated, None),
        Err(e) => (None, Vec::new(), false, Some(e.to_string())),
    };
    vec![ResourceHistory {
        resource: config,
        account_id,
        region,
        baseline,
        changes,
        truncated,
        error,
    }]
}

/// The subject before any finding is read (to check the window early).
fn unresolved(subject: Subject) -> Resolved {
    investigation::resolve(subject, &[])
}

fn subject_error(e: &SubjectError) -> ToolError {
    ToolError::validation(e.field(), e.to_string(), serde_json::json!({}))
}

/// What a live investigation stands on.
struct LiveRead {
    findings: Vec<Finding>,
    inventories: Vec<Inventory>,
    as_of: served::AsOf,
    /// Sources that could not be read.
    unread: Vec<String>,
}

/// Findings of the sources this server reads (90 days, every severity) and
/// its inventories, now.
async fn live(cx: &Cx<'_>, now: Timestamp, note: Option<String>) -> Result<LiveRead, ToolError> {
    let query = FindingQuery {
        window: TimeWindow::last_days(now, EVENT_HISTORY_DAYS as u32),
        min_severity: Severity::Informational,
        max_findings: LIVE_READ_PER_SOURCE,
        filter: FindingFilter::default(),
    };
    let results = fetch_all(cx.backend, &query).await;
    let errors: Vec<_> = results.iter().filter_map(|(_, r)| r.as_ref().err().cloned()).collect();
    if !results.is_empty() && errors.len() == results.len() {
        return Err(ToolError::all_sources_failed(&errors));
    }
    let mut unread: Vec<String> = errors.iter().map(|e| format!("findings: {e}")).collect();
    let merged = posture_core::findings::analysis::merge_all(results);
    let inventories = match cx.backend.inventories.inventories().await {
        Ok(i) => i,
        Err(e) => {
            unread.push(format!("inventories (blast radius): {e}"));
            Vec::new()
        }
    };
    let as_of = served::live(inventories.iter(), now, note);
    Ok(LiveRead {
        findings: merged.findings,
        inventories,
        as_of,
        unread,
    })
}

/// Every lookup: the accounts involved with the subject's keys, then the
/// accounts entered through an assumed role with the session's key.
async fn read_events(
    cx: &Cx<'_>,
    args: &InvestigateArgs,
    resolved: &Resolved,
    (start, end): (Timestamp, Timestamp),
    now: Timestamp,
    unread: &mut Vec<String>,
) -> Vec<Lookup> {
    let Some(history) = &cx.backend.events else {
        unread.push("CloudTrail event history is not read by this deployment".into());
        return Vec::new();
    };
    let regions: Vec<String> = if args.regions.is_empty() {
        resolved.regions.iter().cloned().collect()
    } else {
        args.regions.clone()
    };
    let mut accounts: BTreeSet<String> = resolved.accounts.clone();
    accounts.extend(args.account_id.iter().cloned());
    if accounts.is_empty() {
        unread
            .push("no finding names the subject, so no account is known to read CloudTrail in: give account_id".into());
        return Vec::new();
    }
    let filters = investigation::lookups(&resolved.keys);
    let first: Vec<(String, EventFilter)> = accounts
        .iter()
        .flat_map(|a| filters.iter().map(move |f| (a.clone(), f.clone())))
        .collect();
    let budget = args.max_events_per_region as usize;
    let query = |filter: EventFilter| EventQuery::new(Some(filter), start, end, budget, now);
    let run = |batch: Vec<(String, EventFilter)>| {
        let regions = &regions;
        futures::future::join_all(batch.into_iter().filter_map(move |(account_id, filter)| {
            let q = query(filter.clone()).ok()?;
            Some(async move {
                let result = history.lookup(&account_id, regions, &q).await;
                Lookup {
                    account_id,
                    filter,
                    result,
                }
            })
        }))
    };
    let mut lookups = run(first.clone()).await;
    let events: Vec<_> = lookups
        .iter()
        .filter_map(|l| l.result.as_ref().ok())
        .flat_map(|t| t.events.iter().cloned())
        .collect();
    let mut hops: Vec<(String, EventFilter)> = investigation::hops(&events)
        .into_iter()
        .filter(|h| !first.contains(h))
        .collect();
    let hop_accounts: BTreeSet<&str> = hops.iter().map(|(a, _)| a.as_str()).collect();
    if hop_accounts.len() > MAX_HOP_ACCOUNTS {
        unread.push(format!(
            "roles in {} other accounts were assumed; the first {MAX_HOP_ACCOUNTS} were followed",
            hop_accounts.len()
        ));
        let kept: BTreeSet<String> = hop_accounts
            .iter()
            .take(MAX_HOP_ACCOUNTS)
            .map(|a| a.to_string())
            .collect();
        hops.retain(|(a, _)| kept.contains(a));
    }
    lookups.extend(run(hops).await);
    lookups
}

fn render(r: &Investigation) -> String {
    let mut s = format!(
        "\n# Investigation: {} {}\n\n{}\n",
        r.subject.kind, r.subject.value, r.summary
    );
    let _ = writeln!(s, "\nWindow: {} to {}", r.window.start, r.window.end);
    for n in &r.window.notes {
        let _ = writeln!(s, "  ({n})");
    }
    if !r.timeline.is_empty() {
        let _ = writeln!(s, "\n## Timeline ({} entries)", r.timeline_total);
        for e in r.timeline.iter().take(LISTED) {
            let _ = writeln!(
                s,
                "- {} [{}] {} {} {} by {} from {}{}",
                e.time,
                e.kind,
                e.account_id,
                e.region,
                e.what,
                e.actor.as_deref().unwrap_or("-"),
                e.source_ip.as_deref().unwrap_or("-"),
                e.error_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
            );
        }
        if r.timeline_total > LISTED {
            let _ = writeln!(s, "- ... {} more in the structured content", r.timeline_total - LISTED);
        }
    }
    if !r.actors.is_empty() {
        let _ = writeln!(s, "\n## Actors");
        for a in &r.actors {
            let usual = match a.seen_before_incident {
                Some(true) => ", seen before the incident",
                Some(false) => ", new with the incident",
                None => "",
            };
            let _ = writeln!(
                s,
                "- {} {}: {} events, {} findings, {} to {}{usual}",
                a.kind, a.value, a.events, a.findings, a.first_seen, a.last_seen
            );
        }
    }
    if !r.tactics.is_empty() {
        let names: Vec<&str> = r.tactics.iter().map(|t| t.name.as_str()).collect();
        let _ = writeln!(s, "\nATT&CK tactics: {}", names.join(" → "));
    }
    for h in &r.config_history {
        let _ = write!(
            s,
            "\nAWS Config history of {} {} in {} {}: ",
            h.resource.resource_type, h.resource.resource_name, h.account_id, h.region
        );
        let _ = match (&h.error, &h.baseline) {
            (Some(e), _) => writeln!(s, "not read: {e}"),
            (None, baseline) => writeln!(
                s,
                "{} change(s) in the window{}{}",
                h.changes.len(),
                baseline
                    .as_ref()
                    .map(|b| format!(", as recorded at {} before it", b.time))
                    .unwrap_or_default(),
                if h.truncated { " (more recorded than read)" } else { "" }
            ),
        };
        for c in &h.changes {
            let changed = if c.changed.is_empty() {
                String::new()
            } else {
                format!(": {} changed", c.changed.join(", "))
            };
            let _ = writeln!(s, "- {} {}{changed}", c.time, c.status);
        }
    }
    for b in &r.blast_radius {
        let access: Vec<String> = b
            .sensitive_access
            .iter()
            .map(|a| format!("{} ({})", a.service, a.actions.join(", ")))
            .collect();
        let _ = writeln!(
            s,
            "\nBlast radius of {} {} in {}: {}{}{}",
            b.kind,
            b.principal,
            b.account_id,
            if access.is_empty() {
                "no sensitive access read".to_string()
            } else {
                access.join("; ")
            },
            if b.assumed_roles_seen.is_empty() {
                String::new()
            } else {
                format!("; assumed {}", b.assumed_roles_seen.join(", "))
            },
            if b.complete { "" } else { " (partial: see unread)" }
        );
    }
    if !r.steps.is_empty() {
        let _ = writeln!(s, "\n## Steps (advice: this server changes nothing)");
        for st in &r.steps {
            let _ = writeln!(
                s,
                "- [{}] {} — {} ({}; {})",
                st.phase, st.action, st.target, st.aws_action, st.doc_url
            );
        }
    }
    if !r.coverage.unread.is_empty() || r.coverage.truncated {
        let _ = writeln!(s, "\n## Not read");
        for u in &r.coverage.unread {
            let _ = writeln!(s, "- {u}");
        }
        if r.coverage.truncated {
            let _ = writeln!(
                s,
                "- a lookup stopped at max_events_per_region (coverage.lookups says where)"
            );
        }
    }
    s
}
