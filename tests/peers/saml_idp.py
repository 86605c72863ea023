#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A small SAML 2.0 identity provider for tests: a test peer, not product code.

serve --state DIR --key K --cert C --sp-metadata URL [--nameid N --group G]
    HTTP on 127.0.0.1 (the URL is written to DIR/url).
    GET /sso   takes an AuthnRequest (HTTP-Redirect), answers an HTML page
               whose form POSTs a Response to the request's ACS URL,
               submitted by a script as real IdPs do. The Response is built
               from tests/data/saml/response.xml and its Assertion signed
               with the xmlsec1 command (as tests/e2e/71-saml.t does).
    GET /slo   takes a LogoutRequest (HTTP-Redirect), checks its signature
               with the certificate in the SP metadata, and redirects back
               to the SP's SingleLogoutService with a signed LogoutResponse.
    Every request is appended to DIR/requests.jsonl (what was checked).
logout-response --key K --issuer I --dest D --irt ID [--relay R] [--status S] [--sigalg A]
    print the query string of a signed LogoutResponse (HTTP-Redirect).
check-logout-request --cert C URL
    verify the signature of a LogoutRequest URL with C and print its XML;
    exit 1 when the signature does not verify.
"""
import argparse
import base64
import datetime
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, quote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(TOP, "data", "saml")


def now(delta=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def inflate(b64):
    return zlib.decompress(base64.b64decode(b64), -15).decode()


def deflate_b64(xml):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(c.compress(xml.encode()) + c.flush()).decode()


def enc(s):
    return quote(s, safe="")


def raw_params(query):
    """Name -> raw (still percent-encoded) value, as the signature covers them."""
    out = {}
    for part in query.split("&"):
        k, _, v = part.partition("=")
        out[k] = v
    return out


def sign_redirect(key_pem, kind, msg_b64, relay, sigalg=RSA_SHA256):
    q = "%s=%s" % (kind, enc(msg_b64))
    if relay is not None:
        q += "&RelayState=" + enc(relay)
    q += "&SigAlg=" + enc(sigalg)
    key = serialization.load_pem_private_key(key_pem, None)
    sig = key.sign(q.encode(), padding.PKCS1v15(), hashes.SHA256())
    return q + "&Signature=" + enc(base64.b64encode(sig).decode())


def verify_redirect(cert_pem, query, kind):
    """The decoded message XML when the HTTP-Redirect signature verifies, else None."""
    p = raw_params(query)
    octets = "%s=%s" % (kind, p.get(kind, ""))
    if "RelayState" in p:
        octets += "&RelayState=" + p["RelayState"]
    octets += "&SigAlg=" + p.get("SigAlg", "")
    q = {k: v[0] for k, v in parse_qs(query).items()}
    if q.get("SigAlg") != RSA_SHA256 or "Signature" not in q:
        return None
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        cert.public_key().verify(base64.b64decode(q["Signature"]), octets.encode(), padding.PKCS1v15(),
                                 hashes.SHA256())
    except InvalidSignature:
        return None
    return inflate(q[kind])


def logout_response(key_pem, issuer, dest, irt, relay, status="Success", sigalg=RSA_SHA256):
    xml = ('<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr%s" Version="2.0" IssueInstant="%s" '
           'Destination="%s" InResponseTo="%s"><saml:Issuer>%s</saml:Issuer><samlp:Status>'
           '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:%s"/></samlp:Status>'
           '</samlp:LogoutResponse>') % (uuid.uuid4().hex, now(), html.escape(dest), html.escape(irt),
                                          html.escape(issuer), status)
    return sign_redirect(key_pem, "SAMLResponse", deflate_b64(xml), relay, sigalg)


def signed_response(a, rq_id, acs):
    """A Response to request rq_id, its Assertion signed with xmlsec1."""
    aid = "_a" + uuid.uuid4().hex
    sig = open(os.path.join(DATA, "signature.xml")).read().strip().replace("@AID@", aid)
    irt = 'InResponseTo="%s"' % rq_id
    x = open(os.path.join(DATA, "response.xml")).read()
    for k, v in (("@RID@", "_r" + uuid.uuid4().hex), ("@AID@", aid), ("@IRT@", irt), ("@NOW@", now()),
                 ("@DEST@", html.escape(acs)), ("@ISS@", a.entity), ("@NAMEID@", html.escape(a.nameid)),
                 ("@NOA@", now(300)), ("@NB@", now(-60)), ("@AUD@", a.sp_entity),
                 ("@GROUP@", html.escape(a.group)), ("@SIG@", sig)):
        x = x.replace(k, v)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.xml")
        with open(src, "w") as f:
            f.write(x)
        out = subprocess.run(["xmlsec1", "--sign", "--privkey-pem", "%s,%s" % (a.key, a.cert), "--id-attr:ID",
                              "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", src],
                             capture_output=True, check=True)
    return out.stdout


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def record(self, rec):
        with open(os.path.join(self.server.a.state, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")

    def reply(self, code, body=b"", ctype="text/html; charset=utf-8", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        a = self.server.a
        if u.path == "/sso" and "SAMLRequest" in q:
            x = inflate(q["SAMLRequest"])
            rq_id = re.search(r' ID="([^"]+)"', x).group(1)
            acs = html.unescape(re.search(r' AssertionConsumerServiceURL="([^"]+)"', x).group(1))
            self.record({"call": "sso", "request_id": rq_id, "acs": acs, "relay": q.get("RelayState")})
            resp = base64.b64encode(signed_response(a, rq_id, acs)).decode()
            page = ('<!DOCTYPE html><html><head><title>Test IdP</title></head><body>'
                    '<form method="post" action="%s"><input type="hidden" name="SAMLResponse" value="%s">'
                    '<input type="hidden" name="RelayState" value="%s"><noscript><button>Continue</button>'
                    '</noscript></form><script>document.forms[0].submit()</script></body></html>') % (
                html.escape(acs), resp, html.escape(q.get("RelayState", "")))
            return self.reply(200, page.encode())
        if u.path == "/slo" and "SAMLRequest" in q:
            md = urllib.request.urlopen(a.sp_metadata, timeout=10).read().decode()
            c = re.search(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", md).group(1)
            pem = ("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % c).encode()
            slo = html.unescape(re.search(r'SingleLogoutService [^>]*Location="([^"]+)"', md).group(1))
            x = verify_redirect(pem, u.query, "SAMLRequest")
            if x is None:
                self.record({"call": "slo", "signature": "bad"})
                return self.reply(400, b"LogoutRequest signature does not verify")
            rq_id = re.search(r' ID="([^"]+)"', x).group(1)
            nameid = re.search(r"<saml:NameID[^>]*>([^<]*)</saml:NameID>", x).group(1)
            idx = re.search(r"<samlp:SessionIndex>([^<]*)</samlp:SessionIndex>", x)
            self.record({"call": "slo", "signature": "ok", "request_id": rq_id, "nameid": nameid,
                         "session_index": idx.group(1) if idx else None})
            back = slo + "?" + logout_response(open(a.key, "rb").read(), a.entity, slo, rq_id,
                                               q.get("RelayState"))
            return self.reply(302, b"", headers=(("Location", back),))
        return self.reply(404, b"not found")


def serve(a):
    srv = HTTPServer(("127.0.0.1", a.port), Handler)
    srv.a = a
    with open(os.path.join(a.state, "url"), "w") as f:
        f.write("http://127.0.0.1:%d\n" % srv.server_address[1])
    srv.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--state", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--entity", default="https://idp.test/metadata")
    s.add_argument("--sp-entity", default="neuropacs-agent")
    s.add_argument("--sp-metadata", required=True)
    s.add_argument("--nameid", default="alice@example.test")
    s.add_argument("--group", default="NeuropacsAdmins")
    r = sub.add_parser("logout-response")
    r.add_argument("--key", required=True)
    r.add_argument("--issuer", default="https://idp.test/metadata")
    r.add_argument("--dest", required=True)
    r.add_argument("--irt", required=True)
    r.add_argument("--relay")
    r.add_argument("--status", default="Success")
    r.add_argument("--sigalg", default=RSA_SHA256)
    c = sub.add_parser("check-logout-request")
    c.add_argument("--cert", required=True)
    c.add_argument("url")
    a = ap.parse_args()
    if a.cmd == "serve":
        os.makedirs(a.state, exist_ok=True)
        return serve(a)
    if a.cmd == "logout-response":
        print(logout_response(open(a.key, "rb").read(), a.issuer, a.dest, a.irt, a.relay, a.status, a.sigalg))
        return 0
    x = verify_redirect(open(a.cert, "rb").read(), urlsplit(a.url).query, "SAMLRequest")
    if x is None:
        print("signature does not verify", file=sys.stderr)
        return 1
    print(x)
    return 0


if __name__ == "__main__":
    sys.exit(main())
