/* rule-stats: packet and byte counters per policy rule and per pod's
 * default deny, kept from the switch's flow counters.
 *
 * The switch counts per flow, and its counters restart at 0 whenever a
 * flow is deleted and added again: a full replace (daemon start, a
 * reconnection, ovs-vswitchd restarted, a drift repair) puts every flow
 * back at 0, an incremental bundle may re-add some.  The counters here
 * only grow: each read of the flows (rule_stats_update()) adds, per flow,
 * what its counter grew by since the last read, and a flow whose counter
 * went down (it was replaced) adds its whole new count.  A flow is known
 * by (table, priority, match), as OpenFlow knows it; a flow seen for the
 * first time adds its whole count.  What a replaced flow counted after the
 * last read and before it was replaced is lost, and so is what it counted
 * before the first read: counts start when the daemon first reads them.
 *
 * Each flow is attributed to a key by the caller's 'resolve' function: a
 * NetworkPolicy's rule (namespace/name, direction, rule index), a
 * ClusterNetworkPolicy's rule (name, direction, rule index, and its tier
 * and action: a rule whose action or tier changes starts a counter of its
 * own, so that a counter never mixes what a Deny dropped with what an
 * Accept let on) or a pod's default deny (namespace/name, direction);
 * flows that resolve to no key are not counted.  A key stays while 'keep'
 * says its object still exists (for a ClusterNetworkPolicy: the policy,
 * with that rule, in that tier, with that action), even when no flow
 * counts for it at the moment (the switch is being refilled), so that its
 * counter never goes backwards while it is shown.
 *
 * Pure: no I/O, no loop, no OVS type. */
#ifndef NP_RULE_STATS_H
#define NP_RULE_STATS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One flow as the switch reports it; all borrowed. */
struct rule_stats_flow {
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    const char *match;
    uint64_t n_packets, n_bytes;
};

enum rule_stats_kind {
    RULE_STATS_RULE,            /* A NetworkPolicy's rule ('rule' is its
                                 * index). */
    RULE_STATS_DENY,            /* A pod's default deny. */
    RULE_STATS_CNP,             /* A ClusterNetworkPolicy's rule. */
};

/* What a ClusterNetworkPolicy rule does with the packets it matches. */
enum rule_stats_action {
    RULE_STATS_ACCEPT,
    RULE_STATS_DROP,            /* Deny. */
    RULE_STATS_PASS,
    RULE_STATS_FAIL_CLOSED,     /* Deny, in place of what the rule says: a
                                 * rule with a peer we cannot match, or the
                                 * stand-in of a rejected policy. */
};

/* "Accept", "Deny", "Pass", "Deny" (for people: "Deny (fails closed)"). */
const char *rule_stats_action_name(enum rule_stats_action, bool long_form);

/* What a counter is for. */
struct rule_stats_key {
    enum rule_stats_kind kind;
    char *object;               /* "namespace/name": the policy or pod; a
                                 * ClusterNetworkPolicy's name. */
    bool ingress;
    unsigned int rule;          /* The rule's index; 0 for a default deny. */

    /* RULE_STATS_CNP only; else false, 0 and NULL. */
    bool baseline;              /* The tier: Baseline, else Admin. */
    enum rule_stats_action action;
    char *name;                 /* The rule's name, or NULL.  Not part of
                                 * what the counter is for: an update
                                 * shows the name the last 'resolve' gave
                                 * (a rule renamed keeps its counter). */
};

struct rule_stats_entry {
    struct rule_stats_key key;
    uint64_t packets, bytes;
};

/* Fills '*key' for 'flow' (with a malloc'd 'object' and 'name' or NULL,
 * which rule_stats_update() then owns and frees) and returns true, or
 * returns false for a flow that counts for nothing. */
typedef bool rule_stats_resolve_fn(void *aux,
                                   const struct rule_stats_flow *flow,
                                   struct rule_stats_key *key);
/* Whether the counter for 'key' should stay. */
typedef bool rule_stats_keep_fn(void *aux, const struct rule_stats_key *key);

struct rule_stats *rule_stats_create(void);
void rule_stats_destroy(struct rule_stats *);

/* Adds what the 'n' 'flows' (every flow that may count, as the switch
 * holds them now) counted since the last update, then drops the keys
 * that 'keep' does not keep.  The caller retains ownership of 'flows'. */
void rule_stats_update(struct rule_stats *, const struct rule_stats_flow *,
                       size_t n, rule_stats_resolve_fn *resolve,
                       rule_stats_keep_fn *keep, void *aux);

/* The counters, sorted: NetworkPolicy rules, then default denies, then
 * ClusterNetworkPolicy rules (Admin tier before Baseline); then by object,
 * egress before ingress, then by rule index (then by action).  Valid
 * until the next update or destroy. */
const struct rule_stats_entry *rule_stats_entries(const struct rule_stats *,
                                                  size_t *n);

/* The number of updates so far. */
uint64_t rule_stats_n_updates(const struct rule_stats *);

/* ---- Reading a flow. ---- */

struct ip_addr;

/* The pod address of a default-deny flow's 'match' as the switch formats
 * it: the destination (nw_dst, ipv6_dst) for ingress, the source for
 * egress.  Returns false if it has none. */
bool rule_stats_match_address(const char *match, bool ingress,
                              struct ip_addr *);

/* ---- Output. ---- */

/* Which counters to show: with none given, every counter; with one
 * given, only the counters of that kind and object (a pod's are its
 * default deny's only: the rules' counters are not per pod). */
struct rule_stats_filter {
    const char *policy;         /* NetworkPolicy "namespace/name" or NULL. */
    const char *pod;            /* "namespace/name" or NULL. */
    const char *cnp;            /* ClusterNetworkPolicy name or NULL. */
};

/* The counters that 'filter' selects, as the 'stats' command shows them:
 * a table per kind, or with 'json' one JSON object (arrays "rules",
 * "denied", "cnp_rules").  'age' is how many
 * seconds ago they were read from the switch, 'note' (may be NULL) a line
 * to add, e.g. why they are not fresher.  Returns a malloc'd string. */
char *rule_stats_format(const struct rule_stats *,
                        const struct rule_stats_filter *, bool json,
                        double age, const char *note);

/* Writes the Prometheus families ovs_netpol_rule_packets_total,
 * ovs_netpol_rule_bytes_total, ovs_netpol_denied_packets_total,
 * ovs_netpol_denied_bytes_total, ovs_netpol_cnp_rule_packets_total and
 * ovs_netpol_cnp_rule_bytes_total (metrics.h); a family with no counter
 * is left out. */
struct strbuf;
void rule_stats_metrics(const struct rule_stats *, struct strbuf *);

#endif
