#!/usr/bin/env bash
# The HTML run report in headless Chromium: three org-wide runs of the demo
# organization (different accounts in scope, so the trend moves) by the
# assessor binary, then tests/browser/report_check.mjs opens the last run's
# report.html, takes a screenshot and checks every chart against report.json.
#   scripts/report-check.sh [OUTPUT_DIR]   (screenshot: OUTPUT_DIR/report.png)
# Needs the dev-profile assessor binary and scripts/test-env.sh's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/test-env.sh
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
assessor="$CARGO_TARGET_DIR/debug/assessor"
export POSTURE_DATA_DIR="$out/store" RUST_LOG=warn
rm -rf "$POSTURE_DATA_DIR"
POSTURE_EXCLUDE_ACCOUNTS=456789012345 "$assessor" --demo --run-id 20261124T060000Z-check >/dev/null
"$assessor" --demo --run-id 20261125T060000Z-check >/dev/null
POSTURE_EXCLUDE_ACCOUNTS=345678901234 "$assessor" --demo --run-id 20261126T060000Z-check >/dev/null
reports="$POSTURE_DATA_DIR/reports/20261126T060000Z-check"
# report_check.mjs imports playwright-core, installed by test-env.sh.
ln -sfn "$POSTURE_NODE_DIR/node_modules" tests/browser/node_modules
"$POSTURE_NODE_DIR/node_modules/.bin/node" tests/browser/report_check.mjs \
  "$reports/report.html" "$reports/report.json" "$out/report.png"
echo "screenshot: $out/report.png"
