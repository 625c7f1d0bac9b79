//! Implementations of the run ports: where snapshots, run records and report
//! files are kept (a local directory, or DynamoDB and S3).

pub mod dynamodb;
pub mod local;
