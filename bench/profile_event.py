#!/usr/bin/env python3
"""profile_event.py - what one event costs the engine, in instructions.

Run through bench/profile-event.sh; bench/README.md ("profile-event.sh")
explains the figures.  For a cluster (--mix and --size, or --cluster FILE)
it takes events of every kind from the churn description (gen_cluster.py
--churn-for), writes each as the object a watch would deliver, and runs
them through bench/engine-event under `valgrind --tool=callgrind
--instr-atstart=no`: instructions per event and phase (input: the
cluster update and invalidation; run: engine_run(); commit: the daemon's
difference against the installed table), flow changes, and the policies
the engine compiled again, next to the policies the model in
gen_cluster.py says src/engine.c invalidates and why.  The median event
of each kind gets callgrind_annotate's inclusive and exclusive listings.
Instruction counts do not depend on the machine's load, so this can run
on a busy machine; --no-valgrind gives the same table without them (CPU
times instead, which do).

Python 3 standard library, valgrind and callgrind_annotate.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import clusters            # noqa: E402
import gen_cluster as gc   # noqa: E402

OUT = os.path.join(HERE, "out")

KINDS = ["pod-relabel", "pod-relabel-peer", "pod-relabel-noop", "ns-relabel", "pod-add",
         "pod-delete", "policy-add", "policy-delete", "policy-add-broad", "policy-delete-broad"]
PHASES = ("input", "run", "commit")


def say(msg):
    sys.stderr.write("[profile-event %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def pct(values, q):
    v = sorted(x for x in values if x is not None)
    return v[int((len(v) - 1) * q)] if v else None


def copy(o):
    return json.loads(json.dumps(o))


class Planner:
    """Steps for bench/engine-event, and what the model expects of each."""

    def __init__(self, items, churn, work, k):
        self.items, self.churn, self.work, self.k = items, churn, work, k
        self.by_key = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
                       for o in items}
        self.model = gc.ClusterModel(items, churn["node"])
        self.steps = []         # (kind, direction, argv step, expected)
        self.n_files = 0

    def write(self, obj):
        self.n_files += 1
        path = os.path.join(self.work, "ev%04d.json" % self.n_files)
        with open(path, "w") as f:
            json.dump(obj, f)
        return "apply:" + path

    def active(self, j, ns, labels, pod=None, new_local=False):
        """Whether policy j selects a local pod when the pod of the event
        has 'labels' (None: absent): the model's pod 'pod', or a new local
        pod of 'ns'."""
        m = self.model
        if pod is not None:
            return bool(m.selected_local(j, (pod, labels if labels is not None else {"\0": ""})))
        if m.active[j]:
            return True
        return bool(new_local and labels is not None and m.pol_ns(m.policies[j]) == ns and gc.sel_match(
            m.policies[j]["spec"].get("podSelector") or {}, labels))

    def expect_pod(self, ns, before, after, pod=None, new_local=False):
        """What src/engine.c does for a pod of 'ns' going from labels
        'before' to 'after' (None: absent): the policies it invalidates
        that compile_policies() then compiles (they select a local pod
        afterwards), by reason; and of the policies active before or
        after, those whose inputs change (the local pods they select, or a
        rule's peers): the work that was needed.  'pod': the pod's index
        in the model (a relabel); 'new_local': a new pod on the node."""
        m = self.model
        reasons, needed, listing = {}, 0, []
        local = new_local or (pod is not None and m.local[pod])
        eligible = new_local or pod is None or m.eligible[pod]
        for j in range(len(m.policies)):
            why = ((before is not None and m.depends(j, ns, before))
                   or (after is not None and m.depends(j, ns, after)))
            if not why:
                continue
            act_b = self.active(j, ns, before, pod, new_local)
            act_a = self.active(j, ns, after, pod, new_local)
            changed = False
            if act_a or act_b:
                np_ = m.policies[j]
                if local and m.pol_ns(np_) == ns:
                    sel = np_["spec"].get("podSelector") or {}
                    changed = ((before is not None and gc.sel_match(sel, before))
                               != (after is not None and gc.sel_match(sel, after)))
                for d, r, rule in m.rules(j):
                    if changed or not eligible:
                        break
                    changed = ((before is not None and m.peer_matches(j, d, rule, ns, before))
                               != (after is not None and m.peer_matches(j, d, rule, ns, after)))
            needed += changed
            if act_a:
                reasons[why] = reasons.get(why, 0) + 1
                listing.append(("%s/%s" % (m.pol_ns(m.policies[j]), m.policies[j]["metadata"]["name"]),
                                why, changed))
        return {"by_reason": reasons, "needed": needed, "policies": listing}

    def expect_ns(self, name, before, after):
        m = self.model
        n, needed, listing = 0, 0, []
        pods = [i for i in m.pods_by_ns.get(name, []) if m.eligible[i]]
        for j in range(len(m.policies)):
            if not m.active[j]:
                continue
            hit = changed = False
            for d, r, rule in m.rules(j):
                for peer in rule.get("from" if d == "ingress" else "to") or ():
                    s = peer.get("namespaceSelector")
                    if s is None or "ipBlock" in peer:
                        continue
                    b, a = gc.sel_match(s, before), gc.sel_match(s, after)
                    hit = hit or b or a
                    if b != a and not changed:
                        ps = peer.get("podSelector")
                        changed = any(ps is None or gc.sel_match(ps, m.labels(i)) for i in pods)
            n += hit
            needed += changed
            if hit:
                listing.append(("%s/%s" % (m.pol_ns(m.policies[j]), m.policies[j]["metadata"]["name"]),
                                "namespace-selector", changed))
        return {"by_reason": {"namespace-selector": n} if n else {}, "needed": needed, "policies": listing}

    def pod_relabels(self, kind, refs, noop=False):
        for r in refs[:self.k]:
            pod = self.by_key[("Pod", r["namespace"], r["name"])]
            labels = pod["metadata"].get("labels") or {}
            if noop:
                after = dict(labels, **{"bench-touch": "1"})
            else:
                after = dict(labels, **{r["key"]: r["value"]})
            there = copy(pod)
            there["metadata"]["labels"] = after
            i = self.model.pod_index[(r["namespace"], r["name"])]
            self.steps.append((kind, "there", self.write(there),
                               self.expect_pod(r["namespace"], labels, after, pod=i)))
            self.steps.append((kind, "back", self.write(copy(pod)),
                               self.expect_pod(r["namespace"], after, labels, pod=i)))

    def plan(self, kinds):
        c = self.churn
        if "pod-relabel" in kinds:
            self.pod_relabels("pod-relabel", c["pod_relabel"])
        if "pod-relabel-peer" in kinds:
            self.pod_relabels("pod-relabel-peer", c["peer_relabel"])
        if "pod-relabel-noop" in kinds:
            self.pod_relabels("pod-relabel-noop", c["peer_relabel"], noop=True)
        if "ns-relabel" in kinds:
            for r in c["ns_relabel"][:self.k]:
                ns = self.by_key[("Namespace", None, r["name"])]
                labels = ns["metadata"].get("labels") or {}
                after = dict(labels, **{r["key"]: r["value"]})
                there = copy(ns)
                there["metadata"]["labels"] = after
                full = lambda l: dict(l, **{"kubernetes.io/metadata.name": r["name"]})
                self.steps.append(("ns-relabel", "there", self.write(there),
                                   self.expect_ns(r["name"], full(labels), full(after))))
                self.steps.append(("ns-relabel", "back", self.write(copy(ns)),
                                   self.expect_ns(r["name"], full(after), full(labels))))
        adds = c["pod_add"][:self.k]
        if "pod-add" in kinds:
            for p in adds:
                self.steps.append(("pod-add", "", self.write(p),
                                   self.expect_pod(p["metadata"]["namespace"], None,
                                                   p["metadata"]["labels"], new_local=True)))
        if "pod-delete" in kinds and "pod-add" in kinds:
            for p in adds:
                self.steps.append(("pod-delete", "", "delete:pod:%s/%s" % (
                    p["metadata"]["namespace"], p["metadata"]["name"]),
                    self.expect_pod(p["metadata"]["namespace"], p["metadata"]["labels"], None)))
        for add, dele, key in (("policy-add", "policy-delete", "policy_add"),
                               ("policy-add-broad", "policy-delete-broad", "policy_add_broad")):
            pols = c[key][:self.k]
            if add in kinds:
                for p in pols:
                    self.steps.append((add, "", self.write(p), {
                        "by_reason": {"the-policy": 1}, "needed": 1,
                        "policies": [("%s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]),
                                      "the-policy", True)]}))
            if dele in kinds and add in kinds:
                for p in pols:
                    self.steps.append((dele, "", "delete:networkpolicy:%s/%s" % (
                        p["metadata"]["namespace"], p["metadata"]["name"]),
                        {"by_reason": {}, "needed": 1, "policies": []}))


def read_dumps(pattern):
    """{(step, phase): (Ir, path)} from callgrind's dumps."""
    out = {}
    for path in glob.glob(pattern):
        trig = total = None
        with open(path) as f:
            for line in f:
                if line.startswith("desc: Trigger: Client Request: "):
                    trig = line[len("desc: Trigger: Client Request: "):].strip()
                elif line.startswith("totals:"):
                    total = int(line.split()[1])
        m = re.match(r"step-(\d+)-(\w+)$", trig or "")
        if m and total is not None:
            out[(int(m.group(1)), m.group(2))] = (total, path)
    return out


def annotate(path, inclusive):
    """{function: Ir} from callgrind_annotate of one dump."""
    res = subprocess.run(["callgrind_annotate", "--inclusive=yes" if inclusive else "--inclusive=no",
                          "--threshold=100", "--auto=no", path], capture_output=True, text=True, cwd="/")
    out = {}
    body = res.stdout.split("file:function", 1)[-1].splitlines()
    for line in body[2:]:
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?)(?: \[[^\]]*\])?$", line)
        if not m:
            if not line.strip():
                break
            continue
        name = m.group(2).replace(TOP + "/", "")
        # The same function may appear twice (a cycle, or inlined copies):
        # keep the largest, which is the whole of it.
        out[name] = max(out.get(name, 0), int(m.group(1).replace(",", "")))
    return out


def top_lines(paths, inclusive, top):
    """The 'top' functions over the dumps 'paths' (one event's phases,
    which do not overlap: their counts add up)."""
    total = {}
    for p in paths:
        for name, ir in annotate(p, inclusive).items():
            total[name] = total.get(name, 0) + ir
    alltot = sum(read_total(p) for p in paths) or 1
    rows = sorted(total.items(), key=lambda x: -x[1])[:top]
    return ["%14s (%5.1f%%)  %s" % ("{:,}".format(ir), 100.0 * ir / alltot, name) for name, ir in rows]


def source_functions(path):
    """[(first line, last line, name)] of the functions defined in C file
    'path', as this project writes them: the return type on its own line,
    'name(' at column 0, the closing brace at column 0."""
    out = []
    with open(path) as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"([A-Za-z_]\w*)\(", lines[i])
        if m:
            j = i
            while j < len(lines) and lines[j] != "}":
                j += 1
            out.append((i, j + 1, m.group(1)))      # 1-based: the type line is i
            i = j
        i += 1
    return out


# Our functions that libc calls back (qsort comparators): their cost is
# inside the inclusive cost of the qsort call, charged to its caller.
CALLBACK_RE = re.compile(r"compare_\w+$")


def base_name(fn):
    """A function's name without GCC's clone suffixes (.part.0, .isra.0,
    .constprop.0, .cold) and callgrind's recursion marks ('2)."""
    fn = fn.split("'")[0]
    return re.sub(r"\.(part|isra|constprop|cold|lto_priv)(\.\d+)?", "", fn)


def partition(path, sources):
    """Per line of 'sources' (our C files) in dump 'path': 'own', its own
    instructions (inlined code counts at its own source line) plus its
    calls out of our code (libc), which partitions the dump; 'self', its
    own instructions; 'calls', [(callee, inclusive instructions)]."""
    res = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", "--auto=no",
                          path] + list(sources), capture_output=True, text=True, cwd="/")
    ours = set(os.path.realpath(s) for s in sources)
    own, self_, calls = {}, {}, {}
    cur_file, line, last = None, None, None
    num = r"([\d,]+) \(\s*[\d.]+%\)"
    for text in res.stdout.split("\n"):
        if text.startswith("-- User-annotated source: "):
            cur_file = os.path.realpath(text[len("-- User-annotated source: "):].strip())
            line = last = None
            continue
        if cur_file is None:
            continue
        m = re.match(r"-- line (\d+) -+$", text)
        if m:
            line = int(m.group(1))
            continue
        if line is None:
            continue
        m = re.match(r"\s*" + num + r"\s+=> (.*?):(\S+) \(([\d,]+)x\)", text)
        if m:
            ir = int(m.group(1).replace(",", ""))
            callee = os.path.realpath(m.group(2)) if m.group(2).startswith("/") else m.group(2)
            if last is not None:
                calls.setdefault(last, []).append((base_name(m.group(3)), ir))
                if callee not in ours:
                    own[last] = own.get(last, 0) + ir
            continue
        m = re.match(r"\s*(?:" + num + r"|\.)  (.*)$", text)
        if m:
            last = (cur_file, line)
            if m.group(1):
                ir = int(m.group(1).replace(",", ""))
                own[last] = own.get(last, 0) + ir
                self_[last] = self_.get(last, 0) + ir
            line += 1
            continue
        if text.startswith("----") or text.startswith("Ir"):
            line = None
    return own, self_, calls


def by_function(paths, sources, top):
    """One event's phases 'paths' by function and by line of our sources:
    inclusive (a function's own lines and every call they make: a function
    the compiler inlined, marked [inlined], is not in its caller's figure)
    and a check that the own costs add up to the dump's total."""
    fn_incl, line_incl, total, counted = {}, {}, 0, 0
    funcs = {os.path.realpath(f): source_functions(f) for f in sources}
    real = set()
    for p in paths:
        real.update(base_name(n.rsplit(":", 1)[-1]) for n in annotate(p, True))
        own, self_, calls = partition(p, sources)
        total += read_total(p)
        for (f, ln), ir in own.items():
            name = next((nm for a, b, nm in funcs.get(f, []) if a <= ln <= b), "")
            if not CALLBACK_RE.match(name):
                counted += ir
        for fl in set(self_) | set(calls):
            f, ln = fl
            rng = next(((a, b, nm) for a, b, nm in funcs.get(f, []) if a <= ln <= b), None)
            key = ("%s:%d-%d %s" % (os.path.relpath(f, TOP), rng[0], rng[1], rng[2]) if rng
                   else "%s (outside functions)" % os.path.relpath(f, TOP), rng[2] if rng else "")
            out_calls = calls.get(fl, [])
            # A call into the function's own outlined part (.part.0) is
            # its own body, already on these lines.
            fn_incl[key] = fn_incl.get(key, 0) + self_.get(fl, 0) + sum(
                ir for callee, ir in out_calls if callee != key[1])
            lk = "%s:%d" % (os.path.relpath(f, TOP), ln)
            line_incl[lk] = line_incl.get(lk, 0) + self_.get(fl, 0) + sum(ir for _, ir in out_calls)
    tot = total or 1
    fns = ["%14s (%5.1f%%)  %s%s" % ("{:,}".format(ir), 100.0 * ir / tot, k[0],
                                     "" if not k[1] or k[1] in real else " [inlined]")
           for k, ir in sorted(fn_incl.items(), key=lambda x: -x[1])[:top]]
    srcs, lines = {}, []
    for k, ir in sorted(line_incl.items(), key=lambda x: -x[1])[:top]:
        f, ln = k.rsplit(":", 1)
        if f not in srcs:
            with open(os.path.join(TOP, f)) as fh:
                srcs[f] = fh.read().split("\n")
        lines.append("%14s (%5.1f%%)  %-24s %s" % ("{:,}".format(ir), 100.0 * ir / tot, k,
                                                   srcs[f][int(ln) - 1].strip()[:70]))
    check = "%s of %s instructions are our lines' own or their calls into libc (%.1f%%)" % (
        "{:,}".format(counted), "{:,}".format(total), 100.0 * counted / tot)
    return fns, lines, check, fn_incl, total


# Whose callees the call tree lists (base names; those the compiler did
# not inline, so in a --no-inline build all of them).
TREE_ROOTS = ["engine_apply", "invalidate_for", "engine_delete", "engine_run", "compile_once",
              "compile_policies", "policy_fragment", "compile_policy_rules", "merge_fragment",
              "flowtab_sync", "commit", "flowtab_diff"]


def call_tree(path, top=12):
    """For the functions of TREE_ROOTS in dump 'path': their callees with
    inclusive instructions, from callgrind_annotate --tree=calling."""
    res = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=calling", "--threshold=100",
                          path], capture_output=True, text=True, cwd="/")
    blocks, cur = {}, None
    for line in res.stdout.split("\n"):
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\*|>)\s+(.*?):(\S+)(?: \((\S+)x\))?(?: \[.*\])?$", line)
        if not m:
            if not line.strip():
                cur = None
            continue
        ir, mark, fn = int(m.group(1).replace(",", "")), m.group(2), base_name(m.group(4))
        if mark == "*":
            cur = fn if fn in TREE_ROOTS else None
            if cur:
                blocks.setdefault(cur, [ir, {}])[0] = max(blocks.get(cur, [0])[0], ir)
        elif cur:
            calls = blocks[cur][1]
            calls[fn] = calls.get(fn, 0) + ir
    out = []
    for root in TREE_ROOTS:
        if root in blocks:
            total, calls = blocks[root]
            out.append("%14s  %s" % ("{:,}".format(total), root))
            own = total - sum(calls.values())
            for fn, ir in sorted(list(calls.items()) + [("(its own instructions)", own)],
                                 key=lambda x: -x[1])[:top]:
                out.append("%14s      -> %s (%.1f%%)" % ("{:,}".format(ir), fn, 100.0 * ir / max(1, total)))
    return out


NOINLINE_SOURCES = ["addr", "cli", "cluster", "compile", "engine", "flowtab", "labels", "objects", "strmap",
                    "np-log", "np-util", "source-dir", "trace", "yaml-json"]


def build_noinline(out):
    """bench/engine-event and libnetpol built again without inlining, so
    that callgrind's call graph shows every function of the engine: its
    shares, not its totals (calls cost instructions)."""
    srcs = [os.path.join(TOP, "src", n + ".c") for n in NOINLINE_SOURCES] + [
        os.path.join(TOP, "bench", "engine-event.c")]
    deps = srcs + [os.path.join(TOP, "include", f) for f in os.listdir(os.path.join(TOP, "include"))]
    if os.path.exists(out) and all(os.path.getmtime(d) <= os.path.getmtime(out) for d in deps):
        return
    say("building %s (-O2 -fno-inline)" % os.path.relpath(out, TOP))
    subprocess.run(["gcc", "-DHAVE_CONFIG_H", "-I" + TOP, "-I" + os.path.join(TOP, "include"), "-std=gnu11",
                    "-g", "-O2", "-fno-inline", "-fno-inline-small-functions", "-fno-ipa-cp-clone",
                    "-fno-partial-inlining", "-fno-ipa-sra", "-o", out] + srcs +
                   ["-ljansson", "-lyaml", "-lev"], check=True)


def read_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description="Instructions per engine event (see bench/README.md)")
    ap.add_argument("--mix", choices=clusters.MIXES, default="broad")
    ap.add_argument("--size", choices=sorted(clusters.SIZES), default="10k")
    ap.add_argument("--cluster", help="a cluster file instead of --mix/--size")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--events", type=int, default=3,
                    help="events per kind (relabels: there and back, so twice as many steps)")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, of: " + " ".join(KINDS))
    ap.add_argument("--no-valgrind", action="store_true",
                    help="run natively: flow changes, policies and CPU times, no instruction counts")
    ap.add_argument("--top", type=int, default=40, help="functions and lines listed per kind")
    ap.add_argument("--bin", default=os.path.join(TOP, "bench", "engine-event"))
    ap.add_argument("--no-inline", action="store_true",
                    help="profile a build of engine-event without inlining (in bench/out/): every engine "
                    "function in the call tree; shares, not totals")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (dumps, events)")
    a = ap.parse_args()
    kinds = [k for k in a.kinds.split(",") if k]
    if a.no_inline:
        os.makedirs(OUT, exist_ok=True)
        a.bin = os.path.join(OUT, "engine-event-noinline")
        build_noinline(a.bin)
    for k in kinds:
        if k not in KINDS:
            ap.error("unknown kind %s" % k)
    if not os.access(a.bin, os.X_OK):
        sys.exit("profile-event: %s is missing; build first (make)" % a.bin)
    if not a.no_valgrind and not shutil.which("valgrind"):
        sys.exit("profile-event: valgrind is missing (apt-get install valgrind)")

    cl = clusters.ensure(a.mix, a.size, a.seed, path=a.cluster, say=say)
    churn = cl.load_churn()
    with open(cl.path) as f:
        items = json.load(f)["items"]
    work = tempfile.mkdtemp(prefix="profile-event.")
    try:
        pl = Planner(items, churn, work, a.events)
        pl.plan(kinds)
        del items
        argv = [a.bin, "--node", churn["node"], "--ports", cl.ports, cl.path] + [s[2] for s in pl.steps]
        if not a.no_valgrind:
            argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    "--callgrind-out-file=%s/callgrind.out.%%p" % work] + argv
        say("%s: %d steps%s" % (cl.name, len(pl.steps), "" if a.no_valgrind else " under callgrind"))
        t0 = time.time()
        res = subprocess.run(argv, capture_output=True, text=True, cwd="/")
        if res.returncode:
            sys.exit("profile-event: engine-event failed:\n" + res.stderr[-3000:])
        say("done in %.0f s" % (time.time() - t0))
        lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
        load, results = lines[0], lines[1:]
        dumps = {} if a.no_valgrind else read_dumps(os.path.join(work, "callgrind.out.*.*"))
        report(a, cl, churn, load, pl, results, dumps, kinds)
    finally:
        if a.keep:
            say("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def report(a, cl, churn, load, pl, results, dumps, kinds):
    rev = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
    common = {"bench": "profile-event", "cluster": cl.name, "mix": a.mix if not a.cluster else None,
              "build": "no-inline" if a.no_inline else "make",
              "size": a.size if not a.cluster else None, "seed": a.seed, "rev": rev,
              "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "node": churn["node"],
              "flows": load["flows"], "local_pods": load["local_pods"],
              "valgrind": not a.no_valgrind}
    odir = os.path.join(OUT, "profile", "%s-s%d%s" % (cl.name, a.seed, "-noinline" if a.no_inline else ""))
    os.makedirs(odir, exist_ok=True)
    print()
    print("%s (%s), node %s: %d objects, %d local pods, %d flows; rev %s%s" % (
        cl.name, os.path.relpath(cl.path, TOP), churn["node"], load["objects"], load["local_pods"],
        load["flows"], rev, "; a build without inlining (shares, not totals)" if a.no_inline else ""))
    unit = "CPU ms (this machine, now)" if a.no_valgrind else "million instructions"
    print("per event, p50 (max) in %s; changes: flow changes p50/p99; compiled: policies the "
          "engine compiled again, p50/p99; model: what gen_cluster.py's model of "
          "src/engine.c invalidate_for() predicts, by reason" % unit)
    hdr = "%-20s %3s | %15s %15s %15s %15s | %11s | %9s | %s" % (
        "event", "n", "input", "run", "commit", "total", "changes", "compiled", "model (p50 by reason)")
    print(hdr)
    print("-" * len(hdr))
    jl = []
    for kind in kinds:
        rows = [(s, r) for s, r in zip(pl.steps, results) if s[0] == kind]
        if not rows:
            continue
        per = {ph: [] for ph in PHASES + ("total",)}
        paths = []
        for (k, direction, step, expected), r in rows:
            tot = 0
            ps = []
            for ph in PHASES:
                if dumps:
                    ir, path = dumps.get((r["step"], ph), (None, None))
                    per[ph].append(ir / 1e6 if ir is not None else None)
                    tot += ir or 0
                    ps.append(path)
                else:
                    per[ph].append(r["cpu_ms"][ph])
                    tot += r["cpu_ms"][ph]
            per["total"].append(tot / 1e6 if dumps else tot)
            paths.append((per["total"][-1], ps, r, expected, direction, step))
        changes = [r["flow_changes"] for _, r in rows]
        compiled = [r["policies_compiled"] for _, r in rows]
        reasons = {}
        for (_, _, _, exp), _ in rows:
            for why, n in exp["by_reason"].items():
                reasons.setdefault(why, []).append(n)
        model_tot = [sum(exp["by_reason"].values()) for (_, _, _, exp), _ in rows]
        needed = [exp["needed"] for (_, _, _, exp), _ in rows]
        agree = sum(1 for (_, _, _, exp), r in rows
                    if sum(exp["by_reason"].values()) == r["policies_compiled"])

        def cell(v):
            p50, mx = pct(v, 0.5), max((x for x in v if x is not None), default=None)
            return "-" if p50 is None else ("%.1f (%.1f)" % (p50, mx))
        model = ", ".join("%s %d" % (w, pct(v, 0.5)) for w, v in sorted(reasons.items()))
        if model:
            model += "; inputs changed in %d" % pct(needed, 0.5)
        print("%-20s %3d | %15s %15s %15s %15s | %5d/%-5d | %4d/%-4d | %s%s" % (
            kind, len(rows), cell(per["input"]), cell(per["run"]), cell(per["commit"]),
            cell(per["total"]), pct(changes, 0.5), pct(changes, 0.99), pct(compiled, 0.5),
            pct(compiled, 0.99), model or "-",
            "" if agree == len(rows) else "  (model = engine in %d of %d)" % (agree, len(rows))))
        rec = dict(common, kind=kind, n=len(rows),
                   unit="Mi instructions" if dumps else "cpu_ms",
                   **{ph: {"p50": pct(per[ph], 0.5), "p99": pct(per[ph], 0.99),
                           "max": max((x for x in per[ph] if x is not None), default=None),
                           "all": per[ph]} for ph in per},
                   flow_changes={"p50": pct(changes, 0.5), "p99": pct(changes, 0.99), "all": changes},
                   policies_compiled={"p50": pct(compiled, 0.5), "p99": pct(compiled, 0.99),
                                      "all": compiled},
                   model_invalidated={"p50": pct(model_tot, 0.5), "all": model_tot,
                                      "by_reason": reasons, "inputs_changed": needed,
                                      "agrees_with_engine": agree},
                   changes_by_kind=[r["by_kind"] for _, r in rows],
                   events=[{"step": s[2].split("/")[-1], "direction": s[1]} for s, _ in rows])
        if dumps:
            paths.sort(key=lambda x: x[0])
            med = paths[(len(paths) - 1) // 2]
            ps = [p for p in med[1] if p]
            incl = top_lines(ps, True, a.top)
            excl = top_lines(ps, False, a.top)
            with open(os.path.join(odir, "%s.txt" % kind), "w") as f:
                f.write("%s, median event: %s (%s), %.1f M instructions, %d flow changes, "
                        "%d policies compiled\n\ninclusive:\n%s\n\nexclusive:\n%s\n" % (
                            kind, med[5], med[4], med[0], med[2]["flow_changes"],
                            med[2]["policies_compiled"], "\n".join(incl), "\n".join(excl)))
                f.write("\npolicies compiled again (the model's list: why, and whether an input "
                        "changed):\n%s\n" % "\n".join("  %-60s %-18s %s" % (n, w, "changed" if c else "-")
                                                         for n, w, c in med[3]["policies"]))
                for ph, p in zip(PHASES, med[1]):
                    if p:
                        f.write("\n%s phase inclusive:\n%s\n" % (ph, "\n".join(top_lines([p], True, a.top))))
                        f.write("\n%s phase call tree (callees, inclusive):\n%s\n" % (
                            ph, "\n".join(call_tree(p))))
            rec["median_event_top_inclusive"] = incl
            rec["median_event_top_exclusive"] = excl
            sources = sorted(glob.glob(os.path.join(TOP, "src", "*.c"))) + [
                os.path.join(TOP, "bench", "engine-event.c")]
            with open(os.path.join(odir, "%s.txt" % kind), "a") as f:
                for ph, p in zip(PHASES + ("event",), [[x] for x in med[1]] + [ps]):
                    if not all(p):
                        continue
                    fns, lines, check, fn_cost, total = by_function(p, sources, a.top)
                    f.write("\n%s: functions of our sources, inclusive; [inlined]: not in its "
                            "caller's figure; %s\n%s\n\n%s: lines, inclusive\n%s\n" % (
                                ph, check, "\n".join(fns), ph, "\n".join(lines)))
                    if ph == "event":
                        rec["median_event_by_function"] = fns
                        rec["median_event_by_line"] = lines
                        rec["median_event_partition_check"] = check
            rec["annotations"] = os.path.relpath(os.path.join(odir, "%s.txt" % kind), TOP)
        jl.append(rec)
    with open(os.path.join(OUT, "profile.jsonl"), "a") as f:
        for rec in jl:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
    print()
    if dumps:
        print("callgrind_annotate of the median event of each kind: %s/*.txt" % os.path.relpath(odir, TOP))
    print("JSON lines appended to %s" % os.path.relpath(os.path.join(OUT, "profile.jsonl"), TOP))


if __name__ == "__main__":
    main()
