/* Pod selection for the whole-cluster compiler (see compile-ctx.h): which
 * pods a policy selects and which are a rule's peers.  Namespaces are
 * viewed as selectors see them, with the label the API server sets on
 * every one; a (namespaceSelector, podSelector) pair resolves to a sorted
 * list of peer-eligible pods, cached by the selectors' text; the pods
 * behind an ipBlock are found by address.  In OVN's terms, the address
 * sets. */
#include "compile-ctx.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "np-util.h"
#include "objects.h"

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

/* ---- Namespaces and the label index. ---- */

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

void
ctx_select_init(struct ctx *c, const struct cluster *cluster)
{
    ns_views_build(c, cluster);
    strmap_init(&c->peer_cache);
    c->mark = xcalloc(c->n_pods + 1, sizeof *c->mark);
    c->addr_mark = xcalloc(c->pod_first_match[c->n_pods] + 1,
                           sizeof *c->addr_mark);
}

void
ctx_select_destroy(struct ctx *c)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&c->peer_cache, &b); node;
         node = strmap_next(&c->peer_cache, node, &b)) {
        struct podlist *pl = node->value;
        free(pl->idx);
        free(pl);
    }
    strmap_destroy(&c->peer_cache);
    ns_views_destroy(c);
    free(c->mark);
    free(c->addr_mark);
    free(c->addr_index);
}

size_t
ctx_select_policy(struct ctx *c, const struct k8s_netpol *np,
                  size_t *selected)
{
    size_t n_selected = 0;
    const struct ns_view *v = strmap_get(&c->ns_by_name, np->namespace);
    for (size_t i = 0; v && i < v->n_pods; i++) {
        size_t idx = v->pods[i];
        if (c->local[idx]
            && selector_matches(&np->pod_selector, &c->pods[idx]->labels)) {
            selected[n_selected++] = idx;
        }
    }
    return n_selected;
}

/* ---- Selectors to pods. ---- */

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
        bool index = pod_sel && pod_sel->match_labels.n && !c->no_label_index;
        if (index) {
            label_index_build(c);
        }
        for (size_t i = 0; index && i < pod_sel->match_labels.n; i++) {
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

const size_t *
ctx_select_pods(struct ctx *c, const struct selector *ns_sel,
                const struct selector *pod_sel, size_t *n)
{
    const struct podlist *pl = resolve_pods(c, "", ns_sel, pod_sel);
    *n = pl->n;
    return pl->idx;
}

/* ---- Pods behind addresses: destinations of named ports. ---- */

void
dst_list_init(struct ctx *c, struct dst_list *dl)
{
    memset(dl, 0, sizeof *dl);
    c->mark_gen++;
}

void
dst_list_destroy(struct dst_list *dl)
{
    free(dl->items);
}

/* Adds address 'ip' of 'pod' unless the list has it (c->addr_mark against
 * c->mark_gen, which dst_list_init() bumped). */
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

void
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
void
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

/* Resolves the peers of 'rule': its pod peers, and its ipBlocks as
 * differences whose CIDRs are counted but not listed yet (counting is
 * cheap; listing a million is not, and the budget may refuse them). */
void
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
void
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
            ctx_warn(c, "%s: ipBlock %s with %zu excepts becomes %zu CIDRs",
                 what, b, peer->n_excepts, m);
        }
        assert(n + m <= p->n_cidrs);
        memcpy(&p->cidrs[n], list, m * sizeof *list);
        n += m;
        free(list);
    }
}

void
peers_destroy(struct peers *p)
{
    free(p->pods);
    for (size_t i = 0; i < p->n_diffs; i++) {
        cidr_diff_destroy(&p->diffs[i]);
    }
    free(p->diffs);
    free(p->cidrs);
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

uint16_t
np_pod_named_port(const struct k8s_pod *pod, const struct np_port *p)
{
    for (size_t j = 0; j < pod->n_ports; j++) {
        const struct container_port *cp = &pod->ports[j];
        if (cp->name && cp->proto == p->proto && !strcmp(cp->name, p->name)) {
            return cp->port;
        }
    }
    return 0;
}
