/* switch-of: the OpenFlow connection to one bridge, and atomic flow changes.
 * See include/switch-of.h.
 *
 * Requests (bundles, dumps, counts) wait in 'requests' and run one at a
 * time, the head first.  We choose every xid ourselves (the flow_mod of
 * change i of a bundle gets xid first_xid + i, and so does its bundle_add,
 * which must carry its embedded message's xid), so that an error reply names
 * its flow.  rconn_recv() hands us every reply: vconn_transact() would drop
 * the error replies to earlier bundle adds, and blocks. */

#include <config.h>

#include "switch-of.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "ovs-loop.h"

#include "byte-order.h"
#include "openflow/openflow.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/list.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-actions.h"
#include "openvswitch/ofp-bundle.h"
#include "openvswitch/ofp-errors.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-match.h"
#include "openvswitch/ofp-meter.h"
#include "openvswitch/ofp-monitor.h"
#include "openvswitch/ofp-packet.h"
#include "openvswitch/ofp-switch.h"
#include "openvswitch/ofp-connection.h"
#include "openflow/nicira-ext.h"
#include "dp-packet.h"
#include "flow.h"
#include "pipeline.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofp-util.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/rconn.h"
#include "openvswitch/vlog.h"
#include "timeval.h"
#include "lib/util.h"      /* OVS's; ours is include/np-util.h. */

VLOG_DEFINE_THIS_MODULE(switch_of);

/* What we speak, and how. */
#define PROTOCOL OFPUTIL_P_OF15_OXM
#define OF_VERSION OFP15_VERSION
#define BUNDLE_FLAGS (OFPBF_ATOMIC | OFPBF_ORDERED)

/* When to try to connect, while the switch is unreachable.  rconn's own
 * backoff (a second, then more) is parked: we make every attempt.
 *
 * A restarted local ovs-vswitchd is back within a second or so, and every
 * millisecond without our flows loses traffic: for FAST_RETRY_PERIOD_MS
 * after the connection is lost (or after the start) we try every
 * FAST_RETRY_MS (a unix socket connect costs nothing).  A switch that is
 * away for longer (an upgrade, a crash loop, a mistyped --bridge) gets
 * each wait doubled, up to MAX_RETRY_MS: a long outage costs one attempt
 * every few seconds, and the switch's return waits at most that long.  A
 * connection that lasted less than STABLE_MS does not earn the fast
 * retries again: a switch that accepts us and drops us at once keeps
 * being backed off from. */
#define FAST_RETRY_MS 50
#define FAST_RETRY_PERIOD_MS 2000
#define MAX_RETRY_MS 4000
#define STABLE_MS 1000

/* rconn's backoff, seconds: never reached, as we park it (above). */
#define MAX_BACKOFF 60

/* Flow changes parsed and queued per loop iteration, and the most messages
 * waiting in the rconn's send queue before we stop adding: together they
 * bound the time one iteration takes (a few ms) and the memory queued. */
#define SLICE 4096
#define MAX_TXQ (4 * SLICE)

/* Messages read per loop iteration. */
#define MAX_RECV 2048

#define DEFAULT_TIMEOUT_MS 60000

#define MONITOR_ID 1

/* Characters of a flow quoted in an error message. */
#define MAX_FLOW_IN_ERROR 400

/* One change, its strings in the request's arena, its conjunctions (if
 * 'n_conj') in the request's 'conj'. */
struct change {
    enum flow_change_type op;
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    size_t match_ofs;
    size_t actions_ofs;
    size_t conj_ofs;
    size_t n_conj;
};

enum request_kind {
    REQ_BUNDLE,
    REQ_DUMP,
    REQ_COUNT,
};

enum bundle_state {
    B_SENDING,                  /* Sending the flow_mods. */
    B_WAIT_BARRIER,             /* Sent the barrier. */
    B_WAIT_COMMIT,              /* Sent the commit. */
};

struct request {
    struct ovs_list node;       /* In struct switch_of's 'requests'. */
    enum request_kind kind;
    bool started;
    bool fail_now;              /* Made while disconnected. */
    unsigned int seqno;         /* Connection it belongs to. */
    long long int created;      /* time_msec(). */
    long long int deadline;     /* Once started. */
    void *aux;

    /* REQ_BUNDLE. */
    switch_of_commit_cb *commit_cb;
    struct change *changes;
    size_t n_changes;
    char *strs;                 /* Arena of the matches and actions. */
    uint64_t *conj;             /* Arena of the changes' conjunctions. */
    bool has_delete;            /* switch_of_replace()'s delete first. */
    uint64_t del_cookie, del_mask;
    enum bundle_state state;
    size_t next;                /* Next change to send. */
    uint32_t bundle_id;
    uint32_t open_xid, del_xid, first_xid, barrier_xid, commit_xid;
    bool commit_sent;
    size_t failed_index;        /* SIZE_MAX: not one flow's. */
    size_t n_failed;
    char *error;                /* First error, or NULL. */

    /* REQ_DUMP and REQ_COUNT. */
    switch_of_dump_cb *dump_cb;
    switch_of_count_cb *count_cb;
    uint64_t cookie, cookie_mask;
    uint32_t xid;
    struct switch_of_flow *flows;
    size_t n_flows, allocated_flows;
    uint64_t count;
};

struct switch_of {
    struct rconn *rconn;
    struct rconn_packet_counter *txq;
    char *target;
    struct ovs_loop_client *client;

    /* Reconnection (see FAST_RETRY_MS).  While not connected, the rconn
     * is parked in its VOID state between our attempts. */
    long long int next_attempt;     /* time_msec() of the next attempt. */
    long long int fast_until;       /* Fast retries until then. */
    int retry_ms;                   /* The last wait. */
    bool attempting;                /* An attempt is under way. */
    long long int outage_start;     /* time_msec(): connection lost, or
                                     * switch_of_create(). */
    unsigned long long outage_attempts;
    bool outage_reported;           /* conn_cb() said "not connected". */
    double last_outage_s;           /* The outage the connection ended. */
    unsigned long long last_outage_attempts;
    long long int connected_at;     /* time_msec() of the last connect. */
    char error[80];                 /* Why the switch is unreachable. */
    switch_of_conn_cb *conn_cb;
    void *conn_aux;

    unsigned int seqno;         /* rconn's, as last reported. */
    bool connected;             /* As last reported. */

    struct ovs_list requests;   /* struct request, head running. */
    bool check_failures;        /* Some request may have to fail. */
    uint32_t next_xid;
    uint32_t next_bundle_id;
    unsigned int timeout_ms;

    switch_of_monitor_cb *monitor_cb;
    void *monitor_aux;
    uint32_t monitor_xid;
    unsigned int monitor_seqno; /* Connection the request went out on. */

    /* The audit copies (switch_of_audit()). */
    bool audit;
    uint32_t meter_id;
    unsigned int meter_rate, meter_burst;
    switch_of_packet_in_cb *pin_cb;
    void *pin_aux;
    unsigned int audit_seqno;   /* Connection the setup went out on. */
    uint32_t audit_first_xid, audit_meter_add_xid, audit_last_xid;
    char *audit_error;
    uint32_t meter_stats_xid;   /* 0: none out. */
    unsigned int meter_stats_seqno;
    switch_of_meter_cb *meter_cb;
    void *meter_aux;

    struct switch_of_stats stats;
};

static void switch_of_run(void *);
static void packet_in_process(struct switch_of *, const struct ofp_header *);
static void meter_stats_process(struct switch_of *, const struct ofp_header *);
static bool audit_error_process(struct switch_of *, const struct ofp_header *);
static void switch_of_wait(void *);
static void connect_attempt(struct switch_of *);
static void request_destroy(struct request *);

const char *
switch_of_status_to_string(enum switch_of_status status)
{
    switch (status) {
    case SWITCH_OF_OK: return "ok";
    case SWITCH_OF_REJECTED: return "rejected";
    case SWITCH_OF_DISCONNECTED: return "disconnected";
    case SWITCH_OF_UNKNOWN: return "unknown";
    }
    return "?";
}

struct switch_of *
switch_of_create(const char *rundir, const char *bridge,
                 switch_of_conn_cb *conn_cb, void *aux)
{
    char *target = xasprintf("unix:%s/%s.mgmt", rundir, bridge);
    struct switch_of *sw = switch_of_create_target(target, conn_cb, aux);
    free(target);
    return sw;
}

struct switch_of *
switch_of_create_target(const char *target, switch_of_conn_cb *conn_cb,
                        void *aux)
{
    struct switch_of *sw = xzalloc(sizeof *sw);

    sw->target = xstrdup(target);
    sw->conn_cb = conn_cb;
    sw->conn_aux = aux;
    ovs_list_init(&sw->requests);
    sw->next_xid = 0x4e500000;  /* Anything; ours are easy to spot. */
    sw->next_bundle_id = 0;
    sw->timeout_ms = DEFAULT_TIMEOUT_MS;

    /* Probe interval 0: a unix socket needs no inactivity probes, and with
     * big bundles the switch may well be busy for seconds. */
    sw->rconn = rconn_create(0, MAX_BACKOFF, 0, 1u << OF_VERSION);
    sw->txq = rconn_packet_counter_create();
    sw->outage_start = time_msec();
    sw->fast_until = sw->outage_start + FAST_RETRY_PERIOD_MS;
    sw->connected_at = LLONG_MIN;
    connect_attempt(sw);
    sw->seqno = rconn_get_connection_seqno(sw->rconn);

    sw->client = ovs_loop_register(switch_of_run, switch_of_wait, sw);
    return sw;
}

void
switch_of_destroy(struct switch_of *sw)
{
    struct request *r;

    if (!sw) {
        return;
    }
    ovs_loop_unregister(sw->client);
    LIST_FOR_EACH_POP (r, node, &sw->requests) {
        request_destroy(r);
    }
    rconn_destroy(sw->rconn);
    rconn_packet_counter_destroy(sw->txq);
    free(sw->audit_error);
    free(sw->target);
    free(sw);
}

bool
switch_of_is_connected(const struct switch_of *sw)
{
    return sw->connected;
}

unsigned int
switch_of_get_seqno(const struct switch_of *sw)
{
    return sw->seqno;
}

void
switch_of_set_timeout(struct switch_of *sw, unsigned int ms)
{
    sw->timeout_ms = ms ? ms : DEFAULT_TIMEOUT_MS;
}

void
switch_of_get_stats(const struct switch_of *sw, struct switch_of_stats *stats)
{
    *stats = sw->stats;
}

/* Requests. */

static struct request *
request_create(struct switch_of *sw, enum request_kind kind, void *aux)
{
    struct request *r = xzalloc(sizeof *r);

    r->kind = kind;
    r->aux = aux;
    r->seqno = sw->seqno;
    r->fail_now = !sw->connected;
    r->created = time_msec();
    r->failed_index = SIZE_MAX;
    ovs_list_push_back(&sw->requests, &r->node);
    if (r->fail_now) {
        sw->check_failures = true;
    }
    ovs_loop_wake();
    return r;
}

static void
request_destroy(struct request *r)
{
    if (r) {
        free(r->changes);
        free(r->strs);
        free(r->conj);
        free(r->error);
        switch_of_flows_free(r->flows, r->n_flows);
        free(r);
    }
}

static uint32_t
alloc_xids(struct switch_of *sw, uint32_t n)
{
    uint32_t xid = sw->next_xid;
    sw->next_xid += n;
    return xid;
}

static void
set_xid(struct ofpbuf *msg, uint32_t xid)
{
    struct ofp_header *oh = msg->data;
    oh->xid = htonl(xid);
}

static void
send_msg(struct switch_of *sw, struct ofpbuf *msg, uint32_t xid)
{
    set_xid(msg, xid);
    /* On error (not connected) 'msg' is freed and the next run notices the
     * new connection sequence number.  'txq' counts what waits in the
     * rconn's send queue. */
    rconn_send(sw->rconn, msg, sw->txq);
}

/* Messages of ours waiting in the rconn's send queue.  (The counter is
 * O(1); rconn_count_txqlen() walks the queue.) */
static unsigned int
txq_len(const struct switch_of *sw)
{
    return rconn_packet_counter_n_packets(sw->txq);
}

static void
send_bundle_ctrl(struct switch_of *sw, const struct request *r,
                 uint16_t type, uint32_t xid)
{
    struct ofputil_bundle_ctrl_msg bc = {
        .bundle_id = r->bundle_id,
        .type = type,
        .flags = BUNDLE_FLAGS,
    };
    send_msg(sw, ofputil_encode_bundle_ctrl_request(OF_VERSION, &bc), xid);
}

/* Change 'i' of 'r' as ovs-ofctl text; with 'conj_as_drop', a change
 * with conjunctions has "drop" for its actions (they are added to the
 * parsed flow_mod afterwards). */
static void
format_change__(struct ds *s, const struct request *r, size_t i,
                bool conj_as_drop)
{
    const struct change *c = &r->changes[i];
    const char *match = r->strs + c->match_ofs;

    ds_put_format(s, "table=%"PRIu8",priority=%"PRIu16, c->table,
                  c->priority);
    if (c->op != FLOW_DELETE) {
        ds_put_format(s, ",cookie=%#"PRIx64, c->cookie);
    }
    if (*match) {
        ds_put_format(s, ",%s", match);
    }
    if (c->op == FLOW_DELETE) {
        return;
    }
    ds_put_cstr(s, " actions=");
    if (!c->n_conj) {
        ds_put_cstr(s, r->strs + c->actions_ofs);
    } else if (conj_as_drop) {
        ds_put_cstr(s, "drop");
    } else {
        for (size_t j = 0; j < c->n_conj; j++) {
            uint64_t x = r->conj[c->conj_ofs + j];
            ds_put_format(s, "%sconjunction(%"PRIu64",%u/%u)", j ? "," : "",
                          x >> 16, (unsigned int) (x >> 8) & 0xff,
                          (unsigned int) x & 0xff);
        }
    }
}

static void
format_change(struct ds *s, const struct request *r, size_t i)
{
    format_change__(s, r, i, false);
}

/* Replaces the actions of 'fm' (parsed with "drop") by change 'c''s
 * conjunctions, checked as OVS's parser checks them.  Returns NULL or a
 * malloc()'d message. */
static char *
put_conjunctions(struct ofputil_flow_mod *fm, const struct request *r,
                 const struct change *c)
{
    struct ofpbuf ofpacts;

    ofpbuf_init(&ofpacts, c->n_conj * sizeof(struct ofpact_conjunction));
    for (size_t j = 0; j < c->n_conj; j++) {
        uint64_t x = r->conj[c->conj_ofs + j];
        uint8_t clause = (x >> 8) & 0xff, n_clauses = x & 0xff;
        if (n_clauses < 2 || n_clauses > 64 || clause < 1
            || clause > n_clauses || x >> 48) {
            ofpbuf_uninit(&ofpacts);
            return xasprintf("conjunction %"PRIuSIZE" of the flow is "
                             "(%"PRIu64",%u/%u): no such clause", j,
                             x >> 16, clause, n_clauses);
        }
        struct ofpact_conjunction *oc = ofpact_put_CONJUNCTION(&ofpacts);
        oc->id = x >> 16;
        oc->clause = clause - 1;
        oc->n_clauses = n_clauses;
    }
    free(CONST_CAST(struct ofpact *, fm->ofpacts));
    fm->ofpacts_len = ofpacts.size;
    fm->ofpacts = ofpbuf_steal_data(&ofpacts);
    return NULL;
}

/* Records the first error of bundle 'r': 'index' names a change or is
 * SIZE_MAX.  Takes ownership of 'msg'. */
static void
bundle_error(struct request *r, size_t index, char *msg)
{
    if (index != SIZE_MAX) {
        r->n_failed++;
    }
    if (!r->error) {
        if (index != SIZE_MAX) {
            struct ds s = DS_EMPTY_INITIALIZER;
            size_t start;

            ds_put_format(&s, "flow %"PRIuSIZE" (", index);
            start = s.length;
            format_change(&s, r, index);
            if (s.length - start > MAX_FLOW_IN_ERROR) {
                /* Long action lists: the start names the flow. */
                ds_truncate(&s, start + MAX_FLOW_IN_ERROR);
                ds_put_cstr(&s, "...");
            }
            ds_put_format(&s, "): %s", msg);
            free(msg);
            msg = ds_steal_cstr(&s);
        }
        r->error = msg;
        r->failed_index = index;
    } else {
        free(msg);
    }
}

static double
elapsed(const struct request *r)
{
    return (time_msec() - r->created) / 1000.0;
}

/* Removes 'r' from the queue, reports 'status' to its owner and frees it.
 * 'error' is the message unless 'r' has its own (bundle errors). */
static void
request_complete(struct switch_of *sw, struct request *r,
                 enum switch_of_status status, const char *error)
{
    ovs_list_remove(&r->node);

    switch (r->kind) {
    case REQ_BUNDLE: {
        struct switch_of_result result = {
            .status = status,
            .failed_index = status == SWITCH_OF_REJECTED
                            ? r->failed_index : SIZE_MAX,
            .n_failed = r->n_failed,
            .error = (status == SWITCH_OF_OK ? NULL
                      : r->error && status == SWITCH_OF_REJECTED ? r->error
                      : error ? error : r->error),
            .seqno = r->seqno,
            .seconds = elapsed(r),
        };
        if (status == SWITCH_OF_OK) {
            sw->stats.n_commits++;
        } else {
            if (status == SWITCH_OF_REJECTED) {
                sw->stats.n_rejected++;
            }
            VLOG_INFO("bundle of %"PRIuSIZE" changes not committed (%s): %s",
                      r->n_changes, switch_of_status_to_string(status),
                      result.error ? result.error : "?");
        }
        if (r->commit_cb) {
            r->commit_cb(r->aux, &result);
        }
        break;
    }

    case REQ_DUMP: {
        struct switch_of_flows flows = {
            .status = status,
            .error = status == SWITCH_OF_OK ? NULL : error,
            .flows = status == SWITCH_OF_OK ? r->flows : NULL,
            .n_flows = status == SWITCH_OF_OK ? r->n_flows : 0,
        };
        if (r->dump_cb) {
            r->dump_cb(r->aux, &flows);
        }
        if (status == SWITCH_OF_OK && !flows.flows) {
            /* The callback kept them. */
            r->flows = NULL;
            r->n_flows = 0;
        }
        break;
    }

    case REQ_COUNT:
        if (r->count_cb) {
            r->count_cb(r->aux, status,
                        status == SWITCH_OF_OK ? NULL : error,
                        status == SWITCH_OF_OK ? r->count : 0);
        }
        break;
    }
    request_destroy(r);
}

/* Fails every request that belongs to an earlier connection or was made
 * while there was none. */
static void
fail_stale_requests(struct switch_of *sw)
{
    struct ovs_list stale = OVS_LIST_INITIALIZER(&stale);
    struct request *r;

    /* Collect them first: a callback that retries at once adds a request
     * that waits for the next iteration instead of failing in this loop. */
    sw->check_failures = false;
    LIST_FOR_EACH_SAFE (r, node, &sw->requests) {
        if (r->fail_now || r->seqno != sw->seqno || !sw->connected) {
            ovs_list_remove(&r->node);
            ovs_list_push_back(&stale, &r->node);
        }
    }
    LIST_FOR_EACH_SAFE (r, node, &stale) {
        bool unknown = r->kind == REQ_BUNDLE && r->commit_sent;
        request_complete(sw, r,
                         unknown ? SWITCH_OF_UNKNOWN : SWITCH_OF_DISCONNECTED,
                         unknown
                         ? "the connection to the switch was lost after the "
                           "commit was sent"
                         : "not connected to the switch");
    }
}

/* Copies the changes into 'r', with their strings in one arena and their
 * conjunctions in another.  With 'replace', every change is an add. */
static void
copy_changes(struct request *r, const struct flow_change *changes, size_t n,
             bool replace)
{
    size_t i, size = 0, ofs = 0, n_conj = 0, conj_ofs = 0;

    r->changes = xmalloc((n ? n : 1) * sizeof *r->changes);
    r->n_changes = n;
    for (i = 0; i < n; i++) {
        size_t nc;
        const char *actions = changes[i].actions;
        if (flowtab_change_conj(&changes[i], &nc)) {
            n_conj += nc;
            actions = NULL;     /* Made from the conjunctions. */
        }
        size += strlen(changes[i].match ? changes[i].match : "") + 1;
        size += strlen(actions ? actions : "") + 1;
    }
    r->strs = xmalloc(size ? size : 1);
    r->conj = n_conj ? xmalloc(n_conj * sizeof *r->conj) : NULL;
    for (i = 0; i < n; i++) {
        struct change *c = &r->changes[i];
        const char *match = changes[i].match ? changes[i].match : "";
        const char *actions = changes[i].actions;
        size_t len, nc;
        const uint64_t *conj = flowtab_change_conj(&changes[i], &nc);

        c->op = replace ? FLOW_ADD : changes[i].type;
        c->table = changes[i].table;
        c->priority = changes[i].priority;
        c->cookie = changes[i].cookie;
        c->conj_ofs = conj_ofs;
        c->n_conj = 0;
        if (conj && c->op != FLOW_DELETE) {
            c->n_conj = nc;
            memcpy(&r->conj[conj_ofs], conj, nc * sizeof *r->conj);
            conj_ofs += nc;
            actions = NULL;
        }
        actions = actions ? actions : "";

        len = strlen(match) + 1;
        memcpy(r->strs + ofs, match, len);
        c->match_ofs = ofs;
        ofs += len;
        len = strlen(actions) + 1;
        memcpy(r->strs + ofs, actions, len);
        c->actions_ofs = ofs;
        ofs += len;
    }
}

void
switch_of_commit(struct switch_of *sw, const struct flow_change *changes,
                 size_t n, switch_of_commit_cb *cb, void *aux)
{
    struct request *r = request_create(sw, REQ_BUNDLE, aux);
    r->commit_cb = cb;
    copy_changes(r, changes, n, false);
}

void
switch_of_replace(struct switch_of *sw, uint64_t cookie, uint64_t cookie_mask,
                  const struct flow_change *flows, size_t n,
                  switch_of_commit_cb *cb, void *aux)
{
    struct request *r = request_create(sw, REQ_BUNDLE, aux);
    r->commit_cb = cb;
    r->has_delete = true;
    r->del_cookie = cookie;
    r->del_mask = cookie_mask;
    copy_changes(r, flows, n, true);
}

void
switch_of_dump(struct switch_of *sw, uint64_t cookie, uint64_t cookie_mask,
               switch_of_dump_cb *cb, void *aux)
{
    struct request *r = request_create(sw, REQ_DUMP, aux);
    r->dump_cb = cb;
    r->cookie = cookie;
    r->cookie_mask = cookie_mask;
}

void
switch_of_count(struct switch_of *sw, uint64_t cookie, uint64_t cookie_mask,
                switch_of_count_cb *cb, void *aux)
{
    struct request *r = request_create(sw, REQ_COUNT, aux);
    r->count_cb = cb;
    r->cookie = cookie;
    r->cookie_mask = cookie_mask;
}

void
switch_of_flows_free(struct switch_of_flow *flows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(flows[i].match);
        free(flows[i].actions);
    }
    free(flows);
}

/* Parsing. */

/* Checks that no field of 'fm''s match lacks its prerequisite (nw_src
 * without ip, tp_dst without tcp, ...): OpenFlow encodings drop such a field
 * and the flow would match more than it says.  Returns NULL or a malloc()'d
 * message. */
static char *
check_prerequisites(const struct ofputil_flow_mod *fm)
{
    struct match match, normalized;

    minimatch_expand(&fm->match, &match);
    normalized = match;
    ofputil_normalize_match_quiet(&normalized);
    if (!match_equal(&match, &normalized)) {
        char *got = match_to_string(&normalized, NULL, OFP_DEFAULT_PRIORITY);
        char *error = xasprintf("a match field lacks its prerequisite: the "
                                "switch would match %s%s%s",
                                *got ? "\"" : "", *got ? got : "every packet",
                                *got ? "\"" : "");
        free(got);
        return error;
    }
    return NULL;
}

/* Parses 'string' (ovs-ofctl syntax) as a flow_mod with 'command' into
 * '*fm'.  Returns NULL, or a malloc()'d message (then '*fm' needs no
 * cleanup).  On success the caller frees fm->ofpacts and destroys
 * fm->match. */
static char *
parse_flow_mod(struct ofputil_flow_mod *fm, const char *string, int command)
{
    enum ofputil_protocol usable;
    char *error;

    error = parse_ofp_flow_mod_str(fm, string, NULL, NULL, command, &usable);
    if (error) {
        return error;
    }
    if (!(usable & PROTOCOL)) {
        char *usable_s = ofputil_protocols_to_string(usable);
        error = xasprintf("not usable with OpenFlow 1.5 (usable protocols: "
                          "%s)", usable_s);
        free(usable_s);
    } else {
        error = check_prerequisites(fm);
    }
    if (error) {
        free(CONST_CAST(struct ofpact *, fm->ofpacts));
        minimatch_destroy(&fm->match);
    }
    return error;
}

/* Sends 'fm' as a bundle_add of 'r' with 'xid', and frees it.  Returns
 * NULL, or a malloc()'d message if it does not fit in one (then nothing is
 * sent). */
static char *
send_bundle_add(struct switch_of *sw, const struct request *r,
                struct ofputil_flow_mod *fm, uint32_t xid)
{
    struct ofpbuf *msg = ofputil_encode_flow_mod(fm, PROTOCOL);
    struct ofputil_bundle_add_msg bam = {
        .bundle_id = r->bundle_id,
        .flags = BUNDLE_FLAGS,
        .msg = msg->data,
    };
    char *error = NULL;

    free(CONST_CAST(struct ofpact *, fm->ofpacts));
    minimatch_destroy(&fm->match);

    /* An OpenFlow message has a 16-bit length, and the bundle_add around
     * the flow_mod takes 16 bytes: about 4,000 conjunction() actions at
     * most.  (OVS's encoder would silently truncate the length.) */
    if (msg->size > UINT16_MAX - sizeof(struct ofp_header)
                    - sizeof(struct ofp14_bundle_ctrl_msg)) {
        error = xasprintf("too big for one OpenFlow message: its flow_mod "
                          "takes %"PRIu32" bytes, a bundle carries at most "
                          "65,519 (about 4,000 conjunction() actions)",
                          msg->size);
    } else {
        set_xid(msg, xid);
        send_msg(sw, ofputil_encode_bundle_add(OF_VERSION, &bam), xid);
        sw->stats.n_flow_mods++;
    }
    ofpbuf_delete(msg);
    return error;
}

/* Bundles. */

static void
bundle_start(struct switch_of *sw, struct request *r)
{
    r->bundle_id = ++sw->next_bundle_id;
    r->open_xid = alloc_xids(sw, r->n_changes + 4);
    r->del_xid = r->open_xid + 1;
    r->first_xid = r->open_xid + 2;
    r->barrier_xid = r->first_xid + r->n_changes;
    r->commit_xid = r->barrier_xid + 1;
    r->state = B_SENDING;
    r->next = 0;

    send_bundle_ctrl(sw, r, OFPBCT_OPEN_REQUEST, r->open_xid);
    if (r->has_delete) {
        struct ofputil_flow_mod fm;
        char *string = xasprintf("cookie=%#"PRIx64"/%#"PRIx64,
                                 r->del_cookie, r->del_mask);
        char *error = parse_flow_mod(&fm, string, OFPFC_DELETE);

        ovs_assert(!error);
        fm.table_id = OFPTT_ALL;
        error = send_bundle_add(sw, r, &fm, r->del_xid);
        ovs_assert(!error);
        free(string);
    }
}

/* Abandons bundle 'r' after a parse error: the switch discards it. */
static void
bundle_abandon(struct switch_of *sw, struct request *r)
{
    send_bundle_ctrl(sw, r, OFPBCT_DISCARD_REQUEST, alloc_xids(sw, 1));
    request_complete(sw, r, SWITCH_OF_REJECTED, NULL);
}

/* Parses and sends the next slice of 'r''s changes.  Returns true if 'r'
 * is still running. */
static bool
bundle_send_slice(struct switch_of *sw, struct request *r)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    unsigned int txqlen = txq_len(sw);
    size_t room = txqlen < MAX_TXQ ? MAX_TXQ - txqlen : 0;
    size_t end = MIN(r->n_changes, r->next + MIN(SLICE, room));

    while (r->next < end) {
        size_t i = r->next++;
        const struct change *c = &r->changes[i];
        struct ofputil_flow_mod fm;
        char *error;

        ds_clear(&s);
        format_change__(&s, r, i, true);
        error = parse_flow_mod(&fm, ds_cstr(&s),
                               c->op == FLOW_DELETE
                               ? OFPFC_DELETE_STRICT : OFPFC_ADD);
        if (!error && c->n_conj) {
            error = put_conjunctions(&fm, r, c);
            if (error) {
                free(CONST_CAST(struct ofpact *, fm.ofpacts));
                minimatch_destroy(&fm.match);
            }
        }
        if (!error) {
            error = send_bundle_add(sw, r, &fm, r->first_xid + i);
        }
        if (error) {
            bundle_error(r, i, xasprintf("is invalid: %s", error));
            free(error);
            ds_destroy(&s);
            bundle_abandon(sw, r);
            return false;
        }
    }
    ds_destroy(&s);

    if (r->next >= r->n_changes) {
        send_msg(sw, ofputil_encode_barrier_request(OF_VERSION),
                 r->barrier_xid);
        r->state = B_WAIT_BARRIER;
        VLOG_DBG("bundle %"PRIu32": %"PRIuSIZE" flow_mods queued after "
                 "%lld ms", r->bundle_id, r->n_changes,
                 time_msec() - r->created);
    }
    return true;
}

static char *
format_ofperr(const struct ofp_header *oh)
{
    enum ofperr error = ofperr_decode_msg(oh, NULL);

    if (!error) {
        return xstrdup("an error the switch did not explain");
    }
    return xasprintf("%s (%s)", ofperr_get_name(error),
                     ofperr_get_description(error));
}

/* Handles a reply that may belong to bundle 'r'. */
static void
bundle_process(struct switch_of *sw, struct request *r, enum ofptype type,
               const struct ofp_header *oh)
{
    uint32_t xid = ntohl(oh->xid);

    if (type == OFPTYPE_ERROR) {
        char *msg = format_ofperr(oh);

        if (xid - r->first_xid < r->n_changes) {    /* Wraps safely. */
            bundle_error(r, xid - r->first_xid,
                         xasprintf("the switch refused it: %s", msg));
            free(msg);
        } else if (xid == r->open_xid) {
            bundle_error(r, SIZE_MAX,
                         xasprintf("the switch refused to open the bundle: "
                                   "%s", msg));
            free(msg);
        } else if (xid == r->del_xid && r->has_delete) {
            bundle_error(r, SIZE_MAX,
                         xasprintf("the switch refused to delete cookie "
                                   "%#"PRIx64"/%#"PRIx64": %s",
                                   r->del_cookie, r->del_mask, msg));
            free(msg);
        } else if (xid == r->barrier_xid) {
            bundle_error(r, SIZE_MAX,
                         xasprintf("the switch refused the barrier: %s",
                                   msg));
            free(msg);
        } else if (xid == r->commit_xid && r->state == B_WAIT_COMMIT) {
            /* A flow that failed during the commit was reported just before,
             * with its own xid; otherwise this is the reason. */
            bundle_error(r, SIZE_MAX,
                         xasprintf("the switch refused to commit the "
                                   "bundle: %s", msg));
            free(msg);
            request_complete(sw, r, SWITCH_OF_REJECTED, NULL);
        } else {
            VLOG_DBG("ignoring error reply with xid %#"PRIx32": %s",
                     xid, msg);
            free(msg);
        }
    } else if (type == OFPTYPE_BARRIER_REPLY && xid == r->barrier_xid
               && r->state == B_WAIT_BARRIER) {
        VLOG_DBG("bundle %"PRIu32": barrier reply after %lld ms",
                 r->bundle_id, time_msec() - r->created);
        if (r->error) {
            send_bundle_ctrl(sw, r, OFPBCT_DISCARD_REQUEST,
                             alloc_xids(sw, 1));
            request_complete(sw, r, SWITCH_OF_REJECTED, NULL);
        } else {
            send_bundle_ctrl(sw, r, OFPBCT_COMMIT_REQUEST, r->commit_xid);
            r->commit_sent = true;
            r->state = B_WAIT_COMMIT;
        }
    } else if (type == OFPTYPE_BUNDLE_CONTROL && xid == r->commit_xid
               && r->state == B_WAIT_COMMIT) {
        struct ofputil_bundle_ctrl_msg bc;

        if (!ofputil_decode_bundle_ctrl(oh, &bc)
            && bc.type == OFPBCT_COMMIT_REPLY) {
            request_complete(sw, r, r->error ? SWITCH_OF_REJECTED
                             : SWITCH_OF_OK, NULL);
        }
    }
}

/* Dumps and counts. */

static void
stats_start(struct switch_of *sw, struct request *r)
{
    struct ofputil_flow_stats_request fsr = {
        .aggregate = r->kind == REQ_COUNT,
        .cookie = htonll(r->cookie),
        .cookie_mask = htonll(r->cookie_mask),
        .out_port = OFPP_ANY,
        .out_group = OFPG_ANY,
        .table_id = 0xff,
    };

    match_init_catchall(&fsr.match);
    r->xid = alloc_xids(sw, 1);
    send_msg(sw, ofputil_encode_flow_stats_request(&fsr, PROTOCOL), r->xid);
}

/* Fills 'f' from the given parts; the strings are malloc()'d. */
static void
flow_from_parts(struct switch_of_flow *f, uint8_t table, uint16_t priority,
                ovs_be64 cookie, const struct match *match,
                const struct ofpact *ofpacts, size_t ofpacts_len)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    f->table = table;
    f->priority = priority;
    f->cookie = ntohll(cookie);
    f->n_packets = 0;
    f->n_bytes = 0;
    match_format(match, NULL, &s, OFP_DEFAULT_PRIORITY);
    f->match = ds_steal_cstr(&s);
    ofpacts_format(ofpacts, ofpacts_len,
                   &(struct ofpact_format_params) { .s = &s });
    f->actions = ds_steal_cstr(&s);
}

static int
compare_flows(const void *a_, const void *b_)
{
    const struct switch_of_flow *a = a_;
    const struct switch_of_flow *b = b_;

    if (a->table != b->table) {
        return a->table < b->table ? -1 : 1;
    }
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    return strcmp(a->match, b->match);
}

static void
stats_process(struct switch_of *sw, struct request *r, enum ofptype type,
              const struct ofp_header *oh)
{
    if (ntohl(oh->xid) != r->xid) {
        return;
    }

    if (type == OFPTYPE_ERROR) {
        char *msg = format_ofperr(oh);
        char *error = xasprintf("the switch refused the %s request: %s",
                                r->kind == REQ_DUMP ? "flow dump" : "count",
                                msg);
        request_complete(sw, r, SWITCH_OF_REJECTED, error);
        free(error);
        free(msg);
    } else if (type == OFPTYPE_FLOW_STATS_REPLY && r->kind == REQ_DUMP) {
        struct ofpbuf b = ofpbuf_const_initializer(oh, ntohs(oh->length));
        uint64_t stub[1024 / 8];
        struct ofpbuf ofpacts;

        ofpbuf_use_stub(&ofpacts, stub, sizeof stub);
        for (;;) {
            struct ofputil_flow_stats fs;
            int retval;

            retval = ofputil_decode_flow_stats_reply(&fs, &b, false,
                                                     &ofpacts);
            if (retval) {
                if (retval != EOF) {
                    char *error = xasprintf("cannot decode the switch's flow "
                                            "dump: %s",
                                            ofperr_to_string(retval));
                    ofpbuf_uninit(&ofpacts);
                    request_complete(sw, r, SWITCH_OF_REJECTED, error);
                    free(error);
                    return;
                }
                break;
            }
            if (r->n_flows >= r->allocated_flows) {
                r->flows = x2nrealloc(r->flows, &r->allocated_flows,
                                      sizeof *r->flows);
            }
            struct switch_of_flow *f = &r->flows[r->n_flows++];
            flow_from_parts(f, fs.table_id, fs.priority, fs.cookie,
                            &fs.match, fs.ofpacts, fs.ofpacts_len);
            /* UINT64_MAX: the switch does not know. */
            f->n_packets = fs.packet_count != UINT64_MAX ? fs.packet_count
                                                         : 0;
            f->n_bytes = fs.byte_count != UINT64_MAX ? fs.byte_count : 0;
        }
        ofpbuf_uninit(&ofpacts);
        if (!ofpmp_more(oh)) {
            if (r->n_flows) {   /* NULL when empty: not for qsort(). */
                qsort(r->flows, r->n_flows, sizeof *r->flows, compare_flows);
            }
            request_complete(sw, r, SWITCH_OF_OK, NULL);
        }
    } else if (type == OFPTYPE_AGGREGATE_STATS_REPLY
               && r->kind == REQ_COUNT) {
        struct ofputil_aggregate_stats as;
        enum ofperr error = ofputil_decode_aggregate_stats_reply(&as, oh);

        if (error) {
            char *msg = xasprintf("cannot decode the switch's count: %s",
                                  ofperr_to_string(error));
            request_complete(sw, r, SWITCH_OF_REJECTED, msg);
            free(msg);
        } else {
            r->count = as.flow_count;
            request_complete(sw, r, SWITCH_OF_OK, NULL);
        }
    }
}

/* Flow monitor. */

void
switch_of_monitor(struct switch_of *sw, switch_of_monitor_cb *cb, void *aux)
{
    sw->monitor_cb = cb;
    sw->monitor_aux = aux;
    sw->monitor_seqno = sw->seqno - 1;  /* Not sent on this connection. */
    ovs_loop_wake();
}

static void
monitor_send(struct switch_of *sw)
{
    struct ofputil_flow_monitor_request fmr = {
        .id = MONITOR_ID,
        .command = OFPFMC_ADD,
        .flags = (OFPFMF_ADD | OFPFMF_REMOVED | OFPFMF_MODIFY
                  | OFPFMF_INSTRUCTIONS),
        .out_port = OFPP_ANY,
        .out_group = OFPG_ANY,
        .table_id = 0xff,
    };
    struct ofpbuf *msg = ofpbuf_new(0);

    match_init_catchall(&fmr.match);
    ofputil_append_flow_monitor_request(&fmr, msg, PROTOCOL);
    ofpmsg_update_length(msg);
    sw->monitor_xid = alloc_xids(sw, 1);
    sw->monitor_seqno = sw->seqno;
    send_msg(sw, msg, sw->monitor_xid);
}

static void
monitor_process(struct switch_of *sw, const struct ofp_header *oh)
{
    struct ofpbuf b = ofpbuf_const_initializer(oh, ntohs(oh->length));
    uint64_t stub[1024 / 8];
    struct ofpbuf ofpacts;

    ofpbuf_use_stub(&ofpacts, stub, sizeof stub);
    for (;;) {
        struct ofputil_flow_update fu;
        struct switch_of_flow flow;
        enum switch_of_event event;
        int retval;

        retval = ofputil_decode_flow_update(&fu, &b, &ofpacts);
        if (retval) {
            if (retval != EOF) {
                static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(1, 5);
                VLOG_WARN_RL(&rl, "cannot decode a flow monitor update: %s",
                             ofperr_to_string(retval));
            }
            break;
        }

        switch (fu.event) {
        case OFPFME_INITIAL:
        case OFPFME_ADDED:
            event = SWITCH_OF_FLOW_ADDED;
            break;
        case OFPFME_REMOVED:
            event = SWITCH_OF_FLOW_REMOVED;
            break;
        case OFPFME_MODIFIED:
            event = SWITCH_OF_FLOW_MODIFIED;
            break;
        case OFPFME_RESUMED:
            event = SWITCH_OF_RESYNC;
            break;
        case OFPFME_ABBREV:     /* Our own change. */
        case OFPFME_PAUSED:     /* RESUMED follows. */
        default:
            continue;
        }

        sw->stats.n_monitor_events++;
        if (!sw->monitor_cb) {
            continue;
        }
        if (event == SWITCH_OF_RESYNC) {
            sw->monitor_cb(sw->monitor_aux, event, NULL);
        } else {
            flow_from_parts(&flow, fu.table_id, fu.priority, fu.cookie,
                            &fu.match, fu.ofpacts, fu.ofpacts_len);
            sw->monitor_cb(sw->monitor_aux, event, &flow);
            free(flow.match);
            free(flow.actions);
        }
    }
    ofpbuf_uninit(&ofpacts);
}

/* The audit copies. */

void
switch_of_audit(struct switch_of *sw, uint32_t meter_id, unsigned int rate,
                unsigned int burst, switch_of_packet_in_cb *cb, void *aux)
{
    sw->audit = true;
    sw->meter_id = meter_id;
    sw->meter_rate = rate;
    sw->meter_burst = burst;
    sw->pin_cb = cb;
    sw->pin_aux = aux;
    sw->audit_seqno = sw->seqno - 1;    /* Not sent on this connection. */
    ovs_loop_wake();
}

const char *
switch_of_audit_error(const struct switch_of *sw)
{
    return sw->audit_error;
}

static struct ofpbuf *
encode_meter_mod(const struct switch_of *sw, int command)
{
    char *s = xasprintf("meter=%"PRIu32",pktps,burst,stats,bands=type=drop,"
                        "rate=%u,burst_size=%u", sw->meter_id, sw->meter_rate,
                        sw->meter_burst);
    struct ofputil_meter_mod mm;
    enum ofputil_protocol usable;
    char *error = parse_ofp_meter_mod_str(&mm, s, command, &usable);
    free(s);
    if (error) {
        /* Our own text, from checked numbers. */
        VLOG_FATAL("audit meter: %s", error);
    }
    struct ofpbuf *msg = ofputil_encode_meter_mod(OF_VERSION, &mm);
    free(mm.meter.bands);
    return msg;
}

/* Sent before anything else on a connection (advance() calls it first):
 * the flows that name the meter come after it. */
static void
audit_send(struct switch_of *sw)
{
    sw->audit_seqno = sw->seqno;
    free(sw->audit_error);
    sw->audit_error = NULL;

    struct ofpbuf *msg = ofpraw_alloc(OFPRAW_NXT_SET_CONTROLLER_ID,
                                      OF_VERSION, 0);
    struct nx_controller_id *cid = ofpbuf_put_zeros(msg, sizeof *cid);
    cid->controller_id = htons(NP_AUDIT_CONTROLLER_ID);
    sw->audit_first_xid = alloc_xids(sw, 1);
    send_msg(sw, msg, sw->audit_first_xid);

    send_msg(sw, ofputil_encode_set_packet_in_format(OF_VERSION,
                                                     OFPUTIL_PACKET_IN_NXT2),
             alloc_xids(sw, 1));

    /* Copies made by an action, and nothing else: no port status, no
     * flow removals. */
    struct ofputil_async_cfg ac = OFPUTIL_ASYNC_CFG_INIT;
    ac.primary[OAM_PACKET_IN] = 1u << OFPR_ACTION;
    ac.secondary[OAM_PACKET_IN] = 1u << OFPR_ACTION;
    send_msg(sw, ofputil_encode_set_async_config(&ac, (1u << OAM_N_TYPES) - 1,
                                                 OF_VERSION),
             alloc_xids(sw, 1));

    /* A service connection (the .mgmt socket) gets no asynchronous
     * message until it sets a miss length. */
    struct ofputil_switch_config sc = {
        .frag = OFPUTIL_FRAG_NORMAL,
        .invalid_ttl_to_controller = -1,
        .miss_send_len = NP_AUDIT_MAX_LEN,
    };
    send_msg(sw, ofputil_encode_set_config(&sc, OF_VERSION),
             alloc_xids(sw, 1));

    /* Add, and modify in case it existed (another run of ours made it):
     * deleting it would leave the flows that name it unmetered. */
    sw->audit_meter_add_xid = alloc_xids(sw, 1);
    send_msg(sw, encode_meter_mod(sw, OFPMC13_ADD), sw->audit_meter_add_xid);
    sw->audit_last_xid = alloc_xids(sw, 1);
    send_msg(sw, encode_meter_mod(sw, OFPMC13_MODIFY), sw->audit_last_xid);
}

/* An error about the audit setup: kept for switch_of_audit_error(). */
static bool
audit_error_process(struct switch_of *sw, const struct ofp_header *oh)
{
    uint32_t xid = ntohl(oh->xid);
    if (!sw->audit || xid < sw->audit_first_xid || xid > sw->audit_last_xid) {
        return false;
    }
    enum ofperr error = ofperr_decode_msg(oh, NULL);
    if (xid == sw->audit_meter_add_xid && error == OFPERR_OFPMMFC_METER_EXISTS) {
        return true;            /* The modify that follows sets it. */
    }
    char *msg = format_ofperr(oh);
    if (!sw->audit_error) {
        sw->audit_error = xasprintf("the switch refused the audit setup "
                                    "(meter %"PRIu32"): %s", sw->meter_id,
                                    msg);
        VLOG_WARN("%s: %s", sw->target, sw->audit_error);
    }
    free(msg);
    return true;
}

static void
packet_in_process(struct switch_of *sw, const struct ofp_header *oh)
{
    struct ofputil_packet_in pin;
    size_t total_len;
    uint32_t buffer_id;

    sw->stats.n_packet_ins++;
    if (ofputil_decode_packet_in(oh, true, NULL, NULL, &pin, &total_len,
                                 &buffer_id, NULL)) {
        sw->stats.n_packet_ins_bad++;
        return;
    }
    const uint8_t *ud = pin.userdata;
    if (pin.userdata_len != 8 || ud[0] != 0x4e || ud[1] != 0x50
        || ud[2] != NP_AUDIT_VERSION || !sw->pin_cb) {
        sw->stats.n_packet_ins_bad++;
        return;
    }

    struct dp_packet packet;
    struct flow flow;
    dp_packet_use_const(&packet, pin.packet, pin.packet_len);
    pkt_metadata_from_flow(&packet.md, &pin.flow_metadata.flow);
    flow_extract(&packet, &flow);

    struct switch_of_packet_in p = {
        .table = pin.table_id,
        .cookie = ntohll(pin.cookie),
        .allow = ud[3] == NP_AUDIT_VERDICT_ALLOW,
        .ingress = ud[4] != 0,
        .reg0 = pin.flow_metadata.flow.regs[0],
        .reg1 = pin.flow_metadata.flow.regs[1],
        .proto = flow.nw_proto,
    };
    if (flow.dl_type == htons(ETH_TYPE_IP)) {
        p.src.family = p.dst.family = AF_INET;
        memcpy(p.src.bytes, &flow.nw_src, 4);
        memcpy(p.dst.bytes, &flow.nw_dst, 4);
    } else if (flow.dl_type == htons(ETH_TYPE_IPV6)) {
        p.src.family = p.dst.family = AF_INET6;
        memcpy(p.src.bytes, &flow.ipv6_src, 16);
        memcpy(p.dst.bytes, &flow.ipv6_dst, 16);
    } else {
        p.proto = 0;
    }
    if (p.src.family && (p.proto == IPPROTO_TCP || p.proto == IPPROTO_UDP
                         || p.proto == IPPROTO_SCTP
                         || p.proto == IPPROTO_ICMP
                         || p.proto == IPPROTO_ICMPV6)) {
        p.src_port = ntohs(flow.tp_src);
        p.dst_port = ntohs(flow.tp_dst);
    }
    sw->pin_cb(sw->pin_aux, &p);
}

bool
switch_of_meter_stats(struct switch_of *sw, switch_of_meter_cb *cb, void *aux)
{
    if (sw->meter_stats_xid && sw->meter_stats_seqno == sw->seqno) {
        return false;
    }
    if (!sw->connected || !sw->audit) {
        cb(aux, false, 0, 0);
        return true;
    }
    sw->meter_cb = cb;
    sw->meter_aux = aux;
    sw->meter_stats_xid = alloc_xids(sw, 1);
    sw->meter_stats_seqno = sw->seqno;
    send_msg(sw, ofputil_encode_meter_request(OF_VERSION, OFPUTIL_METER_STATS,
                                              sw->meter_id),
             sw->meter_stats_xid);
    return true;
}

static void
meter_stats_process(struct switch_of *sw, const struct ofp_header *oh)
{
    if (!sw->meter_stats_xid || ntohl(oh->xid) != sw->meter_stats_xid) {
        return;
    }
    struct ofpbuf b = ofpbuf_const_initializer(oh, ntohs(oh->length));
    uint64_t packets = 0, dropped = 0;
    bool ok = false;
    for (;;) {
        struct ofputil_meter_stats ms;
        struct ofpbuf bands;
        ofpbuf_init(&bands, 64);
        int retval = ofputil_decode_meter_stats(&b, &ms, &bands);
        if (!retval && ms.meter_id == sw->meter_id) {
            ok = true;
            packets = ms.packet_in_count;
            for (size_t i = 0; i < ms.n_bands; i++) {
                dropped += ms.bands[i].packet_count;
            }
        }
        ofpbuf_uninit(&bands);
        if (retval) {
            break;
        }
    }
    if (!ofpmp_more(oh)) {
        sw->meter_stats_xid = 0;
        sw->meter_cb(sw->meter_aux, ok, packets, dropped);
    }
}

/* The loop. */

static void
process_msg(struct switch_of *sw, const struct ofp_header *oh)
{
    struct request *head;
    enum ofptype type;

    if (ofptype_decode(&type, oh)) {
        return;
    }

    switch (type) {
    case OFPTYPE_ECHO_REQUEST:
        rconn_send(sw->rconn, ofputil_encode_echo_reply(oh), NULL);
        return;

    case OFPTYPE_FLOW_MONITOR_STATS_REPLY:
        monitor_process(sw, oh);
        return;

    case OFPTYPE_PACKET_IN:
        packet_in_process(sw, oh);
        return;

    case OFPTYPE_METER_STATS_REPLY:
        meter_stats_process(sw, oh);
        return;

    case OFPTYPE_ERROR:
        if (audit_error_process(sw, oh)) {
            return;
        }
        if (sw->meter_stats_xid && ntohl(oh->xid) == sw->meter_stats_xid) {
            sw->meter_stats_xid = 0;
            sw->meter_cb(sw->meter_aux, false, 0, 0);
            return;
        }
        if (sw->monitor_cb && ntohl(oh->xid) == sw->monitor_xid) {
            char *msg = format_ofperr(oh);
            VLOG_WARN("%s: the switch refused the flow monitor: %s",
                      sw->target, msg);
            free(msg);
            return;
        }
        break;

    default:
        break;
    }

    if (ovs_list_is_empty(&sw->requests)) {
        return;
    }
    head = CONTAINER_OF(ovs_list_front(&sw->requests), struct request, node);
    if (!head->started) {
        return;
    }
    if (head->kind == REQ_BUNDLE) {
        bundle_process(sw, head, type, oh);
    } else {
        stats_process(sw, head, type, oh);
    }
}

/* Starts or continues the head request, and the next ones as they
 * complete. */
static void
advance(struct switch_of *sw)
{
    if (sw->audit && sw->connected && sw->audit_seqno != sw->seqno) {
        audit_send(sw);
    }
    while (!ovs_list_is_empty(&sw->requests) && sw->connected) {
        struct request *r = CONTAINER_OF(ovs_list_front(&sw->requests),
                                         struct request, node);
        if (!r->started) {
            r->started = true;
            r->deadline = time_msec() + sw->timeout_ms;
            if (r->kind == REQ_BUNDLE) {
                bundle_start(sw, r);
            } else {
                stats_start(sw, r);
            }
        }
        if (r->kind == REQ_BUNDLE && r->state == B_SENDING) {
            if (!bundle_send_slice(sw, r)) {
                continue;       /* Failed and completed: next. */
            }
        }
        break;                  /* Waiting for replies. */
    }
}

static void
check_timeout(struct switch_of *sw)
{
    struct request *r;
    char *error;

    if (ovs_list_is_empty(&sw->requests)) {
        return;
    }
    r = CONTAINER_OF(ovs_list_front(&sw->requests), struct request, node);
    if (!r->started || time_msec() < r->deadline) {
        return;
    }

    error = xasprintf("no answer from the switch within %u ms; the "
                      "connection is reset", sw->timeout_ms);
    VLOG_WARN("%s: %s", sw->target, error);
    request_complete(sw, r,
                     r->kind == REQ_BUNDLE && r->commit_sent
                     ? SWITCH_OF_UNKNOWN : SWITCH_OF_DISCONNECTED, error);
    free(error);
    /* The switch discards an uncommitted bundle with the connection; the
     * next run sees the new sequence number and fails the rest. */
    rconn_reconnect(sw->rconn);
}

static bool
rconn_in(const struct switch_of *sw, const char *state)
{
    return !strcmp(rconn_get_state(sw->rconn), state);
}

static void
connect_attempt(struct switch_of *sw)
{
    /* From VOID (or at the start): connects, or fails at once into
     * BACKOFF, or waits in CONNECTING for the switch's hello. */
    rconn_connect(sw->rconn, sw->target, sw->target);
    sw->attempting = true;
    sw->outage_attempts++;
    sw->stats.n_connect_attempts++;
}

static void
note_error(struct switch_of *sw)
{
    int error = rconn_get_last_error(sw->rconn);
    snprintf(sw->error, sizeof sw->error, "%s",
             error == EOF ? "the switch closed the connection"
             : error ? ovs_strerror(error) : "disconnected");
}

/* Keeps the connection attempts to the schedule of FAST_RETRY_MS. */
static void
reconnect_run(struct switch_of *sw)
{
    long long int now = time_msec();

    if (rconn_in(sw, "BACKOFF")) {
        /* An attempt failed, or the connection was lost (and the seqno
         * change has begun the outage).  Park rconn, or it would retry on
         * its own schedule. */
        note_error(sw);
        rconn_disconnect(sw->rconn);
        if (sw->attempting) {
            sw->attempting = false;
            sw->retry_ms = (now < sw->fast_until ? FAST_RETRY_MS
                            : MIN(MAX_RETRY_MS,
                                  MAX(2 * FAST_RETRY_MS, 2 * sw->retry_ms)));
            sw->next_attempt = now + sw->retry_ms;
        }
        if (!sw->outage_reported) {
            /* The first attempt after the start failed. */
            sw->outage_reported = true;
            if (sw->conn_cb) {
                sw->conn_cb(sw->conn_aux, false, sw->seqno);
            }
        }
    }
    if (rconn_in(sw, "VOID") && now >= sw->next_attempt) {
        connect_attempt(sw);
    }
}

/* The connection came (connected) or went. */
static void
reconnect_note(struct switch_of *sw, bool connected)
{
    long long int now = time_msec();

    sw->attempting = false;
    if (connected) {
        sw->last_outage_s = (sw->outage_reported
                             ? (now - sw->outage_start) / 1000.0 : 0);
        sw->last_outage_attempts = sw->outage_attempts;
        sw->connected_at = now;
        sw->outage_reported = false;
        sw->error[0] = '\0';
        return;
    }
    sw->outage_start = now;
    sw->outage_attempts = 0;
    sw->outage_reported = true;
    if (sw->connected_at != LLONG_MIN && now - sw->connected_at >= STABLE_MS) {
        sw->fast_until = now + FAST_RETRY_PERIOD_MS;
        sw->retry_ms = 0;
        sw->next_attempt = now;
    } else {
        sw->fast_until = now;
        sw->retry_ms = MIN(MAX_RETRY_MS,
                           MAX(2 * FAST_RETRY_MS, 2 * sw->retry_ms));
        sw->next_attempt = now + sw->retry_ms;
    }
    note_error(sw);
}

void
switch_of_get_outage(const struct switch_of *sw, struct switch_of_outage *o)
{
    long long int now = time_msec();

    memset(o, 0, sizeof *o);
    o->connected = sw->connected;
    if (sw->connected) {
        o->seconds = sw->last_outage_s;
        o->attempts = sw->last_outage_attempts;
    } else {
        o->seconds = (now - sw->outage_start) / 1000.0;
        o->attempts = sw->outage_attempts;
        o->error = sw->error[0] ? sw->error : NULL;
        o->next_attempt = (sw->attempting ? 0
                           : MAX(0, sw->next_attempt - now) / 1000.0);
    }
}

/* Reports a change of the connection's sequence number, if any; returns
 * true if there was one. */
static bool
check_seqno(struct switch_of *sw)
{
    unsigned int seqno = rconn_get_connection_seqno(sw->rconn);

    if (seqno == sw->seqno) {
        return false;
    }
    sw->seqno = seqno;
    sw->connected = rconn_is_connected(sw->rconn);
    VLOG_INFO("%s: %s (connection %u)", sw->target,
              sw->connected ? "connected" : "disconnected", seqno);
    reconnect_note(sw, sw->connected);
    fail_stale_requests(sw);
    if (sw->conn_cb) {
        sw->conn_cb(sw->conn_aux, sw->connected, seqno);
    }
    return true;
}

static void
switch_of_run(void *sw_)
{
    struct switch_of *sw = sw_;
    int i;

    /* rconn_recv() in the last run may have lost the connection. */
    check_seqno(sw);
    reconnect_run(sw);
    rconn_run(sw->rconn);
    if (!check_seqno(sw) && sw->check_failures) {
        fail_stale_requests(sw);
    }

    if (sw->connected && sw->monitor_cb && sw->monitor_seqno != sw->seqno) {
        monitor_send(sw);
    }

    for (i = 0; i < MAX_RECV; i++) {
        struct ofpbuf *msg = rconn_recv(sw->rconn);
        if (!msg) {
            break;
        }
        process_msg(sw, msg->data);
        ofpbuf_delete(msg);
    }
    if (i >= MAX_RECV) {
        ovs_loop_wake();
    }

    check_timeout(sw);
    advance(sw);
}

static void
switch_of_wait(void *sw_)
{
    struct switch_of *sw = sw_;

    rconn_run_wait(sw->rconn);
    rconn_recv_wait(sw->rconn);
    if (rconn_in(sw, "BACKOFF")) {
        poll_immediate_wake();  /* To be parked. */
    } else if (rconn_in(sw, "VOID")) {
        poll_timer_wait_until(sw->next_attempt);
    }

    if (sw->check_failures) {
        poll_immediate_wake();
    }
    if (!ovs_list_is_empty(&sw->requests)) {
        struct request *r = CONTAINER_OF(ovs_list_front(&sw->requests),
                                         struct request, node);
        if (r->started) {
            poll_timer_wait_until(r->deadline);
            if (r->kind == REQ_BUNDLE && r->state == B_SENDING
                && txq_len(sw) < MAX_TXQ) {
                poll_immediate_wake();
            }
            /* Otherwise rconn_run_wait() wakes us when the queue drains. */
        } else if (sw->connected) {
            poll_immediate_wake();
        }
    }
}

/* Normalization. */

char *
switch_of_normalize(uint8_t table, uint16_t priority, const char *match,
                    const char *actions, char **match_out, char **actions_out)
{
    struct ofputil_flow_mod fm, decoded;
    struct switch_of_flow flow;
    struct ofpbuf *msg, ofpacts;
    char *string, *error;
    struct match m;
    enum ofperr err;

    *match_out = *actions_out = NULL;
    string = xasprintf("table=%"PRIu8",priority=%"PRIu16"%s%s actions=%s",
                       table, priority, *match ? "," : "", match, actions);
    error = parse_flow_mod(&fm, string, OFPFC_ADD);
    free(string);
    if (error) {
        return error;
    }

    /* What the switch makes of it. */
    msg = ofputil_encode_flow_mod(&fm, PROTOCOL);
    ofpbuf_init(&ofpacts, 64);
    err = ofputil_decode_flow_mod(&decoded, msg->data, PROTOCOL, NULL, NULL,
                                  &ofpacts, OFPP_MAX, 255);
    if (err) {
        error = xasprintf("the OpenFlow 1.5 encoding does not decode (%s: "
                          "%s)", ofperr_get_name(err), ofperr_to_string(err));
    } else {
        if (!minimatch_equal(&fm.match, &decoded.match)) {
            char *got = minimatch_to_string(&decoded.match, NULL,
                                            OFP_DEFAULT_PRIORITY);
            error = xasprintf("the switch would match \"%s\"", got);
            free(got);
        } else {
            minimatch_expand(&decoded.match, &m);
            flow_from_parts(&flow, table, priority, htonll(0), &m,
                            decoded.ofpacts, decoded.ofpacts_len);
            *match_out = flow.match;
            *actions_out = flow.actions;
        }
        minimatch_destroy(&decoded.match);
    }
    ofpbuf_uninit(&ofpacts);
    ofpbuf_delete(msg);
    free(CONST_CAST(struct ofpact *, fm.ofpacts));
    minimatch_destroy(&fm.match);
    return error;
}
