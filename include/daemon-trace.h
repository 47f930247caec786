/* daemon-trace: the daemon's 'explain' and 'trace' commands.
 *
 *   explain COOKIE|FLOW   one of our cookies decoded (trace.h), with
 *                         whether the installer has flows with it now
 *                         (and, for a ClusterNetworkPolicy rule, its tier
 *                         and action from the object)
 *   explain NS/POD        the ClusterNetworkPolicies and NetworkPolicies
 *                         that decide a pod's connections, per direction
 *                         in evaluation order (trace_explain_pod())
 *   trace SRC DST [PROTO/]PORT [--raw]
 *                         ovs-vswitchd's own ofproto/trace of a new
 *                         connection, read back with every flow of ours
 *                         named (trace.h)
 *
 * See README.md, "Debugging: trace and explain".  The commands read the
 * engine (the cluster, policy names, policies over the flow limit), the
 * installer (the generation, what is installed) and switch-db (which port
 * a pod is on), each through its header.
 *
 * Loop rules: a trace asks ovs-vswitchd through appctl without blocking
 * and is answered when the switch answers (or after 5 s); at most
 * DAEMON_TRACE_MAX wait at a time. */
#ifndef NP_DAEMON_TRACE_H
#define NP_DAEMON_TRACE_H 1

struct daemon_options;
struct engine;
struct installer;
struct switch_db;

/* Traces waiting for the switch, each holding a client's connection and
 * one to ovs-vswitchd: beyond this many a trace gets an error at once. */
#define DAEMON_TRACE_MAX 16

/* Registers 'explain' and 'trace' on the control socket (control.h).
 * Everything passed in is borrowed and must outlive the result. */
struct daemon_trace *daemon_trace_create(const struct daemon_options *,
                                         const struct engine *,
                                         const struct installer *,
                                         const struct switch_db *);

/* Answers the traces still waiting for the switch ("daemon stopping"). */
void daemon_trace_stop(struct daemon_trace *);

/* Stops, then frees.  The commands stay registered (OVS's unixctl has no
 * way back): call this once the loop has stopped, before control_destroy().
 * Accepts NULL. */
void daemon_trace_destroy(struct daemon_trace *);

#endif
