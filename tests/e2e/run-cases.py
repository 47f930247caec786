#!/usr/bin/env python3
"""Real-packet end-to-end tests of ovs-netpol.

For every case file (tests/cases/*.json, the format of
../shared/conformance/cases, see tests/e2e/README.md), this sets up pods as
network namespaces on a userspace Open vSwitch (ovs/sandbox.sh), starts a
listener on every containerPort of every pod (and on every probed port) with
tests/np-probe, and for each step: applies the step's objects to an in-memory
cluster, writes the cluster as one JSON "v1 List", compiles it with
ovs-netpol, loads the flows into br-int, and sends real TCP, UDP and SCTP
probes between the pods, comparing what got through with each probe's
"allowed".

A probe's verdict is "allowed" when the destination host answered (TCP
handshake, UDP echo, SCTP INIT-ACK; or a TCP RST / ICMP port unreachable /
SCTP ABORT, which also prove the packet got there), "denied" when nothing came
back within --timeout-ms.  Verdicts are never retried; only setup is.

Rules that keep real-packet probing deterministic:
- after every table load: `ovs-appctl revalidator/purge` (no datapath flow
  cached from the previous table decides a probe) and a conntrack flush;
- every probe binds a source port never used before by that source address in
  this run, so no conntrack entry of an earlier probe carries it;
- OVS 3.1's userspace conntrack ignores SCTP ports (one entry per address
  pair, both directions): a round probes at most one SCTP port per unordered
  pod pair, and conntrack is flushed between rounds;
- MACs are derived from IPs and ARP caches are never flushed, so no neighbour
  resolution races a probe.

With --daemon, the flows come from ovs-netpold instead of the compiler: one
daemon per sandbox (--source dir:WORKER/source, --node node-1), and per step
the cluster is written into its source directory atomically (a dot-named
temporary file renamed to cluster.json), then `ovs-appctl -t SOCK sync`
must succeed; the installed table must have an in_port spoof-guard flow for
every pod's address (the bindings come from OVSDB), then the same purge,
flush and probes.  At the end every daemon is stopped with SIGTERM: it must
exit 0 and leave the flows exactly as they were.

With --nodes N (N > 1), every case runs on N nodes instead, its pods spread
round-robin over them, one daemon per node following one API server
stand-in: tests/multinode/corpus.py overrides the Worker's bed hooks
(place_pods, pod_table, load_step, flush_conntrack); everything else here
is shared.

The final line is exactly "N passed, M failed" (cases).  Exit status 0 when
every case passed, 1 otherwise, 2 on bad usage.
"""

import argparse
import copy
import glob
import ipaddress
import json
import math
import os
import queue
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SANDBOX_SH = os.path.join(TOP, "ovs", "sandbox.sh")
DEFAULT_MODEL = os.path.join(HERE, "..", "cases", "model.json")

# Kinds without a namespace (everything else is namespaced).
CLUSTER_SCOPED = {"Namespace", "Node", "ClusterNetworkPolicy",
                  "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"}
KIND_ORDER = {"Namespace": 0, "Pod": 1, "NetworkPolicy": 2}

ALLOW_ALL = "priority=0 actions=NORMAL\n"
DENY_ALL = """\
priority=100,arp actions=NORMAL
priority=100,icmp6,icmp_type=133 actions=NORMAL
priority=100,icmp6,icmp_type=134 actions=NORMAL
priority=100,icmp6,icmp_type=135 actions=NORMAL
priority=100,icmp6,icmp_type=136 actions=NORMAL
priority=0 actions=drop
"""
FIXED_TABLES = {"allow-all": ALLOW_ALL, "deny-all": DENY_ALL}

SPORT_FIRST, SPORT_LAST = 10000, 65535


def softnet_drops():
    """Packets the kernel dropped for want of backlog, all CPUs (global: a
    drop in any netns counts).  A dropped probe packet would read as denied."""
    try:
        with open("/proc/net/softnet_stat") as f:
            return sum(int(line.split()[1], 16) for line in f)
    except (OSError, IndexError, ValueError):
        return 0


def neigh_stat(table="arp_cache"):
    """(entries, table_fulls) of a neighbour table.  The kernel keeps ONE
    table for all network namespaces, limited by init_net's gc_thresh3
    (default 1024 entries): every pod resolving every other pod in every
    sandbox counts, and past the limit new entries fail, so the first packet
    to a new neighbour is dropped and an allowed probe reads as denied."""
    try:
        with open("/proc/net/stat/" + table) as f:
            rows = [line.split() for line in f][1:]
        return int(rows[0][0], 16), sum(int(r[-1], 16) for r in rows)
    except (OSError, IndexError, ValueError):
        return 0, 0


def neigh_jobs_limit(per_sandbox=160):
    """How many sandboxes fit in the neighbour tables with a margin."""
    limit = None
    for fam, table in (("ipv4", "arp_cache"), ("ipv6", "ndisc_cache")):
        try:
            with open("/proc/sys/net/%s/neigh/default/gc_thresh3" % fam) as f:
                thresh = int(f.read())
        except (OSError, ValueError):
            continue
        entries = neigh_stat(table)[0]
        n = max(1, int((thresh * 0.75 - entries) // per_sandbox))
        limit = n if limit is None else min(limit, n)
    return limit or 1


class SetupError(Exception):
    """Something other than a verdict went wrong (load, pods, listeners)."""


class CompileError(Exception):
    """The compiler failed: the case fails, the sandbox is fine."""


class DaemonError(SetupError):
    """--daemon: ovs-netpold failed (sync, spoof guard, died): the case
    fails, and the worker's sandbox and daemon start over."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, env=None, timeout=60, check=True, input=None):
    p = subprocess.run(cmd, env=env, timeout=timeout, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and p.returncode != 0:
        raise SetupError("%s: exit %d: %s" % (
            " ".join(shlex.quote(c) for c in cmd), p.returncode,
            (p.stderr or p.stdout).strip()[-2000:]))
    return p


def retry(fn, what, attempts=3):
    """Retries setup (never a verdict)."""
    for i in range(attempts):
        try:
            return fn()
        except (SetupError, subprocess.TimeoutExpired) as e:
            if i == attempts - 1:
                raise SetupError("%s: %s" % (what, e))
            log("run-cases: %s failed (%s), retrying" % (what, e))
            time.sleep(0.2 * (i + 1))


# ---- cluster model ----------------------------------------------------------

def load_file(path):
    with open(path) as f:
        if path.endswith((".yaml", ".yml")):
            import yaml
            return yaml.safe_load(f)
        return json.load(f)


def obj_key(o):
    md = o.get("metadata", {})
    kind = o.get("kind")
    ns = None if kind in CLUSTER_SCOPED else md.get("namespace", "default")
    return (kind, ns, md.get("name"))


def pod_ips(pod):
    st = pod.get("status") or {}
    ips = [x.get("ip") for x in st.get("podIPs") or [] if x.get("ip")]
    if not ips and st.get("podIP"):
        ips = [st["podIP"]]
    return ips


def pod_has_netns(pod):
    """Pods that get a network namespace on the switch: an address, not
    hostNetwork, not finished.  Others exist only as API objects."""
    if (pod.get("spec") or {}).get("hostNetwork"):
        return False
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    return bool(pod_ips(pod))


def container_ports(pod):
    out = set()
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for p in c.get("ports") or []:
            if "containerPort" in p:
                out.add((int(p["containerPort"]),
                         (p.get("protocol") or "TCP").upper()))
    return out


class Cluster:
    def __init__(self, model_items):
        self.objs = {}
        for o in model_items:
            self.objs[obj_key(o)] = copy.deepcopy(o)

    def apply(self, objs):
        for o in objs:
            if o.get("kind") == "List":
                self.apply(o.get("items") or [])
                continue
            self.objs[obj_key(o)] = copy.deepcopy(o)

    def delete(self, refs):
        for r in refs:
            kind = r.get("kind")
            ns = None if kind in CLUSTER_SCOPED else r.get("namespace", "default")
            self.objs.pop((kind, ns, r.get("name")), None)
            if kind == "Namespace":
                # cascade, as the API server does
                for k in [k for k in self.objs if k[1] == r.get("name")]:
                    del self.objs[k]

    def pods(self):
        return {"%s/%s" % (k[1], k[2]): o for k, o in self.objs.items()
                if k[0] == "Pod"}

    def as_list(self):
        items = sorted(self.objs.values(),
                       key=lambda o: KIND_ORDER.get(o.get("kind"), 9))
        return {"apiVersion": "v1", "kind": "List", "items": items}


# ---- sandbox and listeners -------------------------------------------------

class Sandbox:
    def __init__(self, directory):
        self.dir = directory
        self.env = None
        self.pods = {}          # "ns/pod" -> dict(port, netns, ofport, ips)

    def sh(self, *args, timeout=60):
        return run([SANDBOX_SH] + list(args), timeout=timeout)

    def start(self):
        retry(lambda: self.sh("start", self.dir), "sandbox start")
        self.env = dict(os.environ)
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    k, v = line[len("export "):].split("=", 1)
                    self.env[k] = v.strip("'")
        self.pods = {}

    def stop(self):
        try:
            run([SANDBOX_SH, "stop", self.dir], timeout=60, check=False)
        except Exception as e:          # never mask the real error
            log("run-cases: sandbox stop %s: %s" % (self.dir, e))

    def read_pods(self):
        pods = {}
        with open(os.path.join(self.dir, "pods")) as f:
            for line in f:
                w = line.split()
                if len(w) >= 6:
                    pods[w[0]] = {"port": w[1], "netns": w[2], "ofport": w[3],
                                  "mac": w[4],
                                  "ips": [a.split("/")[0] for a in w[5].split(",")]}
        self.pods = pods

    def reconcile(self, want):
        """want: {"ns/pod": [ips]}.  Pods whose addresses changed are
        re-created; a relabelled pod keeps its netns."""
        gone = [k for k, p in self.pods.items()
                if k not in want or p["ips"] != want[k]]
        new = [k for k in want if k not in self.pods or k in gone]
        if gone:
            args = []
            for k in gone:
                args += k.split("/", 1)
            retry(lambda: self.sh("del-pod", self.dir, *args), "del-pod")
        if new:
            args = []
            for k in new:
                args += k.split("/", 1) + [",".join(want[k])]
            def add():
                self.read_pods()
                todo = [k for k in new if k not in self.pods]
                a = []
                for k in todo:
                    a += k.split("/", 1) + [",".join(want[k])]
                if a:
                    self.sh("add-pod", self.dir, *a)
            retry(add, "add-pod")
        self.read_pods()
        missing = [k for k in want if k not in self.pods]
        if missing:
            raise SetupError("pods missing after add-pod: %s" % missing)
        return len(gone), len(new)

    def ofctl(self, *args, timeout=120):
        return run(["ovs-ofctl", "-O", "OpenFlow15"] + list(args),
                   env=self.env, timeout=timeout)

    def appctl(self, *args):
        return run(["ovs-appctl"] + list(args), env=self.env)

    def load_table(self, path):
        retry(lambda: self.ofctl("--bundle", "replace-flows", "br-int", path),
              "replace-flows")
        self.appctl("revalidator/purge")
        self.flush_conntrack()

    def flush_conntrack(self):
        self.appctl("dpctl/flush-conntrack")


class Server:
    """One `np-probe serve` per sandbox, driven through its stdin."""

    def __init__(self, probe_bin, spec_path):
        self.spec = spec_path
        with open(spec_path, "w"):
            pass
        self.proc = subprocess.Popen(
            [probe_bin, "serve", "--spec", spec_path, "--control-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            bufsize=1)
        self._wait_ready()

    def _wait_ready(self, timeout=20):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            raise SetupError("np-probe serve did not answer")
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise SetupError("np-probe serve: %r" % line)
        if "failed=" in line:
            raise SetupError("np-probe serve could not open every listener: "
                             + line.strip())
        return line

    def load(self, lines):
        """Always reloads, even for the same text: a pod re-created under the
        same name has a new netns, and np-probe then reopens its sockets."""
        text = "".join(l + "\n" for l in sorted(lines))
        with open(self.spec, "w") as f:
            f.write(text)
        self.proc.stdin.write("reload\n")
        self.proc.stdin.flush()
        self._wait_ready()

    def stop(self):
        try:
            self.proc.stdin.close()
        except Exception:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- ovs-netpold (--daemon) --------------------------------------------------

DAEMON_NODE = "node-1"
COOKIE_PREFIX = 0x4e50


def our_flows(text):
    """The lines of `ovs-ofctl --no-stats dump-flows` with our cookie prefix,
    sorted (a canonical form of our table)."""
    out = []
    for line in text.splitlines():
        m = re.search(r"cookie=0x([0-9a-f]+)", line)
        if m and int(m.group(1), 16) >> 48 == COOKIE_PREFIX:
            out.append(line.strip())
    return sorted(out)


def spoof_bindings(text):
    """{(ofport, ip_address)} of the spoof guard's in_port flows."""
    got = set()
    for line in text.splitlines():
        m = re.search(r"in_port=(\d+)", line)
        a = re.search(r"(?:nw_src|ipv6_src)=([0-9A-Fa-f:.]+)", line)
        if m and a:
            try:
                got.add((m.group(1), ipaddress.ip_address(a.group(1))))
            except ValueError:
                pass
    return got


def percentile(values, q):
    if not values:
        return 0.0
    v = sorted(values)
    return v[max(1, math.ceil(q / 100.0 * len(v))) - 1]   # nearest rank


class Daemon:
    """One ovs-netpold for one sandbox, following WDIR/source."""

    def __init__(self, binary, extra_args, sandbox, wdir):
        self.bin = binary
        self.extra = extra_args
        self.sandbox = sandbox
        self.src = os.path.join(wdir, "source")
        self.log_path = os.path.join(wdir, "ovs-netpold.log")
        self.pid_path = os.path.join(wdir, "ovs-netpold.pid")
        self.ctl = os.path.join(wdir, "ovs-netpold.ctl")
        if len(self.ctl) > 100:         # sun_path holds 108 bytes
            self.ctl = os.path.join(tempfile.gettempdir(), "np-%d-%s.ctl" % (
                os.getpid(), os.path.basename(wdir)))
        self.proc = None
        self.syncs = 0

    def cmd(self):
        return [self.bin, "--source", "dir:" + self.src,
                "--ovs-rundir", os.path.join(self.sandbox.dir, "run"),
                "--bridge", "br-int", "--node", DAEMON_NODE,
                # The corpus does not model the node (its verdicts are
                # pod to pod): no node addresses, whatever this host has.
                "--node-address", "none",
                "--control", self.ctl] + self.extra

    def start(self):
        shutil.rmtree(self.src, ignore_errors=True)
        os.makedirs(self.src)
        with open(self.log_path, "a") as log_f:
            log_f.write("==== %s\n" % " ".join(shlex.quote(c) for c in self.cmd()))
            log_f.flush()
            # its own session: a Ctrl-C of the terminal reaches us, and we
            # stop the daemon (by PID) ourselves
            self.proc = subprocess.Popen(self.cmd(), stdin=subprocess.DEVNULL,
                                         stdout=log_f, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        with open(self.pid_path, "w") as f:
            f.write("%d\n" % self.proc.pid)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise DaemonError("ovs-netpold exited with %d at start; see %s"
                                  % (self.proc.returncode, self.log_path))
            p = self.appctl("status", check=False)
            if p.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise DaemonError("ovs-netpold: no control socket after 10 s: %s"
                                  % (p.stderr or p.stdout).strip())
            time.sleep(0.02)
        self.sync()

    def appctl(self, *args, check=True, timeout=30):
        return run(["ovs-appctl", "-t", self.ctl] + list(args),
                   env=self.sandbox.env, timeout=timeout, check=check)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def status(self):
        p = self.appctl("status", check=False, timeout=10)
        return (p.stdout or p.stderr).strip()

    def write_cluster(self, doc):
        """Atomically: a dot-named temporary file (the daemon ignores those),
        renamed to cluster.json."""
        tmp = os.path.join(self.src, ".cluster.json.tmp")
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.rename(tmp, os.path.join(self.src, "cluster.json"))

    def sync(self, timeout=10):
        """Returns the seconds it took; a failure is a DaemonError."""
        t = time.monotonic()
        try:
            p = self.appctl("sync", "--timeout", str(timeout), check=False,
                            timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            raise DaemonError("ovs-appctl sync did not return")
        dt = time.monotonic() - t
        self.syncs += 1
        if p.returncode != 0:
            raise DaemonError("sync failed (exit %d%s): %s" % (
                p.returncode, "" if self.alive() else
                ", daemon exited with %s" % self.proc.returncode,
                (p.stderr or p.stdout).strip()))
        return dt

    def dump(self):
        return run(["ovs-ofctl", "-O", "OpenFlow15", "--no-stats", "--no-names",
                    "dump-flows", "br-int"], env=self.sandbox.env).stdout

    def stop(self):
        """SIGTERM by PID; (ok, message): exit status 0 and our flows
        unchanged."""
        if self.proc is None:
            return True, "not started"
        if not self.alive():
            rc = self.proc.returncode
            self.proc = None
            return False, "had already exited with %d (see %s)" % (rc, self.log_path)
        try:
            before = our_flows(self.dump())
        except Exception as e:
            before = None
            log("run-cases: dump-flows before stopping ovs-netpold: %s" % e)
        t = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            return False, "did not exit within 10 s of SIGTERM; killed"
        dt = time.monotonic() - t
        self.proc = None
        try:
            os.unlink(self.pid_path)
        except OSError:
            pass
        try:
            after = our_flows(self.dump())
        except Exception as e:
            return False, "exit %d; dump-flows after: %s" % (rc, e)
        same = before is not None and before == after
        msg = "SIGTERM: exit %d in %.3f s; %s flows of ours before, %d after%s" % (
            rc, dt, "?" if before is None else len(before), len(after),
            ", identical" if same else ", DIFFERENT")
        return rc == 0 and same and len(after) > 0, msg


# ---- probing ---------------------------------------------------------------

def ip_family(ip):
    return ipaddress.ip_address(ip).version


def pick_ips(probe, src_ips, dst_ips):
    """(source ip, destination ip) of one family, or None.  Default IPv4;
    a probe may ask for "ipFamily": "IPv6"."""
    fam = str(probe.get("ipFamily", probe.get("family", ""))).lower()
    order = [6] if fam in ("ipv6", "6") else [4] if fam in ("ipv4", "4") else [4, 6]
    for v in order:
        s = [a for a in src_ips if ip_family(a) == v]
        d = [a for a in dst_ips if ip_family(a) == v]
        if s and d:
            return s[0], d[0]
    return None


class Worker:
    def __init__(self, idx, base, args):
        self.idx = idx
        self.args = args
        self.dir = os.path.join(base, "w%d" % idx)
        os.makedirs(self.dir, exist_ok=True)
        self.sandbox = Sandbox(os.path.join(self.dir, "sandbox"))
        self.server = None
        self.sport = {}             # ("ns", netns) / ("ip", addr) -> next source port
        self.warnings = []
        self.model = load_file(args.model)["items"]
        self.daemon = None
        self.daemon_stops = []      # (ok, message) per daemon stopped

    def start(self):
        self.sandbox.start()
        self.server = Server(self.args.probe, os.path.join(self.dir, "serve.spec"))
        if self.args.daemon:
            self.daemon = Daemon(self.args.daemon_bin,
                                 shlex.split(self.args.daemon_args),
                                 self.sandbox, self.dir)
            self.daemon.start()

    def stop(self):
        if self.daemon:
            # stopped even with --keep: its flows stay in the switch
            ok, msg = self.daemon.stop()
            self.daemon_stops.append((ok, msg))
            self.daemon = None
        if self.server:
            self.server.stop()
            self.server = None
        if not self.args.keep:
            self.sandbox.stop()

    def restart(self):
        self.stop()
        self.start()

    def next_sport(self, netns, ip, listened):
        """A source port that neither this address (conntrack) nor this netns
        (bind: IPv4 and IPv6 share the port space) has used in the run."""
        p = max(self.sport.get(("ns", netns), SPORT_FIRST),
                self.sport.get(("ip", ip), SPORT_FIRST))
        while p in listened:
            p += 1
        if p > SPORT_LAST:
            raise SetupError("source ports of %s exhausted" % ip)
        self.sport[("ns", netns)] = self.sport[("ip", ip)] = p + 1
        return p

    def table_for(self, cluster_file, step_dir):
        flows = os.path.join(step_dir, "flows")
        if self.args.table in FIXED_TABLES:
            with open(flows, "w") as f:
                f.write(FIXED_TABLES[self.args.table])
            return flows, 0.0
        if self.args.table:
            shutil.copy(self.args.table, flows)
            return flows, 0.0
        ports = os.path.join(self.sandbox.dir, "ports")
        tmpl = shlex.split(self.args.compile)
        if any(("{file}" in w or "{ports}" in w or "{out}" in w) for w in tmpl):
            cmd = [w.replace("{file}", cluster_file).replace("{ports}", ports)
                   .replace("{out}", flows) for w in tmpl]
        else:
            cmd = tmpl + ["--ports", ports, cluster_file]
        t = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=300)
        dt = time.monotonic() - t
        with open(os.path.join(step_dir, "compile.stderr"), "w") as f:
            f.write(p.stderr)
        to_stdout = not any("{out}" in w for w in tmpl)
        if to_stdout:
            with open(flows, "w") as f:
                f.write(p.stdout)
        if p.returncode != 0:
            # exit 1 with flows: some objects were rejected, the rest compiled
            # (the case decides whether that was right); anything else fails
            if p.returncode == 1 and os.path.getsize(flows) > 0:
                self.warnings.append("compile exit 1: %s" % p.stderr.strip()[-500:])
            else:
                raise CompileError("compile exit %d: %s" % (
                    p.returncode, p.stderr.strip()[-2000:]))
        return flows, dt

    def daemon_load(self, res, cluster, step_dir, si, timing):
        """--daemon: the cluster into the daemon's source directory, sync,
        check the spoof guard's port bindings, purge and flush."""
        d = self.daemon
        if not d.alive():
            raise DaemonError("ovs-netpold is not running (exit %s; see %s)"
                              % (d.proc.returncode if d.proc else "?", d.log_path))
        # One switch, one node: every pod with a netns is plugged into the
        # daemon's switch, so it is on the daemon's node whatever the case
        # says (the upstream ClusterNetworkPolicy cases place their pods on
        # kind-worker and kind-worker2, as upstream's kind cluster does).
        objs = cluster.as_list()
        items = []
        for o in objs["items"]:
            _, ns, name = obj_key(o)
            if o.get("kind") == "Pod" and "%s/%s" % (ns, name) in self.sandbox.pods \
                    and (o.get("spec") or {}).get("nodeName") != DAEMON_NODE:
                o = copy.deepcopy(o)
                o.setdefault("spec", {})["nodeName"] = DAEMON_NODE
            items.append(o)
        objs = dict(objs, items=items)
        t = time.monotonic()
        d.write_cluster(objs)
        d.sync()
        timing["sync"] = time.monotonic() - t
        # Every pod with a netns must be spoof-guarded by its port: the
        # bindings come from OVSDB, which 'sync' does not wait for.
        want = {(pod["ofport"], ipaddress.ip_address(ip))
                for pod in self.sandbox.pods.values() for ip in pod["ips"]}
        deadline = time.monotonic() + 5
        late = 0
        while True:
            text = d.dump()
            missing = want - spoof_bindings(text)
            if not missing or time.monotonic() > deadline:
                break
            late += 1
            time.sleep(0.05)
            d.sync()
        if missing:
            raise DaemonError("step %d: no in_port spoof-guard flow for %s" % (
                si + 1, ", ".join("ofport %s/%s" % m for m in sorted(missing, key=str))))
        if late:
            res["warnings"].append(
                "step %d: the sync answered before the daemon had every port "
                "binding; they were in place %.2f s later" % (
                    si + 1, time.monotonic() - t - timing["sync"]))
            res["late_bindings"] = res.get("late_bindings", 0) + 1
        timing["bindings"] = len(want)
        with open(os.path.join(step_dir, "flows"), "w") as f:
            f.write(text)       # what the daemon installed
        self.sandbox.appctl("revalidator/purge")
        self.sandbox.flush_conntrack()

    def save_diagnostics(self, step_dir):
        """Keeps what explains a failed step: the flows with their counters,
        port counters, datapath flows, and each pod's link and neighbours."""
        sb = self.sandbox
        for name, cmd in (
                ("dump-flows", ["ovs-ofctl", "-O", "OpenFlow15", "dump-flows", "br-int"]),
                ("dump-ports", ["ovs-ofctl", "-O", "OpenFlow15", "dump-ports", "br-int"]),
                ("dpctl-dump-flows", ["ovs-appctl", "dpctl/dump-flows", "-m"]),
                ("conntrack", ["ovs-appctl", "dpctl/dump-conntrack"])):
            try:
                p = run(cmd, env=sb.env, check=False)
                with open(os.path.join(step_dir, name), "w") as f:
                    f.write(p.stdout + p.stderr)
            except Exception as e:
                log("run-cases: %s: %s" % (name, e))
        if self.daemon:
            with open(os.path.join(step_dir, "daemon-status"), "w") as f:
                f.write(self.daemon.status() + "\n")
        with open(os.path.join(step_dir, "pods"), "w") as f:
            for key, pod in sorted(sb.pods.items()):
                f.write("== %s %s\n" % (key, pod))
                for cmd in (["ip", "-n", pod["netns"], "-s", "link", "show", "eth0"],
                            ["ip", "-n", pod["netns"], "neigh"],
                            ["ip", "-n", sb.env.get("NP_SANDBOX_NETNS", ""), "-s",
                             "link", "show", pod["port"]]):
                    p = run(cmd, check=False)
                    f.write(p.stdout + p.stderr)

    # The parts of a step that depend on the bed; tests/multinode overrides
    # them for pods spread over several switches.

    def place_pods(self, want, pods):
        """want: {"ns/pod": [ips]} of the pods that get a netns; pods: every
        pod object of the step, by key."""
        self.sandbox.reconcile(want)

    def pod_table(self):
        """{"ns/pod": {"netns", "ips", ...}} of the pods with a netns."""
        return self.sandbox.pods

    def flush_conntrack(self):
        self.sandbox.flush_conntrack()

    def load_step(self, res, cluster, cluster_file, step_dir, si, timing):
        """The step's table onto the switch, purged and flushed."""
        if self.daemon:
            timing["compile"] = 0.0
            t = time.monotonic()
            self.daemon_load(res, cluster, step_dir, si, timing)
            timing["load"] = time.monotonic() - t
        else:
            flows, timing["compile"] = self.table_for(cluster_file, step_dir)
            t = time.monotonic()
            self.sandbox.load_table(flows)
            timing["load"] = time.monotonic() - t

    def run_case(self, path):
        """Returns a result dict; never raises for a case's own failure."""
        name = os.path.splitext(os.path.basename(path))[0]
        res = {"name": name, "path": path, "steps": [], "mismatches": [],
               "probes": 0, "skipped": 0, "refused": 0, "warnings": [],
               "error": None, "time": 0.0}
        self.warnings = res["warnings"]
        t0 = time.monotonic()
        try:
            case = load_file(path)
            cluster = Cluster(self.model)
            case_dir = os.path.join(self.dir, "cases", name)
            os.makedirs(case_dir, exist_ok=True)
            for si, step in enumerate(case.get("steps") or []):
                self.run_step(res, cluster, step, si, case_dir)
        except CompileError as e:
            res["error"] = str(e)
        except SetupError as e:
            res["error"] = str(e)
            try:                        # a broken sandbox must not spoil the next case
                self.restart()
            except Exception as e2:
                res["error"] += "; restart failed: %s" % e2
        except Exception as e:          # bug in the case file or in us
            res["error"] = "%s: %s" % (type(e).__name__, e)
        res["time"] = time.monotonic() - t0
        return res

    def run_step(self, res, cluster, step, si, case_dir):
        timing = {}
        t = time.monotonic()
        cluster.apply(step.get("apply") or [])
        cluster.delete(step.get("delete") or [])
        pods = cluster.pods()

        # Pods with a netns: one per address (the first pod in the list keeps it).
        want, owner = {}, {}
        for key, pod in pods.items():
            if not pod_has_netns(pod):
                continue
            ips = pod_ips(pod)
            clash = [ip for ip in ips if ip in owner]
            if clash:
                log("run-cases: %s: %s has address %s of %s; it gets no netns"
                    % (res["name"], key, clash[0], owner[clash[0]]))
                continue
            for ip in ips:
                owner[ip] = key
            want[key] = ips
        self.place_pods(want, pods)
        timing["pods"] = time.monotonic() - t

        # Probes, and the listeners they need.
        probes = step.get("probes") or []
        plan = []                       # (index, probe, src netns, src ip, dst ip)
        listen = {k: set(container_ports(pods[k])) for k in want}
        table = self.pod_table()
        for i, pr in enumerate(probes):
            src, dst = table.get(pr["from"]), table.get(pr["to"])
            ips = pick_ips(pr, src["ips"], dst["ips"]) if src and dst else None
            if not ips:
                res["skipped"] += 1
                log("run-cases: %s step %d: cannot probe %s -> %s (no netns or "
                    "no common address family); skipped" % (res["name"], si + 1,
                                                             pr["from"], pr["to"]))
                continue
            listen[pr["to"]].add((int(pr["port"]), pr["protocol"].upper()))
            plan.append((i, pr, src["netns"], ips[0], ips[1]))
        t = time.monotonic()
        lines = []
        for key, ports in listen.items():
            for proto in ("TCP", "UDP", "SCTP"):
                ps = sorted(p for p, pr in ports if pr == proto)
                if ps:
                    lines.append("%s %s %s" % (table[key]["netns"],
                                               proto.lower(), " ".join(map(str, ps))))
        self.server.load(lines)
        timing["listen"] = time.monotonic() - t

        # The table.
        step_dir = os.path.join(case_dir, "step-%d" % (si + 1))
        os.makedirs(step_dir, exist_ok=True)
        cluster_file = os.path.join(step_dir, "cluster.json")
        with open(cluster_file, "w") as f:
            json.dump(cluster.as_list(), f, indent=1)
        self.load_step(res, cluster, cluster_file, step_dir, si, timing)

        # Rounds: every TCP and UDP probe in round 0; SCTP probes spread so
        # that no round has two on the same unordered address pair.  A round
        # lasts until its last verdict, so a round with a denied probe costs a
        # whole timeout and one with only allowed probes a few milliseconds:
        # SCTP probes expected to be denied are placed first, so they share
        # the fewest rounds.  This uses "allowed" for timing only: a wrong
        # expectation makes a round slower, never a verdict different.
        listened = {p for ports in listen.values() for p, _ in ports}
        rounds, used = [[]], [set()]
        for item in sorted(plan, key=lambda it: (it[1]["protocol"].upper() == "SCTP",
                                                 it[1]["allowed"] is True)):
            i, pr, ns, sip, dip = item
            proto = pr["protocol"].upper()
            if proto != "SCTP":
                rounds[0].append(item)
                continue
            pair = frozenset((sip, dip))
            r = 0
            while r < len(rounds) and pair in used[r]:
                r += 1
            if r == len(rounds):
                rounds.append([])
                used.append(set())
            rounds[r].append(item)
            used[r].add(pair)
        t = time.monotonic()
        results = {}
        drops = softnet_drops()
        fulls = neigh_stat("arp_cache")[1] + neigh_stat("ndisc_cache")[1]
        for r, items in enumerate(rounds):
            if not items:
                continue
            if r > 0:
                self.flush_conntrack()
            spec = os.path.join(step_dir, "probes-%d" % r)
            with open(spec, "w") as f:
                for i, pr, ns, sip, dip in items:
                    f.write("%d %s %s %s %d %d\n" % (
                        i, ns, pr["protocol"].lower(), dip, int(pr["port"]),
                        self.next_sport(ns, sip, listened)))
            p = run([self.args.probe, "probe", "--spec", spec,
                     "--timeout-ms", str(self.args.timeout_ms)], timeout=120)
            with open(spec + ".out", "w") as f:
                f.write(p.stdout)
            for line in p.stdout.splitlines():
                w = line.split(None, 3)
                results[int(w[0])] = (w[1], w[2], w[3] if len(w) > 3 else "")
        timing["probe"] = time.monotonic() - t
        fulls = neigh_stat("arp_cache")[1] + neigh_stat("ndisc_cache")[1] - fulls
        if fulls:
            res["warnings"].append("step %d: the kernel's neighbour table overflowed "
                                   "%d times while probing (gc_thresh3, shared by "
                                   "every netns): a denied verdict may be a lost "
                                   "packet; use fewer --jobs" % (si + 1, fulls))
        drops = softnet_drops() - drops
        if drops:
            res["warnings"].append("step %d: the kernel dropped %d packets (backlog) "
                                   "while probing: a denied verdict may be a lost "
                                   "packet" % (si + 1, drops))
        timing["rounds"] = len([r for r in rounds if r])

        bad = 0
        for i, pr, ns, sip, dip in plan:
            got, ms, detail = results.get(i, ("error", "0", "no result"))
            if got in ("connected", "refused"):
                ok = pr["allowed"] is True
                verdict = "allowed" if got == "connected" else "allowed(refused)"
            elif got == "timeout":
                ok = pr["allowed"] is False
                verdict = "denied"
            else:
                ok = False
                verdict = "error:" + detail
            res["probes"] += 1
            if got == "refused":
                # every probed port has a listener: the bed lost one
                res["refused"] += 1
            if not ok:
                bad += 1
                res["mismatches"].append(
                    (si + 1, pr["from"], pr["to"], int(pr["port"]),
                     pr["protocol"].upper(),
                     "allowed" if pr["allowed"] else "denied", verdict,
                     "%s -> %s" % (sip, dip)))
        if bad:
            self.save_diagnostics(step_dir)
        res["steps"].append({"step": si + 1, "probes": len(plan), "bad": bad,
                             **{k: round(v, 3) if isinstance(v, float) else v
                                for k, v in timing.items()}})


# ---- main ------------------------------------------------------------------

def find_cases(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(f for f in glob.glob(os.path.join(p, "*"))
                            if f.endswith((".json", ".yaml", ".yml"))
                            and os.path.basename(f) != "model.json")
        else:
            files.append(p)
    return files


def report(res, args, out):
    n_steps = len(res["steps"])
    ok = not res["error"] and not res["mismatches"]
    head = "%s %s (%d step%s, %d probes, %.1f s%s)" % (
        "PASS" if ok else "FAIL", res["name"], n_steps, "" if n_steps == 1 else "s",
        res["probes"], res["time"],
        (", %d skipped" % res["skipped"] if res["skipped"] else "")
        + (", %d refused: a listener was missing" % res["refused"]
           if res["refused"] else ""))
    lines = [head]
    if args.verbose:
        for s in res["steps"]:
            if "sync" in s:     # --daemon
                lines.append("    step %d: %d probes in %d round(s); pods %.2f s, "
                             "listen %.2f s, write+sync %.3f s, load %.2f s, "
                             "probe %.2f s%s"
                             % (s["step"], s["probes"], s.get("rounds", 0), s["pods"],
                                s["listen"], s["sync"], s["load"], s["probe"],
                                ", %d mismatches" % s["bad"] if s["bad"] else ""))
                continue
            lines.append("    step %d: %d probes in %d round(s); pods %.2f s, "
                         "listen %.2f s, compile %.2f s, load %.2f s, probe %.2f s%s"
                         % (s["step"], s["probes"], s.get("rounds", 0), s["pods"],
                            s["listen"], s["compile"], s["load"], s["probe"],
                            ", %d mismatches" % s["bad"] if s["bad"] else ""))
    if res["error"]:
        lines.append("    error: %s" % res["error"])
    for w in res.get("warnings", []):
        lines.append("    warning: %s" % w)
    mm = res["mismatches"]
    for m in mm[:args.max_print]:
        lines.append("    step %d: %s -> %s %d/%s: expected %s, got %s (%s)" % m)
    if len(mm) > args.max_print:
        lines.append("    ... and %d more mismatches" % (len(mm) - args.max_print))
    out.write("\n".join(lines) + "\n")
    out.flush()


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*",
                    help="case files or directories (default: tests/cases)")
    ap.add_argument("--model", default=DEFAULT_MODEL,
                    help="the cluster in force before step 1 (default: %(default)s)")
    ap.add_argument("--compile", default=os.environ.get(
        "NP_COMPILE", "./ovs-netpol compile"),
        help="compiler command; {file}, {ports} and {out} are replaced if present, "
             "else '--ports PORTS FILE' is appended and the flows are read from "
             "stdout (env NP_COMPILE; default: %(default)s)")
    ap.add_argument("--table", default=os.environ.get("NP_TABLE"),
                    help="load a fixed table instead of compiling: allow-all, "
                         "deny-all, or a file of flows (self-check)")
    ap.add_argument("--daemon", action="store_true",
                    help="the flows come from ovs-netpold, one per sandbox, "
                         "following a directory that each step rewrites "
                         "(then 'sync'), instead of from the compiler")
    ap.add_argument("--daemon-bin", default=os.environ.get("NP_DAEMON", "./ovs-netpold"),
                    help="with --daemon: the daemon (env NP_DAEMON; default: "
                         "%(default)s)")
    ap.add_argument("--daemon-args", default=os.environ.get(
        "NP_DAEMON_ARGS", "--log-level debug"),
        help="with --daemon: more options for it (env NP_DAEMON_ARGS; "
             "default: %(default)s); its log is WORKDIR/wN/ovs-netpold.log")
    ap.add_argument("--nodes", type=int, metavar="N",
                    default=int(os.environ.get("NP_E2E_NODES", "1")),
                    help="N > 1: every case on N nodes (tests/multinode/corpus.py): "
                         "its pods spread round-robin, one ovs-netpold per node, all "
                         "following one API server stand-in; implies --daemon "
                         "(env NP_E2E_NODES; default: %(default)s)")
    ap.add_argument("--probe", default=os.environ.get("NP_PROBE", "tests/np-probe"),
                    help="the np-probe binary (env NP_PROBE; default: %(default)s)")
    ap.add_argument("--timeout-ms", type=int,
                    default=int(os.environ.get("NP_PROBE_TIMEOUT_MS", "900")),
                    help="a probe without an answer by then is denied; below "
                         "1000 the first packet alone decides (TCP retransmits "
                         "its SYN after 1 s) (env NP_PROBE_TIMEOUT_MS; "
                         "default: %(default)s)")
    ap.add_argument("-j", "--jobs", type=int,
                    default=int(os.environ.get("NP_E2E_JOBS", "4")),
                    help="sandboxes running cases in parallel (default: %(default)s)")
    ap.add_argument("--workdir", default=os.environ.get("NP_E2E_DIR"),
                    help="where sandboxes and artifacts go (default: a new "
                         "directory under $TMPDIR, removed unless a case fails)")
    ap.add_argument("--keep", action="store_true",
                    help="leave the sandboxes running and the workdir in place")
    ap.add_argument("--max-print", type=int, default=25,
                    help="mismatches printed per case (default: %(default)s)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="per-step timings")
    ap.add_argument("--raise-neigh-limit", type=int, metavar="N",
                    default=int(os.environ.get("NP_E2E_NEIGH_LIMIT", "0")),
                    help="raise the kernel's neighbour table limit "
                         "(net.ipv4/ipv6.neigh.default.gc_thresh3, shared by "
                         "every netns and 1024 by default, which caps --jobs at 4) "
                         "to N for the run, restoring it at the end "
                         "(env NP_E2E_NEIGH_LIMIT)")
    ap.add_argument("--json", help="write every result to this file")
    args = ap.parse_args()

    if os.geteuid() != 0:
        log("run-cases: needs root (network namespaces, Open vSwitch)")
        return 2
    paths = args.cases or [os.path.join(TOP, "tests", "cases")]
    files = find_cases(paths)
    if not files:
        log("run-cases: no case files in %s" % " ".join(paths))
        return 2
    args.probe = os.path.abspath(args.probe)
    if not os.access(args.probe, os.X_OK):
        log("run-cases: %s is not built" % args.probe)
        return 2
    if args.table and args.table not in FIXED_TABLES and not os.path.isfile(args.table):
        log("run-cases: --table %s: no such table or file" % args.table)
        return 2
    if args.nodes < 1 or args.nodes > 200:
        log("run-cases: --nodes %d: a number from 1 to 200" % args.nodes)
        return 2
    worker_cls = None
    if args.nodes > 1:
        args.daemon = True
        sys.path.insert(0, os.path.join(TOP, "tests", "multinode"))
        import corpus
        worker_cls = corpus.worker_class(sys.modules[__name__])
    if args.daemon:
        if args.table:
            log("run-cases: --daemon and --table exclude each other")
            return 2
        args.daemon_bin = os.path.abspath(args.daemon_bin)
        if not os.access(args.daemon_bin, os.X_OK):
            log("run-cases: %s is not built" % args.daemon_bin)
            return 2
    elif not args.table:
        exe = shlex.split(args.compile)[0]
        if "/" in exe and not os.access(exe, os.X_OK):
            log("run-cases: compiler %s is not built" % exe)
            return 2

    restore = {}
    if args.raise_neigh_limit:
        for fam in ("ipv4", "ipv6"):
            path = "/proc/sys/net/%s/neigh/default/gc_thresh3" % fam
            try:
                with open(path) as f:
                    old = int(f.read())
                if old < args.raise_neigh_limit:
                    with open(path, "w") as f:
                        f.write(str(args.raise_neigh_limit))
                    restore[path] = old
            except (OSError, ValueError) as e:
                log("run-cases: %s: %s" % (path, e))
    try:
        return run_all(args, files, worker_cls)
    finally:
        for path, old in restore.items():
            try:
                with open(path, "w") as f:
                    f.write(str(old))
            except OSError as e:
                log("run-cases: restoring %s: %s" % (path, e))


def run_all(args, files, worker_cls=None):
    created = not args.workdir
    base = args.workdir or tempfile.mkdtemp(prefix="np-e2e.")
    os.makedirs(base, exist_ok=True)
    base = os.path.abspath(base)
    jobs = max(1, min(args.jobs, len(files)))
    limit = neigh_jobs_limit()
    if jobs > limit:
        log("run-cases: %d sandboxes would overflow the kernel's neighbour table "
            "(net.ipv4.neigh.default.gc_thresh3); using %d" % (jobs, limit))
        jobs = limit
    worker_cls = worker_cls or Worker
    workers = [worker_cls(i, base, args) for i in range(jobs)]

    def on_signal(sig, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    todo = queue.Queue()
    for i, f in enumerate(files):
        todo.put((i, f))
    results = [None] * len(files)
    done = threading.Condition()
    t_start = time.monotonic()

    def work(w):
        try:
            w.start()
        except Exception as e:
            err = "worker %d setup: %s" % (w.idx, e)
            log("run-cases: " + err)
            w.stop()
            w.failed = err
            return
        while True:
            try:
                i, f = todo.get_nowait()
            except queue.Empty:
                return
            r = w.run_case(f)
            with done:
                results[i] = r
                done.notify_all()

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in workers]
    printed = 0
    interrupted = False
    try:
        for t in threads:
            t.start()
        while printed < len(files):
            with done:
                while results[printed] is None:
                    if not any(t.is_alive() for t in threads):
                        break
                    done.wait(0.5)
            if results[printed] is None:
                # every worker died: the rest cannot run
                for i in range(printed, len(files)):
                    results[i] = {"name": os.path.splitext(os.path.basename(files[i]))[0],
                                  "path": files[i], "steps": [], "mismatches": [],
                                  "probes": 0, "skipped": 0, "refused": 0,
                                  "warnings": [], "time": 0.0,
                                  "error": "not run: %s" % "; ".join(
                                      getattr(w, "failed", "worker stopped")
                                      for w in workers)}
            report(results[printed], args, sys.stdout)
            printed += 1
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        interrupted = True
        log("run-cases: interrupted, cleaning up")
    finally:
        for w in workers:
            try:
                w.stop()
            except Exception as e:
                log("run-cases: stop worker %d: %s" % (w.idx, e))

    daemon_ok = daemon_summary(args, workers, results)
    if hasattr(worker_cls, "summary"):
        daemon_ok = worker_cls.summary(args, workers, results) and daemon_ok

    done_results = [r for r in results if r is not None]
    passed = sum(1 for r in done_results if not r["error"] and not r["mismatches"])
    failed = len(files) - passed
    n_probes = sum(r["probes"] for r in done_results)
    n_mm = sum(len(r["mismatches"]) for r in done_results)
    n_skip = sum(r["skipped"] for r in done_results)
    n_refused = sum(r.get("refused", 0) for r in done_results)
    n_err = sum(1 for r in done_results if r["error"])
    elapsed = time.monotonic() - t_start
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": done_results, "elapsed": elapsed,
                       "table": args.table or "compiled"}, f, indent=1)
    keep = args.keep or failed or interrupted
    if created and not keep:
        shutil.rmtree(base, ignore_errors=True)
    keep = keep and (created or args.keep)  # else the caller owns the workdir
    print("total: %d cases, %d probes, %d mismatches, %d skipped, %d refused, "
          "%d case errors, %.1f s with %d sandbox(es)%s" % (
              len(files), n_probes, n_mm, n_skip, n_refused, n_err, elapsed, jobs,
              "; artifacts in %s" % base if keep else ""))
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    return 0 if failed == 0 and daemon_ok and not interrupted else 1


def daemon_summary(args, workers, results):
    """--daemon: prints how every daemon stopped and the sync latencies;
    returns False when a daemon did not stop cleanly."""
    if not args.daemon:
        return True
    ok = True
    for w in workers:
        for good, msg in w.daemon_stops:
            print("daemon w%d: %s%s" % (w.idx, "" if good else "FAILED: ", msg))
            ok = ok and good
    syncs = [s["sync"] for r in results if r for s in r["steps"] if "sync" in s]
    late = sum(r.get("late_bindings", 0) for r in results if r)
    bound = sum(s.get("bindings", 0) for r in results if r for s in r["steps"])
    commits = []
    for w in workers:
        for path in getattr(w, "daemon_logs", None) or \
                [os.path.join(w.dir, "ovs-netpold.log")]:
            try:
                with open(path) as f:
                    for line in f:
                        m = re.search(r"(?:committed \d+ flow changes|installed \d+ "
                                      r"flows as generation \d+ in one bundle) "
                                      r"\((\d+\.\d+) s\)", line)
                        if m:
                            commits.append(float(m.group(1)))
            except OSError:
                pass
    ms = lambda v: "%.1f ms" % (v * 1000)
    print("daemon: %d steps synced; file write to flows committed (sync "
          "answered): p50 %s, p90 %s, p99 %s, max %s; %d pod addresses found "
          "spoof-guarded by in_port, %d steps whose port bindings came after "
          "the sync" % (
              len(syncs), ms(percentile(syncs, 50)), ms(percentile(syncs, 90)),
              ms(percentile(syncs, 99)), ms(max(syncs) if syncs else 0), bound,
              late))
    if commits:
        print("daemon: %d bundles in the logs; bundle request to commit: p50 %s, "
              "p99 %s, max %s" % (len(commits), ms(percentile(commits, 50)),
                                  ms(percentile(commits, 99)), ms(max(commits))))
    return ok


if __name__ == "__main__":
    sys.exit(main())
