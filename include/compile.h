/* The policy compiler: a cluster (Namespaces, Pods, NetworkPolicies) in,
 * the complete OpenFlow table that enforces it out.
 *
 * Pure: no I/O, no OVS types, no JSON.  The CLI ('ovs-netpol compile') runs
 * it offline and the daemon runs the same code.  The pipeline it produces is
 * documented, with example flows, in ovs/pipeline.md; keep the two in step.
 *
 * Flows come out in ovs-ofctl syntax (OpenFlow 1.5, Nicira extensions),
 * each with a cookie that names its policy and rule, so that
 * 'ovs-ofctl dump-flows br-int' can be mapped back to the policy. */
#ifndef NP_COMPILE_H
#define NP_COMPILE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "cookie.h"
#include "pipeline.h"

struct cluster;
struct ip_addr;

/* Resolves the switch ports of a local pod: stores in '*ports' an array of
 * OpenFlow port names or numbers as text, valid during the compile, and
 * returns its length: 0 when the pod has no port (yet), 2 while its CNI
 * replaces its port (the new one is plugged before the old one goes).  Each
 * port gets the pod's spoof guard. */
typedef size_t compile_port_fn(void *aux, const char *ns, const char *name,
                               const char *const **ports);

/* A switch port bound to a pod (OVSDB's iface-id, or --ports). */
struct compile_bound_port {
    const char *ns, *name;      /* The pod. */
    const char *port;           /* OpenFlow port name or number. */
};

/* What a switch port is to the pipeline.  The compiler only sees the
 * ports that may send no IP ('unbound_ports'); compile_port_role() says
 * which those are, for the daemon (from OVSDB) and for 'compile --ports'
 * alike. */
enum compile_port_role {
    COMPILE_PORT_POD,           /* Bound to a pod ('bound_ports'). */
    COMPILE_PORT_NODE,          /* One of 'node_ports'. */
    COMPILE_PORT_UPLINK,        /* Brings other nodes' traffic: to
                                 * ingress checks. */
    COMPILE_PORT_UNBOUND,       /* Carries no pod, and is neither: sends
                                 * no IP. */
};

struct compile_options {
    const char *node;           /* Local node; NULL: every pod is local. */
    unsigned int table_base;    /* First of our tables. */
    const char *continuation;   /* Action that hands packets on. */
    uint16_t ct_zone;
    uint8_t generation;         /* Goes into every cookie. */
    compile_port_fn *port_of;   /* NULL: no pod has a known port. */
    void *port_aux;
    /* Every bound port: those whose pod gets no flows (unknown yet, no
     * address yet, ...) drop what they send.  May be empty. */
    const struct compile_bound_port *bound_ports;
    size_t n_bound_ports;
    /* Every port that carries no pod and is neither one of the node's
     * ports nor an uplink (COMPILE_PORT_UNBOUND): it sends no IP.  Port
     * text as in 'bound_ports'.  May be empty. */
    const char *const *unbound_ports;
    size_t n_unbound_ports;
    /* Ports the operator names as uplinks (--uplink-port): what they
     * bring goes to ingress checks, as from a tunnel.  Only
     * compile_port_role() reads them. */
    const char *const *uplink_ports;
    size_t n_uplink_ports;
    /* This node: traffic to and from it is always allowed.  From it: a
     * packet with one of 'node_addrs' as source on one of 'node_ports'
     * (compile_options_init(): "LOCAL", the bridge's own port).  None:
     * nothing is special about the node. */
    const struct ip_addr *node_addrs;
    size_t n_node_addrs;
    const char *const *node_ports;
    size_t n_node_ports;
    /* Keep conjunction ids and policy numbers (in cookies) stable across
     * compiles; NULL: they live for this compile only, and are given in
     * (namespace, name) order. */
    struct np_ids *ids;
    struct np_ids *policy_ids;
    /* Rule priority levels to start from (see compile_cluster()); 0: 1.
     * The engine passes the levels its table has, so that a full
     * recompute gives the table it must equal. */
    unsigned int buckets;
    /* The most flows one policy's rules may add (counted before clause
     * flows merge, with the CIDRs its ipBlocks come to); a policy that
     * needs more gets none of its rules, only its default deny, and is
     * reported in np_flowset's 'rejected'.  0: no limit.  Its cost is
     * counted before any of its flows is made, so refusing it is cheap:
     * this bounds the time one policy can take. */
    size_t max_policy_flows;
    /* The audit log (README, "Audit log"): what is copied to the daemon
     * for the namespaces without an ovs-netpol.io/audit annotation
     * (enum np_audit in objects.h; NP_AUDIT_NONE by default), and the
     * meter the copies go through (NP_AUDIT_METER_ID by default). */
    int audit;
    uint32_t audit_meter;
    /* ClusterNetworkPolicy peers (ovs/pipeline.md, "Tiers"): a pod set of
     * at least this many addresses that a CNP rule names as its peer is
     * matched through a bit of a register that the tier table sets from
     * the packet's address first, one flow per address for every such set
     * at once, rather than by its addresses in every rule that names it
     * (NP_DEFAULT_PEER_CLASS_MIN by default). */
    size_t peer_class_min;
};

#define NP_DEFAULT_PEER_CLASS_MIN 32

/* compile_options_init()'s limit: a policy at the API's 1.5 MiB object
 * size limit may need millions of flows (ipBlock excepts, port ranges);
 * 100,000 take about a tenth of a second to compile and a second to
 * install, and cover a rule whose peers are every pod of a 50,000-pod
 * dual-stack cluster. */
#define NP_DEFAULT_MAX_POLICY_FLOWS 100000
/* The most --max-policy-flows accepts: past that, no limit at all. */
#define NP_MAX_POLICY_FLOWS_LIMIT 100000000

/* Conjunction ids, stable for a rule's lifetime: a rule (namespace, policy,
 * direction, rule index, port group) keeps its id across compiles that
 * share this allocator. */
struct np_ids *np_ids_create(void);
void np_ids_destroy(struct np_ids *);

/* The rule that id 'id' was given to (once given, an id keeps naming its
 * rule, also after the policy is gone): its policy "ns/name" (malloc'd),
 * direction and index.  False for an id never given. */
struct np_rule_ref {
    char *policy;
    bool ingress;
    size_t index;
};
bool np_ids_rule(const struct np_ids *, uint32_t id, struct np_rule_ref *);

void compile_options_init(struct compile_options *);

/* Checks an OpenFlow port as the operator gives it (--ports, --node-port):
 * a number from 1 to 65279, or a port name of at most 15 characters
 * without spaces, control bytes or any of , = ( ) " \ (it goes into
 * "in_port=NAME,..." matches).  Returns NULL, or a malloc'd message. */
char *compile_check_port(const char *)
    __attribute__((warn_unused_result));

/* What a port that carries no pod is: a node port if 'name' or 'ofport'
 * (its OpenFlow port number as text, or NULL) is one of opts->node_ports;
 * an uplink if it is one of opts->uplink_ports, or if 'type' (its OVSDB
 * Interface type; NULL or "" for a system device) is a tunnel (geneve,
 * vxlan, gre, ip6gre, erspan, ip6erspan, stt, lisp, bareudp, gtpu, srv6),
 * "patch" (another bridge) or "internal" (the host's own, as LOCAL is);
 * otherwise COMPILE_PORT_UNBOUND: a veth, tap, NIC, DPDK port... that
 * nobody bound sends no IP. */
enum compile_port_role compile_port_role(const struct compile_options *,
                                         const char *name, const char *ofport,
                                         const char *type);
const char *compile_port_role_name(enum compile_port_role);

/* What the audit log records for namespace 'ns' (NULL: a namespace with
 * no object): its annotation, else opts->audit.  An enum np_audit. */
struct k8s_namespace;
int compile_audit_mode(const struct compile_options *,
                       const struct k8s_namespace *ns);

/* Whether 'pod' gets flows of its own (selected, isolated, spoof-guarded)
 * with 'opts': it has an address, is neither finished nor hostNetwork, and
 * is on opts->node (any node without one). */
struct k8s_pod;
bool compile_pod_is_local(const struct compile_options *,
                          const struct k8s_pod *);

/* The tables filled and their priorities: pipeline.h. */

/* Every flow's cookie names its kind, policy and rule (cookie.h).  A
 * policy keeps its number for its lifetime (see 'policy_ids'); 'names'
 * maps numbers back. */

struct np_flow {
    uint8_t table;              /* Absolute table number. */
    uint16_t priority;
    uint64_t cookie;
    const char *match;          /* ovs-ofctl syntax; owned by the set. */
    char *actions;
    const char *comment;        /* Static or owned by the flow set. */
};

/* A policy whose rules are left out: over opts->max_policy_flows. */
struct np_rejected {
    char *policy;               /* "ns/name". */
    char *message;              /* Names the policy, the rule, the counts. */
    size_t flows;               /* It needs at least this many. */
};

struct np_flowset {
    struct np_flow *flows;      /* Sorted by (table, -priority, match). */
    size_t n_flows;
    char **warnings;            /* e.g. an except list that blew up. */
    size_t n_warnings;
    struct np_rejected *rejected;       /* In policy order. */
    size_t n_rejected;
    char **names;               /* Policy number -> "ns/name" or NULL. */
    size_t n_names;
    unsigned int table_base;
    unsigned int buckets;       /* Rule priority levels it needed. */
    char **strs_;               /* Storage of the matches. */
    size_t n_strs_;
};

/* Compiles 'cluster' into '*out', which the caller must later release with
 * np_flowset_destroy(). */
void compile_cluster(const struct cluster *, const struct compile_options *,
                     struct np_flowset *out);
void np_flowset_destroy(struct np_flowset *);

/* Writes the flows in 'ovs-ofctl add-flows' syntax, with '#' comment lines
 * that name the policies and rules. */
void np_flowset_print(const struct np_flowset *, FILE *);

#endif
