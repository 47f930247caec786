#!/usr/bin/env bash
# metrics-scrape.sh - what a /metrics scrape costs ovs-netpold on a cluster
# of bench/gen_cluster.py (default: the broad mix's 10,000 pods / 1,000
# policies, cached by bench/clusters.py): the daemon follows it from a
# manifest directory as node-1 with --http, then /metrics is scraped N
# times (default 500).  Prints one JSON line (client wall time p50/p99,
# daemon CPU per scrape, bytes, samples, RSS) and appends it to
# bench/out/metrics-scrape.jsonl.  Root; run `make` first.
#
# usage: bench/metrics-scrape.sh [--mix old|broad] [--size 1k|10k|50k]
#                                [--cluster FILE] [--scrapes N]
exec python3 "$(dirname "$0")/metrics_scrape.py" "$@"
