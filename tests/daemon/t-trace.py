#!/usr/bin/env python3
"""trace and explain: the daemon's own debugging commands.

On the bed (allow-x admits namespace x to x/a:80):
  - `trace x/b x/a 80` says ALLOWED and names x/allow-x ingress rule 0;
  - `trace y/a x/a tcp/80` says DENIED by the default deny of x/a, which
    x/allow-x isolates;
  - `trace z/a y/a 80` says ALLOWED with nobody isolated;
  - the same by address, through `ovs-netpol --control`, and with --raw;
every verdict cross-checked with a real probe (np-probe), so the trace
cannot disagree with packets; then again under --table-base 40, where the
trace must name the real tables (40-47).  `explain` of cookies taken from dump-flows
names the policy and rule, says whether the generation is installed, and
says a foreign cookie is not ours.  Bad inputs (unknown pod, pod without
an address, bad port or protocol, missing arguments, a switch that cannot
be reached) give clear errors.
"""
import os
import re
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402


def cli_bin():
    return dlib.find_bin("NP_CLI", "ovs-netpol")


def test(bed):
    bed.start()
    noip = dlib.pod("x", "noip", "10.9.1.99", {"app": "noip"})
    del noip["status"]["podIP"]
    del noip["status"]["podIPs"]
    noip["status"]["phase"] = "Pending"
    bed.write("policy.json", dlib.v1list([dlib.allow_x(), noip]))
    bed.sync()
    problems = []

    def trace(*args, cli=False):
        if cli:
            p = dlib.run([cli_bin(), "--control", bed.ctl, "trace"] + list(args),
                         env=bed.env, check=False)
        else:
            p = bed.appctl("trace", *args, check=False)
        return p.returncode, p.stdout, p.stderr

    def check_trace(label, args, verdict, needles, probe=None, cli=False):
        rc, out, err = trace(*args, cli=cli)
        dlib.log("---- trace %s%s -> exit %d\n%s%s" % (
            " ".join(args), " (ovs-netpol)" if cli else "", rc, out, err))
        first = out.splitlines()[0] if out else ""
        if rc or not first.startswith(verdict + ":"):
            problems.append("%s: expected %s, got exit %d: %r" % (
                label, verdict, rc, first or err.strip()))
        for n in needles:
            if n not in out:
                problems.append("%s: output lacks %r" % (label, n))
        if probe:
            src, dst_ip = probe
            got = bed.probe_once(src, dst_ip)
            want = "allowed" if verdict == "ALLOWED" else "denied"
            dlib.log("probe %s -> %s:80: %s" % (src, dst_ip, got))
            if got != want:
                problems.append("%s: trace says %s but a real packet was %s"
                                % (label, verdict, got))
        return out

    check_trace("x/b -> x/a", ["x/b", "x/a", "80"], "ALLOWED",
                ["ingress: allowed by NetworkPolicy x/allow-x ingress rule 0",
                 "table 8 ingress rules: conj_id=",
                 "-> NetworkPolicy x/allow-x ingress rule 0",
                 "egress:  allowed: x/b is not isolated for egress",
                 "table 11 commit: allowed"],
                probe=("x/b", dlib.SERVER))
    check_trace("y/a -> x/a", ["y/a", "x/a", "tcp/80"], "DENIED",
                ["ingress: DENIED by the default deny of x/a: isolated for "
                 "ingress by x/allow-x",
                 "table 9 ingress default deny: x/a isolated for ingress by "
                 "x/allow-x -> drop",
                 "table 8 ingress rules: no ingress rule for x/a matches (miss)",
                 "datapath actions: drop"],
                probe=("y/a", dlib.SERVER))
    check_trace("z/a -> y/a", ["z/a", "y/a", "80"], "ALLOWED",
                ["egress:  allowed: z/a is not isolated for egress",
                 "ingress: allowed: y/a is not isolated for ingress"],
                probe=("z/a", "10.9.2.1"))
    # By address, through the CLI, and the raw output.
    check_trace("10.9.1.2 -> 10.9.1.1 (cli)", ["10.9.1.2", "10.9.1.1", "80"],
                "ALLOWED", ["x/b (10.9.1.2, port ", "x/a (10.9.1.1)",
                            "x/allow-x ingress rule 0"], cli=True)
    out = check_trace("y/a -> x/a --raw", ["y/a", "x/a", "80", "--raw"], "DENIED",
                      ["---- ofproto/trace ----", "Datapath actions: drop",
                       "recirc(0x"])
    # udp: nobody admits it to x/a.
    check_trace("x/b -> x/a udp", ["x/b", "x/a", "udp/80"], "DENIED",
                ["x/a isolated for ingress by x/allow-x -> drop"])

    # explain: cookies of the installed flows.
    flows = bed.flows()
    gen = dlib.generations(flows)[0]

    def explain(*args):
        p = bed.appctl("explain", *args, check=False)
        dlib.log("---- explain %s -> exit %d\n%s%s" % (
            " ".join(args)[:90], p.returncode, p.stdout, p.stderr))
        return p.returncode, p.stdout, p.stderr

    conj = [l for c, l in flows if "table=8" in l and "conj_id=" in l]
    drop = [l for c, l in flows if "table=9" in l and "priority=100" in l]
    if not conj or not drop:
        problems.append("no conj_id flow in table 8 or drop in table 9")
    else:
        rc, out, _ = explain(conj[0])
        want = ("NetworkPolicy x/allow-x, ingress rule 0 (generation %d, "
                "installed: yes" % gen)
        if rc or want not in out:
            problems.append("explain of %r: %r lacks %r" % (conj[0], out, want))
        cookie = re.search(r"cookie=(0x[0-9a-f]+)", drop[0]).group(1)
        rc, out, _ = explain(cookie)
        if rc or "NetworkPolicy x/allow-x isolates for ingress" not in out \
                or "installed: yes" not in out:
            problems.append("explain %s: %r" % (cookie, out))
        # The rule cookie with rule slot 5: allow-x has one ingress rule.
        rule_cookie = int(re.search(r"cookie=(0x[0-9a-f]+)", conj[0]).group(1), 16)
        rc, out, _ = explain("%#x" % ((rule_cookie & ~0x7ff) | 5))
        if rc or "x/allow-x has no ingress rule 5 now (it has 1)" not in out:
            problems.append("explain of a rule allow-x does not have: %r" % out)
        stale = int(cookie, 16) ^ (1 << 40)
        rc, out, _ = explain("%#x" % stale)
        if rc or "installed: no" not in out:
            problems.append("explain of another generation: %r" % out)
        rc, out, _ = (lambda p: (p.returncode, p.stdout, p.stderr))(dlib.run(
            [cli_bin(), "--control", bed.ctl, "explain"] + conj[0].split(),
            env=bed.env, check=False))
        dlib.log("---- ovs-netpol explain (unquoted line) -> exit %d\n%s" % (rc, out))
        if rc or "x/allow-x, ingress rule 0" not in out:
            problems.append("ovs-netpol explain with the line split: %r" % out)
    rc, out, _ = explain("0x1234")
    if rc or "not an ovs-netpol cookie" not in out:
        problems.append("explain 0x1234: %r" % out)

    # Bad inputs.
    def expect_error(label, args, needle, cmd="trace"):
        p = bed.appctl(cmd, *args, check=False)
        msg = (p.stderr + p.stdout).strip()
        dlib.log("%s %s -> exit %d: %s" % (cmd, " ".join(args), p.returncode, msg))
        if not p.returncode or needle not in msg:
            problems.append("%s: expected an error with %r, got exit %d: %r"
                            % (label, needle, p.returncode, msg))

    expect_error("unknown pod", ["x/nope", "x/a", "80"], "unknown pod x/nope")
    expect_error("pod without address", ["x/noip", "x/a", "80"],
                 "pod x/noip has no address yet")
    expect_error("bad port", ["x/b", "x/a", "70000"], "not a port number")
    expect_error("bad protocol", ["x/b", "x/a", "icmp/80"], "not a protocol")
    expect_error("neither pod nor address", ["nothing", "x/a", "80"],
                 "neither namespace/pod nor an IP address")
    expect_error("missing argument", ["x/b", "x/a"], "requires at least 3")
    expect_error("bad cookie", ["zzz"], "is neither a cookie", cmd="explain")

    # A switch that cannot be reached: a second daemon, same source, on a
    # run directory without a switch.
    empty = os.path.join(bed.work, "norun")
    os.makedirs(empty)
    ctl2 = os.path.join(bed.work, "ctl2")
    log2 = open(os.path.join(bed.work, "ovs-netpold-2.log"), "w")
    d2 = subprocess.Popen([bed.daemon_bin, "--source", "dir:" + bed.src,
                           "--ovs-rundir", empty, "--node", dlib.NODE,
                           "--control", ctl2], stdin=subprocess.DEVNULL,
                          stdout=log2, stderr=subprocess.STDOUT,
                          start_new_session=True)
    try:
        t = time.monotonic()
        p = None
        while time.monotonic() - t < 10:
            p = dlib.run(["ovs-appctl", "-t", ctl2, "trace", "10.9.1.2",
                          "10.9.1.1", "80"], env=bed.env, check=False)
            # The socket may appear between the call and a check of it:
            # only an answer from the daemon ends the wait.
            if "cannot connect" not in p.stderr:
                break
            time.sleep(0.05)
        msg = (p.stderr + p.stdout).strip()
        dlib.log("no switch: exit %d: %s" % (p.returncode, msg))
        if not p.returncode or "the switch is not reachable" not in msg:
            problems.append("no switch: %r" % msg)
        # A switch that accepts the connection and never answers: the
        # trace gives up after 5 s, and the daemon keeps serving meanwhile.
        with open(os.path.join(empty, "ovs-vswitchd.pid"), "w") as f:
            f.write("4242\n")
        mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mute.bind(os.path.join(empty, "ovs-vswitchd.4242.ctl"))
        mute.listen(4)
        t0 = time.monotonic()
        hung = subprocess.Popen(["ovs-appctl", "-t", ctl2, "trace", "10.9.1.2",
                                 "10.9.1.1", "80"], env=bed.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)
        t1 = time.monotonic()
        st = dlib.run(["ovs-appctl", "-t", ctl2, "status"], env=bed.env,
                      check=False)
        busy = time.monotonic() - t1
        out, err = hung.communicate(timeout=30)
        took = time.monotonic() - t0
        mute.close()
        dlib.log("mute switch: exit %d after %.1f s: %s; status meanwhile "
                 "answered in %.3f s" % (hung.returncode, took, err.strip(), busy))
        if not hung.returncode or "no answer within 5000 ms" not in err \
                or not 4.5 < took < 10:
            problems.append("mute switch: exit %d after %.1f s: %r" % (
                hung.returncode, took, err))
        if st.returncode or busy > 1:
            problems.append("status during a hanging trace: exit %d after "
                            "%.2f s" % (st.returncode, busy))
    finally:
        d2.terminate()
        try:
            d2.wait(timeout=10)
        except subprocess.TimeoutExpired:
            d2.kill()
            d2.wait()
        log2.close()

    # The daemon is still fine and its table is unchanged by all this.
    if dlib.canonical(bed.flows()) != dlib.canonical(flows):
        problems.append("the table changed during the test")
    got = bed.probe_once("y/a", dlib.SERVER)
    if got != "denied":
        problems.append("after the test: y/a -> x/a:80 %s" % got)

    # --table-base 40: a CNI's table 0 hands packets to our tables, which
    # the trace must call by their real numbers (it once said "then table
    # 1" here).  The restart replaces our flows; the CNI's flow stays.
    bed.stop_daemon()
    bed.ofctl("add-flow", "br-int", "table=0,priority=0,actions=goto_table:40")
    bed.daemon_args = ["--table-base", "40"]
    bed.start_daemon()
    bed.purge()
    check_trace("x/b -> x/a (--table-base 40)", ["x/b", "x/a", "80"],
                "ALLOWED",
                ["table 40 classify: IP -> conntrack, then table 41\n",
                 "table 41 conntrack state: new connection -> policies",
                 "table 42 spoof guard: x/b from its own port",
                 "table 48 ingress rules: conj_id=",
                 "-> NetworkPolicy x/allow-x ingress rule 0",
                 "table 51 commit: allowed"],
                probe=("x/b", dlib.SERVER))
    check_trace("y/a -> x/a (--table-base 40)", ["y/a", "x/a", "80"],
                "DENIED",
                ["table 49 ingress default deny: x/a isolated for ingress "
                 "by x/allow-x -> drop"],
                probe=("y/a", dlib.SERVER))

    summary = ("trace verdicts agree with real probes, explain names "
               "x/allow-x, tables named under --table-base"
               if not problems else "; ".join(problems))
    return not problems, summary


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("trace", test))
