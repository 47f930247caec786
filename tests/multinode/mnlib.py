"""Several nodes for ovs-netpold: what tests/multinode/*.py and
deploy/sandbox-demo.py --nodes share.

- Nodes: `ovs/sandbox.sh start DIR --nodes N`: one switch netns per node
  with its own userspace OVS and br-int, joined by a shared L2 underlay
  (see the header of ovs/sandbox.sh for the topology and why).
- Sim: the Kubernetes API server stand-in (tests/kube-apiserver-sim), one for
  all nodes, written to directly over HTTPS with its token (one request
  loads a whole step: POST /sim/load), for speed.
- Relay: every node's netns gets 127.0.0.1:PORT of the stand-in (its
  kubeconfig names https://127.0.0.1:PORT, which its certificate holds), a
  TCP relay to the stand-in on the host's loopback.  It stands in for the
  node's path to the API server; the daemons' traffic to it does not cross
  br-int (a daemon must reach the API server to install the flows br-int
  needs to pass anything).
- Launcher: how a node's daemon is started: `native` (the default) runs the
  built ovs-netpold in the node's netns with `ip netns exec`, as a DaemonSet
  pod with hostNetwork would run; NP_LAUNCHER selects another registered in
  LAUNCHERS.
- NodeDaemon: one node's ovs-netpold (--kubeconfig, --node node-K, its own
  control socket and OVS rundir; its node address is the default, the
  addresses of its netns: the one on br-int's LOCAL port).

Python standard library only.  Needs root.  Everything is stopped by PID.
"""

import ctypes
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")


# The bed's helpers are the single-node bed's (tests/kube-e2e/kubebed.py):
# one way to run a command, quote it, show a log's tail, find a binary,
# read a pod's key, address and TCP ports.
sys.path.insert(0, os.path.join(TOP, "tests", "kube-e2e"))
from kubebed import (BedError, find_bin, pod_ip, pod_key,  # noqa: E402,F401
                     pod_tcp_ports, quote, run, tail)

# Setup of the nodes, the stand-in or a daemon failed (not a verdict).
NodeError = BedError


# ---- the nodes ---------------------------------------------------------------

class Node:
    """One node: its sandbox directory, switch netns, environment for the
    ovs-* tools, and its address (on br-int's LOCAL port)."""

    def __init__(self, index, directory):
        self.index = index
        self.name = "node-%d" % index
        self.dir = directory
        self.env = dict(os.environ)
        with open(os.path.join(directory, "env")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export "):
                    k, v = line[len("export "):].split("=", 1)
                    self.env[k] = v.strip("'")
        self.netns = self.env["NP_SANDBOX_NETNS"]
        self.address = self.env.get("NP_SANDBOX_NODE_ADDRESS", "")
        self.rundir = os.path.join(directory, "run")

    def sw(self, *args, check=True, timeout=60):
        """A command in the node's switch netns, with its OVS environment."""
        return run(["ip", "netns", "exec", self.netns] + list(args),
                   env=self.env, check=check, timeout=timeout)

    def ovs(self, *args, check=True, timeout=60):
        """An ovs-* tool on this node's switch (unix sockets: any netns)."""
        return run(list(args), env=self.env, check=check, timeout=timeout)

    def dump_flows(self):
        return self.ovs("ovs-ofctl", "-O", "OpenFlow15", "--no-stats",
                        "--no-names", "dump-flows", "br-int").stdout

    def purge(self):
        """No datapath flow cached from an earlier table and no conntrack
        entry of an earlier probe may decide a probe."""
        self.ovs("ovs-appctl", "revalidator/purge")
        self.ovs("ovs-appctl", "dpctl/flush-conntrack")


class Nodes:
    """`sandbox.sh start DIR --nodes N`, and its stop."""

    def __init__(self, directory, n):
        self.dir = os.path.abspath(directory)
        self.n = n
        self.nodes = []
        self.started = False

    def start(self):
        self.started = True
        run([SANDBOX, "start", self.dir, "--nodes", str(self.n)], timeout=120)
        self.nodes = [Node(k, os.path.join(self.dir, "node-%d" % k))
                      for k in range(1, self.n + 1)]
        return self.nodes

    def fdb_flush(self):
        run([SANDBOX, "fdb-flush", self.dir])

    def stop(self):
        if self.started:
            subprocess.run([SANDBOX, "stop", self.dir], stdout=subprocess.DEVNULL)
            self.started = False


# ---- the API server stand-in -------------------------------------------------

KIND_PATH = {"Namespace": ("/api/v1", "namespaces", False),
             "Pod": ("/api/v1", "pods", True),
             "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
             "ClusterNetworkPolicy": ("/apis/policy.networking.k8s.io/v1alpha2",
                                      "clusternetworkpolicies", False)}

# The CustomResourceDefinition of ClusterNetworkPolicy, as a cluster that
# has it serves it (tests/sim/crd-clusternetworkpolicies.yaml).
CNP_CRD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim",
                       "crd-clusternetworkpolicies.yaml")


def cnp_crd():
    import yaml
    with open(CNP_CRD) as f:
        return yaml.safe_load(f)


class Sim:
    """tests/kube-apiserver-sim on the host's loopback, and a small client
    with its token."""

    def __init__(self, work, bookmark_interval=None):
        self.bin = find_bin("NP_SIM", "tests/kube-apiserver-sim")
        self.work = work
        self.kubeconfig = os.path.join(work, "kubeconfig")
        self.tls = os.path.join(work, "tls")
        self.log = os.path.join(work, "kube-apiserver-sim.log")
        self.token = secrets.token_hex(16)
        self.bookmark_interval = bookmark_interval
        self.proc = None
        self.port = None
        self._conn = None

    def start(self):
        cmd = [self.bin, "--listen", "127.0.0.1:0", "--tls-dir", self.tls,
               "--token", self.token, "--kubeconfig-out", self.kubeconfig]
        if self.bookmark_interval is not None:
            cmd += ["--bookmark-interval", str(self.bookmark_interval)]
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err,
                                         text=True, start_new_session=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening "):
            raise NodeError("kube-apiserver-sim did not start (%r): %s"
                            % (line, tail(self.log)))
        self.url = line.split()[1]
        self.port = urllib.parse.urlparse(self.url).port
        return self.url

    def _connection(self):
        if self._conn is None:
            ctx = ssl.create_default_context(cafile=os.path.join(self.tls, "ca.crt"))
            self._conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                     context=ctx, timeout=60)
        return self._conn

    def request(self, method, path, body=None, ok=(200, 201)):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": "Bearer " + self.token,
                   "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):      # a keep-alive connection the server closed
            conn = self._connection()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                text = resp.read().decode()
                break
            except (http.client.HTTPException, OSError):
                self._conn = None
                conn.close()
                if attempt:
                    raise
        if resp.status not in ok:
            raise NodeError("%s %s: %d %s" % (method, path, resp.status, text[:1500]))
        return resp.status, (json.loads(text) if text else None)

    def load(self, objs):
        """Creates or updates every object in one request (namespaces
        first); returns the resourceVersion after it."""
        if not objs:
            return None
        _, out = self.request("POST", "/sim/load",
                              {"apiVersion": "v1", "kind": "List", "items": objs})
        return out.get("resourceVersion")

    @staticmethod
    def object_path(kind, namespace, name):
        base, plural, namespaced = KIND_PATH[kind]
        if namespaced:
            return "%s/namespaces/%s/%s/%s" % (base, namespace, plural, name)
        return "%s/%s/%s" % (base, plural, name)

    def delete(self, kind, namespace, name):
        """Deleting a namespace deletes its objects (at once, as the
        stand-in's namespace controller does).  Gone already: fine."""
        self.request("DELETE", self.object_path(kind, namespace, name),
                     ok=(200, 202, 404))

    def objects(self):
        return self.request("GET", "/sim/objects")[1].get("items", [])

    def stop(self):
        if self._conn:
            self._conn.close()
            self._conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- the relay: the stand-in's port inside every node's netns -------------------

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def socket_in_netns(netns, family=socket.AF_INET, kind=socket.SOCK_STREAM):
    """A socket of network namespace NETNS (/var/run/netns/NETNS).  setns()
    moves only the calling thread; it moves back before returning."""
    with open("/proc/thread-self/ns/net") as home, \
            open("/var/run/netns/" + netns) as there:
        if _libc.setns(there.fileno(), CLONE_NEWNET):
            e = ctypes.get_errno()
            raise NodeError("setns(%s): %s" % (netns, os.strerror(e)))
        try:
            return socket.socket(family, kind)
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET):
                # a thread left in another netns would make every later
                # socket of it wrong: do not go on
                os._exit(70)


class Relay:
    """127.0.0.1:PORT in each node's netns, relayed to 127.0.0.1:PORT of
    the host (the stand-in).  Threads of this process: it lives as long as
    the test does, across daemon restarts."""

    def __init__(self, port):
        self.port = port
        self.listeners = []
        self.conns = set()
        self.lock = threading.Lock()
        self.closing = False

    def add(self, netns):
        s = socket_in_netns(netns)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.listeners.append(s)
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def _accept(self, lsock):
        while not self.closing:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns.update((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        """One direction; when it ends (EOF or error) both sockets are shut
        down, which ends the other direction too: HTTP has no use for a
        half-closed connection."""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self.lock:
            if src in self.conns:       # the first of the two to end
                self.conns.discard(src)
                self.conns.discard(dst)
                return
        src.close()
        dst.close()

    def stop(self):
        self.closing = True
        for s in self.listeners:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.close()
                except OSError:
                    pass
            self.conns.clear()


# ---- launchers -------------------------------------------------------------------

class Launcher:
    """How a node's daemon runs.  start() returns a handle; kill() sends a
    signal; wait() returns its exit status (None on timeout); pid() is for
    status lines.  ARGS are ovs-netpold's options; files they name (the
    kubeconfig, the control socket, the OVS rundir) are host paths, and a
    launcher that runs the daemon elsewhere (a container) must show them at
    the same paths.  The daemon belongs in the node's netns (NODE.netns):
    its node address is found there, and the API server stand-in is at
    127.0.0.1:PORT there (Relay)."""

    name = "?"

    def start(self, node, args, env, logfile):
        raise NotImplementedError

    def kill(self, handle, sig):
        raise NotImplementedError

    def wait(self, handle, timeout):
        raise NotImplementedError

    def pid(self, handle):
        raise NotImplementedError

    def running(self, handle):
        raise NotImplementedError

    def stop(self, handle, timeout=10):
        """SIGTERM, then SIGKILL after TIMEOUT; returns (exit status, how)."""
        if not self.running(handle):
            return self.wait(handle, 0), "had exited"
        self.kill(handle, signal.SIGTERM)
        rc = self.wait(handle, timeout)
        if rc is None:
            self.kill(handle, signal.SIGKILL)
            return self.wait(handle, 10), "ignored SIGTERM; killed"
        return rc, "SIGTERM"


class NativeLauncher(Launcher):
    """The built ovs-netpold in the node's netns (`ip netns exec`, which
    execs it: the child's PID is the daemon's)."""

    name = "native"

    def __init__(self, binary=None):
        self.bin = binary or find_bin("NP_DAEMON", "ovs-netpold")

    def start(self, node, args, env, logfile):
        cmd = ["ip", "netns", "exec", node.netns, self.bin] + list(args)
        with open(logfile, "a") as lf:
            lf.write("==== %s\n" % quote(cmd))
            lf.flush()
            # its own session: a Ctrl-C reaches only us; we stop it by PID
            return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf,
                                    stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)

    def kill(self, handle, sig):
        if handle.poll() is None:
            handle.send_signal(sig)

    def wait(self, handle, timeout):
        try:
            return handle.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def pid(self, handle):
        return handle.pid

    def running(self, handle):
        return handle.poll() is None


class PodmanHandle:
    def __init__(self, proc, container):
        self.proc = proc
        self.container = container
        self.host_pid = None


class PodmanLauncher(Launcher):
    """ovs-netpold from the image, as the DaemonSet runs it
    (tests/image/podman_daemon.py: read-only root, no capabilities, the
    OVS run directory at /var/run/openvswitch, the control socket's
    directory at /var/run/ovs-netpol), in the node's netns, which stands
    for the node's host network.  The kubeconfig is shown at its own
    path."""

    name = "podman"

    def __init__(self):
        import sys
        sys.path.insert(0, os.path.join(TOP, "tests", "image"))
        import podman_daemon
        self.pd = podman_daemon
        if not podman_daemon.image_present():
            raise NodeError("NP_LAUNCHER=podman: image %s not present "
                            "(deploy/image/build.sh)" % podman_daemon.IMAGE)

    def start(self, node, args, env, logfile):
        args = list(args)
        rundir = ctl = kubeconfig = None
        for i, a in enumerate(args[:-1]):
            if a == "--ovs-rundir":
                rundir, args[i + 1] = args[i + 1], "/var/run/openvswitch"
            elif a == "--control":
                ctl = args[i + 1]
                args[i + 1] = "/var/run/ovs-netpol/" + os.path.basename(ctl)
            elif a == "--kubeconfig":
                kubeconfig = args[i + 1]
        if not (rundir and ctl and kubeconfig):
            raise NodeError("PodmanLauncher needs --ovs-rundir, --control and "
                            "--kubeconfig in %s" % quote(args))
        # unique per sandbox: parallel workers all have a node-1
        name = "np-mn-%d-%s" % (os.getpid(), node.netns)
        self.pd.remove(name)
        cmd = self.pd.command(name, args, rundir, os.path.dirname(ctl),
                              mounts=[(kubeconfig, kubeconfig)],
                              network="ns:/var/run/netns/%s" % node.netns)
        with open(logfile, "a") as lf:
            lf.write("==== %s\n" % quote(cmd))
            lf.flush()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf,
                                    stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        h = PodmanHandle(proc, name)
        h.host_pid = self.pd.host_pid(name)
        return h

    def kill(self, handle, sig):
        # podman run's own process is only the client: a signal to it is
        # proxied, a SIGKILL would not be
        if handle.proc.poll() is None:
            self.pd.kill(handle.container, sig)

    def wait(self, handle, timeout):
        try:
            return self.pd.exit_status(handle.proc.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            return None

    def pid(self, handle):
        return handle.host_pid or handle.proc.pid

    def running(self, handle):
        return handle.proc.poll() is None


LAUNCHERS = {"native": NativeLauncher, "podman": PodmanLauncher}


def launcher_from_env(daemon_bin=None):
    """NP_LAUNCHER's launcher (default native, with DAEMON_BIN or
    NP_DAEMON or the tree's ovs-netpold)."""
    name = os.environ.get("NP_LAUNCHER", "native")
    if name not in LAUNCHERS:
        raise NodeError("NP_LAUNCHER=%s: not one of %s"
                        % (name, ", ".join(sorted(LAUNCHERS))))
    if name == "native":
        return NativeLauncher(daemon_bin)
    return LAUNCHERS[name]()


# ---- a node's daemon ---------------------------------------------------------------

class NodeDaemon:
    """ovs-netpold --node node-K following the stand-in, on node K's
    switch, with its own control socket; driven with ovs-netpol."""

    def __init__(self, node, launcher, kubeconfig, work, extra=()):
        self.node = node
        self.launcher = launcher
        self.kubeconfig = kubeconfig
        self.netpol_bin = find_bin("NP_NETPOL", "ovs-netpol")
        self.ctl = os.path.join(work, "%s.ctl" % node.name)
        if len(self.ctl) > 100:         # sun_path holds 108 bytes
            self.ctl = os.path.join("/tmp", "np-%d-%s.ctl" % (os.getpid(), node.name))
        self.log = os.path.join(work, "ovs-netpold-%s.log" % node.name)
        self.extra = list(extra)
        self.handle = None
        self.starts = 0

    def args(self):
        # no --node-address: the daemon takes its netns's global addresses,
        # the node's address on br-int's LOCAL port (--node-port LOCAL).
        # --uplink-port: br-int's port to the underlay (a tap, first word of
        # the node's "uplink" file) brings the other nodes' traffic; a port
        # that carries no pod and is not named sends no IP.
        uplink = "uplink"
        try:
            with open(os.path.join(self.node.dir, "uplink")) as f:
                uplink = (f.read().split() or [uplink])[0]
        except OSError:
            pass
        return ["--kubeconfig", self.kubeconfig, "--node", self.node.name,
                "--ovs-rundir", self.node.rundir, "--bridge", "br-int",
                "--uplink-port", uplink,
                "--control", self.ctl, "--log-level", "debug"] + self.extra

    def start(self, wait=True):
        self.handle = self.launcher.start(self.node, self.args(), None, self.log)
        self.starts += 1
        if not wait:
            return
        deadline = time.monotonic() + 15
        while True:
            if not self.running():
                raise NodeError("ovs-netpold on %s exited with %s at start:\n%s"
                                % (self.node.name, self.launcher.wait(self.handle, 0),
                                   tail(self.log)))
            if self.netpol("status", check=False, timeout=10).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise NodeError("ovs-netpold on %s: no control socket after 15 s"
                                % self.node.name)
            time.sleep(0.05)

    def running(self):
        return self.handle is not None and self.launcher.running(self.handle)

    def pid(self):
        return self.launcher.pid(self.handle) if self.handle else None

    def netpol(self, *args, check=True, timeout=30):
        return run([self.netpol_bin, "--control", self.ctl] + list(args),
                   check=check, timeout=timeout)

    def status(self):
        p = self.netpol("status", check=False, timeout=10)
        return (p.stdout or p.stderr).strip()

    def sync(self, timeout=20):
        t = time.monotonic()
        p = self.netpol("sync", "--timeout", str(timeout), check=False,
                        timeout=timeout + 10)
        dt = time.monotonic() - t
        if p.returncode:
            raise NodeError("%s: ovs-netpol sync: exit %d after %.2f s%s: %s" % (
                self.node.name, p.returncode, dt,
                "" if self.running() else " (ovs-netpold exited with %s)"
                % self.launcher.wait(self.handle, 0),
                (p.stderr or p.stdout).strip()))
        return dt

    def kill(self, sig=signal.SIGKILL):
        self.launcher.kill(self.handle, sig)
        return self.launcher.wait(self.handle, 10)

    def stop(self):
        """SIGTERM: (ok, message); ok when it exits 0."""
        if self.handle is None:
            return True, "not started"
        rc, how = self.launcher.stop(self.handle)
        self.handle = None
        return rc == 0, "%s: exit %s (%s)" % (self.node.name, rc, how)


# ---- a bed: nodes, the stand-in, daemons, pods, listeners, probes ----------------

def spread(objs, n):
    """Copies of OBJS with the pods' spec.nodeName set round-robin over
    node-1..node-N in their order."""
    out, k = [], 0
    for o in objs:
        o = json.loads(json.dumps(o))
        if o.get("kind") == "Pod":
            o.setdefault("spec", {})["nodeName"] = "node-%d" % (k % n + 1)
            k += 1
        out.append(o)
    return out


class Bed:
    """N nodes, one stand-in, one daemon per node, pods with TCP listeners,
    and real TCP probes from pods or from a node's own netns (its address
    on br-int's LOCAL port)."""

    def __init__(self, work, n, log=print, bookmark_interval=None):
        self.work = os.path.abspath(work)
        os.makedirs(self.work, exist_ok=True)
        self.n = n
        self.log = log
        self.probe_bin = find_bin("NP_PROBE", "tests/np-probe")
        self.bed = Nodes(os.path.join(self.work, "nodes"), n)
        self.sim = Sim(self.work, bookmark_interval=bookmark_interval)
        self.nodes = []
        self.relay = None
        self.server = None
        self.daemons = []
        self.pods = {}          # "ns/pod" -> {key, node, netns, ofport, ip, ports}
        self.listen = {}        # netns -> [ports]
        self.sport = 20000
        self.sport_lock = threading.Lock()

    def start(self, launcher=None, daemon_args=()):
        self.nodes = self.bed.start()
        self.sim.start()
        self.relay = Relay(self.sim.port)
        for node in self.nodes:
            self.relay.add(node.netns)
        spec = os.path.join(self.work, "listen.spec")
        open(spec, "w").close()
        self.server = subprocess.Popen(
            [self.probe_bin, "serve", "--spec", spec, "--control-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        self._server_ready()
        launcher = launcher or launcher_from_env()
        self.daemons = [NodeDaemon(node, launcher, self.sim.kubeconfig,
                                   self.work, extra=daemon_args)
                        for node in self.nodes]

    def _server_ready(self):
        ready = self.server.stdout.readline().strip()
        if not ready.startswith("ready") or "failed" in ready:
            raise NodeError("np-probe serve: %r" % ready)

    def node(self, name):
        for node in self.nodes:
            if node.name == name:
                return node
        raise NodeError("no node %s (there are %d)" % (name, self.n))

    def add_pods(self, pods):
        """Plugs pods (API objects with spec.nodeName) into their nodes'
        switches as a CNI would (ovs/sandbox.sh add-pod DIR/node-K), with
        TCP listeners on their container ports."""
        by_node = {}
        for o in pods:
            by_node.setdefault(o["spec"]["nodeName"], []).append(o)
        for name, objs in sorted(by_node.items()):
            node = self.node(name)
            args = []
            for o in objs:
                md = o["metadata"]
                args += [md.get("namespace", "default"), md["name"], pod_ip(o)]
            run([SANDBOX, "add-pod", node.dir] + args)
            with open(os.path.join(node.dir, "pods")) as f:
                rows = {l.split()[0]: l.split() for l in f if l.strip()}
            for o in objs:
                k = pod_key(o)
                w = rows[k]
                self.pods[k] = {"key": k, "node": name, "port": w[1],
                                "netns": w[2], "ofport": w[3], "ip": pod_ip(o),
                                "ports": pod_tcp_ports(o)}
                self.listen[w[2]] = self.pods[k]["ports"]
        with open(os.path.join(self.work, "listen.spec"), "w") as f:
            for ns, ports in self.listen.items():
                if ports:
                    f.write("%s tcp %s\n" % (ns, " ".join(map(str, ports))))
        self.server.stdin.write("reload\n")
        self.server.stdin.flush()
        self._server_ready()

    def start_daemons(self):
        for d in self.daemons:
            d.start()

    def daemon(self, name):
        return self.daemons[self.node(name).index - 1]

    def sync(self, timeout=20):
        return max(d.sync(timeout) for d in self.daemons)

    def wait_bindings(self, timeout=5.0):
        """Every pod spoof-guarded by its port on its node (the bindings come
        from OVSDB, which sync does not wait for)."""
        import ipaddress
        import re
        for d in self.daemons:
            want = {(p["ofport"], ipaddress.ip_address(p["ip"]))
                    for p in self.pods.values() if p["node"] == d.node.name}
            t = time.monotonic()
            while True:
                got = set()
                for line in d.node.dump_flows().splitlines():
                    m = re.search(r"in_port=(\d+)", line)
                    a = re.search(r"(?:nw_src|ipv6_src)=([0-9A-Fa-f:.]+)", line)
                    if m and a:
                        got.add((m.group(1), ipaddress.ip_address(a.group(1))))
                missing = want - got
                if not missing:
                    break
                if time.monotonic() - t > timeout:
                    raise NodeError("%s: no spoof-guard flow for ofport/ip %s" % (
                        d.node.name, ", ".join("%s/%s" % m for m in sorted(missing, key=str))))
                time.sleep(0.05)

    def purge(self):
        for node in self.nodes:
            node.purge()

    def probe(self, probes, timeout_ms=900, spec_name="probe.spec"):
        """probes: [(src, dst_key, port)], src a pod key or a node name (from
        its netns, with its address).  Every probe from a source port never
        used before.  Returns {probe: "connected"|"timeout"|"refused"|"error
        ..."}."""
        lines = []
        with self.sport_lock:           # probes may run from several threads
            for i, (s, d, port) in enumerate(probes):
                netns = self.pods[s]["netns"] if s in self.pods else self.node(s).netns
                lines.append("p%d %s tcp %s %d %d" % (i, netns, self.pods[d]["ip"],
                                                      port, self.sport))
                self.sport += 1
                if self.sport > 60999:
                    raise NodeError("probe source ports exhausted")
        spec = os.path.join(self.work, spec_name)
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
            raise NodeError("np-probe answered %d of %d probes" % (len(res), len(probes)))
        return res

    def matrix_probes(self, keys=None):
        keys = keys or list(self.pods)
        return [(s, d, port) for s in keys for d in keys if s != d
                for port in self.pods[d]["ports"]]

    def crosses(self, probe):
        """Whether a probe goes from one node to another."""
        s, d, _ = probe
        src_node = self.pods[s]["node"] if s in self.pods else s
        return src_node != self.pods[d]["node"]

    def stop(self, keep=False):
        """Stops the daemons (SIGTERM: each must exit 0), the listeners, the
        relay, the stand-in and the nodes; returns the problems."""
        problems = []
        for d in self.daemons:
            ok, msg = d.stop()
            if not ok:
                problems.append("ovs-netpold " + msg)
        self.daemons = []
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
            self.server = None
        if self.relay:
            self.relay.stop()
            self.relay = None
        self.sim.stop()
        if not keep:
            self.bed.stop()
        return problems
