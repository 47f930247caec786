"""Hand-written cases: objects plus verdicts derived BY HAND, as reachability
grids, for points where an oracle bug would be invisible in generated cases
(the oracle would just agree with itself).  gen_cases.py writes them as
tests/cases/9NN-hand-*.json; check_handwritten.py compares them with the
oracle.

Grid notation (as in the upstream e2e truth tables): rows are the source
pod, columns the destination pod, in the header's order; '.' allowed, 'X'
denied, '-' self (not probed).  The header must list exactly the pods that
are probe-able at that step.
"""

import caselib as L
from caselib import delete, expr, model_pod, netpol, pod, sel, sel_expr

HTTP_8080 = [("http", 8080, "TCP"), ("dns", 53, "UDP")]
HTTP_80 = [("http", 80, "TCP"), ("dns", 5353, "UDP")]


def parse_grid(text):
    lines = [ln.split() for ln in text.strip().splitlines() if ln.strip()]
    cols = lines[0]
    out = {}
    rows = []
    for row in lines[1:]:
        src, cells = row[0], row[1:]
        if len(cells) != len(cols):
            raise ValueError("grid row %s has %d cells, want %d" % (src, len(cells), len(cols)))
        rows.append(src)
        for dst, cell in zip(cols, cells):
            if src == dst:
                if cell != "-":
                    raise ValueError("self cell %s must be '-'" % src)
                continue
            if cell not in ".X":
                raise ValueError("bad cell %r" % cell)
            out[(src, dst)] = cell == "."
    if rows != cols:
        raise ValueError("grid rows %s differ from columns %s" % (rows, cols))
    return cols, out


class HandCase:
    def __init__(self, number, slug, description, tags, spec):
        self.number, self.slug = number, slug
        self.description, self.tags, self.spec = description, sorted(tags), spec
        self.steps = []

    def step(self, apply=(), delete=(), comment=None, grids=None):
        """grids: list of ((port, proto), grid text)."""
        self.steps.append((list(apply), list(delete), comment, grids))
        return self

    def build(self):
        import netpol_oracle as oracle
        cl = oracle.Cluster()   # only to check which pods are present
        cl.apply(L.MODEL)
        steps = []
        for apply, dels, comment, grids in self.steps:
            cl.run_step({"apply": apply, "delete": dels})
            probes = []
            for (port, proto), text in grids:
                cols, verdicts = parse_grid(text)
                if cols != cl.probe_pods():
                    raise ValueError("%s: grid pods %s, present %s" % (
                        self.slug, cols, cl.probe_pods()))
                for s in cols:
                    for d in cols:
                        if s != d:
                            probes.append({"from": s, "to": d, "port": port,
                                           "protocol": proto,
                                           "allowed": verdicts[(s, d)]})
            st = {}
            if comment:
                st["comment"] = comment
            st["apply"] = apply
            st["delete"] = dels
            st["probes"] = probes
            steps.append(st)
        return {"name": "%03d-hand-%s" % (self.number, self.slug),
                "source": "hand-written: tests/oracle/handwritten.py (verdicts derived by hand)",
                "description": self.description, "tags": self.tags,
                "spec": self.spec, "steps": steps}


CASES = []


def hand(*a):
    c = HandCase(*a)
    CASES.append(c)
    return c


# --------------------------------------------------------------------- 901
# x/a may send only to port `http` of pods labelled pod=d (any namespace);
# y/d has http=8080/TCP and dns=53/UDP, z/d has http=80/TCP and dns=5353/UDP.
# z/d admits only its port `dns` with protocol UDP (= 5353/UDP on z/d).
# Derivation:
#   row x/a: only x/a->y/d on 8080/TCP passes egress; x/a->z/d on 80/TCP
#   passes egress but z/d's ingress admits only 5353/UDP -> denied.
#   column z/d: only 5353/UDP is admitted (not 53/UDP: that is y/d's dns).
# Step 2 deletes z/d's policy: x/a->z/d:80/TCP now passes.
_H = "     x/a x/b x/c y/a y/b y/c y/d z/a z/b z/c z/d\n"
hand(901, "named-port-per-destination-pod",
     "Named ports resolve per destination pod, in egress on the remote pod "
     "and in ingress on the selected pod, with the rule's protocol: `http` "
     "is 8080 on y/d and 80 on z/d; `dns`/UDP is 53 on y/d and 5353 on z/d. "
     "A connection needs egress at the source AND ingress at the "
     "destination.",
     ["named-port", "egress", "ingress", "both-directions", "UDP", "pod-add",
      "policy-delete", "multi-step", "hand-written"],
     ["§3.3", "§3.6"]).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ports=HTTP_80),
     netpol("x", "a-to-d-http", {
         "podSelector": sel(pod="a"), "policyTypes": ["Egress"],
         "egress": [{"to": [{"namespaceSelector": {}, "podSelector": sel(pod="d")}],
                     "ports": [{"port": "http"}]}]}),
     netpol("z", "d-dns", {
         "podSelector": sel(pod="d"),
         "ingress": [{"ports": [{"protocol": "UDP", "port": "dns"}]}]})],
    comment="y/d, z/d and both policies",
    grids=[((80, "TCP"), _H + """
x/a   -   X   X   X   X   X   X   X   X   X   X
x/b   .   -   .   .   .   .   .   .   .   .   X
x/c   .   .   -   .   .   .   .   .   .   .   X
y/a   .   .   .   -   .   .   .   .   .   .   X
y/b   .   .   .   .   -   .   .   .   .   .   X
y/c   .   .   .   .   .   -   .   .   .   .   X
y/d   .   .   .   .   .   .   -   .   .   .   X
z/a   .   .   .   .   .   .   .   -   .   .   X
z/b   .   .   .   .   .   .   .   .   -   .   X
z/c   .   .   .   .   .   .   .   .   .   -   X
z/d   .   .   .   .   .   .   .   .   .   .   -
"""), ((8080, "TCP"), _H + """
x/a   -   X   X   X   X   X   .   X   X   X   X
x/b   .   -   .   .   .   .   .   .   .   .   X
x/c   .   .   -   .   .   .   .   .   .   .   X
y/a   .   .   .   -   .   .   .   .   .   .   X
y/b   .   .   .   .   -   .   .   .   .   .   X
y/c   .   .   .   .   .   -   .   .   .   .   X
y/d   .   .   .   .   .   .   -   .   .   .   X
z/a   .   .   .   .   .   .   .   -   .   .   X
z/b   .   .   .   .   .   .   .   .   -   .   X
z/c   .   .   .   .   .   .   .   .   .   -   X
z/d   .   .   .   .   .   .   .   .   .   .   -
"""), ((53, "UDP"), _H + """
x/a   -   X   X   X   X   X   X   X   X   X   X
x/b   .   -   .   .   .   .   .   .   .   .   X
x/c   .   .   -   .   .   .   .   .   .   .   X
y/a   .   .   .   -   .   .   .   .   .   .   X
y/b   .   .   .   .   -   .   .   .   .   .   X
y/c   .   .   .   .   .   -   .   .   .   .   X
y/d   .   .   .   .   .   .   -   .   .   .   X
z/a   .   .   .   .   .   .   .   -   .   .   X
z/b   .   .   .   .   .   .   .   .   -   .   X
z/c   .   .   .   .   .   .   .   .   .   -   X
z/d   .   .   .   .   .   .   .   .   .   .   -
"""), ((5353, "UDP"), _H + """
x/a   -   X   X   X   X   X   X   X   X   X   X
x/b   .   -   .   .   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .   .   .
y/a   .   .   .   -   .   .   .   .   .   .   .
y/b   .   .   .   .   -   .   .   .   .   .   .
y/c   .   .   .   .   .   -   .   .   .   .   .
y/d   .   .   .   .   .   .   -   .   .   .   .
z/a   .   .   .   .   .   .   .   -   .   .   .
z/b   .   .   .   .   .   .   .   .   -   .   .
z/c   .   .   .   .   .   .   .   .   .   -   .
z/d   .   .   .   .   .   .   .   .   .   .   -
""")]).step(
    delete=[delete("NetworkPolicy", "z", "d-dns")],
    comment="z/d's ingress policy deleted",
    grids=[((80, "TCP"), _H + """
x/a   -   X   X   X   X   X   X   X   X   X   .
x/b   .   -   .   .   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .   .   .
y/a   .   .   .   -   .   .   .   .   .   .   .
y/b   .   .   .   .   -   .   .   .   .   .   .
y/c   .   .   .   .   .   -   .   .   .   .   .
y/d   .   .   .   .   .   .   -   .   .   .   .
z/a   .   .   .   .   .   .   .   -   .   .   .
z/b   .   .   .   .   .   .   .   .   -   .   .
z/c   .   .   .   .   .   .   .   .   .   -   .
z/d   .   .   .   .   .   .   .   .   .   .   -
"""), ((8080, "TCP"), _H + """
x/a   -   X   X   X   X   X   .   X   X   X   X
x/b   .   -   .   .   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .   .   .
y/a   .   .   .   -   .   .   .   .   .   .   .
y/b   .   .   .   .   -   .   .   .   .   .   .
y/c   .   .   .   .   .   -   .   .   .   .   .
y/d   .   .   .   .   .   .   -   .   .   .   .
z/a   .   .   .   .   .   .   .   -   .   .   .
z/b   .   .   .   .   .   .   .   .   -   .   .
z/c   .   .   .   .   .   .   .   .   .   -   .
z/d   .   .   .   .   .   .   .   .   .   .   -
"""), ((53, "UDP"), _H + """
x/a   -   X   X   X   X   X   X   X   X   X   X
x/b   .   -   .   .   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .   .   .
y/a   .   .   .   -   .   .   .   .   .   .   .
y/b   .   .   .   .   -   .   .   .   .   .   .
y/c   .   .   .   .   .   -   .   .   .   .   .
y/d   .   .   .   .   .   .   -   .   .   .   .
z/a   .   .   .   .   .   .   .   -   .   .   .
z/b   .   .   .   .   .   .   .   .   -   .   .
z/c   .   .   .   .   .   .   .   .   .   -   .
z/d   .   .   .   .   .   .   .   .   .   .   -
""")])

# --------------------------------------------------------------------- 902
# x/a, three ingress policies:
#   p1: from 10.244.0.0/16 except 10.244.2.0/24 (all of y) and
#       10.244.3.11/32 (z/a); all ports
#   p2: from {ns=y, pod=b} on 81 (TCP)
#   p3: from 10.244.3.11/32 on 80/UDP
# Derivation (column x/a only; every other pod is unrestricted):
#   x/b, x/c, z/b, z/c: p1, every port.
#   y/a, y/c: excepted by p1, nothing else -> denied.
#   y/b: excepted by p1, p2 re-allows 81/TCP only.
#   z/a: excepted by p1, p3 re-allows 80/UDP only.
# Step 2 deletes p2 and p3: y/b and z/a lose their re-allowed port.
_G = "     x/a x/b x/c y/a y/b y/c z/a z/b z/c\n"
_OPEN_ROWS = """
x/b   {xb}   -   .   .   .   .   .   .   .
x/c   {xc}   .   -   .   .   .   .   .   .
y/a   {ya}   .   .   -   .   .   .   .   .
y/b   {yb}   .   .   .   -   .   .   .   .
y/c   {yc}   .   .   .   .   -   .   .   .
z/a   {za}   .   .   .   .   .   -   .   .
z/b   {zb}   .   .   .   .   .   .   -   .
z/c   {zc}   .   .   .   .   .   .   .   -
"""


def _col_xa(**cells):
    return _G + "x/a   -   .   .   .   .   .   .   .   .\n" + _OPEN_ROWS.format(**cells)


hand(902, "except-reallowed-by-other-policies",
     "ipBlock except trims only its own peer: x/a admits 10.244.0.0/16 "
     "except y's /24 and z/a's /32, while two other policies re-allow the "
     "excepted y/b (by selector, 81/TCP) and z/a (by ipBlock /32, 80/UDP). "
     "Deleting those policies removes exactly the re-allowed ports.",
     ["ipBlock", "except", "re-allow", "union", "cidr-32", "policy-delete",
      "multi-step", "hand-written"],
     ["§3.4"]).step(
    [netpol("x", "p1", {"podSelector": sel(pod="a"), "ingress": [{"from": [{"ipBlock": {
        "cidr": "10.244.0.0/16", "except": ["10.244.2.0/24", "10.244.3.11/32"]}}]}]}),
     netpol("x", "p2", {"podSelector": sel(pod="a"), "ingress": [{
         "from": [{"namespaceSelector": sel(ns="y"), "podSelector": sel(pod="b")}],
         "ports": [{"port": 81}]}]}),
     netpol("x", "p3", {"podSelector": sel(pod="a"), "ingress": [{
         "from": [{"ipBlock": {"cidr": "10.244.3.11/32"}}],
         "ports": [{"protocol": "UDP", "port": 80}]}]})],
    comment="p1, p2, p3",
    grids=[((80, "TCP"), _col_xa(xb=".", xc=".", ya="X", yb="X", yc="X", za="X", zb=".", zc=".")),
           ((81, "TCP"), _col_xa(xb=".", xc=".", ya="X", yb=".", yc="X", za="X", zb=".", zc=".")),
           ((80, "UDP"), _col_xa(xb=".", xc=".", ya="X", yb="X", yc="X", za=".", zb=".", zc="."))]
).step(
    delete=[delete("NetworkPolicy", "x", "p2"), delete("NetworkPolicy", "x", "p3")],
    comment="p2 and p3 deleted",
    grids=[((80, "TCP"), _col_xa(xb=".", xc=".", ya="X", yb="X", yc="X", za="X", zb=".", zc=".")),
           ((81, "TCP"), _col_xa(xb=".", xc=".", ya="X", yb="X", yc="X", za="X", zb=".", zc=".")),
           ((80, "UDP"), _col_xa(xb=".", xc=".", ya="X", yb="X", yc="X", za="X", zb=".", zc="."))])

# --------------------------------------------------------------------- 903
# y/b has one policy with only an egress rule (to namespace z).
# Step 1, policyTypes absent -> [Ingress, Egress]: y/b admits nothing
#   (column y/b all X) and sends only to z (row y/b: z/* '.').
# Step 2, policyTypes [Egress]: ingress no longer isolated (column open),
#   row unchanged.
# Step 3, policyTypes [Ingress]: the egress rule is ignored (row open) and
#   Ingress is listed with no ingress rules (column all X).
_P = "     x/a x/b x/c y/a y/b y/c z/a z/b z/c\n"
_G903_1 = _P + """
x/a   -   .   .   .   X   .   .   .   .
x/b   .   -   .   .   X   .   .   .   .
x/c   .   .   -   .   X   .   .   .   .
y/a   .   .   .   -   X   .   .   .   .
y/b   X   X   X   X   -   X   .   .   .
y/c   .   .   .   .   X   -   .   .   .
z/a   .   .   .   .   X   .   -   .   .
z/b   .   .   .   .   X   .   .   -   .
z/c   .   .   .   .   X   .   .   .   -
"""
_G903_2 = _P + """
x/a   -   .   .   .   .   .   .   .   .
x/b   .   -   .   .   .   .   .   .   .
x/c   .   .   -   .   .   .   .   .   .
y/a   .   .   .   -   .   .   .   .   .
y/b   X   X   X   X   -   X   .   .   .
y/c   .   .   .   .   .   -   .   .   .
z/a   .   .   .   .   .   .   -   .   .
z/b   .   .   .   .   .   .   .   -   .
z/c   .   .   .   .   .   .   .   .   -
"""
_G903_3 = _P + """
x/a   -   .   .   .   X   .   .   .   .
x/b   .   -   .   .   X   .   .   .   .
x/c   .   .   -   .   X   .   .   .   .
y/a   .   .   .   -   X   .   .   .   .
y/b   .   .   .   .   -   .   .   .   .
y/c   .   .   .   .   X   -   .   .   .
z/a   .   .   .   .   X   .   -   .   .
z/b   .   .   .   .   X   .   .   -   .
z/c   .   .   .   .   X   .   .   .   -
"""


def _yb_policy(types):
    spec = {"podSelector": sel(pod="b"),
            "egress": [{"to": [{"namespaceSelector": sel(ns="z")}]}]}
    if types is not None:
        spec["policyTypes"] = types
    return netpol("y", "b-egress", spec)


hand(903, "egress-only-rules-isolate-ingress",
     "A policy with only egress rules and no policyTypes isolates its pod for "
     "ingress too (defaulting: Ingress always, Egress since egress is "
     "non-empty). Setting policyTypes [Egress] releases ingress; setting "
     "[Ingress] ignores the egress rule and denies all ingress.",
     ["policyTypes-default", "policyTypes-explicit", "egress", "ingress",
      "deny-all", "policy-update", "multi-step", "hand-written"],
     ["§3.1"]).step(
    [_yb_policy(None)], comment="policyTypes absent",
    grids=[((80, "TCP"), _G903_1), ((80, "UDP"), _G903_1)]).step(
    [_yb_policy(["Egress"])], comment="policyTypes [Egress]",
    grids=[((80, "TCP"), _G903_2), ((80, "UDP"), _G903_2)]).step(
    [_yb_policy(["Ingress"])], comment="policyTypes [Ingress]",
    grids=[((80, "TCP"), _G903_3), ((80, "UDP"), _G903_3)])

# --------------------------------------------------------------------- 904
# x/d is added with labels {app: web} (no `pod` key).  A policy in y selects
# {pod NotIn [a]} (y/b, y/c: y/a has pod=a) and admits only
# {namespaceSelector {}, podSelector {pod DoesNotExist}} on 80/UDP.
# Step 1: columns y/b, y/c: 80/TCP and 81/UDP all X (UDP-only rule still
#   isolates TCP; 81/UDP not listed); 80/UDP only from x/d.
# Step 2: y/a loses its labels: now selected by NotIn (lacks the key) and a
#   peer by DoesNotExist: column y/a becomes like y/b's, and y/a -> y/b, y/c
#   on 80/UDP passes.
_Q = "     x/a x/b x/c x/d y/a y/b y/c z/a z/b z/c\n"
_G904_1_CLOSED = _Q + """
x/a   -   .   .   .   .   X   X   .   .   .
x/b   .   -   .   .   .   X   X   .   .   .
x/c   .   .   -   .   .   X   X   .   .   .
x/d   .   .   .   -   .   X   X   .   .   .
y/a   .   .   .   .   -   X   X   .   .   .
y/b   .   .   .   .   .   -   X   .   .   .
y/c   .   .   .   .   .   X   -   .   .   .
z/a   .   .   .   .   .   X   X   -   .   .
z/b   .   .   .   .   .   X   X   .   -   .
z/c   .   .   .   .   .   X   X   .   .   -
"""
_G904_1_UDP80 = _Q + """
x/a   -   .   .   .   .   X   X   .   .   .
x/b   .   -   .   .   .   X   X   .   .   .
x/c   .   .   -   .   .   X   X   .   .   .
x/d   .   .   .   -   .   .   .   .   .   .
y/a   .   .   .   .   -   X   X   .   .   .
y/b   .   .   .   .   .   -   X   .   .   .
y/c   .   .   .   .   .   X   -   .   .   .
z/a   .   .   .   .   .   X   X   -   .   .
z/b   .   .   .   .   .   X   X   .   -   .
z/c   .   .   .   .   .   X   X   .   .   -
"""
_G904_2_CLOSED = _Q + """
x/a   -   .   .   .   X   X   X   .   .   .
x/b   .   -   .   .   X   X   X   .   .   .
x/c   .   .   -   .   X   X   X   .   .   .
x/d   .   .   .   -   X   X   X   .   .   .
y/a   .   .   .   .   -   X   X   .   .   .
y/b   .   .   .   .   X   -   X   .   .   .
y/c   .   .   .   .   X   X   -   .   .   .
z/a   .   .   .   .   X   X   X   -   .   .
z/b   .   .   .   .   X   X   X   .   -   .
z/c   .   .   .   .   X   X   X   .   .   -
"""
_G904_2_UDP80 = _Q + """
x/a   -   .   .   .   X   X   X   .   .   .
x/b   .   -   .   .   X   X   X   .   .   .
x/c   .   .   -   .   X   X   X   .   .   .
x/d   .   .   .   -   .   .   .   .   .   .
y/a   .   .   .   .   -   .   .   .   .   .
y/b   .   .   .   .   X   -   X   .   .   .
y/c   .   .   .   .   X   X   -   .   .   .
z/a   .   .   .   .   X   X   X   -   .   .
z/b   .   .   .   .   X   X   X   .   -   .
z/c   .   .   .   .   X   X   X   .   .   -
"""

hand(904, "notin-doesnotexist-missing-key-udp-only",
     "NotIn (policy target) and DoesNotExist (peer) both match pods lacking "
     "the key; a rule allowing only 80/UDP still isolates the selected pods "
     "for TCP and for other UDP ports. Relabelling y/a to no labels moves it "
     "into both the target set and the peer set.",
     ["match-expressions", "op-NotIn", "op-DoesNotExist", "missing-key", "UDP",
      "protocol-isolation", "ns-selector-empty", "pod-add", "pod-relabel",
      "multi-step", "hand-written"],
     ["§3.2", "§3.6"]).step(
    [pod("x", "d", "10.244.1.14", labels={"app": "web"}),
     netpol("y", "from-unlabelled-udp", {
         "podSelector": sel_expr(expr("pod", "NotIn", ["a"])),
         "ingress": [{"from": [{"namespaceSelector": {},
                                "podSelector": sel_expr(expr("pod", "DoesNotExist"))}],
                      "ports": [{"protocol": "UDP", "port": 80}]}]})],
    comment="x/d added, policy in y",
    grids=[((80, "TCP"), _G904_1_CLOSED), ((80, "UDP"), _G904_1_UDP80),
           ((81, "UDP"), _G904_1_CLOSED)]).step(
    [model_pod("y", "a", {})], comment="y/a unlabelled",
    grids=[((80, "TCP"), _G904_2_CLOSED), ((80, "UDP"), _G904_2_UDP80),
           ((81, "UDP"), _G904_2_CLOSED)])


def build_all():
    return [c.build() for c in CASES]
