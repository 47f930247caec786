/* Kubernetes Events for what this node cannot enforce as written.
 *
 * How it fits
 * -----------
 * The daemon reports conditions ("NetworkPolicy default/x is invalid at
 * spec.ingress[0]...", "its rules need more flows than the limit") with
 * events_report() as often as it sees them: at every relist, every
 * recompute.  This module decides what reaches the API server as core v1
 * Events, as the kubelet's EventRecorder (client-go's EventCorrelator)
 * would, and queues the writes; the daemon sends them with
 * kube_client_send() (kube-client.h) and reports each answer back.  It
 * does no I/O and reads no clock: every call takes 'now' (seconds since
 * the epoch), so the tests drive it with a fake clock.
 *
 * Per report, in this order:
 *
 *   1. Steady state: the same (object, reason) with the same
 *      resourceVersion and message as last reported is dropped.  So a
 *      condition that persists yields one Event, not one per resync; it is
 *      reported again only when the object changes (new resourceVersion)
 *      or the message does.  events_forget() clears an object's entries
 *      (it was deleted, or became valid).
 *   2. Spam filter, per object (kind, namespace, name, uid): a token
 *      bucket of EVENTS_BURST (25) refilled at one per
 *      EVENTS_REFILL_SECONDS (300), as client-go's.  Beyond it the report
 *      is dropped (and counted).
 *   3. De-duplication: the same (object, reason, message) as an Event
 *      written less than EVENTS_DEDUP_SECONDS (600) ago PATCHes that
 *      Event's count and lastTimestamp; otherwise a new Event is POSTed,
 *      named "<object name>.<hex nanoseconds>" as client-go names them.
 *
 * Writes go through a queue of at most 'max_queue' entries (the oldest is
 * dropped beyond it), one in flight at a time.  A write that got no answer,
 * or 429 or 5xx, is retried after a backoff (1 s doubling to 60 s); a PATCH
 * of an Event that is gone (404: the API server expires Events after an
 * hour) is sent again as a POST of the whole Event; other failures (403:
 * the role lacks the verb; 422) drop the write.  None of this touches
 * enforcement: a failed Event is a lost Event.
 *
 * Loop rules: none; not thread-safe.  Strings passed in are copied. */
#ifndef NP_EVENTS_H
#define NP_EVENTS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENTS_BURST 25
#define EVENTS_REFILL_SECONDS 300.0
#define EVENTS_DEDUP_SECONDS 600.0
#define EVENTS_BACKOFF_MIN 1.0
#define EVENTS_BACKOFF_MAX 60.0
/* The API server caps an Event's message; the kubelet's recorder cuts at
 * this many bytes too. */
#define EVENTS_MESSAGE_MAX 1024

/* The object an Event is about (its involvedObject). */
struct events_ref {
    const char *kind;           /* "NetworkPolicy" */
    const char *api_version;    /* "networking.k8s.io/v1" */
    const char *ns;
    const char *name;
    const char *uid;            /* May be NULL. */
    const char *rv;             /* resourceVersion; may be NULL. */
    /* The object has no namespace (a ClusterNetworkPolicy): its Events go
     * to 'ns' ("default", as the kubelet's about a Node), and their
     * involvedObject has none, as `kubectl describe` looks them up. */
    bool cluster_scoped;
};

struct events_options {
    const char *component;      /* source.component: "ovs-netpold" */
    const char *host;           /* source.host, reportingInstance: node */
    size_t max_queue;           /* 0 for the default, 64. */
};

struct events_stats {
    uint64_t reported;          /* events_report() calls. */
    uint64_t steady;            /* Dropped: nothing changed (step 1). */
    uint64_t spam;              /* Dropped by the spam filter (step 2). */
    uint64_t created;           /* POSTs queued. */
    uint64_t patched;           /* PATCHes queued. */
    uint64_t sent;              /* Writes answered 2xx. */
    uint64_t failed;            /* Writes dropped after a failure. */
    uint64_t overflow;          /* Writes dropped from a full queue. */
    size_t queued;
};

struct events *events_create(const struct events_options *);
void events_destroy(struct events *);

/* Reports 'reason' ("InvalidPolicy", ...) with 'message' (cut to
 * EVENTS_MESSAGE_MAX bytes) about 'ref' at 'now'.  Returns true if it
 * queued a write (a new Event or a count increment). */
bool events_report(struct events *, const struct events_ref *ref,
                   const char *reason, const char *message, double now);

/* Clears what step 1 remembers of the object (kind, ns, name): for
 * 'reason', or for every reason if 'reason' is NULL. */
void events_forget(struct events *, const char *kind, const char *ns,
                   const char *name, const char *reason);

/* The next write to send at 'now': returns false if there is none, one is
 * in flight, or the queue is backing off (then '*wake', if nonnull, is
 * when to ask again, else 0).  On true, '*method', '*path' and '*body'
 * point into the module and stay valid until events_done(); exactly one
 * events_done() must follow. */
bool events_next(struct events *, double now, const char **method,
                 const char **path, const char **body, double *wake);

/* The answer to the write events_next() gave: HTTP 'status', 0 for none. */
void events_done(struct events *, long status, double now);

void events_get_stats(const struct events *, struct events_stats *);

#endif
