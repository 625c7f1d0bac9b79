#!/usr/bin/env bash
# Installs Prowler (pinned) into ~/.cache/posture-advisor/prowler, for the
# optional agreement test (tests/python/test_prowler_agreement.py), which is
# skipped with a message when Prowler is absent. CI does not install it: it
# is large and the test's result is kept in tests/python/prowler_disagreements.json.
# Usage: scripts/prowler-env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
POSTURE_CACHE="${POSTURE_CACHE:-$HOME/.cache/posture-advisor}"
. scripts/venv.sh
ensure_venv "$POSTURE_CACHE/prowler" "prowler==5.46.0"
"$POSTURE_CACHE/prowler/bin/prowler" --version
