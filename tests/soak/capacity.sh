#!/usr/bin/env bash
# The memory figures packaging/scaling.md sizes a fleet with, measured on
# this machine against the installed fcgid (not a test: it prints figures).
#
#   tests/soak/capacity.sh [--connections N] [--fcgi-bench PATH]
#
#   - memory per worker: fcgid --workers 2 with hello, then with todo
#     (seed=100, threads=2, as bench/ runs it): each process's RSS, PSS
#     (its share of pages shared with the others: what N workers really
#     add up to) and private memory, fresh and after 20000 requests;
#   - memory per idle connection: one fcgid process (hello), N connections
#     (default 2000) that each had one request answered with FCGI_KEEP_CONN
#     and stay open, idle: RSS and PSS before and after, divided by N.
#
# Env: FCGID_BIN, FCGID_PLUGIN_DIR (as the tests); fcgi-bench from
# --fcgi-bench or FCGI_BENCH. Loopback only; every process is stopped at exit.
# shellcheck disable=SC2154
set -euo pipefail
test_name=capacity
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/lib.sh
source "$here/../interop/lib.sh"
connections=2000
args=("$@")
while (($#)); do
    case $1 in
        --connections) connections=$2; shift 2 ;;
        --fcgi-bench) FCGI_BENCH=$2; shift 2 ;;
        *) echo "capacity.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
interop_bound 300 "${args[@]}"
need_fcgid
[[ -x "${FCGI_BENCH:-}" ]] || fail "FCGI_BENCH is not an executable: '${FCGI_BENCH:-}'"
[[ -f "$FCGID_PLUGIN_DIR/todo.so" ]] || fail "no todo.so in $FCGID_PLUGIN_DIR"
((connections + 100 < $(ulimit -n))) || fail "ulimit -n $(ulimit -n) is too low for $connections connections"
interop_init

# mem PID: "RSS PSS PRIVATE" in KiB (smaps_rollup).
mem() {
    awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { v += $2 }
         END { printf "%d %d %d\n", r, p, v }' "/proc/$1/smaps_rollup"
}
children() { ps -o pid= --ppid "$1" | tr -d ' ' | sort -n; }
show() {  # LABEL PID...
    local label=$1 p r s v
    shift
    for p in "$@"; do
        read -r r s v < <(mem "$p")
        printf '| %s | %s | %d | %d | %d |\n' "$label" "$p" "$r" "$s" "$v"
    done
}

echo "# $("$FCGID_BIN" --version); $(uname -r); $(nproc) cores"
echo
echo "| fcgid --workers 2 | pid | RSS KiB | PSS KiB | private KiB |"
echo "|---|---|---:|---:|---:|"
for plugin in hello todo; do
    opts=()
    [[ $plugin == todo ]] && opts=(--plugin-option seed=100 --plugin-option threads=2)
    start_fcgid "w_$plugin" "$plugin" --workers 2 "${opts[@]}"
    pid_var="w_${plugin}_pid" port_var="w_${plugin}_port"
    master=${!pid_var}
    for _ in $(seq 100); do
        [[ $(children "$master" | wc -l) == 2 ]] && break
        sleep 0.1
    done
    mapfile -t workers < <(children "$master")
    ((${#workers[@]} == 2)) || fail "$plugin: not 2 workers"
    uri=/
    [[ $plugin == todo ]] && uri=/todos/42
    # The first request: a worker's first answer touches its code paths.
    "$FCGI_BENCH" "127.0.0.1:${!port_var}" -c 2 -n 2 --uri "$uri" >/dev/null || fail "$plugin: first requests failed"
    show "$plugin, master" "$master"
    show "$plugin, worker, fresh (2 requests in all)" "${workers[@]}"
    "$FCGI_BENCH" "127.0.0.1:${!port_var}" -c 8 -n 20000 --uri "$uri" >"$tmp/bench.out" || fail "$plugin: load failed: $(tail -n 3 "$tmp/bench.out")"
    show "$plugin, worker, after 20000 requests (8 connections)" "${workers[@]}"
    stop_tree "$master"
done

echo
start_fcgid idle hello --max-connections $((connections + 100))
"$FCGI_BENCH" "127.0.0.1:$idle_port" -c 1 -n 1 >/dev/null || fail "idle: the first request failed"
read -r r0 s0 v0 < <(mem "$idle_pid")
fds0=$(find "/proc/$idle_pid/fd" -mindepth 1 | wc -l)
python3 - "$here" "127.0.0.1:$idle_port" "$connections" "$idle_pid" >"$tmp/idle.out" 2>&1 <<'EOF' &
import sys, time
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[1])
import soak_client as fc
conns = []
for i in range(int(sys.argv[3])):
    c = fc.Connection(sys.argv[2])
    c.send(fc.encode_request(1, "GET", ""))
    status, body = fc.split_cgi(c.answer(1))
    assert status == 200, status
    conns.append(c)
print("open", len(conns), flush=True)
# Held open (idle) until the shell has measured and stops this process.
time.sleep(240)
EOF
holder=$!
track_pid "$holder"
for _ in $(seq 600); do
    grep -q '^open' "$tmp/idle.out" && break
    alive "$holder" || fail "the idle connections: $(tail -n 3 "$tmp/idle.out")"
    sleep 0.1
done
grep -q '^open' "$tmp/idle.out" || fail "the idle connections were not all open after 60 s"
read -r r1 s1 v1 < <(mem "$idle_pid")
fds1=$(find "/proc/$idle_pid/fd" -mindepth 1 | wc -l)
echo "| one fcgid process (hello) | RSS KiB | PSS KiB | private KiB | descriptors |"
echo "|---|---:|---:|---:|---:|"
echo "| 1 connection served, closed | $r0 | $s0 | $v0 | $fds0 |"
echo "| $connections idle kept-alive connections, each served one request | $r1 | $s1 | $v1 | $fds1 |"
awk -v n="$connections" -v r="$((r1 - r0))" -v v="$((v1 - v0))" \
    'BEGIN { printf "| per idle connection | %.2f | | %.2f | |\n", r / n, v / n }'
kill "$holder" 2>/dev/null || true
