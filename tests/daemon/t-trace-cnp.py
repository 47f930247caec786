#!/usr/bin/env python3
"""trace and explain with ClusterNetworkPolicy: the tier, the policy and
the rule that decided, as the daemon names them.

On the bed, the cluster of trace's CNP captures (tests/data/trace/
capture.py --cluster 5: the bed's pods with port 80 named "http",
x/allow-x, and the ClusterNetworkPolicies tenant-isolation (admin: z may
reach x's port 80, not y), web-from-z (admin: x/a admits z on "http",
passes y on to NetworkPolicy), quiet-y (baseline: no ingress to y),
no-names (baseline: x/a's egress to a domain name fails closed)):

  - `trace` of six connections names the deciding tier, policy, rule (its
    index and its name, which only the daemon's objects hold) and action:
    admin Accept on both sides, admin Deny, admin Pass then NetworkPolicy's
    default deny, baseline Deny, admin misses then NetworkPolicy, a
    fail-closed baseline Deny; each verdict checked with a real probe;
  - `explain` of a tier flow's dump-flows line names the policy, the rule,
    its tier and action; of a rule the policy does not have, says so;
  - `explain NS/POD` lists the policies of each tier and direction in
    evaluation order, and NetworkPolicy's isolation;
  - after tenant-isolation's rule is renamed, trace names the new name;
    after tenant-isolation is deleted, z/a -> y/a is decided one tier
    later, by quiet-y.
"""
import os
import re
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "data", "trace"))
import capture  # noqa: E402


def test(bed):
    bed.start()
    doc = capture.cluster(False, True)
    bed.write("cluster.json", doc)
    bed.sync()
    problems = []

    def appctl(*args):
        p = bed.appctl(*args, check=False)
        dlib.log("---- %s -> exit %d\n%s%s" % (" ".join(args)[:100],
                                               p.returncode, p.stdout,
                                               p.stderr))
        return p.returncode, p.stdout, p.stderr

    def check_trace(label, src, dst, dst_ip, verdict, needles):
        rc, out, err = appctl("trace", src, dst, "80")
        first = out.splitlines()[0] if out else ""
        if rc or not first.startswith(verdict + ":"):
            problems.append("%s: expected %s, got exit %d: %r" % (
                label, verdict, rc, first or err.strip()))
        for n in needles:
            if n not in out:
                problems.append("%s: output lacks %r" % (label, n))
        got = bed.probe_once(src, dst_ip)
        want = "allowed" if verdict == "ALLOWED" else "denied"
        dlib.log("probe %s -> %s:80: %s" % (src, dst_ip, got))
        if got != want:
            problems.append("%s: trace says %s but a real packet was %s"
                            % (label, verdict, got))

    check_trace("z/a -> x/a (admin Accept)", "z/a", "x/a", "10.9.1.1",
                "ALLOWED",
                ['  egress:  allowed by admin ClusterNetworkPolicy '
                 'tenant-isolation egress rule 0 ("accept-x-web"): Accept\n',
                 '  ingress: allowed by admin ClusterNetworkPolicy web-from-z '
                 'ingress rule 0 ("z-to-web"): Accept\n',
                 '  table 7 admin tier ingress: ClusterNetworkPolicy '
                 'web-from-z ingress rule 0 ("z-to-web"): Accept -> allowed '
                 'for ingress, on to the commit (table 11)\n'])
    check_trace("z/a -> y/a (admin Deny)", "z/a", "y/a", "10.9.2.1", "DENIED",
                ['  egress:  DENIED by admin ClusterNetworkPolicy '
                 'tenant-isolation egress rule 1 ("deny-other-tenants"): '
                 'Deny\n',
                 '  table 3 admin tier egress: ClusterNetworkPolicy '
                 'tenant-isolation egress rule 1 ("deny-other-tenants"): '
                 'Deny -> drop\n'])
    check_trace("y/a -> x/a (admin Pass)", "y/a", "x/a", "10.9.1.1", "DENIED",
                ['  ingress: DENIED by the default deny of x/a: isolated for '
                 'ingress by x/allow-x, and no ingress rule admits this '
                 '(after admin ClusterNetworkPolicy web-from-z ingress rule 1 '
                 '("y-to-netpol"): Pass, on to NetworkPolicy)\n',
                 '  table 7 admin tier ingress: ClusterNetworkPolicy '
                 'web-from-z ingress rule 1 ("y-to-netpol"): Pass -> on to '
                 'NetworkPolicy (table 8)\n'])
    check_trace("x/b -> y/a (baseline Deny)", "x/b", "y/a", "10.9.2.1",
                "DENIED",
                ['  ingress: DENIED by baseline ClusterNetworkPolicy quiet-y '
                 'ingress rule 0 ("deny-all"): Deny\n',
                 '  table 10 baseline tier ingress: ClusterNetworkPolicy '
                 'quiet-y ingress rule 0 ("deny-all"): Deny -> drop\n'])
    check_trace("x/b -> x/a (admin miss)", "x/b", "x/a", "10.9.1.1",
                "ALLOWED",
                ["  table 7 admin tier ingress: no admin ClusterNetworkPolicy "
                 "decides x/a's ingress -> NetworkPolicy\n",
                 "  ingress: allowed by NetworkPolicy x/allow-x ingress "
                 "rule 0\n"])
    check_trace("x/a -> y/a (fails closed)", "x/a", "y/a", "10.9.2.1",
                "DENIED",
                ['  egress:  DENIED by baseline ClusterNetworkPolicy no-names '
                 'egress rule 0 ("deny-example"): Deny\n'])

    # explain of a tier flow, taken from the switch.
    flows = bed.flows()
    deny = [l for c, l in flows
            if "table=3" in l and "priority=59999" in l and "drop" in l]
    if not deny:
        problems.append("no Deny flow at priority 59999 in table 3")
    else:
        rc, out, _ = appctl("explain", deny[0])
        for n in ['ClusterNetworkPolicy tenant-isolation, egress rule 1 '
                  '("deny-other-tenants") (generation ',
                  'installed: yes',
                  'kind 6, policy number ',
                  'ClusterNetworkPolicy tenant-isolation: Admin tier, '
                  'priority 10; egress rule 1: Deny\n']:
            if rc or n not in out:
                problems.append("explain of %r: lacks %r" % (deny[0], n))
        cookie = int(re.search(r"cookie=(0x[0-9a-f]+)", deny[0]).group(1), 16)
        rc, out, _ = appctl("explain", "%#x" % ((cookie & ~0x7ff) | 7))
        if rc or ("ClusterNetworkPolicy tenant-isolation has no egress rule "
                  "7 now (it has 2)") not in out:
            problems.append("explain of a rule tenant-isolation does not "
                            "have: %r" % out)

    # explain NS/POD.
    rc, out, _ = appctl("explain", "x/a")
    want = ('ingress (connections to x/a):\n'
            '    admin tier:\n'
            '      1. ClusterNetworkPolicy web-from-z (priority 20): ingress '
            'rule 0 "z-to-web": Accept, ingress rule 1 "y-to-netpol": Pass\n'
            '    NetworkPolicy: isolated by x/allow-x (1 ingress rule)\n'
            '    baseline tier: none\n')
    if rc or want not in out or ('no-names (priority 20): egress rule 0 '
                                 '"deny-example": Deny (fails closed')\
            not in out:
        problems.append("explain x/a: %r" % out)
    rc, out, err = appctl("explain", "x/nope")
    if not rc or "unknown pod x/nope" not in err + out:
        problems.append("explain x/nope: exit %d %r" % (rc, err + out))

    # The rule's name is the object's now: renamed, trace says so.
    for item in doc["items"]:
        if item["metadata"]["name"] == "tenant-isolation":
            item["spec"]["egress"][1]["name"] = "no-tenant-y"
    bed.write("cluster.json", doc)
    bed.sync()
    check_trace("z/a -> y/a (renamed rule)", "z/a", "y/a", "10.9.2.1",
                "DENIED",
                ['  egress:  DENIED by admin ClusterNetworkPolicy '
                 'tenant-isolation egress rule 1 ("no-tenant-y"): Deny\n'])

    # Deleted: the baseline tier decides instead.
    doc["items"] = [i for i in doc["items"]
                    if i["metadata"]["name"] != "tenant-isolation"]
    bed.write("cluster.json", doc)
    bed.sync()
    check_trace("z/a -> y/a (admin policy deleted)", "z/a", "y/a",
                "10.9.2.1", "DENIED",
                ["  table 3 admin tier egress: no admin ClusterNetworkPolicy "
                 "decides z/a's egress -> NetworkPolicy\n",
                 '  ingress: DENIED by baseline ClusterNetworkPolicy quiet-y '
                 'ingress rule 0 ("deny-all"): Deny\n'])

    summary = ("trace names the tier, policy, rule and action of every "
               "ClusterNetworkPolicy decision, each agreeing with a real "
               "probe; explain names tier rules and a pod's policies in "
               "order" if not problems else "; ".join(problems))
    return not problems, summary


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("trace-cnp", test))
