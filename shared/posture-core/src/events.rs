//! CloudTrail management events as an investigation reads them: one event
//! normalized from its `CloudTrailEvent` record, the query a reader answers
//! (one attribute filter, a window inside CloudTrail's 90 days of event
//! history, a budget), what each Region gave, and the merge of Regions into
//! one timeline (ordered by time, each event once).

use crate::sources::SourceError;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The Region global services (IAM, STS, Organizations) log their events in.
pub const GLOBAL_EVENTS_REGION: &str = "us-east-1";

/// How far back CloudTrail's event history goes.
pub const EVENT_HISTORY_DAYS: i64 = 90;

/// One management event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrailEvent {
    /// `eventID`.
    pub event_id: String,
    /// `eventTime`.
    pub event_time: Timestamp,
    /// `eventName`.
    pub event_name: String,
    /// `eventSource` (`iam.amazonaws.com`).
    pub event_source: String,
    /// `awsRegion`.
    pub region: String,
    /// `userIdentity.type` (`IAMUser`, `AssumedRole`, `Root`, ...).
    pub identity_type: Option<String>,
    /// `userIdentity.arn`.
    pub principal_arn: Option<String>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// `errorCode` (`AccessDenied`, ...), `None` when the call succeeded.
    pub error_code: Option<String>,
    /// `readOnly`.
    pub read_only: Option<bool>,
    /// The resources CloudTrail lists for the event (names or ARNs).
    pub resources: Vec<String>,
    /// `recipientAccountId`: the account the event was logged in.
    #[serde(default)]
    pub account_id: Option<String>,
    /// `requestParameters.roleArn` of an `AssumeRole*` call: the role asked for.
    #[serde(default)]
    pub assumed_role_arn: Option<String>,
    /// `responseElements.credentials.accessKeyId` of an `AssumeRole*` call:
    /// the key of the session it issued, which the role's account logs its
    /// calls under.
    #[serde(default)]
    pub issued_access_key_id: Option<String>,
}

/// Why a record could not be read as an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not JSON, or not an object.
    #[error("CloudTrailEvent is not a JSON object: {0}")]
    Malformed(String),
    /// A field every record has is missing or of the wrong type.
    #[error("CloudTrailEvent has no {0}")]
    Missing(&'static str),
}

impl TrailEvent {
    /// Reads one `CloudTrailEvent` record (the JSON string LookupEvents
    /// returns for each event), with the resource names LookupEvents lists
    /// beside it.
    pub fn from_record(record: &str, resources: Vec<String>) -> Result<TrailEvent, EventError> {
        let v: serde_json::Value = serde_json::from_str(record).map_err(|e| EventError::Malformed(e.to_string()))?;
        if !v.is_object() {
            return Err(EventError::Malformed("not an object".into()));
        }
        let text = |path: &[&str]| -> Option<String> {
            let mut at = &v;
            for key in path {
                at = at.get(key)?;
            }
            at.as_str().map(str::to_string)
        };
        let required = |key: &'static str| text(&[key]).ok_or(EventError::Missing(key));
        let event_time = required("eventTime")?
            .parse::<Timestamp>()
            .map_err(|_| EventError::Missing("eventTime"))?;
        Ok(TrailEvent {
            event_id: required("eventID")?,
            event_time,
            event_name: required("eventName")?,
            event_source: required("eventSource")?,
            region: required("awsRegion")?,
            identity_type: text(&["userIdentity", "type"]),
            principal_arn: text(&["userIdentity", "arn"]),
            access_key_id: text(&["userIdentity", "accessKeyId"]),
            source_ip: text(&["sourceIPAddress"]),
            user_agent: text(&["userAgent"]),
            error_code: text(&["errorCode"]),
            read_only: v.get("readOnly").and_then(serde_json::Value::as_bool),
            resources,
            account_id: text(&["recipientAccountId"]),
            assumed_role_arn: text(&["requestParameters", "roleArn"]),
            issued_access_key_id: text(&["responseElements", "credentials", "accessKeyId"]),
        })
    }
}

/// The one attribute LookupEvents filters on (it takes exactly one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "attribute", content = "value", rename_all = "snake_case")]
pub enum EventFilter {
    /// `Username` (an IAM user or role session name).
    Username(String),
    /// `AccessKeyId`.
    AccessKeyId(String),
    /// `ResourceName` (a resource's name or ARN).
    ResourceName(String),
    /// `EventName`.
    EventName(String),
    /// `EventId`.
    EventId(String),
}

/// What to read.
#[derive(Debug, Clone, PartialEq)]
pub struct EventQuery {
    /// The attribute filter, if any.
    pub filter: Option<EventFilter>,
    /// Window start (inclusive).
    pub start: Timestamp,
    /// Window end (inclusive).
    pub end: Timestamp,
    /// Most events read per Region before stopping (said, with the token).
    pub max_events_per_region: usize,
}

/// Why a query cannot be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The window ends before it starts.
    #[error("the window ends before it starts")]
    Inverted,
    /// The window starts before CloudTrail's event history does.
    #[error(
        "the window starts more than {EVENT_HISTORY_DAYS} days before {now}: event history does not go back so far"
    )]
    BeyondHistory {
        /// The time measured against.
        now: Timestamp,
    },
    /// A zero budget.
    #[error("max_events_per_region must be at least 1")]
    NoBudget,
}

impl EventQuery {
    /// A query, checked against CloudTrail's limits as of `now`.
    pub fn new(
        filter: Option<EventFilter>,
        start: Timestamp,
        end: Timestamp,
        max_events_per_region: usize,
        now: Timestamp,
    ) -> Result<EventQuery, QueryError> {
        if end < start {
            return Err(QueryError::Inverted);
        }
        if start < now - SignedDuration::from_hours(24 * EVENT_HISTORY_DAYS) {
            return Err(QueryError::BeyondHistory { now });
        }
        if max_events_per_region == 0 {
            return Err(QueryError::NoBudget);
        }
        Ok(EventQuery {
            filter,
            start,
            end,
            max_events_per_region,
        })
    }
}

/// What one Region's read gave.
#[derive(Debug, Clone, PartialEq)]
pub enum RegionRead {
    /// Every matching event in the window was read.
    Complete {
        /// Events read.
        events: usize,
    },
    /// The budget ran out first; `next_token` continues the read.
    Truncated {
        /// Events read.
        events: usize,
        /// LookupEvents' `NextToken`.
        next_token: String,
    },
    /// The Region could not be read (after what it gave, if anything).
    Failed {
        /// Events read before the failure.
        events: usize,
        /// Why.
        error: SourceError,
    },
}

/// Events of several Regions in one timeline, with what each Region gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Ordered by time (then event id), each event once.
    pub events: Vec<TrailEvent>,
    /// Per Region.
    pub regions: BTreeMap<String, RegionRead>,
}

impl Timeline {
    /// Merges the Regions' events: ordered by `eventTime` then `eventID`, an
    /// event seen in two Regions (a global service's) kept once.
    pub fn merge(reads: Vec<(String, Vec<TrailEvent>, RegionRead)>) -> Timeline {
        let mut seen = BTreeSet::new();
        let mut events = Vec::new();
        let mut regions = BTreeMap::new();
        for (region, batch, read) in reads {
            events.extend(batch.into_iter().filter(|e| seen.insert(e.event_id.clone())));
            regions.insert(region, read);
        }
        events.sort_by(|a, b| {
            a.event_time
                .cmp(&b.event_time)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        Timeline { events, regions }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::SourceErrorKind;

    fn record(id: &str, time: &str, name: &str, region: &str) -> String {
        serde_json::json!({
            "eventVersion": "1.09", "eventID": id, "eventTime": time, "eventName": name,
            "eventSource": "iam.amazonaws.com", "awsRegion": region, "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-cli/2.15", "readOnly": false,
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/app/i-0abc",
                             "accessKeyId": "ASIAEXAMPLE"},
            "errorCode": "AccessDenied", "recipientAccountId": "111122223333",
            "requestParameters": {"roleArn": "arn:aws:iam::444455556666:role/deploy"},
            "responseElements": {"credentials": {"accessKeyId": "ASIANEWSESSION"}}
        })
        .to_string()
    }

    #[test]
    fn a_record_reads_into_an_event_and_a_broken_one_says_what_is_missing() {
        let e = TrailEvent::from_record(
            &record("e1", "2026-12-01T10:00:00Z", "CreateUser", "us-east-1"),
            vec!["bob".into()],
        )
        .unwrap();
        assert_eq!(e.event_name, "CreateUser");
        assert_eq!(e.access_key_id.as_deref(), Some("ASIAEXAMPLE"));
        assert_eq!(e.source_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(e.error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(e.read_only, Some(false));
        assert_eq!(e.resources, ["bob"]);
        assert_eq!(e.account_id.as_deref(), Some("111122223333"));
        assert_eq!(
            e.assumed_role_arn.as_deref(),
            Some("arn:aws:iam::444455556666:role/deploy")
        );
        assert_eq!(e.issued_access_key_id.as_deref(), Some("ASIANEWSESSION"));
        assert_eq!(
            TrailEvent::from_record(r#"{"eventID": "x"}"#, vec![]),
            Err(EventError::Missing("eventTime"))
        );
        assert!(matches!(
            TrailEvent::from_record("[1]", vec![]),
            Err(EventError::Malformed(_))
        ));
    }

    #[test]
    fn regions_merge_in_time_order_and_a_global_event_counts_once() {
        let ev = |id: &str, t: &str, r: &str| TrailEvent::from_record(&record(id, t, "X", r), vec![]).unwrap();
        let east = vec![
            ev("b", "2026-12-01T10:00:02Z", "us-east-1"),
            ev("g", "2026-12-01T10:00:01Z", "us-east-1"),
        ];
        let west = vec![
            ev("a", "2026-12-01T10:00:00Z", "eu-west-1"),
            ev("g", "2026-12-01T10:00:01Z", "us-east-1"),
        ];
        let denied = SourceError {
            service: "CloudTrail".into(),
            kind: SourceErrorKind::Authentication,
            message: "AccessDenied".into(),
        };
        let t = Timeline::merge(vec![
            ("us-east-1".into(), east, RegionRead::Complete { events: 2 }),
            ("eu-west-1".into(), west, RegionRead::Complete { events: 2 }),
            (
                "ap-south-1".into(),
                vec![],
                RegionRead::Failed {
                    events: 0,
                    error: denied,
                },
            ),
        ]);
        let ids: Vec<&str> = t.events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(ids, ["a", "g", "b"]);
        assert!(matches!(t.regions["ap-south-1"], RegionRead::Failed { .. }));
    }

    #[test]
    fn a_query_stays_inside_event_history() {
        let now: Timestamp = "2026-12-07T00:00:00Z".parse().unwrap();
        let day = SignedDuration::from_hours(24);
        assert!(EventQuery::new(None, now - day * 89, now, 10, now).is_ok());
        assert_eq!(
            EventQuery::new(None, now - day * 91, now, 10, now),
            Err(QueryError::BeyondHistory { now })
        );
        assert_eq!(
            EventQuery::new(None, now, now - day, 10, now),
            Err(QueryError::Inverted)
        );
        assert_eq!(EventQuery::new(None, now - day, now, 0, now), Err(QueryError::NoBudget));
    }
}
