#!/usr/bin/env bash
# test-gen-cluster.sh - self-test of bench/gen-cluster.py: exact sizes, same
# seed -> same bytes (also under another PYTHONHASHSEED), another seed ->
# other bytes, every object valid as the API server validates it, the
# documented features present, and the cross shape as specified.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
GEN=$HERE/gen-cluster.py
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

python3 "$GEN" --ports-for "$T/a.json" --ports-node node-1 -o "$T/p"
n=$(grep -c '"nodeName":"node-1"' "$T/a.json")
[ "$(wc -l <"$T/p")" = "$n" ] || fail "ports file: $(wc -l <"$T/p") lines for $n pods on node-1"
echo "test-gen-cluster: PASS"
