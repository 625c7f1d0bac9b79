//! One allowed operation run to its answer: request, send (through the
//! caller's transport), parse, and follow the operation's paginator within
//! a budget of pages and items, saying honestly where it stopped.

use crate::model::{OneOrMany, Paginator};
use crate::parse::{self, RawResponse, ResponseError};
use crate::policy::Allowed;
use crate::request::{self, Endpoint, RequestError, SignedRequest};
use aws_credential_types::Credentials;
use base64::Engine;
use serde_json::{Map, Value};
use std::time::SystemTime;

/// Sends signed requests (HTTP in production, a stand-in in tests).
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, request: SignedRequest) -> Result<RawResponse, String>;
}

/// How far one call may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Pages read at most (1: no paging).
    pub max_pages: usize,
    /// Items of the paginator's result keys kept at most.
    pub max_items: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Response(#[from] ResponseError),
    #[error("the request could not be sent: {0}")]
    Transport(String),
    #[error("next_token is not one this operation gave: {0}")]
    BadToken(String),
}

/// The answer of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The response; with paging, the pages' result lists joined.
    pub response: Value,
    pub pages: usize,
    /// Items in the result lists (0 when the operation has no paginator).
    pub items: usize,
    /// Where to go on from, when the budget stopped the paging (give it
    /// back as `next_token`).
    pub next_token: Option<String>,
}

/// One call: an allowed operation, its parameters, where and as whom.
pub struct Call<'a> {
    pub allowed: &'a Allowed,
    pub params: &'a Value,
    pub endpoint: &'a Endpoint,
    pub credentials: &'a Credentials,
    pub budget: Budget,
    /// Resume from a previous answer's `next_token`.
    pub next_token: Option<&'a str>,
}

/// Runs `call`, paging within its budget.
pub async fn run(
    transport: &dyn Transport,
    call: Call<'_>,
    clock: &(dyn Fn() -> SystemTime + Send + Sync),
) -> Result<Answer, CallError> {
    let Call {
        allowed,
        params,
        endpoint,
        credentials,
        budget,
        next_token,
    } = call;
    let operation = allowed.operation();
    let paginator = operation
        .paginator
        .as_ref()
        .filter(|_| budget.max_pages > 1 || next_token.is_some());
    let mut params = match params {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        _ => {
            return Err(RequestError::Parameters(crate::serialize::SerializeError::invalid(
                "",
                "an object of parameters",
            ))
            .into());
        }
    };
    if let Some(token) = next_token {
        let Some(p) = paginator else {
            return Err(CallError::BadToken("the operation does not page".into()));
        };
        for (name, value) in decode_token(token, p)? {
            params.insert(name, value);
        }
    }
    let mut merged: Option<Value> = None;
    let mut pages = 0;
    loop {
        let signed = request::build(allowed, &Value::Object(params.clone()), endpoint, credentials, clock())?;
        let raw = transport.send(signed).await.map_err(CallError::Transport)?;
        let page = parse::parse(&allowed.model, operation, &raw)?;
        pages += 1;
        let Some(p) = paginator else {
            return Ok(Answer {
                response: page,
                pages,
                items: 0,
                next_token: None,
            });
        };
        let tokens = next_tokens(p, &page);
        merged = Some(match merged {
            None => page,
            Some(mut acc) => {
                append_results(p, &mut acc, &page);
                acc
            }
        });
        let acc = merged.as_mut().map_or(0, |m| count_results(p, m));
        let done = tokens.is_none();
        let stop = pages >= budget.max_pages || acc >= budget.max_items;
        if done || stop {
            let mut response = merged.unwrap_or(Value::Null);
            let items = truncate_results(p, &mut response, budget.max_items);
            // Items cut from the last page cannot be resumed exactly: the
            // token resumes after that page, so the cut is said instead.
            let next_token = if done { None } else { tokens.map(|t| encode_token(&t)) };
            strip_tokens(p, &mut response);
            return Ok(Answer {
                response,
                pages,
                items,
                next_token,
            });
        }
        if let Some(tokens) = tokens {
            for (name, value) in tokens {
                params.insert(name, value);
            }
        }
    }
}

/// A path of a paginator expression: `A.B`, `A[-1].B`; `x || y` tries each.
fn lookup<'v>(value: &'v Value, expression: &str) -> Option<&'v Value> {
    expression.split("||").find_map(|alternative| {
        let mut current = value;
        for segment in alternative.trim().split('.') {
            let (name, index) = match segment.split_once('[') {
                Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<i64>().ok()),
                None => (segment, None),
            };
            if !name.is_empty() {
                current = current.get(name)?;
            }
            if let Some(i) = index {
                let items = current.as_array()?;
                let at = if i < 0 {
                    items.len().checked_sub(i.unsigned_abs() as usize)?
                } else {
                    i as usize
                };
                current = items.get(at)?;
            }
        }
        (!current.is_null()).then_some(current)
    })
}

fn lookup_mut<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    path.split('.').try_fold(value, |v, segment| v.get_mut(segment))
}

/// The input tokens for the next page, or `None` when this was the last.
fn next_tokens(p: &Paginator, page: &Value) -> Option<Vec<(String, Value)>> {
    if let Some(more) = &p.more_results
        && lookup(page, more).and_then(Value::as_bool) != Some(true)
    {
        return None;
    }
    let inputs = p.input_token.to_vec();
    let outputs = p.output_token.to_vec();
    let tokens: Vec<(String, Value)> = inputs
        .into_iter()
        .zip(outputs)
        .filter_map(|(input, output)| {
            lookup(page, &output)
                .filter(|v| v.as_str() != Some(""))
                .map(|v| (input, v.clone()))
        })
        .collect();
    (!tokens.is_empty()).then_some(tokens)
}

fn result_keys(p: &Paginator) -> Vec<String> {
    p.result_key.as_ref().map(OneOrMany::to_vec).unwrap_or_default()
}

fn append_results(p: &Paginator, acc: &mut Value, page: &Value) {
    for key in result_keys(p) {
        let Some(Value::Array(more)) = lookup(page, &key).cloned() else {
            continue;
        };
        match lookup_mut(acc, &key) {
            Some(Value::Array(items)) => items.extend(more),
            _ => {
                if let Some(slot) = parent_of(acc, &key) {
                    slot.insert(last_segment(&key).to_string(), Value::Array(more));
                }
            }
        }
    }
    // The non-aggregate keys are the last page's (e.g. a final count).
    for key in &p.non_aggregate_keys {
        if let (Some(v), Some(slot)) = (lookup(page, key).cloned(), parent_of(acc, key)) {
            slot.insert(last_segment(key).to_string(), v);
        }
    }
}

fn parent_of<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Map<String, Value>> {
    match path.rsplit_once('.') {
        Some((parent, _)) => lookup_mut(value, parent)?.as_object_mut(),
        None => value.as_object_mut(),
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn count_results(p: &Paginator, value: &Value) -> usize {
    result_keys(p)
        .iter()
        .filter_map(|k| lookup(value, k).and_then(Value::as_array))
        .map(Vec::len)
        .sum()
}

/// Cuts the result lists to `max` items in all; returns the items kept.
fn truncate_results(p: &Paginator, value: &mut Value, max: usize) -> usize {
    let mut left = max;
    let mut kept = 0;
    for key in result_keys(p) {
        if let Some(Value::Array(items)) = lookup_mut(value, &key) {
            items.truncate(left);
            left -= items.len();
            kept += items.len();
        }
    }
    kept
}

/// The raw output tokens are replaced by the call's own `next_token`.
fn strip_tokens(p: &Paginator, value: &mut Value) {
    for output in p.output_token.to_vec() {
        let path = output.split("||").next().unwrap_or_default().trim();
        if !path.contains('[')
            && let Some(parent) = parent_of(value, path)
        {
            parent.remove(last_segment(path));
        }
    }
}

fn encode_token(tokens: &[(String, Value)]) -> String {
    let map: Map<String, Value> = tokens.iter().cloned().collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Value::Object(map).to_string())
}

fn decode_token(token: &str, p: &Paginator) -> Result<Vec<(String, Value)>, CallError> {
    let bad = || CallError::BadToken(token.chars().take(40).collect());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let Value::Object(map) = serde_json::from_slice(&bytes).map_err(|_| bad())? else {
        return Err(bad());
    };
    let inputs = p.input_token.to_vec();
    if map.keys().any(|k| !inputs.contains(k)) {
        return Err(bad());
    }
    Ok(map.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paginator(v: Value) -> Paginator {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn expressions_tokens_and_merging() {
        let page = json!({"Contents": [{"Key": "a"}, {"Key": "b"}], "IsTruncated": true});
        assert_eq!(lookup(&page, "NextMarker || Contents[-1].Key"), Some(&json!("b")));
        let s3 = paginator(
            json!({"input_token": "Marker", "output_token": "NextMarker || Contents[-1].Key", "more_results": "IsTruncated", "result_key": "Contents"}),
        );
        assert_eq!(next_tokens(&s3, &page), Some(vec![("Marker".into(), json!("b"))]));
        assert_eq!(
            next_tokens(&s3, &json!({"Contents": [{"Key": "c"}], "IsTruncated": false})),
            None
        );
        let mut acc = page.clone();
        append_results(&s3, &mut acc, &json!({"Contents": [{"Key": "c"}]}));
        assert_eq!(count_results(&s3, &acc), 3);
        assert_eq!(truncate_results(&s3, &mut acc, 2), 2);
        let nested = paginator(
            json!({"input_token": "NextToken", "output_token": "Page.NextToken", "result_key": "Page.Items"}),
        );
        assert_eq!(
            next_tokens(&nested, &json!({"Page": {"NextToken": "t", "Items": []}})),
            Some(vec![("NextToken".into(), json!("t"))])
        );
        assert_eq!(
            next_tokens(&nested, &json!({"Page": {"NextToken": "", "Items": []}})),
            None
        );
        let token = encode_token(&[("NextToken".into(), json!("t"))]);
        assert_eq!(
            decode_token(&token, &nested).unwrap(),
            vec![("NextToken".to_string(), json!("t"))]
        );
        assert!(decode_token(&encode_token(&[("Other".into(), json!(1))]), &nested).is_err());
        assert!(decode_token("not a token", &nested).is_err());
    }
}
