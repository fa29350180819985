#!/usr/bin/env bash
# shellcheck disable=SC2034  # FCGID_BIN, FCGID_PLUGIN_DIR: read by lib/servers.sh
# What a change bought: two or more fcgid builds serving hello, measured side
# by side in one run, in alternating rounds so that a drift of the machine's
# load hits them all alike. Directly with fcgi-bench (32 connections),
# KEEP_CONN on and off.
#
#   bench/ab.sh [--rounds N] [--duration S] [--keep-conn on|off|on,off]
#               [--connections N] [--bench-args 'FCGI-BENCH ARGS']
#               --fcgi-bench PATH NAME=STAGE[,PLUGIN[,URI[,KEY=VALUE...]]]...
#
# STAGE is an install prefix (cmake --install BUILD --prefix STAGE) with
# bin/fcgid and lib/fcgid/plugins/hello.so. A variant may name another
# PLUGIN (a file in STAGE's plugin dir, or a path; empty: hello.so), the
# URI fcgi-bench asks for (default /) and --plugin-option values, so that
# plugins can be compared as builds are:
#
#   bench/ab.sh --keep-conn on --fcgi-bench FB c=STAGE sdk=STAGE,/tmp/sdk_hello.so
#   bench/ab.sh --keep-conn on --fcgi-bench FB todo=STAGE,todo.so,/todos/42,seed=100
#   bench/ab.sh --keep-conn off --connections 4 --bench-args '--body-size 1048576' \
#               --fcgi-bench FB base=STAGE1,/tmp/bytes.so now=STAGE2,/tmp/bytes.so
#
# Prints, per scenario and variant, the median over the rounds of req/s,
# server CPU µs per request (user + system) and peak RSS, and each
# variant's median req/s and CPU per request over the first's.
set -euo pipefail

ROUNDS=3 DURATION=4 FCGI_BENCH="" BUILDS=() KEEP_CONN="on,off" CONNECTIONS=32 BENCH_ARGS=()
usage() {
    echo "usage: bench/ab.sh [--rounds N] [--duration S] [--keep-conn on|off|on,off] [--connections N] [--bench-args ARGS] --fcgi-bench PATH NAME=STAGE[,PLUGIN[,URI[,KEY=VALUE...]]]..." >&2
    exit 2
}
while (($#)); do
    case "$1" in
        --rounds) ROUNDS="$2"; shift ;;
        --duration) DURATION="$2"; shift ;;
        --keep-conn) KEEP_CONN="$2"; shift ;;
        --fcgi-bench) FCGI_BENCH="$2"; shift ;;
        --connections) CONNECTIONS="$2"; shift ;;
        --bench-args) read -r -a BENCH_ARGS <<<"$2"; shift ;;
        -*) usage ;;
        *=*) BUILDS+=("$1") ;;
        *) usage ;;
    esac
    shift
done
IFS=, read -r -a SCENARIOS <<<"$KEEP_CONN"
[[ -x "$FCGI_BENCH" && ${#BUILDS[@]} -ge 2 ]] || {
    echo "bench/ab.sh: needs --fcgi-bench PATH and at least two NAME=STAGE" >&2
    exit 2
}

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fcgid-ab.XXXXXX")"
mkdir -p "$WORK/logs" "$WORK/run"
die() { echo "bench/ab.sh: error: $*" >&2; exit 1; }
say() { echo "bench/ab.sh: $*" >&2; }
# shellcheck source=lib/servers.sh
source "$BENCH_DIR/lib/servers.sh"
CLK_TCK="$(getconf CLK_TCK)"
cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# One measured run: appends "scenario build rps cpu_us rss_kib" to results.
# SPEC: STAGE[,PLUGIN[,URI[,KEY=VALUE...]]].
measure() {
    local scenario="$1" name="$2" spec="$3" ticks out="$WORK/logs/run.out"
    local stage plugin uri option
    IFS=, read -r stage plugin uri option <<<"$spec"
    FCGID_BIN="$stage/bin/fcgid" FCGID_PLUGIN_DIR="$stage/lib/fcgid/plugins"
    SERVER_PLUGIN="" SERVER_ARGS=() SERVER_PROBE_URI="${uri:-/}"
    if [[ -n "$plugin" ]]; then
        SERVER_PLUGIN="$plugin"
        [[ "$plugin" == */* ]] || SERVER_PLUGIN="$FCGID_PLUGIN_DIR/$plugin"
    fi
    if [[ -n "$option" ]]; then
        local options
        IFS=, read -r -a options <<<"$option"
        for option in "${options[@]}"; do SERVER_ARGS+=(--plugin-option "$option"); done
    fi
    start_server fcgid tcp
    "$FCGI_BENCH" "$SERVER_ADDR" -c "$CONNECTIONS" -d 1 --keep-conn "$scenario" --uri "${uri:-/}" "${BENCH_ARGS[@]}" >/dev/null ||
        die "$name, KEEP_CONN $scenario: the warmup failed"
    ticks="$(server_cpu_ticks)"
    "$FCGI_BENCH" "$SERVER_ADDR" -c "$CONNECTIONS" -d "$DURATION" --keep-conn "$scenario" --uri "${uri:-/}" "${BENCH_ARGS[@]}" --strict >"$out" ||
        die "$name, KEEP_CONN $scenario: $(grep -E '^(requests|  error)' "$out" | tr '\n' ' ')"
    ticks=$(($(server_cpu_ticks) - ticks))
    awk -v s="$scenario" -v b="$name" -v t="$ticks" -v hz="$CLK_TCK" -v rss="$(server_peak_rss_kib)" '
        /^RESULT / { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
        END { printf "%s %s %s %.2f %s\n", s, b, f["rps"], t * 1e6 / hz / f["answered"], rss }' \
        "$out" >>"$WORK/results"
    stop_server
}

for ((round = 1; round <= ROUNDS; round++)); do
    for scenario in "${SCENARIOS[@]}"; do
        for build in "${BUILDS[@]}"; do measure "$scenario" "${build%%=*}" "${build#*=}"; done
    done
    say "round $round of $ROUNDS done"
done

echo "fcgid builds side by side: median of $ROUNDS alternating rounds, $DURATION s each, fcgi-bench -c $CONNECTIONS ${BENCH_ARGS[*]} ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| KEEP_CONN | build | req/s | ÷ ${BUILDS[0]%%=*} | server CPU µs/req | ÷ ${BUILDS[0]%%=*} | peak RSS KiB |"
echo "|---|---|---:|---:|---:|---:|---:|"
awk -v first="${BUILDS[0]%%=*}" -v order="$(printf '%s ' "${BUILDS[@]%%=*}")" -v scenarios="${SCENARIOS[*]}" '
    function median(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { rps[$1, $2] = rps[$1, $2] " " $3; cpu[$1, $2] = cpu[$1, $2] " " $4; rss[$1, $2] = rss[$1, $2] " " $5 }
    END {
        nb = split(order, names, " ")
        ns = split(scenarios, list, " ")
        for (s = 1; s <= ns; s++) {
            sc = list[s]
            base = median(rps[sc, first])
            base_cpu = median(cpu[sc, first])
            for (b = 1; b <= nb; b++) {
                r = median(rps[sc, names[b]])
                c = median(cpu[sc, names[b]])
                printf "| %s | %s | %.0f | %.2f× | %.2f | %.2f× | %d |\n", sc, names[b], r, r / base, c, c / base_cpu, median(rss[sc, names[b]])
            }
        }
    }' "$WORK/results"
