#!/usr/bin/env python3
"""Replays every case of the shared conformance examples through the oracle
and exits 1 on any verdict that differs.

usage: check_shared.py [CONFORMANCE_DIR]   (default: ../shared/conformance
       next to the work tree, or $NETPOL_CONFORMANCE)"""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netpol_oracle as o  # noqa: E402


def default_dir():
    env = os.environ.get("NETPOL_CONFORMANCE")
    if env:
        return env
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for cand in (os.path.join(root, "..", "shared", "conformance"),
                 "/work/shared/conformance"):
        if os.path.isdir(cand):
            return os.path.abspath(cand)
    return None


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else default_dir()
    if not d or not os.path.isdir(d):
        print("check_shared: no conformance directory found", file=sys.stderr)
        return 2
    model = o.load_json(os.path.join(d, "model.json"))
    files = sorted(glob.glob(os.path.join(d, "cases", "*.json")))
    if not files:
        print("check_shared: no cases in %s" % d, file=sys.stderr)
        return 2
    n_fail = n_probes = 0
    for f in files:
        case = o.load_json(f)
        n = sum(len(s.get("probes") or []) for s in case["steps"])
        n_probes += n
        bad = o.replay_case(model, case)
        print("%s %s (%d probes%s)" % ("ok  " if not bad else "FAIL",
                                      os.path.basename(f), n,
                                      ", %d differ" % len(bad) if bad else ""))
        for b in bad[:20]:
            print("    " + b)
        n_fail += bool(bad)
    print("%d passed, %d failed" % (len(files) - n_fail, n_fail))
    print("(%d probes in %d shared cases)" % (n_probes, len(files)))
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
