#!/bin/bash
# ovs-netpol compile with bad input: every invalid object is reported on
# stderr with the file, the object and the field; the exit status is 1; the
# flows of every valid object are still printed; and a rejected
# NetworkPolicy isolates its pods with no rules (its fail-closed stand-in).
set -u
srcdir=${srcdir:-.}
np=./ovs-netpol
data=$srcdir/tests/data/cli
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

expect_err() {
    if ! grep -qF -- "$1" "$tmp/err"; then
        echo "FAIL: stderr lacks: $1"
        fail=1
    fi
}

$np compile "$data/mixed.yaml" >"$tmp/out" 2>"$tmp/err"
status=$?
cat "$tmp/err"
[ "$status" -eq 1 ] || { echo "FAIL: exit status $status, expected 1"; fail=1; }
f=$data/mixed.yaml
expect_err "$f: NetworkPolicy default/bad-except: spec.ingress[0].from[0].ipBlock.except[0]: \"172.18.1.0/24\""
expect_err "$f: NetworkPolicy default/bad-cidr: spec.egress[0].to[0].ipBlock.cidr: \"10.0.0.0/33\""
expect_err "$f: NetworkPolicy default/bad-port: spec.ingress[0].ports[1].port: 70000"
expect_err "$f: NetworkPolicy default/bad-protocol: spec.ingress[0].ports[0].protocol: \"ICMP\""
expect_err "$f: NetworkPolicy default/bad-endport: spec.ingress[0].ports[0].endPort"
expect_err "$f: NetworkPolicy default/named-endport: spec.ingress[0].ports[0].endPort"
expect_err "$f: NetworkPolicy default/bad-operator: spec.podSelector.matchExpressions[0].operator: \"Like\""
expect_err "$f: NetworkPolicy default/bad-values: spec.podSelector.matchExpressions[0].values"
expect_err "metadata.name"
expect_err "$f: Pod default/bad-ip: status.podIP: \"10.0.0.300\""
n_err=$(grep -c '^ovs-netpol: error: ' "$tmp/err")
[ "$n_err" -eq 10 ] || { echo "FAIL: $n_err errors, expected 10"; fail=1; }
n_fc=$(grep -c '^ovs-netpol: error: .*: NetworkPolicy default/.*; isolating its pods with no rules until it is fixed$' "$tmp/err")
[ "$n_fc" -eq 8 ] || { echo "FAIL: $n_fc fail-closed policies announced, expected 8"; fail=1; }

# The valid policy and pod compiled: web is isolated for ingress and
# accepts TCP 80.  The rejected policies isolate their pods with no rules:
# default/bad-cidr (an egress rule) isolates web for egress too, and no
# rule of a rejected policy made it.
grep -q 'ip,nw_dst=10.0.0.7 actions=drop' "$tmp/out" || { echo "FAIL: web not isolated"; fail=1; }
grep -q 'tcp,tp_dst=80 actions=conjunction' "$tmp/out" || { echo "FAIL: web rule missing"; fail=1; }
grep -q '^# default/web isolated for egress by default/bad-cidr (invalid: isolating with no rules)$' "$tmp/out" || { echo "FAIL: web not isolated for egress by bad-cidr's stand-in"; fail=1; }
grep -q 'ip,nw_src=10.0.0.7 actions=drop' "$tmp/out" || { echo "FAIL: web egress not denied"; fail=1; }
if grep -q 'NetworkPolicy default/bad-.* rule' "$tmp/out"; then echo "FAIL: a rejected policy has rules"; fail=1; fi

# A valid version of a policy elsewhere in the input is kept, as the API
# server would keep it, in either order.
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: default}\nspec: {podSelector: {}, egress: [{ports: [{port: 0}]}]}\n' >"$tmp/web-bad.yaml"
for order in "$data/mixed.yaml $tmp/web-bad.yaml" "$tmp/web-bad.yaml $data/mixed.yaml"; do
    $np compile $order >"$tmp/out2" 2>"$tmp/err"
    expect_err "NetworkPolicy default/web: spec.egress[0].ports[0].port: 0 is not a valid port number (must be between 1 and 65535); "
    grep -q 'tcp,tp_dst=80 actions=conjunction' "$tmp/out2" || { echo "FAIL: $order: web's valid version lost"; fail=1; }
done
grep -q 'keeping the valid version that the input also has' "$tmp/err" || { echo "FAIL: the kept valid version is not announced"; fail=1; }

# Input without objects is an error (an empty or truncated 'kubectl get >
# file'), not an allow-all table.
printf '' >"$tmp/empty.yaml"
printf '  \n# nothing\n---\n' >"$tmp/blank.yaml"
for f in "$tmp/empty.yaml" "$tmp/blank.yaml"; do
    $np compile "$f" >/dev/null 2>"$tmp/err"
    status=$?
    [ "$status" -eq 1 ] || { echo "FAIL: $f: exit status $status, expected 1"; fail=1; }
    expect_err "$f: holds no Namespace, Pod or NetworkPolicy (is it empty?)"
done

# Malformed JSON and an unreadable file: reported, the other files still
# compile to the same flows as alone.
printf '{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "x"' >"$tmp/broken.json"
$np compile "$srcdir"/deploy/examples/*.yaml >"$tmp/alone" 2>/dev/null || { echo "FAIL: examples do not compile cleanly"; fail=1; }
$np compile "$tmp/broken.json" "$tmp/missing.yaml" "$srcdir"/deploy/examples/*.yaml >"$tmp/with" 2>"$tmp/err"
status=$?
cat "$tmp/err"
[ "$status" -eq 1 ] || { echo "FAIL: exit status $status with broken JSON"; fail=1; }
expect_err "$tmp/broken.json: line 1 column"
expect_err "$tmp/missing.yaml: cannot open"
cmp -s "$tmp/alone" "$tmp/with" || { echo "FAIL: broken inputs changed the other flows"; fail=1; }

# A policy whose ipBlock excepts would need more flows than the limit
# (here ~55,000 /32s, a policy at the API's 1.5 MiB size limit, about a
# million CIDRs): refused in bounded time, named with its rule and count,
# exit 1; its pods stay isolated (default deny) with none of its rules.
excepts() {
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++) {
        a = (i * 2654435761) % 4294967296
        printf "        - %d.%d.%d.%d/32\n", int(a / 16777216) % 256,
               int(a / 65536) % 256, int(a / 256) % 256, a % 256 } }'
}
big_policy() {
    printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n'
    printf 'metadata: {name: many-except, namespace: default}\n'
    printf 'spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 81}]\n'
    printf '  - from:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except:\n'
    excepts "$1"
}
big_policy 55000 >"$tmp/big.yaml"
start=$(date +%s)
timeout 60 $np compile "$srcdir"/deploy/examples/cluster.yaml "$tmp/big.yaml" >"$tmp/out" 2>"$tmp/err"
status=$?
took=$(( $(date +%s) - start ))
cat "$tmp/err"
[ "$status" -eq 1 ] || { echo "FAIL: big except list: exit status $status (in $took s), expected 1"; fail=1; }
[ "$took" -le 10 ] || { echo "FAIL: big except list took $took s"; fail=1; }
expect_err "ovs-netpol: error: NetworkPolicy default/many-except ingress rule 1 needs "
expect_err "over the limit of 100000 per policy (--max-policy-flows)"
grep -q 'isolated for ingress by default/many-except' "$tmp/out" || { echo "FAIL: many-except does not isolate"; fail=1; }
if grep -E '^table=8,.*(nw_src=[0-9.]+/|tp_dst=81)' "$tmp/out"; then
    echo "FAIL: a rule of the refused policy is in the table"; fail=1
fi
# Under a higher limit the same kind of policy compiles whole.
big_policy 300 >"$tmp/small.yaml"
$np compile --max-policy-flows 1000 "$srcdir"/deploy/examples/cluster.yaml "$tmp/small.yaml" >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 1 ] || { echo "FAIL: --max-policy-flows 1000: exit status $status, expected 1"; fail=1; }
expect_err "over the limit of 1000 per policy"
$np compile --max-policy-flows 20000 "$srcdir"/deploy/examples/cluster.yaml "$tmp/small.yaml" >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] || { echo "FAIL: --max-policy-flows 20000: exit status $status"; cat "$tmp/err"; fail=1; }
n=$(grep -cE '^table=8,.*nw_src=[0-9.]+/' "$tmp/out")
[ "$n" -gt 1000 ] || { echo "FAIL: --max-policy-flows 20000: $n CIDR flows"; fail=1; }

# Inputs that are not regular files, or too big, are refused at once with
# a clear message, never read (a FIFO would block, /dev/zero never end).
mkfifo "$tmp/fifo.yaml"
truncate -s 65M "$tmp/huge.yaml"
timeout 10 $np compile "$tmp/fifo.yaml" /dev/zero "$tmp" "$tmp/huge.yaml" \
    "$srcdir"/deploy/examples/*.yaml >"$tmp/with" 2>"$tmp/err"
status=$?
cat "$tmp/err"
[ "$status" -eq 1 ] || { echo "FAIL: exit status $status with a FIFO, /dev/zero, a directory"; fail=1; }
expect_err "$tmp/fifo.yaml: cannot read: it is a FIFO, not a regular file"
expect_err "/dev/zero: cannot read: it is a character device, not a regular file"
expect_err "$tmp: cannot read: it is a directory, not a regular file"
expect_err "$tmp/huge.yaml: cannot read: 68157440 bytes is more than the 64 MiB a manifest file may have"
cmp -s "$tmp/alone" "$tmp/with" || { echo "FAIL: refused inputs changed the other flows"; fail=1; }

# "-" is standard input, a pipe, bounded like a file: the same flows as
# the files themselves; more than 64 MiB is refused with a clear message.
for f in "$srcdir"/deploy/examples/*.yaml; do echo ---; cat "$f"; done | $np compile - >"$tmp/piped" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] || { echo "FAIL: compile - exit status $status"; cat "$tmp/err"; fail=1; }
cmp -s "$tmp/alone" "$tmp/piped" || { echo "FAIL: compile - differs from the files"; fail=1; }
head -c 70000000 /dev/zero | timeout 10 $np compile - >/dev/null 2>"$tmp/err"
status=$?
[ "$status" -eq 1 ] || { echo "FAIL: 70 MB on standard input: exit status $status"; fail=1; }
expect_err "(standard input): cannot read: more than the 64 MiB a manifest may have"

# Out of memory names the program (libopenvswitch's message said "(null)").
# Not under AddressSanitizer (tests/sanitize.sh), whose shadow memory alone
# needs more address space than the limit.
if [ -z "${ASAN_OPTIONS:-}" ]; then
    truncate -s 60M "$tmp/big.yaml"
    (ulimit -v 40000; exec $np compile "$tmp/big.yaml") >/dev/null 2>"$tmp/err"
    status=$?
    head -c 300 "$tmp/err"
    [ "$status" -ne 0 ] || { echo "FAIL: 60 MB under a 40 MB limit: exit status 0"; fail=1; }
    grep -q '^ovs-netpol: ' "$tmp/err" || { echo "FAIL: out of memory does not name ovs-netpol"; fail=1; }
fi
rm -f "$tmp/big.yaml" "$tmp/huge.yaml"

# --node-address none, as for the daemon: nothing is special about the
# node (the last --node-address wins).
$np compile --node-address 172.17.0.1 --node-address none "$srcdir"/deploy/examples/*.yaml >"$tmp/none" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] || { echo "FAIL: --node-address none: exit status $status"; cat "$tmp/err"; fail=1; }
cmp -s "$tmp/alone" "$tmp/none" || { echo "FAIL: --node-address none differs from no node address"; fail=1; }

# Bad options are usage errors (status 2), not silent defaults.
msg=$($np compile --node-address 10.0.0.1,nope "$srcdir"/deploy/examples/cluster.yaml 2>&1 >/dev/null)
case $msg in
    *'--node-address: "nope" is not an IPv4 or IPv6 address'*) ;;
    *) echo "FAIL: --node-address nope: $msg"; fail=1 ;;
esac
for opt in "--table-base 300" "--table-base x" "--ct-zone 70000" "--continuation=" \
           "--node-address 10.0.0.300" "--node-address 10.0.0.1,nope" \
           "--max-policy-flows 0" "--max-policy-flows -5" "--max-policy-flows x" \
           "--max-policy-flows 1e9" "--node-port ," "--generation 256" \
           "--table-base 0x10" "--uplink-port ," "--uplink-port a=b"; do
    $np compile $opt "$srcdir"/deploy/examples/cluster.yaml >/dev/null 2>&1
    s=$?
    [ "$s" -eq 2 ] || { echo "FAIL: compile $opt: status $s, expected 2"; fail=1; }
done

# Operator text goes into flows whole, never cut at a buffer's size: a
# long continuation, a 15-character port name.  A port name a match
# cannot hold is refused, naming it.
cont="resubmit(,60)$(for i in $(seq 1 40); do printf ',output:%d' "$i"; done)"
printf 'default/db abcdefghijklmno\n' >"$tmp/ports"
$np compile --continuation "$cont" --ports "$tmp/ports" --node-port p1,LOCAL \
    "$srcdir"/deploy/examples/cluster.yaml >"$tmp/out" 2>"$tmp/err" || { echo "FAIL: long continuation"; cat "$tmp/err"; fail=1; }
grep -qF "CT_LABEL[0..31])),$cont" "$tmp/out" || { echo "FAIL: the commit flow does not end in the whole continuation"; fail=1; }
grep -qF 'in_port=abcdefghijklmno,ip,nw_src=172.17.0.10 ' "$tmp/out" || { echo "FAIL: 15-character port name"; fail=1; }
bad_port() {    # $1: a --ports line's port; $2: what stderr must say
    printf 'default/db %s\n' "$1" >"$tmp/ports"
    $np compile --ports "$tmp/ports" "$srcdir"/deploy/examples/cluster.yaml >/dev/null 2>"$tmp/err"
    s=$?
    [ "$s" -eq 2 ] || { echo "FAIL: --ports with port $1: status $s, expected 2"; fail=1; }
    expect_err "$2"
}
bad_port abcdefghijklmnop 'ports:1: port name "abcdefghijklmnop" is longer than 15 characters'
bad_port 'a,b' "ports:1: port name \"a,b\" has ','"
bad_port 'p=1' "ports:1: port name \"p=1\" has '='"
bad_port 'x(1)' "ports:1: port name \"x(1)\" has '('"
bad_port 70000 'ports:1: "70000" is not a port number from 1 to 65279'
msg=$($np compile --node-port 'LOCAL,a=b' "$srcdir"/deploy/examples/cluster.yaml 2>&1 >/dev/null)
s=$?
case $s:$msg in
    2:*"--node-port: port name \"a=b\" has '='"*) ;;
    *) echo "FAIL: --node-port a=b: status $s: $msg"; fail=1 ;;
esac

# Ports that carry no pod ("- PORT [TYPE]"): classified as the daemon
# classifies OVSDB's Interfaces.  Unbound ones drop IP before conntrack;
# uplinks (named, or tunnels, patch and internal ports) and node ports get
# no flow; a port also bound to a pod is the pod's.
printf 'default/db p-db\n- veth9\n- veth10 system\n- 7 tap\n- vx0 vxlan\n- int0 internal\n- eth1\n- mgmt\n- p-db\n' >"$tmp/ports"
$np compile --ports "$tmp/ports" --uplink-port eth1 --node-port LOCAL,mgmt \
    "$srcdir"/deploy/examples/cluster.yaml >"$tmp/out" 2>"$tmp/err" || { echo "FAIL: ports that carry no pod"; cat "$tmp/err"; fail=1; }
for p in veth9 veth10 7; do
    for f in ip ipv6; do
        grep -qxF "table=0, priority=96, cookie=0x4e50000100000000, in_port=$p,$f actions=drop" "$tmp/out" || { echo "FAIL: no drop of $f from unbound port $p"; fail=1; }
    done
done
grep -qF "# port veth9 carries no pod and is not an uplink or node port: no IP from it" "$tmp/out" || { echo "FAIL: the drops' comment"; fail=1; }
for p in vx0 int0 eth1 mgmt p-db; do
    ! grep -q "priority=96, .*in_port=$p," "$tmp/out" || { echo "FAIL: port $p drops IP"; fail=1; }
done
# A rule name with a newline in it is quoted in the flow comments: no line
# of the output that ovs-ofctl add-flows reads is the name's flow.
$np compile "$data/cnp-rule-name.yaml" >"$tmp/out" 2>"$tmp/err" || { echo "FAIL: cnp-rule-name.yaml"; cat "$tmp/err"; fail=1; }
! grep -q '^table=0, priority=65535' "$tmp/out" || { echo "FAIL: a rule name's newline made a flow line"; fail=1; }
grep -qF 'egress rule 0 "x\ntable=0, priority=65535, actions=NORMAL": Deny' "$tmp/out" || { echo "FAIL: the rule name is not quoted in its comment"; fail=1; }

bad_others() {  # $1: a --ports line; $2: what stderr must say
    printf '%s\n' "$1" >"$tmp/ports"
    $np compile --ports "$tmp/ports" "$srcdir"/deploy/examples/cluster.yaml >/dev/null 2>"$tmp/err"
    s=$?
    [ "$s" -eq 2 ] || { echo "FAIL: --ports line '$1': status $s, expected 2"; fail=1; }
    expect_err "$2"
}
bad_others '-' 'ports:1: expected "namespace/pod PORT" or "- PORT [TYPE]"'
bad_others '- veth1 system extra' 'ports:1: expected "namespace/pod PORT" or "- PORT [TYPE]"'
bad_others 'default/db p1 system' 'ports:1: expected "namespace/pod PORT" or "- PORT [TYPE]"'
bad_others '- veth1 VXLAN' 'ports:1: "VXLAN" is not an interface type'
bad_others '- a=b' "ports:1: port name \"a=b\" has '='"
exit $fail
