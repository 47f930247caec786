/* The engine: the objects the daemon knows, and the flows they compile to.
 *
 * Inputs arrive from a source (the Kubernetes API or a directory) and from
 * the switch (which port a pod is on); each only records the change and
 * marks the engine pending.  The daemon calls engine_run() once per loop
 * iteration, so a burst of events costs one run.  Pure C over our own
 * structs: no OVS types, no JSON, no I/O.
 *
 * A run brings the desired table up to date through the incremental
 * compiler (src/incr.h): a pod event moves that pod in and out of the
 * sets of the rules that select it, a namespace event does so for its
 * pods, a policy event builds that policy again, and only the flows whose
 * entries changed are merged and written.  Conjunction ids and policy
 * numbers stay stable across runs, so an unchanged rule gives
 * byte-identical flows and the difference the switch gets is exactly what
 * changed.  engine_force_full() builds everything again from the cluster,
 * and must give the same table.  Every run is counted with its reason. */
#ifndef NP_ENGINE_H
#define NP_ENGINE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "compile.h"
#include "objects.h"

struct cluster;
struct flowtab;

struct engine_stats {
    uint64_t runs;              /* Runs that recomputed the table. */
    uint64_t events;            /* Inputs recorded since start. */
    char last_reason[160];      /* What triggered the last run. */
    double last_run_ms;
    size_t n_namespaces, n_pods, n_policies;
    size_t n_local_pods;        /* As of the last run, like the flows. */
    size_t n_unbound_ports;     /* Ports that carry no pod and send no IP
                                 * (engine_set_port_role()), as of now. */
    size_t n_flows;
    size_t n_warnings;
    size_t n_rejected;          /* Policies over the flow limit. */
    uint64_t full_recomputes;   /* engine_force_full() calls. */
    double last_batch_start_ms; /* engine_now_ms() of the first input the
                                 * last run included. */
    uint64_t policies_compiled; /* Policies built (again)... */
    uint64_t policies_reused;   /* ...and kept, summed over runs. */
    uint64_t pods_evaluated;    /* Pods taken out of their sets and put
                                 * back (since start). */
    uint64_t entries_changed;   /* Flow entries added or removed. */
    uint64_t flows_merged;      /* Flows merged again from them. */
    size_t last_changes;        /* Flows the last run changed. */
};

/* Creates an engine that compiles with 'opts' (copied; its port_of and
 * id allocators are replaced by the engine's own). */
struct engine *engine_create(const struct compile_options *opts);
void engine_destroy(struct engine *);

/* Takes ownership of 'obj'. */
void engine_apply(struct engine *, struct k8s_object *obj);
/* Relists are the sources' business: each delivers the deletions of what
 * it no longer has (kube-client from its LIST, source-dir from its scan),
 * and the engine keeps no second account of what it was given. */
void engine_delete(struct engine *, enum obj_kind, const char *ns,
                   const char *name);

/* Binds pod ns/name to switch port 'port' (text: a number or a name), or
 * updates the binding's addresses.  A pod may have several ports: a CNI
 * that replaces a pod's port plugs the new one before it deletes the old
 * one, and OVSDB may say anything.  Every port bound to the pod is guarded
 * as its own (its addresses go on from there, anything else from it is
 * dropped) until engine_unset_port() unbinds that port.
 *
 * 'addresses' (NULL or "" for none) are the addresses the CNI wrote on the
 * port, "10.244.1.5/24 fd00::5/64" (space- or comma-separated, prefix
 * lengths ignored): a pod whose status has no address yet gets those of
 * all its ports, so that its flows exist before the kubelet reports its
 * address, i.e. before its containers start.  A port gives at most 4
 * addresses per family (a pod has one per family in Kubernetes), each
 * once.  Returns NULL, or a malloc'd message of bounded length about
 * words of 'addresses' that are not addresses or addresses beyond the
 * bound (skipped; the binding still holds). */
char *engine_set_port(struct engine *, const char *ns, const char *name,
                      const char *port, const char *addresses)
    __attribute__((warn_unused_result));

/* Unbinds 'port' from pod ns/name; the pod's other ports stay bound. */
void engine_unset_port(struct engine *, const char *ns, const char *name,
                       const char *port);

/* Says what switch port 'port' (text as for engine_set_port()), which
 * carries no pod, is: COMPILE_PORT_UNBOUND sends no IP (its drops come
 * with the next run, in the same commit as everything else of that run);
 * COMPILE_PORT_NODE and COMPILE_PORT_UPLINK have no flows of their own;
 * COMPILE_PORT_POD forgets the port (deleted, or bound to a pod now: bind
 * it with engine_set_port() in the same batch, so that no run sees it
 * between the two).  The daemon classifies with compile_port_role(): the
 * engine never sees an OVS type. */
void engine_set_port_role(struct engine *, const char *port,
                          enum compile_port_role);
/* What engine_set_port_role() last said of 'port' (COMPILE_PORT_POD if
 * nothing, or it was forgotten). */
enum compile_port_role engine_port_role(const struct engine *,
                                        const char *port);

/* Calls 'cb' for every bound port with its pod and whether the compiler
 * gives that pod flows of its own (known, not finished, not hostNetwork,
 * with an address, on this node), as the cluster is now: right after
 * engine_run(), that is whether the port's flows are in the table that run
 * made. */
typedef void engine_port_fn(void *aux, const char *ns, const char *name,
                            const char *port, bool realized);
void engine_for_each_bound_port(const struct engine *, engine_port_fn *,
                                void *aux);

/* Asks for a run even without input. */
void engine_force(struct engine *, const char *reason);
/* Asks for a run that compiles every policy again instead of reusing the
 * rule flows of those no input touched: the full recompute, which must
 * give the same table ("recompute", a relist, tests). */
void engine_force_full(struct engine *, const char *reason);

bool engine_pending(const struct engine *);

/* Recomputes the desired table if anything is pending.  Returns true if it
 * ran. */
bool engine_run(struct engine *);

const struct flowtab *engine_desired(const struct engine *);
const struct cluster *engine_cluster(const struct engine *);
void engine_get_stats(const struct engine *, struct engine_stats *);
/* The durations of the runs (engine_run() calls that ran), in seconds:
 * metrics_seconds_buckets. */
struct metrics_histogram;
const struct metrics_histogram *engine_run_histogram(const struct engine *);
/* Warnings of the last run (e.g. an except list that blew up). */
const char *const *engine_warnings(const struct engine *, size_t *n);

/* The policies whose rules the last run left out because they need more
 * flows than compile_options' 'max_policy_flows' (they isolate their pods
 * and allow nothing), in policy order.  'is_new' is true for those that
 * were not left out, or not for this reason, by the run before: report
 * those once.  Valid until the next run. */
struct engine_rejection {
    const char *policy;         /* "ns/name". */
    const char *message;        /* Names the policy, the rule, the counts. */
    size_t flows;               /* It needs at least this many. */
    bool is_new;
};
const struct engine_rejection *engine_rejections(const struct engine *,
                                                 size_t *n);
/* The message of policy "ns/name" if the last run left its rules out,
 * else NULL. */
const char *engine_policy_rejection(const struct engine *,
                                    const char *policy);
/* The changes that turn 'installed' into the desired table: those of the
 * flows runs changed since the last call or engine_changes_reset(), which
 * 'installed' must have followed (it was a copy of the desired table at
 * the reset, and got every change this returned since): the cost of a
 * commit is what changed, not the table.  See flowtab_diff_journal().
 * Only after a first engine_changes_reset(). */
struct flow_change;
void engine_changes(struct engine *, const struct flowtab *installed,
                    struct flow_change **changes, size_t *n);
/* Forgets what changed: for a caller that takes the whole desired table
 * (a replace) or compares it whole. */
void engine_changes_reset(struct engine *);

/* The full recompute the engine's table must equal: compile_cluster() of
 * its cluster with its ids, ports and rule priority levels.  Tests compare
 * the two. */
void engine_compile_full(const struct engine *, struct np_flowset *out);
/* "ns/name" of policy number 'pno' (from a cookie), or NULL. */
const char *engine_policy_name(const struct engine *, uint32_t pno);
/* The ClusterNetworkPolicy that policy number 'pno' names (cookie kind
 * NPC_CNP: "ClusterNetworkPolicy NAME"), as the cluster holds it now, or
 * NULL. */
struct k8s_cnp;
const struct k8s_cnp *engine_policy_cnp(const struct engine *, uint32_t pno);
/* The rule that conjunction id 'id' (in reg0, reg1, ct_label) names. */
bool engine_rule_of_id(const struct engine *, uint32_t id,
                       struct np_rule_ref *);
/* The compile options the engine runs with. */
const struct compile_options *engine_options(const struct engine *);
/* Monotonic milliseconds, the clock of 'last_batch_start_ms'. */
double engine_now_ms(void);

#endif
