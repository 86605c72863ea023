#!/usr/bin/python3
"""SMTP listener for tests (Debian's python3-aiosmtpd), 127.0.0.1 only.

Every accepted message is stored as OUTDIR/NNNN.eml (the raw message) after
OUTDIR/NNNN.json (envelope: mail_from, rcpt_tos, auth_user, tls), so a test
that sees the .eml can read both.

  smtp_sink.py OUTDIR --port N [--cert C --key K [--smtps]] [--user U --password P]
               [--reject-rcpt ADDR] [--rcpt-delay-ms MS] [--pidfile F]

--cert/--key alone: STARTTLS offered and required; with --smtps: implicit TLS.
--user/--password: AUTH PLAIN/LOGIN required (over TLS when a cert is given).
--rcpt-delay-ms: answer each RCPT TO only after MS (a sender caught mid-work
has not handed over a message yet).
Stops on SIGTERM or SIGINT."""
import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, outdir, reject, rcpt_delay_ms=0):
        self.outdir = outdir
        self.rcpt_delay = rcpt_delay_ms / 1000.0
        self.reject = (reject or "").lower()
        self.seq = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        if self.reject and address.lower() == self.reject:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        base = os.path.join(self.outdir, "%04d" % next(self.seq))
        auth = getattr(session, "auth_data", None)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "auth_user": auth.login.decode() if isinstance(auth, LoginPassword) else None,
                "tls": session.ssl is not None}
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 stored"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--smtps", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--reject-rcpt")
    ap.add_argument("--rcpt-delay-ms", type=int, default=0)
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    kw = {}
    ctx = None
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(a.cert, a.key)
        if not a.smtps:
            kw.update(tls_context=ctx, require_starttls=True)
    if a.user:
        def check(server, session, envelope, mechanism, data):
            good = (isinstance(data, LoginPassword) and data.login.decode() == a.user
                    and data.password.decode() == a.password)
            return AuthResult(success=good, handled=False, auth_data=data if good else None)
        kw.update(authenticator=check, auth_required=True, auth_require_tls=bool(a.cert))
    ctl = Controller(Store(a.outdir, a.reject_rcpt, a.rcpt_delay_ms), hostname="127.0.0.1", port=a.port,
                     ssl_context=ctx if a.smtps else None, server_hostname="localhost", **kw)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    ctl.start()
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(a.pidfile + ".tmp", a.pidfile)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    ctl.stop()


if __name__ == "__main__":
    main()
