//! CloudWatch monitoring of a region, for CIS section 4: every metric
//! filter, the metric alarms on a metric one of them publishes, and the SNS
//! topics of this region those alarms notify, with their subscriptions
//! counted. A topic whose subscriptions cannot be read keeps its own gap;
//! a failed listing of filters or alarms is the section's gap.

use super::{call, collected, gap};
use posture_core::posture::inventory::{
    Collected, Gap, MetricAlarm, MetricFilter, MetricName, MonitoringRegion, SnsTopic,
};
use std::collections::BTreeSet;

/// The three clients of one region.
pub struct MonitoringClients {
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// CloudWatch.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
}

/// Collects the region's monitoring.
pub async fn collect(clients: &MonitoringClients, region: &str) -> Collected<MonitoringRegion> {
    collected(collect_inner(clients, region).await)
}

async fn collect_inner(clients: &MonitoringClients, region: &str) -> Result<MonitoringRegion, Gap> {
    let metric_filters = metric_filters(&clients.logs).await?;
    let published: BTreeSet<&MetricName> = metric_filters.iter().flat_map(|f| &f.metrics).collect();
    let alarms: Vec<MetricAlarm> = if published.is_empty() {
        Vec::new()
    } else {
        alarms(&clients.cloudwatch)
            .await?
            .into_iter()
            .filter(|a| published.contains(&a.metric))
            .collect()
    };
    // Topics of this region only: another region's topic is that region's
    // to read, and the check says it was not inspected.
    let topic_arns: BTreeSet<&str> = alarms
        .iter()
        .flat_map(|a| &a.alarm_actions)
        .filter(|arn| arn.split(':').nth(2) == Some("sns") && arn.split(':').nth(3) == Some(region))
        .map(String::as_str)
        .collect();
    let mut topics = Vec::with_capacity(topic_arns.len());
    for arn in topic_arns {
        topics.push(topic(&clients.sns, arn).await);
    }
    Ok(MonitoringRegion {
        metric_filters,
        alarms,
        topics,
    })
}

async fn metric_filters(logs: &aws_sdk_cloudwatchlogs::Client) -> Result<Vec<MetricFilter>, Gap> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = call!(
            "logs:DescribeMetricFilters",
            logs.describe_metric_filters().set_next_token(token.take()).send()
        );
        for f in page.metric_filters() {
            out.push(MetricFilter {
                name: f.filter_name().unwrap_or_default().to_string(),
                log_group_name: f.log_group_name().unwrap_or_default().to_string(),
                pattern: f.filter_pattern().unwrap_or_default().to_string(),
                metrics: f
                    .metric_transformations()
                    .iter()
                    .map(|m| MetricName {
                        namespace: m.metric_namespace().to_string(),
                        name: m.metric_name().to_string(),
                    })
                    .collect(),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn alarms(cloudwatch: &aws_sdk_cloudwatch::Client) -> Result<Vec<MetricAlarm>, Gap> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = call!(
            "cloudwatch:DescribeAlarms",
            cloudwatch.describe_alarms().set_next_token(token.take()).send()
        );
        for a in page.metric_alarms() {
            // An alarm on metric math has no single metric to match a filter's.
            let (Some(namespace), Some(name)) = (a.namespace(), a.metric_name()) else {
                continue;
            };
            out.push(MetricAlarm {
                name: a.alarm_name().unwrap_or_default().to_string(),
                metric: MetricName {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                },
                // AWS's default when the field is left out is true.
                actions_enabled: a.actions_enabled().unwrap_or(true),
                alarm_actions: a.alarm_actions().to_vec(),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn topic(sns: &aws_sdk_sns::Client, arn: &str) -> SnsTopic {
    let mut t = SnsTopic {
        arn: arn.to_string(),
        ..SnsTopic::default()
    };
    let mut token = None;
    loop {
        let page = match sns
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .set_next_token(token.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) => {
                let action = "sns:ListSubscriptionsByTopic";
                t.gap = Some(gap(action, crate::errors::classify(action, &e)));
                return t;
            }
        };
        for s in page.subscriptions() {
            // A confirmed subscription's SubscriptionArn is its ARN; an
            // unconfirmed one's is `PendingConfirmation`.
            match s.subscription_arn() {
                Some(sub) if sub.starts_with("arn:") => t.confirmed_subscriptions += 1,
                Some("PendingConfirmation") => t.pending_subscriptions += 1,
                _ => {}
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return t;
        }
    }
}
