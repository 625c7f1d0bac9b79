//! An AWS Organization in moto for the org-wide tests: the organization and
//! its member accounts, each entered as an administrator would, and the
//! collector's read-only role in a member.

use crate::fixtures::MOTO_ACCOUNT;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_organizations::types::OrganizationFeatureSet;
use aws_sdk_sts::config::Credentials;

/// Read-only permissions for the collector (a customer policy: moto loads
/// AWS managed policies such as ReadOnlyAccess only on request).
pub const MEMBER_READ_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:GenerateCredentialReport","s3:Get*","s3:List*","ec2:Describe*","kms:Describe*","kms:Get*","kms:List*","config:Describe*","cloudtrail:Describe*","cloudtrail:Get*","rds:Describe*","elasticfilesystem:Describe*","securityhub:Get*","securityhub:Describe*","guardduty:Get*","guardduty:List*"],"Resource":"*"}]}"#;

/// A trust policy admitting the management account's principals that send `external_id`.
pub fn trust_policy(external_id: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{MOTO_ACCOUNT}:root")},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": external_id}}
        }]
    })
    .to_string()
}

/// A configuration for moto at `endpoint` with the session credentials of
/// `role_arn` (setup goes straight to moto, past any gate or stand-in, so
/// those see only the code under test).
pub async fn enter(moto: &SdkConfig, endpoint: &str, role_arn: &str) -> SdkConfig {
    let out = aws_sdk_sts::Client::new(moto)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("test-setup")
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let credentials = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "test-setup",
    );
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await
}

/// Creates the collector's role `role` in a member, trusting `external_id`,
/// with [`MEMBER_READ_ONLY`] attached.
pub async fn create_member_role(member: &SdkConfig, role: &str, external_id: &str) {
    let iam = aws_sdk_iam::Client::new(member);
    iam.create_role()
        .role_name(role)
        .assume_role_policy_document(trust_policy(external_id))
        .send()
        .await
        .unwrap();
    let policy = iam
        .create_policy()
        .policy_name("PostureAdvisorReadOnlyAccess")
        .policy_document(MEMBER_READ_ONLY)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name(role)
        .policy_arn(policy.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
}

/// Creates an organization (all features) with `management` as its
/// management account and one member account per name; the members' ids,
/// in `names` order.
pub async fn create_organization(management: &SdkConfig, names: &[&str]) -> Vec<String> {
    let orgs = aws_sdk_organizations::Client::new(management);
    orgs.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut members = Vec::new();
    for name in names {
        let created = orgs
            .create_account()
            .email(format!("{name}@example.com"))
            .account_name(*name)
            .send()
            .await
            .unwrap();
        let status = created.create_account_status().unwrap();
        members.push(status.account_id().unwrap().to_string());
    }
    members
}

/// Each member entered as an administrator would, through its
/// `OrganizationAccountAccessRole`, in `members` order.
pub async fn admin_sessions(management: &SdkConfig, endpoint: &str, members: &[String]) -> Vec<SdkConfig> {
    let mut admin = Vec::new();
    for id in members {
        let arn = format!("arn:aws:iam::{id}:role/OrganizationAccountAccessRole");
        admin.push(enter(management, endpoint, &arn).await);
    }
    admin
}

/// Creates `bucket` in the account of `member` with a policy letting anyone read it.
pub async fn create_public_bucket(member: &SdkConfig, bucket: &str) {
    let s3 = crate::moto::admin_s3(member);
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let public = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*")
        }]
    });
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(public.to_string())
        .send()
        .await
        .unwrap();
}

/// Creates `bucket` in the account of `member` behind all four Block Public Access settings.
pub async fn create_private_bucket(member: &SdkConfig, bucket: &str) {
    let s3 = crate::moto::admin_s3(member);
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
}
