#!/usr/bin/env python3
"""Captures again the ofproto/trace texts of tests/test-trace.c that walk
our policy tables, from a real switch (ovs/sandbox.sh), after a change of
the pipeline.

usage: sudo python3 tests/data/trace/capture.py   (from the build tree:
       it runs ./ovs-netpol compile)
       python3 tests/data/trace/capture.py --cluster GEN
                                      (prints the cluster of generation GEN,
                                      0, 3 or 5, as a List: ovs/pipeline.md's
                                      "Tiers" example is generation 5's)

The bed is tests/daemon's: x/a 10.9.1.1 on port 1, x/b 10.9.1.2 on 2, y/a
10.9.2.1 on 3, z/a 10.9.3.1 on 4.  The flows are `ovs-netpol compile
--node node-1 --ports PORTS` of that cluster with x/allow-x (namespace x
to x/a:80) at generation 0, and with z/egress-z too (z's pods may reach
10.9.1.0/24:80 only) at generation 3, and with x/allow-x and the
ClusterNetworkPolicies of CNPS below at generation 5.  Each capture is
`ovs-appctl ofproto/trace br-int FLOW --ct-next trk,new` (what the daemon
asks; `trk,est` for the captures of an established connection) of the flow
its first line names (for a capture that does not exist yet: the flow
CAPTURES gives).  The captures that stop before the policy
tables (a spoofed source, a port that carries no pod or whose pod has no
flows) and the foreign table's are left as they are.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")
NETPOL = os.environ.get("NP_CLI") or os.path.join(os.getcwd(), "ovs-netpol")

PODS = [("x", "a", "10.9.1.1", "a"), ("x", "b", "10.9.1.2", "b"),
        ("y", "a", "10.9.2.1", "a"), ("z", "a", "10.9.3.1", "a")]
# capture -> generation of its flows, or (generation, --ct-next, flow)
CAPTURES = {
    "allowed-ingress-rule.txt": 0,
    "denied-ingress-default.txt": 0,
    "denied-egress-default.txt": 3,
    "denied-egress-rule-ingress-default.txt": 3,
    "allowed-none-isolated-udp.txt": 3,
    "denied-from-local-nonnode.txt": 3,
    "denied-sctp-egress.txt": 3,
    # z/a -> x/a:80: admin Accept on both sides.
    "cnp-admin-accept.txt": (5, "trk,new",
                             "tcp,in_port=4,nw_src=10.9.3.1,nw_dst=10.9.1.1,tcp_dst=80"),
    # z/a -> y/a:80: admin Deny, new and established.
    "cnp-admin-deny-new.txt": (5, "trk,new",
                               "tcp,in_port=4,nw_src=10.9.3.1,nw_dst=10.9.2.1,tcp_dst=80"),
    "cnp-admin-deny-established.txt": (5, "trk,est",
                                       "tcp,in_port=4,nw_src=10.9.3.1,nw_dst=10.9.2.1,tcp_dst=80"),
    # y/a -> x/a:80: admin Pass, then x/allow-x's default deny.
    "cnp-admin-pass.txt": (5, "trk,new",
                           "tcp,in_port=3,nw_src=10.9.2.1,nw_dst=10.9.1.1,tcp_dst=80"),
    # x/b -> y/a:80: no admin rule, y not isolated, baseline Deny.
    "cnp-baseline-deny.txt": (5, "trk,new",
                              "tcp,in_port=2,nw_src=10.9.1.2,nw_dst=10.9.2.1,tcp_dst=80"),
    # x/b -> x/a:80: the admin tiers have rules, none matches; x/allow-x.
    "cnp-admin-miss.txt": (5, "trk,new",
                           "tcp,in_port=2,nw_src=10.9.1.2,nw_dst=10.9.1.1,tcp_dst=80"),
}


def cnp(name, tier, priority, subject, egress=None, ingress=None):
    spec = {"tier": tier, "priority": priority, "subject": subject}
    if egress:
        spec["egress"] = egress
    if ingress:
        spec["ingress"] = ingress
    return {"apiVersion": "policy.networking.k8s.io/v1alpha2",
            "kind": "ClusterNetworkPolicy", "metadata": {"name": name},
            "spec": spec}


def ns_sel(ns):
    return {"namespaces": {"matchLabels": {"ns": ns}}}


TCP80 = [{"tcp": {"destinationPort": {"number": 80}}}]

# The ClusterNetworkPolicies of the "--generation 5" captures (with
# x/allow-x): z is a tenant of its own that may reach x's web port only;
# x/a's web port (named "http") admits z (and passes y on to x/allow-x); y
# gets no ingress unless a NetworkPolicy says otherwise; x/a's egress to
# domain names, which cannot be matched, fails closed (no capture starts at
# x/a: it is for ovs/pipeline.md).
CNPS = [
    cnp("tenant-isolation", "Admin", 10, ns_sel("z"), egress=[
        {"name": "accept-x-web", "action": "Accept", "to": [ns_sel("x")],
         "protocols": TCP80},
        {"name": "deny-other-tenants", "action": "Deny",
         "to": [ns_sel("y")]}]),
    cnp("web-from-z", "Admin", 20,
        {"pods": {"namespaceSelector": {"matchLabels": {"ns": "x"}},
                  "podSelector": {"matchLabels": {"app": "a"}}}},
        ingress=[
            {"name": "z-to-web", "action": "Accept", "from": [ns_sel("z")],
             "protocols": [{"destinationNamedPort": "http"}]},
            {"name": "y-to-netpol", "action": "Pass",
             "from": [ns_sel("y")]}]),
    cnp("quiet-y", "Baseline", 10, ns_sel("y"), ingress=[
        {"name": "deny-all", "action": "Deny",
         "from": [{"namespaces": {}}]}]),
    cnp("no-names", "Baseline", 20,
        {"pods": {"namespaceSelector": {"matchLabels": {"ns": "x"}},
                  "podSelector": {"matchLabels": {"app": "a"}}}},
        egress=[
            {"name": "deny-example", "action": "Deny",
             "to": [{"domainNames": ["www.example.com"]}]}]),
]


def cluster(with_egress_z, with_cnps=False):
    items = [{"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": n, "labels": {"ns": n}}} for n in "xyz"]
    for ns, name, ip, app in PODS:
        items.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": ns, "name": name, "labels": {"app": app}},
            "spec": {"nodeName": "node-1", "containers": [
                {"name": "c", "image": "none",
                 "ports": [{"name": "http", "containerPort": 80,
                            "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})
    items.append({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"namespace": "x", "name": "allow-x"},
        "spec": {"podSelector": {"matchLabels": {"app": "a"}},
                 "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {}}],
                              "ports": [{"protocol": "TCP", "port": 80}]}]}})
    if with_egress_z:
        items.append({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"namespace": "z", "name": "egress-z"},
            "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                     "egress": [{"to": [{"ipBlock": {"cidr": "10.9.1.0/24"}}],
                                 "ports": [{"protocol": "TCP", "port": 80}]}]}})
    if with_cnps:
        items += CNPS
    return {"apiVersion": "v1", "kind": "List", "items": items}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--cluster":
        gen = int(sys.argv[2])
        json.dump(cluster(gen == 3, gen == 5), sys.stdout, indent=1)
        print()
        return
    if os.geteuid() != 0:
        sys.exit("needs root")
    work = tempfile.mkdtemp(prefix="np-trace-capture.")
    sb = os.path.join(work, "sb")
    try:
        subprocess.run([SANDBOX, "start", sb], check=True, stdout=subprocess.DEVNULL)
        args = []
        for ns, name, ip, _ in PODS:
            args += [ns, name, ip]
        subprocess.run([SANDBOX, "add-pod", sb] + args, check=True,
                       stdout=subprocess.DEVNULL)
        env = dict(os.environ)
        with open(os.path.join(sb, "env")) as f:
            for line in f:
                if line.startswith("export "):
                    k, v = line.strip()[7:].split("=", 1)
                    env[k] = v.strip("'")
        ports = os.path.join(work, "ports")
        with open(ports, "w") as f:
            for i, (ns, name, _, _) in enumerate(PODS):
                f.write("%s/%s %d\n" % (ns, name, i + 1))
        for gen in (0, 3, 5):
            doc = os.path.join(work, "cluster-%d.json" % gen)
            with open(doc, "w") as f:
                json.dump(cluster(gen == 3, gen == 5), f)
            flows = subprocess.run(
                [NETPOL, "compile", "--node", "node-1", "--ports", ports,
                 "--generation", str(gen), doc],
                check=True, capture_output=True, text=True).stdout
            path = os.path.join(work, "flows-%d" % gen)
            with open(path, "w") as f:
                f.write(flows)
            subprocess.run(["ovs-ofctl", "-O", "OpenFlow15", "replace-flows", "br-int",
                            path], env=env, check=True)
            for name, how in CAPTURES.items():
                g, ct_next, flow = how if isinstance(how, tuple) else (
                    how, "trk,new", None)
                if g != gen:
                    continue
                target = os.path.join(HERE, name)
                if os.path.exists(target):
                    with open(target) as f:
                        first = f.readline()
                    if not first.startswith("Flow: "):
                        sys.exit("%s: no Flow line" % name)
                    flow = first[6:].strip()
                # The printed flow names UDP's and SCTP's ports tp_*, which
                # the parser takes for TCP only.
                proto = flow.split(",", 1)[0]
                if proto in ("udp", "sctp"):
                    flow = flow.replace("tp_src=", proto + "_src=").replace(
                        "tp_dst=", proto + "_dst=")
                subprocess.run(["ovs-appctl", "dpctl/flush-conntrack"], env=env,
                               check=True)
                p = subprocess.run(
                    ["ovs-appctl", "ofproto/trace", "br-int", flow,
                     "--ct-next", ct_next],
                    env=env, capture_output=True, text=True)
                if p.returncode:
                    sys.exit("%s: ofproto/trace %s: %s" % (name, flow, p.stderr.strip()))
                out = p.stdout
                with open(target, "w") as f:
                    f.write(out)
                print("captured %s" % name)
    finally:
        subprocess.run([SANDBOX, "stop", sb], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
