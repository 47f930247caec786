#!/usr/bin/env python3
"""The main job on the built-in sandbox: the example policies of
deploy/examples/ compiled by ovs-netpol, loaded into a userspace Open vSwitch
bridge with real pods (network namespaces), and the connectivity matrix
probed with real TCP connections before and after.

Run it through deploy/sandbox-demo.sh, which builds everything first.
Stops every process it started and deletes every namespace on exit.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import yaml

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")
NETPOL = os.path.join(TOP, "ovs-netpol")
PROBE = os.path.join(TOP, "tests", "np-probe")


def run(*args, **kw):
    return subprocess.run(args, check=True, text=True, **kw)


def sw(sbx, *args, **kw):
    return run(SANDBOX, "sw", sbx, *args, **kw)


def load_objects(path):
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

        ports = sorted({p for d in pods for p in d["ports"]})
        width = max(len(p["key"]) for p in pods) + 2
        colw = max(len(p["key"]) for p in pods) + 2
        print("\n%s" % title)
        for port in ports:
            print("\n  TCP %d   (rows: from; columns: to; "
                  "ok = connected, -- = blocked)" % port)
            print("  " + " " * width
                  + "".join(d["key"].rjust(colw) for d in pods))
            for src in pods:
                row = "  " + src["key"].ljust(width)
                for dst in pods:
                    key = (src["key"], dst["key"], port)
                    cell = ("" if src is dst or key not in verdict
                            else "ok" if verdict[key] else "--")
                    row += cell.rjust(colw)
                print(row)
        return verdict


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", help="sandbox directory (default: a new one)")
    ap.add_argument("--keep", action="store_true",
                    help="leave the sandbox running (stop it with "
                    "ovs/sandbox.sh stop DIR)")
    args = ap.parse_args()

    examples = os.path.join(TOP, "deploy", "examples")
    cluster = os.path.join(examples, "cluster.yaml")
    policies = sorted(f for f in glob.glob(os.path.join(examples, "*.yaml"))
                      if f != cluster)
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
        print("Sandbox: %s (userspace OVS, bridge br-int, %d pods)"
              % (sbx, len(pods)))
        compile_and_load(sbx, [cluster], os.path.join(sbx, "before.flows"))
        before = prober.matrix(pods, "BEFORE: no NetworkPolicy "
                               "(every pod reaches every pod)")

        out = os.path.join(sbx, "after.flows")
        compile_and_load(sbx, [cluster] + policies, out)
        print("\nLoaded %s" % ", ".join(os.path.relpath(p, TOP)
                                        for p in policies))
        n = sum(1 for l in open(out) if l.startswith("table="))
        print("%d flows on br-int (%s); see them with:\n"
              "  . %s/env && ovs-ofctl -O OpenFlow15 dump-flows br-int"
              % (n, os.path.relpath(out, TOP) if out.startswith(TOP) else out,
                 sbx))
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


if __name__ == "__main__":
    main()
