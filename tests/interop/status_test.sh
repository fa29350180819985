#!/usr/bin/env bash
# fcgid's --status-path and --ping-path through real nginx, with the
# `location =` snippet of packaging/nginx/fcgid.conf and README.md, in one
# process and with --workers 3:
#   - the ping answers 200 with its text; the status page passes through
#     with its Content-Type and Cache-Control: no-store;
#   - ?json parses, and its totals grow by exactly the requests sent;
#   - ?prometheus (and &full) passes `promtool check metrics`;
#   - ?openmetrics (and &full) parses with the strict OpenMetrics parser of
#     python3-prometheus-client, # EOF included.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional: NGINX_BIN,
# PROMTOOL (default /usr/bin/promtool), PYTHON (default /usr/bin/python3, the
# one Debian's python3-prometheus-client is installed for). A missing one FAILS.
# NAME_port is set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=status_test
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_bound 120 "$@"

NGINX_BIN="${NGINX_BIN:-}"
need_program NGINX_BIN nginx /usr/sbin/nginx
PROMTOOL="${PROMTOOL:-}"
need_program PROMTOOL promtool /usr/bin/promtool
PYTHON="${PYTHON:-/usr/bin/python3}"
"$PYTHON" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null ||
    fail "$PYTHON cannot import prometheus_client (python3-prometheus-client)"
nginx_bin=$NGINX_BIN
need_fcgid
interop_init
nginx_prepare
echo "# $("$nginx_bin" -v 2>&1), $("$PROMTOOL" --version 2>&1 | head -n 1)"

start_fcgid single hello --status-path /single/fcgid-status --ping-path /single/fcgid-ping
start_fcgid workers hello --workers 3 --status-path /fcgid-status --ping-path /fcgid-ping \
    --ping-response alive
for _ in $(seq 100); do
    grep -q "3 workers serving" "$tmp/workers.log" && break
    sleep 0.1
done
grep -q "3 workers serving" "$tmp/workers.log" || fail "fcgid --workers 3 did not report its workers serving"

fastcgi="include $tmp/fastcgi_params;"
nginx_http="
    upstream single  { server 127.0.0.1:$single_port;  keepalive 4; }
    upstream workers { server 127.0.0.1:$workers_port; keepalive 4; }"
# The snippet operators copy (README.md, packaging/nginx/fcgid.conf).
snippet() {
    echo "location = $1 { allow 127.0.0.1; deny all; $fastcgi fastcgi_pass $2; fastcgi_keep_conn on; }"
}
nginx_server="
        $(snippet /fcgid-status workers)
        $(snippet /fcgid-ping workers)
        $(snippet /single/fcgid-status single)
        $(snippet /single/fcgid-ping single)
        location /single/ { $fastcgi fastcgi_pass single;  fastcgi_keep_conn on; }
        location /        { $fastcgi fastcgi_pass workers; fastcgi_keep_conn on; }"
start_nginx
base="http://127.0.0.1:$nginx_port"
echo "# fcgid single on $single_port, --workers 3 on $workers_port, nginx on $nginx_port"

# json_field FILE EXPRESSION: a value from the JSON in FILE, e.g. "['total']['requests']".
json_field() {
    "$PYTHON" -c "import json, sys; print(json.load(open(sys.argv[1]))$2)" "$1"
}

check_instance() {
    local label=$1 prefix=$2 pong=$3 before after expected

    request "$base$prefix/fcgid-ping"
    if [[ "$status" == 200 && "$(cat "$tmp/body")" == "$pong" && "$(header Content-Type)" == text/plain* ]]; then
        ok "$label: the ping answers 200 $pong through nginx"
    else
        not_ok "$label: ping gave $status '$(head -c 100 "$tmp/body")' ($(headers_oneline))"
    fi

    request "$base$prefix/fcgid-status?json"
    cp "$tmp/body" "$tmp/before.json"
    if [[ "$status" == 200 && "$(header Content-Type)" == application/json &&
        "$(header Cache-Control)" == no-store ]] && before="$(json_field "$tmp/before.json" "['total']['requests']")"; then
        ok "$label: ?json is JSON, application/json, Cache-Control: no-store"
    else
        not_ok "$label: ?json gave $status ($(headers_oneline)): $(head -c 200 "$tmp/body")"
        before=0
    fi
    # 20 GETs for the plugin, a ping, and the status request above (counted once answered).
    for _ in $(seq 20); do request "$base$prefix/hello"; done
    request "$base$prefix/fcgid-ping"
    request "$base$prefix/fcgid-status?json&full"
    cp "$tmp/body" "$tmp/after.json"
    after="$(json_field "$tmp/after.json" "['total']['requests']" || echo "?")"
    expected=$((before + 22))
    if [[ "$after" == "$expected" ]]; then
        ok "$label: requests total grew by exactly the 22 requests sent ($before -> $after)"
    else
        not_ok "$label: requests total $before -> $after, expected $expected"
    fi
    local per_worker
    per_worker="$(json_field "$tmp/after.json" "['workers'] and sum(w['requests'] for w in json.load(open(sys.argv[1]))['workers'])" || echo "?")"
    if [[ "$per_worker" == "$after" ]]; then
        ok "$label: ?json&full: the workers' requests add up to the total ($per_worker)"
    else
        not_ok "$label: ?json&full: the workers' requests add up to $per_worker, the total is $after"
    fi

    local query
    for query in prometheus 'prometheus&full'; do
        request "$base$prefix/fcgid-status?$query"
        if [[ "$status" == 200 && "$(header Content-Type)" == "text/plain; version=0.0.4; charset=utf-8" ]] &&
            "$PROMTOOL" check metrics <"$tmp/body" >"$tmp/promtool.out" 2>&1; then
            ok "$label: ?$query passes promtool check metrics"
        else
            not_ok "$label: ?$query: $status ($(header Content-Type)); promtool: $(head -c 500 "$tmp/promtool.out")"
        fi
    done

    for query in openmetrics 'openmetrics&full'; do
        request "$base$prefix/fcgid-status?$query"
        if [[ "$status" == 200 &&
            "$(header Content-Type)" == "application/openmetrics-text; version=1.0.0; charset=utf-8" ]] &&
            "$PYTHON" - "$tmp/body" >"$tmp/parser.out" 2>&1 <<'PY'; then
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
assert text.endswith("# EOF\n"), "no # EOF at the end"
families = {f.name: f for f in text_string_to_metric_families(text)}
requests = families["fcgid_requests"]
assert requests.type == "counter", requests.type
assert requests.samples[0].name == "fcgid_requests_total", requests.samples[0].name
assert families["fcgid_request_duration_seconds"].type == "histogram"
assert families["fcgid_build"].type == "info"
print(len(families), "families")
PY
            ok "$label: ?$query parses with the strict OpenMetrics parser ($(cat "$tmp/parser.out"))"
        else
            not_ok "$label: ?$query: $status ($(header Content-Type)): $(tail -n 3 "$tmp/parser.out")"
        fi
    done

    request "$base$prefix/fcgid-status"
    if [[ "$status" == 200 ]] && grep -q "^state: *serving (ready)$" "$tmp/body"; then
        ok "$label: the text status says serving (ready)"
    else
        not_ok "$label: text status $status: $(head -c 300 "$tmp/body")"
    fi
}

check_instance "one process" /single pong
check_instance "--workers 3" "" alive

request "$base/fcgid-status?json&full"
workers_seen="$(json_field "$tmp/body" "['workers_live']" || echo "?")"
if [[ "$workers_seen" == 3 ]]; then
    ok "--workers 3: the status shows 3 live workers"
else
    not_ok "--workers 3: the status shows $workers_seen live workers"
fi

stop_fcgid single
