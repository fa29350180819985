#!/usr/bin/env python3
"""Opens N kept-alive FastCGI connections and leaves them idle.

    idle_conns.py HOST:PORT N

Each connection sends one GET / with FCGI_KEEP_CONN and reads its answer to
the END_REQUEST, as a web server's keepalive pool does before it goes quiet;
then all of them stay open, idle, until stdin closes (or SIGTERM). Prints
"ready N" once every answer is in, "failed: ..." and exits 1 otherwise.
For bench/run.sh's idle-connections row (measure_idle); the caller raises
`ulimit -n`.
"""
import socket
import struct
import sys


def record(rtype, content, request_id=1):
    padding = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, rtype, request_id, len(content), padding, 0) + content + b"\0" * padding


def name_value(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)

    return length(len(name)) + length(len(value)) + name + value


PARAMS = {
    b"REQUEST_METHOD": b"GET",
    b"REQUEST_URI": b"/",
    b"SCRIPT_NAME": b"/",
    b"QUERY_STRING": b"",
    b"SERVER_PROTOCOL": b"HTTP/1.1",
    b"GATEWAY_INTERFACE": b"CGI/1.1",
    b"REMOTE_ADDR": b"127.0.0.1",
}
REQUEST = (
    record(1, struct.pack(">HB5x", 1, 1))  # responder, FCGI_KEEP_CONN
    + record(4, b"".join(name_value(k, v) for k, v in PARAMS.items()))
    + record(4, b"")
    + record(5, b"")
)


def read_answer(conn):
    """Reads records until END_REQUEST."""
    data = b""
    while True:
        while len(data) >= 8:
            _, rtype, _, length, padding, _ = struct.unpack(">BBHHBB", data[:8])
            if len(data) < 8 + length + padding:
                break
            data = data[8 + length + padding :]
            if rtype == 3:
                return
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("closed before END_REQUEST")
        data += chunk


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    count = int(sys.argv[2])
    conns = []
    try:
        for _ in range(count):
            conn = socket.create_connection((host, int(port)), timeout=10)
            conn.sendall(REQUEST)
            read_answer(conn)
            conns.append(conn)
    except OSError as e:
        print(f"failed: {len(conns)} of {count} connections opened: {e}", flush=True)
        sys.exit(1)
    print(f"ready {len(conns)}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
