#!/bin/bash
# tests/multinode/run.sh — ovs-netpold on three nodes (the `multinode` suite
# of tests/run-all.sh).  Run from the build directory, as root, after
# building ./ovs-netpold, ./ovs-netpol and tests/np-probe.
#
#   1. the corpus (tests/cases and the ClusterNetworkPolicy cases,
#      tests/cases-cnp, the policies through the stand-in with their CRD)
#      with every case's pods spread round-robin
#      over 3 nodes, one ovs-netpold per node, all following one API server
#      stand-in: tests/e2e/run-cases.py --nodes 3 (every probe of every
#      step, most of them across nodes);
#   2. node-2's daemon SIGKILLed and restarted while probes run across the
#      nodes: tests/multinode/t-restart.py (no wrong verdict at any time);
#   3. its self-check: with node-2's flows deleted during the outage it must
#      fail.
#
# Environment: NP_LAUNCHER (how daemons start: native, the default, runs
# ./ovs-netpold in the node's netns), NP_E2E_JOBS, NP_DAEMON, NP_PROBE.
# The last line is "N passed, M failed" (the three parts).
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "multinode: needs root" >&2; exit 2; }
for b in ./ovs-netpold ./ovs-netpol tests/np-probe; do
    [ -x "$b" ] || { echo "multinode: $b is not built (run from the build directory)" >&2; exit 2; }
done
export NP_DAEMON=${NP_DAEMON:-$PWD/ovs-netpold}
export NP_NETPOL=${NP_NETPOL:-$PWD/ovs-netpol}
export NP_PROBE=${NP_PROBE:-$PWD/tests/np-probe}
export NP_SIM=${NP_SIM:-$src/tests/kube-apiserver-sim}

passed=0 failed=0
part() {
    echo "=== multinode: $*"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "=== multinode: FAILED: $*"; fi
}
part "$src/tests/e2e/run-cases.py" --nodes 3 --daemon-bin "$NP_DAEMON" --probe "$NP_PROBE" \
    "$src/tests/cases" "$src/tests/cases-cnp"
part "$src/tests/multinode/t-restart.py"
part "$src/tests/multinode/t-restart.py" --self-check
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
