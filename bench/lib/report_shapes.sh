# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals
# The targets of the traffic-shape rows (measure_shapes.sh) and of a
# connection per request, checked against this run from $WORK/results.tsv
# (columns as in report.sh). Information only: timing never decides the
# exit status. Sourced by run.sh.
render_shape_targets() {
    awk -F'\t' -v threads="$POOL_THREADS" \
        -v big_conns="$BIG_CONNECTIONS" '
        function have(s, srv) { return ((s, srv, 4) in val) && val[s, srv, 4] > 0 }
        function verdict(ok) { return ok ? "met" : "MISSED" }
        function mib(s,    m) { m = s; sub(/.*-/, "", m); sub(/m$/, "", m); return m + 0 }
        # MB/s (10^6 bytes) of a row moving mib(s) MiB per request.
        function mbs(s, srv) { return val[s, srv, 4] * mib(s) * 1.048576 }
        # Server CPU in ms per MB moved.
        function cpu_mb(s, srv) { return val[s, srv, 12] / 1000 / (mib(s) * 1.048576) }
        function cpu_ratio(s, label,    f, l, r) {
            if (!have(s, "fcgid") || !have(s, "libfcgi") || val[s, "libfcgi", 12] + 0 <= 0) return
            f = val[s, "fcgid", 12]; l = val[s, "libfcgi", 12]; r = f / l
            printf "- a connection per request, %s: fcgid %s µs of server CPU per request, libfcgi %s: %.2f× (target ≤ 0.80×): %s\n", label, f, l, r, verdict(r <= 0.8)
        }
        {
            for (i = 1; i <= NF; i++) val[$1, $3, i] = $i
            if ($1 ~ /^direct-resp-/ && $3 == "fcgid") { resp[++nresp] = $1 }
            if ($1 ~ /^direct-upload-/ && $3 == "fcgid") { upload[++nupload] = $1 }
        }
        END {
            cpu_ratio("direct-close", "direct, TCP")
            cpu_ratio("direct-close-unix", "direct, unix socket")
            cpu_ratio("nginx-plain-tcp", "via nginx, TCP")
            cpu_ratio("nginx-plain-unix", "via nginx, unix socket")
            for (i = 1; i <= nresp; i++) {
                s = resp[i]
                printf "- %s MiB responses, direct: fcgid %.0f MB/s, %.2f ms of server CPU per MB, peak RSS %.1f MiB", mib(s), mbs(s, "fcgid"), cpu_mb(s, "fcgid"), val[s, "fcgid", 7] / 1024
                if (have(s, "libfcgi")) printf "; libfcgi %.0f MB/s: %.2f× (target ≥ 1.5×): %s", mbs(s, "libfcgi"), mbs(s, "fcgid") / mbs(s, "libfcgi"), verdict(mbs(s, "fcgid") >= 1.5 * mbs(s, "libfcgi"))
                if (have(s, "go")) printf "; Go %.0f MB/s", mbs(s, "go")
                printf "\n"
                n = s; sub(/^direct/, "nginx", n)
                if (have(n, "fcgid")) {
                    printf "- %s MiB responses, via nginx: fcgid %.0f MB/s", mib(n), mbs(n, "fcgid")
                    if (have(n, "libfcgi")) printf ", libfcgi %.0f MB/s (%.2f×)", mbs(n, "libfcgi"), mbs(n, "fcgid") / mbs(n, "libfcgi")
                    if (have(n, "go")) printf ", Go %.0f MB/s", mbs(n, "go")
                    printf " (no target: nginx streams through a 64 KiB buffer)\n"
                }
            }
            if (nresp >= 2) {
                # A connection streaming a response holds at most
                # --max-output-buffer (1 MiB here), the write that crosses
                # it (bytes.c writes 64 KiB) and the 64 KiB step of its
                # output ring. What may come on top of the run of the
                # smallest responses (which fit, and rarely overlap) is
                # that much per connection, whatever the size of the body.
                lo = val[resp[1], "fcgid", 7]; hi = val[resp[nresp], "fcgid", 7]
                printf "- fcgid peak RSS from %d to %d MiB responses: %.1f → %.1f MiB (target: flat, bounded by (--max-output-buffer + 128 KiB) × %d connections = %.1f MiB): %s\n", mib(resp[1]), mib(resp[nresp]), lo / 1024, hi / 1024, big_conns, big_conns * 1.125, verdict(hi - lo <= big_conns * 1152)
            }
            for (i = 1; i <= nupload; i++) {
                s = upload[i]
                printf "- %s MiB uploads, direct: fcgid %.0f MB/s, %.2f ms of server CPU per MB, peak RSS %.1f MiB (%d in flight: %d MiB of bodies)", mib(s), mbs(s, "fcgid"), cpu_mb(s, "fcgid"), val[s, "fcgid", 7] / 1024, big_conns, big_conns * mib(s)
                if (have(s, "floor") && val[s, "floor", 12] > 0)
                    printf "; plain read() floor %.2f ms per MB: %.2f× (target ≤ 1.2×): %s", cpu_mb(s, "floor"), cpu_mb(s, "fcgid") / cpu_mb(s, "floor"), verdict(cpu_mb(s, "fcgid") <= 1.2 * cpu_mb(s, "floor"))
                if (have(s, "libfcgi")) printf "; libfcgi %.2f ms per MB", cpu_mb(s, "libfcgi")
                if (have(s, "go")) printf "; Go %.2f ms per MB", cpu_mb(s, "go")
                printf "\n"
            }
            if (have("direct-pool", "fcgid")) {
                ideal = threads * 1000
                printf "- 1 ms of work on %d pool threads: fcgid %.0f req/s, %.2f of the ideal %d, p99 %s ms", threads, val["direct-pool", "fcgid", 4], val["direct-pool", "fcgid", 4] / ideal, ideal, val["direct-pool", "fcgid", 6]
                if (have("direct-pool", "go")) printf "; Go %.0f req/s, p99 %s ms", val["direct-pool", "go", 4], val["direct-pool", "go", 6]
                printf "\n"
                if (have("direct-pool-loop", "fcgid") && val["direct-pool-loop", "fcgid", 12] > 0) {
                    c = val["direct-pool", "fcgid", 12]; l = val["direct-pool-loop", "fcgid", 12]
                    printf "- server CPU per request completed from the pool: %s µs, on the loop %s µs: %.2f× (target ≤ 1.5×): %s\n", c, l, c / l, verdict(c / l <= 1.5)
                    # The two yardsticks of that target, same run: the loop
                    # woken for each request alone (as each pool completion
                    # wakes it), and what the handoff itself costs at least.
                    if (have("direct-pool-loop1", "fcgid") && val["direct-pool-loop1", "fcgid", 12] > 0) {
                        l1 = val["direct-pool-loop1", "fcgid", 12]
                        printf "- server CPU per request completed from the pool against the loop when each request wakes it alone (1 connection): %s µs, on the loop %s µs: %.2f× (information: no target)\n", c, l1, c / l1
                    }
                    if (have("pool-floor", "floor") && val["pool-floor", "floor", 12] > 0) {
                        f = val["pool-floor", "floor", 12]
                        printf "- the ceiling this machine sets: the handoff floor (peers/handoff_floor.cpp, no network) takes %s µs of CPU per job at %.0f jobs/s; if fcgid'"'"'s handoff cost nothing beyond it, a request completed from the pool would cost (%s + %s) / %s = %.2f× one completed on the loop, against %.2f× measured (%+.2f µs per request beyond loop + floor) (information: no target)\n", f, val["pool-floor", "floor", 4], l, f, l, (l + f) / l, c / l, c - l - f
                    }
                }
            }
        }' "$WORK/results.tsv"
}
