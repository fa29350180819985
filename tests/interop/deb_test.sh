#!/usr/bin/env bash
# The Debian package, as an operator gets it: builds it with cpack in the
# build directory (packaging/cpack.cmake), installs it with dpkg on this
# machine, checks what it installed and that it runs, then removes it again
# (dpkg --purge), leaving the machine as it was.
#
#   - the .deb holds the binary, the plugins, the headers, the CMake package,
#     the systemd units, fcgid(1) and the spawn wrapper; Depends is filled in;
#   - installed: /usr/bin/fcgid --version, man fcgid, the units (paths for
#     /usr; systemd-analyze verify with the man page check on), a raw FastCGI
#     request to the installed fcgid with the installed hello.so, the same
#     through /usr/libexec/fcgid/fcgid-wrapper with the socket on fd 0, and
#     find_package(fcgid) in an out-of-tree project without any hint, and the
#     SDK template from /usr/share/doc/fcgid/examples built and served.
#
# Env: FCGID_BUILD_DIR (the CMake build directory, configured with
# packaging/cpack.cmake included). Optional: CMAKE_COMMAND (its cpack is
# used), CC, CMAKE_GENERATOR. Needs root (dpkg -i), dpkg-dev
# (dpkg-shlibdeps), python3: anything missing FAILS the test. Refuses to run
# when a package named fcgid is already installed (it would replace it).
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=deb_test
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
interop_bound 160 "$@"

[[ -d "${FCGID_BUILD_DIR:-}" ]] || fail "FCGID_BUILD_DIR is not a directory: '${FCGID_BUILD_DIR:-}'"
[[ -f "$FCGID_BUILD_DIR/CPackConfig.cmake" ]] ||
    fail "no CPackConfig.cmake in $FCGID_BUILD_DIR: the top-level CMakeLists.txt must include(packaging/cpack.cmake)"
cmake_bin="${CMAKE_COMMAND:-$(command -v cmake || true)}"
[[ -x "$cmake_bin" ]] || fail "cmake not found ('$cmake_bin')"
cpack_bin="$(dirname "$cmake_bin")/cpack"
[[ -x "$cpack_bin" ]] || cpack_bin="$(command -v cpack || true)"
[[ -x "$cpack_bin" ]] || fail "cpack not found next to $cmake_bin or in PATH"
for tool in dpkg dpkg-deb dpkg-shlibdeps python3 man; do
    command -v "$tool" >/dev/null ||
        fail "$tool not found: run scripts/dev.sh test, which installs dpkg-dev, python3 and man-db"
done
[[ $(id -u) == 0 ]] || fail "installing a package needs root (dpkg -i); run as root, as CI does"
if dpkg-query -W -f '${Status}' fcgid 2>/dev/null | grep -q "installed"; then
    fail "a package named fcgid is already installed ($(dpkg-query -W -f '${Version}' fcgid)); this test would replace it: dpkg --purge fcgid first"
fi
interop_init

installed=0
uninstall() {
    if ((installed)); then
        dpkg --purge fcgid >"$tmp/purge.log" 2>&1 || echo "# dpkg --purge fcgid failed: $(tail -n 3 "$tmp/purge.log")"
        installed=0
    fi
}
# Remove the package whatever happens, before lib.sh's cleanup removes $tmp.
trap 'rc=$?; uninstall; interop_cleanup "$rc"' EXIT

# ---- Build the package -------------------------------------------------------

show_log cpack.log
(cd "$FCGID_BUILD_DIR" && "$cpack_bin" -G DEB -B "$tmp/package" --config CPackConfig.cmake) \
    >"$tmp/cpack.log" 2>&1 || fail "cpack -G DEB in $FCGID_BUILD_DIR failed: $(tail -n 5 "$tmp/cpack.log" | tr '\n' ' ')"
deb="$(find "$tmp/package" -maxdepth 1 -name 'fcgid_*.deb' | head -n 1)"
[[ -f "$deb" ]] || fail "cpack made no fcgid_*.deb in $tmp/package"
ok "cpack -G DEB: $(basename "$deb") ($(($(stat -c %s "$deb") / 1024)) KiB)"

dpkg-deb --contents "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/contents"
missing=""
for path in /usr/bin/fcgid /usr/lib/fcgid/plugins/hello.so /usr/lib/fcgid/plugins/echo.so \
    /usr/include/fcgid/plugin.h /usr/include/fcgid/plugin.hpp /usr/include/fcgid/version.h \
    /usr/lib/cmake/fcgid/fcgidConfig.cmake /usr/lib/cmake/fcgid/fcgidConfigVersion.cmake \
    /usr/lib/cmake/fcgid/fcgidTargets.cmake \
    /usr/lib/systemd/system/fcgid@.service /usr/lib/systemd/system/fcgid@.socket \
    /usr/lib/systemd/system/fcgid.service /usr/share/man/man1/fcgid.1.gz \
    /usr/libexec/fcgid/fcgid-wrapper /usr/share/doc/fcgid/examples/nginx/fcgid.conf \
    /usr/lib/fcgid/plugins/todo.so /usr/lib/fcgid/plugins/upload.so /usr/lib/fcgid/plugins/slow.so \
    /usr/include/fcgid/sdk.hpp /usr/share/doc/fcgid/examples/template/CMakeLists.txt \
    /usr/share/doc/fcgid/examples/template/app.cpp /etc/logrotate.d/fcgid; do
    grep -qxF "$path" "$tmp/contents" || missing+=" $path"
done
if [[ -z "$missing" ]]; then
    ok "the package holds the binary, plugins, headers, CMake package, systemd units, man page, wrapper, examples, SDK template"
else
    not_ok "the package lacks:$missing"
fi
depends="$(dpkg-deb --field "$deb" Depends)"
if [[ "$depends" == *libc6* && "$depends" == *libstdc++6* ]]; then
    ok "Depends: $depends"
else
    not_ok "Depends is '$depends', expected libc6, libstdc++6 (for C++ plugins)... (dpkg-shlibdeps)"
fi

# ---- Install -----------------------------------------------------------------

show_log dpkg.log
installed=1
dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || fail "dpkg -i $(basename "$deb"): $(tail -n 5 "$tmp/dpkg.log" | tr '\n' ' ')"
ok "dpkg -i: $(dpkg-query -W -f '${Package} ${Version} ${Status}' fcgid)"

version="$(/usr/bin/fcgid --version 2>&1 || true)"
if [[ "$version" =~ ^fcgid\ [0-9]+\.[0-9]+\.[0-9]+\ \(plugin\ ABI\ [0-9]+\.[0-9]+\)$ ]]; then
    ok "/usr/bin/fcgid --version: $version"
else
    not_ok "/usr/bin/fcgid --version: '$version'"
fi

if [[ "$(man -w fcgid 2>/dev/null)" == /usr/share/man/man1/fcgid.1.gz ]] &&
    MANWIDTH=80 man fcgid 2>/dev/null | grep -q -- "--request-limit"; then
    ok "man fcgid: /usr/share/man/man1/fcgid.1.gz"
else
    not_ok "man fcgid: '$(man -w fcgid 2>&1)'"
fi

# fcgid(1) covers every option the installed binary has.
undocumented=""
zcat /usr/share/man/man1/fcgid.1.gz | sed 's/\\-/-/g' >"$tmp/fcgid.1"
/usr/bin/fcgid run --help >"$tmp/help.txt" 2>&1 || true
while read -r option; do
    grep -qE -- "${option}([^a-z-]|$)" "$tmp/fcgid.1" || undocumented+=" $option"
done < <(grep -oE -- '--[a-z][a-z-]*' "$tmp/help.txt" | sort -u)
if [[ -z "$undocumented" ]]; then
    ok "fcgid(1) documents every option of the installed 'fcgid run --help'"
else
    not_ok "fcgid(1) does not document:$undocumented"
fi

# shellcheck disable=SC2016 # ${FCGID_PLUGIN} is systemd's, not ours
if grep -q '^ExecStart=/usr/bin/fcgid run --plugin ${FCGID_PLUGIN}' /usr/lib/systemd/system/fcgid@.service &&
    grep -q '^Environment=FCGID_PLUGIN=/usr/lib/fcgid/plugins/hello.so$' /usr/lib/systemd/system/fcgid@.service; then
    ok "installed fcgid@.service runs /usr/bin/fcgid with /usr/lib/fcgid/plugins/hello.so"
else
    not_ok "installed fcgid@.service: $(grep -E '^(ExecStart|Environment=FCGID_PLUGIN)' /usr/lib/systemd/system/fcgid@.service | tr '\n' ' ')"
fi
mkdir -p "$tmp/units"
cp /usr/lib/systemd/system/fcgid@.service "$tmp/units/fcgid@5000.service"
cp /usr/lib/systemd/system/fcgid@.socket "$tmp/units/fcgid@5000.socket"
cp /usr/lib/systemd/system/fcgid.service "$tmp/units/fcgid.service"
if command -v systemd-analyze >/dev/null; then
    verify_out="$(systemd-analyze verify "$tmp/units/fcgid@5000.socket" "$tmp/units/fcgid@5000.service" \
        "$tmp/units/fcgid.service" 2>&1)" && verify_rc=0 || verify_rc=$?
    if ((verify_rc == 0)) && [[ -z "$verify_out" ]]; then
        ok "systemd-analyze verify of the installed units (with man:fcgid(1)) is clean"
    else
        not_ok "systemd-analyze verify of the installed units ($verify_rc): $(tr '\n' ' ' <<<"$verify_out")"
    fi
fi

# ---- A request to the installed fcgid ----------------------------------------

# fastcgi_get PORT: one GET (no KEEP_CONN) to 127.0.0.1:PORT; prints the body.
fastcgi_get() {
    python3 - "$1" <<'EOF'
import socket, struct, sys

def record(rtype, content=b""):
    return struct.pack(">BBHHBB", 1, rtype, 1, len(content), 0, 0) + content

def pair(name, value):
    return bytes([len(name), len(value)]) + name + value

params = b"".join(pair(k, v) for k, v in [
    (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", b"/"), (b"QUERY_STRING", b""),
    (b"SERVER_PROTOCOL", b"HTTP/1.1")])
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
sock.sendall(record(1, struct.pack(">HB5x", 1, 0)) + record(4, params) + record(4) + record(5))
data = b""
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    data += chunk
stdout, ended = b"", False
while len(data) >= 8:
    _, rtype, _, length, padding, _ = struct.unpack(">BBHHBB", data[:8])
    content, data = data[8:8 + length], data[8 + length + padding:]
    if rtype == 6:
        stdout += content
    elif rtype == 3:
        ended = True
if not ended:
    sys.exit("no END_REQUEST")
head, _, body = stdout.partition(b"\r\n\r\n")
if not head.startswith(b"Status: 200"):
    sys.exit(f"head {head!r}")
sys.stdout.write(body.decode())
EOF
}

show_log installed.log
/usr/bin/fcgid run --plugin /usr/lib/fcgid/plugins/hello.so --host 127.0.0.1 --port 0 \
    </dev/null >/dev/null 2>"$tmp/installed.log" &
fcgid_pid=$!
track_pid "$fcgid_pid"
port=""
for _ in $(seq 100); do
    port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$tmp/installed.log" | head -n 1)"
    [[ -n "$port" ]] && break
    alive "$fcgid_pid" || break
    sleep 0.1
done
if [[ -z "$port" ]]; then
    not_ok "the installed fcgid did not start: $(tr '\n' ' ' <"$tmp/installed.log")"
else
    body="$(fastcgi_get "$port" 2>&1)" || true
    if [[ "$body" == "<h1>Hello, World!</h1>" ]]; then
        ok "installed fcgid with installed hello.so answers a FastCGI GET: $body"
    else
        not_ok "installed fcgid with installed hello.so: '$body'"
    fi
fi
stop_tree "$fcgid_pid"

# The wrapper, as mod_fcgid runs it: no arguments, the listening socket on
# fd 0; it finds /usr/bin/fcgid and hello.so next to itself.
show_log wrapper.log
python3 - >"$tmp/wrapper.port" 2>"$tmp/wrapper.log" <<'EOF' &
import os, socket, sys
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print(listener.getsockname()[1], flush=True)
os.dup2(listener.fileno(), 0)
wrapper = "/usr/libexec/fcgid/fcgid-wrapper"
os.execve(wrapper, [wrapper], {"PATH": "/usr/bin:/bin"})
EOF
wrapper_pid=$!
track_pid "$wrapper_pid"
for _ in $(seq 100); do
    grep -q "listening on fd 0" "$tmp/wrapper.log" && break
    alive "$wrapper_pid" || break
    sleep 0.1
done
if grep -q "listening on fd 0 (127.0.0.1:" "$tmp/wrapper.log" && grep -q "/usr/lib/fcgid/plugins/hello.so" "$tmp/wrapper.log"; then
    body="$(fastcgi_get "$(head -n 1 "$tmp/wrapper.port")" 2>&1)" || true
    if [[ "$body" == "<h1>Hello, World!</h1>" ]]; then
        ok "/usr/libexec/fcgid/fcgid-wrapper serves fd 0 with /usr/lib/fcgid/plugins/hello.so"
    else
        not_ok "/usr/libexec/fcgid/fcgid-wrapper: '$body'"
    fi
else
    not_ok "/usr/libexec/fcgid/fcgid-wrapper did not start fcgid on fd 0: $(tr '\n' ' ' <"$tmp/wrapper.log")"
fi
stop_tree "$wrapper_pid"

# find_package(fcgid) with no hint: the package's CMake config in /usr/lib/cmake.
show_log find_package.log
if "$cmake_bin" -S "$here/out_of_tree_plugin" -B "$tmp/consumer" ${CMAKE_GENERATOR:+-G "$CMAKE_GENERATOR"} \
    >"$tmp/find_package.log" 2>&1 &&
    "$cmake_bin" --build "$tmp/consumer" --parallel 2 >>"$tmp/find_package.log" 2>&1 &&
    grep -q "plugins in /usr/lib/fcgid/plugins" "$tmp/find_package.log"; then
    ok "find_package(fcgid) without hints finds the package in /usr and builds a plugin"
else
    not_ok "find_package(fcgid) against the installed package: $(grep -m1 -E 'fcgid|Error' "$tmp/find_package.log" || true)"
fi

# The SDK template from the package's docs, as a plugin author starts: build
# it against /usr (no hints), then serve it with the installed fcgid.
show_log template.log
if "$cmake_bin" -S /usr/share/doc/fcgid/examples/template -B "$tmp/template" ${CMAKE_GENERATOR:+-G "$CMAKE_GENERATOR"} \
    >"$tmp/template.log" 2>&1 &&
    "$cmake_bin" --build "$tmp/template" --parallel 2 >>"$tmp/template.log" 2>&1; then
    ok "/usr/share/doc/fcgid/examples/template (C++ SDK) builds against the installed package"
    FCGID_BIN=/usr/bin/fcgid start_fcgid template "$tmp/template/app.so"
    body="$(fastcgi_get "$template_port" 2>&1)" || true
    if [[ "$body" == "hello from app" ]]; then
        ok "installed fcgid serves the template's app.so: $body"
    else
        not_ok "installed fcgid with the template's app.so: '$body'"
    fi
    stop_fcgid template
else
    not_ok "building /usr/share/doc/fcgid/examples/template: $(grep -m1 -E 'Error|error' "$tmp/template.log" || true)"
fi

# ---- Remove ------------------------------------------------------------------

uninstall
if [[ ! -e /usr/bin/fcgid && ! -e /usr/lib/systemd/system/fcgid@.service ]] &&
    ! dpkg-query -W -f '${Status}' fcgid 2>/dev/null | grep -q "installed"; then
    ok "dpkg --purge fcgid: the package and its files are gone"
else
    not_ok "dpkg --purge fcgid left $(find /usr/bin/fcgid /usr/lib/systemd/system/fcgid@.service 2>/dev/null | tr '\n' ' ')"
fi
