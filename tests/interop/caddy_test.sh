#!/usr/bin/env bash
# Caddy 2 in front of the installed fcgid: reverse_proxy with `transport
# fastcgi`, as packaging/caddy/Caddyfile has it, over TCP and a unix socket.
# A private caddy (own Caddyfile, HOME and data dirs in a temp dir, admin API
# off, no automatic HTTPS) on a free loopback port.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional: CADDY_BIN.
# caddy is required: a missing one FAILS the test (scripts/dev.sh installs it).
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=caddy_test
here="$(cd "$(dirname "$0")" && pwd)"
packaging="$(cd "$here/../../packaging" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
interop_bound 100 "$@"

CADDY_BIN="${CADDY_BIN:-}"
need_program CADDY_BIN caddy /usr/bin/caddy
need_fcgid
interop_init
echo "# caddy $("$CADDY_BIN" version | head -n 1)"

start_fcgid hello hello
start_fcgid echo echo
start_fcgid hello_unix hello --socket "$tmp/hello.sock"
start_fcgid echo_unix echo --socket "$tmp/echo.sock"

# Caddy writes its state under HOME / XDG dirs: keep them in $tmp.
mkdir -p "$tmp/home"
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/data" XDG_CONFIG_HOME="$tmp/home/config"

# The packaged Caddyfile must adapt cleanly (ports and paths made ours).
sed -e "s|:80 |127.0.0.1:1 |; s|^:80$|127.0.0.1:1|" "$packaging/caddy/Caddyfile" >"$tmp/packaged.Caddyfile"
if "$CADDY_BIN" adapt --config "$tmp/packaged.Caddyfile" --adapter caddyfile >"$tmp/packaged.json" 2>"$tmp/packaged.err" &&
    grep -q '"protocol":"fastcgi"' "$tmp/packaged.json"; then
    ok "packaging/caddy/Caddyfile adapts to a config with the fastcgi transport"
else
    not_ok "packaging/caddy/Caddyfile: caddy adapt says: $(tr '\n' ' ' <"$tmp/packaged.err")"
fi

site() {
    # site PREFIX APP UPSTREAM
    cat <<EOF
    handle $1/$2/* {
        reverse_proxy $3 {
            transport fastcgi
        }
    }
EOF
}

start_caddy_once() {
    cat >"$tmp/Caddyfile" <<EOF
{
    admin off
    auto_https off
    storage file_system $tmp/home/storage
}

http://127.0.0.1:$caddy_port {
$(site /tcp hello "127.0.0.1:$hello_port")
$(site /tcp echo "127.0.0.1:$echo_port")
$(site /unix hello "unix/$tmp/hello.sock")
$(site /unix echo "unix/$tmp/echo.sock")
    respond /ping 204
}
EOF
    "$CADDY_BIN" run --config "$tmp/Caddyfile" --adapter caddyfile </dev/null >"$tmp/caddy.log" 2>&1 &
    caddy_pid=$!
    track_pid "$caddy_pid"
    wait_http "$caddy_pid" "$caddy_port" caddy.log
}
show_log caddy.log
start_on_free_port caddy_port start_caddy_once
base="http://127.0.0.1:$caddy_port"
echo "# fcgid hello on $hello_port, echo on $echo_port, caddy on $caddy_port"

check_trio "$base/tcp" "reverse_proxy transport fastcgi, round 1"
check_trio "$base/tcp" "reverse_proxy transport fastcgi, round 2"
for _ in $(seq 30); do
    (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)) && break
    sleep 0.1
done
if (($(established_on_port "$hello_port") + $(established_on_port "$echo_port") == 0)); then
    ok "Caddy's fastcgi transport: no connection to fcgid left open after the responses"
else
    not_ok "Caddy's fastcgi transport: connections to fcgid still open 3 s after the responses"
fi
check_trio "$base/unix" "reverse_proxy transport fastcgi, unix socket"

# Parallel deferred responses.
check_parallel_posts "$base/tcp/echo/?delay_ms=300" 6 "with delay_ms=300"

# A status other than 200 passes through (echo's status=N).
request "$base/tcp/echo/?status=418"
if [[ "$status" == 418 ]]; then
    ok "GET /tcp/echo/?status=418: Caddy passes fcgid's Status: 418 on"
else
    not_ok "GET /tcp/echo/?status=418: status $status"
fi

stop_fcgid hello
stop_fcgid echo
stop_fcgid hello_unix
stop_fcgid echo_unix
