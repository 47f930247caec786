"""ovs-netpold run from the image, as the DaemonSet runs it.

The same restrictions as deploy/kubernetes/daemonset.yaml: the host's network
(hostNetwork), a read-only root filesystem, every capability dropped, the OVS
run directory mounted at /var/run/openvswitch, the control-socket directory
at /var/run/ovs-netpol, the configuration at /etc/ovs-netpol; the service
account's token, when given, where the kubelet projects it, with
KUBERNETES_SERVICE_HOST/PORT set, so the daemon takes the in-cluster path.

podman needs `--runtime runc` on this machine (crun refuses its hybrid
cgroups) and file and process limits lower than the host's.

Python standard library only.
"""

import os
import signal
import subprocess
import time

IMAGE = os.environ.get("NP_IMAGE", "localhost/ovs-netpol:0.1.0")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
PODMAN_BASE = ["podman", "run", "--rm", "--runtime", "runc",
               "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def image_present(image=IMAGE):
    return subprocess.run(["podman", "image", "exists", image],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def command(name, args, ovs_rundir, control_dir, mounts=(), sa_dir=None,
            api=None, image=IMAGE, entrypoint=None, rw_mounts=(),
            network="host"):
    """The `podman run` command line.  'mounts': (host path, container
    path) pairs, read-only; 'rw_mounts' the same, writable (a test's work
    directory at its own path, say); 'network': podman's --network (the
    host's, or "ns:/var/run/netns/NAME" for a sandbox node's network
    namespace, which stands for that node's host network); 'sa_dir': a
    directory with token, ca.crt and
    namespace, mounted where the kubelet puts a service account's token;
    'api': (host, port) of the API server for the in-cluster config."""
    cmd = PODMAN_BASE + [
        "--name", name, "--network", network, "--read-only",
        "--cap-drop", "all", "--security-opt", "no-new-privileges",
        # read-only, as in the DaemonSet: connecting to a socket writes
        # nothing to the file system
        "-v", "%s:/var/run/openvswitch:ro" % ovs_rundir,
        "-v", "%s:/var/run/ovs-netpol" % control_dir]
    for host, cont in mounts:
        cmd += ["-v", "%s:%s:ro" % (host, cont)]
    for host, cont in rw_mounts:
        cmd += ["-v", "%s:%s" % (host, cont)]
    if sa_dir:
        cmd += ["-v", "%s:%s:ro" % (sa_dir, SA_DIR)]
    if api:
        cmd += ["-e", "KUBERNETES_SERVICE_HOST=%s" % api[0],
                "-e", "KUBERNETES_SERVICE_PORT=%s" % api[1]]
    if entrypoint:
        cmd += ["--entrypoint", entrypoint]
    return cmd + [image] + list(args)


def remove(name):
    subprocess.run(["podman", "rm", "-f", "-t", "0", name],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill(name, sig):
    """Delivers 'sig' to the daemon inside the container: a SIGKILL sent
    to `podman run` itself would kill only the client, not the container."""
    return subprocess.run(["podman", "kill", "--signal", str(int(sig)), name],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True).returncode == 0


def exit_status(returncode):
    """`podman run`'s exit status as a Popen returncode: 128+N means the
    container's process died of signal N."""
    if returncode is not None and returncode > 128:
        return -(returncode - 128)
    return returncode


def host_pid(name, timeout=10.0):
    """The daemon's pid as the host sees it, once the container runs."""
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        p = subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}",
                            name], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        if p.returncode == 0 and p.stdout.strip() not in ("", "0"):
            return int(p.stdout.strip())
        time.sleep(0.05)
    return None


def stop(proc, name, sig=signal.SIGTERM, timeout=10):
    """Stops the container's daemon with 'sig' and returns its exit status
    (negative: killed by that signal)."""
    if proc.poll() is None:
        kill(name, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            remove(name)
            proc.wait()
            raise RuntimeError("ovs-netpold in %s ignored signal %d for %d s"
                               % (name, sig, timeout))
    return exit_status(proc.returncode)
