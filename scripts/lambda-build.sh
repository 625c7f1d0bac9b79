#!/usr/bin/env bash
# The one release build of the three functions for Lambda: arm64
# (provided.al2023), cargo-lambda with zig, zipped. Prints each zip's size
# and fails when one exceeds its budget, the product's own limit per zip
# (Lambda's is 50 MB): 10 MB, and 13 MB for the MCP server, which embeds the
# AWS service models of aws_read (2.4 MB compressed, decoded per service on
# first use, so the start does not grow with them; docs/testing.md,
# Measurements).
# Usage: scripts/lambda-build.sh [output dir]   (default $CARGO_TARGET_DIR/lambda-arm64)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/infra-env.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$POSTURE_CACHE/target}"
out="${1:-$CARGO_TARGET_DIR/lambda-arm64}"
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

# cargo-lambda finds zig through the first python3 on PATH that has ziglang.
PATH="$POSTURE_INFRA_VENV/bin:$PATH" cargo lambda build --release --arm64 --locked --output-format zip \
  -p mcp-server -p assessor -p collector --lambda-dir "$out"

status=0
printf '%-12s %12s %12s\n' function bootstrap zip
for f in mcp-server assessor collector; do
  zip="$out/$f/bootstrap.zip"
  zipped=$(stat -c %s "$zip")
  unzipped=$("$POSTURE_INFRA_VENV/bin/python" -c 'import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$zip")
  printf '%-12s %12s %12s\n' "$f" "$unzipped" "$zipped"
  budget=$((10 * 1000 * 1000))
  [ "$f" = mcp-server ] && budget=$((13 * 1000 * 1000))
  if [ "$zipped" -gt "$budget" ]; then
    echo "lambda-build: $zip is $zipped bytes, over the $budget-byte budget" >&2
    status=1
  fi
done
exit $status
