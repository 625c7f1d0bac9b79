//! The account directory: Organizations `ListAccounts`, or a configured list.

use posture_core::ports::{AccountDirectory, DirectoryAccount, PortError};

/// Organizations `ListAccounts`, every page.
pub struct OrganizationsDirectory {
    /// Client in the management (or delegated administrator) account.
    pub client: aws_sdk_organizations::Client,
}

#[async_trait::async_trait]
impl AccountDirectory for OrganizationsDirectory {
    async fn accounts(&self) -> Result<Vec<DirectoryAccount>, PortError> {
        let mut pages = self.client.list_accounts().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                PortError::new(
                    "organizations:ListAccounts",
                    crate::errors::classify("Organizations", &e).message,
                )
            })?;
            for a in page.accounts() {
                #[allow(deprecated)]
                let status = a
                    .state()
                    .map(|s| s.as_str().to_string())
                    .or_else(|| a.status().map(|s| s.as_str().to_string()))
                    .unwrap_or_default();
                out.push(DirectoryAccount {
                    account_id: a.id().unwrap_or_default().to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                    status,
                });
            }
        }
        Ok(out)
    }
}

/// A configured list of accounts.
pub struct ListedDirectory(pub Vec<DirectoryAccount>);

#[async_trait::async_trait]
impl AccountDirectory for ListedDirectory {
    async fn accounts(&self) -> Result<Vec<DirectoryAccount>, PortError> {
        Ok(self.0.clone())
    }
}
