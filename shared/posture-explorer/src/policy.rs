//! Which operations the explorer may run: read-only by construction. An
//! operation is allowed only if the Service Authorization Reference gives
//! its IAM action the List or Read access level (only those are in the
//! embedded models), it is not on the reviewed deny list
//! (`policy/deny.json`: secrets, credentials, customer data), and the
//! operator's lists let it through. A request can only be built from an
//! [`Allowed`], which only [`Policy::decide`] makes.

use crate::model::{self, Operation, ServiceModel};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

static BUILTIN_DENY: &str = include_str!("../policy/deny.json");

/// Why an operation is refused, said to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no AWS service named {service:?}{}", hint(.suggestions))]
    UnknownService { service: String, suggestions: Vec<String> },
    #[error("{service} has no operation named {operation:?}{}", hint(.suggestions))]
    UnknownOperation {
        service: String,
        operation: String,
        suggestions: Vec<String>,
    },
    #[error(
        "{service}:{operation} is not a read: its IAM action {} has the {} access level (only List and Read operations run)",
        .action.as_deref().unwrap_or("?"),
        .access.as_deref().unwrap_or("unknown")
    )]
    NotRead {
        service: String,
        operation: String,
        action: Option<String>,
        access: Option<String>,
    },
    #[error(
        "{service}:{operation} has no IAM action in the Service Authorization Reference embedded here, so it is not known to be a read"
    )]
    NoAction { service: String, operation: String },
    #[error("{service}:{operation} is refused: it {reason} (deny list entry {rule:?})")]
    Denied {
        service: String,
        operation: String,
        rule: String,
        reason: String,
    },
    #[error("{service}:{operation} is refused by this deployment's deny list (entry {rule:?})")]
    OperatorDenied {
        service: String,
        operation: String,
        rule: String,
    },
    #[error("{service}:{operation} is not on this deployment's allow list")]
    NotOperatorAllowed { service: String, operation: String },
    #[error("the embedded models cannot be read: {0}")]
    Models(String),
}

fn hint(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

/// An operation the policy allows: the only way to a request.
#[derive(Debug, Clone)]
pub struct Allowed {
    pub service: String,
    pub model: Arc<ServiceModel>,
    operation: String,
}

impl Allowed {
    pub fn operation(&self) -> &Operation {
        // Present: `decide` found it in this model.
        &self.model.operations[&self.operation]
    }
}

#[derive(Debug, Clone, Deserialize)]
struct DenyRule {
    #[serde(rename = "match")]
    pattern: String,
    reason: String,
    when_true: Option<String>,
    unless_true: Option<String>,
}

#[derive(Deserialize)]
struct DenyFile {
    deny: Vec<DenyRule>,
}

/// The reviewed deny list and the operator's lists.
#[derive(Debug, Clone)]
pub struct Policy {
    builtin: Vec<DenyRule>,
    operator_deny: Vec<String>,
    operator_allow: Option<Vec<String>>,
}

/// An operator list that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("explorer policy: {0}")]
pub struct PolicyError(String);

impl Policy {
    /// The reviewed deny list, narrowed by the operator's `deny` patterns
    /// and, when given, limited to the operator's `allow` patterns (both
    /// `<service>:<Operation>` or `<prefix>:<Action>` globs).
    pub fn new(operator_deny: Vec<String>, operator_allow: Option<Vec<String>>) -> Result<Self, PolicyError> {
        let file: DenyFile =
            serde_json::from_str(BUILTIN_DENY).map_err(|e| PolicyError(format!("policy/deny.json: {e}")))?;
        for pattern in operator_deny.iter().chain(operator_allow.iter().flatten()) {
            if !pattern.contains(':') || pattern.trim().is_empty() {
                return Err(PolicyError(format!(
                    "{pattern:?} is not a pattern of the form service:Operation (or prefix:Action)"
                )));
            }
        }
        Ok(Self {
            builtin: file.deny,
            operator_deny,
            operator_allow,
        })
    }

    /// The reviewed deny list alone.
    pub fn builtin() -> Result<Self, PolicyError> {
        Self::new(Vec::new(), None)
    }

    /// Lists given as comma-separated patterns (the deployment's
    /// `POSTURE_EXPLORER_DENY` and `POSTURE_EXPLORER_ALLOW`).
    pub fn from_lists(deny: Option<&str>, allow: Option<&str>) -> Result<Self, PolicyError> {
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect()
        };
        Self::new(deny.map(split).unwrap_or_default(), allow.map(split))
    }

    /// The lists of `POSTURE_EXPLORER_DENY` / `POSTURE_EXPLORER_ALLOW` and of
    /// a reviewed file (`{"deny": [...], "allow": [...]}`, JSON), joined:
    /// both deny lists apply; an allow list from either limits, and from
    /// both, limits to the patterns on both. `file` is the file's name and
    /// text.
    pub fn from_sources(
        deny: Option<&str>,
        allow: Option<&str>,
        file: Option<(&str, &str)>,
    ) -> Result<Self, PolicyError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct OperatorFile {
            #[serde(default)]
            deny: Vec<String>,
            allow: Option<Vec<String>>,
        }
        let from_env = Self::from_lists(deny, allow)?;
        let Some((name, text)) = file else {
            return Ok(from_env);
        };
        let listed: OperatorFile = serde_json::from_str(text)
            .map_err(|e| PolicyError(format!("{name}: line {}, column {}: {e}", e.line(), e.column())))?;
        let allow = match (from_env.operator_allow, listed.allow) {
            (Some(a), Some(b)) => Some(a.into_iter().filter(|p| b.contains(p)).collect()),
            (a, b) => a.or(b),
        };
        Self::new(from_env.operator_deny.into_iter().chain(listed.deny).collect(), allow)
    }

    /// Decides whether `service:operation` may run with `params`.
    pub fn decide(&self, service: &str, operation: &str, params: &Value) -> Result<Allowed, Refusal> {
        let catalog = model::catalog().map_err(|e| Refusal::Models(e.to_string()))?;
        let Some(entry) = catalog.services.get(service) else {
            return Err(Refusal::UnknownService {
                service: service.into(),
                suggestions: closest(service, catalog.services.keys().map(String::as_str)),
            });
        };
        let Some(listed) = entry.operation(operation) else {
            return Err(Refusal::UnknownOperation {
                service: service.into(),
                operation: operation.into(),
                suggestions: closest(operation, entry.operations.keys().map(String::as_str)),
            });
        };
        let refuse_not_read = || Refusal::NotRead {
            service: service.into(),
            operation: operation.into(),
            action: listed.action.map(String::from),
            access: listed.access.map(String::from),
        };
        let Some(action) = listed.action else {
            return Err(Refusal::NoAction {
                service: service.into(),
                operation: operation.into(),
            });
        };
        if !matches!(listed.access, Some("List" | "Read")) {
            return Err(refuse_not_read());
        }
        let names = [format!("{service}:{operation}"), action.to_string()];
        let matches = |pattern: &str| names.iter().any(|n| glob(pattern, n));
        for rule in &self.builtin {
            let flag = |name: &Option<String>| {
                name.as_deref()
                    .is_some_and(|n| params.get(n).and_then(Value::as_bool) == Some(true))
            };
            let applies = matches(&rule.pattern)
                && (rule.when_true.is_none() || flag(&rule.when_true))
                && (rule.unless_true.is_none() || !flag(&rule.unless_true));
            if applies {
                return Err(Refusal::Denied {
                    service: service.into(),
                    operation: operation.into(),
                    rule: rule.pattern.clone(),
                    reason: rule.reason.clone(),
                });
            }
        }
        if let Some(rule) = self.operator_deny.iter().find(|p| matches(p)) {
            return Err(Refusal::OperatorDenied {
                service: service.into(),
                operation: operation.into(),
                rule: rule.clone(),
            });
        }
        if let Some(allow) = &self.operator_allow
            && !allow.iter().any(|p| matches(p))
        {
            return Err(Refusal::NotOperatorAllowed {
                service: service.into(),
                operation: operation.into(),
            });
        }
        let model = model::service(service).map_err(|e| Refusal::Models(e.to_string()))?;
        if !model.operations.contains_key(operation) {
            // The catalog says read, the model lacks it: never run blind.
            return Err(refuse_not_read());
        }
        Ok(Allowed {
            service: service.into(),
            model,
            operation: operation.into(),
        })
    }
}

/// `*` matches any run of characters; case-insensitive (IAM actions are).
fn glob(pattern: &str, text: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let text = text.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) {
        return false;
    }
    let mut rest = &text[first.len()..];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Up to three names close to `wanted` (same letters ignoring case and
/// punctuation, or one contains the other).
fn closest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let squash = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let w = squash(wanted);
    if w.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<String> = names
        .filter(|n| {
            let s = squash(n);
            s == w || s.contains(&w) || w.contains(&s)
        })
        .map(String::from)
        .collect();
    found.sort_by_key(|n| (squash(n) != w, n.len()));
    found.truncate(3);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(p: &Policy, service: &str, op: &str, params: Value) -> Refusal {
        p.decide(service, op, &params)
            .err()
            .unwrap_or_else(|| panic!("{service}:{op} allowed"))
    }

    #[test]
    fn reads_run_and_writes_never() {
        let p = Policy::builtin().unwrap();
        for (s, o) in [
            ("s3", "ListBuckets"),
            ("ec2", "DescribeInstances"),
            ("iam", "ListRoles"),
            ("s3", "ListObjectsV2"),
        ] {
            p.decide(s, o, &json!({})).unwrap_or_else(|e| panic!("{e}"));
        }
        for (s, o) in [
            ("s3", "DeleteBucket"),
            ("ec2", "TerminateInstances"),
            ("iam", "CreateAccessKey"),
        ] {
            assert!(
                matches!(refusal(&p, s, o, json!({})), Refusal::NotRead { .. }),
                "{s}:{o}"
            );
        }
    }

    #[test]
    fn the_deny_list_refuses_reads_of_secrets_and_data() {
        let p = Policy::builtin().unwrap();
        for (s, o) in [
            ("secretsmanager", "GetSecretValue"),
            ("s3", "GetObject"),
            ("s3", "HeadObject"),
            ("lambda", "GetFunction"),
            ("dynamodb", "Scan"),
            ("logs", "GetLogEvents"),
            ("ecr", "GetAuthorizationToken"),
            ("sts", "GetSessionToken"),
        ] {
            let r = refusal(&p, s, o, json!({}));
            assert!(
                matches!(r, Refusal::Denied { .. } | Refusal::NotRead { .. }),
                "{s}:{o}: {r}"
            );
        }
        // Parameter-dependent entries.
        assert!(matches!(
            refusal(&p, "ssm", "GetParameter", json!({"Name": "x", "WithDecryption": true})),
            Refusal::Denied { .. }
        ));
        p.decide("ssm", "GetParameter", &json!({"Name": "x"})).unwrap();
        assert!(matches!(
            refusal(&p, "glue", "GetConnections", json!({})),
            Refusal::Denied { .. }
        ));
        p.decide("glue", "GetConnections", &json!({"HidePassword": true}))
            .unwrap();
    }

    #[test]
    fn operator_lists_narrow_never_widen() {
        let p = Policy::from_lists(Some("s3:ListBuckets, ec2:Describe*"), None).unwrap();
        assert!(matches!(
            refusal(&p, "s3", "ListBuckets", json!({})),
            Refusal::OperatorDenied { .. }
        ));
        assert!(matches!(
            refusal(&p, "ec2", "DescribeVpcs", json!({})),
            Refusal::OperatorDenied { .. }
        ));
        p.decide("iam", "ListRoles", &json!({})).unwrap();
        let p = Policy::from_lists(None, Some("iam:*,secretsmanager:*")).unwrap();
        p.decide("iam", "ListRoles", &json!({})).unwrap();
        assert!(matches!(
            refusal(&p, "s3", "ListBuckets", json!({})),
            Refusal::NotOperatorAllowed { .. }
        ));
        // An allow entry never lifts the reviewed deny list.
        assert!(matches!(
            refusal(&p, "secretsmanager", "GetSecretValue", json!({})),
            Refusal::Denied { .. }
        ));
        assert!(Policy::from_lists(Some("ListBuckets"), None).is_err());
    }

    #[test]
    fn an_operator_file_adds_to_the_environment_lists() {
        let file = r#"{"deny": ["iam:ListUsers"], "allow": ["iam:*", "s3:*"]}"#;
        let p = Policy::from_sources(Some("iam:ListRoles"), None, Some(("explorer.json", file))).unwrap();
        assert!(matches!(
            refusal(&p, "iam", "ListUsers", json!({})),
            Refusal::OperatorDenied { .. }
        ));
        assert!(matches!(
            refusal(&p, "iam", "ListRoles", json!({})),
            Refusal::OperatorDenied { .. }
        ));
        assert!(matches!(
            refusal(&p, "ec2", "DescribeVpcs", json!({})),
            Refusal::NotOperatorAllowed { .. }
        ));
        p.decide("s3", "ListBuckets", &json!({})).unwrap();
        let err = Policy::from_sources(None, None, Some(("explorer.json", "{\n  \"deny\": [1]\n}"))).unwrap_err();
        assert!(err.to_string().contains("explorer.json: line 2"), "{err}");
    }

    #[test]
    fn unknown_names_get_suggestions() {
        let p = Policy::builtin().unwrap();
        match refusal(&p, "ec2", "describe_instances", json!({})) {
            Refusal::UnknownOperation { suggestions, .. } => assert_eq!(suggestions[0], "DescribeInstances"),
            r => panic!("{r}"),
        }
        assert!(matches!(
            refusal(&p, "ec3", "X", json!({})),
            Refusal::UnknownService { .. }
        ));
    }

    #[test]
    fn globs() {
        assert!(glob("*:Get*Token*", "ecr:GetAuthorizationToken"));
        assert!(glob("kms:GenerateDataKey*", "kms:GenerateDataKeyPair"));
        assert!(!glob("kms:GenerateDataKey*", "kms:ListKeys"));
        assert!(glob("s3:GetObject", "S3:getobject"));
        assert!(!glob("s3:GetObject", "s3:GetObjectAcl"));
    }
}
