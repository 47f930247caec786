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
grep -q '^# default/web isolated for egress by default/bad-cidr$' "$tmp/out" || { echo "FAIL: web not isolated for egress by bad-cidr's stand-in"; fail=1; }
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
