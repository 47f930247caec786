#!/usr/bin/env python3
"""A pod's port replaced as a CNI does it: the new one first, then the old
one deleted.  Every port of the pod stays spoof-guarded, with real packets.

y/a is isolated for egress with no rule (deny-egress-a: it may send
nothing).  Its port is re-plugged the way a CNI re-plugs a sandbox: a new
network namespace with a new veth, same MAC and address, added to br-int
with the same external_ids:iface-id=y_a and ip_addresses (ofport 50), and
only then the old port deleted.  Each port is guarded only if the daemon
keeps both bindings of the pod: a daemon that keys bindings by pod lets
the new binding replace the old one, and the old port's deletion unbind
the pod, leaving the surviving port unguarded: its packets with a source
address that is not a local pod's skip the egress checks (table 2's
default) and the pod escapes its policy.

Raw forged TCP SYNs (tests/daemon/spoof.py, ~2,000/s for 1.5 s each):
  - while both ports exist: from the old port and from the new one, source
    10.99.0.1 (no pod's), to z/a:80 (z/a is isolated by nothing);
  - after the old port is gone, from the new one: source 10.99.0.1 to
    z/a:80, and source x/b's address to x/a:80 (allow-x admits x/b);
a sniffer on the destination's eth0 counts the arrivals.  Control: x/b's
own SYNs, sent the same way to x/a:80, arrive.  PASS when
  - no forged SYN arrives;
  - y/a's own traffic keeps its verdicts after the re-plug: y/a -> z/a:80
    and y/a -> x/a:80 denied, x/b -> y/a:80 allowed (through the new port);
  - the new port carries the ovs-netpol-installed marker before the old
    one goes and after, and the switch's table has no flow left for the
    old port.
"""
import hashlib
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

SPOOF = os.path.join(dlib.HERE, "spoof.py")
MARKER = "ovs-netpol-installed"
FOREIGN = "10.99.0.1"
NEW_PORT = "y_a.new"
NEW_OFPORT = 50
PPS = 2000
SEND_S = 1.5
MIN_SENT = PPS * SEND_S / 4     # else the check proves nothing


def deny_egress_a():
    return dlib.policy("y", "deny-egress-a", {
        "podSelector": {"matchLabels": {"app": "a"}},
        "policyTypes": ["Egress"]})


def switch_netns(bed):
    h = hashlib.md5(os.path.realpath(bed.sb).encode()).hexdigest()[:6]
    return "npsw-" + h


def sh(bed, *cmd, check=True):
    return dlib.run(list(cmd), env=bed.env, check=check)


def marker(bed, port):
    p = sh(bed, "ovs-vsctl", "--if-exists", "get", "Interface", port,
           "external_ids:" + MARKER, check=False)
    return p.returncode == 0 and p.stdout.strip().strip('"') == "true"


def port_flows(bed, ofport):
    pat = re.compile(r"in_port=%s\b" % ofport)
    return [l for _, l in bed.flows() if pat.search(l)]


def wait_for(what, cond, limit=10.0):
    t = time.monotonic()
    while time.monotonic() - t < limit:
        if cond():
            return time.monotonic() - t
        time.sleep(0.02)
    dlib.log("%s: not within %.0f s" % (what, limit))
    return None


def spawn(netns, args):
    return subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, SPOOF]
                            + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def finish(p):
    p.stdin.close()
    out = p.stdout.read().split()
    p.wait(timeout=10)
    return int(out[0]) if out else -1


def mac_of(netns):
    out = dlib.run(["ip", "-n", netns, "-o", "link", "show", "dev", "eth0"]).stdout
    return out.split("link/ether ")[1].split()[0]


def forge(src_netns, src, dst_netns, dst):
    """Forged SYNs from 'src_netns' with source 'src' to dst:80 for SEND_S
    seconds; returns (sent, arrived at dst's eth0).  The sender's neighbour
    entry for 'dst' is pinned: while two ports share y/a's MAC, an ARP reply
    to it may go to the other one."""
    dlib.run(["ip", "-n", src_netns, "neigh", "replace", dst, "lladdr",
              mac_of(dst_netns), "dev", "eth0", "nud", "permanent"])
    cnt = spawn(dst_netns, ["count", "--src", src, "--port", "80"])
    time.sleep(0.3)
    snd = spawn(src_netns, ["send", "--src", src, "--dst", dst, "--port", "80",
                            "--pps", str(PPS)])
    time.sleep(SEND_S)
    sent = finish(snd)
    time.sleep(0.2)
    dlib.run(["ip", "-n", src_netns, "neigh", "del", dst, "dev", "eth0"],
             check=False)
    return sent, finish(cnt)


def plug_new_port(bed, netns, ip, mac):
    """As sandbox.sh add-pod does, in a netns of our own, then the port
    with y/a's iface-id and addresses."""
    sw = switch_netns(bed)
    with open(os.path.join(bed.sb, "netns"), "a") as f:
        f.write(netns + "\n")          # sandbox.sh stop deletes it too
    dlib.run(["ip", "netns", "add", netns])
    dlib.run(["ip", "-n", netns, "link", "set", "lo", "up"])
    dlib.run(["ip", "netns", "exec", netns, "sysctl", "-qw",
              "net.ipv6.conf.default.disable_ipv6=1"])
    dlib.run(["ip", "-n", sw, "link", "add", NEW_PORT, "type", "veth", "peer",
              "name", "eth0", "netns", netns])
    dlib.run(["ip", "-n", netns, "link", "set", "eth0", "address", mac])
    dlib.run(["ip", "netns", "exec", netns, "ethtool", "-K", "eth0", "tx", "off"])
    dlib.run(["ip", "-n", netns, "addr", "add", ip + "/16", "dev", "eth0"])
    dlib.run(["ip", "-n", netns, "link", "set", "eth0", "up"])
    dlib.run(["ip", "-n", netns, "route", "add", "default", "dev", "eth0"])
    dlib.run(["ip", "-n", sw, "link", "set", NEW_PORT, "up"])
    sh(bed, "ovs-vsctl", "--timeout=20", "add-port", "br-int", NEW_PORT, "--",
       "set", "Interface", NEW_PORT, "ofport_request=%d" % NEW_OFPORT,
       "external_ids:iface-id=y_a",
       'external_ids:ip_addresses="%s/16"' % ip, "external_ids:k8s-pod=y/a")

    def up(ns, dev):
        out = dlib.run(["ip", "-n", ns, "-o", "link", "show", "dev", dev],
                       check=False).stdout
        return "state UP" in out and "qdisc noop" not in out
    if wait_for("new veth up", lambda: up(netns, "eth0") and up(sw, NEW_PORT)) is None:
        raise RuntimeError("the new veth did not come up")


def test(bed):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x(), deny_egress_a()]))
    bed.sync()
    bed.purge()
    xa, xb, ya, za = (bed.pods[k] for k in ("x/a", "x/b", "y/a", "z/a"))
    old_netns, old_port, old_ofport = ya["netns"], ya["port"], ya["ofport"]
    new_netns = old_netns + "-new"
    problems = []
    server = None

    def verdicts(when):
        for src, dst, want in (("y/a", za["ip"], "denied"),
                               ("y/a", xa["ip"], "denied"),
                               ("x/b", ya["ip"], "allowed"),
                               ("x/b", xa["ip"], "allowed")):
            got = bed.probe_once(src, dst)
            dlib.log("%s: %s -> %s:80 %s" % (when, src, dst, got))
            if got != want:
                problems.append("%s: %s -> %s:80 %s, want %s"
                                % (when, src, dst, got, want))

    try:
        verdicts("before the re-plug")
        sent, got = forge(xb["netns"], xb["ip"], xa["netns"], xa["ip"])
        dlib.log("control: x/b's own SYNs to x/a:80: %d sent, %d arrived"
                 % (sent, got))
        if got < sent // 2:
            problems.append("control: only %d of x/b's %d own SYNs arrived; "
                            "the forger or the sniffer is broken" % (got, sent))

        # -- the new port, the old one still there
        plug_new_port(bed, new_netns, ya["ip"], mac_of(old_netns))
        took = wait_for("marker on the new port", lambda: marker(bed, NEW_PORT))
        if took is None:
            problems.append("no %s marker on the new port" % MARKER)
        bed.sync()
        dlib.log("both ports: old %s (ofport %s), new %s (ofport %d); marker "
                 "on the new one after %s" % (old_port, old_ofport, NEW_PORT,
                                              NEW_OFPORT, "%.0f ms" % (took * 1e3)
                                              if took is not None else "never"))
        for label, netns in (("old", old_netns), ("new", new_netns)):
            sent, got = forge(netns, FOREIGN, za["netns"], za["ip"])
            dlib.log("both ports: from the %s port, source %s -> z/a:80: %d "
                     "forged SYNs, %d arrived" % (label, FOREIGN, sent, got))
            if got:
                problems.append("both ports: %d forged SYNs from the %s port "
                                "reached z/a" % (got, label))
            if sent < MIN_SENT:
                problems.append("both ports: only %d forged SYNs could be sent "
                                "from the %s port" % (sent, label))

        # -- the old port goes
        sh(bed, "ovs-vsctl", "--timeout=20", "del-port", "br-int", old_port)
        dlib.run(["ip", "-n", switch_netns(bed), "link", "del", old_port],
                 check=False)
        dlib.run(["ip", "netns", "del", old_netns], check=False)
        if wait_for("the old port's flows gone",
                    lambda: not port_flows(bed, old_ofport)) is None:
            problems.append("flows for the deleted port %s stay" % old_ofport)
        bed.sync()
        time.sleep(0.3)
        bed.pods["y/a"] = dict(ya, netns=new_netns, port=NEW_PORT,
                               ofport=str(NEW_OFPORT))
        spec = os.path.join(bed.work, "serve-new.spec")
        with open(spec, "w") as f:
            f.write("%s tcp 80\n" % new_netns)
        server = subprocess.Popen([bed.probe_bin, "serve", "--spec", spec,
                                   "--control-stdin"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        if not server.stdout.readline().startswith("ready"):
            problems.append("np-probe serve in the new netns did not start")

        guard = port_flows(bed, NEW_OFPORT)
        dlib.log("after the old port went: %d flows for port %d:\n  %s"
                 % (len(guard), NEW_OFPORT, "\n  ".join(guard)))
        if not any("actions=drop" in l and "nw_src" not in l for l in guard):
            problems.append("no spoof-guard drop for the surviving port %d"
                            % NEW_OFPORT)
        if not marker(bed, NEW_PORT):
            problems.append("the surviving port lost its %s marker" % MARKER)
        for src, dnetns, dst, what in (
                (FOREIGN, za["netns"], za["ip"], "z/a"),
                (xb["ip"], xa["netns"], xa["ip"], "x/a")):
            sent, got = forge(new_netns, src, dnetns, dst)
            dlib.log("surviving port: source %s -> %s:80: %d forged SYNs, "
                     "%d arrived" % (src, what, sent, got))
            if got:
                problems.append("surviving port: %d forged SYNs with source %s "
                                "reached %s" % (got, src, what))
            if sent < MIN_SENT:
                problems.append("surviving port: only %d forged SYNs with "
                                "source %s could be sent" % (sent, src))
        verdicts("after the re-plug")
        dlib.log("status: %s" % bed.status_field("bridge"))
    finally:
        if server:
            server.stdin.close()
            server.wait(timeout=5)
        dlib.run(["ip", "netns", "del", new_netns], check=False)
    if problems:
        return False, "; ".join(problems)
    return True, ("both ports guarded while both exist; the surviving port "
                  "guarded after the old one went; verdicts kept")


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("dupport", test))
