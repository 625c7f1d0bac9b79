"""`investigate_security_incident` through the Python MCP client, on the demo organization.

The demo carries one incident across two accounts: the instance credentials of
payments-app-role (prod-payments, 345678901234) used from 198.51.100.23, discovery,
a refused privilege escalation, a role assumed into dev-sandbox (456789012345) and
reads there, and S3 exfiltration flagged by GuardDuty. Asked from the GuardDuty
finding, the principal or the IP, the tool must return that same incident.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from test_mcp_clients import call, mode, ok_structured  # noqa: F401 (mode is a fixture)

INVESTIGATE = "investigate_security_incident"
EXFILTRATION_FINDING = "432c9a5f72a09c6258e088c46edbde10"
ROLE_SESSION = "arn:aws:sts::345678901234:assumed-role/payments-app-role/i-0a1b2c3d4e5f60718"
OUTSIDE_IP = "198.51.100.23"
PAYMENTS, SANDBOX = "345678901234", "456789012345"


def investigate(url: str, mode: str, **arguments: Any) -> dict[str, Any]:
    return ok_structured(call(url, mode, INVESTIGATE, arguments), INVESTIGATE)


def test_the_finding_the_principal_and_the_ip_give_the_same_incident(server_url: str, mode: str) -> None:
    answers = {
        "finding": investigate(server_url, mode, finding_id=EXFILTRATION_FINDING),
        "principal": investigate(server_url, mode, principal=ROLE_SESSION),
        "ip": investigate(server_url, mode, ip_address=OUTSIDE_IP),
    }
    first = answers["finding"]
    findings = {f["id"] for f in first["related_findings"]}
    events = set(first["evidence"]["event_ids"])
    for how, answer in answers.items():
        assert {f["id"] for f in answer["related_findings"]} == findings, how
        assert set(answer["evidence"]["event_ids"]) == events, how
        assert answer["subject"]["accounts"] == [PAYMENTS, SANDBOX], how
        assert answer["as_of"]["basis"] == "run", how

    types = {f["finding_type"] for f in first["related_findings"]}
    assert "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS" in types
    assert "Exfiltration:S3/AnomalousBehavior" in types
    assert len(first["attack_sequences"]) == 1

    timeline = first["timeline"]
    times = [datetime.fromisoformat(e["time"]) for e in timeline]
    assert times == sorted(times), "the timeline is in time order"
    assert len({e["id"] for e in timeline}) == len(timeline) == first["timeline_total"]
    what = [e["what"] for e in timeline if e["kind"] == "event"]
    # Discovery, the refused escalation, the hop, then the second account's reads.
    assert what.index("iam.amazonaws.com:ListRoles") < what.index("sts.amazonaws.com:AssumeRole")
    sandbox = [e for e in timeline if e["kind"] == "event" and e["account_id"] == SANDBOX]
    assert {e["what"] for e in sandbox} >= {"s3.amazonaws.com:ListBuckets", "iam.amazonaws.com:ListRoles"}
    denied = [e for e in timeline if e["error_code"] == "AccessDenied"]
    assert any(e["what"] == "iam.amazonaws.com:AttachRolePolicy" for e in denied)

    actors = {(a["kind"], a["value"]): a for a in first["actors"]}
    assert actors[("source_ip", OUTSIDE_IP)]["seen_before_incident"] is False
    assert actors[("source_ip", "203.0.113.10")]["seen_before_incident"] is True
    assert actors[("principal", ROLE_SESSION)]["events"] >= 8

    radius = {b["principal"]: b for b in first["blast_radius"]}
    assert set(radius) == {"payments-app-role", "cross-account-deploy"}
    assert radius["payments-app-role"]["assumed_roles_seen"] == ["arn:aws:iam::456789012345:role/cross-account-deploy"]
    app = radius["payments-app-role"]
    assert app["kind"] == "role" and app["complete"] is True and app["unread"] == []
    assert app["trusted_principals"] == ["ec2.amazonaws.com"]
    # The cross-account role trusts it: what it may assume, read from the other account's roles.
    assert app["assumable_roles"] == ["arn:aws:iam::456789012345:role/cross-account-deploy"]
    reach = {a["service"]: a for a in app["sensitive_access"]}
    assert {"s3", "kms", "secretsmanager", "sts"} <= set(reach), reach
    deploy = radius["cross-account-deploy"]
    assert deploy["trusted_principals"] == ["arn:aws:iam::345678901234:role/payments-app-role"]
    assert deploy["attached_policies"] == ["arn:aws:iam::aws:policy/PowerUserAccess"]

    tactics = [t["name"] for t in first["tactics"]]
    assert {"Initial Access", "Discovery", "Exfiltration"} <= set(tactics)
    targets = " ".join(s["target"] for s in first["steps"])
    for target in ("payments-app-role", "cross-account-deploy", OUTSIDE_IP):
        assert target in targets, target
    assert all(s["aws_action"] and s["doc_url"].startswith("https://docs.aws.amazon.com/") for s in first["steps"])
    assert first["coverage"]["unread"] == [] and first["coverage"]["truncated"] is False
    regions = {r for lookup in first["coverage"]["lookups"] for r in lookup["regions"]}
    assert "us-east-1" in regions


NINETY_ONE_DAYS_AGO = (datetime.now(timezone.utc) - timedelta(days=91)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({}, "finding_id"),
        ({"finding_id": EXFILTRATION_FINDING, "ip_address": OUTSIDE_IP}, "ip_address"),
        ({"principal": "arn:aws:iam::12345:user/alice"}, "principal"),
        ({"resource": "arn:aws:s3"}, "resource"),
        ({"ip_address": "198.51.100.300"}, "ip_address"),
        ({"ip_address": OUTSIDE_IP, "start_time": NINETY_ONE_DAYS_AGO}, "start_time"),
        ({"ip_address": OUTSIDE_IP, "end_time": "yesterday-ish-and-more"}, "end_time"),
        ({"finding_id": "no-such-finding"}, "finding_id"),
    ],
    ids=["no-subject", "two-subjects", "malformed-arn", "malformed-resource-arn", "bad-ip", "over-90-days", "bad-time", "unknown-finding"],
)
def test_bad_subjects_and_windows_are_validation_errors(
    server_url: str, mode: str, arguments: dict[str, Any], field: str
) -> None:
    result = call(server_url, mode, INVESTIGATE, arguments)
    assert result.is_error is True, f"{arguments} was accepted"
    sc = result.structured_content
    assert sc["error_type"] == "ValidationError", sc
    assert sc["context"]["field"] == field, sc


def test_a_resource_subject_brings_its_aws_config_history(server_url: str, mode: str) -> None:
    bucket = "payments-cardholder-exports-345678901234"
    answer = investigate(server_url, mode, resource=f"arn:aws:s3:::{bucket}")
    (history,) = answer["config_history"]
    assert history["resource"]["resource_type"] == "AWS::S3::Bucket"
    assert (history["account_id"], history["region"]) == (PAYMENTS, "us-east-1"), "from the bucket's findings"
    assert history["error"] is None
    # What the bucket looked like when the window opened, then the change the
    # responders made after the exfiltration finding: its policy.
    assert history["baseline"]["status"] == "ResourceDiscovered"
    (change,) = history["changes"]
    assert change["changed"] == ["supplementaryConfiguration.BucketPolicy"]
    entries = [e for e in answer["timeline"] if e["kind"] == "config_change"]
    assert [e["id"] for e in entries] == [change["state_id"]]
    assert "BucketPolicy changed" in entries[0]["what"]
    exfiltration = next(e for e in answer["timeline"] if e["what"] == "Exfiltration:S3/AnomalousBehavior")
    assert exfiltration["time"] < entries[0]["time"], "the policy changed after the finding"
    assert set(answer["evidence"]["config_state_ids"]) == {history["baseline"]["state_id"], change["state_id"]}

    # An instance id names its type; the demo recorded no change of it.
    instance = investigate(server_url, mode, resource="i-0a1b2c3d4e5f60718", account_id=PAYMENTS)
    assert instance["config_history"][0]["resource"]["resource_type"] == "AWS::EC2::Instance"
    assert instance["config_history"][0]["changes"] == [] and instance["config_history"][0]["error"] is None
    # A bare bucket name does not say Config's type: said, not guessed.
    bare = investigate(server_url, mode, resource=bucket, account_id=PAYMENTS)
    assert bare["config_history"] == []
    assert any("AWS Config history: the resource type" in u for u in bare["coverage"]["unread"])
