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

--tenants runs tenant isolation with ClusterNetworkPolicy instead:
deploy/examples/tenants/tenants.yaml (two tenants, shared DNS and monitoring, the
tenants' own NetworkPolicies) on a sandbox of its six pods, enforced by
ovs-netpold following a manifest directory (--source dir:; with
--compile-only: ovs-netpol compile + ovs-ofctl), TCP and UDP probed; the
matrix after the policies is checked against TENANT_EXPECTED, written by
hand from the file's text (and that against tests/oracle); with the daemon,
`ovs-netpol status` must count the policies and `ovs-netpol trace` name the
policy that decides a connection of each tier: exit status 1 on any
difference.

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
TENANTS = os.path.join(EXAMPLES, "tenants", "tenants.yaml")


def rel(path):
    return os.path.relpath(path, TOP) if path.startswith(TOP + "/") else path


def policy_files():
    return sorted(f for f in glob.glob(os.path.join(EXAMPLES, "*.yaml"))
                  if f != CLUSTER)


def port_title(port):
    """A port of a pod's "ports": a number (TCP) or (number, "udp")."""
    if isinstance(port, tuple):
        return "%s %d" % (port[1].upper(), port[0])
    return "TCP %d" % port


def print_matrix(pods, verdict, title, label=None):
    """pods: [{"key", "ports"}] in display order; verdict: {(src key, dst
    key, port): True when connected}; label: {key: what to print for the
    pod} (default: its key).  One table per port, with the pods that
    serve it as columns."""
    label = label or {p["key"]: p["key"] for p in pods}
    ports = sorted({p for d in pods for p in d["ports"]})
    width = max(len(label[p["key"]]) for p in pods) + 2
    colw = max(len(label[p["key"]]) for p in pods) + 2
    print("\n%s" % title)
    for port in ports:
        cols = [d for d in pods if port in d["ports"]]
        print("\n  %s   (rows: from; columns: to; "
              "ok = connected, -- = blocked)" % port_title(port))
        print("  " + " " * width
              + "".join(label[d["key"]].rjust(colw) for d in cols))
        for src in pods:
            row = "  " + label[src["key"]].ljust(width)
            for dst in cols:
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

    def matrix(self, pods, title, label=None):
        lines, ids = [], []
        for src in pods:
            for dst in pods:
                if src is dst:
                    continue
                for port in dst["ports"]:
                    number, proto = (port if isinstance(port, tuple)
                                     else (port, "tcp"))
                    # short: np-probe puts the id in its UDP datagram,
                    # and a long one does not fit (tests/np-probe.c msg[64])
                    pid = "p%d" % len(ids)
                    ids.append((src["key"], dst["key"], port))
                    lines.append("%s %s %s %s %d %d" % (
                        pid, self.netns[src["key"]], proto, dst["ip"], number,
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
        print_matrix(pods, verdict, title, label)
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
            if not args.dir:
                import shutil
                shutil.rmtree(sbx, ignore_errors=True)


# ---- --tenants: tenant isolation with ClusterNetworkPolicy ----------------

DAEMON = os.path.join(TOP, "ovs-netpold")

# The pods of tenants.yaml in the matrix's order, and how it names them.
TENANT_PODS = [("shared-services/dns", "dns"),
               ("shared-services/monitoring", "monitoring"),
               ("blue-frontend/web", "blue-fe/web"),
               ("blue-backend/db", "blue-be/db"),
               ("red/web", "red/web"),
               ("red/db", "red/db")]

# What tenants.yaml must do, derived by hand from its text (its comments
# say why each cell is what it is), not from ovs-netpol: rows from, columns
# to; "." connected, "X" blocked, "-" the pod itself or a pod that does not
# serve the port.  Without the policies every cell that is not "-" is ".".
TENANT_EXPECTED = """
tcp/8080    dns monitoring blue-fe/web blue-be/db red/web red/db
dns          -      X          X          .        X       X
monitoring   X      -          X          .        X       X
blue-fe/web  X      X          -          .        X       X
blue-be/db   X      X          X          -        X       X
red/web      X      X          X          X        -       .
red/db       X      X          X          X        .       -

tcp/53      dns monitoring blue-fe/web blue-be/db red/web red/db
dns          -      -          -          -        -       -
monitoring   .      -          -          -        -       -
blue-fe/web  .      -          -          -        -       -
blue-be/db   .      -          -          -        -       -
red/web      .      -          -          -        -       -
red/db       .      -          -          -        -       -

udp/53      dns monitoring blue-fe/web blue-be/db red/web red/db
dns          -      -          -          -        -       -
monitoring   .      -          -          -        -       -
blue-fe/web  .      -          -          -        -       -
blue-be/db   .      -          -          -        -       -
red/web      .      -          -          -        -       -
red/db       .      -          -          -        -       -

tcp/9090    dns monitoring blue-fe/web blue-be/db red/web red/db
dns          -      .          -          -        -       -
monitoring   -      -          -          -        -       -
blue-fe/web  -      .          -          -        -       -
blue-be/db   -      .          -          -        -       -
red/web      -      .          -          -        -       -
red/db       -      .          -          -        -       -
"""


def parse_grids(text):
    """{(src label, dst label, (port, proto)): True when connected}, from
    grids as in TENANT_EXPECTED."""
    want = {}
    cols = port = None
    for line in text.strip().splitlines():
        w = line.split()
        if not w:
            cols = None
            continue
        if cols is None:
            proto, number = w[0].split("/")
            port, cols = (int(number), proto), w[1:]
            continue
        if len(w) != len(cols) + 1:
            raise ValueError("grid %s/%d: row %r has %d cells for %d columns"
                             % (port[1], port[0], w[0], len(w) - 1, len(cols)))
        for dst, cell in zip(cols, w[1:]):
            if cell != "-":
                want[(w[0], dst, port)] = cell == "."
    return want


def tenant_pods(objs):
    """The Pods of OBJS as pods_of() gives them, with every (containerPort,
    protocol) as a port; in TENANT_PODS order."""
    pods = {}
    for o in objs:
        if o.get("kind") != "Pod":
            continue
        meta = o["metadata"]
        key = "%s/%s" % (meta["namespace"], meta["name"])
        pods[key] = {"key": key, "ns": meta["namespace"], "name": meta["name"],
                     "ip": o["status"]["podIP"],
                     "ports": sorted({(p["containerPort"],
                                       p.get("protocol", "TCP").lower())
                                      for c in o["spec"]["containers"]
                                      for p in c.get("ports", [])})}
    if sorted(pods) != sorted(k for k, _ in TENANT_PODS):
        sys.exit("sandbox-demo: %s has the pods %s; the demo expects %s"
                 % (rel(TENANTS), ", ".join(sorted(pods)),
                    ", ".join(k for k, _ in TENANT_PODS)))
    return [pods[k] for k, _ in TENANT_PODS]


def compare(verdict, want, label):
    """The cells where VERDICT (keys of pods) is not WANT (keys of labels),
    as lines."""
    key_of = {l: k for k, l in TENANT_PODS}
    bad = []
    for (s, d, port), ok in sorted(want.items()):
        got = verdict.get((key_of[s], key_of[d], port))
        if got != ok:
            bad.append("%s -> %s %s/%d: %s, expected %s" % (
                s, d, port[1], port[0],
                "not probed" if got is None else "connected" if got else "blocked",
                "connected" if ok else "blocked"))
    extra = set(verdict) - {(key_of[s], key_of[d], p) for s, d, p in want}
    bad += ["%s -> %s %s/%d: probed, but not in the expected matrix"
            % (s, d, p[1], p[0]) for s, d, p in sorted(extra)]
    return bad


def oracle_disagrees(objs, want):
    """The cells of WANT on which tests/oracle (an independent model of
    NetworkPolicy and ClusterNetworkPolicy, written from the API texts)
    disagrees: a second opinion on the hand-written matrix."""
    sys.path.insert(0, os.path.join(TOP, "tests", "oracle"))
    import copy
    import netpol_oracle
    cluster = netpol_oracle.Cluster()
    for o in copy.deepcopy(objs):
        if o["kind"] == "Namespace":
            # the API server's label, which the oracle does not add
            o["metadata"].setdefault("labels", {})[
                "kubernetes.io/metadata.name"] = o["metadata"]["name"]
        cluster.apply(o)
    key_of = {l: k for k, l in TENANT_PODS}
    return ["%s -> %s %s/%d: the oracle says %s" % (
        s, d, p[1], p[0], "connected" if not ok else "blocked")
        for (s, d, p), ok in sorted(want.items())
        if cluster.allowed(key_of[s], key_of[d], p[0], p[1].upper()) != ok]


class TenantDaemon:
    """ovs-netpold on the sandbox switch with a manifest directory as its
    source (--source dir:, which it watches with inotify)."""

    def __init__(self, sbx):
        self.sbx = sbx
        self.src = os.path.join(sbx, "manifests")
        os.makedirs(self.src, exist_ok=True)
        self.ctl = os.path.join(sbx, "ovs-netpold.ctl")
        self.log = os.path.join(sbx, "ovs-netpold.log")
        self.proc = None

    def write(self, name, text):
        """Atomically (a dot-named file, renamed), as a config management
        tool should, so the daemon never reads half a file."""
        tmp = os.path.join(self.src, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(self.src, name))

    def start(self):
        cmd = [DAEMON, "--source", "dir:" + self.src,
               "--ovs-rundir", os.path.join(self.sbx, "run"),
               "--bridge", "br-int", "--node", "node-1",
               # the matrix is pod to pod; this host's addresses are not
               # the sandbox node's
               "--node-address", "none", "--control", self.ctl]
        with open(self.log, "a") as lf:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=lf, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 20
        while self.netpol("status", check=False).returncode:
            if self.proc.poll() is not None:
                raise RuntimeError("ovs-netpold exited with %d at start; see %s"
                                   % (self.proc.returncode, self.log))
            if time.monotonic() > deadline:
                raise RuntimeError("ovs-netpold: no control socket after 20 s; "
                                   "see %s" % self.log)
            time.sleep(0.05)

    def netpol(self, *args, check=True):
        return subprocess.run([NETPOL, "--control", self.ctl] + list(args),
                              text=True, capture_output=True, check=check,
                              timeout=120)

    def sync(self, timeout):
        r = self.netpol("sync", "--timeout", str(timeout), check=False)
        if r.returncode:
            raise RuntimeError("ovs-netpol sync: %s"
                               % (r.stderr or r.stdout).strip())
        return r.stdout.strip()

    def wait_bindings(self, pods, ofports, timeout=10):
        """Every pod spoof-guarded on its port: the daemon binds pods to
        ports from OVSDB, which sync does not wait for."""
        want = {(ofports[p["key"]], p["ip"]) for p in pods}
        deadline = time.monotonic() + timeout
        while True:
            flows = sw(self.sbx, "ovs-ofctl", "-O", "OpenFlow15", "--no-names",
                       "dump-flows", "br-int", capture_output=True).stdout
            got = set()
            for line in flows.splitlines():
                for o, ip in want:
                    if "in_port=%s," % o in line and "nw_src=%s " % ip in line:
                        got.add((o, ip))
            if got == want:
                return
            if time.monotonic() > deadline:
                raise RuntimeError("no spoof-guard flow for %s after %d s"
                                   % (", ".join("port %s/%s" % m for m in
                                                sorted(want - got)), timeout))
            time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "ovs-netpold ignored SIGTERM for 10 s"
        return None


def tenants_main(args):
    """tenants.yaml on the sandbox: its pods, the matrix without its
    policies, then with them, checked against TENANT_EXPECTED.  With
    --compile-only: ovs-netpol compile + ovs-ofctl; otherwise ovs-netpold
    following a manifest directory."""
    import yaml
    objs = load_objects(TENANTS)
    base = [o for o in objs if o.get("kind") in ("Namespace", "Pod")]
    policies = [o for o in objs if o not in base]
    pods = tenant_pods(objs)
    label = dict(TENANT_PODS)
    want = parse_grids(TENANT_EXPECTED)
    odd = oracle_disagrees(objs, want)
    if odd:
        sys.exit("sandbox-demo: TENANT_EXPECTED and tests/oracle disagree on "
                 "%s:\n  %s" % (rel(TENANTS), "\n  ".join(odd)))
    sbx = args.dir or tempfile.mkdtemp(prefix="ovs-netpol-demo.")
    server = daemon = None
    failure = None
    try:
        run(SANDBOX, "start", sbx, stdout=subprocess.DEVNULL)
        add = []
        for p in pods:
            add += [p["ns"], p["name"], p["ip"]]
        run(SANDBOX, "add-pod", sbx, *add, stdout=subprocess.DEVNULL)
        netns, ofports = {}, {}
        with open(os.path.join(sbx, "pods")) as f:
            for line in f:
                fields = line.split()
                netns[fields[0]], ofports[fields[0]] = fields[2], fields[3]
        spec = []
        for p in pods:
            for proto in ("tcp", "udp"):
                numbers = [str(n) for n, pr in p["ports"] if pr == proto]
                if numbers:
                    spec.append("%s %s %s" % (netns[p["key"]], proto,
                                              " ".join(numbers)))
        spec_file = os.path.join(sbx, "listen.spec")
        with open(spec_file, "w") as f:
            f.write("\n".join(spec) + "\n")
        server = subprocess.Popen([PROBE, "serve", "--spec", spec_file,
                                   "--control-stdin"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        ready = server.stdout.readline()
        if not ready.startswith("ready") or "failed" in ready:
            raise RuntimeError("listeners did not start: %s" % ready.strip())
        prober = Prober(sbx, netns)
        base_file = os.path.join(sbx, "tenants-pods.yaml")
        with open(base_file, "w") as f:
            yaml.safe_dump_all(base, f, sort_keys=False)
        with open(TENANTS) as f:
            tenants_text = f.read()

        print("Sandbox: %s (userspace OVS, bridge br-int, the %d pods of %s)"
              % (sbx, len(pods), rel(TENANTS)))
        print("The expected matrix (TENANT_EXPECTED, by hand) agrees with "
              "tests/oracle on all %d connections." % len(want))
        print("  " + "; ".join("%s = %s (%s)" % (label[p["key"]], p["key"],
                                                  p["ip"]) for p in pods))
        if args.compile_only:
            print("--compile-only: ovs-netpol compile, loaded with "
                  "ovs-ofctl replace-flows; no daemon")
            compile_and_load(sbx, [base_file],
                             os.path.join(sbx, "before.flows"))
        else:
            daemon = TenantDaemon(sbx)
            daemon.write("tenants.yaml", open(base_file).read())
            daemon.start()
            print("ovs-netpold: pid %d, --source dir:%s --control %s (log %s)"
                  % (daemon.proc.pid, daemon.src, daemon.ctl, daemon.log))
            print("  %s: the namespaces and pods of %s"
                  % (os.path.join(daemon.src, "tenants.yaml"), rel(TENANTS)))
            print("$ ovs-netpol sync --timeout %d\n  %s"
                  % (args.sync_timeout, daemon.sync(args.sync_timeout)))
            daemon.wait_bindings(pods, ofports)
            sw(sbx, "ovs-appctl", "revalidator/purge", stdout=subprocess.DEVNULL)
            sw(sbx, "ovs-appctl", "dpctl/flush-conntrack",
               stdout=subprocess.DEVNULL)
        sys.stdout.flush()
        before = prober.matrix(pods, "BEFORE: no ClusterNetworkPolicy, no "
                               "NetworkPolicy (every pod reaches every pod)",
                               label)

        kinds = {}
        for o in policies:
            kinds[o["kind"]] = kinds.get(o["kind"], 0) + 1
        summary = ", ".join("%s: %d" % kv for kv in sorted(kinds.items()))
        out = os.path.join(sbx, "after.flows")
        if args.compile_only:
            compile_and_load(sbx, [TENANTS], out)
            n = sum(1 for l in open(out) if l.startswith("table="))
            print("\nLoaded %s (%s): %d flows (%s)"
                  % (rel(TENANTS), summary, n, out))
        else:
            daemon.write("tenants.yaml", tenants_text)
            print("\n%s replaced by the whole %s (%s)"
                  % (os.path.join(daemon.src, "tenants.yaml"), rel(TENANTS),
                     summary))
            print("$ ovs-netpol sync --timeout %d\n  %s"
                  % (args.sync_timeout, daemon.sync(args.sync_timeout)))
            sw(sbx, "ovs-appctl", "revalidator/purge", stdout=subprocess.DEVNULL)
            sw(sbx, "ovs-appctl", "dpctl/flush-conntrack",
               stdout=subprocess.DEVNULL)
            flows = sw(sbx, "ovs-ofctl", "-O", "OpenFlow15", "dump-flows",
                       "br-int", capture_output=True).stdout
            n = sum(1 for l in flows.splitlines() if "cookie=" in l)
            print("%d flows on br-int" % n)
        print("see them with:  . %s/env && ovs-ofctl -O OpenFlow15 "
              "dump-flows br-int" % sbx)
        sys.stdout.flush()
        after = prober.matrix(pods, "AFTER: %s" % rel(TENANTS), label)

        bad = compare(before, {k: True for k in want}, label)
        bad_after = compare(after, want, label)
        changed = sum(1 for k in before if before[k] != after.get(k))
        print("\n%d of %d connections changed; the matrix after %s the "
              "expected one (deploy/sandbox-demo.py, TENANT_EXPECTED)."
              % (changed, len(before), "is NOT" if bad_after else "is"))
        for line in bad:
            print("  before the policies: %s" % line)
        for line in bad_after:
            print("  after the policies: %s" % line)
        if daemon:
            print("\n$ ovs-netpol --control %s status" % daemon.ctl)
            status = daemon.netpol("status").stdout
            print("".join("  " + l + "\n" for l in status.splitlines()), end="")
            have = "%d networkpolicies, %d clusternetworkpolicies" % (
                kinds.get("NetworkPolicy", 0), kinds.get("ClusterNetworkPolicy", 0))
            if have not in status:
                bad_after.append("ovs-netpol status does not say %r" % have)
            # Which policy decided, by the switch's own trace: a connection
            # each tier decides (the Admin tier's Deny; its Pass, then a
            # NetworkPolicy; the Baseline's Deny), the policy named.
            for src, dst, port, who in (
                    ("red/web", "blue-backend/db", "tcp/8080", "tenant-blue"),
                    ("blue-frontend/web", "blue-backend/db", "tcp/8080",
                     "db-clients"),
                    ("blue-backend/db", "blue-frontend/web", "tcp/8080",
                     "tenant-default-deny")):
                print("\n$ ovs-netpol --control %s trace %s %s %s"
                      % (daemon.ctl, src, dst, port))
                r = daemon.netpol("trace", src, dst, port, check=False)
                text = (r.stdout or "") + (r.stderr or "")
                print("".join("  " + l + "\n" for l in text.splitlines()),
                      end="")
                verdict = text.split(":", 1)[0].strip()
                ok = after.get((src, dst, (8080, "tcp")))
                if verdict != ("ALLOWED" if ok else "DENIED"):
                    bad_after.append("trace %s -> %s says %r, the probe was %s"
                                     % (src, dst, verdict,
                                        "connected" if ok else "blocked"))
                if who not in text.split("path:")[0]:
                    bad_after.append("trace %s -> %s does not name %s"
                                     % (src, dst, who))
            if daemon.proc.poll() is not None:
                bad_after.append("ovs-netpold exited with %d"
                                 % daemon.proc.returncode)
        if bad:
            failure = "%d connections failed without policies" % len(bad)
        elif bad_after:
            failure = "%d differences from the expected matrix" % len(bad_after)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        failure = str(e)
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        if daemon:
            if failure and failure != "interrupted":
                print("\nsandbox-demo: ovs-netpold log: %s" % daemon.log,
                      file=sys.stderr)
            if not args.keep:
                failure = daemon.stop() or failure
        if server:
            server.stdin.close()
            server.wait(timeout=10)
        if args.keep:
            print("\nLeft running (--keep): the sandbox%s\n  stop: %s"
                  "ovs/sandbox.sh stop %s" % (
                      ", ovs-netpold pid %d" % daemon.proc.pid if daemon else "",
                      "kill %d; " % daemon.proc.pid if daemon else "", sbx))
        else:
            subprocess.run([SANDBOX, "stop", sbx], stdout=subprocess.DEVNULL)
            if not args.dir:
                import shutil
                shutil.rmtree(sbx, ignore_errors=True)
    if failure:
        sys.exit("sandbox-demo: %s" % failure)


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
    ap.add_argument("--tenants", action="store_true",
                    help="tenant isolation with ClusterNetworkPolicy: the "
                    "cluster and policies of deploy/examples/tenants/tenants.yaml, "
                    "enforced by ovs-netpold following a manifest directory "
                    "(with --compile-only: by ovs-netpol compile), the matrix "
                    "checked against the expected one")
    args = ap.parse_args()
    if not 1 <= args.nodes <= 200:
        ap.error("--nodes %d: a number from 1 to 200" % args.nodes)
    if args.nodes > 1 and (args.compile_only or args.keep):
        ap.error("--nodes %d: not with %s (the daemons of several nodes reach "
                 "the API server through this process)" % (
                     args.nodes, "--compile-only" if args.compile_only else "--keep"))
    if args.tenants and args.nodes > 1:
        ap.error("--tenants: one node only")
    if args.tenants:
        tenants_main(args)
    elif args.compile_only:
        compile_only_main(args)
    elif args.nodes > 1:
        nodes_main(args)
    else:
        kube_main(args)


if __name__ == "__main__":
    main()
