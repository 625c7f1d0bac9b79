//! IAM checks (CIS AWS Foundations v3.0 section 1).

use super::policy::allows_full_admin;
use super::{Check, Complexity, Effort, Status, Verdicts, account, regions};
use crate::posture::inventory::{CredentialReportRow, Inventory};
use crate::severity::Severity;
use jiff::{SignedDuration, Timestamp};

/// `t` lies at least `days` days before collection.
fn at_least_days_before(inv: &Inventory, t: Option<Timestamp>, days: i64) -> bool {
    t.is_some_and(|t| inv.collected_at.duration_since(t) >= SignedDuration::from_hours(24 * days))
}

/// `t` lies more than `days` days before collection.
fn more_than_days_before(inv: &Inventory, t: Option<Timestamp>, days: i64) -> bool {
    t.is_some_and(|t| inv.collected_at.duration_since(t) > SignedDuration::from_hours(24 * days))
}

fn root_row(inv: &Inventory) -> Option<&CredentialReportRow> {
    inv.iam.get().ok()?.credential_report.iter().find(|r| r.is_root())
}

fn users(inv: &Inventory) -> Option<impl Iterator<Item = &CredentialReportRow>> {
    inv.iam
        .get()
        .ok()
        .map(|i| i.credential_report.iter().filter(|r| !r.is_root()))
}

macro_rules! iam_or_gap {
    ($v:expr, $inv:expr, $what:expr) => {
        match $v.section($inv, &$inv.iam, $what) {
            Some(iam) => iam,
            None => return $v.done(),
        }
    };
}

pub(crate) const ROOT_NO_ACCESS_KEYS: Check = Check {
    id: "iam.root_no_access_keys",
    title: "The root user has no access keys",
    severity: Severity::Critical,
    service: "IAM",
    rationale: "Root access keys grant unrestricted, unscoped access to the account and cannot be limited by policy.",
    remediation: &[
        "Sign in as root",
        "Security credentials > Access keys: delete every root access key",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_delete-key.html",
    security_hub_control: Some("IAM.4"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:DeleteAccessKey (as root)"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.root_no_access_keys");
        let iam = iam_or_gap!(v, inv, "IAM account summary");
        let from_report = root_row(inv).map(|r| r.access_key_1_active || r.access_key_2_active);
        match iam.root_access_keys_present.or(from_report) {
            Some(present) => v.pass_if(
                !present,
                account(inv),
                None,
                "AccountAccessKeysPresent is 0",
                "the root user has an access key (AccountAccessKeysPresent is 1)",
            ),
            None => v.add(
                account(inv),
                None,
                Status::Error,
                "neither the account summary nor the credential report says whether root has keys",
            ),
        }
        v.done()
    },
};

pub(crate) const ROOT_MFA: Check = Check {
    id: "iam.root_mfa",
    title: "MFA is enabled for the root user",
    severity: Severity::Critical,
    service: "IAM",
    rationale: "Without MFA, the root password alone opens the whole account.",
    remediation: &[
        "Sign in as root",
        "Security credentials > Multi-factor authentication: assign an MFA device (hardware preferred)",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-virt-mfa-for-root.html",
    security_hub_control: Some("IAM.9"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost (a hardware key costs about USD 20-60)",
        actions: &["iam:EnableMFADevice (as root)"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.root_mfa");
        let iam = iam_or_gap!(v, inv, "IAM account summary");
        match iam.root_mfa_enabled.or(root_row(inv).map(|r| r.mfa_active)) {
            Some(on) => v.pass_if(
                on,
                account(inv),
                None,
                "AccountMFAEnabled is 1",
                "the root user has no MFA device (AccountMFAEnabled is 0)",
            ),
            None => v.add(
                account(inv),
                None,
                Status::Error,
                "neither the account summary nor the credential report says whether root has MFA",
            ),
        }
        v.done()
    },
};

pub(crate) const PASSWORD_MIN_LENGTH: Check = Check {
    id: "iam.password_min_length",
    title: "The IAM password policy requires at least 14 characters",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "Long passwords resist guessing and brute force.",
    remediation: &["IAM > Account settings > Password policy: set minimum length to 14 or more"],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html",
    security_hub_control: Some("IAM.15"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:UpdateAccountPasswordPolicy"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.password_min_length");
        let iam = iam_or_gap!(v, inv, "IAM password policy");
        match &iam.password_policy {
            None => v.add(
                account(inv),
                None,
                Status::Fail,
                "no account password policy is set (AWS default: 8 characters)",
            ),
            Some(p) => {
                let len = p.minimum_password_length.unwrap_or(8);
                v.pass_if(
                    len >= 14,
                    account(inv),
                    None,
                    format!("MinimumPasswordLength is {len}"),
                    format!("MinimumPasswordLength is {len}, below 14"),
                );
            }
        }
        v.done()
    },
};

pub(crate) const PASSWORD_REUSE: Check = Check {
    id: "iam.password_reuse",
    title: "The IAM password policy prevents reuse of the last 24 passwords",
    severity: Severity::Low,
    service: "IAM",
    rationale: "Reused passwords extend the life of a compromised credential.",
    remediation: &["IAM > Account settings > Password policy: prevent password reuse, remember 24"],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html",
    security_hub_control: Some("IAM.16"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:UpdateAccountPasswordPolicy"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.password_reuse");
        let iam = iam_or_gap!(v, inv, "IAM password policy");
        match iam.password_policy.as_ref().and_then(|p| p.password_reuse_prevention) {
            Some(n) => v.pass_if(
                n >= 24,
                account(inv),
                None,
                format!("PasswordReusePrevention is {n}"),
                format!("PasswordReusePrevention is {n}, below 24"),
            ),
            None => v.add(
                account(inv),
                None,
                Status::Fail,
                "password reuse is not prevented (no policy or no PasswordReusePrevention)",
            ),
        }
        v.done()
    },
};

pub(crate) const CONSOLE_USERS_MFA: Check = Check {
    id: "iam.console_users_mfa",
    title: "Every IAM user with a console password has MFA",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "A console password alone is phishable; MFA stops most account takeovers.",
    remediation: &[
        "IAM > Users > (user) > Security credentials: assign an MFA device",
        "Require MFA with an IAM policy condition aws:MultiFactorAuthPresent",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html",
    security_hub_control: Some("IAM.5"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["iam:CreateVirtualMFADevice", "iam:EnableMFADevice"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.console_users_mfa");
        let _ = iam_or_gap!(v, inv, "IAM credential report");
        for row in users(inv).into_iter().flatten() {
            if !row.password_enabled {
                v.add(&row.user, None, Status::Skip, "no console password");
            } else {
                v.pass_if(
                    row.mfa_active,
                    &row.user,
                    None,
                    "console password with MFA",
                    "console password without MFA (credential report mfa_active false)",
                );
            }
        }
        v.done_or_none(account(inv), "no IAM users")
    },
};

pub(crate) const UNUSED_CREDENTIALS: Check = Check {
    id: "iam.unused_credentials_45d",
    title: "Credentials unused for 45 days or more are disabled",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "Dormant passwords and keys are credentials nobody watches.",
    remediation: &[
        "Remove the console password of users who have not signed in for 45 days",
        "Deactivate access keys unused for 45 days",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_finding-unused.html",
    security_hub_control: Some("IAM.22"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:UpdateAccessKey", "iam:DeleteLoginProfile"],
        safe_to_automate: false,
    },
    evaluate: |inv| unused_credentials(inv, "iam.unused_credentials_45d", 45),
};

/// Users whose active password or keys went unused for `days`.
fn unused_credentials(inv: &Inventory, id: &'static str, days: i64) -> Vec<super::Outcome> {
    let mut v = Verdicts::new(id);
    let _ = iam_or_gap!(v, inv, "IAM credential report");
    for row in users(inv).into_iter().flatten() {
        let mut stale = Vec::new();
        // Never used counts from creation (or last change for passwords).
        if row.password_enabled
            && at_least_days_before(
                inv,
                row.password_last_used
                    .or(row.password_last_changed)
                    .or(row.user_creation_time),
                days,
            )
        {
            stale.push("console password");
        }
        if row.access_key_1_active
            && at_least_days_before(inv, row.access_key_1_last_used.or(row.access_key_1_last_rotated), days)
        {
            stale.push("access key 1");
        }
        if row.access_key_2_active
            && at_least_days_before(inv, row.access_key_2_last_used.or(row.access_key_2_last_rotated), days)
        {
            stale.push("access key 2");
        }
        if !row.password_enabled && !row.access_key_1_active && !row.access_key_2_active {
            v.add(&row.user, None, Status::Skip, "no active credentials");
        } else {
            v.pass_if(
                stale.is_empty(),
                &row.user,
                None,
                format!("every active credential was used within {days} days"),
                format!("unused for {days} days or more: {}", stale.join(", ")),
            );
        }
    }
    v.done_or_none(account(inv), "no IAM users")
}

pub(crate) const UNUSED_CREDENTIALS_90D: Check = Check {
    id: "iam.unused_credentials_90d",
    title: "Credentials unused for 90 days or more are removed",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "Dormant passwords and keys are credentials nobody watches.",
    remediation: &[
        "Remove the console password of users who have not signed in for 90 days",
        "Deactivate, then delete, access keys unused for 90 days",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_finding-unused.html",
    security_hub_control: Some("IAM.8"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:DeleteLoginProfile"],
        safe_to_automate: false,
    },
    evaluate: |inv| unused_credentials(inv, "iam.unused_credentials_90d", 90),
};

pub(crate) const ALL_USERS_MFA: Check = Check {
    id: "iam.all_users_mfa",
    title: "Every IAM user has MFA",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "A user without MFA is one leaked password, or one phished sign-in, from being someone else's.",
    remediation: &["IAM > Users > (user) > Security credentials > Assign MFA device"],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable.html",
    security_hub_control: Some("IAM.19"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost (hardware keys cost what they cost)",
        actions: &["iam:CreateVirtualMFADevice", "iam:EnableMFADevice"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.all_users_mfa");
        let _ = iam_or_gap!(v, inv, "IAM credential report");
        for row in users(inv).into_iter().flatten() {
            v.pass_if(row.mfa_active, &row.user, None, "MFA is active", "no MFA device");
        }
        v.done_or_none(account(inv), "no IAM users")
    },
};

pub(crate) const STRONG_PASSWORD_POLICY: Check = Check {
    id: "iam.password_policy_strong",
    title: "The password policy requires upper case, lower case, numbers, symbols and 8 or more characters",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "Weak password rules make console passwords guessable.",
    remediation: &[
        "aws iam update-account-password-policy --require-uppercase-characters --require-lowercase-characters \
         --require-numbers --require-symbols --minimum-password-length 14",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html",
    security_hub_control: Some("IAM.7"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:UpdateAccountPasswordPolicy"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.password_policy_strong");
        let iam = iam_or_gap!(v, inv, "IAM password policy");
        let Some(p) = &iam.password_policy else {
            v.add(account(inv), None, Status::Fail, "no account password policy is set");
            return v.done();
        };
        let len = p.minimum_password_length.unwrap_or(8);
        let missing: Vec<&str> = [
            (p.require_uppercase_characters, "upper case"),
            (p.require_lowercase_characters, "lower case"),
            (p.require_numbers, "numbers"),
            (p.require_symbols, "symbols"),
            (len >= 8, "8 or more characters"),
        ]
        .into_iter()
        .filter_map(|(required, what)| (!required).then_some(what))
        .collect();
        v.pass_if(
            missing.is_empty(),
            account(inv),
            None,
            format!("requires upper and lower case, numbers, symbols and {len} characters"),
            format!("does not require {}", missing.join(", ")),
        );
        v.done()
    },
};

pub(crate) const SINGLE_ACTIVE_KEY: Check = Check {
    id: "iam.single_active_access_key",
    title: "No IAM user has more than one active access key",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "Two active keys double the exposure and usually mean a rotation left an old key behind.",
    remediation: &["Find which key is in use (last used date) and deactivate, then delete, the other"],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
    security_hub_control: None,
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:UpdateAccessKey", "iam:DeleteLoginProfile"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.single_active_access_key");
        let _ = iam_or_gap!(v, inv, "IAM credential report");
        for row in users(inv).into_iter().flatten() {
            let both = row.access_key_1_active && row.access_key_2_active;
            v.pass_if(
                !both,
                &row.user,
                None,
                "at most one active access key",
                "two active access keys",
            );
        }
        v.done_or_none(account(inv), "no IAM users")
    },
};

pub(crate) const KEYS_ROTATED: Check = Check {
    id: "iam.access_keys_rotated_90d",
    title: "Active access keys are rotated every 90 days or less",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "Old keys have had more time to leak.",
    remediation: &["Create a second key, move the workload to it, deactivate and delete the old key"],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html#Using_RotateAccessKey",
    security_hub_control: Some("IAM.3"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.access_keys_rotated_90d");
        let _ = iam_or_gap!(v, inv, "IAM credential report");
        for row in users(inv).into_iter().flatten() {
            let mut old = Vec::new();
            if row.access_key_1_active && more_than_days_before(inv, row.access_key_1_last_rotated, 90) {
                old.push("access key 1");
            }
            if row.access_key_2_active && more_than_days_before(inv, row.access_key_2_last_rotated, 90) {
                old.push("access key 2");
            }
            if !row.access_key_1_active && !row.access_key_2_active {
                v.add(&row.user, None, Status::Skip, "no active access key");
            } else {
                v.pass_if(
                    old.is_empty(),
                    &row.user,
                    None,
                    "active keys rotated within 90 days",
                    format!("not rotated for more than 90 days: {}", old.join(", ")),
                );
            }
        }
        v.done_or_none(account(inv), "no IAM users")
    },
};

pub(crate) const NO_USER_POLICIES: Check = Check {
    id: "iam.no_user_attached_policies",
    title: "IAM users receive permissions only through groups",
    severity: Severity::Low,
    service: "IAM",
    rationale: "Permissions on individual users drift and escape review; groups (or roles) keep them manageable.",
    remediation: &[
        "Move each policy attached to a user onto a group and add the user to it",
        "Delete the user's inline policies",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups_manage_attach-policy.html",
    security_hub_control: Some("IAM.2"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "no cost",
        actions: &["iam:AttachGroupPolicy", "iam:AddUserToGroup", "iam:DetachUserPolicy"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.no_user_attached_policies");
        let iam = iam_or_gap!(v, inv, "IAM users");
        for user in &iam.users {
            let direct: Vec<&str> = user
                .attached_policy_arns
                .iter()
                .map(|a| a.rsplit('/').next().unwrap_or(a))
                .chain(user.inline_policy_names.iter().map(String::as_str))
                .collect();
            v.pass_if(
                direct.is_empty(),
                &user.name,
                None,
                "no policies on the user itself",
                format!("policies on the user: {}", direct.join(", ")),
            );
        }
        v.done_or_none(account(inv), "no IAM users")
    },
};

pub(crate) const NO_FULL_ADMIN: Check = Check {
    id: "iam.no_full_admin_policies",
    title: "No attached IAM policy allows \"*\" on \"*\"",
    severity: Severity::High,
    service: "IAM",
    rationale: "Full administrative privileges defeat least privilege; one compromised identity owns the account.",
    remediation: &[
        "Replace the policy with one scoped to the actions and resources needed",
        "Detach it from every user, group and role",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",
    security_hub_control: Some("IAM.1"),
    effort: Effort {
        complexity: Complexity::High,
        cost: "no cost; engineering time to scope permissions",
        actions: &["iam:CreatePolicyVersion", "iam:DetachRolePolicy"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.no_full_admin_policies");
        let iam = iam_or_gap!(v, inv, "IAM policies");
        // AWS-managed AdministratorAccess is judged too: CIS asks that no such policy be attached.
        for p in iam.attached_policies.iter().filter(|p| p.attachment_count > 0) {
            v.pass_if(
                !allows_full_admin(&p.document),
                &p.name,
                None,
                "no Allow of * on *",
                format!(
                    "allows Action * on Resource * and is attached {} time(s)",
                    p.attachment_count
                ),
            );
        }
        v.done_or_none(account(inv), "no attached managed policies")
    },
};

pub(crate) const SUPPORT_ROLE: Check = Check {
    id: "iam.support_role",
    title: "A role can manage incidents with AWS Support",
    severity: Severity::Low,
    service: "IAM",
    rationale: "Someone must be able to open and follow AWS Support cases during an incident without root.",
    remediation: &["Create a role that trusted users can assume and attach the AWS managed policy AWSSupportAccess"],
    doc_url: "https://docs.aws.amazon.com/awssupport/latest/user/accessing-support.html",
    security_hub_control: Some("IAM.18"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:CreateRole", "iam:AttachRolePolicy"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.support_role");
        let iam = iam_or_gap!(v, inv, "AWSSupportAccess attachments");
        let entities = &iam.support_access_entities;
        let roles: Vec<&str> = entities
            .iter()
            .filter(|e| e.contains(":role/"))
            .map(String::as_str)
            .collect();
        let fail = if entities.is_empty() {
            "AWSSupportAccess is attached to nothing".to_string()
        } else {
            format!(
                "AWSSupportAccess is attached only to {} (CIS asks for a role)",
                entities.join(", ")
            )
        };
        v.pass_if(
            !roles.is_empty(),
            account(inv),
            None,
            format!("AWSSupportAccess is attached to role(s) {}", roles.join(", ")),
            fail,
        );
        v.done()
    },
};

pub(crate) const NO_EXPIRED_CERTIFICATES: Check = Check {
    id: "iam.no_expired_server_certificates",
    title: "No expired SSL/TLS certificates are stored in IAM",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "An expired certificate deployed by mistake breaks clients and signals neglected key material.",
    remediation: &["Delete expired certificates: aws iam delete-server-certificate --server-certificate-name NAME"],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_server-certs.html",
    security_hub_control: Some("IAM.26"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:DeleteServerCertificate"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.no_expired_server_certificates");
        let iam = iam_or_gap!(v, inv, "IAM server certificates");
        for c in &iam.server_certificates {
            let expired = c.expiration.is_some_and(|e| e < inv.collected_at);
            v.pass_if(
                !expired,
                &c.name,
                None,
                "not expired",
                format!("expired {}", c.expiration.map(|e| e.to_string()).unwrap_or_default()),
            );
        }
        v.done_or_none(account(inv), "no server certificates stored in IAM")
    },
};

pub(crate) const ACCESS_ANALYZER: Check = Check {
    id: "accessanalyzer.enabled",
    title: "IAM Access Analyzer is enabled in every region",
    severity: Severity::Low,
    service: "IAM Access Analyzer",
    rationale: "Access Analyzer reports resources shared outside the account or organization.",
    remediation: &[
        "IAM > Access analyzer > Create analyzer, in each region (or org-wide from the delegated administrator)",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-getting-started.html",
    security_hub_control: Some("IAM.28"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost for external-access analyzers",
        actions: &["access-analyzer:CreateAnalyzer"],
        safe_to_automate: true,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("accessanalyzer.enabled");
        for (region, services) in regions(inv, |r| &r.services) {
            match services.map(|s| s.access_analyzer) {
                Ok(Some(on)) => v.pass_if(
                    on,
                    account(inv),
                    Some(region),
                    "an active analyzer exists",
                    "no active analyzer",
                ),
                Ok(None) => {
                    super::logging::service_gap(&mut v, inv, region, services, "access_analyzer", "Access Analyzer")
                }
                Err(gap) => v.gap(account(inv), Some(region), "service enablement", gap),
            }
        }
        v.done()
    },
};

pub(crate) const NO_CLOUDSHELL_FULL_ACCESS: Check = Check {
    id: "iam.no_cloudshell_full_access",
    title: "The AWSCloudShellFullAccess managed policy is attached to no one",
    severity: Severity::Medium,
    service: "IAM",
    rationale: "CloudShell full access lets its holders move files in and out of the account through the shell, \
                past the controls on other data paths.",
    remediation: &[
        "Detach AWSCloudShellFullAccess from every user, group and role; grant a scoped policy where CloudShell is needed",
    ],
    doc_url: "https://docs.aws.amazon.com/cloudshell/latest/userguide/sec-auth-with-identities.html",
    security_hub_control: Some("IAM.27"),
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:DetachUserPolicy", "iam:DetachGroupPolicy", "iam:DetachRolePolicy"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.no_cloudshell_full_access");
        let iam = iam_or_gap!(v, inv, "IAM policies");
        let attached = iam
            .attached_policies
            .iter()
            .find(|p| p.arn.ends_with(":iam::aws:policy/AWSCloudShellFullAccess") && p.attachment_count > 0);
        match attached {
            Some(p) => v.add(
                &p.name,
                None,
                Status::Fail,
                format!("attached {} time(s)", p.attachment_count),
            ),
            None => v.add(
                account(inv),
                None,
                Status::Pass,
                "AWSCloudShellFullAccess is not among the attached policies",
            ),
        }
        v.done()
    },
};

pub(crate) const NO_INITIAL_ACCESS_KEYS: Check = Check {
    id: "iam.no_initial_access_keys",
    title: "Console users have no access key that was never used",
    severity: Severity::Low,
    service: "IAM",
    rationale: "A key created with a console user 'just in case' and never used is a credential nobody watches.",
    remediation: &[
        "Deactivate and delete access keys that were never used; create keys only when a workload needs one",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
    security_hub_control: None,
    effort: Effort {
        complexity: Complexity::Low,
        cost: "no cost",
        actions: &["iam:UpdateAccessKey", "iam:DeleteAccessKey"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.no_initial_access_keys");
        let _ = iam_or_gap!(v, inv, "IAM credential report");
        for row in users(inv).into_iter().flatten().filter(|r| r.password_enabled) {
            let unused: Vec<&str> = [
                (row.access_key_1_active && row.access_key_1_last_used.is_none(), "key 1"),
                (row.access_key_2_active && row.access_key_2_last_used.is_none(), "key 2"),
            ]
            .into_iter()
            .filter_map(|(unused, key)| unused.then_some(key))
            .collect();
            v.pass_if(
                unused.is_empty(),
                &row.user,
                None,
                "no active access key that was never used",
                format!("active access key never used: {}", unused.join(", ")),
            );
        }
        v.done_or_none(account(inv), "no IAM users with a console password")
    },
};

pub(crate) const ROOT_HARDWARE_MFA: Check = Check {
    id: "iam.root_hardware_mfa",
    title: "The root user's MFA is a hardware device",
    severity: Severity::Critical,
    service: "IAM",
    rationale: "A virtual MFA lives on a phone or laptop that can itself be compromised or cloned; a hardware \
                key cannot be copied off the device.",
    remediation: &[
        "As root: IAM > Security credentials > Assign MFA device: a FIDO security key or hardware TOTP token; \
         then remove the virtual device",
    ],
    doc_url: "https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-hw-mfa-for-root.html",
    security_hub_control: Some("IAM.6"),
    effort: Effort {
        complexity: Complexity::Medium,
        cost: "the price of a hardware key",
        actions: &["iam:EnableMFADevice", "iam:DeactivateMFADevice"],
        safe_to_automate: false,
    },
    evaluate: |inv| {
        let mut v = Verdicts::new("iam.root_hardware_mfa");
        let iam = iam_or_gap!(v, inv, "IAM account summary");
        let mfa = iam.root_mfa_enabled.or(root_row(inv).map(|r| r.mfa_active));
        match (mfa, iam.root_virtual_mfa, &iam.virtual_mfa_gap) {
            (Some(false), _, _) => v.add(
                account(inv),
                None,
                Status::Fail,
                "the root user has no MFA device at all",
            ),
            (Some(true), Some(false), _) => v.add(
                account(inv),
                None,
                Status::Pass,
                "root has MFA and no virtual MFA device is assigned to it",
            ),
            (Some(true), Some(true), _) => v.add(
                account(inv),
                None,
                Status::Fail,
                "root's MFA is a virtual device (assigned to the root user in ListVirtualMFADevices)",
            ),
            (Some(true), None, Some(gap)) => v.gap(account(inv), None, "the virtual MFA devices", gap),
            (Some(true), None, None) => v.add(
                account(inv),
                None,
                Status::Error,
                "the virtual MFA devices were not collected (an inventory from before they were)",
            ),
            (None, _, _) => v.add(
                account(inv),
                None,
                Status::Error,
                "neither the account summary nor the credential report says whether root has MFA",
            ),
        }
        v.done()
    },
};
