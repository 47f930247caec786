#!/usr/bin/env python3
"""The spoof guard across daemon restarts, with real packets.

y/a sends TCP SYNs to x/a:80 with x/b's source address (forged, raw
socket, ~PPS per second) while ovs-netpold is restarted CYCLES times
(alternately SIGTERM and SIGKILL); a sniffer on x/a's eth0 counts the
forged SYNs that arrive.  allow-x admits x/b, so only the spoof guard
(table 2: x/b's address from any port but x/b's is dropped) stands in the
way.  A daemon whose first table after a start lacks the port bindings
(they come from OVSDB) guards by address alone until they arrive, and the
forged SYNs get through in that window.

Control: the same sender before the restarts, for CONTROL seconds, must
deliver nothing; and x/b -> x/a:80 probed normally is allowed (so the path
works).  PASS when no forged SYN arrived.
"""
import argparse
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

SPOOF = os.path.join(dlib.HERE, "spoof.py")


def spawn(bed, netns, args):
    return subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, SPOOF] + args,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def finish(p, times=None):
    p.stdin.close()
    out = p.stdout.read().split()
    p.wait(timeout=10)
    if times is not None:
        times.extend(float(t) for t in out[1:])
    return int(out[0]) if out else -1


def test(bed, cycles, pps, control):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    bed.purge()
    xa, xb, ya = bed.pods["x/a"], bed.pods["x/b"], bed.pods["y/a"]
    problems = []
    got = bed.probe_once("x/b", xa["ip"])
    if got != "allowed":
        problems.append("x/b -> x/a:80 %s" % got)
    args_send = ["send", "--src", xb["ip"], "--dst", xa["ip"], "--port", "80",
                 "--pps", str(pps)]
    args_count = ["count", "--src", xb["ip"], "--port", "80"]

    cnt = spawn(bed, xa["netns"], args_count)
    time.sleep(0.3)
    snd = spawn(bed, ya["netns"], args_send)
    time.sleep(control)
    sent0, got0 = finish(snd), finish(cnt)
    dlib.log("control: %d forged SYNs sent in %.0f s with the daemon running, %d arrived"
             % (sent0, control, got0))
    if got0:
        problems.append("control: %d forged SYNs arrived without any restart" % got0)

    cnt = spawn(bed, xa["netns"], args_count)
    time.sleep(0.3)
    snd = spawn(bed, ya["netns"], args_send)
    unbound = 0
    cycle_log = []
    for i in range(cycles):
        sig = signal.SIGTERM if i % 2 == 0 else signal.SIGKILL
        t_stop = time.monotonic()
        bed.stop_daemon(sig)
        time.sleep(0.1)
        t_start = time.monotonic()
        bed.start_daemon()
        t_synced = time.monotonic()
        with open(bed.daemon_log) as f:
            text = f.read().split("\n==== ")[-1]
        first = [l for l in text.splitlines() if "installed" in l and "generation" in l]
        ub = bool(first) and "installed %d flows" % len(dlib.ours(bed.flows())) not in first[0]
        unbound += ub
        cycle_log.append((i, sig, ub, t_stop, t_start, t_synced))
        time.sleep(0.1)
    time.sleep(0.3)
    times = []
    sent, arrived = finish(snd), finish(cnt, times)
    for i, sig, ub, t_stop, t_start, t_synced in cycle_log:
        down = sum(1 for t in times if t_stop <= t < t_start)
        start = sum(1 for t in times if t_start <= t < t_synced + 0.05)
        dlib.log("  restart %2d (%s): first table %s; forged SYNs arrived: %d while "
                 "stopped, %d while starting" % (
                     i, "SIGTERM" if sig == signal.SIGTERM else "SIGKILL",
                     "WITHOUT port bindings" if ub else "complete", down, start))
        if start and not ub:
            problems.append("restart %d: forged SYNs arrived although the first "
                            "table was complete" % i)
    dlib.log("%d restarts: %d forged SYNs sent, %d arrived at x/a; %d starts whose "
             "first table lacked the port bindings (daemon log)" % (
                 cycles, sent, arrived, unbound))
    if arrived:
        problems.append("%d forged SYNs from y/a with x/b's address reached x/a during "
                        "%d restarts (%d with a first table without bindings)"
                        % (arrived, cycles, unbound))
    summary = ("%d restarts, %d forged SYNs, %d arrived%s" % (
        cycles, sent, arrived, "; " + "; ".join(problems) if problems else ""))
    return not problems, summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--pps", type=int, default=10000)
    ap.add_argument("--control", type=float, default=2.0)
    a = ap.parse_args()
    sys.exit(dlib.main_wrapper("spoof-restart", lambda bed: test(
        bed, a.cycles, a.pps, a.control)))
