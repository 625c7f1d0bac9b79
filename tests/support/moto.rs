//! One moto server per test, on a free loopback port, killed on drop.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_securityhub::config::Credentials;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
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
        Moto { child, endpoint }
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

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
