#!/usr/bin/env python3
"""The checked half of the soak (soak.sh): requests whose answers are
verified byte for byte, and the requests that are meant to be cut short.

fcgi-bench and wrk (started by soak.sh next to this) make the volume; this
client makes the shapes a leak hides in: large request and response bodies,
deferred responses multiplexed on one connection, and clients that go away
(a closed socket, FCGI_ABORT_REQUEST, an HTTP client leaving nginx). One
thread per scenario, each looping until the deadline.

Every outcome is counted by kind: "ok" kinds are what was meant to happen,
anything else (a wrong body, a reset, a timeout, an unexpected status) is an
error kind. Printed at the end as `SOAK_CLIENT kind=... count=N` lines and a
`SOAK_CLIENT_ERRORS N` line; exit status 1 when N > 0.

It speaks FastCGI from the specification itself, sharing no code with
fcgid, as tests/integration/fcgi_client.* does: python3 only, no packages.
"""

import argparse
import collections
import http.client
import os
import random
import socket
import struct
import sys
import threading
import time

FCGI_BEGIN_REQUEST = 1
FCGI_ABORT_REQUEST = 2
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_STDERR = 7
FCGI_GET_VALUES = 9
FCGI_GET_VALUES_RESULT = 10
FCGI_RESPONDER = 1
FCGI_KEEP_CONN = 1
MAX_CONTENT = 65535
IO_TIMEOUT_S = 15  # any single wait on fcgid or nginx; a hang is an error kind

# byte i of echo's bytes=N answer is 'a' + i % 26 (plugins/echo/echo_response.cpp)
PATTERN_MAX = 5_000_000
PATTERN = (b"abcdefghijklmnopqrstuvwxyz" * (PATTERN_MAX // 26 + 1))[:PATTERN_MAX]


class Failure(Exception):
    """An answer that is not what was asked for; its text is the error kind."""


# ---- FastCGI wire -------------------------------------------------------------


def record(rtype, rid, content=b""):
    out = bytearray()
    for start in range(0, max(len(content), 1), MAX_CONTENT):
        chunk = content[start:start + MAX_CONTENT]
        pad = -len(chunk) % 8
        out += struct.pack("!BBHHBx", 1, rtype, rid, len(chunk), pad) + chunk + b"\0" * pad
    return bytes(out)


def name_value(name, value):
    def length(n):
        return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)

    n, v = name.encode(), value.encode()
    return length(len(n)) + length(len(v)) + n + v


def encode_request(rid, method, query, body=b"", keep_conn=True):
    params = {
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "REQUEST_URI": "/soak" + ("?" + query if query else ""),
        "SCRIPT_NAME": "/soak",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/octet-stream",
        "REMOTE_ADDR": "127.0.0.1",
    }
    encoded = b"".join(name_value(k, v) for k, v in params.items())
    flags = FCGI_KEEP_CONN if keep_conn else 0
    out = record(FCGI_BEGIN_REQUEST, rid, struct.pack("!HB5x", FCGI_RESPONDER, flags))
    out += record(FCGI_PARAMS, rid, encoded) + record(FCGI_PARAMS, rid)
    if body:
        out += record(FCGI_STDIN, rid, body)
    return out + record(FCGI_STDIN, rid)


class Connection:
    """One FastCGI connection: send requests, collect answers by request id."""

    def __init__(self, address):
        self.sock_ = connect(address)
        self.buffer_ = bytearray()
        self.stdout_ = collections.defaultdict(bytearray)
        self.done_ = {}  # answers read while waiting for another id

    def close(self):
        self.sock_.close()

    def send(self, data):
        self.sock_.sendall(data)

    def read_record(self):
        while True:
            if len(self.buffer_) >= 8:
                _, rtype, rid, length, pad = struct.unpack("!BBHHB", self.buffer_[:7])
                total = 8 + length + pad
                if len(self.buffer_) >= total:
                    content = bytes(self.buffer_[8:8 + length])
                    del self.buffer_[:total]
                    return rtype, rid, content
            chunk = self.sock_.recv(262144)
            if not chunk:
                raise Failure("connection closed by fcgid with requests in flight")
            self.buffer_ += chunk

    def wait_end(self, rid):
        """The STDOUT bytes of request rid, once its END_REQUEST came; answers
        for other ids read meanwhile are kept for their own wait_end."""
        while True:
            rtype, got, content = self.read_record()
            if rtype == FCGI_STDOUT:
                self.stdout_[got] += content
            elif rtype == FCGI_END_REQUEST:
                if len(content) != 8 or content[4] != 0:
                    raise Failure("END_REQUEST with protocol status %s" % (content[4:5].hex() or "?"))
                if got == rid:
                    return bytes(self.stdout_.pop(rid, b""))
                self.done_[got] = bytes(self.stdout_.pop(got, b""))
            elif rtype != FCGI_STDERR:
                raise Failure("record of type %d" % rtype)

    def get_values(self):
        """FCGI_GET_VALUES round trip: once answered, the server has accepted
        this connection and serves it (even while it drains)."""
        self.send(record(FCGI_GET_VALUES, 0, name_value("FCGI_MPXS_CONNS", "")))
        rtype, _, content = self.read_record()
        if rtype != FCGI_GET_VALUES_RESULT:
            raise Failure("record of type %d instead of GET_VALUES_RESULT" % rtype)
        return content

    def answer(self, rid):
        if rid in self.done_:
            return self.done_.pop(rid)
        return self.wait_end(rid)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(address):
    """HOST:PORT, or unix:PATH."""
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(IO_TIMEOUT_S)
        sock.connect(address[len("unix:"):])
        return sock
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=IO_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def split_cgi(stdout):
    head, sep, body = stdout.partition(b"\r\n\r\n")
    if not sep:
        raise Failure("answer without a complete CGI header block")
    status = 200
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"status:"):
            status = int(line.split()[1])
    return status, body


def expect(status, body, want_body):
    if status != 200:
        raise Failure("status %d" % status)
    if body != want_body:
        raise Failure("body differs (%d bytes, %d expected)" % (len(body), len(want_body)))


# ---- Scenarios: each returns the "ok" kind of what it did, or raises ----------


def direct_big_post(args, rng, state):
    """Large request bodies echoed back on a kept connection."""
    size = rng.choice([0, 1024, 65536, 65535 * 3 + 1, 1 << 20, 3 << 20])
    body = os.urandom(size)
    conn = state.get("conn")
    if conn is None:
        conn = state["conn"] = Connection(args.fcgi)
    try:
        conn.send(encode_request(1, "POST", "", body))
        expect(*split_cgi(conn.answer(1)), body)
    except BaseException:
        state.pop("conn").close()
        raise
    return "direct POST %s echoed" % ("large (>=1 MiB)" if size >= 1 << 20 else "small")


def direct_big_response(args, rng, state):
    """Large generated answers (echo bytes=N), a new connection each time."""
    size = rng.choice([100_000, 1_000_000, PATTERN_MAX])
    with Connection(args.fcgi) as conn:
        conn.send(encode_request(1, "GET", "bytes=%d" % size, keep_conn=False))
        expect(*split_cgi(conn.answer(1)), PATTERN[:size])
    return "direct GET bytes=N (up to 5 MB), new connection"


def direct_multiplexed_deferred(args, rng, state):
    """16 requests in flight on one kept connection: deferred ones (answered
    later from echo's timer thread) interleaved with immediate POSTs."""
    conn = state.get("conn")
    if conn is None:
        conn = state["conn"] = Connection(args.fcgi)
    try:
        want = {}
        batch = bytearray()
        for rid in range(1, 17):
            if rid % 2:
                size = rng.randrange(1, 5000)
                batch += encode_request(rid, "GET", "delay_ms=%d&bytes=%d" % (rng.randrange(0, 60), size))
                want[rid] = PATTERN[:size]
            else:
                body = os.urandom(rng.randrange(1, 20000))
                batch += encode_request(rid, "POST", "", body)
                want[rid] = body
        conn.send(bytes(batch))
        for rid in rng.sample(sorted(want), len(want)):
            expect(*split_cgi(conn.answer(rid)), want[rid])
    except BaseException:
        state.pop("conn").close()
        raise
    return "direct 16 multiplexed (8 deferred) on one connection"


def direct_abort(args, rng, state):
    """Clients that go away: fcgid must drop the request, run echo's abort
    callback and keep serving (the other scenarios check that it does)."""
    how = rng.randrange(3)
    if how == 0:
        # A deferred request, then the socket closed before the answer.
        sock = connect(args.fcgi)
        sock.sendall(encode_request(1, "GET", "delay_ms=200&bytes=10"))
        time.sleep(0.02)
        sock.close()
        return "direct abort: closed before a deferred answer"
    if how == 1:
        # A 5 MB answer, closed after its first bytes (echo is streaming it).
        sock = connect(args.fcgi)
        sock.sendall(encode_request(1, "GET", "bytes=%d" % PATTERN_MAX))
        if not sock.recv(65536):
            raise Failure("closed before any byte of bytes=5000000")
        sock.close()
        return "direct abort: closed while a 5 MB answer streamed"
    # FCGI_ABORT_REQUEST for a deferred request: its END_REQUEST comes
    # without the answer (which was due 5 s later: no timing is judged, a
    # busy machine may hold this thread that long), and the connection goes
    # on serving.
    with Connection(args.fcgi) as conn:
        conn.send(encode_request(1, "GET", "delay_ms=5000&bytes=10") + record(FCGI_ABORT_REQUEST, 1))
        if conn.answer(1):
            raise Failure("the deferred answer came instead of the abort's END_REQUEST")
        body = os.urandom(3000)
        conn.send(encode_request(2, "POST", "", body))
        expect(*split_cgi(conn.answer(2)), body)
    return "direct abort: FCGI_ABORT_REQUEST, then the connection reused"


def http_request(args, path, method="GET", body=None):
    conn = http.client.HTTPConnection(*args.http.rsplit(":", 1), timeout=IO_TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/octet-stream"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def nginx_mix(args, rng, state):
    """Through nginx, both upstreams (kept-alive and a connection per request):
    large POSTs echoed, deferred answers, large generated answers."""
    prefix = rng.choice(["/ka/", "/nka/"])
    what = rng.randrange(3)
    if what == 0:
        size = rng.choice([1, 65536, 1 << 20, 3 << 20])
        body = os.urandom(size)
        expect(*http_request(args, prefix + "echo", "POST", body), body)
        return "nginx POST echoed"
    if what == 1:
        size = rng.randrange(1, 10000)
        expect(*http_request(args, prefix + "echo?delay_ms=%d&bytes=%d" % (rng.randrange(1, 100), size)),
               PATTERN[:size])
        return "nginx deferred answer"
    size = rng.choice([100_000, PATTERN_MAX])
    expect(*http_request(args, prefix + "echo?bytes=%d" % size), PATTERN[:size])
    return "nginx GET bytes=N (up to 5 MB)"


def nginx_abort(args, rng, state):
    """A browser leaving: nginx closes its FastCGI connection (or, on the
    kept-alive upstream, sends nothing more and drops it) before END_REQUEST."""
    prefix = rng.choice(["/ka/", "/nka/"])
    sock = connect(args.http)
    if rng.randrange(2):
        sock.sendall(b"GET %secho?delay_ms=300&bytes=10 HTTP/1.1\r\nHost: soak\r\n\r\n" % prefix.encode())
        time.sleep(0.03)
        sock.close()
        return "nginx abort: client gone before a deferred answer"
    sock.sendall(b"GET %secho?bytes=%d HTTP/1.1\r\nHost: soak\r\n\r\n" % (prefix.encode(), PATTERN_MAX))
    if not sock.recv(65536):
        raise Failure("nginx closed before any byte of bytes=5000000")
    sock.close()
    return "nginx abort: client gone while a 5 MB answer streamed"


SCENARIOS = [direct_big_post, direct_big_response, direct_multiplexed_deferred, direct_abort,
             nginx_mix, nginx_abort]


def run_scenario(fn, args, deadline, counts, lock, seed):
    rng = random.Random(seed)
    state = {}
    while time.monotonic() < deadline:
        try:
            kind = "ok: " + fn(args, rng, state)
        except Failure as e:
            kind = "ERROR %s: %s" % (fn.__name__, e)
        except (OSError, http.client.HTTPException, ValueError) as e:
            kind = "ERROR %s: %s" % (fn.__name__, type(e).__name__)
        with lock:
            counts[kind] += 1
    if "conn" in state:
        state["conn"].close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fcgi", required=True, help="fcgid's HOST:PORT")
    parser.add_argument("--http", required=True, help="nginx's HOST:PORT (/ka/ and /nka/ lead to fcgid's echo)")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    counts = collections.Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + args.duration
    threads = [threading.Thread(target=run_scenario, args=(fn, args, deadline, counts, lock, args.seed + i))
               for i, fn in enumerate(SCENARIOS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    errors = 0
    for kind, n in sorted(counts.items()):
        print("SOAK_CLIENT kind=%s count=%d" % (kind, n))
        if kind.startswith("ERROR"):
            errors += n
    print("SOAK_CLIENT_ERRORS %d" % errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
