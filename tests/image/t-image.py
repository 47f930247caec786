#!/usr/bin/env python3
"""The image runs the daemon as the DaemonSet runs it, and nothing more.

On the daemon test bed (tests/daemon/dlib.py: a sandbox switch, pods x/a,
x/b, y/a, z/a, allow-x admitting namespace x to x/a:80), ovs-netpold runs
from localhost/ovs-netpol:VERSION under tests/image/podman_daemon.py: host
network, read-only root filesystem, every capability dropped,
no-new-privileges, the OVS run directory and the control-socket directory
mounted.  PASS when
  - the daemon in the container syncs and real probes agree with allow-x
    (x/b -> x/a allowed, y/a -> x/a denied);
  - its process has no capability at all (CapEff, CapPrm, CapBnd 0) and
    NoNewPrivs, and cannot write its root filesystem;
  - ovs-ofctl and ovs-netpol inside the container read the switch and the
    daemon (what an operator does with `kubectl exec`);
  - SIGTERM (`podman stop`, the kubelet's stop) exits 0 and leaves the
    flows in place;
  - the kubelet's probes get their answers: /healthz and /readyz 200 on
    the --http port, from the host (hostNetwork);
  - the image holds no apt, no compiler, no shell history of the build.
It reports the time from `podman run` to the first sync (median of 5).
"""
import os
import signal
import socket
import statistics
import urllib.error
import urllib.request
import subprocess
import sys
import time

sys.dont_write_bytecode = True
os.environ["NP_LAUNCHER"] = "podman"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "daemon"))
import dlib  # noqa: E402
import podman_daemon  # noqa: E402


def in_container(bed, *cmd):
    return subprocess.run(["podman", "exec", bed.container] + list(cmd),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=30)


def caps(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"):
                out[k] = int(v.strip(), 16) if k.startswith("Cap") else int(v)
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def test(bed):
    problems = []
    if not podman_daemon.image_present():
        return False, "image %s not present (deploy/image/build.sh)" % podman_daemon.IMAGE
    port = free_port()
    bed.start(daemon_args=["--http", "127.0.0.1:%d" % port])
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    bed.purge()

    for src, want in (("x/b", "allowed"), ("y/a", "denied"), ("z/a", "denied")):
        got = bed.probe_once(src, dlib.SERVER)
        dlib.log("probe %s -> x/a:80: %s" % (src, got))
        if got != want:
            problems.append("%s -> x/a:80 %s, want %s" % (src, got, want))

    for path in ("/healthz", "/readyz"):
        code, body = http_get(port, path)
        dlib.log("GET %s: %s %s" % (path, code, body.strip()[:80]))
        if code != 200:
            problems.append("GET %s: %s %s" % (path, code, body.strip()[:200]))
    code, body = http_get(port, "/metrics")
    if code != 200 or "ovs_netpol_" not in body:
        problems.append("GET /metrics: %s" % code)

    pid = podman_daemon.host_pid(bed.container)
    c = caps(pid)
    dlib.log("daemon pid %d (host): %s" % (pid, " ".join(
        "%s=%x" % kv for kv in sorted(c.items()))))
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        if c.get(k):
            problems.append("%s is %#x, want 0" % (k, c[k]))
    if c.get("NoNewPrivs") != 1:
        problems.append("NoNewPrivs is %s" % c.get("NoNewPrivs"))
    with open("/proc/%d/cmdline" % pid) as f:
        argv0 = f.read().split("\0")[0]
    if argv0 != "/usr/bin/ovs-netpold":
        problems.append("the container runs %r, not /usr/bin/ovs-netpold" % argv0)

    w = in_container(bed, "sh", "-c", "echo x >/usr/bin/x")
    if w.returncode == 0:
        problems.append("the root filesystem is writable")
    else:
        dlib.log("writing /usr/bin/x: %s" % w.stderr.strip())

    f = in_container(bed, "ovs-ofctl", "-O", "OpenFlow15", "dump-flows", "br-int")
    n_in = len(dlib.ours(dlib.parse_flows(f.stdout))) if f.returncode == 0 else 0
    n_host = len(dlib.ours(bed.flows()))
    dlib.log("ovs-ofctl in the container: %d flows of ours (host: %d)" % (n_in, n_host))
    if f.returncode or n_in != n_host or n_in == 0:
        problems.append("ovs-ofctl in the container: rc %d, %d flows (host %d): %s"
                        % (f.returncode, n_in, n_host, f.stderr.strip()))
    s = in_container(bed, "ovs-netpol", "status")
    if s.returncode or "bridge: br-int (connected)" not in s.stdout:
        problems.append("ovs-netpol status in the container: rc %d: %s"
                        % (s.returncode, (s.stderr or s.stdout).strip()[:200]))
    a = in_container(bed, "ovs-appctl", "-t", "/var/run/ovs-netpol/ovs-netpold.ctl",
                     "trace", "y/a", "x/a", "80")
    if a.returncode or not a.stdout.startswith("DENIED"):
        problems.append("ovs-appctl trace in the container: rc %d: %s"
                        % (a.returncode, (a.stderr or a.stdout).strip()[:200]))
    for absent in ("/usr/bin/apt-get", "/usr/bin/gcc", "/usr/bin/cc", "/usr/bin/make",
                   "/root/.bash_history"):
        if in_container(bed, "test", "-e", absent).returncode == 0:
            problems.append("the image has %s" % absent)

    starts = []
    for _ in range(5):
        rc = bed.stop_daemon(signal.SIGTERM)
        if rc != 0:
            problems.append("SIGTERM: exit status %s" % rc)
        left = len(dlib.ours(bed.flows()))
        if left != n_host:
            problems.append("after SIGTERM %d flows of ours, want %d" % (left, n_host))
        starts.append(bed.start_daemon(sync=True))
    dlib.log("podman run -> first sync: %s s" % " ".join("%.2f" % t for t in starts))
    got = bed.probe_once("y/a", dlib.SERVER)
    if got != "denied":
        problems.append("after the restarts y/a -> x/a:80 %s" % got)

    size = subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}",
                           podman_daemon.IMAGE], stdout=subprocess.PIPE,
                          text=True).stdout.strip()
    summary = ("image %s, %.1f MB; podman run to first sync median %.2f s "
               "(min %.2f, max %.2f); %s" % (
                   podman_daemon.IMAGE, int(size or 0) / 1e6,
                   statistics.median(starts), min(starts), max(starts),
                   "; ".join(problems) if problems else "all checks passed"))
    return not problems, summary


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("image", test))
