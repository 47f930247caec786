#!/usr/bin/env python3
"""The main job on the built-in sandbox: ovs-netpold enforcing the example
policies of deploy/examples/ on a userspace Open vSwitch bridge with real
pods (network namespaces), driven through the Kubernetes API with the real
kubectl, and the connectivity matrix probed with real TCP connections
before and after.

  1. starts the API server stand-in (tests/kube-apiserver-sim: HTTPS, a
     bearer token, a kubeconfig), a sandbox switch (ovs/sandbox.sh) with the
     pods of deploy/examples/cluster.yaml plugged in (OVSDB
     external_ids:iface-id=NS_POD) and TCP listeners in them, and
     ovs-netpold --kubeconfig against the stand-in, with a token of the
     service account of deploy/kubernetes (applied with kubectl apply -k),
     so under that ClusterRole: a 403 fails the demo;
  2. kubectl apply -f cluster.yaml, ovs-netpol sync, the matrix (before);
  3. kubectl apply -f the example policies, ovs-netpol sync, the matrix
     (after), then ovs-netpol status, and ovs-netpol trace of one allowed
     and one denied connection (checked against the matrix).

--compile-only runs the offline path instead: `ovs-netpol compile` of the
examples loaded with ovs-ofctl replace-flows, no API server, no daemon.

--nodes N runs the same on N nodes (tests/multinode/mnlib.py): one
userspace OVS per node on a shared L2 underlay, the example pods spread
round-robin over them (the matrix shows each pod's node), one ovs-netpold
--node node-K per node following the one API server stand-in, and
`ovs-netpol status` of every node; `trace` runs on the destination's node.

Run it through deploy/sandbox-demo.sh, which builds everything first.
Stops every process it started and deletes every namespace on exit, also
on an error, Ctrl-C or SIGTERM.  Exit status 0 only when the matrix before
the policies is all-allowed and the policies changed it.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")
NETPOL = os.path.join(TOP, "ovs-netpol")
PROBE = os.path.join(TOP, "tests", "np-probe")
EXAMPLES = os.path.join(TOP, "deploy", "examples")
CLUSTER = os.path.join(EXAMPLES, "cluster.yaml")


def rel(path):
    return os.path.relpath(path, TOP) if path.startswith(TOP + "/") else path


def policy_files():
    return sorted(f for f in glob.glob(os.path.join(EXAMPLES, "*.yaml"))
                  if f != CLUSTER)


def print_matrix(pods, verdict, title, label=None):
    """pods: [{"key", "ports"}] in display order; verdict: {(src key, dst
    key, port): True when connected}; label: {key: what to print for the
    pod} (default: its key)."""
    label = label or {p["key"]: p["key"] for p in pods}
    ports = sorted({p for d in pods for p in d["ports"]})
    width = max(len(label[p["key"]]) for p in pods) + 2
    colw = max(len(label[p["key"]]) for p in pods) + 2
    print("\n%s" % title)
    for port in ports:
        print("\n  TCP %d   (rows: from; columns: to; "
              "ok = connected, -- = blocked)" % port)
        print("  " + " " * width
              + "".join(label[d["key"]].rjust(colw) for d in pods))
        for src in pods:
            row = "  " + label[src["key"]].ljust(width)
            for dst in pods:
                key = (src["key"], dst["key"], port)
                cell = ("" if src is dst or key not in verdict
                        else "ok" if verdict[key] else "--")
                row += cell.rjust(colw)
            print(row)
    sys.stdout.flush()


# ---- the main job: ovs-netpold driven through the API with kubectl --------

def kube_main(args):
    sys.path.insert(0, os.path.join(TOP, "tests", "kube-e2e"))
    import kubebed

    policies = policy_files()
    try:
        bed = kubebed.Bed(work=args.dir, keep=args.keep,
                          bookmark_interval=args.bookmark_interval)
    except kubebed.BedError as e:
        sys.exit("sandbox-demo: %s" % e)
    failure = None
    stopped = False

    def step(title, cmd_args):
        """kubectl CMD_ARGS, then ovs-netpol sync; prints both with the time
        from kubectl returning to sync returning."""
        print("\n$ kubectl %s" % " ".join(cmd_args))
        wall = time.time()
        out = bed.kubectl(*cmd_args).stdout
        t_applied = time.monotonic()
        wall_applied = time.time()
        print("".join("  " + l + "\n" for l in out.splitlines()), end="")
        dt, sync_out = bed.sync(timeout=args.sync_timeout)
        total = time.monotonic() - t_applied
        commits = bed.commits_since(wall)
        when = ("; flows committed %+.0f ms from kubectl returning"
                % ((commits[-1][0] - wall_applied) * 1000) if commits else "")
        print("$ ovs-netpol sync --timeout %d\n  %s\n  (%s: %.3f s from kubectl "
              "returning to sync returning%s)"
              % (args.sync_timeout, sync_out, title, total, when))
        late = bed.wait_bindings()
        if late:
            print("  (port bindings came %.2f s after the sync)" % late)
        bed.purge()
        return total

    def matrix(pods, title):
        res = bed.probe(bed.matrix_probes([p["key"] for p in pods]))
        odd = {k: v for k, v in res.items() if v not in ("connected", "timeout")}
        for (s, d, port), v in sorted(odd.items()):
            print("  warning: %s -> %s:%d: %s" % (s, d, port, v))
        verdict = {k: v == "connected" for k, v in res.items()}
        print_matrix(pods, verdict, title)
        return verdict

    try:
        url = bed.start_sim()
        print("API server stand-in: %s (TLS, bearer token; kubeconfig %s; "
              "kubectl apply -k deploy/kubernetes)" % (url, bed.kubeconfig))
        pod_objs = bed.manifest_pods(CLUSTER)
        bed.start_sandbox()
        bed.add_pods(pod_objs)
        pods = [bed.pods[kubebed.pod_key(o)] for o in pod_objs]
        print("Sandbox: %s (userspace OVS, bridge br-int, %d pods plugged "
              "in with external_ids:iface-id=NS_POD)" % (bed.sbx, len(pods)))
        bed.start_daemon()
        print("ovs-netpold: pid %d, --kubeconfig %s (as %s) --node %s "
              "--control %s (log %s)" % (bed.daemon.pid, bed.daemon_kubeconfig,
                                         bed.sa_user, kubebed.NODE, bed.ctl,
                                         bed.daemon_log))
        sys.stdout.flush()

        step("cluster", ["apply", "-f", rel(CLUSTER)])
        before = matrix(pods, "BEFORE: no NetworkPolicy "
                        "(every pod reaches every pod)")

        apply_args = ["apply"]
        for p in policies:
            apply_args += ["-f", rel(p)]
        step("policies", apply_args)
        n = sum(1 for l in bed.dump_flows().splitlines() if "cookie=" in l)
        print("%d flows on br-int; see them with:\n"
              "  . %s/env && ovs-ofctl -O OpenFlow15 dump-flows br-int"
              % (n, bed.sbx))
        after = matrix(pods, "AFTER: deploy/examples policies, applied with "
                       "kubectl, enforced by ovs-netpold")
        changed = sum(1 for k in before if before[k] != after[k])
        print("\n%d of %d connections changed." % (changed, len(before)))

        print("\n$ ovs-netpol --control %s status" % bed.ctl)
        status = bed.status()
        print("".join("  " + l + "\n" for l in status.splitlines()), end="")

        # Which policy decided: the switch's own trace, named by cookie.
        traces = {}
        for src, want in (("default/frontend", "ALLOWED"),
                          ("default/backend", "DENIED")):
            print("\n$ ovs-netpol --control %s trace %s default/db 6379"
                  % (bed.ctl, src))
            r = bed.netpol("trace", src, "default/db", "6379", check=False)
            out = (r.stdout or "") + (r.stderr or "")
            print("".join("  " + l + "\n" for l in out.splitlines()), end="")
            traces[src] = (want, out.split(":", 1)[0].strip())

        if not all(before.values()):
            failure = "unexpected: some connections failed without policies"
        elif not changed:
            failure = "unexpected: the policies changed no connection"
        elif "%d networkpolicies" % len(policies) not in status:
            failure = "unexpected: the daemon does not have %d policies" \
                % len(policies)
        elif any(w != g for w, g in traces.values()):
            failure = "unexpected: trace disagrees with the matrix: %s" % traces
        elif bed.daemon.poll() is not None:
            failure = "ovs-netpold exited with %d" % bed.daemon.returncode
    except kubebed.BedError as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        if failure and failure != "interrupted":
            print("\nsandbox-demo: ovs-netpold log (last lines):\n%s"
                  % kubebed.tail(bed.daemon_log), file=sys.stderr)
        if args.keep and not failure:
            # np-probe serve ends with us (its stdin closes)
            left = {k: v for k, v in bed.pids().items()
                    if k != "np-probe serve"}
            print("\nLeft running (--keep): %s and the sandbox\n  stop: "
                  "kill %s; ovs/sandbox.sh stop %s; rm -r %s" % (
                      ", ".join("%s pid %d" % kv for kv in left.items()),
                      " ".join(str(p) for p in left.values()),
                      bed.sbx, bed.work))
            stopped = True
        if not stopped:
            for p in bed.stop():
                print("sandbox-demo: %s" % p, file=sys.stderr)
                failure = failure or p
    if failure:
        sys.exit("sandbox-demo: %s" % failure)


# ---- --nodes N: the same on several nodes ----------------------------------

def nodes_main(args):
    """The main job on N nodes (tests/multinode/mnlib.py): one userspace OVS
    per node on a shared L2 underlay, the example pods spread round-robin
    over them, one ovs-netpold --node node-K per node, all following one API
    server stand-in, driven with kubectl."""
    sys.path.insert(0, os.path.join(TOP, "tests", "multinode"))
    sys.path.insert(0, os.path.join(TOP, "tests", "kube-e2e"))
    import json
    import kubebed
    import mnlib

    try:
        kubectl_bin = kubebed.find_kubectl()
        bed = mnlib.Bed(args.dir or tempfile.mkdtemp(prefix="ovs-netpol-demo."),
                        args.nodes, bookmark_interval=args.bookmark_interval)
    except (kubebed.BedError, mnlib.NodeError) as e:
        sys.exit("sandbox-demo: %s" % e)
    policies = policy_files()
    failure = None

    def kubectl(*cmd_args):
        return mnlib.run([kubectl_bin, "--kubeconfig", bed.sim.kubeconfig,
                          "--cache-dir", os.path.join(bed.work, "kube-cache")]
                         + list(cmd_args)).stdout

    def step(title, cmd_args):
        print("\n$ kubectl %s" % " ".join(cmd_args))
        out = kubectl(*cmd_args)
        t = time.monotonic()
        print("".join("  " + l + "\n" for l in out.splitlines()), end="")
        bed.sync(timeout=args.sync_timeout)
        dt = time.monotonic() - t
        print("$ ovs-netpol --control CTL sync --timeout %d   # on each of the %d "
              "nodes\n  (%s: %.3f s from kubectl returning to the last sync "
              "returning)" % (args.sync_timeout, bed.n, title, dt))
        bed.wait_bindings()
        bed.purge()

    def matrix(pods, title):
        probes = bed.matrix_probes([p["key"] for p in pods])
        res = bed.probe(probes, timeout_ms=1000)
        for (s_, d, port), v in sorted(res.items()):
            if v not in ("connected", "timeout"):
                print("  warning: %s -> %s:%d: %s" % (s_, d, port, v))
        verdict = {k: v == "connected" for k, v in res.items()}
        label = {p["key"]: "%s@%s" % (p["key"], p["node"].replace("node-", "n"))
                 for p in pods}
        print_matrix(pods, verdict, title, label)
        cross = sum(1 for k in probes if bed.crosses(k))
        print("\n  (POD@nK: the pod runs on node-K; %d of these %d connections "
              "cross nodes: egress is checked on the source's node, ingress on "
              "the destination's)" % (cross, len(probes)))
        return verdict

    try:
        bed.start()
        print("API server stand-in: %s (TLS, bearer token; kubeconfig %s)"
              % (bed.sim.url, bed.sim.kubeconfig))
        import yaml
        with open(CLUSTER) as f:
            objs = mnlib.spread([d for d in yaml.safe_load_all(f) if d], bed.n)
        spread_file = os.path.join(bed.work, "cluster-%d-nodes.json" % bed.n)
        with open(spread_file, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f, indent=1)
        pod_objs = [o for o in objs if o["kind"] == "Pod"]
        bed.add_pods(pod_objs)
        pods = [bed.pods[mnlib.pod_key(o)] for o in pod_objs]
        for node in bed.nodes:
            print("%s: %s (userspace OVS, bridge br-int, address %s on its LOCAL "
                  "port, uplink to the shared L2 underlay), pods: %s" % (
                      node.name, node.dir, node.address, ", ".join(
                          p["key"] for p in pods if p["node"] == node.name)))
        bed.start_daemons()
        for d in bed.daemons:
            print("%s: ovs-netpold pid %d in the node's netns, --node %s --control %s "
                  "(log %s)" % (d.node.name, d.pid(), d.node.name, d.ctl, d.log))
        sys.stdout.flush()

        step("cluster", ["apply", "-f", spread_file])
        print("  (%s is %s with the pods' spec.nodeName spread over node-1..%d)"
              % (spread_file, rel(CLUSTER), bed.n))
        before = matrix(pods, "BEFORE: no NetworkPolicy (every pod reaches every pod)")
        apply_args = ["apply"]
        for p in policies:
            apply_args += ["-f", rel(p)]
        step("policies", apply_args)
        after = matrix(pods, "AFTER: deploy/examples policies, applied with kubectl, "
                       "enforced by the ovs-netpold of each node")
        changed = sum(1 for k in before if before[k] != after[k])
        print("\n%d of %d connections changed." % (changed, len(before)))

        statuses = {}
        for d in bed.daemons:
            print("\n$ ovs-netpol --control %s status   # %s" % (d.ctl, d.node.name))
            statuses[d.node.name] = d.status()
            print("".join("  " + l + "\n" for l in statuses[d.node.name].splitlines()),
                  end="")

        # Which policy decided, on the destination's node (ingress is checked
        # there; the source's node checked egress).
        traces = {}
        db = bed.pods["default/db"]
        dd = bed.daemon(db["node"])
        for src, want in (("default/frontend", "ALLOWED"), ("default/backend", "DENIED")):
            print("\n$ ovs-netpol --control %s trace %s default/db 6379   # on %s, "
                  "where default/db runs (%s is on %s)" % (
                      dd.ctl, src, db["node"], src, bed.pods[src]["node"]))
            r = dd.netpol("trace", src, "default/db", "6379", check=False)
            out = (r.stdout or "") + (r.stderr or "")
            print("".join("  " + l + "\n" for l in out.splitlines()), end="")
            traces[src] = (want, out.split(":", 1)[0].strip())
            if after.get((src, "default/db", 6379)) != (want == "ALLOWED"):
                failure = failure or "the matrix disagrees with the expected trace " \
                    "of %s -> default/db:6379" % src

        if not all(before.values()):
            failure = "unexpected: some connections failed without policies"
        elif not changed:
            failure = "unexpected: the policies changed no connection"
        elif any("%d networkpolicies" % len(policies) not in st
                 for st in statuses.values()):
            failure = "unexpected: not every daemon has %d policies" % len(policies)
        elif any(w != g for w, g in traces.values()):
            failure = "unexpected: trace disagrees with the matrix: %s" % traces
        elif not all(d.running() for d in bed.daemons):
            failure = "an ovs-netpold exited"
    except (mnlib.NodeError, OSError) as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        if failure and failure != "interrupted":
            for d in bed.daemons:
                print("\nsandbox-demo: %s's ovs-netpold log (last lines):\n%s"
                      % (d.node.name, mnlib.tail(d.log)), file=sys.stderr)
        for p in bed.stop():
            print("sandbox-demo: %s" % p, file=sys.stderr)
            failure = failure or p
        if not args.dir:
            import shutil
            shutil.rmtree(bed.work, ignore_errors=True)
    if failure:
        sys.exit("sandbox-demo: %s" % failure)


# ---- --compile-only: the offline path --------------------------------------

def run(*args, **kw):
    return subprocess.run(args, check=True, text=True, **kw)


def sw(sbx, *args, **kw):
    return run(SANDBOX, "sw", sbx, *args, **kw)


def load_objects(path):
    import yaml
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def pods_of(cluster_file):
    pods = []
    for o in load_objects(cluster_file):
        if o.get("kind") != "Pod":
            continue
        meta = o["metadata"]
        ports = sorted({p["containerPort"]
                        for c in o["spec"].get("containers", [])
                        for p in c.get("ports", [])
                        if p.get("protocol", "TCP") == "TCP"})
        pods.append({"key": "%s/%s" % (meta.get("namespace", "default"),
                                       meta["name"]),
                     "ns": meta.get("namespace", "default"),
                     "name": meta["name"],
                     "ip": o["status"]["podIP"],
                     "ports": ports})
    return pods


def compile_and_load(sbx, files, out):
    with open(out, "w") as f:
        run(NETPOL, "compile", "--ports", os.path.join(sbx, "ports"), *files,
            stdout=f)
    sw(sbx, "ovs-ofctl", "-O", "OpenFlow15", "--bundle", "replace-flows",
       "br-int", out)
    # No datapath flow cached from the previous table may decide a probe.
    sw(sbx, "ovs-appctl", "revalidator/purge", stdout=subprocess.DEVNULL)
    sw(sbx, "ovs-appctl", "dpctl/flush-conntrack", stdout=subprocess.DEVNULL)


class Prober:
    def __init__(self, sbx, netns):
        self.sbx = sbx
        self.netns = netns
        self.sport = 20000

    def matrix(self, pods, title):
        lines, ids = [], []
        for src in pods:
            for dst in pods:
                if src is dst:
                    continue
                for port in dst["ports"]:
                    pid = "%s>%s:%d" % (src["key"], dst["key"], port)
                    ids.append((src["key"], dst["key"], port))
                    lines.append("%s %s tcp %s %d %d" % (
                        pid, self.netns[src["key"]], dst["ip"], port,
                        self.sport))
                    self.sport += 1
        with tempfile.NamedTemporaryFile("w", suffix=".spec",
                                         delete=False) as f:
            f.write("\n".join(lines) + "\n")
            spec = f.name
        try:
            res = run(PROBE, "probe", "--spec", spec, "--timeout-ms", "1000",
                      capture_output=True).stdout
        finally:
            os.unlink(spec)
        verdict = {}
        for line, key in zip(res.splitlines(), ids):
            verdict[key] = line.split()[1] == "connected"
        print_matrix(pods, verdict, title)
        return verdict


def compile_only_main(args):
    cluster = CLUSTER
    policies = policy_files()
    sbx = args.dir or tempfile.mkdtemp(prefix="ovs-netpol-demo.")
    pods = pods_of(cluster)
    server = None
    try:
        run(SANDBOX, "start", sbx, stdout=subprocess.DEVNULL)
        spec = []
        for p in pods:
            run(SANDBOX, "add-pod", sbx, p["ns"], p["name"], p["ip"],
                stdout=subprocess.DEVNULL)
        netns = {}
        with open(os.path.join(sbx, "pods")) as f:
            for line in f:
                fields = line.split()
                netns[fields[0]] = fields[2]
        for p in pods:
            spec.append("%s tcp %s" % (netns[p["key"]],
                                       " ".join(map(str, p["ports"]))))
        spec_file = os.path.join(sbx, "listen.spec")
        with open(spec_file, "w") as f:
            f.write("\n".join(spec) + "\n")
        server = subprocess.Popen([PROBE, "serve", "--spec", spec_file,
                                   "--control-stdin"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        ready = server.stdout.readline()
        if not ready.startswith("ready") or "failed" in ready:
            sys.exit("listeners did not start: %s" % ready.strip())

        prober = Prober(sbx, netns)
        print("Sandbox: %s (userspace OVS, bridge br-int, %d pods; "
              "--compile-only: no daemon)" % (sbx, len(pods)))
        compile_and_load(sbx, [cluster], os.path.join(sbx, "before.flows"))
        before = prober.matrix(pods, "BEFORE: no NetworkPolicy "
                               "(every pod reaches every pod)")

        out = os.path.join(sbx, "after.flows")
        compile_and_load(sbx, [cluster] + policies, out)
        print("\nLoaded %s" % ", ".join(rel(p) for p in policies))
        n = sum(1 for l in open(out) if l.startswith("table="))
        print("%d flows on br-int (%s); see them with:\n"
              "  . %s/env && ovs-ofctl -O OpenFlow15 dump-flows br-int"
              % (n, rel(out), sbx))
        after = prober.matrix(pods, "AFTER: deploy/examples policies")
        changed = sum(1 for k in before if before[k] != after[k])
        print("\n%d of %d connections changed." % (changed, len(before)))
        if not all(before.values()):
            sys.exit("unexpected: some connections failed without policies")
    finally:
        if server:
            server.stdin.close()
            server.wait(timeout=10)
        if not args.keep:
            subprocess.run([SANDBOX, "stop", sbx], stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--compile-only", action="store_true",
                    help="the offline path: ovs-netpol compile + ovs-ofctl "
                    "replace-flows, no API server, no daemon")
    ap.add_argument("--dir", help="work directory (default: a new one; with "
                    "--compile-only: the sandbox directory)")
    ap.add_argument("--keep", action="store_true",
                    help="leave everything running (the demo prints how to "
                    "stop it)")
    ap.add_argument("--bookmark-interval", type=float, default=1,
                    help="seconds between the stand-in's watch BOOKMARKs "
                    "(default 1; ovs-netpol sync does not wait for them: it "
                    "checks a kind without events with one LIST)")
    ap.add_argument("--sync-timeout", type=int, default=10,
                    help="ovs-netpol sync --timeout (default 10)")
    ap.add_argument("--nodes", type=int, default=1,
                    help="run on N nodes (2 to 200): the pods spread over them, "
                    "one ovs-netpold per node (default 1)")
    args = ap.parse_args()
    if not 1 <= args.nodes <= 200:
        ap.error("--nodes %d: a number from 1 to 200" % args.nodes)
    if args.nodes > 1 and (args.compile_only or args.keep):
        ap.error("--nodes %d: not with %s (the daemons of several nodes reach "
                 "the API server through this process)" % (
                     args.nodes, "--compile-only" if args.compile_only else "--keep"))
    if args.compile_only:
        compile_only_main(args)
    elif args.nodes > 1:
        nodes_main(args)
    else:
        kube_main(args)


if __name__ == "__main__":
    main()
