#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "addr.h"
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
    struct strmap ports;        /* "ns/name" -> struct pod_ports. */
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
        pod_ports_destroy(node->value);
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
        pod_take_port_ips(obj->pod, pod_ports_get(e, obj->pod->namespace,
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

/* After a change of 'pp''s ports ('pp' may be freed already: pass NULL),
 * gives pod 'ns'/'name' the addresses its ports now give it. */
static void
ports_changed(struct engine *e, const char *ns, const char *name,
              const struct pod_ports *pp)
{
    e->bound_stale = true;
    struct k8s_pod *pod = (struct k8s_pod *) cluster_find_pod(e->cluster, ns,
                                                              name);
    if (pod && (!pod->n_ips || pod->ips_from_port)) {
        /* The pod's addresses come from its ports.  What depends on the
         * pod by its labels stays; what depends on it by address (an
         * ipBlock with a named port) may change: invalidate before and
         * after. */
        struct k8s_object obj = { .kind = OBJ_POD, .pod = pod };
        invalidate_for(e, &obj, &obj);
        if (pod_take_port_ips(pod, pp)) {
            invalidate_for(e, &obj, &obj);
        }
    }
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
