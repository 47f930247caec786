#!/usr/bin/env python3
"""Deterministic generator of our conformance corpus, tests/cases/NNN-<slug>.json.

Every case below is written from the Kubernetes documentation ("Network
Policies" concept page) and the API reference (networking.k8s.io/v1
NetworkPolicySpec and its rule, peer, port and IPBlock types; meta/v1
LabelSelector).  Its `tags` say which spec points it covers and `spec`
names the DESIGN.md §3 items / API fields.  Objects are what a client
sends; probes are every ordered pair of probe-able pods on the case's
(port, protocol) list, with `allowed` computed by netpol_oracle.

The hand-written cases (tests/oracle/handwritten.py, 9NN-hand-*) are
written too, with their hand-derived verdicts (NOT the oracle's); run
check_handwritten.py to compare them with the oracle.

usage: gen_cases.py [--check] [--out DIR]
  --check  write nothing; exit 1 if any file on disk differs from what
           would be generated (stale corpus), or is not ours.
"""

import argparse
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import caselib as L  # noqa: E402
from caselib import (P3, P6, delete, expr, model_namespace, model_pod,  # noqa: E402
                     namespace, netpol, pod, sel, sel_expr)
import netpol_oracle as oracle  # noqa: E402

ALL_NS = {}          # namespaceSelector {} : every namespace
ING = ["Ingress"]
EG = ["Egress"]
BOTH = ["Ingress", "Egress"]

# Pods with named ports (as in the shared named-port example).
HTTP_8080 = [("http", 8080, "TCP"), ("dns", 53, "UDP")]
HTTP_80 = [("http", 80, "TCP"), ("dns", 5353, "UDP")]
NAMED_PORTS = [(80, "TCP"), (81, "TCP"), (8080, "TCP"), (53, "UDP"),
               (5353, "UDP"), (80, "UDP")]


class Case:
    def __init__(self, slug, description, tags, spec, ports=P3, ports6=()):
        self.slug = slug
        self.description = description
        self.tags = sorted(set(tags))
        self.spec = list(spec)
        self.ports = ports
        self.ports6 = list(ports6)     # probed between dual-stack pods
        self.steps = []

    def step(self, apply=(), delete=(), comment=None, ports=None):
        self.steps.append({"comment": comment, "apply": list(apply),
                           "delete": list(delete), "ports": ports})
        return self


CASES = []


def case(slug, description, tags, spec, ports=P3, ports6=()):
    c = Case(slug, description, tags, spec, ports, ports6)
    CASES.append(c)
    return c


def pol(ns, name, pod_selector=None, ingress=None, egress=None, types=None,
        **extra):
    """NetworkPolicy; fields left None are absent from the object."""
    spec = {"podSelector": {} if pod_selector is None else pod_selector}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types is not None:
        spec["policyTypes"] = types
    spec.update(extra)
    return netpol(ns, name, spec)


def peer(ns=None, pod=None, ipblock=None, except_=None):
    p = {}
    if pod is not None:
        p["podSelector"] = pod
    if ns is not None:
        p["namespaceSelector"] = ns
    if ipblock is not None:
        p["ipBlock"] = {"cidr": ipblock}
        if except_ is not None:
            p["ipBlock"]["except"] = list(except_)
    return p


def port(p=None, proto=None, end=None):
    d = {}
    if proto is not None:
        d["protocol"] = proto
    if p is not None:
        d["port"] = p
    if end is not None:
        d["endPort"] = end
    return d


A = sel(pod="a")
B = sel(pod="b")
C = sel(pod="c")
D = sel(pod="d")
NSX, NSY, NSZ = sel(ns="x"), sel(ns="y"), sel(ns="z")

# =================================================================== cases
# ---- A. default, isolation and policyTypes (DESIGN §3.1, §3.5)

case("default-allow",
     "No NetworkPolicy: pods are non-isolated in both directions, every "
     "connection on every protocol is allowed.",
     ["default-allow", "isolation"], ["API: NetworkPolicySpec (no policy = non-isolated)"],
     ports=P6).step(comment="model only")

case("deny-all-ingress-ns-x",
     "podSelector {} with policyTypes [Ingress] and no ingress rules: every "
     "pod of x is isolated for ingress and admits nothing; egress from x and "
     "all traffic among y, z stay open.",
     ["deny-all", "ingress", "isolation", "policyTypes-explicit", "pod-selector-empty"],
     ["§3.5 listed direction with no rules = deny all"]).step(
    [pol("x", "default-deny-ingress", {}, types=ING)])

case("deny-all-ingress-policytypes-absent",
     "The docs' default-deny-ingress policy without policyTypes: spec is only "
     "podSelector {}. Defaulting gives policyTypes [Ingress], so pods of x "
     "admit nothing; their egress is not isolated.",
     ["deny-all", "ingress", "policyTypes-default", "isolation"],
     ["§3.1 policyTypes omitted: Ingress always"]).step(
    [pol("x", "default-deny", {})])

case("deny-all-ingress-empty-ingress-list",
     "ingress: [] (explicit empty list), policyTypes absent: same as no "
     "ingress rules -- pods of y isolated for ingress with nothing allowed; "
     "egress untouched (egress absent).",
     ["deny-all", "ingress", "policyTypes-default", "empty-list"],
     ["§3.5 a listed direction with no rules = deny all"]).step(
    [pol("y", "deny-empty-list", {}, ingress=[])])

case("deny-all-egress-ns-x",
     "podSelector {} with policyTypes [Egress] and no egress rules: pods of "
     "x can open no connection; ingress to x is not isolated (y, z -> x "
     "allowed).",
     ["deny-all", "egress", "isolation", "policyTypes-explicit"],
     ["§3.5 listed direction with no rules = deny all"]).step(
    [pol("x", "default-deny-egress", {}, types=EG)])

case("deny-all-both-directions-ns-y",
     "policyTypes [Ingress, Egress] with no rules: pods of y neither send nor "
     "receive; x <-> z traffic unaffected.",
     ["deny-all", "ingress", "egress", "policyTypes-explicit"],
     ["§3.5", "§3.6 egress at source and ingress at destination"],
     ports=P6).step([pol("y", "default-deny-all", {}, types=BOTH)])

case("egress-rules-only-policytypes-absent",
     "x/a has a policy with only an egress rule (to namespace z) and no "
     "policyTypes. Defaulting gives [Ingress, Egress]: x/a may only send to "
     "z AND admits no ingress at all (the classic mistake: an egress-only "
     "policy also isolates ingress).",
     ["policyTypes-default", "egress", "ingress", "deny-all", "ns-selector"],
     ["§3.1 policyTypes omitted: Egress iff egress non-empty; Ingress always"]).step(
    [pol("x", "egress-to-z", A, egress=[{"to": [peer(ns=NSZ)]}])])

case("egress-rules-only-policytypes-empty-list",
     "policyTypes: [] is defaulted like an absent field (API defaulting "
     "checks len == 0): with egress rules the policy is [Ingress, Egress]; "
     "y/b may only send to x/* and admits nothing.",
     ["policyTypes-default", "policyTypes-empty-list", "egress", "ingress"],
     ["§3.1", "API defaulting: len(policyTypes)==0"]).step(
    [pol("y", "egress-to-x", B, egress=[{"to": [peer(ns=NSX)]}], types=[])])

case("ingress-rules-only-policytypes-absent",
     "Only ingress rules, no policyTypes: [Ingress]. x/a admits only x/b; x/a "
     "still reaches everyone (egress not isolated).",
     ["policyTypes-default", "ingress", "pod-selector"],
     ["§3.1"]).step(
    [pol("x", "from-b", A, ingress=[{"from": [peer(pod=B)]}])])

case("explicit-ingress-ignores-egress-rules",
     "policyTypes [Ingress] with an ingress rule (from ns y) and an egress "
     "rule (to ns z): the egress rule is ignored, x/a's egress is not "
     "isolated; ingress to x/a only from y.",
     ["policyTypes-explicit", "ingress", "egress", "ns-selector"],
     ["§3.1 explicit policyTypes ignores rules of unlisted directions"]).step(
    [pol("x", "ing-only", A, ingress=[{"from": [peer(ns=NSY)]}],
         egress=[{"to": [peer(ns=NSZ)]}], types=ING)])

case("explicit-egress-ignores-ingress-rules",
     "policyTypes [Egress] with an egress rule (to ns y on 80/TCP) and an "
     "ingress rule allowing only pod=c: the ingress rule is ignored, x/b "
     "admits everything; x/b sends only to y on 80/TCP.",
     ["policyTypes-explicit", "ingress", "egress", "ports"],
     ["§3.1"]).step(
    [pol("x", "eg-only", B, ingress=[{"from": [peer(pod=C)]}],
         egress=[{"to": [peer(ns=NSY)], "ports": [port(80)]}], types=EG)])

case("both-types-only-ingress-rules",
     "policyTypes [Ingress, Egress] with ingress [{}] (allow all) and no "
     "egress rules: z/c admits everything but sends nothing.",
     ["policyTypes-explicit", "allow-all", "deny-all", "egress", "ingress"],
     ["§3.1", "§3.5"]).step(
    [pol("z", "c-no-egress", C, ingress=[{}], types=BOTH)])

case("egress-empty-list-policytypes-absent",
     "egress: [] and ingress [{}] without policyTypes: an empty egress list "
     "does not add Egress, so nothing is restricted at all.",
     ["policyTypes-default", "empty-list", "allow-all", "egress"],
     ["§3.1 Egress only if egress is non-empty"]).step(
    [pol("x", "empty-egress", {}, ingress=[{}], egress=[])])

case("policy-selects-own-namespace-only",
     "A deny-all-ingress policy in y with podSelector pod=a isolates y/a only; "
     "x/a and z/a (same labels, other namespaces) stay open.",
     ["isolation", "pod-selector", "deny-all", "ingress"],
     ["API: podSelector selects pods in the policy's namespace"]).step(
    [pol("y", "deny-a", A, types=ING)])

case("namespace-local-only",
     "Per namespace: deny-all ingress plus allow from podSelector {} (absent "
     "namespaceSelector = own namespace). Only intra-namespace traffic passes.",
     ["deny-all", "union", "pod-selector-empty", "ns-selector-absent", "ingress"],
     ["§3.5 absent namespaceSelector = policy's namespace"]).step(
    [pol(n, "deny", {}, types=ING) for n in "xyz"] +
    [pol(n, "allow-same-ns", {}, ingress=[{"from": [peer(pod={})]}]) for n in "xyz"])

case("allow-all-ingress-rule-empty",
     "ingress: [{}] (one rule, no from, no ports) on all pods of x with "
     "policyTypes absent: the rule matches everything, so the isolation has "
     "no visible effect.",
     ["allow-all", "ingress", "wildcard"],
     ["§3.5 absent from/ports = wildcard"], ports=P6).step(
    [pol("x", "allow-all", {}, ingress=[{}])])

case("allow-all-egress-rule-empty",
     "egress: [{}] with policyTypes [Egress] on all of z: every egress is "
     "allowed.",
     ["allow-all", "egress", "wildcard"], ["§3.5"], ports=P6).step(
    [pol("z", "allow-all-eg", {}, egress=[{}], types=EG)])

# ---- B. peers and selectors (§3.2, §3.5)

case("ingress-from-pod-selector-same-ns",
     "x/a admits only from podSelector pod=b without namespaceSelector: x/b "
     "only, not y/b or z/b.",
     ["pod-selector", "ns-selector-absent", "ingress"],
     ["§3.5 absent namespaceSelector = policy's namespace"]).step(
    [pol("x", "from-b", A, ingress=[{"from": [peer(pod=B)]}], types=ING)])

case("ingress-from-ns-selector-only",
     "x/a admits only from namespaceSelector ns=y (no podSelector): every pod "
     "of y.",
     ["ns-selector", "ingress"], ["API: NetworkPolicyPeer.namespaceSelector"]).step(
    [pol("x", "from-y", A, ingress=[{"from": [peer(ns=NSY)]}], types=ING)])

case("ingress-peer-ns-and-pod-is-and",
     "One peer with namespaceSelector ns=y AND podSelector pod=b: only y/b.",
     ["peer-and", "ns-selector", "pod-selector", "ingress"],
     ["API: both selectors in one peer are ANDed"]).step(
    [pol("x", "from-y-b", A, ingress=[{"from": [peer(ns=NSY, pod=B)]}])])

case("ingress-two-peers-is-or",
     "Two peers [namespaceSelector ns=y] and [podSelector pod=b]: all of y OR "
     "x/b (the pod-only peer is in the policy's namespace).",
     ["peer-or", "ns-selector", "pod-selector", "ingress"],
     ["API: peers are ORed"]).step(
    [pol("x", "from-y-or-b", A, ingress=[{"from": [peer(ns=NSY), peer(pod=B)]}])])

case("ingress-empty-ns-selector-with-pod-selector",
     "namespaceSelector {} AND podSelector pod=b: pods labelled pod=b in every "
     "namespace.",
     ["ns-selector-empty", "pod-selector", "peer-and", "ingress"],
     ["§3.5 namespaceSelector {} = all namespaces"]).step(
    [pol("x", "from-any-b", A, ingress=[{"from": [peer(ns=ALL_NS, pod=B)]}])])

case("ingress-empty-ns-selector-alone-port-80",
     "namespaceSelector {} alone on port 80 (protocol absent): every pod of "
     "the cluster on 80/TCP; 81/TCP and UDP denied.",
     ["ns-selector-empty", "ingress", "port-number", "protocol-default"],
     ["§3.5", "API: protocol defaults to TCP"]).step(
    [pol("y", "from-all-80", C, ingress=[{"from": [peer(ns=ALL_NS)],
                                          "ports": [port(80)]}])])

case("ingress-empty-pod-selector-same-ns",
     "podSelector {} alone: all pods of the policy's own namespace (z).",
     ["pod-selector-empty", "ns-selector-absent", "ingress"], ["§3.5"]).step(
    [pol("z", "from-own-ns", sel(pod="b"), ingress=[{"from": [peer(pod={})]}])])

case("egress-to-pod-selector-same-ns",
     "x/a may only send to podSelector pod=c (own namespace): x/c only.",
     ["pod-selector", "egress", "ns-selector-absent"], ["§3.5"]).step(
    [pol("x", "to-c", A, egress=[{"to": [peer(pod=C)]}], types=EG)])

case("egress-to-ns-selector-port-80",
     "x/a egress to namespaceSelector ns=y on port 80/TCP only.",
     ["ns-selector", "egress", "port-number"], ["API: NetworkPolicyEgressRule"]).step(
    [pol("x", "to-y-80", A, egress=[{"to": [peer(ns=NSY)], "ports": [port(80, "TCP")]}],
         types=EG)])

case("egress-peer-and-vs-or",
     "x/b egress to [{ns=z AND pod=a}, {pod=c}]: z/a and x/c only.",
     ["peer-and", "peer-or", "egress", "ns-selector", "pod-selector"],
     ["API: peers ORed, selectors in a peer ANDed"]).step(
    [pol("x", "to-za-or-xc", B,
         egress=[{"to": [peer(ns=NSZ, pod=A), peer(pod=C)]}], types=EG)])

case("target-selector-match-expressions-in",
     "Deny-all ingress in y for podSelector {pod In [a, b]}: y/a and y/b "
     "isolated, y/c open.",
     ["match-expressions", "op-In", "deny-all", "isolation"],
     ["API: LabelSelector matchExpressions In"]).step(
    [pol("y", "deny-ab", sel_expr(expr("pod", "In", ["a", "b"])), types=ING)])

case("ingress-match-expressions-in-any-ns",
     "x/a admits from {namespaceSelector {}, podSelector pod In [b, c]}.",
     ["match-expressions", "op-In", "ns-selector-empty", "ingress"],
     ["API: matchExpressions In"]).step(
    [pol("x", "from-bc", A, ingress=[{"from": [peer(
        ns=ALL_NS, pod=sel_expr(expr("pod", "In", ["b", "c"])))]}])])

case("ingress-match-expressions-notin-missing-key",
     "x/a admits from pods with pod NotIn [b, c] in any namespace. Added pods "
     "x/d (labels app=web) and y/d (no labels) lack the key and so match "
     "NotIn.",
     ["match-expressions", "op-NotIn", "missing-key", "ingress", "pod-add"],
     ["§3.2 NotIn matches objects lacking the key"]).step(
    [pod("x", "d", "10.244.1.14", labels={"app": "web"}),
     pod("y", "d", "10.244.2.14", labels={}),
     pol("x", "from-notin-bc", A, ingress=[{"from": [peer(
         ns=ALL_NS, pod=sel_expr(expr("pod", "NotIn", ["b", "c"])))]}])])

case("ingress-match-expressions-exists",
     "x/a admits from pods having the key tier (Exists), any namespace: added "
     "y/d (tier=db) and relabelled z/c (tier=web); pods without tier denied.",
     ["match-expressions", "op-Exists", "ingress", "pod-add", "pod-relabel"],
     ["API: matchExpressions Exists"]).step(
    [pod("y", "d", "10.244.2.14", labels={"pod": "d", "tier": "db"}),
     model_pod("z", "c", {"pod": "c", "tier": "web"}),
     pol("x", "from-tier", A, ingress=[{"from": [peer(
         ns=ALL_NS, pod=sel_expr(expr("tier", "Exists")))]}])])

case("ingress-match-expressions-doesnotexist",
     "z/b admits from pods lacking the key tier (DoesNotExist), any "
     "namespace: every model pod except y/b (relabelled tier=db) and added "
     "x/d (tier=web).",
     ["match-expressions", "op-DoesNotExist", "missing-key", "ingress", "pod-add"],
     ["§3.2 DoesNotExist matches objects lacking the key"]).step(
    [pod("x", "d", "10.244.1.14", labels={"pod": "d", "tier": "web"}),
     model_pod("y", "b", {"pod": "b", "tier": "db"}),
     pol("z", "from-no-tier", B, ingress=[{"from": [peer(
         ns=ALL_NS, pod=sel_expr(expr("tier", "DoesNotExist")))]}])])

case("ns-selector-notin-missing-key",
     "Namespace y gets env=prod. x/a admits from namespaceSelector {env NotIn "
     "[prod]}: x and z (no env label) match, y does not.",
     ["match-expressions", "op-NotIn", "missing-key", "ns-selector", "ns-relabel"],
     ["§3.2 on namespace labels"]).step(
    [model_namespace("y", {"env": "prod"}),
     pol("x", "from-non-prod", A, ingress=[{"from": [peer(
         ns=sel_expr(expr("env", "NotIn", ["prod"])))]}])])

case("ns-selector-exists-egress",
     "Namespace z gets env=dev. x/a may only send to namespaces with key env "
     "(Exists): z.",
     ["match-expressions", "op-Exists", "ns-selector", "egress", "ns-relabel"],
     ["API: matchExpressions Exists on namespaces"]).step(
    [model_namespace("z", {"env": "dev"}),
     pol("x", "to-env", A, egress=[{"to": [peer(ns=sel_expr(expr("env", "Exists")))]}],
         types=EG)])

case("ns-selector-doesnotexist",
     "Namespace y gets env=prod. y/c admits from namespaces lacking env "
     "(DoesNotExist): x and z, not y itself.",
     ["match-expressions", "op-DoesNotExist", "missing-key", "ns-selector", "ns-relabel"],
     ["§3.2"]).step(
    [model_namespace("y", {"env": "prod"}),
     pol("y", "from-no-env", C, ingress=[{"from": [peer(
         ns=sel_expr(expr("env", "DoesNotExist")))]}])])

case("selector-match-labels-and-expressions",
     "matchLabels pod=b AND matchExpressions tier Exists in one podSelector "
     "(namespaceSelector {}): y/b has tier=front and matches; x/b, z/b lack "
     "tier; x/c has tier but not pod=b.",
     ["match-labels", "match-expressions", "op-Exists", "ns-selector-empty", "ingress"],
     ["API: matchLabels and matchExpressions are ANDed"]).step(
    [model_pod("y", "b", {"pod": "b", "tier": "front"}),
     model_pod("x", "c", {"pod": "c", "tier": "front"}),
     pol("x", "from-b-tier", A, ingress=[{"from": [peer(
         ns=ALL_NS, pod=sel_expr(expr("tier", "Exists"), pod="b"))]}])])

case("ns-selector-by-metadata-name",
     "namespaceSelector kubernetes.io/metadata.name=z (the label the API "
     "server sets): x/a admits only from z.",
     ["ns-selector", "match-labels", "ingress"],
     ["API: kubernetes.io/metadata.name"]).step(
    [pol("x", "from-z", A, ingress=[{"from": [peer(
        ns=sel(**{"kubernetes.io/metadata.name": "z"}))]}])])

case("selector-two-match-labels",
     "podSelector {pod: b, tier: front} needs both labels: y/b has "
     "tier=front, z/b has tier=back; only y/b admitted at x/c.",
     ["match-labels", "pod-selector", "ns-selector-empty", "pod-relabel"],
     ["API: matchLabels entries are ANDed"]).step(
    [model_pod("y", "b", {"pod": "b", "tier": "front"}),
     model_pod("z", "b", {"pod": "b", "tier": "back"}),
     pol("x", "from-b-front", C, ingress=[{"from": [peer(
         ns=ALL_NS, pod=sel(pod="b", tier="front"))]}])])

case("ingress-match-expressions-in-on-ns-and-pod",
     "One peer: namespaceSelector {ns In [y, z]} AND podSelector {pod NotIn "
     "[a]}: y/b, y/c, z/b, z/c admitted at x/b.",
     ["match-expressions", "op-In", "op-NotIn", "peer-and", "ingress"],
     ["API: LabelSelector", "§3.2"]).step(
    [pol("x", "yz-not-a", B, ingress=[{"from": [peer(
        ns=sel_expr(expr("ns", "In", ["y", "z"])),
        pod=sel_expr(expr("pod", "NotIn", ["a"])))]}])])

# ---- C. ipBlock (§3.4)

case("ingress-ipblock-pod-cidr-port-80",
     "x/a admits from ipBlock 10.244.0.0/16 on port 80/TCP: ipBlock matches "
     "pod IPs, so every pod on 80/TCP; other ports denied.",
     ["ipBlock", "ingress", "port-number"],
     ["§3.4 ipBlock matches pod IPs"]).step(
    [pol("x", "cidr-16", A, ingress=[{"from": [peer(ipblock="10.244.0.0/16")],
                                      "ports": [port(80, "TCP")]}])])

case("ingress-ipblock-ns-y-24",
     "y/c admits from ipBlock 10.244.2.0/24 (y's pods by address) only.",
     ["ipBlock", "ingress"], ["§3.4"]).step(
    [pol("y", "cidr-y", C, ingress=[{"from": [peer(ipblock="10.244.2.0/24")]}])])

case("ingress-ipblock-except-one-pod",
     "x/a admits from 10.244.0.0/16 except 10.244.2.12/32 (y/b): everyone "
     "but y/b.",
     ["ipBlock", "except", "ingress"], ["§3.4 except"]).step(
    [pol("x", "cidr-except", A, ingress=[{"from": [peer(
        ipblock="10.244.0.0/16", except_=["10.244.2.12/32"])]}])])

case("ipblock-except-reallowed-by-pod-selector-policy",
     "Policy 1: x/a from 10.244.0.0/16 except 10.244.2.0/24 (all of y). "
     "Policy 2: x/a from {ns=y, pod=b}. except trims only its own peer: y/b "
     "is allowed again by policy 2, y/a and y/c stay denied.",
     ["ipBlock", "except", "re-allow", "union", "ingress"],
     ["§3.4 except trims only that peer; another policy may allow it"]).step(
    [pol("x", "cidr-except-y", A, ingress=[{"from": [peer(
        ipblock="10.244.0.0/16", except_=["10.244.2.0/24"])]}]),
     pol("x", "from-y-b", A, ingress=[{"from": [peer(ns=NSY, pod=B)]}])])

case("ipblock-except-reallowed-by-other-peer-same-rule",
     "One rule, two peers: 10.244.0.0/16 except 10.244.3.0/24, and "
     "10.244.3.13/32. z/c (10.244.3.13) passes through the second peer; "
     "z/a, z/b stay denied at y/a.",
     ["ipBlock", "except", "re-allow", "peer-or", "cidr-32", "ingress"],
     ["§3.4"]).step(
    [pol("y", "cidr-two-peers", A, ingress=[{"from": [
        peer(ipblock="10.244.0.0/16", except_=["10.244.3.0/24"]),
        peer(ipblock="10.244.3.13/32")]}])])

case("ipblock-except-reallowed-by-selector-same-rule",
     "One rule, peers [ipBlock 10.244.0.0/16 except 10.244.1.0/24, "
     "podSelector pod=c]: the except trims only the ipBlock peer, so x/c "
     "(same namespace, pod=c) still reaches x/b; x/a does not.",
     ["ipBlock", "except", "re-allow", "peer-or", "pod-selector", "ingress"],
     ["§3.4 except trims only that peer"]).step(
    [pol("x", "cidr-or-c", B, ingress=[{"from": [
        peer(ipblock="10.244.0.0/16", except_=["10.244.1.0/24"]),
        peer(pod=C)]}])])

case("ipblock-except-reallowed-by-other-policy-ipblock",
     "Policy 1: z/c from 10.244.0.0/16 except 10.244.1.0/24. Policy 2: z/c "
     "from 10.244.1.12/32 on 81/TCP only. x/b reaches z/c on 81/TCP only; "
     "x/a, x/c not at all.",
     ["ipBlock", "except", "re-allow", "union", "cidr-32", "ports"],
     ["§3.4"]).step(
    [pol("z", "cidr-except-x", C, ingress=[{"from": [peer(
        ipblock="10.244.0.0/16", except_=["10.244.1.0/24"])]}]),
     pol("z", "xb-81", C, ingress=[{"from": [peer(ipblock="10.244.1.12/32")],
                                    "ports": [port(81, "TCP")]}])])

case("egress-ipblock-32-of-pod",
     "x/a may only send to ipBlock 10.244.3.12/32 (z/b's address).",
     ["ipBlock", "cidr-32", "egress"], ["§3.4 ipBlock matches pod IPs"]).step(
    [pol("x", "to-zb-ip", A, egress=[{"to": [peer(ipblock="10.244.3.12/32")]}],
         types=EG)])

case("egress-ipblock-except-own-ns-port-80",
     "x/b may send to 10.244.0.0/16 except 10.244.1.0/24 on 80 only: y and z "
     "on 80/TCP, nothing to x.",
     ["ipBlock", "except", "egress", "port-number"], ["§3.4"]).step(
    [pol("x", "to-not-x", B, egress=[{"to": [peer(
        ipblock="10.244.0.0/16", except_=["10.244.1.0/24"])],
        "ports": [port(80)]}], types=EG)])

case("ipblock-ipv6-never-matches-ipv4",
     "x/a admits from ipBlock ::/0 only. An IPv6 block never matches IPv4 "
     "pod addresses: x/a admits nothing.",
     ["ipBlock", "ipv6", "ingress", "deny-all"],
     ["§3.4 IPv6 blocks never match IPv4 pods"]).step(
    [pol("x", "from-v6", A, ingress=[{"from": [peer(ipblock="::/0")]}])])

case("ipblock-ipv6-dual-stack-pod",
     "y/d is dual-stack (10.244.2.14 and fd00:10:244:2::14). x/a admits from "
     "fd00:10:244::/48 and x/b sends only to fd00:10:244::/48: IPv4 "
     "connections from/to y/d are not matched by the IPv6 block, so y/d -> "
     "x/a and x/b -> y/d are denied like everything else.",
     ["ipBlock", "ipv6", "ingress", "egress", "pod-add"],
     ["§3.4 IPv6 blocks never match IPv4 addresses"]).step(
    [pod("y", "d", "10.244.2.14", ip6="fd00:10:244:2::14"),
     pol("x", "from-v6-pods", A, ingress=[{"from": [peer(ipblock="fd00:10:244::/48")]}]),
     pol("x", "to-v6-pods", B, egress=[{"to": [peer(ipblock="fd00:10:244::/48")]}],
         types=EG)])

case("egress-ipblock-world-except-pod-cidr",
     "x/c sends to 0.0.0.0/0 except 10.244.0.0/16: no pod is reachable.",
     ["ipBlock", "except", "egress", "deny-all"], ["§3.4"]).step(
    [pol("x", "internet-only", C, egress=[{"to": [peer(
        ipblock="0.0.0.0/0", except_=["10.244.0.0/16"])]}], types=EG)])

case("ingress-ipblock-or-pod-selector",
     "x/a from [ipBlock 10.244.3.0/24, podSelector pod=b]: all of z by "
     "address, and x/b by label.",
     ["ipBlock", "peer-or", "pod-selector", "ingress"], ["§3.4", "API: peers ORed"]).step(
    [pol("x", "z-or-b", A, ingress=[{"from": [peer(ipblock="10.244.3.0/24"),
                                              peer(pod=B)]}])])

case("ipblock-cross-namespace-32",
     "A policy in y: y/a admits from 10.244.1.11/32 (x/a's address): ipBlock "
     "ignores namespaces.",
     ["ipBlock", "cidr-32", "ingress"], ["§3.4"]).step(
    [pol("y", "from-xa-ip", A, ingress=[{"from": [peer(ipblock="10.244.1.11/32")]}])])

case("ipblock-multiple-except",
     "z/a admits from 10.244.0.0/16 except [10.244.1.0/24, 10.244.2.11/32, "
     "10.244.3.12/31]: the /31 covers z/b and z/c, so only y/b and y/c are "
     "admitted.",
     ["ipBlock", "except", "ingress"], ["§3.4"]).step(
    [pol("z", "multi-except", A, ingress=[{"from": [peer(
        ipblock="10.244.0.0/16",
        except_=["10.244.1.0/24", "10.244.2.11/32", "10.244.3.12/31"])]}])])

case("ipblock-with-udp-port",
     "x/a from 10.244.2.0/24 on 81/UDP only; TCP isolated too.",
     ["ipBlock", "UDP", "protocol-isolation", "ingress"], ["§3.4", "§3.6"],
     ports=P6).step(
    [pol("x", "y-udp-81", A, ingress=[{"from": [peer(ipblock="10.244.2.0/24")],
                                       "ports": [port(81, "UDP")]}])])

# ---- D. ports and protocols (§3.6)

case("ingress-port-number-protocol-absent",
     "x/a admits ports [{port: 80}] (protocol absent = TCP): 80/TCP only; "
     "81/TCP and all UDP/SCTP denied.",
     ["port-number", "protocol-default", "ingress"],
     ["API: NetworkPolicyPort.protocol defaults to TCP"], ports=P6).step(
    [pol("x", "tcp-80", A, ingress=[{"ports": [port(80)]}])])

case("ingress-udp-only-isolates-tcp",
     "x/a admits only 80/UDP: a UDP-only rule still isolates the pod for TCP "
     "and SCTP.",
     ["UDP", "protocol-isolation", "ingress"],
     ["§3.6 a UDP/SCTP-only rule still isolates for TCP"], ports=P6).step(
    [pol("x", "udp-80", A, ingress=[{"ports": [port(80, "UDP")]}])])

case("ingress-sctp-only",
     "y/b admits only 81/SCTP from anyone.",
     ["SCTP", "protocol-isolation", "ingress"], ["§3.6"], ports=P6).step(
    [pol("y", "sctp-81", B, ingress=[{"ports": [port(81, "SCTP")]}])])

case("egress-protocol-without-port-udp",
     "x/a egress ports [{protocol: UDP}] (no port): every UDP port, no TCP, "
     "no SCTP.",
     ["UDP", "protocol-only", "egress", "protocol-isolation"],
     ["API: port absent matches all ports of the protocol"], ports=P6).step(
    [pol("x", "udp-any", A, egress=[{"ports": [port(proto="UDP")]}], types=EG)])

case("ports-empty-object-means-tcp",
     "ports [{}]: protocol defaults to TCP and port is absent, so every TCP "
     "port matches and UDP/SCTP are denied at z/c.",
     ["protocol-default", "protocol-only", "ingress", "protocol-isolation"],
     ["API: NetworkPolicyPort defaults"], ports=P6).step(
    [pol("z", "tcp-any", C, ingress=[{"ports": [{}]}])])

case("ingress-multiple-ports-one-rule",
     "x/b admits ports [80/UDP, 81 (TCP)]: those two only.",
     ["ports", "UDP", "port-number", "ingress"], ["API: ports are ORed"],
     ports=P6).step(
    [pol("x", "two-ports", B, ingress=[{"ports": [port(80, "UDP"), port(81)]}])])

case("endport-79-81-udp-ingress",
     "x/a admits UDP 79..81 (endPort): 80/UDP and 81/UDP; no TCP or SCTP.",
     ["endPort", "UDP", "ingress"], ["API: endPort range"], ports=P6).step(
    [pol("x", "udp-79-81", A, ingress=[{"ports": [port(79, "UDP", 81)]}])])

case("endport-80-81-sctp-egress",
     "x/a sends SCTP 80..81 only.",
     ["endPort", "SCTP", "egress"], ["API: endPort range"], ports=P6).step(
    [pol("x", "sctp-80-81", A, egress=[{"ports": [port(80, "SCTP", 81)]}], types=EG)])

case("endport-79-80-tcp",
     "y/a admits TCP 79..80: 80/TCP only (81 is outside the range).",
     ["endPort", "ingress"], ["API: endPort inclusive"], ports=P6).step(
    [pol("y", "tcp-79-80", A, ingress=[{"ports": [port(79, "TCP", 80)]}])])

case("endport-equal-port-and-mixed-protocols",
     "z/b admits TCP 81..81 and SCTP 79..81: 81/TCP, 80/SCTP, 81/SCTP.",
     ["endPort", "SCTP", "ingress"], ["API: endPort >= port"], ports=P6).step(
    [pol("z", "mixed-ranges", B, ingress=[{"ports": [port(81, "TCP", 81),
                                                     port(79, "SCTP", 81)]}])])

case("endport-mixed-ranges-egress",
     "x/b sends TCP 79..81 and UDP 80..81 (two ranges in one rule): 80/81 "
     "on TCP and UDP pass, SCTP does not.",
     ["endPort", "egress", "UDP", "protocol-isolation"], ["API: endPort range"],
     ports=P6).step(
    [pol("x", "ranges", B, egress=[{"ports": [port(79, "TCP", 81),
                                              port(80, "UDP", 81)]}], types=EG)])

case("endport-range-below-80",
     "x/c admits TCP 1..79: neither 80 nor 81 is in range, so x/c admits "
     "nothing that we probe.",
     ["endPort", "ingress", "deny-all"], ["API: endPort"], ports=P6).step(
    [pol("x", "tcp-1-79", C, ingress=[{"ports": [port(1, "TCP", 79)]}])])

case("endport-range-above-81",
     "x/c sends UDP 82..65535 only: 80/81 UDP are outside the range.",
     ["endPort", "egress", "UDP"], ["API: endPort"], ports=P6).step(
    [pol("x", "udp-82-up", C, egress=[{"ports": [port(82, "UDP", 65535)]}], types=EG)])

case("endport-egress-range-vs-added-port",
     "x/a sends TCP 1..1024 only. Added y/d listens on http 8080: 8080 is "
     "outside the range, 80 and 81 inside.",
     ["endPort", "egress", "pod-add"], ["API: endPort"],
     ports=[(80, "TCP"), (81, "TCP"), (8080, "TCP"), (80, "UDP"), (53, "UDP")]).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pol("x", "tcp-low", A, egress=[{"ports": [port(1, "TCP", 1024)]}], types=EG)])

case("rules-are-not-cross-product",
     "x/a rule 1: from ns y on 80; rule 2: from ns z on 81. y reaches 80 not "
     "81, z reaches 81 not 80 (rules are ORed, each with its own ports).",
     ["multi-rule", "ns-selector", "port-number", "ingress"],
     ["API: rules are ORed"]).step(
    [pol("x", "two-rules", A, ingress=[
        {"from": [peer(ns=NSY)], "ports": [port(80)]},
        {"from": [peer(ns=NSZ)], "ports": [port(81)]}])])

case("rule-peers-ports-cross-product",
     "One rule: from [ns y, ns z] on [80, 81/TCP]: every combination passes; "
     "UDP and x denied.",
     ["rule-crossproduct", "peer-or", "ports", "ingress"],
     ["API: within a rule, any peer AND any port"]).step(
    [pol("x", "yz-80-81", A, ingress=[{"from": [peer(ns=NSY), peer(ns=NSZ)],
                                       "ports": [port(80), port(81, "TCP")]}])])

# ---- E. named ports (§3.3)

case("named-ingress-serve-81-tcp",
     "x/a admits ports [{port: serve-81-tcp}]: resolved on x/a (TCP 81).",
     ["named-port", "ingress"], ["§3.3"], ports=P6).step(
    [pol("x", "named-81", A, ingress=[{"ports": [port("serve-81-tcp")]}])])

case("named-ingress-udp-protocol",
     "y/a admits [{port: serve-80-udp, protocol: UDP}]: 80/UDP only.",
     ["named-port", "UDP", "ingress"], ["§3.3 with the rule's protocol"],
     ports=P6).step(
    [pol("y", "named-udp", A, ingress=[{"ports": [port("serve-80-udp", "UDP")]}])])

case("named-port-protocol-mismatch",
     "x/a admits [{port: serve-80-udp}] with protocol absent (TCP): x/a has "
     "no TCP port named serve-80-udp, so nothing matches and x/a admits "
     "nothing.",
     ["named-port", "protocol-default", "ingress", "deny-all"],
     ["§3.3 named port resolves with the rule's protocol (TCP when absent)"],
     ports=P6).step(
    [pol("x", "named-wrong-proto", A, ingress=[{"ports": [port("serve-80-udp")]}])])

case("named-egress-http-per-destination",
     "x/a sends to {ns {}, pod=d} on port http. y/d has http=8080, z/d has "
     "http=80: x/a -> y/d allowed on 8080 only, x/a -> z/d on 80 only (named "
     "ports resolve on the destination pod, per pod).",
     ["named-port", "egress", "pod-add", "ns-selector-empty"], ["§3.3"],
     ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ports=HTTP_80),
     pol("x", "to-d-http", A, egress=[{"to": [peer(ns=ALL_NS, pod=D)],
                                       "ports": [port("http")]}], types=EG)])

case("named-ingress-http-per-pod",
     "Policies in y and z: pod=d admits only port http. y/d admits 8080/TCP, "
     "z/d admits 80/TCP; everything else to them is denied.",
     ["named-port", "ingress", "pod-add"], ["§3.3"], ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ports=HTTP_80),
     pol("y", "d-http", D, ingress=[{"ports": [port("http")]}]),
     pol("z", "d-http", D, ingress=[{"ports": [port("http")]}])])

case("named-ingress-dns-udp-different-numbers",
     "pod=d in y (dns=53/UDP) and z (dns=5353/UDP) admit [{port: dns, "
     "protocol: UDP}] from namespace x only.",
     ["named-port", "UDP", "ingress", "pod-add", "ns-selector"], ["§3.3"],
     ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ports=HTTP_80),
     pol("y", "d-dns", D, ingress=[{"from": [peer(ns=NSX)],
                                    "ports": [port("dns", "UDP")]}]),
     pol("z", "d-dns", D, ingress=[{"from": [peer(ns=NSX)],
                                    "ports": [port("dns", "UDP")]}])])

case("named-port-no-pod-has-it",
     "x/a sends only to port 'nope', which no pod declares: x/a can send "
     "nothing.",
     ["named-port", "egress", "deny-all"], ["§3.3"], ports=P6).step(
    [pol("x", "to-nope", A, egress=[{"ports": [port("nope")]}], types=EG)])

case("named-egress-ipblock-only-destination",
     "x/a sends to ipBlock 10.244.0.0/16 on port http. The named port "
     "resolves on the pod that owns the destination address, whatever the "
     "peer kind: x/a -> y/d on 8080 and x/a -> z/d on 80 pass; the model "
     "pods declare no http, so nothing else does.",
     ["named-port", "ipBlock", "egress", "decision"],
     ["§3.3 named port behind an ipBlock resolves on the destination pod",
      "decision D1"],
     ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ports=HTTP_80),
     pol("x", "to-cidr-http", A, egress=[{"to": [peer(ipblock="10.244.0.0/16")],
                                          "ports": [port("http")]}], types=EG)])

case("named-ingress-ipblock-source",
     "y/d admits from ipBlock 10.244.1.0/24 on port http: in ingress the "
     "named port resolves on y/d itself (8080), so x/* -> y/d:8080 passes.",
     ["named-port", "ipBlock", "ingress", "pod-add"], ["§3.3", "§3.4"],
     ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ports=HTTP_80),
     pol("y", "x-http", D, ingress=[{"from": [peer(ipblock="10.244.1.0/24")],
                                     "ports": [port("http")]}])])

case("named-egress-mixed-peers",
     "x/a sends to [ipBlock 10.244.3.0/24, {ns=y, pod=d}] on [http, 81]. "
     "y/d via the pod peer: http (8080) and 81. z/* via the ipBlock: 81, and "
     "z/d also its http (80), which resolves on z/d (D1).",
     ["named-port", "ipBlock", "egress", "peer-or", "decision", "pod-add"],
     ["§3.3", "§3.4"], ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ports=HTTP_80),
     pol("x", "mixed", A, egress=[{"to": [peer(ipblock="10.244.3.0/24"),
                                          peer(ns=NSY, pod=D)],
                                   "ports": [port("http"), port(81)]}], types=EG)])

case("named-same-ns-two-pods-different-numbers",
     "x/d (http=8080) and x/e (http=80) in one namespace; one policy "
     "{pod In [d, e]} admits port http: x/d admits 8080 only, x/e 80 only.",
     ["named-port", "ingress", "pod-add", "match-expressions", "op-In"], ["§3.3"],
     ports=[(80, "TCP"), (81, "TCP"), (8080, "TCP"), (53, "UDP"), (5353, "UDP")]).step(
    [pod("x", "d", "10.244.1.14", ports=HTTP_8080),
     pod("x", "e", "10.244.1.15", ports=HTTP_80),
     pol("x", "de-http", sel_expr(expr("pod", "In", ["d", "e"])),
         ingress=[{"ports": [port("http")]}])])

case("named-egress-no-to-model-pods",
     "x/b sends only to port serve-80-sctp with protocol SCTP (no `to`): "
     "every model pod resolves it to 80/SCTP.",
     ["named-port", "SCTP", "egress"], ["§3.3"], ports=P6).step(
    [pol("x", "to-sctp-80", B, egress=[{"ports": [port("serve-80-sctp", "SCTP")]}],
         types=EG)])

# ---- F. both directions (§3.6)

case("egress-and-ingress-both-needed",
     "x/a sends only to ns y; y/b admits only from ns z. x/a -> y/b needs "
     "both and is denied; x/a -> y/a, y/c pass; z -> y/b passes.",
     ["both-directions", "egress", "ingress", "ns-selector"],
     ["§3.6 egress at source AND ingress at destination"]).step(
    [pol("x", "a-to-y", A, egress=[{"to": [peer(ns=NSY)]}], types=EG),
     pol("y", "b-from-z", B, ingress=[{"from": [peer(ns=NSZ)]}])])

case("egress-port-vs-ingress-port",
     "x/a sends only on 80/TCP; y/a admits only 81/TCP: x/a -> y/a is denied "
     "on both.",
     ["both-directions", "port-number", "egress", "ingress"], ["§3.6"]).step(
    [pol("x", "a-80", A, egress=[{"ports": [port(80)]}], types=EG),
     pol("y", "a-81", A, ingress=[{"ports": [port(81)]}])])

case("same-pod-ingress-and-egress-policies",
     "z/c: one policy with both directions -- admits from x, sends to y on "
     "UDP only.",
     ["both-directions", "UDP", "egress", "ingress", "ns-selector"], ["§3.6"],
     ports=P6).step(
    [pol("z", "c-both", C, ingress=[{"from": [peer(ns=NSX)]}],
         egress=[{"to": [peer(ns=NSY)], "ports": [port(proto="UDP")]}])])

# ---- G. pod eligibility (§3.7, decision D2)

case("succeeded-pod-ip-reused",
     "x/old finished (Succeeded) but its status still shows 10.244.1.20 and "
     "label pod=trusted; x/new (pod=other) now runs with that same IP. x/a "
     "admits from pod=trusted and y/a sends to pod=trusted (any ns): a "
     "finished pod is not a peer, so x/new is denied both ways.",
     ["pod-eligibility", "succeeded", "ip-reuse", "ingress", "egress", "pod-add"],
     ["§3.7 finished pods are not selected (decision D2)"]).step(
    [pod("x", "old", "10.244.1.20", labels={"pod": "trusted"}, phase="Succeeded"),
     pod("x", "new", "10.244.1.20", labels={"pod": "other"}),
     pol("x", "from-trusted", A, ingress=[{"from": [peer(pod=sel(pod="trusted"))]}]),
     pol("y", "to-trusted", A, egress=[{"to": [peer(ns=ALL_NS, pod=sel(pod="trusted"))]}],
         types=EG)])

case("failed-pod-ip-reused",
     "z/old Failed with IP 10.244.3.20 and label pod=a; z/new (pod=new) runs "
     "with that IP. x/b admits from {ns z, pod=a}: z/a passes, z/new does "
     "not.",
     ["pod-eligibility", "failed", "ip-reuse", "ingress", "pod-add"],
     ["§3.7 (decision D2)"]).step(
    [pod("z", "old", "10.244.3.20", labels={"pod": "a"}, phase="Failed"),
     pod("z", "new", "10.244.3.20", labels={"pod": "new"}),
     pol("x", "from-za", B, ingress=[{"from": [peer(ns=NSZ, pod=A)]}])])

case("hostnetwork-pod-not-peer",
     "x/h is a hostNetwork pod labelled pod=h (podIP = node address "
     "172.18.0.2). x/a admits from pod=h only: nothing reaches x/a. hostNetwork "
     "pods are not probed.",
     ["pod-eligibility", "hostNetwork", "ingress", "pod-add"],
     ["§3.7 (decision D2)"]).step(
    [pod("x", "h", "172.18.0.2", labels={"pod": "h"}, host_network=True),
     pol("x", "from-h", A, ingress=[{"from": [peer(pod=sel(pod="h"))]}])])

case("pending-pod-with-ip-is-peer",
     "Decision D2: y/d (pod=d) is Pending but already has 10.244.2.14; x/a "
     "admits from {ns {}, pod=d}: y/d is a peer (it has an IP and has not "
     "finished) and reaches x/a; nobody else does.",
     ["pod-eligibility", "pending", "ingress", "pod-add", "decision"],
     ["§3.7 (decision D2)"]).step(
    [pod("y", "d", "10.244.2.14", labels={"pod": "d"}, phase="Pending"),
     pol("x", "from-d", A, ingress=[{"from": [peer(ns=ALL_NS, pod=D)]}])])

case("pending-pod-without-ip-not-peer",
     "y/d (pod=d) is Pending with no IP; x/a admits from {ns {}, pod=d} only. "
     "y/d has no IP to select and is not probed: x/a admits nothing.",
     ["pod-eligibility", "no-ip", "ingress", "pod-add"], ["§3.7"]).step(
    [pod("y", "d", None, labels={"pod": "d"}, phase="Pending"),
     pol("x", "from-d", A, ingress=[{"from": [peer(ns=ALL_NS, pod=D)]}])])

# ---- H. multi-step (dynamic changes)

case("dyn-policy-updated",
     "x/a from pod=b; the policy is replaced to allow from pod=c, then to "
     "from pod=c on 81 only.",
     ["dynamic", "multi-step", "policy-update", "pod-selector"], ["§3.5"]).step(
    [pol("x", "p", A, ingress=[{"from": [peer(pod=B)]}])], comment="from x/b"
).step([pol("x", "p", A, ingress=[{"from": [peer(pod=C)]}])], comment="from x/c"
       ).step([pol("x", "p", A, ingress=[{"from": [peer(pod=C)], "ports": [port(81)]}])],
              comment="from x/c on 81/TCP")

case("dyn-policy-deleted",
     "Deny-all both directions in y, then deleted: back to default allow.",
     ["dynamic", "multi-step", "policy-delete", "deny-all"], ["§3.5"]).step(
    [pol("y", "deny", {}, types=BOTH)], comment="deny all in y").step(
    delete=[delete("NetworkPolicy", "y", "deny")], comment="deleted")

case("dyn-allow-all-ingress-over-deny",
     "Deny-all ingress in x; then an allow-all (ingress [{}]) policy is added "
     "(union: all allowed); then it is deleted again.",
     ["dynamic", "multi-step", "allow-all", "union", "deny-all", "policy-delete"],
     ["§3.5 empty rule = wildcard", "union"]).step(
    [pol("x", "deny", {}, types=ING)], comment="deny all ingress").step(
    [pol("x", "allow-all", {}, ingress=[{}])], comment="allow-all added").step(
    delete=[delete("NetworkPolicy", "x", "allow-all")], comment="allow-all deleted")

case("dyn-allow-all-egress-over-deny",
     "Deny-all egress in z; then egress [{}] for pod=a in z; then the deny "
     "policy is deleted (z/a still isolated but allowed everything).",
     ["dynamic", "multi-step", "allow-all", "union", "egress", "policy-delete"],
     ["§3.5"]).step(
    [pol("z", "deny-eg", {}, types=EG)]).step(
    [pol("z", "a-eg-all", A, egress=[{}], types=EG)]).step(
    delete=[delete("NetworkPolicy", "z", "deny-eg")])

case("dyn-pod-relabelled-into-peer",
     "x/a admits from {ns {}, role=client}. y/b then gets role=client, then "
     "z/c too.",
     ["dynamic", "multi-step", "pod-relabel", "pod-selector"], ["§3.5"]).step(
    [pol("x", "from-clients", A, ingress=[{"from": [peer(ns=ALL_NS,
                                                       pod=sel(role="client"))]}])],
    comment="no client yet").step(
    [model_pod("y", "b", {"pod": "b", "role": "client"})], comment="y/b client").step(
    [model_pod("z", "c", {"pod": "c", "role": "client"})], comment="z/c client")

case("dyn-pod-relabelled-out-of-peer",
     "x/a admits from pod=b in any namespace; y/b is relabelled pod=bb and "
     "loses access; then relabelled back.",
     ["dynamic", "multi-step", "pod-relabel", "pod-selector"], ["§3.5"]).step(
    [pol("x", "from-b", A, ingress=[{"from": [peer(ns=ALL_NS, pod=B)]}])]).step(
    [model_pod("y", "b", {"pod": "bb"})], comment="y/b out").step(
    [model_pod("y", "b", {"pod": "b"})], comment="y/b back")

case("dyn-pod-relabelled-into-target",
     "Deny-all ingress in x for role=locked: first nobody is locked, then x/b "
     "gets role=locked, then loses it.",
     ["dynamic", "multi-step", "pod-relabel", "isolation", "deny-all"], ["§3.5"]).step(
    [pol("x", "lock", sel(role="locked"), types=ING)]).step(
    [model_pod("x", "b", {"pod": "b", "role": "locked"})], comment="x/b locked").step(
    [model_pod("x", "b", {"pod": "b"})], comment="x/b unlocked")

case("dyn-pod-moves-between-targets",
     "x: policy A (pod=a) admits from y, policy B (pod=b) admits from z. x/c "
     "is relabelled pod=a, then pod=b: it follows the policy that selects it.",
     ["dynamic", "multi-step", "pod-relabel", "isolation", "ns-selector"], ["§3.5"]).step(
    [pol("x", "pa", A, ingress=[{"from": [peer(ns=NSY)]}]),
     pol("x", "pb", B, ingress=[{"from": [peer(ns=NSZ)]}])]).step(
    [model_pod("x", "c", {"pod": "a"})], comment="x/c is pod=a").step(
    [model_pod("x", "c", {"pod": "b"})], comment="x/c is pod=b")

case("dyn-ns-relabelled-into-selector",
     "x/a admits from namespaces team=blue: none at first, then z gets "
     "team=blue, then y gets it and z loses it.",
     ["dynamic", "multi-step", "ns-relabel", "ns-selector"], ["§3.5"]).step(
    [pol("x", "from-blue", A, ingress=[{"from": [peer(ns=sel(team="blue"))]}])]).step(
    [model_namespace("z", {"team": "blue"})], comment="z blue").step(
    [model_namespace("y", {"team": "blue"}), model_namespace("z")],
    comment="y blue, z not")

case("dyn-ns-relabelled-egress",
     "y/a sends only to namespaces env=prod (on 80/TCP): none, then x is "
     "labelled env=prod, then the label is removed.",
     ["dynamic", "multi-step", "ns-relabel", "ns-selector", "egress"], ["§3.5"]).step(
    [pol("y", "to-prod", A, egress=[{"to": [peer(ns=sel(env="prod"))],
                                     "ports": [port(80)]}], types=EG)]).step(
    [model_namespace("x", {"env": "prod"})], comment="x prod").step(
    [model_namespace("x")], comment="x unlabelled")

case("dyn-pod-added-into-isolated-namespace",
     "Deny-all ingress in x; x/d is created and is isolated at once; then a "
     "policy lets pod=d admit from y.",
     ["dynamic", "multi-step", "pod-add", "isolation", "deny-all"], ["§3.5"]).step(
    [pol("x", "deny", {}, types=ING)]).step(
    [pod("x", "d", "10.244.1.14")], comment="x/d created").step(
    [pol("x", "d-from-y", D, ingress=[{"from": [peer(ns=NSY)]}])],
    comment="allow y -> x/d")

case("dyn-pod-added-matches-egress-peer",
     "x/a sends only to pod=d (any ns); z/d is created, then deleted.",
     ["dynamic", "multi-step", "pod-add", "pod-delete", "egress"], ["§3.5"]).step(
    [pol("x", "to-d", A, egress=[{"to": [peer(ns=ALL_NS, pod=D)]}], types=EG)]).step(
    [pod("z", "d", "10.244.3.14")], comment="z/d created").step(
    delete=[delete("Pod", "z", "d")], comment="z/d deleted")

case("dyn-pod-recreated-with-new-ip",
     "x/a: policy 1 admits 10.244.2.12/32 (y/b's address) on 80; policy 2 "
     "admits {ns y, pod=b} on 81. y/b is deleted, then re-created with IP "
     "10.244.2.22: the ipBlock no longer matches it, the selector still does.",
     ["dynamic", "multi-step", "pod-delete", "pod-add", "ipBlock", "cidr-32"], ["§3.4"]).step(
    [pol("x", "yb-ip", A, ingress=[{"from": [peer(ipblock="10.244.2.12/32")],
                                    "ports": [port(80)]}]),
     pol("x", "yb-sel", A, ingress=[{"from": [peer(ns=NSY, pod=B)],
                                     "ports": [port(81)]}])]).step(
    delete=[delete("Pod", "y", "b")], comment="y/b deleted").step(
    [pod("y", "b", "10.244.2.22")], comment="y/b re-created as 10.244.2.22")

case("dyn-namespace-added",
     "x/a admits from namespaces {ns In [w, y]}. Namespace w with pods w/a, "
     "w/b is created, then its pods and itself are deleted.",
     ["dynamic", "multi-step", "ns-add", "ns-delete", "pod-add", "pod-delete",
      "match-expressions", "op-In"], ["§3.5"]).step(
    [pol("x", "from-wy", A, ingress=[{"from": [peer(
        ns=sel_expr(expr("ns", "In", ["w", "y"])))]}])]).step(
    [namespace("w"), pod("w", "a", "10.244.4.11"), pod("w", "b", "10.244.4.12")],
    comment="namespace w and pods created").step(
    delete=[delete("Pod", "w", "a"), delete("Pod", "w", "b"),
            delete("Namespace", None, "w")], comment="w deleted")

case("dyn-namespace-deleted",
     "z has a deny-all-egress policy; x/a admits only from ns z. Then all of z "
     "(pods, policy, namespace) is deleted.",
     ["dynamic", "multi-step", "ns-delete", "pod-delete", "policy-delete"], ["§3.5"]).step(
    [pol("z", "deny-eg", {}, types=EG),
     pol("x", "from-z", A, ingress=[{"from": [peer(ns=NSZ)]}])]).step(
    delete=[delete("Pod", "z", n) for n in "abc"] +
    [delete("NetworkPolicy", "z", "deny-eg"), delete("Namespace", None, "z")],
    comment="z deleted")

case("dyn-policytypes-updated",
     "x/a: ingress from y (types absent: [Ingress]); then an egress rule to z "
     "is added (types absent: [Ingress, Egress]); then policyTypes [Egress] "
     "(ingress rule ignored).",
     ["dynamic", "multi-step", "policy-update", "policyTypes-default",
      "policyTypes-explicit"], ["§3.1"]).step(
    [pol("x", "p", A, ingress=[{"from": [peer(ns=NSY)]}])]).step(
    [pol("x", "p", A, ingress=[{"from": [peer(ns=NSY)]}],
         egress=[{"to": [peer(ns=NSZ)]}])], comment="egress rule added").step(
    [pol("x", "p", A, ingress=[{"from": [peer(ns=NSY)]}],
         egress=[{"to": [peer(ns=NSZ)]}], types=EG)], comment="types [Egress]")

case("dyn-named-port-pod-recreated",
     "x/a sends only to port http. y/d has http=8080; it is re-created with "
     "http=9090 (new IP), then z/d with http=80 is added.",
     ["dynamic", "multi-step", "named-port", "pod-add", "pod-delete", "egress"],
     ["§3.3"], ports=[(80, "TCP"), (81, "TCP"), (8080, "TCP"), (9090, "TCP")]).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pol("x", "to-http", A, egress=[{"ports": [port("http")]}], types=EG)]).step(
    [pod("y", "d", "10.244.2.24", ports=[("http", 9090, "TCP")])],
    delete=[], comment="y/d re-created with http=9090").step(
    [pod("z", "d", "10.244.3.14", ports=HTTP_80)], comment="z/d added")

case("dyn-ipblock-except-updated",
     "x/a admits 10.244.0.0/16 except y's /24; the except becomes z's /24; "
     "then the except is removed.",
     ["dynamic", "multi-step", "policy-update", "ipBlock", "except"], ["§3.4"]).step(
    [pol("x", "cidr", A, ingress=[{"from": [peer(ipblock="10.244.0.0/16",
                                                 except_=["10.244.2.0/24"])]}])]).step(
    [pol("x", "cidr", A, ingress=[{"from": [peer(ipblock="10.244.0.0/16",
                                                 except_=["10.244.3.0/24"])]}])]).step(
    [pol("x", "cidr", A, ingress=[{"from": [peer(ipblock="10.244.0.0/16")]}])])

case("dyn-union-grows-and-shrinks",
     "Deny-all ingress in x; allow from y added; allow from z (80 only) "
     "added; the allow-from-y policy deleted.",
     ["dynamic", "multi-step", "union", "policy-delete", "ns-selector"], ["union"]).step(
    [pol("x", "deny", {}, types=ING)]).step(
    [pol("x", "from-y", {}, ingress=[{"from": [peer(ns=NSY)]}])]).step(
    [pol("x", "from-z-80", {}, ingress=[{"from": [peer(ns=NSZ)], "ports": [port(80)]}])]).step(
    delete=[delete("NetworkPolicy", "x", "from-y")])

case("dyn-pending-pod-gets-ip-then-succeeds",
     "x/a admits only from {ns {}, pod=d}. y/d is Pending without IP (not a "
     "peer, not probed); it gets 10.244.2.14 and Running (now a peer); then "
     "it is Succeeded (no longer a peer, not probed).",
     ["dynamic", "multi-step", "pod-eligibility", "no-ip", "succeeded", "pod-add"],
     ["§3.7 (decision D2)"]).step(
    [pol("x", "from-d", A, ingress=[{"from": [peer(ns=ALL_NS, pod=D)]}]),
     pod("y", "d", None, labels={"pod": "d"}, phase="Pending")]).step(
    [pod("y", "d", "10.244.2.14")], comment="y/d running").step(
    [pod("y", "d", "10.244.2.14", phase="Succeeded")], comment="y/d succeeded")

case("dyn-notin-relabel",
     "x/a admits from {ns {}, pod NotIn [b]}. y/a loses all labels (still "
     "matches: lacks the key), then becomes pod=b (no longer matches).",
     ["dynamic", "multi-step", "pod-relabel", "match-expressions", "op-NotIn",
      "missing-key"], ["§3.2"]).step(
    [pol("x", "not-b", A, ingress=[{"from": [peer(
        ns=ALL_NS, pod=sel_expr(expr("pod", "NotIn", ["b"])))]}])]).step(
    [model_pod("y", "a", {})], comment="y/a unlabelled").step(
    [model_pod("y", "a", {"pod": "b"})], comment="y/a is pod=b")

case("dyn-named-port-egress-pod-added",
     "x/a sends only to port http: no pod has it, everything denied; then z/d "
     "(http=80) is added and x/a -> z/d:80 passes.",
     ["dynamic", "multi-step", "named-port", "pod-add", "egress"], ["§3.3"],
     ports=[(80, "TCP"), (81, "TCP"), (5353, "UDP"), (80, "UDP")]).step(
    [pol("x", "to-http", A, egress=[{"ports": [port("http")]}], types=EG)]).step(
    [pod("z", "d", "10.244.3.14", ports=HTTP_80)], comment="z/d added")

case("dyn-ns-label-doesnotexist",
     "z/a admits from namespaces without env (DoesNotExist): all; then y gets "
     "env=prod and drops out; then the policy also admits {env: prod} pods "
     "with pod=c.",
     ["dynamic", "multi-step", "ns-relabel", "op-DoesNotExist", "policy-update"],
     ["§3.2"]).step(
    [pol("z", "no-env", A, ingress=[{"from": [peer(ns=sel_expr(expr("env", "DoesNotExist")))]}])]).step(
    [model_namespace("y", {"env": "prod"})], comment="y env=prod").step(
    [pol("z", "no-env", A, ingress=[{"from": [
        peer(ns=sel_expr(expr("env", "DoesNotExist"))),
        peer(ns=sel(env="prod"), pod=C)]}])], comment="y/c re-admitted")

case("dyn-policy-moves-namespace-scope",
     "A policy in x admits x/a from {pod=b} (own ns = x only); it is replaced "
     "by one with namespaceSelector {} (b in every namespace); then by one "
     "with namespaceSelector ns=z.",
     ["dynamic", "multi-step", "policy-update", "ns-selector-absent",
      "ns-selector-empty"], ["§3.5"]).step(
    [pol("x", "p", A, ingress=[{"from": [peer(pod=B)]}])]).step(
    [pol("x", "p", A, ingress=[{"from": [peer(ns=ALL_NS, pod=B)]}])]).step(
    [pol("x", "p", A, ingress=[{"from": [peer(ns=NSZ, pod=B)]}])])

case("dyn-egress-ingress-interplay",
     "y/a admits only from x/a's pod=a (ns x); x/a then gets a deny-all "
     "egress policy (x/a -> y/a now denied at the source); then x/a is "
     "allowed to send to y on 80.",
     ["dynamic", "multi-step", "both-directions", "egress", "ingress"], ["§3.6"]).step(
    [pol("y", "a-from-xa", A, ingress=[{"from": [peer(ns=NSX, pod=A)]}])]).step(
    [pol("x", "a-no-eg", A, types=EG)], comment="x/a egress deny").step(
    [pol("x", "a-to-y-80", A, egress=[{"to": [peer(ns=NSY)], "ports": [port(80)]}])],
    comment="x/a egress to y:80 (types absent => Ingress too)")


# ---- G. named ports behind ipBlocks (§3.3, decision D1)

case("named-egress-ipblock-except",
     "x/a sends to ipBlock 10.244.0.0/16 except y's /24 on port http: z/d "
     "(http=80) is reached on 80; y/d (http=8080) is in the except, so "
     "x/a -> y/d is denied on every port.",
     ["named-port", "ipBlock", "except", "egress", "decision", "pod-add"],
     ["§3.3", "§3.4 except", "decision D1"], ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ports=HTTP_80),
     pol("x", "to-cidr-http", A, egress=[{"to": [peer(
         ipblock="10.244.0.0/16", except_=["10.244.2.0/24"])],
         "ports": [port("http")]}], types=EG)])

case("named-egress-ipblock-dual-stack",
     "Dual-stack x/d, y/d (http=8080), z/d (http=80). x/d sends on port http "
     "to ipBlock fd00:10:244:2::/64 and, in a second rule, to 10.244.3.0/24: "
     "x/d -> y/d:8080 passes over IPv6 only, x/d -> z/d:80 over IPv4 only "
     "(a block matches only the pod's address of its own family).",
     ["named-port", "ipBlock", "ipv6", "dual-stack", "egress", "decision",
      "pod-add"],
     ["§3.3", "§3.4 IPv6 blocks never match IPv4 addresses", "decision D1"],
     ports=[(80, "TCP"), (81, "TCP"), (8080, "TCP")],
     ports6=[(80, "TCP"), (81, "TCP"), (8080, "TCP")]).step(
    [pod("x", "d", "10.244.1.14", ip6="fd00:10:244:1::14"),
     pod("y", "d", "10.244.2.14", ip6="fd00:10:244:2::14", ports=HTTP_8080),
     pod("z", "d", "10.244.3.14", ip6="fd00:10:244:3::14", ports=HTTP_80),
     pol("x", "d-http", D, egress=[
         {"to": [peer(ipblock="fd00:10:244:2::/64")], "ports": [port("http")]},
         {"to": [peer(ipblock="10.244.3.0/24")], "ports": [port("http")]}],
         types=EG)])

case("named-egress-pod-peer-and-ipblock-same-pod",
     "x/a sends on port http to [ipBlock 10.244.2.0/24, {ns=y, pod=d}]: y/d "
     "(http=8080) is reached both ways and passes on 8080 once; y/a, y/b, "
     "y/c (no http) pass on nothing.",
     ["named-port", "ipBlock", "pod-selector", "peer-or", "egress", "pod-add"],
     ["§3.3", "decision D1"], ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pol("x", "to-yd-http", A, egress=[{"to": [peer(ipblock="10.244.2.0/24"),
                                               peer(ns=NSY, pod=D)],
                                        "ports": [port("http")]}], types=EG)])

case("named-ingress-ipblock-except-source",
     "Ingress is unaffected: y/d admits port http from ipBlock "
     "10.244.0.0/16 except 10.244.1.0/24; the name resolves on y/d itself "
     "(8080): z/* -> y/d:8080 passes, x/* (excepted) does not.",
     ["named-port", "ipBlock", "except", "ingress", "pod-add"],
     ["§3.3", "§3.4 except"], ports=NAMED_PORTS).step(
    [pod("y", "d", "10.244.2.14", ports=HTTP_8080),
     pol("y", "http-not-x", D, ingress=[{"from": [peer(
         ipblock="10.244.0.0/16", except_=["10.244.1.0/24"])],
         "ports": [port("http")]}])])

case("dyn-named-egress-pod-leaves-ipblock",
     "x/a sends on port http to ipBlock 10.244.3.0/24. z/d (http=80) is "
     "inside; it is re-created at 10.244.4.14, outside; y/e (http=8080) is "
     "created at 10.244.3.15, inside; y/e is re-created with http=9090 at "
     "the same address; then deleted.",
     ["dynamic", "multi-step", "named-port", "ipBlock", "egress", "pod-add",
      "pod-delete", "decision"],
     ["§3.3", "decision D1"],
     ports=[(80, "TCP"), (81, "TCP"), (8080, "TCP"), (9090, "TCP")]).step(
    [pod("z", "d", "10.244.3.14", ports=HTTP_80),
     pol("x", "to-z-http", A, egress=[{"to": [peer(ipblock="10.244.3.0/24")],
                                       "ports": [port("http")]}], types=EG)],
    comment="z/d inside the block").step(
    [pod("z", "d", "10.244.4.14", ports=HTTP_80)],
    comment="z/d re-created outside the block").step(
    [pod("y", "e", "10.244.3.15", ports=HTTP_8080)],
    comment="y/e created inside the block").step(
    [pod("y", "e", "10.244.3.15", ports=[("http", 9090, "TCP")])],
    comment="y/e re-created with http=9090").step(
    delete=[delete("Pod", "y", "e")], comment="y/e deleted")

# =================================================================== writer

def build(case_obj, number, verdict_fn=None):
    cl = oracle.Cluster()
    cl.apply(L.MODEL)
    steps = []
    for st in case_obj.steps:
        cl.run_step(st)
        ports = list(st["ports"] or case_obj.ports)
        probes = L.probe_list(cl, ports, cl.allowed, case_obj.ports6)
        if len(probes) > L.MAX_PROBES_PER_STEP:
            raise SystemExit("%s: step has %d probes" % (case_obj.slug, len(probes)))
        out = {}
        if st["comment"]:
            out["comment"] = st["comment"]
        out["apply"] = st["apply"]
        out["delete"] = st["delete"]
        out["probes"] = probes
        steps.append(out)
    return {"name": "%03d-%s" % (number, case_obj.slug),
            "source": "generated: tests/oracle/gen_cases.py (verdicts by netpol_oracle)",
            "description": case_obj.description,
            "tags": case_obj.tags,
            "spec": case_obj.spec,
            "steps": steps}


def all_outputs():
    import handwritten
    out = {}
    for i, c in enumerate(CASES, 1):
        if not re.match(r"^[a-z0-9-]+$", c.slug):
            raise SystemExit("bad slug %r" % c.slug)
        doc = build(c, i)
        out["%s.json" % doc["name"]] = L.dump_case(doc)
    for doc in handwritten.build_all():
        out["%s.json" % doc["name"]] = L.dump_case(doc)
    slugs = [c.slug for c in CASES]
    assert len(set(slugs)) == len(slugs), "duplicate slug"
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--out", default=L.CASES_DIR)
    args = ap.parse_args()
    files = all_outputs()
    existing = {os.path.basename(p) for p in glob.glob(os.path.join(args.out, "[0-9]*.json"))}
    if args.check:
        bad = 0
        for name, text in sorted(files.items()):
            p = os.path.join(args.out, name)
            if not os.path.exists(p) or open(p).read() != text:
                print("stale or missing: %s" % name)
                bad += 1
        for name in sorted(existing - set(files)):
            print("not generated: %s" % name)
            bad += 1
        print("%d files checked, %d differ" % (len(files), bad))
        return 1 if bad else 0
    os.makedirs(args.out, exist_ok=True)
    for name in sorted(existing - set(files)):
        os.remove(os.path.join(args.out, name))
    for name, text in sorted(files.items()):
        with open(os.path.join(args.out, name), "w") as f:
            f.write(text)
    n_multi = sum(1 for c in CASES if len(c.steps) > 1)
    print("wrote %d generated cases (%d multi-step) + %d hand-written to %s" % (
        len(CASES), n_multi, len(files) - len(CASES), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
