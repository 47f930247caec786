#!/usr/bin/env python3
"""Long-lived TCP connections and UDP flows for tests/e2e/established.sh.

    long-lived.py server LOG PORT
    long-lived.py client LOG ADDR PORT SPORT

The server listens on PORT (TCP and UDP, IPv4 and IPv6).  The client opens
one TCP connection and one UDP flow from SPORT to ADDR:PORT.  Every 100 ms
each side sends a numbered line on each of them: the server on every TCP
connection it accepted and to every UDP peer it heard from.  So each
direction is seen on its own: a reply direction that passes while the
original one is cut shows up, which an echo would hide.

Each side logs one line per message received, "TIME FLOW PEER SEQ" (FLOW is
tcp4, udp4, tcp6 or udp6; TIME from time.time()), and the server
"TIME accept FLOW PEER" per connection.  The client never reconnects: when
its TCP connection ends it logs "TIME tcp-closed FLOW REASON" and exits 1,
so the test knows that data after a cut came on the same connection.
"""
import errno
import selectors
import socket
import sys
import time

TICK = 0.1


def flow_name(proto, addr):
    v4 = "." in addr and (":" not in addr or addr.startswith("::ffff:"))
    return proto + ("4" if v4 else "6")


class Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def put(self, *fields):
        self.f.write("%.6f %s\n" % (time.time(), " ".join(map(str, fields))))


def split_lines(buf, data):
    """Appends 'data' to 'buf'; returns (complete lines, rest)."""
    buf += data
    *lines, rest = buf.split(b"\n")
    return lines, rest


def server(log, port):
    sel = selectors.DefaultSelector()
    lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    lsock.bind(("::", port))
    lsock.listen(16)
    usock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    usock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    usock.bind(("::", port))
    sel.register(lsock, selectors.EVENT_READ, "listen")
    sel.register(usock, selectors.EVENT_READ, "udp")
    conns = {}                  # socket -> [flow, peer, unparsed bytes]
    udp_peers = {}              # address -> flow
    seq = 0
    next_tick = time.monotonic()
    while True:
        for key, _ in sel.select(max(0, next_tick - time.monotonic())):
            s = key.fileobj
            if key.data == "listen":
                c, addr = s.accept()
                c.setblocking(False)
                flow = flow_name("tcp", addr[0])
                conns[c] = [flow, "%s:%d" % addr[:2], b""]
                sel.register(c, selectors.EVENT_READ, "tcp")
                log.put("accept", flow, conns[c][1])
            elif key.data == "udp":
                data, addr = s.recvfrom(2048)
                flow = flow_name("udp", addr[0])
                udp_peers[addr] = flow
                for line in data.split(b"\n"):
                    if line:
                        log.put(flow, "%s:%d" % addr[:2], line.decode())
            else:
                st = conns[s]
                try:
                    data = s.recv(65536)
                except OSError as e:
                    data = b""
                    log.put("tcp-closed", st[0], st[1], e.strerror)
                if not data:
                    sel.unregister(s)
                    s.close()
                    del conns[s]
                    continue
                lines, st[2] = split_lines(st[2], data)
                for line in lines:
                    log.put(st[0], st[1], line.decode())
        if time.monotonic() >= next_tick:
            next_tick += TICK
            msg = b"s%d\n" % seq
            seq += 1
            for c in conns:
                try:
                    c.send(msg)
                except OSError:
                    pass        # Buffer full while cut: drop the line.
            for addr in udp_peers:
                try:
                    usock.sendto(msg, addr)
                except OSError:
                    pass


def client(log, addr, port, sport):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    any_addr = "::" if family == socket.AF_INET6 else "0.0.0.0"
    tsock = socket.socket(family, socket.SOCK_STREAM)
    tsock.bind((any_addr, sport))
    tsock.settimeout(5)
    tsock.connect((addr, port))
    tsock.setblocking(False)
    usock = socket.socket(family, socket.SOCK_DGRAM)
    usock.bind((any_addr, sport))
    usock.connect((addr, port))
    usock.setblocking(False)
    tflow, uflow = flow_name("tcp", addr), flow_name("udp", addr)
    peer = "%s:%d" % (addr, port)
    sel = selectors.DefaultSelector()
    sel.register(tsock, selectors.EVENT_READ, "tcp")
    sel.register(usock, selectors.EVENT_READ, "udp")
    buf = b""
    seq = 0
    next_tick = time.monotonic()
    while True:
        for key, _ in sel.select(max(0, next_tick - time.monotonic())):
            if key.data == "udp":
                try:
                    data = usock.recv(2048)
                except OSError:
                    continue    # An ICMP error on the connected socket.
                for line in data.split(b"\n"):
                    if line:
                        log.put(uflow, peer, line.decode())
                continue
            try:
                data = tsock.recv(65536)
            except OSError as e:
                log.put("tcp-closed", tflow, peer, e.strerror)
                sys.exit(1)
            if not data:
                log.put("tcp-closed", tflow, peer, "EOF")
                sys.exit(1)
            lines, buf = split_lines(buf, data)
            for line in lines:
                log.put(tflow, peer, line.decode())
        if time.monotonic() >= next_tick:
            next_tick += TICK
            msg = b"c%d\n" % seq
            seq += 1
            try:
                tsock.send(msg)
            except BlockingIOError:
                pass
            except OSError as e:
                log.put("tcp-closed", tflow, peer, e.strerror)
                sys.exit(1)
            try:
                usock.send(msg)
            except OSError as e:
                if e.errno not in (errno.ECONNREFUSED, errno.EAGAIN):
                    raise


def main(argv):
    if len(argv) == 4 and argv[1] == "server":
        server(Log(argv[2]), int(argv[3]))
    elif len(argv) == 6 and argv[1] == "client":
        client(Log(argv[2]), argv[3], int(argv[4]), int(argv[5]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
