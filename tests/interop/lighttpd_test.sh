#!/usr/bin/env bash
# lighttpd 1.4 mod_fastcgi in front of the installed fcgid, both ways
# packaging/lighttpd/fcgid.conf shows:
#   /hp/...       "host"/"port": fcgid runs on its own
#   /spawn/...    "bin-path": lighttpd starts fcgid itself (max-procs 2) with
#                 the listening unix socket on fd 0
#   /recycle/     "bin-path" with --request-limit 3: lighttpd restarts each
#                 process that exits, and no request fails (max-procs 2)
#   /recycle-workers/  max-procs 1 and fcgid --workers 2 --request-limit 3
# A private lighttpd (own config, logs and sockets in a temp dir) on a free
# loopback port.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional: LIGHTTPD_BIN.
# lighttpd is required: a missing one FAILS the test (scripts/dev.sh installs it).
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=lighttpd_test
here="$(cd "$(dirname "$0")" && pwd)"
packaging="$(cd "$here/../../packaging" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
interop_bound 150 "$@"

LIGHTTPD_BIN="${LIGHTTPD_BIN:-}"
need_program LIGHTTPD_BIN lighttpd /usr/sbin/lighttpd
need_fcgid
interop_init
echo "# $("$LIGHTTPD_BIN" -v | head -n 1)"

start_fcgid hello hello
start_fcgid echo echo
mkdir -p "$tmp/htdocs" "$tmp/sockets"
touch "$tmp/lighttpd-error.log"

# The packaged file must be a valid lighttpd config, both variants in it.
{
    echo "server.document-root = \"$tmp/htdocs\""
    echo "server.port = 1"
    sed -e "s|/usr/bin/fcgid|$FCGID_BIN|g" -e "s|/usr/lib/fcgid/plugins|$FCGID_PLUGIN_DIR|g" \
        -e "s|/run/lighttpd/|$tmp/sockets/|g" "$packaging/lighttpd/fcgid.conf"
} >"$tmp/packaged.conf"
sed -n '/^# 2)/,$p' "$packaging/lighttpd/fcgid.conf" | sed -n '/^# fastcgi.server/,$p' | sed 's/^# \{0,1\}//' \
    >"$tmp/packaged-binpath.part"
{
    echo "server.document-root = \"$tmp/htdocs\""
    echo "server.port = 1"
    echo 'server.modules += ( "mod_fastcgi" )'
    sed -e "s|/usr/bin/fcgid|$FCGID_BIN|g" -e "s|/usr/lib/fcgid/plugins|$FCGID_PLUGIN_DIR|g" \
        -e "s|/run/lighttpd/|$tmp/sockets/|g" "$tmp/packaged-binpath.part"
} >"$tmp/packaged-binpath.conf"
for conf in packaged packaged-binpath; do
    if grep -q fastcgi.server "$tmp/$conf.conf" &&
        "$LIGHTTPD_BIN" -tt -f "$tmp/$conf.conf" >"$tmp/$conf.check" 2>&1; then
        ok "packaging/lighttpd/fcgid.conf ($conf variant) passes lighttpd -tt"
    else
        not_ok "packaging/lighttpd/fcgid.conf ($conf variant): lighttpd -tt says: $(tr '\n' ' ' <"$tmp/$conf.check" 2>/dev/null)"
    fi
done

write_lighttpd_conf() {
    cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$tmp/htdocs"
server.bind = "127.0.0.1"
server.port = $lighttpd_port
server.errorlog = "$tmp/lighttpd-error.log"
server.modules += ( "mod_fastcgi" )
server.max-request-size = 16384
fastcgi.debug = 0

fastcgi.server = (
    "/hp/hello/" => (( "host" => "127.0.0.1", "port" => $hello_port, "check-local" => "disable" )),
    "/hp/echo/"  => (( "host" => "127.0.0.1", "port" => $echo_port,  "check-local" => "disable" )),
    "/spawn/hello/" => ((
        "socket" => "$tmp/sockets/hello.sock",
        "bin-path" => "$FCGID_BIN run --plugin $FCGID_PLUGIN_DIR/hello.so",
        "max-procs" => 2,
        "check-local" => "disable"
    )),
    "/spawn/echo/" => ((
        "socket" => "$tmp/sockets/echo.sock",
        "bin-path" => "$FCGID_BIN run --plugin $FCGID_PLUGIN_DIR/echo.so",
        "max-procs" => 2,
        "check-local" => "disable"
    )),
    "/recycle-workers/" => ((
        "socket" => "$tmp/sockets/recycle-workers.sock",
        "bin-path" => "$FCGID_BIN run --plugin $FCGID_PLUGIN_DIR/echo.so --workers 2 --request-limit 3",
        "max-procs" => 1,
        "check-local" => "disable"
    )),
    "/recycle/" => ((
        "socket" => "$tmp/sockets/recycle.sock",
        "bin-path" => "$FCGID_BIN run --plugin $FCGID_PLUGIN_DIR/echo.so --request-limit 3",
        "max-procs" => 2,
        "check-local" => "disable"
    ))
)
EOF
}

start_lighttpd_once() {
    write_lighttpd_conf
    "$LIGHTTPD_BIN" -tt -f "$tmp/lighttpd.conf" >"$tmp/configtest.log" 2>&1 ||
        fail "lighttpd -tt: $(tr '\n' ' ' <"$tmp/configtest.log")"
    # -D: foreground. The fcgid processes it spawns log to its stderr.
    "$LIGHTTPD_BIN" -D -f "$tmp/lighttpd.conf" </dev/null >"$tmp/lighttpd.out" 2>&1 &
    lighttpd_pid=$!
    track_pid "$lighttpd_pid"
    wait_http "$lighttpd_pid" "$lighttpd_port" lighttpd.out
}
show_log lighttpd-error.log
show_log lighttpd.out
start_on_free_port lighttpd_port start_lighttpd_once
base="http://127.0.0.1:$lighttpd_port"
echo "# fcgid hello on $hello_port, echo on $echo_port, lighttpd on $lighttpd_port"

check_trio "$base/hp" "host/port, round 1"
check_trio "$base/hp" "host/port, round 2"
check_deferred "$base/hp/echo/" "host/port"
check_trio "$base/spawn" "bin-path, socket on fd 0"
spawned_lines="$(grep -c "listening on fd 0 (unix:$tmp/sockets/" "$tmp/lighttpd.out" || true)"
if ((spawned_lines >= 4)); then
    ok "bin-path: $spawned_lines fcgid processes logged 'listening on fd 0 (unix:...)' (max-procs 2, two apps)"
else
    not_ok "bin-path: $spawned_lines 'listening on fd 0 (unix:$tmp/sockets/...)' lines, expected 4 (max-procs 2, two apps)"
fi

# Concurrent requests to the spawned processes.
check_parallel_posts "$base/spawn/echo/?delay_ms=300" 6 "with delay_ms=300 to the spawned processes"

# --request-limit 3 with bin-path: lighttpd starts a new process each time one exits.
failed=0
for i in $(seq 12); do
    request "$base/recycle/?bytes=$i"
    if [[ "$status" != 200 || "$(stat -c %s "$tmp/body")" != "$i" ]]; then
        failed=$((failed + 1))
        echo "# request $i: status $status, $(stat -c %s "$tmp/body") bytes"
    fi
done
for _ in $(seq 30); do
    (($(grep -c "exiting: request limit reached" "$tmp/lighttpd.out" || true) >= 3)) && break
    sleep 0.1
done
recycled="$(grep -c "exiting: request limit reached" "$tmp/lighttpd.out" || true)"
if ((failed == 0 && recycled >= 3)); then
    ok "bin-path + --request-limit 3: 12 requests all 200, $recycled processes recycled"
elif [[ "${FCGID_SANITIZED:-0}" == 1 ]]; then
    # lighttpd answers 503 while both of its bin-path processes restart at
    # once, which the sanitizers' slow start makes likely: lighttpd's timing,
    # not fcgid's. The --workers variant below is the recommended setup.
    ok "bin-path + --request-limit 3 # SKIP under the sanitizers: $failed of 12 got lighttpd's 503 while both processes restarted"
else
    not_ok "bin-path + --request-limit 3: $failed of 12 requests failed, $recycled 'exiting: request limit reached' lines (expected >= 3)"
fi

# One process with --workers: fcgid's master keeps the socket open while it
# restarts the workers, so lighttpd never finds it closed.
before="$(grep -c "exiting: request limit reached" "$tmp/lighttpd.out" || true)"
failed=0
for i in $(seq 12); do
    request "$base/recycle-workers/?bytes=$i"
    [[ "$status" == 200 && "$(stat -c %s "$tmp/body")" == "$i" ]] || failed=$((failed + 1))
done
sleep 0.5
recycled=$(($(grep -c "exiting: request limit reached" "$tmp/lighttpd.out" || true) - before))
if ((failed == 0 && recycled >= 3)); then
    ok "bin-path, max-procs 1, --workers 2 --request-limit 3: 12 requests all 200, $recycled workers recycled"
else
    not_ok "bin-path, max-procs 1, --workers 2 --request-limit 3: $failed of 12 requests failed, $recycled workers recycled (expected >= 3)"
fi

stop_fcgid hello
stop_fcgid echo

# lighttpd stops the processes it spawned with SIGTERM: they drain and exit 0.
spawned="$(descendants "$lighttpd_pid" | while read -r p; do
    [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == fcgid ]] && echo "$p"; done || true)"
kill -TERM "$lighttpd_pid"
if ! wait_exit "$lighttpd_pid" 15; then
    not_ok "lighttpd still running 15 s after SIGTERM"
else
    # shellcheck disable=SC2086
    left="$(wait_all_exit 10 $spawned)"
    if [[ -z "$spawned" ]]; then
        not_ok "no fcgid process spawned by lighttpd was running before it stopped"
    elif [[ -n "$left" ]]; then
        not_ok "fcgid processes spawned by lighttpd still running after it stopped:$left"
    else
        ok "lighttpd stopped: the $(wc -w <<<"$spawned") fcgid processes it spawned are gone"
    fi
fi
