/* The daemon's 'explain' and 'trace' commands: our cookies decoded, and
 * the switch's own ofproto/trace read back with every flow of ours named.
 * See include/daemon-trace.h. */
#include "daemon-trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "addr.h"
#include "appctl.h"
#include "cluster.h"
#include "cnp.h"
#include "control.h"
#include "cookie.h"
#include "daemon.h"
#include "engine.h"
#include "installer.h"
#include "np-util.h"
#include "objects.h"
#include "switch-db.h"
#include "trace.h"

struct daemon_trace {
    const struct daemon_options *opts;
    const struct engine *engine;
    const struct installer *installer;
    const struct switch_db *db;
    struct trace_req *traces;   /* Waiting for the switch. */
    size_t n_traces;
};

static const char *
policy_name_cb(void *dt_, uint32_t pno)
{
    struct daemon_trace *dt = dt_;
    return engine_policy_name(dt->engine, pno);
}

/* The ClusterNetworkPolicy that policy number 'pno' names now (its name
 * "ClusterNetworkPolicy NAME", or a bare "NAME"), or NULL. */
static const struct k8s_cnp *
find_cnp(const struct daemon_trace *dt, uint32_t pno)
{
    return engine_policy_cnp(dt->engine, pno);
}

/* The flows carry a ClusterNetworkPolicy rule's index only; its name is
 * the object's, which the daemon has. */
static const char *
rule_name_cb(void *dt_, uint32_t pno, bool ingress, unsigned int rule)
{
    const struct k8s_cnp *cnp = find_cnp(dt_, pno);
    size_t n = cnp ? (ingress ? cnp->n_ingress : cnp->n_egress) : 0;
    return rule < n ? (ingress ? cnp->ingress : cnp->egress)[rule].name : NULL;
}

/* explain NS/POD: what decides the pod's connections, from the objects.
 * Returns false if 'text' is not "ns/name" (then it is a cookie, or
 * nothing). */
static bool
explain_pod(struct daemon_trace *dt, struct control_request *req,
            const char *text)
{
    const char *slash = strchr(text, '/');
    if (!slash || slash == text || !slash[1] || strchr(slash + 1, '/')
        || strpbrk(text, " =,")) {
        return false;
    }
    char *ns = xmemdup0(text, slash - text);
    char *what = trace_explain_pod(engine_cluster(dt->engine), ns, slash + 1);
    free(ns);
    if (what) {
        control_reply(req, true, what);
    } else {
        char *msg = xasprintf("explain: unknown pod %s: the daemon knows no "
                              "such pod", text);
        control_reply(req, false, msg);
        free(msg);
    }
    free(what);
    return true;
}

/* explain COOKIE|FLOW...|NS/POD: the words of a dump-flows line arrive as
 * separate arguments when the caller did not quote it. */
static void
cmd_explain(struct control_request *req, int argc, const char *argv[],
            void *aux)
{
    struct daemon_trace *dt = aux;
    size_t len = 1;
    for (int i = 1; i < argc; i++) {
        len += strlen(argv[i]) + 1;
    }
    char *text = xcalloc(1, len);
    for (int i = 1; i < argc; i++) {
        if (i > 1) {
            strcat(text, " ");
        }
        strcat(text, argv[i]);
    }
    uint64_t cookie;
    char *error = trace_cookie_parse(text, &cookie);
    if (error && explain_pod(dt, req, text)) {
        free(error);
        free(text);
        return;
    }
    free(text);
    if (error) {
        char *msg = xasprintf("explain: %s", error);
        control_reply(req, false, msg);
        free(msg);
        free(error);
        return;
    }
    char *what = trace_cookie_describe(cookie, policy_name_cb, rule_name_cb,
                                       dt);
    struct np_cookie c;
    if (!np_cookie_decode(cookie, &c)) {
        char *msg = xasprintf("%s\n", what);
        control_reply(req, true, msg);
        free(msg);
        free(what);
        return;
    }
    struct installer_status is;
    installer_get_status(dt->installer, &is);
    size_t n = installer_count_cookie(dt->installer, cookie);
    char *installed;
    if (c.generation != is.generation || !is.generation_chosen) {
        installed = xasprintf("no: the daemon's generation is %u (a "
                              "leftover of an earlier run?)", is.generation);
    } else if (!is.installed_known) {
        installed = xstrdup("not known: the daemon is reinstalling its "
                            "flows");
    } else if (!n) {
        installed = xstrdup("no: the daemon's table has no flow with this "
                            "cookie now");
    } else {
        installed = xasprintf("yes, %zu flow%s", n, n > 1 ? "s" : "");
    }
    /* A policy over the flow limit has its isolation but no rule flows:
     * say so, or "installed: no" would read as a lost flow. */
    const char *policy = ((c.kind == NPC_RULE || c.kind == NPC_ISOLATION
                           || c.kind == NPC_AUDIT)
                          ? engine_policy_name(dt->engine, c.policy) : NULL);
    const char *rejected = (policy
                            ? engine_policy_rejection(dt->engine, policy)
                            : NULL);
    char *note = rejected ? xasprintf("note: %s\n", rejected) : xstrdup("");
    /* A cookie can name a rule the policy does not have (edited since, or
     * typed by hand): say so rather than let "rule N" stand. */
    const struct k8s_netpol *np = NULL;
    if (policy && (c.kind == NPC_RULE || c.kind == NPC_AUDIT)) {
        const char *slash = strchr(policy, '/');
        char *ns = xmemdup0(policy, slash ? slash - policy : 0);
        np = slash ? cluster_find_netpol(engine_cluster(dt->engine), ns,
                                         slash + 1) : NULL;
        free(ns);
    }
    const struct k8s_cnp *cnp = c.kind == NPC_CNP ? find_cnp(dt, c.policy)
                                : NULL;
    if (cnp) {
        policy = engine_policy_name(dt->engine, c.policy);
    }
    size_t n_rules = (np ? (c.ingress ? np->n_ingress : np->n_egress)
                      : cnp ? (c.ingress ? cnp->n_ingress : cnp->n_egress)
                      : 0);
    if (cnp && c.rule < n_rules) {
        /* The cookie has no tier (the table has); the object does. */
        const struct cnp_rule *r = &(c.ingress ? cnp->ingress
                                     : cnp->egress)[c.rule];
        char *more = xasprintf("%s%s: %s tier, priority %d; %s rule %u: "
                               "%s\n", note, policy,
                               cnp_tier_name(cnp->tier), cnp->priority,
                               c.ingress ? "ingress" : "egress", c.rule,
                               cnp_rule_action_text(cnp, r));
        free(note);
        note = more;
    }
    if ((np || cnp) && c.rule >= n_rules) {
        char *more = xasprintf("%snote: %s has no %s rule %u now (it has "
                               "%zu)\n", note, policy,
                               c.ingress ? "ingress" : "egress", c.rule,
                               n_rules);
        free(note);
        note = more;
    }
    char *msg = xasprintf(
        "%s (generation %u, installed: %s)\n"
        "cookie %#"PRIx64": prefix %#"PRIx64", generation %u, kind %u, "
        "policy number %"PRIu32", rule slot %#x (%s, rule %u)\n%s",
        what, c.generation, installed, cookie, NP_COOKIE_PREFIX,
        c.generation, c.kind,
        c.policy, (unsigned int) np_cookie_slot(&c),
        c.ingress ? "ingress" : "egress", c.rule, note);
    free(note);
    control_reply(req, true, msg);
    free(msg);
    free(installed);
    free(what);
}

/* A 'trace' command waiting for ovs-vswitchd's answer. */
struct trace_req {
    struct daemon_trace *dt;
    struct control_request *req;
    struct appctl_call *call;
    char *flow;                 /* What we asked ofproto/trace. */
    char *what;                 /* The packet, in words. */
    char *src, *dst;            /* Names for the narration. */
    char *in_port;              /* --in-port's name, or NULL. */
    char *src_ns, *dst_ns;      /* Their pods' namespaces, or NULL. */
    uint8_t generation;
    bool raw;
    struct trace_req *next;
};

static void
trace_req_free(struct trace_req *t)
{
    struct daemon_trace *dt = t->dt;
    for (struct trace_req **p = &dt->traces; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    dt->n_traces--;
    free(t->flow);
    free(t->what);
    free(t->src);
    free(t->dst);
    free(t->in_port);
    free(t->src_ns);
    free(t->dst_ns);
    free(t);
}

/* Whether 'policy' ("ns/name") is in the namespace of the source or the
 * destination of 't' (where the policies that isolate them live). */
static bool
policy_near(const struct trace_req *t, const char *policy)
{
    size_t len = strcspn(policy, "/");
    for (int k = 0; k < 2; k++) {
        const char *ns = k ? t->dst_ns : t->src_ns;
        if (ns && strlen(ns) == len && !strncmp(ns, policy, len)) {
            return true;
        }
    }
    return false;
}

/* The report with a note before its path for every policy in the source's
 * or the destination's namespace that is over the flow limit or in force
 * as its fail-closed stand-in (invalid): those isolate and allow nothing,
 * so a drop they cause is not what their rules say.  Returns a malloc'd
 * string; frees 'report'. */
static char *
add_rejection_notes(const struct trace_req *t, char *report)
{
    size_t n;
    const struct engine_rejection *rej = engine_rejections(t->dt->engine, &n);
    char *notes = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        if (policy_near(t, rej[i].policy)) {
            char *more = xasprintf("%s  note: %s\n", notes, rej[i].message);
            free(notes);
            notes = more;
        }
    }
    const struct k8s_netpol *const *nps
        = cluster_netpols(engine_cluster(t->dt->engine), &n);
    for (size_t i = 0; i < n; i++) {
        if (!nps[i]->invalid) {
            continue;
        }
        char *policy = xasprintf("%s/%s", nps[i]->namespace, nps[i]->name);
        if (policy_near(t, policy)) {
            char *more = xasprintf("%s  note: NetworkPolicy %s is invalid "
                                   "(%s): it isolates the pods it selects "
                                   "with no rules until it is fixed\n",
                                   notes, policy, nps[i]->invalid);
            free(notes);
            notes = more;
        }
        free(policy);
    }
    /* Cluster-scoped and few: each stand-in is worth a line. */
    const struct k8s_cnp *const *cnps
        = cluster_cnps(engine_cluster(t->dt->engine), &n);
    for (size_t i = 0; i < n; i++) {
        if (cnps[i]->invalid) {
            char *more = xasprintf("%s  note: %s %s is invalid (%s): its "
                                   "fail-closed stand-in denies every "
                                   "connection of its subject until it is "
                                   "fixed\n", notes, CNP_KIND, cnps[i]->name,
                                   cnps[i]->invalid);
            free(notes);
            notes = more;
        }
    }
    char *path = strstr(report, "\npath:\n");
    if (!*notes || !path) {
        free(notes);
        return report;
    }
    path++;
    char *out = xasprintf("%.*s%s%s", (int) (path - report), report, notes,
                          path);
    free(notes);
    free(report);
    return out;
}

static void
trace_req_finish(struct trace_req *t, bool ok, const char *text)
{
    control_reply(t->req, ok, text);
    trace_req_free(t);
}

/* The client went away: stop asking the switch. */
static void
trace_cancel(struct control_request *req, void *t_)
{
    struct trace_req *t = t_;
    appctl_cancel(t->call);
    trace_req_free(t);
}

static void
trace_done(void *t_, enum appctl_status status, const char *text)
{
    struct trace_req *t = t_;
    t->call = NULL;
    if (status != APPCTL_OK) {
        char *msg = (status == APPCTL_FAILED
                     ? xasprintf("trace: ovs-vswitchd refused \"ofproto/trace "
                                 "%s %s --ct-next trk,new\": %s",
                                 t->dt->opts->bridge, t->flow, text)
                     : xasprintf("trace: the switch is not reachable: %s",
                                 text));
        trace_req_finish(t, false, msg);
        free(msg);
        return;
    }
    struct trace_result r;
    char *error = trace_parse(text, &r);
    if (error) {
        char *msg = xasprintf("trace: cannot read ofproto/trace's answer: "
                              "%s\n---- ofproto/trace ----\n%s", error, text);
        trace_req_finish(t, false, msg);
        free(msg);
        free(error);
        trace_result_destroy(&r);
        return;
    }
    struct trace_context ctx = {
        .table_base = t->dt->opts->compile.table_base,
        .generation = t->generation,
        .policy_name = policy_name_cb,
        .rule_name = rule_name_cb,
        .aux = t->dt,
        .src = t->src,
        .dst = t->dst,
        .in_port = t->in_port,
    };
    char *report = add_rejection_notes(t, trace_report(&r, &ctx, t->what,
                                                       t->raw ? text : NULL));
    trace_result_destroy(&r);
    trace_req_finish(t, true, report);
    free(report);
}

/* Who SRC or DST is: a pod "ns/name", or an address (named after the pod
 * that has it, if any). */
struct endpoint {
    char *name;                 /* "x/b" or "10.9.0.7". */
    const struct k8s_pod *pod;  /* NULL for an address of no pod. */
    struct ip_addr *ips;        /* The candidates. */
    size_t n_ips;
    struct ip_addr one;
};

static char *
endpoint_resolve(const struct daemon_trace *dt, const char *text,
                 struct endpoint *e)
{
    const struct cluster *cl = engine_cluster(dt->engine);
    memset(e, 0, sizeof *e);
    if (ip_addr_parse(text, &e->one)) {
        e->ips = &e->one;
        e->n_ips = 1;
        size_t n;
        const struct k8s_pod *const *pods = cluster_pods(cl, &n);
        for (size_t i = 0; i < n && !e->pod; i++) {
            for (size_t j = 0; j < pods[i]->n_ips; j++) {
                if (!ip_addr_cmp(&pods[i]->ips[j], &e->one)
                    && !pods[i]->host_network) {
                    e->pod = pods[i];
                    break;
                }
            }
        }
        e->name = (e->pod ? xasprintf("%s/%s", e->pod->namespace,
                                      e->pod->name)
                   : xstrdup(text));
        return NULL;
    }
    const char *slash = strchr(text, '/');
    if (!slash || slash == text || !slash[1] || strchr(slash + 1, '/')) {
        return xasprintf("\"%s\" is neither namespace/pod nor an IP address",
                         text);
    }
    char *ns = xmemdup0(text, slash - text);
    e->pod = cluster_find_pod(cl, ns, slash + 1);
    free(ns);
    if (!e->pod) {
        return xasprintf("unknown pod %s: the daemon knows no such pod", text);
    }
    if (!e->pod->n_ips) {
        return xasprintf("pod %s has no address yet", text);
    }
    e->ips = e->pod->ips;
    e->n_ips = e->pod->n_ips;
    e->name = xstrdup(text);
    return NULL;
}

static const struct ip_addr *
endpoint_addr(const struct endpoint *e, int family)
{
    for (size_t i = 0; i < e->n_ips; i++) {
        if (e->ips[i].family == family) {
            return &e->ips[i];
        }
    }
    return NULL;
}

static bool
is_node_address(const struct daemon_trace *dt, const struct ip_addr *a)
{
    for (size_t i = 0; i < dt->opts->compile.n_node_addrs; i++) {
        if (!ip_addr_cmp(&dt->opts->compile.node_addrs[i], a)) {
            return true;
        }
    }
    return false;
}

/* --in-port's 'text': an OpenFlow port number, LOCAL, or the name of a
 * port of the bridge that carries no pod (switch_db_find_port()).  Stores
 * the number (or LOCAL) in 'in_port'; returns NULL or a malloc'd
 * message. */
static char *
resolve_in_port(const struct daemon_trace *dt, const char *text,
                char in_port[64])
{
    size_t len = strlen(text);
    if (!strcmp(text, "LOCAL")
        || (len && len <= 5 && strspn(text, "0123456789") == len)) {
        snprintf(in_port, 64, "%s", text);
        return NULL;
    }
    const struct switch_db_port *p = switch_db_find_port(dt->db, text);
    if (!p) {
        return xasprintf("--in-port: %.64s is no port of %s that carries no "
                         "pod (give a pod as SRC for its port, or a port "
                         "number)", text, dt->opts->bridge);
    }
    snprintf(in_port, 64, "%d", p->ofport);
    return NULL;
}

/* trace SRC DST [PROTO/]PORT [--raw] [--in-port PORT] */
static void
cmd_trace(struct control_request *req, int argc, const char *argv[],
          void *aux)
{
    struct daemon_trace *dt = aux;
    if (dt->n_traces >= DAEMON_TRACE_MAX) {
        char *msg = xasprintf("trace: %d traces are already waiting for the "
                              "switch: try again once they are answered",
                              DAEMON_TRACE_MAX);
        control_reply(req, false, msg);
        free(msg);
        return;
    }
    const char *args[3];
    int n_args = 0;
    bool raw = false;
    const char *in_port_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--raw")) {
            raw = true;
        } else if (!strcmp(argv[i], "--in-port") && i + 1 < argc) {
            in_port_arg = argv[++i];
        } else if (n_args < 3) {
            args[n_args++] = argv[i];
        } else {
            n_args++;
        }
    }
    if (n_args != 3) {
        control_reply(req, false, "usage: trace SRC DST [tcp|udp|sctp/]PORT "
                      "[--raw] [--in-port PORT]  (SRC, DST: namespace/pod "
                      "or an IP address)");
        return;
    }
    enum trace_proto proto;
    uint16_t port;
    char *error = trace_parse_port(args[2], &proto, &port);
    struct endpoint src = { NULL }, dst = { NULL };
    if (!error) {
        error = endpoint_resolve(dt, args[0], &src);
    }
    if (!error) {
        error = endpoint_resolve(dt, args[1], &dst);
    }
    const struct ip_addr *sa = NULL, *da = NULL;
    if (!error) {
        sa = endpoint_addr(&src, AF_INET);
        da = endpoint_addr(&dst, AF_INET);
        if (!sa || !da) {
            sa = endpoint_addr(&src, AF_INET6);
            da = endpoint_addr(&dst, AF_INET6);
        }
        if (!sa || !da) {
            error = xasprintf("%s and %s have no address family in common",
                              src.name, dst.name);
        }
    }
    char in_port[64] = "LOCAL";
    if (!error && in_port_arg) {
        error = resolve_in_port(dt, in_port_arg, in_port);
    }
    char *ctl = NULL;
    if (!error) {
        char *e2 = appctl_vswitchd_path(dt->opts->ovs_rundir, &ctl);
        if (e2) {
            error = xasprintf("the switch is not reachable: %s", e2);
            free(e2);
        }
    }
    if (error) {
        char *msg = xasprintf("trace: %s", error);
        control_reply(req, false, msg);
        free(msg);
        free(error);
        free(src.name);
        free(dst.name);
        return;
    }

    /* Where the packet enters: a local pod's own port; the node's port
     * for one of the node's addresses; LOCAL otherwise, standing in for
     * the uplink or tunnel that brings other nodes' traffic. */
    char *where;
    bool local = src.pod && src.pod->node_name
                 && !strcmp(src.pod->node_name, dt->opts->compile.node);
    size_t n_ports = 0;
    const struct switch_db_binding *b
        = local && !in_port_arg ? switch_db_find(dt->db, src.pod->namespace, src.pod->name,
                                 &n_ports)
                : NULL;
    if (in_port_arg) {
        /* The operator's: e.g. a port that carries no pod. */
        where = (strcmp(in_port_arg, in_port)
                 ? xasprintf("port %s (%s)", in_port_arg, in_port)
                 : xasprintf("port %s", in_port));
    } else if (b) {
        /* Every port of the pod is guarded alike: any gives the verdict. */
        snprintf(in_port, sizeof in_port, "%d", b->ofport);
        where = (n_ports > 1
                 ? xasprintf("port %s, the newest of its %zu ports", in_port,
                             n_ports)
                 : xasprintf("port %s", in_port));
    } else if (is_node_address(dt, sa)) {
        const struct compile_options *co = &dt->opts->compile;
        snprintf(in_port, sizeof in_port, "%s",
                 co->n_node_ports ? co->node_ports[0] : "LOCAL");
        where = xasprintf("the node, port %s", in_port);
    } else if (local) {
        where = xstrdup("no port on the bridge: traced from LOCAL");
    } else {
        where = xstrdup("not a pod of this node: traced from LOCAL");
    }
    char sbuf[IP_ADDR_STRLEN], dbuf[IP_ADDR_STRLEN];
    ip_addr_format(sa, sbuf);
    ip_addr_format(da, dbuf);
    bool v6 = sa->family == AF_INET6;

    struct trace_req *t = xcalloc(1, sizeof *t);
    t->dt = dt;
    t->req = req;
    t->raw = raw;
    struct installer_status is;
    installer_get_status(dt->installer, &is);
    t->generation = is.generation;
    t->flow = trace_flow(proto, port, in_port, v6, sbuf, dbuf);
    t->src = src.name;
    t->dst = dst.name;
    t->in_port = in_port_arg ? xstrdup(in_port_arg) : NULL;
    t->src_ns = src.pod ? xstrdup(src.pod->namespace) : NULL;
    t->dst_ns = dst.pod ? xstrdup(dst.pod->namespace) : NULL;
    char *sdesc = (strcmp(src.name, sbuf)
                   ? xasprintf("%s (%s, %s)", src.name, sbuf, where)
                   : xasprintf("%s (%s)", src.name, where));
    char *ddesc = (strcmp(dst.name, dbuf)
                   ? xasprintf("%s (%s)", dst.name, dbuf)
                   : xstrdup(dst.name));
    t->what = xasprintf("new %s connection %s -> %s port %u on %s",
                        trace_proto_name(proto), sdesc, ddesc, port,
                        dt->opts->bridge);
    free(sdesc);
    free(ddesc);
    free(where);
    t->next = dt->traces;
    dt->traces = t;
    dt->n_traces++;
    control_set_cancel(req, trace_cancel, t);
    const char *targs[] = { dt->opts->bridge, t->flow, "--ct-next",
                            "trk,new" };
    t->call = appctl_call(ctl, "ofproto/trace", 4, targs, 5000, trace_done, t);
    free(ctl);
}


struct daemon_trace *
daemon_trace_create(const struct daemon_options *opts,
                    const struct engine *engine,
                    const struct installer *installer,
                    const struct switch_db *db)
{
    struct daemon_trace *dt = xcalloc(1, sizeof *dt);
    dt->opts = opts;
    dt->engine = engine;
    dt->installer = installer;
    dt->db = db;
    control_register("explain", "COOKIE|FLOW|NS/POD", 1, 64, cmd_explain,
                     dt);
    control_register("trace", "SRC DST [tcp|udp|sctp/]PORT [--raw] "
                     "[--in-port PORT]", 3, 6, cmd_trace, dt);
    return dt;
}

void
daemon_trace_stop(struct daemon_trace *dt)
{
    while (dt->traces) {
        appctl_cancel(dt->traces->call);
        trace_req_finish(dt->traces, false, "daemon stopping");
    }
}

void
daemon_trace_destroy(struct daemon_trace *dt)
{
    if (dt) {
        daemon_trace_stop(dt);
        free(dt);
    }
}
