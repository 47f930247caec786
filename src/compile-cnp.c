/* ClusterNetworkPolicy's tiers, for the whole-cluster compiler (see
 * compile-ctx.h and ovs/pipeline.md, "Tiers").
 *
 * Each direction is decided by the admin tier, then NetworkPolicy, then
 * the baseline tier (pipeline.h).  A tier is one table per direction.  Its
 * rules are laid out in the order they are evaluated: the tier's policies
 * by ascending 'priority', equal priorities by name (byte-wise; the API
 * leaves them undefined), and each policy's rules in order; each rule
 * gets its own OpenFlow priority, counting down from PRIO_TIER_FIRST, so
 * that the first rule that matches decides.  A rule is a conjunction, as a
 * NetworkPolicy rule is (compile-rules.c):
 *
 *   local pods its policy's subject selects  x  peers  x  ports
 *
 * with the subject on the source for egress and on the destination for
 * ingress.  Peers: the pods of 'namespaces' and 'pods' peers (never a
 * host-network pod), the CIDRs of 'networks', the addresses of the Nodes
 * 'nodes' selects.  A named port resolves on the destination pod: one
 * conjunction per number it resolves to.  What the rule does once it
 * matched:
 *
 *   Accept  the rule's id into reg0 (egress) or reg1 (ingress), and on to
 *           the ingress side (egress) or the commit (ingress), past
 *           NetworkPolicy and the baseline;
 *   Deny    a new connection is dropped; an established one is marked cut
 *           and dropped, as NetworkPolicy's default deny does;
 *   Pass    admin: on to NetworkPolicy; baseline: on past the baseline
 *           (what no tier decides is allowed).
 *
 * A rule that fails closed ('deny_all': a Deny or Pass rule with a peer we
 * cannot match) matches the subject alone and denies. */
#include "compile-ctx.h"

#include <inttypes.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "cnp.h"
#include "cnp-class.h"
#include "np-util.h"

/* ---- Names. ---- */

/* Numbers the policy for its cookies and names it in the output, as
 * policy_number() does for a NetworkPolicy; "cnp:" keeps the two kinds'
 * keys apart. */
static uint32_t
cnp_number(struct ctx *c, const struct k8s_cnp *cnp)
{
    char *key = xasprintf("cnp:%s", cnp->name);
    uint32_t pno = ctx_policy_number(c, key,
                                     xasprintf("%s %s", CNP_KIND, cnp->name));
    free(key);
    return pno;
}

static char *
cnp_rule_what(const struct k8s_cnp *cnp, bool ingress, size_t idx)
{
    const struct cnp_rule *r = &(ingress ? cnp->ingress : cnp->egress)[idx];
    char *name = cnp_rule_name_text(r);
    char *s = xasprintf("%s %s (%s tier, priority %d) %s rule %zu%s: %s",
                        CNP_KIND, cnp->name, cnp_tier_name(cnp->tier),
                        cnp->priority, ingress ? "ingress" : "egress", idx,
                        name, cnp_rule_action_text(cnp, r));
    free(name);
    return s;
}

static char *
cnp_rule_key(const struct k8s_cnp *cnp, bool ingress, size_t idx,
             const struct np_port *named, uint16_t number)
{
    char dir = ingress ? 'i' : 'e';
    return (named
            ? xasprintf("cnp:%s|%c|%zu|%s/%s=%u", cnp->name, dir, idx,
                        named->name, np_proto_name(named->proto), number)
            : xasprintf("cnp:%s|%c|%zu|#", cnp->name, dir, idx));
}

/* ---- Actions. ---- */

struct rule_actions {
    char actions[128];          /* "%ID" for the rule's id. */
    char est[NP_CUT_ACTION_MAX];
    bool deny;                  /* 'est' applies. */
};

static void
rule_actions(const struct compile_options *o, enum cnp_tier tier,
             enum cnp_action action, bool ingress, struct rule_actions *ra)
{
    ra->deny = action == CNP_DENY;
    ra->est[0] = '\0';
    /* Past this direction: on to the ingress side, or to the commit. */
    unsigned int past = np_tbl(o, ingress ? NPT_COMMIT : NPT_ADMIN_INGRESS);
    switch (action) {
    case CNP_ACCEPT:
        snprintf(ra->actions, sizeof ra->actions,
                 "set_field:%%ID->%s,goto_table:%u",
                 ingress ? "reg1" : "reg0", past);
        break;
    case CNP_DENY:
        snprintf(ra->actions, sizeof ra->actions, "drop");
        np_cut_action(o, ra->est);
        break;
    case CNP_PASS:
        snprintf(ra->actions, sizeof ra->actions, "goto_table:%u",
                 tier == CNP_TIER_ADMIN
                 ? np_tbl(o, ingress ? NPT_INGRESS : NPT_EGRESS) : past);
        break;
    }
}

/* ---- Peers. ---- */

/* Adds the pods of 'sel' to 'pods'. */
static void
add_peer_pods(struct ctx *c, const struct cnp_pods *sel, size_t **pods,
              size_t *n, size_t *allocated)
{
    size_t n_idx;
    const size_t *idx = ctx_select_pods(c, &sel->ns_selector,
                                        &sel->pod_selector, &n_idx);
    for (size_t i = 0; i < n_idx; i++) {
        APPEND(*pods, *n, *allocated, idx[i]);
    }
}

static int
compare_size_t(const void *a_, const void *b_)
{
    size_t a = *(const size_t *) a_, b = *(const size_t *) b_;
    return a < b ? -1 : a > b;
}

/* ---- Peer classes (cnp-class.h). ---- */

/* A register clause: "reg2=0x4/0x4". */
static void
pclass_match(bool ingress, int bit, char buf[48])
{
    uint32_t b = UINT32_C(1) << bit;
    snprintf(buf, 48, "reg%d=%#"PRIx32"/%#"PRIx32, ingress ? 3 : 2, b, b);
}

struct class_addr {
    struct ip_addr addr;
    uint32_t mask;
};

static int
compare_class_addrs(const void *a_, const void *b_)
{
    const struct class_addr *a = a_, *b = b_;
    return ip_addr_cmp(&a->addr, &b->addr);
}

/* The classes of the cluster's policies 'cnps', counted over its eligible
 * pods, with their bits; '*members' gets each pod's slots,
 * CNP_CLASS_WORDS(cls->n_slots) words a pod. */
static void
classes_count(struct ctx *c, const struct k8s_cnp *const *cnps, size_t n,
              struct cnp_classes *cls, uint64_t **members)
{
    cnp_classes_init(cls);
    cnp_classes_sync(cls, cnps, n, NULL, NULL, NULL, NULL);
    size_t words = CNP_CLASS_WORDS(cls->n_slots);
    *members = xcalloc(c->n_pods * words + 1, sizeof **members);
    for (size_t i = 0; i < c->n_pods; i++) {
        if (!c->eligible[i]) {
            continue;
        }
        const struct labels *nsl = &c->nss[c->pod_ns[i]].labels;
        for (size_t s = 0; s < cls->n_slots; s++) {
            struct cnp_class *cl = cls->slots[s];
            if (cnp_class_selects(cl, nsl, &c->pods[i]->labels)) {
                (*members)[i * words + s / 64] |= UINT64_C(1) << (s % 64);
                cl->n_addrs += c->pods[i]->n_ips;
            }
        }
    }
    cnp_classes_assign(cls, c->opts->peer_class_min);
}

/* The classifying flows of the addresses of pods in some class: each
 * address gets the union of its pods' classes. */
static void
classes_emit(struct ctx *c, const struct cnp_classes *cls,
             const uint64_t *members, bool ingress)
{
    if (!cls->mask[ingress]) {
        return;
    }
    size_t words = CNP_CLASS_WORDS(cls->n_slots);
    struct class_addr *v = NULL;
    size_t n = 0, allocated = 0;
    for (size_t i = 0; i < c->n_pods; i++) {
        uint32_t mask = cnp_classes_mask(cls, ingress, &members[i * words],
                                         words);
        for (size_t j = 0; mask && j < c->pods[i]->n_ips; j++) {
            struct class_addr ca = { c->pods[i]->ips[j], mask };
            APPEND(v, n, allocated, ca);
        }
    }
    np_qsort(v, n, sizeof *v, compare_class_addrs);
    struct np_gen g = { c->opts, ctx_direct, c };
    for (size_t i = 0; i < n; ) {
        uint32_t mask = v[i].mask;
        size_t j = i + 1;
        for (; j < n && !ip_addr_cmp(&v[j].addr, &v[i].addr); j++) {
            mask |= v[j].mask;
        }
        np_gen_class_addr(&g, &v[i].addr, ingress, mask);
        i = j;
    }
    free(v);
}

/* Sorts 'pods' and drops repeats; returns how many remain. */
static size_t
unique_pods(size_t *pods, size_t n)
{
    np_qsort(pods, n, sizeof *pods, compare_size_t);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!m || pods[m - 1] != pods[i]) {
            pods[m++] = pods[i];
        }
    }
    return m;
}

/* The other end of a rule: classes, pods, CIDRs and node addresses. */
struct cnp_peers {
    int *bits;                  /* Classes. */
    size_t n_bits, allocated_bits;
    size_t *pods;               /* Pods of the peers that are no class. */
    size_t n_pods, allocated_pods;
    size_t *all;                /* With 'all_pods': of every pod peer. */
    size_t n_all, allocated_all;
    struct cidr *cidrs;
    size_t n_cidrs, allocated_cidrs;
};

/* Resolves 'rule''s peers into 'p'; with 'all_pods' (named ports in
 * egress: the destinations that resolve them), the pods of classes too. */
static void
cnp_peers_resolve(struct ctx *c, const struct cluster *cluster,
                  const struct cnp_classes *cls, bool ingress,
                  const struct cnp_rule *rule, bool all_pods,
                  struct cnp_peers *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < rule->n_peers; i++) {
        const struct cnp_peer *peer = &rule->peers[i];
        switch (peer->kind) {
        case CNP_PEER_NAMESPACES:
        case CNP_PEER_PODS: {
            const struct cnp_class *cl = cnp_classes_find(cls, ingress,
                                                          &peer->sel);
            if (cl && cl->bit >= 0) {
                APPEND(p->bits, p->n_bits, p->allocated_bits, cl->bit);
            }
            if (!cl || cl->bit < 0) {
                add_peer_pods(c, &peer->sel, &p->pods, &p->n_pods,
                              &p->allocated_pods);
            }
            if (all_pods) {
                add_peer_pods(c, &peer->sel, &p->all, &p->n_all,
                              &p->allocated_all);
            }
            break;
        }
        case CNP_PEER_NETWORKS:
            for (size_t j = 0; j < peer->n_networks; j++) {
                APPEND(p->cidrs, p->n_cidrs, p->allocated_cidrs,
                       peer->networks[j]);
            }
            break;
        case CNP_PEER_NODES: {
            size_t n_nodes;
            const struct k8s_node *const *nodes = cluster_nodes(cluster,
                                                                &n_nodes);
            for (size_t j = 0; j < n_nodes; j++) {
                if (!selector_matches(&peer->node_selector,
                                      &nodes[j]->labels)) {
                    continue;
                }
                for (size_t k = 0; k < nodes[j]->n_ips; k++) {
                    struct cidr h = {
                        .addr = nodes[j]->ips[k],
                        .plen = cidr_max_plen(nodes[j]->ips[k].family),
                    };
                    APPEND(p->cidrs, p->n_cidrs, p->allocated_cidrs, h);
                }
            }
            break;
        }
        case CNP_PEER_DOMAIN_NAMES:
        case CNP_PEER_UNKNOWN:
            break;              /* Match nothing (cnp.h, "Fail closed"). */
        }
    }
    /* Peers may select a pod twice: once in the set is enough. */
    p->n_pods = unique_pods(p->pods, p->n_pods);
    p->n_all = unique_pods(p->all, p->n_all);
}

static void
cnp_peers_destroy(struct cnp_peers *p)
{
    free(p->bits);
    free(p->all);
    free(p->pods);
    free(p->cidrs);
}

static void
dim_add_peers(struct ctx *c, struct conj_dim *d, const struct cnp_peers *p,
              enum addr_field field)
{
    for (size_t i = 0; i < p->n_bits; i++) {
        char match[48];
        pclass_match(field == FIELD_SRC, p->bits[i], match);
        conj_dim_add(d, ctx_intern(c, match));
    }
    for (size_t i = 0; i < p->n_pods; i++) {
        conj_dim_add_pod(c, d, p->pods[i], field);
    }
    for (size_t i = 0; i < p->n_cidrs; i++) {
        conj_dim_add_cidr(c, d, &p->cidrs[i], field);
    }
}

static void
dim_add_pods(struct ctx *c, struct conj_dim *d, const size_t *pods, size_t n,
             enum addr_field field)
{
    for (size_t i = 0; i < n; i++) {
        conj_dim_add_pod(c, d, pods[i], field);
    }
}

/* ---- A rule. ---- */

/* Where a named port resolves: pod 'pod' gives it number 'number'. */
struct named_dst {
    uint16_t number;
    size_t pod;
};

static int
compare_named_dsts(const void *a_, const void *b_)
{
    const struct named_dst *a = a_, *b = b_;
    return (a->number != b->number ? (a->number < b->number ? -1 : 1)
            : a->pod < b->pod ? -1 : a->pod > b->pod);
}


struct cnp_emit {
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    const char *what;
    const struct rule_actions *ra;
};

static void
emit(struct ctx *c, const struct cnp_emit *e, const char *key,
     struct conj_spec *spec)
{
    conj_spec_emit_at(c, e->table, e->priority, key, e->cookie, e->what,
                      spec, e->ra->actions, e->ra->deny ? e->ra->est : NULL);
    conj_spec_destroy(spec);
}

/* Rule 'idx' of 'cnp' in direction 'ingress' at 'priority'; with
 * 'left_out', all of the policy's rules of that direction, which did not
 * fit in the tier, as a Deny of every connection of its subject. */
static void
compile_cnp_rule(struct ctx *c, const struct cluster *cluster,
                 const struct cnp_classes *cls,
                 const struct k8s_cnp *cnp, uint32_t pno, bool ingress,
                 size_t idx, uint16_t priority, const size_t *subject,
                 size_t n_subject, bool left_out)
{
    const struct cnp_rule *rule = &(ingress ? cnp->ingress : cnp->egress)[idx];
    enum addr_field sub_field = ingress ? FIELD_DST : FIELD_SRC;
    enum addr_field peer_field = ingress ? FIELD_SRC : FIELD_DST;
    bool admin = cnp->tier == CNP_TIER_ADMIN;
    bool deny_all = rule->deny_all || left_out;
    struct rule_actions ra;
    rule_actions(c->opts, cnp->tier, deny_all ? CNP_DENY : rule->action,
                 ingress, &ra);
    struct np_cookie ck = {
        .generation = c->opts->generation, .kind = NPC_CNP, .policy = pno,
        .ingress = ingress, .rule = idx,
    };
    char *what = (left_out
                  ? xasprintf("%s %s (%s tier, priority %d) %s rules: left "
                              "out (the tier has more than %d before "
                              "them): Deny (fails closed: every connection)",
                              CNP_KIND, cnp->name, cnp_tier_name(cnp->tier),
                              cnp->priority, ingress ? "ingress" : "egress",
                              PRIO_TIER_FIRST - PRIO_TIER_LAST + 1)
                  : cnp_rule_what(cnp, ingress, idx));
    struct cnp_emit e = {
        .table = np_tbl(c->opts, (admin
                                  ? (ingress ? NPT_ADMIN_INGRESS
                                     : NPT_ADMIN_EGRESS)
                                  : (ingress ? NPT_BASELINE_INGRESS
                                     : NPT_BASELINE_EGRESS))),
        .priority = priority,
        .cookie = np_cookie_encode(&ck),
        .what = what,
        .ra = &ra,
    };

    if (deny_all) {
        struct conj_spec spec = { .n_dims = 1 };
        dim_add_pods(c, &spec.dims[0], subject, n_subject, sub_field);
        char *key = cnp_rule_key(cnp, ingress, idx, NULL, 0);
        emit(c, &e, key, &spec);
        free(key);
        free(what);
        return;
    }

    struct cnp_peers peers;
    bool named = false;
    for (size_t i = 0; i < rule->n_ports; i++) {
        named |= rule->ports[i].name != NULL;
    }
    cnp_peers_resolve(c, cluster, cls, ingress, rule, named && !ingress,
                      &peers);

    /* Numeric ports, or none (every port of every protocol): one
     * conjunction. */
    size_t n_numeric = 0;
    for (size_t i = 0; i < rule->n_ports; i++) {
        n_numeric += !rule->ports[i].name;
    }
    if (n_numeric || !rule->n_ports) {
        struct conj_spec spec = { .n_dims = 2 };
        dim_add_pods(c, &spec.dims[0], subject, n_subject, sub_field);
        dim_add_peers(c, &spec.dims[1], &peers, peer_field);
        if (rule->n_ports) {
            conj_dim_add_numeric_ports(c, &spec.dims[spec.n_dims++],
                                       rule->ports, rule->n_ports, what);
        }
        char *key = cnp_rule_key(cnp, ingress, idx, NULL, 0);
        emit(c, &e, key, &spec);
        free(key);
    }

    /* Named ports: on the destination, the subject's pods for ingress,
     * the peer pods for egress (validation refuses a named port in an
     * egress rule with other peers). */
    const size_t *dsts = ingress ? subject : peers.all;
    size_t n_dsts = ingress ? n_subject : peers.n_all;
    struct named_dst *hits = xmalloc((n_dsts + 1) * sizeof *hits);
    for (size_t i = 0; i < rule->n_ports; i++) {
        const struct np_port *p = &rule->ports[i];
        if (!p->name) {
            continue;
        }
        size_t n_hits = 0;
        for (size_t j = 0; j < n_dsts; j++) {
            uint16_t number = np_pod_named_port(c->pods[dsts[j]], p);
            if (number) {
                hits[n_hits++] = (struct named_dst) { number, dsts[j] };
            }
        }
        np_qsort(hits, n_hits, sizeof *hits, compare_named_dsts);
        for (size_t j = 0; j < n_hits; ) {
            size_t k = j;
            struct conj_spec spec = { .n_dims = 3 };
            struct conj_dim *dst = &spec.dims[ingress ? 0 : 1];
            for (; k < n_hits && hits[k].number == hits[j].number; k++) {
                conj_dim_add_pod(c, dst, hits[k].pod, FIELD_DST);
            }
            if (ingress) {
                dim_add_peers(c, &spec.dims[1], &peers, peer_field);
            } else {
                dim_add_pods(c, &spec.dims[0], subject, n_subject,
                             sub_field);
            }
            conj_dim_add_port(c, &spec.dims[2], p->proto, hits[j].number, 0,
                              what);
            char *key = cnp_rule_key(cnp, ingress, idx, p, hits[j].number);
            emit(c, &e, key, &spec);
            free(key);
            j = k;
        }
    }
    free(hits);
    cnp_peers_destroy(&peers);
    free(what);
}

/* ---- Address families. ---- */

struct families_aux {
    const struct k8s_node *const *nodes;
    size_t n_nodes;
    bool *v4, *v6;
};

static void
families_peer(void *aux_, const struct k8s_cnp *cnp, bool ingress,
              const struct cnp_rule *rule, const struct cnp_peer *peer)
{
    struct families_aux *aux = aux_;
    (void) cnp;
    (void) ingress;
    (void) rule;
    for (size_t j = 0; j < peer->n_networks; j++) {
        *(peer->networks[j].addr.family == AF_INET6 ? aux->v6 : aux->v4)
            = true;
    }
    for (size_t j = 0; peer->kind == CNP_PEER_NODES && j < aux->n_nodes;
         j++) {
        const struct k8s_node *node = aux->nodes[j];
        if (selector_matches(&peer->node_selector, &node->labels)) {
            for (size_t a = 0; a < node->n_ips; a++) {
                *(node->ips[a].family == AF_INET6 ? aux->v6 : aux->v4)
                    = true;
            }
        }
    }
}

void
np_cnp_families(const struct cluster *cluster, bool *v4, bool *v6)
{
    size_t n;
    const struct k8s_cnp *const *cnps = cluster_cnps(cluster, &n);
    struct families_aux aux = { .v4 = v4, .v6 = v6 };
    aux.nodes = cluster_nodes(cluster, &aux.n_nodes);
    for (size_t i = 0; i < n; i++) {
        cnp_for_each_peer(cnps[i], families_peer, &aux);
    }
}

/* ---- The tiers. ---- */

bool
compile_cnp_rules(struct ctx *c, const struct cluster *cluster,
                  const struct cnp_classes *cls)
{
    size_t n;
    const struct k8s_cnp *const *all = cluster_cnps(cluster, &n);
    if (!n) {
        return false;
    }
    const struct k8s_cnp **cnps = xmalloc(n * sizeof *cnps);
    memcpy(cnps, all, n * sizeof *cnps);
    np_qsort(cnps, n, sizeof *cnps, cnp_compare_order);

    /* Every policy is numbered, also one that selects no local pod: its
     * number names it in 'trace' on any node. */
    uint32_t *pnos = xmalloc(n * sizeof *pnos);
    size_t **subjects = xcalloc(n, sizeof *subjects);
    size_t *n_subjects = xcalloc(n, sizeof *n_subjects);
    /* Subjects are local pods: a node has few of a cluster's. */
    size_t *local = xmalloc((c->n_pods + 1) * sizeof *local);
    size_t n_local = 0;
    for (size_t i = 0; i < c->n_pods; i++) {
        if (c->local[i]) {
            local[n_local++] = i;
        }
    }
    bool any_subject = false;
    for (size_t i = 0; i < n; i++) {
        const struct k8s_cnp *cnp = cnps[i];
        pnos[i] = cnp_number(c, cnp);
        for (size_t w = 0; w < cnp->n_warnings; w++) {
            ctx_warn(c, "%s", cnp->warnings[w]);
        }
        const struct cnp_pods *sel = &cnp->subject.sel;
        subjects[i] = xmalloc((n_local + 1) * sizeof *subjects[i]);
        for (size_t j = 0; j < n_local; j++) {
            size_t k = local[j];
            if (selector_matches(&sel->ns_selector,
                                 &c->nss[c->pod_ns[k]].labels)
                && selector_matches(&sel->pod_selector,
                                    &c->pods[k]->labels)) {
                subjects[i][n_subjects[i]++] = k;
            }
        }
        any_subject |= n_subjects[i] > 0;
    }
    free(local);

    if (any_subject) {
        struct np_gen g = { c->opts, ctx_direct, c };
        for (int ingress = 0; ingress < 2; ingress++) {
            if (cls->mask[ingress]) {
                np_gen_class_miss(&g, ingress);
            }
        }
    }

    for (int tier = CNP_TIER_ADMIN; tier <= CNP_TIER_BASELINE; tier++) {
        for (int ingress = 0; ingress < 2; ingress++) {
            unsigned int priority = PRIO_TIER_FIRST;
            bool left_out = false;
            for (size_t i = 0; i < n; i++) {
                const struct k8s_cnp *cnp = cnps[i];
                size_t n_rules = ingress ? cnp->n_ingress : cnp->n_egress;
                if (cnp->tier != (enum cnp_tier) tier || !n_rules) {
                    continue;
                }
                if (left_out || priority < PRIO_TIER_LAST + n_rules - 1) {
                    /* Too many rules in one tier and direction: what comes
                     * after them cannot be ordered below them.  Leaving it
                     * out would drop its Deny rules; so it denies, after
                     * every rule that fits, and so does every policy
                     * after it (one that fits would come first). */
                    left_out = true;
                    ctx_warn(c, "%s %s: the %s tier has more than %d %s "
                             "rules before it: its %s rules are left out, "
                             "and it denies every %s connection of its "
                             "subject instead (fail closed)",
                             CNP_KIND, cnp->name, cnp_tier_name(cnp->tier),
                             PRIO_TIER_FIRST - PRIO_TIER_LAST + 1,
                             ingress ? "ingress" : "egress",
                             ingress ? "ingress" : "egress",
                             ingress ? "incoming" : "outgoing");
                    if (n_subjects[i]) {
                        compile_cnp_rule(c, cluster, cls, cnp, pnos[i],
                                         ingress, 0, PRIO_TIER_LEFT_OUT,
                                         subjects[i], n_subjects[i], true);
                    }
                    continue;
                }
                for (size_t r = 0; r < n_rules; r++, priority--) {
                    if (n_subjects[i]) {
                        compile_cnp_rule(c, cluster, cls, cnp, pnos[i],
                                         ingress, r,
                                         priority, subjects[i],
                                         n_subjects[i], false);
                    }
                }
            }
        }
    }

    for (size_t i = 0; i < n; i++) {
        free(subjects[i]);
    }
    free(subjects);
    free(n_subjects);
    free(pnos);
    free(cnps);
    return any_subject;
}

void
compile_cnps(struct ctx *c, const struct cluster *cluster)
{
    size_t n;
    const struct k8s_cnp *const *cnps = cluster_cnps(cluster, &n);
    if (!n) {
        return;
    }
    struct cnp_classes cls;
    uint64_t *members;
    classes_count(c, cnps, n, &cls, &members);
    if (compile_cnp_rules(c, cluster, &cls)) {
        classes_emit(c, &cls, members, false);
        classes_emit(c, &cls, members, true);
    }
    free(members);
    cnp_classes_destroy(&cls);
}
