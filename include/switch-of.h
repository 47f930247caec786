/* switch-of: the OpenFlow connection to one bridge, and atomic flow changes.
 *
 * Connects to the bridge's management socket, RUNDIR/BRIDGE.mgmt (what
 * "ovs-ofctl br-int" uses), with OpenFlow 1.5 (OVS's rconn, no inactivity
 * probes on the unix socket), and keeps reconnecting: every 50 ms for the
 * first 2 s after the connection is lost (a restarted switch is back
 * soon, and our flows must be back at once), then with the wait doubled
 * after each attempt up to 4 s (a switch away for long costs an attempt
 * every 4 s, and its return waits at most that); a connection that lasted
 * less than 1 s does not earn the fast attempts again.  Failed attempts
 * are not logged one by one (rconn's messages are at "err" by default,
 * see ovs-loop.c): the owner learns of an outage once, from the
 * connection callback, and switch_of_get_outage() describes it.  Flows
 * go in as text in ovs-ofctl syntax, the compiler's output (compile.h), and
 * every change set goes to the switch as ONE atomic bundle
 * (OFPBF_ATOMIC | OFPBF_ORDERED): open, the flow_mods, a barrier; the
 * switch's replies to every flow_mod are checked after the barrier, and the
 * bundle is committed only if there were none, else discarded.  So a change
 * set applies completely or not at all, and lookups in the datapath never
 * see half of it.
 *
 * Loop rules: runs on ovs-loop (ovs_loop_init() first); nothing here blocks.
 * Requests are queued and run one at a time, in order, so that a dump or a
 * count sees every earlier commit; results come back through callbacks,
 * never from inside the call that made the request.  Large change sets are
 * parsed and sent in slices of a few thousand flows per loop iteration, so
 * the loop stays responsive (a 10 ms timer runs at most ~10 ms late while a
 * 100,000-flow bundle goes out); the inputs are copied, the caller may free
 * them as soon as the call returns.
 *
 * Connections: when the connection is lost (the switch restarted, or a
 * request timed out), every queued request fails and the connection callback
 * reports it; when it comes back, the callback reports a new connection
 * sequence number.  A restarted ovs-vswitchd has no flows: the owner then
 * installs everything again (switch_of_replace()).  A request made while
 * disconnected fails at once (SWITCH_OF_DISCONNECTED).
 *
 * No OVS type appears here; the module keeps them inside switch-of.c. */
#ifndef NP_SWITCH_OF_H
#define NP_SWITCH_OF_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "flowtab.h"

struct switch_of;

/* The changes are flowtab.h's, as the switch applies them.  A flow is
 * identified by (table, priority, match), as in OpenFlow.
 *
 *   FLOW_ADD     adds the flow; an existing flow with the same table,
 *                priority and match is replaced in place (it keeps its
 *                packet counters: OVS keeps them unless the flow_mod asks
 *                for reset_counts).
 *   FLOW_MODIFY  the same on the wire (an OpenFlow 1.5 "add"): replaces
 *                the actions and cookie of the flow with the same table,
 *                priority and match, keeping its packet counters, or adds
 *                it if it is missing ("strict modify or add").  (A 1.5
 *                modify_strict would neither add a missing flow nor change
 *                the cookie.)
 *   FLOW_DELETE  strict delete: the flow with exactly this table, priority
 *                and match, whatever its cookie; 'cookie' and 'actions' are
 *                ignored.  Deleting a missing flow is not an error.
 *
 * 'match' is the match part in ovs-ofctl syntax, e.g. "ip,nw_src=10.0.0.1"
 * ("" matches everything), 'actions' what follows "actions=", e.g.
 * "ct(table=1,zone=0)" or "drop".  Ports must be numbers: no port names
 * are resolved.  A change of a flow a table holds as conjunctions
 * (flowtab_change_conj()) has no text: its flow_mod is built from them
 * directly (OVS's text parser took ten times as long for a flow with
 * hundreds of them). */

/* How a commit ended. */
enum switch_of_status {
    SWITCH_OF_OK,               /* Committed: every change is in place. */
    SWITCH_OF_REJECTED,         /* A change did not parse, or the switch
                                 * refused a flow or the bundle: nothing was
                                 * applied. */
    SWITCH_OF_DISCONNECTED,     /* No connection, or it was lost before the
                                 * commit was sent: nothing was applied. */
    SWITCH_OF_UNKNOWN,          /* The connection was lost, or the request
                                 * timed out, after the commit was sent: it
                                 * may or may not have been applied.  The
                                 * connection is reset; reconcile when it is
                                 * back. */
};
const char *switch_of_status_to_string(enum switch_of_status);

struct switch_of_result {
    enum switch_of_status status;
    /* SWITCH_OF_REJECTED: the index, in the caller's array, of the first
     * change that failed, or SIZE_MAX when the failure is not one flow's
     * (the bundle itself, or the delete of switch_of_replace()). */
    size_t failed_index;
    size_t n_failed;            /* Changes the switch refused. */
    /* NULL for SWITCH_OF_OK; otherwise what went wrong, naming the flow
     * (its first 400 characters) when one did, e.g. "flow 2
     * (table=2,priority=12,cookie=0x4e50010000000101,ip,nw_src=10.9.0.3
     * actions=group:4242): the switch refused it: OFPBAC_BAD_OUT_GROUP
     * (Invalid group id in output action.)" or "flow 1 (...): is invalid:
     * unknown keyword no_such_field".  Valid during the callback. */
    const char *error;
    unsigned int seqno;         /* Connection the request ran on. */
    double seconds;             /* From the request to the result. */
};

typedef void switch_of_commit_cb(void *aux, const struct switch_of_result *);

/* Called whenever the connection sequence number changes, i.e. on every
 * connect and disconnect, with the state and number after the change.  If
 * the connection dropped and came back between two loop iterations, only
 * the second call happens ('connected' true, a number two higher): compare
 * the number, not the state, with the one of the last full install.  Also
 * called once, 'connected' false and the number unchanged, when the first
 * attempt after switch_of_create() fails: every outage begins with a call
 * with 'connected' false, and ends with one with 'connected' true. */
typedef void switch_of_conn_cb(void *aux, bool connected, unsigned int seqno);

/* Connects to 'rundir'/'bridge'.mgmt.  'conn_cb' (may be NULL) is called on
 * every connect and disconnect.  ovs_loop_init() must have been called.
 * Returns the new connection, which the caller destroys with
 * switch_of_destroy(). */
struct switch_of *switch_of_create(const char *rundir, const char *bridge,
                                   switch_of_conn_cb *conn_cb, void *aux);

/* Like switch_of_create() with an OVS connection target ("unix:PATH",
 * "tcp:IP:PORT", ...). */
struct switch_of *switch_of_create_target(const char *target,
                                          switch_of_conn_cb *conn_cb,
                                          void *aux);

/* Closes the connection.  Queued requests are dropped without their
 * callbacks.  Accepts NULL.  Not from inside one of its own callbacks. */
void switch_of_destroy(struct switch_of *);

bool switch_of_is_connected(const struct switch_of *);

/* An outage of the switch: while not connected, the current one, since
 * the connection was lost (or since switch_of_create()); once connected,
 * the one that connection ended (0 seconds if the first attempt after
 * switch_of_create() succeeded). */
struct switch_of_outage {
    bool connected;
    double seconds;
    unsigned long long attempts;    /* Connection attempts in it. */
    /* Not connected: why the last attempt failed or the connection was
     * lost, e.g. "No such file or directory", or NULL; valid until the
     * loop runs again.  Seconds to the next attempt (0: under way). */
    const char *error;
    double next_attempt;
};
void switch_of_get_outage(const struct switch_of *, struct switch_of_outage *);

/* Changes every time the connection is made or lost: when it differs from
 * the value at the last full install, install everything again. */
unsigned int switch_of_get_seqno(const struct switch_of *);

/* A request that gets no answer within 'ms' milliseconds (default 60000)
 * resets the connection and fails (SWITCH_OF_UNKNOWN, or
 * SWITCH_OF_DISCONNECTED if it had not committed yet). */
void switch_of_set_timeout(struct switch_of *, unsigned int ms);

/* Applies the 'n' 'changes' in one atomic bundle, in order, then calls
 * 'cb' (may be NULL) with the result.  The caller retains ownership of
 * 'changes' and may free them when this returns. */
void switch_of_commit(struct switch_of *, const struct flow_change *changes,
                      size_t n, switch_of_commit_cb *cb, void *aux);

/* In one atomic bundle: deletes every flow whose cookie matches 'cookie'
 * under 'cookie_mask', in every table, then adds the 'n' 'flows' (their
 * types are ignored).  Flows whose cookies do not match stay untouched,
 * so this installs generation N+1 over generation N without a moment with
 * neither, and leaves other controllers' flows alone.  E.g. with cookie
 * NP_COOKIE_OURS and mask NP_COOKIE_MASK_OURS (cookie.h) it replaces all
 * of ours, of every generation (the adds come after the delete, so they
 * stay).
 * 'failed_index' in the result indexes 'flows'.  The caller retains
 * ownership of 'flows'. */
void switch_of_replace(struct switch_of *, uint64_t cookie,
                       uint64_t cookie_mask, const struct flow_change *flows,
                       size_t n, switch_of_commit_cb *cb, void *aux);

/* Flows as the switch reports them, normalized the way "ovs-ofctl
 * dump-flows" prints them: 'match' without the priority, 'actions' without
 * "actions=" ("drop" when empty). */
struct switch_of_flow {
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    char *match;
    char *actions;
    /* The flow's counters (switch_of_dump() only; 0 elsewhere): since it
     * was added, kept when a FLOW_ADD or FLOW_MODIFY replaces it. */
    uint64_t n_packets, n_bytes;
};

struct switch_of_flows {
    enum switch_of_status status;   /* SWITCH_OF_OK or why not. */
    const char *error;              /* NULL if OK; valid during callback. */
    /* Sorted by table, descending priority, then match (strcmp), like a
     * compiled np_flowset. */
    struct switch_of_flow *flows;
    size_t n_flows;
};

/* Gets the result of switch_of_dump().  The callback may keep 'flows->flows'
 * by setting it to NULL (it then frees it with switch_of_flows_free());
 * otherwise it is freed when the callback returns. */
typedef void switch_of_dump_cb(void *aux, struct switch_of_flows *flows);

/* Dumps every flow whose cookie matches 'cookie' under 'cookie_mask' (mask
 * 0: every flow), in every table, with their counters: for drift checks
 * (compare with what was installed, normalized by switch_of_normalize())
 * and the counters per rule ('stats'). */
void switch_of_dump(struct switch_of *, uint64_t cookie, uint64_t cookie_mask,
                    switch_of_dump_cb *cb, void *aux);

void switch_of_flows_free(struct switch_of_flow *, size_t n);

/* Counts the flows whose cookie matches 'cookie' under 'cookie_mask' (an
 * OpenFlow aggregate-stats request: 0.05 s at 100,000 flows, against 0.5 s
 * for a dump), a cheap first drift check. */
typedef void switch_of_count_cb(void *aux, enum switch_of_status,
                                const char *error, uint64_t n_flows);
void switch_of_count(struct switch_of *, uint64_t cookie,
                     uint64_t cookie_mask, switch_of_count_cb *cb, void *aux);

/* Parses a flow and normalizes it to what switch_of_dump() returns for it
 * once installed (parsed, encoded for OpenFlow 1.5, decoded as the switch
 * decodes it, formatted).  Stores malloc()'d strings in '*match' and
 * '*actions' and returns NULL, or returns a malloc()'d error message (then
 * stores NULLs).  The message also covers a match field that the encoding
 * would drop because its prerequisite is missing (e.g. nw_src without ip):
 * such a flow would match more than it says.  Needs no connection. */
char *switch_of_normalize(uint8_t table, uint16_t priority,
                          const char *match, const char *actions,
                          char **match_out, char **actions_out)
    __attribute__((warn_unused_result));

/* Flow monitor: reports flow changes made by OTHER connections to the bridge
 * (ovs-ofctl, another controller); our own changes are not reported.  Once
 * enabled it is requested again on every connection.  SWITCH_OF_RESYNC
 * means the switch stopped reporting individual changes for a while (many
 * changes at once, e.g. "ovs-ofctl del-flows"): compare everything.  There
 * is no way to turn it off again short of switch_of_destroy(). */
enum switch_of_event {
    SWITCH_OF_FLOW_ADDED,
    SWITCH_OF_FLOW_REMOVED,
    SWITCH_OF_FLOW_MODIFIED,
    SWITCH_OF_RESYNC,           /* 'flow' is NULL. */
};
typedef void switch_of_monitor_cb(void *aux, enum switch_of_event,
                                  const struct switch_of_flow *flow);
void switch_of_monitor(struct switch_of *, switch_of_monitor_cb *cb,
                       void *aux);

/* The audit copies (pipeline.h, ovs/pipeline.md "Audit").  Once enabled,
 * on every connection and before any request: the connection takes
 * controller id NP_AUDIT_CONTROLLER_ID (so that it gets our copies and no
 * other controller's), packet-ins in the NXT_PACKET_IN2 format (they carry
 * the flow's registers and userdata), packet-ins of the "action" reason
 * only and no other asynchronous message; and meter 'meter_id' is added
 * (or modified, if it exists: its flows keep it) to let at most 'rate'
 * packets per second through, 'burst' in a row.  The switch resolves a
 * controller action's meter when the flow is added, so the meter must
 * come first: it does, on the same connection.  A copy whose userdata is
 * not ours is ignored.  'cb' gets each copy, parsed. */
struct switch_of_packet_in {
    uint8_t table;              /* Absolute table number. */
    uint64_t cookie;
    bool allow;                 /* The userdata's verdict. */
    bool ingress;               /* ...and direction. */
    uint32_t reg0, reg1;        /* The deciding rules' ids, or 0. */
    struct ip_addr src, dst;    /* family 0: not IP. */
    uint8_t proto;
    uint16_t src_port, dst_port;        /* TCP, UDP, SCTP; ICMP type and
                                         * code; else 0. */
};
typedef void switch_of_packet_in_cb(void *aux,
                                    const struct switch_of_packet_in *);
void switch_of_audit(struct switch_of *, uint32_t meter_id, unsigned int rate,
                     unsigned int burst, switch_of_packet_in_cb *cb,
                     void *aux);
/* What the switch said against the audit setup on the current connection
 * (e.g. it has no meters), or NULL. */
const char *switch_of_audit_error(const struct switch_of *);

/* Asks for the audit meter's counters: the packets that reached it, and
 * those its band dropped.  'cb' gets them ('ok' false: no connection, or
 * the switch refused; then the counts are 0).  One at a time: a request
 * while one is out is dropped (returns false). */
typedef void switch_of_meter_cb(void *aux, bool ok, uint64_t packets,
                                uint64_t dropped);
bool switch_of_meter_stats(struct switch_of *, switch_of_meter_cb *cb,
                           void *aux);

/* Counters, for tests and the control socket. */
struct switch_of_stats {
    unsigned long long n_commits;       /* Bundles committed. */
    unsigned long long n_rejected;
    unsigned long long n_flow_mods;     /* Flow changes sent in bundles. */
    unsigned long long n_monitor_events;
    unsigned long long n_connect_attempts;  /* Since switch_of_create(). */
    unsigned long long n_packet_ins;        /* Audit copies received... */
    unsigned long long n_packet_ins_bad;    /* ...not ours or unreadable. */
};
void switch_of_get_stats(const struct switch_of *, struct switch_of_stats *);

#endif
