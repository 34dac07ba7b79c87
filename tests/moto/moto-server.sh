#!/usr/bin/env bash
# Starts and stops `moto_server` (PyPI `moto[server]`) on a free loopback port, for the SQS adapter tests.
# moto speaks the JSON protocol of the current aws-sdk-sqs and really moves messages to a dead-letter
# queue after `maxReceiveCount` receives.
#
#   tests/moto/moto-server.sh start [--owner-pid PID]   installs if needed, starts, waits until it answers,
#                                                      prints SQS_ENDPOINT=http://127.0.0.1:PORT
#   tests/moto/moto-server.sh stop                      stops the server by the process id it recorded
#   tests/moto/moto-server.sh endpoint                  prints the endpoint of the running server
#
# The Python virtual environment lives in `target/py-moto/` (or `$MOTO_VENV`); the pid, port and log of
# the running server live in `target/moto/run/` (or `$MOTO_RUN_DIR`). `start` reuses a server that is
# already running from the same run directory. With `--owner-pid`, a small watchdog stops the server (by
# its pid) once the owner process has exited and removes the run directory; the Rust test harness uses
# this, with a run directory per test process, so nothing outlives `cargo test`.
# Any failure exits non-zero: a server that cannot start fails the run, it is never skipped.
set -euo pipefail

# The version the SQS adapter tests were written and passed against.
readonly PACKAGE="moto[server]==5.2.5"
readonly START_TIMEOUT_SECONDS=60

# shellcheck source=../lib/server.sh
source "$(dirname "$0")/../lib/server.sh" moto-server "moto_server"
venv="${MOTO_VENV:-$repo_root/target/py-moto}"
home="$repo_root/target/moto"
server_files "${MOTO_RUN_DIR:-$home/run}"


# Answers 0 when the server on the given port responds to an SQS API call (JSON protocol).
answers() {
    aws_json_answers "$1" AmazonSQS.ListQueues sqs --fail
}

install_package() {
    if [[ -x "$venv/bin/moto_server" && -f "$venv/.installed-$PACKAGE" ]]; then
        return
    fi
    command -v python3 >/dev/null || die "python3 is not installed"
    if [[ ! -x "$venv/bin/pip" ]]; then
        python3 -m venv "$venv" >&2 || die "could not create the virtual environment $venv"
    fi
    echo "moto-server: installing $PACKAGE into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$PACKAGE" >&2 \
        || die "pip install $PACKAGE failed"
    [[ -x "$venv/bin/moto_server" ]] || die "pip did not install moto_server into $venv"
    touch "$venv/.installed-$PACKAGE"
}

start() {
    local owner_pid
    parse_start_options "$@"
    command -v curl >/dev/null || die "curl is not installed"
    mkdir -p "$run_dir"

    # The lock also serialises the install; concurrent test binaries share a server.
    take_start_lock
    if reuse_running SQS_ENDPOINT; then
        return
    fi

    install_package
    local port pid
    port="$(free_port)"
    # setsid puts the server in its own session, so the caller's terminal signals do not reach it and
    # `stop` ends exactly this process. It binds to loopback only.
    setsid "$venv/bin/moto_server" --host 127.0.0.1 --port "$port" >"$log_file" 2>&1 </dev/null 9>&- &
    pid=$!
    local outcome=0
    await_answer "$pid" "$port" || outcome=$?
    if (( outcome == 1 )); then
        cat "$log_file" >&2 || true
        die "moto_server exited before it answered (log above)"
    elif (( outcome == 2 )); then
        die "moto_server did not answer on port $port within ${START_TIMEOUT_SECONDS}s"
    fi

    watch_owner "$owner_pid" "$pid"
    echo "SQS_ENDPOINT=http://127.0.0.1:$port"
}

dispatch "$@"
