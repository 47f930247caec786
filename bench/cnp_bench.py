#!/usr/bin/env python3
"""What ClusterNetworkPolicies cost: flows and compile time, and the engine
time of a CNP event and of a pod event when CNPs exist.  Run it through
bench/cnp-bench.sh.

Clusters (bench/gen_cluster.py, the old mix or, with --mix broad, the
broad one; node-1 measured; cached in bench/out/clusters/ under
compile-bench.sh's names, "broad-" before them for the broad mix):
  base    --pods P --policies M (medium: 10,000/1,000; large: 50,000/5,000)
  cnp     the same plus --cnps N ClusterNetworkPolicies (the mix of
          gen_cluster.py --help-mix: tenants, prod isolation, shared
          services, pass to NetworkPolicy, metadata networks, per-team
          baseline)
  cnp-np  the same N written as NetworkPolicies (--cnps-as np): one per
          namespace each subject selects, every rule an allow rule with the
          same peers and ports (the same selection work, not the same
          meaning)
  np+N    --policies M+N: N more NetworkPolicies of the ordinary mix (the
          pods are the same; the policies are drawn again)

Part 1, compile: `ovs-netpol compile --node node-1 --ports PORTS` of each,
the median wall time of --repeat runs, peak RSS, flows, and the flows of
the tier tables (admin/baseline, ingress/egress).

Part 2, engine (bench/engine-event, built by `make`): the cluster loaded
into the engine as the daemon holds it, then events one at a time; for
each, the engine's CPU time (input + run + commit phases, engine-event's
figures; the median of --repeat processes) and the flows changed.  The
base cluster gets the pod and namespace events, the cnp cluster the same
events plus ClusterNetworkPolicy add / change / delete (a narrow one: one
namespace denies another; a broad one: a team's Baseline default deny
from every namespace, as the mix's baseline-team).

One JSON line per figure is appended to bench/out/cnp.jsonl.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
CLUSTERS = os.path.join(OUT, "clusters")
GEN = os.path.join(HERE, "gen_cluster.py")
ENGINE_EVENT = os.path.join(HERE, "engine-event")
NETPOL = os.path.join(TOP, "ovs-netpol")
NODE = "node-1"
SIZES = {"10k": ("medium", 10000, 1000, 50), "50k": ("large", 50000, 5000, 250)}
# include/pipeline.h at the default --table-base 0.
TIER_TABLES = {"3": "admin-egress", "6": "baseline-egress", "7": "admin-ingress",
               "10": "baseline-ingress"}


def say(msg):
    sys.stderr.write("[cnp-bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def stale(path, *deps):
    return (not os.path.exists(path) or os.path.getsize(path) == 0
            or any(os.path.getmtime(d) > os.path.getmtime(path) for d in deps))


def generate(name, args, seed):
    """compile-bench.sh's cache: NAME-sSEED.json, regenerated when the
    generator is newer."""
    path = os.path.join(CLUSTERS, "%s-s%d.json" % (name, seed))
    if stale(path, GEN):
        say("generating %s: gen_cluster.py %s --seed %d" % (name, " ".join(args), seed))
        subprocess.run([sys.executable, GEN] + args + ["--seed", str(seed), "-o", path + ".tmp",
                        "--meta", path[:-5] + ".meta.json"], check=True)
        os.replace(path + ".tmp", path)
    return path


def ports_file(cluster):
    pf = cluster[:-5] + ".%s.ports" % NODE
    if stale(pf, cluster):
        subprocess.run([sys.executable, GEN, "--ports-for", cluster, "--ports-node", NODE,
                        "-o", pf], check=True)
    return pf


MIX = "old"


def clusters(size, n, seed):
    preset, pods, pols, nodes = SIZES[size]
    base = ["--pods", str(pods), "--policies", str(pols), "--nodes", str(nodes)]
    if MIX != "old":
        base += ["--mix", MIX]
        preset = "%s-%s" % (MIX, preset)
    tag = "cnp%d" % n
    return [
        ("base", generate(preset, base, seed)),
        ("cnp", generate("%s-%s" % (preset, tag), base + ["--cnps", str(n)], seed)),
        ("cnp-np", generate("%s-%snp" % (preset, tag), base + ["--cnps", str(n), "--cnps-as", "np"],
                            seed)),
        ("np+%d" % n, generate("%s-np%d" % (preset, n),
                               ["--pods", str(pods), "--policies", str(pols + n), "--nodes",
                                str(nodes)] + base[6:], seed)),
    ]


def load_items(path):
    with open(path) as f:
        return json.load(f)["items"]


def count_kinds(items):
    k = {}
    for it in items:
        k[it["kind"]] = k.get(it["kind"], 0) + 1
    return k


# ---- part 1: compile ------------------------------------------------------

def compile_once(cluster, ports, out):
    t0 = time.monotonic()
    with open(out, "w") as f:
        r = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", NETPOL, "compile", "--node", NODE,
                            "--ports", ports, cluster], stdout=f, stderr=subprocess.PIPE,
                           text=True)
    wall = time.monotonic() - t0
    if r.returncode:
        raise SystemExit("cnp-bench: compile %s: exit %d: %s" % (cluster, r.returncode,
                                                                 r.stderr[-2000:]))
    lines = r.stderr.strip().splitlines()
    warnings = [l for l in lines[:-1] if l.strip()]
    rss, user, sys_ = lines[-1].split()
    return wall, float(user) + float(sys_), int(rss), warnings


def count_flows(path):
    total, tiers = 0, {}
    with open(path) as f:
        for line in f:
            if not line.startswith("table="):
                continue
            total += 1
            t = line[6:line.index(",")]
            if t in TIER_TABLES:
                tiers[TIER_TABLES[t]] = tiers.get(TIER_TABLES[t], 0) + 1
    return total, tiers


def part_compile(size, n, seed, repeat, log):
    rows = []
    tmp = os.path.join(OUT, "cnp-bench.flows")
    for variant, path in clusters(size, n, seed):
        ports = ports_file(path)
        kinds = count_kinds(load_items(path))
        walls, cpus, rss = [], [], 0
        for _ in range(repeat):
            w, c, r, warnings = compile_once(path, ports, tmp)
            walls.append(w)
            cpus.append(c)
            rss = max(rss, r)
        flows, tiers = count_flows(tmp)
        row = {"part": "compile", "size": size, "variant": variant,
               "cluster": os.path.basename(path), "pods": kinds.get("Pod", 0),
               "networkpolicies": kinds.get("NetworkPolicy", 0),
               "cnps": kinds.get("ClusterNetworkPolicy", 0), "flows": flows,
               "tier_flows": sum(tiers.values()), "tier_flows_by_table": tiers,
               "wall_s": round(statistics.median(walls), 3), "walls_s": [round(w, 3) for w in walls],
               "cpu_s": round(statistics.median(cpus), 2),
               "peak_rss_mb": round(rss / 1024, 1), "warnings": len(warnings)}
        log(row)
        rows.append(row)
        say("compile %s %s: %d flows, %.2f s, %.0f MB" % (size, variant, flows, row["wall_s"],
                                                          row["peak_rss_mb"]))
    os.unlink(tmp)
    print("\nFlows and compile time, %s pods (%s mix), `ovs-netpol compile --node %s --ports PORTS` "
          "(median of %d; machine shared, run under nice)" % (size, MIX, NODE, repeat))
    print("  %-8s %6s %6s %5s %10s %10s %8s %8s %8s" % ("variant", "pods", "NPs", "CNPs", "flows",
                                                       "tier flows", "wall s", "CPU s", "RSS MB"))
    for r in rows:
        print("  %-8s %6d %6d %5d %10d %10d %8.2f %8.2f %8.0f" % (
            r["variant"], r["pods"], r["networkpolicies"], r["cnps"], r["flows"],
            r["tier_flows"], r["wall_s"], r["cpu_s"], r["peak_rss_mb"]))
    print("  (tier flows: tables 3, 6, 7 and 10, the Admin and Baseline tiers; CPU s: user + "
          "system, less disturbed by other load than wall s)")
    return rows


# ---- part 2: engine events ------------------------------------------------

def free_priority(cnps, tier):
    used = {c["spec"]["priority"] for c in cnps if c["spec"]["tier"] == tier}
    return next(p for p in range(1000, -1, -1) if p not in used)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def event_files(items, d):
    """The events' files in directory d; returns {name: step}."""
    os.makedirs(d, exist_ok=True)
    nss = [it for it in items if it["kind"] == "Namespace"]
    app_nss = [it for it in nss if "team" in (it["metadata"].get("labels") or {})
               and "env" in it["metadata"]["labels"]]
    cnps = [it for it in items if it["kind"] == "ClusterNetworkPolicy"]
    local = [it for it in items if it["kind"] == "Pod" and it["spec"].get("nodeName") == NODE
             and it["metadata"]["namespace"] in {n["metadata"]["name"] for n in app_nss}]
    # The node-1 pod of the biggest app namespace on node-1, copied.
    src = sorted(local, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))[0]
    steps = {}
    for name, node, ip in (("pod-add", NODE, "10.254.0.10"), ("pod-add-remote", "node-2",
                                                             "10.254.0.11")):
        pod = json.loads(json.dumps(src))
        pod["metadata"]["name"] = "bench-" + name
        pod["metadata"].pop("uid", None)
        pod["spec"]["nodeName"] = node
        pod["status"]["podIP"] = ip
        pod["status"]["podIPs"] = [{"ip": ip}]
        steps[name] = "apply:" + write_json(os.path.join(d, name + ".json"), pod)
        steps[name.replace("add", "delete")] = "delete:pod:%s/bench-%s" % (
            pod["metadata"]["namespace"], name)
    # A namespace moved to another team: the tenant and baseline policies
    # select it, and it is their peer.
    ns = json.loads(json.dumps(app_nss[0]))
    old_team = ns["metadata"]["labels"]["team"]
    teams = sorted({n["metadata"]["labels"]["team"] for n in app_nss} - {old_team})
    ns["metadata"]["labels"]["team"] = teams[0]
    steps["ns-relabel"] = "apply:" + write_json(os.path.join(d, "ns-relabel.json"), ns)
    steps["ns-restore"] = "apply:" + write_json(os.path.join(d, "ns-restore.json"), app_nss[0])
    a, b = app_nss[0]["metadata"]["name"], app_nss[1]["metadata"]["name"]
    narrow = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
              "metadata": {"name": "bench-narrow"},
              "spec": {"tier": "Admin", "priority": free_priority(cnps, "Admin"),
                       "subject": {"namespaces": {"matchLabels": {
                           "kubernetes.io/metadata.name": a}}},
                       "ingress": [{"name": "deny-one-namespace", "action": "Deny", "from": [
                           {"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": b}}}]}]}}
    broad = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
             "metadata": {"name": "bench-broad"},
             "spec": {"tier": "Baseline", "priority": free_priority(cnps, "Baseline"),
                      "subject": {"namespaces": {"matchLabels": {"team": old_team}}},
                      "ingress": [{"name": "same-team", "action": "Accept", "from": [
                          {"namespaces": {"matchLabels": {"team": old_team}}}]},
                          {"name": "deny-the-rest", "action": "Deny",
                           "from": [{"namespaces": {}}]}]}}
    changed = json.loads(json.dumps(broad))
    changed["spec"]["ingress"][1]["action"] = "Pass"
    steps["cnp-add-narrow"] = "apply:" + write_json(os.path.join(d, "cnp-narrow.json"), narrow)
    steps["cnp-delete-narrow"] = "delete:clusternetworkpolicy:bench-narrow"
    steps["cnp-add-broad"] = "apply:" + write_json(os.path.join(d, "cnp-broad.json"), broad)
    steps["cnp-change-broad"] = "apply:" + write_json(os.path.join(d, "cnp-broad-pass.json"),
                                                      changed)
    steps["cnp-delete-broad"] = "delete:clusternetworkpolicy:bench-broad"
    return steps


POD_STEPS = ["pod-add", "pod-delete", "pod-add-remote", "pod-delete-remote", "ns-relabel",
             "ns-restore"]
CNP_STEPS = ["cnp-add-narrow", "cnp-delete-narrow", "cnp-add-broad", "cnp-change-broad",
             "cnp-delete-broad"]


def engine_runs(cluster, ports, names, steps, repeat):
    """{step name: [engine-event JSON line per run]}, and the load lines."""
    res = {n: [] for n in names}
    loads = []
    for _ in range(repeat):
        r = subprocess.run([ENGINE_EVENT, "--node", NODE, "--ports", ports, cluster]
                           + [steps[n] for n in names], capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("cnp-bench: engine-event %s: exit %d: %s"
                             % (cluster, r.returncode, r.stderr[-2000:]))
        lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        loads.append(lines[0])
        for n, l in zip(names, lines[1:]):
            res[n].append(l)
    return res, loads


def part_engine(size, n, seed, repeat, log):
    if not os.access(ENGINE_EVENT, os.X_OK):
        raise SystemExit("cnp-bench: %s is missing: run make first" % ENGINE_EVENT)
    cl = dict(clusters(size, n, seed))
    rows = []
    for variant in ("base", "cnp"):
        path = cl[variant]
        items = load_items(path)
        steps = event_files(items, os.path.join(OUT, "cnp-events", "%s%s-%s" % (
            "" if MIX == "old" else MIX + "-", size, variant)))
        names = POD_STEPS + (CNP_STEPS if variant == "cnp" else [])
        say("engine %s %s: load + %d events, %d runs" % (size, variant, len(names), repeat))
        res, loads = engine_runs(path, ports_file(path), names, steps, repeat)
        load = {"part": "engine", "size": size, "variant": variant, "event": "load",
                "flows": loads[0]["flows"],
                "cpu_ms": round(statistics.median(l["cpu_ms"] for l in loads), 1),
                "rss_mb": round(max(l["rss_kb"] for l in loads) / 1024, 1)}
        log(load)
        rows.append(load)
        for name in names:
            runs = res[name]
            cpu = [sum(r["cpu_ms"].values()) for r in runs]
            row = {"part": "engine", "size": size, "variant": variant, "event": name,
                   "step": steps[name].replace(OUT + "/", ""),
                   "cpu_ms": round(statistics.median(cpu), 2),
                   "cpu_ms_by_phase": {k: round(statistics.median(r["cpu_ms"][k] for r in runs), 2)
                                       for k in ("input", "run", "commit")},
                   "cpu_ms_runs": [round(c, 2) for c in cpu],
                   "flow_changes": runs[0]["flow_changes"], "flows": runs[0]["flows"],
                   "cnp_flow_changes": runs[0]["by_kind"].get("cnp"),
                   "policies_compiled": runs[0]["policies_compiled"]}
            log(row)
            rows.append(row)
    print("\nEngine cost per event, %s pods, %s mix (bench/engine-event: CPU ms of input + run + "
          "commit, median of %d processes; machine shared, run under nice)" % (size, MIX, repeat))
    by = {(r["variant"], r["event"]): r for r in rows}
    print("  %-18s %14s %14s %16s %16s" % ("event", "no CNP: ms", "100 CNPs: ms",
                                            "no CNP: changes", "100 CNPs: changes"))
    for name in ["load"] + POD_STEPS + CNP_STEPS:
        a, b = by.get(("base", name)), by.get(("cnp", name))
        fmt = lambda r, k: ("%.1f" % r[k] if isinstance(r[k], float) else str(r[k])) if r else "-"
        print("  %-18s %14s %14s %16s %16s" % (
            name, fmt(a, "cpu_ms"), fmt(b, "cpu_ms"),
            fmt(a, "flow_changes") if name != "load" else fmt(a, "flows"),
            fmt(b, "flow_changes") if name != "load" else fmt(b, "flows")))
    print("  (load: the whole cluster, its CPU ms and, in the changes columns, the flows)")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,50k", help="10k and/or 50k (default both)")
    ap.add_argument("--cnps", type=int, default=100, help="ClusterNetworkPolicies (100)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--part", choices=("all", "compile", "engine"), default="all")
    ap.add_argument("--mix", choices=("old", "broad"), default="old",
                    help="gen_cluster.py's policy mix (old)")
    args = ap.parse_args()
    global MIX
    MIX = args.mix
    sizes = args.sizes.split(",")
    if any(s not in SIZES for s in sizes) or args.repeat < 1 or not 1 <= args.cnps <= 2000:
        ap.error("--sizes from %s, --repeat >= 1, --cnps 1 to 2000" % ", ".join(SIZES))
    os.makedirs(CLUSTERS, exist_ok=True)
    rev = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "none"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    jsonl = open(os.path.join(OUT, "cnp.jsonl"), "a")

    def log(row):
        jsonl.write(json.dumps(dict(row, date=stamp, rev=rev, seed=args.seed, mix=MIX)) + "\n")
        jsonl.flush()

    for size in sizes:
        if args.part in ("all", "compile"):
            part_compile(size, args.cnps, args.seed, args.repeat, log)
        if args.part in ("all", "engine"):
            part_engine(size, args.cnps, args.seed, args.repeat, log)
    print("\n(JSON lines appended to %s)" % os.path.relpath(jsonl.name, TOP))
    jsonl.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
