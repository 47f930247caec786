"""A test bed for ovs-netpold driven through the Kubernetes API: the API
server stand-in (tests/kube-apiserver-sim, HTTPS with a bearer token, a
kubeconfig), the real kubectl against it, a sandbox switch (ovs/sandbox.sh)
with pods as network namespaces, TCP listeners in every pod (tests/np-probe
serve), ovs-netpold following the stand-in, and real TCP probes
(tests/np-probe probe).

The stand-in gets deploy/kubernetes (`kubectl apply -k`), and the daemon
runs with a token of the DaemonSet's service account (`kubectl create
token`), so under the DaemonSet's own ClusterRole: stop() reports every 401
and 403 the stand-in counted for that account, and a daemon that never
used it.  kubectl keeps the admin kubeconfig.

Used by tests/kube-e2e/run.py and deploy/sandbox-demo.py.  Python standard
library only.  Needs root.  Everything it starts is stopped by PID in
stop(), and the sandbox's namespaces are deleted (ovs/sandbox.sh stop);
SIGTERM and SIGHUP are turned into KeyboardInterrupt so that the caller's
`finally: bed.stop()` also runs then.

Environment: NP_KUBECTL (default /usr/bin/kubectl, else kubectl on PATH),
NP_DAEMON, NP_NETPOL, NP_PROBE, NP_SIM (default: the built files of the
tree).
"""

import base64
import datetime
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")
DEPLOY = os.path.join(TOP, "deploy", "kubernetes")
NODE = "node-1"
# NP_LAUNCHER=podman: the daemon runs from the image as the DaemonSet runs
# it (tests/image/podman_daemon.py), with the DaemonSet's own command, the
# ConfigMap's files at /etc/ovs-netpol, and the service account's token
# where the kubelet projects it (the in-cluster configuration).
LAUNCHER = os.environ.get("NP_LAUNCHER", "native")
if LAUNCHER == "podman":
    import sys
    sys.path.insert(0, os.path.join(TOP, "tests", "image"))
    import podman_daemon  # noqa: E402
elif LAUNCHER != "native":
    raise SystemExit("NP_LAUNCHER must be native or podman, not %r" % LAUNCHER)


class BedError(Exception):
    """Setup failed (not a verdict)."""


def find_bin(env, rel):
    c = os.environ.get(env) or os.path.join(TOP, rel)
    if not os.access(c, os.X_OK):
        raise BedError("%s is not built (or set %s)" % (c, env))
    return os.path.abspath(c)


def find_kubectl():
    c = os.environ.get("NP_KUBECTL")
    if not c:
        c = "/usr/bin/kubectl" if os.access("/usr/bin/kubectl", os.X_OK) \
            else shutil.which("kubectl")
    if not c or not os.access(c, os.X_OK):
        raise BedError("kubectl not found (set NP_KUBECTL)")
    return c


def quote(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


def run(cmd, check=True, timeout=60, input=None, env=None):
    try:
        p = subprocess.run(cmd, timeout=timeout, input=input, text=True,
                           env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    except subprocess.TimeoutExpired:
        raise BedError("%s: no answer within %d s" % (quote(cmd), timeout))
    if check and p.returncode:
        raise BedError("%s: exit %d: %s" % (
            quote(cmd), p.returncode, (p.stderr or p.stdout).strip()[-1500:]))
    return p


def tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def pod_key(o):
    md = o["metadata"]
    return "%s/%s" % (md.get("namespace", "default"), md["name"])


def pod_ip(o):
    st = o.get("status") or {}
    ips = [x["ip"] for x in st.get("podIPs") or [] if x.get("ip")]
    return ips[0] if ips else st.get("podIP")


def pod_tcp_ports(o):
    return sorted({p["containerPort"]
                   for c in (o.get("spec") or {}).get("containers") or []
                   for p in c.get("ports") or []
                   if (p.get("protocol") or "TCP").upper() == "TCP"})


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bed:
    def __init__(self, work=None, keep=False, bookmark_interval=None,
                 log=print):
        self.kubectl_bin = find_kubectl()
        self.daemon_bin = find_bin("NP_DAEMON", "ovs-netpold")
        self.netpol_bin = find_bin("NP_NETPOL", "ovs-netpol")
        self.probe_bin = find_bin("NP_PROBE", "tests/np-probe")
        self.sim_bin = find_bin("NP_SIM", "tests/kube-apiserver-sim")
        self.work = os.path.abspath(work) if work else \
            tempfile.mkdtemp(prefix="np-kube-e2e.")
        os.makedirs(self.work, exist_ok=True)
        self.keep = keep
        self.bookmark_interval = bookmark_interval
        self.log = log
        self.sbx = os.path.join(self.work, "sb")
        self.kubeconfig = os.path.join(self.work, "kubeconfig")
        # The daemon's: the DaemonSet's service account (start_sim() writes it)
        self.daemon_kubeconfig = os.path.join(self.work, "daemon.kubeconfig")
        self.sa_user = None
        self.kcache = os.path.join(self.work, "kube-cache")
        self.ctl = os.path.join(self.work, "ovs-netpold.ctl")
        self.container = None
        self.ds_container = None    # the DaemonSet's container spec
        if LAUNCHER == "podman":
            self.ctl_dir = os.path.join(self.work, "run-ovs-netpol")
            self.ctl = os.path.join(self.ctl_dir, "ovs-netpold.ctl")
            self.container = "np-kube-e2e-%d" % os.getpid()
        self.daemon_log = os.path.join(self.work, "ovs-netpold.log")
        self.sim_log = os.path.join(self.work, "kube-apiserver-sim.log")
        self.token = secrets.token_hex(16)
        self.sim = self.daemon = self.server = None
        self.sandbox_started = False
        self.pods = {}          # "ns/pod" -> {netns, ofport, ip, ports}
        self.listen = {}        # netns -> [ports]
        self.sport = 20000      # next probe source port (never reused)
        self.url = None
        self._old = {}
        for s in (signal.SIGTERM, signal.SIGHUP):
            self._old[s] = signal.signal(s, self._on_signal)

    def _on_signal(self, sig, frame):
        raise KeyboardInterrupt()

    # ---- the API server stand-in and kubectl -------------------------------

    def start_sim(self):
        cmd = [self.sim_bin, "--listen", "127.0.0.1:0",
               "--tls-dir", os.path.join(self.work, "tls"),
               "--token", self.token, "--kubeconfig-out", self.kubeconfig]
        if self.bookmark_interval is not None:
            cmd += ["--bookmark-interval", str(self.bookmark_interval)]
        with open(self.sim_log, "w") as err:
            self.sim = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=err,
                                        text=True, start_new_session=True)
        line = self.sim.stdout.readline().strip()
        if not line.startswith("listening "):
            raise BedError("kube-apiserver-sim did not start (%r): %s"
                           % (line, tail(self.sim_log)))
        self.url = line.split()[1]
        self._deploy_rbac()
        return self.url

    def _deploy_rbac(self):
        """Applies deploy/kubernetes and writes daemon_kubeconfig with a
        token of its DaemonSet's service account."""
        doc = json.loads(self.kubectl("apply", "-k", DEPLOY, "-o", "json").stdout)
        items = doc.get("items", []) if doc.get("kind") == "List" else [doc]
        ds = [o for o in items if o.get("kind") == "DaemonSet"]
        if len(ds) != 1:
            raise BedError("%s: expected one DaemonSet, found %d" % (DEPLOY, len(ds)))
        ns = ds[0]["metadata"]["namespace"]
        sa = ds[0]["spec"]["template"]["spec"].get("serviceAccountName") or "default"
        token = self.kubectl("create", "token", sa, "-n", ns,
                             "--duration", "24h").stdout.strip()
        self.sa_user = "system:serviceaccount:%s:%s" % (ns, sa)
        if LAUNCHER == "podman":
            self._pod_files(ds[0], ns, token)
        with open(os.path.join(self.work, "tls", "ca.crt"), "rb") as f:
            ca = base64.b64encode(f.read()).decode()
        fd = os.open(self.daemon_kubeconfig, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("apiVersion: v1\nkind: Config\n"
                    "clusters:\n- name: sim\n  cluster:\n    server: %s\n"
                    "    certificate-authority-data: %s\n"
                    "users:\n- name: %s\n  user:\n    token: %s\n"
                    "contexts:\n- name: sim\n  context:\n    cluster: sim\n"
                    "    user: %s\ncurrent-context: sim\n"
                    % (self.url, ca, sa, token, sa))

    def _pod_files(self, ds, ns, token):
        """What the kubelet gives the DaemonSet's pod: the files of its
        ConfigMap volume, and the service account's token, CA and
        namespace."""
        spec = ds["spec"]["template"]["spec"]
        self.ds_container = [c for c in spec["containers"]
                             if c["name"] == "ovs-netpold"][0]
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        self.pod_mounts = []
        for m in self.ds_container.get("volumeMounts", []):
            cm = (vols.get(m["name"]) or {}).get("configMap")
            if not cm:
                continue
            d = os.path.join(self.work, "configmap-" + cm["name"])
            os.makedirs(d, exist_ok=True)
            obj = json.loads(self.kubectl("get", "configmap", cm["name"], "-n", ns,
                                          "-o", "json").stdout)
            for k, v in (obj.get("data") or {}).items():
                with open(os.path.join(d, k), "w") as f:
                    f.write(v)
            self.pod_mounts.append((d, m["mountPath"]))
        self.sa_dir = os.path.join(self.work, "serviceaccount")
        os.makedirs(self.sa_dir, exist_ok=True)
        shutil.copy(os.path.join(self.work, "tls", "ca.crt"),
                    os.path.join(self.sa_dir, "ca.crt"))
        for name, text in (("token", token), ("namespace", ns)):
            with open(os.path.join(self.sa_dir, name), "w") as f:
                f.write(text)

    def _podman_command(self, extra):
        """The DaemonSet container's command and args, $(VAR) expanded from
        its env as the kubelet does (spec.nodeName = this bed's node), then
        the bed's own flags (flags win over the config file)."""
        env = {}
        for e in self.ds_container.get("env", []):
            if "value" in e:
                env[e["name"]] = e["value"]
            elif (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName":
                env[e["name"]] = NODE
        argv = list(self.ds_container.get("command", [])) + \
            list(self.ds_container.get("args", []))
        argv = [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                       lambda m: env.get(m.group(1), m.group(0)), a) for a in argv]
        if not argv or argv[0] != "/usr/bin/ovs-netpold":
            raise BedError("the DaemonSet's container runs %r, not /usr/bin/ovs-netpold" % argv[:1])
        host, port = re.match(r"https://([^/]+):(\d+)", self.url).groups()
        os.makedirs(self.ctl_dir, exist_ok=True)
        podman_daemon.remove(self.container)
        return podman_daemon.command(
            self.container, argv[1:] + list(extra),
            os.path.join(self.sbx, "run"), self.ctl_dir,
            mounts=self.pod_mounts, sa_dir=self.sa_dir, api=(host, port),
            rw_mounts=[(self.audit_dir, "/var/log/ovs-netpol")])

    def auth_problems(self):
        """The 401s and 403s the stand-in counted for the daemon's service
        account, and a daemon that never made an allowed request with it."""
        if not self.sa_user or not self.sim or self.sim.poll() is not None:
            return []
        p = self.kubectl("get", "--raw", "/sim/auth", check=False)
        if p.returncode:
            return ["/sim/auth: %s" % (p.stderr or p.stdout).strip()]
        st = json.loads(p.stdout)["users"].get(self.sa_user) or {}
        out = []
        if st.get("forbidden") or st.get("unauthorized"):
            out.append("%s got %d 403 and %d 401 answers; last: %s" % (
                self.sa_user, st.get("forbidden", 0), st.get("unauthorized", 0),
                " | ".join(st.get("lastDenials", [])[-3:])))
        if self.daemon and not st.get("allowed"):
            out.append("ovs-netpold made no request as %s" % self.sa_user)
        return out

    def kubectl(self, *args, check=True, timeout=60):
        return run([self.kubectl_bin, "--kubeconfig", self.kubeconfig,
                    "--cache-dir", self.kcache] + list(args),
                   check=check, timeout=timeout)

    def manifest_pods(self, *files):
        """The pods of manifest files, as the API server would see them,
        without creating anything (kubectl apply --dry-run=client)."""
        args = ["apply", "--dry-run=client", "-o", "json"]
        for f in files:
            args += ["-f", f]
        doc = json.loads(self.kubectl(*args).stdout)
        items = doc.get("items", [doc]) if doc.get("kind") == "List" else [doc]
        return [o for o in items if o.get("kind") == "Pod"]

    # ---- the sandbox and the listeners -------------------------------------

    def start_sandbox(self):
        self.sandbox_started = True
        run([SANDBOX, "start", self.sbx])
        spec = os.path.join(self.work, "listen.spec")
        open(spec, "w").close()
        self.server = subprocess.Popen(
            [self.probe_bin, "serve", "--spec", spec, "--control-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        self._server_ready()

    def _server_ready(self):
        ready = self.server.stdout.readline().strip()
        if not ready.startswith("ready") or "failed" in ready:
            raise BedError("np-probe serve: %r" % ready)

    def add_pods(self, pods):
        """Plugs pods (API objects) into the sandbox switch, as a CNI would:
        a netns on a veth whose Interface has external_ids:iface-id=NS_POD,
        and TCP listeners on the pod's container ports."""
        if not pods:
            return
        args = []
        for o in pods:
            md = o["metadata"]
            args += [md.get("namespace", "default"), md["name"], pod_ip(o)]
        run([SANDBOX, "add-pod", self.sbx] + args)
        with open(os.path.join(self.sbx, "pods")) as f:
            rows = {l.split()[0]: l.split() for l in f if l.strip()}
        for o in pods:
            k = pod_key(o)
            w = rows[k]
            self.pods[k] = {"key": k, "port": w[1], "netns": w[2],
                            "ofport": w[3], "ip": pod_ip(o),
                            "ports": pod_tcp_ports(o)}
            self.listen[w[2]] = self.pods[k]["ports"]
        with open(os.path.join(self.work, "listen.spec"), "w") as f:
            for ns, ports in self.listen.items():
                if ports:
                    f.write("%s tcp %s\n" % (ns, " ".join(map(str, ports))))
        self.server.stdin.write("reload\n")
        self.server.stdin.flush()
        self._server_ready()

    def sw(self, *args, check=True):
        return run([SANDBOX, "sw", self.sbx] + list(args), check=check)

    def purge(self):
        """No datapath flow cached from an earlier table, and no conntrack
        entry of an earlier probe, may decide a probe."""
        self.sw("ovs-appctl", "revalidator/purge")
        self.sw("ovs-appctl", "dpctl/flush-conntrack")

    # ---- the daemon ---------------------------------------------------------

    def start_daemon(self, extra=()):
        # The matrix is pod to pod; this host's own addresses are not the
        # sandbox node's.
        own = ["--node-address", "none", "--log-level", "debug"]
        # The audit log (README, "Audit log") where the DaemonSet puts it,
        # /var/log/ovs-netpol on the node: here the bed's own directory.
        self.audit_dir = os.path.join(self.work, "var-log-ovs-netpol")
        os.makedirs(self.audit_dir, exist_ok=True)
        self.audit_log = os.path.join(self.audit_dir, "audit.log")
        if LAUNCHER == "podman":
            # The config's port is the node's; a bed on a shared host
            # takes a free one.
            self.http_port = free_port()
            cmd = self._podman_command(
                own + ["--log-format", "text",
                       "--http", "127.0.0.1:%d" % self.http_port] + list(extra))
        else:
            cmd = [self.daemon_bin, "--kubeconfig", self.daemon_kubeconfig,
                   "--ovs-rundir", os.path.join(self.sbx, "run"),
                   "--node", NODE, "--control", self.ctl,
                   "--audit-log", self.audit_log] + own + list(extra)
        with open(self.daemon_log, "w") as lf:
            lf.write("==== %s\n" % quote(cmd))
            lf.flush()
            # its own session: a Ctrl-C reaches only us; we stop it by PID
            self.daemon = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                           stdout=lf, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            if self.daemon.poll() is not None:
                raise BedError("ovs-netpold exited with %d at start:\n%s"
                               % (self.daemon.returncode, tail(self.daemon_log)))
            if run([self.netpol_bin, "--control", self.ctl, "status"],
                   check=False, timeout=10).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise BedError("ovs-netpold: no control socket after 10 s")
            time.sleep(0.05)

    def restart_daemon(self, extra=()):
        """Stops the daemon (SIGTERM, by PID) and starts it again with the
        extra options 'extra'."""
        if self.container:
            rc = podman_daemon.stop(self.daemon, self.container)
        else:
            self.daemon.send_signal(signal.SIGTERM)
            rc = self.daemon.wait(timeout=10)
        if rc:
            raise BedError("ovs-netpold: exit %s on SIGTERM" % rc)
        self.start_daemon(extra)

    def netpol(self, *args, check=True, timeout=30):
        return run([self.netpol_bin, "--control", self.ctl] + list(args),
                   check=check, timeout=timeout)

    def status(self):
        return self.netpol("status").stdout

    def sync(self, timeout=10):
        """`ovs-netpol sync --timeout T`; returns (seconds, output)."""
        t = time.monotonic()
        p = self.netpol("sync", "--timeout", str(timeout), check=False,
                        timeout=timeout + 10)
        dt = time.monotonic() - t
        if p.returncode:
            alive = self.daemon.poll() is None
            raise BedError("ovs-netpol sync: exit %d after %.2f s%s: %s" % (
                p.returncode, dt, "" if alive else
                " (ovs-netpold exited with %d)" % self.daemon.returncode,
                (p.stderr or p.stdout).strip()))
        return dt, p.stdout.strip()

    def dump_flows(self):
        return self.sw("ovs-ofctl", "-O", "OpenFlow15", "--no-stats",
                       "--no-names", "dump-flows", "br-int").stdout

    def wait_bindings(self, timeout=5.0):
        """Every sandbox pod spoof-guarded by its port (in_port=OFPORT with
        its source address).  The bindings come from OVSDB, which `sync`
        does not wait for.  Returns the seconds waited beyond the first
        look (0.0 when they were all there)."""
        want = {(p["ofport"], ipaddress.ip_address(p["ip"]))
                for p in self.pods.values()}
        t = time.monotonic()
        first = True
        while True:
            got = set()
            for line in self.dump_flows().splitlines():
                m = re.search(r"in_port=(\d+)", line)
                a = re.search(r"(?:nw_src|ipv6_src)=([0-9A-Fa-f:.]+)", line)
                if m and a:
                    try:
                        got.add((m.group(1), ipaddress.ip_address(a.group(1))))
                    except ValueError:
                        pass
            missing = want - got
            if not missing:
                return 0.0 if first else time.monotonic() - t
            first = False
            if time.monotonic() - t > timeout:
                raise BedError("no spoof-guard flow for ofport/ip %s" % ", ".join(
                    "%s/%s" % m for m in sorted(missing, key=str)))
            time.sleep(0.05)

    def commits_since(self, since):
        """[(wall-clock seconds, line)] of the daemon's 'switch: committed'
        and 'switch: installed' log lines stamped at or after 'since' (a
        time.time() value; the log has millisecond UTC stamps)."""
        out = []
        with open(self.daemon_log, errors="replace") as f:
            for line in f:
                if " switch: committed " not in line and \
                        " switch: installed " not in line:
                    continue
                try:
                    ts = datetime.datetime.strptime(
                        line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                            tzinfo=datetime.timezone.utc).timestamp()
                except ValueError:
                    continue
                if ts >= since - 0.0005:
                    out.append((ts, line.strip()))
        return out

    # ---- probes ------------------------------------------------------------

    def probe(self, probes, timeout_ms=1000):
        """probes: [(src_key, dst_key, port)]; every probe from a source
        port never used before in this run.  Returns {probe: result} with
        result "connected", "timeout", "refused" or "error ..."."""
        lines = []
        for i, (s, d, port) in enumerate(probes):
            lines.append("p%d %s tcp %s %d %d" % (
                i, self.pods[s]["netns"], self.pods[d]["ip"], port, self.sport))
            self.sport += 1
            if self.sport > 60999:
                raise BedError("probe source ports exhausted")
        spec = os.path.join(self.work, "probe.spec")
        with open(spec, "w") as f:
            f.write("\n".join(lines) + "\n")
        out = run([self.probe_bin, "probe", "--spec", spec, "--timeout-ms",
                   str(timeout_ms)], timeout=60).stdout.splitlines()
        res = {}
        for line in out:
            w = line.split()
            res[probes[int(w[0][1:])]] = w[1] if w[1] != "error" \
                else " ".join([w[1]] + w[3:])
        if len(res) != len(probes):
            raise BedError("np-probe answered %d of %d probes"
                           % (len(res), len(probes)))
        return res

    def matrix_probes(self, keys=None):
        keys = keys or list(self.pods)
        return [(s, d, port) for s in keys for d in keys if s != d
                for port in self.pods[d]["ports"]]

    # ---- the end -----------------------------------------------------------

    def pids(self):
        return {name: p.pid for name, p in (
            ("kube-apiserver-sim", self.sim), ("ovs-netpold", self.daemon),
            ("np-probe serve", self.server)) if p and p.poll() is None}

    def stop(self, keep_dir=None):
        """Stops what we started, by PID; returns a list of problems (the
        daemon's exit status).  The work directory is removed unless
        'keep_dir' (default: the constructor's 'keep')."""
        problems = []
        try:
            problems += self.auth_problems()
        except (BedError, ValueError, KeyError) as e:
            problems.append("/sim/auth: %s" % e)
        if self.daemon:
            if self.container:
                rc = podman_daemon.stop(self.daemon, self.container)
                if rc:
                    problems.append("ovs-netpold (image): exit %s on SIGTERM" % rc)
            elif self.daemon.poll() is not None:
                problems.append("ovs-netpold had exited with %d"
                                % self.daemon.returncode)
            else:
                self.daemon.send_signal(signal.SIGTERM)
                try:
                    rc = self.daemon.wait(timeout=10)
                    if rc:
                        problems.append("ovs-netpold: exit %d on SIGTERM" % rc)
                except subprocess.TimeoutExpired:
                    self.daemon.kill()
                    self.daemon.wait()
                    problems.append("ovs-netpold ignored SIGTERM; killed")
        if self.server:
            try:
                self.server.stdin.close()
            except OSError:
                pass
            try:
                self.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if self.sim:
            if self.sim.poll() is None:
                self.sim.send_signal(signal.SIGTERM)
                try:
                    self.sim.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.sim.kill()
                    self.sim.wait()
        if self.sandbox_started:
            subprocess.run([SANDBOX, "stop", self.sbx],
                           stdout=subprocess.DEVNULL)
        for s, h in self._old.items():
            signal.signal(s, h)
        if not (self.keep if keep_dir is None else keep_dir):
            shutil.rmtree(self.work, ignore_errors=True)
        return problems
