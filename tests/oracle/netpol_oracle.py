#!/usr/bin/env python3
"""netpol_oracle: an independent reference model of Kubernetes NetworkPolicy v1.

Written from the Kubernetes documentation ("Network Policies" concept page)
and the API reference (networking.k8s.io/v1 NetworkPolicySpec,
NetworkPolicyIngressRule/EgressRule, NetworkPolicyPeer, NetworkPolicyPort,
IPBlock; meta/v1 LabelSelector), in plain Python with no code shared with the
C engine.  Given Namespaces, Pods and NetworkPolicies it answers one
question: is a NEW connection from pod A to pod B's IP on (port, protocol)
allowed?

Semantics implemented (each is exercised by tests/cases/):

* policyTypes: absent or empty list -> ["Ingress"] plus "Egress" iff the
  policy has a non-empty `egress` list (API server defaulting, which treats
  an empty list like an absent one).  An explicit list names the only
  directions the policy affects; rules of an unlisted direction are ignored.
* Isolation is per direction: a pod is isolated for ingress (egress) iff at
  least one policy in its namespace selects it by `podSelector` and has
  Ingress (Egress) among its policyTypes.  An isolated pod admits a
  connection in that direction iff some rule of direction of some such policy
  matches it (union of all policies; order and policy count do not matter).
  A direction listed but with no rules therefore denies everything.
* A connection needs egress allowed at the source pod AND ingress allowed at
  the destination pod.  (Replies of allowed connections always pass; this
  model only judges new connections.)
* Rule: `from`/`to` absent or empty = every peer; `ports` absent or empty =
  every port and protocol.  Otherwise a rule matches when one of its peers
  matches AND one of its ports matches (peers OR'ed, ports OR'ed).
* Peer: `ipBlock` alone, or `namespaceSelector` and/or `podSelector` which
  are AND'ed within one peer.  Absent `namespaceSelector` = the policy's own
  namespace; `{}` = every namespace.  Absent `podSelector` with a
  namespaceSelector = every pod of the selected namespaces.
* LabelSelector: matchLabels AND matchExpressions; `{}` selects everything.
  Operators In, NotIn, Exists, DoesNotExist; NotIn and DoesNotExist match
  objects that lack the key.  A Namespace the cluster has no object for has
  no labels.
* ipBlock: `cidr` minus every `except` entry; it matches the IP of the
  remote end whether or not that IP belongs to a pod (so it matches pod IPs).
  `except` trims only that one peer: another peer or policy may still allow
  the excepted IP.  A block of one address family never matches an address
  of the other (an IPv6 block never matches an IPv4 pod address).
  Non-canonical CIDRs (host bits set) are accepted, as net.ParseCIDR does.
* Port: `protocol` absent = TCP.  `port` absent = every port of that
  protocol.  A number matches that port, or the range port..endPort when
  endPort is given.  A name (JSON string) is resolved on the DESTINATION
  pod of the connection, in both directions (ingress: the selected pod
  itself; egress: the remote pod), per pod: it matches when that pod has a
  containerPort with that name whose protocol (TCP when absent) equals the
  rule's protocol and whose number is the connection's port.

Decisions this model takes where the spec is silent (documented, tested):

* D1 Named port vs ipBlock in egress: a named port resolves on the
  destination pod whatever the peer kind (DESIGN.md §3 item 3; the
  reference implementation kube-network-policies looks the destination pod
  up by address).  So an egress rule to an ipBlock with a named port
  matches a destination address inside the block (minus its excepts) that
  belongs to a pod eligible as a peer (D2) declaring that name with the
  rule's protocol and that number; it never matches an address that is no
  such pod's (an address alone has no port names).  In ingress the named
  port resolves on the selected pod itself, so an ipBlock source with a
  named port works normally.
* D2 Pod peers: a pod is selected as a pod peer (podSelector /
  namespaceSelector) only if it has an IP (status.podIP or status.podIPs),
  is not hostNetwork, and its phase is not Succeeded or Failed.  A Pending
  pod that already has an IP is selected.  Peers are matched through the
  remote address, as a data path sees them: the remote end matches a pod
  peer when an eligible pod owning that address matches the selectors.  So
  a finished pod whose IP is reused by a new pod contributes nothing; the
  new pod is judged by its own labels.  Ineligible pods may still be matched
  by an ipBlock through their IP (ipBlock looks at addresses, not pods).
* D3 Policy targets: a policy's `podSelector` selects pods of its namespace
  regardless of phase/IP (it makes no difference to a probe, since only pods
  with an IP are probed and hostNetwork pods are not probed).
* D4 Only `spec.containers[*].ports` are consulted for named ports (not
  init or ephemeral containers).
* D5 Probe addresses: a probe is from the source pod's address to the
  destination pod's primary address (status.podIP, else the first of
  status.podIPs); the source address is the source pod's address of the same
  family.  Probes are IPv4 in our corpus.
* D6 A port given as a JSON string is a name (IntOrString of type String;
  the API rejects digit-only names), a JSON integer is a number.

ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2): tiers Admin ->
NetworkPolicy -> Baseline -> allow, per direction; rules C1-C7 and the
upstream sources are in README.md ("ClusterNetworkPolicy").  Node objects
serve the experimental `nodes` egress peer.

Library use:   c = Cluster(); c.load(model_list); c.apply(obj); c.delete(kind,
               ns, name); c.allowed("x/a", "y/b", 80, "TCP") -> bool;
               c.explain(...) -> (bool, [reasons]); c.probe_pods().
Command line:  netpol_oracle.py check CASE.json... [--model M]
               netpol_oracle.py query FROM TO PORT PROTO [--ipv6] [--model M] [-f OBJ]...
"""

import argparse
import ipaddress
import json
import os
import sys

PROTOCOLS = ("TCP", "UDP", "SCTP")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.join(HERE, "..", "cases", "model.json")


class OracleError(Exception):
    pass


# ---------------------------------------------------------------- selectors

def selector_matches(sel, labels):
    """meta/v1 LabelSelector against a label dict; `sel` must not be None."""
    if not isinstance(sel, dict):
        raise OracleError("label selector must be an object: %r" % (sel,))
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        key = e.get("key")
        op = e.get("operator")
        vals = e.get("values") or []
        if op == "In":
            if key not in labels or labels[key] not in vals:
                return False
        elif op == "NotIn":
            if key in labels and labels[key] in vals:
                return False
        elif op == "Exists":
            if key not in labels:
                return False
        elif op == "DoesNotExist":
            if key in labels:
                return False
        else:
            raise OracleError("unknown selector operator %r" % (op,))
    return True


# ---------------------------------------------------------------- objects

def _meta(obj):
    return obj.get("metadata") or {}


CLUSTER_SCOPED = ("Namespace", "ClusterNetworkPolicy", "Node")
KINDS = ("Namespace", "Pod", "NetworkPolicy", "ClusterNetworkPolicy", "Node")


def obj_key(obj):
    kind = obj.get("kind")
    m = _meta(obj)
    ns = "" if kind in CLUSTER_SCOPED else (m.get("namespace") or "default")
    return (kind, ns, m.get("name"))


def pod_ips(pod):
    st = pod.get("status") or {}
    ips = [p.get("ip") for p in (st.get("podIPs") or []) if p.get("ip")]
    if not ips and st.get("podIP"):
        ips = [st["podIP"]]
    return [ipaddress.ip_address(i) for i in ips]


def pod_primary_ip(pod):
    ips = pod_ips(pod)
    return ips[0] if ips else None


def pod_ip_of_family(pod, version):
    for ip in pod_ips(pod):
        if ip.version == version:
            return ip
    return None


def pod_is_host_network(pod):
    return bool((pod.get("spec") or {}).get("hostNetwork"))


def pod_phase(pod):
    return (pod.get("status") or {}).get("phase")


def pod_is_peer_eligible(pod):
    """Decision D2."""
    return (bool(pod_ips(pod)) and not pod_is_host_network(pod)
            and pod_phase(pod) not in ("Succeeded", "Failed"))


def pod_is_probeable(pod):
    """Pods a probe can start from / go to: eligible pods (D2, D5)."""
    return pod_is_peer_eligible(pod)


def pod_container_ports(pod):
    out = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            out.append(p)
    return out


def policy_types(spec):
    pt = spec.get("policyTypes")
    if not pt:
        pt = ["Ingress"]
        if spec.get("egress"):
            pt.append("Egress")
    for t in pt:
        if t not in ("Ingress", "Egress"):
            raise OracleError("bad policyType %r" % (t,))
    return set(pt)


def ipblock_matches(ipb, ip):
    if ip is None:
        return False
    net = ipaddress.ip_network(ipb["cidr"], strict=False)
    if net.version != ip.version or ip not in net:
        return False
    for ex in ipb.get("except") or []:
        exn = ipaddress.ip_network(ex, strict=False)
        if exn.version == ip.version and ip in exn:
            return False
    return True


# ---------------------------------------------------------------- ClusterNetworkPolicy

CNP_TIERS = ("Admin", "Baseline")
CNP_ACTIONS = ("Accept", "Deny", "Pass")
CNP_INGRESS_PEERS = ("namespaces", "pods")
CNP_EGRESS_PEERS = ("namespaces", "pods", "networks", "nodes", "domainNames")
CNP_PROTOCOLS = {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP"}


def _cnp_name(obj):
    return _meta(obj).get("name")


def cnp_peer_kind(direction, peer):
    """The one known field of a peer, or None for a peer with none (a newer
    API's peer kind: fail closed, C4).  More than one field is invalid."""
    if not isinstance(peer, dict):
        raise OracleError("peer must be an object: %r" % (peer,))
    known = CNP_INGRESS_PEERS if direction == "Ingress" else CNP_EGRESS_PEERS
    present = [k for k in known if peer.get(k) is not None]
    if len(present) > 1:
        raise OracleError("peer sets %s: exactly one field allowed" %
                          " and ".join(present))
    return present[0] if present else None


def check_cnp(obj):
    """The parts of the CRD schema and CEL rules the oracle relies on; a
    violation is an OracleError naming the policy and field."""
    name = _cnp_name(obj)

    def bad(msg):
        raise OracleError("ClusterNetworkPolicy %s: %s" % (name, msg))
    if not name:
        bad("metadata.name missing")
    spec = obj.get("spec") or {}
    if spec.get("tier") not in CNP_TIERS:
        bad("spec.tier must be Admin or Baseline, not %r" % (spec.get("tier"),))
    pr = spec.get("priority")
    if isinstance(pr, bool) or not isinstance(pr, int) or not 0 <= pr <= 1000:
        bad("spec.priority must be an integer 0-1000, not %r" % (pr,))
    subj = spec.get("subject") or {}
    if sum(subj.get(k) is not None for k in ("namespaces", "pods")) != 1:
        bad("spec.subject needs exactly one of namespaces, pods")
    for direction, field, pfield in (("Ingress", "ingress", "from"),
                                     ("Egress", "egress", "to")):
        rules = spec.get(field) or []
        if len(rules) > 25:
            bad("spec.%s has %d rules (at most 25)" % (field, len(rules)))
        for i, r in enumerate(rules):
            where = "spec.%s[%d]" % (field, i)
            if r.get("action") not in CNP_ACTIONS:
                bad("%s.action must be Accept, Deny or Pass, not %r" % (
                    where, r.get("action")))
            peers = r.get(pfield) or []
            if not 1 <= len(peers) <= 25:
                bad("%s.%s needs 1 to 25 peers" % (where, pfield))
            try:
                kinds = [cnp_peer_kind(direction, p) for p in peers]
            except OracleError as e:
                bad("%s.%s: %s" % (where, pfield, e))
            if "domainNames" in kinds:
                bad("%s: domainNames peers are not modelled (no DNS in the "
                    "oracle)" % where)
            protos = r.get("protocols")
            if protos is not None and not 1 <= len(protos) <= 25:
                bad("%s.protocols needs 1 to 25 entries" % where)
            named = False
            for j, pp in enumerate(protos or []):
                set_ = [k for k in ("tcp", "udp", "sctp", "destinationNamedPort")
                        if pp.get(k) is not None]
                if len(set_) != 1:
                    bad("%s.protocols[%d] needs exactly one of tcp, udp, sctp, "
                        "destinationNamedPort" % (where, j))
                if set_[0] == "destinationNamedPort":
                    named = True
                    continue
                dp = (pp[set_[0]] or {}).get("destinationPort")
                if dp is None:
                    continue
                if ("number" in dp) == ("range" in dp):
                    bad("%s.protocols[%d].%s.destinationPort needs exactly one "
                        "of number, range" % (where, j, set_[0]))
                rng = dp.get("range")
                if rng is not None and not (
                        isinstance(rng.get("start"), int) and
                        isinstance(rng.get("end"), int) and
                        1 <= rng["start"] < rng["end"] <= 65535):
                    bad("%s.protocols[%d]: range needs 1 <= start < end <= 65535"
                        % (where, j))
                num = dp.get("number")
                if "number" in dp and (isinstance(num, bool) or not
                                       isinstance(num, int) or
                                       not 1 <= num <= 65535):
                    bad("%s.protocols[%d]: number must be 1-65535" % (where, j))
            if named and any(k in ("networks", "nodes") for k in kinds):
                bad("%s: destinationNamedPort with a networks or nodes peer" %
                    where)


def cnp_protocol_matches(pp, dst_pod, port, proto):
    """One ClusterNetworkPolicyProtocol entry against (port, proto).  A named
    port resolves on the destination pod (C6): a containerPort with that name
    whose protocol (TCP when absent) and number are the connection's."""
    name = pp.get("destinationNamedPort")
    if name is not None:
        if dst_pod is None:
            return False
        return any(cp.get("name") == name and
                   (cp.get("protocol") or "TCP") == proto and
                   cp.get("containerPort") == port
                   for cp in pod_container_ports(dst_pod))
    for key, p in CNP_PROTOCOLS.items():
        if pp.get(key) is None:
            continue
        if p != proto:
            return False
        dp = pp[key].get("destinationPort")
        if dp is None:           # C7: no destinationPort = every port
            return True
        if "number" in dp:
            return port == dp["number"]
        return dp["range"]["start"] <= port <= dp["range"]["end"]
    raise OracleError("protocol entry with no known field: %r" % (pp,))


def node_ips(node):
    out = []
    for a in (node.get("status") or {}).get("addresses") or []:
        try:
            out.append(ipaddress.ip_address(a.get("address")))
        except (ValueError, TypeError):
            pass           # Hostname entries
    return out


# ---------------------------------------------------------------- cluster

class Cluster:
    def __init__(self):
        self.objs = {}

    # -- loading
    def apply(self, obj):
        kind = obj.get("kind")
        if kind == "List":
            for it in obj.get("items") or []:
                self.apply(it)
            return
        if kind not in KINDS:
            raise OracleError("unsupported kind %r" % (kind,))
        if kind == "ClusterNetworkPolicy":
            check_cnp(obj)
        self.objs[obj_key(obj)] = obj

    load = apply

    def delete(self, kind, ns, name):
        key = (kind, "" if kind in CLUSTER_SCOPED else (ns or "default"), name)
        return self.objs.pop(key, None) is not None

    def run_step(self, step):
        for o in step.get("apply") or []:
            self.apply(o)
        for d in step.get("delete") or []:
            self.delete(d["kind"], d.get("namespace"), d["name"])

    # -- lookups
    def namespaces(self):
        return sorted((k[2], o) for k, o in self.objs.items()
                      if k[0] == "Namespace")

    def ns_labels(self, ns):
        o = self.objs.get(("Namespace", "", ns))
        return (_meta(o).get("labels") or {}) if o else {}

    def pods(self):
        return [(k[1] + "/" + k[2], o)
                for k, o in sorted(self.objs.items()) if k[0] == "Pod"]

    def pod(self, ref):
        ns, name = ref.split("/", 1)
        o = self.objs.get(("Pod", ns, name))
        if o is None:
            raise OracleError("no pod %s" % ref)
        return o

    def policies(self, ns=None):
        return [o for k, o in sorted(self.objs.items())
                if k[0] == "NetworkPolicy" and (ns is None or k[1] == ns)]

    def probe_pods(self):
        """Refs of the pods a probe may use, sorted by (namespace, name)."""
        return [r for r, o in self.pods() if pod_is_probeable(o)]

    # -- semantics
    def pods_with_ip(self, ip):
        """Pods that can be pod peers (D2) and own address `ip`."""
        return [o for _, o in self.pods()
                if pod_is_peer_eligible(o) and ip in pod_ips(o)]

    def _pod_peer_matches(self, peer, policy_ns, pod):
        """podSelector/namespaceSelector part of a peer against a pod."""
        if pod is None or not pod_is_peer_eligible(pod):
            return False
        pm = _meta(pod)
        pns = pm.get("namespace") or "default"
        nss = peer.get("namespaceSelector")
        ps = peer.get("podSelector")
        if nss is None:
            if pns != policy_ns:
                return False
        elif not selector_matches(nss, self.ns_labels(pns)):
            return False
        if ps is not None and not selector_matches(ps, pm.get("labels")):
            return False
        return True

    @staticmethod
    def _check_peer(peer):
        has_sel = ("podSelector" in peer and peer["podSelector"] is not None) or \
            ("namespaceSelector" in peer and peer["namespaceSelector"] is not None)
        has_ipb = peer.get("ipBlock") is not None
        if has_sel == has_ipb:
            raise OracleError("invalid peer %r" % (peer,))
        return has_ipb

    @staticmethod
    def _port_matches(pp, dst_pod, port, proto, name_ok=True):
        rproto = pp.get("protocol") or "TCP"
        if rproto not in PROTOCOLS:
            raise OracleError("bad protocol %r" % (rproto,))
        if rproto != proto:
            return False
        p = pp.get("port")
        if p is None:
            return True
        if isinstance(p, bool):
            raise OracleError("bad port %r" % (p,))
        if isinstance(p, int):
            end = pp.get("endPort")
            if end is None:
                return port == p
            return p <= port <= end
        if not isinstance(p, str):
            raise OracleError("bad port %r" % (p,))
        if pp.get("endPort") is not None:
            raise OracleError("endPort with a named port")
        if not name_ok or dst_pod is None:
            return False
        for cp in pod_container_ports(dst_pod):
            if (cp.get("name") == p and (cp.get("protocol") or "TCP") == rproto
                    and cp.get("containerPort") == port):
                return True
        return False

    def _rule_matches(self, direction, policy_ns, rule, remote_ip, dst_pod,
                      port, proto):
        """One ingress/egress rule against a connection.

        remote_ip: the other end's address (ingress: the source; egress: the
        destination).  Pod peers are matched through the address, as a data
        path sees them: the remote end is a pod peer if an eligible pod (D2)
        owning that address matches the peer's selectors.  dst_pod: where
        named ports resolve (the destination pod of the connection)."""
        remote_pods = self.pods_with_ip(remote_ip) if remote_ip else []
        peers = rule.get("from" if direction == "Ingress" else "to") or []
        ports = rule.get("ports") or []
        if not peers:
            via_pod, via_ip = True, False
        else:
            via_pod = via_ip = False
            for peer in peers:
                if self._check_peer(peer):
                    if ipblock_matches(peer["ipBlock"], remote_ip):
                        via_ip = True
                elif any(self._pod_peer_matches(peer, policy_ns, rp)
                         for rp in remote_pods):
                    via_pod = True
            if not (via_pod or via_ip):
                return False
        if not ports:
            return True
        # D1: in egress, a named port needs the destination address to be
        # an eligible pod's, reached as a pod peer or through an ipBlock.
        name_ok = (via_pod or bool(remote_pods)) if direction == "Egress" \
            else True
        return any(self._port_matches(pp, dst_pod, port, proto, name_ok)
                   for pp in ports)

    def _np_tier(self, direction, local, remote_ip, dst_pod, port, proto):
        """NetworkPolicy: (True/False, reason) for a pod some policy isolates
        in this direction, (None, reason) for a pod none isolates."""
        lm = _meta(local)
        lns = lm.get("namespace") or "default"
        isolating = []
        for pol in self.policies(lns):
            spec = pol.get("spec") or {}
            if direction not in policy_types(spec):
                continue
            if not selector_matches(spec.get("podSelector") or {},
                                    lm.get("labels")):
                continue
            isolating.append(pol)
        if not isolating:
            return None, "%s: not isolated" % direction.lower()
        for pol in isolating:
            spec = pol.get("spec") or {}
            rules = spec.get("ingress" if direction == "Ingress" else "egress") or []
            for i, rule in enumerate(rules):
                if self._rule_matches(direction, lns, rule, remote_ip,
                                      dst_pod, port, proto):
                    return True, "%s: allowed by %s/%s rule %d" % (
                        direction.lower(), lns, _meta(pol).get("name"), i)
        return False, "%s: denied, isolated by %s" % (
            direction.lower(), ", ".join("%s/%s" % (lns, _meta(p).get("name"))
                                         for p in isolating))

    # -- ClusterNetworkPolicy
    def cnps(self, tier=None):
        """Policies of a tier in evaluation order: priority, then name (C2)."""
        out = [o for k, o in self.objs.items() if k[0] == "ClusterNetworkPolicy"
               and (tier is None or (o.get("spec") or {}).get("tier") == tier)]
        return sorted(out, key=lambda o: ((o.get("spec") or {}).get("priority"),
                                          _cnp_name(o).encode()))

    def nodes(self):
        return [o for k, o in sorted(self.objs.items()) if k[0] == "Node"]

    def _ns_pod_selected(self, nsel, psel, pod):
        """`namespaces` (psel None) or `pods` selection of a pod."""
        pm = _meta(pod)
        pns = pm.get("namespace") or "default"
        if not selector_matches(nsel or {}, self.ns_labels(pns)):
            return False
        return psel is None or selector_matches(psel, pm.get("labels"))

    def cnp_selects(self, cnp, pod):
        """Subject: hostNetwork pods are never selected (C3)."""
        if pod_is_host_network(pod):
            return False
        subj = (cnp.get("spec") or {}).get("subject") or {}
        if subj.get("namespaces") is not None:
            return self._ns_pod_selected(subj["namespaces"], None, pod)
        p = subj["pods"]
        return self._ns_pod_selected(p.get("namespaceSelector"),
                                     p.get("podSelector") or {}, pod)

    def _cnp_peer_matches(self, kind, peer, remote_ip, remote_pods):
        if kind in ("namespaces", "pods"):
            for rp in remote_pods:        # eligible pods (D2) only
                if kind == "namespaces":
                    if self._ns_pod_selected(peer["namespaces"], None, rp):
                        return True
                elif self._ns_pod_selected(peer["pods"].get("namespaceSelector"),
                                           peer["pods"].get("podSelector") or {},
                                           rp):
                    return True
            return False
        if kind == "networks":
            return any(ipblock_matches({"cidr": c}, remote_ip)
                       for c in peer["networks"])
        if kind == "nodes":
            return any(selector_matches(peer["nodes"], _meta(n).get("labels"))
                       and remote_ip in node_ips(n) for n in self.nodes())
        raise OracleError("peer kind %r not modelled" % (kind,))

    def _cnp_rule_action(self, direction, rule, remote_ip, dst_pod, port, proto):
        """The action of a rule that matches the connection, else None.
        Fail closed (C4): a peer with no known field matches nothing in an
        Accept rule and turns a Deny or Pass rule into "Deny all"."""
        action = rule["action"]
        peers = rule.get("from" if direction == "Ingress" else "to") or []
        kinds = [cnp_peer_kind(direction, p) for p in peers]
        if None in kinds and action != "Accept":
            return "Deny"
        remote_pods = self.pods_with_ip(remote_ip) if remote_ip else []
        if not any(k is not None and
                   self._cnp_peer_matches(k, p, remote_ip, remote_pods)
                   for k, p in zip(kinds, peers)):
            return None
        protos = rule.get("protocols")
        if protos and not any(cnp_protocol_matches(pp, dst_pod, port, proto)
                              for pp in protos):
            return None
        return action

    def _cnp_tier(self, tier, direction, local, remote_ip, dst_pod, port, proto):
        """(action, reason) of the first matching rule of the tier for this
        pod and direction, or (None, None)."""
        field = "ingress" if direction == "Ingress" else "egress"
        for cnp in self.cnps(tier):
            rules = (cnp.get("spec") or {}).get(field) or []
            if not rules or not self.cnp_selects(cnp, local):
                continue
            for i, rule in enumerate(rules):
                act = self._cnp_rule_action(direction, rule, remote_ip, dst_pod,
                                            port, proto)
                if act is not None:
                    return act, "%s: %s tier %s by %s rule %d%s" % (
                        direction.lower(), tier, act, _cnp_name(cnp), i,
                        " (%s)" % rule["name"] if rule.get("name") else "")
        return None, None

    def _direction(self, direction, local, remote_ip, dst_pod, port, proto):
        """Returns (allowed, reasons) for one end of the connection: Admin
        tier, then NetworkPolicy, then Baseline tier (pods no NetworkPolicy
        isolates in this direction), then allowed (C1)."""
        if pod_is_host_network(local):
            # Traffic of the host network is outside the pod network: neither
            # NetworkPolicy nor ClusterNetworkPolicy applies (C3).
            return True, ["%s: host-network pod" % direction.lower()]
        act, why = self._cnp_tier("Admin", direction, local, remote_ip,
                                  dst_pod, port, proto)
        reasons = [why] if why else []
        if act in ("Accept", "Deny"):
            return act == "Accept", reasons
        ok, why = self._np_tier(direction, local, remote_ip, dst_pod, port,
                                proto)
        reasons.append(why)
        if ok is not None:
            return ok, reasons
        act, why = self._cnp_tier("Baseline", direction, local, remote_ip,
                                  dst_pod, port, proto)
        if why:
            reasons.append(why)
        if act in ("Accept", "Deny"):
            return act == "Accept", reasons
        return True, reasons

    def explain(self, src, dst, port, proto, family=None):
        """family: None (the destination's primary address, D5) or 6 (the
        IPv6 addresses of both pods)."""
        if proto not in PROTOCOLS:
            raise OracleError("bad protocol %r" % (proto,))
        sp = self.pod(src) if isinstance(src, str) else src
        dp = self.pod(dst) if isinstance(dst, str) else dst
        dip = pod_ip_of_family(dp, 6) if family == 6 else pod_primary_ip(dp)
        if dip is None:
            raise OracleError("destination %s has no IP%s" % (
                dst, "v6 address" if family == 6 else ""))
        sip = pod_ip_of_family(sp, dip.version)
        if sip is None:
            raise OracleError("source %s has no IPv%d address" % (src, dip.version))
        eg, r1 = self._direction("Egress", sp, dip, dp, port, proto)
        ing, r2 = self._direction("Ingress", dp, sip, dp, port, proto)
        return eg and ing, r1 + r2

    def allowed(self, src, dst, port, proto, family=None):
        return self.explain(src, dst, port, proto, family)[0]


def probe_family(probe):
    """6 for a probe with "ipFamily": "IPv6", else None (D5)."""
    fam = str(probe.get("ipFamily", "")).lower()
    return 6 if fam in ("ipv6", "6") else None


# ---------------------------------------------------------------- case replay

def load_json(path):
    with open(path) as f:
        return json.load(f)


def replay_case(model, case):
    """Replays a case; returns a list of mismatch strings (empty = agrees)."""
    c = Cluster()
    c.apply(model)
    bad = []
    for si, step in enumerate(case.get("steps") or []):
        c.run_step(step)
        for p in step.get("probes") or []:
            fam = probe_family(p)
            got = c.allowed(p["from"], p["to"], p["port"], p["protocol"], fam)
            if got != p["allowed"]:
                _, why = c.explain(p["from"], p["to"], p["port"], p["protocol"],
                                   fam)
                bad.append("step %d: %s -> %s %d/%s%s: case says %s, oracle %s (%s)" % (
                    si + 1, p["from"], p["to"], p["port"], p["protocol"],
                    " IPv6" if fam == 6 else "", p["allowed"], got,
                    "; ".join(why)))
    return bad


def _load_objects(path):
    if path.endswith((".yaml", ".yml")):
        import yaml
        with open(path) as f:
            return [d for d in yaml.safe_load_all(f) if d]
    return [load_json(path)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("check", help="replay case files, report mismatches")
    a.add_argument("cases", nargs="+")
    a.add_argument("--model", default=DEFAULT_MODEL)
    q = sub.add_parser("query", help="judge one connection")
    q.add_argument("src")
    q.add_argument("dst")
    q.add_argument("port", type=int)
    q.add_argument("proto", choices=PROTOCOLS)
    q.add_argument("--model", default=DEFAULT_MODEL)
    q.add_argument("--ipv6", action="store_true",
                   help="between the pods' IPv6 addresses")
    q.add_argument("-f", "--file", action="append", default=[],
                   help="JSON/YAML objects applied after the model")
    args = ap.parse_args(argv)
    model = load_json(args.model)
    if args.cmd == "check":
        rc = 0
        for path in args.cases:
            bad = replay_case(model, load_json(path))
            print("%s %s" % ("ok  " if not bad else "FAIL", path))
            for b in bad[:20]:
                print("    " + b)
            if bad:
                rc = 1
        return rc
    c = Cluster()
    c.apply(model)
    for path in args.file:
        for o in _load_objects(path):
            c.apply(o)
    ok, why = c.explain(args.src, args.dst, args.port, args.proto,
                        6 if args.ipv6 else None)
    print("allowed" if ok else "denied")
    for w in why:
        print("  " + w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
