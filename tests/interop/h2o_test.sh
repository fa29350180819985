#!/usr/bin/env bash
# h2o in front of the installed fcgid, both ways packaging/h2o/h2o.conf shows:
#   /connect/...  fastcgi.connect to fcgid on its own port (a connection per request)
#   /keep/...     the same with fastcgi.timeout.keepalive (connections reused)
#   /unix/...     fastcgi.connect type: unix to fcgid run --socket
#   /spawn/...    fastcgi.spawn: h2o starts fcgid itself with the listening
#                 socket on fd 0, and stops it (SIGTERM) when h2o exits
#   /recycle/     fastcgi.spawn of fcgid --workers 2 --request-limit 2: h2o
#                 never restarts what it spawned, fcgid's master does
# A private h2o (own config and logs in a temp dir) on a free loopback
# port; when we are root it runs as www-data (the `user` directive), and so do
# the processes it spawns.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional: H2O_BIN.
# h2o is required: a missing one FAILS the test (scripts/dev.sh installs it).
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=h2o_test
here="$(cd "$(dirname "$0")" && pwd)"
packaging="$(cd "$here/../../packaging" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
interop_bound 100 "$@"

H2O_BIN="${H2O_BIN:-}"
need_program H2O_BIN h2o /usr/bin/h2o
need_fcgid
interop_init
share_with_www_data
echo "# $("$H2O_BIN" --version | head -n 1)"

start_fcgid hello hello
start_fcgid echo echo
start_fcgid hello_keep hello
start_fcgid echo_keep echo
socket_owner=()
[[ $(id -u) == 0 ]] && socket_owner=(--socket-group www-data)
start_fcgid hello_unix hello --socket "$tmp/hello.sock" "${socket_owner[@]}"
start_fcgid echo_unix echo --socket "$tmp/echo.sock" "${socket_owner[@]}"

user_line=""
[[ $(id -u) == 0 ]] && user_line="user: www-data"
touch "$tmp/h2o-error.log" "$tmp/h2o-access.log"
chmod 666 "$tmp/h2o-error.log" "$tmp/h2o-access.log"

# The packaged config must pass h2o -t (ports and paths made ours).
sed -e "s|/usr/bin/fcgid|$FCGID_BIN|g" -e "s|/usr/lib/fcgid/plugins|$FCGID_PLUGIN_DIR|g" \
    -e "s|port: 80$|port: 1|" -e "s|/var/log/h2o/|$tmp/|g" -e "s|^user: www-data|$user_line|" \
    "$packaging/h2o/h2o.conf" >"$tmp/packaged.conf"
if grep -q fastcgi.spawn "$tmp/packaged.conf" && "$H2O_BIN" -t -c "$tmp/packaged.conf" >"$tmp/packaged.check" 2>&1; then
    ok "packaging/h2o/h2o.conf passes h2o -t"
else
    not_ok "packaging/h2o/h2o.conf: h2o -t says: $(tr '\n' ' ' <"$tmp/packaged.check" 2>/dev/null)"
fi

connect() {
    # connect PATH PORT_OR_SOCKET TYPE [keepalive ms]
    cat <<EOF
      "$1":
        fastcgi.connect:
          host: 127.0.0.1
          port: $2
          type: $3
EOF
    [[ -n "${4:-}" ]] && echo "        fastcgi.timeout.keepalive: $4"
    return 0
}

start_h2o_once() {
    cat >"$tmp/h2o.conf" <<EOF
listen:
  host: 127.0.0.1
  port: $h2o_port
error-log: $tmp/h2o-error.log
access-log: $tmp/h2o-access.log
$user_line
num-threads: 1
hosts:
  default:
    paths:
$(connect /connect/hello "$hello_port" tcp)
$(connect /connect/echo "$echo_port" tcp)
$(connect /keep/hello "$hello_keep_port" tcp 10000)
$(connect /keep/echo "$echo_keep_port" tcp 10000)
$(connect /unix/hello "$tmp/hello.sock" unix)
$(connect /unix/echo "$tmp/echo.sock" unix)
      "/spawn/hello":
        fastcgi.spawn: "exec $FCGID_BIN run --plugin $FCGID_PLUGIN_DIR/hello.so"
      "/spawn/echo":
        fastcgi.spawn:
          command: "exec $FCGID_BIN run --plugin $FCGID_PLUGIN_DIR/echo.so"
      "/recycle":
        fastcgi.spawn: "exec $FCGID_BIN run --plugin $FCGID_PLUGIN_DIR/echo.so --workers 2 --request-limit 2"
EOF
    "$H2O_BIN" -t -c "$tmp/h2o.conf" >"$tmp/configtest.log" 2>&1 ||
        fail "h2o -t: $(tr '\n' ' ' <"$tmp/configtest.log")"
    "$H2O_BIN" -c "$tmp/h2o.conf" </dev/null >"$tmp/h2o.out" 2>&1 &
    h2o_pid=$!
    track_pid "$h2o_pid"
    wait_http "$h2o_pid" "$h2o_port" h2o.out
}
show_log h2o-error.log
show_log h2o.out
start_on_free_port h2o_port start_h2o_once
base="http://127.0.0.1:$h2o_port"
echo "# fcgid hello on $hello_port, echo on $echo_port, h2o on $h2o_port"

check_trio "$base/connect" "fastcgi.connect"
check_deferred "$base/connect/echo/" "fastcgi.connect"
for _ in $(seq 30); do
    (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)) && break
    sleep 0.1
done
if (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)); then
    ok "fastcgi.connect: no connection to fcgid left open after the responses"
else
    not_ok "fastcgi.connect: connections to fcgid still open 3 s after the responses"
fi

check_trio "$base/keep" "fastcgi.timeout.keepalive, round 1"
check_trio "$base/keep" "fastcgi.timeout.keepalive, round 2"
check_deferred "$base/keep/echo/" "fastcgi.timeout.keepalive"
kept=$(($(established_on_port "$hello_keep_port") + $(established_on_port "$echo_keep_port")))
if ((kept >= 2)); then
    ok "fastcgi.timeout.keepalive: $kept connections kept open for reuse"
else
    not_ok "fastcgi.timeout.keepalive: $kept connection(s) to fcgid left open, expected at least one each"
fi

check_trio "$base/unix" "fastcgi.connect type unix"
check_trio "$base/spawn" "fastcgi.spawn, socket on fd 0"
check_deferred "$base/spawn/echo/" "fastcgi.spawn"
# h2o starts them on the first request; their stderr is h2o's own.
spawned_lines="$(cat "$tmp/h2o.out" "$tmp/h2o-error.log" | grep -c "listening on fd 0 (unix:" || true)"
if ((spawned_lines >= 2)); then
    ok "fastcgi.spawn: both spawned fcgid processes logged 'listening on fd 0 (unix:...)'"
else
    not_ok "fastcgi.spawn: $spawned_lines 'listening on fd 0 (unix:...)' lines in h2o's output, expected 2"
fi

# h2o never starts a spawned process again; with --workers the master keeps
# the socket and restarts each worker that a limit recycled.
failed=0
for i in $(seq 12); do
    request "$base/recycle/?bytes=$i"
    [[ "$status" == 200 && "$(stat -c %s "$tmp/body")" == "$i" ]] || failed=$((failed + 1))
done
recycled="$(cat "$tmp/h2o.out" "$tmp/h2o-error.log" | grep -c "exiting: request limit reached" || true)"
if ((failed == 0 && recycled >= 4)); then
    ok "fastcgi.spawn + --workers 2 --request-limit 2: 12 requests all 200, $recycled workers recycled"
else
    not_ok "fastcgi.spawn + --workers 2 --request-limit 2: $failed of 12 requests failed, $recycled workers recycled (expected >= 4)"
fi

stop_fcgid hello_keep "while h2o holds idle keepalive connections"
stop_fcgid echo_keep "while h2o holds idle keepalive connections"
stop_fcgid hello
stop_fcgid echo
stop_fcgid hello_unix
stop_fcgid echo_unix

# h2o stops what it spawned: SIGTERM, and fcgid drains and exits 0.
spawned="$(pgrep -d ' ' -x fcgid -P "$(descendants "$h2o_pid" | tr '\n' ',' | sed 's/,$//'),$h2o_pid" || true)"
kill -TERM "$h2o_pid"
if ! wait_exit "$h2o_pid" 15; then
    not_ok "h2o still running 15 s after SIGTERM"
else
    # shellcheck disable=SC2086
    left="$(wait_all_exit 10 $spawned)"
    if [[ -z "$spawned" ]]; then
        not_ok "no fcgid process spawned by h2o was running before it stopped"
    elif [[ -n "$left" ]]; then
        not_ok "fcgid processes spawned by h2o still running after it stopped:$left"
    else
        ok "h2o stopped: the $(wc -w <<<"$spawned") fcgid processes it spawned are gone"
    fi
fi
