//! Logging and detection checks (CIS v3.0 sections 3 and 4).

use super::{Check, Complexity, Effort, Status, Verdicts, account, regions};
use crate::posture::inventory::{Bucket, ConfigRecorder, Gap, Inventory, ServiceEnablement, Trail};
use crate::severity::Severity;

pub(crate) const CLOUDTRAIL_MULTI_REGION: Check = Check {
    id: "cloudtrail.multi_region_enabled",
    title: "A multi-region trail logs all management events",
    severity: Severity::High,
    service: "CloudTrail",
    rationale: "Without it, API activity in some regions or of some kinds leaves no record.",
    remediation: &[
        "Create (or update) a trail with IsMultiRegionTrail, management events Read and Write, and start logging",
    ],
    doc_url: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/receive-cloudtrail-log-files-from-multiple-regions.html",
    security_hub_control: Some("CloudTrail.1"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "first management-event copy free; S3 storage",
        actions: &["cloudtrail:CreateTrail", "cloudtrail:StartLogging"],
        safe_to_automate: true,
    },
    // A multi-region trail shows in every region, so a region whose listing
    // failed hides none; a trail whose status was not read might.
    evaluate: |inv| {
        some_trail(
            inv,
            "cloudtrail.multi_region_enabled",
            Trail::records_everything,
            "the trail's status and event selectors",
            false,
            |good| format!("logging multi-region trail(s): {good}"),
            |n| format!("none of the {n} trail(s) is multi-region, logging and recording all management events"),
        )
    },
};

pub(crate) const CLOUDTRAIL_VALIDATION: Check = Check {
    id: "cloudtrail.log_file_validation",
    title: "CloudTrail log file validation is enabled",
    severity: Severity::Low,
    service: "CloudTrail",
    rationale: "Digest files prove whether log files were changed or deleted after delivery.",
    remediation: &["aws cloudtrail update-trail --name TRAIL --enable-log-file-validation"],
    doc_url: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-enabling.html",
    security_hub_control: Some("CloudTrail.4"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["cloudtrail:UpdateTrail"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        per_trail(
            inv,
            "cloudtrail.log_file_validation",
            |t| t.log_file_validation,
            "LogFileValidationEnabled is true",
            "LogFileValidationEnabled is false",
        )
    },
};

pub(crate) const CONFIG_RECORDING: Check = Check {
    id: "config.recorder_enabled",
    title: "AWS Config records all resources in every region",
    severity: Severity::Medium,
    service: "Config",
    rationale: "Config history is what answers 'what changed, and when' during an investigation.",
    remediation: &[
        "Config > Settings: record all resource types (including global ones in one region) and start recording",
    ],
    doc_url: "https://docs.aws.amazon.com/config/latest/developerguide/gs-console.html",
    security_hub_control: Some("Config.1"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "per configuration item recorded",
        actions: &[
            "config:PutConfigurationRecorder",
            "config:PutDeliveryChannel",
            "config:StartConfigurationRecorder",
        ],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("config.recorder_enabled");
        let mut global_somewhere = false;
        let mut all_read = true;
        for (region, config) in regions(inv, |r| &r.config) {
            match config {
                Ok(c) => {
                    let healthy: Vec<&ConfigRecorder> = c
                        .recorders
                        .iter()
                        .filter(|r| r.recording && r.all_supported && r.last_status.as_deref() != Some("FAILURE"))
                        .collect();
                    global_somewhere |= healthy.iter().any(|r| r.include_global_resource_types);
                    let why = if c.recorders.is_empty() {
                        "no configuration recorder"
                    } else if healthy.is_empty() {
                        "no recorder is recording all supported resource types successfully"
                    } else {
                        "no delivery channel"
                    };
                    let ok = !healthy.is_empty() && c.delivery_channels > 0;
                    v.pass_if(
                        ok,
                        account(inv),
                        Some(region),
                        "a recorder records all supported resources and delivers",
                        why,
                    );
                }
                Err(gap) => {
                    all_read = false;
                    v.gap(account(inv), Some(region), "AWS Config", gap);
                }
            }
        }
        // Global resources (IAM) need recording in one region only; without
        // every region read, their absence cannot be asserted.
        if !inv.region.is_empty() && (global_somewhere || all_read) {
            v.pass_if(
                global_somewhere,
                format!("{} global resources", account(inv)),
                None,
                "global resource types are recorded",
                "no region records global resource types (IAM)",
            );
        }
        v.done()
    },
};

pub(crate) const CLOUDTRAIL_BUCKET_LOGGING: Check = Check {
    id: "cloudtrail.bucket_access_logging",
    title: "The S3 bucket of each trail has access logging on",
    severity: Severity::Low,
    service: "CloudTrail",
    rationale: "Access logs show who read or tampered with the audit logs themselves.",
    remediation: &["S3 > (trail bucket) > Properties > Server access logging: enable, to a separate bucket"],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html",
    security_hub_control: Some("CloudTrail.7"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "S3 storage for the access logs",
        actions: &["s3:PutBucketLogging"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        per_trail_bucket(inv, "cloudtrail.bucket_access_logging", |t, b| {
            (
                b.logging_target.is_some(),
                "server access logging is on".into(),
                format!("server access logging is off on the bucket of trail {}", t.name),
            )
        })
    },
};

pub(crate) const CLOUDTRAIL_KMS: Check = Check {
    id: "cloudtrail.kms_encryption",
    title: "CloudTrail logs are encrypted with a KMS key",
    severity: Severity::Medium,
    service: "CloudTrail",
    rationale: "SSE-KMS adds a key policy between the logs and anyone who can read the bucket.",
    remediation: &["aws cloudtrail update-trail --name TRAIL --kms-key-id KEY (key policy must allow CloudTrail)"],
    doc_url: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/encrypting-cloudtrail-log-files-with-aws-kms.html",
    security_hub_control: Some("CloudTrail.2"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "USD 1/month per KMS key plus requests",
        actions: &["kms:CreateKey", "kms:PutKeyPolicy", "cloudtrail:UpdateTrail"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        per_trail(
            inv,
            "cloudtrail.kms_encryption",
            |t| t.kms_key_id.is_some(),
            "KmsKeyId is set",
            "no KmsKeyId: logs use SSE-S3 only",
        )
    },
};

pub(crate) const KMS_ROTATION: Check = Check {
    id: "kms.key_rotation",
    title: "Rotation is enabled for customer-managed symmetric KMS keys",
    severity: Severity::Medium,
    service: "KMS",
    rationale: "Rotation limits how much data one key version protects.",
    remediation: &["aws kms enable-key-rotation --key-id KEY"],
    doc_url: "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html",
    security_hub_control: Some("KMS.4"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "USD 1/month per rotated key version",
        actions: &["kms:EnableKeyRotation"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("kms.key_rotation");
        for (region, keys) in regions(inv, |r| &r.kms) {
            let keys = match keys {
                Ok(k) => k,
                Err(gap) => {
                    v.gap(account(inv), Some(region), "KMS keys", gap);
                    continue;
                }
            };
            for k in keys {
                if k.manager != "CUSTOMER" || k.key_spec != "SYMMETRIC_DEFAULT" || k.state != "Enabled" {
                    v.add(
                        &k.id,
                        Some(region),
                        Status::Skip,
                        format!("{} {} key, {}", k.manager, k.key_spec, k.state),
                    );
                    continue;
                }
                match k.rotation_enabled {
                    Some(on) => v.pass_if(
                        on,
                        &k.id,
                        Some(region),
                        "KeyRotationEnabled is true",
                        "KeyRotationEnabled is false",
                    ),
                    None => v.add(&k.id, Some(region), Status::Error, "rotation status not readable"),
                }
            }
        }
        v.done()
    },
};

pub(crate) const VPC_FLOW_LOGS: Check = Check {
    id: "ec2.vpc_flow_logs",
    title: "Every VPC has flow logging",
    severity: Severity::Medium,
    service: "EC2",
    rationale: "Flow logs are the network record an investigation needs.",
    remediation: &["VPC > (vpc) > Flow logs > Create flow log (at least REJECT traffic)"],
    doc_url: "https://docs.aws.amazon.com/vpc/latest/userguide/working-with-flow-logs.html",
    security_hub_control: Some("EC2.6"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "log ingestion and storage (CloudWatch Logs or S3)",
        actions: &["ec2:CreateFlowLogs"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("ec2.vpc_flow_logs");
        for (region, ec2) in regions(inv, |r| &r.ec2) {
            match ec2 {
                Ok(e) => {
                    for vpc in &e.vpcs {
                        let ok = e.flow_logs.iter().any(|f| {
                            f.resource_id == vpc.id
                                && f.status == "ACTIVE"
                                && (f.traffic_type == "REJECT" || f.traffic_type == "ALL")
                        });
                        v.pass_if(
                            ok,
                            &vpc.id,
                            Some(region),
                            "an active flow log records the VPC's rejected traffic",
                            "no active flow log records the VPC's rejected traffic (REJECT or ALL)",
                        );
                    }
                }
                Err(gap) => v.gap(account(inv), Some(region), "VPCs and flow logs", gap),
            }
        }
        v.done()
    },
};

/// One verdict per trail on one of its settings; a region whose trails
/// could not be listed is that region's gap.
fn per_trail(inv: &Inventory, id: &'static str, ok: fn(&Trail) -> bool, pass: &str, fail: &str) -> Vec<super::Outcome> {
    let mut v = Verdicts::new(id);
    let Some(trails) = v.trails_by_home_region(inv) else {
        return v.done();
    };
    for t in trails {
        v.pass_if(ok(t), &t.name, Some(&t.home_region), pass, fail);
    }
    v.done_or_none(account(inv), "no trails")
}

/// One verdict per trail's S3 bucket: `judge` gives (complies, why it
/// passes, why it fails). A bucket in another account is not judged here.
fn per_trail_bucket(
    inv: &Inventory,
    id: &'static str,
    judge: fn(&Trail, &Bucket) -> (bool, String, String),
) -> Vec<super::Outcome> {
    let mut v = Verdicts::new(id);
    let Some(trails) = v.trails_by_home_region(inv) else {
        return v.done();
    };
    for t in trails {
        let Some(bucket) = &t.s3_bucket_name else {
            v.add(
                &t.name,
                Some(&t.home_region),
                Status::Skip,
                "the trail has no S3 bucket",
            );
            continue;
        };
        match inv.s3.get().map(|s3| s3.buckets.iter().find(|b| &b.name == bucket)) {
            Ok(Some(b)) => {
                let (ok, pass, fail) = judge(t, b);
                v.pass_if(ok, bucket, Some(&b.region), pass, fail);
            }
            Ok(None) => v.add(bucket, None, Status::Skip, "the trail's bucket is in another account"),
            Err(gap) => v.gap(bucket, None, "S3 settings", gap),
        }
    }
    v.done_or_none(account(inv), "no trails")
}

fn s3_data_events(inv: &Inventory, id: &'static str, wanted: &str) -> Vec<super::Outcome> {
    some_trail(
        inv,
        id,
        |t| {
            if !t.is_multi_region {
                return Ok(false);
            }
            if let Some(gap) = t.gaps.values().next() {
                return Err(gap);
            }
            let recorded = matches!(t.s3_data_events.as_deref(), Some(kind) if kind == "All" || kind == wanted);
            Ok(t.is_logging && recorded)
        },
        "the trail's status and event selectors",
        false,
        |covering| format!("recorded by {covering}"),
        |_| format!("no logging multi-region trail records S3 object-level {wanted} events for all buckets"),
    )
}

/// One account-wide verdict on whether some trail `qualifies`: PASS naming
/// those that do. When none does, each trail whose qualification could not
/// be read is a gap (named `unread`), and so, where a trail homed anywhere
/// could qualify, is each Region whose trails could not be listed; without
/// any, FAIL (`fail` gets the number of trails).
fn some_trail(
    inv: &Inventory,
    id: &'static str,
    qualifies: impl Fn(&Trail) -> Result<bool, &Gap>,
    unread: &str,
    homed_in_any_region: bool,
    pass: impl FnOnce(&str) -> String,
    fail: impl FnOnce(usize) -> String,
) -> Vec<super::Outcome> {
    let mut v = Verdicts::new(id);
    let Some(trails) = v.section(inv, &inv.cloudtrail, "CloudTrail trails") else {
        return v.done();
    };
    let good: Vec<&str> = trails
        .iter()
        .filter(|t| qualifies(t) == Ok(true))
        .map(|t| t.name.as_str())
        .collect();
    if good.is_empty() {
        if homed_in_any_region {
            for (region, gap) in &inv.cloudtrail_region_gaps {
                v.gap(account(inv), Some(region), "CloudTrail trails homed in the region", gap);
            }
        }
        for t in trails {
            if let Err(gap) = qualifies(t) {
                v.gap(&t.name, Some(&t.home_region), unread, gap);
            }
        }
        if !v.is_empty() {
            return v.done();
        }
    }
    v.pass_if(
        !good.is_empty(),
        account(inv),
        None,
        pass(&good.join(", ")),
        fail(trails.len()),
    );
    v.done()
}

pub(crate) const S3_WRITE_DATA_EVENTS: Check = Check {
    id: "cloudtrail.s3_write_data_events",
    title: "Object-level logging of S3 write events is on",
    severity: Severity::Medium,
    service: "CloudTrail",
    rationale: "Without data events, who changed or deleted objects is unknowable.",
    remediation: &["Add an S3 data event selector (WriteOnly or All, all buckets) to a multi-region trail"],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-cloudtrail-logging-for-s3.html",
    security_hub_control: Some("S3.22"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "USD 0.10 per 100,000 data events",
        actions: &["cloudtrail:PutEventSelectors"],
        safe_to_automate: false,
    },
    evaluate: |inv| s3_data_events(inv, "cloudtrail.s3_write_data_events", "WriteOnly"),
};

pub(crate) const S3_READ_DATA_EVENTS: Check = Check {
    id: "cloudtrail.s3_read_data_events",
    title: "Object-level logging of S3 read events is on",
    severity: Severity::Medium,
    service: "CloudTrail",
    rationale: "Without data events, who read which objects (exfiltration) is unknowable.",
    remediation: &["Add an S3 data event selector (ReadOnly or All, all buckets) to a multi-region trail"],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-cloudtrail-logging-for-s3.html",
    security_hub_control: Some("S3.23"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "USD 0.10 per 100,000 data events",
        actions: &["cloudtrail:PutEventSelectors"],
        safe_to_automate: false,
    },
    evaluate: |inv| s3_data_events(inv, "cloudtrail.s3_read_data_events", "ReadOnly"),
};

fn service_enabled(
    inv: &Inventory,
    id: &'static str,
    key: &str,
    name: &str,
    pick: fn(&ServiceEnablement) -> Option<bool>,
) -> Vec<super::Outcome> {
    let mut v = Verdicts::new(id);
    for (region, services) in regions(inv, |r| &r.services) {
        match services.map(pick) {
            Ok(Some(on)) => v.pass_if(
                on,
                account(inv),
                Some(region),
                format!("{name} is enabled"),
                format!("{name} is not enabled"),
            ),
            Ok(None) => service_gap(&mut v, inv, region, services, key, name),
            Err(gap) => v.gap(account(inv), Some(region), "service enablement", gap),
        }
    }
    v.done()
}

/// An unknown service status, with the reason collection recorded for it.
pub(super) fn service_gap(
    v: &mut Verdicts,
    inv: &Inventory,
    region: &str,
    services: Result<&ServiceEnablement, &Gap>,
    key: &str,
    name: &str,
) {
    match services.ok().and_then(|s| s.gaps.get(key)) {
        Some(gap) => v.gap(account(inv), Some(region), &format!("{name} status"), gap),
        None => v.add(
            account(inv),
            Some(region),
            Status::Error,
            format!("{name} status not collected"),
        ),
    }
}

pub(crate) const SECURITY_HUB_ENABLED: Check = Check {
    id: "securityhub.enabled",
    title: "AWS Security Hub is enabled in every region",
    severity: Severity::Medium,
    service: "Security Hub",
    rationale: "Security Hub aggregates findings and runs the control checks across accounts.",
    remediation: &["Enable Security Hub in each region (org-wide from the delegated administrator)"],
    doc_url: "https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-v2-enable.html",
    security_hub_control: None,
    effort: Effort {
        complexity: Complexity::Low,
        cost: "per check and per finding ingested",
        actions: &["securityhub:EnableSecurityHub"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        service_enabled(inv, "securityhub.enabled", "securityhub", "Security Hub", |s| {
            s.securityhub
        })
    },
};

pub(crate) const GUARDDUTY_ENABLED: Check = Check {
    id: "guardduty.enabled",
    title: "GuardDuty is enabled in every region",
    severity: Severity::High,
    service: "GuardDuty",
    rationale: "GuardDuty is the threat detection that turns logs into findings.",
    remediation: &["Enable GuardDuty in each region (org-wide with auto-enable from the delegated administrator)"],
    doc_url: "https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_settingup.html",
    security_hub_control: Some("GuardDuty.1"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "usage-based (log volume analysed)",
        actions: &["guardduty:CreateDetector"],
        safe_to_automate: false,
    },
    evaluate: |inv| service_enabled(inv, "guardduty.enabled", "guardduty", "GuardDuty", |s| s.guardduty),
};

pub(crate) const CLOUDTRAIL_ENABLED: Check = Check {
    id: "cloudtrail.enabled",
    title: "At least one CloudTrail trail is logging",
    severity: Severity::High,
    service: "CloudTrail",
    rationale: "Without a logging trail, API activity is kept only 90 days in event history and cannot be \
                delivered or analyzed.",
    remediation: &["Create a trail (multi-region, all management events) and start logging"],
    doc_url: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-create-and-update-a-trail.html",
    security_hub_control: Some("CloudTrail.3"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "first management-event copy free; S3 storage",
        actions: &["cloudtrail:CreateTrail", "cloudtrail:StartLogging"],
        safe_to_automate: true,
    },
    // A trail homed in an unlisted region, or one whose status was not
    // read, may be the one that logs.
    evaluate: |inv| {
        some_trail(
            inv,
            "cloudtrail.enabled",
            |t| match t.gaps.get("status") {
                Some(gap) => Err(gap),
                None => Ok(t.is_logging),
            },
            "the trail's status",
            true,
            |logging| format!("logging: {logging}"),
            |n| format!("none of the {n} trail(s) is logging"),
        )
    },
};

pub(crate) const CLOUDTRAIL_CLOUDWATCH_LOGS: Check = Check {
    id: "cloudtrail.cloudwatch_logs",
    title: "CloudTrail trails deliver to CloudWatch Logs",
    severity: Severity::Low,
    service: "CloudTrail",
    rationale: "Events in CloudWatch Logs can be searched at once and alarmed on (CIS section 4).",
    remediation: &[
        "aws cloudtrail update-trail --name TRAIL --cloud-watch-logs-log-group-arn GROUP_ARN \
         --cloud-watch-logs-role-arn ROLE_ARN",
    ],
    doc_url: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html",
    security_hub_control: Some("CloudTrail.5"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "CloudWatch Logs ingestion and storage",
        actions: &["logs:CreateLogGroup", "iam:CreateRole", "cloudtrail:UpdateTrail"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        per_trail(
            inv,
            "cloudtrail.cloudwatch_logs",
            |t| t.cloud_watch_logs_log_group_arn.is_some(),
            "delivers to a CloudWatch Logs group",
            "CloudWatchLogsLogGroupArn is not set",
        )
    },
};

pub(crate) const CLOUDTRAIL_BUCKET_NOT_PUBLIC: Check = Check {
    id: "cloudtrail.bucket_not_public",
    title: "The S3 bucket of each trail is not publicly accessible",
    severity: Severity::Critical,
    service: "CloudTrail",
    rationale: "Public audit logs hand an attacker a map of the account and its activity.",
    remediation: &["Remove public grants from the trail bucket's policy and ACL; turn on Block Public Access"],
    doc_url: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html",
    security_hub_control: Some("CloudTrail.6"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["s3:PutBucketPolicy", "s3:PutBucketAcl", "s3:PutPublicAccessBlock"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        per_trail_bucket(inv, "cloudtrail.bucket_not_public", |t, b| {
            let public = b.policy_is_public == Some(true) || b.acl_grants_public;
            let how = if b.acl_grants_public { "ACL" } else { "policy" };
            (
                !public,
                "neither the policy nor the ACL grants public access".into(),
                format!("the bucket of trail {} is public ({how})", t.name),
            )
        })
    },
};
