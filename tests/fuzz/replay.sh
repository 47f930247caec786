#!/bin/sh
# Replays the fuzz targets' seed corpus and regression inputs through the
# replay programs (tests/fuzz/fuzz.mk), without libFuzzer or sanitizers:
# part of 'make check'.  Inputs listed in
# tests/fuzz/regressions/expected-failures (known bugs whose fix is
# pending) are left out; tests/fuzz/run.sh checks that they still fail.
# A target not built (the OVS ones without --with-ovs) is skipped.
set -u
src=${srcdir:-.}/tests/fuzz
xfail=$src/regressions/expected-failures
fail=0
for t in manifest compile kube kubeconfig extids control trace; do
    bin=tests/fuzz/replay-$t
    [ -x "$bin" ] || { echo "skip $t: $bin not built"; continue; }
    case $t in compile) seeds=manifest ;; *) seeds=$t ;; esac
    set -- "$src/corpus/$seeds"
    for f in "$src/regressions/$t"/*; do
        [ -f "$f" ] || continue
        if [ -f "$xfail" ] &&
                grep -q "^$t/$(basename "$f")\([[:space:]]\|\$\)" "$xfail"; then
            echo "skip $t/$(basename "$f"): expected to fail (known bug)"
            continue
        fi
        set -- "$@" "$f"
    done
    if out=$("$bin" "$@" 2>&1); then
        echo "ok   $t: $out"
    else
        echo "FAIL $t:"
        echo "$out" | tail -20
        fail=1
    fi
done
exit $fail
