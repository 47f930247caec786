#!/usr/bin/env python3
"""A new pod is never reachable, nor able to send, before its policies.

Every NetworkPolicy implementation we compare with is fail-open for a new
pod until its policies are realized.  ovs-netpold closes that window in two
ways, which this test checks with real packets, doing what a CNI does:

 1. The kubelet runs the CNI before the pod's status has an address, so the
    CNI writes the address on the port (external_ids:ip_addresses, the
    OVN-Kubernetes convention) with external_ids:iface-id.  The daemon
    compiles the pod's flows with that address, and once they are committed
    it sets external_ids:ovs-netpol-installed=true on the Interface: a CNI
    waits for it before returning, so the containers never run without
    their policies.  Here: the pod x/n (app=a, selected by allow-x) exists
    in the source WITHOUT an address; its port is added; the test waits for
    the marker, and right then y/a -> x/n:80 must be denied and x/b ->
    x/n:80 allowed.
 2. A port bound to a pod the daemon does not know yet (or that has no
    address) drops every IP packet it sends until the pod's flows are in:
    y/m's port is added before the pod object exists; y/m -> z/a:80 (z/a is
    isolated by nothing) must be denied and the marker absent; once y/m is
    written to the source (no policy selects it), the marker appears and
    y/m -> z/a:80 is allowed.
Also: the marker goes away when the pod object goes while its port stays.
"""
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

MARKER = "ovs-netpol-installed"


def pending_pod(ns, name, labels):
    """Scheduled on our node, no address yet: as the kubelet sees it before
    the CNI runs."""
    p = dlib.pod(ns, name, "0.0.0.0", labels)
    p["status"] = {"phase": "Pending"}
    return p


def marker(bed, port):
    p = dlib.run(["ovs-vsctl", "--if-exists", "get", "Interface", port,
                  "external_ids:" + MARKER], env=bed.env, check=False)
    return p.stdout.strip().strip('"') if p.returncode == 0 else None


def wait_marker(bed, port, want, limit=5.0):
    t = time.monotonic()
    while time.monotonic() - t < limit:
        if (marker(bed, port) == "true") == want:
            return time.monotonic() - t
        time.sleep(0.005)
    return None


def add_pod(bed, ns, name, ip):
    dlib.run([dlib.SANDBOX_SH, "add-pod", bed.sb, ns, name, ip])
    with open(os.path.join(bed.sb, "pods")) as f:
        for line in f:
            w = line.split()
            if w[0] == "%s/%s" % (ns, name):
                bed.pods[w[0]] = {"port": w[1], "netns": w[2], "ofport": w[3],
                                  "ip": w[5].split(",")[0].split("/")[0]}
    return bed.pods["%s/%s" % (ns, name)]


def test(bed):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    problems = []
    extra = None
    try:
        # -- 1: the address comes from the port, the marker follows the flows
        bed.write("x-n.json", pending_pod("x", "n", {"app": "a"}))
        bed.sync()
        t0 = time.monotonic()
        xn = add_pod(bed, "x", "n", "10.9.1.9")
        spec = os.path.join(bed.work, "serve-n.spec")
        with open(spec, "w") as f:
            f.write("%s tcp 80\n" % xn["netns"])
        extra = subprocess.Popen([bed.probe_bin, "serve", "--spec", spec,
                                  "--control-stdin"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        if not extra.stdout.readline().startswith("ready"):
            return False, "np-probe serve for x/n did not start"
        took = wait_marker(bed, xn["port"], True)
        if took is None:
            problems.append("x/n: no %s marker within 5 s of its port" % MARKER)
        else:
            dlib.log("x/n: marker %.0f ms after add-pod returned (%.0f ms "
                     "after it started)" % (took * 1e3, (time.monotonic() - t0) * 1e3))
        for src, want in (("y/a", "denied"), ("x/b", "allowed")):
            got = bed.probe_once(src, "10.9.1.9")
            dlib.log("x/n marked: %s -> x/n:80 %s" % (src, got))
            if got != want:
                problems.append("right after the marker: %s -> x/n:80 %s, "
                                "want %s" % (src, got, want))
        drop = [l for c, l in bed.flows() if "in_port=%s," % xn["ofport"] in l
                and "10.9.1.9" in l]
        if not drop:
            problems.append("no spoof-guard flow for x/n's port with the "
                            "address from ip_addresses")

        # -- 2: a port whose pod is not known sends nothing
        ym = add_pod(bed, "y", "m", "10.9.2.9")
        bed.sync()
        got = bed.probe_once("y/m", "10.9.3.1")
        mk = marker(bed, ym["port"])
        dlib.log("y/m unknown: y/m -> z/a:80 %s, marker %r" % (got, mk))
        if got != "denied":
            problems.append("y/m's port, pod unknown: y/m -> z/a:80 %s" % got)
        if mk == "true":
            problems.append("y/m's port carries the marker before its pod is known")
        bed.write("y-m.json", dlib.pod("y", "m", "10.9.2.9", {"app": "m"}))
        took = wait_marker(bed, ym["port"], True)
        got = bed.probe_once("y/m", "10.9.3.1")
        dlib.log("y/m known: marker after %s, y/m -> z/a:80 %s" % (
            "%.0f ms" % (took * 1e3) if took is not None else "never", got))
        if took is None:
            problems.append("y/m: no marker after its pod appeared")
        if got != "allowed":
            problems.append("y/m known, isolated by nothing: y/m -> z/a:80 %s" % got)

        # -- the marker goes with the pod
        bed.remove("y-m.json")
        took = wait_marker(bed, ym["port"], False)
        dlib.log("y/m deleted, port kept: marker gone after %s" % (
            "%.0f ms" % (took * 1e3) if took is not None else "never"))
        if took is None:
            problems.append("y/m's marker stayed after its pod was deleted")
        got = bed.probe_once("y/m", "10.9.3.1")
        if got != "denied":
            problems.append("y/m deleted, port kept: y/m -> z/a:80 %s" % got)
        writes = bed.status_field("bridge")
        dlib.log("status bridge: %s" % writes)
    finally:
        if extra:
            extra.stdin.close()
            extra.wait(timeout=5)
    if problems:
        return False, "; ".join(problems)
    return True, "marker only with flows; unknown pod's port dropped; marker follows the pod"


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("newpod", test))
