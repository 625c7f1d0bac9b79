//! OAuth 2.1 bearer access to `/mcp` (Function URL `AuthType: NONE`): tokens
//! verified against a stand-in issuer's JWKS on 127.0.0.1, through the
//! in-process router. Every refusal is checked for its status and the exact
//! `WWW-Authenticate` header a client acts on.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use posture_mcp::http::HttpConfig;
use posture_mcp::oauth::OAuthConfig;
use posture_tests::jwks::{Issuer, TestKey, hs256, unsigned};
use serde_json::{Value, json};
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:3000";
const AUDIENCE: &str = "http://127.0.0.1:3000/mcp";
const METADATA: &str = "http://127.0.0.1:3000/.well-known/oauth-protected-resource";

struct Fixture {
    issuer: Issuer,
    key: TestKey,
    app: Router,
}

impl Fixture {
    async fn new() -> Fixture {
        let key = TestKey::rsa("k1");
        let issuer = Issuer::start(&[&key]).await;
        let app = app(OAuthConfig::new(&issuer.url, AUDIENCE).unwrap());
        Fixture { issuer, key, app }
    }

    /// Claims that pass every check.
    fn claims(&self) -> Value {
        let now = jiff::Timestamp::now().as_second();
        json!({
            "iss": self.issuer.url,
            "aud": AUDIENCE,
            "sub": "analyst-1",
            "client_id": "posture-cli",
            "iat": now,
            "exp": now + 300,
            "scope": "openid posture:read",
        })
    }

    /// The good claims with `changes` applied (`null` removes a claim).
    fn claims_with(&self, changes: Value) -> Value {
        let mut claims = self.claims();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }
}

fn app(config: OAuthConfig) -> Router {
    mcp_server::app_with_oauth(
        posture_tests::mcp::demo_backend(),
        &HttpConfig::loopback(),
        Some(config),
    )
    .unwrap()
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    body: Value,
}

async fn send(app: &Router, request: http::request::Builder, body: Body) -> Answer {
    let response = app.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer {
        status,
        challenge,
        body,
    }
}

/// `tools/list` to `/mcp`, with `Authorization: Bearer <token>` when given.
async fn list_tools(app: &Router, token: Option<&str>) -> Answer {
    let mut request = Request::post("/mcp")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    send(
        app,
        request,
        Body::from(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
    )
    .await
}

/// Asserts a 401 `invalid_token` with `description`, in header and body.
fn assert_invalid_token(answer: &Answer, description: &str) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            format!(
                r#"Bearer error="invalid_token", error_description="{description}", resource_metadata="{METADATA}""#
            )
            .as_str()
        )
    );
    assert_eq!(
        answer.body,
        json!({"error": "invalid_token", "error_description": description})
    );
}

#[tokio::test]
async fn no_token_is_401_pointing_to_the_metadata_without_an_error_code() {
    let f = Fixture::new().await;
    let answer = list_tools(&f.app, None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(r#"Bearer resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource""#)
    );
    assert_eq!(answer.body["error"], "unauthorized");
    // Another scheme (e.g. Basic) is no bearer token either.
    let request = Request::post("/mcp")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", "Basic YWRtaW46YWRtaW4=");
    let answer = send(&f.app, request, Body::from("{}")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(format!(r#"Bearer resource_metadata="{METADATA}""#).as_str())
    );
    assert_eq!(f.issuer.jwks_fetches(), 0, "no token, no fetch");
}

#[tokio::test]
async fn a_malformed_token_is_invalid() {
    let f = Fixture::new().await;
    for token in ["not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"] {
        let answer = list_tools(&f.app, Some(token)).await;
        assert_invalid_token(&answer, "the token is not a well-formed JWT with a supported algorithm");
        assert!(!answer.body.to_string().contains(token), "the token is not echoed");
    }
}

#[tokio::test]
async fn a_bad_signature_is_invalid() {
    let f = Fixture::new().await;
    // Another key, claiming the issuer's kid.
    let forged = TestKey::rsa("other").sign_as("k1", &f.claims());
    assert_invalid_token(
        &list_tools(&f.app, Some(&forged)).await,
        "the token's signature does not verify",
    );
    // A valid token with its signature tampered.
    let good = f.key.sign(&f.claims());
    let tampered = format!("{}AAAA", &good[..good.len() - 4]);
    assert_invalid_token(
        &list_tools(&f.app, Some(&tampered)).await,
        "the token's signature does not verify",
    );
}

#[tokio::test]
async fn a_wrong_issuer_is_invalid() {
    let f = Fixture::new().await;
    let token = f.key.sign(&f.claims_with(json!({"iss": "https://evil.example"})));
    assert_invalid_token(
        &list_tools(&f.app, Some(&token)).await,
        "the token was issued by another issuer",
    );
    let token = f.key.sign(&f.claims_with(json!({"iss": null})));
    assert_invalid_token(&list_tools(&f.app, Some(&token)).await, "the token lacks the iss claim");
}

#[tokio::test]
async fn a_wrong_audience_is_invalid() {
    let f = Fixture::new().await;
    let token = f.key.sign(&f.claims_with(json!({"aud": "https://other.example/mcp"})));
    assert_invalid_token(
        &list_tools(&f.app, Some(&token)).await,
        "the token is for another audience",
    );
    let token = f.key.sign(&f.claims_with(json!({"aud": null})));
    assert_invalid_token(&list_tools(&f.app, Some(&token)).await, "the token lacks the aud claim");
    // An array containing this resource is fine.
    let token = f
        .key
        .sign(&f.claims_with(json!({"aud": ["https://other.example", AUDIENCE]})));
    assert_eq!(list_tools(&f.app, Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_token_is_invalid() {
    let f = Fixture::new().await;
    let now = jiff::Timestamp::now().as_second();
    // Past the 60 s leeway.
    let token = f.key.sign(&f.claims_with(json!({"exp": now - 120})));
    assert_invalid_token(&list_tools(&f.app, Some(&token)).await, "the token has expired");
    let token = f.key.sign(&f.claims_with(json!({"exp": null})));
    assert_invalid_token(&list_tools(&f.app, Some(&token)).await, "the token lacks the exp claim");
    // Within the leeway: accepted.
    let token = f.key.sign(&f.claims_with(json!({"exp": now - 10})));
    assert_eq!(list_tools(&f.app, Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_not_yet_valid_is_invalid() {
    let f = Fixture::new().await;
    let now = jiff::Timestamp::now().as_second();
    let token = f.key.sign(&f.claims_with(json!({"nbf": now + 300})));
    assert_invalid_token(
        &list_tools(&f.app, Some(&token)).await,
        "the token is not valid yet (nbf)",
    );
    let token = f.key.sign(&f.claims_with(json!({"nbf": now - 5})));
    assert_eq!(list_tools(&f.app, Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn alg_none_and_hs256_are_refused() {
    let f = Fixture::new().await;
    let none = unsigned(&json!({"alg": "none", "typ": "JWT", "kid": "k1"}), &f.claims());
    assert_invalid_token(
        &list_tools(&f.app, Some(&none)).await,
        "the token is not a well-formed JWT with a supported algorithm",
    );
    // Key confusion: HMAC keyed with the issuer's public key.
    let public = serde_json::to_vec(&f.key.jwk).unwrap();
    let confused = hs256(&public, "k1", &f.claims());
    assert_invalid_token(
        &list_tools(&f.app, Some(&confused)).await,
        "the token's algorithm HS256 is not accepted",
    );
    // An accepted algorithm that does not fit the key (ES256 over an RSA kid).
    let mismatched = TestKey::ec("x").sign_as("k1", &f.claims());
    assert_invalid_token(
        &list_tools(&f.app, Some(&mismatched)).await,
        "the issuer's key for this token does not allow its algorithm",
    );
}

#[tokio::test]
async fn a_token_without_the_scope_is_403_insufficient_scope() {
    let f = Fixture::new().await;
    for changes in [
        json!({"scope": "openid posture:write"}),
        json!({"scope": null}),
        json!({"scope": null, "scp": ["posture:admin"]}),
    ] {
        let token = f.key.sign(&f.claims_with(changes.clone()));
        let answer = list_tools(&f.app, Some(&token)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{changes}");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(
                r#"Bearer error="insufficient_scope", scope="posture:read", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource""#
            )
        );
        assert_eq!(
            answer.body,
            json!({"error": "insufficient_scope", "error_description": "the token lacks the scope posture:read"})
        );
    }
    // `scp` as an array grants it too.
    let token = f
        .key
        .sign(&f.claims_with(json!({"scope": null, "scp": ["posture:read"]})));
    assert_eq!(list_tools(&f.app, Some(&token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_good_token_lists_the_tools_and_server_info_names_oauth() {
    let f = Fixture::new().await;
    let token = f.key.sign(&f.claims());
    let answer = list_tools(&f.app, Some(&token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.challenge, None);
    assert_eq!(
        answer.body["result"]["tools"].as_array().unwrap().len(),
        posture_mcp::tools::TOOLS.len()
    );
    let request = Request::post("/mcp")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", format!("bearer {token}"));
    let info = send(
        &f.app,
        request,
        Body::from(
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_server_info","arguments":{}}}"#,
        ),
    )
    .await;
    assert_eq!(info.status, StatusCode::OK);
    let methods = &info.body["result"]["structuredContent"]["configuration"]["supported_auth_methods"];
    assert_eq!(
        methods,
        &json!([format!(
            "OAuth 2.1 bearer (issuer {}, scope posture:read)",
            f.issuer.url
        )]),
        "{}",
        info.body
    );
    // An ES256 key of the issuer works as well.
    let ec = TestKey::ec("k-ec");
    f.issuer.publish(&[&f.key, &ec]);
    let token = ec.sign(&f.claims());
    assert_eq!(list_tools(&f.app, Some(&token)).await.status, StatusCode::OK);
    // The JWKS was fetched once, then once more for the new kid.
    assert_eq!(f.issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn the_metadata_is_served_without_a_token() {
    let f = Fixture::new().await;
    let expected = json!({
        "resource": AUDIENCE,
        "authorization_servers": [f.issuer.url],
        "scopes_supported": ["posture:read"],
        "bearer_methods_supported": ["header"],
        "resource_name": "Posture Advisor",
    });
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let answer = send(&f.app, Request::get(path).header("host", HOST), Body::empty()).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.body, expected, "{path}");
    }
    // The Host and Origin allow-lists still apply, before the token.
    let foreign = send(
        &f.app,
        Request::get("/.well-known/oauth-protected-resource").header("host", "rebind.attacker.example"),
        Body::empty(),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let request = Request::post("/mcp")
        .header("host", HOST)
        .header("origin", "https://evil.example");
    let answer = send(&f.app, request, Body::from("{}")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.challenge, None);
    let other = send(&f.app, Request::get("/other").header("host", HOST), Body::empty()).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_one_rate_limited_refetch() {
    let f = Fixture::new().await;
    let token = f.key.sign(&f.claims());
    assert_eq!(list_tools(&f.app, Some(&token)).await.status, StatusCode::OK);
    assert_eq!(list_tools(&f.app, Some(&token)).await.status, StatusCode::OK);
    assert_eq!(f.issuer.jwks_fetches(), 1, "the JWKS is cached");
    // The issuer rotates to k2 and drops k1.
    let k2 = TestKey::rsa("k2");
    f.issuer.publish(&[&k2]);
    let rotated = k2.sign(&f.claims());
    let answer = list_tools(&f.app, Some(&rotated)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(f.issuer.jwks_fetches(), 2, "refetched once for the unknown kid");
    // k1 is gone from the refetched set.
    assert_invalid_token(
        &list_tools(&f.app, Some(&token)).await,
        "no signing key of the issuer matches the token",
    );
    // Another unknown kid right after: no second refetch within 30 s.
    let k3 = TestKey::rsa("k3");
    f.issuer.publish(&[&k2, &k3]);
    assert_invalid_token(
        &list_tools(&f.app, Some(&k3.sign(&f.claims()))).await,
        "no signing key of the issuer matches the token",
    );
    assert_eq!(f.issuer.jwks_fetches(), 2, "refetches are rate-limited");
}

#[tokio::test]
async fn an_unreachable_issuer_is_503_without_a_challenge() {
    let port = posture_tests::free_port();
    let app = app(OAuthConfig::new(&format!("http://127.0.0.1:{port}"), AUDIENCE).unwrap());
    let token = TestKey::ec("k1").sign(&json!({"sub": "x"}));
    let request = Request::post("/mcp")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"));
    let response = app.oneshot(request.body(Body::from("{}")).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(response.headers()["retry-after"], "30");
}

#[tokio::test]
async fn a_function_url_request_carries_the_token_subject_as_caller() {
    // With AuthType NONE the request context has no IAM caller; the bearer
    // token decides, through the same Lambda adapter.
    let f = Fixture::new().await;
    let host = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws";
    let resource = format!("https://{host}/mcp");
    let config = OAuthConfig::from_vars(|k| match k {
        "POSTURE_OAUTH_ISSUER" => Some(f.issuer.url.clone()),
        "POSTURE_OAUTH_AUDIENCE" => Some(resource.clone()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    let app = mcp_server::app_with_oauth(
        posture_tests::mcp::demo_backend(),
        &HttpConfig::from_lists(host, ""),
        Some(config),
    )
    .unwrap();
    let mut event = posture_tests::fixtures::event("mcp-server-tools-list.json");
    event["requestContext"]["authorizer"] = Value::Null;
    let invoke = |event: Value| posture_tests::mcp::invoke_function_url(app.clone(), mcp_server::UrlAuth::OAuth, event);
    let refused = invoke(event.clone()).await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
    assert_eq!(
        refused["headers"]["www-authenticate"],
        format!(r#"Bearer resource_metadata="https://{host}/.well-known/oauth-protected-resource""#)
    );
    let token = f.key.sign(&f.claims_with(json!({"aud": resource})));
    event["headers"]["authorization"] = format!("Bearer {token}").into();
    event["headers"].as_object_mut().unwrap().remove("content-length");
    event["body"] =
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_server_info","arguments":{}}}"#.into();
    let audit = AuditCapture::default();
    let answered = {
        let _guard = tracing::subscriber::set_default(audit.clone());
        invoke(event).await
    };
    assert_eq!(answered["statusCode"], 200, "{answered}");
    let callers = audit.callers.lock().unwrap().clone();
    assert_eq!(callers, vec!["oauth:analyst-1 client:posture-cli".to_string()]);
    assert!(
        !audit.all.lock().unwrap().iter().any(|line| line.contains(&token)),
        "the token is never logged"
    );
}

/// Records the `caller` of audit lines, and every event's fields as text.
#[derive(Clone, Default)]
struct AuditCapture {
    callers: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    all: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

struct Fields(Vec<(String, String)>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_string(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }
}

impl tracing::Subscriber for AuditCapture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.all.lock().unwrap().push(format!("{:?}", fields.0));
        let is_tool_call = fields.0.iter().any(|(k, v)| k == "event" && v == "tool_call");
        if event.metadata().target() == "audit"
            && is_tool_call
            && let Some((_, caller)) = fields.0.iter().find(|(k, _)| k == "caller")
        {
            self.callers.lock().unwrap().push(caller.clone());
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// D6: an issuer that accepts connections and never answers costs one fetch
/// timeout, not one per request: concurrent requests wait for the one fetch
/// in flight and share its failure, which stays the answer for a while.
#[tokio::test]
async fn a_hanging_issuer_is_fetched_once_for_concurrent_requests() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(socket);
        }
    });
    let app = app(OAuthConfig::new(&format!("http://127.0.0.1:{port}"), AUDIENCE).unwrap());
    let token = TestKey::ec("k1").sign(&json!({"sub": "x"}));
    let request = || {
        Request::post("/mcp")
            .header("host", HOST)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from("{}"))
            .unwrap()
    };
    let answers = futures::future::join_all((0..12).map(|_| app.clone().oneshot(request()))).await;
    for answer in answers {
        assert_eq!(answer.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    let later = app.clone().oneshot(request()).await.unwrap();
    assert_eq!(later.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one fetch for 13 requests"
    );
}
