#!/usr/bin/env bash
# Installs the deployment tools into their own venv beside the test venv and
# exports POSTURE_INFRA_VENV: aws-sam-cli, cfn-lint, checkov, policy_sentry
# (scripts/infra-check.sh) and cargo-lambda with zig (scripts/lambda-build.sh;
# cargo-lambda finds zig only through the first python3 on PATH that has
# ziglang, so put this venv's bin first). aws-sam-cli pins its dependencies
# tightly, so it stays apart from moto and the MCP SDK. Source it; idempotent.
set -euo pipefail
POSTURE_CACHE="${POSTURE_CACHE:-$HOME/.cache/posture-advisor}"
export POSTURE_INFRA_VENV="${POSTURE_INFRA_VENV:-$POSTURE_CACHE/infra-venv}"
# Pinned versions: bump deliberately (checkov needs packaging < 24, so all
# are resolved together).
INFRA_REQUIREMENTS=("aws-sam-cli==1.170.0" "cfn-lint==1.58.0" "checkov==3.2.459" "policy_sentry==0.13.2"
  "pytest==8.4.2" "cargo-lambda==1.9.2" "ziglang==0.17.1")

. "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
ensure_venv "$POSTURE_INFRA_VENV" "${INFRA_REQUIREMENTS[@]}"
