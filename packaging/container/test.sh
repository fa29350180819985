#!/usr/bin/env bash
# Tests packaging/container/ and packaging/kubernetes/ as shipped. Not part
# of ctest: mmdebstrap needs the network and minutes.
#
#   packaging/container/test.sh [--skip-build] [--no-podman] [build.sh options]
#
# 1. build.sh: the two root filesystems (mmdebstrap) and, with podman, the
#    images (--skip-build: reuse the tarballs in --out, default build/container).
# 2. Without podman, a pod made of namespaces (what a container runtime
#    would give): one pid + network + mount namespace with only loopback,
#    fcgid and nginx each chrooted into its own extracted root filesystem as
#    uid 33, sharing one socket directory (the emptyDir), run with the
#    command, args and nginx.conf taken from packaging/kubernetes/fcgid.yaml,
#    and stopped by running its preStop hooks as the kubelet would:
#    a. as shipped (hello): /healthz and / answer 200 with hello's page;
#       the stop sequence ends with every process gone, fcgid exiting 0,
#       within terminationGracePeriodSeconds;
#    b. the same with echo.so instead of hello.so and a request of 7 s in
#       flight through nginx when the stop begins: it completes (200, its
#       body), after nginx was told to quit, and the pod is still gone
#       within the grace period;
#    c. fcgid alone, a deferred request of 3 s in flight on an accepted
#       connection when fcgid's preStop sends SIGTERM: it completes, fcgid
#       exits 0 right after it (the drain time).
# 3. With podman (unless --no-podman): `podman play kube` of fcgid.yaml
#    (replicas: 1: podman 4.3 shares one emptyDir between replicas), the
#    readiness path answered inside the pod, the preStop hooks run through
#    `podman exec` as the kubelet would (nginx exits 0, then fcgid exits 0,
#    within the grace period), `podman play kube --down`. A failure there is
#    reported with podman's error text.
#
# Needs root, unshare/nsenter (util-linux), iproute2, curl, python3 with
# PyYAML (python3-yaml); mmdebstrap and podman as build.sh says.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root_dir="$(cd "$here/../.." && pwd)"
yaml="$root_dir/packaging/kubernetes/fcgid.yaml"
out="$root_dir/build/container"
skip_build=0
podman=1
build_args=()
while (($#)); do
    case $1 in
        --skip-build) skip_build=1; shift ;;
        --no-podman) podman=0; build_args+=(--no-import); shift ;;
        --out) out=$2; build_args+=(--out "$2"); shift 2 ;;
        --deb | --build-dir | --mirror) build_args+=("$1" "$2"); shift 2 ;;
        *) echo "test.sh: unknown argument '$1' (see the comment at the top)" >&2; exit 2 ;;
    esac
done

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok $((passed + failed)) - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok $((passed + failed)) - $*"; }
fail() { not_ok "$*"; exit 1; }
[[ $(id -u) == 0 ]] || fail "needs root (namespaces, chroot)"
python3 -c 'import yaml' 2>/dev/null || fail "python3 with PyYAML needed: apt-get install python3-yaml"

tmp="$(mktemp -d /tmp/fcgid-container-test.XXXXXX)"
pod_pids=()
cleanup() {
    local rc=$? p
    trap - EXIT
    for p in "${pod_pids[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if ((podman)) && [[ -n "${CONTAINERS_CONF:-}" ]]; then
        timeout 60 podman play kube --down "$yaml" >/dev/null 2>&1 || true
        # The ConfigMap's volume outlives --down in podman 4.3.
        podman volume rm fcgid-nginx >/dev/null 2>&1 || true
    fi
    # The roots hold mount points only inside the pods' namespaces, which
    # are gone with them.
    rm -rf "$tmp"
    ((rc == 0 && failed != 0)) && rc=1
    echo "# container test: $passed passed, $failed failed"
    exit "$rc"
}
trap cleanup EXIT

# ---- 1. Build ----------------------------------------------------------------

if ((skip_build)); then
    [[ -f "$out/fcgid-rootfs.tar" && -f "$out/fcgid-nginx-rootfs.tar" ]] ||
        fail "--skip-build: no fcgid-rootfs.tar and fcgid-nginx-rootfs.tar in $out"
else
    started=$SECONDS
    "$here/build.sh" "${build_args[@]}" || fail "build.sh failed"
    ok "build.sh: root filesystems built in $((SECONDS - started)) s ($(du -h "$out/fcgid-rootfs.tar" | cut -f1) fcgid, $(du -h "$out/fcgid-nginx-rootfs.tar" | cut -f1) nginx)"
fi

# ---- The pod spec, as shipped --------------------------------------------------

# The parts of the pod spec the test runs, into $tmp: nginx.conf, each
# container's argv (shell-quoted) and preStop script, the grace period, the
# readiness path.
python3 - "$yaml" "$tmp" <<'EOF'
import shlex, sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
conf = next(d for d in docs if d["kind"] == "ConfigMap")
pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
c = {x["name"]: x for x in pod["containers"]}
out = sys.argv[2]
open(out + "/nginx.conf", "w").write(conf["data"]["nginx.conf"])
for name in ("fcgid", "nginx"):
    open("%s/%s.argv" % (out, name), "w").write(shlex.join(c[name]["command"] + c[name].get("args", [])))
    open("%s/%s.prestop" % (out, name), "w").write(c[name]["lifecycle"]["preStop"]["exec"]["command"][2])
open(out + "/grace", "w").write(str(pod["terminationGracePeriodSeconds"]))
open(out + "/readiness", "w").write(c["nginx"]["readinessProbe"]["httpGet"]["path"])
EOF
grace="$(cat "$tmp/grace")"
readiness="$(cat "$tmp/readiness")"
echo "# from $yaml: terminationGracePeriodSeconds $grace, readiness $readiness"
echo "# fcgid: $(cat "$tmp/fcgid.argv")"
echo "# nginx: $(cat "$tmp/nginx.argv")"

froot="$tmp/fcgid-root"
nroot="$tmp/nginx-root"
mkdir -p "$froot" "$nroot"
tar -C "$froot" -xf "$out/fcgid-rootfs.tar"
tar -C "$nroot" -xf "$out/fcgid-nginx-rootfs.tar"
mkdir -p "$froot/run/fcgid" "$nroot/run/fcgid" "$nroot/etc/fcgid-nginx"
cp "$tmp/nginx.conf" "$nroot/etc/fcgid-nginx/nginx.conf"
echo "# in the image: $(chroot "$froot" /usr/bin/fcgid --version), $(chroot "$nroot" /usr/sbin/nginx -v 2>&1)"

# ---- 2. The pod, made of namespaces ----------------------------------------------

# The pod's PID 1: brings up loopback, mounts what the kubelet would (each
# root filesystem read-only, the emptyDir for the socket, proc, nginx's
# /tmp), starts the containers as
# uid 33, and records each one's exit status and the time it exited.
cat >"$tmp/pod.sh" <<'EOF'
set -u
tmp=$1 froot=$2 nroot=$3 with_nginx=$4 plugin=$5
ip link set lo up
for r in "$froot" "$nroot"; do
    # readOnlyRootFilesystem: true
    mount --bind "$r" "$r"
    mount -o remount,bind,ro "$r"
    mount --bind "$tmp/emptydir" "$r/run/fcgid"
    mount -t proc proc "$r/proc"
done
mount -t tmpfs -o mode=1777 tmpfs "$nroot/tmp"
eval "fcgid_argv=($(cat "$tmp/fcgid.argv"))"
[[ -n "$plugin" ]] && fcgid_argv=("${fcgid_argv[@]/--plugin=*/--plugin=$plugin}")
chroot --userspec=33:33 --groups=33 "$froot" "${fcgid_argv[@]}" 2>"$tmp/fcgid.log" &
fpid=$!
if ((with_nginx)); then
    # nginx starts once the socket is there (Kubernetes starts both at once;
    # nginx would answer 502 until then, and the readiness probe waits).
    for _ in $(seq 100); do [[ -S "$tmp/emptydir/fcgid.sock" ]] && break; sleep 0.1; done
    eval "nginx_argv=($(cat "$tmp/nginx.argv"))"
    chroot --userspec=33:33 --groups=33 "$nroot" "${nginx_argv[@]}" 2>"$tmp/nginx.log" &
    npid=$!
    wait "$npid"; echo "$? $(date +%s.%N)" >"$tmp/nginx.exit"
fi
wait "$fpid"; echo "$? $(date +%s.%N)" >"$tmp/fcgid.exit"
EOF

# pod_start NGINX(0|1) [PLUGIN]: a fresh pod; sets pod (the PID 1's host pid).
pod_start() {
    rm -rf "$tmp/emptydir" "$tmp"/*.exit "$tmp"/*.log
    # fsGroup: 33: the kubelet makes the emptyDir group-writable for gid 33.
    install -d -o 33 -g 33 -m 2775 "$tmp/emptydir"
    unshare --pid --net --mount --fork --mount-proc \
        bash "$tmp/pod.sh" "$tmp" "$froot" "$nroot" "$1" "${2:-}" &
    local unshare_pid=$!
    pod_pids+=("$unshare_pid")
    pod=""
    for _ in $(seq 50); do
        pod="$(ps -o pid= --ppid "$unshare_pid" | tr -d ' ' || true)"  # none yet: ps fails
        [[ -n "$pod" ]] && break
        sleep 0.1
    done
    [[ -n "$pod" ]] || fail "the pod's namespaces did not start"
}

# in_pod CMD...: CMD in the pod's network namespace (curl, from the host).
in_pod() { nsenter --target "$pod" --net -- "$@"; }

# prestop NAME: runs NAME's preStop hook in its container (the pod's
# namespaces, its root filesystem, uid 33), as the kubelet's exec would.
prestop() {
    local root=$froot
    [[ $1 == nginx ]] && root=$nroot
    nsenter --target "$pod" --pid --mount --net -- \
        chroot --userspec=33:33 --groups=33 "$root" /bin/sh -c "$(cat "$tmp/$1.prestop")"
}

# wait_ready: the readiness probe, every 0.1 s for 10 s at most.
wait_ready() {
    for _ in $(seq 100); do
        [[ "$(in_pod curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:8080$readiness")" == 200 ]] &&
            return 0
        sleep 0.1
    done
    return 1
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# stop_pod: both preStop hooks at once, as the kubelet starts them; prints
# the seconds until both containers have exited; sets stop_t0.
stop_pod() {
    stop_t0="$(now)"
    prestop nginx >"$tmp/nginx-prestop.out" 2>&1 &
    local n=$!
    prestop fcgid >"$tmp/fcgid-prestop.out" 2>&1 &
    local f=$!
    # Bounded like the kubelet: SIGKILL for everything at the grace period.
    local deadline=$((SECONDS + grace + 5))
    while [[ ! -f "$tmp/fcgid.exit" ]] && ((SECONDS < deadline)); do sleep 0.1; done
    wait "$n" "$f" 2>/dev/null || true
}

# a. As shipped: hello.
pod_start 1
if wait_ready; then
    ok "pod as shipped: readiness $readiness answered 200 through nginx and the unix socket"
else
    fail "pod as shipped: $readiness not 200 within 10 s (fcgid: $(tail -n 2 "$tmp/fcgid.log" | tr '\n' ' '); nginx: $(tail -n 2 "$tmp/nginx.log" 2>/dev/null | tr '\n' ' '))"
fi
body="$(in_pod curl -s --max-time 5 http://127.0.0.1:8080/some/page)"
[[ "$body" == '<h1>Hello, World!</h1>' ]] && ok "GET /some/page: hello's page" || not_ok "GET /some/page: '$body'"
users="$(nsenter --target "$pod" --pid --mount -- sh -c 'for p in /proc/[0-9]*; do echo "$(cat $p/comm) $(awk "/^Uid:/ { print \$2 }" $p/status)"; done' | sort | uniq -c | tr -s ' ' | tr '\n' ',')"
echo "# processes in the pod (count, name, uid):$users"
if grep -qE ' 3 fcgid 33,' <<<"$users" && grep -qE ' nginx 33,' <<<"$users" &&
    ! grep -qE ' (fcgid|nginx) 0,' <<<"$users"; then
    ok "fcgid (master and 2 workers) and nginx run as uid 33"
else
    not_ok "the containers' processes:$users"
fi
stop_pod
read -r frc ft <"$tmp/fcgid.exit"
read -r nrc nt <"$tmp/nginx.exit"
total="$(secs "$stop_t0" "$ft")"
echo "# stop: nginx exited $nrc after $(secs "$stop_t0" "$nt") s, fcgid exited $frc after $total s; fcgid: $(grep -o 'exiting: .*' "$tmp/fcgid.log" | head -n 1)"
if [[ $frc == 0 && $nrc == 0 ]] && awk -v t="$total" -v g="$grace" 'BEGIN { exit !(t < g) }'; then
    ok "stop (preStop hooks): nginx then fcgid exit 0, all gone after $total s (grace ${grace} s)"
else
    not_ok "stop: fcgid $frc, nginx $nrc, $total s (grace $grace s)"
fi

# b. A slow request through nginx while the pod stops.
pod_start 1 /usr/lib/fcgid/plugins/echo.so
wait_ready || fail "pod with echo.so: $readiness not 200 within 10 s"
req_t0="$(now)"
in_pod curl -s --max-time 30 -o "$tmp/slow.body" -w '%{http_code} %{time_total}' \
    'http://127.0.0.1:8080/slow?delay_ms=7000&bytes=10' >"$tmp/slow.out" 2>&1 &
curl_pid=$!
stop_pod
wait "$curl_pid" || true
read -r code took <"$tmp/slow.out" || true
read -r frc ft <"$tmp/fcgid.exit"
read -r nrc nt <"$tmp/nginx.exit"
done_at="$(secs "$stop_t0" "$(awk -v a="$req_t0" -v t="$took" 'BEGIN { printf "%.3f", a + t }')")"
total="$(secs "$stop_t0" "$ft")"
echo "# slow request: $code after $took s, i.e. ${done_at} s into the stop (nginx told to quit at 5 s); nginx exited after $(secs "$stop_t0" "$nt") s, fcgid $frc after $total s"
if [[ "$code" == 200 && "$(cat "$tmp/slow.body")" == abcdefghij ]] && awk -v d="$done_at" 'BEGIN { exit !(d > 5) }'; then
    ok "a 7 s request in flight when the pod stops completes (200, its body) after nginx was told to quit"
else
    not_ok "the 7 s request: '$code' '$(head -c 100 "$tmp/slow.body")' done ${done_at} s into the stop"
fi
if [[ $frc == 0 && $nrc == 0 ]] && awk -v t="$total" -v g="$grace" 'BEGIN { exit !(t < g) }'; then
    ok "with it, the pod is gone after $total s (grace $grace s), both exit 0"
else
    not_ok "with the slow request: fcgid $frc, nginx $nrc, $total s (grace $grace s)"
fi

# c. fcgid's drain alone: a deferred request on an accepted connection.
pod_start 0 /usr/lib/fcgid/plugins/echo.so
for _ in $(seq 100); do [[ -S "$tmp/emptydir/fcgid.sock" ]] && break; sleep 0.1; done
mkfifo "$tmp/sent"
python3 - "$root_dir/tests/soak" "unix:$tmp/emptydir/fcgid.sock" "$tmp/sent" >"$tmp/drain.out" 2>&1 <<'EOF' &
import sys, time
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, sys.argv[1])
import soak_client as fc
with fc.Connection(sys.argv[2]) as conn:
    conn.get_values()  # accepted and served: a drain keeps it
    conn.send(fc.encode_request(1, "GET", "delay_ms=3000&bytes=10"))
    t0 = time.monotonic()
    open(sys.argv[3], "w").close()  # tells the test: in flight
    status, body = fc.split_cgi(conn.answer(1))
    print(status, body.decode(), "%.2f" % (time.monotonic() - t0))
EOF
client=$!
: <"$tmp/sent"
term_t0="$(now)"
prestop fcgid >"$tmp/fcgid-prestop.out" 2>&1 || true
wait "$client" || true
for _ in $(seq 50); do [[ -f "$tmp/fcgid.exit" ]] && break; sleep 0.1; done
read -r frc ft <"$tmp/fcgid.exit" || frc=missing
read -r code body took <"$tmp/drain.out" || true
drain="$(secs "$term_t0" "$ft")"
echo "# drain: the 3 s request answered $code '$body' after $took s; fcgid exited $frc $drain s after its preStop began; $(grep -o 'exiting: .*' "$tmp/fcgid.log" | head -n 1)"
if [[ "$code" == 200 && "$body" == abcdefghij && $frc == 0 ]] && awk -v t="$drain" -v g="$grace" 'BEGIN { exit !(t < 4 && t < g) }'; then
    ok "SIGTERM (fcgid's preStop) with a 3 s request in flight: it completes, fcgid exits 0 after $drain s"
else
    not_ok "drain: request '$code' '$body', fcgid exit $frc after $drain s; $(tail -n 3 "$tmp/fcgid.log" | tr '\n' ' ')"
fi

# ---- 3. podman -------------------------------------------------------------------

((podman)) || exit 0
# This machine's limits: crun refuses cgroup v1+v2 hybrids ("cgroups in
# hybrid mode not supported"), and podman's default RLIMIT_NOFILE (1048576)
# and RLIMIT_NPROC are refused ("setrlimit: Operation not permitted", even
# NPROC at the host's own hard limit); runc with the host's open-files limit
# and 4096 processes works. A private config: the machine's is untouched.
cat >"$tmp/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=4096:4096"]
[engine]
runtime = "$(command -v runc >/dev/null && echo runc || echo crun)"
EOF
export CONTAINERS_CONF="$tmp/containers.conf"
# podman 4.3 gives every replica of a Deployment the same emptyDir (a named
# volume): the second pod's fcgid finds the first one's socket and exits.
# One replica here; everything else as shipped.
python3 - "$yaml" "$tmp/fcgid-podman.yaml" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
for d in docs:
    if d["kind"] == "Deployment":
        d["spec"]["replicas"] = 1
yaml.safe_dump_all(docs, open(sys.argv[2], "w"), sort_keys=False)
PY
yaml="$tmp/fcgid-podman.yaml"  # what cleanup takes down
if ! timeout 120 podman play kube "$yaml" >"$tmp/podman-play.out" 2>&1; then
    not_ok "podman play kube: $(tail -n 5 "$tmp/podman-play.out" | tr '\n' ' ')"
    exit 1
fi
ok "podman play kube (replicas: 1): pod $(podman pod ps --format '{{.Name}} {{.Status}}' --filter name=fcgid-pod | head -n 1)"
ctr_pid() { podman inspect --format '{{.State.Pid}}' "fcgid-pod-0-$1"; }
code=""
for _ in $(seq 100); do
    code="$(nsenter --target "$(ctr_pid nginx)" --net -- curl -s -o "$tmp/podman.body" -w '%{http_code}' --max-time 2 "http://127.0.0.1:8080$readiness" || true)"
    [[ "$code" == 200 ]] && break
    sleep 0.1
done
if [[ "$code" == 200 && "$(cat "$tmp/podman.body")" == '<h1>Hello, World!</h1>' ]]; then
    ok "podman pod: $readiness answered 200 with hello's page inside the pod"
else
    not_ok "podman pod: $readiness gave '$code' (fcgid: $(podman logs fcgid-pod-0-fcgid 2>&1 | tail -n 2 | tr '\n' ' '); nginx: $(podman logs fcgid-pod-0-nginx 2>&1 | tail -n 2 | tr '\n' ' '))"
fi
# The kubelet's stop: each container's preStop through exec, at once. The
# Deployment restarts what exits (restartPolicy Always), so the exits are
# read from podman's events: "NAME EXIT_CODE UNIX_TIME" per container.
stop_t0="$(now)"
podman exec fcgid-pod-0-nginx /bin/sh -c "$(cat "$tmp/nginx.prestop")" >/dev/null 2>&1 &
podman exec fcgid-pod-0-fcgid /bin/sh -c "$(cat "$tmp/fcgid.prestop")" >/dev/null 2>&1 &
died() {
    podman events --stream=false --since "${stop_t0%.*}" --filter event=died \
        --format '{{.Name}} {{.ContainerExitCode}} {{printf "%d.%09d" .Time.Unix .Time.Nanosecond}}' 2>/dev/null |
        grep -E '^fcgid-pod-0-(fcgid|nginx) ' | sort -u -k1,1
}
deadline=$((SECONDS + grace + 5))
while (($(died | wc -l) < 2)) && ((SECONDS < deadline)); do sleep 0.2; done
wait || true
read -r _ nrc nt < <(died | grep nginx) || nrc=none
read -r _ frc ft < <(died | grep -- -fcgid) || frc=none
echo "# podman events: nginx exited ${nrc} after $(secs "$stop_t0" "${nt:-0}") s, fcgid ${frc} after $(secs "$stop_t0" "${ft:-0}") s"
if [[ $nrc == 0 && $frc == 0 ]] && awk -v n="$nt" -v f="$ft" -v t="$stop_t0" -v g="$grace" 'BEGIN { exit !(n <= f && f - t < g) }'; then
    ok "podman: the preStop hooks (podman exec) stop nginx, then fcgid, both exit 0, within $(secs "$stop_t0" "$ft") s (grace $grace s)"
else
    not_ok "podman: after the preStop hooks: nginx '$nrc' at ${nt:-?}, fcgid '$frc' at ${ft:-?} (start $stop_t0)"
fi
echo "# fcgid in podman: $(podman logs fcgid-pod-0-fcgid 2>&1 | grep -o 'exiting: .*' | tail -n 1)"
stop_started=$SECONDS
if timeout 120 podman play kube --down "$yaml" >"$tmp/podman-down.out" 2>&1; then
    ok "podman play kube --down: $((SECONDS - stop_started)) s"
else
    not_ok "podman play kube --down: $(tail -n 3 "$tmp/podman-down.out" | tr '\n' ' ')"
fi
