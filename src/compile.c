/* The policy compiler.  See include/compile.h for the contract and
 * ovs/pipeline.md for the tables it fills.
 *
 * How a rule becomes flows.  A rule of a policy, in one direction, is the
 * conjunction of up to three independent sets:
 *
 *   local pods the policy selects  x  peers (pods, ipBlocks)  x  ports
 *
 * Each set becomes one clause of an OpenFlow conjunctive match: one flow per
 * member carrying 'conjunction(id,k/n)', and one 'conj_id=id' flow that
 * records the rule and moves on.  A set that is a wildcard (no 'from'/'to',
 * no 'ports') is left out of the conjunction; a rule left with a single set
 * becomes plain flows.  Flows with the same table, priority and match are
 * one flow in OpenFlow, so clause flows are merged by match and carry every
 * rule's conjunction action: the flow count stays linear in the sizes of the
 * sets.
 *
 * Named ports resolve on the destination pod, which may give different
 * numbers on different pods.  Each distinct number becomes a conjunction of
 * its own whose destination set holds only the pods that resolve the name to
 * that number.  In egress the destination pods include those found through
 * an ipBlock, by their addresses inside it: an address is not a pod, so it
 * has no port names.
 *
 * A policy's rules are planned before any of their flows is made: peers
 * resolved, ipBlock differences and named ports counted.  Only a policy
 * that fits opts->max_policy_flows is made into flows; one that does not
 * gets none, only its default deny (compile_policy_rules()).
 *
 * Default deny lives in separate tables after the rule tables (a missed rule
 * lookup goes on to them), so no lookup depends on how the classifier falls
 * back from a failed conjunction to a lower-priority flow. */
#include "compile.h"

#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "objects.h"
#include "strmap.h"
#include "np-util.h"
#include "compile-gen.h"


/* Bit 0 of ct_mark (in our zone) says "cut": a policy change made the
 * connection's original direction denied.  Table 1 drops its replies; the
 * commit table clears it when a later change allows the connection again. */
#define CT_MARK_CUT "0x1/0x1"

/* ---- Conjunction ids. ---- */

struct np_ids {
    struct strmap by_rule;      /* Rule identity -> (void *) id. */
    uint32_t next_id;
};

struct np_ids *
np_ids_create(void)
{
    struct np_ids *ids = xmalloc(sizeof *ids);
    strmap_init(&ids->by_rule);
    ids->next_id = 1;           /* 0 in a register means "no rule". */
    return ids;
}

void
np_ids_destroy(struct np_ids *ids)
{
    if (ids) {
        strmap_destroy(&ids->by_rule);
        free(ids);
    }
}

uint32_t
np_ids_get(struct np_ids *ids, const char *rule_key)
{
    bool created;
    void **slot = strmap_slot(&ids->by_rule, rule_key, &created);
    if (created) {
        *slot = (void *) (uintptr_t) ids->next_id++;
    }
    return (uint32_t) (uintptr_t) *slot;
}

/* ---- Growable text. ---- */

struct ds {
    char *s;
    size_t len, cap;
};

static void
ds_put(struct ds *ds, const char *s, size_t n)
{
    if (ds->len + n + 1 > ds->cap) {
        ds->cap = (ds->len + n + 1) * 2;
        ds->s = xrealloc(ds->s, ds->cap);
    }
    memcpy(ds->s + ds->len, s, n);
    ds->len += n;
    ds->s[ds->len] = '\0';
}

/* ---- Flows under construction. ---- */

/* A flow is either "direct" (it has its own actions) or a clause flow that
 * carries one or more conjunction actions.  A direct flow with the same
 * match swallows clause actions: whatever it matches is already decided. */
struct pflow {
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    uint32_t match;             /* Interned match id. */
    char *actions;              /* Direct actions, or NULL. */
    uint64_t *conj;             /* np_conj_pack() of each conjunction */
    size_t n_conj, allocated_conj;      /* action, in the order added. */
    char *comment;
};

/* Open addressing from a 64-bit key to a flow: the compiler adds every
 * clause flow once per rule that uses it, so this lookup is the hot path. */
struct flowmap {
    uint64_t *keys;
    struct pflow **values;      /* NULL: empty slot. */
    size_t n, mask;
};

static void
flowmap_init(struct flowmap *m)
{
    m->mask = 1023;
    m->n = 0;
    m->keys = xcalloc(m->mask + 1, sizeof *m->keys);
    m->values = xcalloc(m->mask + 1, sizeof *m->values);
}

static void
flowmap_destroy(struct flowmap *m)
{
    free(m->keys);
    free(m->values);
}

static size_t
flowmap_hash(uint64_t key)
{
    key ^= key >> 33;
    key *= UINT64_C(0xff51afd7ed558ccd);
    key ^= key >> 33;
    return key;
}

static struct pflow **
flowmap_slot(struct flowmap *m, uint64_t key)
{
    if (m->n * 2 >= m->mask) {
        struct flowmap bigger = { .mask = m->mask * 2 + 1, .n = m->n };
        bigger.keys = xcalloc(bigger.mask + 1, sizeof *bigger.keys);
        bigger.values = xcalloc(bigger.mask + 1, sizeof *bigger.values);
        for (size_t i = 0; i <= m->mask; i++) {
            if (m->values[i]) {
                size_t j = flowmap_hash(m->keys[i]) & bigger.mask;
                while (bigger.values[j]) {
                    j = (j + 1) & bigger.mask;
                }
                bigger.keys[j] = m->keys[i];
                bigger.values[j] = m->values[i];
            }
        }
        flowmap_destroy(m);
        *m = bigger;
    }
    size_t i = flowmap_hash(key) & m->mask;
    while (m->values[i] && m->keys[i] != key) {
        i = (i + 1) & m->mask;
    }
    m->keys[i] = key;
    return &m->values[i];
}

struct family_set {
    bool v4, v6;
};

/* A namespace as selectors see it. */
struct ns_view {
    const char *name;
    struct labels labels;       /* With kubernetes.io/metadata.name. */
    size_t *pods;               /* Indexes of peer-eligible pods. */
    size_t n_pods, allocated_pods;
};

struct podlist {
    size_t *idx;                /* Sorted pod indexes. */
    size_t n;
};

static const struct podlist empty_podlist;

/* A podlist while it grows ('pl' first, so it can be used as a podlist). */
struct podlist_buf {
    struct podlist pl;
    size_t allocated;
};

/* Address 'ip' of pod 'pod' (an index into c->pods). */
struct pod_addr {
    struct ip_addr addr;
    size_t pod, ip;
};

struct ctx {
    const struct compile_options *opts;
    const struct k8s_pod *const *pods;
    size_t n_pods;
    bool *eligible;             /* May be selected as a pod peer. */
    bool *local;                /* Eligible and on this node. */
    struct ns_view *nss;
    size_t n_nss;
    struct strmap ns_by_name;   /* -> struct ns_view. */
    struct strmap peer_cache;   /* Selector text -> struct podlist. */
    struct strmap label_index;  /* "key=value" -> eligible pods, sorted. */
    bool label_index_built;
    size_t *pod_ns;             /* Pod index -> index in 'nss'. */
    uint32_t *ns_mark;          /* Per namespace, for selection. */
    struct flowmap flows;       /* (table, prio, match id) -> pflow. */
    struct strmap interned;     /* Match text -> id + 1. */
    char **strs;                /* Match id -> text. */
    size_t n_strs, allocated_strs;
    uint32_t *pod_matches[2];   /* Per field: every pod's match ids... */
    size_t *pod_first_match;    /* ...of pod i from this index on... */
    bool *pod_matched[2];       /* ...once computed. */
    struct family_set families;
    struct np_ids *ids;
    struct np_ids *policy_ids;
    unsigned int buckets;               /* Rule priority levels. */
    uint32_t *mark;             /* Per pod, for de-duplication. */
    uint32_t *addr_mark;        /* Per pod address (pod_first_match). */
    uint32_t mark_gen;
    struct pod_addr *addr_index;        /* Eligible pods' addresses, */
    size_t n_addr_index;                /* sorted; built on first use. */
    bool addr_index_built;
    struct np_flowset *out;
};

static uint8_t
tbl(const struct ctx *c, enum np_table t)
{
    return c->opts->table_base + t;
}

static uint16_t
rule_priority(const struct ctx *c, uint32_t id)
{
    return np_rule_priority(id, c->buckets);
}

static uint64_t
make_cookie(const struct ctx *c, enum np_cookie_kind kind, uint32_t policy,
            uint32_t rule)
{
    return np_cookie(c->opts, kind, policy, rule);
}

uint64_t
np_cookie(const struct compile_options *opts, enum np_cookie_kind kind,
          uint32_t policy, uint32_t rule)
{
    return (NP_COOKIE_PREFIX << 48)
           | ((uint64_t) opts->generation << 40)
           | ((uint64_t) kind << 32)
           | ((uint64_t) (policy & 0xfffff) << 12)
           | (rule & 0xfff);
}

static uint32_t
intern(struct ctx *c, const char *text)
{
    bool created;
    void **slot = strmap_slot(&c->interned, text, &created);
    if (created) {
        APPEND(c->strs, c->n_strs, c->allocated_strs, xstrdup(text));
        *slot = (void *) (uintptr_t) c->n_strs;
    }
    return (uint32_t) (uintptr_t) *slot - 1;
}

static struct pflow *
flow_slot(struct ctx *c, uint8_t table, uint16_t priority, uint32_t match,
          bool *created)
{
    uint64_t key = ((uint64_t) table << 48) | ((uint64_t) priority << 32)
                   | match;
    struct pflow **slot = flowmap_slot(&c->flows, key);
    *created = !*slot;
    if (*created) {
        struct pflow *f = xcalloc(1, sizeof *f);
        f->table = table;
        f->priority = priority;
        f->match = match;
        *slot = f;
        c->flows.n++;
    }
    return *slot;
}

/* Adds a flow with its own actions.  The first of several direct flows with
 * one match wins: policies are visited in a fixed order, so the result is
 * deterministic, and any of them decides the same way. */
static void
add_direct_id(struct ctx *c, uint8_t table, uint16_t priority,
              uint64_t cookie, uint32_t match, const char *actions,
              const char *comment)
{
    bool created;
    struct pflow *f = flow_slot(c, table, priority, match, &created);
    if (f->actions) {
        return;
    }
    f->actions = xstrdup(actions);
    f->cookie = cookie;
    free(f->comment);
    f->comment = comment ? xstrdup(comment) : NULL;
    free(f->conj);
    f->conj = NULL;
    f->n_conj = f->allocated_conj = 0;
}

static void
add_direct(struct ctx *c, uint8_t table, uint16_t priority, uint64_t cookie,
           const char *match, const char *actions, const char *comment)
{
    add_direct_id(c, table, priority, cookie, intern(c, match), actions,
                  comment);
}

static void
ctx_direct(void *c, uint8_t table, uint16_t priority, uint64_t cookie,
           const char *match, const char *actions, const char *comment)
{
    add_direct(c, table, priority, cookie, match, actions, comment);
}

/* Appends the decimal form of 'v' to 'p'; returns the end. */
static char *
put_uint(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (n) {
        *p++ = tmp[--n];
    }
    return p;
}

static void
add_clause(struct ctx *c, uint8_t table, uint32_t match, uint32_t id,
           uint8_t k, uint8_t n)
{
    bool created;
    struct pflow *f = flow_slot(c, table, rule_priority(c, id), match,
                                &created);
    if (created) {
        f->cookie = make_cookie(c, NPC_CLAUSE, 0, 0);
    }
    uint64_t entry = np_conj_pack(id, k, n);
    if (f->actions || (f->n_conj && f->conj[f->n_conj - 1] == entry)) {
        return;
    }
    APPEND(f->conj, f->n_conj, f->allocated_conj, entry);
}

/* ---- Matches. ---- */

enum addr_field { FIELD_SRC, FIELD_DST };

static void
format_addr_match(const struct cidr *cidr, enum addr_field field,
                  char *buf, size_t size)
{
    char a[IP_ADDR_STRLEN];
    ip_addr_format(&cidr->addr, a);
    bool v4 = cidr->addr.family == AF_INET;
    const char *dl = v4 ? "ip" : "ipv6";
    const char *f = (v4 ? (field == FIELD_SRC ? "nw_src" : "nw_dst")
                     : (field == FIELD_SRC ? "ipv6_src" : "ipv6_dst"));
    if (cidr->plen == 0) {
        snprintf(buf, size, "%s", dl);
    } else if (cidr->plen == cidr_max_plen(cidr->addr.family)) {
        snprintf(buf, size, "%s,%s=%s", dl, f, a);
    } else {
        snprintf(buf, size, "%s,%s=%s/%d", dl, f, a, cidr->plen);
    }
}

static struct cidr
host_cidr(const struct ip_addr *addr)
{
    struct cidr cidr = { .addr = *addr, .plen = cidr_max_plen(addr->family) };
    return cidr;
}

void
np_addr_match(const struct cidr *cidr, bool dst, char buf[NP_MATCH_MAX])
{
    format_addr_match(cidr, dst ? FIELD_DST : FIELD_SRC, buf, NP_MATCH_MAX);
}

void
np_host_match(const struct ip_addr *addr, bool dst, char buf[NP_MATCH_MAX])
{
    struct cidr h = host_cidr(addr);
    np_addr_match(&h, dst, buf);
}

static const char *
proto_match(enum np_proto proto, bool v6)
{
    switch (proto) {
    case NP_TCP: return v6 ? "tcp6" : "tcp";
    case NP_UDP: return v6 ? "udp6" : "udp";
    case NP_SCTP: return v6 ? "sctp6" : "sctp";
    }
    abort();
}

/* ---- A dimension of a conjunction: a list of matches. ---- */

struct dim {
    uint32_t *matches;          /* Interned match ids. */
    size_t n, allocated;
};

static void
dim_add(struct dim *d, uint32_t match)
{
    APPEND(d->matches, d->n, d->allocated, match);
}

static void
dim_destroy(struct dim *d)
{
    free(d->matches);
    memset(d, 0, sizeof *d);
}

/* Returns the interned matches of pod 'idx' on 'field', one per address,
 * computing them on first use: a pod appears in many rules. */
static const uint32_t *
pod_matches(struct ctx *c, size_t idx, enum addr_field field)
{
    uint32_t *m = &c->pod_matches[field][c->pod_first_match[idx]];
    if (!c->pod_matched[field][idx]) {
        const struct k8s_pod *pod = c->pods[idx];
        char buf[128];
        for (size_t i = 0; i < pod->n_ips; i++) {
            struct cidr h = host_cidr(&pod->ips[i]);
            format_addr_match(&h, field, buf, sizeof buf);
            m[i] = intern(c, buf);
        }
        c->pod_matched[field][idx] = true;
    }
    return m;
}

static void
dim_add_pod(struct ctx *c, struct dim *d, size_t idx, enum addr_field field)
{
    const uint32_t *m = pod_matches(c, idx, field);
    for (size_t i = 0; i < c->pods[idx]->n_ips; i++) {
        dim_add(d, m[i]);
    }
}

static void
dim_add_cidr(struct ctx *c, struct dim *d, const struct cidr *cidr,
             enum addr_field field)
{
    char buf[128];
    format_addr_match(cidr, field, buf, sizeof buf);
    dim_add(d, intern(c, buf));
}

static void
warn(struct ctx *c, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    struct np_flowset *out = c->out;
    out->warnings = xrealloc(out->warnings,
                             (out->n_warnings + 1) * sizeof *out->warnings);
    out->warnings[out->n_warnings++] = msg;
}

size_t
np_port_matches(bool v4, bool v6, enum np_proto proto, uint16_t port,
                uint16_t end_port,
                void (*cb)(void *aux, const char *match), void *aux)
{
    size_t n_range = 1;
    for (int is_v6 = 0; is_v6 < 2; is_v6++) {
        if (is_v6 ? !v6 : !v4) {
            continue;
        }
        const char *p = proto_match(proto, is_v6);
        char buf[64];
        if (!port) {
            cb(aux, p);
        } else if (!end_port || end_port == port) {
            snprintf(buf, sizeof buf, "%s,tp_dst=%u", p, port);
            cb(aux, buf);
        } else {
            uint16_t values[32], masks[32];
            n_range = port_range_to_masks(port, end_port, values, masks);
            for (size_t i = 0; i < n_range; i++) {
                if (masks[i] == 0xffff) {
                    snprintf(buf, sizeof buf, "%s,tp_dst=%u", p, values[i]);
                } else {
                    snprintf(buf, sizeof buf, "%s,tp_dst=0x%x/0x%x", p,
                             values[i], masks[i]);
                }
                cb(aux, buf);
            }
        }
    }
    return n_range;
}

struct dim_port_aux {
    struct ctx *c;
    struct dim *d;
};

static void
dim_add_port_cb(void *aux_, const char *match)
{
    struct dim_port_aux *aux = aux_;
    dim_add(aux->d, intern(aux->c, match));
}

/* Adds the port matches of one (protocol, port[-end]) entry. */
static void
dim_add_port(struct ctx *c, struct dim *d, enum np_proto proto,
             uint16_t port, uint16_t end_port, const char *what)
{
    struct dim_port_aux aux = { c, d };
    size_t n = np_port_matches(c->families.v4, c->families.v6, proto, port,
                               end_port, dim_add_port_cb, &aux);
    if (n > 16 && c->families.v4) {
        warn(c, "%s: port range %u-%u needs %zu flows per clause",
             what, port, end_port, n);
    }
}

/* ---- Selectors to pods. ---- */

static void
ns_views_build(struct ctx *c, const struct cluster *cluster)
{
    size_t n_ns;
    const struct k8s_namespace *const *nss = cluster_namespaces(cluster,
                                                                &n_ns);
    strmap_init(&c->ns_by_name);
    /* Pods may live in namespaces that have no object (yet). */
    c->nss = xcalloc(n_ns + c->n_pods + 1, sizeof *c->nss);
    c->pod_ns = xmalloc((c->n_pods + 1) * sizeof *c->pod_ns);
    strmap_init(&c->label_index);
    c->n_nss = 0;
    for (size_t i = 0; i < n_ns; i++) {
        struct ns_view *v = &c->nss[c->n_nss++];
        v->name = nss[i]->name;
        labels_clone(&v->labels, &nss[i]->labels);
        /* The API server sets this label on every namespace. */
        labels_set(&v->labels, "kubernetes.io/metadata.name", v->name);
        *strmap_slot(&c->ns_by_name, v->name, NULL) = v;
    }
    /* Pods come sorted by namespace: look a namespace up once per run of
     * its pods, not once per pod (this loop runs for every event). */
    struct ns_view *v = NULL;
    for (size_t i = 0; i < c->n_pods; i++) {
        const struct k8s_pod *pod = c->pods[i];
        if (!v || strcmp(v->name, pod->namespace)) {
            bool created;
            void **slot = strmap_slot(&c->ns_by_name, pod->namespace,
                                      &created);
            if (created) {
                struct ns_view *nv = &c->nss[c->n_nss++];
                nv->name = pod->namespace;
                labels_init(&nv->labels);
                labels_set(&nv->labels, "kubernetes.io/metadata.name",
                           nv->name);
                *slot = nv;
            }
            v = *slot;
        }
        c->pod_ns[i] = v - c->nss;
        if (c->eligible[i]) {
            APPEND(v->pods, v->n_pods, v->allocated_pods, i);
        }
    }
    c->ns_mark = xcalloc(c->n_nss + 1, sizeof *c->ns_mark);
}

/* The label index, built on first use: a run that compiles only a few
 * policies again often needs none, and building it was 40% of such a
 * run on a 10,000-pod cluster. */
static void
label_index_build(struct ctx *c)
{
    if (c->label_index_built) {
        return;
    }
    c->label_index_built = true;
    for (size_t i = 0; i < c->n_pods; i++) {
        if (!c->eligible[i]) {
            continue;
        }
        const struct k8s_pod *pod = c->pods[i];
        for (size_t j = 0; j < pod->labels.n; j++) {
            const struct label *l = &pod->labels.items[j];
            char *lkey = xasprintf("%s=%s", l->key, l->value);
            void **lslot = strmap_slot(&c->label_index, lkey, NULL);
            free(lkey);
            if (!*lslot) {
                *lslot = xcalloc(1, sizeof(struct podlist_buf));
            }
            struct podlist_buf *pb = *lslot;
            APPEND(pb->pl.idx, pb->pl.n, pb->allocated, i);
        }
    }
}

static void
ns_views_destroy(struct ctx *c)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&c->label_index, &b); node;
         node = strmap_next(&c->label_index, node, &b)) {
        struct podlist_buf *pb = node->value;
        free(pb->pl.idx);
        free(pb);
    }
    strmap_destroy(&c->label_index);
    free(c->pod_ns);
    free(c->ns_mark);
    for (size_t i = 0; i < c->n_nss; i++) {
        labels_destroy(&c->nss[i].labels);
        free(c->nss[i].pods);
    }
    free(c->nss);
    strmap_destroy(&c->ns_by_name);
}

static int
compare_size_t(const void *a_, const void *b_)
{
    size_t a = *(const size_t *) a_, b = *(const size_t *) b_;
    return a < b ? -1 : a > b;
}

static void
podlist_add_ns(struct podlist *pl, size_t *allocated, const struct ns_view *v,
               const struct selector *pod_sel, const struct ctx *c)
{
    for (size_t i = 0; i < v->n_pods; i++) {
        size_t idx = v->pods[i];
        if (!pod_sel || selector_matches(pod_sel, &c->pods[idx]->labels)) {
            APPEND(pl->idx, pl->n, *allocated, idx);
        }
    }
}

/* Returns the peer-eligible pods that a (namespaceSelector, podSelector)
 * pair selects, for a policy in namespace 'policy_ns'.  A NULL 'ns_sel' is
 * the policy's own namespace; a NULL 'pod_sel' is every pod.  Results are
 * cached by the selectors' text, since clusters repeat selectors a lot. */
static const struct podlist *
resolve_pods(struct ctx *c, const char *policy_ns,
             const struct selector *ns_sel, const struct selector *pod_sel)
{
    char *ns_s = ns_sel ? selector_to_string(ns_sel) : NULL;
    char *pod_s = pod_sel ? selector_to_string(pod_sel) : NULL;
    char *key = xasprintf("%c%s|%c%s", ns_sel ? 'N' : 'O',
                          ns_sel ? ns_s : policy_ns,
                          pod_sel ? 'P' : '*', pod_sel ? pod_s : "");
    free(ns_s);
    free(pod_s);
    bool created;
    void **slot = strmap_slot(&c->peer_cache, key, &created);
    free(key);
    if (!created) {
        return *slot;
    }

    struct podlist *pl = xcalloc(1, sizeof *pl);
    size_t allocated = 0;
    if (!ns_sel) {
        const struct ns_view *v = strmap_get(&c->ns_by_name, policy_ns);
        if (v) {
            podlist_add_ns(pl, &allocated, v, pod_sel, c);
        }
    } else {
        /* Namespaces first (few), then pods: through the label index when
         * the pod selector requires a label, since scanning every pod of
         * every namespace was a fifth of a large compile. */
        const struct podlist *postings = NULL;
        if (pod_sel && pod_sel->match_labels.n) {
            label_index_build(c);
        }
        for (size_t i = 0; pod_sel && i < pod_sel->match_labels.n; i++) {
            const struct label *l = &pod_sel->match_labels.items[i];
            char *lkey = xasprintf("%s=%s", l->key, l->value);
            const struct podlist *p = strmap_get(&c->label_index, lkey);
            free(lkey);
            if (!p) {
                p = &empty_podlist;
            }
            if (!postings || p->n < postings->n) {
                postings = p;
            }
        }
        c->mark_gen++;
        size_t n_ns_matched = 0;
        for (size_t i = 0; i < c->n_nss; i++) {
            if (selector_matches(ns_sel, &c->nss[i].labels)) {
                c->ns_mark[i] = c->mark_gen;
                n_ns_matched++;
            }
        }
        if (postings && n_ns_matched) {
            for (size_t i = 0; i < postings->n; i++) {
                size_t idx = postings->idx[i];
                if (c->ns_mark[c->pod_ns[idx]] == c->mark_gen
                    && selector_matches(pod_sel, &c->pods[idx]->labels)) {
                    APPEND(pl->idx, pl->n, allocated, idx);
                }
            }
        } else if (n_ns_matched) {
            for (size_t i = 0; i < c->n_nss; i++) {
                if (c->ns_mark[i] == c->mark_gen) {
                    podlist_add_ns(pl, &allocated, &c->nss[i], pod_sel, c);
                }
            }
            np_qsort(pl->idx, pl->n, sizeof *pl->idx, compare_size_t);
        }
    }
    *slot = pl;
    return pl;
}

/* ---- Destinations of named ports. ---- */

/* Pod addresses without repeats (c->addr_mark against c->mark_gen, which
 * the caller bumps once per list). */
struct dst_list {
    struct pod_addr *items;
    size_t n, allocated;
};

static void
dst_list_add(struct ctx *c, struct dst_list *dl, size_t pod, size_t ip)
{
    uint32_t *mark = &c->addr_mark[c->pod_first_match[pod] + ip];
    if (*mark != c->mark_gen) {
        *mark = c->mark_gen;
        struct pod_addr pa = { .addr = c->pods[pod]->ips[ip], .pod = pod,
                               .ip = ip };
        APPEND(dl->items, dl->n, dl->allocated, pa);
    }
}

static void
dst_list_add_pod(struct ctx *c, struct dst_list *dl, size_t pod)
{
    for (size_t i = 0; i < c->pods[pod]->n_ips; i++) {
        dst_list_add(c, dl, pod, i);
    }
}

static int
compare_pod_addr(const void *a_, const void *b_)
{
    const struct pod_addr *a = a_, *b = b_;
    int cmp = ip_addr_cmp(&a->addr, &b->addr);
    return cmp ? cmp : a->pod < b->pod ? -1 : a->pod > b->pod;
}

/* Every address of a peer-eligible pod, sorted, to find the pods inside
 * an ipBlock without scanning every pod for every block. */
static void
addr_index_build(struct ctx *c)
{
    if (c->addr_index_built) {
        return;
    }
    c->addr_index_built = true;
    size_t allocated = 0;
    for (size_t i = 0; i < c->n_pods; i++) {
        for (size_t j = 0; c->eligible[i] && j < c->pods[i]->n_ips; j++) {
            struct pod_addr pa = { .addr = c->pods[i]->ips[j], .pod = i,
                                   .ip = j };
            APPEND(c->addr_index, c->n_addr_index, allocated, pa);
        }
    }
    np_qsort(c->addr_index, c->n_addr_index, sizeof *c->addr_index,
          compare_pod_addr);
}

/* The first and last address of a CIDR. */
struct span {
    struct ip_addr first, last;
};

static int
compare_span(const void *a_, const void *b_)
{
    const struct span *a = a_, *b = b_;
    int cmp = ip_addr_cmp(&a->first, &b->first);
    return cmp ? cmp : ip_addr_cmp(&b->last, &a->last);
}

/* Adds the addresses of eligible pods that lie inside any of 'blocks' (an
 * ipBlock minus its excepts, as CIDRs): only those addresses, so a
 * dual-stack pod behind an IPv4 block is reached by its IPv4 address
 * only.  The blocks become sorted spans, nested ones dropped; each is
 * looked up in the address index: O(b log b + b log a + matches). */
static void
dst_list_add_blocks(struct ctx *c, struct dst_list *dl,
                    const struct cidr *blocks, size_t n_blocks)
{
    if (!n_blocks) {
        return;
    }
    addr_index_build(c);
    struct span *spans = xmalloc(n_blocks * sizeof *spans);
    for (size_t i = 0; i < n_blocks; i++) {
        struct span *sp = &spans[i];
        sp->first = sp->last = blocks[i].addr;
        int max = cidr_max_plen(blocks[i].addr.family);
        for (int bit = blocks[i].plen; bit < max; bit++) {
            sp->last.bytes[bit / 8] |= 0x80 >> (bit % 8);
        }
    }
    np_qsort(spans, n_blocks, sizeof *spans, compare_span);
    const struct ip_addr *covered = NULL;   /* Last address done. */
    for (size_t i = 0; i < n_blocks; i++) {
        const struct span *sp = &spans[i];
        if (covered && ip_addr_cmp(&sp->last, covered) <= 0) {
            continue;           /* Inside a span already done. */
        }
        size_t lo = 0, hi = c->n_addr_index;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (ip_addr_cmp(&c->addr_index[mid].addr, &sp->first) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (size_t j = lo; j < c->n_addr_index
             && ip_addr_cmp(&c->addr_index[j].addr, &sp->last) <= 0; j++) {
            dst_list_add(c, dl, c->addr_index[j].pod, c->addr_index[j].ip);
        }
        covered = &sp->last;
    }
    free(spans);
}

/* ---- Peers. ---- */

/* A rule's peers, resolved. */
struct peers {
    bool wildcard;
    size_t *pods;               /* Unique pod indexes. */
    size_t n_pods, allocated_pods;
    size_t n_pod_addrs;         /* Their addresses. */
    struct cidr_diff *diffs;    /* One per ipBlock peer, in order. */
    size_t n_diffs;
    size_t n_cidrs;             /* The CIDRs the diffs come to: counted, */
    struct cidr *cidrs;         /* and listed once that fits the budget. */
};

/* Resolves the peers of 'rule': its pod peers, and its ipBlocks as
 * differences whose CIDRs are counted but not listed yet (counting is
 * cheap; listing a million is not, and the budget may refuse them). */
static void
peers_resolve(struct ctx *c, const struct k8s_netpol *np,
              const struct np_rule *rule, struct peers *p)
{
    memset(p, 0, sizeof *p);
    if (!rule->n_peers) {
        p->wildcard = true;
        return;
    }
    p->diffs = xmalloc(rule->n_peers * sizeof *p->diffs);
    c->mark_gen++;
    for (size_t i = 0; i < rule->n_peers; i++) {
        const struct np_peer *peer = &rule->peers[i];
        if (peer->is_ipblock) {
            struct cidr_diff *d = &p->diffs[p->n_diffs++];
            cidr_diff_init(d, &peer->block, peer->excepts, peer->n_excepts);
            p->n_cidrs += cidr_diff_count(d);
            continue;
        }
        const struct podlist *pl = resolve_pods(c, np->namespace,
                                                peer->ns_selector,
                                                peer->pod_selector);
        for (size_t j = 0; j < pl->n; j++) {
            size_t idx = pl->idx[j];
            if (c->mark[idx] != c->mark_gen) {
                c->mark[idx] = c->mark_gen;
                APPEND(p->pods, p->n_pods, p->allocated_pods, idx);
                p->n_pod_addrs += c->pods[idx]->n_ips;
            }
        }
    }
}

/* Lists the CIDRs of every ipBlock of 'rule' into p->cidrs, warning about
 * a block that becomes many. */
static void
peers_list_cidrs(struct ctx *c, const struct np_rule *rule, struct peers *p,
                 const char *what)
{
    p->cidrs = xmalloc((p->n_cidrs + 1) * sizeof *p->cidrs);
    size_t n = 0, k = 0;
    for (size_t i = 0; i < rule->n_peers; i++) {
        const struct np_peer *peer = &rule->peers[i];
        if (!peer->is_ipblock) {
            continue;
        }
        size_t m;
        struct cidr *list = cidr_diff_list(&p->diffs[k++], &m);
        if (m > 64) {
            char b[CIDR_STRLEN];
            cidr_format(&peer->block, b);
            warn(c, "%s: ipBlock %s with %zu excepts becomes %zu CIDRs",
                 what, b, peer->n_excepts, m);
        }
        assert(n + m <= p->n_cidrs);
        memcpy(&p->cidrs[n], list, m * sizeof *list);
        n += m;
        free(list);
    }
}

static void
peers_destroy(struct peers *p)
{
    free(p->pods);
    for (size_t i = 0; i < p->n_diffs; i++) {
        cidr_diff_destroy(&p->diffs[i]);
    }
    free(p->diffs);
    free(p->cidrs);
}

/* ---- Rules. ---- */

/* One conjunction (or plain flow set) to emit. */
struct conj_spec {
    struct dim dims[3];
    size_t n_dims;
};

/* Emits 'spec' as the rule identified by 'rule_key'.  'table' holds the
 * clause flows, 'record' is the action that records the rule id. */
static void
emit_conj(struct ctx *c, uint8_t table, const char *rule_key,
          bool ingress, uint64_t cookie, const char *comment,
          struct conj_spec *spec)
{
    for (size_t i = 0; i < spec->n_dims; i++) {
        if (!spec->dims[i].n) {
            return;             /* An empty set matches nothing. */
        }
    }
    uint32_t id = np_ids_get(c->ids, rule_key);
    char actions[128];
    np_rule_actions(c->opts, ingress, id, actions);
    if (spec->n_dims == 1) {
        for (size_t i = 0; i < spec->dims[0].n; i++) {
            add_direct_id(c, table, rule_priority(c, id), cookie,
                          spec->dims[0].matches[i],
                       actions, comment);
        }
        return;
    }
    for (size_t k = 0; k < spec->n_dims; k++) {
        for (size_t i = 0; i < spec->dims[k].n; i++) {
            add_clause(c, table, spec->dims[k].matches[i], id, k + 1,
                       spec->n_dims);
        }
    }
    char match[32];
    np_conj_id_match(id, match);
    add_direct(c, table, rule_priority(c, id), cookie, match, actions,
               comment);
}

static void
conj_spec_destroy(struct conj_spec *spec)
{
    for (size_t i = 0; i < spec->n_dims; i++) {
        dim_destroy(&spec->dims[i]);
    }
    spec->n_dims = 0;
}

/* A named port that resolves on a destination: address 'ip' of pod 'pod'
 * gives name number 'name' of the rule the number 'number'. */
struct named_hit {
    uint32_t name;              /* Index in the plan's 'names'. */
    uint16_t number;
    uint32_t seq;               /* The destination's rank: a stable sort. */
    size_t pod, ip;
};

static int
compare_named_hits(const void *a_, const void *b_)
{
    const struct named_hit *a = a_, *b = b_;
    return (a->name != b->name ? (a->name < b->name ? -1 : 1)
            : a->number != b->number ? (a->number < b->number ? -1 : 1)
            : a->seq < b->seq ? -1 : a->seq > b->seq);
}

/* One rule, resolved and counted before any of its flows exists. */
struct rule_plan {
    const struct np_rule *rule;
    bool ingress;
    size_t idx;
    char *what;                 /* "NetworkPolicy ns/name ingress rule N". */
    struct peers peers;
    const struct np_port **names;       /* Its distinct (name, protocol) */
    size_t n_names;                     /* pairs, in order. */
    struct named_hit *hits;     /* Sorted by (name, number, seq). */
    size_t n_hits;
    size_t cost;                /* Flows it adds, at most (see below), */
    bool counted;               /* or at least, if counting stopped. */
};

static void
rule_plan_destroy(struct rule_plan *plan)
{
    peers_destroy(&plan->peers);
    free(plan->names);
    free(plan->hits);
    free(plan->what);
}

/* The matches dim_add_port() makes for one 'ports' entry. */
static size_t
port_matches(const struct ctx *c, const struct np_port *p)
{
    size_t per_family = 1;
    if (p->port && p->end_port && p->end_port != p->port) {
        uint16_t values[32], masks[32];
        per_family = port_range_to_masks(p->port, p->end_port, values, masks);
    }
    return per_family * (c->families.v4 + c->families.v6);
}

size_t
np_conj_cost(const size_t *sizes, size_t n)
{
    size_t sum = n > 1;
    for (size_t i = 0; i < n; i++) {
        if (!sizes[i]) {
            return 0;
        }
        sum += sizes[i];
    }
    return sum;
}

/* Finds where the rule's named ports resolve: every (destination address,
 * name) whose pod declares the name with the rule's protocol, into
 * plan->hits.  The destinations are the selected pods for ingress; for
 * egress the peer pods and the pods with an address in the rule's
 * ipBlocks (those addresses only), or every pod with no 'to'.  One pass
 * over the destinations' ports, each looked up by name: a rule with many
 * names costs no more than one with few. */
static void
plan_named_ports(struct ctx *c, struct rule_plan *plan,
                 const size_t *selected, size_t n_selected)
{
    const struct np_rule *rule = plan->rule;
    struct strmap by_name;      /* Name -> 1 + index in 'names', per proto. */
    strmap_init(&by_name);
    plan->names = xmalloc(rule->n_ports * sizeof *plan->names);
    uint32_t (*slots)[3] = xcalloc(rule->n_ports, sizeof *slots);
    size_t n_slots = 0;
    for (size_t i = 0; i < rule->n_ports; i++) {
        const struct np_port *p = &rule->ports[i];
        if (!p->name) {
            continue;
        }
        bool created;
        void **slot = strmap_slot(&by_name, p->name, &created);
        if (created) {
            *slot = slots[n_slots++];
        }
        uint32_t *per_proto = *slot;
        if (!per_proto[p->proto]) {
            plan->names[plan->n_names++] = p;
            per_proto[p->proto] = plan->n_names;
        }
    }

    struct dst_list dsts = { NULL, 0, 0 };
    c->mark_gen++;
    if (plan->ingress) {
        for (size_t i = 0; i < n_selected; i++) {
            dst_list_add_pod(c, &dsts, selected[i]);
        }
    } else if (plan->peers.wildcard) {
        for (size_t i = 0; i < c->n_pods; i++) {
            if (c->eligible[i]) {
                dst_list_add_pod(c, &dsts, i);
            }
        }
    } else {
        for (size_t i = 0; i < plan->peers.n_pods; i++) {
            dst_list_add_pod(c, &dsts, plan->peers.pods[i]);
        }
        dst_list_add_blocks(c, &dsts, plan->peers.cidrs,
                            plan->peers.n_cidrs);
    }

    size_t allocated = 0;
    for (size_t i = 0; i < dsts.n; i++) {
        const struct pod_addr *pa = &dsts.items[i];
        const struct k8s_pod *pod = c->pods[pa->pod];
        for (size_t j = 0; j < pod->n_ports; j++) {
            const struct container_port *cp = &pod->ports[j];
            const uint32_t *per_proto = (cp->name
                                         ? strmap_get(&by_name, cp->name)
                                         : NULL);
            if (!per_proto || !per_proto[cp->proto]) {
                continue;
            }
            /* The first port of the pod with the name counts. */
            bool first = true;
            for (size_t k = 0; first && k < j; k++) {
                first = !(pod->ports[k].name
                          && pod->ports[k].proto == cp->proto
                          && !strcmp(pod->ports[k].name, cp->name));
            }
            if (first && cp->port) {
                struct named_hit h = {
                    .name = per_proto[cp->proto] - 1, .number = cp->port,
                    .seq = i, .pod = pa->pod, .ip = pa->ip,
                };
                APPEND(plan->hits, plan->n_hits, allocated, h);
            }
        }
    }
    np_qsort(plan->hits, plan->n_hits, sizeof *plan->hits, compare_named_hits);
    free(dsts.items);
    free(slots);
    strmap_destroy(&by_name);
}

/* Resolves rule 'plan->rule' and counts the flows it will add (at most:
 * before clause flows merge) into plan->cost, also adding it to '*total'.
 * A rule's ipBlocks count as the CIDRs they come to even where they are
 * not flows of their own (then they find the pods behind them).  Stops
 * and returns false as soon as '*total' goes over 'budget' (0: none),
 * before listing the CIDRs or resolving the named ports that would cost
 * more: the time a refused policy takes is bounded. */
static bool
plan_rule(struct ctx *c, const struct k8s_netpol *np, struct rule_plan *plan,
          const size_t *selected, size_t n_selected, size_t n_sel_addrs,
          size_t budget, size_t *total)
{
    const struct np_rule *rule = plan->rule;
    struct peers *p = &plan->peers;
    peers_resolve(c, np, rule, p);

    size_t n_numeric = 0, numeric_matches = 0;
    for (size_t i = 0; i < rule->n_ports; i++) {
        if (!rule->ports[i].name) {
            n_numeric++;
            numeric_matches += port_matches(c, &rule->ports[i]);
        }
    }
    size_t peer_matches = p->n_pod_addrs + p->n_cidrs;
    bool cidrs_counted = false;
    if (n_numeric || !rule->n_ports) {
        size_t sizes[3] = { n_sel_addrs }, n = 1;
        if (!p->wildcard) {
            sizes[n++] = peer_matches;
        }
        if (rule->n_ports) {
            sizes[n++] = numeric_matches;
        }
        plan->cost = np_conj_cost(sizes, n);
        cidrs_counted = plan->cost && !p->wildcard;
    }
    if (!cidrs_counted) {
        plan->cost += p->n_cidrs;
    }
    *total += plan->cost;
    plan->counted = rule->n_ports == n_numeric;
    if (budget && *total > budget) {
        return false;           /* Its named ports are not counted. */
    }
    if (p->n_cidrs) {
        peers_list_cidrs(c, rule, p, plan->what);
    }

    if (rule->n_ports > n_numeric) {
        plan_named_ports(c, plan, selected, n_selected);
        /* Per (name, number): its destinations' addresses, the other end
         * (sources in egress, peers in ingress if any), one port match
         * per family and the conj_id flow. */
        size_t fam = c->families.v4 + c->families.v6;
        size_t named = 0;
        for (size_t i = 0; i < plan->n_hits; ) {
            size_t j = i;
            while (j < plan->n_hits && plan->hits[j].name == plan->hits[i].name
                   && plan->hits[j].number == plan->hits[i].number) {
                j++;
            }
            size_t sizes[3] = { j - i }, n = 1;
            if (!plan->ingress) {
                sizes[n++] = n_sel_addrs;
            } else if (!p->wildcard) {
                sizes[n++] = peer_matches;
            }
            sizes[n++] = fam;
            named += np_conj_cost(sizes, n);
            i = j;
        }
        plan->cost += named;
        *total += named;
    }
    plan->counted = true;
    return !budget || *total <= budget;
}

/* Emits the flows of a planned rule of policy number 'pno', whose policy
 * selects the local pods 'selected'. */
static void
emit_rule(struct ctx *c, const struct k8s_netpol *np, uint32_t pno,
          const struct rule_plan *plan, const size_t *selected,
          size_t n_selected)
{
    const struct np_rule *rule = plan->rule;
    const struct peers *peers = &plan->peers;
    bool ingress = plan->ingress;
    size_t rule_idx = plan->idx;
    const char *what = plan->what;
    uint8_t table = tbl(c, ingress ? NPT_INGRESS : NPT_EGRESS);
    /* The local pods are the destination of ingress, the source of egress;
     * peers are the other end. */
    enum addr_field sel_field = ingress ? FIELD_DST : FIELD_SRC;
    enum addr_field peer_field = ingress ? FIELD_SRC : FIELD_DST;
    uint64_t cookie = np_rule_cookie(c->opts, pno, ingress, rule_idx);

    size_t n_numeric = 0;
    for (size_t i = 0; i < rule->n_ports; i++) {
        n_numeric += !rule->ports[i].name;
    }

    /* Numeric ports (or no ports at all): one conjunction. */
    if (n_numeric || !rule->n_ports) {
        struct conj_spec spec = { .n_dims = 0 };
        struct dim *d = &spec.dims[spec.n_dims++];
        for (size_t i = 0; i < n_selected; i++) {
            dim_add_pod(c, d, selected[i], sel_field);
        }
        if (!peers->wildcard) {
            d = &spec.dims[spec.n_dims++];
            for (size_t i = 0; i < peers->n_pods; i++) {
                dim_add_pod(c, d, peers->pods[i], peer_field);
            }
            for (size_t i = 0; i < peers->n_cidrs; i++) {
                dim_add_cidr(c, d, &peers->cidrs[i], peer_field);
            }
        }
        if (rule->n_ports) {
            d = &spec.dims[spec.n_dims++];
            for (size_t i = 0; i < rule->n_ports; i++) {
                const struct np_port *p = &rule->ports[i];
                if (!p->name) {
                    dim_add_port(c, d, p->proto, p->port, p->end_port, what);
                }
            }
        }
        char *key = np_rule_key(np, ingress, rule_idx, NULL, 0);
        emit_conj(c, table, key, ingress, cookie, what, &spec);
        free(key);
        conj_spec_destroy(&spec);
    }

    /* Named ports: one conjunction per (name, number), whose destination
     * set holds the addresses that resolve the name to that number. */
    for (size_t i = 0; i < plan->n_hits; ) {
        const struct named_hit *h = &plan->hits[i];
        const struct np_port *p = plan->names[h->name];
        struct conj_spec spec = { .n_dims = 0 };
        struct dim *dst = &spec.dims[spec.n_dims++];
        size_t j = i;
        for (; j < plan->n_hits && plan->hits[j].name == h->name
               && plan->hits[j].number == h->number; j++) {
            dim_add(dst, pod_matches(c, plan->hits[j].pod,
                                     ingress ? sel_field
                                     : peer_field)[plan->hits[j].ip]);
        }
        struct dim *d;
        if (ingress && !peers->wildcard) {
            d = &spec.dims[spec.n_dims++];
            for (size_t k = 0; k < peers->n_pods; k++) {
                dim_add_pod(c, d, peers->pods[k], peer_field);
            }
            for (size_t k = 0; k < peers->n_cidrs; k++) {
                dim_add_cidr(c, d, &peers->cidrs[k], peer_field);
            }
        } else if (!ingress) {
            d = &spec.dims[spec.n_dims++];
            for (size_t k = 0; k < n_selected; k++) {
                dim_add_pod(c, d, selected[k], sel_field);
            }
        }
        d = &spec.dims[spec.n_dims++];
        dim_add_port(c, d, p->proto, h->number, 0, what);
        char *key = np_rule_key(np, ingress, rule_idx, p, h->number);
        emit_conj(c, table, key, ingress, cookie, what, &spec);
        free(key);
        conj_spec_destroy(&spec);
        i = j;
    }
}

/* ---- Infrastructure flows. ---- */

static void
gen_direct(const struct np_gen *g, uint8_t table, uint16_t priority,
           uint64_t cookie, const char *match, const char *actions,
           const char *comment)
{
    g->direct(g->aux, table, priority, cookie, match, actions, comment);
}

void
np_gen_infra(const struct np_gen *g)
{
    const struct compile_options *o = g->opts;
    const char *cont = o->continuation;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    char actions[256];
    uint8_t t_classify = np_tbl(o, NPT_CLASSIFY);

    /* Address resolution is not policy: NetworkPolicy covers IP only. */
    gen_direct(g, t_classify, 100, cookie, "arp", cont,
               "ARP is not subject to NetworkPolicy");
    for (int type = 133; type <= 137; type++) {
        char match[64];
        snprintf(match, sizeof match, "icmp6,icmp_type=%d", type);
        gen_direct(g, t_classify, 100, cookie, match, cont,
                   "IPv6 neighbor discovery is not subject to NetworkPolicy");
    }
    snprintf(actions, sizeof actions, "ct(table=%u,zone=%u)",
             np_tbl(o, NPT_STATE), o->ct_zone);
    gen_direct(g, t_classify, 90, cookie, "ip", actions, NULL);
    gen_direct(g, t_classify, 90, cookie, "ipv6", actions, NULL);
    gen_direct(g, t_classify, 0, cookie, "", cont, NULL);

    /* Replies are not what policies match (their fields are the
     * connection's tuple reversed), so they follow their connection's
     * verdict, which the original direction keeps up to date in ct_mark.
     * ICMP errors (+rel) carry the mark of the connection they are about. */
    uint8_t t_state = np_tbl(o, NPT_STATE);
    gen_direct(g, t_state, 200, cookie, "ct_state=+inv+trk", "drop",
               "invalid for conntrack");
    /* OVS 3.1's userspace conntrack keeps one entry for all SCTP between
     * two addresses, whatever the ports: a packet to a denied port would
     * mark the entry cut and drop the replies of the allowed associations
     * that share it.  So SCTP replies pass whatever the mark; the original
     * direction is still checked packet by packet. */
    gen_direct(g, t_state, 195, cookie,
               "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT",sctp", cont,
               "SCTP replies: one conntrack entry for every association "
               "between two addresses");
    gen_direct(g, t_state, 195, cookie,
               "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT",sctp6", cont,
               NULL);
    gen_direct(g, t_state, 190, cookie,
               "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT, "drop",
               "replies of connections that policies no longer allow");
    gen_direct(g, t_state, 190, cookie,
               "ct_state=-new+rel+trk,ct_mark="CT_MARK_CUT, "drop", NULL);
    gen_direct(g, t_state, 180, cookie, "ct_state=-new+est+rpl+trk", cont,
               "replies of allowed connections");
    gen_direct(g, t_state, 180, cookie, "ct_state=-new+rel+trk", cont, NULL);
    /* What policies allowed when the connection started may have changed
     * since: check again.  In the original direction the packet's fields
     * are the connection's tuple, so the rules match as for the first
     * packet. */
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_SPOOF));
    gen_direct(g, t_state, 170, cookie, "ct_state=-new+est-rpl+trk", actions,
               "established connections, original direction: policies "
               "again");
    gen_direct(g, t_state, 0, cookie, "", actions, "new connections");

    uint8_t t_spoof = np_tbl(o, NPT_SPOOF);
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_INGRESS));
    gen_direct(g, t_spoof, 0, cookie, "", actions,
               "not from a local pod: ingress checks only");

    uint8_t t_eg = np_tbl(o, NPT_EGRESS);
    snprintf(actions, sizeof actions, "goto_table:%u",
             np_tbl(o, NPT_EGRESS_DEFAULT));
    gen_direct(g, t_eg, 0, cookie, "", actions, NULL);
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_INGRESS));
    gen_direct(g, np_tbl(o, NPT_EGRESS_DEFAULT), 0, cookie, "", actions,
               "source not isolated for egress");
    snprintf(actions, sizeof actions, "goto_table:%u",
             np_tbl(o, NPT_INGRESS_DEFAULT));
    gen_direct(g, np_tbl(o, NPT_INGRESS), 0, cookie, "", actions, NULL);
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_COMMIT));
    gen_direct(g, np_tbl(o, NPT_INGRESS_DEFAULT), 0, cookie, "", actions,
               "destination not isolated for ingress");

    /* An established connection was committed when it started.  Only one
     * that a policy change cut and a later change allows again needs
     * another commit: clearing the mark lets its replies pass again. */
    uint8_t t_commit = np_tbl(o, NPT_COMMIT);
    /* These two end in the operator's continuation, of any length. */
    char *commit = xasprintf(
        "ct(commit,zone=%u,exec(set_field:0/0x1->ct_mark)),%s",
        o->ct_zone, cont);
    gen_direct(g, t_commit, 110, cookie,
               "ct_state=-new+est+trk,ct_mark="CT_MARK_CUT",ip", commit,
               "allowed again after a policy change had cut it");
    gen_direct(g, t_commit, 110, cookie,
               "ct_state=-new+est+trk,ct_mark="CT_MARK_CUT",ipv6", commit,
               NULL);
    free(commit);
    gen_direct(g, t_commit, 105, cookie, "ct_state=-new+est+trk", cont,
               "established and still allowed");

    /* ct_label: egress rule id in the high 32 bits, ingress in the low;
     * 0 means "not isolated in that direction". */
    commit = xasprintf(
        "ct(commit,zone=%u,exec(move:NXM_NX_REG0[]->NXM_NX_CT_LABEL[32..63],"
        "move:NXM_NX_REG1[]->NXM_NX_CT_LABEL[0..31])),%s",
        o->ct_zone, cont);
    gen_direct(g, t_commit, 100, cookie, "ip", commit,
               "allowed: commit with the deciding rules in ct_label");
    gen_direct(g, t_commit, 100, cookie, "ipv6", commit, NULL);
    free(commit);
}

/* Drops all IP from switch port 'port' (in the spoof guard table, below
 * what its pod may send).  'port' comes from the operator or OVSDB, of
 * any length: no fixed buffer. */
static void
add_port_drops(const struct np_gen *g, const char *port, const char *comment)
{
    const struct compile_options *o = g->opts;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    for (int v6 = 0; v6 < 2; v6++) {
        char *match = xasprintf("in_port=%s,%s", port, v6 ? "ipv6" : "ip");
        gen_direct(g, np_tbl(o, NPT_SPOOF), 150, cookie, match, "drop",
                   comment);
        free(match);
    }
}

/* The spoof guard for local pod 'pod': its own addresses go on to egress
 * checks from each of its ports; anything else from its ports is dropped,
 * and its addresses from any other port too. */
void
np_gen_spoof(const struct np_gen *g, const struct k8s_pod *pod)
{
    const struct compile_options *o = g->opts;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    uint8_t t = np_tbl(o, NPT_SPOOF);
    char actions[64], buf[128];
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_EGRESS));
    const char *const *ports = NULL;
    size_t n_ports = (o->port_of
                      ? o->port_of(o->port_aux, pod->namespace, pod->name,
                                   &ports)
                      : 0);
    struct ds comment = { NULL, 0, 0 };
    char *head = xasprintf("pod %s/%s%s", pod->namespace, pod->name,
                           !n_ports ? " (no port known)"
                           : n_ports == 1 ? " on port " : " on ports ");
    ds_put(&comment, head, strlen(head));
    free(head);
    for (size_t i = 0; i < n_ports; i++) {
        if (i) {
            ds_put(&comment, ", ", 2);
        }
        ds_put(&comment, ports[i], strlen(ports[i]));
    }
    for (size_t i = 0; i < pod->n_ips; i++) {
        struct cidr h = host_cidr(&pod->ips[i]);
        format_addr_match(&h, FIELD_SRC, buf, sizeof buf);
        for (size_t j = 0; j < n_ports; j++) {
            char *match = xasprintf("in_port=%s,%s", ports[j], buf);
            gen_direct(g, t, 200, cookie, match, actions, comment.s);
            free(match);
        }
        if (n_ports) {
            gen_direct(g, t, 100, cookie, buf, "drop", comment.s);
        } else {
            gen_direct(g, t, 200, cookie, buf, actions, comment.s);
        }
    }
    for (size_t j = 0; j < n_ports; j++) {
        add_port_drops(g, ports[j], comment.s);
    }
    free(comment.s);
}

/* ---- Policies. ---- */

struct isolation {
    const char *first;          /* "ns/name" of the first isolating policy. */
    bool first_invalid;         /* It is a fail-closed stand-in. */
    uint32_t pno;
    size_t n;                   /* Policies isolating the pod. */
};

/* Compiles the rules of policy 'np' (number 'pno'), which selects the
 * local pods 'selected', unless they would add more flows than
 * opts->max_policy_flows: then it adds none of them and returns a
 * malloc'd message naming the policy, the rule and the counts.  All or
 * nothing: the policy's default deny (made by the caller) stays either
 * way, so a refused policy isolates its pods and allows nothing, which
 * fails closed; installing some of its rules would make what it allows
 * depend on the order of its rules.  Every rule is planned (resolved
 * and counted) before any flow is made, so a refused policy costs the
 * counting only.  Stores in '*needed' the flows counted (for a refused
 * policy, at least what it needs). */
static char *
compile_policy_rules(struct ctx *c, const struct k8s_netpol *np, uint32_t pno,
                     const size_t *selected, size_t n_selected,
                     size_t *needed)
{
    size_t budget = c->opts->max_policy_flows;
    size_t n_sel_addrs = 0;
    for (size_t i = 0; i < n_selected; i++) {
        n_sel_addrs += c->pods[selected[i]]->n_ips;
    }
    struct rule_plan *plans = xcalloc(np->n_ingress + np->n_egress + 1,
                                      sizeof *plans);
    size_t n_plans = 0, total = 0;
    bool fits = true;
    for (int ingress = 0; fits && ingress < 2; ingress++) {
        if (!(ingress ? np->isolates_ingress : np->isolates_egress)) {
            continue;
        }
        const struct np_rule *rules = ingress ? np->ingress : np->egress;
        size_t n_rules = ingress ? np->n_ingress : np->n_egress;
        for (size_t r = 0; fits && r < n_rules; r++) {
            struct rule_plan *plan = &plans[n_plans++];
            plan->rule = &rules[r];
            plan->ingress = ingress;
            plan->idx = r;
            plan->what = np_rule_what(np, ingress, r);
            fits = plan_rule(c, np, plan, selected, n_selected, n_sel_addrs,
                             budget, &total);
        }
    }

    char *error = NULL;
    if (fits) {
        for (size_t i = 0; i < n_plans; i++) {
            emit_rule(c, np, pno, &plans[i], selected, n_selected);
        }
    } else {
        /* Counting stopped at the rule that went over: it is the one
         * to name (usually the one that blew up). */
        const struct rule_plan *last = &plans[n_plans - 1];
        error = np_limit_message(last->what, last->counted, last->cost,
                                 last->peers.n_cidrs, total, budget);
    }
    for (size_t i = 0; i < n_plans; i++) {
        rule_plan_destroy(&plans[i]);
    }
    free(plans);
    *needed = total;
    return error;
}

/* Reports policy 'name' as over the flow limit, for 'message'. */
static void
add_rejected(struct ctx *c, const char *name, const char *message,
             size_t flows)
{
    struct np_flowset *out = c->out;
    out->rejected = xrealloc(out->rejected, (out->n_rejected + 1)
                             * sizeof *out->rejected);
    out->rejected[out->n_rejected++] = (struct np_rejected) {
        .policy = xstrdup(name), .message = xstrdup(message),
        .flows = flows,
    };
}

static void
compile_policies(struct ctx *c, const struct cluster *cluster)
{
    size_t n_np;
    const struct k8s_netpol *const *nps = cluster_netpols(cluster, &n_np);
    struct isolation *iso[2];   /* [egress, ingress] per pod. */
    for (int d = 0; d < 2; d++) {
        iso[d] = xcalloc(c->n_pods + 1, sizeof *iso[d]);
    }
    size_t *selected = xmalloc((c->n_pods + 1) * sizeof *selected);

    for (size_t p = 0; p < n_np; p++) {
        const struct k8s_netpol *np = nps[p];
        char *name = xasprintf("%s/%s", np->namespace, np->name);
        /* Policy numbers go into cookies, so they must not shift when
         * another policy comes or goes. */
        uint32_t pno = np_ids_get(c->policy_ids, name) - 1;
        if (pno >= c->out->n_names) {
            size_t n = pno + 1;
            c->out->names = xrealloc(c->out->names, n * sizeof *c->out->names);
            memset(&c->out->names[c->out->n_names], 0,
                   (n - c->out->n_names) * sizeof *c->out->names);
            c->out->n_names = n;
        }
        c->out->names[pno] = name;

        size_t n_selected = 0;
        const struct ns_view *v = strmap_get(&c->ns_by_name, np->namespace);
        for (size_t i = 0; v && i < v->n_pods; i++) {
            size_t idx = v->pods[i];
            if (c->local[idx]
                && selector_matches(&np->pod_selector,
                                    &c->pods[idx]->labels)) {
                selected[n_selected++] = idx;
            }
        }
        if (!n_selected) {
            continue;
        }
        for (int ingress = 0; ingress < 2; ingress++) {
            bool isolates = ingress ? np->isolates_ingress
                            : np->isolates_egress;
            if (!isolates) {
                continue;       /* Rules of unlisted directions are ignored. */
            }
            for (size_t i = 0; i < n_selected; i++) {
                struct isolation *is = &iso[ingress][selected[i]];
                if (!is->n++) {
                    is->first = name;
                    is->first_invalid = np->invalid != NULL;
                    is->pno = pno;
                }
            }
        }
        size_t needed;
        char *rejected = compile_policy_rules(c, np, pno, selected,
                                              n_selected, &needed);
        if (rejected) {
            add_rejected(c, name, rejected, needed);
            free(rejected);
        }
    }
    free(selected);

    struct np_gen g = { c->opts, ctx_direct, c };
    for (int ingress = 0; ingress < 2; ingress++) {
        for (size_t i = 0; i < c->n_pods; i++) {
            const struct isolation *is = &iso[ingress][i];
            if (is->n) {
                np_gen_isolation(&g, c->pods[i], ingress, is->first,
                                 is->first_invalid, is->pno, is->n);
            }
        }
    }
    for (int d = 0; d < 2; d++) {
        free(iso[d]);
    }
}

/* ---- Shared with src/incr.c (see compile-gen.h). ---- */

/* Default deny for an isolated pod, one flow per address, named after the
 * first isolating policy (all of them: see the comment).  An established
 * connection that gets here was allowed when it started and is not any
 * more: drop the packet and mark the connection cut, so that table 1 drops
 * its replies too.  Its own flow, so that its counter tells cut
 * connections from refused ones. */
void
np_gen_isolation(const struct np_gen *g, const struct k8s_pod *pod,
                 bool ingress, const char *first, bool first_invalid,
                 uint32_t pno, size_t n)
{
    const struct compile_options *o = g->opts;
    char cut[64];
    snprintf(cut, sizeof cut,
             "ct(commit,zone=%u,exec(set_field:"CT_MARK_CUT"->ct_mark))",
             o->ct_zone);
    uint8_t t = np_tbl(o, ingress ? NPT_INGRESS_DEFAULT : NPT_EGRESS_DEFAULT);
    char *comment = xasprintf("%s/%s isolated for %s by %s%s%s",
                              pod->namespace, pod->name,
                              ingress ? "ingress" : "egress", first,
                              first_invalid
                              ? " (invalid: isolating with no rules)" : "",
                              n > 1 ? " and others" : "");
    uint64_t cookie = np_cookie(o, NPC_ISOLATION, pno, ingress ? 0x800 : 0);
    char *cut_comment = xasprintf("%s: established connections cut",
                                  comment);
    char buf[NP_MATCH_MAX], match[NP_MATCH_MAX + 32];
    for (size_t j = 0; j < pod->n_ips; j++) {
        np_host_match(&pod->ips[j], ingress, buf);
        gen_direct(g, t, NP_PRIO_DEFAULT_DENY, cookie, buf, "drop", comment);
        snprintf(match, sizeof match, "ct_state=+est+trk,%s", buf);
        gen_direct(g, t, NP_PRIO_DEFAULT_CUT, cookie, match, cut,
                   cut_comment);
    }
    free(cut_comment);
    free(comment);
}

char *
np_rule_what(const struct k8s_netpol *np, bool ingress, size_t idx)
{
    return xasprintf("NetworkPolicy %s/%s %s rule %zu", np->namespace,
                     np->name, ingress ? "ingress" : "egress", idx);
}

char *
np_rule_key(const struct k8s_netpol *np, bool ingress, size_t idx,
            const struct np_port *named, uint16_t number)
{
    char dir = ingress ? 'i' : 'e';
    return (named
            ? xasprintf("%s/%s|%c|%zu|%s/%s=%u", np->namespace, np->name,
                        dir, idx, named->name, np_proto_name(named->proto),
                        number)
            : xasprintf("%s/%s|%c|%zu|#", np->namespace, np->name, dir,
                        idx));
}

uint64_t
np_rule_cookie(const struct compile_options *opts, uint32_t pno,
               bool ingress, size_t idx)
{
    return np_cookie(opts, NPC_RULE, pno, (ingress ? 0x800 : 0)
                                          | (idx & 0x7ff));
}

void
np_rule_actions(const struct compile_options *opts, bool ingress,
                uint32_t id, char buf[128])
{
    snprintf(buf, 128, "set_field:%#"PRIx32"->%s,goto_table:%u", id,
             ingress ? "reg1" : "reg0",
             np_tbl(opts, ingress ? NPT_COMMIT : NPT_INGRESS));
}

void
np_conj_id_match(uint32_t id, char buf[32])
{
    snprintf(buf, 32, "conj_id=%"PRIu32, id);
}

char *
np_limit_message(const char *what, bool counted, size_t cost,
                 size_t n_cidrs, size_t total, size_t budget)
{
    char *cidrs = (n_cidrs
                   ? xasprintf("its ipBlocks come to %zu CIDRs", n_cidrs)
                   : NULL);
    char *before = (total > cost
                    ? xasprintf("%zu with the rules before it", total)
                    : NULL);
    char *why = (cidrs || before
                 ? xasprintf(" (%s%s%s)", cidrs ? cidrs : "",
                             cidrs && before ? "; " : "",
                             before ? before : "")
                 : xstrdup(""));
    char *error = xasprintf("%s needs %s%zu flows%s, over the limit of %zu "
                            "per policy (--max-policy-flows): none of the "
                            "policy's rules is installed, and the pods it "
                            "selects stay isolated", what,
                            counted ? "" : "at least ", cost, why, budget);
    free(why);
    free(cidrs);
    free(before);
    return error;
}

static int
compare_u64(const void *a_, const void *b_)
{
    uint64_t a = *(const uint64_t *) a_, b = *(const uint64_t *) b_;
    return a < b ? -1 : a > b;
}

size_t
np_conj_sort(uint64_t *entries, size_t n)
{
    np_qsort(entries, n, sizeof *entries, compare_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!m || entries[m - 1] != entries[i]) {
            entries[m++] = entries[i];
        }
    }
    return m;
}

/* printf() here was a tenth of a large compile. */
char *
np_conj_format(const uint64_t *entries, size_t n)
{
    char *text = xmalloc(n * 40 + 1), *p = text;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }
        memcpy(p, "conjunction(", 12);
        p = put_uint(p + 12, entries[i] >> 16);
        *p++ = ',';
        p = put_uint(p, (entries[i] >> 8) & 0xff);
        *p++ = '/';
        p = put_uint(p, entries[i] & 0xff);
        *p++ = ')';
    }
    *p = '\0';
    return text;
}

/* ---- Output. ---- */

static int
compare_flows(const void *a_, const void *b_)
{
    const struct np_flow *a = a_, *b = b_;
    if (a->table != b->table) {
        return a->table < b->table ? -1 : 1;
    }
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    return strcmp(a->match, b->match);
}

void
compile_options_init(struct compile_options *opts)
{
    static const char *const local[] = { "LOCAL" };
    memset(opts, 0, sizeof *opts);
    opts->continuation = "NORMAL";
    opts->ct_zone = 0;
    opts->node_ports = local;
    opts->n_node_ports = 1;
    opts->max_policy_flows = NP_DEFAULT_MAX_POLICY_FLOWS;
}

/* Host-network pods share the node's address, and finished pods' addresses
 * may already belong to someone else: neither is a pod peer by IP, though
 * ipBlocks still match their addresses. */
bool
np_pod_eligible(const struct k8s_pod *pod)
{
    return (pod->n_ips && !pod->host_network
            && pod->phase != POD_SUCCEEDED && pod->phase != POD_FAILED);
}

char *
compile_check_port(const char *port)
{
    size_t len = strlen(port);
    if (!len) {
        return xstrdup("empty port name");
    }
    if (strspn(port, "0123456789") == len) {
        char *end;
        unsigned long n = strtoul(port, &end, 10);
        if (len > 5 || n < 1 || n > 0xfeff) {
            return xasprintf("\"%s\" is not a port number from 1 to 65279",
                             port);
        }
        return NULL;
    }
    for (const char *p = port; *p; p++) {
        unsigned char ch = *p;
        if (ch <= ' ' || ch >= 0x7f) {
            return xasprintf("port name has a space, control or non-ASCII "
                             "byte at position %zu", (size_t) (p - port) + 1);
        } else if (strchr(",=()\"\\", ch)) {
            return xasprintf("port name \"%s\" has '%c', which an OpenFlow "
                             "match cannot hold", port, ch);
        }
    }
    if (len > 15) {
        return xasprintf("port name \"%.40s%s\" is longer than 15 "
                         "characters", port, len > 40 ? "..." : "");
    }
    return NULL;
}

bool
compile_pod_is_local(const struct compile_options *opts,
                     const struct k8s_pod *pod)
{
    return np_pod_eligible(pod)
           && (!opts->node
               || (pod->node_name && !strcmp(pod->node_name, opts->node)));
}

/* A port bound to a pod that gets no flows of its own (not known yet, no
 * address yet, finished, or not on this node) must not carry IP traffic:
 * otherwise a new pod would talk freely, as a non-local source, until its
 * policies are in. */
void
np_gen_orphan(const struct np_gen *g, const struct compile_bound_port *bp,
              const struct k8s_pod *pod)
{
    if (pod && compile_pod_is_local(g->opts, pod)) {
        return;
    }
    char *comment = xasprintf(
        "port %s is bound to pod %s/%s, which has no flows (%s): no IP "
        "from it", bp->port, bp->ns, bp->name,
        !pod ? "not known" : !pod->n_ips ? "no address yet"
        : pod->host_network ? "hostNetwork"
        : (pod->phase == POD_SUCCEEDED || pod->phase == POD_FAILED)
        ? "finished" : "on another node");
    add_port_drops(g, bp->port, comment);
    free(comment);
}

/* "Traffic to and from the node where a Pod is running is always allowed,
 * regardless of the IP address of the Pod or the node" (Kubernetes'
 * NetworkPolicy documentation): the kubelet's probes must reach an
 * isolated pod, and host-network pods of this node are this node.  From
 * the node: a packet with one of its addresses arriving on one of its
 * ports (never a pod's, so a pod cannot claim to be the node) skips both
 * checks.  To the node: by address, above the egress default deny. */
void
np_gen_node(const struct np_gen *g)
{
    const struct compile_options *o = g->opts;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    char commit[32], ingress[32], buf[128];
    snprintf(commit, sizeof commit, "goto_table:%u", np_tbl(o, NPT_COMMIT));
    snprintf(ingress, sizeof ingress, "goto_table:%u", np_tbl(o, NPT_INGRESS));
    for (size_t i = 0; i < o->n_node_addrs; i++) {
        struct cidr h = host_cidr(&o->node_addrs[i]);
        char addr[IP_ADDR_STRLEN];
        ip_addr_format(&o->node_addrs[i], addr);
        char *from = xasprintf("from this node (%s): always allowed", addr);
        char *to = xasprintf("to this node (%s): always allowed", addr);
        format_addr_match(&h, FIELD_SRC, buf, sizeof buf);
        for (size_t j = 0; j < o->n_node_ports; j++) {
            char *match = xasprintf("in_port=%s,%s", o->node_ports[j], buf);
            gen_direct(g, np_tbl(o, NPT_SPOOF), 190, cookie, match, commit,
                       j ? NULL : from);
            free(match);
        }
        format_addr_match(&h, FIELD_DST, buf, sizeof buf);
        gen_direct(g, np_tbl(o, NPT_EGRESS_DEFAULT), NP_PRIO_NODE, cookie, buf,
                   ingress, to);
        free(from);
        free(to);
    }
}

/* Compiles with rule priorities spread over 'buckets' levels; returns the
 * most conjunction actions any one flow got. */
static size_t
compile_once(const struct cluster *cluster,
             const struct compile_options *opts, unsigned int buckets,
             struct np_flowset *out)
{
    memset(out, 0, sizeof *out);
    out->table_base = opts->table_base;
    out->buckets = buckets;
    struct ctx c = { .opts = opts, .out = out, .buckets = buckets };
    c.pods = cluster_pods(cluster, &c.n_pods);
    c.eligible = xcalloc(c.n_pods + 1, sizeof *c.eligible);
    c.local = xcalloc(c.n_pods + 1, sizeof *c.local);
    c.mark = xcalloc(c.n_pods + 1, sizeof *c.mark);
    c.ids = opts->ids ? opts->ids : np_ids_create();
    c.policy_ids = opts->policy_ids ? opts->policy_ids : np_ids_create();
    strmap_init(&c.peer_cache);
    flowmap_init(&c.flows);
    strmap_init(&c.interned);
    c.pod_first_match = xmalloc((c.n_pods + 1) * sizeof *c.pod_first_match);
    size_t n_addrs = 0;
    for (size_t i = 0; i < c.n_pods; i++) {
        c.pod_first_match[i] = n_addrs;
        n_addrs += c.pods[i]->n_ips;
    }
    c.addr_mark = xcalloc(n_addrs + 1, sizeof *c.addr_mark);
    for (int f = 0; f < 2; f++) {
        c.pod_matches[f] = xmalloc((n_addrs + 1) * sizeof *c.pod_matches[f]);
        c.pod_matched[f] = xcalloc(c.n_pods + 1, sizeof *c.pod_matched[f]);
    }

    for (size_t i = 0; i < c.n_pods; i++) {
        const struct k8s_pod *pod = c.pods[i];
        c.eligible[i] = np_pod_eligible(pod);
        c.local[i] = compile_pod_is_local(opts, pod);
        for (size_t j = 0; j < pod->n_ips; j++) {
            if (pod->ips[j].family == AF_INET6) {
                c.families.v6 = true;
            } else {
                c.families.v4 = true;
            }
        }
    }
    size_t n_np;
    const struct k8s_netpol *const *nps = cluster_netpols(cluster, &n_np);
    for (size_t p = 0; p < n_np; p++) {
        for (int d = 0; d < 2; d++) {
            const struct np_rule *rules = d ? nps[p]->ingress : nps[p]->egress;
            size_t n = d ? nps[p]->n_ingress : nps[p]->n_egress;
            for (size_t r = 0; r < n; r++) {
                for (size_t i = 0; i < rules[r].n_peers; i++) {
                    const struct np_peer *peer = &rules[r].peers[i];
                    if (peer->is_ipblock) {
                        if (peer->block.addr.family == AF_INET6) {
                            c.families.v6 = true;
                        } else {
                            c.families.v4 = true;
                        }
                    }
                }
            }
        }
    }
    if (!c.families.v6) {
        c.families.v4 = true;
    }
    ns_views_build(&c, cluster);
    struct np_gen g = { opts, ctx_direct, &c };
    np_gen_infra(&g);
    for (size_t i = 0; i < c.n_pods; i++) {
        if (c.local[i]) {
            np_gen_spoof(&g, c.pods[i]);
        }
    }
    for (size_t i = 0; i < opts->n_bound_ports; i++) {
        const struct compile_bound_port *bp = &opts->bound_ports[i];
        np_gen_orphan(&g, bp, cluster_find_pod(cluster, bp->ns, bp->name));
    }
    np_gen_node(&g);
    compile_policies(&c, cluster);

    out->flows = xmalloc((c.flows.n + 1) * sizeof *out->flows);
    size_t max_conj = 0;
    for (size_t i = 0; i <= c.flows.mask; i++) {
        struct pflow *f = c.flows.values[i];
        if (!f) {
            continue;
        }
        char *conj = NULL;
        if (!f->actions) {
            size_t n = np_conj_sort(f->conj, f->n_conj);
            max_conj = n > max_conj ? n : max_conj;
            conj = np_conj_format(f->conj, n);
        }
        struct np_flow *of = &out->flows[out->n_flows++];
        of->table = f->table;
        of->priority = f->priority;
        of->cookie = f->cookie;
        of->match = c.strs[f->match];
        of->actions = f->actions ? f->actions : conj;
        free(f->conj);
        of->comment = f->comment;
        free(f);
    }
    np_qsort(out->flows, out->n_flows, sizeof *out->flows, compare_flows);
    out->strs_ = c.strs;
    out->n_strs_ = c.n_strs;

    flowmap_destroy(&c.flows);
    strmap_destroy(&c.interned);
    for (int f = 0; f < 2; f++) {
        free(c.pod_matches[f]);
        free(c.pod_matched[f]);
    }
    free(c.pod_first_match);
    size_t b;
    for (struct strmap_node *node = strmap_first(&c.peer_cache, &b); node;
         node = strmap_next(&c.peer_cache, node, &b)) {
        struct podlist *pl = node->value;
        free(pl->idx);
        free(pl);
    }
    strmap_destroy(&c.peer_cache);
    ns_views_destroy(&c);
    if (!opts->ids) {
        np_ids_destroy(c.ids);
    }
    if (!opts->policy_ids) {
        np_ids_destroy(c.policy_ids);
    }
    free(c.eligible);
    free(c.local);
    free(c.mark);
    free(c.addr_mark);
    free(c.addr_index);
    return max_conj;
}

/* OpenFlow messages hold at most 64 kB: about 4,000 conjunction actions on
 * one flow.  A match shared by more rules than this is spread over several
 * priorities (each rule's conjunction lives at one of them, so its clauses
 * stay together); a failed conjunction at one priority falls through to
 * the next, so the verdict is the same. */
#define NP_MAX_CONJ_PER_FLOW 3000
#define NP_MAX_BUCKETS 128

void
compile_cluster(const struct cluster *cluster,
                const struct compile_options *opts, struct np_flowset *out)
{
    unsigned int buckets = opts->buckets ? opts->buckets : 1;
    for (;;) {
        size_t max_conj = compile_once(cluster, opts, buckets, out);
        if (max_conj > NP_MAX_CONJ_PER_FLOW && buckets < NP_MAX_BUCKETS) {
            np_flowset_destroy(out);
            buckets *= 2;
        } else {
            if (max_conj > NP_MAX_CONJ_PER_FLOW) {
                char *msg = xasprintf("a flow carries %zu conjunction actions "
                                      "even over %u priorities: the switch "
                                      "may refuse it", max_conj, buckets);
                out->warnings = xrealloc(out->warnings, (out->n_warnings + 1)
                                         * sizeof *out->warnings);
                out->warnings[out->n_warnings++] = msg;
            }
            break;
        }
    }
}

void
np_flowset_destroy(struct np_flowset *fs)
{
    if (!fs) {
        return;
    }
    for (size_t i = 0; i < fs->n_flows; i++) {
        free(fs->flows[i].actions);
        free((char *) fs->flows[i].comment);
    }
    free(fs->flows);
    for (size_t i = 0; i < fs->n_warnings; i++) {
        free(fs->warnings[i]);
    }
    free(fs->warnings);
    for (size_t i = 0; i < fs->n_rejected; i++) {
        free(fs->rejected[i].policy);
        free(fs->rejected[i].message);
    }
    free(fs->rejected);
    for (size_t i = 0; i < fs->n_names; i++) {
        free(fs->names[i]);
    }
    free(fs->names);
    for (size_t i = 0; i < fs->n_strs_; i++) {
        free(fs->strs_[i]);
    }
    free(fs->strs_);
    memset(fs, 0, sizeof *fs);
}

void
np_flowset_print(const struct np_flowset *fs, FILE *stream)
{
    int last_table = -1;
    const char *last_comment = NULL;
    for (size_t i = 0; i < fs->n_flows; i++) {
        const struct np_flow *f = &fs->flows[i];
        if (f->table != last_table) {
            fprintf(stream, "# table %u: %s\n", f->table,
                    np_table_name(f->table - fs->table_base));
            last_table = f->table;
            last_comment = NULL;
        }
        /* A comment names the flows below it, up to the next comment. */
        const char *comment = f->comment;
        if (!comment && !strncmp(f->actions, "conjunction(", 12)) {
            comment = "conjunction clauses, shared by rules";
        }
        if (comment && (!last_comment || strcmp(comment, last_comment))) {
            fprintf(stream, "# %s\n", comment);
        }
        last_comment = comment;
        fprintf(stream, "table=%u, priority=%u, cookie=0x%"PRIx64", %s%s"
                "actions=%s\n", f->table, f->priority, f->cookie, f->match,
                *f->match ? " " : "", f->actions);
    }
}

void
np_flowset_count_tables(const struct np_flowset *fs, size_t counts[256])
{
    memset(counts, 0, 256 * sizeof *counts);
    for (size_t i = 0; i < fs->n_flows; i++) {
        counts[fs->flows[i].table]++;
    }
}

const char *
np_table_name(enum np_table t)
{
    static const char *const names[] = {
        [NPT_CLASSIFY] = "classify",
        [NPT_STATE] = "conntrack state",
        [NPT_SPOOF] = "spoof guard",
        [NPT_EGRESS] = "egress rules",
        [NPT_EGRESS_DEFAULT] = "egress default deny",
        [NPT_INGRESS] = "ingress rules",
        [NPT_INGRESS_DEFAULT] = "ingress default deny",
        [NPT_COMMIT] = "commit",
    };
    return (unsigned) t < NPT_N_TABLES ? names[t] : "?";
}
