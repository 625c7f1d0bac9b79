//! Classification of SDK errors into the ports' `SourceError`, with messages
//! that are safe to show (service error code and message, credentials masked).

use aws_sdk_securityhub::error::ProvideErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;
use posture_core::sources::{SourceError, SourceErrorKind};

const AUTH_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
];

const THROTTLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "LimitExceededException",
    "RequestLimitExceeded",
];

/// Classifies any SDK error.
pub fn classify<E, R>(service: &str, err: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let (kind, message) = match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().unwrap_or("Unknown");
            let text = e.message().unwrap_or("");
            // Before the access codes: Macie answers AccessDeniedException
            // "Macie is not enabled" when it is off.
            let kind = if is_not_enabled(code, text) {
                SourceErrorKind::NotEnabled
            } else if AUTH_CODES.contains(&code) {
                SourceErrorKind::Authentication
            } else if THROTTLE_CODES.contains(&code) {
                SourceErrorKind::Throttled
            } else if code.starts_with("Internal")
                || code == "ServiceUnavailable"
                || code == "ServiceUnavailableException"
            {
                SourceErrorKind::Unavailable
            } else {
                SourceErrorKind::Other
            };
            (kind, format!("{code}: {text}"))
        }
        SdkError::TimeoutError(_) => (SourceErrorKind::Unavailable, "the request timed out".to_string()),
        SdkError::DispatchFailure(f) => {
            let text = DisplayErrorContext(err).to_string();
            // Credential resolution failures surface as dispatch failures.
            let kind = if text.contains("credentials") || text.contains("Credentials") {
                SourceErrorKind::Authentication
            } else if f.is_timeout() || f.is_io() {
                SourceErrorKind::Unavailable
            } else {
                SourceErrorKind::Other
            };
            (kind, format!("could not reach the service: {text}"))
        }
        SdkError::ResponseError(_) => (
            SourceErrorKind::Unavailable,
            "the service returned an unreadable response".to_string(),
        ),
        SdkError::ConstructionFailure(_) => {
            let text = DisplayErrorContext(err).to_string();
            if let Some(at) = text.find(crate::breaker::CIRCUIT_OPEN) {
                // Skipped by the scope's circuit breaker: nothing was sent.
                // The breaker's sentence, without the error chain after it.
                let reason = &text[at..];
                let reason = reason.find(" (").map_or(reason, |end| &reason[..end]);
                return SourceError {
                    kind: SourceErrorKind::Unavailable,
                    service: service.to_string(),
                    message: sanitize(reason),
                };
            }
            let kind = if text.contains("credentials") || text.contains("Credentials") {
                SourceErrorKind::Authentication
            } else {
                SourceErrorKind::Other
            };
            (kind, format!("the request could not be built: {text}"))
        }
        _ => (SourceErrorKind::Other, DisplayErrorContext(err).to_string()),
    };
    SourceError {
        kind,
        service: service.to_string(),
        message: sanitize(&message),
    }
}

fn is_not_enabled(code: &str, text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    code == "InvalidAccessException"
        || code == "SubscriptionRequiredException"
        || code == "OptInRequired"
        || lower.contains("not subscribed")
        || lower.contains("not enabled")
}

/// Masks anything that looks like a credential and bounds the length.
pub fn sanitize(text: &str) -> String {
    let masked: Vec<String> = text
        .split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '=' || c == ',')
        .map(|token| {
            let core =
                token.trim_end_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '=' || c == ',');
            let tail = &token[core.len()..];
            let key_like = core.len() >= 16
                && (core.starts_with("AKIA") || core.starts_with("ASIA"))
                && core.chars().all(|c| c.is_ascii_alphanumeric());
            let secret_like = core.len() >= 40
                && core
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '+' || c == '=');
            if key_like || secret_like {
                format!("***{tail}")
            } else {
                token.to_string()
            }
        })
        .collect();
    // The configured credential values exactly, and key ids inside other
    // tokens (`Credential=AKIA…/20261206/…`).
    let joined = posture_core::secrets::mask(&masked.concat());
    if joined.chars().count() > 400 {
        format!("{}…", joined.chars().take(400).collect::<String>())
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked_in_messages() {
        let m = sanitize(
            "The security token ASIA3XFRBF23EXAMPLE1 is invalid, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY=\"x\"",
        );
        assert!(!m.contains("ASIA3XFRBF23EXAMPLE1"), "{m}");
        assert!(!m.contains("wJalrXUtnFEMI"), "{m}");
        assert!(m.contains("is invalid"));
    }
}
