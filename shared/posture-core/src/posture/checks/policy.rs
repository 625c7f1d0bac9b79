//! Reading IAM and bucket policy documents.

use serde_json::Value;

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn contains_str(v: &Value, wanted: &str) -> bool {
    as_list(v).iter().any(|x| x.as_str() == Some(wanted))
}

/// The statements of a policy document.
pub(crate) fn statements(doc: &Value) -> Vec<&Value> {
    as_list(&doc["Statement"])
}

/// A statement `Allow` of `Action: "*"` on `Resource: "*"` (CIS 1.16).
pub(crate) fn allows_full_admin(doc: &Value) -> bool {
    statements(doc).iter().any(|s| {
        s["Effect"].as_str() == Some("Allow") && contains_str(&s["Action"], "*") && contains_str(&s["Resource"], "*")
    })
}

fn everyone(principal: &Value) -> bool {
    principal.as_str() == Some("*") || contains_str(&principal["AWS"], "*")
}

/// The condition values of `key` under `Bool` or `BoolIfExists`, keys
/// compared case-insensitively as IAM does.
fn bool_condition<'a>(condition: &'a Value, key: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for operator in ["Bool", "BoolIfExists"] {
        if let Some(map) = condition[operator].as_object() {
            for (k, v) in map {
                if k.eq_ignore_ascii_case(key) {
                    out.extend(as_list(v));
                }
            }
        }
    }
    out
}

/// A statement denying everyone every S3 action when `aws:SecureTransport`
/// is false (S3.5 / CIS 2.1.1).
pub(crate) fn denies_insecure_transport(doc: &Value) -> bool {
    statements(doc).iter().any(|s| {
        let insecure = bool_condition(&s["Condition"], "aws:SecureTransport")
            .iter()
            .any(|v| v.as_str().is_some_and(|t| t.eq_ignore_ascii_case("false")) || v.as_bool() == Some(false));
        let all_actions = contains_str(&s["Action"], "s3:*") || contains_str(&s["Action"], "*");
        s["Effect"].as_str() == Some("Deny") && everyone(&s["Principal"]) && all_actions && insecure
    })
}

/// A statement allowing everyone (`Principal: "*"`) without a condition.
pub(crate) fn allows_everyone(doc: &Value) -> bool {
    statements(doc)
        .iter()
        .any(|s| s["Effect"].as_str() == Some("Allow") && everyone(&s["Principal"]) && s["Condition"].is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_admin_is_action_and_resource_star() {
        assert!(allows_full_admin(
            &json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
        ));
        assert!(allows_full_admin(
            &json!({"Statement": [{"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}]})
        ));
        assert!(!allows_full_admin(
            &json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        ));
        assert!(!allows_full_admin(
            &json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
        ));
    }

    #[test]
    fn tls_only_policies_are_recognised() {
        let doc = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        assert!(denies_insecure_transport(&doc));
        let allow = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]});
        assert!(!denies_insecure_transport(&allow));
        assert!(allows_everyone(&allow));
        let one_role = json!({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1:role/r"},
            "Action": "s3:PutObject", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        assert!(
            !denies_insecure_transport(&one_role),
            "a deny for one role on one action is not TLS-only"
        );
        let if_exists = json!({"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
            "Condition": {"BoolIfExists": {"aws:securetransport": false}}}]});
        assert!(denies_insecure_transport(&if_exists));
    }
}
