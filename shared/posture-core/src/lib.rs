//! The domain of Posture Advisor: normalized findings, MITRE ATT&CK mapping,
//! threat correlation and findings analysis, plus the ports that data sources
//! implement and the built-in demo organization.
//!
//! This crate owns every security judgement the product makes. It must not do
//! IO, depend on an AWS SDK, a runtime or a transport: everything here is a pure
//! function of its inputs (findings, time, configuration data), so each rule is
//! testable from JSON fixtures. Its `Cargo.toml` enforces that by what it lists.
#![deny(missing_docs)]

pub mod access;
pub mod cache;
pub mod config_history;
pub mod demo;
pub mod events;
pub mod exceptions;
pub mod finding;
pub mod findings;
pub mod ids;
pub mod investigation;
pub mod metrics;
pub mod org;
pub mod ports;
pub mod posture;
pub mod report;
pub mod secrets;
pub mod severity;
pub mod sources;
pub mod time;
pub mod verdict;

pub use finding::{Finding, SourceService};
pub use severity::Severity;
