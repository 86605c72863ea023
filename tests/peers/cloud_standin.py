#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Neuropacs cloud stand-in for tests: a test peer, not product code.

v1: the encrypted-session API exactly as in cloud-api.md section 9 (RSA-2048
key, RSA-OAEP-SHA256 key exchange, AES-128-CTR blobs with tolerant padding
stripping, 201/202 codes, presigned PUT with ETag, orders that progress and
finish, fixture results in every format, "Bucket not found." for unknown
orders). v2: the REST paths with the bodies of share/cloud-v2.json.

Every request is appended to STATE/requests.jsonl with its body decrypted;
PUT bodies are kept as STATE/uploads/<order>/<zipIndex>.zip and unpacked into
STATE/received/<order>/ so tests can grep everything the cloud received.

Faults (command line or POST /_control with a JSON object, merged):
  fail_5xx N        the next N API/PUT requests answer 503
  drop_put N        the next N PUTs read half the body, then drop the connection
  slow_ms MS        every request waits MS first
  expire_sessions 1 forget every v1 connection and v2 token now
  expire_in N       forget them after N more authenticated calls
  fail_analysis 1   orders started from now on fail
  steps N           checkStatus polls before an order finishes (default 2)
  discard 1         do not keep PUT bodies (benchmarks)
  password PW       the service password changes to PW (v2 token requests)
GET /_state returns counters as JSON.
Orders, uploads, sessions and tokens are kept in STATE/orders.json and
reloaded at start, so a restart (an outage drill) forgets nothing.

--demo (make demo): every result says it is synthetic: the JSON carries
"notice": DEMO_NOTICE and model_version "DEMO-synthetic", the text, XML,
CSV and PDF reports start with the notice.

Usage: cloud_standin.py --port P --state DIR [--api-key K] [--tls-cert C --tls-key K]
                        [--user U --password P] [--demo] [--vector]
--vector checks the worked example of cloud-api.md 3.2 and exits 0/1.
"""
import argparse
import base64
import hashlib
import io
import json
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
import uuid
import zipfile
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

DEMO_NOTICE = "DEMO - synthetic analysis, not for clinical use"
PRODUCTS = {"Atypical/MSAp/PSP-v1.0", "PD/MSAp/PSP-v1.0", "AIDP", "AIDD", "AIND-PD", "AIND-AD"}


def aes_ctr(key, iv, data):
    c = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return c.update(data) + c.finalize()


def blob_encrypt(key, plaintext, iv=None):
    iv = iv if iv is not None else os.urandom(16)
    return base64.b64encode(iv + aes_ctr(key, iv, plaintext)).decode()


def blob_decrypt(key, body):
    raw = base64.b64decode(body.strip(), validate=False)
    if len(raw) < 16:
        raise ValueError("short blob")
    pt = aes_ctr(key, raw[:16], raw[16:])
    # Tolerant stripping: PKCS#7 (PY), zero bytes (JS) or none (JV).
    return pt.rstrip(bytes(range(0, 17)) + b" \t\r\n")


def check_vector():
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    iv = bytes(range(0xF0, 0x100))
    pt = b'{"orderId": "TEST"}'
    ok = base64.b64encode(key).decode() == "K34VFiiu0qar9xWICc9PPA=="
    ok &= blob_encrypt(key, pt, iv) == "8PHy8/T19vf4+fr7/P3+/5eusAH8BQ75lvAsVcjK5LdiCQE="
    pad = 16 - len(pt) % 16
    ok &= blob_encrypt(key, pt + bytes([pad]) * pad, iv) == \
        "8PHy8/T19vf4+fr7/P3+/5eusAH8BQ75lvAsVcjK5LdiCQExan5cbhWtetrxXX6j"
    ok &= blob_decrypt(key, "8PHy8/T19vf4+fr7/P3+/5eusAH8BQ75lvAsVcjK5LdiCQExan5cbhWtetrxXX6j") == pt
    ok &= blob_decrypt(key, blob_encrypt(key, pt + b"\0\0\0", iv)) == pt
    return ok


def png_bytes():
    w, h = 8, 8
    raw = b"".join(b"\0" + b"".join(bytes([x * 32, y * 32, 128]) for x in range(w)) for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def text_pdf(lines):
    """A one-page PDF showing lines of ASCII text (valid xref table)."""
    esc = lambda t: t.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = "BT /F1 12 Tf 50 780 Td 16 TL " + " ".join("(%s) '" % esc(t) for t in lines) + " ET"
    objs = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
            "/Contents 5 0 R >>", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            "<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)]
    out, offs = "%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += "%d 0 obj\n%s\nendobj\n" % (i + 1, o)
    x = len(out)
    out += "xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + "".join("%010d 00000 n \n" % o for o in offs)
    out += "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    return out.encode()


def results_for(order_id, order, demo=False):
    date = time.strftime("%Y-%m-%d", time.gmtime(order.get("created", time.time())))
    files = order.get("files", 0)
    res = {"Atypical": {"value": 0.913}, "PSPvsMSAp": {"value": 0.944},
           "FWpSN": {"value": 0.28, "control_mean": 0.19, "control_sd": 0.04},
           "FWPutamen": {"value": 0.21, "control_mean": 0.16, "control_sd": 0.03},
           "FWSCP": {"value": 0.33, "control_mean": 0.22, "control_sd": 0.05},
           "FWMCP": {"value": 0.12, "control_mean": 0.10, "control_sd": 0.02}}
    j = {"orderID": order_id, "date": date, "product": order.get("product", "Atypical/MSAp/PSP-v1.0"),
         "model_version": "2BP20V6_29", "input": "%d DICOM files" % files, "results": res}
    txt = "neuropacs report\nOrder ID: %s\nDate: %s\nProduct: %s\nAtypical: 0.913\nPSPvsMSAp: 0.944\n" % (
        order_id, date, j["product"])
    xml = ('<?xml version="1.0"?><report><orderID>%s</orderID><date>%s</date>'
           '<Atypical>0.913</Atypical><PSPvsMSAp>0.944</PSPvsMSAp></report>\n') % (order_id, date)
    csv = "region,value,control_mean,control_sd\n" + "".join(
        "%s,%s,%s,%s\n" % (k, v["value"], v.get("control_mean", ""), v.get("control_sd", ""))
        for k, v in res.items())
    pdf = b"%PDF-1.4\n% stand-in report\n%%EOF\n"
    if demo:
        j.update(notice=DEMO_NOTICE, model_version="DEMO-synthetic")
        txt = DEMO_NOTICE + "\n" + txt
        xml = xml.replace("<report>", "<report><notice>%s</notice>" % DEMO_NOTICE)
        csv = "# " + DEMO_NOTICE + "\n" + csv
        pdf = text_pdf([DEMO_NOTICE, "neuropacs stand-in report", "Order ID: " + order_id, "Date: " + date,
                        "Atypical: 0.913", "PSPvsMSAp: 0.944", DEMO_NOTICE])
    return {"json": json.dumps(j).encode(), "txt": txt.encode(), "xml": xml.encode(),
            "features": csv.encode(), "png": png_bytes(), "pdf": pdf}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.dir = args.state
        os.makedirs(os.path.join(self.dir, "uploads"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "received"), exist_ok=True)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.conns = {}
        self.tokens = {}
        self.orders = {"TEST": {"state": "finished", "progress": 100, "created": time.time(), "zips": {},
                                "final": True, "polls": 0, "files": 0}}
        self.uploads = {}
        self.faults = {"fail_5xx": 0, "drop_put": 0, "slow_ms": 0, "fail_analysis": 0, "steps": 2, "discard": 0,
                       "expire_in": 0}
        self.counts = {"requests": 0, "puts": 0, "put_bytes": 0, "connects": 0, "completes": 0, "new_orders": 0,
                       "dropped": 0, "errors_5xx": 0, "token_refused": 0}
        self.logf = open(os.path.join(self.dir, "requests.jsonl"), "a")
        self.load()

    # Orders, uploads, sessions and tokens outlive a restart (STATE/orders.json),
    # as a real cloud's do: an outage drill (stop, start) must not lose them.
    def load(self):
        try:
            with open(os.path.join(self.dir, "orders.json")) as f:
                d = json.load(f)
        except (OSError, ValueError):
            return
        self.orders.update(d.get("orders", {}))
        self.uploads.update(d.get("uploads", {}))
        self.conns.update({k: base64.b64decode(v) for k, v in d.get("conns", {}).items()})
        self.tokens.update(d.get("tokens", {}))

    def save(self):
        with self.lock:
            for _ in range(5):  # a handler may add a key to an order meanwhile
                try:
                    d = json.dumps({"orders": self.orders, "uploads": self.uploads, "tokens": self.tokens,
                                    "conns": {k: base64.b64encode(v).decode() for k, v in self.conns.items()}},
                                   default=str)
                    break
                except RuntimeError:
                    time.sleep(0.01)
            else:
                return
            tmp = os.path.join(self.dir, "orders.json.tmp")
            with open(tmp, "w") as f:
                f.write(d)
            os.replace(tmp, os.path.join(self.dir, "orders.json"))

    def log(self, rec):
        with self.lock:
            self.logf.write(json.dumps(rec) + "\n")
            self.logf.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1"

    def log_message(self, fmt, *a):
        pass

    def setup(self):
        # Headers and body go out in separate writes: without TCP_NODELAY every
        # small reply waits for the client's delayed ACK (about 40 ms).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    @property
    def S(self):
        return self.server.st

    def reply(self, code, body=b"", ctype="application/json", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, msg):
        self.reply(code, json.dumps({"error": msg}))

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def count_session_call(self):
        S = self.S
        with S.lock:
            if S.faults["expire_in"] > 0:
                S.faults["expire_in"] -= 1
                if S.faults["expire_in"] == 0:
                    S.conns.clear()
                    S.tokens.clear()

    def fault_gate(self):
        S = self.S
        if S.faults["slow_ms"]:
            time.sleep(S.faults["slow_ms"] / 1000.0)
        with S.lock:
            S.counts["requests"] += 1
            if S.faults["fail_5xx"] > 0:
                S.faults["fail_5xx"] -= 1
                S.counts["errors_5xx"] += 1
                fail = True
            else:
                fail = False
        if fail:
            self.body() if self.command != "PUT" else self.drain()
            self.error(503, "Service Unavailable")
            return False
        return True

    def drain(self):
        n = int(self.headers.get("Content-Length") or 0)
        while n > 0:
            d = self.rfile.read(min(n, 1 << 20))
            if not d:
                break
            n -= len(d)

    # ---- routing ----
    def do_GET(self):
        self.route()
        self.S.save()

    def do_POST(self):
        self.route()
        self.S.save()

    def do_PUT(self):
        self.route()
        self.S.save()

    def do_PATCH(self):
        self.route()
        self.S.save()

    def route(self):
        u = urlparse(self.path)
        p = u.path.rstrip("/") or "/"
        if p == "/_control":
            try:
                self.S.faults.update(json.loads(self.body() or b"{}"))
            except ValueError:
                return self.error(400, "bad control")
            # A password change at the cloud (the web portal's "Forgot your
            # password?"): tokens are requested with the new one from now on.
            pw = self.S.faults.pop("password", None)
            if pw is not None:
                self.S.args.password = str(pw)
            if self.S.faults.pop("expire_sessions", 0):
                with self.S.lock:
                    self.S.conns.clear()
                    self.S.tokens.clear()
            return self.reply(200, json.dumps(self.S.faults))
        if p == "/_state":
            return self.reply(200, json.dumps({"counts": self.S.counts, "faults": self.S.faults,
                                               "orders": self.S.orders}, default=str))
        if not self.fault_gate():
            return
        if p.startswith("/s3/") and self.command == "PUT":
            return self.s3_put(p)
        if p.startswith("/api/"):
            return self.v1(p[5:], u)
        return self.v2(p, u)

    # ---- presigned PUT (S3 stand-in) ----
    def s3_put(self, p):
        S = self.S
        parts = p.split("/")
        n = int(self.headers.get("Content-Length") or 0)
        with S.lock:
            S.counts["puts"] += 1
            drop = S.faults["drop_put"] > 0
            if drop:
                S.faults["drop_put"] -= 1
                S.counts["dropped"] += 1
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        S.log({"method": "PUT", "path": p, "headers": sorted(hdrs), "length": n,
               "content_type": hdrs.get("content-type"), "auth": "authorization" in hdrs})
        if drop:
            self.rfile.read(n // 2)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        md5 = hashlib.md5()
        keep = not S.faults["discard"] and len(parts) >= 5
        out = None
        if keep:
            d = os.path.join(S.dir, "uploads", parts[2])
            os.makedirs(d, exist_ok=True)
            out = open(os.path.join(d, "put-%s.zip" % parts[3]), "wb")
        left = n
        buf = memoryview(bytearray(1 << 20))
        while left > 0:
            got = self.rfile.readinto(buf[:min(left, 1 << 20)])
            if not got:
                break
            md5.update(buf[:got])
            if out:
                out.write(buf[:got])
            left -= got
        if out:
            out.close()
        with S.lock:
            S.counts["put_bytes"] += n - left
        if left:
            self.close_connection = True
            return
        etag = '"%s"' % md5.hexdigest()
        if len(parts) >= 5:
            with S.lock:
                S.uploads[parts[4]] = {"order": parts[2], "zip": parts[3], "etag": etag}
        self.reply(200, b"", headers={"ETag": etag})

    # ---- v1 ----
    def v1(self, name, u):
        S = self.S
        if name == "getPubKey":
            S.log({"api": "v1", "call": name})
            return self.reply(200, json.dumps({"pub_key": S.pem}))
        body = self.body()
        if name == "connect":
            key = self.headers.get("X-Api-Key")
            if key != S.args.api_key:
                S.log({"api": "v1", "call": name, "error": "API key not found."})
                return self.error(403, "API key not found.")
            try:
                pt = S.key.decrypt(base64.b64decode(body), padding.OAEP(
                    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
                aes = base64.b64decode(json.loads(pt)["aes_key"])
                assert len(aes) == 16
            except Exception:
                return self.error(400, "Invalid request body.")
            cid = str(uuid.uuid4())
            with S.lock:
                S.conns[cid] = aes
                S.counts["connects"] += 1
            S.log({"api": "v1", "call": name, "connection": cid})
            return self.reply(200, json.dumps({"connectionId": cid}))
        cid = self.headers.get("Connection-Id")
        if not cid:
            return self.error(400, "No connection ID in request header.")
        aes = S.conns.get(cid)
        self.count_session_call()
        if aes is None:
            return self.error(401, "Connection expired. Reconnect and try again.")
        req = {}
        if body:
            try:
                txt = blob_decrypt(aes, body.decode())
                req = json.loads(txt)
            except Exception:
                S.log({"api": "v1", "call": name, "error": "undecryptable"})
                return self.error(400, "Invalid request body.")
        S.log({"api": "v1", "call": name, "body": req, "has_api_key": "X-Api-Key" in self.headers})
        enc = lambda obj: blob_encrypt(aes, obj if isinstance(obj, bytes) else json.dumps(obj).encode())
        if name == "newJob":
            oid = str(uuid.uuid4())
            with S.lock:
                S.orders[oid] = {"state": "new", "progress": 0, "created": time.time(), "zips": {}, "final": False,
                                 "polls": 0, "files": 0}
                S.counts["new_orders"] += 1
            return self.reply(201, enc({"orderId": oid}), "text/plain")
        oid = str(req.get("orderId", ""))
        order = S.orders.get(oid)
        if order is None:
            return self.error(404, "Bucket not found.")
        if name == "multipartUploadRequest":
            upid = "2~" + uuid.uuid4().hex
            return self.reply(200, enc({"uploadId": upid}), "text/plain")
        if name == "multipartPresignedUrl":
            zi = str(req.get("zipIndex"))
            url = "%s/s3/%s/%s/%s?X-Amz-Signature=%s" % (self.server.base, oid, zi, req.get("uploadId"),
                                                         uuid.uuid4().hex)
            return self.reply(200, enc({"presignedUrl": url}), "text/plain")
        if name == "completeMultipartUpload":
            return self.complete(oid, order, str(req.get("zipIndex")), str(req.get("uploadId")),
                                 req.get("uploadParts") or [], str(req.get("finalPart")) == "1",
                                 lambda: self.reply(200, enc({"message": "ok"}), "text/plain"))
        if name == "runJob":
            prod = req.get("productName")
            if prod not in PRODUCTS:
                return self.error(400, "Product not found.")
            self.start(order, prod)
            return self.reply(202, enc({"message": "started"}), "text/plain")
        if name == "checkStatus":
            st = self.advance(order)
            return self.reply(200, enc(st), "text/plain")
        if name == "getResults":
            fmt = str(req.get("format", "")).lower()
            if order["state"] != "finished":
                return self.error(409, "Results not ready.")
            r = results_for(oid, order, S.args.demo)
            if fmt not in ("txt", "xml", "json", "png", "features"):
                return self.error(400, "Invalid format.")
            return self.reply(200, enc(r[fmt]), "text/plain")
        if name == "qcCheck":
            return self.reply(200, enc(b"QC PASSED\n"), "text/plain")
        if name == "getReport":
            return self.reply(200, enc(b"usage: 1\n"), "text/plain")
        return self.error(403, "Missing Authentication Token")

    def complete(self, oid, order, zi, upid, parts, final, ok):
        S = self.S
        up = S.uploads.get(upid)
        etag = str(parts[0].get("ETag") if parts and isinstance(parts[0], dict) else "")
        if not up or up["order"] != oid or up["etag"] != etag:
            return self.error(400, "ETag mismatch.")
        with S.lock:
            S.counts["completes"] += 1
            order["zips"].setdefault(zi, 0)
            order["zips"][zi] += 1
            if final:
                order["final"] = True
        src = os.path.join(S.dir, "uploads", oid, "put-%s.zip" % up["zip"])
        if os.path.exists(src):
            dst = os.path.join(S.dir, "uploads", oid, "%s.zip" % zi)
            os.replace(src, dst)
            try:
                with zipfile.ZipFile(dst) as z:
                    order["files"] += len(z.namelist())
                    z.extractall(os.path.join(S.dir, "received", oid, zi))
            except zipfile.BadZipFile:
                return self.error(400, "Invalid ZIP.")
        return ok()

    def start(self, order, prod):
        order["product"] = prod
        if order["state"] in ("new", "uploaded"):
            order["state"] = "failing" if self.S.faults["fail_analysis"] else "started"
            order["polls"] = 0

    def advance(self, order):
        steps = max(1, int(self.S.faults["steps"]))
        st = order["state"]
        if st in ("started", "failing"):
            order["polls"] += 1
            order["progress"] = min(100, order["polls"] * 100 // steps)
            if order["polls"] >= steps:
                order["state"] = "failed" if st == "failing" else "finished"
                order["progress"] = 100 if st == "started" else order["progress"]
        st = order["state"]
        return {"started": st not in ("new", "cancelled"), "finished": st == "finished",
                "failed": st in ("failed", "cancelled"), "progress": order["progress"],
                "info": {"new": "", "started": "Processing", "failing": "Processing", "finished": "Finished",
                         "failed": "Analysis failed: insufficient diffusion directions",
                         "cancelled": "Cancelled"}[st]}

    # ---- v2 ----
    def v2(self, p, u):
        S = self.S
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        body = self.body()
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            return self.error(400, "Invalid JSON.")
        if p == "/auth/token" and self.command == "GET":
            a = self.headers.get("Authorization", "")
            want = "Basic " + base64.b64encode(("%s:%s" % (S.args.user, S.args.password)).encode()).decode()
            S.log({"api": "v2", "call": p})
            if a != want:
                with S.lock:
                    S.counts["token_refused"] += 1
                return self.error(401, "Invalid service user or password.")
            tok = uuid.uuid4().hex + uuid.uuid4().hex
            with S.lock:
                S.tokens[tok] = time.time() + 3600
                S.counts["connects"] += 1
            return self.reply(200, json.dumps({"access_token": tok, "token_type": "Bearer", "expires_in": 3600}))
        a = self.headers.get("Authorization", "")
        known = a.startswith("Bearer ") and a[7:] in S.tokens
        self.count_session_call()
        if not known:
            return self.error(401, "Invalid or expired token.")
        S.log({"api": "v2", "call": p, "method": self.command, "query": q, "body": req})
        if p == "/test-token":
            return self.reply(200, json.dumps({"ok": True}))
        if p == "/new-order" and self.command == "POST":
            prods = req.get("products") or []
            if not isinstance(prods, list) or not prods or any(x not in PRODUCTS for x in prods):
                return self.error(400, "Product not found.")
            oid = str(uuid.uuid4())
            with S.lock:
                S.orders[oid] = {"state": "new", "progress": 0, "created": time.time(), "zips": {}, "final": False,
                                 "polls": 0, "files": 0, "product": prods[0], "metadata": req.get("metadata", {})}
                S.counts["new_orders"] += 1
            return self.reply(201, json.dumps({"order_id": oid}))
        if p == "/list-orders":
            return self.reply(200, json.dumps({"orders": [
                {"order_id": k, "status": self.v2status(v), "created_at": v["created"], "batch_name": None,
                 "external": False} for k, v in S.orders.items()]}))
        if p == "/heartbeat":
            return self.reply(200, json.dumps({"ok": True}))
        oid = str(req.get("order_id") or q.get("order_id") or "")
        order = S.orders.get(oid)
        if order is None:
            return self.error(404, "Bucket not found.")
        if p == "/upload/multipart/initiate":
            return self.reply(200, json.dumps({"upload_id": "v2~" + uuid.uuid4().hex}))
        if p == "/upload/multipart/presigned-urls":
            upid, zi = req.get("upload_id"), req.get("zip_index")
            n = int(req.get("parts", 1))
            if n > 100:
                return self.error(400, "At most 100 parts.")
            return self.reply(200, json.dumps({"urls": [
                {"part_number": i + 1, "url": "%s/s3/%s/%s/%s?X-Amz-Signature=%s" % (
                    self.server.base, oid, zi, upid, uuid.uuid4().hex)} for i in range(n)]}))
        if p == "/upload/multipart/complete":
            parts = [{"ETag": x.get("etag")} for x in req.get("parts") or []]

            def ok():
                if req.get("final_part"):
                    self.start(order, order.get("product"))
                return self.reply(200, json.dumps({"ok": True}))
            return self.complete(oid, order, str(req.get("zip_index")), str(req.get("upload_id")), parts,
                                 bool(req.get("final_part")), ok)
        if p == "/upload/multipart/abort":
            order["state"] = "cancelled"
            return self.reply(200, json.dumps({"ok": True}))
        if p == "/status":
            self.advance(order)
            return self.reply(200, json.dumps({"order_id": oid, "status": self.v2status(order),
                                               "progress": order["progress"], "info": ""}))
        if p == "/cancel-order" and self.command == "PATCH":
            order["state"] = "cancelled"
            return self.reply(200, json.dumps({"ok": True}))
        if p == "/results":
            if order["state"] != "finished":
                return self.error(409, "Results not ready.")
            fmt = q.get("report_type", "")
            r = results_for(oid, order, S.args.demo)
            if fmt not in r:
                return self.error(400, "Invalid report_type.")
            return self.reply(200, r[fmt], "application/octet-stream")
        if p == "/failure-report":
            if order["state"] != "failed":
                return self.error(409, "Order has not failed.")
            fmt = q.get("report_type", "txt")
            data = {"txt": b"Analysis failed: insufficient diffusion directions\n", "png": png_bytes()}.get(fmt)
            if data is None:
                return self.error(400, "Invalid report_type.")
            return self.reply(200, data, "application/octet-stream")
        return self.error(404, "Not found.")

    def v2status(self, o):
        return {"new": "QUEUED", "uploaded": "QUEUED", "started": "PROCESSING", "failing": "PROCESSING",
                "finished": "COMPLETED", "failed": "FAILED", "cancelled": "CANCELLED"}[o["state"]]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", default=".")
    ap.add_argument("--api-key", default="test-api-key")
    ap.add_argument("--user", default="svc")
    ap.add_argument("--password", default="Service-Password-123!")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--fault", action="append", default=[], help="NAME=VALUE")
    ap.add_argument("--vector", action="store_true")
    ap.add_argument("--demo", action="store_true", help="mark every result as a synthetic DEMO")
    args = ap.parse_args()
    if args.vector:
        ok = check_vector()
        print("vector ok" if ok else "vector MISMATCH")
        return 0 if ok else 1
    st = State(args)
    for f in args.fault:
        k, _, v = f.partition("=")
        st.faults[k] = int(v)
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.st = st
    scheme = "http"
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    srv.base = "%s://127.0.0.1:%d" % (scheme, srv.server_address[1])
    with open(os.path.join(args.state, "url"), "w") as f:
        f.write(srv.base + "\n")
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
