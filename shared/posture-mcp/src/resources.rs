//! MCP resources besides the reports (`tools/report.rs`): the accounts of
//! the latest complete run with their organizational units, status and
//! Regions, each account's latest snapshot, the frameworks and their
//! requirements, the native checks, and the server's configuration (no
//! secret in it). All JSON; read from what the server already holds. And
//! each account's exports of a complete run (CSV, OCSF, SARIF, ASFF), as the
//! assessor wrote them beside the reports.

use crate::backend::{Backend, HistoryBackend};
use crate::serving::Latest;
use crate::tools::report::ResourceError;
use posture_core::org::execute::export_name;
use posture_core::report::export::ExportFormat;
use rmcp::model::{Resource, ResourceTemplate};
use serde_json::{Value, json};

const ACCOUNTS: &str = "posture://accounts";
const FRAMEWORKS: &str = "posture://frameworks";
const CHECKS: &str = "posture://checks";
const CONFIGURATION: &str = "posture://server/configuration";
const EXPORTS: &str = "posture://exports";
/// Accounts whose exports `resources/list` names (the template reaches every one).
const LISTED_EXPORT_ACCOUNTS: usize = 50;
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
        ResourceTemplate::new(
            format!("{EXPORTS}/{{run_id}}/{{account_id}}.{{format}}"),
            "account-export",
        )
        .with_description(
            "An account's results of a complete run as csv, ocsf.json (OCSF 1.8.0), sarif (SARIF 2.1.0) \
                 or asff.json (for Security Hub BatchImportFindings)",
        ),
    ]
}

/// The exports of the latest complete run's assessed accounts (the first
/// [`LISTED_EXPORT_ACCOUNTS`]; the template names the rest).
pub async fn export_resources(backend: &Backend) -> Vec<Resource> {
    let Some(h) = backend.history.as_ref() else {
        return Vec::new();
    };
    let Latest::Run(run) = h.latest_served().await else {
        return Vec::new();
    };
    let record = &run.data.run;
    record
        .accounts
        .iter()
        .filter(|a| a.outcome == posture_core::org::run::AccountOutcome::Assessed)
        .take(LISTED_EXPORT_ACCOUNTS)
        .flat_map(|a| {
            ExportFormat::ALL.into_iter().map(move |f| {
                Resource::new(
                    format!("{EXPORTS}/{}/{}.{}", record.run_id, a.account_id, f.extension()),
                    format!("export-{}-{}", a.account_id, f.name()),
                )
                .with_title(format!(
                    "{} results of run {} as {}",
                    a.account_id,
                    record.run_id,
                    f.name()
                ))
                .with_mime_type(f.content_type())
            })
        })
        .collect()
}

/// An export: (MIME type, text).
async fn export(backend: &Backend, uri: &str, rest: &str) -> Result<(String, String), ResourceError> {
    let invalid = || {
        ResourceError::Invalid(format!(
            "not an export: {uri:?} ({EXPORTS}/<run_id>/<account_id>.<format>)"
        ))
    };
    let (run_id, file) = rest.split_once('/').ok_or_else(invalid)?;
    let (account, extension) = file.split_once('.').ok_or_else(invalid)?;
    let run_id: posture_core::ids::RunId = run_id
        .parse()
        .map_err(|e| ResourceError::Invalid(format!("{uri:?}: run id {e}")))?;
    let account: posture_core::ids::AccountId = account
        .parse()
        .map_err(|e| ResourceError::Invalid(format!("{uri:?}: account id {e}")))?;
    let format = ExportFormat::ALL
        .into_iter()
        .find(|f| f.extension() == extension)
        .ok_or_else(|| {
            ResourceError::Invalid(format!(
                "{uri:?}: no .{extension} export; offered: {}",
                ExportFormat::ALL.map(|f| f.extension()).join(", ")
            ))
        })?;
    let h = history(backend)?;
    let body = h
        .reports
        .get(run_id.as_str(), &export_name(account.as_str(), format))
        .await
        .map_err(|e| ResourceError::NotFound(format!("the store could not be read: {e}")))?
        .ok_or_else(|| {
            ResourceError::NotFound(format!(
                "run {} has no {} export for account {} (a run made before exports, or the account was not assessed)",
                run_id.as_str(),
                format.name(),
                account.as_str()
            ))
        })?;
    let text = String::from_utf8(body).map_err(|e| ResourceError::Invalid(format!("export is not UTF-8: {e}")))?;
    Ok((format.content_type().to_string(), posture_core::secrets::mask(&text)))
}

/// Whether `uri` is one of these resources (else a report, or unknown).
pub fn owns(uri: &str) -> bool {
    [ACCOUNTS, FRAMEWORKS, CHECKS, CONFIGURATION, EXPORTS]
        .iter()
        .any(|p| uri == *p || uri.starts_with(&format!("{p}/")))
}

/// Reads `uri`: (MIME type, text).
pub async fn read(backend: &Backend, uri: &str) -> Result<(String, String), ResourceError> {
    if let Some(rest) = uri.strip_prefix(&format!("{EXPORTS}/")) {
        return export(backend, uri, rest).await;
    }
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
