//! MCP resources besides the reports (`tools/report.rs`): the accounts of
//! the latest complete run with their organizational units, status and
//! Regions, each account's latest snapshot, the frameworks and their
//! requirements, the native checks, and the server's configuration (no
//! secret in it). All JSON; read from what the server already holds.

use crate::backend::{Backend, HistoryBackend};
use crate::serving::Latest;
use crate::tools::report::ResourceError;
use rmcp::model::{Resource, ResourceTemplate};
use serde_json::{Value, json};

const ACCOUNTS: &str = "posture://accounts";
const FRAMEWORKS: &str = "posture://frameworks";
const CHECKS: &str = "posture://checks";
const CONFIGURATION: &str = "posture://server/configuration";
const JSON: &str = "application/json";

/// The fixed resources (the per-account and per-framework ones are
/// templates and, for the loaded frameworks, listed too).
pub fn list(backend: &Backend) -> Vec<Resource> {
    let mut out = vec![
        Resource::new(ACCOUNTS, "accounts")
            .with_title("Accounts of the latest complete run: organizational units, status, Regions, last snapshot")
            .with_mime_type(JSON),
        Resource::new(FRAMEWORKS, "frameworks")
            .with_title("Loaded compliance frameworks and their requirement counts")
            .with_mime_type(JSON),
        Resource::new(CHECKS, "checks")
            .with_title("Native read-only checks: id, service, severity, Security Hub control, rationale")
            .with_mime_type(JSON),
        Resource::new(CONFIGURATION, "server-configuration")
            .with_title("Server configuration (nothing secret)")
            .with_mime_type(JSON),
    ];
    for f in &backend.frameworks {
        out.push(
            Resource::new(
                format!("{FRAMEWORKS}/{}", f.short_name),
                format!("framework-{}", f.short_name),
            )
            .with_title(format!("{} {}: every requirement", f.name, f.version))
            .with_mime_type(JSON),
        );
    }
    out
}

/// Templates of the per-account and per-framework resources.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(format!("{ACCOUNTS}/{{account_id}}/snapshot"), "account-snapshot").with_description(
            "An account's snapshot in the latest complete run: scores, failures, open findings, gaps",
        ),
        ResourceTemplate::new(format!("{FRAMEWORKS}/{{short_name}}"), "framework")
            .with_description("One framework's requirements and what decides each"),
    ]
}

/// Whether `uri` is one of these resources (else a report, or unknown).
pub fn owns(uri: &str) -> bool {
    [ACCOUNTS, FRAMEWORKS, CHECKS, CONFIGURATION]
        .iter()
        .any(|p| uri == *p || uri.starts_with(&format!("{p}/")))
}

/// Reads `uri`: (MIME type, text).
pub async fn read(backend: &Backend, uri: &str) -> Result<(String, String), ResourceError> {
    let value = match uri {
        ACCOUNTS => accounts(backend).await?,
        FRAMEWORKS => json!({"frameworks": backend.frameworks.iter().map(|f| json!({
            "short_name": f.short_name, "id": f.id, "name": f.name, "version": f.version,
            "requirements": f.requirements.len(), "uri": format!("{FRAMEWORKS}/{}", f.short_name),
        })).collect::<Vec<_>>(), "not_loaded": backend.framework_errors}),
        CHECKS => checks(),
        CONFIGURATION => configuration(backend),
        _ => {
            if let Some(name) = uri.strip_prefix(&format!("{FRAMEWORKS}/")) {
                let f = backend.framework(name).ok_or_else(|| {
                    ResourceError::NotFound(format!(
                        "no framework {name:?} is loaded ({})",
                        backend.framework_names().join(", ")
                    ))
                })?;
                serde_json::to_value(f).map_err(|e| ResourceError::Invalid(e.to_string()))?
            } else if let Some(account) = uri
                .strip_prefix(&format!("{ACCOUNTS}/"))
                .and_then(|r| r.strip_suffix("/snapshot"))
            {
                snapshot(backend, account).await?
            } else {
                return Err(ResourceError::Invalid(format!(
                    "not a resource: {uri:?} (resources/list and resources/templates/list name them)"
                )));
            }
        }
    };
    let text = serde_json::to_string_pretty(&value).map_err(|e| ResourceError::Invalid(e.to_string()))?;
    Ok((JSON.to_string(), posture_core::secrets::mask(&text)))
}

fn history(backend: &Backend) -> Result<&HistoryBackend, ResourceError> {
    backend
        .history
        .as_ref()
        .ok_or_else(|| ResourceError::NotFound("no store is configured: there are no runs to read".into()))
}

async fn accounts(backend: &Backend) -> Result<Value, ResourceError> {
    let h = history(backend)?;
    let run = match h.latest_served().await {
        Latest::Run(run) => run,
        Latest::NoRun => {
            return Ok(json!({"run_id": null, "accounts": [], "note": "no org-wide run has completed yet"}));
        }
        Latest::StoreFailed(why) | Latest::Unusable(why) => return Err(ResourceError::NotFound(why)),
    };
    let data = &run.data;
    let accounts: Vec<Value> = data
        .run
        .accounts
        .iter()
        .map(|a| {
            let inventory = data.inventories.iter().find(|i| i.account_id == a.account_id);
            json!({
                "account_id": a.account_id,
                "name": a.name,
                "status": a.status,
                "ou_path": a.ou_path,
                "outcome": a.outcome,
                "gap": a.gap,
                "regions": inventory.map(|i| i.regions.clone()).unwrap_or_default(),
                "collected_at": inventory.map(|i| i.collected_at.to_string()),
                "snapshot": inventory.map(|_| format!("{ACCOUNTS}/{}/snapshot", a.account_id)),
            })
        })
        .collect();
    Ok(json!({"run_id": data.run.run_id, "accounts": accounts}))
}

async fn snapshot(backend: &Backend, account: &str) -> Result<Value, ResourceError> {
    let account: posture_core::ids::AccountId = account
        .parse()
        .map_err(|e| ResourceError::Invalid(format!("account id {e}")))?;
    let h = history(backend)?;
    let run = match h.latest_served().await {
        Latest::Run(run) => run,
        Latest::NoRun => return Err(ResourceError::NotFound("no org-wide run has completed yet".into())),
        Latest::StoreFailed(why) | Latest::Unusable(why) => return Err(ResourceError::NotFound(why)),
    };
    let run_id = &run.data.run.run_id;
    let found = h
        .store
        .snapshot(account.as_str(), run_id)
        .await
        .map_err(|e| ResourceError::NotFound(format!("the store could not be read: {e}")))?
        .ok_or_else(|| {
            ResourceError::NotFound(format!("account {} has no snapshot in run {run_id}", account.as_str()))
        })?;
    serde_json::to_value(found).map_err(|e| ResourceError::Invalid(e.to_string()))
}

fn checks() -> Value {
    json!({"checks": posture_core::posture::checks::CHECKS.iter().map(|c| json!({
        "id": c.id, "title": c.title, "service": c.service, "severity": c.severity,
        "security_hub_control": c.security_hub_control, "rationale": c.rationale,
        "remediation": c.remediation, "doc_url": c.doc_url,
    })).collect::<Vec<_>>()})
}

fn configuration(backend: &Backend) -> Value {
    json!({
        "data_source": backend.mode.name(),
        "aws_region": backend.health.region(),
        "log_level": backend.log_level,
        "auth_methods": backend.auth_methods,
        "frameworks": backend.framework_names(),
        "history_store": backend.history.is_some(),
        "live_member_reads": backend.members.is_some(),
        "cloudtrail_investigation": backend.events.is_some(),
        "aws_explorer": backend.explorer.is_some(),
        "finding_sources": backend.sources.iter().map(|s| s.service()).collect::<Vec<_>>(),
        "read_only": true,
    })
}
