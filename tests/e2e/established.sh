#!/bin/bash
# Connections that exist when a policy changes, proved with real packets
# (ovs/pipeline.md, "Connections that exist when a policy changes").  Pods
# x/c and x/s, dual-stack; a long-lived TCP connection and a UDP flow per
# family from x/c to x/s (tests/e2e/long-lived.py: each side sends a line
# every 100 ms, so each direction is seen on its own), started under
# allow-all.  Then, each step a new table loaded as the daemon would load it
# (one bundle, no revalidator purge, no conntrack flush):
#   1. a policy that still allows the traffic: nothing stalls;
#   2. x/s no longer allows it (ingress default deny): within 1 s nothing
#      passes in either direction, new connections are dropped, the TCP
#      connections stay open at both ends;
#   3. allowed again: the same TCP connections carry data again (nothing
#      lost, nothing reconnected), and the UDP flows;
#   4. and 5. the same with x/c's egress (egress default deny);
#   6. to 10. the same with ClusterNetworkPolicy: an Admin Deny of x/s's
#      ingress cuts; an Admin Accept over a NetworkPolicy that isolates
#      x/s keeps the connections; a Baseline Deny of x/c's egress cuts;
#      allowed again (8 and 9 with the peers as register classes,
#      --peer-class-min 1).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
work=$(mktemp -d /tmp/np-established.XXXXXX)
sbx=$work/sbx
pids=()
netns_list=
fail=1                          # until the end
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    [ -f "$sbx/netns" ] && netns_list=$(cat "$sbx/netns")
    ovs/sandbox.sh stop "$sbx" >/dev/null 2>&1
    local ns left=
    for ns in $netns_list; do
        [ -e "/var/run/netns/$ns" ] && left="$left $ns"
    done
    [ -z "$left" ] || echo "established: netns left behind:$left"
    if [ "$fail" = 0 ]; then
        rm -rf "$work"
    else
        rm -rf "$sbx"
        echo "established: logs kept in $work"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

C4=10.244.1.20 S4=10.244.1.21
C6=fd00:10:244:1::20 S6=fd00:10:244:1::21
PORT=7000                       # the long-lived traffic, TCP and UDP
PROBE=8080                      # new connections, TCP and UDP (np-probe)
FLOWS="tcp4 udp4 tcp6 udp6"

ovs/sandbox.sh start "$sbx" >/dev/null || exit 1
ovs/sandbox.sh add-pod "$sbx" x c "$C4,$C6" x s "$S4,$S6" >/dev/null || exit 1
ns_c=$(awk '$1=="x/c" {print $3}' "$sbx/pods")
ns_s=$(awk '$1=="x/s" {print $3}' "$sbx/pods")
. "$sbx/env"
sw() { ip netns exec "$NP_SANDBOX_NETNS" "$@"; }

# cluster NAME [POLICY...]: writes $work/NAME.json, the pods plus the
# policies, each "pod:direction:ports" (ports "7000,8080" or "9"), a
# NetworkPolicy, or "cnp:TIER:ACTION:pod:direction:ports", a
# ClusterNetworkPolicy whose subject is that pod and whose peer the other.
cluster() {
    local name=$1 classes=
    shift
    if [ "${1:-}" = --classes ]; then
        classes="--peer-class-min 1"
        shift
    fi
    /usr/bin/python3 - "$@" >"$work/$name.json" <<EOF
import json, sys
items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]
for name, ips in (("c", ["$C4", "$C6"]), ("s", ["$S4", "$S6"])):
    items.append({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"namespace": "x", "name": name,
                               "labels": {"pod": name}},
                  "spec": {"nodeName": "node-1",
                           "containers": [{"name": "c"}]},
                  "status": {"phase": "Running", "podIP": ips[0],
                             "podIPs": [{"ip": ip} for ip in ips]}})
for spec in sys.argv[1:]:
    if spec.startswith("cnp:"):
        _, tier, action, pod, direction, ports = spec.split(":")
        other = {"pods": {"namespaceSelector": {},
                          "podSelector": {"matchLabels": {"pod": "s" if pod == "c" else "c"}}}}
        rule = {"name": action.lower(), "action": action,
                "from" if direction == "ingress" else "to": [other],
                "protocols": [{proto: {"destinationPort": {"number": int(p)}}}
                              for p in ports.split(",") for proto in ("tcp", "udp")]}
        items.append({"apiVersion": "policy.networking.k8s.io/v1alpha2",
                      "kind": "ClusterNetworkPolicy",
                      "metadata": {"name": "%s-%s-%s" % (tier.lower(), action.lower(), pod)},
                      "spec": {"tier": tier, "priority": 1,
                               "subject": {"pods": {"namespaceSelector": {},
                                                    "podSelector": {"matchLabels": {"pod": pod}}}},
                               direction: [rule]}})
        continue
    pod, direction, ports = spec.split(":")
    peer = {"podSelector": {"matchLabels": {"pod": "s" if pod == "c" else "c"}}}
    rule = {"ports": [{"protocol": proto, "port": int(p)}
                      for p in ports.split(",") for proto in ("TCP", "UDP")]}
    if direction == "ingress":
        rule["from"] = [peer]
        types = ["Ingress"]
    else:
        rule["to"] = [peer]
        types = ["Egress"]
    items.append({"apiVersion": "networking.k8s.io/v1",
                  "kind": "NetworkPolicy",
                  "metadata": {"namespace": "x", "name": pod + "-" + direction},
                  "spec": {"podSelector": {"matchLabels": {"pod": pod}},
                           "policyTypes": types, direction: [rule]}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
EOF
    # shellcheck disable=SC2086
    ./ovs-netpol compile $classes --ports "$sbx/ports" "$work/$name.json" >"$work/$name.flows" || exit 1
}
cluster allow-all
cluster allow s:ingress:$PORT,$PROBE c:egress:$PORT,$PROBE
cluster deny-in s:ingress:9 c:egress:$PORT,$PROBE
cluster deny-out s:ingress:$PORT,$PROBE c:egress:9
cluster cnp-admin-deny-in cnp:Admin:Deny:s:ingress:$PORT,$PROBE
cluster cnp-admin-accept-over-np --classes s:ingress:9 cnp:Admin:Accept:s:ingress:$PORT,$PROBE
cluster cnp-baseline-deny-out --classes cnp:Baseline:Deny:c:egress:$PORT,$PROBE

now() { date +%s.%N; }

# load NAME: replaces the table in one bundle; sets $t to the time the
# switch had it, and $table.
load() {
    sw ovs-ofctl -O OpenFlow15 --bundle replace-flows br-int "$work/$1.flows" ||
        { echo "FAIL: the switch refused $1.flows"; exit 1; }
    t=$(now)
    table=$1
    echo "--- table $1 loaded"
}

# rx LOG FLOW FROM TO: messages of FLOW received in LOG, FROM <= time < TO.
rx() {
    awk -v f="$2" -v a="$3" -v b="$4" '$2 == f && $1 >= a && $1 < b { n++ }
        END { print n + 0 }' "$work/$1.log"
}

# max_gap LOG FLOW FROM TO: the longest time without a message of FLOW,
# FROM and TO counting as messages.
max_gap() {
    awk -v f="$2" -v a="$3" -v b="$4" '
        $2 == f && $1 >= a && $1 < b { if ($1 - last > gap) gap = $1 - last; last = $1 }
        BEGIN { last = a; gap = 0 }
        END { if (b - last > gap) gap = b - last; printf "%.3f\n", gap }' "$work/$1.log"
}

failure() {
    echo "FAIL: $*"
    fail=1
}

# Both logs, every flow: which side received it is the direction.
each_direction() {      # each_direction FUNCTION ARGS...
    local log flow
    for log in server client; do
        for flow in $FLOWS; do
            "$@" "$log" "$flow"
        done
    done
}

direction_name() {
    [ "$1" = server ] && echo "$2 c->s" || echo "$2 s->c"
}

# The processes are alive and each TCP connection is still the first and
# only one.
same_connections() {
    local p
    for p in "${pids[@]}"; do
        kill -0 "$p" 2>/dev/null || failure "process $p (long-lived traffic) died"
    done
    grep -h tcp-closed "$work/server.log" "$work/client.log" | sed 's/^/    /'
    if grep -q tcp-closed "$work/server.log" "$work/client.log"; then
        failure "a TCP connection was closed"
    fi
    local n
    n=$(grep -c ' accept ' "$work/server.log")
    [ "$n" = 2 ] || failure "the server accepted $n TCP connections, not 2"
    # TCP loses nothing: the server got every line the client sent, in order.
    local flow
    for flow in tcp4 tcp6; do
        awk -v f="$flow" '$2 == f { n = substr($4, 2) + 0;
                if (n != expect) { print "    " f ": got c" n ", expected c" expect; bad = 1 }
                expect = n + 1 }
            END { exit bad }' expect=0 "$work/server.log" ||
            failure "$flow: lines missing or out of order at the server"
    done
}

# probes EXPECTED: new connections from x/c to x/s, both protocols and
# families, each from a source port never used before.
sport=31000
probes() {
    local want=$1 spec=$work/probes proto ip
    : >"$spec"
    for proto in tcp udp; do
        for ip in $S4 $S6; do
            sport=$((sport + 1))
            echo "$proto-$ip $ns_c $proto $ip $PROBE $sport" >>"$spec"
        done
    done
    tests/np-probe probe --spec "$spec" --timeout-ms 900 >"$work/probes.out"
    local id result rest
    while read -r id result rest; do
        [ "$result" = "$want" ] || failure "new connection $id: $result, expected $want"
    done <"$work/probes.out"
}

dump() {
    echo "    flows (tables 1, 5, 9, 11):"
    sw ovs-ofctl -O OpenFlow15 dump-flows br-int |
        grep -E 'table=(1|5|9|11),' | sed 's/ duration=[^,]*,//; s/^/      /'
    echo "    conntrack:"
    sw ovs-appctl dpctl/dump-conntrack -m | sed 's/^/      /'
}

# --- Start: listeners, long-lived traffic under allow-all.
fail=0
load allow-all
echo "$ns_s tcp $PROBE" >"$work/serve"
echo "$ns_s udp $PROBE" >>"$work/serve"
coproc SERVE { exec tests/np-probe serve --spec "$work/serve" --control-stdin; }
pids+=("$SERVE_PID")
read -r ready <&"${SERVE[0]}"
case $ready in ready*) ;; *) echo "FAIL: listeners: $ready"; exit 1 ;; esac

: >"$work/server.log"
: >"$work/client.log"
ovs/sandbox.sh exec "$sbx" x/s /usr/bin/python3 tests/e2e/long-lived.py \
    server "$work/server.log" $PORT &
pids+=($!)
sleep 0.5
ovs/sandbox.sh exec "$sbx" x/c /usr/bin/python3 tests/e2e/long-lived.py \
    client "$work/client.log" $S4 $PORT 40004 &
pids+=($!)
ovs/sandbox.sh exec "$sbx" x/c /usr/bin/python3 tests/e2e/long-lived.py \
    client "$work/client.log" $S6 $PORT 40006 &
pids+=($!)

t0=$(now)
for i in $(seq 50); do
    ok=1
    for log in server client; do
        for flow in $FLOWS; do
            [ "$(rx $log $flow "$t0" 9e9)" -ge 5 ] || ok=0
        done
    done
    [ $ok = 1 ] && break
    sleep 0.1
done
if [ $ok != 1 ]; then
    echo "FAIL: the long-lived traffic did not start under allow-all"
    tail -5 "$work/server.log" "$work/client.log"
    dump
    exit 1
fi
echo "long-lived traffic flowing: $FLOWS, both directions"

# --- Steps.

# still_allowed: a table that still allows the traffic must not stall it.
still_allowed() {
    load "$1"
    local t1=$t
    probes connected
    sleep 2.5
    local t2=$(now)
    check() {
        local gap
        gap=$(max_gap "$1" "$2" "$t1" "$t2")
        if awk -v g="$gap" 'BEGIN { exit !(g < 0.8) }'; then
            echo "    $(direction_name "$1" "$2"): longest gap ${gap} s"
        else
            failure "$(direction_name "$1" "$2"): stalled ${gap} s after $table was loaded"
        fi
    }
    each_direction check
    same_connections
}

# denied: within 1 s of the load nothing passes, for 2 s.
denied() {
    load "$1"
    local t1=$t
    probes timeout
    sleep 3
    local t2=$(now)
    local before=$(awk -v t="$t1" 'BEGIN { printf "%.6f", t - 1 }')
    local after=$(awk -v t="$t1" 'BEGIN { printf "%.6f", t + 1 }')
    check() {
        local n last
        [ "$(rx "$1" "$2" "$before" "$t1")" -gt 0 ] ||
            failure "$(direction_name "$1" "$2"): nothing in the second before $table"
        n=$(rx "$1" "$2" "$after" "$t2")
        last=$(awk -v f="$2" -v a="$t1" -v b="$t2" '$2 == f && $1 < b { last = $1 }
            END { printf "%+.2f", last - a }' "$work/$1.log")
        if [ "$n" = 0 ]; then
            echo "    $(direction_name "$1" "$2"): last message at ${last} s from the load"
        else
            failure "$(direction_name "$1" "$2"): $n messages passed more than 1 s after $table denied it"
        fi
    }
    each_direction check
    same_connections
}

# allowed_again: every direction of every flow carries data again, on the
# same connections.
allowed_again() {
    load "$1"
    local t1=$t i ok
    probes connected
    # TCP comes back at the next retransmission of each end (the client's
    # clears the mark, the server's can only pass after it); their backoff
    # doubles every time, so after a cut of 4 s that can be 10 s away.
    for i in $(seq 300); do
        ok=1
        for log in server client; do
            for flow in $FLOWS; do
                [ "$(rx $log $flow "$t1" 9e9)" -ge 3 ] || ok=0
            done
        done
        [ $ok = 1 ] && break
        sleep 0.1
    done
    local first
    check() {
        first=$(awk -v f="$2" -v a="$t1" '$2 == f && $1 >= a { printf "%.1f", $1 - a; exit }' "$work/$1.log")
        if [ "$(rx "$1" "$2" "$t1" 9e9)" -ge 3 ]; then
            echo "    $(direction_name "$1" "$2"): passes again after ${first} s"
        else
            failure "$(direction_name "$1" "$2"): did not pass again within 30 s"
        fi
    }
    each_direction check
    same_connections
}

step() {
    echo "=== $1"
    shift
    local before=$fail
    "$@"
    [ $fail = "$before" ] || dump
}

step "1. a policy change that still allows the traffic" still_allowed allow
step "2. x/s no longer allows it (ingress)" denied deny-in
step "3. allowed again" allowed_again allow
step "4. x/c no longer allows it (egress)" denied deny-out
step "5. allowed again" allowed_again allow
step "6. an Admin ClusterNetworkPolicy denies x/s's ingress" denied cnp-admin-deny-in
step "7. allowed again" allowed_again allow
step "8. an Admin Accept over a NetworkPolicy that isolates x/s (peer classes)" still_allowed cnp-admin-accept-over-np
step "9. a Baseline ClusterNetworkPolicy denies x/c's egress (peer classes)" denied cnp-baseline-deny-out
step "10. allowed again" allowed_again allow-all

if [ $fail = 0 ]; then
    echo "established: passed"
else
    echo "established: FAILED"
fi
exit $fail
