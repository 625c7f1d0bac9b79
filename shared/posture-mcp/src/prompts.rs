//! MCP prompts: guided workflows that name this server's tools in the
//! order to use them. Each is a template over its arguments; an argument is
//! checked before the text is made (a framework must be loaded, an account
//! id twelve digits), and every tool a prompt names is a registered tool
//! (tested).

use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};
use serde_json::Value;

/// One argument of a prompt.
pub struct ArgumentDef {
    /// Its name.
    pub name: &'static str,
    /// What to give.
    pub description: &'static str,
    /// Whether the prompt needs it.
    pub required: bool,
}

/// One prompt.
pub struct PromptDef {
    /// Its name.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Its arguments.
    pub arguments: &'static [ArgumentDef],
    /// The tools it names, in the order it names them.
    pub tools: &'static [&'static str],
    render: fn(&Arguments) -> String,
}

/// A prompt's arguments once checked.
pub struct Arguments {
    values: JsonObject,
}

impl Arguments {
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// Why a prompt could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    /// No such prompt.
    #[error("no prompt named {0:?}")]
    Unknown(String),
    /// An argument missing or not usable.
    #[error("{prompt}: {detail}")]
    Argument {
        /// The prompt.
        prompt: String,
        /// The argument.
        argument: String,
        /// What is wrong and what to give.
        detail: String,
    },
}

const SCOPE: ArgumentDef = ArgumentDef {
    name: "account_id",
    description: "12-digit account id; omit for the whole organization",
    required: false,
};

/// Every prompt, in `prompts/list` order.
pub static PROMPTS: &[PromptDef] = &[
    PromptDef {
        name: "security_audit",
        title: "Security audit",
        description: "A complete security audit of the organization or one account: posture, threats, compliance, fixes and a report",
        arguments: &[SCOPE],
        tools: &[
            "health_check",
            "assess_security_posture",
            "analyze_security_findings",
            "check_compliance_status",
            "recommend_security_improvements",
            "generate_security_report",
        ],
        render: |a| {
            let scope = scope_text(a);
            format!(
                "Run a security audit of {scope} with the Posture Advisor tools, in this order:\n\
                 1. `health_check`: confirm the server reads AWS (say so if it is degraded and what that leaves out).\n\
                 2. `assess_security_posture` with {assess}: the scores per framework, open findings and failed checks; note as_of (which run the answer stands on).\n\
                 3. `analyze_security_findings`{filter}: attack patterns, ATT&CK tactics, high-risk findings and the trend.\n\
                 4. `check_compliance_status` for each framework the server lists (CIS first){filter}: the failing requirements and their priority.\n\
                 5. `recommend_security_improvements` with strategy high-impact{filter}: the ranked fixes.\n\
                 6. `generate_security_report` (kind executive, then technical) of the run the answers stood on.\n\
                 Report: the three worst risks with evidence, the scores, what could not be read (coverage, gaps), and the first five fixes. \
                 Do not claim anything a tool did not return.",
                assess = assess_args(a),
                filter = account_filter(a),
            )
        },
    },
    PromptDef {
        name: "compliance_check",
        title: "Compliance check",
        description: "Where the organization or one account stands on one framework, what fails, why, and the plan to pass",
        arguments: &[
            ArgumentDef {
                name: "framework",
                description: "Framework short name as get_server_info lists it (CIS, NIST, SOC2, PCI, FSBP, or a custom one)",
                required: true,
            },
            SCOPE,
        ],
        tools: &[
            "check_compliance_status",
            "validate_security_controls",
            "recommend_security_improvements",
            "get_posture_history",
            "generate_security_report",
        ],
        render: |a| {
            let framework = a.get("framework").unwrap_or_default();
            format!(
                "Check {scope} against {framework}, in this order:\n\
                 1. `check_compliance_status` with framework {framework}{filter} and include_evidence true: the score, each requirement's status per source, the gaps.\n\
                 2. `validate_security_controls` on the FAILED and conflicting requirements (as \"{framework} <id>\"): which sources disagree and the failing resources.\n\
                 3. `recommend_security_improvements` with frameworks [{framework}]{filter}: the fixes that raise the score most.\n\
                 4. `get_posture_history` with framework {framework}{filter}: the trend over recent runs.\n\
                 5. `generate_security_report` kind compliance.\n\
                 Say which requirements are MANUAL or UNKNOWN (never counted as passed) and why.",
                scope = scope_text(a),
                filter = account_filter(a),
            )
        },
    },
    PromptDef {
        name: "incident_response",
        title: "Incident response",
        description: "Investigate one subject (a finding id, an IAM principal ARN or access key id, a resource ARN or an IP address) and plan containment",
        arguments: &[ArgumentDef {
            name: "subject",
            description: "A finding id, principal ARN or access key id, resource ARN or id, or an IP address",
            required: true,
        }],
        tools: &[
            "investigate_security_incident",
            "analyze_security_findings",
            "suggest_aws_read",
            "aws_read",
            "recommend_security_improvements",
        ],
        render: |a| {
            let subject = a.get("subject").unwrap_or_default();
            format!(
                "Respond to an incident around {subject:?}, in this order:\n\
                 1. `investigate_security_incident` with the subject in its field (finding_id, principal, resource or ip_address as it is): \
                 related findings, the CloudTrail timeline across accounts, actors new with the incident, the blast radius and the containment steps.\n\
                 2. `analyze_security_findings` filtered by the principal or resource found: other attack patterns involving them.\n\
                 3. `suggest_aws_read`, then `aws_read`, for the current state of what the timeline touched (e.g. the principal's access keys, the bucket's policy) in the accounts involved.\n\
                 4. `recommend_security_improvements` for the weaknesses the incident used.\n\
                 Give the timeline, the blast radius, containment steps in order with the AWS action each takes (this server never acts), and what could not be read."
            )
        },
    },
    PromptDef {
        name: "least_privilege_review",
        title: "Least-privilege review",
        description: "Who can do too much in the organization or one account: IAM checks, external access, unused and wide permissions",
        arguments: &[SCOPE],
        tools: &[
            "validate_security_controls",
            "analyze_security_findings",
            "aws_read",
            "recommend_security_improvements",
        ],
        render: |a| {
            format!(
                "Review least privilege in {scope}, in this order:\n\
                 1. `validate_security_controls` on the IAM controls (iam.no_full_admin_policies, iam.no_user_attached_policies, iam.root_no_access_keys, iam.single_active_access_key, iam.unused_credentials_45d, iam.console_users_mfa){filter}.\n\
                 2. `analyze_security_findings` with finding_types [\"Effects/Data Exposure\", \"Software and Configuration Checks/AWS Security Best Practices\"]{filter}: IAM Access Analyzer's external and unused access.\n\
                 3. `aws_read` iam GetAccountAuthorizationDetails (Filter [\"Role\", \"User\"]){accounts}: the policies attached to the principals the findings name.\n\
                 4. `recommend_security_improvements` with strategy quick-wins{filter}.\n\
                 List the principals with administrative or wildcard access, who can assume them, and what to remove first.",
                scope = scope_text(a),
                filter = account_filter(a),
                accounts = a
                    .get("account_id")
                    .map(|id| format!(" with account_ids [\"{id}\"]"))
                    .unwrap_or_default(),
            )
        },
    },
    PromptDef {
        name: "cost_aware_remediation_plan",
        title: "Cost-aware remediation plan",
        description: "A remediation plan that fits a budget of engineering hours, cheapest fixes per point of risk first",
        arguments: &[
            ArgumentDef {
                name: "framework",
                description: "Framework whose score the plan should raise (default: every loaded framework)",
                required: false,
            },
            ArgumentDef {
                name: "budget_hours",
                description: "Engineering hours available (default 40)",
                required: false,
            },
        ],
        tools: &[
            "recommend_security_improvements",
            "check_compliance_status",
            "get_posture_history",
        ],
        render: |a| {
            let budget = a.get("budget_hours").unwrap_or("40");
            let framework = a.get("framework");
            format!(
                "Plan remediation within {budget} engineering hours, in this order:\n\
                 1. `recommend_security_improvements` with strategy cost-effective{frameworks}: impact per hour of effort.\n\
                 2. `check_compliance_status`{each}: which requirements each fix turns from FAILED to PASSED.\n\
                 3. `get_posture_history`{one}: whether the score is already moving.\n\
                 Take fixes in order of impact per hour until {budget} hours are spent; give each fix's hours, cost notes and the requirements it closes, \
                 and the score expected afterwards (say it is an estimate). Nothing is applied by this server.",
                frameworks = framework.map(|f| format!(" and frameworks [{f}]")).unwrap_or_default(),
                each = framework
                    .map(|f| format!(" with framework {f}"))
                    .unwrap_or_else(|| " for each loaded framework".to_string()),
                one = framework.map(|f| format!(" with framework {f}")).unwrap_or_default(),
            )
        },
    },
    PromptDef {
        name: "new_account_onboarding_check",
        title: "New account onboarding check",
        description: "Check a newly added member account: the assessor reaches it, its baseline controls, its findings",
        arguments: &[ArgumentDef {
            name: "account_id",
            description: "The new member's 12-digit account id",
            required: true,
        }],
        tools: &[
            "list_accounts",
            "validate_member_access",
            "assess_security_posture",
            "check_compliance_status",
            "analyze_security_findings",
        ],
        render: |a| {
            let id = a.get("account_id").unwrap_or_default();
            format!(
                "Check the onboarding of member account {id}, in this order:\n\
                 1. `list_accounts`: is {id} in the latest run, assessed, or a gap (and why: the role refused, ExternalId)?\n\
                 2. `validate_member_access` with account_ids [\"{id}\"]: the member role (and the explorer role) entered with the ExternalId, which sections answer, the IAM actions refused.\n\
                 3. `assess_security_posture` with scope account, target {id} and freshness live: the baseline (CloudTrail, Config, GuardDuty, Security Hub, password policy, root MFA).\n\
                 4. `check_compliance_status` with framework CIS and account_ids [\"{id}\"].\n\
                 5. `analyze_security_findings` with account_ids [\"{id}\"].\n\
                 Say what is missing for the account to be covered like the others."
            )
        },
    },
];

fn scope_text(a: &Arguments) -> String {
    a.get("account_id")
        .map_or("the whole organization".to_string(), |id| format!("account {id}"))
}

fn assess_args(a: &Arguments) -> String {
    a.get("account_id").map_or("scope organization".to_string(), |id| {
        format!("scope account and target {id}")
    })
}

fn account_filter(a: &Arguments) -> String {
    a.get("account_id")
        .map(|id| format!(" and account_ids [\"{id}\"]"))
        .unwrap_or_default()
}

/// The published prompts.
pub fn list() -> Vec<Prompt> {
    PROMPTS
        .iter()
        .map(|p| {
            let arguments = p
                .arguments
                .iter()
                .map(|a| {
                    let mut arg = PromptArgument::new(a.name);
                    arg.description = Some(a.description.to_string());
                    arg.required = Some(a.required);
                    arg
                })
                .collect();
            let mut prompt = Prompt::new(p.name, Some(p.description), Some(arguments));
            prompt.title = Some(p.title.to_string());
            prompt
        })
        .collect()
}

/// The prompt `name` with `arguments`, checked against `frameworks` (the
/// loaded frameworks' short names).
pub fn get(name: &str, arguments: Option<&JsonObject>, frameworks: &[String]) -> Result<GetPromptResult, PromptError> {
    let def = PROMPTS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| PromptError::Unknown(name.to_string()))?;
    let values = arguments.cloned().unwrap_or_default();
    let refuse = |argument: &str, detail: String| PromptError::Argument {
        prompt: name.to_string(),
        argument: argument.to_string(),
        detail,
    };
    for key in values.keys() {
        if !def.arguments.iter().any(|a| a.name == key) {
            let known: Vec<&str> = def.arguments.iter().map(|a| a.name).collect();
            return Err(refuse(
                key,
                format!("unknown argument {key:?}; it takes {}", known.join(", ")),
            ));
        }
    }
    let args = Arguments { values };
    for a in def.arguments {
        if args.values.get(a.name).is_some_and(|v| !v.is_string()) {
            return Err(refuse(a.name, format!("{} must be text", a.name)));
        }
        if a.required && args.get(a.name).is_none() {
            return Err(refuse(a.name, format!("{} is required: {}", a.name, a.description)));
        }
    }
    if let Some(id) = args.get("account_id")
        && id.parse::<posture_core::ids::AccountId>().is_err()
    {
        return Err(refuse("account_id", format!("{id:?} is not a 12-digit account id")));
    }
    if let Some(framework) = args.get("framework")
        && !frameworks.iter().any(|f| f == framework)
    {
        return Err(refuse(
            "framework",
            format!("{framework:?} is not a loaded framework ({})", frameworks.join(", ")),
        ));
    }
    if let Some(hours) = args.get("budget_hours")
        && hours.parse::<u32>().map_or(true, |h| h == 0 || h > 10_000)
    {
        return Err(refuse(
            "budget_hours",
            format!("{hours:?} is not a number of hours from 1 to 10000"),
        ));
    }
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, (def.render)(&args))])
            .with_description(def.description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::TOOLS;
    use serde_json::json;

    fn text(result: &GetPromptResult) -> String {
        serde_json::to_value(&result.messages[0]).unwrap()["content"]["text"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn sample(def: &PromptDef) -> JsonObject {
        let mut args = JsonObject::new();
        for a in def.arguments {
            let value = match a.name {
                "framework" => "CIS",
                "account_id" => "123456789012",
                "subject" => "198.51.100.23",
                "budget_hours" => "20",
                _ => "x",
            };
            args.insert(a.name.into(), json!(value));
        }
        args
    }

    #[test]
    fn every_prompt_names_registered_tools_in_its_order() {
        let frameworks = vec!["CIS".to_string()];
        for def in PROMPTS {
            let made = get(def.name, Some(&sample(def)), &frameworks).unwrap();
            let text = text(&made);
            let mut at = 0;
            for tool in def.tools {
                assert!(
                    TOOLS.iter().any(|t| t.name == *tool),
                    "{}: {tool} is not a tool",
                    def.name
                );
                let found = text[at..]
                    .find(&format!("`{tool}`"))
                    .unwrap_or_else(|| panic!("{}: {tool} not in order", def.name));
                at += found;
            }
            // Every backticked tool name in the text is a registered tool.
            for name in text.split('`').skip(1).step_by(2) {
                if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    assert!(
                        TOOLS.iter().any(|t| t.name == name),
                        "{}: {name} is not a tool",
                        def.name
                    );
                }
            }
        }
    }

    #[test]
    fn arguments_are_checked() {
        let frameworks = vec!["CIS".to_string()];
        let refusal = |name: &str, args: Value| get(name, args.as_object(), &frameworks).unwrap_err();
        assert!(
            matches!(refusal("compliance_check", json!({})), PromptError::Argument { argument, .. } if argument == "framework")
        );
        assert!(
            matches!(refusal("compliance_check", json!({"framework": "ISO"})), PromptError::Argument { argument, .. } if argument == "framework")
        );
        assert!(
            matches!(refusal("security_audit", json!({"account_id": "12"})), PromptError::Argument { argument, .. } if argument == "account_id")
        );
        assert!(
            matches!(refusal("security_audit", json!({"bogus": "1"})), PromptError::Argument { argument, .. } if argument == "bogus")
        );
        assert!(matches!(
            refusal("cost_aware_remediation_plan", json!({"budget_hours": "-3"})),
            PromptError::Argument { .. }
        ));
        assert_eq!(refusal("nope", json!({})), PromptError::Unknown("nope".into()));
        let made = get("security_audit", None, &frameworks).unwrap();
        assert!(text(&made).contains("the whole organization"));
    }
}
