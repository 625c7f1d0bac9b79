//! The read-only AWS explorer's AWS side: the policy's decision first (a
//! refused operation sends nothing), then each account (the server's own
//! credentials, or a member's explorer role) × Region read at once within
//! bounds, every request through the account's quota bucket for its action
//! and retried when throttled.

use crate::collector::RoleSettings;
use crate::ratelimit;
use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use futures::StreamExt;
use posture_explorer::execute::{self, Call, Transport};
use posture_explorer::parse::RawResponse;
use posture_explorer::policy::{Allowed, Policy, Refusal};
use posture_explorer::read::{Explorer, Read, RegionChoice, TargetAnswer, TargetError};
use posture_explorer::request::{self, SignedRequest};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Account × Region reads in flight at once.
pub const MAX_CONCURRENT_TARGETS: usize = 8;
/// Attempts at one request when AWS throttles it or fails on its side.
const ATTEMPTS: u32 = 4;
/// Session name of explorer reads (CloudTrail shows `posture-explorer`).
const EXPLORER_SESSION: &str = "explorer";

/// The explorer over AWS.
pub struct AwsExplorer {
    /// The server's configuration (its own account).
    pub base: SdkConfig,
    /// The explorer role in member accounts; `None`: only the server's own
    /// account can be read.
    pub roles: Option<RoleSettings>,
    /// What may run.
    pub policy: Policy,
    /// Shared connections.
    pub http: reqwest::Client,
    /// The server's own account, asked of STS once.
    pub own_account: tokio::sync::OnceCell<String>,
}

impl AwsExplorer {
    /// An explorer with its own connection pool.
    pub fn new(base: SdkConfig, roles: Option<RoleSettings>, policy: Policy) -> Self {
        Self {
            base,
            roles,
            policy,
            http: reqwest::Client::default(),
            own_account: Default::default(),
        }
    }

    /// The configuration to read `account` with: the server's own, or the
    /// member's explorer role entered.
    async fn account_sdk(&self, account: &str) -> Result<SdkConfig, TargetError> {
        let own = self.own_account().await.map_err(|message| TargetError {
            kind: "Unreachable".into(),
            code: None,
            message: format!("the server's own account is not known: {message}"),
        })?;
        if own == account {
            return Ok(self.base.clone());
        }
        let Some(roles) = &self.roles else {
            return Err(TargetError {
                kind: "AccessDenied".into(),
                code: None,
                message: format!(
                    "account {account} is not this server's and no explorer role is configured (EnableExplorer)"
                ),
            });
        };
        crate::collector::enter_account(&self.base, roles, EXPLORER_SESSION, account)
            .await
            .map_err(|e| TargetError {
                kind: match e {
                    posture_core::ports::CollectError::Unreachable(_) => "AccessDenied".into(),
                    _ => "Unreachable".into(),
                },
                code: None,
                message: e.to_string(),
            })
    }

    async fn regions_of(
        &self,
        allowed: &Allowed,
        sdk: &SdkConfig,
        choice: &RegionChoice,
    ) -> Result<Vec<String>, TargetError> {
        let home = sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        let global = posture_explorer::model::catalog()
            .ok()
            .and_then(|c| c.services.get(&allowed.service))
            .is_some_and(|s| s.global_endpoint.is_some());
        if global {
            // One endpoint answers for every Region.
            return Ok(vec![match choice {
                RegionChoice::These(r) => r.first().cloned().unwrap_or(home),
                RegionChoice::AllEnabled => home,
            }]);
        }
        match choice {
            RegionChoice::These(regions) if regions.is_empty() => Ok(vec![home]),
            RegionChoice::These(regions) => Ok(regions.clone()),
            RegionChoice::AllEnabled => {
                crate::collect::ec2::enabled_regions(&crate::guarded_client!(aws_sdk_ec2, sdk, crate::iam::READ_ONLY))
                    .await
                    .map_err(|e| TargetError {
                        kind: "Unreachable".into(),
                        code: None,
                        message: format!("enabled Regions not read: {e}"),
                    })
            }
        }
    }

    async fn read_one(
        &self,
        allowed: &Allowed,
        read: &Read,
        account: &str,
        region: &str,
        sdk: &SdkConfig,
    ) -> TargetAnswer {
        let credentials = match sdk.credentials_provider() {
            Some(p) => p.provide_credentials().await.map_err(|e| e.to_string()),
            None => Err("no credentials".to_string()),
        };
        let credentials = match credentials {
            Ok(c) => c,
            Err(message) => {
                return failed(
                    account,
                    region,
                    TargetError {
                        kind: "AccessDenied".into(),
                        code: None,
                        message: crate::errors::sanitize(&message),
                    },
                );
            }
        };
        let catalog_entry = posture_explorer::model::catalog()
            .ok()
            .and_then(|c| c.services.get(&allowed.service));
        let Some(entry) = catalog_entry else {
            return failed(
                account,
                region,
                invalid(format!("{} is not in the catalog", allowed.service)),
            );
        };
        let override_url = request::endpoint_variable(entry)
            .and_then(|v| std::env::var(v).ok())
            .or_else(|| sdk.endpoint_url().map(String::from));
        let endpoint = match request::endpoint(entry, region, override_url.as_deref()) {
            Ok(e) => e,
            Err(e) => return failed(account, region, invalid(e.to_string())),
        };
        let transport = BucketedTransport {
            http: &self.http,
            bucket: ratelimit::bucket(
                account,
                region,
                allowed.operation().action.as_deref().unwrap_or_default(),
            ),
        };
        let clock = std::time::SystemTime::now;
        let call = Call {
            allowed,
            params: &read.params,
            endpoint: &endpoint,
            credentials: &credentials,
            budget: read.budget,
            next_token: read.next_token.as_deref(),
        };
        match execute::run(&transport, call, &clock).await {
            Ok(answer) => TargetAnswer {
                account_id: account.into(),
                region: region.into(),
                response: Some(answer.response),
                pages: answer.pages,
                items: answer.items,
                next_token: answer.next_token,
                error: None,
            },
            Err(e) => failed(account, region, call_error(e)),
        }
    }
}

#[async_trait::async_trait]
impl Explorer for AwsExplorer {
    /// The policy's decision, before anything is sent.
    fn decide(&self, read: &Read) -> Result<Allowed, Refusal> {
        self.policy.decide(&read.service, &read.operation, &read.params)
    }

    async fn organization_accounts(&self) -> Result<Vec<String>, String> {
        crate::org::directory::OrganizationsDirectory {
            client: crate::guarded_client!(aws_sdk_organizations, &self.base, crate::iam::DIRECTORY),
        }
        .active_account_ids()
        .await
        .map_err(|e| e.to_string())
    }

    async fn own_account(&self) -> Result<String, String> {
        self.own_account
            .get_or_try_init(|| crate::collect::caller_account(&self.base))
            .await
            .cloned()
            .map_err(|e| e.message)
    }

    /// Runs `read` (already allowed) in every account and Region; one
    /// answer per account and Region, in account then Region order.
    async fn read(&self, allowed: &Allowed, read: &Read) -> Vec<TargetAnswer> {
        let allowed = Arc::new(allowed.clone());
        let accounts = futures::stream::iter(read.accounts.iter().cloned())
            .map(|account| async move { (account.clone(), self.account_sdk(&account).await) })
            .buffer_unordered(MAX_CONCURRENT_TARGETS)
            .collect::<Vec<_>>()
            .await;
        let mut targets = Vec::new();
        let mut answers = Vec::new();
        for (account, sdk) in accounts {
            let sdk = match sdk {
                Ok(sdk) => sdk,
                Err(error) => {
                    answers.push(failed(&account, "-", error));
                    continue;
                }
            };
            match self.regions_of(&allowed, &sdk, &read.regions).await {
                Ok(regions) => targets.extend(regions.into_iter().map(|r| (account.clone(), r, sdk.clone()))),
                Err(error) => answers.push(failed(&account, "-", error)),
            }
        }
        let read_all = futures::stream::iter(targets)
            .map(|(account, region, sdk)| {
                let allowed = allowed.clone();
                async move { self.read_one(&allowed, read, &account, &region, &sdk).await }
            })
            .buffer_unordered(MAX_CONCURRENT_TARGETS)
            .collect::<Vec<_>>()
            .await;
        answers.extend(read_all);
        answers.sort_by(|a, b| (&a.account_id, &a.region).cmp(&(&b.account_id, &b.region)));
        answers
    }
}

fn invalid(message: String) -> TargetError {
    TargetError {
        kind: "InvalidParameters".into(),
        code: None,
        message,
    }
}

fn failed(account: &str, region: &str, error: TargetError) -> TargetAnswer {
    TargetAnswer {
        account_id: account.into(),
        region: region.into(),
        response: None,
        pages: 0,
        items: 0,
        next_token: None,
        error: Some(error),
    }
}

fn call_error(e: execute::CallError) -> TargetError {
    use posture_explorer::parse::ResponseError;
    match e {
        execute::CallError::Response(ResponseError::Api(api)) => {
            let kind = if crate::iam::is_throttle(api.status, Some(&api.code), None) {
                "Throttled"
            } else if api.status == 403 || api.code.contains("AccessDenied") || api.code.contains("Unauthorized") {
                "AccessDenied"
            } else if api.status < 500 {
                "InvalidParameters"
            } else {
                "ServiceError"
            };
            TargetError {
                kind: kind.into(),
                code: Some(api.code),
                message: crate::errors::sanitize(&api.message),
            }
        }
        execute::CallError::Request(e) => invalid(e.to_string()),
        execute::CallError::BadToken(t) => invalid(format!("next_token is not one this read gave: {t}")),
        other => TargetError {
            kind: "ServiceError".into(),
            code: None,
            message: crate::errors::sanitize(&other.to_string()),
        },
    }
}

/// Sends over HTTPS, each attempt waiting for the account's bucket of the
/// action; a throttled or failed-on-AWS's-side attempt is retried with
/// backoff, and the bucket slows down for it.
struct BucketedTransport<'a> {
    http: &'a reqwest::Client,
    bucket: Arc<ratelimit::Bucket>,
}

#[async_trait::async_trait]
impl Transport for BucketedTransport<'_> {
    async fn send(&self, request: SignedRequest) -> Result<RawResponse, String> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let wait = self.bucket.reserve(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let raw = self.send_once(&request).await;
            // AWS's throttles (429, or a throttling code in a 400/503) slow
            // the bucket; they and AWS-side failures are tried again.
            let throttled = raw
                .as_ref()
                .is_ok_and(|r| crate::iam::is_throttle(r.status, r.header("x-amzn-errortype"), Some(&r.body)));
            let retry = throttled || raw.as_ref().map_or(true, |r| r.status >= 500);
            self.bucket.answered(throttled);
            if !retry || attempt >= ATTEMPTS {
                return raw;
            }
            let backoff = Duration::from_millis(100 * 2u64.pow(attempt - 1));
            tokio::time::sleep(backoff).await;
        }
    }
}

impl BucketedTransport<'_> {
    async fn send_once(&self, request: &SignedRequest) -> Result<RawResponse, String> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut builder = self.http.request(method, &request.url).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| crate::errors::sanitize(&e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let body = response.bytes().await.map_err(|e| e.to_string())?.to_vec();
        Ok(RawResponse { status, headers, body })
    }
}
