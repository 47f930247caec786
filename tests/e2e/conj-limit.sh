#!/bin/bash
# Rules spread over several priorities, proved with real packets: 3,500
# rules share the same source and destination pods, more conjunction
# actions than one OpenFlow flow can carry, so the compiler spreads the
# rules over two priorities.  The table must load, and connections allowed
# by rules at either priority must pass while a port no rule allows stays
# closed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
work=$(mktemp -d /tmp/np-conj-limit.XXXXXX)
sbx=$work/sbx
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    ovs/sandbox.sh stop "$sbx" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
ovs/sandbox.sh start "$sbx" >/dev/null || exit 1
ovs/sandbox.sh add-pod "$sbx" x c 10.244.1.20 x s 10.244.1.21 >/dev/null || exit 1
/usr/bin/python3 tests/e2e/gen-many-rules.py >"$work/cluster.json"
./ovs-netpol compile --ports "$sbx/ports" "$work/cluster.json" >"$work/flows" || exit 1
prios=$(awk -F'[ ,=]+' '/^table=8, priority=[0-9]+, .*conj_id=/ {print $4}' "$work/flows" | sort -u | wc -l)
echo "rule priorities used: $prios"
[ "$prios" -ge 2 ] || { echo "FAIL: rules were not spread over priorities"; exit 1; }
ovs/sandbox.sh sw "$sbx" ovs-ofctl -O OpenFlow15 --bundle replace-flows br-int "$work/flows" || { echo "FAIL: the switch refused the table"; exit 1; }
ns_s=$(awk '$1=="x/s" {print $3}' "$sbx/pods")
ns_c=$(awk '$1=="x/c" {print $3}' "$sbx/pods")
echo "$ns_s tcp 1000 2000 3000 4499 4500" >"$work/serve"
coproc SERVE { exec tests/np-probe serve --spec "$work/serve" --control-stdin; }
server=$SERVE_PID
read -r ready <&"${SERVE[0]}"
case $ready in ready*) ;; *) echo "FAIL: listeners: $ready"; exit 1 ;; esac
# Rule ids 1, 1001, 2001 (odd) and 3500 (even) sit at different priorities.
{
    echo "p1000 $ns_c tcp 10.244.1.21 1000 31001"
    echo "p2000 $ns_c tcp 10.244.1.21 2000 31002"
    echo "p3000 $ns_c tcp 10.244.1.21 3000 31003"
    echo "p4499 $ns_c tcp 10.244.1.21 4499 31004"
    echo "p4500 $ns_c tcp 10.244.1.21 4500 31005"
} >"$work/probes"
tests/np-probe probe --spec "$work/probes" --timeout-ms 900 | tee "$work/results"
fail=0
for p in p1000 p2000 p3000 p4499; do
    grep -q "^$p connected" "$work/results" || { echo "FAIL: $p should connect"; fail=1; }
done
grep -q "^p4500 timeout" "$work/results" || { echo "FAIL: p4500 should be dropped"; fail=1; }
[ $fail -eq 0 ] && echo "conj-limit: passed"
exit $fail
