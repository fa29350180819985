#!/usr/bin/env bash
# `fcgid ping` / `fcgid status` and --metrics-listen against real tools:
#  - PHP-FPM, whose ping.path and pm.status_path the commands' defaults
#    (/ping, /status) follow: ping answers "pong", status --json is PHP-FPM's
#    JSON, --full adds its per-process rows, an unknown path is exit 1;
#  - the installed fcgid's metrics listener read by curl, its Prometheus
#    text checked by `promtool check metrics` and its OpenMetrics text by the
#    strict parser of python3-prometheus-client (both whatever /metrics
#    serves, so they keep checking once the real renderers are wired in).
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR. Optional:
# PHP_FPM_BIN, PROMTOOL_BIN, PYTHON3_BIN. Each tool is required: a missing one
# FAILS the test (scripts/dev.sh installs them).
# shellcheck disable=SC2154
set -euo pipefail
test_name=probe_test
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
interop_bound 60 "$@"

PHP_FPM_BIN="${PHP_FPM_BIN:-}"
PROMTOOL_BIN="${PROMTOOL_BIN:-}"
PYTHON3_BIN="${PYTHON3_BIN:-/usr/bin/python3}"  # Debian's, which has the package
need_program PHP_FPM_BIN php-fpm8.2 /usr/sbin/php-fpm8.2
need_program PROMTOOL_BIN promtool /usr/bin/promtool
need_program PYTHON3_BIN python3
"$PYTHON3_BIN" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null ||
    fail "$PYTHON3_BIN has no prometheus_client: install python3-prometheus-client (scripts/dev.sh does)"
need_fcgid
interop_init
echo "# $("$PHP_FPM_BIN" -v | head -n 1); $("$PROMTOOL_BIN" --version 2>&1 | head -n 1)"

# ---- fcgid ping / status against PHP-FPM -------------------------------------

cat >"$tmp/php-fpm.conf" <<FPM_CONF
[global]
pid = $tmp/php-fpm.pid
error_log = $tmp/php-fpm.log
daemonize = no
[probe]
listen = $tmp/php-fpm.sock
pm = static
pm.max_children = 1
ping.path = /ping
pm.status_path = /status
FPM_CONF
: >"$tmp/php-fpm.log"
# -R: the test may run as root; -n: no php.ini of the host's.
"$PHP_FPM_BIN" -R -n -y "$tmp/php-fpm.conf" >"$tmp/php-fpm.out" 2>&1 </dev/null &
fpm_pid=$!
track_pid "$fpm_pid"
for _ in $(seq 100); do
    grep -q "ready to handle connections" "$tmp/php-fpm.log" && break
    kill -0 "$fpm_pid" 2>/dev/null || fail "php-fpm exited at startup: $(tail -n 2 "$tmp/php-fpm.log" "$tmp/php-fpm.out")"
    sleep 0.1
done
grep -q "ready to handle connections" "$tmp/php-fpm.log" || fail "php-fpm not ready in 10 s"

rc=0
out="$("$FCGID_BIN" ping "unix:$tmp/php-fpm.sock" 2>"$tmp/err")" || rc=$?
if ((rc == 0)) && [[ "$out" =~ ^pong\ \(200\)\ in\ [0-9.]+\ ms$ ]]; then
    ok "fcgid ping answers '$out' from PHP-FPM's ping.path"
else
    not_ok "fcgid ping against PHP-FPM: exit $rc, out '$out', err '$(cat "$tmp/err")'"
fi

rc=0
"$FCGID_BIN" status "$tmp/php-fpm.sock" --json >"$tmp/status.json" 2>"$tmp/err" || rc=$?
if ((rc == 0)) && "$PYTHON3_BIN" -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d["pool"] != "probe")' \
    "$tmp/status.json" 2>>"$tmp/err"; then
    ok "fcgid status --json prints PHP-FPM's status JSON (pool probe)"
else
    not_ok "fcgid status --json against PHP-FPM: exit $rc, $(head -c 300 "$tmp/status.json") $(cat "$tmp/err")"
fi

rc=0
"$FCGID_BIN" status "unix:$tmp/php-fpm.sock" --full >"$tmp/status.txt" 2>"$tmp/err" || rc=$?
if ((rc == 0)) && grep -q "^pool: *probe$" "$tmp/status.txt" && grep -q "^request URI: */status?full$" "$tmp/status.txt"; then
    ok "fcgid status --full prints PHP-FPM's per-process rows (it saw /status?full)"
else
    not_ok "fcgid status --full against PHP-FPM: exit $rc, $(head -c 300 "$tmp/status.txt") $(cat "$tmp/err")"
fi

rc=0
"$FCGID_BIN" ping "unix:$tmp/php-fpm.sock" --path /nowhere >"$tmp/out" 2>"$tmp/err" || rc=$?
if ((rc == 1)) && [[ "$(cat "$tmp/err")" == "fcgid: error: ping unix:$tmp/php-fpm.sock: answered 404 Not Found" ]]; then
    ok "fcgid ping exits 1 with one line on PHP-FPM's 404"
else
    not_ok "fcgid ping --path /nowhere against PHP-FPM: exit $rc, err '$(cat "$tmp/err")'"
fi

# ---- --metrics-listen, read by curl, promtool and prometheus_client ----------

start_fcgid metrics hello --metrics-listen 127.0.0.1:0
metrics_port="$(sed -n 's|.*metrics endpoint on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$tmp/metrics.log" | head -n 1)"
[[ -n "$metrics_port" ]] || fail "no 'metrics endpoint on' line: $(cat "$tmp/metrics.log")"
base="http://127.0.0.1:$metrics_port"

code="$(curl -s --max-time 5 -o "$tmp/prom.txt" -D "$tmp/prom.headers" -w '%{http_code}' "$base/metrics" || true)"
if [[ "$code" == 200 ]] && grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/prom.headers" &&
    "$PROMTOOL_BIN" check metrics <"$tmp/prom.txt" >"$tmp/promtool.out" 2>&1; then
    ok "/metrics without Accept: Prometheus text 0.0.4 that promtool check metrics accepts"
else
    not_ok "/metrics as Prometheus text: $code, $(tr '\n' ' ' <"$tmp/prom.headers"), promtool: $(cat "$tmp/promtool.out" 2>/dev/null)"
fi

accept='application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'
code="$(curl -s --max-time 5 -H "Accept: $accept" -o "$tmp/om.txt" -D "$tmp/om.headers" -w '%{http_code}' "$base/metrics" || true)"
if [[ "$code" == 200 ]] && grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$tmp/om.headers" &&
    "$PYTHON3_BIN" -c 'import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = list(text_string_to_metric_families(open(sys.argv[1]).read()))
sys.exit(0 if families else 1)' "$tmp/om.txt" >"$tmp/om.out" 2>&1; then
    ok "/metrics with Prometheus' Accept header: OpenMetrics that prometheus_client's strict parser reads"
else
    not_ok "/metrics as OpenMetrics: $code, $(tr '\n' ' ' <"$tmp/om.headers"), parser: $(cat "$tmp/om.out" 2>/dev/null)"
fi

for check in "/health 200" "/ready 200" "/nowhere 404"; do
    read -r path want <<<"$check"
    code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$base$path" || true)"
    if [[ "$code" == "$want" ]]; then ok "curl $path: $code"; else not_ok "curl $path: $code, expected $want"; fi
done

stop_fcgid metrics
