#!/usr/bin/python3
"""HTTP receiver for tests, 127.0.0.1 only: records every request as
OUTDIR/NNNN.json {"method", "path", "headers", "body"} and answers --status
(default 200). --fail-first N answers 503 to the first N requests.

  webhook.py OUTDIR --port N [--status CODE] [--fail-first N]"""
import argparse
import itertools
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--status", type=int, default=200)
    ap.add_argument("--fail-first", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    seq = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace")
            i = next(seq)
            code = 503 if i <= a.fail_first else a.status
            rec = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                   "body": body, "status": code}
            base = os.path.join(a.outdir, "%04d" % i)
            with open(base + ".tmp", "w") as f:
                json.dump(rec, f)
            os.rename(base + ".tmp", base + ".json")
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_POST = do_PUT = do_GET = handle_any

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
