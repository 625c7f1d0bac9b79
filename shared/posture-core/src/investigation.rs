//! Incident investigation: one subject (a finding, a principal, a resource
//! or an IP address) resolved against the organization's findings, the
//! CloudTrail lookups that follow it (one hop into the accounts whose roles
//! it assumed), and the assembled answer: timeline, actors, related
//! findings, blast radius, ATT&CK tactics, containment steps, evidence and
//! what could not be read. Pure: the caller reads findings and events.

use crate::events::{EventFilter, RegionRead, Timeline, TrailEvent};
use crate::finding::Finding;
use crate::findings::attack::Catalog;
use crate::posture::inventory::Inventory;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// How many hops of shared principals and IP addresses a finding may be
/// from the subject and still belong to the incident.
const HOPS: usize = 2;

/// How long before its first finding an incident is taken to start: the
/// activity GuardDuty reports precedes the finding by minutes, so an actor
/// first seen within this lead is new with the incident, not a usual one.
const INCIDENT_LEAD: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// Lookups per account: each is a separate LookupEvents series.
pub const MAX_FILTERS_PER_ACCOUNT: usize = 4;

/// What is investigated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A Security Hub finding id or GuardDuty finding id or ARN.
    Finding(String),
    /// An IAM principal.
    Principal(Principal),
    /// A resource ARN or id.
    Resource(String),
    /// A source IP address.
    Ip(IpAddr),
}

/// An IAM principal, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user, role, assumed-role session or root ARN.
    Arn {
        /// The ARN.
        arn: String,
        /// Its account.
        account_id: String,
        /// User, role or session name (`root` for the root user).
        name: String,
        /// The session name of an assumed-role ARN.
        session: Option<String>,
    },
    /// An access key id (`AKIA...` long-term, `ASIA...` temporary).
    AccessKey(String),
}

/// Why the subject cannot be investigated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// None given.
    #[error("give exactly one subject: finding_id, principal, resource or ip_address")]
    Missing,
    /// More than one given.
    #[error("give exactly one subject, not {}", .0.join(" and "))]
    Several(Vec<&'static str>),
    /// One given, malformed.
    #[error("{field}: {why}")]
    Malformed {
        /// The argument.
        field: &'static str,
        /// What is wrong.
        why: String,
    },
}

impl SubjectError {
    /// The argument to name in a validation error.
    pub fn field(&self) -> &'static str {
        match self {
            SubjectError::Missing => "finding_id",
            SubjectError::Several(fields) => fields.get(1).copied().unwrap_or("finding_id"),
            SubjectError::Malformed { field, .. } => field,
        }
    }
}

/// An ARN's parts, checked: `arn:partition:service:region:account:resource`.
struct Arn<'a> {
    service: &'a str,
    account: &'a str,
    resource: &'a str,
}

fn parse_arn(text: &str) -> Result<Arn<'_>, String> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [arn, partition, service, _region, account, resource] = parts[..] else {
        return Err(format!(
            "{text:?} is not an ARN (arn:partition:service:region:account:resource)"
        ));
    };
    if arn != "arn" || !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
        return Err(format!(
            "{text:?} is not an ARN: it must start arn:aws:, arn:aws-cn: or arn:aws-us-gov:"
        ));
    }
    if service.is_empty() || !service.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!("{text:?}: the service part {service:?} is not a service name"));
    }
    if !(account.is_empty() || is_account_id(account)) {
        return Err(format!(
            "{text:?}: the account part {account:?} is not a 12-digit account id"
        ));
    }
    if resource.is_empty() {
        return Err(format!("{text:?}: the resource part is empty"));
    }
    Ok(Arn {
        service,
        account,
        resource,
    })
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `AKIA`/`ASIA` and 16 upper-case letters or digits.
pub fn is_access_key_id(text: &str) -> bool {
    text.len() == 20
        && (text.starts_with("AKIA") || text.starts_with("ASIA"))
        && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl Principal {
    /// A principal ARN (IAM user, role, root; STS assumed-role) or an access
    /// key id.
    pub fn parse(text: &str) -> Result<Principal, String> {
        if is_access_key_id(text) {
            return Ok(Principal::AccessKey(text.to_string()));
        }
        if !text.starts_with("arn:") {
            return Err(format!(
                "{text:?} is neither a principal ARN (arn:aws:iam::<account>:user/<name>, role/<name>, \
                 arn:aws:sts::<account>:assumed-role/<role>/<session>) nor an access key id (AKIA.../ASIA...)"
            ));
        }
        let arn = parse_arn(text)?;
        if !is_account_id(arn.account) {
            return Err(format!("{text:?}: a principal ARN names its 12-digit account"));
        }
        let path_name = |rest: &str| rest.rsplit('/').next().unwrap_or(rest).to_string();
        let (name, session) = match (arn.service, arn.resource) {
            ("iam", "root") => ("root".to_string(), None),
            ("iam", r) if r.starts_with("user/") && r.len() > 5 => (path_name(r), None),
            ("iam", r) if r.starts_with("role/") && r.len() > 5 => (path_name(r), None),
            ("sts", r) if r.starts_with("assumed-role/") => {
                let mut parts = r["assumed-role/".len()..].splitn(2, '/');
                match (parts.next(), parts.next()) {
                    (Some(role), Some(session)) if !role.is_empty() && !session.is_empty() => {
                        (role.to_string(), Some(session.to_string()))
                    }
                    _ => {
                        return Err(format!(
                            "{text:?}: an assumed-role ARN is assumed-role/<role>/<session>"
                        ));
                    }
                }
            }
            _ => {
                return Err(format!(
                    "{text:?} is not an IAM principal: expected iam user/, role/, root or sts assumed-role/"
                ));
            }
        };
        Ok(Principal::Arn {
            arn: text.to_string(),
            account_id: arn.account.to_string(),
            name,
            session,
        })
    }
}

impl Subject {
    /// Exactly one of the four, checked.
    pub fn parse(
        finding_id: Option<&str>,
        principal: Option<&str>,
        resource: Option<&str>,
        ip_address: Option<&str>,
    ) -> Result<Subject, SubjectError> {
        let given: Vec<(&'static str, &str)> = [
            ("finding_id", finding_id),
            ("principal", principal),
            ("resource", resource),
            ("ip_address", ip_address),
        ]
        .into_iter()
        .filter_map(|(field, v)| v.map(|v| (field, v.trim())))
        .collect();
        let (field, value) = match given[..] {
            [] => return Err(SubjectError::Missing),
            [one] => one,
            _ => return Err(SubjectError::Several(given.iter().map(|(f, _)| *f).collect())),
        };
        let malformed = |why: String| SubjectError::Malformed { field, why };
        if value.is_empty() {
            return Err(malformed("must not be empty".into()));
        }
        match field {
            "finding_id" => Ok(Subject::Finding(value.to_string())),
            "principal" => Principal::parse(value).map(Subject::Principal).map_err(malformed),
            "resource" => {
                if value.starts_with("arn:") {
                    parse_arn(value).map_err(malformed)?;
                }
                Ok(Subject::Resource(value.to_string()))
            }
            _ => value
                .parse::<IpAddr>()
                .map(Subject::Ip)
                .map_err(|_| malformed(format!("{value:?} is not an IPv4 or IPv6 address"))),
        }
    }

    /// `finding`, `principal`, `resource` or `ip_address`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Finding(_) => "finding",
            Subject::Principal(_) => "principal",
            Subject::Resource(_) => "resource",
            Subject::Ip(_) => "ip_address",
        }
    }

    /// The subject as given.
    pub fn value(&self) -> String {
        match self {
            Subject::Finding(id) | Subject::Resource(id) => id.clone(),
            Subject::Principal(Principal::Arn { arn, .. }) => arn.clone(),
            Subject::Principal(Principal::AccessKey(key)) => key.clone(),
            Subject::Ip(ip) => ip.to_string(),
        }
    }
}

/// What ties findings and events to the incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Keys {
    /// User, role and session names.
    pub principals: BTreeSet<String>,
    /// Access key ids.
    pub access_keys: BTreeSet<String>,
    /// Source and peer IP addresses.
    pub ips: BTreeSet<String>,
    /// Resource ARNs or ids.
    pub resources: BTreeSet<String>,
}

/// What a finding's principal entry is: findings list access keys bare or
/// as `AWS::IAM::AccessKey:<id>` resources, role session names of instance
/// credentials (`i-0abc...`) and user and role names.
enum Named<'a> {
    AccessKey(&'a str),
    Session(&'a str),
    Name(&'a str),
}

fn named(p: &str) -> Named<'_> {
    let p = p.strip_prefix("AWS::IAM::AccessKey:").unwrap_or(p);
    if is_access_key_id(p) {
        Named::AccessKey(p)
    } else if p.starts_with("i-") {
        Named::Session(p)
    } else {
        Named::Name(p)
    }
}

impl Keys {
    fn add_principal(&mut self, p: &str) {
        match named(p) {
            Named::AccessKey(k) => self.access_keys.insert(k.to_string()),
            Named::Session(n) | Named::Name(n) => self.principals.insert(n.to_string()),
        };
    }

    /// Why `f` belongs, if it does.
    fn reason(&self, f: &Finding) -> Option<String> {
        if let Some(p) = f.principals.iter().find(|p| self.principals.contains(*p)) {
            return Some(format!("same principal {p}"));
        }
        if let Some(k) = f
            .principals
            .iter()
            .find(|p| matches!(named(p), Named::AccessKey(k) if self.access_keys.contains(k)))
        {
            return Some(format!("same access key {k}"));
        }
        if let Some(ip) = f.remote_ips.iter().find(|ip| self.ips.contains(*ip)) {
            return Some(format!("same IP address {ip}"));
        }
        f.resources
            .iter()
            .find(|r| self.resources.iter().any(|want| same_resource(&r.id, want)))
            .map(|r| format!("same resource {}", r.id))
    }

    fn absorb(&mut self, f: &Finding) {
        for p in &f.principals {
            self.add_principal(p);
        }
        self.ips.extend(f.remote_ips.iter().cloned());
    }
}

/// An ARN and an id name the same resource when equal or when the ARN ends
/// in the id (`...:instance/i-0abc`, `arn:aws:s3:::bucket`).
fn same_resource(have: &str, want: &str) -> bool {
    have == want
        || (have.starts_with("arn:") && (have.ends_with(&format!("/{want}")) || have.ends_with(&format!(":{want}"))))
        || (want.starts_with("arn:") && (want.ends_with(&format!("/{have}")) || want.ends_with(&format!(":{have}"))))
}

/// A finding id as the tools accept it: the full id, the dedup key, or a
/// GuardDuty finding's own id (the ARN's last part).
fn is_finding(f: &Finding, id: &str) -> bool {
    f.id == id || f.dedup_key == id || f.dedup_key.ends_with(&format!("/finding/{id}"))
}

/// The subject matched against the organization's findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The subject.
    pub subject: Subject,
    /// Indexes into the findings given, with why each belongs.
    pub related: Vec<(usize, String)>,
    /// What ties them together.
    pub keys: Keys,
    /// Accounts involved: the subject's and those of related findings.
    pub accounts: BTreeSet<String>,
    /// Regions of the related findings.
    pub regions: BTreeSet<String>,
    /// The earliest first-seen of the related findings.
    pub first_finding: Option<Timestamp>,
}

/// The subject's findings, then those sharing a principal, access key or IP
/// address with them (up to [`HOPS`] times), then attack sequences built
/// from any of them and the signals of those sequences.
pub fn resolve(subject: Subject, findings: &[Finding]) -> Resolved {
    let mut keys = Keys::default();
    let mut accounts = BTreeSet::new();
    let mut related: BTreeMap<usize, String> = BTreeMap::new();
    match &subject {
        Subject::Finding(id) => {
            for (i, f) in findings.iter().enumerate().filter(|(_, f)| is_finding(f, id)) {
                related.insert(i, "the subject".into());
                keys.absorb(f);
                keys.resources.extend(f.resources.iter().map(|r| r.id.clone()));
            }
        }
        Subject::Principal(Principal::Arn {
            account_id,
            name,
            session,
            ..
        }) => {
            accounts.insert(account_id.clone());
            keys.principals.insert(name.clone());
            keys.principals.extend(session.iter().cloned());
        }
        Subject::Principal(Principal::AccessKey(key)) => {
            keys.access_keys.insert(key.clone());
        }
        Subject::Resource(id) => {
            keys.resources.insert(id.clone());
            if let Ok(arn) = parse_arn(id)
                && is_account_id(arn.account)
            {
                accounts.insert(arn.account.to_string());
            }
        }
        Subject::Ip(ip) => {
            keys.ips.insert(ip.to_string());
        }
    }
    for _ in 0..=HOPS {
        let found: Vec<(usize, String)> = findings
            .iter()
            .enumerate()
            .filter(|(i, f)| !related.contains_key(i) && f.is_live())
            .filter_map(|(i, f)| keys.reason(f).map(|why| (i, why)))
            .collect();
        if found.is_empty() {
            break;
        }
        for (i, why) in found {
            keys.absorb(&findings[i]);
            related.insert(i, why);
        }
    }
    // Attack sequences that name a related finding as a signal, and the
    // signals a related sequence names.
    let ids: BTreeSet<&str> = related
        .keys()
        .flat_map(|&i| [findings[i].id.as_str(), findings[i].dedup_key.as_str()])
        .collect();
    let mut signals: BTreeSet<String> = BTreeSet::new();
    for (i, f) in findings.iter().enumerate() {
        let Some(seq) = &f.attack_sequence else { continue };
        if related.contains_key(&i) || seq.signal_ids.iter().any(|s| ids.contains(s.as_str())) {
            related
                .entry(i)
                .or_insert_with(|| "attack sequence built on a related finding".into());
            signals.extend(seq.signal_ids.iter().cloned());
        }
    }
    for (i, f) in findings.iter().enumerate() {
        if !related.contains_key(&i) && signals.iter().any(|s| is_finding(f, s)) {
            related.insert(i, "signal of a related attack sequence".into());
        }
    }
    let mut regions = BTreeSet::new();
    for &i in related.keys() {
        accounts.insert(findings[i].account_id.clone());
        regions.insert(findings[i].region.clone());
    }
    // A finding read through both Security Hub and GuardDuty counts once.
    let mut keys_seen = BTreeSet::new();
    related.retain(|&i, _| keys_seen.insert(findings[i].dedup_key.as_str()));
    let first_finding = related.keys().map(|&i| findings[i].first_seen).min();
    Resolved {
        subject,
        related: related.into_iter().collect(),
        keys,
        accounts,
        regions,
        first_finding,
    }
}

/// The LookupEvents filters for one account: access keys first (the most
/// precise), then principal names, then resources; at most
/// [`MAX_FILTERS_PER_ACCOUNT`]. An IP address cannot be looked up; its
/// principals are.
pub fn lookups(keys: &Keys) -> Vec<EventFilter> {
    let filters = keys
        .access_keys
        .iter()
        .map(|k| EventFilter::AccessKeyId(k.clone()))
        .chain(keys.principals.iter().map(|p| EventFilter::Username(p.clone())))
        .chain(keys.resources.iter().map(|r| EventFilter::ResourceName(r.clone())));
    filters.take(MAX_FILTERS_PER_ACCOUNT).collect()
}

/// Cross-account hops seen in the events: an `AssumeRole*` into a role of
/// another account, with the session key that account logs under.
pub fn hops(events: &[TrailEvent]) -> Vec<(String, EventFilter)> {
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e.error_code.is_none()) {
        let Some(role) = &e.assumed_role_arn else { continue };
        let Ok(arn) = parse_arn(role) else { continue };
        if !is_account_id(arn.account) || e.account_id.as_deref() == Some(arn.account) {
            continue;
        }
        let filter = match &e.issued_access_key_id {
            Some(key) => EventFilter::AccessKeyId(key.clone()),
            None => EventFilter::ResourceName(role.clone()),
        };
        let hop = (arn.account.to_string(), filter);
        if !out.contains(&hop) {
            out.push(hop);
        }
    }
    out
}

/// One account's lookup with one filter, as read.
#[derive(Debug, Clone)]
pub struct Lookup {
    /// The account.
    pub account_id: String,
    /// The filter.
    pub filter: EventFilter,
    /// What it gave, or why the account could not be read.
    pub result: Result<Timeline, crate::sources::SourceError>,
}

/// The resolved subject, every lookup, the inventories and the window.
pub struct Evidence<'a> {
    /// The subject and its related findings.
    pub resolved: &'a Resolved,
    /// The findings `resolved` indexes.
    pub findings: &'a [Finding],
    /// Every lookup made.
    pub lookups: &'a [Lookup],
    /// The inventories of the accounts involved (for the blast radius).
    pub inventories: &'a [&'a Inventory],
    /// Window start and end.
    pub window: (Timestamp, Timestamp),
    /// Notes on the window (a clamp to 90 days).
    pub window_notes: Vec<String>,
    /// Most timeline entries returned.
    pub max_timeline: usize,
    /// AWS Config's history of the subject resource, where read.
    pub config_history: &'a [ResourceHistory],
}

/// AWS Config's recorded history of one resource over the window.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ResourceHistory {
    /// The resource as Config knows it.
    pub resource: crate::config_history::ConfigResource,
    /// The account read.
    pub account_id: String,
    /// The Region read.
    pub region: String,
    /// What it looked like when the window opened (the last item before it).
    pub baseline: Option<crate::config_history::ConfigChange>,
    /// The changes recorded in the window, oldest first.
    pub changes: Vec<crate::config_history::ConfigChange>,
    /// True when more items were recorded than were read.
    pub truncated: bool,
    /// Why it could not be read.
    pub error: Option<String>,
}

/// The answer.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Investigation {
    /// The subject as given and what it resolved to.
    pub subject: SubjectSummary,
    /// The window read.
    pub window: Window,
    /// Events and findings in time order.
    pub timeline: Vec<TimelineEntry>,
    /// Entries in all (`timeline` holds the first `max_timeline`).
    pub timeline_total: usize,
    /// Who acted: principals, access keys, source IPs, user agents.
    pub actors: Vec<Actor>,
    /// Findings tied to the subject, most severe first.
    pub related_findings: Vec<RelatedFinding>,
    /// GuardDuty attack sequences among them, with their signals.
    pub attack_sequences: Vec<AttackSequence>,
    /// AWS Config's recorded configuration history of the subject resource
    /// (a resource subject only).
    pub config_history: Vec<ResourceHistory>,
    /// What the principals involved can reach.
    pub blast_radius: Vec<BlastRadius>,
    /// ATT&CK tactics of the related findings, in kill-chain order.
    pub tactics: Vec<TacticSeen>,
    /// What to do now: advice only, never executed.
    pub steps: Vec<Step>,
    /// Every event and finding id the answer stands on.
    pub evidence: EvidenceIds,
    /// What was read and what could not be.
    pub coverage: Coverage,
    /// One paragraph.
    pub summary: String,
}

/// The subject.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SubjectSummary {
    /// `finding`, `principal`, `resource` or `ip_address`.
    pub kind: String,
    /// As given.
    pub value: String,
    /// Whether any finding or event matched it.
    pub found: bool,
    /// What ties the incident together.
    pub keys: Keys,
    /// Accounts involved (findings and cross-account hops).
    pub accounts: Vec<String>,
}

/// The window read.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Window {
    /// Start (RFC 3339).
    pub start: String,
    /// End (RFC 3339).
    pub end: String,
    /// How it was chosen or limited.
    pub notes: Vec<String>,
}

/// One entry of the timeline.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TimelineEntry {
    /// When (eventTime, a finding's first seen, or Config's capture time).
    pub time: String,
    /// `event` (CloudTrail), `finding`, or `config_change` (AWS Config).
    pub kind: String,
    /// The event id, finding id, or Config's configuration state id.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The Region.
    pub region: String,
    /// `iam.amazonaws.com:AssumeRole`, or the finding type.
    pub what: String,
    /// The principal ARN (events) or principals (findings).
    pub actor: Option<String>,
    /// The source IP address.
    pub source_ip: Option<String>,
    /// The call's error code (a refused call), if any.
    pub error_code: Option<String>,
    /// Resources named.
    pub resources: Vec<String>,
    /// A finding's severity.
    pub severity: Option<String>,
}

/// Someone or something that acted.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Actor {
    /// `principal`, `access_key`, `source_ip` or `user_agent`.
    pub kind: String,
    /// The value.
    pub value: String,
    /// First seen in the window.
    pub first_seen: String,
    /// Last seen in the window.
    pub last_seen: String,
    /// Events it appears in.
    pub events: usize,
    /// Related findings it appears in.
    pub findings: usize,
    /// Whether it acted within the window more than an hour before the
    /// first related finding (a usual actor) or only from then on (new with
    /// the incident); `None` when no finding dates the incident.
    pub seen_before_incident: Option<bool>,
}

/// A related finding.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RelatedFinding {
    /// Its id.
    pub id: String,
    /// Its type.
    pub finding_type: String,
    /// Its title.
    pub title: String,
    /// Severity label.
    pub severity: String,
    /// Producing service.
    pub source: String,
    /// Account.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// First seen.
    pub first_seen: String,
    /// Last seen.
    pub last_seen: String,
    /// Why it belongs.
    pub related_by: String,
}

/// A GuardDuty attack sequence.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AttackSequence {
    /// The sequence finding's id.
    pub finding_id: String,
    /// Its title.
    pub title: String,
    /// Tactics GuardDuty names.
    pub tactics: Vec<String>,
    /// Techniques GuardDuty names.
    pub techniques: Vec<String>,
    /// Signal ids.
    pub signal_ids: Vec<String>,
    /// Signals found among the organization's findings.
    pub signals_found: usize,
}

/// What one principal can reach.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BlastRadius {
    /// The principal (user or role name, or ARN).
    pub principal: String,
    /// Its account.
    pub account_id: String,
    /// `user` or `role`.
    pub kind: String,
    /// Managed policies attached (directly).
    pub attached_policies: Vec<String>,
    /// Inline policy names.
    pub inline_policies: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// What the readable policies allow on sensitive services.
    pub sensitive_access: Vec<SensitiveAccess>,
    /// Roles in other accounts it was seen assuming.
    pub assumed_roles_seen: Vec<String>,
    /// Roles (of the accounts read) whose trust policy names it: it may
    /// assume them.
    pub assumable_roles: Vec<String>,
    /// A role's trust policy principals: who may assume it.
    pub trusted_principals: Vec<String>,
    /// Open IAM Access Analyzer findings in its account.
    pub access_analyzer_findings: usize,
    /// False when some of its permissions could not be read (see `unread`).
    pub complete: bool,
    /// What could not be read, and why.
    pub unread: Vec<String>,
}

/// Access to one sensitive service.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SensitiveAccess {
    /// Service prefix (`iam`, `s3`, `kms`, ...).
    pub service: String,
    /// Allowed actions (patterns as written).
    pub actions: Vec<String>,
    /// Whether on every resource (`*`).
    pub all_resources: bool,
    /// The policy that allows it.
    pub policy: String,
}

/// A tactic seen.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TacticSeen {
    /// `TA0006`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Related findings mapped to it.
    pub findings: usize,
}

/// A recommended step: advice, never executed (the server is read-only).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Step {
    /// `containment`, `eradication` or `recovery`.
    pub phase: String,
    /// What to do.
    pub action: String,
    /// What it is done on.
    pub target: String,
    /// The AWS API action that does it.
    pub aws_action: String,
    /// Documentation.
    pub doc_url: String,
    /// Why, from the evidence.
    pub because: String,
}

/// The ids the answer stands on.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct EvidenceIds {
    /// CloudTrail event ids.
    pub event_ids: Vec<String>,
    /// Finding ids.
    pub finding_ids: Vec<String>,
    /// AWS Config configuration state ids (the baseline and each change).
    pub config_state_ids: Vec<String>,
}

/// What was read.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct Coverage {
    /// Each lookup: account, filter, and per Region what it gave.
    pub lookups: Vec<LookupCoverage>,
    /// True when a lookup stopped at its budget (more events exist).
    pub truncated: bool,
    /// What could not be read, and why.
    pub unread: Vec<String>,
}

/// One lookup's coverage.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LookupCoverage {
    /// The account.
    pub account_id: String,
    /// `access_key_id=ASIA...`.
    pub filter: String,
    /// Per Region: `complete (N events)`, `truncated (N events, next token ...)`, `failed: ...`.
    pub regions: BTreeMap<String, String>,
    /// Why the account could not be read at all.
    pub error: Option<String>,
}

fn filter_label(f: &EventFilter) -> String {
    match f {
        EventFilter::Username(v) => format!("username={v}"),
        EventFilter::AccessKeyId(v) => format!("access_key_id={v}"),
        EventFilter::ResourceName(v) => format!("resource_name={v}"),
        EventFilter::EventName(v) => format!("event_name={v}"),
        EventFilter::EventId(v) => format!("event_id={v}"),
    }
}

/// Services whose access widens an intruder's reach the most.
const SENSITIVE: &[&str] = &[
    "iam",
    "sts",
    "organizations",
    "s3",
    "kms",
    "secretsmanager",
    "ssm",
    "ec2",
    "lambda",
    "cloudtrail",
    "guardduty",
    "dynamodb",
    "rds",
];

/// Assembles the answer.
pub fn assemble(ev: &Evidence<'_>, catalog: &Catalog) -> Investigation {
    let r = ev.resolved;
    let (start, end) = ev.window;
    let in_window = |t: Timestamp| t >= start && t <= end;
    // Events: each once across lookups, in the window.
    let mut events: BTreeMap<String, &TrailEvent> = BTreeMap::new();
    let mut coverage = Coverage::default();
    let mut accounts: BTreeSet<String> = r.accounts.clone();
    for l in ev.lookups {
        accounts.insert(l.account_id.clone());
        let mut regions = BTreeMap::new();
        let error = match &l.result {
            Ok(t) => {
                for e in t.events.iter().filter(|e| in_window(e.event_time)) {
                    events.entry(e.event_id.clone()).or_insert(e);
                }
                for (region, read) in &t.regions {
                    let text = match read {
                        RegionRead::Complete { events } => format!("complete ({events} events)"),
                        RegionRead::Truncated { events, next_token } => {
                            coverage.truncated = true;
                            format!("truncated at {events} events (next token {next_token})")
                        }
                        RegionRead::Failed { events, error } => {
                            coverage.unread.push(format!(
                                "CloudTrail {} {region} ({}): {error}",
                                l.account_id,
                                filter_label(&l.filter)
                            ));
                            format!("failed after {events} events: {error}")
                        }
                    };
                    regions.insert(region.clone(), text);
                }
                None
            }
            Err(e) => {
                coverage.unread.push(format!("CloudTrail {}: {e}", l.account_id));
                Some(e.to_string())
            }
        };
        coverage.lookups.push(LookupCoverage {
            account_id: l.account_id.clone(),
            filter: filter_label(&l.filter),
            regions,
            error,
        });
    }
    let mut events: Vec<&TrailEvent> = events.into_values().collect();
    events.sort_by(|a, b| {
        a.event_time
            .cmp(&b.event_time)
            .then_with(|| a.event_id.cmp(&b.event_id))
    });
    let related: Vec<(&Finding, &str)> = r
        .related
        .iter()
        .map(|(i, why)| (&ev.findings[*i], why.as_str()))
        .collect();

    let mut timeline: Vec<(Timestamp, TimelineEntry)> = events
        .iter()
        .map(|e| {
            (
                e.event_time,
                TimelineEntry {
                    time: e.event_time.to_string(),
                    kind: "event".into(),
                    id: e.event_id.clone(),
                    account_id: e.account_id.clone().unwrap_or_default(),
                    region: e.region.clone(),
                    what: format!("{}:{}", e.event_source, e.event_name),
                    actor: e.principal_arn.clone(),
                    source_ip: e.source_ip.clone(),
                    error_code: e.error_code.clone(),
                    resources: e.resources.clone(),
                    severity: None,
                },
            )
        })
        .collect();
    timeline.extend(related.iter().map(|(f, _)| {
        (
            f.first_seen,
            TimelineEntry {
                time: f.first_seen.to_string(),
                kind: "finding".into(),
                id: f.id.clone(),
                account_id: f.account_id.clone(),
                region: f.region.clone(),
                what: f.finding_type.clone(),
                actor: (!f.principals.is_empty()).then(|| f.principals.join(", ")),
                source_ip: f.remote_ips.first().cloned(),
                error_code: None,
                resources: f.resources.iter().map(|r| r.id.clone()).collect(),
                severity: Some(f.severity.label().to_string()),
            },
        )
    }));
    for h in ev.config_history {
        if let Some(error) = &h.error {
            coverage
                .unread
                .push(format!("AWS Config history {} {}: {error}", h.account_id, h.region));
        }
        if h.truncated {
            coverage.truncated = true;
        }
        timeline.extend(h.changes.iter().filter_map(|c| {
            let at = crate::time::parse_timestamp(&c.time).filter(|t| in_window(*t))?;
            let what = match c.changed.as_slice() {
                [] => format!("{} {}", c.resource_type, c.status),
                changed => format!("{} {}: {} changed", c.resource_type, c.status, changed.join(", ")),
            };
            Some((
                at,
                TimelineEntry {
                    time: c.time.clone(),
                    kind: "config_change".into(),
                    id: c.state_id.clone(),
                    account_id: c.account_id.clone(),
                    region: c.region.clone(),
                    what,
                    actor: None,
                    source_ip: None,
                    error_code: None,
                    resources: vec![c.resource_name.clone().unwrap_or_else(|| c.resource_id.clone())],
                    severity: None,
                },
            ))
        }));
    }
    timeline.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let timeline_total = timeline.len();
    if timeline_total > ev.max_timeline {
        coverage.unread.push(format!(
            "the timeline holds {timeline_total} entries; the first {} are listed (raise max_timeline)",
            ev.max_timeline
        ));
    }
    let timeline: Vec<TimelineEntry> = timeline.into_iter().take(ev.max_timeline).map(|(_, e)| e).collect();

    let actors = actors(&events, &related, r.first_finding);
    let mut related_findings: Vec<RelatedFinding> = related
        .iter()
        .map(|(f, why)| RelatedFinding {
            id: f.id.clone(),
            finding_type: f.finding_type.clone(),
            title: f.title.clone(),
            severity: f.severity.label().to_string(),
            source: f.source.name().to_string(),
            account_id: f.account_id.clone(),
            region: f.region.clone(),
            first_seen: f.first_seen.to_string(),
            last_seen: f.last_seen.to_string(),
            related_by: why.to_string(),
        })
        .collect();
    related_findings.sort_by(|a, b| {
        let score = |id: &str| {
            related
                .iter()
                .find(|(f, _)| f.id == id)
                .map_or(0.0, |(f, _)| f.severity_score)
        };
        score(&b.id)
            .total_cmp(&score(&a.id))
            .then_with(|| a.first_seen.cmp(&b.first_seen))
    });
    let attack_sequences = related
        .iter()
        .filter_map(|(f, _)| f.attack_sequence.as_ref().map(|s| (f, s)))
        .map(|(f, s)| AttackSequence {
            finding_id: f.id.clone(),
            title: s.title.clone(),
            tactics: s.tactics.clone(),
            techniques: s.techniques.clone(),
            signal_ids: s.signal_ids.clone(),
            signals_found: s
                .signal_ids
                .iter()
                .filter(|id| ev.findings.iter().any(|g| is_finding(g, id)))
                .count(),
        })
        .collect();
    let blast_radius = blast_radius(r, &related, &events, ev.inventories, ev.findings);
    let tactics = tactics(&related, catalog);
    let steps = steps(r, &related, &events);
    let evidence = EvidenceIds {
        event_ids: events.iter().map(|e| e.event_id.clone()).collect(),
        finding_ids: related.iter().map(|(f, _)| f.id.clone()).collect(),
        config_state_ids: ev
            .config_history
            .iter()
            .flat_map(|h| h.baseline.iter().chain(&h.changes))
            .map(|c| c.state_id.clone())
            .collect(),
    };
    let recorded = ev
        .config_history
        .iter()
        .any(|h| h.baseline.is_some() || !h.changes.is_empty());
    let found = !related.is_empty() || !events.is_empty() || recorded;
    let summary = summary(r, &related, &events, &accounts, &tactics, found);
    Investigation {
        subject: SubjectSummary {
            kind: r.subject.kind().to_string(),
            value: r.subject.value(),
            found,
            keys: r.keys.clone(),
            accounts: accounts.into_iter().collect(),
        },
        window: Window {
            start: start.to_string(),
            end: end.to_string(),
            notes: ev.window_notes.clone(),
        },
        timeline,
        timeline_total,
        actors,
        related_findings,
        attack_sequences,
        config_history: ev.config_history.to_vec(),
        blast_radius,
        tactics,
        steps,
        evidence,
        coverage,
        summary,
    }
}

fn actors(events: &[&TrailEvent], related: &[(&Finding, &str)], incident: Option<Timestamp>) -> Vec<Actor> {
    struct Seen {
        first: Timestamp,
        last: Timestamp,
        events: usize,
        findings: usize,
    }
    let mut seen: BTreeMap<(&'static str, String), Seen> = BTreeMap::new();
    let mut note = |kind: &'static str, value: &str, t: Timestamp, is_event: bool| {
        let s = seen.entry((kind, value.to_string())).or_insert(Seen {
            first: t,
            last: t,
            events: 0,
            findings: 0,
        });
        s.first = s.first.min(t);
        s.last = s.last.max(t);
        if is_event {
            s.events += 1;
        } else {
            s.findings += 1;
        }
    };
    for e in events {
        let t = e.event_time;
        for (kind, value) in [
            ("principal", &e.principal_arn),
            ("access_key", &e.access_key_id),
            ("source_ip", &e.source_ip),
            ("user_agent", &e.user_agent),
        ] {
            if let Some(v) = value {
                note(kind, v, t, true);
            }
        }
    }
    for (f, _) in related {
        for p in &f.principals {
            match named(p) {
                Named::AccessKey(k) => note("access_key", k, f.first_seen, false),
                Named::Session(n) | Named::Name(n) => note("principal", n, f.first_seen, false),
            }
        }
        for ip in &f.remote_ips {
            note("source_ip", ip, f.first_seen, false);
        }
    }
    let mut out: Vec<Actor> = seen
        .into_iter()
        .map(|((kind, value), s)| Actor {
            kind: kind.to_string(),
            value,
            first_seen: s.first.to_string(),
            last_seen: s.last.to_string(),
            events: s.events,
            findings: s.findings,
            seen_before_incident: incident.map(|t| s.first < t - INCIDENT_LEAD),
        })
        .collect();
    out.sort_by(|a, b| {
        (b.events + b.findings)
            .cmp(&(a.events + a.findings))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    out
}

/// The principals involved: named in related findings or the subject, as
/// users of the inventories (roles are not in the inventory: said).
fn blast_radius(
    r: &Resolved,
    related: &[(&Finding, &str)],
    events: &[&TrailEvent],
    inventories: &[&Inventory],
    findings: &[Finding],
) -> Vec<BlastRadius> {
    let mut out = Vec::new();
    // (account, name) of each principal involved, from the findings.
    let mut principals: BTreeSet<(String, String)> = BTreeSet::new();
    if let Subject::Principal(Principal::Arn { account_id, name, .. }) = &r.subject {
        principals.insert((account_id.clone(), name.clone()));
    }
    for (f, _) in related {
        for p in &f.principals {
            if let Named::Name(n) = named(p) {
                principals.insert((f.account_id.clone(), n.to_string()));
            }
        }
    }
    for e in events {
        if let (Some(arn), Some(account)) = (&e.principal_arn, &e.account_id)
            && let Ok(Principal::Arn { name, .. }) = Principal::parse(arn)
        {
            principals.insert((account.clone(), name));
        }
    }
    for (account, name) in principals {
        let inventory = inventories.iter().find(|i| i.account_id == account);
        let iam = inventory.map(|i| i.iam.get());
        let analyzer = findings
            .iter()
            .filter(|f| f.account_id == account && f.is_open())
            .filter(|f| f.source == crate::finding::SourceService::AccessAnalyzer)
            .count();
        let assumed_roles_seen: Vec<String> = events
            .iter()
            .filter(|e| e.error_code.is_none())
            .filter(|e| {
                e.principal_arn
                    .as_deref()
                    .and_then(|a| Principal::parse(a).ok())
                    .is_some_and(|p| matches!(p, Principal::Arn { name: n, .. } if n == name))
            })
            .filter_map(|e| e.assumed_role_arn.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let entry = match iam {
            Some(Ok(iam)) => {
                let mut access = Access::default();
                let (kind, attached, inline_names, groups, trusted) =
                    if let Some(user) = iam.users.iter().find(|u| u.name == name) {
                        access.managed(iam, &user.attached_policy_arns);
                        access.inline(&user.inline_policies);
                        let unread: Vec<&str> = user
                            .inline_policy_names
                            .iter()
                            .filter(|n| !user.inline_policies.iter().any(|p| &&p.name == n))
                            .map(String::as_str)
                            .collect();
                        if !unread.is_empty() {
                            access.unread.push(format!(
                                "inline policies {}: their documents are not in the inventory",
                                unread.join(", ")
                            ));
                        }
                        access.groups(iam, &user.groups);
                        (
                            "user",
                            user.attached_policy_arns.clone(),
                            user.inline_policy_names.clone(),
                            user.groups.clone(),
                            Vec::new(),
                        )
                    } else if let Some(role) = iam.roles.iter().flatten().find(|r| r.name == name) {
                        access.managed(iam, &role.attached_policy_arns);
                        access.inline(&role.inline_policies);
                        (
                            "role",
                            role.attached_policy_arns.clone(),
                            role.inline_policies.iter().map(|p| p.name.clone()).collect(),
                            Vec::new(),
                            trust_principals(&role.trust_policy),
                        )
                    } else {
                        access.unread.push(match &iam.roles_gap {
                            Some(gap) => format!(
                                "{name} is not an IAM user of {account}, and its roles could not be read: {}",
                                gap.detail
                            ),
                            None if iam.roles.is_none() => format!(
                                "{name} is not an IAM user of {account}, and this inventory holds no roles \
                                 (collected before roles were read)"
                            ),
                            None => format!("{name} is neither an IAM user nor a role of {account}'s inventory"),
                        });
                        ("role", Vec::new(), Vec::new(), Vec::new(), Vec::new())
                    };
                let arn = format!("arn:aws:iam::{account}:{kind}/{name}");
                // In any account read: a trust policy may name a principal of another.
                let assumable_roles = inventories
                    .iter()
                    .filter_map(|i| i.iam.get().ok())
                    .flat_map(|iam| iam.roles.iter().flatten())
                    .filter(|r| trust_principals(&r.trust_policy).iter().any(|p| p == &arn))
                    .map(|r| r.arn.clone())
                    .collect();
                BlastRadius {
                    principal: name.clone(),
                    account_id: account.clone(),
                    kind: kind.into(),
                    attached_policies: attached,
                    inline_policies: inline_names,
                    groups,
                    sensitive_access: access.sensitive,
                    assumed_roles_seen,
                    assumable_roles,
                    trusted_principals: trusted,
                    access_analyzer_findings: analyzer,
                    complete: access.unread.is_empty(),
                    unread: access.unread,
                }
            }
            unreadable => BlastRadius {
                principal: name.clone(),
                account_id: account.clone(),
                kind: "unknown".into(),
                attached_policies: vec![],
                inline_policies: vec![],
                groups: vec![],
                sensitive_access: vec![],
                assumed_roles_seen,
                assumable_roles: vec![],
                trusted_principals: vec![],
                access_analyzer_findings: analyzer,
                complete: false,
                unread: vec![match unreadable {
                    Some(Err(gap)) => format!("IAM of account {account} could not be read: {}", gap.detail),
                    _ => format!("no inventory of account {account} was read"),
                }],
            },
        };
        out.push(entry);
    }
    out
}

/// What a principal's readable policies allow, and what could not be read.
#[derive(Default)]
struct Access {
    sensitive: Vec<SensitiveAccess>,
    unread: Vec<String>,
}

impl Access {
    fn managed(&mut self, iam: &crate::posture::inventory::IamInventory, arns: &[String]) {
        for arn in arns {
            match iam.attached_policies.iter().find(|p| &p.arn == arn) {
                Some(p) => self.sensitive.extend(sensitive_access(&p.document, &p.name)),
                None => self
                    .unread
                    .push(format!("policy {arn}: its document is not in the inventory")),
            }
        }
    }

    fn inline(&mut self, policies: &[crate::posture::inventory::InlinePolicy]) {
        for p in policies {
            self.sensitive.extend(sensitive_access(&p.document, &p.name));
        }
    }

    fn groups(&mut self, iam: &crate::posture::inventory::IamInventory, names: &[String]) {
        for name in names {
            match iam.groups.iter().flatten().find(|g| &g.name == name) {
                Some(g) => {
                    self.managed(iam, &g.attached_policy_arns);
                    self.inline(&g.inline_policies);
                }
                None => self
                    .unread
                    .push(format!("group {name}: its policies are not in the inventory")),
            }
        }
    }
}

/// The AWS principals a trust policy's Allow statements name.
fn trust_principals(document: &serde_json::Value) -> Vec<String> {
    let statements = match document.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(s @ serde_json::Value::Object(_)) => vec![s],
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for st in statements
        .into_iter()
        .filter(|st| st.get("Effect").and_then(|e| e.as_str()) == Some("Allow"))
    {
        let principal = st.get("Principal");
        let named = match principal {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Object(map)) => map
                .values()
                .flat_map(|v| match v {
                    serde_json::Value::String(s) => vec![s.clone()],
                    serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                    _ => Vec::new(),
                })
                .collect(),
            _ => Vec::new(),
        };
        for p in named {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// What a policy document allows on sensitive services.
fn sensitive_access(document: &serde_json::Value, policy: &str) -> Vec<SensitiveAccess> {
    let as_list = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => vec![],
        }
    };
    let statements = match document.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(s @ serde_json::Value::Object(_)) => vec![s.clone()],
        _ => vec![],
    };
    let mut per_service: BTreeMap<String, (BTreeSet<String>, bool)> = BTreeMap::new();
    for st in statements
        .iter()
        .filter(|s| s.get("Effect").and_then(|e| e.as_str()) == Some("Allow"))
    {
        let all_resources = as_list(st.get("Resource")).iter().any(|r| r == "*");
        for action in as_list(st.get("Action")) {
            let services: Vec<String> = if action == "*" {
                SENSITIVE.iter().map(|s| s.to_string()).collect()
            } else {
                let service = action.split(':').next().unwrap_or_default().to_ascii_lowercase();
                if SENSITIVE.contains(&service.as_str()) {
                    vec![service]
                } else {
                    vec![]
                }
            };
            for service in services {
                let e = per_service.entry(service).or_default();
                e.0.insert(action.clone());
                e.1 |= all_resources;
            }
        }
    }
    per_service
        .into_iter()
        .map(|(service, (actions, all_resources))| SensitiveAccess {
            service,
            actions: actions.into_iter().collect(),
            all_resources,
            policy: policy.to_string(),
        })
        .collect()
}

fn tactics(related: &[(&Finding, &str)], catalog: &Catalog) -> Vec<TacticSeen> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (f, _) in related {
        for t in catalog.classify(f).tactics {
            *counts.entry(t).or_default() += 1;
        }
    }
    let mut out: Vec<TacticSeen> = counts
        .into_iter()
        .map(|(name, findings)| TacticSeen {
            id: catalog.tactic(&name).map(|t| t.id.clone()).unwrap_or_default(),
            name,
            findings,
        })
        .collect();
    out.sort_by_key(|t| catalog.order(&t.name));
    out
}

const REVOKE_SESSIONS: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html";
const ACCESS_KEYS: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html";
const IR_GUIDE: &str = "https://docs.aws.amazon.com/security-ir/latest/userguide/credential-compromise.html";
const ISOLATE: &str =
    "https://docs.aws.amazon.com/prescriptive-guidance/latest/patterns/isolate-an-amazon-ec2-instance.html";
const SNAPSHOT: &str = "https://docs.aws.amazon.com/ebs/latest/userguide/ebs-creating-snapshot.html";
const NACL: &str = "https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html";
const TRUST: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/roles-managingrole-editing-cli.html";
const S3_BPA: &str = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html";
const IMDS: &str = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-existing-instances.html";

/// Containment and eradication advice from what the evidence shows.
fn steps(r: &Resolved, related: &[(&Finding, &str)], events: &[&TrailEvent]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut push = |phase: &str, action: String, target: String, aws_action: &str, doc: &str, because: String| {
        let step = Step {
            phase: phase.into(),
            action,
            target,
            aws_action: aws_action.into(),
            doc_url: doc.into(),
            because,
        };
        if !out.contains(&step) {
            out.push(step);
        }
    };
    // Temporary keys of roles: revoke the role's sessions.
    for (f, _) in related
        .iter()
        .filter(|(f, _)| f.finding_type.contains("InstanceCredentialExfiltration"))
    {
        for p in f.principals.iter().filter_map(|p| match named(p) {
            Named::Name(n) => Some(n),
            _ => None,
        }) {
            push(
                "containment",
                "Revoke the role's active sessions (deny every session issued before now)".into(),
                format!("role {p} in {}", f.account_id),
                "iam:PutRolePolicy (AWSRevokeOlderSessions)",
                REVOKE_SESSIONS,
                format!(
                    "{} shows the role's instance credentials used outside AWS",
                    f.finding_type
                ),
            );
        }
        for res in f.resources.iter().filter(|r| r.kind == "AwsEc2Instance") {
            push(
                "eradication",
                "Require IMDSv2 on the instance (hop limit 1) so its credentials cannot be lifted again".into(),
                res.id.clone(),
                "ec2:ModifyInstanceMetadataOptions",
                IMDS,
                "instance credentials were exfiltrated".into(),
            );
        }
    }
    for key in &r.keys.access_keys {
        if key.starts_with("AKIA") {
            push(
                "containment",
                "Deactivate the access key, then delete it once nothing legitimate uses it".into(),
                key.clone(),
                "iam:UpdateAccessKey (Status=Inactive)",
                ACCESS_KEYS,
                "the long-term key is tied to the incident".into(),
            );
        }
    }
    // Roles assumed across accounts with the stolen session.
    for e in events.iter().filter(|e| e.error_code.is_none()) {
        if let Some(role) = &e.assumed_role_arn
            && e.account_id
                .as_deref()
                .is_some_and(|a| !role.contains(&format!(":{a}:")))
        {
            push(
                "containment",
                "Revoke the sessions of the role assumed from the compromised principal".into(),
                role.clone(),
                "iam:PutRolePolicy (AWSRevokeOlderSessions)",
                REVOKE_SESSIONS,
                format!(
                    "event {} assumed it from {}",
                    e.event_id,
                    e.principal_arn.as_deref().unwrap_or("?")
                ),
            );
            push(
                "eradication",
                "Narrow the role's trust policy to the principals that need it (and require an ExternalId)".into(),
                role.clone(),
                "iam:UpdateAssumeRolePolicy",
                TRUST,
                "the trust policy let the compromised principal in".into(),
            );
        }
    }
    for ip in &r.keys.ips {
        push(
            "containment",
            "Deny the source IP address where it reached you (network ACL deny rule; aws:SourceIp deny in policies)"
                .into(),
            ip.clone(),
            "ec2:CreateNetworkAclEntry",
            NACL,
            "the address acted in the incident".into(),
        );
    }
    for (f, _) in related
        .iter()
        .filter(|(f, _)| f.finding_type.starts_with("Exfiltration:S3"))
    {
        for res in f.resources.iter().filter(|r| r.kind == "AwsS3Bucket") {
            push(
                "containment",
                "Review the bucket's policy and block public access while data access is investigated".into(),
                res.id.clone(),
                "s3:PutBucketPublicAccessBlock",
                S3_BPA,
                format!("{} on it", f.finding_type),
            );
        }
    }
    let instances: BTreeSet<&str> = related
        .iter()
        .filter(|(f, _)| {
            f.finding_type.contains(":EC2/") || f.finding_type.contains("Backdoor") || f.finding_type.contains("Trojan")
        })
        .flat_map(|(f, _)| {
            f.resources
                .iter()
                .filter(|r| r.kind == "AwsEc2Instance")
                .map(|r| r.id.as_str())
        })
        .collect();
    for instance in instances {
        push(
            "containment",
            "Isolate the instance: move it to a security group with no rules (keep it running for forensics)".into(),
            instance.to_string(),
            "ec2:ModifyInstanceAttribute (Groups)",
            ISOLATE,
            "an EC2 finding of the incident names it".into(),
        );
        push(
            "eradication",
            "Snapshot its volumes for forensics before rebuilding it from a known-good image".into(),
            instance.to_string(),
            "ec2:CreateSnapshot",
            SNAPSHOT,
            "evidence must outlive the rebuild".into(),
        );
    }
    if !related.is_empty() {
        push(
            "recovery",
            "Rotate every credential the principals could read, and review what they created (users, keys, roles, policies) in the timeline".into(),
            "the principals involved".into(),
            "iam:ListAccessKeys, iam:ListUsers (review)",
            IR_GUIDE,
            format!("{} related findings", related.len()),
        );
    }
    out
}

fn summary(
    r: &Resolved,
    related: &[(&Finding, &str)],
    events: &[&TrailEvent],
    accounts: &BTreeSet<String>,
    tactics: &[TacticSeen],
    found: bool,
) -> String {
    if !found {
        return format!(
            "No finding or CloudTrail event in the window matches {} {}.",
            r.subject.kind(),
            r.subject.value()
        );
    }
    let names: Vec<&str> = tactics.iter().map(|t| t.name.as_str()).collect();
    format!(
        "{} {}: {} related findings and {} CloudTrail events across {} account(s) ({}); tactics: {}.",
        r.subject.kind(),
        r.subject.value(),
        related.len(),
        events.len(),
        accounts.len(),
        accounts.iter().cloned().collect::<Vec<_>>().join(", "),
        if names.is_empty() {
            "none mapped".to_string()
        } else {
            names.join(" → ")
        }
    )
}

#[cfg(test)]
mod tests;
