# shellcheck shell=bash disable=SC2034,SC2153  # sourced by run.sh: uses its globals, sets some
# Installing, building and describing the machine. Sourced by run.sh.
#
#   install_packages     apt-get what the full run needs and is missing
#   prepare_binaries     sets FCGID_BIN, FCGID_PLUGIN_DIR, FCGI_BENCH,
#                        PEERS_BIN, ALLOC_COUNT_SO, BUSY_PLUGIN, SDK_HELLO_PLUGIN,
#                        BYTES_PLUGIN, POOL_PLUGIN, TODO_PLUGIN, NGINX_BIN,
#                        WRK_BIN, PHP_FPM
#   record_machine       the notes printed above the table

# Debian 12 packages: fcgid's build (as scripts/dev.sh), the peers, nginx, wrk.
BENCH_PACKAGES=(
    g++ cmake make pkg-config libcli11-dev libboost-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
    nginx-light wrk procps curl
    libfcgi-dev libfcgi-bin golang-go php8.2-fpm php8.2-apcu
)

install_packages() {
    local missing=() package sudo=()
    for package in "${BENCH_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0
    say "installing: ${missing[*]}"
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >"$WORK/logs/apt.log" 2>&1 || die "apt-get install failed (see $WORK/logs/apt.log)"
}

find_tool() {
    local name="$1" found
    found="$(command -v "$name" || true)"
    [[ -z "$found" && -x "/usr/sbin/$name" ]] && found="/usr/sbin/$name"
    echo "$found"
}

wants_server() {
    local s
    for s in "${SERVER_LIST[@]}"; do [[ "$s" == "$1" ]] && return 0; done
    return 1
}

build_fcgid() {
    local build="$WORK/fcgid" jobs
    jobs="$(nproc)"
    ((jobs > 2)) && jobs=2  # the machine is shared; the build is not what we measure
    say "building fcgid (Release) in $build"
    {
        cmake -S "$REPO_DIR" -B "$build" -DCMAKE_BUILD_TYPE=Release -DFCGID_BUILD_TESTS=OFF &&
            cmake --build "$build" -j "$jobs" &&
            cmake --install "$build" --prefix "$build/stage"
    } >"$WORK/logs/build-fcgid.log" 2>&1 || die "building fcgid failed (see $WORK/logs/build-fcgid.log)"
    FCGID_BIN="$build/stage/bin/fcgid"
    FCGID_PLUGIN_DIR="$build/stage/lib/fcgid/plugins"
    if [[ -z "$FCGI_BENCH" ]]; then
        FCGI_BENCH="$build/tools/fcgi-bench/fcgi-bench"
        if [[ ! -x "$FCGI_BENCH" ]]; then
            # Until tools/ is part of the top-level build: on its own.
            {
                cmake -S "$REPO_DIR/tools/fcgi-bench" -B "$WORK/fcgi-bench" -DCMAKE_BUILD_TYPE=Release &&
                    cmake --build "$WORK/fcgi-bench" -j "$jobs"
            } >"$WORK/logs/build-fcgi-bench.log" 2>&1 ||
                die "building fcgi-bench failed (see $WORK/logs/build-fcgi-bench.log)"
            FCGI_BENCH="$WORK/fcgi-bench/fcgi-bench"
        fi
    fi
}

build_peers() {
    PEERS_BIN="$WORK/peers"
    # The floor of the large-upload rows: always, it is fcgid's yardstick.
    "${CC:-cc}" -O2 -o "$PEERS_BIN/read_floor" "$BENCH_DIR/peers/read_floor.c" \
        >"$WORK/logs/build-read-floor.log" 2>&1 || die "building peers/read_floor.c failed (see $WORK/logs/build-read-floor.log)"
    # The floor of the slow-work rows (a loop handing jobs to a pool and
    # back, no network): always, for the same reason. Boost.Asio is header-only.
    "${CXX:-c++}" -std=c++20 -O2 -pthread -o "$PEERS_BIN/handoff_floor" "$BENCH_DIR/peers/handoff_floor.cpp" \
        >"$WORK/logs/build-handoff-floor.log" 2>&1 ||
        die "building peers/handoff_floor.cpp failed (is libboost-dev installed? see $WORK/logs/build-handoff-floor.log)"
    if wants_server libfcgi; then
        "${CC:-cc}" -O2 -o "$PEERS_BIN/libfcgi_hello" "$BENCH_DIR/peers/libfcgi_hello.c" -lfcgi \
            >"$WORK/logs/build-libfcgi.log" 2>&1 || die "building the libfcgi hello failed (is libfcgi-dev installed?)"
    fi
    if wants_server go; then
        # Standard library only: nothing is fetched (GOPROXY=off), caches stay in the work dir.
        (cd "$BENCH_DIR/peers" &&
            export GOPATH="$WORK/go" GOCACHE="$WORK/go/cache" GOPROXY=off GOFLAGS='' &&
            go build -o "$PEERS_BIN/go_hello" go_hello.go &&
            go build -o "$PEERS_BIN/go_todo" go_todo.go) >"$WORK/logs/build-go.log" 2>&1 ||
            die "building the Go peers failed (see $WORK/logs/build-go.log)"
    fi
    if wants_server php; then
        PHP_FPM="$(find_tool php-fpm8.2)"
        [[ -n "$PHP_FPM" ]] || PHP_FPM="$(find_tool php-fpm)"
        [[ -n "$PHP_FPM" ]] || die "php-fpm not found (apt-get install php8.2-fpm)"
        "$PHP_FPM" -m 2>/dev/null | grep -qx apcu || die "PHP-FPM has no APCu, which peers/todo.php needs (apt-get install php8.2-apcu)"
    fi
}

prepare_binaries() {
    if ((BUILD)); then
        build_fcgid
    else
        [[ -x "${FCGID_BIN:-}" ]] || die "FCGID_BIN is not an executable: '${FCGID_BIN:-}'"
        [[ -f "${FCGID_PLUGIN_DIR:-}/hello.so" ]] || die "no hello.so in FCGID_PLUGIN_DIR='${FCGID_PLUGIN_DIR:-}'"
        [[ -f "${FCGID_PLUGIN_DIR:-}/todo.so" ]] || die "no todo.so in FCGID_PLUGIN_DIR='${FCGID_PLUGIN_DIR:-}'"
        [[ -n "$FCGI_BENCH" ]] || die "--no-build needs --fcgi-bench PATH (or FCGI_BENCH_BIN)"
    fi
    [[ -x "$FCGI_BENCH" ]] || die "fcgi-bench is not an executable: '$FCGI_BENCH'"
    TODO_PLUGIN="$FCGID_PLUGIN_DIR/todo.so"
    cp "$BENCH_DIR/peers/hello.php" "$BENCH_DIR/peers/todo.php" "$WORK/peers/"
    build_peers
    ALLOC_COUNT_SO="$WORK/peers/alloc_count.so"
    "${CC:-cc}" -O2 -shared -fPIC -fvisibility=hidden -o "$ALLOC_COUNT_SO" \
        "$BENCH_DIR/alloc_count/alloc_count.c" >"$WORK/logs/build-alloc-count.log" 2>&1 ||
        die "building bench/alloc_count failed (see $WORK/logs/build-alloc-count.log)"
    BUSY_PLUGIN="$WORK/peers/busy.so"
    "${CC:-cc}" -O2 -shared -fPIC -fvisibility=hidden -I "$REPO_DIR/include" -o "$BUSY_PLUGIN" \
        "$BENCH_DIR/plugins/busy.c" >"$WORK/logs/build-busy.log" 2>&1 ||
        die "building bench/plugins/busy.c failed (see $WORK/logs/build-busy.log)"
    # As fcgid_add_plugin() builds a plugin: hidden symbols but the entry point.
    SDK_HELLO_PLUGIN="$WORK/peers/sdk_hello.so"
    "${CXX:-c++}" -std=c++20 -O2 -shared -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -pthread \
        -I "$REPO_DIR/include" -Wl,--version-script="$REPO_DIR/packaging/fcgid_plugin_exports.map" \
        -o "$SDK_HELLO_PLUGIN" "$BENCH_DIR/plugins/sdk_hello.cpp" >"$WORK/logs/build-sdk-hello.log" 2>&1 ||
        die "building bench/plugins/sdk_hello.cpp failed (see $WORK/logs/build-sdk-hello.log)"
    BYTES_PLUGIN="$WORK/peers/bytes.so"
    "${CC:-cc}" -O2 -shared -fPIC -fvisibility=hidden -I "$REPO_DIR/include" -o "$BYTES_PLUGIN" \
        "$BENCH_DIR/plugins/bytes.c" >"$WORK/logs/build-bytes.log" 2>&1 ||
        die "building bench/plugins/bytes.c failed (see $WORK/logs/build-bytes.log)"
    POOL_PLUGIN="$WORK/peers/pool_sleep.so"
    "${CXX:-c++}" -std=c++20 -O2 -shared -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -pthread \
        -I "$REPO_DIR/include" -Wl,--version-script="$REPO_DIR/packaging/fcgid_plugin_exports.map" \
        -o "$POOL_PLUGIN" "$BENCH_DIR/plugins/pool_sleep.cpp" >"$WORK/logs/build-pool-sleep.log" 2>&1 ||
        die "building bench/plugins/pool_sleep.cpp failed (see $WORK/logs/build-pool-sleep.log)"
    NGINX_BIN="${NGINX_BIN:-$(find_tool nginx)}"
    WRK_BIN="${WRK_BIN:-$(find_tool wrk)}"
    [[ -n "$NGINX_BIN" ]] || die "nginx not found: scripts/dev.sh installs nginx-light"
    [[ -n "$WRK_BIN" ]] || die "wrk not found: apt-get install wrk (scripts/dev.sh installs it)"
}

package_version() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"
}

record_machine() {
    local cpu
    cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "machine: $(uname -sr), $(nproc) cores ($cpu), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "fcgid: $("$FCGID_BIN" --version 2>&1 | head -n 1), git $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO_DIR" diff --quiet HEAD 2>/dev/null || echo ' (modified)')"
    echo "nginx $("$NGINX_BIN" -v 2>&1 | sed 's|.*/||'), 1 worker; wrk $(package_version wrk)"
    local peers=()
    wants_server libfcgi && peers+=("libfcgi $(package_version libfcgi-dev)")
    wants_server go && peers+=("$(go version | awk '{ print $3 }') (GOMAXPROCS default)")
    wants_server php && peers+=("PHP-FPM $(package_version php8.2-fpm) (1 static child, opcache on, APCu $(package_version php8.2-apcu))")
    if ((${#peers[@]} > 0)); then
        local joined
        joined="$(printf '%s, ' "${peers[@]}")"
        echo "peers: ${joined%, }"
    fi
}
