//! Masking of secrets wherever text leaves the process (tool results, error
//! details, logs): the configured credential values exactly, wherever they
//! appear, and anything shaped like an AWS access key id.
//!
//! The values are installed once, by each function's `main`, from its
//! environment ([`install`]); until then only shapes are masked.

use serde_json::Value;
use std::sync::OnceLock;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Environment variables whose values are secrets.
pub const SECRET_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "POSTURE_EXTERNAL_ID",
];

/// Shorter values are not masked (they would mask ordinary words).
const MIN_SECRET_CHARS: usize = 8;

/// The secret values to mask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// The values of [`SECRET_VARS`] read through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Secrets {
        Secrets::new(SECRET_VARS.iter().filter_map(|name| var(name)))
    }

    /// `values`, longest first (a value inside another is masked with it).
    pub fn new(values: impl IntoIterator<Item = String>) -> Secrets {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|v| v.trim().to_string())
            .filter(|v| v.chars().count() >= MIN_SECRET_CHARS)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Secrets { values }
    }

    /// Whether `text` holds a secret value or an access-key-id shape: most
    /// strings do not, and are left as they are without a copy.
    fn needs_mask(&self, text: &str) -> bool {
        self.values.iter().any(|v| text.contains(v.as_str()))
            || ((text.contains("AKIA") || text.contains("ASIA")) && mask_access_key_ids(text) != text)
    }

    /// `text` with every secret value and every access-key-id shape masked.
    pub fn mask(&self, text: &str) -> String {
        if !self.needs_mask(text) {
            return text.to_string();
        }
        let mut out = text.to_string();
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), MASK);
            }
        }
        mask_access_key_ids(&out)
    }

    /// Every string in `value` masked, in place.
    pub fn mask_value(&self, value: &mut Value) {
        match value {
            Value::String(s) if self.needs_mask(s) => *s = self.mask(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.mask_value(v)),
            _ => {}
        }
    }
}

/// `AKIA`/`ASIA` followed by 16 upper-case letters or digits, anywhere (as in
/// `Credential=AKIA…/20261206/…`), replaced by [`MASK`].
fn mask_access_key_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 20 <= bytes.len() {
        let prefix = &bytes[i..i + 4];
        let id_like = (prefix == b"AKIA" || prefix == b"ASIA")
            && bytes[i + 4..i + 20]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if id_like {
            out.push_str(&text[copied..i]);
            out.push_str(MASK);
            i += 20;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

static INSTALLED: OnceLock<Secrets> = OnceLock::new();

/// Installs the process's secrets (first call wins).
pub fn install(secrets: Secrets) {
    let _ = INSTALLED.set(secrets);
}

/// `text` masked with the installed secrets (shapes only before [`install`]).
pub fn mask(text: &str) -> String {
    INSTALLED.get_or_init(Secrets::default).mask(text)
}

/// Every string in `value` masked with the installed secrets, in place.
pub fn mask_value(value: &mut Value) {
    INSTALLED.get_or_init(Secrets::default).mask_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn configured_values_are_masked_exactly_wherever_they_appear() {
        let secrets = Secrets::new([
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
            "IQoJb3JpZ2luX2VjEtoken".to_string(),
            "short".to_string(),
        ]);
        let text = "sig=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY;tok:IQoJb3JpZ2luX2VjEtoken! short";
        assert_eq!(secrets.mask(text), "sig=***;tok:***! short");
        let mut v = json!({"detail": ["x IQoJb3JpZ2luX2VjEtoken y"], "n": 1});
        secrets.mask_value(&mut v);
        assert_eq!(v, json!({"detail": ["x *** y"], "n": 1}));
    }

    #[test]
    fn access_key_ids_are_masked_inside_other_text() {
        let s = Secrets::default();
        assert_eq!(
            s.mask("Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/s3/aws4_request, ok"),
            "Credential=***/20261206/us-east-1/s3/aws4_request, ok"
        );
        assert_eq!(s.mask("ASIA3XFRBF23EXAMPLE1"), "***");
        assert_eq!(s.mask("AKIA too short"), "AKIA too short");
        assert_eq!(s.mask("é AKIAIOSFODNN7EXAMPLE é"), "é *** é");
    }

    #[test]
    fn values_come_from_the_named_variables_only() {
        let s = Secrets::from_vars(|k| match k {
            "AWS_SECRET_ACCESS_KEY" => Some("abcdefghijklmnop".into()),
            "HOME" => Some("/home/someone".into()),
            _ => None,
        });
        assert_eq!(s.mask("abcdefghijklmnop /home/someone"), "*** /home/someone");
    }
}
