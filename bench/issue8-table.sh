#!/usr/bin/env bash
# issue8-table.sh - issue 8's table for one cluster size and mix: the
# daemon's latency and flow changes per event kind (pod add/delete/relabel,
# relabel of a much-referenced pod, namespace relabel, policy add/delete,
# narrow and broad), 1,000 relabels, startup, memory, flows, and `compile
# --node node-1` time and memory, on the same cluster file.  Runs
# bench/compile-bench.sh and bench/daemon-bench.sh (root, ovs/sandbox.sh;
# `make` first); prints Markdown and appends JSON lines to
# bench/out/issue8.jsonl.  Wall-clock figures: run it on a quiet machine.
#
# usage: bench/issue8-table.sh SIZE MIX [options] [-- daemon-bench args]
#   SIZE 1k|10k|50k, MIX old|broad; the four of the issue:
#     for m in old broad; do for s in 10k 50k; do sudo bench/issue8-table.sh $s $m; done; done
#     bench/issue8-table.sh --combine      # the four side by side, with 50k/10k
#   --events N        events per series (default 50; 10 at 50k)
#   --storm N         relabels in the storm (default 1000)
#   --repeat N        compile runs (default 3)
#   --one-daemon / --fresh-daemons   (default: fresh per phase; one at 50k)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec python3 "$HERE/issue8_table.py" "$@"
