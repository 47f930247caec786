/* A policy's rules, for the whole-cluster compiler (see compile-ctx.h).
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
 * sets (compile-flows.c).
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
 * gets none, only its default deny (compile_policy_rules()). */
#include "compile-ctx.h"

#include <stdlib.h>
#include <string.h>
#include "np-util.h"
#include "objects.h"

/* ---- Planning: resolved and counted. ---- */

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

/* The matches conj_dim_add_port() makes for one 'ports' entry. */
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

    struct dst_list dsts;
    dst_list_init(c, &dsts);
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
    dst_list_destroy(&dsts);
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

/* ---- Making the flows. ---- */

/* Emits the flows of a planned rule of policy number 'pno', whose policy
 * selects the local pods 'selected'. */
/* The audit copy of what rule id 'id' (0: none) allows, if the policy's
 * namespace asks for it. */
static void
audit_allow(struct ctx *c, uint32_t pno, const struct rule_plan *plan,
            uint32_t id)
{
    if (id && c->audit_allow) {
        struct np_gen g = { c->opts, ctx_direct, c };
        np_gen_audit_allow(&g, plan->ingress, id, pno, plan->idx,
                           plan->what);
    }
}

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
    uint8_t table = np_tbl(c->opts, ingress ? NPT_INGRESS : NPT_EGRESS);
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
        struct conj_dim *d = &spec.dims[spec.n_dims++];
        for (size_t i = 0; i < n_selected; i++) {
            conj_dim_add_pod(c, d, selected[i], sel_field);
        }
        if (!peers->wildcard) {
            d = &spec.dims[spec.n_dims++];
            for (size_t i = 0; i < peers->n_pods; i++) {
                conj_dim_add_pod(c, d, peers->pods[i], peer_field);
            }
            for (size_t i = 0; i < peers->n_cidrs; i++) {
                conj_dim_add_cidr(c, d, &peers->cidrs[i], peer_field);
            }
        }
        if (rule->n_ports) {
            d = &spec.dims[spec.n_dims++];
            conj_dim_add_numeric_ports(c, d, rule->ports, rule->n_ports,
                                       what);
        }
        char *key = np_rule_key(np, ingress, rule_idx, NULL, 0);
        audit_allow(c, pno, plan,
                    conj_spec_emit(c, table, key, ingress, cookie, what,
                                   &spec));
        free(key);
        conj_spec_destroy(&spec);
    }

    /* Named ports: one conjunction per (name, number), whose destination
     * set holds the addresses that resolve the name to that number. */
    for (size_t i = 0; i < plan->n_hits; ) {
        const struct named_hit *h = &plan->hits[i];
        const struct np_port *p = plan->names[h->name];
        struct conj_spec spec = { .n_dims = 0 };
        struct conj_dim *dst = &spec.dims[spec.n_dims++];
        size_t j = i;
        for (; j < plan->n_hits && plan->hits[j].name == h->name
               && plan->hits[j].number == h->number; j++) {
            conj_dim_add(dst, ctx_pod_matches(c, plan->hits[j].pod,
                                         ingress ? sel_field
                                         : peer_field)[plan->hits[j].ip]);
        }
        struct conj_dim *d;
        if (ingress && !peers->wildcard) {
            d = &spec.dims[spec.n_dims++];
            for (size_t k = 0; k < peers->n_pods; k++) {
                conj_dim_add_pod(c, d, peers->pods[k], peer_field);
            }
            for (size_t k = 0; k < peers->n_cidrs; k++) {
                conj_dim_add_cidr(c, d, &peers->cidrs[k], peer_field);
            }
        } else if (!ingress) {
            d = &spec.dims[spec.n_dims++];
            for (size_t k = 0; k < n_selected; k++) {
                conj_dim_add_pod(c, d, selected[k], sel_field);
            }
        }
        d = &spec.dims[spec.n_dims++];
        conj_dim_add_port(c, d, p->proto, h->number, 0, what);
        char *key = np_rule_key(np, ingress, rule_idx, p, h->number);
        audit_allow(c, pno, plan,
                    conj_spec_emit(c, table, key, ingress, cookie, what,
                                   &spec));
        free(key);
        conj_spec_destroy(&spec);
        i = j;
    }
}

/* ---- A policy. ---- */

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
char *
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

/* ---- Names (compile-gen.h). ---- */

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

