"""Issue 5, must-show 3 and 5, through a real MCP client (the Python SDK).

History: three org-wide runs of one moto account by the `assessor` binary (AWS mode, in-process
collector, local store), with changes planted between them: run 2 makes a bucket public and
drops the password policy; run 3 blocks public access on that bucket again. The `mcp-server`
binary then serves that store, and `get_posture_history` and `compare_snapshots` must report
exactly those changes.

Long work: `assess_security_posture` with scope organization and freshness live returns a run id at once; the run
is followed with `get_assessment_status` until it completes.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from conftest import serve
from test_aws_posture import ACCOUNT_A, ACCOUNT_B, PUBLIC_READ, _call, _server_env, _session, moto  # noqa: F401 (fixture)

BUCKET = "drifting-data"
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def _assessor_binary() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/posture-advisor/target")
    return Path(os.environ.get("POSTURE_ASSESSOR_BIN") or Path(target) / "debug" / "assessor")


def _assess(env: dict[str, str], run_id: str) -> dict[str, Any]:
    done = subprocess.run([str(_assessor_binary()), "--run-id", run_id], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _run_id(days_ago: int) -> str:
    t = time.gmtime(time.time() - days_ago * 86400)
    return time.strftime("%Y%m%dT%H%M%SZ", t) + f"-t{days_ago}"


def _follow(url: str, run_id: str, timeout: float = 120) -> list[tuple[str, int, int, float]]:
    """Polls get_assessment_status until the run ends; returns the distinct states seen."""
    seen: list[tuple[str, int, int, float]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = _call(url, "get_assessment_status", {"run_id": run_id})
        point = (s["state"], s["accounts_done"], s["accounts_total"], s["progress_percent"])
        if not seen or seen[-1] != point:
            seen.append(point)
        if s["state"] in ("COMPLETE", "FAILED"):
            break
        time.sleep(0.05)
    done = [p[1] for p in seen]
    assert done == sorted(done), f"progress went backwards: {seen}"
    return seen


def _failures(account: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {(f["check_id"], f["resource"]) for f in account[kind]}


@pytest.mark.timeout(240)
def test_history_and_drift_report_exactly_the_planted_changes(moto: str, tmp_path: Path) -> None:  # noqa: F811
    # moto's state is process-wide: start from an empty account whatever ran before.
    urllib.request.urlopen(urllib.request.Request(f"{moto}/moto-api/reset", method="POST"), timeout=30).close()
    client = _session(moto)
    s3, iam = client("s3"), client("iam")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=ALL_ON)
    iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24, RequireSymbols=True,
                                       RequireNumbers=True, RequireUppercaseCharacters=True, RequireLowercaseCharacters=True)

    env = _server_env(moto, {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"})
    env.update(POSTURE_DATA_DIR=str(tmp_path / "store"), POSTURE_ACCOUNTS=f"{ACCOUNT_A}=drift-test",
               POSTURE_REGIONS="us-east-1")
    runs = [_run_id(3), _run_id(2), _run_id(1)]

    first = _assess(env, runs[0])
    assert first["outcome"] == "completed", first
    # Run 2: the bucket becomes public, the password policy goes.
    s3.delete_public_access_block(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(PUBLIC_READ).replace("planted-public-data", BUCKET))
    iam.delete_account_password_policy()
    assert _assess(env, runs[1])["outcome"] == "completed"
    # Run 3: the bucket is blocked again; the password policy stays missing.
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=ALL_ON)
    s3.delete_bucket_policy(Bucket=BUCKET)
    assert _assess(env, runs[2])["outcome"] == "completed"
    # The same tick again is not a new run.
    assert _assess(env, runs[2])["outcome"] == "already_complete"

    bucket, account = BUCKET, f"account {ACCOUNT_A}"
    # The server may start runs of its own: two accounts, one at a time, so progress shows.
    server_env = dict(env, POSTURE_ACCOUNTS=f"{ACCOUNT_A}=drift-test,{ACCOUNT_B}=second", POSTURE_CONCURRENCY="1")
    with serve(demo=False, env=server_env) as server:
        url = server.expected_url
        history = _call(url, "get_posture_history", {"framework": "CIS", "days": 7})
        assert [p["run_id"] for p in history["organization"]] == runs
        s1, s2, s3_ = (p["score"] for p in history["organization"])
        failures = [p["failures"] for p in history["organization"]]
        # Run 2 fails more (score down); run 3 fixes the bucket (fewer failures; CIS 2.1.4 still
        # fails on the account-level Block Public Access, so the score need not rise).
        assert s2 < s1 and s3_ >= s2, history["organization"]
        assert failures[1] > failures[0] and failures[2] < failures[1], failures
        assert history["trend"] == "declining" and history["score_change"] == round(s3_ - s1, 1)
        acct = _call(url, "get_posture_history", {"account_id": ACCOUNT_A, "framework": "CIS", "days": 7})
        assert [p["run_id"] for p in acct["account"]] == runs
        assert [p["failures"] for p in acct["account"]] == failures

        # Run 1 -> run 2: exactly the bucket's public failures and the password policy's are new.
        d12 = _call(url, "compare_snapshots", {"from_run_id": runs[0], "to_run_id": runs[1]})
        assert d12["from_run"] == runs[0] and d12["to_run"] == runs[1]
        (a12,) = d12["accounts"]
        new12 = _failures(a12, "new_failures")
        assert a12["resolved_failures"] == [], a12["resolved_failures"]
        assert new12 == {
            ("s3.bucket_not_public", bucket),
            ("s3.bucket_public_access_block", bucket),
            ("iam.password_min_length", account),
            ("iam.password_reuse", account),
            ("iam.password_policy_strong", account),
        }, new12
        assert d12["score_changes"]["CIS"]["delta"] == round(s2 - s1, 1)
        assert d12["totals"]["new_failures"] == len(new12) == failures[1] - failures[0]
        changed = {(c["control_id"], c["from"], c["to"]) for c in a12["control_changes"]}
        assert all(f == "PASSED" and t == "FAILED" for (_, f, t) in changed), changed

        # Run 2 -> run 3 (the default: latest against the one before): the bucket's are resolved,
        # the password policy's persist, nothing is new.
        d23 = _call(url, "compare_snapshots", {"account_id": ACCOUNT_A})
        assert (d23["from_run"], d23["to_run"]) == (runs[1], runs[2])
        (a23,) = d23["accounts"]
        assert a23["new_failures"] == []
        resolved = _failures(a23, "resolved_failures")
        assert resolved == {f for f in new12 if f[1] == bucket}, resolved
        assert a23["persisting_failures_count"] == failures[2]
        assert a23["score_changes"]["CIS"]["delta"] == round(s3_ - s2, 1)

        listed = _call(url, "list_accounts", {})
        assert listed["latest_run"] == runs[2]
        (entry,) = listed["accounts"]
        assert entry["account_id"] == ACCOUNT_A and entry["name"] == "drift-test"
        assert entry["scores"]["CIS"] == s3_

        report = _call(url, "generate_security_report", {"report_type": "technical", "format": "markdown"})
        text = Path(report["link"]).read_text()
        assert report["run_id"] == runs[2] and "`iam.password_min_length`" in text
        assert "`s3.bucket_not_public`" not in text and "`s3.tls_only`" in text

        # Long work through MCP: the run id comes back at once; progress is visible while it runs.
        started = _call(url, "assess_security_posture", {"scope": "organization", "target": "all", "freshness": "live"})
        assert started["state"] == "QUEUED"
        seen = _follow(url, started["run_id"])
        assert seen[-1][0] == "COMPLETE", seen
        assert any(state == "RUNNING" and 0 < done < total for (state, done, total, _) in seen), seen
        assert seen[-1][1:] == (2, 2, 100.0), seen
        assert _call(url, "list_accounts", {})["latest_run"] == started["run_id"]
        print(f"org-wide moto run via MCP, states seen: {seen}")


@pytest.mark.timeout(120)
def test_org_assessment_of_the_demo_returns_a_run_id_at_once_and_completes() -> None:
    with serve() as server:
        url = server.expected_url
        started_at = time.monotonic()
        started = _call(url, "assess_security_posture", {"scope": "organization", "target": "all", "freshness": "live"})
        assert started["state"] == "QUEUED" and started["status_tool"] == "get_assessment_status"
        seen = _follow(url, started["run_id"])
        assert seen[-1] == ("COMPLETE", 3, 3, 100.0), seen
        status = _call(url, "get_assessment_status", {"run_id": started["run_id"]})
        assert status["summary"]["accounts"] == 3
        assert {r["name"] for r in status["reports"]} == {"report.json", "report.md", "report.html"}
        print(f"org-wide demo run via MCP: {len(seen)} status polls, {time.monotonic() - started_at:.2f} s; states {seen}")

        bad = None

        async def refused() -> None:
            nonlocal bad
            async with Client(url) as client:
                bad = await client.call_tool("assess_security_posture", {"scope": "organization", "target": "123456789012"})

        anyio.run(refused)
        assert bad is not None and bad.is_error
        assert bad.structured_content["error_type"] == "ValidationError"
        assert bad.structured_content["context"]["field"] == "target"
