#!/usr/bin/env python3
"""Per-rule counters: `ovs-netpol stats` and /metrics against real packets.

The daemon runs with --http 127.0.0.1:PORT; allow-x admits namespace x to
x/a:80.  Steps:

  1. baseline: `stats --json` (through ovs-appctl) lists allow-x's ingress
     rule 0 and x/a's ingress default deny, and nothing of x/a's egress
     (x/a is isolated for ingress only);
  2. N probes x/b -> x/a:80 (allowed): allow-x ingress rule 0 grows by at
     least 2N packets (each connection's SYN and handshake ACK are in the
     original direction), x/a's default deny does not move;
  3. M probes y/a -> x/a:80 (denied, each one SYN: the probe gives up
     before the first retransmission): x/a's ingress default deny grows by
     exactly M packets, allow-x does not move;
  4. --policy x/allow-x shows only the rule, --pod x/a only the default
     deny (through `ovs-netpol --control`), bad arguments are errors that
     name them;
  5. /metrics shows ovs_netpol_rule_packets_total and
     ovs_netpol_denied_packets_total with the numbers `stats` shows;
  6. ovs-vswitchd restarted (every flow replaced, the switch's counters
     back at 0): no counter goes back, and K more denied probes add
     exactly K.
"""
import json
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

N = 5       # allowed probes
M = 7       # denied probes
K = 3       # denied probes after the switch restarted


def stats(bed, *args):
    return dlib.stats_json(bed, *args)


def rule(st, policy="allow-x", direction="ingress", idx=0):
    for r in st["rules"]:
        if (r["namespace"], r["policy"], r["direction"], r["rule"]) == \
                ("x", policy, direction, idx):
            return r["packets"]
    return None


def denied(st, pod="a", direction="ingress"):
    for r in st["denied"]:
        if (r["namespace"], r["pod"], r["direction"]) == ("x", pod, direction):
            return r["packets"]
    return None


def wait_for(bed, pred, what, timeout=20):
    return dlib.stats_wait(bed, pred, what, timeout)


def settle(bed):
    return dlib.stats_settle(bed, lambda st: (st["rules"], st["denied"]))


def metrics(port):
    return {(name, tuple(sorted(labels.items()))): v
            for name, labels, v in dlib.labelled_metrics(
                dlib.metrics_body(port),
                r'ovs_netpol_(?:rule|denied)_(?:packets|bytes)_total')}


def test(bed):
    problems = []
    try:
        return steps(bed, problems)
    except AssertionError as e:
        # a wait that timed out: report it with what was found before
        return False, "; ".join(problems + [str(e)])


def steps(bed, problems):
    port = dlib.free_port()
    bed.start(daemon_args=["--http", "127.0.0.1:%d" % port])
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    ofpv = None

    # 1. baseline
    st0 = wait_for(bed, lambda s: rule(s) is not None and denied(s) is not None,
                   "allow-x ingress rule 0 and x/a's default deny listed")
    if denied(st0, direction="egress") is not None:
        problems.append("x/a has an egress default-deny counter: %s" % st0["denied"])
    if rule(st0, direction="egress") is not None:
        problems.append("allow-x has an egress rule counter: %s" % st0["rules"])
    r0, d0 = rule(st0), denied(st0)
    dlib.log("baseline: allow-x ingress 0: %d packets; x/a ingress deny: %d" % (r0, d0))

    # 2. allowed
    for i in range(N):
        v = bed.probe_once("x/b", dlib.SERVER)
        if v != "allowed":
            problems.append("x/b -> x/a probe %d: %s" % (i, v))
    st = wait_for(bed, lambda s: rule(s) >= r0 + 2 * N,
                  "allow-x ingress rule 0 grows by >= %d" % (2 * N))
    st = settle(bed)
    r1, d1 = rule(st), denied(st)
    dlib.log("after %d allowed probes: allow-x ingress 0: %d (+%d); x/a deny: %d (+%d)"
             % (N, r1, r1 - r0, d1, d1 - d0))
    if d1 != d0:
        problems.append("allowed probes moved x/a's default deny: %d -> %d" % (d0, d1))

    # 3. denied
    for i in range(M):
        v = bed.probe_once("y/a", dlib.SERVER)
        if v != "denied":
            problems.append("y/a -> x/a probe %d: %s" % (i, v))
    wait_for(bed, lambda s: denied(s) >= d1 + M,
             "x/a ingress default deny grows by >= %d" % M)
    st = settle(bed)
    r2, d2 = rule(st), denied(st)
    dlib.log("after %d denied probes: allow-x ingress 0: %d (+%d); x/a deny: %d (+%d)"
             % (M, r2, r2 - r1, d2, d2 - d1))
    if d2 != d1 + M:
        problems.append("x/a's ingress default deny grew by %d, not %d SYNs"
                        % (d2 - d1, M))
    if r2 != r1:
        problems.append("denied probes moved allow-x's rule: %d -> %d" % (r1, r2))
    bytes_denied = [r["bytes"] for r in st["denied"] if r["pod"] == "a"][0]
    if bytes_denied < 40 * d2:
        problems.append("x/a's denied bytes %d below 40 per packet" % bytes_denied)

    # 4. filters, the CLI, errors
    cli = dlib.find_bin("NP_CLI", "ovs-netpol")
    out = dlib.run([cli, "--control", bed.ctl, "stats", "--policy", "x/allow-x"]).stdout
    dlib.log(out)
    if not re.search(r"x/allow-x\s+ingress\s+0\s+%d\s" % r2, out) or "x/a " in out \
            or "default deny" in out:
        problems.append("stats --policy x/allow-x:\n%s" % out)
    out = dlib.run([cli, "--control", bed.ctl, "stats", "--pod", "x/a"]).stdout
    dlib.log(out)
    if not re.search(r"x/a\s+ingress\s+%d\s" % d2, out) or "allow-x" in out:
        problems.append("stats --pod x/a:\n%s" % out)
    both = stats(bed, "--pod", "x/b")
    if both["rules"] or both["denied"]:
        problems.append("stats --pod x/b (not isolated) lists %s" % both)
    for args, want in ((["--policy", "x"], "expected NAMESPACE/NAME"),
                       (["--policy", "x/none"], "no such NetworkPolicy"),
                       (["--pod", "q/a"], "no such pod"),
                       (["--bogus"], "unknown argument \"--bogus\""),
                       (["--pod"], "--pod needs")):
        p = bed.appctl("stats", *args, check=False)
        if p.returncode == 0 or want not in p.stderr:
            problems.append("stats %s: exit %d, %r (want %r)"
                            % (" ".join(args), p.returncode, p.stderr.strip(), want))

    # 5. /metrics: the same numbers (nothing moved since)
    stats(bed)
    m = metrics(port)
    rule_key = ("ovs_netpol_rule_packets_total",
                (("direction", "ingress"), ("namespace", "x"),
                 ("policy", "allow-x"), ("rule", "0")))
    deny_key = ("ovs_netpol_denied_packets_total",
                (("direction", "ingress"), ("namespace", "x"), ("pod", "a")))
    dlib.log("/metrics: rule %s, denied %s" % (m.get(rule_key), m.get(deny_key)))
    if m.get(rule_key) != r2 or m.get(deny_key) != d2:
        problems.append("/metrics: rule %s (stats %d), denied %s (stats %d); all: %s"
                        % (m.get(rule_key), r2, m.get(deny_key), d2, m))
    if any(k[0] == "ovs_netpol_denied_packets_total"
           and ("pod", "a") in k[1] and ("direction", "egress") in k[1] for k in m):
        problems.append("/metrics has an egress default deny for x/a")

    # 6. the switch restarted: every flow replaced, counters from 0
    replaces = bed.status_field("commits")
    dlib.run([dlib.SANDBOX_SH, "restart-vswitchd", bed.sb])
    t = time.monotonic()
    while bed.status_field("commits") == replaces or not bed.flows(check=False):
        if time.monotonic() - t > 30:
            raise AssertionError("flows not back 30 s after restarting the switch")
        time.sleep(0.2)
    bed.sync()
    st = stats(bed)
    r3, d3 = rule(st), denied(st)
    dlib.log("after the switch restarted: allow-x ingress 0: %s; x/a deny: %s" % (r3, d3))
    if r3 is None or d3 is None or r3 < r2 or d3 < d2:
        problems.append("counters went back after the restart: rule %s < %d or deny %s < %d"
                        % (r3, r2, d3, d2))
    ofpv = bed.ofctl("dump-flows", "br-int", "table=9").stdout
    for i in range(K):
        v = bed.probe_once("y/a", dlib.SERVER)
        if v != "denied":
            problems.append("y/a -> x/a probe %d after restart: %s" % (i, v))
    wait_for(bed, lambda s: denied(s) >= d3 + K, "x/a deny grows by >= %d after restart" % K)
    st = settle(bed)
    d4 = denied(st)
    dlib.log("after %d more denied probes: x/a deny: %d (+%d)" % (K, d4, d4 - d3))
    if d4 != d3 + K:
        problems.append("after the restart x/a's default deny grew by %d, not %d"
                        % (d4 - d3, K))
    m = metrics(port)
    stats(bed)
    m = metrics(port)
    if m.get(deny_key) != d4:
        problems.append("/metrics after the restart: denied %s, stats %d"
                        % (m.get(deny_key), d4))
    if problems:
        dlib.log("table 9 after the restart:\n%s" % ofpv)
        return False, "; ".join(problems)
    return True, ("rule +%d for %d allowed probes, deny +%d for %d denied, +%d for %d "
                  "after a switch restart; filters, errors, /metrics agree"
                  % (r1 - r0, N, d2 - d1, M, d4 - d3, K))


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("stats", test))
