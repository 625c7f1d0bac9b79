//! The built-in demo organization: three accounts with realistic Security
//! Hub (ASFF) and GuardDuty findings, including a multi-stage attack, all
//! timestamped relative to "now" so every time window works on any day.
//! It implements the same ports as the AWS adapters, CloudTrail event
//! history included (an incident that crosses into a second account).

use crate::config_history::{ConfigHistory, ConfigItem, ConfigResource};
use crate::events::{EventFilter, EventQuery, GLOBAL_EVENTS_REGION, RegionRead, Timeline, TrailEvent};
use crate::findings::asff::AsffFinding;
use crate::findings::guardduty::GdFinding;
use crate::findings::spool::FindingSpool;
use crate::org::run::OrgUnit;
use crate::ports::{AccountCollector, AccountDirectory, CollectError, CollectedAccount, DirectoryAccount, PortError};
use crate::ports::{FindingSource, HealthProbe, InventorySource, SpooledCollection};
use crate::posture::inventory::Inventory;
use crate::sources::{DependencyHealth, FindingQuery, Reading, SourceBatch, SourceError};
use crate::time::expand_relative_in_json;
use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const ACCOUNTS: &str = include_str!("../data/demo/accounts.json");
const SECURITYHUB: &str = include_str!("../data/demo/securityhub_findings.json");
const GUARDDUTY: &str = include_str!("../data/demo/guardduty_findings.json");
const CLOUDTRAIL: &str = include_str!("../data/demo/cloudtrail_events.json");
const CONFIG_HISTORY: &str = include_str!("../data/demo/config_history.json");
const INVENTORIES: &[(&str, &str)] = &[
    (
        "inventories/210987654321.json",
        include_str!("../data/demo/inventories/210987654321.json"),
    ),
    (
        "inventories/345678901234.json",
        include_str!("../data/demo/inventories/345678901234.json"),
    ),
    (
        "inventories/456789012345.json",
        include_str!("../data/demo/inventories/456789012345.json"),
    ),
];

/// The demo organization's region.
pub const DEMO_REGION: &str = "us-east-1";

/// A member account of the demo organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoAccount {
    /// 12-digit id.
    pub account_id: String,
    /// Account name.
    pub name: String,
    /// Root email.
    pub email: String,
    /// ACTIVE, SUSPENDED.
    pub status: String,
    /// CREATED or INVITED.
    pub joined_method: String,
    /// Organizational unit path.
    pub ou: String,
}

/// The demo data, expanded against one instant.
#[derive(Debug, Clone)]
pub struct DemoOrganization {
    /// Member accounts.
    pub accounts: Vec<DemoAccount>,
    /// Security Hub findings as `GetFindings` returns them.
    pub securityhub: Vec<AsffFinding>,
    /// GuardDuty findings as `GetFindings` returns them.
    pub guardduty: Vec<GdFinding>,
    /// One inventory per account.
    pub inventories: Vec<Inventory>,
    /// CloudTrail management events of the accounts (an incident across two).
    pub cloudtrail: Vec<DemoTrailRecord>,
    /// AWS Config's recorded items (the incident's bucket).
    pub config_history: Vec<crate::config_history::ConfigItem>,
}

/// One CloudTrail event of the demo: the record LookupEvents returns as
/// `CloudTrailEvent`, the account that logged it and the resources
/// LookupEvents lists beside it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct DemoTrailRecord {
    /// The account that logged it.
    pub account_id: String,
    /// `Resources[].ResourceName`.
    pub resources: Vec<String>,
    /// The CloudTrail record.
    pub event: serde_json::Value,
}

/// The demo's GuardDuty findings as raw API JSON (the `findings` of a
/// GuardDuty `GetFindings` response), expanded against `now`.
pub fn guardduty_api_json(now: Timestamp) -> Result<Vec<serde_json::Value>, DemoDataError> {
    load("guardduty_findings.json", GUARDDUTY, now)
}

/// The embedded demo data is malformed (a build defect, caught by tests).
#[derive(Debug, thiserror::Error)]
#[error("demo data {file}: {message}")]
pub struct DemoDataError {
    /// Which file.
    pub file: &'static str,
    /// What is wrong.
    pub message: String,
}

fn load<T: serde::de::DeserializeOwned>(file: &'static str, text: &str, now: Timestamp) -> Result<T, DemoDataError> {
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| DemoDataError {
        file,
        message: e.to_string(),
    })?;
    expand_relative_in_json(&mut value, now);
    serde_json::from_value(value).map_err(|e| DemoDataError {
        file,
        message: e.to_string(),
    })
}

impl DemoOrganization {
    /// `Ok` for an account of the demo organization; else the refusal a
    /// member role that does not exist gives.
    fn known_account(&self, account_id: &str, service: &str) -> Result<(), SourceError> {
        if self.accounts.iter().any(|a| a.account_id == account_id) {
            return Ok(());
        }
        Err(SourceError {
            kind: crate::sources::SourceErrorKind::Authentication,
            service: service.into(),
            message: format!("the demo organization has no account {account_id}"),
        })
    }

    /// Loads the demo organization with timestamps relative to `now`.
    pub fn load(now: Timestamp) -> Result<DemoOrganization, DemoDataError> {
        Ok(DemoOrganization {
            accounts: load("accounts.json", ACCOUNTS, now)?,
            securityhub: load("securityhub_findings.json", SECURITYHUB, now)?,
            guardduty: load("guardduty_findings.json", GUARDDUTY, now)?,
            inventories: INVENTORIES
                .iter()
                .map(|(file, text)| load(file, text, now))
                .collect::<Result<_, _>>()?,
            cloudtrail: load("cloudtrail_events.json", CLOUDTRAIL, now)?,
            config_history: load("config_history.json", CONFIG_HISTORY, now)?,
        })
    }

    /// Every Security Hub and GuardDuty finding of the demo that
    /// normalizes, all accounts.
    pub fn findings(&self) -> Vec<crate::Finding> {
        self.securityhub
            .iter()
            .filter_map(|f| f.normalize().ok())
            .chain(self.guardduty.iter().filter_map(|f| f.normalize().ok()))
            .collect()
    }

    /// The two finding sources over this data.
    pub fn sources(self: &Arc<Self>) -> Vec<Arc<dyn FindingSource>> {
        vec![
            Arc::new(DemoSource {
                org: self.clone(),
                kind: DemoKind::SecurityHub,
            }),
            Arc::new(DemoSource {
                org: self.clone(),
                kind: DemoKind::GuardDuty,
            }),
        ]
    }
}

#[derive(Clone, Copy)]
enum DemoKind {
    SecurityHub,
    GuardDuty,
}

struct DemoSource {
    org: Arc<DemoOrganization>,
    kind: DemoKind,
}

#[async_trait]
impl FindingSource for DemoSource {
    fn service(&self) -> &'static str {
        match self.kind {
            DemoKind::SecurityHub => crate::sources::SECURITY_HUB,
            DemoKind::GuardDuty => "GuardDuty",
        }
    }

    async fn fetch(&self, query: &FindingQuery) -> Result<SourceBatch, SourceError> {
        let mut reading = Reading::default();
        match self.kind {
            DemoKind::SecurityHub => self
                .org
                .securityhub
                .iter()
                .for_each(|f| reading.push(f.normalize(), query)),
            DemoKind::GuardDuty => self
                .org
                .guardduty
                .iter()
                .for_each(|f| reading.push(f.normalize(), query)),
        }
        reading
            .finish(query, false)
            .map_err(|e| crate::sources::spool_failed(self.service(), e))
    }
}

#[async_trait]
impl InventorySource for DemoOrganization {
    async fn inventories(&self) -> Result<Vec<Inventory>, SourceError> {
        Ok(self.inventories.clone())
    }
}

/// LookupEvents over the demo's records: the filter as CloudTrail applies
/// it (`Username` is a user's name or a role session's name), the Regions
/// asked for plus us-east-1, the window, the budget per Region.
/// The demo server is taken to run in the organization's management
/// account; members are entered as the demo's inventories say.
#[async_trait]
impl crate::access::AccessProbe for DemoOrganization {
    async fn identity(&self) -> Result<crate::access::CallerIdentity, SourceError> {
        let management = self
            .accounts
            .iter()
            .find(|a| a.name == "management")
            .or(self.accounts.first())
            .map(|a| a.account_id.clone())
            .unwrap_or_default();
        Ok(crate::access::CallerIdentity {
            arn: format!("arn:aws:sts::{management}:assumed-role/PostureAdvisorMcpServer/demo"),
            organization: Some(crate::access::OrganizationInfo {
                id: "o-exampledemo".into(),
                management_account_id: management.clone(),
                root_id: "r-exde".into(),
            }),
            organization_error: None,
            account_id: management,
        })
    }

    async fn member_accounts(&self) -> Result<Vec<String>, SourceError> {
        Ok(self
            .accounts
            .iter()
            .filter(|a| a.status == "ACTIVE")
            .map(|a| a.account_id.clone())
            .collect())
    }

    async fn validate(&self, account_id: &str) -> crate::access::MemberAccess {
        let role_arn = format!("arn:aws:iam::{account_id}:role/PostureAdvisorReadOnly");
        let inventory = self.inventories.iter().find(|i| i.account_id == account_id);
        let region = inventory
            .and_then(|i| i.regions.first().cloned())
            .unwrap_or_else(|| "us-east-1".into());
        let Some(inventory) = inventory else {
            return crate::access::MemberAccess {
                account_id: account_id.into(),
                role_arn,
                assume_role: crate::access::Step {
                    ok: false,
                    detail: format!("AccessDenied: {account_id} is not an account of the demo organization"),
                },
                explorer_role: None,
                region,
                problems: Vec::new(),
                missing_permissions: Vec::new(),
                ready: false,
            };
        };
        let problems: Vec<crate::access::SectionProblem> = inventory
            .section_gaps()
            .into_iter()
            .map(|(section, gap)| crate::access::SectionProblem {
                section,
                kind: format!("{:?}", gap.kind),
                detail: gap.detail.clone(),
            })
            .collect();
        let missing = crate::access::refused_actions(problems.iter().map(|p| p.detail.as_str()));
        let denied = problems.iter().any(|p| p.kind == "AccessDenied");
        crate::access::MemberAccess {
            account_id: account_id.into(),
            role_arn,
            assume_role: crate::access::Step {
                ok: true,
                detail: "entered (demo)".into(),
            },
            explorer_role: None,
            region,
            problems,
            missing_permissions: missing,
            ready: !denied,
        }
    }
}

#[async_trait]
impl crate::ports::EventHistory for DemoOrganization {
    async fn config_history(
        &self,
        account_id: &str,
        region: &str,
        resource: &ConfigResource,
        window: (Timestamp, Timestamp),
        max_items: usize,
    ) -> Result<ConfigHistory, SourceError> {
        self.known_account(account_id, "Config")?;
        let items: Vec<ConfigItem> = self
            .config_history
            .iter()
            .filter(|i| {
                i.account_id == account_id
                    && (i.aws_region == region || resource.is_global())
                    && i.resource_type == resource.resource_type
                    && match &resource.resource_id {
                        Some(id) => &i.resource_id == id,
                        None => i.resource_name.as_deref() == Some(&resource.resource_name),
                    }
            })
            .cloned()
            .collect();
        Ok(crate::config_history::within(items, window, max_items))
    }

    async fn lookup(&self, account_id: &str, regions: &[String], query: &EventQuery) -> Result<Timeline, SourceError> {
        self.known_account(account_id, "CloudTrail")?;
        let mut wanted: Vec<String> = regions.to_vec();
        if !wanted.iter().any(|r| r == GLOBAL_EVENTS_REGION) {
            wanted.push(GLOBAL_EVENTS_REGION.to_string());
        }
        let mut reads = Vec::new();
        for region in wanted {
            let mut events = Vec::new();
            for record in self.cloudtrail.iter().filter(|r| r.account_id == account_id) {
                let Ok(event) = TrailEvent::from_record(&record.event.to_string(), record.resources.clone()) else {
                    continue;
                };
                if event.region == region
                    && event.event_time >= query.start
                    && event.event_time <= query.end
                    && query.filter.as_ref().is_none_or(|f| demo_matches(f, &event))
                {
                    events.push(event);
                }
            }
            // LookupEvents returns the newest first; a budget keeps those.
            events.sort_by_key(|e| std::cmp::Reverse(e.event_time));
            let read = if events.len() > query.max_events_per_region {
                events.truncate(query.max_events_per_region);
                RegionRead::Truncated {
                    events: events.len(),
                    next_token: format!("demo-{}", events.len()),
                }
            } else {
                RegionRead::Complete { events: events.len() }
            };
            reads.push((region, events, read));
        }
        Ok(Timeline::merge(reads))
    }
}

fn demo_matches(filter: &EventFilter, event: &TrailEvent) -> bool {
    match filter {
        EventFilter::AccessKeyId(k) => event.access_key_id.as_deref() == Some(k),
        EventFilter::Username(u) => event
            .principal_arn
            .as_deref()
            .and_then(|arn| arn.rsplit('/').next())
            .is_some_and(|name| name == u),
        EventFilter::ResourceName(r) => event.resources.iter().any(|x| x == r),
        EventFilter::EventName(n) => &event.event_name == n,
        EventFilter::EventId(id) => &event.event_id == id,
    }
}

/// The demo's OU path (`Workloads/Prod`) as units with made-up ids
/// (`ou-demo-workloads`, `ou-demo-workloads-prod`); `Root` is no unit.
fn demo_ou_path(path: &str) -> Vec<OrgUnit> {
    let mut units = Vec::new();
    let mut id = "ou-demo".to_string();
    for name in path.split('/').filter(|n| !n.is_empty() && *n != "Root") {
        id = format!("{id}-{}", name.to_ascii_lowercase());
        units.push(OrgUnit {
            id: id.clone(),
            name: name.to_string(),
        });
    }
    units
}

#[async_trait]
impl AccountDirectory for DemoOrganization {
    async fn accounts(&self) -> Result<Vec<DirectoryAccount>, PortError> {
        Ok(self
            .accounts
            .iter()
            .map(|a| DirectoryAccount {
                account_id: a.account_id.clone(),
                name: a.name.clone(),
                status: a.status.clone(),
                ou_path: demo_ou_path(&a.ou),
            })
            .collect())
    }
}

#[async_trait]
impl AccountCollector for DemoOrganization {
    async fn collect(&self, _run_id: &str, account_id: &str) -> Result<SpooledCollection, CollectError> {
        let inventory = self
            .inventories
            .iter()
            .find(|i| i.account_id == account_id)
            .cloned()
            .ok_or_else(|| CollectError::Unreachable(format!("the demo has no inventory for account {account_id}")))?;
        let mut findings = self.findings();
        findings.retain(|f| f.account_id == account_id);
        let findings = FindingSpool::try_from(findings).map_err(|e| CollectError::Failed(e.to_string()))?;
        Ok(CollectedAccount {
            inventory,
            findings,
            gaps: Vec::new(),
            throttled: Vec::new(),
            stored: false,
        })
    }
}

/// Health of the demo: every dependency is the built-in data.
pub struct DemoHealth;

#[async_trait]
impl HealthProbe for DemoHealth {
    async fn probe(&self) -> Vec<DependencyHealth> {
        ["credentials", "securityhub", "guardduty"]
            .into_iter()
            .map(|name| DependencyHealth {
                name: name.to_string(),
                status: crate::sources::DependencyStatus::Operational,
                detail: "demo mode: served from the built-in demo organization, no AWS calls".to_string(),
            })
            .collect()
    }

    fn region(&self) -> String {
        DEMO_REGION.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::analysis::{AnalysisRequest, FindingsAnalysis, analyze, merge};
    use crate::severity::Severity;
    use crate::time::TimeWindow;

    pub(crate) fn analyze_demo(days: u32, min: Severity, max: usize) -> FindingsAnalysis {
        let now = Timestamp::now();
        let org = DemoOrganization::load(now).unwrap();
        let query = FindingQuery {
            window: TimeWindow::last_days(now, days),
            min_severity: min,
            max_findings: max,
            filter: Default::default(),
        };
        let read = |records: Vec<Result<crate::Finding, crate::finding::NormalizeError>>| {
            let mut reading = Reading::default();
            records.into_iter().for_each(|r| reading.push(r, &query));
            reading.finish(&query, false).unwrap()
        };
        let sh = read(org.securityhub.iter().map(|f| f.normalize()).collect());
        let gd = read(org.guardduty.iter().map(|f| f.normalize()).collect());
        assert!(
            sh.rejected.is_empty() && gd.rejected.is_empty(),
            "{:?} {:?}",
            sh.rejected,
            gd.rejected
        );
        let merged = merge(
            vec![("Security Hub".into(), Ok(sh)), ("GuardDuty".into(), Ok(gd))],
            &query,
        );
        let request = AnalysisRequest {
            query,
            days,
            include_remediation: true,
            analysis_id: "FA-test".into(),
            now,
            view: "live".into(),
            accounts: Vec::new(),
            note: None,
        };
        analyze(merged, &request, crate::findings::attack::catalog().unwrap())
    }

    #[test]
    fn the_demo_data_loads_and_every_record_normalizes() {
        let org = DemoOrganization::load(Timestamp::now()).unwrap();
        assert_eq!(org.accounts.len(), 3);
        for f in &org.securityhub {
            f.normalize().unwrap();
        }
        for f in &org.guardduty {
            f.normalize().unwrap();
        }
    }

    #[test]
    fn the_demo_attack_chain_is_one_pattern_in_kill_chain_order() {
        let a = analyze_demo(30, Severity::Medium, 500);
        let chain: Vec<_> = a
            .attack_patterns
            .iter()
            .filter(|p| p.affected_resources.iter().any(|r| r == "i-0a1b2c3d4e5f60718"))
            .collect();
        assert_eq!(chain.len(), 1, "{:#?}", a.attack_patterns);
        let p = chain[0];
        assert_eq!(
            p.tactics,
            vec![
                "Initial Access",
                "Privilege Escalation",
                "Credential Access",
                "Discovery",
                "Collection",
                "Command and Control",
                "Exfiltration",
                "Impact"
            ]
            .into_iter()
            .filter(|t| p.tactics.iter().any(|x| x == t))
            .map(String::from)
            .collect::<Vec<_>>(),
            "tactics out of kill-chain order"
        );
        for t in ["Credential Access", "Discovery", "Exfiltration", "Impact"] {
            assert!(p.tactics.iter().any(|x| x == t), "missing {t}: {:?}", p.tactics);
        }
        assert!(p.guardduty_attack_sequence.is_some());
        assert!(p.confidence_score > 0.8, "{}", p.confidence_score);
        assert_eq!(p.kill_chain_phases.len(), p.tactics.len());
        println!("{}", serde_json::to_string_pretty(&a).unwrap());
    }
}
