"""The three functions on the Lambda Runtime API, under `cargo lambda watch`
(cargo-lambda's local emulator), fed the event files in
tests/fixtures/events/: the Lambda branch of each main (lambda_http for the
MCP server with its URL-auth declaration, lambda_runtime for the assessor and
the collector) as Lambda runs it. AWS is moto on 127.0.0.1.

Run by scripts/test with POSTURE_CARGO_LAMBDA (the cargo-lambda binary of the
infra venv), POSTURE_MOTO_SERVER and CARGO_TARGET_DIR (the dev build is
reused: watch builds nothing new).
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from sam_env import documented_overrides, function_env, template

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests/fixtures/events"
FIXTURE_HOST = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws"
BUCKET = "posture-emulator"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def moto_endpoint():
    port = free_port()
    moto = subprocess.Popen(
        [os.environ["POSTURE_MOTO_SERVER"], "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, moto)
        yield f"http://127.0.0.1:{port}"
    finally:
        moto.terminate()
        moto.wait(timeout=30)


def watch(env_vars):
    """`cargo lambda watch` on a free port with `env_vars` for the functions."""
    port = free_port()
    data = tempfile.mkdtemp(prefix="posture-emulator-")
    # An env file: --env-var splits values at commas.
    env_file = Path(data) / "functions.env"
    env_file.write_text("".join(f"{k}={v.format(port=port, data=data)}\n" for k, v in env_vars.items()))
    proc = subprocess.Popen(
        [os.environ["POSTURE_CARGO_LAMBDA"], "lambda", "watch", "-A", "127.0.0.1", "-P", str(port),
         "--ignore-changes", "--env-file", str(env_file)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_functions():
    """The MCP server and the assessor on the demo organization, stored locally."""
    yield from watch({
        "POSTURE_DEMO": "1",
        "POSTURE_DATA_DIR": "{data}",
        "POSTURE_URL_AUTH_TYPE": "AWS_IAM",
        "POSTURE_ALLOWED_HOSTS": FIXTURE_HOST + ",127.0.0.1:{port}",
        "AWS_EC2_METADATA_DISABLED": "true",
    })


@pytest.fixture(scope="module")
def collector_function(moto_endpoint):
    """The collector against moto, writing to a moto bucket."""
    boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket=BUCKET)
    yield from watch({
        "POSTURE_BUCKET": BUCKET,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    })


def invoke(port, function, event_file):
    out = subprocess.run(
        [os.environ["POSTURE_CARGO_LAMBDA"], "lambda", "invoke", "-A", "127.0.0.1", "-P", str(port),
         function, "--data-file", str(EVENTS / event_file), "--output-format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_mcp_server_answers_a_function_url_event(demo_functions):
    response = invoke(demo_functions, "mcp-server", "mcp-server-tools-list.json")
    assert response["statusCode"] == 200, response
    tools = {t["name"] for t in json.loads(response["body"])["result"]["tools"]}
    assert {"assess_security_posture", "get_posture_history", "health_check"} <= tools


def test_a_request_without_sigv4_identity_is_refused_under_aws_iam(demo_functions):
    # The emulator's Function URL adds no IAM authorizer, as a public URL would not.
    request = urllib.request.Request(
        f"http://127.0.0.1:{demo_functions}/lambda-url/mcp-server/mcp",
        data=b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
        headers={"content-type": "application/json", "accept": "application/json, text/event-stream"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=120)
    assert refused.value.code == 403
    assert "requires AWS SigV4" in refused.value.read().decode()


def test_the_assessor_handles_the_scheduled_tick(demo_functions):
    answer = invoke(demo_functions, "assessor", "assessor-scheduled.json")
    assert answer["outcome"] == "completed", answer
    assert answer["run"]["run_id"] == "20261126T060000Z-scheduled"
    assert answer["run"]["state"] == "COMPLETE"


def test_the_collector_handles_a_collect_request(collector_function, moto_endpoint):
    summary = invoke(collector_function, "collector", "collector-collect.json")
    assert summary["run_id"] == "20261126T060000Z-scheduled", summary
    assert summary["account_id"] == "111122223333"
    assert summary.get("unreachable") is None
    key = "runs/20261126T060000Z-scheduled/collections/111122223333.json"
    body = boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert json.loads(body)["inventory"]["account_id"] == "111122223333"


@pytest.mark.parametrize("documented", [True, False], ids=["as documented", "without the overrides"])
def test_the_documented_sam_local_invoke_of_the_mcp_server(documented):
    """docs/deploy.md's `sam local invoke McpServerFunction` command: the environment SAM would
    give the function from template.yaml with the documented --parameter-overrides, its event
    file, under cargo-lambda's emulator. Without the overrides (McpAllowedHosts empty) the
    function fails closed; with them it answers."""
    event, overrides = documented_overrides(ROOT / "docs/deploy.md", "McpServerFunction")
    env = function_env(template(ROOT / "template.yaml"), "McpServerFunction", overrides if documented else {})
    # What sam local adds: a region and (unused here) credentials; nothing reaches AWS.
    env.update(AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="sam-local", AWS_SECRET_ACCESS_KEY="sam-local",
               AWS_EC2_METADATA_DISABLED="true")
    if not documented:
        # The Lambda branch of the binary, as the emulator starts it: it must refuse to start,
        # naming the setting, before it asks the Runtime API for an event.
        binary = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/posture-advisor/target")) / "debug/mcp-server"
        out = subprocess.run([str(binary)], env={**env, "PATH": os.environ["PATH"], "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"},
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "POSTURE_ALLOWED_HOSTS" in out.stderr, out
        return
    port_env = {k: v.replace("{", "{{").replace("}", "}}") for k, v in env.items()}
    for port in watch(port_env):
        response = invoke(port, "mcp-server", Path(event).name)
        assert response["statusCode"] == 200, response
        assert "tools" in json.loads(response["body"])["result"]
