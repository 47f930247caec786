#!/bin/sh
# Tests of tests/kube-apiserver-sim against the real kubectl, curl and raw
# HTTPS.  Needs python3, openssl, curl and kubectl (KUBECTL=... to override).
# The last line is "N passed, M failed"; the exit status is 0 only if none failed.
# Arguments are passed on: -k SUBSTRING runs a subset, -v shows simulator logs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/test_sim.py" "$@"
