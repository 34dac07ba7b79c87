#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of every target (cargo-fuzz on libFuzzer):
#   bash tests/fuzz/run.sh [seconds per target, default 25]
# Each target starts from its seeds and the kept regressions; what it learns stays in
# tests/fuzz/target/corpus/ (not committed). A crash fails the run and leaves the input in
# tests/fuzz/artifacts/<target>/: fix the cause, then move the input to tests/fuzz/regressions/<target>/,
# where `cargo test -p payments-api --test api fuzz_regressions::` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/../.."
per_target="${1:-25}"
CARGO_FUZZ_VERSION=0.13.2

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
# cargo-fuzz passes unstable rustc flags (-Z...) for the coverage instrumentation; the stable toolchain
# accepts them with RUSTC_BOOTSTRAP. No sanitizer: the code under test forbids `unsafe`.
export RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0

for target in soap_decode api_request; do
    echo "== fuzzing $target for ${per_target}s"
    dir=tests/fuzz
    mkdir -p "$dir/target/corpus/$target" "$dir/regressions/$target"
    cargo fuzz run --fuzz-dir "$dir" --sanitizer none --release "$target" \
        "$dir/target/corpus/$target" "$dir/seeds/$target" "$dir/regressions/$target" -- \
        -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 -max_len=65600 -print_final_stats=1
done
