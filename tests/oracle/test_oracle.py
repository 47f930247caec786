#!/usr/bin/env python3
"""Unit tests of the oracle's building blocks (stdlib unittest)."""
import ipaddress
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netpol_oracle as o  # noqa: E402


def ex(key, op, values=None):
    e = {"key": key, "operator": op}
    if values is not None:
        e["values"] = values
    return {"matchExpressions": [e]}


class Selectors(unittest.TestCase):
    def test_empty_selects_all(self):
        self.assertTrue(o.selector_matches({}, {}))
        self.assertTrue(o.selector_matches({}, {"a": "b"}))

    def test_match_labels(self):
        s = {"matchLabels": {"a": "1", "b": "2"}}
        self.assertTrue(o.selector_matches(s, {"a": "1", "b": "2", "c": "3"}))
        self.assertFalse(o.selector_matches(s, {"a": "1"}))

    def test_ops(self):
        self.assertTrue(o.selector_matches(ex("k", "In", ["v", "w"]), {"k": "w"}))
        self.assertFalse(o.selector_matches(ex("k", "In", ["v"]), {}))
        self.assertTrue(o.selector_matches(ex("k", "NotIn", ["v"]), {}))
        self.assertTrue(o.selector_matches(ex("k", "NotIn", ["v"]), {"k": "x"}))
        self.assertFalse(o.selector_matches(ex("k", "NotIn", ["v"]), {"k": "v"}))
        self.assertTrue(o.selector_matches(ex("k", "Exists"), {"k": ""}))
        self.assertFalse(o.selector_matches(ex("k", "Exists"), {}))
        self.assertTrue(o.selector_matches(ex("k", "DoesNotExist"), {}))
        self.assertFalse(o.selector_matches(ex("k", "DoesNotExist"), {"k": "v"}))

    def test_labels_and_expressions_anded(self):
        s = {"matchLabels": {"a": "1"},
             "matchExpressions": [{"key": "b", "operator": "Exists"}]}
        self.assertTrue(o.selector_matches(s, {"a": "1", "b": "x"}))
        self.assertFalse(o.selector_matches(s, {"a": "1"}))
        self.assertFalse(o.selector_matches(s, {"b": "x"}))


class PolicyTypes(unittest.TestCase):
    def test_defaults(self):
        self.assertEqual(o.policy_types({}), {"Ingress"})
        self.assertEqual(o.policy_types({"egress": []}), {"Ingress"})
        self.assertEqual(o.policy_types({"egress": [{}]}), {"Ingress", "Egress"})
        self.assertEqual(o.policy_types({"egress": [{}], "policyTypes": []}),
                         {"Ingress", "Egress"})
        self.assertEqual(o.policy_types({"ingress": [{}], "policyTypes": ["Egress"]}),
                         {"Egress"})


class IPBlocks(unittest.TestCase):
    def ip(self, s):
        return ipaddress.ip_address(s)

    def test_cidr_except(self):
        b = {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}
        self.assertTrue(o.ipblock_matches(b, self.ip("10.2.3.4")))
        self.assertFalse(o.ipblock_matches(b, self.ip("10.1.3.4")))
        self.assertFalse(o.ipblock_matches(b, self.ip("11.0.0.1")))

    def test_families(self):
        self.assertFalse(o.ipblock_matches({"cidr": "::/0"}, self.ip("10.0.0.1")))
        self.assertFalse(o.ipblock_matches({"cidr": "0.0.0.0/0"}, self.ip("fd00::1")))
        self.assertTrue(o.ipblock_matches({"cidr": "fd00::/8"}, self.ip("fd00::1")))

    def test_non_canonical(self):
        self.assertTrue(o.ipblock_matches({"cidr": "10.244.1.5/24"},
                                          self.ip("10.244.1.200")))


class Ports(unittest.TestCase):
    POD = {"spec": {"containers": [{"ports": [
        {"containerPort": 8080, "name": "http"},
        {"containerPort": 53, "name": "dns", "protocol": "UDP"}]}]}}

    def m(self, pp, port, proto):
        return o.Cluster._port_matches(pp, self.POD, port, proto)

    def test_number_and_default_protocol(self):
        self.assertTrue(self.m({"port": 80}, 80, "TCP"))
        self.assertFalse(self.m({"port": 80}, 80, "UDP"))
        self.assertTrue(self.m({}, 1234, "TCP"))
        self.assertFalse(self.m({}, 1234, "SCTP"))
        self.assertTrue(self.m({"protocol": "SCTP"}, 1234, "SCTP"))

    def test_end_port(self):
        pp = {"port": 79, "endPort": 81, "protocol": "UDP"}
        self.assertTrue(self.m(pp, 79, "UDP"))
        self.assertTrue(self.m(pp, 81, "UDP"))
        self.assertFalse(self.m(pp, 82, "UDP"))
        self.assertFalse(self.m(pp, 80, "TCP"))

    def test_named(self):
        self.assertTrue(self.m({"port": "http"}, 8080, "TCP"))
        self.assertFalse(self.m({"port": "http"}, 80, "TCP"))
        self.assertFalse(self.m({"port": "dns"}, 53, "UDP"))  # rule proto TCP
        self.assertTrue(self.m({"port": "dns", "protocol": "UDP"}, 53, "UDP"))
        self.assertFalse(o.Cluster._port_matches({"port": "http"}, self.POD, 8080,
                                                 "TCP", name_ok=False))


class NamedPortBehindIPBlock(unittest.TestCase):
    """D1: in egress, a named port resolves on the pod that owns the
    destination address, whatever the peer kind; an address of no
    (eligible) pod never matches it."""

    def setUp(self):
        self.c = o.Cluster()
        self.d = {"kind": "Pod", "metadata": {"namespace": "y", "name": "d"},
                  "spec": {"containers": [{"ports": [
                      {"containerPort": 8080, "name": "http"}]}]},
                  "status": {"phase": "Running", "podIP": "10.244.2.14",
                             "podIPs": [{"ip": "10.244.2.14"},
                                        {"ip": "fd00::14"}]}}
        self.c.apply(self.d)

    def m(self, block, ip, port=8080, pod=None):
        rule = {"to": [{"ipBlock": block}], "ports": [{"port": "http"}]}
        return self.c._rule_matches("Egress", "x", rule,
                                    ipaddress.ip_address(ip), pod, port, "TCP")

    def test_pod_inside_block(self):
        b = {"cidr": "10.244.0.0/16"}
        self.assertTrue(self.m(b, "10.244.2.14", pod=self.d))
        self.assertFalse(self.m(b, "10.244.2.14", port=80, pod=self.d))

    def test_except_and_family(self):
        self.assertFalse(self.m({"cidr": "10.244.0.0/16",
                                 "except": ["10.244.2.0/24"]},
                                "10.244.2.14", pod=self.d))
        # Dual stack: an IPv4 block holds only the IPv4 address.
        self.assertFalse(self.m({"cidr": "10.244.0.0/16"}, "fd00::14",
                                pod=self.d))
        self.assertTrue(self.m({"cidr": "fd00::/64"}, "fd00::14", pod=self.d))

    def test_address_of_no_pod(self):
        self.assertFalse(self.m({"cidr": "10.244.0.0/16"}, "10.244.9.9"))

    def test_finished_pod_is_no_pod(self):
        self.d["status"]["phase"] = "Succeeded"
        self.assertFalse(self.m({"cidr": "10.244.0.0/16"}, "10.244.2.14",
                                pod=self.d))


class CommandLine(unittest.TestCase):
    def test_query(self):
        pol = os.path.join(HERE, "..", "cases", "model.json")
        out = subprocess.run([sys.executable, os.path.join(HERE, "netpol_oracle.py"),
                              "query", "x/a", "y/b", "80", "TCP", "--model", pol],
                             capture_output=True, text=True, check=True).stdout
        self.assertTrue(out.startswith("allowed"))


if __name__ == "__main__":
    unittest.main()
