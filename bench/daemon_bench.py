#!/usr/bin/env python3
"""daemon_bench.py - how fast ovs-netpold follows the Kubernetes API.

Run through bench/daemon-bench.sh; bench/README.md ("daemon-bench.sh")
explains every figure.  In short, on a cluster of gen_cluster.py (--mix old
or broad, --size 10k or 50k, or --cluster FILE; default the old mix's
10,000 pods on 50 nodes, 1,000 policies) served by
tests/kube-apiserver-sim, with ovs-netpold as node-1 on ovs/sandbox.sh's
userspace switch, playing the events of the cluster's churn description
(gen_cluster.py --churn-for):

  startup     daemon start -> first `ovs-netpol sync` returns; flows; RSS
  pod-add, pod-delete, pod-relabel, pod-relabel-peer, ns-relabel,
  policy-add, policy-delete, policy-add-broad, policy-delete-broad
              N single events, one at a time; each measured three ways:
                sync:   API write returned -> `ovs-netpol sync` returned
                commit: API write returned -> the daemon's log line
                        "committed N flow changes" (same clock)
                daemon: the daemon's own figure, input -> committed: per
                        event from its debug log, and per series from
                        `status` ("realization"), each series on a fresh
                        daemon so that its histogram holds that series only
  storm       --storm relabels written concurrently over keep-alive
              connections, then sync; first write -> flows committed
  storm-bulk  the reverse relabels as one POST /sim/load (one burst of
              watch events)
  sync-as-is  a few relabels followed by a plain `sync` (no forced
              bookmark): shows what sync costs today (see README)
  memory      daemon VmRSS/VmHWM, ovs-vswitchd VmRSS/VmHWM

Python 3 standard library only.  Everything it starts it stops by PID; the
sandbox's network namespaces are deleted by `sandbox.sh stop`.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "image"))
import clusters     # noqa: E402
import podman_daemon  # noqa: E402
TOP = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")
SIM = os.path.join(TOP, "tests", "kube-apiserver-sim")
NODE = "node-1"
TOKEN = "daemon-bench-token"

# Reference figures, reported beside ours (never asserted).
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 100.0
TARGET_STORM_S = 1.0
OVN_OWN_CLUSTER = {"pod-relabel": 1.5, "policy-add": 0.08}   # ../shared/peers/ovn/README.md
# The single-event series, in the order they run (a delete series removes
# what its add series added).
SERIES = ["pod-add", "pod-delete", "pod-relabel", "pod-relabel-peer", "ns-relabel",
          "policy-add", "policy-delete", "policy-add-broad", "policy-delete-broad"]


def say(msg):
    sys.stderr.write("[daemon-bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# Statistics: the daemon's own convention (src/installer.c,
# installer_get_latency()): sorted v, p50 = v[(n-1)/2], p99 = v[floor((n-1)*0.99)].

def pct(values, q):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    return v[int((len(v) - 1) * q)]


def summary(values):
    v = [x for x in values if x is not None]
    if not v:
        return {"n": 0}
    return {"n": len(v), "p50": round(pct(v, 0.5), 2), "p99": round(pct(v, 0.99), 2),
            "max": round(max(v), 2), "mean": round(sum(v) / len(v), 2)}


# ---------------------------------------------------------------------------
# The cluster file and its churn description (bench/clusters.py and
# gen_cluster.py --churn-for: which events to play, chosen by a model of
# the compiler's selection and the engine's invalidation).

class Cluster:
    def __init__(self, path, churn_path):
        with open(path) as f:
            doc = json.load(f)
        self.items = doc["items"]
        self.namespaces = [o for o in self.items if o["kind"] == "Namespace"]
        self.pods = [o for o in self.items if o["kind"] == "Pod"]
        self.policies = [o for o in self.items if o["kind"] == "NetworkPolicy"]
        self.pod_by_key = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in self.pods}
        self.local = sorted((p for p in self.pods if p["spec"].get("nodeName") == NODE),
                            key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))
        with open(churn_path) as f:
            self.churn = json.load(f)
        if self.churn.get("node") != NODE:
            raise BenchError("%s describes churn for %s, not %s" % (churn_path, self.churn.get("node"), NODE))


# ---------------------------------------------------------------------------
# The API (kube-apiserver-sim): HTTPS, bearer token, keep-alive.

class Api:
    def __init__(self, host, port, cafile):
        self.host, self.port = host, port
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def call(self, method, path, body=None, ctype="application/json"):
        data = None
        headers = {"Authorization": "Bearer " + TOKEN, "Accept": "application/json",
                   "User-Agent": "daemon-bench"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                            timeout=120)
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                try:
                    obj = json.loads(raw) if raw else None
                except ValueError:
                    obj = None
                return r.status, obj
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise

    def must(self, method, path, body=None, ctype="application/json", ok=(200, 201)):
        st, obj = self.call(method, path, body, ctype)
        if st not in ok:
            raise BenchError("%s %s: HTTP %s: %s" % (method, path, st,
                                                     (obj or {}).get("message", obj)))
        return obj


class StormConn:
    """One keep-alive HTTPS connection for the storm: sends a prepared
    request (the bytes Api.call's http.client sends) and reads the whole
    response.  With http.client the storm's writer took 0.25-0.37 ms of CPU
    per PATCH (its response headers go through the email package), with
    this 0.08-0.10 ms: on 2 cores shared with the simulator and the daemon,
    CPU that the measured parts get back."""

    def __init__(self, host, port, ctx):
        self.host, self.port, self.ctx = host, port, ctx
        self.sock = self.rfile = None

    def connect(self):
        raw = socket.create_connection((self.host, self.port), timeout=120)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.ctx.wrap_socket(raw, server_hostname=self.host)
        self.rfile = self.sock.makefile("rb")

    def close(self):
        if self.sock:
            self.rfile.close()
            self.sock.close()
            self.sock = self.rfile = None

    def prepare(self, method, path, body, ctype):
        head = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (self.host, self.port),
                "Accept-Encoding: identity", "Content-Length: %d" % len(body),
                "Authorization: Bearer " + TOKEN, "Accept: application/json",
                "User-Agent: daemon-bench", "Content-Type: " + ctype, "", ""]
        return "\r\n".join(head).encode("latin-1") + body

    def request(self, data):
        """Returns (status, body); reconnects once if the server had closed
        the connection."""
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self.connect()
                self.sock.sendall(data)
                return self._response()
            except (OSError, BenchError):
                self.close()
                if attempt:
                    raise

    def _response(self):
        f = self.rfile
        words = f.readline(65537).split(None, 2)
        if len(words) < 2 or not words[0].startswith(b"HTTP/1."):
            raise BenchError("bad status line %r" % words)
        status, length, chunked, close = int(words[1]), None, False, False
        while True:
            line = f.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            parts = []
            while True:
                n = int(f.readline(65537).split(b";")[0], 16)
                if n == 0:
                    while f.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(f.read(n))
                f.readline(65537)
            body = b"".join(parts)
        elif length is not None:
            body = f.read(length)
        else:
            body, close = f.read(), True
        if close:
            self.close()
        return status, body


def pod_path(ns, name=None):
    return "/api/v1/namespaces/%s/pods%s" % (ns, "/" + name if name else "")


def ns_path(name):
    return "/api/v1/namespaces/%s" % name


def pol_path(ns, name=None):
    return "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies%s" % (
        ns, "/" + name if name else "")


# ---------------------------------------------------------------------------
# The daemon and its log.

LOG_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z (\w+) ([^:]+): (.*)$")
REC_RE = re.compile(r"recomputed (\d+) flows in ([\d.]+) ms \((.*)\)$")
COM_RE = re.compile(r"committed (\d+) flow changes \(([\d.]+) s\)")
INST_RE = re.compile(r"installed (\d+) flows as generation (\d+) in one bundle \(([\d.]+) s\)")


def log_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class LogTail:
    """The daemon's stderr, read incrementally; lines as (epoch, level,
    module, message)."""

    def __init__(self, path):
        self.path, self.pos, self.rest = path, 0, ""

    def read(self):
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        self.pos += len(data)
        lines = (self.rest + data.decode("utf-8", "replace")).split("\n")
        self.rest = lines.pop()
        out = []
        for line in lines:
            m = LOG_RE.match(line)
            if m:
                out.append((log_ts(m.group(1)), m.group(2), m.group(3), m.group(4)))
        return out


def realization(lines):
    """Engine runs and commits in 'lines': the daemon's input -> committed
    time, from the start of the first run (log time of "recomputed" minus
    its run time) to the last commit."""
    runs, commits = [], []
    for ts, level, module, msg in lines:
        m = REC_RE.search(msg)
        if m and module == "engine":
            runs.append((ts - float(m.group(2)) / 1e3, float(m.group(2)), m.group(3)))
            continue
        m = COM_RE.search(msg)
        if m and module == "switch":
            commits.append((ts, int(m.group(1)), float(m.group(2))))
    r = {"runs": len(runs), "commits": len(commits),
         "flow_changes": sum(c[1] for c in commits),
         "run_ms": [x[1] for x in runs], "bundle_s": [c[2] for c in commits]}
    if runs:
        r["first_input"] = min(x[0] for x in runs)
    if commits:
        r["last_commit"] = max(c[0] for c in commits)
    if runs and commits:
        r["daemon_ms"] = (r["last_commit"] - r["first_input"]) * 1e3
    return r


def parse_status(text):
    s = {"raw": text}
    m = re.search(r"objects: (\d+) namespaces, (\d+) pods \((\d+) on this node\), (\d+) networkpolicies", text)
    if m:
        s.update(namespaces=int(m.group(1)), pods=int(m.group(2)), local_pods=int(m.group(3)),
                 policies=int(m.group(4)))
    m = re.search(r"flows: (\d+) desired, (\d+) installed", text)
    if m:
        s.update(flows_desired=int(m.group(1)), flows_installed=int(m.group(2)))
    m = re.search(r"(\d+) ports bound", text)
    if m:
        s["ports_bound"] = int(m.group(1))
    m = re.search(r"engine: (\d+) runs", text)
    if m:
        s["engine_runs"] = int(m.group(1))
    m = re.search(r"commits: (\d+) \((\d+) full replaces, (\d+) flow changes, (\d+) failed\)", text)
    if m:
        s.update(commits=int(m.group(1)), replaces=int(m.group(2)), flow_changes=int(m.group(3)),
                 commit_failures=int(m.group(4)))
    m = re.search(r"realization \(input -> committed\): (\d+) batches, p50 ([\d.]+) ms, "
                  r"p99 ([\d.]+) ms, max ([\d.]+) ms", text)
    if m:
        s["realization"] = {"batches": int(m.group(1)), "p50": float(m.group(2)),
                            "p99": float(m.group(3)), "max": float(m.group(4))}
    elif "realization" in text:
        s["realization"] = {"batches": 0}
    m = re.search(r"^incremental: (.*)$", text, re.M)
    if m:
        s["incremental"] = m.group(1)
    m = re.search(r"^last error: (.*)$", text, re.M)
    if m:
        s["last_error"] = m.group(1)
    return s


def proc_cpu_s(pid):
    """User + system CPU seconds of 'pid' so far."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))
    except (OSError, IndexError, ValueError):
        return None


def proc_mem(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


class Daemon:
    def __init__(self, bench, n):
        self.b = bench
        self.n = n
        self.control = os.path.join(bench.work, "ctl.%d" % n)
        self.logpath = os.path.join(bench.work, "daemon.%d.log" % n)
        self.proc = None

    def start(self):
        b = self.b
        argv = [b.daemon_bin, "--kubeconfig", b.kubeconfig, "--ovs-rundir", b.rundir,
                "--node", NODE, "--control", self.control, "--log-level", "debug",
                "--drift-interval", str(b.args.drift_interval),
                # The table is checked against `ovs-netpol compile`, which
                # knows no node address; this host's own are not the
                # sandbox node's anyway.
                "--node-address", "none"]
        self.container = None
        if b.args.launcher == "podman":
            # From the image as the DaemonSet runs it; the work directory
            # (kubeconfig, CA, control socket) at its own path.
            self.container = "np-bench-%d-%d" % (os.getpid(), self.n)
            podman_daemon.remove(self.container)
            os.makedirs(os.path.join(b.work, "run-ovs-netpol"), exist_ok=True)
            argv = podman_daemon.command(self.container, argv[1:], b.rundir,
                                         os.path.join(b.work, "run-ovs-netpol"),
                                         rw_mounts=[(b.work, b.work)])
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.logf)
        self.pid = self.proc.pid
        if self.container:
            self.pid = podman_daemon.host_pid(self.container) or self.pid
        self.log = LogTail(self.logpath)
        b.pids.append(self.proc)

    def ctl(self, *words, timeout=None):
        return subprocess.run([self.b.cli_bin, "--control", self.control] + list(words),
                              capture_output=True, text=True, timeout=timeout)

    def status(self):
        r = self.ctl("status", timeout=30)
        if r.returncode:
            raise BenchError("status: %s" % (r.stdout + r.stderr).strip())
        return parse_status(r.stdout)

    def sync(self, timeout):
        t0 = time.perf_counter()
        r = self.ctl("sync", "--timeout", str(timeout), timeout=timeout + 30)
        return r.returncode == 0, time.perf_counter() - t0, (r.stdout + r.stderr).strip()

    def mem(self):
        return proc_mem(self.pid)

    def alive(self):
        return self.proc and self.proc.poll() is None

    def stop(self):
        if self.container and self.proc:
            podman_daemon.stop(self.proc, self.container)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()


# ---------------------------------------------------------------------------

def git_rev():
    try:
        rev = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip() or "none"
        dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain", "--", "src", "include"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return "none"


def sha256_short(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


def mb(kb):
    return None if kb is None else round(kb / 1024.0, 1)


class Bench:
    def __init__(self, args):
        self.args = args
        self.pids = []
        self.daemons = []
        self.daemon = None
        self.sim = None
        self.sandbox_started = False
        self.results = []
        self.notes = []

    # -- setup ---------------------------------------------------------
    def ensure_cluster(self):
        a = self.args
        cl = clusters.ensure(a.mix, a.size, a.seed, regen=a.regen, path=a.cluster,
                             events=max(100, a.events), storm=max(1000, a.storm),
                             say=lambda m: say("generating: " + m))
        self.cluster_name = cl.name
        self.cluster_path = cl.path
        self.churn_path = cl.churn
        self.cluster = Cluster(cl.path, cl.churn)

    def setup(self):
        a = self.args
        self.work = tempfile.mkdtemp(prefix="daemon-bench.")
        say("work directory %s" % self.work)
        # Private copies: others may rebuild the tree while we measure.
        self.daemon_bin = os.path.join(self.work, "ovs-netpold")
        self.cli_bin = os.path.join(self.work, "ovs-netpol")
        shutil.copy2(a.daemon, self.daemon_bin)
        shutil.copy2(a.cli, self.cli_bin)
        self.rev = git_rev()
        self.bin_sha = sha256_short(self.daemon_bin)

        self.ensure_cluster()
        c = self.cluster
        say("cluster %s: %d namespaces, %d pods (%d on %s), %d policies" % (
            os.path.relpath(self.cluster_path, TOP), len(c.namespaces), len(c.pods),
            len(c.local), NODE, len(c.policies)))

        # The switch, with a port for every node-1 pod (or none).
        self.sb = os.path.join(self.work, "sb")
        self.rundir = os.path.join(self.sb, "run")    # absolute: see README
        self.sandbox_started = True
        subprocess.run([SANDBOX, "start", self.sb], check=True, stdout=subprocess.DEVNULL)
        self.vswitchd_pid = int(open(os.path.join(self.rundir, "ovs-vswitchd.pid")).read())
        self.vswitchd_mem0 = proc_mem(self.vswitchd_pid)
        self.sandbox_pods = 0
        if not a.no_pods:
            t0 = time.time()
            chunk = []
            for p in c.local:
                ip = p["status"].get("podIP")
                if not ip or p["spec"].get("hostNetwork"):
                    continue
                chunk += [p["metadata"]["namespace"], p["metadata"]["name"], ip]
                if len(chunk) >= 3 * 25:
                    subprocess.run([SANDBOX, "add-pod", self.sb] + chunk, check=True)
                    self.sandbox_pods += len(chunk) // 3
                    chunk = []
            if chunk:
                subprocess.run([SANDBOX, "add-pod", self.sb] + chunk, check=True)
                self.sandbox_pods += len(chunk) // 3
            say("sandbox: %d node-1 pods with ports (%.1f s)" % (self.sandbox_pods, time.time() - t0))

        # The API server.
        sim = SIM
        self.sim_patched = False
        self.kubeconfig = os.path.join(self.work, "kubeconfig")
        simout = os.path.join(self.work, "sim.out")
        if a.sim:
            sim = os.path.abspath(a.sim)
        self.sim_path = sim
        argv = [sys.executable, sim, "--listen", "127.0.0.1:0", "--tls-dir",
                os.path.join(self.work, "tls"), "--token", TOKEN, "--kubeconfig-out",
                self.kubeconfig, "--load", self.cluster_path,
                "--bookmark-interval", str(a.bookmark_interval)]
        with open(simout, "w") as so, open(os.path.join(self.work, "sim.err"), "w") as se:
            self.sim = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=so, stderr=se)
        self.pids.append(self.sim)
        deadline = time.time() + 180
        addr = None
        while time.time() < deadline and addr is None:
            if self.sim.poll() is not None:
                raise BenchError("kube-apiserver-sim exited: %s" %
                                 open(os.path.join(self.work, "sim.err")).read()[-2000:])
            m = re.search(r"listening https://([\d.]+):(\d+)", open(simout).read())
            if m:
                addr = (m.group(1), int(m.group(2)))
            else:
                time.sleep(0.1)
        if not addr:
            raise BenchError("kube-apiserver-sim did not start within 180 s")
        self.api_addr = addr
        self.cafile = os.path.join(self.work, "tls", "ca.crt")
        self.api = Api(addr[0], addr[1], self.cafile)
        st = self.api.must("GET", "/sim/state")
        say("kube-apiserver-sim on %s:%d: %s" % (addr[0], addr[1], st.get("objects")))

    # -- daemons -------------------------------------------------------
    def start_daemon(self, purpose):
        """A fresh daemon (unless --one-daemon and one runs); returns the
        startup record."""
        if self.daemon and (self.args.one_daemon or purpose is None):
            return None
        if self.daemon:
            self.daemon_end(self.daemon)
            self.daemon.stop()
        d = Daemon(self, len(self.daemons) + 1)
        self.daemons.append(d)
        self.daemon = d
        t0 = time.perf_counter()
        w0 = time.time()
        d.start()
        # The control socket appears after a few ms; sync needs it.
        while True:
            ok, _, out = d.sync(self.args.startup_timeout)
            if ok:
                break
            if not d.alive():
                raise BenchError("ovs-netpold exited: %s" % open(d.logpath).read()[-3000:])
            if "timed out" in out or time.perf_counter() - t0 > self.args.startup_timeout:
                raise BenchError("startup: sync failed: %s" % out)
            time.sleep(0.005)
        startup_s = time.perf_counter() - t0
        st = d.status()
        mem = d.mem()
        lines = d.log.read()
        rec = {"daemon": d.n, "purpose": purpose, "startup_s": round(startup_s, 3),
               "flows": st.get("flows_installed"), "flows_desired": st.get("flows_desired"),
               "objects": {k: st.get(k) for k in ("namespaces", "pods", "local_pods", "policies")},
               "ports_bound": st.get("ports_bound"),
               "rss_kb": mem.get("VmRSS"), "hwm_kb": mem.get("VmHWM"),
               "startup_batches": (st.get("realization") or {}).get("batches"),
               "vswitchd": proc_mem(self.vswitchd_pid)}
        # Where the time went, from the log.
        for ts, level, module, msg in lines:
            if module == "source" and "initial state received" in msg:
                rec["listed_s"] = round(ts - w0, 3)
            m = INST_RE.search(msg)
            if m and "first_install_s" not in rec:
                rec["first_install_s"] = round(ts - w0, 3)
                rec["install_bundle_s"] = float(m.group(3))
            m = REC_RE.search(msg)
            if m and module == "engine" and "first_run_ms" not in rec:
                rec["first_run_ms"] = float(m.group(2))
        d.start_status = st
        say("daemon %d (%s): synced in %.3f s, %s flows, %s pods (%s local), RSS %.1f MB" % (
            d.n, purpose, startup_s, rec["flows"], st.get("pods"), st.get("local_pods"),
            (mem.get("VmRSS") or 0) / 1024.0))
        self.startups.append(rec)
        return rec

    def daemon_end(self, d):
        d.end_mem = d.mem()
        d.end_status = d.status()

    # -- events --------------------------------------------------------
    def sync_point(self, d, force_bookmark=True):
        """Bookmark (so that idle kinds catch up: see README), then sync."""
        bm = None
        if force_bookmark:
            b0 = time.perf_counter()
            self.api.must("POST", "/sim/fault", {"bookmark": True})
            bm = (time.perf_counter() - b0) * 1e3
        ok, secs, out = d.sync(self.args.sync_timeout)
        if not ok:
            raise BenchError("sync failed: %s" % out)
        return bm

    def single_series(self, name, events):
        """events: list of (description, method, path, body, ctype)."""
        a = self.args
        start = self.start_daemon(name)
        d = self.daemon
        st0 = d.status()
        d.log.read()
        cpu0 = proc_cpu_s(d.pid)
        samples = []
        for desc, method, path, body, ctype in events:
            time.sleep(a.gap)
            d.log.read()
            w0 = time.time()
            p0 = time.perf_counter()
            self.api.must(method, path, body, ctype)
            p1 = time.perf_counter()
            w1 = time.time()
            bm_ms = self.sync_point(d)
            p2 = time.perf_counter()
            r = realization(d.log.read())
            s = {"event": desc, "write_ms": (p1 - p0) * 1e3, "sync_ms": (p2 - p1) * 1e3,
                 "bookmark_ms": bm_ms, "runs": r["runs"], "commits": r["commits"],
                 "flow_changes": r["flow_changes"], "daemon_ms": r.get("daemon_ms"),
                 "run_ms": r["run_ms"][0] if r["run_ms"] else None}
            if "last_commit" in r:
                s["commit_ms"] = (r["last_commit"] - w1) * 1e3
                s["commit_from_write_start_ms"] = (r["last_commit"] - w0) * 1e3
            samples.append(s)
        cpu1 = proc_cpu_s(d.pid)
        st1 = d.status()
        rec = self.series_record(name, samples, st0, st1)
        rec["startup"] = start
        rec["daemon_cpu_ms_per_event"] = round((cpu1 - cpu0) * 1e3 / len(samples), 1)
        self.results.append(rec)
        self.print_series_line(rec)
        return rec

    def series_record(self, name, samples, st0, st1):
        with_commit = [s for s in samples if s["commits"]]
        rec = {"phase": name, "events": len(samples),
               "no_flow_change": sum(1 for s in samples if not s["commits"]),
               "multi_commit": sum(1 for s in samples if s["commits"] > 1),
               "write_ms": summary([s["write_ms"] for s in samples]),
               "bookmark_ms": summary([s["bookmark_ms"] for s in samples]),
               "sync_ms": summary([s["sync_ms"] for s in samples]),
               "commit_ms": summary([s.get("commit_ms") for s in with_commit]),
               "daemon_log_ms": summary([s["daemon_ms"] for s in with_commit]),
               "engine_run_ms": summary([s["run_ms"] for s in samples]),
               # Every event: one that changed no flow counts as 0.
               "flow_changes": summary([s["flow_changes"] for s in samples]),
               "status_before": {k: st0.get(k) for k in ("realization", "engine_runs", "commits")},
               "status_after": {k: st1.get(k) for k in ("realization", "engine_runs", "commits",
                                                         "flows_desired", "flows_installed",
                                                         "incremental")},
               "rss_kb": self.daemon.mem().get("VmRSS"), "hwm_kb": self.daemon.mem().get("VmHWM"),
               "samples": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in s.items()}
                           for s in samples]}
        r0 = (st0.get("realization") or {}).get("batches") or 0
        r1 = st1.get("realization") or {}
        rec["daemon_status"] = dict(r1, exact=(r0 == 0 and not self.args.one_daemon),
                                    batches_in_series=(r1.get("batches") or 0) - r0)
        return rec

    def print_series_line(self, rec):
        def f(x, k):
            v = rec[x].get(k)
            return "-" if v is None else "%.1f" % v
        say("%s: %d events; sync p50 %s p99 %s ms; write->commit p50 %s p99 %s ms; daemon(log) "
            "p50 %s p99 %s ms; daemon(status) %s" % (
                rec["phase"], rec["events"], f("sync_ms", "p50"), f("sync_ms", "p99"),
                f("commit_ms", "p50"), f("commit_ms", "p99"), f("daemon_log_ms", "p50"),
                f("daemon_log_ms", "p99"), rec["daemon_status"]))

    # -- the workloads -------------------------------------------------
    def plan(self):
        """The events of every series, from the churn description."""
        a, c = self.args, self.cluster
        ch = c.churn
        self.series = {}

        def relabels(refs, what):
            """Pod relabels, each pod there and back (the cluster ends as
            it began): refs[0] there, refs[0] back, refs[1] there, ..."""
            out = []
            for i in range(a.events):
                r = refs[(i // 2) % len(refs)]
                v = r["value"] if i % 2 == 0 else r["old"]
                out.append(("%s %s/%s %s=%s" % (what, r["namespace"], r["name"], r["key"], v), "PATCH",
                            pod_path(r["namespace"], r["name"]), {"metadata": {"labels": {r["key"]: v}}},
                            "application/merge-patch+json"))
            return out

        adds = ch["pod_add"][:a.events]
        self.series["pod-add"] = [("add %s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]), "POST",
                                   pod_path(p["metadata"]["namespace"]), p, "application/json")
                                  for p in adds]
        self.series["pod-delete"] = [("delete %s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]),
                                      "DELETE", pod_path(p["metadata"]["namespace"], p["metadata"]["name"]),
                                      {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0},
                                      "application/json") for p in adds]
        if not ch["pod_relabel"]:
            raise BenchError("no node-1 pod has a membership-changing relabel")
        self.series["pod-relabel"] = relabels(ch["pod_relabel"], "relabel")
        if ch["peer_relabel"]:
            self.series["pod-relabel-peer"] = relabels(ch["peer_relabel"], "relabel peer")
        if ch["ns_relabel"]:
            out = []
            for i in range(a.events):
                r = ch["ns_relabel"][(i // 2) % len(ch["ns_relabel"])]
                v = r["value"] if i % 2 == 0 else r["old"]
                out.append(("relabel namespace %s %s=%s" % (r["name"], r["key"], v), "PATCH",
                            ns_path(r["name"]), {"metadata": {"labels": {r["key"]: v}}},
                            "application/merge-patch+json"))
            self.series["ns-relabel"] = out
        for add, dele, key in (("policy-add", "policy-delete", "policy_add"),
                               ("policy-add-broad", "policy-delete-broad", "policy_add_broad")):
            pols = ch[key][:a.events]
            self.series[add] = [("add policy %s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]),
                                 "POST", pol_path(p["metadata"]["namespace"]), p, "application/json")
                                for p in pols]
            self.series[dele] = [("delete policy %s/%s" % (p["metadata"]["namespace"], p["metadata"]["name"]),
                                  "DELETE", pol_path(p["metadata"]["namespace"], p["metadata"]["name"]),
                                  None, "application/json") for p in pols]
        self.relabel_events = self.series["pod-relabel"]
        self.n_relabel_pods = ch["local_relabel_candidates"]

        # The storm: every node-1 relabel, then pods of other nodes.
        self.storm = [(c.pod_by_key[(r["namespace"], r["name"])], r["key"], r["value"])
                      for r in ch["storm"][:a.storm]]
        self.storm_local = sum(1 for p, _, _ in self.storm if p["spec"].get("nodeName") == NODE)

    def run_storm(self):
        a = self.args
        start = self.start_daemon("storm")
        d = self.daemon
        st0 = d.status()
        d.log.read()
        ctype = "application/merge-patch+json"
        # Bodies (and with the raw client whole requests) are made before
        # the clock starts: the writer should cost the machine as little as
        # possible while the simulator and the daemon are measured.
        work = [(pod_path(p["metadata"]["namespace"], p["metadata"]["name"]),
                 json.dumps({"metadata": {"labels": {k: v}}}).encode()) for p, k, v in self.storm]
        lock = threading.Lock()
        nxt = [0]
        times = []
        errors = []
        if a.storm_client == "raw":
            ctx = ssl.create_default_context(cafile=self.cafile)
            conns = [StormConn(self.api_addr[0], self.api_addr[1], ctx) for _ in range(a.threads)]
            work = [conns[0].prepare("PATCH", path, body, ctype) for path, body in work]
            for x in conns:     # connect (TLS handshake) before the clock starts
                x.connect()

            def write(conn, req):
                st, raw = conn.request(req)
                if st not in (200, 201):
                    try:
                        msg = json.loads(raw).get("message")
                    except (ValueError, AttributeError):
                        msg = raw[:200]
                    raise BenchError("PATCH: HTTP %s: %s" % (st, msg))
        else:
            conns = [Api(self.api_addr[0], self.api_addr[1], self.cafile) for _ in range(a.threads)]
            for x in conns:     # connect (TLS handshake) before the clock starts
                x.must("GET", "/version")

            def write(conn, req):
                conn.must("PATCH", req[0], req[1], ctype)
        barrier = threading.Barrier(a.threads + 1)
        cpu0 = proc_cpu_s(d.pid)

        def writer(conn):
            barrier.wait()
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= len(work):
                    return
                t0 = time.time()
                try:
                    write(conn, work[i])
                except Exception as e:          # noqa: BLE001 (reported, not hidden)
                    errors.append(str(e))
                times.append((t0, time.time()))

        threads = [threading.Thread(target=writer, args=(x,)) for x in conns]
        for t in threads:
            t.start()
        time.sleep(0.05)
        wcpu0, scpu0 = os.times(), proc_cpu_s(self.sim.pid)
        barrier.wait()
        for t in threads:
            t.join()
        wcpu1, scpu1 = os.times(), proc_cpu_s(self.sim.pid)
        for x in conns:
            x.close()
        first = min(t0 for t0, _ in times)
        last = max(t1 for _, t1 in times)
        p_last = time.perf_counter()
        bm = self.sync_point(d)
        synced = time.time()
        r = realization(d.log.read())
        st1 = d.status()
        rec = self.storm_record("storm", len(work), first, last, synced, r, st0, st1, errors)
        rec["daemon_cpu_s"] = round(proc_cpu_s(d.pid) - cpu0, 3)
        # This process's CPU while the writers ran (its other threads wait).
        rec["writer_cpu_s"] = round((wcpu1.user - wcpu0.user) + (wcpu1.system - wcpu0.system), 3)
        if scpu0 is not None and scpu1 is not None:
            rec["sim_cpu_s"] = round(scpu1 - scpu0, 3)
        rec["storm_client"] = a.storm_client
        rec.update(threads=a.threads, local_relabels=self.storm_local, bookmark_ms=bm,
                   startup=start, sync_after_last_write_s=round(time.perf_counter() - p_last, 3))
        self.results.append(rec)
        self.print_storm_line(rec)

        # The same pods back to their labels, as one burst.
        start = self.start_daemon("storm-bulk")
        d = self.daemon
        st0 = d.status()
        d.log.read()
        back = []
        for p, k, v in self.storm:
            o = json.loads(json.dumps(p))
            o["metadata"].pop("resourceVersion", None)
            back.append(o)
        body = json.dumps({"kind": "List", "apiVersion": "v1", "items": back}).encode()
        cpu0 = proc_cpu_s(d.pid)
        first = time.time()
        self.api.must("POST", "/sim/load", body)
        last = time.time()
        p_last = time.perf_counter()
        bm = self.sync_point(d)
        synced = time.time()
        r = realization(d.log.read())
        st1 = d.status()
        rec = self.storm_record("storm-bulk", len(back), first, last, synced, r, st0, st1, [])
        rec["daemon_cpu_s"] = round(proc_cpu_s(d.pid) - cpu0, 3)
        rec.update(local_relabels=self.storm_local, bookmark_ms=bm, startup=start,
                   sync_after_last_write_s=round(time.perf_counter() - p_last, 3))
        self.results.append(rec)
        self.print_storm_line(rec)

    def storm_record(self, name, n, first, last, synced, r, st0, st1, errors):
        rec = {"phase": name, "writes": n, "write_errors": len(errors), "errors": errors[:5],
               "write_phase_s": round(last - first, 3),
               "writes_per_s": round(n / (last - first), 1) if last > first else None,
               "first_write_to_sync_s": round(synced - first, 3),
               "runs": r["runs"], "commits": r["commits"], "flow_changes": r["flow_changes"],
               "engine_run_ms": summary(r["run_ms"]),
               "bundle_s": summary(r["bundle_s"]),
               "status_after": {k: st1.get(k) for k in ("realization", "engine_runs", "commits",
                                                         "flows_desired", "flows_installed",
                                                         "incremental")},
               "rss_kb": self.daemon.mem().get("VmRSS"), "hwm_kb": self.daemon.mem().get("VmHWM")}
        if "last_commit" in r:
            rec["first_write_to_last_commit_s"] = round(r["last_commit"] - first, 3)
            rec["last_write_to_last_commit_s"] = round(r["last_commit"] - last, 3)
        if "first_input" in r and "last_commit" in r:
            rec["daemon_busy_s"] = round(r["last_commit"] - r["first_input"], 3)
        r0 = (st0.get("realization") or {}).get("batches") or 0
        r1 = st1.get("realization") or {}
        rec["daemon_status"] = dict(r1, exact=(r0 == 0 and not self.args.one_daemon),
                                    batches_in_series=(r1.get("batches") or 0) - r0)
        return rec

    def print_storm_line(self, rec):
        say("%s: %d writes in %.3f s (%s/s); first write -> last commit %s s, -> sync %s s; "
            "%d runs, %d commits, %d flow changes; daemon(status) %s" % (
                rec["phase"], rec["writes"], rec["write_phase_s"], rec["writes_per_s"],
                rec.get("first_write_to_last_commit_s"), rec["first_write_to_sync_s"],
                rec["runs"], rec["commits"], rec["flow_changes"], rec["daemon_status"]))

    def run_sync_as_is(self):
        """Relabels followed by a plain sync, as a user would run it."""
        a = self.args
        if a.sync_demo <= 0:
            return
        d = self.daemon
        samples = []
        for i in range(a.sync_demo):
            desc, method, path, body, ctype = self.relabel_events[i % len(self.relabel_events)]
            time.sleep(a.gap)
            d.log.read()
            p0 = time.perf_counter()
            self.api.must(method, path, body, ctype)
            p1 = time.perf_counter()
            w1 = time.time()
            ok, secs, out = d.sync(a.sync_timeout)
            r = realization(d.log.read())
            samples.append({"event": desc, "sync_ok": ok, "sync_ms": secs * 1e3,
                            "commit_ms": (r["last_commit"] - w1) * 1e3 if "last_commit" in r else None})
        if a.sync_demo % 2:
            # one relabel left over: put it back (not measured)
            desc, method, path, body, ctype = self.relabel_events[a.sync_demo % len(self.relabel_events)]
            self.api.must(method, path, body, ctype)
            self.sync_point(d)
        rec = {"phase": "sync-as-is", "events": len(samples),
               "bookmark_interval_s": a.bookmark_interval,
               "sync_ms": summary([s["sync_ms"] for s in samples]),
               "commit_ms": summary([s["commit_ms"] for s in samples]),
               "failed": sum(1 for s in samples if not s["sync_ok"]),
               "samples": [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in s.items()}
                           for s in samples]}
        self.results.append(rec)
        say("sync-as-is: write -> plain sync p50 %.0f ms, max %.0f ms (commit p50 %s ms); "
            "bookmark interval %g s" % (rec["sync_ms"]["p50"], rec["sync_ms"]["max"],
                                        rec["commit_ms"].get("p50"), a.bookmark_interval))

    def check_flows(self, label):
        """The daemon's desired flow count against `ovs-netpol compile
        --node node-1` of what the API server holds now."""
        objs = self.api.must("GET", "/sim/objects")
        path = os.path.join(self.work, "objects-%s.json" % label)
        with open(path, "w") as f:
            json.dump(objs, f)
        argv = [self.cli_bin, "compile", "--node", NODE]
        if self.sandbox_pods:
            argv += ["--ports", os.path.join(self.sb, "ports")]
        r = subprocess.run(argv + [path], capture_output=True, text=True)
        n = sum(1 for line in r.stdout.splitlines() if line.strip() and not line.lstrip().startswith("#"))
        st = self.daemon.status()
        sw = subprocess.run([SANDBOX, "sw", self.sb, "ovs-ofctl", "-O", "OpenFlow15",
                             "dump-aggregate", "br-int"], capture_output=True, text=True).stdout
        m = re.search(r"flow_count=(\d+)", sw)
        out = {"check": label, "compile_flows": n, "daemon_desired": st.get("flows_desired"),
               "daemon_installed": st.get("flows_installed"),
               "switch_flows": int(m.group(1)) if m else None,
               "objects_api": {"pods": sum(1 for o in objs["items"] if o.get("kind") == "Pod")},
               "objects_daemon": {k: st.get(k) for k in ("namespaces", "pods", "local_pods", "policies")}}
        out["ok"] = (n == st.get("flows_desired") == st.get("flows_installed"))
        self.checks.append(out)
        say("check (%s): compile %d flows, daemon %s desired / %s installed, switch %s: %s" % (
            label, n, st.get("flows_desired"), st.get("flows_installed"), out["switch_flows"],
            "ok" if out["ok"] else "MISMATCH"))
        return out

    # -- main ----------------------------------------------------------
    def run(self):
        a = self.args
        self.wanted = a.series.split(",") if a.series else SERIES + ["storm", "sync-as-is"]
        for w in self.wanted:
            if w not in SERIES + ["storm", "sync-as-is"]:
                raise BenchError("unknown series %s (of %s)" % (w, " ".join(SERIES + ["storm", "sync-as-is"])))
        self.startups = []
        self.checks = []
        self.load0 = os.getloadavg()
        self.setup()
        self.plan()
        say("plan: %d events per series; %d node-1 pods have a membership-changing relabel; "
            "storm %d relabels (%d of node-1 pods); series %s" % (
                a.events, self.n_relabel_pods, len(self.storm), self.storm_local, " ".join(self.wanted)))
        self.start_daemon("startup")
        self.check_flows("start")
        # Idle sync right after startup: every kind is at the list's version.
        idle = []
        for _ in range(20):
            ok, secs, out = self.daemon.sync(a.sync_timeout)
            idle.append(secs * 1e3)
        self.idle_sync = summary(idle)
        for name in SERIES:
            if name in self.wanted and name in self.series:
                if name in ("pod-delete", "policy-delete", "policy-delete-broad") \
                        and name.replace("delete", "add") not in self.wanted:
                    continue        # deletes what the add series added
                self.single_series(name, self.series[name])
        if "storm" in self.wanted:
            self.run_storm()
        if "sync-as-is" in self.wanted:
            self.run_sync_as_is()
        self.check_flows("end")
        self.daemon_end(self.daemon)
        self.vswitchd_end = proc_mem(self.vswitchd_pid)
        self.load1 = os.getloadavg()

    def cleanup(self):
        for d in self.daemons:
            try:
                d.stop()
            except Exception:   # noqa: BLE001
                pass
        if self.sim and self.sim.poll() is None:
            self.sim.send_signal(signal.SIGTERM)
            try:
                self.sim.wait(10)
            except subprocess.TimeoutExpired:
                self.sim.kill()
                self.sim.wait()
        if self.sandbox_started:
            subprocess.run([SANDBOX, "stop", self.sb], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if getattr(self, "work", None):
            if self.args.keep:
                say("kept %s" % self.work)
            else:
                shutil.rmtree(self.work, ignore_errors=True)

    # -- report --------------------------------------------------------
    def report(self):
        a = self.args
        ovn = self.ovn_same_file()
        common = {"bench": "daemon", "rev": self.rev, "daemon_sha256": self.bin_sha,
                  "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seed": a.seed,
                  "cluster": os.path.relpath(self.cluster_path, TOP), "cluster_name": self.cluster_name,
                  "mix": None if a.cluster else a.mix, "size": None if a.cluster else a.size,
                  "churn": os.path.relpath(self.churn_path, TOP), "events_per_series": a.events,
                  "cluster_counts": {"namespaces": len(self.cluster.namespaces),
                                     "pods": len(self.cluster.pods),
                                     "local_pods": len(self.cluster.local),
                                     "policies": len(self.cluster.policies)},
                  "node": NODE, "sandbox_pods": self.sandbox_pods, "cpus": os.cpu_count(),
                  "loadavg_start": [round(x, 2) for x in self.load0],
                  "loadavg_end": [round(x, 2) for x in self.load1],
                  "sim_patched_list_order": self.sim_patched,
                  "sim": os.path.relpath(self.sim_path, TOP), "sim_sha256": sha256_short(self.sim_path),
                  "bookmark_interval_s": a.bookmark_interval, "drift_interval_s": a.drift_interval,
                  "one_daemon": a.one_daemon}
        lines = []
        first = self.startups[0]
        st_all = [s["startup_s"] for s in self.startups]
        lines.append(dict(common, phase="startup", **first,
                          startup_s_all=st_all, startup_s_median=round(pct(st_all, 0.5), 3),
                          idle_sync_ms=self.idle_sync, checks=self.checks))
        for r in self.results:
            lines.append(dict(common, **r))
        d = self.daemon
        mem_end = {"daemon_rss_kb": d.end_mem.get("VmRSS"), "daemon_hwm_kb": d.end_mem.get("VmHWM"),
                   "daemon_max_hwm_kb": max((x.end_mem if hasattr(x, "end_mem") else x.mem()).get(
                       "VmHWM", 0) for x in self.daemons),
                   "vswitchd_rss_kb": self.vswitchd_end.get("VmRSS"),
                   "vswitchd_hwm_kb": self.vswitchd_end.get("VmHWM"),
                   "vswitchd_empty_rss_kb": self.vswitchd_mem0.get("VmRSS"),
                   "daemons_started": len(self.daemons),
                   # After start (first sync) and at the end, of every daemon.
                   "daemon_rss_after_start_kb": [x["rss_kb"] for x in self.startups],
                   "daemon_rss_at_end_kb": [(x.end_mem if hasattr(x, "end_mem") else x.mem()).get("VmRSS")
                                            for x in self.daemons]}
        lines.append(dict(common, phase="memory", **mem_end))
        lines.append(dict(common, phase="summary", ovn_same_file=ovn, notes=self.notes,
                          **self.targets(mem_end)))
        os.makedirs(os.path.dirname(os.path.abspath(self.args.out)), exist_ok=True)
        with open(self.args.out, "a") as f:
            for line in lines:
                f.write(json.dumps(line, sort_keys=True) + "\n")
        self.print_table(first, st_all, mem_end, ovn)

    def targets(self, mem_end):
        t = {}
        worst = None
        for r in self.results:
            if "daemon_log_ms" in r:
                for k in ("daemon_log_ms", "commit_ms", "sync_ms"):
                    v = r[k].get("p99")
                    t.setdefault("p99_" + k, {})[r["phase"]] = v
                v = r["daemon_log_ms"].get("p99")
                if v is not None:
                    worst = v if worst is None else max(worst, v)
        t["target_single_p99_ms"] = TARGET_P99_MS
        t["met_single_p99_daemon"] = worst is not None and worst < TARGET_P99_MS
        commit_worst = max((r["commit_ms"].get("p99") or 0) for r in self.results if "commit_ms" in r
                           and r["phase"] != "sync-as-is")
        t["met_single_p99_write_to_commit"] = commit_worst < TARGET_P99_MS
        rss = max(mem_end["daemon_hwm_kb"] or 0, mem_end["daemon_max_hwm_kb"] or 0)
        t["target_rss_mb"] = TARGET_RSS_MB
        t["met_rss"] = rss / 1024.0 < TARGET_RSS_MB
        storm = next((r for r in self.results if r["phase"] == "storm"), None)
        t["target_storm_s"] = TARGET_STORM_S
        if storm:
            t["met_storm_first_write_to_sync"] = storm["first_write_to_sync_s"] < TARGET_STORM_S
            t["met_storm_first_write_to_commit"] = (
                storm.get("first_write_to_last_commit_s", 1e9) < TARGET_STORM_S)
        return t

    def ovn_same_file(self):
        if self.cluster_name != "medium":
            return None         # measured on the old mix's medium cluster only
        path = os.path.join(OUT, "ovn-medium-s%d.json" % self.args.seed)
        try:
            with open(path) as f:
                o = json.load(f)
            return {"file": os.path.relpath(path, TOP),
                    "pod-relabel_hv_sync_s": o["incremental_label_change"]["median_hv_sync_s"],
                    "policy-add_hv_sync_s": o["incremental_add_policy"]["median_hv_sync_s"],
                    "samples": len(o["incremental_label_change"]["samples"]),
                    "initial_realize_s": o["policies"]["hv_sync_s"],
                    "flows": o["flows"]["total"],
                    "ovn_controller_peak_kb": o["mem_after_policies"]["ovn-controller"]["peak_rss_kb"],
                    "ovs_vswitchd_peak_kb": o["mem_after_policies"]["ovs-vswitchd"]["peak_rss_kb"]}
        except (OSError, KeyError, ValueError):
            return None

    def print_table(self, first, st_all, mem_end, ovn):
        a = self.args
        c = self.cluster
        P = print
        P()
        P("ovs-netpold on %s (%s; %d pods, %d on %s, %d policies), rev %s, %d CPUs, load %.2f -> %.2f" % (
            os.path.relpath(self.cluster_path, TOP), self.cluster_name, len(c.pods), len(c.local), NODE,
            len(c.policies), self.rev, os.cpu_count(), self.load0[0], self.load1[0]))
        P("sandbox ports: %d node-1 pods; bookmarks every %g s; drift check every %g s%s; API %s (sha256 %s)" % (
            self.sandbox_pods, a.bookmark_interval, a.drift_interval,
            "; sim LIST order patched" if self.sim_patched else "",
            os.path.relpath(self.sim_path, TOP), sha256_short(self.sim_path)))
        P()
        P("startup / full resync (daemon start -> first sync returns)")
        P("  first: %.3f s (list done %s s, first install %s s, engine %s ms, bundle %s s); "
          "median of %d starts %.3f s" % (
              first["startup_s"], first.get("listed_s"), first.get("first_install_s"),
              first.get("first_run_ms"), first.get("install_bundle_s"), len(st_all), pct(st_all, 0.5)))
        P("  flows installed %s; objects %s; ports bound %s" % (
            first["flows"], first["objects"], first["ports_bound"]))
        P("  daemon VmRSS %.1f MB, VmHWM %.1f MB after sync; ovs-vswitchd VmRSS %.1f MB" % (
            first["rss_kb"] / 1024.0, first["hwm_kb"] / 1024.0,
            (first["vswitchd"].get("VmRSS") or 0) / 1024.0))
        P("  idle sync (nothing to do): p50 %.1f ms, p99 %.1f ms" % (
            self.idle_sync["p50"], self.idle_sync["p99"]))
        for ch in self.checks:
            P("  check %-5s compile --node %s: %d flows; daemon %s/%s; switch %s  %s" % (
                ch["check"], NODE, ch["compile_flows"], ch["daemon_desired"], ch["daemon_installed"],
                ch["switch_flows"], "ok" if ch["ok"] else "MISMATCH"))
        P()
        hdr = ("%-19s %4s | %8s %8s | %8s %8s | %8s %8s | %17s | %6s %6s %6s %6s | %s" % (
            "event", "n", "sync p50", "p99", "commit50", "p99", "daemon50", "p99",
            "status p50/p99", "run50", "cpu", "chg50", "chg99", "p99<50ms"))
        P("single events (ms): sync = write returned -> bookmark + `ovs-netpol sync` returned;")
        P("  commit = write returned -> \"committed\" log line; daemon = input -> committed, per event")
        P("  from the log; status = the daemon's own histogram for the series; run = engine run;")
        P("  cpu = the daemon's CPU time per event (user + system); chg = flow changes per event")
        P("  (events from %s)" % os.path.relpath(self.churn_path, TOP))
        P(hdr)
        P("-" * len(hdr))
        for r in self.results:
            if "daemon_log_ms" not in r:
                continue
            ds = r["daemon_status"]
            stxt = ("%.1f/%.1f%s" % (ds["p50"], ds["p99"], "" if ds.get("exact") else "*")
                    if ds.get("p50") is not None else "-")
            met = r["daemon_log_ms"].get("p99")
            met = "-" if met is None else ("yes" if met < TARGET_P99_MS else "no")
            P("%-19s %4d | %8.1f %8.1f | %8s %8s | %8s %8s | %17s | %6s %6s %6s %6s | %s%s" % (
                r["phase"], r["events"], r["sync_ms"]["p50"], r["sync_ms"]["p99"],
                fmt(r["commit_ms"].get("p50")), fmt(r["commit_ms"].get("p99")),
                fmt(r["daemon_log_ms"].get("p50")), fmt(r["daemon_log_ms"].get("p99")), stxt,
                fmt(r["engine_run_ms"].get("p50")), fmt(r.get("daemon_cpu_ms_per_event")),
                fmt(r["flow_changes"].get("p50"), 0), fmt(r["flow_changes"].get("p99"), 0), met,
                "  (%d without flow change)" % r["no_flow_change"] if r["no_flow_change"] else ""))
        P()
        for r in self.results:
            if r["phase"] not in ("storm", "storm-bulk"):
                continue
            ds = r["daemon_status"]
            P("%s: %d relabels (%d of node-1 pods)%s" % (
                r["phase"], r["writes"], r["local_relabels"],
                ", %d connections (%s)" % (r["threads"], r["storm_client"]) if "threads" in r
                else ", one POST /sim/load"))
            P("  writes %.3f s (%s/s, %d errors%s); first write -> last commit %s s; -> sync %.3f s "
              "(target < %g s: %s)" % (
                  r["write_phase_s"], r["writes_per_s"], r["write_errors"],
                  "".join(", %s CPU %.2f s" % (w, r[k]) for w, k in (("writer", "writer_cpu_s"),
                                                                     ("simulator", "sim_cpu_s")) if k in r),
                  r.get("first_write_to_last_commit_s"), r["first_write_to_sync_s"], TARGET_STORM_S,
                  "yes" if r["first_write_to_sync_s"] < TARGET_STORM_S else "no"))
            P("  last write -> last commit %s s; daemon busy (first input -> last commit) %s s" % (
                r.get("last_write_to_last_commit_s"), r.get("daemon_busy_s")))
            P("  daemon: %d engine runs (p50 %s ms, max %s ms), %d commits, %d flow changes, "
              "%s s CPU; status %s batches p50 %s p99 %s max %s ms" % (
                  r["runs"], r["engine_run_ms"].get("p50"), r["engine_run_ms"].get("max"),
                  r["commits"], r["flow_changes"], r.get("daemon_cpu_s"), ds.get("batches"),
                  ds.get("p50"), ds.get("p99"), ds.get("max")))
        sa = next((r for r in self.results if r["phase"] == "sync-as-is"), None)
        if sa:
            P()
            P("plain `ovs-netpol sync` after a relabel (no forced bookmark): p50 %.0f ms, max %.0f ms "
              "over %d (flows committed after p50 %s ms); bookmark interval %g s" % (
                  sa["sync_ms"]["p50"], sa["sync_ms"]["max"], sa["events"],
                  fmt(sa["commit_ms"].get("p50")), a.bookmark_interval))
        P()
        P("memory at the end: daemon VmRSS %.1f MB, VmHWM %.1f MB (largest VmHWM of %d daemons "
          "%.1f MB; target < %g MB: %s); ovs-vswitchd VmRSS %.1f MB, VmHWM %.1f MB (empty %.1f MB)" % (
              mem_end["daemon_rss_kb"] / 1024.0, mem_end["daemon_hwm_kb"] / 1024.0,
              mem_end["daemons_started"], mem_end["daemon_max_hwm_kb"] / 1024.0, TARGET_RSS_MB,
              "yes" if mem_end["daemon_max_hwm_kb"] / 1024.0 < TARGET_RSS_MB else "no",
              mem_end["vswitchd_rss_kb"] / 1024.0, mem_end["vswitchd_hwm_kb"] / 1024.0,
              (mem_end["vswitchd_empty_rss_kb"] or 0) / 1024.0))
        rel = next((r for r in self.results if r["phase"] == "pod-relabel"), None)
        pol = next((r for r in self.results if r["phase"] == "policy-add"), None)
        if rel and pol:
            P()
            P("OVN, same file (%s, NB commit -> flows on br-int, median of %s): relabel %.0f ms, "
              "policy add %.0f ms" % (ovn["file"], ovn["samples"], ovn["pod-relabel_hv_sync_s"] * 1e3,
                                      ovn["policy-add_hv_sync_s"] * 1e3) if ovn else
              "OVN, same file: no bench/out/ovn-medium-s%d.json (compile-bench.sh --ovn)" % a.seed)
            P("OVN, its own cluster (../shared/peers/ovn/README.md): relabel %.2f s, policy add "
              "%.2f s" % (OVN_OWN_CLUSTER["pod-relabel"], OVN_OWN_CLUSTER["policy-add"]))
            P("ours, write -> commit p50: relabel %s ms, policy add %s ms" % (
                fmt(rel["commit_ms"].get("p50")), fmt(pol["commit_ms"].get("p50"))))
        for n in self.notes:
            P("note: " + n)
        P()
        P("JSON lines appended to %s" % os.path.relpath(os.path.abspath(a.out), TOP))


def fmt(v, digits=1):
    if v is None:
        return "-"
    return ("%%.%df" % digits) % v


def main():
    ap = argparse.ArgumentParser(description="Benchmark ovs-netpold against kube-apiserver-sim "
                                 "(see bench/README.md)")
    ap.add_argument("--events", type=int, default=100, help="events per single-event series")
    ap.add_argument("--storm", type=int, default=1000, help="relabels in the storm")
    ap.add_argument("--threads", type=int, default=8, help="writer connections in the storm")
    ap.add_argument("--storm-client", choices=["raw", "http.client"], default="raw",
                    help="the storm's HTTP client: prepared requests on raw TLS sockets (default), "
                    "or http.client as the other phases use (more CPU per write)")
    ap.add_argument("--sim", help="the API server stand-in to run (default tests/kube-apiserver-sim; "
                    "e.g. an older copy, to compare)")
    ap.add_argument("--sync-demo", type=int, default=6,
                    help="relabels followed by a plain sync (no forced bookmark)")
    ap.add_argument("--mix", choices=clusters.MIXES, default="old",
                    help="gen_cluster.py's policy mix (default old)")
    ap.add_argument("--size", choices=sorted(clusters.SIZES), default="10k",
                    help="10k: 10,000 pods, 1,000 policies (default); 50k: 50,000 and 5,000; "
                    "1k: 1,000 and 100 (a quick check)")
    ap.add_argument("--cluster", help="a cluster file (a v1 List) instead of --mix and --size; its "
                    "churn description is written beside it")
    ap.add_argument("--series", help="comma-separated, of: %s storm sync-as-is (default all)" % " ".join(SERIES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--regen", action="store_true", help="regenerate the cluster")
    ap.add_argument("--no-pods", action="store_true", help="no sandbox ports for node-1's pods")
    ap.add_argument("--one-daemon", action="store_true",
                    help="one daemon for every phase (status histograms become cumulative)")
    ap.add_argument("--sim-as-is", action="store_true",
                    help="no effect: the simulator's LIST order was fixed in "
                    "the tree (kept so old command lines still work)")
    ap.add_argument("--bookmark-interval", type=float, default=5.0,
                    help="the simulator's bookmark interval (default 5, its own default)")
    ap.add_argument("--drift-interval", type=float, default=30.0,
                    help="the daemon's --drift-interval (default 30, its own default)")
    ap.add_argument("--gap", type=float, default=0.02, help="seconds between single events")
    ap.add_argument("--sync-timeout", type=float, default=60.0)
    ap.add_argument("--startup-timeout", type=float, default=300.0)
    ap.add_argument("--daemon", default=os.path.join(TOP, "ovs-netpold"))
    ap.add_argument("--cli", default=os.path.join(TOP, "ovs-netpol"))
    ap.add_argument("--launcher", choices=["native", "podman"], default="native",
                    help="podman: the daemon from the image (NP_IMAGE), as the DaemonSet runs it")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    ap.add_argument("--quick", action="store_true", help="--events 20 --storm 300")
    ap.add_argument("--out", default=os.path.join(OUT, "daemon.jsonl"),
                    help="JSON lines are appended here (default bench/out/daemon.jsonl)")
    a = ap.parse_args()
    if a.quick:
        a.events, a.storm = 20, 300
    if a.events < 2 or a.storm < 1 or a.threads < 1:
        ap.error("--events must be at least 2, --storm and --threads at least 1")
    if os.geteuid() != 0:
        sys.exit("daemon-bench: needs root (ovs/sandbox.sh)")
    for p in (a.daemon, a.cli):
        if not os.access(p, os.X_OK):
            sys.exit("daemon-bench: %s is missing; build first (make)" % p)
    b = Bench(a)

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    try:
        b.run()
        b.report()
    except BenchError as e:
        say("error: %s" % e)
        rc = 1
    except KeyboardInterrupt:
        say("interrupted")
        rc = 130
    finally:
        b.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
