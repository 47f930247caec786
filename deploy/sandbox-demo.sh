#!/bin/sh
# The main job, from a clean clone on Debian 12, as root: installs what is
# missing, builds ovs-netpol, ovs-netpold and libopenvswitch, then runs the
# daemon on a userspace Open vSwitch bridge with real pods (network
# namespaces on veth pairs), driven through the Kubernetes API: the API
# server stand-in (tests/kube-apiserver-sim, TLS + token), the example
# cluster and then the example policies of deploy/examples/ applied with
# kubectl, and the connectivity matrix, probed with real TCP connections,
# printed before and after, then `ovs-netpol status`.  Needs kubectl
# (/usr/bin/kubectl, or set NP_KUBECTL).
#
#   deploy/sandbox-demo.sh [--keep] [--dir DIR] [--bookmark-interval S]
#   deploy/sandbox-demo.sh --compile-only   # offline: ovs-netpol compile +
#                                           # ovs-ofctl replace-flows, no daemon
#   deploy/sandbox-demo.sh --tenants        # deploy/examples/tenants/tenants.yaml:
#                                           # ClusterNetworkPolicy tenant
#                                           # isolation, ovs-netpold with a
#                                           # manifest directory (add
#                                           # --compile-only for the offline
#                                           # path); exit 1 unless the matrix
#                                           # is the expected one
#   deploy/sandbox-demo.sh --nodes 3        # the pods spread over 3 nodes, one
#                                           # ovs-netpold per node (tests/multinode)
#
# Everything it starts is stopped (by PID) and every namespace deleted on
# exit, also on an error or Ctrl-C.  Exit status 0 only when the matrix
# before the policies is all-allowed and the policies changed it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
deploy/build.sh >&2
make ovs-netpold ovs-netpol tests/np-probe >&2
exec /usr/bin/python3 deploy/sandbox-demo.py "$@"
