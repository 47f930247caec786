"""The corpus on several nodes: `tests/e2e/run-cases.py --nodes N`.

run-cases.py keeps the model, the steps, the listeners, the probe rounds
and the comparison; this replaces the parts that depend on the bed
(run-cases.py's Worker hooks place_pods, pod_table, load_step,
flush_conntrack):

- every case's pods are spread round-robin over node-1..node-N in the
  order they first appear (the model's x/a, x/b, x/c, y/a, ... go to
  node-1, node-2, node-3, node-1, ...; a pod keeps its node for the whole
  case): spec.nodeName is rewritten and the pod's netns is plugged into that
  node's switch (ovs/sandbox.sh start DIR --nodes N: one userspace OVS per
  node, joined by a shared L2 underlay);
- the flows come from N daemons, `ovs-netpold --node node-K` (started by
  tests/multinode/mnlib.py's launcher, native by default: in the node's
  netns), all following one API server stand-in; each step is written to
  the stand-in (one POST /sim/load of what changed, DELETEs of what went),
  then `ovs-netpol sync` must succeed on every node and every node's
  pods must be spoof-guarded by their ports; then the datapath caches and
  conntrack of every node are purged;
- a probe between pods of two nodes crosses both: egress is checked on the
  source's node, ingress on the destination's, and the reply passes
  conntrack on both.  The summary counts the probes that crossed nodes.

At the end every daemon is stopped with SIGTERM: it must exit 0 and leave
its node's flows as they were.
"""

import ipaddress
import json
import os
import re
import time

import mnlib


def worker_class(rc):
    """The Worker for run-cases.py module RC (passed in: run-cases.py runs
    as __main__)."""

    class MultiNodeWorker(rc.Worker):
        def __init__(self, idx, base, args):
            super().__init__(idx, base, args)
            self.n = args.nodes
            self.bed = mnlib.Nodes(os.path.join(self.dir, "nodes"), self.n)
            self.nodes = []
            self.sandboxes = []
            self.sim = None
            self.relay = None
            self.daemons = []
            self.node_of = {}       # "ns/pod" -> node index 0..n-1, per case
            self.next_node = 0
            self.in_sim = {}        # obj_key -> JSON text last written
            self.launcher = mnlib.launcher_from_env(args.daemon_bin)
            self.daemon_logs = [os.path.join(self.dir, "ovs-netpold-node-%d.log" % k)
                                for k in range(1, self.n + 1)]

        # ---- the bed ----------------------------------------------------

        def start(self):
            try:
                self.nodes = self.bed.start()
                self.sandboxes = []
                for node in self.nodes:
                    sb = rc.Sandbox(node.dir)
                    sb.env = node.env
                    sb.pods = {}
                    self.sandboxes.append(sb)
                self.server = rc.Server(self.args.probe,
                                        os.path.join(self.dir, "serve.spec"))
                self.sim = mnlib.Sim(self.dir)
                self.sim.start()
                self.in_sim = {}
                self.relay = mnlib.Relay(self.sim.port)
                for node in self.nodes:
                    self.relay.add(node.netns)
                self.daemons = [mnlib.NodeDaemon(node, self.launcher,
                                                 self.sim.kubeconfig, self.dir,
                                                 extra=rc.shlex.split(
                                                     self.args.daemon_args))
                                for node in self.nodes]
                for d in self.daemons:
                    d.start()
                for d in self.daemons:
                    d.sync()
            except mnlib.NodeError as e:
                raise rc.DaemonError(str(e))
            self.daemon = self.daemons[0]   # run-cases.py: "a daemon runs"

        def stop(self):
            for d in self.daemons:
                if d.handle is None:
                    continue
                try:
                    before = rc.our_flows(d.node.dump_flows())
                except Exception as e:
                    before = None
                    rc.log("run-cases: dump-flows of %s: %s" % (d.node.name, e))
                alive = d.running()
                ok, msg = d.stop()
                try:
                    after = rc.our_flows(d.node.dump_flows())
                except Exception as e:
                    after = []
                    msg += "; dump-flows after: %s" % e
                same = before is not None and before == after
                msg += "; %s flows of ours before, %d after%s" % (
                    "?" if before is None else len(before), len(after),
                    ", identical" if same else ", DIFFERENT")
                self.daemon_stops.append(
                    (ok and alive and same and len(after) > 0,
                     msg if alive else msg + " (it had exited before the end)"))
            self.daemons = []
            self.daemon = None
            if self.server:
                self.server.stop()
                self.server = None
            if self.relay:
                self.relay.stop()
                self.relay = None
            if self.sim:
                self.sim.stop()
                self.sim = None
            if not self.args.keep:
                self.bed.stop()

        # ---- the hooks of run-cases.py ----------------------------------

        def run_case(self, path):
            self.node_of = {}
            self.next_node = 0
            res = super().run_case(path)
            res.setdefault("cross_probes", 0)
            res.setdefault("cross_mismatches", 0)
            return res

        def place_pods(self, want, pods):
            for key, pod in pods.items():
                if key not in self.node_of:
                    self.node_of[key] = self.next_node % self.n
                    self.next_node += 1
                spec = pod.get("spec")
                if not isinstance(spec, dict):
                    spec = pod["spec"] = {}
                spec["nodeName"] = self.nodes[self.node_of[key]].name
            changed = 0
            for k, sb in enumerate(self.sandboxes):
                gone, new = sb.reconcile({key: ips for key, ips in want.items()
                                          if self.node_of[key] == k})
                changed += gone + new
            if changed:
                # A pod's MAC derives from its address: one re-created on
                # another node must not be sent to its old one.
                rc.retry(self.bed.fdb_flush, "fdb-flush")

        def pod_table(self):
            table = {}
            for k, sb in enumerate(self.sandboxes):
                for key, pod in sb.pods.items():
                    table[key] = dict(pod, node=k)
            return table

        def flush_conntrack(self):
            for sb in self.sandboxes:
                sb.flush_conntrack()

        def write_sim(self, cluster):
            """The stand-in to the cluster's state: DELETE what went (pods
            and policies before namespaces), then one /sim/load of what is
            new or changed.  A pod whose node changed is deleted first
            (spec.nodeName cannot change)."""
            want = {}
            for key, o in cluster.objs.items():
                # The daemon reads no Node from the API (its role may not):
                # a case's Nodes stay out of the stand-in.
                if key[0] != "Node":
                    want[key] = o
            if any(key[0] == "ClusterNetworkPolicy" for key in want):
                crd = mnlib.cnp_crd()
                want[("CustomResourceDefinition", None,
                      crd["metadata"]["name"])] = crd
            texts = {key: json.dumps(o, sort_keys=True) for key, o in want.items()}
            order = {"Pod": 0, "NetworkPolicy": 0, "ClusterNetworkPolicy": 0,
                     "Namespace": 1}
            # The CRD stays once made: a cluster does not drop it between
            # steps, and its removal would take the policies along.
            gone = [key for key in self.in_sim if key not in want
                    and key[0] != "CustomResourceDefinition"]
            for key, o in want.items():
                if key in self.in_sim and key[0] == "Pod":
                    old = json.loads(self.in_sim[key])
                    if (old.get("spec") or {}).get("nodeName") != \
                            (o.get("spec") or {}).get("nodeName"):
                        gone.append(key)
            for key in sorted(gone, key=lambda k: order.get(k[0], 0)):
                kind, ns, name = key
                self.sim.delete(kind, ns, name)
                self.in_sim.pop(key, None)
                if kind == "Namespace":
                    for k2 in [k2 for k2 in self.in_sim if k2[1] == name]:
                        del self.in_sim[k2]
            load = [want[key] for key in want if self.in_sim.get(key) != texts[key]]
            self.sim.load(load)
            for key in want:
                self.in_sim[key] = texts[key]

        def load_step(self, res, cluster, cluster_file, step_dir, si, timing):
            timing["compile"] = 0.0
            t = time.monotonic()
            try:
                for d in self.daemons:
                    if not d.running():
                        raise rc.DaemonError("ovs-netpold on %s is not running; see %s"
                                             % (d.node.name, d.log))
                self.write_sim(cluster)
                for d in self.daemons:
                    d.sync()
                timing["sync"] = time.monotonic() - t
                late = 0
                for k, (d, sb) in enumerate(zip(self.daemons, self.sandboxes)):
                    want = {(p["ofport"], ipaddress.ip_address(ip))
                            for p in sb.pods.values() for ip in p["ips"]}
                    deadline = time.monotonic() + 5
                    while True:
                        text = d.node.dump_flows()
                        missing = want - rc.spoof_bindings(text)
                        if not missing or time.monotonic() > deadline:
                            break
                        late += 1
                        time.sleep(0.05)
                        d.sync()
                    if missing:
                        raise rc.DaemonError("step %d: %s: no in_port spoof-guard flow "
                                             "for %s" % (si + 1, d.node.name, ", ".join(
                                                 "ofport %s/%s" % m for m in
                                                 sorted(missing, key=str))))
                    with open(os.path.join(step_dir, "flows-%s" % d.node.name), "w") as f:
                        f.write(text)
                for node in self.nodes:
                    node.purge()
            except mnlib.NodeError as e:
                raise rc.DaemonError("step %d: %s" % (si + 1, e))
            if late:
                res["late_bindings"] = res.get("late_bindings", 0) + 1
            timing["bindings"] = sum(len(p["ips"]) for sb in self.sandboxes
                                     for p in sb.pods.values())
            timing["load"] = time.monotonic() - t

        def socket_drops(self):
            """Frames the kernel dropped at ovs-vswitchd's AF_PACKET sockets
            (the pods' ports), all nodes: a dropped probe reads as denied."""
            total = 0
            for node in self.nodes:
                p = node.sw("ss", "-0", "-m", "-n", check=False)
                total += sum(int(x) for x in re.findall(r"\bd(\d+)\)", p.stdout))
            return total

        def run_step(self, res, cluster, step, si, case_dir):
            n_mm = len(res["mismatches"])
            drops = self.socket_drops() if self.nodes else 0
            super().run_step(res, cluster, step, si, case_dir)
            drops = self.socket_drops() - drops if self.nodes else 0
            if drops > 0:
                res["warnings"].append(
                    "step %d: %d frames dropped at ovs-vswitchd's packet sockets "
                    "(ss -0 -m in the switch netns): a denied verdict may be a "
                    "lost packet" % (si + 1, drops))
            # The probes that crossed nodes, chosen as run_step chose what to
            # probe (both ends with a netns and an address family in common).
            table = self.pod_table()
            for pr in step.get("probes") or []:
                src, dst = table.get(pr["from"]), table.get(pr["to"])
                if src and dst and rc.pick_ips(pr, src["ips"], dst["ips"]) \
                        and src["node"] != dst["node"]:
                    res["cross_probes"] = res.get("cross_probes", 0) + 1
            for m in res["mismatches"][n_mm:]:
                s, d = table.get(m[1]), table.get(m[2])
                if s and d and s["node"] != d["node"]:
                    res["cross_mismatches"] = res.get("cross_mismatches", 0) + 1
                res["warnings"].append("step %d: %s is on node-%s, %s on node-%s" % (
                    m[0], m[1], s["node"] + 1 if s else "?", m[2],
                    d["node"] + 1 if d else "?"))

        def save_diagnostics(self, step_dir):
            for node, d in zip(self.nodes, self.daemons):
                for name, cmd in (
                        ("dump-flows", ["ovs-ofctl", "-O", "OpenFlow15", "dump-flows", "br-int"]),
                        ("dump-ports", ["ovs-ofctl", "-O", "OpenFlow15", "dump-ports", "br-int"]),
                        ("fdb", ["ovs-appctl", "fdb/show", "br-int"]),
                        ("dpctl-dump-flows", ["ovs-appctl", "dpctl/dump-flows", "-m"]),
                        ("conntrack", ["ovs-appctl", "dpctl/dump-conntrack"])):
                    p = node.ovs(*cmd, check=False)
                    with open(os.path.join(step_dir, "%s-%s" % (node.name, name)), "w") as f:
                        f.write(p.stdout + p.stderr)
                with open(os.path.join(step_dir, "%s-daemon-status" % node.name), "w") as f:
                    f.write(d.status() + "\n")

        @staticmethod
        def summary(args, workers, results):
            done = [r for r in results if r]
            probes = sum(r["probes"] for r in done)
            cross = sum(r.get("cross_probes", 0) for r in done)
            mm = sum(len(r["mismatches"]) for r in done)
            cross_mm = sum(r.get("cross_mismatches", 0) for r in done)
            print("nodes: %d per case, pods round-robin, one ovs-netpold per node "
                  "(launcher %s) following one API server stand-in; %d probes, %d "
                  "of them across nodes; %d mismatches, %d of them across nodes"
                  % (args.nodes, os.environ.get("NP_LAUNCHER", "native"), probes,
                     cross, mm, cross_mm))
            return True

    return MultiNodeWorker
