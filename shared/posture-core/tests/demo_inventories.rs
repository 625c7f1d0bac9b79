#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The demo organization's inventories (`data/demo/inventories/<account>.json`)
//! read as inventories and, evaluated by the native checks, tell the same
//! story as the demo Security Hub and GuardDuty findings.

use posture_core::posture::checks::{self, Outcome, Status};
use posture_core::posture::inventory::Inventory;
use serde_json::Value;

const MANAGEMENT: &str = "210987654321";
const PROD_PAYMENTS: &str = "345678901234";
const DEV_SANDBOX: &str = "456789012345";
const ACCOUNTS: [&str; 3] = [MANAGEMENT, PROD_PAYMENTS, DEV_SANDBOX];

const US: Option<&str> = Some("us-east-1");
const EU: Option<&str> = Some("eu-west-1");

fn demo_path(file: &str) -> String {
    format!("{}/data/demo/{file}", env!("CARGO_MANIFEST_DIR"))
}

fn load(account: &str) -> Inventory {
    let path = demo_path(&format!("inventories/{account}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
    posture_core::time::expand_relative_in_json(&mut value, jiff::Timestamp::now());
    let inventory: Inventory =
        serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{path}: not an inventory: {e}"));
    // The stored-inventory reader (schema version check) accepts it too.
    Inventory::from_json(&value.to_string()).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Unknown fields are ignored when reading: make sure none was misspelled.
    let reread = serde_json::to_value(&inventory).unwrap();
    assert_survives(&value, &reread, &path);
    inventory
}

/// Every field of `written` is read into the inventory, with the same value.
fn assert_survives(written: &Value, read: &Value, at: &str) {
    match (written, read) {
        (Value::Object(w), Value::Object(r)) => {
            for (key, value) in w {
                let Some(other) = r.get(key) else {
                    panic!("{at}.{key} is not an inventory field");
                };
                assert_survives(value, other, &format!("{at}.{key}"));
            }
        }
        (Value::Array(w), Value::Array(r)) if w.len() == r.len() => {
            for (i, (a, b)) in w.iter().zip(r).enumerate() {
                assert_survives(a, b, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(written, read, "{at} does not read back as written"),
    }
}

fn evaluate(account: &str) -> Vec<Outcome> {
    checks::evaluate_all(&load(account))
}

fn account(id: &str) -> String {
    format!("account {id}")
}

/// The one outcome of `check` on `resource` in `region`.
fn outcome<'a>(outcomes: &'a [Outcome], check: &str, resource: &str, region: Option<&str>) -> &'a Outcome {
    assert!(checks::find(check).is_some(), "no check {check}");
    let found: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.check_id == check && o.resource == resource && o.region.as_deref() == region)
        .collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!(
            "expected one outcome of {check} on {resource} ({region:?}), found {}: {found:#?}",
            found.len()
        ),
    }
}

#[track_caller]
fn expect(outcomes: &[Outcome], check: &str, resource: &str, region: Option<&str>, want: Status) {
    let o = outcome(outcomes, check, resource, region);
    assert_eq!(o.status, want, "{check} on {resource} ({region:?}): {}", o.reason);
}

fn errors(outcomes: &[Outcome]) -> Vec<&Outcome> {
    outcomes.iter().filter(|o| o.status == Status::Error).collect()
}

#[test]
fn every_demo_inventory_reads_and_covers_both_regions() {
    for id in ACCOUNTS {
        let inv = load(id);
        assert_eq!(inv.account_id, id);
        assert_eq!(
            inv.schema_version,
            posture_core::posture::inventory::INVENTORY_SCHEMA_VERSION
        );
        assert_eq!(inv.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(inv.region.keys().collect::<Vec<_>>(), ["eu-west-1", "us-east-1"]);
        let age = jiff::Timestamp::now().duration_since(inv.collected_at);
        assert!(
            age > jiff::SignedDuration::ZERO && age < jiff::SignedDuration::from_hours(1),
            "{id}: {age}"
        );
        assert!(
            inv.iam.get().is_ok() && inv.s3.get().is_ok() && inv.cloudtrail.get().is_ok(),
            "{id}"
        );
        let iam = inv.iam.get().unwrap();
        assert!(
            iam.credential_report.iter().any(|r| r.is_root()),
            "{id}: no <root_account> row"
        );
        for (region, r) in &inv.region {
            let ec2 = r.ec2.get().unwrap_or_else(|g| panic!("{id} {region}: {g:?}"));
            for vpc in &ec2.vpcs {
                assert!(
                    ec2.security_groups
                        .iter()
                        .any(|g| g.vpc_id == vpc.id && g.name == "default"),
                    "{id} {region}: {} has no default security group",
                    vpc.id
                );
                assert!(
                    ec2.network_acls.iter().any(|a| a.vpc_id == vpc.id),
                    "{id} {region}: {} has no network ACL",
                    vpc.id
                );
            }
        }
        // Every check says something about every account, a Skip when there
        // is nothing to judge (management stores no server certificate).
        let outcomes = evaluate(id);
        for check in checks::CHECKS {
            assert!(outcomes.iter().any(|o| o.check_id == check.id), "{id}: {}", check.id);
        }
    }
}

#[test]
fn management_is_mostly_good_with_a_neglected_eu_west_1() {
    let o = evaluate(MANAGEMENT);
    let acct = account(MANAGEMENT);
    assert!(errors(&o).is_empty(), "{:#?}", errors(&o));

    // IAM.6 FAILED (no hardware MFA) but root has a virtual device: IAM.9 holds.
    expect(&o, "iam.root_mfa", &acct, None, Status::Pass);
    // IAM.4 PASSED.
    expect(&o, "iam.root_no_access_keys", &acct, None, Status::Pass);
    // CloudTrail.1 PASSED.
    expect(&o, "cloudtrail.multi_region_enabled", &acct, None, Status::Pass);
    expect(
        &o,
        "cloudtrail.log_file_validation",
        "management-trail",
        US,
        Status::Pass,
    );
    expect(&o, "cloudtrail.kms_encryption", "management-trail", US, Status::Pass);
    expect(
        &o,
        "cloudtrail.bucket_access_logging",
        "cloudtrail-logs-210987654321",
        US,
        Status::Pass,
    );
    // Config.1 FAILED (suppressed) in eu-west-1 only.
    expect(&o, "config.recorder_enabled", &acct, US, Status::Pass);
    expect(&o, "config.recorder_enabled", &acct, EU, Status::Fail);

    expect(&o, "iam.password_min_length", &acct, None, Status::Pass);
    expect(&o, "iam.password_reuse", &acct, None, Status::Pass);
    expect(&o, "iam.support_role", &acct, None, Status::Pass);
    expect(&o, "iam.console_users_mfa", "breakglass-admin", None, Status::Pass);
    // The key GuardDuty saw from a threat-list IP has not been rotated for 143 days.
    expect(&o, "iam.access_keys_rotated_90d", "audit-readonly", None, Status::Fail);
    expect(&o, "iam.access_keys_rotated_90d", "ci-org-deployer", None, Status::Pass);
    expect(
        &o,
        "iam.no_full_admin_policies",
        "AdministratorAccess",
        None,
        Status::Fail,
    );
    expect(
        &o,
        "iam.no_full_admin_policies",
        "SecurityAuditorsReadOnly",
        None,
        Status::Pass,
    );

    // RDP was closed after the (archived) port probe; the bastion NACL was never hardened.
    expect(&o, "ec2.sg_admin_ports_ipv4", "sg-0e1d2c3b4a5968778", EU, Status::Pass);
    expect(&o, "ec2.nacl_admin_ports", "acl-0c9d8e7f6a5b4c3d2", EU, Status::Fail);
    expect(&o, "ec2.nacl_admin_ports", "acl-0e6f8a0b2c4d6e8f0", US, Status::Pass);
    expect(
        &o,
        "ec2.default_sg_restricts_all",
        "sg-0f8e7d6c5b4a39281",
        EU,
        Status::Pass,
    );
    expect(&o, "ec2.imdsv2_required", "i-0a9b8c7d6e5f4a3b2", EU, Status::Pass);
    expect(&o, "ec2.vpc_flow_logs", "vpc-0d1c2b3a495867f70", EU, Status::Pass);
    expect(&o, "s3.account_public_access_block", &acct, None, Status::Pass);

    // An asymmetric key is not judged on rotation.
    expect(
        &o,
        "kms.key_rotation",
        "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
        US,
        Status::Skip,
    );
}

#[test]
fn prod_payments_has_the_planted_problems_and_a_good_baseline() {
    let o = evaluate(PROD_PAYMENTS);
    let acct = account(PROD_PAYMENTS);
    assert!(errors(&o).is_empty(), "{:#?}", errors(&o));

    // The ledger database and the shared file system are encrypted, private, auto-patched;
    // every instance has a role.
    for check in [
        "rds.storage_encrypted",
        "rds.auto_minor_version_upgrade",
        "rds.not_publicly_accessible",
    ] {
        expect(&o, check, "payments-ledger", US, Status::Pass);
    }
    expect(&o, "efs.encrypted", "fs-0a1b2c3d4e5f60718", US, Status::Pass);
    expect(
        &o,
        "ec2.instance_profile_attached",
        "i-0c3d4e5f6a7b8091a",
        US,
        Status::Pass,
    );

    // EC2.8 FAILED on payments-api-1; its siblings require IMDSv2.
    expect(&o, "ec2.imdsv2_required", "i-0a1b2c3d4e5f60718", US, Status::Fail);
    expect(&o, "ec2.imdsv2_required", "i-0b2c3d4e5f6a70819", US, Status::Pass);
    expect(&o, "ec2.imdsv2_required", "i-0f6e5d4c3b2a19080", EU, Status::Pass);
    // EC2.19 FAILED on payments-app-sg (22 open); GuardDuty sees SSH brute force on the EU bastion.
    expect(&o, "ec2.sg_admin_ports_ipv4", "sg-0a7b8c9d0e1f2a3b4", US, Status::Fail);
    expect(&o, "ec2.sg_admin_ports_ipv4", "sg-0b2c3d4e5f6a7b8c9", EU, Status::Fail);
    expect(&o, "ec2.sg_admin_ports_ipv4", "sg-0e4f5a6b7c8d9e0f1", US, Status::Pass);
    expect(&o, "ec2.sg_admin_ports_ipv4", "sg-0d3e4f5a6b7c8d9e0", US, Status::Pass);
    expect(
        &o,
        "ec2.default_sg_restricts_all",
        "sg-0b1c2d3e4f5a6b7c8",
        US,
        Status::Pass,
    );
    expect(&o, "ec2.nacl_admin_ports", "acl-0f1a2b3c4d5e6f7a8", US, Status::Pass);
    expect(&o, "ec2.vpc_flow_logs", "vpc-0e1f2a3b4c5d6e7f8", US, Status::Pass);

    // S3.5 FAILED, S3.8 PASSED on the cardholder exports bucket.
    let exports = "payments-cardholder-exports-345678901234";
    expect(&o, "s3.tls_only", exports, US, Status::Fail);
    assert!(
        outcome(&o, "s3.tls_only", exports, US).reason.contains("no Deny"),
        "the bucket has a policy, just not a TLS one"
    );
    expect(&o, "s3.bucket_public_access_block", exports, US, Status::Pass);
    expect(&o, "s3.bucket_not_public", exports, US, Status::Pass);
    expect(&o, "s3.tls_only", "payments-cloudtrail-345678901234", US, Status::Pass);
    expect(
        &o,
        "s3.tls_only",
        "payments-static-assets-eu-345678901234",
        EU,
        Status::Pass,
    );
    expect(&o, "s3.account_public_access_block", &acct, None, Status::Pass);

    // KMS.4 FAILED on the exports key; the other customer keys rotate.
    expect(
        &o,
        "kms.key_rotation",
        "6f1d2c3b-4a5e-4f60-9a7b-8c9d0e1f2a3b",
        US,
        Status::Fail,
    );
    expect(
        &o,
        "kms.key_rotation",
        "7a2e3d4c-5b6f-4071-8a9b-0c1d2e3f4a5b",
        US,
        Status::Pass,
    );
    expect(
        &o,
        "kms.key_rotation",
        "9c4a5f6e-7d8b-4293-acbd-2e3f4a5b6c7d",
        US,
        Status::Skip,
    );

    // EC2.7 FAILED in eu-west-1.
    expect(&o, "ec2.ebs_default_encryption", &acct, EU, Status::Fail);
    expect(&o, "ec2.ebs_default_encryption", &acct, US, Status::Pass);
    // GuardDuty.1 PASSED.
    expect(&o, "guardduty.enabled", &acct, US, Status::Pass);
    expect(&o, "guardduty.enabled", &acct, EU, Status::Pass);

    expect(&o, "cloudtrail.multi_region_enabled", &acct, None, Status::Pass);
    expect(&o, "cloudtrail.s3_read_data_events", &acct, None, Status::Pass);
    expect(
        &o,
        "cloudtrail.bucket_access_logging",
        "payments-cloudtrail-345678901234",
        US,
        Status::Pass,
    );

    // ci-deployer finished its rotation; static-assets-sync (the key used from Tor) never rotated.
    expect(&o, "iam.single_active_access_key", "ci-deployer", None, Status::Pass);
    expect(&o, "iam.access_keys_rotated_90d", "ci-deployer", None, Status::Pass);
    expect(
        &o,
        "iam.access_keys_rotated_90d",
        "static-assets-sync",
        None,
        Status::Fail,
    );
    expect(
        &o,
        "iam.access_keys_rotated_90d",
        "terraform-deployer",
        None,
        Status::Pass,
    );
    expect(
        &o,
        "iam.no_user_attached_policies",
        "static-assets-sync",
        None,
        Status::Pass,
    );
    // The S3 full access attached to payments-app-role is not "*" on "*"; NotAction is not "*" either.
    expect(
        &o,
        "iam.no_full_admin_policies",
        "AmazonS3FullAccess",
        None,
        Status::Pass,
    );
    expect(&o, "iam.no_full_admin_policies", "PowerUserAccess", None, Status::Pass);
    expect(
        &o,
        "iam.no_full_admin_policies",
        "payments-app-policy",
        None,
        Status::Pass,
    );
    expect(
        &o,
        "iam.no_expired_server_certificates",
        "payments-partner-mtls",
        None,
        Status::Pass,
    );
}

#[test]
fn dev_sandbox_is_sloppy_and_has_a_kms_gap_in_eu_west_1() {
    let o = evaluate(DEV_SANDBOX);
    let acct = account(DEV_SANDBOX);

    // A scratch database that is unencrypted, public and never patched; an unencrypted
    // file system; dana-test runs without a role.
    for check in [
        "rds.storage_encrypted",
        "rds.auto_minor_version_upgrade",
        "rds.not_publicly_accessible",
    ] {
        expect(&o, check, "sandbox-scratch-db", US, Status::Fail);
    }
    expect(&o, "efs.encrypted", "fs-0e9f8a7b6c5d4e3f2", EU, Status::Fail);
    expect(
        &o,
        "ec2.instance_profile_attached",
        "i-0a7b8c9d0e1f2a3b5",
        US,
        Status::Fail,
    );
    expect(
        &o,
        "ec2.instance_profile_attached",
        "i-0d1e2f3a4b5c6d7e8",
        US,
        Status::Pass,
    );

    // The only gap: KMS in eu-west-1, denied to the collector role; each
    // KMS check says so there.
    let errs = errors(&o);
    let kms_checks = ["kms.key_rotation", "kms.no_keys_pending_deletion"];
    assert_eq!(errs.len(), kms_checks.len(), "{errs:#?}");
    assert!(
        errs.iter()
            .all(|e| kms_checks.contains(&e.check_id.as_str()) && e.region.as_deref() == EU),
        "{errs:#?}"
    );
    let kms = outcome(&o, "kms.key_rotation", &acct, EU);
    assert_eq!(kms.status, Status::Error);
    assert!(
        kms.reason.contains("access_denied") && kms.reason.contains("kms:ListKeys"),
        "{}",
        kms.reason
    );
    expect(
        &o,
        "kms.key_rotation",
        "7e2c3b4a-5f6d-4a1b-9c8d-0e1f2a3b4c5d",
        US,
        Status::Fail,
    );
    expect(
        &o,
        "kms.key_rotation",
        "8f3d4c5b-6a7e-4b2c-8d9e-1f2a3b4c5d6e",
        US,
        Status::Skip,
    );

    // S3.1 and S3.8 FAILED.
    let scratch = "dev-sandbox-scratch-456789012345";
    expect(&o, "s3.account_public_access_block", &acct, None, Status::Fail);
    expect(&o, "s3.bucket_public_access_block", scratch, US, Status::Fail);
    expect(&o, "s3.bucket_not_public", scratch, US, Status::Fail);
    expect(
        &o,
        "s3.bucket_public_access_block",
        "sandbox-terraform-state-456789012345",
        US,
        Status::Pass,
    );
    expect(
        &o,
        "s3.tls_only",
        "sandbox-terraform-state-456789012345",
        US,
        Status::Pass,
    );
    expect(&o, "s3.tls_only", "sandbox-eu-datasets-456789012345", EU, Status::Fail);

    // CloudTrail.1 FAILED: sandbox-admin stopped the only trail.
    expect(&o, "cloudtrail.multi_region_enabled", &acct, None, Status::Fail);
    expect(&o, "cloudtrail.log_file_validation", "sandbox-trail", US, Status::Fail);
    expect(
        &o,
        "cloudtrail.bucket_access_logging",
        "sandbox-cloudtrail-logs-456789012345",
        US,
        Status::Fail,
    );

    // EC2.19 FAILED on sandbox-api-sg (3389); GuardDuty sees SSH brute force behind sandbox-open-sg.
    expect(&o, "ec2.sg_admin_ports_ipv4", "sg-0f1e2d3c4b5a69788", EU, Status::Fail);
    expect(&o, "ec2.sg_admin_ports_ipv4", "sg-0d1e2f3a4b5c6d7e8", US, Status::Fail);
    expect(&o, "ec2.sg_admin_ports_ipv6", "sg-0d1e2f3a4b5c6d7e8", US, Status::Fail);
    expect(&o, "ec2.sg_admin_ports_ipv4", "sg-0b6c7d8e9f0a1b2c3", US, Status::Pass);
    expect(
        &o,
        "ec2.default_sg_restricts_all",
        "sg-0a0b0c0d0e0f01021",
        US,
        Status::Fail,
    );
    expect(&o, "ec2.nacl_admin_ports", "acl-0f0e0d0c0b0a09082", US, Status::Fail);

    // The EC2.8 finding on i-0c9d8e7f6a5b4c3d2 is ARCHIVED: that instance is gone.
    let inv = load(DEV_SANDBOX);
    let all_instances: Vec<&str> = inv
        .region
        .values()
        .flat_map(|r| r.ec2.get().unwrap().instances.iter().map(|i| i.id.as_str()))
        .collect();
    assert!(!all_instances.contains(&"i-0c9d8e7f6a5b4c3d2"), "{all_instances:?}");
    expect(&o, "ec2.imdsv2_required", "i-0d1e2f3a4b5c6d7e8", US, Status::Fail);
    // Inspector reports sandbox-api with HttpTokens required.
    expect(&o, "ec2.imdsv2_required", "i-0e9f8a7b6c5d4e3f2", EU, Status::Pass);

    // No flow logs anywhere.
    let flow: Vec<&Outcome> = o.iter().filter(|x| x.check_id == "ec2.vpc_flow_logs").collect();
    assert_eq!(flow.len(), 4, "{flow:#?}");
    assert!(flow.iter().all(|x| x.status == Status::Fail), "{flow:#?}");

    // Config recording stopped in eu-west-1; EBS default encryption off.
    expect(&o, "config.recorder_enabled", &acct, US, Status::Pass);
    expect(&o, "config.recorder_enabled", &acct, EU, Status::Fail);
    expect(&o, "ec2.ebs_default_encryption", &acct, US, Status::Fail);
    // GuardDuty.1 PASSED in eu-west-1.
    expect(&o, "guardduty.enabled", &acct, EU, Status::Pass);
    expect(&o, "accessanalyzer.enabled", &acct, EU, Status::Fail);

    // Users.
    expect(&o, "iam.console_users_mfa", "sandbox-admin", None, Status::Fail);
    expect(&o, "iam.console_users_mfa", "dana.kim", None, Status::Pass);
    expect(
        &o,
        "iam.console_users_mfa",
        "github-actions-sandbox",
        None,
        Status::Skip,
    );
    expect(&o, "iam.access_keys_rotated_90d", "sandbox-admin", None, Status::Fail);
    expect(&o, "iam.access_keys_rotated_90d", "dana.kim", None, Status::Pass);
    expect(
        &o,
        "iam.single_active_access_key",
        "github-actions-sandbox",
        None,
        Status::Fail,
    );
    expect(&o, "iam.unused_credentials_45d", "contractor-jlee", None, Status::Fail);
    expect(&o, "iam.unused_credentials_45d", "dana.kim", None, Status::Pass);
    expect(&o, "iam.no_user_attached_policies", "sandbox-admin", None, Status::Fail);
    expect(&o, "iam.no_user_attached_policies", "dana.kim", None, Status::Pass);
    expect(&o, "iam.password_min_length", &acct, None, Status::Fail);
    expect(&o, "iam.password_reuse", &acct, None, Status::Fail);
    expect(&o, "iam.support_role", &acct, None, Status::Fail);
    expect(&o, "iam.root_mfa", &acct, None, Status::Pass);
    expect(
        &o,
        "iam.no_expired_server_certificates",
        "sandbox-selfsigned-test",
        None,
        Status::Fail,
    );
}

/// Security Hub controls in the demo findings without a native check of the
/// same control id, and the native check that decides the same thing.
const EQUIVALENT: &[(&str, Option<&str>)] = &[
    // High-risk ports: every demo EC2.19 finding is about 22 or 3389.
    ("EC2.19", Some("ec2.sg_admin_ports_ipv4")),
    // Hardware MFA for root: the inventory does not say what kind of device root has.
    ("IAM.6", None),
];

/// The native resource name a Security Hub resource id stands for.
fn native_resource(resource: &Value) -> String {
    let id = resource["Id"].as_str().unwrap();
    match resource["Type"].as_str().unwrap() {
        "AwsAccount" => format!("account {}", id.rsplit(':').next().unwrap()),
        "AwsS3Bucket" => id.rsplit(":::").next().unwrap().to_string(),
        _ => id.rsplit('/').next().unwrap().to_string(),
    }
}

#[test]
fn native_checks_agree_with_every_active_security_hub_control_finding() {
    let text = std::fs::read_to_string(demo_path("securityhub_findings.json")).unwrap();
    let findings: Vec<Value> = serde_json::from_str(&text).unwrap();
    let outcomes: Vec<(String, Vec<Outcome>)> = ACCOUNTS.iter().map(|a| (a.to_string(), evaluate(a))).collect();
    let mut compared = 0;
    let mut problems = Vec::new();
    for f in &findings {
        let Some(control) = f["Compliance"]["SecurityControlId"].as_str() else {
            continue;
        };
        if f["RecordState"] != "ACTIVE" {
            continue;
        }
        let check_ids: Vec<&str> = match EQUIVALENT.iter().find(|(c, _)| *c == control) {
            Some((_, native)) => native.iter().copied().collect(),
            None => checks::CHECKS
                .iter()
                .filter(|c| c.security_hub_control == Some(control))
                .map(|c| c.id)
                .collect(),
        };
        assert!(
            !check_ids.is_empty() || EQUIVALENT.iter().any(|(c, _)| *c == control),
            "{control}: no native check and no entry in EQUIVALENT"
        );
        let want = match f["Compliance"]["Status"].as_str().unwrap() {
            "PASSED" => Status::Pass,
            "FAILED" => Status::Fail,
            other => panic!("{control}: compliance status {other}"),
        };
        let account_id = f["AwsAccountId"].as_str().unwrap();
        let region = f["Region"].as_str().unwrap();
        let resource = native_resource(&f["Resources"][0]);
        let (_, account_outcomes) = outcomes.iter().find(|(a, _)| a == account_id).unwrap();
        for check in check_ids {
            let got: Vec<&Outcome> = account_outcomes
                .iter()
                .filter(|o| o.check_id == check && o.resource == resource)
                .filter(|o| o.region.as_deref().is_none_or(|r| r == region))
                .collect();
            compared += 1;
            if got.len() != 1 || got[0].status != want {
                problems.push(format!(
                    "{account_id} {region} {control} {want:?} on {resource}: {check} gave {got:#?}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(compared >= 12, "only {compared} comparisons");
}
