//! The Posture Advisor MCP service: the tool registry, argument validation,
//! the seed's error shape, the audit line per tool call, and the Streamable
//! HTTP router (stateless, JSON responses, Host/Origin allow-lists) that both
//! the Lambda and the local server serve.
//!
//! This crate talks to data through the ports of `posture-core`
//! (`FindingSource`, `HealthProbe`); it must not call AWS itself or decide
//! security verdicts (those belong to `posture-core`).
#![deny(missing_docs)]

pub mod audit;
pub mod backend;
pub mod error;
pub mod http;
pub mod jsonrpc;
pub mod limits;
pub mod oauth;
pub mod prompts;
pub mod resources;
pub mod serve;
pub mod server;
pub mod serving;
pub mod splice;
pub mod tools;

pub use backend::{Backend, HistoryBackend, Mode, Startup, StartupDone};
pub use error::{ErrorType, ToolError};
pub use server::PostureServer;
