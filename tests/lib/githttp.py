#!/usr/bin/env python3
"""Serve the git repositories under ROOT over smart HTTP on 127.0.0.1 with the
real `git http-backend` (CGI), for the registry tests.

    githttp.py ROOT PORTFILE [--token-env VAR] [--log FILE] [--tls CERT KEY]

Writes the port it listens on (a free one) to PORTFILE once it accepts
connections. With --token-env VAR, every request must carry HTTP Basic
credentials whose password is the value of the environment variable VAR (the
token is never on a command line); others get 401 with a Basic challenge,
as GitHub does over HTTPS. Pushes are allowed (http.receivepack). --log
appends one line per request: "METHOD PATH STATUS user=<name or ->".
Chunked request bodies (libgit2's pushes) are decoded before the CGI runs.
With --tls, it speaks HTTPS with the certificate chain CERT and its key KEY
(PEM files); a client that refuses the certificate only costs its thread.
"""
import base64
import http.server
import os
import ssl
import subprocess
import sys
import threading

BACKEND = "/usr/lib/git-core/git-http-backend"


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit("usage: githttp.py ROOT PORTFILE [--token-env VAR] [--log FILE] [--tls CERT KEY]")
    root, portfile = os.path.abspath(args[0]), args[1]
    token = None
    log = None
    tls = None
    i = 2
    while i < len(args):
        if args[i] == "--token-env" and i + 1 < len(args):
            token = os.environ.get(args[i + 1])
            if not token:
                sys.exit("githttp.py: $%s is empty" % args[i + 1])
            i += 2
        elif args[i] == "--log" and i + 1 < len(args):
            log = args[i + 1]
            i += 2
        elif args[i] == "--tls" and i + 2 < len(args):
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(args[i + 1], args[i + 2])
            i += 3
        else:
            sys.exit("githttp.py: unknown argument %r" % args[i])
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, fmt, *a):
            pass

        def handle(self):
            # the TLS handshake in this request's thread, not in accept()
            try:
                if tls:
                    self.request.do_handshake()
                super().handle()
            except (ssl.SSLError, OSError):
                pass

        def note(self, status, user):
            if log:
                with lock, open(log, "a") as f:
                    f.write("%s %s %d user=%s\n" % (self.command, self.path, status, user or "-"))

        def body(self):
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                out = bytearray()
                while True:
                    line = self.rfile.readline()
                    n = int(line.split(b";")[0].strip() or b"0", 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return bytes(out)
                    out += self.rfile.read(n)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def user(self):
            """None when refused, else the user name ('' without auth)."""
            if token is None:
                return ""
            h = self.headers.get("Authorization") or ""
            if not h.startswith("Basic "):
                return None
            try:
                name, _, pw = base64.b64decode(h[6:]).decode().partition(":")
            except Exception:
                return None
            return name if pw == token and name else None

        def handle_git(self):
            data = self.body()
            user = self.user()
            if user is None:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.note(401, None)
                return
            path, _, query = self.path.partition("?")
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.receivepack",
                "GIT_CONFIG_VALUE_0": "true",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type") or "",
                "CONTENT_LENGTH": str(len(data)),
                "REMOTE_ADDR": self.client_address[0],
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.0",
            }
            if user:
                env["REMOTE_USER"] = user
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            p = subprocess.run([BACKEND], input=data, env=env, capture_output=True)
            head, _, rest = p.stdout.partition(b"\r\n\r\n")
            if not _:
                head, _, rest = p.stdout.partition(b"\n\n")
            status, headers = 200, []
            for line in head.decode("latin-1").splitlines():
                k, _, v = line.partition(":")
                if k.lower() == "status":
                    status = int(v.strip().split()[0])
                elif k:
                    headers.append((k, v.strip()))
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(rest)))
            self.end_headers()
            self.wfile.write(rest)
            self.note(status, user)

        do_GET = handle_git
        do_POST = handle_git

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
