#!/bin/sh
# Runs the unit tests and the compiler on real inputs under valgrind: any
# invalid read or write, use of uninitialised memory or leak fails.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
vg="valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 -q"
fail=0
check() {
    $vg "$@" >/dev/null 2>"${TMPDIR:-/tmp}/vg.$$"
    if [ $? -eq 99 ]; then
        echo "FAIL under valgrind: $*"
        cat "${TMPDIR:-/tmp}/vg.$$"
        fail=1
    else
        echo "ok   $*"
    fi
    rm -f "${TMPDIR:-/tmp}/vg.$$"
}
# The churn test's 10,000 events per mix take many minutes under valgrind;
# 500 still make every kind of event several times.
CHURN_EVENTS=${CHURN_EVENTS:-500}
export CHURN_EVENTS
# test-compile's test_cnp_left_out compiles 60,000 rules: seconds alone,
# many minutes here; test_cnp_tiers runs the same code on a few rules.
NP_UNDER_VALGRIND=1
export NP_UNDER_VALGRIND
for t in tests/test-addr tests/test-np-util tests/test-cni-conf tests/test-labels tests/test-compile tests/test-compile-flags tests/test-objects tests/test-engine tests/test-churn tests/test-source-dir tests/test-http tests/test-rule-stats tests/test-audit-log tests/test-cnp tests/test-trace; do
    check "$t"
done
check ./ovs-netpol compile deploy/examples/cluster.yaml deploy/examples/test-network-policy.yaml deploy/examples/default-deny-other.yaml
check ./ovs-netpol compile tests/data/cli/mixed.yaml
check ./ovs-netpol compile --ports tests/data/cli/ports-unbound.txt --uplink-port eth1 deploy/examples/cluster.yaml
check ./ovs-netpol compile --node node-1 tests/cases/model.json
check ./ovs-netpol compile tests/data/cli/cnp.yaml
check ./ovs-netpol compile --peer-class-min 1 tests/data/cli/cnp.yaml
check ./ovs-netpol compile deploy/examples/tenants/tenants.yaml
exit $fail
