//! The AWS stores: run records and snapshots in one DynamoDB table, report
//! files (and item bodies too large for DynamoDB) in S3.
//!
//! Key design (table with string keys `pk`, `sk`; TTL attribute `expires_at`):
//!
//! | item | pk | sk | written |
//! | --- | --- | --- | --- |
//! | run record | `ORG` | `RUN#<run_id>` | created conditionally (`attribute_not_exists`), then updated only while `RUNNING` with the same `attempt` |
//! | latest pointer | `ORG` | `LATEST` | in the transaction that completes a run, only if no newer run holds it (`run_id < :id`) |
//! | snapshot | `ACCOUNT#<account_id>` | `SNAP#<run_id>` | by a running run; read as history only when its run is `COMPLETE` |
//! | run index point | `TREND` | `RUN#<run_id>` | in the transaction that completes a run (its `TrendPoint`) |
//! | index start | `TREND` | `SINCE` | once, conditionally, by the first run begun with the index: older run ids are read from their records |
//!
//! Run ids start with their UTC start time, so `sk` order is time order and
//! a time range is a `BETWEEN`. Every item carries `schema_version`; run and
//! snapshot items carry `expires_at` (start + retention). The record itself is
//! JSON in `body`; one larger than [`INLINE_LIMIT`] goes to S3 under
//! `<prefix>items/...` and the item keeps its key in `body_key`.

use crate::errors::sanitize;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_smithy_runtime_api::client::result::SdkError;
use posture_core::org::run::{RUN_SCHEMA_VERSION, ReportLocation, RunRecord, RunState, TrendPoint};
use posture_core::org::snapshot::AccountSnapshot;
use posture_core::ports::SnapshotStore;
use posture_core::ports::{
    Begun, CollectedAccount, CollectionStore, Page, Paged, PortError, ReportFile, ReportStore, SnapshotPage,
    SpooledCollection, TrendPage,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::time::Duration;

/// Bodies above this many bytes go to S3 (DynamoDB items stop at 400 KB).
pub const INLINE_LIMIT: usize = 300 * 1024;

/// Presigned report links stay valid this long.
pub const LINK_VALIDITY: Duration = Duration::from_secs(3600);

/// Where the AWS stores keep things.
#[derive(Debug, Clone)]
pub struct AwsStoreConfig {
    /// DynamoDB table.
    pub table: String,
    /// S3 bucket for reports and large bodies.
    pub bucket: String,
    /// Key prefix in the bucket (empty or ending in `/`).
    pub prefix: String,
    /// Run and snapshot items expire this many days after the run started.
    pub retention_days: u32,
}

/// Run records and snapshots in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoSnapshotStore {
    ddb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    config: AwsStoreConfig,
}

/// Report files in S3.
#[derive(Debug, Clone)]
pub struct S3ReportStore {
    s3: aws_sdk_s3::Client,
    config: AwsStoreConfig,
}

type Item = HashMap<String, AttributeValue>;

const ORG: &str = "ORG";
const LATEST: &str = "LATEST";
const TREND: &str = "TREND";
const SINCE: &str = "SINCE";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn run_sk(run_id: &str) -> String {
    format!("RUN#{run_id}")
}

fn account_pk(account_id: &str) -> String {
    format!("ACCOUNT#{account_id}")
}

fn snap_sk(run_id: &str) -> String {
    format!("SNAP#{run_id}")
}

fn port_error<E, R>(action: &str, err: &SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let conflict = err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException");
    let message = sanitize(&crate::errors::classify(action, err).message);
    PortError {
        operation: action.to_string(),
        message,
        conflict,
    }
}

fn state_name(state: RunState) -> &'static str {
    match state {
        RunState::Queued => "QUEUED",
        RunState::Running => "RUNNING",
        RunState::Complete => "COMPLETE",
        RunState::Failed => "FAILED",
    }
}

/// Seconds since the epoch at which an item of a run started at `started_at`
/// expires.
fn expires_at(started_at: jiff::Timestamp, retention_days: u32) -> i64 {
    started_at.as_second() + i64::from(retention_days) * 86_400
}

impl DynamoSnapshotStore {
    /// A store over `sdk`, its clients limited to [`crate::iam::STORE`].
    pub fn connect(sdk: &aws_config::SdkConfig, config: AwsStoreConfig) -> DynamoSnapshotStore {
        DynamoSnapshotStore {
            ddb: crate::guarded_client!(aws_sdk_dynamodb, sdk, crate::iam::STORE),
            s3: crate::s3::s3_client(sdk, crate::iam::STORE),
            config,
        }
    }

    /// The item of a record: keys, the fields conditions look at, and the
    /// body inline or in S3.
    async fn item<T: Serialize>(
        &self,
        pk: &str,
        sk: &str,
        value: &T,
        started_at: jiff::Timestamp,
    ) -> Result<Item, PortError> {
        let body = serde_json::to_string(value).map_err(|e| PortError::new("serialize", e.to_string()))?;
        let mut item = Item::from([
            ("pk".to_string(), s(pk)),
            ("sk".to_string(), s(sk)),
            ("schema_version".to_string(), n(RUN_SCHEMA_VERSION)),
            (
                "expires_at".to_string(),
                n(expires_at(started_at, self.config.retention_days)),
            ),
        ]);
        if body.len() <= INLINE_LIMIT {
            item.insert("body".to_string(), s(body));
        } else {
            // A retry writes a new key, so an earlier attempt's body is
            // never overwritten under a reader.
            let key = format!(
                "{}items/{}/{}/{}.json",
                self.config.prefix,
                pk,
                sk.replace('#', "_"),
                uuid::Uuid::new_v4().simple()
            );
            self.s3
                .put_object()
                .bucket(&self.config.bucket)
                .key(&key)
                .content_type("application/json")
                .body(body.into_bytes().into())
                .send()
                .await
                .map_err(|e| port_error("s3:PutObject", &e))?;
            item.insert("body_key".to_string(), s(key));
        }
        Ok(item)
    }

    fn run_item_fields(item: &mut Item, run: &RunRecord) {
        item.insert("run_id".to_string(), s(&run.run_id));
        item.insert("state".to_string(), s(state_name(run.state)));
        item.insert("attempt".to_string(), n(run.attempt));
    }

    /// The index item of a complete run (none without a summary).
    async fn trend_item(&self, run: &RunRecord) -> Result<Option<Item>, PortError> {
        let Some(summary) = &run.summary else {
            return Ok(None);
        };
        let point = TrendPoint::of(run, summary);
        Ok(Some(
            self.item(TREND, &run_sk(&run.run_id), &point, run.started_at).await?,
        ))
    }

    /// Marks where the index starts, unless a run already did.
    async fn mark_index_start(&self, run_id: &str) -> Result<(), PortError> {
        let put = self
            .ddb
            .put_item()
            .table_name(&self.config.table)
            .item("pk", s(TREND))
            .item("sk", s(SINCE))
            .item("run_id", s(run_id))
            .item("schema_version", n(RUN_SCHEMA_VERSION))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put.map_err(|e| port_error("dynamodb:PutItem", &e)) {
            // Already marked: an earlier run began the index.
            Err(error) if !error.conflict => Err(error),
            _ => Ok(()),
        }
    }

    /// Index items in `[from, to]`: how many, and the newest `limit` (oldest first).
    async fn indexed(&self, from: &str, to: &str, limit: usize) -> Result<(usize, Vec<TrendPoint>), PortError> {
        let (from, to) = (run_sk(from), run_sk(to));
        let total = self.count(TREND, &from, &to).await?;
        if limit == 0 || total == 0 {
            return Ok((total, Vec::new()));
        }
        let mut points = Vec::new();
        for item in self.newest(TREND, &from, &to, limit).await? {
            points.push(self.decode::<TrendPoint>(&item).await?);
        }
        points.reverse();
        Ok((total, points))
    }

    /// Items of partition `pk` with sort keys in `[from, to]`, counted (the
    /// items themselves are not read).
    async fn count(&self, pk: &str, from: &str, to: &str) -> Result<usize, PortError> {
        let mut total = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .range(pk, from, to)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| port_error("dynamodb:Query", &e))?;
            total += usize::try_from(out.count).unwrap_or_default();
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(total),
            }
        }
    }

    /// The newest `limit` items of partition `pk` with sort keys in
    /// `[from, to]`, newest first.
    async fn newest(&self, pk: &str, from: &str, to: &str, limit: usize) -> Result<Vec<Item>, PortError> {
        let out = self
            .range(pk, from, to)
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:Query", &e))?;
        Ok(out.items.unwrap_or_default())
    }

    fn range(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.ddb
            .query()
            .table_name(&self.config.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .consistent_read(true)
    }

    async fn run_item(&self, run: &RunRecord) -> Result<Item, PortError> {
        let mut item = self.item(ORG, &run_sk(&run.run_id), run, run.started_at).await?;
        Self::run_item_fields(&mut item, run);
        Ok(item)
    }

    async fn decode<T: DeserializeOwned>(&self, item: &Item) -> Result<T, PortError> {
        let version = item
            .get("schema_version")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u32>().ok());
        if version != Some(RUN_SCHEMA_VERSION) {
            return Err(PortError::new(
                "read",
                format!("item with schema_version {version:?}, this build reads {RUN_SCHEMA_VERSION}"),
            ));
        }
        let body = if let Some(body) = item.get("body").and_then(|v| v.as_s().ok()) {
            body.clone().into_bytes()
        } else if let Some(key) = item.get("body_key").and_then(|v| v.as_s().ok()) {
            let object = self
                .s3
                .get_object()
                .bucket(&self.config.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| port_error("s3:GetObject", &e))?;
            object
                .body
                .collect()
                .await
                .map_err(|e| PortError::new("s3:GetObject", e.to_string()))?
                .to_vec()
        } else {
            return Err(PortError::new("read", "item has neither body nor body_key"));
        };
        serde_json::from_slice(&body).map_err(|e| PortError::new("read", e.to_string()))
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, PortError> {
        let out = self
            .ddb
            .get_item()
            .table_name(&self.config.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("dynamodb:GetItem", &e))?;
        Ok(out.item)
    }

    /// Puts `item`, whatever is stored under its key.
    async fn put(&self, item: Item) -> Result<(), PortError> {
        self.ddb
            .put_item()
            .table_name(&self.config.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:PutItem", &e))?;
        Ok(())
    }

    /// Puts a run record if the stored one is `attempt` and `RUNNING`.
    async fn put_running(&self, run: &RunRecord, attempt: u32) -> Result<(), PortError> {
        let item = self.run_item(run).await?;
        self.ddb
            .put_item()
            .table_name(&self.config.table)
            .set_item(Some(item))
            .condition_expression("attempt = :attempt AND #state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":attempt", n(attempt))
            .expression_attribute_values(":running", s("RUNNING"))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:PutItem", &e))?;
        Ok(())
    }

    /// Items of partition `pk` with sort keys in `[from, to]` after `after`:
    /// at most `limit`, and whether there are more.
    async fn query(
        &self,
        pk: &str,
        from: String,
        to: String,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Item>, bool), PortError> {
        let mut items = Vec::new();
        let mut start: Option<Item> =
            after.map(|sk| Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))]));
        loop {
            let out = self
                .ddb
                .query()
                .table_name(&self.config.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":from", s(&from))
                .expression_attribute_values(":to", s(&to))
                .consistent_read(true)
                .limit(i32::try_from(limit + 1 - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| port_error("dynamodb:Query", &e))?;
            items.extend(out.items.unwrap_or_default());
            if items.len() > limit {
                items.truncate(limit);
                return Ok((items, true));
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok((items, false)),
            }
        }
    }
}

#[async_trait::async_trait]
impl SnapshotStore for DynamoSnapshotStore {
    async fn begin_run(&self, run: &RunRecord) -> Result<Begun, PortError> {
        let item = self.run_item(run).await?;
        let put = self
            .ddb
            .put_item()
            .table_name(&self.config.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match put {
            Ok(_) => {
                self.mark_index_start(&run.run_id).await?;
                Ok(Begun::Started)
            }
            Err(e) => {
                let error = port_error("dynamodb:PutItem", &e);
                if !error.conflict {
                    return Err(error);
                }
                match self.run(&run.run_id).await? {
                    Some(existing) => Ok(Begun::Exists(Box::new(existing))),
                    None => Err(PortError::conflict("begin_run", "run record vanished")),
                }
            }
        }
    }

    async fn retake_run(&self, run: &RunRecord, prior_attempt: u32) -> Result<(), PortError> {
        let item = self.run_item(run).await?;
        self.ddb
            .put_item()
            .table_name(&self.config.table)
            .set_item(Some(item))
            .condition_expression("attempt = :attempt AND #state <> :complete")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":attempt", n(prior_attempt))
            .expression_attribute_values(":complete", s("COMPLETE"))
            .send()
            .await
            .map_err(|e| port_error("dynamodb:PutItem", &e))?;
        Ok(())
    }

    async fn update_run(&self, run: &RunRecord) -> Result<(), PortError> {
        self.put_running(run, run.attempt).await
    }

    async fn put_snapshot(&self, snapshot: &AccountSnapshot) -> Result<(), PortError> {
        let mut item = self
            .item(
                &account_pk(&snapshot.account_id),
                &snap_sk(&snapshot.run_id),
                snapshot,
                snapshot.taken_at,
            )
            .await?;
        item.insert("run_id".to_string(), s(&snapshot.run_id));
        item.insert("account_id".to_string(), s(&snapshot.account_id));
        self.put(item).await
    }

    async fn complete_run(&self, run: &RunRecord) -> Result<(), PortError> {
        let item = self.run_item(run).await?;
        let put_run = Put::builder()
            .table_name(&self.config.table)
            .set_item(Some(item))
            .condition_expression("attempt = :attempt AND #state = :running")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":attempt", n(run.attempt))
            .expression_attribute_values(":running", s("RUNNING"))
            .build()
            .map_err(|e| PortError::new("complete_run", e.to_string()))?;
        let put_latest = Put::builder()
            .table_name(&self.config.table)
            .item("pk", s(ORG))
            .item("sk", s(LATEST))
            .item("run_id", s(&run.run_id))
            .item("schema_version", n(RUN_SCHEMA_VERSION))
            .condition_expression("attribute_not_exists(pk) OR run_id < :id")
            .expression_attribute_values(":id", s(&run.run_id))
            .build()
            .map_err(|e| PortError::new("complete_run", e.to_string()))?;
        let trend = self.trend_item(run).await?;
        let mut commit = self
            .ddb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_run).build())
            .transact_items(TransactWriteItem::builder().put(put_latest).build());
        if let Some(item) = trend.clone() {
            let put_trend = Put::builder()
                .table_name(&self.config.table)
                .set_item(Some(item))
                .build()
                .map_err(|e| PortError::new("complete_run", e.to_string()))?;
            commit = commit.transact_items(TransactWriteItem::builder().put(put_trend).build());
        }
        let both = commit.send().await;
        let Err(e) = both else { return Ok(()) };
        // Cancelled only because a newer run is already latest: commit the
        // record alone (this run joins history, latest stays).
        let reasons: Vec<Option<String>> = match e.as_service_error() {
            Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) => c
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let run_ok = reasons
            .first()
            .is_some_and(|c| c.as_deref().is_none_or(|c| c == "None"));
        let latest_lost = reasons
            .get(1)
            .is_some_and(|c| c.as_deref() == Some("ConditionalCheckFailed"));
        if run_ok && latest_lost {
            self.put_running(run, run.attempt).await?;
            // The run is committed: its point follows (a crash between the
            // two loses a point of an older run, never invents one).
            if let Some(item) = trend {
                self.put(item).await?;
            }
            return Ok(());
        }
        let mut error = port_error("TransactWriteItems (dynamodb:PutItem)", &e);
        if reasons
            .first()
            .is_some_and(|c| c.as_deref() == Some("ConditionalCheckFailed"))
        {
            error.conflict = true;
        }
        Err(error)
    }

    async fn fail_run(&self, run: &RunRecord) -> Result<(), PortError> {
        self.put_running(run, run.attempt).await
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>, PortError> {
        match self.get(ORG, &run_sk(run_id)).await? {
            Some(item) => Ok(Some(self.decode(&item).await?)),
            None => Ok(None),
        }
    }

    async fn latest_run(&self) -> Result<Option<RunRecord>, PortError> {
        let Some(pointer) = self.get(ORG, LATEST).await? else {
            return Ok(None);
        };
        let Some(run_id) = pointer.get("run_id").and_then(|v| v.as_s().ok()) else {
            return Err(PortError::new("latest_run", "LATEST item without run_id"));
        };
        self.run(run_id).await
    }

    async fn runs(&self, from: &str, to: &str, page: &Page) -> Result<Paged<RunRecord>, PortError> {
        let limit = page.limit.max(1);
        let (items, more) = self
            .query(ORG, run_sk(from), run_sk(to), page.after.as_deref().map(run_sk), limit)
            .await?;
        let mut runs = Vec::with_capacity(items.len());
        for item in &items {
            runs.push(self.decode::<RunRecord>(item).await?);
        }
        let next = more.then(|| runs.last().map(|r| r.run_id.clone())).flatten();
        Ok(Paged { items: runs, next })
    }

    async fn trend_points(&self, from: &str, to: &str, limit: usize) -> Result<TrendPage, PortError> {
        let since = self
            .get(TREND, SINCE)
            .await?
            .and_then(|item| item.get("run_id").and_then(|v| v.as_s().ok()).cloned());
        // Runs older than the index are read from their records.
        let mut points = Vec::new();
        let legacy_before = since.as_deref().unwrap_or("~");
        if from < legacy_before {
            let legacy = posture_core::ports::all_runs(self, from, to.min(legacy_before)).await?;
            points.extend(
                legacy
                    .iter()
                    .filter(|r| r.run_id.as_str() < legacy_before && r.state == RunState::Complete)
                    .filter_map(|r| r.summary.as_ref().map(|summary| TrendPoint::of(r, summary))),
            );
        }
        let mut total = points.len();
        if let Some(since) = since.as_deref() {
            let (indexed_total, indexed) = self.indexed(from.max(since), to, limit).await?;
            total += indexed_total;
            points.extend(indexed);
        }
        let skip = points.len().saturating_sub(limit);
        Ok(TrendPage {
            points: points.split_off(skip),
            total,
        })
    }

    async fn incomplete_runs(&self, from: &str, to: &str) -> Result<Vec<String>, PortError> {
        // Every run item in the range is scanned by DynamoDB, but only the
        // incomplete ones' ids come back.
        let mut ids = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .range(ORG, &run_sk(from), &run_sk(to))
                .filter_expression("#state <> :complete")
                .projection_expression("run_id")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":complete", s("COMPLETE"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| port_error("dynamodb:Query", &e))?;
            ids.extend(
                out.items()
                    .iter()
                    .filter_map(|item| item.get("run_id").and_then(|v| v.as_s().ok()).cloned()),
            );
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(ids),
            }
        }
    }

    async fn recent_account_snapshots(
        &self,
        account_id: &str,
        from: &str,
        to: &str,
        limit: usize,
        incomplete: &[String],
    ) -> Result<SnapshotPage, PortError> {
        let pk = account_pk(account_id);
        let (from_sk, to_sk) = (snap_sk(from), snap_sk(to));
        let mut total = self.count(&pk, &from_sk, &to_sk).await?;
        let incomplete: Vec<&String> = incomplete
            .iter()
            .filter(|id| id.as_str() >= from && id.as_str() <= to)
            .collect();
        for id in &incomplete {
            if self.get(&pk, &snap_sk(id)).await?.is_some() {
                total = total.saturating_sub(1);
            }
        }
        let mut snapshots = Vec::new();
        if limit > 0 && total > 0 {
            for item in self.newest(&pk, &from_sk, &to_sk, limit + incomplete.len()).await? {
                let snap: AccountSnapshot = self.decode(&item).await?;
                if !incomplete.contains(&&snap.run_id) && snapshots.len() < limit {
                    snapshots.push(snap);
                }
            }
        }
        snapshots.reverse();
        Ok(SnapshotPage { snapshots, total })
    }

    async fn snapshot(&self, account_id: &str, run_id: &str) -> Result<Option<AccountSnapshot>, PortError> {
        match self.get(&account_pk(account_id), &snap_sk(run_id)).await? {
            Some(item) => Ok(Some(self.decode(&item).await?)),
            None => Ok(None),
        }
    }

    async fn account_snapshots(
        &self,
        account_id: &str,
        from: &str,
        to: &str,
        page: &Page,
    ) -> Result<Paged<AccountSnapshot>, PortError> {
        let limit = page.limit.max(1);
        let (items, more) = self
            .query(
                &account_pk(account_id),
                snap_sk(from),
                snap_sk(to),
                page.after.as_deref().map(snap_sk),
                limit,
            )
            .await?;
        let mut snaps = Vec::with_capacity(items.len());
        for item in &items {
            snaps.push(self.decode::<AccountSnapshot>(item).await?);
        }
        let next = more.then(|| snaps.last().map(|s| s.run_id.clone())).flatten();
        Ok(Paged { items: snaps, next })
    }
}

impl S3ReportStore {
    /// A store over `sdk`, its client limited to [`crate::iam::STORE`].
    pub fn connect(sdk: &aws_config::SdkConfig, config: AwsStoreConfig) -> S3ReportStore {
        S3ReportStore {
            s3: crate::s3::s3_client(sdk, crate::iam::STORE),
            config,
        }
    }
}

#[async_trait::async_trait]
impl ReportStore for S3ReportStore {
    async fn put(&self, run_id: &str, file: &ReportFile) -> Result<ReportLocation, PortError> {
        let name = super::local::report_name(&file.name)?;
        if !posture_core::org::run::is_valid_run_id(run_id) {
            return Err(PortError::new("put_report", format!("not a valid run id: {run_id:?}")));
        }
        let key = format!("{}reports/{run_id}/{name}", self.config.prefix);
        self.s3
            .put_object()
            .bucket(&self.config.bucket)
            .key(&key)
            .content_type(&file.content_type)
            .body(file.body.clone().into())
            .send()
            .await
            .map_err(|e| port_error("s3:PutObject", &e))?;
        Ok(ReportLocation {
            name: file.name.clone(),
            uri: format!("s3://{}/{key}", self.config.bucket),
        })
    }

    async fn link(&self, location: &ReportLocation) -> Result<String, PortError> {
        let prefix = format!("s3://{}/", self.config.bucket);
        let Some(key) = location.uri.strip_prefix(&prefix) else {
            return Err(PortError::new(
                "link",
                format!("{} is not in this bucket", location.uri),
            ));
        };
        let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(LINK_VALIDITY)
            .map_err(|e| PortError::new("link", e.to_string()))?;
        let request = self
            .s3
            .get_object()
            .bucket(&self.config.bucket)
            .key(key)
            .presigned(presigning)
            .await
            .map_err(|e| port_error("s3:GetObject", &e))?;
        Ok(request.uri().to_string())
    }

    async fn get(&self, run_id: &str, name: &str) -> Result<Option<Vec<u8>>, PortError> {
        let name = super::local::report_name(name)?;
        if !posture_core::org::run::is_valid_run_id(run_id) {
            return Err(PortError::new("get_report", format!("not a valid run id: {run_id:?}")));
        }
        self.object(&format!("{}reports/{run_id}/{name}", self.config.prefix))
            .await
    }
}

impl S3ReportStore {
    /// An account's collection in a run, in either form; `None` when absent.
    async fn read_collection<F: serde::de::DeserializeOwned>(
        &self,
        run_id: &str,
        account_id: &str,
    ) -> Result<Option<CollectedAccount<F>>, PortError> {
        let key = self.collection_key(run_id, account_id)?;
        match self.object(&key).await? {
            Some(body) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| PortError::new("collection", format!("{key}: {e}"))),
            None => Ok(None),
        }
    }

    /// The object at `key`; `None` when there is none.
    async fn object(&self, key: &str) -> Result<Option<Vec<u8>>, PortError> {
        let out = match self.s3.get_object().bucket(&self.config.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(port_error("s3:GetObject", &e)),
        };
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| PortError::new("s3:GetObject", e.to_string()))?;
        Ok(Some(body.to_vec()))
    }

    /// Where the collector function and the run write an account's collection.
    fn collection_key(&self, run_id: &str, account_id: &str) -> Result<String, PortError> {
        if !posture_core::org::run::is_valid_run_id(run_id)
            || account_id.parse::<posture_core::ids::AccountId>().is_err()
        {
            return Err(PortError::new(
                "collection",
                format!("not a run id and account id: {run_id:?}, {account_id:?}"),
            ));
        }
        Ok(crate::collector::collection_key(
            &self.config.prefix,
            run_id,
            account_id,
        ))
    }
}

#[async_trait::async_trait]
impl CollectionStore for S3ReportStore {
    async fn put_collection(&self, run_id: &str, account: &SpooledCollection) -> Result<(), PortError> {
        let key = self.collection_key(run_id, &account.inventory.account_id)?;
        // As the collector function writes it: from the spool, part by part.
        crate::collector::put_streamed(&self.s3, &self.config.bucket, &key, account)
            .await
            .map_err(|e| PortError::new("put_collection", e.to_string()))?;
        Ok(())
    }

    async fn collection(&self, run_id: &str, account_id: &str) -> Result<Option<CollectedAccount>, PortError> {
        self.read_collection(run_id, account_id).await
    }

    async fn collection_spooled(&self, run_id: &str, account_id: &str) -> Result<Option<SpooledCollection>, PortError> {
        self.read_collection(run_id, account_id).await
    }
}
