//! The account directory: Organizations `ListAccounts` with each account's
//! organizational units, or a configured list.

use posture_core::org::run::OrgUnit;
use posture_core::ports::{AccountDirectory, DirectoryAccount, PortError};
use std::collections::HashMap;

/// Organizations `ListAccounts`, every page.
pub struct OrganizationsDirectory {
    /// Client in the management (or delegated administrator) account.
    pub client: aws_sdk_organizations::Client,
}

#[async_trait::async_trait]
impl AccountDirectory for OrganizationsDirectory {
    async fn accounts(&self) -> Result<Vec<DirectoryAccount>, PortError> {
        let mut out = self.listed_accounts().await?;
        // The OU tree only serves OU selections: a run goes on without it
        // (the accounts then have no OU, and an OU selection says so).
        match self.ou_paths().await {
            Ok(mut paths) => {
                for a in &mut out {
                    a.ou_path = paths.remove(&a.account_id).unwrap_or_default();
                }
            }
            Err(e) => tracing::warn!(error = %e, "organizational units not read; OU selections will find no account"),
        }
        Ok(out)
    }
}

fn failed<E, R>(operation: &str, e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> PortError
where
    E: std::error::Error + aws_sdk_organizations::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    PortError::new(operation, crate::errors::classify("Organizations", e).message)
}

impl OrganizationsDirectory {
    /// The ids of the organization's ACTIVE accounts (no OU tree walk).
    pub async fn active_account_ids(&self) -> Result<Vec<String>, PortError> {
        Ok(self
            .listed_accounts()
            .await?
            .into_iter()
            .filter(|a| a.status.eq_ignore_ascii_case("ACTIVE"))
            .map(|a| a.account_id)
            .collect())
    }

    /// Organizations `ListAccounts`, every page, without OU paths.
    async fn listed_accounts(&self) -> Result<Vec<DirectoryAccount>, PortError> {
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
                    ou_path: Vec::new(),
                });
            }
        }
        Ok(out)
    }

    /// Each account's OU path, walking the tree from every root (two paged
    /// list calls per unit).
    async fn ou_paths(&self) -> Result<HashMap<String, Vec<OrgUnit>>, PortError> {
        let mut parents: Vec<(String, Vec<OrgUnit>)> = Vec::new();
        let mut roots = self.client.list_roots().into_paginator().send();
        while let Some(page) = roots.next().await {
            let page = page.map_err(|e| failed("organizations:ListRoots", &e))?;
            parents.extend(
                page.roots()
                    .iter()
                    .filter_map(|r| r.id())
                    .map(|id| (id.to_string(), Vec::new())),
            );
        }
        let mut paths = HashMap::new();
        while let Some((parent, path)) = parents.pop() {
            let mut accounts = self
                .client
                .list_accounts_for_parent()
                .parent_id(&parent)
                .into_paginator()
                .send();
            while let Some(page) = accounts.next().await {
                let page = page.map_err(|e| failed("organizations:ListAccountsForParent", &e))?;
                for a in page.accounts() {
                    if let Some(id) = a.id() {
                        paths.insert(id.to_string(), path.clone());
                    }
                }
            }
            let mut units = self
                .client
                .list_organizational_units_for_parent()
                .parent_id(&parent)
                .into_paginator()
                .send();
            while let Some(page) = units.next().await {
                let page = page.map_err(|e| failed("organizations:ListOrganizationalUnitsForParent", &e))?;
                for unit in page.organizational_units() {
                    let (Some(id), Some(name)) = (unit.id(), unit.name()) else {
                        continue;
                    };
                    let mut child = path.clone();
                    child.push(OrgUnit {
                        id: id.to_string(),
                        name: name.to_string(),
                    });
                    parents.push((id.to_string(), child));
                }
            }
        }
        Ok(paths)
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
