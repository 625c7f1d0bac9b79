//! A read across accounts and Regions (the explorer port the MCP tool
//! talks to), what each account and Region answered, and the trimming of
//! an answer to a size budget with a note of everything cut.

use crate::execute::Budget;
use crate::policy::{Allowed, Refusal};
use serde::Serialize;
use serde_json::Value;

/// Where to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionChoice {
    /// These Regions.
    These(Vec<String>),
    /// Every Region enabled in each account.
    AllEnabled,
}

/// One read across accounts and Regions.
#[derive(Debug, Clone)]
pub struct Read {
    /// Service (the models' name: `ec2`, `s3`, `iam`).
    pub service: String,
    /// API operation (`DescribeInstances`).
    pub operation: String,
    /// Parameters in the API's own JSON shape.
    pub params: Value,
    /// Account ids; the server's own account may be among them.
    pub accounts: Vec<String>,
    /// Regions.
    pub regions: RegionChoice,
    /// Pages and items each account and Region may read.
    pub budget: Budget,
    /// Resumes one account and Region's paging.
    pub next_token: Option<String>,
}

/// What one account and Region answered.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TargetAnswer {
    /// The account.
    pub account_id: String,
    /// The Region read (a global service answers once, from one Region;
    /// `-` when the account itself could not be entered).
    pub region: String,
    /// The response (pages joined), as the API documents it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// Pages read.
    pub pages: usize,
    /// Items in the paginator's result lists.
    pub items: usize,
    /// Give back as `next_token` (with this account and Region) for more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TargetError>,
}

/// Why one account or Region could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TargetError {
    /// `AccessDenied` (the role or the call refused), `Throttled`,
    /// `ServiceError`, `InvalidParameters`, `Unreachable`.
    pub kind: String,
    /// The AWS error code, when AWS answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What went wrong (credentials masked).
    pub message: String,
}

/// Reads AWS for the explorer tool (AWS in production).
#[async_trait::async_trait]
pub trait Explorer: Send + Sync {
    /// The policy's decision, before anything is sent.
    fn decide(&self, read: &Read) -> Result<Allowed, Refusal>;
    /// The server's own account.
    async fn own_account(&self) -> Result<String, String>;
    /// The organization's active accounts.
    async fn organization_accounts(&self) -> Result<Vec<String>, String>;
    /// Runs an allowed read in every account and Region.
    async fn read(&self, allowed: &Allowed, read: &Read) -> Vec<TargetAnswer>;
}

/// What trimming cut, to say so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Trimmed {
    /// Size of the answer before trimming (bytes of JSON).
    pub bytes_before: usize,
    /// Size after.
    pub bytes_after: usize,
    /// Each cut: the list and how many of its items were kept, or the text
    /// shortened.
    pub cuts: Vec<String>,
}

/// Trims `value` until its JSON fits in `max_bytes`: the largest list
/// (never one at a `kept` JSON pointer, such as the answer's list of
/// accounts) is halved until it fits, then long texts are shortened; every
/// cut is noted. Returns `None` when nothing had to be cut.
pub fn trim_to(value: &mut Value, max_bytes: usize, kept: &[&str]) -> Option<Trimmed> {
    let size = |v: &Value| serde_json::to_string(v).map_or(0, |s| s.len());
    let before = size(value);
    if before <= max_bytes {
        return None;
    }
    let mut cuts: Vec<(String, usize, usize)> = Vec::new();
    let mut current = before;
    while current > max_bytes {
        let Some((path, len)) = largest_list(value, kept) else {
            break;
        };
        let keep = len / 2;
        if let Some(Value::Array(items)) = value.pointer_mut(&path) {
            items.truncate(keep);
        }
        match cuts.iter_mut().find(|(p, _, _)| *p == path) {
            Some(cut) => cut.2 = keep,
            None => cuts.push((path, len, keep)),
        }
        current = size(value);
    }
    let mut notes: Vec<String> = cuts
        .into_iter()
        .map(|(path, len, keep)| format!("{}: {keep} of {len} items kept", display(&path)))
        .collect();
    if current > max_bytes {
        let mut shortened = 0;
        shorten_texts(value, 256, &mut shortened);
        if shortened > 0 {
            notes.push(format!("{shortened} texts longer than 256 characters shortened"));
        }
        current = size(value);
    }
    Some(Trimmed {
        bytes_before: before,
        bytes_after: current,
        cuts: notes,
    })
}

/// The JSON pointer and length of the list with the most bytes.
fn largest_list(value: &Value, kept: &[&str]) -> Option<(String, usize)> {
    let mut lists = Vec::new();
    collect_lists(value, String::new(), &mut lists);
    lists
        .into_iter()
        .filter(|(path, _, _)| !kept.contains(&path.as_str()))
        .max_by_key(|(_, _, bytes)| *bytes)
        .map(|(path, len, _)| (path, len))
}

fn collect_lists(value: &Value, at: String, out: &mut Vec<(String, usize, usize)>) {
    match value {
        Value::Array(items) => {
            if !items.is_empty() {
                let bytes = serde_json::to_string(value).map_or(0, |s| s.len());
                out.push((at.clone(), items.len(), bytes));
            }
            for (i, v) in items.iter().enumerate() {
                collect_lists(v, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                collect_lists(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        _ => {}
    }
}

fn display(pointer: &str) -> String {
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .map(|s| {
            if s.chars().all(|c| c.is_ascii_digit()) {
                format!("[{s}]")
            } else {
                format!(".{s}")
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

fn shorten_texts(value: &mut Value, limit: usize, count: &mut usize) {
    match value {
        Value::String(s) if s.chars().count() > limit => {
            let kept: String = s.chars().take(limit).collect();
            *s = format!("{kept}… [{} characters cut]", s.chars().count() - limit);
            *count += 1;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shorten_texts(v, limit, count)),
        Value::Object(map) => map.values_mut().for_each(|v| shorten_texts(v, limit, count)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trimming_halves_the_largest_lists_and_says_so() {
        let mut v = json!({"results": [{"response": {"Reservations": (0..200).map(|i| json!({"id": i, "pad": "x".repeat(40)})).collect::<Vec<_>>(), "Small": [1, 2]}}]});
        assert!(trim_to(&mut v.clone(), 1_000_000, &["/results"]).is_none());
        let t = trim_to(&mut v, 2_000, &["/results"]).unwrap();
        assert!(t.bytes_after <= 2_000, "{t:?}");
        assert!(t.bytes_before > 10_000);
        let kept = v["results"][0]["response"]["Reservations"].as_array().unwrap().len();
        assert_eq!(
            t.cuts,
            vec![format!("results[0].response.Reservations: {kept} of 200 items kept")]
        );
        assert_eq!(v["results"][0]["response"]["Small"], json!([1, 2]));
    }

    #[test]
    fn long_texts_are_shortened_when_lists_are_not_enough() {
        let mut v = json!({"Policy": "p".repeat(5_000)});
        let t = trim_to(&mut v, 1_000, &[]).unwrap();
        assert_eq!(t.cuts, vec!["1 texts longer than 256 characters shortened".to_string()]);
        assert!(v["Policy"].as_str().unwrap().ends_with("[4744 characters cut]"));
    }
}
