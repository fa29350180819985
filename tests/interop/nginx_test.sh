#!/usr/bin/env bash
# nginx in front of the installed fcgid, as operators run it (packaging/nginx/).
#
# Starts fcgid with hello.so and with echo.so on ephemeral ports, and a
# private nginx (own config, logs, pid and temp dirs in a temp dir) that
# reaches them four ways:
#   /plain/...  fastcgi_pass host:port          (a connection per request)
#   /keep/...   upstream keepalive + fastcgi_keep_conn on (connections reused)
#   /unix/...   fastcgi_pass unix:...  (fcgid run --socket, two more processes)
#   /multi/...  an upstream of several fcgid processes (2 hello, 3 echo), as
#               packaging/nginx/fcgid.conf has it, with keepalive
# then checks with curl what a browser would get.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional: NGINX_BIN.
# nginx and curl are required: a missing one FAILS the test (scripts/dev.sh installs them).
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=nginx_test
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_bound 100 "$@"

NGINX_BIN="${NGINX_BIN:-}"
need_program NGINX_BIN nginx /usr/sbin/nginx
nginx_bin=$NGINX_BIN
need_fcgid
interop_init
nginx_prepare
echo "# $("$nginx_bin" -v 2>&1), $(curl --version | head -n 1)"

# ---- fcgid and nginx ---------------------------------------------------------

start_fcgid hello hello
start_fcgid echo echo
start_fcgid hello_unix hello --socket "$tmp/hello.sock"
start_fcgid echo_unix echo --socket "$tmp/echo.sock"
multi_echo=()
for i in 1 2 3; do
    start_fcgid "multi_echo$i" echo
    port_var="multi_echo${i}_port"
    multi_echo+=("${!port_var}")
done
start_fcgid multi_hello1 hello
start_fcgid multi_hello2 hello

fastcgi="include $tmp/fastcgi_params;"
nginx_http="
    upstream hello_keep { server 127.0.0.1:$hello_port; keepalive 4; }
    upstream echo_keep  { server 127.0.0.1:$echo_port;  keepalive 4; }
    upstream multi_hello {
        server 127.0.0.1:$multi_hello1_port;
        server 127.0.0.1:$multi_hello2_port;
        keepalive 4;
    }
    upstream multi_echo {
        server 127.0.0.1:${multi_echo[0]};
        server 127.0.0.1:${multi_echo[1]};
        server 127.0.0.1:${multi_echo[2]};
        keepalive 4;
    }"
nginx_server="
        location /plain/hello/ { $fastcgi fastcgi_pass 127.0.0.1:$hello_port; }
        location /plain/echo/  { $fastcgi fastcgi_pass 127.0.0.1:$echo_port; }
        location /keep/hello/  { $fastcgi fastcgi_pass hello_keep; fastcgi_keep_conn on; }
        location /keep/echo/   { $fastcgi fastcgi_pass echo_keep;  fastcgi_keep_conn on; }
        location /unix/hello/  { $fastcgi fastcgi_pass unix:$tmp/hello.sock; }
        location /unix/echo/   { $fastcgi fastcgi_pass unix:$tmp/echo.sock; }
        location /multi/hello/ { $fastcgi fastcgi_pass multi_hello; fastcgi_keep_conn on; }
        location /multi/echo/  { $fastcgi fastcgi_pass multi_echo;  fastcgi_keep_conn on; }"
start_nginx
base="http://127.0.0.1:$nginx_port"
echo "# fcgid hello on $hello_port, echo on $echo_port, echo upstream ${multi_echo[*]}, nginx on $nginx_port"

# ---- The checks --------------------------------------------------------------

check_trio "$base/plain" "plain, round 1"
# KEEP_CONN was clear, so fcgid closes each connection after its END_REQUEST.
for _ in $(seq 30); do
    (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)) && break
    sleep 0.1
done
if (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)); then
    ok "plain fastcgi_pass: fcgid closed every connection after its request"
else
    not_ok "plain fastcgi_pass: connections to fcgid still open 3 s after the responses"
fi

check_trio "$base/unix" "unix, round 1"
check_trio "$base/keep" "keep, round 1"
check_trio "$base/keep" "keep, round 2"
# With KEEP_CONN set, fcgid leaves the connections open for nginx to reuse.
kept_hello="$(established_on_port "$hello_port")"
kept_echo="$(established_on_port "$echo_port")"
if ((kept_hello >= 1 && kept_echo >= 1)); then
    ok "keepalive: connections kept open for reuse (hello $kept_hello, echo $kept_echo)"
else
    not_ok "keepalive: $kept_hello connection(s) to hello and $kept_echo to echo left open, expected at least 1 each"
fi

# Deferred responses on several connections at once.
check_parallel_posts "$base/keep/echo/?delay_ms=300" 8 "with delay_ms=300 through keepalive"

# The browser goes away: nginx closes its FastCGI connection before
# END_REQUEST (a deferred response not finished yet, and a 50 MB one being
# streamed). fcgid drops those requests and goes on serving.
curl -s --max-time 0.3 -o /dev/null "$base/plain/echo/?delay_ms=1000" || true
curl -s --max-time 0.3 -o /dev/null "$base/keep/echo/?delay_ms=1000" || true
curl -s --max-time 1 --limit-rate 1M -o /dev/null "$base/keep/echo/?bytes=50000000" || true
sleep 1.2
request "$base/keep/echo/?bytes=26"
if alive "$echo_pid" && [[ "$status" == 200 && "$(cat "$tmp/body")" == abcdefghijklmnopqrstuvwxyz ]]; then
    ok "nginx closing the connection before END_REQUEST (client gone): fcgid drops the request and goes on serving"
else
    not_ok "after nginx closed connections before END_REQUEST: fcgid (echo) $(alive "$echo_pid" && echo "answers $status" || echo "is gone")"
fi

# Several fcgid processes behind one upstream.
check_trio "$base/multi" "upstream of several processes"
: >"$tmp/nginx-access.log"
failed=0
for i in $(seq 30); do
    request "$base/multi/echo/?bytes=10"
    [[ "$status" == 200 ]] || failed=$((failed + 1))
done
served_by="$(grep -o 'upstream=127\.0\.0\.1:[0-9]*' "$tmp/nginx-access.log" | sort -u | wc -l)"
if ((failed == 0 && served_by == 3)); then
    ok "30 GETs through the upstream of 3 echo processes: all 200, spread over all 3"
else
    not_ok "30 GETs through the upstream of 3 echo processes: $failed failed, served by $served_by of 3"
fi
# One of them goes away (SIGTERM drains it): nginx passes on to the others.
stop_fcgid multi_echo2 "(one of the upstream)"
failed=0
for i in $(seq 30); do
    request "$base/multi/echo/?bytes=10"
    [[ "$status" == 200 && "$(cat "$tmp/body")" == abcdefghij ]] || failed=$((failed + 1))
done
if ((failed == 0)); then
    ok "30 GETs with one of the 3 upstream processes stopped: all 200"
else
    not_ok "30 GETs with one of the 3 upstream processes stopped: $failed failed"
fi

# SIGTERM drains: idle keepalive connections from nginx (to hello and echo)
# must not hold it up.
stop_fcgid hello "while nginx holds idle keepalive connections"
stop_fcgid echo "while nginx holds idle keepalive connections"
stop_fcgid hello_unix
stop_fcgid echo_unix
