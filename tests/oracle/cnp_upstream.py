"""The upstream ClusterNetworkPolicy conformance suite as cases
(kubernetes-sigs/network-policy-api @0eec1b0, conformance/).

Each upstream test (ShortName) becomes one case named after it.  Its
manifests (copied verbatim in upstream-cnp/, the host-network port template
filled with the suite's default range 34345..34352) are applied in step 1
together with the suite's base cluster (conformance/base/manifests.yaml: five
"houses", two StatefulSet pods each, forbidden-forrest host-networked), after
deleting our model's x, y, z.  Each t.Run subtest is one step (or several
when it patches the cluster between probes) in upstream order; patches
accumulate across subtests exactly as upstream (its subtests share one
cluster).  Probes: every upstream PokeServer call, marked "upstream": true,
with upstream's verdict; plus, where the cluster changed, the full matrix
among the eight pod-network pods on the test's (port, protocol) list, with
the oracle's verdicts.  The upstream probes, extracted mechanically from the
Go sources, are in upstream_cnp_asserts.json.
"""

import copy
import json
import os

import yaml

import caselib as L

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "upstream-cnp")
ASSERTS = os.path.join(HERE, "upstream_cnp_asserts.json")
UPSTREAM = "kubernetes-sigs/network-policy-api@0eec1b0"
HOST_PORTS = list(range(34345, 34353))        # suite default range
IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.45"

# house -> (StatefulSet, third octet of its pods' addresses)
HOUSES = [("gryffindor", "harry-potter", 1), ("slytherin", "draco-malfoy", 2),
          ("hufflepuff", "cedric-diggory", 3), ("ravenclaw", "luna-lovegood", 4)]
NODES = [("kind-worker", "172.18.0.3", "fc00:f853:ccd:e793::3"),
         ("kind-worker2", "172.18.0.4", "fc00:f853:ccd:e793::4")]
PREFIX = "network-policy-conformance-"


def _ns_obj(house):
    # The API server adds kubernetes.io/metadata.name; the manifests rely on it.
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": PREFIX + house, "labels": {
                "conformance-house": house,
                "kubernetes.io/metadata.name": PREFIX + house}}}


def _container(name, cmd=None, port=None, pname=None, proto=None, sctp=None):
    c = {"name": name, "image": IMAGE}
    if cmd:
        c["command"] = ["/bin/bash", "-c", cmd]
    if sctp:
        c["command"] = ["/bin/bash", "-c", "/agnhost porter"]
        c["env"] = [{"name": "SERVE_SCTP_PORT_%d" % sctp, "value": "foo"}]
    if pname:
        c["ports"] = [{"containerPort": port, "protocol": proto, "name": pname}]
    return c


def house_pod(house, sts, idx, octet):
    """A StatefulSet pod of base/manifests.yaml: TCP 80 (named web), 8080,
    UDP 5353, 53 (named dns), SCTP 9003, 9005."""
    n = sts
    conts = [_container(n + "-client"),
             _container(n + "-80", "/agnhost serve-hostname --tcp --http=false --port 80",
                        80, "web", "TCP"),
             _container(n + "-8080", "/agnhost serve-hostname --tcp --http=false --port 8080"),
             _container(n + "-5353", "/agnhost serve-hostname --udp --http=false --port 5353"),
             _container(n + "-53", "/agnhost serve-hostname --udp --http=false --port 53",
                        53, "dns", "UDP"),
             _container(n + "-9003", sctp=9003), _container(n + "-9005", sctp=9005)]
    ip, ip6 = "10.244.%d.%d" % (octet, 10 + idx), "fd00:10:244:%d::%d" % (octet, 10 + idx)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "%s-%d" % (sts, idx), "namespace": PREFIX + house,
                         "labels": {"conformance-house": house}},
            "spec": {"nodeName": NODES[idx][0], "containers": conts},
            "status": {"phase": "Running", "podIP": ip,
                       "podIPs": [{"ip": ip}, {"ip": ip6}]}}


def centaur_pod(idx):
    """forbidden-forrest: host-networked, so its address is its node's."""
    hp = HOST_PORTS
    conts = [_container("centaur-client")]
    for i, proto in ((0, "TCP"), (1, "TCP"), (2, "UDP"), (4, "UDP")):
        conts.append(_container("centaur-%d-%s" % (hp[i], proto.lower()), None,
                                hp[i], "%s-%d" % ("web" if proto == "TCP" else "dns", hp[i]),
                                proto))
    conts += [_container("centaur-%d" % hp[6], sctp=hp[6]),
              _container("centaur-%d" % hp[7], sctp=hp[7])]
    node, ip, ip6 = NODES[idx]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "centaur-%d" % idx,
                         "namespace": PREFIX + "forbidden-forrest",
                         "labels": {"conformance-house": "forbidden-forrest"}},
            "spec": {"nodeName": node, "hostNetwork": True, "containers": conts},
            "status": {"phase": "Running", "podIP": ip, "hostIP": ip,
                       "podIPs": [{"ip": ip}, {"ip": ip6}]}}


def node_obj(idx):
    name, ip, ip6 = NODES[idx]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/os": "linux", "kubernetes.io/hostname": name}},
            "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                     {"type": "InternalIP", "address": ip6},
                                     {"type": "Hostname", "address": name}]}}


def houses_setup():
    """Step-1 objects and deletes: the upstream base cluster replaces ours."""
    objs = [_ns_obj(h) for h, _, _ in HOUSES] + [_ns_obj("forbidden-forrest")]
    objs += [node_obj(0), node_obj(1)]
    for h, sts, octet in HOUSES:
        objs += [house_pod(h, sts, i, octet) for i in (0, 1)]
    objs += [centaur_pod(0), centaur_pod(1)]
    dels = []
    for it in L.MODEL["items"]:
        if it["kind"] == "Pod":
            dels.append(L.delete("Pod", it["metadata"]["namespace"], it["metadata"]["name"]))
    dels += [L.delete("Namespace", None, n) for n in ("x", "y", "z")]
    return objs, dels


def load_manifest(rel):
    text = open(os.path.join(BASE, rel)).read()
    for i, p in enumerate(HOST_PORTS):
        text = text.replace("{{ index .HostNetworkPorts %d }}" % i, str(p))
    out = [d for d in yaml.safe_load_all(text) if d]
    for d in out:
        if d["kind"] == "NetworkPolicy" and d["spec"].get("podSelector") is None:
            d["spec"]["podSelector"] = {}   # YAML "podSelector:" is null = {}
    return out


# ------------------------------------------------------------ mutations
# A mutation takes the live objects {(kind, name): obj} and returns
# (objects to apply, deletes), as the upstream test patches the cluster.

def _cnp(live, name):
    return live[("ClusterNetworkPolicy", name)]


def swap(name, field, i, j):
    def m(live):
        o = _cnp(live, name)
        r = o["spec"][field]
        r[i], r[j] = r[j], r[i]
        return [copy.deepcopy(o)], []
    m.doc = "%s: swap %s rules %d and %d" % (name, field, i, j)
    return m


def swap2(name, i, j):
    def m(live):
        o = _cnp(live, name)
        for f in ("egress", "ingress"):
            r = o["spec"][f]
            r[i], r[j] = r[j], r[i]
        return [copy.deepcopy(o)], []
    m.doc = "%s: swap egress rules %d and %d, and ingress rules %d and %d" % (
        name, i, j, i, j)
    return m


def named_port(name, field, i, port_name):
    def m(live):
        o = _cnp(live, name)
        o["spec"][field][i]["protocols"] = [{"destinationNamedPort": port_name}]
        return [copy.deepcopy(o)], []
    m.doc = "%s: %s rule %d protocols = destinationNamedPort %s" % (
        name, field, i, port_name)
    return m


def set_action(name, field, i, action):
    def m(live):
        o = _cnp(live, name)
        o["spec"][field][i]["action"] = action
        return [copy.deepcopy(o)], []
    m.doc = "%s: %s rule %d action = %s" % (name, field, i, action)
    return m


def set_priority(name, prio):
    def m(live):
        o = _cnp(live, name)
        o["spec"]["priority"] = prio
        return [copy.deepcopy(o)], []
    m.doc = "%s: priority = %d" % (name, prio)
    return m


def relabel_ns(house, value):
    def m(live):
        o = _ns_obj(house)
        o["metadata"]["labels"]["conformance-house"] = value
        return [o], []
    m.doc = "Namespace %s%s: labels set to conformance-house=%s" % (PREFIX, house, value)
    return m


def prepend_pod_cidrs(name):
    """Accept to the /32 of luna-lovegood-0 and cedric-diggory-0 (their
    status.podIP; upstream uses /128 when that is IPv6) as egress rule 0."""
    def m(live):
        o = _cnp(live, name)
        ips = [live[("Pod", "ravenclaw/luna-lovegood-0")]["status"]["podIP"],
               live[("Pod", "hufflepuff/cedric-diggory-0")]["status"]["podIP"]]
        rule = {"name": "allow-egress-to-specific-podIPs", "action": "Accept",
                "to": [{"networks": [ip + "/32" for ip in ips]}]}
        o["spec"]["egress"] = [rule] + o["spec"]["egress"]
        return [copy.deepcopy(o)], []
    m.doc = "%s: insert as egress rule 0 Accept to networks [luna-lovegood-0/32, cedric-diggory-0/32]" % name
    return m


def delete_np(ns, name):
    def m(live):
        live.pop(("NetworkPolicy", ns + "/" + name))
        return [], [L.delete("NetworkPolicy", PREFIX + ns, name)]
    m.doc = "delete NetworkPolicy %s%s/%s" % (PREFIX, ns, name)
    return m


# ------------------------------------------------------------ the tests
# test -> (manifest, [subtest plan]); a subtest plan is a list of segments
# (mutation or None, number of upstream probes after it); None = one segment
# with no mutation and all of the subtest's probes.

def _std(name, field, n_subtests, admin=True):
    """The TCP/UDP/SCTP tests: subtests 3 (and for Admin 5, 6) patch."""
    plan = [None, None, [(swap(name, field, 0, 1), None)], None]
    if admin:
        plan += [[(swap(name, field, 0, 2), None)], [(swap(name, field, 3, 4), None)]]
    assert len(plan) == n_subtests
    return plan


TESTS = {
    "CNPAdminTierIngressTCP": ("admin_tier/standard-ingress-tcp-rules.yaml", _std("ingress-tcp", "ingress", 6)),
    "CNPAdminTierIngressUDP": ("admin_tier/standard-ingress-udp-rules.yaml", _std("ingress-udp", "ingress", 6)),
    "CNPAdminTierIngressSCTP": ("admin_tier/standard-ingress-sctp-rules.yaml", _std("ingress-sctp", "ingress", 6)),
    "CNPAdminTierEgressTCP": ("admin_tier/standard-egress-tcp-rules.yaml", _std("egress-tcp", "egress", 6)),
    "CNPAdminTierEgressUDP": ("admin_tier/standard-egress-udp-rules.yaml", _std("egress-udp", "egress", 6)),
    "CNPAdminTierEgressSCTP": ("admin_tier/standard-egress-sctp-rules.yaml", _std("egress-sctp", "egress", 6)),
    "CNPAdminTierGress": ("admin_tier/standard-gress-rules-combined.yaml",
                          [None, None, [(swap2("gress-rules", 0, 1), None)], None,
                           [(swap2("gress-rules", 0, 2), None)],
                           [(swap2("gress-rules", 3, 4), None)]]),
    "CNPAdminTierEgressInlineCIDRPeers": (
        "admin_tier/standard-egress-inline-cidr-rules.yaml",
        [[(None, 9), (relabel_ns("slytherin", "denied-namespace-label"), 3),
          (relabel_ns("slytherin", "slytherin"), 3)],
         [(prepend_pod_cidrs("inline-cidr-as-peers-example"), None)]]),
    "CNPAdminTierPriorityField": ("admin_tier/standard-priority-field.yaml",
                                  [None, None, [(set_priority("old-priority-60-new-priority-40-example", 40), None)]]),
    "CNPAdminTierIntegration": ("api_integration/standard-anp-np-banp.yaml",
                                [None, None, [(set_action("pass-example", "ingress", 0, "Pass"), None)],
                                 [(set_action("pass-example", "egress", 0, "Pass"), None)],
                                 [(delete_np("gryffindor", "allow-gress-from-to-slytherin-to-gryffindor"), None)],
                                 None]),
    "CNPAdminTierIngressNamedPort": ("admin_tier/standard-ingress-udp-rules.yaml",
                                     [[(named_port("ingress-udp", "ingress", 5, "dns"), None)]]),
    "CNPAdminTierEgressNamedPort": ("admin_tier/standard-egress-tcp-rules.yaml",
                                    [[(named_port("egress-tcp", "egress", 5, "web"), None)]]),
    "CNPAdminTierEgressNodePeers": ("admin_tier/experimental-egress-selector-rules.yaml", [None, None, None]),
    "CNPBaselineTierIngressTCP": ("baseline_tier/standard-ingress-tcp-rules.yaml", _std("default", "ingress", 4, False)),
    "CNPBaselineTierIngressUDP": ("baseline_tier/standard-ingress-udp-rules.yaml", _std("default", "ingress", 4, False)),
    "CNPBaselineTierIngressSCTP": ("baseline_tier/standard-ingress-sctp-rules.yaml", _std("default", "ingress", 4, False)),
    "CNPBaselineTierEgressTCP": ("baseline_tier/standard-egress-tcp-rules.yaml", _std("default", "egress", 4, False)),
    "CNPBaselineTierEgressUDP": ("baseline_tier/standard-egress-udp-rules.yaml", _std("default", "egress", 4, False)),
    "CNPBaselineTierEgressSCTP": ("baseline_tier/standard-egress-sctp-rules.yaml", _std("default", "egress", 4, False)),
    "CNPBaselineTierGress": ("baseline_tier/standard-gress-rules-combined.yaml",
                             [None, None, [(swap2("default", 0, 1), None)], None]),
    "CNPBaselineTierEgressInlineCIDRPeers": (
        "baseline_tier/standard-egress-inline-cidr-rules.yaml",
        [[(None, 9), (relabel_ns("slytherin", "denied-namespace-label"), 3),
          (relabel_ns("slytherin", "slytherin"), 3)],
         [(prepend_pod_cidrs("default"), None)]]),
    "CNPBaselineTierIngressNamedPort": ("baseline_tier/standard-ingress-tcp-rules.yaml",
                                        [[(named_port("default", "ingress", 3, "web"), None)]]),
    "CNPBaselineTierEgressNamedPort": ("baseline_tier/standard-egress-udp-rules.yaml",
                                       [[(named_port("default", "egress", 3, "dns"), None)]]),
    "CNPBaselineTierEgressNodePeers": ("baseline_tier/experimental-egress-selector-rules.yaml", [None, None]),
}

DEFAULT_MATRIX = [(80, "TCP"), (53, "UDP"), (9003, "SCTP")]


def load_asserts():
    with open(ASSERTS) as f:
        return {t["test"]: t for t in json.load(f)["tests"]}


def probe_port(p):
    port = p["port"]
    if isinstance(port, str):            # "hostport:N"
        port = HOST_PORTS[int(port.split(":")[1])]
    return port


def _ref(r):
    ns, name = r.split("/", 1)
    return PREFIX + ns + "/" + name


def _live_key(o):
    m = o["metadata"]
    if o["kind"] in ("Namespace", "ClusterNetworkPolicy", "Node"):
        return (o["kind"], m["name"])
    ns = m["namespace"][len(PREFIX):] if m["namespace"].startswith(PREFIX) else m["namespace"]
    return (o["kind"], ns + "/" + m["name"])


def build_steps(test):
    """[(comment, apply, delete, [upstream probes], changed)] for a test."""
    manifest, plan = TESTS[test]
    subtests = load_asserts()[test]["subtests"]
    if len(plan) != len(subtests):
        raise SystemExit("%s: %d subtests upstream, plan has %d" % (
            test, len(subtests), len(plan)))
    setup, dels = houses_setup()
    objs = load_manifest(manifest)
    live = {_live_key(o): copy.deepcopy(o) for o in setup + objs}
    steps = []
    first = True
    for st, segs in zip(subtests, plan):
        probes = [dict(p, **{"from": _ref(p["from"]), "to": _ref(p["to"]),
                             "port": probe_port(p), "upstream": True})
                  for p in st["probes"]]
        segs = segs or [(None, None)]
        at = 0
        for k, (mut, n) in enumerate(segs):
            n = len(probes) - at if n is None else n
            apply, delete = [], []
            doc = None
            if mut is not None:
                apply, delete = mut(live)
                for o in apply:
                    live[_live_key(o)] = copy.deepcopy(o)
                doc = mut.doc
            comment = "upstream subtest: %s%s%s" % (
                st["title"], " (part %d)" % (k + 1) if len(segs) > 1 else "",
                "; patch: " + doc if doc else "")
            if first:
                apply, delete, first = setup + objs + apply, dels + delete, False
                comment += "; setup: the upstream base cluster replaces x, y, " \
                    "z, then %s" % manifest
            steps.append((comment, apply, delete, probes[at:at + n],
                          bool(apply or delete)))
            at += n
        assert at == len(probes), test
    return manifest, steps


def matrix_ports(test):
    ports = []
    for st in load_asserts()[test]["subtests"]:
        for p in st["probes"]:
            if isinstance(p["port"], int) and (p["port"], p["protocol"]) not in ports:
                ports.append((p["port"], p["protocol"]))
    return sorted(ports, key=lambda x: (("TCP", "UDP", "SCTP").index(x[1]), x[0])) \
        or DEFAULT_MATRIX
