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
# The template-check tests, selected by name within the whole workspace: `-p template-check` would
# resolve dependency features for that crate alone and compile the AWS SDKs and their stack a second
# time beside the `cargo test --workspace` build (see tests/debug-build.sh).
tests=()
for file in infra/template-check/tests/*.rs; do
  tests+=(--test "$(basename "$file" .rs)")
done
cargo test -q --locked --workspace "${tests[@]}"
echo "infra: template checks passed"
