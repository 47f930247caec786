/* cni-conf: the CNI protocol side of ovs-netpol-cni.  See
 * include/cni-conf.h.
 *
 * Versions.  0.3.0, 0.3.1 and 0.4.0 results have the same shape (each IP
 * carries "version": "4" or "6"); 1.0.0 dropped that field.  A runtime
 * hands prevResult over in the configuration's version (libcni converts
 * it), but a prevResult of another of these versions is converted here
 * too, since the conversion cannot lose anything: adding or dropping
 * "version" is all there is.  Anything else (0.1.0, 0.2.0: no
 * interfaces, a different shape; unknown versions) is error 1. */

#include "cni-conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "k8s-names.h"
#include "np-util.h"

static const char *const supported_versions[] = {
    "0.3.0", "0.3.1", "0.4.0", "1.0.0",
};

/* ---- Errors. ---- */

struct cni_error *
cni_error_create(int code, const char *msg, const char *details_format, ...)
{
    struct cni_error *e = xmalloc(sizeof *e);
    va_list args;

    e->code = code;
    e->msg = xstrdup(msg);
    va_start(args, details_format);
    e->details = xvasprintf(details_format, args);
    va_end(args);
    return e;
}

void
cni_error_destroy(struct cni_error *e)
{
    if (e) {
        free(e->msg);
        free(e->details);
        free(e);
    }
}

char *
cni_error_to_json(const struct cni_error *e, const char *cni_version)
{
    json_t *o = json_object();

    json_object_set_new(o, "cniVersion",
                        json_string(cni_version ? cni_version : "1.0.0"));
    json_object_set_new(o, "code", json_integer(e->code));
    json_object_set_new(o, "msg", json_string(e->msg));
    json_object_set_new(o, "details", json_string(e->details));
    char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(4));
    json_decref(o);
    char *copy = xasprintf("%s\n", s);
    free(s);
    return copy;
}

const char *
cni_command_name(enum cni_command c)
{
    switch (c) {
    case CNI_CMD_ADD: return "ADD";
    case CNI_CMD_DEL: return "DEL";
    case CNI_CMD_CHECK: return "CHECK";
    case CNI_CMD_VERSION: return "VERSION";
    }
    return "?";
}

/* ---- Logging. ---- */

static char *log_prefix;
static int log_fd = -1;

void
cni_log_set_prefix(const char *prefix)
{
    free(log_prefix);
    log_prefix = prefix ? xstrdup(prefix) : NULL;
}

int
cni_log_open(const char *file)
{
    int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        return errno;
    }
    if (log_fd >= 0) {
        close(log_fd);
    }
    log_fd = fd;
    return 0;
}

void
cni_log(const char *format, ...)
{
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    va_list args;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    /* One line per event whatever the message holds. */
    for (char *p = msg; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    char *line = xasprintf("%s.%03ldZ ovs-netpol-cni[%ld]: %s%s%s\n", stamp,
                           ts.tv_nsec / 1000000, (long) getpid(),
                           log_prefix ? log_prefix : "",
                           log_prefix ? ": " : "", msg);
    size_t len = strlen(line);
    if (write(STDERR_FILENO, line, len) < 0) {
        /* Nothing to do: stderr is where we would say so. */
    }
    if (log_fd >= 0 && write(log_fd, line, len) < 0) {
        /* Likewise. */
    }
    free(line);
    free(msg);
}

/* ---- The environment. ---- */

static const char *
env_get(char *const *env, const char *name)
{
    size_t len = strlen(name);
    for (; env && *env; env++) {
        if (!strncmp(*env, name, len) && (*env)[len] == '=') {
            return *env + len + 1;
        }
    }
    return NULL;
}

/* Quotes an outside value for a message (np_quote(): escaped, cut). */
static char *
q(const char *s)
{
    return np_quote(s, strlen(s));
}

static bool
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}

/* The spec's container id: an alphanumeric character, then any of
 * alphanumerics, '_', '.' and '-'. */
static bool
is_container_id(const char *s)
{
    if (!is_alnum(s[0])) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (!is_alnum(*p) && *p != '_' && *p != '.' && *p != '-') {
            return false;
        }
    }
    return true;
}

/* A Linux interface name: 1 to 15 bytes, not "." or "..", no '/', ':'
 * or whitespace. */
static bool
is_ifname(const char *s)
{
    size_t len = strlen(s);
    if (!len || len > 15 || !strcmp(s, ".") || !strcmp(s, "..")) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r')) {
            return false;
        }
    }
    return true;
}

/* Finds 'key' in CNI_ARGS ("K1=V1;K2=V2").  Returns NULL and stores a
 * malloc'd copy of its value (or NULL if absent) in '*value', or an
 * error if CNI_ARGS is not a list of KEY=VALUE. */
static struct cni_error *
cni_args_get(const char *args, const char *key, char **value)
{
    *value = NULL;
    if (!args || !*args) {
        return NULL;
    }
    size_t key_len = strlen(key);
    for (const char *p = args; ; ) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p) {
            char *pair = xmemdup0(p, len);
            char *qp = q(pair);
            struct cni_error *e = cni_error_create(
                CNI_ERR_INVALID_ENV, "invalid CNI_ARGS",
                "CNI_ARGS: %s is not KEY=VALUE (CNI_ARGS is KEY=VALUE pairs "
                "separated by ';')", qp);
            free(qp);
            free(pair);
            free(*value);
            *value = NULL;
            return e;
        }
        if ((size_t) (eq - p) == key_len && !memcmp(p, key, key_len)) {
            /* The last one wins, as in libcni's parser. */
            free(*value);
            *value = xmemdup0(eq + 1, len - key_len - 1);
        }
        if (!end) {
            return NULL;
        }
        p = end + 1;
    }
}

/* ---- The configuration. ---- */

static bool
is_supported_version(const char *v)
{
    for (size_t i = 0; i < ARRAY_SIZE(supported_versions); i++) {
        if (!strcmp(v, supported_versions[i])) {
            return true;
        }
    }
    return false;
}

static bool
is_v1(const char *v)
{
    return !strcmp(v, "1.0.0");
}

static char *
supported_list(void)
{
    struct strbuf sb;
    strbuf_init(&sb);
    for (size_t i = 0; i < ARRAY_SIZE(supported_versions); i++) {
        strbuf_printf(&sb, "%s%s", i ? ", " : "", supported_versions[i]);
    }
    return strbuf_steal(&sb);
}

static const char *
json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* Reads the optional string 'key' of 'conf' into '*out' (malloc'd), or
 * leaves '*out' alone if absent.  'nonempty': "" is an error. */
static struct cni_error *
get_string(const json_t *conf, const char *key, bool nonempty, char **out)
{
    const json_t *v = json_object_get(conf, key);
    if (!v) {
        return NULL;
    }
    if (!json_is_string(v)) {
        return cni_error_create(CNI_ERR_INVALID_CONFIG,
                                "invalid network configuration",
                                "%s: must be a string, not %s", key,
                                json_type_name(v));
    }
    if (nonempty && !json_string_length(v)) {
        return cni_error_create(CNI_ERR_INVALID_CONFIG,
                                "invalid network configuration",
                                "%s: must not be empty", key);
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        return cni_error_create(CNI_ERR_INVALID_CONFIG,
                                "invalid network configuration",
                                "%s: holds a NUL character", key);
    }
    free(*out);
    *out = xstrdup(json_string_value(v));
    return NULL;
}

static struct cni_error *
parse_ovsdb(struct cni_request *req)
{
    const char *r = req->ovsdb;
    if (!strncmp(r, "unix:", 5) && r[5]) {
        return NULL;
    }
    if (!strncmp(r, "tcp:", 4)) {
        /* An address, not a host name: the plugin is linked statically,
         * and glibc cannot resolve names in a static program. */
        const char *host = r + 4;
        const char *colon = strrchr(host, ':');
        unsigned char buf[16];
        if (host[0] == '[' && colon && colon > host && colon[-1] == ']'
            && (size_t) (colon - host) < 48) {
            char addr[48];
            memcpy(addr, host + 1, colon - host - 2);
            addr[colon - host - 2] = '\0';
            if (inet_pton(AF_INET6, addr, buf) == 1) {
                return NULL;
            }
        } else if (colon && (size_t) (colon - host) < 16) {
            char addr[16];
            memcpy(addr, host, colon - host);
            addr[colon - host] = '\0';
            if (inet_pton(AF_INET, addr, buf) == 1) {
                return NULL;
            }
        }
    }
    char *qr = q(r);
    struct cni_error *e = cni_error_create(
        CNI_ERR_UNSUPPORTED_FIELD, "unsupported ovsdb remote",
        "ovsdb: %s: only \"unix:PATH\" and \"tcp:IP:PORT\" (an address, "
        "[IPv6] in brackets) remotes are supported (default \"%s\")", qr,
        CNI_DEFAULT_OVSDB);
    free(qr);
    return e;
}

static struct cni_error *
parse_keys(const json_t *conf, struct cni_request *req)
{
    struct cni_error *e;

    if ((e = get_string(conf, "name", true, &req->name))
        || (e = get_string(conf, "ovsdb", true, &req->ovsdb))
        || (e = get_string(conf, "bridge", true, &req->bridge))
        || (e = get_string(conf, "logFile", true, &req->log_file))) {
        return e;
    }
    if (!req->name) {
        return cni_error_create(CNI_ERR_INVALID_CONFIG,
                                "invalid network configuration",
                                "name: missing (the network's name)");
    }
    if (!json_is_string(json_object_get(conf, "type"))) {
        return cni_error_create(CNI_ERR_INVALID_CONFIG,
                                "invalid network configuration",
                                "type: missing or not a string");
    }
    if (!req->ovsdb) {
        req->ovsdb = xstrdup(CNI_DEFAULT_OVSDB);
    } else if ((e = parse_ovsdb(req))) {
        return e;
    }
    if (!req->bridge) {
        req->bridge = xstrdup(CNI_DEFAULT_BRIDGE);
    }
    if (req->log_file && req->log_file[0] != '/') {
        char *qf = q(req->log_file);
        e = cni_error_create(CNI_ERR_INVALID_CONFIG,
                             "invalid network configuration",
                             "logFile: %s is not an absolute path", qf);
        free(qf);
        return e;
    }

    const json_t *t = json_object_get(conf, "timeout");
    req->timeout = CNI_DEFAULT_TIMEOUT;
    if (t) {
        if (!json_is_number(t)) {
            return cni_error_create(CNI_ERR_INVALID_CONFIG,
                                    "invalid network configuration",
                                    "timeout: must be a number of seconds, "
                                    "not %s", json_type_name(t));
        }
        double v = json_number_value(t);
        if (!(v > 0 && v <= CNI_MAX_TIMEOUT)) {
            return cni_error_create(CNI_ERR_INVALID_CONFIG,
                                    "invalid network configuration",
                                    "timeout: %g is not a number of seconds "
                                    "above 0 and at most %g", v,
                                    CNI_MAX_TIMEOUT);
        }
        req->timeout = v;
    }
    return NULL;
}

/* ---- prevResult. ---- */

static struct cni_error *
prev_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

static struct cni_error *
prev_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *details = xvasprintf(format, args);
    va_end(args);
    struct cni_error *e = cni_error_create(CNI_ERR_INVALID_CONFIG,
                                           "invalid prevResult", "%s",
                                           details);
    free(details);
    return e;
}

/* Checks "ADDR/PLEN" and returns its family's version (4 or 6), or 0. */
static int
address_version(const char *s)
{
    const char *slash = strchr(s, '/');
    unsigned char buf[16];
    if (!slash || slash == s || (size_t) (slash - s) > 45) {
        return 0;
    }
    char addr[46];
    memcpy(addr, s, slash - s);
    addr[slash - s] = '\0';
    int version = (inet_pton(AF_INET, addr, buf) == 1 ? 4
                   : inet_pton(AF_INET6, addr, buf) == 1 ? 6 : 0);
    const char *p = slash + 1;
    int plen = 0;
    if (!*p || strlen(p) > 3) {
        return 0;
    }
    for (; *p; p++) {
        if (*p < '0' || *p > '9') {
            return 0;
        }
        plen = plen * 10 + (*p - '0');
    }
    return plen <= (version == 4 ? 32 : 128) ? version : 0;
}

/* Reads prevResult 'prev' into 'req' and converts it, in place, to the
 * configuration's version. */
static struct cni_error *
parse_prev_result(json_t *prev, struct cni_request *req)
{
    if (!json_is_object(prev)) {
        return prev_error("prevResult: must be an object, not %s",
                          json_type_name(prev));
    }
    const json_t *v = json_object_get(prev, "cniVersion");
    if (v) {
        if (!json_is_string(v)) {
            return prev_error("prevResult.cniVersion: must be a string, not "
                              "%s", json_type_name(v));
        }
        if (!is_supported_version(json_string_value(v))) {
            char *qv = q(json_string_value(v));
            char *list = supported_list();
            struct cni_error *e = cni_error_create(
                CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI version",
                "prevResult.cniVersion: %s cannot be converted to %s "
                "(supported: %s)", qv, req->cni_version, list);
            free(list);
            free(qv);
            return e;
        }
    }

    json_t *ifaces = json_object_get(prev, "interfaces");
    if (!ifaces) {
        return prev_error("prevResult.interfaces: missing (the main plugin "
                          "must report the host-side interface it put on "
                          "the bridge)");
    }
    if (!json_is_array(ifaces)) {
        return prev_error("prevResult.interfaces: must be an array, not %s",
                          json_type_name(ifaces));
    }
    size_t i;
    json_t *it;
    /* Which interfaces are the pod's (in a sandbox): the addresses of the
     * others (a bridge's gateway address, say) are not the pod's. */
    size_t n_ifaces = json_array_size(ifaces);
    bool *in_sandbox = xcalloc(n_ifaces ? n_ifaces : 1, sizeof *in_sandbox);
    json_array_foreach (ifaces, i, it) {
        if (!json_is_object(it)) {
            free(in_sandbox);
            return prev_error("prevResult.interfaces[%zu]: must be an "
                              "object, not %s", i, json_type_name(it));
        }
        const json_t *name = json_object_get(it, "name");
        const json_t *sandbox = json_object_get(it, "sandbox");
        if (!json_is_string(name) || !json_string_length(name)) {
            free(in_sandbox);
            return prev_error("prevResult.interfaces[%zu].name: missing or "
                              "not a string", i);
        }
        if (sandbox && !json_is_string(sandbox)) {
            free(in_sandbox);
            return prev_error("prevResult.interfaces[%zu].sandbox: must be a "
                              "string, not %s", i, json_type_name(sandbox));
        }
        in_sandbox[i] = sandbox && json_string_length(sandbox);
        if (!in_sandbox[i]) {
            req->host_ifaces = xrealloc(req->host_ifaces,
                                        (req->n_host_ifaces + 1)
                                        * sizeof *req->host_ifaces);
            req->host_ifaces[req->n_host_ifaces++]
                = xstrdup(json_string_value(name));
        }
    }

    json_t *ips = json_object_get(prev, "ips");
    if (ips && !json_is_array(ips)) {
        free(in_sandbox);
        return prev_error("prevResult.ips: must be an array, not %s",
                          json_type_name(ips));
    }
    struct strbuf addrs;
    strbuf_init(&addrs);
    json_array_foreach (ips, i, it) {
        if (!json_is_object(it)) {
            strbuf_destroy(&addrs);
            free(in_sandbox);
            return prev_error("prevResult.ips[%zu]: must be an object, not "
                              "%s", i, json_type_name(it));
        }
        const json_t *a = json_object_get(it, "address");
        int version = json_is_string(a) ? address_version(json_string_value(a))
                                        : 0;
        const json_t *index = json_object_get(it, "interface");
        if (!version || (index && (!json_is_integer(index)
                                   || json_integer_value(index) < 0
                                   || json_integer_value(index) >= n_ifaces))) {
            strbuf_destroy(&addrs);
            free(in_sandbox);
            if (version) {
                return prev_error("prevResult.ips[%zu].interface: not an "
                                  "index into prevResult.interfaces (%zu "
                                  "of them)", i, n_ifaces);
            }
            if (!json_is_string(a)) {
                return prev_error("prevResult.ips[%zu].address: missing or "
                                  "not a string", i);
            }
            char *qa = q(json_string_value(a));
            struct cni_error *e = prev_error(
                "prevResult.ips[%zu].address: %s is not an IP address with "
                "a prefix length (\"10.244.1.5/24\", \"fd00::5/64\")", i, qa);
            free(qa);
            return e;
        }
        if (!index || in_sandbox[json_integer_value(index)]) {
            strbuf_printf(&addrs, "%s%s", addrs.len ? " " : "",
                          json_string_value(a));
        }
        /* 0.3.x and 0.4.0 say which family; 1.0.0 does not. */
        if (is_v1(req->cni_version)) {
            json_object_del(it, "version");
        } else {
            json_object_set_new(it, "version",
                                json_string(version == 4 ? "4" : "6"));
        }
    }
    free(in_sandbox);
    req->addresses = strbuf_steal(&addrs);
    req->has_prev_result = true;
    return NULL;
}

/* ---- The request. ---- */

static struct cni_error *
env_error(const char *name, const char *what)
{
    return cni_error_create(CNI_ERR_INVALID_ENV,
                            "invalid environment variables", "%s: %s",
                            name, what);
}

static struct cni_error *
parse_env(char *const *env, struct cni_request *req)
{
    const char *id = env_get(env, "CNI_CONTAINERID");
    const char *ifname = env_get(env, "CNI_IFNAME");
    const char *netns = env_get(env, "CNI_NETNS");

    /* What the spec requires of each command. */
    if (!id || !*id) {
        return env_error("CNI_CONTAINERID", "missing");
    }
    if (!is_container_id(id)) {
        char *qi = q(id);
        struct cni_error *e = cni_error_create(
            CNI_ERR_INVALID_ENV, "invalid environment variables",
            "CNI_CONTAINERID: %s must start with an alphanumeric character, "
            "followed by alphanumerics, '_', '.' or '-'", qi);
        free(qi);
        return e;
    }
    if (!ifname || !*ifname) {
        return env_error("CNI_IFNAME", "missing");
    }
    if (!is_ifname(ifname)) {
        char *qi = q(ifname);
        struct cni_error *e = cni_error_create(
            CNI_ERR_INVALID_ENV, "invalid environment variables",
            "CNI_IFNAME: %s is not an interface name (1 to 15 characters, "
            "no '/', ':' or spaces, not \".\" or \"..\")", qi);
        free(qi);
        return e;
    }
    if (req->command != CNI_CMD_DEL && (!netns || !*netns)) {
        return env_error("CNI_NETNS", "missing");
    }
    req->container_id = xstrdup(id);
    req->ifname = xstrdup(ifname);
    req->netns = netns && *netns ? xstrdup(netns) : NULL;
    req->owner = xasprintf("%s/%s", id, ifname);

    /* The pod: ADD and CHECK cannot do without it; DEL can (it finds what
     * its ADD wrote by the owner mark). */
    const char *args = env_get(env, "CNI_ARGS");
    struct cni_error *e;
    char *ns = NULL, *pod = NULL;
    if ((e = cni_args_get(args, "K8S_POD_NAMESPACE", &ns))
        || (e = cni_args_get(args, "K8S_POD_NAME", &pod))) {
        free(ns);
        free(pod);
        if (req->command == CNI_CMD_DEL) {
            cni_log("ignoring CNI_ARGS on DEL: %s", e->details);
            cni_error_destroy(e);
            return NULL;
        }
        return e;
    }
    const char *why = NULL, *field = NULL;
    char *value = NULL;
    if (!ns || !pod) {
        field = !ns ? "K8S_POD_NAMESPACE" : "K8S_POD_NAME";
        why = "missing: ovs-netpol-cni binds the port to a Kubernetes pod "
              "and needs K8S_POD_NAMESPACE and K8S_POD_NAME in CNI_ARGS (the "
              "kubelet's container runtime passes them)";
    } else if ((why = dns1123_label_error(ns))) {
        field = "K8S_POD_NAMESPACE";
        value = ns;
    } else if ((why = dns1123_subdomain_error(pod))) {
        field = "K8S_POD_NAME";
        value = pod;
    }
    if (why) {
        if (req->command == CNI_CMD_DEL) {
            free(ns);
            free(pod);
            return NULL;
        }
        char *qv = value ? q(value) : NULL;
        e = cni_error_create(CNI_ERR_INVALID_ENV,
                             "invalid environment variables",
                             "CNI_ARGS %s%s%s: %s", field, qv ? "=" : "",
                             qv ? qv : "", why);
        free(qv);
        free(ns);
        free(pod);
        return e;
    }
    req->pod_namespace = ns;
    req->pod_name = pod;
    req->iface_id = xasprintf("%s_%s", ns, pod);
    return NULL;
}

static char *
version_answer(const char *input, size_t size)
{
    json_t *in = json_loadb(input, size, 0, NULL);
    const json_t *v = json_object_get(in, "cniVersion");
    json_t *out = json_object();
    json_t *list = json_array();

    json_object_set_new(out, "cniVersion",
                        json_string(json_is_string(v) ? json_string_value(v)
                                    : "1.0.0"));
    for (size_t i = 0; i < ARRAY_SIZE(supported_versions); i++) {
        json_array_append_new(list, json_string(supported_versions[i]));
    }
    json_object_set_new(out, "supportedVersions", list);
    char *s = json_dumps(out, JSON_PRESERVE_ORDER | JSON_INDENT(4));
    char *answer = xasprintf("%s\n", s);
    free(s);
    json_decref(out);
    json_decref(in);
    return answer;
}

struct cni_error *
cni_request_parse(char *const *env, const char *input, size_t size,
                  struct cni_request *req)
{
    struct cni_error *e = NULL;
    json_t *conf = NULL;

    memset(req, 0, sizeof *req);
    const char *command = env_get(env, "CNI_COMMAND");
    if (!command || !*command) {
        return env_error("CNI_COMMAND", "missing");
    }
    if (!strcmp(command, "ADD")) {
        req->command = CNI_CMD_ADD;
    } else if (!strcmp(command, "DEL")) {
        req->command = CNI_CMD_DEL;
    } else if (!strcmp(command, "CHECK")) {
        req->command = CNI_CMD_CHECK;
    } else if (!strcmp(command, "VERSION")) {
        req->command = CNI_CMD_VERSION;
        req->output = version_answer(input, size);
        return NULL;
    } else {
        char *qc = q(command);
        e = cni_error_create(CNI_ERR_INVALID_ENV,
                             "invalid environment variables",
                             "CNI_COMMAND: %s is not ADD, DEL, CHECK or "
                             "VERSION", qc);
        free(qc);
        return e;
    }

    json_error_t jerr;
    conf = json_loadb(input, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!conf) {
        return cni_error_create(CNI_ERR_DECODE,
                                "cannot decode the network configuration",
                                "stdin: line %d column %d: %s", jerr.line,
                                jerr.column, jerr.text);
    }
    if (!json_is_object(conf)) {
        e = cni_error_create(CNI_ERR_DECODE,
                             "cannot decode the network configuration",
                             "stdin: the network configuration must be a "
                             "JSON object, not %s", json_type_name(conf));
        goto out;
    }
    /* The version first: every error after this one is written in it. */
    const json_t *v = json_object_get(conf, "cniVersion");
    if (!json_is_string(v)) {
        e = cni_error_create(CNI_ERR_INVALID_CONFIG,
                             "invalid network configuration",
                             "cniVersion: %s", v ? "must be a string"
                             : "missing");
        goto out;
    }
    req->cni_version = xstrdup(json_string_value(v));
    if (!is_supported_version(req->cni_version)) {
        char *qv = q(req->cni_version);
        char *list = supported_list();
        e = cni_error_create(CNI_ERR_INCOMPATIBLE_VERSION,
                             "incompatible CNI version",
                             "cniVersion: %s is not supported (supported: "
                             "%s)", qv, list);
        free(list);
        free(qv);
        goto out;
    }
    if (req->command == CNI_CMD_CHECK && !strncmp(req->cni_version, "0.3.", 4)) {
        e = cni_error_create(CNI_ERR_INCOMPATIBLE_VERSION,
                             "incompatible CNI version",
                             "cniVersion: CHECK needs version 0.4.0 or later, "
                             "the configuration has %s", req->cni_version);
        goto out;
    }
    /* logFile early, so that the log of a failure goes there too. */
    if ((e = get_string(conf, "logFile", true, &req->log_file))) {
        goto out;
    }
    if ((e = parse_env(env, req)) || (e = parse_keys(conf, req))) {
        goto out;
    }

    json_t *prev = json_object_get(conf, "prevResult");
    if (prev && json_is_null(prev)) {
        prev = NULL;
    }
    if (!prev) {
        if (req->command != CNI_CMD_DEL) {
            e = prev_error("prevResult: missing: ovs-netpol-cni is a chained "
                           "plugin and must come after the plugin that puts "
                           "the pod's interface on the bridge");
        }
        goto out;
    }
    e = parse_prev_result(prev, req);
    if (e) {
        if (req->command == CNI_CMD_DEL) {
            /* DEL cleans up what it can: it finds its Interface by the
             * owner mark, not by prevResult. */
            cni_log("ignoring prevResult on DEL: %s", e->details);
            cni_error_destroy(e);
            e = NULL;
            for (size_t i = 0; i < req->n_host_ifaces; i++) {
                free(req->host_ifaces[i]);
            }
            free(req->host_ifaces);
            req->host_ifaces = NULL;
            req->n_host_ifaces = 0;
            free(req->addresses);
            req->addresses = NULL;
            req->has_prev_result = false;
        }
        goto out;
    }
    if (req->command == CNI_CMD_ADD || req->command == CNI_CMD_CHECK) {
        if (!req->n_host_ifaces) {
            e = prev_error("prevResult.interfaces: no host-side interface "
                           "(one without \"sandbox\"): the main plugin must "
                           "report the interface it put on the bridge");
            goto out;
        }
        if (!req->addresses[0]) {
            e = prev_error("prevResult.ips: no address: ovs-netpold needs "
                           "the pod's addresses to install its policies "
                           "before the pod runs (configure IPAM in the main "
                           "plugin)");
            goto out;
        }
    }
    if (req->command == CNI_CMD_ADD) {
        /* The result is prevResult, in the configuration's version. */
        json_object_set_new(prev, "cniVersion",
                            json_string(req->cni_version));
        char *s = json_dumps(prev, JSON_PRESERVE_ORDER | JSON_INDENT(4));
        req->output = xasprintf("%s\n", s);
        free(s);
    }

out:
    json_decref(conf);
    return e;
}

void
cni_request_destroy(struct cni_request *req)
{
    free(req->cni_version);
    free(req->container_id);
    free(req->ifname);
    free(req->netns);
    free(req->pod_namespace);
    free(req->pod_name);
    free(req->iface_id);
    free(req->owner);
    free(req->name);
    free(req->ovsdb);
    free(req->bridge);
    free(req->log_file);
    for (size_t i = 0; i < req->n_host_ifaces; i++) {
        free(req->host_ifaces[i]);
    }
    free(req->host_ifaces);
    free(req->addresses);
    free(req->output);
    memset(req, 0, sizeof *req);
}
