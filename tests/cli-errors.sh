#!/bin/bash
# ovs-netpol compile with bad input: every invalid object is reported on
# stderr with the file, the object and the field; the exit status is 1; and
# the flows of every valid object are still printed.
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

# The valid policy and pod compiled: web is isolated for ingress and
# accepts TCP 80; nothing of a rejected policy made it (no default/bad-*).
grep -q 'ip,nw_dst=10.0.0.7 actions=drop' "$tmp/out" || { echo "FAIL: web not isolated"; fail=1; }
grep -q 'tcp,tp_dst=80 actions=conjunction' "$tmp/out" || { echo "FAIL: web rule missing"; fail=1; }
if grep -q 'default/bad-' "$tmp/out"; then echo "FAIL: a rejected policy has flows"; fail=1; fi

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

# Out of memory names the program (libopenvswitch's message said "(null)").
truncate -s 60M "$tmp/big.yaml"
(ulimit -v 40000; exec $np compile "$tmp/big.yaml") >/dev/null 2>"$tmp/err"
status=$?
head -c 300 "$tmp/err"
[ "$status" -ne 0 ] || { echo "FAIL: 60 MB under a 40 MB limit: exit status 0"; fail=1; }
grep -q '^ovs-netpol: ' "$tmp/err" || { echo "FAIL: out of memory does not name ovs-netpol"; fail=1; }
rm -f "$tmp/big.yaml" "$tmp/huge.yaml"

# Bad options are usage errors (status 2), not silent defaults.
msg=$($np compile --node-address 10.0.0.1,nope "$srcdir"/deploy/examples/cluster.yaml 2>&1 >/dev/null)
case $msg in
    *'--node-address: "nope" is not an IPv4 or IPv6 address'*) ;;
    *) echo "FAIL: --node-address nope: $msg"; fail=1 ;;
esac
for opt in "--table-base 300" "--table-base x" "--ct-zone 70000" "--continuation=" \
           "--node-address 10.0.0.300" "--node-address 10.0.0.1,nope"; do
    $np compile $opt "$srcdir"/deploy/examples/cluster.yaml >/dev/null 2>&1
    s=$?
    [ "$s" -eq 2 ] || { echo "FAIL: compile $opt: status $s, expected 2"; fail=1; }
done
exit $fail
