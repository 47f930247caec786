#!/usr/bin/env python3
"""ovs-vswitchd restart under a running daemon.

x/b -> x/a:80 (allowed) and y/a -> x/a:80 (denied) are probed every 20 ms
while `ovs/sandbox.sh restart-vswitchd` kills the switch and starts it
again (it comes back with no flows; br-int is fail-mode secure, so it drops
everything until a controller installs flows).  The daemon must reconnect
and reinstall.  PASS when
  - no denied probe passed, ever;
  - every failed allowed probe was sent between the kill (minus one probe
    timeout: a probe in flight then loses its answer) and the moment our
    flows were back in the switch;
  - our flows are back within 2.5 s of the switch (the daemon retries
    every 50 ms for the first 2 s after it lost the switch);
  - after the switch is back: the flows equal the table before (apart
    from the generation), 'sync' succeeds, status counts one more full
    replace.
Reports: the switch's own downtime (kill to management socket back), the
time from there to our flows being back (the daemon's reconnection), and
the gap in allowed probes.
"""
import argparse
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402


def test(bed, rounds):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    bed.purge()
    f0 = bed.flows()
    table0 = dlib.canonical(f0)
    n_ours = len(dlib.ours(f0))
    problems = []
    bed.prober("x/b", dlib.SERVER, "allowed", 20000)
    bed.prober("y/a", dlib.SERVER, "denied", 20000)
    time.sleep(1.0)
    windows = []
    for r in range(rounds):
        replaces0 = bed.status_field("commits")
        gen0 = dlib.generations(bed.flows())
        t_kill = time.monotonic()
        dlib.run([dlib.SANDBOX_SH, "restart-vswitchd", bed.sb])
        t_back = time.monotonic()
        # our flows back: poll the switch
        t_flows = None
        while time.monotonic() - t_back < 15:
            f = bed.flows(check=False)
            if f is not None and len(dlib.ours(f)) >= n_ours:
                t_flows = time.monotonic()
                break
            time.sleep(0.005)
        if t_flows is None:
            problems.append("round %d: our flows were not back 15 s after the switch" % r)
            break
        bed.sync()
        f = bed.flows()
        if dlib.canonical(f) != table0:
            problems.append("round %d: the reinstalled table differs" % r)
        st = bed.status_field("commits")
        if t_flows - t_back > 2.5:
            problems.append("round %d: our flows came back %.1f s after the switch "
                            "(fast retries for 2 s after the loss)" % (r, t_flows - t_back))
        windows.append((t_kill, t_back, t_flows))
        dlib.log("round %d: switch down %.0f ms (kill to management socket), our "
                 "flows back %.0f ms later; generation %s -> %s; commits: %s -> %s"
                 % (r, (t_back - t_kill) * 1000, (t_flows - t_back) * 1000, gen0,
                    dlib.generations(f), replaces0, st))
        time.sleep(1.5)
    res = bed.stop_probers()
    allowed, denied = res["allowed"], res["denied"]
    bad_denied = dlib.judge(denied, "denied")
    bad_allowed = dlib.judge(allowed, "allowed")
    dlib.log("allowed pair: %d probes %s; denied pair: %d probes %s" % (
        len(allowed), dlib.summarize(allowed), len(denied), dlib.summarize(denied)))
    if bad_denied:
        problems.append("%d denied probes passed" % len(bad_denied))
        for t, r, ms in bad_denied[:10]:
            dlib.log("    denied probe passed: sent at %.3f (%s)" % (t, r))
    timeout = 0.9
    outside = []
    gaps = []
    for i, (t_kill, t_back, t_flows) in enumerate(windows):
        fails = [t for t, r, ms in bad_allowed if t_kill - timeout <= t <= t_flows + 0.05]
        if fails:
            gaps.append("round %d: allowed probes failed from %+.0f ms to %+.0f ms "
                        "around the kill (%d probes; switch back at %+.0f ms, "
                        "flows at %+.0f ms)" % (
                            i, (fails[0] - t_kill) * 1000, (fails[-1] - t_kill) * 1000,
                            len(fails), (t_back - t_kill) * 1000,
                            (t_flows - t_kill) * 1000))
        else:
            gaps.append("round %d: no allowed probe failed" % i)
        dlib.log(gaps[-1])
    for t, r, ms in bad_allowed:
        if not any(k - timeout <= t <= fl + 0.05 for k, _, fl in windows):
            outside.append((t, r, ms))
    if outside:
        problems.append("%d allowed probes failed outside the switch's downtime" % len(outside))
        for t, r, ms in outside[:10]:
            dlib.log("    allowed probe failed outside: sent at %.3f (%s)" % (t, r))
    down = ["%.0f+%.0f ms" % ((b - k) * 1000, (fl - b) * 1000) for k, b, fl in windows]
    summary = ("%d switch restarts (down + reinstall: %s); %d denied probes, none "
               "passed%s; %d allowed probes, %d failed, all while the switch was "
               "down or empty%s" % (
                   len(windows), ", ".join(down), len(denied),
                   "" if not bad_denied else " -- NO: %d passed" % len(bad_denied),
                   len(allowed), len(bad_allowed),
                   "" if not outside else " -- NO: %d outside" % len(outside)))
    if problems:
        summary += "; " + "; ".join(problems)
    return not problems, summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    sys.exit(dlib.main_wrapper("vswitchd-restart", lambda bed: test(bed, a.rounds)))
