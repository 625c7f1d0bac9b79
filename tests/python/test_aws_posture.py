"""Issue 4, must-show 3: the unchanged `mcp-server` binary in AWS mode against moto on 127.0.0.1.

Account A (moto's default 123456789012) is seeded with planted misconfigurations beside clean
counterparts: a public bucket and a private one, no password policy, a trail without log file
validation and one with it, a security group open on 22 to the world and one open to 10.0.0.0/8
only, EBS encryption by default off in us-east-1 and on in eu-west-1, a console user without MFA and
one with it, a KMS key without rotation and one with it. Account B (222222222222, reached through
an STS role session, as moto scopes resources by the credentials' account) holds the clean
counterparts of the account-wide settings: a strict password policy and account-level Block Public
Access. A real MCP client (the Python SDK) then calls `check_compliance_status` and
`assess_security_posture`: every planted issue must be FAILED and every clean resource PASSED.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import anyio
import boto3
import pytest
from botocore.config import Config
from mcp import Client
from moto.server import ThreadedMotoServer

from conftest import serve

ACCOUNT_A = "123456789012"
ACCOUNT_B = "222222222222"
REGIONS = ["us-east-1", "eu-west-1"]
PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::planted-public-data/*"}],
}
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _session(endpoint: str, creds: dict[str, str] | None = None, region: str = "us-east-1"):
    creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    session = boto3.session.Session(region_name=region, **creds)
    config = Config(s3={"addressing_style": "path"})
    return lambda service, r=region: session.client(service, endpoint_url=endpoint, region_name=r, config=config)


def _account_b_credentials(endpoint: str) -> dict[str, str]:
    sts = _session(endpoint)("sts")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_B}:role/posture-audit", RoleSessionName="posture-test")["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"], "aws_session_token": c["SessionToken"]}


def _seed_account_a(endpoint: str) -> dict[str, str]:
    """Plants the misconfigurations and their clean counterparts; returns the generated ids."""
    client = _session(endpoint)
    s3 = client("s3")
    for bucket in ("planted-public-data", "clean-private-data", "trail-logs"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket="planted-public-data", Policy=json.dumps(PUBLIC_READ))
    for bucket in ("clean-private-data", "trail-logs"):
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_ON)

    iam = client("iam")
    for user in ("planted-no-mfa", "clean-with-mfa"):
        iam.create_user(UserName=user)
        iam.create_login_profile(UserName=user, Password="Correct-Horse-Battery-9!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="clean-with-mfa")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="clean-with-mfa", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")

    cloudtrail = client("cloudtrail")
    cloudtrail.create_trail(Name="planted-no-validation", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    cloudtrail.create_trail(Name="clean-validated", S3BucketName="trail-logs", IsMultiRegionTrail=True, EnableLogFileValidation=True)
    for trail in ("planted-no-validation", "clean-validated"):
        cloudtrail.start_logging(Name=trail)

    ids: dict[str, str] = {}
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    for name, cidr in (("planted-ssh-open", "0.0.0.0/0"), ("clean-ssh-internal", "10.0.0.0/8")):
        sg = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}]
        )
        ids[name] = sg
    ec2.disable_ebs_encryption_by_default()
    client("ec2", "eu-west-1").enable_ebs_encryption_by_default()

    rds = client("rds")
    # The clean database also has every setting AWS FSBP asks of an instance (RDS.5-RDS.25); the
    # planted one has RDS's defaults: the `admin` user on port 5432, one day of backups, nothing else.
    clean_settings = dict(
        MasterUsername="ledger_admin", Port=6543, DeletionProtection=True, MultiAZ=True, CopyTagsToSnapshot=True,
        BackupRetentionPeriod=10, EnableIAMDatabaseAuthentication=True, MonitoringInterval=60,
        MonitoringRoleArn=f"arn:aws:iam::{ACCOUNT_A}:role/rds-monitoring",
    )
    for name, private in (("planted-public-db", False), ("clean-private-db", True)):
        rds.create_db_instance(
            DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
            MasterUserPassword="Correct-Horse-Battery-9", AllocatedStorage=20,
            StorageEncrypted=private, PubliclyAccessible=not private, AutoMinorVersionUpgrade=private,
            **(clean_settings if private else {"MasterUsername": "admin"}),
        )
    efs = client("efs")
    ids["planted-unencrypted-fs"] = efs.create_file_system(CreationToken="planted", Encrypted=False)["FileSystemId"]
    ids["clean-encrypted-fs"] = efs.create_file_system(CreationToken="clean", Encrypted=True)["FileSystemId"]

    kms = client("kms")
    ids["planted-unrotated-key"] = kms.create_key(Description="planted")["KeyMetadata"]["KeyId"]
    ids["clean-rotated-key"] = kms.create_key(Description="clean")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=ids["clean-rotated-key"])
    return ids


def _seed_account_b(endpoint: str, creds: dict[str, str]) -> None:
    client = _session(endpoint, creds)
    client("iam").update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        PasswordReusePrevention=24,
    )
    s3control = client("s3control")
    # S3 Control's endpoint rules put the account id in front of the host, which cannot
    # resolve in front of an IP address: send the request to moto's address itself.
    s3control.meta.events.register(
        "before-sign.s3-control.*", lambda request, **_: setattr(request, "url", request.url.replace(f"//{ACCOUNT_B}.", "//"))
    )
    s3control.put_public_access_block(AccountId=ACCOUNT_B, PublicAccessBlockConfiguration=ALL_ON)


def _server_env(endpoint: str, creds: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID=creds["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=creds["aws_secret_access_key"],
        AWS_EC2_METADATA_DISABLED="true",
        POSTURE_REGIONS=",".join(REGIONS),
        RUST_LOG="warn",
    )
    if "aws_session_token" in creds:
        env["AWS_SESSION_TOKEN"] = creds["aws_session_token"]
    env.pop("POSTURE_DEMO", None)
    return env


def _call(url: str, name: str, arguments: dict[str, Any], is_error: bool = False) -> dict[str, Any]:
    """The structured content of a tool call that succeeds (or, with is_error, fails)."""
    async def main() -> dict[str, Any]:
        async with Client(url, read_timeout_seconds=120) as client:
            result = await client.call_tool(name, arguments)
            assert result.is_error is is_error, f"{name}: {result.structured_content or result.content}"
            return result.structured_content

    return anyio.run(main)


@pytest.fixture(scope="module")
def seeded(moto: str):
    ids = _seed_account_a(moto)
    b = _account_b_credentials(moto)
    _seed_account_b(moto, b)
    a = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return {"ids": ids, "a": a, "b": b}


def _outcomes(report: dict[str, Any], control: str, check: str) -> dict[str, tuple[str, str | None]]:
    """resource -> (status, region) of one native check's evidence for one control."""
    return {
        e["details"]["resource"]: (e["details"]["status"], e["details"]["region"])
        for e in report["evidence"]
        if e["control_id"] == control and e["source"] == check
    }


def _control(report: dict[str, Any], control: str) -> dict[str, Any]:
    [result] = [c for c in report["control_results"] if c["control_id"] == control]
    return result


# Failed check -> number of failing resources it must report (the planted ones only).
PLANTED_BY_SERVICE = {
    "IAM": {"iam.password_min_length": 1, "iam.password_reuse": 1, "iam.console_users_mfa": 1},
    "S3": {"s3.bucket_not_public": 1, "s3.bucket_public_access_block": 1, "s3.account_public_access_block": 1},
    "CloudTrail": {"cloudtrail.log_file_validation": 1},
    "EC2": {"ec2.sg_admin_ports_ipv4": 1, "ec2.ebs_default_encryption": 1},
    "KMS": {"kms.key_rotation": 1},
    "RDS": {"rds.storage_encrypted": 1, "rds.auto_minor_version_upgrade": 1, "rds.not_publicly_accessible": 1},
    "EFS": {"efs.encrypted": 1},
}
CIS_CONTROLS = ["1.8", "1.9", "1.10", "2.1.4", "2.2.1", "2.3.1", "2.3.2", "2.3.3", "2.4.1", "3.2", "3.6", "5.2"]


@pytest.mark.timeout(240)
def test_planted_misconfigurations_fail_and_clean_counterparts_pass(moto: str, seeded) -> None:
    ids = seeded["ids"]
    with serve(demo=False, env=_server_env(moto, seeded["a"])) as server:
        url = server.expected_url
        cis = _call(url, "check_compliance_status", {"framework": "CIS", "control_ids": CIS_CONTROLS, "include_evidence": True})
        nist = _call(url, "check_compliance_status", {"framework": "NIST", "control_ids": ["AC-3"], "include_evidence": True})
        assessed = _call(url, "assess_security_posture", {"scope": "account", "target": ACCOUNT_A, "frameworks": ["CIS"]})
        by_service = {
            service: _call(url, "assess_security_posture", {"scope": "service", "target": service, "frameworks": ["CIS"], "severity_threshold": "LOW"})
            for service in PLANTED_BY_SERVICE
        }
    assert cis["data_sources"]["inventory_error"] is None
    assert cis["accounts"] == [ACCOUNT_A]
    a = lambda r: f"{ACCOUNT_A}/{r}"  # noqa: E731 - resources are named account/resource

    # Every planted control is FAILED; each planted resource FAILs and each clean one PASSes.
    for control in CIS_CONTROLS:
        assert _control(cis, control)["status"] == "FAILED", (control, _control(cis, control))
    assert _outcomes(cis, "1.8", "iam.password_min_length") == {f"account {ACCOUNT_A}": ("FAIL", None)}
    assert _outcomes(cis, "1.9", "iam.password_reuse") == {f"account {ACCOUNT_A}": ("FAIL", None)}
    users = _outcomes(cis, "1.10", "iam.console_users_mfa")
    assert users == {a("planted-no-mfa"): ("FAIL", None), a("clean-with-mfa"): ("PASS", None)}
    buckets = _outcomes(cis, "2.1.4", "s3.bucket_public_access_block")
    assert buckets[a("planted-public-data")][0] == "FAIL"
    assert buckets[a("clean-private-data")][0] == "PASS"
    assert _outcomes(cis, "2.1.4", "s3.account_public_access_block") == {f"account {ACCOUNT_A}": ("FAIL", None)}
    ebs = sorted((e["details"]["region"], e["details"]["status"]) for e in cis["evidence"] if e["source"] == "ec2.ebs_default_encryption")
    assert ebs == [("eu-west-1", "PASS"), ("us-east-1", "FAIL")]
    trails = _outcomes(cis, "3.2", "cloudtrail.log_file_validation")
    assert trails == {a("planted-no-validation"): ("FAIL", "us-east-1"), a("clean-validated"): ("PASS", "us-east-1")}
    keys = _outcomes(cis, "3.6", "kms.key_rotation")
    assert keys[a(ids["planted-unrotated-key"])] == ("FAIL", "us-east-1")
    assert keys[a(ids["clean-rotated-key"])] == ("PASS", "us-east-1")
    groups = _outcomes(cis, "5.2", "ec2.sg_admin_ports_ipv4")
    assert groups[a(ids["planted-ssh-open"])] == ("FAIL", "us-east-1")
    assert groups[a(ids["clean-ssh-internal"])] == ("PASS", "us-east-1")
    assert [g for g, (s, _) in groups.items() if s == "FAIL"] == [a(ids["planted-ssh-open"])]

    for control, check in (("2.3.1", "rds.storage_encrypted"), ("2.3.2", "rds.auto_minor_version_upgrade"),
                           ("2.3.3", "rds.not_publicly_accessible")):
        assert _outcomes(cis, control, check) == {a("planted-public-db"): ("FAIL", "us-east-1"), a("clean-private-db"): ("PASS", "us-east-1")}
    assert _outcomes(cis, "2.4.1", "efs.encrypted") == {
        a(ids["planted-unencrypted-fs"]): ("FAIL", "us-east-1"),
        a(ids["clean-encrypted-fs"]): ("PASS", "us-east-1"),
    }

    # The account's own compliance tooling, per region. moto has no Security Hub standards API and
    # no Config compliance API: those parts are unknown with the reason, never shown as empty.
    tooling = {(t["account_id"], t["region"]): t for t in cis["data_sources"]["aws_tooling"]}
    assert set(tooling) == {(ACCOUNT_A, r) for r in REGIONS}
    for t in tooling.values():
        assert t["securityhub_standards"] is None and t["config_rules"] is None, t
        assert any(g.startswith("Security Hub standards: securityhub:GetEnabledStandards") for g in t["gaps"]), t
        assert any(g.startswith("AWS Config rules: config:DescribeComplianceByConfigRule") for g in t["gaps"]), t

    # The public bucket is public; the private one is not.
    public = _outcomes(nist, "AC-3", "s3.bucket_not_public")
    assert public[a("planted-public-data")][0] == "FAIL"
    assert public[a("clean-private-data")][0] == "PASS"

    # assess_security_posture (at most 10 top findings per call, so once per service) reports
    # each planted issue as a failed check on exactly the planted resources.
    cis_status = assessed["compliance_status"]["CIS"]
    assert cis_status["status"] == "NON_COMPLIANT"
    assert cis_status["failed_controls"] >= len(CIS_CONTROLS)
    for service, planted in PLANTED_BY_SERVICE.items():
        top = {t["finding_id"]: t for t in by_service[service]["top_findings"]}
        for check, count in planted.items():
            assert f"check:{check}" in top, (service, check, sorted(top))
            assert top[f"check:{check}"]["resource_count"] == count, (check, top[f"check:{check}"])


@pytest.mark.timeout(240)
def test_clean_account_settings_pass(moto: str, seeded) -> None:
    with serve(demo=False, env=_server_env(moto, seeded["b"])) as server:
        cis = _call(server.expected_url, "check_compliance_status",
                    {"framework": "CIS", "control_ids": ["1.8", "1.9", "2.1.4"], "include_evidence": True})
        assessed = _call(server.expected_url, "assess_security_posture", {"scope": "account", "target": ACCOUNT_B})
    assert cis["accounts"] == [ACCOUNT_B]
    assert _outcomes(cis, "1.8", "iam.password_min_length") == {f"account {ACCOUNT_B}": ("PASS", None)}
    assert _outcomes(cis, "1.9", "iam.password_reuse") == {f"account {ACCOUNT_B}": ("PASS", None)}
    assert _outcomes(cis, "2.1.4", "s3.account_public_access_block") == {f"account {ACCOUNT_B}": ("PASS", None)}
    for control in ("1.8", "1.9"):
        assert _control(cis, control)["status"] == "PASSED"
    failing = {t["finding_id"] for t in assessed["top_findings"]}
    assert not failing & {"check:iam.password_min_length", "check:iam.password_reuse", "check:s3.account_public_access_block"}


FSBP_RDS = {"RDS.5": "rds.multi_az", "RDS.6": "rds.enhanced_monitoring", "RDS.8": "rds.deletion_protection",
            "RDS.10": "rds.iam_authentication", "RDS.11": "rds.automatic_backups", "RDS.17": "rds.copy_tags_to_snapshots",
            "RDS.23": "rds.non_default_port", "RDS.25": "rds.custom_admin_username"}


@pytest.mark.timeout(240)
def test_fsbp_rds_settings_are_read_from_describe_db_instances(moto: str, seeded) -> None:
    with serve(demo=False, env=_server_env(moto, seeded["a"])) as server:
        fsbp = _call(server.expected_url, "check_compliance_status",
                     {"framework": "FSBP", "control_ids": list(FSBP_RDS), "include_evidence": True})
    a = lambda r: f"{ACCOUNT_A}/{r}"  # noqa: E731
    for control, check in FSBP_RDS.items():
        assert _control(fsbp, control)["status"] == "FAILED", (control, _control(fsbp, control))
        assert _outcomes(fsbp, control, check) == {
            a("planted-public-db"): ("FAIL", "us-east-1"),
            a("clean-private-db"): ("PASS", "us-east-1"),
        }, control
