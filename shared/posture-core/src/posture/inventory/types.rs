//! The inventory's sections, shaped after the APIs that fill them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// IAM, account-wide.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IamInventory {
    /// Rows of the credential report (`GenerateCredentialReport` /
    /// `GetCredentialReport`), the `<root_account>` row included when AWS
    /// reports it.
    pub credential_report: Vec<CredentialReportRow>,
    /// `GetAccountSummary`: `AccountMFAEnabled` = 1.
    pub root_mfa_enabled: Option<bool>,
    /// `GetAccountSummary`: `AccountAccessKeysPresent` = 1.
    pub root_access_keys_present: Option<bool>,
    /// `GetAccountPasswordPolicy`; `None` when no policy is set.
    pub password_policy: Option<PasswordPolicy>,
    /// Users with their policies and groups.
    pub users: Vec<IamUser>,
    /// Customer-managed and AWS-managed policies attached to anything, with
    /// their default version's document.
    pub attached_policies: Vec<ManagedPolicy>,
    /// Entities the `AWSSupportAccess` managed policy is attached to.
    pub support_access_entities: Vec<String>,
    /// Server certificates stored in IAM.
    pub server_certificates: Vec<ServerCertificate>,
    /// Whether a virtual MFA device is assigned to the root user
    /// (`ListVirtualMFADevices`, assigned ones); `None`: not read (then
    /// `virtual_mfa_gap` says why, or the inventory predates the field).
    pub root_virtual_mfa: Option<bool>,
    /// Why the virtual MFA devices could not be listed.
    pub virtual_mfa_gap: Option<super::Gap>,
    /// Roles with their trust policy and policies
    /// (`GetAccountAuthorizationDetails`); `None`: not read (then
    /// `roles_gap` says why, or the inventory predates the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<IamRole>>,
    /// Groups with their policies, read with the roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<IamGroup>>,
    /// Why roles and groups could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles_gap: Option<super::Gap>,
}

/// An IAM role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IamRole {
    /// Role name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Who may assume it (`AssumeRolePolicyDocument`, URL-decoded JSON).
    pub trust_policy: serde_json::Value,
    /// ARNs of managed policies attached to it.
    pub attached_policy_arns: Vec<String>,
    /// Its inline policies with their documents.
    pub inline_policies: Vec<InlinePolicy>,
}

/// An IAM group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IamGroup {
    /// Group name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// ARNs of managed policies attached to it.
    pub attached_policy_arns: Vec<String>,
    /// Its inline policies with their documents.
    pub inline_policies: Vec<InlinePolicy>,
}

/// An inline policy and its document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InlinePolicy {
    /// Policy name.
    pub name: String,
    /// The document (URL-decoded JSON).
    pub document: serde_json::Value,
}

/// One credential report row (the CSV's columns that checks read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialReportRow {
    /// `user` (`<root_account>` for root).
    pub user: String,
    /// `arn`.
    pub arn: String,
    /// `user_creation_time`.
    pub user_creation_time: Option<Timestamp>,
    /// `password_enabled`.
    pub password_enabled: bool,
    /// `password_last_used` (None: never or N/A).
    pub password_last_used: Option<Timestamp>,
    /// `password_last_changed`.
    pub password_last_changed: Option<Timestamp>,
    /// `mfa_active`.
    pub mfa_active: bool,
    /// `access_key_1_active`.
    pub access_key_1_active: bool,
    /// `access_key_1_last_rotated`.
    pub access_key_1_last_rotated: Option<Timestamp>,
    /// `access_key_1_last_used_date`.
    pub access_key_1_last_used: Option<Timestamp>,
    /// `access_key_2_active`.
    pub access_key_2_active: bool,
    /// `access_key_2_last_rotated`.
    pub access_key_2_last_rotated: Option<Timestamp>,
    /// `access_key_2_last_used_date`.
    pub access_key_2_last_used: Option<Timestamp>,
}

impl CredentialReportRow {
    /// Whether this is the root user's row.
    pub fn is_root(&self) -> bool {
        self.user == "<root_account>"
    }
}

/// `GetAccountPasswordPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicy {
    /// `MinimumPasswordLength`.
    pub minimum_password_length: Option<u32>,
    /// `PasswordReusePrevention` (None: reuse allowed).
    pub password_reuse_prevention: Option<u32>,
    /// `RequireSymbols`.
    pub require_symbols: bool,
    /// `RequireNumbers`.
    pub require_numbers: bool,
    /// `RequireUppercaseCharacters`.
    pub require_uppercase_characters: bool,
    /// `RequireLowercaseCharacters`.
    pub require_lowercase_characters: bool,
    /// `MaxPasswordAge` (None: no expiry).
    pub max_password_age: Option<u32>,
}

/// An IAM user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IamUser {
    /// User name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// ARNs of managed policies attached to the user directly.
    pub attached_policy_arns: Vec<String>,
    /// Names of inline policies on the user.
    pub inline_policy_names: Vec<String>,
    /// Those inline policies with their documents, where read (with the
    /// roles, `GetAccountAuthorizationDetails`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inline_policies: Vec<InlinePolicy>,
    /// Groups the user is in.
    pub groups: Vec<String>,
}

/// A managed policy that is attached somewhere.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManagedPolicy {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// `AttachmentCount`.
    pub attachment_count: u32,
    /// The default version's document (URL-decoded JSON).
    pub document: serde_json::Value,
}

/// An IAM server certificate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerCertificate {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// `Expiration`.
    pub expiration: Option<Timestamp>,
}

/// S3 settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Inventory {
    /// The account-level public access block (s3control), `None` when unset.
    pub account_public_access_block: Option<PublicAccessBlock>,
    /// Why the account-level setting could not be read (then
    /// `account_public_access_block` says nothing).
    pub account_public_access_block_gap: Option<super::Gap>,
    /// Buckets.
    pub buckets: Vec<Bucket>,
}

/// The four public access block settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`.
    pub block_public_acls: bool,
    /// `IgnorePublicAcls`.
    pub ignore_public_acls: bool,
    /// `BlockPublicPolicy`.
    pub block_public_policy: bool,
    /// `RestrictPublicBuckets`.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four on.
    pub fn all_enabled(&self) -> bool {
        self.block_public_acls && self.ignore_public_acls && self.block_public_policy && self.restrict_public_buckets
    }
}

/// One bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bucket {
    /// Name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Bucket-level public access block, `None` when unset.
    pub public_access_block: Option<PublicAccessBlock>,
    /// Default encryption algorithms (`AES256`, `aws:kms`); empty when none.
    pub encryption: Vec<String>,
    /// `GetBucketVersioning` status: `Enabled`, `Suspended`, or `None`.
    pub versioning: Option<String>,
    /// `MFADelete`: `Enabled`, `Disabled` or `None`.
    pub mfa_delete: Option<String>,
    /// Access logging target bucket, `None` when off.
    pub logging_target: Option<String>,
    /// The bucket policy, `None` when there is none.
    pub policy: Option<serde_json::Value>,
    /// `GetBucketPolicyStatus.IsPublic`.
    pub policy_is_public: Option<bool>,
    /// The ACL grants access to AllUsers or AuthenticatedUsers.
    pub acl_grants_public: bool,
    /// Attributes that could not be read (e.g. `versioning`), with why;
    /// such an attribute's field above says nothing.
    pub gaps: std::collections::BTreeMap<String, super::Gap>,
}

/// A CloudTrail trail with its status and selectors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Trail {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// Home region.
    pub home_region: String,
    /// `IsMultiRegionTrail`.
    pub is_multi_region: bool,
    /// `IsOrganizationTrail`.
    pub is_organization_trail: bool,
    /// `LogFileValidationEnabled`.
    pub log_file_validation: bool,
    /// `KmsKeyId`, `None` when not encrypted with KMS.
    pub kms_key_id: Option<String>,
    /// `S3BucketName`.
    pub s3_bucket_name: Option<String>,
    /// `GetTrailStatus.IsLogging`.
    pub is_logging: bool,
    /// Management events recorded: `All`, `ReadOnly`, `WriteOnly`, or `None`.
    pub management_events: Option<String>,
    /// S3 object-level data events for all buckets: `All`, `ReadOnly`, `WriteOnly`, or `None`.
    pub s3_data_events: Option<String>,
    /// `CloudWatchLogsLogGroupArn`: the log group the trail delivers to, `None` when none.
    pub cloud_watch_logs_log_group_arn: Option<String>,
    /// What could not be read about this trail (`status`: `GetTrailStatus`,
    /// `selectors`: `GetEventSelectors`), with why; the fields those calls
    /// fill say nothing then.
    pub gaps: std::collections::BTreeMap<String, super::Gap>,
}

impl Trail {
    /// Whether the trail is multi-region, logging and records all
    /// management events; `Err` with the gap when that could not be read.
    pub fn records_everything(&self) -> Result<bool, &super::Gap> {
        if !self.is_multi_region {
            return Ok(false);
        }
        if let Some(gap) = self.gaps.get("status").or_else(|| self.gaps.get("selectors")) {
            return Err(gap);
        }
        Ok(self.is_logging && self.management_events.as_deref() == Some("All"))
    }
}

/// CloudWatch Logs metric filters of a region, the alarms on their metrics
/// and the SNS topics those alarms notify (what CIS section 4 reads).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitoringRegion {
    /// Every metric filter of the region (`logs:DescribeMetricFilters`).
    pub metric_filters: Vec<MetricFilter>,
    /// The metric alarms on a metric one of those filters publishes
    /// (`cloudwatch:DescribeAlarms`).
    pub alarms: Vec<MetricAlarm>,
    /// The SNS topics of this region those alarms notify, with their
    /// subscriptions counted (`sns:ListSubscriptionsByTopic`).
    pub topics: Vec<SnsTopic>,
}

/// A CloudWatch Logs metric filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricFilter {
    /// `filterName`.
    pub name: String,
    /// `logGroupName`.
    pub log_group_name: String,
    /// `filterPattern`, as written.
    pub pattern: String,
    /// The metrics it publishes (`metricTransformations`).
    pub metrics: Vec<MetricName>,
}

/// A CloudWatch metric, by namespace and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricName {
    /// `metricNamespace`.
    pub namespace: String,
    /// `metricName`.
    pub name: String,
}

/// A CloudWatch metric alarm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricAlarm {
    /// `AlarmName`.
    pub name: String,
    /// `Namespace` and `MetricName`.
    pub metric: MetricName,
    /// `ActionsEnabled`.
    pub actions_enabled: bool,
    /// `AlarmActions` (ARNs).
    pub alarm_actions: Vec<String>,
}

/// An SNS topic with its subscriptions counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SnsTopic {
    /// `TopicArn`.
    pub arn: String,
    /// Subscriptions confirmed (a `SubscriptionArn` that is an ARN).
    pub confirmed_subscriptions: u32,
    /// Subscriptions still `PendingConfirmation`.
    pub pending_subscriptions: u32,
    /// Why the subscriptions could not be read (then the counts say nothing).
    pub gap: Option<super::Gap>,
}

/// EC2 and VPC settings of a region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ec2Region {
    /// Security groups.
    pub security_groups: Vec<SecurityGroup>,
    /// Network ACLs.
    pub network_acls: Vec<NetworkAcl>,
    /// VPCs.
    pub vpcs: Vec<Vpc>,
    /// Flow logs.
    pub flow_logs: Vec<FlowLog>,
    /// `GetEbsEncryptionByDefault`.
    pub ebs_encryption_by_default: bool,
    /// Instances (not terminated).
    pub instances: Vec<Instance>,
}

/// A security group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroup {
    /// `sg-...`.
    pub id: String,
    /// Name (`default` for a VPC's default group).
    pub name: String,
    /// VPC.
    pub vpc_id: String,
    /// Inbound rules.
    pub ingress: Vec<IpRule>,
    /// Outbound rules.
    pub egress: Vec<IpRule>,
}

/// One permission of a security group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpRule {
    /// `tcp`, `udp`, `icmp`, or `-1` for all.
    pub protocol: String,
    /// First port (None: all).
    pub from_port: Option<i32>,
    /// Last port (None: all).
    pub to_port: Option<i32>,
    /// IPv4 CIDRs.
    pub ipv4_ranges: Vec<String>,
    /// IPv6 CIDRs.
    pub ipv6_ranges: Vec<String>,
    /// Referenced security groups.
    pub group_ids: Vec<String>,
}

impl IpRule {
    /// Whether the rule admits `port` over TCP, UDP or all protocols (the
    /// protocols CIS 5.1–5.3 name).
    pub fn covers_port(&self, port: i32) -> bool {
        if self.protocol == "-1" {
            return true;
        }
        let proto = ["tcp", "6", "udp", "17"]
            .iter()
            .any(|p| self.protocol.eq_ignore_ascii_case(p));
        proto && self.from_port.unwrap_or(0) <= port && port <= self.to_port.unwrap_or(65535)
    }
}

/// A network ACL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkAcl {
    /// `acl-...`.
    pub id: String,
    /// VPC.
    pub vpc_id: String,
    /// Entries.
    pub entries: Vec<NaclEntry>,
}

/// A network ACL entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NaclEntry {
    /// Rule number (evaluated lowest first).
    pub rule_number: i32,
    /// `-1` all, `6` TCP, `17` UDP.
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    /// Egress rule.
    pub egress: bool,
    /// IPv4 CIDR.
    pub cidr_block: Option<String>,
    /// IPv6 CIDR.
    pub ipv6_cidr_block: Option<String>,
    /// First port.
    pub from_port: Option<i32>,
    /// Last port.
    pub to_port: Option<i32>,
}

/// A VPC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vpc {
    /// `vpc-...`.
    pub id: String,
    /// The region's default VPC.
    pub is_default: bool,
}

/// A flow log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlowLog {
    /// `fl-...`.
    pub id: String,
    /// The VPC, subnet or ENI it covers.
    pub resource_id: String,
    /// `ACCEPT`, `REJECT`, `ALL`.
    pub traffic_type: String,
    /// `ACTIVE` when delivering.
    pub status: String,
}

/// An EC2 instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Instance {
    /// `i-...`.
    pub id: String,
    /// `running`, `stopped`, ...
    pub state: String,
    /// `MetadataOptions.HttpTokens`: `required` or `optional`.
    pub http_tokens: Option<String>,
    /// `MetadataOptions.HttpEndpoint`: `enabled` or `disabled`.
    pub http_endpoint: Option<String>,
    /// `IamInstanceProfile.Arn`, `None` when the instance has no role.
    pub iam_instance_profile: Option<String>,
    /// `PublicIpAddress`, `None` when it has none.
    pub public_ip: Option<String>,
    /// Whether `public_ip` was collected (false in inventories from before
    /// it was: then `None` says nothing).
    pub public_ip_collected: bool,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

/// A KMS key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KmsKey {
    /// Key id.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, ...
    pub key_spec: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// `GetKeyRotationStatus` (None: not applicable or not readable).
    pub rotation_enabled: Option<bool>,
}

/// AWS Config in a region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigRegion {
    /// Recorders with their status.
    pub recorders: Vec<ConfigRecorder>,
    /// Number of delivery channels.
    pub delivery_channels: u32,
    /// Config rules with their compliance.
    pub rules: super::Collected<Vec<ConfigRule>>,
    /// Conformance packs with their compliance.
    pub conformance_packs: super::Collected<Vec<ConformancePack>>,
}

/// An AWS Config rule (`DescribeConfigRules`, `DescribeComplianceByConfigRule`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigRule {
    /// `ConfigRuleName`.
    pub name: String,
    /// `Source.SourceIdentifier` (the managed rule, e.g. `IAM_PASSWORD_POLICY`).
    pub source_identifier: Option<String>,
    /// `COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE`, `INSUFFICIENT_DATA`;
    /// `None` when AWS Config has not evaluated it.
    pub compliance: Option<String>,
}

/// An AWS Config conformance pack (`DescribeConformancePacks`,
/// `GetConformancePackComplianceSummary`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConformancePack {
    /// `ConformancePackName`.
    pub name: String,
    /// `COMPLIANT`, `NON_COMPLIANT`, `INSUFFICIENT_DATA`; `None` when not reported.
    pub compliance: Option<String>,
}

/// A Security Hub standard subscription (`GetEnabledStandards`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnabledStandard {
    /// `StandardsArn`.
    pub arn: String,
    /// `StandardsStatus`: `READY`, `PENDING`, `INCOMPLETE`, `DELETING`, `FAILED`.
    pub status: String,
}

/// A configuration recorder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigRecorder {
    /// Name.
    pub name: String,
    /// `recordingGroup.allSupported`.
    pub all_supported: bool,
    /// `recordingGroup.includeGlobalResourceTypes`.
    pub include_global_resource_types: bool,
    /// `DescribeConfigurationRecorderStatus.recording`.
    pub recording: bool,
    /// `lastStatus`: `SUCCESS`, `FAILURE`, `PENDING`.
    pub last_status: Option<String>,
}

/// Which security services are enabled in a region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceEnablement {
    /// A GuardDuty detector is enabled.
    pub guardduty: Option<bool>,
    /// Security Hub is enabled.
    pub securityhub: Option<bool>,
    /// Inspector scanning is enabled.
    pub inspector: Option<bool>,
    /// Macie is enabled.
    pub macie: Option<bool>,
    /// An active IAM Access Analyzer exists.
    pub access_analyzer: Option<bool>,
    /// Why a service's status is missing, by service (`guardduty`,
    /// `securityhub`, `inspector`, `macie`, `access_analyzer`).
    pub gaps: std::collections::BTreeMap<String, super::Gap>,
}

/// An RDS DB instance (`DescribeDBInstances`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DbInstance {
    /// `DBInstanceIdentifier`.
    pub id: String,
    /// `DBInstanceArn`.
    pub arn: String,
    /// `Engine`.
    pub engine: String,
    /// `StorageEncrypted`.
    pub storage_encrypted: bool,
    /// `AutoMinorVersionUpgrade`.
    pub auto_minor_version_upgrade: bool,
    /// `PubliclyAccessible`.
    pub publicly_accessible: bool,
    /// `DeletionProtection`. The settings from here on are `None` in
    /// inventories from before they were collected: unknown, not off.
    pub deletion_protection: Option<bool>,
    /// `BackupRetentionPeriod` in days (0: automated backups off).
    pub backup_retention_days: Option<i32>,
    /// `IAMDatabaseAuthenticationEnabled`.
    pub iam_authentication: Option<bool>,
    /// `MultiAZ`.
    pub multi_az: Option<bool>,
    /// `MonitoringInterval` in seconds (0: enhanced monitoring off).
    pub monitoring_interval: Option<i32>,
    /// `CopyTagsToSnapshot`.
    pub copy_tags_to_snapshot: Option<bool>,
    /// `MasterUsername`.
    pub master_username: Option<String>,
    /// `Endpoint.Port`.
    pub port: Option<i32>,
}

/// An EFS file system (`DescribeFileSystems`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileSystem {
    /// `FileSystemId`.
    pub id: String,
    /// `FileSystemArn`.
    pub arn: String,
    /// `Encrypted`.
    pub encrypted: bool,
}
