#!/usr/bin/env python3
"""End-to-end: ovs-netpold following the API server stand-in, driven by the
real kubectl, judged with real TCP packets on a sandbox switch.

The cluster is deploy/examples/cluster.yaml (namespaces default, myproject
(project=myproject) and other; six pods on node-1, each listening on TCP
6379 and 5978) and the policies are deploy/examples/test-network-policy.yaml
and default-deny-other.yaml, then invalid-allow, which the API server
stand-in accepts and ovs-netpold rejects (steps f to g: fail-closed, with
the status line 'fail-closed policies' checked too, and the Kubernetes
Events ovs-netpold writes about it: one per invalid version, none more after
a forced relist (410 Gone) and a recompute).  After the steps the daemon is
restarted with --max-policy-flows 20 and two more policies get one
TooManyFlows and one UnresolvedNamedPort Event each.  Before that, the
audit log through the API: `kubectl annotate namespace other
ovs-netpol.io/audit=deny` makes a denied probe into it one line in the
daemon's audit log (where the DaemonSet puts it), with no restart.  The
stand-in serves no ClusterNetworkPolicy CRD at the start: the daemon says so
once, at INFO, and is synced; at the end the CRD is applied while it runs,
and an Admin ClusterNetworkPolicy is applied, patched, patched invalid,
deleted, applied again, then the CRD deleted (check_cnp()).  Every step changes the cluster with kubectl,
then runs `ovs-netpol sync --timeout 10`, waits for the port bindings of
the spoof guard, purges the datapath flow cache and flushes conntrack
(`ovs-appctl revalidator/purge`, `dpctl/flush-conntrack`, as
tests/e2e/run-cases.py does after every table load), and probes the whole
matrix (every pod to every other pod on both ports), every probe from a
source port never used before in the run.  The expected verdicts of every
step are written out by hand below (EXPECT_*), with the reasons.

Per step it prints the commands, the timings (kubectl's own run time, the
time from kubectl returning to `sync` returning, and when the daemon logged
its flow commit relative to kubectl returning), the probes of interest
(those named for the step and every one whose expected verdict changed
from the previous step; -v: all) and mismatches; at the end a table of the
timings and "N passed, M failed" (probes).  Exit status 0 when every probe
gave its expected verdict.

Python standard library only; needs root.  See tests/kube-e2e/kubebed.py
for the bed and its environment variables.
"""

import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubebed  # noqa: E402

TOP = kubebed.TOP
EX = "deploy/examples"

DB, FE, BE = "default/db", "default/frontend", "default/backend"
CL, ME, WE = "myproject/client", "other/metrics", "other/web"
DB2 = "default/db2"                 # added in step (e)
PODS6 = [DB, FE, BE, CL, ME, WE]
PODS7 = PODS6 + [DB2]
PORTS = (6379, 5978)                # every pod listens on both
OTHER = {ME, WE}

# The pod step (e) adds: like default/db (role=db), in 172.17.0.0/16 outside
# the excepted 172.17.1.0/24.
DB2_POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "db2", "namespace": "default",
                 "labels": {"role": "db"}},
    "spec": {"nodeName": kubebed.NODE, "containers": [{
        "name": "redis", "image": "redis",
        "ports": [{"name": "redis", "containerPort": 6379},
                  {"name": "extra", "containerPort": 5978}]}]},
    "status": {"phase": "Running", "podIP": "172.17.0.13",
               "podIPs": [{"ip": "172.17.0.13"}]},
}


def every(srcs, dsts, ports=PORTS):
    return {(s, d, p) for s in srcs for d in dsts if s != d for p in ports}


# ---- the expected verdicts, by hand: the set of DENIED probes per step -----
# (every probe not in the set must connect)

# Step 1, cluster.yaml only: no policy selects any pod, nothing is isolated.
EXPECT_CLUSTER = set()

# Step 2, (a): test-network-policy (namespace default, podSelector role=db)
# and same-namespace-only (namespace other, podSelector {}).
EXPECT_A = (
    # default/db is isolated for ingress; the only ingress rule is TCP 6379,
    # so nobody reaches db:5978 ...
    every(PODS6, [DB], [5978])
    # ... and on 6379 the peers are (OR) ipBlock 172.17.0.0/16 except
    # 172.17.1.0/24, namespaces labelled project=myproject, pods of default
    # with role=frontend:
    #   frontend 172.17.0.11, role=frontend          -> allowed (both peers)
    #   client   192.168.5.20, namespace myproject   -> allowed (namespace)
    #   backend  172.17.1.12 is in the excepted /24, role=backend, and
    #            namespace default has no project label -> DENIED
    #   metrics 10.0.0.5 and web 10.1.0.6: outside 172.17.0.0/16, namespace
    #            other unlabelled, not in default        -> DENIED
    | {(BE, DB, 6379), (ME, DB, 6379), (WE, DB, 6379)}
    # default/db is isolated for egress too: only 10.0.0.0/24 TCP 5978 may
    # leave it, i.e. of all pods only metrics (10.0.0.5) on 5978 -- and that
    # one is refused by metrics' own ingress (same-namespace-only: db is not
    # in namespace other).  So every connection from db is denied.
    | every([DB], PODS6)
    # same-namespace-only: the pods of other accept only pods of other.
    | every([DB, FE, BE, CL], OTHER)
    # Not denied: other -> default/myproject (other's policy is ingress
    # only), metrics <-> web, and everything among frontend, backend, client.
)

# Step 3, (b): backend relabelled role=frontend: now the podSelector peer
# role=frontend matches it (peers are ORed; the ipBlock except no longer
# matters), so backend -> db:6379 connects.  db:5978 stays closed to it.
EXPECT_B = EXPECT_A - {(BE, DB, 6379)}

# Step 4, (b'): backend back to role=backend: denied again, as in (a).
EXPECT_B2 = set(EXPECT_A)

# Step 5, (c): namespace other labelled project=myproject: the
# namespaceSelector peer now admits other's pods to db:6379.  Nothing else
# changes: same-namespace-only has a bare podSelector (its own namespace),
# so db -> metrics:5978 stays denied.
EXPECT_C = EXPECT_A - {(ME, DB, 6379), (WE, DB, 6379)}

# Step 6, (e): a new pod default/db2 (role=db, 172.17.0.13) is selected by
# test-network-policy at once, just like db (with other labelled since (c)):
EXPECT_E = (
    EXPECT_C
    | every(PODS7, [DB2], [5978])        # ingress is 6379 only
    | {(BE, DB2, 6379)}                   # excepted /24, role=backend
    # frontend, client, metrics, web -> db2:6379 connect (frontend: pod and
    # ipBlock peer; client, metrics, web: namespace peer)
    | every([DB2], PODS7)                 # db2's egress: as db's, all denied
    | every([DB], [DB2])                  # db's egress (db2's ingress would
                                          # admit db on 6379: in the ipBlock)
    # db2 -> other is denied by db2's egress anyway (and other's ingress).
)

# Step 7, (d): test-network-policy deleted: db and db2 are not isolated any
# more, in either direction; only same-namespace-only remains.
EXPECT_D = every([DB, DB2, FE, BE, CL], OTHER)

# Step 8, (d'): same-namespace-only deleted as well: everything connects.
EXPECT_D2 = set()

# Step 9, (f): a new policy that the API server stand-in accepts and we
# reject (its cidr 0.0.0.0/33 has a prefix beyond 32; the stand-in does not
# check CIDRs): never valid, so its fail-closed stand-in isolates the pods it
# selects, role=db (db and db2), for ingress with no rules.  Nothing reaches
# them; their own egress is not isolated.
INVALID_NP = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "invalid-allow", "namespace": "default"},
    "spec": {"podSelector": {"matchLabels": {"role": "db"}},
             "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/33"}}]}]},
}
EXPECT_F = every(PODS7, [DB, DB2])

# Step 10, (f'): fixed to 0.0.0.0/0: its rule admits every pod again.
FIXED_NP = json.loads(json.dumps(INVALID_NP))
FIXED_NP["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"] = "0.0.0.0/0"
EXPECT_F2 = set()

# Step 11, (f''): made invalid again: its last valid version (0.0.0.0/0)
# stays, not the stand-in.
EXPECT_F3 = set()

# Step 12, (g): deleted.
EXPECT_G = set()


def steps(db2_file, invalid_file, fixed_file):
    """(name, title, kubectl argument lists, pods to plug in after kubectl,
    expected denied set, pods probed, focus probes with their reasons, and
    what the status line 'fail-closed policies' must say, or None)."""
    return [
        ("cluster", "cluster.yaml, no policy",
         [["apply", "-f", EX + "/cluster.yaml"]], [], EXPECT_CLUSTER, PODS6,
         [((FE, DB, 6379), "no policy"), ((BE, DB, 6379), "no policy"),
          ((DB, ME, 5978), "no policy")]),
        ("a", "(a) the example policies applied",
         [["apply", "-f", EX + "/test-network-policy.yaml",
           "-f", EX + "/default-deny-other.yaml"]], [], EXPECT_A, PODS6,
         [((FE, DB, 6379), "role=frontend pod peer, and in 172.17.0.0/16"),
          ((CL, DB, 6379), "namespace myproject has project=myproject"),
          ((BE, DB, 6379), "172.17.1.12 is in the excepted 172.17.1.0/24"),
          ((ME, DB, 6379), "10.0.0.5: no peer matches"),
          ((FE, DB, 5978), "db's ingress rule is TCP 6379 only"),
          ((DB, ME, 5978), "db's egress allows it; other's ingress refuses"),
          ((DB, FE, 6379), "db's egress: 10.0.0.0/24:5978 only"),
          ((FE, ME, 6379), "other accepts only its own pods"),
          ((ME, WE, 6379), "same namespace"),
          ((ME, FE, 6379), "other's policy is ingress-only")]),
        ("b", "(b) pod relabel: backend -> role=frontend",
         [["label", "pod", "backend", "-n", "default", "role=frontend",
           "--overwrite"]], [], EXPECT_B, PODS6,
         [((BE, DB, 6379), "backend now matches the role=frontend peer"),
          ((BE, DB, 5978), "still not the ingress port")]),
        ("b'", "(b') pod relabel back: backend -> role=backend",
         [["label", "pod", "backend", "-n", "default", "role=backend",
           "--overwrite"]], [], EXPECT_B2, PODS6,
         [((BE, DB, 6379), "excepted CIDR again, no peer matches")]),
        ("c", "(c) namespace relabel: other gets project=myproject",
         [["label", "ns", "other", "project=myproject"]], [], EXPECT_C, PODS6,
         [((ME, DB, 6379), "namespaceSelector project=myproject"),
          ((WE, DB, 6379), "namespaceSelector project=myproject"),
          ((DB, ME, 5978), "same-namespace-only ignores namespace labels"),
          ((FE, WE, 6379), "same-namespace-only ignores namespace labels")]),
        ("e", "(e) a new pod default/db2 (role=db) applied and plugged in",
         [["apply", "-f", db2_file]], [DB2_POD], EXPECT_E, PODS7,
         [((BE, DB2, 6379), "new role=db pod isolated at once; excepted CIDR"),
          ((FE, DB2, 6379), "role=frontend peer"),
          ((ME, DB2, 6379), "namespace other labelled in (c)"),
          ((FE, DB2, 5978), "ingress is 6379 only"),
          ((DB2, FE, 6379), "db2's egress: 10.0.0.0/24:5978 only"),
          ((DB, DB2, 6379), "db's egress")]),
        ("d", "(d) policy delete: test-network-policy",
         [["delete", "networkpolicy", "test-network-policy", "-n",
           "default"]], [], EXPECT_D, PODS7,
         [((BE, DB, 6379), "db not isolated any more"),
          ((BE, DB2, 6379), "db2 not isolated any more"),
          ((FE, DB, 5978), "db not isolated any more"),
          ((DB, FE, 6379), "db's egress is free"),
          ((DB, ME, 5978), "other's policy remains")]),
        ("d'", "(d') policy delete: same-namespace-only",
         [["delete", "networkpolicy", "same-namespace-only", "-n", "other"]],
         [], EXPECT_D2, PODS7,
         [((DB, ME, 5978), "no policy left"),
          ((FE, WE, 6379), "no policy left")], "none"),
        ("f", "(f) a new policy the API server accepts and we reject "
         "(cidr 0.0.0.0/33): fail-closed",
         [["apply", "-f", invalid_file]], [], EXPECT_F, PODS7,
         [((FE, DB, 6379), "invalid-allow's stand-in isolates db, no rules"),
          ((BE, DB2, 5978), "and db2"),
          ((DB, DB2, 6379), "db2's ingress"),
          ((DB, FE, 6379), "egress not isolated")],
         "1 (default/invalid-allow): invalid, isolating their pods with no "
         "rules until they are fixed"),
        ("f'", "(f') the policy fixed: cidr 0.0.0.0/0",
         [["apply", "-f", fixed_file]], [], EXPECT_F2, PODS7,
         [((FE, DB, 6379), "0.0.0.0/0 admits every pod"),
          ((DB, DB2, 6379), "0.0.0.0/0 admits every pod")], "none"),
        ("f''", "(f'') the policy made invalid again: its last valid "
         "version stays",
         [["apply", "-f", invalid_file]], [], EXPECT_F3, PODS7,
         [((FE, DB, 6379), "last valid version: 0.0.0.0/0"),
          ((DB, DB2, 6379), "last valid version: 0.0.0.0/0")], "none"),
        ("g", "(g) policy delete: invalid-allow",
         [["delete", "networkpolicy", "invalid-allow", "-n", "default"]],
         [], EXPECT_G, PODS7,
         [((FE, DB, 6379), "no policy left")], "none"),
    ]


# ---- Events (README "Events") -------------------------------------------

# Step 13: a policy whose rules need more flows than the limit the daemon is
# restarted with for it (three CIDRs and 30 ports: 35 flows).
MANY_NP = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "too-many", "namespace": "default"},
    "spec": {"podSelector": {"matchLabels": {"role": "db"}},
             "ingress": [{"from": [{"ipBlock": {"cidr": c}} for c in
                                   ("10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16")],
                          "ports": [{"port": 7000 + i} for i in range(30)]}]},
}
MAX_FLOWS = 20

# Step 14: an ingress named port that no pod it selects on node-1 defines
# ("nosuch"), next to one they do (db's "redis").
NAMED_NP = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "named-nowhere", "namespace": "default"},
    "spec": {"podSelector": {"matchLabels": {"role": "db"}},
             "ingress": [{"ports": [{"port": "nosuch"}, {"port": "redis"}]}]},
}


class Checks:
    """ok/FAIL lines, counted with the probes."""

    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        print("  %-4s %s" % ("ok" if cond else "FAIL", what))
        sys.stdout.flush()
        return cond


def our_events(bed, name):
    """The Events ovs-netpold wrote about NetworkPolicy default/NAME, oldest
    first."""
    out = bed.kubectl("get", "events", "-n", "default", "-o", "json").stdout
    return sorted((e for e in json.loads(out)["items"]
                   if (e.get("source") or {}).get("component") == "ovs-netpold"
                   and e["involvedObject"].get("kind") == "NetworkPolicy"
                   and e["involvedObject"].get("name") == name),
                  key=lambda e: e["metadata"]["creationTimestamp"]
                  + e["metadata"]["name"])


def wait_events(bed, name, n, timeout=15):
    """Waits until there are at least N such Events (they are written
    asynchronously); returns them."""
    deadline = time.monotonic() + timeout
    while True:
        evs = our_events(bed, name)
        if len(evs) >= n or time.monotonic() > deadline:
            return evs
        time.sleep(0.2)


def event_log_lines(bed):
    """The daemon's log lines that say it queued an Event."""
    with open(bed.daemon_log, errors="replace") as f:
        return [l for l in f if "events" in l and "NetworkPolicy default/" in l]


def netpol_meta(bed, name):
    return json.loads(bed.kubectl("get", "networkpolicy", name, "-n", "default",
                                  "-o", "json").stdout)["metadata"]


def forced_relist(bed, ck):
    """Every watch cut and answered 410 Gone, so that the daemon relists
    (and sees the invalid policy again); then `ovs-netpol recompute` and
    `sync`.  The stand-in counts its 410s ({"gone": 3}) over every watch,
    and the first kind back may take them all (relisting and watching
    again), while the history stays (bookmarks keep every watch up to
    date, so compacting it would give no 410): tried up to five times
    until the networkpolicies watch got one."""
    def resyncs():
        with open(bed.daemon_log, errors="replace") as f:
            return f.read().count("list of networkpolicies: resynced")
    before = resyncs()
    fault = os.path.join(bed.work, "fault.json")
    with open(fault, "w") as f:
        json.dump({"gone": 3, "cut_watches": True}, f)
    after = before
    for attempt in range(5):
        print("$ kubectl create --raw /sim/fault -f fault.json   "
              "# {gone: 3, cut_watches: true}")
        bed.kubectl("create", "--raw", "/sim/fault", "-f", fault)
        deadline = time.monotonic() + 10
        while after <= before and time.monotonic() < deadline:
            time.sleep(0.2)
            after = resyncs()
        if after > before:
            break
    ck(after > before, "the daemon relisted networkpolicies after 410 Gone")
    print("$ ovs-netpol recompute; ovs-netpol sync")
    bed.netpol("recompute")
    bed.sync()


def check_events_f(bed, ck):
    """After (f): one InvalidPolicy Event, and none more after a relist and
    a recompute."""
    evs = wait_events(bed, "invalid-allow", 1)
    meta = netpol_meta(bed, "invalid-allow")
    if not ck(len(evs) == 1, "exactly one Event for invalid-allow (%d)"
              % len(evs)):
        return
    e = evs[0]
    io = e["involvedObject"]
    ck((e["type"], e["reason"]) == ("Warning", "InvalidPolicy"),
       "Warning InvalidPolicy (%s %s)" % (e["type"], e["reason"]))
    ck((io.get("kind"), io.get("apiVersion"), io.get("namespace"),
        io.get("name"), io.get("uid"), io.get("resourceVersion"))
       == ("NetworkPolicy", "networking.k8s.io/v1", "default",
           "invalid-allow", meta["uid"], meta["resourceVersion"]),
       "involvedObject: the policy's kind, uid %s and resourceVersion %s"
       % (io.get("uid"), io.get("resourceVersion")))
    ck("spec.ingress[0].from[0].ipBlock.cidr" in e["message"]
       and "isolating its pods" in e["message"],
       "message names the field: %s" % e["message"])
    ck((e["source"].get("host"), e.get("reportingInstance"), e.get("count"))
       == (kubebed.NODE, kubebed.NODE, 1),
       "source.host %s, count %s" % (e["source"].get("host"), e.get("count")))
    table = bed.kubectl("get", "events", "-n", "default").stdout
    print("$ kubectl get events -n default")
    print("".join("  " + l + "\n" for l in table.splitlines()), end="")
    ck(re.search(r"Warning\s+InvalidPolicy\s+networkpolicy/invalid-allow\s",
                 table), "kubectl get events shows it")

    logged = len(event_log_lines(bed))
    forced_relist(bed, ck)
    evs2 = our_events(bed, "invalid-allow")
    ck([(x["metadata"]["name"], x.get("count")) for x in evs2]
       == [(e["metadata"]["name"], 1)],
       "after the relist and recompute: still that one Event, count 1")
    ck(len(event_log_lines(bed)) == logged,
       "and the daemon queued no Event write meanwhile")


def check_events_f3(bed, ck):
    """After (f'') (fixed in f', broken again): a new resourceVersion with
    another consequence (the last valid version is kept, no stand-in), so
    another message: a second Event; the first stays at count 1."""
    evs = wait_events(bed, "invalid-allow", 2)
    meta = netpol_meta(bed, "invalid-allow")
    if not ck(len(evs) == 2, "two Events for invalid-allow now (%d)"
              % len(evs)):
        return
    new = [x for x in evs if "keeping its last valid version" in x["message"]]
    ck(len(new) == 1 and new[0]["count"] == 1
       and new[0]["involvedObject"]["resourceVersion"]
       == meta["resourceVersion"],
       "a new Event for resourceVersion %s: %s" % (
           meta["resourceVersion"], new[0]["message"] if new else "none"))
    ck([x["count"] for x in evs if x not in new] == [1],
       "the first one still at count 1")


def audit_lines(bed):
    try:
        with open(bed.audit_log) as f:
            return [json.loads(l) for l in f]
    except FileNotFoundError:
        return []


def check_audit(bed, ck):
    """The audit log through the API: same-namespace-only applied again,
    then `kubectl annotate` namespace other with ovs-netpol.io/audit=deny,
    no restart; a denied probe into it is one line naming the policy, an
    allowed one none; the annotation removed, nothing more; the policy
    deleted again."""
    print("\n== audit log")
    before = len(audit_lines(bed))
    ck(before == 0, "no audit line before any namespace asks (%d)" % before)
    for cmd in (["apply", "-f", EX + "/default-deny-other.yaml"],
                ["annotate", "namespace", "other", "ovs-netpol.io/audit=deny"],
                None,
                ["annotate", "namespace", "other", "ovs-netpol.io/audit-"]):
        if cmd is None:
            probes = [(FE, WE, 6379), (ME, WE, 6379)]
            sports = [bed.sport, bed.sport + 1]     # bed.probe's, in order
            res = bed.probe(probes)
            ck(res[probes[0]] == "timeout" and res[probes[1]] in ("connected", "refused"),
               "frontend -> other/web denied, other/metrics -> other/web allowed (%s)"
               % [res[p] for p in probes])
            deadline = time.monotonic() + 10
            while True:
                lines = audit_lines(bed)
                if lines or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            time.sleep(1.5)     # a second line would be within its window
            lines = audit_lines(bed)
            for l in lines:
                print("  " + json.dumps(l))
            want = {"direction": "ingress", "verdict": "deny", "protocol": "tcp",
                    "src_pod": FE, "dst_pod": WE, "src_port": sports[0],
                    "dst_port": 6379, "policies": ["other/same-namespace-only"],
                    "count": 1, "node": kubebed.NODE}
            mine = [l for l in lines if l.get("src_port") in sports]
            ck(len(mine) == 1 and all(mine[0].get(k) == v for k, v in want.items()),
               "exactly one line for the two probes, the denied one, naming "
               "other/same-namespace-only")
            # Only namespace other is audited: a line is about one of its
            # pods (the destination of an ingress deny).
            ck(all(l.get("dst_pod", "").startswith("other/") for l in lines),
               "every line is about a pod of namespace other")
            continue
        print("$ kubectl %s" % " ".join(cmd))
        bed.kubectl(*cmd)
        bed.sync()
    sport = bed.sport
    res = bed.probe([(FE, WE, 6379)])
    time.sleep(2.5)
    ck(list(res.values()) == ["timeout"]
       and not [l for l in audit_lines(bed) if l.get("src_port") == sport],
       "annotation removed: still denied, no line for it")
    bed.kubectl("delete", "networkpolicy", "same-namespace-only", "-n", "other")
    bed.sync()


def check_too_many(bed, ck, many_file):
    """The daemon restarted with --max-policy-flows 20; a policy that needs
    more gets one TooManyFlows Event, and a recompute adds none."""
    print("\n== TooManyFlows: ovs-netpold restarted with --max-policy-flows %d"
          % MAX_FLOWS)
    bed.restart_daemon(extra=["--max-policy-flows", str(MAX_FLOWS)])
    bed.sync()
    print("$ kubectl apply -f too-many.json")
    bed.kubectl("apply", "-f", many_file)
    bed.sync()
    evs = wait_events(bed, "too-many", 1)
    meta = netpol_meta(bed, "too-many")
    if not ck(len(evs) == 1, "exactly one Event for too-many (%d)" % len(evs)):
        return
    e = evs[0]
    ck((e["type"], e["reason"], e["involvedObject"].get("uid"),
        e["involvedObject"].get("resourceVersion"), e["source"].get("host"))
       == ("Warning", "TooManyFlows", meta["uid"], meta["resourceVersion"],
           kubebed.NODE),
       "Warning TooManyFlows on node-1: %s" % e["message"])
    ck("--max-policy-flows" in e["message"]
       and "limit of %d flows" % MAX_FLOWS in e["message"],
       "message names the limit")
    over = next((l for l in bed.status().splitlines()
                 if l.startswith("over the flow limit:")), "")
    ck("default/too-many" in over, "status: %s" % over)
    logged = len(event_log_lines(bed))
    print("$ ovs-netpol recompute; ovs-netpol sync")
    bed.netpol("recompute")
    bed.sync()
    evs2 = our_events(bed, "too-many")
    ck([(x["metadata"]["name"], x["count"]) for x in evs2]
       == [(e["metadata"]["name"], 1)] and len(event_log_lines(bed)) == logged,
       "after a recompute: the same single Event, count 1")
    bed.kubectl("delete", "networkpolicy", "too-many", "-n", "default")
    bed.sync()


def check_named(bed, ck, named_file):
    """One UnresolvedNamedPort Event naming the port that resolves on no
    selected pod of node-1 (not the one that does); none more after a
    recompute."""
    print("\n== UnresolvedNamedPort")
    print("$ kubectl apply -f named-nowhere.json")
    bed.kubectl("apply", "-f", named_file)
    bed.sync()
    evs = wait_events(bed, "named-nowhere", 1)
    if not ck(len(evs) == 1, "exactly one Event for named-nowhere (%d)"
              % len(evs)):
        return
    e = evs[0]
    ck(e["reason"] == "UnresolvedNamedPort"
       and 'spec.ingress[0].ports[0]: "nosuch" (TCP)' in e["message"]
       and "redis" not in e["message"] and kubebed.NODE in e["message"],
       "%s: %s" % (e["reason"], e["message"]))
    logged = len(event_log_lines(bed))
    print("$ ovs-netpol recompute; ovs-netpol sync")
    bed.netpol("recompute")
    bed.sync()
    ck([(x["metadata"]["name"], x["count"])
        for x in our_events(bed, "named-nowhere")]
       == [(e["metadata"]["name"], 1)] and len(event_log_lines(bed)) == logged,
       "after a recompute: the same single Event, count 1")
    bed.kubectl("delete", "networkpolicy", "named-nowhere", "-n", "default")
    bed.sync()


# ---- ClusterNetworkPolicy (issue 11) ----------------------------------------

CRD_FILE = "tests/sim/crd-clusternetworkpolicies.yaml"
CRD_NAME = "clusternetworkpolicies.policy.networking.k8s.io"
CNP_NAME = "deny-to-db"

# An Admin policy for the role=db pods (db, db2) of every namespace: deny
# ingress from the namespaces labelled project=myproject (myproject, and
# other since step (c)), i.e. from client, metrics and web, on every port.
# No NetworkPolicy is left at this point, so nothing else is denied.
CNP = {
    "apiVersion": "policy.networking.k8s.io/v1alpha2",
    "kind": "ClusterNetworkPolicy",
    "metadata": {"name": CNP_NAME},
    "spec": {"tier": "Admin", "priority": 10,
             "subject": {"pods": {"namespaceSelector": {},
                                  "podSelector": {"matchLabels":
                                                  {"role": "db"}}}},
             "ingress": [{"name": "no-projects", "action": "Deny",
                          "from": [{"namespaces": {"matchLabels":
                                                   {"project": "myproject"}}}]}]},
}
EXPECT_CNP = every([CL, ME, WE], [DB, DB2])

# Patched (a merge patch replaces the rule list): deny from the
# role=frontend pods of every namespace instead.
CNP_PATCH = {"spec": {"ingress": [{
    "name": "no-frontend", "action": "Deny",
    "from": [{"pods": {"namespaceSelector": {},
                       "podSelector": {"matchLabels": {"role": "frontend"}}}}]}]}}
EXPECT_CNP_PATCHED = every([FE], [DB, DB2])

# Patched again with a label key the CRD's schema lets through and we
# refuse: its last valid version (the frontend deny) stays.
CNP_BAD_PATCH = {"spec": {"ingress": [{
    "name": "bad", "action": "Deny",
    "from": [{"namespaces": {"matchLabels": {"bad key!": "x"}}}]}]}}


def daemon_log_count(bed, *words):
    with open(bed.daemon_log, errors="replace") as f:
        return sum(1 for l in f if all(w in l for w in words))


def daemon_log_lines(bed, *words):
    with open(bed.daemon_log, errors="replace") as f:
        return [l.rstrip("\n") for l in f if all(w in l for w in words)]


NO_CRD = ("list of clusternetworkpolicies: the server does not serve "
          "policy.networking.k8s.io/v1alpha2 clusternetworkpolicies")
CRD_APPEARED = ("list of clusternetworkpolicies: the server serves "
                "policy.networking.k8s.io/v1alpha2 clusternetworkpolicies")
CRD_GONE = ("the server no longer serves policy.networking.k8s.io/v1alpha2 "
            "clusternetworkpolicies")


def status_line(bed, prefix):
    return next((l for l in bed.status().splitlines()
                 if l.startswith(prefix)), "")


def check_no_crd(bed, ck):
    """Started before the CRD exists: synced, with no ClusterNetworkPolicy,
    said once at INFO, not an error."""
    print("\n== no ClusterNetworkPolicy CRD on the server")
    lines = daemon_log_lines(bed, NO_CRD)
    for l in lines:
        print("  log: " + l)
    ck(len(lines) == 1 and " info kube: " in lines[0],
       "said once, at INFO (%d lines)" % len(lines))
    src = status_line(bed, "source:")
    ck("(synced;" in src and "clusternetworkpolicies - (not served: no CRD)"
       in src, "status: %s" % src)
    err = status_line(bed, "last error:")
    ck(err == "last error: none", "status: %s" % err)


def cnp_step(bed, ck, title, cmds, denied, focus, timeout_ms):
    """kubectl, sync, purge, the whole matrix: every probe as 'denied'
    says (the set of denied probes)."""
    print("\n== ClusterNetworkPolicy: %s" % title)
    for c in cmds:
        print("$ kubectl %s" % " ".join(c))
        out = bed.kubectl(*c).stdout
        print("".join("  " + l + "\n" for l in out.splitlines()), end="")
    dt, out = bed.sync()
    print("$ ovs-netpol sync\n  %s (%.3f s)" % (out, dt))
    bed.wait_bindings()
    bed.purge()
    probes = bed.matrix_probes(PODS7)
    res = bed.probe(probes, timeout_ms=timeout_ms)
    bad = []
    for p in probes:
        want = "timeout" if p in denied else "connected"
        if res[p] != want or p in focus:
            print("  %-4s %-42s %-9s expected %-8s %s" % (
                "ok" if res[p] == want else "FAIL", fmt_probe(p),
                {"connected": "allowed", "timeout": "denied"}.get(res[p], res[p]),
                "denied" if p in denied else "allowed", focus.get(p, "")))
        if res[p] != want:
            bad.append(p)
    ck(not bad, "%d probes, %d denied expected: %s" % (
        len(probes), len(denied),
        "all as expected" if not bad else "%d NOT as expected" % len(bad)))


def cnp_events(bed):
    out = bed.kubectl("get", "events", "-n", "default", "-o", "json").stdout
    return [e for e in json.loads(out)["items"]
            if (e.get("source") or {}).get("component") == "ovs-netpold"
            and e["involvedObject"].get("kind") == "ClusterNetworkPolicy"]


def check_cnp(bed, ck, files, timeout_ms):
    """The CRD applied while the daemon runs: picked up at the next sync;
    a ClusterNetworkPolicy applied, patched, made invalid (its last valid
    version stays, an Event says why), deleted, applied again; the CRD
    deleted: its policies go with it."""
    cnp_file, patch_file, bad_file = files
    print("\n== ClusterNetworkPolicy CRD applied while the daemon runs")
    ck(daemon_log_count(bed, NO_CRD) == 1,
       "the daemon said once that there is no CRD")
    for c in (["apply", "-f", CRD_FILE],
              ["wait", "--for=condition=Established", "crd/" + CRD_NAME]):
        print("$ kubectl %s" % " ".join(c))
        print("".join("  " + l + "\n"
                      for l in bed.kubectl(*c).stdout.splitlines()), end="")
    cnp_step(bed, ck, "applied: Admin Deny to role=db from project=myproject",
             [["apply", "-f", cnp_file]], EXPECT_CNP,
             {(CL, DB, 6379): "client's namespace has project=myproject",
              (ME, DB2, 5978): "other has project=myproject since (c)",
              (FE, DB, 6379): "default has no project label"}, timeout_ms)
    lines = daemon_log_lines(bed, CRD_APPEARED)
    for l in lines:
        print("  log: " + l)
    ck(len(lines) == 1 and "1 listed at resourceVersion" in lines[0],
       "the daemon said once that the CRD appeared, with the policy listed")
    objs = status_line(bed, "objects:")
    ck(objs.endswith(", 1 clusternetworkpolicies"), "status: %s" % objs)
    src = status_line(bed, "source:")
    ck("(synced;" in src and "not served" not in src, "status: %s" % src)

    cnp_step(bed, ck, "patched: deny from role=frontend instead",
             [["patch", "clusternetworkpolicy", CNP_NAME, "--type=merge",
               "--patch-file", patch_file]], EXPECT_CNP_PATCHED,
             {(FE, DB, 6379): "role=frontend", (CL, DB, 6379): "no more"},
             timeout_ms)
    cnp_step(bed, ck, "patched with a bad label key: its last valid "
             "version stays",
             [["patch", "clusternetworkpolicy", CNP_NAME, "--type=merge",
               "--patch-file", bad_file]], EXPECT_CNP_PATCHED,
             {(FE, DB, 6379): "last valid version"}, timeout_ms)
    bad = daemon_log_lines(bed, "ClusterNetworkPolicy %s:" % CNP_NAME,
                           "keeping its last valid version")
    ck(len(bad) >= 1 and '"bad key!"' in bad[0],
       "logged as an error: %s" % (bad[0] if bad else "nothing"))
    deadline = time.monotonic() + 15
    while True:
        evs = cnp_events(bed)
        if evs or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    e = evs[0] if evs else {}
    ck(len(evs) == 1 and e.get("reason") == "InvalidPolicy"
       and e["involvedObject"].get("name") == CNP_NAME
       and not e["involvedObject"].get("namespace")
       and "keeping its last valid version" in e.get("message", ""),
       "one InvalidPolicy Event in namespace default: %s"
       % (e.get("message") if e else "none"))
    cnp_step(bed, ck, "deleted", [["delete", "clusternetworkpolicy",
                                   CNP_NAME]], set(),
             {(FE, DB, 6379): "no policy"}, timeout_ms)
    cnp_step(bed, ck, "applied again", [["apply", "-f", cnp_file]],
             EXPECT_CNP, {(CL, DB, 6379): "denied again"}, timeout_ms)
    cnp_step(bed, ck, "the CRD deleted: its policies go with it",
             [["delete", "crd", CRD_NAME]], set(),
             {(CL, DB, 6379): "no policy"}, timeout_ms)
    src = status_line(bed, "source:")
    ck("(synced;" in src and "clusternetworkpolicies - (not served: no CRD)"
       in src, "status: %s" % src)
    objs = status_line(bed, "objects:")
    ck(objs.endswith(", 0 clusternetworkpolicies"), "status: %s" % objs)
    ck(daemon_log_count(bed, NO_CRD) == 1, "no second 'no CRD' line: "
       "removal is said in its own words")
    for l in daemon_log_lines(bed, "clusternetworkpolicies", "kube"):
        print("  log: " + l)


def fmt_probe(p):
    return "%s -> %s:%d" % p


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every probe")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (kept anyway on failure)")
    ap.add_argument("--bookmark-interval", type=float, default=1,
                    help="the stand-in's BOOKMARK interval in seconds "
                    "(default 1; `sync` waits for a bookmark on every kind "
                    "the step did not touch)")
    ap.add_argument("--sync-timeout", type=int, default=10)
    ap.add_argument("--timeout-ms", type=int, default=1000,
                    help="probe timeout (default 1000)")
    args = ap.parse_args()

    os.chdir(TOP)
    try:
        bed = kubebed.Bed(keep=args.keep,
                          bookmark_interval=args.bookmark_interval)
    except kubebed.BedError as e:
        sys.exit("kube-e2e: %s" % e)
    files = []
    for name, doc in (("db2", DB2_POD), ("invalid-np", INVALID_NP),
                      ("fixed-np", FIXED_NP), ("too-many", MANY_NP),
                      ("named-nowhere", NAMED_NP), ("cnp", CNP),
                      ("cnp-patch", CNP_PATCH), ("cnp-bad", CNP_BAD_PATCH)):
        files.append(os.path.join(bed.work, name + ".json"))
        with open(files[-1], "w") as f:
            json.dump(doc, f, indent=1)

    passed = failed = 0
    ck = Checks()
    error = None
    timings = []
    prev_expect = {}
    try:
        url = bed.start_sim()
        print("kube-apiserver-sim: %s (TLS, token; bookmarks every %g s); "
              "kubectl: %s" % (url, args.bookmark_interval, bed.kubectl_bin))
        ver = bed.kubectl("version", "-o", "json", check=False).stdout
        try:
            v = json.loads(ver)
            print("kubectl client %s, server %s" % (
                v["clientVersion"]["gitVersion"],
                v["serverVersion"]["gitVersion"]))
        except (ValueError, KeyError):
            pass
        bed.start_sandbox()
        # The pods of cluster.yaml are plugged in before they exist in the
        # API (as a CNI would right after they are created); the daemon
        # binds each by its Interface's external_ids:iface-id.
        bed.add_pods(bed.manifest_pods(EX + "/cluster.yaml"))
        bed.start_daemon()
        print("work dir %s; ovs-netpold pid %d, as %s (deploy/kubernetes; "
              "a 401 or 403 fails the run)" % (bed.work, bed.daemon.pid,
                                                bed.sa_user))
        bed.sync(timeout=args.sync_timeout)
        check_no_crd(bed, ck)

        event_checks = {"f": check_events_f, "f''": check_events_f3}
        all_steps = [st + (None,) * (8 - len(st)) for st in steps(*files[:3])]
        for si, (name, title, cmds, plug, denied, keys, focus, want_fc) in \
                enumerate(all_steps):
            print("\n== step %d/%d %s" % (si + 1, len(all_steps), title))
            wall0 = time.time()
            t_k = 0.0
            for c in cmds:
                print("$ kubectl %s" % " ".join(c))
                t = time.monotonic()
                out = bed.kubectl(*c).stdout
                t_k += time.monotonic() - t
                print("".join("  " + l + "\n" for l in out.splitlines()),
                      end="")
            t_applied = time.monotonic()
            wall_applied = time.time()
            t_plug = 0.0
            if plug:
                print("$ ovs/sandbox.sh add-pod ... %s" % ", ".join(
                    "%s/%s %s" % (o["metadata"]["namespace"],
                                  o["metadata"]["name"], kubebed.pod_ip(o))
                    for o in plug))
                t = time.monotonic()
                bed.add_pods(plug)
                t_plug = time.monotonic() - t
            dt_sync, sync_out = bed.sync(timeout=args.sync_timeout)
            t_total = time.monotonic() - t_applied
            late = bed.wait_bindings()
            commits = bed.commits_since(wall0)
            commit_ms = ((commits[-1][0] - wall_applied) * 1000
                         if commits else None)
            print("$ ovs-netpol sync --timeout %d\n  %s"
                  % (args.sync_timeout, sync_out))
            print("  timing: kubectl ran %.3f s; kubectl returned -> sync "
                  "returned %.3f s%s (the sync call itself %.3f s); last flow "
                  "commit %s%s" % (
                      t_k, t_total,
                      " (incl. sandbox add-pod %.3f s)" % t_plug if plug else "",
                      dt_sync,
                      "%+.0f ms from kubectl returning" % commit_ms
                      if commit_ms is not None else "none logged",
                      "; bindings %.2f s after sync" % late if late else ""))
            timings.append((name, t_k, t_total, dt_sync, commit_ms, t_plug))
            bed.purge()

            probes = bed.matrix_probes(keys)
            res = bed.probe(probes, timeout_ms=args.timeout_ms)
            expect = {p: p not in denied for p in probes}   # True = allowed
            stray = denied - set(probes)
            if stray:
                raise kubebed.BedError("expectation names unknown probes: %s"
                                       % sorted(stray))
            reasons = dict(focus)
            for p in reasons:
                if p not in expect:
                    raise kubebed.BedError("focus probe %s not probed"
                                           % fmt_probe(p))
            shown = 0
            step_fail = 0
            for p in probes:
                got = res[p]
                ok = (got == "connected") if expect[p] else (got == "timeout")
                if ok:
                    passed += 1
                else:
                    failed += 1
                    step_fail += 1
                changed = p in prev_expect and prev_expect[p] != expect[p]
                if args.verbose or not ok or p in reasons or changed:
                    shown += 1
                    verdict = {"connected": "allowed",
                               "timeout": "denied"}.get(got, got)
                    note = reasons.get(p, "")
                    if changed:
                        note = ("was %s; " % ("allowed" if prev_expect[p]
                                              else "denied")) + note
                    print("  %-4s %-42s %-8s expected %-8s %s" % (
                        "ok" if ok else "FAIL", fmt_probe(p), verdict,
                        "allowed" if expect[p] else "denied",
                        note.rstrip("; ")))
            n_allowed = sum(1 for p in probes if res[p] == "connected")
            print("  %d probes (%d allowed, %d denied)%s: %s" % (
                len(probes), n_allowed, len(probes) - n_allowed,
                "" if shown == len(probes) else
                "; %d more not shown" % (len(probes) - shown),
                "all as expected" if not step_fail else
                "%d NOT as expected" % step_fail))
            if want_fc is not None:
                fc = next((l.split(":", 1)[1].strip()
                           for l in bed.status().splitlines()
                           if l.startswith("fail-closed policies:")), None)
                if fc == want_fc:
                    passed += 1
                    print("  ok   status: fail-closed policies: %s" % fc)
                else:
                    failed += 1
                    print("  FAIL status: fail-closed policies: %s, expected "
                          "%s" % (fc, want_fc))
            if name in event_checks:
                event_checks[name](bed, ck)
            sys.stdout.flush()
            prev_expect = expect
        check_audit(bed, ck)
        check_too_many(bed, ck, files[3])
        check_named(bed, ck, files[4])
        check_cnp(bed, ck, files[5:8], args.timeout_ms)
        if bed.daemon.poll() is not None:
            raise kubebed.BedError("ovs-netpold exited with %d"
                                   % bed.daemon.returncode)
        print("\n$ ovs-netpol status")
        print("".join("  " + l + "\n" for l in bed.status().splitlines()),
              end="")
    except kubebed.BedError as e:
        error = str(e)
    except KeyboardInterrupt:
        error = "interrupted"
    finally:
        if error and error != "interrupted":
            print("\nkube-e2e: ERROR: %s\n-- ovs-netpold log (last lines):\n%s"
                  % (error, kubebed.tail(bed.daemon_log)), file=sys.stderr)
        keep = args.keep or failed > 0 or ck.failed > 0 or bool(error and error != "interrupted")
        for p in bed.stop(keep_dir=keep):
            print("kube-e2e: %s" % p, file=sys.stderr)
            error = error or p
        if keep and os.path.isdir(bed.work):
            print("work directory kept: %s" % bed.work)

    if timings:
        print("\nTimings (s; 'apply->sync' = kubectl returned -> ovs-netpol "
              "sync returned; 'commit' = the daemon's last flow commit, ms "
              "from kubectl returning)")
        print("  %-8s %8s %12s %8s %10s" % ("step", "kubectl", "apply->sync",
                                            "sync", "commit ms"))
        for name, tk, tt, ds, cm, tp in timings:
            print("  %-8s %8.3f %12.3f %8.3f %10s%s" % (
                name, tk, tt, ds, "-" if cm is None else "%+.0f" % cm,
                "   (incl. add-pod %.3f s)" % tp if tp else ""))
        tt = sorted(t[2] for t in timings)
        print("  apply->sync: min %.3f, median %.3f, max %.3f s"
              % (tt[0], tt[len(tt) // 2], tt[-1]))
    if ck.passed or ck.failed:
        print("Events: %d checks passed, %d failed" % (ck.passed, ck.failed))
    passed += ck.passed
    failed += ck.failed
    print("%d passed, %d failed" % (passed, failed))
    if error:
        print("kube-e2e: %s" % error, file=sys.stderr)
    sys.exit(0 if not error and not failed else 1)


if __name__ == "__main__":
    main()
