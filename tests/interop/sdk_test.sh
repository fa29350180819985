#!/usr/bin/env bash
# The C++ SDK's example plugins (plugins/todo, upload, slow) installed, behind
# a real nginx, with curl as the client, as a browser or an API client sees
# them:
#   /api/...        todo.so (--plugin-option mount=/api): the JSON API, its
#                   400s with a reason, a path parameter, 404, 405 with Allow, HEAD
#   /app/...        upload.so (mount=/app): a 5 MiB multipart upload checked
#                   byte for byte (size and FNV-1a), the visits cookie through
#                   a cookie jar, POST-redirect-GET (303), X-Accel-Redirect to
#                   an nginx internal location
#   /slow/...       slow.so (mount=/slow): 1000 concurrent requests on its
#                   worker pool and 300 deferred ones, a third of each closed
#                   by the client mid-way (python3 asyncio)
#   /tpl/...        the installed template (plugins/template), built out of
#                   tree against the installed package as a new user builds
#                   it (find_package(fcgid), fcgid::sdk): a JSON API with a
#                   path parameter, an HTML form with a file upload, and slow
#                   work on a worker pool, in one file of under 100 lines
# then fcgid still serves, exits 0 on SIGTERM, and its log has no sanitizer
# report (the suite also runs in an ASan+UBSan build).
#
# Env (from FCGID_TEST_ENV): FCGID_BIN, FCGID_PLUGIN_DIR, FCGID_STAGE_DIR.
# Optional: NGINX_BIN, CMAKE_COMMAND, CXX.
# nginx, curl and python3 are required: a missing one FAILS the test.
# NAME_port and NAME_pid are set by lib.sh helpers through printf -v.
# shellcheck disable=SC2154
set -euo pipefail
test_name=sdk_test
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
interop_bound 170 "$@"

NGINX_BIN="${NGINX_BIN:-}"
need_program NGINX_BIN nginx /usr/sbin/nginx
nginx_bin=$NGINX_BIN
need_program python3_bin python3
need_fcgid
for plugin in todo upload slow; do
    [[ -f "$FCGID_PLUGIN_DIR/$plugin.so" ]] || fail "no $plugin.so in FCGID_PLUGIN_DIR='$FCGID_PLUGIN_DIR'"
done
interop_init
nginx_prepare
echo "# $("$nginx_bin" -v 2>&1), $(curl --version | head -n 1)"

# ---- fcgid and nginx ---------------------------------------------------------

start_fcgid todo todo --plugin-option mount=/api --plugin-option seed=3 --plugin-option threads=4
start_fcgid upload upload --plugin-option mount=/app --max-body-size 32m
# 1300 requests at once: one connection each from nginx.
start_fcgid slow slow --plugin-option mount=/slow --plugin-option threads=16 --plugin-option queue=2048 \
    --max-connections 4096 --max-requests 4096

# The template, as a new user builds it from the installed docs.
cmake_bin="${CMAKE_COMMAND:-cmake}"
template_src="${FCGID_STAGE_DIR:-}/share/doc/fcgid/examples/template"
[[ -f "$template_src/app.cpp" ]] || fail "no template in '$template_src'"
"$cmake_bin" -S "$template_src" -B "$tmp/template" -DCMAKE_PREFIX_PATH="$FCGID_STAGE_DIR" \
    -DCMAKE_BUILD_TYPE=Release >"$tmp/template-build.log" 2>&1 &&
    "$cmake_bin" --build "$tmp/template" --parallel 2 >>"$tmp/template-build.log" 2>&1 ||
    fail "building the installed template: $(tail -n 5 "$tmp/template-build.log" | tr '\n' ' ')"
echo "# the template's own code: $(grep -c '' "$template_src/app.cpp") lines"
start_fcgid tpl "$tmp/template/app.so" --plugin-option mount=/tpl

mkdir -p "$tmp/files"
head -c 300000 /dev/urandom >"$tmp/files/report.bin"
chmod -R a+rX "$tmp/files"

fastcgi="include $tmp/fastcgi_params;"
nginx_worker_connections=4096
nginx_http=""
nginx_server="
        location /api/  { $fastcgi fastcgi_pass 127.0.0.1:$todo_port; }
        location /app/  { $fastcgi fastcgi_pass 127.0.0.1:$upload_port; client_max_body_size 32m; }
        location /slow/ { $fastcgi fastcgi_pass 127.0.0.1:$slow_port; }
        location /tpl/  { $fastcgi fastcgi_pass 127.0.0.1:$tpl_port; client_max_body_size 8m; }
        # Only reachable through X-Accel-Redirect from upload.so.
        location /protected/ { internal; alias $tmp/files/; }"
start_nginx
base="http://127.0.0.1:$nginx_port"
echo "# fcgid todo on $todo_port, upload on $upload_port, slow on $slow_port, nginx on $nginx_port"

# json_is FILE JSON: FILE holds the same JSON value (key order aside).
json_is() {
    "$python3_bin" -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.loads(sys.argv[2]))' "$1" "$2" \
        2>/dev/null
}
body() { head -c 300 "$tmp/body"; }

# ---- todo: a JSON API --------------------------------------------------------

request "$base/api/todos"
seeded='[{"id":1,"title":"todo 1","done":false},{"id":2,"title":"todo 2","done":false},{"id":3,"title":"todo 3","done":false}]'
if [[ "$status" == 200 && "$(header Content-Type)" == application/json* ]] && json_is "$tmp/body" "$seeded"; then
    ok "GET /api/todos: 200, application/json, the 3 seeded todos by id"
else
    not_ok "GET /api/todos: status $status, Content-Type '$(header Content-Type)', body '$(body)'"
fi

json=(-H 'Content-Type: application/json')
request "$base/api/todos" "${json[@]}" --data-binary '{"title":"write tests"}'
created='{"id":4,"title":"write tests","done":false}'
if [[ "$status" == 201 && "$(header Location)" == /api/todos/4 && "$(cat "$tmp/body")" == "$created" ]]; then
    ok "POST /api/todos {\"title\":...}: 201, Location /api/todos/4, $created"
else
    not_ok "POST /api/todos: status $status, Location '$(header Location)', body '$(body)'"
fi

# check_json_error METHOD PATH STATUS ERROR_PREFIX [curl args]: a JSON {"error": ...}.
check_json_error() {
    local method=$1 path=$2 want=$3 prefix=$4 error
    shift 4
    request "$base$path" -X "$method" "$@"
    error="$("$python3_bin" -c 'import json, sys; print(json.load(open(sys.argv[1]))["error"])' "$tmp/body" 2>/dev/null ||
        true)"
    if [[ "$status" == "$want" && "$(header Content-Type)" == application/json* && "$error" == "$prefix"* ]]; then
        ok "$method $path: $status {\"error\":\"$(head -c 80 <<<"$error")\"}"
    else
        not_ok "$method $path: status $status (expected $want), body '$(body)', expected an error starting '$prefix'"
    fi
}
check_json_error POST /api/todos 400 "malformed JSON body: " "${json[@]}" --data-binary '{"title":'
check_json_error POST /api/todos 400 'missing "title"' "${json[@]}" --data-binary '{"done":true}'
check_json_error POST /api/todos 400 '"title" must be a string' "${json[@]}" --data-binary '{"title":5}'
check_json_error GET /api/todos/99 404 "no todo 99"
check_json_error GET /api/todos/abc 404 "no todo abc"
check_json_error PUT /api/todos/99 404 "no todo 99" "${json[@]}" --data-binary '{"done":true}'
check_json_error PUT /api/todos/4 400 '"done" must be true or false' "${json[@]}" --data-binary '{"done":"yes"}'

request "$base/api/todos/4"
if [[ "$status" == 200 && "$(cat "$tmp/body")" == "$created" ]]; then
    ok "GET /api/todos/4 (path parameter): 200, $created"
else
    not_ok "GET /api/todos/4: status $status, body '$(body)'"
fi
request "$base/api/todos/4" -X PUT "${json[@]}" --data-binary '{"done":true}'
if [[ "$status" == 200 && "$(cat "$tmp/body")" == '{"id":4,"title":"write tests","done":true}' ]]; then
    ok "PUT /api/todos/4 {\"done\":true}: 200, the changed todo"
else
    not_ok "PUT /api/todos/4: status $status, body '$(body)'"
fi
request "$base/api/todos/4" -X DELETE
if [[ "$status" == 204 && ! -s "$tmp/body" ]]; then
    ok "DELETE /api/todos/4: 204, no body"
else
    not_ok "DELETE /api/todos/4: status $status, body '$(body)'"
fi
check_json_error DELETE /api/todos/4 404 "no todo 4"
request "$base/api/todos"
if [[ "$status" == 200 ]] && json_is "$tmp/body" "$seeded"; then
    ok "GET /api/todos after the DELETE: the 3 seeded todos again"
else
    not_ok "GET /api/todos after the DELETE: status $status, body '$(body)'"
fi

request "$base/api/todos" -X PATCH
if [[ "$status" == 405 && "$(header Allow)" == "GET, HEAD, POST" ]]; then
    ok "PATCH /api/todos: 405, Allow: GET, HEAD, POST"
else
    not_ok "PATCH /api/todos: status $status, Allow '$(header Allow)'"
fi
request "$base/api/nothing/here"
if [[ "$status" == 404 ]]; then
    ok "GET /api/nothing/here: 404"
else
    not_ok "GET /api/nothing/here: status $status"
fi

# HEAD, read as a raw response: headers, then nothing before the close.
"$python3_bin" - "$nginx_port" >"$tmp/head.out" 2>&1 <<'EOF' || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"HEAD /api/todos/1 HTTP/1.0\r\nHost: localhost\r\n\r\n")
data = b""
while chunk := s.recv(65536):
    data += chunk
head, sep, rest = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode(), "|", b"content-type: application/json" in head.lower(), "|", len(rest))
EOF
if [[ "$(cat "$tmp/head.out")" == "HTTP/1.1 200 OK | True | 0" ]]; then
    ok "HEAD /api/todos/1: 200, Content-Type application/json, no body"
else
    not_ok "HEAD /api/todos/1: '$(cat "$tmp/head.out")', expected 200, the JSON content type and 0 body bytes"
fi

# ---- upload: multipart, cookies, redirect, X-Accel-Redirect ------------------

# fnv1a64 FILE: the FNV-1a 64 checksum, as upload.so computes it.
fnv1a64() {
    "$python3_bin" -c '
import sys
h = 0xcbf29ce484222325
for b in open(sys.argv[1], "rb").read():
    h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
print(f"{h:016x}")' "$1"
}

head -c 5242880 /dev/urandom >"$tmp/upload.bin"
printf '%s' "a note" >"$tmp/note.txt"
expected="name=note content_type=text/plain size=6 fnv1a64=$(fnv1a64 "$tmp/note.txt")
name=file filename=upload.bin content_type=application/octet-stream size=5242880 fnv1a64=$(fnv1a64 "$tmp/upload.bin")"
request "$base/app/upload" -F "note=a note" -F "file=@$tmp/upload.bin;type=application/octet-stream"
if [[ "$status" == 200 && "$(cat "$tmp/body")" == "$expected" ]]; then
    ok "curl -F file=@<5 MiB random> to /app/upload: both parts, size and FNV-1a of every byte right"
else
    not_ok "multipart upload to /app/upload: status $status, body '$(body)', expected '$expected'"
fi
request "$base/app/upload" --data-binary 'not multipart' -H 'Content-Type: text/plain'
if [[ "$status" == 400 && "$(cat "$tmp/body")" == *"expected a multipart/form-data body"* ]]; then
    ok "POST text/plain to /app/upload: 400, '$(head -n 1 "$tmp/body")'"
else
    not_ok "POST text/plain to /app/upload: status $status, body '$(body)'"
fi

# The visits cookie through a cookie jar: 1, then 2.
request "$base/app/" -c "$tmp/jar" -b "$tmp/jar"
first="$(header Set-Cookie)"
request "$base/app/" -c "$tmp/jar" -b "$tmp/jar"
second="$(header Set-Cookie)"
if [[ "$first" == "visits=1; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax" &&
    "$second" == visits=2\;* && "$(cat "$tmp/body")" == *"Visit number 2."* ]] &&
    grep -qP '\tvisits\t2$' "$tmp/jar"; then
    ok "cookie jar round trip: Set-Cookie '$first', then visits=2 (jar and page)"
else
    not_ok "cookie jar: first Set-Cookie '$first', second '$second', jar: $(grep visits "$tmp/jar" | tr '\t' ' ')"
fi

# POST-redirect-GET.
request "$base/app/message" --data-urlencode 'text=<b>hi & bye</b>'
location="$(header Location)"
request "$base/app/message" -L --data-urlencode 'text=second message'
if [[ "$location" == ./ && "$status" == 200 && "$(cat "$tmp/body")" == *"<li>&lt;b&gt;hi &amp; bye&lt;/b&gt;</li>"* &&
    "$(cat "$tmp/body")" == *"<li>second message</li>"* ]]; then
    ok "urlencoded POST /app/message: 303 to ./, followed (curl -L) by GET /app/ showing both messages, escaped"
else
    not_ok "POST /app/message: Location '$location', after -L status $status, body '$(body)'"
fi
request "$base/app/message" --data-urlencode 'text='
[[ "$status" == 400 ]] && ok "POST /app/message with an empty text: 400" ||
    not_ok "POST /app/message with an empty text: status $status"

# X-Accel-Redirect: nginx sends the file from its internal location.
request "$base/app/files/report.bin"
if [[ "$status" == 200 ]] && cmp -s "$tmp/body" "$tmp/files/report.bin" && [[ -z "$(header X-Accel-Redirect)" ]]; then
    ok "GET /app/files/report.bin: X-Accel-Redirect, nginx sends the file's 300000 bytes"
else
    not_ok "GET /app/files/report.bin: status $status, $(stat -c %s "$tmp/body") bytes, headers $(headers_oneline)"
fi
request "$base/protected/report.bin"
request_direct=$status
request "$base/app/files/..hidden"
if [[ "$request_direct" == 404 && "$status" == 404 ]]; then
    ok "/protected/ is internal (404 from outside), /app/files/..hidden refused (404)"
else
    not_ok "GET /protected/report.bin: $request_direct, /app/files/..hidden: $status (expected 404, 404)"
fi

# ---- slow: many requests at once, a third of them abandoned ------------------

# many_requests.py PORT PATH COUNT MS ABORT_AFTER: COUNT requests at once to
# PATH?ms=MS&id=I, raw HTTP/1.0; every third one closes its connection
# ABORT_AFTER s after sending (plus a little per request). Prints
# "answered=N aborted=N bad=N seconds=S" and the first bad answers.
cat >"$tmp/many_requests.py" <<'EOF'
import asyncio, sys, time

port, path, count, ms, abort_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])

async def one(i):
    reader, writer = await asyncio.open_connection("127.0.0.1", int(port))
    writer.write(f"GET {path}?ms={ms}&id={i} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    if i % 3 == 0:
        await asyncio.sleep(abort_after + (i % 10) * 0.02)
        writer.close()
        return "aborted", None
    data = await asyncio.wait_for(reader.read(), 60)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    want = f"slept {ms} ms (id {i})\n".encode()
    if head.startswith(b"HTTP/1.1 200 ") and body == want:
        return "answered", None
    return "bad", f"request {i}: {head[:60]!r} ... {body[:80]!r}"

async def main():
    started = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    kinds = {"answered": 0, "aborted": 0, "bad": 0}
    problems = []
    for r in results:
        if isinstance(r, BaseException):
            kinds["bad"] += 1
            problems.append(repr(r))
        else:
            kinds[r[0]] += 1
            if r[1]:
                problems.append(r[1])
    print(f"answered={kinds['answered']} aborted={kinds['aborted']} bad={kinds['bad']} "
          f"seconds={time.monotonic() - started:.1f}")
    for p in problems[:5]:
        print("  " + p)

asyncio.run(main())
EOF

# stat_of NAME: a counter from /slow/stats.
stat_of() {
    curl -sS --max-time 10 "$base/slow/stats" | sed -n "s/^$1 //p"
}

# 1000 on the pool (16 threads, 20 ms each: about 1.3 s of work); the
# aborted third leaves after 0.2-0.4 s, some queued, some sleeping.
out="$("$python3_bin" "$tmp/many_requests.py" "$nginx_port" /slow/work 1000 20 0.2 2>&1)" || true
echo "# /slow/work: $(head -n 1 <<<"$out")"
if [[ "$(head -n 1 <<<"$out")" == "answered=666 aborted=334 bad=0 "* ]]; then
    ok "1000 concurrent requests on the pool (/slow/work), 334 closed mid-way: the other 666 answered right"
else
    not_ok "1000 concurrent requests on /slow/work: $(tr '\n' ' ' <<<"$out")"
fi
answered="$(stat_of work_answered)"
if [[ -n "$answered" ]] && ((answered >= 666)); then
    ok "/slow/stats after the pool run: work_answered $answered, work_abandoned $(stat_of work_abandoned)"
else
    not_ok "/slow/stats after the pool run: work_answered '$answered', expected at least 666"
fi

# 300 deferred responses finished 1.5 s later from the timer thread; the
# aborted 100 leave after 0.3-0.5 s, and their abort callback drops them.
out="$("$python3_bin" "$tmp/many_requests.py" "$nginx_port" /slow/later 300 1500 0.3 2>&1)" || true
echo "# /slow/later: $(head -n 1 <<<"$out")"
if [[ "$(head -n 1 <<<"$out")" == "answered=200 aborted=100 bad=0 "* ]]; then
    ok "300 concurrent deferred responses (/slow/later), 100 closed mid-way: the other 200 answered right"
else
    not_ok "300 concurrent requests on /slow/later: $(tr '\n' ' ' <<<"$out")"
fi
for _ in $(seq 30); do
    [[ "$(stat_of later_aborted)" == 100 ]] && break
    sleep 0.1
done
if [[ "$(stat_of later_aborted)" == 100 ]]; then
    ok "the abort callback ran for each of the 100 requests closed mid-way (later_aborted 100)"
else
    not_ok "later_aborted is '$(stat_of later_aborted)', expected 100"
fi

request "$base/slow/work?ms=1&id=after"
if alive "$slow_pid" && [[ "$status" == 200 && "$(cat "$tmp/body")" == "slept 1 ms (id after)" ]]; then
    ok "fcgid (slow) alive and serving after the concurrent runs"
else
    not_ok "after the concurrent runs: fcgid (slow) $(alive "$slow_pid" && echo "answers $status '$(body)'" || echo "is gone")"
fi
request "$base/slow/work?ms=99999"
[[ "$status" == 400 ]] && ok "GET /slow/work?ms=99999: 400" || not_ok "GET /slow/work?ms=99999: status $status"

# ---- The template: the whole app in one file ----------------------------------

request "$base/tpl/api/notes" "${json[@]}" --data-binary '{"text":"buy milk"}'
if [[ "$status" == 201 && "$(header Location)" == /api/notes/1 ]] && json_is "$tmp/body" '{"id":1,"text":"buy milk"}'; then
    request "$base/tpl/api/notes/1"
    if [[ "$status" == 200 ]] && json_is "$tmp/body" '{"id":1,"text":"buy milk"}'; then
        ok "template: POST /api/notes then GET /api/notes/1 (a path parameter): the note as JSON"
    else
        not_ok "template: GET /api/notes/1: status $status, body '$(body)'"
    fi
else
    not_ok "template: POST /api/notes: status $status, Location '$(header Location)', body '$(body)'"
fi
request "$base/tpl/api/notes" "${json[@]}" --data-binary '{"text":'
[[ "$status" == 400 && "$(cat "$tmp/body")" == "malformed JSON body: "* ]] &&
    ok "template: bad JSON is a 400 with the parser's reason" ||
    not_ok "template: bad JSON: status $status, body '$(body)'"
request "$base/tpl/form"
[[ "$status" == 200 && "$(header Content-Type)" == text/html* && "$(cat "$tmp/body")" == *'type="file"'* ]] &&
    ok "template: GET /form is the HTML form" || not_ok "template: GET /form: status $status, body '$(body)'"
head -c 1048576 /dev/urandom >"$tmp/upload-1m.bin"
request "$base/tpl/form" -F "title=holiday photos" -F "file=@$tmp/upload-1m.bin;filename=beach.jpg"
[[ "$status" == 200 && "$(cat "$tmp/body")" == $'title: holiday photos\nfile: beach.jpg, 1048576 bytes' ]] &&
    ok "template: a multipart upload from curl -F: the title, the file's name and its 1048576 bytes" ||
    not_ok "template: POST /form: status $status, body '$(body)'"
request "$base/tpl/report?ms=50"
[[ "$status" == 200 && "$(cat "$tmp/body")" == "report ready after 50 ms" ]] &&
    ok "template: GET /report runs on the worker pool and answers" ||
    not_ok "template: GET /report: status $status, body '$(body)'"

# ---- Shutdown ----------------------------------------------------------------

stop_fcgid todo
stop_fcgid upload
stop_fcgid slow "after 1300 concurrent requests"
stop_fcgid tpl
reports="$(grep -lE "AddressSanitizer|LeakSanitizer|runtime error:" "$tmp"/todo.log "$tmp"/upload.log "$tmp"/slow.log \
    "$tmp"/tpl.log || true)"
if [[ -z "$reports" ]]; then
    ok "no sanitizer report in the fcgid logs"
else
    not_ok "sanitizer reports in: $reports"
fi
