# Shared by tests/zeep/run.sh and tests/schemathesis/run.sh: waits for a server started in the background
# to print `NAME listening on http://ADDRESS:PORT` in its log.
set -euo pipefail

# Prints the server's base URL once NAME reports it in LOG, checking up to TRIES times 50 ms apart.
# Exits 1 with the log when the process PID exits first or the line does not come.
await_listening() {
    local name="$1" log="$2" pid="$3" tries="$4" base=""
    for _ in $(seq 1 "$tries"); do
        base="$(sed -n "s/^$name listening on \(http:\/\/[0-9.:]*\)$/\1/p" "$log" | head -n 1)"
        [ -n "$base" ] && break
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited early:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.05
    done
    if [ -z "$base" ]; then
        echo "$name did not report its address" >&2
        cat "$log" >&2
        exit 1
    fi
    echo "$base"
}
