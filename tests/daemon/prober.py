#!/usr/bin/env python3
"""Continuous TCP probes from the network namespace it runs in:

    ip netns exec NETNS prober.py --src IP --dst IP --port P --out FILE
        [--interval 0.02] [--timeout 0.9] [--sport-first 20000]

Every INTERVAL seconds a new non-blocking connect from SRC:SPORT (a new
source port each time, so no conntrack entry of an earlier probe decides a
later one) to DST:PORT.  Its result: "connected" (handshake done),
"refused" (RST: the packet got there), "timeout" (no answer within TIMEOUT,
below TCP's first SYN retransmission at 1 s, so one packet decides) or
"error" (local).  When stdin closes or on SIGTERM it stops sending, lets
the probes in flight finish and writes one JSON line per probe to FILE:
[t_send (CLOCK_MONOTONIC, comparable between processes), result, ms].
"""
import argparse
import errno
import json
import os
import selectors
import signal
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--timeout", type=float, default=0.9)
    ap.add_argument("--sport-first", type=int, default=20000)
    a = ap.parse_args()

    stop = [False]
    signal.signal(signal.SIGTERM, lambda *x: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *x: stop.__setitem__(0, True))
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    sport = a.sport_first
    inflight = {}           # sock -> (t_send, deadline)
    rows = []
    nxt = time.monotonic()

    def finish(s, result):
        t0, _ = inflight.pop(s)
        try:
            sel.unregister(s)
        except (KeyError, ValueError):
            pass
        # RST instead of FIN: no TIME_WAIT in this netns
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        except OSError:
            pass
        s.close()
        rows.append([round(t0, 6), result, round((time.monotonic() - t0) * 1000, 2)])

    while not stop[0] or inflight:
        now = time.monotonic()
        if not stop[0] and now >= nxt:
            nxt += a.interval
            if nxt < now:
                nxt = now + a.interval
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setblocking(False)
            t0 = time.monotonic()
            try:
                s.bind((a.src, sport))
                rc = s.connect_ex((a.dst, a.port))
            except OSError as e:
                rc = e.errno
            sport += 1
            if sport > 65000:
                sport = a.sport_first
            inflight[s] = (t0, t0 + a.timeout)
            if rc in (0,):
                finish(s, "connected")
            elif rc == errno.ECONNREFUSED:
                finish(s, "refused")
            elif rc == errno.EINPROGRESS:
                sel.register(s, selectors.EVENT_WRITE, "probe")
            else:
                finish(s, "error")
        now = time.monotonic()
        wait = min([d for _, d in inflight.values()] + ([nxt] if not stop[0] else []),
                   default=now + 0.1) - now
        for key, _ in sel.select(max(0.0, wait)):
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):
                    sel.unregister(sys.stdin)
                    stop[0] = True
                continue
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            finish(s, "connected" if err == 0 else
                   "refused" if err == errno.ECONNREFUSED else "error")
        now = time.monotonic()
        for s, (t0, dl) in list(inflight.items()):
            if now >= dl:
                finish(s, "timeout")

    with open(a.out, "w") as f:
        for r in sorted(rows):
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
