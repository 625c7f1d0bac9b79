//! The accepted-risks file (`POSTURE_EXCEPTIONS`): a local path, or
//! `s3://bucket/key` in the product's bucket (the deployed default). It is a
//! reviewed file; nothing in the product writes it.

use crate::iam;
use aws_config::SdkConfig;
use posture_core::exceptions::{self, ExceptionsError, LoadedExceptions};
use std::path::PathBuf;

/// `POSTURE_EXCEPTIONS`: where the exceptions file is.
pub const EXCEPTIONS_VAR: &str = "POSTURE_EXCEPTIONS";

/// Where the exceptions file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExceptionsLocation {
    /// A local file (missing: an error, since it was named).
    File(PathBuf),
    /// An S3 object (missing: no exceptions yet).
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

impl ExceptionsLocation {
    /// From the variable's value: `s3://bucket/key` or a path.
    pub fn parse(value: &str) -> Result<ExceptionsLocation, String> {
        let value = value.trim();
        match value.strip_prefix("s3://") {
            Some(rest) => match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(ExceptionsLocation::S3 {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                }),
                _ => Err(format!("{value:?} is not s3://bucket/key")),
            },
            None if value.is_empty() => Err("empty".into()),
            None => Ok(ExceptionsLocation::File(PathBuf::from(value))),
        }
    }

    fn name(&self) -> String {
        match self {
            ExceptionsLocation::File(path) => path.display().to_string(),
            ExceptionsLocation::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }
}

/// Reads and checks the file at `location` (`None`: no file configured, no
/// exceptions). A file that cannot be read or used is reported in
/// [`LoadedExceptions::error`] and no exception applies: failures then show
/// as failures, never the other way round.
pub async fn load_exceptions(location: Option<&ExceptionsLocation>, sdk: Option<&SdkConfig>) -> LoadedExceptions {
    let Some(location) = location else {
        return LoadedExceptions::default();
    };
    let name = location.name();
    let failed = |message: String| LoadedExceptions {
        source: Some(name.clone()),
        exceptions: Vec::new(),
        error: Some(ExceptionsError {
            file: name.clone(),
            location: "file".into(),
            message,
        }),
    };
    let text = match location {
        ExceptionsLocation::File(path) => return load_exceptions_file(path),
        ExceptionsLocation::S3 { bucket, key } => {
            let Some(sdk) = sdk else {
                return failed("an s3:// location needs AWS credentials (AWS mode)".into());
            };
            let s3 = crate::s3::s3_client(sdk, iam::STORE);
            match s3.get_object().bucket(bucket).key(key).send().await {
                Ok(out) => match out.body.collect().await {
                    Ok(bytes) => match String::from_utf8(bytes.to_vec()) {
                        Ok(text) => text,
                        Err(_) => return failed("is not UTF-8 text".into()),
                    },
                    Err(e) => return failed(format!("s3:GetObject: {e}")),
                },
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return LoadedExceptions {
                        source: Some(format!("{name} (no such object: no exceptions)")),
                        ..LoadedExceptions::default()
                    };
                }
                Err(e) => {
                    return failed(crate::errors::sanitize(
                        &crate::errors::classify("s3:GetObject", &e).message,
                    ));
                }
            }
        }
    };
    parsed(name, &text)
}

/// [`load_exceptions`] of a local file (what the demo and the command line read).
pub fn load_exceptions_file(path: &std::path::Path) -> LoadedExceptions {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parsed(name, &text),
        Err(e) => LoadedExceptions {
            source: Some(name.clone()),
            exceptions: Vec::new(),
            error: Some(ExceptionsError {
                file: name,
                location: "file".into(),
                message: format!("cannot be read: {e}"),
            }),
        },
    }
}

fn parsed(name: String, text: &str) -> LoadedExceptions {
    match exceptions::parse(&name, text) {
        Ok(exceptions) => LoadedExceptions {
            source: Some(name),
            exceptions,
            error: None,
        },
        Err(error) => LoadedExceptions {
            source: Some(name),
            exceptions: Vec::new(),
            error: Some(error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            ExceptionsLocation::parse("s3://b/config/exceptions.json"),
            Ok(ExceptionsLocation::S3 {
                bucket: "b".into(),
                key: "config/exceptions.json".into()
            })
        );
        assert_eq!(
            ExceptionsLocation::parse("./e.json"),
            Ok(ExceptionsLocation::File("./e.json".into()))
        );
        assert!(ExceptionsLocation::parse("s3://bucket-only").is_err());
    }

    #[tokio::test]
    async fn a_malformed_or_missing_file_applies_nothing_and_says_where() {
        let dir = std::env::temp_dir().join(format!("posture-exceptions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("exceptions.json");
        std::fs::write(&path, "{\n  \"schema_version\": 1,\n  \"exceptions\": [{\"id\": 1}]\n}").unwrap();
        let loaded = load_exceptions(Some(&ExceptionsLocation::File(path.clone())), None).await;
        let error = loaded.error.unwrap();
        assert_eq!(error.location, "line 3, column 25");
        assert!(loaded.exceptions.is_empty());
        let missing = load_exceptions(Some(&ExceptionsLocation::File(dir.join("none.json"))), None).await;
        assert!(missing.error.unwrap().message.contains("cannot be read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
