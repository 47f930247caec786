"""Shared parts of the CNI plugin's tests (tests/cni/t-*.py).

The bed is the daemon tests' (tests/daemon/dlib.py: a sandbox switch,
pods x/a, x/b, y/a, z/a, ovs-netpold following a manifest directory);
this adds a CNI_PATH directory (ovs-netpol-cni as built, np-test-main,
Debian's host-local), a host-local data directory, pods' network
namespaces made as a runtime makes them, and the network configuration
lists.  NP_CNI overrides the plugin (default ./ovs-netpol-cni).
"""
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "daemon"))
sys.dont_write_bytecode = True
import dlib  # noqa: E402
import chain  # noqa: E402

HOST_LOCAL = os.environ.get("NP_HOST_LOCAL", "/usr/lib/cni/host-local")
MARKER = "ovs-netpol-installed"
OWNER = "ovs-netpol-cni"


def setup(bed):
    """CNI_PATH and the runtime, for a started bed."""
    plugin = dlib.find_bin("NP_CNI", "ovs-netpol-cni")
    if not os.access(HOST_LOCAL, os.X_OK):
        raise RuntimeError("%s missing (apt-get install containernetworking-plugins)"
                           % HOST_LOCAL)
    bindir = os.path.join(bed.work, "cni-bin")
    os.makedirs(bindir, exist_ok=True)
    for name, target in (("ovs-netpol-cni", plugin),
                         ("np-test-main", os.path.join(HERE, "np-test-main")),
                         ("host-local", HOST_LOCAL)):
        link = os.path.join(bindir, name)
        if not os.path.lexists(link):
            os.symlink(target, link)
    bed.cni_ipam_dir = os.path.join(bed.work, "ipam")
    bed.cni_netns = []
    return chain.Runtime([bindir])


def conflist(bed, version="1.0.0", name="podnet", cni_extra=None):
    """The main plugin (veth on br-int, host-local with an IPv4 and an
    IPv6 range), then ovs-netpol-cni."""
    cni = {"type": "ovs-netpol-cni",
           "ovsdb": "unix:" + os.path.join(bed.sb, "run", "db.sock"),
           "bridge": "br-int", "timeout": 20,
           "logFile": os.path.join(bed.work, "cni.log")}
    cni.update(cni_extra or {})
    return {"cniVersion": version, "name": name, "plugins": [
        {"type": "np-test-main", "sandbox": bed.sb, "bridge": "br-int",
         "ipam": {"type": "host-local", "dataDir": bed.cni_ipam_dir,
                  "ranges": [[{"subnet": "10.9.0.0/16", "rangeStart": "10.9.8.10",
                               "rangeEnd": "10.9.8.250"}],
                             [{"subnet": "fd00:9::/64", "rangeStart": "fd00:9::8:10",
                               "rangeEnd": "fd00:9::8:250"}]]}},
        cni]}


def new_netns(bed, tag):
    """A pod's network namespace, as the runtime makes it before calling
    the plugins; named so that `sandbox.sh stop` deletes it too."""
    h = hashlib.md5(os.path.realpath(bed.sb).encode()).hexdigest()[:6]
    name = "npp-%s-cni-%s" % (h, tag)
    dlib.run(["ip", "netns", "add", name])
    with open(os.path.join(bed.sb, "netns"), "a") as f:
        f.write(name + "\n")
    bed.cni_netns.append(name)
    dlib.run(["ip", "-n", name, "link", "set", "lo", "up"])
    return name


def attachment(bed, ns, pod, tag=None):
    tag = tag or "%s-%s" % (ns, pod)
    name = new_netns(bed, tag)
    cid = hashlib.sha256(tag.encode()).hexdigest()
    return chain.Attachment(cid, "/var/run/netns/" + name, "eth0",
                            [("IgnoreUnknown", "1"), ("K8S_POD_NAMESPACE", ns),
                             ("K8S_POD_NAME", pod),
                             ("K8S_POD_INFRA_CONTAINER_ID", cid)])


def pending_pod(ns, name, labels):
    """Scheduled on the node, no address yet: what the daemon sees before
    the CNI returns (the kubelet reports the address after)."""
    p = dlib.pod(ns, name, "0.0.0.0", labels)
    p["status"] = {"phase": "Pending"}
    return p


def external_ids(bed, port):
    """The Interface's external_ids as a dict, or None if it does not
    exist."""
    p = dlib.run(["ovs-vsctl", "--format=json", "--columns=external_ids", "find",
                  "Interface", "name=%s" % port], env=bed.env)
    rows = json.loads(p.stdout)["data"]
    if not rows:
        return None
    return dict(rows[0][0][1])


def set_external_id(bed, port, key, value):
    dlib.run(["ovs-vsctl", "set", "Interface", port,
              "external_ids:%s=%s" % (key, value)], env=bed.env)


def host_port(result):
    return [i["name"] for i in result["interfaces"] if not i.get("sandbox")][0]


def addresses(result):
    return " ".join(ip["address"] for ip in result.get("ips", []))


def port_exists(bed, port):
    return dlib.run(["ovs-vsctl", "--if-exists", "get", "Interface", port, "name"],
                    env=bed.env).stdout.strip() != ""


def cleanup(bed):
    for name in getattr(bed, "cni_netns", []):
        subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
