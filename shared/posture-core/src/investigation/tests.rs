use super::*;
use crate::demo::DemoOrganization;
use crate::events::EventQuery;
use crate::ports::EventHistory;
use jiff::SignedDuration;

const EXFILTRATION: &str = "432c9a5f72a09c6258e088c46edbde10";
const ROLE_SESSION: &str = "arn:aws:sts::345678901234:assumed-role/payments-app-role/i-0a1b2c3d4e5f60718";
const OUTSIDE_IP: &str = "198.51.100.23";
const PAYMENTS: &str = "345678901234";
const SANDBOX: &str = "456789012345";

fn parse(f: Option<&str>, p: Option<&str>, r: Option<&str>, ip: Option<&str>) -> Result<Subject, SubjectError> {
    Subject::parse(f, p, r, ip)
}

#[test]
fn exactly_one_well_formed_subject_is_accepted() {
    let none = parse(None, None, None, None).unwrap_err();
    assert_eq!(none, SubjectError::Missing);
    let two = parse(Some("abc"), None, None, Some("10.0.0.1")).unwrap_err();
    assert_eq!(two.field(), "ip_address");
    assert!(two.to_string().contains("finding_id and ip_address"), "{two}");
    for (principal, ok) in [
        ("arn:aws:iam::123456789012:user/alice", true),
        ("arn:aws:iam::123456789012:role/path/deploy", true),
        (ROLE_SESSION, true),
        ("arn:aws:iam::123456789012:root", true),
        ("AKIAIOSFODNN7EXAMPLE", true),
        ("arn:aws:iam::12345:user/alice", false),
        ("arn:aws:s3:::bucket", false),
        ("arn:aws:sts::123456789012:assumed-role/only-role", false),
        ("arn:aws:iam:123456789012:user/alice", false),
        ("alice", false),
    ] {
        let got = parse(None, Some(principal), None, None);
        assert_eq!(got.is_ok(), ok, "{principal}: {got:?}");
        if let Err(e) = got {
            assert_eq!(e.field(), "principal");
        }
    }
    let bad_arn = parse(None, None, Some("arn:aws:ec2:us-east-1:1234:instance/i-1"), None).unwrap_err();
    assert_eq!(bad_arn.field(), "resource");
    assert!(parse(None, None, Some("i-0a1b2c3d4e5f60718"), None).is_ok());
    assert_eq!(
        parse(None, None, None, Some("not-an-ip")).unwrap_err().field(),
        "ip_address"
    );
    assert_eq!(
        parse(None, None, None, Some("2001:db8::1")).unwrap().kind(),
        "ip_address"
    );
    match parse(None, Some(ROLE_SESSION), None, None).unwrap() {
        Subject::Principal(Principal::Arn {
            account_id,
            name,
            session,
            ..
        }) => {
            assert_eq!(account_id, PAYMENTS);
            assert_eq!(name, "payments-app-role");
            assert_eq!(session.as_deref(), Some("i-0a1b2c3d4e5f60718"));
        }
        other => panic!("{other:?}"),
    }
}

fn related_ids(r: &Resolved, findings: &[Finding]) -> BTreeSet<String> {
    r.related.iter().map(|(i, _)| findings[*i].id.clone()).collect()
}

#[test]
fn the_finding_the_principal_and_the_ip_resolve_to_the_same_incident() {
    let org = DemoOrganization::load(Timestamp::now()).unwrap();
    let findings = org.findings();
    let by_finding = resolve(Subject::Finding(EXFILTRATION.into()), &findings);
    let by_principal = resolve(parse(None, Some(ROLE_SESSION), None, None).unwrap(), &findings);
    let by_ip = resolve(parse(None, None, None, Some(OUTSIDE_IP)).unwrap(), &findings);
    let incident = related_ids(&by_finding, &findings);
    assert_eq!(related_ids(&by_principal, &findings), incident);
    assert_eq!(related_ids(&by_ip, &findings), incident);
    let types: BTreeSet<&str> = by_finding
        .related
        .iter()
        .map(|(i, _)| findings[*i].finding_type.as_str())
        .collect();
    for t in [
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        "Discovery:IAMUser/AnomalousBehavior",
        "PrivilegeEscalation:IAMUser/AnomalousBehavior",
        "Exfiltration:S3/AnomalousBehavior",
        "AttackSequence:IAM/CompromisedCredentials",
    ] {
        assert!(types.contains(t), "{t} missing from {types:?}");
    }
    // Unrelated activity of the same account stays out.
    assert!(!types.contains("Persistence:IAMUser/AnomalousBehavior"), "{types:?}");
    assert!(by_ip.keys.access_keys.contains("ASIA3XFRBF23EXAMPLE1"));
    assert_eq!(by_ip.accounts, BTreeSet::from([PAYMENTS.to_string()]));
}

/// Every lookup the tool makes, against the demo's event history.
fn lookups_of(org: &DemoOrganization, r: &Resolved, window: (Timestamp, Timestamp), now: Timestamp) -> Vec<Lookup> {
    let regions: Vec<String> = r.regions.iter().cloned().collect();
    let run = |account: &str, filter: EventFilter| {
        let q = EventQuery::new(Some(filter.clone()), window.0, window.1, 200, now).unwrap();
        Lookup {
            account_id: account.to_string(),
            filter,
            result: futures::executor::block_on(org.lookup(account, &regions, &q)),
        }
    };
    let mut out: Vec<Lookup> = r
        .accounts
        .iter()
        .flat_map(|a| lookups(&r.keys).into_iter().map(|f| run(a, f)))
        .collect();
    let events: Vec<TrailEvent> = out
        .iter()
        .flat_map(|l| l.result.as_ref().unwrap().events.clone())
        .collect();
    for (account, filter) in hops(&events) {
        out.push(run(&account, filter));
    }
    out
}

#[test]
fn an_incident_across_two_accounts_is_assembled_in_order_with_actors_radius_and_steps() {
    let now = Timestamp::now();
    let org = DemoOrganization::load(now).unwrap();
    let findings = org.findings();
    let resolved = resolve(Subject::Ip(OUTSIDE_IP.parse().unwrap()), &findings);
    let start = resolved.first_finding.unwrap() - SignedDuration::from_hours(24);
    let lookups = lookups_of(&org, &resolved, (start, now), now);
    assert!(
        lookups.iter().any(|l| l.account_id == SANDBOX),
        "the AssumeRole hop is followed"
    );
    let inventories: Vec<&Inventory> = org.inventories.iter().collect();
    let ev = Evidence {
        resolved: &resolved,
        findings: &findings,
        lookups: &lookups,
        inventories: &inventories,
        window: (start, now),
        window_notes: vec![],
        max_timeline: 500,
        config_history: &[],
    };
    let catalog = crate::findings::attack::catalog().unwrap();
    let inv = assemble(&ev, catalog);
    assert_eq!(inv.subject.accounts, [PAYMENTS, SANDBOX]);
    // In time order, each event once.
    let times: Vec<Timestamp> = inv.timeline.iter().map(|e| e.time.parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let ids: BTreeSet<&str> = inv.timeline.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), inv.timeline.len());
    let sandbox_events = inv
        .timeline
        .iter()
        .filter(|e| e.kind == "event" && e.account_id == SANDBOX)
        .count();
    assert!(sandbox_events >= 4, "{sandbox_events} events in the second account");
    // The administrator's routine work in the sandbox is no part of it.
    assert!(!inv.timeline.iter().any(|e| e.what.ends_with("DescribeSecurityGroups")));
    // The outside IP is new with the incident; the role acted before it.
    let actor = |kind: &str, value: &str| inv.actors.iter().find(|a| a.kind == kind && a.value == value).unwrap();
    assert_eq!(actor("source_ip", OUTSIDE_IP).seen_before_incident, Some(false));
    assert_eq!(actor("source_ip", "203.0.113.10").seen_before_incident, Some(true));
    assert!(actor("principal", ROLE_SESSION).events >= 8);
    // Blast radius: the role, its cross-account reach seen, what is unread said.
    let principals: BTreeSet<&str> = inv.blast_radius.iter().map(|b| b.principal.as_str()).collect();
    assert_eq!(
        principals,
        BTreeSet::from(["cross-account-deploy", "payments-app-role"])
    );
    let role = inv
        .blast_radius
        .iter()
        .find(|b| b.principal == "payments-app-role")
        .unwrap();
    assert_eq!(
        role.assumed_roles_seen,
        ["arn:aws:iam::456789012345:role/cross-account-deploy"]
    );
    // The role's policies read from the inventory; the role in the other
    // account trusts it.
    assert_eq!(role.kind, "role");
    assert!(role.complete && role.unread.is_empty(), "{:?}", role.unread);
    assert_eq!(
        role.assumable_roles,
        ["arn:aws:iam::456789012345:role/cross-account-deploy"]
    );
    assert!(role.sensitive_access.iter().any(|a| a.service == "s3"));
    // An inventory collected before roles were read says so: never complete.
    let mut older = org.inventories.clone();
    for i in &mut older {
        if let crate::posture::inventory::Collected::Collected(iam) = &mut i.iam {
            iam.roles = None;
        }
    }
    let older: Vec<&Inventory> = older.iter().collect();
    let inv_older = assemble(
        &Evidence {
            inventories: &older,
            ..ev
        },
        catalog,
    );
    let role = inv_older
        .blast_radius
        .iter()
        .find(|b| b.principal == "payments-app-role")
        .unwrap();
    assert!(
        !role.complete && role.unread[0].contains("holds no roles"),
        "{:?}",
        role.unread
    );
    // Tactics in kill-chain order, steps with actions and links.
    let tactics: Vec<&str> = inv.tactics.iter().map(|t| t.name.as_str()).collect();
    for t in ["Initial Access", "Discovery", "Exfiltration"] {
        assert!(tactics.contains(&t), "{t} missing from {tactics:?}");
    }
    let step = |target: &str| inv.steps.iter().any(|s| s.target.contains(target));
    assert!(step("payments-app-role"), "{:?}", inv.steps);
    assert!(step("cross-account-deploy"));
    assert!(step(OUTSIDE_IP));
    assert!(
        inv.steps
            .iter()
            .all(|s| s.doc_url.starts_with("https://docs.aws.amazon.com/") && !s.aws_action.is_empty())
    );
    for e in &inv.timeline {
        eprintln!("{} {} {} {}", e.time, e.kind, e.id, e.what);
    }
    eprintln!("{:?}", inv.evidence);
    assert_eq!(
        inv.evidence.event_ids.len() + inv.evidence.finding_ids.len(),
        inv.timeline_total
    );
    assert!(inv.coverage.unread.is_empty(), "{:?}", inv.coverage.unread);
}

#[test]
fn a_denied_account_and_a_cut_timeline_are_reported_not_dropped() {
    let now = Timestamp::now();
    let org = DemoOrganization::load(now).unwrap();
    let findings = org.findings();
    let resolved = resolve(Subject::Finding(EXFILTRATION.into()), &findings);
    let start = resolved.first_finding.unwrap() - SignedDuration::from_hours(24);
    let mut lookups = lookups_of(&org, &resolved, (start, now), now);
    lookups.push(Lookup {
        account_id: "999999999999".into(),
        filter: EventFilter::AccessKeyId("ASIA3XFRBF23EXAMPLE1".into()),
        result: Err(crate::sources::SourceError {
            kind: crate::sources::SourceErrorKind::Authentication,
            service: "CloudTrail".into(),
            message: "sts:AssumeRole: AccessDenied".into(),
        }),
    });
    let inventories: Vec<&Inventory> = vec![];
    let ev = Evidence {
        resolved: &resolved,
        findings: &findings,
        lookups: &lookups,
        inventories: &inventories,
        window: (start, now),
        window_notes: vec![],
        max_timeline: 3,
        config_history: &[],
    };
    let inv = assemble(&ev, crate::findings::attack::catalog().unwrap());
    assert_eq!(inv.timeline.len(), 3);
    assert!(inv.timeline_total > 3);
    assert!(
        inv.coverage
            .unread
            .iter()
            .any(|u| u.contains("999999999999") && u.contains("AccessDenied"))
    );
    assert!(inv.coverage.unread.iter().any(|u| u.contains("raise max_timeline")));
    assert!(inv.blast_radius.iter().all(|b| !b.complete));
}
