"""Agreement with Prowler on CIS AWS Foundations v3.0, on one moto account seeded by this test.

Optional: runs only when Prowler is installed (`scripts/prowler-env.sh` puts prowler==5.46.0 in
`~/.cache/posture-advisor/prowler`; `POSTURE_PROWLER` names another executable). The account is
the one `test_aws_posture.py` plants (public and private buckets, trails with and without log file
validation, SSH open and closed, unencrypted and encrypted databases and file systems, keys with
and without rotation, users with and without MFA), plus CIS section 4 monitoring on the trail's log
group: the benchmark's root-use filter with an alarm and a subscribed topic, and a look-alike
CloudTrail-changes filter without StopLogging.

Both tools assess the account in the same two regions. For every CIS requirement both decide
(PASS or FAIL for Prowler, PASSED or FAILED here) the verdicts are compared. Every disagreement
must be listed, with who is right and why, in `prowler_disagreements.json`; the test fails on a
disagreement that is not listed and on a listed one that no longer occurs (so the file stays true).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import serve
from test_aws_posture import ACCOUNT_A, REGIONS, _call, _seed_account_a, _server_env, _session, moto  # noqa: F401

PROWLER_VERSION = "5.46.0"
DISAGREEMENTS = Path(__file__).with_name("prowler_disagreements.json")


def _prowler() -> str | None:
    explicit = os.environ.get("POSTURE_PROWLER")
    if explicit:
        return explicit
    cache = Path(os.environ.get("POSTURE_CACHE") or Path.home() / ".cache/posture-advisor")
    candidate = cache / "prowler" / "bin" / "prowler"
    return str(candidate) if candidate.exists() else None


ROOT_USE = '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'
TRAIL_CHANGES_WITHOUT_STOP = "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) }"


def _seed_monitoring(endpoint: str) -> None:
    client = _session(endpoint)
    logs = client("logs")
    group = "aws-cloudtrail-logs-agreement"
    logs.create_log_group(logGroupName=group)
    client("cloudtrail").update_trail(
        Name="clean-validated",
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{ACCOUNT_A}:log-group:{group}:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT_A}:role/trail-to-logs",
    )
    client("cloudtrail").put_event_selectors(
        TrailName="clean-validated", EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )
    sns = client("sns")
    topic = sns.create_topic(Name="security-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT_A}:responders")
    for name, pattern in (("root-usage", ROOT_USE), ("cloudtrail-changes", TRAIL_CHANGES_WITHOUT_STOP)):
        logs.put_metric_filter(
            logGroupName=group, filterName=name, filterPattern=pattern,
            metricTransformations=[{"metricName": name, "metricNamespace": "CISBenchmark", "metricValue": "1"}],
        )
        client("cloudwatch").put_metric_alarm(
            AlarmName=f"cis-{name}", Namespace="CISBenchmark", MetricName=name, Statistic="Sum", Period=300,
            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic],
        )


def _prowler_verdicts(prowler: str, endpoint: str, out: Path) -> dict[str, str]:
    """CIS requirement -> FAIL if any of its checks failed, else PASS if any passed (MANUAL and INFO decide nothing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    subprocess.run(
        [prowler, "aws", "--compliance", "cis_3.0_aws", "-f", *REGIONS, "--output-formats", "json-ocsf",
         "-o", str(out), "--no-banner", "-z"],
        env=env, check=True, capture_output=True, timeout=1200,
    )
    [report] = (out / "compliance").glob("*_cis_3.0_aws.csv")
    statuses: dict[str, set[str]] = defaultdict(set)
    with report.open(newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            statuses[row["REQUIREMENTS_ID"]].add(row["STATUS"])
    verdicts = {}
    for requirement, seen in statuses.items():
        if "FAIL" in seen:
            verdicts[requirement] = "FAIL"
        elif "PASS" in seen:
            verdicts[requirement] = "PASS"
    return verdicts


@pytest.mark.timeout(1500)
def test_cis_verdicts_agree_with_prowler_or_the_difference_is_explained(moto: str) -> None:  # noqa: F811
    prowler = _prowler()
    if prowler is None:
        pytest.skip(f"Prowler is not installed: scripts/prowler-env.sh installs prowler=={PROWLER_VERSION}")
    _seed_account_a(moto)
    _seed_monitoring(moto)
    with serve(demo=False, env=_server_env(moto, {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"})) as server:
        started = time.monotonic()
        report = _call(server.expected_url, "check_compliance_status", {"framework": "CIS"})
        ours_took = time.monotonic() - started
    ours = {c["control_id"]: c["status"] for c in report["control_results"]}
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        theirs = _prowler_verdicts(prowler, moto, Path(out))
        prowler_took = time.monotonic() - started
    print(f"\ncheck_compliance_status (live collection) {ours_took:.1f} s, Prowler {prowler_took:.1f} s")

    both = sorted((r for r in ours if ours[r] in ("PASSED", "FAILED") and r in theirs),
                  key=lambda r: [int(p) for p in r.split(".")])
    disagreements = {r: {"ours": ours[r], "prowler": theirs[r]} for r in both if ours[r][:4] != theirs[r]}
    explained = json.loads(DISAGREEMENTS.read_text())["disagreements"]
    print(f"\nCIS v3.0 on the test's account: decided by both {len(both)}, agreeing {len(both) - len(disagreements)}, "
          f"disagreeing {len(disagreements)}; decided here only {sorted(r for r in ours if ours[r] in ('PASSED', 'FAILED') and r not in theirs)}; "
          f"by Prowler only {sorted(r for r in theirs if ours.get(r) not in ('PASSED', 'FAILED'))}")
    print("agreeing: " + ", ".join(f"{r} {ours[r]}" for r in both if r not in disagreements))
    for r, d in disagreements.items():
        print(f"| {r} | {d['ours']} | {d['prowler']} | {explained.get(r, {}).get('right', 'UNEXPLAINED')} |")
    unexplained = {r: d for r, d in disagreements.items()
                   if r not in explained or (explained[r]["ours"], explained[r]["prowler"]) != (d["ours"], d["prowler"])}
    assert not unexplained, f"new disagreements with Prowler, explain them in {DISAGREEMENTS.name}: {unexplained}"
    stale = sorted(set(explained) - set(disagreements))
    assert not stale, f"{DISAGREEMENTS.name} explains disagreements that no longer occur: {stale}"
