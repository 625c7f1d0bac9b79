//! S3: the account-level Block Public Access (s3control) and, per bucket,
//! Block Public Access, default encryption, versioning, access logging, the
//! policy with its public status, and public ACL grants.
//!
//! Each bucket is read through a client of its own region (S3 answers a
//! request in the wrong region with a redirect the SDK does not follow).
//! Whenever a custom endpoint is configured the clients use path-style
//! addressing, so the same code reads moto or an S3-compatible endpoint.

use super::{call, collected, optional};
use aws_config::SdkConfig;
use aws_sdk_s3::types::Type;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use posture_core::posture::inventory::{Bucket, Collected, Gap, PublicAccessBlock, S3Inventory};
use std::collections::BTreeMap;

const PUBLIC_GROUPS: &[&str] = &[
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];

/// S3 and S3 Control clients over one configuration.
pub struct S3Collector {
    sdk: SdkConfig,
    control: aws_sdk_s3control::Client,
}

impl S3Collector {
    /// Clients over `sdk` (S3 clients per region, by [`crate::s3`]).
    pub fn new(sdk: &SdkConfig) -> S3Collector {
        let control = aws_sdk_s3control::Client::from_conf(
            aws_sdk_s3control::config::Builder::from(sdk)
                .interceptor(NoAccountPrefixOnIpHosts)
                .interceptor(crate::iam::READ_ONLY)
                .build(),
        );
        S3Collector {
            sdk: sdk.clone(),
            control,
        }
    }

    fn client(&self, region: &str) -> aws_sdk_s3::Client {
        crate::s3::s3_client_in(&self.sdk, crate::iam::READ_ONLY, Some(region))
    }

    /// Collects the S3 section of `account_id`.
    pub async fn collect(&self, account_id: &str) -> Collected<S3Inventory> {
        collected(self.collect_inner(account_id).await)
    }

    async fn collect_inner(&self, account_id: &str) -> Result<S3Inventory, Gap> {
        let (account_public_access_block, account_public_access_block_gap) =
            match self.account_public_access_block(account_id).await {
                Ok(pab) => (pab, None),
                Err(gap) => (None, Some(gap)),
            };
        let home = self
            .sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_else(|| "us-east-1".into());
        let listing = self.client(&home);
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = call!(
                "s3:ListAllMyBuckets",
                listing.list_buckets().set_continuation_token(token.take()).send()
            );
            for b in page.buckets() {
                if let Some(name) = b.name() {
                    names.push((name.to_string(), b.bucket_region().map(str::to_string)));
                }
            }
            token = page.continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut clients: BTreeMap<String, aws_sdk_s3::Client> = BTreeMap::new();
        let mut buckets = Vec::with_capacity(names.len());
        for (name, listed_region) in names {
            let region = match listed_region {
                Some(r) => r,
                None => {
                    let location = call!(
                        "s3:GetBucketLocation",
                        listing.get_bucket_location().bucket(&name).send()
                    );
                    bucket_region(location.location_constraint().map(|c| c.as_str()))
                }
            };
            let client = clients.entry(region.clone()).or_insert_with(|| self.client(&region));
            buckets.push(read_bucket(client, name, region).await?);
        }
        Ok(S3Inventory {
            account_public_access_block,
            account_public_access_block_gap,
            buckets,
        })
    }

    async fn account_public_access_block(&self, account_id: &str) -> Result<Option<PublicAccessBlock>, Gap> {
        let out = optional!(
            "s3:GetAccountPublicAccessBlock",
            ["NoSuchPublicAccessBlockConfiguration"],
            self.control.get_public_access_block().account_id(account_id).send()
        );
        Ok(out
            .and_then(|o| o.public_access_block_configuration().cloned())
            .map(|c| {
                settings(
                    c.block_public_acls(),
                    c.ignore_public_acls(),
                    c.block_public_policy(),
                    c.restrict_public_buckets(),
                )
            }))
    }
}

/// The four Block Public Access settings (S3 and S3 Control have one type
/// each); an absent setting is off.
fn settings(
    acls: Option<bool>,
    ignore: Option<bool>,
    policy: Option<bool>,
    restrict: Option<bool>,
) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: acls.unwrap_or(false),
        ignore_public_acls: ignore.unwrap_or(false),
        block_public_policy: policy.unwrap_or(false),
        restrict_public_buckets: restrict.unwrap_or(false),
    }
}

/// `GetBucketLocation`'s constraint as a region name: none means us-east-1,
/// and the legacy `EU` means eu-west-1.
fn bucket_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(r) => r.into(),
    }
}

async fn read_bucket(client: &aws_sdk_s3::Client, name: String, region: String) -> Result<Bucket, Gap> {
    let pab = optional!(
        "s3:GetBucketPublicAccessBlock",
        ["NoSuchPublicAccessBlockConfiguration"],
        client.get_public_access_block().bucket(&name).send()
    );
    let public_access_block = pab
        .and_then(|o| o.public_access_block_configuration().cloned())
        .map(|c| {
            settings(
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets(),
            )
        });
    // Since 2023 AWS always reports SSE-S3 at least; older endpoints (and
    // moto) answer "not found" when no default encryption is set.
    let encryption = optional!(
        "s3:GetEncryptionConfiguration",
        ["ServerSideEncryptionConfigurationNotFoundError"],
        client.get_bucket_encryption().bucket(&name).send()
    )
    .and_then(|o| o.server_side_encryption_configuration().cloned())
    .map(|c| {
        c.rules()
            .iter()
            .filter_map(|r| r.apply_server_side_encryption_by_default())
            .map(|d| d.sse_algorithm().as_str().to_string())
            .collect()
    })
    .unwrap_or_default();
    // An unreadable answer is recorded on the bucket (its MFA delete check
    // is unknown) rather than failing the whole S3 section.
    let mut gaps = BTreeMap::new();
    let (versioning, mfa_delete) = match client.get_bucket_versioning().bucket(&name).send().await {
        Ok(v) => (
            v.status().map(|s| s.as_str().to_string()),
            v.mfa_delete().map(|s| s.as_str().to_string()),
        ),
        Err(e) => {
            let action = "s3:GetBucketVersioning";
            gaps.insert(
                "versioning".to_string(),
                super::gap(action, crate::errors::classify(action, &e)),
            );
            (None, None)
        }
    };
    let logging = call!("s3:GetBucketLogging", client.get_bucket_logging().bucket(&name).send());
    let policy = optional!(
        "s3:GetBucketPolicy",
        ["NoSuchBucketPolicy"],
        client.get_bucket_policy().bucket(&name).send()
    )
    .and_then(|o| o.policy().map(str::to_string))
    .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)));
    let policy_is_public = optional!(
        "s3:GetBucketPolicyStatus",
        ["NoSuchBucketPolicy"],
        client.get_bucket_policy_status().bucket(&name).send()
    )
    .and_then(|o| o.policy_status().and_then(|s| s.is_public()));
    let acl = call!("s3:GetBucketAcl", client.get_bucket_acl().bucket(&name).send());
    let acl_grants_public = acl.grants().iter().any(|g| {
        g.grantee().is_some_and(|who| {
            who.r#type() == &Type::Group && who.uri().is_some_and(|uri| PUBLIC_GROUPS.contains(&uri))
        })
    });
    Ok(Bucket {
        name,
        region,
        public_access_block,
        encryption,
        versioning,
        mfa_delete,
        logging_target: logging
            .logging_enabled()
            .map(|l| l.target_bucket().to_string())
            .filter(|t| !t.is_empty()),
        policy,
        policy_is_public,
        acl_grants_public,
        gaps,
    })
}

/// S3 Control puts the account id in front of the endpoint's host
/// (`123456789012.s3-control.us-east-1.amazonaws.com`). In front of an IP
/// address or `localhost` (a local endpoint such as moto) that name cannot
/// resolve, so there the prefix is dropped; real AWS hosts are untouched.
#[derive(Debug)]
struct NoAccountPrefixOnIpHosts;

impl Intercept for NoAccountPrefixOnIpHosts {
    fn name(&self) -> &'static str {
        "NoAccountPrefixOnIpHosts"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if let Some(uri) = without_account_prefix(request.uri()) {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// `http://123456789012.127.0.0.1:5000/p` -> `http://127.0.0.1:5000/p`; `None`
/// when there is nothing to strip.
fn without_account_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let (prefix, host_and_rest) = rest.split_once('.')?;
    if prefix.parse::<posture_core::ids::AccountId>().is_err() {
        return None;
    }
    let host = host_and_rest
        .split(['/', '?'])
        .next()
        .map(|h| h.rsplit_once(':').map_or(h, |(h, _)| h))
        .unwrap_or_default();
    let local = host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok();
    local.then(|| format!("{scheme}://{host_and_rest}"))
}

#[cfg(test)]
mod tests {
    use super::{bucket_region, without_account_prefix};

    #[test]
    fn the_account_prefix_is_dropped_only_in_front_of_local_hosts() {
        assert_eq!(
            without_account_prefix("http://123456789012.127.0.0.1:5000/v20180820/configuration/publicAccessBlock")
                .as_deref(),
            Some("http://127.0.0.1:5000/v20180820/configuration/publicAccessBlock")
        );
        assert_eq!(
            without_account_prefix("http://123456789012.localhost:5000/x").as_deref(),
            Some("http://localhost:5000/x")
        );
        assert_eq!(
            without_account_prefix("https://123456789012.s3-control.us-east-1.amazonaws.com/v20180820/x"),
            None
        );
        assert_eq!(without_account_prefix("http://127.0.0.1:5000/x"), None);
    }

    #[test]
    fn bucket_locations_name_their_region() {
        assert_eq!(bucket_region(None), "us-east-1");
        assert_eq!(bucket_region(Some("")), "us-east-1");
        assert_eq!(bucket_region(Some("EU")), "eu-west-1");
        assert_eq!(bucket_region(Some("ap-south-1")), "ap-south-1");
    }
}
