#!/usr/bin/env bash
# Apache httpd 2.4 in front of the installed fcgid, as packaging/apache/ has it:
#   /proxy/...   mod_proxy_fcgi, ProxyPass fcgi://host:port/ (a connection per request)
#   /reuse/...   the same with enablereuse=on (connections kept and reused)
#   /unix/...    mod_proxy_fcgi to fcgid run --socket
#   /spawn/...   mod_fcgid starting fcgid itself through packaging/apache/fcgid-wrapper,
#                with the listening socket on fd 0 (packaging/apache/fcgid-mod_fcgid.conf)
#   /recycle/... mod_fcgid with fcgid --request-limit 3: processes exit and are replaced
# A private httpd (own config, logs, pid, mutexes and mod_fcgid sockets in a
# temp dir) on a free loopback port; workers run as www-data when we are root.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional: APACHE_BIN,
# APACHE_MODULES. apache2 and libapache2-mod-fcgid are required: a missing one
# FAILS the test (scripts/dev.sh installs them).
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=apache_test
here="$(cd "$(dirname "$0")" && pwd)"
packaging="$(cd "$here/../../packaging" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
interop_bound 150 "$@"

APACHE_BIN="${APACHE_BIN:-}"
need_program APACHE_BIN apache2 /usr/sbin/apache2
modules="${APACHE_MODULES:-/usr/lib/apache2/modules}"
for module in mpm_event authz_core proxy proxy_fcgi fcgid; do
    [[ -f "$modules/mod_$module.so" ]] ||
        fail "no mod_$module.so in $modules: run scripts/dev.sh test, which installs apache2 and libapache2-mod-fcgid"
done
need_fcgid
interop_init
share_with_www_data
echo "# $("$APACHE_BIN" -v | head -n 1), mod_fcgid $(dpkg-query -W -f '${Version}' libapache2-mod-fcgid 2>/dev/null || echo '?')"

# ---- fcgid processes for mod_proxy_fcgi --------------------------------------

start_fcgid hello hello
start_fcgid echo echo
start_fcgid hello_reuse hello
start_fcgid echo_reuse echo
socket_owner=()
if [[ $(id -u) == 0 ]]; then
    # The socket is 0660: httpd's workers (www-data) must be in its group.
    socket_owner=(--socket-group www-data)
fi
start_fcgid hello_unix hello --socket "$tmp/hello.sock" "${socket_owner[@]}"
start_fcgid echo_unix echo --socket "$tmp/echo.sock" "${socket_owner[@]}"

# ---- httpd -------------------------------------------------------------------

mkdir -p "$tmp/htdocs" "$tmp/fcgid-ipc"
chmod 777 "$tmp/fcgid-ipc"
user_group=""
if [[ $(id -u) == 0 ]]; then
    user_group=$'User www-data\nGroup www-data'
fi

# The packaged mod_fcgid config, pointed at this build: the wrapper from the
# source tree (copied: www-data must be able to run it), fcgid and its
# plugins from FCGID_BIN and FCGID_PLUGIN_DIR.
wrapper="$tmp/fcgid-wrapper"
cp "$packaging/apache/fcgid-wrapper" "$wrapper"
chmod 755 "$wrapper"
sed -e "s|/usr/libexec/fcgid/fcgid-wrapper|$wrapper|g" \
    -e "s|/usr/bin/fcgid|$FCGID_BIN|g" \
    -e "s|/usr/lib/fcgid/plugins|$FCGID_PLUGIN_DIR|g" \
    -e "s|<Location \"/app/\">|<Location \"/spawn/hello/\">|" \
    -e "s|--request-limit 10000||" \
    "$packaging/apache/fcgid-mod_fcgid.conf" >"$tmp/fcgid-spawn.conf"
grep -q "Location \"/spawn/hello/\"" "$tmp/fcgid-spawn.conf" ||
    fail "packaging/apache/fcgid-mod_fcgid.conf has no <Location \"/app/\"> to adapt"

write_httpd_conf() {
    cat >"$tmp/httpd.conf" <<EOF
ServerRoot "$tmp"
ServerName 127.0.0.1
Listen 127.0.0.1:$apache_port
PidFile "$tmp/httpd.pid"
DefaultRuntimeDir "$tmp"
Mutex file:$tmp default
ErrorLog "$tmp/error.log"
LogLevel info proxy_fcgi:debug
LoadModule mpm_event_module $modules/mod_mpm_event.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule proxy_module $modules/mod_proxy.so
LoadModule proxy_fcgi_module $modules/mod_proxy_fcgi.so
LoadModule fcgid_module $modules/mod_fcgid.so
$user_group
DocumentRoot "$tmp/htdocs"
StartServers 1
ServerLimit 2
ThreadsPerChild 8
MaxRequestWorkers 16
Timeout 30

ProxyPass "/proxy/hello/" "fcgi://127.0.0.1:$hello_port/"
ProxyPass "/proxy/echo/"  "fcgi://127.0.0.1:$echo_port/"
ProxyPass "/reuse/hello/" "fcgi://127.0.0.1:$hello_reuse_port/" enablereuse=on
ProxyPass "/reuse/echo/"  "fcgi://127.0.0.1:$echo_reuse_port/" enablereuse=on
# Each unix-socket backend needs its own name after fcgi://: httpd shares
# one worker (and its connections) between ProxyPass lines whose fcgi:// URL
# is the same, whatever the socket path.
ProxyPass "/unix/hello/"  "unix:$tmp/hello.sock|fcgi://hello/"
ProxyPass "/unix/echo/"   "unix:$tmp/echo.sock|fcgi://echo/"

FcgidIPCDir "$tmp/fcgid-ipc"
FcgidProcessTableFile "$tmp/fcgid-shm"
Include "$tmp/fcgid-spawn.conf"
<Location "/spawn/echo/">
    SetHandler fcgid-script
    Options +ExecCGI
    FcgidWrapper "$wrapper --plugin $FCGID_PLUGIN_DIR/echo.so" virtual
</Location>
<Location "/recycle/">
    SetHandler fcgid-script
    Options +ExecCGI
    FcgidWrapper "$wrapper --plugin $FCGID_PLUGIN_DIR/echo.so --request-limit 3" virtual
</Location>
EOF
}

start_httpd_once() {
    write_httpd_conf
    "$APACHE_BIN" -t -f "$tmp/httpd.conf" >"$tmp/configtest.log" 2>&1 ||
        fail "apache2 -t: $(tr '\n' ' ' <"$tmp/configtest.log")"
    : >"$tmp/error.log"
    "$APACHE_BIN" -f "$tmp/httpd.conf" -DFOREGROUND </dev/null >"$tmp/httpd.out" 2>&1 &
    apache_pid=$!
    track_pid "$apache_pid"
    wait_http "$apache_pid" "$apache_port" httpd.out
}
show_log error.log
show_log httpd.out
start_on_free_port apache_port start_httpd_once
base="http://127.0.0.1:$apache_port"
echo "# httpd on $apache_port"

# ---- mod_proxy_fcgi ----------------------------------------------------------

check_trio "$base/proxy" "mod_proxy_fcgi"
check_deferred "$base/proxy/echo/" "mod_proxy_fcgi"
for _ in $(seq 30); do
    (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)) && break
    sleep 0.1
done
if (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)); then
    ok "mod_proxy_fcgi without enablereuse: no connection to fcgid left open"
else
    not_ok "mod_proxy_fcgi without enablereuse: connections to fcgid still open 3 s after the responses"
fi

check_trio "$base/reuse" "enablereuse=on, round 1"
check_trio "$base/reuse" "enablereuse=on, round 2"
check_deferred "$base/reuse/echo/" "enablereuse=on"
kept=$(($(established_on_port "$hello_reuse_port") + $(established_on_port "$echo_reuse_port")))
if ((kept >= 2)); then
    ok "enablereuse=on: $kept connections kept open for reuse"
else
    not_ok "enablereuse=on: $kept connection(s) to fcgid left open, expected at least one each"
fi

check_trio "$base/unix" "mod_proxy_fcgi, unix socket"

# ---- mod_fcgid: fcgid spawned by httpd, socket on fd 0 -----------------------

check_trio "$base/spawn" "mod_fcgid, fcgid-wrapper, socket on fd 0"
check_deferred "$base/spawn/echo/" "mod_fcgid"
if grep -q "listening on fd 0 (unix:$tmp/fcgid-ipc/" "$tmp/error.log"; then
    ok "mod_fcgid: fcgid logged 'listening on fd 0 (unix:...)' for the socket httpd made"
else
    not_ok "mod_fcgid: no 'listening on fd 0 (unix:$tmp/fcgid-ipc/...)' line in httpd's error log"
fi

# --request-limit 3: each process drains after 3 requests and exits 0;
# mod_fcgid starts another one and no request fails.
failed=0
for i in $(seq 12); do
    request "$base/recycle/?bytes=$i"
    [[ "$status" == 200 && "$(stat -c %s "$tmp/body")" == "$i" ]] || failed=$((failed + 1))
done
for _ in $(seq 30); do
    (($(grep -c "exiting: request limit reached" "$tmp/error.log" || true) >= 3)) && break
    sleep 0.1
done
recycled="$(grep -c "exiting: request limit reached" "$tmp/error.log" || true)"
if ((failed == 0 && recycled >= 3)); then
    ok "mod_fcgid + --request-limit 3: 12 requests all 200, $recycled processes recycled"
else
    not_ok "mod_fcgid + --request-limit 3: $failed of 12 requests failed, $recycled 'exiting: request limit reached' lines (expected >= 3)"
fi

# ---- Shutdown ----------------------------------------------------------------

# SIGTERM drains even while httpd holds idle reused connections.
stop_fcgid hello_reuse "while httpd holds reused connections"
stop_fcgid echo_reuse "while httpd holds reused connections"
stop_fcgid hello
stop_fcgid echo

# httpd stops the processes it spawned (SIGTERM: fcgid drains, exits 0).
spawned="$(descendants "$apache_pid" | while read -r p; do
    [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == fcgid ]] && echo "$p"; done || true)"
kill -TERM "$apache_pid"
if ! wait_exit "$apache_pid" 15; then
    not_ok "httpd still running 15 s after SIGTERM"
else
    # shellcheck disable=SC2086
    left="$(wait_all_exit 10 $spawned)"
    if [[ -z "$spawned" ]]; then
        not_ok "no fcgid process spawned by mod_fcgid was running before httpd stopped"
    elif [[ -n "$left" ]]; then
        not_ok "fcgid processes spawned by mod_fcgid still running after httpd stopped:$left"
    else
        ok "httpd stopped: the $(wc -w <<<"$spawned") fcgid processes it spawned are gone"
    fi
fi
