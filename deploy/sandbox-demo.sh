#!/bin/sh
# The main job, from a clean clone on Debian 12, as root: installs what is
# missing, builds ovs-netpol and libopenvswitch, then compiles the example
# policies of deploy/examples/, loads them into a userspace Open vSwitch
# bridge with real pods (network namespaces on veth pairs) and prints the
# connectivity matrix, probed with real TCP connections, before and after.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
deploy/build.sh >&2
make tests/np-probe >&2
exec /usr/bin/python3 deploy/sandbox-demo.py "$@"
