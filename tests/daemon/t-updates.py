#!/usr/bin/env python3
"""Many policy updates in a row under continuous probes.

Every update rewrites policy.json (atomically: a dot-named temporary file,
renamed) with version k: allow-x admits namespace x and an ipBlock
192.168.(k mod 250).0/24 on ports 80 and 1000+k, and a deny-all policy of
namespace x exists for even k only.  Every version changes flows (the
port, the block, the deny-all) but none changes the verdict of the probed
pairs: x/b -> x/a:80 allowed, y/a -> x/a:80 and z/a -> x/a:80 denied,
probed every 20 ms each from a new source port.

  phase 1: N updates, each followed by `sync` (each one committed):
           latency write -> sync answered
  phase 2: M updates without sync, each waited for in the switch
           (inotify path, includes the daemon's 50 ms settle time)
  phase 3: B updates back to back, then one sync: the last one wins

PASS when no probe ever got a wrong verdict, every sync succeeded, the
daemon committed at least N times in phase 1 and the final table is the
last version's.
"""
import argparse
import re
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402


def version(k):
    items = [dlib.allow_x(extra_ports=[1000 + k], ipblock="192.168.%d.0/24" % (k % 250))]
    if k % 2 == 0:
        items.append(dlib.policy("x", "deny-x", {"podSelector": {},
                                                 "policyTypes": ["Ingress"]}))
    return dlib.v1list(items)


def has_port(flows, port):
    pat = re.compile(r"tp_dst=%d(?![0-9])" % port)
    return any(pat.search(l) for _, l in flows)


def commits(bed):
    return int(bed.status_field("commits").split()[0])


def test(bed, n1, n2, n3):
    bed.start()
    k = 0
    bed.write("policy.json", version(k))
    bed.sync()
    bed.purge()
    problems = []
    bed.prober("x/b", dlib.SERVER, "allowed", 20000)
    bed.prober("y/a", dlib.SERVER, "denied", 20000)
    bed.prober("z/a", dlib.SERVER, "denied-z", 20000)
    time.sleep(0.5)

    c0 = commits(bed)
    lat1 = []
    t1 = time.monotonic()
    for _ in range(n1):
        k += 1
        t = time.monotonic()
        bed.write("policy.json", version(k))
        bed.sync()
        lat1.append(time.monotonic() - t)
    t1 = time.monotonic() - t1
    c1 = commits(bed)
    if not has_port(bed.flows(), 1000 + k):
        problems.append("phase 1: the last version's port is not in the switch")
    if c1 - c0 < n1:
        problems.append("phase 1: only %d commits for %d updates" % (c1 - c0, n1))
    dlib.log("phase 1: %d updates with sync in %.1f s, %d commits; write -> sync "
             "answered: p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
                 n1, t1, c1 - c0, dlib.percentile(lat1, 50) * 1000,
                 dlib.percentile(lat1, 99) * 1000, max(lat1) * 1000))

    lat2 = []
    for _ in range(n2):
        k += 1
        t = time.monotonic()
        bed.write("policy.json", version(k))
        while not has_port(bed.flows(), 1000 + k):
            if time.monotonic() - t > 10:
                problems.append("phase 2: version %d not in the switch after 10 s" % k)
                break
            time.sleep(0.002)
        lat2.append(time.monotonic() - t)
    if lat2:
        dlib.log("phase 2: %d updates without sync; write -> flows in the switch "
                 "(polled with dump-flows): p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
                     n2, dlib.percentile(lat2, 50) * 1000,
                     dlib.percentile(lat2, 99) * 1000, max(lat2) * 1000))

    c2 = commits(bed)
    t = time.monotonic()
    for _ in range(n3):
        k += 1
        bed.write("policy.json", version(k))
    tw = time.monotonic() - t
    bed.sync()
    t3 = time.monotonic() - t
    f = bed.flows()
    c3 = commits(bed)
    stale = [p for p in range(1000 + k - n3, 1000 + k) if has_port(f, p)]
    if not has_port(f, 1000 + k) or stale:
        problems.append("phase 3: the final table is not version %d (stale ports %s)"
                        % (k, stale[:5]))
    dlib.log("phase 3: %d updates back to back in %.0f ms, synced %.0f ms after the "
             "first: %d commits; final table = version %d" % (
                 n3, tw * 1000, t3 * 1000, c3 - c2, k))
    time.sleep(0.3)
    res = bed.stop_probers()
    for label, expect in (("allowed", "allowed"), ("denied", "denied"),
                          ("denied-z", "denied")):
        rows = res[label]
        bad = dlib.judge(rows, expect)
        dlib.log("%s pair: %d probes %s" % (label, len(rows), dlib.summarize(rows)))
        for t, r, ms in bad[:10]:
            dlib.log("    wrong: sent at %.3f: %s after %.1f ms" % (t, r, ms))
        if bad:
            problems.append("%d %s probes wrong" % (len(bad), label))
    dlib.log("status:\n  " + bed.status().strip().replace("\n", "\n  "))
    n = sum(len(v) for v in res.values())
    summary = ("%d updates (%d synced one by one: p50 %.1f ms, p99 %.1f ms; %d via "
               "inotify: p50 %.1f ms, p99 %.1f ms; %d back to back); %d probes, %s" % (
                   n1 + n2 + n3, n1, dlib.percentile(lat1, 50) * 1000,
                   dlib.percentile(lat1, 99) * 1000, n2,
                   dlib.percentile(lat2, 50) * 1000, dlib.percentile(lat2, 99) * 1000,
                   n3, n, "; ".join(problems) if problems else "no wrong verdict"))
    return not problems, summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--synced", type=int, default=1000, help="phase 1 updates")
    ap.add_argument("--inotify", type=int, default=50, help="phase 2 updates")
    ap.add_argument("--burst", type=int, default=500, help="phase 3 updates")
    a = ap.parse_args()
    sys.exit(dlib.main_wrapper("policy-updates", lambda bed: test(
        bed, a.synced, a.inotify, a.burst)))
