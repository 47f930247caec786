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
import shlex
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")


class NodeError(Exception):
    """Setup of the nodes, the stand-in or a daemon failed (not a verdict)."""


def quote(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


def run(cmd, check=True, timeout=60, env=None, input=None):
    try:
        p = subprocess.run(cmd, timeout=timeout, env=env, input=input,
                           text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    except subprocess.TimeoutExpired:
        raise NodeError("%s: no answer within %d s" % (quote(cmd), timeout))
    if check and p.returncode:
        raise NodeError("%s: exit %d: %s" % (
            quote(cmd), p.returncode, (p.stderr or p.stdout).strip()[-1500:]))
    return p


def tail(path, n=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def find_bin(env, rel):
    c = os.environ.get(env) or os.path.join(TOP, rel)
    if not os.access(c, os.X_OK):
        raise NodeError("%s is not built (or set %s)" % (c, env))
    return os.path.abspath(c)


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
             "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True)}


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
    kubeconfig, the control socket, the OVS rundir) are host paths."""

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


LAUNCHERS = {"native": NativeLauncher}


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
        # the node's address on br-int's LOCAL port (--node-port LOCAL)
        return ["--kubeconfig", self.kubeconfig, "--node", self.node.name,
                "--ovs-rundir", self.node.rundir, "--bridge", "br-int",
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
