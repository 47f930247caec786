#!/usr/bin/env bash
# daemon-bench.sh - the daemon (ovs-netpold) against kube-apiserver-sim and a
# userspace Open vSwitch, on the 10,000-pod / 1,000-policy cluster of
# `bench/gen-cluster.py --preset medium --seed 1`, as node-1.
#
# Measures: startup / full resync; single events (pod add, pod delete, pod
# relabel, policy add, policy delete) each repeated --events times; a storm
# of --storm relabels written concurrently (and the same storm as one
# /sim/load burst); the memory of the daemon and of ovs-vswitchd.  Prints a
# table and appends JSON lines to bench/out/daemon.jsonl.  Builds nothing:
# run `make` first.  Needs root (ovs/sandbox.sh).  Python 3 stdlib only.
#
# usage: bench/daemon-bench.sh [options]      (all options: --help)
#   --events N      events per single-event series (default 100)
#   --storm N       relabels in the storm (default 1000)
#   --threads N     writer connections (keep-alive) in the storm (default 8)
#   --storm-client  raw (prepared requests, default) or http.client
#   --sim FILE      the API stand-in to run (default tests/kube-apiserver-sim)
#   --no-pods       no sandbox ports for node-1's pods (default: one per pod)
#   --quick         --events 20 --storm 300
# Targets (reported, never asserted): single event p99 < 50 ms; daemon RSS
# < 100 MB; 1,000 relabels realized in < 1 s.  See bench/README.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/daemon_bench.py" "$@"
