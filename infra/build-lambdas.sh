#!/usr/bin/env bash
# Builds every function for Lambda on arm64 the way a deployment does: `sam build` of the template,
# which runs cargo-lambda (`cargo lambda build --release --arm64 --bin <function>`) for each function
# resource, then prints each bootstrap's zipped size. When the arm64 target cannot be installed, it
# builds for x86_64 with cargo-lambda alone (the template deploys arm64, so sam build is skipped).
# cargo-lambda, its zig and aws-sam-cli come from PyPI in virtual environments under target/ (pinned in
# infra/tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/tools.sh
ensure_cargo_lambda
# cargo-lambda finds zig through the first python3 on PATH, which must be the venv's.
export PATH="$PWD/target/py-lambda/bin:$PATH"

zipped_size() {
  python3 - "$1" <<'PY'
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buf.getvalue()))
PY
}

bins=()
for manifest in functions/*/Cargo.toml; do
  bins+=(--bin "$(basename "$(dirname "$manifest")")")
done

if rustup target add aarch64-unknown-linux-gnu; then
  ensure_sam
  # sam build runs `cargo lambda build --release --arm64 --bin <function>` once per function, one after
  # the other. The same build of all ten in one cargo invocation (same selection of packages, so the same
  # features) compiles them in parallel; sam's own invocations then find them up to date.
  cargo lambda build --release --arm64 "${bins[@]}"
  AWS_DEFAULT_REGION=eu-west-1 SAM_CLI_TELEMETRY=0 target/py-sam/bin/sam build \
    --template infra/template.yaml --build-dir target/sam-build
  built=(target/sam-build/*Function/bootstrap)
  echo "infra: sam build passed (${#built[@]} functions, arm64)"
else
  echo "aarch64-unknown-linux-gnu is not available: building for x86_64 with cargo-lambda only" >&2
  cargo lambda build --release --x86-64 "${bins[@]}"
  built=(target/lambda/*/bootstrap)
fi

for bootstrap in "${built[@]}"; do
  printf '%-24s %9d bytes, %9d zipped\n' "$(basename "$(dirname "$bootstrap")")" \
    "$(stat -c %s "$bootstrap")" "$(zipped_size "$bootstrap")"
done
