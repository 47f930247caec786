#!/bin/sh
# tests/image/run.sh — the container image: builds it from a clean state
# (deploy/image/build.sh), loads it back from its OCI archive as a node
# would, then runs the daemon from it as the DaemonSet does
# (tests/image/podman_daemon.py: host network, read-only root, no
# capabilities) on the daemon test bed: t-image.py (what the image holds and
# how the daemon runs in it), then the daemon behaviour tests that stop and
# start the daemon or depend on its first moments (restarts under probes, a
# new pod's handshake, forged packets across 20 restarts, a switch restart),
# with NP_LAUNCHER=podman; and the kubectl-driven end-to-end suite
# (tests/kube-e2e) with the daemon run from the DaemonSet's own command,
# ConfigMap and service-account token (the in-cluster configuration); and
# the three-node suite (tests/multinode: the corpus over 3 nodes, a node's
# daemon SIGKILLed and restarted under cross-node probes) with every node's
# daemon a container in that node's network namespace.
#
#   tests/image/run.sh [--no-build]
#
# As root, after the tree is built.  Last line: "N passed, M failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=1
[ "${1:-}" = "--no-build" ] && build=

if [ -n "$build" ]; then
    deploy/image/build.sh || { echo "0 passed, 1 failed"; exit 1; }
fi
version=$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)
image=localhost/ovs-netpol:$version
archive=deploy/image/out/ovs-netpol-$version.oci.tar

passed=0
failed=0
result() {
    if [ "$1" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $2"; fi
}

# What a node does with the archive: the image comes back under its name.
podman rmi -f "$image" >/dev/null 2>&1
podman load -q -i "$archive" >/dev/null 2>&1
podman image exists "$image"
result $? "podman load -i $archive gives $image"

export NP_IMAGE="$image"
python3 tests/image/t-image.py
result $? t-image
for t in restart newpod spoof-restart vswitchd; do
    NP_LAUNCHER=podman python3 "tests/daemon/t-$t.py" | tail -n 1
    result $? "t-$t (daemon from the image)"
done
NP_LAUNCHER=podman tests/kube-e2e/run.sh | tail -n 1
result $? "kube-e2e (the DaemonSet's daemon from the image)"
export NP_DAEMON="$top/ovs-netpold" NP_NETPOL="$top/ovs-netpol"
export NP_PROBE="$top/tests/np-probe" NP_SIM="$top/tests/kube-apiserver-sim"
NP_LAUNCHER=podman tests/e2e/run-cases.py --nodes 3 --daemon-bin "$NP_DAEMON" \
    --probe "$NP_PROBE" | tail -n 3
result $? "multinode corpus (daemons from the image)"
NP_LAUNCHER=podman python3 tests/multinode/t-restart.py | tail -n 1
result $? "multinode t-restart (daemons from the image)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
