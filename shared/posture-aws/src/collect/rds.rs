//! RDS DB instances of a region, with the settings the checks read: encryption
//! at rest, minor version upgrades, public accessibility, deletion protection,
//! backups, IAM authentication, Multi-AZ, enhanced monitoring, tags copied to
//! snapshots, administrator user name and port.

use super::{call, collected};
use aws_sdk_rds::Client;
use posture_core::posture::inventory::{Collected, DbInstance, Gap};

/// Collects the DB instances of the client's region.
pub async fn collect(client: &Client) -> Collected<Vec<DbInstance>> {
    collected(collect_inner(client).await)
}

async fn collect_inner(client: &Client) -> Result<Vec<DbInstance>, Gap> {
    let mut instances = Vec::new();
    let mut marker = None;
    loop {
        let page = call!(
            "rds:DescribeDBInstances",
            client.describe_db_instances().set_marker(marker.take()).send()
        );
        instances.extend(page.db_instances().iter().map(|db| DbInstance {
            id: db.db_instance_identifier().unwrap_or_default().to_string(),
            arn: db.db_instance_arn().unwrap_or_default().to_string(),
            engine: db.engine().unwrap_or_default().to_string(),
            storage_encrypted: db.storage_encrypted().unwrap_or(false),
            auto_minor_version_upgrade: db.auto_minor_version_upgrade().unwrap_or(false),
            publicly_accessible: db.publicly_accessible().unwrap_or(false),
            // AWS leaves these out when off.
            deletion_protection: Some(db.deletion_protection().unwrap_or(false)),
            backup_retention_days: Some(db.backup_retention_period().unwrap_or(0)),
            iam_authentication: Some(db.iam_database_authentication_enabled().unwrap_or(false)),
            multi_az: Some(db.multi_az().unwrap_or(false)),
            monitoring_interval: Some(db.monitoring_interval().unwrap_or(0)),
            copy_tags_to_snapshot: Some(db.copy_tags_to_snapshot().unwrap_or(false)),
            master_username: db.master_username().map(str::to_string),
            port: db.endpoint().and_then(|e| e.port()),
        }));
        marker = page.marker().map(str::to_string);
        if marker.is_none() {
            return Ok(instances);
        }
    }
}
