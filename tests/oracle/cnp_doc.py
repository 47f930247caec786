"""ClusterNetworkPolicy cases written from the API's documentation
(apis/v1alpha2/clusternetworkpolicy_types.go doc comments,
site-src/api-overview.md and the user stories of site-src/user-stories.md
and site-src/user-story-examples/ of kubernetes-sigs/network-policy-api
@0eec1b0),
on our model cluster (x, y, z x a, b, c; tests/cases/model.json).

Every step carries hand-derived verdicts as grids, written from the API
text and NOT from the oracle; gen_cnp_cases.py writes the oracle's verdicts
into the case file and refuses to write a case whose grids disagree with the
oracle, and check_cnp.py compares them again.

Grid notation: the header lists either namespaces (each cell covers every
pod pair from that row's namespace to that column's namespace, self pairs
excluded) or pods "ns/name" (one cell per pair, '-' on the diagonal); '.'
allowed, 'X' denied.  A step lists a grid for every (port, protocol) it
probes (IPv6 ones with the key (port, proto, 6)).
"""

import caselib as L
from caselib import P3, P6, delete, model_pod, netpol, pod, sel
import netpol_oracle as oracle

SRC = ("kubernetes-sigs/network-policy-api@0eec1b0 apis/v1alpha2/"
       "clusternetworkpolicy_types.go, site-src/api-overview.md, "
       "site-src/user-stories.md")


def cnp(name, tier, priority, subject, ingress=None, egress=None):
    spec = {"tier": tier, "priority": priority, "subject": subject}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "policy.networking.k8s.io/v1alpha2",
            "kind": "ClusterNetworkPolicy", "metadata": {"name": name},
            "spec": spec}


def ns_subj(ns):
    return {"namespaces": {} if ns is None else sel(ns=ns)}


def pods_subj(ns, pod_labels):
    return {"pods": {"namespaceSelector": {} if ns is None else sel(ns=ns),
                     "podSelector": pod_labels}}


def ns_peer(ns):
    return {"namespaces": {} if ns is None else sel(ns=ns)}


def pods_peer(ns, pod_labels):
    return {"pods": {"namespaceSelector": {} if ns is None else sel(ns=ns),
                     "podSelector": pod_labels}}


def rule(action, peers, protocols=None, name=None, direction="ingress"):
    r = {}
    if name:
        r["name"] = name
    r["action"] = action
    r["from" if direction == "ingress" else "to"] = peers
    if protocols is not None:
        r["protocols"] = protocols
    return r


def ing(action, peers, protocols=None, name=None):
    return rule(action, peers, protocols, name, "ingress")


def eg(action, peers, protocols=None, name=None):
    return rule(action, peers, protocols, name, "egress")


def tcp(n=None, rng=None):
    return _proto("tcp", n, rng)


def udp(n=None, rng=None):
    return _proto("udp", n, rng)


def sctp(n=None, rng=None):
    return _proto("sctp", n, rng)


def _proto(key, n, rng):
    if n is not None:
        return {key: {"destinationPort": {"number": n}}}
    return {key: {"destinationPort": {"range": {"start": rng[0], "end": rng[1]}}}}


def np_(ns, name, pod_selector=None, ingress=None, egress=None, types=None):
    spec = {"podSelector": pod_selector or {}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types is not None:
        spec["policyTypes"] = types
    return netpol(ns, name, spec)


# ------------------------------------------------------------ grids

def parse_grid(text, pods):
    """Returns {(src, dst): bool} over every ordered pair of `pods`."""
    lines = [ln.split() for ln in text.strip().splitlines() if ln.strip()]
    cols = lines[0]
    cells = {}
    for row in lines[1:]:
        if len(row) != len(cols) + 1:
            raise ValueError("grid row %r: %d cells for %d columns" % (
                row[0], len(row) - 1, len(cols)))
        for c, v in zip(cols, row[1:]):
            cells[(row[0], c)] = v
    rows = [r[0] for r in lines[1:]]
    if rows != cols:
        raise ValueError("grid rows %s differ from columns %s" % (rows, cols))
    by_pod = all("/" in c for c in cols)
    out = {}
    if by_pod:
        if sorted(cols) != sorted(pods):
            raise ValueError("grid pods %s, present %s" % (cols, pods))
    for s in pods:
        for d in pods:
            if s == d:
                continue
            key = (s, d) if by_pod else (s.split("/")[0], d.split("/")[0])
            v = cells.get(key)
            if v not in (".", "X"):
                raise ValueError("no verdict for %s -> %s (cell %r)" % (s, d, v))
            out[(s, d)] = v == "."
    return out


class DocCase:
    def __init__(self, slug, description, tags, spec, ports=P3, ports6=()):
        self.slug, self.description = slug, description
        self.tags, self.spec = sorted(set(tags) | {"cnp"}), list(spec)
        self.ports, self.ports6 = list(ports), list(ports6)
        self.steps = []

    def step(self, apply=(), delete=(), comment=None, grids=None):
        """grids: {(port, proto) or (port, proto, 6): grid text}; the key
        "V6" stands for (80, "TCP", 6)."""
        grids = dict(grids)
        if "V6" in grids:
            grids[(80, "TCP", 6)] = grids.pop("V6")
        self.steps.append((list(apply), list(delete), comment, dict(grids)))
        return self

    def build(self, number, verdicts="oracle"):
        """The case; verdicts "oracle" (what is written) or "hand"."""
        cl = oracle.Cluster()
        cl.apply(L.MODEL)
        steps = []
        for apply, dels, comment, grids in self.steps:
            cl.run_step({"apply": apply, "delete": dels})
            pods = cl.probe_pods()
            want = set([(p, pr) for p, pr in self.ports] +
                       [(p, pr, 6) for p, pr in self.ports6])
            if set(grids) != want:
                raise ValueError("%s: grids for %s, probes on %s" % (
                    self.slug, sorted(grids, key=str), sorted(want, key=str)))
            hand = {k: parse_grid(v, pods if len(k) == 2 else
                                  [r for r in pods if oracle.pod_ip_of_family(
                                      cl.pod(r), 6)])
                    for k, v in grids.items()}

            def verdict(s, d, port, proto, family=None, cl=cl, hand=hand):
                if verdicts == "hand":
                    return hand[(port, proto) + ((6,) if family == 6 else ())][(s, d)]
                return cl.allowed(s, d, port, proto, family)
            probes = L.probe_list(cl, self.ports, verdict, self.ports6)
            st = {}
            if comment:
                st["comment"] = comment
            st["apply"], st["delete"], st["probes"] = apply, dels, probes
            steps.append(st)
        return {"name": "%03d-%s" % (number, self.slug),
                "source": "hand-checked: tests/oracle/cnp_doc.py from %s "
                          "(verdicts by netpol_oracle, equal to the hand grids)" % SRC,
                "description": self.description, "tags": self.tags,
                "spec": self.spec, "steps": steps}


CASES = []


def case(*a, **kw):
    c = DocCase(*a, **kw)
    CASES.append(c)
    return c


def build_all(verdicts="oracle"):
    return [c.build(i, verdicts) for i, c in enumerate(CASES, 1)]


A, B = sel(pod="a"), sel(pod="b")
ALL3 = """
  x y z
x . . .
y . . .
z . . .
"""

G_COL_Y = """
  x y z
x . X .
y . X .
z . X .
"""
G_COL_Y_FROM_X = """
  x y z
x . . .
y . X .
z . X .
"""
ALL_X = """
  x y z
x X X X
y X X X
z X X X
"""
UNKNOWN_PEER = {"serviceAccounts": {"namespaceSelector": {}, "podSelector": {}}}


def same(grid, ports=P3):
    return {p: grid for p in ports}


# 1
case("admin-deny-overrides-np-allow",
     "y admits every ingress from x by a NetworkPolicy; an Admin Deny from x "
     "on TCP 80 wins over it (\"No further ClusterNetworkPolicy or "
     "NetworkPolicy rules will be processed\"); other ports stay the NP's. "
     "Then the NetworkPolicy is deleted: the Deny alone remains.",
     ["admin", "deny", "np-interplay", "multi-step", "np-delete"],
     ["ClusterNetworkPolicyIngressRule.action Deny", "Tier: Admin before NetworkPolicy"]).step(
    [np_("y", "allow-from-x", ingress=[{"from": [{"namespaceSelector": sel(ns="x")}]}]),
     cnp("deny-x-to-y-80", "Admin", 10, ns_subj("y"),
         ingress=[ing("Deny", [ns_peer("x")], [tcp(80)], "deny-x-80")])],
    grids={(80, "TCP"): G_COL_Y, (81, "TCP"): G_COL_Y_FROM_X,
           (80, "UDP"): G_COL_Y_FROM_X}).step(
    delete=[delete("NetworkPolicy", "y", "allow-from-x")],
    comment="NetworkPolicy deleted",
    grids={(80, "TCP"): """
  x y z
x . X .
y . . .
z . . .
""", (81, "TCP"): ALL3, (80, "UDP"): ALL3})

# 2
case("admin-accept-overrides-np-isolation",
     "y is isolated by a deny-all NetworkPolicy; an Admin Accept from z "
     "opens it.  x's egress is isolated by a NetworkPolicy and an Admin egress "
     "Accept to y overrides that, but \"any ingress rules at the destination "
     "do apply\": x -> y stays denied until the ingress Accept also names x.",
     ["admin", "accept", "np-interplay", "egress", "multi-step", "cnp-update"],
     ["ClusterNetworkPolicyIngressRule.action Accept",
      "ClusterNetworkPolicyEgressRule.action Accept (destination ingress applies)"]).step(
    [np_("y", "deny-all", types=["Ingress"]),
     cnp("accept-to-y", "Admin", 10, ns_subj("y"),
         ingress=[ing("Accept", [ns_peer("z")])])],
    grids=same("""
  x y z
x . X .
y . X .
z . . .
""")).step(
    [np_("x", "deny-egress", types=["Egress"]),
     cnp("x-egress-to-y", "Admin", 5, ns_subj("x"),
         egress=[eg("Accept", [ns_peer("y")])])],
    comment="x egress isolated by NP; Admin egress Accept x -> y",
    grids=same("""
  x y z
x X X X
y . X .
z . . .
""")).step(
    [cnp("accept-to-y", "Admin", 10, ns_subj("y"),
         ingress=[ing("Accept", [ns_peer("x"), ns_peer("z")])])],
    comment="the ingress Accept also names x",
    grids=same("""
  x y z
x X . X
y . X .
z . . .
"""))

# 3
case("admin-pass-delegates-to-np",
     "Into y: Admin priority 10 Passes from x, Admin priority 20 Denies from "
     "every namespace.  Passed traffic goes to the NetworkPolicy tier (y "
     "admits x on TCP 80 only); without the NetworkPolicy it is allowed "
     "by default; then a Baseline Deny from x catches what was passed.",
     ["admin", "pass", "baseline", "np-interplay", "multi-step", "np-delete"],
     ["ClusterNetworkPolicyRuleActionPass", "Tier order Admin, NetworkPolicy, Baseline"]).step(
    [cnp("pass-x-to-y", "Admin", 10, ns_subj("y"),
         ingress=[ing("Pass", [ns_peer("x")])]),
     cnp("deny-all-to-y", "Admin", 20, ns_subj("y"),
         ingress=[ing("Deny", [ns_peer(None)])]),
     np_("y", "allow-x-80", ingress=[{"from": [{"namespaceSelector": sel(ns="x")}],
                                       "ports": [{"protocol": "TCP", "port": 80}]}])],
    grids={(80, "TCP"): G_COL_Y_FROM_X, (81, "TCP"): G_COL_Y,
           (80, "UDP"): G_COL_Y}).step(
    delete=[delete("NetworkPolicy", "y", "allow-x-80")],
    comment="NetworkPolicy deleted: passed traffic meets no NP, no Baseline",
    grids=same(G_COL_Y_FROM_X)).step(
    [cnp("baseline-deny-x-to-y", "Baseline", 10, ns_subj("y"),
         ingress=[ing("Deny", [ns_peer("x")])])],
    comment="Baseline Deny from x",
    grids=same(G_COL_Y))

# 4
case("baseline-deny-only-where-no-np-isolates",
     "User story 5 (site-src/user-story-examples/user-story-5.yaml, "
     "verbatim): a Baseline Deny of all ingress everywhere; a NetworkPolicy in y "
     "(admits x) decides for y instead.  An egress-only NetworkPolicy in z "
     "does not shield z's ingress from the Baseline; an ingress "
     "NetworkPolicy on z/a does, for z/a only.",
     ["baseline", "deny", "np-interplay", "policyTypes", "multi-step"],
     ["Tier Baseline: only for pods no NetworkPolicy selects (per direction)",
      "site-src/user-stories.md story 5"]).step(
    [cnp("default", "Baseline", 10, {"namespaces": {}},
         ingress=[ing("Deny", [{"namespaces": {}}])])],
    grids=same(ALL_X)).step(
    [np_("y", "allow-from-x", ingress=[{"from": [{"namespaceSelector": sel(ns="x")}]}])],
    comment="NetworkPolicy selects y",
    grids=same("""
  x y z
x X . X
y X X X
z X X X
""")).step(
    [np_("z", "egress-only", types=["Egress"], egress=[{}])],
    comment="egress-only NetworkPolicy in z",
    grids=same("""
  x y z
x X . X
y X X X
z X X X
""")).step(
    [np_("z", "ingress-a", pod_selector=sel(pod="a"),
         ingress=[{"from": [{"podSelector": {}}]}])],
    comment="ingress NetworkPolicy on z/a (admits z)",
    grids=same("""
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  -   X   X   .   .   .   X   X   X
x/b  X   -   X   .   .   .   X   X   X
x/c  X   X   -   .   .   .   X   X   X
y/a  X   X   X   -   X   X   X   X   X
y/b  X   X   X   X   -   X   X   X   X
y/c  X   X   X   X   X   -   X   X   X
z/a  X   X   X   X   X   X   -   X   X
z/b  X   X   X   X   X   X   .   -   X
z/c  X   X   X   X   X   X   .   X   -
"""))

# 5
case("baseline-pass-and-admin-over-baseline",
     "Into x: Baseline priority 5 Passes y on TCP 80 (to the default: "
     "allowed), Baseline priority 10 Denies everyone.  Then an Admin Deny "
     "from y wins over the Baseline Pass.",
     ["baseline", "pass", "admin", "multi-step"],
     ["ClusterNetworkPolicyRuleActionPass in Baseline", "priority"]).step(
    [cnp("b-pass-y", "Baseline", 5, ns_subj("x"),
         ingress=[ing("Pass", [ns_peer("y")], [tcp(80)])]),
     cnp("b-deny", "Baseline", 10, ns_subj("x"),
         ingress=[ing("Deny", [ns_peer(None)])])],
    grids={(80, "TCP"): """
  x y z
x X . .
y . . .
z X . .
""", (81, "TCP"): """
  x y z
x X . .
y X . .
z X . .
""", (80, "UDP"): """
  x y z
x X . .
y X . .
z X . .
"""}).step(
    [cnp("admin-deny-y", "Admin", 1, ns_subj("x"),
         ingress=[ing("Deny", [ns_peer("y")])])],
    comment="Admin Deny from y",
    grids=same("""
  x y z
x X . .
y X . .
z X . .
"""))

# 6
case("priority-and-rule-order-updates",
     "y is isolated by a NetworkPolicy.  Admin priority 10 Denies x on TCP "
     "80, priority 20 Accepts x.  Priority 10 is changed to 30 (Accept "
     "first); the Accept policy gets a Deny UDP rule before its Accept rule "
     "(rule order); then it is deleted.",
     ["admin", "priority", "rule-order", "multi-step", "cnp-update", "cnp-delete"],
     ["ClusterNetworkPolicySpec.priority", "ingress rule order"]).step(
    [np_("y", "deny-all", types=["Ingress"]),
     cnp("low-accept", "Admin", 20, ns_subj("y"), ingress=[ing("Accept", [ns_peer("x")])]),
     cnp("high-deny", "Admin", 10, ns_subj("y"),
         ingress=[ing("Deny", [ns_peer("x")], [tcp(80)])])],
    grids={(80, "TCP"): G_COL_Y, (81, "TCP"): G_COL_Y_FROM_X,
           (80, "UDP"): G_COL_Y_FROM_X}).step(
    [cnp("high-deny", "Admin", 30, ns_subj("y"),
         ingress=[ing("Deny", [ns_peer("x")], [tcp(80)])])],
    comment="high-deny priority 10 -> 30",
    grids=same(G_COL_Y_FROM_X)).step(
    [cnp("low-accept", "Admin", 20, ns_subj("y"),
         ingress=[ing("Deny", [ns_peer("x")], [udp(80)]),
                  ing("Accept", [ns_peer("x")])])],
    comment="low-accept: Deny UDP 80 rule inserted before the Accept",
    grids={(80, "TCP"): G_COL_Y_FROM_X, (81, "TCP"): G_COL_Y_FROM_X,
           (80, "UDP"): G_COL_Y}).step(
    delete=[delete("ClusterNetworkPolicy", None, "low-accept")],
    comment="low-accept deleted",
    grids=same(G_COL_Y))

# 7
case("equal-priority-ordered-by-name",
     "Two Admin policies of priority 10 into y, m-accept (Accept x) and "
     "n-deny (Deny all): the API leaves the order undefined; ours (decision "
     "C2) is by name, so m-accept decides first.  a-deny (priority 10, Deny "
     "x on TCP 80) then sorts before both.",
     ["admin", "priority", "decision", "multi-step"],
     ["ClusterNetworkPolicySpec.priority (equal priorities)", "decision C2"]).step(
    [cnp("m-accept", "Admin", 10, ns_subj("y"), ingress=[ing("Accept", [ns_peer("x")])]),
     cnp("n-deny", "Admin", 10, ns_subj("y"), ingress=[ing("Deny", [ns_peer(None)])])],
    grids=same(G_COL_Y_FROM_X)).step(
    [cnp("a-deny", "Admin", 10, ns_subj("y"),
         ingress=[ing("Deny", [ns_peer("x")], [tcp(80)])])],
    comment="a-deny added",
    grids={(80, "TCP"): G_COL_Y, (81, "TCP"): G_COL_Y_FROM_X,
           (80, "UDP"): G_COL_Y_FROM_X})

X_TO_Y_X = """
  x y z
x . X .
y . . .
z . . .
"""
# 8
case("protocols-tcp-udp-sctp-numbers-and-ranges",
     "Admin egress Deny x -> y on [tcp 80, udp 80-81, sctp 81]: TCP 81 and "
     "SCTP 80 pass.  Then the rule becomes Accept with a Baseline egress Deny "
     "from x to everyone below it: only the listed ports from x to y pass.",
     ["admin", "baseline", "protocols", "port-range", "sctp", "udp", "egress",
      "multi-step", "cnp-update"],
     ["ClusterNetworkPolicyProtocol tcp/udp/sctp", "Port number and range"],
     ports=P6).step(
    [cnp("x-to-y-protocols", "Admin", 10, ns_subj("x"),
         egress=[eg("Deny", [ns_peer("y")], [tcp(80), udp(rng=(80, 81)), sctp(81)])])],
    grids={(80, "TCP"): X_TO_Y_X, (81, "TCP"): ALL3, (80, "UDP"): X_TO_Y_X,
           (81, "UDP"): X_TO_Y_X, (80, "SCTP"): ALL3, (81, "SCTP"): X_TO_Y_X}).step(
    [cnp("x-to-y-protocols", "Admin", 10, ns_subj("x"),
         egress=[eg("Accept", [ns_peer("y")], [tcp(80), udp(rng=(80, 81)), sctp(81)])]),
     cnp("x-egress-deny", "Baseline", 10, ns_subj("x"),
         egress=[eg("Deny", [ns_peer(None)])])],
    comment="Accept on the listed ports, Baseline Deny for the rest",
    grids={(80, "TCP"): """
  x y z
x X . X
y . . .
z . . .
""", (81, "TCP"): """
  x y z
x X X X
y . . .
z . . .
""", (80, "UDP"): """
  x y z
x X . X
y . . .
z . . .
""", (81, "UDP"): """
  x y z
x X . X
y . . .
z . . .
""", (80, "SCTP"): """
  x y z
x X X X
y . . .
z . . .
""", (81, "SCTP"): """
  x y z
x X . X
y . . .
z . . .
"""})

DS = [pod("x", "d", "10.244.1.14", ip6="fd00:10:244:1::14"),
      pod("y", "d", "10.244.2.14", ip6="fd00:10:244:2::14"),
      pod("z", "d", "10.244.3.14", ip6="fd00:10:244:3::14")]
# 9
case("networks-ipv4-and-ipv6",
     "Dual-stack x/d, y/d, z/d.  Admin egress Deny from x to networks "
     "fd00:10:244:2::/64 stops x/d -> y/d over IPv6 only.  Then x's egress is "
     "isolated by a NetworkPolicy and an Admin egress Accept to 10.244.3.0/24 "
     "(pod addresses match networks) overrides it for IPv4 to z only.",
     ["admin", "networks", "ipv6", "dual-stack", "egress", "np-interplay",
      "multi-step", "pod-add"],
     ["ClusterNetworkPolicyEgressPeer.networks (also cluster-internal, v4 and v6)"],
     ports=P3, ports6=[(80, "TCP")]).step(
    DS + [cnp("deny-x-to-y-v6", "Admin", 10, ns_subj("x"),
              egress=[eg("Deny", [{"networks": ["fd00:10:244:2::/64"]}])])],
    grids=dict(same(ALL3), V6="""
    x/d y/d z/d
x/d  -   X   .
y/d  .   -   .
z/d  .   .   -
""")).step(
    [np_("x", "deny-egress", types=["Egress"]),
     cnp("accept-x-to-z-v4", "Admin", 5, ns_subj("x"),
         egress=[eg("Accept", [{"networks": ["10.244.3.0/24"]}])])],
    comment="x egress isolated; Admin Accept to 10.244.3.0/24",
    grids=dict(same("""
  x y z
x X X .
y . . .
z . . .
"""), V6="""
    x/d y/d z/d
x/d  -   X   X
y/d  .   -   .
z/d  .   .   -
"""))

# 10
case("unknown-peer-fails-closed",
     "A peer with no known field (a newer API's peer kind) fails closed: in "
     "an Accept rule it matches nothing (y stays under its Baseline Deny); a "
     "Pass rule holding one becomes \"Deny all\" (everything into z, every "
     "port, whatever its other peers and protocols); once fixed to a known "
     "peer only TCP 80 from x is denied.",
     ["admin", "baseline", "fail-closed", "multi-step", "cnp-update"],
     ["ClusterNetworkPolicyIngressPeer: fail closed"]).step(
    [cnp("accept-unknown", "Admin", 10, ns_subj("y"),
         ingress=[ing("Accept", [UNKNOWN_PEER])]),
     cnp("deny-to-y", "Baseline", 10, ns_subj("y"),
         ingress=[ing("Deny", [ns_peer(None)])])],
    grids=same(G_COL_Y)).step(
    [cnp("pass-unknown", "Admin", 5, ns_subj("z"),
         ingress=[ing("Pass", [UNKNOWN_PEER, ns_peer("x")], [tcp(80)])])],
    comment="Pass rule with an unknown peer",
    grids=same("""
  x y z
x . X X
y . X X
z . X X
""")).step(
    [cnp("pass-unknown", "Admin", 5, ns_subj("z"),
         ingress=[ing("Deny", [ns_peer("x")], [tcp(80)])])],
    comment="rule fixed: Deny x on TCP 80",
    grids={(80, "TCP"): """
  x y z
x . X X
y . X .
z . X .
""", (81, "TCP"): G_COL_Y, (80, "UDP"): G_COL_Y})

# 11
GRID_B_TO_YA = """
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  -   .   .   .   .   .   .   .   .
x/b  .   -   .   X   .   .   .   .   .
x/c  .   .   -   .   .   .   .   .   .
y/a  .   .   .   -   .   .   .   .   .
y/b  .   .   .   X   -   .   .   .   .
y/c  .   .   .   .   .   -   .   .   .
z/a  .   .   .   .   .   .   -   .   .
z/b  .   .   .   X   .   .   .   -   .
z/c  .   .   .   .   .   .   .   .   -
"""
case("pods-subject-and-peer-relabel-delete",
     "Admin Deny into the pods subject {ns y, pod a} from the pods peer "
     "{every namespace, pod b}.  z/b is relabelled pod=c (no longer a peer), "
     "then the policy is deleted.",
     ["admin", "deny", "pods-subject", "pod-relabel", "multi-step", "cnp-delete"],
     ["ClusterNetworkPolicySubject.pods", "ClusterNetworkPolicyIngressPeer.pods"]).step(
    [cnp("deny-b-to-ya", "Admin", 10, pods_subj("y", A),
         ingress=[ing("Deny", [pods_peer(None, B)])])],
    grids=same(GRID_B_TO_YA)).step(
    [model_pod("z", "b", {"pod": "c"})],
    comment="z/b relabelled pod=c",
    grids=same(GRID_B_TO_YA.replace("z/b  .   .   .   X", "z/b  .   .   .   ."))).step(
    delete=[delete("ClusterNetworkPolicy", None, "deny-b-to-ya")],
    comment="policy deleted",
    grids=same(ALL3))

# 12
case("baseline-egress-not-for-np-isolated-pods",
     "A Baseline egress Deny to z from every pod; x's egress is isolated by "
     "a NetworkPolicy that allows everything, so x is not under the Baseline "
     "and still reaches z; y and z do not.",
     ["baseline", "egress", "np-interplay"],
     ["Tier Baseline: only for pods no NetworkPolicy selects (per direction)"]).step(
    [cnp("no-egress-to-z", "Baseline", 50, ns_subj(None),
         egress=[eg("Deny", [ns_peer("z")])]),
     np_("x", "egress-all", types=["Egress"], egress=[{}])],
    grids=same("""
  x y z
x . . .
y . . X
z . . X
"""))


def meta_name(ns):
    return {"matchLabels": {"kubernetes.io/metadata.name": ns}}


# 13
case("user-story-1-cluster-wide-deny",
     "User story 1 (site-src/user-story-examples/user-story-1.yaml) with "
     "sensitive-ns mapped to y: Admin Deny of ingress from every namespace "
     "(matchLabels {}) into y.  y's own NetworkPolicy admitting x cannot "
     "override it.",
     ["admin", "deny", "np-interplay", "user-story"],
     ["site-src/user-stories.md story 1"]).step(
    [np_("y", "allow-from-x", ingress=[{"from": [{"namespaceSelector": sel(ns="x")}]}]),
     cnp("cluster-wide-deny-example", "Admin", 10, {"namespaces": meta_name("y")},
         ingress=[ing("Deny", [{"namespaces": {"matchLabels": {}}}],
                      name="select-all-deny-all")])],
    grids=same(G_COL_Y))

# 14
case("user-story-2-cluster-wide-allow",
     "User story 2 (user-story-2.yaml) with monitoring-ns mapped to z and the "
     "kube-dns pods to x/a (kube-system = x): every namespace Accepts "
     "ingress from z and egress to x/a.  y locks itself down with a "
     "NetworkPolicy of both directions and no rules; z still reaches y and y "
     "still reaches x/a, nothing else of y's.",
     ["admin", "accept", "np-interplay", "egress", "user-story"],
     ["site-src/user-stories.md story 2"]).step(
    [np_("y", "lockdown", types=["Ingress", "Egress"]),
     cnp("cluster-wide-allow-example", "Admin", 30, {"namespaces": {}},
         ingress=[ing("Accept", [{"namespaces": meta_name("z")}],
                      name="allow-monitoring-ns-ingress")],
         egress=[eg("Accept", [{"pods": {"namespaceSelector": meta_name("x"),
                                         "podSelector": sel(pod="a")}}],
                    name="allow-kube-dns-egress")])],
    grids=same("""
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  -   .   .   X   X   X   .   .   .
x/b  .   -   .   X   X   X   .   .   .
x/c  .   .   -   X   X   X   .   .   .
y/a  .   X   X   -   X   X   X   X   X
y/b  .   X   X   X   -   X   X   X   X
y/c  .   X   X   X   X   -   X   X   X
z/a  .   .   .   .   .   .   -   .   .
z/b  .   .   .   .   .   .   .   -   .
z/c  .   .   .   .   .   .   .   .   -
"""))

PASSED = """
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  -   X   X   X   X   X   X   X   X
x/b  X   -   X   X   X   X   X   X   X
x/c  X   X   -   X   X   X   X   X   X
y/a  .   .   .   -   .   .   .   .   .
y/b  .   .   .   .   -   .   .   .   .
y/c  .   .   .   .   .   -   .   .   .
z/a  .   .   .   .   .   .   -   .   .
z/b  .   .   .   .   .   .   .   -   .
z/c  .   .   .   .   .   .   .   .   -
"""
NOT_PASSED = """
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  -   X   X   X   X   X   X   X   X
x/b  X   -   X   X   X   X   X   X   X
x/c  X   X   -   X   X   X   X   X   X
y/a  .   .   .   -   X   .   .   .   .
y/b  .   .   .   .   -   .   .   .   .
y/c  .   .   .   .   X   -   .   .   .
z/a  .   .   .   .   X   .   -   .   .
z/b  .   .   .   .   X   .   .   -   .
z/c  .   .   .   .   X   .   .   .   -
"""
# 15
case("user-story-3-delegate-to-np",
     "User story 3 (user-story-3.yaml) with bar-ns-1/svc-pub mapped to y/b, "
     "ports tcp 8080 -> 80, named port web-alt -> serve-81-tcp (81/TCP on "
     "the model's pods), udp 53 -> 80: egress to y/b on those ports is "
     "Passed to NetworkPolicy; a lower-precedence Admin Deny of all egress to "
     "y/b catches the other ports.  x's egress is isolated by a "
     "NetworkPolicy, so passed traffic from x is denied there; others have no "
     "NetworkPolicy and pass.",
     ["admin", "pass", "deny", "named-port", "np-interplay", "egress",
      "user-story", "sctp", "udp"],
     ["site-src/user-stories.md story 3", "destinationNamedPort"], ports=P6).step(
    [np_("x", "deny-egress", types=["Egress"]),
     cnp("pub-svc-delegate-example", "Admin", 20, {"namespaces": {}},
         egress=[eg("Pass", [pods_peer("y", B)],
                    [tcp(80), {"destinationNamedPort": "serve-81-tcp"}, udp(80)])]),
     cnp("deny-to-svc-pub", "Admin", 30, {"namespaces": {}},
         egress=[eg("Deny", [pods_peer("y", B)])])],
    grids={(80, "TCP"): PASSED, (81, "TCP"): PASSED, (80, "UDP"): PASSED,
           (81, "UDP"): NOT_PASSED, (80, "SCTP"): NOT_PASSED,
           (81, "SCTP"): NOT_PASSED})

# 16
case("namespace-relabel-moves-subject-and-peer",
     "Admin Deny of ingress into namespaces labelled tenant=blue from "
     "namespaces labelled tenant=red.  y is labelled blue (subject), then z "
     "red (peer), then y loses its label.",
     ["admin", "deny", "ns-relabel", "multi-step"],
     ["ClusterNetworkPolicySubject.namespaces", "ClusterNetworkPolicyIngressPeer.namespaces"]).step(
    [cnp("blue-from-red", "Admin", 10, {"namespaces": sel(tenant="blue")},
         ingress=[ing("Deny", [{"namespaces": sel(tenant="red")}])]),
     L.model_namespace("x", {"tenant": "red"})],
    comment="x is red; nothing is blue",
    grids=same(ALL3)).step(
    [L.model_namespace("y", {"tenant": "blue"})],
    comment="y labelled blue",
    grids=same(X_TO_Y_X)).step(
    [L.model_namespace("z", {"tenant": "red"})],
    comment="z labelled red",
    grids=same("""
  x y z
x . X .
y . . .
z . X .
""")).step(
    [L.model_namespace("y")],
    comment="y loses tenant=blue",
    grids=same(ALL3))
