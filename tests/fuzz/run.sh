#!/bin/bash
# tests/fuzz/run.sh: builds the libFuzzer targets of tests/fuzz (clang,
# AddressSanitizer, UndefinedBehaviorSanitizer) and runs each for a bounded
# time.  See tests/fuzz/README.md.
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]
#
# SECONDS of fuzzing per target (default 60; 0: build and replay only);
# TARGETs default to all: manifest compile kube kubeconfig extids control
# trace.  Installs clang if missing (deploy/install-deps.sh) and builds the
# project first if it is not configured (deploy/build.sh).
#
# For each target, first every input of tests/fuzz/regressions/TARGET/ is
# replayed: it must pass, unless tests/fuzz/regressions/expected-failures
# lists it (a known bug whose fix is pending), and then it must still fail
# (an entry that passes is reported: delete it).  Then the target fuzzes,
# starting from its seed corpus (tests/fuzz/corpus/) and what earlier runs
# in the same build directory found.  A crash, leak, timeout or
# out-of-memory input is copied to tests/fuzz/regressions/TARGET/ (commit it
# with the fix) and fails the run, with the sanitizer's report.
#
# Environment:
#   FUZZ_JOBS        targets fuzzed at a time (default 2)
#   FUZZ_BUILD       build directory (default tests/fuzz/build)
#   FUZZ_TIMEOUT     seconds one input may take (default 10)
#   FUZZ_RSS_MB      memory limit of a target (default 2048)
#   FUZZ_KEEP_GOING  1: go on after a crash (libFuzzer's fork mode), for
#                    long campaigns; every crash is still kept
#
# Prints one line per target (executions, coverage, result) and exits 0
# when every replay and every target passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
here=$top/tests/fuzz

all_targets="manifest compile kube kubeconfig extids control trace"
seconds=${1:-60}
shift
targets=${*:-$all_targets}
jobs=${FUZZ_JOBS:-2}
build=${FUZZ_BUILD:-$here/build}
timeout=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-2048}
case $seconds in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS [TARGET...]]" >&2; exit 2 ;;
esac
for t in $targets; do
    case " $all_targets " in
        *" $t "*) ;;
        *) echo "fuzz: unknown target $t (targets: $all_targets)" >&2; exit 2 ;;
    esac
done

# Per target: the seed corpus, the longest input, the dictionary.
seeds() { case $1 in compile) echo manifest ;; *) echo "$1" ;; esac; }
max_len() {
    case $1 in
        manifest|compile) echo 8192 ;;
        kube) echo 16384 ;;
        *) echo 4096 ;;
    esac
}
dict() {
    case $1 in
        manifest|compile) echo manifest ;;
        *) echo "$1" ;;
    esac
}

deploy/install-deps.sh clang libclang-rt-14-dev || exit 1
if [ ! -f .ovs-build ] || [ ! -f include/np-config.h ]; then
    deploy/build.sh || exit 1
fi
echo "fuzz: building in $build"
make -s -f "$here/fuzz.make" TOP="$top" B="$build" -j"$jobs" \
    $(for t in $targets; do echo "$build/fuzz-$t"; done) || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$top/tests/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
xfail_list=$here/regressions/expected-failures
failed=0

# ---- Replay. ----
expected_to_fail() {
    [ -f "$xfail_list" ] && grep -q "^$1\([[:space:]]\|$\)" "$xfail_list"
}
for t in $targets; do
    bin=$build/fuzz-$t
    n=0 bad=0
    for f in "$here/regressions/$t"/*; do
        [ -f "$f" ] || continue
        name=$t/$(basename "$f")
        n=$((n + 1))
        if "$bin" -timeout="$timeout" -rss_limit_mb="$rss" \
                -artifact_prefix="$build/replay-" "$f" \
                >"$build/replay.log" 2>&1 </dev/null; then
            if expected_to_fail "$name"; then
                echo "fuzz: XPASS $name: fixed; delete its line in $xfail_list"
                bad=$((bad + 1))
            fi
        elif expected_to_fail "$name"; then
            echo "fuzz: xfail $name (known, listed in expected-failures)"
        else
            echo "fuzz: FAIL $name:"
            grep -v '^INFO:\|^Running:\|^Executed' "$build/replay.log" | head -40
            bad=$((bad + 1))
        fi
    done
    # The seeds too: a change that makes one crash is caught without luck.
    if ! "$bin" -runs=0 -timeout="$timeout" -rss_limit_mb="$rss" \
            -artifact_prefix="$build/replay-" \
            -max_len="$(max_len "$t")" "$here/corpus/$(seeds "$t")" \
            >"$build/replay.log" 2>&1 </dev/null; then
        echo "fuzz: FAIL $t: its seed corpus crashes it:"
        tail -40 "$build/replay.log"
        bad=$((bad + 1))
    fi
    echo "fuzz: $t: $n regression inputs and the seed corpus replayed," \
         "$bad failed"
    [ "$bad" = 0 ] || failed=1
done
[ "$seconds" = 0 ] && exit $failed

# ---- Fuzzing. ----
# fuzz_one TARGET: fuzzes for $seconds; the log goes to $build/TARGET.log.
fuzz_one() {
    local t=$1 mode=()
    local work=$build/work/$t art=$build/artifacts/$t/
    mkdir -p "$work" "$art"
    rm -f "$art"*
    if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
        mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    fi
    # From the artifact directory: whatever libFuzzer writes lands there.
    cd "$art" || return 1
    "$build/fuzz-$t" "${mode[@]}" -max_total_time="$seconds" \
        -timeout="$timeout" -rss_limit_mb="$rss" \
        -max_len="$(max_len "$t")" -dict="$here/dict/$(dict "$t").dict" \
        -artifact_prefix="$art" -print_final_stats=1 \
        "$work" "$here/corpus/$(seeds "$t")" >"$build/$t.log" 2>&1 </dev/null
}

running=0
for t in $targets; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
    echo "fuzz: $t: fuzzing for $seconds s"
    fuzz_one "$t" &
    running=$((running + 1))
done
wait

for t in $targets; do
    log=$build/$t.log
    final_stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
    execs=$(final_stat number_of_executed_units)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
    rate=$(final_stat average_exec_per_sec)
    [ -n "$rate" ] || rate=$(sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p' <<<"$last")
    found=()
    for f in "$build/artifacts/$t"/*; do
        [ -f "$f" ] || continue
        mkdir -p "$here/regressions/$t"
        cp "$f" "$here/regressions/$t/"
        found+=("tests/fuzz/regressions/$t/$(basename "$f")")
    done
    result=ok
    if [ ${#found[@]} -gt 0 ]; then
        result="FOUND ${#found[@]}: ${found[*]}"
        failed=1
    elif ! grep -q 'Done [0-9]* runs\|^#[0-9]*[[:space:]]*DONE\|fuzz: done' "$log" \
            && [ "${FUZZ_KEEP_GOING:-0}" != 1 ]; then
        result="FAILED (no final statistics; see $log)"
        failed=1
    fi
    printf 'fuzz: %-10s %5s s  %10s execs (%s/s)  cov %s ft %s corpus %s  %s\n' \
        "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "$result"
    if [ ${#found[@]} -gt 0 ]; then
        # The sanitizer's or the check's report, and the stack.
        grep -B2 -A40 -m1 'ERROR: \|runtime error\|fuzz: \|Assertion\|ALARM\|out-of-memory' \
            "$log" | head -60
        echo "fuzz: the whole log is $log"
    fi
done
exit $failed
