#!/usr/bin/env python3
"""A policy over the flow limit fails closed and is reported by name.

The daemon runs with --max-policy-flows 1000.  y/big admits to y/a from
ipBlock 0.0.0.0/0 except 400 addresses outside the pods' 10.9/16: about
9,000 CIDRs, over the limit.  PASS when
  - sync succeeds, and status 'over the flow limit' names y/big;
  - y/big fails closed: y/a stays isolated and admits nothing
    (x/b -> y/a denied; with y/big installed it would pass), while
    allow-x is enforced (x/b -> x/a allowed, y/a -> x/a denied);
  - the daemon's log names y/big, its rule and the count once, not again
    when an unrelated change makes the engine run;
  - trace x/b -> y/a says DENIED with a note naming y/big; explain of
    y/big's default-deny cookie notes that its rules are not installed;
  - y/big shrunk to 20 excepts (within the limit): status says none and
    x/b -> y/a passes.
"""
import re
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

LIMIT = 1000


def big(n_excepts):
    excepts = []
    for i in range(n_excepts):
        a = (i * 2654435761) % (1 << 32)
        if a >> 16 == (10 << 8) | 9:    # never one of the pods' 10.9/16
            continue
        excepts.append("%d.%d.%d.%d/32" % (a >> 24, (a >> 16) & 255,
                                           (a >> 8) & 255, a & 255))
    return dlib.policy("y", "big", {
        "podSelector": {"matchLabels": {"app": "a"}},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                           "except": excepts}}]}]})


def log_lines(bed):
    with open(bed.daemon_log) as f:
        return [l for l in f.read().splitlines()
                if "NetworkPolicy y/big ingress rule 0 needs" in l]


def test(bed):
    bed.start(daemon_args=["--max-policy-flows", str(LIMIT)])
    problems = []

    def expect(src, dst_ip, want, what):
        got = bed.probe_once(src, dst_ip)
        dlib.log("%s: %s -> %s:80 %s" % (what, src, dst_ip, got))
        if got != want:
            problems.append("%s: %s -> %s:80 %s, expected %s"
                            % (what, src, dst_ip, got, want))

    bed.write("policy.json", dlib.v1list([dlib.allow_x(), big(400)]))
    bed.sync()
    bed.purge()
    over = bed.status_field("over the flow limit") or ""
    dlib.log("status: over the flow limit: %s" % over)
    if not re.search(r"^y/big \(at least \d+ flows\); ", over) \
            or "limit %d flows per policy" % LIMIT not in over:
        problems.append("status does not list y/big: %r" % over)
    expect("x/b", "10.9.2.1", "denied", "y/big over the limit")
    expect("x/b", dlib.SERVER, "allowed", "allow-x")
    expect("y/a", dlib.SERVER, "denied", "allow-x")
    lines = log_lines(bed)
    dlib.log("log: %s" % (lines[-1] if lines else "NO LINE"))
    if len(lines) != 1 or "over the limit of %d per policy" % LIMIT not in lines[0]:
        problems.append("log lines naming y/big: %d, expected 1: %r"
                        % (len(lines), lines[-1:]))

    # trace and explain do not pretend y/big's rules are there.
    p = bed.appctl("trace", "x/b", "y/a", "80", check=False)
    dlib.log("---- trace x/b y/a 80 -> exit %d\n%s" % (p.returncode, p.stdout))
    if not p.stdout.startswith("DENIED:") \
            or "note: NetworkPolicy y/big ingress rule 0 needs" not in p.stdout:
        problems.append("trace x/b -> y/a lacks DENIED or the note on y/big")
    deny = [l for c, l in bed.flows() if c >> 48 == dlib.COOKIE_PREFIX
            and "table=9" in l and "nw_dst=10.9.2.1" in l and "drop" in l]
    if not deny:
        problems.append("no default-deny flow for y/a")
    else:
        cookie = re.search(r"cookie=(0x[0-9a-f]+)", deny[0]).group(1)
        p = bed.appctl("explain", cookie, check=False)
        dlib.log("---- explain %s -> exit %d\n%s" % (cookie, p.returncode,
                                                     p.stdout))
        if "y/big" not in p.stdout or "note: NetworkPolicy y/big" not in p.stdout:
            problems.append("explain %s lacks the note on y/big" % cookie)

    # An unrelated change: the engine runs again, the log stays quiet.
    bed.write("policy.json", dlib.v1list([dlib.allow_x(extra_ports=[81]),
                                          big(400)]))
    bed.sync()
    again = log_lines(bed)
    if len(again) != 1:
        problems.append("y/big logged %d times after an unrelated change"
                        % len(again))

    # Within the limit: installed, and the status says so.
    bed.write("policy.json", dlib.v1list([dlib.allow_x(), big(20)]))
    bed.sync()
    bed.purge()
    over = bed.status_field("over the flow limit") or ""
    dlib.log("status after shrinking y/big: %s" % over)
    if not over.startswith("none"):
        problems.append("status after shrinking y/big: %r" % over)
    expect("x/b", "10.9.2.1", "allowed", "y/big within the limit")
    summary = "; ".join(problems) if problems else \
        "y/big refused, named in status, log (once), trace and explain; " \
        "its pod isolated; installed once within the limit"
    return not problems, summary


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("flow-limit", test))
