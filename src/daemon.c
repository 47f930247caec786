/* The daemon's glue: sources and port bindings into the engine, the
 * engine's table into the installer.  See include/daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "cluster.h"
#include "cnp.h"
#include "compile.h"
#include "control.h"
#include "daemon-audit.h"
#include "daemon-http.h"
#include "daemon-stats.h"
#include "daemon-trace.h"
#include "engine.h"
#include "events.h"
#include "installer.h"
#include "kube-client.h"
#include "kubeconfig.h"
#include "np-log.h"
#include "np-util.h"
#include "ovs-loop.h"
#include "source-dir.h"
#include "strmap.h"
#include "switch-db.h"
#include "switch-of.h"

/* The longest 'sync --timeout', in seconds: a longer wait is a mistake
 * (or 'inf'), and a waiter holds a connection meanwhile. */
#define SYNC_TIMEOUT_MAX 3600

/* Syncs that wait may each hold a connection and memory: at most this
 * many at a time, beyond which they get an error at once. */
#define DAEMON_MAX_SYNCS 64

struct daemon {
    const struct daemon_options *opts;
    struct ev_loop *loop;
    struct engine *engine;
    struct installer *installer;
    struct daemon_trace *trace;
    struct daemon_stats *stats;
    struct daemon_audit *audit;

    struct source_dir *dir;
    struct kube_client *kube;
    struct kube_config *kube_config;
    bool source_synced;         /* The first full view has arrived. */
    struct switch_db *db;
    struct control *control;
    struct daemon_http *http;   /* NULL without --http. */
    struct events *events;      /* NULL with --source dir: (no API). */
    ev_timer events_retry;
    /* The engine's warnings as of the last run that logged them: each is
     * logged when it appears, not at every run ('status' lists them). */
    struct strmap warned;

    char last_error[512];
    char last_error_time[NP_UTC_STAMP_SIZE];
    uint64_t commits_at_error;  /* Commits when it happened. */

    struct waiter *waiters;
    size_t n_waiters;           /* Allocated, see waiter_free(). */
    ev_prepare prepare;
    ev_idle kick;               /* One more loop iteration, soon. */
    ev_signal sigint, sigterm, sighup;
};

/* A 'sync' request waiting for the flows to catch up. */
struct waiter {
    struct control_request *req;
    uint64_t need_run;          /* The engine run that must be committed. */
    bool source_done;           /* The source has caught up. */
    ev_timer timeout;
    struct daemon *d;
    struct waiter *next;
    /* kube_client_sync() holds a pointer to this waiter until it calls
     * back: a waiter answered before that (timeout, stop) is only
     * detached, and freed by the callback. */
    bool kube_pending;
    bool answered;
};

/* Results of switch requests arrive from ovs-loop's own watchers, possibly
 * after this iteration's prepare_cb ran: make sure another iteration
 * follows without waiting for unrelated events. */
static void
kick(struct daemon *d)
{
    ev_idle_start(d->loop, &d->kick);
}

static void
kick_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    ev_idle_stop(loop, w);
}

static void
set_error(struct daemon *d, const char *msg)
{
    struct installer_status is;
    installer_get_status(d->installer, &is);
    snprintf(d->last_error, sizeof d->last_error, "%s", msg);
    np_utc_stamp(d->last_error_time);
    d->commits_at_error = is.commits;
}

/* ---- Sync waiters. ---- */

static void waiters_check(struct daemon *);

/* 'n_waiters' counts the waiters allocated, also those answered or
 * abandoned that the Kubernetes client still holds: each may hold that
 * client's probes and listings, so the limit must count them too. */
static void
waiter_free(struct daemon *d, struct waiter *w)
{
    d->n_waiters--;
    free(w);
}

/* Takes 'w' off the list; frees it unless the Kubernetes client still
 * holds it. */
static void
waiter_detach(struct daemon *d, struct waiter *w)
{
    for (struct waiter **p = &d->waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    ev_timer_stop(d->loop, &w->timeout);
    if (!w->kube_pending) {
        waiter_free(d, w);
    }
}

/* Answers 'w' and detaches it. */
static void
waiter_finish(struct daemon *d, struct waiter *w, bool ok, const char *text)
{
    if (!w->answered) {
        control_reply(w->req, ok, text);
        w->answered = true;
    }
    waiter_detach(d, w);
}

/* The client of 'w' went away: nobody to answer, nothing to keep. */
static void
waiter_cancel(struct control_request *req, void *w_)
{
    struct waiter *w = w_;
    w->answered = true;
    waiter_detach(w->d, w);
}

static void
waiter_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct waiter *w = CONTAINER_OF(t, struct waiter, timeout);
    waiter_finish(w->d, w, false, "sync: timed out before the flows for the "
                  "source's current state were committed");
}

/* The source has caught up: the flows must now include every input seen
 * so far. */
static void
waiter_source_done(struct daemon *d, struct waiter *w)
{
    struct engine_stats st;
    engine_get_stats(d->engine, &st);
    w->source_done = true;
    w->need_run = st.runs + (engine_pending(d->engine) ? 1 : 0);
    waiters_check(d);
}

static void
waiters_check(struct daemon *d)
{
    struct installer_status is;
    installer_get_status(d->installer, &is);
    struct waiter *w = d->waiters;
    while (w) {
        struct waiter *next = w->next;
        if (w->source_done && switch_db_is_synced(d->db)
            && is.runs_committed >= w->need_run
            && !engine_pending(d->engine) && !is.busy && is.installed_known) {
            char *msg = xasprintf("synced: %zu flows installed",
                                  is.n_installed);
            waiter_finish(d, w, true, msg);
            free(msg);
        }
        w = next;
    }
}

static void
kube_sync_done(void *aux, const char *error)
{
    struct waiter *w = aux;
    struct daemon *d = w->d;
    w->kube_pending = false;
    if (w->answered) {
        waiter_free(d, w);      /* Timed out, stopped or abandoned. */
        return;
    }
    kick(d);
    if (error) {
        char *msg = xasprintf("sync: %s", error);
        waiter_finish(d, w, false, msg);
        free(msg);
        return;
    }
    waiter_source_done(d, w);
}

/* ---- Events (events.h). ---- */

static void events_pump(struct daemon *);

static void
events_sent(void *aux, long status, const char *error)
{
    struct daemon *d = aux;
    if (error) {
        NP_WARN_RL("events", "%s", error);
    }
    events_done(d->events, status, ev_now(d->loop));
    events_pump(d);
}

/* Sends the next queued Event write, if any and none is in flight. */
static void
events_pump(struct daemon *d)
{
    const char *method, *path, *body;
    double wake;
    while (events_next(d->events, ev_now(d->loop), &method, &path, &body,
                       &wake)) {
        char *error;
        if (kube_client_send(d->kube, method, path, body, events_sent, d,
                             &error)) {
            return;
        }
        NP_WARN_RL("events", "%s %s: %s", method, path, error);
        free(error);
        events_done(d->events, 0, ev_now(d->loop));
    }
    if (wake) {
        ev_timer_stop(d->loop, &d->events_retry);
        ev_timer_set(&d->events_retry, wake - ev_now(d->loop) + 0.01, 0.);
        ev_timer_start(d->loop, &d->events_retry);
    }
}

static void
events_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    events_pump(CONTAINER_OF(w, struct daemon, events_retry));
}

static void
report_netpol(struct daemon *d, const char *ns, const char *name,
              const char *uid, const char *rv, const char *reason,
              const char *message)
{
    if (!d->events) {
        return;
    }
    struct events_ref ref = {
        .kind = "NetworkPolicy", .api_version = "networking.k8s.io/v1",
        .ns = ns, .name = name, .uid = uid, .rv = rv,
    };
    if (events_report(d->events, &ref, reason, message, ev_now(d->loop))) {
        np_log(NP_LOG_INFO, "events", "NetworkPolicy %s/%s: %s: %s", ns,
               name, reason, message);
        events_pump(d);
    }
}

/* A ClusterNetworkPolicy's Event: the object is cluster-scoped, so the
 * Event goes to namespace "default", as the kubelet puts a Node's. */
static void
report_cnp(struct daemon *d, const char *name, const char *uid,
           const char *rv, const char *reason, const char *message)
{
    if (!d->events) {
        return;
    }
    struct events_ref ref = {
        .kind = CNP_KIND, .api_version = CNP_API_VERSION,
        .ns = "default", .name = name, .uid = uid, .rv = rv,
        .cluster_scoped = true,
    };
    if (events_report(d->events, &ref, reason, message, ev_now(d->loop))) {
        np_log(NP_LOG_INFO, "events", "ClusterNetworkPolicy %s: %s: %s",
               name, reason, message);
        events_pump(d);
    }
}

/* An invalid NetworkPolicy or ClusterNetworkPolicy on the server: one
 * Event per version.  (kube-client.c has logged it as an error.) */
static void
kube_invalid(void *aux, enum obj_kind kind, const char *ns, const char *name,
             const char *uid, const char *rv, const char *error,
             const char *consequence)
{
    struct daemon *d = aux;
    if (kind != OBJ_NETPOL && kind != OBJ_CNP) {
        /* Pods and Namespaces: the log says it; an Event on every node's
         * behalf about a pod elsewhere would be noise. */
        return;
    }
    char *msg = xasprintf("%s; %s", error, consequence);
    if (kind == OBJ_CNP) {
        report_cnp(d, name, uid, rv, "InvalidPolicy", msg);
    } else {
        report_netpol(d, ns, name, uid, rv, "InvalidPolicy", msg);
    }
    free(msg);
}

/* The policies over --max-policy-flows, after an engine run: reported at
 * every run, written once per policy version (events.h, step 1). */
static void
report_rejections(struct daemon *d)
{
    size_t n, n_np;
    const struct engine_rejection *rej = engine_rejections(d->engine, &n);
    if (!d->events || !n) {
        return;
    }
    const struct k8s_netpol *const *nps
        = cluster_netpols(engine_cluster(d->engine), &n_np);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n_np; j++) {
            const struct k8s_netpol *np = nps[j];
            size_t nsl = strlen(np->namespace);
            if (strncmp(rej[i].policy, np->namespace, nsl)
                || rej[i].policy[nsl] != '/'
                || strcmp(rej[i].policy + nsl + 1, np->name)) {
                continue;
            }
            /* Not the count of flows: it moves with the pods, and each
             * move would be a new Event. */
            char *msg = xasprintf(
                "its rules need more than the limit of %zu flows per "
                "policy on node %s (--max-policy-flows): they are not "
                "installed there, and the pods it selects on that node stay "
                "isolated", d->opts->compile.max_policy_flows,
                d->opts->compile.node);
            report_netpol(d, np->namespace, np->name, np->uid,
                          np->resource_version, "TooManyFlows", msg);
            free(msg);
            break;
        }
    }
}

/* Whether 'pod' runs on this node and can receive traffic there. */
static bool
pod_is_local(const struct daemon *d, const struct k8s_pod *pod)
{
    return (pod->node_name && !strcmp(pod->node_name, d->opts->compile.node)
            && !pod->host_network && pod->phase != POD_SUCCEEDED
            && pod->phase != POD_FAILED);
}

static bool
pod_has_named_port(const struct k8s_pod *pod, const struct np_port *p)
{
    for (size_t i = 0; i < pod->n_ports; i++) {
        const struct container_port *cp = &pod->ports[i];
        if (cp->name && cp->proto == p->proto && !strcmp(cp->name, p->name)
            && cp->port) {
            return true;
        }
    }
    return false;
}

/* Ingress named ports that no pod the policy selects on this node defines:
 * such a port allows nothing here.  (Egress named ports resolve on the
 * destinations, which may live anywhere: not reported.)  A policy that
 * selects no pod of this node says nothing.  One message per policy,
 * listing every such port, so that step 1 of events.h sees one condition;
 * cleared when they resolve, so a recurrence is written again. */
static void
report_named_ports(struct daemon *d)
{
    size_t n_np, n_pods;
    const struct cluster *cl = engine_cluster(d->engine);
    const struct k8s_netpol *const *nps = cluster_netpols(cl, &n_np);
    const struct k8s_pod *const *pods = NULL;
    for (size_t i = 0; i < n_np; i++) {
        const struct k8s_netpol *np = nps[i];
        bool named = false;
        for (size_t r = 0; !named && r < np->n_ingress; r++) {
            for (size_t k = 0; !named && k < np->ingress[r].n_ports; k++) {
                named = np->ingress[r].ports[k].name != NULL;
            }
        }
        if (!named || np->invalid) {
            continue;
        }
        if (!pods) {
            pods = cluster_pods(cl, &n_pods);
        }

        struct strbuf msg;
        strbuf_init(&msg);
        bool any_local = false;
        for (size_t r = 0; r < np->n_ingress; r++) {
            for (size_t k = 0; k < np->ingress[r].n_ports; k++) {
                const struct np_port *p = &np->ingress[r].ports[k];
                if (!p->name) {
                    continue;
                }
                bool found = false;
                for (size_t j = 0; !found && j < n_pods; j++) {
                    const struct k8s_pod *pod = pods[j];
                    if (strcmp(pod->namespace, np->namespace)
                        || !pod_is_local(d, pod)
                        || !selector_matches(&np->pod_selector,
                                             &pod->labels)) {
                        continue;
                    }
                    any_local = true;
                    found = pod_has_named_port(pod, p);
                }
                if (!found) {
                    strbuf_printf(&msg, "%sspec.ingress[%zu].ports[%zu]: "
                                  "\"%s\" (%s)", msg.len ? ", " : "", r, k,
                                  p->name, np_proto_name(p->proto));
                }
            }
        }
        if (any_local && msg.len) {
            char *m = xasprintf("named port %s: no container port of the "
                                "pods it selects on node %s has that name "
                                "and protocol, so it admits nothing there",
                                msg.s, d->opts->compile.node);
            report_netpol(d, np->namespace, np->name, np->uid,
                          np->resource_version, "UnresolvedNamedPort", m);
            free(m);
        } else {
            events_forget(d->events, "NetworkPolicy", np->namespace,
                          np->name, "UnresolvedNamedPort");
        }
        strbuf_destroy(&msg);
    }
}

/* ---- Sources. ---- */

static void
src_object(void *aux, struct k8s_object *obj)
{
    struct daemon *d = aux;
    kick(d);
    if (d->events && obj->kind == OBJ_NETPOL && !obj->np->invalid) {
        events_forget(d->events, "NetworkPolicy", obj->np->namespace,
                      obj->np->name, "InvalidPolicy");
    } else if (d->events && obj->kind == OBJ_CNP) {
        events_forget(d->events, CNP_KIND, "default", obj->cnp->name,
                      "InvalidPolicy");
    }
    engine_apply(d->engine, obj);
}

static void
src_delete(void *aux, enum obj_kind kind, const char *ns, const char *name)
{
    struct daemon *d = aux;
    kick(d);
    if (d->events && kind == OBJ_NETPOL) {
        events_forget(d->events, "NetworkPolicy", ns, name, NULL);
    } else if (d->events && kind == OBJ_CNP) {
        events_forget(d->events, CNP_KIND, "default", name, NULL);
    }
    engine_delete(d->engine, kind, ns, name);
}

static void
src_synced(void *aux)
{
    struct daemon *d = aux;
    if (!d->source_synced) {
        d->source_synced = true;
        np_log(NP_LOG_INFO, "source", "initial state received");
    }
}

static void
src_error(void *aux, const char *message)
{
    struct daemon *d = aux;
    set_error(d, message);
    NP_ERR_RL("source", "%s", message);
}

static void
kube_log(void *aux, enum kube_log_level level, const char *msg)
{
    struct daemon *d = aux;
    if (level == KUBE_LOG_ERROR) {
        set_error(d, msg);
    }
    np_log(level == KUBE_LOG_ERROR ? NP_LOG_ERR
           : level == KUBE_LOG_WARN ? NP_LOG_WARN : NP_LOG_INFO,
           "kube", "%s", msg);
}

/* Both sources deliver what changed, deletions included: an object whose
 * current version is invalid is not deleted but left as it was (the last
 * valid version stays: a policy must not vanish and open traffic). */
static const struct source_callbacks dir_callbacks = {
    .object = src_object,
    .deleted = src_delete,
    .synced = src_synced,
    .error = src_error,
};

static const struct kube_client_callbacks kube_callbacks = {
    .on_object = src_object,
    .on_delete = src_delete,
    .on_synced = src_synced,
    .on_log = kube_log,
    .on_invalid = kube_invalid,
};

/* ---- Port bindings. ---- */

static void
db_bound(void *aux, const struct switch_db_binding *b)
{
    struct daemon *d = aux;
    kick(d);
    char port[16];
    snprintf(port, sizeof port, "%d", b->ofport);
    char *warning = engine_set_port(d->engine, b->ns, b->pod, port,
                                    b->addresses);
    if (warning) {
        /* Every part is of bounded length (switch-db.h, engine.h). */
        NP_WARN_RL("switch", "interface %s (ofport %d, pod %s/%s): "
                   "external_ids:ip_addresses: %s", b->port, b->ofport,
                   b->ns, b->pod, warning);
        free(warning);
    }
}

static void
db_unbound(void *aux, const struct switch_db_binding *b)
{
    struct daemon *d = aux;
    kick(d);
    char port[16];
    snprintf(port, sizeof port, "%d", b->ofport);
    engine_unset_port(d->engine, b->ns, b->pod, port);
}

/* A port of the bridge that carries no pod: what it is decides whether it
 * may send (compile_port_role()); the engine gets the role, by number. */
static void
db_port(void *aux, const struct switch_db_port *p)
{
    struct daemon *d = aux;
    kick(d);
    char port[16];
    snprintf(port, sizeof port, "%d", p->ofport);
    enum compile_port_role role = compile_port_role(&d->opts->compile,
                                                    p->name, port, p->type);
    if (role == COMPILE_PORT_UNBOUND) {
        static struct np_log_limit rl = NP_LOG_LIMIT_INIT(20);
        np_log_rl(&rl, NP_LOG_INFO, "switch", "port %s (ofport %d, type "
                  "\"%s\") carries no pod and is not an uplink or node "
                  "port: it sends no IP until it is bound to a pod "
                  "(external_ids:iface-id) or named with --uplink-port",
                  p->name, p->ofport, p->type);
    }
    engine_set_port_role(d->engine, port, role);
}

static void
db_port_gone(void *aux, const struct switch_db_port *p)
{
    struct daemon *d = aux;
    kick(d);
    char port[16];
    snprintf(port, sizeof port, "%d", p->ofport);
    engine_set_port_role(d->engine, port, COMPILE_PORT_POD);
}

static void
db_synced(void *aux)
{
    struct daemon *d = aux;
    kick(d);
    np_log(NP_LOG_INFO, "switch", "port bindings read: %zu pods on %s",
           switch_db_count(d->db), d->opts->bridge);
}

static const struct switch_db_callbacks db_callbacks = {
    .bound = db_bound,
    .unbound = db_unbound,
    .port = db_port,
    .port_gone = db_port_gone,
    .synced = db_synced,
};

/* ---- The switch. ---- */

static void
installer_changed(void *d_)
{
    struct daemon *d = d_;
    kick(d);
    waiters_check(d);
}

static void
installer_error(void *d_, const char *message)
{
    set_error(d_, message);
}

static const struct installer_callbacks installer_callbacks = {
    .changed = installer_changed,
    .error = installer_error,
};

static void
engine_ports(const void *engine, installer_port_fn *cb, void *cb_aux)
{
    engine_for_each_bound_port(engine, cb, cb_aux);
}

static void
engine_changes_cb(void *engine, const struct flowtab *installed,
                  struct flow_change **changes, size_t *n)
{
    engine_changes(engine, installed, changes, n);
}

static void
engine_changes_reset_cb(void *engine)
{
    engine_changes_reset(engine);
}

/* Once per loop iteration: run the engine if inputs changed, then bring
 * the switch up to date. */
static void
prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
    struct daemon *d = CONTAINER_OF(p, struct daemon, prepare);
    if (!d->source_synced || !switch_db_is_synced(d->db)) {
        /* Never install a partial view: without the port bindings the
         * spoof guard would check addresses only. */
        return;
    }
    if (engine_run(d->engine)) {
        struct engine_stats st;
        engine_get_stats(d->engine, &st);
        np_log(NP_LOG_DBG, "engine", "recomputed %zu flows in %.1f ms (%s)",
               st.n_flows, st.last_run_ms, st.last_reason);
        size_t n;
        const char *const *warnings = engine_warnings(d->engine, &n);
        struct strmap now;
        strmap_init(&now);
        for (size_t i = 0; i < n; i++) {
            *strmap_slot(&now, warnings[i], NULL) = (void *) 1;
            if (!strmap_get(&d->warned, warnings[i])) {
                NP_WARN_RL("engine", "%s", warnings[i]);
            }
        }
        strmap_destroy(&d->warned);
        d->warned = now;
        /* Once per change, not per run: 'status' keeps the list. */
        const struct engine_rejection *rej = engine_rejections(d->engine,
                                                               &n);
        for (size_t i = 0; i < n; i++) {
            if (rej[i].is_new) {
                NP_ERR_RL("engine", "%s", rej[i].message);
            }
        }
        if (d->events) {
            report_rejections(d);
            report_named_ports(d);
        }
    }
    struct engine_stats st;
    engine_get_stats(d->engine, &st);
    struct installer_table t = {
        .desired = engine_desired(d->engine),
        .run = st.runs,
        .batch_start_ms = st.last_batch_start_ms,
        .ports = engine_ports,
        .ports_aux = d->engine,
        .changes = engine_changes_cb,
        .changes_reset = engine_changes_reset_cb,
        .changes_aux = d->engine,
    };
    installer_run(d->installer, &t);
    waiters_check(d);
}

/* ---- Control commands. ---- */

/* "N batches, p50 X ms, p99 Y ms, max Z ms" over the recorded
 * latencies. */
static char *
latency_summary(const struct daemon *d)
{
    struct installer_latency l;
    installer_get_latency(d->installer, &l);
    return (!l.n ? xstrdup("none yet")
            : xasprintf("%zu batches, p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                        l.n, l.p50_ms, l.p99_ms, l.max_ms));
}

/* "none (limit N flows per policy)", or the policies whose rules are left
 * out for needing more, with the limit. */
static char *
over_limit_summary(const struct daemon *d)
{
    size_t n;
    const struct engine_rejection *rej = engine_rejections(d->engine, &n);
    if (!n) {
        return xasprintf("none (limit %zu flows per policy)",
                         d->opts->compile.max_policy_flows);
    }
    char *list = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *more = xasprintf("%s%s%s (at least %zu flows)", list,
                               i ? ", " : "", rej[i].policy, rej[i].flows);
        free(list);
        list = more;
    }
    char *s = xasprintf("%s; limit %zu flows per policy: their rules are "
                        "not installed, the pods they select stay isolated "
                        "(see the log)", list,
                        d->opts->compile.max_policy_flows);
    free(list);
    return s;
}

/* The policies in force as fail-closed stand-ins (objects.h), for
 * 'status': "none", or their names (the first ten) and what they do. */
static char *
stand_ins_summary(const struct daemon *d)
{
    const struct cluster *cluster = engine_cluster(d->engine);
    size_t n, n_nps = 0, n_cnps = 0;
    const struct k8s_netpol *const *nps = cluster_netpols(cluster, &n);
    char *names = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        if (nps[i]->invalid && n_nps++ < 10) {
            char *s = xasprintf("%s%s%s/%s", names, *names ? ", " : "",
                                nps[i]->namespace, nps[i]->name);
            free(names);
            names = s;
        }
    }
    const struct k8s_cnp *const *cnps = cluster_cnps(cluster, &n);
    for (size_t i = 0; i < n; i++) {
        if (cnps[i]->invalid && n_nps + n_cnps++ < 10) {
            char *s = xasprintf("%s%s%s %s", names, *names ? ", " : "",
                                CNP_KIND, cnps[i]->name);
            free(names);
            names = s;
        }
    }
    size_t total = n_nps + n_cnps;
    char *s = (!total ? xstrdup("none")
               : xasprintf("%zu (%s%s): invalid, %s until they are fixed",
                           total, names, total > 10 ? ", ..." : "",
                           (!n_cnps ? "isolating their pods with no rules"
                            : !n_nps ? "denying every connection of their "
                                       "subjects"
                            : "isolating their pods with no rules (a "
                              "ClusterNetworkPolicy: denying every "
                              "connection of its subject)")));
    free(names);
    return s;
}

/* "synced", or "not synced: " and, for each kind that is not, what it is
 * doing and why: a kind whose watch keeps failing is not current, whatever
 * its first LIST did. */
static char *
kube_state(const struct kube_client_status *ks)
{
    if (ks->synced) {
        return xstrdup("synced");
    }
    char *state = xstrdup("not synced:");
    const char *sep = " ";
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        const struct kube_kind_status *k = &ks->kinds[i];
        if (k->synced) {
            continue;
        }
        char *s = xasprintf("%s%s%s %s%s%s%s", state, sep, k->resource,
                            !k->listed ? "listing"
                            : k->resyncing ? "relisting" : "failing",
                            k->failures && k->last_error ? " (" : "",
                            k->failures && k->last_error ? k->last_error : "",
                            k->failures && k->last_error ? ")" : "");
        free(state);
        state = s;
        sep = "; ";
    }
    return state;
}

static void
cmd_status(struct control_request *req, int argc, const char *argv[],
           void *aux)
{
    struct daemon *d = aux;
    struct engine_stats st;
    engine_get_stats(d->engine, &st);
    char *latency = latency_summary(d);
    char *source;
    if (d->dir) {
        struct source_dir_status ds;
        source_dir_get_status(d->dir, &ds);
        source = xasprintf("dir:%s (%"PRIu64" scans, %"PRIu64" objects, "
                           "%"PRIu64" rejected)\n"
                           "broken files: %s%s", d->opts->source_dir,
                           ds.scans, ds.objects, ds.errors,
                           ds.broken_files ? ds.broken : "none",
                           ds.broken_files ? ": their objects stay at their "
                           "last valid versions until they are fixed" : "");
    } else {
        struct kube_client_status ks;
        kube_client_get_status(d->kube, &ks);
        char *state = kube_state(&ks);
        /* Said at every status, not only once in the log at start. */
        const struct kube_config *kcfg = d->kube_config;
        const char *insecure = (kcfg->insecure_skip_tls_verify
                                ? "; WARNING: the server's certificate is "
                                  "not checked (insecure-skip-tls-verify)"
                                : !strncmp(kcfg->server, "http://", 7)
                                ? "; WARNING: plain HTTP, neither encrypted "
                                  "nor authenticated" : "");
        const struct kube_kind_status *cnp = &ks.kinds[OBJ_CNP];
        source = xasprintf("kubernetes (%s%s; resourceVersions: namespaces "
                           "%s, pods %s, networkpolicies %s, "
                           "clusternetworkpolicies %s)", state,
                           insecure,
                           ks.kinds[OBJ_NAMESPACE].rv ? ks.kinds[OBJ_NAMESPACE].rv : "-",
                           ks.kinds[OBJ_POD].rv ? ks.kinds[OBJ_POD].rv : "-",
                           ks.kinds[OBJ_NETPOL].rv ? ks.kinds[OBJ_NETPOL].rv : "-",
                           cnp->absent ? "- (not served: no CRD)"
                           : cnp->rv ? cnp->rv : "-");
        free(state);
    }
    struct installer_status is;
    installer_get_status(d->installer, &is);
    struct switch_of_outage o;
    installer_get_outage(d->installer, &o);
    char *bridge = (o.connected ? xstrdup("connected")
                    : xasprintf("not connected for %.1f s, %llu attempts, "
                                "next in %.1f s: %s", o.seconds, o.attempts,
                                o.next_attempt,
                                o.error ? o.error : "connecting"));
    /* An old error stays visible, but says how long ago it was and
     * whether commits have succeeded since, so that it does not read as
     * a current failure. */
    char *error = (!d->last_error[0] ? xstrdup("none")
                   : xasprintf("%s (at %s; %"PRIu64" commits since)",
                               d->last_error, d->last_error_time,
                               is.commits - d->commits_at_error));
    char *over = over_limit_summary(d);
    char *stand_ins = stand_ins_summary(d);
    /* What the compiler warns about (an except list that blew up, a bad
     * audit annotation), each on a line of its own. */
    struct strbuf warn;
    strbuf_init(&warn);
    size_t n_warn;
    const char *const *warnings = engine_warnings(d->engine, &n_warn);
    strbuf_printf(&warn, "%zu", n_warn);
    for (size_t i = 0; i < n_warn; i++) {
        strbuf_printf(&warn, "\n  %s", warnings[i]);
    }
    char *text = xasprintf(
        "source: %s\n"
        "node: %s\n"
        "objects: %zu namespaces, %zu pods (%zu on this node), "
        "%zu networkpolicies, %zu clusternetworkpolicies\n"
        "fail-closed policies: %s\n"
        "bridge: %s (%s), %zu ports bound to pods, %zu carrying no pod "
        "(sending no IP), %u marker writes\n"
        "flows: %zu desired, %zu installed, generation %u\n"
        "engine: %"PRIu64" runs, last %.1f ms (%s)\n"
        "commits: %"PRIu64" (%"PRIu64" full replaces, %"PRIu64" flow changes, "
        "%"PRIu64" failed), last %s (%.3f s)\n"
        "realization (input -> committed): %s\n"
        "incremental: %"PRIu64" policies compiled, %"PRIu64" reused, "
        "%"PRIu64" full recomputes\n"
        "drift: %"PRIu64" checks, %"PRIu64" repairs\n"
        "over the flow limit: %s\n"
        "warnings: %s\n"
        "last error: %s\n",
        source, d->opts->compile.node,
        st.n_namespaces, st.n_pods, st.n_local_pods, st.n_policies,
        cluster_count(engine_cluster(d->engine), OBJ_CNP),
        stand_ins,
        d->opts->bridge,
        bridge,
        switch_db_count(d->db), st.n_unbound_ports,
        switch_db_marker_writes(d->db),
        st.n_flows, is.n_installed, is.generation,
        st.runs, st.last_run_ms, st.last_reason,
        is.commits, is.replaces, is.flow_mods, is.commit_failures,
        is.last_commit_time[0] ? is.last_commit_time : "never",
        is.last_commit_seconds,
        latency, st.policies_compiled, st.policies_reused,
        st.full_recomputes,
        is.drift_checks, is.drift_repairs,
        over, warn.s, error);
    strbuf_destroy(&warn);
    control_reply(req, true, text);
    free(bridge);
    free(over);
    free(stand_ins);
    free(error);
    free(text);
    free(source);
    free(latency);
}

static void
cmd_recompute(struct control_request *req, int argc, const char *argv[],
              void *aux)
{
    struct daemon *d = aux;
    kick(d);
    engine_force_full(d->engine, "recompute requested");
    control_reply(req, true, "recompute scheduled");
}

static void
cmd_sync(struct control_request *req, int argc, const char *argv[],
         void *aux)
{
    struct daemon *d = aux;
    double timeout = 30;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            const char *arg = argv[++i];
            timeout = strtod(arg, &end);
            if (end == arg || *end || !isfinite(timeout) || !(timeout > 0)
                || timeout > SYNC_TIMEOUT_MAX) {
                char *msg = xasprintf("sync: --timeout: \"%.40s%s\" is not "
                                      "a number of seconds greater than 0 "
                                      "and at most %d", arg,
                                      strlen(arg) > 40 ? "..." : "",
                                      SYNC_TIMEOUT_MAX);
                control_reply(req, false, msg);
                free(msg);
                return;
            }
        } else {
            control_reply(req, false, "usage: sync [--timeout SECONDS]");
            return;
        }
    }
    if (d->n_waiters >= DAEMON_MAX_SYNCS) {
        /* Abandoned ones count until the API server has answered them. */
        char *msg = xasprintf("sync: %d syncs are already waiting: try again "
                              "once they are answered", DAEMON_MAX_SYNCS);
        control_reply(req, false, msg);
        free(msg);
        return;
    }
    kick(d);
    struct waiter *w = xcalloc(1, sizeof *w);
    w->req = req;
    w->d = d;
    w->next = d->waiters;
    d->waiters = w;
    d->n_waiters++;
    control_set_cancel(req, waiter_cancel, w);
    ev_timer_init(&w->timeout, waiter_timeout_cb, timeout, 0.);
    ev_timer_start(d->loop, &w->timeout);
    if (d->dir) {
        source_dir_rescan(d->dir);
        waiter_source_done(d, w);
    } else {
        w->kube_pending = true;
        kube_client_sync(d->kube, kube_sync_done, w);
    }
}

/* ---- Main. ---- */

static void
signal_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
    np_log(NP_LOG_INFO, "daemon", "signal %d: stopping; the flows stay in "
           "place", s->signum);
    ev_break(loop, EVBREAK_ALL);
}

/* SIGHUP, which by OVS's default would kill the daemon: read the source
 * again and compile everything again, as 'recompute' does.  Options are
 * not reloaded. */
static void
sighup_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
    struct daemon *d = CONTAINER_OF(s, struct daemon, sighup);
    np_log(NP_LOG_INFO, "daemon", "SIGHUP: %srecomputing every flow",
           d->dir ? "rescanning the manifest directory and " : "");
    kick(d);
    if (d->dir) {
        source_dir_rescan(d->dir);
    }
    engine_force_full(d->engine, "SIGHUP");
}

int
daemon_main(const struct daemon_options *opts)
{
    struct daemon *d = xcalloc(1, sizeof *d);
    strmap_init(&d->warned);
    d->opts = opts;
    d->loop = EV_DEFAULT;
    /* Also ignores SIGPIPE, which a write to a closed control or API
     * connection would otherwise die of. */
    ovs_loop_init(d->loop);
    int status = 1;

    /* First: a second daemon on the same socket stops here, before it
     * touches anything. */
    char *error = NULL;
    d->control = control_create(opts->control, &error);
    if (!d->control) {
        np_log(NP_LOG_ERR, "daemon", "control socket: %s", error);
        free(error);
        goto out;
    }

    d->engine = engine_create(&opts->compile);

    control_register("status", "", 0, 0, cmd_status, d);
    control_register("recompute", "", 0, 0, cmd_recompute, d);
    control_register("sync", "[--timeout SECONDS]", 0, 2, cmd_sync, d);

    d->db = switch_db_create(opts->ovs_rundir, &db_callbacks, d);
    switch_db_set_bridge(d->db, opts->bridge);
    struct installer_options io = {
        .ovs_rundir = opts->ovs_rundir,
        .bridge = opts->bridge,
        .drift_interval = opts->drift_interval,
    };
    d->installer = installer_create(d->loop, &io, d->db, &installer_callbacks,
                                    d);
    d->trace = daemon_trace_create(opts, d->engine, d->installer, d->db);
    d->stats = daemon_stats_create(opts, d->engine, d->installer);
    d->audit = daemon_audit_create(d->loop, opts, d->engine, d->installer);

    if (opts->source_dir) {
        d->dir = source_dir_create(d->loop, opts->source_dir, &dir_callbacks,
                                   d, &error);
        if (!d->dir) {
            np_log(NP_LOG_ERR, "daemon", "--source dir:%s: %s",
                   opts->source_dir, error);
            free(error);
            goto out;
        }
    } else {
        error = opts->kubeconfig
                ? kube_config_load(opts->kubeconfig, NULL, &d->kube_config)
                : kube_config_in_cluster(NULL, &d->kube_config);
        if (error) {
            np_log(NP_LOG_ERR, "daemon", "%s", error);
            free(error);
            goto out;
        }
        const struct kube_config *kcfg = d->kube_config;
        for (size_t i = 0; i < kcfg->n_warnings; i++) {
            np_log(NP_LOG_WARN, "daemon", "%s", kcfg->warnings[i]);
        }
        if (!strncmp(kcfg->server, "http://", 7)
            && (kcfg->token || kcfg->token_file)
            && !opts->allow_insecure_http_token) {
            np_log(NP_LOG_ERR, "daemon", "%s: server %s is plain HTTP and "
                   "the config has a bearer token: refusing to send it where "
                   "anyone on the path can read it (use https://, or "
                   "--allow-insecure-http-token)", kcfg->origin,
                   kcfg->server);
            goto out;
        }
        struct kube_client_options ko;
        kube_client_options_init(&ko);
        ko.allow_http_token = opts->allow_insecure_http_token;
        struct events_options eo = {
            .component = "ovs-netpold",
            .host = opts->compile.node,       /* Set by ovs-netpold.c. */
        };
        d->events = events_create(&eo);
        ev_timer_init(&d->events_retry, events_retry_cb, 0., 0.);
        d->kube = kube_client_create(d->loop, d->kube_config, &ko,
                                     &kube_callbacks, d);
        kube_client_start(d->kube);
    }

    if (opts->http) {
        struct daemon_http_inputs hi = {
            .opts = opts,
            .engine = d->engine,
            .installer = d->installer,
            .stats = d->stats,
            .audit = d->audit,
            .db = d->db,
            .dir = d->dir,
            .kube = d->kube,
            .events = d->events,
            .source_synced = &d->source_synced,
        };
        d->http = daemon_http_create(d->loop, opts->http, &hi, &error);
        if (!d->http) {
            np_log(NP_LOG_ERR, "daemon", "--http: %s", error);
            free(error);
            goto out;
        }
    }

    ev_idle_init(&d->kick, kick_cb);
    ev_prepare_init(&d->prepare, prepare_cb);
    ev_prepare_start(d->loop, &d->prepare);
    ev_signal_init(&d->sigint, signal_cb, SIGINT);
    ev_signal_start(d->loop, &d->sigint);
    ev_signal_init(&d->sigterm, signal_cb, SIGTERM);
    ev_signal_start(d->loop, &d->sigterm);
    ev_signal_init(&d->sighup, sighup_cb, SIGHUP);
    ev_signal_start(d->loop, &d->sighup);

    char http[HTTP_ADDRESS_STRLEN] = "off";
    if (opts->http) {
        http_address_format(opts->http, http);
    }
    np_log(NP_LOG_INFO, "daemon", "started: node %s, bridge %s in %s, "
           "control socket %s, http %s", opts->compile.node, opts->bridge,
           opts->ovs_rundir, opts->control, http);
    ev_run(d->loop, 0);
    status = 0;

out:
    /* Graceful stop: leave the flows; close connections. */
    while (d->waiters) {
        waiter_finish(d, d->waiters, false, "daemon stopping");
    }
    daemon_http_destroy(d->http);
    daemon_trace_destroy(d->trace);
    if (d->stats) {
        daemon_stats_stop(d->stats);
    }
    source_dir_destroy(d->dir);
    /* Before the client: a write in flight is not called back. */
    if (d->events) {
        ev_timer_stop(d->loop, &d->events_retry);
        events_destroy(d->events);
        d->events = NULL;
    }
    kube_client_destroy(d->kube);
    kube_config_destroy(d->kube_config);
    installer_destroy(d->installer);
    daemon_stats_destroy(d->stats);
    daemon_audit_destroy(d->audit);
    switch_db_destroy(d->db);
    control_destroy(d->control);
    ovs_loop_destroy();
    engine_destroy(d->engine);
    strmap_destroy(&d->warned);
    free(d);
    return status;
}
