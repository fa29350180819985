# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals, sets some
# The runs for traffic shapes beyond hello: large responses, large uploads,
# slow work off the loop (many idle connections: measure.sh's measure_idle).
# Each appends rows to $WORK/results.tsv through measure.sh's record.
# Sourced by run.sh.
#
#   measure_responses SIZE...   bench/plugins/bytes.c ?size=SIZE, direct and via nginx
#   measure_uploads SIZE...     POST bodies of SIZE, direct (with read_floor) and via nginx
#   measure_pool                bench/plugins/pool_sleep.cpp against Go's goroutines
#
# The large-body runs use BIG_CONNECTIONS connections (libfcgi and
# read_floor serve one at a time: more would only queue).

BIG_CONNECTIONS=4
POOL_CONNECTIONS=256
POOL_THREADS=32

# size_label SCENARIO: "1 MiB" from "direct-resp-1m".
size_label() {
    local size="${1##*-}"
    echo "${size%m} MiB"
}

mib() { echo $(($1 * 1048576)); }

# The servers of SERVER_LIST that can serve the large-body rows.
big_body_servers() {
    local s
    for s in "${SERVER_LIST[@]}"; do [[ "$s" == php ]] || echo "$s"; done
}

measure_responses() {
    local size server scenario CONNECTIONS=$BIG_CONNECTIONS
    for size in "$@"; do
        for server in $(big_body_servers); do
            [[ "$server" == fcgid ]] && SERVER_PLUGIN="$BYTES_PLUGIN"
            measure_direct "direct-resp-${size}m" "$server" --keep-conn on --uri "/big/?size=$(mib "$size")"
            SERVER_PLUGIN=""
        done
        for server in $(big_body_servers); do
            [[ "$server" == fcgid ]] && SERVER_PLUGIN="$BYTES_PLUGIN"
            measure_nginx "$server" tcp keep "nginx-resp-${size}m" "/big/?size=$(mib "$size")"
            SERVER_PLUGIN=""
        done
    done
}

measure_uploads() {
    local size server CONNECTIONS=$BIG_CONNECTIONS
    for size in "$@"; do
        for server in $(big_body_servers) floor; do
            [[ "$server" == fcgid ]] && SERVER_PLUGIN="$BYTES_PLUGIN"
            measure_direct "direct-upload-${size}m" "$server" --keep-conn off --uri /big/ --body-size "$(mib "$size")"
            SERVER_PLUGIN=""
        done
        WRK_SCRIPT="$WORK/run/post-${size}m.lua"
        printf 'wrk.method = "POST"\nwrk.body = string.rep("b", %d)\nwrk.headers["Content-Type"] = "application/octet-stream"\n' \
            "$(mib "$size")" >"$WRK_SCRIPT"
        for server in $(big_body_servers); do
            [[ "$server" == fcgid ]] && SERVER_PLUGIN="$BYTES_PLUGIN"
            measure_nginx "$server" tcp keep "nginx-upload-${size}m" /big/
            SERVER_PLUGIN=""
        done
        WRK_SCRIPT=""
    done
}

# Slow work off the loop: every request waits 1 ms on a pool thread, then is
# completed from it; Go's peer sleeps 1 ms in the request's goroutine. Then
# the same plugin answering on the loop, for the CPU a pool-completed
# request adds.
measure_pool() {
    local CONNECTIONS=$POOL_CONNECTIONS server
    for server in "${SERVER_LIST[@]}"; do
        case "$server" in
            fcgid)
                SERVER_PLUGIN="$POOL_PLUGIN" SERVER_ARGS=(--plugin-option "threads=$POOL_THREADS")
                measure_direct direct-pool fcgid --keep-conn on --uri /
                measure_direct direct-pool-loop fcgid --keep-conn on --uri /loop
                SERVER_PLUGIN="" SERVER_ARGS=()
                ;;
            go) measure_direct direct-pool go --keep-conn on --uri "/?sleep_us=1000" ;;
        esac
    done
}
