#!/usr/bin/env bash
# A fleet of fcgid hosts behind a load balancer loses no request when a host
# is redeployed, drained, crashes, hangs, is added, or the fleet is
# overloaded. Run on its own (after a build and `cmake --install build
# --prefix build/stage`):
#   ctest --test-dir build -R interop_fleet --output-on-failure
# or, with longer phases (FLEET_PHASE_SCALE multiplies every phase):
#   FCGID_BIN=build/stage/bin/fcgid FCGID_PLUGIN_DIR=build/stage/lib/fcgid/plugins \
#   FCGID_TEST_PLUGIN_DIR=build/tests/plugins FLEET_PHASE_SCALE=5 \
#   bash tests/interop/fleet_test.sh
# (the stage's plugin directory may be lib/<multiarch>/fcgid/plugins).
#
# Hosts 1..3 (4 for the scale-out) are each one fcgid tree, --workers 2,
# --max-requests 16, --allow 127.0.0.1 (the balancer), on 127.0.0.2..5, all
# on one port, each serving the copy of tests/plugins/fleet_version_N.so in
# its own directory (as a deployment has it). Every answer names its
# version and host (X-Fleet: v2 host3).
#
# In front, each in turn, the configs of packaging/ AS SHIPPED, templated
# only for addresses, ports and paths (see their headers):
#   haproxy  packaging/haproxy/fcgid.cfg: fcgi-app, active health checks
#   nginx    packaging/nginx/fcgid-fleet.conf: upstream, keepalive,
#            max_fails, fastcgi_next_upstream
# wrk sends GETs through the balancer for the whole of each scenario and
# counts every non-2xx answer and every socket error (connect, read, write,
# timeout: "failed"), and the answers per version and host:
#   1. rolling deploy: version 2 copied to each host in turn and SIGHUP sent
#      to its master: 0 failed; afterwards every answer is version 2;
#   2. planned maintenance: SIGTERM a host (it drains), start it again: 0;
#   3. crash: SIGKILL a host's whole tree: nginx 0 failed GETs; HAProxy at
#      most the requests in flight (bounded by the load's connections);
#   4. hang: SIGSTOP a host's tree: HAProxy's check takes it out within
#      inter x fall + timeout check (3 s); failures at most the requests in
#      flight; after SIGCONT it serves again;
#   5. scale out: host4 started, added to the config, balancer reloaded
#      (haproxy -x -sf, nginx -s reload) under load: 0 failed, and host4
#      then serves at least 10% of the answers (25% is its share);
#   6. overload: 3x the fleet's capacity (hosts x 16 requests in flight, of
#      100 ms each): no fcgid process dies, each host's memory (RSS of its
#      tree) stays bounded, HAProxy queues (its qmax) or fcgid answers
#      FCGI_OVERLOADED (nginx), then a normal-load phase with 0 failed.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR, FCGID_TEST_PLUGIN_DIR.
# FLEET_PHASE_SCALE (integer, default 1) lengthens every phase for a manual run.
# haproxy, nginx, wrk, python3 (HAProxy's admin socket) and curl are required:
# a missing one FAILS the test.
# test_name and the nginx_* variables are lib.sh's; ok never fails, so
# `cond && ok ... || not_ok ...` is an if/else.
# shellcheck disable=SC2154,SC2034,SC2015
set -euo pipefail
test_name=fleet_test
scale="${FLEET_PHASE_SCALE:-1}"
[[ "$scale" =~ ^[1-9][0-9]*$ ]] || { echo "FLEET_PHASE_SCALE must be a positive integer, not '$scale'" >&2; exit 2; }
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_bound $((150 + 80 * scale)) "$@"

need_program wrk_bin wrk
need_program haproxy_bin haproxy /usr/sbin/haproxy
need_program python_bin python3
need_fcgid
for version in 1 2; do
    [[ -f "${FCGID_TEST_PLUGIN_DIR:-}/fleet_version_$version.so" ]] ||
        fail "no fleet_version_$version.so in FCGID_TEST_PLUGIN_DIR='${FCGID_TEST_PLUGIN_DIR:-}'"
done
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
haproxy_shipped="$source_dir/packaging/haproxy/fcgid.cfg"
nginx_shipped="$source_dir/packaging/nginx/fcgid-fleet.conf"
interop_init
nginx_prepare
echo "# $("$haproxy_bin" -v | head -n 1 | cut -d' ' -f1-3), $("$nginx_bin" -v 2>&1), $("$wrk_bin" --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"
start_wall=$SECONDS

# phase SECONDS: a phase of the scenario (load running), scaled.
phase() {
    sleep "$(awk -v s="$1" -v k="$scale" 'BEGIN { print s * k }')"
}

# wait_until SECONDS WHAT CMD...: 0 once CMD succeeds (polled every 0.1 s).
wait_until() {
    local seconds=$1 what=$2 tenths=$(($1 * 10))
    shift 2
    while ((tenths-- > 0)); do
        "$@" && return 0
        sleep 0.1
    done
    not_ok "$what: not within $seconds s"
    return 1
}

# ---- Hosts -----------------------------------------------------------------------

fleet_port="$(pick_port)"
max_requests=16
workers=2
declare -A host_pid=() host_log=()
host_generation=0

# start_host N [VERSION]: host N on 127.0.0.(N+1); with VERSION, deploys
# that plugin version to its directory first (a fresh host).
start_host() {
    local n=$1 dir="$tmp/host$1" name
    if [[ -n "${2:-}" ]]; then
        mkdir -p "$dir"
        cp "$FCGID_TEST_PLUGIN_DIR/fleet_version_$2.so" "$dir/app.so"
    fi
    host_generation=$((host_generation + 1))
    name="host${n}_$host_generation"
    start_fcgid "$name" "$dir/app.so" --host "127.0.0.$((n + 1))" --port "$fleet_port" \
        --workers "$workers" --max-requests "$max_requests" --allow 127.0.0.1/32 \
        --plugin-option "host=host$n" --shutdown-timeout 10
    local pid_var="${name}_pid"
    host_pid[$n]="${!pid_var}"
    host_log[$n]="$tmp/$name.log"
}

# workers_ready N: host N's master has its workers.
workers_ready() {
    (($(ps -o pid= --ppid "${host_pid[$1]}" | wc -l) == workers))
}

# stop_host N: SIGTERM; the master drains and exits 0.
stop_host() {
    local pid=${host_pid[$1]} rc=0
    kill -TERM "$pid"
    wait_exit "$pid" 15 || fail "host$1 still running 15 s after SIGTERM"
    wait "$pid" || rc=$?
    ((rc == 0)) || not_ok "host$1 exited with $rc after SIGTERM, expected 0 (drained)"
}

# The pids of every fcgid process of the fleet, sorted.
fleet_pids() {
    local n
    for n in "${!host_pid[@]}"; do
        echo "${host_pid[$n]}"
        descendants "${host_pid[$n]}"
    done | sort -n | tr '\n' ' '
}

# ---- Load ------------------------------------------------------------------------

# Counts answers by X-Fleet header (version and host) or by status, per thread,
# merged in done(). Globals, so that thread:get() can read them.
cat >"$tmp/fleet.lua" <<'EOF'
counts = {}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  local key = headers["X-Fleet"] or headers["x-fleet"] or "none"
  if status ~= 200 then key = "status " .. status end
  counts[key] = (counts[key] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do total[key] = (total[key] or 0) + n end
  end
  for key, n in pairs(total) do io.write("answers " .. key:gsub(" ", "_") .. " " .. n .. "\n") end
end
EOF

normal_conns=6
normal_path="/app?work_ms=10"

# load_start CONNECTIONS PATH: wrk through the balancer until load_stop.
load_start() {
    "$wrk_bin" -t2 -c"$1" -d600s --timeout 10s -s "$tmp/fleet.lua" "$lb_base$2" >"$tmp/wrk.out" 2>&1 &
    wrk_pid=$!
    track_pid "$wrk_pid"
}

# load_stop: SIGINT ends wrk, which prints its figures; sets load_requests,
# load_failed (non-2xx + socket errors), load_answers ("v2_host1=N ..."),
# and answers_of KEY (count of an X-Fleet value, e.g. "v2_host1").
load_stop() {
    kill -INT "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" || true
    local out non_2xx errors
    out="$(cat "$tmp/wrk.out")"
    load_requests="$(awk '/requests in/ { print $1 }' <<<"$out")"
    non_2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")"
    # "  Socket errors: connect 0, read 3, write 0, timeout 0": every number.
    errors="$(awk '/Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n + 0 }' <<<"$out")"
    [[ -n "$load_requests" ]] || fail "wrk printed no figures: $(tr '\n' ' ' <<<"$out")"
    load_failed=$((${non_2xx:-0} + ${errors:-0}))
    load_errors="$(grep 'Socket errors' <<<"$out" | sed 's/^ *//' || true)"
    load_answers="$(awk '/^answers / { printf "%s=%s ", $2, $3 }' <<<"$out" | sed 's/ $//')"
}

answers_of() {
    sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$load_answers" | head -n 1 | grep . || echo 0
}

# report SCENARIO: the scenario's figures, one line.
report() {
    echo "# [$lb] $1: $load_failed failed of $load_requests requests (${load_answers:-no answers})${load_errors:+; $load_errors}"
}

# answer_from HOST: one GET through the balancer is answered by HOST.
answer_from() {
    curl -s --max-time 5 -D - -o /dev/null "$lb_base/app" | tr -d '\r' | grep -qi "^x-fleet: v[0-9]* $1\$"
}

# ---- Balancers -------------------------------------------------------------------

lb_port=""
template() {
    local n sed_args=()
    for n in 1 2 3 4; do
        sed_args+=(-e "s/192\\.0\\.2\\.1$n:9000/127.0.0.$((n + 1)):$fleet_port/")
    done
    sed "${sed_args[@]}" "$@"
}

haproxy_cmd() {
    "$python_bin" - "$tmp/admin.sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
out = b""
while True:
    data = s.recv(65536)
    if not data:
        break
    out += data
sys.stdout.write(out.decode())
EOF
}

# haproxy_field SERVER COLUMN: a column of `show stat` (1-based) for the
# backend's SERVER line (BACKEND: the backend's own).
haproxy_field() {
    haproxy_cmd "show stat" 2>/dev/null | awk -F, -v s="$1" -v c="$2" '$1 == "fcgid" && $2 == s { print $c }'
}

# haproxy_status SERVER: UP, DOWN, "UP 1/2"...
haproxy_status() {
    haproxy_field "$1" 18
}
host_is() {
    [[ "$(haproxy_status "host$1")" == "$2" ]]
}

haproxy_write_config() {
    template -e "s/^\\( *bind \\):80\$/\\1127.0.0.1:$lb_port/" -e "s#/run/haproxy/#$tmp/#" \
        -e "s#log /dev/log#log stdout format raw#" "$haproxy_shipped" >"$tmp/haproxy.cfg"
    [[ "${1:-}" == host4 ]] && sed -i 's/^ *# \(server host4 .*\)$/    \1/' "$tmp/haproxy.cfg"
    "$haproxy_bin" -c -q -f "$tmp/haproxy.cfg" >"$tmp/haproxy-check.out" 2>&1 ||
        fail "haproxy -c: $(tr '\n' ' ' <"$tmp/haproxy-check.out")"
}

haproxy_start_once() {
    haproxy_write_config
    "$haproxy_bin" -db -f "$tmp/haproxy.cfg" >>"$tmp/haproxy.log" 2>&1 </dev/null &
    haproxy_pid=$!
    track_pid "$haproxy_pid"
    wait_http "$haproxy_pid" "$lb_port" haproxy.log
}

# lb_up N...: the balancer sends requests to hosts N...
haproxy_up() {
    local n
    for n in "$@"; do
        wait_until 15 "HAProxy sees host$n UP" host_is "$n" UP || return 1
    done
}

haproxy_reload() {
    haproxy_write_config host4
    local old=$haproxy_pid
    "$haproxy_bin" -db -f "$tmp/haproxy.cfg" -x "$tmp/admin.sock" -sf "$old" >>"$tmp/haproxy.log" 2>&1 </dev/null &
    haproxy_pid=$!
    track_pid "$haproxy_pid"
    wait_exit "$old" 15 || not_ok "the old HAProxy ($old) still runs 15 s after the reload"
}

nginx_write_config() {
    cat >"$tmp/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log info;
events { worker_connections 4096; }
http {
    log_format upstream '\$request \$status upstream=\$upstream_addr upstream_status=\$upstream_status';
    access_log $tmp/nginx-access.log upstream;
    $nginx_temp_paths
    include $tmp/fcgid-fleet.conf;
}
EOF
    template -e "s/^\\( *listen \\)80;/\\1127.0.0.1:$lb_port;/" "$nginx_shipped" >"$tmp/fcgid-fleet.conf"
    [[ "${1:-}" == host4 ]] && sed -i 's/^ *# \(server 127\.0\.0\.5:.*\)$/    \1/' "$tmp/fcgid-fleet.conf"
    "$nginx_bin" -t -q -p "$tmp" -c "$tmp/nginx.conf" >"$tmp/nginx-check.out" 2>&1 ||
        fail "nginx -t: $(tr '\n' ' ' <"$tmp/nginx-check.out")"
}

nginx_start_once() {
    nginx_write_config
    "$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" >>"$tmp/nginx.out" 2>&1 </dev/null &
    nginx_pid=$!
    track_pid "$nginx_pid"
    wait_http "$nginx_pid" "$lb_port" nginx-error.log
}

# nginx has no health check: a host is in service once it answers.
nginx_up() {
    local n
    for n in "$@"; do
        wait_until 15 "nginx passes requests to host$n" answer_from "host$n" || return 1
    done
}

nginx_reload() {
    nginx_write_config host4
    "$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -s reload 2>>"$tmp/nginx.out" || not_ok "nginx -s reload failed"
}

# ---- Scenarios -------------------------------------------------------------------

scenario_rolling_deploy() {
    local n old_workers
    load_start "$normal_conns" "$normal_path"
    phase 1
    for n in 1 2 3; do
        old_workers="$(ps -o pid= --ppid "${host_pid[$n]}" | tr '\n' ' ')"
        cp "$FCGID_TEST_PLUGIN_DIR/fleet_version_2.so" "$tmp/host$n/app.so"
        kill -HUP "${host_pid[$n]}"
        wait_until 15 "host$n logs 'rolling restart done'" grep -q "rolling restart done" "${host_log[$n]}" || true
        # shellcheck disable=SC2086
        [[ -z "$(wait_all_exit 15 $old_workers)" ]] || not_ok "host$n: old workers still run 15 s after the rolling restart"
        phase 1
    done
    load_stop
    report "1. rolling deploy (v1 -> v2, one host at a time)"
    ((load_failed == 0)) && ok "[$lb] rolling deploy: 0 failed of $load_requests" ||
        not_ok "[$lb] rolling deploy: $load_failed failed of $load_requests"
    load_start "$normal_conns" "$normal_path"
    phase 1
    load_stop
    local v1=$(($(answers_of v1_host1) + $(answers_of v1_host2) + $(answers_of v1_host3)))
    local v2=$(($(answers_of v2_host1) + $(answers_of v2_host2) + $(answers_of v2_host3)))
    if ((v1 == 0 && v2 > 0 && v2 == load_requests && load_failed == 0)); then
        ok "[$lb] after the deploy every answer is version 2 ($v2 of $load_requests: $load_answers)"
    else
        not_ok "[$lb] after the deploy: $v1 answers from version 1, $v2 from version 2 of $load_requests ($load_answers)"
    fi
}

scenario_maintenance() {
    load_start "$normal_conns" "$normal_path"
    phase 1
    stop_host 2
    phase 1
    start_host 2
    "${lb}_up" 2 || true
    phase 1
    load_stop
    report "2. planned maintenance (SIGTERM host2, start it again)"
    ((load_failed == 0)) && ok "[$lb] planned maintenance: 0 failed of $load_requests" ||
        not_ok "[$lb] planned maintenance: $load_failed failed of $load_requests"
}

scenario_crash() {
    local pid=${host_pid[3]} took=""
    load_start "$normal_conns" "$normal_path"
    phase 1
    # Not this shell's job any more: no "Killed" line from bash.
    disown "$pid" 2>/dev/null || true
    signal_tree KILL "$pid"
    local killed_at=$SECONDS
    if [[ $lb == haproxy ]]; then
        wait_until 10 "HAProxy takes the crashed host3 out" host_is 3 DOWN && took="HAProxy marked it DOWN after $((SECONDS - killed_at)) s; "
    fi
    phase 1
    wait_exit "$pid" 5 || not_ok "host3's master survived SIGKILL"
    start_host 3
    "${lb}_up" 3 || true
    phase 1
    load_stop
    report "3. crash (SIGKILL host3's whole tree, start it again)"
    echo "# [$lb] crash: ${took}host3 answered $(answers_of v2_host3) of them"
    if [[ $lb == nginx ]]; then
        ((load_failed == 0)) && ok "[nginx] crash: 0 failed GETs of $load_requests (fastcgi_next_upstream)" ||
            not_ok "[nginx] crash: $load_failed failed GETs of $load_requests, expected 0"
    else
        # At most what was in flight on host3: never more than the load's
        # connections.
        ((load_failed <= normal_conns)) &&
            ok "[haproxy] crash: $load_failed failed of $load_requests (bound: the $normal_conns requests in flight)" ||
            not_ok "[haproxy] crash: $load_failed failed of $load_requests, more than the $normal_conns in flight"
    fi
}

scenario_hang() {
    local pid=${host_pid[1]} stopped_at stopped_ms took
    load_start "$normal_conns" "$normal_path"
    phase 1
    signal_tree STOP "$pid"
    stopped_at=$SECONDS
    stopped_ms=$(($(date +%s%N) / 1000000))
    if [[ $lb == haproxy ]]; then
        # The next check starts within inter (1 s) and times out (timeout
        # check, 1 s); the second, fastinter (0.5 s) later, too: 3.5 s at
        # most, polled every 0.1 s through the admin socket. The slack is
        # for a loaded CI machine.
        if wait_until 8 "HAProxy's check takes the hung host1 out" host_is 1 DOWN; then
            took=$(($(date +%s%N) / 1000000 - stopped_ms))
            ((took <= 5000)) &&
                ok "[haproxy] hang: the health check took host1 out after $took ms (at most inter 1s + 2 x timeout check 1s + fastinter 0.5s = 3.5 s)" ||
                not_ok "[haproxy] hang: the health check took host1 out after $took ms, more than 5 s"
        fi
    fi
    phase 4
    signal_tree CONT "$pid"
    "${lb}_up" 1 || true
    phase 1
    load_stop
    report "4. hang (SIGSTOP host1's tree for $((SECONDS - stopped_at - 1)) s, then SIGCONT)"
    # Each connection of the load has at most one request stuck on host1
    # until it times out (timeout server / fastcgi_read_timeout 3 s) and is
    # retried elsewhere; it is out before a second one can be sent.
    ((load_failed <= normal_conns)) &&
        ok "[$lb] hang: $load_failed failed of $load_requests (bound: the $normal_conns requests in flight)" ||
        not_ok "[$lb] hang: $load_failed failed of $load_requests, more than the $normal_conns in flight"
    load_start "$normal_conns" "$normal_path"
    phase 1
    load_stop
    (($(answers_of v2_host1) > 0)) && ok "[$lb] hang: after SIGCONT host1 serves again ($load_answers)" ||
        not_ok "[$lb] hang: after SIGCONT host1 answered none ($load_answers)"
}

scenario_scale_out() {
    start_host 4 2
    load_start "$normal_conns" "$normal_path"
    phase 1
    "${lb}_reload"
    "${lb}_up" 4 || true
    phase 1
    load_stop
    report "5. scale out (host4 added, balancer reloaded)"
    if [[ $lb == haproxy ]]; then
        ((load_failed == 0)) && ok "[haproxy] scale out: 0 failed of $load_requests" ||
            not_ok "[haproxy] scale out: $load_failed failed of $load_requests"
    else
        # nginx -s reload: the old worker closes the client connections that
        # are idle at that instant, and a request the client sent on one at
        # the same moment meets a closed connection (wrk: a read error; a
        # browser sends such a request again). At most one per connection;
        # fcgid and the upstream lose nothing.
        ((load_failed <= normal_conns)) &&
            ok "[nginx] scale out: $load_failed failed of $load_requests (bound: one per client connection racing the reload)" ||
            not_ok "[nginx] scale out: $load_failed failed of $load_requests, more than one per client connection"
    fi
    load_start "$normal_conns" "$normal_path"
    phase 2
    load_stop
    local share=$((100 * $(answers_of v2_host4) / (load_requests > 0 ? load_requests : 1)))
    ((share >= 10 && load_failed == 0)) && ok "[$lb] scale out: host4 served $share% of $load_requests answers (a fair share is 25%)" ||
        not_ok "[$lb] scale out: host4 served $share% of $load_requests answers, $load_failed failed ($load_answers)"
}

scenario_overload() {
    local n pids_before pids_after refused_before refused=0 peak
    local hosts=${#host_pid[@]}
    local capacity=$((hosts * max_requests)) work_ms=100
    declare -A base_rss=() peak_rss=()
    for n in "${!host_pid[@]}"; do
        base_rss[$n]=$(tree_rss_kib "${host_pid[$n]}")
        peak_rss[$n]=${base_rss[$n]}
    done
    pids_before="$(fleet_pids)"
    refused_before="$(cat "${host_log[@]}" | grep -c 'too many requests in flight' || true)"
    load_start $((3 * capacity)) "/app?work_ms=$work_ms"
    local started_ms=$(($(date +%s%N) / 1000000)) until=$((SECONDS + 3 * scale))
    while ((SECONDS < until)); do
        for n in "${!host_pid[@]}"; do
            peak=$(tree_rss_kib "${host_pid[$n]}")
            ((peak > peak_rss[$n])) && peak_rss[$n]=$peak
        done
        sleep 0.2
    done
    local queued=""
    [[ $lb == haproxy ]] && queued="$(haproxy_field BACKEND 4)"
    load_stop
    local elapsed_ms=$(($(date +%s%N) / 1000000 - started_ms))
    report "6. overload ($((3 * capacity)) connections, 3x the fleet's $capacity requests in flight of ${work_ms} ms)"
    refused=$(($(cat "${host_log[@]}" | grep -c 'too many requests in flight' || true) - refused_before))
    local served=$((load_requests - load_failed)) full=$((capacity * elapsed_ms / work_ms))
    local rss_line="" grew=0
    for n in $(printf '%s\n' "${!host_pid[@]}" | sort -n); do
        rss_line+=" host$n $((base_rss[$n] / 1024))->$((peak_rss[$n] / 1024)) MiB"
        # Bounded: a host holds at most --workers x --max-requests requests.
        ((peak_rss[$n] <= base_rss[$n] + 32768)) || grew=1
    done
    echo "# [$lb] overload: $served answered in $elapsed_ms ms, $((100 * served / full))% of the fleet's capacity ($full);" \
        "RSS per host (before -> peak):$rss_line; fcgid answered FCGI_OVERLOADED $refused times${queued:+; the HAProxy queue peaked at $queued requests}"
    pids_after="$(fleet_pids)"
    if [[ "$pids_after" == "$pids_before" ]] && ! grep -q 'killed by signal' "${host_log[@]}"; then
        ok "[$lb] overload: no fcgid process died (the same $(wc -w <<<"$pids_after") processes before and after)"
    else
        not_ok "[$lb] overload: fcgid processes before '$pids_before', after '$pids_after'"
    fi
    ((grew == 0)) && ok "[$lb] overload: memory bounded (RSS per host grew less than 32 MiB:$rss_line)" ||
        not_ok "[$lb] overload: RSS grew more than 32 MiB:$rss_line"
    # The fleet kept working through it rather than collapsing.
    ((2 * served >= full)) && ok "[$lb] overload: the fleet served $served, at least half its capacity ($full)" ||
        not_ok "[$lb] overload: the fleet served $served, less than half its capacity ($full)"
    if [[ $lb == haproxy ]]; then
        ((${queued:-0} > 0)) && ok "[haproxy] overload: HAProxy queued the excess (qmax $queued), fcgid refused $refused" ||
            not_ok "[haproxy] overload: the HAProxy queue never filled (qmax '${queued}')"
    else
        # nginx cannot queue: max_conns sheds the excess with a 502 at once.
        local shed
        shed="$(grep -c 'no live upstreams' "$tmp/nginx-error.log" || true)"
        ((shed > 0 && load_failed > 0)) && ok "[nginx] overload: nginx shed the excess at max_conns ($shed 502s), fcgid refused $refused" ||
            not_ok "[nginx] overload: nginx shed $shed requests, $load_failed failed"
    fi
    # Recovery: every host in service again, then normal load with 0 failed.
    "${lb}_up" "${!host_pid[@]}" || true
    load_start "$normal_conns" "$normal_path"
    phase 2
    load_stop
    report "6. after the overload (normal load)"
    ((load_failed == 0)) && ok "[$lb] the fleet recovered: 0 failed of $load_requests after the overload" ||
        not_ok "[$lb] after the overload: $load_failed failed of $load_requests"
}

# ---- Run -------------------------------------------------------------------------

for lb in haproxy nginx; do
    lb_started=$SECONDS
    host_pid=() host_log=()
    for n in 1 2 3; do
        start_host "$n" 1
    done
    for n in 1 2 3; do
        wait_until 10 "host$n starts $workers workers" workers_ready "$n" || fail "host$n did not start"
    done
    show_log "$lb.log"
    [[ $lb == nginx ]] && show_log nginx-error.log
    start_on_free_port lb_port "${lb}_start_once"
    lb_base="http://127.0.0.1:$lb_port"
    "${lb}_up" 1 2 3 || fail "$lb does not reach the fleet"
    echo "# [$lb] on port $lb_port, hosts 127.0.0.2..4:$fleet_port"
    scenario_rolling_deploy
    scenario_maintenance
    scenario_crash
    scenario_hang
    scenario_scale_out
    scenario_overload
    # The balancer first, then the hosts: each drains and exits 0.
    lb_pid_var="${lb}_pid"
    stop_tree "${!lb_pid_var}"
    for n in "${!host_pid[@]}"; do
        stop_host "$n"
    done
    echo "# [$lb] all scenarios in $((SECONDS - lb_started)) s"
done
echo "# fleet_test: $((SECONDS - start_wall)) s in all"
