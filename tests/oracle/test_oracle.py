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


def _ns(name, **labels):
    return {"kind": "Namespace", "metadata": {"name": name, "labels": dict(
        labels, ns=name)}}


def _pod(ns, name, ip, ip6=None, host=False, ports=()):
    p = {"kind": "Pod", "metadata": {"namespace": ns, "name": name,
                                     "labels": {"pod": name}},
         "spec": {"containers": [{"ports": list(ports)}]},
         "status": {"phase": "Running", "podIP": ip,
                    "podIPs": [{"ip": ip}] + ([{"ip": ip6}] if ip6 else [])}}
    if host:
        p["spec"]["hostNetwork"] = True
    return p


def _cnp(name, tier, prio, subj_ns, ingress=None, egress=None):
    spec = {"tier": tier, "priority": prio,
            "subject": {"namespaces": {"matchLabels": {"ns": subj_ns}}}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"kind": "ClusterNetworkPolicy", "metadata": {"name": name},
            "spec": spec}


def _from(action, ns, protocols=None):
    r = {"action": action, "from": [{"namespaces": {"matchLabels": {"ns": ns}}}]}
    if protocols:
        r["protocols"] = protocols
    return r


def _to(action, peer, protocols=None):
    r = {"action": action, "to": [peer]}
    if protocols:
        r["protocols"] = protocols
    return r


DENY_ALL_NP = {"kind": "NetworkPolicy", "metadata": {"namespace": "y", "name": "d"},
               "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


class ClusterNetworkPolicy(unittest.TestCase):
    """Tiers: Admin -> NetworkPolicy -> Baseline -> allow (README C1-C7)."""

    def setUp(self):
        self.c = o.Cluster()
        for n in ("x", "y"):
            self.c.apply(_ns(n))
        self.c.apply(_pod("x", "a", "10.0.1.1", "fd00::1:1"))
        self.c.apply(_pod("y", "a", "10.0.2.1", "fd00::2:1",
                          ports=[{"name": "dns", "containerPort": 53, "protocol": "UDP"}]))

    def ok(self, port=80, proto="TCP", src="x/a", dst="y/a", family=None):
        return self.c.allowed(src, dst, port, proto, family)

    def test_admin_deny_beats_np_allow(self):
        self.c.apply({"kind": "NetworkPolicy", "metadata": {"namespace": "y", "name": "p"},
                      "spec": {"podSelector": {}, "ingress": [{}]}})
        self.c.apply(_cnp("d", "Admin", 1, "y", ingress=[_from("Deny", "x")]))
        self.assertFalse(self.ok())

    def test_admin_accept_beats_np_isolation(self):
        self.c.apply(DENY_ALL_NP)
        self.assertFalse(self.ok())
        self.c.apply(_cnp("a", "Admin", 1, "y", ingress=[_from("Accept", "x")]))
        self.assertTrue(self.ok())

    def test_egress_accept_still_needs_destination_ingress(self):
        self.c.apply(DENY_ALL_NP)
        self.c.apply(_cnp("e", "Admin", 1, "x", egress=[_to(
            "Accept", {"namespaces": {}})]))
        self.assertFalse(self.ok())

    def test_pass_goes_to_np_then_baseline(self):
        self.c.apply(_cnp("p", "Admin", 1, "y", ingress=[_from("Pass", "x")]))
        self.c.apply(_cnp("d", "Admin", 2, "y", ingress=[_from("Deny", "x")]))
        self.assertTrue(self.ok())                 # passed, nothing below
        self.c.apply(_cnp("b", "Baseline", 1, "y", ingress=[_from("Deny", "x")]))
        self.assertFalse(self.ok())                # Baseline decides
        self.c.apply({"kind": "NetworkPolicy", "metadata": {"namespace": "y", "name": "p"},
                      "spec": {"podSelector": {}, "ingress": [{}]}})
        self.assertTrue(self.ok())                 # the NP decides, not Baseline

    def test_baseline_per_direction(self):
        self.c.apply(_cnp("b", "Baseline", 1, "y", ingress=[_from("Deny", "x")]))
        self.c.apply({"kind": "NetworkPolicy", "metadata": {"namespace": "y", "name": "e"},
                      "spec": {"podSelector": {}, "policyTypes": ["Egress"]}})
        self.assertFalse(self.ok())   # egress isolation does not shield ingress

    def test_baseline_pass_is_default_allow(self):
        self.c.apply(_cnp("p", "Baseline", 1, "y", ingress=[_from("Pass", "x")]))
        self.c.apply(_cnp("d", "Baseline", 2, "y", ingress=[_from("Deny", "x")]))
        self.assertTrue(self.ok())

    def test_priority_then_rule_order_then_name(self):
        self.c.apply(_cnp("z-acc", "Admin", 5, "y", ingress=[_from("Accept", "x")]))
        self.c.apply(_cnp("a-deny", "Admin", 6, "y", ingress=[_from("Deny", "x")]))
        self.assertTrue(self.ok())
        self.c.apply(_cnp("a-deny", "Admin", 5, "y", ingress=[_from("Deny", "x")]))
        self.assertFalse(self.ok())                # equal priority: by name
        self.c.apply(_cnp("a-deny", "Admin", 5, "y", ingress=[
            _from("Accept", "x", [{"udp": {"destinationPort": {"number": 80}}}]),
            _from("Deny", "x")]))
        self.assertTrue(self.ok(80, "UDP"))
        self.assertFalse(self.ok(80, "TCP"))

    def test_protocols(self):
        self.c.apply(_cnp("d", "Admin", 1, "y", ingress=[_from("Deny", "x", [
            {"tcp": {"destinationPort": {"range": {"start": 80, "end": 82}}}},
            {"sctp": {"destinationPort": {"number": 9}}},
            {"destinationNamedPort": "dns"}])]))
        self.assertFalse(self.ok(82, "TCP"))
        self.assertTrue(self.ok(83, "TCP"))
        self.assertFalse(self.ok(9, "SCTP"))
        self.assertTrue(self.ok(9, "UDP"))
        self.assertFalse(self.ok(53, "UDP"))       # dns is 53/UDP on y/a
        self.assertTrue(self.ok(53, "TCP"))

    def test_networks_v4_v6_match_pods(self):
        self.c.apply(_cnp("n", "Admin", 1, "x", egress=[_to(
            "Deny", {"networks": ["fd00::2:0/112"]})]))
        self.assertTrue(self.ok())
        self.assertFalse(self.ok(family=6))

    def test_nodes_peer_and_host_network(self):
        self.c.apply({"kind": "Node", "metadata": {"name": "n1", "labels": {"os": "l"}},
                      "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                               {"type": "Hostname", "address": "n1"}]}})
        self.c.apply(_pod("y", "h", "172.18.0.2", host=True))
        self.c.apply(_cnp("n", "Admin", 1, "x", egress=[_to(
            "Deny", {"nodes": {"matchLabels": {"os": "l"}}})]))
        self.assertFalse(self.ok(dst="y/h"))
        self.assertTrue(self.ok())
        # hostNetwork pods are never subjects
        self.c.apply(_cnp("s", "Admin", 0, "y", ingress=[_from("Deny", "x")]))
        self.assertFalse(self.c.cnp_selects(self.c.cnps()[0], self.c.pod("y/h")))

    def test_unknown_peer_fails_closed(self):
        unknown = {"serviceAccounts": {}}
        self.c.apply(DENY_ALL_NP)
        self.c.apply(_cnp("a", "Admin", 1, "y", ingress=[
            {"action": "Accept", "from": [unknown]}]))
        self.assertFalse(self.ok())                # matches nothing
        self.c.objs.clear()
        self.setUp()
        self.c.apply(_cnp("p", "Admin", 1, "y", ingress=[
            {"action": "Pass", "from": [unknown, {"namespaces": {}}],
             "protocols": [{"tcp": {"destinationPort": {"number": 1}}}]}]))
        self.assertFalse(self.ok(80, "UDP"))       # Deny all, every port

    def test_validation(self):
        bad = [dict(_cnp("v", "Admin", 1001, "y")),
               _cnp("v", "Middle", 1, "y"),
               _cnp("v", "Admin", 1, "y", ingress=[{"action": "Allow", "from": [{}]}]),
               _cnp("v", "Admin", 1, "y", egress=[_to("Deny", {"networks": ["10.0.0.0/8"]},
                                                      [{"destinationNamedPort": "dns"}])]),
               _cnp("v", "Admin", 1, "y", ingress=[{"action": "Deny", "from": [
                   {"namespaces": {}, "pods": {"podSelector": {}}}]}])]
        for b in bad:
            with self.assertRaises(o.OracleError) as cm:
                self.c.apply(b)
            self.assertIn("ClusterNetworkPolicy v: ", str(cm.exception))


class CheckerCatchesWrongRules(unittest.TestCase):
    """check_cnp.py must fail when the oracle gets a CNP rule wrong."""

    def run_checker(self):
        import contextlib
        import io
        import check_cnp
        with contextlib.redirect_stdout(io.StringIO()) as out:
            rc = check_cnp.main()
        return rc, out.getvalue()

    def test_pass_as_accept(self):
        orig = o.Cluster._cnp_tier

        def wrong(self, *a):
            act, why = orig(self, *a)
            return ("Accept" if act == "Pass" else act), why
        o.Cluster._cnp_tier = wrong
        try:
            rc, out = self.run_checker()
        finally:
            o.Cluster._cnp_tier = orig
        self.assertEqual(rc, 1)
        self.assertIn("FAIL U-CNPAdminTierIntegration", out)

    def test_wrong_hand_grid(self):
        import cnp_doc
        c = cnp_doc.CASES[12]          # user story 1: column y denied
        saved = c.steps[0]
        a, d, cm, g = saved
        c.steps[0] = (a, d, cm, {k: v.replace("z . X .", "z . . .")
                                 for k, v in g.items()})
        try:
            rc, out = self.run_checker()
        finally:
            c.steps[0] = saved
        self.assertEqual(rc, 1)
        self.assertIn("FAIL 013-user-story-1-cluster-wide-deny: the oracle "
                      "disagrees with the hand grids", out)

    def test_baseline_for_np_isolated_pods(self):
        orig = o.Cluster._np_tier

        def wrong(self, *a):
            ok, why = orig(self, *a)
            return (None if ok is True else ok), why   # NP allow falls to Baseline
        o.Cluster._np_tier = wrong
        try:
            rc, out = self.run_checker()
        finally:
            o.Cluster._np_tier = orig
        self.assertEqual(rc, 1)
        self.assertIn("FAIL 004-baseline-deny-only-where-no-np-isolates", out)


class CommandLine(unittest.TestCase):
    def test_query(self):
        pol = os.path.join(HERE, "..", "cases", "model.json")
        out = subprocess.run([sys.executable, os.path.join(HERE, "netpol_oracle.py"),
                              "query", "x/a", "y/b", "80", "TCP", "--model", pol],
                             capture_output=True, text=True, check=True).stdout
        self.assertTrue(out.startswith("allowed"))


if __name__ == "__main__":
    unittest.main()
