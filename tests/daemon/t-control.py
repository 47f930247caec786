#!/usr/bin/env python3
"""The control socket: one daemon per socket, nothing else at its path is
touched, and no client can make the daemon hold unbounded memory or
descriptors (review findings F and L).

With the bed's daemon (node-1) running:
  - a second daemon with the same --control (node-2, same switch) exits
    non-zero naming the first one's pid; the first still answers as
    node-1 and its flows are untouched;
  - a regular file, a symbolic link or a directory at --control is
    refused and left as it was;
  - SIGHUP rescans and recomputes; the daemon keeps running;
  - after SIGKILL the stale socket is reused by the next start; after
    SIGTERM the socket and its lock file are gone.
With a second daemon on a run directory without a switch (its syncs never
complete), started under umask 0 with --control in a missing directory:
  - the directory is created 0750 and the socket is 0750;
  - a 32 MiB request is refused (connection closed), RSS stays flat;
  - sync --timeout inf, 1e400, nan, 0, -1, 3601, abc: clear errors;
  - 50 abandoned syncs release their descriptors at once; a client that
    only shut down sending still gets its answer; a second request behind
    a waiting one gets an error;
  - at most 64 syncs wait (the next ones get an error), 16 traces (with a
    switch that never answers), 128 connections;
  - a switch answering a trace with 20 MiB gets an error.
"""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the tree
import dlib  # noqa: E402


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    return (int(w[11]) + int(w[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(pred, limit):
    t = time.monotonic()
    while time.monotonic() - t < limit:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def request(method, *params, rid=1):
    return json.dumps({"id": rid, "method": method,
                       "params": list(params)}).encode()


def answer(s, limit=5.0):
    """The decoded reply on 's', b'' at EOF, None if nothing came."""
    s.settimeout(limit)
    try:
        data = s.recv(65536)
    except socket.timeout:
        return None
    except ConnectionResetError:
        return b""
    if not data:
        return b""
    try:
        return json.loads(data)
    except ValueError:
        return data


def start_daemon(bed, args, log_name, umask=None):
    lf = open(os.path.join(bed.work, log_name), "a")
    pre = (lambda: os.umask(umask)) if umask is not None else None
    p = subprocess.Popen([bed.daemon_bin] + args, stdin=subprocess.DEVNULL,
                         stdout=lf, stderr=subprocess.STDOUT,
                         start_new_session=True, preexec_fn=pre)
    lf.close()
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_briefly(bed, args, limit=10):
    """Runs the daemon with 'args', which must make it exit at once:
    (exit status or None if it was still running after 'limit' seconds
    and had to be killed, its output)."""
    out = os.path.join(bed.work, "brief.log")
    with open(out, "w") as lf:
        p = subprocess.Popen([bed.daemon_bin] + args, stdin=subprocess.DEVNULL,
                             stdout=lf, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        rc = p.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        rc = None
        p.kill()
        p.wait()
    with open(out) as f:
        return rc, f.read()


def read(bed, name):
    try:
        with open(os.path.join(bed.work, name)) as f:
            return f.read()
    except OSError:
        return ""


class FakeSwitch:
    """A unixctl socket at RUNDIR/ovs-vswitchd.4242.ctl that accepts
    connections and either never answers ('mute') or answers with an
    endless JSON string ('flood')."""

    def __init__(self, rundir, mode):
        with open(os.path.join(rundir, "ovs-vswitchd.pid"), "w") as f:
            f.write("4242\n")
        self.path = os.path.join(rundir, "ovs-vswitchd.4242.ctl")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(64)
        self.mode = mode
        self.conns = []
        self.sent = 0
        self.done = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(c)
            if self.mode == "flood":
                try:
                    c.sendall(b'{"id":0,"result":"')
                    chunk = b"x" * 65536
                    while not self.done and self.sent < 64 << 20:
                        c.sendall(chunk)
                        self.sent += len(chunk)
                except OSError:
                    pass

    def close(self):
        self.done = True
        self.sock.close()
        for c in self.conns:
            c.close()
        self.thread.join(timeout=5)
        os.unlink(self.path)


def test_second_daemon(bed, problems):
    pid1 = bed.daemon.pid
    flows = bed.flows()
    t = time.monotonic()
    node2 = None

    def second():
        # The node the socket answers for while the second one runs.
        nonlocal node2
        time.sleep(2)
        p = dlib.run(["ovs-appctl", "-t", bed.ctl, "status"], check=False)
        for line in p.stdout.splitlines():
            if line.startswith("node:"):
                node2 = line.split()[1]
    th = threading.Thread(target=second)
    th.start()
    rc, out = run_briefly(bed, ["--source", "dir:" + bed.src,
                                "--ovs-rundir", os.path.join(bed.sb, "run"),
                                "--bridge", "br-int", "--node", "node-2",
                                "--node-address", dlib.NODE_ADDRESS,
                                "--control", bed.ctl], limit=5)
    th.join()
    took = time.monotonic() - t
    want = ("another ovs-netpold (pid %d) is using the control socket %s"
            % (pid1, bed.ctl))
    dlib.log("second daemon, same --control: exit %s after %.2f s (the socket "
             "answered as %s meanwhile): %s" % (
                 rc, took, node2, out.strip().splitlines()[-1:]))
    if rc in (0, None) or want not in out:
        problems.append("second daemon: exit %s (socket answered as %s), "
                        "output %r" % (rc, node2, out[-300:]))
    st = dlib.run(["ovs-appctl", "-t", bed.ctl, "status"], check=False)
    if st.returncode or "\nnode: %s\n" % dlib.NODE not in st.stdout:
        problems.append("after the second daemon, the first does not answer: "
                        "%s" % (st.stderr or st.stdout).strip()[-200:])
        raise RuntimeError("; ".join(problems))
    if dlib.canonical(bed.flows()) != dlib.canonical(flows) or \
            dlib.generations(bed.flows()) != dlib.generations(flows):
        problems.append("the second daemon changed the flows")


def test_not_a_socket(bed, problems):
    os.makedirs(os.path.join(bed.work, "norun"), exist_ok=True)
    victim = os.path.join(bed.work, "victim.txt")
    with open(victim, "w") as f:
        f.write("precious\n")
    target = os.path.join(bed.work, "target.txt")
    with open(target, "w") as f:
        f.write("also precious\n")
    link = os.path.join(bed.work, "link.ctl")
    os.symlink(target, link)
    adir = os.path.join(bed.work, "adir.ctl")
    os.mkdir(adir)
    for path, kind in ((victim, "a regular file"), (link, "a symbolic link"),
                       (adir, "a directory")):
        rc, out = run_briefly(bed, ["--source", "dir:" + bed.src,
                                    "--ovs-rundir", os.path.join(bed.work, "norun"),
                                    "--node", "node-3", "--node-address", "none",
                                    "--control", path], limit=3)
        want = "%s exists and is %s: refusing to replace it" % (path, kind)
        dlib.log("--control at %s: exit %s: %s" % (
            kind, rc, out.strip().splitlines()[-1:]))
        if rc in (0, None) or want not in out:
            problems.append("--control at %s: exit %s, output %r" % (
                kind, rc, out[-300:]))
        if os.path.exists(path + ".pid"):
            problems.append("--control at %s: %s.pid left behind" % (kind, path))
    if read(bed, "victim.txt") != "precious\n" or \
            read(bed, "target.txt") != "also precious\n" or \
            not os.path.islink(link) or not os.path.isdir(adir):
        problems.append("a path given as --control was changed")


def full_recomputes(bed):
    try:
        inc = bed.status_field("incremental") or ""
        return int(inc.split(",")[2].split()[0])
    except (IndexError, ValueError, RuntimeError):
        return -1


def test_sighup(bed, problems):
    before = full_recomputes(bed)
    bed.daemon.send_signal(signal.SIGHUP)
    ok = wait_for(lambda: full_recomputes(bed) > before, 5)
    alive = bed.daemon.poll() is None
    logged = "SIGHUP: rescanning the manifest directory and recomputing " \
             "every flow" in read(bed, "ovs-netpold.log")
    dlib.log("SIGHUP: daemon %s, full recomputes %d -> %d, logged %s" % (
        "alive" if alive else "dead (exit %s)" % bed.daemon.returncode,
        before, full_recomputes(bed) if alive else -1, logged))
    if not alive or not ok or not logged:
        problems.append("SIGHUP: alive %s, recomputed %s, logged %s" % (
            alive, ok, logged))
        if not alive:
            bed.daemon = None
            bed.start_daemon()


def test_stale(bed, problems):
    bed.stop_daemon(signal.SIGKILL)
    pidfile = bed.ctl + ".pid"
    left = (stat.S_ISSOCK(os.lstat(bed.ctl).st_mode)
            if os.path.lexists(bed.ctl) else False)
    dlib.log("after SIGKILL: socket left %s, %s left %s" % (
        left, os.path.basename(pidfile), os.path.exists(pidfile)))
    try:
        bed.start_daemon()
    except Exception as e:
        problems.append("restart over a stale socket: %s" % e)
        return
    if bed.status_field("node") != dlib.NODE:
        problems.append("restart over a stale socket: status %r" % bed.status())
    rc = bed.stop_daemon()
    gone = not os.path.lexists(bed.ctl) and not os.path.lexists(pidfile)
    dlib.log("after SIGTERM: exit %s, socket and lock file removed: %s" % (rc, gone))
    if rc != 0 or not gone:
        problems.append("SIGTERM: exit %s, files removed %s" % (rc, gone))
    bed.start_daemon()


def test_limits(bed, problems):
    norun = os.path.join(bed.work, "norun")
    os.makedirs(norun, exist_ok=True)
    ctl = os.path.join(bed.work, "newdir", "d3.ctl")
    d3 = start_daemon(bed, ["--source", "dir:" + bed.src,
                            "--ovs-rundir", norun, "--node", dlib.NODE,
                            "--node-address", "none", "--control", ctl],
                      "ovs-netpold-3.log", umask=0)
    try:
        if not wait_for(lambda: os.path.exists(ctl) or d3.poll() is not None,
                        10) or d3.poll() is not None:
            problems.append("daemon 3 (--control in a missing directory) "
                            "did not start: %s" % read(bed, "ovs-netpold-3.log")[-500:])
            return
        dmode = stat.S_IMODE(os.stat(os.path.dirname(ctl)).st_mode)
        smode = stat.S_IMODE(os.lstat(ctl).st_mode)
        dlib.log("under umask 0: directory %o, socket %o" % (dmode, smode))
        if dmode != 0o750 or smode != 0o750:
            problems.append("modes under umask 0: directory %o, socket %o"
                            % (dmode, smode))
        wait_for(lambda: subprocess.run(
            ["ovs-appctl", "-t", ctl, "status"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL).returncode == 0, 10)
        time.sleep(0.3)
        fd0, rss0 = fds(d3.pid), rss_kb(d3.pid)
        dlib.log("daemon 3: %d fds, %d kB" % (fd0, rss0))

        # A 32 MiB request.
        s = connect(ctl)
        s.settimeout(10)
        sent, err = 0, None
        try:
            s.sendall(b'{"id":1,"method":"status","params":["')
            chunk = b"a" * (1 << 20)
            for _ in range(32):
                s.sendall(chunk)
                sent += len(chunk)
        except OSError as e:
            err = type(e).__name__
        got = answer(s, 2) if err is None else None
        time.sleep(0.5)
        rss1 = rss_kb(d3.pid)       # Before the close: memory held for it
        s.close()
        dlib.log("32 MiB request: cut after %d MiB (%s), answer %r; RSS %d -> "
                 "%d kB" % (sent >> 20, err or "no error", got, rss0, rss1))
        if err is None and got != b"" and not (isinstance(got, dict)
                                                and got.get("error")):
            problems.append("a 32 MiB request was read whole: %r" % got)
        if rss1 - rss0 > 8 * 1024:
            problems.append("a 32 MiB request grew RSS by %d kB" % (rss1 - rss0))
        if "a request larger than 1048576 bytes: closing its connection" \
                not in read(bed, "ovs-netpold-3.log"):
            problems.append("the oversized request was not logged")

        # Timeouts.
        for t in ("inf", "1e400", "nan", "0", "-1", "3601", "abc"):
            try:
                p = dlib.run(["ovs-appctl", "-t", ctl, "sync", "--timeout", t],
                             check=False, timeout=5)
                msg = (p.stderr + p.stdout).strip()
            except subprocess.TimeoutExpired:
                p, msg = None, "no answer within 5 s"
            want = ('sync: --timeout: "%s" is not a number of seconds greater '
                    'than 0 and at most 3600' % t)
            if p is None or p.returncode == 0 or want not in msg:
                problems.append("sync --timeout %s: %s" % (t, msg))
        dlib.log("sync --timeout inf, 1e400, nan, 0, -1, 3601, abc: errors "
                 "checked")

        # Abandoned syncs (none can complete: no switch).
        for i in range(50):
            s = connect(ctl)
            s.sendall(request("sync", "--timeout", "600", rid=i))
            s.close()
        ok = wait_for(lambda: fds(d3.pid) <= fd0, 3)
        dlib.log("50 abandoned syncs: %d fds (before: %d)" % (fds(d3.pid), fd0))
        if not ok:
            problems.append("50 abandoned syncs: %d fds, %d before" % (
                fds(d3.pid), fd0))

        # A client that only shuts down its sending side still gets its
        # answer; one that sends a second request while the first waits
        # gets an error for it, and the daemon does not spin meanwhile.
        s = connect(ctl)
        s.sendall(request("sync", "--timeout", "1"))
        s.shutdown(socket.SHUT_WR)
        got = answer(s, 5)
        s.close()
        dlib.log("sync --timeout 1 after shutdown(SHUT_WR): %r" % got)
        if not isinstance(got, dict) or "timed out" not in (got.get("error") or ""):
            problems.append("half-closed sync: %r" % got)
        s = connect(ctl)
        s.sendall(request("sync", "--timeout", "2", rid=1)
                  + request("status", rid=2))
        got = answer(s, 1)
        cpu0 = cpu_seconds(d3.pid)
        time.sleep(1)
        cpu = cpu_seconds(d3.pid) - cpu0
        s.close()
        dlib.log("a request behind a waiting sync: %r; daemon CPU meanwhile "
                 "%.2f s/s" % (got, cpu))
        if not isinstance(got, dict) or got.get("id") != 2 or \
                "already in progress" not in (got.get("error") or ""):
            problems.append("a second request while a sync waits: %r" % got)
        if cpu > 0.3:
            problems.append("the daemon spins while a sync waits behind a "
                            "request: %.2f s of CPU in 1 s" % cpu)
        wait_for(lambda: fds(d3.pid) <= fd0, 3)

        # At most 64 waiting syncs.
        socks = []
        for i in range(66):
            s = connect(ctl)
            s.sendall(request("sync", "--timeout", "600", rid=i))
            socks.append(s)
        time.sleep(1)
        errors = []
        for s in socks:
            s.setblocking(False)
            try:
                data = s.recv(65536)
                errors.append(json.loads(data).get("error"))
            except BlockingIOError:
                pass
        waiting = len(socks) - len(errors)
        want = ("sync: 64 syncs are already waiting: try again once they are "
                "answered\n")
        dlib.log("66 syncs: %d waiting, %d errors %r" % (
            waiting, len(errors), errors[:1]))
        if waiting != 64 or errors != [want, want]:
            problems.append("66 syncs: %d waiting, errors %r" % (waiting, errors))
        for s in socks:
            s.close()
        if not wait_for(lambda: fds(d3.pid) <= fd0, 3):
            problems.append("after 66 syncs: %d fds, %d before" % (
                fds(d3.pid), fd0))

        # At most 16 traces waiting for a switch that never answers.
        mute = FakeSwitch(norun, "mute")
        socks = []
        try:
            for i in range(17):
                s = connect(ctl)
                s.sendall(request("trace", "10.9.1.2", "10.9.1.1", "80", rid=i))
                socks.append(s)
            time.sleep(1)
            errors = []
            for s in socks:
                s.setblocking(False)
                try:
                    errors.append(json.loads(s.recv(65536)).get("error"))
                except BlockingIOError:
                    pass
            dlib.log("17 traces to a mute switch: %d waiting, %r" % (
                len(socks) - len(errors), errors))
            if errors != ["trace: 16 traces are already waiting for the switch: "
                          "try again once they are answered\n"]:
                problems.append("17 traces: errors %r" % errors)
            for s in socks:
                s.close()
            if not wait_for(lambda: fds(d3.pid) <= fd0, 3):
                problems.append("after 17 traces: %d fds, %d before" % (
                    fds(d3.pid), fd0))
        finally:
            mute.close()

        # A switch that answers a trace with more than 16 MiB.
        flood = FakeSwitch(norun, "flood")
        try:
            t = time.monotonic()
            p = dlib.run(["ovs-appctl", "-t", ctl, "trace", "10.9.1.2",
                          "10.9.1.1", "80"], check=False, timeout=20)
            msg = (p.stderr + p.stdout).strip()
            dlib.log("trace, switch answering 64 MiB: exit %d after %.1f s, "
                     "%d MiB sent: %s" % (p.returncode, time.monotonic() - t,
                                          flood.sent >> 20, msg))
            if p.returncode == 0 or "the answer is larger than 16777216 " \
                    "bytes" not in msg:
                problems.append("trace with a flooding switch: %r" % msg)
        finally:
            flood.close()

        # At most 128 connections.
        socks = [connect(ctl) for _ in range(128)]
        time.sleep(0.5)
        extra = connect(ctl)
        got = answer(extra, 3)
        dlib.log("129th connection: %r" % got)
        if got != b"":
            problems.append("129th connection was not closed: %r" % got)
        extra.close()
        for s in socks:
            s.close()
        if not wait_for(lambda: fds(d3.pid) <= fd0, 3):
            problems.append("after 129 connections: %d fds, %d before" % (
                fds(d3.pid), fd0))
        st = dlib.run(["ovs-appctl", "-t", ctl, "status"], check=False)
        if st.returncode or d3.poll() is not None:
            problems.append("daemon 3 does not answer at the end: %s" % st.stderr)
        dlib.log("daemon 3 at the end: %d fds, %d kB" % (fds(d3.pid),
                                                        rss_kb(d3.pid)))
    finally:
        stop(d3)
    if os.path.lexists(ctl) or os.path.lexists(ctl + ".pid"):
        problems.append("daemon 3 left its socket or lock file")


def test(bed):
    bed.start()
    bed.write("policy.json", dlib.v1list([dlib.allow_x()]))
    bed.sync()
    problems = []
    test_second_daemon(bed, problems)
    test_not_a_socket(bed, problems)
    test_sighup(bed, problems)
    test_stale(bed, problems)
    test_limits(bed, problems)
    bed.sync()
    bed.purge()
    for src, want in (("x/b", "allowed"), ("y/a", "denied")):
        got = bed.probe_once(src, dlib.SERVER)
        if got != want:
            problems.append("at the end: %s -> x/a:80 %s, want %s" % (src, got, want))
    summary = ("one daemon per socket, other paths untouched, SIGHUP "
               "recomputes, requests, syncs, traces and connections bounded"
               if not problems else "; ".join(problems))
    return not problems, summary


if __name__ == "__main__":
    sys.exit(dlib.main_wrapper("control", test))
