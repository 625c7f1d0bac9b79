//! Kept answers written into the response without being rebuilt. An
//! answer kept with its run is serialized once; a call that repeats it
//! would otherwise clone the answer (a `serde_json::Value` tree) and
//! serialize it again, which measured 90 + 130 µs of the ~400 µs such a
//! call cost (bench/serving_latency.py). rmcp takes the structured content
//! as a `Value`, so the tool answers a marker object holding a unique
//! string instead (rmcp drops structured content that is not an object),
//! the bytes wait in this request's [`SpliceSlot`], and [`splice`] puts them
//! in place of the marker in the response rmcp wrote.

use axum::body::Body;
use axum::response::Response;
use http::header;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The marker object's one key.
const MARKER_KEY: &str = "posture-splice";

/// The JSON one request's response is waiting for: a marker and what
/// replaces it. [`crate::jsonrpc::serve`] gives each request to rmcp its
/// own slot (in the request's extensions); without one (tasks, direct
/// calls) answers are built in full.
#[derive(Clone, Default)]
pub struct SpliceSlot(Arc<Mutex<Option<(String, String)>>>);

impl SpliceSlot {
    /// Leaves `json` for the response and returns what the structured
    /// content should hold in its place: an object with a random string, so
    /// no answer can contain it, and written as rmcp writes it.
    pub fn put(&self, json: String) -> Option<Value> {
        let marker = json!({MARKER_KEY: uuid::Uuid::new_v4().simple().to_string()});
        let written = serde_json::to_string(&marker).ok()?;
        let mut slot = self.0.lock().ok()?;
        *slot = Some((written, json));
        Some(marker)
    }

    fn take(&self) -> Option<(String, String)> {
        self.0.lock().ok()?.take()
    }
}

/// `response` with the slot's JSON in place of its marker (as written in
/// JSON). A response without the marker (an error answered instead) is
/// returned unchanged.
pub async fn splice(slot: &SpliceSlot, response: Response) -> Response {
    let Some((marker, json)) = slot.take() else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    let needle = marker;
    let Some(at) = bytes.windows(needle.len()).position(|w| w == needle.as_bytes()) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let mut out = Vec::with_capacity(bytes.len() + json.len());
    out.extend_from_slice(&bytes[..at]);
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(&bytes[at + needle.len()..]);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: Response) -> String {
        String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_marker_is_replaced_by_the_json_and_nothing_else_changes() {
        let slot = SpliceSlot::default();
        let marker = slot.put(r#"{"a":[1,2],"as_of":{}}"#.to_string()).unwrap();
        let written = serde_json::to_string(&json!({
            "result": {"content": [{"text": "posture-splice"}], "structuredContent": marker}
        }))
        .unwrap();
        let response = Response::builder()
            .header(header::CONTENT_LENGTH, written.len())
            .body(Body::from(written))
            .unwrap();
        let spliced = splice(&slot, response).await;
        assert!(spliced.headers().get(header::CONTENT_LENGTH).is_none());
        let body = body_of(spliced).await;
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parsed,
            json!({"result": {"content": [{"text": "posture-splice"}], "structuredContent": {"a": [1, 2], "as_of": {}}}})
        );
        let again = splice(&slot, Response::new(Body::from("unchanged"))).await;
        assert_eq!(body_of(again).await, "unchanged", "a slot is used once");
    }

    #[tokio::test]
    async fn a_response_without_the_marker_is_left_alone() {
        let slot = SpliceSlot::default();
        slot.put("{}".to_string()).unwrap();
        let response = splice(&slot, Response::new(Body::from(r#"{"error":"x"}"#))).await;
        assert_eq!(body_of(response).await, r#"{"error":"x"}"#);
    }
}
