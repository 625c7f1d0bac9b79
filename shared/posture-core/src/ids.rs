//! Identifiers parsed once, where they enter (a tool argument, a stored
//! record): a value of these types is valid by construction, so nothing
//! inside re-validates or re-formats it.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<AccountId, IdError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(s.to_string()))
        } else {
            Err(IdError("must be a 12-digit AWS account id".into()))
        }
    }
}

/// The id of an org-wide run: `yyyymmddThhmmssZ-<suffix>`, the instant it
/// was started (UTC) and a suffix of at most 40 of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RunId(String);

/// The pattern of [`RunId`], as published in tool schemas.
pub const RUN_ID_PATTERN: &str = "^[0-9]{8}T[0-9]{6}Z-[a-z0-9-]{1,40}$";

impl RunId {
    /// The id of a run started at `started_at` with `suffix`.
    pub fn new(started_at: Timestamp, suffix: &str) -> Result<RunId, IdError> {
        format!("{}-{suffix}", RunId::stamp(started_at)).parse()
    }

    /// The sortable prefix of the ids of runs started at `at`
    /// (`20261126T060000Z`); also a bound of a range of run ids.
    pub fn stamp(at: Timestamp) -> String {
        at.strftime("%Y%m%dT%H%M%SZ").to_string()
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// When the run was started, from the id's prefix.
    pub fn started_at(&self) -> Timestamp {
        let id = &self.0;
        format!(
            "{}-{}-{}T{}:{}:{}Z",
            &id[0..4],
            &id[4..6],
            &id[6..8],
            &id[9..11],
            &id[11..13],
            &id[13..15]
        )
        .parse()
        // The shape was checked in `from_str`; only an impossible date
        // (month 13) can fail, and `from_str` refuses that too.
        .unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

impl FromStr for RunId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<RunId, IdError> {
        let refuse = || IdError("is not a run id (like 20261126T060000Z-scheduled)".into());
        let (stamp, suffix) = s.split_once('-').ok_or_else(refuse)?;
        let b = stamp.as_bytes();
        let shaped = b.len() == 16
            && b[8] == b'T'
            && b[15] == b'Z'
            && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
            && !suffix.is_empty()
            && suffix.len() <= 40
            && suffix
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
        if !shaped {
            return Err(refuse());
        }
        let instant = format!(
            "{}-{}-{}T{}:{}:{}Z",
            &s[0..4],
            &s[4..6],
            &s[6..8],
            &s[9..11],
            &s[11..13],
            &s[13..15]
        );
        instant.parse::<Timestamp>().map_err(|_| refuse())?;
        Ok(RunId(s.to_string()))
    }
}

macro_rules! text_id {
    ($ty:ident, $schema:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                let text = Cow::<str>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $schema
            }
        }
    };
}

text_id!(
    AccountId,
    schemars::json_schema!({"type": "string", "pattern": "^[0-9]{12}$"})
);
text_id!(
    RunId,
    schemars::json_schema!({"type": "string", "pattern": RUN_ID_PATTERN})
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(bad.parse::<AccountId>().is_err(), "{bad}");
        }
        let json: Result<AccountId, _> = serde_json::from_str("\"12345\"");
        assert!(json.is_err());
    }

    #[test]
    fn run_ids_have_one_shape_and_know_when_they_started() {
        let id: RunId = "20261126T060000Z-scheduled".parse().unwrap();
        assert_eq!(id.started_at().to_string(), "2026-11-26T06:00:00Z");
        assert_eq!(
            RunId::new("2026-11-26T06:00:00Z".parse().unwrap(), "mcp-1a2b")
                .unwrap()
                .as_str(),
            "20261126T060000Z-mcp-1a2b"
        );
        for bad in [
            "20261126T060000Z",
            "20261126T060000Z-",
            "20261126T060000Z-UPPER",
            "20261326T060000Z-x",
            "2026-11-26-x",
            &format!("20261126T060000Z-{}", "a".repeat(41)),
        ] {
            assert!(bad.parse::<RunId>().is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"20261126T060000Z-scheduled\"");
    }
}
