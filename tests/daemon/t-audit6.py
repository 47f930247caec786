#!/usr/bin/env python3
"""The audit log's lines for IPv6, UDP and ICMP, with real packets.

The bed's pods are dual-stack here (x/a 10.9.1.1 and fd00:9:1::1, ...);
allow-x admits namespace x to x/a on TCP 80 only, namespace x audits
`all`.  PASS when:

  - a TCP probe y/a -> [fd00:9:1::1]:80 (denied) is one deny line with the
    IPv6 addresses, both pods and x/allow-x; x/b -> [fd00:9:1::1]:80
    (allowed) one allow line naming x/allow-x ingress rule 0;
  - three UDP datagrams y/a -> 10.9.1.1:9999 from one socket within a
    second (each new to conntrack: none is answered) are one line, protocol
    udp, with count 3;
  - a ping y/a -> x/a, IPv4 and IPv6 (ICMP is no port allow-x admits), is
    a deny line with protocol icmp, resp. icmpv6, and no ports.
"""
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

V6 = {"x/a": "fd00:9:1::1", "x/b": "fd00:9:1::2", "y/a": "fd00:9:2::1",
      "z/a": "fd00:9:3::1"}
dlib.PODS = [(ns, n, "%s,%s" % (ip, V6["%s/%s" % (ns, n)]), lab)
             for ns, n, ip, lab in dlib.PODS]


def cluster():
    doc = dlib.cluster_doc()
    for item in doc["items"]:
        md = item["metadata"]
        if item["kind"] == "Namespace" and md["name"] == "x":
            md["annotations"] = {"ovs-netpol.io/audit": "all"}
        if item["kind"] == "Pod":
            ips = item["status"]["podIP"].split(",")
            item["status"]["podIP"] = ips[0]
            item["status"]["podIPs"] = [{"ip": a} for a in ips]
    return doc


def lines(path):
    time.sleep(2.5)     # the folding window and the flush
    try:
        with open(path) as f:
            return [json.loads(l) for l in f]
    except FileNotFoundError:
        return []


def test(bed):
    problems = []
    log = os.path.join(bed.work, "audit.log")
    bed.start(daemon_args=["--audit-log", log])
    bed.write("cluster.json", cluster())
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()

    # IPv6, TCP
    s_deny = bed.sport
    v = bed.probe_once("y/a", V6["x/a"])
    s_allow = bed.sport
    w = bed.probe_once("x/b", V6["x/a"])
    if (v, w) != ("denied", "allowed"):
        problems.append("IPv6 probes: %s, %s (want denied, allowed)" % (v, w))
    got = lines(log)
    for ln in got:
        dlib.log("  " + json.dumps(ln))
    want = [
        {"verdict": "deny", "direction": "ingress", "protocol": "tcp",
         "src": V6["y/a"], "src_port": s_deny, "dst": V6["x/a"], "dst_port": 80,
         "src_pod": "y/a", "dst_pod": "x/a", "policies": ["x/allow-x"], "count": 1},
        {"verdict": "allow", "direction": "ingress", "protocol": "tcp",
         "src": V6["x/b"], "src_port": s_allow, "dst": V6["x/a"], "dst_port": 80,
         "src_pod": "x/b", "dst_pod": "x/a", "policy": "x/allow-x", "rule": 0,
         "count": 1},
    ]
    for wl in want:
        n = sum(all(l.get(k) == x for k, x in wl.items()) for l in got)
        if n != 1:
            problems.append("IPv6: %d lines match %s" % (n, wl))
    if len(got) != 2:
        problems.append("IPv6: %d lines, not 2" % len(got))
    seen = len(got)

    # UDP: three datagrams of one tuple, folded
    sender = ("import socket,time\n"
              "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
              "s.bind(('0.0.0.0',41000))\n"
              "for i in range(3):\n"
              "    s.sendto(b'x',('10.9.1.1',9999)); time.sleep(0.1)\n")
    dlib.run(["ip", "netns", "exec", bed.pods["y/a"]["netns"], sys.executable, "-c",
              sender])
    got = lines(log)[seen:]
    for ln in got:
        dlib.log("  " + json.dumps(ln))
    udp = [l for l in got if l.get("protocol") == "udp"]
    if len(udp) != 1 or udp[0].get("count") != 3 or udp[0].get("src_port") != 41000 \
            or udp[0].get("dst_port") != 9999 or udp[0].get("verdict") != "deny":
        problems.append("UDP: want one deny line with count 3, got %s" % udp)
    seen += len(got)

    # ICMP, both families: one echo request each (raw sockets: this image
    # has no ping), and the answer they must not get
    for dst in ("10.9.1.1", V6["x/a"]):
        got = dlib.echo_request(bed, "y/a", dst)
        if got != "timeout":
            problems.append("echo request to %s: %s (want timeout)"
                            % (dst, got))
    got = lines(log)[seen:]
    for ln in got:
        dlib.log("  " + json.dumps(ln))
    for proto, src, dst in (("icmp", "10.9.2.1", "10.9.1.1"),
                            ("icmpv6", V6["y/a"], V6["x/a"])):
        m = [l for l in got if l.get("protocol") == proto]
        if len(m) != 1 or m[0].get("src") != src or m[0].get("dst") != dst \
                or "src_port" in m[0] or "dst_port" in m[0] \
                or m[0].get("policies") != ["x/allow-x"]:
            problems.append("%s: want one deny line without ports, got %s" % (proto, m))
    ok = not problems
    return ok, "; ".join(problems) if problems else \
        "IPv6 deny and allow lines, UDP folded to count 3, icmp and icmpv6 lines"


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("audit6", test))
