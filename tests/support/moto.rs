//! One moto server per test, on a free loopback port, killed on drop,
//! behind a front that answers for what moto 5.2.6 lacks among the finding
//! sources read directly (Macie's findings APIs answer 404, IAM Access
//! Analyzer is absent and answers 500): Macie enabled with no findings, no
//! analyzer in the Region. Everything else goes to moto unchanged.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_securityhub::config::Credentials;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT` of the front: what clients use.
    pub endpoint: String,
    front: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Moto {
    /// Starts moto (`POSTURE_MOTO_SERVER`, else `moto_server` on PATH) and
    /// waits until it answers.
    pub fn start() -> Moto {
        let bin = std::env::var("POSTURE_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_string());
        let port = crate::free_port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin} ({e}): run the tests through scripts/test, which installs moto")
            });
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {endpoint}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let (front_endpoint, front) = start_front(endpoint);
        Moto {
            child,
            endpoint: front_endpoint,
            front: Some(front),
        }
    }

    /// SDK configuration pointed at this moto with its static test keys.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.endpoint).await
    }
}

/// SDK configuration for a loopback endpoint, region us-east-1, static keys.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "posture-tests"))
        .load()
        .await
}

/// An S3 client for setting up and inspecting moto, outside any adapter's
/// declared actions (path-style: moto's host takes no bucket prefix).
pub fn admin_s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
}

/// A CloudTrail client for setting up trails in moto, outside any adapter's
/// declared actions, sending botocore's `X-Amz-Target` (the only form moto
/// 5.2.6 routes; `posture_aws::collect::cloudtrail::BotocoreTarget`).
pub fn admin_cloudtrail(sdk: &SdkConfig) -> aws_sdk_cloudtrail::Client {
    aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(sdk)
            .interceptor(posture_aws::collect::cloudtrail::BotocoreTarget)
            .build(),
    )
}

async fn front(
    State(upstream): State<Arc<(String, reqwest::Client)>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let service = crate::forward::credential_part(&headers, 3);
    let filled = match (service.as_str(), &method, uri.path()) {
        ("macie2", &Method::POST, "/findings") => Some(json!({"findingIds": []})),
        ("macie2", &Method::POST, "/findings/describe") => Some(json!({"findings": []})),
        ("access-analyzer", &Method::GET, "/analyzer") => Some(json!({"analyzers": []})),
        _ => None,
    };
    if let Some(answer) = filled {
        return Json(answer).into_response();
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    crate::forward::forward(&upstream.1, &upstream.0, "moto", method, path, &headers, body).await
}

/// Serves the front for `upstream` on its own thread and runtime (so it
/// answers whatever the test's runtime is doing); its URL and its stop.
fn start_front(upstream: String) -> (String, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound, bound_at) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            bound.send(listener.local_addr().unwrap()).unwrap();
            // Collections are written in 8 MiB parts: no body limit.
            let app = Router::new()
                .fallback(front)
                .layer(axum::extract::DefaultBodyLimit::disable())
                .with_state(Arc::new((upstream, crate::forward::upstream_client())));
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    let addr = bound_at.recv().unwrap();
    (format!("http://{addr}"), stop)
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(stop) = self.front.take() {
            let _ = stop.send(());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
