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


def obj_key(obj):
    kind = obj.get("kind")
    m = _meta(obj)
    ns = "" if kind == "Namespace" else (m.get("namespace") or "default")
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
        if kind not in ("Namespace", "Pod", "NetworkPolicy"):
            raise OracleError("unsupported kind %r" % (kind,))
        self.objs[obj_key(obj)] = obj

    load = apply

    def delete(self, kind, ns, name):
        key = (kind, "" if kind == "Namespace" else (ns or "default"), name)
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

    def _direction(self, direction, local, remote_ip, dst_pod, port, proto):
        """Returns (allowed, reasons) for one end of the connection."""
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
            return True, ["%s: not isolated" % direction.lower()]
        for pol in isolating:
            spec = pol.get("spec") or {}
            rules = spec.get("ingress" if direction == "Ingress" else "egress") or []
            for i, rule in enumerate(rules):
                if self._rule_matches(direction, lns, rule, remote_ip,
                                      dst_pod, port, proto):
                    return True, ["%s: allowed by %s/%s rule %d" % (
                        direction.lower(), lns, _meta(pol).get("name"), i)]
        return False, ["%s: denied, isolated by %s" % (
            direction.lower(), ", ".join("%s/%s" % (lns, _meta(p).get("name"))
                                         for p in isolating))]

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
