//! The CloudTrail event-history reader (`posture_aws::trail_events`) against
//! a LookupEvents stand-in (moto does not implement LookupEvents): Regions
//! read at once and merged in time order, global IAM events found in
//! us-east-1 though it was not asked for, AWS's 2 requests per second per
//! Region never exceeded (counted at the stand-in), a denied Region in the
//! coverage and not dropped, a budget that stops with the token to go on.

use jiff::{SignedDuration, Timestamp};
use posture_core::events::{EventFilter, EventQuery, RegionRead};
use posture_core::sources::SourceErrorKind;
use posture_tests::cloudtrail_standin::CloudTrailStandIn;
use posture_tests::moto::sdk_config_for;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const ACCOUNT: &str = "111122223333";

fn record(id: &str, at: Timestamp, source: &str, name: &str, region: &str, key: &str) -> Value {
    json!({
        "eventVersion": "1.09", "eventID": id, "eventTime": at.to_string(), "eventSource": source,
        "eventName": name, "awsRegion": region, "sourceIPAddress": "203.0.113.50", "userAgent": "aws-cli/2.15",
        "readOnly": name.starts_with("Describe") || name.starts_with("List"),
        "userIdentity": {"type": "AssumedRole", "accessKeyId": key,
                         "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/app-role/i-0abc")},
        "resources": []
    })
}

fn org(t0: Timestamp) -> BTreeMap<String, Vec<Value>> {
    let at = |s: i64| t0 + SignedDuration::from_secs(s);
    let east = vec![
        record(
            "iam-1",
            at(60),
            "iam.amazonaws.com",
            "ListRoles",
            "us-east-1",
            "ASIASTOLEN",
        ),
        record(
            "iam-2",
            at(300),
            "iam.amazonaws.com",
            "CreateAccessKey",
            "us-east-1",
            "ASIASTOLEN",
        ),
        record(
            "sts-1",
            at(301),
            "sts.amazonaws.com",
            "AssumeRole",
            "us-east-1",
            "ASIASTOLEN",
        ),
    ];
    let west = (0..120)
        .map(|i| {
            let key = if i % 10 == 0 { "ASIASTOLEN" } else { "ASIAROUTINE" };
            record(
                &format!("ec2-{i:03}"),
                at(i * 5),
                "ec2.amazonaws.com",
                "DescribeInstances",
                "eu-west-1",
                key,
            )
        })
        .collect();
    [("us-east-1".to_string(), east), ("eu-west-1".to_string(), west)].into()
}

/// The most requests any one-second window held.
fn busiest_second(times: &[std::time::Instant]) -> usize {
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t < *start + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn regions_merge_in_order_with_global_events_within_the_quota_and_a_denied_region_said() {
    let t0: Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
    let standin = CloudTrailStandIn::start(org(t0), &["ap-south-1"]).await;
    let sdk = posture_aws::transport::for_account(&sdk_config_for(&standin.endpoint).await, ACCOUNT);
    let now = t0 + SignedDuration::from_hours(24);
    let query = EventQuery::new(None, t0 - SignedDuration::from_hours(1), now, 1000, now).unwrap();
    let regions = ["eu-west-1".to_string(), "ap-south-1".to_string()];

    let timeline = posture_aws::trail_events::read(&sdk, &regions, &query).await;

    assert_eq!(timeline.events.len(), 123);
    assert!(timeline.events.windows(2).all(|w| w[0].event_time <= w[1].event_time));
    let global: Vec<&str> = timeline
        .events
        .iter()
        .filter(|e| e.region == "us-east-1")
        .map(|e| e.event_name.as_str())
        .collect();
    assert_eq!(global, ["ListRoles", "CreateAccessKey", "AssumeRole"]);
    assert_eq!(timeline.regions["eu-west-1"], RegionRead::Complete { events: 120 });
    assert_eq!(timeline.regions["us-east-1"], RegionRead::Complete { events: 3 });
    let RegionRead::Failed { events: 0, error } = &timeline.regions["ap-south-1"] else {
        panic!("{:?}", timeline.regions["ap-south-1"]);
    };
    assert_eq!(error.kind, SourceErrorKind::Authentication, "{error:?}");

    let west = standin.requests("eu-west-1");
    assert_eq!(west.len(), 3, "120 events in pages of 50");
    for region in ["eu-west-1", "us-east-1", "ap-south-1"] {
        let busiest = busiest_second(&standin.requests(region));
        println!(
            "{region}: {} requests, at most {busiest} in one second",
            standin.requests(region).len()
        );
        assert!(busiest <= 2, "{region}: {busiest} requests in one second");
    }
}

#[tokio::test]
async fn a_filter_narrows_every_region_and_a_budget_stops_with_the_token() {
    let t0: Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
    let standin = CloudTrailStandIn::start(org(t0), &[]).await;
    let sdk = posture_aws::transport::for_account(&sdk_config_for(&standin.endpoint).await, ACCOUNT);
    let now = t0 + SignedDuration::from_hours(24);
    let window = (t0 - SignedDuration::from_hours(1), now);
    let regions = ["eu-west-1".to_string()];

    let stolen = Some(EventFilter::AccessKeyId("ASIASTOLEN".into()));
    let query = EventQuery::new(stolen, window.0, window.1, 1000, now).unwrap();
    let timeline = posture_aws::trail_events::read(&sdk, &regions, &query).await;
    assert_eq!(
        timeline.events.len(),
        12 + 3,
        "every tenth EC2 call and the three IAM/STS ones"
    );
    assert!(
        timeline
            .events
            .iter()
            .all(|e| e.access_key_id.as_deref() == Some("ASIASTOLEN"))
    );

    let query = EventQuery::new(None, window.0, window.1, 60, now).unwrap();
    let timeline = posture_aws::trail_events::read(&sdk, &regions, &query).await;
    let RegionRead::Truncated { events, next_token } = &timeline.regions["eu-west-1"] else {
        panic!("{:?}", timeline.regions["eu-west-1"]);
    };
    assert_eq!(*events, 100, "stops after the page that reached the budget");
    assert_eq!(next_token, "100");
}

#[tokio::test]
async fn members_are_read_through_their_role_and_a_refusing_role_is_an_error() {
    use posture_core::ports::EventHistory;
    const MEMBER: &str = "444455556666";
    const REFUSING: &str = "777788889999";
    let t0: Timestamp = "2026-12-06T10:00:00Z".parse().unwrap();
    let at = |s: i64| t0 + SignedDuration::from_secs(s);
    let hub_events = [(
        "us-east-1".to_string(),
        vec![record(
            "hub-1",
            at(10),
            "iam.amazonaws.com",
            "ListRoles",
            "us-east-1",
            "ASIAHUB",
        )],
    )];
    let member_events = [
        (
            "us-east-1".to_string(),
            vec![record(
                "member-2",
                at(30),
                "sts.amazonaws.com",
                "GetCallerIdentity",
                "us-east-1",
                "ASIAX",
            )],
        ),
        (
            "eu-west-1".to_string(),
            vec![record(
                "member-1",
                at(20),
                "s3.amazonaws.com",
                "ListBuckets",
                "eu-west-1",
                "ASIAX",
            )],
        ),
    ];
    let org = [
        (ACCOUNT.to_string(), hub_events.into()),
        (MEMBER.to_string(), member_events.into()),
    ];
    let standin = CloudTrailStandIn::start_org(ACCOUNT, org.into(), &[REFUSING]).await;
    let history = posture_aws::trail_events::OrgEventHistory {
        base: sdk_config_for(&standin.endpoint).await,
        roles: posture_aws::collector::RoleSettings {
            role: "PostureAdvisorMember".into(),
            external_id: Some("org-external-id".into()),
            regions: None,
            partition: "aws".into(),
            max_findings_per_account: 1000,
        },
        own_account: Default::default(),
    };
    let now = t0 + SignedDuration::from_hours(1);
    let query = EventQuery::new(None, t0, now, 100, now).unwrap();
    let regions = ["eu-west-1".to_string()];
    let ids =
        |t: &posture_core::events::Timeline| -> Vec<String> { t.events.iter().map(|e| e.event_id.clone()).collect() };

    // The server's own account: its own credentials, no role assumed.
    let own = history.lookup(ACCOUNT, &regions, &query).await.unwrap();
    assert_eq!(ids(&own), ["hub-1"]);
    assert!(standin.assumed().is_empty());

    // A member: through its role, both Regions, in time order.
    let member = history.lookup(MEMBER, &regions, &query).await.unwrap();
    assert_eq!(ids(&member), ["member-1", "member-2"]);
    assert_eq!(
        standin.assumed(),
        [format!("arn:aws:iam::{MEMBER}:role/PostureAdvisorMember")]
    );

    // A member whose role refuses: an error naming the role, for coverage.
    let refused = history.lookup(REFUSING, &regions, &query).await.unwrap_err();
    assert_eq!(refused.kind, SourceErrorKind::Authentication, "{refused:?}");
    assert!(refused.message.contains("AccessDenied"), "{}", refused.message);
    assert!(refused.message.contains(REFUSING), "{}", refused.message);
}
