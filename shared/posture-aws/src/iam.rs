//! The AWS actions this crate calls, declared per adapter beside the code
//! that calls them; the single source of truth for the deployment's IAM
//! policies.
//!
//! Every SDK client the adapters build carries its adapter's [`Adapter`] as
//! an interceptor that refuses, before anything is sent, an operation whose
//! IAM action the adapter does not declare. So a call added to the code
//! without its declaration fails in the moto tests (and in production), and
//! `tests/integration/iam_policies.rs` fails when the declarations and the
//! roles in `template.yaml` and `infra/member-role.yaml` differ.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeSet;

/// The read-only actions of inventory collection, the finding sources and
/// the health probe: all the member role grants (and all the MCP server's
/// role grants in its own account besides its store).
pub const ACTIONS: &[&str] = &[
    "sts:GetCallerIdentity",
    "securityhub:DescribeHub",
    "securityhub:GetFindings",
    "guardduty:ListDetectors",
    "guardduty:GetDetector",
    "guardduty:ListFindings",
    "guardduty:GetFindings",
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:GetAccountSummary",
    "iam:GetAccountPasswordPolicy",
    "iam:ListUsers",
    "iam:ListAttachedUserPolicies",
    "iam:ListUserPolicies",
    "iam:ListGroupsForUser",
    "iam:ListPolicies",
    "iam:GetPolicyVersion",
    "iam:ListEntitiesForPolicy",
    "iam:ListServerCertificates",
    "iam:GetAccountAuthorizationDetails",
    "kms:ListKeys",
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeDeliveryChannels",
    "config:DescribeConfigRules",
    "config:DescribeComplianceByConfigRule",
    "config:GetComplianceDetailsByConfigRule",
    "config:GetResourceConfigHistory",
    "config:ListDiscoveredResources",
    "config:DescribeConformancePacks",
    "config:GetConformancePackComplianceSummary",
    "securityhub:GetEnabledStandards",
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetEncryptionConfiguration",
    "s3:GetBucketVersioning",
    "s3:GetBucketLogging",
    "s3:GetBucketPolicy",
    "s3:GetBucketPolicyStatus",
    "s3:GetBucketAcl",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
    "cloudtrail:LookupEvents",
    "iam:ListVirtualMFADevices",
    "logs:DescribeMetricFilters",
    "cloudwatch:DescribeAlarms",
    "sns:ListSubscriptionsByTopic",
    "ec2:DescribeRegions",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeVpcs",
    "ec2:DescribeFlowLogs",
    "ec2:GetEbsEncryptionByDefault",
    "ec2:DescribeInstances",
    "inspector2:BatchGetAccountStatus",
    "inspector2:ListFindings",
    "macie2:GetMacieSession",
    "macie2:ListFindings",
    "macie2:GetFindings",
    "access-analyzer:ListAnalyzers",
    "access-analyzer:ListFindings",
    "rds:DescribeDBInstances",
    "elasticfilesystem:DescribeFileSystems",
];

/// One adapter's AWS actions. Attached to each client the adapter builds, it
/// refuses any operation outside [`Adapter::actions`].
#[derive(Debug, Clone, Copy)]
pub struct Adapter {
    /// What the adapter is, for the refusal message.
    pub name: &'static str,
    /// The `service:Action` names its calls need.
    pub actions: &'static [&'static str],
}

/// Inventory collection, finding sources, health probe (in member accounts
/// through the assumed role; in the MCP server's own account directly).
pub const READ_ONLY: Adapter = Adapter {
    name: "read-only collection",
    actions: ACTIONS,
};

/// `DynamoSnapshotStore` and `S3ReportStore`: run records, snapshots and
/// the latest pointer (`TransactWriteItems` is authorized as the `PutItem`s
/// it contains), item bodies over 300 KB, report files and their presigned
/// links.
pub const STORE: Adapter = Adapter {
    name: "snapshot and report store",
    actions: &[
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "s3:GetObject",
        "s3:PutObject",
    ],
};

/// `OrganizationsDirectory`: the accounts of the organization.
pub const DIRECTORY: Adapter = Adapter {
    name: "organization directory",
    actions: &[
        "organizations:ListAccounts",
        "organizations:ListRoots",
        "organizations:ListAccountsForParent",
        "organizations:ListOrganizationalUnitsForParent",
    ],
};

/// `LambdaLauncher`: the MCP server starts an org-wide run as an
/// asynchronous invocation of the assessor.
pub const RUN_LAUNCHER: Adapter = Adapter {
    name: "run launcher",
    actions: &["lambda:InvokeFunction"],
};

/// `LambdaCollector`: the assessor invokes the collector per account and
/// reads the collection it wrote.
pub const COLLECTOR_FANOUT: Adapter = Adapter {
    name: "collector fan-out",
    actions: &["lambda:InvokeFunction", "s3:GetObject"],
};

/// `StepFunctionsFanOut`: the assessor hands a large run to the state
/// machine (the account list written beside the run, one execution
/// started) and, when the state machine has it finished, reads the Map's
/// results.
pub const STATE_MACHINE_FANOUT: Adapter = Adapter {
    name: "state machine fan-out",
    actions: &["states:StartExecution", "s3:PutObject", "s3:GetObject"],
};

/// `enter_account`: the member session (through the SDK's AssumeRole
/// credentials provider, whose STS client is its own).
pub const MEMBER_SESSION: Adapter = Adapter {
    name: "member session",
    actions: &["sts:AssumeRole"],
};

/// `handle_collect`: the collector writes an account's collection.
pub const COLLECTION_OUTPUT: Adapter = Adapter {
    name: "collection output",
    actions: &["s3:PutObject"],
};

/// A deployed role and what its function's code needs from it.
#[derive(Debug, Clone, Copy)]
pub struct RoleGrants {
    /// The role: `<template file>#<logical id>`.
    pub role: &'static str,
    /// The adapters the function composes.
    pub adapters: &'static [Adapter],
    /// Actions the Lambda service (not our code) performs with the role:
    /// writing the function's log group, delivering failed async events.
    pub platform: &'static [&'static str],
    /// AWS managed policies the role carries (only the explorer role: its
    /// reads are any List/Read action, more than an inline policy holds).
    pub managed: &'static [&'static str],
}

/// The explorer role's grants: AWS's managed read-only policies.
pub const EXPLORER_MANAGED: &[&str] = &[
    "arn:${AWS::Partition}:iam::aws:policy/SecurityAudit",
    "arn:${AWS::Partition}:iam::aws:policy/job-function/ViewOnlyAccess",
];

/// `aws_read` in the MCP server: entering members' explorer role.
pub const EXPLORER_SESSION: Adapter = Adapter {
    name: "explorer session",
    actions: &["sts:AssumeRole"],
};

const LOGS: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

/// What Step Functions does with the state machine's role (the Distributed
/// Map's item reader, child executions and result writer, and the two
/// Lambda tasks).
const STATE_MACHINE_PLATFORM: &[&str] = &[
    "lambda:InvokeFunction",
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
    "states:StartExecution",
    "states:DescribeExecution",
    "states:StopExecution",
];

/// Every role the deployment creates, with the adapters its code uses.
/// In Lambda the MCP server reads its own account and its store and starts
/// runs (never collects members); the assessor always fans out to the
/// collector function (never assumes member roles itself).
pub const ROLES: &[RoleGrants] = &[
    RoleGrants {
        role: "template.yaml#McpServerRole",
        adapters: &[
            READ_ONLY,
            STORE,
            RUN_LAUNCHER,
            MEMBER_SESSION,
            EXPLORER_SESSION,
            DIRECTORY,
        ],
        platform: LOGS,
        managed: &[],
    },
    RoleGrants {
        role: "template.yaml#AssessorRole",
        adapters: &[DIRECTORY, COLLECTOR_FANOUT, STORE, STATE_MACHINE_FANOUT],
        platform: &["logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"],
        managed: &[],
    },
    RoleGrants {
        // No code of ours runs with it: Step Functions reads the account
        // list, runs the Map's child executions, invokes the collector and
        // the assessor, and writes the Map's results.
        role: "template.yaml#StateMachineRole",
        adapters: &[],
        platform: STATE_MACHINE_PLATFORM,
        managed: &[],
    },
    RoleGrants {
        role: "template.yaml#CollectorRole",
        adapters: &[MEMBER_SESSION, COLLECTION_OUTPUT],
        platform: LOGS,
        managed: &[],
    },
    RoleGrants {
        role: "infra/member-role.yaml#PostureReadOnlyRole",
        adapters: &[READ_ONLY],
        platform: &[],
        managed: &[],
    },
    RoleGrants {
        // aws_read's reads: any List/Read action the explorer policy lets
        // through (checked before signing), granted by AWS's managed
        // read-only policies; its inline policy only denies.
        role: "infra/member-role.yaml#PostureExplorerRole",
        adapters: &[],
        platform: &[],
        managed: EXPLORER_MANAGED,
    },
];

impl RoleGrants {
    /// The actions the role's code calls.
    pub fn called(&self) -> BTreeSet<&'static str> {
        self.adapters.iter().flat_map(|a| a.actions.iter().copied()).collect()
    }
}

/// Every action any adapter declares.
pub fn all_declared() -> BTreeSet<&'static str> {
    ROLES.iter().flat_map(|r| r.called()).collect()
}

/// The IAM service prefix (`ec2`, `s3`) of an SDK service name (`EC2`,
/// `S3 Control`) as its operation [`Metadata`] gives it; `None` for a
/// service no adapter uses.
pub fn iam_prefix(service: &str) -> Option<&'static str> {
    Some(match service {
        "S3" | "S3 Control" => "s3",
        "IAM" => "iam",
        "STS" => "sts",
        "SecurityHub" => "securityhub",
        "GuardDuty" => "guardduty",
        "Config Service" => "config",
        "KMS" => "kms",
        "EC2" => "ec2",
        "RDS" => "rds",
        "EFS" => "elasticfilesystem",
        "CloudTrail" => "cloudtrail",
        "CloudWatch Logs" => "logs",
        "CloudWatch" => "cloudwatch",
        "SNS" => "sns",
        "Inspector2" => "inspector2",
        "Macie2" => "macie2",
        "AccessAnalyzer" => "access-analyzer",
        "Organizations" => "organizations",
        "Lambda" => "lambda",
        "SFN" => "states",
        "DynamoDB" => "dynamodb",
        _ => return None,
    })
}

/// The IAM actions an SDK operation needs: `service` and `operation` as the
/// SDK names them in its operation [`Metadata`]. `None` for a service no
/// adapter uses. Where the IAM action has another name than the operation,
/// the Service Authorization Reference's name is used.
pub fn iam_actions(service: &str, operation: &str, input: Option<&TransactWriteItemsInput>) -> Option<Vec<String>> {
    let prefix = iam_prefix(service)?;
    let renamed = match (service, operation) {
        ("S3", "ListBuckets") => "ListAllMyBuckets",
        ("S3", "GetBucketEncryption") => "GetEncryptionConfiguration",
        ("S3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("S3", "HeadObject") => "GetObject",
        ("S3", "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload") => "PutObject",
        ("S3 Control", "GetPublicAccessBlock") => "GetAccountPublicAccessBlock",
        ("Lambda", "Invoke" | "InvokeAsync") => "InvokeFunction",
        // Both list APIs are authorized as ListFindings (Access Analyzer API reference).
        ("AccessAnalyzer", "ListFindingsV2") => "ListFindings",
        ("DynamoDB", "TransactWriteItems") => {
            // Authorized item by item, as the write each one is.
            let items = input.map(TransactWriteItemsInput::transact_items).unwrap_or_default();
            let mut actions: Vec<String> = items
                .iter()
                .flat_map(|item| {
                    [
                        item.put().map(|_| "dynamodb:PutItem"),
                        item.update().map(|_| "dynamodb:UpdateItem"),
                        item.delete().map(|_| "dynamodb:DeleteItem"),
                        item.condition_check().map(|_| "dynamodb:ConditionCheckItem"),
                    ]
                })
                .flatten()
                .map(str::to_string)
                .collect();
            if actions.is_empty() {
                actions.push("dynamodb:TransactWriteItems".into());
            }
            actions.sort();
            actions.dedup();
            return Some(actions);
        }
        _ => operation,
    };
    Some(vec![format!("{prefix}:{renamed}")])
}

impl Intercept for Adapter {
    fn name(&self) -> &'static str {
        "DeclaredActionsGuard"
    }

    // Not read_before_execution: a client's interceptors run that before the
    // operation's own configuration (its Metadata) is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg
            .load::<Metadata>()
            .ok_or_else(|| format!("{}: an SDK operation without metadata", self.name))?;
        let input = context.input().downcast_ref::<TransactWriteItemsInput>();
        let needed = iam_actions(metadata.service(), metadata.name(), input).ok_or_else(|| {
            format!(
                "{} called {} {}, a service no adapter declares",
                self.name,
                metadata.service(),
                metadata.name()
            )
        })?;
        match needed.iter().find(|a| !self.actions.contains(&a.as_str())) {
            Some(undeclared) => Err(format!(
                "{} called {undeclared}, which it does not declare (posture_aws::iam)",
                self.name
            )
            .into()),
            None => Ok(()),
        }
    }

    // Every attempt (retries too) says which quota bucket it draws from;
    // an entered account's HTTP client waits for it (crate::ratelimit).
    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let action = cfg
            .load::<Metadata>()
            .and_then(|m| iam_actions(m.service(), m.name(), None))
            .and_then(|actions| actions.into_iter().next());
        if let Some(action) = action {
            let region = cfg
                .load::<aws_config::Region>()
                .map(ToString::to_string)
                .unwrap_or_default();
            context
                .request_mut()
                .add_extension(crate::ratelimit::QuotaStamp { action, region });
        }
        Ok(())
    }

    // The guard is on every client, so it also counts every AWS call for
    // the metrics (posture_core::metrics): attempts here, operations below;
    // and tells the attempt's quota bucket whether it was throttled.
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let retry = cfg.load::<RequestAttempts>().is_some_and(|a| a.attempts() > 1);
        let throttled = attempt_throttled(context);
        if let Some(handle) = context
            .response()
            .and_then(|r| r.extension::<crate::ratelimit::QuotaHandle>())
        {
            handle.0.answered(throttled);
        }
        posture_core::metrics::global().aws_attempt(operation_service(cfg), retry, throttled);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let failed = match context.output_or_error() {
            // Refused before sending (an undeclared action, an open
            // circuit): not an AWS call.
            Some(Err(e)) if e.is_interceptor_error() => return Ok(()),
            Some(Ok(_)) => false,
            _ => true,
        };
        posture_core::metrics::global().aws_call(operation_service(cfg), failed);
        Ok(())
    }
}

/// The IAM prefix of the operation in `cfg` (`unknown` when it has none):
/// the service name of the metrics and of the circuit breakers' scopes.
pub(crate) fn operation_service(cfg: &ConfigBag) -> &'static str {
    cfg.load::<Metadata>()
        .and_then(|m| iam_prefix(m.service()))
        .unwrap_or("unknown")
}

/// Whether an attempt was answered with a throttle.
pub(crate) fn attempt_throttled(context: &FinalizerInterceptorContextRef<'_>) -> bool {
    context.response().is_some_and(|r| {
        is_throttle(
            r.status().as_u16(),
            r.headers().get("x-amzn-errortype"),
            r.body().bytes(),
        )
    })
}

/// Error codes AWS answers a throttled request with, in any protocol.
const THROTTLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
];

/// Whether a response is a throttle: 429, or a 400/503 whose error code
/// (the JSON protocols' `x-amzn-ErrorType` header, or the body of the XML
/// and JSON ones) is a throttling code.
pub(crate) fn is_throttle(status: u16, error_type: Option<&str>, body: Option<&[u8]>) -> bool {
    if status == 429 {
        return true;
    }
    if status != 400 && status != 503 {
        return false;
    }
    // The header holds the code, maybe with a namespace (`a.b#Code`) or
    // a `:`-suffix; the body holds it as `<Code>…</Code>` or a JSON field.
    let header_code = error_type.map(|t| {
        let t = t.split(':').next().unwrap_or(t);
        t.rsplit('#').next().unwrap_or(t)
    });
    if header_code.is_some_and(|c| THROTTLE_CODES.contains(&c)) {
        return true;
    }
    let Some(body) = body else {
        return false;
    };
    let body = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    THROTTLE_CODES.iter().any(|code| {
        body.contains(&format!("<Code>{code}</Code>"))
            || body.contains(&format!("#{code}\""))
            || body.contains(&format!("\"__type\":\"{code}\""))
            || body.contains(&format!("\"code\":\"{code}\""))
            || body.contains(&format!("\"Code\":\"{code}\""))
    })
}

/// A client of SDK crate `$sdk_crate` over `$sdk` (an `&SdkConfig`) that
/// refuses operations `$adapter` does not declare.
#[macro_export]
macro_rules! guarded_client {
    ($($sdk_crate:ident)::+, $sdk:expr, $adapter:expr) => {
        $($sdk_crate)::+::Client::from_conf(
            $($sdk_crate)::+::config::Builder::from($sdk).interceptor($adapter).build(),
        )
    };
    // With an `Option<breaker::Guard>`: the client's calls also pass the
    // circuit breaker of their scope.
    ($($sdk_crate:ident)::+, $sdk:expr, $adapter:expr, $breaker:expr) => {{
        let mut builder = $($sdk_crate)::+::config::Builder::from($sdk).interceptor($adapter);
        if let Some(guard) = $breaker {
            builder = builder.interceptor(guard);
        }
        $($sdk_crate)::+::Client::from_conf(builder.build())
    }};
}

#[cfg(test)]
mod tests {
    use super::{ACTIONS, Adapter, all_declared, iam_actions, is_throttle};

    #[test]
    fn throttles_are_recognized_in_every_protocol_shape() {
        assert!(is_throttle(429, None, None));
        assert!(is_throttle(
            400,
            Some("ThrottlingException:http://internal.amazon.com/"),
            None
        ));
        assert!(is_throttle(
            400,
            None,
            Some(b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>")
        ));
        assert!(is_throttle(
            400,
            None,
            Some(b"{\"__type\":\"com.amazonaws#TooManyRequestsException\"}")
        ));
        assert!(is_throttle(503, None, Some(b"<Error><Code>SlowDown</Code></Error>")));
        assert!(!is_throttle(
            400,
            None,
            Some(b"<Code>AccessDenied</Code><Message>Throttling is not it</Message>")
        ));
        assert!(!is_throttle(403, None, Some(b"<Code>Throttling</Code>")));
        assert!(!is_throttle(500, None, None));
        assert!(!is_throttle(400, Some("ValidationException"), Some(b"{}")));
    }

    /// The sources of every adapter, to find the `service:Action` names
    /// their calls are labelled with.
    const SOURCES: &[(&str, &str)] = &[
        ("collect/mod.rs", include_str!("collect/mod.rs")),
        ("collect/iam.rs", include_str!("collect/iam.rs")),
        ("collect/kms.rs", include_str!("collect/kms.rs")),
        ("collect/config.rs", include_str!("collect/config.rs")),
        ("collect/s3.rs", include_str!("collect/s3.rs")),
        ("collect/cloudtrail.rs", include_str!("collect/cloudtrail.rs")),
        ("collect/ec2.rs", include_str!("collect/ec2.rs")),
        ("collect/services.rs", include_str!("collect/services.rs")),
        ("collect/rds.rs", include_str!("collect/rds.rs")),
        ("collect/efs.rs", include_str!("collect/efs.rs")),
        ("collect/monitoring.rs", include_str!("collect/monitoring.rs")),
        ("trail_events.rs", include_str!("trail_events.rs")),
        // Its SDK clients (STS, EC2 Regions, Organizations) are guarded; its
        // model-driven reads are refused by the explorer policy before signing.
        ("explorer.rs", include_str!("explorer.rs")),
        ("access.rs", include_str!("access.rs")),
        ("collector.rs", include_str!("collector.rs")),
        ("fanout.rs", include_str!("fanout.rs")),
        ("org/mod.rs", include_str!("org/mod.rs")),
        ("org/directory.rs", include_str!("org/directory.rs")),
        ("org/exceptions.rs", include_str!("org/exceptions.rs")),
        ("org/launch.rs", include_str!("org/launch.rs")),
        ("org/settings.rs", include_str!("org/settings.rs")),
        ("org/wiring.rs", include_str!("org/wiring.rs")),
        ("s3.rs", include_str!("s3.rs")),
        ("store/dynamodb.rs", include_str!("store/dynamodb.rs")),
        ("lib.rs", include_str!("lib.rs")),
        ("health.rs", include_str!("health.rs")),
        ("securityhub.rs", include_str!("securityhub.rs")),
        ("guardduty.rs", include_str!("guardduty.rs")),
        ("inspector.rs", include_str!("inspector.rs")),
        ("macie.rs", include_str!("macie.rs")),
        ("access_analyzer.rs", include_str!("access_analyzer.rs")),
        ("config_rules.rs", include_str!("config_rules.rs")),
        ("config_history.rs", include_str!("config_history.rs")),
        ("finding_sources.rs", include_str!("finding_sources.rs")),
        ("config.rs", include_str!("config.rs")),
        (
            "functions/mcp-server/src/lib.rs",
            include_str!("../../../functions/mcp-server/src/lib.rs"),
        ),
        (
            "functions/mcp-server/src/main.rs",
            include_str!("../../../functions/mcp-server/src/main.rs"),
        ),
        (
            "functions/assessor/src/lib.rs",
            include_str!("../../../functions/assessor/src/lib.rs"),
        ),
        (
            "functions/assessor/src/main.rs",
            include_str!("../../../functions/assessor/src/main.rs"),
        ),
        (
            "functions/collector/src/main.rs",
            include_str!("../../../functions/collector/src/main.rs"),
        ),
    ];

    /// Files of this crate that build no SDK client and call no AWS operation.
    const NO_AWS_CALLS: &[&str] = &[
        "breaker.rs",
        "errors.rs",
        "iam.rs",
        "ratelimit.rs",
        "transport.rs",
        "runtime.rs",
        "store/local.rs",
        "store/mod.rs",
    ];

    #[test]
    fn every_called_action_has_its_quota() {
        for role in super::ROLES {
            for action in role.called() {
                assert!(
                    crate::ratelimit::quota_of(action).is_some(),
                    "{action} ({}) is not in ratelimit::QUOTAS",
                    role.role
                );
            }
        }
    }

    /// A new source file is either scanned or declared free of AWS calls, so
    /// the scans below cannot silently miss it.
    #[test]
    fn every_source_file_is_scanned() {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let relative = path.strip_prefix(root).expect("under src");
                    out.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&root, &root, &mut files);
        for file in files {
            assert!(
                SOURCES.iter().any(|(name, _)| *name == file) || NO_AWS_CALLS.contains(&file.as_str()),
                "{file}: add it to SOURCES (or to NO_AWS_CALLS if it calls no AWS operation)"
            );
        }
    }

    /// The runtime guard only covers clients that carry it: product code
    /// builds no SDK client without an adapter.
    #[test]
    fn every_sdk_client_carries_its_adapter() {
        for (file, text) in SOURCES {
            assert!(
                !text.contains("::Client::new("),
                "{file} builds an SDK client without its adapter: use guarded_client!"
            );
            for (at, _) in text.match_indices("::config::Builder::from(") {
                let statement = &text[at..text[at..].find(".build()").map_or(text.len(), |end| at + end)];
                assert!(
                    statement.contains(".interceptor(") && statement.contains("iam::")
                        || statement.contains(".interceptor($adapter)")
                        || statement.contains(".interceptor(adapter)"),
                    "{file}: a client built without an adapter's guard: {statement}"
                );
            }
        }
    }

    /// Static complement of the runtime guard, for paths no test drives:
    /// every `service:Action` an error label names is declared.
    #[test]
    fn every_labelled_call_is_declared() {
        let declared = all_declared();
        for (file, text) in SOURCES {
            for quoted in text.split('"').skip(1).step_by(2) {
                let Some((service, action)) = quoted.split_once(':') else {
                    continue;
                };
                let labelled = !service.is_empty()
                    && service
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && action.starts_with(|c: char| c.is_ascii_uppercase())
                    && action.bytes().all(|b| b.is_ascii_alphanumeric());
                if labelled {
                    assert!(
                        declared.contains(quoted),
                        "{file} calls {quoted}, which no adapter declares"
                    );
                }
            }
        }
    }

    #[test]
    fn operations_map_to_their_iam_actions() {
        let one = |service, op| iam_actions(service, op, None).unwrap();
        assert_eq!(one("S3", "ListBuckets"), ["s3:ListAllMyBuckets"]);
        assert_eq!(one("S3", "GetBucketEncryption"), ["s3:GetEncryptionConfiguration"]);
        assert_eq!(
            one("S3 Control", "GetPublicAccessBlock"),
            ["s3:GetAccountPublicAccessBlock"]
        );
        assert_eq!(one("S3", "GetPublicAccessBlock"), ["s3:GetBucketPublicAccessBlock"]);
        assert_eq!(one("Lambda", "Invoke"), ["lambda:InvokeFunction"]);
        assert_eq!(one("S3", "UploadPart"), ["s3:PutObject"]);
        assert_eq!(
            one("Config Service", "DescribeConfigRules"),
            ["config:DescribeConfigRules"]
        );
        assert_eq!(
            one("EFS", "DescribeFileSystems"),
            ["elasticfilesystem:DescribeFileSystems"]
        );
        assert_eq!(
            one("AccessAnalyzer", "ListAnalyzers"),
            ["access-analyzer:ListAnalyzers"]
        );
        assert_eq!(
            one("AccessAnalyzer", "ListFindingsV2"),
            ["access-analyzer:ListFindings"]
        );
        assert_eq!(iam_actions("Glacier", "ListVaults", None), None);
    }

    #[test]
    fn a_transaction_needs_the_action_of_each_item() {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
        use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
        let put = Put::builder()
            .table_name("t")
            .item("pk", AttributeValue::S("a".into()))
            .build()
            .unwrap();
        let delete = Delete::builder()
            .table_name("t")
            .key("pk", AttributeValue::S("b".into()))
            .build()
            .unwrap();
        let input = TransactWriteItemsInput::builder()
            .transact_items(TransactWriteItem::builder().put(put.clone()).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .build()
            .unwrap();
        assert_eq!(
            iam_actions("DynamoDB", "TransactWriteItems", Some(&input)).unwrap(),
            ["dynamodb:PutItem"]
        );
        let input = TransactWriteItemsInput::builder()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .build()
            .unwrap();
        assert_eq!(
            iam_actions("DynamoDB", "TransactWriteItems", Some(&input)).unwrap(),
            ["dynamodb:DeleteItem"]
        );
    }

    fn offline_sdk() -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new("AKIDTEST", "test-secret", None, None, "test"),
            ))
            .build()
    }

    #[tokio::test]
    async fn the_guard_refuses_an_undeclared_call_before_sending_it() {
        const READS_OBJECTS: Adapter = Adapter {
            name: "object reader",
            actions: &["s3:GetObject"],
        };
        let s3 = crate::guarded_client!(aws_sdk_s3, &offline_sdk(), READS_OBJECTS);
        let err = s3.delete_object().bucket("b").key("k").send().await.unwrap_err();
        let text = format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&err));
        assert!(
            text.contains("object reader called s3:DeleteObject, which it does not declare"),
            "{text}"
        );
        // A declared call passes the guard and fails only on the closed port.
        let err = s3.get_object().bucket("b").key("k").send().await.unwrap_err();
        let text = format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&err));
        assert!(!text.contains("does not declare"), "{text}");
        assert!(text.contains("dispatch failure"), "{text}");
    }

    #[test]
    fn every_member_action_is_read_only() {
        for action in ACTIONS {
            let (service, name) = action.split_once(':').unwrap();
            assert!(!service.is_empty());
            // GenerateCredentialReport only asks IAM to build the read-only
            // report; IAM classes it as a Read action, as it does
            // cloudtrail:LookupEvents (reading event history).
            assert!(
                ["Get", "List", "Describe", "BatchGet"]
                    .iter()
                    .any(|p| name.starts_with(p))
                    || ["iam:GenerateCredentialReport", "cloudtrail:LookupEvents"].contains(action),
                "{action} is not a read-only action"
            );
        }
    }
}
