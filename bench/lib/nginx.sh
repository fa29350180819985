# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals, sets some
# The private nginx in front of the servers, and wrk in front of nginx.
# Sourced by run.sh (WORK, BENCH_DIR, NGINX_BIN, WRK_BIN, CONNECTIONS).
#
#   start_nginx UPSTREAM     nginx on a free loopback port (NGINX_PORT)
#                            passing /keep/ and /plain/ to UPSTREAM
#   stop_nginx
#   run_wrk PATH SECONDS     wrk -t1 -cCONNECTIONS; sets WRK_RPS,
#                            WRK_P50_MS, WRK_P99_MS, WRK_ERRORS, WRK_NOTE,
#                            WRK_REQUESTS
#                            and WRK_STARTED (for served_connections);
#                            with WRK_SCRIPT set, wrk runs that Lua
#                            script (a POST with a body)
#   served_connections       after stop_nginx: from nginx's access log, how
#                            many of wrk's connections got answers in the
#                            last wrk run; sets SERVED_CONNS, SERVED_NOTE

NGINX_PORT=""
NGINX_PID=""
WRK_SCRIPT=""

write_nginx_conf() {
    local upstream="$1" optional="" module
    local build
    build="$("$NGINX_BIN" -V 2>&1)"
    # Modules a build leaves out must not appear; the others get their temp
    # dirs here so nothing is written outside the work dir.
    for module in scgi uwsgi; do
        [[ "$build" == *"--without-http_${module}_module"* ]] ||
            optional+="    ${module}_temp_path $WORK/nginx-tmp/$module;"$'\n'
    done
    mkdir -p "$WORK/nginx-tmp"
    cp "$BENCH_DIR/fastcgi_params" "$WORK/fastcgi_params"
    # Multi-line values go through awk, not sed.
    awk -v work="$WORK" -v user="$(id -un)" -v upstream="$upstream" -v port="$NGINX_PORT" \
        -v connections="$CONNECTIONS" -v peers="$WORK/peers" -v optional="$optional" '
        {
            gsub(/@WORK@/, work); gsub(/@USER@/, user); gsub(/@UPSTREAM@/, upstream)
            gsub(/@PORT@/, port); gsub(/@CONNECTIONS@/, connections); gsub(/@PEERS@/, peers)
            if ($0 ~ /@OPTIONAL_TEMP_PATHS@/) { printf "%s", optional; next }
            print
        }' "$BENCH_DIR/nginx.conf.in" >"$WORK/nginx.conf"
}

start_nginx() {
    # A port found free can be taken by another test before nginx binds it:
    # on "Address already in use", try again with another port.
    local attempt
    for attempt in 1 2 3 4 5; do
        next_port
        NGINX_PORT=$PORT
        write_nginx_conf "$1"
        rm -f "$WORK/nginx.pid" "$WORK/access.log" "$WORK/nginx-error.log"
        "$NGINX_BIN" -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/nginx-error.log" \
            </dev/null >>"$WORK/logs/nginx.out" 2>&1 &
        NGINX_PID=$!
        STARTED_PIDS+=("$NGINX_PID")
        # (Someone else listening on the port would also answer a connect:
        # nginx's own bind error is what tells the two apart.)
        if wait_listening "127.0.0.1:$NGINX_PORT" "$NGINX_PID" && sleep 0.2 &&
            ! grep -q "Address already in use" "$WORK/nginx-error.log" 2>/dev/null; then
            return 0
        fi
        grep -q "Address already in use" "$WORK/nginx-error.log" 2>/dev/null || break
        kill "$NGINX_PID" 2>/dev/null || true
        wait "$NGINX_PID" 2>/dev/null || true
    done
    die "nginx did not start on port $NGINX_PORT: $(tail -n 3 "$WORK/nginx-error.log" 2>/dev/null)"
}

stop_nginx() {
    [[ -n "$NGINX_PID" ]] || return 0
    # Gracefully (SIGQUIT), so that the buffered access log is written; a
    # request still waiting on its upstream could hold that up: 5 s at most.
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$NGINX_PID" 2>/dev/null || break
        sleep 0.1
    done
    stop_pid "$NGINX_PID"
    NGINX_PID=""
}

# wrk does not tell whether all its connections were answered, or one did
# all the work while the others waited (a server that serves one connection
# at a time). nginx's log does: $connection is the client connection.
served_connections() {
    local stats
    stats="$(awk -v since="$WRK_STARTED" -v conns="$CONNECTIONS" '
        $1 < since { next }
        $3 == 200 { n[$2]++; next }
        $3 == 499 { gave_up++; next }
        { other++ }
        END {
            min = -1; max = 0; served = 0
            for (c in n) { served++; if (n[c] > max) max = n[c]; if (min < 0 || n[c] < min) min = n[c] }
            if (served < conns) min = 0
            printf "%d %d %d %d %d\n", served, min < 0 ? 0 : min, max, gave_up, other
        }' "$WORK/access.log" 2>/dev/null)"
    read -r SERVED_CONNS served_min served_max _ other_status <<<"${stats:-0 0 0 0 0}"
    SERVED_NOTE="$SERVED_CONNS of $CONNECTIONS connections served (per connection $served_min..$served_max)"
    # 499s: requests in flight when wrk closed its connections at the end;
    # every server has some. A starved connection shows as a minimum of 0.
    ((other_status == 0)) || SERVED_NOTE+=", $other_status answers other than 200 or 499 in nginx's log"
}

# wrk prints latencies as 812.00us, 1.20ms or 2.01s.
to_ms() {
    awk -v t="$1" 'BEGIN {
        v = t + 0
        if (t ~ /us$/) v /= 1000; else if (t ~ /ms$/) v += 0; else if (t ~ /m$/) v *= 60000; else if (t ~ /s$/) v *= 1000
        printf "%.3f", v
    }'
}

run_wrk() {
    local path="$1" seconds="$2" out="$WORK/logs/wrk.out"
    WRK_STARTED="$(date +%s.%N)"
    # --timeout: a request unanswered for 5 s is counted as a timeout error.
    timeout --kill-after=5 $((${seconds%.*} + 30)) \
        "$WRK_BIN" -t1 -c"$CONNECTIONS" -d"${seconds}s" --timeout 5s --latency ${WRK_SCRIPT:+-s "$WRK_SCRIPT"} \
        "http://127.0.0.1:$NGINX_PORT$path" >"$out" 2>&1 || die "wrk failed: $(tail -n 5 "$out")"
    cat "$out" >>"$WORK/logs/wrk.all"
    WRK_RPS="$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$out")"
    WRK_P50_MS="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
    WRK_P99_MS="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
    local requests non2xx socket_errors timeouts
    requests="$(awk '/requests in/ { print $1 }' "$out")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
    # "  Socket errors: connect 0, read 0, write 0, timeout 12"
    socket_errors="$(awk '/Socket errors:/ { for (i = 3; i <= NF; i++) n += $i + 0 } END { print n + 0 }' "$out")"
    timeouts="$(awk '/Socket errors:/ { print $NF + 0 }' "$out")"
    WRK_ERRORS=$((${non2xx:-0} + ${socket_errors:-0}))
    WRK_REQUESTS="${requests:-0}"
    WRK_NOTE="${requests:-0} requests"
    ((${non2xx:-0} > 0)) && WRK_NOTE+=", ${non2xx} non-2xx"
    ((${timeouts:-0} > 0)) && WRK_NOTE+=", ${timeouts} timed out (>5 s)"
    [[ -n "$WRK_RPS" ]] || die "could not read wrk's output: $(tail -n 5 "$out")"
}
