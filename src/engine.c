#include "engine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "addr.h"
#include "cluster.h"
#include "cnp.h"
#include "flowtab.h"
#include "metrics.h"
#include "np-util.h"
#include "strmap.h"
#include "labels.h"
#include "incr.h"

struct engine {
    struct compile_options opts;
    struct np_ids *rule_ids;
    struct np_ids *policy_ids;
    struct incr *incr;
    struct cluster *cluster;
    struct strmap ports;        /* "ns/name" -> struct pod_ports. */
    struct compile_bound_port *bound;   /* 'ports' for the compiler, */
    size_t n_bound;                     /* pointing into its strings; */
    bool bound_stale;                   /* rebuilt when ports change. */
    struct strmap roles;        /* Port -> (void *) role, of the ports that
                                 * carry no pod (COMPILE_PORT_POD: none). */
    const char **unbound;       /* Those of them that are unbound, for the */
    size_t n_unbound;           /* compiler, pointing into 'roles''s keys; */
    bool unbound_stale;         /* rebuilt when roles change. */
    struct flowtab *desired;
    struct engine_rejection *rejections;        /* Of the last run. */
    size_t n_rejections;
    struct strmap rejected_before;      /* "ns/name" -> message, of the run
                                         * before the last. */

    bool pending;
    double pending_since;       /* Monotonic ms of the batch's first input. */
    char reason[160];
    struct engine_stats stats;
    struct metrics_histogram run_seconds;
};

/* The addresses a port's ip_addresses may give its pod, per family.  A pod
 * has at most one per family in Kubernetes; the rest is room for a CNI's
 * oddities.  The bound keeps a broken or hostile OVSDB writer from
 * inflating the table: each address costs about six flows. */
#define MAX_PORT_ADDRS_PER_FAMILY 4

/* Characters of a bad word of ip_addresses quoted in a warning. */
#define MAX_WORD_IN_WARNING 40

/* One switch port bound to a pod, as OVSDB has it. */
struct port_info {
    char *port;
    char *addresses;            /* As given, for change detection. */
    struct ip_addr *ips;        /* Parsed from 'addresses', bounded. */
    size_t n_ips;
};

/* Every port bound to one pod: one, normally; two while its CNI replaces
 * it (plugs the new port, then deletes the old one); as many as OVSDB
 * says, in general.  Each of them is guarded as the pod's own, and
 * unbinding one leaves the others bound. */
struct pod_ports {
    char *ns, *name;            /* The pod. */
    struct port_info *ports;    /* Sorted by port_cmp(). */
    size_t n_ports, allocated_ports;
    const char **names;         /* Each port's 'port', for the compiler. */
    struct ip_addr *ips;        /* The ports' addresses, merged, bounded. */
    size_t n_ips;
};

static void
port_info_uninit(struct port_info *pi)
{
    free(pi->port);
    free(pi->addresses);
    free(pi->ips);
}

static void
pod_ports_destroy(struct pod_ports *pp)
{
    if (pp) {
        for (size_t i = 0; i < pp->n_ports; i++) {
            port_info_uninit(&pp->ports[i]);
        }
        free(pp->ports);
        free(pp->names);
        free(pp->ips);
        free(pp->ns);
        free(pp->name);
        free(pp);
    }
}

/* Orders ports by number when both are numbers ("9" < "10"), else as
 * text, so that a pod's ports, and the addresses merged from them, come
 * out the same whatever order they were bound in. */
static int
port_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && lb && strspn(a, "0123456789") == la
        && strspn(b, "0123456789") == lb && la != lb) {
        return la < lb ? -1 : 1;
    }
    return strcmp(a, b);
}

static struct pod_ports *
pod_ports_get(const struct engine *e, const char *ns, const char *name)
{
    char *key = xasprintf("%s/%s", ns, name);
    struct pod_ports *pp = strmap_get(&e->ports, key);
    free(key);
    return pp;
}

static size_t
port_of(void *aux, const char *ns, const char *name,
        const char *const **ports)
{
    const struct pod_ports *pp = pod_ports_get(aux, ns, name);
    *ports = pp ? pp->names : NULL;
    return pp ? pp->n_ports : 0;
}

static bool
has_ip(const struct ip_addr *ips, size_t n, const struct ip_addr *ip)
{
    for (size_t i = 0; i < n; i++) {
        if (!ip_addr_cmp(&ips[i], ip)) {
            return true;
        }
    }
    return false;
}

/* Appends 'ip' to '*ips' unless it is there already or its family has
 * MAX_PORT_ADDRS_PER_FAMILY; returns false in that last case. */
static bool
add_port_ip(struct ip_addr **ips, size_t *n, size_t *allocated,
            const struct ip_addr *ip)
{
    if (has_ip(*ips, *n, ip)) {
        return true;
    }
    size_t same = 0;
    for (size_t i = 0; i < *n; i++) {
        same += (*ips)[i].family == ip->family;
    }
    if (same >= MAX_PORT_ADDRS_PER_FAMILY) {
        return false;
    }
    APPEND(*ips, *n, *allocated, *ip);
    return true;
}

/* Writes 'word' into 'buf' for a log line: at most MAX_WORD_IN_WARNING
 * characters of it, anything but printable ASCII as '?', quoted, and its
 * length if it was cut. */
static void
quote_word(const char *word, char *buf, size_t size)
{
    char shown[MAX_WORD_IN_WARNING + 1];
    size_t len = strlen(word), i;
    for (i = 0; i < len && i < MAX_WORD_IN_WARNING; i++) {
        unsigned char c = word[i];
        shown[i] = c >= 0x20 && c < 0x7f && c != '"' ? c : '?';
    }
    shown[i] = '\0';
    if (len > MAX_WORD_IN_WARNING) {
        snprintf(buf, size, "\"%s...\" (%zu characters)", shown, len);
    } else {
        snprintf(buf, size, "\"%s\"", shown);
    }
}

/* Parses "10.244.1.5/24 fd00::5/64" (or comma-separated, prefix lengths
 * optional) into at most MAX_PORT_ADDRS_PER_FAMILY addresses per family,
 * each once.  A word that is not an address, and addresses beyond the
 * bound, are skipped and described in the returned malloc'd message (else
 * NULL), which quotes at most one word, cut short: the pod still gets the
 * good ones, and its status will bring the address anyway. */
static char *
parse_port_addresses(const char *text, struct ip_addr **ips, size_t *n)
{
    *ips = NULL;
    *n = 0;
    char *copy = xstrdup(text), *save = NULL;
    char bad[MAX_WORD_IN_WARNING + 40] = "";
    size_t allocated = 0, n_bad = 0, n_over[2] = { 0, 0 };
    for (char *word = strtok_r(copy, " ,", &save); word;
         word = strtok_r(NULL, " ,", &save)) {
        char *slash = strchr(word, '/');
        if (slash) {
            *slash = '\0';
        }
        struct ip_addr ip;
        if (!ip_addr_parse(word, &ip)) {
            if (!n_bad++) {
                quote_word(word, bad, sizeof bad);
            }
        } else if (!add_port_ip(ips, n, &allocated, &ip)) {
            n_over[ip.family == AF_INET6]++;
        }
    }
    free(copy);

    char *error = NULL;
    if (n_bad) {
        error = (n_bad == 1
                 ? xasprintf("%s is not an IP address; ignored", bad)
                 : xasprintf("%s and %zu more words are not IP addresses; "
                             "ignored", bad, n_bad - 1));
    }
    for (int v6 = 0; v6 < 2; v6++) {
        if (n_over[v6]) {
            char *more = xasprintf(
                "%s%s%zu more IPv%d addresses than the %d a port may give "
                "its pod; ignored", error ? error : "", error ? "; " : "",
                n_over[v6], v6 ? 6 : 4, MAX_PORT_ADDRS_PER_FAMILY);
            free(error);
            error = more;
        }
    }
    return error;
}

/* Merges the addresses of 'pp''s ports, in port order, each once, within
 * the same bound per family as one port's. */
static void
pod_ports_merge(struct pod_ports *pp)
{
    size_t allocated = 0;
    free(pp->ips);
    pp->ips = NULL;
    pp->n_ips = 0;
    for (size_t i = 0; i < pp->n_ports; i++) {
        const struct port_info *pi = &pp->ports[i];
        for (size_t j = 0; j < pi->n_ips; j++) {
            add_port_ip(&pp->ips, &pp->n_ips, &allocated, &pi->ips[j]);
        }
    }
    pp->names = xrealloc(pp->names, (pp->n_ports + 1) * sizeof *pp->names);
    for (size_t i = 0; i < pp->n_ports; i++) {
        pp->names[i] = pp->ports[i].port;
    }
}

/* Gives 'pod' the addresses of its ports when its status has none (or had
 * none when it got them), or takes them back; returns true if its
 * addresses changed.  The caller invalidates what depends on the pod. */
static bool
pod_take_port_ips(struct k8s_pod *pod, const struct pod_ports *pp)
{
    if (pod->n_ips && !pod->ips_from_port) {
        return false;           /* The status is the authority. */
    }
    size_t n = pp ? pp->n_ips : 0;
    if (pod->n_ips == n
        && (!n || !memcmp(pod->ips, pp->ips, n * sizeof *pod->ips))) {
        return false;
    }
    free(pod->ips);
    pod->ips = NULL;
    if (n) {
        pod->ips = xmalloc(n * sizeof *pod->ips);
        memcpy(pod->ips, pp->ips, n * sizeof *pod->ips);
    }
    pod->n_ips = n;
    pod->ips_from_port = n > 0;
    return true;
}

struct engine *
engine_create(const struct compile_options *opts)
{
    struct engine *e = xcalloc(1, sizeof *e);
    e->opts = *opts;
    e->opts.port_of = port_of;
    e->opts.port_aux = e;
    e->rule_ids = np_ids_create();
    e->policy_ids = np_ids_create();
    e->opts.ids = e->rule_ids;
    e->opts.policy_ids = e->policy_ids;
    e->cluster = cluster_create();
    strmap_init(&e->ports);
    strmap_init(&e->roles);
    strmap_init(&e->rejected_before);
    e->desired = flowtab_create();
    e->incr = incr_create(&e->opts, e->cluster, e->desired);
    metrics_histogram_init(&e->run_seconds, metrics_seconds_buckets,
                           metrics_n_seconds_buckets);
    engine_force(e, "start");
    return e;
}

void
engine_destroy(struct engine *e)
{
    if (!e) {
        return;
    }
    size_t b;
    for (struct strmap_node *node = strmap_first(&e->ports, &b); node;
         node = strmap_next(&e->ports, node, &b)) {
        pod_ports_destroy(node->value);
    }
    strmap_destroy(&e->ports);
    free(e->bound);
    strmap_destroy(&e->roles);
    free(e->unbound);
    incr_destroy(e->incr);
    cluster_destroy(e->cluster);
    flowtab_destroy(e->desired);
    free(e->rejections);
    for (struct strmap_node *node = strmap_first(&e->rejected_before, &b);
         node; node = strmap_next(&e->rejected_before, node, &b)) {
        free(node->value);
    }
    strmap_destroy(&e->rejected_before);
    np_ids_destroy(e->rule_ids);
    np_ids_destroy(e->policy_ids);
    free(e);
}

static void
mark(struct engine *e, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Records the first reason of a batch; later ones are counted only. */
static void
mark(struct engine *e, const char *format, ...)
{
    e->stats.events++;
    if (!e->pending) {
        va_list args;
        va_start(args, format);
        vsnprintf(e->reason, sizeof e->reason, format, args);
        va_end(args);
        e->pending = true;
        e->pending_since = engine_now_ms();
    }
}

double
engine_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Tells the incremental compiler an object is about to change ('after'
 * false) or has changed. */
static void
notify(struct engine *e, enum obj_kind kind, const char *ns,
       const char *name, bool after)
{
    switch (kind) {
    case OBJ_NAMESPACE:
        (after ? incr_namespace_after : incr_namespace_before)(e->incr, name);
        break;
    case OBJ_POD:
        (after ? incr_pod_after : incr_pod_before)(e->incr, ns, name);
        break;
    case OBJ_NETPOL:
        (after ? incr_policy_after : incr_policy_before)(e->incr, ns, name);
        break;
    case OBJ_CNP:
    case OBJ_NODE:
        if (after) {
            incr_tiers_changed(e->incr);
        }
        break;
    }
}

static bool
same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Whether 'obj' replaces an object that flows see the same: a new
 * resourceVersion, a condition, an annotation (most pod updates).  Then
 * the engine has nothing to take out and put back. */
static bool
same_for_flows(const struct engine *e, const struct k8s_object *obj)
{
    if (obj->kind == OBJ_NAMESPACE) {
        const struct k8s_namespace *old
            = cluster_find_namespace(e->cluster, obj->ns->name);
        return old && labels_equal(&old->labels, &obj->ns->labels)
               && old->audit == obj->ns->audit
               && same_str(old->audit_error, obj->ns->audit_error);
    } else if (obj->kind != OBJ_POD) {
        return false;
    }
    const struct k8s_pod *a = cluster_find_pod(e->cluster, obj->pod->namespace,
                                               obj->pod->name);
    const struct k8s_pod *b = obj->pod;
    if (!a || a->host_network != b->host_network || a->phase != b->phase
        || a->ips_from_port != b->ips_from_port || a->n_ips != b->n_ips
        || a->n_ports != b->n_ports || !same_str(a->node_name, b->node_name)
        || !labels_equal(&a->labels, &b->labels)) {
        return false;
    }
    for (size_t i = 0; i < a->n_ips; i++) {
        if (ip_addr_cmp(&a->ips[i], &b->ips[i])) {
            return false;
        }
    }
    for (size_t i = 0; i < a->n_ports; i++) {
        const struct container_port *x = &a->ports[i], *y = &b->ports[i];
        if (x->port != y->port || x->proto != y->proto
            || !same_str(x->name, y->name)) {
            return false;
        }
    }
    return true;
}

void
engine_apply(struct engine *e, struct k8s_object *obj)
{
    if (obj->kind == OBJ_POD && !obj->pod->n_ips) {
        pod_take_port_ips(obj->pod, pod_ports_get(e, obj->pod->namespace,
                                                  obj->pod->name));
    }
    enum obj_kind kind = obj->kind;
    char *ns = xstrdup(k8s_object_namespace(obj));
    char *name = xstrdup(k8s_object_name(obj));
    bool same = same_for_flows(e, obj);
    if (!same) {
        notify(e, kind, ns, name, false);
    }
    mark(e, "%s %s%s%s changed", obj_kind_name(kind), ns,
         obj_kind_cluster_scoped(kind) ? "" : "/", name);
    cluster_apply(e->cluster, obj);
    if (!same) {
        notify(e, kind, ns, name, true);
    } else if (kind == OBJ_POD) {
        incr_pod_replaced(e->incr, ns, name);
    }
    free(ns);
    free(name);
}

void
engine_delete(struct engine *e, enum obj_kind kind, const char *ns,
              const char *name)
{
    notify(e, kind, ns, name, false);
    bool deleted = cluster_delete(e->cluster, kind, ns, name);
    notify(e, kind, ns, name, true);
    if (deleted) {
        mark(e, "%s %s%s%s deleted", obj_kind_name(kind),
             obj_kind_cluster_scoped(kind) ? "" : ns,
             obj_kind_cluster_scoped(kind) ? "" : "/", name);
    }
}

/* After a change of 'pp''s ports ('pp' may be freed already: pass NULL),
 * gives pod 'ns'/'name' the addresses its ports now give it. */
static void
ports_changed(struct engine *e, const char *ns, const char *name,
              const struct pod_ports *pp)
{
    e->bound_stale = true;
    struct k8s_pod *pod = (struct k8s_pod *) cluster_find_pod(e->cluster, ns,
                                                              name);
    /* Its ports make its spoof guard, and its addresses when its
     * status has none. */
    incr_pod_before(e->incr, ns, name);
    if (pod && (!pod->n_ips || pod->ips_from_port)) {
        pod_take_port_ips(pod, pp);
    }
    incr_pod_after(e->incr, ns, name);
}

char *
engine_set_port(struct engine *e, const char *ns, const char *name,
                const char *port, const char *addresses)
{
    char *key = xasprintf("%s/%s", ns, name);
    void **slot = strmap_slot(&e->ports, key, NULL);
    struct pod_ports *pp = *slot;
    if (!pp) {
        pp = *slot = xcalloc(1, sizeof *pp);
        pp->ns = xstrdup(ns);
        pp->name = xstrdup(name);
    }
    if (!addresses) {
        addresses = "";
    }

    size_t i;
    for (i = 0; i < pp->n_ports && port_cmp(pp->ports[i].port, port) < 0;
         i++) {
        continue;
    }
    struct port_info *pi;
    if (i < pp->n_ports && !strcmp(pp->ports[i].port, port)) {
        pi = &pp->ports[i];
        if (!strcmp(pi->addresses, addresses)) {
            free(key);
            return NULL;        /* Same binding. */
        }
        free(pi->addresses);
        free(pi->ips);
    } else {
        if (pp->n_ports >= pp->allocated_ports) {
            pp->ports = x2nrealloc(pp->ports, &pp->allocated_ports,
                                   sizeof *pp->ports);
        }
        memmove(&pp->ports[i + 1], &pp->ports[i],
                (pp->n_ports - i) * sizeof *pp->ports);
        pp->n_ports++;
        pi = &pp->ports[i];
        pi->port = xstrdup(port);
    }
    pi->addresses = xstrdup(addresses);
    char *warning = parse_port_addresses(addresses, &pi->ips, &pi->n_ips);
    pod_ports_merge(pp);
    mark(e, "pod %s bound to port %s", key, port);
    ports_changed(e, ns, name, pp);
    free(key);
    return warning;
}

void
engine_unset_port(struct engine *e, const char *ns, const char *name,
                  const char *port)
{
    char *key = xasprintf("%s/%s", ns, name);
    struct pod_ports *pp = strmap_get(&e->ports, key);
    size_t i;
    for (i = 0; pp && i < pp->n_ports; i++) {
        if (!strcmp(pp->ports[i].port, port)) {
            break;
        }
    }
    if (pp && i < pp->n_ports) {
        port_info_uninit(&pp->ports[i]);
        memmove(&pp->ports[i], &pp->ports[i + 1],
                (pp->n_ports - i - 1) * sizeof *pp->ports);
        pp->n_ports--;
        if (!pp->n_ports) {
            strmap_remove(&e->ports, key);
            pod_ports_destroy(pp);
            pp = NULL;
        } else {
            pod_ports_merge(pp);
        }
        mark(e, "pod %s unbound from port %s", key, port);
        ports_changed(e, ns, name, pp);
    }
    free(key);
}

void
engine_set_port_role(struct engine *e, const char *port,
                     enum compile_port_role role)
{
    enum compile_port_role old = (enum compile_port_role) (uintptr_t)
                                 strmap_get(&e->roles, port);
    if (role == old) {
        return;
    }
    if (role == COMPILE_PORT_POD) {
        strmap_remove(&e->roles, port);
    } else {
        *strmap_slot(&e->roles, port, NULL) = (void *) (uintptr_t) role;
    }
    bool was = old == COMPILE_PORT_UNBOUND, is = role == COMPILE_PORT_UNBOUND;
    if (was != is) {
        /* Only an unbound port has flows of its own: the others are
         * remembered for what they are, at no cost. */
        incr_unbound_port(e->incr, port, is);
        e->unbound_stale = true;
        e->stats.n_unbound_ports += is ? 1 : -1;
        mark(e, "port %s %s", port,
             is ? "carries no pod: sends no IP"
             : "no longer unbound (gone, bound, an uplink or a node port)");
    }
}

enum compile_port_role
engine_port_role(const struct engine *e, const char *port)
{
    return (enum compile_port_role) (uintptr_t) strmap_get(&e->roles, port);
}

void
engine_for_each_bound_port(const struct engine *e, engine_port_fn *cb,
                           void *aux)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&e->ports, &b); node;
         node = strmap_next(&e->ports, node, &b)) {
        const struct pod_ports *pp = node->value;
        const struct k8s_pod *pod = cluster_find_pod(e->cluster, pp->ns,
                                                     pp->name);
        bool realized = pod && compile_pod_is_local(&e->opts, pod);
        for (size_t i = 0; i < pp->n_ports; i++) {
            cb(aux, pp->ns, pp->name, pp->ports[i].port, realized);
        }
    }
}

void
engine_force(struct engine *e, const char *reason)
{
    mark(e, "%s", reason);
}

void
engine_force_full(struct engine *e, const char *reason)
{
    incr_force_full(e->incr);
    e->stats.full_recomputes++;
    mark(e, "%s", reason);
}

bool
engine_pending(const struct engine *e)
{
    return e->pending;
}


/* Lists the policies the last run left out, marking those that were not
 * left out, or not for the same reason, by the run before: those are the
 * news to report once. */
static void
note_rejections(struct engine *e)
{
    free(e->rejections);
    const struct np_rejected *rejected = incr_rejected(e->incr,
                                                       &e->n_rejections);
    e->rejections = xmalloc((e->n_rejections + 1) * sizeof *e->rejections);
    struct strmap now;
    strmap_init(&now);
    for (size_t i = 0; i < e->n_rejections; i++) {
        const struct np_rejected *r = &rejected[i];
        const char *before = strmap_get(&e->rejected_before, r->policy);
        e->rejections[i] = (struct engine_rejection) {
            .policy = r->policy, .message = r->message, .flows = r->flows,
            .is_new = !before || strcmp(before, r->message),
        };
        *strmap_slot(&now, r->policy, NULL) = xstrdup(r->message);
    }
    size_t b;
    for (struct strmap_node *node = strmap_first(&e->rejected_before, &b);
         node; node = strmap_next(&e->rejected_before, node, &b)) {
        free(node->value);
    }
    strmap_destroy(&e->rejected_before);
    e->rejected_before = now;
}

static int
compare_bound(const void *a_, const void *b_)
{
    const struct compile_bound_port *a = a_, *b = b_;
    int cmp = strcmp(a->ns, b->ns);
    if (!cmp) {
        cmp = strcmp(a->name, b->name);
    }
    return cmp ? cmp : port_cmp(a->port, b->port);
}

static int
compare_ports(const void *a_, const void *b_)
{
    const char *const *a = a_, *const *b = b_;
    return port_cmp(*a, *b);
}

bool
engine_run(struct engine *e)
{
    if (!e->pending) {
        return false;
    }
    double start = engine_now_ms();
    e->stats.last_batch_start_ms = e->pending_since;
    if (e->bound_stale) {
        e->bound_stale = false;
        free(e->bound);
        e->bound = NULL;
        e->n_bound = 0;
        size_t b, allocated = 0;
        for (struct strmap_node *node = strmap_first(&e->ports, &b); node;
             node = strmap_next(&e->ports, node, &b)) {
            const struct pod_ports *pp = node->value;
            for (size_t i = 0; i < pp->n_ports; i++) {
                struct compile_bound_port bp = {
                    .ns = pp->ns, .name = pp->name,
                    .port = pp->ports[i].port,
                };
                APPEND(e->bound, e->n_bound, allocated, bp);
            }
        }
        /* In pod order, each pod's ports in their order, as the
         * incremental compiler makes their flows. */
        np_qsort(e->bound, e->n_bound, sizeof *e->bound, compare_bound);
        e->opts.bound_ports = e->bound;
        e->opts.n_bound_ports = e->n_bound;
    }
    if (e->unbound_stale) {
        e->unbound_stale = false;
        free(e->unbound);
        e->unbound = xmalloc((e->roles.n + 1) * sizeof *e->unbound);
        e->n_unbound = 0;
        size_t b;
        for (struct strmap_node *node = strmap_first(&e->roles, &b); node;
             node = strmap_next(&e->roles, node, &b)) {
            if ((uintptr_t) node->value == COMPILE_PORT_UNBOUND) {
                e->unbound[e->n_unbound++] = node->key;
            }
        }
        np_qsort(e->unbound, e->n_unbound, sizeof *e->unbound,
                 compare_ports);
        e->opts.unbound_ports = e->unbound;
        e->opts.n_unbound_ports = e->n_unbound;
    }
    struct incr_stats before, after;
    incr_get_stats(e->incr, &before);
    e->stats.last_changes = incr_run(e->incr);
    incr_get_stats(e->incr, &after);
    note_rejections(e);

    e->pending = false;
    e->stats.runs++;
    snprintf(e->stats.last_reason, sizeof e->stats.last_reason, "%s",
             e->reason);
    e->stats.last_run_ms = engine_now_ms() - start;
    metrics_histogram_observe(&e->run_seconds, e->stats.last_run_ms / 1000);
    e->stats.n_flows = flowtab_count(e->desired);
    e->stats.n_local_pods = after.pods_on_node;
    incr_warnings(e->incr, &e->stats.n_warnings);
    e->stats.n_rejected = e->n_rejections;
    uint64_t built = after.policies_built - before.policies_built;
    size_t n_policies = cluster_count(e->cluster, OBJ_NETPOL);
    e->stats.policies_compiled += built;
    e->stats.policies_reused += n_policies > built ? n_policies - built : 0;
    e->stats.pods_evaluated = after.pods_evaluated;
    e->stats.entries_changed = after.entries_changed;
    e->stats.flows_merged = after.keys_merged;
    return true;
}

const struct metrics_histogram *
engine_run_histogram(const struct engine *e)
{
    return &e->run_seconds;
}

const struct flowtab *
engine_desired(const struct engine *e)
{
    return e->desired;
}

const struct cluster *
engine_cluster(const struct engine *e)
{
    return e->cluster;
}

void
engine_get_stats(const struct engine *e, struct engine_stats *stats)
{
    *stats = e->stats;
    stats->n_namespaces = cluster_count(e->cluster, OBJ_NAMESPACE);
    stats->n_pods = cluster_count(e->cluster, OBJ_POD);
    stats->n_policies = cluster_count(e->cluster, OBJ_NETPOL);
}

const char *const *
engine_warnings(const struct engine *e, size_t *n)
{
    return incr_warnings(e->incr, n);
}

const struct engine_rejection *
engine_rejections(const struct engine *e, size_t *n)
{
    *n = e->n_rejections;
    return e->rejections;
}

const char *
engine_policy_rejection(const struct engine *e, const char *policy)
{
    for (size_t i = 0; i < e->n_rejections; i++) {
        if (!strcmp(e->rejections[i].policy, policy)) {
            return e->rejections[i].message;
        }
    }
    return NULL;
}

const char *
engine_policy_name(const struct engine *e, uint32_t pno)
{
    return incr_policy_name(e->incr, pno);
}

const struct k8s_cnp *
engine_policy_cnp(const struct engine *e, uint32_t pno)
{
    const char *name = engine_policy_name(e, pno);
    size_t len = strlen(CNP_KIND);
    return (name && !strncmp(name, CNP_KIND, len) && name[len] == ' '
            ? cluster_find_cnp(e->cluster, name + len + 1) : NULL);
}

void
engine_changes(struct engine *e, const struct flowtab *installed,
               struct flow_change **changes, size_t *n)
{
    flowtab_diff_journal(installed, e->desired, changes, n);
}

void
engine_changes_reset(struct engine *e)
{
    /* The journal starts with its first reader: a table nobody follows
     * (the offline compiler's, a test's) keeps none. */
    flowtab_journal_start(e->desired);
    flowtab_journal_clear(e->desired);
}

void
engine_compile_full(const struct engine *e, struct np_flowset *out)
{
    struct compile_options opts = e->opts;
    opts.buckets = incr_buckets(e->incr);
    compile_cluster(e->cluster, &opts, out);
}

bool
engine_rule_of_id(const struct engine *e, uint32_t id, struct np_rule_ref *r)
{
    return np_ids_rule(e->rule_ids, id, r);
}

const struct compile_options *
engine_options(const struct engine *e)
{
    return &e->opts;
}
