#!/usr/bin/env python3
"""A long switch outage: few attempts, two log lines, status says so.

ovs-vswitchd is stopped (`sandbox.sh stop-vswitchd`: its management
socket goes) for OUTAGE seconds (default 20) under a running daemon, then
started again (`sandbox.sh start-vswitchd`).  strace counts the daemon's connect()
calls to br-int.mgmt meanwhile.  PASS when
  - the daemon tried, but not often: at most MAX_ATTEMPTS connections in
    the outage (fast retries for 2 s, then the wait doubles up to 4 s:
    about 50 in 20 s; a retry every 50 ms would be 400), and status
    counts about as many;
  - the log got at most MAX_LINES lines in the outage and the
    reconnection (one when it began, one when it ended with its
    duration, the reinstall), none of them rconn's per-attempt warnings;
  - status says "not connected for N s" during the outage, N growing,
    and "connected" after;
  - our flows are back within BACK_WITHIN s of the switch (the longest
    wait between attempts, 4 s, plus the reinstall), the table as before.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

MAX_ATTEMPTS = 70
MAX_LINES = 5
BACK_WITHIN = 5.5


def log_lines(bed):
    with open(bed.daemon_log) as f:
        return f.read().splitlines()


def test(bed, outage):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    table0 = dlib.canonical(bed.flows())
    n_ours = len(dlib.ours(bed.flows()))
    problems = []
    trace_out = os.path.join(bed.work, "connect.strace")
    strace = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=connect",
                               "-o", trace_out, "-p", str(bed.daemon.pid)],
                              stderr=subprocess.DEVNULL)
    try:
        # attached, and the connection is old enough (2 s) to earn the
        # fast retries after it is lost
        time.sleep(3.0)
        lines0 = len(log_lines(bed))
        t_stop = time.monotonic()
        dlib.run([dlib.SANDBOX_SH, "stop-vswitchd", bed.sb])
        seen = []
        while time.monotonic() - t_stop < outage:
            time.sleep(2.0)
            b = bed.status_field("bridge") or ""
            seen.append((time.monotonic() - t_stop, b))
        with open(trace_out) as f:
            attempts = sum(1 for l in f if "br-int.mgmt" in l)
        m = re.search(r"not connected for ([0-9.]+) s, (\d+) attempts", seen[-1][1])
        status_attempts = int(m.group(2)) if m else None

        dlib.run([dlib.SANDBOX_SH, "start-vswitchd", bed.sb])
        t_back = time.monotonic()
        t_flows = None
        while time.monotonic() - t_back < 15:
            f = bed.flows(check=False)
            if f is not None and len(dlib.ours(f)) >= n_ours:
                t_flows = time.monotonic()
                break
            time.sleep(0.01)
    finally:
        strace.send_signal(signal.SIGINT)
        strace.wait(timeout=10)
    if t_flows is None:
        return False, "our flows were not back 15 s after the switch"
    bed.sync()
    after = bed.status_field("bridge") or ""
    new = log_lines(bed)[lines0:]
    dlib.log("outage %.0f s: %d connect() calls to br-int.mgmt (strace), "
             "status counted %s" % (outage, attempts, status_attempts))
    for t, b in seen:
        dlib.log("  status at %4.1f s: %s" % (t, b))
    dlib.log("switch back: our flows %.0f ms later; status after: %s"
             % ((t_flows - t_back) * 1e3, after))
    dlib.log("log lines in the outage and the reconnection: %d" % len(new))
    for l in new[:12]:
        dlib.log("  | " + l[:200])
    if len(new) > 12:
        dlib.log("  | ... %d more" % (len(new) - 12))

    if attempts > MAX_ATTEMPTS:
        problems.append("%d connection attempts in %.0f s (at most %d)"
                        % (attempts, outage, MAX_ATTEMPTS))
    if attempts < 10:
        problems.append("only %d connection attempts in %.0f s: strace saw "
                        "nothing, or the daemon gave up" % (attempts, outage))
    if status_attempts is None or abs(status_attempts - attempts) > 3:
        problems.append("status counted %s attempts, strace %d"
                        % (status_attempts, attempts))
    durations = []
    for t, b in seen:
        m = re.search(r"not connected for ([0-9.]+) s", b)
        if not m:
            problems.append("status at %.1f s of the outage: %r" % (t, b))
        else:
            durations.append(float(m.group(1)))
    if durations != sorted(durations) or (durations and durations[-1] < outage - 3):
        problems.append("status durations %s do not follow the outage" % durations)
    if not after.startswith("br-int (connected)"):
        problems.append("status after the outage: %r" % after)
    if len(new) > MAX_LINES:
        problems.append("%d log lines in the outage (at most %d)"
                        % (len(new), MAX_LINES))
    if any("rconn" in l for l in new):
        problems.append("rconn's per-attempt warnings are in the log")
    if not any("connection lost" in l for l in new):
        problems.append("no log line when the outage began")
    if not any(re.search(r"after [0-9.]+ s without it", l) for l in new):
        problems.append("no log line with the outage's duration when it ended")
    if t_flows - t_back > BACK_WITHIN:
        problems.append("our flows back %.1f s after the switch (at most %.1f)"
                        % (t_flows - t_back, BACK_WITHIN))
    if dlib.canonical(bed.flows()) != table0:
        problems.append("the reinstalled table differs")
    summary = ("%.0f s outage: %d attempts, %d log lines, flows back %.0f ms "
               "after the switch" % (outage, attempts, len(new),
                                     (t_flows - t_back) * 1e3))
    if problems:
        return False, summary + "; " + "; ".join(problems)
    return True, summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outage", type=float, default=20.0)
    a = ap.parse_args()
    sys.exit(dlib.main_wrapper("outage", lambda bed: test(bed, a.outage)))
