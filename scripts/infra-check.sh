#!/usr/bin/env bash
# Static checks of the deployment templates (template.yaml, infra/*.yaml):
# sam validate --lint, cfn-lint, checkov (offline), and the IAM access
# levels of every grant against policy_sentry (tests/infra), and that the
# embedded AWS models are what their generator makes. Which actions
# each role grants is checked by the Rust test tests/integration/iam_policies.rs.
# Tools: scripts/infra-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/infra-env.sh
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
echo "-- embedded AWS models reproduce from the pinned botocore and policy_sentry (scripts/gen-aws-models.py --check)"
sar=$("$bin/python" -c 'import os, policy_sentry; print(os.path.join(os.path.dirname(policy_sentry.__file__), "shared", "data", "iam-definition.json"))')
"${POSTURE_VENV:-$POSTURE_CACHE/venv}/bin/python" scripts/gen-aws-models.py --check --sar "$sar"
