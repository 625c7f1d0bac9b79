//! The one error shape every tool returns (seed 000):
//! `{detail, error_type, context}`.

use posture_core::sources::{SourceError, SourceErrorKind};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// Error categories of seed 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum ErrorType {
    /// Invalid parameters.
    ValidationError,
    /// Credentials or permissions.
    AuthenticationError,
    /// AWS service errors or connectivity.
    ServiceError,
    /// The analysis engines could not run.
    IntelligenceEngineError,
    /// Framework data could not be processed.
    ComplianceFrameworkError,
    /// Remediation could not be planned.
    RemediationError,
}

/// A tool error as returned to the client (never carries secrets).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema, thiserror::Error)]
#[error("{error_type:?}: {detail}")]
pub struct ToolError {
    /// What went wrong and what to do about it.
    pub detail: String,
    /// The category.
    pub error_type: ErrorType,
    /// Machine-readable context (the field, the allowed range, the services).
    pub context: Map<String, Value>,
}

impl ToolError {
    /// A validation error naming the argument.
    pub fn validation(field: &str, detail: impl Into<String>, extra: Value) -> ToolError {
        let mut context = Map::new();
        context.insert("field".into(), json!(field));
        if let Value::Object(extra) = extra {
            context.extend(extra);
        }
        ToolError {
            detail: detail.into(),
            error_type: ErrorType::ValidationError,
            context,
        }
    }

    /// Framework data that cannot be used, naming files and places.
    pub fn framework(
        detail: impl Into<String>,
        problems: &[posture_core::posture::frameworks::FrameworkError],
    ) -> ToolError {
        let mut context = Map::new();
        context.insert("framework_files".into(), json!(problems));
        ToolError {
            detail: detail.into(),
            error_type: ErrorType::ComplianceFrameworkError,
            context,
        }
    }

    /// AWS could not be read (or is not read by this server).
    pub fn service(detail: impl Into<String>) -> ToolError {
        ToolError {
            detail: detail.into(),
            error_type: ErrorType::ServiceError,
            context: Map::new(),
        }
    }

    /// An error of the analysis engines.
    pub fn engine(detail: impl Into<String>) -> ToolError {
        ToolError {
            detail: detail.into(),
            error_type: ErrorType::IntelligenceEngineError,
            context: Map::new(),
        }
    }

    /// The error when every source failed: authentication if any source was
    /// refused, service otherwise; the per-source reasons are in the context.
    pub fn all_sources_failed(errors: &[SourceError]) -> ToolError {
        let auth = errors.iter().any(|e| e.kind == SourceErrorKind::Authentication);
        let mut context = Map::new();
        context.insert(
            "sources".into(),
            Value::Array(
                errors
                    .iter()
                    .map(|e| json!({"service": e.service, "kind": e.kind, "message": e.message}))
                    .collect(),
            ),
        );
        context.insert(
            "troubleshooting".into(),
            json!(if auth {
                "check the credentials the server runs with (health_check) and that its role allows securityhub:GetFindings, guardduty:ListDetectors, guardduty:ListFindings and guardduty:GetFindings"
            } else {
                "the AWS services did not answer; retry later or run health_check"
            }),
        );
        ToolError {
            detail: format!(
                "no finding source could be read: {}",
                errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ),
            error_type: if auth {
                ErrorType::AuthenticationError
            } else {
                ErrorType::ServiceError
            },
            context,
        }
    }

    /// The JSON value sent as structured content.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self)
            .unwrap_or_else(|_| json!({"detail": self.detail, "error_type": "ServiceError", "context": {}}))
    }
}
