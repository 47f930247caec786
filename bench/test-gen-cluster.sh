#!/usr/bin/env bash
# test-gen-cluster.sh - self-test of bench/gen_cluster.py: exact sizes, same
# seed -> same bytes (also under another PYTHONHASHSEED), another seed ->
# other bytes, every object valid as the API server validates it, the
# documented features present, the old mix's bytes unchanged, the broad
# mix's shapes in measurable proportions, its churn description, and the
# cross shape as specified.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export HERE
GEN=$HERE/gen_cluster.py
T=$(mktemp -d /tmp/test-gen-cluster.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for spec in "200 20 2" "1000 100 5" "10000 1000 50"; do
    set -- $spec
    python3 "$GEN" --pods "$1" --policies "$2" --nodes "$3" --seed 7 -o "$T/a.json"
    PYTHONHASHSEED=99 python3 "$GEN" --pods "$1" --policies "$2" --nodes "$3" --seed 7 -o "$T/b.json"
    cmp -s "$T/a.json" "$T/b.json" || fail "$spec: same seed, different bytes"
    python3 "$GEN" --pods "$1" --policies "$2" --nodes "$3" --seed 8 -o "$T/c.json"
    cmp -s "$T/a.json" "$T/c.json" && fail "$spec: seeds 7 and 8 gave the same bytes"
    got=$(python3 "$GEN" --validate "$T/a.json") || fail "$spec: invalid objects: $got"
    python3 - "$T/a.json" "$1" "$2" "$3" <<'PY' || fail "$spec: content check"
import json, sys, collections
items = json.load(open(sys.argv[1]))["items"]
pods, pols, nodes = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
k = collections.Counter(i["kind"] for i in items)
assert k["Pod"] == pods and k["NetworkPolicy"] == pols, k
assert all(p["status"]["phase"] == "Running" for p in items if p["kind"] == "Pod")
used = {p["spec"]["nodeName"] for p in items if p["kind"] == "Pod"}
assert used <= {"node-%d" % i for i in range(1, nodes + 1)} and "node-1" in used, used
if pols >= 1000:
    text = json.dumps([p["spec"] for p in items if p["kind"] == "NetworkPolicy"])
    for needle in ('"In"', '"NotIn"', '"Exists"', '"DoesNotExist"', '"except"', '"endPort"',
                   '"UDP"', '"SCTP"', '"policyTypes"', '"egress"', '"namespaceSelector"', '"port": "metrics"'):
        assert needle in text, needle
PY
done

# The old mix is kept byte for byte: these are its bytes before the broad
# mix came (commit 0b17784).
for spec in "tiny 4726382569cfa498718ee4209667c71638fdc380f1d40b206b1e5867b55f2ded" \
            "small 1e565cd20c71785d1670aff718608900565b9dfac58a6d4434b69be02d9f3e44"; do
    set -- $spec
    python3 "$GEN" --preset "$1" -o "$T/o.json"
    got=$(sha256sum <"$T/o.json" | cut -d' ' -f1)
    [ "$got" = "$2" ] || fail "old mix --preset $1: bytes changed (sha256 $got)"
done

# The broad mix: exact sizes, node-1's share, determinism, validity, and
# its shapes in measurable proportions (the churn description's 'shapes',
# computed by the model the benches use), against the old mix's.
for spec in "1000 100 5 40" "10000 1000 50 200"; do
    set -- $spec
    args=(--mix broad --pods "$1" --policies "$2" --nodes "$3" --node1-pods "$4" --seed 7)
    python3 "$GEN" "${args[@]}" -o "$T/a.json" --churn "$T/a.churn"
    PYTHONHASHSEED=99 python3 "$GEN" "${args[@]}" -o "$T/b.json" --churn "$T/b.churn"
    cmp -s "$T/a.json" "$T/b.json" || fail "broad $spec: same seed, different bytes"
    cmp -s "$T/a.churn" "$T/b.churn" || fail "broad $spec: same seed, different churn"
    python3 "$GEN" --mix broad --pods "$1" --policies "$2" --nodes "$3" --node1-pods "$4" \
        --seed 8 -o "$T/c.json"
    cmp -s "$T/a.json" "$T/c.json" && fail "broad $spec: seeds 7 and 8 gave the same bytes"
    got=$(python3 "$GEN" --validate "$T/a.json") || fail "broad $spec: invalid objects: $got"
    python3 "$GEN" --pods "$1" --policies "$2" --nodes "$3" --node1-pods "$4" --seed 7 \
        -o "$T/old.json"
    python3 "$GEN" --churn-for "$T/old.json" --seed 7 -o "$T/old.churn"
    python3 - "$T/a.json" "$T/a.churn" "$T/old.churn" "$@" <<'PY' || fail "broad $spec: content check"
import json, sys, collections, importlib.util, os
gen = os.path.join(os.environ.get("HERE", "."), "gen_cluster.py")
items = json.load(open(sys.argv[1]))["items"]
churn, old = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
pods, pols, nodes, node1 = map(int, sys.argv[4:8])
k = collections.Counter(i["kind"] for i in items)
assert k["Pod"] == pods and k["NetworkPolicy"] == pols, k
on1 = sum(1 for p in items if p["kind"] == "Pod" and p["spec"]["nodeName"] == "node-1")
assert on1 == node1, (on1, node1)
used = {p["spec"]["nodeName"] for p in items if p["kind"] == "Pod"}
assert used == {"node-%d" % i for i in range(1, nodes + 1)}, sorted(used)
ns = [i for i in items if i["kind"] == "Namespace"]
assert all(set(n["metadata"]["labels"]) >= {"team", "env", "tier"} for n in ns
           if n["metadata"]["name"] not in ("kube-system", "monitoring", "ingress-nginx", "observability"))
s, o = churn["shapes"], old["shapes"]
peers = s["pod_peers_by_shape"]
n_peers = sum(peers.values())
# Peers by shared namespace labels, and every namespace with a pod selector.
assert peers["namespaces-by-shared-label"] >= 0.25 * n_peers, peers
assert peers["all-namespaces-with-pod-selector"] >= 0.08 * n_peers, peers
# Rules whose peers are hundreds or thousands of pods.
r = s["rule_peer_pods"]
assert r["rules_with_100_or_more"] >= 0.3 * r["rules"], r
if pods >= 10000:
    assert r["rules_with_1000_or_more"] >= 0.15 * r["rules"], r
# Pods that hundreds of rules (of the whole cluster) have as peers.
p = s["pod_peer_of_rules"]
if pods >= 10000:
    assert p["pods_in_100_or_more"] >= 0.25 * pods and p["max"] >= 150, p
big = pods >= 10000
assert p["p50"] >= (5 if big else 3) * max(1, o["pod_peer_of_rules"]["p50"]), (p, o["pod_peer_of_rules"])
assert s["pod_peer_of_active_rules"]["p50"] >= (10 if big else 3) * max(
    1, o["pod_peer_of_active_rules"]["p50"]), (s, o)
# Many policies per namespace: where a pod event happens, and at most.
if pods >= 10000:
    assert s["policies_per_namespace"]["max"] >= 80, s["policies_per_namespace"]
    assert s["policies_in_a_pods_namespace"]["p90"] >= 60, s["policies_in_a_pods_namespace"]
# The churn: every list filled, and each event does what it says.
for key in ("pod_add", "pod_relabel", "peer_relabel", "ns_relabel", "policy_add",
            "policy_add_broad", "storm"):
    assert churn[key], key
assert all(e["node"] == "node-1" for e in churn["pod_relabel"])
assert all(e["cost"]["inputs_changed"] >= 1 for e in churn["pod_relabel"])
assert all(e["leaves_active_rules"] >= 1 for e in churn["peer_relabel"])
assert all(e["active_policies_changed"] >= 1 for e in churn["ns_relabel"])
assert min(1000, pods - node1) <= len(churn["storm"]) <= 1000, len(churn["storm"])
# What the churn adds must be valid in the cluster too.
spec = importlib.util.spec_from_file_location("g", gen)
g = importlib.util.module_from_spec(spec)
spec.loader.exec_module(g)
errs = g.validate_items(items + churn["pod_add"] + churn["policy_add"] + churn["policy_add_broad"])
assert not errs, errs[:5]
PY
done
python3 "$GEN" --mix broad --preset large -o "$T/l.json"
python3 - "$T/l.json" <<'PY' || fail "broad --preset large: sizes"
import json, sys, collections
items = json.load(open(sys.argv[1]))["items"]
k = collections.Counter(i["kind"] for i in items)
assert k["Pod"] == 50000 and k["NetworkPolicy"] == 5000, k
assert sum(1 for p in items if p["kind"] == "Pod" and p["spec"]["nodeName"] == "node-1") == 250
PY

python3 "$GEN" --shape cross -o "$T/x.json"
python3 "$GEN" --validate "$T/x.json" >/dev/null || fail "cross: invalid"
python3 - "$T/x.json" <<'PY' || fail "cross: shape"
import json, sys
items = json.load(open(sys.argv[1]))["items"]
pods = [i for i in items if i["kind"] == "Pod"]
pols = [i for i in items if i["kind"] == "NetworkPolicy"]
assert len(pols) == 1 and len(pods) == 1100
r = pols[0]["spec"]["ingress"]
assert len(r) == 1 and len(r[0]["ports"]) == 10
assert sum(p["metadata"]["labels"]["app"] == "dst" for p in pods) == 100
assert all(p["spec"]["nodeName"] == "node-1" for p in pods)
PY

# --cnps: the cluster keeps its bytes, N valid ClusterNetworkPolicies come
# after it, deterministic, every kind of the mix there; --cnps-as np: the
# same cluster with NetworkPolicies instead, one per selected namespace.
for mix in old broad; do
    python3 "$GEN" --mix "$mix" --preset small -o "$T/n.json"
    python3 "$GEN" --mix "$mix" --preset small --cnps 100 -o "$T/c1.json"
    PYTHONHASHSEED=99 python3 "$GEN" --mix "$mix" --preset small --cnps 100 -o "$T/c2.json"
    cmp -s "$T/c1.json" "$T/c2.json" || fail "--cnps ($mix): same seed, different bytes"
    python3 "$GEN" --mix "$mix" --preset small --cnps 100 --cnps-as np -o "$T/c3.json"
    got=$(python3 "$GEN" --validate "$T/c1.json") || fail "--cnps ($mix): invalid objects: $got"
    got=$(python3 "$GEN" --validate "$T/c3.json") || fail "--cnps-as np ($mix): invalid objects: $got"
    python3 - "$T/n.json" "$T/c1.json" "$T/c3.json" <<'PY' || fail "--cnps ($mix): content check"
import json, sys, collections
base, cnp, asnp = (json.load(open(f))["items"] for f in sys.argv[1:4])
assert cnp[:len(base)] == base, "the cluster changed"
cnps = cnp[len(base):]
assert len(cnps) == 100 and all(c["kind"] == "ClusterNetworkPolicy" for c in cnps)
assert len({c["metadata"]["name"] for c in cnps}) == 100
kinds = collections.Counter(c["metadata"]["name"].split("-")[0] for c in cnps)
assert set(kinds) == {"tenant", "deny", "shared", "pass", "baseline"}, kinds
for tier in ("Admin", "Baseline"):
    prios = [c["spec"]["priority"] for c in cnps if c["spec"]["tier"] == tier]
    assert prios and len(set(prios)) == len(prios), (tier, prios)
text = json.dumps(cnps)
for needle in ('"Pass"', '"Deny"', '"Accept"', '"networks"', '"destinationNamedPort"',
               '"range"', '"udp"', '"Exists"'):
    assert needle in text, needle
nps = [o for o in asnp if o["kind"] == "NetworkPolicy"]
old = [o for o in base if o["kind"] == "NetworkPolicy"]
assert [o for o in asnp if o["kind"] != "NetworkPolicy"] == [o for o in base if o["kind"] != "NetworkPolicy"]
made = [o for o in nps if o["metadata"]["name"].startswith("cnp-")]
assert len(nps) == len(old) + len(made) and len(made) > 100, (len(nps), len(old), len(made))
PY
done

python3 "$GEN" --ports-for "$T/a.json" --ports-node node-1 -o "$T/p"
n=$(grep -c '"nodeName":"node-1"' "$T/a.json")
[ "$(wc -l <"$T/p")" = "$n" ] || fail "ports file: $(wc -l <"$T/p") lines for $n pods on node-1"
echo "test-gen-cluster: PASS"
