//! The dependency probe behind `health_check`: credentials (STS
//! `GetCallerIdentity`), Security Hub (`DescribeHub`) and GuardDuty
//! (`ListDetectors`, `GetDetector`) in the configured region.

use crate::errors::classify;
use async_trait::async_trait;
use posture_core::ports::HealthProbe;
use posture_core::sources::{DependencyHealth, DependencyStatus, SourceErrorKind};

/// Probes the real services.
pub struct AwsHealth {
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// Security Hub.
    pub securityhub: aws_sdk_securityhub::Client,
    /// GuardDuty.
    pub guardduty: aws_sdk_guardduty::Client,
    /// Region.
    pub region: String,
}

fn dep(name: &str, status: DependencyStatus, detail: impl Into<String>) -> DependencyHealth {
    DependencyHealth {
        name: name.to_string(),
        status,
        detail: detail.into(),
    }
}

fn failure_status(kind: SourceErrorKind) -> DependencyStatus {
    match kind {
        SourceErrorKind::Throttled => DependencyStatus::Degraded,
        _ => DependencyStatus::Failed,
    }
}

impl AwsHealth {
    async fn credentials(&self) -> DependencyHealth {
        match self.sts.get_caller_identity().send().await {
            Ok(id) => dep(
                "credentials",
                DependencyStatus::Operational,
                format!(
                    "resolved as {} in account {}",
                    id.arn().unwrap_or("?"),
                    id.account().unwrap_or("?")
                ),
            ),
            Err(e) => {
                let e = classify("STS", &e);
                dep(
                    "credentials",
                    DependencyStatus::Failed,
                    format!("credentials did not resolve: {}", e.message),
                )
            }
        }
    }

    async fn securityhub(&self) -> DependencyHealth {
        match self.securityhub.describe_hub().send().await {
            Ok(hub) => dep(
                "securityhub",
                DependencyStatus::Operational,
                format!("enabled in {} ({})", self.region, hub.hub_arn().unwrap_or("hub")),
            ),
            Err(e) => {
                let e = classify("Security Hub", &e);
                let detail = match e.kind {
                    SourceErrorKind::NotEnabled => format!("not enabled in {}: {}", self.region, e.message),
                    SourceErrorKind::Authentication => format!("access denied: {}", e.message),
                    _ => format!("not reachable: {}", e.message),
                };
                dep("securityhub", failure_status(e.kind), detail)
            }
        }
    }

    async fn guardduty(&self) -> DependencyHealth {
        let detectors = match self.guardduty.list_detectors().send().await {
            Ok(d) => d.detector_ids().to_vec(),
            Err(e) => {
                let e = classify("GuardDuty", &e);
                return dep(
                    "guardduty",
                    failure_status(e.kind),
                    format!("not reachable: {}", e.message),
                );
            }
        };
        let Some(detector) = detectors.first() else {
            return dep(
                "guardduty",
                DependencyStatus::Failed,
                format!("not enabled in {} (no detector)", self.region),
            );
        };
        match self.guardduty.get_detector().detector_id(detector).send().await {
            Ok(d) => {
                let status = d.status().map(|s| s.as_str().to_string()).unwrap_or_default();
                if status == "ENABLED" {
                    dep(
                        "guardduty",
                        DependencyStatus::Operational,
                        format!("detector {detector} enabled in {}", self.region),
                    )
                } else {
                    dep(
                        "guardduty",
                        DependencyStatus::Degraded,
                        format!("detector {detector} in {} is {status}", self.region),
                    )
                }
            }
            Err(e) => {
                let e = classify("GuardDuty", &e);
                dep(
                    "guardduty",
                    failure_status(e.kind),
                    format!("detector {detector} unreadable: {}", e.message),
                )
            }
        }
    }
}

#[async_trait]
impl HealthProbe for AwsHealth {
    async fn probe(&self) -> Vec<DependencyHealth> {
        let (c, s, g) = tokio::join!(self.credentials(), self.securityhub(), self.guardduty());
        vec![c, s, g]
    }

    fn region(&self) -> String {
        self.region.clone()
    }
}
