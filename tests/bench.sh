#!/usr/bin/env bash
# Every benchmark, with one command; prints the table the README shows and
# writes every figure to shared/benchmarks/results.json (the parts stay under target/bench/).
#
#   bash tests/bench.sh            the full run (10,000 notifications, 20 s of load, 10 cold starts and
#                                  1,000 invocations per function, the arm64 packages)
#   BENCH_QUICK=1 bash tests/bench.sh   the same steps with small counts (a smoke run, figures not for
#                                  publishing)
#
# Steps: release builds (native); the in-process benchmarks (`cargo bench -p benchmarks`); the local
# stack started on a free loopback port (stopped by its pid) and loaded by `load`; cold start and memory
# of every function binary under a local Lambda Runtime API (`lambda-bench`); the zipped arm64
# packages (`infra/build-lambdas.sh`: sam build, about 17 minutes from scratch, half a minute when its
# build is current); the report.
# No step fails on a timing: the numbers are the output.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/bench
mkdir -p "$out"
quick="${BENCH_QUICK:-}"
if [ -n "$quick" ]; then
    notifications=500; load_seconds=5; load_warm_up=1; cold_runs=3; invocations=100
else
    notifications=10000; load_seconds=20; load_warm_up=3; cold_runs=10; invocations=1000
fi
clients="${BENCH_CLIENTS:-64}"

functions=()
for manifest in functions/*/Cargo.toml; do
    functions+=(-p "$(basename "$(dirname "$manifest")")")
done

echo "== release builds"
# The functions on their own, so Cargo's feature unification with the harnesses' dependencies (axum's
# server, the sandbox, dynoxide) cannot change the binaries being measured.
cargo build --release --locked "${functions[@]}"
cargo build --release --locked -p glase-local -p benchmarks -p lambda-bench

echo "== in process: the notification path"
BENCH_NOTIFICATIONS=$notifications cargo bench --locked -p benchmarks --bench notification

echo "== in process: calls and capacity per payment"
cargo bench --locked -p benchmarks --bench calls

echo "== end to end through the local stack"
stack_dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
api_key="sk_bench_$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
GLASE_API_KEY="$api_key" RUST_LOG=warn target/release/glase-local --port "$port" --data-dir "$stack_dir/data" \
    >"$stack_dir/log" 2>&1 &
stack_pid=$!
stop_stack() { kill "$stack_pid" 2>/dev/null || true; wait "$stack_pid" 2>/dev/null || true; rm -rf "$stack_dir"; }
trap stop_stack EXIT
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/v1/openapi.json" >/dev/null 2>&1 && break
    sleep 0.1
done
target/release/load --base "http://127.0.0.1:$port" --api-key "$api_key" --clients "$clients" \
    --seconds "$load_seconds" --warm-up "$load_warm_up"
stop_stack
trap - EXIT

echo "== cold start and memory of every function"
target/release/lambda-bench --bin-dir target/release --events events --out "$out/lambda.json" \
    --cold-runs "$cold_runs" --invocations "$invocations"

echo "== Lambda packages (arm64, zipped)"
bash infra/build-lambdas.sh
bootstraps=(target/sam-build/*Function/bootstrap)
architecture=arm64
if [ ! -e "${bootstraps[0]}" ]; then
    # build-lambdas.sh fell back to x86_64 (no arm64 target on this machine).
    bootstraps=(target/lambda/*/bootstrap)
    architecture=x86_64
fi
python3 - "$out/package.json" "$architecture" "${bootstraps[@]}" <<'PY'
import io, json, os, sys, zipfile
sizes = {}
for path in sys.argv[3:]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    name = path.split("/")[-2]
    sizes[name] = {"bootstrap_bytes": os.path.getsize(path), "zipped_bytes": len(buf.getvalue())}
json.dump({"benchmark": "package_size", "architecture": sys.argv[2], "functions": sizes}, open(sys.argv[1], "w"), indent=2)
PY

echo "== report"
target/release/bench-report --in "$out" --out shared/benchmarks/results.json
