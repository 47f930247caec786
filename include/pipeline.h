/* pipeline: our OpenFlow tables and the priorities in them, named once.
 *
 * The compiler fills these tables (compile.h) and trace reads a path
 * through them back into words (trace.h); both take the numbers from
 * here, so the narration cannot drift from the flows.  ovs/pipeline.md
 * describes every table with example flows.
 *
 * Table numbers are offsets from --table-base: table NPT_STATE is
 * table_base + 1 on the switch.  Pure: declarations only. */
#ifndef NP_PIPELINE_H
#define NP_PIPELINE_H 1

/* Our tables, as offsets from 'table_base', in the order a packet meets
 * them (OpenFlow's goto_table only goes forward).  Each direction is
 * decided by three tiers in turn: the admin tier of ClusterNetworkPolicy,
 * NetworkPolicy (rules, then default deny), the baseline tier. */
enum np_table {
    NPT_CLASSIFY = 0,           /* ARP/ND pass, IP to conntrack. */
    NPT_STATE = 1,              /* Replies pass unless cut, invalid drop. */
    NPT_SPOOF = 2,              /* Source port and address agree. */
    NPT_ADMIN_EGRESS = 3,       /* Admin tier, egress of the source pod. */
    NPT_EGRESS = 4,             /* Egress rules of the source pod. */
    NPT_EGRESS_DEFAULT = 5,     /* Drop from egress-isolated pods. */
    NPT_BASELINE_EGRESS = 6,    /* Baseline tier, egress. */
    NPT_ADMIN_INGRESS = 7,      /* Admin tier, ingress of the destination. */
    NPT_INGRESS = 8,            /* Ingress rules of the destination pod. */
    NPT_INGRESS_DEFAULT = 9,    /* Drop to ingress-isolated pods. */
    NPT_BASELINE_INGRESS = 10,  /* Baseline tier, ingress. */
    NPT_COMMIT = 11,            /* Commit new (or uncut) connections. */
    NPT_N_TABLES = 12,
};

/* ClusterNetworkPolicy peer classes (PRIO_TIER_CLASS below): bits of reg2
 * (the destination's classes) and reg3 (the source's); the top bit says
 * "classified". */
#define NP_PEER_CLASS_BITS 31
#define NP_PEER_CLASS_FLAG 0x80000000u

/* "classify", "conntrack state", ...; "?" beyond NPT_N_TABLES.  (Defined
 * in src/compile-pipeline.c.) */
const char *np_table_name(enum np_table);

/* Priorities, by table.  Within a table, the higher one decides. */
enum np_priority {
    PRIO_MISS = 0,              /* Every table: what no other flow takes. */

    /* NPT_CLASSIFY. */
    PRIO_CLASSIFY_NOT_IP = 100, /* ARP, IPv6 neighbor discovery: not
                                 * policy, to the continuation. */
    /* IP from a port that may send none: dropped before conntrack, so
     * that not even a reply of a connection gets out (table 1 passes
     * replies before any port is looked at).  Below NOT_IP: address
     * resolution still works. */
    PRIO_CLASSIFY_NO_POD_DROP = 96,     /* A port that carries no pod and
                                         * is neither an uplink nor a node
                                         * port. */
    PRIO_CLASSIFY_PORT_DROP = 95,       /* A port bound to a pod that has
                                         * no flows (yet). */
    PRIO_CLASSIFY_IP = 90,      /* IPv4, IPv6: through conntrack. */

    /* NPT_STATE.  Replies follow their connection's verdict, kept in
     * ct_mark by the original direction; the original direction goes
     * through the policies again. */
    PRIO_STATE_INVALID = 200,   /* +inv: drop. */
    PRIO_STATE_SCTP_REPLY = 195,        /* One conntrack entry for all SCTP
                                         * between two addresses: pass. */
    PRIO_STATE_CUT_REPLY = 190, /* Reply of a cut connection: drop. */
    PRIO_STATE_REPLY = 180,     /* Reply of an allowed one: pass. */
    PRIO_STATE_ESTABLISHED = 170,       /* Original direction: policies. */

    /* NPT_SPOOF. */
    PRIO_SPOOF_OWN = 200,       /* A local pod's own port and address. */
    PRIO_SPOOF_NODE = 190,      /* The node, from a node port: allowed. */
    PRIO_SPOOF_PORT_DROP = 150, /* A local pod's port with another
                                 * source address: drop. */
    PRIO_SPOOF_ADDRESS_DROP = 100,      /* A local pod's address from
                                         * another port: drop. */

    /* NPT_EGRESS, NPT_INGRESS: a rule's conjunction lives at one
     * priority at most this high, all its clauses with it. */
    PRIO_RULES_MAX = 200,

    /* NPT_ADMIN_*, NPT_BASELINE_*: the rules of a tier's
     * ClusterNetworkPolicies in the order they are evaluated (policies by
     * priority, then name; each policy's rules in order), one priority
     * each, counting down from the first: the first rule that matches
     * decides. */
    PRIO_TIER_FIRST = 60000,
    PRIO_TIER_LAST = 2,
    /* Policies whose rules come after PRIO_TIER_LAST's, which cannot be
     * ordered: a Deny of every connection of their subjects instead, after
     * every rule that fits (fail closed). */
    PRIO_TIER_LEFT_OUT = 1,
    /* Above the rules, in NPT_ADMIN_EGRESS (destination, reg2) and
     * NPT_ADMIN_INGRESS (source, reg3), while some peer set is a class
     * (compile.h, 'peer_class_min'): the classes of the packet's address,
     * then the table again (resubmit); the baseline tables read the
     * registers as set there. */
    PRIO_TIER_CLASS = 65000,
    PRIO_TIER_CLASS_MISS = 64999,

    /* NPT_EGRESS_DEFAULT, NPT_INGRESS_DEFAULT. */
    PRIO_ISOLATION_TO_NODE = 120,       /* To the node: above any deny. */
    PRIO_ISOLATION_CUT = 110,   /* Established: marked cut, dropped. */
    PRIO_ISOLATION_DROP = 100,  /* New: dropped. */

    /* NPT_COMMIT. */
    PRIO_COMMIT_UNCUT = 110,    /* Allowed again after a cut: unmark. */
    PRIO_COMMIT_ESTABLISHED = 105,      /* Still allowed: on. */
    /* New, allowed by a rule whose namespace is audited: as
     * PRIO_COMMIT_NEW, and a copy to the daemon.  Egress above ingress,
     * so that a connection both rules allow meets one flow, always the
     * same; the copy carries both registers. */
    PRIO_COMMIT_AUDIT_EGRESS = 102,
    PRIO_COMMIT_AUDIT_INGRESS = 101,
    PRIO_COMMIT_NEW = 100,      /* Allowed: commit, rules into ct_label. */
};

/* The audit copy (ovs/pipeline.md, "Audit"): controller(id=..., meter_id=
 * ..., userdata=...) sends the first packet of an audited connection to
 * the daemon's OpenFlow connection only (its controller id), through
 * an OpenFlow meter that bounds the rate, so that a flood neither
 * reaches the daemon nor queues in the switch; the verdict never depends
 * on it (a drop flow outputs nothing else, a commit flow goes on to the
 * continuation whatever the meter does).  The userdata: "NP", the
 * version, the verdict, the direction, three zero bytes. */
#define NP_AUDIT_CONTROLLER_ID 20048    /* 0x4e50, "NP". */
#define NP_AUDIT_METER_ID 20048
#define NP_AUDIT_MAX_LEN 128            /* Headers, up to L4 over IPv6. */
#define NP_AUDIT_VERSION 1
enum np_audit_verdict { NP_AUDIT_VERDICT_DENY = 0, NP_AUDIT_VERDICT_ALLOW = 1 };

#endif
