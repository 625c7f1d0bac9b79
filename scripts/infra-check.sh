#!/usr/bin/env bash
# Static checks of the deployment templates (template.yaml, infra/*.yaml):
# sam validate --lint, cfn-lint, checkov (offline), and the IAM access
# levels of every grant against policy_sentry (tests/infra). Which actions
# each role grants is checked by the Rust test tests/integration/iam_policies.rs.
# Tools go into their own venv beside the test venv ($POSTURE_INFRA_VENV):
# aws-sam-cli pins its dependencies tightly, so it stays apart from moto and
# the MCP SDK. cargo-lambda and ziglang live here too (see ../shared/facts):
# `scripts/lambda-build.sh` uses them.
set -euo pipefail
cd "$(dirname "$0")/.."

POSTURE_CACHE="${POSTURE_CACHE:-$HOME/.cache/posture-advisor}"
export POSTURE_INFRA_VENV="${POSTURE_INFRA_VENV:-$POSTURE_CACHE/infra-venv}"
# Pinned versions: bump deliberately (checkov needs packaging < 24, so all
# are resolved together).
INFRA_REQUIREMENTS=("aws-sam-cli==1.170.0" "cfn-lint==1.58.0" "checkov==3.2.459" "policy_sentry==0.13.2"
  "pytest==8.4.2" "cargo-lambda==1.9.2" "ziglang==0.17.1")

stamp="$POSTURE_INFRA_VENV/.posture-requirements"
want="${INFRA_REQUIREMENTS[*]}"
if [ ! -x "$POSTURE_INFRA_VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "infra-check: installing ${INFRA_REQUIREMENTS[*]} into $POSTURE_INFRA_VENV" >&2
  python3 -m venv "$POSTURE_INFRA_VENV"
  "$POSTURE_INFRA_VENV/bin/pip" install --quiet --disable-pip-version-check "${INFRA_REQUIREMENTS[@]}"
  echo "$want" > "$stamp"
fi
bin="$POSTURE_INFRA_VENV/bin"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
templates=(template.yaml infra/member-role.yaml)

for t in "${templates[@]}"; do
  echo "-- sam validate --lint $t"
  "$bin/sam" validate --lint --template-file "$t"
done
echo "-- cfn-lint ${templates[*]}"
"$bin/cfn-lint" "${templates[@]}"
echo "-- checkov (every skip carries its reason in the template)"
for t in "${templates[@]}"; do
  "$bin/checkov" -f "$t" --framework cloudformation --skip-download --compact --quiet
done
echo "-- IAM access levels (policy_sentry)"
"$bin/python" -m pytest -q -p no:cacheprovider tests/infra
