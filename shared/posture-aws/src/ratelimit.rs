//! Client-side token buckets at AWS's published API rate quotas, so reads
//! stay under them instead of provoking throttling that the SDK would then
//! have to retry.
//!
//! - [`QUOTAS`] is the table: every action the product calls, the family
//!   of operations that share one quota, its rate and burst, and the AWS
//!   page it comes from (or why the figure is a conservative default).
//! - One bucket per (account, Region, family), shared by every task of the
//!   process ([`bucket`]). The guard interceptor stamps each request with
//!   its action and Region ([`QuotaStamp`]); the HTTP client of an account
//!   (`transport::for_account`) waits for the bucket before every attempt,
//!   retries included, so no client, section or source can bypass it.
//! - Adaptive: a throttled attempt halves the bucket's rate (down to a
//!   sixteenth); each answered attempt gives back a sixteenth of the quota.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// An API rate quota: sustained requests per second, and the burst allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiQuota {
    /// Requests per second.
    pub per_second: f64,
    /// Requests allowed at once.
    pub burst: u32,
}

/// Operations that share one quota (a bucket per account and Region, or
/// per account where AWS counts the quota account-wide).
#[derive(Debug, Clone, Copy)]
pub struct OperationQuota {
    /// The bucket's name, e.g. `securityhub:GetFindings`.
    pub family: &'static str,
    /// The IAM actions (`service:Action`) it covers.
    pub actions: &'static [&'static str],
    /// The quota.
    pub quota: ApiQuota,
    /// Whether AWS counts it per Region (else per account: global services,
    /// and quotas whose scope AWS does not state).
    pub per_region: bool,
    /// False where AWS publishes no rate and the figure is a conservative
    /// default.
    pub published: bool,
    /// Where the figure comes from.
    pub source: &'static str,
}

const fn q(per_second: f64, burst: u32) -> ApiQuota {
    ApiQuota { per_second, burst }
}

/// AWS publishes no rate: 5 requests per second, no burst above 5. Low
/// enough that a collection is never the reason a service throttles, and
/// the adaptive back-off covers the rest.
pub const CONSERVATIVE: ApiQuota = q(5.0, 5);

/// Security Hub `GetFindings`: 3 requests per second, burst 6.
pub const SECURITY_HUB_GET_FINDINGS: ApiQuota = q(3.0, 6);

/// The quota of every action the product calls (a test holds that every
/// declared action of `posture_aws::iam` is here exactly once). Sources
/// were read on 2026-12-06; where AWS states no scope, the bucket is per
/// account, the narrower choice.
pub const QUOTAS: &[OperationQuota] = &[
    OperationQuota {
        family: "securityhub:GetFindings",
        actions: &["securityhub:GetFindings"],
        quota: SECURITY_HUB_GET_FINDINGS,
        per_region: true,
        published: true,
        source: "Security Hub API Reference, Welcome (GetFindings: RateLimit 3 requests per second, BurstLimit 6); \
                 https://docs.aws.amazon.com/securityhub/1.0/APIReference/Welcome.html",
    },
    OperationQuota {
        family: "securityhub:other",
        actions: &["securityhub:DescribeHub", "securityhub:GetEnabledStandards"],
        quota: q(10.0, 30),
        per_region: true,
        published: true,
        source: "Security Hub API Reference, Welcome (all other operations: RateLimit 10 requests per second, BurstLimit 30)",
    },
    OperationQuota {
        family: "guardduty",
        actions: &[
            "guardduty:ListDetectors",
            "guardduty:GetDetector",
            "guardduty:ListFindings",
            "guardduty:GetFindings",
        ],
        quota: q(10.0, 10),
        per_region: true,
        published: false,
        source: "none published: the GuardDuty quotas page lists resources only \
                 (https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_limits.html); 10 per second, no burst",
    },
    OperationQuota {
        family: "cloudtrail:LookupEvents",
        actions: &["cloudtrail:LookupEvents"],
        quota: q(2.0, 2),
        per_region: true,
        published: true,
        source: "CloudTrail API Reference, LookupEvents (limited to two per second, per account, per Region); \
                 https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html",
    },
    OperationQuota {
        family: "cloudtrail:read",
        actions: &[
            "cloudtrail:DescribeTrails",
            "cloudtrail:GetTrailStatus",
            "cloudtrail:GetEventSelectors",
        ],
        quota: q(10.0, 10),
        per_region: false,
        published: true,
        source: "CloudTrail User Guide, Limits (get, describe and list APIs: 10 transactions per second, per account; \
                 the current page moved the per-API table to the General Reference, ct.html)",
    },
    OperationQuota {
        family: "logs:DescribeMetricFilters",
        actions: &["logs:DescribeMetricFilters"],
        quota: CONSERVATIVE,
        per_region: true,
        published: false,
        source: "none published: the CloudWatch Logs quotas page lists no rate for DescribeMetricFilters",
    },
    OperationQuota {
        family: "cloudwatch:DescribeAlarms",
        actions: &["cloudwatch:DescribeAlarms"],
        quota: q(9.0, 9),
        per_region: true,
        published: true,
        source: "CloudWatch User Guide, CloudWatch service quotas (DescribeAlarms: 9 transactions per second); \
                 https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html",
    },
    OperationQuota {
        family: "sns:ListSubscriptionsByTopic",
        actions: &["sns:ListSubscriptionsByTopic"],
        quota: q(30.0, 30),
        per_region: true,
        published: true,
        source: "SNS API Reference, ListSubscriptionsByTopic (throttled at 30 transactions per second); \
                 https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html",
    },
    OperationQuota {
        family: "ec2:describe",
        actions: &[
            "ec2:DescribeRegions",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeVpcs",
            "ec2:DescribeFlowLogs",
            "ec2:GetEbsEncryptionByDefault",
            "ec2:DescribeInstances",
        ],
        quota: q(10.0, 50),
        per_region: true,
        published: true,
        source: "EC2 API Reference, Request throttling (non-mutating actions: bucket 100, refill 20 per second; \
                 DescribeInstances and DescribeSecurityGroups unfiltered and unpaginated: bucket 50, refill 10; \
                 the lower kept for all); https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html",
    },
    OperationQuota {
        family: "iam",
        actions: &[
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
            "iam:ListVirtualMFADevices",
        ],
        quota: q(10.0, 10),
        per_region: false,
        published: false,
        source: "none published: IAM and AWS STS quotas lists object counts and sizes; AWS says rate quotas exist \
                 per account and cannot be raised (re:Post, iam-sts-throttling-error); 10 per second",
    },
    OperationQuota {
        family: "sts",
        actions: &["sts:GetCallerIdentity", "sts:AssumeRole"],
        quota: q(10.0, 10),
        per_region: false,
        published: false,
        source: "none published (IAM and AWS STS quotas gives no request rate): 10 per second per account",
    },
    OperationQuota {
        family: "kms:ListKeys",
        actions: &["kms:ListKeys"],
        quota: q(500.0, 500),
        per_region: true,
        published: true,
        source: "KMS Developer Guide, Request quotas (ListKeys request rate: 500 per second, per account and Region); \
                 https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html",
    },
    OperationQuota {
        family: "kms:DescribeKey",
        actions: &["kms:DescribeKey"],
        quota: q(2000.0, 2000),
        per_region: true,
        published: true,
        source: "KMS Developer Guide, Request quotas (DescribeKey request rate: 2,000 per second)",
    },
    OperationQuota {
        family: "kms:GetKeyRotationStatus",
        actions: &["kms:GetKeyRotationStatus"],
        quota: q(1000.0, 1000),
        per_region: true,
        published: true,
        source: "KMS Developer Guide, Request quotas (GetKeyRotationStatus request rate: 1,000 per second)",
    },
    OperationQuota {
        family: "config",
        actions: &[
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
        ],
        quota: CONSERVATIVE,
        per_region: true,
        published: false,
        source: "none published: AWS Config Service Limits lists resource quotas only (configlimits.html)",
    },
    OperationQuota {
        family: "s3:bucket-config",
        actions: &[
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
        ],
        quota: q(50.0, 50),
        per_region: true,
        published: false,
        source: "none published for bucket configuration reads (S3 states object rates per prefix only): \
                 50 per second, a hundredth of the object GET rate",
    },
    OperationQuota {
        family: "s3:objects",
        actions: &["s3:GetObject", "s3:PutObject"],
        quota: q(3500.0, 3500),
        per_region: true,
        published: true,
        source: "S3 User Guide, Optimizing performance (at least 3,500 PUT and 5,500 GET per second per prefix; \
                 the lower kept); https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html",
    },
    OperationQuota {
        family: "inspector2",
        actions: &["inspector2:BatchGetAccountStatus", "inspector2:ListFindings"],
        quota: CONSERVATIVE,
        per_region: true,
        published: false,
        source: "none published: the Inspector API reference documents ThrottlingException without a rate",
    },
    OperationQuota {
        family: "macie2",
        actions: &["macie2:GetMacieSession", "macie2:ListFindings", "macie2:GetFindings"],
        quota: CONSERVATIVE,
        per_region: true,
        published: false,
        source: "none published: Macie quotas lists resources and operation sizes only",
    },
    OperationQuota {
        family: "access-analyzer",
        actions: &["access-analyzer:ListAnalyzers", "access-analyzer:ListFindings"],
        quota: CONSERVATIVE,
        per_region: true,
        published: false,
        source: "none published: IAM Access Analyzer quotas lists resources only",
    },
    OperationQuota {
        family: "rds",
        actions: &["rds:DescribeDBInstances"],
        quota: q(12.0, 300),
        per_region: true,
        published: true,
        source: "RDS User Guide, Request throttling for the Amazon RDS API (a burst of 300 and a sustained 12 requests \
                 per second, per account and Region); https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-api-throttling.html",
    },
    OperationQuota {
        family: "elasticfilesystem",
        actions: &["elasticfilesystem:DescribeFileSystems"],
        quota: CONSERVATIVE,
        per_region: true,
        published: false,
        source: "none published: EFS throttles per account and Region at a rate that 'can vary across Regions'",
    },
    OperationQuota {
        family: "organizations",
        actions: &[
            "organizations:ListAccounts",
            "organizations:ListRoots",
            "organizations:ListAccountsForParent",
            "organizations:ListOrganizationalUnitsForParent",
        ],
        quota: CONSERVATIVE,
        per_region: false,
        published: false,
        source: "none published: Organizations quotas gives entity counts; TooManyRequestsException without a rate",
    },
    OperationQuota {
        family: "lambda:InvokeFunction",
        actions: &["lambda:InvokeFunction"],
        quota: q(100.0, 100),
        per_region: true,
        published: true,
        source: "Lambda quotas (invocation requests per Region: 10 x the concurrent executions quota, 1,000 by default); \
                 100 per second kept well under it",
    },
    OperationQuota {
        family: "states:StartExecution",
        actions: &["states:StartExecution"],
        quota: q(150.0, 800),
        per_region: true,
        published: true,
        source: "Step Functions service quotas (API action throttling, StartExecution, Standard: \
                 burst 800, refill 150 per second; 1,300 and 300 in us-east-1, us-west-2, eu-west-1)",
    },
    OperationQuota {
        family: "dynamodb",
        actions: &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:TransactWriteItems",
        ],
        quota: q(1000.0, 1000),
        per_region: true,
        published: true,
        source: "DynamoDB quotas are throughput per table (a new on-demand table: 4,000 write and 12,000 read request \
                 units at once); 1,000 requests per second kept under them",
    },
];

/// The quota of `action` (`service:Action`), or `None` when the table
/// has no entry for it (a test keeps every called action in the table).
pub fn quota_of(action: &str) -> Option<&'static OperationQuota> {
    QUOTAS.iter().find(|q| q.actions.contains(&action))
}

/// The bucket of every request whose action is not in the table.
const UNLISTED: OperationQuota = OperationQuota {
    family: "unlisted",
    actions: &[],
    quota: CONSERVATIVE,
    per_region: false,
    published: false,
    source: "not in the quota table",
};

/// The lowest share of its quota a throttled bucket falls to.
const SLOWEST_SHARE: f64 = 1.0 / 16.0;

/// One token bucket (GCRA: a theoretical arrival time advanced by one
/// interval per request; a request may go `burst - 1` intervals early).
#[derive(Debug)]
pub struct Bucket {
    quota: ApiQuota,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    theoretical_arrival: Instant,
    /// Share of the quota in use: 1 until throttled.
    share: f64,
    throttles: u64,
}

/// Share of AWS's rate a bucket uses, and tokens it keeps back from AWS's
/// burst. AWS's bucket starts when our first request arrives, not when it
/// is sent, and latency varies from request to request: running a little
/// slower and a token short keeps the two buckets in step (without the
/// margin the fake AWS of `bench/run` throttled one request in twelve).
const RATE_MARGIN: f64 = 0.9;
const BURST_MARGIN: u32 = 1;

impl Bucket {
    /// A full bucket, a margin inside `quota`.
    pub fn new(quota: ApiQuota) -> Bucket {
        let quota = ApiQuota {
            per_second: quota.per_second * RATE_MARGIN,
            burst: quota.burst.saturating_sub(BURST_MARGIN).max(1),
        };
        Bucket {
            quota,
            state: Mutex::new(BucketState {
                theoretical_arrival: Instant::now(),
                share: 1.0,
                throttles: 0,
            }),
        }
    }

    /// Takes a token: how long to wait before sending. Tokens are handed
    /// out in order, so concurrent callers queue fairly.
    pub fn reserve(&self, now: Instant) -> Duration {
        let Ok(mut state) = self.state.lock() else {
            return Duration::ZERO;
        };
        let rate = (self.quota.per_second * state.share).max(f64::MIN_POSITIVE);
        let interval = Duration::from_secs_f64(1.0 / rate);
        // A throttled bucket gives up its burst until it has recovered.
        let early = if state.share < 1.0 {
            Duration::ZERO
        } else {
            interval * self.quota.burst.saturating_sub(1)
        };
        let arrival = state.theoretical_arrival.max(now);
        let wait = arrival
            .checked_sub(early)
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now));
        state.theoretical_arrival = arrival + interval;
        wait
    }

    /// What an attempt's answer says about the rate: a throttle halves it,
    /// anything else restores a sixteenth of the quota.
    pub fn answered(&self, throttled: bool) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if throttled {
            state.share = (state.share / 2.0).max(SLOWEST_SHARE);
            state.throttles += 1;
        } else {
            state.share = (state.share + SLOWEST_SHARE).min(1.0);
        }
    }

    /// The share of the quota in use (1 when never throttled or recovered).
    pub fn share(&self) -> f64 {
        self.state.lock().map_or(1.0, |s| s.share)
    }

    /// Throttled answers seen so far.
    pub fn throttles(&self) -> u64 {
        self.state.lock().map_or(0, |s| s.throttles)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BucketKey {
    account: Arc<str>,
    region: String,
    family: &'static str,
}

/// Buckets kept before idle ones are dropped (one organization run holds
/// accounts × Regions × families of them).
const BUCKETS_KEPT: usize = 50_000;

static BUCKETS: LazyLock<Mutex<HashMap<BucketKey, Arc<Bucket>>>> = LazyLock::new(Default::default);

/// The process's bucket for `action` in `account` and `region`.
pub fn bucket(account: &str, region: &str, action: &str) -> Arc<Bucket> {
    let entry = quota_of(action).unwrap_or(&UNLISTED);
    let key = BucketKey {
        account: Arc::from(account),
        region: if entry.per_region {
            region.to_string()
        } else {
            String::new()
        },
        family: entry.family,
    };
    let Ok(mut buckets) = BUCKETS.lock() else {
        return Arc::new(Bucket::new(entry.quota));
    };
    if buckets.len() >= BUCKETS_KEPT {
        // A bucket nobody holds and whose tokens are all back is as good as new.
        let now = Instant::now();
        buckets.retain(|_, b| {
            Arc::strong_count(b) > 1
                || b.state
                    .lock()
                    .is_ok_and(|s| s.theoretical_arrival > now || s.share < 1.0)
        });
    }
    buckets
        .entry(key)
        .or_insert_with(|| Arc::new(Bucket::new(entry.quota)))
        .clone()
}

/// What the guard interceptor stamps on a request: its action and Region,
/// which choose its bucket.
#[derive(Debug, Clone)]
pub struct QuotaStamp {
    /// `service:Action`.
    pub action: String,
    /// The client's Region.
    pub region: String,
}

/// The bucket a response's attempt went through, for the guard to report
/// whether it was throttled.
#[derive(Debug, Clone)]
pub struct QuotaHandle(pub Arc<Bucket>);

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests granted within `horizon` when `n` ask at once.
    fn granted_within(quota: ApiQuota, n: usize, horizon: Duration) -> usize {
        let bucket = Bucket::new(quota);
        let now = Instant::now();
        (0..n).filter(|_| bucket.reserve(now) <= horizon).count()
    }

    #[test]
    fn a_bucket_stays_a_margin_inside_its_quota() {
        for entry in QUOTAS {
            let quota = entry.quota;
            let burst = quota.burst as usize;
            let at_once = granted_within(quota, burst * 3, Duration::ZERO);
            assert_eq!(at_once, (burst - 1).max(1), "{}", entry.family);
            // Ten seconds on: the burst plus ten seconds' worth, never more than AWS allows.
            let got = granted_within(quota, burst * 3 + 30_000, Duration::from_secs(10));
            let aws_allows = burst + (quota.per_second * 10.0) as usize;
            assert!(
                got <= aws_allows,
                "{}: {got} in 10 s, AWS allows {aws_allows}",
                entry.family
            );
            assert!(got as f64 >= aws_allows as f64 * 0.8, "{}: {got} in 10 s", entry.family);
        }
    }

    #[test]
    fn throttles_halve_the_rate_and_answers_restore_it() {
        let bucket = Bucket::new(SECURITY_HUB_GET_FINDINGS);
        for _ in 0..10 {
            bucket.answered(true);
        }
        assert_eq!(bucket.share(), SLOWEST_SHARE);
        assert_eq!(bucket.throttles(), 10);
        // At a sixteenth of 3 per second, no burst: one now, the next in 16/3 s.
        let now = Instant::now();
        assert_eq!(bucket.reserve(now), Duration::ZERO);
        let next = bucket.reserve(now);
        assert!(
            next > Duration::from_secs(5) && next < Duration::from_secs(6),
            "{next:?}"
        );
        for _ in 0..15 {
            bucket.answered(false);
        }
        assert_eq!(bucket.share(), 1.0);
    }

    #[test]
    fn buckets_are_per_account_region_and_family() {
        let a = bucket("111111111111", "us-east-1", "guardduty:ListFindings");
        let same_family = bucket("111111111111", "us-east-1", "guardduty:GetFindings");
        let other_region = bucket("111111111111", "eu-west-1", "guardduty:GetFindings");
        let other_account = bucket("222222222222", "us-east-1", "guardduty:GetFindings");
        assert!(Arc::ptr_eq(&a, &same_family));
        assert!(!Arc::ptr_eq(&a, &other_region));
        assert!(!Arc::ptr_eq(&a, &other_account));
        // IAM is global: one bucket per account whatever the client's Region.
        let iam_east = bucket("111111111111", "us-east-1", "iam:ListUsers");
        let iam_west = bucket("111111111111", "eu-west-1", "iam:GetAccountSummary");
        assert!(Arc::ptr_eq(&iam_east, &iam_west));
    }

    #[test]
    fn every_figure_says_where_it_comes_from_and_unpublished_ones_stay_low() {
        for entry in QUOTAS {
            assert!(!entry.source.is_empty(), "{}", entry.family);
            if !entry.published {
                assert!(
                    entry.source.starts_with("none published"),
                    "{}: {}",
                    entry.family,
                    entry.source
                );
                assert!(
                    entry.quota.per_second <= 50.0,
                    "{}: a default is conservative",
                    entry.family
                );
            }
        }
    }

    #[test]
    fn every_family_is_named_once_and_every_action_once() {
        let mut families: Vec<_> = QUOTAS.iter().map(|q| q.family).collect();
        families.sort_unstable();
        let total = families.len();
        families.dedup();
        assert_eq!(families.len(), total, "a family named twice");
        let mut actions: Vec<_> = QUOTAS.iter().flat_map(|q| q.actions.iter().copied()).collect();
        actions.sort_unstable();
        let total = actions.len();
        actions.dedup();
        assert_eq!(actions.len(), total, "an action in two families");
    }
}
