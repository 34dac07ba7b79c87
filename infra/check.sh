#!/usr/bin/env bash
# Offline checks of the infrastructure template: cfn-lint, sam validate --lint, and the committed
# translation to plain CloudFormation (infra/generated/template.json) must be up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

source infra/tools.sh
ensure_infra_tools
target/py-infra/bin/cfn-lint infra/template.yaml

ensure_sam
AWS_DEFAULT_REGION=eu-west-1 SAM_CLI_TELEMETRY=0 target/py-sam/bin/sam validate --lint --template infra/template.yaml

AWS_DEFAULT_REGION=eu-west-1 target/py-infra/bin/python infra/translate.py \
  infra/template.yaml infra/generated/template.json
git diff --exit-code -- infra/generated/template.json
cargo test -q -p template-check --tests
echo "infra: template checks passed"
