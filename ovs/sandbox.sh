#!/bin/bash
# ovs/sandbox.sh — a userspace Open vSwitch with "pods" as network namespaces,
# for real-packet tests of ovs-netpol.  Needs root, iproute2, ethtool and the
# openvswitch-switch binaries; no kernel OVS module (datapath_type=netdev).
#
#   sandbox.sh start   DIR                 new switch netns + ovsdb-server + ovs-vswitchd + br-int
#   sandbox.sh add-pod DIR NS POD IPS [NS POD IPS]...
#                                          IPS = IPv4[/plen][,IPv6[/plen]] (either order)
#   sandbox.sh del-pod DIR NS POD [NS POD]...
#   sandbox.sh stop    DIR                 kill what start started (by PID), delete every netns
#   sandbox.sh status  DIR                 processes, ports, pods
#   sandbox.sh exec    DIR NS/POD CMD...   run CMD inside a pod's netns
#   sandbox.sh sw      DIR CMD...          run CMD inside the switch netns with DIR/env loaded
#   sandbox.sh restart-vswitchd DIR     kill ovs-vswitchd and start it again (flows are lost)
#   sandbox.sh stop-vswitchd DIR        kill ovs-vswitchd (a switch outage)
#   sandbox.sh start-vswitchd DIR       start it again after stop-vswitchd
#   sandbox.sh start   DIR --nodes N    N nodes joined by a shared L2 underlay (below)
#   sandbox.sh underlay DIR             a netns with a Linux bridge: a shared L2 underlay
#   sandbox.sh uplink  DIR UNDERLAY_DIR [ADDR/PLEN]
#                                       joins DIR's br-int to the underlay (port "uplink");
#                                       ADDR: the node's address, on br-int's LOCAL port
#   sandbox.sh fdb-flush DIR            (--nodes) empty the MAC tables of every br-int and br-ul
#
# Layout of DIR (created if missing; everything the sandbox owns lives here):
#   env        shell exports so that ovs-vsctl/ovs-ofctl/ovs-appctl find this switch:
#                . DIR/env && ovs-ofctl -O OpenFlow15 dump-flows br-int
#   ports      "namespace/pod PORT" per pod: the file ovs-netpol's --ports option reads
#              (PORT = the OVS port name = the veth's name in the switch netns)
#   pods       "namespace/pod PORT NETNS OFPORT MAC IPS" per pod (bookkeeping, tests)
#   netns      every network namespace this sandbox created (stop deletes them all)
#   run/ db/ log/ etc/   OVS_RUNDIR, OVS_DBDIR, OVS_LOGDIR, OVS_SYSCONFDIR
#
# Names: the switch netns is npsw-<h>, a pod's netns npp-<h>-<ns>_<pod>, where <h> is
# 6 hex digits of md5(realpath DIR), so several sandboxes can coexist and `stop`
# finds its own leftovers even if bookkeeping files were lost.  A pod's OVS port
# (the veth end in the switch netns) is "<ns>_<pod>" when that fits the 15-character
# Linux limit, else "np" + 10 hex digits of md5("<ns>/<pod>").  Its ofport is
# requested explicitly (ofport_request, counting up from 1 within a sandbox) so
# flows can be read back predictably; external_ids:iface-id=<ns>_<pod> and
# external_ids:ip_addresses="<v4>/<plen> <v6>/<plen>" follow the OVN-Kubernetes
# convention (what its CNI writes; ovs-netpold uses the addresses until the pod's
# status has them).
#
# br-int is datapath_type=netdev with fail_mode=secure: a secure bridge gets no
# default "actions=NORMAL" flow, so an empty table (before the first load, or a
# compiler output lacking a catch-all) drops everything instead of silently
# switching, and a table under test is judged by its own flows only.
#
# Pods: eth0 with a MAC derived from the IPv4 address (0a:58:<ip>, OVN-Kubernetes
# style; stable when a pod is re-created with the same IP), the address on a /16
# (IPv6: /64) unless a prefix is given, plus "default dev eth0" routes so that
# every address is on-link (ARP/ND, no gateway).  `ethtool -K eth0 tx off` runs in
# every pod: with checksum offload the veth hands OVS packets with partial
# checksums and userspace conntrack marks them +inv.
#
# Several nodes (`start DIR --nodes N`, N from 2 to 200): DIR/underlay is a netns
# (npul-<h>) holding a Linux bridge, br-ul: a shared L2 underlay.  DIR/node-1 ..
# DIR/node-N are sandboxes as above, each joined to it by `uplink`: br-int's port
# "uplink" (ofport 65000, a tap) is bridged (ul-br) in the switch netns with a
# veth whose other end is a port of br-ul (u-<h of the node>); node-K's address, 10.250.0.K/24 (the /24
# of NP_SANDBOX_NODE_NET, default 10.250.0.0/24), is on br-int's LOCAL port (the
# tap "br-int" in the switch netns, with "default dev br-int": every address is
# on-link, as in the pods).  DIR/nodes lists the node directories; DIR/node-K/env
# adds NP_SANDBOX_NODE_ADDRESS and NP_SANDBOX_UPLINK.  Pods go into one node:
# `add-pod DIR/node-K ...`; their addresses must be distinct across nodes (MACs
# derive from them).  `stop DIR` stops every node and the underlay.
#
# Why a shared L2 underlay and not a Geneve/VXLAN mesh: the policies hand allowed
# packets to NORMAL, so br-int is a learning switch.  One uplink per node keeps
# the nodes a tree rooted at br-ul: a broadcast (ARP, ND) or an unknown unicast
# reaches every node exactly once, and MAC learning finds the pod's node.  A full
# mesh of tunnel ports under NORMAL is a loop (3 nodes: a triangle): a broadcast
# arriving on one tunnel is flooded into the other tunnels and circles for ever,
# since NORMAL has no split horizon; an overlay needs its own forwarding (OVN's
# logical switches, or flows that never send from a tunnel into a tunnel), which
# is the CNI's job, not the policy agent's.  (Userspace tunnels would also need
# each node's underlay address on a netdev bridge of its own with OVS's own
# routes and ARP, per Open vSwitch's userspace-tunnelling guide.)  Policy-wise
# the two are the same: traffic from the uplink, like traffic from a tunnel, is
# not from a local pod's port and gets only the ingress checks of its node.
#
# MAC learning across nodes: a pod re-created on another node with the same
# address (so the same MAC) leaves entries pointing at its old node in the other
# bridges until it sends a frame (a CNI would send a gratuitous ARP);
# `fdb-flush DIR` empties the MAC tables of every br-int and br-ul.
set -euo pipefail

OVS_SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
BRIDGE=br-int
V4_PLEN_DEFAULT=${NP_SANDBOX_V4_PLEN:-16}
V6_PLEN_DEFAULT=${NP_SANDBOX_V6_PLEN:-64}

die() { echo "sandbox.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p' | sed -n '1,21p' >&2; exit 2; }

setup_dir() {
    [ -n "${1:-}" ] || usage
    D=$(realpath -m "$1")
    H=$(printf %s "$D" | md5sum | cut -c1-6)
    SW=npsw-$H
    RUNDIR=$D/run DBDIR=$D/db LOGDIR=$D/log ETCDIR=$D/etc
    export OVS_RUNDIR=$RUNDIR OVS_DBDIR=$DBDIR OVS_LOGDIR=$LOGDIR OVS_SYSCONFDIR=$ETCDIR
    export OVS_PKGDATADIR=${OVS_PKGDATADIR:-/usr/share/openvswitch}
}

# Serialize commands on one sandbox (flock on DIR/lock, fd 9).  Daemons must not
# inherit fd 9 (they would hold the lock for their lifetime): they get 9>&-.
lock() { exec 9>"$D/lock"; flock 9; }

netns_exists() { [ -e "/var/run/netns/$1" ]; }

record_netns() { grep -qxF "$1" "$D/netns" 2>/dev/null || echo "$1" >>"$D/netns"; }

# alive PID: running and not a zombie (a detached daemon's parent is PID 1,
# which may take its time to reap it).
alive() {
    local st
    st=$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# kill_pidfile FILE: TERM, wait up to 3 s, then KILL; only if the PID still runs
# the program we expect (pidfiles can outlive their process and PIDs get reused).
kill_pidfile() {
    local f=$1 prog=$2 pid i
    [ -f "$f" ] || return 0
    pid=$(cat "$f" 2>/dev/null || true)
    rm -f "$f"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    [ "$(cat /proc/"$pid"/comm 2>/dev/null || true)" = "$prog" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 60); do
        alive "$pid" || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cmd_stop() {
    setup_dir "${1:-}"
    [ -d "$D" ] || return 0
    if [ -f "$D/nodes" ]; then
        stop_nodes
        return 0
    fi
    # never hang in a trap: after 5 s without the lock, stop anyway
    exec 9>"$D/lock"; flock -w 5 9 || echo "sandbox.sh: $D is locked; stopping anyway" >&2
    kill_pidfile "$RUNDIR/ovs-vswitchd.pid" ovs-vswitchd
    kill_pidfile "$RUNDIR/ovsdb-server.pid" ovsdb-server
    local ns
    { cat "$D/netns" 2>/dev/null || true; ip netns list 2>/dev/null | awk '{print $1}' |
        grep -E "^(npsw-$H|npul-$H|npp-$H-.*)\$" || true; } | sort -u | while read -r ns; do
        [ -n "$ns" ] || continue
        if netns_exists "$ns"; then ip netns del "$ns" 2>/dev/null || true; fi
    done
    rm -f "$D/netns" "$D/ports" "$D/pods" "$D/next-ofport" "$D/env" "$D/underlay-netns" "$D/uplink"
    rm -rf "$RUNDIR" "$DBDIR" "$ETCDIR"
}

cmd_start() {
    if [ "${2:-}" = --nodes ]; then
        [ $# = 3 ] || usage
        start_nodes "$1" "$3"
        return
    fi
    [ $# -le 1 ] || usage
    setup_dir "${1:-}"
    [ "$(id -u)" = 0 ] || die "must run as root"
    for p in ovsdb-server ovs-vswitchd ovs-vsctl ovsdb-tool ip ethtool; do
        command -v "$p" >/dev/null || die "$p not found"
    done
    cmd_stop "$D"            # start always gives a fresh sandbox
    mkdir -p "$D"
    lock
    trap 'echo "sandbox.sh: start failed, cleaning up; see $LOGDIR" >&2; flock -u 9; cmd_stop "$D"' ERR
    mkdir -p "$RUNDIR" "$DBDIR" "$LOGDIR" "$ETCDIR/openvswitch"
    : >"$D/ports"; : >"$D/pods"; echo 1 >"$D/next-ofport"
    rm -f "$LOGDIR"/*.log

    ip netns add "$SW"
    record_netns "$SW"
    ip netns exec "$SW" ip link set lo up
    # veths created later in this netns carry no IPv6 of their own (no RS/MLD noise)
    ip netns exec "$SW" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 || true

    ovsdb-tool create "$DBDIR/conf.db" "$OVS_SCHEMA"
    ip netns exec "$SW" ovsdb-server "$DBDIR/conf.db" \
        --remote=punix:"$RUNDIR/db.sock" \
        --pidfile="$RUNDIR/ovsdb-server.pid" --log-file="$LOGDIR/ovsdb-server.log" \
        --detach --no-chdir -vconsole:off 9>&- >>"$LOGDIR/ovsdb-server.out" 2>&1
    ovs-vsctl --no-wait init
    ip netns exec "$SW" ovs-vswitchd unix:"$RUNDIR/db.sock" --disable-system \
        --pidfile="$RUNDIR/ovs-vswitchd.pid" --log-file="$LOGDIR/ovs-vswitchd.log" \
        --detach --no-chdir -vconsole:off 9>&- >>"$LOGDIR/ovs-vswitchd.out" 2>&1
    ovs-vsctl --timeout=20 add-br "$BRIDGE" \
        -- set Bridge "$BRIDGE" datapath_type=netdev fail_mode=secure \
           protocols=OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15 \
           other_config:disable-in-band=true
    cat >"$D/env" <<EOF
# generated by ovs/sandbox.sh start: . this file, then ovs-vsctl/ovs-ofctl/ovs-appctl
# reach the sandbox switch (its bridge is $BRIDGE, its netns $SW)
export OVS_RUNDIR='$RUNDIR'
export OVS_DBDIR='$DBDIR'
export OVS_LOGDIR='$LOGDIR'
export OVS_SYSCONFDIR='$ETCDIR'
export OVS_PKGDATADIR='$OVS_PKGDATADIR'
export NP_SANDBOX='$D'
export NP_SANDBOX_NETNS='$SW'
export NP_SANDBOX_BRIDGE='$BRIDGE'
EOF
    trap - ERR
}

port_name() {   # port_name NS POD
    local n="$1_$2"
    if [ ${#n} -le 15 ] && [[ "$n" =~ ^[A-Za-z0-9._-]+$ ]]; then
        echo "$n"
    else
        echo "np$(printf %s "$1/$2" | md5sum | cut -c1-10)"
    fi
}

pod_netns() {   # pod_netns NS POD (a netns name is a file name: at most 255 bytes)
    local n="npp-$H-$1_$2"
    [ ${#n} -le 200 ] || n="npp-$H-$(printf %s "$1/$2" | md5sum | cut -c1-16)"
    echo "$n"
}

mac_for() {     # mac_for IPV4-or-IPV6: 0a:58 + last 4 bytes of the address
    python3 - "$1" <<'EOF'
import ipaddress, sys
b = ipaddress.ip_address(sys.argv[1]).packed[-4:]
print("0a:58:" + ":".join("%02x" % x for x in b))
EOF
}

require_running() {
    [ -f "$D/env" ] && [ -f "$RUNDIR/ovs-vswitchd.pid" ] || die "sandbox $D is not running (start it first)"
}

cmd_add_pod() {
    setup_dir "${1:-}"; shift
    [ $# -ge 3 ] && [ $(($# % 3)) = 0 ] || die "add-pod DIR NS POD IPS [NS POD IPS]..."
    require_running
    lock
    local vsctl=() new=() ns pod ips port pns ofport v4 v6 a mac
    while [ $# -gt 0 ]; do
        ns=$1 pod=$2 ips=$3; shift 3
        grep -q "^$ns/$pod " "$D/pods" && die "pod $ns/$pod already exists"
        port=$(port_name "$ns" "$pod")
        pns=$(pod_netns "$ns" "$pod")
        v4= v6=
        IFS=, read -ra addrs <<<"$ips"
        for a in "${addrs[@]}"; do
            case $a in
                *:*) v6=$a; [[ $v6 == */* ]] || v6=$v6/$V6_PLEN_DEFAULT ;;
                *.*) v4=$a; [[ $v4 == */* ]] || v4=$v4/$V4_PLEN_DEFAULT ;;
                *) die "bad address '$a' for $ns/$pod" ;;
            esac
        done
        [ -n "$v4$v6" ] || die "no address for $ns/$pod"
        mac=$(mac_for "$(echo "${v4:-$v6}" | sed 's,/.*,,')")
        ofport=$(cat "$D/next-ofport"); echo $((ofport + 1)) >"$D/next-ofport"

        if netns_exists "$pns"; then ip netns del "$pns"; fi
        ip netns add "$pns"
        record_netns "$pns"
        ip -n "$pns" link set lo up
        ip netns exec "$pns" sysctl -qw net.ipv6.conf.default.disable_ipv6=$([ -n "$v6" ] && echo 0 || echo 1) \
            net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.accept_ra=0 >/dev/null || true
        ip -n "$SW" link del "$port" 2>/dev/null || true
        ip -n "$SW" link add "$port" type veth peer name eth0 netns "$pns"
        ip -n "$pns" link set eth0 address "$mac"
        ip netns exec "$pns" ethtool -K eth0 tx off >/dev/null
        if [ -n "$v4" ]; then
            ip -n "$pns" addr add "$v4" dev eth0
        fi
        if [ -n "$v6" ]; then
            ip -n "$pns" addr add "$v6" dev eth0 nodad
        fi
        ip -n "$pns" link set eth0 up
        [ -z "$v4" ] || ip -n "$pns" route add default dev eth0
        [ -z "$v6" ] || ip -n "$pns" -6 route add default dev eth0
        ip -n "$SW" link set "$port" up
        vsctl+=(-- --may-exist add-port "$BRIDGE" "$port"
                -- set Interface "$port" "ofport_request=$ofport"
                   "external_ids:iface-id=${ns}_${pod}"
                   "external_ids:ip_addresses=\"${v4}${v4:+${v6:+ }}${v6}\""
                   "external_ids:k8s-pod=$ns/$pod")
        new+=("$ns/$pod $port $pns $ofport $mac ${v4}${v4:+${v6:+,}}${v6}")
    done
    ovs-vsctl --timeout=20 "${vsctl[@]}"
    wait_links_up "${new[@]}"
    local line got
    for line in "${new[@]}"; do
        set -- $line
        got=$(ovs-vsctl get Interface "$2" ofport)
        [ "$got" = "$4" ] || die "port $2 got ofport $got, wanted $4 ($(ovs-vsctl get Interface "$2" error 2>/dev/null))"
        echo "$line" >>"$D/pods"
        echo "$1 $2" >>"$D/ports"
    done
}

# wait_links_up "ns/pod port netns ..."...: until both ends of every new veth
# are operationally up.  The kernel activates a device's transmit queues in
# its linkwatch work, after the carrier comes; a packet sent before that is
# dropped without a trace, and the first ARP of a probe lost that way would
# make an allowed probe read as denied.
wait_links_up() {
    local deadline=$((SECONDS + 10)) line pending key port pns rest
    local links=("$@")
    while :; do
        pending=
        for line in "${links[@]}"; do
            read -r key port pns rest <<<"$line"
            link_ready "$pns" eth0 && link_ready "$SW" "$port" || { pending=$key; break; }
        done
        [ -n "$pending" ] || return 0
        [ $SECONDS -lt $deadline ] || die "link of pod $pending did not come up"
        sleep 0.02
    done
}

link_ready() {  # link_ready NETNS DEV
    local out
    out=$(ip -n "$1" -o link show dev "$2" 2>/dev/null) || return 1
    [[ "$out" == *"state UP"* ]] && [[ "$out" != *"qdisc noop"* ]]
}

remove_line() {  # remove_line FILE PREFIX — drop lines starting with PREFIX
    [ -f "$1" ] || return 0
    awk -v p="$2" 'index($0, p) == 1 { next } { print }' "$1" >"$1.tmp"
    mv "$1.tmp" "$1"
}

cmd_del_pod() {
    setup_dir "${1:-}"; shift
    [ $# -ge 2 ] && [ $(($# % 2)) = 0 ] || die "del-pod DIR NS POD [NS POD]..."
    require_running
    lock
    local vsctl=() gone=() ns pod port pns
    while [ $# -gt 0 ]; do
        ns=$1 pod=$2; shift 2
        port=$(awk -v k="$ns/$pod" '$1 == k { print $2 }' "$D/pods")
        [ -n "$port" ] || { echo "sandbox.sh: no pod $ns/$pod" >&2; continue; }
        vsctl+=(-- --if-exists del-port "$BRIDGE" "$port")
        gone+=("$ns/$pod $port")
    done
    [ ${#gone[@]} -gt 0 ] || return 0
    ovs-vsctl --timeout=20 "${vsctl[@]}"
    local g
    for g in "${gone[@]}"; do
        set -- $g
        ip -n "$SW" link del "$2" 2>/dev/null || true
        pns=$(pod_netns "${1%%/*}" "${1#*/}")
        if netns_exists "$pns"; then ip netns del "$pns"; fi
        remove_line "$D/pods" "$1 "
        remove_line "$D/ports" "$1 "
        remove_line "$D/netns" "$pns"
    done
}

# restart-vswitchd DIR: what a crash or an upgrade of ovs-vswitchd does to its
# controllers: the OpenFlow connections drop, the flow tables come back empty,
# the bridge and its ports (same ofports) come back from the database.
# stop-vswitchd and start-vswitchd are its two halves, with an outage between.
cmd_restart_vswitchd() {
    setup_dir "${1:-}"
    require_running
    lock
    stop_vswitchd
    start_vswitchd
}

cmd_stop_vswitchd() {
    setup_dir "${1:-}"
    require_running
    lock
    stop_vswitchd
}

cmd_start_vswitchd() {
    setup_dir "${1:-}"
    [ -f "$D/env" ] && [ -f "$RUNDIR/ovsdb-server.pid" ] || die "sandbox $D is not running (start it first)"
    lock
    [ ! -f "$RUNDIR/ovs-vswitchd.pid" ] || die "ovs-vswitchd is running (stop-vswitchd first)"
    start_vswitchd
}

stop_vswitchd() {
    kill_pidfile "$RUNDIR/ovs-vswitchd.pid" ovs-vswitchd
    rm -f "$RUNDIR/$BRIDGE.mgmt"
}

start_vswitchd() {
    ip netns exec "$SW" ovs-vswitchd unix:"$RUNDIR/db.sock" --disable-system \
        --pidfile="$RUNDIR/ovs-vswitchd.pid" --log-file="$LOGDIR/ovs-vswitchd.log" \
        --detach --no-chdir -vconsole:off 9>&- >>"$LOGDIR/ovs-vswitchd.out" 2>&1
    local i
    for i in $(seq 200); do
        [ -S "$RUNDIR/$BRIDGE.mgmt" ] && return 0
        sleep 0.05
    done
    die "ovs-vswitchd did not come back (see $LOGDIR/ovs-vswitchd.log)"
}

cmd_status() {
    setup_dir "${1:-}"
    local f pid
    if [ -f "$D/nodes" ]; then
        local nd top=$D
        echo "underlay: $(cat "$top/underlay/underlay-netns" 2>/dev/null || echo absent)"
        while read -r nd; do
            echo "== $nd: $(cat "$nd/uplink" 2>/dev/null || echo "no uplink")"
            (cmd_status "$nd")
        done <"$top/nodes"
        return 0
    fi
    for f in ovsdb-server ovs-vswitchd; do
        pid=$(cat "$RUNDIR/$f.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$f: running, pid $pid"
        else echo "$f: not running"; fi
    done
    echo "switch netns: $SW $(netns_exists "$SW" && echo present || echo absent)"
    echo "pods:"; cat "$D/pods" 2>/dev/null | sed 's/^/  /'
}

cmd_exec() {
    setup_dir "${1:-}"; shift
    local key=$1; shift
    local pns
    pns=$(awk -v k="$key" '$1 == k { print $3 }' "$D/pods")
    [ -n "$pns" ] || die "no pod $key"
    exec ip netns exec "$pns" "$@"
}

cmd_sw() {
    setup_dir "${1:-}"; shift
    require_running
    exec ip netns exec "$SW" "$@"
}

# ---- several nodes ----------------------------------------------------------

UPLINK=uplink
UPLINK_OFPORT=65000
UPLINK_BRIDGE=ul-br
UPLINK_VETH=ul-veth
UNDERLAY_BRIDGE=br-ul

cmd_underlay() {
    [ $# = 1 ] || usage
    setup_dir "$1"
    [ "$(id -u)" = 0 ] || die "must run as root"
    cmd_stop "$D"
    mkdir -p "$D"
    lock
    local ul=npul-$H
    trap 'echo "sandbox.sh: underlay failed, cleaning up" >&2; flock -u 9; cmd_stop "$D"' ERR
    ip netns add "$ul"
    record_netns "$ul"
    ip -n "$ul" link set lo up
    ip netns exec "$ul" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 \
        net.ipv6.conf.all.disable_ipv6=1 >/dev/null || true
    # a plain learning bridge: no STP (a tree needs none), no VLAN filtering
    ip -n "$ul" link add "$UNDERLAY_BRIDGE" type bridge stp_state 0
    ip -n "$ul" link set "$UNDERLAY_BRIDGE" up
    echo "$ul $UNDERLAY_BRIDGE" >"$D/underlay-netns"
    trap - ERR
}

tap_ready() {    # tap_ready NETNS DEV: a tap's state is UNKNOWN, its carrier LOWER_UP
    local out
    out=$(ip -n "$1" -o link show dev "$2" 2>/dev/null) || return 1
    [[ "$out" == *"LOWER_UP"* ]] && [[ "$out" != *"qdisc noop"* ]]
}

underlay_netns() {  # underlay_netns UNDERLAY_DIR
    local f
    f="$(realpath -m "$1")/underlay-netns"
    [ -f "$f" ] || die "$1 is not an underlay (sandbox.sh underlay DIR first)"
    awk '{print $1}' "$f"
}

cmd_uplink() {
    [ $# = 2 ] || [ $# = 3 ] || usage
    local ul addr=${3:-}
    ul=$(underlay_netns "$2")
    setup_dir "$1"
    require_running
    netns_exists "$ul" || die "underlay netns $ul is gone"
    if [ -n "$addr" ]; then
        [[ "$addr" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$ ]] ||
            die "node address '$addr' is not IPv4/PLEN"
    fi
    lock
    local peer=u-$H
    # br-int's uplink is a tap (type=tap), bridged in the switch netns to a
    # veth into the underlay.  Not the veth itself: ovs-vswitchd reads a
    # veth ("system" port) through an AF_PACKET socket whose receive buffer
    # (net.core.rmem_default, 208 KiB, read-only in a netns here) holds
    # some 200 small frames, and the uplink takes the traffic of every pod
    # of the other nodes at once: a round of probes overflowed it (the
    # drops show in `ss -0 -m`, d<N>).  A tap queues up to its txqueuelen.
    ip -n "$SW" link del "$UPLINK_BRIDGE" 2>/dev/null || true
    ip -n "$SW" link del "$UPLINK_VETH" 2>/dev/null || true
    # ageing_time 0: it learns nothing, each frame goes to its other port.
    # Learning would drop frames for a pod that moved here from another node
    # (it was learned behind the veth) until the pod itself sends.
    ip -n "$SW" link add "$UPLINK_BRIDGE" type bridge stp_state 0 ageing_time 0
    ovs-vsctl --timeout=20 --may-exist add-port "$BRIDGE" "$UPLINK" \
        -- set Interface "$UPLINK" type=tap "ofport_request=$UPLINK_OFPORT"
    local got
    got=$(ovs-vsctl get Interface "$UPLINK" ofport)
    [ "$got" = "$UPLINK_OFPORT" ] || die "uplink got ofport $got, wanted $UPLINK_OFPORT"
    ip -n "$SW" link set "$UPLINK" txqueuelen 10000 master "$UPLINK_BRIDGE" up
    ip -n "$SW" link add "$UPLINK_VETH" type veth peer name "$peer" netns "$ul"
    ip netns exec "$SW" ethtool -K "$UPLINK_VETH" tx off >/dev/null
    ip netns exec "$ul" ethtool -K "$peer" tx off >/dev/null
    ip -n "$SW" link set "$UPLINK_VETH" master "$UPLINK_BRIDGE" up
    ip -n "$SW" link set "$UPLINK_BRIDGE" up
    ip -n "$ul" link set "$peer" master "$UNDERLAY_BRIDGE" up
    local deadline=$((SECONDS + 10))
    until tap_ready "$SW" "$UPLINK" && link_ready "$SW" "$UPLINK_VETH" &&
            link_ready "$ul" "$peer"; do
        [ $SECONDS -lt $deadline ] || die "uplink of $D did not come up"
        sleep 0.02
    done
    if [ -n "$addr" ]; then
        # br-int's LOCAL port: the tap ovs-vswitchd made in the switch netns
        ip netns exec "$SW" ethtool -K "$BRIDGE" tx off >/dev/null 2>&1 || true
        ip -n "$SW" addr add "$addr" dev "$BRIDGE"
        ip -n "$SW" link set "$BRIDGE" up
        ip -n "$SW" route replace default dev "$BRIDGE"
    fi
    echo "$UPLINK $UPLINK_OFPORT $ul $peer ${addr:--}" >"$D/uplink"
    cat >>"$D/env" <<EOF
export NP_SANDBOX_UPLINK='$UPLINK'
export NP_SANDBOX_NODE_ADDRESS='${addr%/*}'
EOF
}

start_nodes() {     # start_nodes DIR N
    setup_dir "$1"
    local n=$2 net=${NP_SANDBOX_NODE_NET:-10.250.0.0/24} k
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le 200 ] ||
        die "--nodes $n: a number from 2 to 200"
    [[ "$net" =~ ^([0-9]+\.[0-9]+\.[0-9]+)\.0/24$ ]] ||
        die "NP_SANDBOX_NODE_NET=$net: want A.B.C.0/24"
    local prefix=${BASH_REMATCH[1]} top=$D
    cmd_stop "$top"
    mkdir -p "$top"
    : >"$top/nodes"
    trap 'echo "sandbox.sh: start --nodes failed, cleaning up" >&2; cmd_stop "$top"' ERR
    (cmd_underlay "$top/underlay")
    for k in $(seq "$n"); do
        echo "$top/node-$k" >>"$top/nodes"
        (cmd_start "$top/node-$k")
        (cmd_uplink "$top/node-$k" "$top/underlay" "$prefix.$k/24")
    done
    trap - ERR
}

stop_nodes() {      # after setup_dir of a multi-node DIR
    local nd top=$D
    while read -r nd; do
        [ -n "$nd" ] || continue
        (cmd_stop "$nd")
    done <"$top/nodes"
    (cmd_stop "$top/underlay")
    rm -f "$top/nodes"
}

cmd_fdb_flush() {
    [ $# = 1 ] || usage
    setup_dir "$1"
    [ -f "$D/nodes" ] || die "$D is not a multi-node sandbox (start DIR --nodes N)"
    local nd ul top=$D
    while read -r nd; do
        [ -n "$nd" ] || continue
        (setup_dir "$nd"; ovs-appctl fdb/flush "$BRIDGE" >/dev/null)
    done <"$top/nodes"
    ul=$(underlay_netns "$top/underlay")
    ip -n "$ul" link set "$UNDERLAY_BRIDGE" type bridge fdb_flush
}

cmd=${1:-}; shift || true
case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    add-pod) cmd_add_pod "$@" ;;
    del-pod) cmd_del_pod "$@" ;;
    status) cmd_status "$@" ;;
    exec) cmd_exec "$@" ;;
    sw) cmd_sw "$@" ;;
    restart-vswitchd) cmd_restart_vswitchd "$@" ;;
    stop-vswitchd) cmd_stop_vswitchd "$@" ;;
    start-vswitchd) cmd_start_vswitchd "$@" ;;
    underlay) cmd_underlay "$@" ;;
    uplink) cmd_uplink "$@" ;;
    fdb-flush) cmd_fdb_flush "$@" ;;
    *) usage ;;
esac
