/* The set of objects the compiler works on: Namespaces, Pods,
 * NetworkPolicies, ClusterNetworkPolicies and Nodes keyed by (kind,
 * namespace, name).
 *
 * The CLI fills it from files (a later object of the same key replaces an
 * earlier one, as 'kubectl apply' would); the daemon fills it from the API.
 * The cluster owns every object stored in it.  Lookups by namespace are
 * cheap because the compiler does them for every selector. */
#ifndef NP_CLUSTER_H
#define NP_CLUSTER_H 1

#include <stdbool.h>
#include <stddef.h>
#include "objects.h"

struct cluster;

struct cluster *cluster_create(void);
void cluster_destroy(struct cluster *);

/* Takes ownership of 'obj' (and of what it points to), replacing and
 * freeing any object of the same kind, namespace and name. */
void cluster_apply(struct cluster *, struct k8s_object *obj);
/* Moves every object out of 'batch' into the cluster, in order. */
void cluster_apply_batch(struct cluster *, struct obj_batch *batch);
/* Removes and frees the object; returns false if there was none. */
bool cluster_delete(struct cluster *, enum obj_kind, const char *ns,
                    const char *name);

const struct k8s_namespace *cluster_find_namespace(const struct cluster *,
                                                    const char *name);
const struct k8s_pod *cluster_find_pod(const struct cluster *,
                                       const char *ns, const char *name);
const struct k8s_netpol *cluster_find_netpol(const struct cluster *,
                                             const char *ns, const char *name);
struct k8s_cnp;
const struct k8s_cnp *cluster_find_cnp(const struct cluster *,
                                       const char *name);

/* How many objects of 'kind' it holds (cheap: no sorting). */
size_t cluster_count(const struct cluster *, enum obj_kind);

/* Arrays sorted by (namespace, name), valid until the next change.  A pod or
 * policy may name a namespace the cluster has no object for: such a
 * namespace has no labels. */
const struct k8s_namespace *const *cluster_namespaces(const struct cluster *,
                                                      size_t *n);
const struct k8s_pod *const *cluster_pods(const struct cluster *, size_t *n);
const struct k8s_netpol *const *cluster_netpols(const struct cluster *,
                                                size_t *n);
/* Cluster-scoped: sorted by name. */
struct k8s_cnp;
const struct k8s_cnp *const *cluster_cnps(const struct cluster *, size_t *n);
const struct k8s_node *const *cluster_nodes(const struct cluster *,
                                            size_t *n);

#endif
