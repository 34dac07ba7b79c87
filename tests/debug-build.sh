#!/usr/bin/env bash
# Builds every debug target of the workspace (libraries, binaries, tests, benchmarks) with the dependency
# features `cargo test --workspace` resolves, so `cargo test` and the suites that run binaries (zeep,
# Schemathesis, the soak) share every compiled artifact. `cargo build -p <crate>` would resolve features
# for that crate alone (no dev-dependencies) and compile about 75 dependencies a second time, among them
# the AWS SDKs, tokio, axum and dynoxide.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --locked --workspace --all-targets
