/* The whole-cluster compiler's working state, shared by its files:
 *
 *   compile.c           the driver: one compile from ctx_init() to
 *                       ctx_finish(), policy by policy, and the output
 *   compile-select.c    pod selection: namespaces as selectors see them,
 *                       the label index, a rule's peers, the pods behind
 *                       an ipBlock
 *   compile-rules.c     a policy's rules: planned and counted against the
 *                       flow limit, then made into conjunctions
 *   compile-flows.c     flow building: interned matches, flows merged by
 *                       (table, priority, match), conjunction text
 *   compile-pipeline.c  what the tables hold besides rules (compile-gen.h,
 *                       shared with src/incr.c)
 *
 * Pod indexes are into 'pods', the cluster's pods in its order, for the
 * length of one compile.  Not an interface: only those files include it. */
#ifndef NP_COMPILE_CTX_H
#define NP_COMPILE_CTX_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "compile-gen.h"
#include "labels.h"
#include "strmap.h"

struct cluster;

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

/* Address 'ip' of pod 'pod'. */
struct pod_addr {
    struct ip_addr addr;
    size_t pod, ip;
};

struct ctx {
    const struct compile_options *opts;
    struct np_flowset *out;
    const struct k8s_pod *const *pods;
    size_t n_pods;
    bool *eligible;             /* May be selected as a pod peer. */
    bool *local;                /* Eligible and on this node. */
    size_t *pod_first_match;    /* Pod -> index of its first address. */
    struct family_set families; /* In the cluster; IPv4 if none. */
    struct np_ids *ids;         /* Conjunction ids. */
    struct np_ids *policy_ids;
    unsigned int buckets;       /* Rule priority levels. */
    bool audit_allow;           /* The policy compiled now: its namespace
                                 * audits what it allows. */

    /* Selection (compile-select.c). */
    struct ns_view *nss;
    size_t n_nss;
    struct strmap ns_by_name;   /* -> struct ns_view. */
    size_t *pod_ns;             /* Pod index -> index in 'nss'. */
    struct strmap peer_cache;   /* Selector text -> struct podlist. */
    struct strmap label_index;  /* "key=value" -> eligible pods, sorted. */
    bool label_index_built;
    bool no_label_index;        /* A compile of few selectors (the tiers'
                                 * rules alone): scanning the namespaces
                                 * they select beats indexing every pod's
                                 * labels. */
    struct pod_addr *addr_index;        /* Eligible pods' addresses, */
    size_t n_addr_index;                /* sorted; built on first use. */
    bool addr_index_built;
    uint32_t mark_gen;          /* Bumped once per set being built... */
    uint32_t *ns_mark;          /* ...per namespace, */
    uint32_t *mark;             /* per pod, */
    uint32_t *addr_mark;        /* per pod address (pod_first_match). */

    /* Flows (compile-flows.c).  A match is interned: an index into
     * 'strs'. */
    struct flowmap *flows;      /* (table, priority, match) -> flow. */
    struct strmap interned;     /* Match text -> id + 1. */
    char **strs;                /* Match id -> text. */
    size_t n_strs, allocated_strs;
    uint32_t *pod_matches[2];   /* Per field: every pod's match ids, */
    bool *pod_matched[2];       /* per pod once computed. */
};

/* compile.c. */

/* The number of the policy whose id key is 'key' (kept across compiles:
 * it goes into cookies), naming it 'name' (malloc'd; taken) in the
 * output. */
uint32_t ctx_policy_number(struct ctx *, const char *key, char *name);

/* Adds a warning to the output, e.g. an except list that blew up. */
void ctx_warn(struct ctx *, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* compile-select.c. */

void ctx_select_init(struct ctx *, const struct cluster *);
void ctx_select_destroy(struct ctx *);

/* Stores in 'selected' (room for every pod) the local pods policy 'np'
 * selects, in pod order; returns how many. */
size_t ctx_select_policy(struct ctx *, const struct k8s_netpol *np,
                         size_t *selected);

/* The peer-eligible pods, sorted, of the namespaces 'ns_sel' selects that
 * 'pod_sel' selects (NULL: all of them); valid for the compile. */
const size_t *ctx_select_pods(struct ctx *, const struct selector *ns_sel,
                              const struct selector *pod_sel, size_t *n);

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

void peers_resolve(struct ctx *, const struct k8s_netpol *,
                   const struct np_rule *, struct peers *);
void peers_list_cidrs(struct ctx *, const struct np_rule *, struct peers *,
                      const char *what);
void peers_destroy(struct peers *);

/* Pod addresses without repeats: one list at a time. */
struct dst_list {
    struct pod_addr *items;
    size_t n, allocated;
};

void dst_list_init(struct ctx *, struct dst_list *);
void dst_list_add_pod(struct ctx *, struct dst_list *, size_t pod);
void dst_list_add_blocks(struct ctx *, struct dst_list *,
                         const struct cidr *blocks, size_t n_blocks);
void dst_list_destroy(struct dst_list *);

/* compile-rules.c. */

char *compile_policy_rules(struct ctx *, const struct k8s_netpol *,
                           uint32_t pno, const size_t *selected,
                           size_t n_selected, size_t *needed)
    __attribute__((warn_unused_result));

/* compile-cnp.c: the ClusterNetworkPolicy tiers, whole; or their rules
 * alone, with the classes of 'cls' (cnp-class.h) and their misses, which
 * returns whether some policy's subject selects a local pod (else the
 * node needs no classifying flow). */
void compile_cnps(struct ctx *, const struct cluster *);
struct cnp_classes;
bool compile_cnp_rules(struct ctx *, const struct cluster *,
                       const struct cnp_classes *cls);

/* compile-flows.c. */

void ctx_flows_init(struct ctx *);
/* Moves the flows into c->out, sorted, and frees what building them took;
 * returns the most conjunction actions any one flow got. */
size_t ctx_flows_finish(struct ctx *);

/* np_gen's 'direct' for a struct ctx. */
void ctx_direct(void *ctx, uint8_t table, uint16_t priority, uint64_t cookie,
                const char *match, const char *actions, const char *comment);

enum addr_field { FIELD_SRC, FIELD_DST };

/* The interned matches of pod 'idx' on 'field', one per address. */
const uint32_t *ctx_pod_matches(struct ctx *, size_t idx, enum addr_field);

/* A dimension of a conjunction: a list of interned matches. */
struct conj_dim {
    uint32_t *matches;
    size_t n, allocated;
};

void conj_dim_add(struct conj_dim *, uint32_t match);
/* The interned id of match 'text'. */
uint32_t ctx_intern(struct ctx *, const char *text);
void conj_dim_add_pod(struct ctx *, struct conj_dim *, size_t idx,
                      enum addr_field);
void conj_dim_add_cidr(struct ctx *, struct conj_dim *, const struct cidr *,
                       enum addr_field);
/* Adds the port matches of one (protocol, port[-end]) entry of rule
 * 'what', warning about a range that takes many. */
void conj_dim_add_port(struct ctx *, struct conj_dim *, enum np_proto,
                       uint16_t port, uint16_t end_port, const char *what);
/* The same for every entry of 'ports' that is not a named port. */
void conj_dim_add_numeric_ports(struct ctx *, struct conj_dim *,
                                const struct np_port *ports, size_t n,
                                const char *what);
void conj_dim_destroy(struct conj_dim *);

/* One conjunction (or plain flow set) to emit. */
struct conj_spec {
    struct conj_dim dims[3];
    size_t n_dims;
};

/* Emits 'spec' in 'table' as the rule whose conjunction id is allocated
 * under 'rule_key'; nothing if a dimension is empty.  Returns the id, or
 * 0 when it emitted nothing. */
uint32_t conj_spec_emit(struct ctx *, uint8_t table, const char *rule_key,
                    bool ingress, uint64_t cookie, const char *comment,
                    struct conj_spec *);
/* The same at 'priority', with actions of the caller's: 'actions' for
 * what matches ("%ID" in it is replaced by the rule's id), or, with
 * 'est_actions', 'actions' for new connections and 'est_actions' for
 * established ones.  For the ClusterNetworkPolicy tiers. */
uint32_t conj_spec_emit_at(struct ctx *, uint8_t table, uint16_t priority,
                           const char *rule_key, uint64_t cookie,
                           const char *comment, struct conj_spec *,
                           const char *actions, const char *est_actions);
void conj_spec_destroy(struct conj_spec *);

#endif
