//! The cross-account collector: assume the member role (ExternalId, a session
//! name carrying the run id, a short session), collect the inventory and the
//! findings in each region, and say what could not be read.
//!
//! Two ways to run it, behind the one `AccountCollector` port: in-process
//! ([`InProcessCollector`], local mode and small organizations) and as a
//! Lambda invocation per account ([`LambdaCollector`]), where the collector
//! function writes the inventory to S3 under a run-scoped key and returns a
//! [`CollectSummary`].

use crate::collect::LiveInventory;
use crate::errors::sanitize;
use crate::finding_sources::SourceKind;
use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use posture_core::findings::spool::FindingSpool;
use posture_core::ports::InventorySource;
use posture_core::ports::{AccountCollector, CollectError, CollectedAccount, LiveCollector, SpooledCollection};
use posture_core::severity::Severity;
use posture_core::sources::{FindingQuery, SourceGap, ThrottledRead, spool_failed};
use posture_core::time::TimeWindow;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Findings an account's collection keeps at most (the newest), unless
/// `POSTURE_MAX_FINDINGS_PER_ACCOUNT` says otherwise; more is reported as a
/// gap. A collection holds its findings in memory, about 3.2 KB each
/// (`bench/run`: 100,000 findings, 316 MB peak), and the collector function
/// serializes them whole (1.5 KB each): 150,000 is what its 1 GB holds
/// with room to spare.
pub const MAX_FINDINGS_PER_ACCOUNT: usize = 150_000;
pub use posture_core::org::served::FINDINGS_WINDOW_DAYS;
/// Assumed-role sessions last this long (the STS minimum; the SDK provider
/// renews them if a collection runs longer).
pub const SESSION_LENGTH: Duration = Duration::from_secs(900);

/// Attempts at `sts:AssumeRole` before an account's collection fails.
pub const ASSUME_ROLE_ATTEMPTS: u32 = 8;

/// How to enter member accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSettings {
    /// Role name in each member account, or a full ARN with `{account_id}`.
    pub role: String,
    /// ExternalId the role's trust policy requires.
    pub external_id: Option<String>,
    /// Regions to collect (`None`: the account's enabled regions).
    pub regions: Option<Vec<String>>,
    /// `aws`, `aws-us-gov`, `aws-cn`.
    pub partition: String,
    /// Findings an account's collection keeps at most.
    pub max_findings_per_account: usize,
}

impl RoleSettings {
    /// The role ARN in `account_id`.
    pub fn role_arn(&self, account_id: &str) -> String {
        if self.role.starts_with("arn:") {
            self.role.replace("{account_id}", account_id)
        } else {
            format!("arn:{}:iam::{account_id}:role/{}", self.partition, self.role)
        }
    }
}

/// The collector function's input event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectRequest {
    /// The run.
    pub run_id: String,
    /// The member account.
    pub account_id: String,
    /// Role name or ARN.
    pub role: String,
    /// ExternalId.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Regions (`None`: enabled regions).
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Findings the collection keeps at most (`None`: [`MAX_FINDINGS_PER_ACCOUNT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_findings_per_account: Option<usize>,
}

/// What one collection produced, small enough for a Lambda response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectSummary {
    /// The run.
    pub run_id: String,
    /// The account.
    pub account_id: String,
    /// Set when the account could not be entered (the role was refused):
    /// the account is a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    /// Where the inventory and findings were written (`s3://bucket/key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_uri: Option<String>,
    /// Regions collected.
    pub regions: Vec<String>,
    /// Findings read.
    pub findings: usize,
    /// What could not be read, as `section: kind: detail`.
    pub gaps: Vec<String>,
    /// Finding reads AWS throttled and the retries completed, as
    /// `region service: N attempts throttled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttled: Vec<String>,
}

/// A valid STS session name carrying the run id (at most 64 of `[\w+=,.@-]`).
pub fn session_name(run_id: &str) -> String {
    let clean: String = format!("posture-{run_id}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .collect();
    clean.chars().take(64).collect()
}

/// Assumes the role in `account_id` and returns a configuration using it.
/// A refusal (AccessDenied and the like) is `Unreachable`; anything else is
/// `Failed`. The role is assumed once here; the configuration reuses those
/// credentials until they near expiry, then renews them.
pub async fn enter_account(
    base: &SdkConfig,
    roles: &RoleSettings,
    run_id: &str,
    account_id: &str,
) -> Result<SdkConfig, CollectError> {
    // Entering the account is the gate to all of its data, and every
    // collector of a run asks STS at once: a throttled AssumeRole gets twice
    // the retries of other calls before the run gives up on it.
    let sts = base
        .to_builder()
        .retry_config(crate::config::retry_config().with_max_attempts(ASSUME_ROLE_ATTEMPTS))
        .build();
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(roles.role_arn(account_id))
        .session_name(session_name(run_id))
        .session_length(SESSION_LENGTH)
        .configure(&sts);
    if let Some(external_id) = &roles.external_id {
        builder = builder.external_id(external_id);
    }
    let provider = builder.build().await;
    // Assume now, so a refused role is known before any collection starts.
    let first = match provider.provide_credentials().await {
        Ok(credentials) => credentials,
        Err(e) => {
            let (code, text) = assume_role_error(&e);
            let refused = [
                "AccessDenied",
                "InvalidClientTokenId",
                "ExpiredToken",
                "RegionDisabledException",
            ]
            .contains(&code.as_str());
            let message = format!("sts:AssumeRole {}: {code}: {text}", roles.role_arn(account_id));
            return Err(if refused {
                CollectError::Unreachable(message)
            } else {
                CollectError::Failed(message)
            });
        }
    };
    let primed = PrimedCredentials {
        first: std::sync::Mutex::new(Some(first)),
        renew: provider,
    };
    let entered = base
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(primed))
        .build();
    // The member's calls draw on the member's quota buckets, whoever else
    // in this process is reading it.
    Ok(crate::transport::for_account(&entered, account_id))
}

/// The code and message of a failed AssumeRole, read from the STS error
/// when the provider passes it on, else the sanitized error text.
fn assume_role_error(e: &aws_credential_types::provider::error::CredentialsError) -> (String, String) {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_runtime_api::client::result::SdkError;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(sdk) = err.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            let info = crate::errors::classify("STS", sdk);
            return match sdk.as_service_error() {
                Some(se) => (
                    se.code().unwrap_or("Unknown").to_string(),
                    sanitize(se.message().unwrap_or("")),
                ),
                None => (format!("{:?}", info.kind), info.message),
            };
        }
        source = err.source();
    }
    let text = sanitize(&aws_smithy_types::error::display::DisplayErrorContext(e).to_string());
    let code = [
        "AccessDenied",
        "InvalidClientTokenId",
        "ExpiredToken",
        "RegionDisabledException",
    ]
    .into_iter()
    .find(|c| text.contains(c))
    .unwrap_or("Unknown");
    (code.to_string(), text)
}

/// Hands out the credentials the up-front check obtained, then renews from
/// the role provider (the SDK's identity cache asks again near expiry).
#[derive(Debug)]
struct PrimedCredentials {
    first: std::sync::Mutex<Option<aws_credential_types::Credentials>>,
    renew: aws_config::sts::AssumeRoleProvider,
}

impl ProvideCredentials for PrimedCredentials {
    fn provide_credentials<'a>(&'a self) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().map(|mut f| f.take()).unwrap_or_default();
        match first {
            Some(credentials) => aws_credential_types::provider::future::ProvideCredentials::ready(Ok(credentials)),
            None => self.renew.provide_credentials(),
        }
    }
}

/// Collects one account with credentials already in `sdk`: its inventory,
/// then every active finding of the last 90 days in every region (at most
/// `max_findings_per_account`, the newest; more is a gap), the findings
/// left spooled (compressed) as they were read.
pub async fn collect_spooled(
    sdk: &SdkConfig,
    regions: Option<Vec<String>>,
    max_findings_per_account: usize,
) -> Result<CollectedAccount<FindingSpool>, CollectError> {
    // The Regions first, so the findings need not wait for the inventory:
    // both are read at once, each within its own quota buckets.
    let regions = match regions {
        Some(regions) => regions,
        None => crate::collect::ec2::enabled_regions(&crate::guarded_client!(aws_sdk_ec2, sdk, crate::iam::READ_ONLY))
            .await
            .map_err(|e| CollectError::Failed(format!("inventory: {e}")))?,
    };
    let live = LiveInventory {
        sdk: sdk.clone(),
        regions: Some(regions.clone()),
        // Per-account collections run once each: a breaker would see at
        // most one failure per scope (a failed call ends its section).
        breakers: None,
    };
    let (inventories, read) = tokio::join!(
        live.inventories(),
        collect_findings(
            sdk,
            &regions,
            &SourceKind::ALL,
            jiff::Timestamp::now(),
            max_findings_per_account
        )
    );
    let mut inventories = inventories.map_err(|e| CollectError::Failed(format!("inventory: {e}")))?;
    let inventory = inventories
        .pop()
        .ok_or_else(|| CollectError::Failed("inventory: nothing collected".to_string()))?;
    Ok(CollectedAccount {
        inventory,
        findings: read.findings,
        gaps: read.gaps,
        throttled: read.throttled,
        stored: false,
    })
}

/// Reads every active finding of the last 90 days (from `now`) in `regions`
/// of the account `sdk` is in, from `sources` (a collection reads
/// [`SourceKind::ALL`]): at most `max_findings_per_account`, the newest;
/// what could not be read, or was more than that, is a gap.
pub async fn collect_findings(
    sdk: &SdkConfig,
    regions: &[String],
    sources: &[SourceKind],
    now: jiff::Timestamp,
    max_findings_per_account: usize,
) -> FindingsRead {
    let window = TimeWindow::last_days(now, FINDINGS_WINDOW_DAYS);
    let query = FindingQuery {
        // Open an hour past `now`: a finding updated while the read runs is kept.
        window: TimeWindow {
            end: window.end + jiff::SignedDuration::from_hours(1),
            ..window
        },
        min_severity: Severity::Informational,
        max_findings: max_findings_per_account,
        filter: Default::default(),
    };
    // Every region and source at once: each waits only for its own quota
    // bucket, so the account takes as long as its slowest read.
    let reads = regions.iter().flat_map(|region| {
        let regional = sdk.to_builder().region(aws_config::Region::new(region.clone())).build();
        let query = &query;
        sources.iter().map(move |kind| {
            let source = kind.source(&regional, None);
            async move { (region, source.service(), source.fetch_spooled(query).await) }
        })
    });
    let mut findings = FindingSpool::new();
    let mut gaps = Vec::new();
    let mut throttled = Vec::new();
    for (region, service, read) in futures::future::join_all(reads).await {
        match read {
            Ok(batch) => {
                if batch.throttled_attempts > 0 {
                    throttled.push(ThrottledRead {
                        service: service.to_string(),
                        region: region.clone(),
                        attempts: batch.throttled_attempts,
                    });
                }
                if batch.more_available {
                    gaps.push(SourceGap {
                        service: service.to_string(),
                        region: region.clone(),
                        error: None,
                        detail: format!(
                            "more than {max_findings_per_account} findings (the account's ceiling), the oldest not kept"
                        ),
                    });
                }
                if batch.rejected_total > 0 {
                    tracing::warn!(
                        region = %region,
                        service,
                        rejected = batch.rejected_total,
                        example = batch.rejected.first().map(String::as_str).unwrap_or_default(),
                        "findings that could not be normalized"
                    );
                }
                // Whole compressed chunks move: never two copies.
                if let Err(e) = findings.append(batch.findings) {
                    gaps.push(SourceGap::failed(region, &spool_failed(service, e)));
                }
            }
            Err(e) => gaps.push(SourceGap::failed(region, &e)),
        }
    }
    // The ceiling is the account's: keep its newest findings across
    // regions and sources, and say how many were left out.
    let (findings, left_out) = match findings.keep_newest(max_findings_per_account) {
        Ok(kept) => kept,
        Err(e) => {
            gaps.push(SourceGap::failed("all", &spool_failed("findings", e)));
            (FindingSpool::new(), 0)
        }
    };
    if left_out > 0 {
        gaps.push(SourceGap::findings_left_out(format!(
            "{left_out} more findings than the account's ceiling of {max_findings_per_account}, the oldest not kept"
        )));
    }
    FindingsRead {
        findings,
        gaps,
        throttled,
    }
}

/// An account's findings as [`collect_findings`] read them.
#[derive(Debug, Default)]
pub struct FindingsRead {
    /// Every active finding read, at most the account's ceiling, kept
    /// compressed ([`FindingSpool`]).
    pub findings: FindingSpool,
    /// Reads that failed or were more than the ceiling.
    pub gaps: Vec<SourceGap>,
    /// Reads completed through throttling.
    pub throttled: Vec<ThrottledRead>,
}

/// Collects member accounts in this process.
pub struct InProcessCollector {
    /// The collector's own configuration (the assessor account).
    pub base: SdkConfig,
    /// How to enter members.
    pub roles: RoleSettings,
}

impl InProcessCollector {
    async fn collect_in(
        &self,
        session: &str,
        account_id: &str,
        regions: Option<Vec<String>>,
    ) -> Result<SpooledCollection, CollectError> {
        let sdk = enter_account(&self.base, &self.roles, session, account_id).await?;
        let collected = collect_spooled(&sdk, regions, self.roles.max_findings_per_account).await?;
        if collected.inventory.account_id != account_id {
            return Err(CollectError::Failed(format!(
                "the role in {account_id} answered as account {}",
                collected.inventory.account_id
            )));
        }
        Ok(collected)
    }
}

#[async_trait::async_trait]
impl AccountCollector for InProcessCollector {
    async fn collect(&self, run_id: &str, account_id: &str) -> Result<SpooledCollection, CollectError> {
        self.collect_in(run_id, account_id, self.roles.regions.clone()).await
    }
}

/// Session name of live collections (CloudTrail shows `posture-live`).
const LIVE_SESSION: &str = "live";

#[async_trait::async_trait]
impl LiveCollector for InProcessCollector {
    async fn collect_now(
        &self,
        account_id: &str,
        regions: Option<&[String]>,
    ) -> Result<Arc<CollectedAccount>, CollectError> {
        let regions = regions.map(<[String]>::to_vec).or_else(|| self.roles.regions.clone());
        // A collection is a deep future: polled from its own task it never
        // overflows the stack of a tool call that is deep already (it did,
        // in a debug build, inside the MCP server).
        let collector = InProcessCollector {
            base: self.base.clone(),
            roles: self.roles.clone(),
        };
        let account_id = account_id.to_string();
        let task = tokio::spawn(async move { collector.collect_in(LIVE_SESSION, &account_id, regions).await });
        match task.await {
            // A live answer reads the findings as a list.
            Ok(result) => Ok(Arc::new(
                result?.unspooled().map_err(|e| CollectError::Failed(e.to_string()))?,
            )),
            Err(e) => Err(CollectError::Failed(format!("live collection task: {e}"))),
        }
    }
}

/// Invokes the collector function once per account and reads what it wrote.
pub struct LambdaCollector {
    /// Lambda client.
    pub lambda: aws_sdk_lambda::Client,
    /// S3 client (the collector writes the inventory there).
    pub s3: aws_sdk_s3::Client,
    /// Collector function name or ARN.
    pub function: String,
    /// How members are entered (passed to the function).
    pub roles: RoleSettings,
}

#[async_trait::async_trait]
impl AccountCollector for LambdaCollector {
    async fn collect(&self, run_id: &str, account_id: &str) -> Result<SpooledCollection, CollectError> {
        let request = CollectRequest {
            run_id: run_id.to_string(),
            account_id: account_id.to_string(),
            role: self.roles.role.clone(),
            external_id: self.roles.external_id.clone(),
            regions: self.roles.regions.clone(),
            max_findings_per_account: Some(self.roles.max_findings_per_account),
        };
        let payload = serde_json::to_vec(&request).map_err(|e| CollectError::Failed(e.to_string()))?;
        let out = self
            .lambda
            .invoke()
            .function_name(&self.function)
            .payload(payload.into())
            .send()
            .await
            .map_err(|e| {
                CollectError::Failed(format!(
                    "lambda:InvokeFunction: {}",
                    crate::errors::classify("Lambda", &e)
                ))
            })?;
        let body = out.payload.map(|b| b.into_inner()).unwrap_or_default();
        if let Some(kind) = out.function_error {
            // The runtime answers {"errorType", "errorMessage"}; the message is what helps.
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(CollectError::Failed(format!(
                "collector function {kind}: {}",
                sanitize(&message)
            )));
        }
        let summary: CollectSummary =
            serde_json::from_slice(&body).map_err(|e| CollectError::Failed(format!("collector response: {e}")))?;
        if summary.run_id != run_id || summary.account_id != account_id {
            return Err(CollectError::Failed(format!(
                "the collector answered for account {} in run {}, not {account_id} in {run_id}",
                summary.account_id, summary.run_id
            )));
        }
        if let Some(reason) = summary.unreachable {
            return Err(CollectError::Unreachable(reason));
        }
        let uri = summary
            .inventory_uri
            .ok_or_else(|| CollectError::Failed("collector response without inventory_uri".to_string()))?;
        let (bucket, key) = uri
            .strip_prefix("s3://")
            .and_then(|rest| rest.split_once('/'))
            .ok_or_else(|| CollectError::Failed(format!("not an S3 URI: {uri}")))?;
        let object = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| CollectError::Failed(format!("s3:GetObject: {}", crate::errors::classify("S3", &e))))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| CollectError::Failed(format!("s3:GetObject: {e}")))?
            .to_vec();
        // Each finding spooled as it is parsed.
        let mut stored: SpooledCollection =
            serde_json::from_slice(&bytes).map_err(|e| CollectError::Failed(format!("{uri}: {e}")))?;
        if stored.inventory.account_id != account_id {
            return Err(CollectError::Failed(format!(
                "{uri} holds account {}, not {account_id}",
                stored.inventory.account_id
            )));
        }
        stored.stored = true;
        Ok(stored)
    }
}

/// Parts of a streamed collection (S3 takes 5 MiB to 5 GiB but for the last).
const PART_BYTES: usize = 8 << 20;

/// Writes `collection` to `key` as the JSON of a [`CollectedAccount`],
/// written as its findings are decoded from their spool and sent part by
/// part (an S3 multipart upload once it passes one part): memory holds a
/// part, never the whole body. Returns the parts written. A failed upload's
/// parts are removed by the bucket's lifecycle rule
/// (AbortIncompleteMultipartUpload).
pub async fn put_streamed(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    collection: &CollectedAccount<FindingSpool>,
) -> Result<usize, CollectError> {
    let json = |e: serde_json::Error| CollectError::Failed(format!("collection JSON: {e}"));
    /// Everything but the findings, in the field names of `CollectedAccount`.
    #[derive(Serialize)]
    struct Head<'a> {
        inventory: &'a posture_core::posture::inventory::Inventory,
        gaps: &'a [SourceGap],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        throttled: &'a [ThrottledRead],
    }
    let head = Head {
        inventory: &collection.inventory,
        gaps: &collection.gaps,
        throttled: &collection.throttled,
    };
    let mut body = serde_json::to_vec(&head).map_err(json)?;
    body.pop(); // its closing brace: the findings follow
    body.extend_from_slice(b",\"findings\":[");
    let mut upload = PartUpload {
        s3,
        bucket,
        key,
        id: None,
        parts: Vec::new(),
    };
    let mut first = true;
    for chunk in collection.findings.chunks() {
        for finding in chunk.map_err(|e| CollectError::Failed(e.to_string()))? {
            if !first {
                body.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut body, &finding).map_err(json)?;
            if body.len() >= PART_BYTES {
                upload.send_part(std::mem::take(&mut body)).await?;
            }
        }
    }
    body.extend_from_slice(b"]}");
    upload.finish(body).await
}

/// An object written part by part: a plain PutObject when it is one part.
struct PartUpload<'a> {
    s3: &'a aws_sdk_s3::Client,
    bucket: &'a str,
    key: &'a str,
    id: Option<String>,
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
}

impl PartUpload<'_> {
    fn failed(e: impl std::fmt::Display) -> CollectError {
        // CreateMultipartUpload, UploadPart and CompleteMultipartUpload are
        // all authorized as s3:PutObject.
        CollectError::Failed(format!("s3:PutObject: {e}"))
    }

    async fn send_part(&mut self, body: Vec<u8>) -> Result<(), CollectError> {
        let id = match &self.id {
            Some(id) => id.clone(),
            None => {
                let started = self
                    .s3
                    .create_multipart_upload()
                    .bucket(self.bucket)
                    .key(self.key)
                    .content_type("application/json")
                    .send()
                    .await
                    .map_err(|e| Self::failed(crate::errors::classify("S3", &e)))?;
                let id = started
                    .upload_id()
                    .ok_or_else(|| Self::failed("CreateMultipartUpload answered no upload id"))?;
                self.id.insert(id.to_string()).clone()
            }
        };
        let number = i32::try_from(self.parts.len() + 1).map_err(Self::failed)?;
        let sent = self
            .s3
            .upload_part()
            .bucket(self.bucket)
            .key(self.key)
            .upload_id(id)
            .part_number(number)
            .body(body.into())
            .send()
            .await
            .map_err(|e| Self::failed(crate::errors::classify("S3", &e)))?;
        self.parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    async fn finish(mut self, last: Vec<u8>) -> Result<usize, CollectError> {
        if self.id.is_none() {
            self.s3
                .put_object()
                .bucket(self.bucket)
                .key(self.key)
                .content_type("application/json")
                .body(last.into())
                .send()
                .await
                .map_err(|e| Self::failed(crate::errors::classify("S3", &e)))?;
            return Ok(1);
        }
        self.send_part(last).await?;
        let parts = self.parts.len();
        self.s3
            .complete_multipart_upload()
            .bucket(self.bucket)
            .key(self.key)
            .set_upload_id(self.id.take())
            .multipart_upload(
                aws_sdk_s3::types::CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| Self::failed(crate::errors::classify("S3", &e)))?;
        Ok(parts)
    }
}

/// The bucket key of an account's collection in a run (the collector
/// function writes it, the run's collection store reads it).
pub fn collection_key(prefix: &str, run_id: &str, account_id: &str) -> String {
    format!("{prefix}runs/{run_id}/collections/{account_id}.json")
}

/// The collector function's handler: collect, store under
/// `<prefix>runs/<run_id>/collections/<account_id>.json`, summarize. A
/// refused role is a normal answer (`unreachable`), not a function error.
pub async fn handle_collect(
    base: &SdkConfig,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    partition: &str,
    request: CollectRequest,
) -> Result<CollectSummary, CollectError> {
    if !posture_core::org::run::is_valid_run_id(&request.run_id) {
        return Err(CollectError::Failed(format!(
            "not a valid run id: {:?}",
            request.run_id
        )));
    }
    if request.account_id.parse::<posture_core::ids::AccountId>().is_err() {
        return Err(CollectError::Failed(format!(
            "not an account id: {:?}",
            request.account_id
        )));
    }
    let roles = RoleSettings {
        role: request.role.clone(),
        external_id: request.external_id.clone(),
        regions: request.regions.clone(),
        partition: partition.to_string(),
        max_findings_per_account: request.max_findings_per_account.unwrap_or(MAX_FINDINGS_PER_ACCOUNT),
    };
    let mut summary = CollectSummary {
        run_id: request.run_id.clone(),
        account_id: request.account_id.clone(),
        unreachable: None,
        inventory_uri: None,
        regions: Vec::new(),
        findings: 0,
        gaps: Vec::new(),
        throttled: Vec::new(),
    };
    let sdk = match enter_account(base, &roles, &request.run_id, &request.account_id).await {
        Ok(sdk) => sdk,
        Err(CollectError::Unreachable(reason)) => {
            summary.unreachable = Some(reason);
            return Ok(summary);
        }
        Err(e) => return Err(e),
    };
    let stored = collect_spooled(&sdk, roles.regions.clone(), roles.max_findings_per_account).await?;
    let key = collection_key(prefix, &request.run_id, &request.account_id);
    let parts = put_streamed(s3, bucket, &key, &stored).await?;
    tracing::debug!(key, parts, findings = stored.findings.len(), "collection written");
    summary.inventory_uri = Some(format!("s3://{bucket}/{key}"));
    summary.regions = stored.inventory.regions.clone();
    summary.findings = stored.findings.len();
    summary.gaps = posture_core::org::snapshot::inventory_gaps(&stored.inventory);
    summary.gaps.extend(stored.gaps.iter().map(ToString::to_string));
    summary.throttled = stored.throttled.iter().map(ToString::to_string).collect();
    Ok(summary)
}
