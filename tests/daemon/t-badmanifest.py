#!/usr/bin/env python3
"""A bad manifest in the source directory.

policy.json holds allow-x (x/b -> x/a:80 allowed, y/a -> x/a:80 denied).
Then bad.yaml arrives with NetworkPolicy y/bad whose ipBlock cidr is
"10.0.0.0/33", and broken.json with a JSON syntax error.  PASS when
  - sync still succeeds;
  - status 'last error' names the file, the object and the field (then the
    file, line and column of broken.json), and status counts the rejected;
  - allow-x is still enforced (probes);
  - every error is in the daemon's log, naming file, object and field;
  - the invalid y/bad, never valid, isolates y/a with no rules (its
    fail-closed stand-in: x/b -> y/a denied), status 'fail-closed
    policies' lists it and the log says "isolating its pods with no rules
    until it is fixed"; with bad.yaml gone, y/a is open again;
  - allow-x edited into an invalid version keeps its last valid version;
  - ClusterNetworkPolicy deny-into-y (admin, ingress only), never valid
    (a peer's label key is invalid), is enforced through its stand-in:
    every connection into y/a denied, y/a's own egress untouched; status
    'fail-closed policies' lists it, the log says "denying every
    connection of its subject until it is fixed", trace names the
    stand-in; with the file gone, y/a is open again.
Also reported, not judged: whether 'last error' clears once the directory
is clean again.
"""
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

BAD_YAML = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad
  namespace: "y"
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from:
    - ipBlock:
        cidr: 10.0.0.0/33
"""

BAD_CNP_YAML = """\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: deny-into-y
spec:
  tier: Admin
  priority: 10
  subject:
    namespaces:
      matchLabels: {kubernetes.io/metadata.name: "y"}
  ingress:
  - action: Deny
    from:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels: {"bad key!": v}
"""


def probes(bed, expect, problems, what):
    out = []
    for src, dst, want in expect:
        got = bed.probe_once(src, bed.pods[dst]["ip"])
        out.append("%s->%s %s" % (src, dst, got))
        if want is not None and got != want:
            problems.append("%s: %s -> %s:80 %s, expected %s" % (what, src, dst, got, want))
    dlib.log("%s: %s" % (what, ", ".join(out)))
    return out


def trace_denied(bed, problems, what, needles):
    """trace x/b y/a 80 says DENIED and names 'what' with 'needles'."""
    p = bed.appctl("trace", "x/b", "y/a", "80", check=False)
    dlib.log("trace x/b y/a 80 -> %d\n%s" % (p.returncode, p.stdout))
    if (p.returncode or not p.stdout.startswith("DENIED")
            or not all(n in p.stdout for n in needles)):
        problems.append("trace x/b y/a does not name %s: %r"
                        % (what, p.stdout[:400]))


def test(bed):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    bed.purge()
    problems = []
    good = [("x/b", "x/a", "allowed"), ("y/a", "x/a", "denied")]
    probes(bed, good + [("x/b", "y/a", "allowed")], problems, "good policies only")

    t = time.monotonic()
    bed.write("bad.yaml", None, text=BAD_YAML)
    try:
        bed.sync()
    except RuntimeError as e:
        problems.append("sync with a bad manifest: %s" % e)
    dlib.log("bad.yaml written and synced in %.1f ms" % ((time.monotonic() - t) * 1000))
    last = bed.status_field("last error") or ""
    source = bed.status_field("source") or ""
    dlib.log("status with bad.yaml: source: %s\n  last error: %s" % (source, last))
    want = ("bad.yaml", "NetworkPolicy y/bad", "spec.ingress[0].from[0].ipBlock.cidr",
            "10.0.0.0/33")
    if not all(w in last for w in want):
        problems.append("status 'last error' does not name %s: %r" % (want, last))
    if "1 rejected" not in source:
        problems.append("status does not count 1 rejected: %r" % source)

    bed.write("broken.json", None, text='{"apiVersion": "v1", "kind": "Namespace",')
    try:
        bed.sync()
    except RuntimeError as e:
        problems.append("sync with a broken manifest: %s" % e)
    bed.purge()
    last = bed.status_field("last error") or ""
    source = bed.status_field("source") or ""
    dlib.log("status with bad.yaml and broken.json: source: %s\n  last error: %s"
             % (source, last))
    if not ("broken.json" in last and "line 1 column" in last):
        problems.append("status 'last error' does not name broken.json and where: %r" % last)
    if "2 rejected" not in source:
        problems.append("status does not count 2 rejected: %r" % source)
    with open(bed.daemon_log) as f:
        logtext = f.read()
    bad_line = [l for l in logtext.splitlines() if all(w in l for w in want)]
    broken_line = [l for l in logtext.splitlines() if "broken.json" in l]
    dlib.log("log: %s" % (bad_line[-1] if bad_line else "NO LINE FOR bad.yaml"))
    dlib.log("log: %s" % (broken_line[-1] if broken_line else "NO LINE FOR broken.json"))
    if not bad_line:
        problems.append("the log does not name bad.yaml / NetworkPolicy y/bad / the field")
    if not broken_line:
        problems.append("the log does not name broken.json")
    probes(bed, good + [("x/b", "y/a", "denied")], problems,
           "with bad.yaml and broken.json")
    fc = bed.status_field("fail-closed policies") or ""
    dlib.log("fail-closed policies: %s" % fc)
    if not fc.startswith("1 (y/bad)"):
        problems.append("status 'fail-closed policies' does not list y/bad: %r" % fc)
    fc_line = [l for l in logtext.splitlines() if "NetworkPolicy y/bad" in l
               and "isolating its pods with no rules until it is fixed" in l]
    dlib.log("log: %s" % (fc_line[-1] if fc_line else "NO LINE saying y/bad isolates"))
    if not fc_line:
        problems.append("the log does not say that y/bad isolates its pods")
    # trace names the stand-in as the reason, not as a policy with rules.
    trace_denied(bed, problems, "y/bad's stand-in",
                 ["note: NetworkPolicy y/bad is invalid",
                  "isolates the pods it selects with no rules"])
    notes = []

    # A valid policy edited into an invalid one.
    bad_allow = dlib.allow_x()
    bad_allow["spec"]["ingress"][0]["ports"][0]["port"] = 70000
    bed.write("policy.json", dlib.v1list([bad_allow]))
    bed.sync()
    bed.purge()
    probes(bed, good, problems, "allow-x edited to port 70000 (kept)")
    last = bed.status_field("last error") or ""
    dlib.log("last error: %s" % last)
    if "keeping its last valid version" not in last:
        problems.append("allow-x edited: 'last error' does not say it is kept: %r" % last)

    # Clean again.
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.remove("bad.yaml")
    bed.remove("broken.json")
    bed.sync()
    bed.purge()
    probes(bed, good + [("x/b", "y/a", "allowed")], problems, "clean directory")
    fc = bed.status_field("fail-closed policies")
    if fc != "none":
        problems.append("clean directory: 'fail-closed policies' is %r" % fc)
    last = bed.status_field("last error")
    source = bed.status_field("source")
    notes.append("after cleaning up: source %r, last error %r" % (source, last))
    dlib.log(notes[-1])
    cnp_part(bed, good, problems)
    summary = "; ".join(problems) if problems else \
        ("last error named file/object/field; allow-x enforced throughout, "
         "kept when edited invalid; invalid y/bad isolated y/a until removed; "
         "invalid ClusterNetworkPolicy deny-into-y denied every connection "
         "into y/a until removed")
    return not problems, summary + " [" + "; ".join(notes) + "]"


def cnp_part(bed, good, problems):
    """A ClusterNetworkPolicy never valid: its fail-closed stand-in."""
    bed.write("badcnp.yaml", None, text=BAD_CNP_YAML)
    bed.sync()
    bed.purge()
    # Into y/a from anywhere: denied; from y/a (its egress): as before.
    probes(bed, good + [("x/b", "y/a", "denied"), ("z/a", "y/a", "denied"),
                        ("y/a", "z/a", "allowed")],
           problems, "with badcnp.yaml")
    fc = bed.status_field("fail-closed policies") or ""
    dlib.log("fail-closed policies: %s" % fc)
    if not fc.startswith("1 (ClusterNetworkPolicy deny-into-y)"):
        problems.append("status 'fail-closed policies' does not list "
                        "deny-into-y: %r" % fc)
    with open(bed.daemon_log) as f:
        lines = [l for l in f.read().splitlines()
                 if "ClusterNetworkPolicy deny-into-y" in l
                 and 'spec.ingress[0].from[0].pods.podSelector.matchLabels' in l
                 and "denying every connection of its subject until it is "
                     "fixed" in l]
    dlib.log("log: %s" % (lines[-1] if lines else "NO LINE for deny-into-y"))
    if not lines:
        problems.append("the log does not say that deny-into-y denies its "
                        "subject's connections")
    trace_denied(bed, problems, "deny-into-y's stand-in",
                 ["deny-into-y", "fail-closed stand-in"])
    bed.remove("badcnp.yaml")
    bed.sync()
    bed.purge()
    probes(bed, good + [("x/b", "y/a", "allowed"), ("z/a", "y/a", "allowed")],
           problems, "badcnp.yaml removed")
    fc = bed.status_field("fail-closed policies")
    if fc != "none":
        problems.append("badcnp.yaml removed: 'fail-closed policies' is %r"
                        % fc)


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("bad-manifest", test))
