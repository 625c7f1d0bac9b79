"""Cold start: process start to the first answered `tools/list`, ours against
a Python MCP server (the SDK's MCPServer) in the same run. Medians of N runs,
alternating the two so machine noise hits both. Usage:

    python bench/cold_start.py --binary target/release/mcp-server [--runs 10] [--out bench/results/cold_start.md]
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_answer(cmd: list[str], port: int, path: str, timeout: float = 30.0) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < timeout:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("POST", path, BODY, HEADERS)
                reply = conn.getresponse()
                data = reply.read()
                if reply.status == 200 and b'"tools"' in data:
                    return time.perf_counter() - start
            except OSError:
                time.sleep(0.0005)
        raise RuntimeError(f"no answer from {cmd[0]} within {timeout}s")
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", default="bench/results/cold_start.md")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    ours, base = [], []
    for _ in range(args.runs):
        port = free_port()
        ours.append(first_answer([args.binary, "--demo", "--listen", f"127.0.0.1:{port}"], port, "/mcp"))
        port = free_port()
        base.append(first_answer([sys.executable, os.path.join(here, "baseline_server.py"), str(port)], port, "/mcp"))
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    table = (
        "| server | median (ms) | min (ms) | max (ms) | runs |\n|---|---|---|---|---|\n"
        f"| posture-advisor mcp-server --demo | {m_ours*1000:.1f} | {min(ours)*1000:.1f} | {max(ours)*1000:.1f} | {len(ours)} |\n"
        f"| Python MCPServer (mcp SDK) baseline | {m_base*1000:.1f} | {min(base)*1000:.1f} | {max(base)*1000:.1f} | {len(base)} |\n"
        f"\nratio ours / baseline: {m_ours/m_base:.3f} (target: ours < 20 ms)\n"
    )
    print(table)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("# Cold start: process start to first `tools/list` answer\n\n")
        f.write(f"Binary: `{os.path.basename(args.binary)}`; measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
                "loopback, polling every 0.5 ms.\n\n")
        f.write(table)


if __name__ == "__main__":
    main()
