/* The daemon's audit log: see include/daemon-audit.h. */
#include "daemon-audit.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "audit-log.h"
#include "cluster.h"
#include "compile.h"
#include "daemon.h"
#include "engine.h"
#include "installer.h"
#include "labels.h"
#include "metrics.h"
#include "np-log.h"
#include "np-util.h"
#include "objects.h"
#include "switch-of.h"

/* Seconds between attempts to open a log that could not be opened. */
#define REOPEN_INTERVAL 10.0
/* The address index is rebuilt at most this often while the cluster
 * changes; between rebuilds a lookup checks its answer against the
 * cluster, and searches the pods when the index has nothing. */
#define INDEX_MIN_AGE 0.5

struct addr_entry {
    struct ip_addr ip;
    char *ns, *name;            /* One allocation: 'ns' holds both. */
};

struct daemon_audit {
    struct ev_loop *loop;
    const struct daemon_options *opts;
    const struct engine *engine;
    struct switch_of *sw;

    /* Opened when there is a first line to write, so that a node where
     * nothing is audited never makes the file (nor needs its directory
     * in a read-only container).  NULL until then, and while it cannot
     * be opened. */
    struct audit_log *log;
    bool log_failed;            /* The last attempt failed... */
    double reopen_at;           /* ...and this is the next (monotonic). */
    ev_timer flush;             /* The next folding window's end. */
    ev_timer tick;              /* Meter reads, reopening. */

    bool meter_read;            /* A read came back since the connection
                                 * was made. */
    unsigned int meter_seqno;   /* Connection of the last read. */
    uint64_t meter_dropped;     /* The band's count at the last read. */

    struct addr_entry *index;   /* Sorted by address. */
    size_t n_index;
    uint64_t index_runs;        /* The engine's runs when it was built. */
    double index_built;         /* Monotonic; 0: never. */

    uint64_t copies;            /* Copies the switch sent us. */
    uint64_t copies_lost;       /* ...that no open log could take. */
    uint64_t meter_dropped_total;       /* Copies the meter dropped. */
};

static double
wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- The log. ---- */

/* Makes the log's directory (not its parents: a mistyped path should
 * fail, not grow a tree), so that the default works on a fresh node. */
static void
make_log_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        char *dir = xmemdup0(path, slash - path);
        if (mkdir(dir, 0750) && errno != EEXIST) {
            /* audit_log_create() says what is wrong. */
        }
        free(dir);
    }
}

static void
log_open(struct daemon_audit *da)
{
    struct audit_log_options o;
    audit_log_options_init(&o);
    o.path = da->opts->audit_log;
    o.node = da->opts->compile.node;
    o.max_size = da->opts->audit_max_size;
    o.max_files = da->opts->audit_max_files;
    if (strcmp(o.path, "-")) {
        make_log_dir(o.path);
    }
    char *error;
    da->log = audit_log_create(&o, &error);
    da->log_failed = !da->log;
    if (!da->log) {
        NP_ERR_RL("audit", "--audit-log: %s (audit copies are counted, not "
                  "written; trying again every %g s)", error,
                  REOPEN_INTERVAL);
        free(error);
        da->reopen_at = mono_now() + REOPEN_INTERVAL;
    }
}

static void
flush_arm(struct daemon_audit *da, double deadline)
{
    ev_timer_stop(da->loop, &da->flush);
    if (deadline > 0) {
        double wait = deadline - wall_now();
        ev_timer_set(&da->flush, wait > 0.001 ? wait : 0.001, 0.);
        ev_timer_start(da->loop, &da->flush);
    }
}

static void
flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct daemon_audit *da = w->data;
    (void) loop;
    (void) revents;
    if (da->log) {
        flush_arm(da, audit_log_flush(da->log, wall_now(), false));
    }
}

/* ---- Who an address is. ---- */

static int
compare_entries(const void *a_, const void *b_)
{
    const struct addr_entry *a = a_, *b = b_;
    return ip_addr_cmp(&a->ip, &b->ip);
}

static void
index_clear(struct daemon_audit *da)
{
    for (size_t i = 0; i < da->n_index; i++) {
        free(da->index[i].ns);
    }
    free(da->index);
    da->index = NULL;
    da->n_index = 0;
}

/* Pods that own their address: not hostNetwork (the node's address) and
 * not finished (their address may be a new pod's already). */
static bool
owns_address(const struct k8s_pod *pod)
{
    return !pod->host_network && pod->phase != POD_SUCCEEDED
           && pod->phase != POD_FAILED;
}

static void
index_build(struct daemon_audit *da, uint64_t runs)
{
    index_clear(da);
    size_t n, allocated = 0;
    const struct k8s_pod *const *pods = cluster_pods(
        engine_cluster(da->engine), &n);
    for (size_t i = 0; i < n; i++) {
        const struct k8s_pod *pod = pods[i];
        if (!owns_address(pod)) {
            continue;
        }
        for (size_t j = 0; j < pod->n_ips; j++) {
            size_t ns_len = strlen(pod->namespace);
            struct addr_entry e = { .ip = pod->ips[j] };
            e.ns = xmalloc(ns_len + strlen(pod->name) + 2);
            memcpy(e.ns, pod->namespace, ns_len + 1);
            e.name = e.ns + ns_len + 1;
            strcpy(e.name, pod->name);
            APPEND(da->index, da->n_index, allocated, e);
        }
    }
    if (da->n_index) {
        qsort(da->index, da->n_index, sizeof *da->index, compare_entries);
    }
    da->index_runs = runs;
    da->index_built = mono_now();
}

static bool
has_ip(const struct k8s_pod *pod, const struct ip_addr *ip)
{
    for (size_t i = 0; i < pod->n_ips; i++) {
        if (!ip_addr_cmp(&pod->ips[i], ip)) {
            return true;
        }
    }
    return false;
}

/* The pod whose address 'ip' is, or NULL. */
static const struct k8s_pod *
pod_at(struct daemon_audit *da, const struct ip_addr *ip)
{
    const struct cluster *cl = engine_cluster(da->engine);
    struct engine_stats st;
    engine_get_stats(da->engine, &st);
    bool stale = st.runs != da->index_runs || !da->index_built;
    if (stale && mono_now() - da->index_built >= INDEX_MIN_AGE) {
        index_build(da, st.runs);
        stale = false;
    }
    struct addr_entry key = { .ip = *ip };
    const struct addr_entry *e = (da->n_index
                                  ? bsearch(&key, da->index, da->n_index,
                                            sizeof *da->index,
                                            compare_entries)
                                  : NULL);
    if (e) {
        const struct k8s_pod *pod = cluster_find_pod(cl, e->ns, e->name);
        if (pod && owns_address(pod) && has_ip(pod, ip)) {
            return pod;
        }
    }
    if (!stale) {
        return NULL;
    }
    size_t n;
    const struct k8s_pod *const *pods = cluster_pods(cl, &n);
    for (size_t i = 0; i < n; i++) {
        if (owns_address(pods[i]) && has_ip(pods[i], ip)) {
            return pods[i];
        }
    }
    return NULL;
}

/* ---- What decided. ---- */

/* The policies that isolate 'pod' in one direction, "ns/name" each,
 * sorted (the cluster keeps them in that order), as the compiler decides
 * it (compile.c: podSelector and policyTypes). */
static char **
isolating(const struct cluster *cl, const struct k8s_pod *pod, bool ingress,
          size_t *n_out)
{
    size_t n, allocated = 0, n_iso = 0;
    const struct k8s_netpol *const *nps = cluster_netpols(cl, &n);
    char **iso = NULL;
    /* The first policy of the pod's namespace. */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(nps[mid]->namespace, pod->namespace) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t i = lo; i < n && !strcmp(nps[i]->namespace, pod->namespace);
         i++) {
        const struct k8s_netpol *np = nps[i];
        if ((ingress ? np->isolates_ingress : np->isolates_egress)
            && selector_matches(&np->pod_selector, &pod->labels)) {
            APPEND(iso, n_iso, allocated,
                   k8s_object_key(np->namespace, np->name));
        }
    }
    *n_out = n_iso;
    return iso;
}

static char *
pod_key(const struct k8s_pod *pod)
{
    return pod ? k8s_object_key(pod->namespace, pod->name) : NULL;
}

static bool
has_ports(uint8_t proto)
{
    return proto == IPPROTO_TCP || proto == IPPROTO_UDP
           || proto == IPPROTO_SCTP;
}

static void
copy_cb(void *da_, const struct switch_of_packet_in *p)
{
    struct daemon_audit *da = da_;
    da->copies++;
    if (!da->log && mono_now() >= da->reopen_at) {
        log_open(da);
    }
    if (!da->log) {
        da->copies_lost++;
        return;
    }
    if (!p->src.family) {
        return;                 /* Only IP is copied. */
    }
    const struct cluster *cl = engine_cluster(da->engine);
    const struct k8s_pod *src = pod_at(da, &p->src);
    const struct k8s_pod *dst = pod_at(da, &p->dst);
    char *src_key = pod_key(src), *dst_key = pod_key(dst);
    struct audit_event ev = {
        .time = wall_now(),
        .allow = p->allow,
        .proto = p->proto,
        .src = p->src,
        .dst = p->dst,
        .src_port = has_ports(p->proto) ? p->src_port : 0,
        .dst_port = has_ports(p->proto) ? p->dst_port : 0,
        .src_pod = src_key,
        .dst_pod = dst_key,
    };

    if (!p->allow) {
        const struct k8s_pod *pod = p->ingress ? dst : src;
        size_t n = 0;
        char **policies = pod ? isolating(cl, pod, p->ingress, &n) : NULL;
        ev.ingress = p->ingress;
        ev.policies = (const char *const *) policies;
        ev.n_policies = n;
        audit_log_record(da->log, &ev);
        for (size_t i = 0; i < n; i++) {
            free(policies[i]);
        }
        free(policies);
    } else {
        /* A line per direction whose rule's namespace is audited now;
         * if neither is any more (the annotation just went), the one the
         * switch's flow was for. */
        const struct compile_options *o = engine_options(da->engine);
        struct np_rule_ref refs[2];
        bool found[2], audited[2];
        for (int d = 0; d < 2; d++) {
            uint32_t id = d ? p->reg1 : p->reg0;
            found[d] = id && engine_rule_of_id(da->engine, id, &refs[d]);
            audited[d] = false;
            if (found[d]) {
                const char *slash = strchr(refs[d].policy, '/');
                char *ns = xmemdup0(refs[d].policy, slash - refs[d].policy);
                audited[d] = (compile_audit_mode(
                                  o, cluster_find_namespace(cl, ns))
                              & NP_AUDIT_ALLOW) != 0;
                free(ns);
            }
        }
        if (!audited[0] && !audited[1] && found[p->ingress]) {
            audited[p->ingress] = true;
        }
        for (int d = 0; d < 2; d++) {
            if (audited[d]) {
                ev.ingress = d;
                ev.policy = refs[d].policy;
                ev.rule = refs[d].index;
                audit_log_record(da->log, &ev);
            }
            if (found[d]) {
                free(refs[d].policy);
            }
        }
    }
    free(src_key);
    free(dst_key);
    if (!ev_is_active(&da->flush)) {
        flush_arm(da, audit_log_flush(da->log, wall_now(), false));
    }
}

/* ---- The meter. ---- */

static void
meter_cb(void *da_, bool ok, uint64_t packets, uint64_t dropped)
{
    struct daemon_audit *da = da_;
    (void) packets;
    if (!ok) {
        return;
    }
    /* A new connection set the meter again, which zeroes its counters
     * (and a restarted switch has a new meter): count from there. */
    unsigned int seqno = switch_of_get_seqno(da->sw);
    uint64_t before = (da->meter_read && da->meter_seqno == seqno
                       && dropped >= da->meter_dropped) ? da->meter_dropped
                                                        : 0;
    da->meter_read = true;
    da->meter_seqno = seqno;
    da->meter_dropped = dropped;
    uint64_t delta = dropped - before;
    if (delta) {
        da->meter_dropped_total += delta;
        if (!da->log && mono_now() >= da->reopen_at) {
            log_open(da);
        }
        if (da->log) {
            audit_log_dropped(da->log, wall_now(), delta);
        }
    }
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct daemon_audit *da = w->data;
    (void) loop;
    (void) revents;
    switch_of_meter_stats(da->sw, meter_cb, da);
}

/* ---- Interface. ---- */

struct daemon_audit *
daemon_audit_create(struct ev_loop *loop, const struct daemon_options *opts,
                    const struct engine *engine, struct installer *installer)
{
    struct daemon_audit *da = xcalloc(1, sizeof *da);
    da->loop = loop;
    da->opts = opts;
    da->engine = engine;
    da->sw = installer_switch(installer);
    switch_of_audit(da->sw, opts->compile.audit_meter, opts->audit_rate,
                    opts->audit_burst ? opts->audit_burst : opts->audit_rate,
                    copy_cb, da);
    ev_timer_init(&da->flush, flush_cb, 0., 0.);
    da->flush.data = da;
    ev_timer_init(&da->tick, tick_cb, DAEMON_AUDIT_METER_INTERVAL,
                  DAEMON_AUDIT_METER_INTERVAL);
    da->tick.data = da;
    ev_timer_start(loop, &da->tick);
    return da;
}

void
daemon_audit_destroy(struct daemon_audit *da)
{
    if (da) {
        ev_timer_stop(da->loop, &da->flush);
        ev_timer_stop(da->loop, &da->tick);
        audit_log_destroy(da->log);
        index_clear(da);
        free(da);
    }
}

static void
counter(struct strbuf *b, const char *name, const char *help, double v)
{
    metrics_family(b, name, "counter", help);
    metrics_sample(b, name, v, NULL);
}

void
daemon_audit_metrics(const struct daemon_audit *da, struct strbuf *b)
{
    struct audit_log_stats st = { 0 };
    if (da->log) {
        audit_log_get_stats(da->log, &st);
    }
    counter(b, "ovs_netpol_audit_copies_total", "New connections the switch "
            "copied to the daemon for the audit log (after the meter).",
            da->copies);
    counter(b, "ovs_netpol_audit_meter_dropped_total", "Copies for the audit "
            "log that the meter dropped (--audit-rate, --audit-burst): "
            "connections the log does not show.", da->meter_dropped_total);
    counter(b, "ovs_netpol_audit_lost_total", "Copies that arrived while the "
            "audit log could not be opened.", da->copies_lost);
    counter(b, "ovs_netpol_audit_lines_total", "Lines written to the audit "
            "log (folded repeats count once).", st.lines);
    counter(b, "ovs_netpol_audit_write_errors_total", "Writes or rotations "
            "of the audit log that failed.", st.write_errors);
    metrics_family(b, "ovs_netpol_audit_ok", "gauge", "1 unless the audit log "
                   "could not be opened at the last attempt (it is opened at "
                   "its first line) or the switch refused the meter or the "
                   "settings.");
    metrics_sample(b, "ovs_netpol_audit_ok",
                   !da->log_failed && !switch_of_audit_error(da->sw), NULL);
}
