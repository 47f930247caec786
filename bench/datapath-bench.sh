#!/usr/bin/env bash
# datapath-bench.sh - what ovs-netpol's flows cost in the datapath, in
# particular the re-check of established connections (ovs/pipeline.md,
# "Connections that exist when a policy changes").
#
# On ovs/sandbox.sh's userspace switch (datapath_type=netdev) with pods
# bench/c1..c4 (clients), bench/s (server, isolated for ingress, allows the
# clients) and bench/other (denied), plus a background cluster compiled as
# node-1 (gen_cluster.py --preset small: 1,000 pods, 100 policies), three
# tables on the same switch:
#   A  priority=0,actions=NORMAL                 no policy, no conntrack
#   B  ovs-netpol compile output                 established packets re-checked
#   C  B, table 1 priority 170 -> NORMAL         established packets skip policies
# Measures bulk TCP (1 and 4 streams), new TCP connections per second (1 and
# 4 clients; crrfan: 1 client to 32 ports), 1-byte request/response latency (p50/p99), and after each run
# datapath flows, upcalls, dpif-netdev hit counters, coverage deltas and
# ovs-vswitchd's CPU.  --reps runs each (default 3), medians printed; JSON
# lines appended to bench/out/datapath.jsonl.  About 8 minutes.
#
# usage: sudo bench/datapath-bench.sh [--preset small|tiny|medium|none]
#            [--seconds 5] [--reps 3] [--tests stream1,stream4,crr1,crr4,crrfan,rr] [--keep]
# Needs root, the openvswitch-switch binaries, iproute2, ethtool; builds
# nothing (`make` first); Python 3 stdlib only.  Stops what it starts by PID;
# `sandbox.sh stop` deletes its network namespaces.  See bench/README.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/datapath_bench.py" "$@"
