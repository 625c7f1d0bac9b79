"""History calls as the store grows: `get_posture_history` for the organization and for one
account, answered by the MCP server from a local store holding 10, 100 and 1,000 complete runs of
the demo organization (written by `history-bench fill`, one an hour, all inside the window), with
JSON-RPC `ping` to the same server as the floor. Each figure is the median of sequential calls on
one keep-alive connection; the ratio is to the 10-run store in the same run. Usage:

    python bench/history_latency.py --server target/release/mcp-server \
        --fill target/release/history-bench [--calls 40] [--out bench/results/history_latency.md]

The server runs in demo mode: at start it adds one run of its own (so N stores hold N + 1 runs).
"""
import argparse
import http.client
import json
import os
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
DEMO_ACCOUNT = "210987654321"
# The same points shown at every size: the time measures how a call scales with what is stored.
MAX_POINTS = 10
SETTLE_S = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(conn: http.client.HTTPConnection, body: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    conn.request("POST", "/mcp", json.dumps(body), HEADERS)
    reply = conn.getresponse()
    data = reply.read()
    took = (time.perf_counter() - start) * 1000.0
    assert reply.status == 200, (reply.status, data[:500])
    return took, json.loads(data)


def tool(name: str, arguments: dict) -> dict:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": arguments}}


def measure(server: str, fill: str, runs: int, calls: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "store")
        subprocess.run([fill, "fill", "--dir", store, "--runs", str(runs)], check=True, capture_output=True)
        port = free_port()
        env = dict(os.environ, POSTURE_DATA_DIR=store, RUST_LOG="error",
                   POSTURE_CALLER_REQUESTS_PER_SECOND="0", POSTURE_CALLER_CONCURRENCY="64")
        proc = subprocess.Popen([server, "--demo", "--listen", f"127.0.0.1:{port}"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    call(conn, {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}})
                    break
                except (OSError, AssertionError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            requests = {
                "ping": {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {}},
                "organization": tool("get_posture_history", {"framework": "CIS", "days": 90,
                                                             "max_points": MAX_POINTS}),
                "account": tool("get_posture_history", {"framework": "CIS", "days": 90,
                                                        "max_points": MAX_POINTS, "account_id": DEMO_ACCOUNT}),
            }
            # Steady state: the store caches a directory's listing once the
            # directory has been unchanged for 2 s (the server's own run just
            # wrote to it); calls within those 2 s list it again.
            time.sleep(SETTLE_S)
            # The answers are what they should be before anything is timed.
            _, org = call(conn, requests["organization"])
            result = org["result"]["structuredContent"]
            shown = len(result["organization"])
            assert shown == min(MAX_POINTS, runs + 1), (shown, runs)
            assert shown + result["points_omitted"] == runs + 1, (shown, result["points_omitted"], runs)
            _, acct = call(conn, requests["account"])
            assert len(acct["result"]["structuredContent"]["account"]) == shown, acct
            times = {name: [] for name in requests}
            for _ in range(calls):
                # Interleaved, so machine noise hits all three alike.
                for name, body in requests.items():
                    took, _ = call(conn, body)
                    times[name].append(took)
            return {name: statistics.median(ts) for name, ts in times.items()} | {"shown": shown}
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--fill", required=True)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "history_latency.md"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = {}
    for n in sizes:
        print(f"{n} stored runs, {args.calls} calls of each", flush=True)
        rows[n] = measure(args.server, args.fill, n, args.calls)
    base = rows[sizes[0]]
    lines = [
        "# History calls as the store grows",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores; "
        "`bench/run history` (release build). `get_posture_history` (CIS, 90 days, max_points "
        f"{MAX_POINTS}: the same points shown at every size) "
        "answered by `mcp-server --demo` from a local store of N complete runs of the demo organization "
        "(3 accounts, one run an hour) plus the server's own; medians of "
        f"{args.calls} sequential calls on one keep-alive connection, interleaved with `ping`, "
        f"from {SETTLE_S} s after the server's start (steady state: the local store keeps a directory's listing "
        "until the directory changes, once it has been unchanged for 2 s).",
        "",
        "| stored runs | points shown | ping (ms) | organization (ms) | ratio to "
        f"{sizes[0]} runs | account (ms) | ratio to {sizes[0]} runs |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        r = rows[n]
        lines.append(
            f"| {n} | {r['shown']} | {r['ping']:.3f} | {r['organization']:.3f} | "
            f"{r['organization'] / base['organization']:.2f} | {r['account']:.3f} | "
            f"{r['account'] / base['account']:.2f} |"
        )
    worst = max(max(rows[n]["organization"] / base["organization"], rows[n]["account"] / base["account"])
                for n in sizes)
    lines += ["", f"- a call's time flat within 2x from {sizes[0]} to {sizes[-1]} stored runs "
              f"(worst ratio {worst:.2f}): {'met' if worst <= 2.0 else 'NOT met'}", ""]
    text = "\n".join(lines)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
