/* Peer classes of ClusterNetworkPolicy rules: see cnp-class.h. */
#include "cnp-class.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "compile-gen.h"
#include "labels.h"
#include "np-util.h"
#include "pipeline.h"

void
cnp_classes_init(struct cnp_classes *cls)
{
    memset(cls, 0, sizeof *cls);
    strmap_init(&cls->idx);
}

static void
class_free(struct cnp_class *cl)
{
    if (cl) {
        free(cl->key);
        selector_destroy(&cl->sel.ns_selector);
        selector_destroy(&cl->sel.pod_selector);
        free(cl);
    }
}

void
cnp_classes_destroy(struct cnp_classes *cls)
{
    for (size_t i = 0; i < cls->n_slots; i++) {
        class_free(cls->slots[i]);
    }
    free(cls->slots);
    strmap_destroy(&cls->idx);
}

/* 'e' or 'i', then the selectors' text. */
static char *
class_key(bool ingress, const struct cnp_pods *sel)
{
    char *ns = selector_to_string(&sel->ns_selector);
    char *pod = selector_to_string(&sel->pod_selector);
    char *key = xasprintf("%c%s|%s", ingress ? 'i' : 'e', ns, pod);
    free(ns);
    free(pod);
    return key;
}

struct sync_aux {
    struct cnp_classes *cls;
    size_t **added, *n_added, allocated_added;
};

static void
sync_peer(void *aux_, const struct k8s_cnp *cnp, bool ingress,
          const struct cnp_rule *rule, const struct cnp_peer *peer)
{
    struct sync_aux *aux = aux_;
    struct cnp_classes *cls = aux->cls;
    (void) cnp;
    if (rule->deny_all || (peer->kind != CNP_PEER_NAMESPACES
                           && peer->kind != CNP_PEER_PODS)) {
        return;
    }
    char *key = class_key(ingress, &peer->sel);
    bool created;
    void **slot = strmap_slot(&cls->idx, key, &created);
    struct cnp_class *cl;
    if (created) {
        cl = xcalloc(1, sizeof *cl);
        cl->key = key;
        cl->ingress = ingress;
        selector_clone(&cl->sel.ns_selector, &peer->sel.ns_selector);
        selector_clone(&cl->sel.pod_selector, &peer->sel.pod_selector);
        cl->bit = -1;
        size_t s = 0;
        while (s < cls->n_slots && cls->slots[s]) {
            s++;
        }
        if (s == cls->n_slots) {
            cls->slots = xrealloc(cls->slots,
                                  (cls->n_slots + 1) * sizeof *cls->slots);
            cls->n_slots++;
        }
        cls->slots[s] = cl;
        *slot = (void *) (uintptr_t) (s + 1);
        if (aux->added) {
            APPEND(*aux->added, *aux->n_added, aux->allocated_added, s);
        }
    } else {
        free(key);
        cl = cls->slots[(uintptr_t) *slot - 1];
    }
    cl->seen = true;
    for (size_t i = 0; !ingress && i < rule->n_ports; i++) {
        cl->named_now |= rule->ports[i].name != NULL;
    }
}

bool
cnp_classes_sync(struct cnp_classes *cls, const struct k8s_cnp *const *cnps,
                 size_t n, size_t **added, size_t *n_added,
                 size_t **removed, size_t *n_removed)
{
    size_t n_before = cls->n_slots;
    bool *was = xmalloc((n_before + 1) * sizeof *was);
    for (size_t s = 0; s < n_before; s++) {
        was[s] = cls->slots[s] != NULL;
        if (cls->slots[s]) {
            cls->slots[s]->seen = cls->slots[s]->named_now = false;
        }
    }
    struct sync_aux aux = { .cls = cls, .added = added, .n_added = n_added,
                            .allocated_added = added ? *n_added : 0 };
    for (size_t i = 0; i < n; i++) {
        cnp_for_each_peer(cnps[i], sync_peer, &aux);
    }
    bool changed = false;
    size_t allocated_removed = removed ? *n_removed : 0;
    for (size_t s = 0; s < cls->n_slots; s++) {
        struct cnp_class *cl = cls->slots[s];
        if (!cl) {
            continue;
        }
        if (!cl->seen) {
            strmap_remove(&cls->idx, cl->key);
            class_free(cl);
            cls->slots[s] = NULL;
            if (removed) {
                APPEND(*removed, *n_removed, allocated_removed, s);
            }
            changed = true;
            continue;
        }
        /* New (a slot free before, or past the end), or its flag. */
        changed |= (s >= n_before || !was[s]
                    || cl->named_egress != cl->named_now);
        cl->named_egress = cl->named_now;
    }
    free(was);
    return changed;
}

static int
compare_classes(const void *a_, const void *b_)
{
    const struct cnp_class *a = *(const struct cnp_class *const *) a_;
    const struct cnp_class *b = *(const struct cnp_class *const *) b_;
    return strcmp(a->key, b->key);
}

/* The bit a class would rather have: a function of its key alone, so
 * that a class that comes or goes moves few others (numbered in order, a
 * new class would renumber every class after it, and the classifying flow
 * of every address in them would change). */
static int
preferred_bit(const char *key)
{
    uint32_t h = 2166136261u;           /* FNV-1a. */
    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return h % NP_PEER_CLASS_BITS;
}

int
cnp_class_rank(const struct cnp_class *cl)
{
    return cl->n_addrs ? 63 - __builtin_clzll(cl->n_addrs) : -1;
}

/* Who keeps a bit that two classes would rather have: the larger (by
 * order of magnitude, so that two close sizes do not trade it back and
 * forth), whose members are more flows to change; then the key. */
static int
compare_placement(const void *a_, const void *b_)
{
    const struct cnp_class *a = *(const struct cnp_class *const *) a_;
    const struct cnp_class *b = *(const struct cnp_class *const *) b_;
    int ra = cnp_class_rank(a), rb = cnp_class_rank(b);
    return ra != rb ? (ra > rb ? -1 : 1) : strcmp(a->key, b->key);
}

bool
cnp_classes_assign(struct cnp_classes *cls, unsigned int min)
{
    struct cnp_class **v = xmalloc((cls->n_slots + 1) * sizeof *v);
    size_t n = 0;
    for (size_t s = 0; s < cls->n_slots; s++) {
        if (cls->slots[s]) {
            v[n++] = cls->slots[s];
        }
    }
    /* Who gets a bit when more than NP_PEER_CLASS_BITS qualify: the first
     * in the order of the keys, which begin with the direction, so each
     * direction's classes are a run of their own. */
    np_qsort(v, n, sizeof *v, compare_classes);
    struct cnp_class **chosen = xmalloc((n + 1) * sizeof *chosen);
    size_t n_chosen = 0;
    int given[2] = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        struct cnp_class *cl = v[i];
        if (min && cl->n_addrs >= min
            && given[cl->ingress] < NP_PEER_CLASS_BITS) {
            given[cl->ingress]++;
            chosen[n_chosen++] = cl;
        }
    }
    /* Which: its preferred bit, or the next free one. */
    np_qsort(chosen, n_chosen, sizeof *chosen, compare_placement);
    cls->mask[0] = cls->mask[1] = 0;
    int *bits = xmalloc((n + 1) * sizeof *bits);
    for (size_t i = 0; i < n; i++) {
        bits[i] = v[i]->bit;
        v[i]->bit = -1;
    }
    for (size_t i = 0; i < n_chosen; i++) {
        struct cnp_class *cl = chosen[i];
        int d = cl->ingress;
        int bit = preferred_bit(cl->key);
        while (cls->mask[d] & (UINT32_C(1) << bit)) {
            bit = (bit + 1) % NP_PEER_CLASS_BITS;
        }
        cls->mask[d] |= UINT32_C(1) << bit;
        cl->bit = bit;
    }
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        changed |= bits[i] != v[i]->bit;
    }
    free(bits);
    free(chosen);
    free(v);
    return changed;
}

bool
cnp_class_selects(const struct cnp_class *cl, const struct labels *nsl,
                  const struct labels *pl)
{
    return (selector_matches(&cl->sel.ns_selector, nsl)
            && selector_matches(&cl->sel.pod_selector, pl));
}

const struct cnp_class *
cnp_classes_find(const struct cnp_classes *cls, bool ingress,
                 const struct cnp_pods *sel)
{
    char *key = class_key(ingress, sel);
    uintptr_t s = (uintptr_t) strmap_get(&cls->idx, key);
    free(key);
    return s ? cls->slots[s - 1] : NULL;
}

uint32_t
cnp_classes_mask(const struct cnp_classes *cls, bool ingress,
                 const uint64_t *members, size_t n_words)
{
    uint32_t mask = 0;
    for (size_t w = 0; w < n_words; w++) {
        for (uint64_t bits = members[w]; bits; bits &= bits - 1) {
            size_t s = w * 64 + __builtin_ctzll(bits);
            const struct cnp_class *cl = (s < cls->n_slots ? cls->slots[s]
                                          : NULL);
            if (cl && cl->ingress == ingress && cl->bit >= 0) {
                mask |= UINT32_C(1) << cl->bit;
            }
        }
    }
    return mask;
}

bool
cnp_classes_in_rules(const struct cnp_classes *cls, const uint64_t *members,
                     size_t n_words)
{
    for (size_t w = 0; w < n_words; w++) {
        for (uint64_t bits = members[w]; bits; bits &= bits - 1) {
            size_t s = w * 64 + __builtin_ctzll(bits);
            const struct cnp_class *cl = (s < cls->n_slots ? cls->slots[s]
                                          : NULL);
            if (cl && (cl->bit < 0 || cl->named_egress)) {
                return true;
            }
        }
    }
    return false;
}

/* ---- Flows. ---- */

static void
class_flow(const struct np_gen *g, bool ingress, uint16_t priority,
           const char *host, uint32_t mask, const char *comment)
{
    uint8_t t = np_tbl(g->opts, ingress ? NPT_ADMIN_INGRESS
                       : NPT_ADMIN_EGRESS);
    int reg = ingress ? 3 : 2;
    char match[NP_MATCH_MAX + 32], actions[96];
    snprintf(match, sizeof match, "reg%d=0/%#"PRIx32"%s%s", reg,
             (uint32_t) NP_PEER_CLASS_FLAG, host ? "," : "",
             host ? host : "");
    snprintf(actions, sizeof actions,
             "set_field:%#"PRIx32"->reg%d,resubmit(,%u)",
             mask | NP_PEER_CLASS_FLAG, reg, t);
    g->direct(g->aux, t, priority, np_cookie(g->opts, NPC_INFRA, 0, 0),
              match, actions, comment);
}

void
np_gen_class_addr(const struct np_gen *g, const struct ip_addr *addr,
                  bool ingress, uint32_t mask)
{
    char host[NP_MATCH_MAX];
    np_host_match(addr, !ingress, host);
    class_flow(g, ingress, PRIO_TIER_CLASS, host, mask,
               (ingress
                ? "the classes of the source address, for "
                  "ClusterNetworkPolicy peers"
                : "the classes of the destination address, for "
                  "ClusterNetworkPolicy peers"));
}

void
np_gen_class_miss(const struct np_gen *g, bool ingress)
{
    class_flow(g, ingress, PRIO_TIER_CLASS_MISS, NULL, 0,
               "an address in no class");
}
