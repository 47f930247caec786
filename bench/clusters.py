"""The benches' cluster files, by mix and size, cached in bench/out/clusters/
as compile-bench.sh caches them (the same names and bytes): NAME-sSEED.json
with NAME medium/large/small for the old mix and broad-medium/broad-large/
broad-small for the broad one; regenerated when gen_cluster.py is newer.
Beside each: NAME-sSEED.churn.json (the churn description, for node-1)
and NAME-sSEED.node-1.ports (`compile --ports` for node-1's pods).

    import clusters
    c = clusters.ensure("broad", "10k", seed=1)    # c.path, c.churn, c.ports, c.name
"""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out", "clusters")
GEN = os.path.join(HERE, "gen_cluster.py")
SIZES = {"1k": "small", "10k": "medium", "50k": "large"}
MIXES = ("old", "broad")
NODE = "node-1"


class Cluster:
    def __init__(self, name, path, churn, ports, args):
        self.name, self.path, self.churn, self.ports, self.args = name, path, churn, ports, args

    def load_churn(self):
        with open(self.churn) as f:
            return json.load(f)


def _stale(path, *deps):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return True
    t = os.path.getmtime(path)
    return any(os.path.getmtime(d) > t for d in deps)


def _run(argv, say):
    say(" ".join(os.path.relpath(a, os.getcwd()) if a.startswith("/") else a for a in argv[1:]))
    subprocess.run(argv, check=True)


def gen_args(mix, size):
    if size not in SIZES:
        raise ValueError("size must be one of %s" % ", ".join(SIZES))
    if mix not in MIXES:
        raise ValueError("mix must be one of %s" % ", ".join(MIXES))
    preset = SIZES[size]
    name = preset if mix == "old" else "broad-" + preset
    # The old mix as compile-bench.sh writes it (same bytes as --preset).
    old = {"small": ["--pods", "1000", "--policies", "100", "--nodes", "5"],
           "medium": ["--pods", "10000", "--policies", "1000", "--nodes", "50"],
           "large": ["--pods", "50000", "--policies", "5000", "--nodes", "250"]}
    args = old[preset] if mix == "old" else ["--mix", "broad", "--preset", preset]
    return name, args


def ensure(mix, size, seed=1, regen=False, events=100, storm=1000, say=None,
           path=None):
    """The cluster of 'mix' and 'size' (or the file 'path'), with its churn
    description and node-1 ports file, generated when missing or stale."""
    say = say or (lambda m: sys.stderr.write("[clusters] %s\n" % m))
    os.makedirs(OUT, exist_ok=True)
    if path:
        path = os.path.abspath(path)
        base = os.path.splitext(path)[0]
        name, args = os.path.basename(base), None
    else:
        name, args = gen_args(mix, size)
        base = os.path.join(OUT, "%s-s%d" % (name, seed))
        path = base + ".json"
        if regen or _stale(path, GEN):
            _run([sys.executable, GEN] + args + ["--seed", str(seed), "-o", path + ".tmp",
                                                  "--meta", base + ".meta.json"], say)
            os.replace(path + ".tmp", path)
    churn = "%s.churn-e%d-s%d.json" % (base, events, storm)
    if regen or _stale(churn, GEN, path):
        _run([sys.executable, GEN, "--churn-for", path, "--seed", str(seed), "--churn-node", NODE,
              "--churn-events", str(events), "--churn-storm", str(storm), "-o", churn + ".tmp"], say)
        os.replace(churn + ".tmp", churn)
    ports = "%s.%s.ports" % (base, NODE)
    if regen or _stale(ports, GEN, path):
        _run([sys.executable, GEN, "--ports-for", path, "--ports-node", NODE, "-o", ports + ".tmp"], say)
        os.replace(ports + ".tmp", ports)
    return Cluster(name, path, churn, ports, args)
