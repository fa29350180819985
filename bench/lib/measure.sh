# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals, sets some
# The measured runs. Each appends one line to $WORK/results.tsv (see
# report.sh). Sourced by run.sh.
#
#   measure_nginx SERVER tcp|unix keep|plain [SCENARIO PATH]
#   measure_direct SCENARIO SERVER FCGI-BENCH-OPTIONS...
#   measure_todo SCENARIO SEED PATH
#   measure_idle SERVER
#   measure_ceiling
#   measure_allocations

FCGID_FAILURES=0  # fcgid runs with errors: these fail the benchmark
DIRECT_TRANSPORT=tcp  # or unix: where measure_direct's server listens

scenario_label() {
    case "$1" in
        nginx-keep-tcp) echo "via nginx, upstream keepalive, TCP" ;;
        nginx-plain-tcp) echo "via nginx, no keepalive, TCP" ;;
        nginx-keep-unix) echo "via nginx, upstream keepalive, unix socket" ;;
        nginx-plain-unix) echo "via nginx, no keepalive, unix socket" ;;
        direct-keep) echo "direct (fcgi-bench), KEEP_CONN on" ;;
        direct-close) echo "direct (fcgi-bench), KEEP_CONN off: a connection per request" ;;
        direct-close-unix) echo "direct (fcgi-bench), KEEP_CONN off: a connection per request, unix socket" ;;
        direct-resp-*) echo "direct (fcgi-bench), KEEP_CONN on, $BIG_CONNECTIONS connections: a $(size_label "$1") response (bench/plugins/bytes.c)" ;;
        nginx-resp-*) echo "via nginx, upstream keepalive, TCP, $BIG_CONNECTIONS connections: a $(size_label "$1") response, fastcgi_buffering off" ;;
        direct-upload-*) echo "direct (fcgi-bench), KEEP_CONN off, $BIG_CONNECTIONS connections: a $(size_label "$1") POST body" ;;
        nginx-upload-*) echo "via nginx, upstream keepalive, TCP, $BIG_CONNECTIONS connections: a $(size_label "$1") POST body" ;;
        direct-pool) echo "direct (fcgi-bench), KEEP_CONN on, $POOL_CONNECTIONS connections: each request completed after 1 ms off the loop ($POOL_THREADS pool threads; Go: its goroutine)" ;;
        direct-pool-loop) echo "direct (fcgi-bench), KEEP_CONN on, $POOL_CONNECTIONS connections: the same plugin answering on the loop" ;;
        direct-pool-loop1) echo "direct (fcgi-bench), KEEP_CONN on, 1 connection: the same plugin answering on the loop, each request waking the loop alone" ;;
        pool-floor) echo "the handoff floor (bench/peers/handoff_floor.cpp, no network): $POOL_CONNECTIONS jobs handed from a Boost.Asio loop to $POOL_THREADS pool threads, each sleeping 1 ms, the completion posted back; req/s is jobs/s" ;;
        direct-mpx) echo "direct (fcgi-bench), $MULTIPLEX multiplexed per connection" ;;
        direct-idle) echo "direct (fcgi-bench), KEEP_CONN on, with $IDLE idle kept-alive connections open" ;;
        direct-busy) echo "direct (fcgi-bench), KEEP_CONN on, busy plugin (~100 µs of CPU per request)" ;;
        direct-sdk) echo "direct (fcgi-bench), KEEP_CONN on, hello.c vs the SDK's hello (sdk_hello.cpp: GET / and GET /users/42)" ;;
        nginx-todo-one) echo "todo API via nginx, upstream keepalive, TCP: GET /todos/42 of 100" ;;
        nginx-todo-list) echo "todo API via nginx, upstream keepalive, TCP: GET /todos, 10 todos" ;;
        ceiling) echo "ceiling: nginx \`return 200\`" ;;
    esac
}

CLK_TCK="$(getconf CLK_TCK)"

# cpu_per_request TICKS REQUESTS: microseconds of server CPU per request.
cpu_per_request() {
    awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-" }'
}

# busy_percent TICKS SECONDS: how much of one core TICKS is over SECONDS.
busy_percent() {
    awk -v t="$1" -v s="$2" -v hz="$CLK_TCK" 'BEGIN { if (s > 0 && t != "") printf "%.0f", 100 * t / hz / s; else print "-" }'
}

# record SCENARIO SERVER RPS P50 P99 RSS_KIB ERRORS NOTE SERVED CONNS CPU_US CLIENT_BUSY MACHINE_BUSY
# CLIENT_BUSY: how busy the one-thread process in front of the server was
# while measuring, in % of a core (nginx's worker, or fcgi-bench). Near 100,
# that process and not the server set the pace of the run. MACHINE_BUSY:
# the same for all the machine's cores together, in % of all of them.
record() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(scenario_label "$1")" "$2" "$3" "$4" "$5" \
        "$6" "$7" "$8" "$9" "${10}" "${11}" "${12}" "${13}" >>"$WORK/results.tsv"
    say "$(printf '%-17s %-8s %10s req/s  p50 %8s ms  p99 %8s ms  %6s KiB  %6s µs CPU/req  client %3s%%  machine %3s%%  errors %s  %s' \
        "$1" "$2" "$3" "$4" "$5" "$6" "${11}" "${12}" "${13}" "$7" "$8")"
}

# The machine's busy and total CPU time so far, all cores, in clock ticks.
machine_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# busy_window_start, then busy_window_end: sets MACHINE_BUSY (% of all
# cores) and, when nginx runs, NGINX_BUSY (% of one core, its one worker)
# for the time in between.
busy_window_start() {
    WINDOW_MACHINE="$(machine_ticks)"
    WINDOW_SINCE="$(date +%s.%N)"
    NGINX_WORKER_PID="" WINDOW_NGINX=""
    [[ -n "$NGINX_PID" ]] || return 0
    NGINX_WORKER_PID="$(pgrep -P "$NGINX_PID" | head -n 1 || true)"
    [[ -n "$NGINX_WORKER_PID" ]] && WINDOW_NGINX="$(process_ticks "$NGINX_WORKER_PID")"
    return 0
}
busy_window_end() {
    local busy0 total0 busy1 total1 ticks seconds
    read -r busy0 total0 <<<"$WINDOW_MACHINE"
    read -r busy1 total1 <<<"$(machine_ticks)"
    MACHINE_BUSY="$(awk -v b=$((busy1 - busy0)) -v t=$((total1 - total0)) 'BEGIN { if (t > 0) printf "%.0f", 100 * b / t; else print "-" }')"
    NGINX_BUSY="-"
    [[ -n "$NGINX_WORKER_PID" ]] || return 0
    ticks="$(process_ticks "$NGINX_WORKER_PID")"
    [[ -n "$ticks" && -n "$WINDOW_NGINX" ]] || return 0
    seconds="$(awk -v a="$WINDOW_SINCE" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
    NGINX_BUSY="$(busy_percent "$((${ticks:-0} - ${WINDOW_NGINX:-0}))" "$seconds")"
}

fcgid_failed() {
    FCGID_FAILURES=$((FCGID_FAILURES + 1))
    echo "bench: FAILED: fcgid, $1" >&2
}

# check_todo_answers: the todo API through nginx answers as plugins/todo's
# contract says (todo 1 of the seed, and a 404 for a todo that does not
# exist); sets TODO_CHECK_NOTE to what differs, or to nothing.
check_todo_answers() {
    local base="http://127.0.0.1:$NGINX_PORT/todos" got
    TODO_CHECK_NOTE=""
    got="$(curl -s --max-time 5 -w ' %{http_code} %{content_type}' "$base/1" 2>&1 || true)"
    [[ "$got" == '{"id":1,"title":"todo 1","done":false} 200 application/json' ]] ||
        TODO_CHECK_NOTE+="GET /todos/1 answered '$got'; "
    got="$(curl -s --max-time 5 -w ' %{http_code}' "$base/9999999" 2>&1 || true)"
    [[ "$got" == '{"error":"no todo 9999999"} 404' ]] || TODO_CHECK_NOTE+="GET /todos/9999999 answered '$got'; "
    TODO_CHECK_NOTE="${TODO_CHECK_NOTE%; }"
    return 0
}

measure_nginx() {
    local server="$1" transport="$2" mode="$3" rss
    local scenario="${4:-nginx-$mode-$transport}" path="${5:-/$mode/}"
    start_server "$server" "$transport"
    start_nginx "$SERVER_ADDR"
    TODO_CHECK_NOTE=""
    [[ "$SERVER_APP" == todo ]] && check_todo_answers
    run_wrk "$path" "$WARMUP"
    local ticks
    ticks="$(server_cpu_ticks)"
    busy_window_start
    run_wrk "$path" "$DURATION"
    busy_window_end
    ticks=$(($(server_cpu_ticks) - ticks))
    rss="$(server_peak_rss_kib)"
    stop_nginx
    stop_server
    served_connections
    local note="$WRK_NOTE; $SERVED_NOTE"
    [[ -n "$TODO_CHECK_NOTE" ]] && note+="; WRONG ANSWERS: $TODO_CHECK_NOTE"
    record "$scenario" "$server" "$WRK_RPS" "$WRK_P50_MS" "$WRK_P99_MS" "$rss" "$WRK_ERRORS" \
        "$note" "$SERVED_CONNS" "$CONNECTIONS" "$(cpu_per_request "$ticks" "$WRK_REQUESTS")" \
        "$NGINX_BUSY" "$MACHINE_BUSY"
    if [[ "$server" == fcgid ]] && ((WRK_ERRORS > 0 || SERVED_CONNS < CONNECTIONS)); then
        fcgid_failed "$scenario: $WRK_NOTE; $SERVED_NOTE"
    fi
    if [[ "$server" == fcgid && -n "$TODO_CHECK_NOTE" ]]; then
        fcgid_failed "$scenario: $TODO_CHECK_NOTE"
    fi
}

# The todo API (plugins/todo, peers/go_todo.go, peers/todo.php) through
# nginx with upstream keepalive, over TCP, every server but libfcgi (which
# has no todo), each started with the todos 1..SEED.
measure_todo() {
    local scenario="$1" seed="$2" path="$3" server
    SERVER_APP=todo TODO_SEED="$seed"
    for server in "${SERVER_LIST[@]}"; do
        [[ "$server" == libfcgi ]] && continue
        measure_nginx "$server" tcp keep "$scenario" "$path"
    done
    SERVER_APP=hello TODO_SEED=0
}

# field KEY FILE: KEY's value on fcgi-bench's RESULT line.
field() {
    awk -v key="$1" '/^RESULT / { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) print kv[2] } }' "$2"
}

# memory_breakdown PID: what its resident memory is made of, for the report.
memory_breakdown() {
    awk '/^(VmHWM|RssAnon|RssFile):/ { printf "%s %s KiB, ", $1, $2 }' "/proc/$1/status"
    echo "after the direct KEEP_CONN on run. Largest mappings (KiB):"
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "") ? "[anon]" : $6 } /^Rss:/ { rss[name] += $2 }
         END { for (n in rss) if (rss[n] >= 64) print rss[n], n }' "/proc/$1/smaps" 2>/dev/null |
        sort -rn | awk 'NR <= 8 { sub(".*/", "", $2); printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }'
}

measure_direct() {
    local scenario="$1" server="$2" rss rc=0
    shift 2
    local out="$WORK/logs/$scenario-$server.out"
    start_server "$server" "$DIRECT_TRANSPORT"
    local common=("$SERVER_ADDR" -c "$CONNECTIONS" -p "SCRIPT_FILENAME=$WORK/peers/hello.php" --drain-timeout 1)
    "$FCGI_BENCH" "${common[@]}" -d "$WARMUP" "$@" >"$WORK/logs/$scenario-$server.warmup" 2>&1 || rc=$?
    ((rc != 2)) || die "fcgi-bench: $(tail -n 1 "$WORK/logs/$scenario-$server.warmup")"
    rc=0
    # fcgid must serve every connection and leave nothing unanswered.
    local strict=() ticks
    [[ "$server" == fcgid* ]] && strict=(--strict)
    ticks="$(server_cpu_ticks)"
    # fcgi-bench's own CPU and wall time, from bash's `time`.
    local TIMEFORMAT="%R %U %S" client_times
    busy_window_start
    client_times="$({ time "$FCGI_BENCH" "${common[@]}" -d "$DURATION" --get-values "${strict[@]}" "$@" >"$out" 2>&1; } 2>&1)" || rc=$?
    busy_window_end
    ticks=$(($(server_cpu_ticks) - ticks))
    local client_busy
    client_busy="$(awk '{ if ($1 > 0) printf "%.0f", 100 * ($2 + $3) / $1; else print "-" }' <<<"$client_times")"
    if ((rc == 2)) || ! grep -q '^RESULT ' "$out"; then die "fcgi-bench: $(tail -n 1 "$out")"; fi
    rss="$(server_peak_rss_kib)"
    [[ "$server/$scenario" == fcgid/direct-keep ]] && memory_breakdown "${SERVER_PIDS[0]}" >"$WORK/memory.txt"
    stop_server
    local served conns unanswered errors note
    served="$(field served_conns "$out")"
    conns="$(field conns "$out")"
    unanswered="$(field unanswered "$out")"
    errors=$(($(field errors "$out") + $(field non200 "$out")))
    note="$served of $conns connections served (per connection $(field conn_min "$out")..$(field conn_max "$out"))"
    ((unanswered == 0)) || note+=", $unanswered left unanswered"
    note+=", FCGI_MPXS_CONNS=$(field mpxs_conns "$out")"
    record "$scenario" "$server" "$(field rps "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
        "$rss" "$errors" "$note" "$served" "$conns" "$(cpu_per_request "$ticks" "$(field answered "$out")")" \
        "$client_busy" "$MACHINE_BUSY"
    if [[ "$server" == fcgid* ]] && ((rc != 0)); then
        fcgid_failed "$scenario: $(grep -E '^(requests|  error|connections)' "$out" | tr '\n' ' ')"
    fi
}

# Many idle connections: IDLE more connections opened first, each served one
# request with FCGI_KEEP_CONN and then left idle (a web server's pool of
# upstream connections), held while the usual load runs (KEEP_CONN on). The
# server's RSS is read before they open and once they are all open, before
# the load: the difference over IDLE is what one idle connection costs
# ($WORK/idle.tsv, in the targets). req/s and p99 compare with direct-keep.
measure_idle() {
    local server="$1" out="$WORK/logs/direct-idle-$1.out" rc=0 rss0 rss1 ticks waited client0 client_idle
    # Each idle connection is a descriptor in the server and one in fcgi-bench.
    ulimit -n "$((IDLE + 1024))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    ((IDLE + 200 < $(ulimit -n))) || die "ulimit -n $(ulimit -n) is too low for $IDLE idle connections"
    SERVER_ARGS=(--max-connections "$((IDLE + CONNECTIONS + 100))")
    start_server "$server" tcp
    SERVER_ARGS=()
    rss0="$(vm_rss_kib "${SERVER_PIDS[0]}")"
    "$FCGI_BENCH" "$SERVER_ADDR" -c "$CONNECTIONS" -d "$WARMUP" --keep-conn on >/dev/null 2>&1 ||
        die "fcgi-bench: the warmup before the idle connections failed"
    "$FCGI_BENCH" "$SERVER_ADDR" -c "$CONNECTIONS" -d "$DURATION" --keep-conn on --idle "$IDLE" \
        --idle-pause 1 --strict >"$out" 2>&1 &
    local bench_pid=$!
    note_children_cpu
    client0="$CHILDREN_CPU"
    for ((waited = 0; waited < 600; waited++)); do
        grep -qs '^idle ' "$out" && break
        kill -0 "$bench_pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^idle ' "$out" || { wait "$bench_pid" || true; die "fcgi-bench: the idle connections did not open: $(tail -n 1 "$out")"; }
    rss1="$(vm_rss_kib "${SERVER_PIDS[0]}")"
    ticks="$(server_cpu_ticks)"  # the load starts after the pause
    client_idle="$(process_ticks "$bench_pid")"  # fcgi-bench's CPU for opening them
    busy_window_start
    wait "$bench_pid" || rc=$?
    busy_window_end
    ticks=$(($(server_cpu_ticks) - ticks))
    if ((rc == 2)) || ! grep -q '^RESULT ' "$out"; then die "fcgi-bench: $(tail -n 1 "$out")"; fi
    # fcgi-bench's CPU during the load: all of it (reaped now) less what
    # opening the idle connections took.
    local client_busy
    note_children_cpu
    client_busy="$(awk -v a="$client0" -v b="$CHILDREN_CPU" -v i="$client_idle" -v hz="$CLK_TCK" -v d="$DURATION" \
        'BEGIN { c = b - a - i / hz; if (c < 0) c = 0; printf "%.0f", 100 * c / d }')"
    local rss
    rss="$(server_peak_rss_kib)"
    stop_server
    local per_idle
    per_idle="$(awk -v a="$rss0" -v b="$rss1" -v n="$IDLE" 'BEGIN { printf "%.2f", (b - a) / n }')"
    printf '%s\t%s\t%s\n' "$server" "$IDLE" "$per_idle" >>"$WORK/idle.tsv"
    local errors note
    errors=$(($(field errors "$out") + $(field non200 "$out")))
    note="$(field served_conns "$out") of $(field conns "$out") active connections served; $(grep '^idle .*still open' "$out" | sed 's/^idle *//'): RSS $rss0 -> $rss1 KiB, $per_idle KiB per idle connection"
    record direct-idle "$server" "$(field rps "$out")" "$(field p50_ms "$out")" "$(field p99_ms "$out")" \
        "$rss" "$errors" "$note" "$(field served_conns "$out")" "$(field conns "$out")" \
        "$(cpu_per_request "$ticks" "$(field answered "$out")")" "$client_busy" "$MACHINE_BUSY"
    if [[ "$server" == fcgid* ]] && ((rc != 0)); then
        fcgid_failed "direct-idle: $(grep -E '^(requests|  error|connections|idle)' "$out" | tr '\n' ' ')"
    fi
}

# note_children_cpu: sets CHILDREN_CPU to the user + system CPU seconds of
# this shell's reaped children. Not to be called in $(...): `times` in a
# subshell sees the subshell's children, none.
note_children_cpu() {
    times >"$WORK/run/times"
    CHILDREN_CPU="$(awk 'NR == 2 {
        for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
        printf "%.3f", t }' "$WORK/run/times")"
}

measure_ceiling() {
    # The upstream is never used here; nginx does not connect at startup.
    start_nginx "127.0.0.1:9"
    run_wrk /ceiling "$WARMUP"
    busy_window_start
    run_wrk /ceiling "$DURATION"
    busy_window_end
    stop_nginx
    served_connections
    record ceiling nginx "$WRK_RPS" "$WRK_P50_MS" "$WRK_P99_MS" 0 "$WRK_ERRORS" "$WRK_NOTE; $SERVED_NOTE" \
        "$SERVED_CONNS" "$CONNECTIONS" - "$NGINX_BUSY" "$MACHINE_BUSY"
}

# alloc_run LABEL WARMUP REQUESTS FCGI-BENCH-OPTIONS...: one line of alloc.tsv
# (ALLOC_PLUGIN, then LABEL...) from the two snapshots fcgi-bench has the
# counter take around its window.
ALLOC_PLUGIN=hello
alloc_run() {
    local label="$1" warmup="$2" requests="$3" rc=0
    shift 3
    local counts="$WORK/run/alloc-counts" out="$WORK/logs/alloc.out"
    : >"$counts"
    "$FCGI_BENCH" "$SERVER_ADDR" -c "$CONNECTIONS" --warmup-requests "$warmup" -n "$requests" \
        --signal-pid "${SERVER_PIDS[0]}" --strict "$@" >>"$out" 2>&1 || rc=$?
    if ((rc != 0)); then
        fcgid_failed "allocation count ($label): $(grep -E '^(requests|  error)' "$out" | tail -n 3 | tr '\n' ' ')"
        return 0
    fi
    sleep 0.2
    awk -F'[ =]' -v plugin="$ALLOC_PLUGIN" -v label="$label" -v n="$requests" '
        /^alloc_count snapshot/ { m[++k] = $4; r[k] = $6 }
        END {
            if (k < 2) { print "bench: allocation counter wrote " k " snapshot(s), expected 2" > "/dev/stderr"; exit 1 }
            dm = m[k] - m[k - 1]; dr = r[k] - r[k - 1]
            printf "%s\t%s\t%d\t%d\t%d\t%.3f\n", plugin, label, n, dm, dr, (dm + dr) / n
        }' "$counts" >>"$WORK/alloc.tsv" || fcgid_failed "allocation count ($label): no snapshots"
}

measure_allocations() {
    local scale=1
    ((SMOKE)) && scale=20
    # AddressSanitizer brings its own allocator and must come first: a
    # preloaded counter would stop fcgid from starting (the sanitizer pass
    # of scripts/dev.sh test runs bench_smoke too).
    if LC_ALL=C grep -q -F __asan_init "$FCGID_BIN"; then
        say "allocations: skipped, fcgid is built with AddressSanitizer"
        printf -- '-\tskipped: fcgid is built with AddressSanitizer\t-\t-\t-\t-\n' >"$WORK/alloc.tsv"
        return 0
    fi
    SERVER_ENV=("LD_PRELOAD=$ALLOC_COUNT_SO" "ALLOC_COUNT_FILE=$WORK/run/alloc-counts")
    start_server fcgid tcp
    SERVER_ENV=()
    alloc_run "KEEP_CONN on, 1 in flight per connection, $CONNECTIONS connections" \
        $((20000 / scale)) $((100000 / scale)) --keep-conn on
    alloc_run "KEEP_CONN on, $MULTIPLEX multiplexed per connection, $CONNECTIONS connections" \
        $((20000 / scale)) $((100000 / scale)) --keep-conn on --multiplex "$MULTIPLEX"
    alloc_run "KEEP_CONN off: a new connection per request" \
        $((2000 / scale)) $((20000 / scale)) --keep-conn off
    stop_server
    # The SDK's hello: its router, one header read, a path value.
    SERVER_ENV=("LD_PRELOAD=$ALLOC_COUNT_SO" "ALLOC_COUNT_FILE=$WORK/run/alloc-counts")
    start_server fcgid-sdk tcp
    ALLOC_PLUGIN=sdk_hello
    alloc_run "GET /, KEEP_CONN on, 1 in flight per connection, $CONNECTIONS connections" \
        $((20000 / scale)) $((100000 / scale)) --keep-conn on --uri /
    alloc_run "GET /users/42, KEEP_CONN on, 1 in flight per connection, $CONNECTIONS connections" \
        $((20000 / scale)) $((100000 / scale)) --keep-conn on --uri /users/42
    stop_server
    # The todo API's read (no target: it builds an nlohmann::json per answer).
    SERVER_APP=todo TODO_SEED=100
    start_server fcgid tcp
    ALLOC_PLUGIN=todo
    alloc_run "GET /todos/42 of 100, KEEP_CONN on, 1 in flight per connection, $CONNECTIONS connections" \
        $((20000 / scale)) $((100000 / scale)) --keep-conn on --uri /todos/42
    stop_server
    SERVER_APP=hello TODO_SEED=0 ALLOC_PLUGIN=hello
    SERVER_ENV=()
    [[ -s "$WORK/alloc.tsv" ]] && sed 's/^/bench: allocations: /' "$WORK/alloc.tsv"
    return 0
}
