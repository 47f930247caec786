#!/usr/bin/env python3
"""Per-rule counters of ClusterNetworkPolicy rules: `ovs-netpol stats` and
/metrics against real packets.

The daemon runs with --http 127.0.0.1:PORT and no NetworkPolicy; three
ClusterNetworkPolicies:

  guard-x  (Admin 10, subject x/a)  ingress 0 "from-z": Accept from z
                                    ingress 1 "no-y":   Deny from y
  pass-b   (Admin 20, subject x/b)  ingress 0 "y-on":   Pass from y
  closed   (Baseline 10, subject x/b) egress 0 (no name): Deny to a domain
                                    name: fails closed, denies all of
                                    x/b's egress

Every packet below reaches its tier table exactly once and is decided by
exactly one rule, so the counts are exact (replies never reach the tier
tables, ovs/pipeline.md "Counters"):

  1. baseline: `stats --json` lists the four rules with their tier, action
     (fail-closed said so) and name;
  2. N TCP probes y/a -> x/a:80: guard-x ingress 1 (Deny) grows by exactly
     N (one SYN each: the probe gives up before the first retransmission);
  3. M ICMP echo requests z/a -> x/a, answered: guard-x ingress 0 (Accept)
     grows by exactly M (the replies are not counted);
  4. P ICMP echo requests y/a -> x/b, answered: pass-b ingress 0 (Pass)
     grows by exactly P;
  5. Q TCP probes x/b -> z/a:80: closed egress 0 (fails closed) grows by
     exactly Q;
  and no other rule moves at any step;
  6. `--policy ClusterNetworkPolicy/guard-x` (through `ovs-netpol`) shows
     guard-x's rules only; `--pod x/a` shows none; bad values are errors
     that name them;
  7. /metrics: ovs_netpol_cnp_rule_packets_total with the numbers `stats`
     shows, with HELP and TYPE;
  8. pass-b deleted: its counter leaves `stats` and /metrics, the others
     stay with their values;
  9. established connections: one UDP datagram z/a -> x/a:9999 from port
     SPORT, echoed (guard-x ingress 0, Accept, +1); then "from-z" becomes
     a Deny: the Accept counter goes and a Deny counter starts at 0; K
     more datagrams from SPORT (an established connection: each one cut
     and dropped) and 2 from a new port (new: dropped) make it exactly
     K + 2.
"""
import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "data", "trace"))
import capture  # noqa: E402

N = 7       # denied TCP probes y/a -> x/a
M = 5       # accepted echo requests z/a -> x/a
P = 4       # passed echo requests y/a -> x/b
Q = 3       # fail-closed TCP probes x/b -> z/a
K = 6       # datagrams of an established connection, cut
SPORT = 40000

PREFIX = "ClusterNetworkPolicy/"

# Sends ARGV[3] datagrams from port ARGV[2] to ARGV[1]:9999, 50 ms apart;
# prints how many were echoed.
UDP = r"""
import select, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[2])))
echoed = 0
for i in range(int(sys.argv[3])):
    s.sendto(b"np-stats %d" % i, (sys.argv[1], 9999))
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], end - time.monotonic())
        if r:
            s.recv(2048)
            echoed += 1
            break
    time.sleep(0.05)
print(echoed)
"""


def cnp(name, tier, priority, subject, egress=None, ingress=None):
    return capture.cnp(name, tier, priority, subject, egress, ingress)


def pods(ns, app):
    return {"pods": {"namespaceSelector": {"matchLabels": {"ns": ns}},
                     "podSelector": {"matchLabels": {"app": app}}}}


def ns_sel(ns):
    return {"namespaces": {"matchLabels": {"ns": ns}}}


GUARD_X = cnp("guard-x", "Admin", 10, pods("x", "a"), ingress=[
    {"name": "from-z", "action": "Accept", "from": [ns_sel("z")]},
    {"name": "no-y", "action": "Deny", "from": [ns_sel("y")]}])
PASS_B = cnp("pass-b", "Admin", 20, pods("x", "b"), ingress=[
    {"name": "y-on", "action": "Pass", "from": [ns_sel("y")]}])
CLOSED = cnp("closed", "Baseline", 10, pods("x", "b"), egress=[
    {"action": "Deny", "to": [{"domainNames": ["www.example.com"]}]}])

# (policy, direction, rule) -> (tier, action, fail_closed, name)
RULES = {
    ("guard-x", "ingress", 0): ("Admin", "Accept", False, "from-z"),
    ("guard-x", "ingress", 1): ("Admin", "Deny", False, "no-y"),
    ("pass-b", "ingress", 0): ("Admin", "Pass", False, "y-on"),
    ("closed", "egress", 0): ("Baseline", "Deny", True, None),
}


def stats(bed, *args):
    return dlib.stats_json(bed, *args)


def counts(st):
    """{(policy, direction, rule): packets} of the CNP rules listed."""
    return {(r["policy"], r["direction"], r["rule"]): r["packets"]
            for r in st["cnp_rules"]}


def wait_for(bed, pred, what, timeout=20):
    return dlib.stats_wait(bed, pred, what, timeout)


def settle(bed):
    return dlib.stats_settle(bed, lambda st: st["cnp_rules"])


def metrics(port):
    body = dlib.metrics_body(port)
    out = {}
    for name, labels, v in dlib.labelled_metrics(
            body, r'ovs_netpol_cnp_rule_(?:packets|bytes)_total'):
        out[(name, labels["policy"], labels["direction"],
             int(labels["rule"]))] = (labels, v)
    return body, out


def ping(bed, src, dst_ip, ident):
    return dlib.echo_request(bed, src, dst_ip, ident)


def udp(bed, src, dst_ip, sport, n):
    p = bed.pods[src]
    r = dlib.run(["ip", "netns", "exec", p["netns"], sys.executable, "-c",
                  UDP, dst_ip, str(sport), str(n)], check=False)
    try:
        return int(r.stdout.strip())
    except ValueError:
        raise AssertionError("udp client: %r %r" % (r.stdout, r.stderr))


def cnp_rule(st, policy, direction, rule):
    for r in st["cnp_rules"]:
        if (r["policy"], r["direction"], r["rule"]) == (policy, direction,
                                                        rule):
            return r
    return None


def test(bed):
    problems = []
    try:
        return steps(bed, problems)
    except AssertionError as e:
        return False, "; ".join(problems + [str(e)])


def step(bed, problems, before, key, n, what, send):
    """Sends 'n' packets with send(i), then checks that only 'key' moved,
    by exactly 'n'; returns the settled counts."""
    for i in range(n):
        v = send(i)
        if v is not None:
            problems.append("%s %d: %s" % (what, i, v))
    wait_for(bed, lambda s: counts(s).get(key, -1) >= before[key] + n,
             "%s: %s grows by >= %d" % (what, key, n))
    after = counts(settle(bed))
    dlib.log("after %d %s: %s" % (n, what, after))
    for k in RULES:
        want = before[k] + (n if k == key else 0)
        if after.get(k) != want:
            problems.append("%s: %s %s, expected %d (before %d)"
                            % (what, k, after.get(k), want, before[k]))
    return after


def steps(bed, problems):
    port = dlib.free_port()
    bed.start(daemon_args=["--http", "127.0.0.1:%d" % port])
    bed.write("cnp.json", dlib.v1list([GUARD_X, PASS_B, CLOSED]))
    bed.sync()

    # 1. baseline
    st = wait_for(bed, lambda s: set(counts(s)) == set(RULES),
                  "the four ClusterNetworkPolicy rules listed")
    for r in st["cnp_rules"]:
        k = (r["policy"], r["direction"], r["rule"])
        got = (r["tier"], r["action"], r["fail_closed"], r["name"])
        if got != RULES[k]:
            problems.append("%s: %s, expected %s" % (k, got, RULES[k]))
    if st["rules"] or st["denied"]:
        problems.append("NetworkPolicy counters with no NetworkPolicy: %s"
                        % st)
    c = counts(st)
    dlib.log("baseline: %s" % c)
    text = bed.appctl("stats").stdout
    dlib.log(text)
    for needle in ("ClusterNetworkPolicy rules (",
                   "Deny (fails closed)", '"no-y"'):
        if needle not in text:
            problems.append("stats lacks %r:\n%s" % (needle, text))

    # 2.-5. one rule at a time
    c = step(bed, problems, c, ("guard-x", "ingress", 1), N,
             "TCP probes y/a -> x/a (Deny)",
             lambda i: None if bed.probe_once("y/a", dlib.SERVER) == "denied"
             else "not denied")
    c = step(bed, problems, c, ("guard-x", "ingress", 0), M,
             "echo requests z/a -> x/a (Accept)",
             lambda i: None if ping(bed, "z/a", dlib.SERVER, 100 + i)
             == "reply" else "no reply")
    c = step(bed, problems, c, ("pass-b", "ingress", 0), P,
             "echo requests y/a -> x/b (Pass)",
             lambda i: None if ping(bed, "y/a", "10.9.1.2", 200 + i)
             == "reply" else "no reply")
    c = step(bed, problems, c, ("closed", "egress", 0), Q,
             "TCP probes x/b -> z/a (fails closed)",
             lambda i: None if bed.probe_once("x/b", "10.9.3.1") == "denied"
             else "not denied")
    dlib.log(bed.appctl("stats").stdout)
    st = stats(bed)
    deny = [r for r in st["cnp_rules"] if r["policy"] == "guard-x"
            and r["rule"] == 1][0]
    if deny["bytes"] < 40 * deny["packets"]:
        problems.append("guard-x's Deny: %d bytes for %d packets"
                        % (deny["bytes"], deny["packets"]))

    # 6. --policy, --pod, errors (through the CLI)
    cli = dlib.find_bin("NP_CLI", "ovs-netpol")
    out = dlib.run([cli, "--control", bed.ctl, "stats", "--policy",
                    PREFIX + "guard-x"]).stdout
    dlib.log(out)
    want = [r"guard-x\s+Admin\s+ingress\s+0\s+Accept\s+%d\s+\d+\s+\"from-z\""
            % c[("guard-x", "ingress", 0)],
            r"guard-x\s+Admin\s+ingress\s+1\s+Deny\s+%d\s+\d+\s+\"no-y\""
            % c[("guard-x", "ingress", 1)]]
    if not all(re.search(w, out) for w in want) or "pass-b" in out \
            or "closed" in out or "default deny" in out \
            or "NetworkPolicy rules" in out.replace("ClusterNetworkPolicy", ""):
        problems.append("stats --policy %sguard-x:\n%s" % (PREFIX, out))
    st = stats(bed, "--policy", PREFIX + "closed")
    if list(counts(st)) != [("closed", "egress", 0)]:
        problems.append("stats --policy %sclosed lists %s" % (PREFIX, st))
    st = stats(bed, "--pod", "x/a")
    if st["cnp_rules"]:
        problems.append("stats --pod x/a lists ClusterNetworkPolicy rules: %s"
                        % st["cnp_rules"])
    for args, want in (
            (["--policy", PREFIX + "nope"],
             "--policy ClusterNetworkPolicy/nope: no such "
             "ClusterNetworkPolicy"),
            (["--policy", PREFIX], "expected ClusterNetworkPolicy/NAME"),
            (["--policy", PREFIX + "a/b"], "expected ClusterNetworkPolicy/NAME"),
            (["--policy", "guard-x"],
             "expected NAMESPACE/NAME (a NetworkPolicy) or "
             "ClusterNetworkPolicy/NAME"),
            (["--policy", "x/guard-x"], "no such NetworkPolicy"),
            (["--policy"], "--policy needs")):
        p = bed.appctl("stats", *args, check=False)
        if p.returncode == 0 or want not in p.stderr:
            problems.append("stats %s: exit %d, %r (want %r)"
                            % (" ".join(args), p.returncode, p.stderr.strip(),
                               want))

    # 7. /metrics: the same numbers (nothing moved since)
    st = stats(bed)
    body, m = metrics(port)
    for line in body.splitlines():
        if "cnp_rule" in line:
            dlib.log(line)
    for fam in ("ovs_netpol_cnp_rule_packets_total",
                "ovs_netpol_cnp_rule_bytes_total"):
        for kw in ("HELP", "TYPE"):
            if "# %s %s " % (kw, fam) not in body:
                problems.append("/metrics has no %s line for %s" % (kw, fam))
    for r in st["cnp_rules"]:
        k = (r["policy"], r["direction"], r["rule"])
        for fam, v in (("ovs_netpol_cnp_rule_packets_total", r["packets"]),
                       ("ovs_netpol_cnp_rule_bytes_total", r["bytes"])):
            got = m.get((fam,) + k)
            tier, action, fail_closed, _ = RULES[k]
            if not got or got[1] != v or got[0]["tier"] != tier \
                    or got[0]["action"] != action \
                    or got[0]["fail_closed"] != str(fail_closed).lower():
                problems.append("/metrics %s%s: %s, stats %d" % (fam, k, got, v))
    if len(m) != 2 * len(RULES):
        problems.append("/metrics: %d CNP samples, expected %d"
                        % (len(m), 2 * len(RULES)))

    # 8. pass-b deleted
    bed.write("cnp.json", dlib.v1list([GUARD_X, CLOSED]))
    bed.sync()
    st = wait_for(bed, lambda s: ("pass-b", "ingress", 0) not in counts(s),
                  "pass-b's counter gone")
    after = counts(st)
    for k in RULES:
        if k[0] != "pass-b" and after.get(k) != c[k]:
            problems.append("after deleting pass-b: %s %s, was %d"
                            % (k, after.get(k), c[k]))
    _, m = metrics(port)
    if any(k[1] == "pass-b" for k in m):
        problems.append("/metrics still has pass-b: %s"
                        % [k for k in m if k[1] == "pass-b"])
    p = bed.appctl("stats", "--policy", PREFIX + "pass-b", check=False)
    if p.returncode == 0 or "no such ClusterNetworkPolicy" not in p.stderr:
        problems.append("stats --policy of the deleted pass-b: exit %d, %r"
                        % (p.returncode, p.stderr.strip()))

    # 9. an established connection cut by a rule that became a Deny
    spec = os.path.join(bed.work, "udp.spec")
    with open(spec, "w") as f:
        f.write("%s udp 9999\n" % bed.pods["x/a"]["netns"])
    server = subprocess.Popen([bed.probe_bin, "serve", "--spec", spec,
                               "--control-stdin"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith("ready 1"):
            raise AssertionError("np-probe serve udp: %r" % line)
        accept = ("guard-x", "ingress", 0)
        if udp(bed, "z/a", dlib.SERVER, SPORT, 1) != 1:
            problems.append("z/a -> x/a:9999 (Accept): no echo")
        wait_for(bed, lambda s: counts(s).get(accept, -1) >= c[accept] + 1,
                 "guard-x ingress 0 grows by 1 datagram")
        st = settle(bed)
        if counts(st).get(accept) != c[accept] + 1:
            problems.append("one datagram: guard-x ingress 0 %s, expected %d"
                            % (counts(st).get(accept), c[accept] + 1))
        deny_z = json.loads(json.dumps(GUARD_X))
        deny_z["spec"]["ingress"][0]["action"] = "Deny"
        bed.write("cnp.json", dlib.v1list([deny_z, CLOSED]))
        bed.sync()
        st = wait_for(bed, lambda s: (cnp_rule(s, *accept) or {}).get(
            "action") == "Deny", "guard-x ingress 0 counted as a Deny")
        r = cnp_rule(st, *accept)
        dlib.log("from-z became a Deny: %s" % r)
        if r["packets"] != 0:
            problems.append("the new Deny counter starts at %d, not 0: %s"
                            % (r["packets"], r))
        if len([x for x in st["cnp_rules"] if x["policy"] == "guard-x"
                and x["rule"] == 0]) != 1:
            problems.append("guard-x ingress 0 listed twice: %s"
                            % st["cnp_rules"])
        echoed = udp(bed, "z/a", dlib.SERVER, SPORT, K)
        echoed += udp(bed, "z/a", dlib.SERVER, SPORT + 1, 2)
        if echoed:
            problems.append("%d datagrams z/a -> x/a echoed after the Deny"
                            % echoed)
        wait_for(bed, lambda s: (cnp_rule(s, *accept) or {}).get(
            "packets", -1) >= K + 2, "the Deny counts %d datagrams" % (K + 2))
        st = settle(bed)
        r = cnp_rule(st, *accept)
        dlib.log("after %d datagrams of the established connection and 2 "
                 "new: %s" % (K, r))
        if r["packets"] != K + 2:
            problems.append("guard-x ingress 0 (Deny): %d packets, expected "
                            "%d (%d cut, 2 new)" % (r["packets"], K + 2, K))
        # Which flows counted them: the cut (+est) K, the drop (-est) 2.
        per_state = {"+est": 0, "-est": 0}
        for line in bed.ofctl("dump-flows", "br-int", "table=7").stdout \
                .splitlines():
            fm = re.search(r"cookie=0x4e50[0-9a-f]{2}06[0-9a-f]{5}800,.*"
                           r"n_packets=(\d+),.*ct_state=([+-]est)", line)
            if fm:
                per_state[fm.group(2)] += int(fm.group(1))
        dlib.log("guard-x ingress 0's flows: %s" % per_state)
        if per_state != {"+est": K, "-est": 2}:
            problems.append("guard-x ingress 0's Deny flows counted %s, "
                            "expected %d cut (+est) and 2 dropped (-est)"
                            % (per_state, K))
        _, m = metrics(port)
        got = m.get(("ovs_netpol_cnp_rule_packets_total",) + accept)
        if not got or got[0]["action"] != "Deny" or got[1] != K + 2:
            problems.append("/metrics for the new Deny: %s" % (got,))
    finally:
        server.stdin.close()
        server.wait(timeout=10)

    if problems:
        return False, "; ".join(problems)
    return True, ("Deny +%d for %d SYNs, Accept +%d and Pass +%d for %d and "
                  "%d echo requests, fail-closed Deny +%d for %d SYNs; "
                  "filters, errors, /metrics agree; a deleted policy's "
                  "counter goes; a rule turned Deny counts anew, %d cut + 2 new" %
                  (N, N, M, P, M, P, Q, Q, K))


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("stats-cnp", test))
