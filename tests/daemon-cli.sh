#!/bin/bash
# ovs-netpold's options and start-up checks, without a switch: each case
# starts the daemon on an empty run directory and reads its log or exit
# status, then stops it by PID.  The last line is "N passed, M failed".
#
#  - a --config comment longer than a line buffer does not turn its tail
#    into an option;  a line over 64 KiB is an error;
#  - a kubeconfig with an http:// server and a token: refused at start,
#    leaving no control socket behind; allowed with
#    --allow-insecure-http-token (also as a --config line), and then
#    every status warns; so it does with insecure-skip-tls-verify;
#  - a token file everyone may read: a warning at start;
#  - abandoned syncs waiting for a mute API server stay within the limit;
#  - 200 --node-address values are all logged;
#  - the compiler's flags: ovs-netpold (on the command line and in
#    --config) and 'ovs-netpol compile' accept the same values and refuse
#    the same ones with the same message;
#  - the audit log's flags: bad values are usage errors naming the flag;
#  - --http: a bad address is a usage error naming the flag (or the
#    --config line); a port in use stops the start with a message naming
#    the address; from --config it serves /readyz (503: no switch).
set -u
srcdir=${srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
daemon=${NP_DAEMON:-./ovs-netpold}
cli=${NP_CLI:-./ovs-netpol}
if [ ! -x "$daemon" ]; then
    echo "daemon-cli.sh: $daemon not built"
    echo "0 passed, 1 failed"
    exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/daemon-cli.XXXXXX")
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/src" "$tmp/run"
passed=0
failed=0
ok() { echo "ok: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

# start LOG ARG...: the daemon in the background ($pid).
start() {
    local log=$1
    shift
    "$daemon" --ovs-rundir "$tmp/run" --control "$tmp/ctl" \
        --node-address none "$@" >"$log" 2>&1 &
    pid=$!
}

# wait_log LOG TEXT: until LOG has TEXT (5 s at most).
wait_log() {
    local i=0
    until grep -qF -- "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 100 ] && return 1
        sleep 0.05
    done
}

stop() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local status=$?
    pid=
    return $status
}

# A comment longer than 4 KiB whose tail, past a 4096-byte buffer, reads
# like an option.
{
    printf '# '
    head -c 4093 /dev/zero | tr '\0' x
    printf 'bridge br-evil\n'
    printf 'node from-config\n'
} >"$tmp/long.conf"
start "$tmp/long.log" --source "dir:$tmp/src" --config "$tmp/long.conf"
if wait_log "$tmp/long.log" "info daemon: started:" &&
    grep -q "started: node from-config, bridge br-int in" "$tmp/long.log"; then
    ok "a long comment stays a comment"
else
    fail "a long comment: $(grep -E 'started|error' "$tmp/long.log")"
fi
stop

{
    printf 'node '
    head -c 70000 /dev/zero | tr '\0' n
    printf '\n'
} >"$tmp/huge.conf"
"$daemon" --config "$tmp/huge.conf" --source "dir:$tmp/src" \
    >"$tmp/huge.log" 2>&1
status=$?
if [ $status -eq 2 ] &&
    grep -qF "$tmp/huge.conf:1: line longer than 65536 bytes" "$tmp/huge.log"; then
    ok "a line over 64 KiB is an error"
else
    fail "a line over 64 KiB: exit $status: $(cat "$tmp/huge.log")"
fi

# A bearer token for an http:// server.
cat >"$tmp/kubeconfig" <<EOF
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:1"}
users:
- name: u
  user: {token: s3cr3t-token}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
EOF
timeout 10 "$daemon" --ovs-rundir "$tmp/run" --control "$tmp/ctl" \
    --node-address none --kubeconfig "$tmp/kubeconfig" >"$tmp/http.log" 2>&1
status=$?
want="$tmp/kubeconfig: server http://127.0.0.1:1 is plain HTTP and the config has a bearer token: refusing to send it where anyone on the path can read it (use https://, or --allow-insecure-http-token)"
if [ $status -eq 1 ] && grep -qF -- "$want" "$tmp/http.log" &&
    [ ! -e "$tmp/ctl" ] && [ ! -e "$tmp/ctl.pid" ]; then
    ok "a token for http:// is refused at start"
else
    fail "a token for http://: exit $status, socket left: $(ls "$tmp")" \
        "$(grep -v rconn "$tmp/http.log")"
fi
if grep -q s3cr3t "$tmp/http.log"; then
    fail "the token is in the log"
fi

start "$tmp/allow.log" --kubeconfig "$tmp/kubeconfig" \
    --allow-insecure-http-token
if wait_log "$tmp/allow.log" "is plain HTTP: the connection is neither encrypted nor authenticated" &&
    wait_log "$tmp/allow.log" "cannot connect to http://127.0.0.1:1" &&
    ovs-appctl -t "$tmp/ctl" status >"$tmp/status" 2>&1 &&
    grep -q "^source: kubernetes (not synced: .*; WARNING: plain HTTP, neither encrypted nor authenticated; " "$tmp/status" &&
    stop; then
    ok "--allow-insecure-http-token lets it start; status warns"
else
    fail "--allow-insecure-http-token: $(grep -v rconn "$tmp/allow.log")" \
        "$(cat "$tmp/status")"
    stop
fi
printf 'allow-insecure-http-token true\n' >"$tmp/allow.conf"
start "$tmp/allow2.log" --kubeconfig "$tmp/kubeconfig" --config "$tmp/allow.conf"
if wait_log "$tmp/allow2.log" "cannot connect to http://127.0.0.1:1" && stop; then
    ok "allow-insecure-http-token in --config"
else
    fail "allow-insecure-http-token in --config: $(grep -v rconn "$tmp/allow2.log")"
    stop
fi

# insecure-skip-tls-verify, said by every status; a token file everyone
# may read, said at start.
printf 'token-in-a-file\n' >"$tmp/token"
chmod 0644 "$tmp/token"
cat >"$tmp/insecure.kubeconfig" <<EOF
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: u
  user: {tokenFile: token}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
EOF
start "$tmp/insecure.log" --kubeconfig "$tmp/insecure.kubeconfig"
if wait_log "$tmp/insecure.log" "warn daemon: $tmp/insecure.kubeconfig: user \"u\": tokenFile: $tmp/token is readable by everyone (mode 0644): whoever reads it can act as this user" &&
    wait_log "$tmp/insecure.log" "cannot connect to https://127.0.0.1:1" &&
    ovs-appctl -t "$tmp/ctl" status >"$tmp/status" 2>&1 &&
    grep -q "WARNING: the server's certificate is not checked (insecure-skip-tls-verify)" "$tmp/status" &&
    stop; then
    ok "insecure-skip-tls-verify and a readable token file: warned"
else
    fail "insecure-skip-tls-verify: $(grep -v rconn "$tmp/insecure.log")" \
        "$(cat "$tmp/status")"
    stop
fi

# Abandoned syncs count against the limit of 64 until the API server has
# answered their probes: here a server that accepts and never speaks TLS,
# so each probe waits for the 10 s connect timeout, holding a socket.
python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1024)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
' >"$tmp/mute.port" &
mute=$!
i=0
until [ -s "$tmp/mute.port" ] || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.05; done
sed "s|https://127.0.0.1:1|https://127.0.0.1:$(cat "$tmp/mute.port")|" \
    "$tmp/insecure.kubeconfig" >"$tmp/mute.kubeconfig"
start "$tmp/mute.log" --kubeconfig "$tmp/mute.kubeconfig"
wait_log "$tmp/mute.log" "info daemon: started:"
sleep 0.5
fd0=$(ls "/proc/$pid/fd" | wc -l)
python3 - "$tmp/ctl" >"$tmp/flood.out" <<'EOF'
import json, socket, sys, time
for i in range(100):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(b'{"id":%d,"method":"sync","params":["--timeout","600"]}' % i)
    s.close()
time.sleep(0.5)
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"id":1,"method":"sync","params":[]}')
s.settimeout(5)
print(json.loads(s.recv(65536)).get("error"), end="")
EOF
fd1=$(ls "/proc/$pid/fd" | wc -l)
# Each sync's probes hold at most one socket per kind (kube-client.h:
# KUBE_N_KINDS, 4).
if grep -qx "sync: 64 syncs are already waiting: try again once they are answered" "$tmp/flood.out" &&
    [ "$fd1" -le $((fd0 + 64 * 4 + 8)) ]; then
    ok "100 abandoned syncs against a mute API server: 64 held, $fd0 -> $fd1 fds"
else
    fail "100 abandoned syncs: $(cat "$tmp/flood.out"); $fd0 -> $fd1 fds"
fi
stop
kill "$mute"
wait "$mute" 2>/dev/null

# 200 node addresses, about 2.6 KB of text: all of them in the log.
addrs=$(awk 'BEGIN { for (i = 1; i <= 200; i++)
    printf "%s10.77.%d.%d", (i > 1 ? "," : ""), int(i / 250), i % 250 + 1 }')
"$daemon" --ovs-rundir "$tmp/run" --control "$tmp/ctl" \
    --source "dir:$tmp/src" --node-address "$addrs" >"$tmp/addrs.log" 2>&1 &
pid=$!
if wait_log "$tmp/addrs.log" "addresses $addrs (traffic"; then
    ok "200 node addresses logged"
else
    fail "200 node addresses: $(grep -F 'info main' "$tmp/addrs.log" | cut -c1-300)"
fi
stop

# The compiler's flags, one parser for both programs (compile-flags.h).
# An accepted flag goes on to the next error: the CLI's missing input
# files, the daemon's bad --source.  A refused one is the error, with the
# same words after the program's name, on the command line as in --config.
accepted() {
    case $1 in
        "ovs-netpol compile: no input files" | \
        'ovs-netpold: --source: "nope" is not dir:PATH') echo accepted ;;
        *) local m=${1%%$'\n'*}; m=${m#ovs-netpol compile: }; echo "${m#ovs-netpold: }" ;;
    esac
}
agree=0
while read -r flag value; do
    [ "$value" = "''" ] && value=
    c=$(accepted "$("$cli" compile "--$flag" "$value" 2>&1 >/dev/null)")
    d=$(accepted "$("$daemon" "--$flag" "$value" --source nope 2>&1 >/dev/null)")
    f=$d
    if [ -n "$value" ]; then    # A --config line needs a value.
        printf '%s %s\n' "$flag" "$value" >"$tmp/flag.conf"
        f=$(accepted "$("$daemon" --config "$tmp/flag.conf" --source nope 2>&1 >/dev/null)")
    fi
    if [ "$c" = "$d" ] && [ "$d" = "$f" ]; then
        agree=$((agree + 1))
    else
        fail "--$flag \"$value\": compile: $c; daemon: $d; config: $f"
    fi
done <<'EOF'
node node-9
table-base 244
table-base 010
table-base 245
table-base 0x10
table-base -1
ct-zone 65535
ct-zone 65536
continuation resubmit(,60)
continuation ''
max-policy-flows 1000
max-policy-flows 1e3
max-policy-flows 0
node-address none
node-address 10.0.0.1,fd00::1
node-address 10.0.0.300
node-port LOCAL,p1
node-port ,
node-port a=b
node-port 70000
audit deny
audit all
audit yes
audit-meter 20048
audit-meter 0
audit-meter 262144
peer-class-min 0
peer-class-min 5
peer-class-min -1
peer-class-min x
EOF
[ "$agree" -eq 30 ] && ok "the compiler's flags: compile and the daemon agree on 30 values"

# The audit log's own flags: bad values are usage errors naming the flag.
for args in "--audit-rate 0" "--audit-rate 1.5" "--audit-burst x" \
            "--audit-log-max-size -1" "--audit-log-max-files 2.5" "--audit yes"; do
    # shellcheck disable=SC2086
    out=$("$daemon" $args --source "dir:$tmp/src" 2>&1)
    st=$?
    flag=${args%% *}
    if [ $st -eq 2 ] && [[ "$out" == "ovs-netpold: $flag: "* ]]; then
        ok "$args: refused ($out)"
    else
        fail "$args: status $st: $out"
    fi
done
out=$("$daemon" --audit-log '' --source "dir:$tmp/src" 2>&1)
st=$?
[ $st -eq 2 ] && [ "$out" = "ovs-netpold: --audit-log: empty path" ] \
    && ok "--audit-log '': refused" || fail "--audit-log '': status $st: $out"

# --node-port: the daemon's flows reach the switch without a port map, so a
# port name other than LOCAL would fail every bundle; refused at start.
out=$("$daemon" --node-port LOCAL,eth1 --source "dir:$tmp/src" 2>&1)
st=$?
want='ovs-netpold: --node-port: "eth1" is a port name; give its OpenFlow port number instead (ovs-vsctl get Interface eth1 ofport) or LOCAL'
if [ $st -eq 2 ] && [ "$out" = "$want" ]; then
    ok "--node-port with a port name: refused, naming the flag and the number to give"
else
    fail "--node-port with a port name: status $st: $out"
fi

# --http: parse errors name the flag, or the file and line.
out=$("$daemon" --http 127.0.0.1 --source "dir:$tmp/src" 2>&1)
st=$?
want='ovs-netpold: --http: "127.0.0.1" is not ADDRESS:PORT (such as 127.0.0.1:9476, [::1]:9476, or :9476 for every address)'
if [ $st -eq 2 ] && [ "$out" = "$want" ]; then
    ok "--http without a port: usage error naming the flag"
else
    fail "--http without a port: status $st: $out"
fi
printf 'http [::1]:0\n' >"$tmp/http-bad.conf"
out=$("$daemon" --config "$tmp/http-bad.conf" --source "dir:$tmp/src" 2>&1)
st=$?
if [ $st -eq 2 ] && printf '%s\n' "$out" | grep -qxF 'ovs-netpold: --http: "[::1]:0": "0" is not a port from 1 to 65535' &&
    printf '%s\n' "$out" | grep -qxF "ovs-netpold: (in $tmp/http-bad.conf:1)"; then
    ok "--http in --config: the error names the line"
else
    fail "--http in --config: status $st: $out"
fi
# A port in use: a start error naming the address, and nothing left.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("listening", flush=True); time.sleep(30)' "$port" >"$tmp/holder.out" &
holder=$!
until grep -q listening "$tmp/holder.out" 2>/dev/null; do sleep 0.05; done
"$daemon" --ovs-rundir "$tmp/run" --control "$tmp/ctl" --node-address none \
    --source "dir:$tmp/src" --http "127.0.0.1:$port" >"$tmp/busy.log" 2>&1
st=$?
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
if [ $st -eq 1 ] && grep -qF "error daemon: --http: cannot listen on 127.0.0.1:$port: Address already in use" "$tmp/busy.log" &&
    [ ! -e "$tmp/ctl" ]; then
    ok "--http on a port in use: a clear start error"
else
    fail "--http on a port in use: status $st: $(cat "$tmp/busy.log")"
fi
# From --config: served; without a switch /readyz is 503 and says why.
printf 'http 127.0.0.1:%s\n' "$port" >"$tmp/http.conf"
start "$tmp/http-conf.log" --source "dir:$tmp/src" --config "$tmp/http.conf"
if wait_log "$tmp/http-conf.log" "http 127.0.0.1:$port" &&
    body=$(python3 -c 'import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/readyz"); r = c.getresponse()
print(r.status, r.read().decode().strip())' "$port") &&
    case "$body" in "503 not ready: waiting for the first sync: "*) true ;; *) false ;; esac; then
    ok "http from --config: /readyz $body"
else
    fail "http from --config: ${body:-no answer}: $(cat "$tmp/http-conf.log")"
fi
kill "$pid"
wait "$pid"
pid=

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
