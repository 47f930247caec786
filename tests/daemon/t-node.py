#!/usr/bin/env python3
"""Traffic to and from the pod's node is always allowed.

Kubernetes: "traffic to and from the node where a Pod is running is always
allowed, regardless of the IP address of the Pod or the node".  It is what
lets the kubelet's probes reach an isolated pod, and host-network pods of
the node are the node.  Here the node is the switch's network namespace,
with its address 10.9.0.254 on br-int's own port (LOCAL), and
ovs-netpold --node-address 10.9.0.254.  allow-x isolates x/a for ingress
(only namespace x may connect); deny-egress-b isolates x/b for egress with
no rule.  PASS when
  - node -> x/a:80 allowed (y/a -> x/a:80 denied: x/a is isolated);
  - x/b -> node:80 allowed (x/b -> z/a:80 denied: x/b is isolated);
  - a pod cannot pass for the node: y/a's port with the node's source
    address is dropped by the spoof guard (flows checked);
  - control: the same daemon with --node-address none denies node -> x/a.
"""
import hashlib
import os
import subprocess
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402


def switch_netns(bed):
    h = hashlib.md5(os.path.realpath(bed.sb).encode()).hexdigest()[:6]
    return "npsw-" + h


def probe(bed, netns, dst):
    bed.sport += 1
    spec = os.path.join(bed.work, "node.spec")
    with open(spec, "w") as f:
        f.write("0 %s tcp %s 80 %d\n" % (netns, dst, bed.sport))
    p = dlib.run([bed.probe_bin, "probe", "--spec", spec, "--timeout-ms",
                  "900"], check=False)
    w = (p.stdout.split() + ["", ""])[:2]
    return {"connected": "allowed", "refused": "allowed",
            "timeout": "denied"}.get(w[1], "error:" + p.stdout + p.stderr)


def deny_egress_b():
    return dlib.policy("x", "deny-egress-b", {
        "podSelector": {"matchLabels": {"app": "b"}},
        "policyTypes": ["Egress"]})


def test(bed):
    bed.start()
    sw = switch_netns(bed)
    dlib.run([dlib.SANDBOX_SH, "sw", bed.sb, "ip", "addr", "add",
              dlib.NODE_ADDRESS + "/16", "dev", "br-int"])
    dlib.run([dlib.SANDBOX_SH, "sw", bed.sb, "ip", "link", "set", "br-int",
              "up"])
    spec = os.path.join(bed.work, "serve-node.spec")
    with open(spec, "w") as f:
        f.write("%s tcp 80\n" % sw)
    server = subprocess.Popen([bed.probe_bin, "serve", "--spec", spec,
                               "--control-stdin"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    problems = []
    try:
        if not server.stdout.readline().startswith("ready"):
            return False, "np-probe serve in the node's namespace did not start"
        bed.write("policy.json", dlib.v1list([dlib.allow_x(), deny_egress_b()]))
        bed.sync()
        checks = [(sw, "node", dlib.SERVER, "x/a", "allowed"),
                  (bed.pods["y/a"]["netns"], "y/a", dlib.SERVER, "x/a", "denied"),
                  (bed.pods["x/b"]["netns"], "x/b", dlib.NODE_ADDRESS, "node", "allowed"),
                  (bed.pods["x/b"]["netns"], "x/b", "10.9.3.1", "z/a", "denied")]
        for netns, src, dst, dname, want in checks:
            got = probe(bed, netns, dst)
            dlib.log("%s -> %s:80 %s (want %s)" % (src, dname, got, want))
            if got != want:
                problems.append("%s -> %s:80 %s, want %s" % (src, dname, got, want))
        flows = [l for c, l in bed.flows()]
        ya = bed.pods["y/a"]["ofport"]
        def having(*parts):
            return [l for l in flows if all(p in l for p in parts)]
        guard = having("priority=150,ip,in_port=%s " % ya, "actions=drop")
        node_in = having("in_port=LOCAL", "nw_src=%s " % dlib.NODE_ADDRESS)
        if not guard:
            problems.append("no spoof-guard drop for y/a's port: a pod could "
                            "pass for the node")
        if not node_in:
            problems.append("no flow admitting the node's address from LOCAL")
        dlib.log("flows: %s" % (node_in + guard))

        # control: without the node's address, node traffic is policy-checked
        bed.stop_daemon()
        bed.daemon_args = ["--node-address", "none"]
        bed.start_daemon()
        got = probe(bed, sw, dlib.SERVER)
        dlib.log("--node-address none: node -> x/a:80 %s (want denied)" % got)
        if got != "denied":
            problems.append("control (--node-address none): node -> x/a:80 %s" % got)
    finally:
        server.stdin.close()
        server.wait(timeout=5)
    if problems:
        return False, "; ".join(problems)
    return True, "node <-> isolated pods allowed both ways, only from LOCAL with the node's address"


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("node", test))
