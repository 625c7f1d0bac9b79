//! The one way S3 clients are built, with one path-style rule.

use crate::iam;
use aws_config::SdkConfig;

/// Whether S3 requests use path-style addressing: when an endpoint is
/// overridden (moto, S3-compatible stores, `AWS_ENDPOINT_URL_S3`), since
/// their hosts take no bucket prefix.
pub fn path_style(sdk: &SdkConfig) -> bool {
    sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
}

/// An S3 client for `adapter` (the IAM actions it may call), in `region`
/// when given, else the configuration's.
pub fn s3_client_in(sdk: &SdkConfig, adapter: iam::Adapter, region: Option<&str>) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style(sdk))
        .interceptor(adapter);
    if let Some(region) = region {
        builder = builder.region(aws_sdk_s3::config::Region::new(region.to_string()));
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// An S3 client for `adapter` in the configuration's region.
pub fn s3_client(sdk: &SdkConfig, adapter: iam::Adapter) -> aws_sdk_s3::Client {
    s3_client_in(sdk, adapter, None)
}
