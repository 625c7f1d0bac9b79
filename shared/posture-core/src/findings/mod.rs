//! Findings: their source formats (ASFF, GuardDuty, and the direct APIs of
//! Inspector, Macie, IAM Access Analyzer and AWS Config), the MITRE ATT&CK
//! mapping, correlation into attack patterns, the analysis of a set of
//! findings and the remediation advice derived from them.

pub mod access_analyzer;
pub mod analysis;
pub mod asff;
pub mod attack;
pub mod config_rules;
pub mod correlate;
pub mod filter;
pub mod guardduty;
pub mod inspector;
pub mod macie;
pub mod remediation;
pub mod spool;
