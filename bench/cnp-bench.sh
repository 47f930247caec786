#!/bin/sh
# cnp-bench.sh - what ClusterNetworkPolicies cost: flows and compile time of
# a cluster with 100 CNPs next to the same cluster without them, with them
# written as NetworkPolicies, and with 100 more NetworkPolicies; and the
# engine's CPU time for a CNP add / change / delete and for pod and
# namespace events with and without CNPs.  See bench/cnp_bench.py and
# bench/README.md ("ClusterNetworkPolicy figures").  Builds nothing: run
# `make` first (ovs-netpol, bench/engine-event).  Runs under nice.
#
#   bench/cnp-bench.sh                      # 10k and 50k pods, 3 runs each
#   bench/cnp-bench.sh --sizes 10k --repeat 1 --part compile
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec nice python3 "$HERE/cnp_bench.py" "$@"
