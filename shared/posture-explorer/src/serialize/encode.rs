//! The encodings requests are made of, as the AWS SDKs (botocore) write them:
//! percent-encoding, form encoding, timestamps, scalars and JSON text.

use super::SerializeError;
use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use std::fmt::Write;

/// Everything but the unreserved characters (RFC 3986).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// A greedy URI label keeps its slashes.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

pub(crate) fn percent(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

pub(crate) fn percent_path(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED_AND_SLASH).to_string()
}

/// `application/x-www-form-urlencoded`: unreserved characters kept, space
/// as `+`, everything else percent-encoded.
pub(crate) fn form(pairs: &[(String, String)]) -> String {
    let plus = |s: &str| percent(s).replace("%20", "+");
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", plus(k), plus(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A query string: `key=value` pairs percent-encoded, joined by `&`.
pub(crate) fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A timestamp parameter: RFC 3339 text or epoch seconds.
pub(crate) fn timestamp(value: &Value, path: &str) -> Result<jiff::Timestamp, SerializeError> {
    let bad = || SerializeError::invalid(path, "a timestamp (RFC 3339 text or epoch seconds)");
    match value {
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .or_else(|_| {
                s.parse::<jiff::civil::DateTime>()
                    .map_err(|_| ())
                    .and_then(|d| jiff::tz::TimeZone::UTC.to_timestamp(d).map_err(|_| ()))
            })
            .map_err(|_| bad()),
        Value::Number(n) => {
            let seconds = n.as_f64().ok_or_else(bad)?;
            let micros = (seconds * 1e6).round() as i64;
            jiff::Timestamp::from_microsecond(micros).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// A timestamp in a format the model names: `iso8601` (microseconds shown
/// only when set), `unixTimestamp` (seconds, fractional when needed) or
/// `rfc822`.
pub(crate) fn timestamp_text(at: jiff::Timestamp, format: &str) -> String {
    let micros = at.subsec_microsecond();
    match format.to_ascii_lowercase().as_str() {
        "unixtimestamp" => {
            if micros == 0 {
                at.as_second().to_string()
            } else {
                python_float((at.as_second() as f64 * 1e6 + f64::from(micros)) / 1e6)
            }
        }
        "rfc822" => at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        _ => {
            if micros == 0 {
                at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                format!("{}.{micros:06}Z", at.strftime("%Y-%m-%dT%H:%M:%S"))
            }
        }
    }
}

pub(crate) fn base64(value: &Value, path: &str) -> Result<String, SerializeError> {
    let text = value
        .as_str()
        .ok_or_else(|| SerializeError::invalid(path, "text (a blob is sent base64-encoded)"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
}

/// A float as Python's `repr` writes it (botocore's text of a number).
pub(crate) fn python_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let exponent = if value == 0.0 {
        0
    } else {
        value.abs().log10().floor() as i32
    };
    if (-4..16).contains(&exponent) {
        let text = format!("{value}");
        if text.contains('.') { text } else { format!("{text}.0") }
    } else {
        // Rust writes 1e-5 / 1e16; Python 1e-05 / 1e+16.
        let text = format!("{value:e}");
        match text.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => text,
        }
    }
}

/// A JSON number's text as botocore sends it (ints as written, floats as
/// Python's repr).
pub(crate) fn number_text(n: &serde_json::Number) -> String {
    if n.is_f64() {
        n.as_f64().map(python_float).unwrap_or_else(|| n.to_string())
    } else {
        n.to_string()
    }
}

/// A scalar parameter as text (query strings, headers, form bodies).
pub(crate) fn scalar_text(value: &Value, path: &str) -> Result<String, SerializeError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(number_text(n)),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(SerializeError::invalid(path, "a single value")),
    }
}

/// JSON text as Python's `json.dumps` writes it by default (what botocore
/// sends): `", "` and `": "` separators, non-ASCII escaped.
pub(crate) fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_string(k, out);
                out.push_str(": ");
                write_json(v, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_read_as_python_writes_them() {
        assert_eq!(python_float(1.5), "1.5");
        assert_eq!(python_float(5.0), "5.0");
        assert_eq!(python_float(0.00001), "1e-05");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(0.0001), "0.0001");
    }

    #[test]
    fn json_text_as_python_dumps_it() {
        let v = json!({"b": [1, 2.5, true, null], "a": "é\"x"});
        assert_eq!(python_json(&v), r#"{"a": "\u00e9\"x", "b": [1, 2.5, true, null]}"#);
    }

    #[test]
    fn timestamps_in_each_format() {
        let at: jiff::Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        assert_eq!(timestamp_text(at, "iso8601"), "2026-12-07T10:00:00Z");
        assert_eq!(timestamp_text(at, "unixTimestamp"), "1796637600");
        assert_eq!(timestamp_text(at, "rfc822"), "Mon, 07 Dec 2026 10:00:00 GMT");
        let fine: jiff::Timestamp = "2026-12-07T10:00:00.25Z".parse().unwrap();
        assert_eq!(timestamp_text(fine, "iso8601"), "2026-12-07T10:00:00.250000Z");
        assert_eq!(timestamp_text(fine, "unixTimestamp"), "1796637600.25");
    }

    #[test]
    fn forms_and_query_strings() {
        let pairs = vec![("Name".to_string(), "a b/c~".to_string())];
        assert_eq!(form(&pairs), "Name=a+b%2Fc~");
        assert_eq!(query_string(&pairs), "Name=a%20b%2Fc~");
        assert_eq!(percent_path("a b/c"), "a%20b/c");
    }
}
