"""Shared helpers for writing test cases: Kubernetes objects in the form a
client sends them, probe generation, and the case file format.

Case format (same as ../shared/conformance/cases):
  {"name", "source", "description", "tags", "spec", "steps": [
     {"comment", "apply": [objects], "delete": [{"kind","namespace","name"}],
      "probes": [{"from","to","port","protocol","allowed"}]}]}
The model (tests/cases/model.json) is in force before step 1.  In a step,
`apply` comes first, then `delete`, then the probes.
"""

import copy
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netpol_oracle as oracle  # noqa: E402

CASES_DIR = os.path.normpath(os.path.join(HERE, "..", "cases"))
MODEL_PATH = os.path.join(CASES_DIR, "model.json")
IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.53"
MAX_PROBES_PER_STEP = 700

P3 = [(80, "TCP"), (81, "TCP"), (80, "UDP")]
P6 = [(80, "TCP"), (81, "TCP"), (80, "UDP"), (81, "UDP"), (80, "SCTP"),
      (81, "SCTP")]
STD_PORTS = [("serve-%d-%s" % (p, pr.lower()), p, pr)
             for p in (80, 81) for pr in ("TCP", "UDP", "SCTP")]


def load_model():
    return oracle.load_json(MODEL_PATH)


MODEL = load_model()


def _model_obj(kind, ns, name):
    for it in MODEL["items"]:
        m = it["metadata"]
        if it["kind"] == kind and m["name"] == name and \
                (kind == "Namespace" or m.get("namespace") == ns):
            return copy.deepcopy(it)
    raise KeyError((kind, ns, name))


# ------------------------------------------------------------------ objects

def namespace(name, extra_labels=None, labels=None):
    """A Namespace as a client sends it; labels ns=<name> and
    kubernetes.io/metadata.name=<name> unless `labels` replaces them."""
    if labels is None:
        labels = {"ns": name, "kubernetes.io/metadata.name": name}
    labels = dict(labels)
    labels.update(extra_labels or {})
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}


def model_namespace(name, extra_labels=None, drop=()):
    """The model's Namespace, relabelled (the whole object, as apply sends)."""
    o = _model_obj("Namespace", None, name)
    lab = o["metadata"]["labels"]
    for k in drop:
        lab.pop(k, None)
    lab.update(extra_labels or {})
    return o


def model_pod(ns, name, labels):
    """The model's Pod ns/name with its labels replaced."""
    o = _model_obj("Pod", ns, name)
    o["metadata"]["labels"] = dict(labels)
    return o


def _container(pname, port, proto, std):
    cname = ("cont-%d-%s" % (port, proto.lower())) if std else \
        ("cont-%s-%d-%s" % (pname, port, proto.lower()))
    c = {"name": cname, "image": IMAGE, "imagePullPolicy": "IfNotPresent"}
    if proto == "SCTP":
        c["command"] = ["/agnhost", "porter"]
    else:
        c["command"] = ["/agnhost", "serve-hostname",
                        "--%s" % proto.lower(), "--http=false",
                        "--port", str(port)]
    c["securityContext"] = {}
    cp = {"containerPort": port, "protocol": proto}
    if pname:
        cp = {"containerPort": port, "name": pname, "protocol": proto}
    c["ports"] = [cp]
    if proto == "SCTP":
        c["env"] = [{"name": "SERVE_SCTP_PORT_%d" % port, "value": "foo"}]
    return c


def pod(ns, name, ip=None, labels=None, ports=None, phase="Running",
        host_network=False, ip6=None):
    """A Pod like the model's.  ports: list of (name, number, protocol);
    default the model's serve-80/81-tcp/udp/sctp.  ip=None: no IP yet."""
    if labels is None:
        labels = {"pod": name}
    std = ports is None
    if ports is None:
        ports = STD_PORTS
    spec = {"nodeName": "node-1", "terminationGracePeriodSeconds": 0}
    if host_network:
        spec["hostNetwork"] = True
    spec["containers"] = [_container(n, p, pr, std) for n, p, pr in ports]
    status = {"phase": phase}
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}] + ([{"ip": ip6}] if ip6 else [])
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns,
                         "labels": dict(labels)},
            "spec": spec, "status": status}


def netpol(ns, name, spec):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def delete(kind, ns, name):
    d = {"kind": kind, "name": name}
    if kind != "Namespace":
        d["namespace"] = ns
    return d


def sel(**labels):
    return {"matchLabels": dict(labels)}


def expr(key, op, values=None):
    e = {"key": key, "operator": op}
    if values is not None:
        e["values"] = list(values)
    return e


def sel_expr(*exprs, **labels):
    s = {}
    if labels:
        s["matchLabels"] = dict(labels)
    s["matchExpressions"] = list(exprs)
    return s


# ------------------------------------------------------------------ probes

def probe_list(cluster, ports, verdict, ports6=()):
    """Every ordered pair of probe-able pods (no self-probes) on each
    (port, protocol), ordered by port set, then source, then destination;
    `verdict(src, dst, port, proto, family)` gives `allowed`.  Then the
    same on `ports6` between the pods that have an IPv6 address, as probes
    with "ipFamily": "IPv6"."""
    pods = cluster.probe_pods()
    out = []
    for port, proto in ports:
        for s in pods:
            for d in pods:
                if s != d:
                    out.append({"from": s, "to": d, "port": port,
                                "protocol": proto,
                                "allowed": bool(verdict(s, d, port, proto))})
    pods6 = [r for r in pods
             if oracle.pod_ip_of_family(cluster.pod(r), 6) is not None]
    for port, proto in ports6:
        for s in pods6:
            for d in pods6:
                if s != d:
                    out.append({"from": s, "to": d, "port": port,
                                "protocol": proto, "ipFamily": "IPv6",
                                "allowed": bool(verdict(s, d, port, proto,
                                                        6))})
    return out


# ------------------------------------------------------------------ output

def dump_case(case):
    """JSON text in the layout of the shared cases: indented objects, one
    probe per line."""
    steps = case["steps"]
    head = {k: v for k, v in case.items() if k != "steps"}
    parts = []
    for st in steps:
        probes = st.get("probes") or []
        rest = {k: v for k, v in st.items() if k != "probes"}
        body = json.dumps(rest, indent=1, ensure_ascii=False)
        inner = "\n".join("  " + ln for ln in body.splitlines())
        inner = inner[:inner.rfind("}")].rstrip()
        plines = ",\n".join("    " + json.dumps(p) for p in probes)
        inner += ',\n   "probes": [\n' + plines + "\n   ]\n  }"
        parts.append(inner)
    h = json.dumps(head, indent=1, ensure_ascii=False)
    h = h[:h.rfind("}")].rstrip()
    text = h + ',\n "steps": [\n' + ",\n".join(parts) + "\n ]\n}\n"
    json.loads(text)  # self-check
    return text
