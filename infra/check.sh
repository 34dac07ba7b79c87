#!/usr/bin/env bash
# Offline checks of the infrastructure template: cfn-lint, sam validate --lint, and the committed
# translation to plain CloudFormation (infra/generated/template.json) must be up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: a new translator release may change the committed translation, a new cfn-lint may add rules.
# Raise them on purpose, regenerate the translation, and review the diff.
CFN_LINT_VERSION=1.58.0
SAM_TRANSLATOR_VERSION=1.115.0
SAM_CLI_VERSION=1.170.0

if ! target/py-infra/bin/pip show cfn-lint 2>/dev/null | grep -qx "Version: $CFN_LINT_VERSION" \
   || ! target/py-infra/bin/pip show aws-sam-translator 2>/dev/null | grep -qx "Version: $SAM_TRANSLATOR_VERSION"; then
  python3 -m venv target/py-infra
  target/py-infra/bin/pip install --quiet "cfn-lint==$CFN_LINT_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
fi
target/py-infra/bin/cfn-lint infra/template.yaml

# aws-sam-cli pins an old boto3, so it lives in its own venv.
if ! target/py-sam/bin/pip show aws-sam-cli 2>/dev/null | grep -qx "Version: $SAM_CLI_VERSION"; then
  python3 -m venv target/py-sam
  target/py-sam/bin/pip install --quiet "aws-sam-cli==$SAM_CLI_VERSION"
fi
AWS_DEFAULT_REGION=eu-west-1 SAM_CLI_TELEMETRY=0 target/py-sam/bin/sam validate --lint --template infra/template.yaml

AWS_DEFAULT_REGION=eu-west-1 target/py-infra/bin/python infra/translate.py \
  infra/template.yaml infra/generated/template.json
git diff --exit-code -- infra/generated/template.json
cargo test -q -p template-check --tests
echo "infra: template checks passed"
