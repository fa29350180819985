#!/usr/bin/env bash
# What a plugin author does with an installed fcgid: build a plugin out of tree
# with find_package(fcgid), then serve it with the installed fcgid.
#
# Builds tests/interop/out_of_tree_plugin/ against ${FCGID_STAGE_DIR} in a temp
# dir, checks that only the entry point is exported, runs the staged fcgid with
# each built plugin and sends one raw FastCGI request (python3); then the same
# with the SDK template installed with the docs (plugins/template/).
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_STAGE_DIR. Optional: CMAKE_COMMAND
# (the cmake that built fcgid), CC, CMAKE_GENERATOR.
set -euo pipefail

if [[ -z "${FCGID_INSTALL_TEST_BOUNDED:-}" ]]; then
    export FCGID_INSTALL_TEST_BOUNDED=1
    exec timeout --kill-after=10 150 bash "$0" "$@"
fi

passed=0
fail() {
    echo "not ok - $*" >&2
    exit 1
}
ok() {
    passed=$((passed + 1))
    echo "ok $passed - $*"
}

here="$(cd "$(dirname "$0")" && pwd)"
cmake_bin="${CMAKE_COMMAND:-cmake}"
command -v "$cmake_bin" >/dev/null || fail "cmake not found ('$cmake_bin')"
command -v python3 >/dev/null || fail "python3 not found: run scripts/dev.sh test, which installs it"
command -v nm >/dev/null || fail "nm not found (binutils, comes with g++): run scripts/dev.sh test"
[[ -d "${FCGID_STAGE_DIR:-}" ]] || fail "FCGID_STAGE_DIR is not a directory: '${FCGID_STAGE_DIR:-}'"
[[ -x "${FCGID_BIN:-}" ]] || fail "FCGID_BIN is not an executable: '${FCGID_BIN:-}'"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/fcgid-install.XXXXXX")"
fcgid_pid=""
cleanup() {
    local rc=$?
    trap - EXIT TERM INT
    if [[ -n "$fcgid_pid" ]]; then
        kill -KILL "$fcgid_pid" 2>/dev/null || true
        wait "$fcgid_pid" 2>/dev/null || true
    fi
    if ((rc != 0)); then
        for log in "$tmp"/*.log; do
            [[ -s "$log" ]] || continue
            echo "# ---- last lines of $(basename "$log") ----" >&2
            tail -n 30 "$log" | sed 's/^/# /' >&2
        done
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'fail "overall timeout (150 s) or interrupted"' TERM INT

# ---- Configure and build the consumer project --------------------------------

"$cmake_bin" -S "$here/out_of_tree_plugin" -B "$tmp/build" \
    -DCMAKE_PREFIX_PATH="$FCGID_STAGE_DIR" -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" 2>&1 ||
    fail "configuring out_of_tree_plugin with find_package(fcgid 0.1) against $FCGID_STAGE_DIR"
found="$(grep -- '-- fcgid ' "$tmp/configure.log" || true)"
plugin_dir="$(sed -n 's/.*plugins in \(.*\)$/\1/p' <<<"$found")"
[[ -f "$plugin_dir/hello.so" ]] ||
    fail "fcgid_PLUGIN_DIR '$plugin_dir' has no hello.so (configure said: '$found')"
ok "find_package(fcgid 0.1) in an out-of-tree project: ${found#-- }"

"$cmake_bin" --build "$tmp/build" --parallel 2 >"$tmp/build.log" 2>&1 || fail "building out_of_tree_plugin"
ok "out_of_tree.so and out_of_tree_helper.so built against the installed headers"

for plugin in out_of_tree out_of_tree_helper; do
    exported="$(nm -D --defined-only "$tmp/build/$plugin.so" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')"
    [[ "$exported" == "fcgid_plugin_entry " ]] ||
        fail "$plugin.so exports '$exported', expected only fcgid_plugin_entry"
done
ok "both plugins export only fcgid_plugin_entry"

# SameMajorVersion: a project asking for fcgid 1.0 must not accept 0.x.
mkdir -p "$tmp/wants_1_0"
cat >"$tmp/wants_1_0/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(wants_1_0 NONE)
find_package(fcgid 1.0 QUIET)
if(fcgid_FOUND)
  message(FATAL_ERROR "fcgid ${fcgid_VERSION} accepted for a 1.0 request")
endif()
EOF
"$cmake_bin" -S "$tmp/wants_1_0" -B "$tmp/wants_1_0/build" -DCMAKE_PREFIX_PATH="$FCGID_STAGE_DIR" \
    >"$tmp/wants_1_0.log" 2>&1 || fail "find_package(fcgid 1.0) found the installed 0.x package"
ok "find_package(fcgid 1.0) rejects the installed version"

# ---- Serve each plugin with the staged fcgid ---------------------------------

# Sends BEGIN_REQUEST(RESPONDER, no KEEP_CONN), PARAMS, empty STDIN; reads to
# END_REQUEST and checks status, Content-Type and body.
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
def take(n):
    global data
    while len(data) < n:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("connection closed before END_REQUEST")
        data += chunk
    out, data = data[:n], data[n:]
    return out

stdout = b""
while True:
    version, rtype, rid, length, padding, _ = struct.unpack(">BBHHBB", take(8))
    content = take(length)
    take(padding)
    if rtype == 6:
        stdout += content
    elif rtype == 3:
        app_status, protocol_status = struct.unpack(">IB3x", content)
        if (app_status, protocol_status) != (0, 0):
            sys.exit(f"END_REQUEST appStatus {app_status} protocolStatus {protocol_status}")
        break
head, _, body = stdout.partition(b"\r\n\r\n")
lines = head.split(b"\r\n")
if not lines[0].startswith(b"Status: 200"):
    sys.exit(f"status line {lines[0]!r}")
if b"Content-Type: text/plain" not in lines:
    sys.exit(f"headers {lines!r}")
if body != b"out of tree":
    sys.exit(f"body {body!r}")
EOF
}

# serve LOG LABEL fcgid-run-options...: starts fcgid on a free port with its
# log in LOG; sets fcgid_pid and port once it listens.
serve() {
    local label=$2
    log=$1
    shift 2
    "$FCGID_BIN" run "$@" --host 127.0.0.1 --port 0 >/dev/null 2>"$log" &
    fcgid_pid=$!
    port=""
    for _ in $(seq 100); do
        port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)"
        [[ -n "$port" ]] && break
        kill -0 "$fcgid_pid" 2>/dev/null || fail "fcgid exited at startup with $label"
        sleep 0.1
    done
    [[ -n "$port" ]] || fail "fcgid with $label printed no 'listening on 127.0.0.1:PORT' line in 10 s"
}

for plugin in out_of_tree out_of_tree_helper; do
    serve "$tmp/fcgid-$plugin.log" "$plugin.so" --plugin "$tmp/build/$plugin.so"
    grep -q "plugin out_of_tree 1.0.0" "$log" || fail "fcgid's startup line does not name plugin out_of_tree 1.0.0"

    reason="$(fastcgi_get "$port" 2>&1)" || fail "raw FastCGI GET to fcgid with $plugin.so: $reason"

    kill -TERM "$fcgid_pid"
    for _ in $(seq 100); do
        kill -0 "$fcgid_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$fcgid_pid" 2>/dev/null && fail "fcgid with $plugin.so still running 10 s after SIGTERM"
    rc=0
    wait "$fcgid_pid" || rc=$?
    fcgid_pid=""
    ((rc == 0)) || fail "fcgid with $plugin.so exited with $rc after SIGTERM, expected 0"
    ok "staged fcgid serves $plugin.so: 200, text/plain, 'out of tree'"
done

# ---- The SDK template, as a plugin author starts from it ---------------------

# plugins/template/, as installed with the docs: a C++ project with
# find_package(fcgid) and fcgid::sdk. Built against the stage, then served.
template_src="$FCGID_STAGE_DIR/share/doc/fcgid/examples/template"
[[ -f "$template_src/CMakeLists.txt" && -f "$template_src/app.cpp" ]] ||
    fail "no template in $template_src (packaging/CMakeLists.txt installs plugins/template/ there)"
"$cmake_bin" -S "$template_src" -B "$tmp/template" \
    -DCMAKE_PREFIX_PATH="$FCGID_STAGE_DIR" -DCMAKE_BUILD_TYPE=Release >"$tmp/template.log" 2>&1 ||
    fail "configuring the installed template against $FCGID_STAGE_DIR"
"$cmake_bin" --build "$tmp/template" --parallel 2 >>"$tmp/template.log" 2>&1 ||
    fail "building the installed template (C++ SDK) against $FCGID_STAGE_DIR"
exported="$(nm -D --defined-only "$tmp/template/app.so" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')"
[[ "$exported" == "fcgid_plugin_entry " ]] || fail "the template's app.so exports '$exported', expected only fcgid_plugin_entry"
ok "the installed template (C++ SDK) builds out of tree: app.so exports only fcgid_plugin_entry"

# fastcgi_get_uri PORT URI: one GET; prints the Status line, then the body.
fastcgi_get_uri() {
    python3 - "$1" "$2" <<'EOF'
import socket, struct, sys

def record(rtype, content=b""):
    return struct.pack(">BBHHBB", 1, rtype, 1, len(content), 0, 0) + content

def pair(name, value):
    return bytes([len(name), len(value)]) + name + value

uri = sys.argv[2].encode()
params = b"".join(pair(k, v) for k, v in [
    (b"REQUEST_METHOD", b"GET"), (b"REQUEST_URI", uri), (b"QUERY_STRING", uri.partition(b"?")[2]),
    (b"SERVER_PROTOCOL", b"HTTP/1.1")])
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
sock.sendall(record(1, struct.pack(">HB5x", 1, 0)) + record(4, params) + record(4) + record(5))
data = b""
while chunk := sock.recv(65536):
    data += chunk
stdout = b""
while len(data) >= 8:
    _, rtype, _, length, padding, _ = struct.unpack(">BBHHBB", data[:8])
    if rtype == 6:
        stdout += data[8:8 + length]
    data = data[8 + length + padding:]
head, _, body = stdout.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode())
sys.stdout.write(body.decode())
EOF
}

serve "$tmp/fcgid-template.log" "the template's app.so" --plugin "$tmp/template/app.so" --plugin-option greeting=hi
root="$(fastcgi_get_uri "$port" / 2>&1)" || true
hello="$(fastcgi_get_uri "$port" /hello/world 2>&1)" || true
[[ "$root" == "Status: 200"*$'\nhello from app' ]] || fail "the template's GET /: '$root'"
[[ "$hello" == "Status: 200"*$'\nhi, world' ]] || fail "the template's GET /hello/world: '$hello'"
kill -TERM "$fcgid_pid"
rc=0
wait "$fcgid_pid" || rc=$?
fcgid_pid=""
((rc == 0)) || fail "fcgid with the template's app.so exited with $rc after SIGTERM, expected 0"
ok "staged fcgid serves the template: GET / and GET /hello/world (greeting=hi) answered"

echo "# install_test: $passed passed, 0 failed"
