//! Which findings an analysis covers beyond its window and severity: the
//! accounts, regions, resource, principal and finding types asked for.

use crate::finding::{Finding, short_id};

/// Resource kinds whose identifier names a principal.
const PRINCIPAL_KINDS: [&str; 3] = ["AwsIamUser", "AwsIamRole", "AwsIamAccessKey"];

/// A selection of findings; an empty field selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    /// Findings in these accounts.
    pub account_ids: Vec<String>,
    /// Findings in these regions.
    pub regions: Vec<String>,
    /// Findings about this resource: its ARN, or its own id (`i-0abc`, a
    /// bucket name), which also matches the end of an ARN.
    pub resource: Option<String>,
    /// Findings involving this principal: a user or role ARN or name, an
    /// access key id, or a role session name.
    pub principal: Option<String>,
    /// Findings with a type starting with one of these (case matters, as
    /// in Security Hub's PREFIX filter): `UnauthorizedAccess:IAMUser`, `Recon:`,
    /// `Software and Configuration Checks/Industry and Regulatory Standards`.
    pub types: Vec<String>,
}

impl FindingFilter {
    /// True when nothing is filtered out.
    pub fn is_empty(&self) -> bool {
        self == &FindingFilter::default()
    }

    /// Whether `f` is selected.
    pub fn admits(&self, f: &Finding) -> bool {
        (self.account_ids.is_empty() || self.account_ids.contains(&f.account_id))
            && (self.regions.is_empty() || self.regions.contains(&f.region))
            && self
                .resource
                .as_deref()
                .is_none_or(|r| f.resources.iter().any(|x| names(&x.id, r)))
            && self.principal.as_deref().is_none_or(|p| involves(f, p))
            && (self.types.is_empty() || self.types.iter().any(|t| has_type(f, t)))
    }
}

/// Whether `reference` (an ARN or an id) is `wanted`, or an ARN ending in it.
fn names(reference: &str, wanted: &str) -> bool {
    reference == wanted
        || reference
            .strip_suffix(wanted)
            .is_some_and(|head| head.ends_with('/') || head.ends_with(':'))
}

/// Whether `f` involves principal `wanted` (an ARN selects by its name too:
/// sources report user and role names, session names and key ids).
fn involves(f: &Finding, wanted: &str) -> bool {
    let name = if wanted.starts_with("arn:") {
        short_id(wanted)
    } else {
        wanted.to_string()
    };
    f.principals.iter().any(|p| p == wanted || *p == name)
        || f.resources
            .iter()
            .any(|r| PRINCIPAL_KINDS.contains(&r.kind.as_str()) && (names(&r.id, wanted) || names(&r.id, &name)))
}

fn has_type(f: &Finding, prefix: &str) -> bool {
    f.finding_type.starts_with(prefix) || f.types.iter().any(|t| t.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::DemoOrganization;

    fn findings() -> Vec<Finding> {
        let org = DemoOrganization::load(jiff::Timestamp::now()).unwrap();
        org.securityhub
            .iter()
            .map(|f| f.normalize())
            .chain(org.guardduty.iter().map(|f| f.normalize()))
            .filter_map(Result::ok)
            .collect()
    }

    #[test]
    fn an_empty_filter_admits_everything() {
        let all = findings();
        assert!(!all.is_empty());
        assert!(all.iter().all(|f| FindingFilter::default().admits(f)));
    }

    #[test]
    fn each_field_selects_what_it_names_and_nothing_else() {
        let all = findings();
        let f = all
            .iter()
            .find(|f| !f.resources.is_empty() && !f.principals.is_empty())
            .unwrap();
        let arn = &f.resources[0].id;
        for filter in [
            FindingFilter {
                account_ids: vec![f.account_id.clone()],
                ..Default::default()
            },
            FindingFilter {
                regions: vec![f.region.clone()],
                ..Default::default()
            },
            FindingFilter {
                resource: Some(arn.clone()),
                ..Default::default()
            },
            FindingFilter {
                resource: Some(short_id(arn)),
                ..Default::default()
            },
            FindingFilter {
                principal: Some(f.principals[0].clone()),
                ..Default::default()
            },
            FindingFilter {
                types: vec![f.finding_type[..4].to_string()],
                ..Default::default()
            },
        ] {
            assert!(filter.admits(f), "{filter:?} should admit {}", f.id);
        }
        let nothing = [
            FindingFilter {
                account_ids: vec!["000000000000".into()],
                ..Default::default()
            },
            FindingFilter {
                regions: vec!["xx-nowhere-1".into()],
                ..Default::default()
            },
            // A suffix that is not a whole ARN segment does not match.
            FindingFilter {
                resource: Some(arn[arn.len() - 3..].to_string()),
                ..Default::default()
            },
            FindingFilter {
                principal: Some("nobody-at-all".into()),
                ..Default::default()
            },
            FindingFilter {
                types: vec!["NoSuchType".into()],
                ..Default::default()
            },
            FindingFilter {
                types: vec![f.finding_type.to_ascii_lowercase()],
                ..Default::default()
            },
        ];
        for filter in nothing {
            assert!(!all.iter().any(|x| filter.admits(x)), "{filter:?} admitted a finding");
        }
    }

    #[test]
    fn a_principal_arn_selects_findings_that_name_the_principal() {
        let all = findings();
        let f = all.iter().find(|f| !f.principals.is_empty()).unwrap();
        let arn = format!("arn:aws:iam::{}:user/{}", f.account_id, f.principals[0]);
        let filter = FindingFilter {
            principal: Some(arn),
            ..Default::default()
        };
        assert!(filter.admits(f));
    }
}
