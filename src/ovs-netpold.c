/* ovs-netpold: main(), its options and its --config file, and the
 * host's addresses; the daemon itself is include/daemon.h. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include "addr.h"
#include "audit-log.h"
#include "compile.h"
#include "compile-flags.h"
#include "daemon.h"
#include "http.h"
#include "np-log.h"
#include "np-util.h"

static void
usage(FILE *stream)
{
    fputs("usage: ovs-netpold [OPTION...]\n"
          "Enforces Kubernetes NetworkPolicy on an Open vSwitch bridge.\n"
          "\n"
          "  --source dir:PATH     read manifests from a directory (inotify)\n"
          "  --kubeconfig FILE     watch the Kubernetes API of this kubeconfig\n"
          "                        (neither: the in-cluster service account)\n"
          "  --ovs-rundir DIR      where db.sock and BRIDGE.mgmt are\n"
          "                        (default /var/run/openvswitch)\n"
          "  --bridge NAME         default br-int\n"
          "  --node NAME           this node (default: the host name)\n"
          "  --control PATH        control socket (default\n"
          "                        /var/run/ovs-netpol/ovs-netpold.ctl)\n"
          "  --table-base N        first of our tables (default 0)\n"
          "  --continuation ACTION hands allowed packets on (default NORMAL)\n"
          "  --ct-zone N           conntrack zone (default 0)\n"
          "  --drift-interval S    seconds between drift checks (default 30,\n"
          "                        0 disables)\n"
          "  --node-address A,...  this node's addresses: traffic to and from\n"
          "                        the node is always allowed (default: the\n"
          "                        host's global addresses; 'none': none)\n"
          "  --node-port P,...     the bridge ports the node's own traffic\n"
          "                        comes in on (default LOCAL)\n"
          "  --uplink-port P,...   bridge ports (names or numbers) that bring\n"
          "                        other nodes' traffic, e.g. a NIC of a flat\n"
          "                        underlay; tunnel, patch and internal ports\n"
          "                        are uplinks unnamed; any other port that\n"
          "                        carries no pod sends no IP\n"
          "  --max-policy-flows N  the most flows one policy's rules may\n"
          "                        add (default 100000); a policy that needs\n"
          "                        more isolates its pods and allows nothing\n"
          "  --audit none|deny|allow|all\n"
          "                        what the audit log records for namespaces\n"
          "                        without an ovs-netpol.io/audit annotation\n"
          "                        (default none)\n"
          "  --audit-meter N       OpenFlow meter of the audit copies\n"
          "                        (default 20048)\n"
          "  --peer-class-min N    a ClusterNetworkPolicy peer of at least\n"
          "                        N addresses is matched through a register\n"
          "                        bit (default 32; 0: never)\n"
          "  --audit-rate N        audit copies per second, at most (100)\n"
          "  --audit-burst N       ...and in a burst (default: the rate)\n"
          "  --audit-log PATH      where the audit log goes ('-': standard\n"
          "                        output; default\n"
          "                        /var/log/ovs-netpol/audit.log)\n"
          "  --audit-log-max-size MB   rotate beyond this (default 100)\n"
          "  --audit-log-max-files N   rotated files kept (default 5)\n"
          "  --allow-insecure-http-token\n"
          "                        send the kubeconfig's bearer token to an\n"
          "                        http:// server (anyone on the path can\n"
          "                        read it; default: refuse to start)\n"
          "  --http ADDRESS:PORT   serve /healthz, /readyz and /metrics there\n"
          "                        (127.0.0.1:9476, [::1]:9476, or :9476 for\n"
          "                        every address; default: off)\n"
          "  --stale-after S       seconds after which flows behind the\n"
          "                        desired table, or a source out of sync,\n"
          "                        make /readyz 503 (default 30)\n"
          "  --log-format text|json\n"
          "  --log-level debug|info|warn|error\n"
          "  --config FILE         read options from FILE: one 'name value'\n"
          "                        per line ('#' comments); flags win\n",
          stream);
}

enum {
    OPT_SOURCE = 256, OPT_KUBECONFIG, OPT_OVS_RUNDIR, OPT_BRIDGE,
    OPT_CONTROL, OPT_DRIFT_INTERVAL, OPT_LOG_FORMAT, OPT_LOG_LEVEL,
    OPT_CONFIG, OPT_ALLOW_HTTP_TOKEN, OPT_HTTP, OPT_STALE_AFTER,
    OPT_AUDIT_LOG, OPT_AUDIT_RATE, OPT_AUDIT_BURST, OPT_AUDIT_MAX_SIZE,
    OPT_AUDIT_MAX_FILES,
    OPT_COMPILE,                /* The compiler's: compile-flags.h. */
};

static const struct option long_options[] = {
    {"source", required_argument, NULL, OPT_SOURCE},
    {"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
    {"ovs-rundir", required_argument, NULL, OPT_OVS_RUNDIR},
    {"bridge", required_argument, NULL, OPT_BRIDGE},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"drift-interval", required_argument, NULL, OPT_DRIFT_INTERVAL},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"allow-insecure-http-token", no_argument, NULL, OPT_ALLOW_HTTP_TOKEN},
    {"http", required_argument, NULL, OPT_HTTP},
    {"stale-after", required_argument, NULL, OPT_STALE_AFTER},
    {"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
    {"audit-rate", required_argument, NULL, OPT_AUDIT_RATE},
    {"audit-burst", required_argument, NULL, OPT_AUDIT_BURST},
    {"audit-log-max-size", required_argument, NULL, OPT_AUDIT_MAX_SIZE},
    {"audit-log-max-files", required_argument, NULL, OPT_AUDIT_MAX_FILES},
    COMPILE_FLAGS_OPTIONS(OPT_COMPILE),
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static bool
parse_number(const char *name, const char *s, double max, double *value)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < 0 || v > max) {
        fprintf(stderr, "ovs-netpold: --%s: \"%s\" is not a number from 0 to "
                "%g\n", name, s, max);
        return false;
    }
    *value = v;
    return true;
}

/* A whole number from 'min' to 'max', for counts and sizes. */
static bool
parse_count(const char *name, const char *s, unsigned long min,
            unsigned long max, unsigned long *value)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || *s == '+' || v < min
        || v > max) {
        fprintf(stderr, "ovs-netpold: --%s: \"%s\" is not a whole number "
                "from %lu to %lu\n", name, s, min, max);
        return false;
    }
    *value = v;
    return true;
}

/* --http's address, which the options point to. */
static struct http_address http_address;

/* The values read from --config, which the options point into. */
static char **config_values;
static size_t n_config_values, allocated_config_values;

/* The addresses of this host, which is the node (ovs-netpold runs in the
 * host's network namespace): everything but loopback and link-local,
 * which never reach a pod as the node's. */
static struct ip_addr *
detect_node_addrs(size_t *n_addrs)
{
    struct ifaddrs *ifa_list;
    *n_addrs = 0;
    if (getifaddrs(&ifa_list)) {
        np_log(NP_LOG_WARN, "main", "cannot list this host's addresses (%s): "
               "no --node-address", strerror(errno));
        return NULL;
    }
    struct ip_addr *ips = NULL;
    size_t n = 0, allocated = 0;
    for (struct ifaddrs *ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || (ifa->ifa_flags & IFF_LOOPBACK)) {
            continue;
        }
        char text[INET6_ADDRSTRLEN];
        int family = ifa->ifa_addr->sa_family;
        if (family == AF_INET) {
            const struct sockaddr_in *sin = (void *) ifa->ifa_addr;
            if ((ntohl(sin->sin_addr.s_addr) >> 16) == 0xa9fe) {
                continue;       /* 169.254/16 */
            }
            inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
        } else if (family == AF_INET6) {
            const struct sockaddr_in6 *sin6 = (void *) ifa->ifa_addr;
            if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) {
                continue;
            }
            inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
        } else {
            continue;
        }
        struct ip_addr ip;
        if (ip_addr_parse(text, &ip)) {
            APPEND(ips, n, allocated, ip);
        }
    }
    freeifaddrs(ifa_list);
    *n_addrs = n;
    return ips;
}

/* Applies one option; returns false after printing why it is wrong.
 * Strings are kept: they come from argv or from the config file, whose
 * lines live until exit.  The compiler's options go to 'flags'. */
static bool
apply_option(struct daemon_options *o, struct compile_flags *flags, int opt,
             const char *name, const char *arg)
{
    double v;
    switch (opt) {
    case OPT_COMPILE: {
        char *error = compile_flags_parse(flags, name, arg);
        if (error) {
            fprintf(stderr, "ovs-netpold: %s\n", error);
            free(error);
            return false;
        }
        return true;
    }
    case OPT_SOURCE:
        if (strncmp(arg, "dir:", 4) || !arg[4]) {
            fprintf(stderr, "ovs-netpold: --source: \"%s\" is not "
                    "dir:PATH\n", arg);
            return false;
        }
        o->source_dir = arg + 4;
        return true;
    case OPT_KUBECONFIG:
        o->kubeconfig = arg;
        return true;
    case OPT_OVS_RUNDIR:
        o->ovs_rundir = arg;
        return true;
    case OPT_BRIDGE:
        o->bridge = arg;
        return true;
    case OPT_CONTROL:
        o->control = arg;
        return true;
    case OPT_DRIFT_INTERVAL:
        if (!parse_number(name, arg, 86400, &v)) {
            return false;
        }
        o->drift_interval = v;
        return true;
    case OPT_HTTP: {
        char *error = http_address_parse(arg, &http_address);
        if (error) {
            fprintf(stderr, "ovs-netpold: --http: %s\n", error);
            free(error);
            return false;
        }
        o->http = &http_address;
        return true;
    }
    case OPT_STALE_AFTER:
        if (!parse_number(name, arg, 86400, &v)) {
            return false;
        }
        o->stale_after = v;
        return true;
    case OPT_AUDIT_LOG:
        if (!*arg) {
            fprintf(stderr, "ovs-netpold: --audit-log: empty path\n");
            return false;
        }
        o->audit_log = arg;
        return true;
    case OPT_AUDIT_RATE:
    case OPT_AUDIT_BURST: {
        /* Packets; the meter takes 32 bits.  A burst of 0: the rate. */
        unsigned long n;
        if (!parse_count(name, arg, opt == OPT_AUDIT_RATE, 1000000, &n)) {
            return false;
        }
        *(opt == OPT_AUDIT_RATE ? &o->audit_rate : &o->audit_burst) = n;
        return true;
    }
    case OPT_AUDIT_MAX_SIZE: {
        /* Megabytes, as the flag says; 0: never rotated. */
        unsigned long n;
        if (!parse_count(name, arg, 0, 1024 * 1024, &n)) {
            return false;
        }
        o->audit_max_size = (unsigned long long) n * 1024 * 1024;
        return true;
    }
    case OPT_AUDIT_MAX_FILES: {
        unsigned long n;
        if (!parse_count(name, arg, 0, 1000, &n)) {
            return false;
        }
        o->audit_max_files = n;
        return true;
    }
    case OPT_LOG_FORMAT:
        if (strcmp(arg, "text") && strcmp(arg, "json")) {
            fprintf(stderr, "ovs-netpold: --log-format: \"%s\" is not text "
                    "or json\n", arg);
            return false;
        }
        np_log_set_json(!strcmp(arg, "json"));
        return true;
    case OPT_ALLOW_HTTP_TOKEN:
        /* A flag; in a config file "true" or "false". */
        if (arg && strcmp(arg, "true") && strcmp(arg, "false")) {
            fprintf(stderr, "ovs-netpold: --%s: \"%s\" is not true or "
                    "false\n", name, arg);
            return false;
        }
        o->allow_insecure_http_token = !arg || !strcmp(arg, "true");
        return true;
    case OPT_LOG_LEVEL: {
        enum np_log_level level;
        if (!np_log_parse_level(arg, &level)) {
            fprintf(stderr, "ovs-netpold: --log-level: \"%s\" is not debug, "
                    "info, warn or error\n", arg);
            return false;
        }
        np_log_set_level(level);
        return true;
    }
    }
    return false;
}

/* The longest line of a --config file. */
#define CONFIG_MAX_LINE 65536

/* Reads 'name value' lines. */
static bool
read_config(struct daemon_options *o, struct compile_flags *flags,
            const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ovs-netpold: --config %s: %s\n", path,
                strerror(errno));
        return false;
    }
    /* getline(), not a fixed buffer: the tail of a long line, say of a
     * comment, must not be read as a line of its own. */
    char *line = NULL;
    size_t allocated = 0;
    ssize_t len;
    int lineno = 0;
    bool ok = true;
    while (ok && (len = getline(&line, &allocated, f)) >= 0) {
        lineno++;
        if (len > CONFIG_MAX_LINE) {
            fprintf(stderr, "ovs-netpold: %s:%d: line longer than %d "
                    "bytes\n", path, lineno, CONFIG_MAX_LINE);
            ok = false;
            break;
        }
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "#\r\n")] = '\0';
        if (!*p) {
            continue;
        }
        char *name = p;
        char *value = p + strcspn(p, " \t=");
        if (*value) {
            *value++ = '\0';
            value += strspn(value, " \t=");
        }
        for (char *end = value + strlen(value);
             end > value && (end[-1] == ' ' || end[-1] == '\t'); ) {
            *--end = '\0';
        }
        const struct option *opt = NULL;
        for (const struct option *lo = long_options; lo->name; lo++) {
            if (!strcmp(lo->name, name) && lo->val >= 256
                && lo->val != OPT_CONFIG) {
                opt = lo;
            }
        }
        if (!opt || !*value) {
            fprintf(stderr, "ovs-netpold: %s:%d: %s\n", path, lineno,
                    opt ? "missing value" : "unknown option");
            ok = false;
            break;
        }
        char *copy = xstrdup(value);
        APPEND(config_values, n_config_values, allocated_config_values,
               copy);
        ok = apply_option(o, flags, opt->val, name, copy);
        if (!ok) {
            fprintf(stderr, "ovs-netpold: (in %s:%d)\n", path, lineno);
        }
    }
    free(line);
    fclose(f);
    return ok;
}

int
main(int argc, char *argv[])
{
    struct daemon_options o = {
        .ovs_rundir = "/var/run/openvswitch",
        .bridge = "br-int",
        .control = "/var/run/ovs-netpol/ovs-netpold.ctl",
        .drift_interval = 30,
        .stale_after = 30,
        .audit_log = DAEMON_AUDIT_LOG,
        .audit_rate = DAEMON_AUDIT_RATE,
        .audit_max_size = AUDIT_LOG_DEFAULT_MAX_SIZE,
        .audit_max_files = AUDIT_LOG_DEFAULT_MAX_FILES,
    };
    struct compile_flags flags;
    compile_flags_init(&flags);
    struct ip_addr *host_addrs = NULL;
    char *abs_rundir = NULL;
    int status = 2;

    /* The config file first, so that flags override it. */
    for (int i = 1; i < argc; i++) {
        const char *path = NULL;
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            path = argv[i + 1];
        } else if (!strncmp(argv[i], "--config=", 9)) {
            path = argv[i] + 9;
        }
        if (path && !read_config(&o, &flags, path)) {
            goto out;
        }
    }
    for (;;) {
        int index;
        int opt = getopt_long(argc, argv, "h", long_options, &index);
        if (opt == -1) {
            break;
        } else if (opt == 'h') {
            usage(stdout);
            status = 0;
            goto out;
        } else if (opt == OPT_CONFIG) {
            continue;
        } else if (opt == '?') {
            usage(stderr);
            goto out;
        }
        if (!apply_option(&o, &flags, opt, long_options[index].name,
                          optarg)) {
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ovs-netpold: unexpected argument \"%s\"\n",
                argv[optind]);
        goto out;
    }
    if (o.source_dir && o.kubeconfig) {
        fprintf(stderr, "ovs-netpold: --source and --kubeconfig exclude each "
                "other\n");
        goto out;
    }
    /* OVS resolves a relative unix socket path against its own run
     * directory, not ours: make it absolute. */
    if (o.ovs_rundir[0] != '/') {
        abs_rundir = realpath(o.ovs_rundir, NULL);
        if (!abs_rundir) {
            fprintf(stderr, "ovs-netpold: --ovs-rundir %s: %s\n",
                    o.ovs_rundir, strerror(errno));
            goto out;
        }
        o.ovs_rundir = abs_rundir;
    }
    /* The daemon hands its flows to the switch with no port map, so an
     * in_port holds a number or a reserved name; a name like "eth1" would
     * fail every bundle.  (ovs-netpol compile prints text for ovs-ofctl,
     * which resolves names itself.) */
    for (size_t i = 0; i < flags.opts.n_node_ports; i++) {
        const char *p = flags.opts.node_ports[i];
        if (strspn(p, "0123456789") != strlen(p) && strcmp(p, "LOCAL")) {
            fprintf(stderr, "ovs-netpold: --node-port: \"%s\" is a port "
                    "name; give its OpenFlow port number instead "
                    "(ovs-vsctl get Interface %s ofport) or LOCAL\n", p, p);
            goto out;
        }
    }
    o.compile = flags.opts;
    static char host[HOST_NAME_MAX + 1];
    if (!o.compile.node) {
        if (gethostname(host, sizeof host)) {
            fprintf(stderr, "ovs-netpold: no --node and no host name: %s\n",
                    strerror(errno));
            goto out;
        }
        o.compile.node = host;
    }
    if (!flags.node_addrs_given) {
        host_addrs = detect_node_addrs(&o.compile.n_node_addrs);
        o.compile.node_addrs = host_addrs;
    }
    char *list = xstrdup("");
    for (size_t i = 0; i < o.compile.n_node_addrs; i++) {
        char addr[IP_ADDR_STRLEN];
        ip_addr_format(&o.compile.node_addrs[i], addr);
        char *longer = xasprintf("%s%s%s", list, i ? "," : "", addr);
        free(list);
        list = longer;
    }
    np_log(NP_LOG_INFO, "main", "node %s, addresses %s (traffic to and from "
           "them is always allowed)", o.compile.node,
           o.compile.n_node_addrs ? list : "none");
    free(list);
    status = daemon_main(&o);

out:
    /* Nothing else is left at exit: leak checkers stay quiet. */
    free(host_addrs);
    compile_flags_destroy(&flags);
    free(abs_rundir);
    for (size_t i = 0; i < n_config_values; i++) {
        free(config_values[i]);
    }
    free(config_values);
    return status;
}
