#!/usr/bin/env python3
"""Spoofed TCP SYNs and a sniffer that counts them, for t-spoof-restart.py.

    ip netns exec NS spoof.py send --src IP --dst IP --port P [--pps N]
        raw IPv4 SYNs with a forged source address, source ports cycling
        from 40000, until stdin closes; prints the number sent.
    ip netns exec NS spoof.py count --src IP --port P [--dev eth0]
        counts the SYNs from SRC to port P with a source port >= 40000 that
        arrive on DEV, until stdin closes; prints the count, then the
        CLOCK_MONOTONIC time of each arrival, one a line.
"""
import argparse
import os
import selectors
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def syn(src, dst, sport, dport, seq):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = s + d + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), sport, 0, 64,
                     socket.IPPROTO_TCP, 0, s, d)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


def stdin_closed(sel):
    for key, _ in sel.select(0):
        if not os.read(sys.stdin.fileno(), 4096):
            return True
    return False


def send(a):
    sk = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    n, sport = 0, 40000
    burst = max(1, a.pps // 1000)
    nxt = time.monotonic()
    while not stdin_closed(sel):
        for _ in range(burst):
            try:
                sk.sendto(syn(a.src, a.dst, sport, a.port, n), (a.dst, 0))
                n += 1
            except OSError:
                pass
            sport = 40000 if sport >= 65000 else sport + 1
        nxt += 0.001
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()
    print(n, flush=True)


def count(a):
    sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    sk.bind((a.dev, 0))
    sk.setblocking(False)
    src = socket.inet_aton(a.src)
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    sel.register(sk, selectors.EVENT_READ, "sock")
    n = 0
    times = []
    while True:
        done = False
        for key, _ in sel.select(1):
            if key.data == "stdin":
                done = not os.read(sys.stdin.fileno(), 4096)
                continue
            while True:
                try:
                    f = sk.recv(2048)
                except BlockingIOError:
                    break
                ip = f[14:]
                if len(ip) < 40 or ip[9] != socket.IPPROTO_TCP or ip[12:16] != src:
                    continue
                ihl = (ip[0] & 15) * 4
                sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
                flags = ip[ihl + 13]
                if dport == a.port and sport >= 40000 and flags & 0x02:
                    n += 1
                    times.append(time.monotonic())
        if done:
            break
    print(n)
    print("\n".join("%.6f" % t for t in times), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("send", "count"))
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pps", type=int, default=10000)
    ap.add_argument("--dev", default="eth0")
    a = ap.parse_args()
    send(a) if a.mode == "send" else count(a)
