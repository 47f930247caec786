#!/usr/bin/env python3
"""The HTTP endpoint: /healthz, /readyz and /metrics of a running daemon.

The daemon runs with --http 127.0.0.1:PORT (a free port), --drift-interval
1 and --stale-after 3.  Every /metrics answer goes through a strict parser
of the Prometheus text format (HELP and TYPE before the samples, name and
label syntax, escapes, no repeated series, counters named _total and never
negative, histogram buckets ascending and cumulative with +Inf equal to
_count).  Steps:

  1. the daemon started while ovs-vswitchd is stopped: /readyz 503 "waiting
     for the first sync", /healthz 200 ("recovering"), switch_connected 0;
     then the switch started: /readyz 200;
  2. a policy added: engine runs, flow adds, successful bundle commits,
     realization observations, policies compiled and the last commit time
     all move; networkpolicies 1; flows per table equal what
     `ovs-ofctl dump-flows` shows in each table for our cookie range;
     local, bound and waiting pods 4, 4, 0;
  3. one of our flows deleted by hand: drift repairs +1, drift checks move;
  4. a file with a syntax error: source_errors{kind="files"} moves; a
     policy with an invalid CIDR: invalid_objects{kind="networkpolicies"}
     moves;
  5. ovs-vswitchd restarted: switch reconnects +1, full replaces move, and
     /healthz is 200 at every poll while it comes back;
  6. ovs-vswitchd stopped for longer than --stale-after: /readyz turns 503
     ("have not matched"), /healthz stays 200; started again: /readyz 200;
  7. a port plugged for a pod the daemon does not know: waiting pods 1,
     then 0 once the pod is in the manifests (local pods 5);
  8. 404 for another path, 405 (with Allow) for POST, HEAD without a body;
  9. the daemon follows tests/kube-apiserver-sim instead: cut watches move
     watch_reconnects of every kind, 410 Gone moves relists (of the kinds
     that got it) and lists, an API
     answering 503 moves source_errors and makes /readyz 503 ("out of
     date") after --stale-after while /healthz stays 200; 200 again once
     the API answers.
"""
import http.client
import math
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402

STALE = 3

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*$")


class Http:
    def __init__(self, port):
        self.port = port

    def request(self, method, path):
        """(status, headers dict, body text)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path)
            r = c.getresponse()
            body = r.read().decode()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            c.close()

    def get(self, path):
        """(status, body); status 0 while nothing listens (yet)."""
        try:
            status, _, body = self.request("GET", path)
        except ConnectionRefusedError as e:
            return 0, str(e)
        return status, body

    def metrics(self):
        status, headers, body = self.request("GET", "/metrics")
        if status != 200:
            raise AssertionError("/metrics: %d %s" % (status, body))
        ctype = headers.get("content-type", "")
        if not ctype.startswith("text/plain; version=0.0.4"):
            raise AssertionError("/metrics Content-Type %r" % ctype)
        return parse_metrics(body)


def parse_value(text, where):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$", text):
        raise AssertionError("%s: value %r is not a number" % (where, text))
    return float(text)


def parse_labels(text, where):
    """{name: value} from the inside of {...}, escapes resolved."""
    labels = {}
    i = 0
    while i < len(text):
        m = re.match(r'([^=]*)="', text[i:])
        if not m or not LABEL.match(m.group(1)) or m.group(1).startswith("__"):
            raise AssertionError("%s: bad label name in %r" % (where, text))
        name = m.group(1)
        i += m.end()
        value = []
        while True:
            if i >= len(text):
                raise AssertionError("%s: unterminated label value" % where)
            ch = text[i]
            if ch == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise AssertionError("%s: bad escape \\%s" % (where, nxt))
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            elif ch == '"':
                i += 1
                break
            elif ch == "\n":
                raise AssertionError("%s: newline in a label value" % where)
            else:
                value.append(ch)
                i += 1
        if name in labels:
            raise AssertionError("%s: label %s twice" % (where, name))
        labels[name] = "".join(value)
        if i < len(text):
            if text[i] != ",":
                raise AssertionError("%s: ',' expected in %r" % (where, text))
            i += 1
    return labels


def parse_metrics(text):
    """{family: {"type", "help", "samples": {(name, labels tuple): value}}},
    checked strictly; raises AssertionError on anything off."""
    if not text.endswith("\n"):
        raise AssertionError("the text does not end with a newline")
    fams = {}
    current = None
    seen = set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d %r" % (n, line)
        if line.startswith("# HELP "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not NAME.match(parts[2]):
                raise AssertionError("%s: bad HELP" % where)
            name = parts[2]
            if name in fams:
                raise AssertionError("%s: family %s declared twice" % (where, name))
            if re.search(r"\\[^\\n]", parts[3].replace("\\\\", "")):
                raise AssertionError("%s: bad escape in HELP" % where)
            fams[name] = {"help": parts[3], "type": None, "samples": {}}
            current = name
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[2] != current or fams[current]["type"]:
                raise AssertionError("%s: TYPE must follow its own HELP" % where)
            if parts[3] not in ("counter", "gauge", "histogram"):
                raise AssertionError("%s: type %s" % (where, parts[3]))
            fams[current]["type"] = parts[3]
            continue
        if line.startswith("#") or not line:
            raise AssertionError("%s: unexpected line" % where)
        m = re.match(r"([^{ ]+)(\{(.*)\})? (\S+)$", line)
        if not m or not NAME.match(m.group(1)):
            raise AssertionError("%s: not a sample" % where)
        name, labels = m.group(1), parse_labels(m.group(3) or "", where)
        value = parse_value(m.group(4), where)
        fam = fams.get(current)
        if not fam or not fam["type"]:
            raise AssertionError("%s: sample before its HELP and TYPE" % where)
        allowed = {current}
        if fam["type"] == "histogram":
            allowed = {current + s for s in ("_bucket", "_sum", "_count")}
        if name not in allowed:
            raise AssertionError("%s: sample %s outside its family %s"
                                 % (where, name, current))
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise AssertionError("%s: series repeated" % where)
        seen.add(key)
        fam["samples"][key] = value
    for name, fam in fams.items():
        if not fam["samples"]:
            raise AssertionError("family %s has no samples" % name)
        if not name.startswith("ovs_netpol_"):
            raise AssertionError("family %s is not ovs_netpol_*" % name)
        if fam["type"] == "counter":
            if not name.endswith("_total"):
                raise AssertionError("counter %s does not end in _total" % name)
            for k, v in fam["samples"].items():
                if not v >= 0 or math.isinf(v):
                    raise AssertionError("counter %s = %r" % (k, v))
        elif name.endswith("_total"):
            raise AssertionError("%s %s ends in _total" % (fam["type"], name))
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return fams


def check_histogram(name, samples):
    groups = {}
    for (sname, labels), v in samples.items():
        d = dict(labels)
        le = d.pop("le", None)
        g = groups.setdefault(tuple(sorted(d.items())), {"buckets": []})
        if sname == name + "_bucket":
            if le is None:
                raise AssertionError("%s bucket without le" % name)
            g["buckets"].append((parse_value(le, name), v))
        elif le is not None:
            raise AssertionError("%s: le on %s" % (name, sname))
        else:
            g[sname[len(name) + 1:]] = v
    for key, g in groups.items():
        b = g["buckets"]
        if [x for x, _ in b] != sorted(x for x, _ in b):
            raise AssertionError("%s: buckets not in ascending order" % name)
        if not b or b[-1][0] != math.inf:
            raise AssertionError("%s: no +Inf bucket last" % name)
        counts = [c for _, c in b]
        if counts != sorted(counts):
            raise AssertionError("%s: bucket counts not cumulative: %s" % (name, counts))
        if "count" not in g or "sum" not in g or b[-1][1] != g["count"]:
            raise AssertionError("%s: +Inf bucket %s != _count %s (or no _sum)"
                                 % (name, b[-1][1], g.get("count")))


def value(fams, name, **labels):
    """The sample of family 'name' (or of a histogram's part) with exactly
    'labels'."""
    fam_name = re.sub(r"_(bucket|sum|count)$", "", name) if name not in fams else name
    fam = fams.get(fam_name) or fams.get(name)
    if fam is None:
        raise AssertionError("no family %s" % name)
    key = (name, tuple(sorted(labels.items())))
    if key not in fam["samples"]:
        raise AssertionError("no sample %s%s" % (name, labels))
    return fam["samples"][key]


def our_flows_by_table(bed):
    counts = {}
    for c, line in dlib.ours(bed.flows()):
        t = int(re.search(r"table=(\d+)", line).group(1))
        counts[t] = counts.get(t, 0) + 1
    return counts


def wait_for(what, fn, limit=20.0, step=0.1):
    t = time.monotonic()
    while True:
        r = fn()
        if r:
            return r
        if time.monotonic() - t > limit:
            raise AssertionError("%s: not within %g s" % (what, limit))
        time.sleep(step)


KINDS = ("namespaces", "pods", "networkpolicies")


def kube_phase(bed, expect):
    """The daemon follows tests/kube-apiserver-sim instead of the directory;
    the stand-in's faults move the per-kind counters."""
    import json
    import os
    import ssl
    import urllib.request
    bed.stop_daemon()
    token = "t-http-token"
    out = os.path.join(bed.work, "sim.out")
    kc = os.path.join(bed.work, "sim.kubeconfig")
    sim = subprocess.Popen(
        [sys.executable, os.path.join(dlib.TOP, "tests", "kube-apiserver-sim"),
         "--listen", "127.0.0.1:0", "--tls-dir", os.path.join(bed.work, "tls"),
         "--token", token, "--kubeconfig-out", kc, "--bookmark-interval", "1",
         "--load", os.path.join(bed.src, "cluster.json"),
         "--load", os.path.join(bed.src, "policy.json")],
        stdout=open(out, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    port = dlib.free_port()
    web = Http(port)
    daemon = None
    try:
        line = wait_for("the API stand-in listening", lambda: (
            lambda t: t if t.startswith("listening ") else None)(
                open(out).readline()))
        base = line.split()[1].strip()
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

        def fault(**f):
            req = urllib.request.Request(
                base + "/sim/fault", data=json.dumps(f).encode(), method="POST",
                headers={"Authorization": "Bearer " + token,
                         "Content-Type": "application/json"})
            urllib.request.urlopen(req, context=ctx, timeout=10).read()

        log = open(bed.daemon_log, "a")
        daemon = subprocess.Popen(
            [bed.daemon_bin, "--kubeconfig", kc, "--ovs-rundir",
             os.path.join(bed.sb, "run"), "--node", dlib.NODE, "--node-address",
             dlib.NODE_ADDRESS, "--control", bed.ctl, "--http",
             "127.0.0.1:%d" % port, "--stale-after", str(STALE)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for("/readyz 200 from the API", lambda: web.get("/readyz")[0] == 200
                 if daemon.poll() is None else True, limit=30)
        expect(daemon.poll() is None, "the daemon on the API exited")
        m0 = web.metrics()

        def per_kind(m, name):
            return [value(m, name, kind=k) for k in KINDS]

        dlib.log("kube: objects %s, lists %s, synced %s" % (
            per_kind(m0, "ovs_netpol_objects"), per_kind(m0, "ovs_netpol_lists_total"),
            per_kind(m0, "ovs_netpol_source_synced")))
        expect(per_kind(m0, "ovs_netpol_objects") == [3, 4, 1], "objects from the API")
        # Events are written to the API (README, "Events"): their counters
        # are there, at 0 with nothing to report; not with --source dir.
        expect(value(m0, "ovs_netpol_events_reported_total") == 0
               and value(m0, "ovs_netpol_events_writes_total", op="create") == 0
               and value(m0, "ovs_netpol_events_write_outcomes_total",
                         outcome="failed") == 0
               and value(m0, "ovs_netpol_events_queued") == 0,
               "the Events' counters on the API, with nothing to report")
        expect(per_kind(m0, "ovs_netpol_source_synced") == [1, 1, 1], "source_synced not 1")

        def counts_moved(m_before, name, what, every=all):
            m = wait_for(what, lambda: (
                lambda m: m if every(b > a for a, b in zip(per_kind(m_before, name),
                                                           per_kind(m, name))) else None)(
                    web.metrics()), limit=20)
            dlib.log("kube: %s: %s %s -> %s" % (what, name, per_kind(m_before, name),
                                                per_kind(m, name)))
            return m

        # Watches cut: each kind resumes its watch.
        fault(cut_watches=True)
        m1 = counts_moved(m0, "ovs_netpol_watch_reconnects_total", "watches cut")
        expect(per_kind(m1, "ovs_netpol_relists_total") == per_kind(m0, "ovs_netpol_relists_total"),
               "a cut watch relisted")
        # 410 Gone at the next watches (whichever kinds reconnect
        # first): relists there.
        fault(gone=3)
        fault(cut_watches=True)
        m2 = counts_moved(m1, "ovs_netpol_relists_total", "410 Gone", every=any)
        m2 = counts_moved(m1, "ovs_netpol_lists_total", "410 Gone: lists", every=any)
        # Failing requests: errors, the source out of sync, stale.
        fault(status5xx=100000, code=503)
        fault(cut_watches=True)
        m3 = counts_moved(m2, "ovs_netpol_source_errors_total", "API answering 503")
        rs, rb = wait_for("/readyz 503 when the source is stale", lambda: (
            lambda r: r if r[0] == 503 else None)(web.get("/readyz")), limit=STALE + 20)
        hs, _ = web.get("/healthz")
        dlib.log("kube: API failing: /readyz %d %r; /healthz %d" % (rs, rb.strip(), hs))
        expect("out of date" in rb and "not in sync" in rb, "stale source: /readyz %r" % rb)
        expect(hs == 200, "/healthz %d while only the API fails" % hs)
        expect(0 in per_kind(web.metrics(), "ovs_netpol_source_synced"),
               "source_synced 1 while every request fails")
        fault(reset=True)
        wait_for("/readyz 200 once the API answers", lambda: web.get("/readyz")[0] == 200,
                 limit=60)
        dlib.log("kube: API back: /readyz %r" % web.get("/readyz")[1].strip())
    finally:
        if daemon and daemon.poll() is None:
            daemon.terminate()
            daemon.wait(timeout=10)
        sim.terminate()
        try:
            sim.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()


def test(bed):
    problems = []

    def expect(cond, msg):
        if not cond:
            problems.append(msg)
            dlib.log("PROBLEM: " + msg)

    port = dlib.free_port()
    web = Http(port)
    bed.start(daemon_args=["--http", "127.0.0.1:%d" % port,
                           "--drift-interval", "1", "--stale-after", str(STALE)])

    # 1. Before the first sync: the daemon starts while the switch is down.
    bed.stop_daemon()
    dlib.run([dlib.SANDBOX_SH, "stop-vswitchd", bed.sb])
    bed.start_daemon(sync=False)
    wait_for("/healthz answers", lambda: web.get("/healthz")[0] in (200, 503))
    time.sleep(1)
    rs, rb = web.get("/readyz")
    hs, hb = web.get("/healthz")
    m = web.metrics()
    dlib.log("switch stopped: /readyz %d %r; /healthz %d %r" % (rs, rb.strip(), hs, hb.strip()))
    expect(rs == 503 and "waiting for the first sync" in rb
           and "not connected" in rb, "before the first sync: /readyz %d %r" % (rs, rb))
    expect(hs == 200 and "recovering" in hb, "switch down at start: /healthz %d %r" % (hs, hb))
    expect(value(m, "ovs_netpol_ready") == 0 and value(m, "ovs_netpol_switch_connected") == 0,
           "before the first sync: ready/switch_connected gauges not 0")
    expect(value(m, "ovs_netpol_last_commit_timestamp_seconds") == 0,
           "a commit time before any commit")
    dlib.run([dlib.SANDBOX_SH, "start-vswitchd", bed.sb])
    wait_for("/readyz 200 once the switch is back", lambda: web.get("/readyz")[0] == 200)
    bed.sync()
    rs, rb = web.get("/readyz")
    dlib.log("switch started: /readyz %d %r" % (rs, rb.strip()))
    expect(rs == 200 and rb.startswith("ready:"), "after the first sync: /readyz %d %r" % (rs, rb))
    m0 = web.metrics()
    expect(value(m0, "ovs_netpol_ready") == 1, "ready gauge not 1 after the sync")
    expect("ovs_netpol_events_reported_total" not in m0,
           "Events' counters with --source dir (no API to write them to)")
    expect(value(m0, "ovs_netpol_switch_reconnects_total") == 0,
           "the first connection counted as a reconnect")
    dlib.log("metrics: %d families" % len(m0))

    # 2. A policy: the engine, the commits and the flows move.
    t_before = time.time()
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    m1 = web.metrics()

    def moved(name, **labels):
        a, b = value(m0, name, **labels), value(m1, name, **labels)
        dlib.log("  %s%s: %g -> %g" % (name, labels or "", a, b))
        return b > a

    for name, labels in (("ovs_netpol_engine_runs_total", {}),
                         ("ovs_netpol_engine_run_duration_seconds_count", {}),
                         ("ovs_netpol_flow_mods_total", {"operation": "add"}),
                         ("ovs_netpol_bundle_commits_total", {"result": "success"}),
                         ("ovs_netpol_realization_duration_seconds_count", {}),
                         ("ovs_netpol_policies_compiled_total", {})):
        expect(moved(name, **labels), "adding a policy did not move %s%s" % (name, labels))
    expect(value(m1, "ovs_netpol_bundle_commits_total", result="failure") == 0,
           "failed commits on a healthy switch")
    expect(value(m1, "ovs_netpol_objects", kind="networkpolicies") == 1
           and value(m1, "ovs_netpol_objects", kind="pods") == 4
           and value(m1, "ovs_netpol_objects", kind="namespaces") == 3,
           "objects by kind wrong")
    lct = value(m1, "ovs_netpol_last_commit_timestamp_seconds")
    expect(t_before - 1 <= lct <= time.time() + 1,
           "last commit time %f not around the policy's commit (%f)" % (lct, t_before))
    pods = [value(m1, "ovs_netpol_%s_pods" % k) for k in ("local", "bound", "waiting")]
    dlib.log("  local, bound, waiting pods: %s" % pods)
    expect(pods == [4, 4, 0], "local/bound/waiting pods %s, not [4, 4, 0]" % pods)
    switch = our_flows_by_table(bed)
    ours = {int(dict(k[1])["table_id"]): v
            for k, v in m1["ovs_netpol_ovs_flows"]["samples"].items()}
    dlib.log("  flows by table: metrics %s, dump-flows %s" % (
        sorted(ours.items()), sorted(switch.items())))
    expect(sorted(ours) == list(range(12)), "ovs_flows tables %s" % sorted(ours))
    expect(all(ours[t] == switch.get(t, 0) for t in ours) and set(switch) <= set(ours),
           "flows by table differ from dump-flows: %s vs %s" % (ours, switch))
    expect(sum(ours.values()) == value(m1, "ovs_netpol_desired_flows"),
           "installed flows %d != desired %d" % (sum(ours.values()),
                                                 value(m1, "ovs_netpol_desired_flows")))
    expect(dict(m1["ovs_netpol_ovs_flows"]["samples"])
           [("ovs_netpol_ovs_flows", (("table_id", "8"), ("table_name", "ingress_rules")))] > 0,
           "no ingress rule flows counted for allow-x")

    # 3. Drift: a flow of ours deleted by hand is repaired, and counted.
    checks0 = value(m1, "ovs_netpol_drift_checks_total")
    repairs0 = value(m1, "ovs_netpol_drift_repairs_total")
    bed.ofctl("--strict", "del-flows", "br-int", "table=0,priority=90,ip")
    m2 = wait_for("a drift repair counted", lambda: (
        lambda m: m if value(m, "ovs_netpol_drift_repairs_total") > repairs0 else None)(
            web.metrics()))
    dlib.log("drift: repairs %g -> %g, checks %g -> %g" % (
        repairs0, value(m2, "ovs_netpol_drift_repairs_total"), checks0,
        value(m2, "ovs_netpol_drift_checks_total")))
    expect(value(m2, "ovs_netpol_drift_repairs_total") == repairs0 + 1,
           "one deletion, %g repairs" % (value(m2, "ovs_netpol_drift_repairs_total") - repairs0))
    expect(value(m2, "ovs_netpol_drift_checks_total") > checks0, "drift checks did not move")
    wait_for("the table restored", lambda: our_flows_by_table(bed) == switch)
    bed.sync()

    # 4. Bad manifests: errors counted.
    m3 = web.metrics()
    bed.write("broken.json", None, text='{"apiVersion": "v1", "kind": ')
    bed.write("bad.json", dlib.policy("y", "bad", {
        "podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/99"}}]}]}))
    bed.sync()
    m4 = web.metrics()
    for name, labels in (("ovs_netpol_source_errors_total", {"kind": "files"}),
                         ("ovs_netpol_invalid_objects_total", {"kind": "networkpolicies"})):
        a, b = value(m3, name, **labels), value(m4, name, **labels)
        dlib.log("bad manifests: %s%s %g -> %g" % (name, labels, a, b))
        expect(b > a, "bad manifests did not move %s%s" % (name, labels))
    expect(value(m4, "ovs_netpol_invalid_objects_total", kind="pods")
           == value(m3, "ovs_netpol_invalid_objects_total", kind="pods"),
           "invalid pods counted for a bad policy")
    expect(value(m4, "ovs_netpol_broken_files") == 1, "broken_files gauge not 1")
    bed.remove("broken.json")
    bed.remove("bad.json")
    bed.sync()

    # 5. ovs-vswitchd restarted: a reconnect; /healthz 200 throughout.
    m5 = web.metrics()
    health = []
    dlib.run([dlib.SANDBOX_SH, "stop-vswitchd", bed.sb])
    t = time.monotonic()
    while time.monotonic() - t < 1.0:
        health.append(web.get("/healthz"))
        time.sleep(0.05)
    dlib.run([dlib.SANDBOX_SH, "start-vswitchd", bed.sb])
    m6 = wait_for("switch connected again", lambda: (
        lambda m: m if value(m, "ovs_netpol_switch_connected") == 1
        and value(m, "ovs_netpol_switch_reconnects_total") > 0 else None)(web.metrics()))
    health.append(web.get("/healthz"))
    bed.sync()
    m6 = web.metrics()
    bad = [h for h in health if h[0] != 200]
    dlib.log("vswitchd restart: /healthz polled %d times, %d not 200; e.g. %r" % (
        len(health), len(bad), health[len(health) // 2][1].strip()))
    expect(not bad, "/healthz not 200 while the switch recovered: %s" % bad[:3])
    expect(any("recovering" in b for _, b in health), "/healthz never said recovering")
    for name, d in (("ovs_netpol_switch_reconnects_total", 1),):
        a, b = value(m5, name), value(m6, name)
        dlib.log("  %s: %g -> %g" % (name, a, b))
        expect(b == a + d, "%s moved by %g, not %d" % (name, b - a, d))
    expect(value(m6, "ovs_netpol_full_replaces_total") > value(m5, "ovs_netpol_full_replaces_total"),
           "no full replace after the reconnection")
    expect(our_flows_by_table(bed) == switch, "the table after the restart differs")

    # 6. Stale: the switch away for longer than --stale-after.
    dlib.run([dlib.SANDBOX_SH, "stop-vswitchd", bed.sb])
    t = time.monotonic()
    rs, rb = wait_for("/readyz 503 once stale", lambda: (
        lambda r: r if r[0] == 503 else None)(web.get("/readyz")), limit=STALE + 10)
    waited = time.monotonic() - t
    hs, hb = web.get("/healthz")
    dlib.log("switch away %.1f s: /readyz %d %r; /healthz %d %r" % (
        waited, rs, rb.strip(), hs, hb.strip()))
    expect(waited >= STALE - 0.5, "/readyz 503 after %.1f s, before --stale-after %d" % (waited, STALE))
    expect("have not matched" in rb and "not connected" in rb, "stale /readyz says %r" % rb)
    expect(hs == 200, "/healthz %d while the switch is down and retried: %r" % (hs, hb))
    expect(value(web.metrics(), "ovs_netpol_ready") == 0, "ready gauge not 0 when stale")
    dlib.run([dlib.SANDBOX_SH, "start-vswitchd", bed.sb])
    wait_for("/readyz 200 again", lambda: web.get("/readyz")[0] == 200)
    bed.sync()
    dlib.log("switch back: /readyz %r" % web.get("/readyz")[1].strip())

    # 7. A CNI plugs a port for a pod the daemon does not know yet: it
    # waits for its flows until the pod appears.
    dlib.run([dlib.SANDBOX_SH, "add-pod", bed.sb, "x", "n", "10.9.1.9"])
    m7 = wait_for("the new port bound", lambda: (
        lambda m: m if value(m, "ovs_netpol_bound_pods") == 5 else None)(web.metrics()))
    waiting = value(m7, "ovs_netpol_waiting_pods")
    bed.write("newpod.json", dlib.pod("x", "n", "10.9.1.9", {"app": "n"}))
    bed.sync()
    m8 = wait_for("the new pod's flows in", lambda: (
        lambda m: m if value(m, "ovs_netpol_waiting_pods") == 0 else None)(web.metrics()))
    dlib.log("a port for an unknown pod: waiting pods %g; the pod known: %g, local pods %g" % (
        waiting, value(m8, "ovs_netpol_waiting_pods"), value(m8, "ovs_netpol_local_pods")))
    expect(waiting == 1, "a port bound to an unknown pod: waiting pods %g, not 1" % waiting)
    expect(value(m8, "ovs_netpol_local_pods") == 5, "the new pod is not counted as local")

    # 8. Paths and methods.
    s, h, b = web.request("GET", "/nope")
    expect(s == 404, "/nope: %d" % s)
    s, h, b = web.request("POST", "/metrics")
    expect(s == 405 and h.get("allow") == "GET, HEAD", "POST /metrics: %d %s" % (s, h))
    s, h, b = web.request("HEAD", "/metrics")
    expect(s == 200 and b == "" and int(h.get("content-length", "0")) > 0,
           "HEAD /metrics: %d, %d bytes" % (s, len(b)))
    s, h, b = web.request("GET", "/readyz?verbose=1")
    expect(s == 200, "/readyz with a query string: %d" % s)
    size = len(web.request("GET", "/metrics")[2])
    dlib.log("paths: 404, 405 with Allow, HEAD; /metrics %d bytes" % size)

    # 9. The Kubernetes source: watches, relists and errors by kind.
    kube_phase(bed, expect)

    summary = ("readyz 503 before the first sync and when stale, 200 after; healthz 200 "
               "through switch outages; counters moved with every event; flows by table "
               "= dump-flows" + ("; " + "; ".join(problems) if problems else ""))
    return not problems, summary


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("http", test))
