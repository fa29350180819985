#!/usr/bin/env bash
# fcgid under systemd socket activation, with the units in packaging/systemd/:
#   - systemd-analyze verify accepts fcgid@.socket, fcgid@.service and
#     fcgid.service (paths pointed at this build);
#   - systemd-socket-activate (Debian's systemd package) binds a loopback port
#     and, on the first connection, execs the ExecStart command line of
#     fcgid@.service with LISTEN_FDS=1/LISTEN_PID and the socket on fd 3, as
#     systemd does; nginx in front then gets GET, a 1 MiB POST echoed byte for
#     byte and a 5 MB response from it;
#   - fcgid sends READY=1 once it listens and STOPPING=1 when it drains to
#     NOTIFY_SOCKET (Type=notify), writes --pid-file, reloads on SIGHUP
#     (ExecReload), exits 0 on SIGTERM;
#   - LISTEN_PID naming another process: fcgid leaves fd 3 alone;
#   - --workers 2 and --user/--group on an activated socket.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional:
# SOCKET_ACTIVATE_BIN, SYSTEMD_ANALYZE_BIN, NGINX_BIN. systemd (which has
# both programs), nginx, curl and python3 are required: a missing one FAILS.
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=systemd_socket_test
here="$(cd "$(dirname "$0")" && pwd)"
packaging="$(cd "$here/../../packaging" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
interop_bound 150 "$@"

SOCKET_ACTIVATE_BIN="${SOCKET_ACTIVATE_BIN:-}"
need_program SOCKET_ACTIVATE_BIN systemd-socket-activate /usr/bin/systemd-socket-activate \
    /lib/systemd/systemd-socket-activate
SYSTEMD_ANALYZE_BIN="${SYSTEMD_ANALYZE_BIN:-}"
need_program SYSTEMD_ANALYZE_BIN systemd-analyze /usr/bin/systemd-analyze
NGINX_BIN="${NGINX_BIN:-}"
need_program NGINX_BIN nginx /usr/sbin/nginx
nginx_bin=$NGINX_BIN
command -v python3 >/dev/null || fail "python3 not found: run scripts/dev.sh test, which installs it"
need_fcgid
interop_init
share_with_www_data
nginx_prepare
echo "# $("$SOCKET_ACTIVATE_BIN" --version | head -n 1), $("$nginx_bin" -v 2>&1)"

# ---- The unit files ----------------------------------------------------------

# Instances of the templates (systemd-analyze needs a real instance name),
# with the Debian paths pointed at this build.
mkdir -p "$tmp/units"
for unit in fcgid@.socket fcgid@.service fcgid.service; do
    sed -e "s|/usr/bin/fcgid|$FCGID_BIN|g" -e "s|/usr/lib/fcgid/plugins|$FCGID_PLUGIN_DIR|g" \
        "$packaging/systemd/$unit" >"$tmp/units/${unit/@./@5000.}"
done
verify_out="$("$SYSTEMD_ANALYZE_BIN" verify --man=no "$tmp/units/fcgid@5000.socket" \
    "$tmp/units/fcgid@5000.service" "$tmp/units/fcgid.service" 2>&1)" && verify_rc=0 || verify_rc=$?
if ((verify_rc == 0)) && [[ -z "$verify_out" ]]; then
    ok "systemd-analyze verify: fcgid@.socket, fcgid@.service, fcgid.service (as instance 5000) are clean"
else
    not_ok "systemd-analyze verify ($verify_rc): $(tr '\n' ' ' <<<"$verify_out")"
fi
if grep -q '^Type=notify$' "$packaging/systemd/fcgid@.service" &&
    grep -q '^ListenStream=127.0.0.1:%i$' "$packaging/systemd/fcgid@.socket"; then
    ok "fcgid@.service is Type=notify; fcgid@.socket listens on 127.0.0.1:%i"
else
    not_ok "fcgid@.service is not Type=notify or fcgid@.socket has no ListenStream=127.0.0.1:%i"
fi

# The ExecStart of fcgid@.service, as systemd would run it: ${FCGID_PLUGIN}
# and $FCGID_OPTIONS expanded from the test's values, the access log in the
# test's directory standing for LogsDirectory's /var/log/fcgid.
exec_start="$(sed -n 's/^ExecStart=//p' "$packaging/systemd/fcgid@.service")"
[[ "$exec_start" == "/usr/bin/fcgid run --plugin \${FCGID_PLUGIN} --access-log /var/log/fcgid/%i.access.log \$FCGID_OPTIONS" ]] ||
    fail "fcgid@.service: ExecStart is '$exec_start', which this test does not know how to run"
# unit_command PLUGIN [OPTIONS...]: prints the command line, one word a line.
unit_command() {
    local plugin=$1
    shift
    # A file of its own each time, in a directory any --user may write, as
    # LogsDirectory= gives the unit's user.
    mkdir -p "$tmp/logs" && chmod 0777 "$tmp/logs"
    printf '%s\n' "$FCGID_BIN" run --plugin "$FCGID_PLUGIN_DIR/$plugin.so" \
        --access-log "$tmp/logs/$plugin.$RANDOM$RANDOM.access.log" "$@"
}

# ---- NOTIFY_SOCKET -----------------------------------------------------------

# Records "PID MESSAGE" per datagram, as systemd would read them (SO_PASSCRED).
python3 - "$tmp/notify.sock" >"$tmp/notify.log" 2>&1 <<'EOF' &
import os, socket, struct, sys
path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
sock.bind(path)
os.chmod(path, 0o666)  # fcgid may run as www-data (--user)
while True:
    data, ancdata, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = "?"
    for level, kind, cmsg in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", cmsg[:12])[0]
    for line in data.decode(errors="replace").splitlines():
        print(pid, line, flush=True)
EOF
track_pid $!
show_log notify.log
for _ in $(seq 50); do
    [[ -S "$tmp/notify.sock" ]] && break
    sleep 0.1
done
[[ -S "$tmp/notify.sock" ]] || fail "the NOTIFY_SOCKET listener did not start"

# ---- Socket activation -------------------------------------------------------

# activate NAME PLUGIN [fcgid options...]: systemd-socket-activate on a free
# port, waiting for its first connection; sets NAME_port and NAME_pid (the
# pid fcgid will have: systemd-socket-activate execs it).
activate() {
    local name=$1
    shift
    activate_args=("$@")
    activate_name=$name
    show_log "$name.log"
    start_on_free_port "${name}_port" activate_once
}
activate_once() {
    local name=$activate_name port_var="${activate_name}_port" pid
    local -a command
    mapfile -t command < <(unit_command "${activate_args[@]}")
    : >"$tmp/$name.log"
    "$SOCKET_ACTIVATE_BIN" -l "127.0.0.1:${!port_var}" -E "NOTIFY_SOCKET=$tmp/notify.sock" \
        "${command[@]}" </dev/null >"$tmp/$name.log" 2>&1 &
    pid=$!
    track_pid "$pid"
    for _ in $(seq 50); do
        grep -q "Listening on 127.0.0.1:${!port_var} as 3" "$tmp/$name.log" && break
        if ! alive "$pid"; then
            grep -q "in use" "$tmp/$name.log" && return 2
            fail "systemd-socket-activate ($name) exited: $(tr '\n' ' ' <"$tmp/$name.log")"
        fi
        sleep 0.1
    done
    grep -q "Listening on 127.0.0.1:${!port_var} as 3" "$tmp/$name.log" ||
        fail "systemd-socket-activate ($name) did not listen within 5 s"
    printf -v "${name}_pid" '%s' "$pid"
}

activate hello hello --pid-file "$tmp/hello.pid"
activate echo echo
activate workers echo --workers 2
as_root=0
if [[ $(id -u) == 0 ]]; then
    as_root=1
    activate user hello --user www-data --group www-data
fi

fastcgi="include $tmp/fastcgi_params;"
nginx_http=""
nginx_server="
        location /sa/hello/      { $fastcgi fastcgi_pass 127.0.0.1:$hello_port; }
        location /sa/echo/       { $fastcgi fastcgi_pass 127.0.0.1:$echo_port; }
        location /workers/       { $fastcgi fastcgi_pass 127.0.0.1:$workers_port; }
        location /user/          { $fastcgi fastcgi_pass 127.0.0.1:${user_port:-9}; }"
start_nginx
base="http://127.0.0.1:$nginx_port"
echo "# activated: hello on $hello_port, echo on $echo_port, workers on $workers_port${user_port:+, user on $user_port}; nginx on $nginx_port"

# Nothing runs fcgid before the first connection.
if [[ "$(cat "/proc/$hello_pid/comm")" == systemd-socket* ]]; then
    ok "before the first connection, systemd-socket-activate holds the socket and fcgid has not started"
else
    not_ok "before the first connection, pid $hello_pid is '$(cat "/proc/$hello_pid/comm")'"
fi

check_trio "$base/sa" "socket-activated, first requests"
for name in hello echo; do
    pid_var="${name}_pid" port_var="${name}_port"
    if [[ "$(cat "/proc/${!pid_var}/comm" 2>/dev/null)" == fcgid ]] &&
        grep -q "listening on fd 3 (127.0.0.1:${!port_var})" "$tmp/$name.log"; then
        ok "fcgid ($name) took fd 3 by LISTEN_FDS/LISTEN_PID: 'listening on fd 3 (127.0.0.1:${!port_var})', pid ${!pid_var}"
    else
        not_ok "fcgid ($name): pid ${!pid_var} is '$(cat "/proc/${!pid_var}/comm" 2>/dev/null)', log: $(tail -n 2 "$tmp/$name.log" | tr '\n' ' ')"
    fi
done
check_trio "$base/sa" "socket-activated, again"

for name in hello echo; do
    pid_var="${name}_pid"
    if grep -q "^${!pid_var} READY=1$" "$tmp/notify.log"; then
        ok "fcgid ($name) sent READY=1 to NOTIFY_SOCKET"
    else
        not_ok "fcgid ($name) sent no READY=1 from pid ${!pid_var} (notify log: $(tr '\n' ';' <"$tmp/notify.log"))"
    fi
done

if [[ "$(cat "$tmp/hello.pid" 2>/dev/null)" == "$hello_pid" ]]; then
    ok "--pid-file holds fcgid's pid ($hello_pid)"
else
    not_ok "--pid-file: '$(cat "$tmp/hello.pid" 2>/dev/null)', expected $hello_pid"
fi

# ExecReload: SIGHUP loads the plugin again; the process goes on serving.
kill -HUP "$hello_pid"
sleep 0.5
check_hello "$base/sa/hello/" "after SIGHUP"
if alive "$hello_pid" && grep -qi "reload" "$tmp/hello.log"; then
    ok "SIGHUP: fcgid (hello) logged a reload and still runs as pid $hello_pid"
else
    not_ok "SIGHUP: fcgid (hello) $(alive "$hello_pid" && echo "runs, but logged no reload line" || echo "is gone")"
fi

# --workers 2 on the activated socket: two pre-forked workers share it.
failed=0
for i in $(seq 20); do
    request "$base/workers/?bytes=$i"
    [[ "$status" == 200 && "$(stat -c %s "$tmp/body")" == "$i" ]] || failed=$((failed + 1))
done
worker_pids="$(pgrep -x -P "$workers_pid" fcgid | tr '\n' ' ' || true)"
workers="$(wc -w <<<"$worker_pids")"
if ((failed == 0 && workers == 2)); then
    ok "--workers 2 on the activated socket: 2 worker processes, 20 requests all 200"
else
    not_ok "--workers 2 on the activated socket: $workers worker processes under pid $workers_pid, $failed of 20 requests failed ($(grep -m1 -i error "$tmp/workers.log" || true))"
fi
if alive "$workers_pid"; then
    kill -TERM "$workers_pid"
    rc=0
    if ! wait_exit "$workers_pid" 10; then
        not_ok "fcgid --workers 2 still running 10 s after SIGTERM"
    else
        wait "$workers_pid" || rc=$?
        # shellcheck disable=SC2086
        left="$(wait_all_exit 5 $worker_pids)"
        if ((rc == 0)) && [[ -z "$left" ]] && grep -q "^$workers_pid STOPPING=1$" "$tmp/notify.log"; then
            ok "fcgid --workers 2 on SIGTERM: STOPPING=1, workers gone, exit 0"
        else
            not_ok "fcgid --workers 2 on SIGTERM: exit $rc, workers left:${left:- none}, STOPPING=1 $(grep -c "^$workers_pid STOPPING=1$" "$tmp/notify.log" || true) times"
        fi
    fi
fi

if ((as_root)); then
    check_hello "$base/user/" "--user www-data --group www-data"
    ids="$(awk '/^Uid:|^Gid:/ { print $2, $3, $4, $5 }' "/proc/$user_pid/status" 2>/dev/null | tr '\n' ' ')"
    if [[ "$ids" == "33 33 33 33 33 33 33 33 " ]]; then
        ok "--user www-data --group www-data: fcgid runs with uid and gid 33 (real, effective, saved, fs)"
    else
        not_ok "--user www-data --group www-data: uid/gid of pid $user_pid are '$ids'"
    fi
fi

# SIGTERM: STOPPING=1, exit 0, pid file removed.
for name in hello echo ${user_pid:+user}; do
    pid_var="${name}_pid"
    pid="${!pid_var}"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_exit "$pid" 10; then
        not_ok "fcgid ($name) still running 10 s after SIGTERM"
        continue
    fi
    rc=0
    wait "$pid" || rc=$?
    sleep 0.2
    if ((rc != 0)); then
        not_ok "fcgid ($name) exited with $rc after SIGTERM, expected 0"
    elif ! grep -q "^$pid STOPPING=1$" "$tmp/notify.log"; then
        not_ok "fcgid ($name) sent no STOPPING=1 when it drained (notify log: $(tr '\n' ';' <"$tmp/notify.log"))"
    else
        ok "fcgid ($name) on SIGTERM: STOPPING=1, exit 0"
    fi
done
if [[ ! -e "$tmp/hello.pid" ]]; then
    ok "--pid-file removed at exit"
else
    not_ok "--pid-file $tmp/hello.pid still there after fcgid exited"
fi

# LISTEN_PID names another process: the sockets are not fcgid's, so it must
# not take fd 3 (it falls back to fd 0, /dev/null here, and refuses).
python3 - "$FCGID_BIN" "$FCGID_PLUGIN_DIR/hello.so" >"$tmp/foreign.log" 2>&1 <<'EOF' && foreign_rc=0 || foreign_rc=$?
import os, socket, subprocess, sys
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1")
os.dup2(listener.fileno(), 3)
try:
    rc = subprocess.run([sys.argv[1], "run", "--plugin", sys.argv[2]], env=env, pass_fds=(3,),
                        stdin=subprocess.DEVNULL, timeout=10).returncode
except subprocess.TimeoutExpired:
    print("fcgid still running after 10 s: it served fd 3")
    rc = 99
sys.exit(rc)
EOF
if ((foreign_rc != 0 && foreign_rc != 99)) && ! grep -q "listening on fd 3" "$tmp/foreign.log"; then
    ok "LISTEN_PID of another process: fcgid leaves fd 3 alone (exit $foreign_rc: $(grep -m1 'error' "$tmp/foreign.log" || true))"
else
    not_ok "LISTEN_PID of another process: exit $foreign_rc, log: $(tr '\n' ' ' <"$tmp/foreign.log")"
fi
