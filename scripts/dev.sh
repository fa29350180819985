#!/usr/bin/env bash
# The two commands README.md gives a new user on a fresh Debian 12 machine:
#
#   scripts/dev.sh hello   install what is missing, build, and run fcgid
#                          serving the hello plugin on 127.0.0.1:5000
#   scripts/dev.sh test    install what is missing, build, and run every test:
#                          the whole suite (with the fuzzers), then the whole
#                          suite again in a build with AddressSanitizer and
#                          UndefinedBehaviorSanitizer
#
# `test` installs the build into build/stage exactly as `cmake --install` lays
# it out for users (bin/fcgid, lib/fcgid/plugins/*.so, include/fcgid,
# lib/cmake); `hello` builds and runs only fcgid and hello.so.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}

# Debian 12 packages the build and the tests need: the toolchain and
# libraries; nginx, Apache (mod_proxy_fcgi, mod_fcgid), lighttpd, Caddy, h2o,
# supervisord and systemd-socket-activate for the interop tests, which run
# each in front of fcgid; PHP-FPM, promtool and python3-prometheus-client for
# the probe and status tests (fcgid ping/status, the metrics formats); dpkg-dev
# and man-db for the .deb test; clang and its runtime (libFuzzer) for the fuzz
# targets; logrotate for the access log's rotation test.
PACKAGES=(
  g++ cmake make ccache pkg-config
  libcli11-dev libboost-dev libspdlog-dev libfmt-dev googletest libgtest-dev nlohmann-json3-dev
  nginx-light curl python3 procps wrk
  prometheus python3-prometheus-client
  clang libclang-rt-14-dev
  apache2 libapache2-mod-fcgid lighttpd caddy h2o haproxy supervisor systemd dpkg-dev man-db
  php8.2-fpm prometheus python3-prometheus-client logrotate
)

install_missing_packages() {
  local missing=() package
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  ((${#missing[@]} == 0)) && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  # The web servers are installed for the tests, which run their own private
  # instances: keep the packages from starting system services on port 80
  # (unless a policy is already in place, as in most containers).
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" > /dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
  ((added_policy)) && "${sudo[@]}" rm -f "$policy"
  return 0
}

# build DIR [cmake options...]: configure, build, and lay out DIR/stage.
build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  cmake --build "$dir" -j "$(nproc)"
  cmake --install "$dir" --prefix "$dir/stage" > /dev/null
}

run_tests() {
  ctest --test-dir "$1" --output-on-failure -j "$(nproc)" --timeout 300
}

case "${1:-}" in
  hello)
    install_missing_packages
    # Only what this runs: the daemon and the hello plugin, straight from the
    # build tree (the test suite, the fuzzers and the other plugins wait for
    # `scripts/dev.sh test`).
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build "$BUILD_DIR" -j "$(nproc)" --target fcgid hello
    exec "$BUILD_DIR/cmd/fcgid/fcgid" run --host 127.0.0.1 --port 5000 \
      --plugin "$BUILD_DIR/plugins/hello/hello.so"
    ;;
  test)
    install_missing_packages
    build "$BUILD_DIR"
    run_tests "$BUILD_DIR"
    # The same suite under the sanitizers (fuzzers already ran with them).
    build "$BUILD_DIR-sanitize" -DFCGID_SANITIZE=ON -DFCGID_BUILD_FUZZERS=OFF
    run_tests "$BUILD_DIR-sanitize"
    ;;
  *)
    echo "usage: $0 hello|test" >&2
    exit 2
    ;;
esac
