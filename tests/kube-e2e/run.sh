#!/bin/sh
# tests/kube-e2e/run.sh — end-to-end through the Kubernetes API: the real
# kubectl drives the API server stand-in (tests/kube-apiserver-sim, TLS and
# a token), ovs-netpold follows it and programs a sandbox switch
# (ovs/sandbox.sh) whose pods are network namespaces, and real TCP probes
# (tests/np-probe) judge every step: the example policies applied, a pod
# relabelled (and back), a namespace relabelled, a new pod, policies
# deleted, then a new policy that the stand-in accepts and we reject
# (isolating its pods with no rules), fixed, made invalid again (its last
# valid version stays) and deleted; the Events the daemon writes about it
# (one per invalid version: none more after a forced 410 relist and a
# recompute), then, with the daemon restarted under --max-policy-flows 20,
# TooManyFlows and UnresolvedNamedPort Events; last ClusterNetworkPolicies:
# the daemon runs before their CRD exists (said once at INFO, synced), the
# CRD is applied, a policy applied, patched, patched invalid (last valid
# version kept, an Event), deleted, applied again, and the CRD deleted,
# probing after each step.  Expected verdicts are written by hand
# in run.py.  The stand-in gets deploy/kubernetes (kubectl apply -k) and the
# daemon runs with a token of the DaemonSet's service account, so under its
# ClusterRole: a single 401 or 403 for that account fails the run.
#
#   tests/kube-e2e/run.sh [-v] [--keep] [--bookmark-interval S]
#                         [--sync-timeout S] [--timeout-ms MS]
#
# As root, after building ./ovs-netpold, ./ovs-netpol and tests/np-probe
# (make ovs-netpold ovs-netpol tests/np-probe); builds nothing.  Needs
# kubectl (/usr/bin/kubectl, or NP_KUBECTL).  Stops everything it started
# and deletes every namespace, also on Ctrl-C.  Last line: "N passed, M
# failed" (probes); exit status 0 when all passed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/run.py" "$@"
