//! Every check in the registry runs against its pass and fail fixtures
//! (`tests/fixtures/inventories/checks/<check id>.json` at the workspace
//! root: `{"pass": Inventory, "fail": Inventory}`). A check without a fixture
//! fails this test.

use super::*;

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/inventories/checks")
}

#[test]
fn every_check_passes_and_fails_on_its_fixtures() {
    let mut problems = Vec::new();
    for check in CHECKS {
        let path = fixture_dir().join(format!("{}.json", check.id));
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("{}: no fixture at {}", check.id, path.display()));
            continue;
        };
        let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (case, want) in [("pass", Status::Pass), ("fail", Status::Fail)] {
            let inv: Inventory = serde_json::from_value(fixture[case].clone())
                .unwrap_or_else(|e| panic!("{}: {case} fixture is not an inventory: {e}", check.id));
            let outcomes = (check.evaluate)(&inv);
            let statuses: Vec<Status> = outcomes.iter().map(|o| o.status).collect();
            let ok = match want {
                Status::Pass => {
                    statuses.contains(&Status::Pass)
                        && !statuses.iter().any(|s| matches!(s, Status::Fail | Status::Error))
                }
                _ => statuses.contains(&Status::Fail),
            };
            if !ok {
                problems.push(format!("{}: {case} fixture gave {outcomes:?}", check.id));
            }
            assert!(outcomes.iter().all(|o| o.check_id == check.id));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn check_ids_are_unique_and_metadata_is_complete() {
    let mut ids: Vec<&str> = CHECKS.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate check ids");
    for c in CHECKS {
        assert!(
            !c.title.is_empty() && !c.rationale.is_empty() && !c.remediation.is_empty(),
            "{}",
            c.id
        );
        assert!(c.doc_url.starts_with("https://docs.aws.amazon.com/"), "{}", c.id);
    }
}

#[test]
fn missing_sections_give_errors_not_passes() {
    let inv = Inventory {
        account_id: "111122223333".into(),
        region: [("us-east-1".to_string(), Default::default())].into(),
        ..Inventory::default()
    };
    for check in CHECKS {
        let outcomes = (check.evaluate)(&inv);
        assert!(
            !outcomes.iter().any(|o| o.status == Status::Pass),
            "{} passed without data: {outcomes:?}",
            check.id
        );
        assert!(
            outcomes.iter().any(|o| o.status == Status::Error),
            "{} said nothing about missing data",
            check.id
        );
    }
}

fn statuses(check: &str, inventory: serde_json::Value) -> Vec<Status> {
    let inv: Inventory = serde_json::from_value(inventory).unwrap();
    (find(check).unwrap().evaluate)(&inv)
        .into_iter()
        .map(|o| o.status)
        .collect()
}

fn one_region(section: &str, data: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"account_id": "111122223333", "collected_at": "2026-11-26T12:00:00Z",
        "region": {"us-east-1": {section: {"collected": data}}}})
}

#[test]
fn udp_to_admin_ports_counts_as_open() {
    let sg = one_region(
        "ec2",
        serde_json::json!({"security_groups": [{"id": "sg-1", "name": "rdp", "vpc_id": "vpc-1",
        "ingress": [{"protocol": "udp", "from_port": 3389, "to_port": 3389, "ipv4_ranges": ["0.0.0.0/0"]}]}]}),
    );
    assert_eq!(statuses("ec2.sg_admin_ports_ipv4", sg), [Status::Fail]);
    let nacl = one_region(
        "ec2",
        serde_json::json!({"network_acls": [{"id": "acl-1", "vpc_id": "vpc-1", "entries": [
        {"rule_number": 100, "protocol": "17", "rule_action": "allow", "egress": false, "cidr_block": "0.0.0.0/0", "from_port": 3389, "to_port": 3389}]}]}),
    );
    assert_eq!(statuses("ec2.nacl_admin_ports", nacl), [Status::Fail]);
}

#[test]
fn config_needs_a_healthy_recorder_a_channel_and_global_types_somewhere() {
    let failing = one_region(
        "config",
        serde_json::json!({"delivery_channels": 1, "recorders": [
        {"name": "default", "all_supported": true, "include_global_resource_types": true, "recording": true, "last_status": "FAILURE"}]}),
    );
    assert!(
        statuses("config.recorder_enabled", failing)
            .iter()
            .all(|s| *s == Status::Fail)
    );
    let no_global = one_region(
        "config",
        serde_json::json!({"delivery_channels": 1, "recorders": [
        {"name": "default", "all_supported": true, "include_global_resource_types": false, "recording": true, "last_status": "SUCCESS"}]}),
    );
    assert_eq!(
        statuses("config.recorder_enabled", no_global),
        [Status::Pass, Status::Fail]
    );
}

#[test]
fn flow_logs_must_record_rejected_traffic() {
    let accept_only = one_region(
        "ec2",
        serde_json::json!({"vpcs": [{"id": "vpc-1"}],
        "flow_logs": [{"id": "fl-1", "resource_id": "vpc-1", "traffic_type": "ACCEPT", "status": "ACTIVE"}]}),
    );
    assert_eq!(statuses("ec2.vpc_flow_logs", accept_only), [Status::Fail]);
}

#[test]
fn unused_credentials_fail_at_exactly_45_days_and_support_needs_a_role() {
    let iam = |data: serde_json::Value| serde_json::json!({"account_id": "111122223333", "collected_at": "2026-11-26T12:00:00Z", "iam": {"collected": data}});
    let boundary = iam(
        serde_json::json!({"credential_report": [{"user": "alice", "password_enabled": true, "mfa_active": true,
        "password_last_used": "2026-10-12T12:00:00Z"}]}),
    );
    assert_eq!(statuses("iam.unused_credentials_45d", boundary), [Status::Fail]);
    let user_only = iam(serde_json::json!({"support_access_entities": ["arn:aws:iam::111122223333:user/alice"]}));
    assert_eq!(statuses("iam.support_role", user_only), [Status::Fail]);
}

#[test]
fn a_tcp_deny_does_not_hide_an_open_udp_port() {
    let nacl = one_region(
        "ec2",
        serde_json::json!({"network_acls": [{"id": "acl-1", "vpc_id": "vpc-1", "entries": [
        {"rule_number": 50, "protocol": "6", "rule_action": "deny", "egress": false, "cidr_block": "0.0.0.0/0", "from_port": 22, "to_port": 22},
        {"rule_number": 100, "protocol": "-1", "rule_action": "allow", "egress": false, "cidr_block": "0.0.0.0/0"}]}]}),
    );
    assert_eq!(statuses("ec2.nacl_admin_ports", nacl), [Status::Fail]);
}

#[test]
fn checks_over_no_resources_say_so() {
    let empty = serde_json::json!({"account_id": "111122223333", "collected_at": "2026-11-26T12:00:00Z",
        "iam": {"collected": {}}, "s3": {"collected": {}}, "cloudtrail": {"collected": []}});
    for id in [
        "iam.no_expired_server_certificates",
        "iam.console_users_mfa",
        "s3.tls_only",
        "cloudtrail.log_file_validation",
    ] {
        assert_eq!(statuses(id, empty.clone()), [Status::Skip], "{id}");
    }
}

fn with_outcomes(check: &str, inventory: serde_json::Value) -> Vec<(String, Status, String)> {
    let inv: Inventory = serde_json::from_value(inventory).unwrap();
    (super::find(check).unwrap().evaluate)(&inv)
        .into_iter()
        .map(|o| (o.resource, o.status, o.reason))
        .collect()
}

#[test]
fn an_unreadable_account_block_public_access_is_unknown_where_it_matters() {
    let gap =
        serde_json::json!({"kind": "access_denied", "detail": "s3:GetAccountPublicAccessBlock: AccessDenied: no"});
    let all_on = serde_json::json!({"block_public_acls": true, "ignore_public_acls": true,
        "block_public_policy": true, "restrict_public_buckets": true});
    let inv = serde_json::json!({"account_id": "111122223333", "collected_at": "2026-11-26T12:00:00Z",
        "s3": {"collected": {"account_public_access_block_gap": gap, "buckets": [
            {"name": "covered", "region": "us-east-1", "public_access_block": all_on},
            {"name": "open", "region": "us-east-1",
             "policy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::open/*"}]}},
            {"name": "private", "region": "us-east-1"}]}}});
    let account = with_outcomes("s3.account_public_access_block", inv.clone());
    assert_eq!(account.len(), 1);
    assert_eq!(account[0].1, Status::Error);
    assert!(account[0].2.contains("AccessDenied"), "{account:?}");
    // A bucket fully blocked on its own passes; otherwise the account setting decides, and it is unknown.
    let bucket = with_outcomes("s3.bucket_public_access_block", inv.clone());
    let by_name: Vec<(&str, Status)> = bucket.iter().map(|(r, s, _)| (r.as_str(), *s)).collect();
    assert_eq!(
        by_name,
        [
            ("covered", Status::Pass),
            ("open", Status::Error),
            ("private", Status::Error)
        ]
    );
    // Public by its own policy, and the account setting that could neutralize it is unknown.
    let public = with_outcomes("s3.bucket_not_public", inv);
    let by_name: Vec<(&str, Status)> = public.iter().map(|(r, s, _)| (r.as_str(), *s)).collect();
    assert_eq!(
        by_name,
        [
            ("covered", Status::Pass),
            ("open", Status::Error),
            ("private", Status::Pass)
        ]
    );
}

#[test]
fn an_unknown_service_status_carries_the_reason_it_is_unknown() {
    let services = one_region(
        "services",
        serde_json::json!({"guardduty": true, "gaps": {"access_analyzer": {"kind": "unavailable",
            "detail": "access-analyzer:ListAnalyzers: InternalError: boom"}}}),
    );
    let analyzer = with_outcomes("accessanalyzer.enabled", services.clone());
    assert_eq!(analyzer.len(), 1);
    assert_eq!(analyzer[0].1, Status::Error);
    assert!(analyzer[0].2.contains("ListAnalyzers: InternalError"), "{analyzer:?}");
    assert_eq!(statuses("guardduty.enabled", services.clone()), [Status::Pass]);
    let hub = with_outcomes("securityhub.enabled", services);
    assert_eq!(
        (hub[0].1, hub[0].2.as_str()),
        (Status::Error, "Security Hub status not collected")
    );
}

#[test]
fn mfa_delete_fails_each_bucket_without_it_and_is_unknown_where_versioning_was_unread() {
    let text = std::fs::read_to_string(fixture_dir().join("s3.mfa_delete.json")).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let failing: Inventory = serde_json::from_value(fixture["fail"].clone()).unwrap();
    let outcomes = (storage::S3_MFA_DELETE.evaluate)(&failing);
    let by_bucket: Vec<(&str, Status)> = outcomes.iter().map(|o| (o.resource.as_str(), o.status)).collect();
    assert_eq!(
        by_bucket,
        [
            ("acme-audit-archive-111122223333", Status::Pass),
            ("acme-app-assets-111122223333", Status::Fail),
            ("acme-tmp-111122223333", Status::Fail),
        ]
    );
    let mut unread = failing.clone();
    if let crate::posture::inventory::Collected::Collected(s3) = &mut unread.s3 {
        s3.buckets[0].gaps.insert(
            "versioning".into(),
            crate::posture::inventory::Gap {
                kind: crate::posture::inventory::GapKind::AccessDenied,
                detail: "s3:GetBucketVersioning denied".into(),
            },
        );
    }
    let outcomes = (storage::S3_MFA_DELETE.evaluate)(&unread);
    assert_eq!(outcomes[0].status, Status::Error, "{outcomes:?}");
}
