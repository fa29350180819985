#!/usr/bin/env bash
# A plugin that crashes costs one request, never the host (README, "When a
# plugin crashes"). fcgid --workers 4 with tests/plugins/faulty.so behind
# nginx (upstream keepalive 32, fastcgi_keep_conn on, the same address twice
# more as a backup as packaging/nginx/fcgid.conf advises, nginx's defaults
# otherwise),
# wrk sending normal GETs on 16 connections:
#   1. 5 s of normal load alone, then 5 s with a poison request (?crash,
#      NULL dereference) every 200 ms beside it: every normal GET answered
#      2xx, every poison request a 5xx, the crashed workers replaced, and the
#      requests per second of both phases printed side by side;
#   2. other faults under the same load, each with its failed requests
#      counted: abort() on a plugin thread, a worker SIGKILLed from outside
#      (as the OOM killer does), a plugin that leaks until --memory-limit
#      recycles its worker (0 failed), a plugin that hangs in handle() (the
#      other workers keep serving).
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR, FCGID_TEST_PLUGIN_DIR.
# nginx, wrk and curl are required: a missing one FAILS the test.
# shellcheck disable=SC2154
set -euo pipefail
test_name=crash_test
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_bound 150 "$@"

need_program wrk_bin wrk
need_fcgid
faulty="${FCGID_TEST_PLUGIN_DIR:-}/faulty.so"
[[ -f "$faulty" ]] || fail "no faulty.so in FCGID_TEST_PLUGIN_DIR='${FCGID_TEST_PLUGIN_DIR:-}'"
interop_init
nginx_prepare
# In the sanitizer build, AddressSanitizer would catch the SIGSEGV, print its
# report and exit 1, taking a while to die; production fcgid dies of the
# signal at once, and that is what this test is about.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0"
echo "# $("$nginx_bin" -v 2>&1), $("$wrk_bin" --version 2>&1 | head -n 1 | cut -d' ' -f1-2)"

# The worker processes of the fcgid master NAME.
workers_of() {
    local pid_var="${1}_pid"
    ps -o pid= --ppid "${!pid_var}" | tr -d ' '
}

# wait_workers NAME COUNT: 0 once NAME's master has COUNT live workers (5 s).
wait_workers() {
    for _ in $(seq 50); do
        (($(workers_of "$1" | wc -l) == $2)) && return 0
        sleep 0.1
    done
    return 1
}

# load SECONDS PATH: wrk on 16 connections through nginx; sets wrk_rps,
# wrk_requests and wrk_failed (non-2xx answers plus socket errors).
load() {
    local out
    out="$("$wrk_bin" -t1 -c16 -d"$1"s --timeout 5s "$base$2" 2>&1)"
    echo "$out" >"$tmp/wrk.out"
    wrk_rps="$(awk '/^Requests\/sec:/ { printf "%d", $2 }' <<<"$out")"
    wrk_requests="$(awk '/requests in/ { print $1 }' <<<"$out")"
    local non_2xx errors
    non_2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")"
    # "  Socket errors: connect 0, read 3, write 0, timeout 0": every number.
    errors="$(awk '/Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n + 0 }' <<<"$out")"
    wrk_failed=$((${non_2xx:-0} + ${errors:-0}))
    [[ -n "$wrk_rps" && -n "$wrk_requests" ]] || fail "wrk printed no figures: $(tr '\n' ' ' <<<"$out")"
}

# every_200ms SECONDS PATH OUT: one curl through nginx every 200 ms, in the
# background; the status codes go to $tmp/OUT, one a line. Sets loop_pid.
every_200ms() {
    local tenths=$(($1 * 5)) path=$2 out=$3
    : >"$tmp/$out"
    (
        for _ in $(seq "$tenths"); do
            curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' "$base$path" >>"$tmp/$out" || true
            sleep 0.2
        done
    ) &
    loop_pid=$!
    track_pid "$loop_pid"
}

# A worker starts at about 4 MiB resident (62 MiB in the sanitizer build):
# three 16 MiB leaks pass the limit either way.
memory_limit=48m
[[ "${FCGID_SANITIZED:-0}" == 1 ]] && memory_limit=112m
start_fcgid faulty "$faulty" --workers 4 --memory-limit "$memory_limit"
show_log faulty.log
wait_workers faulty 4 || fail "fcgid did not start 4 workers"
# As packaging/nginx/fcgid.conf has it for one host with --workers: the same
# address twice more as a backup. nginx tries each server of an upstream at
# most once per request, and a GET may meet both workers that die of one
# poison request before it is quarantined (--quarantine-after 2): the third
# try reaches a worker that lives.
nginx_http="
    upstream faulty {
        server 127.0.0.1:$faulty_port max_fails=0;
        server 127.0.0.1:$faulty_port max_fails=0 backup;
        server 127.0.0.1:$faulty_port max_fails=0 backup;
        keepalive 32;
    }"
nginx_server="
        location / { include $tmp/fastcgi_params; fastcgi_pass faulty; fastcgi_keep_conn on; }"
start_nginx
base="http://127.0.0.1:$nginx_port"
echo "# fcgid on $faulty_port (4 workers), nginx on $nginx_port"

# ---- 1. Poison requests beside normal load -----------------------------------

load 5 /normal
baseline_rps=$wrk_rps
((wrk_failed == 0)) || not_ok "normal load alone: $wrk_failed of $wrk_requests failed"
echo "# normal load alone: $wrk_requests requests, $wrk_rps/s"

every_200ms 5 "/?crash" poison.codes
load 5 /normal
wait "$loop_pid" || true
poison_rps=$wrk_rps
poison_sent="$(wc -l <"$tmp/poison.codes")"
poison_5xx="$(grep -c '^5' "$tmp/poison.codes" || true)"
crashes="$(grep -c 'killed by signal SIGSEGV while the plugin handled GET /?crash' "$tmp/faulty.log" || true)"
echo "# with a poison request every 200 ms: $wrk_requests normal requests, $wrk_rps/s" \
    "($(awk -v a="$poison_rps" -v b="$baseline_rps" 'BEGIN { printf "%.2f", a / b }')x the normal load alone);" \
    "$poison_sent poison requests, $crashes workers crashed"
if ((wrk_failed == 0)); then
    ok "every normal GET answered 2xx beside the poison requests ($wrk_requests of them)"
else
    not_ok "$wrk_failed of $wrk_requests normal GETs failed beside the poison requests"
    grep -E '\[(error|alert|crit)\]' "$tmp/nginx-error.log" | head -n 5 | sed 's/^/# nginx: /'
    grep -E ' (5[0-9][0-9]|499) ' "$tmp/nginx-access.log" | grep -v crash | head -n 5 | sed 's/^/# access: /'
fi
if ((poison_sent >= 10 && poison_5xx == poison_sent)); then
    ok "every poison request answered 5xx ($(sort "$tmp/poison.codes" | uniq -c | tr -s ' \n' ' '))"
else
    not_ok "poison requests: $poison_sent sent, $poison_5xx answered 5xx ($(sort "$tmp/poison.codes" | uniq -c | tr -s ' \n' ' '))"
fi
if ((crashes >= 1 && crashes <= 4)) && grep -q 'quarantined request answered 500 without calling the plugin: GET /?crash' "$tmp/faulty.log"; then
    ok "the poison request crashed $crashes workers, then was quarantined and answered 500 by fcgid"
else
    not_ok "the poison request crashed $crashes workers (expected 1 to 4 before the quarantine)"
fi
if wait_workers faulty 4 && alive "$faulty_pid"; then
    ok "the crashed workers were replaced: 4 workers serve, the master is alive"
else
    not_ok "after the crashes: master $(alive "$faulty_pid" && echo alive || echo gone), $(workers_of faulty | wc -l) workers"
fi

# ---- 2. Other faults under load ------------------------------------------------

# fault NAME CHECK...: normal load for 4 s with the fault started 1 s in.
fault_under_load() {
    local label=$1
    shift
    ( sleep 1; "$@" ) &
    local fault_pid=$!
    load 4 /normal
    wait "$fault_pid" || true
    echo "# $label: $wrk_failed of $wrk_requests normal requests failed"
}

before="$(grep -c 'killed by signal SIGABRT' "$tmp/faulty.log" || true)"
fault_under_load "abort() on a plugin thread" curl -s -o /dev/null "$base/?abort-thread"
after="$(grep -c 'killed by signal SIGABRT' "$tmp/faulty.log" || true)"
if ((after == before + 1 && wrk_failed == 0)) && wait_workers faulty 4; then
    ok "abort() on a plugin thread: one worker died and was replaced; 0 of $wrk_requests normal requests failed"
else
    not_ok "abort() on a plugin thread: $((after - before)) workers died of SIGABRT, $wrk_failed of $wrk_requests failed"
fi

victim="$(workers_of faulty | head -n 1)"
fault_under_load "a worker SIGKILLed from outside" kill -KILL "$victim"
if grep -q "worker $victim killed by signal SIGKILL (from outside" "$tmp/faulty.log" && ((wrk_failed == 0)) &&
    wait_workers faulty 4; then
    ok "a worker SIGKILLed from outside (the OOM killer's way): replaced; 0 of $wrk_requests normal requests failed"
else
    not_ok "a worker SIGKILLed from outside: $wrk_failed of $wrk_requests failed; log: $(grep "worker $victim" "$tmp/faulty.log" | tail -n 1)"
fi

recycled_before="$(grep -c 'memory limit reached' "$tmp/faulty.log" || true)"
every_200ms 4 "/?leak=16" leak.codes
load 4 /normal
wait "$loop_pid" || true
recycled="$(($(grep -c 'memory limit reached' "$tmp/faulty.log" || true) - recycled_before))"
leak_failed="$(grep -vc '^200$' "$tmp/leak.codes" || true)"
echo "# a plugin leaking 16 MiB a request under --memory-limit $memory_limit: $recycled workers recycled," \
    "$wrk_failed of $wrk_requests normal requests and $leak_failed of $(wc -l <"$tmp/leak.codes") leaking ones failed"
if ((recycled >= 1 && wrk_failed == 0 && leak_failed == 0)) && wait_workers faulty 4; then
    ok "a leaking plugin: --memory-limit recycled $recycled workers with 0 failed requests"
else
    not_ok "a leaking plugin: $recycled workers recycled, $wrk_failed normal and $leak_failed leaking requests failed"
fi

curl -s --max-time 1 -o /dev/null "$base/?hang" || true
load 3 /normal
hung_rps=$wrk_rps
echo "# one worker hung in handle(): $wrk_requests normal requests answered in 3 s, $wrk_failed failed"
if ((wrk_requests - wrk_failed >= 100)) && alive "$faulty_pid"; then
    ok "a plugin hung in handle(): the other workers kept serving ($hung_rps/s)"
else
    not_ok "a plugin hung in handle(): $((wrk_requests - wrk_failed)) normal requests served in 3 s"
fi
