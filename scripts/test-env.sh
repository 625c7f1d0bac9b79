#!/usr/bin/env bash
# Installs what the tests need outside cargo, into a cache beside the cargo
# target directory (never into the clone), and exports where it is:
#   POSTURE_VENV        Python venv with moto[server], the MCP Python SDK, pytest
#   POSTURE_NODE_DIR    npm prefix with the MCP conformance suite and Node 22
# Source it: `. scripts/test-env.sh`. Idempotent; a warm cache costs seconds.
set -euo pipefail

POSTURE_CACHE="${POSTURE_CACHE:-$HOME/.cache/posture-advisor}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$POSTURE_CACHE/target}"
export POSTURE_VENV="$POSTURE_CACHE/venv"
export POSTURE_NODE_DIR="$POSTURE_CACHE/node"
mkdir -p "$POSTURE_CACHE"

# Pinned versions: the tests are run against these; bump deliberately and
# re-run scripts/test.
# botocore: the version the embedded AWS models (shared/posture-explorer/models)
# are generated from; tests/explorer compares our requests with its own.
# jsonschema (with its format checkers) and ocsf-json-schema (the official
# OCSF export, and its JSON Schema generator): tests/python/validate_exports.py.
PY_REQUIREMENTS=("moto[server]==5.2.6" "botocore==1.44.18" "mcp==2.3.0" "pytest==8.4.2" "pytest-timeout==2.4.0"
  "jsonschema[format-nongpl]==4.26.0" "ocsf-json-schema==1.2.0")
NODE_PACKAGES=("@modelcontextprotocol/conformance@0.1.16" "node@22" "playwright-core@1.65.1")

. "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
ensure_venv "$POSTURE_VENV" "${PY_REQUIREMENTS[@]}"

stamp_node="$POSTURE_NODE_DIR/.posture-packages"
want_node="${NODE_PACKAGES[*]}"
if [ ! -x "$POSTURE_NODE_DIR/node_modules/.bin/node" ] || [ "$(cat "$stamp_node" 2>/dev/null)" != "$want_node" ]; then
  echo "test-env: installing npm packages into $POSTURE_NODE_DIR" >&2
  mkdir -p "$POSTURE_NODE_DIR"
  (cd "$POSTURE_NODE_DIR" && { [ -f package.json ] || echo '{"name":"posture-test-deps","private":true}' > package.json; } \
    && npm install --silent --no-audit --no-fund "${NODE_PACKAGES[@]}")
  echo "$want_node" > "$stamp_node"
fi

export POSTURE_MOTO_SERVER="$POSTURE_VENV/bin/moto_server"
export POSTURE_PYTHON="$POSTURE_VENV/bin/python"
