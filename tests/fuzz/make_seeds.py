#!/usr/bin/env python3
"""Writes the seed corpora under corpus/<target>/, built from the FastCGI 1.0
specification rather than from core/, so a codec bug cannot shape its own seeds.
Run from anywhere; it rewrites the seed files and removes nothing else."""
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN = 1, 2, 3, 4, 5
STDOUT, STDERR, DATA, GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 6, 7, 8, 9, 10, 11


def record(rtype, request_id, content=b"", padding=0, version=1):
    header = struct.pack(">BBHHBx", version, rtype, request_id, len(content), padding)
    return header + content + b"\0" * padding


def length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def pair(name, value, long_lengths=False):
    enc = (lambda n: struct.pack(">I", n | 0x80000000)) if long_lengths else length
    return enc(len(name)) + enc(len(value)) + name + value


def begin(request_id=1, role=1, flags=1):
    return record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", role, flags))


SHORT_PARAMS = pair(b"SCRIPT_NAME", b"/hello") + pair(b"REQUEST_METHOD", b"GET") + pair(b"QS", b"")
LONG_PARAMS = pair(b"HTTP_COOKIE", b"c" * 130) + pair(b"X", b"y", long_lengths=True)
GET_VALUES_BODY = pair(b"FCGI_MAX_CONNS", b"") + pair(b"FCGI_MAX_REQS", b"") + pair(b"FCGI_MPXS_CONNS", b"")
REQUEST = (begin() + record(PARAMS, 1, SHORT_PARAMS) + record(PARAMS, 1)
           + record(STDIN, 1, b"body", padding=4) + record(STDIN, 1))

SEEDS = {
    "fuzz_record_decoder": {
        "begin_request": begin(),
        "begin_request_short_body": record(BEGIN_REQUEST, 1, b"\0\1\0"),
        "params_short_lengths": record(PARAMS, 1, SHORT_PARAMS),
        "params_long_lengths": record(PARAMS, 1, LONG_PARAMS, padding=3),
        "stdin_padded": record(STDIN, 1, b"name=value", padding=6),
        "data_stream_end": record(DATA, 1),
        "abort_request": record(ABORT_REQUEST, 1),
        "get_values": record(GET_VALUES, 0, GET_VALUES_BODY),
        "unknown_type": record(42, 0, b"\0" * 8),
        "responses": (record(STDOUT, 1, b"Status: 200\r\n\r\nhi") + record(STDERR, 1, b"warn")
                      + record(END_REQUEST, 1, b"\0" * 8) + record(GET_VALUES_RESULT, 0, b"\x0e\x01FCGI_MAX_CONNS1")
                      + record(UNKNOWN_TYPE, 0, b"\x2a" + b"\0" * 7)),
        "whole_request": REQUEST,
        "truncated_record": REQUEST[:-13],
        "wrong_version": record(STDIN, 1, b"x", version=2),
        "wrong_version_after_record": begin() + record(PARAMS, 1, version=0),
    },
    "fuzz_name_value": {
        "short_lengths": SHORT_PARAMS,
        "long_lengths": LONG_PARAMS,
        "get_values": GET_VALUES_BODY,
        "empty_pair": pair(b"", b""),
        "truncated_value": pair(b"NAME", b"value")[:-2],
        "truncated_long_length": b"\x80\x00",
        "huge_length": b"\xff\xff\xff\xff\x01" + b"x" * 4,
    },
}

if __name__ == "__main__":
    for target, seeds in SEEDS.items():
        directory = HERE / "corpus" / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, content in seeds.items():
            (directory / name).write_bytes(content)
