#!/bin/bash
# Runs every test of ovs-netpol on a Debian 12 machine, as root, from a clean
# clone: installs what is missing, builds (deploy/build.sh), then
#   1. the unit tests and the CLI tests (make check), and again under
#      valgrind,
#   2. the reference oracle against its own and the shared cases,
#   3. the real-packet end-to-end suite through a userspace Open vSwitch,
#      with its self-check (it must fail against allow-all and deny-all),
#   4. the same corpus through the daemon (ovs-netpold with a directory
#      source), and its behaviour under restarts of itself and of
#      ovs-vswitchd, 1,000 updates in a row, drift, bad manifests and
#      forged packets, with continuous real probes, and the CNI plugin
#      ovs-netpol-cni chained as a container runtime runs it (tests/cni),
#   5. the daemon driven by the real kubectl against the API server
#      stand-in, with real packets after every step,
#   5b. three nodes, one daemon each, following one stand-in: the corpus
#      with its pods spread over them, and one node's daemon killed and
#      restarted while probes cross the nodes (tests/multinode/run.sh),
#   6. the unit tests and the daemon's behaviour tests again, built with
#      AddressSanitizer and UndefinedBehaviorSanitizer (tests/sanitize.sh),
#   7. every fuzz target for 60 s (tests/fuzz/run.sh), after replaying its
#      regression inputs,
#   8. the container image built from Debian packages, loaded back from its
#      OCI archive, and the daemon run from it as the DaemonSet runs it
#      under the restart, new-pod and forged-packet tests (tests/image).
# The last line is "N passed, M failed", counting the suites above.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

passed=0
failed=0
failed_names=()
# Each suite's output is also kept apart, so that the end of the run can
# repeat the end of every failed suite's: a CI log is often read from its
# tail, and a failure in the middle of 30 minutes of output is easy to miss.
suite_logs=$(mktemp -d /tmp/ovs-netpol-suites.XXXXXX)
trap 'rm -rf "$suite_logs"' EXIT
suite() {
    local name=$1
    shift
    echo "=== $name: $*"
    # Through a process substitution, not a pipe: a daemon a suite leaves
    # behind holding its output must not make the run wait for it.
    local rc=0 out tee_pid i
    exec {out}> >(tee "$suite_logs/$name.log")
    tee_pid=$!
    "$@" >&"$out" 2>&1 || rc=$?
    exec {out}>&-
    # Let tee finish what it has, for the order of the log, but never wait
    # long: only a leaked process can keep it open.
    for i in $(seq 50); do
        kill -0 "$tee_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ "$rc" -eq 0 ]; then
        echo "=== $name: passed"
        passed=$((passed + 1))
    else
        echo "=== $name: FAILED"
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
}

if ! deploy/build.sh; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

check() {
    make -j2 check || { cat tests/*.log 2>/dev/null | tail -100; return 1; }
}
suite unit check
suite valgrind tests/valgrind.sh
suite oracle tests/oracle/check_all.sh
suite e2e tests/run-e2e.sh --self-check
suite e2e-daemon tests/run-e2e.sh --daemon
suite conj-limit tests/e2e/conj-limit.sh
suite established tests/e2e/established.sh
suite cni tests/cni/run.sh
suite sim tests/sim/test-sim.sh
suite kube-e2e tests/kube-e2e/run.sh
suite multinode tests/multinode/run.sh
suite sanitize tests/sanitize.sh
suite fuzz tests/fuzz/run.sh 60
suite image tests/image/run.sh

for name in "${failed_names[@]}"; do
    echo "=== $name: FAILED; the last 80 lines of its output:"
    tail -n 80 "$suite_logs/$name.log"
done
[ "$failed" -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
