#!/usr/bin/env python3
"""datapath_bench.py - what ovs-netpol's flows cost in the datapath.

Run by bench/datapath-bench.sh (as root).  Starts ovs/sandbox.sh's userspace
Open vSwitch with four client pods, one server pod and one pod that policies
deny, and compares three flow tables on the same switch:

  A  normal   `priority=0,actions=NORMAL` (no policy, no conntrack: the floor)
  B  recheck  `ovs-netpol compile` output as it is: established packets in
              the original direction go through the policy tables again
  C  skip     the same with table 1's `ct_state=-new+est-rpl+trk` flow
              (priority 170, goto_table:2) changed to the continuation, i.e.
              established packets skip the policies (the old behaviour)
  D  audit    (--tables ABCD) B compiled with `--audit all`: every denied
              and every allowed new connection is copied to the controller
              through meter 20048 (100 packets/s, burst 100, as ovs-netpold
              sets it); nobody holds controller id 20048, so the switch
              discards the copies after the meter, as it would hand them
              to the daemon

Measurements (each --reps times, median reported), all client pods -> server:
  stream1  bulk TCP, one stream, c1 -> s
  stream4  bulk TCP, four streams, c1..c4 -> s in parallel
  crr1     new TCP connections per second (connect, send 1 byte, the server
           closes after reading it, the client closes), c1 -> s
  crr4     the same from c1..c4 in parallel
  crrfan   crr1 to 32 server ports (6000-6031, one endPort rule) in turn: the
           re-check's datapath flows match the destination port, so one
           client pod's established traffic needs a flow per port in B
  rr       1-byte request/response ping-pong on one TCP connection, c1 -> s:
           round-trip p50/p99
After each run: datapath flows (`dpctl/dump-flows`), upcall/show, the main
thread's dpif-netdev counters (`dpif-netdev/pmd-stats-show`: upcalls, EMC and
megaflow hits, subtable lookups per hit), coverage/show deltas, and the CPU
ovs-vswitchd used.  Conntrack and the datapath flows are flushed and the
counters cleared before each run.

The same file is the worker that runs inside the pods' network namespaces:
  datapath_bench.py serve  --sink P --crr P --rr P
  datapath_bench.py stream --dst IP --port P --seconds S --start T
  datapath_bench.py crr    --dst IP --port P --seconds S --start T
  datapath_bench.py rr     --dst IP --port P --seconds S --start T
Python 3 standard library only.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")
NETPOL = os.path.join(TOP, "ovs-netpol")
GEN = os.path.join(HERE, "gen_cluster.py")
OUT = os.path.join(HERE, "out")
NODE = "node-1"

SINK_PORT, CRR_PORT, RR_PORT = 5201, 5202, 5203
FAN_BASE, FAN_N = 6000, 32  # crrfan: c1 -> s on 32 ports, round robin
DENIED_PORT = 5204          # nobody allows it: the check that B and C enforce
BUF = 128 * 1024

# ---------------------------------------------------------------------------
# Workers (inside the pods)


def wait_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)


def serve(a):
    """Three listeners; runs until stdin closes."""
    def listener(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(1024)
        return s

    def sink_conn(c):
        buf = bytearray(BUF)
        n = 0
        try:
            while True:
                k = c.recv_into(buf)
                if not k:
                    break
                n += k
            c.sendall(struct.pack("!Q", n))
        except OSError:
            pass
        finally:
            c.close()

    def rr_conn(c):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                b = c.recv(1)
                if not b:
                    break
                c.sendall(b)
        except OSError:
            pass
        finally:
            c.close()

    def loop(s, handler):
        while True:
            c, _ = s.accept()
            threading.Thread(target=handler, args=(c,), daemon=True).start()

    def crr_loop(s):
        while True:
            c, _ = s.accept()
            try:
                c.recv(1)
            except OSError:
                pass
            c.close()

    sink, crr, rr = listener(a.sink), listener(a.crr), listener(a.rr)
    threading.Thread(target=loop, args=(sink, sink_conn), daemon=True).start()
    threading.Thread(target=loop, args=(rr, rr_conn), daemon=True).start()
    for _ in range(a.crr_threads):
        threading.Thread(target=crr_loop, args=(crr,), daemon=True).start()
    for i in range(a.fan_n):
        threading.Thread(target=crr_loop, args=(listener(a.fan_base + i),), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()


def stream(a):
    s = socket.create_connection((a.dst, a.port), timeout=10)
    buf = b"\0" * BUF
    wait_until(a.start)
    t0 = time.time()
    end = t0 + a.seconds
    sent = 0
    while time.time() < end:
        sent += s.send(buf)
    s.shutdown(socket.SHUT_WR)
    got = b""
    while len(got) < 8:
        b = s.recv(8 - len(got))
        if not b:
            break
        got += b
    t1 = time.time()
    s.close()
    recv = struct.unpack("!Q", got)[0] if len(got) == 8 else None
    print(json.dumps({"sent": sent, "received": recv, "t0": t0, "t1": t1,
                      "gbit_s": (recv or 0) * 8 / (t1 - t0) / 1e9}))


def crr(a):
    wait_until(a.start)
    t0 = time.time()
    end = t0 + a.seconds
    n = errors = 0
    slow = 0                # connections that took over 0.5 s (a lost SYN: 1 s)
    while True:
        t = time.time()
        if t >= end:
            break
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect((a.dst, a.port + n % a.nports))
            s.send(b"x")
            s.recv(1)           # EOF: the server read the byte and closed
            s.close()
            n += 1
            if time.time() - t > 0.5:
                slow += 1
        except OSError:
            errors += 1
            s.close()
    t1 = time.time()
    print(json.dumps({"conns": n, "errors": errors, "slow": slow, "t0": t0, "t1": t1,
                      "conn_s": n / (t1 - t0)}))


def rr(a):
    s = socket.create_connection((a.dst, a.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.send(b"x")
    s.recv(1)                   # warm: ARP, datapath flows
    wait_until(a.start)
    pc = time.perf_counter_ns
    end = time.time() + a.seconds
    rtts = []
    while time.time() < end:
        for _ in range(100):
            t = pc()
            s.send(b"x")
            if not s.recv(1):
                raise SystemExit("rr: connection closed")
            rtts.append(pc() - t)
    s.close()
    rtts.sort()
    n = len(rtts)
    print(json.dumps({"n": n, "p50_us": rtts[(n - 1) // 2] / 1e3,
                      "p90_us": rtts[int((n - 1) * 0.9)] / 1e3,
                      "p99_us": rtts[int((n - 1) * 0.99)] / 1e3,
                      "mean_us": sum(rtts) / n / 1e3, "rtt_s": n / a.seconds}))


def probe(a):
    """Exit 0 if a TCP connection to dst:port opens within the timeout."""
    try:
        socket.create_connection((a.dst, a.port), timeout=a.timeout).close()
        print("connected")
    except OSError as e:
        print("failed: %s" % e)


# ---------------------------------------------------------------------------
# Orchestrator


def say(*args):
    print(*args, flush=True)


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain", "--", "src", "include"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


CLIENTS = ["c1", "c2", "c3", "c4"]
IPS = {"s": "10.244.0.10", "c1": "10.244.0.11", "c2": "10.244.0.12",
       "c3": "10.244.0.13", "c4": "10.244.0.14", "other": "10.244.0.20"}


def bench_objects():
    """Namespace `bench`: the server s (isolated for ingress, allows role=client
    on the three bench ports), c1..c4 (role=client) and `other` (no role: its
    connections to s must be refused by B and C)."""
    items = [{"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "bench", "labels": {"kubernetes.io/metadata.name": "bench"}}}]
    for name, ip in IPS.items():
        labels = {"app": "bench-" + ("server" if name == "s" else "client")}
        if name.startswith("c"):
            labels["role"] = "client"
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"namespace": "bench", "name": name, "labels": labels},
                      "spec": {"nodeName": NODE, "containers": [{"name": "c"}]},
                      "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}})
    items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"namespace": "bench", "name": "allow-clients"},
                  "spec": {"podSelector": {"matchLabels": {"app": "bench-server"}},
                           "policyTypes": ["Ingress"],
                           "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                                        "ports": [{"protocol": "TCP", "port": p}
                                                  for p in (SINK_PORT, CRR_PORT, RR_PORT)]
                                        + [{"protocol": "TCP", "port": FAN_BASE,
                                            "endPort": FAN_BASE + FAN_N - 1}]}]}})
    return {"apiVersion": "v1", "kind": "List", "items": items}


RECHECK_RE = re.compile(r"^(table=1, priority=170, .*ct_state=-new\+est-rpl\+trk actions=)goto_table:2$")


def parse_pmd_stats(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s+([a-z. ]+[a-z]):\s+([0-9.]+)", line)
        if m:
            out[m.group(1).replace(" ", "_").replace(".", "")] = float(m.group(2))
    return out


def parse_coverage(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"(\S+)\s+.*total: (\d+)$", line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def median(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


class Bench:
    def __init__(self, a):
        self.a = a
        self.work = tempfile.mkdtemp(prefix="np-dpbench.")
        self.sb = os.path.join(self.work, "sbx")
        self.procs = []
        self.started = False
        self.py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
        self.results = []

    # --- helpers
    def sw(self, *argv, check=True):
        return subprocess.run([SANDBOX, "sw", self.sb] + list(argv), capture_output=True,
                              text=True, check=check).stdout

    def netns(self, pod):
        with open(os.path.join(self.sb, "pods")) as f:
            for line in f:
                w = line.split()
                if w[0] == "bench/" + pod:
                    return w[2]
        raise KeyError(pod)

    def worker(self, pod, *args, **kw):
        return subprocess.Popen(["ip", "netns", "exec", self.netns(pod), self.py,
                                 os.path.join(HERE, "datapath_bench.py")] + [str(x) for x in args],
                                stdout=subprocess.PIPE, text=True, **kw)

    def vswitchd_pid(self):
        with open(os.path.join(self.sb, "run", "ovs-vswitchd.pid")) as f:
            return int(f.read().strip())

    def cpu_ticks(self, pid):
        with open("/proc/%d/stat" % pid) as f:
            w = f.read().rsplit(")", 1)[1].split()
        return int(w[11]) + int(w[12])          # utime + stime

    @staticmethod
    def sys_ticks():
        with open("/proc/stat") as f:
            w = [int(x) for x in f.readline().split()[1:]]
        return sum(w), w[3] + w[4]              # total, idle + iowait

    # --- set-up
    def cluster(self):
        files = []
        if self.a.preset != "none":
            os.makedirs(os.path.join(OUT, "clusters"), exist_ok=True)
            path = os.path.join(OUT, "clusters", "%s-s%d.json" % (self.a.preset, self.a.seed))
            if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(GEN):
                subprocess.run([sys.executable, GEN, "--preset", self.a.preset, "--seed",
                                str(self.a.seed), "-o", path], check=True)
            files.append(path)
        bench = os.path.join(self.work, "bench.json")
        with open(bench, "w") as f:
            json.dump(bench_objects(), f, indent=1)
        files.append(bench)
        self.cluster_files = files
        self.background = {"preset": self.a.preset, "seed": self.a.seed}
        if self.a.preset != "none":
            with open(files[0]) as f:
                items = json.load(f)["items"]
            self.background.update({
                "pods": sum(1 for o in items if o["kind"] == "Pod"),
                "local_pods": sum(1 for o in items if o["kind"] == "Pod"
                                  and o["spec"].get("nodeName") == NODE),
                "policies": sum(1 for o in items if o["kind"] == "NetworkPolicy"),
                "namespaces": sum(1 for o in items if o["kind"] == "Namespace")})

    def compile(self, *extra):
        r = subprocess.run([NETPOL, "compile", "--node", NODE, "--ports",
                            os.path.join(self.sb, "ports")] + list(extra) + self.cluster_files,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("ovs-netpol compile failed: " + r.stderr)
        return r.stdout

    def flows(self):
        b = self.compile()
        lines, n = [], 0
        for line in b.splitlines():
            m = RECHECK_RE.match(line)
            if m:
                n += 1
                line = m.group(1) + "NORMAL"
            lines.append(line)
        if n != 1:
            raise SystemExit("expected exactly one table 1 priority 170 re-check flow, found %d" % n)
        c = "\n".join(lines) + "\n"
        self.tables = {"A": "priority=0,actions=NORMAL\n", "B": b, "C": c}
        if "D" in self.a.tables:
            self.tables["D"] = self.compile("--audit", "all")
            self.sw("ovs-ofctl", "-O", "OpenFlow15", "add-meter", "br-int",
                    "meter=20048,pktps,burst,stats,bands=type=drop,rate=100,burst_size=100")
        self.nflows = {}
        for k, text in self.tables.items():
            with open(os.path.join(self.work, k + ".flows"), "w") as f:
                f.write(text)
            self.nflows[k] = sum(1 for l in text.splitlines() if l.strip() and not l.startswith("#"))

    def load(self, k):
        self.sw("ovs-ofctl", "-O", "OpenFlow15", "--bundle", "replace-flows", "br-int",
                os.path.join(self.work, k + ".flows"))
        agg = self.sw("ovs-ofctl", "-O", "OpenFlow15", "dump-aggregate", "br-int")
        m = re.search(r"flow_count=(\d+)", agg)
        if not m or int(m.group(1)) != self.nflows[k]:
            raise SystemExit("table %s: switch has %s flows, file %d" % (k, m and m.group(1), self.nflows[k]))

    def setup(self):
        say("work directory %s" % self.work)
        self.cluster()
        self.started = True
        subprocess.run([SANDBOX, "start", self.sb], check=True, stdout=subprocess.DEVNULL)
        args = []
        for name, ip in IPS.items():
            args += ["bench", name, ip]
        subprocess.run([SANDBOX, "add-pod", self.sb] + args, check=True, stdout=subprocess.DEVNULL)
        for name in IPS:
            if name.startswith("c"):
                # short connections: every ephemeral port, reuse of the client's own TIME_WAITs
                subprocess.run(["ip", "netns", "exec", self.netns(name), "sysctl", "-qw",
                                "net.ipv4.ip_local_port_range=1024 65535",
                                "net.ipv4.tcp_tw_reuse=1"], check=True)
        self.flows()
        self.vpid = self.vswitchd_pid()
        self.server = self.worker("s", "serve", "--sink", SINK_PORT, "--crr", CRR_PORT,
                                  "--rr", RR_PORT, "--fan-base", FAN_BASE, "--fan-n", FAN_N,
                                  stdin=subprocess.PIPE)
        self.procs.append(self.server)
        if self.server.stdout.readline().strip() != "ready":
            raise SystemExit("server did not start")

    def check(self, k):
        """Allowed: c1..c4 -> s on the bench ports.  Denied by B and C (allowed
        by A): `other` -> s, c1 -> s on DENIED_PORT."""
        want = []
        for c in CLIENTS:
            for p in (SINK_PORT, CRR_PORT, RR_PORT, FAN_BASE, FAN_BASE + FAN_N - 1):
                want.append((c, p, "connected"))
        denied = "connected" if k == "A" else "failed"
        want.append(("other", CRR_PORT, denied))
        if k != "A":
            want.append(("c1", DENIED_PORT, "failed"))   # A: refused by s (RST), not by policy
        procs = [(c, p, w, self.worker(c, "probe", "--dst", IPS["s"], "--port", p, "--timeout", 1))
                 for c, p, w in want]
        bad = []
        for c, p, w, pr in procs:
            out = pr.communicate()[0].strip()
            if not out.startswith(w):
                bad.append("%s -> s:%d: %s, expected %s" % (c, p, out, w))
        if bad:
            raise SystemExit("table %s does not behave as expected:\n  " % k + "\n  ".join(bad))

    # --- one run
    def before(self):
        self.sw("ovs-appctl", "dpctl/flush-conntrack")
        self.sw("ovs-appctl", "dpctl/del-flows")
        self.sw("ovs-appctl", "dpif-netdev/pmd-stats-clear")
        time.sleep(0.3)
        self.cov0 = parse_coverage(self.sw("ovs-appctl", "coverage/show"))
        self.cpu0 = self.cpu_ticks(self.vpid)
        self.sys0 = self.sys_ticks()
        self.t0 = time.time()

    def after(self, name, run_s):
        """run_s: how long the workers ran; CPU figures are the CPU used from
        the flush to now over run_s (the ~1.5 s around the run are idle)."""
        t1 = time.time()
        cpu1 = self.cpu_ticks(self.vpid)
        sys1 = self.sys_ticks()
        dump = self.sw("ovs-appctl", "dpctl/dump-flows", "-m")
        megaflows = len([l for l in dump.splitlines() if l.strip()])
        upcall = self.sw("ovs-appctl", "upcall/show")
        m = re.search(r"flows\s*:\s*\(current (\d+)\) \(avg (\d+)\) \(max (\d+)\)", upcall)
        pmd_text = self.sw("ovs-appctl", "dpif-netdev/pmd-stats-show")
        pmd = parse_pmd_stats(pmd_text)
        os.makedirs(os.path.join(self.work, "runs"), exist_ok=True)
        with open(os.path.join(self.work, "runs", name + ".txt"), "w") as f:
            f.write(pmd_text + "\n" + upcall + "\n" + dump)
        time.sleep(1.1)         # coverage counters reach the global totals about once a second
        cov1 = parse_coverage(self.sw("ovs-appctl", "coverage/show"))
        hz = os.sysconf("SC_CLK_TCK")
        dt = run_s
        ncpu = os.cpu_count()
        idle = (sys1[1] - self.sys0[1]) - (t1 - self.t0 - run_s) * hz * ncpu
        return {"megaflows": megaflows,
                "upcall_flows_max": int(m.group(3)) if m else None,
                "upcalls": pmd.get("miss_with_success_upcall"),
                "failed_upcalls": pmd.get("miss_with_failed_upcall"),
                "packets": pmd.get("packets_received"),
                "recirculations": pmd.get("packet_recirculations"),
                "emc_hits": pmd.get("emc_hits"),
                "megaflow_hits": pmd.get("megaflow_hits"),
                "subtable_lookups_per_hit": pmd.get("avg_subtable_lookups_per_megaflow_hit"),
                "vswitchd_cpu": round((cpu1 - self.cpu0) / hz / dt, 3),
                "vswitchd_us_per_pkt": (round((cpu1 - self.cpu0) / hz / pmd["packets_received"] * 1e6, 2)
                                        if pmd.get("packets_received") else None),
                "host_busy": round(max(0.0, 1 - idle / (run_s * hz * ncpu)), 3),
                "coverage": {k: v - self.cov0.get(k, 0) for k, v in sorted(cov1.items())
                             if v - self.cov0.get(k, 0) > 0}}

    def run_test(self, test):
        a = self.a
        start = time.time() + 1.0
        common = ["--seconds", a.seconds, "--start", "%.3f" % start, "--dst", IPS["s"]]
        if test in ("stream1", "stream4"):
            clients = CLIENTS[:1] if test == "stream1" else CLIENTS
            ps = [self.worker(c, "stream", "--port", SINK_PORT, *common) for c in clients]
        elif test in ("crr1", "crr4"):
            clients = CLIENTS[:1] if test == "crr1" else CLIENTS
            ps = [self.worker(c, "crr", "--port", CRR_PORT, *common) for c in clients]
        elif test == "crrfan":
            ps = [self.worker("c1", "crr", "--port", FAN_BASE, "--nports", FAN_N, *common)]
        elif test == "rr":
            ps = [self.worker("c1", "rr", "--port", RR_PORT, *common)]
        else:
            raise SystemExit("unknown test " + test)
        self.procs += ps
        outs = []
        for p in ps:
            o, _ = p.communicate(timeout=a.seconds + 30)
            self.procs.remove(p)
            if p.returncode != 0:
                raise SystemExit("%s worker failed (exit %d)" % (test, p.returncode))
            outs.append(json.loads(o))
        run_s = max(o.get("t1", 0) for o in outs) - min(o.get("t0", 0) for o in outs)
        if test == "rr":
            run_s = a.seconds
        if test.startswith("stream"):
            for o in outs:
                if o["received"] != o["sent"]:
                    raise SystemExit("stream: server got %s of %d bytes" % (o["received"], o["sent"]))
            t0 = min(o["t0"] for o in outs)
            t1 = max(o["t1"] for o in outs)
            v = sum(o["received"] for o in outs) * 8 / (t1 - t0) / 1e9
            return {"gbit_s": round(v, 3), "workers": outs, "run_s": run_s}
        if test.startswith("crr"):
            t0 = min(o["t0"] for o in outs)
            t1 = max(o["t1"] for o in outs)
            return {"conn_s": round(sum(o["conns"] for o in outs) / (t1 - t0), 1),
                    "errors": sum(o["errors"] for o in outs),
                    "slow": sum(o["slow"] for o in outs), "workers": outs, "run_s": run_s}
        o = outs[0]
        return {"p50_us": round(o["p50_us"], 1), "p99_us": round(o["p99_us"], 1),
                "mean_us": round(o["mean_us"], 1), "n": o["n"], "run_s": run_s}

    def run(self):
        a = self.a
        self.setup()
        variants = a.tables
        for k in variants:
            self.load(k)
            self.check(k)
        say("tables: %s; checked: clients reach s, B, C (and D) refuse `other` and an "
            "unlisted port" % ", ".join("%s %d flows" % (k, self.nflows[k]) for k in variants))
        self.runs = {(k, t): [] for k in variants for t in a.tests}
        for rep in range(a.reps):
            order = variants[rep % len(variants):] + variants[:rep % len(variants)]
            for k in order:
                self.load(k)
                for t in a.tests:
                    self.before()
                    r = self.run_test(t)
                    r.update(self.after("%s-%s-%d" % (k, t, rep + 1), r.pop("run_s")))
                    self.runs[(k, t)].append(r)
                    say("  rep %d table %s %-7s %s  megaflows %d upcalls %d vswitchd %.2f cores" % (
                        rep + 1, k, t, headline(t, r), r["megaflows"], r["upcalls"] or 0,
                        r["vswitchd_cpu"]))

    def report(self):
        a = self.a
        rev = git_rev()
        date = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        load = os.getloadavg()
        meta = {"bench": "datapath", "rev": rev, "date": date, "cpus": os.cpu_count(),
                "loadavg_end": [round(x, 2) for x in load], "seconds": a.seconds, "reps": a.reps,
                "background": self.background, "flows": self.nflows,
                "kernel": os.uname().release,
                "ovs": subprocess.run(["ovs-vswitchd", "--version"], capture_output=True,
                                      text=True).stdout.splitlines()[0]}
        rows = []
        for (k, t), runs in self.runs.items():
            med = {}
            for key in METRICS[t] + EXTRA:
                med[key] = median([r.get(key) for r in runs])
            rows.append(dict(meta, table=k, table_name=NAMES[k], test=t, median=med,
                             runs=runs))
        os.makedirs(OUT, exist_ok=True)
        with open(os.path.join(OUT, "datapath.jsonl"), "a") as f:
            for r in rows:
                f.write(json.dumps(r, sort_keys=True) + "\n")
        by = {(r["table"], r["test"]): r["median"] for r in rows}
        P = say
        P("")
        P("datapath-bench: rev %s, %s, %d CPUs, load at end %.2f; background %s; "
          "median of %d runs of %g s" % (rev, date, os.cpu_count(), load[0],
                                        describe_background(self.background), a.reps, a.seconds))
        P("tables: " + ", ".join("%s %s (%d)" % (k, NAMES[k], self.nflows[k]) for k in a.tables))
        P("")
        hdr = "%-8s %-5s %12s %10s %9s %12s %10s %10s %7s %6s" % (
            "test", "table", "result", "megaflows", "upcalls", "lookups/hit", "emc_hits",
            "vswitchd", "us/pkt", "host")
        P(hdr)
        for t in a.tests:
            for k in a.tables:
                m = by[(k, t)]
                P("%-8s %-5s %12s %10s %9s %12s %10s %10s %7s %6s" % (
                    t, k, fmt_result(t, m), fmt(m["megaflows"], 0), fmt(m["upcalls"], 0),
                    fmt(m["subtable_lookups_per_hit"], 2), fmt(m["emc_hits"], 0),
                    fmt(m["vswitchd_cpu"], 2), fmt(m["vswitchd_us_per_pkt"], 1),
                    fmt(m["host_busy"], 2)))
        P("")
        P("ratios of the medians (throughput and rate: higher is better; latency: lower):")
        for t in a.tests:
            key = METRICS[t][0]
            def ratio(x, y):
                vx, vy = by.get((x, t), {}).get(key), by.get((y, t), {}).get(key)
                return "%.3f" % (vx / vy) if vx and vy else "-"
            extra = ""
            if t == "rr":
                key99 = "p99_us"
                vb, vc, va = (by[(k, t)][key99] for k in "BCA")
                extra = "   p99: B/C %.3f  B/A %.3f" % (vb / vc, vb / va)
            if "D" in a.tables:
                extra += "   D/B %s" % ratio("D", "B")
            P("  %-8s %-7s B/C %s  B/A %s  C/A %s%s" % (t, key, ratio("B", "C"), ratio("B", "A"),
                                                         ratio("C", "A"), extra))
        P("")
        P("appended %d lines to %s" % (len(rows), os.path.join(OUT, "datapath.jsonl")))

    def cleanup(self):
        for p in list(self.procs):
            try:
                if p.stdin:
                    p.stdin.close()
            except OSError:
                pass
            if p.poll() is None:
                p.terminate()       # ip netns exec execs python: this is its PID
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.started:
            netns = []
            try:
                with open(os.path.join(self.sb, "netns")) as f:
                    netns = f.read().split()
            except OSError:
                pass
            subprocess.run([SANDBOX, "stop", self.sb], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            left = [n for n in netns if os.path.exists("/var/run/netns/" + n)]
            if left:
                say("datapath-bench: network namespaces left behind: " + " ".join(left))
        if self.a.keep:
            say("work directory kept: " + self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


NAMES = {"A": "normal", "B": "recheck", "C": "skip", "D": "audit"}
METRICS = {"stream1": ["gbit_s"], "stream4": ["gbit_s"], "crr1": ["conn_s", "errors", "slow"],
           "crr4": ["conn_s", "errors", "slow"], "crrfan": ["conn_s", "errors", "slow"], "rr": ["p50_us", "p99_us", "mean_us"]}
EXTRA = ["megaflows", "upcall_flows_max", "upcalls", "failed_upcalls", "packets", "recirculations",
         "emc_hits", "megaflow_hits", "subtable_lookups_per_hit", "vswitchd_cpu", "vswitchd_us_per_pkt", "host_busy"]


def fmt(v, digits=1):
    if v is None:
        return "-"
    return ("%%.%df" % digits) % v


def headline(t, r):
    if t.startswith("stream"):
        return "%.3f Gbit/s" % r["gbit_s"]
    if t.startswith("crr"):
        return "%.0f conn/s (%d errors, %d slow)" % (r["conn_s"], r["errors"], r["slow"])
    return "p50 %.1f us p99 %.1f us" % (r["p50_us"], r["p99_us"])


def fmt_result(t, m):
    if t.startswith("stream"):
        return "%.3f Gb/s" % m["gbit_s"]
    if t.startswith("crr"):
        return "%.0f c/s" % m["conn_s"]
    return "%.0f/%.0fus" % (m["p50_us"], m["p99_us"])


def describe_background(b):
    if b["preset"] == "none":
        return "none"
    return "gen_cluster.py --preset %s --seed %d (%d pods, %d on %s, %d policies)" % (
        b["preset"], b["seed"], b["pods"], b["local_pods"], NODE, b["policies"])


ALL_TESTS = ["stream1", "stream4", "crr1", "crr4", "crrfan", "rr"]


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("serve", "stream", "crr", "rr", "probe"):
        p = argparse.ArgumentParser()
        p.add_argument("mode")
        p.add_argument("--dst")
        p.add_argument("--port", type=int)
        p.add_argument("--seconds", type=float, default=5)
        p.add_argument("--start", type=float, default=0)
        p.add_argument("--timeout", type=float, default=1)
        p.add_argument("--sink", type=int)
        p.add_argument("--crr", type=int)
        p.add_argument("--rr", type=int)
        p.add_argument("--crr-threads", type=int, default=4)
        p.add_argument("--nports", type=int, default=1)
        p.add_argument("--fan-base", type=int, default=0)
        p.add_argument("--fan-n", type=int, default=0)
        a = p.parse_args()
        {"serve": serve, "stream": stream, "crr": crr, "rr": rr, "probe": probe}[a.mode](a)
        return 0
    p = argparse.ArgumentParser(
        prog="datapath-bench.sh",
        description="What ovs-netpol's flows cost in the userspace datapath: tables A "
                    "(actions=NORMAL), B (compiled, established packets re-checked), C (B with "
                    "established packets skipping the policies).  Needs root.")
    p.add_argument("--preset", default="small",
                   help="background cluster: gen_cluster.py --preset (tiny small medium ...) or "
                        "none (default small: 1,000 pods, 100 policies)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seconds", type=float, default=5, help="per run (default 5)")
    p.add_argument("--reps", type=int, default=3, help="runs per table and test (default 3)")
    p.add_argument("--tests", default=",".join(ALL_TESTS),
                   help="comma-separated, of %s" % " ".join(ALL_TESTS))
    p.add_argument("--tables", default="ABC",
                   help="ABC (default), or ABCD to add D, B with the audit of every "
                        "namespace on")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    a = p.parse_args()
    a.tests = [t for t in a.tests.split(",") if t]
    for t in a.tests:
        if t not in ALL_TESTS:
            p.error("unknown test " + t)
    a.tables = [k for k in a.tables if k in "ABCD"]
    if not set("ABC") <= set(a.tables):
        p.error("--tables: the report compares A, B and C; give all three (and D)")
    if os.geteuid() != 0:
        p.error("needs root (ovs/sandbox.sh)")
    for prog in ("ovs-vswitchd", "ovs-ofctl", "ovs-appctl", "ip", "ethtool"):
        if not shutil.which(prog):
            p.error(prog + " not found")
    if not os.access(NETPOL, os.X_OK):
        p.error("%s not built (make)" % NETPOL)
    b = Bench(a)

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        b.run()
        b.report()
    except KeyboardInterrupt:
        say("datapath-bench: interrupted")
        return 1
    finally:
        b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
