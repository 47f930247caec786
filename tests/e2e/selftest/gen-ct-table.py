#!/usr/bin/env python3
"""Writes ct-table.json, the case whose verdicts ct-table.flows gives.

The rules below restate ct-table.flows; run this after changing either.
"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
model = json.load(open(os.path.join(HERE, "..", "model.json")))["items"]
pods = {"%s/%s" % (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in model if o["kind"] == "Pod"}
ip4 = {k: o["status"]["podIP"] for k, o in pods.items()}
ip6 = {}


def new_pod(ns, name, v4, v6):
    o = copy.deepcopy(pods["x/a"])
    o["metadata"] = {"name": name, "namespace": ns, "labels": {"pod": name}}
    o["status"]["podIP"] = v4
    o["status"]["podIPs"] = [{"ip": v4}, {"ip": v6}]
    return o


def denied(src, dst, port, proto, fam):
    if fam == 4:
        s, d = ip4[src], ip4[dst]
        return ((proto, d, port) in {("TCP", "10.244.1.11", 80),
                                     ("SCTP", "10.244.1.12", 81),
                                     ("UDP", "10.244.2.13", 81)}
                or s == "10.244.3.13")
    return (proto, ip6[dst], port) == ("TCP", "fd00:10:244:3::14", 81)


def matrix(keys, fam=4):
    out = []
    for proto in ("TCP", "UDP", "SCTP"):
        for port in (80, 81):
            for s in keys:
                for d in keys:
                    if s == d:
                        continue
                    p = {"from": s, "to": d, "port": port, "protocol": proto,
                         "allowed": not denied(s, d, port, proto, fam)}
                    if fam == 6:
                        p["ipFamily"] = "IPv6"
                    out.append(p)
    return out


steps = []
base = sorted(pods)
steps.append({"comment": "the model: every pair, port and protocol",
              "apply": [], "delete": [], "probes": matrix(base)})
yd = new_pod("y", "d", "10.244.2.14", "fd00:10:244:2::14")
zd = new_pod("z", "d", "10.244.3.14", "fd00:10:244:3::14")
for k, o in (("y/d", yd), ("z/d", zd)):
    ip4[k] = o["status"]["podIP"]
    ip6[k] = o["status"]["podIPs"][1]["ip"]
relabelled = copy.deepcopy(pods["x/a"])
relabelled["metadata"]["labels"] = {"pod": "a", "new": "label"}
steps.append({"comment": "adds dual-stack y/d and z/d, relabels x/a (keeps its netns)",
              "apply": [yd, zd, relabelled], "delete": [],
              "probes": matrix(base + ["y/d", "z/d"])
              + matrix(["y/d", "z/d"], fam=6)})
del ip4["y/d"]
steps.append({"comment": "deletes y/d",
              "apply": [], "delete": [{"kind": "Pod", "namespace": "y", "name": "d"}],
              "probes": matrix(base + ["z/d"])})
case = {"name": "selftest-ct-table", "source": "tests/e2e/selftest/gen-ct-table.py",
        "description": "verdicts of the hand-written table ct-table.flows: TCP to "
        "x/a:80, SCTP to x/b:81 (x/b:80 open: the SCTP rounds matter), UDP to "
        "y/c:81, IPv6 TCP to z/d:81 and everything from z/c are dropped",
        "steps": steps}
with open(os.path.join(HERE, "ct-table.json"), "w") as f:
    json.dump(case, f, indent=1)
    f.write("\n")
print("%d steps, %d probes" % (len(steps), sum(len(s["probes"]) for s in steps)))
