#!/usr/bin/env bash
# Soak: fcgid --workers 2 with the echo plugin under mixed load for a while,
# its memory and descriptors sampled every second; both must stay flat after
# a warm-up, and nothing may go wrong that was not meant to.
#
#   tests/soak/soak.sh [--duration S] [--warmup S] [--max-rss-slope KIB_PER_MIN]
#                      [--max-fd-slope FDS_PER_MIN] [--fcgi-bench PATH]
#
# Load, all at once for the whole duration, on loopback only:
#   - fcgi-bench straight at fcgid: kept-alive connections, a new connection
#     per request, 8 requests multiplexed per connection;
#   - wrk through a private nginx (lib.sh's), on an upstream with keepalive
#     (/ka/) and one with a connection per request (/nka/), GETs and 16 KiB POSTs;
#   - soak_client.py, whose answers are checked byte for byte: POST bodies
#     up to 3 MiB echoed, answers up to 5 MB, deferred answers (echo
#     delay_ms=) multiplexed with immediate ones, and clients going away
#     (socket closed mid-answer, FCGI_ABORT_REQUEST, an HTTP client leaving
#     nginx).
#
# Sampled every second: the RSS (VmRSS) and open descriptors (/proc/PID/fd)
# of fcgid's master and workers, summed. After the warm-up a least-squares
# line through the samples gives the slope in KiB/min and fds/min.
#
# Fails on: a slope above its bound; any unexpected error, counted by kind
# (fcgi-bench's errors and non-200s, wrk's non-2xx and socket errors, the
# client's error kinds, warning/error lines in fcgid's log, error lines in
# nginx's); a
# worker that died or was replaced; fcgid's descriptors not back to their
# count before the load once the load and nginx are gone; fcgid not
# exiting 0 on SIGTERM.
# Under the sanitizers (FCGID_SANITIZED=1) the RSS slope is shown but not
# judged: ASan's quarantine grows by design; LeakSanitizer judges leaks there.
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR; FCGI_BENCH (the
# tools/fcgi-bench binary, or --fcgi-bench); SOAK_DURATION (seconds, default 600, --duration
# wins). Needs nginx, wrk, curl, python3 (scripts/dev.sh installs them).
# Output: TAP-like ok/not ok lines, the samples' summary, and the counts.
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=soak
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../interop/lib.sh
source "$here/../interop/lib.sh"

duration=${SOAK_DURATION:-600}
warmup=""
# Bounds on the slopes after warm-up. A leak of one small allocation per
# request is ~MiB/min at these rates; what the allocator keeps for the
# largest bodies it has seen is bounded and shows up before the warm-up ends.
max_rss_slope=${SOAK_MAX_RSS_SLOPE:-}
max_fd_slope=${SOAK_MAX_FD_SLOPE:-}
args=("$@")
while (($#)); do
    case $1 in
        --duration) duration=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --max-rss-slope) max_rss_slope=$2; shift 2 ;;
        --max-fd-slope) max_fd_slope=$2; shift 2 ;;
        --fcgi-bench) FCGI_BENCH=$2; shift 2 ;;
        *) echo "soak.sh: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
    esac
done
[[ "$duration" =~ ^[0-9]+$ && "$duration" -ge 10 ]] ||
    { echo "soak.sh: --duration must be a whole number of seconds, 10 or more: '$duration'" >&2; exit 2; }
# Warm-up: a third of a short run, two minutes of a long one. A short run's
# fit is noisier (fewer samples over less time), so its bounds are wider.
if [[ -z "$warmup" ]]; then
    warmup=$((duration >= 360 ? 120 : duration / 3))
fi
# In a short run the RSS sawtooth of 3-5 MB bodies (±8 MiB) dominates a fit
# over 20 s: the bound only catches a leak per request (16 bytes a request
# at these rates is ~40 MiB/min). Descriptors are judged exactly anyway:
# back to their count before the load once it is over.
if ((duration >= 360)); then
    : "${max_rss_slope:=256}" "${max_fd_slope:=1}"
else
    : "${max_rss_slope:=16384}" "${max_fd_slope:=120}"
fi
interop_bound $((duration + 120)) "${args[@]}"

need_fcgid
need_program nginx_bin nginx /usr/sbin/nginx
need_program wrk_bin wrk
need_program python3_bin python3
[[ -x "${FCGI_BENCH:-}" ]] || fail "FCGI_BENCH is not an executable: '${FCGI_BENCH:-}' (build tools/fcgi-bench)"
interop_init
nginx_prepare
sanitized=${FCGID_SANITIZED:-0}
echo "# $duration s of load, slopes fitted after $warmup s; bounds: RSS $max_rss_slope KiB/min$( ((sanitized)) && echo ' (not judged: sanitizer build)'), fds $max_fd_slope/min"

# ---- fcgid, nginx ------------------------------------------------------------

start_fcgid fcgid echo --workers 2
fcgid_addr="127.0.0.1:$fcgid_port"
fastcgi="include $tmp/fastcgi_params;"
nginx_http="
    upstream fcgid_keep { server $fcgid_addr; keepalive 8; }"
nginx_server="
        location /ka/  { $fastcgi fastcgi_pass fcgid_keep; fastcgi_keep_conn on; }
        location /nka/ { $fastcgi fastcgi_pass $fcgid_addr; }"
nginx_worker_connections=1024
start_nginx
nginx_addr="127.0.0.1:$nginx_port"

# fcgid's processes: the master and its workers (which the master may
# replace). Builtins and /proc only: a sample must take well under a second
# on a busy machine.
# (/proc/PID/task/PID/children may miss a child while the kernel updates it:
# pgrep reads every process's parent.)
fcgid_pids() {
    echo "$fcgid_pid" $(pgrep -P "$fcgid_pid" | sort -n)
}

# "RSS_KIB FDS PROCESSES PIDS", summed over fcgid's processes (PIDS: a,b,c).
measure() {
    local p rss=0 fds=0 n=0 status value entries pids=""
    for p in $(fcgid_pids); do
        # Read whole: line by line, `read` seeks back after each line, and
        # /proc regenerates the text at every seek, so a line could be cut.
        status="$(<"/proc/$p/status")" 2>/dev/null || { echo "$p: no status" >>"$tmp/measure-skips"; continue; }
        [[ $status =~ VmRSS:[[:space:]]+([0-9]+) ]] || { echo "$p: no VmRSS" >>"$tmp/measure-skips"; continue; }
        value=${BASH_REMATCH[1]}
        entries=("/proc/$p/fd/"*)
        rss=$((rss + value))
        fds=$((fds + ${#entries[@]}))
        n=$((n + 1))
        pids+="${pids:+,}$p"
    done
    echo "$rss $fds $n $pids"
}

# Both workers up: the master forks them after binding.
for _ in $(seq 100); do
    [[ "$(measure | awk '{ print $3 }')" == 3 ]] && break
    sleep 0.1
done
[[ "$(measure | awk '{ print $3 }')" == 3 ]] || fail "fcgid --workers 2: not 3 processes after 10 s ($(measure))"
read -r rss_before fds_before _ pids_before < <(measure)
echo "# fcgid on $fcgid_addr (master $fcgid_pid, workers $(fcgid_pids | cut -d' ' -f2-)), nginx on $nginx_addr"
echo "# at rest before the load: RSS $rss_before KiB, $fds_before descriptors (master and workers)"

# ---- Load --------------------------------------------------------------------

cat >"$tmp/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("soak", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"
EOF
loads=()
# start_load NAME COMMAND...: runs it in the background, output to $tmp/NAME.out.
start_load() {
    local name=$1
    shift
    "$@" >"$tmp/$name.out" 2>&1 &
    track_pid $!
    loads+=("$name:$!")
    show_log "$name.out"
}
start_load bench_keep "$FCGI_BENCH" "$fcgid_addr" -c 4 -d "$duration" --uri '/?bytes=2000'
start_load bench_new "$FCGI_BENCH" "$fcgid_addr" -c 2 -d "$duration" --keep-conn off --uri '/?bytes=100'
start_load bench_mux "$FCGI_BENCH" "$fcgid_addr" -c 2 -d "$duration" -m 8 --uri '/'
start_load wrk_keep "$wrk_bin" -t1 -c4 -d "${duration}s" --latency "http://$nginx_addr/ka/echo?bytes=1000"
start_load wrk_new "$wrk_bin" -t1 -c2 -d "${duration}s" "http://$nginx_addr/nka/echo?bytes=1000"
start_load wrk_post "$wrk_bin" -t1 -c2 -d "${duration}s" -s "$tmp/post.lua" "http://$nginx_addr/ka/echo"
start_load client "$python3_bin" "$here/soak_client.py" --fcgi "$fcgid_addr" --http "$nginx_addr" --duration "$duration"

# One sample a second until the load is over: "SECONDS RSS_KIB FDS PROCESSES PIDS".
# EPOCHREALTIME in microseconds, without the dot.
usec() { echo "${EPOCHREALTIME/./}"; }
started=$(usec)
: >"$tmp/samples"
show_log samples
tick=0
while :; do
    elapsed=$(($(usec) - started))
    printf '%d.%02d %s\n' $((elapsed / 1000000)) $((elapsed % 1000000 / 10000)) "$(measure)" >>"$tmp/samples"
    running=0
    for load in "${loads[@]}"; do
        alive "${load#*:}" && running=1
    done
    ((running)) || break
    # A minute past the end, something hangs: the checks below say what.
    ((elapsed < (duration + 60) * 1000000)) || break
    # To the next whole second since the start, so that a slow sample (a
    # busy machine) does not stretch the interval.
    tick=$((elapsed / 1000000 + 1))
    wait_us=$((tick * 1000000 - ($(usec) - started)))
    ((wait_us > 0)) && sleep "$((wait_us / 1000000)).$(printf '%06d' $((wait_us % 1000000)))"
done

# ---- Verdicts: errors --------------------------------------------------------

load_rc() {
    local pid=$1 rc=0
    if alive "$pid"; then
        echo "still running"
        return
    fi
    wait "$pid" || rc=$?
    echo "$rc"
}

for load in "${loads[@]}"; do
    name=${load%%:*}
    rc="$(load_rc "${load#*:}")"
    out="$tmp/$name.out"
    case $name in
        bench_*)
            result="$(grep '^RESULT' "$out" || true)"
            summary="$(grep -m1 -E '^requests ' "$out" || echo "no summary")"
            if [[ "$rc" == 0 && -n "$result" ]]; then
                ok "$name: $summary"
            else
                not_ok "$name: exit $rc; $summary; $(grep -iE 'error|unanswered' "$out" | head -n 3 | tr '\n' ' ')"
            fi
            ;;
        wrk_*)
            requests="$(awk '/requests in/ { print $1 }' "$out")"
            non2xx="$(awk '/Non-2xx/ { print $NF }' "$out")"
            socket_errors="$(grep 'Socket errors' "$out" | sed 's/^ *//' || true)"
            if [[ "$rc" == 0 && -n "$requests" && -z "$non2xx" && -z "$socket_errors" ]]; then
                ok "$name: $requests requests, 0 non-2xx, 0 socket errors"
            else
                not_ok "$name: exit $rc, ${requests:-no} requests, non-2xx ${non2xx:-0}, ${socket_errors:-no socket errors}"
            fi
            ;;
        client)
            sed -n 's/^SOAK_CLIENT kind=\(.*\) count=\([0-9]*\)$/#   \2  \1/p' "$out"
            errors="$(sed -n 's/^SOAK_CLIENT_ERRORS //p' "$out")"
            if [[ "$rc" == 0 && "$errors" == 0 ]]; then
                ok "soak_client.py: every checked answer right, every abort survived (counts above)"
            else
                not_ok "soak_client.py: exit $rc, ${errors:-?} errors (kinds above; $(tail -n 2 "$out" | tr '\n' ' '))"
            fi
            ;;
    esac
done

# Log lines that say something went wrong, counted by kind (numbers,
# addresses and ids folded so that one kind is one line).
count_kinds() {
    sed -E 's/^[0-9-]+ [0-9:.]+ //; s/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -n 10 | sed 's/^/#   /'
}
grep -E '\[(warning|error|critical)\]' "$tmp/fcgid.log" >"$tmp/fcgid-unexpected.log" || true
fcgid_bad=$(wc -l <"$tmp/fcgid-unexpected.log")
if ((fcgid_bad == 0)); then
    ok "fcgid's log: no unexpected warning or error line ($(wc -l <"$tmp/fcgid.log") lines)"
else
    count_kinds <"$tmp/fcgid-unexpected.log"
    not_ok "fcgid's log: $fcgid_bad unexpected warning or error lines (kinds above)"
fi

# ---- Verdicts: slopes --------------------------------------------------------

# fit COLUMN: "SLOPE_PER_MIN FIRST LAST MIN MAX N" over the complete samples
# (all 3 processes measured) after the warm-up (least squares, time in minutes).
fit() {
    awk -v c="$1" -v w="$warmup" '
        $1 >= w && $4 == 3 {
            x = $1 / 60; y = $c; n++; sx += x; sy += y; sxx += x * x; sxy += x * y
            if (n == 1) { first = y; lo = y; hi = y }
            last = y; if (y < lo) lo = y; if (y > hi) hi = y
        }
        END {
            d = n * sxx - sx * sx
            if (n < 5 || d == 0) { print "nan 0 0 0 0", n; exit }
            printf "%.1f %d %d %d %d %d\n", (n * sxy - sx * sy) / d, first, last, lo, hi, n
        }' "$tmp/samples"
}
samples=$(wc -l <"$tmp/samples")
incomplete=$(awk '$4 != 3' "$tmp/samples" | wc -l)
read -r rss_slope rss_first rss_last rss_min rss_max fit_n < <(fit 2)
read -r fd_slope fd_first fd_last fd_min fd_max _ < <(fit 3)
peak_rss="$(awk '$2 > m { m = $2 } END { print m + 0 }' "$tmp/samples")"
echo "# $samples samples; fitted: the $fit_n complete ones after $warmup s ($incomplete incomplete: a process not measured$([[ -s "$tmp/measure-skips" ]] && echo ", $(cut -d' ' -f2- "$tmp/measure-skips" | sort | uniq -c | tr -s ' ' | tr '\n' ',')"))"
echo "# RSS (KiB, master + workers): before the load $rss_before, peak $peak_rss; after warm-up first $rss_first, last $rss_last, min $rss_min, max $rss_max; slope $rss_slope KiB/min"
echo "# descriptors: before the load $fds_before; after warm-up first $fd_first, last $fd_last, min $fd_min, max $fd_max; slope $fd_slope fds/min"
echo "SOAK_RESULT duration_s=$duration warmup_s=$warmup rss_slope_kib_min=$rss_slope fd_slope_min=$fd_slope rss_before_kib=$rss_before rss_peak_kib=$peak_rss fds_before=$fds_before"

within() { awk -v v="$1" -v m="$2" 'BEGIN { exit !(v != "nan" && v <= m) }'; }
# A worker replaced shows as a pid not there before, and as the master's
# log line about the worker that exited (before the drain at the end).
new_pids="$(awk '{ print $5 }' "$tmp/samples" | tr ',' '\n' | sort -u | grep -vxF -f <(tr ',' '\n' <<<"$pids_before") | tr '\n' ' ' || true)"
worker_exits="$(sed '/draining:/,$d' "$tmp/fcgid.log" | grep -cE 'worker [0-9]+ (exited|killed)' || true)"
if [[ -z "$new_pids" ]] && ((worker_exits == 0)); then
    ok "fcgid's master and 2 workers ($pids_before) served throughout: no worker exited or was replaced"
else
    not_ok "fcgid's workers changed during the soak: new pids '$new_pids', $worker_exits worker exits logged"
fi
if ((sanitized)); then
    echo "# RSS slope $rss_slope KiB/min not judged under the sanitizers"
elif within "$rss_slope" "$max_rss_slope"; then
    ok "RSS flat after warm-up: $rss_slope KiB/min (bound $max_rss_slope)"
else
    not_ok "RSS grows after warm-up: $rss_slope KiB/min (bound $max_rss_slope); samples in the log"
fi
if within "$fd_slope" "$max_fd_slope"; then
    ok "descriptors flat after warm-up: $fd_slope fds/min (bound $max_fd_slope)"
else
    not_ok "descriptors grow after warm-up: $fd_slope fds/min (bound $max_fd_slope)"
fi

# ---- Verdicts: at rest again -------------------------------------------------

# nginx goes first: its idle keepalive connections would hold descriptors.
stop_tree "$nginx_pid"
nginx_bad="$(grep -cE '\[(error|crit|alert|emerg)\]' "$tmp/nginx-error.log" || true)"
if ((nginx_bad == 0)); then
    ok "nginx's error log: no error line"
else
    grep -E '\[(error|crit|alert|emerg)\]' "$tmp/nginx-error.log" | sed -E 's/, client: .*//' | count_kinds
    not_ok "nginx's error log: $nginx_bad error lines (kinds above)"
fi
fds_after=""
for _ in $(seq 100); do
    read -r rss_after fds_after _ < <(measure)
    ((fds_after == fds_before)) && break
    sleep 0.1
done
if ((fds_after == fds_before)); then
    ok "at rest again: $fds_after descriptors, as before the load (RSS $rss_before -> $rss_after KiB)"
else
    not_ok "at rest again: $fds_after descriptors 10 s after the load, $fds_before before it: $(for p in $(fcgid_pids); do ls -l "/proc/$p/fd" 2>/dev/null | awk -v p="$p" 'NR > 1 { print p": "$NF }'; done | sort | uniq -c | sort -rn | head -n 5 | tr '\n' ';')"
fi
stop_fcgid fcgid "after the soak"
