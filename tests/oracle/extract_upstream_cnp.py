#!/usr/bin/env python3
"""Extracts the verdicts the upstream ClusterNetworkPolicy conformance suite
asserts (kubernetes-sigs/network-policy-api, conformance/tests/*.go), as
data: per test (ShortName), per subtest (t.Run title), the PokeServer calls
in order: client namespace/pod, protocol, server pod, port, shouldConnect.

It reads the Go text mechanically (no Go toolchain): a server is the pod of
the last `X := / X = kubernetes.GetPod(t, s.Client, "ns", "name", ...)`
before the call, a port `int32(80)` or `int32(s.HostNetworkPorts[i])`
(written "hostport:i"); a subtest's "patches" are its statements that
change the cluster (mutate.Spec... = ..., SetLabels(...), Delete(ctx, np)).  Its output, upstream_cnp_asserts.json, is committed;
rerun it to re-derive that file from a checkout:

  extract_upstream_cnp.py REPO_DIR [COMMIT] > tests/oracle/upstream_cnp_asserts.json

REPO_DIR is a git directory (bare or not) of network-policy-api.
"""
import json
import re
import subprocess
import sys

NS_PREFIX = "network-policy-conformance-"
TOKEN = re.compile(
    r'(?P<patch>mutate(?:Namespace)?\.(?:Spec\.[^\n]*=[^\n]*|SetLabels\([^\n]*)'
    r'|s\.Client\.Delete\(ctx, np\))'
    r'|ShortName:\s*"(?P<short>\w+)"'
    r'|t\.Run\("(?P<run>(?:[^"\\]|\\.)*)"'
    r'|(?P<var>\w+)\s*:?=\s*kubernetes\.GetPod\(t,\s*s\.Client,\s*"(?P<gns>[^"]+)",\s*"(?P<gpod>[^"]+)"'
    r'|kubernetes\.PokeServer\(t,\s*s\.ClientSet,\s*&s\.KubeConfig,\s*"(?P<cns>[^"]+)",\s*"(?P<cpod>[^"]+)",\s*"(?P<proto>\w+)",'
    r'\s*(?P<svar>\w+)\.Status\.PodIP,\s*int32\((?P<port>[^)]+)\),\s*s\.TimeoutConfig,\s*(?P<ok>true|false)\)')


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo] + list(args), check=True,
                          capture_output=True, text=True).stdout


def short_ns(ns):
    return ns[len(NS_PREFIX):] if ns.startswith(NS_PREFIX) else ns


def port_of(text):
    text = text.strip()
    m = re.match(r"s\.HostNetworkPorts\[(\d+)\]$", text)
    if m:
        return "hostport:%s" % m.group(1)
    return int(text)


def extract(src):
    tests = []
    cur = sub = None
    pods = {}
    for m in TOKEN.finditer(src):
        if m.group("short"):
            cur = {"test": m.group("short"), "subtests": []}
            tests.append(cur)
            sub = None
        elif m.group("patch"):
            # Patch statements, so that check_cnp.py can tell the subtests
            # that change the cluster from those that do not.
            sub.setdefault("patches", []).append(m.group("patch").strip())
        elif m.group("run") is not None:
            sub = {"title": m.group("run"), "probes": []}
            cur["subtests"].append(sub)
        elif m.group("var"):
            pods[m.group("var")] = "%s/%s" % (short_ns(m.group("gns")), m.group("gpod"))
        else:
            if sub is None:   # a probe outside any t.Run
                sub = {"title": "", "probes": []}
                cur["subtests"].append(sub)
            sub["probes"].append({
                "from": "%s/%s" % (short_ns(m.group("cns")), m.group("cpod")),
                "to": pods[m.group("svar")],
                "protocol": m.group("proto").upper(),
                "port": port_of(m.group("port")),
                "allowed": m.group("ok") == "true"})
    return tests


def main():
    repo = sys.argv[1]
    commit = sys.argv[2] if len(sys.argv) > 2 else "HEAD"
    commit = git(repo, "rev-parse", commit).strip()
    files = [f for f in git(repo, "ls-tree", "-r", "--name-only", commit,
                            "conformance/tests").split()
             if f.endswith(".go") and "network-policy" in f]
    out = {"repo": "kubernetes-sigs/network-policy-api", "commit": commit,
           "tests": []}
    for f in sorted(files):
        for t in extract(git(repo, "show", "%s:%s" % (commit, f))):
            t["file"] = f
            out["tests"].append(t)
    out["tests"].sort(key=lambda t: t["test"])
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
