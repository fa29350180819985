# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals, sets some
# The runs for traffic shapes beyond hello: large responses, large uploads,
# slow work off the loop (many idle connections: measure.sh's measure_idle).
# Each appends rows to $WORK/results.tsv through measure.sh's record.
# Sourced by run.sh.
#
#   measure_responses SIZE...   bench/plugins/bytes.c ?size=SIZE, direct and via nginx
#   measure_uploads SIZE...     POST bodies of SIZE, direct (with read_floor) and via nginx
#   measure_pool                bench/plugins/pool_sleep.cpp against Go's goroutines,
#                               its loop at 256 and at 1 connection, and the
#                               handoff floor (peers/handoff_floor.cpp)
#
# The large-body runs use BIG_CONNECTIONS connections (libfcgi and
# read_floor serve one at a time: more would only queue).

BIG_CONNECTIONS=4
POOL_CONNECTIONS=256
POOL_THREADS=32
POOL_SLEEP_US=1000

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
# request adds: at the same 256 connections, where one epoll_wait returns
# many ready connections, and at 1 connection, where every request wakes
# the loop alone, as every pool completion does. Last the handoff floor,
# what the pool's round trip costs with no network at all.
measure_pool() {
    local CONNECTIONS=$POOL_CONNECTIONS server
    for server in "${SERVER_LIST[@]}"; do
        case "$server" in
            fcgid)
                SERVER_PLUGIN="$POOL_PLUGIN"
                SERVER_ARGS=(--plugin-option "threads=$POOL_THREADS" --plugin-option "sleep_us=$POOL_SLEEP_US")
                measure_direct direct-pool fcgid --keep-conn on --uri /
                measure_direct direct-pool-loop fcgid --keep-conn on --uri /loop
                CONNECTIONS=1
                measure_direct direct-pool-loop1 fcgid --keep-conn on --uri /loop
                CONNECTIONS=$POOL_CONNECTIONS
                SERVER_PLUGIN="" SERVER_ARGS=()
                ;;
            go) measure_direct direct-pool go --keep-conn on --uri "/?sleep_us=$POOL_SLEEP_US" ;;
        esac
    done
    measure_handoff_floor
}

# The handoff floor (row pool-floor, server floor): POOL_CONNECTIONS jobs
# circulating between a Boost.Asio loop and POOL_THREADS pool threads that
# each sleep POOL_SLEEP_US, for WARMUP then DURATION seconds like the other
# rows. No server and no client: its server CPU is the program's own
# (getrusage, per job completed) and its client CPU is "-". Always run, as
# read_floor is: it is built from the repo and is fcgid's yardstick.
measure_handoff_floor() {
    local out="$WORK/logs/pool-floor.out" rc=0 cpu note
    busy_window_start
    "$PEERS_BIN/handoff_floor" --threads "$POOL_THREADS" --jobs "$POOL_CONNECTIONS" --sleep-us "$POOL_SLEEP_US" \
        --warmup "$WARMUP" --seconds "$DURATION" >"$out" 2>&1 || rc=$?
    busy_window_end
    if ((rc != 0)) || ! grep -q '^RESULT ' "$out"; then die "handoff_floor: $(tail -n 1 "$out")"; fi
    cpu="$(awk -v c="$(field cpu_us_per_job "$out")" 'BEGIN { printf "%.1f", c }')"
    note="$(field jobs "$out") jobs completed in $(field seconds "$out") s, $POOL_CONNECTIONS in flight, no network"
    note+="; CPU per job $(field user_us_per_job "$out") µs user + $(field sys_us_per_job "$out") µs system"
    note+=", of which the loop thread $(field loop_cpu_us_per_job "$out") µs"
    record pool-floor floor "$(field jobs_per_s "$out")" - - "$(field max_rss_kib "$out")" 0 "$note" - - \
        "$cpu" - "$MACHINE_BUSY"
}
