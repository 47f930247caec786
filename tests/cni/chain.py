"""A container runtime's side of CNI, for the tests: what libcni does with
a network configuration list (CNI spec 1.0.0, section 3, and 0.4.0).

  rt = Runtime(cni_path=[DIR, ...])
  result = rt.add(conflist, attachment)    # raises CNIError
  rt.check(conflist, attachment)
  rt.delete(conflist, attachment)

ADD runs the plugins in order, each with the configuration derived from
its plugin object (cniVersion and name of the list inserted,
capabilities removed, runtimeConfig from the capabilities the runtime
has) and, from the second on, prevResult = the previous plugin's result;
a plugin's result must be in the list's cniVersion; the last result is
cached.  A failed ADD raises; the runtime must then call DEL
(add_or_cleanup() does, as the kubelet's runtime does).  DEL runs them in
reverse order with prevResult = the cached result (omitted when there is
none, as the spec allows), and forgets it on success.  CHECK (0.4.0 and
later, unless disableCheck) runs them in order with prevResult = the
cached result.  Environment: CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS
(omitted for a DEL without one), CNI_IFNAME, CNI_ARGS, CNI_PATH, plus the
runtime's own (PATH).  An error is the JSON on the plugin's stdout with a
non-zero exit.

Every plugin run is recorded in Runtime.calls: (command, type, stdin
config, exit status, stdout, stderr, seconds).
"""
import json
import os
import subprocess
import time


class CNIError(Exception):
    def __init__(self, plugin, command, status, error, stdout, stderr):
        self.plugin, self.command, self.status = plugin, command, status
        self.error = error or {}
        self.code = self.error.get("code")
        self.stdout, self.stderr = stdout, stderr
        super().__init__("%s %s: exit %d: %s" % (plugin, command, status,
                                                 stdout.strip() or stderr.strip()))


class Attachment:
    def __init__(self, container_id, netns, ifname="eth0", args=None):
        self.container_id, self.netns, self.ifname = container_id, netns, ifname
        self.args = args or []          # [(key, value)]

    def cni_args(self):
        return ";".join("%s=%s" % kv for kv in self.args)


def version_tuple(v):
    return tuple(int(x) for x in v.split("."))


class Runtime:
    def __init__(self, cni_path, capability_args=None, timeout=120):
        self.cni_path = list(cni_path)
        self.cache = {}
        self.calls = []
        self.capability_args = capability_args or {}
        self.timeout = timeout

    def find(self, plugin_type):
        for d in self.cni_path:
            exe = os.path.join(d, plugin_type)
            if os.access(exe, os.X_OK):
                return exe
        raise FileNotFoundError("plugin %r not in CNI_PATH %s" % (plugin_type, self.cni_path))

    def derive(self, conflist, plugin, prev=None):
        conf = {k: v for k, v in plugin.items() if k != "capabilities"}
        conf["cniVersion"] = conflist["cniVersion"]
        conf["name"] = conflist["name"]
        rc = {k: v for k, v in self.capability_args.items()
              if plugin.get("capabilities", {}).get(k)}
        if rc:
            conf["runtimeConfig"] = rc
        if prev is not None:
            conf["prevResult"] = prev
        return conf

    def exec(self, command, plugin_type, conf, att, raw=None, extra_env=None):
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               "CNI_COMMAND": command,
               "CNI_PATH": ":".join(self.cni_path)}
        if command != "VERSION":
            env["CNI_CONTAINERID"] = att.container_id
            env["CNI_IFNAME"] = att.ifname
            if att.netns:
                env["CNI_NETNS"] = att.netns
            if att.args:
                env["CNI_ARGS"] = att.cni_args()
        env.update(extra_env or {})
        stdin = raw if raw is not None else json.dumps(conf)
        t = time.monotonic()
        p = subprocess.run([self.find(plugin_type)], input=stdin, env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=self.timeout)
        took = time.monotonic() - t
        self.calls.append((command, plugin_type, stdin, p.returncode, p.stdout,
                           p.stderr, took))
        if p.returncode:
            try:
                err = json.loads(p.stdout)
            except ValueError:
                err = None
            raise CNIError(plugin_type, command, p.returncode, err, p.stdout, p.stderr)
        return p.stdout

    def version(self, plugin_type, cni_version="1.0.0"):
        out = self.exec("VERSION", plugin_type, {"cniVersion": cni_version}, None)
        return json.loads(out)

    def add(self, conflist, att, after=None):
        """'after(i, plugin, result)' is called when plugin i returned."""
        prev = None
        for i, plugin in enumerate(conflist["plugins"]):
            conf = self.derive(conflist, plugin, prev)
            out = self.exec("ADD", plugin["type"], conf, att)
            result = json.loads(out)
            if result.get("cniVersion") != conflist["cniVersion"]:
                raise CNIError(plugin["type"], "ADD", 0,
                               {"code": 1, "msg": "result in version %r, not %r" % (
                                   result.get("cniVersion"), conflist["cniVersion"])},
                               out, "")
            prev = result
            if after:
                after(i, plugin, result)
        self.cache[(conflist["name"], att.container_id, att.ifname)] = prev
        return prev

    def add_or_cleanup(self, conflist, att, after=None):
        """ADD; on failure DEL (the spec: a delete must follow even a
        failed add), then raise the ADD's error."""
        try:
            return self.add(conflist, att, after)
        except CNIError:
            self.delete(conflist, att)
            raise

    def cached(self, conflist, att):
        return self.cache.get((conflist["name"], att.container_id, att.ifname))

    def delete(self, conflist, att):
        prev = self.cached(conflist, att)
        if version_tuple(conflist["cniVersion"]) < (0, 4, 0):
            prev = None
        for plugin in reversed(conflist["plugins"]):
            self.exec("DEL", plugin["type"], self.derive(conflist, plugin, prev), att)
        self.cache.pop((conflist["name"], att.container_id, att.ifname), None)

    def check(self, conflist, att):
        if conflist.get("disableCheck"):
            return
        if version_tuple(conflist["cniVersion"]) < (0, 4, 0):
            raise ValueError("CHECK needs cniVersion 0.4.0 or later")
        prev = self.cached(conflist, att)
        if prev is None:
            raise ValueError("CHECK of an attachment that was not added")
        for plugin in conflist["plugins"]:
            self.exec("CHECK", plugin["type"], self.derive(conflist, plugin, prev), att)
