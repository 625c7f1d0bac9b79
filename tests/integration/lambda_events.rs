//! The Lambda path, in process: captured Function URL events (the files
//! `sam local invoke -e` and `cargo lambda invoke` use) go through the same
//! adapter `lambda_http::run` uses, and must answer as the local server does.

use lambda_http::request::LambdaRequest;
use posture_mcp::audit::{Caller, RequestId};
use posture_mcp::http::HttpConfig;
use posture_tests::fixtures::event;
use posture_tests::mcp::invoke_function_url;
use serde_json::Value;

const HOST: &str = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws";

async fn invoke(event: Value) -> Value {
    let app = mcp_server::app(posture_tests::mcp::demo_backend(), &HttpConfig::from_lists(HOST, ""));
    invoke_function_url(app, mcp_server::UrlAuth::AwsIam, event).await
}

async fn local_answer(body: &str) -> Value {
    let app = mcp_server::app(posture_tests::mcp::demo_backend(), &HttpConfig::loopback());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let reply = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

fn body_of(response: &Value) -> Value {
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["isBase64Encoded"], false);
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_function_url_event_answers_as_the_local_server_does() {
    for name in ["mcp-server-tools-list.json", "mcp-server-tools-call-invalid.json"] {
        let event = event(name);
        let body = event["body"].as_str().unwrap().to_string();
        let lambda = body_of(&invoke(event).await);
        let local = local_answer(&body).await;
        assert_eq!(lambda, local, "{name}");
        assert!(lambda.get("result").is_some(), "{name}: {lambda}");
    }
    let invalid = body_of(&invoke(event("mcp-server-tools-call-invalid.json")).await);
    assert_eq!(invalid["result"]["isError"], true);
    assert_eq!(
        invalid["result"]["structuredContent"]["context"]["field"],
        "max_findings"
    );
}

#[tokio::test]
async fn a_host_outside_the_allow_list_is_refused() {
    let mut e = event("mcp-server-tools-list.json");
    e["headers"]["host"] = "attacker.example".into();
    let response = invoke(e).await;
    assert_eq!(response["statusCode"], 403, "{response}");
}

#[tokio::test]
async fn the_caller_and_request_id_come_from_the_request_context_not_from_headers() {
    let mut e = event("mcp-server-tools-list.json");
    e["headers"]["x-request-id"] = "forged".into();
    let request: LambdaRequest = serde_json::from_value(e).unwrap();
    let request = mcp_server::lambda_identity(lambda_http::Request::from(request));
    assert_eq!(
        request.extensions().get::<Caller>(),
        Some(&Caller("arn:aws:iam::111122223333:user/security-analyst".into()))
    );
    assert_eq!(
        request.extensions().get::<RequestId>(),
        Some(&RequestId("4f1c2a7e-8b3d-4e5f-9a6b-7c8d9e0f1a2b".into()))
    );
}

#[tokio::test]
async fn under_aws_iam_a_request_lambda_did_not_authenticate_is_refused() {
    let mut unsigned = event("mcp-server-tools-list.json");
    unsigned["requestContext"]["authorizer"] = Value::Null;
    let response = invoke(unsigned).await;
    assert_eq!(response["statusCode"], 403, "{response}");
    assert!(
        response["body"].as_str().unwrap().contains("requires AWS SigV4"),
        "{response}"
    );
    // The same request with Lambda's SigV4 identity is served.
    assert_eq!(invoke(event("mcp-server-tools-list.json")).await["statusCode"], 200);
}

#[test]
fn the_declared_url_auth_type_must_match_the_oauth_settings() {
    use mcp_server::{UrlAuth, lambda_url_auth};
    let oauth = posture_mcp::oauth::OAuthConfig::from_vars(|k| match k {
        "POSTURE_OAUTH_ISSUER" => Some("https://issuer.example.com".to_string()),
        "POSTURE_OAUTH_AUDIENCE" => Some(format!("https://{HOST}/mcp")),
        _ => None,
    })
    .unwrap()
    .unwrap();
    assert_eq!(lambda_url_auth(Some("AWS_IAM"), None).unwrap(), UrlAuth::AwsIam);
    assert_eq!(lambda_url_auth(Some("NONE"), Some(&oauth)).unwrap(), UrlAuth::OAuth);
    let refused = |declared: Option<&str>, oauth| lambda_url_auth(declared, oauth).unwrap_err().to_string();
    assert!(refused(Some("NONE"), None).contains("makes the Function URL public"));
    assert!(refused(Some("AWS_IAM"), Some(&oauth)).contains("bearer tokens never arrive"));
    assert!(refused(None, None).contains("must be AWS_IAM or NONE"));
    assert!(refused(Some("aws_iam"), None).contains("must be AWS_IAM or NONE"));
}
