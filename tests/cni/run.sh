#!/bin/bash
# tests/cni/run.sh: the CNI plugin ovs-netpol-cni driven as a container
# runtime drives it, against ovs-netpold on a sandbox switch (see
# tests/cni/README.md).  Root; from the build directory (./ovs-netpol-cni,
# ./ovs-netpold and tests/np-probe built; NP_CNI, NP_DAEMON, NP_PROBE
# override them); needs Debian's containernetworking-plugins (host-local).
#   NP_CNI_TESTS="cni cni-newpod"   the tests to run (default: both)
# Last line: "cni: N passed, M failed"; exit status 0 when all passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "SKIP cni: needs root"
    exit 77
fi
if [ ! -x "${NP_HOST_LOCAL:-/usr/lib/cni/host-local}" ]; then
    echo "cni: ${NP_HOST_LOCAL:-/usr/lib/cni/host-local} missing (deploy/install-deps.sh installs containernetworking-plugins)"
    exit 1
fi

passed=0
failed=0
for t in ${NP_CNI_TESTS:-cni cni-newpod}; do
    if nice python3 "$here/t-$t.py"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "cni: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
