//! Read-only calls to any AWS API operation, driven by the AWS service
//! models embedded in the binary (botocore's, docs stripped): the model
//! store, the read-only policy, request serialization for the json,
//! rest-json, query, ec2 and rest-xml protocols, endpoints and SigV4.

pub mod describe;
pub mod execute;
pub mod model;
pub mod parse;
pub mod policy;
pub mod read;
pub mod request;
pub mod serialize;
pub mod suggest;
