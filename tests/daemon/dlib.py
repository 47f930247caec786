"""Shared parts of the ovs-netpold behaviour tests (tests/daemon/t-*.py).

A test builds a Bed: a sandbox switch (ovs/sandbox.sh) with pods as network
namespaces, TCP listeners (tests/np-probe serve), a manifest directory and
ovs-netpold following it; Probers send a TCP connect every ~20 ms, each from
a new source port, from one pod to another and record every verdict
(prober.py, run inside the pod's netns).  Everything is stopped by PID and
every namespace deleted when the test ends, also on Ctrl-C or SIGTERM.

Python standard library only.  Needs root.  Environment:
  NP_DAEMON  the daemon (default ./ovs-netpold, else TOP/ovs-netpold)
  NP_PROBE   np-probe (default ./tests/np-probe, else TOP/tests/np-probe)
  NP_DTEST_KEEP=1  keep the work directory (it is kept anyway on failure)
  NP_DTEST_DIR     where work directories go (default $TMPDIR); each has
                   ovs-netpold.pid and sb/ (the sandbox), for a caller's
                   cleanup should a test be killed
  NP_LAUNCHER=podman  run the daemon from the image (localhost/ovs-netpol,
                   NP_IMAGE) as the DaemonSet does (tests/image/podman_daemon.py)
                   instead of NP_DAEMON
"""

import http.client
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SANDBOX_SH = os.path.join(TOP, "ovs", "sandbox.sh")
PROBER = os.path.join(HERE, "prober.py")
NODE = "node-1"
# The node's address in the sandbox: t-node.py puts it on br-int's own
# port (LOCAL) in the switch's namespace, where the node's processes are.
NODE_ADDRESS = "10.9.0.254"
COOKIE_PREFIX = 0x4e50
LAUNCHER = os.environ.get("NP_LAUNCHER", "native")
if LAUNCHER == "podman":
    sys.path.insert(0, os.path.join(TOP, "tests", "image"))
    import podman_daemon  # noqa: E402
elif LAUNCHER != "native":
    raise SystemExit("NP_LAUNCHER must be native or podman, not %r" % LAUNCHER)


def find_bin(env, rel):
    for c in (os.environ.get(env), os.path.join(os.getcwd(), rel),
              os.path.join(TOP, rel)):
        if c and os.access(c, os.X_OK):
            return os.path.abspath(c)
    raise SystemExit("%s: %s is not built (set %s)" % (sys.argv[0], rel, env))


def log(msg):
    print(msg, flush=True)


def run(cmd, env=None, check=True, timeout=60, input=None):
    p = subprocess.run(cmd, env=env, timeout=timeout, input=input, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode:
        raise RuntimeError("%s: exit %d: %s" % (
            " ".join(shlex.quote(c) for c in cmd), p.returncode,
            (p.stderr or p.stdout).strip()[-1500:]))
    return p


def percentile(values, q):
    v = sorted(values)
    if not v:
        return 0.0
    return v[max(1, -(-len(v) * q // 100)) - 1]     # nearest rank


# ---- manifests ---------------------------------------------------------------

def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (for --http)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# One ICMP or ICMPv6 echo request (raw socket: the bed has no ping);
# prints "reply" or "timeout".  See echo_request().
_ECHO = r"""
import select, socket, struct, sys
v6, dst, ident = sys.argv[1] == "6", sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW,
                  socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
hdr = struct.pack("!BBHHH", 128 if v6 else 8, 0, 0, ident, 1) + b"np-probe"
if not v6:  # the kernel fills in ICMPv6's checksum; ICMP's is ours
    c = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    c = (c >> 16) + (c & 0xffff)
    c = ~(c + (c >> 16)) & 0xffff
    hdr = hdr[:2] + struct.pack("!H", c) + hdr[4:]
s.sendto(hdr, (dst, 0))
while True:
    r, _, _ = select.select([s], [], [], 1.0)
    if not r:
        print("timeout")
        break
    data = s.recv(2048)
    icmp = data if v6 else data[(data[0] & 15) * 4:]
    if (icmp[0] == (129 if v6 else 0)
            and struct.unpack("!H", icmp[4:6])[0] == ident):
        print("reply")
        break
"""


def echo_request(bed, src, dst_ip, ident=0x4e50):
    """One echo request from pod 'src' to 'dst_ip' (ICMPv6 for an IPv6
    address) with identifier 'ident': "reply", "timeout", or "error:..."."""
    fam = "6" if ":" in dst_ip else "4"
    r = run(["ip", "netns", "exec", bed.pods[src]["netns"], sys.executable,
             "-c", _ECHO, fam, dst_ip, str(ident)], check=False)
    return r.stdout.strip() or "error:" + r.stderr.strip()


def metrics_body(port):
    """The text of /metrics on 'port'; an AssertionError unless 200."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read().decode()
    finally:
        c.close()
    if r.status != 200:
        raise AssertionError("/metrics: %d" % r.status)
    return body


def labelled_metrics(body, name_re):
    """[(name, {label: value}, value)] of the samples of 'body' with labels
    whose name matches the regular expression 'name_re' whole."""
    out = []
    for line in body.splitlines():
        m = re.match(r'(%s)\{(.*)\} (\S+)$' % name_re, line)
        if m:
            out.append((m.group(1), dict(re.findall(r'(\w+)="([^"]*)"',
                                                    m.group(2))),
                        float(m.group(3))))
    return out


def stats_json(bed, *args):
    """`ovs-netpol stats --json ARGS` as the daemon answers it."""
    return json.loads(bed.appctl("stats", "--json", *args).stdout)


def stats_wait(bed, pred, what, timeout=20):
    """Polls `stats` until pred(st) (the switch folds the datapath's
    counters into its flows' every ~0.5 s); returns the last answer."""
    t = time.monotonic()
    while True:
        st = stats_json(bed)
        if pred(st):
            return st
        if time.monotonic() - t > timeout:
            raise AssertionError("%s: not after %d s; stats: %s"
                                 % (what, timeout, json.dumps(st)))
        time.sleep(0.3)


def stats_settle(bed, key):
    """`stats` once key(st) stopped moving (two reads 2 s apart)."""
    prev = None
    for _ in range(30):
        time.sleep(2.1)
        st = stats_json(bed)
        if key(st) == prev:
            return st
        prev = key(st)
    raise AssertionError("counters never settled")


def plain_metrics(port, prefix):
    """{name: value} of the /metrics samples without labels whose name
    starts with 'prefix' (e.g. "ovs_netpol_audit_")."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/metrics")
        body = c.getresponse().read().decode()
    finally:
        c.close()
    out = {}
    for line in body.splitlines():
        m = re.match(r"(%s\w*) (\S+)$" % re.escape(prefix), line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"ns": name}}}


def pod(ns, name, ip, labels):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"namespace": ns, "name": name, "labels": labels},
            "spec": {"nodeName": NODE, "containers": [
                {"name": "c", "image": "none",
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}


def policy(ns, name, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"namespace": ns, "name": name}, "spec": spec}


def v1list(items):
    return {"apiVersion": "v1", "kind": "List", "items": items}


# The cluster of every test: x/a is the server; x/b may reach it, y/a may
# not (allow-x admits only pods of namespace x on port 80); z/a is not
# isolated at all.
PODS = [("x", "a", "10.9.1.1", {"app": "a"}),
        ("x", "b", "10.9.1.2", {"app": "b"}),
        ("y", "a", "10.9.2.1", {"app": "a"}),
        ("z", "a", "10.9.3.1", {"app": "a"})]
SERVER = "10.9.1.1"


def cluster_doc():
    return v1list([namespace(n) for n in ("x", "y", "z")]
                  + [pod(ns, n, ip, lab) for ns, n, ip, lab in PODS])


def allow_x(extra_ports=(), ipblock=None, name="allow-x"):
    peers = [{"podSelector": {}}]
    if ipblock:
        peers.append({"ipBlock": {"cidr": ipblock}})
    ports = [{"protocol": "TCP", "port": 80}] + [
        {"protocol": "TCP", "port": p} for p in extra_ports]
    return policy("x", name, {"podSelector": {"matchLabels": {"app": "a"}},
                              "policyTypes": ["Ingress"],
                              "ingress": [{"from": peers, "ports": ports}]})


# ---- flows -------------------------------------------------------------------

def parse_flows(text):
    """[(cookie, line)] of `ovs-ofctl dump-flows` output."""
    out = []
    for line in text.splitlines():
        m = re.search(r"cookie=0x([0-9a-f]+)", line)
        if m:
            out.append((int(m.group(1), 16), line.strip()))
        elif "actions=" in line:
            out.append((0, line.strip()))
    return out


def ours(flows):
    return [(c, l) for c, l in flows if c >> 48 == COOKIE_PREFIX]


def generations(flows):
    return sorted({(c >> 40) & 0xff for c, _ in ours(flows)})


def strip_stats(line):
    return re.sub(r"(duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*, ?", "",
                  line)


def canonical(flows):
    """Our flows with the generation bits zeroed: equal for two
    generations of one table."""
    out = []
    for c, l in ours(flows):
        c0 = c & ~(0xff << 40)
        out.append(re.sub(r"cookie=0x[0-9a-f]+", "cookie=%#x" % c0, strip_stats(l)))
    return sorted(out)


# ---- the bed -----------------------------------------------------------------

class Bed:
    def __init__(self, name, keep=None):
        self.name = name
        base = os.environ.get("NP_DTEST_DIR") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="np-dtest-%s." % name, dir=base)
        self.sb = os.path.join(self.work, "sb")
        self.src = os.path.join(self.work, "source")
        os.makedirs(self.src)
        self.ctl = os.path.join(self.work, "ctl")
        self.container = None
        if LAUNCHER == "podman":
            # the container sees this directory as /var/run/ovs-netpol
            self.ctl_dir = os.path.join(self.work, "run-ovs-netpol")
            os.makedirs(self.ctl_dir)
            self.ctl = os.path.join(self.ctl_dir, "ovs-netpold.ctl")
            self.container = "np-dtest-%s-%d" % (name, os.getpid())
            self.daemon_bin = podman_daemon.IMAGE
        else:
            self.daemon_bin = find_bin("NP_DAEMON", "ovs-netpold")
        self.probe_bin = find_bin("NP_PROBE", "tests/np-probe")
        self.env = None
        self.pods = {}
        self.daemon = None
        self.daemon_log = os.path.join(self.work, "ovs-netpold.log")
        self.daemon_pid = os.path.join(self.work, "ovs-netpold.pid")
        self.daemon_args = []
        self.server = None
        self.probers = []
        self.sport = 30000
        self.keep = keep if keep is not None else bool(os.environ.get("NP_DTEST_KEEP"))
        self.failed = False
        self._old = {}
        for s in (signal.SIGTERM, signal.SIGHUP):
            self._old[s] = signal.signal(s, self._on_signal)

    def _on_signal(self, sig, frame):
        raise KeyboardInterrupt()

    # -- setup --
    def start(self, daemon_args=()):
        run([SANDBOX_SH, "start", self.sb])
        self.env = dict(os.environ)
        with open(os.path.join(self.sb, "env")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    k, v = line[7:].split("=", 1)
                    self.env[k] = v.strip("'")
        args = []
        for ns, n, ip, _ in PODS:
            args += [ns, n, ip]
        run([SANDBOX_SH, "add-pod", self.sb] + args)
        with open(os.path.join(self.sb, "pods")) as f:
            for line in f:
                w = line.split()
                self.pods[w[0]] = {"port": w[1], "netns": w[2], "ofport": w[3],
                                   "ip": w[5].split(",")[0].split("/")[0]}
        spec = os.path.join(self.work, "serve.spec")
        with open(spec, "w") as f:
            for key, p in self.pods.items():
                f.write("%s tcp 80\n" % p["netns"])
        self.server = subprocess.Popen(
            [self.probe_bin, "serve", "--spec", spec, "--control-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.server.stdout.readline()
        if not line.startswith("ready") or "failed=" in line:
            raise RuntimeError("np-probe serve: %r" % line)
        self.write("cluster.json", cluster_doc())
        self.daemon_args = list(daemon_args)
        self.start_daemon()

    def write(self, name, doc, text=None):
        """Atomically: a dot-named temporary file, renamed."""
        tmp = os.path.join(self.src, "." + name + ".tmp")
        with open(tmp, "w") as f:
            if text is not None:
                f.write(text)
            else:
                json.dump(doc, f)
        os.rename(tmp, os.path.join(self.src, name))

    def remove(self, name):
        os.unlink(os.path.join(self.src, name))

    # -- the daemon --
    def daemon_command(self):
        if LAUNCHER == "podman":
            podman_daemon.remove(self.container)
            return podman_daemon.command(
                self.container,
                ["--source", "dir:/etc/ovs-netpol/manifests", "--bridge", "br-int",
                 "--node", NODE, "--node-address", NODE_ADDRESS,
                 "--control", "/var/run/ovs-netpol/ovs-netpold.ctl"] + self.daemon_args,
                os.path.join(self.sb, "run"), self.ctl_dir,
                mounts=[(self.src, "/etc/ovs-netpol/manifests")])
        return [self.daemon_bin, "--source", "dir:" + self.src,
                "--ovs-rundir", os.path.join(self.sb, "run"), "--bridge", "br-int",
                "--node", NODE, "--node-address", NODE_ADDRESS,
                "--control", self.ctl] + self.daemon_args

    def start_daemon(self, sync=True):
        cmd = self.daemon_command()
        with open(self.daemon_log, "a") as lf:
            lf.write("==== %s\n" % " ".join(cmd))
            lf.flush()
            self.daemon = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf,
                                           stderr=subprocess.STDOUT,
                                           start_new_session=True)
        t = time.monotonic()
        pid = self.daemon.pid
        if LAUNCHER == "podman":
            # the daemon itself, so that a caller's cleanup by PID ends the
            # container (podman run --rm then removes it)
            pid = podman_daemon.host_pid(self.container) or pid
        with open(self.daemon_pid, "w") as f:
            f.write("%d\n" % pid)
        while self.appctl("status", check=False).returncode:
            if self.daemon.poll() is not None:
                raise RuntimeError("ovs-netpold exited with %d at start; see %s"
                                   % (self.daemon.returncode, self.daemon_log))
            if time.monotonic() - t > 10:
                raise RuntimeError("ovs-netpold: no control socket after 10 s")
            time.sleep(0.01)
        if sync:
            self.sync()
        return time.monotonic() - t

    def stop_daemon(self, sig=signal.SIGTERM, timeout=10):
        """Returns the exit status (negative: killed by that signal)."""
        p, self.daemon = self.daemon, None
        if p is None:
            return None
        if LAUNCHER == "podman":
            return podman_daemon.stop(p, self.container, sig, timeout)
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise RuntimeError("ovs-netpold ignored signal %d for %d s" % (sig, timeout))
        return p.returncode

    def appctl(self, *args, check=True, timeout=30):
        return run(["ovs-appctl", "-t", self.ctl] + list(args), env=self.env,
                   check=check, timeout=timeout)

    def sync(self, timeout=10):
        t = time.monotonic()
        p = self.appctl("sync", "--timeout", str(timeout), check=False,
                        timeout=timeout + 10)
        if p.returncode:
            raise RuntimeError("sync failed: %s" % (p.stderr or p.stdout).strip())
        return time.monotonic() - t

    def status(self):
        return self.appctl("status").stdout

    def status_field(self, name):
        for line in self.status().splitlines():
            if line.startswith(name + ":"):
                return line[len(name) + 1:].strip()
        return None

    # -- the switch --
    def ofctl(self, *args, check=True):
        return run(["ovs-ofctl", "-O", "OpenFlow15", "--no-names"] + list(args),
                   env=self.env, check=check)

    def flows(self, check=True):
        p = self.ofctl("dump-flows", "br-int", check=check)
        return parse_flows(p.stdout) if p.returncode == 0 else None

    def purge(self):
        run(["ovs-appctl", "revalidator/purge"], env=self.env)
        run(["ovs-appctl", "dpctl/flush-conntrack"], env=self.env)

    # -- probes --
    def prober(self, src, dst_ip, label, sport_first, interval=0.02, timeout=0.9):
        p = self.pods[src]
        out = os.path.join(self.work, "probe-%s.jsonl" % label)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", p["netns"], sys.executable, PROBER,
             "--src", p["ip"], "--dst", dst_ip, "--port", "80",
             "--interval", str(interval), "--timeout", str(timeout),
             "--sport-first", str(sport_first), "--out", out],
            stdin=subprocess.PIPE, text=True)
        pr = {"label": label, "proc": proc, "out": out, "src": src, "dst": dst_ip}
        self.probers.append(pr)
        return pr

    def stop_probers(self):
        """Stops every prober (they finish what is in flight) and returns
        {label: [(t_send, result, ms)]}."""
        res = {}
        for pr in self.probers:
            try:
                pr["proc"].stdin.close()
            except Exception:
                pass
        for pr in self.probers:
            try:
                pr["proc"].wait(timeout=10)
            except subprocess.TimeoutExpired:
                pr["proc"].kill()
                pr["proc"].wait()
            rows = []
            try:
                with open(pr["out"]) as f:
                    for line in f:
                        rows.append(tuple(json.loads(line)))
            except OSError:
                pass
            res[pr["label"]] = rows
        self.probers = []
        return res

    def probe_once(self, src, dst_ip, sport=None, timeout_ms=900):
        """One TCP probe with np-probe; 'allowed', 'denied' or 'error:...'.
        Without 'sport', a source port never used before in this bed."""
        if sport is None:
            sport = self.sport
            self.sport += 1
        spec = os.path.join(self.work, "once.spec")
        with open(spec, "w") as f:
            f.write("0 %s tcp %s 80 %d\n" % (self.pods[src]["netns"], dst_ip, sport))
        p = run([self.probe_bin, "probe", "--spec", spec, "--timeout-ms",
                 str(timeout_ms)], check=False)
        w = (p.stdout.split() + ["", "", ""])[:3]
        return {"connected": "allowed", "refused": "allowed",
                "timeout": "denied"}.get(w[1], "error:" + p.stdout + p.stderr)

    # -- the end --
    def close(self):
        for pr in self.probers:
            try:
                pr["proc"].stdin.close()
                pr["proc"].wait(timeout=5)
            except Exception:
                try:
                    pr["proc"].kill()
                    pr["proc"].wait()
                except Exception:
                    pass
        self.probers = []
        try:
            self.stop_daemon()
        except Exception as e:
            log("cleanup: %s" % e)
        if self.server:
            try:
                self.server.stdin.close()
                self.server.wait(timeout=5)
            except Exception:
                self.server.kill()
                self.server.wait()
            self.server = None
        run([SANDBOX_SH, "stop", self.sb], check=False)
        for s, h in self._old.items():
            signal.signal(s, h)
        if self.failed or self.keep:
            log("work directory kept: %s (daemon log: %s)" % (self.work, self.daemon_log))
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def summarize(rows):
    """Counts of a prober's results."""
    c = {}
    for _, r, _ in rows:
        c[r] = c.get(r, 0) + 1
    return c


def judge(rows, expect):
    """The rows whose verdict is not 'expect' ('allowed' or 'denied')."""
    bad = []
    for t, r, ms in rows:
        got = "allowed" if r in ("connected", "refused") else \
            "denied" if r == "timeout" else "error"
        if got != expect:
            bad.append((t, r, ms))
    return bad


def lone_losses(rows, bad):
    """Of the 'bad' rows of an allowed prober, those that look like a
    packet lost under load, not a gap in the flows: a timeout whose
    neighbours in time both connected.  A table that lacked the rule for
    even one probe interval fails two probes in a row (or ends or starts
    the run with a failure), so these are forgiven only one at a time, and
    at most one per hundred probes (see the caller)."""
    order = sorted(rows)
    failed = {id(r) for r in order if r in bad}
    lone = []
    for i, r in enumerate(order):
        if id(r) in failed and r[1] == "timeout" and 0 < i < len(order) - 1 \
                and id(order[i - 1]) not in failed \
                and id(order[i + 1]) not in failed:
            lone.append(r)
    return lone


def main_wrapper(name, fn):
    """Runs fn(bed) -> (ok, summary); prints the verdict line; exit 0/1."""
    if os.geteuid() != 0:
        print("SKIP %s: needs root" % name)
        return 77
    bed = Bed(name)
    ok, summary = False, "not run"
    t = time.monotonic()
    try:
        ok, summary = fn(bed)
    except KeyboardInterrupt:
        summary = "interrupted"
    except Exception as e:
        import traceback
        traceback.print_exc()
        summary = "error: %s: %s" % (type(e).__name__, e)
    finally:
        bed.failed = not ok
        bed.close()
    print("%s %s (%.1f s): %s" % ("PASS" if ok else "FAIL", name,
                                  time.monotonic() - t, summary), flush=True)
    return 0 if ok else 1
