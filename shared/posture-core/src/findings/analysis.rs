//! Findings analysis (`analyze_security_findings`): merge and de-duplicate
//! what the sources returned, map to ATT&CK, correlate, summarize the threat
//! landscape and plan remediation.
//!
//! Trend rule: the window is cut at its midpoint; findings are counted by
//! when they were first seen (findings first seen before the window count in
//! the first half). INCREASING when the second half has at least 25% more and
//! at least 2 more findings than the first; DECREASING when it has at least
//! 20% fewer and at least 2 fewer; STABLE otherwise.
//!
//! Risk score (0–100): `100 × (1 − e^(−w/40))` where `w` sums per open finding
//! CRITICAL 10, HIGH 5, MEDIUM 2, LOW 0.5; raised to the highest attack
//! pattern's risk score when that is higher.

use crate::finding::{Finding, SourceService};
use crate::findings::attack::{Catalog, Mapping};
use crate::findings::correlate::{AttackPattern, correlate};
use crate::findings::remediation::{RemediationPlan, build_plan};
use crate::severity::Severity;
use crate::sources::{FindingQuery, SourceBatch, SourceError, SourceGap};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many high-risk findings are listed in full; the total is always given.
pub const HIGH_RISK_LIST_LIMIT: usize = 50;

/// What happened to one source during an analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceStatus {
    /// Service name.
    pub service: String,
    /// `ok`, `failed`, or `partial` (answered from a run: not read in some
    /// account and region, `coverage.accounts` says where).
    pub status: String,
    /// Findings it contributed (before de-duplication).
    pub findings: usize,
    /// Raw records read.
    pub records_read: usize,
    /// True when it had more matching findings than `max_findings`.
    pub more_available: bool,
    /// Records it returned that could not be read.
    pub rejected_records: usize,
    /// The failure, when `failed`.
    pub error: Option<SourceError>,
}

/// Findings of all sources, merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// De-duplicated findings, most severe and most recent first ([`rank`];
    /// at most `max_findings` after [`merge`]).
    pub findings: Vec<Finding>,
    /// Findings seen through two channels and kept once.
    pub duplicates_removed: usize,
    /// Per-source outcome.
    pub sources: Vec<SourceStatus>,
    /// True when a source had more findings than it returned, or [`merge`]
    /// dropped some past `max_findings`.
    pub truncated: bool,
}

/// Merges source results ([`merge_all`]) and keeps the first
/// `max_findings`.
pub fn merge(results: Vec<(String, Result<SourceBatch, SourceError>)>, query: &FindingQuery) -> Merged {
    let mut merged = merge_all(results);
    merged.truncated |= merged.findings.len() > query.max_findings;
    merged.findings.truncate(query.max_findings);
    merged
}

/// Merges source results: de-duplicates findings that arrived through both
/// their own service's API and Security Hub (the direct copy is kept, it is
/// richer) and orders by severity then recency ([`rank`]); `truncated` says
/// a source had more than it returned.
pub fn merge_all(results: Vec<(String, Result<SourceBatch, SourceError>)>) -> Merged {
    let mut sources = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let mut all: Vec<Finding> = Vec::new();
    let mut duplicates_removed = 0;
    let mut more_available = false;
    for (service, result) in results {
        match result {
            Ok(batch) => {
                more_available |= batch.more_available;
                sources.push(SourceStatus {
                    service,
                    status: "ok".into(),
                    findings: batch.findings.len(),
                    records_read: batch.records_read,
                    more_available: batch.more_available,
                    rejected_records: batch.rejected_total,
                    error: None,
                });
                for f in batch.findings {
                    match by_key.get(&f.dedup_key) {
                        Some(&i) => {
                            duplicates_removed += 1;
                            let kept = &mut all[i];
                            let (mut winner, loser) = if f.channels.iter().any(|c| c.is_direct()) {
                                (f, kept.clone())
                            } else {
                                (kept.clone(), f)
                            };
                            for c in loser.channels {
                                if !winner.channels.contains(&c) {
                                    winner.channels.push(c);
                                }
                            }
                            if winner.remediation_text.is_none() {
                                winner.remediation_text = loser.remediation_text;
                            }
                            *kept = winner;
                        }
                        None => {
                            by_key.insert(f.dedup_key.clone(), all.len());
                            all.push(f);
                        }
                    }
                }
            }
            Err(error) => sources.push(SourceStatus {
                service,
                status: "failed".into(),
                findings: 0,
                records_read: 0,
                more_available: false,
                rejected_records: 0,
                error: Some(error),
            }),
        }
    }
    rank(&mut all);
    Merged {
        findings: all,
        duplicates_removed,
        sources,
        truncated: more_available,
    }
}

/// Orders findings most severe first, then by score, then most recent.
pub fn rank(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.severity_score.total_cmp(&a.severity_score))
            .then(b.updated_at.cmp(&a.updated_at))
            .then(a.id.cmp(&b.id))
    });
}

/// The time range of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimeRange {
    /// ISO 8601.
    pub start_date: String,
    /// ISO 8601.
    pub end_date: String,
    /// Days.
    pub days: u32,
}

/// Summary of the threats found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ThreatLandscape {
    /// Findings analysed.
    pub total_threats: usize,
    /// Findings still open (not resolved, not a passed check).
    pub active_threats: usize,
    /// Count per category (GuardDuty threat purpose, or ASFF `Namespace/Category`).
    pub threat_categories: BTreeMap<String, usize>,
    /// Count per severity label.
    pub severity_counts: BTreeMap<String, usize>,
    /// Count per producing service.
    pub source_counts: BTreeMap<String, usize>,
    /// Count per account.
    pub account_counts: BTreeMap<String, usize>,
    /// Count per region.
    pub region_counts: BTreeMap<String, usize>,
    /// 0–100 (rule in the module documentation).
    pub risk_score: u32,
    /// INCREASING, STABLE or DECREASING.
    pub trend: String,
    /// The counts the trend compares.
    pub trend_basis: TrendBasis,
}

/// The counts behind the trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrendBasis {
    /// Midpoint of the window.
    pub split_at: String,
    /// Findings first seen before the midpoint.
    pub first_half: usize,
    /// Findings first seen at or after it.
    pub second_half: usize,
}

/// A finding worth immediate attention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HighRiskFinding {
    /// Finding id.
    pub finding_id: String,
    /// Title.
    pub title: String,
    /// Severity label.
    pub severity: String,
    /// Description.
    pub description: String,
    /// Producing service.
    pub source_service: String,
    /// Finding type.
    pub finding_type: String,
    /// Account.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// `tactic:`, `technique:`, `remote_ip:`, `api:`, `domain:` indicators.
    pub attack_indicators: Vec<String>,
    /// Resources (short ids).
    pub affected_resources: Vec<String>,
    /// Last activity.
    pub last_seen: String,
    /// Attack pattern this finding belongs to.
    pub attack_pattern_id: Option<String>,
}

/// One account an analysis covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountCoverage {
    /// The account.
    pub account_id: String,
    /// Regions whose findings were read (empty when only the findings'
    /// own regions are known: a live read of the sources this server reads).
    pub regions: Vec<String>,
    /// Sources not read in full, per region, and why.
    pub unread: Vec<SourceGap>,
    /// Sources read in full although AWS throttled some of their requests
    /// (the retries carried them through), per region.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttled: Vec<crate::sources::ThrottledRead>,
    /// Its findings that matched, before `max_findings`.
    pub findings_matched: usize,
}

/// How the analysis came about: sources, counts, limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Coverage {
    /// True when a source failed, or an account's source could not be read
    /// in a region: the result stands on the rest.
    pub partial: bool,
    /// Where the findings were read: `latest_run` (each account through
    /// its collector role, every enabled region, at the run's time) or
    /// `live` (the sources this server reads, now).
    pub view: String,
    /// Per-source outcome.
    pub sources: Vec<SourceStatus>,
    /// Accounts covered, with their regions and unread sources.
    pub accounts: Vec<AccountCoverage>,
    /// Findings that matched the window, threshold and filters; every count
    /// of `threat_landscape` is over these.
    pub findings_matched: usize,
    /// Findings analysed in detail (correlation, listing, remediation):
    /// the first `max_findings` of those matched, most severe first.
    pub findings_analyzed: usize,
    /// Findings that arrived through both GuardDuty and Security Hub.
    pub duplicates_removed: usize,
    /// True when more findings matched than `max_findings`, or a source had
    /// more than it returned.
    pub truncated_at_max_findings: bool,
    /// High-risk findings in total (the list shows at most 50, and at most
    /// `max_findings`).
    pub high_risk_findings_total: usize,
    /// What limits the answer beyond the above, when something does.
    pub note: Option<String>,
}

/// The `analyze_security_findings` result (seed 000 fields plus coverage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FindingsAnalysis {
    /// Id of this analysis.
    pub analysis_id: String,
    /// The window analysed.
    pub time_range: TimeRange,
    /// Threat summary.
    pub threat_landscape: ThreatLandscape,
    /// Correlated attack patterns, riskiest first.
    pub attack_patterns: Vec<AttackPattern>,
    /// Riskiest findings first.
    pub high_risk_findings: Vec<HighRiskFinding>,
    /// Present when remediation was asked for.
    pub remediation_plan: Option<RemediationPlan>,
    /// Sources and limits.
    pub coverage: Coverage,
    /// ISO 8601.
    pub generated_at: String,
}

/// Analysis parameters.
#[derive(Debug, Clone)]
pub struct AnalysisRequest {
    /// The query the sources answered.
    pub query: FindingQuery,
    /// Days in the window (as asked).
    pub days: u32,
    /// Build a remediation plan.
    pub include_remediation: bool,
    /// Id to give the analysis.
    pub analysis_id: String,
    /// Time of the analysis.
    pub now: Timestamp,
    /// `latest_run` or `live` ([`Coverage::view`]).
    pub view: String,
    /// Accounts in scope with what was read of them; accounts with
    /// matching findings are added when missing.
    pub accounts: Vec<AccountCoverage>,
    /// What limits the answer ([`Coverage::note`]).
    pub note: Option<String>,
}

fn category(f: &Finding) -> String {
    if f.source == SourceService::GuardDuty
        && let Some((purpose, _)) = f.finding_type.split_once(':')
    {
        return purpose.to_string();
    }
    let mut parts = f.types.first().map(|t| t.split('/')).into_iter().flatten();
    match (parts.next(), parts.next()) {
        (Some(ns), Some(cat)) => format!("{ns}/{cat}"),
        (Some(ns), None) => ns.to_string(),
        _ => "Uncategorized".to_string(),
    }
}

fn weight(s: Severity) -> f64 {
    match s {
        Severity::Critical => 10.0,
        Severity::High => 5.0,
        Severity::Medium => 2.0,
        Severity::Low => 0.5,
        Severity::Informational => 0.0,
    }
}

/// Analyses merged findings: every count over all of them, correlation,
/// listing and remediation over the first `max_findings`.
pub fn analyze(merged: Merged, request: &AnalysisRequest, catalog: &Catalog) -> FindingsAnalysis {
    let Merged {
        findings: matched,
        duplicates_removed,
        sources,
        truncated,
    } = merged;
    let max = request.query.max_findings;
    let findings = &matched[..matched.len().min(max)];
    let mappings: Vec<Mapping> = findings.iter().map(|f| catalog.classify(f)).collect();
    let patterns = correlate(findings, &mappings, catalog);

    let mut pattern_of: HashMap<&str, &str> = HashMap::new();
    for p in &patterns {
        for id in &p.related_finding_ids {
            pattern_of.insert(id.as_str(), p.pattern_id.as_str());
        }
    }

    let window = request.query.window;
    let mid = window.midpoint();
    let second_half = matched.iter().filter(|f| f.first_seen >= mid).count();
    let first_half = matched.len() - second_half;
    let trend = if second_half as f64 >= first_half as f64 * 1.25 && second_half >= first_half + 2 {
        "INCREASING"
    } else if (second_half as f64) <= first_half as f64 * 0.8 && first_half >= second_half + 2 {
        "DECREASING"
    } else {
        "STABLE"
    };

    let mut threat_categories = BTreeMap::new();
    let mut severity_counts = BTreeMap::new();
    let mut source_counts = BTreeMap::new();
    let mut account_counts = BTreeMap::new();
    let mut region_counts = BTreeMap::new();
    for f in &matched {
        *threat_categories.entry(category(f)).or_insert(0) += 1;
        *severity_counts.entry(f.severity.label().to_string()).or_insert(0) += 1;
        *source_counts.entry(f.source.name().to_string()).or_insert(0) += 1;
        *account_counts.entry(f.account_id.clone()).or_insert(0) += 1;
        *region_counts.entry(f.region.clone()).or_insert(0) += 1;
    }
    let open = matched.iter().filter(|f| f.is_open());
    let (open_count, w) = open.fold((0, 0.0), |(n, w), f| (n + 1, w + weight(f.severity)));
    let base_risk = (100.0 * (1.0 - (-w / 40.0).exp())).round() as u32;
    let risk_score = patterns
        .iter()
        .map(|p| p.risk_score)
        .max()
        .unwrap_or(0)
        .max(base_risk)
        .min(100);

    let mut high: Vec<&Finding> = matched
        .iter()
        .filter(|f| f.is_open() && (f.severity >= Severity::High || pattern_of.contains_key(f.id.as_str())))
        .collect();
    high.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.severity_score.total_cmp(&a.severity_score))
            .then(b.last_seen.cmp(&a.last_seen))
    });
    let high_risk_total = high.len();
    let high_risk_findings = high
        .into_iter()
        .take(HIGH_RISK_LIST_LIMIT.min(max))
        .map(|f| {
            let mapping = catalog.classify(f);
            let mut indicators: Vec<String> = Vec::new();
            indicators.extend(mapping.tactics.iter().map(|t| format!("tactic:{t}")));
            indicators.extend(
                mapping
                    .techniques
                    .iter()
                    .map(|t| format!("technique:{}", catalog.technique_label(t))),
            );
            indicators.extend(f.remote_ips.iter().map(|ip| format!("remote_ip:{ip}")));
            indicators.extend(f.api_calls.iter().map(|a| format!("api:{a}")));
            indicators.extend(f.domains.iter().map(|d| format!("domain:{d}")));
            indicators.extend(f.cves.iter().map(|c| format!("cve:{c}")));
            HighRiskFinding {
                finding_id: f.id.clone(),
                title: f.title.clone(),
                severity: f.severity.label().to_string(),
                description: f.description.clone(),
                source_service: f.source.name().to_string(),
                finding_type: f.finding_type.clone(),
                account_id: f.account_id.clone(),
                region: f.region.clone(),
                attack_indicators: indicators,
                affected_resources: f.resource_names(),
                last_seen: f.last_seen.to_string(),
                attack_pattern_id: pattern_of.get(f.id.as_str()).map(|s| s.to_string()),
            }
        })
        .collect();

    let remediation_plan = request.include_remediation.then(|| {
        let in_pattern: HashSet<String> = pattern_of.keys().map(|k| k.to_string()).collect();
        build_plan(findings, &in_pattern)
    });

    let mut accounts = request.accounts.clone();
    for (account, n) in &account_counts {
        match accounts.iter_mut().find(|a| &a.account_id == account) {
            Some(a) => a.findings_matched = *n,
            None => accounts.push(AccountCoverage {
                account_id: account.clone(),
                regions: Vec::new(),
                unread: Vec::new(),
                throttled: Vec::new(),
                findings_matched: *n,
            }),
        }
    }
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    // A service that is off has nothing to give: not a partial answer.
    let partial = sources
        .iter()
        .any(|s| s.status != "ok" && s.error.as_ref().is_none_or(|e| e.kind.leaves_unread()))
        || accounts
            .iter()
            .any(|a| a.unread.iter().any(|g| g.error.is_some_and(|k| k.leaves_unread())));
    FindingsAnalysis {
        analysis_id: request.analysis_id.clone(),
        time_range: TimeRange {
            start_date: window.start.to_string(),
            end_date: window.end.to_string(),
            days: request.days,
        },
        threat_landscape: ThreatLandscape {
            total_threats: matched.len(),
            active_threats: open_count,
            threat_categories,
            severity_counts,
            source_counts,
            account_counts,
            region_counts,
            risk_score,
            trend: trend.to_string(),
            trend_basis: TrendBasis {
                split_at: mid.to_string(),
                first_half,
                second_half,
            },
        },
        attack_patterns: patterns,
        high_risk_findings,
        remediation_plan,
        coverage: Coverage {
            partial,
            view: request.view.clone(),
            sources,
            accounts,
            findings_matched: matched.len(),
            findings_analyzed: findings.len(),
            duplicates_removed,
            truncated_at_max_findings: truncated || matched.len() > max,
            high_risk_findings_total: high_risk_total,
            note: request.note.clone(),
        },
        generated_at: request.now.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Channel;
    use crate::findings::{access_analyzer, asff::AsffFinding, config_rules, inspector, macie};
    use serde_json::json;

    fn batch(findings: Vec<Finding>) -> Result<SourceBatch, SourceError> {
        Ok(SourceBatch {
            findings,
            ..SourceBatch::default()
        })
    }

    fn asff(product: &str, id: &str, product_fields: serde_json::Value, resource: &str) -> Finding {
        serde_json::from_value::<AsffFinding>(json!({
            "SchemaVersion": "2018-10-08",
            "Id": id,
            "ProductArn": format!("arn:aws:securityhub:eu-west-1::product/aws/{product}"),
            "GeneratorId": product,
            "AwsAccountId": "345678901234",
            "Region": "eu-west-1",
            "Types": ["Software and Configuration Checks"],
            "CreatedAt": "2026-11-20T08:00:00Z",
            "UpdatedAt": "2026-11-20T08:00:00Z",
            "Severity": {"Label": "LOW", "Normalized": 1},
            "Title": "copy", "Description": "Security Hub's copy",
            "ProductFields": product_fields,
            "Resources": [{"Type": "Other", "Id": resource}]
        }))
        .unwrap()
        .normalize()
        .unwrap()
    }

    #[test]
    fn direct_reads_and_their_security_hub_copies_are_one_finding_each_the_direct_copy_kept() {
        let inspector_arn = "arn:aws:inspector2:eu-west-1:345678901234:finding/0a1b2c3d4e5f60718293a4b5c6d7e8f9";
        let direct_inspector: inspector::InspectorFinding = serde_json::from_value(json!({
            "findingArn": inspector_arn, "awsAccountId": "345678901234", "type": "PACKAGE_VULNERABILITY",
            "severity": "HIGH", "status": "ACTIVE", "description": "d", "title": "CVE-2024-1 - pkg",
            "firstObservedAt": 1_764_000_000, "lastObservedAt": 1_764_000_000, "updatedAt": 1_764_000_000,
            "resources": [{"type": "AWS_EC2_INSTANCE", "id": "i-0abc", "region": "eu-west-1"}]
        }))
        .unwrap();
        let direct_macie: macie::MacieFinding = serde_json::from_value(json!({
            "id": "5d1e0c3a", "accountId": "345678901234", "region": "eu-west-1",
            "type": "Policy:IAMUser/S3BucketPublic", "title": "t", "description": "d",
            "severity": {"description": "High", "score": 3},
            "createdAt": "2026-11-20T08:00:00Z", "updatedAt": "2026-11-20T08:00:00Z",
            "resourcesAffected": {"s3Bucket": {"name": "payments-exports"}}
        }))
        .unwrap();
        let analyzer = access_analyzer::Analyzer {
            arn: "arn:aws:access-analyzer:eu-west-1:345678901234:analyzer/org".into(),
            name: "org".into(),
            analyzer_type: "ORGANIZATION".into(),
            status: "ACTIVE".into(),
        };
        let direct_analyzer: access_analyzer::AnalyzerFinding = serde_json::from_value(json!({
            "id": "f-unused-1", "resource": "arn:aws:iam::345678901234:role/old", "resourceType": "AWS::IAM::Role",
            "resourceOwnerAccount": "345678901234", "status": "ACTIVE", "findingType": "UnusedIAMRole",
            "createdAt": "2026-11-20T08:00:00Z", "updatedAt": "2026-11-20T08:00:00Z"
        }))
        .unwrap();
        let direct_config: config_rules::EvaluationResult = serde_json::from_value(json!({
            "EvaluationResultIdentifier": {"EvaluationResultQualifier": {
                "ConfigRuleName": "s3-bucket-versioning-enabled", "ResourceType": "AWS::S3::Bucket",
                "ResourceId": "payments-exports"}, "OrderingTimestamp": 1_764_000_000},
            "ComplianceType": "NON_COMPLIANT", "ResultRecordedTime": 1_764_000_000
        }))
        .unwrap();
        let direct = vec![
            direct_inspector.normalize().unwrap(),
            direct_macie.normalize().unwrap(),
            direct_analyzer.normalize(&analyzer, "eu-west-1").unwrap(),
            direct_config.normalize("345678901234", "eu-west-1").unwrap(),
        ];
        // The copies as Security Hub keeps them.
        let copies = vec![
            asff(
                "inspector",
                inspector_arn,
                json!({}),
                "arn:aws:ec2:eu-west-1:345678901234:instance/i-0abc",
            ),
            asff("macie", "5d1e0c3a", json!({}), "arn:aws:s3:::payments-exports"),
            asff(
                "access-analyzer",
                "arn:aws:access-analyzer:eu-west-1:345678901234:analyzer/org/arn:aws:iam::345678901234:role/old/UnusedIAMRole",
                json!({"findingId": "f-unused-1"}),
                "arn:aws:iam::345678901234:role/old",
            ),
            asff(
                "config",
                "arn:aws:config:eu-west-1:345678901234:config-rule/config-rule-ab12cd/finding/9f8e7d",
                json!({"aws/config/ConfigRuleName": "s3-bucket-versioning-enabled",
                       "aws/config/ConfigComplianceType": "NON_COMPLIANT"}),
                "arn:aws:s3:::payments-exports",
            ),
        ];
        let merged = merge_all(vec![
            (crate::sources::SECURITY_HUB.to_string(), batch(copies)),
            ("direct".to_string(), batch(direct)),
        ]);
        assert_eq!(merged.duplicates_removed, 4);
        assert_eq!(merged.findings.len(), 4, "{:#?}", merged.findings);
        for f in &merged.findings {
            assert_eq!(f.channels.len(), 2, "{}", f.id);
            assert!(f.channels[0].is_direct(), "the direct copy is kept: {}", f.id);
            assert_eq!(f.channels[1], Channel::SecurityHubApi);
            assert_ne!(f.description, "Security Hub's copy");
        }
    }
}
