//! Recommendations (`recommend_security_improvements`, and the top of
//! `assess_security_posture`): one per failed native check (all its failing
//! resources together) and one per failed Security Hub control that no native
//! check covers, ranked by one of three strategies.
//!
//! Impact score (0–100) is the sum of severity (CRITICAL 40, HIGH 30, MEDIUM
//! 20, LOW 10), 5 per affected resource (at most 30) and 3 per framework
//! requirement the fix helps pass (at most 30); `impact_basis` shows the terms. Priority is
//! HIGH for CRITICAL/HIGH severity or impact ≥ 70, MEDIUM for impact ≥ 45,
//! else LOW. Strategies: `high-impact` sorts by impact; `quick-wins` by
//! complexity (LOW first), then impact; `cost-effective` by impact per hour
//! of effort. The server never applies a fix: `safe_to_automate` only marks
//! steps whose API call is additive and cannot break a workload.

use crate::finding::Finding;
use crate::posture::checks::{self, Check, Complexity, Effort, Outcome, Status};
use crate::posture::frameworks::Framework;
use crate::severity::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Ranking strategies of seed 000.
pub const STRATEGIES: [&str; 3] = ["cost-effective", "high-impact", "quick-wins"];

fn hours(complexity: Complexity, resources: usize) -> f64 {
    let r = resources as f64;
    match complexity {
        Complexity::Low => 0.5 + 0.1 * r,
        Complexity::High => 8.0 + 1.0 * r,
        Complexity::Medium => 2.0 + 0.5 * r,
    }
}

/// One remediation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Step {
    /// 1-based.
    pub step_number: usize,
    /// Short title.
    pub title: String,
    /// What to do.
    pub description: String,
    /// Time estimate.
    pub estimated_time: String,
    /// What must be in place first.
    pub prerequisites: Vec<String>,
    /// AWS API actions involved.
    pub aws_service_actions: Vec<String>,
    /// Whether this step could be automated without risk to workloads (the
    /// server itself never changes anything).
    pub safe_to_automate: bool,
}

/// One recommendation (seed 000 fields plus the basis of its score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Recommendation {
    /// `REC-<check id>` or `REC-SH-<control>`.
    pub recommendation_id: String,
    /// Title.
    pub title: String,
    /// What is wrong, where.
    pub description: String,
    /// HIGH, MEDIUM, LOW.
    pub priority: String,
    /// 0–100.
    pub impact_score: u32,
    /// The terms of the impact score.
    pub impact_basis: String,
    /// LOW, MEDIUM, HIGH.
    pub implementation_complexity: String,
    /// Direct AWS cost of the fix.
    pub cost_estimate: String,
    /// Why it matters.
    pub business_justification: String,
    /// Failing resources (`account/resource`).
    pub affected_resources: Vec<String>,
    /// Framework requirements the fix helps (`CIS 5.6`).
    pub compliance_frameworks: Vec<String>,
    /// Whether the fix is a call that could safely be automated.
    pub automation_available: bool,
    /// Steps.
    pub remediation_steps: Vec<Step>,
    /// Effort in hours (for ranking and totals).
    pub estimated_hours: f64,
    /// Service area (`IAM`, `S3`, ...), what `focus_areas` match.
    pub area: String,
    /// Severity of the failure.
    pub severity: Severity,
}

fn requirements_helped(frameworks: &[Framework], check: Option<&str>, control: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for fw in frameworks {
        for r in &fw.requirements {
            let by_check = check.is_some_and(|c| r.checks.iter().any(|x| x == c));
            let by_control = control.is_some_and(|c| r.security_hub_controls.iter().any(|x| x == c));
            if by_check || by_control {
                out.push(format!("{} {}", fw.short_name, r.id));
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn build(
    id: String,
    title: String,
    description: String,
    severity: Severity,
    resources: Vec<String>,
    requirements: Vec<String>,
    justification: String,
    area: String,
    effort: Effort,
    steps: Vec<(String, String)>,
) -> Recommendation {
    let sev = match severity {
        Severity::Critical => 40,
        Severity::High => 30,
        Severity::Medium => 20,
        _ => 10,
    };
    let breadth = (5 * resources.len()).min(30) as u32;
    let reach = (3 * requirements.len()).min(30) as u32;
    let impact = (sev + breadth + reach).min(100);
    let priority = if severity >= Severity::High || impact >= 70 {
        "HIGH"
    } else if impact >= 45 {
        "MEDIUM"
    } else {
        "LOW"
    };
    let h = hours(effort.complexity, resources.len());
    let per_step = h / steps.len().max(1) as f64;
    let remediation_steps = steps
        .into_iter()
        .enumerate()
        .map(|(i, (title, description))| Step {
            step_number: i + 1,
            title,
            description,
            estimated_time: format!("about {:.1} h", per_step),
            prerequisites: if i == 0 {
                vec![format!(
                    "permission for {}",
                    if effort.actions.is_empty() {
                        "the change".to_string()
                    } else {
                        effort.actions.join(", ")
                    }
                )]
            } else {
                vec![format!("step {}", i)]
            },
            aws_service_actions: effort.actions.iter().map(|a| a.to_string()).collect(),
            safe_to_automate: effort.safe_to_automate,
        })
        .collect();
    Recommendation {
        recommendation_id: id,
        title,
        description,
        priority: priority.into(),
        impact_score: impact,
        impact_basis: format!("severity {sev} + resources {breadth} + framework requirements {reach}"),
        implementation_complexity: effort.complexity.as_str().into(),
        cost_estimate: effort.cost.into(),
        business_justification: justification,
        affected_resources: resources,
        compliance_frameworks: requirements,
        automation_available: effort.safe_to_automate,
        remediation_steps,
        estimated_hours: (h * 10.0).round() / 10.0,
        area,
        severity,
    }
}

/// All recommendations, unranked: failed native checks, then failed Security
/// Hub controls no native check covers.
pub fn derive(outcomes: &[Outcome], findings: &[Finding], frameworks: &[Framework]) -> Vec<Recommendation> {
    let mut failing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.status == Status::Fail) {
        failing.entry(o.check_id.as_str()).or_default().push(o.resource.clone());
    }
    let mut out = Vec::new();
    for (check_id, resources) in failing {
        let Some(check): Option<&Check> = checks::find(check_id) else {
            continue;
        };
        let steps = check
            .remediation
            .iter()
            .map(|s| (s.split(':').next().unwrap_or(s).trim().to_string(), s.to_string()))
            .collect();
        out.push(build(
            format!("REC-{check_id}"),
            check.title.to_string(),
            format!(
                "Fails on {} resource(s): {}. See {}",
                resources.len(),
                resources.join(", "),
                check.doc_url
            ),
            check.severity,
            resources,
            requirements_helped(frameworks, Some(check_id), check.security_hub_control),
            check.rationale.to_string(),
            check.service.to_string(),
            check.effort,
            steps,
        ));
    }
    let native_controls: Vec<&str> = checks::CHECKS.iter().filter_map(|c| c.security_hub_control).collect();
    let mut controls: BTreeMap<String, (Severity, String, Option<String>, Vec<String>)> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.is_open()) {
        let Some(c) = f.compliance.as_ref() else { continue };
        let (Some(id), Some("FAILED")) = (c.control_id.as_ref(), c.status.as_deref()) else {
            continue;
        };
        if native_controls.contains(&id.as_str()) {
            continue;
        }
        let entry =
            controls
                .entry(id.clone())
                .or_insert((f.severity, f.title.clone(), f.remediation_url.clone(), Vec::new()));
        entry.0 = entry.0.max(f.severity);
        entry
            .3
            .extend(f.resource_names().into_iter().map(|r| format!("{}/{r}", f.account_id)));
    }
    for (control, (severity, title, url, resources)) in controls {
        let area = control.split('.').next().unwrap_or_default().to_string();
        let url =
            url.unwrap_or_else(|| format!("https://docs.aws.amazon.com/console/securityhub/{control}/remediation"));
        out.push(build(
            format!("REC-SH-{control}"),
            title,
            format!(
                "Security Hub control {control} fails on {}. See {url}",
                resources.join(", ")
            ),
            severity,
            resources,
            requirements_helped(frameworks, None, Some(&control)),
            format!("Security Hub control {control} reports these resources as non-compliant."),
            area,
            Effort {
                complexity: Complexity::Medium,
                cost: "depends on the control",
                actions: &[],
                safe_to_automate: false,
            },
            vec![(
                "Follow the control's remediation".into(),
                format!("Apply the remediation documented at {url}"),
            )],
        ));
    }
    out
}

/// Ranks by strategy (`high-impact` when unknown).
pub fn rank(mut recs: Vec<Recommendation>, strategy: &str) -> Vec<Recommendation> {
    let complexity = |r: &Recommendation| match r.implementation_complexity.as_str() {
        "LOW" => 0,
        "MEDIUM" => 1,
        _ => 2,
    };
    match strategy {
        "quick-wins" => recs.sort_by(|a, b| {
            complexity(a)
                .cmp(&complexity(b))
                .then(b.impact_score.cmp(&a.impact_score))
        }),
        "cost-effective" => recs.sort_by(|a, b| {
            let ra = f64::from(a.impact_score) / a.estimated_hours.max(0.1);
            let rb = f64::from(b.impact_score) / b.estimated_hours.max(0.1);
            rb.total_cmp(&ra).then(b.impact_score.cmp(&a.impact_score))
        }),
        _ => recs.sort_by(|a, b| b.impact_score.cmp(&a.impact_score).then(b.severity.cmp(&a.severity))),
    }
    recs
}

/// Totals over the listed recommendations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// HIGH priority.
    pub high_priority: usize,
    /// MEDIUM priority.
    pub medium_priority: usize,
    /// LOW priority.
    pub low_priority: usize,
    /// Recommendations with a step safe to automate.
    pub automation_candidates: usize,
    /// Sum of the estimates.
    pub estimated_total_effort: String,
}

/// The `recommend_security_improvements` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecommendationsReport {
    /// Id of this analysis.
    pub analysis_id: String,
    /// The strategy used.
    pub priority_strategy: String,
    /// Recommendations before the `max_recommendations` cut.
    pub total_recommendations: usize,
    /// Ranked recommendations.
    pub recommendations: Vec<Recommendation>,
    /// Totals.
    pub summary: Summary,
    /// The server never changes the accounts it inspects.
    pub read_only: String,
    /// Where the facts came from.
    pub data_sources: crate::posture::compliance::DataSources,
    /// Failures not recommended because an exception in force accepts them.
    pub accepted_risks: Vec<crate::posture::acceptance::AcceptedRisk>,
    /// ISO 8601.
    pub generated_at: String,
}

impl RecommendationsReport {
    /// Builds the report from ranked recommendations, keeping `max`.
    pub fn new(
        analysis_id: String,
        strategy: &str,
        ranked: Vec<Recommendation>,
        max: usize,
        data_sources: crate::posture::compliance::DataSources,
        accepted_risks: Vec<crate::posture::acceptance::AcceptedRisk>,
        now: jiff::Timestamp,
    ) -> RecommendationsReport {
        let total = ranked.len();
        let shown: Vec<Recommendation> = ranked.into_iter().take(max).collect();
        let count = |p: &str| shown.iter().filter(|r| r.priority == p).count();
        let hours: f64 = shown.iter().map(|r| r.estimated_hours).sum();
        RecommendationsReport {
            analysis_id,
            priority_strategy: strategy.to_string(),
            total_recommendations: total,
            summary: Summary {
                high_priority: count("HIGH"),
                medium_priority: count("MEDIUM"),
                low_priority: count("LOW"),
                automation_candidates: shown.iter().filter(|r| r.automation_available).count(),
                estimated_total_effort: format!(
                    "about {:.0} engineer-hours for the {} recommendation(s) listed",
                    hours.ceil(),
                    shown.len()
                ),
            },
            recommendations: shown,
            read_only: "Posture Advisor never changes your accounts; steps marked safe_to_automate are ones your own automation could apply without risk to workloads.".into(),
            data_sources,
            accepted_risks,
            generated_at: now.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::posture::checks::CHECKS;

    #[test]
    fn every_check_names_the_aws_actions_of_its_fix() {
        let generic: Vec<&str> = CHECKS
            .iter()
            .filter(|c| c.effort.actions.is_empty())
            .map(|c| c.id)
            .collect();
        assert!(generic.is_empty(), "no AWS actions in the effort of {generic:?}");
    }
}
