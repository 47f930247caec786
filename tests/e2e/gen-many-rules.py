#!/usr/bin/env python3
"""Writes the cluster of tests/e2e/conj-limit.sh: pods x/c and x/s and
3,500 policies, each allowing x/c to reach x/s on one port (1000 + i), so
that the clause flows of x/c and x/s are shared by 3,500 conjunctions."""
import json

items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}]
for name, ip, ports in (("c", "10.244.1.20", []),
                        ("s", "10.244.1.21", [1000, 2000, 3000, 4499, 4500])):
    items.append({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"namespace": "x", "name": name,
                               "labels": {"pod": name}},
                  "spec": {"nodeName": "node-1", "containers": [
                      {"name": "c", "ports": [{"containerPort": p}
                                              for p in ports]}]},
                  "status": {"phase": "Running", "podIP": ip}})
for i in range(3500):
    items.append({"apiVersion": "networking.k8s.io/v1",
                  "kind": "NetworkPolicy",
                  "metadata": {"namespace": "x", "name": "p%d" % i},
                  "spec": {"podSelector": {"matchLabels": {"pod": "s"}},
                           "ingress": [{"from": [{"podSelector": {
                               "matchLabels": {"pod": "c"}}}],
                               "ports": [{"port": 1000 + i}]}]}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
