/* The flows both compilers make: src/compile.c, which compiles a whole
 * cluster at once, and src/incr.c, which keeps a compiled table up to date
 * one event at a time.  The incremental one must give exactly the table
 * the whole one gives (tests compare them), so everything that decides a
 * flow's text lives here, once: matches, actions, cookies, rule keys, and
 * the flows that do not come from policy rules (infrastructure, the node,
 * spoof guards, orphan ports, default deny).
 *
 * Not an interface: only those two files include it. */
#ifndef NP_COMPILE_GEN_H
#define NP_COMPILE_GEN_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "compile.h"
#include "objects.h"

/* pipeline.h's priorities, by the names this file has always used. */
enum {
    NP_PRIO_RULE = PRIO_RULES_MAX,
    NP_PRIO_NODE = PRIO_ISOLATION_TO_NODE,
    NP_PRIO_DEFAULT_CUT = PRIO_ISOLATION_CUT,
    NP_PRIO_DEFAULT_DENY = PRIO_ISOLATION_DROP,
};

/* Where generated flows with their own actions go. */
struct np_gen {
    const struct compile_options *opts;
    void (*direct)(void *aux, uint8_t table, uint16_t priority,
                   uint64_t cookie, const char *match, const char *actions,
                   const char *comment);
    void *aux;
};

/* The id of 'key' in 'ids', allocated on first use (from 1). */
uint32_t np_ids_get(struct np_ids *, const char *key);

uint64_t np_cookie(const struct compile_options *, enum np_cookie_kind,
                   uint32_t policy, uint32_t rule);
static inline uint8_t
np_tbl(const struct compile_options *opts, enum np_table t)
{
    return opts->table_base + t;
}

/* A rule's conjunction lives at one priority, all its clauses with it. */
static inline uint16_t
np_rule_priority(uint32_t id, unsigned int buckets)
{
    return NP_PRIO_RULE - id % buckets;
}

/* "ip,nw_src=10.0.0.1", "ipv6,ipv6_dst=fd00::/64", "ip" (/0)... */
#define NP_MATCH_MAX 128
void np_addr_match(const struct cidr *, bool dst, char buf[NP_MATCH_MAX]);
void np_host_match(const struct ip_addr *, bool dst, char buf[NP_MATCH_MAX]);

/* Calls 'cb' with each match of destination port (or range 'port' to
 * 'end_port'; 'port' 0: the whole protocol) of 'proto', per family in use.
 * Returns the matches a range takes per family (1 without a range). */
size_t np_port_matches(bool v4, bool v6, enum np_proto proto, uint16_t port,
                       uint16_t end_port,
                       void (*cb)(void *aux, const char *match), void *aux);

/* A conjunction action, packed so that sorting the packed values sorts the
 * actions by (id, clause): a clause flow lists its actions in that order,
 * each once, whatever order its rules were compiled in. */
static inline uint64_t
np_conj_pack(uint32_t id, uint8_t k, uint8_t n)
{
    return ((uint64_t) id << 16) | ((uint64_t) k << 8) | n;
}
/* Sorts 'entries' and drops repeats; returns how many remain. */
size_t np_conj_sort(uint64_t *entries, size_t n);
/* "conjunction(id,k/n),..." of sorted 'entries' (malloc'd). */
char *np_conj_format(const uint64_t *entries, size_t n);

/* Rules. */
char *np_rule_what(const struct k8s_netpol *, bool ingress, size_t idx);
/* The key a rule's conjunction id is allocated under: its numeric ports
 * ('named' NULL), or one number a named port resolves to. */
char *np_rule_key(const struct k8s_netpol *, bool ingress, size_t idx,
                  const struct np_port *named, uint16_t number);
uint64_t np_rule_cookie(const struct compile_options *, uint32_t pno,
                        bool ingress, size_t idx);
/* What a rule's flow does once it matched: record the rule, go on. */
void np_rule_actions(const struct compile_options *, bool ingress,
                     uint32_t id, char buf[128]);
void np_conj_id_match(uint32_t id, char buf[32]);
/* The message for a policy over the flow limit; 'what' names the rule at
 * which counting went over. */
char *np_limit_message(const char *what, bool counted, size_t cost,
                       size_t n_cidrs, size_t total, size_t budget);
/* Flows a conjunction with sets of these sizes adds at most: one per
 * member of each set, plus its conj_id flow; nothing if a set is empty. */
size_t np_conj_cost(const size_t *sizes, size_t n);

/* May be selected as a pod peer (has an address, neither hostNetwork nor
 * finished). */
bool np_pod_eligible(const struct k8s_pod *);

/* The number 'pod' gives named port 'p': that of its first container port
 * with the name and protocol (0: none, or that one has no number). */
uint16_t np_pod_named_port(const struct k8s_pod *, const struct np_port *p);

/* The flows that do not come from policy rules. */
void np_gen_infra(const struct np_gen *);
void np_gen_node(const struct np_gen *);
/* The spoof guard of local pod 'pod', on the ports opts->port_of gives. */
void np_gen_spoof(const struct np_gen *, const struct k8s_pod *);
/* Port 'bp', bound to 'pod' (NULL: not known), which gets no flows of its
 * own: no IP from it.  Nothing if 'pod' is local. */
void np_gen_orphan(const struct np_gen *, const struct compile_bound_port *,
                   const struct k8s_pod *pod);
/* Port 'port', which carries no pod and is neither an uplink nor a node
 * port: no IP from it. */
void np_gen_unbound(const struct np_gen *, const char *port);
/* The default deny of local pod 'pod' in one direction, isolated by 'n'
 * policies of which 'first' (number 'pno', a fail-closed stand-in if
 * 'first_invalid') comes first. */
void np_gen_isolation(const struct np_gen *, const struct k8s_pod *,
                      bool ingress, const char *first, bool first_invalid,
                      uint32_t pno, size_t n, bool audit);

/* What an established connection that policies no longer allow meets:
 * marked cut (table 1 then drops its replies), and dropped (nothing
 * outputs it). */
#define NP_CUT_ACTION_MAX 80
void np_cut_action(const struct compile_options *, char buf[NP_CUT_ACTION_MAX]);

/* The flows of the ClusterNetworkPolicy tiers' rules, as compile_cluster()
 * makes them with the classes of 'cls' (cnp-class.h), and the classes'
 * misses; not the flows that classify addresses, which the incremental
 * compiler keeps per address (np_gen_class_addr()).  Returns whether
 * some policy's subject selects a local pod: only then do classifying
 * flows belong in the table. */
struct cnp_classes;
bool compile_tier_rules(const struct cluster *,
                        const struct compile_options *,
                        const struct cnp_classes *cls,
                        struct np_flowset *out);

/* Sets '*v4' and '*v6' if ClusterNetworkPolicies' peers need port
 * matches of that family: their 'networks', the addresses of the Nodes
 * their 'nodes' peers select.  (Pods' families are counted apart.) */
struct cluster;
void np_cnp_families(const struct cluster *, bool *v4, bool *v6);

/* The audit log (pipeline.md, "Audit").  np_gen_isolation()'s 'audit'
 * makes the drop of a new connection a metered copy to the daemon (and
 * nothing else); np_gen_audit_allow() adds, for rule 'id', the commit
 * flows that copy what it allows.  'what' names the rule (comment). */
#define NP_AUDIT_ACTION_MAX 160
void np_audit_action(const struct compile_options *, bool allow,
                     bool ingress, char buf[NP_AUDIT_ACTION_MAX]);
void np_gen_audit_allow(const struct np_gen *, bool ingress, uint32_t id,
                        uint32_t pno, size_t idx, const char *what);

#endif
