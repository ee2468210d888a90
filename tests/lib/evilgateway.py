#!/usr/bin/env python3
"""A lying trustless gateway for the hp-fetch tests (python3 stdlib only).

It listens on 127.0.0.1 (a port the kernel picks, written to --port-file),
forwards each GET /ipfs/... to a real gateway (kubo's, --upstream) with the
same query and Accept header, and tampers with the answer as --attack says:

  honest      pass the answer through unchanged
  flip        flip one byte in the data of block K of a CAR (or of a raw block)
  drop        leave block K out of a CAR
  extra       insert a valid block that belongs to nothing before block K
  substitute  send a valid but unrelated block in place of block K
  dup         send block K twice
  reorder     send the blocks in reverse order (header first)
  truncate    cut the CAR in the middle of block K's section
  endless     the whole CAR, then valid unrelated blocks for ever
  flood       the header, then valid unrelated blocks for ever (the real
              blocks never come)
  bigblock    insert a 3 MiB block (over the 2 MiB limit) before block K
  ctype       answer with Content-Type: text/html (every answer)
  order-lie   reverse the blocks but claim order=dfs in the Content-Type
  nocar       answer 406 Not Acceptable to CAR requests; raw blocks pass
  status500   answer 500 to everything
  slow        pass the answer through, SLOW_CHUNK bytes every --delay seconds

K is --block (default: the middle block of the CAR, counting from 0).
--only-car / --only-raw limit the attack to one kind of answer. Every
request is logged to --log as a JSON line when it ends:
  {"path": "/ipfs/...?...", "kind": "car"|"raw"|"other", "attack": ...,
   "status": 200, "bytes_sent": N, "complete": true}
"""

import argparse
import hashlib
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

SLOW_CHUNK = 16384


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(buf, pos):
    n = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, pos
        shift += 7


def cid_len(sec):
    """Bytes of the CID at the start of a section's payload."""
    if sec[0] == 0x12 and sec[1] == 0x20:
        return 34  # CIDv0
    pos = 0
    for _ in range(3):  # version, codec, hash code
        _, pos = read_varint(sec, pos)
    dlen, pos = read_varint(sec, pos)
    return pos + dlen


def split_car(body):
    """(header bytes with its length, [section payloads])."""
    hlen, pos = read_varint(body, 0)
    header = body[: pos + hlen]
    pos += hlen
    secs = []
    while pos < len(body):
        slen, p2 = read_varint(body, pos)
        secs.append(body[p2 : p2 + slen])
        pos = p2 + slen
    return header, secs


def section(payload):
    return varint(len(payload)) + payload


_counter = [0]
_counter_lock = threading.Lock()


def unrelated_block(size=1024):
    """A raw block with a correct CIDv1, belonging to nothing."""
    with _counter_lock:
        _counter[0] += 1
        n = _counter[0]
    seed = b"evil-%d-%d" % (os.getpid(), n)
    data = (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]
    cid = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return cid + data


def flip(payload):
    b = bytearray(payload)
    c = cid_len(b)
    i = c + (len(b) - c) // 2 if len(b) > c else c - 1
    b[i] ^= 0x01
    return bytes(b)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "evilgateway/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # the client went away: that is what the tests do

    def record(self, kind, status, sent, complete):
        line = json.dumps({"path": self.path, "kind": kind, "attack": self.server.attack, "status": status,
                           "bytes_sent": sent, "complete": complete})
        with self.server.log_lock:
            with open(self.server.log, "a") as f:
                f.write(line + "\n")

    def do_GET(self):
        a = self.server.args
        q = self.path.split("?", 1)[1] if "?" in self.path else ""
        accept = self.headers.get("Accept", "")
        kind = "other"
        if "format=car" in q or ("format=" not in q and "vnd.ipld.car" in accept):
            kind = "car"
        elif "format=raw" in q or ("format=" not in q and "vnd.ipld.raw" in accept):
            kind = "raw"
        attack = self.server.attack
        if (a.only_car and kind != "car") or (a.only_raw and kind != "raw"):
            attack = "honest"
        if attack == "status500":
            return self.simple(kind, 500, b"internal error\n")
        if attack == "nocar" and kind == "car":
            return self.simple(kind, 406, b"no CARs here\n")
        req = urllib.request.Request(a.upstream + self.path)
        if accept:
            req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as err:
            status, ctype, body = err.code, err.headers.get("Content-Type", "text/plain"), err.read()
        if status != 200 or kind == "other" or attack == "honest":
            return self.send(kind, status, ctype, [body])
        if attack == "ctype":
            return self.send(kind, status, "text/html; charset=utf-8", [body])
        if attack == "slow":
            return self.send(kind, status, ctype, [body], slow=True)
        if kind == "raw":
            if attack in ("flip", "substitute"):
                body = flip(body)
            return self.send(kind, status, ctype, [body])
        header, secs = split_car(body)
        k = a.block if a.block is not None else len(secs) // 2
        k = max(0, min(k, len(secs) - 1)) if secs else 0
        out = [header]
        if attack == "flip":
            secs[k] = flip(secs[k])
        elif attack == "drop":
            del secs[k]
        elif attack == "extra":
            secs.insert(k, unrelated_block())
        elif attack == "substitute":
            secs[k] = unrelated_block(len(secs[k]) - cid_len(secs[k]) or 1)
        elif attack == "dup":
            secs.insert(k, secs[k])
        elif attack in ("reorder", "order-lie"):
            secs.reverse()
            if attack == "order-lie":
                ctype = "application/vnd.ipld.car; version=1; order=dfs; dups=n"
        elif attack == "bigblock":
            secs.insert(k, unrelated_block(3 << 20))
        if attack == "bigblock":
            # no Content-Length: the client must find the block too big itself
            return self.send(kind, status, ctype, out + [section(s) for s in secs], chunked_cut=True)
        if attack == "truncate":
            whole = b"".join(section(s) for s in secs[:k])
            cut = section(secs[k])
            return self.send(kind, status, ctype, [header + whole + cut[: len(cut) // 2]], chunked_cut=True)
        if attack in ("endless", "flood"):
            first = [section(s) for s in secs] if attack == "endless" else []
            return self.send(kind, status, ctype, [header] + first, endless=True)
        out += [section(s) for s in secs]
        return self.send(kind, status, ctype, out)

    def simple(self, kind, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.record(kind, status, len(body), True)

    def send(self, kind, status, ctype, parts, slow=False, endless=False, chunked_cut=False):
        """Send parts; endless: then unrelated blocks until the client goes."""
        sent = 0
        complete = False
        try:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            if endless or chunked_cut:
                # no length: the end of the body is where the connection closes
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(sum(len(p) for p in parts)))
            self.end_headers()
            if endless:
                # keep the kernel's buffer small so bytes_sent is close to
                # what the client really read
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
            for p in parts:
                if slow:
                    for i in range(0, len(p), SLOW_CHUNK):
                        self.wfile.write(p[i : i + SLOW_CHUNK])
                        self.wfile.flush()
                        sent += len(p[i : i + SLOW_CHUNK])
                        time.sleep(self.server.args.delay)
                else:
                    self.wfile.write(p)
                    sent += len(p)
            if endless:
                deadline = time.monotonic() + self.server.args.endless_seconds
                while time.monotonic() < deadline:
                    s = section(unrelated_block(65536))
                    self.wfile.write(s)
                    sent += len(s)
            self.wfile.flush()
            complete = True
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.record(kind, status, sent, complete)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="the real gateway, http://127.0.0.1:PORT")
    ap.add_argument("--attack", default="honest")
    ap.add_argument("--block", type=int, default=None)
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--endless-seconds", type=float, default=60.0)
    ap.add_argument("--only-car", action="store_true")
    ap.add_argument("--only-raw", action="store_true")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.args = a
    srv.attack = a.attack
    srv.log = a.log
    srv.log_lock = threading.Lock()
    open(a.log, "a").close()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
