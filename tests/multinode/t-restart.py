#!/usr/bin/env python3
"""One node's daemon is killed and restarted while traffic runs: no wrong
verdict anywhere, at any time.

Three nodes (tests/multinode/mnlib.py: one userspace OVS per node on a
shared L2 underlay, one ovs-netpold --node node-K per node, all following
one API server stand-in), the pods of deploy/examples/cluster.yaml spread
round-robin over them (two per node) and the policies of deploy/examples.
The expected verdict of every probe comes from the reference oracle
(tests/oracle/netpol_oracle.py), not from the daemons; traffic from a
node's own address to that node's pods is always allowed (Kubernetes), and
from another node's address it is judged like any other address.

Probes run in rounds, back to back, from a thread: every pod to every other
pod on both ports (the matrix: allowed and denied pairs, most across
nodes), plus every node's address to every pod.  While they run, the main
thread:
  1. lets ROUNDS rounds pass with every daemon up;
  2. SIGKILLs node-2's daemon; ROUNDS rounds pass with it down (its flows
     stay on the switch: checked, they are the same before and during the
     outage); halfway, two policies selecting pods of node-1 and node-3
     only (OUTAGE_CHANGE) are applied and synced on those nodes: they
     decide, also for connections of node-2's pods;
  3. starts it again (without waiting), waits for `ovs-netpol sync` on it;
     ROUNDS more rounds pass (its table is the same flows under a new cookie
     generation: checked);
Every probe of every round must give the expected verdict (while a change
is on its way to the switches, the old or the new one); each round prints
its counts.  The restarted daemon must have every policy.  At the end every daemon must exit 0 on SIGTERM.

--self-check deletes node-2's flows during the outage instead of leaving
them: the test must then fail (it shows the probes see the outage).

Python standard library (and python3-yaml); needs root.  Last line:
"N passed, M failed" (probes).  Exit status 0 when every probe was right.
"""

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "oracle"))
import mnlib  # noqa: E402
import netpol_oracle  # noqa: E402

TOP = mnlib.TOP
EXAMPLES = os.path.join(TOP, "deploy", "examples")
VICTIM = "node-2"
T0 = time.monotonic()


def load_yaml(path):
    import yaml
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def strip_cookies(flows):
    """Our flows without their cookies (a restart changes the generation)."""
    return sorted(re.sub(r"cookie=0x[0-9a-f]+, ?", "", l) for l in flows)


class Rounds:
    """Probe rounds back to back until stopped, from THREADS threads whose
    rounds are staggered (a round sends its probes at once, then waits up
    to the timeout for the denied ones: with 4 threads, probes leave every
    quarter of a round).  Each round is compared with the expected verdicts
    at once."""

    def __init__(self, bed, probes, expect, phase, threads=4):
        self.bed = bed
        self.probes = probes
        # the verdict sets that are right at the moment: two while a policy
        # change is on its way to the switches, one otherwise
        self.accept = [expect]
        self.phase = phase          # a one-element list the main thread sets
        self.done = []              # (phase, n, cross, wrong list, seconds)
        self.error = None
        self.halt = threading.Event()
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self.run, args=(i, threads),
                                         daemon=True) for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout):
        for t in self.threads:
            t.join(timeout)

    def run(self, i, n):
        try:
            time.sleep(0.9 * i / n)
            while not self.halt.is_set():
                phase = self.phase[0]
                accept = list(self.accept)
                t = time.monotonic()
                res = self.bed.probe(self.probes, spec_name="probe-%d.spec" % i)
                accept += self.accept
                wrong = []
                for p, v in res.items():
                    got = {"connected": True, "timeout": False}.get(v)
                    if all(got is not e[p] for e in accept):
                        wrong.append((p, v))
                cross = sum(1 for p in res if self.bed.crosses(p))
                with self.cond:
                    # a round that began in one phase and ended in another
                    # is reported under both
                    end = self.phase[0]
                    self.done.append((phase if phase == end else
                                      "%s/%s" % (phase, end), len(res), cross,
                                      wrong, time.monotonic() - t, t - T0))
                    self.cond.notify_all()
        except Exception as e:      # reported by the main thread
            self.error = e
            with self.cond:
                self.cond.notify_all()

    def wait_rounds(self, n, timeout=120):
        with self.cond:
            goal = len(self.done) + n
            deadline = time.monotonic() + timeout
            while len(self.done) < goal and self.error is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise mnlib.NodeError("probe rounds stalled")
                self.cond.wait(left)
        if self.error:
            raise self.error


# Applied while node-2's daemon is down: they select pods of node-1 and
# node-3 only, so those nodes' daemons enforce them at once, also for the
# connections of node-2's pods (which the down daemon does not check).
OUTAGE_CHANGE = [
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
     "metadata": {"name": "web-from-default", "namespace": "other"},
     "spec": {"podSelector": {"matchLabels": {"app": "web"}},
              "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                  "kubernetes.io/metadata.name": "default"}}}]}]}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
     "metadata": {"name": "no-egress", "namespace": "myproject"},
     "spec": {"podSelector": {}, "policyTypes": ["Egress"]}},
]


def expected(bed, objs):
    """{probe: allowed} from the oracle, plus the node rule."""
    oc = netpol_oracle.Cluster()
    for o in objs:
        if o.get("kind") == "Namespace":
            # the label the API server sets on every namespace
            o = json.loads(json.dumps(o))
            md = o.setdefault("metadata", {})
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
        oc.apply(o)
    expect = {}
    for p in bed.matrix_probes():
        s, d, port = p
        expect[p] = oc.allowed(s, d, port, "TCP")
    for node in bed.nodes:
        for d, pod in bed.pods.items():
            for port in pod["ports"]:
                p = (node.name, d, port)
                if pod["node"] == node.name:
                    expect[p] = True    # from the pod's own node: always
                else:
                    # another node's address: a source like any address
                    src = {"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"namespace": "node", "name": node.name},
                           "spec": {"hostNetwork": True},
                           "status": {"phase": "Running", "podIP": node.address,
                                      "podIPs": [{"ip": node.address}]}}
                    expect[p] = oc.allowed(src, d, port, "TCP")
    return expect


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=12,
                    help="probe rounds in each phase, counted over the 4 "
                    "probing threads (default %(default)s)")
    ap.add_argument("--dir", help="work directory (default: a new one, removed "
                    "unless the test fails)")
    ap.add_argument("--self-check", action="store_true",
                    help="delete the victim's flows during the outage: the test "
                    "must fail")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("t-restart: needs root")

    def on_signal(sig, frame):
        raise KeyboardInterrupt()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    work = os.path.abspath(args.dir) if args.dir else tempfile.mkdtemp(prefix="np-mn-restart.")
    bed = mnlib.Bed(work, 3)
    failure = None
    rounds = None
    total = wrong_total = 0
    try:
        bed.start()
        cluster = mnlib.spread(load_yaml(os.path.join(EXAMPLES, "cluster.yaml")), 3)
        policies = []
        for f in sorted(os.listdir(EXAMPLES)):
            if f.endswith(".yaml") and f != "cluster.yaml":
                policies += load_yaml(os.path.join(EXAMPLES, f))
        pods = [o for o in cluster if o["kind"] == "Pod"]
        bed.add_pods(pods)
        bed.start_daemons()
        bed.sim.load(cluster + policies)
        bed.sync()
        bed.wait_bindings()
        bed.purge()
        print("nodes: %s" % ", ".join(
            "%s (%s; pods %s)" % (n.name, n.address, " ".join(
                k for k, p in sorted(bed.pods.items()) if p["node"] == n.name))
            for n in bed.nodes))
        print("policies: %s" % ", ".join("%s/%s" % (p["metadata"].get("namespace", "default"),
                                                   p["metadata"]["name"]) for p in policies))
        expect = expected(bed, cluster + policies)
        probes = sorted(expect)
        print("probes per round: %d (%d allowed, %d denied; %d across nodes, "
              "%d from nodes' own addresses)" % (
                  len(probes), sum(expect.values()),
                  sum(1 for v in expect.values() if not v),
                  sum(1 for p in probes if bed.crosses(p)),
                  sum(1 for p in probes if p[0] not in bed.pods)))
        sys.stdout.flush()

        victim = bed.daemon(VICTIM)
        phase = ["all up"]
        rounds = Rounds(bed, probes, expect, phase)
        rounds.start()
        rounds.wait_rounds(args.rounds)

        before = mnlib_our_flows(victim.node)
        phase[0] = "%s down" % VICTIM
        pid = victim.pid()
        rc = victim.kill(signal.SIGKILL)
        print("%s: ovs-netpold (pid %s) SIGKILLed: %s" % (VICTIM, pid, rc))
        if args.self_check:
            victim.node.ovs("ovs-ofctl", "-O", "OpenFlow15", "del-flows", "br-int")
            print("self-check: %s's flows deleted" % VICTIM)
        rounds.wait_rounds(args.rounds // 2)

        # A policy change while node-2's daemon is down.
        for o in OUTAGE_CHANGE:
            if any(p["spec"]["nodeName"] == VICTIM for p in pods
                   if netpol_oracle.selector_matches(o["spec"]["podSelector"],
                                                     p["metadata"].get("labels") or {})
                   and p["metadata"]["namespace"] == o["metadata"]["namespace"]):
                raise mnlib.NodeError("the outage change selects a pod of %s" % VICTIM)
        new_expect = expected(bed, cluster + policies + OUTAGE_CHANGE)
        changed = sorted(p for p in probes if new_expect[p] != expect[p])
        phase[0] = "%s down, change" % VICTIM
        rounds.accept = [expect, new_expect]
        bed.sim.load(OUTAGE_CHANGE)
        for d in bed.daemons:
            if d is not victim:
                d.sync()
        rounds.accept = [new_expect]
        expect = new_expect
        print("while %s is down: %s applied, synced on the other nodes; %d "
              "verdicts changed (%d of them across nodes, %d from or to %s's "
              "pods)" % (VICTIM, ", ".join("%s/%s" % (o["metadata"]["namespace"],
                                                     o["metadata"]["name"])
                                          for o in OUTAGE_CHANGE),
                         len(changed), sum(1 for p in changed if bed.crosses(p)),
                         sum(1 for p in changed
                             if bed.pods.get(p[0], {}).get("node") == VICTIM
                             or bed.pods[p[1]]["node"] == VICTIM), VICTIM))
        if not changed:
            raise mnlib.NodeError("the outage change changed no verdict")
        phase[0] = "%s down" % VICTIM
        rounds.wait_rounds(args.rounds - args.rounds // 2)
        during = mnlib_our_flows(victim.node)
        if not args.self_check and during != before:
            failure = "%s's flows changed while its daemon was down (%d -> %d)" % (
                VICTIM, len(before), len(during))

        phase[0] = "%s restarting" % VICTIM
        t = time.monotonic()
        victim.start(wait=False)
        deadline = time.monotonic() + 20
        while victim.netpol("status", check=False, timeout=10).returncode:
            if not victim.running() or time.monotonic() > deadline:
                raise mnlib.NodeError("%s: the restarted daemon does not answer:\n%s"
                                      % (VICTIM, mnlib.tail(victim.log)))
            time.sleep(0.05)
        victim.sync()
        print("%s: ovs-netpold restarted (pid %s), synced %.2f s after the start"
              % (VICTIM, victim.pid(), time.monotonic() - t))
        n_pol = len(policies) + len(OUTAGE_CHANGE)
        if "%d networkpolicies" % n_pol not in victim.status():
            failure = "%s's restarted daemon does not have the %d policies" % (
                VICTIM, n_pol)
        phase[0] = "%s back" % VICTIM
        rounds.wait_rounds(args.rounds)
        after = mnlib_our_flows(victim.node)
        if strip_cookies(after) != strip_cookies(before):
            failure = failure or "%s's flows after the restart differ from before " \
                "(%d -> %d, cookies aside)" % (VICTIM, len(before), len(after))
        elif after == before:
            failure = failure or "%s's flows kept their cookies: the restart " \
                "replaced nothing" % VICTIM
        rounds.halt.set()
        rounds.join(timeout=60)
        if rounds.error:
            raise rounds.error
        rounds.done.sort(key=lambda r: r[5])

        print("\n%-22s %7s %7s %7s %8s" % ("round (phase)", "probes", "across",
                                           "wrong", "seconds"))
        for i, (ph, n, cross, wrong, dt, _) in enumerate(rounds.done):
            total += n
            wrong_total += len(wrong)
            print("%-22s %7d %7d %7d %8.2f" % ("%d (%s)" % (i + 1, ph), n, cross,
                                                len(wrong), dt))
            for (s, d, port), v in wrong[:10 if not args.verbose else None]:
                print("    %s -> %s:%d: expected %s, got %s%s" % (
                    s, d, port, "allowed" if expect[(s, d, port)] else "denied", v,
                    " (across nodes)" if bed.crosses((s, d, port)) else ""))
        if wrong_total and not failure:
            failure = "%d wrong verdicts" % wrong_total
    except (mnlib.NodeError, OSError) as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        if rounds:
            rounds.halt.set()
            rounds.join(timeout=60)
        for p in bed.stop(keep=False):
            print("t-restart: %s" % p)
            failure = failure or p
    if args.self_check:
        ok = failure is not None and wrong_total > 0
        print("self-check: %s (%d wrong verdicts with the flows deleted)" % (
            "passed" if ok else "FAILED", wrong_total))
        if ok:
            import shutil
            shutil.rmtree(work, ignore_errors=True)
        print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
        return 0 if ok else 1
    if failure:
        print("t-restart: FAILED: %s (work directory %s)" % (failure, work))
    elif not args.dir:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (total - wrong_total, wrong_total + (1 if failure and not wrong_total else 0)))
    return 1 if failure else 0


def mnlib_our_flows(node):
    cookie = re.compile(r"cookie=0x([0-9a-f]+)")
    out = []
    for line in node.dump_flows().splitlines():
        m = cookie.search(line)
        if m and int(m.group(1), 16) >> 48 == 0x4e50:
            out.append(line.strip())
    return sorted(out)


if __name__ == "__main__":
    sys.exit(main())
