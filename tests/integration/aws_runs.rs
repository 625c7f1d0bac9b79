//! The DynamoDB and S3 stores against moto: the same run scenario as the
//! local store, plus item bodies too large for DynamoDB going to S3.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use posture_aws::store::dynamodb::{AwsStoreConfig, DynamoSnapshotStore, INLINE_LIMIT, S3ReportStore};
use posture_core::org::snapshot::Failure;
use posture_core::ports::{Page, SnapshotStore};
use posture_tests::moto::Moto;
use posture_tests::runs::{fanout_semantics, run_semantics};

/// Creates the table as template.yaml declares it, and the bucket.
pub async fn create_table_and_bucket(sdk: &aws_config::SdkConfig, table: &str, bucket: &str) {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    ddb.create_table()
        .table_name(table)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    posture_tests::moto::admin_s3(sdk)
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
}

fn config() -> AwsStoreConfig {
    AwsStoreConfig {
        table: "posture".to_string(),
        bucket: "posture-reports".to_string(),
        prefix: "org/".to_string(),
        retention_days: 30,
    }
}

#[tokio::test]
async fn dynamodb_store_keeps_the_fanout_semantics() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    create_table_and_bucket(&sdk, "posture", "posture-reports").await;
    let reports = S3ReportStore::connect(&sdk, config());
    fanout_semantics(&DynamoSnapshotStore::connect(&sdk, config()), &reports, &reports).await;
}

#[tokio::test]
async fn dynamodb_store_keeps_the_run_semantics() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    create_table_and_bucket(&sdk, "posture", "posture-reports").await;
    let store = DynamoSnapshotStore::connect(&sdk, config());
    let reports = S3ReportStore::connect(&sdk, config());
    run_semantics(&store, &reports, &reports).await;
    // Runs older than the index (here: all, once its start marker is gone)
    // are read from their records, with the same points.
    let indexed = store.trend_points("", "~", 10).await.unwrap();
    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_item()
        .table_name("posture")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("TREND".into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("SINCE".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(store.trend_points("", "~", 10).await.unwrap(), indexed);

    // Items carry schema_version and a TTL of start + retention.
    let item = aws_sdk_dynamodb::Client::new(&sdk)
        .get_item()
        .table_name("posture")
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("ORG".into()))
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("RUN#20261126T060000Z-scheduled".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let started: jiff::Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
    assert_eq!(
        item["expires_at"].as_n().unwrap(),
        &(started.as_second() + 30 * 86_400).to_string()
    );
    assert_eq!(item["schema_version"].as_n().unwrap(), "1");
    assert_eq!(item["state"].as_s().unwrap(), "COMPLETE");

    // The report is in S3 and its presigned link serves it.
    let run = store.run("20261126T060000Z-scheduled").await.unwrap().unwrap();
    let md = run.reports.iter().find(|r| r.name == "report.md").unwrap();
    assert_eq!(
        md.uri,
        "s3://posture-reports/org/reports/20261126T060000Z-scheduled/report.md"
    );
    let link = posture_core::ports::ReportStore::link(&reports, md).await.unwrap();
    assert!(link.contains("X-Amz-Signature"), "{link}");
    let body = reqwest::get(&link).await.unwrap().text().await.unwrap();
    assert!(
        body.starts_with("# Security posture: run 20261126T060000Z-scheduled"),
        "{body:.200}"
    );
}

#[tokio::test]
async fn a_snapshot_larger_than_an_item_goes_to_s3_and_reads_back() {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    create_table_and_bucket(&sdk, "posture", "posture-reports").await;
    let store = DynamoSnapshotStore::connect(&sdk, config());
    let now: jiff::Timestamp = "2026-11-26T06:00:00Z".parse().unwrap();
    let org = posture_core::demo::DemoOrganization::load(now).unwrap();
    let frameworks = posture_core::posture::frameworks::builtin().unwrap();
    let mut snap = posture_core::org::snapshot::take(
        "20261126T060000Z-big",
        &org.inventories[0],
        &[],
        &[],
        &frameworks,
        &posture_core::exceptions::Acceptance::NONE,
    );
    snap.failures = (0..5000)
        .map(|i| Failure {
            check_id: "s3.bucket_not_public".to_string(),
            resource: format!("arn:aws:s3:::a-bucket-with-a-long-name-number-{i:05}"),
            region: Some("us-east-1".to_string()),
            severity: posture_core::Severity::High,
        })
        .collect();
    assert!(serde_json::to_string(&snap).unwrap().len() > INLINE_LIMIT);
    store.put_snapshot(&snap).await.unwrap();
    let back = store.snapshot(&snap.account_id, &snap.run_id).await.unwrap().unwrap();
    assert_eq!(back, snap);
    let page = store
        .account_snapshots(&snap.account_id, "", "~", &Page { limit: 10, after: None })
        .await
        .unwrap();
    assert_eq!(page.items, vec![snap]);
}

/// The accepted-risks file deployed in the product's bucket: read and
/// checked; no object yet means no exceptions; a malformed one is reported
/// with its place and applies nothing.
#[tokio::test]
async fn the_exceptions_file_is_read_from_the_product_bucket() {
    use posture_aws::org::{ExceptionsLocation, load_exceptions};
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let s3 = posture_tests::moto::admin_s3(&sdk);
    s3.create_bucket().bucket("posture-reports").send().await.unwrap();
    let location = ExceptionsLocation::parse("s3://posture-reports/org/config/exceptions.json").unwrap();

    let none = load_exceptions(Some(&location), Some(&sdk)).await;
    assert!(none.error.is_none() && none.exceptions.is_empty(), "{none:?}");
    assert!(none.source.unwrap().contains("no such object"));

    let put = |body: &'static str| {
        s3.put_object()
            .bucket("posture-reports")
            .key("org/config/exceptions.json")
            .body(body.as_bytes().to_vec().into())
            .send()
    };
    put(r#"{"schema_version": 1, "exceptions": [{"id": "web", "control": "S3.8",
        "scope": {"organization": true, "resource": "www-*"}, "reason": "website", "owner": "web@example.com",
        "created": "2026-12-01", "expires": "2027-06-01"}]}"#)
    .await
    .unwrap();
    let loaded = load_exceptions(Some(&location), Some(&sdk)).await;
    assert_eq!(loaded.error, None);
    assert_eq!(loaded.exceptions.len(), 1);
    assert_eq!(loaded.exceptions[0].id, "web");

    put("{\"schema_version\": 1,\n \"exceptions\": [{\"id\": \"web\"}]}")
        .await
        .unwrap();
    let broken = load_exceptions(Some(&location), Some(&sdk)).await;
    let error = broken.error.unwrap();
    assert_eq!(error.file, "s3://posture-reports/org/config/exceptions.json");
    assert!(error.location.starts_with("line 2"), "{error}");
    assert!(broken.exceptions.is_empty());
}
