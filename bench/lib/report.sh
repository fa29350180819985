# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals, sets some
# The table, from what the runs appended to $WORK/results.tsv, one line per
# run (tab-separated):
#   scenario  label  server  rps  p50_ms  p99_ms  rss_kib  errors  note  served_conns  conns  cpu_us
#   client_busy (% of a core: nginx's one worker, or fcgi-bench)  machine_busy (% of all cores)
# and $WORK/alloc.tsv: plugin  mode  requests  mallocs  reallocs  per_request.
# Sourced by run.sh.

# Every ratio is fcgid's req/s over the row's, both from this run and the
# same scenario; the ceiling row compares fcgid behind nginx keepalive (TCP).
render_table() {
    echo "| scenario | server | req/s | p50 ms | p99 ms | peak RSS MiB | server CPU µs/req | client CPU % | machine CPU % | fcgid ÷ this | errors | notes |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    awk -F'\t' '
        { row[NR] = $0; if ($3 == "fcgid") fcgid[$1] = $4 }
        END {
            for (i = 1; i <= NR; i++) {
                split(row[i], f, "\t")
                base = (f[1] == "ceiling") ? fcgid["nginx-keep-tcp"] : fcgid[f[1]]
                ratio = (base != "" && f[4] > 0) ? sprintf("%.2f×", base / f[4]) : "-"
                if (f[1] == "ceiling" && ratio != "-") ratio = ratio " (keepalive TCP)"
                rss = (f[7] > 0) ? sprintf("%.1f", f[7] / 1024) : "-"
                label = (f[2] == last) ? "" : f[2]
                last = f[2]
                printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label, f[3], f[4], f[5], f[6], rss, f[12], f[13], f[14], ratio, f[8], f[9]
            }
        }' "$WORK/results.tsv"
}

render_memory() {
    [[ -s "$WORK/memory.txt" ]] || return 0
    echo "fcgid's resident memory: $(head -n 1 "$WORK/memory.txt")"
    tail -n +2 "$WORK/memory.txt"
}

render_allocations() {
    [[ -s "$WORK/alloc.tsv" ]] || return 0
    echo "| fcgid + plugin | measured after a warmup | requests | allocations (malloc family) | reallocs | per request |"
    echo "|---|---|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$WORK/alloc.tsv"
}

# The issue's targets, checked against this run. Information only: timing
# never decides the exit status.
render_targets() {
    awk -F'\t' -v alloc_file="$WORK/alloc.tsv" -v idle_file="$WORK/idle.tsv" '
        function rps(s, srv) { return val[s, srv, 4] }
        function have(s, srv) { return ((s, srv, 4) in val) }
        function ratio(s) { return rps(s, "fcgid") / rps(s, "libfcgi") }
        function verdict(ok) { return ok ? "met" : "MISSED" }
        function compare(s, label, factor,    r) {
            if (!have(s, "fcgid") || !have(s, "libfcgi") || rps(s, "libfcgi") <= 0) {
                printf "- %s: not measured (needs fcgid and libfcgi)\n", label; return
            }
            r = ratio(s)
            printf "- %s: fcgid %.2f× libfcgi (target ≥ %s×): %s%s%s\n", label, r, factor, verdict(r >= factor), starved(s, "libfcgi"), paced(s, "fcgid", r >= factor)
        }
        function workers(s, label,    r) {
            if (!have(s, "fcgid") || !have(s, "fcgid-w2") || rps(s, "fcgid") <= 0) return
            r = rps(s, "fcgid-w2") / rps(s, "fcgid")
            # The target is for the busy plugin: hello costs so little that the
            # load generator, on the same two cores, is what limits it.
            if (s == "direct-busy") printf "- --workers 2, direct KEEP_CONN on, %s: %.2f× one worker (target ≥ 1.7×): %s%s\n", label, r, verdict(r >= 1.7), paced(s, "fcgid-w2", r >= 1.7)
            else printf "- --workers 2, direct KEEP_CONN on, %s: %.2f× one worker (information: no target)\n", label, r
        }
        # Next to a missed target, how busy the run was: the one-thread
        # client in front of the server (nginx worker, fcgi-bench), in % of
        # a core, and the whole machine. Either near 100 means that, not the
        # server, set the pace (see README.md, "Reading the table").
        function paced(s, srv, ok,    who) {
            if (ok || val[s, srv, 13] == "") return ""
            who = (s ~ /^nginx-/) ? "nginx'"'"'s one worker" : "fcgi-bench"
            return sprintf("; %s %s%% busy, the machine %s%%", who, val[s, srv, 13], val[s, srv, 14])
        }
        # ", while libfcgi served 1 of 32 connections" when it did not serve them all.
        function starved(s, srv) {
            if (val[s, srv, 10] == "" || val[s, srv, 10] + 0 >= val[s, srv, 11] + 0) return ""
            return sprintf(" (%s served %s of %s connections)", srv, val[s, srv, 10], val[s, srv, 11])
        }
        # Peak RSS under load, the largest of the runs, per plugin.
        function rss_line(what, kib, target) {
            if (kib <= 0) return
            if (target > 0) printf "- peak RSS of fcgid + %s under load: %.1f MiB, the largest of its runs (target ≤ %d MiB): %s\n", what, kib / 1024, target / 1024, verdict(kib <= target)
            else printf "- peak RSS of fcgid + %s under load: %.1f MiB, the largest of its runs (no target)\n", what, kib / 1024
        }
        {
            for (i = 1; i <= NF; i++) val[$1, $3, i] = $i
            if ($1 ~ /^nginx-todo-/) { if ($3 == "fcgid" && $7 > todo_rss) todo_rss = $7 }
            else if ($3 ~ /^fcgid-sdk/) { if ($7 > sdk_rss) sdk_rss = $7 }
            # hello only: the shape rows (measure_shapes.sh) run other plugins
            # or hold thousands of connections, and report their own RSS.
            else if ($3 == "fcgid" && $1 !~ /^(direct-busy|direct-resp-|nginx-resp-|direct-upload-|nginx-upload-|direct-pool|direct-idle)/ && $7 > max_rss) max_rss = $7
        }
        END {
            for (t = 1; t <= 2; t++) {
                tr = (t == 1) ? "tcp" : "unix"
                compare("nginx-keep-" tr, "nginx keepalive, " toupper(tr), 2)
                if (have("nginx-keep-" tr, "fcgid")) {
                    p = val["nginx-keep-" tr, "fcgid", 6]
                    printf "- nginx keepalive, %s: fcgid p99 %s ms (target < 5 ms): %s\n", toupper(tr), p, verdict(p < 5)
                }
                if (have("nginx-keep-" tr, "fcgid"))
                    printf "- nginx keepalive, %s: fcgid served %s of %s connections: %s\n", toupper(tr),
                        val["nginx-keep-" tr, "fcgid", 10], val["nginx-keep-" tr, "fcgid", 11],
                        verdict(val["nginx-keep-" tr, "fcgid", 10] == val["nginx-keep-" tr, "fcgid", 11])
                compare("nginx-plain-" tr, "nginx without keepalive, " toupper(tr), 1.5)
            }
            compare("direct-keep", "direct, KEEP_CONN on", 3)
            if (have("direct-keep", "fcgid")) {
                s = val["direct-keep", "fcgid", 10]; c = val["direct-keep", "fcgid", 11]
                printf "- direct, KEEP_CONN on: fcgid served %s of %s connections (target: all): %s\n", s, c, verdict(s == c)
            }
            if (have("direct-mpx", "fcgid") && have("direct-keep", "libfcgi") && rps("direct-keep", "libfcgi") > 0) {
                r = rps("direct-mpx", "fcgid") / rps("direct-keep", "libfcgi")
                printf "- direct, multiplexed: fcgid %.2f× libfcgi (KEEP_CONN on) (target ≥ 5×): %s%s\n", r, verdict(r >= 5), starved("direct-keep", "libfcgi")
            } else {
                printf "- direct, multiplexed: not measured against libfcgi\n"
            }
            # Many idle connections: what each costs, and what they cost the active ones.
            while ((getline line < idle_file) > 0) {
                split(line, a, "\t")
                printf "- %s idle kept-alive connections: %s KiB of RSS per idle connection (target ≤ 2 KiB): %s\n", a[2], a[3], verdict(a[3] + 0 <= 2)
            }
            if (have("direct-idle", "fcgid") && have("direct-keep", "fcgid") && rps("direct-keep", "fcgid") > 0) {
                r = rps("direct-idle", "fcgid") / rps("direct-keep", "fcgid")
                printf "- direct, KEEP_CONN on, with the idle connections open: %.2f× the req/s without them (target ≥ 0.9×): %s\n", r, verdict(r >= 0.9)
                p = val["direct-idle", "fcgid", 6]
                printf "- direct, KEEP_CONN on, with the idle connections open: p99 %s ms (target < 5 ms): %s\n", p, verdict(p < 5)
            }
            workers("direct-keep", "hello")
            workers("direct-busy", "busy plugin")
            # The SDK: server CPU per request against hello.c, same run.
            if (have("direct-sdk", "fcgid") && have("direct-sdk", "fcgid-sdk") && val["direct-sdk", "fcgid", 12] > 0) {
                c = val["direct-sdk", "fcgid", 12]; k = val["direct-sdk", "fcgid-sdk", 12]
                printf "- SDK hello (router, one header read), direct KEEP_CONN on: %s µs of server CPU per request, hello.c %s µs: %.2f× (target ≤ 1.10×): %s\n", k, c, k / c, verdict(k / c <= 1.10)
                if (have("direct-sdk", "fcgid-sdk-param"))
                    printf "- SDK hello, GET /users/{id}: %s µs of server CPU per request: %.2f× hello.c (no target)\n", val["direct-sdk", "fcgid-sdk-param", 12], val["direct-sdk", "fcgid-sdk-param", 12] / c
            }
            # The todo API against Go, through nginx keepalive.
            if (have("nginx-todo-one", "fcgid")) {
                p = val["nginx-todo-one", "fcgid", 6]
                if (have("nginx-todo-one", "go") && rps("nginx-todo-one", "go") > 0) {
                    r = rps("nginx-todo-one", "fcgid") / rps("nginx-todo-one", "go")
                    printf "- todo API, GET /todos/42 via nginx keepalive: fcgid %.2f× Go (target ≥ 3×): %s%s\n", r, verdict(r >= 3), paced("nginx-todo-one", "fcgid", r >= 3)
                } else {
                    printf "- todo API, GET /todos/42 via nginx keepalive: not measured against Go\n"
                }
                printf "- todo API, GET /todos/42 via nginx keepalive: fcgid p99 %s ms (target < 5 ms): %s\n", p, verdict(p < 5)
            }
            while ((getline line < alloc_file) > 0) {
                split(line, a, "\t")
                if (a[1] == "hello" && a[2] ~ /^KEEP_CONN on, 1 /)
                    printf "- heap allocations per hello request (%s): %s (target 0): %s\n", a[2], a[6], verdict(a[6] + 0 == 0)
                if (a[1] == "sdk_hello")
                    printf "- heap allocations per SDK hello request (%s): %s (target 0): %s\n", a[2], a[6], verdict(a[6] + 0 == 0)
            }
            rss_line("hello", max_rss, 4096)
            rss_line("sdk_hello (C++)", sdk_rss, 0)
            rss_line("todo (C++, nlohmann-json, 2 pool threads)", todo_rss, 0)
        }' "$WORK/results.tsv"
}
