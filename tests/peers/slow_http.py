"""Slow HTTP clients against np-httpd, with a health prober beside them.

slow_http.py PORT MODE NCONN NSRC DURATION TRICKLE PROBE_EVERY PROBE_TIMEOUT

NCONN connections from 127.0.0.2 ... 127.0.0.(1+NSRC) (loopback /8), each
sending a request line and then, every TRICKLE s, one header line (MODE
headers) or, after a login request with Content-Length: 100000, one body byte
(MODE body); a connection closed by the server is opened again 0.2 s later
(a bounded load), for DURATION s. From 127.0.0.1, GET /api/health every
PROBE_EVERY s with PROBE_TIMEOUT s to answer. Prints key=value counters:
conns, refused (closed within 0.5 s), cut (closed later), longest (s),
health_ok, health_fail, health_max (s).
"""
import socket
import sys
import threading
import time

port, mode, nconn, nsrc = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
duration, trickle, probe_every, probe_timeout = (float(a) for a in sys.argv[5:9])
end = time.time() + duration
lock = threading.Lock()
st = {"conns": 0, "refused": 0, "cut": 0, "longest": 0.0, "health_ok": 0, "health_fail": 0, "health_max": 0.0}
head = {"headers": b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        "body": b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n"}[mode]


def slow(i):
    src = "127.0.0.%d" % (2 + i % nsrc)
    while time.time() < end:
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            t0 = time.time()
            s.sendall(head)
            with lock:
                st["conns"] += 1
            n = 0
            while time.time() < end:
                try:
                    if s.recv(1024) == b"":
                        break
                except socket.timeout:
                    pass
                if time.time() - t0 >= trickle * (n + 1):
                    s.sendall(b"X-Slow-%d: a\r\n" % n if mode == "headers" else b" ")
                    n += 1
            life = time.time() - t0
            with lock:
                if time.time() < end:
                    st["refused" if life < 0.5 else "cut"] += 1
                st["longest"] = max(st["longest"], life)  # still open at the end counts too
            time.sleep(0.2)
        except OSError:
            with lock:
                st["refused"] += 1
            time.sleep(0.1)
        finally:
            s.close()


def health():
    time.sleep(1)
    while time.time() < end - 1:
        t0 = time.time()
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=probe_timeout)
            c.settimeout(probe_timeout)
            c.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            ok = c.recv(64).startswith(b"HTTP/1.1 200")
            c.close()
        except OSError:
            ok = False
        dt = time.time() - t0
        with lock:
            st["health_ok" if ok else "health_fail"] += 1
            st["health_max"] = max(st["health_max"], dt)
        time.sleep(max(0, probe_every - dt))


ts = [threading.Thread(target=slow, args=(i,)) for i in range(nconn)] + [threading.Thread(target=health)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(" ".join("%s=%s" % (k, round(v, 1) if isinstance(v, float) else v) for k, v in st.items()))
