#!/bin/bash
# tests/run-e2e.sh — the real-packet end-to-end suite of ovs-netpol.
#
# Run from the build directory, as root, after building ./ovs-netpol and
# tests/np-probe (make check-e2e does both).  Builds nothing.
#
#   tests/run-e2e.sh [MODE] [run-cases.py options] [CASE-FILE-OR-DIR...]
#
# MODE:
#   (none), --self-check   the corpus, then the self-check
#   --no-self-check        the corpus only
#   --self-check-only      the self-check only
#   --daemon               the corpus through ovs-netpold (run-cases.py --daemon:
#                          one daemon per sandbox following a directory, each
#                          step written there and synced), then the daemon's
#                          behaviour tests, tests/daemon/t-*.py (restart,
#                          ovs-vswitchd restart, policy updates, drift, bad
#                          manifests, the spoof guard across restarts)
#   --daemon-corpus-only, --daemon-tests-only   one of the two
#
# The corpus is tests/cases/*.json and the ClusterNetworkPolicy cases,
# tests/cases-cnp/*.json; while tests/cases is empty, the examples in
# ../shared/conformance/cases.  Each case runs against the flows of
# `./ovs-netpol compile` (NP_COMPILE overrides the command).
#
# The self-check proves that the bed can fail and can pass:
#   - the corpus against a table that allows everything (allow-all) and one
#     that drops all IP (deny-all) must each give mismatches;
#   - a hand-written conntrack table (tests/e2e/selftest/ct-table.flows) must
#     give exactly the verdicts of tests/e2e/selftest/ct-table.json.
#
# With --daemon, NP_DAEMON is the daemon (default ./ovs-netpold) and
# NP_DAEMON_TESTS the behaviour tests to run (names, e.g. "restart drift";
# default all of tests/daemon/t-*.py).
#
# Everything started is stopped at the end, also on Ctrl-C or a kill: no
# namespace or switch process is left behind.  Exit status 0 when every part
# passed.  Environment: NP_E2E_JOBS (parallel sandboxes, default 4),
# NP_PROBE_TIMEOUT_MS, NP_COMPILE, NP_PROBE.
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
runner=$src/tests/e2e/run-cases.py
mode=both
args=()
for a in "$@"; do
    case $a in
        --self-check) mode=both ;;
        --no-self-check) mode=corpus ;;
        --self-check-only) mode=self ;;
        --daemon) mode=daemon ;;
        --daemon-corpus-only) mode=daemon-corpus ;;
        --daemon-tests-only) mode=daemon-tests ;;
        *) args+=("$a") ;;
    esac
done

die() { echo "run-e2e: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, Open vSwitch)"
for p in ovsdb-server ovs-vswitchd ovs-ofctl ovs-appctl ip ethtool python3; do
    command -v "$p" >/dev/null || die "$p not found (apt-get install openvswitch-switch iproute2 ethtool python3)"
done
export NP_PROBE=${NP_PROBE:-$PWD/tests/np-probe}
[ -x "$NP_PROBE" ] || die "$NP_PROBE is not built (make tests/np-probe)"
if [ -z "${NP_COMPILE:-}" ]; then
    [ -x ./ovs-netpol ] || die "./ovs-netpol is not built (run from the build directory)"
    export NP_COMPILE="$PWD/ovs-netpol compile"
fi
case $mode in
    daemon*)
        export NP_DAEMON=${NP_DAEMON:-$PWD/ovs-netpold}
        [ -x "$NP_DAEMON" ] || die "$NP_DAEMON is not built (make ovs-netpold)"
        ;;
esac

# Case files given on the command line replace the corpus.
cases=()
opts=()
classes=0
for a in "${args[@]}"; do
    if [ -e "$a" ] && [[ "$a" != -* ]]; then cases+=("$a"); else opts+=("$a"); fi
done
if [ ${#cases[@]} = 0 ]; then
    if compgen -G "$src/tests/cases/[0-9a-z]*.json" >/dev/null; then
        cases=("$src/tests/cases" "$src/tests/cases-cnp")
        # The ClusterNetworkPolicy cases once more with every peer set a
        # register class (--peer-class-min 1; their sets are smaller than
        # the default's 32 addresses).
        classes=1
    elif [ -d "$src/../shared/conformance/cases" ]; then
        echo "run-e2e: tests/cases is empty; using ../shared/conformance/cases"
        cases=("$src/../shared/conformance/cases")
    else
        die "no cases: tests/cases is empty"
    fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/np-e2e.XXXXXX")
child=
tailer=
cleanup() {
    trap - EXIT INT TERM HUP
    if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
        kill -TERM "$child" 2>/dev/null     # run-cases.py stops its sandboxes
        wait "$child" 2>/dev/null
    fi
    [ -z "$tailer" ] || kill "$tailer" 2>/dev/null
    # in case the runner died without cleaning up: its daemons (by PID, if
    # that PID still runs ovs-netpold), then its sandboxes
    local sb pidf pid
    for pidf in "$work"/*/w*/ovs-netpold.pid "$work"/dtests/*/ovs-netpold.pid; do
        [ -f "$pidf" ] || continue
        pid=$(cat "$pidf" 2>/dev/null)
        if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = ovs-netpold ]; then
            kill -TERM "$pid" 2>/dev/null
        fi
    done
    for sb in "$work"/*/w*/sandbox "$work"/dtests/*/sb; do
        [ -d "$sb" ] && "$src/ovs/sandbox.sh" stop "$sb" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP

# run_cases NAME [options and cases]: the runner in the background (so that a
# signal reaches the trap at once), its output in $work/NAME.out and on stdout.
run_cases() {
    local name=$1 rc
    shift
    mkdir -p "$work/$name"
    python3 "$runner" --workdir "$work/$name" "$@" >"$work/$name.out" 2>&1 &
    child=$!
    tail -n +1 -s 0.2 --pid="$child" -f "$work/$name.out" &
    tailer=$!
    wait "$child"
    rc=$?
    wait "$tailer"
    child= tailer=
    return $rc
}
mismatches() { sed -n 's/^total: .*probes, \([0-9]*\) mismatches.*/\1/p' "$work/$1.out" | tail -1; }

# run_test NAME CMD...: one daemon behaviour test in the background (a
# signal reaches the trap at once; the test stops what it started on
# SIGTERM), its output in $work/NAME.out and on stdout.
run_test() {
    local name=$1 rc
    shift
    "$@" >"$work/$name.out" 2>&1 &
    child=$!
    tail -n +1 -s 0.2 --pid="$child" -f "$work/$name.out" &
    tailer=$!
    wait "$child"
    rc=$?
    wait "$tailer"
    child= tailer=
    return $rc
}

fail=0
summary=()
if [ "$mode" = daemon ] || [ "$mode" = daemon-corpus ]; then
    echo "=== e2e corpus through ovs-netpold: ${cases[*]}"
    if run_cases daemon-corpus --daemon "${opts[@]}" "${cases[@]}"; then
        summary+=("daemon corpus: $(tail -1 "$work/daemon-corpus.out")")
    else
        summary+=("daemon corpus: FAILED: $(tail -1 "$work/daemon-corpus.out")")
        fail=1
        keep=$(mktemp -d "${TMPDIR:-/tmp}/np-e2e-failed.XXXXXX")
        for w in "$work"/daemon-corpus/w*; do
            [ -d "$w" ] || continue
            mkdir -p "$keep/$(basename "$w")"
            [ -d "$w/cases" ] && cp -r "$w/cases" "$keep/$(basename "$w")/"
            cp "$w"/ovs-netpold.log "$keep/$(basename "$w")/" 2>/dev/null
        done
        summary+=("       artifacts of every case and the daemons' logs in $keep")
    fi
    summary+=("$(grep '^daemon: .*steps synced' "$work/daemon-corpus.out")")
    if [ "$classes" = 1 ]; then
        echo "=== e2e ClusterNetworkPolicy cases through ovs-netpold, peers as register classes"
        if run_cases daemon-classes --daemon \
                --daemon-args "${NP_DAEMON_ARGS:---log-level debug} --peer-class-min 1" \
                "${opts[@]}" "$src/tests/cases-cnp"; then
            summary+=("daemon, peer classes: $(tail -1 "$work/daemon-classes.out")")
        else
            summary+=("daemon, peer classes: FAILED: $(tail -1 "$work/daemon-classes.out")")
            fail=1
        fi
    fi
fi
if [ "$mode" = daemon ] || [ "$mode" = daemon-tests ]; then
    for t in "$src"/tests/daemon/t-*.py; do
        name=$(basename "$t" .py)
        name=${name#t-}
        if [ -n "${NP_DAEMON_TESTS:-}" ] && [[ " $NP_DAEMON_TESTS " != *" $name "* ]]; then
            continue
        fi
        echo "=== daemon test $name"
        if NP_DTEST_DIR=$work/dtests run_test "daemon-$name" python3 "$t"; then
            summary+=("daemon $name: $(tail -1 "$work/daemon-$name.out")")
        else
            summary+=("daemon $name: FAILED: $(tail -1 "$work/daemon-$name.out")")
            fail=1
            # the test kept its work directory (daemon log, probe records)
            keep=$(mktemp -d "${TMPDIR:-/tmp}/np-e2e-failed.XXXXXX")
            mv "$work"/dtests/np-dtest-* "$keep"/ 2>/dev/null
            cp "$work/daemon-$name.out" "$keep"/
            summary+=("       its output, daemon log and probe records in $keep")
        fi
    done
fi
if [ "$mode" = both ] || [ "$mode" = corpus ]; then
    echo "=== e2e corpus: ${cases[*]}"
    if run_cases corpus "${opts[@]}" "${cases[@]}"; then
        summary+=("corpus: $(tail -1 "$work/corpus.out")")
    else
        summary+=("corpus: FAILED: $(tail -1 "$work/corpus.out")")
        fail=1
        # keep what explains the failures: per step cluster.json, flows,
        # probes and, for failed steps, dump-flows with counters
        keep=$(mktemp -d "${TMPDIR:-/tmp}/np-e2e-failed.XXXXXX")
        for w in "$work"/corpus/w*; do
            [ -d "$w/cases" ] && cp -r "$w/cases" "$keep/$(basename "$w")"
        done
        summary+=("       artifacts of every case in $keep")
    fi
    if [ "$classes" = 1 ]; then
        echo "=== e2e ClusterNetworkPolicy cases, peers as register classes"
        if run_cases classes --compile "${NP_COMPILE:-./ovs-netpol compile} --peer-class-min 1" \
                "${opts[@]}" "$src/tests/cases-cnp"; then
            summary+=("peer classes: $(tail -1 "$work/classes.out")")
        else
            summary+=("peer classes: FAILED: $(tail -1 "$work/classes.out")")
            fail=1
        fi
    fi
fi
if [ "$mode" = both ] || [ "$mode" = self ]; then
    for table in allow-all deny-all; do
        echo "=== e2e self-check: the corpus against $table (must give mismatches)"
        run_cases "$table" --table "$table" --max-print 3 "${opts[@]}" "${cases[@]}"
        n=$(mismatches "$table")
        if [ -n "$n" ] && [ "$n" -gt 0 ]; then
            summary+=("self-check $table: $n mismatches (good: the bed sees them)")
        else
            summary+=("self-check $table: FAILED: ${n:-no} mismatches; the bed cannot tell")
            fail=1
        fi
    done
    echo "=== e2e self-check: hand-written conntrack table (must pass)"
    if run_cases positive --table "$src/tests/e2e/selftest/ct-table.flows" -v \
            "${opts[@]}" "$src/tests/e2e/selftest/ct-table.json"; then
        summary+=("self-check ct-table: passed")
    else
        summary+=("self-check ct-table: FAILED")
        fail=1
    fi
fi
echo "=== e2e summary"
printf '%s\n' "${summary[@]}"
left=$(ip netns list 2>/dev/null | grep -cE '^np(sw|p)-' || true)
[ "$left" = 0 ] || echo "note: $left npsw-/npp- namespaces exist (other sandboxes?)"
[ $fail = 0 ] && echo "e2e: passed" || echo "e2e: FAILED"
exit $fail
