//! `analyze_security_findings`: threat analysis of the finding sources.

use super::args::{Threshold, default};
use super::call::{Cx, ToolOutput};
use super::scope::{Freshness, Ground, LiveMembers, Served, as_of_line, check_accounts, check_regions, fetch_all};
use super::scope::{ground, live_members, no_unit_live, unit_accounts};
use crate::backend::Backend;
use crate::error::ToolError;
use crate::serving::ServedRun;
use jiff::Timestamp;
use posture_core::finding::Finding;
use posture_core::findings::analysis::{
    self, AccountCoverage, AnalysisRequest, FindingsAnalysis, Merged, SourceStatus,
};
use posture_core::findings::attack;
use posture_core::findings::filter::FindingFilter;
use posture_core::org::served::{self, AccountAge, AsOf, FINDINGS_WINDOW_DAYS};
use posture_core::posture::inventory::Inventory;
use posture_core::sources::{FindingQuery, SourceGap, ThrottledRead};
use posture_core::time::TimeWindow;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `analyze_security_findings`.
pub const ANALYZE_SECURITY_FINDINGS: &str = "analyze_security_findings";

/// Findings listed in full in the text rendering.
const LISTED: usize = 10;

/// Arguments of `analyze_security_findings`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeArgs {
    /// Minimum severity level to include
    #[serde(default = "default::medium")]
    pub severity_threshold: Threshold,
    /// Number of days to look back for findings (by last update)
    #[serde(default = "thirty_days")]
    #[schemars(range(min = 1, max = 365))]
    pub time_range_days: u32,
    /// Whether to include remediation guidance
    #[serde(default = "default::yes")]
    pub include_remediation: bool,
    /// Maximum number of findings to analyze; the most severe and most recent are kept and coverage.truncated_at_max_findings says when more matched
    #[serde(default = "five_hundred")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_findings: u32,
    /// Account ids whose findings to analyze (empty = every account: of the latest complete run, or that the live sources see)
    #[serde(default)]
    #[schemars(length(max = 1000), inner(length(min = 12, max = 12)))]
    pub account_ids: Vec<String>,
    /// Regions whose findings to analyze (empty = all)
    #[serde(default)]
    #[schemars(length(max = 50), inner(length(max = 32)))]
    pub regions: Vec<String>,
    /// Only findings about this resource: its ARN, or its own id (an instance id, a bucket name)
    #[serde(default)]
    #[schemars(length(min = 1, max = 2048))]
    pub resource: Option<String>,
    /// Only findings involving this principal: a user or role ARN or name, an access key id, or a role session name
    #[serde(default)]
    #[schemars(length(min = 1, max = 2048))]
    pub principal: Option<String>,
    /// Only findings whose type starts with one of these (case-sensitive), e.g. "UnauthorizedAccess:IAMUser", "Recon:", "Software and Configuration Checks"
    #[serde(default)]
    #[schemars(length(max = 20), inner(length(min = 1, max = 256)))]
    pub finding_types: Vec<String>,
    /// Only the accounts of this organizational unit and its children: an OU id (ou-abcd-12345678), name, or path of names (Workloads/Prod); answered from the latest run
    #[serde(default)]
    #[schemars(length(min = 1, max = 512))]
    pub organizational_unit: Option<String>,
    /// latest_run (the default when a run has completed: every account's findings, every enabled region, as collected by that run) or live (the finding sources this server reads, now)
    #[serde(default)]
    pub freshness: Option<Freshness>,
}

/// Findings read per source for a live analysis: every count is over what
/// was read, so this is well above `max_findings`.
const LIVE_READ_PER_SOURCE: usize = 10_000;

fn thirty_days() -> u32 {
    30
}

fn five_hundred() -> u32 {
    500
}

/// `analyze_security_findings`: the latest complete run's findings (or the
/// sources read now), filtered, merged and analysed.
pub async fn analyze_findings(cx: &Cx<'_>, args: AnalyzeArgs) -> Result<ToolOutput, ToolError> {
    let catalog = attack::catalog().map_err(|e| ToolError::engine(format!("ATT&CK mapping data unusable: {e}")))?;
    let now = Timestamp::now();
    let days = args.time_range_days;
    let filter = FindingFilter {
        account_ids: args.account_ids,
        regions: args.regions,
        resource: args.resource,
        principal: args.principal,
        types: args.finding_types,
    };
    let mut query = FindingQuery {
        window: TimeWindow::last_days(now, days),
        min_severity: args.severity_threshold.severity(),
        max_findings: args.max_findings as usize,
        filter,
    };
    let unit = args.organizational_unit.as_deref();
    let scope = match ground(cx.backend, args.freshness).await? {
        Ground::Run(run) => {
            query.filter.account_ids = unit_accounts(&run, &query.filter.account_ids, unit)?;
            from_run(&run, &query, now)?
        }
        Ground::Live(note) => {
            no_unit_live(unit)?;
            match live_members(cx.backend, &query.filter.account_ids, &query.filter.regions).await? {
                Some(members) => from_members(members, &query, now, note)?,
                None => live(cx.backend, &query, now, note).await?,
            }
        }
    };
    let request = AnalysisRequest {
        query,
        days,
        include_remediation: args.include_remediation,
        analysis_id: format!("FA-{}", uuid::Uuid::new_v4()),
        now,
        view: scope.view.to_string(),
        accounts: scope.accounts,
        note: scope.note,
    };
    let result = analysis::analyze(scope.merged, &request, catalog);
    let text = as_of_line(&scope.as_of) + &render(&result);
    ToolOutput::new(
        &Served {
            answer: result,
            as_of: scope.as_of,
        },
        text,
    )
}

/// The findings an analysis covers and where they were read.
struct Scope {
    merged: Merged,
    view: &'static str,
    accounts: Vec<AccountCoverage>,
    note: Option<String>,
    as_of: AsOf,
}

/// The run's findings of the accounts and regions asked for: each account
/// was read through its collector role in every enabled region.
fn from_run(run: &ServedRun, query: &FindingQuery, now: Timestamp) -> Result<Scope, ToolError> {
    let filter = &query.filter;
    check_accounts(run, &filter.account_ids)?;
    let data = &run.data;
    let selected = |account: &str| filter.account_ids.is_empty() || filter.account_ids.iter().any(|a| a == account);
    let inventories: Vec<&Inventory> = data.inventories.iter().filter(|i| selected(&i.account_id)).collect();
    let reads = Reads {
        gaps: &data.source_gaps,
        throttled: &data.throttled,
    };
    let (merged, accounts) = collected(&inventories, reads, data.findings.iter(), query)?;
    let note = (query.window.days() > i64::from(FINDINGS_WINDOW_DAYS)).then(|| {
        format!(
            "the run holds findings updated within {FINDINGS_WINDOW_DAYS} days before each account's collection; \
             older ones are not covered"
        )
    });
    let mut as_of = data.as_of(inventories.iter().copied(), now);
    as_of.missing_accounts.retain(|m| selected(&m.account_id));
    Ok(Scope {
        merged,
        view: "latest_run",
        accounts,
        note,
        as_of,
    })
}

/// The named accounts collected now through their member roles.
fn from_members(
    members: LiveMembers,
    query: &FindingQuery,
    now: Timestamp,
    note: Option<String>,
) -> Result<Scope, ToolError> {
    let inventories: Vec<&Inventory> = members.collected.iter().map(|c| &c.inventory).collect();
    let gaps: BTreeMap<String, Vec<SourceGap>> = members
        .collected
        .iter()
        .map(|c| (c.inventory.account_id.clone(), c.gaps.clone()))
        .collect();
    let throttled = served::throttled_reads(members.collected.iter().map(AsRef::as_ref));
    let findings = members.collected.iter().flat_map(|c| c.findings.iter());
    let reads = Reads {
        gaps: &gaps,
        throttled: &throttled,
    };
    let (merged, accounts) = collected(&inventories, reads, findings, query)?;
    let mut as_of = served::live(inventories.iter().copied(), now, note);
    as_of.missing_accounts = members.missing;
    let note = (query.window.days() > i64::from(FINDINGS_WINDOW_DAYS))
        .then(|| format!("a collection holds findings updated within the last {FINDINGS_WINDOW_DAYS} days"));
    Ok(Scope {
        merged,
        view: "live",
        accounts,
        note,
        as_of,
    })
}

/// Per account, how its collection read the finding sources.
#[derive(Clone, Copy)]
struct Reads<'a> {
    /// Sources not read in full.
    gaps: &'a BTreeMap<String, Vec<SourceGap>>,
    /// Sources read in full through throttling.
    throttled: &'a BTreeMap<String, Vec<ThrottledRead>>,
}

/// The matching findings of collected accounts (each read through its
/// role in every region of its inventory), ranked, and per account what
/// was read.
fn collected<'a>(
    inventories: &[&Inventory],
    reads: Reads<'_>,
    findings: impl Iterator<Item = &'a Finding>,
    query: &FindingQuery,
) -> Result<(Merged, Vec<AccountCoverage>), ToolError> {
    let filter = &query.filter;
    let mut known: Vec<String> = inventories.iter().flat_map(|i| i.regions.iter().cloned()).collect();
    known.sort();
    known.dedup();
    check_regions(&filter.regions, known)?;
    let in_regions = |region: &str| filter.regions.is_empty() || filter.regions.iter().any(|r| r == region);
    let accounts: Vec<AccountCoverage> = inventories
        .iter()
        .map(|i| AccountCoverage {
            account_id: i.account_id.clone(),
            regions: i.regions.iter().filter(|r| in_regions(r)).cloned().collect(),
            unread: reads
                .gaps
                .get(&i.account_id)
                .map(|gaps| gaps.iter().filter(|g| in_regions(&g.region)).cloned().collect())
                .unwrap_or_default(),
            throttled: reads
                .throttled
                .get(&i.account_id)
                .map(|reads| reads.iter().filter(|t| in_regions(&t.region)).cloned().collect())
                .unwrap_or_default(),
            findings_matched: 0,
        })
        .collect();
    let mut matched: Vec<Finding> = findings.filter(|f| query.admits(f)).cloned().collect();
    analysis::rank(&mut matched);
    let merged = Merged {
        sources: collected_sources(&matched, &accounts),
        findings: matched,
        duplicates_removed: 0,
        // A source that had more findings than a collection keeps.
        truncated: accounts.iter().any(|a| a.unread.iter().any(|g| g.error.is_none())),
    };
    Ok((merged, accounts))
}

/// Per finding API, what the collections read through it: `partial` when
/// it could not be read in some account and region (`coverage.accounts`
/// says where); a service that is off there had nothing to give.
fn collected_sources(findings: &[Finding], accounts: &[AccountCoverage]) -> Vec<SourceStatus> {
    let mut per_service: BTreeMap<String, (usize, bool)> = BTreeMap::new();
    for a in accounts {
        for gap in &a.unread {
            per_service.entry(gap.service.clone()).or_default().1 |= gap.error.is_some_and(|k| k.leaves_unread());
        }
    }
    for f in findings {
        for channel in &f.channels {
            per_service.entry(channel.name().to_string()).or_default().0 += 1;
        }
    }
    per_service
        .into_iter()
        .map(|(service, (n, failed_somewhere))| SourceStatus {
            service,
            status: if failed_somewhere { "partial" } else { "ok" }.into(),
            findings: n,
            records_read: n,
            more_available: false,
            rejected_records: 0,
            error: None,
        })
        .collect()
}

/// The sources this server reads, now.
async fn live(
    backend: &Backend,
    query: &FindingQuery,
    now: Timestamp,
    note: Option<String>,
) -> Result<Scope, ToolError> {
    let read = FindingQuery {
        max_findings: LIVE_READ_PER_SOURCE.max(query.max_findings),
        ..query.clone()
    };
    let results = fetch_all(backend, &read).await;
    let errors: Vec<_> = results.iter().filter_map(|(_, r)| r.as_ref().err().cloned()).collect();
    if !results.is_empty() && errors.len() == results.len() {
        return Err(ToolError::all_sources_failed(&errors));
    }
    let merged = analysis::merge_all(results);
    let mut as_of = served::live(std::iter::empty(), now, note);
    as_of.time = Some(now.to_string());
    let mut seen: Vec<&str> = merged.findings.iter().map(|f| f.account_id.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    as_of.accounts = seen
        .into_iter()
        .map(|account_id| AccountAge {
            account_id: account_id.to_string(),
            collected_at: now.to_string(),
            age_seconds: 0,
        })
        .collect();
    Ok(Scope {
        merged,
        view: "live",
        accounts: Vec::new(),
        note: None,
        as_of,
    })
}

/// `analyze_security_findings`.
fn render(a: &FindingsAnalysis) -> String {
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
    if let Some(note) = &a.coverage.note {
        let _ = writeln!(s, "Note: {note}.");
    }
    let throttled: Vec<String> = a
        .coverage
        .accounts
        .iter()
        .flat_map(|acc| {
            acc.throttled
                .iter()
                .map(move |t| format!("{} {} {}", acc.account_id, t.region, t.service))
        })
        .collect();
    if !throttled.is_empty() {
        let _ = writeln!(
            s,
            "Read in full, though AWS throttled and the collector retried: {}.",
            throttled.join(", ")
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use posture_core::severity::Severity;
    use posture_core::sources::SECURITY_HUB;
    use posture_core::time::TimeWindow;

    #[test]
    fn a_service_that_is_off_is_not_a_partial_source_but_a_refused_one_is() {
        use posture_core::sources::{SourceErrorKind, SourceGap};
        let gap = |service: &str, kind| SourceGap {
            service: service.into(),
            region: "eu-west-1".into(),
            error: Some(kind),
            detail: String::new(),
        };
        let accounts = [AccountCoverage {
            account_id: "111122223333".into(),
            regions: vec!["eu-west-1".into()],
            unread: vec![
                gap("Macie", SourceErrorKind::NotEnabled),
                gap("Inspector", SourceErrorKind::Authentication),
            ],
            throttled: Vec::new(),
            findings_matched: 0,
        }];
        let status: BTreeMap<String, String> = collected_sources(&[], &accounts)
            .into_iter()
            .map(|s| (s.service, s.status))
            .collect();
        assert_eq!(status["Macie"], "ok");
        assert_eq!(status["Inspector"], "partial");
    }

    #[test]
    fn a_read_completed_through_throttling_is_in_the_coverage_of_its_account_and_region() {
        let inventory = Inventory {
            account_id: "111122223333".into(),
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            ..Inventory::default()
        };
        let throttled_in = |region: &str| ThrottledRead {
            service: SECURITY_HUB.into(),
            region: region.into(),
            attempts: 3,
        };
        let throttled = BTreeMap::from([(
            "111122223333".to_string(),
            vec![throttled_in("eu-west-1"), throttled_in("us-east-1")],
        )]);
        let reads = Reads {
            gaps: &BTreeMap::new(),
            throttled: &throttled,
        };
        let mut query = FindingQuery {
            window: TimeWindow::last_days(Timestamp::now(), 30),
            min_severity: Severity::Informational,
            max_findings: 10,
            filter: Default::default(),
        };
        query.filter.regions = vec!["us-east-1".into()];
        let (merged, accounts) = collected(&[&inventory], reads, std::iter::empty(), &query).unwrap();
        assert_eq!(
            accounts[0].throttled,
            vec![throttled_in("us-east-1")],
            "only the regions asked for"
        );
        assert!(accounts[0].unread.is_empty());
        assert!(!merged.truncated, "throttled but complete is not truncated");
    }
}
