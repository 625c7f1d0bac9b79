//! AWS Config rule evaluations read directly as findings: the Region's
//! rules (`DescribeConfigRules`, which names the account in each rule's ARN
//! and who created the rule), those failing (`DescribeComplianceByConfigRule`,
//! 25 rules a request), then each failing rule's NON_COMPLIANT evaluations
//! (`GetComplianceDetailsByConfigRule`, pages of 100), parsed straight into
//! `posture-core`'s shape and normalized there. Security Hub's own rules are
//! left out: their results are Security Hub control findings already.

use crate::transport::ThrottleCount;
use aws_sdk_config::Client;
use aws_sdk_config::types::ComplianceType;
use posture_core::finding::NormalizeError;
use posture_core::findings::config_rules::{ConfigRule, ConfigRulePage, EvaluationPage, RuleCompliancePage};
use posture_core::sources::{FindingQuery, PagedRead, Reading, SourceError};

/// The source's name in results.
pub const SERVICE: &str = "Config";
/// Page size asked of `GetComplianceDetailsByConfigRule` (its maximum).
pub const PAGE_SIZE: i32 = 100;
/// Most rule names `DescribeComplianceByConfigRule` takes at once.
pub const RULES_PER_REQUEST: usize = 25;

/// AWS Config rule evaluations as a finding source.
pub struct ConfigRulesSource {
    client: Client,
}

impl ConfigRulesSource {
    /// A source over `client` (an account's: see `transport::RawBody::parse`).
    pub fn new(client: Client) -> ConfigRulesSource {
        ConfigRulesSource { client }
    }
}

crate::paged_finding_source!(ConfigRulesSource, SERVICE);

impl ConfigRulesSource {
    /// The Region's rules whose evaluations are read.
    async fn rules(&self, throttles: &ThrottleCount) -> Result<Vec<ConfigRule>, SourceError> {
        let mut rules = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page: ConfigRulePage = crate::raw_page!(
                self.client.describe_config_rules().set_next_token(token.take()),
                throttles,
                SERVICE,
                "DescribeConfigRules"
            )?;
            rules.extend(page.config_rules.into_iter().filter(ConfigRule::is_read));
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(rules);
            }
        }
    }

    /// Those of `rules` some resource fails.
    async fn failing(&self, rules: Vec<ConfigRule>, throttles: &ThrottleCount) -> Result<Vec<ConfigRule>, SourceError> {
        let mut failing = Vec::new();
        for chunk in rules.chunks(RULES_PER_REQUEST) {
            let mut token: Option<String> = None;
            loop {
                let page: RuleCompliancePage = crate::raw_page!(
                    self.client
                        .describe_compliance_by_config_rule()
                        .set_config_rule_names(Some(chunk.iter().map(|r| r.config_rule_name.clone()).collect()))
                        .compliance_types(ComplianceType::NonCompliant)
                        .set_next_token(token.take()),
                    throttles,
                    SERVICE,
                    "DescribeComplianceByConfigRule"
                )?;
                for compliance in page.compliance_by_config_rules.iter().filter(|c| c.is_non_compliant()) {
                    if let Some(rule) = chunk.iter().find(|r| r.config_rule_name == compliance.config_rule_name) {
                        failing.push(rule.clone());
                    }
                }
                token = page.next_token.filter(|t| !t.is_empty());
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(failing)
    }

    async fn read(&self, query: &FindingQuery, mut reading: Reading) -> Result<PagedRead, SourceError> {
        let throttles = ThrottleCount::default();
        let rules = self.rules(&throttles).await?;
        let failing = if rules.is_empty() {
            Vec::new()
        } else {
            self.failing(rules, &throttles).await?
        };
        let mut unread_pages = false;
        for rule in &failing {
            let Some((account, region)) = rule.account_and_region() else {
                // Counted with the records that could not be read, never dropped unseen.
                reading.push(
                    Err(NormalizeError::Missing {
                        format: "Config",
                        id: rule.config_rule_name.clone(),
                        field: "ConfigRuleArn",
                    }),
                    query,
                );
                continue;
            };
            let mut token: Option<String> = None;
            loop {
                if reading.has_enough(query) {
                    unread_pages = true;
                    break;
                }
                let page: EvaluationPage = crate::raw_page!(
                    self.client
                        .get_compliance_details_by_config_rule()
                        .config_rule_name(&rule.config_rule_name)
                        .compliance_types(ComplianceType::NonCompliant)
                        .limit(PAGE_SIZE)
                        .set_next_token(token.take()),
                    throttles,
                    SERVICE,
                    "GetComplianceDetailsByConfigRule"
                )?;
                for evaluation in page.evaluation_results {
                    reading.push(evaluation.normalize(account, region), query);
                }
                token = page.next_token.filter(|t| !t.is_empty());
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(PagedRead {
            reading,
            unread_pages,
            throttled_attempts: throttles.count(),
        })
    }
}
