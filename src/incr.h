/* The incremental compiler: keeps the table compile_cluster() would give
 * for a cluster up to date as the cluster changes, doing for each change
 * the work that change needs, not the work the cluster holds.
 *
 * Like OVN's address sets, the unit of work is a flow.  Every rule keeps
 * the sets its conjunction is made of (the local pods its policy selects,
 * its peers, its ports; for a named port, the destinations that resolve
 * it to each number) as counted matches, and each member's match is one
 * entry (one conjunction action, or one flow of its own) on the flow with
 * that match.  A flow is the merge of its entries: the first flow of its
 * own wins, else every conjunction action in (id, clause) order.  A pod
 * event takes the pod out of every set it was in and puts it into those it
 * is in now, found through an index of the selectors by the labels they
 * name; a namespace event does that for the namespace's pods; a policy
 * event builds that policy again.  The spoof guard, orphan ports and
 * default deny of a pod are rebuilt with it; the drops of a port that
 * carries no pod come and go with that port (incr_unbound_port()).  Only
 * the flows whose entries changed are merged again and written into the
 * desired table.
 *
 * Used by src/engine.c only; tests compare its table with
 * compile_cluster()'s. */
#ifndef NP_INCR_H
#define NP_INCR_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "compile.h"
#include "objects.h"

struct cluster;
struct flowtab;

/* 'opts' must stay valid (the engine's); 'cluster' is read as it changes:
 * call incr_*_before() before an object is replaced or deleted in it, and
 * incr_*_after() once it is there. */
struct incr *incr_create(const struct compile_options *opts,
                         const struct cluster *cluster,
                         struct flowtab *desired);
void incr_destroy(struct incr *);

void incr_pod_before(struct incr *, const char *ns, const char *name);
void incr_pod_after(struct incr *, const char *ns, const char *name);
/* The pod's object was replaced by one the flows see the same (same
 * labels, addresses, ports, phase, node): nothing to take out. */
void incr_pod_replaced(struct incr *, const char *ns, const char *name);
void incr_policy_before(struct incr *, const char *ns, const char *name);
void incr_policy_after(struct incr *, const char *ns, const char *name);
void incr_namespace_before(struct incr *, const char *name);
void incr_namespace_after(struct incr *, const char *name);

/* A ClusterNetworkPolicy or a Node changed (or was deleted): the next
 * run takes the peer classes from the policies again and builds the
 * tiers' rules again.  (Pod and namespace events change the classes'
 * counts and the classifying flows of the pod's addresses, and the rules
 * only if they name the pod one by one: see struct incr in incr.c.) */
void incr_tiers_changed(struct incr *);

/* Port 'port' now carries no pod and is neither an uplink nor a node port
 * ('unbound'), or no longer is: its drops come or go at the next
 * incr_run().  The caller keeps opts->unbound_ports in step before that
 * run (a full build reads the list). */
void incr_unbound_port(struct incr *, const char *port, bool unbound);

/* Builds everything again from the cluster at the next incr_run(). */
void incr_force_full(struct incr *);

/* Brings 'desired' up to date.  Returns the number of flows it added,
 * changed or removed. */
size_t incr_run(struct incr *);

/* Rule priority levels the table uses (see compile_cluster()). */
unsigned int incr_buckets(const struct incr *);

struct incr_stats {
    uint64_t policies_built;    /* Policies compiled (built again). */
    uint64_t pods_evaluated;    /* Pods taken out and put back. */
    uint64_t full_builds;
    uint64_t entries_changed;   /* Entries added or removed. */
    uint64_t keys_merged;       /* Flows merged again. */
    uint64_t tier_builds;       /* ClusterNetworkPolicy tiers' rules built. */
    size_t pods_on_node;        /* Pods known on opts->node. */
};
void incr_get_stats(const struct incr *, struct incr_stats *);

/* As of the last incr_run(): warnings, policies over the flow limit (in
 * policy order), and policy number -> "ns/name".  'changed' tells whether
 * these lists differ from the run before's. */
const char *const *incr_warnings(const struct incr *, size_t *n);
const struct np_rejected *incr_rejected(const struct incr *, size_t *n);
const char *incr_policy_name(const struct incr *, uint32_t pno);

#endif
