#!/usr/bin/env bash
# The soak with faults: the standalone Glase sandbox and glase-local pointed at it, each its
# own process on a free loopback port (started and stopped by process id by the `soak` binary),
# concurrent webshop, POS and refund clients, Glase faults from the sandbox, store throttling and
# conflicts inside glase-local, a SIGKILL and restart of glase-local mid-run, a push-only stretch (25
# payments a second nobody reads, most of their notifications dropped), slow receipts, refund keys asked
# again after a short idempotency lease, refunds made unknown just before the period mark, then the
# invariants against the sandbox's ledger. Prints the summary table, writes target/soak/summary.json (and each run's logs
# under target/soak/run-*/), and exits non-zero when an invariant fails.
#   bash tests/soak.sh [payments, default 250] [seconds of load, default 75]
# Binaries: debug builds of glase-sandbox, glase-local and soak (built here unless SOAK_BIN_DIR names a
# directory holding all three, e.g. target/release after a release build). SOAK_SETTLE overrides the
# settle time after the load (default 45 s; it must cover the payment expiry of 30 s, refund retries
# and the 15 s after which a refund left sending by the kill goes to reconciliation). SOAK_RUST_LOG sets
# both processes' log filter (default debug).
set -euo pipefail
cd "$(dirname "$0")/.."

payments="${1:-250}"
seconds="${2:-75}"
settle="${SOAK_SETTLE:-45}"
target_dir="${CARGO_TARGET_DIR:-target}"
bin_dir="${SOAK_BIN_DIR:-}"
if [ -z "$bin_dir" ]; then
    bash tests/debug-build.sh
    bin_dir="$target_dir/debug"
fi

# Debug logs are large (about 1.5 MB per second of load): earlier runs are removed, and a passing run's
# logs and data too unless SOAK_KEEP_LOGS=1 (a failing run keeps them for reading).
rm -rf "$target_dir"/soak/run-*

status=0
"$bin_dir/soak" --sandbox-bin "$bin_dir/glase-sandbox" --local-bin "$bin_dir/glase-local" \
    --payments "$payments" --seconds "$seconds" --settle "$settle" --out "$target_dir/soak" || status=$?
if [ "$status" = 0 ] && [ -z "${SOAK_KEEP_LOGS:-}" ]; then
    rm -rf "$target_dir"/soak/run-*/logs "$target_dir"/soak/run-*/data
fi
exit "$status"
