# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals, sets some
# The FastCGI servers under test, started fresh for every measured run so
# that each run's peak RSS is its own. Sourced by run.sh, which sets WORK,
# PEERS_BIN (built peers), FCGID_BIN, FCGID_PLUGIN_DIR and FCGI_BENCH.
#
#   start_server NAME tcp|unix   NAME: fcgid libfcgi go php, fcgid-w2
#                                (fcgid --workers 2), or fcgid-sdk and
#                                fcgid-sdk-param (both fcgid with
#                                plugins/sdk_hello.cpp: the row names differ),
#                                floor (peers/read_floor.c, TCP only)
#                                With SERVER_APP=todo, the servers serve
#                                the todo API instead (fcgid todo.so, Go
#                                peers/go_todo.go, PHP peers/todo.php), with
#                                the todos 1..TODO_SEED
#       sets SERVER_ADDR (fcgi-bench's form: 127.0.0.1:PORT or unix:PATH,
#       which is nginx's form too) and SERVER_PIDS; fails if the server does
#       not answer one request with 200 within 10 s
#   server_peak_rss_kib          VmHWM summed over SERVER_PIDS and their
#                                children (php-fpm's workers)
#   server_cpu_ticks             user + system CPU time so far, the same
#                                processes, in clock ticks (CLK_TCK)
#   process_ticks PID            the same for any one process
#   stop_server                  SIGTERM, then SIGKILL after 5 s

SERVER_ADDR=""
SERVER_PIDS=()
# For fcgid only: NAME=VALUE in its environment (the allocation counter), a
# command in front of it (heaptrack, valgrind, perf) and more options.
SERVER_ENV=()
SERVER_WRAPPER=()
SERVER_ARGS=()
SERVER_PLUGIN=""  # fcgid's plugin when not hello.so (the busy one)
SERVER_PROBE_URI=""  # what the probe asks for when not / (ab.sh, another plugin)
SERVER_APP=hello  # or todo: the JSON API of plugins/todo, in each server
TODO_SEED=0       # SERVER_APP=todo: the todos 1..N exist from the start
STARTED_PIDS=()  # every pid this script started, for the EXIT trap
next_port_value=""  # set on the first call, once the ephemeral range is known

# next_port: sets PORT to a TCP port no socket uses right now, in any state,
# below the kernel's ephemeral range (32768 and up on Debian), so that no
# outgoing connection of another process can hold it. It sets a variable
# rather than printing: in a $(...) subshell the advance of next_port_value
# would be lost and every retry would get the same port again.
next_port() {
    local port ephemeral_low
    read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768
    ((ephemeral_low > 21000)) || ephemeral_low=32768  # a machine tuned otherwise: best effort
    [[ -n "$next_port_value" ]] || next_port_value=$((20000 + RANDOM % (ephemeral_low - 20000)))
    while :; do
        port=$next_port_value
        next_port_value=$((next_port_value + 1))
        ((next_port_value < ephemeral_low)) || next_port_value=20000
        if ! port_in_use "$port"; then
            PORT=$port
            return 0
        fi
    done
}

# port_in_use PORT: some TCP socket on this machine has PORT as its local port.
port_in_use() {
    local hex tables=()
    hex="$(printf ':%04X' "$1")"
    [[ -r /proc/net/tcp ]] && tables+=(/proc/net/tcp)
    [[ -r /proc/net/tcp6 ]] && tables+=(/proc/net/tcp6)
    ((${#tables[@]})) || return 1
    awk -v p="$hex" 'FNR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' "${tables[@]}"
}

# wait_listening ADDR PID: up to 30 s (valgrind starts slowly) for a TCP port to accept or a unix
# socket file to appear, while PID lives.
wait_listening() {
    local addr="$1" pid="$2"
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 1
        if [[ "$addr" == unix:* ]]; then
            [[ -S "${addr#unix:}" ]] && return 0
        elif (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# A port found free can be taken by a parallel test before the server binds
# it: when the server says so, try again on another port.
start_server() {
    local attempt log="$WORK/logs/$1-$2.log" log_size
    for attempt in 1 2 3 4 5; do
        log_size="$(stat -c %s "$log" 2>/dev/null || echo 0)"
        start_server_once "$@" && return 0
        # Only what this attempt wrote: the log is shared by every run.
        tail -c +$((log_size + 1)) "$log" 2>/dev/null | grep -qi "address already in use" ||
            die "$1 ($2) did not start listening on $SERVER_ADDR: $(tail -c +$((log_size + 1)) "$log" 2>/dev/null | tail -n 3 | tr '\n' ' ')(log: $log)"
        say "$1 ($2): $SERVER_ADDR was taken; trying another port"
        kill "${SERVER_PIDS[@]}" 2>/dev/null || true
    done
    die "$1 ($2): no free port after 5 tries; last: $(tail -n 2 "$log" | tr '\n' ' ')"
}

start_server_once() {
    local name="$1" transport="$2" listen log="$WORK/logs/$1-$2.log"
    if [[ "$transport" == unix ]]; then
        listen="unix:$WORK/run/$name.sock"
        rm -f "${listen#unix:}"
    else
        next_port
        listen="127.0.0.1:$PORT"
    fi
    SERVER_ADDR="$listen"
    SERVER_PIDS=()
    # What the probe asks for, and which script PHP-FPM runs.
    local probe_uri="${SERVER_PROBE_URI:-/}" script=hello.php
    [[ "$SERVER_APP" == todo ]] && probe_uri=/todos/1 script=todo.php
    case "$name" in
        fcgid | fcgid-w2 | fcgid-sdk | fcgid-sdk-param)
            local where=(--host 127.0.0.1 --port "${listen##*:}") workers=() app=()
            local plugin="${SERVER_PLUGIN:-$FCGID_PLUGIN_DIR/hello.so}"
            [[ "$transport" == unix ]] && where=(--socket "${listen#unix:}")
            [[ "$name" == fcgid-w2 ]] && workers=(--workers 2)
            [[ "$name" == fcgid-sdk* ]] && plugin="$SDK_HELLO_PLUGIN"
            if [[ "$SERVER_APP" == todo ]]; then
                plugin="$TODO_PLUGIN"
                app=(--plugin-option "seed=$TODO_SEED" --plugin-option threads=2)
            fi
            env "${SERVER_ENV[@]}" "${SERVER_WRAPPER[@]}" "$FCGID_BIN" run \
                --plugin "$plugin" "${app[@]}" "${where[@]}" "${workers[@]}" -q "${SERVER_ARGS[@]}" >>"$log" 2>&1 &
            ;;
        libfcgi)
            [[ "$SERVER_APP" == hello ]] || die "libfcgi serves hello only"
            "$PEERS_BIN/libfcgi_hello" "${listen#unix:}" >>"$log" 2>&1 &
            ;;
        go)
            if [[ "$SERVER_APP" == todo ]]; then
                "$PEERS_BIN/go_todo" -seed "$TODO_SEED" "$listen" >>"$log" 2>&1 &
            else
                "$PEERS_BIN/go_hello" "$listen" >>"$log" 2>&1 &
            fi
            ;;
        floor)
            [[ "$transport" == tcp ]] || die "read_floor listens on TCP only"
            "$PEERS_BIN/read_floor" "$listen" >>"$log" 2>&1 &
            ;;
        php)
            sed -e "s|@WORK@|$WORK/run|g" -e "s|@LISTEN@|${listen#unix:}|" -e "s|@SEED@|$TODO_SEED|" \
                "$BENCH_DIR/peers/php-fpm.conf.in" >"$WORK/run/php-fpm.conf"
            # -R: the benchmark may run as root; -F: stay in the foreground.
            "$PHP_FPM" -F -R -y "$WORK/run/php-fpm.conf" -d opcache.enable=1 >>"$log" 2>&1 &
            ;;
        *) die "unknown server '$name'" ;;
    esac
    SERVER_PIDS=("$!")
    STARTED_PIDS+=("$!")
    wait_listening "$listen" "${SERVER_PIDS[0]}" || return 1
    # One request answered with 200 before anything is measured.
    "$FCGI_BENCH" "$listen" -c 1 -n 1 --max-time 10 --strict --uri "$probe_uri" \
        -p "SCRIPT_FILENAME=$WORK/peers/$script" >"$WORK/logs/$name-$transport.probe" 2>&1 ||
        die "$name ($transport) did not answer a request with 200: $(grep -E '^(requests|  error|fcgi-bench: error)' "$WORK/logs/$name-$transport.probe" | tr '\n' ' ')"
}

# The server's processes: SERVER_PIDS and their children.
server_processes() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        echo "$pid"
        pgrep -P "$pid" 2>/dev/null || true
    done
}

# process_ticks PID: its user + system CPU time so far, in clock ticks;
# nothing (and success) when the process is gone.
process_ticks() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends
    # the command name (which may contain spaces).
    awk '{ print $12 + $13 }' <<<"${stat##*) }"
}

server_cpu_ticks() {
    local pid total=0 ticks
    for pid in $(server_processes); do
        ticks="$(process_ticks "$pid")"
        total=$((total + ${ticks:-0}))
    done
    echo "$total"
}

server_peak_rss_kib() {
    local pid total=0 hwm
    for pid in $(server_processes); do
        hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
        total=$((total + ${hwm:-0}))
    done
    echo "$total"
}

# vm_rss_kib PID: its resident memory now (VmRSS), in KiB.
vm_rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# stop_pid PID: TERM, then KILL after 5 s; quiet if it is gone already.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

stop_server() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; done
    SERVER_PIDS=()
}
