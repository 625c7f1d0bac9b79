"""Issue 19, must-show 1, through a real MCP client: accepted risks on the demo organization.

The exceptions file (dates relative to today, so the test holds on any day) accepts one failure
in one account (CIS 1.10, the console user without MFA `sandbox-admin` in 456789012345), has one
expired exception (CIS 1.18 in the same account) and one stale one (S3.8 on buckets that do not
exist). The demo server applies it to its first org-wide run and to every answer.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conftest import serve
from test_aws_posture import _call

SANDBOX = "456789012345"


def _exceptions_file(directory: str) -> str:
    today = datetime.date.today()
    day = lambda n: (today + datetime.timedelta(days=n)).isoformat()  # noqa: E731
    body = {
        "schema_version": 1,
        "exceptions": [
            {
                "id": "break-glass-sandbox",
                "control": "CIS 1.10",
                "scope": {"account_id": SANDBOX, "resource": "*sandbox-admin"},
                "reason": "break-glass user in a sealed sandbox; its password is in the vault",
                "owner": "secops@example.com",
                "created": day(-6),
                "expires": day(84),
            },
            {
                "id": "legacy-instance-profile",
                "control": "CIS 1.18",
                "scope": {"account_id": SANDBOX},
                "reason": "legacy instance, to be rebuilt",
                "owner": "platform@example.com",
                "created": day(-100),
                "expires": day(-1),
            },
            {
                "id": "public-website",
                "control": "S3.8",
                "scope": {"organization": True, "resource": "www-*"},
                "reason": "static website buckets",
                "owner": "web@example.com",
                "created": day(-30),
                "expires": day(150),
            },
        ],
    }
    path = Path(directory) / "exceptions.json"
    path.write_text(json.dumps(body, indent=2))
    return str(path)


@pytest.fixture(scope="module")
def accepted_server():
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, POSTURE_EXCEPTIONS=_exceptions_file(d))
        with serve(env=env) as server:
            yield server.expected_url


def _control(report: dict[str, Any], control_id: str) -> dict[str, Any]:
    return next(c for c in report["control_results"] if c["control_id"] == control_id)


def test_an_accepted_failure_is_suppressed_with_its_reason_and_both_scores_are_given(accepted_server, server_url):
    plain = _call(server_url, "check_compliance_status", {"framework": "CIS"})
    r = _call(accepted_server, "check_compliance_status", {"framework": "CIS"})
    accepted = _control(r, "1.10")
    assert accepted["status"] == "SUPPRESSED"
    assert accepted["failing_resources"] == []
    [s] = accepted["suppressed"]
    assert s["resource"] == f"{SANDBOX}/sandbox-admin"
    assert s["exception_id"] == "break-glass-sandbox"
    assert s["reason"].startswith("break-glass user") and s["owner"] == "secops@example.com"
    assert _control(plain, "1.10")["status"] == "FAILED"
    assert r["counts"]["suppressed"] == 1 and r["counts"]["failed"] == plain["counts"]["failed"] - 1
    # Without exceptions: the score of no exceptions at all; with them: the accepted requirement passes.
    assert r["overall_compliance_score"] == plain["overall_compliance_score"]
    assert r["overall_compliance_score_with_exceptions"] > r["overall_compliance_score"]
    sandbox = next(a for a in r["account_scores"] if a["account_id"] == SANDBOX)
    assert sandbox["counts"]["suppressed"] == 1
    assert sandbox["score_with_exceptions"] > sandbox["score"]
    assert [a["control_id"] for a in r["accepted_risks"]] == ["1.10"]
    # Also when the per-requirement results are not asked for.
    brief = _call(accepted_server, "check_compliance_status", {"framework": "CIS", "generate_report": False})
    assert brief["accepted_risks"][0]["suppressed"][0]["exception_id"] == "break-glass-sandbox"


def test_the_expired_exception_fails_again_and_is_flagged_and_the_stale_one_is_flagged(accepted_server):
    r = _call(accepted_server, "check_compliance_status", {"framework": "CIS"})
    expired = _control(r, "1.18")
    assert expired["status"] == "FAILED"
    assert expired["failing_resources"] == [f"{SANDBOX}/i-0a7b8c9d0e1f2a3b5"]
    assert expired["expired_exceptions"][0]["exception_id"] == "legacy-instance-profile"
    by_id = {e["id"]: e for e in r["exceptions"]}
    assert by_id["legacy-instance-profile"]["state"] == "EXPIRED"
    assert by_id["legacy-instance-profile"]["failures_covered"] == 1
    assert any(f.startswith("expired on") for f in by_id["legacy-instance-profile"]["flags"])
    assert by_id["public-website"]["stale"] is True
    assert any(f.startswith("stale") for f in by_id["public-website"]["flags"])
    assert by_id["break-glass-sandbox"]["state"] == "ACTIVE" and not by_id["break-glass-sandbox"]["stale"]

    listed = _call(accepted_server, "list_exceptions", {})
    assert listed["counts"] == {"total": 3, "active": 2, "expiring": 0, "expired": 1, "stale": 1, "pending": 0}
    assert listed["file"].endswith("exceptions.json") and listed["file_error"] is None
    assert [e["id"] for e in _call(accepted_server, "list_exceptions", {"state": "stale"})["exceptions"]] == ["public-website"]
    assert [e["id"] for e in _call(accepted_server, "list_exceptions", {"state": "expired"})["exceptions"]] == [
        "legacy-instance-profile"
    ]
    soon = _call(accepted_server, "list_exceptions", {"state": "expiring", "expiring_within_days": 90})
    assert [e["id"] for e in soon["exceptions"]] == ["break-glass-sandbox"]


def test_accepted_failures_are_left_out_of_recommendations_and_assessments(accepted_server, server_url):
    recs = _call(accepted_server, "recommend_security_improvements", {"max_recommendations": 50})
    plain_recs = _call(server_url, "recommend_security_improvements", {"max_recommendations": 50})
    assert {(a["resource"], a["exception_id"]) for a in recs["accepted_risks"]} == {
        (f"{SANDBOX}/sandbox-admin", "break-glass-sandbox")
    }
    def affected(rs: dict[str, Any], rec_id: str) -> list[str]:
        return next((r["affected_resources"] for r in rs["recommendations"] if r["recommendation_id"] == rec_id), [])

    # Left out where it was the accepted failure, still listed where it fails something else.
    assert f"{SANDBOX}/sandbox-admin" in affected(plain_recs, "REC-iam.console_users_mfa")
    assert f"{SANDBOX}/sandbox-admin" not in affected(recs, "REC-iam.console_users_mfa")
    assert f"{SANDBOX}/sandbox-admin" in affected(recs, "REC-iam.access_keys_rotated_90d")
    assessed = _call(accepted_server, "assess_security_posture", {"scope": "account", "target": SANDBOX, "frameworks": ["CIS"]})
    plain = _call(server_url, "assess_security_posture", {"scope": "account", "target": SANDBOX, "frameworks": ["CIS"]})
    cis = assessed["compliance_status"]["CIS"]
    assert cis["suppressed_controls"] == 1
    assert cis["overall_score"] == plain["compliance_status"]["CIS"]["overall_score"]
    assert cis["overall_score_with_exceptions"] > cis["overall_score"]


def test_history_after_a_run_shows_the_suppression(accepted_server):
    h = _call(accepted_server, "get_posture_history", {"account_id": SANDBOX, "framework": "CIS"})
    [point] = h["account"]
    assert point["suppressed_controls"] == 1
    assert point["score_with_exceptions"] > point["score"]
    [line] = point["accepted"]
    assert "CIS 1.10 accepted on" in line and "by secops@example.com" in line and "break-glass-sandbox" in line


def test_a_malformed_file_is_reported_with_its_location_and_nothing_is_suppressed():
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "exceptions.json"
        path.write_text('{\n  "schema_version": 1,\n  "exceptions": [{"id": 1}]\n}\n')
        env = dict(os.environ, POSTURE_EXCEPTIONS=str(path))
        with serve(env=env) as server:
            url = server.expected_url
            listed = _call(url, "list_exceptions", {})
            assert listed["file_error"]["location"] == "line 3, column 25"
            assert listed["file_error"]["file"] == str(path)
            info = _call(url, "get_server_info", {})
            assert "line 3, column 25" in info["exceptions_error"]
            r = _call(url, "check_compliance_status", {"framework": "CIS"})
            assert "line 3, column 25" in r["data_sources"]["exceptions_error"]
            assert _control(r, "1.10")["status"] == "FAILED" and r["counts"]["suppressed"] == 0
        # The assessor refuses to run on it, saying where.
        target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/posture-advisor/target")
        assessor = os.environ.get("POSTURE_ASSESSOR_BIN") or str(Path(target) / "debug" / "assessor")
        done = subprocess.run(
            [assessor, "--demo"], env=dict(env, POSTURE_DATA_DIR=d), capture_output=True, text=True, timeout=120
        )
        assert done.returncode != 0
        assert "line 3, column 25" in done.stderr


def test_the_runs_exports_are_resources_and_show_the_accepted_failure(accepted_server):
    import csv
    import io

    import anyio
    from mcp import Client

    async def main() -> tuple[list[str], str, str, dict[str, Any]]:
        async with Client(accepted_server, read_timeout_seconds=120) as client:
            listed = [str(r.uri) for r in (await client.list_resources()).resources]
            exports = [u for u in listed if u.startswith("posture://exports/")]
            csv_uri = next(u for u in exports if u.endswith(f"/{SANDBOX}.csv"))
            ocsf_uri = csv_uri.removesuffix(".csv") + ".ocsf.json"
            snapshot = json.loads((await client.read_resource(f"posture://accounts/{SANDBOX}/snapshot")).contents[0].text)
            return (
                exports,
                (await client.read_resource(csv_uri)).contents[0].text,
                (await client.read_resource(ocsf_uri)).contents[0].text,
                snapshot,
            )

    exports, csv_text, ocsf_text, snapshot = anyio.run(main)
    # Three accounts, four formats each.
    assert len(exports) == 12
    assert {u.rsplit("/", 1)[1].split(".", 1)[1] for u in exports} == {"csv", "ocsf.json", "sarif", "asff.json"}
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    [accepted] = [r for r in rows if r["status"] == "SUPPRESSED"]
    assert accepted["resource"] == "sandbox-admin" and accepted["exception_id"] == "break-glass-sandbox"
    assert accepted["exception_owner"] == "secops@example.com"
    # Failing rows (failed or accepted) are the snapshot's failures.
    assert sum(r["status"] in ("FAIL", "SUPPRESSED") for r in rows) == len(snapshot["failures"])
    events = json.loads(ocsf_text)
    assert sum(e["class_uid"] == 2003 for e in events) == len(rows)
    assert [e["status_id"] for e in events if e.get("unmapped", {}).get("exception")] == [3]
