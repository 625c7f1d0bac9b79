"""Serving latency: `check_compliance_status` (the whole organization, CIS) answered from the
latest complete run, against JSON-RPC `ping` to the same server in the same run (the cost of
HTTP, JSON-RPC and the per-request middleware alone), at concurrency 1 and 16. wrk drives
keep-alive connections on loopback and reports latency percentiles; each figure is the median of
N rounds, the two requests alternating so machine noise hits both. Usage:

    python bench/serving_latency.py --binary target/release/mcp-server [--rounds 5] [--seconds 5] \
        [--out bench/results/serving_latency.md]

Needs wrk (Debian package `wrk`). The server runs in demo mode: at start it assesses the demo
organization (three accounts) into a fresh local store and then answers from that run.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}
REQUESTS = {
    "ping": {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}},
    "check_compliance_status": {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "check_compliance_status", "arguments": {"framework": "CIS"}},
    },
}
LUA = """wrk.method = "POST"
wrk.body = {body}
{headers}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, body: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/mcp", json.dumps(body), HEADERS)
    reply = conn.getresponse()
    data = reply.read()
    assert reply.status == 200, (reply.status, data[:500])
    return json.loads(data)


def wait_ready(port: int, timeout: float = 60.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            post(port, REQUESTS["ping"])
            return
        except (OSError, AssertionError):
            time.sleep(0.05)
    raise RuntimeError("server not ready")


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port: int, script: str, connections: int, seconds: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, requests/s) of one wrk run."""
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "-s", script,
         f"http://127.0.0.1:{port}/mcp"],
        capture_output=True, text=True, check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the run:\n{out}")
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return to_ms(pct["50"]), to_ms(pct["99"]), rps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--out", default="bench/results/serving_latency.md")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, body in REQUESTS.items():
            path = os.path.join(tmp, f"{name}.lua")
            with open(path, "w") as f:
                f.write(LUA.format(body=json.dumps(json.dumps(body)),
                                   headers="\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in HEADERS.items())))
            scripts[name] = path
        env = dict(os.environ, POSTURE_DATA_DIR=os.path.join(tmp, "store"), RUST_LOG="error",
                   POSTURE_CALLER_REQUESTS_PER_SECOND="0", POSTURE_CALLER_CONCURRENCY="64")
        server = subprocess.Popen([args.binary, "--demo", "--listen", f"127.0.0.1:{port}"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(port)
            answer = post(port, REQUESTS["check_compliance_status"])["result"]["structuredContent"]
            assert answer["as_of"]["basis"] == "run", answer["as_of"]
            run_id, score = answer["as_of"]["run_id"], answer["overall_compliance_score"]
            results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
            for _ in range(args.rounds):
                for connections in (1, 16):
                    for name in REQUESTS:
                        results.setdefault((name, connections), []).append(
                            wrk(port, scripts[name], connections, args.seconds))
        finally:
            server.terminate()
            server.wait()
    med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in results.items()}
    rows = []
    for connections in (1, 16):
        for name in REQUESTS:
            p50, p99, rps = med[(name, connections)]
            rows.append(f"| {name} | {connections} | {p50:.3f} | {p99:.3f} | {rps:,.0f} |")
        c50 = med[("check_compliance_status", connections)][0] / med[("ping", connections)][0]
        c99 = med[("check_compliance_status", connections)][1] / med[("ping", connections)][1]
        rows.append(f"| ratio compliance / ping | {connections} | {c50:.2f} | {c99:.2f} | |")
    table = ("| request | concurrency | p50 (ms) | p99 (ms) | requests/s |\n|---|---|---|---|---|\n"
             + "\n".join(rows) + "\n")
    p99_c16 = med[("check_compliance_status", 16)][1]
    verdict = f"\ncheck_compliance_status p99 at concurrency 16: {p99_c16:.3f} ms (target < 5 ms): " \
              f"{'met' if p99_c16 < 5 else 'NOT met'}\n"
    print(table + verdict)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("# Serving latency: check_compliance_status from the latest run, against ping\n\n")
        f.write(f"Binary: `{os.path.basename(args.binary)}` (demo organization, 3 accounts, run `{run_id}`, "
                f"CIS score {score}); measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
                f"{os.cpu_count()} cores, wrk on the same machine, loopback, keep-alive; medians of "
                f"{args.rounds} rounds of {args.seconds} s each.\n\n")
        f.write(table + verdict)


if __name__ == "__main__":
    main()
