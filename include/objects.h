/* Kubernetes objects as validated C structs, and the parsers that make them.
 *
 * This is the border between the Kubernetes side and the engine: files and
 * API responses are parsed here, as JSON or YAML, validated as the API
 * server validates them (accepting what it accepts, including the values
 * it keeps from objects that earlier versions stored: each check and the
 * API server rule it mirrors are in tests/data/objects/README.md), and
 * copied into the structs below.  No json_t escapes this module.  An
 * invalid object is rejected with a message that names where it came
 * from, the object and the field, e.g.
 *
 *   policy.yaml: NetworkPolicy default/db: spec.ingress[0].from[2].ipBlock.except[0]:
 *   "172.18.1.0/24" is not inside cidr "172.17.0.0/16"
 *
 * and every other object of the same input is still returned.
 *
 * Defaults are applied as the API server applies them: a port without a
 * protocol is TCP; policyTypes, when absent, are Ingress plus Egress if the
 * policy has egress rules; an absent spec or podSelector selects every pod
 * of the namespace.  As kubectl does with a file, a Pod or NetworkPolicy
 * without metadata.namespace is in namespace "default".
 *
 * JSON null counts as an absent field (as in Go's decoder) and fields that we
 * do not read are ignored (as the API server drops unknown fields).  An
 * object is rejected at its first error.  YAML goes through yaml-json.h,
 * which types plain scalars as kubectl does: an unquoted label value such as
 * 'true' or '1' is not a string there, and is rejected as kubectl rejects
 * it. */
#ifndef NP_OBJECTS_H
#define NP_OBJECTS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "labels.h"

enum np_proto {
    NP_TCP,
    NP_UDP,
    NP_SCTP,
};
#define NP_N_PROTOS 3
const char *np_proto_name(enum np_proto);       /* "TCP", "UDP", "SCTP". */

/* The kinds the daemon watches come first (kube-client.h's
 * KUBE_N_KINDS). */
enum obj_kind {
    OBJ_NAMESPACE,
    OBJ_POD,
    OBJ_NETPOL,
    OBJ_CNP,                    /* ClusterNetworkPolicy (cnp.h). */
    OBJ_NODE,                   /* For ClusterNetworkPolicy 'nodes' peers. */
};
#define OBJ_N_KINDS 5           /* For arrays indexed by enum obj_kind. */
/* Whether objects of 'kind' have no namespace. */
static inline int
obj_kind_cluster_scoped(enum obj_kind kind)
{
    return kind == OBJ_NAMESPACE || kind == OBJ_CNP || kind == OBJ_NODE;
}
const char *obj_kind_name(enum obj_kind);       /* "Namespace", ... */

/* What the audit log records for a namespace's pods and policies
 * (README, "Audit log"): bits, so that NP_AUDIT_ALL has both. */
enum np_audit {
    NP_AUDIT_NONE = 0,
    NP_AUDIT_DENY = 1,          /* New connections a default deny drops. */
    NP_AUDIT_ALLOW = 2,         /* New connections a rule allows. */
    NP_AUDIT_ALL = 3,
    NP_AUDIT_UNSET = 4,         /* No annotation: the daemon's default. */
};
/* The Namespace annotation that sets it. */
#define NP_AUDIT_ANNOTATION "ovs-netpol.io/audit"
/* "none", "deny", "allow", "all" (and "unset"). */
const char *np_audit_name(enum np_audit);
/* Parses one of "none", "deny", "allow", "all"; false otherwise. */
bool np_audit_parse(const char *, enum np_audit *);

struct k8s_namespace {
    char *name;
    char *resource_version;     /* May be NULL. */
    struct labels labels;
    /* Its ovs-netpol.io/audit annotation.  A value that is not one of
     * the four is NP_AUDIT_UNSET, and 'audit_error' (else NULL) says so,
     * naming the namespace and the field: the namespace is not refused
     * over what only logging reads. */
    enum np_audit audit;
    char *audit_error;
};

enum pod_phase {
    POD_PENDING,                /* Also when status.phase is absent. */
    POD_RUNNING,
    POD_SUCCEEDED,
    POD_FAILED,
    POD_UNKNOWN,
};

struct container_port {
    char *name;                 /* NULL when unnamed. */
    uint16_t port;
    enum np_proto proto;
};

struct k8s_pod {
    char *namespace;
    char *name;
    char *resource_version;     /* May be NULL. */
    struct labels labels;
    char *node_name;            /* spec.nodeName, NULL if unscheduled. */
    bool host_network;
    enum pod_phase phase;
    struct ip_addr *ips;        /* status.podIPs (or podIP), deduplicated. */
    size_t n_ips;
    /* The status has no address yet and 'ips' are the ones the CNI wrote
     * on the pod's switch port (the daemon only). */
    bool ips_from_port;
    struct container_port *ports;       /* From every container. */
    size_t n_ports;
};

/* A Node: what a ClusterNetworkPolicy 'nodes' peer matches. */
struct k8s_node {
    char *name;
    char *resource_version;     /* May be NULL. */
    struct labels labels;
    /* The IP addresses of status.addresses (InternalIP, ExternalIP...;
     * a Hostname entry is no address), deduplicated, in order. */
    struct ip_addr *ips;
    size_t n_ips;
};

/* One entry of a rule's 'ports'. */
struct np_port {
    enum np_proto proto;
    char *name;                 /* Named port, or NULL. */
    uint16_t port;              /* 0 with name == NULL: every port. */
    uint16_t end_port;          /* 0 when absent; else >= port. */
};

/* One entry of a rule's 'from' or 'to'. */
struct np_peer {
    /* Pods and namespaces: with 'is_ipblock' false.  'pod_selector' NULL
     * means every pod of the selected namespaces; 'ns_selector' NULL means
     * the policy's own namespace.  At least one of the two is non-NULL. */
    struct selector *pod_selector;
    struct selector *ns_selector;

    bool is_ipblock;
    struct cidr block;
    struct cidr *excepts;
    size_t n_excepts;
};

struct np_rule {
    /* 'from' or 'to'; empty (absent or []) matches every peer. */
    struct np_peer *peers;
    size_t n_peers;
    /* Empty (absent or []) matches every port of every protocol. */
    struct np_port *ports;
    size_t n_ports;
};

/* Rules of a direction that the policy does not isolate (e.g. 'egress' rules
 * in a policy whose explicit policyTypes is [Ingress]) have no effect: they
 * are validated, then dropped, so 'n_egress' is 0 unless 'isolates_egress'
 * and likewise for ingress. */
struct k8s_netpol {
    char *namespace;
    char *name;
    char *resource_version;     /* May be NULL. */
    char *uid;                  /* metadata.uid, for Events; may be NULL. */
    /* NULL, except in a fail-closed stand-in (see objects_netpol_stand_in()
     * below): then why the policy was rejected, and it has no rules. */
    char *invalid;
    struct selector pod_selector;
    /* Effective policyTypes, defaults applied. */
    bool isolates_ingress;
    bool isolates_egress;
    struct np_rule *ingress;
    size_t n_ingress;
    struct np_rule *egress;
    size_t n_egress;
};

struct k8s_cnp;

/* One parsed object. */
struct k8s_object {
    enum obj_kind kind;
    union {
        struct k8s_namespace *ns;
        struct k8s_pod *pod;
        struct k8s_netpol *np;
        struct k8s_cnp *cnp;
        struct k8s_node *node;
    };
};

/* What a parse produced: the valid objects, in input order, and one message
 * per rejected object or unreadable input. */
struct obj_ref {
    enum obj_kind kind;
    char *ns;                   /* "" for a cluster-scoped kind. */
    char *name;
};

/* A rejected object whose kind and name could be read. */
struct obj_rejected {
    struct obj_ref ref;
    size_t error;               /* Its message: 'errors[error]'. */
    /* For a NetworkPolicy: its fail-closed stand-in (owned; a source that
     * delivers it sets this to NULL), or NULL. */
    struct k8s_object *stand_in;
};

struct obj_batch {
    struct k8s_object *objs;
    size_t n_objs, allocated_objs;
    char **errors;
    size_t n_errors, allocated_errors;
    /* The objects rejected whose kind and name could be read, so that a
     * source can keep their last valid version instead of dropping them
     * (dropping a policy would open traffic), or install the stand-in of a
     * NetworkPolicy that has none. */
    struct obj_rejected *rejected;
    size_t n_rejected, allocated_rejected;
    /* Part of the input could not be read, or not parsed far enough to
     * tell which objects it held (an unreadable file, a syntax error, an
     * object whose kind or name cannot be read): objects that it held may
     * be in neither 'objs' nor 'rejected'.  A source must then keep what it
     * had from this input rather than take it as deleted. */
    bool incomplete;
};

void obj_batch_init(struct obj_batch *);
/* Frees the objects still in the batch and the messages. */
void obj_batch_destroy(struct obj_batch *);

/* Parses every object in 'text' ('size' bytes): a single object, a v1 List
 * (or any *List kind with 'items'; Lists may hold Lists, three deep), an
 * array of those (as a whole JSON value or YAML document only), a JSON
 * stream, or multi-document YAML.
 * The format is recognized from the content.  'origin' names the input in
 * messages (e.g. a file name).  Objects of other kinds are skipped
 * silently.  Appends to 'batch'. */
void objects_parse_buffer(const char *origin, const char *text, size_t size,
                          struct obj_batch *batch);
/* Reads 'path' and parses it as above.  It must be a regular file of at
 * most OBJECTS_MAX_FILE_SIZE bytes: anything else (a FIFO, which is opened
 * without blocking, /dev/zero, a directory) is one error, as is a file
 * that cannot be opened or read. */
#define OBJECTS_MAX_FILE_SIZE (64 << 20)
void objects_parse_file(const char *path, struct obj_batch *batch);
/* Reads 'fd' (e.g. a pipe on standard input; blocking) to its end and
 * parses it as above, with 'origin' in messages.  More than
 * OBJECTS_MAX_FILE_SIZE bytes is one error. */
void objects_parse_stream(const char *origin, int fd,
                          struct obj_batch *batch);

/* Each of these validates one decoded JSON object.  They exist for the API
 * client, which gets objects one at a time from a watch stream.  'json' is a
 * 'const json_t *' (void here so that this header needs no jansson).
 * 'origin' names the source.  Returns the object (a new one that the caller
 * frees with k8s_object_destroy()) with '*error' NULL, or NULL after storing
 * a malloc'd message in '*error'.  Here a kind other than Namespace, Pod,
 * NetworkPolicy, ClusterNetworkPolicy and Node is an error. */
struct k8s_object *objects_from_json(const char *origin, const void *json,
                                     char **error)
    __attribute__((warn_unused_result));
/* The same for an object known to be of 'kind', such as an item of a
 * PodList, which the API server sends without 'kind' and 'apiVersion': a
 * missing 'kind' and 'apiVersion' are implied; present ones must match. */
struct k8s_object *objects_from_json_as(const char *origin, const void *json,
                                        enum obj_kind kind, char **error)
    __attribute__((warn_unused_result));

/* Fail-closed stand-ins.
 *
 * A NetworkPolicy that we must reject (invalid, or valid for the API server
 * but not for us) must not leave the pods it selects less isolated than
 * the policy asked: a source keeps its last valid version when it has one,
 * and otherwise installs its stand-in, a policy of the same namespace and
 * name that isolates the same pods in the same directions with no rules,
 * i.e. denies all of that traffic:
 *
 *   - the pods of spec.podSelector, or every pod of the namespace when the
 *     selector cannot be read;
 *   - the directions of spec.policyTypes (absent or empty: Ingress, plus
 *     Egress unless spec.egress is absent, null or []), or both when they
 *     cannot be read.
 *
 * Each consumer says so loudly: the rejection message followed by "; "
 * and OBJECTS_STAND_IN_NOTE in the log or on stderr, and the daemon's
 * status lists the stand-ins in force. */
#define OBJECTS_STAND_IN_NOTE \
    "isolating its pods with no rules until it is fixed"
#define OBJECTS_CNP_STAND_IN_NOTE \
    "denying every connection of its subject until it is fixed"
/* The note for a stand-in of kind 'kind'. */
#define OBJECTS_STAND_IN_NOTE_OF(KIND) \
    ((KIND) == OBJ_CNP ? OBJECTS_CNP_STAND_IN_NOTE : OBJECTS_STAND_IN_NOTE)

/* Returns the stand-in for the NetworkPolicy 'json' (a 'const json_t *'),
 * rejected with message 'error' (copied into its 'invalid'), as a new
 * object that the caller frees with k8s_object_destroy(); or NULL if
 * 'json' is not an object whose metadata.name is a non-empty string.  Its
 * namespace is metadata.namespace, or "default" as objects_from_json()
 * takes it.  The caller knows 'json' is a NetworkPolicy ('kind' is not
 * looked at). */
struct k8s_object *objects_netpol_stand_in(const void *json,
                                           const char *error)
    __attribute__((warn_unused_result));

/* The stand-in of a rejected object of kind 'kind' ('json', rejected with
 * 'error'): objects_netpol_stand_in() for a NetworkPolicy, cnp_stand_in()
 * (cnp.h) for a ClusterNetworkPolicy, NULL for other kinds (whose
 * rejection opens nothing) or if 'json' has no name. */
struct k8s_object *objects_stand_in(enum obj_kind kind, const void *json,
                                    const char *error)
    __attribute__((warn_unused_result));

/* Frees 'obj', which must come from the heap (as objects_from_json()'s
 * results do), and what it points to.  Accepts NULL. */
void k8s_object_destroy(struct k8s_object *obj);
void k8s_namespace_destroy(struct k8s_namespace *);
void k8s_pod_destroy(struct k8s_pod *);
void k8s_netpol_destroy(struct k8s_netpol *);
void k8s_node_destroy(struct k8s_node *);

/* The object's namespace ("" for a cluster-scoped kind) and name. */
const char *k8s_object_namespace(const struct k8s_object *);
const char *k8s_object_name(const struct k8s_object *);

/* The key that tells objects of one kind apart, malloc'd: "ns/name", or
 * "name" when 'ns' is NULL or "" (a Namespace).  Every map of objects
 * uses this one format, so that a key read from one can be looked up in
 * another, and in log lines. */
char *k8s_object_key(const char *ns, const char *name);

#endif
