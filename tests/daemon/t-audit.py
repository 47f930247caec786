#!/usr/bin/env python3
"""The audit log with real packets (README, "Audit log").

The daemon runs with --audit-log WORK/audit.log (and --http for its
counters); allow-x admits namespace x to x/a:80, so x/b -> x/a is allowed
by allow-x's ingress rule 0 and y/a -> x/a is denied by x/a's ingress
default deny.  Each probe is one TCP SYN from a new source port (it gives
up before the first retransmission), so each is one new connection.
Steps, each with its own probes:

  1. no annotation, daemon default none: M denied and N allowed probes
     log nothing; x/a's drop flow is a plain drop;
  2. namespace x annotated `all` (no restart): the meter is on the switch;
     x/a's drop flow copies to the controller; each denied probe gives
     exactly one line naming x/allow-x, each allowed one exactly one line
     naming x/allow-x ingress rule 0, with both pods, addresses, ports;
  3. a second policy x/deny-a (isolates x/a, allows nothing): a denied
     line names both isolating policies;
  4. `deny`: denied probes logged, allowed ones not;
  5. `allow` on x and a policy in y that isolates y/a for egress with a
     rule to x/a:80: x/b's probes logged by x/allow-x only; y/a -> x/a
     now passes y's egress rule and is denied by x's ingress: not logged
     (x audits allows only); y annotated `all` too: y/a -> x/a gives an
     egress allow line naming y/out-x rule 0 and no ingress line (it is
     x's ingress that denies, and x logs allows only);
  6. an invalid annotation: status and the log name the namespace and
     the field, nothing is logged for it;
  7. annotation removed: nothing logged; the flows are plain again;
  8. /metrics: copies and lines counted, nothing dropped by the meter;
  9. restarted with a log path that cannot be made: the copies are counted
     as lost, ovs_netpol_audit_ok is 0, the daemon's log names the path
     once (rate-limited), verdicts are unchanged.
"""
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

M = 4       # denied probes per step
N = 3       # allowed probes per step
SETTLE = 2.5    # > the 1 s folding window plus the flush timer


def cluster(annotations):
    doc = dlib.cluster_doc()
    for item in doc["items"]:
        if item["kind"] == "Namespace":
            a = annotations.get(item["metadata"]["name"])
            if a is not None:
                item["metadata"]["annotations"] = {"ovs-netpol.io/audit": a}
    return doc


class Log:
    def __init__(self, path):
        self.path = path
        self.pos = 0

    def new_lines(self):
        """The lines written since the last call, parsed."""
        time.sleep(SETTLE)
        try:
            with open(self.path) as f:
                f.seek(self.pos)
                text = f.read()
                self.pos = f.tell()
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            out.append(json.loads(line))
        return out


def probes(bed, src, n, expect, problems, what, dst=dlib.SERVER):
    """n probes src -> dst:80; returns their source ports."""
    ports = []
    for _ in range(n):
        sport = bed.sport
        v = bed.probe_once(src, dst)
        ports.append(sport)
        if v != expect:
            problems.append("%s: %s -> %s from port %d: %s, not %s"
                            % (what, src, dst, sport, v, expect))
    return ports


def drop_flow(bed):
    for _, line in bed.flows():
        if "priority=100" in line and "nw_dst=10.9.1.1" in line \
                and re.search(r"table=9\b", line):
            return line.split("actions=", 1)[1]
    return None


def check_lines(lines, want, problems, what):
    """'want' is a list of (predicate description, dict of expected fields)
    each of which must match exactly one line; no other line allowed."""
    used = set()
    for fields in want:
        hits = [i for i, ln in enumerate(lines)
                if all(ln.get(k) == v for k, v in fields.items())]
        if len(hits) != 1:
            problems.append("%s: %d lines match %s (want 1)" % (what, len(hits), fields))
        used.update(hits)
    extra = [ln for i, ln in enumerate(lines) if i not in used]
    if extra:
        problems.append("%s: unexpected lines %s" % (what, extra[:3]))


def deny_line(sport, policies):
    return {"direction": "ingress", "verdict": "deny", "protocol": "tcp",
            "src": "10.9.2.1", "src_port": sport, "dst": dlib.SERVER,
            "dst_port": 80, "src_pod": "y/a", "dst_pod": "x/a",
            "policies": policies, "count": 1, "node": dlib.NODE}


def allow_line(sport, src="x/b", src_ip="10.9.1.2", direction="ingress",
               policy="x/allow-x", rule=0):
    return {"direction": direction, "verdict": "allow", "protocol": "tcp",
            "src": src_ip, "src_port": sport, "dst": dlib.SERVER,
            "dst_port": 80, "src_pod": src, "dst_pod": "x/a",
            "policy": policy, "rule": rule, "count": 1, "node": dlib.NODE}


def test(bed):
    problems = []
    port = dlib.free_port()
    logpath = os.path.join(bed.work, "audit.log")
    bed.start(daemon_args=["--http", "127.0.0.1:%d" % port,
                           "--audit-log", logpath])
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    log = Log(logpath)

    # 1. off by default
    probes(bed, "y/a", M, "denied", problems, "step 1")
    probes(bed, "x/b", N, "allowed", problems, "step 1")
    lines = log.new_lines()
    if lines:
        problems.append("step 1 (audit off): %d lines: %s" % (len(lines), lines[:2]))
    if drop_flow(bed) != "drop":
        problems.append("step 1: x/a's drop flow is %r" % drop_flow(bed))
    dlib.log("step 1: audit off: %d lines" % len(lines))

    # 2. x audits all, without a restart
    bed.write("cluster.json", cluster({"x": "all"}))
    bed.sync()
    meters = bed.ofctl("dump-meters", "br-int").stdout
    if not re.search(r"meter=20048 pktps burst stats bands=\s*type=drop rate=100 "
                     r"burst_size=100", meters):
        problems.append("step 2: meter 20048 not as expected:\n%s" % meters)
    flow = drop_flow(bed) or ""
    if "controller(" not in flow or "meter_id=20048" not in flow or "id=20048" not in flow:
        problems.append("step 2: x/a's drop flow is %r" % flow)
    denied = probes(bed, "y/a", M, "denied", problems, "step 2")
    allowed = probes(bed, "x/b", N, "allowed", problems, "step 2")
    lines = log.new_lines()
    for ln in lines[:2]:
        dlib.log("  " + json.dumps(ln))
    check_lines(lines, [deny_line(s, ["x/allow-x"]) for s in denied]
                + [allow_line(s) for s in allowed], problems, "step 2")
    dlib.log("step 2: audit all on x: %d lines for %d probes" % (len(lines), M + N))
    # trace: the copy does not hide the verdict, and is named
    for src, verdict, words in (("y/a", "DENIED", "drop, a copy to the audit log"),
                                ("x/b", "ALLOWED", "whose namespace is audited")):
        out = bed.appctl("trace", src, "x/a", "80").stdout
        if not out.startswith(verdict + ":") or words not in out:
            problems.append("step 2: trace %s -> x/a:80 (want %s, %r):\n%s"
                            % (src, verdict, words, out))
        else:
            dlib.log("trace %s -> x/a:80:\n%s" % (src, out))

    # 3. two isolating policies
    deny_a = dlib.policy("x", "deny-a", {"podSelector": {"matchLabels": {"app": "a"}},
                                         "policyTypes": ["Ingress"]})
    bed.write("policy.json", dlib.v1list([dlib.allow_x(), deny_a]))
    bed.sync()
    denied = probes(bed, "y/a", M, "denied", problems, "step 3")
    lines = log.new_lines()
    check_lines(lines, [deny_line(s, ["x/allow-x", "x/deny-a"]) for s in denied],
                problems, "step 3")
    dlib.log("step 3: two isolating policies: %d lines" % len(lines))
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))

    # 4. deny only
    bed.write("cluster.json", cluster({"x": "deny"}))
    bed.sync()
    denied = probes(bed, "y/a", M, "denied", problems, "step 4")
    probes(bed, "x/b", N, "allowed", problems, "step 4")
    lines = log.new_lines()
    check_lines(lines, [deny_line(s, ["x/allow-x"]) for s in denied], problems, "step 4")
    dlib.log("step 4: audit deny on x: %d lines" % len(lines))

    # 5. allow only; an egress rule in y
    out_x = dlib.policy("y", "out-x", {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"ns": "x"}}}],
                    "ports": [{"protocol": "TCP", "port": 80}]}]})
    bed.write("policy-y.json", dlib.v1list([out_x]))
    bed.write("cluster.json", cluster({"x": "allow"}))
    bed.sync()
    probes(bed, "y/a", M, "denied", problems, "step 5")
    allowed = probes(bed, "x/b", N, "allowed", problems, "step 5")
    lines = log.new_lines()
    check_lines(lines, [allow_line(s) for s in allowed], problems, "step 5 (x allow)")
    bed.write("cluster.json", cluster({"x": "allow", "y": "all"}))
    bed.sync()
    # y/a -> z/a: out-x does not cover z: denied at y/a's egress, which y
    # logs; y/a -> x/a: allowed at egress by y/out-x, denied at x/a's
    # ingress, which x does not log (allows only); a connection denied
    # anywhere is never an "allow" line
    to_z = probes(bed, "y/a", M, "denied", problems, "step 5", dst="10.9.3.1")
    probes(bed, "y/a", M, "denied", problems, "step 5")
    lines = log.new_lines()
    want = [dict(deny_line(s, ["y/out-x"]), direction="egress", dst="10.9.3.1",
                 dst_pod="z/a") for s in to_z]
    check_lines(lines, want, problems, "step 5 (y all, x allow)")
    # x admits y as well: y/a -> x/a is allowed twice, by y/out-x rule 0
    # at egress and x/allow-y rule 0 at ingress: a line for each
    allow_y = dlib.policy("x", "allow-y", {
        "podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"ns": "y"}}}]}]})
    bed.write("policy.json", dlib.v1list([dlib.allow_x(), allow_y]))
    bed.sync()
    both = probes(bed, "y/a", N, "allowed", problems, "step 5")
    lines = log.new_lines()
    want = []
    for s in both:
        want.append(allow_line(s, src="y/a", src_ip="10.9.2.1", direction="egress",
                               policy="y/out-x"))
        want.append(allow_line(s, src="y/a", src_ip="10.9.2.1", policy="x/allow-y"))
    check_lines(lines, want, problems, "step 5 (both directions)")
    for ln in lines[:2]:
        dlib.log("  " + json.dumps(ln))
    bed.remove("policy-y.json")
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    dlib.log("step 5: allow on x, all on y: %d lines" % len(lines))

    # 6. an invalid annotation
    bed.write("cluster.json", cluster({"x": "everything"}))
    bed.sync()
    st = bed.status()
    if "ovs-netpol.io/audit" not in st or "Namespace x" not in st:
        problems.append("step 6: status does not name the bad annotation:\n%s" % st)
    probes(bed, "y/a", M, "denied", problems, "step 6")
    lines = log.new_lines()
    if lines:
        problems.append("step 6 (invalid annotation): %d lines" % len(lines))

    # 7. removed
    bed.write("cluster.json", cluster({}))
    bed.sync()
    probes(bed, "y/a", M, "denied", problems, "step 7")
    probes(bed, "x/b", N, "allowed", problems, "step 7")
    lines = log.new_lines()
    if lines:
        problems.append("step 7 (annotation removed): %d lines" % len(lines))
    if drop_flow(bed) != "drop":
        problems.append("step 7: x/a's drop flow is %r" % drop_flow(bed))
    if any("controller" in line for _, line in bed.flows()):
        problems.append("step 7: a controller action is left")

    # 8. counters
    time.sleep(1.5)     # a meter read
    m = dlib.plain_metrics(port, "ovs_netpol_audit_")
    dlib.log("metrics: %s" % m)
    # step 2: M + N, 3: M, 4: M, 5: N, M (to z), N (both: one copy)
    want_copies = 4 * M + 3 * N
    if m.get("ovs_netpol_audit_copies_total") != want_copies:
        problems.append("copies_total %s, want %d" % (m.get("ovs_netpol_audit_copies_total"),
                                                        want_copies))
    if m.get("ovs_netpol_audit_meter_dropped_total") != 0:
        problems.append("meter dropped %s" % m.get("ovs_netpol_audit_meter_dropped_total"))
    if m.get("ovs_netpol_audit_ok") != 1:
        problems.append("audit_ok %s" % m.get("ovs_netpol_audit_ok"))

    # 9. a log that cannot be opened: counted and said, verdicts unchanged
    bed.stop_daemon()
    bad = "/dev/null/audit/audit.log"
    bed.daemon_args = ["--http", "127.0.0.1:%d" % port, "--audit-log", bad]
    bed.write("cluster.json", cluster({"x": "deny"}))
    bed.start_daemon()
    probes(bed, "y/a", 2, "denied", problems, "step 9")
    probes(bed, "x/b", 1, "allowed", problems, "step 9")
    time.sleep(1.5)
    m = dlib.plain_metrics(port, "ovs_netpol_audit_")
    if m.get("ovs_netpol_audit_lost_total") != 2 or m.get("ovs_netpol_audit_ok") != 0:
        problems.append("step 9: lost %s, ok %s (want 2, 0)"
                        % (m.get("ovs_netpol_audit_lost_total"), m.get("ovs_netpol_audit_ok")))
    with open(bed.daemon_log) as f:
        said = [ln for ln in f if " error audit: " in ln and bad in ln]
    if len(said) != 1:
        problems.append("step 9: %d log lines name the bad path (want 1): %s" % (len(said), said))
    else:
        dlib.log("step 9: " + said[0].strip())

    ok = not problems
    return ok, "; ".join(problems) if problems else \
        "each probe one line, nothing when off, annotation changes live"


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("audit", test))
