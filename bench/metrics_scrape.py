#!/usr/bin/env python3
"""What a /metrics scrape costs the daemon, on a synthetic cluster.

usage: bench/metrics-scrape.sh [--mix old|broad] [--size 1k|10k|50k]
                               [--cluster FILE] [--scrapes N] [--reads N]
                               [--label L]

Starts ovs/sandbox.sh's switch (no pods), writes the cluster file into a
manifest directory, runs ovs-netpold --source dir: --node node-1 --http
127.0.0.1:PORT --drift-interval 0 (no drift dumps in the measurement),
waits for `sync`, then scrapes /metrics N times back to back, one
connection each, as Prometheus does.  Reports per scrape: wall time seen
by the client (median, p99), the daemon's CPU time (utime + stime from
/proc, over all N, divided by N), the response size and the number of
samples; also the daemon's RSS before and after.  Then --reads N (default 10) counter
reads: `stats --json` through the control socket, 1.2 s apart so that each
one reads the switch (two flow dumps of our cookies, kinds 3 and 4:
daemon-stats.h), which is what a scrape starts when its counters are older
than 1 s; per read: the wall time to the answer (median, max), the CPU
ovs-vswitchd and the daemon used, the rule and deny counters listed.  One
JSON line goes to bench/out/metrics-scrape.jsonl.

Root (the switch runs in a network namespace).  Standard library only.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
SANDBOX = os.path.join(TOP, "ovs", "sandbox.sh")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def scrape(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError("/metrics: %d" % r.status)
        return body
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cluster", help="any cluster file (bench/gen_cluster.py "
                    "output) instead of --mix and --size")
    ap.add_argument("--mix", default="broad", choices=("old", "broad"))
    ap.add_argument("--size", default="10k", choices=("1k", "10k", "50k"))
    ap.add_argument("--label", default=None, help="name for the result line")
    ap.add_argument("--scrapes", type=int, default=500)
    ap.add_argument("--reads", type=int, default=10)
    ap.add_argument("--daemon", default=os.environ.get("NP_DAEMON")
                    or os.path.join(TOP, "ovs-netpold"))
    args = ap.parse_args()
    if not args.cluster:
        sys.path.insert(0, HERE)
        import clusters
        args.cluster = clusters.ensure(args.mix, args.size).path
        args.label = args.label or "%s-%s" % (args.size, args.mix)

    work = tempfile.mkdtemp(prefix="np-metrics-bench.")
    sb = os.path.join(work, "sb")
    src = os.path.join(work, "source")
    os.makedirs(src)
    shutil.copy(args.cluster, os.path.join(src, "cluster.json"))
    daemon = None
    try:
        subprocess.run([SANDBOX, "start", sb], check=True, stdout=subprocess.DEVNULL)
        env = dict(os.environ)
        with open(os.path.join(sb, "env")) as f:
            for line in f:
                if line.startswith("export "):
                    k, v = line.strip()[7:].split("=", 1)
                    env[k] = v.strip("'")
        port = free_port()
        ctl = os.path.join(work, "ctl")
        log = open(os.path.join(work, "ovs-netpold.log"), "w")
        t0 = time.monotonic()
        daemon = subprocess.Popen(
            [args.daemon, "--source", "dir:" + src, "--ovs-rundir",
             os.path.join(sb, "run"), "--node", "node-1", "--node-address",
             "none", "--control", ctl, "--drift-interval", "0",
             "--http", "127.0.0.1:%d" % port],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while subprocess.run(["ovs-appctl", "-t", ctl, "version"], env=env,
                             capture_output=True).returncode and \
                subprocess.run(["ovs-appctl", "-t", ctl, "status"], env=env,
                               capture_output=True).returncode:
            if daemon.poll() is not None or time.monotonic() - t0 > 60:
                raise RuntimeError("the daemon did not start; see %s" % log.name)
            time.sleep(0.05)
        subprocess.run(["ovs-appctl", "-t", ctl, "sync", "--timeout", "600"],
                       env=env, check=True, capture_output=True, timeout=700)
        synced = time.monotonic() - t0
        body = scrape(port)
        samples = sum(1 for l in body.decode().splitlines() if l and not l.startswith("#"))
        flows = [l for l in body.decode().splitlines()
                 if l.startswith("ovs_netpol_desired_flows ")]
        rss0 = rss_mb(daemon.pid)
        cpu0 = cpu_seconds(daemon.pid)
        times = []
        for _ in range(args.scrapes):
            t = time.perf_counter()
            scrape(port)
            times.append(time.perf_counter() - t)
        cpu = cpu_seconds(daemon.pid) - cpu0
        rss1 = rss_mb(daemon.pid)
        times.sort()
        # Counter reads: each a fresh read of the switch.
        with open(os.path.join(sb, "run", "ovs-vswitchd.pid")) as f:
            vpid = int(f.read().strip())
        reads, vcpu, dcpu, listed = [], 0.0, 0.0, None
        for _ in range(args.reads):
            time.sleep(1.2)
            v0, d0 = cpu_seconds(vpid), cpu_seconds(daemon.pid)
            t = time.perf_counter()
            out = subprocess.run(["ovs-appctl", "-t", ctl, "stats", "--json"], env=env,
                                 check=True, capture_output=True, text=True,
                                 timeout=120).stdout
            reads.append(time.perf_counter() - t)
            vcpu += cpu_seconds(vpid) - v0
            dcpu += cpu_seconds(daemon.pid) - d0
            st = json.loads(out)
            listed = (len(st["rules"]), len(st["denied"]))
        reads.sort()
        res = {
            "label": args.label or os.path.basename(args.cluster),
            "cluster": os.path.basename(args.cluster),
            "synced_s": round(synced, 2),
            "desired_flows": int(flows[0].split()[1]) if flows else None,
            "scrapes": args.scrapes,
            "wall_ms_p50": round(times[len(times) // 2] * 1000, 3),
            "wall_ms_p99": round(times[int(len(times) * 0.99) - 1] * 1000, 3),
            "daemon_cpu_ms_per_scrape": round(cpu / args.scrapes * 1000, 3),
            "bytes": len(body),
            "samples": samples,
            "rss_mb_before": round(rss0, 1),
            "rss_mb_after": round(rss1, 1),
            "reads": args.reads,
        }
        if reads:
            res.update({
                "read_ms_p50": round(reads[len(reads) // 2] * 1000, 1),
                "read_ms_max": round(reads[-1] * 1000, 1),
                "vswitchd_cpu_ms_per_read": round(vcpu / len(reads) * 1000, 1),
                "daemon_cpu_ms_per_read": round(dcpu / len(reads) * 1000, 1),
                "rule_counters": listed[0],
                "deny_counters": listed[1],
            })
        print(json.dumps(res), flush=True)
        os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
        with open(os.path.join(HERE, "out", "metrics-scrape.jsonl"), "a") as f:
            f.write(json.dumps(res) + "\n")
    finally:
        if daemon and daemon.poll() is None:
            daemon.terminate()
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        subprocess.run([SANDBOX, "stop", sb], stdout=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
