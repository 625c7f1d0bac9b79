//! Test support: a moto server per test, a GuardDuty stand-in that answers
//! the findings APIs moto lacks with AWS-shaped responses, fixture builders
//! and MCP-over-HTTP helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cloudtrail_standin;
pub mod direct_standin;
pub mod faults;
pub mod fixtures;
pub mod forward;
pub mod jwks;
pub mod lambda_standin;
pub mod mcp;
pub mod moto;
pub mod org;
pub mod runs;
pub mod standin;
pub mod sts_gate;

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (the listener is dropped before use).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A command for workspace binary `name` that sees none of the machine's AWS
/// settings (credentials, profile, region, endpoint, Lambda runtime); the
/// test sets what it needs.
pub fn isolated_command(name: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(workspace_binary(name));
    for var in [
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_SECURITY_ADVISOR_PROFILE_NAME",
        "AWS_LAMBDA_RUNTIME_API",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// A binary of this workspace, next to the test executable's directory.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

/// A started process, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and waits until it accepts connections on `port`.
pub fn spawn_serving(cmd: &mut Command, port: u16) -> Server {
    let server = Server(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{cmd:?} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

/// `mcp-server` on `127.0.0.1:port` reading AWS at `endpoint` (moto or a
/// proxy in front of it) with the test keys in us-east-1, output discarded;
/// the caller adds settings and starts it with [`spawn_serving`].
pub fn aws_mode_server(endpoint: &str, port: u16) -> Command {
    let mut cmd = isolated_command("mcp-server");
    cmd.args(["--listen", &format!("127.0.0.1:{port}")])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}
