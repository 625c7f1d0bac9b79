//! Which security services are on in one region: GuardDuty, Security Hub,
//! Inspector, Macie, IAM Access Analyzer. Each is asked on its own; one that
//! cannot be asked leaves its status unknown with the reason in `gaps`.

use crate::errors::classify;
use crate::iam::READ_ONLY;
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use posture_core::posture::inventory::{Collected, EnabledStandard, Gap, ServiceEnablement};
use posture_core::sources::SourceErrorKind;
use std::collections::BTreeMap;

/// The region's clients.
pub struct ServiceClients {
    guardduty: aws_sdk_guardduty::Client,
    securityhub: aws_sdk_securityhub::Client,
    inspector: aws_sdk_inspector2::Client,
    macie: aws_sdk_macie2::Client,
    access_analyzer: aws_sdk_accessanalyzer::Client,
}

impl ServiceClients {
    /// Clients of `sdk` (whose region is the one asked about).
    pub fn new(sdk: &SdkConfig) -> ServiceClients {
        ServiceClients {
            guardduty: crate::guarded_client!(aws_sdk_guardduty, sdk, READ_ONLY),
            securityhub: crate::guarded_client!(aws_sdk_securityhub, sdk, READ_ONLY),
            inspector: crate::guarded_client!(aws_sdk_inspector2, sdk, READ_ONLY),
            macie: crate::guarded_client!(aws_sdk_macie2, sdk, READ_ONLY),
            access_analyzer: crate::guarded_client!(aws_sdk_accessanalyzer, sdk, READ_ONLY),
        }
    }
}

/// A service's answer: on, off ("not enabled" / "not subscribed" errors
/// mean off), or the gap that keeps it unknown.
fn settle<T, E, R>(action: &str, result: Result<T, SdkError<E, R>>, on: impl FnOnce(T) -> bool) -> Result<bool, Gap>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(out) => Ok(on(out)),
        Err(e) => {
            let error = classify(action, &e);
            let lower = error.message.to_ascii_lowercase();
            // Macie answers AccessDeniedException "Macie is not enabled".
            if error.kind == SourceErrorKind::NotEnabled
                || lower.contains("not enabled")
                || lower.contains("not subscribed")
            {
                Ok(false)
            } else {
                Err(super::gap(action, error))
            }
        }
    }
}

async fn guardduty(c: &aws_sdk_guardduty::Client) -> Result<bool, Gap> {
    let ids = match c.list_detectors().send().await {
        Ok(out) => out.detector_ids().to_vec(),
        Err(e) => return settle("guardduty:ListDetectors", Err::<(), _>(e), |_| false),
    };
    for id in ids {
        let enabled = settle(
            "guardduty:GetDetector",
            c.get_detector().detector_id(&id).send().await,
            |d| d.status().is_some_and(|s| s.as_str() == "ENABLED"),
        )?;
        if enabled {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn access_analyzer(c: &aws_sdk_accessanalyzer::Client) -> Result<bool, Gap> {
    let mut token = None;
    loop {
        let page = c.list_analyzers().set_next_token(token.take()).send().await;
        let mut next = None;
        let active = settle("access-analyzer:ListAnalyzers", page, |o| {
            next = o.next_token().map(str::to_string);
            o.analyzers().iter().any(|a| a.status().as_str() == "ACTIVE")
        })?;
        if active {
            return Ok(true);
        }
        token = next;
        if token.is_none() {
            return Ok(false);
        }
    }
}

/// The Security Hub standards enabled in the client's region; none when
/// Security Hub itself is off.
pub async fn securityhub_standards(c: &ServiceClients) -> Collected<Vec<EnabledStandard>> {
    let mut standards = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .securityhub
            .get_enabled_standards()
            .set_next_token(token.take())
            .send()
            .await;
        let mut next = None;
        let on = settle("securityhub:GetEnabledStandards", page, |o| {
            next = o.next_token().map(str::to_string);
            standards.extend(o.standards_subscriptions().iter().map(|s| EnabledStandard {
                arn: s.standards_arn().unwrap_or_default().to_string(),
                status: s.standards_status().map(|x| x.as_str().to_string()).unwrap_or_default(),
            }));
            true
        });
        match on {
            Ok(true) => {}
            Ok(false) => return Collected::Collected(Vec::new()),
            Err(gap) => return Collected::Gap(gap),
        }
        token = next;
        if token.is_none() {
            return Collected::Collected(standards);
        }
    }
}

/// Collects the enablement of the five services in the clients' region.
pub async fn collect(c: &ServiceClients) -> Collected<ServiceEnablement> {
    let (guardduty, securityhub, inspector, macie, access_analyzer) = tokio::join!(
        guardduty(&c.guardduty),
        async {
            settle(
                "securityhub:DescribeHub",
                c.securityhub.describe_hub().send().await,
                |_| true,
            )
        },
        async {
            settle(
                "inspector2:BatchGetAccountStatus",
                c.inspector.batch_get_account_status().send().await,
                |o| {
                    o.accounts()
                        .iter()
                        .any(|a| a.state().is_some_and(|s| s.status().as_str() == "ENABLED"))
                },
            )
        },
        async {
            settle(
                "macie2:GetMacieSession",
                c.macie.get_macie_session().send().await,
                |o| o.status().is_some_and(|s| s.as_str() == "ENABLED"),
            )
        },
        access_analyzer(&c.access_analyzer),
    );
    let mut gaps = BTreeMap::new();
    let mut known = |key: &str, r: Result<bool, Gap>| match r {
        Ok(on) => Some(on),
        Err(gap) => {
            gaps.insert(key.to_string(), gap);
            None
        }
    };
    let enablement = ServiceEnablement {
        guardduty: known("guardduty", guardduty),
        securityhub: known("securityhub", securityhub),
        inspector: known("inspector", inspector),
        macie: known("macie", macie),
        access_analyzer: known("access_analyzer", access_analyzer),
        gaps: BTreeMap::new(),
    };
    Collected::Collected(ServiceEnablement { gaps, ..enablement })
}
