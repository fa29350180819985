# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals, sets some
# The runs for traffic shapes beyond hello: large responses, large uploads,
# many idle connections, slow work off the loop. Each appends rows to
# $WORK/results.tsv through measure.sh's record. Sourced by run.sh.
#
#   measure_responses SIZE...   bench/plugins/bytes.c ?size=SIZE, direct and via nginx
#   measure_uploads SIZE...     POST bodies of SIZE, direct (with read_floor) and via nginx
#   measure_idle                CONNECTIONS active beside IDLE_CONNECTIONS idle
#   measure_pool                bench/plugins/pool_sleep.cpp against Go's goroutines
#
# The large-body runs use BIG_CONNECTIONS connections (libfcgi and
# read_floor serve one at a time: more would only queue).

BIG_CONNECTIONS=4
IDLE_CONNECTIONS=10000
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

# resident_kib PID: VmRSS now.
resident_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# idle_run SCENARIO NOTE: one fcgi-bench run of CONNECTIONS against the
# running fcgid, recorded like measure_direct's.
idle_run() {
    local scenario="$1" note="$2" out="$WORK/logs/$1.out" ticks rc=0
    local TIMEFORMAT="%R %U %S" client_times client_busy
    ticks="$(server_cpu_ticks)"
    busy_window_start
    client_times="$({ time "$FCGI_BENCH" "$SERVER_ADDR" -c "$CONNECTIONS" -d "$DURATION" --keep-conn on --strict >"$out" 2>&1; } 2>&1)" || rc=$?
    busy_window_end
    ticks=$(($(server_cpu_ticks) - ticks))
    client_busy="$(awk '{ if ($1 > 0) printf "%.0f", 100 * ($2 + $3) / $1; else print "-" }' <<<"$client_times")"
    grep -q '^RESULT ' "$out" || die "fcgi-bench: $(tail -n 1 "$out")"
    record "$scenario" fcgid "$(field rps "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
        "$(server_peak_rss_kib)" "$(($(field errors "$out") + $(field non200 "$out")))" "$note" \
        "$(field served_conns "$out")" "$(field conns "$out")" \
        "$(cpu_per_request "$ticks" "$(field answered "$out")")" "$client_busy" "$MACHINE_BUSY"
    ((rc == 0)) || fcgid_failed "$scenario: $(grep -E '^(requests|  error)' "$out" | tr '\n' ' ')"
}

# The same fcgid, the same CONNECTIONS active: first alone, then beside
# IDLE_CONNECTIONS kept-alive connections that served one request each and
# went quiet (bench/lib/idle_conns.py). Its resident memory before and after
# they opened gives the cost of one idle connection.
measure_idle() {
    SERVER_ARGS=(--idle-timeout 0 --max-connections $((IDLE_CONNECTIONS + 1024)))
    start_server fcgid tcp
    SERVER_ARGS=()
    "$FCGI_BENCH" "$SERVER_ADDR" -c "$CONNECTIONS" -d "$WARMUP" --keep-conn on >"$WORK/logs/idle-warmup.out" 2>&1 || true
    idle_run direct-idle-none "the same fcgid process as the next row, before the idle connections opened"
    local before after holder ready
    before="$(resident_kib "${SERVER_PIDS[0]}")"
    coproc IDLE_HOLDER { exec python3 "$BENCH_DIR/lib/idle_conns.py" "$SERVER_ADDR" "$IDLE_CONNECTIONS"; }
    holder=$IDLE_HOLDER_PID
    STARTED_PIDS+=("$holder")
    read -r -t 120 ready <&"${IDLE_HOLDER[0]}" || ready="failed: no answer from idle_conns.py in 120 s"
    [[ "$ready" == "ready $IDLE_CONNECTIONS" ]] || die "idle connections: $ready"
    after="$(resident_kib "${SERVER_PIDS[0]}")"
    local per_idle
    per_idle="$(awk -v a="$after" -v b="$before" -v n="$IDLE_CONNECTIONS" 'BEGIN { printf "%.2f", (a - b) / n }')"
    IDLE_KIB_PER_CONNECTION="$per_idle"
    idle_run direct-idle "resident $before KiB before the $IDLE_CONNECTIONS idle connections, $after KiB with them: $per_idle KiB each"
    local to_holder=${IDLE_HOLDER[1]}
    exec {to_holder}>&-
    stop_pid "$holder"
    stop_server
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
