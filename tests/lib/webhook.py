#!/usr/bin/env python3
"""A webhook receiver for Alertmanager in the tests: every POST body (one
Alertmanager notification, JSON) is appended as one line to OUT; GET / says
"ok". Listens on 127.0.0.1 at a free port, written to PORT_FILE once ready.

    webhook.py OUT PORT_FILE [--parent PID]   (exits when PID is gone)
"""
import http.server
import json
import os
import sys
import threading
import time


def main():
    out, port_file = sys.argv[1], sys.argv[2]
    parent = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--parent" else None
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(min(n, 1 << 20))
            try:
                line = json.dumps(json.loads(body), sort_keys=True)
            except ValueError:
                line = json.dumps({"not_json": body.decode("utf-8", "replace")})
            with lock, open(out, "a", encoding="utf-8") as f:
                f.write(line + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, port_file)
    if parent:
        def watch():
            while True:
                try:
                    os.kill(parent, 0)
                except OSError:
                    os._exit(0)
                time.sleep(1)
        threading.Thread(target=watch, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
