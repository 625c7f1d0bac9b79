//! Benchmarks of Posture Advisor (`bench/run`): a fake AWS with AWS's
//! quotas on loopback, generated ASFF findings, and what a process spent.

pub mod fake;
pub mod generate;
pub mod measure;
