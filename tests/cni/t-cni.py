#!/usr/bin/env python3
"""ovs-netpol-cni against the CNI spec, driven as a container runtime
drives it (chain.py: environment, stdin, stdout, exit status), chained
after np-test-main (a veth on br-int, addresses from the real
host-local), with ovs-netpold running on the sandbox switch.

Cases: VERSION; ADD in 1.0.0, 0.4.0 and 0.3.1 (external_ids set, result
== prevResult, marker there when ADD returns); CHECK, and CHECK after
someone changed iface-id; DEL, twice, with the interface gone, and after
someone rebound the port; ADD without the daemon (error 11 after the
timeout, port left bound, the runtime's DEL cleans up); a port another
pod claims; bad input (CNI_ARGS, no prevResult, cniVersion, JSON,
environment, prevResult's addresses), each with its code and naming the
field.  Prints one line per case, then PASS|FAIL.
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clib  # noqa: E402
from clib import chain, dlib  # noqa: E402


class Case:
    def __init__(self):
        self.problems = []

    def want(self, ok, what):
        if not ok:
            self.problems.append(what)
        return ok


def expect_error(c, rt, label, fn, code, field, plugin="ovs-netpol-cni"):
    """fn() must raise a CNIError from 'plugin' with 'code', exit status
    non-zero, the error JSON on stdout, and 'field' in its details."""
    try:
        fn()
    except chain.CNIError as e:
        err = e.error
        dlib.log("  %s: %s exit %d, code %s: %s" % (label, e.plugin, e.status,
                                                    e.code, err.get("details")))
        c.want(e.plugin == plugin, "%s: error from %s, not %s" % (label, e.plugin, plugin))
        c.want(e.status != 0, "%s: exit status 0" % label)
        c.want(e.code == code, "%s: code %s, want %d" % (label, e.code, code))
        c.want(set(err) >= {"cniVersion", "code", "msg", "details"},
               "%s: error JSON lacks keys: %r" % (label, err))
        c.want(field in (err.get("details") or ""),
               "%s: details do not name %r: %r" % (label, field, err.get("details")))
        return e
    c.want(False, "%s: no error" % label)
    return None


def do_add(bed, rt, c, version, ns, pod, labels, extra=None):
    """ADD through the chain; checks result == prevResult and the port's
    external_ids.  Returns (conflist, attachment, result)."""
    bed.write("pod-%s-%s.json" % (ns, pod), clib.pending_pod(ns, pod, labels))
    conf = clib.conflist(bed, version, cni_extra=extra)
    att = clib.attachment(bed, ns, pod)
    results = []
    t = time.monotonic()
    result = rt.add_or_cleanup(conf, att, after=lambda i, p, r: results.append(r))
    took = time.monotonic() - t
    port = clib.host_port(result)
    ids = clib.external_ids(bed, port)
    dlib.log("  ADD %s %s/%s: %.2f s, port %s, external_ids %s" % (
        version, ns, pod, took, port, json.dumps(ids, sort_keys=True)))
    c.want(result == results[0], "ADD %s: result is not prevResult:\n%s\n%s" % (
        version, json.dumps(result), json.dumps(results[0])))
    c.want(result.get("cniVersion") == version, "ADD %s: result cniVersion %r" % (
        version, result.get("cniVersion")))
    if version != "1.0.0":
        c.want(all(ip.get("version") in ("4", "6") for ip in result["ips"]),
               "ADD %s: ips without version" % version)
    fams = {":" in ip["address"] for ip in result["ips"]}
    c.want(fams == {False, True}, "ADD %s: not one IPv4 and one IPv6 address: %r"
           % (version, result["ips"]))
    want = {"iface-id": "%s_%s" % (ns, pod), "ip_addresses": clib.addresses(result),
            clib.OWNER: "%s/eth0" % att.container_id, clib.MARKER: "true"}
    for k, v in want.items():
        c.want(ids.get(k) == v, "ADD %s: external_ids:%s=%r, want %r" % (
            version, k, ids.get(k), v))
    return conf, att, result


def run_ovs_netpol_cni(rt, command, conf, att, raw=None, env=None):
    return rt.exec(command, "ovs-netpol-cni", conf, att, raw=raw, extra_env=env)


def test(bed):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    rt = clib.setup(bed)
    c = Case()
    ours = ("iface-id", "ip_addresses", clib.OWNER, clib.MARKER)

    # -- VERSION
    for v in ("1.0.0", "0.4.0"):
        out = rt.version("ovs-netpol-cni", v)
        dlib.log("VERSION %s: %s" % (v, json.dumps(out)))
        c.want(out.get("cniVersion") == v, "VERSION %s: cniVersion %r" % (v, out.get("cniVersion")))
        c.want({"0.4.0", "1.0.0"} <= set(out.get("supportedVersions", [])),
               "VERSION: supportedVersions %r" % out.get("supportedVersions"))

    # -- ADD in each version; CHECK; DEL
    added = {}
    for v, pod in (("1.0.0", "c1"), ("0.4.0", "c2"), ("0.3.1", "c3")):
        added[v] = do_add(bed, rt, c, v, "x", pod, {"app": "c"})

    conf, att, result = added["1.0.0"]
    port = clib.host_port(result)
    rt.check(conf, att)
    dlib.log("CHECK 1.0.0 after ADD: ok")
    conf4, att4, result4 = added["0.4.0"]
    rt.check(conf4, att4)
    dlib.log("CHECK 0.4.0 after ADD: ok")
    clib.set_external_id(bed, port, "iface-id", "x_other")
    expect_error(c, rt, "CHECK after iface-id changed", lambda: rt.check(conf, att),
                 103, "iface-id")
    clib.set_external_id(bed, port, "iface-id", "x_c1")
    rt.check(conf, att)     # the daemon marks the port again
    dlib.log("CHECK after iface-id restored: ok")

    rt.delete(conf, att)
    c.want(not clib.port_exists(bed, port), "DEL: port %s still there" % port)
    rt.delete(conf, att)
    dlib.log("DEL twice: ok")
    # Our DEL alone while the port stays: only our keys go.
    conf4, att4, result4 = added["0.4.0"]
    port4 = clib.host_port(result4)
    run_ovs_netpol_cni(rt, "DEL", rt.derive(conf4, conf4["plugins"][1], result4), att4)
    ids = clib.external_ids(bed, port4)
    dlib.log("  our DEL alone, port kept: %s" % json.dumps(ids, sort_keys=True))
    c.want(not any(k in ids for k in ours), "DEL: keys left: %r" % ids)
    c.want(ids.get("contIface") == "eth0", "DEL removed the main plugin's keys: %r" % ids)
    run_ovs_netpol_cni(rt, "DEL", rt.derive(conf4, conf4["plugins"][1], result4), att4)
    rt.delete(conf4, att4)
    # 0.3.1: DEL without prevResult finds the port by its owner mark.
    conf3, att3, result3 = added["0.3.1"]
    port3 = clib.host_port(result3)
    run_ovs_netpol_cni(rt, "DEL", rt.derive(conf3, conf3["plugins"][1]), att3)
    ids = clib.external_ids(bed, port3)
    c.want(not any(k in ids for k in ours), "DEL 0.3.1 (no prevResult): keys left: %r" % ids)
    rt.delete(conf3, att3)
    dlib.log("DEL without prevResult: ok")

    # -- DEL with the interface gone; DEL after someone rebound the port
    conf, att, result = do_add(bed, rt, c, "1.0.0", "x", "c4", {"app": "c"})
    port = clib.host_port(result)
    dlib.run(["ovs-vsctl", "del-port", "br-int", port], env=bed.env)
    dlib.run(["ip", "-n", os.path.basename(bed.env["NP_SANDBOX_NETNS"]), "link",
              "del", port], check=False)
    rt.delete(conf, att)
    rt.delete(conf, att)
    dlib.log("DEL with the interface gone (twice): ok")
    conf, att, result = do_add(bed, rt, c, "1.0.0", "x", "c5", {"app": "c"})
    port = clib.host_port(result)
    clib.set_external_id(bed, port, "iface-id", "y_someone")
    run_ovs_netpol_cni(rt, "DEL", rt.derive(conf, conf["plugins"][1], result), att)
    ids = clib.external_ids(bed, port)
    dlib.log("  DEL after iface-id became y_someone: %s" % json.dumps(ids, sort_keys=True))
    c.want(ids.get("iface-id") == "y_someone", "DEL removed someone else's iface-id: %r" % ids)
    c.want(clib.OWNER not in ids and "ip_addresses" not in ids,
           "DEL left its own keys: %r" % ids)
    rt.delete(conf, att)

    # -- runtimes run attachments of different pods concurrently
    import threading
    par = [("x", "p%d" % i) for i in range(4)]
    for ns, pod in par:
        bed.write("pod-%s-%s.json" % (ns, pod), clib.pending_pod(ns, pod, {"app": "c"}))
    conf = clib.conflist(bed)
    atts = {pod: clib.attachment(bed, ns, pod) for ns, pod in par}
    out = {}

    def one(command, pod):
        try:
            if command == "ADD":
                out[pod] = rt.add(conf, atts[pod])
            else:
                rt.delete(conf, atts[pod])
        except Exception as e:
            out[pod] = e
    for command in ("ADD", "DEL"):
        ths = [threading.Thread(target=one, args=(command, pod)) for _, pod in par]
        for th in ths:
            th.start()
        for th in ths:
            th.join(60)
        if command == "ADD":
            for ns, pod in par:
                r = out.get(pod)
                if not c.want(isinstance(r, dict), "parallel ADD %s: %r" % (pod, r)):
                    continue
                ids = clib.external_ids(bed, clib.host_port(r))
                c.want(ids.get("iface-id") == "%s_%s" % (ns, pod)
                       and ids.get("ip_addresses") == clib.addresses(r)
                       and ids.get(clib.MARKER) == "true",
                       "parallel ADD %s: external_ids %r" % (pod, ids))
            c.want(len({clib.addresses(r) for r in out.values()
                        if isinstance(r, dict)}) == len(par),
                   "parallel ADD: addresses not distinct")
        else:
            errs = [(p, r) for p, r in out.items() if isinstance(r, Exception)]
            c.want(not errs, "parallel DEL: %r" % errs)
            left = [p for p, r in out.items() if isinstance(r, dict)
                    and clib.port_exists(bed, clib.host_port(r))]
            c.want(not left, "parallel DEL left ports of %s" % left)
    dlib.log("4 pods ADDed, then DELeted, in parallel: %s" % (
        "ok" if not c.problems else "see below"))

    # -- a port another pod claims
    conf = clib.conflist(bed)
    att = clib.attachment(bed, "x", "c6")
    bed.write("pod-x-c6.json", clib.pending_pod("x", "c6", {"app": "c"}))

    def claim(i, plugin, r):
        if i == 0:
            clib.set_external_id(bed, clib.host_port(r), "iface-id", "y_someone")
    expect_error(c, rt, "ADD on a claimed port", lambda: rt.add_or_cleanup(conf, att, claim),
                 101, "iface-id")

    # -- without the daemon: error 11 after the timeout, the port stays
    # bound (it sends nothing), the runtime's DEL cleans up.
    bed.stop_daemon()
    conf = clib.conflist(bed, cni_extra={"timeout": 3})
    att = clib.attachment(bed, "x", "c7")
    bed.write("pod-x-c7.json", clib.pending_pod("x", "c7", {"app": "c"}))
    seen = {}
    t = time.monotonic()
    e = expect_error(c, rt, "ADD without ovs-netpold", lambda: rt.add(
        conf, att, lambda i, p, r: seen.update(r if i == 0 else {})), 11,
        clib.MARKER)
    took = time.monotonic() - t
    c.want(took >= 3, "ADD without the daemon failed after %.1f s, before the "
           "3 s timeout" % took)
    port = clib.host_port(seen)
    ids = clib.external_ids(bed, port)
    dlib.log("  after %.1f s; port %s left %s" % (took, port, json.dumps(ids, sort_keys=True)))
    c.want(ids.get("iface-id") == "x_c7" and clib.MARKER not in ids,
           "failed ADD: the port is not left bound without marker: %r" % ids)
    if e:
        c.want(e.stdout.strip().startswith("{"), "error not on stdout")
    rt.delete(conf, att)
    c.want(not clib.port_exists(bed, port), "DEL after failed ADD: port left")
    bed.start_daemon()

    # -- bad input, each naming what is wrong
    conf = clib.conflist(bed)
    att = clib.attachment(bed, "x", "c8")
    good = rt.derive(conf, conf["plugins"][1], {
        "cniVersion": "1.0.0", "interfaces": [{"name": "nosuch0"},
                                              {"name": "eth0", "sandbox": att.netns}],
        "ips": [{"address": "10.9.8.99/16", "interface": 1}]})
    bad_att = chain.Attachment(att.container_id, att.netns, "eth0",
                               [("K8S_POD_NAMESPACE", "x"), ("K8S_POD_NAME", "Bad_Name")])
    expect_error(c, rt, "bad CNI_ARGS", lambda: run_ovs_netpol_cni(
        rt, "ADD", good, bad_att), 4, "K8S_POD_NAME")
    expect_error(c, rt, "no pod in CNI_ARGS", lambda: run_ovs_netpol_cni(
        rt, "ADD", good, chain.Attachment(att.container_id, att.netns)), 4,
        "K8S_POD_NAMESPACE")
    nop = dict(good)
    del nop["prevResult"]
    expect_error(c, rt, "no prevResult", lambda: run_ovs_netpol_cni(
        rt, "ADD", nop, att), 7, "prevResult")
    old = dict(good, cniVersion="0.2.0")
    expect_error(c, rt, "cniVersion 0.2.0", lambda: run_ovs_netpol_cni(
        rt, "ADD", old, att), 1, "cniVersion")
    expect_error(c, rt, "bad JSON", lambda: run_ovs_netpol_cni(
        rt, "ADD", None, att, raw='{"cniVersion": "1.0.0", "name": '), 6, "line 1")
    expect_error(c, rt, "no CNI_CONTAINERID", lambda: run_ovs_netpol_cni(
        rt, "ADD", good, chain.Attachment("", att.netns, "eth0", att.args)), 4,
        "CNI_CONTAINERID")
    badip = json.loads(json.dumps(good))
    badip["prevResult"]["ips"][0]["address"] = "10.9.8.300/16"
    expect_error(c, rt, "bad prevResult address", lambda: run_ovs_netpol_cni(
        rt, "ADD", badip, att), 7, "prevResult.ips[0].address")
    expect_error(c, rt, "no such interface", lambda: run_ovs_netpol_cni(
        rt, "ADD", good, att), 100, "nosuch0")
    expect_error(c, rt, "bad timeout", lambda: run_ovs_netpol_cni(
        rt, "ADD", dict(good, timeout="30"), att), 7, "timeout")
    gone = dict(good, ovsdb="unix:" + os.path.join(bed.work, "no-db.sock"), timeout=1)
    expect_error(c, rt, "OVSDB not reachable", lambda: run_ovs_netpol_cni(
        rt, "ADD", gone, att), 11, "no-db.sock")
    expect_error(c, rt, "OVSDB not reachable on DEL", lambda: run_ovs_netpol_cni(
        rt, "DEL", gone, att), 11, "no-db.sock")
    # Through the chain: the main plugin's port is removed by the DEL that
    # follows the failed ADD, and nothing of ours is left anywhere.
    bed.write("pod-x-c9.json", clib.pending_pod("x", "c9", {"app": "c"}))
    att9 = clib.attachment(bed, "x", "c9")
    att9.args = [("IgnoreUnknown", "1"), ("K8S_POD_NAMESPACE", "x"),
                 ("K8S_POD_NAME", "c9_")]
    expect_error(c, rt, "bad CNI_ARGS in the chain",
                 lambda: rt.add_or_cleanup(conf, att9), 4, "K8S_POD_NAME")
    left = dlib.run(["ovs-vsctl", "--format=json", "--columns=name,external_ids",
                     "list", "Interface"], env=bed.env).stdout
    c.want(clib.OWNER not in left, "a port still carries %s: %s" % (clib.OWNER, left))

    log = os.path.join(bed.work, "cni.log")
    lines = open(log).read().splitlines() if os.path.exists(log) else []
    dlib.log("logFile: %d lines, e.g. %s" % (len(lines), lines[0] if lines else "-"))
    c.want(any("ovs-netpol-installed=true after" in l for l in lines),
           "logFile has no line of a completed ADD")

    if c.problems:
        return False, "; ".join(c.problems)
    return True, ("VERSION, ADD 1.0.0/0.4.0/0.3.1, CHECK, DEL (twice, gone, "
                  "rebound, no prevResult), 4 pods in parallel, no daemon -> 11, "
                  "claimed port, bad input")


def main():
    def fn(bed):
        try:
            return test(bed)
        finally:
            clib.cleanup(bed)
    return dlib.main_wrapper("cni", fn)


if __name__ == "__main__":
    sys.exit(main())
