#!/usr/bin/env bash
# Schemathesis (PyPI, pinned, in its own virtual environment under target/) against the OpenAPI document
# the local stack serves: starts glase-local on a free loopback port with a fresh data directory and a
# throw-away API key, lets Schemathesis generate requests for every operation (valid and invalid ones),
# and stops the stack by process id on exit. The checks: no 5xx, every status documented for its
# operation, the documented content type, every answer matching its schema, data the document forbids
# refused, and an undocumented method answered 405 with `Allow`. Not `positive_data_acceptance`: valid
# data may still be refused by Glase (a Glase ID it does not know: 53; a currency it does not take: 49).
#   bash tests/schemathesis/run.sh [examples per operation, default 25] [time budget in s, default 240]
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/listening.sh
source tests/lib/listening.sh

examples="${1:-25}"
budget="${2:-240}"
version=4.32.5
target_dir="${CARGO_TARGET_DIR:-target}"
venv="$(realpath -m "$target_dir/py-schemathesis")"
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

binary="${GLASE_LOCAL_BIN:-}"
if [ -z "$binary" ]; then
    bash tests/debug-build.sh
    binary="$target_dir/debug/glase-local"
fi

data_dir="$(mktemp -d)"
work_dir="$(mktemp -d)"   # Schemathesis keeps its cache in the working directory
log="$(mktemp)"
key="sk_schemathesis_$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
GLASE_API_KEY="$key" RUST_LOG=warn "$binary" --port 0 --data-dir "$data_dir" >"$log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$data_dir" "$work_dir" "$log"
}
trap cleanup EXIT

base="$(await_listening glase-local "$log" "$pid" 600)"
echo "glase-local on $base (pid $pid)"

cd "$work_dir"
"$venv/bin/st" run "$base/v1/openapi.json" --url "$base" \
    --header "Authorization: Bearer $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection,unsupported_method \
    --phases examples,coverage,fuzzing \
    --max-examples "$examples" --max-time "$budget" --workers 2 \
    --request-timeout 40 --seed 20261130 \
    --warnings off
