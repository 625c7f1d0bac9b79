"""Issue 13: posture answers for the whole organization from the latest complete run, through a
real MCP client (the Python SDK) against the unchanged `mcp-server` binary.

A moto organization with three members: A leaves a bucket public (and Security Hub reports it),
B has a console user without MFA (and Security Hub reports that user exfiltrating), C's role refuses
the collector (the gate answers its AssumeRole as STS would). One run of the
`assessor` binary (AWS mode, DynamoDB + S3 store) later, `check_compliance_status` names each
member's planted failures with its account id, says which run it stands on, lists C as a gap, and
makes no AWS inventory call (every request the server sends passes the gate and is counted).
`analyze_security_findings` reads the same run: each member's findings under its account id, filters
by account, region, resource, principal and type, and says which accounts and regions it covered.
The run records each member's OU path (A in Workloads/Prod, B in Workloads), which every posture tool
selects by; and `freshness: live` with `account_ids` collects those members now through their role.

And one definition of every score: for the same run, check_compliance_status, assess_security_posture,
get_posture_history's last point, list_accounts and the report agree to the decimal, for the
organization and each account, on moto and on the demo organization.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from aws_gate import Gate
from conftest import serve
from test_aws_posture import _call, _free_port, _server_env, _session

TABLE, BUCKET, EXTERNAL_ID = "posture-org", "posture-org-reports", "posture-serving-test"
RUN_ID = "20261205T060000Z-serving"
PUBLIC_BUCKET = "member-a-public-assets"
NO_MFA_USER = "member-b-console-no-mfa"


@pytest.fixture(scope="module")
def org_moto() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{server._port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()
    try:
        yield endpoint
    finally:
        # moto's accounts live in this process: leave none to the next module's server.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=30).close()
        server.stop()


def _member(endpoint: str, account: str):
    sts = _session(endpoint)("sts")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="admin")["Credentials"]
    return _session(endpoint, {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                               "aws_session_token": c["SessionToken"]})


def _organization(endpoint: str) -> list[str]:
    orgs = _session(endpoint)("organizations")
    orgs.create_organization(FeatureSet="ALL")
    members = []
    for name in ("member-a", "member-b", "member-c"):
        status = orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        members.append(status["AccountId"])
    # Workloads/Prod holds A, Workloads B; C stays under the root.
    root = orgs.list_roots()["Roots"][0]["Id"]
    workloads = orgs.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    prod = orgs.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
    orgs.move_account(AccountId=members[0], SourceParentId=root, DestinationParentId=prod)
    orgs.move_account(AccountId=members[1], SourceParentId=root, DestinationParentId=workloads)
    a, b, _ = (_member(endpoint, m) for m in members)
    s3 = a("s3")
    s3.create_bucket(Bucket=PUBLIC_BUCKET)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{PUBLIC_BUCKET}/*"}]}
    s3.put_bucket_policy(Bucket=PUBLIC_BUCKET, Policy=json.dumps(policy))
    iam = b("iam")
    iam.create_user(UserName=NO_MFA_USER)
    iam.create_login_profile(UserName=NO_MFA_USER, Password="Correct-Horse-Battery-9!")
    a("securityhub").batch_import_findings(Findings=[_finding(members[0], "exposed-bucket", "HIGH", "TTPs/Initial Access/Exposed bucket",
                                                            {"Type": "AwsS3Bucket", "Id": f"arn:aws:s3:::{PUBLIC_BUCKET}"})])
    b("securityhub").batch_import_findings(Findings=[_finding(members[1], "exfiltration", "CRITICAL", "Effects/Data Exfiltration",
                                                            {"Type": "AwsIamUser", "Id": f"arn:aws:iam::{members[1]}:user/{NO_MFA_USER}"})])
    admin = _session(endpoint)
    ddb = admin("dynamodb")
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    admin("s3").create_bucket(Bucket=BUCKET)
    return members


def _finding(account: str, name: str, label: str, kind: str, resource: dict[str, str]) -> dict[str, Any]:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {"SchemaVersion": "2018-10-08", "Id": f"{account}/{name}", "GeneratorId": f"planted/{name}", "AwsAccountId": account,
            "ProductArn": f"arn:aws:securityhub:us-east-1:{account}:product/{account}/default", "Types": [kind],
            "CreatedAt": now, "UpdatedAt": now, "FirstObservedAt": now, "LastObservedAt": now, "Severity": {"Label": label},
            "Title": f"planted {name}", "Description": f"planted {name} in {account}", "Region": "us-east-1",
            "Resources": [{**resource, "Region": "us-east-1"}], "RecordState": "ACTIVE", "Workflow": {"Status": "NEW"}}


def assert_findings_across_the_org(url: str, gate: Gate, a: str, b: str, c: str) -> None:
    """analyze_security_findings answers for every member from the run, filtered as asked, without reading AWS."""
    org = _call(url, "analyze_security_findings", {})
    assert gate.take_calls() == {}, "the findings came from the kept run"
    assert org["as_of"]["run_id"] == RUN_ID and [m["account_id"] for m in org["as_of"]["missing_accounts"]] == [c]
    coverage = org["coverage"]
    assert coverage["view"] == "latest_run"
    assert {x["account_id"]: x["regions"] for x in coverage["accounts"]} == {a: ["us-east-1"], b: ["us-east-1"]}, coverage
    assert org["threat_landscape"]["account_counts"] == {a: 1, b: 1}, org["threat_landscape"]
    listed = {f["finding_id"]: f["account_id"] for f in org["high_risk_findings"]}
    assert listed == {f"{a}/exposed-bucket": a, f"{b}/exfiltration": b}, listed

    def ids(**arguments: Any) -> list[str]:
        return sorted(f["finding_id"] for f in _call(url, "analyze_security_findings", arguments)["high_risk_findings"])

    assert ids(account_ids=[a]) == [f"{a}/exposed-bucket"]
    assert ids(resource=PUBLIC_BUCKET) == [f"{a}/exposed-bucket"]
    assert ids(resource=f"arn:aws:s3:::{PUBLIC_BUCKET}") == [f"{a}/exposed-bucket"]
    assert ids(principal=f"arn:aws:iam::{b}:user/{NO_MFA_USER}") == [f"{b}/exfiltration"]
    assert ids(finding_types=["Effects/"]) == [f"{b}/exfiltration"]
    assert ids(regions=["us-east-1"], severity_threshold="CRITICAL") == [f"{b}/exfiltration"]
    one = _call(url, "analyze_security_findings", {"max_findings": 1})
    assert one["threat_landscape"]["total_threats"] == 2 and one["coverage"]["findings_analyzed"] == 1, one["coverage"]
    assert one["coverage"]["truncated_at_max_findings"] is True


def assert_organizational_units_select(url: str, a: str, b: str, c: str) -> None:
    """The run records each account's OU path; organizational_unit selects a unit and its children."""
    listed = {x["account_id"]: [u["name"] for u in x["ou_path"]] for x in _call(url, "list_accounts", {})["accounts"]}
    assert listed == {a: ["Workloads", "Prod"], b: ["Workloads"], c: []}, listed
    prod_id = next(x for x in _call(url, "list_accounts", {})["accounts"] if x["account_id"] == a)["ou_path"][1]["id"]

    def accounts(**arguments: Any) -> list[str]:
        answer = _call(url, "check_compliance_status", {"framework": "CIS", "generate_report": False, **arguments})
        return sorted(x["account_id"] for x in answer["account_scores"])

    assert accounts(organizational_unit="Workloads") == sorted([a, b])
    assert accounts(organizational_unit="Workloads/Prod") == [a]
    assert accounts(organizational_unit=prod_id) == [a]
    assert accounts(organizational_unit="Workloads", account_ids=[b]) == [b]
    findings = _call(url, "analyze_security_findings", {"organizational_unit": "Prod"})
    assert [f["account_id"] for f in findings["high_risk_findings"]] == [a]
    refused = _call_error(url, "check_compliance_status", {"framework": "CIS", "organizational_unit": "Sandbox"})
    assert refused["error_type"] == "ValidationError" and "Workloads/Prod" in refused["detail"], refused
    stray = _call_error(url, "check_compliance_status", {"framework": "CIS", "organizational_unit": "Workloads",
                                                         "account_ids": [a, "000000000000"]})
    assert stray["context"]["field"] == "account_ids" and "000000000000" in stray["detail"], stray
    live = _call_error(url, "check_compliance_status", {"framework": "CIS", "organizational_unit": "Prod", "freshness": "live"})
    assert live["context"]["field"] == "organizational_unit", live

    s3 = _call(url, "check_compliance_status", {"framework": "CIS", "services": ["S3"]})
    ids = [r["control_id"] for r in s3["control_results"]]
    assert "2.1.4" in ids and "1.10" not in ids and len(ids) < 20, ids
    assert f"{a}/{PUBLIC_BUCKET}" in {r["control_id"]: r for r in s3["control_results"]}["2.1.4"]["failing_resources"]
    unknown = _call_error(url, "check_compliance_status", {"framework": "CIS", "services": ["Lambdaa"]})
    assert unknown["context"]["field"] == "services" and "S3" in unknown["detail"], unknown


def assert_members_are_collected_live(url: str, gate: Gate, a: str, b: str, c: str) -> None:
    """freshness live with account_ids collects those members now through their role, once per TTL."""
    live = _call(url, "check_compliance_status", {"framework": "CIS", "freshness": "live", "account_ids": [a, c]})
    calls = gate.take_calls()
    assert ("sts", "AssumeRole") in calls and any(service == "s3" for service, _ in calls), calls
    as_of = live["as_of"]
    assert as_of["basis"] == "live" and [x["account_id"] for x in as_of["accounts"]] == [a], as_of
    (missing,) = as_of["missing_accounts"]
    assert missing["account_id"] == c and "AccessDenied" in missing["gap"], missing
    by_control = {r["control_id"]: r for r in live["control_results"]}
    assert f"{a}/{PUBLIC_BUCKET}" in by_control["2.1.4"]["failing_resources"], by_control["2.1.4"]

    again = _call(url, "check_compliance_status", {"framework": "CIS", "freshness": "live", "account_ids": [a]})
    assert gate.take_calls() == {}, "a's collection is kept for the live TTL"
    assert [x["collected_at"] for x in again["as_of"]["accounts"]] == [x["collected_at"] for x in as_of["accounts"]]

    findings = _call(url, "analyze_security_findings", {"freshness": "live", "account_ids": [b]})
    assert findings["coverage"]["view"] == "live" and [x["account_id"] for x in findings["coverage"]["accounts"]] == [b]
    assert [f["finding_id"] for f in findings["high_risk_findings"]] == [f"{b}/exfiltration"]

    refused = _call_error(url, "check_compliance_status", {"framework": "CIS", "freshness": "live", "account_ids": [c]})
    assert refused["error_type"] == "ServiceError" and c in refused["detail"], refused
    gate.take_calls()


def _call_error(url: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return _call(url, name, arguments, is_error=True)


def _assessor_binary() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/posture-advisor/target")
    return Path(os.environ.get("POSTURE_ASSESSOR_BIN") or Path(target) / "debug" / "assessor")


def _account(report: dict[str, Any], account: str) -> dict[str, Any]:
    (entry,) = [a for a in report["account_scores"] if a["account_id"] == account]
    return entry


def assert_scores_agree(url: str, framework: str = "CIS") -> dict[str, Any]:
    """Every tool gives the same score for the organization and for each account, to the decimal."""
    cc = _call(url, "check_compliance_status", {"framework": framework, "generate_report": False})
    run = cc["as_of"]["run_id"]
    assert cc["as_of"]["basis"] == "run" and run, cc["as_of"]
    org = cc["overall_compliance_score"]
    assert org is not None
    passed = sum(a["counts"]["passed"] for a in cc["account_scores"])
    failed = sum(a["counts"]["failed"] for a in cc["account_scores"])
    assert org == round(passed * 100 / (passed + failed), 1), "pooled over the accounts"

    assessed = _call(url, "assess_security_posture", {"scope": "organization", "target": "all", "frameworks": [framework]})
    assert assessed["as_of"]["run_id"] == run
    assert assessed["compliance_status"][framework]["overall_score"] == org
    history = _call(url, "get_posture_history", {"framework": framework, "days": 30})
    assert history["organization"][-1]["run_id"] == run and history["organization"][-1]["score"] == org
    report = _call(url, "generate_security_report", {"report_type": "executive", "format": "json"})
    assert report["run_id"] == run and report["summary"]["scores"][framework] == org

    listed = {a["account_id"]: a for a in _call(url, "list_accounts", {})["accounts"]}
    for entry in cc["account_scores"]:
        account, score = entry["account_id"], entry["score"]
        assert listed[account]["scores"][framework] == score, account
        one = _call(url, "check_compliance_status", {"framework": framework, "account_ids": [account], "generate_report": False})
        assert one["overall_compliance_score"] == score and [a["account_id"] for a in one["account_scores"]] == [account]
        scoped = _call(url, "assess_security_posture", {"scope": "account", "target": account, "frameworks": [framework]})
        assert scoped["compliance_status"][framework]["overall_score"] == score, account
        points = _call(url, "get_posture_history", {"account_id": account, "framework": framework, "days": 30})["account"]
        assert points[-1]["run_id"] == run and points[-1]["score"] == score, account
        own = _call(url, "generate_security_report", {"report_type": "executive", "format": "json", "account_id": account})
        assert own["summary"]["scores"][framework] == score, account
    return cc


@pytest.mark.timeout(300)
def test_the_org_is_answered_from_the_latest_run_without_reading_aws(org_moto: str) -> None:
    members = _organization(org_moto)
    a, b, c = members
    gate = Gate(org_moto, refused_accounts={c})
    try:
        env = _server_env(gate.endpoint, {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"})
        env.update(POSTURE_TABLE=TABLE, POSTURE_BUCKET=BUCKET, POSTURE_BUCKET_PREFIX="org/", POSTURE_EXTERNAL_ID=EXTERNAL_ID,
                   POSTURE_REGIONS="us-east-1", POSTURE_INCLUDE_ACCOUNTS=",".join(members), POSTURE_CONCURRENCY="3")
        env.pop("POSTURE_DATA_DIR", None)
        done = subprocess.run([str(_assessor_binary()), "--run-id", RUN_ID], env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout)["outcome"] == "completed", done.stdout
        collected = gate.take_calls()
        assert any(service == "iam" for service, _ in collected), collected

        with serve(demo=False, env=env) as server:
            url = server.expected_url
            gate.take_calls()
            cc = _call(url, "check_compliance_status", {"framework": "CIS"})
            calls = gate.take_calls()
            # Only the store was read: the latest-run pointer and each member's collection.
            assert {service for service, _ in calls} <= {"dynamodb", "s3"}, calls
            assert sum(n for (service, _), n in calls.items() if service == "s3") == 2, calls

            as_of = cc["as_of"]
            assert as_of["basis"] == "run" and as_of["run_id"] == RUN_ID, as_of
            assert sorted(x["account_id"] for x in as_of["accounts"]) == sorted([a, b])
            assert all(x["age_seconds"] >= 0 for x in as_of["accounts"])
            (missing,) = as_of["missing_accounts"]
            assert missing["account_id"] == c and "AccessDenied" in missing["gap"], missing
            assert sorted(cc["accounts"]) == sorted([a, b])

            by_control = {r["control_id"]: r for r in cc["control_results"]}
            assert f"{a}/{PUBLIC_BUCKET}" in by_control["2.1.4"]["failing_resources"], by_control["2.1.4"]
            assert any(r.startswith(f"{b}/") and NO_MFA_USER in r for r in by_control["1.10"]["failing_resources"]), by_control["1.10"]
            assert "2.1.4" in _account(cc, a)["failed_controls"] and "1.10" not in _account(cc, a)["failed_controls"]
            assert "1.10" in _account(cc, b)["failed_controls"]
            # Each member on its own: its planted failure, under its account id, and not the other's.
            only_a = {r["control_id"]: r for r in _call(url, "check_compliance_status", {"framework": "CIS", "account_ids": [a]})["control_results"]}
            assert f"{a}/{PUBLIC_BUCKET}" in only_a["2.1.4"]["failing_resources"] and only_a["1.10"]["status"] != "FAILED"
            only_b = {r["control_id"]: r for r in _call(url, "check_compliance_status", {"framework": "CIS", "account_ids": [b]})["control_results"]}
            assert any(NO_MFA_USER in r for r in only_b["1.10"]["failing_resources"])
            assert not any(PUBLIC_BUCKET in r for r in only_b["2.1.4"]["failing_resources"])
            text_lines = "\n".join(server_text(url))
            assert RUN_ID in text_lines and c in text_lines

            # Asked again within the re-check interval: no AWS request at all.
            _call(url, "check_compliance_status", {"framework": "CIS"})
            assert gate.take_calls() == {}, "the second answer came from the kept run"

            assert_scores_agree(url)
            gate.take_calls()
            assert_findings_across_the_org(url, gate, a, b, c)
            assert_organizational_units_select(url, a, b, c)
            assert_members_are_collected_live(url, gate, a, b, c)
            print(f"moto org served from run {RUN_ID}: CIS {cc['overall_compliance_score']} "
                  f"({[(x['account_id'], x['score']) for x in cc['account_scores']]}); first call's AWS requests: {dict(calls)}")
    finally:
        gate.stop()


def server_text(url: str) -> list[str]:
    import anyio
    from mcp import Client

    async def main() -> list[str]:
        async with Client(url) as client:
            result = await client.call_tool("check_compliance_status", {"framework": "CIS"})
            return [c.text for c in result.content if getattr(c, "type", "") == "text"]

    return anyio.run(main)


@pytest.mark.timeout(120)
def test_every_tool_gives_the_demo_organization_the_same_scores() -> None:
    with serve() as server:
        cc = assert_scores_agree(server.expected_url)
        assert len(cc["account_scores"]) == 3
        # Pooled, not the score of the merged requirement verdicts.
        assert cc["overall_compliance_score"] != round(cc["counts"]["passed"] * 100 / (cc["counts"]["passed"] + cc["counts"]["failed"]), 1)


@pytest.mark.timeout(120)
def test_reports_are_mcp_resources() -> None:
    import anyio
    from mcp import Client

    with serve() as server:
        url = server.expected_url
        generated = _call(url, "generate_security_report", {"report_type": "technical", "format": "markdown"})
        run = generated["run_id"]
        assert generated["uri"] == f"posture://reports/{run}/technical.md"
        assert generated["content"].startswith("#") and generated["content_omitted"] is None
        account = _call(url, "list_accounts", {})["accounts"][0]["account_id"]

        async def main() -> None:
            async with Client(url) as client:
                listed = await client.list_resources()
                uris = {str(r.uri): r for r in listed.resources}
                for kind, ext, mime in (("executive", "md", "text/markdown"), ("executive", "html", "text/html"),
                                        ("executive", "json", "application/json"), ("technical", "md", "text/markdown"),
                                        ("compliance", "json", "application/json")):
                    uri = f"posture://reports/{run}/{kind}.{ext}"
                    assert uri in uris and uris[uri].mime_type.startswith(mime), (uri, sorted(uris))
                assert f"posture://reports/{run}/technical.html" not in uris, "html is the executive report only"
                templates = await client.list_resource_templates()
                assert {t.uri_template for t in templates.resource_templates} == {
                    "posture://reports/{run_id}/{kind}.{format}",
                    "posture://reports/{run_id}/accounts/{account_id}/{kind}.{format}",
                    "posture://accounts/{account_id}/snapshot",
                    "posture://frameworks/{short_name}",
                    "posture://exports/{run_id}/{account_id}.{format}",
                }
                # The organization, its frameworks and checks, the configuration.
                for fixed in ("posture://accounts", "posture://frameworks", "posture://frameworks/CIS", "posture://checks",
                              "posture://server/configuration"):
                    assert fixed in uris and uris[fixed].mime_type == "application/json", (fixed, sorted(uris))
                org = json.loads((await client.read_resource("posture://accounts")).contents[0].text)
                assert org["run_id"] == run and len(org["accounts"]) == 3, org
                assessed = [a for a in org["accounts"] if a["outcome"] == "ASSESSED"]
                assert assessed and all(a["regions"] and a["snapshot"] for a in assessed), org
                assert any(a["ou_path"] for a in org["accounts"]), "the demo's accounts sit in OUs"
                snap = json.loads((await client.read_resource(assessed[0]["snapshot"])).contents[0].text)
                assert snap["account_id"] == assessed[0]["account_id"] and snap["run_id"] == run and "CIS" in snap["frameworks"], snap
                cis = json.loads((await client.read_resource("posture://frameworks/CIS")).contents[0].text)
                assert cis["short_name"] == "CIS" and len(cis["requirements"]) >= 50, len(cis["requirements"])
                checks = json.loads((await client.read_resource("posture://checks")).contents[0].text)["checks"]
                assert len(checks) >= 79 and {"id", "service", "severity"} <= set(checks[0]), checks[0]
                config = json.loads((await client.read_resource("posture://server/configuration")).contents[0].text)
                assert config["data_source"] == "demo" and config["aws_explorer"] is False and config["read_only"] is True, config
                read = await client.read_resource(generated["uri"])
                (content,) = read.contents
                assert content.text == generated["content"], "the resource is the report the tool returned"
                as_json = json.loads((await client.read_resource(f"posture://reports/{run}/executive.json")).contents[0].text)
                assert run in json.dumps(as_json)
                one = await client.read_resource(f"posture://reports/{run}/accounts/{account}/technical.md")
                assert account in one.contents[0].text
                for bad in (f"posture://reports/{run}/technical.html", "posture://reports/not-a-run/executive.md",
                            "https://example.com/x", f"posture://reports/{run}/accounts/999999999999/executive.md"):
                    try:
                        await client.read_resource(bad)
                    except Exception as e:  # the SDK raises the JSON-RPC error
                        assert "posture://" in str(e) or "not" in str(e), (bad, e)
                    else:
                        raise AssertionError(f"{bad} was read")

        anyio.run(main)
        # Each read is audited like a tool call, refused ones with their error.
        server.stderr_file.seek(0)
        audit = [json.loads(line)["fields"] for line in server.stderr_file if '"target":"audit"' in line]
        reads = [a for a in audit if a.get("tool") == "resources/read"]
        assert {a["outcome"] for a in reads} == {"ok", "error"}, reads
        assert any(a["outcome"] == "ok" and generated["uri"] in a["arguments"] for a in reads), reads


def _post(url: str, body: Any, version: str = "2025-11-25") -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "content-type": "application/json", "accept": "application/json, text/event-stream",
        "mcp-protocol-version": version})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def test_kept_answers_reach_single_and_batched_requests_whole() -> None:
    """A kept answer is spliced into the response as bytes: single and batched requests get the same
    structured content as the answer computed for the first call, with their own as_of."""
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "check_compliance_status", "arguments": {"framework": "CIS"}}}
    with serve() as server:
        url = server.expected_url
        first = _post(url, call)["result"]["structuredContent"]
        single = _post(url, call)["result"]["structuredContent"]
        # Batches are a 2025-03-26 feature.
        batch = _post(url, [dict(call, id=7), {"jsonrpc": "2.0", "id": 8, "method": "ping"}], "2025-03-26")
    batched = next(m for m in batch if m["id"] == 7)["result"]["structuredContent"]
    for answer in (single, batched):
        assert set(answer) == set(first) and "as_of" in answer and len(answer["control_results"]) > 10
        assert {k: v for k, v in answer.items() if k != "as_of"} == {k: v for k, v in first.items() if k != "as_of"}
        assert answer["as_of"]["run_id"] == first["as_of"]["run_id"]
    assert not any("posture-splice" in json.dumps(m) for m in batch), "no marker is left in a response"
