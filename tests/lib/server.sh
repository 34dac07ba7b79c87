# Shared by tests/dynamodb/dynamodb-local.sh and tests/moto/moto-server.sh: a test server on a loopback
# port, recorded by its pid and port in a run directory, and stopped by that pid only.
#   source tests/lib/server.sh LABEL TITLE   LABEL prefixes the messages, TITLE names the server in them
# Sourcing sets `repo_root`. The sourcing script then sets `home` (where the start lock lives) and
# `START_TIMEOUT_SECONDS`, calls `server_files RUN_DIR`, and defines `answers PORT`, which answers 0 when
# the server on that port responds.
set -euo pipefail

label="$1"
title="$2"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Answers 0 when the server on PORT answers an AWS JSON-protocol call TARGET (`X-Amz-Target`) for SERVICE,
# signed with test credentials; further arguments go to curl.
aws_json_answers() {
    local port="$1" target="$2" service="$3"
    shift 3
    curl --silent --show-error "$@" --max-time 2 --output /dev/null \
        --header 'Content-Type: application/x-amz-json-1.0' \
        --header "X-Amz-Target: $target" \
        --header "Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/$service/aws4_request, SignedHeaders=host, Signature=0" \
        --data '{}' "http://127.0.0.1:$port/" 2>/dev/null
}

# Names the run directory and the server's pid, port and log files in it.
server_files() {
    run_dir="$1"
    pid_file="$run_dir/pid"
    port_file="$run_dir/port"
    log_file="$run_dir/server.log"
}

die() {
    echo "$label: $*" >&2
    exit 1
}

# Answers 0 when the recorded server process is alive.
running() {
    [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Reads `--owner-pid PID` from the arguments of `start` into `owner_pid`.
parse_start_options() {
    owner_pid=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --owner-pid) owner_pid="${2:?--owner-pid needs a value}"; shift 2 ;;
            *) die "unknown option $1" ;;
        esac
    done
}

# Takes the start lock on fd 9, held until the script exits: one starter at a time per state directory.
take_start_lock() {
    mkdir -p "$home"
    exec 9>"$home/lock"
    flock 9
}

# Answers 0 and prints `NAME=http://127.0.0.1:PORT` when the recorded server is alive and answers;
# otherwise forgets the record and answers 1.
reuse_running() {
    local name="$1"
    if running && answers "$(cat "$port_file")"; then
        echo "$name=http://127.0.0.1:$(cat "$port_file")"
        return 0
    fi
    rm -f "$pid_file" "$port_file"
    return 1
}

# Records the server's pid and port and waits until it answers. Answers 1 when it exits first and 2 (after
# stopping it) when it does not answer within START_TIMEOUT_SECONDS; either way the record is removed.
await_answer() {
    local pid="$1" port="$2" waited=0
    echo "$pid" >"$pid_file"
    echo "$port" >"$port_file"
    until answers "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$pid_file" "$port_file"
            return 1
        fi
        if (( waited >= START_TIMEOUT_SECONDS * 5 )); then
            kill "$pid" 2>/dev/null || true
            rm -f "$pid_file" "$port_file"
            return 2
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
}

# With an owner pid, starts a watchdog that ends the server once the owner has gone, by the recorded pid
# only, and removes the run directory.
watch_owner() {
    local owner_pid="$1" pid="$2"
    if [[ -z "$owner_pid" ]]; then
        return
    fi
    (
        exec 9>&-
        while kill -0 "$owner_pid" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1; done
        if [[ -f "$pid_file" && "$(cat "$pid_file")" == "$pid" ]]; then
            kill "$pid" 2>/dev/null || true
            rm -rf "$run_dir"
        fi
    ) >/dev/null 2>&1 </dev/null &
    disown
}

stop() {
    if ! [[ -f "$pid_file" ]]; then
        return
    fi
    local pid
    pid="$(cat "$pid_file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pid_file" "$port_file"
}

endpoint() {
    running || die "$title is not running (no live pid in $pid_file)"
    echo "http://127.0.0.1:$(cat "$port_file")"
}

# Runs the script's command: `start [--owner-pid PID]`, `stop` or `endpoint`.
dispatch() {
    case "${1:-}" in
        start) shift; start "$@" ;;
        stop) stop ;;
        endpoint) endpoint ;;
        *) die "usage: $0 start [--owner-pid PID] | stop | endpoint" ;;
    esac
}
