//! Accepted risks: a reviewed file of exceptions, each naming a control
//! (a native check, a Security Hub control or a framework requirement), a
//! scope, a reason, an owner, when it was accepted and when it expires. An
//! excepted failure is shown SUPPRESSED with its exception, never PASSED;
//! an expired exception stops applying. This module reads and checks the
//! file and decides which exception covers a failure ([`Acceptance`]).
//!
//! What an exception's `control` names decides where it applies: a native
//! check id (`s3.bucket_versioning`) or a Security Hub control id (`S3.14`)
//! covers that control's failures, through either source (a native check
//! and the Security Hub control it corresponds to are one control), in every
//! framework; a framework requirement (`CIS 2.1.4`, the framework's short
//! name or id, a space, the requirement id) covers its failures in that
//! framework only.

use crate::ids::AccountId;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The longest an exception may run before it must be reviewed again.
pub const MAX_EXCEPTION_DAYS: i32 = 366;

/// The file's format version.
pub const SCHEMA_VERSION: u32 = 1;

/// Where an exception applies: the organization, an organizational unit or
/// an account, narrowed by Region and resource when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExceptionScope {
    /// Every account of the organization.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub organization: bool,
    /// An organizational unit (id `ou-...`, name, or path of names from the root) and its children.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
    /// One account (12 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Only this Region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only resources matching this pattern (`*` matches any run of characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// One accepted risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// Unique in the file.
    pub id: String,
    /// `s3.bucket_not_public`, `S3.8` or `CIS 2.1.4`.
    pub control: String,
    /// Where it applies.
    pub scope: ExceptionScope,
    /// Why the risk is accepted.
    pub reason: String,
    /// Who accepted it.
    pub owner: String,
    /// When it was accepted.
    #[schemars(with = "String")]
    pub created: Date,
    /// The last day it applies.
    #[schemars(with = "String")]
    pub expires: Date,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionsFile {
    schema_version: u32,
    exceptions: Vec<Exception>,
}

/// An exceptions file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, schemars::JsonSchema)]
#[error("{file}: {location}: {message}")]
pub struct ExceptionsError {
    /// The file.
    pub file: String,
    /// `line 12, column 5` or `exceptions[2] (id "web").expires`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

/// The exceptions file as loaded: where from, its exceptions, or why it
/// could not be used (then none applies).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedExceptions {
    /// The file (`None`: none configured).
    pub source: Option<String>,
    /// Its exceptions (empty when it could not be used).
    pub exceptions: Vec<Exception>,
    /// Why it could not be used, with the place in the file.
    pub error: Option<ExceptionsError>,
}

/// Where an exception stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExceptionState {
    /// Not yet in force (accepted for a later day).
    Pending,
    /// In force.
    Active,
    /// Past its last day: the failure counts again.
    Expired,
}

impl Exception {
    /// Where it stands on `day`.
    pub fn state(&self, day: Date) -> ExceptionState {
        if day < self.created {
            ExceptionState::Pending
        } else if day > self.expires {
            ExceptionState::Expired
        } else {
            ExceptionState::Active
        }
    }

    /// Days left on `day` (0 on its last day); `None` once expired.
    pub fn days_left(&self, day: Date) -> Option<i32> {
        (day <= self.expires).then(|| (self.expires - day).get_days())
    }

    /// Whether it covers a failure of one of `controls` (the failed check's
    /// id, its Security Hub control, the requirements it decides) in
    /// `account_id` (whose organizational units `in_unit` answers for),
    /// `region` and `resource`. The day is not looked at: see [`Self::state`].
    pub fn covers(
        &self,
        controls: &[&str],
        account_id: &str,
        in_unit: &dyn Fn(&str) -> bool,
        region: &str,
        resource: &str,
    ) -> bool {
        let s = &self.scope;
        let control = controls.iter().any(|c| c.eq_ignore_ascii_case(self.control.trim()));
        let place =
            s.organization || s.account_id.as_deref() == Some(account_id) || s.ou.as_deref().is_some_and(in_unit);
        let in_region = s.region.as_deref().is_none_or(|r| r == region);
        let on_resource = s
            .resource
            .as_deref()
            .is_none_or(|p| crate::posture::checks::glob(p, resource));
        control && place && in_region && on_resource
    }
}

/// The exceptions in force for an assessment: the file's, the day the
/// evidence was read, and each account's organizational units (ids, names
/// and paths of names from the root, which an exception's `ou` may name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Acceptance {
    exceptions: Vec<Exception>,
    day: Option<Date>,
    units: BTreeMap<String, Vec<String>>,
}

/// How a failure is named to [`Acceptance::covering`].
#[derive(Debug, Clone, Copy)]
pub struct FailedEvidence<'a> {
    /// The control names it answers to: the check id and its Security Hub
    /// control, or the control id and the checks that correspond to it,
    /// and the requirement (`CIS 2.1.4`, `CIS-AWS-3.0 2.1.4`).
    pub controls: &'a [&'a str],
    /// Its account.
    pub account_id: &'a str,
    /// Its Region (empty for a global resource).
    pub region: &'a str,
    /// The failing resources as the check or finding names them: an
    /// exception covers the failure when it covers every one (a Security Hub
    /// finding may name several; none is taken as one unnamed resource).
    pub resources: &'a [&'a str],
}

impl Acceptance {
    /// No exceptions: nothing is suppressed.
    pub const NONE: Acceptance = Acceptance {
        exceptions: Vec::new(),
        day: None,
        units: BTreeMap::new(),
    };

    /// `exceptions` as they stand on `day`; `units` gives each account's
    /// organizational units by every name an exception may use
    /// (`org::run::unit_names`).
    pub fn new(
        exceptions: Vec<Exception>,
        day: Date,
        units: impl IntoIterator<Item = (String, Vec<String>)>,
    ) -> Acceptance {
        Acceptance {
            exceptions,
            day: Some(day),
            units: units.into_iter().collect(),
        }
    }

    /// True when there are no exceptions at all.
    pub fn is_empty(&self) -> bool {
        self.exceptions.is_empty()
    }

    /// Every exception of the file.
    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// The day exceptions are judged on.
    pub fn day(&self) -> Option<Date> {
        self.day
    }

    /// The first exception in force that covers `failed`.
    pub fn covering(&self, failed: &FailedEvidence) -> Option<&Exception> {
        self.first_in(ExceptionState::Active, failed)
    }

    /// The first expired exception that would cover `failed`: a failure
    /// that counts again, flagged.
    pub fn lapsed(&self, failed: &FailedEvidence) -> Option<&Exception> {
        self.first_in(ExceptionState::Expired, failed)
    }

    fn first_in(&self, state: ExceptionState, failed: &FailedEvidence) -> Option<&Exception> {
        let day = self.day?;
        self.exceptions
            .iter()
            .find(|e| e.state(day) == state && self.covers(e, failed))
    }

    /// Whether `exception` covers `failed` (every resource of it), whatever the day.
    pub fn covers(&self, exception: &Exception, failed: &FailedEvidence) -> bool {
        let units = self.units.get(failed.account_id);
        let in_unit = |unit: &str| units.is_some_and(|u| u.iter().any(|n| n == unit.trim()));
        let unnamed: &[&str] = &[""];
        let resources = if failed.resources.is_empty() {
            unnamed
        } else {
            failed.resources
        };
        resources
            .iter()
            .all(|resource| exception.covers(failed.controls, failed.account_id, &in_unit, failed.region, resource))
    }
}

/// The account and the plain name of a failing resource: `account` when the
/// evidence is one account's, else from an organization-wide name
/// (`<account>/<resource>`, or `account <id>` for the account itself).
pub fn account_and_resource<'r>(resource: &'r str, account: Option<&'r str>) -> (&'r str, &'r str) {
    match account {
        Some(account) => (account, resource),
        None => match resource.strip_prefix("account ") {
            Some(id) => (id, resource),
            None => resource.split_once('/').unwrap_or(("", resource)),
        },
    }
}

/// A failure an exception covers, as answers show it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Suppressed {
    /// The failing resource (`account/resource` in organization-wide answers).
    pub resource: String,
    /// The exception's id.
    pub exception_id: String,
    /// Why the risk is accepted.
    pub reason: String,
    /// Who accepted it.
    pub owner: String,
    /// When it was accepted.
    #[schemars(with = "String")]
    pub accepted_on: Date,
    /// Its last day.
    #[schemars(with = "String")]
    pub expires: Date,
}

impl Suppressed {
    /// `resource` suppressed by `exception`.
    pub fn new(resource: String, exception: &Exception) -> Suppressed {
        Suppressed {
            resource,
            exception_id: exception.id.clone(),
            reason: exception.reason.clone(),
            owner: exception.owner.clone(),
            accepted_on: exception.created,
            expires: exception.expires,
        }
    }
}

/// Parses and checks an exceptions file (JSON): known fields only, every
/// exception with an id (unique), a control, exactly one of organization,
/// ou and account_id, a reason and an owner, and an expiry after its
/// creation and at most [`MAX_EXCEPTION_DAYS`] later.
pub fn parse(file: &str, text: &str) -> Result<Vec<Exception>, ExceptionsError> {
    let err = |location: String, message: String| ExceptionsError {
        file: file.to_string(),
        location,
        message,
    };
    let parsed: ExceptionsFile = serde_json::from_str(text)
        .map_err(|e| err(format!("line {}, column {}", e.line(), e.column()), e.to_string()))?;
    if parsed.schema_version != SCHEMA_VERSION {
        return Err(err(
            "schema_version".into(),
            format!(
                "version {} is not known; this server reads version {SCHEMA_VERSION}",
                parsed.schema_version
            ),
        ));
    }
    let mut ids = BTreeSet::new();
    for (i, e) in parsed.exceptions.iter().enumerate() {
        let at = |field: &str| format!("exceptions[{i}] (id {:?}).{field}", e.id);
        for (field, value) in [
            ("id", &e.id),
            ("control", &e.control),
            ("reason", &e.reason),
            ("owner", &e.owner),
        ] {
            if value.trim().is_empty() {
                return Err(err(at(field), "must not be empty".into()));
            }
        }
        if !ids.insert(e.id.trim()) {
            return Err(err(at("id"), "another exception has this id".into()));
        }
        let s = &e.scope;
        let places = [s.organization, s.ou.is_some(), s.account_id.is_some()]
            .iter()
            .filter(|p| **p)
            .count();
        if places != 1 {
            return Err(err(
                at("scope"),
                "name exactly one of organization (true), ou or account_id".into(),
            ));
        }
        if let Some(account) = &s.account_id
            && account.parse::<AccountId>().is_err()
        {
            return Err(err(
                at("scope.account_id"),
                format!("{account:?} is not a 12-digit account id"),
            ));
        }
        if e.expires <= e.created {
            return Err(err(
                at("expires"),
                format!("{} is not after created ({})", e.expires, e.created),
            ));
        }
        let days = (e.expires - e.created).get_days();
        if days > MAX_EXCEPTION_DAYS {
            return Err(err(
                at("expires"),
                format!(
                    "{days} days after created; an exception runs at most {MAX_EXCEPTION_DAYS} days before it is reviewed"
                ),
            ));
        }
    }
    Ok(parsed.exceptions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const FILE: &str = r#"{
  "schema_version": 1,
  "exceptions": [
    {"id": "website-bucket", "control": "s3.bucket_not_public",
     "scope": {"account_id": "345678901234", "resource": "arn:aws:s3:::www-*"},
     "reason": "static website", "owner": "web-team@example.com",
     "created": "2026-12-01", "expires": "2027-06-01"},
    {"id": "sandbox-mfa", "control": "CIS 1.10", "scope": {"ou": "Sandbox", "region": "us-east-1"},
     "reason": "break-glass users in a sealed OU", "owner": "secops@example.com",
     "created": "2026-01-01", "expires": "2026-11-30"}
  ]
}"#;

    #[test]
    fn a_file_reads_and_states_follow_the_calendar() {
        let all = parse("exceptions.json", FILE).unwrap();
        assert_eq!(all.len(), 2);
        let today = date(2026, 12, 7);
        assert_eq!(all[0].state(today), ExceptionState::Active);
        assert_eq!(all[0].days_left(today), Some(176));
        assert_eq!(all[1].state(today), ExceptionState::Expired);
        assert_eq!(all[1].days_left(today), None);
        assert_eq!(all[0].state(date(2026, 11, 30)), ExceptionState::Pending);
    }

    #[test]
    fn covering_takes_control_place_region_and_resource() {
        let all = parse("exceptions.json", FILE).unwrap();
        let nowhere = |_: &str| false;
        let web = &all[0];
        assert!(web.covers(
            &["s3.bucket_not_public"],
            "345678901234",
            &nowhere,
            "eu-west-1",
            "arn:aws:s3:::www-example"
        ));
        assert!(!web.covers(
            &["s3.bucket_not_public"],
            "345678901234",
            &nowhere,
            "eu-west-1",
            "arn:aws:s3:::data"
        ));
        assert!(!web.covers(
            &["s3.bucket_not_public"],
            "456789012345",
            &nowhere,
            "eu-west-1",
            "arn:aws:s3:::www-example"
        ));
        assert!(!web.covers(
            &["s3.bucket_versioning"],
            "345678901234",
            &nowhere,
            "eu-west-1",
            "arn:aws:s3:::www-example"
        ));
        let sandbox = &all[1];
        let in_sandbox = |unit: &str| unit == "Sandbox";
        assert!(sandbox.covers(
            &["iam.all_users_mfa", "cis 1.10"],
            "456789012345",
            &in_sandbox,
            "us-east-1",
            "x"
        ));
        assert!(!sandbox.covers(&["CIS 1.10"], "456789012345", &in_sandbox, "eu-west-1", "x"));
        assert!(!sandbox.covers(&["CIS 1.10"], "456789012345", &nowhere, "us-east-1", "x"));
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let bad = |text: &str| parse("e.json", text).unwrap_err();
        let one = |fields: &str| {
            format!(
                r#"{{"schema_version": 1, "exceptions": [{{"id": "a", "control": "S3.8", "reason": "r", "owner": "o", {fields}}}]}}"#
            )
        };
        let e = bad("{\n  \"schema_version\": 1,\n  \"exceptions\": [{\"id\": 1}]\n}");
        assert_eq!(
            (e.file.as_str(), e.location.as_str()),
            ("e.json", "line 3, column 25"),
            "{e}"
        );
        let e = bad(&one(
            r#""scope": {"organization": true, "account_id": "345678901234"}, "created": "2026-01-01", "expires": "2026-02-01""#,
        ));
        assert_eq!(e.location, "exceptions[0] (id \"a\").scope");
        let e = bad(&one(
            r#""scope": {"account_id": "12"}, "created": "2026-01-01", "expires": "2026-02-01""#,
        ));
        assert_eq!(e.location, "exceptions[0] (id \"a\").scope.account_id");
        let e = bad(&one(
            r#""scope": {"organization": true}, "created": "2026-01-01", "expires": "2028-01-01""#,
        ));
        assert!(
            e.location.ends_with(".expires") && e.message.contains("at most 366"),
            "{e}"
        );
        let e = bad(&one(
            r#""scope": {"organization": true}, "created": "2026-01-01", "expires": "2025-12-01""#,
        ));
        assert!(e.message.contains("not after created"), "{e}");
        let e = bad(&one(
            r#""scope": {"organization": true}, "created": "2026-01-01", "expires": "2026-02-01", "approved": true"#,
        ));
        assert!(e.message.contains("unknown field"), "{e}");
        let e = bad(r#"{"schema_version": 2, "exceptions": []}"#);
        assert_eq!(e.location, "schema_version");
    }
}
