//! Forwarding one request to an upstream unchanged, for the loopback proxies
//! in front of moto ([`crate::sts_gate`], [`crate::lambda_standin`],
//! [`crate::faults`]), and serving such a proxy.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Headers that belong to one connection, not to the request or response.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::HOST,
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::CONTENT_LENGTH,
        header::TE,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ]
    .contains(name)
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Sends `method` `path_and_query` with `headers` (hop-by-hop ones dropped)
/// and `body` to `upstream` (a base URL without a trailing slash), and
/// answers with the upstream's status, headers and body; 502 naming `who`
/// when the upstream does not answer or its body is cut.
pub async fn forward(
    http: &reqwest::Client,
    upstream: &str,
    who: &str,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut sent = HeaderMap::new();
    for (name, value) in headers {
        if !hop_by_hop(name) {
            sent.append(name.clone(), value.clone());
        }
    }
    let forwarded = http
        .request(method, format!("{upstream}{path_and_query}"))
        .headers(sent)
        .body(body)
        .send()
        .await;
    let answer = match forwarded {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("{who} did not answer: {e}")).into_response(),
    };
    let status = answer.status();
    let mut received = HeaderMap::new();
    for (name, value) in answer.headers() {
        // Content-Length stays: a HEAD answer has none of the body it describes.
        if !hop_by_hop(name) || name == header::CONTENT_LENGTH {
            received.append(name.clone(), value.clone());
        }
    }
    let bytes = match answer.bytes().await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_GATEWAY, format!("{who}'s body was cut: {e}")).into_response(),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = received;
    response
}

/// The client the loopback proxies forward with: S3 answers some requests
/// with redirects meant for the SDK, so redirects come back unfollowed.
pub fn upstream_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Serves `app` on a free loopback port in the background; its base URL
/// (`http://127.0.0.1:PORT`).
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    endpoint
}

/// A part of a request's SigV4 credential scope
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`): 0 the key, 2 the
/// Region, 3 the signing service; empty when unsigned.
pub fn credential_part(headers: &HeaderMap, part: usize) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(part))
        .unwrap_or_default()
        .to_string()
}
