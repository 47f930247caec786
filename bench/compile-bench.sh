#!/usr/bin/env bash
# compile-bench.sh - time `ovs-netpol compile` on synthetic clusters.
#
# Builds nothing: run `make` first.  Generates the clusters with
# bench/gen_cluster.py (cached in bench/out/clusters/, regenerated when the
# generator changes), runs the compiler on each case --repeat times under
# /usr/bin/time -v, and prints a table; one JSON line per case is appended to
# bench/out/results.jsonl.  See bench/README.md for what each figure means.
#
# usage: bench/compile-bench.sh [options] [CASE...]
#   CASE                medium medium-node1 large large-node1 cross (default:
#                       all five; "quick" = medium medium-node1 cross);
#                       broad-medium broad-medium-node1 broad-large
#                       broad-large-node1: the same sizes, gen_cluster.py
#                       --mix broad (issue 8); small small-node1
#                       broad-small broad-small-node1: 1,000 pods, 100
#                       policies (quick checks); none in the default;
#                       medium-cnp100[-node1] large-cnp100[-node1]: the
#                       same clusters with 100 ClusterNetworkPolicies
#                       (gen_cluster.py --cnps 100), medium-cnp100np[-node1]
#                       large-cnp100np[-node1]: those 100 written as
#                       NetworkPolicies (--cnps-as np); none in the default
#   --bin PATH          the compiler (default ./ovs-netpol in the source tree)
#   --repeat N          runs per case; wall time is the median (default 3)
#   --seed N            generator seed (default 1)
#   --regen             regenerate the clusters even if cached
#   --keep-flows        keep every case's flow output in bench/out/flows/
#   --ovn               also run the OVN peer (../shared/peers/ovn, needs root
#                       and ovn-central/ovn-host) on the medium cluster,
#                       node-1, ic mode, and print our figures as ratios to it
#   --no-ports          don't pass --ports (by default every local pod gets an
#                       OpenFlow port, 1, 2, ..., as the daemon would know them)
#   --compile-args ARGS extra arguments for every compile (e.g. "--table-base 10")
# Targets (reported, not asserted): medium < 1 s; large < 5 s and < 500 MB;
# cross: about 1,100 policy flows (100 dst + 1,000 src + 10 port clauses + 1);
# issue 8: broad-medium-node1 < 0.3 s.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
OUT=$HERE/out
BIN=$TOP/ovs-netpol
REPEAT=3 SEED=1 REGEN=0 KEEP=0 OVN=0 EXTRA="" PORTS=1
CASES=()
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) BIN=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --regen) REGEN=1; shift ;;
        --keep-flows) KEEP=1; shift ;;
        --ovn) OVN=1; shift ;;
        --no-ports) PORTS=0; shift ;;
        --compile-args) EXTRA=$2; shift 2 ;;
        -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
        quick) CASES+=(medium medium-node1 cross); shift ;;
        medium|medium-node1|large|large-node1|cross) CASES+=("$1"); shift ;;
        broad-medium|broad-medium-node1|broad-large|broad-large-node1) CASES+=("$1"); shift ;;
        small|small-node1|broad-small|broad-small-node1) CASES+=("$1"); shift ;;
        medium-cnp100|medium-cnp100-node1|large-cnp100|large-cnp100-node1) CASES+=("$1"); shift ;;
        medium-cnp100np|medium-cnp100np-node1|large-cnp100np|large-cnp100np-node1) CASES+=("$1"); shift ;;
        *) echo "compile-bench: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ ${#CASES[@]} -gt 0 ] || CASES=(medium medium-node1 large large-node1 cross)
case "$REPEAT" in ''|*[!0-9]*|0) echo "compile-bench: bad --repeat" >&2; exit 2 ;; esac

say() { echo "[compile-bench $(date +%T)] $*" >&2; }

if [ ! -x /usr/bin/time ]; then
    say "installing GNU time (apt-get install time)"
    apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
if [ ! -x "$BIN" ]; then
    echo "compile-bench: $BIN does not exist or is not executable; build it first (make)" >&2
    exit 1
fi

mkdir -p "$OUT/clusters" "$OUT/flows"
TMP=$(mktemp -d /tmp/compile-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
: >"$TMP/ours"

# cluster NAME -> generator arguments
cluster_args() {
    case "$1" in
        medium) echo "--pods 10000 --policies 1000 --nodes 50" ;;
        large) echo "--pods 50000 --policies 5000 --nodes 250" ;;
        cross) echo "--shape cross" ;;
        small) echo "--pods 1000 --policies 100 --nodes 5" ;;
        broad-small) echo "--mix broad --preset small" ;;
        broad-medium) echo "--mix broad --preset medium" ;;
        broad-large) echo "--mix broad --preset large" ;;
        medium-cnp100) echo "--pods 10000 --policies 1000 --nodes 50 --cnps 100" ;;
        medium-cnp100np) echo "--pods 10000 --policies 1000 --nodes 50 --cnps 100 --cnps-as np" ;;
        large-cnp100) echo "--pods 50000 --policies 5000 --nodes 250 --cnps 100" ;;
        large-cnp100np) echo "--pods 50000 --policies 5000 --nodes 250 --cnps 100 --cnps-as np" ;;
    esac
}

# ensure_cluster NAME: sets CLUSTER and META, generating when needed
ensure_cluster() {
    local name=$1
    CLUSTER=$OUT/clusters/$name-s$SEED.json
    META=$OUT/clusters/$name-s$SEED.meta.json
    if [ "$REGEN" = 1 ] || [ ! -s "$CLUSTER" ] || [ ! -s "$META" ] \
        || [ "$HERE/gen_cluster.py" -nt "$CLUSTER" ]; then
        say "generating $name: gen_cluster.py $(cluster_args "$name") --seed $SEED"
        # shellcheck disable=SC2046
        python3 "$HERE/gen_cluster.py" $(cluster_args "$name") --seed "$SEED" \
            -o "$CLUSTER.tmp" --meta "$META"
        mv "$CLUSTER.tmp" "$CLUSTER"
    fi
}

meta_get() {  # meta_get FILE KEY
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"][sys.argv[2]])' "$1" "$2"
}

# count_flows FILE: prints "total infra clause rule isolation cnp conj per_table_json"
# Flows are the lines that are neither empty nor '#' comments; a flow with
# no table= is in table 0 (ovs-ofctl's default).  The cookie kind is byte 5
# of the cookie (include/compile.h: prefix 0x4e50 | gen | kind | ...).
count_flows() {
    awk '
    /^[[:space:]]*(#|$)/ { next }
    {
        n++
        t = "0"
        if (match($0, /table=[0-9]+/)) t = substr($0, RSTART + 6, RLENGTH - 6)
        tab[t]++
        if (match($0, /cookie=0x[0-9a-fA-F]+/)) {
            h = substr($0, RSTART + 9, RLENGTH - 9)
            while (length(h) < 16) h = "0" h
            if (tolower(substr(h, 1, 4)) == "4e50") kind[substr(h, 7, 2)]++
            else kind["other"]++
        } else kind["none"]++
        if ($0 ~ /conjunction\(/) conj++
    }
    END {
        s = ""
        for (t in tab) s = s (s == "" ? "" : ",") "\"" t "\":" tab[t]
        printf "%d %d %d %d %d %d %d {%s}\n", n, kind["01"] + 0, kind["02"] + 0, kind["03"] + 0,
            kind["04"] + 0, kind["06"] + 0, conj + 0, s
    }' "$1"
}

# time_v_get FILE LABEL: a value from /usr/bin/time -v output
time_v_get() { sed -n "s/^[[:space:]]*$2: //p" "$1" | head -1; }

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

REV=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo none)
if [ -n "$(git -C "$TOP" status --porcelain -- src include 2>/dev/null)" ]; then REV="$REV+dirty"; fi
DATE=$(date +%Y-%m-%dT%H:%M:%S%z)
ROWS=()
FAILED=0

run_case() {
    local case=$1 cname args=() node=""
    case "$case" in
        medium) cname=medium ;;
        medium-node1) cname=medium node=node-1 ;;
        large) cname=large ;;
        large-node1) cname=large node=node-1 ;;
        cross) cname=cross ;;
        small|broad-small|broad-medium|broad-large|*-cnp100|*-cnp100np) cname=$case ;;
        small-node1|broad-small-node1|broad-medium-node1|broad-large-node1|*-cnp100-node1|*-cnp100np-node1)
            cname=${case%-node1} node=node-1 ;;
    esac
    ensure_cluster "$cname"
    [ -n "$node" ] && args+=(--node "$node")
    if [ "$PORTS" = 1 ]; then
        local pf=$OUT/clusters/$cname-s$SEED.${node:-all}.ports
        if [ ! -s "$pf" ] || [ "$CLUSTER" -nt "$pf" ]; then
            python3 "$HERE/gen_cluster.py" --ports-for "$CLUSTER" ${node:+--ports-node "$node"} -o "$pf"
        fi
        args+=(--ports "$pf")
    fi
    # shellcheck disable=SC2206
    [ -n "$EXTRA" ] && args+=($EXTRA)
    local n_ns n_pods n_pol n_local
    n_ns=$(meta_get "$META" namespaces)
    n_pods=$(meta_get "$META" pods)
    n_pol=$(meta_get "$META" policies)
    if [ -n "$node" ]; then
        n_local=$(grep -o "\"nodeName\":\"$node\"" "$CLUSTER" | wc -l)
    else
        n_local=$n_pods
    fi
    local flows=$OUT/flows/$case.flows walls=() rss=0 user=() sys=() i t0 t1 rc
    say "$case: $BIN compile ${args[*]:-} $(basename "$CLUSTER") x$REPEAT"
    for i in $(seq 1 "$REPEAT"); do
        t0=$(date +%s%N)
        rc=0
        /usr/bin/time -v -o "$TMP/time" "$BIN" compile "${args[@]}" "$CLUSTER" \
            >"$flows" 2>"$TMP/stderr" || rc=$?
        t1=$(date +%s%N)
        if [ "$rc" != 0 ]; then
            say "$case: exit status $rc; stderr:"
            tail -n 20 "$TMP/stderr" >&2
            FAILED=1
            printf '{"date":"%s","rev":"%s","case":"%s","cluster":"%s","args":"%s","error":"exit %s"}\n' \
                "$DATE" "$REV" "$case" "$(basename "$CLUSTER")" "${args[*]:-}" "$rc" >>"$OUT/results.jsonl"
            ROWS+=("$(printf '%-22s %s' "$case" "FAILED (exit $rc)")")
            return
        fi
        walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", (b - a) / 1e9}')")
        user+=("$(time_v_get "$TMP/time" 'User time (seconds)')")
        sys+=("$(time_v_get "$TMP/time" 'System time (seconds)')")
        local r
        r=$(time_v_get "$TMP/time" 'Maximum resident set size (kbytes)')
        [ "$r" -gt "$rss" ] && rss=$r
    done
    local warn
    warn=$(grep -ci 'warn' "$TMP/stderr" || true)
    local c total infra clause rule iso cnp conj tables
    c=$(count_flows "$flows")
    read -r total infra clause rule iso cnp conj tables <<<"$c"
    local out_mb wall
    out_mb=$(awk -v s="$(stat -c %s "$flows")" 'BEGIN {printf "%.1f", s / 1048576}')
    wall=$(median "${walls[@]}")
    local umed smed
    umed=$(median "${user[@]}")
    smed=$(median "${sys[@]}")
    # targets
    local target met
    case "$case" in
        medium|medium-node1) target="wall<1s"; met=$(awk -v w="$wall" 'BEGIN {print (w < 1) ? "yes" : "no"}') ;;
        large|large-node1) target="wall<5s,rss<500MB"
            met=$(awk -v w="$wall" -v r="$rss" 'BEGIN {print (w < 5 && r < 500 * 1024) ? "yes" : "no"}') ;;
        broad-medium-node1) target="wall<0.3s"; met=$(awk -v w="$wall" 'BEGIN {print (w < 0.3) ? "yes" : "no"}') ;;
        broad-medium|broad-large|broad-large-node1|*small*|*cnp100*) target="-"; met="-" ;;
        cross) target="policy flows~1100"
            met=$(awk -v f="$((clause + rule))" 'BEGIN {print (f >= 1000 && f <= 1300) ? "yes" : "no"}') ;;
    esac
    local walls_json
    walls_json=$(IFS=,; echo "${walls[*]}")
    printf '{"date":"%s","rev":"%s","case":"%s","cluster":"%s","seed":%s,"args":"%s","namespaces":%s,"pods":%s,"local_pods":%s,"policies":%s,"flows":%s,"flows_per_table":%s,"flows_by_kind":{"infra":%s,"clause":%s,"rule":%s,"isolation":%s,"cnp":%s},"conjunction_actions":%s,"output_mb":%s,"wall_s":[%s],"wall_median_s":%s,"user_median_s":%s,"sys_median_s":%s,"peak_rss_kb":%s,"stderr_warning_lines":%s,"target":"%s","target_met":"%s"}\n' \
        "$DATE" "$REV" "$case" "$(basename "$CLUSTER")" "$SEED" "$(echo "${args[*]:-}" | sed "s|$OUT/clusters/||g")" "$n_ns" "$n_pods" "$n_local" "$n_pol" \
        "$total" "$tables" "$infra" "$clause" "$rule" "$iso" "$cnp" "$conj" "$out_mb" "$walls_json" "$wall" "$umed" "$smed" \
        "$rss" "$warn" "$target" "$met" | tee -a "$OUT/results.jsonl" >"$TMP/last.json"
    local per
    per=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["flows_per_table"]; print(" ".join("t%s=%d" % (k, d[k]) for k in sorted(d, key=int)))' "$TMP/last.json")
    ROWS+=("$(printf '%-22s %5s %7s %6s %5s %9s %8s %8.3f %7.2f %8.1f  %-18s %-3s  %s' \
        "$case" "$n_ns" "$n_pods" "$n_local" "$n_pol" "$total" "$((clause + rule + cnp))" "$wall" \
        "$(awk -v u="$umed" -v s="$smed" 'BEGIN {print u + s}')" "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" \
        "$target" "$met" "$per")")
    echo "$case $wall $rss $total" >>"$TMP/ours"
    [ "$KEEP" = 1 ] || [ "$case" = cross ] || rm -f "$flows"
}

for c in "${CASES[@]}"; do run_case "$c"; done

echo
printf '%-22s %5s %7s %6s %5s %9s %8s %8s %7s %8s  %-18s %-3s  %s\n' \
    case ns pods local pols flows policy wall_s cpu_s rss_MB target met per-table
for r in "${ROWS[@]}"; do echo "$r"; done
echo "(wall_s: median of $REPEAT runs; cpu_s: user+sys median; rss_MB: peak over runs; policy: clause+rule flows,"
echo " ClusterNetworkPolicy rule flows included; pols: NetworkPolicies, without ClusterNetworkPolicies)"
echo "(JSON lines appended to ${OUT#"$TOP"/}/results.jsonl)"

if [ "$OVN" = 1 ]; then
    PEER=$(cd "$TOP/../shared/peers/ovn" 2>/dev/null && pwd) || PEER=/work/shared/peers/ovn
    ensure_cluster medium
    OVN_OUT=$OUT/ovn-medium-s$SEED.json
    if [ ! -s "$OVN_OUT" ] || [ "$CLUSTER" -nt "$OVN_OUT" ]; then
        say "running the OVN peer on $(basename "$CLUSTER") (node-1, ic mode); this takes minutes"
        PYTHONPATH=$HERE "$PEER/ovn_peer.sh" --cluster "$CLUSTER" --meta "$META" --mode ic \
            --trials 3 --out "$OVN_OUT" >/dev/null
    fi
    python3 - "$OVN_OUT" "$TMP/ours" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
ours = {l.split()[0]: l.split()[1:] for l in open(sys.argv[2])} if sys.argv[2] else {}
t = o.get("policies", {}).get("hv_sync_s")
flows = o.get("flows", {}).get("total")
rss = (o.get("mem_after_policies", {}).get("ovn-controller") or {}).get("peak_rss_kb")
print("\nOVN peer (%s, %s mode, node %s): realize %.2f s, %s flows on br-int, ovn-controller peak RSS %.0f MB"
      % (o.get("cluster", {}).get("file"), o.get("mode"), o.get("node"), t or 0, flows, (rss or 0) / 1024))
m = ours.get("medium-node1")
if m and t and flows and rss:
    w, r, f = float(m[0]), int(m[1]), int(m[2])
    print("medium-node1 vs OVN: time %.4fx (%.3f s / %.2f s), flows %.4fx (%d / %d), memory %.4fx (%.0f / %.0f MB)"
          % (w / t, w, t, f / flows, f, flows, r / rss, r / 1024, rss / 1024))
else:
    print("(run the medium-node1 case in the same invocation for ratios)")
EOF
fi
exit $FAILED
