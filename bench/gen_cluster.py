#!/usr/bin/env python3
"""Write a synthetic Kubernetes cluster (Namespaces, Pods, NetworkPolicies)
as one JSON "v1 List", the shape `kubectl get ns,pods,netpol -A -o json`
gives, for the compile benchmark and for the OVN peer
(../shared/peers/ovn/, which imports this file as `gen_cluster`).

Deterministic: the same arguments and --seed give the same bytes (only
random.Random(seed) is used, never set or hash order, no clock).

    gen_cluster.py --pods 10000 --policies 1000 --nodes 50 --seed 1 -o c.json
    gen_cluster.py --preset medium -o c.json --meta c.meta.json
    gen_cluster.py --shape cross -o cross.json
    gen_cluster.py --validate c.json        # API validation of a file
    gen_cluster.py --ports-for c.json --ports-node node-1 -o c.ports
    gen_cluster.py --mix broad --preset medium -o b.json --churn b.churn.json
    gen_cluster.py --churn-for c.json -o c.churn.json   # events to play on c.json

Cluster shape (--shape realistic, the default; --mix old, the default)
----------------------------------------------------------------------
Namespaces (--namespaces K, default max(4, pods/50)): three system
namespaces (kube-system with CoreDNS `k8s-app=kube-dns`, monitoring with
Prometheus/Alertmanager/Grafana, ingress-nginx with the controller) and
K-3 application namespaces named <product>-<env> (e.g. payments-prod),
labelled kubernetes.io/metadata.name, team, env and sometimes
istio-injection / compliance.  Namespace sizes are heavy-tailed (Pareto):
a few big namespaces, many small ones.

Pods (--pods N exactly, system pods included), all Running, grouped into
apps (Deployments named <app>-<hash>-<hash>, StatefulSets <app>-<i> for
data stores) of 1-12 replicas.  Labels from small vocabularies: app,
tier (edge/frontend/backend/data/cache/messaging/telecom), role
(proxy/web/api/worker/batch/db/cache/queue/signalling), version (v1-v4; ~15%
of apps are mid-rollout with two versions), pod-template-hash or
controller-revision-hash, app.kubernetes.io/name and part-of on about half
of the apps, track=canary on a few pods.  Pods spread uniformly at random
over node-1..node-M (--nodes, default ceil(pods/200)), so
`ovs-netpol compile --node node-1` sees about pods/M local pods.

Pod IPs: each node owns a pod subnet carved from 10.128.0.0/9 (the
smallest /n that fits its pods, at least a /24, as the OVN-Kubernetes
hostSubnet); pods get consecutive addresses from .3 with a few gaps.  No
ipBlock below overlaps 10.128.0.0/9 except the rare "pod network" one.
hostIP is the node's address in 172.18.0.0/16.

Container ports are named as upstream charts name them, and the same name
maps to different numbers on different apps: http 8080, 80, 3000 or 9200;
metrics 9090, 9100, 8081, 9187, 9121 ...; grpc 50051 or 9000; dns 53/UDP +
dns-tcp 53/TCP; postgresql 5432, redis 6379, kafka 9092 ...; statsd
8125/UDP; sip 5060/UDP + sip-tcp 5060/TCP + sip-sctp 5060/SCTP; diameter
3868/SCTP.  About a fifth of the apps run an envoy sidecar
(http-envoy-prom 15090).

Policies (--policies M exactly, only in application namespaces).  Each
policy draws its kind with these weights (percent of M); the per-namespace
kinds (*) are made at most once per namespace and fall back to
app-ingress when every namespace has one:

  12  default-deny-ingress*   podSelector {}, policyTypes [Ingress]
   4  default-deny-all*       podSelector {}, policyTypes [Ingress, Egress]
   7  allow-same-namespace*   podSelector {}, from [{podSelector: {}}]
   5  allow-dns*              egress to kube-system/kube-dns (nsSelector AND
                              podSelector), 53/UDP + 53/TCP or named dns
   4  allow-ingress-nginx*    from ns ingress-nginx AND controller pods, named
                              or numeric http
   5  allow-prometheus*       podSelector {} or app Exists; from monitoring
                              (+ app=prometheus), named port metrics
   2  egress-same-namespace*  egress to own namespace + DNS, [Egress]
  31  app-ingress             one app (matchLabels app, sometimes
                              matchExpressions app In / version NotIn);
                              from upstream apps of the same namespace by
                              app, tier In, role NotIn, app Exists, track
                              DoesNotExist; numeric or named ports, protocol
                              sometimes omitted; 1-2 rules
   8  app-egress              egress from one app to its downstreams (same
                              namespace, or other namespace with
                              nsSelector AND podSelector); policyTypes
                              [Egress] in 80%, absent (=> Ingress too) else
   8  cross-ns-ingress        from other namespaces: namespaceSelector by team
                              AND app (35%), by kubernetes.io/metadata.name
                              (20%, half AND app), env In [...] AND app
                              (15%), env In [...] alone (8%: the broad one,
                              thousands of pods), env NotIn AND role/app In
                              (12%), compliance DoesNotExist AND tier (10%)
   5  ipblock-ingress         from 1-2 ipBlocks (office / partner / on-prem
                              ranges, half with 1-2 excepts), ports 443/80/8443
   4  egress-internet         to 0.0.0.0/0 except RFC 1918 (+169.254.169.254),
                              sometimes also ::/0, port 443 (+80); rarely the
                              pod network 10.128.0.0/14
   3  port-range              endPort ranges: TCP 8000-8100, 30000-32767,
                              UDP 10000-20000, TCP 5000-5010 ...
   1  sctp                    SCTP ports (diameter 3868, sip-sctp named,
                              38412) in or out
   1  allow-all-ingress       podSelector app=X, ingress [{}]

About half of the policies carry an explicit policyTypes (every
default-deny and egress-only policy, a third of the others); the rest rely
on the API default (Ingress, plus Egress when there are egress rules).

The broad mix (--mix broad)
---------------------------
Namespaces, pods and addresses made as above, plus namespace `tier` labels (web,
services, data, platform by product) and a fourth system namespace,
observability, with an OpenTelemetry collector; presets medium and large
put exactly 200 and 250 pods on node-1 (--node1-pods).  Policies are
spread over namespaces by (applications)^1.5, so big namespaces hold
dozens to a hundred, and peers select whole namespaces or sets of them
by shared labels, or every namespace: the shapes that make an event
expensive for an engine that recompiles per policy.  Weights (percent of
M; * at most once per namespace):

   8  default-deny-ingress*, 3 default-deny-all*, 5 allow-same-namespace*,
   5  allow-dns*, 4 allow-ingress-nginx*    as in the old mix
   5  allow-prometheus-any-ns*  from `namespaceSelector: {}` AND
                              app=prometheus, named port metrics
   3  egress-otel*            to observability/otel-collector 4317/4318
   3  egress-same-env*        to every namespace of its env (+ DNS)
   7  app-ingress             as in the old mix
  10  env-ingress             from namespaces env=E (its own env, or prod),
                              alone or AND tier In [edge, frontend], role
                              api, or role In [api, web, worker]
   9  team-ingress            from namespaces team=T (its own team or any),
                              with the same pod selectors
   5  tier-ingress            from namespaces tier In [1-2 of web, services,
                              data] AND role api, tier frontend or role web
   8  cluster-ingress         from `namespaceSelector: {}` AND tier
                              frontend/edge, role web, role api + tier
                              backend, or app.kubernetes.io/part-of
  16  broad-egress            one app to data namespaces' db/cache pods,
                              its env's api pods, every namespace's api/web
                              pods, or its team's namespaces (+ DNS)
   4  nsset-ingress           from team In [2-4 teams] AND app Exists, or
                              env NotIn [dev, qa] AND tier frontend
   3  cross-ns-ingress, 2 ipblock-ingress, 2 egress-internet, 2 port-range,
      0.5 sctp, 0.5 allow-all-ingress     as in the old mix

The broad kinds select one app (as the old mix does), or in 45% of them a
whole tier or role of the namespace; a quarter add a second rule from
an upstream app.  At 10,000 pods / 1,000 policies node-1 gets about
22,000 flows (the old mix: 6,700), and the median pod is a peer of about
90 rules (the old mix: 9); at 50,000 / 5,000, about 103,000 flows and 490.

The churn description (--churn, --churn-for)
--------------------------------------------
JSON, for one node (--churn-node, node-1), of any cluster file: the events
bench/daemon_bench.py and bench/profile_event.py play, chosen by a model
of how src/compile.c selects and src/engine.c invalidates (ClusterModel):
pod_add (copies of node-1 pods that policies with rules select, addresses
from 10.254.0.0/16), pod_relabel (node-1 pods, one label changed so that
the set of policies selecting them changes; the daemon bench's choice
before this file, so the old mix plays the same events), peer_relabel
(the pods most active rules have as peers, one label changed to leave as
many of those peer sets as it can), ns_relabel (namespaces in seeded
random order, env/team/tier changed to the value that changes the peers
of the most active policies), policy_add (narrow: one app
from another on a port of its own, as before), policy_add_broad (the
same pods, from the frontends of every prod namespace), storm (--churn-
storm relabels: node-1's, then other pods' app), each with what the
model expects it to cost; and shapes (how many pods rules select, how
many rules select a pod, policies per namespace).

Stress shape (--shape cross)
----------------------------
One namespace "cross", --cross-dst pods app=dst (100), --cross-src pods
app=src (1,000), all on node-1, and one policy whose single ingress rule
selects the dst pods and allows from the src pods on --cross-ports TCP
ports (10): 100 x 1,000 x 10 = 1,000,000 flows as a cross product, about
1,100 with conjunctive matches.
"""

import argparse
import ipaddress
import json
import math
import re
import random
import sys

# ---------------------------------------------------------------------------
# Vocabularies

PRODUCTS = ["shop", "payments", "identity", "search", "media", "analytics",
            "billing", "logistics", "crm", "platform", "data", "ml",
            "support", "marketing", "inventory", "messaging", "maps", "risk",
            "ledger", "portal", "voice", "ads", "catalog", "travel"]
ENVS = ["prod", "prod", "prod", "staging", "staging", "dev", "qa"]
TEAMS = ["alpha", "bravo", "core", "data", "edge", "growth", "infra",
         "mobile", "web", "risk", "sre", "telco"]

HASH_CHARS = "bcdfghjklmnpqrstvwxz2456789"      # as in k8s SafeEncodeString

# Archetypes: tier, role, weight, kind (deploy|sts), port sets (one is drawn
# per app: the same name gets different numbers on different apps), names.
ARCHETYPES = [
    dict(tier="edge", role="proxy", weight=6, kind="deploy",
         names=["gateway", "api-gateway", "proxy", "nginx", "envoy-edge"],
         ports=[[("http", 80, "TCP"), ("https", 443, "TCP"), ("metrics", 9113, "TCP")],
                [("http", 8080, "TCP"), ("https", 8443, "TCP"), ("metrics", 9090, "TCP")]]),
    dict(tier="frontend", role="web", weight=10, kind="deploy",
         names=["web", "frontend", "storefront", "ui", "admin-ui", "portal",
                "dashboard", "checkout-ui"],
         ports=[[("http", 8080, "TCP"), ("metrics", 9090, "TCP")],
                [("http", 80, "TCP")],
                [("http", 3000, "TCP"), ("metrics", 9100, "TCP")]]),
    dict(tier="backend", role="api", weight=40, kind="deploy",
         names=["api", "auth", "users", "orders", "payments", "cart",
                "catalog", "search", "inventory", "checkout", "shipping",
                "pricing", "reviews", "recommendations", "accounts",
                "billing", "notifications", "profile", "ledger", "reports",
                "sessions", "tokens", "quotes", "invoices", "geo", "media"],
         ports=[[("http", 8080, "TCP"), ("grpc", 50051, "TCP"), ("metrics", 9090, "TCP")],
                [("http", 8080, "TCP"), ("metrics", 8081, "TCP")],
                [("grpc", 9000, "TCP"), ("metrics", 9090, "TCP")],
                [("http", 5000, "TCP")]]),
    dict(tier="backend", role="worker", weight=12, kind="deploy",
         names=["worker", "email-sender", "indexer", "scheduler", "consumer",
                "etl", "thumbnailer", "exporter"],
         ports=[[("metrics", 9090, "TCP")],
                [("http", 8080, "TCP"), ("metrics", 9090, "TCP")],
                [("statsd", 8125, "UDP"), ("metrics", 9102, "TCP")]]),
    dict(tier="backend", role="batch", weight=3, kind="deploy",
         names=["cron", "reconciler", "backfill"],
         ports=[[("metrics", 9091, "TCP")]]),
    dict(tier="data", role="db", weight=8, kind="sts",
         names=["postgres", "mysql", "mongodb", "cassandra", "elasticsearch"],
         ports={"postgres": [[("postgresql", 5432, "TCP"), ("metrics", 9187, "TCP")]],
                "mysql": [[("mysql", 3306, "TCP"), ("metrics", 9104, "TCP")]],
                "mongodb": [[("mongodb", 27017, "TCP"), ("metrics", 9216, "TCP")]],
                "cassandra": [[("cql", 9042, "TCP"), ("intra-node", 7000, "TCP"),
                               ("metrics", 8080, "TCP")]],
                "elasticsearch": [[("http", 9200, "TCP"), ("transport", 9300, "TCP")]]}),
    dict(tier="cache", role="cache", weight=6, kind="sts",
         names=["redis", "memcached"],
         ports={"redis": [[("redis", 6379, "TCP"), ("metrics", 9121, "TCP")]],
                "memcached": [[("memcache", 11211, "TCP"), ("metrics", 9150, "TCP")]]}),
    dict(tier="messaging", role="queue", weight=5, kind="sts",
         names=["kafka", "zookeeper", "rabbitmq", "nats"],
         ports={"kafka": [[("kafka", 9092, "TCP"), ("metrics", 9308, "TCP")]],
                "zookeeper": [[("client", 2181, "TCP"), ("peer", 2888, "TCP"),
                               ("leader", 3888, "TCP")]],
                "rabbitmq": [[("amqp", 5672, "TCP"), ("metrics", 15692, "TCP")]],
                "nats": [[("client", 4222, "TCP"), ("cluster", 6222, "TCP"),
                          ("monitor", 8222, "TCP")]]}),
    dict(tier="telecom", role="signalling", weight=2, kind="deploy",
         names=["sip-proxy", "diameter-gw", "media-relay", "amf"],
         ports={"sip-proxy": [[("sip", 5060, "UDP"), ("sip-tcp", 5060, "TCP"),
                               ("sip-sctp", 5060, "SCTP"), ("metrics", 9090, "TCP")]],
                "diameter-gw": [[("diameter", 3868, "SCTP"), ("diameter-tcp", 3868, "TCP"),
                                 ("metrics", 9090, "TCP")]],
                "media-relay": [[("rtp", 10000, "UDP"), ("control", 8080, "TCP")]],
                "amf": [[("ngap", 38412, "SCTP"), ("sbi", 8080, "TCP"), ("metrics", 9090, "TCP")]]}),
    dict(tier="backend", role="dns", weight=1, kind="deploy",
         names=["dns-cache"],
         ports=[[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]]),
]
TIER_RANK = {"edge": 0, "frontend": 1, "backend": 2, "telecom": 2,
             "messaging": 3, "cache": 3, "data": 3}
SIDECAR_PORTS = [("http-envoy-prom", 15090, "TCP")]

# ipBlocks as people write them: offices, partners, on-prem ranges.
OFFICE_BLOCKS = [
    ("203.0.113.0/24", ["203.0.113.128/25"]),
    ("198.51.100.0/24", []),
    ("192.0.2.0/24", ["192.0.2.64/26", "192.0.2.200/29"]),
    ("192.168.0.0/16", ["192.168.1.0/24"]),
    ("172.16.0.0/12", ["172.17.0.0/16"]),
    ("10.0.0.0/16", ["10.0.1.0/24", "10.0.2.0/24"]),
    ("10.10.0.0/16", []),
    ("100.64.0.0/10", ["100.64.0.0/16"]),
]
RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
POD_NETWORK = ipaddress.ip_network("10.128.0.0/9")
NODE_NETWORK = ipaddress.ip_network("172.18.0.0/16")

POLICY_KINDS = [
    # name, weight, once per namespace
    ("default-deny-ingress", 12, True),
    ("default-deny-all", 4, True),
    ("allow-same-namespace", 7, True),
    ("allow-dns", 5, True),
    ("allow-ingress-nginx", 4, True),
    ("allow-prometheus", 5, True),
    ("egress-same-namespace", 2, True),
    ("app-ingress", 31, False),
    ("app-egress", 8, False),
    ("cross-ns-ingress", 8, False),
    ("ipblock-ingress", 5, False),
    ("egress-internet", 4, False),
    ("port-range", 3, False),
    ("sctp", 1, False),
    ("allow-all-ingress", 1, False),
]
# What the OVN peer's make_policy() draws from (policies about one app).
APP_KINDS = [("app-ingress", 31), ("app-egress", 8), ("cross-ns-ingress", 8),
             ("ipblock-ingress", 5), ("port-range", 3)]

PRESETS = {
    "tiny": dict(pods=200, policies=20, nodes=2),
    "small": dict(pods=1000, policies=100, nodes=5),
    "medium": dict(pods=10000, policies=1000, nodes=50),
    "large": dict(pods=50000, policies=5000, nodes=250),
    "xl": dict(pods=100000, policies=10000, nodes=500),
}


# ---------------------------------------------------------------------------
# Context: what policies are written against.  Built by the generator, or
# rebuilt from a cluster's items by ctx_from_items() (for the OVN peer).

class App:
    __slots__ = ("ns", "name", "tier", "role", "labels", "ports", "n_pods",
                 "versions", "system")

    def __init__(self, ns, name, tier, role, labels, ports, system=False):
        self.ns = ns
        self.name = name
        self.tier = tier
        self.role = role
        self.labels = labels        # labels common to all its pods
        self.ports = ports          # [(name, number, protocol)] of the main container
        self.n_pods = 0
        self.versions = []
        self.system = system


class Namespace:
    __slots__ = ("name", "labels", "apps", "system")

    def __init__(self, name, labels, system=False):
        self.name = name
        self.labels = labels
        self.apps = []
        self.system = system


class Ctx:
    def __init__(self, rules_per_policy=2, peers_per_rule=3, ports_per_rule=3, **_ignored):
        self.namespaces = []
        self.ns_by_name = {}
        self.rules_per_policy = max(1, int(rules_per_policy))
        self.peers_per_rule = max(1, int(peers_per_rule))
        self.ports_per_rule = max(1, int(ports_per_rule))
        self.rv = 1000
        self.used_names = {}        # ns -> {policy name: True}

    def add_ns(self, ns):
        self.namespaces.append(ns)
        self.ns_by_name[ns.name] = ns

    def app_namespaces(self):
        return [n for n in self.namespaces if not n.system and n.apps]

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def unique_name(self, ns, name):
        used = self.used_names.setdefault(ns, {})
        cand, k = name, 2
        while cand in used:
            cand = "%s-%d" % (name, k)
            k += 1
        used[cand] = True
        return cand


def ctx_from_items(items, **params):
    """Rebuilds a Ctx from the items of a cluster List (ours or any other
    with app labels): apps are pods grouped by (namespace, labels.app)."""
    ctx = Ctx(**params)
    apps = {}
    for it in items:
        kind = it.get("kind")
        md = it.get("metadata") or {}
        if kind == "Namespace":
            name = md["name"]
            ctx.add_ns(Namespace(name, dict(md.get("labels") or {}),
                                 system=name in ("kube-system", "monitoring", "ingress-nginx")))
    for it in items:
        md = it.get("metadata") or {}
        if it.get("kind") == "Pod":
            ns = md.get("namespace", "default")
            if ns not in ctx.ns_by_name:
                ctx.add_ns(Namespace(ns, {"kubernetes.io/metadata.name": ns}))
            labels = md.get("labels") or {}
            aname = labels.get("app") or labels.get("k8s-app") or md["name"]
            key = (ns, aname)
            app = apps.get(key)
            if app is None:
                common = {"app": aname} if "app" in labels else {"k8s-app": aname} if "k8s-app" in labels else {}
                ports = []
                for c in (it.get("spec") or {}).get("containers") or []:
                    for p in c.get("ports") or []:
                        ports.append((p.get("name"), p["containerPort"], p.get("protocol", "TCP")))
                app = App(ns, aname, labels.get("tier", "backend"), labels.get("role", "api"),
                          common, ports, ctx.ns_by_name[ns].system)
                apps[key] = app
                ctx.ns_by_name[ns].apps.append(app)
            app.n_pods += 1
            v = labels.get("version")
            if v and v not in app.versions:
                app.versions.append(v)
        elif it.get("kind") == "NetworkPolicy":
            ctx.unique_name(md.get("namespace", "default"), md["name"])
    return ctx


# ---------------------------------------------------------------------------
# Small helpers

def rand_hash(rng, n):
    return "".join(rng.choice(HASH_CHARS) for _ in range(n))


def rand_uid(rng):
    b = rng.getrandbits(128)
    h = "%032x" % b
    return "%s-%s-4%s-%s%s-%s" % (h[0:8], h[8:12], h[13:16], "89ab"[b & 3], h[17:20], h[20:32])


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for item, w in pairs:
        x -= w
        if x < 0:
            return item
    return pairs[-1][0]


def name_ok_label(s):
    return len(s) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", s) is not None


# ---------------------------------------------------------------------------
# Cluster generation

def make_namespaces(rng, ctx, k):
    sys_ns = [("kube-system", {}), ("monitoring", {"team": "sre"}),
              ("ingress-nginx", {"team": "infra"})]
    for name, extra in sys_ns:
        labels = {"kubernetes.io/metadata.name": name}
        labels.update(extra)
        ctx.add_ns(Namespace(name, labels, system=True))
    team_of = {p: rng.choice(TEAMS) for p in PRODUCTS}
    used = {n.name: True for n in ctx.namespaces}
    for _ in range(max(1, k - len(sys_ns))):
        prod, env = rng.choice(PRODUCTS), rng.choice(ENVS)
        name, i = "%s-%s" % (prod, env), 2
        while name in used:
            name = "%s-%s-%d" % (prod, env, i)
            i += 1
        used[name] = True
        labels = {"kubernetes.io/metadata.name": name, "team": team_of[prod], "env": env}
        if rng.random() < 0.3:
            labels["istio-injection"] = "enabled"
        if prod in ("payments", "billing", "ledger") and env == "prod":
            labels["compliance"] = "pci"
        ctx.add_ns(Namespace(name, labels))


def split_sizes(rng, total, n, minimum):
    """Heavy-tailed sizes summing to 'total', each >= minimum when possible."""
    if n == 0:
        return []
    minimum = min(minimum, total // n)
    weights = [min(rng.paretovariate(1.3), 80.0) for _ in range(n)]
    rest = total - minimum * n
    s = sum(weights)
    raw = [w / s * rest for w in weights]
    sizes = [minimum + int(r) for r in raw]
    order = sorted(range(n), key=lambda i: -(raw[i] - int(raw[i])))
    for i in order[:total - sum(sizes)]:
        sizes[i] += 1
    return sizes


def add_system_apps(ctx, n_pods, extra=()):
    """System pods, scaled down for tiny clusters.  Returns [(app, replicas)].
    'extra': more (namespace name, app, labels, tier, role, ports, replicas)
    after the standard ones (the broad mix's hubs)."""
    ks, mon, ing = (ctx.ns_by_name[n] for n in ("kube-system", "monitoring", "ingress-nginx"))
    specs = [
        (ks, "coredns", {"k8s-app": "kube-dns"}, "backend", "dns",
         [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")], 2),
        (ks, "metrics-server", {"k8s-app": "metrics-server"}, "backend", "api",
         [("https", 10250, "TCP")], 1),
        (mon, "prometheus", {"app": "prometheus"}, "backend", "monitoring",
         [("web", 9090, "TCP")], 2),
        (mon, "alertmanager", {"app": "alertmanager"}, "backend", "monitoring",
         [("web", 9093, "TCP"), ("mesh-tcp", 9094, "TCP"), ("mesh-udp", 9094, "UDP")], 3),
        (mon, "grafana", {"app": "grafana"}, "frontend", "web", [("http", 3000, "TCP")], 1),
        (ing, "ingress-nginx-controller",
         {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
         "edge", "proxy", [("http", 80, "TCP"), ("https", 443, "TCP"), ("metrics", 10254, "TCP")],
         3 if n_pods >= 5000 else 2),
    ]
    specs += [(ctx.ns_by_name[e[0]],) + tuple(e[1:]) for e in extra]
    budget = max(1, n_pods // 10)
    out = []
    for ns, name, common, tier, role, ports, reps in specs:
        reps = min(reps, budget)
        if reps <= 0:
            break
        budget -= reps
        app = App(ns.name, name, tier, role, dict(common), ports, system=True)
        ns.apps.append(app)
        out.append((app, reps))
    return out


def plan_apps(rng, ns, n_pods):
    """Splits a namespace's pods into apps.  Returns [(app, replicas, kind)]."""
    out = []
    taken = {}
    left = n_pods
    arche_w = [(a, a["weight"]) for a in ARCHETYPES]
    while left > 0:
        a = weighted(rng, arche_w)
        base = rng.choice(a["names"])
        name, k = base, 2
        while name in taken:
            name = "%s-%d" % (base, k)
            k += 1
        taken[name] = True
        pset = a["ports"][base] if isinstance(a["ports"], dict) else a["ports"]
        ports = list(rng.choice(pset))
        reps = rng.choice([1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 5, 6, 8, 10, 12])
        if a["kind"] == "sts":
            reps = rng.choice([1, 3, 3, 5])
        reps = min(reps, left)
        left -= reps
        common = {"app": name}
        app = App(ns.name, name, a["tier"], a["role"], common, ports)
        ns.apps.append(app)
        out.append((app, reps, a["kind"]))
    return out


def make_pods(rng, ctx, n_pods, n_nodes, extra_system=(), node1_pods=None):
    """'node1_pods': put exactly that many pods on node-1 and spread the
    rest over the other nodes (None: every pod on a random node)."""
    app_nss = [n for n in ctx.namespaces if not n.system]
    plan = [(app, reps, "deploy") for app, reps in add_system_apps(ctx, n_pods, extra_system)]
    n_app_pods = n_pods - sum(r for _, r, _ in plan)
    for ns, size in zip(app_nss, split_sizes(rng, n_app_pods, len(app_nss), 2)):
        plan.extend(plan_apps(rng, ns, size))
    ns_product = {}
    pods = []
    for app, reps, kind in plan:
        ns = ctx.ns_by_name[app.ns]
        part_of = app.ns.rsplit("-", 1)[0] if not ns.system else app.ns
        ns_product[app.ns] = part_of
        extra = {}
        if not app.system:
            extra = {"tier": app.tier, "role": app.role}
            if rng.random() < 0.5:
                extra["app.kubernetes.io/name"] = app.name
                extra["app.kubernetes.io/part-of"] = part_of
        # versions: one, or two during a rollout
        v = rng.choice([1, 1, 1, 2, 2, 3, 4])
        versions = [("v%d" % v, reps)]
        if reps >= 2 and rng.random() < 0.15 and not app.system:
            old = reps // 2
            versions = [("v%d" % v, old), ("v%d" % (v + 1), reps - old)]
        app.versions = [vv for vv, _ in versions]
        sidecar = not app.system and rng.random() < 0.2
        canary = not app.system and kind == "deploy" and reps >= 4 and rng.random() < 0.2
        idx = 0
        for vname, count in versions:
            rs_hash = rand_hash(rng, 10)
            for j in range(count):
                labels = dict(app.labels)
                labels.update(extra)
                if not app.system:
                    labels["version"] = vname
                if kind == "sts":
                    pname = "%s-%d" % (app.name, idx)
                    labels["controller-revision-hash"] = "%s-%s" % (app.name, rand_hash(rng, 10))
                    labels["statefulset.kubernetes.io/pod-name"] = pname
                else:
                    pname = "%s-%s-%s" % (app.name, rs_hash, rand_hash(rng, 5))
                    labels["pod-template-hash"] = rs_hash
                if canary and idx == 0:
                    labels["track"] = "canary"
                idx += 1
                app.n_pods += 1
                containers = [{
                    "name": app.name,
                    "image": "registry.example.com/%s/%s:%s.%d.%d" % (
                        part_of, app.name, vname.lstrip("v"), rng.randrange(20), rng.randrange(10)),
                    "ports": [{"name": pn, "containerPort": pp, "protocol": pr}
                              for pn, pp, pr in app.ports],
                }]
                if sidecar:
                    containers.append({
                        "name": "envoy", "image": "envoyproxy/envoy:v1.29.1",
                        "ports": [{"name": pn, "containerPort": pp, "protocol": pr}
                                  for pn, pp, pr in SIDECAR_PORTS]})
                pods.append({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pname, "namespace": app.ns, "uid": rand_uid(rng),
                                 "resourceVersion": ctx.next_rv(), "labels": labels},
                    "spec": {"containers": containers, "restartPolicy": "Always",
                             "dnsPolicy": "ClusterFirst",
                             "serviceAccountName": app.name if rng.random() < 0.5 else "default",
                             "nodeName": None},
                    "status": {"phase": "Running"},
                })
    nodes = None
    if node1_pods is not None:
        on1 = set(rng.sample(range(len(pods)), min(node1_pods, len(pods))))
        nodes = [0 if i in on1 or n_nodes == 1 else 1 + rng.randrange(n_nodes - 1)
                 for i in range(len(pods))]
    assign_nodes_and_ips(rng, pods, n_nodes, nodes)
    return pods


def assign_nodes_and_ips(rng, pods, n_nodes, nodes=None):
    if nodes is None:
        nodes = [rng.randrange(n_nodes) for _ in pods]
    per_node = [0] * n_nodes
    for n in nodes:
        per_node[n] += 1
    need = max(per_node) + 4
    host_bits = max(8, math.ceil(math.log2(need * 1.1 + 1)))
    if n_nodes << host_bits > POD_NETWORK.num_addresses:
        raise SystemExit("gen-cluster: %d nodes with up to %d pods do not fit in %s"
                         % (n_nodes, max(per_node), POD_NETWORK))
    if n_nodes + 2 > NODE_NETWORK.num_addresses:
        raise SystemExit("gen-cluster: too many nodes")
    base = int(POD_NETWORK.network_address)
    next_ip = [base + (i << host_bits) + 3 for i in range(n_nodes)]
    limit = [base + ((i + 1) << host_bits) - 1 for i in range(n_nodes)]   # broadcast
    left = list(per_node)
    for pod, n in zip(pods, nodes):
        # an occasional gap, as pods come and go, while there is room
        if limit[n] - next_ip[n] > left[n] + 1 and rng.random() < 0.05:
            next_ip[n] += 1
        ip = str(ipaddress.IPv4Address(next_ip[n]))
        next_ip[n] += 1
        left[n] -= 1
        pod["spec"]["nodeName"] = "node-%d" % (n + 1)
        pod["status"].update({
            "hostIP": str(NODE_NETWORK.network_address + n + 2),
            "podIP": ip, "podIPs": [{"ip": ip}]})


# ---------------------------------------------------------------------------
# Policies

def netpol(ctx, rng, ns, name, pod_selector, ingress=None, egress=None, types=None):
    spec = {"podSelector": pod_selector}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types:
        spec["policyTypes"] = types
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns, "uid": rand_uid(rng),
                         "resourceVersion": ctx.next_rv(), "generation": 1},
            "spec": spec}


def maybe_types(rng, types, p=0.35):
    return types if rng.random() < p else None


def port_entry(rng, port, named_ok=True):
    pname, num, proto = port
    e = {}
    if proto != "TCP" or rng.random() < 0.7:
        e["protocol"] = proto
    e["port"] = pname if (named_ok and pname and rng.random() < 0.35) else num
    return e


def service_ports(app):
    sp = [p for p in app.ports if p[0] != "metrics"]
    return sp or list(app.ports)


def app_ports(ctx, rng, app, named_ok=True):
    sp = service_ports(app)
    if not sp:
        return [{"protocol": "TCP", "port": 8080}]
    k = min(len(sp), ctx.ports_per_rule, rng.choice([1, 1, 1, 2, 2, 3]))
    chosen = rng.sample(sp, k)
    return [port_entry(rng, p, named_ok) for p in chosen]


def dest_selector(rng, app, ns):
    r = rng.random()
    if r < 0.75 or len(ns.apps) < 2:
        sel = {"matchLabels": {"app": app.name}}
        if len(app.versions) > 1 and rng.random() < 0.3:
            sel["matchLabels"]["version"] = app.versions[-1]
        return sel
    if r < 0.85:
        others = [a.name for a in ns.apps if a is not app and not a.system]
        vals = sorted([app.name] + rng.sample(others, min(len(others), rng.randint(1, 2))))
        return {"matchExpressions": [{"key": "app", "operator": "In", "values": vals}]}
    if r < 0.93:
        return {"matchLabels": {"app": app.name},
                "matchExpressions": [{"key": "version", "operator": "NotIn", "values": ["v0", "v1"]}]}
    return {"matchLabels": {"tier": app.tier}}


def upstream_apps(ns, app):
    rank = TIER_RANK.get(app.tier, 2)
    ups = [a for a in ns.apps if a is not app and not a.system and TIER_RANK.get(a.tier, 2) < rank]
    if not ups:
        ups = [a for a in ns.apps if a is not app and not a.system and TIER_RANK.get(a.tier, 2) <= rank]
    return ups


def downstream_apps(ns, app):
    rank = TIER_RANK.get(app.tier, 2)
    return [a for a in ns.apps if a is not app and not a.system and TIER_RANK.get(a.tier, 2) > rank]


def source_peer(rng, ns, app, ups):
    """A same-namespace pod peer for traffic into 'app'."""
    r = rng.random()
    if ups and r < 0.6:
        return {"podSelector": {"matchLabels": {"app": rng.choice(ups).name}}}
    if r < 0.7:
        tiers = sorted({a.tier for a in (ups or ns.apps)} | {"frontend"})
        return {"podSelector": {"matchExpressions": [
            {"key": "tier", "operator": "In", "values": tiers}]}}
    if r < 0.8:
        return {"podSelector": {"matchLabels": {"tier": "backend"}, "matchExpressions": [
            {"key": "role", "operator": "NotIn", "values": ["batch", "worker"]}]}}
    if r < 0.9:
        return {"podSelector": {"matchExpressions": [
            {"key": "app", "operator": "Exists"},
            {"key": "track", "operator": "DoesNotExist"}]}}
    if ups:
        a = rng.choice(ups)
        return {"podSelector": {"matchLabels": {"app": a.name, "tier": a.tier}}}
    return {"podSelector": {}}


def other_ns(rng, ctx, ns):
    cands = [n for n in ctx.app_namespaces() if n is not ns]
    return rng.choice(cands) if cands else ns


def cross_peer(rng, ctx, ns):
    """A peer in other namespaces.  Most are narrow (one namespace, or an
    app in a team's namespaces); about a quarter select by a namespace label
    that many namespaces share, mostly ANDed with a pod label."""
    o = other_ns(rng, ctx, ns)
    r = rng.random()
    src = [a for a in o.apps if not a.system]
    envs = sorted({ns.labels.get("env", "prod"), "prod"})
    if r < 0.35 and src:
        return {"namespaceSelector": {"matchLabels": {"team": o.labels.get("team", "core")}},
                "podSelector": {"matchLabels": {"app": rng.choice(src).name}}}
    if r < 0.55:
        p = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": o.name}}}
        if src and rng.random() < 0.5:
            p["podSelector"] = {"matchLabels": {"app": rng.choice(src).name}}
        return p
    if r < 0.70 and src:
        return {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": envs}]},
                "podSelector": {"matchLabels": {"app": rng.choice(src).name}}}
    if r < 0.78:
        return {"namespaceSelector": {"matchExpressions": [{"key": "env", "operator": "In", "values": envs}]}}
    if r < 0.90:
        return {"namespaceSelector": {"matchExpressions": [
            {"key": "env", "operator": "NotIn", "values": ["dev", "qa"]}]},
                "podSelector": {"matchLabels": {"role": "api", "tier": "backend"},
                                "matchExpressions": [{"key": "app", "operator": "In",
                                                      "values": sorted({a.name for a in src[:3]} or {"api"})}]}}
    return {"namespaceSelector": {"matchExpressions": [
        {"key": "compliance", "operator": "DoesNotExist"}]},
            "podSelector": {"matchLabels": {"tier": "frontend"}}}


def random_block(rng):
    """A partner network: a random /20-/29 outside the pod network, with
    an except now and then."""
    base = rng.choice([ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("172.16.0.0/12"),
                       ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("45.0.0.0/8")])
    plen = rng.randint(20, 29)
    n = 1 << (plen - base.prefixlen)
    net = ipaddress.ip_network((int(base.network_address) + rng.randrange(n) * (1 << (32 - plen)), plen))
    exc = []
    if plen <= 27 and rng.random() < 0.4:
        eplen = rng.randint(plen + 1, min(32, plen + 4))
        m = 1 << (eplen - plen)
        for i in sorted(rng.sample(range(m), min(m, rng.randint(1, 2)))):
            exc.append(str(ipaddress.ip_network((int(net.network_address) + i * (1 << (32 - eplen)), eplen))))
    return str(net), exc


def ipblock_peer(rng):
    if rng.random() < 0.6:
        cidr, exc = rng.choice(OFFICE_BLOCKS)
        exc = list(exc)
    else:
        cidr, exc = random_block(rng)
    blk = {"cidr": cidr}
    if exc:
        blk["except"] = exc
    return {"ipBlock": blk}


def pick_app(rng, ns):
    apps = [a for a in ns.apps if not a.system]
    return rng.choices(apps, weights=[1 + a.n_pods for a in apps])[0]


def dns_rule(rng, named=False):
    sel = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    if named:
        ports = [{"protocol": "UDP", "port": "dns"}, {"protocol": "TCP", "port": "dns-tcp"}]
    else:
        ports = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    return {"to": [sel], "ports": ports}


def make_kind(ctx, rng, kind, ns, name=None):
    """One policy of 'kind' in namespace 'ns' (a Namespace).  Returns the
    object, or None if the namespace has nothing the kind needs."""
    nm = ns.name

    def nmk(default):
        return name or ctx.unique_name(nm, default)

    if kind == "default-deny-ingress":
        return netpol(ctx, rng, nm, nmk(rng.choice(["default-deny-ingress", "default-deny"])),
                      {}, types=["Ingress"])
    if kind == "default-deny-all":
        return netpol(ctx, rng, nm, nmk("default-deny-all"), {}, types=["Ingress", "Egress"])
    if kind == "allow-same-namespace":
        return netpol(ctx, rng, nm, nmk("allow-same-namespace"), {},
                      ingress=[{"from": [{"podSelector": {}}]}], types=maybe_types(rng, ["Ingress"]))
    if kind == "allow-dns":
        return netpol(ctx, rng, nm, nmk("allow-dns"), {},
                      egress=[dns_rule(rng, rng.random() < 0.25)], types=["Egress"])
    if kind == "allow-ingress-nginx":
        fronts = [a for a in ns.apps if a.tier in ("edge", "frontend") and not a.system]
        sel = {"matchLabels": {"app": rng.choice(fronts).name}} if fronts and rng.random() < 0.6 else {}
        peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}
        ports = [{"protocol": "TCP", "port": "http"}] if rng.random() < 0.5 else \
            [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 80}]
        return netpol(ctx, rng, nm, nmk("allow-from-ingress-nginx"), sel,
                      ingress=[{"from": [peer], "ports": ports}], types=maybe_types(rng, ["Ingress"]))
    if kind == "allow-prometheus":
        sel = {} if rng.random() < 0.6 else {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
        peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
        if rng.random() < 0.6:
            peer["podSelector"] = {"matchLabels": {"app": "prometheus"}}
        ports = [{"protocol": "TCP", "port": "metrics"}]
        if rng.random() < 0.3:
            ports.append({"protocol": "TCP", "port": "http-envoy-prom"})
        return netpol(ctx, rng, nm, nmk("allow-prometheus-scrape"), sel,
                      ingress=[{"from": [peer], "ports": ports}], types=maybe_types(rng, ["Ingress"]))
    if kind == "egress-same-namespace":
        return netpol(ctx, rng, nm, nmk("allow-egress-same-namespace"), {},
                      egress=[{"to": [{"podSelector": {}}]}, dns_rule(rng)], types=["Egress"])

    apps = [a for a in ns.apps if not a.system]
    if not apps:
        return None
    app = pick_app(rng, ns)

    if kind == "app-ingress":
        ups = upstream_apps(ns, app)
        rules = []
        n_rules = 1 if ctx.rules_per_policy < 2 or rng.random() < 0.7 else rng.randint(2, ctx.rules_per_policy)
        for ri in range(n_rules):
            n_peers = min(ctx.peers_per_rule, rng.choice([1, 1, 1, 2, 2, 3]))
            peers = []
            for _ in range(n_peers):
                p = source_peer(rng, ns, app, ups)
                if p not in peers:
                    peers.append(p)
            rule = {"from": peers, "ports": app_ports(ctx, rng, app)}
            if ri > 0 and rng.random() < 0.5:
                rule = {"from": [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": "monitoring"}}}],
                    "ports": [{"protocol": "TCP", "port": "metrics"}]}
            rules.append(rule)
        src = "frontend" if not ups else ups[0].name
        return netpol(ctx, rng, nm, nmk("allow-%s-to-%s" % (src, app.name)),
                      dest_selector(rng, app, ns), ingress=rules, types=maybe_types(rng, ["Ingress"]))
    if kind == "app-egress":
        downs = downstream_apps(ns, app)
        peers, ports = [], []
        if downs and rng.random() < 0.75:
            for d in rng.sample(downs, min(len(downs), ctx.peers_per_rule, rng.choice([1, 1, 2]))):
                peers.append({"podSelector": {"matchLabels": {"app": d.name}}})
                ports.extend(app_ports(ctx, rng, d))
        else:
            o = other_ns(rng, ctx, ns)
            oapps = [a for a in o.apps if not a.system] or apps
            d = rng.choice(oapps)
            peers.append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": o.name}},
                          "podSelector": {"matchLabels": {"app": d.name}}})
            ports.extend(app_ports(ctx, rng, d))
        # dedupe ports, keep at most ports_per_rule
        uniq = []
        for p in ports:
            if p not in uniq:
                uniq.append(p)
        egress = [{"to": peers, "ports": uniq[:max(ctx.ports_per_rule, 1)]}]
        if rng.random() < 0.4:
            egress.append(dns_rule(rng))
        types = ["Egress"] if rng.random() < 0.8 else None
        return netpol(ctx, rng, nm, nmk("%s-egress" % app.name),
                      {"matchLabels": {"app": app.name}}, egress=egress, types=types)
    if kind == "cross-ns-ingress":
        n_peers = min(ctx.peers_per_rule, rng.choice([1, 1, 2]))
        peers = []
        for _ in range(n_peers):
            p = cross_peer(rng, ctx, ns)
            if p not in peers:
                peers.append(p)
        rule = {"from": peers}
        if rng.random() < 0.85:
            rule["ports"] = app_ports(ctx, rng, app)
        return netpol(ctx, rng, nm, nmk("allow-cross-ns-to-%s" % app.name),
                      dest_selector(rng, app, ns), ingress=[rule], types=maybe_types(rng, ["Ingress"]))
    if kind == "ipblock-ingress":
        peers = [ipblock_peer(rng) for _ in range(rng.choice([1, 1, 2]))]
        ports = [{"protocol": "TCP", "port": p} for p in rng.choice([[443], [443, 80], [8443], [80]])]
        rule = {"from": peers, "ports": ports}
        if rng.random() < 0.3:
            rule["from"].append({"podSelector": {"matchLabels": {"app": app.name}}})
        return netpol(ctx, rng, nm, nmk("allow-external-to-%s" % app.name),
                      {"matchLabels": {"app": app.name}}, ingress=[rule], types=maybe_types(rng, ["Ingress"]))
    if kind == "egress-internet":
        r = rng.random()
        if r < 0.08:
            peers = [{"ipBlock": {"cidr": "10.128.0.0/14"}}]
        elif r < 0.5:
            peers = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(RFC1918)}}]
        elif r < 0.75:
            peers = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(RFC1918) + ["169.254.169.254/32"]}}]
        else:
            peers = [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}},
                     {"ipBlock": {"cidr": "::/0", "except": ["fd00::/8"]}}]
        ports = [{"protocol": "TCP", "port": 443}]
        if rng.random() < 0.3:
            ports.append({"protocol": "TCP", "port": 80})
        return netpol(ctx, rng, nm, nmk("%s-egress-internet" % app.name),
                      {"matchLabels": {"app": app.name}}, egress=[{"to": peers, "ports": ports}],
                      types=["Egress"])
    if kind == "port-range":
        rng_ports = rng.choice([
            [{"protocol": "TCP", "port": 8000, "endPort": 8100}],
            [{"protocol": "TCP", "port": 30000, "endPort": 32767}],
            [{"protocol": "UDP", "port": 10000, "endPort": 20000}],
            [{"protocol": "TCP", "port": 5000, "endPort": 5010}, {"protocol": "TCP", "port": 8080}],
            [{"protocol": "TCP", "port": 9000, "endPort": 9999}],
            [{"protocol": "UDP", "port": 5060, "endPort": 5061}, {"protocol": "TCP", "port": 5060, "endPort": 5061}],
        ])
        ups = upstream_apps(ns, app)
        peer = source_peer(rng, ns, app, ups) if rng.random() < 0.7 else cross_peer(rng, ctx, ns)
        if rng.random() < 0.8:
            return netpol(ctx, rng, nm, nmk("allow-range-to-%s" % app.name),
                          {"matchLabels": {"app": app.name}},
                          ingress=[{"from": [peer], "ports": rng_ports}], types=maybe_types(rng, ["Ingress"]))
        return netpol(ctx, rng, nm, nmk("%s-egress-range" % app.name),
                      {"matchLabels": {"app": app.name}},
                      egress=[{"to": [peer], "ports": rng_ports}], types=["Egress"])
    if kind == "sctp":
        tel = [a for a in apps if a.tier == "telecom"]
        dst = rng.choice(tel) if tel else app
        sctp = [p for p in dst.ports if p[2] == "SCTP"]
        if sctp and rng.random() < 0.6:
            ports = [port_entry(rng, p) for p in sctp]
        else:
            ports = [{"protocol": "SCTP", "port": rng.choice([3868, 38412, 36412, 2905])}]
        peer = cross_peer(rng, ctx, ns) if rng.random() < 0.5 else \
            {"podSelector": {"matchLabels": {"tier": "telecom"}}}
        if rng.random() < 0.7:
            return netpol(ctx, rng, nm, nmk("allow-sctp-to-%s" % dst.name),
                          {"matchLabels": {"app": dst.name}},
                          ingress=[{"from": [peer], "ports": ports}], types=maybe_types(rng, ["Ingress"]))
        return netpol(ctx, rng, nm, nmk("%s-egress-sctp" % dst.name),
                      {"matchLabels": {"app": dst.name}},
                      egress=[{"to": [peer], "ports": ports}], types=["Egress"])
    if kind == "allow-all-ingress":
        return netpol(ctx, rng, nm, nmk("allow-all-to-%s" % app.name),
                      {"matchLabels": {"app": app.name}}, ingress=[{}], types=maybe_types(rng, ["Ingress"]))
    raise ValueError("unknown policy kind %s" % kind)


def make_policy(ctx, rng, ns, name):
    """One policy about a single app of namespace 'ns' (a name), named
    'name'; used by the OVN peer to time a policy add."""
    nso = ctx.ns_by_name[ns]
    for _ in range(20):
        pol = make_kind(ctx, rng, weighted(rng, APP_KINDS), nso, name)
        if pol is not None:
            return pol
    return make_kind(ctx, rng, "default-deny-ingress", nso, name)


def make_policies(rng, ctx, n):
    nss = ctx.app_namespaces()
    if n and not nss:
        raise SystemExit("gen-cluster: no application namespace to put policies in")
    weights = [len([a for a in ns.apps if not a.system]) for ns in nss]
    kinds = [(k, w) for k, w, _ in POLICY_KINDS]
    once = {k for k, _, o in POLICY_KINDS if o}
    free = {k: list(range(len(nss))) for k in sorted(once)}
    out = []
    while len(out) < n:
        kind = weighted(rng, kinds)
        if kind in once:
            cands = free[kind]
            if not cands:
                kind = "app-ingress"
            else:
                i = cands.pop(rng.randrange(len(cands)))
                ns = nss[i]
        if kind not in once:
            ns = rng.choices(nss, weights=weights)[0]
        pol = make_kind(ctx, rng, kind, ns)
        if pol is not None:
            out.append(pol)
    return out


# ---------------------------------------------------------------------------
# The broad mix (--mix broad): the shapes that make an event expensive for
# an enforcer that works per policy.  Peers select whole namespaces, or sets
# of them, by labels many namespaces share (env, team, tier); peers with
# `namespaceSelector: {}` and a pod selector select across the cluster; big
# namespaces hold dozens of policies; shared pods (Prometheus, the ingress
# controllers, CoreDNS, the OpenTelemetry collector, every prod frontend)
# are peers of hundreds of rules.

# A namespace's tier, from its product: what "tier In [web, services]"
# namespace selectors are written against.
NS_TIER = {"shop": "web", "media": "web", "portal": "web", "maps": "web",
           "travel": "web", "ads": "web", "catalog": "web", "marketing": "web",
           "support": "web",
           "payments": "services", "identity": "services", "billing": "services",
           "logistics": "services", "crm": "services", "inventory": "services",
           "messaging": "services", "risk": "services", "ledger": "services",
           "voice": "services",
           "search": "data", "analytics": "data", "data": "data", "ml": "data",
           "platform": "platform"}
NS_TIERS = ["web", "services", "data", "platform"]

# Shared pods of the broad mix besides the standard system apps: what
# every namespace's telemetry goes to.
BROAD_SYSTEM_APPS = [
    ("observability", "otel-collector", {"app": "otel-collector"}, "backend", "monitoring",
     [("otlp-grpc", 4317, "TCP"), ("otlp-http", 4318, "TCP"), ("metrics", 8888, "TCP")], 3),
]

# name, weight (percent of M), once per namespace
BROAD_POLICY_KINDS = [
    ("default-deny-ingress", 8, True),
    ("default-deny-all", 3, True),
    ("allow-same-namespace", 5, True),
    ("allow-dns", 5, True),
    ("allow-ingress-nginx", 4, True),
    ("allow-prometheus-any-ns", 5, True),
    ("egress-otel", 3, True),
    ("egress-same-env", 3, True),
    ("app-ingress", 7, False),
    ("env-ingress", 10, False),
    ("team-ingress", 9, False),
    ("tier-ingress", 5, False),
    ("cluster-ingress", 8, False),
    ("broad-egress", 16, False),
    ("nsset-ingress", 4, False),
    ("cross-ns-ingress", 3, False),
    ("ipblock-ingress", 2, False),
    ("egress-internet", 2, False),
    ("port-range", 2, False),
    ("sctp", 0.5, False),
    ("allow-all-ingress", 0.5, False),
]

# Node-1's pods in the broad mix's presets (the issue's clusters: 200 of
# 10,000 and 250 of 50,000); other presets leave node-1 to chance.
BROAD_NODE1 = {"medium": 200, "large": 250}


def make_namespaces_broad(rng, ctx, k):
    sys_ns = [("kube-system", {"tier": "platform"}),
              ("monitoring", {"team": "sre", "tier": "platform"}),
              ("ingress-nginx", {"team": "infra", "tier": "platform"}),
              ("observability", {"team": "sre", "tier": "platform"})]
    for name, extra in sys_ns:
        labels = {"kubernetes.io/metadata.name": name}
        labels.update(extra)
        ctx.add_ns(Namespace(name, labels, system=True))
    team_of = {p: rng.choice(TEAMS) for p in PRODUCTS}
    used = {n.name: True for n in ctx.namespaces}
    for _ in range(max(1, k - len(sys_ns))):
        prod, env = rng.choice(PRODUCTS), rng.choice(ENVS)
        name, i = "%s-%s" % (prod, env), 2
        while name in used:
            name = "%s-%s-%d" % (prod, env, i)
            i += 1
        used[name] = True
        labels = {"kubernetes.io/metadata.name": name, "team": team_of[prod], "env": env,
                  "tier": NS_TIER[prod]}
        if rng.random() < 0.3:
            labels["istio-injection"] = "enabled"
        if prod in ("payments", "billing", "ledger") and env == "prod":
            labels["compliance"] = "pci"
        ctx.add_ns(Namespace(name, labels))


def broad_src_pods(rng):
    """A pod selector for sources in other namespaces, or None (every pod of
    the selected namespaces)."""
    r = rng.random()
    if r < 0.4:
        return None
    if r < 0.7:
        return {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["edge", "frontend"]}]}
    if r < 0.85:
        return {"matchLabels": {"role": "api"}}
    return {"matchExpressions": [{"key": "role", "operator": "In", "values": ["api", "web", "worker"]}]}


def make_kind_broad(ctx, rng, kind, ns):
    """One policy of the broad mix's 'kind' in namespace 'ns'; the kinds it
    shares with the old mix are the old mix's."""
    nm = ns.name
    apps = [a for a in ns.apps if not a.system]
    if kind == "allow-prometheus-any-ns":
        sel = {} if rng.random() < 0.7 else {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
        peer = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "prometheus"}}}
        ports = [{"protocol": "TCP", "port": "metrics"}]
        if rng.random() < 0.3:
            ports.append({"protocol": "TCP", "port": "http-envoy-prom"})
        return netpol(ctx, rng, nm, ctx.unique_name(nm, "allow-prometheus-scrape"), sel,
                      ingress=[{"from": [peer], "ports": ports}], types=maybe_types(rng, ["Ingress"]))
    if kind == "egress-otel":
        sel = {} if rng.random() < 0.6 else {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
        peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}},
                "podSelector": {"matchLabels": {"app": "otel-collector"}}}
        ports = [{"protocol": "TCP", "port": 4317}, {"protocol": "TCP", "port": 4318}]
        egress = [{"to": [peer], "ports": ports}]
        if rng.random() < 0.5:
            egress.append(dns_rule(rng))
        return netpol(ctx, rng, nm, ctx.unique_name(nm, "allow-egress-otel"), sel,
                      egress=egress, types=["Egress"])
    if kind == "egress-same-env":
        peer = {"namespaceSelector": {"matchLabels": {"env": ns.labels.get("env", "prod")}}}
        return netpol(ctx, rng, nm, ctx.unique_name(nm, "allow-egress-same-env"), {},
                      egress=[{"to": [peer]}, dns_rule(rng)], types=["Egress"])
    if kind not in ("env-ingress", "team-ingress", "tier-ingress", "cluster-ingress",
                    "broad-egress", "nsset-ingress"):
        return make_kind(ctx, rng, kind, ns)
    if not apps:
        return None
    app = pick_app(rng, ns)
    env = ns.labels.get("env", "prod")
    team = ns.labels.get("team", "core")

    def ingress_policy(prefix, peers, extra_rule=True):
        rules = [{"from": peers, "ports": app_ports(ctx, rng, app)}]
        if extra_rule and rng.random() < 0.25:
            rules.append({"from": [{"podSelector": {"matchLabels": {
                "app": rng.choice(upstream_apps(ns, app) or apps).name}}}],
                "ports": app_ports(ctx, rng, app)})
        # Broad sources often go to a whole tier or role of the namespace.
        r = rng.random()
        if r < 0.3:
            dest, what = {"matchLabels": {"tier": app.tier}}, app.tier
        elif r < 0.45:
            dest, what = {"matchLabels": {"role": app.role}}, app.role
        else:
            dest, what = dest_selector(rng, app, ns), app.name
        return netpol(ctx, rng, nm, ctx.unique_name(nm, "allow-%s-to-%s" % (prefix, what)),
                      dest, ingress=rules, types=maybe_types(rng, ["Ingress"]))

    if kind == "env-ingress":
        e = env if rng.random() < 0.7 else "prod"
        peer = {"namespaceSelector": {"matchLabels": {"env": e}}}
        ps = broad_src_pods(rng)
        if ps is not None:
            peer["podSelector"] = ps
        return ingress_policy(e, [peer])
    if kind == "team-ingress":
        t = team if rng.random() < 0.6 else rng.choice(TEAMS)
        peer = {"namespaceSelector": {"matchLabels": {"team": t}}}
        ps = broad_src_pods(rng)
        if ps is not None:
            peer["podSelector"] = ps
        return ingress_policy("team-" + t, [peer])
    if kind == "tier-ingress":
        tiers = sorted(rng.sample(["web", "services", "data"], rng.choice([1, 2, 2])))
        peer = {"namespaceSelector": {"matchExpressions": [
            {"key": "tier", "operator": "In", "values": tiers}]}}
        peer["podSelector"] = rng.choice([{"matchLabels": {"role": "api"}},
                                          {"matchLabels": {"tier": "frontend"}},
                                          {"matchLabels": {"role": "web"}}])
        return ingress_policy("-".join(tiers), [peer])
    if kind == "cluster-ingress":
        others = [n for n in ctx.app_namespaces() if n is not ns]
        part = (rng.choice(others) if others else ns).name.rsplit("-", 1)[0]
        ps = rng.choice([{"matchLabels": {"tier": "frontend"}},
                         {"matchLabels": {"role": "web"}},
                         {"matchLabels": {"role": "api", "tier": "backend"}},
                         {"matchLabels": {"app.kubernetes.io/part-of": part}},
                         {"matchLabels": {"tier": "edge"}}])
        return ingress_policy("cluster", [{"namespaceSelector": {}, "podSelector": ps}])
    if kind == "nsset-ingress":
        if rng.random() < 0.5:
            teams = sorted(rng.sample(TEAMS, rng.randint(2, 4)))
            peer = {"namespaceSelector": {"matchExpressions": [
                {"key": "team", "operator": "In", "values": teams}]},
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}
        else:
            peer = {"namespaceSelector": {"matchExpressions": [
                {"key": "env", "operator": "NotIn", "values": ["dev", "qa"]}]},
                "podSelector": {"matchLabels": {"tier": "frontend"}}}
        return ingress_policy("nsset", [peer])
    # broad-egress: from one app to a kind of pod in a set of namespaces
    r = rng.random()
    if r < 0.3:
        peer = {"namespaceSelector": {"matchLabels": {"tier": "data"}},
                "podSelector": {"matchExpressions": [{"key": "role", "operator": "In",
                                                      "values": ["db", "cache"]}]}}
        ports = [{"protocol": "TCP", "port": p} for p in (5432, 3306, 6379, 9042)]
    elif r < 0.55:
        peer = {"namespaceSelector": {"matchLabels": {"env": env}},
                "podSelector": {"matchLabels": {"role": "api"}}}
        ports = ([{"protocol": "TCP", "port": "http"}] if rng.random() < 0.3
                 else [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 50051}])
    elif r < 0.75:
        peer = {"namespaceSelector": {}, "podSelector": {"matchExpressions": [
            {"key": "role", "operator": "In", "values": ["api", "web"]}]}}
        ports = [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 443}]
    else:
        peer = {"namespaceSelector": {"matchLabels": {"team": team}}}
        ports = [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 9000}]
    egress = [{"to": [peer], "ports": ports}]
    if rng.random() < 0.5:
        egress.append(dns_rule(rng))
    return netpol(ctx, rng, nm, ctx.unique_name(nm, "%s-egress-shared" % app.name),
                  {"matchLabels": {"app": app.name}}, egress=egress,
                  types=["Egress"] if rng.random() < 0.8 else None)


def make_policies_broad(rng, ctx, n):
    nss = ctx.app_namespaces()
    if n and not nss:
        raise SystemExit("gen-cluster: no application namespace to put policies in")
    # Big namespaces get more than their share: dozens of policies each.
    weights = [len([a for a in ns.apps if not a.system]) ** 1.5 for ns in nss]
    kinds = [(k, w) for k, w, _ in BROAD_POLICY_KINDS]
    once = {k for k, _, o in BROAD_POLICY_KINDS if o}
    free = {k: list(range(len(nss))) for k in sorted(once)}
    out = []
    while len(out) < n:
        kind = weighted(rng, kinds)
        if kind in once:
            cands = free[kind]
            if not cands:
                kind = "app-ingress"
            else:
                ns = nss[cands.pop(rng.randrange(len(cands)))]
        if kind not in once:
            ns = rng.choices(nss, weights=weights)[0]
        pol = make_kind_broad(ctx, rng, kind, ns)
        if pol is not None:
            out.append(pol)
    return out


# ---------------------------------------------------------------------------
# Shapes

def ns_object(ctx, rng, ns):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns.name, "uid": rand_uid(rng), "resourceVersion": ctx.next_rv(),
                         "labels": ns.labels},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def gen_realistic(args):
    rng = random.Random(args.seed)
    ctx = Ctx()
    k = args.namespaces if args.namespaces else max(4, round(args.pods / 50))
    if args.pods < 10:
        raise SystemExit("gen-cluster: --pods must be at least 10")
    make_namespaces(rng, ctx, k)
    nss = [ns_object(ctx, rng, ns) for ns in ctx.namespaces]
    pods = make_pods(rng, ctx, args.pods, args.nodes, node1_pods=args.node1_pods)
    pols = make_policies(rng, ctx, args.policies)
    return nss, pods, pols


def gen_broad(args):
    rng = random.Random(args.seed)
    ctx = Ctx()
    k = args.namespaces if args.namespaces else max(5, round(args.pods / 50))
    if args.pods < 10:
        raise SystemExit("gen-cluster: --pods must be at least 10")
    make_namespaces_broad(rng, ctx, k)
    nss = [ns_object(ctx, rng, ns) for ns in ctx.namespaces]
    pods = make_pods(rng, ctx, args.pods, args.nodes, extra_system=BROAD_SYSTEM_APPS,
                     node1_pods=args.node1_pods)
    pols = make_policies_broad(rng, ctx, args.policies)
    return nss, pods, pols


def gen_cross(args):
    rng = random.Random(args.seed)
    ctx = Ctx()
    ns = Namespace("cross", {"kubernetes.io/metadata.name": "cross"})
    ctx.add_ns(ns)
    pods = []
    ports = list(range(8080, 8080 + args.cross_ports))
    for role, count in (("dst", args.cross_dst), ("src", args.cross_src)):
        h = rand_hash(rng, 10)
        for i in range(count):
            pods.append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "%s-%s-%s" % (role, h, rand_hash(rng, 5)), "namespace": "cross",
                             "uid": rand_uid(rng), "resourceVersion": ctx.next_rv(),
                             "labels": {"app": role, "pod-template-hash": h}},
                "spec": {"containers": [{"name": role, "image": "registry.example.com/cross/%s:1.0.0" % role,
                                         "ports": [{"name": "p%d" % p, "containerPort": p, "protocol": "TCP"}
                                                   for p in (ports if role == "dst" else [])]}],
                         "restartPolicy": "Always", "nodeName": None},
                "status": {"phase": "Running"}})
    for p in pods:
        if not p["spec"]["containers"][0]["ports"]:
            del p["spec"]["containers"][0]["ports"]
    assign_nodes_and_ips(rng, pods, args.nodes, [i % args.nodes for i in range(len(pods))])
    pol = netpol(ctx, rng, "cross", "cross-product", {"matchLabels": {"app": "dst"}},
                 ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "src"}}}],
                           "ports": [{"protocol": "TCP", "port": p} for p in ports]}],
                 types=["Ingress"])
    return [ns_object(ctx, rng, ns)], pods, [pol]


# ---------------------------------------------------------------------------
# ClusterNetworkPolicy mix (--cnps N), and its NetworkPolicy rendering
# (--cnps-as np).  Written against the namespaces and pods already made, from
# a random.Random of its own: the rest of the cluster keeps its bytes.

CNP_KINDS = [
    # (kind, percent of N); the upstream user stories they follow are in
    # the module docstring.
    ("tenant", 25),
    ("deny-env", 15),
    ("shared-services", 15),
    ("pass-to-np", 10),
    ("deny-networks", 15),
    ("baseline-team", 20),
]
CNP_API = "policy.networking.k8s.io/v1alpha2"
CNP_MAX = 2000
METADATA_NETWORKS = ["169.254.169.254/32", "100.100.100.200/32", "fd00:ec2::254/128"]


def _cnp(name, tier, priority, subject, ingress=None, egress=None):
    spec = {"tier": tier, "priority": priority, "subject": subject}
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return {"apiVersion": CNP_API, "kind": "ClusterNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}


def _ns_sel(labels):
    return {"matchLabels": dict(labels)}


def make_cnps(items, n, seed):
    """N ClusterNetworkPolicies for the cluster 'items' (namespaces with
    team/env labels, as either mix makes them)."""
    if not 0 <= n <= CNP_MAX:
        raise SystemExit("gen-cluster: --cnps must be from 0 to %d" % CNP_MAX)
    rng = random.Random(seed * 1000003 + 7)
    nss = [it for it in items if it["kind"] == "Namespace"]
    labels = [it["metadata"].get("labels") or {} for it in nss]
    teams = sorted({l["team"] for l in labels if "team" in l})
    envs = sorted({l["env"] for l in labels if "env" in l})
    if not teams or not envs:
        raise SystemExit("gen-cluster: --cnps needs namespaces with team and env labels")
    # (namespace, app, [(port name, number, protocol)]) of application pods
    apps, seen = [], set()
    app_ns = {it["metadata"]["name"] for it, l in zip(nss, labels) if "team" in l and "env" in l}
    for it in items:
        if it["kind"] != "Pod" or it["metadata"]["namespace"] not in app_ns:
            continue
        app = (it["metadata"].get("labels") or {}).get("app")
        key = (it["metadata"]["namespace"], app)
        if app and key not in seen:
            seen.add(key)
            ports = [(p.get("name"), p["containerPort"], p.get("protocol", "TCP"))
                     for c in it["spec"]["containers"] for p in c.get("ports") or []]
            if ports:
                apps.append(key + (ports,))
    # Tenants: teams, then team x env once every team has one.
    tenants = [{"team": t} for t in teams] + [{"team": t, "env": e} for t in teams for e in envs]
    counters = {}
    out = []
    weights = [(k, w) for k, w in CNP_KINDS]
    for i in range(n):
        kind = weighted(rng, weights)
        j = counters[kind] = counters.get(kind, 0) + 1
        name = "%s-%d" % (kind, j)
        if kind == "tenant":
            # tenants.yaml's policy: own tenant passed to NetworkPolicy,
            # every other tenant denied (upstream story 4, one per tenant).
            t = tenants[(j - 1) % len(tenants)]
            name = "tenant-" + "-".join(t[k] for k in ("team", "env") if k in t)
            if j > len(tenants):
                name += "-%d" % j
            out.append(_cnp(name, "Admin", 0, {"namespaces": _ns_sel(t)}, ingress=[
                {"name": "same-tenant", "action": "Pass", "from": [{"namespaces": _ns_sel(t)}]},
                {"name": "other-tenants", "action": "Deny",
                 "from": [{"namespaces": {"matchExpressions": [
                     {"key": "team", "operator": "Exists"}]}}]}]))
        elif kind == "deny-env":
            # Story 1: production isolated from the dev and qa namespaces.
            subj = {"env": "prod"}
            if rng.random() < 0.7:
                subj["team"] = rng.choice(teams)
            low = {"matchExpressions": [{"key": "env", "operator": "In",
                                         "values": sorted({"dev", "qa"} & set(envs)) or envs[:1]}]}
            out.append(_cnp(name, "Admin", 0, {"namespaces": _ns_sel(subj)},
                            ingress=[{"name": "from-non-prod", "action": "Deny",
                                      "from": [{"namespaces": low}]}],
                            egress=[{"name": "to-non-prod", "action": "Deny",
                                     "to": [{"namespaces": low}]}]))
        elif kind == "shared-services":
            # Story 2: monitoring scrapes and DNS always work.
            subj = {} if rng.random() < 0.4 else _ns_sel({"env": rng.choice(envs)})
            scrape = ({"destinationNamedPort": "metrics"} if rng.random() < 0.5
                      else {"tcp": {"destinationPort": {"range": {"start": 9090, "end": 9199}}}})
            out.append(_cnp(name, "Admin", 0, {"namespaces": subj}, ingress=[
                {"name": "prometheus-scrapes", "action": "Accept",
                 "from": [{"pods": {"namespaceSelector": _ns_sel({"kubernetes.io/metadata.name": "monitoring"}),
                                    "podSelector": _ns_sel({"app": "prometheus"})}}],
                 "protocols": [scrape]}],
                egress=[{"name": "dns", "action": "Accept",
                         "to": [{"pods": {"namespaceSelector": _ns_sel({"kubernetes.io/metadata.name": "kube-system"}),
                                          "podSelector": _ns_sel({"k8s-app": "kube-dns"})}}],
                         "protocols": [{"udp": {"destinationPort": {"number": 53}}},
                                       {"tcp": {"destinationPort": {"number": 53}}}]}]))
        elif kind == "pass-to-np":
            # Story 3: one service's port delegated to NetworkPolicy, the
            # rest of its traffic from this team denied.
            ns, app, ports = rng.choice(apps)
            pname, number, proto = rng.choice(ports)
            peer = {"pods": {"namespaceSelector": _ns_sel({"kubernetes.io/metadata.name": ns}),
                             "podSelector": _ns_sel({"app": app})}}
            subj = _ns_sel({"team": rng.choice(teams)})
            out.append(_cnp(name, "Admin", 0, {"namespaces": subj}, egress=[
                {"name": "service-port", "action": "Pass", "to": [peer],
                 "protocols": [{proto.lower(): {"destinationPort": {"number": number}}}]},
                {"name": "rest-of-service", "action": "Deny", "to": [peer]}]))
        elif kind == "deny-networks":
            # Cloud metadata and an on-prem range out of reach, an office
            # range let through first.
            subj = {} if rng.random() < 0.3 else _ns_sel({"env": rng.choice(envs)})
            office = random_block(rng)[0]
            out.append(_cnp(name, "Admin", 0, {"namespaces": subj}, egress=[
                {"name": "office", "action": "Accept", "to": [{"networks": [office]}],
                 "protocols": [{"tcp": {"destinationPort": {"number": 443}}}]},
                {"name": "metadata-and-on-prem", "action": "Deny",
                 "to": [{"networks": METADATA_NETWORKS + [random_block(rng)[0]]}]}]))
        else:
            # Story 5, per team: a team's namespaces accept their own team
            # and nothing else unless a NetworkPolicy says so.
            team = teams[(j - 1) % len(teams)]
            out.append(_cnp(name, "Baseline", 0, {"namespaces": _ns_sel({"team": team})}, ingress=[
                {"name": "same-team", "action": "Accept",
                 "from": [{"namespaces": _ns_sel({"team": team})}]},
                {"name": "deny-the-rest", "action": "Deny", "from": [{"namespaces": {}}]}]))
    # Distinct priorities within a tier, in the order drawn, spread over
    # 0-1000 (the API leaves equal ones undefined).
    for tier in ("Admin", "Baseline"):
        mine = [c for c in out if c["spec"]["tier"] == tier]
        step = max(1, 1000 // max(1, len(mine)))
        for k, c in enumerate(mine):
            c["spec"]["priority"] = min(1000, k * step) if len(mine) <= 1001 else k % 1001
    return sorted(out, key=lambda c: c["metadata"]["name"])


def _np_port(pp):
    if "destinationNamedPort" in pp:
        return {"protocol": "TCP", "port": pp["destinationNamedPort"]}
    (proto, body), = pp.items()
    dp = body["destinationPort"]
    if "number" in dp:
        return {"protocol": proto.upper(), "port": dp["number"]}
    return {"protocol": proto.upper(), "port": dp["range"]["start"],
            "endPort": dp["range"]["end"]}


def _np_peer(peer):
    if "namespaces" in peer:
        return [{"namespaceSelector": peer["namespaces"]}]
    if "pods" in peer:
        return [{"namespaceSelector": peer["pods"]["namespaceSelector"],
                 "podSelector": peer["pods"]["podSelector"]}]
    return [{"ipBlock": {"cidr": c}} for c in peer["networks"]]


def cnps_as_netpols(items, cnps):
    """Each ClusterNetworkPolicy as NetworkPolicies: one in every namespace
    its subject selects, with every rule an allow rule of the same peers and
    ports.  The same selection and matching work, not the same meaning
    (NetworkPolicy cannot deny or pass, and isolates what it selects):
    what the flow count of a cluster-wide rule is without the tiers."""
    ns_labels = [(it["metadata"]["name"], it["metadata"].get("labels") or {})
                 for it in items if it["kind"] == "Namespace"]
    out = []
    for c in cnps:
        spec = c["spec"]
        subj = spec["subject"]
        nsel = subj["namespaces"] if "namespaces" in subj else subj["pods"]["namespaceSelector"]
        psel = subj["pods"]["podSelector"] if "pods" in subj else {}
        np_spec = {"podSelector": psel}
        types = []
        for direction, field, key in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
            if not spec.get(field):
                continue
            types.append(direction)
            rules = []
            for r in spec[field]:
                rule = {key: [p for peer in r[key] for p in _np_peer(peer)]}
                if r.get("protocols"):
                    rule["ports"] = [_np_port(pp) for pp in r["protocols"]]
                rules.append(rule)
            np_spec[field] = rules
        np_spec["policyTypes"] = types
        for ns, labels in ns_labels:
            if sel_match(nsel, labels):
                out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                            "metadata": {"name": "cnp-" + c["metadata"]["name"], "namespace": ns},
                            "spec": json.loads(json.dumps(np_spec))})
    return out


# ---------------------------------------------------------------------------
# The churn description (--churn, --churn-for): which events are expensive
# on a cluster file, of either mix.  A model of who selects whom, as
# src/compile.c resolves selectors and src/engine.c invalidates, in
# Python; bench/daemon_bench.py plays the events it lists.

SPARE_NET = "10.254"            # new pods' addresses: outside POD_NETWORK
RELABEL_KEYS = ("app", "role", "tier", "version", "app.kubernetes.io/name")
NS_RELABEL_KEYS = ("env", "team", "tier")


def sel_match(sel, labels):
    """Whether LabelSelector 'sel' (a dict; {} selects everything) selects
    'labels'."""
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and (k not in labels or labels[k] not in vals):
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def _skey(sel):
    return None if sel is None else json.dumps(sel, sort_keys=True, separators=(",", ":"))


def _pct(values, q):
    v = sorted(values)
    return v[int((len(v) - 1) * q)] if v else None


class ClusterModel:
    """Namespaces, pods and policies of a cluster List, with the questions
    the churn asks: which policies select a pod (podSelector, own
    namespace), which rules have it as a peer, which policies are active
    on 'node' (select one of its pods: only those get flows there)."""

    def __init__(self, items, node="node-1"):
        self.node = node
        self.ns_labels = {}
        self.pods, self.policies = [], []
        for it in items:
            kind, md = it.get("kind"), it.get("metadata") or {}
            if kind == "Namespace":
                labels = dict(md.get("labels") or {})
                labels["kubernetes.io/metadata.name"] = md["name"]
                self.ns_labels[md["name"]] = labels
            elif kind == "Pod":
                self.pods.append(it)
            elif kind == "NetworkPolicy":
                self.policies.append(it)
        self.pod_index = {}
        self.pods_by_ns = {}
        self.eligible, self.local = [], []
        for i, p in enumerate(self.pods):
            md, spec, st = p["metadata"], p.get("spec") or {}, p.get("status") or {}
            ns = md.get("namespace", "default")
            self.ns_labels.setdefault(ns, {"kubernetes.io/metadata.name": ns})
            self.pod_index[(ns, md["name"])] = i
            self.pods_by_ns.setdefault(ns, []).append(i)
            ok = (bool(st.get("podIP") or st.get("podIPs")) and not spec.get("hostNetwork")
                  and st.get("phase") not in ("Succeeded", "Failed"))
            self.eligible.append(ok)
            self.local.append(ok and spec.get("nodeName") == node)
        self.pols_by_ns = {}
        for j, np_ in enumerate(self.policies):
            self.pols_by_ns.setdefault(np_["metadata"].get("namespace", "default"), []).append(j)
        self._ns_cache, self._peer_cache = {}, {}
        self.active = [bool(self.selected_local(j)) for j in range(len(self.policies))]

    # -- objects -------------------------------------------------------
    def labels(self, i):
        return self.pods[i]["metadata"].get("labels") or {}

    def ns_of(self, i):
        return self.pods[i]["metadata"].get("namespace", "default")

    @staticmethod
    def pol_ns(np_):
        return np_["metadata"].get("namespace", "default")

    @staticmethod
    def has_rules(np_):
        s = np_["spec"]
        return bool(s.get("ingress")) or bool(s.get("egress"))

    @staticmethod
    def isolates(np_):
        """(ingress, egress) isolation, with the API's default policyTypes."""
        s = np_["spec"]
        types = s.get("policyTypes")
        if types is None:
            return True, bool(s.get("egress"))
        return "Ingress" in types, "Egress" in types

    def rules(self, j):
        """[(direction, index, rule)] of the directions policy j isolates."""
        np_ = self.policies[j]
        ing, egr = self.isolates(np_)
        out = []
        for d, key, on in (("ingress", "ingress", ing), ("egress", "egress", egr)):
            if on:
                out += [(d, r, rule) for r, rule in enumerate(np_["spec"].get(key) or [])]
        return out

    def selected_local(self, j, override=None):
        """Local eligible pods policy j selects; 'override' (index, labels)
        replaces one pod's labels."""
        np_ = self.policies[j]
        sel = np_["spec"].get("podSelector") or {}
        out = []
        for i in self.pods_by_ns.get(self.pol_ns(np_), []):
            if self.local[i]:
                lab = override[1] if override and override[0] == i else self.labels(i)
                if sel_match(sel, lab):
                    out.append(i)
        return out

    def selecting(self, ns, labels):
        """Names of the policies of 'ns' with rules whose podSelector selects
        'labels' (for a local pod: a change of this set changes flows)."""
        return frozenset(self.policies[j]["metadata"]["name"] for j in self.pols_by_ns.get(ns, [])
                         if self.has_rules(self.policies[j])
                         and sel_match(self.policies[j]["spec"].get("podSelector") or {}, labels))

    # -- peers ---------------------------------------------------------
    def ns_match(self, ns_sel):
        k = _skey(ns_sel)
        got = self._ns_cache.get(k)
        if got is None:
            got = self._ns_cache[k] = frozenset(n for n, l in self.ns_labels.items()
                                                if sel_match(ns_sel, l))
        return got

    def peer_pods(self, policy_ns, peer):
        """Eligible pods a pod peer selects (a tuple of indexes), cached by
        its selectors' text as compile.c's resolve_pods() does."""
        ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
        k = (_skey(ns_sel) if ns_sel is not None else "O" + policy_ns, _skey(pod_sel))
        got = self._peer_cache.get(k)
        if got is not None:
            return got
        nss = [policy_ns] if ns_sel is None else sorted(self.ns_match(ns_sel))
        out = []
        for n in nss:
            for i in self.pods_by_ns.get(n, []):
                if self.eligible[i] and (pod_sel is None or sel_match(pod_sel, self.labels(i))):
                    out.append(i)
        got = self._peer_cache[k] = tuple(sorted(out))
        return got

    def rule_peers(self, j, rule, direction):
        """The pods of a rule's pod peers (set); None for no peers (all)."""
        key = "from" if direction == "ingress" else "to"
        peers = rule.get(key)
        if not peers:
            return None
        out = set()
        for peer in peers:
            if "ipBlock" not in peer:
                out.update(self.peer_pods(self.pol_ns(self.policies[j]), peer))
        return out

    def peer_rule_counts(self):
        """Per pod: (rules whose peers select it, of them rules of policies
        active on the node)."""
        every, active = [0] * len(self.pods), [0] * len(self.pods)
        for j in range(len(self.policies)):
            for d, r, rule in self.rules(j):
                got = self.rule_peers(j, rule, d)
                for i in got or ():
                    every[i] += 1
                    if self.active[j]:
                        active[i] += 1
        return every, active

    def peer_matches(self, j, direction, rule, ns, labels):
        """Whether a pod of 'ns' with 'labels' is a peer of the rule."""
        key = "from" if direction == "ingress" else "to"
        for peer in rule.get(key) or ():
            if "ipBlock" in peer:
                continue
            ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
            ns_ok = (ns == self.pol_ns(self.policies[j]) if ns_sel is None
                     else ns in self.ns_match(ns_sel))
            if ns_ok and (pod_sel is None or sel_match(pod_sel, labels)):
                return True
        return False

    # -- what an event costs, as src/engine.c sees it --------------------
    def depends(self, j, ns, labels):
        """policy_depends_on_pod() of src/engine.c for a pod of 'ns' with
        'labels' (named ports behind an ipBlock left out: the generator's
        ipBlocks never hold pod addresses), and the reason."""
        np_ = self.policies[j]
        if self.pol_ns(np_) == ns:
            return "same-namespace"
        for d in ("ingress", "egress"):
            key = "from" if d == "ingress" else "to"
            for rule in np_["spec"].get(d) or []:
                if d == "egress" and not rule.get(key) and any(
                        isinstance(p.get("port"), str) for p in rule.get("ports") or []):
                    return "egress-named-port"
                if self.peer_matches(j, d, rule, ns, labels):
                    return "peer"
        return None

    def relabel_cost(self, i, key, value):
        """What relabelling pod i (key=value) does: the policies the engine
        compiles again (invalidated, and selecting a local pod afterwards),
        by reason; and the policies whose inputs change (a rule's peers, or
        the local pods it selects), active before or after."""
        ns, before = self.ns_of(i), self.labels(i)
        after = dict(before, **{key: value})
        reasons, changed = {}, 0
        for j in range(len(self.policies)):
            why = self.depends(j, ns, before) or self.depends(j, ns, after)
            if not why:
                continue
            active_after = bool(self.selected_local(j, (i, after)))
            if active_after:    # compile_policies() skips it otherwise
                reasons[why] = reasons.get(why, 0) + 1
            if not (active_after or self.active[j]):
                continue
            differs = False
            if self.local[i] and self.pol_ns(self.policies[j]) == ns:
                sel = self.policies[j]["spec"].get("podSelector") or {}
                differs = sel_match(sel, before) != sel_match(sel, after)
            for d, r, rule in self.rules(j):
                if differs:
                    break
                if self.eligible[i]:
                    differs = (self.peer_matches(j, d, rule, ns, before)
                               != self.peer_matches(j, d, rule, ns, after))
            changed += differs
        return {"recompiled": sum(reasons.values()), "by_reason": reasons, "inputs_changed": changed}

    def ns_policies_changed(self, name, key, value):
        """Active policies with a namespaceSelector peer that matches the
        namespace before or after a relabel (src/engine.c
        policy_depends_on_ns() has them compiled again), and of them those
        with a rule whose peer pods change: the match changes and a pod of
        the namespace fits the peer's podSelector."""
        before = self.ns_labels[name]
        after = dict(before, **{key: value})
        pods = [i for i in self.pods_by_ns.get(name, []) if self.eligible[i]]
        touched = changed = 0
        for j in range(len(self.policies)):
            if not self.active[j]:
                continue
            t = c = False
            for d, r, rule in self.rules(j):
                for peer in rule.get("from" if d == "ingress" else "to") or ():
                    s = peer.get("namespaceSelector")
                    if s is None or "ipBlock" in peer:
                        continue
                    b, a = sel_match(s, before), sel_match(s, after)
                    t = t or b or a
                    if b != a and not c:
                        ps = peer.get("podSelector")
                        c = any(ps is None or sel_match(ps, self.labels(i)) for i in pods)
            touched += t
            changed += c
        return touched, changed

    # -- shapes, for the self-test and the README ------------------------
    def shape_stats(self):
        every, active = self.peer_rule_counts()
        elig = [i for i in range(len(self.pods)) if self.eligible[i]]
        per_ns = [len(v) for v in self.pols_by_ns.values()]
        peers = {"same-namespace": 0, "namespace-by-name": 0, "namespaces-by-shared-label": 0,
                 "all-namespaces-with-pod-selector": 0, "all-namespaces": 0, "ipBlock": 0}
        sizes = []
        for j, np_ in enumerate(self.policies):
            for d, r, rule in self.rules(j):
                for peer in rule.get("from" if d == "ingress" else "to") or ():
                    if "ipBlock" in peer:
                        peers["ipBlock"] += 1
                        continue
                    s = peer.get("namespaceSelector")
                    if s is None:
                        peers["same-namespace"] += 1
                    elif s == {}:
                        peers["all-namespaces-with-pod-selector" if peer.get("podSelector") is not None
                              else "all-namespaces"] += 1
                    else:
                        keys = set((s.get("matchLabels") or {})) | {e["key"] for e in s.get("matchExpressions") or []}
                        peers["namespace-by-name" if keys == {"kubernetes.io/metadata.name"}
                              else "namespaces-by-shared-label"] += 1
                got = self.rule_peers(j, rule, d)
                if got is not None:
                    sizes.append(len(got))
        local = [i for i in range(len(self.pods)) if self.local[i]]
        return {
            "pods": len(self.pods), "namespaces": len(self.ns_labels), "policies": len(self.policies),
            "node": self.node, "local_pods": len(local),
            "policies_active_on_node": sum(self.active),
            "policies_per_namespace": {"max": max(per_ns or [0]), "p90": _pct(per_ns, 0.9),
                                       "mean": round(sum(per_ns) / max(1, len(per_ns)), 1),
                                       "namespaces_with_20_or_more": sum(1 for x in per_ns if x >= 20)},
            # What a pod event in its namespace invalidates (engine.c).
            "policies_in_a_pods_namespace": {
                "p50": _pct([len(self.pols_by_ns.get(self.ns_of(i), [])) for i in elig], 0.5),
                "p90": _pct([len(self.pols_by_ns.get(self.ns_of(i), [])) for i in elig], 0.9),
                "local_p50": _pct([len(self.pols_by_ns.get(self.ns_of(i), [])) for i in local], 0.5)},
            "pod_peers_by_shape": peers,
            "rule_peer_pods": {"rules": len(sizes), "p50": _pct(sizes, 0.5), "p90": _pct(sizes, 0.9),
                               "max": max(sizes or [0]),
                               "rules_with_100_or_more": sum(1 for x in sizes if x >= 100),
                               "rules_with_1000_or_more": sum(1 for x in sizes if x >= 1000)},
            "pod_peer_of_rules": {"p50": _pct([every[i] for i in elig], 0.5),
                                  "p99": _pct([every[i] for i in elig], 0.99),
                                  "max": max([every[i] for i in elig] or [0]),
                                  "pods_in_100_or_more": sum(1 for i in elig if every[i] >= 100)},
            "pod_peer_of_active_rules": {"p50": _pct([active[i] for i in elig], 0.5),
                                         "p99": _pct([active[i] for i in elig], 0.99),
                                         "max": max([active[i] for i in elig] or [0]),
                                         "pods_in_100_or_more": sum(1 for i in elig if active[i] >= 100)},
        }


def _relabel_for(m, i):
    """The first one-label change of pod i (keys in RELABEL_KEYS order,
    values from other pods of its namespace, sorted) that changes which of
    its namespace's policies with rules select it; None if there is none.
    (bench/daemon_bench.py's choice before the churn description.)"""
    ns, labels = m.ns_of(i), m.labels(i)
    before = m.selecting(ns, labels)
    for key in RELABEL_KEYS:
        values = sorted({m.labels(q).get(key) for q in m.pods_by_ns.get(ns, [])} - {None, labels.get(key)})
        for v in values:
            if m.selecting(ns, dict(labels, **{key: v})) != before:
                return key, v
    return None


def _any_relabel(m, i):
    ns, labels = m.ns_of(i), m.labels(i)
    values = sorted({m.labels(q).get("app") for q in m.pods_by_ns.get(ns, [])} - {None, labels.get("app")})
    return ("app", values[0]) if values else ("bench-relabel", "x")


def _peer_relabel_for(m, i):
    """The one-label change of pod i (keys in RELABEL_KEYS, values from its
    namespace) that moves it in or out of the most active rules' peers."""
    ns, labels = m.ns_of(i), m.labels(i)
    rules = [(j, d, rule) for j in range(len(m.policies)) if m.active[j] for d, r, rule in m.rules(j)]
    mine = [(j, d, rule) for j, d, rule in rules if m.peer_matches(j, d, rule, ns, labels)]
    best = None
    for key in RELABEL_KEYS:
        values = sorted({m.labels(q).get(key) for q in m.pods_by_ns.get(ns, [])} - {None, labels.get(key)})
        for v in values:
            after = dict(labels, **{key: v})
            n = sum(1 for j, d, rule in mine if not m.peer_matches(j, d, rule, ns, after))
            if best is None or n > best[0]:
                best = (n, key, v)
    return best, len(mine)


def churn_plan(items, node="node-1", seed=1, events=100, storm=1000, with_costs=True):
    """The events bench/daemon_bench.py plays on this cluster (see
    bench/README.md, "The churn description").  Deterministic."""
    m = ClusterModel(items, node)
    local = sorted((i for i in range(len(m.pods)) if m.pods[i]["spec"].get("nodeName") == node),
                   key=lambda i: (m.ns_of(i), m.pods[i]["metadata"]["name"]))
    if not local:
        raise SystemExit("gen-cluster: no pod on %s" % node)
    out = {"node": node, "seed": seed, "events": events}

    # Pods to add: copies of node-1 pods that policies with rules select.
    templates = [i for i in local if m.selecting(m.ns_of(i), m.labels(i))] or local
    used = {(p.get("status") or {}).get("podIP") for p in m.pods}
    if any(ip and ip.startswith(SPARE_NET + ".") for ip in used):
        raise SystemExit("gen-cluster: %s.0.0/16 is in use by the cluster" % SPARE_NET)
    adds = []
    for k in range(events):
        t = m.pods[templates[k % len(templates)]]
        ns = t["metadata"]["namespace"]
        ip = "%s.%d.%d" % (SPARE_NET, k // 250, k % 250 + 2)
        adds.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": "bench-add-%03d" % k, "namespace": ns,
                                  "labels": dict(t["metadata"].get("labels") or {})},
                     "spec": {"containers": t["spec"]["containers"], "nodeName": node},
                     "status": {"phase": "Running", "hostIP": t["status"].get("hostIP"),
                                "podIP": ip, "podIPs": [{"ip": ip}]}})
    out["pod_add"] = adds

    def ref(i, key, value):
        md = m.pods[i]["metadata"]
        r = {"namespace": md["namespace"], "name": md["name"], "key": key, "value": value,
             "old": (md.get("labels") or {}).get(key), "node": m.pods[i]["spec"].get("nodeName")}
        if with_costs:
            r["cost"] = m.relabel_cost(i, key, value)
        return r

    # Relabels of node-1 pods that change which policies select them.
    relabels = []
    for i in local:
        r = _relabel_for(m, i)
        if r:
            relabels.append((i, r[0], r[1]))
    n_pairs = max(1, (events + 1) // 2)
    out["pod_relabel"] = [ref(i, k, v) for i, k, v in relabels[:n_pairs]]
    out["local_relabel_candidates"] = len(relabels)

    # Relabels of the pods most rules have as a peer, moving them out of
    # as many peer sets as one label can.
    every, active = m.peer_rule_counts()
    top = sorted((i for i in range(len(m.pods)) if m.eligible[i]), key=lambda i: (-active[i], -every[i], i))
    peer = []
    for i in top:
        if len(peer) >= n_pairs:
            break
        best, n_mine = _peer_relabel_for(m, i)
        if best and best[0] > 0:
            r = ref(i, best[1], best[2])
            r.update(peer_of_rules=every[i], peer_of_active_rules=active[i], leaves_active_rules=best[0])
            peer.append(r)
    out["peer_relabel"] = peer

    # Namespace relabels (env, team or tier to a value other namespaces
    # have) that change the peers of the most active policies' rules:
    # namespaces in a seeded random order, each with its biggest change.
    rng = random.Random(seed)
    names = sorted(n for n in m.ns_labels if m.pods_by_ns.get(n))
    rng.shuffle(names)
    nsr = []
    for name in names:
        if len(nsr) >= n_pairs:
            break
        labels = m.ns_labels[name]
        best = None
        for key in NS_RELABEL_KEYS:
            if key not in labels:
                continue
            values = sorted({l.get(key) for l in m.ns_labels.values()} - {None, labels[key]})
            for v in values:
                touched, changed = m.ns_policies_changed(name, key, v)
                if changed and (best is None or changed > best[0]):
                    best = (changed, key, v, touched)
        if best:
            nsr.append({"name": name, "key": best[1], "value": best[2], "old": labels[best[1]],
                        "pods": len(m.pods_by_ns[name]), "active_policies_touched": best[3],
                        "active_policies_changed": best[0]})
    out["ns_relabel"] = nsr

    # Policies to add: select a node-1 pod's app, allow another app of its
    # namespace on a port of their own (narrow, as before); and the broad
    # kind: from the frontends of every prod namespace.
    pol_add, broad_add = [], []
    for k in range(events):
        t = m.pods[local[(k * 7) % len(local)]]
        ns = t["metadata"]["namespace"]
        app = (t["metadata"].get("labels") or {}).get("app")
        others = sorted({m.labels(q).get("app") for q in m.pods_by_ns[ns]} - {None, app}) or [app]
        pol_add.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": "bench-pol-%03d" % k, "namespace": ns},
                        "spec": {"podSelector": {"matchLabels": {"app": app}},
                                 "policyTypes": ["Ingress"],
                                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": others[k % len(others)]}}}],
                                              "ports": [{"protocol": "TCP", "port": 20000 + k}]}]}})
        broad_add.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                          "metadata": {"name": "bench-bpol-%03d" % k, "namespace": ns},
                          "spec": {"podSelector": {"matchLabels": {"app": app}},
                                   "policyTypes": ["Ingress"],
                                   "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}},
                                                          "podSelector": {"matchExpressions": [
                                                              {"key": "tier", "operator": "In",
                                                               "values": ["edge", "frontend"]}]}}],
                                                "ports": [{"protocol": "TCP", "port": 20000 + k}]}]}})
    out["policy_add"] = pol_add
    out["policy_add_broad"] = broad_add

    # The storm: every node-1 relabel above, then pods of other nodes.
    srng = random.Random(seed)
    st = relabels[:storm]
    taken = {i for i, _, _ in st}
    others = [i for i in range(len(m.pods)) if i not in taken and m.pods[i]["spec"].get("nodeName") != node]
    srng.shuffle(others)
    for i in others[:max(0, storm - len(st))]:
        k, v = _any_relabel(m, i)
        st.append((i, k, v))
    srng.shuffle(st)
    out["storm"] = [{"namespace": m.pods[i]["metadata"]["namespace"], "name": m.pods[i]["metadata"]["name"],
                     "key": k, "value": v, "node": m.pods[i]["spec"].get("nodeName")} for i, k, v in st]
    out["shapes"] = m.shape_stats()
    return out


# ---------------------------------------------------------------------------
# Validation, as the API server validates (apimachinery + networking v1)

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUB = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QNAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def _label_key_ok(k):
    if "/" in k:
        prefix, name = k.split("/", 1)
        if not prefix or len(prefix) > 253 or not DNS1123_SUB.match(prefix):
            return False
    else:
        name = k
    return 0 < len(name) <= 63 and QNAME.match(name) is not None


def _label_value_ok(v):
    return isinstance(v, str) and (v == "" or (len(v) <= 63 and QNAME.match(v) is not None))


def _port_name_ok(s):
    # IANA_SVC_NAME (validation.IsValidPortName)
    return (isinstance(s, str) and 0 < len(s) <= 15 and re.fullmatch(r"[-a-z0-9]+", s) is not None
            and re.search(r"[a-z]", s) is not None and "--" not in s
            and not s.startswith("-") and not s.endswith("-"))


def _check_labels(errs, where, labels):
    for k, v in (labels or {}).items():
        if not _label_key_ok(k):
            errs.append("%s: invalid label key %r" % (where, k))
        if not _label_value_ok(v):
            errs.append("%s: invalid label value %r" % (where, v))


def _check_selector(errs, where, sel):
    if not isinstance(sel, dict):
        errs.append("%s: not an object" % where)
        return
    for k in sel:
        if k not in ("matchLabels", "matchExpressions"):
            errs.append("%s: unknown field %s" % (where, k))
    _check_labels(errs, where + ".matchLabels", sel.get("matchLabels"))
    for i, e in enumerate(sel.get("matchExpressions") or []):
        w = "%s.matchExpressions[%d]" % (where, i)
        if not _label_key_ok(e.get("key", "")):
            errs.append("%s.key: invalid" % w)
        op, vals = e.get("operator"), e.get("values") or []
        if op in ("In", "NotIn"):
            if not vals:
                errs.append("%s.values: must be specified for In/NotIn" % w)
        elif op in ("Exists", "DoesNotExist"):
            if vals:
                errs.append("%s.values: must be empty for Exists/DoesNotExist" % w)
        else:
            errs.append("%s.operator: %r is not valid" % (w, op))
        for v in vals:
            if not _label_value_ok(v):
                errs.append("%s.values: invalid %r" % (w, v))


def _check_policy(errs, pol):
    md = pol.get("metadata") or {}
    where = "NetworkPolicy %s/%s" % (md.get("namespace"), md.get("name"))
    if pol.get("apiVersion") != "networking.k8s.io/v1":
        errs.append("%s: apiVersion %r" % (where, pol.get("apiVersion")))
    name = md.get("name") or ""
    if not (0 < len(name) <= 253 and DNS1123_SUB.match(name)):
        errs.append("%s: metadata.name is not a DNS subdomain" % where)
    if not name_ok_label(md.get("namespace") or ""):
        errs.append("%s: metadata.namespace is not a DNS label" % where)
    spec = pol.get("spec")
    if not isinstance(spec, dict) or "podSelector" not in spec:
        errs.append("%s: spec.podSelector is required" % where)
        return
    for k in spec:
        if k not in ("podSelector", "ingress", "egress", "policyTypes"):
            errs.append("%s: spec: unknown field %s" % (where, k))
    _check_selector(errs, where + ": spec.podSelector", spec["podSelector"])
    types = spec.get("policyTypes")
    if types is not None:
        if len(types) > 2 or len(set(types)) != len(types):
            errs.append("%s: spec.policyTypes: too many or duplicates" % where)
        for t in types:
            if t not in ("Ingress", "Egress"):
                errs.append("%s: spec.policyTypes: %r" % (where, t))
    for gress, pkey in (("ingress", "from"), ("egress", "to")):
        for ri, rule in enumerate(spec.get(gress) or []):
            w = "%s: spec.%s[%d]" % (where, gress, ri)
            for k in rule:
                if k not in (pkey, "ports"):
                    errs.append("%s: unknown field %s" % (w, k))
            for pi, p in enumerate(rule.get("ports") or []):
                pw = "%s.ports[%d]" % (w, pi)
                proto = p.get("protocol", "TCP")
                if proto not in ("TCP", "UDP", "SCTP"):
                    errs.append("%s.protocol: %r" % (pw, proto))
                port = p.get("port")
                if isinstance(port, bool):
                    errs.append("%s.port: boolean" % pw)
                elif isinstance(port, int):
                    if not 1 <= port <= 65535:
                        errs.append("%s.port: %d out of range" % (pw, port))
                elif port is not None and not _port_name_ok(port):
                    errs.append("%s.port: %r is not a valid port name" % (pw, port))
                if "endPort" in p:
                    ep = p["endPort"]
                    if not isinstance(port, int):
                        errs.append("%s.endPort: needs a numeric port" % pw)
                    elif not isinstance(ep, int) or ep < port or ep > 65535:
                        errs.append("%s.endPort: %r must be >= port and <= 65535" % (pw, ep))
            for qi, peer in enumerate(rule.get(pkey) or []):
                qw = "%s.%s[%d]" % (w, pkey, qi)
                keys = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(k) is not None]
                for k in peer:
                    if k not in ("podSelector", "namespaceSelector", "ipBlock"):
                        errs.append("%s: unknown field %s" % (qw, k))
                if not keys:
                    errs.append("%s: must specify a peer" % qw)
                elif "ipBlock" in keys and len(keys) > 1:
                    errs.append("%s: may not specify both ipBlock and another peer" % qw)
                for k in ("podSelector", "namespaceSelector"):
                    if peer.get(k) is not None:
                        _check_selector(errs, "%s.%s" % (qw, k), peer[k])
                blk = peer.get("ipBlock")
                if blk is not None:
                    try:
                        net = ipaddress.ip_network(blk.get("cidr", ""), strict=False)
                    except ValueError:
                        errs.append("%s.ipBlock.cidr: %r is not a CIDR" % (qw, blk.get("cidr")))
                        continue
                    for ei, e in enumerate(blk.get("except") or []):
                        try:
                            en = ipaddress.ip_network(e, strict=False)
                        except ValueError:
                            errs.append("%s.ipBlock.except[%d]: %r is not a CIDR" % (qw, ei, e))
                            continue
                        if en.version != net.version or not (en.subnet_of(net) and en.prefixlen > net.prefixlen):
                            errs.append("%s.ipBlock.except[%d]: %s must be a strict subset of %s"
                                        % (qw, ei, e, blk["cidr"]))


def _check_cnp(errs, c):
    """The CRD's schema and CEL rules (v0.2.0) for what --cnps writes."""
    md = c.get("metadata") or {}
    where = "ClusterNetworkPolicy %s" % md.get("name")
    if c.get("apiVersion") != CNP_API:
        errs.append("%s: apiVersion %r" % (where, c.get("apiVersion")))
    if not DNS1123_SUB.match(md.get("name") or "") or "namespace" in md:
        errs.append("%s: bad metadata" % where)
    spec = c.get("spec") or {}
    if spec.get("tier") not in ("Admin", "Baseline"):
        errs.append("%s: tier %r" % (where, spec.get("tier")))
    if not isinstance(spec.get("priority"), int) or not 0 <= spec["priority"] <= 1000:
        errs.append("%s: priority %r" % (where, spec.get("priority")))
    subj = spec.get("subject") or {}
    if len(subj) != 1 or next(iter(subj)) not in ("namespaces", "pods"):
        errs.append("%s: subject must have exactly one of namespaces, pods" % where)
    if not spec.get("ingress") and not spec.get("egress"):
        errs.append("%s: no rules" % where)
    for field, key, kinds in (("ingress", "from", ("namespaces", "pods")),
                              ("egress", "to", ("namespaces", "pods", "networks"))):
        rules = spec.get(field) or []
        if len(rules) > 25:
            errs.append("%s: %s: more than 25 rules" % (where, field))
        for i, r in enumerate(rules):
            w = "%s: %s[%d]" % (where, field, i)
            if r.get("action") not in ("Accept", "Deny", "Pass"):
                errs.append("%s: action %r" % (w, r.get("action")))
            if len(r.get("name", "")) > 100:
                errs.append("%s: name longer than 100" % w)
            peers = r.get(key) or []
            if not 1 <= len(peers) <= 25:
                errs.append("%s: %s: 1 to 25 peers" % (w, key))
            for peer in peers:
                if len(peer) != 1 or next(iter(peer)) not in kinds:
                    errs.append("%s: peer %r" % (w, peer))
                elif "networks" in peer:
                    for n in peer["networks"]:
                        try:
                            ipaddress.ip_network(n)
                        except ValueError:
                            errs.append("%s: network %r" % (w, n))
                else:
                    sels = (peer["pods"] if "pods" in peer else {"namespaceSelector": peer["namespaces"]})
                    for k, sel in sels.items():
                        _check_selector(errs, "%s: %s" % (w, k), sel)
            for pp in r.get("protocols") or []:
                if len(pp) != 1 or next(iter(pp)) not in ("tcp", "udp", "sctp", "destinationNamedPort"):
                    errs.append("%s: protocol %r" % (w, pp))
                elif "destinationNamedPort" in pp and any("networks" in p for p in peers):
                    errs.append("%s: destinationNamedPort with a networks peer" % w)


def validate_items(items):
    """Returns a list of error messages (empty when every object is valid)."""
    errs = []
    ips = {}
    seen = {}
    ns_names = {}
    for it in items:
        kind = it.get("kind")
        md = it.get("metadata") or {}
        key = (kind, md.get("namespace"), md.get("name"))
        if key in seen:
            errs.append("%s %s/%s: duplicate" % key)
        seen[key] = True
        if kind == "Namespace":
            if not name_ok_label(md.get("name", "")):
                errs.append("Namespace %r: name is not a DNS label" % md.get("name"))
            _check_labels(errs, "Namespace %s" % md.get("name"), md.get("labels"))
            ns_names[md.get("name")] = True
        elif kind == "Pod":
            where = "Pod %s/%s" % (md.get("namespace"), md.get("name"))
            name = md.get("name") or ""
            if not (0 < len(name) <= 253 and DNS1123_SUB.match(name)):
                errs.append("%s: name is not a DNS subdomain" % where)
            _check_labels(errs, where, md.get("labels"))
            spec, st = it.get("spec") or {}, it.get("status") or {}
            cnames, pnames = {}, {}
            for c in spec.get("containers") or []:
                if not name_ok_label(c.get("name", "")) or c["name"] in cnames:
                    errs.append("%s: container name %r invalid or duplicate" % (where, c.get("name")))
                cnames[c.get("name")] = True
                for p in c.get("ports") or []:
                    if not 1 <= p.get("containerPort", 0) <= 65535:
                        errs.append("%s: containerPort %r" % (where, p.get("containerPort")))
                    if p.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                        errs.append("%s: protocol %r" % (where, p.get("protocol")))
                    if "name" in p:
                        if not _port_name_ok(p["name"]) or p["name"] in pnames:
                            errs.append("%s: port name %r invalid or duplicate" % (where, p["name"]))
                        pnames[p["name"]] = True
            if not spec.get("containers"):
                errs.append("%s: no containers" % where)
            ip = st.get("podIP")
            if ip:
                try:
                    ipaddress.ip_address(ip)
                except ValueError:
                    errs.append("%s: podIP %r" % (where, ip))
                if ip in ips and not spec.get("hostNetwork"):
                    errs.append("%s: podIP %s also used by %s" % (where, ip, ips[ip]))
                ips[ip] = where
        elif kind == "NetworkPolicy":
            _check_policy(errs, it)
        elif kind == "ClusterNetworkPolicy":
            _check_cnp(errs, it)
        else:
            errs.append("unexpected kind %r" % kind)
    for it in items:
        ns = (it.get("metadata") or {}).get("namespace")
        if ns is not None and ns not in ns_names:
            errs.append("%s %s/%s: namespace has no Namespace object"
                        % (it.get("kind"), ns, it["metadata"].get("name")))
    return errs


# ---------------------------------------------------------------------------

def write_list(f, items):
    f.write('{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[\n')
    last = len(items) - 1
    for i, it in enumerate(items):
        f.write(json.dumps(it, separators=(",", ":")))
        f.write(",\n" if i < last else "\n")
    f.write("]}\n")


def summary(items):
    counts = {"namespaces": 0, "pods": 0, "policies": 0}
    names = {"Namespace": "namespaces", "Pod": "pods", "NetworkPolicy": "policies",
             "ClusterNetworkPolicy": "cnps"}
    for it in items:
        k = names[it["kind"]]
        counts[k] = counts.get(k, 0) + 1
    return counts


def write_churn(args, items, path):
    if args.churn_events < 2 or args.churn_storm < 0:
        raise SystemExit("gen-cluster: --churn-events must be at least 2, --churn-storm at least 0")
    plan = churn_plan(items, args.churn_node, args.seed, args.churn_events, args.churn_storm)
    text = json.dumps(plan, sort_keys=True, separators=(",", ":")) + "\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w") as f:
            f.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring (--help-mix) for the policy mix.")
    ap.add_argument("--preset", choices=sorted(PRESETS), help="pods/policies/nodes: " + ", ".join(
        "%s=%d/%d/%d" % (k, v["pods"], v["policies"], v["nodes"]) for k, v in PRESETS.items()))
    ap.add_argument("--pods", type=int, help="pods (default 1000)")
    ap.add_argument("--policies", type=int, help="NetworkPolicies (default pods/10)")
    ap.add_argument("--namespaces", type=int, help="namespaces, system ones included (default max(4, pods/50))")
    ap.add_argument("--nodes", type=int, help="nodes node-1..node-N (default ceil(pods/200); cross: 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shape", choices=("realistic", "cross"), default="realistic")
    ap.add_argument("--mix", choices=("old", "broad"), default="old",
                    help="realistic shape's policy mix: old (the default, unchanged) or broad "
                         "(peers by shared namespace labels, hubs; see --help-mix)")
    ap.add_argument("--node1-pods", type=int,
                    help="exactly this many pods on node-1, the rest spread over the other nodes "
                         "(default: at random; with --mix broad, presets medium and large: "
                         "200 and 250)")
    ap.add_argument("--cross-dst", type=int, default=100, help="cross: destination pods (100)")
    ap.add_argument("--cross-src", type=int, default=1000, help="cross: source pods (1000)")
    ap.add_argument("--cross-ports", type=int, default=10, help="cross: ports (10)")
    ap.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    ap.add_argument("--meta", help="also write {preset, params, counts} here (for the OVN peer)")
    ap.add_argument("--validate", metavar="FILE", help="only validate FILE (a List) and exit 0/1")
    ap.add_argument("--ports-for", metavar="FILE",
                    help="only write an `ovs-netpol compile --ports` file for FILE's pods to -o: "
                         "\"namespace/pod OFPORT\" lines, OFPORT 1, 2, ... in file order")
    ap.add_argument("--ports-node", metavar="NAME", help="with --ports-for: only the pods on NAME")
    ap.add_argument("--churn", metavar="FILE",
                    help="also write the churn description of the generated cluster here")
    ap.add_argument("--churn-for", metavar="FILE",
                    help="only write the churn description of cluster FILE (either mix) to -o")
    ap.add_argument("--churn-node", default="node-1", help="churn: the node measured (node-1)")
    ap.add_argument("--churn-events", type=int, default=100,
                    help="churn: events per single-event series (100)")
    ap.add_argument("--churn-storm", type=int, default=1000, help="churn: relabels in the storm (1000)")
    ap.add_argument("--cnps", type=int, default=0,
                    help="also N ClusterNetworkPolicies (policy.networking.k8s.io/v1alpha2; "
                         "the mix is in --help-mix); the rest of the cluster keeps its bytes")
    ap.add_argument("--cnps-as", choices=("cnp", "np"), default="cnp",
                    help="np: write the --cnps policies as NetworkPolicies instead, one per "
                         "namespace each subject selects, every rule an allow rule (for flow "
                         "counts side by side)")
    ap.add_argument("--help-mix", action="store_true", help="print the documented mix and exit")
    args = ap.parse_args(argv)

    if args.help_mix:
        print(__doc__)
        return 0
    if args.validate:
        with open(args.validate) as f:
            doc = json.load(f)
        items = doc["items"] if isinstance(doc, dict) else doc
        errs = validate_items(items)
        for e in errs[:50]:
            print(e, file=sys.stderr)
        print(json.dumps(dict(summary(items), errors=len(errs))))
        return 1 if errs else 0

    if args.churn_for:
        with open(args.churn_for) as f:
            doc = json.load(f)
        items = doc["items"] if isinstance(doc, dict) else doc
        write_churn(args, items, args.output)
        return 0

    if args.ports_for:
        with open(args.ports_for) as f:
            doc = json.load(f)
        items = doc["items"] if isinstance(doc, dict) else doc
        out = sys.stdout if args.output == "-" else open(args.output, "w")
        n = 0
        for it in items:
            if it.get("kind") != "Pod":
                continue
            if args.ports_node and (it.get("spec") or {}).get("nodeName") != args.ports_node:
                continue
            n += 1
            out.write("%s/%s %d\n" % (it["metadata"]["namespace"], it["metadata"]["name"], n))
        if out is not sys.stdout:
            out.close()
        return 0

    p = dict(PRESETS[args.preset]) if args.preset else {}
    if args.pods is not None:
        p["pods"] = args.pods
    if args.policies is not None:
        p["policies"] = args.policies
    if args.nodes is not None:
        p["nodes"] = args.nodes
    args.pods = p.get("pods", 1000)
    args.policies = p.get("policies", args.pods // 10)
    if args.node1_pods is None and args.mix == "broad" and args.shape == "realistic":
        args.node1_pods = BROAD_NODE1.get(args.preset)
    if args.node1_pods is not None and args.node1_pods < 0:
        raise SystemExit("gen-cluster: bad --node1-pods")
    if args.shape == "cross":
        args.nodes = p.get("nodes", 1) if args.nodes is not None else 1
        if args.cross_dst < 1 or args.cross_src < 1 or not 1 <= args.cross_ports <= 1000:
            raise SystemExit("gen-cluster: bad --cross-* sizes")
        nss, pods, pols = gen_cross(args)
    else:
        args.nodes = p.get("nodes") or max(1, math.ceil(args.pods / 200))
        if args.nodes < 1 or args.policies < 0:
            raise SystemExit("gen-cluster: bad sizes")
        nss, pods, pols = (gen_broad if args.mix == "broad" else gen_realistic)(args)
    key = lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
    items = nss + sorted(pods, key=key) + sorted(pols, key=key)
    if args.cnps:
        cnps = make_cnps(items, args.cnps, args.seed)
        if args.cnps_as == "np":
            items = nss + sorted(pods, key=key) + sorted(pols + cnps_as_netpols(items, cnps), key=key)
        else:
            items += cnps
    if args.output == "-":
        write_list(sys.stdout, items)
    else:
        with open(args.output, "w") as f:
            write_list(f, items)
    if args.churn:
        write_churn(args, items, args.churn)
    if args.meta:
        counts = summary(items)
        meta = {"preset": args.preset or args.shape, "generator": "bench/gen_cluster.py",
                "params": {"shape": args.shape, "pods": args.pods, "policies": args.policies,
                           "namespaces": counts["namespaces"], "nodes": args.nodes, "seed": args.seed,
                           "rules_per_policy": 2, "peers_per_rule": 3, "ports_per_rule": 3},
                "counts": counts}
        if args.cnps:
            meta["params"].update(cnps=args.cnps, cnps_as=args.cnps_as)
        if args.mix != "old" or args.node1_pods is not None:
            # Only then: the old mix's meta keeps its bytes too.
            meta["params"].update(mix=args.mix, node1_pods=args.node1_pods)
        with open(args.meta, "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
