#!/usr/bin/env bash
# nginx in front of the installed fcgid, as operators run it (packaging/nginx/).
#
# Starts fcgid with hello.so and with echo.so on ephemeral ports, and a
# private nginx (own config, logs, pid and temp dirs in a temp dir) that
# reaches them three ways:
#   /plain/...  fastcgi_pass host:port          (a connection per request)
#   /keep/...   upstream keepalive + fastcgi_keep_conn on (connections reused)
#   /unix/...   fastcgi_pass unix:...  (fcgid run --socket, two more processes)
# then checks with curl what a browser would get.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional: NGINX_BIN.
# nginx and curl are required: a missing one FAILS the test (scripts/dev.sh installs them).
set -euo pipefail

# Bound the whole run. GNU timeout signals its whole process group, so curl,
# nginx and fcgid get the SIGTERM too and the EXIT trap still cleans up.
if [[ -z "${FCGID_NGINX_TEST_BOUNDED:-}" ]]; then
    export FCGID_NGINX_TEST_BOUNDED=1
    exec timeout --kill-after=10 100 bash "$0" "$@"
fi

passed=0
fail() {
    echo "not ok - $*" >&2
    exit 1
}
ok() {
    passed=$((passed + 1))
    echo "ok $passed - $*"
}

# ---- Prerequisites ---------------------------------------------------------

nginx_bin="${NGINX_BIN:-$(command -v nginx || true)}"
if [[ -z "$nginx_bin" && -x /usr/sbin/nginx ]]; then
    nginx_bin=/usr/sbin/nginx
fi
[[ -n "$nginx_bin" && -x "$nginx_bin" ]] ||
    fail "nginx not found (NGINX_BIN, PATH, /usr/sbin/nginx): run scripts/dev.sh test, which installs nginx-light"
command -v curl >/dev/null ||
    fail "curl not found: run scripts/dev.sh test, which installs curl"
[[ -x "${FCGID_BIN:-}" ]] || fail "FCGID_BIN is not an executable: '${FCGID_BIN:-}'"
for plugin in hello echo; do
    [[ -f "${FCGID_PLUGIN_DIR:-}/$plugin.so" ]] || fail "no $plugin.so in FCGID_PLUGIN_DIR='${FCGID_PLUGIN_DIR:-}'"
done
echo "# $("$nginx_bin" -v 2>&1), $(curl --version | head -n 1)"

# ---- Processes and cleanup -------------------------------------------------

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fcgid-nginx.XXXXXX")"
pids=()
# Set by start_fcgid through printf -v, read through ${!name}.
# shellcheck disable=SC2034
hello_pid="" hello_port="" echo_pid="" echo_port="" nginx_port="" hello_unix_pid="" echo_unix_pid=""

# TERM, then KILL after 5 s; silent if already gone.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT TERM INT
    for pid in "${pids[@]}"; do
        stop_pid "$pid"
    done
    wait 2>/dev/null || true
    if ((rc != 0)); then
        for log in hello.log echo.log hello_unix.log echo_unix.log error.log access.log; do
            [[ -s "$tmp/$log" ]] || continue
            echo "# ---- last lines of $log ----" >&2
            tail -n 40 "$tmp/$log" | sed 's/^/# /' >&2
        done
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'fail "overall timeout (100 s) or interrupted"' TERM INT

# start_fcgid PLUGIN: runs fcgid with PLUGIN.so on an ephemeral port and sets
# PLUGIN_pid and PLUGIN_port from its "listening on 127.0.0.1:PORT" line.
# start_fcgid PLUGIN unix: the same on the unix socket $tmp/PLUGIN.sock; sets
# PLUGIN_unix_pid once "listening on unix:..." was logged.
start_fcgid() {
    local plugin="$1" name="$1" pid found="" listen_args pattern
    if [[ "${2:-}" == unix ]]; then
        name="${plugin}_unix"
        listen_args=(--socket "$tmp/$plugin.sock")
        pattern='s/.*listening on unix:\(.*\.sock\) .*/\1/p'
    else
        listen_args=(--host 127.0.0.1 --port 0)
        pattern='s/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p'
    fi
    "$FCGID_BIN" run --plugin "$FCGID_PLUGIN_DIR/$plugin.so" "${listen_args[@]}" \
        >"$tmp/$name.out" 2>"$tmp/$name.log" &
    pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
        found="$(sed -n "$pattern" "$tmp/$name.log" | head -n 1)"
        [[ -n "$found" ]] && break
        kill -0 "$pid" 2>/dev/null || fail "fcgid ($name) exited at startup"
        sleep 0.1
    done
    [[ -n "$found" ]] || fail "fcgid ($name) printed no 'listening on ...' line in 10 s"
    printf -v "${name}_pid" '%s' "$pid"
    [[ "${2:-}" == unix ]] || printf -v "${name}_port" '%s' "$found"
}

# ---- nginx -----------------------------------------------------------------

# Modules nginx-light leaves out must not appear in the config; the ones built
# in get their temp dirs here so nothing is written outside $tmp.
nginx_build="$("$nginx_bin" -V 2>&1)"
optional_temp_paths=""
for module in scgi uwsgi; do
    if [[ "$nginx_build" != *"--without-http_${module}_module"* ]]; then
        optional_temp_paths+="    ${module}_temp_path $tmp/$module;"$'\n'
    fi
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

write_nginx_conf() {
    cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log info;
events { worker_connections 64; }
http {
    log_format upstream '\$request \$status \$body_bytes_sent upstream=\$upstream_addr '
                        'upstream_status=\$upstream_status connect=\$upstream_connect_time';
    access_log $tmp/access.log upstream;
    client_body_temp_path $tmp/client_body;
    fastcgi_temp_path $tmp/fastcgi;
    proxy_temp_path $tmp/proxy;
$optional_temp_paths
    client_max_body_size 16m;

    upstream hello_keep { server 127.0.0.1:$hello_port; keepalive 4; }
    upstream echo_keep  { server 127.0.0.1:$echo_port;  keepalive 4; }

    server {
        listen 127.0.0.1:$nginx_port;
        location = /ping { return 204; }

        location /plain/hello/ { include $tmp/fastcgi_params; fastcgi_pass 127.0.0.1:$hello_port; }
        location /plain/echo/  { include $tmp/fastcgi_params; fastcgi_pass 127.0.0.1:$echo_port; }

        location /keep/hello/ {
            include $tmp/fastcgi_params;
            fastcgi_pass hello_keep;
            fastcgi_keep_conn on;
        }
        location /keep/echo/ {
            include $tmp/fastcgi_params;
            fastcgi_pass echo_keep;
            fastcgi_keep_conn on;
        }

        location /unix/hello/ { include $tmp/fastcgi_params; fastcgi_pass unix:$tmp/hello.sock; }
        location /unix/echo/  { include $tmp/fastcgi_params; fastcgi_pass unix:$tmp/echo.sock; }
    }
}
EOF
}

# Picks a random port and retries when it is taken: no helper program needed,
# and no window between probing a port and binding it.
start_nginx() {
    local attempt
    for attempt in 1 2 3 4 5; do
        nginx_port=$((20000 + RANDOM % 30000))
        write_nginx_conf
        : >"$tmp/error.log"
        "$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" </dev/null >"$tmp/nginx.out" 2>&1 &
        nginx_pid=$!
        pids+=("$nginx_pid")
        for _ in $(seq 50); do
            if ! kill -0 "$nginx_pid" 2>/dev/null; then
                grep -q "Address already in use" "$tmp/error.log" "$tmp/nginx.out" && continue 2
                cat "$tmp/nginx.out" >&2
                fail "nginx exited at startup"
            fi
            if curl -s --max-time 2 -o /dev/null "http://127.0.0.1:$nginx_port/ping"; then
                return 0
            fi
            sleep 0.1
        done
        fail "nginx did not answer on port $nginx_port within 5 s"
    done
    fail "no free port for nginx after $attempt attempts"
}

# ---- Helpers for the checks ------------------------------------------------

# request URL [curl args...]: body to $tmp/body, headers to $tmp/headers,
# status code to $status.
request() {
    local url="$1"
    shift
    status="$(curl -sS --max-time 30 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@" \
        "http://127.0.0.1:$nginx_port$url")" || fail "curl $url failed"
}

header() {
    grep -i "^$1:" "$tmp/headers" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

expect_status() {
    [[ "$status" == "$1" ]] || fail "$2: status $status, expected $1 (headers: $(tr -d '\r' <"$tmp/headers" | tr '\n' '|'))"
}

# Sockets in state ESTABLISHED whose local port is $1 (fcgid's side).
established_on_port() {
    local hex
    hex="$(printf '%04X' "$1")"
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v p=":$hex" '$4 == "01" && substr($2, length($2) - 4) == p' | wc -l
}

# ---- The checks ------------------------------------------------------------

start_fcgid hello
start_fcgid echo
start_fcgid hello unix
start_fcgid echo unix
start_nginx
echo "# fcgid hello on $hello_port, echo on $echo_port, nginx on $nginx_port"

printf '%s' '<h1>Hello, World!</h1>' >"$tmp/hello.expected"
head -c 1048576 /dev/urandom >"$tmp/random.bin"
# byte i = 'a' + (i % 26), as the echo plugin's bytes=N writes it.
{ yes abcdefghijklmnopqrstuvwxyz | tr -d '\n' | head -c 5000000 >"$tmp/pattern.expected"; } 2>/dev/null || true
[[ "$(stat -c %s "$tmp/pattern.expected")" == 5000000 ]] || fail "could not generate the expected pattern"

check_mode() {
    local mode="$1" round="$2"
    local what="$mode, round $round"

    request "/$mode/hello/"
    expect_status 200 "GET /$mode/hello/ ($what)"
    cmp -s "$tmp/body" "$tmp/hello.expected" ||
        fail "GET /$mode/hello/ ($what): body '$(head -c 200 "$tmp/body")'"
    [[ "$(header Content-Type)" == text/html* ]] ||
        fail "GET /$mode/hello/ ($what): Content-Type '$(header Content-Type)'"
    ok "GET /$mode/hello/ ($what): 200, <h1>Hello, World!</h1>"

    request "/$mode/echo/" --data-binary "@$tmp/random.bin" -H 'Content-Type: application/octet-stream'
    expect_status 200 "POST 1 MiB to /$mode/echo/ ($what)"
    cmp "$tmp/body" "$tmp/random.bin" >&2 ||
        fail "POST 1 MiB to /$mode/echo/ ($what): body differs ($(stat -c %s "$tmp/body") bytes back)"
    [[ "$(header X-Echo-Length)" == 1048576 ]] ||
        fail "POST 1 MiB to /$mode/echo/ ($what): X-Echo-Length '$(header X-Echo-Length)'"
    [[ "$(header X-Echo-Method)" == POST ]] ||
        fail "POST 1 MiB to /$mode/echo/ ($what): X-Echo-Method '$(header X-Echo-Method)'"
    ok "POST 1 MiB random to /$mode/echo/ ($what): identical body, X-Echo-Length 1048576"

    request "/$mode/echo/?bytes=5000000"
    expect_status 200 "GET /$mode/echo/?bytes=5000000 ($what)"
    cmp "$tmp/body" "$tmp/pattern.expected" >&2 ||
        fail "GET /$mode/echo/?bytes=5000000 ($what): body differs ($(stat -c %s "$tmp/body") bytes)"
    ok "GET /$mode/echo/?bytes=5000000 ($what): 5000000 bytes of the pattern"
}

check_mode plain 1
# KEEP_CONN was clear, so fcgid closes each connection after its END_REQUEST.
for _ in $(seq 30); do
    (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)) && break
    sleep 0.1
done
(($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)) ||
    fail "plain fastcgi_pass: connections to fcgid still open 3 s after the responses"
ok "plain fastcgi_pass: fcgid closed every connection after its request"

check_mode unix 1
check_mode keep 1
check_mode keep 2
# With KEEP_CONN set, fcgid leaves the connections open for nginx to reuse.
kept_hello="$(established_on_port "$hello_port")"
kept_echo="$(established_on_port "$echo_port")"
((kept_hello >= 1 && kept_echo >= 1)) ||
    fail "keepalive: $kept_hello connection(s) to hello and $kept_echo to echo left open, expected at least 1 each"
ok "keepalive: connections kept open for reuse (hello $kept_hello, echo $kept_echo)"

# Deferred responses on several connections at once.
started="$(date +%s%N)"
curl_pids=()
for i in 1 2 3 4 5 6 7 8; do
    curl -sS --max-time 30 -o "$tmp/parallel.$i" --data-binary "request $i" \
        "http://127.0.0.1:$nginx_port/keep/echo/?delay_ms=300" &
    curl_pids+=("$!")
done
wait_failed=0
for pid in "${curl_pids[@]}"; do
    wait "$pid" || wait_failed=1
done
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
((wait_failed == 0)) || fail "parallel delay_ms=300 requests: a curl failed"
for i in 1 2 3 4 5 6 7 8; do
    [[ "$(cat "$tmp/parallel.$i")" == "request $i" ]] ||
        fail "parallel delay_ms=300 request $i: body '$(head -c 100 "$tmp/parallel.$i")'"
done
ok "8 parallel POSTs with delay_ms=300 through keepalive: each got its own body (${elapsed_ms} ms)"

# SIGTERM drains: idle keepalive connections from nginx (to hello and echo)
# must not hold it up.
for name in hello echo hello_unix echo_unix; do
    pid_var="${name}_pid"
    pid="${!pid_var}"
    kill -TERM "$pid"
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "fcgid ($name) still running 10 s after SIGTERM"
    rc=0
    wait "$pid" || rc=$?
    ((rc == 0)) || fail "fcgid ($name) exited with $rc after SIGTERM, expected 0"
    grep -q "exiting: signal SIGTERM" "$tmp/$name.log" ||
        fail "fcgid ($name) log has no 'exiting: signal SIGTERM' line"
    ok "fcgid ($name) exits 0 on SIGTERM$([[ $name == *_unix ]] || echo ' while nginx holds idle keepalive connections')"
done

echo "# nginx_test: $passed passed, 0 failed"
