//! RDS DB instances of a region: encryption at rest, automatic minor version
//! upgrades, public accessibility.

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
        }));
        marker = page.marker().map(str::to_string);
        if marker.is_none() {
            return Ok(instances);
        }
    }
}
