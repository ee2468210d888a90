#!/usr/bin/env python3
"""A static HTTP/1.1 file server with Range support on 127.0.0.1, for
BitTorrent web seed tests (BEP 19: a client asks for byte ranges of
<url><name>[/<path>]). Python's http.server has no Range support.

    rangeserver.py --root DIR --port-file FILE [--log FILE] [--flip]
                   [--rate BYTES_PER_S] [--parent PID] [--lifetime SECS]

It serves the files under --root (GET and HEAD; a path that leaves the root
or names a folder is 404), listens on a port the kernel picks and writes it
to --port-file (atomically). Answers: 200 with the whole file, or 206 with
one "Range: bytes=A-B" / "bytes=A-" / "bytes=-N" range (416 when it lies
past the end; several ranges are answered with the whole file, as the RFC
allows). Keep-alive is honoured.

  --flip    a lying web seed: every byte it sends is inverted (x ^ 0xff),
            with the right lengths and headers
  --rate    send at most this many bytes per second per connection
  --log     one JSON line per request: {"method", "path", "range", "status",
            "bytes"}

It exits when --parent PID is gone or after --lifetime seconds (default
600), so a killed test never leaves it behind.
"""

import argparse
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

from serverutil import start_watchdog, write_port_file

LOG_LOCK = threading.Lock()


def log(args, rec):
    if not args.log:
        return
    with LOG_LOCK, open(args.log, "a") as f:
        f.write(json.dumps(rec) + "\n")


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
        if len(buf) > 65536:
            return None, b""
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest


def resolve(root, target):
    path = urllib.parse.unquote(urllib.parse.urlsplit(target).path)
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return None
    full = os.path.join(root, *parts) if parts else root
    real = os.path.realpath(full)
    if not (real == root or real.startswith(root + os.sep)) or not os.path.isfile(real):
        return None
    return real


def parse_range(value, size):
    """(start, end_inclusive), None (whole file) or "bad" (416)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value or "")
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    a, b = m.group(1), m.group(2)
    if a == "":
        n = int(b)
        if n == 0:
            return "bad"
        return (max(0, size - n), size - 1)
    start = int(a)
    end = int(b) if b else size - 1
    if start >= size or end < start:
        return "bad"
    return (start, min(end, size - 1))


def send_body(conn, args, path, start, length):
    flip = bytes(range(255, -1, -1)) if args.flip else None
    sent = 0
    t0 = time.monotonic()
    with open(path, "rb") as f:
        f.seek(start)
        while sent < length:
            chunk = f.read(min(65536, length - sent, args.rate or 65536))
            if not chunk:
                break
            if flip:
                chunk = chunk.translate(flip)
            conn.sendall(chunk)
            sent += len(chunk)
            if args.rate:
                ahead = sent / args.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
    return sent


def serve(conn, args):
    buf = b""
    try:
        while True:
            head, buf = read_head(conn, buf)
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                return
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            rec = {"method": method, "path": target, "range": headers.get("range"), "status": 0, "bytes": 0}
            path = resolve(args.root, target) if method in ("GET", "HEAD") else None
            if path is None:
                status = 405 if method not in ("GET", "HEAD") else 404
                body = b"not found\n" if status == 404 else b"method not allowed\n"
                conn.sendall(("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n"
                              % (status, "Not Found" if status == 404 else "Method Not Allowed", len(body),
                                 "" if keep else "Connection: close\r\n")).encode() + body)
                rec["status"] = status
                log(args, rec)
                if not keep:
                    return
                continue
            size = os.path.getsize(path)
            r = parse_range(headers.get("range"), size)
            if r == "bad":
                conn.sendall(("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */%d\r\n"
                              "Content-Length: 0\r\n\r\n" % size).encode())
                rec["status"] = 416
                log(args, rec)
                continue
            if r is None:
                start, length, status = 0, size, 200
                extra = ""
            else:
                start, length, status = r[0], r[1] - r[0] + 1, 206
                extra = "Content-Range: bytes %d-%d/%d\r\n" % (r[0], r[1], size)
            conn.sendall(("HTTP/1.1 %d %s\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n"
                          "Content-Length: %d\r\n%s%s\r\n"
                          % (status, "OK" if status == 200 else "Partial Content", length, extra,
                             "" if keep else "Connection: close\r\n")).encode())
            rec["status"] = status
            if method == "GET":
                rec["bytes"] = send_body(conn, args, path, start, length)
            log(args, rec)
            if not keep:
                return
    except OSError:
        return
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--flip", action="store_true")
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--parent", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=600)
    args = ap.parse_args()
    args.root = os.path.realpath(args.root)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    write_port_file(args.port_file, s.getsockname()[1])
    start_watchdog(args.parent, args.lifetime)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
