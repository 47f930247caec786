#!/usr/bin/env bash
# install-bench.sh - time loading compiled flow tables into a real (userspace)
# Open vSwitch: ovs/sandbox.sh's br-int, `ovs-ofctl -O OpenFlow15 --bundle
# replace-flows`, and the ovs-vswitchd memory it costs.
#
# Needs root and openvswitch-switch (as ovs/sandbox.sh does); builds nothing.
# Compiles each case with ./ovs-netpol (clusters from bench/gen_cluster.py,
# cached in bench/out/clusters/ as compile-bench.sh does), then for each:
#   install   replace-flows into an empty bridge (the first load)
#   noop      replace-flows of the same file again (the diff finds nothing)
#   clear     del-flows, ready for the next run
# and reads ovs-vswitchd's VmRSS after install and its VmHWM (peak) at the
# end.  Every case gets a fresh sandbox, so memory figures don't carry over.
# One JSON line per case is appended to bench/out/install.jsonl.
#
# usage: bench/install-bench.sh [--bin PATH] [--repeat N] [--seed N] [CASE...]
#   CASE   medium-node1 medium large-node1 large (default: medium-node1 medium)
#   --repeat N   install/noop runs per case, median reported (default 3)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
OUT=$HERE/out
BIN=$TOP/ovs-netpol
SANDBOX=$TOP/ovs/sandbox.sh
REPEAT=3 SEED=1
CASES=()
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        medium|medium-node1|large|large-node1) CASES+=("$1"); shift ;;
        *) echo "install-bench: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ ${#CASES[@]} -gt 0 ] || CASES=(medium-node1 medium)

say() { echo "[install-bench $(date +%T)] $*" >&2; }
[ -x "$SANDBOX" ] || { echo "install-bench: $SANDBOX is missing; skipping" >&2; exit 0; }
[ -x "$BIN" ] || { echo "install-bench: $BIN is missing; build it first (make)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "install-bench: needs root (ovs/sandbox.sh)" >&2; exit 1; }

mkdir -p "$OUT/clusters"
TMP=$(mktemp -d /tmp/install-bench.XXXXXX)
SB=$TMP/sandbox
STARTED=0
cleanup() {
    local rc=$?
    [ "$STARTED" = 1 ] && "$SANDBOX" stop "$SB" >/dev/null 2>&1 || true
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ofctl() { "$SANDBOX" sw "$SB" ovs-ofctl -O OpenFlow15 -vconsole:err "$@"; }
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b - a) / 1e9}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
vmem() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }

start_sandbox() {
    "$SANDBOX" start "$SB" >"$TMP/sandbox.log" 2>&1 || { cat "$TMP/sandbox.log" >&2; exit 1; }
    STARTED=1
    VSWITCHD=$(cat "$SB/run/ovs-vswitchd.pid")
    RSS0=$(vmem "$VSWITCHD" VmRSS)
}
stop_sandbox() {
    "$SANDBOX" stop "$SB" >/dev/null 2>&1 || true
    STARTED=0
}

printf '%-13s %8s %9s %9s %9s %8s %8s %8s\n' case flows install_s flows/s noop_s rss_MB +rss_MB peak_MB >"$TMP/table"
for case in "${CASES[@]}"; do
    cname=${case%-node1} node=""
    [ "$case" != "$cname" ] && node=node-1
    CLUSTER=$OUT/clusters/$cname-s$SEED.json
    META=$OUT/clusters/$cname-s$SEED.meta.json
    if [ ! -s "$CLUSTER" ] || [ "$HERE/gen_cluster.py" -nt "$CLUSTER" ]; then
        case "$cname" in
            medium) gargs="--pods 10000 --policies 1000 --nodes 50" ;;
            large) gargs="--pods 50000 --policies 5000 --nodes 250" ;;
        esac
        say "generating $cname"
        # shellcheck disable=SC2086
        python3 "$HERE/gen_cluster.py" $gargs --seed "$SEED" -o "$CLUSTER.tmp" --meta "$META"
        mv "$CLUSTER.tmp" "$CLUSTER"
    fi
    pf=$OUT/clusters/$cname-s$SEED.${node:-all}.ports
    if [ ! -s "$pf" ] || [ "$CLUSTER" -nt "$pf" ]; then
        python3 "$HERE/gen_cluster.py" --ports-for "$CLUSTER" ${node:+--ports-node "$node"} -o "$pf"
    fi
    start_sandbox       # a fresh switch per case: freed memory stays in the process
    FLOWS=$TMP/$case.flows
    "$BIN" compile ${node:+--node "$node"} --ports "$pf" "$CLUSTER" >"$FLOWS"
    n=$(grep -cv '^[[:space:]]*\(#\|$\)' "$FLOWS")
    ins=() noop=() rss=0
    for i in $(seq 1 "$REPEAT"); do
        ofctl del-flows br-int
        t0=$(now); ofctl --bundle replace-flows br-int "$FLOWS"; t1=$(now)
        ins+=("$(secs "$t0" "$t1")")
        rss=$(vmem "$VSWITCHD" VmRSS)
        t0=$(now); ofctl --bundle replace-flows br-int "$FLOWS"; t1=$(now)
        noop+=("$(secs "$t0" "$t1")")
    done
    got=$(ofctl dump-aggregate br-int | sed -n 's/.*flow_count=\([0-9]*\).*/\1/p')
    [ "$got" = "$n" ] || say "$case: $n flows in the file but $got on br-int"
    ofctl del-flows br-int
    im=$(median "${ins[@]}") nm=$(median "${noop[@]}")
    hwm=$(vmem "$VSWITCHD" VmHWM)
    rate=$(awk -v n="$n" -v t="$im" 'BEGIN {printf "%d", (t > 0) ? n / t : 0}')
    printf '{"date":"%s","case":"%s","cluster":"%s","flows":%s,"on_bridge":%s,"install_s":[%s],"install_median_s":%s,"flows_per_s":%s,"noop_median_s":%s,"vswitchd_rss_kb":%s,"vswitchd_rss_empty_kb":%s,"vswitchd_peak_kb":%s}\n' \
        "$(date +%Y-%m-%dT%H:%M:%S%z)" "$case" "$(basename "$CLUSTER")" "$n" "${got:-0}" \
        "$(IFS=,; echo "${ins[*]}")" "$im" "$rate" "$nm" "$rss" "$RSS0" "$hwm" >>"$OUT/install.jsonl"
    printf '%-13s %8s %9.3f %9s %9.3f %8.1f %8.1f %8.1f\n' "$case" "$n" "$im" "$rate" "$nm" \
        "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" "$(awk -v r="$rss" -v e="$RSS0" 'BEGIN {print (r - e) / 1024}')" \
        "$(awk -v r="$hwm" 'BEGIN {print r / 1024}')" >>"$TMP/table"
    say "$case: $n flows, install ${im}s, noop ${nm}s, ovs-vswitchd $((rss / 1024)) MB (peak $((hwm / 1024)) MB)"
    stop_sandbox
done
echo
cat "$TMP/table"
echo "(install_s/noop_s: median of $REPEAT 'ovs-ofctl --bundle replace-flows' into an empty / identical table;"
echo " rss_MB: ovs-vswitchd VmRSS with the table loaded, +rss_MB over the empty switch, peak_MB its VmHWM; a fresh switch per case)"
