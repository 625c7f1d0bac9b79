//! EFS file systems of a region and whether they are encrypted at rest.

use super::{call, collected};
use aws_sdk_efs::Client;
use posture_core::posture::inventory::{Collected, FileSystem, Gap};

/// Collects the file systems of the client's region.
pub async fn collect(client: &Client) -> Collected<Vec<FileSystem>> {
    collected(collect_inner(client).await)
}

async fn collect_inner(client: &Client) -> Result<Vec<FileSystem>, Gap> {
    let mut file_systems = Vec::new();
    let mut marker = None;
    loop {
        let page = call!(
            "elasticfilesystem:DescribeFileSystems",
            client.describe_file_systems().set_marker(marker.take()).send()
        );
        file_systems.extend(page.file_systems().iter().map(|fs| FileSystem {
            id: fs.file_system_id().to_string(),
            arn: fs.file_system_arn().unwrap_or_default().to_string(),
            encrypted: fs.encrypted().unwrap_or(false),
        }));
        marker = page.next_marker().map(str::to_string);
        if marker.is_none() {
            return Ok(file_systems);
        }
    }
}
