#!/usr/bin/env python3
"""Checks the ClusterNetworkPolicy corpus, tests/cases-cnp/*.json:
  1. every verdict of every case file is what the oracle computes now;
  2. the U-* cases carry, step by step, exactly the probes and verdicts the
     upstream conformance tests assert (upstream_cnp_asserts.json), and
     change the cluster in exactly the subtests upstream patches it in;
  3. the documentation cases' hand-derived grids (cnp_doc.py) equal the
     oracle's verdicts;
  4. the directory holds exactly the cases gen_cnp_cases.py generates.
Exit 1 on any difference."""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import caselib as L  # noqa: E402
import cnp_doc  # noqa: E402
import cnp_upstream as U  # noqa: E402
import gen_cnp_cases as G  # noqa: E402  (G.OUT)
import netpol_oracle as o  # noqa: E402


def main(directory=G.OUT):
    fails = 0
    files = sorted(f for f in glob.glob(os.path.join(directory, "*.json"))
                   if os.path.basename(f) != "model.json")
    n_probes = n_up = 0
    asserts = U.load_asserts()
    for f in files:
        doc = o.load_json(f)
        bad = o.replay_case(L.MODEL, doc)
        n = sum(len(s["probes"]) for s in doc["steps"])
        n_probes += n
        name = os.path.basename(f)[:-5]
        if name.startswith("U-"):
            test = name[2:]
            # Per step (subtest, or part of one), as a set: a probe already
            # in the step's matrix keeps its place there.
            _, steps = U.build_steps(test)
            want = [sorted((p["from"], p["to"], p["port"], p["protocol"],
                            p["allowed"]) for p in st[3]) for st in steps]
            got = [sorted((p["from"], p["to"], p["port"], p["protocol"],
                           p["allowed"]) for p in st["probes"] if p.get("upstream"))
                   for st in doc["steps"]]
            flat = sorted((U._ref(p["from"]), U._ref(p["to"]), U.probe_port(p),
                           p["protocol"], p["allowed"])
                          for st in asserts[test]["subtests"] for p in st["probes"])
            # The subtests upstream patches the cluster in are those our
            # plan gives a mutation.
            for sub, plan in zip(asserts[test]["subtests"], U.TESTS[test][1]):
                if bool(sub.get("patches")) != any(m for m, _ in plan or []):
                    bad.append("subtest %r: upstream patches %s, our plan %s" % (
                        sub["title"], sub.get("patches"), plan))
            n_up += sum(len(g) for g in got)
            if got != want or sorted(sum(want, [])) != flat:
                bad.append("upstream probes differ from %s's assertions" % test)
        print("%s %s (%d probes%s)" % ("ok  " if not bad else "FAIL",
                                      os.path.basename(f), n,
                                      ", %d differ" % len(bad) if bad else ""))
        for b in bad[:20]:
            print("    " + b)
        fails += bool(bad)
    for doc, hand in zip(cnp_doc.build_all(), cnp_doc.build_all("hand")):
        if doc != hand:
            fails += 1
            print("FAIL %s: the oracle disagrees with the hand grids" % doc["name"])
            for hs, cs in zip(hand["steps"], doc["steps"]):
                for a, b in zip(hs["probes"], cs["probes"]):
                    if a != b:
                        print("    %s -> %s %s/%s: hand %s, oracle %s" % (
                            a["from"], a["to"], a["port"], a["protocol"],
                            a["allowed"], b["allowed"]))
    expected = {"U-%s.json" % t for t in U.TESTS} | {
        "%03d-%s.json" % (i, c.slug) for i, c in enumerate(cnp_doc.CASES, 1)}
    have = {os.path.basename(f) for f in files}
    if expected != have:
        fails += 1
        print("FAIL case set: missing %s, not generated %s" % (
            sorted(expected - have), sorted(have - expected)))
    print("%d cases, %d probes (%d upstream assertions); %d failed" % (
        len(files), n_probes, n_up, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
