#!/usr/bin/env python3
"""A pod added through ovs-netpol-cni never sends or receives a packet
its policies deny, and nothing reaches it or leaves it before its
policies are in: real packets from the moment its port is up.

The runtime (chain.py) ADDs pod x/n: np-test-main makes its veth, puts
it on br-int and gives it addresses from host-local; the moment that
main plugin returns (the port is up, before ovs-netpol-cni runs), a
listener starts in the pod and four continuous probers (a TCP connect
every 20 ms, each from a new source port; tests/daemon/prober.py):
  x/n -> x/a:80  allowed by x/n-policy (egress) and allow-x (ingress)
  x/n -> z/a:80  denied: x/n is isolated for egress
  y/a -> x/n:80  denied: x/n is isolated for ingress
  x/b -> x/n:80  allowed by x/n-policy
The daemon does not know pod x/n yet: ovs-netpol-cni binds the port and
must keep waiting (ADD still running 2 s after the bind).  Then the pod
is written to the daemon's source (time W); ADD returns (time R).

PASS when: the two denied pairs never pass; the two allowed pairs never
pass before W (nothing can have installed x/n's flows before the daemon
knew x/n) and always pass after R (the policies are in when the
containers would start); ADD returned only after W, with the marker
set.  Then DEL.

Before that, what the daemon answers for on its own (README, "A new pod
never runs before its policies"): a port the main plugin plugged, before
ovs-netpol-cni bound it (pod x/w), carries no pod and sends no IP, also
right after ADD returned (no datapath flow cached from before the bind
decides a packet); and from the moment x/n's port is up, nothing reaches
or leaves x/n before its policies, replies included (y/a -> x/n:80 and
x/b -> x/n:80 never complete before the daemon knew x/n).
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clib  # noqa: E402
from clib import dlib  # noqa: E402


def n_policy():
    peers = [{"podSelector": {}}]
    ports = [{"protocol": "TCP", "port": 80}]
    return dlib.policy("x", "n-policy", {
        "podSelector": {"matchLabels": {"app": "n"}},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": peers, "ports": ports}],
        "egress": [{"to": peers, "ports": ports}]})


def marker_of(bed, port):
    ids = clib.external_ids(bed, port) or {}
    return ids.get(clib.MARKER)


def test(bed):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x(), n_policy()]))
    bed.sync()
    rt = clib.setup(bed)
    problems = []
    listener = None

    # -- a port the main plugin plugged, before ovs-netpol-cni bound it:
    # it carries no pod, so it sends no IP.
    conf = clib.conflist(bed)
    att_w = clib.attachment(bed, "x", "w")
    bed.write("pod-x-w.json", clib.pending_pod("x", "w", {"app": "n"}))
    window = {}

    def probe_unbound(i, plugin, result):
        if i == 0:
            v4 = [ip["address"].split("/")[0] for ip in result["ips"] if ":" not in ip["address"]][0]
            bed.pods["x/w"] = {"netns": os.path.basename(att_w.netns), "ip": v4}
            window["ids"] = clib.external_ids(bed, clib.host_port(result))
            window["z"] = bed.probe_once("x/w", "10.9.3.1")
    rt.add(conf, att_w, probe_unbound)
    dlib.log("the port before ovs-netpol-cni ran (external_ids %s): "
             "x/w -> z/a:80 %s (x/w is isolated for egress once bound)" % (
                 json.dumps(window.get("ids"), sort_keys=True), window.get("z")))
    after = bed.probe_once("x/w", "10.9.3.1")
    dlib.log("right after ADD: x/w -> z/a:80 %s" % after)
    if window.get("z") != "denied":
        problems.append("x/w -> z/a:80 %s from its port before ovs-netpol-cni "
                        "bound it: a port that carries no pod must send no IP"
                        % window.get("z"))
    if after != "denied":
        problems.append("x/w -> z/a:80 %s right after ADD returned" % after)
    rt.delete(conf, att_w)

    # -- x/n: probes from the moment its port is up
    att = clib.attachment(bed, "x", "n")
    state = {}
    up = threading.Event()

    def port_up(i, plugin, result):
        if i != 0:
            return
        state["t_up"] = time.monotonic()
        state["port"] = clib.host_port(result)
        v4 = [ip["address"].split("/")[0] for ip in result["ips"] if ":" not in ip["address"]][0]
        netns = os.path.basename(att.netns)
        bed.pods["x/n"] = {"netns": netns, "ip": v4}
        spec = os.path.join(bed.work, "serve-n.spec")
        with open(spec, "w") as f:
            f.write("%s tcp 80\n" % netns)
        state["listener"] = subprocess.Popen(
            [bed.probe_bin, "serve", "--spec", spec, "--control-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        state["ready"] = state["listener"].stdout.readline()
        bed.prober("x/n", dlib.SERVER, "n-xa", 40000)
        bed.prober("x/n", "10.9.3.1", "n-za", 42000)
        bed.prober("y/a", v4, "ya-n", 44000)
        bed.prober("x/b", v4, "xb-n", 46000)
        state["ip"] = v4
        up.set()

    def add():
        try:
            state["result"] = rt.add(conf, att, port_up)
        except Exception as e:      # reported below
            state["error"] = e
        state["t_ret"] = time.monotonic()

    th = threading.Thread(target=add)
    th.start()
    try:
        if not up.wait(60):
            th.join(60)
            return False, "the main plugin did not bring the port up: %s" % state.get("error")
        listener = state["listener"]
        if not state["ready"].startswith("ready"):
            problems.append("listener in x/n: %r" % state["ready"])
        port = state["port"]
        t0 = time.monotonic()
        while (clib.external_ids(bed, port) or {}).get("iface-id") != "x_n":
            if time.monotonic() - t0 > 20 or not th.is_alive():
                break
            time.sleep(0.005)
        t_bound = time.monotonic()
        dlib.log("x/n: port %s up at 0, bound (seen) at +%.0f ms" % (
            port, (t_bound - state["t_up"]) * 1e3))
        time.sleep(2.0)
        if not th.is_alive():
            problems.append("ADD returned before the daemon knew pod x/n (%s)"
                            % (state.get("error") or "success"))
        mk = marker_of(bed, port)
        if mk:
            problems.append("marker %r before the daemon knew pod x/n" % mk)
        t_write = time.monotonic()
        bed.write("pod-x-n.json", clib.pending_pod("x", "n", {"app": "n"}))
        th.join(60)
        t_ret = state.get("t_ret", time.monotonic())
        mk = marker_of(bed, port)
        dlib.log("x/n: pod written at +%.0f ms, ADD returned at +%.0f ms (%s), "
                 "marker %r" % ((t_write - state["t_up"]) * 1e3,
                                (t_ret - state["t_up"]) * 1e3,
                                "ok" if "result" in state else state.get("error"), mk))
        if "result" not in state:
            problems.append("ADD failed: %s" % state.get("error"))
        if t_ret < t_write:
            problems.append("ADD returned before the pod was known")
        if mk != "true":
            problems.append("no marker after ADD returned")
        time.sleep(2.0)
    finally:
        rows = bed.stop_probers()
        if listener:
            listener.stdin.close()
            listener.wait(timeout=10)
        th.join(60)

    def sent(label, lo, hi):
        return [r for r in rows.get(label, []) if lo <= r[0] < hi]

    t_up = state["t_up"]
    ms = lambda t: (t - t_up) * 1e3     # noqa: E731
    # What ovs-netpol-cni answers for: from its bind on, nothing the
    # policy denies leaves the pod; nothing is allowed before the daemon
    # can know the pod; when ADD returns the policies are in.
    for label, what, want in (("n-za", "x/n -> z/a:80", "denied"),
                              ("ya-n", "y/a -> x/n:80", "denied"),
                              ("n-xa", "x/n -> x/a:80", "allowed"),
                              ("xb-n", "x/b -> x/n:80", "allowed")):
        allrows = rows.get(label, [])
        unbound = sent(label, 0, t_bound)
        pending = sent(label, t_bound, t_ret)
        done = sent(label, t_ret, float("inf"))
        dlib.log("%s: %d probes; before the bind was seen %s, until ADD returned "
                 "%s, after %s" % (what, len(allrows), dlib.summarize(unbound),
                                   dlib.summarize(pending), dlib.summarize(done)))
        if len(done) < 10 or len(sent(label, t_bound, t_write)) < 10:
            problems.append("%s: too few probes" % what)
        bad = dlib.judge(done, want)
        if bad:
            problems.append("%s %s %d times after ADD returned (first at +%.0f ms): "
                            "the policies were not in" % (
                                what, "passed" if want == "denied" else "failed",
                                len(bad), ms(bad[0][0])))
        if label.startswith("n-"):
            # Sent by the pod after its port was bound.
            early = dlib.judge(sent(label, t_bound, t_ret if want == "denied" else t_write),
                               "denied")
            if early:
                problems.append("%s passed %d times after the port was bound, before "
                                "its policies (first at +%.0f ms)" % (
                                    what, len(early), ms(early[0][0])))
        # What the daemon answers for, before the plugin can do anything
        # or while the daemon does not know the pod: a port not yet bound
        # carries no pod and sends no IP; a bound port whose pod has no
        # flows sends no IP, not even a reply (dropped before conntrack).
        # To x/n, before the daemon knew x/n (an allowed pair may pass
        # once its flows are in, a moment before ADD returns).
        leaked = dlib.judge(unbound if label.startswith("n-")
                            else sent(label, 0, t_ret if want == "denied" else t_write),
                            "denied")
        if leaked:
            problems.append("%s passed %d times before its policies were in (first "
                            "at +%.0f ms, %s)" % (what, len(leaked), ms(leaked[0][0]),
                                                  "port not bound yet"
                                                  if leaked[0][0] < t_bound
                                                  else "replies from the bound port"))

    if "result" in state:
        rt.delete(conf, att)
        if clib.port_exists(bed, state["port"]):
            problems.append("DEL left the port")
    if problems:
        return False, "; ".join(problems)
    return True, ("the unbound port sent nothing; ADD returned only after the pod "
                  "was known and its policies in; nothing reached or left the pod "
                  "before; after ADD every verdict right")


def main():
    def fn(bed):
        try:
            return test(bed)
        finally:
            clib.cleanup(bed)
    return dlib.main_wrapper("cni-newpod", fn)


if __name__ == "__main__":
    sys.exit(main())
