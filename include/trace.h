/* trace: says in words what our flows do to a packet.
 *
 * Two debugging aids of the daemon's control socket share this module:
 *
 *   explain COOKIE   decodes one of our cookies (see ovs/pipeline.md,
 *                    "Cookies") and names the policy and rule it stands for.
 *   explain NS/POD   lists what decides a pod's connections: the
 *                    ClusterNetworkPolicies of each tier and the
 *                    NetworkPolicies, per direction, in evaluation order.
 *   trace SRC DST [PROTO/]PORT
 *                    the daemon asks the real switch for
 *                    'ofproto/trace BRIDGE FLOW --ct-next trk,new' and this
 *                    module reads the answer: every table hit in every
 *                    recirculation and the final "Datapath actions:", and
 *                    tells what each of our flows on the path means.
 *
 * The verdict (ALLOWED or DENIED) comes from the datapath actions of the
 * last recirculation, that is from what the switch would do, never from
 * our reading of the flows.
 *
 * Pure: no I/O, no OVS types, no JSON.  Policy numbers are turned into
 * names by a callback (the daemon passes engine_policy_name()), so that the
 * tests need no engine. */
#ifndef NP_TRACE_H
#define NP_TRACE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Cookies (decoded by cookie.h). ---- */

/* Finds a cookie in 'text': a hexadecimal number ("0x4e50000300001800" or
 * without "0x"), or any line that holds "cookie=0x..." (a dump-flows line)
 * or "cookie 0x..." (an ofproto/trace line).  Returns NULL and stores the
 * cookie, or returns a malloc'd message. */
char *trace_cookie_parse(const char *text, uint64_t *cookie)
    __attribute__((warn_unused_result));

/* Returns the name of policy number 'pno', or NULL if there is none: "ns/name"
 * for a NetworkPolicy, "ClusterNetworkPolicy NAME" for a
 * ClusterNetworkPolicy (the flow set's names, compile.h; a bare "NAME"
 * for a cookie of kind NPC_CNP is taken as the ClusterNetworkPolicy's
 * name too). */
typedef const char *trace_policy_name_fn(void *aux, uint32_t pno);

/* Returns the name ("deny-other-tenants") of rule 'rule' of direction
 * 'ingress' of the ClusterNetworkPolicy that policy number 'pno' names, or
 * NULL if it has none or it is not known: the flows do not carry it, so
 * only a caller that has the objects can say (the daemon does, from its
 * cluster).  May be NULL. */
typedef const char *trace_rule_name_fn(void *aux, uint32_t pno, bool ingress,
                                       unsigned int rule);

/* What the flows with 'cookie' are, in one line without a newline, e.g.
 *   "NetworkPolicy x/allow-x, ingress rule 0"
 *   "ClusterNetworkPolicy tenant-isolation, egress rule 1
 *    ("deny-other-tenants")"
 *   "default deny of the pods that NetworkPolicy x/allow-x (the first of
 *    the policies isolating them) isolates for ingress"
 *   "infrastructure (classify, conntrack state, spoof guard, commit, misses)"
 * or, for a cookie that is not ours, "not an ovs-netpol cookie ...".
 * 'rule_name' may be NULL.  Returns a malloc'd string. */
char *trace_cookie_describe(uint64_t cookie, trace_policy_name_fn *,
                            trace_rule_name_fn *rule_name, void *aux);

/* ---- A pod's policies. ---- */

struct cluster;

/* What decides the connections of pod 'ns'/'name' of 'cluster', per
 * direction in evaluation order: the admin tier's ClusterNetworkPolicies
 * whose subject selects it and that have rules in that direction (by
 * priority, then name byte-wise, as the compiler orders them), the
 * NetworkPolicies that isolate it, the baseline tier's, e.g.
 *
 *   pod x/a (10.9.1.1, node node-1)
 *   egress (connections x/a opens):
 *     admin tier:    none
 *     NetworkPolicy: not isolated
 *     baseline tier:
 *       1. ClusterNetworkPolicy no-names (priority 20): egress rule 0
 *          "deny-example": Deny (fails closed: every connection)
 *   ingress (connections to x/a):
 *     ...
 *
 * From the objects, not the flows (unlike trace).  Returns a malloc'd
 * string, or NULL if the cluster has no such pod. */
char *trace_explain_pod(const struct cluster *, const char *ns,
                        const char *name);

/* ---- ofproto/trace output. ---- */

/* One "  N. MATCH, priority P, cookie 0xC" line and the action lines under
 * it. */
struct trace_hit {
    unsigned int table;
    bool no_match;              /* "N. No match." (then 'match' is ""). */
    char *match;                /* "" when the flow matches everything. */
    unsigned int priority;
    uint64_t cookie;            /* 0 when the trace printed none. */
    char *actions;              /* The first action line, e.g. "drop",
                                 * "goto_table:5", "ct(table=1)". */
    unsigned int depth;         /* Indentation level (resubmit nesting). */
};

/* One pass through the bridge: the first, then one per recirculation. */
struct trace_section {
    struct trace_hit *hits;
    size_t n_hits, allocated_hits;
    char *datapath_actions;     /* After "Datapath actions: ", or NULL. */
    char *ct_state;             /* A recirculation's "new|trk" (from
                                 * "resume conntrack with ct_state=..."),
                                 * or NULL. */
};

struct trace_result {
    struct trace_section *sections;
    size_t n_sections, allocated_sections;
};

/* Parses the text that 'ovs-appctl ofproto/trace' prints.  Returns NULL
 * and fills '*r' (which the caller releases with trace_result_destroy()),
 * or returns a malloc'd message ('*r' is then empty, but must still be
 * destroyed). */
char *trace_parse(const char *text, struct trace_result *r)
    __attribute__((warn_unused_result));
void trace_result_destroy(struct trace_result *);

enum trace_verdict {
    TRACE_ALLOWED,              /* The last pass outputs the packet. */
    TRACE_DENIED,               /* It drops it. */
    TRACE_UNDECIDED,            /* It ends in a recirculation or a
                                 * controller action: cannot tell. */
};

/* The verdict from the datapath actions of the last pass: a port number,
 * "output", a tunnel push (also inside clone()) means the packet leaves;
 * "drop" or actions that output nothing mean it does not. */
enum trace_verdict trace_verdict_of(const struct trace_result *);
const char *trace_verdict_name(enum trace_verdict);

/* What the narration needs to know besides the trace. */
struct trace_context {
    unsigned int table_base;    /* Our first table. */
    uint8_t generation;         /* The daemon's current one. */
    trace_policy_name_fn *policy_name;
    trace_rule_name_fn *rule_name;      /* May be NULL. */
    void *aux;
    const char *src;            /* How to call source and destination: */
    const char *dst;            /* "x/b", or an address. */
    const char *in_port;        /* The port the packet enters on, by name
                                 * ("veth7"), or NULL: the flows' match
                                 * names it. */
};

/* One line for a hit of the path, without a newline, e.g.
 *   "table 8 ingress rules: conj_id=1 -> NetworkPolicy x/allow-x ingress rule 0"
 *   "table 9 ingress default deny: x/a isolated for ingress by x/allow-x -> drop"
 *   "table 3 admin tier egress: ClusterNetworkPolicy tenant-isolation
 *    egress rule 1 ("deny-other-tenants"): Deny -> drop"
 * A ClusterNetworkPolicy rule's flow (cookie kind NPC_CNP in a tier table)
 * is read by its table (the tier and direction), its cookie (the policy
 * and the rule) and its first action (the rule's action: Accept loads a
 * register, Deny drops or cuts, Pass goes to a table), never by looking
 * the object up: the switch's flows are what decides.
 * Returns a malloc'd string. */
char *trace_describe_hit(const struct trace_hit *, const struct trace_context *);

/* The whole report: the verdict line ("ALLOWED: ..." / "DENIED: ..."),
 * what decided each direction (the tier, policy and rule that did, and the
 * admin ClusterNetworkPolicy rule that passed it on to NetworkPolicy, if
 * one did), the path through our tables of every pass,
 * the datapath actions, and 'raw' after a separator line if it is not
 * NULL.  'what' describes the packet ("new tcp connection x/b (10.9.1.2)
 * -> x/a (10.9.1.1) port 80").  Returns a malloc'd string. */
char *trace_report(const struct trace_result *, const struct trace_context *,
                   const char *what, const char *raw);

/* ---- The request. ---- */

enum trace_proto {
    TRACE_TCP,
    TRACE_UDP,
    TRACE_SCTP,
};
const char *trace_proto_name(enum trace_proto);     /* "tcp", ... */

/* Parses "[PROTO/]PORT": PROTO tcp (the default), udp or sctp (any case),
 * PORT from 1 to 65535.  Returns NULL, or a malloc'd message. */
char *trace_parse_port(const char *, enum trace_proto *, uint16_t *port)
    __attribute__((warn_unused_result));

/* The flow for ofproto/trace: 'in_port' (a port number or name; NULL or ""
 * for none), addresses 'src' and 'dst' (text, both of one family: 'ipv6'),
 * e.g. "tcp,in_port=2,nw_src=10.9.1.2,nw_dst=10.9.1.1,tcp_dst=80".
 * (OVS 3.1's ofproto/trace refuses "udp,...,tp_dst=N"; the per-protocol
 * field names work for all three.)  Returns a malloc'd string. */
char *trace_flow(enum trace_proto, uint16_t port, const char *in_port,
                 bool ipv6, const char *src, const char *dst);

#endif
