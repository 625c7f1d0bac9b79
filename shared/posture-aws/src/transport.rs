//! The HTTP client of an account's SDK configuration ([`for_account`]):
//! the one place every request to AWS passes, asynchronously, on its way
//! out and back.
//!
//! - Before each attempt (retries included) it waits for the quota bucket
//!   the guard stamped on the request (`ratelimit::QuotaStamp`), and hands
//!   the bucket back on the response for the guard to report a throttle.
//! - A request marked with a [`RawBody`] slot gets its successful response
//!   body whole into the slot, and the SDK an empty object in its place:
//!   Security Hub `GetFindings` pages are parsed once, straight into the
//!   typed ASFF of `posture-core`, instead of into the SDK's full model and
//!   then copied (measured by `bench/run`).
//! - [`ThrottleCount`] counts one read's throttled attempts, so a read
//!   completed through throttling can say so.

use crate::ratelimit::{QuotaHandle, QuotaStamp, bucket};
use aws_config::SdkConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

/// Name under which the process's own credentials are bucketed (the MCP
/// server's account, the assessor's).
pub const OWN_ACCOUNT: &str = "own";

/// `sdk` with the HTTP client of `account`: its quota buckets, and raw
/// bodies where asked. It replaces the configuration's HTTP client (an
/// entered account's configuration inherits the process's own, whose
/// buckets must not also apply): the product never sets one of its own.
pub fn for_account(sdk: &SdkConfig, account: &str) -> SdkConfig {
    with_client(sdk, Some(Arc::from(account)))
}

/// `sdk` with an account's HTTP client but no quota buckets: for measuring
/// the rest of a read apart from its waiting (`bench/run`), never for AWS.
pub fn for_account_without_quotas(sdk: &SdkConfig) -> SdkConfig {
    with_client(sdk, None)
}

fn with_client(sdk: &SdkConfig, account: Option<Arc<str>>) -> SdkConfig {
    let Some(inner) = default_http_client() else {
        tracing::warn!("no HTTP client to put the quota buckets in front of; AWS quotas are not enforced client-side");
        return sdk.clone();
    };
    sdk.to_builder()
        .http_client(AccountHttpClient { inner, account })
        .build()
}

/// The HTTP client the SDK would pick itself, shared by the process so
/// accounts reuse its connections.
fn default_http_client() -> Option<SharedHttpClient> {
    static DEFAULT: LazyLock<Option<SharedHttpClient>> = LazyLock::new(|| {
        use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
        use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
        let plugin =
            aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(aws_config::BehaviorVersion::latest())?;
        let components = plugin.runtime_components(&RuntimeComponentsBuilder::new("account http client"));
        components.http_client()
    });
    DEFAULT.clone()
}

#[derive(Debug)]
struct AccountHttpClient {
    inner: SharedHttpClient,
    /// Whose buckets (none: no waiting).
    account: Option<Arc<str>>,
}

impl HttpClient for AccountHttpClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(AccountConnector {
            inner: self.inner.http_connector(settings, components),
            account: self.account.clone(),
        })
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct AccountConnector {
    inner: SharedHttpConnector,
    account: Option<Arc<str>>,
}

impl HttpConnector for AccountConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let bucket = self
            .account
            .as_deref()
            .zip(request.extension::<QuotaStamp>())
            .map(|(account, stamp)| bucket(account, &stamp.region, &stamp.action));
        let raw = request.extension::<RawBody>().cloned();
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if let Some(bucket) = &bucket {
                let wait = bucket.reserve(Instant::now());
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
            let mut response = inner.call(request).await?;
            if let Some(bucket) = bucket {
                response.add_extension(QuotaHandle(bucket));
            }
            if let Some(raw) = raw
                && response.status().is_success()
            {
                let body = std::mem::replace(response.body_mut(), SdkBody::from("{}"));
                let bytes = aws_smithy_types::byte_stream::ByteStream::new(body)
                    .collect()
                    .await
                    .map_err(|e| aws_smithy_runtime_api::client::result::ConnectorError::io(e.into()))?;
                response.headers_mut().remove("content-length");
                raw.put(bytes.into_bytes());
            }
            Ok(response)
        })
    }
}

/// A slot for one operation's successful response body (attach it with
/// `.customize().interceptor(slot.clone())`). Empty after the call when the
/// client is not an account's ([`for_account`]): the SDK parsed the body
/// as usual and its output has it.
#[derive(Debug, Clone, Default)]
pub struct RawBody(Arc<Mutex<Option<bytes::Bytes>>>);

impl RawBody {
    fn put(&self, body: bytes::Bytes) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(body);
        }
    }

    /// The body, if the client kept it.
    pub fn take(&self) -> Option<bytes::Bytes> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }

    /// The kept body of `service`'s `operation`, parsed as `T` (a
    /// `posture-core` page type shaped as the API answers). Sources that
    /// read only this way need an account's client ([`for_account`]): every
    /// client the product builds is one.
    pub fn parse<T: serde::de::DeserializeOwned>(
        &self,
        service: &str,
        operation: &str,
    ) -> Result<T, posture_core::sources::SourceError> {
        let failed = |message: String| posture_core::sources::SourceError {
            kind: posture_core::sources::SourceErrorKind::Other,
            service: service.to_string(),
            message,
        };
        let body = self.take().ok_or_else(|| {
            failed(format!(
                "{operation}: the response body was not kept (a client not built on transport::for_account)"
            ))
        })?;
        serde_json::from_slice(&body).map_err(|e| failed(format!("{operation} answered an unreadable page: {e}")))
    }
}

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBody"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context.request_mut().add_extension(self.clone());
        Ok(())
    }
}

/// Sends one request of a paged read with a [`RawBody`] slot and the read's
/// [`ThrottleCount`], and parses the page it answered:
/// `let page: Page = raw_page!(client.list_x().set_next_token(t), throttles, SERVICE, "ListX")?;`
/// An error is the service's `SourceError`.
#[macro_export]
macro_rules! raw_page {
    ($request:expr, $throttles:expr, $service:expr, $operation:literal) => {{
        let raw = $crate::transport::RawBody::default();
        match $request
            .customize()
            .interceptor(raw.clone())
            .interceptor($throttles.clone())
            .send()
            .await
        {
            Ok(_) => raw.parse($service, $operation),
            Err(e) => Err($crate::errors::classify($service, &e)),
        }
    }};
}

/// Counts one operation's throttled attempts (attach a clone with
/// `.customize().interceptor(count.clone())` to each call of a read).
#[derive(Debug, Clone, Default)]
pub struct ThrottleCount(Arc<AtomicUsize>);

impl ThrottleCount {
    /// Throttled attempts so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Intercept for ThrottleCount {
    fn name(&self) -> &'static str {
        "ThrottleCount"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if crate::iam::attempt_throttled(context) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
