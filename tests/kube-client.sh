#!/bin/sh
# Runs tests/test-kube-client against the API server stand-in: starts
# tests/kube-apiserver-sim on a free port with a fresh CA and token, and a
# second one with the same CA and token that sends bookmarks only every
# 300 s (for kube_client_sync() on quiet kinds), runs the kubeconfig unit
# tests and the client tests (faults through the sims' /sim/fault), stops
# the sims by their PIDs.  The client tests install the ClusterNetworkPolicy
# CRD (tests/sim/crd-clusternetworkpolicies.yaml, made JSON here with
# python3-yaml) and remove it where they test a cluster without it.  The last line is "N passed, M failed"; the exit
# status is 0 only if none failed.
#
# Environment: srcdir (set by make check) locates the sim; the test program
# is ./tests/test-kube-client in the build directory.  VALGRIND=1 runs the
# test program under valgrind (leaks and memory errors fail it).  Arguments
# are passed to the test program (-v: log every event and message).
set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
prog=./tests/test-kube-client
if [ ! -x "$prog" ]; then
    echo "kube-client.sh: $prog not built (make tests/test-kube-client)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kube-client.XXXXXX")
pids=
cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

token=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')

# start_sim NAME BOOKMARK_INTERVAL: writes $work/NAME.kubeconfig.  The
# first one makes the CA in $work/tls, the next ones reuse it.
start_sim() {
    python3 "$srcdir/tests/kube-apiserver-sim" --listen 127.0.0.1:0 \
        --tls-dir "$work/tls" --token "$token" \
        --kubeconfig-out "$work/$1.kubeconfig" --bookmark-interval "$2" \
        >"$work/$1.out" 2>"$work/$1.err" &
    sim_pid=$!
    pids="$pids $sim_pid"
    i=0
    until grep -q '^listening ' "$work/$1.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 200 ] || ! kill -0 "$sim_pid" 2>/dev/null; then
            echo "kube-client.sh: the sim did not start:" >&2
            cat "$work/$1.err" >&2
            echo "0 passed, 1 failed"
            exit 1
        fi
        sleep 0.1
    done
}
start_sim sim 2
start_sim quiet 300

# The ClusterNetworkPolicy CRD as JSON, for the tests to install and
# remove through the API.
if ! python3 -c 'import json, sys, yaml
json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' \
        "$srcdir/tests/sim/crd-clusternetworkpolicies.yaml" \
        >"$work/crd.json"; then
    echo "kube-client.sh: cannot convert the CRD to JSON (python3-yaml)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
set -- --cnp-crd "$work/crd.json" "$@"

# A client certificate signed by the sim's CA.
if openssl req -newkey rsa:2048 -nodes -subj /CN=ovs-netpol \
        -keyout "$work/client.key" -out "$work/client.csr" 2>/dev/null &&
    openssl x509 -req -in "$work/client.csr" -CA "$work/tls/ca.crt" \
        -CAkey "$work/tls/ca.key" -CAcreateserial -days 1 \
        -out "$work/client.crt" 2>/dev/null; then
    set -- --client-cert "$work/client.crt" \
        --client-key "$work/client.key" "$@"
else
    echo "kube-client.sh: could not make a client certificate" >&2
fi

run=""
if [ "${VALGRIND:-0}" = 1 ]; then
    kinds=definite,indirect,possible
    run="valgrind -q --leak-check=full --show-leak-kinds=$kinds"
    run="$run --errors-for-leak-kinds=$kinds --error-exitcode=99"
fi
CMOCKA_MESSAGE_OUTPUT=TAP $run "$prog" --sim "$work/sim.kubeconfig" \
    --quiet-sim "$work/quiet.kubeconfig" "$@" \
    >"$work/tap" 2>"$work/err"
status=$?
cat "$work/tap"
cat "$work/err" >&2

planned=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$work/tap" |
    awk '{s += $1} END {print s + 0}')
passed=$(grep -c '^ok ' "$work/tap")
failed=$((planned - passed))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
    # A crash or a valgrind error after the last test.
    echo "kube-client.sh: $prog exited with status $status" >&2
    failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
