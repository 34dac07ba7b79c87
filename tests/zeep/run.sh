#!/usr/bin/env bash
# Checks that an ordinary SOAP toolkit (Python zeep) works against the Glase sandbox unchanged: builds the
# sandbox binary, starts it on a free loopback port, runs check_sandbox.py against its ?wsdl and stops
# the sandbox by process id on exit. The virtual environment lives in target/py-zeep.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../lib/listening.sh
source tests/lib/listening.sh

target_dir="${CARGO_TARGET_DIR:-target}"
venv="$target_dir/py-zeep"
if ! "$venv/bin/python" -c 'import zeep, lxml' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check zeep lxml
fi

bash tests/debug-build.sh

log="$(mktemp)"
"$target_dir/debug/glase-sandbox" --bind 127.0.0.1 --port 0 >"$log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

base_url="$(await_listening glase-sandbox "$log" "$pid" 200)"

"$venv/bin/python" tests/zeep/check_sandbox.py "$base_url"
