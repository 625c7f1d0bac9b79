//! Inventory collection: read-only calls that fill `posture_core::inventory`.
//! Each section is collected on its own; a failure becomes that section's
//! gap (with the call that failed and why), and the rest stands.

pub mod iam;

use posture_core::inventory::Gap;
use posture_core::ports::{SourceError, SourceErrorKind};

/// A classified SDK failure as an inventory gap.
pub fn gap(call: &str, error: SourceError) -> Gap {
    let kind = match error.kind {
        SourceErrorKind::Authentication => "access_denied",
        SourceErrorKind::NotEnabled => "not_enabled",
        SourceErrorKind::Throttled => "throttled",
        SourceErrorKind::Unavailable => "unavailable",
        SourceErrorKind::Other => "error",
    };
    Gap {
        kind: kind.into(),
        detail: format!("{call}: {}", error.message),
    }
}
