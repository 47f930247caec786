/* ClusterNetworkPolicy (policy.networking.k8s.io/v1alpha2, release
 * v0.2.0) as a validated C struct, and the parser that makes it.
 *
 * The object layer only: what a ClusterNetworkPolicy says, checked as the
 * API server checks it with the project's CRD, in the structs below; not
 * what it means for a pod (the compiler's) nor where it comes from (the
 * sources').  No json_t escapes: selectors, CIDRs and ports are copied
 * into the project's own types (labels.h, addr.h, objects.h), so that the
 * engine and the compiler never see JSON.
 *
 * What a policy says (the upstream API's doc comments, condensed):
 *
 *   - 'tier' Admin or Baseline.  Evaluation: the Admin tier (policies by
 *     ascending 'priority', then each policy's rules in order: the first
 *     rule that matches decides) -> NetworkPolicy -> the Baseline tier
 *     (likewise) -> default allow.  Accept and Deny end the evaluation of
 *     that direction (an egress Accept still needs the destination's
 *     ingress); Pass skips the rest of its tier.  Equal priorities in one
 *     tier are undefined upstream: the compiler must pick an order and say
 *     which.
 *   - 'subject': the pods the policy applies to, never host-network pods.
 *   - A policy without ingress (egress) rules does not affect ingress
 *     (egress): there is no implicit isolation, unlike NetworkPolicy.
 *
 * Validation: as the API server validates the object against the CRD of
 * the experimental channel (which adds the egress peers 'nodes' and
 * 'domainNames' to the standard one): the OpenAPI schema (required
 * fields, types, enums, minimum/maximum, minItems/maxItems, maxLength,
 * minProperties/maxProperties, pattern, list-type "set") and its CEL
 * rules.  The CEL rules, all implemented:
 *
 *   - PortRange: "self.start < self.end" ("Start port must be less than
 *     End port"), on every tcp/udp/sctp destinationPort.range;
 *   - CIDR: "isCIDR(self)" ("Invalid CIDR format provided"), on every
 *     egress networks[] entry: Go's netip.ParsePrefix (IPv4 as four
 *     decimal numbers without leading zeros, prefix length in decimal
 *     without leading zeros, no IPv6 zone) and not an IPv4-mapped IPv6
 *     address.  Host bits are allowed, as isCIDR allows them; they are
 *     cleared in 'struct cidr'.  The check on length, maxLength 43, comes
 *     first;
 *   - ClusterNetworkPolicyEgressRule: "!(self.to.exists(peer,
 *     has(peer.networks) || has(peer.nodes) || has(peer.domainNames)) &&
 *     has(self.protocols) && self.protocols.exists(protocol,
 *     has(protocol.destinationNamedPort)))": no destinationNamedPort in an
 *     egress rule with a networks, nodes or domainNames peer.  (The
 *     standard channel's CRD lacks this rule; there such a rule is
 *     accepted by the API server and refused here: a named port cannot
 *     match an address that is not a pod's.)
 *
 * and the schema's constraints, e.g. spec.tier required, Admin or
 * Baseline; spec.priority required, an integer 0 to 1000; spec.subject
 * required with exactly one of namespaces or pods; pods.podSelector
 * required; ingress and egress at most 25 rules each; a rule's action
 * required, Accept, Deny or Pass; its name at most 100 characters; from/to
 * required with 1 to 25 peers; protocols, when present, 1 to 25 entries
 * with exactly one of tcp, udp, sctp or destinationNamedPort; tcp/udp/sctp
 * with a destinationPort of exactly one of number or range; port numbers
 * 1 to 65535; networks and domainNames 1 to 25 entries without duplicates;
 * domainNames by the CRD's pattern.  Every check and its message is in
 * tests/test-cnp.c.
 *
 * As the API server does, and as objects.h does for the v1 kinds: JSON
 * null is an absent member; unknown members are ignored (the API server
 * prunes them); metadata.name is required, a DNS-1123 subdomain;
 * metadata.labels are checked as labels; metadata.namespace is ignored
 * (the object is cluster-scoped: the API server clears it).  Unlike a
 * NetworkPolicy's, a null element of an array of objects is refused, as
 * the schema's "must be of type object" refuses it.  One check goes
 * beyond the CRD, which types label selectors only as maps and lists of
 * strings: selectors are checked as for a NetworkPolicy (label keys and
 * values, operators, values present for In/NotIn and absent for
 * Exists/DoesNotExist), since a selector that apimachinery's
 * LabelSelectorAsSelector() refuses cannot be applied by any
 * implementation.  A destinationNamedPort is any string, as in the CRD:
 * one that is not a valid port name (or "") names no container port, so
 * it matches nothing.  A protocols entry that sets none of tcp, udp, sctp
 * or destinationNamedPort is refused, as the CRD refuses it once pruned:
 * the API defines no fail-closed reading for protocols, only for peers.
 *
 * Fail closed.  A peer that sets none of the fields this version knows
 * for its direction, but sets others, is from a newer API than ours: it is
 * kept as CNP_PEER_UNKNOWN, not refused.  Upstream: "For Accept rules,
 * fail closed means: treat the rule as matching no traffic.  For Deny and
 * Pass rules, fail closed means: treat the rule as a 'Deny all' rule."
 * Here: such a peer matches nothing, and a Deny or Pass rule that has one
 * has 'deny_all' set.  An egress 'domainNames' peer (experimental) is
 * validated as the CRD says and then treated the same way (we cannot
 * match domain names): CNP_PEER_DOMAIN_NAMES matches nothing, and makes a
 * Deny or Pass rule (which upstream does not support with domainNames
 * either) 'deny_all'.  So the policy's other rules still apply: refusing
 * the whole object would drop its Deny rules, and making an Accept rule
 * deny all would cut what its later rules and lower tiers allow.  Each
 * such peer adds a message to 'warnings' for the consumer to log.
 *
 * A policy that is refused (cnp_from_json() returns NULL) is one the API
 * server would have refused too, except for the selector checks above and
 * the named-port rule with the standard CRD: a consumer that watches the
 * API should keep the policy's last valid version, if any, and say so. */
#ifndef NP_CNP_H
#define NP_CNP_H 1

#include <stdbool.h>
#include <stddef.h>
#include "addr.h"
#include "labels.h"
#include "objects.h"

#define CNP_KIND "ClusterNetworkPolicy"
#define CNP_API_VERSION "policy.networking.k8s.io/v1alpha2"

/* The CRD's limits. */
#define CNP_PRIORITY_MAX 1000   /* spec.priority: 0 to this. */
#define CNP_MAX_RULES 25        /* spec.ingress, spec.egress. */
#define CNP_MAX_PEERS 25        /* A rule's from/to. */
#define CNP_MAX_PROTOCOLS 25    /* A rule's protocols. */
#define CNP_MAX_NETWORKS 25     /* A peer's networks. */
#define CNP_MAX_DOMAIN_NAMES 25 /* A peer's domainNames. */
#define CNP_RULE_NAME_MAX 100   /* A rule's name, in characters. */
#define CNP_CIDR_MAX 43         /* A networks entry, in characters. */

enum cnp_tier {
    CNP_TIER_ADMIN,
    CNP_TIER_BASELINE,
};
const char *cnp_tier_name(enum cnp_tier);       /* "Admin", "Baseline". */

enum cnp_action {
    CNP_ACCEPT,
    CNP_DENY,
    CNP_PASS,
};
const char *cnp_action_name(enum cnp_action);   /* "Accept", ... */

/* Pods selected by a namespace selector and a pod selector: the subject,
 * and the 'namespaces' and 'pods' peers.  An empty selector selects every
 * namespace, or every pod of the selected namespaces.  Host-network pods
 * are never selected (the compiler's to apply). */
struct cnp_pods {
    struct selector ns_selector;
    struct selector pod_selector;
};

struct cnp_subject {
    /* Written as 'pods' (namespaceSelector and podSelector), rather than
     * 'namespaces' (then 'sel.pod_selector' is empty: every pod). */
    bool is_pods;
    struct cnp_pods sel;
};

enum cnp_peer_kind {
    CNP_PEER_NAMESPACES,        /* 'sel': every pod of the namespaces. */
    CNP_PEER_PODS,              /* 'sel'. */
    CNP_PEER_NETWORKS,          /* Egress: 'networks'. */
    CNP_PEER_NODES,             /* Egress: 'node_selector' over Nodes,
                                 * matching their status.addresses. */
    CNP_PEER_DOMAIN_NAMES,      /* Egress: unsupported, matches nothing. */
    CNP_PEER_UNKNOWN,           /* A newer API's: matches nothing. */
};
/* "namespaces", "pods", "networks", "nodes", "domainNames", "unknown". */
const char *cnp_peer_kind_name(enum cnp_peer_kind);

/* One entry of a rule's from/to.  Only the members of its kind are set;
 * the selectors are always initialized (empty when unused), so that
 * destroying a peer needs no switch. */
struct cnp_peer {
    enum cnp_peer_kind kind;
    struct cnp_pods sel;                /* NAMESPACES (pod_selector empty)
                                         * and PODS. */
    struct selector node_selector;      /* NODES; empty: every Node. */
    struct cidr *networks;              /* NETWORKS: IPv4 and IPv6, host */
    size_t n_networks;                  /* bits cleared, as written. */
    char **domain_names;                /* DOMAIN_NAMES, as written. */
    size_t n_domain_names;
    char *unknown_fields;               /* UNKNOWN: the members it sets,
                                         * e.g. "\"serviceAccounts\"". */
};

/* One ingress or egress rule. */
struct cnp_rule {
    char *name;                 /* NULL when absent or "". */
    enum cnp_action action;     /* As written. */
    /* 1 to 25 peers, in order ('from' or 'to'); the rule matches a
     * connection whose other end any peer matches.  DOMAIN_NAMES and
     * UNKNOWN peers match nothing. */
    struct cnp_peer *peers;
    size_t n_peers;
    /* The destination ports, from 'protocols'; none (absent): every port
     * of every protocol, and every other IP protocol.  A tcp, udp or sctp
     * destinationPort is one entry: 'port' with 'end_port' 0 for a
     * number, 'port' to 'end_port' (port < end_port) for a range.  A
     * destinationNamedPort N names a container port of any protocol, so
     * it is three entries, N/TCP, N/UDP and N/SCTP, each as a
     * NetworkPolicy's named port: the destination pod's container port
     * named N with that protocol (for egress, the peer pod's; for
     * ingress, the subject pod's). */
    struct np_port *ports;
    size_t n_ports;
    /* Fail closed (see the top of this file): the rule is a Deny or Pass
     * rule with a DOMAIN_NAMES or UNKNOWN peer.  The compiler must then
     * compile it as a Deny of all traffic of its direction for the
     * subject, whatever its action, peers and ports. */
    bool deny_all;
};

struct k8s_cnp {
    char *name;
    char *resource_version;     /* May be NULL. */
    char *uid;                  /* May be NULL. */
    enum cnp_tier tier;
    int priority;               /* 0 to CNP_PRIORITY_MAX; lower first. */
    struct cnp_subject subject;
    struct cnp_rule *ingress;   /* In order: the first match decides. */
    size_t n_ingress;
    struct cnp_rule *egress;
    size_t n_egress;
    /* One message per peer that fails closed (DOMAIN_NAMES and UNKNOWN),
     * naming the object, the field and what the rule does instead, in the
     * same form as errors; for the consumer to log (once per version). */
    char **warnings;
    size_t n_warnings;
    /* NULL, except in a fail-closed stand-in (cnp_stand_in()): why the
     * policy it stands for was rejected. */
    char *invalid;
};

/* Validates the ClusterNetworkPolicy 'json' (a 'const json_t *': void
 * here so that this header needs no jansson) and returns it as a new
 * object that the caller frees with k8s_cnp_destroy(), with '*error'
 * NULL; or returns NULL after storing a malloc'd message in '*error', e.g.
 *
 *   policy.yaml: ClusterNetworkPolicy tenants: spec.ingress[0].from[1].pods.podSelector.matchLabels: "bad key!" is not a valid label key: ...
 *
 * 'origin' names the source for messages (a file name, or the API).
 * 'kind' and 'apiVersion' may be absent (an item of a List); present, they
 * must be CNP_KIND and CNP_API_VERSION.  The caller keeps 'json'. */
struct k8s_cnp *cnp_from_json(const char *origin, const void *json,
                              char **error)
    __attribute__((warn_unused_result));

/* The same inside a validation context of the objects module
 * (src/objects-int.h), for its readers of files and Lists: 'ctx' carries
 * the origin and where the object is in its input, and receives the
 * error; its 'kind' must already be CNP_KIND and 'kind'/'apiVersion' are
 * not looked at.  Returns NULL on error. */
struct vctx;
struct k8s_cnp *cnp_parse(struct vctx *ctx, const void *json)
    __attribute__((warn_unused_result));

/* qsort() comparator of two 'const struct k8s_cnp *': the order in which
 * a tier evaluates its policies, by ascending 'priority', equal priorities
 * by name compared byte-wise (the API leaves them undefined; this is the
 * project's choice, rule C2 of tests/oracle/README.md).  The compiler lays
 * the tier tables out in it, and 'explain' lists policies in it. */
int cnp_compare_order(const void *a, const void *b);

/* The fail-closed stand-in of a ClusterNetworkPolicy that we must reject
 * and of which no valid version is held (objects.h, "Fail-closed
 * stand-ins"), rejected with message 'error' (copied into 'invalid'): a
 * policy of the same name that denies every connection of its subject in
 * each direction the policy may have rules for, at its place in the tier:
 *
 *   - spec.tier, or Admin when it cannot be read;
 *   - spec.priority, or 0 (first) when it cannot be read;
 *   - the pods of spec.subject, or every pod when it cannot be read;
 *   - ingress unless spec.ingress is absent, null or [], and the same for
 *     egress: one rule each, that fails closed ('deny_all').
 *
 * Returns NULL if 'json' (a 'const json_t *') is not an object whose
 * metadata.name is a non-empty string. */
struct k8s_cnp *cnp_stand_in(const void *json, const char *error)
    __attribute__((warn_unused_result));

/* " " and rule 'rule''s name quoted (np_quote(): a name is any text of
 * up to 100 characters, newlines included), or "" for a rule without a
 * name; malloc'd, for messages and flow comments. */
char *cnp_rule_name_text(const struct cnp_rule *rule);

/* What rule 'rule' of 'cnp' does, for people: "Accept", "Deny", "Pass",
 * or what a rule that fails closed or a stand-in's rule does instead. */
const char *cnp_rule_action_text(const struct k8s_cnp *cnp,
                                 const struct cnp_rule *rule);

/* Calls 'cb' for each peer of each rule of 'cnp', egress rules first,
 * each in order; 'aux' is passed through.  Every module that reads peers
 * walks them here, so that a peer kind added later is seen by all. */
void cnp_for_each_peer(const struct k8s_cnp *cnp,
                       void (*cb)(void *aux, const struct k8s_cnp *,
                                  bool ingress, const struct cnp_rule *,
                                  const struct cnp_peer *),
                       void *aux);

/* Frees 'cnp' and everything it owns.  Accepts NULL. */
void k8s_cnp_destroy(struct k8s_cnp *cnp);

#endif
