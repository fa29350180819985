#!/usr/bin/env bash
# Several fcgid processes under supervisord behind an nginx upstream, each
# recycling itself with --request-limit, as packaging/supervisord/fcgid.conf
# and packaging/nginx/fcgid.conf have it: a steady load through nginx must see
# no failed request while the processes exit and supervisord restarts them.
#
# The packaged [program:fcgid] entry is used as it is, with the binary, plugin
# and log paths pointed at this build and $tmp, the ports moved to free ones,
# and the request limits lowered (100..130) so that every process recycles
# several times in a 20 s run. At 25 requests a second each, 10 requests
# apart are 0.4 s apart, about what supervisord takes to start a process
# again, so never all four are down at once (200..230 at 50 a second, 0.2 s
# apart, once had all four down together: 12 answers of 502). A private
# supervisord (-n, own socket, logs and pid file in a temp dir) and a
# private nginx on free loopback ports.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional:
# SUPERVISORD_BIN, NGINX_BIN, LOAD_SECONDS (20), LOAD_RATE (requests/s, 100).
# supervisor, nginx, curl and python3 are required: a missing one FAILS the test.
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=supervisord_test
here="$(cd "$(dirname "$0")" && pwd)"
packaging="$(cd "$here/../../packaging" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
interop_bound 150 "$@"

SUPERVISORD_BIN="${SUPERVISORD_BIN:-}"
need_program SUPERVISORD_BIN supervisord /usr/bin/supervisord
supervisorctl_bin="$(dirname "$SUPERVISORD_BIN")/supervisorctl"
[[ -x "$supervisorctl_bin" ]] || supervisorctl_bin="$(command -v supervisorctl || true)"
[[ -x "$supervisorctl_bin" ]] || fail "supervisorctl not found next to $SUPERVISORD_BIN or in PATH"
NGINX_BIN="${NGINX_BIN:-}"
need_program NGINX_BIN nginx /usr/sbin/nginx
nginx_bin=$NGINX_BIN
command -v python3 >/dev/null || fail "python3 not found: run scripts/dev.sh test, which installs it"
need_fcgid
interop_init
share_with_www_data
nginx_prepare
load_seconds="${LOAD_SECONDS:-20}"
load_rate="${LOAD_RATE:-100}"
echo "# supervisord $("$SUPERVISORD_BIN" --version), $("$nginx_bin" -v 2>&1)"

# ---- supervisord with the packaged program entry -----------------------------

# Four ports PREFIX0..PREFIX3, all free: supervisord's %(process_num)d makes
# the port, as 50%(process_num)02d makes 5000..5003 in the packaged entry.
port_free() {
    ! awk -v p="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
for _ in $(seq 20); do
    prefix=$((2000 + RANDOM % 1200))
    port_free "${prefix}0" && port_free "${prefix}1" && port_free "${prefix}2" && port_free "${prefix}3" && break
done
ports=("${prefix}0" "${prefix}1" "${prefix}2" "${prefix}3")

user_sed=()
[[ $(id -u) == 0 ]] || user_sed=(-e '/^user=/d')
sed -e "s|/usr/bin/fcgid |$FCGID_BIN |" \
    -e "s|/usr/lib/fcgid/plugins|$FCGID_PLUGIN_DIR|g" \
    -e "s|--port=50%(process_num)02d|--port=${prefix}%(process_num)d|" \
    -e "s|--request-limit=[^ ]*|--request-limit=1%(process_num)d0|" \
    -e "s|/var/log/supervisor/|$tmp/|" \
    "${user_sed[@]}" \
    "$packaging/supervisord/fcgid.conf" >"$tmp/fcgid.conf"
for expected in "$FCGID_BIN run" "--port=${prefix}%(process_num)d" "--request-limit=1%(process_num)d0" \
    "numprocs=4" "stdout_logfile=$tmp/"; do
    grep -qF -- "$expected" "$tmp/fcgid.conf" ||
        fail "packaging/supervisord/fcgid.conf no longer has what this test adapts ('$expected' missing after sed)"
done

cat >"$tmp/supervisord.conf" <<EOF
[supervisord]
nodaemon=true
logfile=$tmp/supervisord.log
pidfile=$tmp/supervisord.pid
childlogdir=$tmp
user=$(id -un)

[unix_http_server]
file=$tmp/supervisor.sock
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$tmp/supervisor.sock

[include]
files = $tmp/fcgid.conf
EOF

show_log supervisord.log
for i in 0 1 2 3; do
    show_log "fcgid_0$i.log"
done
"$SUPERVISORD_BIN" -n -c "$tmp/supervisord.conf" </dev/null >"$tmp/supervisord.out" 2>&1 &
supervisord_pid=$!
track_pid "$supervisord_pid"
show_log supervisord.out

for _ in $(seq 100); do
    up=0
    for port in "${ports[@]}"; do
        port_free "$port" || up=$((up + 1))
    done
    ((up == 4)) && break
    alive "$supervisord_pid" || fail "supervisord exited at startup"
    sleep 0.1
done
((up == 4)) || fail "$up of the 4 fcgid processes listen on ${ports[*]} after 10 s"
ok "supervisord started 4 fcgid processes on ${ports[*]} from the packaged program entry"

# ---- nginx upstream, as packaging/nginx/fcgid.conf ---------------------------

servers=""
for port in "${ports[@]}"; do
    servers+="        server 127.0.0.1:$port max_fails=0;"$'\n'
done
nginx_http="
    upstream fcgid {
$servers        keepalive 8;
    }"
nginx_server="
        location / { include $tmp/fastcgi_params; fastcgi_pass fcgid; fastcgi_keep_conn on; }"
start_nginx
echo "# nginx on $nginx_port"
check_hello "http://127.0.0.1:$nginx_port/" "through the upstream of 4"

# ---- Steady load across the restarts -----------------------------------------

# Four client threads, each with a keep-alive connection to nginx, together
# pacing LOAD_RATE requests a second (3 GETs, 1 POST) for LOAD_SECONDS. Prints "total failed" and
# one line per failure.
python3 - "$nginx_port" "$load_seconds" "$load_rate" >"$tmp/load.out" 2>&1 <<'EOF' &
import http.client, sys, threading, time

port, seconds, rate = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
threads = 4
interval = threads / rate
lock = threading.Lock()
total = failed = 0
failures = []

def client(n):
    global total, failed
    conn = None
    deadline = time.monotonic() + seconds
    next_at = time.monotonic() + n * interval / threads
    i = 0
    while time.monotonic() < deadline:
        now = time.monotonic()
        if next_at > now:
            time.sleep(next_at - now)
        next_at += interval
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            # Every fourth request is a POST: nginx does not retry a POST that
            # already went out, so a connection that fcgid closes under it
            # while draining would show here.
            if i % 4 == 3:
                conn.request("POST", "/load", body=b"x" * 1000)
            else:
                conn.request("GET", "/load")
            i += 1
            resp = conn.getresponse()
            body = resp.read()
            good = resp.status == 200 and body == b"<h1>Hello, World!</h1>"
            why = f"status {resp.status}, {len(body)} bytes"
        except Exception as e:  # the connection to nginx itself failed
            conn, good, why = None, False, repr(e)
        with lock:
            total += 1
            if not good:
                failed += 1
                failures.append(f"{time.strftime('%H:%M:%S')} {why}")

workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(total, failed)
for f in failures[:20]:
    print(f)
EOF
load_pid=$!
track_pid "$load_pid"
show_log load.out
wait "$load_pid" || fail "the load generator failed: $(tail -n 5 "$tmp/load.out" | tr '\n' ' ')"
read -r total failed <"$tmp/load.out"
min_total=$((load_seconds * load_rate * 8 / 10))
if ((failed == 0 && total >= min_total)); then
    ok "$total requests (GET and POST) through nginx over ${load_seconds} s, 0 failed"
else
    not_ok "$total requests through nginx over ${load_seconds} s (expected >= $min_total), $failed failed: $(sed -n '2,6p' "$tmp/load.out" | tr '\n' ';')"
fi

recycled_all=1
summary=""
for i in 0 1 2 3; do
    n="$(grep -c "exiting: request limit reached" "$tmp/fcgid_0$i.log" || true)"
    summary+=" fcgid_0$i:$n"
    ((n >= 2)) || recycled_all=0
done
if ((recycled_all)); then
    ok "every process recycled by --request-limit at least twice (exits per process:$summary)"
else
    not_ok "a process recycled fewer than twice (exits per process:$summary)"
fi
failed_starts="$(grep -c "gave up\|FATAL\|exited: .*(exit status [1-9]" "$tmp/supervisord.log" || true)"
restarts="$(grep -c "exited: fcgid_0[0-3] (exit status 0; expected)" "$tmp/supervisord.log" || true)"
if ((failed_starts == 0 && restarts >= 8)); then
    ok "supervisord: $restarts exits with status 0, each restarted; no failed start"
else
    not_ok "supervisord: $restarts exits with status 0, $failed_starts failed starts or non-zero exits"
fi

# A process restarted in the last second is still STARTING (startsecs=1).
for _ in $(seq 30); do
    status_out="$("$supervisorctl_bin" -c "$tmp/supervisord.conf" status 2>&1 || true)"
    running="$(grep -c RUNNING <<<"$status_out" || true)"
    ((running == 4)) && break
    sleep 0.2
done
if ((running == 4)); then
    ok "supervisorctl status: all 4 fcgid processes RUNNING after the run"
else
    not_ok "supervisorctl status: $running RUNNING: $(tr '\n' ';' <<<"$status_out")"
fi

# ---- Shutdown ----------------------------------------------------------------

children="$(descendants "$supervisord_pid" | tr '\n' ' ')"
kill -TERM "$supervisord_pid"
if wait_exit "$supervisord_pid" 40; then
    # shellcheck disable=SC2086
    left="$(wait_all_exit 5 $children)"
    stopped="$(grep -c "stopped: fcgid_0[0-3] (exit status 0)" "$tmp/supervisord.log" || true)"
    if [[ -z "$left" && "$stopped" == 4 ]]; then
        ok "supervisord SIGTERM: the 4 processes drained and exited 0"
    else
        not_ok "supervisord SIGTERM: $stopped 'stopped: ... (exit status 0)' lines, still running:${left:- none}"
    fi
else
    not_ok "supervisord still running 40 s after SIGTERM"
fi
