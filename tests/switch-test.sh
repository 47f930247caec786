#!/bin/bash
# switch-test.sh: runs tests/test-switch (the switch modules: ovs-loop,
# switch-of, switch-db, and the installer) against a fresh userspace Open
# vSwitch from ovs/sandbox.sh with one pod, default/a (ofport 1), and stops
# it after.
#
#   tests/switch-test.sh [--perf N]      (N flows in the big bundle; 0: none)
#
# Needs root and the openvswitch-switch binaries; otherwise it skips (exit
# 77, automake's SKIP).  Run from the build directory (make check does), or
# set TEST_SWITCH to the program.  TEST_SWITCH_WRAPPER runs it under a tool:
#     TEST_SWITCH_WRAPPER="valgrind --leak-check=full --error-exitcode=99" \
#         tests/switch-test.sh --perf 2000
# TEST_SWITCH_VLOG sets OVS's log levels (e.g. "switch_of:console:dbg").
set -euo pipefail
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
prog=${TEST_SWITCH:-tests/test-switch}
sandbox=$srcdir/ovs/sandbox.sh

if [ "$(id -u)" != 0 ]; then
    echo "switch-test: SKIP: needs root (network namespaces)"
    exit 77
fi
for p in ovsdb-server ovs-vswitchd ovs-vsctl ovs-ofctl ip ethtool; do
    command -v "$p" >/dev/null || { echo "switch-test: SKIP: no $p"; exit 77; }
done
[ -x "$prog" ] || { echo "switch-test: $prog not built" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/np-switch-test.XXXXXX")
cleanup() {
    "$sandbox" stop "$dir" || true
    rm -rf "$dir"
}
trap cleanup EXIT
"$sandbox" start "$dir"
"$sandbox" add-pod "$dir" default a 10.0.0.11

# The compiler's output for the example cluster, with two pods on known
# ports (numbers: the switch modules resolve no port names), if it is built.
flows=()
if [ -x ./ovs-netpol ] && [ -f "$srcdir/deploy/examples/cluster.yaml" ]; then
    printf 'default/db 1\ndefault/frontend 2\n' >"$dir/example-ports"
    ./ovs-netpol compile --ports "$dir/example-ports" --generation 9 \
        "$srcdir"/deploy/examples/*.yaml >"$dir/example.flows"
    flows=(--flows "$dir/example.flows")
fi
# shellcheck disable=SC2086 # the wrapper is a command line
${TEST_SWITCH_WRAPPER:-} "$prog" "$dir" "$sandbox" "${flows[@]}" "$@"
