use super::*;
use crate::finding::{Channel, ComplianceRef, ResourceRef, SourceService};
use crate::posture::checks::evaluate_all;
use crate::posture::inventory::{Collected, Gap};
use crate::posture::inventory::{
    CredentialReportRow, IamInventory, Inventory, PublicAccessBlock, RegionInventory, S3Inventory,
};
use crate::severity::Severity;
use crate::verdict::Unread;
use proptest::prelude::*;

const HAND_BUILT: &str = r#"{
  "id": "TEST-1", "name": "Hand-computed test framework", "version": "1", "short_name": "TEST",
  "requirements": [
    {"id": "R1", "title": "root MFA", "automated": true, "checks": ["iam.root_mfa"]},
    {"id": "R2", "title": "password length", "automated": true, "checks": ["iam.password_min_length"]},
    {"id": "R3", "title": "EBS default encryption", "automated": true, "checks": ["ec2.ebs_default_encryption"]},
    {"id": "R4", "title": "security contact", "automated": false},
    {"id": "R5", "title": "account public access block", "automated": true,
     "checks": ["s3.account_public_access_block"], "security_hub_controls": ["S3.1"]},
    {"id": "R6", "title": "console MFA", "automated": true, "checks": ["iam.console_users_mfa"]}
  ]
}"#;

fn inventory() -> Inventory {
    Inventory {
        account_id: "111122223333".into(),
        collected_at: "2026-11-26T12:00:00Z".parse().unwrap(),
        regions: vec!["us-east-1".into()],
        iam: Collected::Collected(IamInventory {
            root_mfa_enabled: Some(true),
            root_access_keys_present: Some(false),
            password_policy: None,
            credential_report: vec![CredentialReportRow {
                user: "ci-bot".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        s3: Collected::Collected(S3Inventory {
            account_public_access_block: Some(PublicAccessBlock {
                block_public_acls: true,
                ignore_public_acls: true,
                block_public_policy: true,
                restrict_public_buckets: true,
            }),
            ..Default::default()
        }),
        region: [(
            "us-east-1".to_string(),
            RegionInventory {
                ec2: Collected::Gap(Gap {
                    kind: crate::posture::inventory::GapKind::AccessDenied,
                    detail: "ec2:GetEbsEncryptionByDefault denied".into(),
                }),
                ..Default::default()
            },
        )]
        .into(),
        ..Inventory::default()
    }
}

fn s3_1_failed() -> Finding {
    Finding {
        id: "arn:aws:securityhub:us-east-1:111122223333:security-control/S3.1/finding/1".into(),
        dedup_key: "s3.1".into(),
        source: SourceService::SecurityHub,
        channels: vec![Channel::SecurityHubApi],
        finding_type: "Software and Configuration Checks/Industry and Regulatory Standards".into(),
        types: Vec::new(),
        title: "S3 general purpose buckets should have block public access settings enabled".into(),
        description: String::new(),
        severity: Severity::Medium,
        severity_score: 40.0,
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        resources: vec![ResourceRef {
            kind: "AwsAccount".into(),
            id: "AWS::::Account:111122223333".into(),
        }],
        principals: Vec::new(),
        remote_ips: Vec::new(),
        domains: Vec::new(),
        api_calls: Vec::new(),
        first_seen: "2026-11-20T00:00:00Z".parse().unwrap(),
        last_seen: "2026-11-26T00:00:00Z".parse().unwrap(),
        updated_at: "2026-11-26T00:00:00Z".parse().unwrap(),
        workflow_status: Some("NEW".into()),
        active: true,
        remediation_text: None,
        remediation_url: None,
        compliance: Some(ComplianceRef {
            control_id: Some("S3.1".into()),
            status: Some("FAILED".into()),
            related_requirements: Vec::new(),
        }),
        cves: Vec::new(),
        attack_sequence: None,
    }
}

#[test]
fn hand_computed_scores_are_reproduced() {
    let fw = parse("test.json", HAND_BUILT).unwrap();
    let result = assess(
        &fw,
        &evaluate_all(&inventory()),
        &[s3_1_failed()],
        &Unread::default(),
        &Accepting::NONE,
    );
    let status = |id: &str| result.requirements.iter().find(|r| r.id == id).unwrap().status;
    // R1 root MFA on                                  -> PASSED
    // R2 no password policy                           -> FAILED
    // R3 EC2 settings not collected                   -> UNKNOWN (shown, not scored)
    // R4 no check, no control                         -> MANUAL
    // R5 native PASS but Security Hub S3.1 FAILED     -> FAILED, conflict
    // R6 the only user has no console password        -> NOT_APPLICABLE
    assert_eq!(status("R1"), ControlStatus::Passed);
    assert_eq!(status("R2"), ControlStatus::Failed);
    assert_eq!(status("R3"), ControlStatus::Unknown);
    assert_eq!(status("R4"), ControlStatus::Manual);
    assert_eq!(status("R5"), ControlStatus::Failed);
    assert_eq!(status("R6"), ControlStatus::NotApplicable);
    assert!(result.requirements.iter().find(|r| r.id == "R5").unwrap().conflict);
    assert_eq!(
        (
            result.passed,
            result.failed,
            result.unknown,
            result.manual,
            result.not_applicable
        ),
        (1, 2, 1, 1, 1)
    );
    // score = passed / (passed + failed) = 1 / (1 + 2) = 33.3 %
    assert_eq!(result.score, Some(33.3));
}

#[test]
fn malformed_frameworks_say_where() {
    let e = parse("broken.json", "{\"id\": \"X\",\n \"name\": }").unwrap_err();
    assert_eq!(e.file, "broken.json");
    assert!(e.location.starts_with("line 2"), "{e}");
    let unknown_check = HAND_BUILT.replace("iam.root_mfa", "iam.no_such_check");
    let e = parse("custom.json", &unknown_check).unwrap_err();
    assert_eq!(e.location, "requirements[0] (id \"R1\").checks[0]");
    let duplicate = HAND_BUILT.replace("\"R2\"", "\"R1\"");
    assert!(
        parse("custom.json", &duplicate)
            .unwrap_err()
            .message
            .contains("duplicate")
    );
    let bad_control = HAND_BUILT.replace("\"S3.1\"", "\"S3-1\"");
    assert!(
        parse("custom.json", &bad_control)
            .unwrap_err()
            .location
            .ends_with("security_hub_controls[0]")
    );
    let typo = HAND_BUILT.replace("\"automated\": false", "\"automatd\": false");
    assert!(parse("custom.json", &typo).is_err(), "unknown fields are rejected");
}

#[test]
fn a_service_selection_keeps_the_requirements_about_that_service() {
    use crate::posture::compliance::{for_services, services};
    let cis = builtin().unwrap().remove(0);
    let s3 = for_services(&cis, &["s3".to_string()]);
    let ids: Vec<&str> = s3.requirements.iter().map(|r| r.id.as_str()).collect();
    assert!(ids.contains(&"2.1.4") && !ids.contains(&"1.10"), "{ids:?}");
    assert!(s3.requirements.iter().all(|r| {
        r.checks.iter().any(|c| c.starts_with("s3.")) || r.security_hub_controls.iter().any(|c| c.starts_with("S3."))
    }));
    let both = for_services(&cis, &["S3".to_string(), "IAM".to_string()]);
    assert!(both.requirements.len() > s3.requirements.len());
    assert!(for_services(&cis, &["Security Hub".to_string()]).requirements.len() < cis.requirements.len());
    assert!(for_services(&cis, &["Nothing".to_string()]).requirements.is_empty());
    assert!(services().contains(&"IAM") && services().windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn builtin_frameworks_load() {
    let all = builtin().unwrap();
    let names: Vec<&str> = all.iter().map(|f| f.short_name.as_str()).collect();
    assert_eq!(names, ["CIS", "NIST", "SOC2", "PCI-DSS", "FSBP"]);
}

/// FSBP lists, for each control, exactly the native checks that name it as
/// their Security Hub control, and the control itself.
#[test]
fn fsbp_controls_and_native_checks_stay_in_step() {
    let all = builtin().unwrap();
    let fsbp = all.iter().find(|f| f.short_name == "FSBP").unwrap();
    for r in &fsbp.requirements {
        let mut natives: Vec<&str> = crate::posture::checks::CHECKS
            .iter()
            .filter(|c| c.security_hub_control == Some(r.id.as_str()))
            .map(|c| c.id)
            .collect();
        natives.sort_unstable();
        assert_eq!(r.checks, natives, "{}", r.id);
        assert_eq!(r.security_hub_controls, std::slice::from_ref(&r.id), "{}", r.id);
        assert!(r.severity.is_some(), "{}", r.id);
    }
    assert!(fsbp.requirements.len() > 250, "{}", fsbp.requirements.len());
}

/// CIS: what no native check decides says why, and nothing else does.
#[test]
fn cis_manual_requirements_say_why() {
    let all = builtin().unwrap();
    let cis = all.iter().find(|f| f.short_name == "CIS").unwrap();
    for r in &cis.requirements {
        assert_eq!(r.checks.is_empty(), r.manual_reason.is_some(), "{}", r.id);
    }
}

#[test]
fn a_manual_reason_on_a_checked_requirement_is_refused_with_its_place() {
    let text = r#"{"id": "X", "name": "X", "version": "1", "short_name": "X", "requirements": [
      {"id": "A", "title": "a", "checks": ["iam.root_mfa"], "manual_reason": "no API"}]}"#;
    let e = parse("x.json", text).unwrap_err();
    assert_eq!(e.location, "requirements[0] (id \"A\").manual_reason");
}

const TWO_SOURCES: &str = r#"{
  "id": "TEST-2", "name": "Two sources", "version": "1", "short_name": "TWO",
  "requirements": [
    {"id": "NATIVE", "title": "native only", "checks": ["ec2.sg_admin_ports_ipv4", "ec2.default_sg_restricts_all"]},
    {"id": "HUB", "title": "Security Hub only", "security_hub_controls": ["EC2.53"]},
    {"id": "BOTH", "title": "both", "checks": ["ec2.sg_admin_ports_ipv4"], "security_hub_controls": ["EC2.53", "EC2.2"]},
    {"id": "NONE", "title": "manual"}
  ]
}"#;

fn outcome(check_id: &str, resource: &str, status: Status) -> Outcome {
    Outcome {
        check_id: check_id.into(),
        resource: resource.into(),
        region: Some("eu-west-1".into()),
        status,
        reason: format!("{status:?}"),
    }
}

fn control_finding(control: &str, status: &str, n: usize) -> Finding {
    let mut f = s3_1_failed();
    f.id = format!("finding-{n}");
    f.resources = vec![ResourceRef {
        kind: "AwsEc2SecurityGroup".into(),
        id: format!("sg-{n}"),
    }];
    f.compliance = Some(ComplianceRef {
        control_id: Some(control.into()),
        status: Some(status.into()),
        related_requirements: Vec::new(),
    });
    f
}

#[test]
fn a_region_that_could_not_be_read_keeps_a_requirement_from_passing() {
    // D1: the open group is in the region whose EC2 reads failed; the other
    // region's groups pass. Before the fix this was PASSED.
    let fw = parse("two.json", TWO_SOURCES).unwrap();
    let outcomes = [
        outcome("ec2.sg_admin_ports_ipv4", "111122223333/sg-1", Status::Pass),
        outcome("ec2.sg_admin_ports_ipv4", "account 111122223333", Status::Error),
        outcome("ec2.default_sg_restricts_all", "111122223333/sg-1", Status::Pass),
    ];
    let result = assess(&fw, &outcomes, &[], &Unread::default(), &Accepting::NONE);
    let native = &result.requirements[0];
    assert_eq!(native.status, ControlStatus::Unknown);
    assert_eq!(native.sources[0].gaps, ["account 111122223333 (eu-west-1): Error"]);
    assert_eq!(native.sources[0].passed_resources, 2);
    assert!(result.score_partial);
    // A known failure still decides: FAILED, with the gap listed.
    let mut failing = outcomes.to_vec();
    failing.push(outcome(
        "ec2.default_sg_restricts_all",
        "111122223333/sg-2",
        Status::Fail,
    ));
    let result = assess(&fw, &failing, &[], &Unread::default(), &Accepting::NONE);
    assert_eq!(result.requirements[0].status, ControlStatus::Failed);
    assert_eq!(result.requirements[0].sources[0].gaps.len(), 1);
}

#[test]
fn an_unread_security_hub_is_a_gap_for_every_requirement_it_maps_to() {
    // Security Hub's outage used to leave native checks to decide alone.
    let fw = parse("two.json", TWO_SOURCES).unwrap();
    let outcomes = [outcome("ec2.sg_admin_ports_ipv4", "111122223333/sg-1", Status::Pass)];
    let unread = Unread {
        inventory: Vec::new(),
        security_hub: vec!["Unavailable: 503".into()],
    };
    let result = assess(&fw, &outcomes, &[], &unread, &Accepting::NONE);
    let status = |id: &str| result.requirements.iter().find(|r| r.id == id).unwrap();
    assert_eq!(status("HUB").status, ControlStatus::Unknown);
    assert_eq!(status("BOTH").status, ControlStatus::Unknown);
    assert_eq!(
        status("BOTH").sources[1].gaps,
        ["Security Hub control findings not read: Unavailable: 503"]
    );
    // Native-only requirements do not depend on Security Hub.
    assert_eq!(status("NATIVE").status, ControlStatus::Passed);
    assert_eq!(status("NONE").status, ControlStatus::Manual);
    // Read, with nothing to say about the control: native checks decide.
    let result = assess(&fw, &outcomes, &[], &Unread::default(), &Accepting::NONE);
    assert_eq!(result.requirements[2].status, ControlStatus::Passed);
    // NOT_AVAILABLE means Security Hub could not evaluate the resource.
    let result = assess(
        &fw,
        &outcomes,
        &[control_finding("EC2.53", "NOT_AVAILABLE", 7)],
        &Unread::default(),
        &Accepting::NONE,
    );
    assert_eq!(result.requirements[2].status, ControlStatus::Unknown);
    assert_eq!(
        result.requirements[2].sources[1].gaps,
        ["111122223333/sg-7: Security Hub could not evaluate EC2.53 (NOT_AVAILABLE)"]
    );
}

#[test]
fn unread_inventories_are_a_gap_for_every_native_requirement() {
    let fw = parse("two.json", TWO_SOURCES).unwrap();
    let unread = Unread {
        inventory: vec!["AccessDenied".into()],
        security_hub: Vec::new(),
    };
    let result = assess(
        &fw,
        &[],
        &[control_finding("EC2.53", "PASSED", 1)],
        &unread,
        &Accepting::NONE,
    );
    let status = |id: &str| result.requirements.iter().find(|r| r.id == id).unwrap().status;
    assert_eq!(status("NATIVE"), ControlStatus::Unknown);
    assert_eq!(status("BOTH"), ControlStatus::Unknown);
    assert_eq!(status("HUB"), ControlStatus::Passed);
}

/// One piece of evidence about the `TWO_SOURCES` requirements.
#[derive(Debug, Clone)]
enum Piece {
    Native(&'static str, Status),
    Hub(&'static str, &'static str),
}

fn piece() -> impl Strategy<Value = Piece> {
    let check = prop_oneof![Just("ec2.sg_admin_ports_ipv4"), Just("ec2.default_sg_restricts_all")];
    let status = prop_oneof![
        Just(Status::Pass),
        Just(Status::Fail),
        Just(Status::Skip),
        Just(Status::Error)
    ];
    let control = prop_oneof![Just("EC2.53"), Just("EC2.2")];
    let hub_status = prop_oneof![Just("PASSED"), Just("FAILED"), Just("WARNING"), Just("NOT_AVAILABLE")];
    prop_oneof![
        (check, status).prop_map(|(c, s)| Piece::Native(c, s)),
        (control, hub_status).prop_map(|(c, s)| Piece::Hub(c, s)),
    ]
}

fn evidence(pieces: &[Piece]) -> (Vec<Outcome>, Vec<Finding>) {
    let mut outcomes = Vec::new();
    let mut findings = Vec::new();
    for (n, p) in pieces.iter().enumerate() {
        match p {
            Piece::Native(check, status) => outcomes.push(outcome(check, &format!("111122223333/sg-{n}"), *status)),
            Piece::Hub(control, status) => findings.push(control_finding(control, status, n)),
        }
    }
    (outcomes, findings)
}

/// What a fault may do to a verdict: leave it, or make it UNKNOWN.
fn honest(before: ControlStatus, after: ControlStatus) -> bool {
    after == before || after == ControlStatus::Unknown
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// PASSED exactly when no piece fails, nothing in scope is unread and
    /// something passes: a gap never yields PASSED.
    #[test]
    fn a_gap_never_yields_passed(pieces in proptest::collection::vec(piece(), 0..12), hub_unread in any::<bool>(), inventory_unread in any::<bool>()) {
        let fw = parse("two.json", TWO_SOURCES).unwrap();
        let (outcomes, findings) = evidence(&pieces);
        let unread = Unread {
            inventory: if inventory_unread { vec!["denied".into()] } else { Vec::new() },
            security_hub: if hub_unread { vec!["throttled".into()] } else { Vec::new() },
        };
        let result = assess(&fw, &outcomes, &findings, &unread, &Accepting::NONE);
        for (req, res) in fw.requirements.iter().zip(&result.requirements) {
            let mine = |p: &&Piece| match p {
                Piece::Native(c, _) => req.checks.iter().any(|x| x == c),
                Piece::Hub(c, _) => req.security_hub_controls.iter().any(|x| x == c),
            };
            let relevant: Vec<&Piece> = pieces.iter().filter(mine).collect();
            let fails = relevant.iter().any(|p| matches!(p, Piece::Native(_, Status::Fail) | Piece::Hub(_, "FAILED" | "WARNING")));
            let gap = relevant.iter().any(|p| matches!(p, Piece::Native(_, Status::Error) | Piece::Hub(_, "NOT_AVAILABLE")))
                || (inventory_unread && !req.checks.is_empty())
                || (hub_unread && !req.security_hub_controls.is_empty());
            let passes = relevant.iter().any(|p| matches!(p, Piece::Native(_, Status::Pass) | Piece::Hub(_, "PASSED")));
            if req.checks.is_empty() && req.security_hub_controls.is_empty() {
                prop_assert_eq!(res.status, ControlStatus::Manual);
                continue;
            }
            prop_assert_eq!(res.status == ControlStatus::Failed, fails, "{}", req.id);
            prop_assert_eq!(res.status == ControlStatus::Passed, !fails && !gap && passes, "{}", req.id);
            if gap {
                prop_assert!(res.sources.iter().any(|s| !s.gaps.is_empty()), "{}: the gap is listed", req.id);
            }
        }
    }

    /// Against a fault-free baseline, any set of reads turned into faults
    /// (a resource's read, a control finding's evaluation, a whole source)
    /// moves a verdict only to UNKNOWN, never from FAILED or UNKNOWN to PASSED.
    #[test]
    fn faults_only_move_verdicts_to_unknown(
        pieces in proptest::collection::vec(piece(), 0..12),
        faulted in proptest::collection::vec(any::<bool>(), 12),
        hub_down in any::<bool>(),
        inventory_down in any::<bool>(),
    ) {
        let fw = parse("two.json", TWO_SOURCES).unwrap();
        let clean: Vec<Piece> = pieces
            .iter()
            .map(|p| match p {
                Piece::Native(c, Status::Error) => Piece::Native(c, Status::Pass),
                Piece::Hub(c, "NOT_AVAILABLE") => Piece::Hub(c, "PASSED"),
                other => other.clone(),
            })
            .collect();
        let faulty: Vec<Piece> = clean
            .iter()
            .zip(&faulted)
            .map(|(p, f)| match (p, f) {
                (Piece::Native(c, _), true) => Piece::Native(c, Status::Error),
                (Piece::Hub(c, _), true) => Piece::Hub(c, "NOT_AVAILABLE"),
                (other, _) => other.clone(),
            })
            .filter(|p| match p {
                Piece::Hub(..) => !hub_down,
                Piece::Native(..) => !inventory_down,
            })
            .collect();
        let (outcomes, findings) = evidence(&clean);
        let baseline = assess(&fw, &outcomes, &findings, &Unread::default(), &Accepting::NONE);
        let (outcomes, findings) = evidence(&faulty);
        let unread = Unread {
            inventory: if inventory_down { vec!["503".into()] } else { Vec::new() },
            security_hub: if hub_down { vec!["503".into()] } else { Vec::new() },
        };
        let under_faults = assess(&fw, &outcomes, &findings, &unread, &Accepting::NONE);
        for (b, f) in baseline.requirements.iter().zip(&under_faults.requirements) {
            prop_assert!(honest(b.status, f.status), "{}: {:?} -> {:?}", b.id, b.status, f.status);
        }
        prop_assert!(under_faults.passed <= baseline.passed);
    }
}

/// An exception accepting piece `n`'s failure, in force on 2026-12-07.
fn accepting_piece(n: usize, piece: &Piece) -> crate::exceptions::Exception {
    let control = match piece {
        Piece::Native(check, _) => *check,
        Piece::Hub(control, _) => *control,
    };
    crate::exceptions::Exception {
        id: format!("accept-{n}"),
        control: control.to_string(),
        scope: crate::exceptions::ExceptionScope {
            organization: false,
            ou: None,
            account_id: Some("111122223333".into()),
            region: None,
            resource: Some(format!("sg-{n}")),
        },
        reason: "accepted in a test".into(),
        owner: "owner@example.com".into(),
        created: jiff::civil::date(2026, 12, 1),
        expires: jiff::civil::date(2027, 1, 1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Exceptions move a verdict only from FAILED to SUPPRESSED (when every
    /// failure of the requirement is accepted), never to PASSED; every accepted failure is listed with its
    /// exception; the score without exceptions is the score of no
    /// exceptions at all, and the score with them is never lower.
    #[test]
    fn an_accepted_failure_is_suppressed_never_passed(
        pieces in proptest::collection::vec(piece(), 0..12),
        accepted in proptest::collection::vec(any::<bool>(), 12),
        hub_unread in any::<bool>(),
    ) {
        let fw = parse("two.json", TWO_SOURCES).unwrap();
        let (outcomes, findings) = evidence(&pieces);
        let unread = Unread {
            inventory: Vec::new(),
            security_hub: if hub_unread { vec!["throttled".into()] } else { Vec::new() },
        };
        let exceptions: Vec<_> = pieces
            .iter()
            .enumerate()
            .filter(|(n, _)| accepted[*n])
            .map(|(n, p)| accepting_piece(n, p))
            .collect();
        let acceptance = crate::exceptions::Acceptance::new(exceptions, jiff::civil::date(2026, 12, 7), []);
        let accepting = Accepting { acceptance: &acceptance, account: None };
        let baseline = assess(&fw, &outcomes, &findings, &unread, &Accepting::NONE);
        let result = assess(&fw, &outcomes, &findings, &unread, &accepting);
        for (b, r) in baseline.requirements.iter().zip(&result.requirements) {
            if b.status == ControlStatus::Failed {
                prop_assert!(matches!(r.status, ControlStatus::Failed | ControlStatus::Suppressed), "{}: {:?}", b.id, r.status);
            } else {
                prop_assert_eq!(b.status, r.status, "{}", b.id);
            }
            if r.status == ControlStatus::Suppressed {
                prop_assert!(r.sources.iter().all(|s| s.failed_resources.is_empty()), "{}", r.id);
                prop_assert!(r.sources.iter().any(|s| !s.suppressed.is_empty()), "{}", r.id);
            }
            let failing_before: usize = b.sources.iter().map(|s| s.failed_resources.len()).sum();
            let failing_after: usize = r.sources.iter().map(|s| s.failed_resources.len() + s.suppressed.len()).sum();
            prop_assert_eq!(failing_before, failing_after, "{}: every failure is failing or accepted", r.id);
            for s in r.sources.iter().flat_map(|s| &s.suppressed) {
                let n = s.exception_id.trim_start_matches("accept-");
                let own = format!("sg-{n}");
                prop_assert!(s.resource.ends_with(&own), "{} accepted by {}", s.resource, s.exception_id);
            }
        }
        prop_assert_eq!(result.score, baseline.score, "without exceptions: as if there were none");
        prop_assert_eq!(result.passed, baseline.passed);
        if let (Some(with), Some(without)) = (result.score_with_exceptions, result.score) {
            prop_assert!(with >= without);
        }
    }
}

#[test]
fn an_expired_exception_stops_applying_and_is_flagged() {
    let fw = parse("two.json", TWO_SOURCES).unwrap();
    let pieces = [Piece::Native("ec2.sg_admin_ports_ipv4", Status::Fail)];
    let (outcomes, findings) = evidence(&pieces);
    let exception = accepting_piece(0, &pieces[0]);
    let on = |day| crate::exceptions::Acceptance::new(vec![exception.clone()], day, []);
    let active = on(jiff::civil::date(2026, 12, 7));
    let result = assess(
        &fw,
        &outcomes,
        &findings,
        &Unread::default(),
        &Accepting {
            acceptance: &active,
            account: None,
        },
    );
    let req = result
        .requirements
        .iter()
        .find(|r| !r.sources.is_empty() && r.sources[0].source == NATIVE_CHECKS)
        .unwrap();
    assert_eq!(req.status, ControlStatus::Suppressed);
    assert_eq!(req.sources[0].suppressed[0].reason, "accepted in a test");
    assert_eq!((result.score, result.score_with_exceptions), (Some(0.0), Some(100.0)));
    let expired = on(jiff::civil::date(2027, 1, 2));
    let result = assess(
        &fw,
        &outcomes,
        &findings,
        &Unread::default(),
        &Accepting {
            acceptance: &expired,
            account: None,
        },
    );
    let req = result.requirements.iter().find(|r| r.id == req.id).unwrap();
    assert_eq!(req.status, ControlStatus::Failed);
    assert_eq!(req.sources[0].expired_exceptions[0].exception_id, "accept-0");
    assert!(req.sources[0].suppressed.is_empty());
}
