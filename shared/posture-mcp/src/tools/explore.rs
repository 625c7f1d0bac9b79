//! `aws_read`: one read-only AWS API operation in any account of the
//! organization and any Regions, refused before anything is sent unless the
//! explorer policy allows it (a List or Read action, not on the deny lists).

use super::call::{Cx, ToolOutput};
use crate::error::ToolError;
use posture_explorer::execute::Budget;
use posture_explorer::policy::Refusal;
use posture_explorer::read::{Read, RegionChoice, TargetAnswer, Trimmed, trim_to};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::ops::Not;

/// Tool name.
pub const AWS_READ: &str = "aws_read";

/// Arguments of `aws_read`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsReadArgs {
    /// AWS service as the SDKs name it: ec2, s3, iam, lambda, rds, kms, ...
    #[schemars(length(min = 1, max = 64))]
    pub service: String,
    /// API operation, e.g. DescribeInstances, ListBuckets, GetBucketPolicy
    #[schemars(length(min = 1, max = 128))]
    pub operation: String,
    /// Parameters in the API's own JSON shape, e.g. {"Filters": [{"Name": "instance-state-name", "Values": ["running"]}]}
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// 12-digit account ids, or ["all"] for every active account of the organization; omitted: the server's own account
    #[serde(default)]
    #[schemars(length(min = 1, max = 1000))]
    pub account_ids: Option<Vec<String>>,
    /// Regions, or ["all"] for every Region enabled in each account; omitted: the server's Region. A global service (IAM, Organizations, Route 53, CloudFront) is read once per account.
    #[serde(default)]
    #[schemars(length(min = 1, max = 40))]
    pub regions: Option<Vec<String>>,
    /// Items kept per account and Region across pages (the paginator's result lists)
    #[serde(default = "hundred")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_items: u32,
    /// Pages read per account and Region (1: the first page only)
    #[serde(default = "ten")]
    #[schemars(range(min = 1, max = 100))]
    pub max_pages: u32,
    /// Size of the answer (bytes of JSON) above which its largest lists are cut; every cut is listed in `trimmed`
    #[serde(default = "default_bytes")]
    #[schemars(range(min = 4096, max = 4194304))]
    pub max_response_bytes: u32,
    /// A next_token from a previous answer's results, with exactly that result's account and Region
    #[serde(default)]
    #[schemars(length(max = 4096))]
    pub next_token: Option<String>,
}

fn hundred() -> u32 {
    100
}

fn ten() -> u32 {
    10
}

fn default_bytes() -> u32 {
    65_536
}

/// The answer of `aws_read`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct AwsReadOutput {
    /// The service read.
    pub service: String,
    /// The operation run.
    pub operation: String,
    /// The IAM action that authorizes the operation.
    pub iam_action: String,
    /// Its access level in the Service Authorization Reference (List or Read).
    pub access_level: String,
    /// One per account and Region, in account then Region order.
    pub results: Vec<TargetAnswer>,
    /// Account-Region reads that answered.
    pub succeeded: usize,
    /// Account-Region reads that failed (each says why).
    pub failed: usize,
    /// True when some account or Region could not be read.
    pub partial: bool,
    /// What was cut to fit max_response_bytes; absent when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trimmed: Option<Trimmed>,
}

/// Runs the read in every account and Region asked, once the policy allows it.
pub async fn aws_read(cx: &Cx<'_>, args: AwsReadArgs) -> Result<ToolOutput, ToolError> {
    let Some(explorer) = cx.backend.explorer.as_ref() else {
        return Err(ToolError::service(
            "aws_read reads AWS and this server has no AWS explorer (the local demo, or EnableExplorer is off)",
        ));
    };
    let params = Value::Object(args.parameters.clone().unwrap_or_default());
    let regions = match args.regions.as_deref() {
        None => RegionChoice::These(Vec::new()),
        Some([all]) if all == "all" => RegionChoice::AllEnabled,
        Some(list) => {
            if let Some(bad) = list.iter().find(|r| !is_region(r)) {
                return Err(ToolError::validation(
                    "regions",
                    format!("{bad:?} is not a Region name (e.g. eu-west-1), and \"all\" stands alone"),
                    json!({}),
                ));
            }
            RegionChoice::These(dedup(list))
        }
    };
    let mut read = Read {
        service: args.service.clone(),
        operation: args.operation.clone(),
        params,
        accounts: Vec::new(),
        regions,
        budget: Budget {
            max_pages: args.max_pages as usize,
            max_items: args.max_items as usize,
        },
        next_token: args.next_token.clone(),
    };
    // Decided before the accounts are even listed: a refused read sends nothing.
    let allowed = explorer.decide(&read).map_err(refusal)?;
    read.accounts = match args.account_ids.as_deref() {
        None => vec![explorer.own_account().await.map_err(ToolError::service)?],
        Some([all]) if all == "all" => explorer
            .organization_accounts()
            .await
            .map_err(|e| ToolError::service(format!("the organization's accounts could not be listed: {e}")))?,
        Some(list) => account_list(list)?,
    };
    if read.next_token.is_some() {
        let one_region = matches!(&read.regions, RegionChoice::These(r) if r.len() <= 1);
        if read.accounts.len() != 1 || !one_region {
            return Err(ToolError::validation(
                "next_token",
                "next_token continues one account and Region: give exactly that account_id and Region",
                json!({}),
            ));
        }
    }
    let results = explorer.read(&allowed, &read).await;
    let failed = results.iter().filter(|r| r.error.is_some()).count();
    let operation = allowed.operation();
    let mut output = AwsReadOutput {
        service: allowed.service.clone(),
        operation: operation.name.clone(),
        iam_action: operation.action.clone().unwrap_or_default(),
        access_level: operation.access.clone().unwrap_or_default(),
        succeeded: results.len() - failed,
        failed,
        partial: failed > 0,
        results,
        trimmed: None,
    };
    let mut value = serde_json::to_value(&output).map_err(|e| ToolError::engine(e.to_string()))?;
    if let Some(trimmed) = trim_to(&mut value, args.max_response_bytes as usize, &["/results"]) {
        output.trimmed = Some(trimmed.clone());
        value["trimmed"] = serde_json::to_value(&trimmed).map_err(|e| ToolError::engine(e.to_string()))?;
    }
    let text = format!(
        "{}:{} in {} account-Region read(s): {} answered, {} failed{}",
        output.service,
        output.operation,
        output.succeeded + output.failed,
        output.succeeded,
        output.failed,
        output
            .trimmed
            .as_ref()
            .map(|t| format!("; trimmed to {} bytes ({})", t.bytes_after, t.cuts.join("; ")))
            .unwrap_or_default()
    );
    ToolOutput::new(&value, text)
}

/// Named accounts: each a 12-digit id (`"all"` stands alone), once each,
/// in the order given.
pub(super) fn account_list(list: &[String]) -> Result<Vec<String>, ToolError> {
    if let Some(bad) = list.iter().find(|a| a.parse::<posture_core::ids::AccountId>().is_err()) {
        return Err(ToolError::validation(
            "account_ids",
            format!("{bad:?} is not a 12-digit account id, and \"all\" stands alone"),
            json!({}),
        ));
    }
    Ok(dedup(list))
}

fn dedup(list: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for item in list {
        if !seen.contains(item) {
            seen.push(item.clone());
        }
    }
    seen
}

fn is_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// A refused read as a validation error naming why (nothing was sent).
fn refusal(r: Refusal) -> ToolError {
    let (field, reason) = match &r {
        Refusal::UnknownService { .. } => ("service", "unknown_service"),
        Refusal::UnknownOperation { .. } => ("operation", "unknown_operation"),
        Refusal::NotRead { .. } => ("operation", "not_a_read"),
        Refusal::NoAction { .. } => ("operation", "no_iam_action"),
        Refusal::Denied { .. } => ("operation", "deny_list"),
        Refusal::OperatorDenied { .. } => ("operation", "operator_deny_list"),
        Refusal::NotOperatorAllowed { .. } => ("operation", "not_on_operator_allow_list"),
        Refusal::Models(_) => ("service", "models_unreadable"),
    };
    let suggestions = match &r {
        Refusal::UnknownService { suggestions, .. } | Refusal::UnknownOperation { suggestions, .. } => {
            suggestions.clone()
        }
        _ => Vec::new(),
    };
    ToolError::validation(
        field,
        format!("refused before any request was sent: {r}"),
        json!({"refusal": reason, "suggestions": suggestions}),
    )
}

/// Tool name.
pub const SUGGEST_AWS_READ: &str = "suggest_aws_read";
/// Tool name.
pub const DESCRIBE_AWS_OPERATION: &str = "describe_aws_operation";

/// Arguments of `suggest_aws_read`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestArgs {
    /// The question in plain words, e.g. "which security groups allow 0.0.0.0/0 on port 22"
    #[schemars(length(min = 3, max = 500))]
    pub question: String,
    /// Only this service (ec2, s3, iam, ...)
    #[serde(default)]
    #[schemars(length(min = 1, max = 64))]
    pub service: Option<String>,
    /// Operations returned
    #[serde(default = "five")]
    #[schemars(range(min = 1, max = 10))]
    pub max_results: u32,
}

fn five() -> u32 {
    5
}

/// One operation `suggest_aws_read` proposes.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SuggestedRead {
    /// The service.
    pub service: String,
    /// The operation.
    pub operation: String,
    /// List or Read.
    pub access_level: String,
    /// The IAM action that authorizes it.
    pub iam_action: String,
    /// The operation's summary from the AWS documentation.
    pub summary: String,
    /// Parameters the operation requires.
    pub required_parameters: Vec<String>,
    /// True when it pages (aws_read follows the pages).
    pub paged: bool,
}

/// An operation matched but not offered: aws_read would refuse it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RefusedRead {
    /// `service:Operation`.
    pub operation: String,
    /// Why aws_read refuses it.
    pub reason: String,
}

/// The answer of `suggest_aws_read`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SuggestOutput {
    /// The question.
    pub question: String,
    /// Best first; each runs with aws_read (describe_aws_operation gives its parameters).
    pub suggestions: Vec<SuggestedRead>,
    /// Matching operations aws_read refuses, with the reason.
    pub refused: Vec<RefusedRead>,
}

fn policy_decision(cx: &Cx<'_>, service: &str, operation: &str) -> Result<(), Refusal> {
    let read = Read {
        service: service.to_string(),
        operation: operation.to_string(),
        params: Value::Object(Map::new()),
        accounts: Vec::new(),
        regions: RegionChoice::These(Vec::new()),
        budget: Budget {
            max_pages: 1,
            max_items: 1,
        },
        next_token: None,
    };
    match cx.backend.explorer.as_ref() {
        Some(explorer) => explorer.decide(&read).map(|_| ()),
        None => posture_explorer::policy::Policy::builtin()
            .map_err(|e| Refusal::Models(e.to_string()))?
            .decide(service, operation, &read.params)
            .map(|_| ()),
    }
}

/// Ranks the read operations that answer a question.
pub async fn suggest_aws_read(cx: &Cx<'_>, args: SuggestArgs) -> Result<ToolOutput, ToolError> {
    let wanted = args.max_results as usize;
    if let Some(service) = &args.service
        && posture_explorer::model::catalog()
            .map_err(|e| ToolError::engine(e.to_string()))?
            .services
            .contains_key(service)
            .not()
    {
        return Err(refusal(Refusal::UnknownService {
            service: service.clone(),
            suggestions: Vec::new(),
        }));
    }
    let candidates = posture_explorer::suggest::suggest(&args.question, args.service.as_deref(), wanted * 4)
        .map_err(|e| ToolError::engine(e.to_string()))?;
    let mut suggestions = Vec::new();
    let mut refused = Vec::new();
    for c in candidates {
        if suggestions.len() == wanted {
            break;
        }
        if let Err(r) = policy_decision(cx, &c.service, &c.operation) {
            refused.push(RefusedRead {
                operation: format!("{}:{}", c.service, c.operation),
                reason: r.to_string(),
            });
            continue;
        }
        let doc = posture_explorer::describe::describe(&c.service, &c.operation)
            .map_err(|e| ToolError::engine(e.to_string()))?;
        suggestions.push(SuggestedRead {
            required_parameters: doc
                .as_ref()
                .map(|d| d.input.iter().filter(|f| f.required).map(|f| f.name.clone()).collect())
                .unwrap_or_default(),
            paged: doc.is_some_and(|d| d.paging.is_some()),
            service: c.service,
            operation: c.operation,
            access_level: c.access_level,
            iam_action: c.iam_action,
            summary: c.summary,
        });
    }
    let text = if suggestions.is_empty() {
        "no read operation matches; name the service, or describe the resource differently".to_string()
    } else {
        suggestions
            .iter()
            .map(|s| format!("{}:{} ({})", s.service, s.operation, s.summary))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let out = SuggestOutput {
        question: args.question,
        suggestions,
        refused,
    };
    ToolOutput::new(&out, text)
}

/// Arguments of `describe_aws_operation`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeArgs {
    /// AWS service as the SDKs name it: ec2, s3, iam, ...
    #[schemars(length(min = 1, max = 64))]
    pub service: String,
    /// API operation, e.g. DescribeSecurityGroups
    #[schemars(length(min = 1, max = 128))]
    pub operation: String,
}

/// Describes one operation aws_read may run.
pub async fn describe_aws_operation(cx: &Cx<'_>, args: DescribeArgs) -> Result<ToolOutput, ToolError> {
    policy_decision(cx, &args.service, &args.operation).map_err(refusal)?;
    let doc = posture_explorer::describe::describe(&args.service, &args.operation)
        .map_err(|e| ToolError::engine(e.to_string()))?
        .ok_or_else(|| {
            ToolError::engine(format!(
                "{}:{} is not in the embedded models",
                args.service, args.operation
            ))
        })?;
    let required: Vec<&str> = doc
        .input
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name.as_str())
        .collect();
    let text = format!(
        "{}:{} ({} {}): {}\nrequired: {}; {}",
        doc.service,
        doc.operation,
        doc.access_level,
        doc.iam_action,
        doc.summary,
        if required.is_empty() {
            "none".to_string()
        } else {
            required.join(", ")
        },
        if doc.paging.is_some() { "pages" } else { "one page" }
    );
    ToolOutput::new(&doc, text)
}
