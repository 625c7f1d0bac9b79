//! Findings: their source formats (ASFF, GuardDuty), the MITRE ATT&CK
//! mapping, correlation into attack patterns, the analysis of a set of
//! findings and the remediation advice derived from them.

pub mod analysis;
pub mod asff;
pub mod attack;
pub mod correlate;
pub mod filter;
pub mod guardduty;
pub mod remediation;
pub mod spool;
