#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cluster.h"
#include "flowtab.h"
#include "np-util.h"
#include "strmap.h"
#include "labels.h"

struct engine {
    struct compile_options opts;
    struct np_ids *rule_ids;
    struct np_ids *policy_ids;
    struct np_frag_cache *frags;
    struct cluster *cluster;
    struct strmap ports;        /* "ns/name" -> struct port_info. */
    struct compile_bound_port *bound;   /* 'ports' for the compiler, */
    size_t n_bound;                     /* pointing into its strings; */
    bool bound_stale;                   /* rebuilt when ports change. */
    struct flowtab *desired;
    struct np_flowset last;     /* Names and warnings of the last run. */
    struct engine_rejection *rejections;        /* From 'last'. */
    size_t n_rejections;
    struct strmap rejected_before;      /* "ns/name" -> message, of the run
                                         * before the last. */

    /* Relist bookkeeping: keys of 'kind' not yet seen since begin. */
    struct strmap unseen[3];
    bool resyncing[3];

    bool pending;
    double pending_since;       /* Monotonic ms of the batch's first input. */
    char reason[160];
    struct engine_stats stats;
};

/* A pod's switch port, as OVSDB has it. */
struct port_info {
    char *ns, *name;            /* The pod. */
    char *port;
    char *addresses;            /* As given, for change detection. */
    struct ip_addr *ips;        /* Parsed from 'addresses'. */
    size_t n_ips;
};

static void
port_info_destroy(struct port_info *pi)
{
    if (pi) {
        free(pi->ns);
        free(pi->name);
        free(pi->port);
        free(pi->addresses);
        free(pi->ips);
        free(pi);
    }
}

static const struct port_info *
port_info_get(const struct engine *e, const char *ns, const char *name)
{
    char *key = xasprintf("%s/%s", ns, name);
    const struct port_info *pi = strmap_get(&e->ports, key);
    free(key);
    return pi;
}

static const char *
port_of(void *aux, const char *ns, const char *name)
{
    const struct port_info *pi = port_info_get(aux, ns, name);
    return pi ? pi->port : NULL;
}

/* Parses "10.244.1.5/24 fd00::5/64" (or comma-separated, prefix lengths
 * optional).  A word that is not an address is skipped, and the first one
 * is described in the returned malloc'd message (else NULL): the pod still
 * gets the good ones, and its status will bring the address anyway. */
static char *
parse_port_addresses(const char *text, struct ip_addr **ips, size_t *n)
{
    *ips = NULL;
    *n = 0;
    char *copy = xstrdup(text), *save = NULL, *error = NULL;
    size_t allocated = 0;
    for (char *word = strtok_r(copy, " ,", &save); word;
         word = strtok_r(NULL, " ,", &save)) {
        char *slash = strchr(word, '/');
        if (slash) {
            *slash = '\0';
        }
        struct ip_addr ip;
        if (ip_addr_parse(word, &ip)) {
            APPEND(*ips, *n, allocated, ip);
        } else if (!error) {
            error = xasprintf("\"%s\" is not an IP address; ignored", word);
        }
    }
    free(copy);
    return error;
}

/* Gives 'pod' the addresses of its port when its status has none (or had
 * none when it got them), or takes them back; returns true if its
 * addresses changed.  The caller invalidates what depends on the pod. */
static bool
pod_take_port_ips(struct k8s_pod *pod, const struct port_info *pi)
{
    if (pod->n_ips && !pod->ips_from_port) {
        return false;           /* The status is the authority. */
    }
    size_t n = pi ? pi->n_ips : 0;
    if (pod->n_ips == n
        && (!n || !memcmp(pod->ips, pi->ips, n * sizeof *pod->ips))) {
        return false;
    }
    free(pod->ips);
    pod->ips = NULL;
    if (n) {
        pod->ips = xmalloc(n * sizeof *pod->ips);
        memcpy(pod->ips, pi->ips, n * sizeof *pod->ips);
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
    e->frags = np_frag_cache_create();
    e->opts.frags = e->frags;
    e->cluster = cluster_create();
    strmap_init(&e->ports);
    strmap_init(&e->rejected_before);
    e->desired = flowtab_create();
    for (int k = 0; k < 3; k++) {
        strmap_init(&e->unseen[k]);
    }
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
        port_info_destroy(node->value);
    }
    strmap_destroy(&e->ports);
    free(e->bound);
    for (int k = 0; k < 3; k++) {
        strmap_destroy(&e->unseen[k]);
    }
    cluster_destroy(e->cluster);
    flowtab_destroy(e->desired);
    np_flowset_destroy(&e->last);
    free(e->rejections);
    for (struct strmap_node *node = strmap_first(&e->rejected_before, &b);
         node; node = strmap_next(&e->rejected_before, node, &b)) {
        free(node->value);
    }
    strmap_destroy(&e->rejected_before);
    np_ids_destroy(e->rule_ids);
    np_ids_destroy(e->policy_ids);
    np_frag_cache_destroy(e->frags);
    free(e);
}

static void
mark(struct engine *e, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
double engine_now_ms(void);

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

static char *
object_key(enum obj_kind kind, const char *ns, const char *name)
{
    return kind == OBJ_NAMESPACE ? xstrdup(name)
           : xasprintf("%s/%s", ns, name);
}

/* The labels selectors see on namespace 'name': its object's, plus the
 * name label the API server always sets. */
static void
ns_labels(const struct cluster *c, const char *name, struct labels *out)
{
    const struct k8s_namespace *ns = cluster_find_namespace(c, name);
    if (ns) {
        labels_clone(out, &ns->labels);
    } else {
        labels_init(out);
    }
    labels_set(out, "kubernetes.io/metadata.name", name);
}

/* Whether 'pod' declares one of the named ports of 'rule', with its
 * protocol. */
static bool
pod_has_named_port_of(const struct k8s_pod *pod, const struct np_rule *rule)
{
    for (size_t i = 0; i < rule->n_ports; i++) {
        const struct np_port *p = &rule->ports[i];
        for (size_t j = 0; p->name && j < pod->n_ports; j++) {
            const struct container_port *cp = &pod->ports[j];
            if (cp->name && cp->proto == p->proto
                && !strcmp(cp->name, p->name)) {
                return true;
            }
        }
    }
    return false;
}

/* Whether an address of 'pod' lies in 'block' (its excepts are not looked
 * at: invalidating a little more than needed is harmless). */
static bool
pod_in_block(const struct k8s_pod *pod, const struct cidr *block)
{
    for (size_t i = 0; i < pod->n_ips; i++) {
        if (cidr_contains_addr(block, &pod->ips[i])) {
            return true;
        }
    }
    return false;
}

/* Whether policy 'np's rule flows may mention 'pod': a pod of its own
 * namespace may be selected; a pod any peer selects is a peer; in egress,
 * a named port resolves on the destination pods, so with no 'to' every
 * pod may be one, and behind an ipBlock every pod with an address inside
 * it that declares the name (its addresses, labels, ports and phase all
 * count, so the caller asks before and after a change). */
static bool
policy_depends_on_pod(const struct k8s_netpol *np, const struct k8s_pod *pod,
                      const struct labels *pod_ns_labels)
{
    if (!strcmp(np->namespace, pod->namespace)) {
        return true;
    }
    for (int ingress = 0; ingress < 2; ingress++) {
        const struct np_rule *rules = ingress ? np->ingress : np->egress;
        size_t n = ingress ? np->n_ingress : np->n_egress;
        for (size_t r = 0; r < n; r++) {
            const struct np_rule *rule = &rules[r];
            if (!ingress && !rule->n_peers) {
                for (size_t i = 0; i < rule->n_ports; i++) {
                    if (rule->ports[i].name) {
                        return true;
                    }
                }
            }
            for (size_t i = 0; i < rule->n_peers; i++) {
                const struct np_peer *peer = &rule->peers[i];
                if (peer->is_ipblock) {
                    if (!ingress && pod_in_block(pod, &peer->block)
                        && pod_has_named_port_of(pod, rule)) {
                        return true;
                    }
                    continue;
                }
                bool ns_ok = (peer->ns_selector
                              ? selector_matches(peer->ns_selector,
                                                 pod_ns_labels)
                              : !strcmp(np->namespace, pod->namespace));
                if (ns_ok && (!peer->pod_selector
                              || selector_matches(peer->pod_selector,
                                                  &pod->labels))) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* Whether any namespaceSelector of 'np' selects a namespace with these
 * labels. */
static bool
policy_depends_on_ns(const struct k8s_netpol *np, const struct labels *labels)
{
    for (int ingress = 0; ingress < 2; ingress++) {
        const struct np_rule *rules = ingress ? np->ingress : np->egress;
        size_t n = ingress ? np->n_ingress : np->n_egress;
        for (size_t r = 0; r < n; r++) {
            for (size_t i = 0; i < rules[r].n_peers; i++) {
                const struct np_peer *peer = &rules[r].peers[i];
                if (peer->ns_selector
                    && selector_matches(peer->ns_selector, labels)) {
                    return true;
                }
            }
        }
    }
    return false;
}

/* Forgets the compiled rules of every policy that the change from 'old' to
 * 'new' (either may be NULL) may affect. */
static void
invalidate_for(struct engine *e, const struct k8s_object *old,
               const struct k8s_object *new)
{
    const struct k8s_object *any = new ? new : old;
    if (any->kind == OBJ_NETPOL) {
        np_frag_cache_invalidate(e->frags, any->np->namespace, any->np->name);
        return;
    }
    size_t n;
    const struct k8s_netpol *const *nps = cluster_netpols(e->cluster, &n);
    if (any->kind == OBJ_NAMESPACE) {
        struct labels before, after;
        ns_labels(e->cluster, any->ns->name, &before);
        labels_clone(&after, new ? &new->ns->labels : &before);
        if (new) {
            labels_set(&after, "kubernetes.io/metadata.name", new->ns->name);
        } else {
            labels_destroy(&after);
            labels_init(&after);
            labels_set(&after, "kubernetes.io/metadata.name", old->ns->name);
        }
        for (size_t i = 0; i < n; i++) {
            if (policy_depends_on_ns(nps[i], &before)
                || policy_depends_on_ns(nps[i], &after)) {
                np_frag_cache_invalidate(e->frags, nps[i]->namespace,
                                         nps[i]->name);
            }
        }
        labels_destroy(&before);
        labels_destroy(&after);
        return;
    }
    struct labels nsl;
    ns_labels(e->cluster, any->pod->namespace, &nsl);
    for (size_t i = 0; i < n; i++) {
        if ((old && policy_depends_on_pod(nps[i], old->pod, &nsl))
            || (new && policy_depends_on_pod(nps[i], new->pod, &nsl))) {
            np_frag_cache_invalidate(e->frags, nps[i]->namespace,
                                     nps[i]->name);
        }
    }
    labels_destroy(&nsl);
}

static const struct k8s_object *
find_object(const struct engine *e, enum obj_kind kind, const char *ns,
            const char *name, struct k8s_object *buf)
{
    buf->kind = kind;
    if (kind == OBJ_NAMESPACE) {
        buf->ns = (struct k8s_namespace *) cluster_find_namespace(e->cluster,
                                                                 name);
        return buf->ns ? buf : NULL;
    } else if (kind == OBJ_POD) {
        buf->pod = (struct k8s_pod *) cluster_find_pod(e->cluster, ns, name);
        return buf->pod ? buf : NULL;
    }
    buf->np = (struct k8s_netpol *) cluster_find_netpol(e->cluster, ns, name);
    return buf->np ? buf : NULL;
}

void
engine_apply(struct engine *e, struct k8s_object *obj)
{
    if (obj->kind == OBJ_POD && !obj->pod->n_ips) {
        pod_take_port_ips(obj->pod, port_info_get(e, obj->pod->namespace,
                                                  obj->pod->name));
    }
    struct k8s_object buf;
    invalidate_for(e, find_object(e, obj->kind, k8s_object_namespace(obj),
                                  k8s_object_name(obj), &buf), obj);
    enum obj_kind kind = obj->kind;
    if (e->resyncing[kind]) {
        char *key = object_key(kind, k8s_object_namespace(obj),
                               k8s_object_name(obj));
        strmap_remove(&e->unseen[kind], key);
        free(key);
    }
    mark(e, "%s %s%s%s changed", obj_kind_name(kind),
         k8s_object_namespace(obj), kind == OBJ_NAMESPACE ? "" : "/",
         k8s_object_name(obj));
    cluster_apply(e->cluster, obj);
}

void
engine_delete(struct engine *e, enum obj_kind kind, const char *ns,
              const char *name)
{
    struct k8s_object buf;
    const struct k8s_object *old = find_object(e, kind, ns, name, &buf);
    if (old) {
        invalidate_for(e, old, NULL);
    }
    if (cluster_delete(e->cluster, kind, ns, name)) {
        mark(e, "%s %s%s%s deleted", obj_kind_name(kind),
             kind == OBJ_NAMESPACE ? "" : ns,
             kind == OBJ_NAMESPACE ? "" : "/", name);
    }
}

void
engine_resync_begin(struct engine *e, enum obj_kind kind)
{
    strmap_destroy(&e->unseen[kind]);
    strmap_init(&e->unseen[kind]);
    size_t n;
    if (kind == OBJ_NAMESPACE) {
        const struct k8s_namespace *const *nss = cluster_namespaces(e->cluster,
                                                                    &n);
        for (size_t i = 0; i < n; i++) {
            *strmap_slot(&e->unseen[kind], nss[i]->name, NULL) = (void *) 1;
        }
    } else if (kind == OBJ_POD) {
        const struct k8s_pod *const *pods = cluster_pods(e->cluster, &n);
        for (size_t i = 0; i < n; i++) {
            char *key = object_key(kind, pods[i]->namespace, pods[i]->name);
            *strmap_slot(&e->unseen[kind], key, NULL) = (void *) 1;
            free(key);
        }
    } else {
        const struct k8s_netpol *const *nps = cluster_netpols(e->cluster, &n);
        for (size_t i = 0; i < n; i++) {
            char *key = object_key(kind, nps[i]->namespace, nps[i]->name);
            *strmap_slot(&e->unseen[kind], key, NULL) = (void *) 1;
            free(key);
        }
    }
    e->resyncing[kind] = true;
}

void
engine_keep(struct engine *e, enum obj_kind kind, const char *ns,
            const char *name)
{
    if (e->resyncing[kind]) {
        char *key = object_key(kind, ns, name);
        strmap_remove(&e->unseen[kind], key);
        free(key);
    }
}

void
engine_resync_end(struct engine *e, enum obj_kind kind)
{
    if (!e->resyncing[kind]) {
        return;
    }
    e->resyncing[kind] = false;
    /* Collect first: deleting changes the cluster, not this map. */
    size_t b;
    for (struct strmap_node *node = strmap_first(&e->unseen[kind], &b); node;
         node = strmap_next(&e->unseen[kind], node, &b)) {
        char *ns = NULL;
        const char *name = node->key;
        if (kind != OBJ_NAMESPACE) {
            const char *slash = strchr(node->key, '/');
            ns = xmemdup0(node->key, slash - node->key);
            name = slash + 1;
        }
        engine_delete(e, kind, ns, name);
        free(ns);
    }
    strmap_destroy(&e->unseen[kind]);
    strmap_init(&e->unseen[kind]);
}

char *
engine_set_port(struct engine *e, const char *ns, const char *name,
                const char *port, const char *addresses)
{
    char *warning = NULL;
    char *key = xasprintf("%s/%s", ns, name);
    if (!addresses) {
        addresses = "";
    }
    bool changed = false;
    if (port) {
        void **slot = strmap_slot(&e->ports, key, NULL);
        struct port_info *pi = *slot;
        if (!pi || strcmp(pi->port, port) || strcmp(pi->addresses,
                                                     addresses)) {
            port_info_destroy(pi);
            pi = xcalloc(1, sizeof *pi);
            pi->ns = xstrdup(ns);
            pi->name = xstrdup(name);
            pi->port = xstrdup(port);
            pi->addresses = xstrdup(addresses);
            warning = parse_port_addresses(addresses, &pi->ips, &pi->n_ips);
            *slot = pi;
            changed = true;
            mark(e, "pod %s bound to port %s", key, port);
        }
    } else {
        struct port_info *pi = strmap_remove(&e->ports, key);
        if (pi) {
            port_info_destroy(pi);
            changed = true;
            mark(e, "pod %s unbound", key);
        }
    }
    e->bound_stale |= changed;
    struct k8s_pod *pod = (struct k8s_pod *) cluster_find_pod(e->cluster, ns,
                                                              name);
    if (changed && pod && (!pod->n_ips || pod->ips_from_port)) {
        /* The pod's addresses come from the port.  What depends on the pod
         * by its labels stays; what depends on it by address (an ipBlock
         * with a named port) may change: invalidate before and after. */
        struct k8s_object obj = { .kind = OBJ_POD, .pod = pod };
        invalidate_for(e, &obj, &obj);
        if (pod_take_port_ips(pod, port ? port_info_get(e, ns, name)
                              : NULL)) {
            invalidate_for(e, &obj, &obj);
        }
    }
    free(key);
    return warning;
}

void
engine_for_each_bound_pod(const struct engine *e, engine_port_fn *cb,
                          void *aux)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&e->ports, &b); node;
         node = strmap_next(&e->ports, node, &b)) {
        const struct port_info *pi = node->value;
        const struct k8s_pod *pod = cluster_find_pod(e->cluster, pi->ns,
                                                     pi->name);
        cb(aux, pi->ns, pi->name, pod && compile_pod_is_local(&e->opts, pod));
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
    np_frag_cache_invalidate_all(e->frags);
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
    e->n_rejections = e->last.n_rejected;
    e->rejections = xmalloc((e->n_rejections + 1) * sizeof *e->rejections);
    struct strmap now;
    strmap_init(&now);
    for (size_t i = 0; i < e->n_rejections; i++) {
        const struct np_rejected *r = &e->last.rejected[i];
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
        e->bound = xmalloc((e->ports.n + 1) * sizeof *e->bound);
        e->n_bound = 0;
        size_t b;
        for (struct strmap_node *node = strmap_first(&e->ports, &b); node;
             node = strmap_next(&e->ports, node, &b)) {
            const struct port_info *pi = node->value;
            struct compile_bound_port *bp = &e->bound[e->n_bound++];
            bp->ns = pi->ns;
            bp->name = pi->name;
            bp->port = pi->port;
        }
        e->opts.bound_ports = e->bound;
        e->opts.n_bound_ports = e->n_bound;
    }
    np_flowset_destroy(&e->last);
    compile_cluster(e->cluster, &e->opts, &e->last);
    flowtab_sync(e->desired, &e->last);
    note_rejections(e);

    e->pending = false;
    e->stats.runs++;
    snprintf(e->stats.last_reason, sizeof e->stats.last_reason, "%s",
             e->reason);
    e->stats.last_run_ms = engine_now_ms() - start;
    e->stats.n_flows = e->last.n_flows;
    /* Counted here, not per status call: the daemon asks for the stats on
     * every loop iteration. */
    size_t n_pods;
    const struct k8s_pod *const *pods = cluster_pods(e->cluster, &n_pods);
    e->stats.n_local_pods = 0;
    for (size_t i = 0; i < n_pods; i++) {
        if (!e->opts.node || (pods[i]->node_name
                              && !strcmp(pods[i]->node_name, e->opts.node))) {
            e->stats.n_local_pods++;
        }
    }
    e->stats.n_warnings = e->last.n_warnings;
    e->stats.n_rejected = e->n_rejections;
    size_t n_cached;
    np_frag_cache_get_stats(e->frags, &e->stats.policies_reused,
                            &e->stats.policies_compiled, &n_cached);
    return true;
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
    cluster_namespaces(e->cluster, &stats->n_namespaces);
    cluster_pods(e->cluster, &stats->n_pods);
    cluster_netpols(e->cluster, &stats->n_policies);
}

const char *const *
engine_warnings(const struct engine *e, size_t *n)
{
    *n = e->last.n_warnings;
    return (const char *const *) e->last.warnings;
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
    return pno < e->last.n_names ? e->last.names[pno] : NULL;
}
