#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A syslog collector for the tests of np-atna(8): an IHE ATNA audit record
repository on 127.0.0.1 that receives RFC 5424 messages over TLS (RFC 5425,
octet-counting framing) or UDP (RFC 5426) and appends each one to --out as a
JSON line: {"pri", "version", "ts", "host", "app", "procid", "msgid", "sd",
"bom", "msg", "peer", "conn"}. A frame that breaks RFC 5425 or RFC 5424 is
written as {"error": ...} and the connection is closed, so a test sees it.

  syslog_recv.py --port N --out FILE --tls --cert C --key K [--client-ca CA]
  syslog_recv.py --port N --out FILE --udp
"""
import argparse
import json
import re
import socket
import ssl
import sys
import threading

HEADER = re.compile(rb'^<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\])(?: (.*))?$', re.S)
lock = threading.Lock()
conns = 0


def record(out, obj):
    with lock:
        with open(out, 'a') as f:
            f.write(json.dumps(obj) + '\n')


def parse(raw, peer, conn):
    m = HEADER.match(raw)
    if not m:
        return {'error': 'not an RFC 5424 message', 'raw': raw[:200].decode('utf-8', 'replace'), 'peer': peer}
    msg = m.group(9) or b''
    bom = msg.startswith(b'\xef\xbb\xbf')
    if bom:
        msg = msg[3:]
    return {'pri': int(m.group(1)), 'version': int(m.group(2)), 'ts': m.group(3).decode(),
            'host': m.group(4).decode(), 'app': m.group(5).decode(), 'procid': m.group(6).decode(),
            'msgid': m.group(7).decode(), 'sd': m.group(8).decode(), 'bom': bom,
            'msg': msg.decode('utf-8', 'replace'), 'peer': peer, 'conn': conn}


def read_frames(sock, out, peer, conn):
    buf = b''
    while True:
        # MSG-LEN SP SYSLOG-MSG (RFC 5425 4.3): a nonzero length without
        # leading zero, at most 10 digits here.
        while b' ' not in buf[:12]:
            if len(buf) >= 12:
                record(out, {'error': 'bad octet-counting length', 'peer': peer})
                return
            data = sock.recv(65536)
            if not data:
                if buf:
                    record(out, {'error': 'connection closed inside a frame', 'peer': peer})
                return
            buf += data
        head, rest = buf.split(b' ', 1)
        if not head.isdigit() or head.startswith(b'0'):
            record(out, {'error': 'bad octet-counting length', 'peer': peer})
            return
        n = int(head)
        while len(rest) < n:
            data = sock.recv(65536)
            if not data:
                record(out, {'error': 'connection closed inside a frame', 'peer': peer})
                return
            rest += data
        record(out, parse(rest[:n], peer, conn))
        buf = rest[n:]


def serve_tls(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)
    if a.client_ca:
        ctx.load_verify_locations(a.client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', a.port))
    ls.listen(16)

    def one(c, peer):
        global conns
        try:
            s = ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError) as e:
            # A connection closed before any handshake is a port probe (wait_port).
            if 'EOF' not in str(e):
                record(a.out, {'error': 'TLS handshake failed: %s' % e, 'peer': peer})
            c.close()
            return
        with lock:
            conns += 1
            n = conns
        try:
            read_frames(s, a.out, peer, n)
        except (ssl.SSLError, OSError):
            pass
        finally:
            s.close()

    while True:
        c, addr = ls.accept()
        threading.Thread(target=one, args=(c, '%s:%d' % addr), daemon=True).start()


def serve_udp(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', a.port))
    while True:
        data, addr = s.recvfrom(65535)
        record(a.out, parse(data, '%s:%d' % addr, 0))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--tls', action='store_true')
    p.add_argument('--udp', action='store_true')
    p.add_argument('--cert')
    p.add_argument('--key')
    p.add_argument('--client-ca')
    a = p.parse_args()
    if a.tls == a.udp:
        sys.exit('syslog_recv.py: one of --tls or --udp')
    try:
        serve_tls(a) if a.tls else serve_udp(a)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
