#!/usr/bin/env python3
"""Tests of tests/kube-apiserver-sim, with the real kubectl, curl and raw HTTPS.

Run by tests/sim/test-sim.sh.  Starts simulators on port 0 (loopback only)
and stops them by PID.  Prints one line per test and a final line
"N passed, M failed"; exit status 0 only if nothing failed.

Options: -k SUBSTRING (run only tests whose name contains it), -v (show the
simulators' stderr on failure).
"""

import base64
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.normpath(os.path.join(HERE, "..", "kube-apiserver-sim"))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "deploy", "examples"))
KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
TOKEN = "sim-test-" + base64.b16encode(os.urandom(8)).decode().lower()
TMP = tempfile.mkdtemp(prefix="sim-test-")
TLS = os.path.join(TMP, "tls")
VERBOSE = "-v" in sys.argv
ONLY = sys.argv[sys.argv.index("-k") + 1] if "-k" in sys.argv else None


class Fail(Exception):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise Fail(msg)


def eq(a, b, what=""):
    if a != b:
        raise Fail("%s: expected %r, got %r" % (what or "value", b, a))


# ---------------------------------------------------------------------------
# Simulator process and clients

class Watch:
    """A watch over a raw TLS socket; parses the chunked framing itself."""

    def __init__(self, sim, path, token=None, accept="application/json", timeout=15):
        self.sim = sim
        raw = socket.create_connection((sim.host, sim.port), timeout=timeout)
        self.sock = sim.ctx.wrap_socket(raw, server_hostname=sim.host)
        self.f = self.sock.makefile("rb")
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\nAccept: %s\r\n"
               "User-Agent: sim-test/1.0\r\n\r\n" % (path, sim.host, sim.port, token or sim.token, accept))
        self.sock.sendall(req.encode())
        line = self.f.readline().decode()
        self.status = int(line.split()[1])
        self.headers = {}
        while True:
            h = self.f.readline().decode()
            if h in ("\r\n", "\n", ""):
                break
            k, _, v = h.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunks = []
        self.ended = False
        self.body = None
        if self.headers.get("transfer-encoding", "").lower() != "chunked":
            n = int(self.headers.get("content-length", "0"))
            self.body = self.f.read(n)

    def chunk(self, timeout=10):
        """Next chunk's bytes; None at the terminating chunk; raises socket.timeout."""
        if self.ended:
            return None
        self.sock.settimeout(timeout)
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed without a terminating chunk")
        size = int(line.strip().split(b";")[0], 16)
        if size == 0:
            self.f.readline()
            self.ended = True
            return None
        data = self.f.read(size)
        crlf = self.f.read(2)
        if crlf != b"\r\n":
            raise Fail("chunk not followed by CRLF")
        self.chunks.append(data)
        return data

    def event(self, timeout=10):
        c = self.chunk(timeout)
        return None if c is None else json.loads(c.decode())

    def events_until(self, pred, timeout=10):
        """Events up to and including the first one for which pred is true."""
        out, deadline = [], time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise Fail("timed out waiting for an event; got %s" % [summ(e) for e in out])
            e = self.event(left)
            if e is None:
                raise Fail("watch ended early; got %s" % [summ(e) for e in out])
            out.append(e)
            if pred(e):
                return out

    def close(self):
        for x in (self.f, self.sock):
            try:
                x.close()
            except OSError:
                pass


def summ(e):
    if e is None:
        return None
    o = e.get("object", {})
    m = o.get("metadata", {})
    return "%s %s/%s rv=%s" % (e.get("type"), m.get("namespace", ""), m.get("name", ""), m.get("resourceVersion"))


class Sim:
    def __init__(self, *extra, name="sim", token=None, tls=TLS, expect_fail=False):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=TMP)
        self.token = token or TOKEN
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.cache = os.path.join(self.dir, "kube-cache")
        self.log = os.path.join(self.dir, "sim.log")
        self.tls = tls
        cmd = [SIM, "--listen", "127.0.0.1:0", "--tls-dir", tls, "--token", self.token,
               "--kubeconfig-out", self.kubeconfig] + list(extra)
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(self.log, "w"))
        self.first_line = self._read_line(30)
        m = re.match(r"^listening https://(127\.0\.0\.1):(\d+)$", self.first_line or "")
        if not m:
            self.p.kill()
            raise Fail("bad first line %r; log: %s" % (self.first_line, open(self.log).read()[-2000:]))
        self.host, self.port = m.group(1), int(m.group(2))
        self.url = "https://%s:%d" % (self.host, self.port)
        self.ca = os.path.join(tls, "ca.crt")
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def _read_line(self, timeout):
        fd = self.p.stdout.fileno()
        buf, deadline = b"", time.time() + timeout
        while b"\n" not in buf and time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                d = os.read(fd, 4096)
                if not d:
                    break
                buf += d
        return buf.split(b"\n")[0].decode() if b"\n" in buf else None

    @property
    def pid(self):
        return self.p.pid

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            os.kill(self.p.pid, sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait()
                return None
        return self.p.returncode

    def req(self, method, path, body=None, token=None, ctype="application/json", accept="application/json",
            headers=None, timeout=20):
        """One request over a fresh TLS connection; returns (status, headers, bytes, json-or-None)."""
        raw = socket.create_connection((self.host, self.port), timeout=timeout)
        s = self.ctx.wrap_socket(raw, server_hostname=self.host)
        try:
            data = b""
            if body is not None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs = {"Host": "%s:%d" % (self.host, self.port), "Accept": accept, "User-Agent": "sim-test/1.0",
                    "Content-Length": str(len(data)), "Connection": "close"}
            if token is not False:
                hdrs["Authorization"] = "Bearer " + (token or self.token)
            if body is not None:
                hdrs["Content-Type"] = ctype
            hdrs.update(headers or {})
            s.sendall(("%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in hdrs.items())
                       + "\r\n").encode() + data)
            f = s.makefile("rb")
            status = int(f.readline().split()[1])
            rh = {}
            while True:
                h = f.readline().decode()
                if h in ("\r\n", ""):
                    break
                k, _, v = h.partition(":")
                rh.setdefault(k.strip().lower(), v.strip())
            if rh.get("transfer-encoding") == "chunked":
                out = b""
                while True:
                    n = int(f.readline().strip(), 16)
                    if n == 0:
                        break
                    out += f.read(n)
                    f.read(2)
            else:
                out = f.read(int(rh.get("content-length", "0")))
            try:
                obj = json.loads(out.decode()) if out else None
            except ValueError:
                obj = None
            return status, rh, out, obj
        finally:
            s.close()

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def ok(self, method, path, body=None, want=(200, 201), **kw):
        st, h, raw, obj = self.req(method, path, body, **kw)
        if st not in want:
            raise Fail("%s %s -> %d %s" % (method, path, st, raw[:400]))
        return obj

    def fault(self, **kw):
        return self.ok("POST", "/sim/fault", kw)

    def state(self):
        return self.ok("GET", "/sim/state")

    def rv(self):
        return int(self.state()["resourceVersion"])

    def watch(self, path, **kw):
        return Watch(self, path, **kw)

    def kubectl(self, *args, timeout=60, check_rc=True):
        cmd = [KUBECTL, "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache] + list(args)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        r.out, r.err = r.stdout.decode(), r.stderr.decode()
        if check_rc and r.returncode != 0:
            raise Fail("kubectl %s: rc=%d\n%s%s" % (" ".join(args), r.returncode, r.out, r.err))
        return r

    def curl(self, *args, token=None):
        cmd = ["curl", "-sS", "--cacert", self.ca]
        if token is not False:
            cmd += ["-H", "Authorization: Bearer %s" % (token or self.token)]
        r = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        return r.stdout.decode(), r.stderr.decode(), r.returncode

    def create_ns(self, name, labels=None):
        return self.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": name, "labels": labels or {}}})

    def create_pod(self, ns, name, labels=None, ip=None, node="node-1", ports=None):
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
               "spec": {"nodeName": node, "containers": [{"name": "c", "image": "img:1",
                                                          "ports": ports or [{"name": "http", "containerPort": 80}]}]}}
        if ip:
            pod["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}
        return self.ok("POST", "/api/v1/namespaces/%s/pods" % ns, pod)

    def create_netpol(self, ns, name, sel=None, spec=None):
        np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": name, "namespace": ns},
              "spec": spec or {"podSelector": {"matchLabels": sel or {}}}}
        return self.ok("POST", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies" % ns, np)

    def logtail(self):
        try:
            return open(self.log).read()[-3000:]
        except OSError:
            return ""


# ---------------------------------------------------------------------------
# Test registry

TESTS = []


def test(name):
    def deco(fn):
        TESTS.append((name, fn))
        return fn
    return deco


MAIN = {}


def main_sim():
    if "sim" not in MAIN:
        MAIN["sim"] = Sim("--bookmark-interval", "1", "--history-size", "100000", name="main")
    return MAIN["sim"]


def types(evs):
    return [(e["type"], e["object"]["metadata"].get("name")) for e in evs]


# --- startup, TLS, auth -----------------------------------------------------

@test("startup: first stdout line is 'listening https://127.0.0.1:PORT'")
def t_first_line():
    s = main_sim()
    check(s.first_line.startswith("listening https://127.0.0.1:"), s.first_line)
    check(s.port > 0)


@test("startup: kubeconfig names cluster/context/user 'sim', embeds the CA and the token")
def t_kubeconfig():
    s = main_sim()
    text = open(s.kubeconfig).read()
    for needle in ("current-context: sim", "server: %s" % s.url, "certificate-authority-data: ",
                   "token: \"%s\"" % s.token, "- name: sim"):
        check(needle in text, "kubeconfig lacks %r" % needle)
    ca = re.search(r"certificate-authority-data: (\S+)", text).group(1)
    eq(base64.b64decode(ca), open(s.ca, "rb").read(), "embedded CA")
    eq(oct(os.stat(s.kubeconfig).st_mode & 0o777), "0o600", "kubeconfig mode")


@test("tls: server certificate verifies for 127.0.0.1 and localhost against ca.crt")
def t_tls_names():
    s = main_sim()
    for name in ("127.0.0.1", "localhost"):
        raw = socket.create_connection((s.host, s.port), timeout=5)
        c = s.ctx.wrap_socket(raw, server_hostname=name)
        c.close()
    out, err, rc = s.curl(s.url.replace("127.0.0.1", "localhost") + "/version",
                          "--resolve", "localhost:%d:127.0.0.1" % s.port)
    eq(rc, 0, "curl rc (%s)" % err)
    check(json.loads(out)["gitVersion"].startswith("v1."), out)


@test("tls: an existing --tls-dir is reused, not regenerated")
def t_tls_reuse():
    main_sim()
    before = open(os.path.join(TLS, "server.crt"), "rb").read()
    s2 = Sim(name="tlsreuse")
    try:
        eq(open(os.path.join(TLS, "server.crt"), "rb").read(), before, "server.crt")
    finally:
        s2.stop()


@test("auth (curl): wrong token, missing token -> 401 Status JSON; admin endpoints too")
def t_auth():
    s = main_sim()
    for tok in ("wrong", False):
        out, err, rc = s.curl("-w", "\n%{http_code}", s.url + "/api/v1/pods", token=tok)
        body, code = out.rsplit("\n", 1)
        eq(code, "401", "http code")
        st = json.loads(body)
        eq((st["kind"], st["status"], st["reason"], st["code"]), ("Status", "Failure", "Unauthorized", 401), "status")
    out, err, rc = s.curl("-w", "\n%{http_code}", s.url + "/sim/state", token="wrong")
    eq(out.rsplit("\n", 1)[1], "401", "admin without the token")
    out, err, rc = s.curl("-w", "\n%{http_code}", "-X", "POST", "-d", '{"compact":true}', s.url + "/sim/fault",
                          token="wrong")
    eq(out.rsplit("\n", 1)[1], "401", "fault without the token")
    out, err, rc = s.curl("-w", "\n%{http_code}", s.url + "/api/v1/pods")
    eq(out.rsplit("\n", 1)[1], "200", "with the token")


# --- discovery ----------------------------------------------------------------

@test("discovery: /version, /api, /api/v1, /apis, /apis/networking.k8s.io[/v1] (legacy)")
def t_discovery():
    s = main_sim()
    v = s.ok("GET", "/version")
    check(v["major"] == "1" and v["gitVersion"].startswith("v1."), v)
    api = s.ok("GET", "/api")
    eq((api["kind"], api["versions"]), ("APIVersions", ["v1"]), "/api")
    v1 = s.ok("GET", "/api/v1")
    eq(v1["kind"], "APIResourceList", "/api/v1 kind")
    names = {r["name"]: r for r in v1["resources"]}
    check({"namespaces", "pods", "pods/status", "namespaces/status"} <= set(names), names.keys())
    eq((names["pods"]["namespaced"], names["pods"]["kind"], names["pods"]["shortNames"]), (True, "Pod", ["po"]), "pods")
    eq(names["namespaces"]["namespaced"], False, "namespaces namespaced")
    check("watch" in names["pods"]["verbs"] and "patch" in names["pods"]["verbs"])
    apis = s.ok("GET", "/apis")
    eq(apis["kind"], "APIGroupList", "/apis kind")
    g = [x for x in apis["groups"] if x["name"] == "networking.k8s.io"][0]
    eq(g["preferredVersion"]["groupVersion"], "networking.k8s.io/v1", "preferred")
    eq(s.ok("GET", "/apis/networking.k8s.io")["kind"], "APIGroup", "group")
    nv = s.ok("GET", "/apis/networking.k8s.io/v1")
    eq(nv["groupVersion"], "networking.k8s.io/v1", "groupVersion")
    r = [x for x in nv["resources"] if x["name"] == "networkpolicies"][0]
    eq((r["kind"], r["shortNames"], r["namespaced"]), ("NetworkPolicy", ["netpol"], True), "netpol")
    st, _, _, obj = s.get("/apis/nope.example.com/v1")
    eq((st, obj["reason"]), (404, "NotFound"), "unknown group")


@test("discovery: aggregated (apidiscovery.k8s.io v2 and v2beta1) on request, legacy otherwise")
def t_aggregated():
    s = main_sim()
    for v in ("v2", "v2beta1"):
        acc = "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList,application/json" % v
        st, h, _, obj = s.get("/apis", accept=acc)
        eq(st, 200, "status")
        eq(h["content-type"], "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList" % v, "content type")
        eq(obj["kind"], "APIGroupDiscoveryList", "kind")
        eq([g["metadata"]["name"] for g in obj["items"]],
           ["apps", "authentication.k8s.io", "authorization.k8s.io", "networking.k8s.io",
            "rbac.authorization.k8s.io", "apiextensions.k8s.io"], "groups, in the real server's order")
        net = [g for g in obj["items"] if g["metadata"]["name"] == "networking.k8s.io"][0]
        res = net["versions"][0]["resources"][0]
        eq((res["resource"], res["scope"], res["responseKind"]["kind"]),
           ("networkpolicies", "Namespaced", "NetworkPolicy"), "netpol entry")
        st, h, _, obj = s.get("/api", accept=acc)
        pods = [r for r in obj["items"][0]["versions"][0]["resources"] if r["resource"] == "pods"][0]
        eq(pods["subresources"][0]["subresource"], "status", "pods/status")
    st, h, _, obj = s.get("/api", accept="application/json")
    eq((h["content-type"], obj["kind"]), ("application/json", "APIVersions"), "legacy fallback")
    st, h, _, obj = s.get("/api/v1/pods", accept="application/vnd.kubernetes.protobuf")
    eq(st, 406, "protobuf only")


@test("discovery: /openapi/v3 index and documents, /openapi/v2 (protobuf and JSON)")
def t_openapi():
    s = main_sim()
    idx = s.ok("GET", "/openapi/v3")
    check({"api/v1", "apis/networking.k8s.io/v1"} <= set(idx["paths"]), idx)
    doc = s.ok("GET", idx["paths"]["api/v1"]["serverRelativeURL"])
    patch = doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    check(any(p["name"] == "fieldValidation" for p in patch["parameters"]))
    eq(patch["x-kubernetes-group-version-kind"]["kind"], "Pod", "gvk")
    st, h, raw, _ = s.get("/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    eq(st, 200, "v2 status")
    check(h["content-type"].endswith("+protobuf") and raw.startswith(b"\x0a\x032.0"), h)
    eq(s.ok("GET", "/openapi/v2")["swagger"], "2.0", "v2 json")


# --- kubectl --------------------------------------------------------------------

@test("kubectl apply -f cluster.yaml -f test-network-policy.yaml: all created")
def t_kubectl_apply():
    s = main_sim()
    r = s.kubectl("apply", "-f", os.path.join(EXAMPLES, "cluster.yaml"),
                  "-f", os.path.join(EXAMPLES, "test-network-policy.yaml"))
    lines = r.out.strip().splitlines()
    eq(len(lines), 10, "lines: " + r.out)
    check(all(l.endswith(" created") for l in lines), r.out)
    check("networkpolicy.networking.k8s.io/test-network-policy created" in lines, r.out)
    check("pod/db created" in lines and "namespace/myproject created" in lines, r.out)


@test("kubectl get pods -A / -o wide: the six pods with server-side columns")
def t_kubectl_get():
    s = main_sim()
    r = s.kubectl("get", "pods", "-A")
    lines = r.out.strip().splitlines()
    check(re.match(r"NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$", lines[0]), lines[0])
    eq(len(lines), 7, "rows: " + r.out)
    check(re.search(r"^default\s+db\s+0/1\s+Running\s+0\s+\d+s$", r.out, re.M), r.out)
    r = s.kubectl("get", "pods", "-A", "-o", "wide")
    check(re.search(r"^default\s+db\s+.*172\.17\.0\.10\s+node-1\s+<none>\s+<none>$", r.out, re.M), r.out)
    r = s.kubectl("get", "netpol", "-A")
    check(re.search(r"^default\s+test-network-policy\s+role=db\s+\d+s$", r.out, re.M), r.out)
    r = s.kubectl("get", "ns", "--show-labels")
    check(re.search(r"^myproject\s+Active\s+\S+\s+kubernetes.io/metadata.name=myproject,project=myproject$",
                    r.out, re.M), r.out)


@test("kubectl get ns,pods,netpol -A -o json: a List of 10 objects")
def t_kubectl_json():
    s = main_sim()
    d = json.loads(s.kubectl("get", "ns,pods,netpol", "-A", "-o", "json").out)
    eq(d["kind"], "List", "kind")
    kinds = sorted(i["kind"] for i in d["items"])
    eq(kinds, ["Namespace"] * 3 + ["NetworkPolicy"] + ["Pod"] * 6, "kinds")
    db = [i for i in d["items"] if i["metadata"]["name"] == "db"][0]
    eq(db["status"]["podIP"], "172.17.0.10", "podIP kept from the manifest")
    eq(db["spec"]["containers"][0]["ports"][0]["protocol"], "TCP", "defaulted protocol")


@test("kubectl label pod ... --overwrite: labeled, visible; same again: not labeled")
def t_kubectl_label():
    s = main_sim()
    r = s.kubectl("label", "pod", "db", "-n", "default", "x=y", "--overwrite")
    eq(r.out.strip(), "pod/db labeled", "output")
    eq(s.kubectl("get", "pod", "db", "-n", "default", "-o", "jsonpath={.metadata.labels.x}").out, "y", "label")
    r = s.kubectl("label", "pod", "db", "-n", "default", "x=y", "--overwrite")
    eq(r.out.strip(), "pod/db not labeled", "second time")
    r = s.kubectl("label", "pod", "db", "-n", "default", "x=z", check_rc=False)
    check(r.returncode != 0 and "already has a value" in r.err, r.err)
    r = s.kubectl("label", "pod", "db", "-n", "default", "x-")
    eq(r.out.strip(), "pod/db unlabeled", "remove")


@test("kubectl apply of the same files again: unchanged, no write requests")
def t_kubectl_reapply():
    s = main_sim()
    seq = s.state()["requests"]
    r = s.kubectl("apply", "-f", os.path.join(EXAMPLES, "cluster.yaml"),
                  "-f", os.path.join(EXAMPLES, "test-network-policy.yaml"))
    lines = r.out.strip().splitlines()
    check(len(lines) == 10 and all(l.endswith(" unchanged") for l in lines), r.out)
    reqs = s.ok("GET", "/sim/requests?since=%d" % seq)["requests"]
    writes = [q for q in reqs if q["method"] not in ("GET",)]
    eq(writes, [], "write requests")


@test("kubectl apply of a modified file: configured (strategic merge patch), generation 2")
def t_kubectl_apply_modified():
    s = main_sim()
    text = open(os.path.join(EXAMPLES, "test-network-policy.yaml")).read()
    text = text.replace("port: 5978", "port: 5979").replace("role: frontend", "role: frontend2")
    path = os.path.join(s.dir, "modified.yaml")
    open(path, "w").write(text)
    seq = s.state()["requests"]
    r = s.kubectl("apply", "-f", path)
    eq(r.out.strip(), "networkpolicy.networking.k8s.io/test-network-policy configured", "output")
    reqs = s.ok("GET", "/sim/requests?since=%d" % seq)["requests"]
    patches = [q for q in reqs if q["method"] == "PATCH"]
    eq(len(patches), 1, "one PATCH")
    eq(patches[0]["contentType"], "application/strategic-merge-patch+json", "patch type")
    np = json.loads(s.kubectl("get", "netpol", "test-network-policy", "-n", "default", "-o", "json").out)
    eq(np["spec"]["egress"][0]["ports"][0]["port"], 5979, "port")
    eq(np["spec"]["ingress"][0]["from"][2]["podSelector"]["matchLabels"]["role"], "frontend2", "selector")
    eq(np["metadata"]["generation"], 2, "generation")
    r = s.kubectl("apply", "-f", path)
    eq(r.out.strip(), "networkpolicy.networking.k8s.io/test-network-policy unchanged", "again")
    r = s.kubectl("diff", "-f", os.path.join(EXAMPLES, "test-network-policy.yaml"), check_rc=False)
    check(r.returncode == 1 and "-    - port: 5979" in r.out and "+    - port: 5978" in r.out, r.out + r.err)
    eq(json.loads(s.kubectl("get", "netpol", "test-network-policy", "-n", "default", "-o", "json").out)
       ["spec"]["egress"][0]["ports"][0]["port"], 5979, "kubectl diff (dryRun=All) changed nothing")


@test("kubectl get netpol -w --output-watch-events: shows ADDED/MODIFIED/DELETED")
def t_kubectl_watch():
    s = main_sim()
    s.create_ns("kw")
    s.create_netpol("kw", "base", {"role": "db"})
    cmd = [KUBECTL, "--kubeconfig", s.kubeconfig, "--cache-dir", s.cache, "get", "netpol", "-n", "kw", "-w",
           "--output-watch-events"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines, buf = [], [b""]
        deadline = time.time() + 20
        fd = p.stdout.fileno()

        def readline():
            while b"\n" not in buf[0] and time.time() < deadline:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    d = os.read(fd, 65536)
                    if not d:
                        break
                    buf[0] += d
            if b"\n" not in buf[0]:
                raise Fail("kubectl -w printed no more lines; so far %s; stderr %s" % (lines, p.stderr.read1(4096) if p.poll() is not None else ""))
            line, buf[0] = buf[0].split(b"\n", 1)
            return line.decode()
        lines.append(readline())  # header
        lines.append(readline())  # ADDED base
        check("base" in lines[-1], lines)
        time.sleep(1.5)
        s.create_netpol("kw", "watched", {"app": "x"})
        s.kubectl("label", "netpol", "watched", "-n", "kw", "w=1")
        s.kubectl("delete", "netpol", "watched", "-n", "kw")
        while len(lines) < 5:
            lines.append(readline())
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    check(re.match(r"EVENT\s+NAME\s+POD-SELECTOR\s+AGE", lines[0]), lines[0])
    evs = [l.split()[:3] for l in lines[1:]]
    eq(evs, [["ADDED", "base", "role=db"], ["ADDED", "watched", "app=x"],
             ["MODIFIED", "watched", "app=x"], ["DELETED", "watched", "app=x"]], "events")


@test("kubectl delete networkpolicy: deleted, then NotFound")
def t_kubectl_delete():
    s = main_sim()
    s.create_netpol("other", "to-delete", {"a": "b"})
    r = s.kubectl("delete", "networkpolicy", "to-delete", "-n", "other")
    eq(r.out.strip(), 'networkpolicy.networking.k8s.io "to-delete" deleted', "output")
    r = s.kubectl("get", "netpol", "to-delete", "-n", "other", check_rc=False)
    check(r.returncode == 1 and 'networkpolicies.networking.k8s.io "to-delete" not found' in r.err, r.err)


@test("kubectl apply --server-side, patch --type=json/merge, patch --subresource=status")
def t_kubectl_misc_patch():
    s = main_sim()
    path = os.path.join(s.dir, "ssa.json")
    json.dump({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": "ssa", "namespace": "default"},
               "spec": {"podSelector": {"matchLabels": {"role": "web"}}, "ingress": [{}]}}, open(path, "w"))
    r = s.kubectl("apply", "--server-side", "-f", path)
    eq(r.out.strip(), "networkpolicy.networking.k8s.io/ssa serverside-applied", "ssa")
    r = s.kubectl("apply", "--server-side", "-f", path)
    eq(r.out.strip(), "networkpolicy.networking.k8s.io/ssa serverside-applied", "ssa again")
    np = s.ok("GET", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/ssa")
    eq([m["manager"] for m in np["metadata"]["managedFields"]], ["kubectl"], "manager")
    eq(np["metadata"]["managedFields"][0]["operation"], "Apply", "operation")
    s.kubectl("patch", "pod", "web", "-n", "other", "--type=json", "-p",
              '[{"op":"add","path":"/metadata/labels/j","value":"k"}]')
    s.kubectl("patch", "pod", "web", "-n", "other", "--type=merge", "-p", '{"metadata":{"labels":{"m":"n"}}}')
    labels = s.ok("GET", "/api/v1/namespaces/other/pods/web")["metadata"]["labels"]
    eq(labels, {"app": "web", "j": "k", "m": "n"}, "labels")
    s.kubectl("patch", "pod", "web", "-n", "other", "--subresource=status", "--type=merge", "-p",
              '{"status":{"podIP":"10.1.0.99","podIPs":[{"ip":"10.1.0.99"}]}}')
    r = s.kubectl("get", "pod", "web", "-n", "other", "-o", "wide")
    check("10.1.0.99" in r.out, r.out)


@test("kubectl create of an existing object: AlreadyExists")
def t_kubectl_create_exists():
    s = main_sim()
    r = s.kubectl("create", "-f", os.path.join(EXAMPLES, "test-network-policy.yaml"), check_rc=False)
    check(r.returncode == 1 and "(AlreadyExists)" in r.err and
          'networkpolicies.networking.k8s.io "test-network-policy" already exists' in r.err, r.err)


@test("kubectl get with --chunk-size, -l, --field-selector (and an unsupported field)")
def t_kubectl_selectors():
    s = main_sim()
    r = s.kubectl("get", "pods", "-A", "--chunk-size=2", "-o", "name")
    eq(len(r.out.split()), 6, "chunked list: " + r.out)
    r = s.kubectl("get", "pods", "-A", "-l", "role in (db,backend)", "-o", "name")
    eq(sorted(r.out.split()), ["pod/backend", "pod/db"], "label selector")
    r = s.kubectl("get", "pods", "-A", "--field-selector", "status.podIP=10.0.0.5", "-o", "name")
    eq(r.out.split(), ["pod/metrics"], "field selector")
    r = s.kubectl("get", "pods", "-A", "--field-selector", "spec.nodeName=node-1,metadata.namespace!=default",
                  "-o", "name")
    eq(sorted(r.out.split()), ["pod/client", "pod/metrics", "pod/web"], "field selectors")
    r = s.kubectl("get", "pods", "-A", "--field-selector", "foo=bar", check_rc=False)
    check(r.returncode == 1 and "field label not supported: foo" in r.err, r.err)


@test("kubectl versions 1.27..1.33 (the dispatcher follows /version): apply, get, label, delete")
def t_kubectl_versions():
    bindir = os.path.dirname(os.path.realpath(KUBECTL))
    versions = sorted((f.split(".", 1)[1] for f in os.listdir(bindir) if re.match(r"^kubectl\.1\.\d+$", f)),
                      key=lambda v: int(v.split(".")[1]))
    if not versions:
        print("    (no versioned kubectl binaries next to %s: only the default one was checked)" % KUBECTL)
        return
    bad = []
    for v in versions:
        s2 = Sim("--server-version", "v%s.0" % v, name="kubectl-" + v)
        try:
            r = s2.kubectl("apply", "-f", os.path.join(EXAMPLES, "cluster.yaml"),
                           "-f", os.path.join(EXAMPLES, "test-network-policy.yaml"), check_rc=False)
            ok = r.returncode == 0 and r.out.count(" created") == 10
            r2 = s2.kubectl("get", "pods", "-A", "-o", "wide", check_rc=False)
            ok = ok and r2.out.count("node-1") == 6
            r3 = s2.kubectl("label", "pod", "db", "x=y", check_rc=False)
            ok = ok and r3.out.strip() == "pod/db labeled"
            r4 = s2.kubectl("delete", "netpol", "test-network-policy", check_rc=False)
            ok = ok and "deleted" in r4.out
            r5 = s2.kubectl("apply", "-f", os.path.join(EXAMPLES, "test-network-policy.yaml"), check_rc=False)
            ok = ok and r5.out.strip().endswith(" created")
            reqs = s2.ok("GET", "/sim/requests")["requests"]
            uas = {q["userAgent"].split(" ")[0] for q in reqs}
            ok = ok and any(u.startswith("kubectl/v%s." % v) for u in uas)
            if not ok:
                bad.append("%s: %s %s %s %s %s %s %s" % (v, r.out, r.err, r2.out, r3.out + r3.err, r4.out, r5.out, uas))
        finally:
            s2.stop()
    check(not bad, "\n".join(bad))
    print("    (kubectl %s)" % ", ".join(versions))


@test("kubectl delete namespace: its pods and policies go too")
def t_kubectl_delete_ns():
    s = main_sim()
    s.create_ns("doomed")
    s.create_pod("doomed", "p1", {"a": "1"}, "10.9.0.1")
    s.create_netpol("doomed", "np1")
    rv = s.rv()
    w = s.watch("/api/v1/pods?watch=1&resourceVersion=%d" % rv)
    w2 = s.watch("/apis/networking.k8s.io/v1/networkpolicies?watch=1&resourceVersion=%d" % rv)
    w3 = s.watch("/api/v1/namespaces?watch=1&resourceVersion=%d" % rv)
    try:
        r = s.kubectl("delete", "namespace", "doomed")
        check('namespace "doomed" deleted' in r.out, r.out)
        eq(types([w.event()]), [("DELETED", "p1")], "pod event")
        eq(types([w2.event()]), [("DELETED", "np1")], "netpol event")
        evs = [w3.event(), w3.event()]
        eq(types(evs), [("MODIFIED", "doomed"), ("DELETED", "doomed")], "namespace events")
        eq(evs[0]["object"]["status"]["phase"], "Terminating", "terminating phase")
        r = s.kubectl("get", "pods", "-n", "doomed")
        check("No resources found" in r.err, r.err)
    finally:
        w.close(); w2.close(); w3.close()


# --- lists and watches (raw HTTPS) ---------------------------------------------

@test("list: PodList shape, items without kind/apiVersion, resourceVersion a string")
def t_list_shape():
    s = main_sim()
    d = s.ok("GET", "/api/v1/namespaces/default/pods")
    eq((d["kind"], d["apiVersion"]), ("PodList", "v1"), "kind")
    check(isinstance(d["metadata"]["resourceVersion"], str) and d["metadata"]["resourceVersion"].isdigit())
    check(d["items"] and all("kind" not in i and "apiVersion" not in i for i in d["items"]), d["items"][:1])
    d = s.ok("GET", "/apis/networking.k8s.io/v1/networkpolicies")
    eq((d["kind"], d["apiVersion"]), ("NetworkPolicyList", "networking.k8s.io/v1"), "netpol list kind")
    d = s.ok("GET", "/api/v1/namespaces/nonexistent/pods")
    eq(d["items"], [], "list in a missing namespace")


@test("resourceVersion: one counter for all kinds, integer strings; uid, creationTimestamp, generation")
def t_rv_counter():
    s = main_sim()
    ns = s.create_ns("rvtest")
    pod = s.create_pod("rvtest", "p", {"a": "b"}, "10.8.0.1")
    np = s.create_netpol("rvtest", "np")
    rvs = [int(o["metadata"]["resourceVersion"]) for o in (ns, pod, np)]
    eq(rvs, [rvs[0], rvs[0] + 1, rvs[0] + 2], "consecutive")
    for o in (ns, pod, np):
        check(re.match(r"^[0-9a-f-]{36}$", o["metadata"]["uid"]), o["metadata"])
        check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", o["metadata"]["creationTimestamp"]), o["metadata"])
    eq(np["metadata"]["generation"], 1, "netpol generation")
    eq(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "rvtest", "namespace name label")
    np2 = s.ok("PATCH", "/apis/networking.k8s.io/v1/namespaces/rvtest/networkpolicies/np",
               {"metadata": {"labels": {"l": "1"}}}, ctype="application/merge-patch+json")
    eq(np2["metadata"]["generation"], 1, "generation after a label change")
    np3 = s.ok("PATCH", "/apis/networking.k8s.io/v1/namespaces/rvtest/networkpolicies/np",
               {"spec": {"podSelector": {"matchLabels": {"x": "y"}}}}, ctype="application/merge-patch+json")
    eq(np3["metadata"]["generation"], 2, "generation after a spec change")
    eq(np3["spec"]["policyTypes"], ["Ingress"], "defaulted policyTypes")


@test("watch from a list's resourceVersion sees exactly the later events, in order")
def t_watch_exact():
    s = main_sim()
    s.create_ns("wx")
    s.create_pod("wx", "before", {"a": "1"})
    lst = s.ok("GET", "/api/v1/namespaces/wx/pods")
    rv = lst["metadata"]["resourceVersion"]
    s.create_pod("wx", "after", {"a": "1"}, "10.7.0.1")
    s.ok("PATCH", "/api/v1/namespaces/wx/pods/after", {"metadata": {"labels": {"b": "2"}}},
         ctype="application/strategic-merge-patch+json")
    s.create_netpol("wx", "not-a-pod")
    s.ok("DELETE", "/api/v1/namespaces/wx/pods/after")
    s.ok("DELETE", "/api/v1/namespaces/wx/pods/before")
    w = s.watch("/api/v1/namespaces/wx/pods?watch=1&resourceVersion=%s&allowWatchBookmarks=true" % rv)
    try:
        evs = w.events_until(lambda e: e["type"] == "BOOKMARK", timeout=5)
    finally:
        w.close()
    eq(types(evs[:-1]), [("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after"), ("DELETED", "before")],
       "events")
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
    check(all(r > int(rv) for r in rvs) and rvs == sorted(rvs), rvs)
    eq(evs[0]["object"]["kind"], "Pod", "events carry kind")
    eq(evs[1]["object"]["metadata"]["labels"], {"a": "1", "b": "2"}, "modified object")


@test("watch without resourceVersion: synthetic ADDED for existing objects, then live events")
def t_watch_initial():
    s = main_sim()
    s.create_ns("wi")
    for n in ("a", "b", "c"):
        s.create_pod("wi", n)
    w = s.watch("/api/v1/namespaces/wi/pods?watch=true")
    try:
        evs = [w.event(), w.event(), w.event()]
        eq(types(evs), [("ADDED", "a"), ("ADDED", "b"), ("ADDED", "c")], "initial")
        s.create_pod("wi", "d")
        eq(types([w.event()]), [("ADDED", "d")], "live")
    finally:
        w.close()


@test("watch: BOOKMARK events every --bookmark-interval, only metadata.resourceVersion; none unless asked")
def t_bookmarks():
    s = main_sim()
    rv = s.rv()
    w = s.watch("/apis/networking.k8s.io/v1/networkpolicies?watch=1&resourceVersion=%d&allowWatchBookmarks=true" % rv)
    w2 = s.watch("/apis/networking.k8s.io/v1/networkpolicies?watch=1&resourceVersion=%d&timeoutSeconds=3" % rv)
    try:
        t0 = time.time()
        e = w.event(timeout=4)
        eq(e["type"], "BOOKMARK", "type")
        check(time.time() - t0 < 3, "bookmark took %.1fs" % (time.time() - t0))
        eq(set(e["object"].keys()), {"kind", "apiVersion", "metadata"}, "bookmark object")
        eq(list(e["object"]["metadata"].keys()), ["resourceVersion"], "bookmark metadata")
        check(int(e["object"]["metadata"]["resourceVersion"]) >= rv)
        e2 = w.event(timeout=4)
        eq(e2["type"], "BOOKMARK", "second bookmark")
        eq(w2.event(timeout=6), None, "no bookmark without allowWatchBookmarks (stream ends at timeoutSeconds)")
    finally:
        w.close(); w2.close()


@test("watch (curl --raw): HTTP/1.1 200, Transfer-Encoding chunked, one JSON event per chunk and line")
def t_chunked():
    s = main_sim()
    rv = s.rv()
    s.create_ns("chunky")
    s.create_pod("chunky", "p1")
    s.create_pod("chunky", "p2")
    out, err, rc = s.curl("--raw", "-N", "-i", s.url + "/api/v1/pods?watch=1&resourceVersion=%d&timeoutSeconds=2" % rv)
    eq(rc, 0, "curl rc " + err)
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    check(head.startswith("HTTP/1.1 200"), head)
    check(re.search(r"^transfer-encoding: chunked$", head, re.I | re.M), head)
    check(re.search(r"^content-type: application/json$", head, re.I | re.M), head)
    raw = out.encode().split(b"\r\n\r\n", 1)[1]
    chunks, pos = [], 0
    while True:
        nl = raw.index(b"\r\n", pos)
        size = int(raw[pos:nl], 16)
        if size == 0:
            break
        data = raw[nl + 2:nl + 2 + size]
        eq(raw[nl + 2 + size:nl + 4 + size], b"\r\n", "chunk trailer")
        chunks.append(data)
        pos = nl + 4 + size
    eq(len(chunks), 2, "two events")
    for c in chunks:
        check(c.endswith(b"\n") and c.count(b"\n") == 1, c[:100])
        e = json.loads(c)
        eq((e["type"], e["object"]["kind"]), ("ADDED", "Pod"), "event")


@test("watch: timeoutSeconds ends the stream with the terminating chunk")
def t_watch_timeout():
    s = main_sim()
    t0 = time.time()
    w = s.watch("/api/v1/namespaces?watch=1&resourceVersion=%d&timeoutSeconds=2" % s.rv())
    try:
        eq(w.event(timeout=6), None, "end")
        check(1.5 < time.time() - t0 < 4.5, "took %.1fs" % (time.time() - t0))
    finally:
        w.close()


@test("watch with labelSelector: leaving the selector is DELETED, entering is ADDED")
def t_watch_selector():
    s = main_sim()
    s.create_ns("wsel")
    s.create_pod("wsel", "p", {"app": "x"})
    rv = s.rv()
    w = s.watch("/api/v1/namespaces/wsel/pods?watch=1&resourceVersion=%d&labelSelector=%s"
                % (rv, urllib.parse.quote("app in (x,y),!gone")))
    try:
        def relabel(labels):
            s.ok("PATCH", "/api/v1/namespaces/wsel/pods/p", {"metadata": {"labels": labels}},
                 ctype="application/merge-patch+json")
        relabel({"app": "y"})
        relabel({"app": "z"})
        relabel({"other": "1"})
        relabel({"app": "x"})
        relabel({"gone": "1"})
        evs = [w.event() for _ in range(3)]
        eq(types(evs), [("MODIFIED", "p"), ("DELETED", "p"), ("ADDED", "p")], "events")
        e = w.event()
        eq((e["type"], e["object"]["metadata"]["labels"].get("gone")), ("DELETED", "1"), "DELETED carries the new object")
    finally:
        w.close()


@test("fieldSelector: spec.nodeName, metadata.name on lists and watches; unsupported field -> 400")
def t_field_selector():
    s = main_sim()
    s.create_ns("fsel")
    s.create_pod("fsel", "n1", node="node-1")
    s.create_pod("fsel", "n2", node="node-2")
    d = s.ok("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-2")
    eq([i["metadata"]["name"] for i in d["items"]], ["n2"], "spec.nodeName")
    d = s.ok("GET", "/api/v1/namespaces/fsel/pods?fieldSelector=metadata.name!%3Dn1")
    eq([i["metadata"]["name"] for i in d["items"]], ["n2"], "metadata.name!=")
    d = s.ok("GET", "/api/v1/namespaces?fieldSelector=metadata.name%3Dfsel")
    eq([i["metadata"]["name"] for i in d["items"]], ["fsel"], "namespaces by name")
    w = s.watch("/api/v1/pods?watch=1&resourceVersion=%d&fieldSelector=spec.nodeName%%3Dnode-2" % s.rv())
    try:
        s.create_pod("fsel", "n3", node="node-1")
        s.create_pod("fsel", "n4", node="node-2")
        eq(types([w.event()]), [("ADDED", "n4")], "watch")
    finally:
        w.close()
    st, _, _, obj = s.get("/api/v1/pods?fieldSelector=spec.bogus%3Dx")
    eq((st, obj["reason"]), (400, "BadRequest"), "unsupported field")
    st, _, _, obj = s.get("/api/v1/pods?labelSelector=" + urllib.parse.quote("a in (b"))
    eq((st, obj["reason"]), (400, "BadRequest"), "bad label selector")


@test("pagination: limit/continue walk a consistent snapshot, remainingItemCount")
def t_pagination():
    s = main_sim()
    s.create_ns("pages")
    for i in range(7):
        s.create_pod("pages", "p%d" % i)
    d = s.ok("GET", "/api/v1/namespaces/pages/pods?limit=3")
    names = [i["metadata"]["name"] for i in d["items"]]
    eq(d["metadata"]["remainingItemCount"], 4, "remaining")
    rv = d["metadata"]["resourceVersion"]
    s.create_pod("pages", "p9-late")
    s.ok("DELETE", "/api/v1/namespaces/pages/pods/p5")
    while d["metadata"].get("continue"):
        d = s.ok("GET", "/api/v1/namespaces/pages/pods?limit=3&continue=" + d["metadata"]["continue"])
        eq(d["metadata"]["resourceVersion"], rv, "pages share the snapshot's resourceVersion")
        names += [i["metadata"]["name"] for i in d["items"]]
    eq(names, ["p%d" % i for i in range(7)], "snapshot")
    d = s.ok("GET", "/api/v1/namespaces/pages/pods?limit=3&labelSelector=missing!%3Dx")
    check("remainingItemCount" not in d["metadata"], "no count with a selector")
    st, _, _, obj = s.get("/api/v1/pods?limit=2&continue=garbage!!")
    eq(st, 400, "bad continue")


@test("list resourceVersion semantics: '' and '0' current, Exact N = state at N, too large -> 504")
def t_list_rv():
    s = main_sim()
    s.create_ns("exact")
    s.create_pod("exact", "a")
    rv = s.rv()
    s.create_pod("exact", "b")
    s.ok("DELETE", "/api/v1/namespaces/exact/pods/a")
    names = lambda d: [i["metadata"]["name"] for i in d["items"]]
    eq(names(s.ok("GET", "/api/v1/namespaces/exact/pods")), ["b"], "unset")
    eq(names(s.ok("GET", "/api/v1/namespaces/exact/pods?resourceVersion=0")), ["b"], "0")
    d = s.ok("GET", "/api/v1/namespaces/exact/pods?resourceVersion=%d&resourceVersionMatch=Exact" % rv)
    eq((names(d), d["metadata"]["resourceVersion"]), (["a"], str(rv)), "Exact")
    d = s.ok("GET", "/api/v1/namespaces/exact/pods?resourceVersion=%d&resourceVersionMatch=NotOlderThan" % rv)
    eq(names(d), ["b"], "NotOlderThan")
    st, _, _, obj = s.get("/api/v1/pods?resourceVersionMatch=Exact")
    eq((st, obj["reason"]), (422, "Invalid"), "match without RV")
    t0 = time.time()
    st, _, _, obj = s.get("/api/v1/pods?resourceVersion=%d" % (s.rv() + 1000))
    eq((st, obj["reason"]), (504, "Timeout"), "too large")
    check(time.time() - t0 >= 2.5, "waited %.1fs" % (time.time() - t0))


@test("watch sendInitialEvents=true: ADDED events then a BOOKMARK marked k8s.io/initial-events-end")
def t_watchlist():
    s = main_sim()
    s.create_ns("wl")
    s.create_pod("wl", "a")
    s.create_pod("wl", "b")
    w = s.watch("/api/v1/namespaces/wl/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                "&allowWatchBookmarks=true")
    try:
        evs = [w.event(), w.event(), w.event()]
        eq(types(evs)[:2], [("ADDED", "a"), ("ADDED", "b")], "initial")
        eq(evs[2]["type"], "BOOKMARK", "bookmark")
        eq(evs[2]["object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"}, "annotation")
    finally:
        w.close()
    st, _, _, obj = s.get("/api/v1/pods?watch=1&sendInitialEvents=true")
    eq((st, obj["reason"]), (422, "Invalid"), "sendInitialEvents without resourceVersionMatch")


@test("watch as Table (what kubectl get -w asks): column definitions only in the first event")
def t_watch_table():
    s = main_sim()
    s.create_ns("wt")
    s.create_pod("wt", "a", ip="10.6.0.1")
    w = s.watch("/api/v1/namespaces/wt/pods?watch=1",
                accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    try:
        e = w.event()
        eq((e["type"], e["object"]["kind"]), ("ADDED", "Table"), "table event")
        check(e["object"]["columnDefinitions"], "first has columns")
        eq(e["object"]["rows"][0]["cells"][0], "a", "name cell")
        eq(e["object"]["rows"][0]["cells"][5], "10.6.0.1", "ip cell")
        eq(e["object"]["rows"][0]["object"]["kind"], "PartialObjectMetadata", "row object")
        s.create_pod("wt", "b")
        e = w.event()
        eq(e["object"]["columnDefinitions"], None, "second has none")
        eq(e["object"]["rows"][0]["cells"][:3], ["b", "0/1", "Pending"], "cells")
    finally:
        w.close()


@test("dozens of concurrent watches (60) all receive the same event")
def t_many_watches():
    s = main_sim()
    s.create_ns("many")
    rv = s.rv()
    ws = []
    try:
        for i in range(60):
            ws.append(s.watch("/api/v1/namespaces/many/pods?watch=1&resourceVersion=%d" % rv))
        eq(sum(1 for w in s.state()["watches"] if w["namespace"] == "many"), 60, "open watches")
        s.create_pod("many", "hello")
        got = [summ(w.event(timeout=10)).split(" ")[:2] for w in ws]
        eq(got, [["ADDED", "many/hello"]] * 60, "all got it")
    finally:
        for w in ws:
            w.close()
    time.sleep(1.5)
    left = [w for w in s.state()["watches"] if w["namespace"] == "many"]
    eq(left, [], "closed watches are noticed and dropped")


# --- single objects ----------------------------------------------------------------

@test("errors: 404 NotFound, 409 AlreadyExists, 409 Conflict on a stale resourceVersion, as Status")
def t_errors():
    s = main_sim()
    s.create_ns("errs")
    st, _, _, obj = s.get("/api/v1/namespaces/errs/pods/nope")
    eq((st, obj["kind"], obj["reason"], obj["message"], obj["details"]),
       (404, "Status", "NotFound", 'pods "nope" not found', {"name": "nope", "kind": "pods"}), "404")
    st, _, _, obj = s.get("/apis/networking.k8s.io/v1/namespaces/errs/networkpolicies/nope")
    eq((obj["message"], obj["details"]["group"]),
       ('networkpolicies.networking.k8s.io "nope" not found', "networking.k8s.io"), "404 netpol")
    pod = s.create_pod("errs", "p")
    st, _, _, obj = s.req("POST", "/api/v1/namespaces/errs/pods", {"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    eq((st, obj["reason"], obj["message"]), (409, "AlreadyExists", 'pods "p" already exists'), "409 exists")
    upd = json.loads(json.dumps(pod))
    upd["metadata"]["labels"] = {"v": "1"}
    new = s.ok("PUT", "/api/v1/namespaces/errs/pods/p", upd)
    check(int(new["metadata"]["resourceVersion"]) > int(pod["metadata"]["resourceVersion"]))
    upd["metadata"]["labels"] = {"v": "2"}
    st, _, _, obj = s.req("PUT", "/api/v1/namespaces/errs/pods/p", upd)
    eq((st, obj["reason"]), (409, "Conflict"), "stale PUT")
    check("the object has been modified" in obj["message"], obj["message"])
    del upd["metadata"]["resourceVersion"]
    eq(s.ok("PUT", "/api/v1/namespaces/errs/pods/p", upd)["metadata"]["labels"], {"v": "2"}, "unconditional PUT")
    st, _, _, obj = s.req("PUT", "/api/v1/namespaces/errs/pods/missing", dict(upd, metadata={"name": "missing"}))
    eq(st, 404, "PUT of a missing object")
    st, _, _, obj = s.req("DELETE", "/api/v1/namespaces/errs/pods/p",
                          {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "wrong"}})
    eq((st, obj["reason"]), (409, "Conflict"), "delete precondition")


@test("validation: name required, bad names, kind mismatch, namespace mismatch, missing namespace")
def t_validation():
    s = main_sim()
    s.create_ns("val")
    st, _, _, obj = s.req("POST", "/api/v1/namespaces/val/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {},
                          "spec": {"containers": [{"name": "c", "image": "i"}]}})
    eq((st, obj["reason"]), (422, "Invalid"), "no name")
    eq(obj["details"]["causes"][0]["field"], "metadata.name", "cause field")
    st, _, _, obj = s.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "Bad_Name"}})
    eq((st, obj["reason"]), (422, "Invalid"), "bad name")
    st, _, _, obj = s.req("POST", "/api/v1/namespaces/val/pods", {"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": "x"}})
    eq(st, 400, "kind mismatch")
    st, _, _, obj = s.req("POST", "/api/v1/namespaces/val/pods", {"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "x", "namespace": "other"},
                          "spec": {"containers": [{"name": "c", "image": "i"}]}})
    eq(st, 400, "namespace mismatch")
    st, _, _, obj = s.req("POST", "/api/v1/namespaces/no-such-ns/pods", {"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    eq((st, obj["message"]), (404, 'namespaces "no-such-ns" not found'), "missing namespace")
    st, _, _, obj = s.req("POST", "/api/v1/namespaces/val/pods", b"{not json")
    eq(st, 400, "bad JSON")
    st, _, _, obj = s.req("POST", "/apis/networking.k8s.io/v1/namespaces/val/networkpolicies?fieldValidation=Strict",
                          {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                           "metadata": {"name": "x"}, "spec": {"podSelector": {}, "ingress": [{"form": []}]}})
    eq((st, obj["message"]), (400, 'strict decoding error: unknown field "spec.ingress[0].form"'), "strict")
    gen = s.ok("POST", "/api/v1/namespaces/val/pods", {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"generateName": "gen-"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    check(re.match(r"^gen-[a-z0-9]{5}$", gen["metadata"]["name"]), gen["metadata"]["name"])


@test("pods: status accepted on create; main-resource updates keep it; /status PUT and PATCH change it")
def t_pod_status():
    s = main_sim()
    s.create_ns("st")
    p = s.create_pod("st", "p", ip="10.5.0.1")
    eq((p["status"]["podIP"], p["status"]["phase"]), ("10.5.0.1", "Running"), "created status")
    p["status"]["podIP"] = "10.5.0.2"
    p["metadata"]["labels"] = {"changed": "yes"}
    p2 = s.ok("PUT", "/api/v1/namespaces/st/pods/p", p)
    eq((p2["status"]["podIP"], p2["metadata"]["labels"]), ("10.5.0.1", {"changed": "yes"}), "main PUT")
    p2["status"]["podIP"] = "10.5.0.3"
    p2["status"]["podIPs"] = [{"ip": "10.5.0.3"}]
    p3 = s.ok("PUT", "/api/v1/namespaces/st/pods/p/status", p2)
    eq(p3["status"]["podIP"], "10.5.0.3", "status PUT")
    p4 = s.ok("PATCH", "/api/v1/namespaces/st/pods/p/status",
              {"status": {"podIP": "10.5.0.4", "podIPs": [{"ip": "10.5.0.4"}]}}, ctype="application/merge-patch+json")
    eq(p4["status"]["podIPs"], [{"ip": "10.5.0.4"}], "status PATCH")
    eq(s.ok("GET", "/api/v1/namespaces/st/pods/p/status")["status"]["podIP"], "10.5.0.4", "GET status")


@test("patches: strategic merge (containers by name, $patch delete), JSON merge, JSON patch (+test failure)")
def t_patches():
    s = main_sim()
    s.create_ns("pt")
    s.ok("POST", "/api/v1/namespaces/pt/pods", {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
         "spec": {"containers": [{"name": "one", "image": "i:1"}, {"name": "two", "image": "i:2"}]}})
    o = s.ok("PATCH", "/api/v1/namespaces/pt/pods/p",
             {"metadata": {"labels": {"a": None, "c": "3"}},
              "spec": {"containers": [{"name": "two", "image": "i:22"}, {"name": "three", "image": "i:3"}]}},
             ctype="application/strategic-merge-patch+json")
    eq(o["metadata"]["labels"], {"b": "2", "c": "3"}, "labels")
    eq([(c["name"], c["image"]) for c in o["spec"]["containers"]],
       [("one", "i:1"), ("two", "i:22"), ("three", "i:3")], "containers merged by name")
    o = s.ok("PATCH", "/api/v1/namespaces/pt/pods/p",
             {"spec": {"containers": [{"name": "one", "$patch": "delete"}],
                       "$setElementOrder/containers": [{"name": "three"}, {"name": "two"}]}},
             ctype="application/strategic-merge-patch+json")
    eq([c["name"] for c in o["spec"]["containers"]], ["three", "two"], "$patch delete and $setElementOrder")
    o = s.ok("PATCH", "/api/v1/namespaces/pt/pods/p", {"spec": {"containers": [{"name": "solo", "image": "s"}]}},
             ctype="application/merge-patch+json")
    eq([c["name"] for c in o["spec"]["containers"]], ["solo"], "merge patch replaces lists")
    o = s.ok("PATCH", "/api/v1/namespaces/pt/pods/p",
             [{"op": "test", "path": "/metadata/labels/b", "value": "2"},
              {"op": "replace", "path": "/metadata/labels/b", "value": "20"},
              {"op": "add", "path": "/metadata/labels/d~1e", "value": "4"},
              {"op": "remove", "path": "/metadata/labels/c"}], ctype="application/json-patch+json")
    eq(o["metadata"]["labels"], {"b": "20", "d/e": "4"}, "json patch")
    st, _, _, obj = s.req("PATCH", "/api/v1/namespaces/pt/pods/p", [{"op": "test", "path": "/metadata/labels/b",
                          "value": "nope"}], ctype="application/json-patch+json")
    eq(st, 422, "failed test op")
    st, _, _, obj = s.req("PATCH", "/api/v1/namespaces/pt/pods/p", {"a": 1}, ctype="application/json")
    eq((st, obj["reason"]), (415, "UnsupportedMediaType"), "bad patch type")
    st, _, _, obj = s.req("PATCH", "/api/v1/namespaces/pt/pods/nope", {}, ctype="application/merge-patch+json")
    eq(st, 404, "patch of a missing object")


@test("updates: a no-op PUT keeps the resourceVersion and sends no event; dryRun=All persists nothing")
def t_noop():
    s = main_sim()
    s.create_ns("noop")
    p = s.create_pod("noop", "p")
    rv = s.rv()
    same = s.ok("PUT", "/api/v1/namespaces/noop/pods/p", p)
    eq(same["metadata"]["resourceVersion"], p["metadata"]["resourceVersion"], "rv after no-op")
    eq(s.rv(), rv, "global rv")
    d = s.ok("POST", "/api/v1/namespaces/noop/pods?dryRun=All", {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "dry"}, "spec": {"containers": [{"name": "c", "image": "i"}]}})
    eq(d["metadata"]["name"], "dry", "dry-run answer")
    st, _, _, _ = s.get("/api/v1/namespaces/noop/pods/dry")
    eq(st, 404, "dry-run object not stored")
    s.ok("DELETE", "/api/v1/namespaces/noop/pods/p?dryRun=All")
    eq(s.get("/api/v1/namespaces/noop/pods/p")[0], 200, "dry-run delete kept it")
    eq(s.rv(), rv, "global rv after dry runs")


@test("namespaces: kubernetes.io/metadata.name enforced; deletecollection by label")
def t_namespace_label():
    s = main_sim()
    ns = s.create_ns("labelled", {"team": "a"})
    ns["metadata"]["labels"] = {"kubernetes.io/metadata.name": "wrong"}
    ns2 = s.ok("PUT", "/api/v1/namespaces/labelled", ns)
    eq(ns2["metadata"]["labels"], {"kubernetes.io/metadata.name": "labelled"}, "label")
    for i in range(3):
        s.create_pod("labelled", "p%d" % i, {"del": "yes" if i < 2 else "no"})
    d = s.ok("DELETE", "/api/v1/namespaces/labelled/pods?labelSelector=del%3Dyes")
    eq(sorted(i["metadata"]["name"] for i in d["items"]), ["p0", "p1"], "deleted")
    eq([i["metadata"]["name"] for i in s.ok("GET", "/api/v1/namespaces/labelled/pods")["items"]], ["p2"], "left")


# --- faults ----------------------------------------------------------------------------

@test("fault gone: the next watch with a resourceVersion gets 200 + ERROR 410 Expired, then watches work")
def t_fault_gone():
    s = main_sim()
    rv = s.rv()
    s.fault(gone=True)
    w = s.watch("/api/v1/pods?watch=1&resourceVersion=%d" % rv)
    try:
        eq(w.status, 200, "http status")
        e = w.event()
        eq(e["type"], "ERROR", "type")
        eq((e["object"]["kind"], e["object"]["code"], e["object"]["reason"]), ("Status", 410, "Expired"), "status")
        check("too old resource version" in e["object"]["message"], e)
        eq(w.event(), None, "stream ends")
    finally:
        w.close()
    w = s.watch("/api/v1/pods?watch=1&resourceVersion=%d&allowWatchBookmarks=true" % rv)
    try:
        eq(w.event(timeout=4)["type"], "BOOKMARK", "next watch is normal")
    finally:
        w.close()
    s.fault(gone_http=1)
    st, _, _, obj = s.get("/api/v1/pods?watch=1&resourceVersion=%d" % rv)
    eq((st, obj["reason"]), (410, "Expired"), "gone_http: HTTP 410")


@test("fault compact: old resourceVersions get 410 (watch ERROR event, Exact list, continue); current works")
def t_fault_compact():
    s = main_sim()
    s.create_ns("compact")
    old = s.rv()
    s.create_pod("compact", "a")
    s.create_pod("compact", "b")
    page = s.ok("GET", "/api/v1/namespaces/compact/pods?limit=1")
    s.create_ns("compact-later")
    r = s.fault(compact=True)
    eq(r["compactedResourceVersion"], str(s.rv()), "compacted to now")
    w = s.watch("/api/v1/namespaces/compact/pods?watch=1&resourceVersion=%d" % old)
    try:
        e = w.event()
        eq((e["type"], e["object"]["code"]), ("ERROR", 410), "watch from old rv")
    finally:
        w.close()
    st, _, _, obj = s.get("/api/v1/pods?resourceVersion=%d&resourceVersionMatch=Exact" % old)
    eq((st, obj["reason"]), (410, "Expired"), "exact list")
    st, _, _, obj = s.get("/api/v1/namespaces/compact/pods?limit=1&continue=" + page["metadata"]["continue"])
    eq((st, obj["reason"]), (410, "Expired"), "continue")
    check(obj["metadata"].get("continue"), "inconsistent continue token offered")
    d = s.ok("GET", "/api/v1/namespaces/compact/pods?limit=1&continue=" + obj["metadata"]["continue"])
    eq([i["metadata"]["name"] for i in d["items"]], ["b"], "inconsistent continue works")
    w = s.watch("/api/v1/namespaces/compact/pods?watch=1&resourceVersion=%d" % s.rv())
    try:
        s.create_pod("compact", "c")
        eq(types([w.event()]), [("ADDED", "c")], "watch from the current rv")
    finally:
        w.close()


@test("fault status5xx: the next N requests get 500 (or code 503/504), then normal")
def t_fault_5xx():
    s = main_sim()
    s.fault(status5xx=2)
    r1, r2, r3 = (s.get("/api/v1/namespaces") for _ in range(3))
    eq((r1[0], r1[3]["reason"], r2[0], r3[0]), (500, "InternalError", 500, 200), "codes")
    s.fault(status5xx=1, code=503, retry_after=2)
    st, h, _, obj = s.get("/api/v1/pods")
    eq((st, obj["reason"], h.get("retry-after")), (503, "ServiceUnavailable", "2"), "503")
    s.fault(retry_after=None)
    s.fault(status429=1)
    st, h, _, obj = s.get("/api/v1/pods")
    eq((st, obj["reason"], h.get("retry-after")), (429, "TooManyRequests", "1"), "429")
    eq(s.get("/api/v1/pods")[0], 200, "normal again")
    out, err, rc = s.curl("-o", "/dev/null", "-w", "%{http_code}", s.url + "/api/v1/pods")
    eq(out, "200", "curl")


@test("fault slow_ms: responses are delayed until reset")
def t_fault_slow():
    s = main_sim()
    s.fault(slow_ms=400)
    try:
        t0 = time.time()
        s.get("/api/v1/namespaces")
        check(time.time() - t0 >= 0.4, "took %.2fs" % (time.time() - t0))
    finally:
        s.fault(slow_ms=0)
    t0 = time.time()
    s.get("/api/v1/namespaces")
    check(time.time() - t0 < 0.4, "still slow")


@test("fault garbage: open watch streams receive a chunk that is not JSON")
def t_fault_garbage():
    s = main_sim()
    w = s.watch("/api/v1/pods?watch=1&resourceVersion=%d" % s.rv())
    try:
        time.sleep(0.3)
        s.fault(garbage=True)
        c = w.chunk()
        try:
            json.loads(c)
            raise Fail("chunk was valid JSON: %r" % c)
        except ValueError:
            pass
    finally:
        w.close()


@test("fault cut_watches: open watches end (terminating chunk); 'reset' drops the connection")
def t_fault_cut():
    s = main_sim()
    ws = [s.watch("/api/v1/pods?watch=1&resourceVersion=%d" % s.rv()) for _ in range(3)]
    try:
        time.sleep(0.3)
        t0 = time.time()
        s.fault(cut_watches=True)
        for w in ws:
            eq(w.event(timeout=5), None, "clean end")
        check(time.time() - t0 < 3, "slow cut")
    finally:
        for w in ws:
            w.close()
    w = s.watch("/api/v1/pods?watch=1&resourceVersion=%d" % s.rv())
    try:
        time.sleep(0.3)
        s.fault(cut_watches="reset")
        try:
            w.chunk(timeout=5)
            raise Fail("stream ended cleanly")
        except (EOFError, ConnectionError, ssl.SSLError, OSError):
            pass
    finally:
        w.close()


@test("GET /sim/state: resourceVersion, object counts, open watches; bad fault name -> 400")
def t_sim_state():
    s = main_sim()
    w = s.watch("/api/v1/namespaces/default/pods?watch=1&resourceVersion=%d&labelSelector=a%%3Db" % s.rv())
    try:
        time.sleep(0.3)
        st = s.state()
        check(int(st["resourceVersion"]) > 0 and st["objects"]["pods"] > 0, st)
        mine = [x for x in st["watches"] if x["labelSelector"] == "a=b"]
        eq((len(mine), mine[0]["resource"], mine[0]["namespace"]), (1, "pods", "default"), "watch listed")
    finally:
        w.close()
    st, _, _, obj = s.req("POST", "/sim/fault", {"explode": True})
    eq(st, 400, "unknown fault")
    r = s.kubectl("get", "--raw", "/sim/state")
    check(json.loads(r.out)["resourceVersion"], r.out)


@test("gzip: responses of 128 KiB and more are compressed when the client accepts gzip")
def t_gzip():
    s = main_sim()
    s.create_ns("big")
    items = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p%04d" % i, "namespace": "big",
              "labels": {"app": "a%d" % (i % 10), "filler": "x" * 60}},
              "spec": {"containers": [{"name": "c", "image": "img:1"}]}} for i in range(400)]
    eq(s.ok("POST", "/sim/load", {"apiVersion": "v1", "kind": "List", "items": items})["loaded"], 400, "loaded")
    st, h, raw, _ = s.get("/api/v1/namespaces/big/pods", headers={"Accept-Encoding": "gzip"})
    eq(h.get("content-encoding"), "gzip", "big list compressed")
    import gzip
    eq(len(json.loads(gzip.decompress(raw))["items"]), 400, "items")
    st, h, raw, obj = s.get("/api/v1/namespaces/big/pods")
    check("content-encoding" not in h and len(obj["items"]) == 400, "plain without Accept-Encoding")
    st, h, raw, obj = s.get("/api/v1/namespaces/big/pods?limit=5", headers={"Accept-Encoding": "gzip"})
    check("content-encoding" not in h, "small response not compressed")
    out, err, rc = s.curl("--compressed", s.url + "/api/v1/namespaces/big/pods")
    eq(len(json.loads(out)["items"]), 400, "curl --compressed")


@test("--no-aggregated-discovery: kubectl falls back to legacy discovery and still works (also apply -k deploy/kubernetes)")
def t_legacy_only():
    s2 = Sim("--no-aggregated-discovery", "--kubeconfig-ca", "path", name="legacy")
    try:
        check("certificate-authority: \"%s\"" % s2.ca in open(s2.kubeconfig).read(), "CA path in kubeconfig")
        st, h, _, obj = s2.get("/apis", accept="application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
        eq((h["content-type"], obj["kind"]), ("application/json", "APIGroupList"), "legacy answer")
        r = s2.kubectl("apply", "-f", os.path.join(EXAMPLES, "cluster.yaml"), "-f", os.path.join(EXAMPLES, "test-network-policy.yaml"))
        eq(r.out.count(" created"), 10, r.out)
        r = s2.kubectl("get", "netpol", "-A", "-o", "name")
        eq(r.out.split(), ["networkpolicy.networking.k8s.io/test-network-policy"], "get")
        r = s2.kubectl("apply", "-k", os.path.join(EXAMPLES, "..", "kubernetes"))
        eq(r.out.count(" created"), 6, r.out)
        paths = {q["path"].split("?")[0] for q in s2.ok("GET", "/sim/requests")["requests"]}
        check({"/api/v1", "/apis/networking.k8s.io/v1", "/apis/apps/v1", "/apis/rbac.authorization.k8s.io/v1"}
              <= paths, "group versions fetched: %s" % sorted(paths))
    finally:
        eq(s2.stop(), 0, "exit status")


@test("--pod-deletion-delay: a scheduled pod is Terminating (MODIFIED) before it is DELETED")
def t_pod_deletion_delay():
    s2 = Sim("--pod-deletion-delay", "1", name="graceful")
    try:
        s2.create_ns("g")
        s2.create_pod("g", "sched", node="node-1")
        s2.ok("POST", "/api/v1/namespaces/g/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unsched"},
              "spec": {"containers": [{"name": "c", "image": "i"}]}})
        w = s2.watch("/api/v1/namespaces/g/pods?watch=1&resourceVersion=%d" % s2.rv())
        try:
            d = s2.ok("DELETE", "/api/v1/namespaces/g/pods/sched")
            check(d["metadata"].get("deletionTimestamp"), "answer carries deletionTimestamp")
            e = w.event()
            eq((e["type"], e["object"]["metadata"]["deletionGracePeriodSeconds"]), ("MODIFIED", 30), "first")
            r = s2.kubectl("get", "pod", "sched", "-n", "g")
            check("Terminating" in r.out, r.out)
            e = w.event(timeout=5)
            eq(types([e]), [("DELETED", "sched")], "then")
            s2.ok("DELETE", "/api/v1/namespaces/g/pods/unsched")
            eq(types([w.event()]), [("DELETED", "unsched")], "unscheduled pods go at once")
        finally:
            w.close()
    finally:
        s2.stop()


# --- lifecycle ----------------------------------------------------------------------------

@test("--load: a JSON v1 List is served from the start")
def t_load():
    lst = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "loaded"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lp", "namespace": "loaded", "labels": {"a": "b"}},
         "spec": {"containers": [{"name": "c", "image": "i"}]},
         "status": {"phase": "Running", "podIP": "10.4.0.1"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "lnp", "namespace": "loaded"}, "spec": {"podSelector": {}}}]}
    path = os.path.join(TMP, "load.json")
    json.dump(lst, open(path, "w"))
    s2 = Sim("--load", path, name="load")
    try:
        r = s2.kubectl("get", "pods,netpol", "-n", "loaded", "-o", "name")
        eq(sorted(r.out.split()), ["networkpolicy.networking.k8s.io/lnp", "pod/lp"], "loaded")
        p = s2.ok("GET", "/api/v1/namespaces/loaded/pods/lp")
        eq(p["status"]["podIPs"], [{"ip": "10.4.0.1"}], "podIPs filled from podIP")
    finally:
        eq(s2.stop(), 0, "exit status")


# --- deploy/kubernetes, service-account tokens, RBAC -------------------------

DEPLOY = os.path.normpath(os.path.join(HERE, "..", "..", "deploy", "kubernetes"))
SA_USER = "system:serviceaccount:ovs-netpol:ovs-netpol"


def rbac_sim():
    """A simulator with deploy/kubernetes applied (kept apart from the main
    one, whose object counts other tests check)."""
    if "rbac" not in MAIN:
        s = MAIN["rbac"] = Sim("--namespace-deletion-delay", "1", name="rbac")
        s.kubectl("apply", "-k", DEPLOY)
        s.kubectl("apply", "-f", os.path.join(EXAMPLES, "cluster.yaml"))
    return MAIN["rbac"]


def sa_token(s, ns="ovs-netpol", name="ovs-netpol", *extra):
    return s.kubectl("create", "token", name, "-n", ns, *extra).out.strip()


def auth_counts(s, user=SA_USER):
    return s.ok("GET", "/sim/auth")["users"].get(user, {"allowed": 0, "forbidden": 0, "unauthorized": 0})


@test("deploy/kubernetes: kubectl apply -k creates its six objects, again leaves them unchanged, get -k lists them")
def t_apply_k():
    s = Sim("--namespace-deletion-delay", "1", name="applyk")
    try:
        r = s.kubectl("apply", "-k", DEPLOY)
        eq(r.out.strip().splitlines(), [
            "namespace/ovs-netpol created", "serviceaccount/ovs-netpol created",
            "clusterrole.rbac.authorization.k8s.io/ovs-netpol created",
            "clusterrolebinding.rbac.authorization.k8s.io/ovs-netpol created",
            "configmap/ovs-netpol created", "daemonset.apps/ovs-netpol created"], "apply -k")
        r = s.kubectl("apply", "-k", DEPLOY)
        check(all(l.endswith(" unchanged") for l in r.out.strip().splitlines()), r.out)
        r = s.kubectl("get", "-k", DEPLOY)
        check(re.search(r"^daemonset.apps/ovs-netpol\s+0\s+0\s+0\s+0\s+0\s+<none>\s+\d+s$", r.out, re.M), r.out)
        check(re.search(r"^clusterrolebinding.rbac.authorization.k8s.io/ovs-netpol\s+ClusterRole/ovs-netpol\s+\d+s$",
                        r.out, re.M), r.out)
        check(re.search(r"^configmap/ovs-netpol\s+2\s+\d+s$", r.out, re.M), r.out)
        ds = json.loads(s.kubectl("get", "ds", "-n", "ovs-netpol", "ovs-netpol", "-o", "json").out)
        eq(ds["spec"]["updateStrategy"], {"type": "RollingUpdate",
                                          "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}, "update strategy")
        eq(ds["metadata"]["generation"], 1, "generation")
        tsp = ds["spec"]["template"]["spec"]
        eq((tsp["serviceAccountName"], tsp["hostNetwork"], tsp["priorityClassName"], tsp["tolerations"]),
           ("ovs-netpol", True, "system-node-critical", [{"operator": "Exists"}]), "pod template")
        c = tsp["containers"][0]
        eq(c["securityContext"]["capabilities"], {"drop": ["ALL"]}, "capabilities")
        eq((c["livenessProbe"]["httpGet"]["path"], c["readinessProbe"]["httpGet"]["path"]),
           ("/healthz", "/readyz"), "probes")
        # a change to the template: strategic merge patch, generation 2
        s.kubectl("-n", "ovs-netpol", "set", "env", "ds/ovs-netpol", "-c", "ovs-netpold", "X=1")
        ds = json.loads(s.kubectl("get", "ds", "-n", "ovs-netpol", "ovs-netpol", "-o", "json").out)
        eq(ds["metadata"]["generation"], 2, "generation after a template change")
        eq([e["name"] for e in ds["spec"]["template"]["spec"]["containers"][0]["env"]], ["NODE_NAME", "X"], "env")
    finally:
        s.stop()


@test("deploy/kubernetes: kubectl delete -k deletes every object (namespace contents go after --namespace-deletion-delay)")
def t_delete_k():
    s = Sim("--namespace-deletion-delay", "1", name="deletek")
    try:
        s.kubectl("apply", "-k", DEPLOY)
        r = s.kubectl("delete", "-k", DEPLOY)
        eq(len(r.out.strip().splitlines()), 6, "deleted: " + r.out)
        check(all(l.endswith(" deleted") for l in r.out.strip().splitlines()), r.out)
        deadline = time.time() + 10
        while time.time() < deadline:
            counts = s.state()["objects"]
            if not any(counts[k] for k in ("namespaces", "serviceaccounts", "configmaps", "daemonsets",
                                           "clusterroles", "clusterrolebindings")):
                break
            time.sleep(0.2)
        eq({k: v for k, v in s.state()["objects"].items() if v}, {}, "objects left")
    finally:
        s.stop()


@test("rbac: the DaemonSet's token lists and watches what its ClusterRole grants; 403 with the real message otherwise")
def t_rbac_sa_token():
    s = rbac_sim()
    tok = sa_token(s)
    check(re.match(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$", tok), tok)
    before = auth_counts(s)
    for path in ("/api/v1/pods", "/api/v1/namespaces", "/apis/networking.k8s.io/v1/networkpolicies",
                 "/api/v1/namespaces/default/pods/db", "/api", "/apis", "/api/v1", "/version", "/openapi/v3"):
        st, _, raw, _ = s.get(path, token=tok)
        eq(st, 200, "GET %s: %s" % (path, raw[:200]))
    w = s.watch("/api/v1/pods?watch=1", token=tok)
    try:
        eq(w.status, 200, "watch status")
        check(w.event()["type"] == "ADDED")
    finally:
        w.close()
    cases = [
        ("GET", "/api/v1/secrets", None,
         'secrets is forbidden: User "%s" cannot list resource "secrets" in API group "" at the cluster scope' % SA_USER,
         {"kind": "secrets"}),
        ("GET", "/api/v1/namespaces/default/secrets/x", None,
         'secrets "x" is forbidden: User "%s" cannot get resource "secrets" in API group "" in the namespace "default"' % SA_USER,
         {"name": "x", "kind": "secrets"}),
        ("POST", "/api/v1/namespaces/default/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                                     "spec": {"containers": [{"name": "c", "image": "i:1"}]}},
         'pods is forbidden: User "%s" cannot create resource "pods" in API group "" in the namespace "default"' % SA_USER,
         {"kind": "pods"}),
        ("DELETE", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies", None,
         'networkpolicies.networking.k8s.io is forbidden: User "%s" cannot deletecollection resource "networkpolicies" '
         'in API group "networking.k8s.io" in the namespace "default"' % SA_USER,
         {"group": "networking.k8s.io", "kind": "networkpolicies"}),
        ("PATCH", "/api/v1/namespaces/default/pods/db/status", {},
         'pods "db" is forbidden: User "%s" cannot patch resource "pods/status" in API group "" in the namespace "default"' % SA_USER,
         {"name": "db", "kind": "pods"}),
        ("GET", "/sim/state", None, 'forbidden: User "%s" cannot get path "/sim/state"' % SA_USER, {}),
    ]
    for method, path, body, msg, details in cases:
        st, _, raw, obj = s.req(method, path, body, token=tok, ctype="application/merge-patch+json" if method == "PATCH" else "application/json")
        eq(st, 403, "%s %s" % (method, path))
        eq((obj["kind"], obj["status"], obj["reason"], obj["code"], obj["message"], obj["details"]),
           ("Status", "Failure", "Forbidden", 403, msg, details), "%s %s" % (method, path))
    after = auth_counts(s)
    eq(after["forbidden"] - before["forbidden"], len(cases), "403s counted")
    eq(after["unauthorized"], 0, "401s")
    check(after["allowed"] - before["allowed"] >= 10, after)
    r = s.kubectl("--token", tok, "get", "secrets", "-A", check_rc=False)
    check(r.returncode != 0 and 'cannot list resource "secrets"' in r.err, r.err)
    denied = [(q["user"], q["code"]) for q in s.ok("GET", "/sim/requests")["requests"]
              if q["path"] == "/api/v1/secrets"]
    eq(denied[-1], (SA_USER, 403), "/sim/requests: user and code of the denied list")


def event_doc(ns, np_name, uid, reason="InvalidPolicy", name=None, count=1):
    """A v1 Event as ovs-netpold writes it (src/events.c)."""
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name or "%s.%x" % (np_name, time.time_ns()), "namespace": ns},
            "involvedObject": {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1", "namespace": ns,
                               "name": np_name, "uid": uid, "resourceVersion": "1"},
            "reason": reason, "message": "spec.ingress[0]: bad", "type": "Warning",
            "source": {"component": "ovs-netpold", "host": "node-1"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z", "count": count,
            "reportingComponent": "ovs-netpold", "reportingInstance": "node-1"}


@test("events: v1 Event create, merge-patch of count, get, list by involvedObject; kubectl get events shows it")
def t_events():
    s = main_sim()
    s.create_ns("evns")
    np = s.create_netpol("evns", "bad")
    uid = np["metadata"]["uid"]
    ev = s.ok("POST", "/api/v1/namespaces/evns/events", event_doc("evns", "bad", uid), want=(201,))
    name = ev["metadata"]["name"]
    eq((ev["kind"], ev["count"], ev["involvedObject"]["uid"]), ("Event", 1, uid), "created")
    # the recorder's correlation: count and lastTimestamp by merge patch
    ev2 = s.ok("PATCH", "/api/v1/namespaces/evns/events/" + name,
               {"count": 2, "lastTimestamp": "2026-01-01T00:05:00Z"}, ctype="application/merge-patch+json")
    eq((ev2["count"], ev2["lastTimestamp"], ev2["firstTimestamp"]),
       (2, "2026-01-01T00:05:00Z", "2026-01-01T00:00:00Z"), "patched")
    check(int(ev2["metadata"]["resourceVersion"]) > int(ev["metadata"]["resourceVersion"]), "rv moved")
    eq(s.ok("GET", "/api/v1/namespaces/evns/events/" + name)["count"], 2, "get")
    # what kubectl describe asks for an object's events
    sel = "involvedObject.name=bad,involvedObject.namespace=evns,involvedObject.kind=NetworkPolicy,involvedObject.uid=" + uid
    lst = s.ok("GET", "/api/v1/namespaces/evns/events?fieldSelector=" + urllib.parse.quote(sel))
    eq([i["metadata"]["name"] for i in lst["items"]], [name], "field selector")
    lst = s.ok("GET", "/api/v1/namespaces/evns/events?fieldSelector=reason%3DTooManyFlows")
    eq(lst["items"], [], "field selector on reason")
    eq([i["metadata"]["name"] for i in s.ok("GET", "/api/v1/events")["items"] if i["metadata"]["namespace"] == "evns"],
       [name], "cluster-wide list")
    # validation: the involved object's namespace is the event's
    bad = event_doc("evns", "bad", uid)
    bad["involvedObject"]["namespace"] = "other"
    st, _, raw, obj = s.req("POST", "/api/v1/namespaces/evns/events", bad)
    eq(st, 422, "mismatched namespace: %s" % raw[:200])
    check("does not match event.namespace" in obj["message"], obj["message"])
    r = s.kubectl("get", "events", "-n", "evns")
    check(re.search(r"^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$", r.out, re.M), r.out)
    check(re.search(r"^\S+\s+Warning\s+InvalidPolicy\s+networkpolicy/bad\s+spec.ingress\[0\]: bad$", r.out, re.M), r.out)
    r = s.kubectl("get", "ev", "-n", "evns", "-o", "wide")
    check(re.search(r"ovs-netpold, node-1\s+spec.ingress\[0\]: bad\s+\S+\s+2\s+" + re.escape(name), r.out), r.out)
    r = s.kubectl("get", "events", "-n", "evns", "--field-selector", "involvedObject.name=bad", "-o", "name")
    eq(r.out.strip(), "event/" + name, "kubectl --field-selector")


@test("rbac: the DaemonSet's token may create and patch events (its only writes), not read or delete them")
def t_rbac_events():
    s = rbac_sim()
    tok = sa_token(s)
    ev = s.ok("POST", "/api/v1/namespaces/default/events", event_doc("default", "x", "u-1"), token=tok,
              want=(201,))
    name = ev["metadata"]["name"]
    s.ok("PATCH", "/api/v1/namespaces/default/events/" + name, {"count": 2}, token=tok,
         ctype="application/merge-patch+json")
    for method, path, verb in (("GET", "/api/v1/namespaces/default/events/" + name, "get"),
                               ("GET", "/api/v1/namespaces/default/events", "list"),
                               ("DELETE", "/api/v1/namespaces/default/events/" + name, "delete"),
                               ("PUT", "/api/v1/namespaces/default/events/" + name, "update")):
        st, _, raw, obj = s.req(method, path, ev if method == "PUT" else None, token=tok)
        eq(st, 403, "%s %s: %s" % (method, path, raw[:200]))
        check('cannot %s resource "events"' % verb in obj["message"], obj["message"])
    eq(s.ok("GET", "/api/v1/namespaces/default/events/" + name)["count"], 2, "the patch took")


@test("rbac: a removed binding denies the next request; an edited role too; restoring them allows again")
def t_rbac_changes():
    s = rbac_sim()
    tok = sa_token(s)
    eq(s.get("/api/v1/pods", token=tok)[0], 200, "before")
    s.kubectl("delete", "clusterrolebinding", "ovs-netpol")
    st, _, _, obj = s.get("/api/v1/pods", token=tok)
    eq((st, obj["reason"]), (403, "Forbidden"), "without the binding")
    eq(s.get("/api", token=tok)[0], 200, "discovery stays allowed (system:discovery)")
    s.kubectl("apply", "-k", DEPLOY)
    eq(s.get("/api/v1/pods", token=tok)[0], 200, "binding back")
    # a role without watch on pods: the list passes, the watch does not
    s.kubectl("patch", "clusterrole", "ovs-netpol", "--type=json",
              "-p", '[{"op":"replace","path":"/rules/0/resources","value":["namespaces"]},'
                    '{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}}]')
    eq(s.get("/api/v1/pods", token=tok)[0], 200, "list")
    st, _, _, obj = s.get("/api/v1/pods?watch=1", token=tok)
    eq((st, obj["message"]), (403, 'pods is forbidden: User "%s" cannot watch resource "pods" in API group "" '
                                    'at the cluster scope' % SA_USER), "watch")
    # a binding to a role that does not exist says so
    s.kubectl("delete", "clusterrole", "ovs-netpol")
    st, _, _, obj = s.get("/api/v1/pods", token=tok)
    check(obj["message"].endswith(': RBAC: clusterrole.rbac.authorization.k8s.io "ovs-netpol" not found'), obj["message"])
    s.kubectl("apply", "-k", DEPLOY)
    w = s.watch("/api/v1/pods?watch=1", token=tok)
    try:
        eq(w.status, 200, "watch with the role restored")
    finally:
        w.close()


@test("rbac: tokens: unknown, other audience, service account deleted (or re-created) -> 401, counted")
def t_rbac_tokens():
    s = rbac_sim()
    s.kubectl("create", "sa", "tmp", "-n", "default")
    tok = sa_token(s, "default", "tmp")
    eq(s.get("/api", token=tok)[0], 200, "valid")
    st, _, _, obj = s.get("/api", token=tok[:-2] + ("AA" if not tok.endswith("AA") else "BB"))
    eq((st, obj["reason"]), (401, "Unauthorized"), "bad signature")
    other = sa_token(s, "default", "tmp", "--audience", "vault")
    eq(s.get("/api", token=other)[0], 401, "other audience")
    s.kubectl("delete", "sa", "tmp", "-n", "default")
    eq(s.get("/api", token=tok)[0], 401, "service account deleted")
    s.kubectl("create", "sa", "tmp", "-n", "default")
    eq(s.get("/api", token=tok)[0], 401, "service account re-created (new uid)")
    eq(auth_counts(s, "system:serviceaccount:default:tmp")["unauthorized"], 3, "401s counted")
    r = s.kubectl("create", "token", "tmp", "-n", "default", "--duration", "5m", check_rc=False)
    check(r.returncode != 0 and "may not specify a duration less than 10 minutes" in r.err, r.err)
    r = s.kubectl("create", "token", "nope", "-n", "default", check_rc=False)
    check(r.returncode != 0 and 'serviceaccounts "nope" not found' in r.err, r.err)


@test("rbac: rule matching: resourceNames (also via fieldSelector), subresources, */status, Role and RoleBinding, '*'")
def t_rbac_rules():
    s = rbac_sim()
    s.kubectl("create", "sa", "r", "-n", "default")
    tok = sa_token(s, "default", "r")
    u = "system:serviceaccount:default:r"

    def code(method, path, body=None, ctype="application/merge-patch+json"):
        return s.req(method, path, body, token=tok, ctype=ctype)[0]
    eq(code("GET", "/api/v1/namespaces/default/pods/db"), 403, "nothing bound yet")
    s.ok("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"], "resourceNames": ["db"]},
                  {"apiGroups": [""], "resources": ["*/status"], "verbs": ["patch"]}]})
    s.ok("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "r"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "r"}]})
    eq(code("GET", "/api/v1/namespaces/default/pods/db"), 200, "named pod")
    eq(code("GET", "/api/v1/namespaces/default/pods/frontend"), 403, "another pod")
    eq(code("GET", "/api/v1/namespaces/default/pods"), 403, "list without a name")
    eq(code("GET", "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Ddb"), 200, "list of the named one")
    eq(code("GET", "/api/v1/namespaces/other/pods/db"), 403, "another namespace")
    eq(code("PATCH", "/api/v1/namespaces/default/pods/frontend/status", {"metadata": {"labels": {"x": "1"}}}), 200,
       "*/status")
    eq(code("PATCH", "/api/v1/namespaces/default/pods/frontend", {"metadata": {"labels": {"x": "1"}}}), 403, "main resource")
    # a RoleBinding to a ClusterRole grants it in that namespace only; '*' verbs
    s.ok("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "cm-all"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]},
                  {"nonResourceURLs": ["/sim/auth"], "verbs": ["get"]}]})
    s.ok("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "cm"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cm-all"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": u}]})
    eq(code("POST", "/api/v1/namespaces/default/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                             "metadata": {"name": "c"}, "data": {"a": "b"}},
            "application/json"), 201, "create in the bound namespace")
    eq(code("DELETE", "/api/v1/namespaces/default/configmaps"), 200, "deletecollection")
    eq(code("GET", "/api/v1/namespaces/ovs-netpol/configmaps"), 403, "other namespace")
    eq(code("GET", "/api/v1/configmaps"), 403, "cluster scope")
    eq(code("GET", "/sim/auth"), 403, "nonResourceURLs only count in ClusterRoleBindings")
    s.kubectl("create", "clusterrolebinding", "r-auth", "--clusterrole", "cm-all", "--group",
              "system:serviceaccounts:default")
    eq(code("GET", "/sim/auth"), 200, "a group subject, cluster-wide")
    r = s.kubectl("auth", "can-i", "patch", "pods", "--subresource", "status", "-n", "default", "--as", u)
    eq(r.out.strip(), "yes", "can-i (impersonation, SelfSubjectAccessReview)")
    r = s.kubectl("auth", "can-i", "delete", "pods", "-n", "default", "--as", u, check_rc=False)
    eq(r.out.strip(), "no", "can-i no")
    r = s.kubectl("auth", "whoami", "--token", tok, "-o", "json")
    eq(json.loads(r.out)["status"]["userInfo"]["groups"],
       ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"], "whoami")
    r = s.kubectl("--token", tok, "auth", "can-i", "--list", "-n", "default")
    check(re.search(r"^pods\s+\[\]\s+\[db\]\s+\[get list\]$", r.out, re.M), r.out)
    s.kubectl("create", "rolebinding", "r-admin", "-n", "other", "--clusterrole", "cluster-admin", "--user", u)
    eq(code("DELETE", "/api/v1/namespaces/other/pods/web"), 200, "cluster-admin bound in a namespace")
    eq(code("DELETE", "/api/v1/namespaces/default/pods/frontend"), 403, "... only there")
    st, _, _, obj = s.req("GET", "/api/v1/pods", token=tok, headers={"Impersonate-User": "kubernetes-admin"})
    eq((st, obj["message"]), (403, 'users "kubernetes-admin" is forbidden: User "%s" cannot impersonate resource '
                                    '"users" in API group "" at the cluster scope' % u), "impersonation needs RBAC")


@test("rbac: escalation: a role or binding grants only what its author holds, unless it may escalate or bind")
def t_rbac_escalation():
    s = rbac_sim()
    s.kubectl("create", "sa", "esc", "-n", "default")
    tok = sa_token(s, "default", "esc")
    u = "system:serviceaccount:default:esc"
    g = "/apis/rbac.authorization.k8s.io/v1/"
    s.ok("POST", g + "clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "rbac-editor"},
        "rules": [{"apiGroups": ["rbac.authorization.k8s.io"], "verbs": ["create", "update", "patch"],
                   "resources": ["clusterroles", "clusterrolebindings"]},
                  {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]})
    s.kubectl("create", "clusterrolebinding", "esc", "--clusterrole", "rbac-editor", "--serviceaccount", "default:esc")

    def role(name, rules):
        return s.req("POST", g + "clusterroles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                                  "metadata": {"name": name}, "rules": rules}, token=tok)

    def bind(name, role_name):
        return s.req("POST", g + "clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
            "subjects": [{"kind": "ServiceAccount", "name": "esc", "namespace": "default"}]}, token=tok)
    eq(role("esc-pods", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}])[0], 201, "held rights")
    st, _, _, obj = role("esc-secrets", [{"apiGroups": [""], "resources": ["secrets", "pods"], "verbs": ["get", "list"]}])
    eq((st, obj["message"]), (403, 'clusterroles.rbac.authorization.k8s.io "esc-secrets" is forbidden: user "%s" '
                                   '(groups=["system:serviceaccounts" "system:serviceaccounts:default" '
                                   '"system:authenticated"]) is attempting to grant RBAC permissions not currently '
                                   'held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}' % u),
       "a role with rights not held")
    eq(bind("esc-pods", "esc-pods")[0], 201, "binding a role whose rights it holds")
    st, _, _, obj = bind("esc-admin", "cluster-admin")
    eq(st, 403, "binding cluster-admin")
    check("is attempting to grant RBAC permissions not currently held" in obj["message"], obj["message"])
    eq(s.get("/api/v1/secrets", token=tok)[0], 403, "still no secrets")
    # the bind verb on that role lets it through; then it holds everything
    s.kubectl("patch", "clusterrole", "rbac-editor", "--type=json", "-p",
              '[{"op":"add","path":"/rules/-","value":{"apiGroups":["rbac.authorization.k8s.io"],'
              '"resources":["clusterroles"],"verbs":["bind"],"resourceNames":["cluster-admin"]}}]')
    eq(bind("esc-admin", "cluster-admin")[0], 201, "with bind on cluster-admin")
    eq(s.get("/api/v1/secrets", token=tok)[0], 200, "secrets through cluster-admin")
    s.kubectl("delete", "clusterrolebinding", "esc-admin", "esc")


@test("rbac: a ClusterRole's aggregationRule collects the rules of the ClusterRoles it selects, as the controller does")
def t_rbac_aggregation():
    s = rbac_sim()
    # in a namespace of its own: other tests bind roles to groups of "default"
    s.kubectl("create", "ns", "agg")
    s.kubectl("create", "sa", "agg", "-n", "agg")
    tok = sa_token(s, "agg", "agg")
    g = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
    s.ok("POST", g, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "agg"},
                     "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/agg": "true"}}]}})
    s.kubectl("create", "clusterrolebinding", "agg", "--clusterrole", "agg", "--serviceaccount", "agg:agg")
    eq(s.get("/api/v1/configmaps", token=tok)[0], 403, "nothing aggregated yet")
    s.ok("POST", g, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                     "metadata": {"name": "agg-cm", "labels": {"example.com/agg": "true"}},
                     "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]})
    eq(s.ok("GET", g + "/agg")["rules"], [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}],
       "aggregated rules")
    eq(s.get("/api/v1/configmaps", token=tok)[0], 200, "allowed through the aggregate")
    s.kubectl("label", "clusterrole", "agg-cm", "example.com/agg-")
    eq(s.ok("GET", g + "/agg").get("rules"), None, "label removed")
    eq(s.get("/api/v1/configmaps", token=tok)[0], 403, "denied again")
    s.kubectl("delete", "clusterrolebinding", "agg")


@test("rbac: validation of roles and bindings (rules, roleRef, subjects; roleRef cannot change)")
def t_rbac_validation():
    s = rbac_sim()
    g = "/apis/rbac.authorization.k8s.io/v1/"
    bad = [
        ("clusterroles", {"kind": "ClusterRole", "metadata": {"name": "bad1"},
                          "rules": [{"resources": ["pods"], "verbs": ["get"]}]},
         "rules[0].apiGroups: Required value"),
        ("clusterroles", {"kind": "ClusterRole", "metadata": {"name": "bad2"},
                          "rules": [{"apiGroups": [""], "resources": ["pods"]}]}, "rules[0].verbs: Required value"),
        ("clusterrolebindings", {"kind": "ClusterRoleBinding", "metadata": {"name": "bad3"},
                                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "x"},
                                 "subjects": [{"kind": "ServiceAccount", "name": "sa"}]},
         "subjects[0].namespace: Required value"),
        ("clusterrolebindings", {"kind": "ClusterRoleBinding", "metadata": {"name": "bad4"},
                                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"}},
         "roleRef.kind: Unsupported value"),
    ]
    for plural, body, want in bad:
        body["apiVersion"] = "rbac.authorization.k8s.io/v1"
        st, _, raw, obj = s.req("POST", g + plural, body)
        eq(st, 422, "%s: %s" % (want, raw[:300]))
        check(want in obj["message"], obj["message"])
    st, _, raw, obj = s.req("PATCH", g + "clusterrolebindings/ovs-netpol", {"roleRef": {"name": "other"}},
                            ctype="application/merge-patch+json")
    eq(st, 422, "roleRef change")
    check("cannot change roleRef" in obj["message"], obj["message"])


@test("rbac: discovery (legacy and aggregated) and OpenAPI v3 for apps/v1 and rbac.authorization.k8s.io/v1")
def t_rbac_discovery():
    s = rbac_sim()
    acc = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    obj = s.ok("GET", "/apis", accept=acc)
    groups = {g["metadata"]["name"]: g for g in obj["items"]}
    rbac = {r["resource"]: r for r in groups["rbac.authorization.k8s.io"]["versions"][0]["resources"]}
    eq({k: v["scope"] for k, v in rbac.items()},
       {"clusterroles": "Cluster", "clusterrolebindings": "Cluster", "roles": "Namespaced",
        "rolebindings": "Namespaced"}, "rbac scopes")
    apps = groups["apps"]["versions"][0]["resources"][0]
    eq((apps["resource"], apps["shortNames"], apps["subresources"][0]["subresource"]), ("daemonsets", ["ds"], "status"),
       "daemonsets")
    core = s.ok("GET", "/api", accept=acc)["items"][0]["versions"][0]["resources"]
    sa = [r for r in core if r["resource"] == "serviceaccounts"][0]
    eq(sa["subresources"], [{"subresource": "token", "responseKind": {"group": "authentication.k8s.io", "version": "v1",
                                                                       "kind": "TokenRequest"},
                             "verbs": ["create"]}], "serviceaccounts/token")
    tr = [r for r in s.ok("GET", "/api/v1")["resources"] if r["name"] == "serviceaccounts/token"][0]
    eq((tr["group"], tr["version"], tr["kind"]), ("authentication.k8s.io", "v1", "TokenRequest"), "legacy token entry")
    eq(s.ok("GET", "/apis/apps/v1")["resources"][0]["name"], "daemonsets", "legacy apps/v1")
    idx = s.ok("GET", "/openapi/v3")["paths"]
    for gv, path, kind in (("apis/apps/v1", "/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}", "DaemonSet"),
                           ("apis/rbac.authorization.k8s.io/v1",
                            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}", "ClusterRoleBinding")):
        doc = s.ok("GET", idx[gv]["serverRelativeURL"])
        patch = doc["paths"][path]["patch"]
        eq(patch["x-kubernetes-group-version-kind"]["kind"], kind, gv)
        check(any(p["name"] == "fieldValidation" for p in patch["parameters"]), gv)
    # every authenticated user may do discovery (system:discovery)
    s.kubectl("create", "sa", "nobody", "-n", "default")
    tok = sa_token(s, "default", "nobody")
    r = s.kubectl("--token", tok, "api-resources", "-o", "name")
    check("daemonsets.apps" in r.out.split() and "clusterroles.rbac.authorization.k8s.io" in r.out.split(), r.out)
    eq(auth_counts(s, "system:serviceaccount:default:nobody")["forbidden"], 0, "403s during discovery")


# --- ClusterNetworkPolicy CRD (issue 11) ---------------------------------------

CNP_CRD = os.path.join(HERE, "crd-clusternetworkpolicies.yaml")
CNP_PATH = "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies"
CNP_GV = "/apis/policy.networking.k8s.io/v1alpha2"

# Shaped like kubernetes-sigs/network-policy-api conformance/base (v0.2.0):
# admin_tier/standard-ingress-tcp-rules.yaml,
# baseline_tier/standard-egress-inline-cidr-rules.yaml and
# admin_tier/standard-gress-rules-combined.yaml with ranges, a named port
# and the experimental nodes peer.
CNP_MANIFESTS = """\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: ingress-tcp
spec:
  tier: Admin
  priority: 3
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: network-policy-conformance-gryffindor
  ingress:
  - name: allow-from-ravenclaw-everything
    action: Accept
    from:
    - namespaces:
        matchLabels:
          kubernetes.io/metadata.name: network-policy-conformance-ravenclaw
  - name: deny-from-slytherin-at-port-80
    action: Deny
    from:
    - namespaces:
        matchLabels:
          kubernetes.io/metadata.name: network-policy-conformance-slytherin
    protocols:
    - tcp:
        destinationPort:
          number: 80
  - name: pass-from-hufflepuff
    action: Pass
    from:
    - pods:
        namespaceSelector:
          matchLabels:
            conformance-house: hufflepuff
        podSelector:
          matchExpressions:
          - {key: conformance-house, operator: In, values: [hufflepuff]}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: default
spec:
  tier: Baseline
  priority: 10
  subject:
    pods:
      namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: network-policy-conformance-gryffindor
      podSelector: {}
  egress:
  - name: allow-egress-to-slytherin
    action: Accept
    to:
    - pods:
        namespaceSelector:
          matchLabels:
            conformance-house: slytherin
        podSelector:
          matchLabels:
            conformance-house: slytherin
  - name: deny-egress-to-internet
    action: Deny
    to:
    - networks:
      - 0.0.0.0/0
      - ::/0
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: gress-rules
spec:
  tier: Admin
  priority: 15
  subject:
    namespaces: {}
  egress:
  - name: deny-to-slytherin-at-ports-80-53-9003
    action: Deny
    to:
    - namespaces:
        matchLabels:
          kubernetes.io/metadata.name: network-policy-conformance-slytherin
    protocols:
    - tcp: {destinationPort: {number: 80}}
    - udp: {destinationPort: {number: 53}}
    - sctp: {destinationPort: {number: 9003}}
  - name: allow-to-hufflepuff-ranges
    action: Accept
    to:
    - namespaces:
        matchLabels:
          kubernetes.io/metadata.name: network-policy-conformance-hufflepuff
    protocols:
    - tcp: {destinationPort: {range: {start: 8080, end: 8090}}}
    - destinationNamedPort: web
  - name: pass-to-nodes
    action: Pass
    to:
    - nodes:
        matchLabels:
          kubernetes.io/os: linux
    protocols:
    - udp: {destinationPort: {number: 53}}
  ingress:
  - name: accept-named-port
    action: Accept
    from:
    - namespaces: {}
    protocols:
    - destinationNamedPort: dns
"""

CNP_BASE = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
            "metadata": {"name": "bad"},
            "spec": {"tier": "Admin", "priority": 5, "subject": {"namespaces": {}},
                     "ingress": [{"name": "r", "action": "Deny", "from": [{"namespaces": {}}]}]}}


def write_tmp(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text if isinstance(text, str) else json.dumps(text))
    return path


def cnp(name="p", tier="Admin", priority=5, **spec):
    o = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
         "metadata": {"name": name},
         "spec": dict({"tier": tier, "priority": priority, "subject": {"namespaces": {}}}, **spec)}
    return o


def cnp_sim(name="cnp", *extra):
    s = Sim(*(("--bookmark-interval", "1") + extra), name=name)
    s.kubectl("apply", "-f", CNP_CRD)
    return s


@test("cnp: before the CRD, kubectl get cnp fails and the resource is 404; once it is applied both work")
def t_cnp_discovery():
    s = Sim("--bookmark-interval", "1", name="cnpdisc")
    try:
        r = s.kubectl("get", "cnp", check_rc=False)
        check(r.returncode != 0 and 'the server doesn\'t have a resource type "cnp"' in r.err, r.err)
        r = s.kubectl("get", "clusternetworkpolicies.policy.networking.k8s.io", check_rc=False)
        check(r.returncode != 0 and "the server doesn't have a resource type" in r.err, r.err)
        st, _, _, obj = s.get(CNP_PATH)
        eq((st, obj["reason"]), (404, "NotFound"), "list before the CRD")
        eq(s.get(CNP_PATH + "?watch=1")[0], 404, "watch before the CRD")
        check("policy.networking.k8s.io" not in [g["name"] for g in s.ok("GET", "/apis")["groups"]], "legacy /apis")
        acc = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        names = [g["metadata"]["name"] for g in s.get("/apis", accept=acc)[3]["items"]]
        eq(names[-1], "apiextensions.k8s.io", "last built-in group")
        r = s.kubectl("apply", "-f", CNP_CRD)
        eq(r.out.strip(), "customresourcedefinition.apiextensions.k8s.io/"
                          "clusternetworkpolicies.policy.networking.k8s.io created", "apply crd")
        crd = json.loads(s.kubectl("get", "crd", "clusternetworkpolicies.policy.networking.k8s.io", "-o", "json").out)
        conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        eq((conds.get("Established"), conds.get("NamesAccepted")), ("True", "True"), "conditions")
        eq(crd["status"]["acceptedNames"]["shortNames"], ["cnp"], "accepted names")
        s.kubectl("wait", "--for=condition=Established", "crd/clusternetworkpolicies.policy.networking.k8s.io",
                  "--timeout=30s")
        # discovery, legacy and aggregated
        g = [x for x in s.ok("GET", "/apis")["groups"] if x["name"] == "policy.networking.k8s.io"]
        eq(g[0]["preferredVersion"]["groupVersion"], "policy.networking.k8s.io/v1alpha2", "group")
        rl = {x["name"]: x for x in s.ok("GET", CNP_GV)["resources"]}
        res = rl["clusternetworkpolicies"]
        eq((res["kind"], res["namespaced"], res["shortNames"], res["singularName"]),
           ("ClusterNetworkPolicy", False, ["cnp"], "clusternetworkpolicy"), "legacy resource")
        eq(sorted(res["verbs"]), sorted(["create", "delete", "deletecollection", "get", "list", "patch", "update",
                                         "watch"]), "verbs")
        eq(rl["clusternetworkpolicies/status"]["verbs"], ["get", "patch", "update"], "status subresource")
        items = s.get("/apis", accept=acc)[3]["items"]
        eq([x["metadata"]["name"] for x in items][-2:], ["apiextensions.k8s.io", "policy.networking.k8s.io"],
           "CRD groups after the built-in ones")
        ar = items[-1]["versions"][0]["resources"][0]
        eq((ar["resource"], ar["scope"], ar["responseKind"]["kind"], ar["shortNames"],
            ar["subresources"][0]["subresource"]), ("clusternetworkpolicies", "Cluster", "ClusterNetworkPolicy",
                                                    ["cnp"], "status"), "aggregated entry")
        oa = s.ok("GET", "/openapi/v3")["paths"]
        doc = s.ok("GET", oa["apis/policy.networking.k8s.io/v1alpha2"]["serverRelativeURL"])
        sch = doc["components"]["schemas"]["io.k8s.networking.policy.v1alpha2.ClusterNetworkPolicy"]
        eq(sch["properties"]["spec"]["properties"]["tier"]["enum"], ["Admin", "Baseline"], "openapi v3 schema")
        # a client that waited for the resource can list and watch it now
        st, _, _, lst = s.get(CNP_PATH)
        eq((st, lst["kind"], lst["items"]), (200, "ClusterNetworkPolicyList", []), "list")
        w = s.watch(CNP_PATH + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + lst["metadata"]["resourceVersion"])
        try:
            eq(w.status, 200, "watch status")
            s.ok("POST", CNP_PATH, cnp("first"))
            evs = w.events_until(lambda e: e["type"] == "ADDED")
            eq(evs[-1]["object"]["metadata"]["name"], "first", "ADDED")
            eq(evs[-1]["object"]["apiVersion"], "policy.networking.k8s.io/v1alpha2", "apiVersion")
        finally:
            w.close()
        r = s.kubectl("get", "cnp")
        check(re.match(r"NAME\s+TIER\s+PRIORITY\s+AGE\n", r.out), r.out)
    finally:
        s.stop()


@test("cnp: kubectl apply -f of conformance-shaped CNPs, get cnp (columns), -o json, apply again/changed, delete")
def t_cnp_kubectl():
    s = cnp_sim("cnpkubectl")
    try:
        path = write_tmp("cnps.yaml", CNP_MANIFESTS)
        r = s.kubectl("apply", "-f", path)
        eq(r.out.strip().splitlines(), ["clusternetworkpolicy.policy.networking.k8s.io/%s created" % n
                                        for n in ("ingress-tcp", "default", "gress-rules")], "apply")
        r = s.kubectl("get", "cnp")
        lines = r.out.strip().splitlines()
        check(re.match(r"^NAME\s+TIER\s+PRIORITY\s+AGE$", lines[0]), lines[0])
        rows = [l.split()[:3] for l in lines[1:]]
        eq(rows, [["default", "Baseline", "10"], ["gress-rules", "Admin", "15"], ["ingress-tcp", "Admin", "3"]],
           "rows (name order)")
        o = json.loads(s.kubectl("get", "cnp", "gress-rules", "-o", "json").out)
        eq((o["kind"], o["metadata"]["generation"], "namespace" in o["metadata"]),
           ("ClusterNetworkPolicy", 1, False), "object")
        eq(o["spec"]["egress"][1]["protocols"], [{"tcp": {"destinationPort": {"range": {"end": 8090, "start": 8080}}}},
                                                  {"destinationNamedPort": "web"}], "protocols kept")
        eq(o["spec"]["egress"][2]["to"], [{"nodes": {"matchLabels": {"kubernetes.io/os": "linux"}}}], "nodes peer")
        lst = json.loads(s.kubectl("get", "clusternetworkpolicies", "-o", "json").out)
        eq([i["metadata"]["name"] for i in lst["items"]], ["default", "gress-rules", "ingress-tcp"], "list -o json")
        eq(json.loads(s.kubectl("get", "cnp", "default", "-o", "json").out)["spec"]["egress"][1]["to"][0]["networks"],
           ["0.0.0.0/0", "::/0"], "networks")
        r = s.kubectl("apply", "-f", path)
        check(all(l.endswith(" unchanged") for l in r.out.strip().splitlines()), r.out)
        # a change: kubectl sends a JSON merge patch (no strategic merge for CRs)
        before = s.ok("GET", "/sim/requests")["requests"][-1]["seq"]
        path2 = write_tmp("cnps2.yaml", CNP_MANIFESTS.replace("priority: 3", "priority: 4"))
        r = s.kubectl("apply", "-f", path2)
        check("clusternetworkpolicy.policy.networking.k8s.io/ingress-tcp configured" in r.out, r.out)
        patches = [q for q in s.ok("GET", "/sim/requests?since=%d" % before)["requests"] if q["method"] == "PATCH"]
        eq([(q["path"].split("?")[0], q["contentType"].split(";")[0]) for q in patches],
           [(CNP_PATH + "/ingress-tcp", "application/merge-patch+json")], "the patch kubectl sent")
        o = json.loads(s.kubectl("get", "cnp", "ingress-tcp", "-o", "json").out)
        eq((o["spec"]["priority"], o["metadata"]["generation"]), (4, 2), "after the change")
        # kubectl patch: strategic merge is refused as by the real server, merge works
        r = s.kubectl("patch", "cnp", "ingress-tcp", "-p", '{"spec":{"priority":7}}', check_rc=False)
        check(r.returncode != 0 and "application/strategic-merge-patch+json is not supported" in r.err, r.err)
        s.kubectl("patch", "cnp", "ingress-tcp", "--type=merge", "-p", '{"spec":{"priority":7}}')
        s.kubectl("patch", "cnp", "ingress-tcp", "--type=json",
                  "-p", '[{"op":"replace","path":"/spec/ingress/0/action","value":"Deny"}]')
        o = json.loads(s.kubectl("get", "cnp", "ingress-tcp", "-o", "json").out)
        eq((o["spec"]["priority"], o["spec"]["ingress"][0]["action"]), (7, "Deny"), "merge and json patches")
        # server-side apply, create and update
        ssa = write_tmp("ssa.json", cnp("ssa", "Baseline", 20))
        r = s.kubectl("apply", "--server-side", "-f", ssa)
        check("clusternetworkpolicy.policy.networking.k8s.io/ssa serverside-applied" in r.out, r.out)
        ssa = write_tmp("ssa.json", cnp("ssa", "Baseline", 21))
        s.kubectl("apply", "--server-side", "-f", ssa)
        eq(json.loads(s.kubectl("get", "cnp", "ssa", "-o", "json").out)["spec"]["priority"], 21, "ssa update")
        r = s.kubectl("delete", "cnp", "ingress-tcp", "ssa")
        eq(r.out.strip().splitlines(), ['clusternetworkpolicy.policy.networking.k8s.io "ingress-tcp" deleted',
                                        'clusternetworkpolicy.policy.networking.k8s.io "ssa" deleted'], "delete")
        r = s.kubectl("get", "cnp", "ingress-tcp", check_rc=False)
        check(r.returncode != 0 and 'clusternetworkpolicies.policy.networking.k8s.io "ingress-tcp" not found' in r.err,
              r.err)
        r = s.kubectl("delete", "-f", path, check_rc=False)
        check(r.returncode != 0 and 'clusternetworkpolicies.policy.networking.k8s.io "ingress-tcp" not found' in r.err
              and 'clusternetworkpolicy.policy.networking.k8s.io "gress-rules" deleted' in r.out, r.out + r.err)
        eq(s.kubectl("get", "cnp").err.strip(), "No resources found", "all gone")
    finally:
        s.stop()


def _cnp_invalid(s, obj, *needles):
    """kubectl apply of obj fails with the real server's 422 text."""
    r = s.kubectl("apply", "-f", write_tmp("bad.json", obj), check_rc=False)
    check(r.returncode != 0, "applied: " + r.out)
    for n in needles:
        check(n in r.err, "%r not in: %s" % (n, r.err))
    return r.err


@test("cnp: schema and CEL violations give kubectl the real 422 with field paths; unknown fields are pruned")
def t_cnp_validation():
    s = cnp_sim("cnpvalid")
    try:
        head = 'The ClusterNetworkPolicy "bad" is invalid: '
        b = CNP_BASE
        def with_spec(**kw):
            o = json.loads(json.dumps(b))
            o["spec"].update(kw)
            return o
        _cnp_invalid(s, with_spec(priority=2000), head + "spec.priority: Invalid value: 2000: spec.priority in body "
                     "should be less than or equal to 1000")
        _cnp_invalid(s, with_spec(priority=-1), "spec.priority in body should be greater than or equal to 0")
        _cnp_invalid(s, with_spec(priority="high"), 'spec.priority: Invalid value: "string": spec.priority in body '
                     'must be of type integer: "string"')
        _cnp_invalid(s, with_spec(tier="Middle"),
                     head + 'spec.tier: Unsupported value: "Middle": supported values: "Admin", "Baseline"')
        o = json.loads(json.dumps(b))
        del o["spec"]["subject"]
        _cnp_invalid(s, o, head + "spec.subject: Required value")
        _cnp_invalid(s, with_spec(subject={"namespaces": {}, "pods": {"podSelector": {}}}),
                     head + "spec.subject: Too many: 2: must have at most 1 items")
        _cnp_invalid(s, with_spec(subject={"pods": {"namespaceSelector": {}}}),
                     head + "spec.subject.pods.podSelector: Required value")
        rule = {"action": "Accept", "from": [{"namespaces": {}}]}
        _cnp_invalid(s, with_spec(ingress=[rule] * 26), head + "spec.ingress: Too many: 26: must have at most 25 items")
        _cnp_invalid(s, with_spec(ingress=[dict(rule, name="x" * 101)]),
                     head + "spec.ingress[0].name: Too long: may not be more than 100 bytes")
        _cnp_invalid(s, with_spec(ingress=[dict(rule, action="Allow")]),
                     'spec.ingress[0].action: Unsupported value: "Allow": supported values: "Accept", "Deny", "Pass"')
        _cnp_invalid(s, with_spec(ingress=[dict(rule, **{"from": []})]),
                     "spec.ingress[0].from: Invalid value: 0: spec.ingress[0].from in body should have at least 1 items")
        _cnp_invalid(s, with_spec(ingress=[dict(rule, protocols=[{"tcp": {"destinationPort": {"number": 0}}}])]),
                     "spec.ingress[0].protocols[0].tcp.destinationPort.number: Invalid value: 0: "
                     "spec.ingress[0].protocols[0].tcp.destinationPort.number in body should be greater than or equal to 1")
        _cnp_invalid(s, with_spec(ingress=[dict(rule, protocols=[{"tcp": {"destinationPort": {
            "number": 80, "range": {"start": 1, "end": 2}}}}])]),
            "spec.ingress[0].protocols[0].tcp.destinationPort: Too many: 2: must have at most 1 items")
        # the CEL rules the stand-in implements
        _cnp_invalid(s, with_spec(ingress=[dict(rule, protocols=[{"udp": {"destinationPort": {
            "range": {"start": 90, "end": 80}}}}])]),
            head + 'spec.ingress[0].protocols[0].udp.destinationPort.range: Invalid value: "object": '
            "Start port must be less than End port")
        _cnp_invalid(s, with_spec(egress=[{"action": "Deny", "to": [{"networks": ["10.0.0.0/8", "10.1.2.3"]}]}]),
                     head + 'spec.egress[0].to[0].networks[1]: Invalid value: "string": Invalid CIDR format provided')
        _cnp_invalid(s, with_spec(egress=[{"action": "Accept", "to": [{"networks": ["10.0.0.0/8"]}],
                                           "protocols": [{"destinationNamedPort": "web"}]}]),
                     head + 'spec.egress[0]: Invalid value: "object": networks/nodes/domainNames peer cannot be set '
                     "with namedPorts since there are no namedPorts for networks/nodes/domainNames")
        _cnp_invalid(s, with_spec(egress=[{"action": "Deny", "to": [{"networks": ["10.0.0.0/8", "10.0.0.0/8"]}]}]),
                     'spec.egress[0].to[0].networks[1]: Duplicate value: "10.0.0.0/8"')
        # several errors in one answer, as a list
        _cnp_invalid(s, with_spec(priority=1001, tier="x"), head + "\n* spec.priority: Invalid value: 1001",
                     '\n* spec.tier: Unsupported value: "x"')
        # raw: the Status and its causes
        st, _, _, obj = s.req("POST", CNP_PATH, with_spec(priority=2000))
        eq((st, obj["reason"], obj["details"]["group"], obj["details"]["kind"], obj["details"]["name"]),
           (422, "Invalid", "policy.networking.k8s.io", "ClusterNetworkPolicy", "bad"), "status")
        eq(obj["details"]["causes"], [{"reason": "FieldValueInvalid", "field": "spec.priority",
                                       "message": "Invalid value: 2000: spec.priority in body should be less than "
                                                  "or equal to 1000"}], "causes")
        eq(s.get(CNP_PATH + "/bad")[0], 404, "nothing stored")
        # unknown fields: kubectl asks for Strict; without it they are pruned
        o = with_spec(colour="blue")
        o["spec"]["ingress"][0]["extra"] = 1
        r = s.kubectl("apply", "-f", write_tmp("unknown.json", o), check_rc=False)
        check(r.returncode != 0 and 'unknown field "spec.colour"' in r.err and
              'unknown field "spec.ingress[0].extra"' in r.err, r.err)
        made = s.ok("POST", CNP_PATH, o)
        check("colour" not in made["spec"] and "extra" not in made["spec"]["ingress"][0], made)
        st, h, raw, _ = s.req("POST", CNP_PATH + "?fieldValidation=Warn", dict(o, metadata={"name": "warned"}))
        eq(st, 201, "warn: " + raw.decode()[:200])
        check(re.match(r'^299 - "unknown field \\"spec\.(colour|ingress\[0\]\.extra)\\""$', h.get("warning", "")), h)
        # valid, with the experimental peers
        ok = cnp("exp", egress=[{"action": "Accept", "to": [{"domainNames": ["*.example.com", "kubernetes.io"]}]},
                                {"action": "Deny", "to": [{"nodes": {}}, {"networks": ["fd00::/8"]}],
                                 "protocols": [{"sctp": {"destinationPort": {"range": {"start": 1, "end": 2}}}}]}])
        s.kubectl("apply", "-f", write_tmp("exp.json", ok))
        _cnp_invalid(s, cnp("exp2", egress=[{"action": "Accept", "to": [{"domainNames": ["not a name"]}]}]),
                     "spec.egress[0].to[0].domainNames[0]: Invalid value: \"not a name\": "
                     "spec.egress[0].to[0].domainNames[0] in body should match")
    finally:
        s.stop()


@test("cnp: watch (raw) sees create/update/delete with bookmarks, 410 when compacted; status subresource; JSON only")
def t_cnp_watch():
    s = cnp_sim("cnpwatch")
    try:
        lst = s.ok("GET", CNP_PATH)
        rv = lst["metadata"]["resourceVersion"]
        w = s.watch(CNP_PATH + "?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv)
        try:
            s.kubectl("apply", "-f", write_tmp("w.json", cnp("w1")))
            s.kubectl("apply", "-f", write_tmp("w.json", cnp("w1", priority=9)))
            s.kubectl("delete", "cnp", "w1")
            evs = w.events_until(lambda e: e["type"] == "DELETED", timeout=20)
            got = [(e["type"], e["object"]["metadata"].get("name")) for e in evs if e["type"] != "BOOKMARK"]
            eq(got, [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")], "events")
            mod = [e for e in evs if e["type"] == "MODIFIED"][0]["object"]
            eq((mod["spec"]["priority"], mod["metadata"]["generation"]), (9, 2), "modified object")
            bm = w.events_until(lambda e: e["type"] == "BOOKMARK", timeout=10)[-1]
            eq((bm["object"]["kind"], bm["object"]["apiVersion"]),
               ("ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2"), "bookmark")
        finally:
            w.close()
        # resourceVersion semantics: replay from an old one, then 410
        w = s.watch(CNP_PATH + "?watch=1&resourceVersion=" + rv)
        try:
            eq([e["type"] for e in w.events_until(lambda e: e["type"] == "DELETED")], ["ADDED", "MODIFIED", "DELETED"],
               "replay")
        finally:
            w.close()
        s.fault(compact=True)
        w = s.watch(CNP_PATH + "?watch=1&resourceVersion=" + rv)
        try:
            e = w.event()
            eq((e["type"], e["object"]["code"], e["object"]["reason"]), ("ERROR", 410, "Expired"), "410")
        finally:
            w.close()
        eq(s.get(CNP_PATH + "?resourceVersion=%s&resourceVersionMatch=Exact" % rv)[0], 410, "exact list 410")
        # status: only through the subresource
        cond = {"type": "Ready", "status": "True", "reason": "Realized", "message": "ok",
                "lastTransitionTime": "2026-12-07T10:00:00Z"}
        o = s.ok("POST", CNP_PATH, dict(cnp("st"), status={"conditions": [cond]}))
        check("status" not in o, "status dropped on create: %s" % o)
        o2 = dict(o, status={"conditions": [cond]})
        o2["spec"] = dict(o["spec"], priority=50)
        out = s.ok("PUT", CNP_PATH + "/st/status", o2)
        eq((out["status"]["conditions"][0]["type"], out["spec"]["priority"], out["metadata"]["generation"]),
           ("Ready", 5, 1), "status write changes only status")
        out = s.ok("PUT", CNP_PATH + "/st", dict(out, status={"conditions": []}))
        eq(out["status"]["conditions"][0]["type"], "Ready", "main write keeps status")
        st, _, _, obj = s.req("PATCH", CNP_PATH + "/st/status", {"status": {"conditions": [dict(cond, status="Maybe")]}},
                              ctype="application/merge-patch+json")
        eq((st, obj["details"]["causes"][0]["field"]), (422, "status.conditions[0].status"), "status validated")
        st, _, _, obj = s.req("PATCH", CNP_PATH + "/st", {"spec": {"priority": 1}},
                              ctype="application/strategic-merge-patch+json")
        eq((st, obj["reason"]), (415, "UnsupportedMediaType"), "strategic merge patch")
        st, _, _, obj = s.req("POST", CNP_PATH, b"\x6b\x38\x73\x00", ctype="application/vnd.kubernetes.protobuf")
        eq((st, obj["reason"]), (415, "UnsupportedMediaType"), "protobuf body")
    finally:
        s.stop()


@test("cnp: kubectl get cnp -w --output-watch-events shows ADDED, MODIFIED and DELETED rows")
def t_cnp_kubectl_watch():
    s = cnp_sim("cnpkw")
    s.kubectl("apply", "-f", write_tmp("kw0.json", cnp("base", "Baseline", 1)))
    cmd = [KUBECTL, "--kubeconfig", s.kubeconfig, "--cache-dir", s.cache, "get", "cnp", "-w", "--output-watch-events"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, buf = [], [b""]
    try:
        deadline = time.time() + 30
        fd = p.stdout.fileno()

        def readline():
            while b"\n" not in buf[0] and time.time() < deadline:
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    d = os.read(fd, 65536)
                    if not d:
                        break
                    buf[0] += d
            if b"\n" not in buf[0]:
                raise Fail("kubectl -w printed no more lines; so far %s" % lines)
            line, buf[0] = buf[0].split(b"\n", 1)
            return line.decode()
        lines.append(readline())    # header
        lines.append(readline())    # ADDED base
        s.kubectl("apply", "-f", write_tmp("kw1.json", cnp("watched", "Admin", 7)))
        s.kubectl("patch", "cnp", "watched", "--type=merge", "-p", '{"spec":{"priority":8}}')
        s.kubectl("delete", "cnp", "watched")
        while len(lines) < 5:
            lines.append(readline())
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        s.stop()
    check(re.match(r"EVENT\s+NAME\s+TIER\s+PRIORITY\s+AGE", lines[0]), lines[0])
    eq([l.split()[:4] for l in lines[1:]], [["ADDED", "base", "Baseline", "1"], ["ADDED", "watched", "Admin", "7"],
                                            ["MODIFIED", "watched", "Admin", "8"],
                                            ["DELETED", "watched", "Admin", "8"]], "events")


@test("cnp: deleting the CRD deletes its objects (DELETED events), ends watches, and kubectl get cnp fails again")
def t_cnp_crd_delete():
    s = cnp_sim("cnpcrddel")
    try:
        s.kubectl("apply", "-f", write_tmp("cnps.yaml", CNP_MANIFESTS))
        w = s.watch(CNP_PATH + "?watch=1")
        try:
            eq(len(w.events_until(lambda e: e["object"]["metadata"]["name"] == "ingress-tcp")), 3, "initial")
            s.kubectl("delete", "-f", CNP_CRD)
            evs = []
            while True:
                e = w.event(timeout=20)
                if e is None:
                    break
                evs.append(e)
            eq(sorted((e["type"], e["object"]["metadata"]["name"]) for e in evs),
               [("DELETED", "default"), ("DELETED", "gress-rules"), ("DELETED", "ingress-tcp")], "deleted, then end")
        finally:
            w.close()
        # kubectl's discovery cache still has the resource: the list is 404
        r = s.kubectl("get", "cnp", check_rc=False)
        check(r.returncode != 0 and "the server could not find the requested resource" in r.err, r.err)
        r = s.kubectl("get", "cnp", "--cache-dir", os.path.join(s.dir, "fresh-cache"), check_rc=False)
        check(r.returncode != 0 and 'the server doesn\'t have a resource type "cnp"' in r.err, r.err)
        eq(s.get(CNP_PATH)[0], 404, "list after the CRD")
        s.kubectl("apply", "-f", CNP_CRD)
        eq(s.kubectl("get", "cnp").err.strip(), "No resources found", "recreated, empty")
    finally:
        s.stop()


@test("cnp: --state-dir keeps the CRD and its objects across a restart")
def t_cnp_state_dir():
    state = tempfile.mkdtemp(prefix="cnpstate-", dir=TMP)
    s = cnp_sim("cnpstate1", "--state-dir", state)
    s.kubectl("apply", "-f", write_tmp("cnps.yaml", CNP_MANIFESTS))
    eq(s.stop(), 0, "exit status")
    s = Sim("--state-dir", state, name="cnpstate2")
    try:
        r = s.kubectl("get", "cnp", "-o", "name")
        eq(r.out.split(), ["clusternetworkpolicy.policy.networking.k8s.io/" + n
                           for n in ("default", "gress-rules", "ingress-tcp")], "after restart")
    finally:
        s.stop()


@test("cnp rbac: the DaemonSet's token may get/list/watch clusternetworkpolicies, not create, patch or delete them")
def t_cnp_rbac():
    s = rbac_sim()
    s.kubectl("apply", "-f", CNP_CRD)
    s.kubectl("apply", "-f", write_tmp("cnps.yaml", CNP_MANIFESTS))
    tok = sa_token(s)
    before = auth_counts(s)
    r = s.kubectl("--token", tok, "get", "cnp", "-o", "name")
    eq(len(r.out.split()), 3, "kubectl get cnp with the token")
    eq(s.get(CNP_PATH + "/default", token=tok)[0], 200, "get")
    w = s.watch(CNP_PATH + "?watch=1", token=tok)
    try:
        eq(w.status, 200, "watch status")
        eq(w.event()["type"], "ADDED", "watch event")
    finally:
        w.close()
    for verb in ("create", "delete", "patch", "update"):
        r = s.kubectl("--token", tok, "auth", "can-i", verb, "clusternetworkpolicies.policy.networking.k8s.io",
                      check_rc=False)
        eq(r.out.strip(), "no", "can-i " + verb)
    eq(s.kubectl("--token", tok, "auth", "can-i", "watch", "cnp").out.strip(), "yes", "can-i watch")
    msg = ('clusternetworkpolicies.policy.networking.k8s.io is forbidden: User "%s" cannot create resource '
           '"clusternetworkpolicies" in API group "policy.networking.k8s.io" at the cluster scope' % SA_USER)
    st, _, _, obj = s.req("POST", CNP_PATH, cnp("mine"), token=tok)
    eq((st, obj["message"], obj["details"]), (403, msg, {"group": "policy.networking.k8s.io",
                                                        "kind": "clusternetworkpolicies"}), "create")
    st, _, _, obj = s.req("DELETE", CNP_PATH + "/default", token=tok)
    eq((st, obj["message"].split(":")[0]), (403, 'clusternetworkpolicies.policy.networking.k8s.io "default" is '
                                                 'forbidden'), "delete")
    st, _, _, obj = s.req("PATCH", CNP_PATH + "/default/status", {}, token=tok, ctype="application/merge-patch+json")
    eq(st, 403, "patch status")
    r = s.kubectl("--token", tok, "apply", "-f", write_tmp("mine.json", cnp("mine")), check_rc=False)
    check(r.returncode != 0 and 'cannot create resource "clusternetworkpolicies"' in r.err, r.err)
    after = auth_counts(s)
    eq(after["unauthorized"], 0, "401s")
    check(after["forbidden"] - before["forbidden"] >= 4, after)
    # without the rule: 403 for list too
    role = json.loads(s.kubectl("get", "clusterrole", "ovs-netpol", "-o", "json").out)
    rules = [x for x in role["rules"] if "clusternetworkpolicies" not in x.get("resources", [])]
    eq(len(rules), len(role["rules"]) - 1, "the ClusterRole has the rule")
    try:
        s.kubectl("patch", "clusterrole", "ovs-netpol", "--type=merge", "-p", json.dumps({"rules": rules}))
        st, _, _, obj = s.get(CNP_PATH, token=tok)
        eq((st, obj["message"]), (403, 'clusternetworkpolicies.policy.networking.k8s.io is forbidden: User "%s" '
                                       'cannot list resource "clusternetworkpolicies" in API group '
                                       '"policy.networking.k8s.io" at the cluster scope' % SA_USER), "without the rule")
    finally:
        s.kubectl("apply", "-f", os.path.join(DEPLOY, "clusterrole.yaml"))
    eq(s.get(CNP_PATH, token=tok)[0], 200, "rule restored")


@test("--state-dir: objects and resourceVersion survive a restart; older resourceVersions get 410")
def t_state_dir():
    sd = os.path.join(TMP, "state")
    s2 = Sim("--state-dir", sd, name="state1")
    try:
        s2.create_ns("persist")
        s2.create_pod("persist", "p", {"k": "v"}, "10.3.0.1")
        rv = s2.rv()
    finally:
        eq(s2.stop(), 0, "exit status")
    s3 = Sim("--state-dir", sd, name="state2")
    try:
        p = s3.ok("GET", "/api/v1/namespaces/persist/pods/p")
        eq(p["metadata"]["labels"], {"k": "v"}, "object")
        eq(s3.rv(), rv, "resourceVersion")
        w = s3.watch("/api/v1/pods?watch=1&resourceVersion=%d" % (rv - 1))
        try:
            eq(w.event()["object"]["code"], 410, "older rv")
        finally:
            w.close()
    finally:
        s3.stop()


@test("SIGTERM/SIGINT: clean exit (status 0) with open watches, which get the terminating chunk")
def t_signals():
    for sig in (signal.SIGTERM, signal.SIGINT):
        s2 = Sim(name="sig")
        ws = [s2.watch("/api/v1/pods?watch=1") for _ in range(5)]
        time.sleep(0.3)
        t0 = time.time()
        rc = s2.stop(sig)
        eq(rc, 0, "exit status after %s" % sig.name)
        check(time.time() - t0 < 5, "took %.1fs" % (time.time() - t0))
        for w in ws:
            try:
                eq(w.event(timeout=3), None, "terminating chunk")
            finally:
                w.close()
        try:
            socket.create_connection((s2.host, s2.port), timeout=2).close()
            raise Fail("still listening")
        except ConnectionRefusedError:
            pass


# ---------------------------------------------------------------------------

def run():
    if not shutil.which("openssl"):
        print("openssl not found")
        return 1
    passed = failed = 0
    t_start = time.time()
    for name, fn in TESTS:
        if ONLY and ONLY not in name:
            continue
        t0 = time.time()
        try:
            fn()
            passed += 1
            print("ok   %-100s %5.1fs" % (name, time.time() - t0))
        except Exception as e:
            failed += 1
            detail = str(e) if isinstance(e, Fail) else traceback.format_exc()
            print("FAIL %s\n     %s" % (name, detail.replace("\n", "\n     ")))
            if VERBOSE and "sim" in MAIN:
                print("     --- main simulator log:\n" + MAIN["sim"].logtail())
        sys.stdout.flush()
    for key in ("sim", "rbac"):
        if key in MAIN:
            rc = MAIN[key].stop()
            if rc != 0:
                failed += 1
                print("FAIL %s simulator exit status %r\n%s" % (key, rc, MAIN[key].logtail()))
    print("(%.0fs; work files in %s)" % (time.time() - t_start, TMP) if failed else "(%.0fs)" % (time.time() - t_start))
    if not failed:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(run())
