# Sourced by the infra scripts: the pinned Python tools, each in its own virtual environment under
# target/ (aws-sam-cli pins an old boto3; cargo-lambda brings its zig). Raise a pin on purpose, regenerate
# infra/generated/template.json, and review the diff: a new translator may change the translation, a new
# cfn-lint may add rules.
CFN_LINT_VERSION=1.58.0
SAM_TRANSLATOR_VERSION=1.115.0
SAM_CLI_VERSION=1.170.0
CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1

# pip_venv DIR PACKAGE==VERSION...: makes DIR a venv holding exactly those versions (reused when it does).
pip_venv() {
  local dir=$1; shift
  local spec missing=0
  for spec in "$@"; do
    "$dir/bin/pip" show "${spec%%==*}" 2>/dev/null | grep -qx "Version: ${spec##*==}" || missing=1
  done
  if [ "$missing" = 1 ]; then
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet "$@"
  fi
}

ensure_infra_tools() {
  pip_venv target/py-infra "cfn-lint==$CFN_LINT_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
}

ensure_sam() {
  pip_venv target/py-sam "aws-sam-cli==$SAM_CLI_VERSION"
}

ensure_cargo_lambda() {
  pip_venv target/py-lambda "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
}
