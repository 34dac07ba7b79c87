#!/usr/bin/env bash
# Builds every crate under functions/ with cargo-lambda for Lambda on arm64 (x86_64 when the arm64
# target cannot be installed) and prints the zipped size of each bootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/py-lambda
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet cargo-lambda ziglang
fi
# cargo-lambda finds zig through the first python3 on PATH, which must be the venv's.
export PATH="$PWD/$venv/bin:$PATH"

arch=(--arm64)
if ! rustup target add aarch64-unknown-linux-gnu; then
  echo "aarch64-unknown-linux-gnu is not available: building for x86_64" >&2
  arch=(--x86-64)
fi

packages=()
for manifest in functions/*/Cargo.toml; do
  packages+=(-p "$(basename "$(dirname "$manifest")")")
done
cargo lambda build --release "${arch[@]}" --output-format zip "${packages[@]}"

for zip in target/lambda/*/bootstrap.zip; do
  printf '%-20s %8d bytes\n' "$(basename "$(dirname "$zip")")" "$(stat -c %s "$zip")"
done
