#!/usr/bin/env bash
# Where fcgid spends its time and its heap while serving hello, under load
# from fcgi-bench (KEEP_CONN on, 32 connections, after a warmup):
#
#   heaptrack   allocation sites with their backtraces, KEEP_CONN on and off
#   callgrind   functions by inclusive instruction count (exact, not disturbed
#               by other load on the machine)
#   perf        cpu-clock samples, kernel included (where the time really goes)
#
#   bench/profile.sh [--no-build] [--work DIR] [--connections N]
#
# fcgid runs with --request-limit so that it drains and exits by itself once
# the load is done; each tool then writes its report. Output: the top entries
# of each on stdout, full reports in WORK/profile/. Needs heaptrack, valgrind
# and linux-perf (installed when missing, like bench/run.sh does).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"

if [[ -z "${FCGID_BENCH_BOUNDED:-}" ]]; then
    export FCGID_BENCH_BOUNDED=1
    exec timeout --kill-after=10 1200 bash "${BASH_SOURCE[0]}" "$@"
fi

WORK="" BUILD=1 INSTALL=1 CONNECTIONS=32 FCGI_BENCH="${FCGI_BENCH_BIN:-}"
while (($#)); do
    case "$1" in
        --work) WORK="$2"; shift ;;
        --no-build) BUILD=0 ;;
        --no-install) INSTALL=0 ;;
        --connections) CONNECTIONS="$2"; shift ;;
        --fcgi-bench) FCGI_BENCH="$2"; shift ;;
        *) echo "usage: bench/profile.sh [--no-build] [--no-install] [--work DIR] [--connections N] [--fcgi-bench PATH]" >&2; exit 2 ;;
    esac
    shift
done
SERVER_LIST=(fcgid)

die() {
    echo "profile: error: $*" >&2
    exit 1
}
say() { echo "profile: $*"; }

WORK="${WORK:-$REPO_DIR/build-bench}"
mkdir -p "$WORK/logs" "$WORK/run" "$WORK/peers" "$WORK/profile"
WORK="$(cd "$WORK" && pwd)"
OUT="$WORK/profile"

# shellcheck source=lib/servers.sh
source "$BENCH_DIR/lib/servers.sh"
# shellcheck source=lib/prepare.sh
source "$BENCH_DIR/lib/prepare.sh"

cleanup() {
    local rc=$? pid
    trap - EXIT TERM INT
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
    exit "$rc"
}
trap cleanup EXIT
trap 'die "time limit reached, or interrupted"' TERM INT

BENCH_PACKAGES+=(heaptrack valgrind linux-perf)
((INSTALL)) && install_packages
prepare_binaries

# top N: the first N lines; reads all its input, so that nothing upstream
# dies of SIGPIPE under pipefail.
top() { awk -v n="$1" 'NR <= n'; }

# under NAME WARMUP REQUESTS WRAPPER... -- FCGI-BENCH-OPTIONS...: fcgid under
# WRAPPER, exiting by itself after the probe, the warmup and the requests.
under() {
    local name="$1" warmup="$2" requests="$3"
    shift 3
    SERVER_WRAPPER=()
    while [[ "$1" != -- ]]; do SERVER_WRAPPER+=("$1"); shift; done
    shift
    SERVER_ARGS=(--request-limit $((1 + warmup + requests)))
    start_server fcgid tcp
    "$FCGI_BENCH" "$SERVER_ADDR" -c "$CONNECTIONS" --warmup-requests "$warmup" -n "$requests" --strict "$@" \
        >"$OUT/$name.load" 2>&1 || die "$name: fcgi-bench failed: $(tail -n 3 "$OUT/$name.load")"
    # fcgid drains and exits; the wrapper writes its data and follows.
    local pid="${SERVER_PIDS[0]}"
    for _ in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$pid" 2>/dev/null || true
    SERVER_PIDS=() SERVER_WRAPPER=() SERVER_ARGS=()
    say "$name: $(awk '/^rate/ { print $2, $3 }' "$OUT/$name.load") under the tool"
}

# ---- heaptrack: where the allocations come from ---------------------------
for mode in on off; do
    warmup=20000 requests=100000
    [[ "$mode" == off ]] && warmup=2000 requests=20000
    rm -f "$OUT/heaptrack-keep-$mode".*
    under "heaptrack-keep-$mode" "$warmup" "$requests" heaptrack -o "$OUT/heaptrack-keep-$mode" -- --keep-conn "$mode"
    heaptrack_print -f "$OUT/heaptrack-keep-$mode.zst" -a 1 -p 0 -T 0 -l 0 -n 12 -s 0 -m 0 \
        >"$OUT/heaptrack-keep-$mode.txt" 2>/dev/null
    echo
    echo "== heaptrack, KEEP_CONN $mode: $warmup warmup + $requests measured requests (+1 probe), top call sites"
    # Each site: its count, then the innermost fcgid frames.
    awk '/^[0-9]+ calls to allocation/ { if (shown++ >= 8) exit; print; depth = 0; next }
         /^  [^ ]/ && depth < 4 { print; depth++ }' "$OUT/heaptrack-keep-$mode.txt"
    grep -E '^calls to allocation|^peak heap' "$OUT/heaptrack-keep-$mode.txt"
done

# ---- callgrind: inclusive cost by function --------------------------------
under callgrind 2000 20000 valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" -- --keep-conn on
callgrind_annotate --inclusive=yes "$OUT/callgrind.out" >"$OUT/callgrind-inclusive.txt" 2>/dev/null
callgrind_annotate --inclusive=no "$OUT/callgrind.out" >"$OUT/callgrind-self.txt" 2>/dev/null
echo
echo "== callgrind, KEEP_CONN on: 2000 warmup + 20000 requests; instructions, inclusive (top 30)"
grep -E '^ *[0-9,]+ .*[:(]' "$OUT/callgrind-inclusive.txt" | top 30
echo
echo "== callgrind: self cost (top 20)"
grep -E '^ *[0-9,]+ .*[:(]' "$OUT/callgrind-self.txt" | top 20

# ---- perf: cpu-clock samples, user and kernel -----------------------------
if perf record -e cpu-clock -o "$OUT/perf.probe" -- true >/dev/null 2>&1; then
    under perf 20000 200000 perf record -e cpu-clock -F 999 -g --call-graph dwarf,16384 -o "$OUT/perf.data" -- --keep-conn on
    perf report -i "$OUT/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 1 \
        >"$OUT/perf-self.txt" 2>/dev/null
    perf report -i "$OUT/perf.data" --stdio --children --sort symbol --percent-limit 3 -g none \
        >"$OUT/perf-children.txt" 2>/dev/null
    echo
    echo "== perf (cpu-clock), KEEP_CONN on: self time by symbol (top 25)"
    grep -E '^ +[0-9.]+%' "$OUT/perf-self.txt" | top 25
    echo
    echo "== perf: inclusive (children) by symbol (top 25)"
    grep -E '^ +[0-9.]+%' "$OUT/perf-children.txt" | top 25
else
    say "perf cannot sample here (perf record -e cpu-clock failed); skipped"
fi
say "full reports in $OUT"
