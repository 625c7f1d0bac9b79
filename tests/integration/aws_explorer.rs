//! `aws_read` against moto: an organization with four members, an
//! explorer role in each (the fourth refuses the server, as its trust
//! policy would: the STS gate answers AccessDenied), read through the MCP
//! tool. Reads run per account and Region; mutating operations and denied
//! reads are refused before any request reaches AWS (the gate counts every
//! request) and leave moto's state as it was.

use posture_aws::collector::RoleSettings;
use posture_aws::explorer::AwsExplorer;
use posture_explorer::policy::Policy;
use posture_tests::fixtures::MOTO_ACCOUNT;
use posture_tests::moto::{Moto, admin_s3, sdk_config_for};
use posture_tests::org::{admin_sessions, create_member_role, create_organization};
use posture_tests::sts_gate::StsGate;
use serde_json::{Value, json};
use std::sync::Arc;

const ROLE: &str = "PostureAdvisorExplorer";
const EXTERNAL_ID: &str = "posture-explorer-external-id";

async fn call(server: &posture_mcp::PostureServer, args: Value) -> (bool, Value) {
    let r = server
        .call("aws_read", args.as_object().cloned(), "test", "r1")
        .await
        .unwrap();
    (r.is_error == Some(true), r.structured_content.unwrap())
}

#[tokio::test]
async fn aws_read_reads_members_by_account_and_region_and_refuses_before_sending() {
    let moto = Moto::start();
    let management = moto.sdk_config().await;
    let members = create_organization(&management, &["ex-a", "ex-b", "ex-c", "ex-d"]).await;
    let admin = admin_sessions(&management, &moto.endpoint, &members).await;
    for (i, member) in admin.iter().enumerate() {
        create_member_role(member, ROLE, EXTERNAL_ID).await;
        admin_s3(member)
            .create_bucket()
            .bucket(format!("explorer-bucket-{i}"))
            .send()
            .await
            .unwrap();
        let iam = aws_sdk_iam::Client::new(member);
        for r in 0..4 {
            iam.create_role()
                .role_name(format!("app-role-{r}"))
                .assume_role_policy_document(posture_tests::org::trust_policy("x"))
                .send()
                .await
                .unwrap();
        }
    }
    // Member A: one instance in us-east-1, two in eu-west-1.
    let mut instances = Vec::new();
    for (region, count) in [("us-east-1", 1), ("eu-west-1", 2)] {
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&admin[0])
                .region(aws_sdk_ec2::config::Region::new(region))
                .build(),
        );
        let image = ec2.describe_images().owners("amazon").send().await.unwrap().images()[0]
            .image_id()
            .unwrap()
            .to_string();
        let run = ec2
            .run_instances()
            .image_id(image)
            .min_count(count)
            .max_count(count)
            .send()
            .await
            .unwrap();
        instances.extend(run.instances().iter().map(|i| i.instance_id().unwrap().to_string()));
    }
    let refused_role = format!("arn:aws:iam::{}:role/{ROLE}", members[3]);
    let gate = StsGate::start(&moto.endpoint, vec![refused_role]).await;
    let base = sdk_config_for(&gate.endpoint).await;
    let roles = RoleSettings {
        role: ROLE.into(),
        external_id: Some(EXTERNAL_ID.into()),
        regions: None,
        partition: "aws".into(),
        max_findings_per_account: 1,
    };
    let policy = Policy::from_lists(Some("ec2:DescribeVpcs"), None).unwrap();
    let mut backend = posture_tests::mcp::demo_backend();
    backend.explorer = Some(Arc::new(AwsExplorer::new(base, Some(roles), policy)));
    let server = posture_mcp::PostureServer::new(backend);
    let [a, b, c] = [&members[0], &members[1], &members[2]];

    // S3 ListBuckets in three members: each sees its own bucket only.
    let (error, out) = call(
        &server,
        json!({"service": "s3", "operation": "ListBuckets", "account_ids": [a, b, c]}),
    )
    .await;
    assert!(!error, "{out}");
    assert_eq!(out["iam_action"], "s3:ListAllMyBuckets");
    assert_eq!(out["access_level"], "List");
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for (i, account) in [a, b, c].iter().enumerate() {
        let r = results.iter().find(|r| r["account_id"] == **account).unwrap();
        assert_eq!(r["region"], "us-east-1");
        let names: Vec<&str> = r["response"]["Buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec![format!("explorer-bucket-{i}")], "{account}");
    }

    // EC2 DescribeInstances in two Regions at once.
    let (error, out) = call(
        &server,
        json!({"service": "ec2", "operation": "DescribeInstances", "account_ids": [a], "regions": ["us-east-1", "eu-west-1"],
               "parameters": {"Filters": [{"Name": "instance-state-name", "Values": ["running", "pending"]}]}}),
    )
    .await;
    assert!(!error, "{out}");
    let by_region: Vec<(String, usize)> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let count = r["response"]["Reservations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|res| res["Instances"].as_array().unwrap().len())
                .sum();
            (r["region"].as_str().unwrap().to_string(), count)
        })
        .collect();
    assert_eq!(
        by_region,
        vec![("eu-west-1".to_string(), 2), ("us-east-1".to_string(), 1)]
    );

    // IAM ListRoles across the whole organization, two roles a page: the
    // management account with its own credentials, each member through its
    // role; the refusing member is an AccessDenied result, the others stand.
    let (error, out) = call(
        &server,
        json!({"service": "iam", "operation": "ListRoles", "account_ids": ["all"], "parameters": {"MaxItems": 2}, "max_pages": 10}),
    )
    .await;
    assert!(!error, "{out}");
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 5, "{out}");
    assert_eq!(out["partial"], true);
    assert_eq!(out["failed"], 1);
    for r in results {
        let account = r["account_id"].as_str().unwrap();
        if account == members[3] {
            assert_eq!(r["error"]["kind"], "AccessDenied", "{r}");
            assert!(r["error"]["message"].as_str().unwrap().contains("AssumeRole"), "{r}");
            continue;
        }
        let names: Vec<&str> = r["response"]["Roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["RoleName"].as_str().unwrap())
            .collect();
        if account == MOTO_ACCOUNT {
            assert!(r["pages"].as_u64().unwrap() >= 1);
            continue;
        }
        // A member: OrganizationAccountAccessRole, the explorer role and four app roles.
        assert_eq!(names.len(), 6, "{account}: {names:?}");
        assert_eq!(r["pages"], 3, "{account}");
        assert!(r["next_token"].is_null());
        assert!(names.contains(&"app-role-3"));
    }

    // The json and rest-json protocols too, their responses read by shape.
    aws_sdk_kms::Client::new(&admin[1]).create_key().send().await.unwrap();
    aws_sdk_dynamodb::Client::new(&admin[1])
        .create_table()
        .table_name("explorer-table")
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    for (service, operation, key, expected) in [
        ("kms", "ListKeys", "/Keys", 1),
        ("dynamodb", "ListTables", "/TableNames", 1),
        ("dynamodb", "DescribeTable", "/Table/KeySchema", 1),
        ("lambda", "ListFunctions", "/Functions", 0),
    ] {
        let params = if operation == "DescribeTable" {
            json!({"TableName": "explorer-table"})
        } else {
            json!({})
        };
        let (error, out) = call(
            &server,
            json!({"service": service, "operation": operation, "account_ids": [b], "parameters": params}),
        )
        .await;
        assert!(!error, "{out}");
        let response = &out["results"][0]["response"];
        let found = response.pointer(key).and_then(Value::as_array).map(Vec::len);
        assert_eq!(found, Some(expected), "{service}:{operation}: {response}");
    }
    let (_, out) = call(
        &server,
        json!({"service": "dynamodb", "operation": "DescribeTable", "account_ids": [b], "parameters": {"TableName": "explorer-table"}}),
    )
    .await;
    // Timestamps come back in RFC 3339, whatever the protocol sent.
    let created = out["results"][0]["response"]["Table"]["CreationDateTime"]
        .as_str()
        .unwrap();
    assert!(created.parse::<jiff::Timestamp>().is_ok(), "{created}");

    // A budget stops the paging and says where to go on from.
    let (_, out) = call(
        &server,
        json!({"service": "iam", "operation": "ListRoles", "account_ids": [b], "parameters": {"MaxItems": 2}, "max_pages": 2}),
    )
    .await;
    let first = &out["results"][0];
    assert_eq!(first["items"], 4);
    let token = first["next_token"].as_str().unwrap().to_string();
    let (_, rest) = call(
        &server,
        json!({"service": "iam", "operation": "ListRoles", "account_ids": [b], "regions": ["us-east-1"], "parameters": {"MaxItems": 2}, "next_token": token}),
    )
    .await;
    assert_eq!(rest["results"][0]["items"], 2, "{rest}");

    // Refused before any request: mutations, a denied read, the operator's deny list.
    let seen = gate.requests();
    for (service, operation, params, refusal) in [
        (
            "s3",
            "DeleteBucket",
            json!({"Bucket": "explorer-bucket-0"}),
            "not_a_read",
        ),
        (
            "ec2",
            "TerminateInstances",
            json!({"InstanceIds": instances}),
            "not_a_read",
        ),
        ("iam", "CreateAccessKey", json!({"UserName": "x"}), "not_a_read"),
        (
            "secretsmanager",
            "GetSecretValue",
            json!({"SecretId": "prod/db"}),
            "deny_list",
        ),
        ("ec2", "DescribeVpcs", json!({}), "operator_deny_list"),
    ] {
        let (error, out) = call(
            &server,
            json!({"service": service, "operation": operation, "parameters": params, "account_ids": [a]}),
        )
        .await;
        assert!(error, "{service}:{operation} ran: {out}");
        assert_eq!(out["error_type"], "ValidationError");
        assert_eq!(out["context"]["refusal"], refusal, "{out}");
        assert!(out["detail"].as_str().unwrap().contains("before any request was sent"));
    }
    assert_eq!(gate.requests(), seen, "a refused operation reached AWS");
    // moto's state is as it was.
    let s3 = admin_s3(&admin[0]);
    assert!(s3.head_bucket().bucket("explorer-bucket-0").send().await.is_ok());
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&admin[0])
            .region(aws_sdk_ec2::config::Region::new("eu-west-1"))
            .build(),
    );
    let described = ec2.describe_instances().send().await.unwrap();
    for instance in described.reservations().iter().flat_map(|r| r.instances()) {
        assert_ne!(instance.state().unwrap().name().unwrap().as_str(), "terminated");
    }
}

/// `validate_member_access` and `get_account_info` against moto: one member
/// ready, one whose role lacks kms:ListKeys (the gate refuses it as IAM
/// would), one whose role refuses the server.
#[tokio::test]
async fn validate_member_access_names_a_refused_role_and_a_missing_permission() {
    const MEMBER_ROLE: &str = "PostureAdvisorReadOnly";
    let moto = Moto::start();
    let management = moto.sdk_config().await;
    let members = create_organization(&management, &["va-ready", "va-no-kms", "va-refusing"]).await;
    let admin = admin_sessions(&management, &moto.endpoint, &members).await;
    for member in &admin {
        create_member_role(member, MEMBER_ROLE, EXTERNAL_ID).await;
    }
    let role = |i: usize| format!("arn:aws:iam::{}:role/{MEMBER_ROLE}", members[i]);
    let gate = StsGate::start_with_denials(
        &moto.endpoint,
        vec![role(2)],
        vec![(role(1), "kms:ListKeys".to_string())],
    )
    .await;
    let base = sdk_config_for(&gate.endpoint).await;
    let roles = RoleSettings {
        role: MEMBER_ROLE.into(),
        external_id: Some(EXTERNAL_ID.into()),
        regions: Some(vec!["us-east-1".into()]),
        partition: "aws".into(),
        max_findings_per_account: 1,
    };
    let mut backend = posture_tests::mcp::demo_backend();
    backend.access = Some(Arc::new(posture_aws::access::AwsAccessProbe {
        base,
        roles,
        explorer_role: None,
    }));
    let server = posture_mcp::PostureServer::new(backend);
    let info = server.call("get_account_info", None, "test", "r1").await.unwrap();
    let info = info.structured_content.unwrap();
    assert_eq!(info["identity"]["account_id"], MOTO_ACCOUNT, "{info}");
    assert_eq!(
        info["identity"]["organization"]["management_account_id"], MOTO_ACCOUNT,
        "{info}"
    );
    assert!(
        info["identity"]["organization"]["id"]
            .as_str()
            .unwrap()
            .starts_with("o-"),
        "{info}"
    );

    let r = server
        .call(
            "validate_member_access",
            json!({"account_ids": members}).as_object().cloned(),
            "test",
            "r2",
        )
        .await
        .unwrap();
    let report = r.structured_content.unwrap();
    assert_eq!(r.is_error, Some(false), "{report}");
    assert_eq!(
        (report["accounts_checked"].as_u64(), report["ready"].as_u64()),
        (Some(3), Some(1)),
        "{report:#}"
    );
    assert_eq!(
        (report["not_entered"].as_u64(), report["missing_permissions"].as_u64()),
        (Some(1), Some(1)),
        "{report:#}"
    );
    let result = |i: usize| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["account_id"] == members[i])
            .unwrap()
            .clone()
    };
    let ready = result(0);
    assert_eq!(ready["assume_role"]["ok"], true);
    assert_eq!(ready["missing_permissions"], json!([]), "{ready:#}");
    let no_kms = result(1);
    assert_eq!(no_kms["assume_role"]["ok"], true);
    assert_eq!(no_kms["ready"], false);
    assert_eq!(no_kms["missing_permissions"], json!(["kms:ListKeys"]), "{no_kms:#}");
    assert!(
        no_kms["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "AccessDenied"),
        "{no_kms:#}"
    );
    let refusing = result(2);
    assert_eq!(refusing["assume_role"]["ok"], false);
    assert!(
        refusing["assume_role"]["detail"]
            .as_str()
            .unwrap()
            .contains("AccessDenied"),
        "{refusing:#}"
    );
    assert_eq!(refusing["role_arn"], role(2));
    // The ExternalId went with every AssumeRole.
    assert!(
        gate.assume_role_calls()
            .iter()
            .all(|c| c.external_id.as_deref() == Some(EXTERNAL_ID))
    );
}

/// A stand-in AWS on loopback that throttles `kms:ListKeys` `throttles`
/// times (400 ThrottlingException, as KMS answers) before answering, and
/// fails `kms:ListAliases` with 500 every time; STS tells the caller's account.
async fn throttling_aws(
    throttles: usize,
) -> (
    String,
    Arc<std::sync::atomic::AtomicUsize>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let list_keys = Arc::new(AtomicUsize::new(0));
    let list_aliases = Arc::new(AtomicUsize::new(0));
    let (keys, aliases) = (list_keys.clone(), list_aliases.clone());
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: axum::body::Bytes| {
        let (keys, aliases) = (keys.clone(), aliases.clone());
        async move {
            let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            match target.as_str() {
                "TrentService.ListKeys" => {
                    if keys.fetch_add(1, Ordering::SeqCst) < throttles {
                        (StatusCode::BAD_REQUEST, r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#).into_response()
                    } else {
                        (StatusCode::OK, r#"{"Keys":[{"KeyId":"k1","KeyArn":"arn:aws:kms:us-east-1:123456789012:key/k1"}],"Truncated":false}"#).into_response()
                    }
                }
                "TrentService.ListAliases" => {
                    aliases.fetch_add(1, Ordering::SeqCst);
                    (StatusCode::INTERNAL_SERVER_ERROR, r#"{"__type":"KMSInternalException","message":"internal"}"#).into_response()
                }
                _ if String::from_utf8_lossy(&body).contains("Action=GetCallerIdentity") => (
                    StatusCode::OK,
                    [("content-type", "text/xml")],
                    "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn>\
                     <UserId>AIDAT</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
                )
                    .into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    (posture_tests::forward::serve(app).await, list_keys, list_aliases)
}

/// A throttled read is retried (and answers); an AWS-side failure is tried
/// the few times allowed, then said with its code.
#[tokio::test]
async fn aws_read_retries_throttles_and_says_what_failed() {
    use std::sync::atomic::Ordering;
    let (endpoint, list_keys, list_aliases) = throttling_aws(2).await;
    let explorer = AwsExplorer::new(sdk_config_for(&endpoint).await, None, Policy::builtin().unwrap());
    let mut backend = posture_tests::mcp::demo_backend();
    backend.explorer = Some(Arc::new(explorer));
    let server = posture_mcp::PostureServer::new(backend);
    let (error, out) = call(&server, json!({"service": "kms", "operation": "ListKeys"})).await;
    assert!(!error, "{out}");
    assert_eq!(out["results"][0]["response"]["Keys"][0]["KeyId"], "k1", "{out}");
    assert_eq!(list_keys.load(Ordering::SeqCst), 3, "two throttles, then the answer");
    let (error, out) = call(
        &server,
        json!({"service": "kms", "operation": "ListAliases", "max_pages": 1}),
    )
    .await;
    assert!(!error, "{out}");
    let failed = &out["results"][0]["error"];
    assert_eq!(
        (failed["kind"].as_str(), failed["code"].as_str()),
        (Some("ServiceError"), Some("KMSInternalException")),
        "{out}"
    );
    assert_eq!(
        list_aliases.load(Ordering::SeqCst),
        4,
        "four attempts, then the failure is said"
    );
    assert_eq!(out["partial"], true);
}
