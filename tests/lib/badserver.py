#!/usr/bin/env python3
"""A misbehaving HTTP server on 127.0.0.1, for the failure tests of the
network tools (hp-pin, hp-fetch).

    badserver.py --mode MODE --port-file FILE [--log FILE] [--parent PID]
                 [--body FILE] [--content-type TYPE]
    badserver.py --free-port        print a loopback port nothing listens on

It listens on 127.0.0.1 on a port the kernel picks, writes that port to
--port-file (atomically) and answers every connection the way MODE says,
whatever the method and path:

  ok            200 {} (a well-formed, empty JSON object)
  hang          accept, read the request, never answer
  silent        accept, never read nor answer (a stalled TCP peer of any
                protocol: an ssh server that never sends its banner)
  close-mid     200 with Content-Length 1000000, 1000 bytes, then close
                (with --body: Content-Length its size, its first 1000 bytes)
  close         read the request, close without a byte
  not-http      answer a line that is not HTTP ("SSH-2.0-...")
  500           500 Internal Server Error, text body
  502           502 Bad Gateway
  503           503 Service Unavailable, Retry-After: 1
  429           429 Too Many Requests, Retry-After: 1
  401           401 with a Pinning Service API Failure body
  404           404 page not found
  garbage-json  200 application/json whose body is not JSON
  wrong-json    200 application/json, valid JSON of the wrong shape
  endless       200, then body bytes for ever (no Content-Length)
  endless-headers  200, then header lines for ever
  drip          200 with Content-Length 1000000, then one byte every 0.5 s
                (with --body: Content-Length its size, its bytes)
  kubo-error    500 with kubo's {"Message", "Code", "Type": "error"}
  stream-error  200, a chunked NDJSON body, then an X-Stream-Error trailer
  wrong-root    kubo's dag/import answer naming bafkqaaa (the empty
                identity CID) as the imported root; pin/ls says not pinned

--content-type sets the Content-Type of drip and close-mid (defaults:
application/json and application/octet-stream), so that a client checking
it (a gateway's CAR) gets as far as the transfer itself.

Each request is logged to --log as one JSON line {"method", "path",
"headers": {name: value}, "body_bytes"} before it is answered (headers with
lower-case names; the Authorization value is kept so tests can check what
was sent). The server exits when --parent PID is gone or after --lifetime
seconds (default 600), so a killed test never leaves it behind.
"""

import argparse
import json
import os
import socket
import sys
import threading
import time

from serverutil import write_port_file

MAX_REQUEST = 64 << 20


def read_request(conn):
    """Headers, then Content-Length bytes of body (drained, not kept)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1 << 20:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    method = parts[0] if parts else ""
    path = parts[1] if len(parts) > 1 else ""
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    want = int(headers.get("content-length", "0") or 0)
    got = len(rest)
    while got < want and got < MAX_REQUEST:
        chunk = conn.recv(min(65536, want - got))
        if not chunk:
            break
        got += len(chunk)
    return {"method": method, "path": path, "headers": headers, "body_bytes": got}


def peer_closed(conn, timeout):
    """Wait up to timeout seconds; True when the client has gone."""
    conn.settimeout(timeout)
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
    finally:
        conn.settimeout(None)


def response(status, body=b"", ctype="text/plain", extra=()):
    if isinstance(body, str):
        body = body.encode()
    head = ["HTTP/1.1 %s" % status, "Content-Type: %s" % ctype, "Content-Length: %d" % len(body),
            "Connection: close"]
    head.extend(extra)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def chunk(data):
    if isinstance(data, str):
        data = data.encode()
    return b"%x\r\n%s\r\n" % (len(data), data)


def serve(conn, mode, log, lock, stopping, body=None, ctype=None):
    if mode == "silent":
        while not stopping.is_set() and not peer_closed(conn, 0.2):
            pass
        return
    req = read_request(conn)
    if req is None:
        return
    if log:
        with lock:
            with open(log, "a") as f:
                f.write(json.dumps(req) + "\n")
    path = req["path"]
    if mode == "ok":
        conn.sendall(response("200 OK", "{}", "application/json"))
    elif mode == "hang":
        while not stopping.is_set() and not peer_closed(conn, 0.2):
            pass
    elif mode == "close":
        pass
    elif mode == "close-mid":
        data = body if body is not None else b"x" * 1000000
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                     % ((ctype or "application/octet-stream").encode(), len(data)) + data[:1000])
    elif mode == "not-http":
        conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    elif mode == "500":
        conn.sendall(response("500 Internal Server Error", "internal error\n"))
    elif mode == "502":
        conn.sendall(response("502 Bad Gateway", "<html><body>bad gateway</body></html>", "text/html"))
    elif mode == "503":
        conn.sendall(response("503 Service Unavailable", "try later\n", extra=["Retry-After: 1"]))
    elif mode == "429":
        conn.sendall(response("429 Too Many Requests", "slow down\n", extra=["Retry-After: 1"]))
    elif mode == "401":
        conn.sendall(response("401 Unauthorized", '{"error":{"reason":"UNAUTHORIZED","details":"bad token"}}',
                              "application/json", ['WWW-Authenticate: Bearer error="invalid_token"']))
    elif mode == "404":
        conn.sendall(response("404 Not Found", "404 page not found\n"))
    elif mode == "garbage-json":
        conn.sendall(response("200 OK", '{"Keys": {"Qm\x01 oops', "application/json"))
    elif mode == "wrong-json":
        conn.sendall(response("200 OK", '[1, 2, 3]', "application/json"))
    elif mode == "endless":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        block = b"[" * 65536
        try:
            while not stopping.is_set():
                conn.sendall(block)
        except OSError:
            pass
    elif mode == "endless-headers":
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        try:
            while not stopping.is_set():
                conn.sendall(line)
        except OSError:
            pass
    elif mode == "drip":
        data = body if body is not None else b" " * 1000000
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                     % ((ctype or "application/json").encode(), len(data)))
        try:
            for i in range(len(data)):
                if stopping.is_set() or peer_closed(conn, 0.5):
                    break
                conn.sendall(data[i:i + 1])
        except OSError:
            pass
    elif mode == "kubo-error":
        conn.sendall(response("500 Internal Server Error",
                              '{"Message":"pin: block was not found locally (offline)","Code":0,"Type":"error"}\n',
                              "application/json", ["Trailer: X-Stream-Error"]))
    elif mode == "stream-error":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Chunked-Output: 1\r\n"
                     b"Trailer: X-Stream-Error\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     chunk('{"Progress":1}\n') + b"0\r\nX-Stream-Error: context deadline exceeded\r\n\r\n")
    elif mode == "wrong-root":
        if "/dag/import" in path:
            conn.sendall(response("200 OK", '{"Root":{"Cid":{"/":"bafkqaaa"},"PinErrorMsg":""}}\n',
                                  "application/json"))
        else:
            conn.sendall(response("500 Internal Server Error",
                                  '{"Message":"path is not pinned","Code":0,"Type":"error"}',
                                  "application/json"))
    else:
        conn.sendall(response("500 Internal Server Error", "badserver: unknown mode %s\n" % mode))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--parent", type=int)
    ap.add_argument("--lifetime", type=float, default=600)
    ap.add_argument("--free-port", action="store_true")
    ap.add_argument("--body")
    ap.add_argument("--content-type")
    a = ap.parse_args()
    if a.free_port:
        print(free_port())
        return 0
    if not a.port_file:
        ap.error("--port-file is needed")

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(0.2)
    write_port_file(a.port_file, srv.getsockname()[1])

    body = None
    if a.body:
        with open(a.body, "rb") as f:
            body = f.read()
    stopping = threading.Event()
    lock = threading.Lock()
    end = time.monotonic() + a.lifetime

    def handle(conn):
        try:
            serve(conn, a.mode, a.log, lock, stopping, body, a.content_type)
        except OSError:
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    while time.monotonic() < end:
        if a.parent:
            try:
                os.kill(a.parent, 0)
            except ProcessLookupError:
                break
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
    stopping.set()
    srv.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
