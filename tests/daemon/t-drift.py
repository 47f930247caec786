#!/usr/bin/env python3
"""Drift repair: someone else changes our flows.

With --drift-interval 1, ovs-ofctl (as a foreign controller would):
  - deletes one of our flows: table 0's "ip -> ct(table=1)", after which
    IPv4 skips conntrack and policy and hits the catch-all NORMAL (the
    denied pair y/a -> x/a:80 gets through: the harm is real);
  - changes the actions of another (table 1's "+inv drop" -> NORMAL);
  - adds a flow with our cookie that we never installed;
  - adds a foreign flow (cookie 0x1234) that is none of our business.
PASS when, within 5 s, the deleted and the changed flows are back as they
were, the flow with our cookie is gone, the foreign flow is still there,
status counts a repair, and the probes (x/b -> x/a:80 allowed, y/a ->
x/a:80 denied) are right again.
"""
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

FOREIGN = "cookie=0x1234,table=0,priority=5,udp,tp_dst=9,actions=drop"


def find(flows, *parts):
    return [l for c, l in flows if all(p in l for p in parts)]


def drift_counts(bed):
    """(checks, repairs) from status."""
    d = bed.status_field("drift") or ""
    try:
        a, b = d.split(",")
        return int(a.split()[0]), int(b.split()[0])
    except ValueError:
        return -1, -1


def wait_checks(bed, n, limit=5.0):
    t = time.monotonic()
    while drift_counts(bed)[0] < n and time.monotonic() - t < limit:
        time.sleep(0.05)
    return drift_counts(bed)


def test(bed):
    bed.start(daemon_args=["--drift-interval", "1"])
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    bed.purge()
    problems = []
    f0 = bed.flows()
    gen = dlib.generations(f0)[0]
    before = dlib.canonical(f0)
    ct_flow = find(f0, "table=0", "priority=90,ip ", "ct(")
    inv_flow = find(f0, "table=1", "ct_state=+inv+trk", "drop")
    if len(ct_flow) != 1 or len(inv_flow) != 1:
        return False, "cannot find the flows to tamper with: %s %s" % (ct_flow, inv_flow)
    dlib.log("our flows: %d, generation %d; drift: %s" % (
        len(dlib.ours(f0)), gen, bed.status_field("drift")))
    for src, want in (("x/b", "allowed"), ("y/a", "denied")):
        got = bed.probe_once(src, dlib.SERVER)
        dlib.log("before: %s -> x/a:80 %s" % (src, got))
        if got != want:
            problems.append("before tampering: %s -> x/a:80 %s" % (src, got))

    # no false alarm: a check of the untouched table repairs nothing
    checks, repairs = wait_checks(bed, 1)
    dlib.log("untouched: drift %d checks, %d repairs" % (checks, repairs))
    if checks < 1 or repairs != 0:
        problems.append("untouched table: %d checks, %d repairs" % (checks, repairs))

    impostor = ("cookie=%#x,table=0,priority=6,udp,tp_dst=7,actions=NORMAL"
                % ((dlib.COOKIE_PREFIX << 48) | (gen << 40) | (1 << 32)))
    t0 = time.monotonic()
    bed.ofctl("--strict", "del-flows", "br-int", "table=0,priority=90,ip")
    bed.ofctl("--strict", "mod-flows", "br-int",
              "table=1,priority=200,ct_state=+inv+trk,actions=NORMAL")
    bed.ofctl("add-flow", "br-int", impostor)
    bed.ofctl("add-flow", "br-int", FOREIGN)
    dlib.log("tampered: deleted %r, changed %r to NORMAL, added %r and %r" % (
        dlib.strip_stats(ct_flow[0]), dlib.strip_stats(inv_flow[0]), impostor, FOREIGN))
    bed.purge()
    got = bed.probe_once("y/a", dlib.SERVER)
    dlib.log("right after: y/a -> x/a:80 %s%s" % (
        got, " (the hole the deletion made)" if got == "allowed" else
        " (already repaired?)"))
    repaired = None
    while time.monotonic() - t0 < 5:
        f = bed.flows()
        if dlib.canonical(f) == before:
            repaired = time.monotonic() - t0
            break
        time.sleep(0.05)
    f = bed.flows()
    if repaired is None:
        problems.append("our table was not restored within 5 s")
    if not find(f, "cookie=0x1234", "tp_dst=9"):
        problems.append("the foreign flow was removed")
    if find(f, "tp_dst=7"):
        problems.append("the flow with our cookie that we never installed is still there")
    drift = bed.status_field("drift")
    dlib.log("after: table restored in %s; foreign flow %s; drift: %s; generation %s" % (
        "%.2f s" % repaired if repaired is not None else "NEVER",
        "kept" if find(f, "cookie=0x1234") else "GONE", drift, dlib.generations(f)))
    checks1, repairs1 = drift_counts(bed)
    if repairs1 < 1:
        problems.append("status shows no repair: %r" % drift)
    # and then quiet: the repaired table raises no further alarm
    checks2, repairs2 = wait_checks(bed, checks1 + 2)
    dlib.log("two checks later: drift %d checks, %d repairs" % (checks2, repairs2))
    if repairs2 != repairs1:
        problems.append("repairs went on after the table was restored (%d -> %d)"
                        % (repairs1, repairs2))
    bed.purge()
    for src, want in (("x/b", "allowed"), ("y/a", "denied")):
        got = bed.probe_once(src, dlib.SERVER)
        dlib.log("after repair: %s -> x/a:80 %s" % (src, got))
        if got != want:
            problems.append("after repair: %s -> x/a:80 %s" % (src, got))
    summary = ("restored %s after the tampering; foreign flow kept: %s; status drift: "
               "%s%s" % ("%.2f s" % repaired if repaired is not None else "NEVER",
                         "yes" if not any("foreign" in p for p in problems) else "NO",
                         drift, "; " + "; ".join(problems) if problems else ""))
    return not problems, summary


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("drift-repair", test))
