#!/bin/sh
# Runs every check of the oracle and the corpus; prints one closing
# "N passed, N failed" line and exits non-zero on any failure.
# The shared-case check is skipped (not failed) when ../shared is absent.
here=$(cd "$(dirname "$0")" && pwd)
pass=0; fail=0
run() {
    name=$1; shift
    if "$@" >"${TMPDIR:-/tmp}/oracle-check.$$" 2>&1; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/    /' "${TMPDIR:-/tmp}/oracle-check.$$"
    fi
    rm -f "${TMPDIR:-/tmp}/oracle-check.$$"
}
run "oracle unit tests" python3 "$here/test_oracle.py"
run "corpus up to date (gen_cases.py --check)" python3 "$here/gen_cases.py" --check
run "hand-written verdicts agree with oracle" python3 "$here/check_handwritten.py"
run "corpus replays through oracle" python3 "$here/netpol_oracle.py" check "$here"/../cases/[0-9]*.json
run "CNP corpus up to date (gen_cnp_cases.py --check)" python3 "$here/gen_cnp_cases.py" --check
run "CNP corpus: oracle, upstream assertions, hand grids (check_cnp.py)" python3 "$here/check_cnp.py"
if python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import check_shared; sys.exit(0 if check_shared.default_dir() else 1)' "$here"; then
    run "shared conformance cases agree with oracle" python3 "$here/check_shared.py"
else
    echo "skip shared conformance cases (no ../shared/conformance)"
fi
echo "oracle: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
