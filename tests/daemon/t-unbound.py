#!/usr/bin/env python3
"""A port that carries no pod sends no IP, unless it is an uplink or a
node port; a port bound to a pod that has no flows cannot even answer.

A chained CNI (ovs-netpol-cni after kubevirt's ovs-cni, say) binds a pod's
port after the main plugin plugged it without external_ids:iface-id.  In
between, the port carries no pod.  Were it taken for an uplink, the pod's
traffic would skip its egress checks.  Real packets, on the daemon bed
(x/a, x/b, y/a, z/a; allow-x admits namespace x to x/a:80; z/a isolated
by nothing), with the daemon started with --uplink-port upl1:

 1. unb1: a veth plugged into br-int without iface-id (10.9.1.50, a
    listener on port 80 behind it).  unb1 -> z/a:80 must be denied (z/a
    admits anyone), and y/a -> unb1:80 too: y/a's SYN goes out (unb1's
    address is no pod's: ingress checks only, nothing isolates it), its
    SYN-ACK must not come back.  Both drops are in table 0 at priority 96,
    and `trace ... --in-port unb1` says why.
 2. upl1: the same, named with --uplink-port: its traffic goes on to the
    ingress checks like any uplink's: upl1 -> z/a:80 allowed (the control
    for 1), upl1 -> x/a:80 denied (allow-x admits only namespace x's pods).
 3. int0: an internal interface (the host's own, as LOCAL is) with
    10.9.0.60 in the switch's namespace: int0 -> z/a:80 allowed, int0 ->
    x/a:80 denied: an uplink without being named.
 4. vx0: a vxlan interface (options:remote_ip=192.0.2.99): an uplink
    without being named; no drop of its port; `trace --in-port vx0` goes
    on to the ingress checks.  (No traffic over it.)
 5. y/g: a port bound to pod y/g, which the daemon does not know yet
    (10.9.2.50, a listener behind it).  y/a -> y/g:80 must be denied: the
    SYN goes out (no pod has that address yet), the SYN-ACK is dropped
    before conntrack (table 1 would pass it as a reply).  Control: once
    y/g is written to the source, y/a -> y/g:80 is allowed.
 6. unb1 bound to pod x/u by setting its iface-id, as the CNI does: the
    drop of a port that carries no pod becomes that of a pod with no flows
    (priority 95), with no moment between them without either; once x/u is
    known, its flows replace it.
"""
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

NO_POD_DROP = 96        # include/pipeline.h: PRIO_CLASSIFY_NO_POD_DROP
PORT_DROP = 95          # PRIO_CLASSIFY_PORT_DROP


def vsctl(bed, *args, check=True):
    return dlib.run(["ovs-vsctl", "--timeout=20"] + list(args), env=bed.env,
                    check=check)


def ofport(bed, port, limit=10.0):
    t = time.monotonic()
    while time.monotonic() - t < limit:
        p = vsctl(bed, "get", "Interface", port, "ofport", check=False)
        v = p.stdout.strip()
        if v.isdigit() and int(v) > 0:
            return v
        time.sleep(0.02)
    raise RuntimeError("port %s got no ofport" % port)


def link_ready(netns, dev):
    p = dlib.run(["ip", "-n", netns, "-o", "link", "show", "dev", dev], check=False)
    return p.returncode == 0 and "state UP" in p.stdout and "qdisc noop" not in p.stdout


def plug(bed, name, ip, mac, iface_id=None):
    """A veth with 'name' on br-int, its other end eth0 of a new netns with
    'ip' (/16); external_ids:iface-id only if given.  Recorded in the
    sandbox's netns list, so that `sandbox.sh stop` deletes it."""
    sw = bed.env["NP_SANDBOX_NETNS"]
    ns = "npu-%d-%s" % (os.getpid(), name)
    dlib.run(["ip", "netns", "add", ns])
    with open(os.path.join(bed.sb, "netns"), "a") as f:
        f.write(ns + "\n")
    dlib.run(["ip", "-n", ns, "link", "set", "lo", "up"])
    dlib.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
              "net.ipv6.conf.default.disable_ipv6=1"], check=False)
    dlib.run(["ip", "-n", sw, "link", "add", name, "type", "veth", "peer", "name",
              "eth0", "netns", ns])
    dlib.run(["ip", "-n", ns, "link", "set", "eth0", "address", mac])
    dlib.run(["ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off"])
    dlib.run(["ip", "-n", ns, "addr", "add", ip + "/16", "dev", "eth0"])
    dlib.run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    dlib.run(["ip", "-n", ns, "route", "add", "default", "dev", "eth0"])
    dlib.run(["ip", "-n", sw, "link", "set", name, "up"])
    extra = []
    if iface_id:
        extra = ["--", "set", "Interface", name, "external_ids:iface-id=" + iface_id]
    vsctl(bed, "add-port", "br-int", name, *extra)
    t = time.monotonic()
    while not (link_ready(ns, "eth0") and link_ready(sw, name)):
        if time.monotonic() - t > 10:
            raise RuntimeError("link of %s did not come up" % name)
        time.sleep(0.02)
    bed.pods[name] = {"port": name, "netns": ns, "ofport": ofport(bed, name), "ip": ip}
    return bed.pods[name]


def drops(bed, ofp):
    """Priorities of our table-0 drops of IP from port 'ofp'."""
    out = set()
    for c, l in dlib.ours(bed.flows()):
        # dump-flows leaves "table=0" out.
        table0 = " table=" not in l or " table=0," in l
        if table0 and re.search(r"in_port=%s[, ]" % ofp, l) and "actions=drop" in l:
            out.add(int(l.split("priority=")[1].split(",")[0]))
    return out


def wait_drops(bed, ofp, want, limit=5.0):
    t = time.monotonic()
    while time.monotonic() - t < limit:
        got = drops(bed, ofp)
        if got == want:
            return got
        time.sleep(0.02)
    return drops(bed, ofp)


def trace(bed, *args):
    p = bed.appctl("trace", *args, check=False)
    return p.returncode, p.stdout + p.stderr


def test(bed):
    bed.start(daemon_args=["--uplink-port", "upl1"])
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    problems = []
    listener = None

    def check(what, got, want):
        dlib.log("%s: %s" % (what, got))
        if got != want:
            problems.append("%s: %s, want %s" % (what, got, want))

    try:
        unb = plug(bed, "unb1", "10.9.1.50", "0a:58:0a:09:01:32")
        upl = plug(bed, "upl1", "10.9.1.51", "0a:58:0a:09:01:33")
        yg = plug(bed, "ygh", "10.9.2.50", "0a:58:0a:09:02:32", iface_id="y_g")
        sw = bed.env["NP_SANDBOX_NETNS"]
        vsctl(bed, "add-port", "br-int", "int0", "--", "set", "Interface", "int0",
              "type=internal")
        int_ofport = ofport(bed, "int0")
        dlib.run(["ip", "-n", sw, "addr", "add", "10.9.0.60/16", "dev", "int0"])
        dlib.run(["ip", "-n", sw, "link", "set", "int0", "up"])
        dlib.run(["ip", "netns", "exec", sw, "ethtool", "-K", "int0", "tx", "off"],
                 check=False)
        bed.pods["int0"] = {"netns": sw, "ip": "10.9.0.60"}
        vsctl(bed, "add-port", "br-int", "vx0", "--", "set", "Interface", "vx0",
              "type=vxlan", "options:remote_ip=192.0.2.99")
        vx_ofport = ofport(bed, "vx0")
        spec = os.path.join(bed.work, "serve-extra.spec")
        with open(spec, "w") as f:
            f.write("%s tcp 80\n%s tcp 80\n" % (unb["netns"], yg["netns"]))
        listener = subprocess.Popen([bed.probe_bin, "serve", "--spec", spec,
                                     "--control-stdin"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
        if not listener.stdout.readline().startswith("ready"):
            return False, "np-probe serve for the extra ports did not start"
        bed.sync()

        # -- the flows: which ports drop IP before conntrack
        for name, ofp, want in (("unb1", unb["ofport"], {NO_POD_DROP}),
                                ("upl1", upl["ofport"], set()),
                                ("int0", int_ofport, set()),
                                ("vx0", vx_ofport, set()),
                                ("ygh (pod y/g not known)", yg["ofport"], {PORT_DROP})):
            got = wait_drops(bed, ofp, want)
            dlib.log("%s (ofport %s): table-0 drops at %s" % (name, ofp, sorted(got)))
            if got != want:
                problems.append("%s: table-0 drops at priorities %s, want %s"
                                % (name, sorted(got), sorted(want)))
        bridge = bed.status_field("bridge")
        dlib.log("status bridge: %s" % bridge)
        if "1 carrying no pod (sending no IP)" not in (bridge or ""):
            problems.append("status does not count unb1 as carrying no pod: %r" % bridge)
        bed.purge()

        # -- 1: the unbound veth sends nothing, not even replies
        check("unb1 -> z/a:80 (carries no pod)", bed.probe_once("unb1", "10.9.3.1"),
              "denied")
        check("y/a -> unb1:80 (its SYN-ACK)", bed.probe_once("y/a", "10.9.1.50"),
              "denied")
        # -- 2, 3: uplinks, named or internal, go on to the ingress checks
        for src in ("upl1", "int0"):
            check("%s -> z/a:80 (uplink: ingress checks, none isolates z/a)" % src,
                  bed.probe_once(src, "10.9.3.1"), "allowed")
            check("%s -> x/a:80 (uplink: allow-x admits only x's pods)" % src,
                  bed.probe_once(src, dlib.SERVER), "denied")
        check("y/a -> upl1:80 (replies of an uplink pass)",
              bed.probe_once("y/a", "10.9.1.51"), "allowed")
        # -- 5: a port bound to a pod not known yet cannot answer
        check("y/a -> y/g:80 (pod not known: its SYN-ACK)",
              bed.probe_once("y/a", "10.9.2.50"), "denied")

        # -- trace names the reason, and sees the tunnel as an uplink
        rc, out = trace(bed, "10.9.1.50", "z/a", "80", "--in-port", "unb1")
        dlib.log("trace --in-port unb1:\n" + out)
        for needle in ("DENIED", "port unb1 carries no pod and is not an uplink "
                       "or node port -> drop", "table 0 classify"):
            if rc or needle not in out:
                problems.append("trace --in-port unb1 does not say %r" % needle)
        rc, out = trace(bed, "10.9.9.9", "z/a", "80", "--in-port", "vx0")
        dlib.log("trace --in-port vx0:\n" + out)
        if rc or "ALLOWED" not in out or "is not a local pod -> ingress checks" not in out:
            problems.append("trace --in-port vx0: not allowed on to the ingress checks")
        rc, out = trace(bed, "10.9.9.9", "z/a", "80", "--in-port", "nosuch")
        if not rc or "nosuch is no port of br-int that carries no pod" not in out:
            problems.append("trace --in-port nosuch: %r" % out.strip())

        # -- 5, control: y/g known, its port answers
        bed.write("y-g.json", dlib.pod("y", "g", "10.9.2.50", {"app": "g"}))
        bed.sync()
        got = wait_drops(bed, yg["ofport"], set())
        if got:
            problems.append("y/g known: its port still drops IP at %s" % sorted(got))
        bed.purge()
        check("y/a -> y/g:80 (y/g known)", bed.probe_once("y/a", "10.9.2.50"),
              "allowed")

        # -- 6: the CNI binds unb1 to x/u, which the daemon does not know yet
        vsctl(bed, "set", "Interface", "unb1", "external_ids:iface-id=x_u",
              'external_ids:ip_addresses="10.9.1.50/16"')
        got = wait_drops(bed, unb["ofport"], {PORT_DROP})
        dlib.log("unb1 bound to x/u (not known): table-0 drops at %s" % sorted(got))
        if got != {PORT_DROP}:
            problems.append("unb1 bound to unknown x/u: drops at %s, want [%d]"
                            % (sorted(got), PORT_DROP))
        check("unb1 (x/u not known) -> z/a:80", bed.probe_once("unb1", "10.9.3.1"),
              "denied")
        bed.write("x-u.json", dlib.pod("x", "u", "10.9.1.50", {"app": "u"}))
        bed.sync()
        got = wait_drops(bed, unb["ofport"], set())
        if got:
            problems.append("x/u known: its port still drops IP at %s" % sorted(got))
        bed.purge()
        check("x/u -> z/a:80 (x/u known, isolated by nothing)",
              bed.probe_once("unb1", "10.9.3.1"), "allowed")
        check("x/u -> x/a:80 (allow-x admits x's pods)",
              bed.probe_once("unb1", dlib.SERVER), "allowed")
        # The port leaves: its flows go, nothing is left for its number.
        vsctl(bed, "del-port", "br-int", "upl1")
        bed.sync()
        left = [l for c, l in dlib.ours(bed.flows())
                if re.search(r"in_port=%s[, ]" % upl["ofport"], l)]
        if left:
            problems.append("flows left for deleted upl1: %s" % left)
    finally:
        if listener:
            listener.stdin.close()
            listener.wait(timeout=10)
    if problems:
        return False, "; ".join(problems)
    return True, ("an unbound veth sent nothing, replies included; uplinks (named, "
                  "internal, vxlan) went on to the ingress checks; a port of an "
                  "unknown pod could not answer; binding swapped the drops in one step")


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("unbound", test))
