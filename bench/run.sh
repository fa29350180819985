#!/usr/bin/env bash
# The fcgid benchmark: fcgid and three other FastCGI hellos (libfcgi in C,
# Go's net/http/fcgi, PHP-FPM) measured in one go, one table out.
#
#   bench/run.sh            installs what is missing (apt-get), builds fcgid
#                           (Release), fcgi-bench and the peers, measures, and
#                           prints the table (also in build-bench/table.md)
#   bench/run.sh --smoke    fcgid only, about 1 s per scenario, nothing
#                           installed or built: what CI runs (ctest bench_smoke)
#
# Scenarios (each server started fresh for each, so its peak RSS is its own):
#   nginx (wrk -t1 -cN):  upstream keepalive and plain, TCP and unix socket
#   todo API (nginx):     plugins/todo, Go and PHP-FPM JSON todos, keepalive
#   direct (fcgi-bench):  KEEP_CONN on, KEEP_CONN off, M multiplexed per connection
#   SDK (fcgi-bench):     hello.c against the same hello on the C++ SDK
#   shapes:               1 and 64 MiB responses, 1 and 32 MiB uploads (with
#                         a plain read() floor), 10,000 idle connections
#                         beside 32 active, 1 ms of work on a pool thread
#                         (with the loop at 1 connection and a handoff floor)
#   ceiling:              nginx `return 200` (no FastCGI at all)
#   allocations:          fcgid under bench/alloc_count, after a warmup
#                         (hello, the SDK's hello, the todo API)
# Everything listens on 127.0.0.1 or unix sockets in the work dir, and every
# step is bounded in time. Exit status: 0 when every fcgid run was answered
# with 200s and no errors; 1 otherwise. Timing never decides it.
#
# See bench/README.md for the options and the latest table.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(dirname "$BENCH_DIR")"

# Bound the whole run (installs and builds included). GNU timeout signals
# its process group, so every server gets the SIGTERM and the EXIT trap runs.
if [[ -z "${FCGID_BENCH_BOUNDED:-}" ]]; then
    export FCGID_BENCH_BOUNDED=1
    limit=1800
    [[ " $* " == *" --smoke "* ]] && limit=300
    exec timeout --kill-after=10 "$limit" bash "${BASH_SOURCE[0]}" "$@"
fi

usage() {
    cat <<'USAGE'
usage: bench/run.sh [--smoke] [options]
  --smoke              fcgid only, short runs, no installs or builds (CI)
  --duration S         seconds measured per run (default 8; smoke 1)
  --warmup S           seconds of warmup before each run (default 2; smoke 1)
  --connections N      client connections (default 32; smoke 4)
  --multiplex M        requests in flight per connection in the multiplexed run (default 8; smoke 4)
  --idle N             idle kept-alive connections held in the idle run (default 10000; smoke 200)
  --servers LIST       comma-separated subset of fcgid,libfcgi,go,php (default all; smoke fcgid)
  --work DIR           work dir (default build-bench/ in the repo; smoke: a temp dir)
  --no-install         do not apt-get anything
  --no-build           use FCGID_BIN, FCGID_PLUGIN_DIR and --fcgi-bench (or FCGI_BENCH_BIN)
  --fcgi-bench PATH    the load generator to use
USAGE
}

SMOKE=0 DURATION="" WARMUP="" CONNECTIONS="" MULTIPLEX="" IDLE="" SERVERS="" WORK=""
INSTALL=1 BUILD=1 FCGI_BENCH="${FCGI_BENCH_BIN:-}"
while (($#)); do
    case "$1" in
        --smoke) SMOKE=1 ;;
        --duration) DURATION="$2"; shift ;;
        --warmup) WARMUP="$2"; shift ;;
        --connections) CONNECTIONS="$2"; shift ;;
        --multiplex) MULTIPLEX="$2"; shift ;;
        --idle) IDLE="$2"; shift ;;
        --servers) SERVERS="$2"; shift ;;
        --work) WORK="$2"; shift ;;
        --no-install) INSTALL=0 ;;
        --no-build) BUILD=0 ;;
        --fcgi-bench) FCGI_BENCH="$2"; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
    shift
done
if ((SMOKE)); then
    INSTALL=0 BUILD=0
    : "${DURATION:=1}" "${WARMUP:=1}" "${CONNECTIONS:=4}" "${MULTIPLEX:=4}" "${IDLE:=200}" "${SERVERS:=fcgid}"
else
    : "${DURATION:=8}" "${WARMUP:=2}" "${CONNECTIONS:=32}" "${MULTIPLEX:=8}" "${IDLE:=10000}" "${SERVERS:=fcgid,libfcgi,go,php}"
fi
IFS=, read -r -a SERVER_LIST <<<"$SERVERS"
RESPONSE_SIZES=(1 64) UPLOAD_SIZES=(1 32)  # MiB
((SMOKE)) && RESPONSE_SIZES=(1) UPLOAD_SIZES=(1)

die() {
    echo "bench: error: $*" >&2
    exit 1
}
say() { echo "bench: $*"; }

TEMP_WORK=0
if [[ -z "$WORK" ]]; then
    if ((SMOKE)); then
        WORK="$(mktemp -d "${TMPDIR:-/tmp}/fcgid-bench.XXXXXX")"
        TEMP_WORK=1
    else
        WORK="$REPO_DIR/build-bench"
    fi
fi
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
rm -rf "$WORK/logs" "$WORK/run" "$WORK/results.tsv" "$WORK/alloc.tsv" "$WORK/idle.tsv"
mkdir -p "$WORK/logs" "$WORK/run" "$WORK/peers"

# shellcheck source=lib/servers.sh
source "$BENCH_DIR/lib/servers.sh"
# shellcheck source=lib/nginx.sh
source "$BENCH_DIR/lib/nginx.sh"
# shellcheck source=lib/report.sh
source "$BENCH_DIR/lib/report.sh"
# shellcheck source=lib/prepare.sh
source "$BENCH_DIR/lib/prepare.sh"
# shellcheck source=lib/measure.sh
source "$BENCH_DIR/lib/measure.sh"
# shellcheck source=lib/report_shapes.sh
source "$BENCH_DIR/lib/report_shapes.sh"
# shellcheck source=lib/measure_shapes.sh
source "$BENCH_DIR/lib/measure_shapes.sh"

cleanup() {
    local rc=$?
    trap - EXIT TERM INT
    local pid
    for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
    if ((rc != 0)); then
        echo "bench: failed; logs in $WORK/logs" >&2
    elif ((TEMP_WORK)); then
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'die "overall time limit reached, or interrupted"' TERM INT

((INSTALL)) && install_packages
prepare_binaries
record_machine >"$WORK/machine.txt"
started_at=$SECONDS

for transport in tcp unix; do
    for mode in keep plain; do
        for server in "${SERVER_LIST[@]}"; do measure_nginx "$server" "$transport" "$mode"; done
    done
done
# The JSON todo API (plugins/todo against Go's encoding/json and PHP's
# json_encode): one todo by id, then the whole (short) list.
measure_todo nginx-todo-one 100 /todos/42
measure_todo nginx-todo-list 10 /todos
for server in "${SERVER_LIST[@]}"; do measure_direct direct-keep "$server" --keep-conn on; done
# How --workers scales: the same run with two worker processes; then both
# again with a handler that works ~100 µs per request (bench/plugins/busy.c).
# hello costs so little that one worker keeps up with the load generator
# here, which shares the machine's two cores: a second worker can only help
# where the handler is what limits throughput.
if [[ " ${SERVER_LIST[*]} " == *" fcgid "* ]]; then
    # The same load with IDLE idle kept-alive connections open besides
    # (libfcgi and PHP-FPM's one child serve one connection at a time).
    measure_idle fcgid
    measure_direct direct-keep fcgid-w2 --keep-conn on
    SERVER_PLUGIN="$BUSY_PLUGIN"
    measure_direct direct-busy fcgid --keep-conn on
    measure_direct direct-busy fcgid-w2 --keep-conn on
    SERVER_PLUGIN=""
    # What the C++ SDK costs: hello.c, then the same answer from
    # bench/plugins/sdk_hello.cpp (router, one header read), then its route
    # with a path parameter; server CPU per request compared in the targets.
    measure_direct direct-sdk fcgid --keep-conn on
    measure_direct direct-sdk fcgid-sdk --keep-conn on
    measure_direct direct-sdk fcgid-sdk-param --keep-conn on --uri /users/42
fi
for server in "${SERVER_LIST[@]}"; do measure_direct direct-close "$server" --keep-conn off; done
DIRECT_TRANSPORT=unix
for server in "${SERVER_LIST[@]}"; do measure_direct direct-close-unix "$server" --keep-conn off; done
DIRECT_TRANSPORT=tcp
# Only the servers that say FCGI_MPXS_CONNS=1: libfcgi and PHP-FPM say 0.
for server in "${SERVER_LIST[@]}"; do
    [[ "$server" == fcgid || "$server" == go ]] || continue
    measure_direct direct-mpx "$server" --keep-conn on --multiplex "$MULTIPLEX"
done
# Traffic shapes beyond hello (bench/lib/measure_shapes.sh).
measure_responses "${RESPONSE_SIZES[@]}"
measure_uploads "${UPLOAD_SIZES[@]}"
measure_pool
measure_ceiling
measure_allocations

{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') in $((SECONDS - started_at)) s; $DURATION s per run after $WARMUP s of warmup, $CONNECTIONS connections."
    echo
    sed 's/^/    /' "$WORK/machine.txt"
    echo "    load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    render_table
    echo
    render_allocations
    echo
    render_memory
    echo
    echo "Targets:"
    echo
    render_targets
    render_shape_targets
} >"$WORK/table.md"
cat "$WORK/table.md"

# Every row must carry its CPU figures: a row without them means a
# measurement broke (a process gone, /proc not readable), and the smoke run
# in CI is there to notice. The handoff floor has no client: its own CPU per
# job stands in for the client's.
awk -F'\t' 'NF != 14 || ($1 == "pool-floor" ? $12 !~ /^[0-9.]+$/ : $13 !~ /^[0-9]+$/) || $14 !~ /^[0-9]+$/ {
        print "bench: row without its CPU figures: " $1 " " $3 > "/dev/stderr"; bad++ }
    END { exit bad > 0 }' "$WORK/results.tsv" || die "some rows lack their CPU figures (client or own, machine)"

((FCGID_FAILURES == 0)) || die "$FCGID_FAILURES fcgid run(s) had errors (see the table and $WORK/logs)"
say "done; table in $WORK/table.md"
