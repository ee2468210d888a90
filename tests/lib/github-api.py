#!/usr/bin/env python3
"""A mock of the GitHub REST API's releases endpoints, over HTTPS on
127.0.0.1, for the test of .github/workflows/release-assets.yml (`gh release
upload`). GitHub cannot be reached from the tests: this serves recorded
response shapes (tests/lib/github-events/release-response.json) instead, and
tests that use it say "mock" in their names.

    github-api.py --cert PEM --key PEM --port-file FILE --log FILE
                  --uploads DIR --repo OWNER/REPO --tag TAG --token TOKEN
                  [--parent PID] [--lifetime SECONDS]

gh talks to a GitHub Enterprise host at https://HOST/api/v3/ and uploads to
https://HOST/api/uploads/. Served:

  POST   /api/graphql   RepositoryReleaseByTag: {databaseId, isDraft} of TAG's release
  GET    /api/v3/repos/OWNER/REPO/releases/tags/TAG   the release, with its assets
  POST   /api/uploads/repos/OWNER/REPO/releases/ID/assets?name=N   stores the body as
         DIR/N, answers 201 with the asset
  DELETE /api/v3/repos/OWNER/REPO/releases/assets/AID  drops an asset (gh --clobber)

Every request is logged as one JSON line {"method", "path", "auth_ok",
"bytes"} (whether Authorization carried the expected token; never the token
itself). A request without it is answered 401; anything else 404.
"""

import argparse
import json
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from serverutil import start_watchdog, write_port_file

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    for a in ("--cert", "--key", "--port-file", "--log", "--uploads", "--repo", "--tag", "--token"):
        ap.add_argument(a, required=True)
    ap.add_argument("--parent", type=int)
    ap.add_argument("--lifetime", type=float, default=300)
    args = ap.parse_args()

    with open(os.path.join(HERE, "github-events", "release-response.json")) as f:
        template = f.read()
    lock = threading.Lock()
    state = {"assets": [], "next_id": 5000}
    log = open(args.log, "a", buffering=1)

    def release(host):
        text = (template.replace("@HOST@", host).replace("@REPO@", args.repo)
                .replace("@TAG@", args.tag))
        r = json.loads(text)
        r["assets"] = list(state["assets"])
        return r

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, obj=None):
            body = b"" if obj is None else json.dumps(obj).encode()
            self.send_response(code)
            if obj is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            u = urlsplit(self.path)
            path = unquote(u.path)
            auth = self.headers.get("Authorization", "")
            auth_ok = auth in ("token " + args.token, "Bearer " + args.token)
            log.write(json.dumps({"method": self.command, "path": path, "auth_ok": auth_ok,
                                  "bytes": len(body)}) + "\n")
            if not auth_ok:
                return self.reply(401, {"message": "Bad credentials",
                                        "documentation_url": "https://docs.github.com/rest"})
            host = self.headers.get("Host", "127.0.0.1")
            api = "/api/v3/repos/%s/releases" % args.repo
            up = "/api/uploads/repos/%s/releases/" % args.repo
            with lock:
                # gh 2.23 first asks GraphQL whether the tag's release is a draft
                if self.command == "POST" and path == "/api/graphql":
                    try:
                        q = json.loads(body)
                    except ValueError:
                        return self.reply(400, {"message": "Problems parsing JSON"})
                    v = q.get("variables") or {}
                    if ("RepositoryReleaseByTag" in q.get("query", "")
                            and "%s/%s" % (v.get("owner"), v.get("name")) == args.repo):
                        rel = None
                        if v.get("tagName") == args.tag:
                            rel = {"databaseId": 4242, "isDraft": False}
                        return self.reply(200, {"data": {"repository": {"release": rel}}})
                    return self.reply(200, {"errors": [{"message": "not in the recording"}]})
                if self.command == "GET" and path == api + "/tags/" + args.tag:
                    return self.reply(200, release(host))
                if self.command == "POST" and path.startswith(up) and path.endswith("/assets"):
                    name = parse_qs(u.query).get("name", [""])[0]
                    if not name or "/" in name or name.startswith("."):
                        return self.reply(422, {"message": "Validation Failed"})
                    if any(a["name"] == name for a in state["assets"]):
                        return self.reply(422, {"message": "Validation Failed",
                                                "errors": [{"resource": "ReleaseAsset",
                                                            "code": "already_exists",
                                                            "field": "name"}]})
                    with open(os.path.join(args.uploads, name), "wb") as f:
                        f.write(body)
                    aid = state["next_id"]
                    state["next_id"] += 1
                    asset = {
                        "url": "https://%s/api/v3/repos/%s/releases/assets/%d" % (host, args.repo, aid),
                        "id": aid, "name": name, "label": "", "state": "uploaded",
                        "content_type": self.headers.get("Content-Type", ""), "size": len(body),
                        "download_count": 0,
                        "browser_download_url": "https://%s/%s/releases/download/%s/%s"
                        % (host, args.repo, args.tag, name),
                    }
                    state["assets"].append(asset)
                    return self.reply(201, asset)
                if self.command == "DELETE" and path.startswith(api + "/assets/"):
                    aid = path.rsplit("/", 1)[1]
                    before = len(state["assets"])
                    state["assets"] = [a for a in state["assets"] if str(a["id"]) != aid]
                    if len(state["assets"]) == before:
                        return self.reply(404, {"message": "Not Found"})
                    return self.reply(204)
            return self.reply(404, {"message": "Not Found",
                                    "documentation_url": "https://docs.github.com/rest"})

        do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = handle_any

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    write_port_file(args.port_file, srv.server_address[1])
    start_watchdog(args.parent, args.lifetime)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
