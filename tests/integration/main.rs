//! Workspace integration tests: AWS adapters against moto and the GuardDuty
//! stand-in, the unchanged binary against them, and the Lambda handler fed
//! captured Function URL events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod assessor_kill;
mod aws_explorer;
mod aws_inventory;
mod aws_lambda_fanout;
mod aws_org_run;
mod aws_runs;
mod aws_sources;
mod aws_stepfunctions;
mod binary;
mod direct_sources;
mod endpoint;
mod explorer_requests;
mod explorer_suggest;
mod exports;
mod faults;
mod faults_org;
mod frameworks;
mod function_events;
mod iam_policies;
mod lambda_events;
mod metrics;
mod oauth;
mod runs;
mod server_limits;
mod tasks;
mod trail_events;
