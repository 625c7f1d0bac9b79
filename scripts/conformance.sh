#!/usr/bin/env bash
# Runs every server scenario of the MCP conformance suite against
# `conformance-server` (our server and transport plus the suite's fixtures).
# Results: $CARGO_TARGET_DIR/conformance/{results/,suite.log,summary.txt}.
# Fails if a scenario fails that tests/conformance/expected-failures.txt does
# not list (with its reason), if a listed one passes, or if any did not run.
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/posture-advisor/target}"
. scripts/test-env.sh

node="$POSTURE_NODE_DIR/node_modules/.bin/node"
suite="$POSTURE_NODE_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
out="$CARGO_TARGET_DIR/conformance"
rm -rf "$out" && mkdir -p "$out/results"

cargo build -p posture-tests --bin conformance-server --locked

# Port 0: the server binds a free port and prints its URL.
"$CARGO_TARGET_DIR/debug/conformance-server" --listen 127.0.0.1:0 >"$out/server.out" 2>"$out/server.log" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT

url=""
for _ in $(seq 100); do
  url="$(head -n 1 "$out/server.out")"
  if [ -n "$url" ] && "$node" -e '
    fetch(process.argv[1], {method: "POST", body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "ping"}),
      headers: {"content-type": "application/json", accept: "application/json, text/event-stream"}})
      .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url"; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; echo "conformance-server exited" >&2; exit 1; }
  url=""
  sleep 0.2
done
[ -n "$url" ] || { echo "conformance-server did not answer" >&2; exit 1; }
echo "conformance-server: $url"

# Every server scenario the suite knows; `--suite all` includes the pending
# ones and no `--spec-version` filter is given, so all of them run.
"$node" "$suite" list --server | sed -n 's/^  - \([^ ]*\).*/\1/p' >"$out/scenarios.txt"
echo "running $(wc -l <"$out/scenarios.txt") scenarios (log: $out/suite.log)"
# The suite's exit status is ignored: the summary below judges the results.
timeout 1200 "$node" "$suite" server --url "$url" --suite all -o "$out/results" >"$out/suite.log" 2>&1 || true

"$node" tests/conformance/summary.mjs "$out/results" "$out/scenarios.txt" \
  tests/conformance/expected-failures.txt "$out/summary.txt"
