/* The Kubernetes API client: list, then watch, Namespaces, Pods,
 * NetworkPolicies and ClusterNetworkPolicies, and hand each object to the
 * caller as a validated 'struct k8s_object' (objects.h).  No json_t leaves
 * this module.
 *
 * How it fits
 * -----------
 * kubeconfig.h says where the server is; this module follows the four
 * kinds and calls the callbacks below; the caller (the object cache) keeps
 * the objects.  For each kind:
 *
 *   LIST  GET /api/v1/namespaces?limit=500 (&continue=... per page)
 *   WATCH GET ...?watch=1&resourceVersion=RV&allowWatchBookmarks=true
 *             &timeoutSeconds=N     (N random in 5..10 minutes)
 *
 * and for kube_client_sync() (see there) LISTs with limit=1 and
 * metadata-only LISTs.
 *
 * Every LIST is bracketed by on_resync_begin() and on_resync_end(), the
 * first one too: between them the caller receives on_object() for each
 * valid object on the server and on_delete() for each object it was given
 * before that is gone.  So a caller may simply apply the events, or
 * mark-and-sweep: mark on on_object() and on_keep(), drop the unmarked at
 * on_resync_end().  Both give exactly the server's set (for an object whose
 * current version is invalid: its last valid one).  A LIST that fails
 * midway is retried from its first page inside the same bracket, so an
 * object may be delivered twice.
 *
 * Watch events: ADDED and MODIFIED give on_object(), DELETED on_delete(),
 * BOOKMARK advances the resourceVersion silently.  A watch that ends (its
 * timeout, a cut connection) resumes from the last resourceVersion that
 * was delivered; 410 Gone (as HTTP status or ERROR event) starts a fresh
 * LIST, i.e. a resync.  A stream that breaks the protocol (a line that is
 * not JSON, an event larger than 'max_event_size', an unknown type) is
 * reported, the connection dropped and the watch resumed from the last
 * good resourceVersion: nothing is lost or applied twice.  Should the same
 * failure come back at the same resourceVersion three times in a row (the
 * server replays the same oversized event at every reconnection from
 * there), the kind is relisted, which moves past it.
 *
 * ClusterNetworkPolicies (policy.networking.k8s.io/v1alpha2) come from a
 * CRD that a cluster may not have: an optional kind.  A 404 to its LIST
 * means the server does not serve the resource; that is no error: the kind
 * counts as listed, with no objects (a resync bracket that delivers no
 * object, and on_delete() for each one delivered before, when the CRD was
 * removed), its status says 'absent' and 'synced', and one INFO message
 * says so when it starts (not at every check).  The kind is listed again
 * every 'absent_recheck' seconds (30), and at once when a
 * kube_client_sync() probe finds it served; the first LIST that succeeds
 * says so (INFO) and the kind is watched from there.  A 404 to its watch,
 * or a watch the server ends at once (the CRD was deleted: its watches are
 * closed), relists at once, and a 404 there makes the kind absent again.
 *
 * An object that fails validation: the server accepted it, so our parser
 * disagrees with it (version skew or a bug).  We report it (the message
 * from objects.h names the namespace/name and field) and keep the last good
 * version the caller has: nothing is delivered for it, and inside a resync
 * bracket on_keep() says "still there, keep what you have".  Dropping it
 * instead would silently make a NetworkPolicy disappear (fail open).  A
 * NetworkPolicy that has no valid version yet (a new one) is delivered as
 * its fail-closed stand-in (objects_netpol_stand_in(): its pods isolated
 * with no rules), and so is each later invalid version while only a
 * stand-in was delivered; the message ends "isolating its pods with no
 * rules until it is fixed".  A later valid version or a DELETED event is
 * delivered as usual.
 *
 * Errors (HTTP 5xx and 429, connection refused, TLS failures, 401, 403,
 * timeouts, broken streams) are logged through on_log() as one sentence
 * naming the request ("list of pods: unauthorized: check the token ...:
 * retrying in 1.6 s") and retried per kind with exponential backoff
 * (backoff_initial doubling up to backoff_max, minus up to half as
 * jitter; at least a Retry-After).  The backoff resets after a success: a
 * completed LIST, or a healthy watch (one that delivered an event or
 * stayed open 10 s).  A healthy watch that is cut resumes at once; 410 on
 * a watch relists at once, but backs off if it comes again before a
 * watch got healthy.  Messages are rate-limited (log_burst, log_rate).
 *
 * The bearer token (kubeconfig.h) is read again for every request, so a
 * rotated service account token or a fixed token file is used at the next
 * (re)connection; so are certificate files, and the CA file within a
 * minute.  A token that cannot be read or sent fails the request like a
 * network error (logged, retried with backoff); a token is never sent over
 * plain http:// unless 'allow_http_token' says so.
 *
 * Loop rules
 * ----------
 * Everything runs on the libev loop given to kube_client_create(): libcurl
 * through its multi-socket API, one ev_io per socket (re-set on every
 * change), one ev_timer for libcurl's timeout (whose callback never calls
 * libcurl: the socket action runs from an ev_prepare, with an ev_idle so
 * the loop does not block meanwhile), curl_multi_info_read() drained after
 * every socket action, one backoff ev_timer per kind.  Nothing blocks
 * except reading the small token and certificate files at each
 * (re)connection.  A LIST is handled a page (page_size objects) at a time.
 *
 * Callbacks run on the loop, possibly from inside libcurl's callbacks.
 * They may call kube_client_get_status() and kube_client_sync(), must not
 * call kube_client_destroy(), and must not block.  Ownership of 'obj' in
 * on_object() passes to the callee; strings passed to callbacks are
 * borrowed for the duration of the call. */
#ifndef NP_KUBE_CLIENT_H
#define NP_KUBE_CLIENT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "objects.h"

/* The kinds the client lists and watches: the first ones of enum obj_kind
 * (Namespace, Pod, NetworkPolicy, ClusterNetworkPolicy). */
#define KUBE_N_KINDS 4

struct ev_loop;
struct kube_config;

enum kube_log_level {
    KUBE_LOG_ERROR,             /* Something failed; we retry. */
    KUBE_LOG_WARN,              /* E.g. TLS verification disabled. */
    KUBE_LOG_INFO,              /* Resyncs, reconnections. */
};

struct kube_client_callbacks {
    /* A new or changed object.  Ownership of 'obj' passes to the callee. */
    void (*on_object)(void *aux, struct k8s_object *obj);
    /* An object is gone.  'ns' is "" for a Namespace. */
    void (*on_delete)(void *aux, enum obj_kind, const char *ns,
                      const char *name);
    /* Inside a resync bracket only: the server still has this object but
     * its current version failed validation; keep the last good one. */
    void (*on_keep)(void *aux, enum obj_kind, const char *ns,
                    const char *name);
    /* A LIST of 'kind' starts and ends (see above). */
    void (*on_resync_begin)(void *aux, enum obj_kind);
    void (*on_resync_end)(void *aux, enum obj_kind);
    /* Once, when the first LIST of every kind has ended. */
    void (*on_synced)(void *aux);
    /* A sentence for the log, e.g. "watch of pods: HTTP 503 (Service
     * Unavailable: etcd leader changed): retrying in 1.6 s". */
    void (*on_log)(void *aux, enum kube_log_level, const char *msg);
    /* Optional: an object of the server failed validation (see above);
     * 'uid' and 'rv' may be NULL; 'error' is the message from objects.h
     * (it names the object and the field); 'consequence' what we do
     * instead ("keeping its last valid version", ...).  Called for every
     * sighting, relists included: the callee de-duplicates. */
    void (*on_invalid)(void *aux, enum obj_kind, const char *ns,
                       const char *name, const char *uid, const char *rv,
                       const char *error, const char *consequence);
};

/* Tunables.  kube_client_options_init() sets the defaults shown. */
struct kube_client_options {
    unsigned int page_size;             /* LIST limit: 500. */
    size_t max_event_size;              /* One watch line: 16 MiB. */
    size_t max_list_size;               /* One LIST page: 256 MiB. */
    unsigned int watch_timeout_min;     /* timeoutSeconds is random in */
    unsigned int watch_timeout_max;     /* [min, max]: 300, 600. */
    double backoff_initial;             /* Seconds: 0.5. */
    double backoff_max;                 /* Seconds: 30. */
    double connect_timeout;             /* Seconds: 10. */
    /* Seconds one LIST page (or sync's listings) may take in all: 300.
     * Besides, a transfer slower than 1 byte/s for 60 s is cut. */
    double request_timeout;
    /* Messages beyond 'log_burst' in a row are dropped, then allowed at
     * 'log_rate' per second; the next one says how many were dropped. */
    unsigned int log_burst;             /* 50. */
    double log_rate;                    /* 1. */
    /* Send a bearer token to an http:// server: false.  Without it a
     * request that would carry a token over plain HTTP fails with an error
     * that says why; one without a token (say to 'kubectl proxy') is sent
     * as usual. */
    bool allow_http_token;
    /* Seconds between LISTs of an optional kind the server does not serve
     * (no CRD): 30. */
    double absent_recheck;
};

void kube_client_options_init(struct kube_client_options *);

/* Creates a client on 'loop'.  Nothing happens until kube_client_start().
 * The caller retains ownership of 'config', 'options' (NULL for the
 * defaults) and 'cbs', and must keep 'config' and 'cbs' valid until
 * kube_client_destroy(); 'options' is copied.  Logs a warning through
 * 'cbs->on_log' when the config disables TLS verification. */
struct kube_client *kube_client_create(struct ev_loop *loop,
                                       const struct kube_config *config,
                                       const struct kube_client_options *,
                                       const struct kube_client_callbacks *,
                                       void *aux);
/* Starts listing and watching the four kinds. */
void kube_client_start(struct kube_client *);
/* Stops everything and frees the client.  Pending kube_client_sync()
 * callbacks are called with an error first.  Accepts NULL.  Not from a
 * callback of this client. */
void kube_client_destroy(struct kube_client *);

/* Status. */
struct kube_kind_status {
    const char *resource;       /* "namespaces", "pods", "networkpolicies",
                                 * "clusternetworkpolicies" */
    /* Listed, not relisting, and the last request did not fail: what was
     * delivered is current, up to the watch's delay.  Otherwise
     * 'last_error' says why (while 'failures' is nonzero). */
    bool synced;
    const char *rv;             /* Last delivered resourceVersion; NULL
                                 * before the first LIST ends. */
    bool listed;                /* The first LIST has ended. */
    /* An optional kind the server does not serve (404: no CRD): 'listed'
     * and 'synced' with no objects; 'rv' is NULL. */
    bool absent;
    bool resyncing;             /* A LIST is under way. */
    bool connected;             /* A watch stream is open (HTTP 200). */
    uint64_t events;            /* Watch events handled (bookmarks too). */
    uint64_t bookmarks;
    uint64_t lists;             /* LISTs completed, the first included. */
    uint64_t pages;             /* LIST pages received. */
    uint64_t relists;           /* LISTs caused by 410 Gone. */
    uint64_t invalid;           /* Objects that failed validation. */
    uint64_t errors;            /* Failed requests and broken streams. */
    uint64_t watch_reconnects;  /* Watches started to resume one that
                                 * ended, failed or broke (not the first
                                 * after each LIST). */
    unsigned int failures;      /* Consecutive failures (backoff level). */
    const char *last_error;     /* NULL if none yet. */
};

struct kube_client_status {
    bool synced;                /* Every kind 'synced'. */
    struct kube_kind_status kinds[KUBE_N_KINDS];         /* By obj_kind. */
};

/* Fills in 'status'.  Its strings belong to the client and stay valid until
 * the client's next callback or loop iteration. */
void kube_client_get_status(const struct kube_client *,
                            struct kube_client_status *status);

/* "Wait until caught up": calls 'cb' once what this client has delivered
 * accounts for each kind's state on the server as of the call.
 *
 * First a LIST with limit=1 per kind gives its current resourceVersion T.
 * A kind whose watch has delivered events or a bookmark up to T (compared
 * as unsigned integers; when not numeric, only equality counts) is done.
 * A quiet watch only moves at the server's next bookmark, about a minute
 * away on a real API server, so a kind not there yet is verified by one
 * more LIST of it: metadata only (PartialObjectMetadataList; a full List
 * from a server that cannot), page_size at a time, a consistent read at
 * some resourceVersion L >= T.  The kind is done once we have delivered (or
 * hold back as invalid) a version at least as new as each listed object's,
 * and every object we know that the listing lacks is newer than L (created
 * since; an older one's deletion is still on its way).  Until then, with
 * events in flight, the listing is checked again after each event and
 * after a relist, and the watch reaching T still counts.
 *
 * Cost: four LISTs of one object, plus, per kind whose watch is behind
 * (after a pod change typically the quiet Namespaces and NetworkPolicies),
 * one LIST of the metadata (labels, annotations, managedFields) of all its
 * objects; syncs waiting at the same time share these listings.
 *
 * An optional kind the server does not serve (the probe's 404) is done
 * once the client holds it absent too; one the server serves while the
 * client holds it absent is listed at once (see above).
 *
 * 'cb' is called exactly once: with NULL, or with a message naming the
 * request if one failed ("metadata list of pods: HTTP 503 ...") or the
 * client was destroyed.  There is no cancel: a caller that stops waiting
 * keeps 'aux' valid until 'cb' (meanwhile at most two listings per kind
 * are held).  May be called from a callback. */
typedef void kube_client_sync_fn(void *aux, const char *error);
void kube_client_sync(struct kube_client *, kube_client_sync_fn *cb,
                      void *aux);

/* Writes, for Events (events.h): sends 'method' ("POST" with a JSON body,
 * "PATCH" with a JSON merge patch) to 'path' (e.g.
 * "/api/v1/namespaces/NS/events"), with the same credentials, TLS and
 * proxy as the watches, on the loop; nothing blocks.  'cb' is called once
 * with the HTTP status (0 when no answer came) and NULL, or a message
 * naming the request when the status is not 2xx; never retried here.  It
 * is not called for a request still in flight at kube_client_destroy().
 * Returns false after storing a malloc'd message in '*error' when the
 * request cannot start (the token cannot be read). */
typedef void kube_client_send_fn(void *aux, long status, const char *error);
bool kube_client_send(struct kube_client *, const char *method,
                      const char *path, const char *body,
                      kube_client_send_fn *cb, void *aux, char **error);

/* The resource name of 'kind' in URLs: "namespaces", ... */
const char *kube_resource_name(enum obj_kind);

#endif
