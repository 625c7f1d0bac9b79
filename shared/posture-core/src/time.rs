//! Time helpers: a window of days ending now, and the relative timestamps
//! (`now-3d2h`) the demo data is written in.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A closed time window `[start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Start of the window (inclusive).
    pub start: Timestamp,
    /// End of the window (inclusive), normally "now".
    pub end: Timestamp,
}

impl TimeWindow {
    /// The `days` days that end at `end`.
    pub fn last_days(end: Timestamp, days: u32) -> TimeWindow {
        let start = end - SignedDuration::from_hours(24 * i64::from(days));
        TimeWindow { start, end }
    }

    /// Whether `t` lies inside the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        t >= self.start && t <= self.end
    }

    /// The instant halfway through the window.
    pub fn midpoint(&self) -> Timestamp {
        let half = self.end.duration_since(self.start) / 2;
        self.start + half
    }

    /// Length of the window in whole days (rounded down).
    pub fn days(&self) -> i64 {
        self.end.duration_since(self.start).as_secs() / 86_400
    }
}

/// Reads a timestamp as the AWS JSON protocols send one: epoch seconds (a
/// number: the awsJson and restJson default) or RFC 3339 text (members the
/// model marks `date-time`, and what this crate writes back). Use with
/// `#[serde(default, deserialize_with = "crate::time::wire_timestamp")]`.
pub fn wire_timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Seconds(f64),
        Text(String),
    }
    match Option::<Wire>::deserialize(d)? {
        None => Ok(None),
        Some(Wire::Text(text)) => parse_timestamp(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 timestamp"))),
        Some(Wire::Seconds(secs)) => {
            let millis = (secs * 1000.0).round();
            if !millis.is_finite() || millis.abs() > i64::MAX as f64 {
                return Err(serde::de::Error::custom(format!("{secs} is not a timestamp")));
            }
            Timestamp::from_millisecond(millis as i64)
                .map(Some)
                .map_err(serde::de::Error::custom)
        }
    }
}

/// The calendar day of `t` in UTC (the day exceptions are judged on).
pub fn utc_day(t: Timestamp) -> jiff::civil::Date {
    jiff::tz::TimeZone::UTC.to_datetime(t).date()
}

/// Parses an RFC 3339 timestamp as AWS writes them (`2026-11-26T14:00:00Z`,
/// `2026-11-26T14:00:00.123Z`, or with an offset).
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok()
}

/// Expands a relative timestamp such as `now`, `now-45m`, `now-3d2h` against
/// `now`. Returns `None` for anything else.
pub fn expand_relative(text: &str, now: Timestamp) -> Option<Timestamp> {
    let rest = text.strip_prefix("now")?;
    if rest.is_empty() {
        return Some(now);
    }
    let mut rest = rest.strip_prefix('-')?;
    if rest.is_empty() {
        return None;
    }
    let mut total_minutes: i64 = 0;
    let mut last_unit_rank = 0;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let value: i64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let (rank, minutes) = match unit {
            'd' => (1, 24 * 60),
            'h' => (2, 60),
            'm' => (3, 1),
            _ => return None,
        };
        if rank <= last_unit_rank {
            return None;
        }
        last_unit_rank = rank;
        total_minutes = total_minutes.checked_add(value.checked_mul(minutes)?)?;
        rest = &rest[digits + 1..];
    }
    Some(now - SignedDuration::from_mins(total_minutes))
}

/// Replaces, in place, every JSON string that is a relative timestamp with its
/// RFC 3339 form relative to `now`, and every `epoch:` relative timestamp with
/// epoch seconds (a JSON number), the form AWS JSON protocols use for fields
/// of type timestamp.
pub fn expand_relative_in_json(value: &mut serde_json::Value, now: Timestamp) {
    match value {
        serde_json::Value::String(s) => {
            if let Some(t) = s.strip_prefix("epoch:").and_then(|r| expand_relative(r, now)) {
                *value = serde_json::json!(t.as_millisecond() as f64 / 1000.0);
            } else if let Some(t) = expand_relative(s, now) {
                *s = t.to_string();
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                expand_relative_in_json(item, now);
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values_mut() {
                expand_relative_in_json(item, now);
            }
        }
        _ => {}
    }
}

/// The JSON schema of a stored or reported instant: an RFC 3339 string
/// (`#[schemars(with = "crate::time::DateTime")]` on a `Timestamp` field).
pub struct DateTime;

impl schemars::JsonSchema for DateTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DateTime".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "date-time"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-26T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn relative_timestamps_expand() {
        assert_eq!(expand_relative("now", now()), Some(now()));
        assert_eq!(
            expand_relative("now-3d2h", now()).map(|t| t.to_string()),
            Some("2026-11-23T10:00:00Z".to_string())
        );
        assert_eq!(
            expand_relative("now-45m", now()).map(|t| t.to_string()),
            Some("2026-11-26T11:15:00Z".to_string())
        );
    }

    #[test]
    fn malformed_relative_timestamps_are_left_alone() {
        for bad in ["now-", "now-2h3d", "now-3x", "nowish", "now+3d", "later", "now-d"] {
            assert_eq!(expand_relative(bad, now()), None, "{bad}");
        }
    }

    #[test]
    fn epoch_placeholders_become_numbers() {
        let mut v = serde_json::json!({"a": "epoch:now-1m", "b": ["now"], "c": "epoch:soon"});
        expand_relative_in_json(&mut v, now());
        assert_eq!(v["a"], serde_json::json!(now().as_second() as f64 - 60.0));
        assert_eq!(v["b"][0], "2026-11-26T12:00:00Z");
        assert_eq!(v["c"], "epoch:soon");
    }

    #[test]
    fn windows_split_in_halves() {
        let w = TimeWindow::last_days(now(), 30);
        assert_eq!(w.days(), 30);
        assert_eq!(w.midpoint().to_string(), "2026-11-11T12:00:00Z");
        assert!(w.contains(now()));
        assert!(!w.contains(w.start - SignedDuration::from_secs(1)));
    }
}
