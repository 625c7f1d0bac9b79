//! The domain of Posture Advisor: normalized findings, MITRE ATT&CK mapping,
//! threat correlation and findings analysis, plus the ports that data sources
//! implement and the built-in demo organization.
//!
//! This crate owns every security judgement the product makes. It must not do
//! IO, depend on an AWS SDK, a runtime or a transport: everything here is a pure
//! function of its inputs (findings, time, configuration data), so each rule is
//! testable from JSON fixtures. Its `Cargo.toml` enforces that by what it lists.
#![deny(missing_docs)]

pub mod analysis;
pub mod asff;
pub mod assessment;
pub mod attack;
pub mod checks;
pub mod compliance;
pub mod correlate;
pub mod demo;
pub mod finding;
pub mod frameworks;
pub mod guardduty;
pub mod history;
pub mod ids;
pub mod inventory;
pub mod ports;
pub mod recommendations;
pub mod remediation;
pub mod report;
pub mod report_html;
pub mod run;
pub mod severity;
pub mod snapshot;
pub mod time;
pub mod validation;
pub mod verdict;

pub use finding::{Finding, SourceService};
pub use severity::Severity;
