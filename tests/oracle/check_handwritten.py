#!/usr/bin/env python3
"""Compares the oracle with the hand-derived verdicts of the hand-written
cases (tests/cases/9NN-hand-*.json, from handwritten.py).  Checks both the
definitions in handwritten.py and the files on disk; exit 1 on any
difference."""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import caselib as L  # noqa: E402
import handwritten  # noqa: E402
import netpol_oracle as o  # noqa: E402


def main():
    fails = 0
    docs = [(d["name"] + " (handwritten.py)", d) for d in handwritten.build_all()]
    files = sorted(glob.glob(os.path.join(L.CASES_DIR, "*-hand-*.json")))
    docs += [(os.path.basename(f), o.load_json(f)) for f in files]
    if len(files) != len(handwritten.CASES):
        print("expected %d hand-written files in %s, found %d (run gen_cases.py)" % (
            len(handwritten.CASES), L.CASES_DIR, len(files)))
        fails += 1
    for name, doc in docs:
        n = sum(len(s["probes"]) for s in doc["steps"])
        bad = o.replay_case(L.MODEL, doc)
        print("%s %s (%d probes%s)" % ("ok  " if not bad else "FAIL", name, n,
                                      ", %d differ" % len(bad) if bad else ""))
        for b in bad[:30]:
            print("    " + b)
        fails += bool(bad)
    print("%d passed, %d failed" % (len(docs) - min(fails, len(docs)), fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
