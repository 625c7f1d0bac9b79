//! Storage checks (CIS v3.0 section 2).

use super::policy::{allows_everyone, denies_insecure_transport};
use super::{Check, Complexity, Effort, Outcome, Status, Verdicts, account, regions};
use crate::posture::inventory::{Bucket, DbInstance, Inventory};
use crate::severity::Severity;

pub(crate) const S3_TLS_ONLY: Check = Check {
    id: "s3.tls_only",
    title: "S3 bucket policies deny requests that are not over TLS",
    severity: Severity::Medium,
    service: "S3",
    rationale: "Without a Deny on aws:SecureTransport=false, data can be read or written in clear text.",
    remediation: &[
        "Add a bucket policy statement: Effect Deny, Principal *, Action s3:*, Resource the bucket and bucket/*, Condition Bool aws:SecureTransport false",
    ],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit",
    security_hub_control: Some("S3.5"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["s3:PutBucketPolicy"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("s3.tls_only");
        let Some(s3) = v.section(inv, &inv.s3, "S3 settings") else {
            return v.done();
        };
        for b in &s3.buckets {
            let ok = b.policy.as_ref().is_some_and(denies_insecure_transport);
            let why = if b.policy.is_none() {
                "the bucket has no policy"
            } else {
                "the bucket policy has no Deny on aws:SecureTransport false"
            };
            v.pass_if(
                ok,
                &b.name,
                Some(&b.region),
                "the bucket policy denies aws:SecureTransport false",
                why,
            );
        }
        v.done_or_none(account(inv), "no S3 buckets")
    },
};

pub(crate) const S3_MFA_DELETE: Check = Check {
    id: "s3.mfa_delete",
    title: "S3 buckets are versioned with MFA delete enabled",
    severity: Severity::Low,
    service: "S3",
    rationale: "With MFA delete, suspending versioning or permanently deleting an object version needs the root \
                user's MFA code: stolen keys alone cannot destroy a bucket's history.",
    remediation: &[
        "As the root user, with its MFA device: aws s3api put-bucket-versioning --bucket BUCKET \
         --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa 'SERIAL CODE' (the console cannot set it)",
    ],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/MultiFactorAuthenticationDelete.html",
    security_hub_control: Some("S3.20"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["s3:PutBucketVersioning"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        per_versioned_bucket(inv, "s3.mfa_delete", |b| {
            let versioned = b.versioning.as_deref() == Some("Enabled");
            let mfa_delete = b.mfa_delete.as_deref() == Some("Enabled");
            let fail = if versioned {
                "MFA delete is not enabled"
            } else {
                "versioning is not on (MFA delete needs it)"
            };
            (
                versioned && mfa_delete,
                "versioning is on with MFA delete enabled".into(),
                fail.into(),
            )
        })
    },
};

pub(crate) const S3_BUCKET_PUBLIC_ACCESS_BLOCK: Check = Check {
    id: "s3.bucket_public_access_block",
    title: "S3 buckets block public access (bucket or account settings)",
    severity: Severity::High,
    service: "S3",
    rationale: "Block Public Access overrides ACLs and policies that would expose data to everyone.",
    remediation: &["S3 > bucket > Permissions > Block public access: turn on all four settings (or at account level)"],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
    security_hub_control: Some("S3.8"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["s3:PutPublicAccessBlock"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("s3.bucket_public_access_block");
        let Some(s3) = v.section(inv, &inv.s3, "S3 settings") else {
            return v.done();
        };
        let account_wide = s3.account_public_access_block.as_ref().is_some_and(|p| p.all_enabled());
        for b in &s3.buckets {
            let bucket = b.public_access_block.as_ref().is_some_and(|p| p.all_enabled());
            match (&s3.account_public_access_block_gap, bucket || account_wide) {
                // Not on for the bucket, and the account setting that could cover it is unknown.
                (Some(gap), false) => v.gap(&b.name, Some(&b.region), "account-level Block Public Access", gap),
                (_, ok) => v.pass_if(
                    ok,
                    &b.name,
                    Some(&b.region),
                    if bucket {
                        "all four settings on for the bucket"
                    } else {
                        "all four settings on at account level"
                    },
                    "Block Public Access is not fully on for the bucket or the account",
                ),
            }
        }
        v.done_or_none(account(inv), "no S3 buckets")
    },
};

pub(crate) const S3_ACCOUNT_PUBLIC_ACCESS_BLOCK: Check = Check {
    id: "s3.account_public_access_block",
    title: "S3 Block Public Access is on at account level",
    severity: Severity::Medium,
    service: "S3",
    rationale: "The account-level setting protects every current and future bucket.",
    remediation: &["S3 > Block Public Access settings for this account: turn on all four settings"],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-block-public-access-account.html",
    security_hub_control: Some("S3.1"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["s3:PutPublicAccessBlock"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("s3.account_public_access_block");
        let Some(s3) = v.section(inv, &inv.s3, "S3 settings") else {
            return v.done();
        };
        if let Some(gap) = &s3.account_public_access_block_gap {
            v.gap(account(inv), None, "account-level Block Public Access", gap);
            return v.done();
        }
        let on = s3.account_public_access_block.as_ref().is_some_and(|p| p.all_enabled());
        v.pass_if(
            on,
            account(inv),
            None,
            "all four settings on",
            "not all four account-level settings are on",
        );
        v.done()
    },
};

pub(crate) const S3_NOT_PUBLIC: Check = Check {
    id: "s3.bucket_not_public",
    title: "No S3 bucket is public through its policy or ACL",
    severity: Severity::Critical,
    service: "S3",
    rationale: "A public bucket exposes its objects to anyone on the internet.",
    remediation: &[
        "Remove Principal * statements and AllUsers/AuthenticatedUsers grants",
        "Turn on Block Public Access",
    ],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status",
    security_hub_control: Some("S3.2"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["s3:PutBucketPolicy", "s3:PutBucketAcl"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("s3.bucket_not_public");
        let Some(s3) = v.section(inv, &inv.s3, "S3 settings") else {
            return v.done();
        };
        let account_pab = s3.account_public_access_block.clone().unwrap_or_default();
        for b in &s3.buckets {
            let pab = b.public_access_block.clone().unwrap_or_default();
            // Block Public Access neutralizes a public policy (RestrictPublicBuckets) or ACL (IgnorePublicAcls).
            let policy_public = b
                .policy_is_public
                .unwrap_or_else(|| b.policy.as_ref().is_some_and(allows_everyone))
                && !(pab.restrict_public_buckets || account_pab.restrict_public_buckets);
            let acl_public = b.acl_grants_public && !(pab.ignore_public_acls || account_pab.ignore_public_acls);
            if let Some(gap) = &s3.account_public_access_block_gap
                && (policy_public || acl_public)
            {
                // Public by its own settings; whether the account setting neutralizes that is unknown.
                v.gap(&b.name, Some(&b.region), "account-level Block Public Access", gap);
                continue;
            }
            let mut how = Vec::new();
            if policy_public {
                how.push("its bucket policy");
            }
            if acl_public {
                how.push("its ACL grants AllUsers or AuthenticatedUsers");
            }
            v.pass_if(
                how.is_empty(),
                &b.name,
                Some(&b.region),
                "neither policy nor ACL is public",
                format!("public through {}", how.join(" and ")),
            );
        }
        v.done_or_none(account(inv), "no S3 buckets")
    },
};

pub(crate) const EBS_DEFAULT_ENCRYPTION: Check = Check {
    id: "ec2.ebs_default_encryption",
    title: "EBS encryption by default is on in every region",
    severity: Severity::Medium,
    service: "EC2",
    rationale: "New volumes and snapshot copies are then always encrypted.",
    remediation: &["EC2 > Settings > EBS encryption: Always encrypt new EBS volumes (per region)"],
    doc_url: "https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html",
    security_hub_control: Some("EC2.7"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost with the AWS managed key",
        actions: &["ec2:EnableEbsEncryptionByDefault"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("ec2.ebs_default_encryption");
        for (region, ec2) in regions(inv, |r| &r.ec2) {
            match ec2 {
                Ok(e) => v.pass_if(
                    e.ebs_encryption_by_default,
                    account(inv),
                    Some(region),
                    "EbsEncryptionByDefault is true",
                    "EbsEncryptionByDefault is false",
                ),
                Err(gap) => v.gap(account(inv), Some(region), "EC2 settings", gap),
            }
        }
        if inv.region.is_empty() {
            v.add(account(inv), None, Status::Error, "no region was collected");
        }
        v.done()
    },
};

/// One outcome per DB instance of every region: it passes when the boolean
/// `field` (read by `value`) is `wanted`; the reason states the field.
fn per_db_instance(
    inv: &Inventory,
    id: &'static str,
    field: &str,
    value: fn(&DbInstance) -> bool,
    wanted: bool,
) -> Vec<Outcome> {
    let mut v = Verdicts::new(id);
    for (region, rds) in regions(inv, |r| &r.rds) {
        match rds {
            Ok(instances) => {
                for db in instances {
                    let is = value(db);
                    let why = format!("{field} is {is}");
                    v.pass_if(is == wanted, &db.id, Some(region), why.clone(), why);
                }
            }
            Err(gap) => v.gap(account(inv), Some(region), "RDS DB instances", gap),
        }
    }
    v.done_or_none(account(inv), "no RDS DB instances")
}

pub(crate) const RDS_ENCRYPTED: Check = Check {
    id: "rds.storage_encrypted",
    title: "RDS DB instances are encrypted at rest",
    severity: Severity::Medium,
    service: "RDS",
    rationale: "Unencrypted storage, snapshots and replicas expose data to anyone who obtains them.",
    remediation: &[
        "Encryption cannot be turned on in place: snapshot the instance, copy the snapshot with --kms-key-id, restore from the encrypted copy, then switch over",
    ],
    doc_url: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.html",
    security_hub_control: Some("RDS.3"),
    effort: Effort {
        complexity: Complexity::High,
        cost: "no cost for the AWS managed key; downtime for the switch-over",
        actions: &[
            "rds:CreateDBSnapshot",
            "rds:CopyDBSnapshot",
            "rds:RestoreDBInstanceFromDBSnapshot",
        ],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        per_db_instance(
            inv,
            "rds.storage_encrypted",
            "StorageEncrypted",
            |db| db.storage_encrypted,
            true,
        )
    },
};

pub(crate) const RDS_AUTO_MINOR_UPGRADE: Check = Check {
    id: "rds.auto_minor_version_upgrade",
    title: "RDS DB instances apply minor engine upgrades automatically",
    severity: Severity::High,
    service: "RDS",
    rationale: "Minor versions carry security fixes; without automatic upgrades they wait for someone to remember.",
    remediation: &[
        "aws rds modify-db-instance --db-instance-identifier ID --auto-minor-version-upgrade --apply-immediately",
    ],
    doc_url: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.Upgrading.html#USER_UpgradeDBInstance.Upgrading.AutoMinorVersionUpgrades",
    security_hub_control: Some("RDS.13"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost; upgrades run in the maintenance window",
        actions: &["rds:ModifyDBInstance"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        per_db_instance(
            inv,
            "rds.auto_minor_version_upgrade",
            "AutoMinorVersionUpgrade",
            |db| db.auto_minor_version_upgrade,
            true,
        )
    },
};

pub(crate) const RDS_NOT_PUBLIC: Check = Check {
    id: "rds.not_publicly_accessible",
    title: "RDS DB instances are not publicly accessible",
    severity: Severity::Critical,
    service: "RDS",
    rationale: "A publicly accessible instance gets a public DNS name and address; only security groups then stand between it and the internet.",
    remediation: &[
        "aws rds modify-db-instance --db-instance-identifier ID --no-publicly-accessible --apply-immediately",
    ],
    doc_url: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Hiding",
    security_hub_control: Some("RDS.2"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost; clients outside the VPC need another path",
        actions: &["rds:ModifyDBInstance"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        per_db_instance(
            inv,
            "rds.not_publicly_accessible",
            "PubliclyAccessible",
            |db| db.publicly_accessible,
            false,
        )
    },
};

pub(crate) const EFS_ENCRYPTED: Check = Check {
    id: "efs.encrypted",
    title: "EFS file systems are encrypted at rest",
    severity: Severity::Medium,
    service: "EFS",
    rationale: "Unencrypted file systems leave data readable on the underlying storage.",
    remediation: &[
        "Encryption at rest is chosen at creation: create an encrypted file system and copy the data (AWS DataSync), then remove the old one",
    ],
    doc_url: "https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html",
    security_hub_control: Some("EFS.1"),
    effort: Effort {
        complexity: Complexity::High,
        cost: "storage for the copy while data moves (AWS DataSync per GB)",
        actions: &["elasticfilesystem:CreateFileSystem", "datasync:CreateTask"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("efs.encrypted");
        for (region, efs) in regions(inv, |r| &r.efs) {
            match efs {
                Ok(file_systems) => {
                    for fs in file_systems {
                        v.pass_if(
                            fs.encrypted,
                            &fs.id,
                            Some(region),
                            "Encrypted is true",
                            "Encrypted is false",
                        );
                    }
                }
                Err(gap) => v.gap(account(inv), Some(region), "EFS file systems", gap),
            }
        }
        v.done_or_none(account(inv), "no EFS file systems")
    },
};

pub(crate) const S3_ACCESS_LOGGING: Check = Check {
    id: "s3.server_access_logging",
    title: "S3 buckets have server access logging on",
    severity: Severity::Medium,
    service: "S3",
    rationale: "Access logs are the request-level record of who read, wrote or deleted what in a bucket.",
    remediation: &["S3 > bucket > Properties > Server access logging: enable, to a separate logging bucket"],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html",
    security_hub_control: Some("S3.9"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "S3 storage for the logs",
        actions: &["s3:PutBucketLogging"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("s3.server_access_logging");
        let Some(s3) = v.section(inv, &inv.s3, "S3 settings") else {
            return v.done();
        };
        for b in &s3.buckets {
            v.pass_if(
                b.logging_target.is_some(),
                &b.name,
                Some(&b.region),
                "server access logging is on",
                "server access logging is off",
            );
        }
        v.done_or_none(account(inv), "no S3 buckets")
    },
};

pub(crate) const S3_VERSIONING: Check = Check {
    id: "s3.versioning_enabled",
    title: "S3 buckets have versioning enabled",
    severity: Severity::Low,
    service: "S3",
    rationale: "Versioning keeps overwritten and deleted objects recoverable, after a mistake or a ransomware write.",
    remediation: &["aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration Status=Enabled"],
    doc_url: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html",
    security_hub_control: Some("S3.14"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "storage of noncurrent versions (limit with a lifecycle rule)",
        actions: &["s3:PutBucketVersioning"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        per_versioned_bucket(inv, "s3.versioning_enabled", |b| {
            let status = b.versioning.as_deref();
            (
                status == Some("Enabled"),
                "versioning is Enabled".into(),
                format!("versioning is {}", status.unwrap_or("never enabled")),
            )
        })
    },
};

/// One verdict per bucket from its versioning configuration; a bucket whose
/// versioning could not be read is that bucket's gap.
fn per_versioned_bucket(
    inv: &Inventory,
    id: &'static str,
    judge: fn(&Bucket) -> (bool, String, String),
) -> Vec<Outcome> {
    let mut v = Verdicts::new(id);
    let Some(s3) = v.section(inv, &inv.s3, "S3 settings") else {
        return v.done();
    };
    for b in &s3.buckets {
        if let Some(gap) = b.gaps.get("versioning") {
            v.gap(&b.name, Some(&b.region), "the bucket's versioning", gap);
            continue;
        }
        let (ok, pass, fail) = judge(b);
        v.pass_if(ok, &b.name, Some(&b.region), pass, fail);
    }
    v.done_or_none(account(inv), "no S3 buckets")
}

pub(crate) const KMS_NOT_PENDING_DELETION: Check = Check {
    id: "kms.no_keys_pending_deletion",
    title: "No customer managed KMS key is scheduled for deletion",
    severity: Severity::Critical,
    service: "KMS",
    rationale: "Once the waiting period ends, everything encrypted under the key is unreadable for good.",
    remediation: &["If the deletion is not intended: aws kms cancel-key-deletion --key-id KEY, then enable the key"],
    doc_url: "https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html",
    security_hub_control: Some("KMS.3"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["kms:CancelKeyDeletion", "kms:EnableKey"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("kms.no_keys_pending_deletion");
        for (region, keys) in regions(inv, |r| &r.kms) {
            match keys {
                Ok(keys) => {
                    for k in keys.iter().filter(|k| k.manager == "CUSTOMER") {
                        v.pass_if(
                            k.state != "PendingDeletion" && k.state != "PendingReplicaDeletion",
                            &k.id,
                            Some(region),
                            format!("key state {}", k.state),
                            format!("key state {}: scheduled for deletion", k.state),
                        );
                    }
                }
                Err(gap) => v.gap(account(inv), Some(region), "KMS keys", gap),
            }
        }
        v.done_or_none(account(inv), "no customer managed KMS keys")
    },
};

/// One verdict per DB instance: `judge` gives the status and why, or
/// `None` where the setting does not apply to the instance.
fn judge_db_instances(
    inv: &Inventory,
    id: &'static str,
    judge: fn(&DbInstance) -> Option<(Status, String)>,
) -> Vec<Outcome> {
    let mut v = Verdicts::new(id);
    for (region, rds) in regions(inv, |r| &r.rds) {
        match rds {
            Ok(instances) => {
                for db in instances {
                    match judge(db) {
                        Some((status, why)) => v.add(&db.id, Some(region), status, why),
                        None => v.add(
                            &db.id,
                            Some(region),
                            Status::Skip,
                            format!("not applicable to {}", db.engine),
                        ),
                    }
                }
            }
            Err(gap) => v.gap(account(inv), Some(region), "RDS DB instances", gap),
        }
    }
    v.done_or_none(account(inv), "no RDS DB instances")
}

/// A setting's verdict: Pass or Fail by `ok`, Error when the inventory
/// predates the setting.
fn setting<T: std::fmt::Display>(value: Option<T>, field: &str, ok: impl Fn(&T) -> bool) -> Option<(Status, String)> {
    Some(match value {
        Some(v) if ok(&v) => (Status::Pass, format!("{field} is {v}")),
        Some(v) => (Status::Fail, format!("{field} is {v}")),
        None => (
            Status::Error,
            format!("{field} not collected (an inventory from before it was)"),
        ),
    })
}
/// An RDS instance setting AWS FSBP asks for; the rest is shared.
macro_rules! rds_check {
    ($name:ident, $id:literal, $title:literal, $control:literal, $severity:expr, $rationale:literal,
     $remediation:literal, $doc:literal, $judge:expr) => {
        pub(crate) const $name: Check = Check {
            id: $id,
            title: $title,
            severity: $severity,
            service: "RDS",
            rationale: $rationale,
            remediation: &[$remediation],
            doc_url: $doc,
            security_hub_control: Some($control),
            effort: Effort {
                complexity: Complexity::Low,
                cost: "see the remediation",
                actions: &["rds:ModifyDBInstance"],
                safe_to_automate: false,
            },
            evaluate: |inv| judge_db_instances(inv, $id, $judge),
        };
    };
}

/// The engines that support IAM database authentication.
const IAM_AUTH_ENGINES: [&str; 5] = ["mysql", "mariadb", "postgres", "aurora-mysql", "aurora-postgresql"];

/// Each engine's default port (RDS.23).
fn default_port(engine: &str) -> Option<i32> {
    Some(match engine {
        e if e.contains("mysql") || e == "mariadb" => 3306,
        e if e.contains("postgres") => 5432,
        e if e.starts_with("oracle") => 1521,
        e if e.starts_with("sqlserver") => 1433,
        e if e.starts_with("db2") => 50000,
        _ => return None,
    })
}

rds_check!(
    RDS_MULTI_AZ,
    "rds.multi_az",
    "RDS DB instances run in multiple Availability Zones",
    "RDS.5",
    Severity::Medium,
    "A single-AZ instance goes down with its Availability Zone.",
    "aws rds modify-db-instance --db-instance-identifier ID --multi-az (doubles the instance cost)",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZ.html",
    |db| setting(db.multi_az, "MultiAZ", |on| *on)
);
rds_check!(
    RDS_ENHANCED_MONITORING,
    "rds.enhanced_monitoring",
    "Enhanced monitoring is on for RDS DB instances",
    "RDS.6",
    Severity::Low,
    "OS-level metrics show what the database host was doing during an incident.",
    "aws rds modify-db-instance --db-instance-identifier ID --monitoring-interval 60 --monitoring-role-arn ROLE",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.html",
    |db| setting(db.monitoring_interval, "MonitoringInterval (s)", |s| *s > 0)
);
rds_check!(
    RDS_DELETION_PROTECTION,
    "rds.deletion_protection",
    "RDS DB instances have deletion protection",
    "RDS.8",
    Severity::Low,
    "Deletion protection stops a mistaken or malicious delete of the database.",
    "aws rds modify-db-instance --db-instance-identifier ID --deletion-protection",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html#USER_DeleteInstance.DeletionProtection",
    |db| setting(db.deletion_protection, "DeletionProtection", |on| *on)
);
rds_check!(
    RDS_IAM_AUTHENTICATION,
    "rds.iam_authentication",
    "IAM authentication is on for RDS DB instances that support it",
    "RDS.10",
    Severity::Medium,
    "IAM authentication replaces long-lived database passwords with short-lived tokens tied to IAM identities.",
    "aws rds modify-db-instance --db-instance-identifier ID --enable-iam-database-authentication",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.html",
    |db| {
        if !IAM_AUTH_ENGINES.contains(&db.engine.as_str()) {
            return None;
        }
        setting(db.iam_authentication, "IAMDatabaseAuthenticationEnabled", |on| *on)
    }
);
rds_check!(
    RDS_BACKUPS,
    "rds.automatic_backups",
    "RDS DB instances keep automated backups for 7 days or more",
    "RDS.11",
    Severity::Medium,
    "Without automated backups there is no point-in-time recovery after corruption or ransomware.",
    "aws rds modify-db-instance --db-instance-identifier ID --backup-retention-period 7",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_WorkingWithAutomatedBackups.html",
    |db| setting(db.backup_retention_days, "BackupRetentionPeriod (days)", |days| *days
        >= 7)
);
rds_check!(
    RDS_COPY_TAGS,
    "rds.copy_tags_to_snapshots",
    "RDS DB instances copy their tags to snapshots",
    "RDS.17",
    Severity::Low,
    "Untagged snapshots escape the ownership, classification and access rules that tags drive.",
    "aws rds modify-db-instance --db-instance-identifier ID --copy-tags-to-snapshot",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Tagging.html#USER_Tagging.CopyTags",
    |db| setting(db.copy_tags_to_snapshot, "CopyTagsToSnapshot", |on| *on)
);
rds_check!(
    RDS_NON_DEFAULT_PORT,
    "rds.non_default_port",
    "RDS DB instances do not listen on their engine's default port",
    "RDS.23",
    Severity::Low,
    "Scanners try the default ports first; a different port turns away the least targeted probes.",
    "Port changes need a restart and client changes: aws rds modify-db-instance --db-instance-identifier ID --db-port-number PORT",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.Modifying.html",
    |db| {
        let default = default_port(&db.engine)?;
        setting(
            db.port,
            &format!("the port (the engine's default is {default})"),
            |port| *port != default,
        )
    }
);
rds_check!(
    RDS_CUSTOM_ADMIN,
    "rds.custom_admin_username",
    "RDS DB instances use a custom administrator user name",
    "RDS.25",
    Severity::Medium,
    "The default administrator names are the first half of every password-guessing attempt.",
    "The master user name is set at creation: restore a snapshot into an instance with a custom master user name",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.MasterAccounts.html",
    |db| {
        setting(db.master_username.as_deref(), "MasterUsername", |name| {
            !matches!(*name, "admin" | "postgres")
        })
    }
);
