# Shared by the interop scripts (nginx_test.sh, apache_test.sh, ...): each puts
# a real server from Debian's packages in front of the installed fcgid, with a
# private config in a temp dir, on loopback ports only, and bounded in time.
#
# A script sets test_name, sources this file, then calls
#   interop_bound SECONDS "$@"   # re-runs the script under timeout(1)
#   interop_init                 # temp dir, fixtures, EXIT trap
# and reports each check with ok / not_ok (the run goes on) or fail (fatal).
# At exit it prints "# <test_name>: N passed, N failed" and exits non-zero if
# anything failed. Every process started with track_pid (and everything it
# spawned) is stopped at exit, TERM first, KILL after 5 s.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR.

# shellcheck shell=bash
# test_name, nginx_* and the NAME_port variables come from the scripts.
# shellcheck disable=SC2154

interop_passed=0
interop_failed=0
interop_pids=()
interop_logs=()
tmp=""

ok() {
    interop_passed=$((interop_passed + 1))
    echo "ok $((interop_passed + interop_failed)) - $*"
}

# A check that failed; the script goes on with the next one.
not_ok() {
    interop_failed=$((interop_failed + 1))
    echo "not ok $((interop_passed + interop_failed)) - $*"
}

# A failure the rest of the script cannot go on from.
fail() {
    not_ok "$*"
    exit 1
}

# interop_bound SECONDS "$@": GNU timeout signals its whole process group, so
# curl and the servers get the SIGTERM too and the EXIT trap still cleans up.
interop_bound() {
    local seconds=$1
    shift
    if [[ -z "${FCGID_INTEROP_BOUNDED:-}" ]]; then
        export FCGID_INTEROP_BOUNDED=1
        exec timeout --kill-after=10 "$seconds" bash "$0" "$@"
    fi
    interop_timeout=$seconds
}

# need_program VAR NAME [FALLBACK_PATH...]: sets VAR to the program from $VAR,
# PATH or a fallback path; a missing program FAILS the test.
need_program() {
    local var=$1 name=$2 found="${!1:-}" path
    shift 2
    [[ -n "$found" ]] || found="$(command -v "$name" || true)"
    for path in "$@"; do
        [[ -n "$found" ]] && break
        [[ -x "$path" ]] && found=$path
    done
    [[ -n "$found" && -x "$found" ]] ||
        fail "$name not found (\$$var, PATH${*:+, $*}): run scripts/dev.sh test, which installs it"
    printf -v "$var" '%s' "$found"
}

need_fcgid() {
    [[ -x "${FCGID_BIN:-}" ]] || fail "FCGID_BIN is not an executable: '${FCGID_BIN:-}'"
    local plugin
    for plugin in hello echo; do
        [[ -f "${FCGID_PLUGIN_DIR:-}/$plugin.so" ]] ||
            fail "no $plugin.so in FCGID_PLUGIN_DIR='${FCGID_PLUGIN_DIR:-}'"
    done
    command -v curl >/dev/null || fail "curl not found: run scripts/dev.sh test, which installs it"
}

# ---- Processes ---------------------------------------------------------------

track_pid() {
    interop_pids+=("$1")
}

# Every descendant of PID, deepest last.
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# signal_tree SIGNAL PID: SIGNAL to PID and every descendant at once (as a
# host that crashes, hangs or resumes as a whole); silent for gone processes.
signal_tree() {
    local signal=$1 pids
    pids="$2 $(descendants "$2")"
    # shellcheck disable=SC2086
    kill "-$signal" $pids 2>/dev/null || true
}

# tree_rss_kib PID: resident memory of PID and its descendants, summed, in KiB.
tree_rss_kib() {
    local pid total=0 rss
    for pid in "$1" $(descendants "$1"); do
        rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
        total=$((total + ${rss:-0}))
    done
    echo "$total"
}

# stop_tree PID: TERM PID, wait up to 5 s, then TERM and KILL whatever of its
# process tree (as it was before the TERM) is left. Silent if already gone.
stop_tree() {
    local pid=$1 tree p
    kill -0 "$pid" 2>/dev/null || return 0
    tree="$(descendants "$pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    for p in $tree; do
        kill -TERM "$p" 2>/dev/null || continue
        sleep 0.2
        kill -KILL "$p" 2>/dev/null || true
    done
}

# alive PID: the process exists and is not a zombie (an orphan's zombie may
# wait a while for init to reap it).
alive() {
    local state
    state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z ]]
}

# wait_exit PID SECONDS: 0 once PID is gone, 1 if it still runs after SECONDS.
wait_exit() {
    local pid=$1 tenths=$(($2 * 10))
    while ((tenths-- > 0)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

# wait_all_exit SECONDS PID...: prints the PIDs still alive after SECONDS.
wait_all_exit() {
    local tenths=$(($1 * 10)) p left
    shift
    while :; do
        left=""
        for p in "$@"; do
            alive "$p" && left+=" $p"
        done
        [[ -z "$left" ]] && return 0
        ((tenths-- > 0)) || break
        sleep 0.1
    done
    echo "$left"
}

# interop_cleanup [RC]: the EXIT trap (RC: the exit status, when the trap
# ran something else first).
interop_cleanup() {
    local rc=${1:-$?} i log
    trap - EXIT TERM INT
    # Last started first: web servers (which spawn or hold connections to
    # fcgid) stop before the fcgid processes.
    for ((i = ${#interop_pids[@]} - 1; i >= 0; i--)); do
        stop_tree "${interop_pids[i]}"
    done
    wait 2>/dev/null || true
    if ((rc != 0 || interop_failed != 0)); then
        for log in "${interop_logs[@]}"; do
            [[ -s "$tmp/$log" ]] || continue
            echo "# ---- last lines of $log ----"
            tail -n 20 "$tmp/$log" | sed 's/^/# /'
        done
    fi
    [[ -n "$tmp" ]] && rm -rf "$tmp"
    ((rc == 0 && interop_failed != 0)) && rc=1
    ((rc != 0 && interop_failed == 0)) && interop_failed=1
    echo "# $test_name: $interop_passed passed, $interop_failed failed"
    exit "$rc"
}

# interop_init: temp dir (readable by www-data, which Apache and supervisord
# programs run as), fixtures, traps.
interop_init() {
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/fcgid-$test_name.XXXXXX")"
    chmod 755 "$tmp"

    printf '%s' '<h1>Hello, World!</h1>' >"$tmp/hello.expected"
    head -c 1048576 /dev/urandom >"$tmp/random.bin"
    # byte i = 'a' + (i % 26), as the echo plugin's bytes=N writes it.
    { yes abcdefghijklmnopqrstuvwxyz | tr -d '\n' | head -c 5000000 >"$tmp/pattern.expected"; } 2>/dev/null || true
    [[ "$(stat -c %s "$tmp/pattern.expected")" == 5000000 ]] || fail "could not generate the expected pattern"
    chmod 644 "$tmp"/*
}

# share_with_www_data: servers that run as www-data (Apache's workers and
# the processes mod_fcgid spawns, h2o and its spawned processes, supervisord
# programs with user=www-data, fcgid --user www-data) must reach fcgid and
# its plugins. When we are root and they cannot (a checkout under a 0700
# home, as CI may have), serve copies from $tmp.
share_with_www_data() {
    [[ $(id -u) == 0 ]] || return 0
    if runuser -u www-data -- test -x "$FCGID_BIN" -a -r "$FCGID_PLUGIN_DIR/hello.so" \
        -a -r "$FCGID_PLUGIN_DIR/echo.so" 2>/dev/null; then
        return 0
    fi
    mkdir -p "$tmp/stage/bin" "$tmp/stage/plugins"
    cp "$FCGID_BIN" "$tmp/stage/bin/fcgid"
    cp "$FCGID_PLUGIN_DIR/hello.so" "$FCGID_PLUGIN_DIR/echo.so" "$tmp/stage/plugins/"
    chmod -R a+rX "$tmp/stage"
    echo "# www-data cannot reach $FCGID_BIN: serving copies from $tmp/stage"
    FCGID_BIN="$tmp/stage/bin/fcgid"
    FCGID_PLUGIN_DIR="$tmp/stage/plugins"
}

# show_log NAME: print the tail of $tmp/NAME when the test fails.
show_log() {
    interop_logs+=("$1")
}

trap interop_cleanup EXIT
trap 'fail "overall timeout (${interop_timeout:-?} s) or interrupted"' TERM INT

# ---- Ports -------------------------------------------------------------------

# A port nobody listens on now, below the kernel's ephemeral range (32768 and
# up) so that `--port 0` binds and outgoing connections of parallel tests never
# take it. Servers are still started in a retry loop (start_on_free_port).
pick_port() {
    local port hex
    while :; do
        port=$((20000 + RANDOM % 12000))
        hex="$(printf ':%04X' "$port")"
        awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null || break
    done
    echo "$port"
}

# start_on_free_port VAR FN: sets VAR to a free port and runs FN, up to 5
# times. FN starts a server on ${!VAR}; it returns 0 once the server is up, 2
# when the port turned out to be taken (try another), or calls fail.
start_on_free_port() {
    local var=$1 fn=$2 attempt rc
    for attempt in 1 2 3 4 5; do
        printf -v "$var" '%s' "$(pick_port)"
        rc=0
        "$fn" || rc=$?
        ((rc == 0)) && return 0
        ((rc == 2)) || fail "$fn failed ($rc)"
    done
    fail "$fn: no free port after $attempt attempts"
}

# wait_http PID PORT LOG [SECONDS]: 0 once anything answers HTTP on PORT, 2 if
# PID died with "in use" in LOG (port taken), fail otherwise.
wait_http() {
    local pid=$1 port=$2 log=$3 tenths=$((${4:-10} * 10))
    while ((tenths-- > 0)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            grep -qi "in use" "$tmp/$log" 2>/dev/null && return 2
            fail "$log: the server exited at startup"
        fi
        code="$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)"
        [[ -n "$code" && "$code" != 000 ]] && return 0
        sleep 0.1
    done
    fail "$log: nothing answered HTTP on port $port"
}

# ---- fcgid -------------------------------------------------------------------

# start_fcgid NAME PLUGIN [fcgid options...]: fcgid with PLUGIN.so (from
# FCGID_PLUGIN_DIR, or PLUGIN itself when it is an absolute path) on an
# ephemeral port (unless the options say where to listen), log in
# $tmp/NAME.log; sets NAME_pid, and NAME_port from its "listening on
# 127.x.y.z:PORT" line (any loopback address, as --host 127.0.0.2 gives;
# empty for other listeners).
start_fcgid() {
    local name=$1 plugin=$2 pid found="" listen=(--host 127.0.0.1 --port 0) pattern
    shift 2
    [[ "$plugin" == /* ]] || plugin="$FCGID_PLUGIN_DIR/$plugin.so"
    # Created here: sed must not race the background job's redirection.
    : >"$tmp/$name.log"
    [[ " $* " == *" --socket "* || " $* " == *" --port "* || " $* " == *" --fd "* ]] && listen=()
    "$FCGID_BIN" run --plugin "$plugin" "${listen[@]}" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.log" </dev/null &
    pid=$!
    track_pid "$pid"
    show_log "$name.log"
    pattern='s/.*listening on \(127\.[0-9.]*:[0-9][0-9]*\|unix:[^ ]*\|fd [0-9]*\).*/\1/p'
    for _ in $(seq 100); do
        found="$(sed -n "$pattern" "$tmp/$name.log" | head -n 1)"
        [[ -n "$found" ]] && break
        kill -0 "$pid" 2>/dev/null || fail "fcgid ($name) exited at startup: $(tail -n 1 "$tmp/$name.log")"
        sleep 0.1
    done
    [[ -n "$found" ]] || fail "fcgid ($name) printed no 'listening on ...' line in 10 s"
    printf -v "${name}_pid" '%s' "$pid"
    printf -v "${name}_port" '%s' "$(sed -n 's/^127\.[0-9.]*:\([0-9]*\)$/\1/p' <<<"$found")"
}

# stop_fcgid NAME: SIGTERM, then checks exit status 0 and the exiting line.
stop_fcgid() {
    local name=$1 pid_var="${1}_pid" rc=0
    local pid="${!pid_var}"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_exit "$pid" 10; then
        not_ok "fcgid ($name) still running 10 s after SIGTERM"
        return 0
    fi
    wait "$pid" || rc=$?
    if ((rc != 0)); then
        not_ok "fcgid ($name) exited with $rc after SIGTERM, expected 0"
    elif ! grep -q "exiting: signal SIGTERM" "$tmp/$name.log"; then
        not_ok "fcgid ($name) log has no 'exiting: signal SIGTERM' line"
    else
        ok "fcgid ($name) exits 0 on SIGTERM${2:+ $2}"
    fi
}

# ---- HTTP checks -------------------------------------------------------------

# request URL [curl args...]: body to $tmp/body, headers to $tmp/headers,
# status code to $status ("000" when curl itself failed).
request() {
    local url=$1
    shift
    status="$(curl -sS --max-time 30 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@" "$url" \
        2>"$tmp/curl.err")" || status="000 ($(tr '\n' ' ' <"$tmp/curl.err"))"
}

header() {
    grep -i "^$1:" "$tmp/headers" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

headers_oneline() {
    tr -d '\r' <"$tmp/headers" | tr '\n' '|'
}

# url_what URL LABEL: "/path (LABEL)" for the messages.
url_what() {
    echo "/${1#http://*/} ($2)"
}

# check_hello URL LABEL: 200, text/html, <h1>Hello, World!</h1>.
check_hello() {
    local url=$1 what
    what="$(url_what "$1" "$2")"
    request "$url"
    if [[ "$status" != 200 ]]; then
        not_ok "GET $what: status $status, expected 200 (headers: $(headers_oneline))"
    elif ! cmp -s "$tmp/body" "$tmp/hello.expected"; then
        not_ok "GET $what: body '$(head -c 200 "$tmp/body")'"
    elif [[ "$(header Content-Type)" != text/html* ]]; then
        not_ok "GET $what: Content-Type '$(header Content-Type)'"
    else
        ok "GET $what: 200, <h1>Hello, World!</h1>"
    fi
}

# check_echo_post URL LABEL: 1 MiB of random bytes come back byte for byte.
check_echo_post() {
    local url=$1 what
    what="$(url_what "$1" "$2")"
    request "$url" --data-binary "@$tmp/random.bin" -H 'Content-Type: application/octet-stream'
    if [[ "$status" != 200 ]]; then
        not_ok "POST 1 MiB to $what: status $status, expected 200 (headers: $(headers_oneline))"
    elif ! cmp -s "$tmp/body" "$tmp/random.bin"; then
        not_ok "POST 1 MiB to $what: body differs ($(stat -c %s "$tmp/body") bytes back, $(cmp "$tmp/body" "$tmp/random.bin" 2>&1 | head -n 1))"
    elif [[ "$(header X-Echo-Length)" != 1048576 || "$(header X-Echo-Method)" != POST ]]; then
        not_ok "POST 1 MiB to $what: X-Echo-Length '$(header X-Echo-Length)', X-Echo-Method '$(header X-Echo-Method)'"
    else
        ok "POST 1 MiB random to $what: identical body, X-Echo-Length 1048576"
    fi
}

# check_echo_5mb URL LABEL: URL?bytes=5000000 gives 5000000 bytes of the pattern.
check_echo_5mb() {
    local url=$1 what
    what="$(url_what "$1?bytes=5000000" "$2")"
    request "$url?bytes=5000000"
    if [[ "$status" != 200 ]]; then
        not_ok "GET $what: status $status, expected 200 (headers: $(headers_oneline))"
    elif ! cmp -s "$tmp/body" "$tmp/pattern.expected"; then
        not_ok "GET $what: body differs ($(stat -c %s "$tmp/body") bytes, $(cmp "$tmp/body" "$tmp/pattern.expected" 2>&1 | head -n 1))"
    else
        ok "GET $what: 5000000 bytes of the pattern"
    fi
}

# check_deferred URL LABEL: a response the plugin finishes 200 ms later from
# another thread (a web server that half-closed the connection after sending
# the request would make fcgid drop it).
check_deferred() {
    local what
    what="$(url_what "$1?bytes=10&delay_ms=200" "$2")"
    request "$1?bytes=10&delay_ms=200"
    if [[ "$status" == 200 && "$(cat "$tmp/body")" == abcdefghij ]]; then
        ok "GET $what: the deferred response arrives"
    else
        not_ok "GET $what: status $status, body '$(head -c 100 "$tmp/body")'"
    fi
}

# check_parallel_posts URL COUNT LABEL: COUNT POSTs at once to URL (an echo
# with delay_ms=300, say), each with its own body; every one must get its
# own body back. The note says how long all of them took.
check_parallel_posts() {
    local url="$1" count="$2" label="$3" i pid started elapsed_ms wait_failed=0 bodies_ok=1
    local curl_pids=()
    started="$(date +%s%N)"
    for ((i = 1; i <= count; i++)); do
        curl -sS --max-time 30 -o "$tmp/parallel.$i" --data-binary "request $i" "$url" &
        curl_pids+=("$!")
    done
    for pid in "${curl_pids[@]}"; do
        wait "$pid" || wait_failed=1
    done
    elapsed_ms=$((($(date +%s%N) - started) / 1000000))
    for ((i = 1; i <= count; i++)); do
        [[ "$(cat "$tmp/parallel.$i" 2>/dev/null)" == "request $i" ]] || bodies_ok=0
    done
    if ((wait_failed == 0 && bodies_ok == 1)); then
        ok "$count parallel POSTs $label: each got its own body (${elapsed_ms} ms)"
    else
        not_ok "$count parallel POSTs $label: a curl failed or a body was wrong"
    fi
}

# check_trio BASE LABEL: hello at BASE/hello/, echo at BASE/echo/.
check_trio() {
    check_hello "$1/hello/" "$2"
    check_echo_post "$1/echo/" "$2"
    check_echo_5mb "$1/echo/" "$2"
}

# Sockets in state ESTABLISHED whose local port is $1 (fcgid's side).
established_on_port() {
    local hex
    hex="$(printf '%04X' "$1")"
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v p=":$hex" '$4 == "01" && substr($2, length($2) - 4) == p' | wc -l
}

# ---- nginx -------------------------------------------------------------------

# nginx_prepare: finds nginx, writes $tmp/fastcgi_params, and sets
# nginx_temp_paths for the http {} block so nothing is written outside $tmp.
nginx_prepare() {
    need_program nginx_bin nginx /usr/sbin/nginx
    local build module
    build="$("$nginx_bin" -V 2>&1)"
    nginx_temp_paths="client_body_temp_path $tmp/client_body; fastcgi_temp_path $tmp/fastcgi; proxy_temp_path $tmp/proxy;"
    # Modules nginx-light leaves out must not appear in the config.
    for module in scgi uwsgi; do
        [[ "$build" == *"--without-http_${module}_module"* ]] || nginx_temp_paths+=" ${module}_temp_path $tmp/$module;"
    done
    # The usual CGI params, written here so the test does not depend on /etc/nginx.
    cat >"$tmp/fastcgi_params" <<'EOF'
fastcgi_param QUERY_STRING      $query_string;
fastcgi_param REQUEST_METHOD    $request_method;
fastcgi_param CONTENT_TYPE      $content_type;
fastcgi_param CONTENT_LENGTH    $content_length;
fastcgi_param SCRIPT_NAME       $fastcgi_script_name;
fastcgi_param REQUEST_URI       $request_uri;
fastcgi_param DOCUMENT_URI      $document_uri;
fastcgi_param SERVER_PROTOCOL   $server_protocol;
fastcgi_param REQUEST_SCHEME    $scheme;
fastcgi_param GATEWAY_INTERFACE CGI/1.1;
fastcgi_param SERVER_SOFTWARE   nginx/$nginx_version;
fastcgi_param REMOTE_ADDR       $remote_addr;
fastcgi_param REMOTE_PORT       $remote_port;
fastcgi_param SERVER_ADDR       $server_addr;
fastcgi_param SERVER_PORT       $server_port;
fastcgi_param SERVER_NAME       $server_name;
EOF
}

# start_nginx: nginx_http (text inside http {}) and nginx_server (text inside
# server {}) must be set; sets nginx_port and nginx_pid. Optional:
# nginx_worker_connections (default 512). Access log lines:
# "$request $status $body_bytes_sent upstream=$upstream_addr upstream_status=...".
start_nginx() {
    show_log nginx-error.log
    show_log nginx-access.log
    start_on_free_port nginx_port nginx_start_once
}

nginx_start_once() {
    cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log info;
events { worker_connections ${nginx_worker_connections:-512}; }
http {
    log_format upstream '\$request \$status \$body_bytes_sent upstream=\$upstream_addr '
                        'upstream_status=\$upstream_status connect=\$upstream_connect_time';
    access_log $tmp/nginx-access.log upstream;
    $nginx_temp_paths
    client_max_body_size 16m;
$nginx_http
    server {
        listen 127.0.0.1:$nginx_port;
        location = /ping { return 204; }
$nginx_server
    }
}
EOF
    : >"$tmp/nginx-error.log"
    "$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" </dev/null >"$tmp/nginx.out" 2>&1 &
    nginx_pid=$!
    track_pid "$nginx_pid"
    for _ in $(seq 50); do
        if ! kill -0 "$nginx_pid" 2>/dev/null; then
            grep -q "Address already in use" "$tmp/nginx-error.log" "$tmp/nginx.out" && return 2
            cat "$tmp/nginx.out"
            fail "nginx exited at startup"
        fi
        curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$nginx_port/ping" && return 0
        sleep 0.1
    done
    fail "nginx did not answer on port $nginx_port within 5 s"
}
