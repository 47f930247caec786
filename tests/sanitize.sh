#!/bin/bash
# tests/sanitize.sh: the unit tests and the daemon under AddressSanitizer
# (with LeakSanitizer) and UndefinedBehaviorSanitizer, beside valgrind
# (tests/valgrind.sh).
#
#   tests/sanitize.sh [--unit-only]
#
# 1. Copies the tree (the files git knows, as they are in the work tree,
#    and new ones it does not ignore) to $SANITIZE_BUILD (default
#    build-sanitize/, ignored by git) and builds it there with
#    gcc -fsanitize=address,undefined, against the same libopenvswitch as
#    deploy/build.sh.  A copy, because automake refuses a second build
#    directory once the source tree itself is configured.  Later runs copy
#    only what changed and rebuild incrementally.
# 2. Runs its 'make check' with ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
#    and UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 (plus the known
#    reports of tests/ubsan.supp and tests/lsan.supp): any report fails a
#    test.
# 3. Unless --unit-only: runs the daemon's behaviour tests with real
#    packets (tests/run-e2e.sh --daemon-tests-only; NP_DAEMON_TESTS picks
#    some, e.g. "trace restart") with the sanitized ovs-netpold; any report
#    in its standard error fails.
#
# Root, on Debian 12, like tests/run-all.sh.  Exit status 0 when both
# parts passed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${SANITIZE_BUILD:-$top/build-sanitize}
unit_only=false
case ${1:-} in
    --unit-only) unit_only=true ;;
    '') ;;
    *) echo "usage: $0 [--unit-only]" >&2; exit 2 ;;
esac

if [ ! -f .ovs-build ] || [ ! -x ovs-netpol ] || [ ! -x tests/np-probe ]; then
    deploy/build.sh && make -j2 tests/np-probe || exit 1
fi
ovs_build=$(cat .ovs-build)

# ---- 1. The copy and its build. ----
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "sanitize: $top is not a git work tree: cannot tell sources from" \
         "build products" >&2
    exit 2
fi
mkdir -p "$build"
# tar keeps the modification times: make rebuilds only what changed.
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar -c --null -T - -f - | tar -x -C "$build" -f - || exit 1
san="-fsanitize=address,undefined -fno-omit-frame-pointer"
(
    cd "$build" || exit 1
    if [ ! -x configure ] || [ configure -ot configure.ac ]; then
        autoreconf -fi || exit 1
    fi
    if [ ! -f config.status ] || [ config.status -ot configure ]; then
        ./configure --with-ovs="$ovs_build" CC=gcc \
            CFLAGS="-g -O1 $san" LDFLAGS="$san" >configure.out 2>&1 ||
            { tail -30 configure.out; exit 1; }
    fi
    echo "sanitize: building in $build"
    make -s -j2 >make.out 2>&1 || { tail -50 make.out; exit 1; }
) || { echo "sanitize: the build failed"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$top/tests/lsan.supp
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$top/tests/ubsan.supp
fail=0

# ---- 2. make check. ----
echo "sanitize: make check with ASan and UBSan"
if (cd "$build" && make -j2 check >check.out 2>&1); then
    grep '^# [A-Z]*: ' "$build/check.out" | tr '\n' ' '
    echo
    echo "sanitize: make check passed"
else
    grep '^\(FAIL\|ERROR\|# [A-Z]*:\)' "$build/check.out"
    for log in $(grep -l 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error' \
                     "$build"/tests/*.log "$build"/tests/fuzz/*.log 2>/dev/null); do
        echo "---- $log"
        grep -B2 -A30 -m1 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error' "$log"
    done
    echo "sanitize: make check FAILED (logs in $build/tests)"
    fail=1
fi
$unit_only && exit $fail

# ---- 3. The daemon, with real packets. ----
# The tests delete the daemon's log when they pass, and UBSan ignores
# log_path when built with ASan: a wrapper copies the daemon's standard
# error (where every report goes) to a file of ours.
reports=$(mktemp -d "${TMPDIR:-/tmp}/np-sanitize.XXXXXX")
cat >"$reports/ovs-netpold" <<EOF
#!/bin/bash
exec "$build/ovs-netpold" "\$@" 2> >(tee -a "$reports/stderr" >&2)
EOF
chmod +x "$reports/ovs-netpold"
echo "sanitize: the daemon's behaviour tests with the sanitized ovs-netpold"
NP_DAEMON=$reports/ovs-netpold tests/run-e2e.sh --daemon-tests-only
rc=$?
if [ "$rc" != 0 ]; then
    echo "sanitize: the daemon tests FAILED"
    fail=1
fi
pattern='runtime error:\|ERROR: AddressSanitizer\|ERROR: LeakSanitizer'
if grep -q "$pattern" "$reports/stderr" 2>/dev/null; then
    grep -B2 -A30 "$pattern" "$reports/stderr" | head -120
    echo "sanitize: sanitizer reports from the daemon (its whole standard" \
         "error is in $reports/stderr)"
    fail=1
else
    echo "sanitize: no sanitizer report from the daemon"
    rm -rf "$reports"
fi
exit $fail
