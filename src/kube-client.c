/* The Kubernetes list/watch client.  See kube-client.h.
 *
 * Structure: one 'struct kc_kind' per resource runs the state machine
 *
 *     LIST page 1 .. page n  -->  WATCH  --(ends, cut)-->  WATCH
 *        ^                          |
 *        +------(410 Gone)----------+      any failure: backoff, retry
 *
 * with at most one request in flight; 'struct kc_request' is one HTTP
 * request (an easy handle on the shared multi handle).  kube_client_sync()
 * adds its own requests beside it: probes, and per kind at most one
 * metadata LIST ('struct kc_listing', see syncs_run()).  libcurl tells us
 * about sockets (curl_socket_cb) and its timeout (curl_timer_cb); we drive
 * it with curl_multi_socket_action() from the ev_io callbacks and, for the
 * timeout, from the 'work' ev_prepare (never from the timer callback).
 * Work that must not run inside libcurl's callbacks (adding and removing
 * handles, starting requests, answering sync requests) is queued and done
 * by the same 'work' watcher; an ev_idle 'nudge' keeps the loop from
 * blocking while work is queued. */
#include <np-config.h>
#include "kube-client.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <ev.h>
#include <jansson.h>
#include "kubeconfig.h"
#include "np-log.h"
#include "np-util.h"
#include "objects.h"
#include "strmap.h"

/* Bytes of a non-200 response body kept for the error message. */
#define ERROR_BODY_MAX 65536

/* A watch is healthy, and resets the backoff, once it has delivered an
 * event or stayed open this long (seconds). */
#define WATCH_HEALTHY_AFTER 10.0

/* Extra time libcurl gives a watch beyond its timeoutSeconds before it
 * considers the server dead. */
#define WATCH_GRACE 60

/* The longest Retry-After we honor, in seconds. */
#define RETRY_AFTER_MAX 60

/* A watch broken this many times in a row at the same resourceVersion,
 * for the same reason, is relisted: the server replays the same event at
 * every reconnection from there (one over max_event_size, say), so
 * reconnecting again would never get past it. */
#define WATCH_STUCK_ABORTS 3

struct kind_info {
    const char *resource;
    const char *path;
    /* A CRD's resource, which the server may not serve (kube-client.h):
     * what to call it and its objects in messages, else NULL. */
    const char *optional;
    const char *plural;
};

static const struct kind_info kind_infos[KUBE_N_KINDS] = {
    [OBJ_NAMESPACE] = { "namespaces", "/api/v1/namespaces", NULL },
    [OBJ_POD] = { "pods", "/api/v1/pods", NULL },
    [OBJ_NETPOL] = { "networkpolicies",
                     "/apis/networking.k8s.io/v1/networkpolicies", NULL },
    [OBJ_CNP] = { "clusternetworkpolicies",
                  "/apis/policy.networking.k8s.io/v1alpha2/"
                  "clusternetworkpolicies",
                  "policy.networking.k8s.io/v1alpha2 clusternetworkpolicies "
                  "(the ClusterNetworkPolicy CRD)", "ClusterNetworkPolicies" },
};

const char *
kube_resource_name(enum obj_kind kind)
{
    assert(kind < KUBE_N_KINDS);
    return kind_infos[kind].resource;
}

enum req_type {
    REQ_LIST,
    REQ_WATCH,
    REQ_PROBE,                  /* LIST limit=1 for kube_client_sync(). */
    REQ_VERIFY,                 /* A page of a 'struct kc_listing'. */
    REQ_SEND,                   /* kube_client_send(): no kind. */
};

/* What the caller holds for one object, by key "ns/name" (or "name"). */
struct kc_known {
    bool delivered;             /* The caller holds a version. */
    bool stand_in;              /* That version is a NetworkPolicy's
                                 * fail-closed stand-in (objects.h). */
    bool invalid;               /* The server's current version is invalid. */
    unsigned int gen;           /* List generation that last saw it. */
    char *rv;                   /* resourceVersion of the last version seen
                                 * (delivered or held back), or NULL. */
};

/* A metadata-only LIST of one kind, for kube_client_sync(): the server's
 * objects at one resourceVersion, to compare with what we delivered. */
struct kc_listing {
    uint64_t seq;               /* Listings of the kind, in starting order. */
    struct strmap objects;      /* Key -> resourceVersion ("" if none). */
    char *continue_token;       /* The next page, or NULL. */
    char *rv;                   /* The list's; NULL until the last page. */
};

struct kc_request {
    struct kube_client *kc;
    struct kc_request *next;    /* In kc->requests. */
    struct kc_kind *kk;
    enum req_type type;
    struct kc_sync *sync;       /* REQ_PROBE only. */
    char *url;

    /* REQ_SEND only. */
    kube_client_send_fn *send_cb;
    void *send_aux;
    bool add_pending;           /* Not yet given to the multi handle. */
    char *method;
    char *body;

    CURL *easy;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];

    long status;                /* HTTP status, 0 until the headers end. */
    double retry_after;         /* Seconds from a Retry-After header, or 0. */
    ev_tstamp connected_at;     /* When a watch got its 200. */

    /* The body (LIST, PROBE, errors) or the incomplete last line of a
     * watch stream. */
    char *buf;
    size_t len, allocated;

    uint64_t n_events;          /* Watch events handled. */
    char *abort_reason;         /* We aborted the transfer: why. */
    bool gone;                  /* Watch got 410 Gone. */
};

struct kc_kind {
    struct kube_client *kc;
    enum obj_kind kind;
    const char *resource;
    const char *path;
    const char *optional;       /* kind_info's. */
    const char *plural;

    /* An optional kind: the server does not serve it (its last LIST got
     * 404); 'absent_checks' counts those LISTs.  'appeared': a LIST is
     * under way that found it served after all. */
    bool absent;
    bool appeared;
    uint64_t absent_checks;
    bool recheck;               /* List now (kube_client_sync() found the
                                 * server disagrees with 'absent'). */
    /* Since the last healthy watch, or the kind found absent: a watch got
     * 404 and relisted; one ended at once and was resumed at once. */
    bool quick_end_relisted;
    bool quick_end_resumed;

    char *rv;                   /* Last delivered resourceVersion. */
    bool need_list;             /* Next request is a LIST (page 1). */
    char *continue_token;       /* Next LIST page, or NULL. */
    unsigned int gone_streak;   /* 410s without a healthy watch between. */
    /* Watch aborts in a row at resourceVersion 'abort_rv' for the reason
     * 'abort_reason' (see WATCH_STUCK_ABORTS). */
    unsigned int abort_streak;
    char *abort_rv;
    char *abort_reason;
    bool resync_begun;          /* on_resync_begin() delivered. */
    unsigned int gen;           /* Incremented at each LIST attempt. */
    struct strmap known;        /* Key -> struct kc_known. */

    struct kc_request *req;     /* The LIST or WATCH in flight, or NULL. */
    bool start_pending;         /* Start the next request from 'work'. */
    ev_timer backoff;
    unsigned int failures;

    /* kube_client_sync() of a kind whose watch is behind.  One listing is
     * received at a time; a newer one serves the syncs that waited for an
     * older one, so stuck syncs hold at most two listings per kind. */
    uint64_t listing_seq;       /* Listings started. */
    struct kc_listing *listing; /* Being received, or NULL. */
    struct kc_request *listing_req;     /* Its page in flight, or NULL. */
    struct kc_listing *verify;  /* The newest received, not yet accounted
                                 * for, or NULL. */
    bool verify_dirty;          /* 'known' changed since the last check. */
    uint64_t verified_seq;      /* The newest listing accounted for. */

    /* Status. */
    bool listed;
    bool connected;
    uint64_t events, bookmarks, lists, pages, relists, invalid, errors;
    uint64_t watch_reconnects;  /* Watches started to resume one. */
    bool watched_since_list;    /* A watch was started since the LIST. */
    char *last_error;
};

struct kc_sync {
    struct kc_sync *next;
    kube_client_sync_fn *cb;
    void *aux;
    bool probes_started;
    unsigned int outstanding;   /* Probes in flight. */
    char *targets[KUBE_N_KINDS];         /* From the probes. */
    /* The probe of an optional kind got 404 ('absent'), or found it served
     * while we held it absent after 'absent_checks' checks. */
    bool absent[KUBE_N_KINDS];
    uint64_t absent_checks[KUBE_N_KINDS];
    /* The kind's LISTs done when it was found absent: one done after that
     * (the CRD came back meanwhile) is as new as the server's answer. */
    uint64_t absent_lists[KUBE_N_KINDS];
    /* A kind whose watch had not reached its target when first checked
     * waits for a listing started after that: one with seq >= need_seq. */
    uint64_t need_seq[KUBE_N_KINDS];
    bool caught_up[KUBE_N_KINDS];
    bool done;                  /* 'cb' called. */
};

/* One socket that libcurl asked us to watch. */
struct kc_sock {
    struct kube_client *kc;
    struct kc_sock *next, *prev;
    curl_socket_t fd;
    ev_io io;
};

struct kube_client {
    struct ev_loop *loop;
    const struct kube_config *config;
    struct kube_client_options opts;
    const struct kube_client_callbacks *cbs;
    void *aux;

    CURLM *multi;
    ev_timer curl_timer;
    bool timeout_due;           /* Run CURL_SOCKET_TIMEOUT from 'work'. */
    struct kc_sock socks;       /* List head. */
    struct kc_request *requests;

    ev_prepare work;
    ev_idle nudge;

    struct kc_kind kinds[KUBE_N_KINDS];
    struct kc_sync *syncs;
    bool started;
    bool synced;
    bool token_fallback;        /* The static token stands in for the
                                 * unreadable token file. */

    uint64_t rand_state;

    struct np_log_limit log_limit;      /* opts.log_burst, log_rate. */
};

static void kick(struct kube_client *);
static void request_free(struct kc_request *);

/* Utilities. */

static double
random_unit(struct kube_client *kc)
{
    /* xorshift64*: jitter and watch timeouts need no more. */
    uint64_t x = kc->rand_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    kc->rand_state = x;
    return ((x * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

static void kc_log(struct kube_client *, enum kube_log_level,
                   const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void
kc_log(struct kube_client *kc, enum kube_log_level level,
       const char *format, ...)
{
    struct np_log_limit *rl = &kc->log_limit;
    if (!np_log_limit_allow(rl, ev_now(kc->loop))) {
        return;
    }

    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    if (rl->dropped) {
        char *s = xasprintf("%s (%"PRIu64" earlier messages suppressed)",
                            msg, rl->dropped);
        free(msg);
        msg = s;
        rl->dropped = 0;
    }
    if (kc->cbs->on_log) {
        kc->cbs->on_log(kc->aux, level, msg);
    }
    free(msg);
}

/* Up to 'max' bytes of 's' as printable text, for messages. */
static char *
excerpt(const char *s, size_t len, size_t max)
{
    size_t n = len < max ? len : max;
    char *out = xmalloc(n * 4 + 8);
    char *p = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;
        } else if (c >= 0x20 && c < 0x7f) {
            *p++ = c;
        } else {
            p += sprintf(p, "\\x%02x", c);
        }
    }
    if (n < len) {
        strcpy(p, "...");
        p += 3;
    }
    *p = '\0';
    return out;
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s) {
        return false;
    }
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (*s - '0')) / 10) {
            return false;
        }
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}

/* Has resourceVersion 'have' reached 'want'? */
static bool
rv_reached(const char *have, const char *want)
{
    uint64_t h, w;
    if (!have) {
        return false;
    } else if (parse_u64(have, &h) && parse_u64(want, &w)) {
        return h >= w;
    }
    return !strcmp(have, want);
}

static void
set_string(char **dst, const char *src)
{
    if (*dst != src) {
        free(*dst);
        *dst = src ? xstrdup(src) : NULL;
    }
}

static const char *
op_name(const struct kc_request *req)
{
    return (req->type == REQ_WATCH ? "watch"
            : req->type == REQ_LIST ? "list"
            : req->type == REQ_VERIFY ? "metadata list"
            : req->type == REQ_SEND ? req->method : "sync list");
}

/* libcurl's allocations fail only when memory runs out, which aborts
 * here as everywhere (STYLE.md): going on would send a request without its
 * Authorization header, or "(null)" in its URL. */
static struct curl_slist *
xcurl_slist_append(struct curl_slist *list, const char *s)
{
    struct curl_slist *l = curl_slist_append(list, s);
    if (!l) {
        abort();
    }
    return l;
}

static char *
xcurl_escape(CURL *e, const char *s)
{
    char *escaped = curl_easy_escape(e, s, 0);
    if (!escaped) {
        abort();
    }
    return escaped;
}

/* Buffers. */

static bool
buf_append(struct kc_request *req, const char *data, size_t n, size_t max)
{
    if (req->len + n > max) {
        return false;
    }
    if (req->len + n + 1 > req->allocated) {
        size_t a = req->allocated ? req->allocated : 16384;
        while (a < req->len + n + 1) {
            a *= 2;
        }
        req->buf = xrealloc(req->buf, a);
        req->allocated = a;
    }
    memcpy(req->buf + req->len, data, n);
    req->len += n;
    req->buf[req->len] = '\0';
    return true;
}

/* JSON helpers: nothing JSON leaves this file. */

static const char *
json_get_str(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The identity of the object 'obj' as the API server sent it. */
static void
json_meta(const json_t *obj, enum obj_kind kind, const char **ns,
          const char **name, const char **rv)
{
    const json_t *meta = json_object_get(obj, "metadata");
    *name = json_get_str(meta, "name");
    *rv = json_get_str(meta, "resourceVersion");
    *ns = "";
    if (!obj_kind_cluster_scoped(kind)) {
        /* As objects.h does. */
        const char *s = json_get_str(meta, "namespace");
        *ns = s && *s ? s : "default";
    }
    if (*name && !**name) {
        *name = NULL;
    }
}

/* Objects. */

static void
known_free(struct kc_known *k)
{
    if (k) {
        free(k->rv);
        free(k);
    }
}

static struct kc_known *
known_get(struct kc_kind *kk, const char *ns, const char *name, bool create)
{
    char *key = k8s_object_key(ns, name);
    struct kc_known *k;
    if (create) {
        bool created;
        void **slot = strmap_slot(&kk->known, key, &created);
        if (created) {
            *slot = xcalloc(1, sizeof(struct kc_known));
        }
        k = *slot;
    } else {
        k = strmap_get(&kk->known, key);
    }
    free(key);
    return k;
}

static void
known_remove(struct kc_kind *kk, const char *ns, const char *name)
{
    char *key = k8s_object_key(ns, name);
    known_free(strmap_remove(&kk->known, key));
    free(key);
    kk->verify_dirty = true;
}

/* Validates the object 'obj' of an event or a LIST item and delivers it,
 * or reports it and keeps the last good version (see kube-client.h).
 * 'in_list' is true for LIST items. */
static void
handle_object(struct kc_kind *kk, const char *origin, const json_t *obj,
              bool in_list)
{
    struct kube_client *kc = kk->kc;
    const char *ns, *name, *rv;
    json_meta(obj, kk->kind, &ns, &name, &rv);

    char *error;
    struct k8s_object *o = objects_from_json_as(origin, obj, kk->kind,
                                                &error);
    if (o) {
        struct kc_known *k = known_get(kk, k8s_object_namespace(o),
                                       k8s_object_name(o), true);
        k->delivered = true;
        k->stand_in = false;
        k->invalid = false;
        k->gen = kk->gen;
        set_string(&k->rv, rv);
        kk->verify_dirty = true;
        kc->cbs->on_object(kc->aux, o);
        return;
    }

    kk->invalid++;
    if (!name) {
        kc_log(kc, KUBE_LOG_ERROR, "%s (resourceVersion %s); ignored",
               error, rv ? rv : "unknown");
        free(error);
        return;
    }
    struct kc_known *k = known_get(kk, ns, name, true);
    /* A policy with no valid version held is enforced through its
     * stand-in (again, if the one held is a stand-in: this version may
     * select other pods). */
    struct k8s_object *stand_in = NULL;
    if (!k->delivered || k->stand_in) {
        stand_in = objects_stand_in(kk->kind, obj, error);
    }
    const char *consequence = (stand_in ? OBJECTS_STAND_IN_NOTE_OF(kk->kind)
                               : k->delivered
                               ? "keeping its last valid version"
                               : "ignored");
    kc_log(kc, KUBE_LOG_ERROR, "%s (resourceVersion %s); %s", error,
           rv ? rv : "unknown", consequence);
    if (kc->cbs->on_invalid) {
        /* Without the origin ("watch of networkpolicies: "): the same
         * version seen by a LIST is the same problem. */
        const char *what = error;
        size_t n = strlen(origin);
        if (!strncmp(what, origin, n) && !strncmp(what + n, ": ", 2)) {
            what += n + 2;
        }
        const json_t *meta = json_object_get(obj, "metadata");
        kc->cbs->on_invalid(kc->aux, kk->kind, ns, name,
                            json_get_str(meta, "uid"), rv, what,
                            consequence);
    }
    free(error);
    k->invalid = true;
    k->gen = kk->gen;
    set_string(&k->rv, rv);
    kk->verify_dirty = true;
    if (stand_in) {
        k->delivered = true;
        k->stand_in = true;
        kc->cbs->on_object(kc->aux, stand_in);
    } else if (in_list && k->delivered && kc->cbs->on_keep) {
        kc->cbs->on_keep(kc->aux, kk->kind, ns, name);
    }
}

/* Resyncs. */

static void
resync_begin(struct kc_kind *kk)
{
    if (!kk->resync_begun) {
        kk->resync_begun = true;
        if (kk->kc->cbs->on_resync_begin) {
            kk->kc->cbs->on_resync_begin(kk->kc->aux, kk->kind);
        }
    }
}

/* The LIST ended at resourceVersion 'rv': drops what it did not mention,
 * closes the bracket and moves on to watching. */
static void
resync_end(struct kc_kind *kk, const char *rv)
{
    struct kube_client *kc = kk->kc;

    resync_begin(kk);           /* An empty LIST still brackets. */

    /* Collect first: callbacks must not see a map being modified. */
    char **gone = NULL;
    size_t n_gone = 0, allocated_gone = 0;
    size_t bucket;
    for (struct strmap_node *node = strmap_first(&kk->known, &bucket); node;
         node = strmap_next(&kk->known, node, &bucket)) {
        struct kc_known *k = node->value;
        if (k->gen != kk->gen) {
            APPEND(gone, n_gone, allocated_gone, xstrdup(node->key));
        }
    }
    for (size_t i = 0; i < n_gone; i++) {
        struct kc_known *k = strmap_remove(&kk->known, gone[i]);
        if (k->delivered && kc->cbs->on_delete) {
            char *slash = strchr(gone[i], '/');
            if (slash) {
                *slash = '\0';
                kc->cbs->on_delete(kc->aux, kk->kind, gone[i], slash + 1);
            } else {
                kc->cbs->on_delete(kc->aux, kk->kind, "", gone[i]);
            }
        }
        known_free(k);
        free(gone[i]);
    }
    free(gone);
    kk->verify_dirty = true;

    set_string(&kk->rv, rv);
    kk->need_list = false;
    kk->resync_begun = false;
    kk->failures = 0;
    free(kk->continue_token);
    kk->continue_token = NULL;
    kk->lists++;
    kk->watched_since_list = false;
    bool first = !kk->listed;
    kk->listed = true;
    if (kc->cbs->on_resync_end) {
        kc->cbs->on_resync_end(kc->aux, kk->kind);
    }
    if (kk->appeared) {
        kk->appeared = false;
        kc_log(kc, KUBE_LOG_INFO, "list of %s: the server serves %s now: "
               "%zu listed at resourceVersion %s; watching", kk->resource,
               kk->optional, kk->known.n, rv);
    } else if (!first && rv) {
        kc_log(kc, KUBE_LOG_INFO, "list of %s: resynced at "
               "resourceVersion %s", kk->resource, rv);
    }

    if (first && !kc->synced) {
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            if (!kc->kinds[i].listed) {
                return;
            }
        }
        kc->synced = true;
        if (kc->cbs->on_synced) {
            kc->cbs->on_synced(kc->aux);
        }
    }
}

/* Requests. */

static size_t
header_cb(char *data, size_t size, size_t nmemb, void *req_)
{
    struct kc_request *req = req_;
    size_t n = size * nmemb;
    static const char retry_after[] = "retry-after:";
    if (n > sizeof retry_after
        && !strncasecmp(data, retry_after, sizeof retry_after - 1)) {
        /* Only the delta-seconds form; an HTTP date is rare here. */
        char *value = xmemdup0(data + sizeof retry_after - 1,
                               n - (sizeof retry_after - 1));
        char *end;
        long seconds = strtol(value, &end, 10);
        if (end != value && seconds > 0) {
            req->retry_after = seconds;
        }
        free(value);
    }
    if (n <= 2 && (n == 0 || data[0] == '\r' || data[0] == '\n')) {
        /* The end of a header block. */
        long status = 0;
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) {
            req->status = status;
            if (req->type == REQ_WATCH && status == 200) {
                struct kc_kind *kk = req->kk;
                kk->connected = true;
                req->connected_at = ev_now(req->kc->loop);
                if (kk->failures) {
                    kc_log(req->kc, KUBE_LOG_INFO, "watch of %s: connected "
                           "at resourceVersion %s", kk->resource, kk->rv);
                }
            }
        }
    }
    return n;
}

/* Aborts the transfer of 'req' from inside a libcurl callback with the
 * malloc'd 'reason'. */
static size_t
abort_transfer(struct kc_request *req, char *reason)
{
    free(req->abort_reason);
    req->abort_reason = reason;
    return CURL_WRITEFUNC_ERROR;
}

/* Handles one watch event, 'line' ('len' bytes).  Returns false to end
 * the stream: at 410 Gone ('req->gone') or at an error
 * ('req->abort_reason'). */
static bool
handle_event(struct kc_request *req, const char *line, size_t len)
{
    struct kc_kind *kk = req->kk;
    struct kube_client *kc = kk->kc;
    json_error_t jerr;
    json_t *ev = json_loadb(line, len, 0, &jerr);
    if (!ev) {
        char *ex = excerpt(line, len, 80);
        req->abort_reason = xasprintf("received garbage instead of an event "
                                      "(%s at byte %d: \"%s\")", jerr.text,
                                      jerr.position, ex);
        free(ex);
        return false;
    }

    const char *type = json_get_str(ev, "type");
    const json_t *obj = json_object_get(ev, "object");
    if (!type || !json_is_object(obj)) {
        char *ex = excerpt(line, len, 80);
        req->abort_reason = xasprintf("received an event without %s "
                                      "(\"%s\")", !type ? "a type"
                                      : "an object", ex);
        free(ex);
        json_decref(ev);
        return false;
    }

    const char *ns, *name, *rv;
    json_meta(obj, kk->kind, &ns, &name, &rv);
    bool ok = true;
    if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
        char origin[64];
        snprintf(origin, sizeof origin, "watch of %s", kk->resource);
        handle_object(kk, origin, obj, false);
    } else if (!strcmp(type, "DELETED")) {
        if (name) {
            struct kc_known *k = known_get(kk, ns, name, false);
            if (k && k->delivered && kc->cbs->on_delete) {
                kc->cbs->on_delete(kc->aux, kk->kind, ns, name);
            }
            known_remove(kk, ns, name);
        }
    } else if (!strcmp(type, "BOOKMARK")) {
        kk->bookmarks++;
    } else if (!strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        const char *reason = json_get_str(obj, "reason");
        const char *message = json_get_str(obj, "message");
        if (code == 410) {
            kc_log(kc, KUBE_LOG_INFO, "watch of %s: resourceVersion %s is "
                   "gone (410 %s: %s): relisting", kk->resource, kk->rv,
                   reason ? reason : "Gone", message ? message : "");
            req->gone = true;
        } else {
            req->abort_reason = xasprintf("the server sent an error event "
                                          "(code %" JSON_INTEGER_FORMAT
                                          " %s: %s)", code,
                                          reason ? reason : "",
                                          message ? message : "");
        }
        ok = false;
    } else {
        char *ex = excerpt(type, strlen(type), 40);
        req->abort_reason = xasprintf("received an event of unknown type "
                                      "\"%s\"", ex);
        free(ex);
        ok = false;
    }

    if (ok) {
        if (rv) {
            set_string(&kk->rv, rv);
        }
        kk->events++;
        req->n_events++;
        kk->failures = 0;
        kk->gone_streak = 0;
        kk->quick_end_relisted = false;
        kk->quick_end_resumed = false;
        if (kc->syncs) {
            kick(kc);
        }
    }
    json_decref(ev);
    return ok;
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *req_)
{
    struct kc_request *req = req_;
    struct kube_client *kc = req->kc;
    size_t n = size * nmemb;

    if (!req->status) {
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
    }
    if (req->status != 200 || req->type == REQ_SEND) {
        /* An error, or the answer to a write that only its status
         * matters of: keep the start of the body for the message. */
        size_t room = ERROR_BODY_MAX - req->len;
        buf_append(req, data, n < room ? n : room, ERROR_BODY_MAX);
        return n;
    }

    if (req->type != REQ_WATCH) {
        if (!buf_append(req, data, n, kc->opts.max_list_size)) {
            return abort_transfer(req, xasprintf(
                                      "the response is larger than %zu bytes "
                                      "(max_list_size)",
                                      kc->opts.max_list_size));
        }
        return n;
    }

    /* A watch stream: one JSON event per line. */
    size_t max = kc->opts.max_event_size;
    size_t ofs = 0;
    while (ofs < n) {
        const char *nl = memchr(data + ofs, '\n', n - ofs);
        size_t chunk = nl ? (size_t) (nl - (data + ofs)) : n - ofs;
        if (req->len + chunk > max) {
            return abort_transfer(req, xasprintf(
                                      "received an event larger than %zu "
                                      "bytes (max_event_size)", max));
        }
        if (!nl) {
            buf_append(req, data + ofs, chunk, max);
            break;
        }

        const char *line;
        size_t len;
        if (req->len) {
            buf_append(req, data + ofs, chunk, max);
            line = req->buf;
            len = req->len;
        } else {
            line = data + ofs;
            len = chunk;
        }
        ofs += chunk + 1;
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) {
            len--;
        }
        bool ok = !len || handle_event(req, line, len);
        req->len = 0;
        if (!ok) {
            return CURL_WRITEFUNC_ERROR;
        }
    }
    return n;
}

static void
request_free(struct kc_request *req)
{
    if (req) {
        struct kube_client *kc = req->kc;
        for (struct kc_request **p = &kc->requests; *p; p = &(*p)->next) {
            if (*p == req) {
                *p = req->next;
                break;
            }
        }
        if (req->easy) {
            if (!req->add_pending) {
                curl_multi_remove_handle(kc->multi, req->easy);
            }
            curl_easy_cleanup(req->easy);
        }
        for (struct curl_slist *h = req->headers; h; h = h->next) {
            explicit_bzero(h->data, strlen(h->data));   /* The token. */
        }
        curl_slist_free_all(req->headers);
        free(req->url);
        free(req->method);
        free(req->body);
        free(req->buf);
        free(req->abort_reason);
        free(req);
    }
}

/* What kube_client_send() sends. */
struct kc_send {
    const char *method;
    const char *path;
    const char *body;
    kube_client_send_fn *cb;
    void *aux;
};

/* Creates and adds the request 'type' for 'kk' ('send' for REQ_SEND, with
 * 'kk' NULL; else NULL).  Returns NULL after
 * storing a malloc'd message in '*error' (the token could not be read). */
static struct kc_request *
request_start(struct kube_client *kc, struct kc_kind *kk, enum req_type type,
              const struct kc_send *send, char **error)
{
    const struct kube_config *cfg = kc->config;

    /* Read the token anew at every connection: it rotates. */
    char *token, *fallback;
    *error = kube_config_get_token(cfg, &token, &fallback);
    if (*error) {
        return NULL;
    }
    /* A token file that cannot be read hides a failed rotation behind the
     * static token: say so when it starts and when it ends. */
    if (fallback && !kc->token_fallback) {
        kc_log(kc, KUBE_LOG_WARN, "%s", fallback);
    } else if (!fallback && kc->token_fallback) {
        kc_log(kc, KUBE_LOG_INFO, "%s: token file %s can be read again: "
               "using its token", cfg->origin, cfg->token_file);
    }
    kc->token_fallback = fallback != NULL;
    free(fallback);
    if (token && *token && !kc->opts.allow_http_token
        && !strncmp(cfg->server, "http://", 7)) {
        kube_config_free_token(token);
        *error = xasprintf("refusing to send the bearer token of %s over "
                           "plain HTTP to %s, where anyone on the path can "
                           "read it (use https://, or allow it explicitly)",
                           cfg->origin, cfg->server);
        return NULL;
    }

    struct kc_request *req = xcalloc(1, sizeof *req);
    req->kc = kc;
    req->kk = kk;
    req->type = type;
    req->easy = curl_easy_init();
    if (!req->easy) {
        abort();
    }
    CURL *e = req->easy;

    char *query;
    unsigned int timeout = 0;
    if (type == REQ_WATCH) {
        unsigned int lo = kc->opts.watch_timeout_min;
        unsigned int hi = kc->opts.watch_timeout_max;
        timeout = lo + (unsigned int) (random_unit(kc) * (hi - lo + 1));
        if (timeout > hi) {
            timeout = hi;
        }
        char *rv = xcurl_escape(e, kk->rv);
        query = xasprintf("watch=1&resourceVersion=%s&allowWatchBookmarks="
                          "true&timeoutSeconds=%u", rv, timeout);
        curl_free(rv);
    } else if (type == REQ_LIST || type == REQ_VERIFY) {
        /* A listing has no resourceVersion parameter: a consistent read,
         * at least as new as any probe answered before it started. */
        const char *cont = (type == REQ_LIST ? kk->continue_token
                            : kk->listing->continue_token);
        if (cont) {
            char *c = xcurl_escape(e, cont);
            query = xasprintf("limit=%u&continue=%s", kc->opts.page_size, c);
            curl_free(c);
        } else {
            query = xasprintf("limit=%u", kc->opts.page_size);
        }
    } else if (type == REQ_PROBE) {
        query = xstrdup("limit=1");
    } else {
        query = NULL;
    }
    req->url = (query ? xasprintf("%s%s?%s", cfg->server, kk->path, query)
                : xasprintf("%s%s", cfg->server, send->path));
    free(query);
    if (send) {
        req->method = xstrdup(send->method);
        req->body = xstrdup(send->body);
        req->send_cb = send->cb;
        req->send_aux = send->aux;
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                         (long) (kc->opts.connect_timeout * 1000 * 3));
    }

    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, req);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ovs-netpol/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) (kc->opts.connect_timeout * 1000));
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    if (type == REQ_WATCH) {
        curl_easy_setopt(e, CURLOPT_TIMEOUT, (long) timeout + WATCH_GRACE);
    } else if (type != REQ_SEND) {
        /* Lists may be long; a stalled one is not, nor one that trickles
         * forever (the LIST would hold its kind meanwhile). */
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                         (long) (kc->opts.request_timeout * 1000));
    }

    /* A listing needs names and resourceVersions only; a server that
     * cannot send just the metadata sends the full List. */
    req->headers = (!send ? NULL : xcurl_slist_append(
                        NULL, !strcmp(send->method, "PATCH")
                        ? "Content-Type: application/merge-patch+json"
                        : "Content-Type: application/json"));
    req->headers = xcurl_slist_append(
        req->headers, (type == REQ_VERIFY
               ? "Accept: application/json;as=PartialObjectMetadataList;"
                 "g=meta.k8s.io;v=v1, application/json"
               : "Accept: application/json"));
    if (token && *token) {
        char *h = xasprintf("Authorization: Bearer %s", token);
        req->headers = xcurl_slist_append(req->headers, h);
        kube_config_free_token(h);
    }
    kube_config_free_token(token);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);

    if (cfg->insecure_skip_tls_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (cfg->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
    } else if (cfg->ca_data) {
        struct curl_blob blob = { cfg->ca_data, cfg->ca_data_size,
                                  CURL_BLOB_COPY };
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    /* A rotated CA file is read again within a minute. */
    curl_easy_setopt(e, CURLOPT_CA_CACHE_TIMEOUT, 60L);
    if (cfg->client_cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->client_cert_file);
    } else if (cfg->client_cert_data) {
        struct curl_blob blob = { cfg->client_cert_data,
                                  cfg->client_cert_data_size,
                                  CURL_BLOB_COPY };
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
    }
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    if (cfg->client_key_file) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->client_key_file);
    } else if (cfg->client_key_data) {
        struct curl_blob blob = { cfg->client_key_data,
                                  cfg->client_key_data_size,
                                  CURL_BLOB_COPY };
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
    }
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    if (cfg->proxy_url) {
        curl_easy_setopt(e, CURLOPT_PROXY, cfg->proxy_url);
    }

    req->next = kc->requests;
    kc->requests = req;
    if (send) {
        /* kube_client_send() may be called from inside libcurl's
         * callbacks (an on_invalid() from a watch's write callback), where
         * libcurl refuses new handles: 'work' adds it. */
        req->add_pending = true;
        return req;
    }
    CURLMcode mc = curl_multi_add_handle(kc->multi, e);
    assert(mc == CURLM_OK);
    (void) mc;
    return req;
}

/* Describes a failed HTTP response of 'req'. */
static char *
describe_http_error(const struct kc_request *req)
{
    struct kube_client *kc = req->kc;
    const char *reason = NULL, *message = NULL;
    json_t *status = (req->len
                      ? json_loadb(req->buf, req->len, 0, NULL) : NULL);
    if (json_is_object(status)) {
        reason = json_get_str(status, "reason");
        message = json_get_str(status, "message");
    }
    char *detail;
    if (message || reason) {
        detail = xasprintf("%s%s%s", reason ? reason : "",
                           reason && message ? ": " : "",
                           message ? message : "");
    } else if (req->len) {
        char *ex = excerpt(req->buf, req->len, 200);
        detail = xasprintf("\"%s\"", ex);
        free(ex);
    } else {
        detail = xstrdup("no body");
    }
    json_decref(status);

    char *msg;
    if (req->status == 401) {
        msg = xasprintf("unauthorized: check the token (%s) (HTTP 401 from "
                        "%s: %s)", kc->config->origin, req->url, detail);
    } else if (req->status == 403 && req->type == REQ_SEND) {
        msg = xasprintf("forbidden: the account may not %s there (check "
                        "its RBAC) (HTTP 403: %s)",
                        !strcmp(req->method, "POST") ? "create" : "patch",
                        detail);
    } else if (req->status == 403) {
        msg = xasprintf("forbidden: the account may not %s %s (check its "
                        "RBAC) (HTTP 403: %s)",
                        req->type == REQ_WATCH ? "watch" : "list",
                        req->kk->resource, detail);
    } else {
        msg = xasprintf("HTTP %ld from %s (%s)", req->status, req->url,
                        detail);
    }
    free(detail);
    return msg;
}

/* Describes the libcurl failure 'res' of 'req'. */
static char *
describe_curl_error(const struct kc_request *req, CURLcode res)
{
    const char *detail = req->errbuf[0] ? req->errbuf
                                        : curl_easy_strerror(res);
    switch (res) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        return xasprintf("cannot connect to %s (%s)",
                         req->kc->config->server, detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
        return xasprintf("TLS error with %s (%s; check the CA and client "
                         "certificate in %s)", req->kc->config->server,
                         detail, req->kc->config->origin);
    case CURLE_OPERATION_TIMEDOUT:
        return xasprintf("timed out (%s)", detail);
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return xasprintf("connection lost (%s)", detail);
    default:
        return xasprintf("%s", detail);
    }
}

static void
backoff_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct kc_kind *kk = CONTAINER_OF(w, struct kc_kind, backoff);
    kk->start_pending = true;
    kick(kk->kc);
}

/* Records a failure of 'kk' with the malloc'd 'msg' and retries after a
 * backoff, or after 'min_delay' seconds if longer (a Retry-After). */
static void
kind_fail_after(struct kc_kind *kk, const char *op, char *msg,
                double min_delay)
{
    struct kube_client *kc = kk->kc;
    kk->errors++;
    kk->failures++;
    double delay = kc->opts.backoff_initial;
    for (unsigned int i = 1; i < kk->failures && delay < kc->opts.backoff_max;
         i++) {
        delay *= 2;
    }
    if (delay > kc->opts.backoff_max) {
        delay = kc->opts.backoff_max;
    }
    delay *= 0.5 + 0.5 * random_unit(kc);
    if (min_delay > RETRY_AFTER_MAX) {
        min_delay = RETRY_AFTER_MAX;
    }
    if (delay < min_delay) {
        delay = min_delay;
    }

    char *full = xasprintf("%s of %s: %s", op, kk->resource, msg);
    set_string(&kk->last_error, full);
    kc_log(kc, KUBE_LOG_ERROR, "%s: retrying in %.1f s", full, delay);
    free(full);
    free(msg);

    ev_timer_set(&kk->backoff, delay, 0.);
    ev_timer_start(kc->loop, &kk->backoff);
}

static void
kind_fail(struct kc_kind *kk, const char *op, char *msg)
{
    kind_fail_after(kk, op, msg, 0);
}

/* Next request for 'kk', now. */
static void
kind_continue(struct kc_kind *kk)
{
    kk->start_pending = true;
    kick(kk->kc);
}

/* Parses the body of a LIST (one page): returns the list (json_decref()
 * it) with its items, resourceVersion and continue token (NULL if none)
 * pointing into it, or NULL with a malloc'd message in '*error'. */
static json_t *
parse_list(const struct kc_request *req, const json_t **items,
           const char **rv, const char **cont, char **error)
{
    json_error_t jerr;
    json_t *list = json_loadb(req->buf, req->len, 0, &jerr);
    if (!list) {
        char *ex = excerpt(req->buf, req->len, 80);
        *error = xasprintf("the response is not JSON (%s at byte %d: "
                           "\"%s\")", jerr.text, jerr.position, ex);
        free(ex);
        return NULL;
    }
    const json_t *meta = json_object_get(list, "metadata");
    *items = json_object_get(list, "items");
    *rv = json_get_str(meta, "resourceVersion");
    *cont = json_get_str(meta, "continue");
    if (!json_is_object(list) || !*rv || !**rv
        || !(json_is_array(*items) || json_is_null(*items) || !*items)) {
        char *ex = excerpt(req->buf, req->len, 80);
        *error = xasprintf("the response is not a list with "
                           "metadata.resourceVersion and items (\"%s\")", ex);
        free(ex);
        json_decref(list);
        return NULL;
    }
    return list;
}

static bool
process_list_page(struct kc_request *req, char **error)
{
    struct kc_kind *kk = req->kk;
    const json_t *items;
    const char *rv, *cont;
    json_t *list = parse_list(req, &items, &rv, &cont, error);
    if (!list) {
        return false;
    }

    if (kk->absent) {
        kk->absent = false;
        kk->appeared = true;
    }
    resync_begin(kk);
    char origin[64];
    snprintf(origin, sizeof origin, "list of %s", kk->resource);
    size_t i;
    const json_t *item;
    json_array_foreach (items, i, item) {
        handle_object(kk, origin, item, true);
    }

    kk->pages++;
    if (cont && *cont) {
        set_string(&kk->continue_token, cont);
    } else {
        resync_end(kk, rv);
    }
    json_decref(list);
    return true;
}

static void
sync_finish(struct kube_client *, struct kc_sync *, const char *error);
static void send_done(struct kc_request *, CURLcode);

static void
probe_done(struct kc_request *req, CURLcode res)
{
    struct kc_sync *sync = req->sync;
    char *error = NULL;
    struct kc_kind *kk = req->kk;
    if (res != CURLE_OK) {
        error = describe_curl_error(req, res);
    } else if (req->status == 404 && kk->optional) {
        /* Done once we hold it absent too: a watch of ours may not know
         * yet, so list it now. */
        sync->absent[kk->kind] = true;
        sync->absent_lists[kk->kind] = kk->lists;
        kk->recheck = kk->recheck || !kk->absent;
    } else if (req->status != 200) {
        error = describe_http_error(req);
    } else {
        json_t *list = json_loadb(req->buf, req->len, 0, NULL);
        const char *rv = json_get_str(json_object_get(list, "metadata"),
                                      "resourceVersion");
        if (rv && *rv) {
            sync->targets[kk->kind] = xstrdup(rv);
            /* Served, while we hold it absent: list it now rather than at
             * the next check.  Should that LIST get 404 (removed again
             * meanwhile), the server's answer is still "absent". */
            sync->absent_checks[kk->kind] = kk->absent_checks;
            kk->recheck = kk->recheck || kk->absent;
        } else {
            error = xstrdup("the response has no metadata.resourceVersion");
        }
        json_decref(list);
    }
    sync->outstanding--;
    if (error) {
        char *msg = xasprintf("list of %s: %s", req->kk->resource, error);
        sync_finish(req->kc, sync, msg);
        free(msg);
        free(error);
    }
    kick(req->kc);
}

/* Listings for kube_client_sync(). */

static struct kc_listing *
listing_create(uint64_t seq)
{
    struct kc_listing *l = xcalloc(1, sizeof *l);
    l->seq = seq;
    strmap_init(&l->objects);
    return l;
}

static void
listing_free(struct kc_listing *l)
{
    if (l) {
        size_t bucket;
        for (struct strmap_node *node = strmap_first(&l->objects, &bucket);
             node; node = strmap_next(&l->objects, node, &bucket)) {
            free(node->value);
        }
        strmap_destroy(&l->objects);
        free(l->continue_token);
        free(l->rv);
        free(l);
    }
}

/* Adds the page that 'req' received to 'l'.  Returns NULL, or a malloc'd
 * message if the page is not a list. */
static char *
listing_add_page(struct kc_listing *l, const struct kc_request *req)
{
    const json_t *items;
    const char *rv, *cont;
    char *error;
    json_t *list = parse_list(req, &items, &rv, &cont, &error);
    if (!list) {
        return error;
    }

    size_t i;
    const json_t *item;
    json_array_foreach (items, i, item) {
        const char *ns, *name, *item_rv;
        json_meta(item, req->kk->kind, &ns, &name, &item_rv);
        if (name) {             /* Without one, handle_object() ignores it. */
            char *key = k8s_object_key(ns, name);
            bool created;
            void **slot = strmap_slot(&l->objects, key, &created);
            free(*slot);
            *slot = xstrdup(item_rv ? item_rv : "");
            free(key);
        }
    }
    if (cont && *cont) {
        set_string(&l->continue_token, cont);
    } else {
        set_string(&l->continue_token, NULL);
        set_string(&l->rv, rv);
    }
    json_decref(list);
    return NULL;
}

/* The listing of 'kk' being received failed with the malloc'd 'error':
 * fails the syncs that waited for it, unless a listing already received
 * serves them too, and drops it. */
static void
listing_fail(struct kc_kind *kk, char *error)
{
    struct kube_client *kc = kk->kc;
    uint64_t seq = kk->listing->seq;
    uint64_t served = kk->verify ? kk->verify->seq : 0;
    char *msg = xasprintf("metadata list of %s: %s", kk->resource, error);
    for (struct kc_sync *sync = kc->syncs; sync; sync = sync->next) {
        uint64_t need = sync->need_seq[kk->kind];
        if (!sync->done && !sync->caught_up[kk->kind]
            && need > served && need <= seq) {
            sync_finish(kc, sync, msg);
        }
    }
    free(msg);
    free(error);
    listing_free(kk->listing);
    kk->listing = NULL;
    kick(kc);
}

static void
listing_page_done(struct kc_request *req, CURLcode res)
{
    struct kc_kind *kk = req->kk;
    struct kc_listing *l = kk->listing;
    assert(kk->listing_req == req && l);
    kk->listing_req = NULL;

    char *error;
    if (req->abort_reason) {
        error = xstrdup(req->abort_reason);
    } else if (res != CURLE_OK) {
        error = describe_curl_error(req, res);
    } else if (req->status == 410 && l->continue_token) {
        /* The history was compacted under our pages. */
        kc_log(kk->kc, KUBE_LOG_INFO, "metadata list of %s: continue token "
               "expired (410 Gone): listing again from the first page",
               kk->resource);
        kk->listing = listing_create(l->seq);
        listing_free(l);
        kick(kk->kc);
        return;
    } else if (req->status == 404 && kk->optional) {
        /* The CRD went away under the listing: the syncs that waited for
         * it are answered once we hold the kind absent, which a LIST now
         * brings about. */
        struct kube_client *kc = kk->kc;
        for (struct kc_sync *sync = kc->syncs; sync; sync = sync->next) {
            if (!sync->done && !sync->caught_up[kk->kind]
                && sync->need_seq[kk->kind] <= l->seq) {
                sync->absent[kk->kind] = true;
                sync->absent_lists[kk->kind] = kk->lists;
            }
        }
        kk->recheck = true;
        listing_free(l);
        kk->listing = NULL;
        kick(kc);
        return;
    } else if (req->status != 200) {
        error = describe_http_error(req);
    } else {
        error = listing_add_page(l, req);
    }
    if (error) {
        listing_fail(kk, error);
        return;
    }
    if (l->rv) {
        /* Complete.  It serves whoever waited for the previous one. */
        listing_free(kk->verify);
        kk->verify = l;
        kk->listing = NULL;
        kk->verify_dirty = true;
    }
    kick(kk->kc);
}

/* The watch of 'kk' broke the protocol for 'reason' (we aborted it):
 * reconnect from the last good resourceVersion, or relist when the same
 * thing happened there WATCH_STUCK_ABORTS times in a row. */
static void
watch_aborted(struct kc_kind *kk, const char *reason)
{
    if (kk->abort_streak && kk->abort_rv && kk->rv
        && !strcmp(kk->abort_rv, kk->rv) && !strcmp(kk->abort_reason, reason)) {
        kk->abort_streak++;
    } else {
        kk->abort_streak = 1;
        set_string(&kk->abort_rv, kk->rv);
        set_string(&kk->abort_reason, reason);
    }
    if (kk->abort_streak < WATCH_STUCK_ABORTS) {
        kind_fail(kk, "watch", xasprintf("%s; reconnecting from "
                                         "resourceVersion %s", reason,
                                         kk->rv));
        return;
    }
    kk->abort_streak = 0;
    kk->need_list = true;
    kk->relists++;
    kind_fail(kk, "watch", xasprintf("%s, %d times in a row at "
                                     "resourceVersion %s: the server sends "
                                     "the same event at every reconnection "
                                     "from there, so relisting", reason,
                                     WATCH_STUCK_ABORTS, kk->rv));
}

/* The LIST of the optional kind 'kk' got 404: the server does not serve
 * it (no CRD, or no more).  Ends the resync bracket with nothing listed, so
 * that whatever was delivered is deleted, and lists again after
 * 'absent_recheck' seconds.  Says so once, when the kind becomes absent. */
static void
kind_absent(struct kc_kind *kk)
{
    struct kube_client *kc = kk->kc;
    size_t n_held = 0;
    size_t bucket;
    for (struct strmap_node *node = strmap_first(&kk->known, &bucket); node;
         node = strmap_next(&kk->known, node, &bucket)) {
        const struct kc_known *k = node->value;
        n_held += k->delivered;
    }
    if (!kk->listed) {
        kc_log(kc, KUBE_LOG_INFO, "list of %s: the server does not serve %s "
               "(HTTP 404): running with no %s; listing again every %g s",
               kk->resource, kk->optional, kk->plural,
               kc->opts.absent_recheck);
    } else if (!kk->absent) {
        kc_log(kc, KUBE_LOG_INFO, "list of %s: the server no longer serves "
               "%s (HTTP 404): deleting the %zu %s held; listing again "
               "every %g s", kk->resource, kk->optional, n_held, kk->plural,
               kc->opts.absent_recheck);
    }
    kk->absent = true;
    kk->appeared = false;
    kk->absent_checks++;
    kk->quick_end_relisted = false;
    kk->quick_end_resumed = false;
    free(kk->continue_token);
    kk->continue_token = NULL;
    /* Pages before a 404 (the CRD removed mid-list) are swept too. */
    kk->gen++;
    resync_end(kk, NULL);
    kk->need_list = true;
    ev_timer_set(&kk->backoff, kc->opts.absent_recheck, 0.);
    ev_timer_start(kc->loop, &kk->backoff);
    if (kc->syncs) {
        kick(kc);
    }
}

/* A transfer ended with 'res'.  Frees 'req' and decides what comes next. */
static void
request_done(struct kc_request *req, CURLcode res)
{
    struct kube_client *kc = req->kc;
    struct kc_kind *kk = req->kk;

    if (req->type == REQ_PROBE) {
        probe_done(req, res);
        request_free(req);
        return;
    } else if (req->type == REQ_SEND) {
        send_done(req, res);
        request_free(req);
        return;
    } else if (req->type == REQ_VERIFY) {
        listing_page_done(req, res);
        request_free(req);
        return;
    }

    assert(kk->req == req);
    kk->req = NULL;
    kk->connected = false;
    const char *op = op_name(req);
    bool healthy = (req->type == REQ_WATCH && req->status == 200
                    && (req->n_events
                        || (ev_now(kc->loop) - req->connected_at
                            >= WATCH_HEALTHY_AFTER)));
    if (healthy) {
        kk->failures = 0;
        kk->gone_streak = 0;
        kk->quick_end_relisted = false;
        kk->quick_end_resumed = false;
    }

    if (req->gone || (res == CURLE_OK && req->status == 410)) {
        if (req->type == REQ_LIST && kk->continue_token) {
            /* The continue token expired: start the LIST again. */
            kc_log(kc, KUBE_LOG_INFO, "list of %s: continue token expired "
                   "(410 Gone): listing again from the first page",
                   kk->resource);
            free(kk->continue_token);
            kk->continue_token = NULL;
            kind_continue(kk);
        } else if (req->type == REQ_LIST) {
            kind_fail(kk, op, describe_http_error(req));
        } else {
            if (req->status == 410) {
                kc_log(kc, KUBE_LOG_INFO, "watch of %s: resourceVersion %s "
                       "is gone (HTTP 410): relisting", kk->resource, kk->rv);
            }
            kk->need_list = true;
            kk->relists++;
            kk->gone_streak++;
            if (kk->gone_streak > 1) {
                /* 410 again without a healthy watch since the last LIST:
                 * relisting at once could loop, so back off, by the
                 * streak (a successful LIST resets 'failures'). */
                if (kk->failures < kk->gone_streak - 1) {
                    kk->failures = kk->gone_streak - 1;
                }
                kind_fail(kk, op, xasprintf("resourceVersion %s is gone "
                                            "(410) again right after a "
                                            "LIST", kk->rv));
            } else {
                kind_continue(kk);
            }
        }
        request_free(req);
        return;
    }

    if (req->abort_reason) {
        if (req->type == REQ_LIST) {
            free(kk->continue_token);
            kk->continue_token = NULL;
            kind_fail(kk, op, xstrdup(req->abort_reason));
        } else {
            watch_aborted(kk, req->abort_reason);
        }
        request_free(req);
        return;
    }

    if (res != CURLE_OK) {
        char *msg = describe_curl_error(req, res);
        if (healthy) {
            kc_log(kc, KUBE_LOG_INFO, "watch of %s: %s: resuming from "
                   "resourceVersion %s", kk->resource, msg, kk->rv);
            free(msg);
            kind_continue(kk);
        } else {
            if (req->type == REQ_LIST) {
                free(kk->continue_token);
                kk->continue_token = NULL;
            }
            kind_fail(kk, op, msg);
        }
        request_free(req);
        return;
    }

    if (req->status == 404 && kk->optional && req->type == REQ_LIST) {
        kind_absent(kk);
        request_free(req);
        return;
    } else if (req->status == 404 && kk->optional) {
        /* The CRD was removed: the LIST says so, and deletes.  At once,
         * the first time since a healthy watch; after that with a
         * failure's backoff, so that a server whose LIST and watch
         * disagree is not asked in a loop. */
        kk->need_list = true;
        if (!kk->quick_end_relisted) {
            kk->quick_end_relisted = true;
            kc_log(kc, KUBE_LOG_INFO, "watch of %s: HTTP 404: listing "
                   "again, to see whether the server still serves %s",
                   kk->resource, kk->optional);
            kind_continue(kk);
        } else {
            kind_fail_after(kk, op, describe_http_error(req),
                            req->retry_after);
        }
        request_free(req);
        return;
    }

    if (req->status != 200) {
        if (req->type == REQ_LIST) {
            free(kk->continue_token);
            kk->continue_token = NULL;
        }
        kind_fail_after(kk, op, describe_http_error(req), req->retry_after);
        request_free(req);
        return;
    }

    if (req->type == REQ_LIST) {
        char *error;
        if (!process_list_page(req, &error)) {
            free(kk->continue_token);
            kk->continue_token = NULL;
            kind_fail(kk, op, error);
        } else {
            kind_continue(kk);
        }
    } else if (healthy) {
        /* The server ended the watch (timeoutSeconds): resume. */
        kind_continue(kk);
    } else if (kk->optional && !kk->quick_end_resumed) {
        /* As a server ends the watches of a CRD it deletes: resume at
         * once, and the 404 that follows says so (above).  Once only until
         * a watch is healthy: a server that ends every watch at once is a
         * failure, with its backoff. */
        kk->quick_end_resumed = true;
        kc_log(kc, KUBE_LOG_INFO, "watch of %s: the server ended the watch "
               "at once: resuming from resourceVersion %s", kk->resource,
               kk->rv);
        kind_continue(kk);
    } else {
        kind_fail(kk, op, xstrdup("the server ended the watch at once"));
    }
    request_free(req);
}

/* Writes. */

static void
send_done(struct kc_request *req, CURLcode res)
{
    char *error = NULL;
    if (res != CURLE_OK) {
        error = describe_curl_error(req, res);
    } else if (req->status < 200 || req->status > 299) {
        error = describe_http_error(req);
    }
    char *msg = error ? xasprintf("%s %s: %s", req->method,
                                  req->url + strlen(req->kc->config->server),
                                  error) : NULL;
    free(error);
    req->send_cb(req->send_aux, res == CURLE_OK ? req->status : 0, msg);
    free(msg);
}

bool
kube_client_send(struct kube_client *kc, const char *method,
                 const char *path, const char *body,
                 kube_client_send_fn *cb, void *aux, char **error)
{
    struct kc_send send = { method, path, body, cb, aux };
    struct kc_request *req = request_start(kc, NULL, REQ_SEND, &send, error);
    if (req) {
        kick(kc);
    }
    return req != NULL;
}

/* Starts the next request of 'kk': a LIST page or a WATCH. */
static void
kind_start(struct kc_kind *kk)
{
    struct kube_client *kc = kk->kc;
    if (kk->req || ev_is_active(&kk->backoff)) {
        return;
    }
    enum req_type type = kk->need_list ? REQ_LIST : REQ_WATCH;
    if (type == REQ_LIST && !kk->continue_token) {
        /* A new LIST attempt: only what it mentions survives. */
        kk->gen++;
    } else if (type == REQ_WATCH) {
        /* The first watch after a LIST starts; any other resumes. */
        kk->watch_reconnects += kk->watched_since_list;
        kk->watched_since_list = true;
    }
    char *error;
    kk->req = request_start(kc, kk, type, NULL, &error);
    if (!kk->req) {
        kind_fail(kk, type == REQ_LIST ? "list" : "watch", error);
    }
}

/* A sync's probe disagrees with what 'kk' holds about the optional kind
 * being served: list it now, cutting its watch (the CRD was removed) or
 * its wait for the next check (it appeared).  A LIST under way or a
 * failure's backoff goes on: it will tell. */
static void
kind_recheck(struct kc_kind *kk)
{
    struct kube_client *kc = kk->kc;
    if (kk->req && kk->req->type == REQ_WATCH) {
        request_free(kk->req);
        kk->req = NULL;
        kk->connected = false;
        kk->need_list = true;
        kk->start_pending = true;
    } else if (kk->absent && !kk->req && ev_is_active(&kk->backoff)) {
        ev_timer_stop(kc->loop, &kk->backoff);
        kk->start_pending = true;
    }
}

/* Sync requests. */

static void
sync_finish(struct kube_client *kc, struct kc_sync *sync, const char *error)
{
    if (!sync->done) {
        sync->done = true;
        sync->cb(sync->aux, error);
    }
}

/* Has 'kk' delivered everything up to resourceVersion 'target', by its
 * watch (events or bookmarks) or a LIST? */
static bool
kind_reached(const struct kc_kind *kk, const char *target)
{
    return kk->listed && !kk->need_list && rv_reached(kk->rv, target);
}

/* Does what 'kk' delivered account for the server's objects in 'l': a
 * version at least as new as the listed one of each listed object (held
 * back as invalid counts), and for every other object we know, a version
 * newer than the listing (created since; one that is not: its deletion is
 * still on its way)? */
static bool
listing_accounted(const struct kc_kind *kk, const struct kc_listing *l)
{
    size_t bucket;
    for (struct strmap_node *node = strmap_first(&l->objects, &bucket); node;
         node = strmap_next(&l->objects, node, &bucket)) {
        const char *rv = node->value;
        const struct kc_known *k = strmap_get(&kk->known, node->key);
        if (!k || (*rv && !rv_reached(k->rv, rv))) {
            return false;
        }
    }
    if (kk->known.n == l->objects.n) {
        return true;            /* Every known object is listed. */
    }
    uint64_t list_rv;
    bool numeric = parse_u64(l->rv, &list_rv);
    for (struct strmap_node *node = strmap_first(&kk->known, &bucket); node;
         node = strmap_next(&kk->known, node, &bucket)) {
        const struct kc_known *k = node->value;
        uint64_t rv;
        if (!strmap_get(&l->objects, node->key)
            && (!numeric || !parse_u64(k->rv, &rv) || rv <= list_rv)) {
            return false;
        }
    }
    return true;
}

/* Serves the syncs that wait for a listing of 'kk': checks the newest
 * received one when 'known' changed, starts the next listing or page, and
 * drops what nobody waits for any more. */
static void
listings_run(struct kc_kind *kk)
{
    struct kube_client *kc = kk->kc;
    enum obj_kind kind = kk->kind;

    if (kk->verify && kk->verify_dirty && kk->listed && !kk->need_list) {
        /* Not in a resync: its bracket has yet to sweep what is gone. */
        kk->verify_dirty = false;
        if (listing_accounted(kk, kk->verify)) {
            kk->verified_seq = kk->verify->seq;
            listing_free(kk->verify);
            kk->verify = NULL;
        }
    }

    uint64_t min_need = UINT64_MAX, max_need = 0;
    for (struct kc_sync *sync = kc->syncs; sync; sync = sync->next) {
        uint64_t need = sync->need_seq[kind];
        if (sync->done || sync->caught_up[kind] || sync->absent[kind]
            || !need) {
            continue;
        } else if (need <= kk->verified_seq) {
            sync->caught_up[kind] = true;
            continue;
        }
        min_need = need < min_need ? need : min_need;
        max_need = need > max_need ? need : max_need;
    }
    if (kk->verify && kk->verify->seq < min_need) {
        listing_free(kk->verify);
        kk->verify = NULL;
    }
    if (!max_need) {
        request_free(kk->listing_req);
        kk->listing_req = NULL;
        listing_free(kk->listing);
        kk->listing = NULL;
        return;
    }
    if (!kk->listing && max_need > kk->listing_seq) {
        kk->listing = listing_create(++kk->listing_seq);
    }
    if (kk->listing && !kk->listing_req) {
        char *error;
        kk->listing_req = request_start(kc, kk, REQ_VERIFY, NULL,
                                         &error);
        if (!kk->listing_req) {
            listing_fail(kk, error);
        }
    }
}

static void
syncs_run(struct kube_client *kc)
{
    for (struct kc_sync *sync = kc->syncs; sync; sync = sync->next) {
        if (!sync->probes_started) {
            sync->probes_started = true;
            for (int i = 0; i < KUBE_N_KINDS; i++) {
                char *error;
                struct kc_request *req = request_start(kc, &kc->kinds[i],
                                                       REQ_PROBE, NULL, &error);
                if (!req) {
                    sync_finish(kc, sync, error);
                    free(error);
                    break;
                }
                req->sync = sync;
                sync->outstanding++;
            }
        }
        for (int i = 0; i < KUBE_N_KINDS && !sync->done; i++) {
            struct kc_kind *kk = &kc->kinds[i];
            if (sync->caught_up[i]) {
                continue;
            } else if (sync->absent[i]) {
                /* Held absent as the server said, or listed since the
                 * server said so: the CRD came (back) in the meantime,
                 * and that LIST is newer than the answer. */
                sync->caught_up[i] = (kk->absent
                                      || (kk->lists > sync->absent_lists[i]
                                          && kk->listed && !kk->need_list));
                continue;
            } else if (!sync->targets[i]) {
                continue;
            } else if (kk->absent
                       && kk->absent_checks > sync->absent_checks[i]) {
                sync->caught_up[i] = true;
            } else if (kind_reached(kk, sync->targets[i])) {
                sync->caught_up[i] = true;
            } else if (!sync->need_seq[i] && kk->listed && !kk->need_list) {
                /* A quiet watch reaches the target only at the server's
                 * next bookmark, about a minute away: verify by listing.
                 * (During a LIST, wait for its end: it may get there.) */
                sync->need_seq[i] = kk->listing_seq + 1;
            }
        }
    }

    for (int i = 0; i < KUBE_N_KINDS; i++) {
        listings_run(&kc->kinds[i]);
    }

    for (struct kc_sync **p = &kc->syncs; *p;) {
        struct kc_sync *sync = *p;
        if (!sync->done) {
            bool caught_up = true;
            for (int i = 0; i < KUBE_N_KINDS; i++) {
                caught_up = caught_up && sync->caught_up[i];
            }
            if (caught_up) {
                sync_finish(kc, sync, NULL);
            }
        }
        if (sync->done && !sync->outstanding) {
            *p = sync->next;
            for (int i = 0; i < KUBE_N_KINDS; i++) {
                free(sync->targets[i]);
            }
            free(sync);
        } else {
            p = &sync->next;
        }
    }
}

void
kube_client_sync(struct kube_client *kc, kube_client_sync_fn *cb, void *aux)
{
    struct kc_sync *sync = xcalloc(1, sizeof *sync);
    sync->cb = cb;
    sync->aux = aux;
    struct kc_sync **p = &kc->syncs;
    while (*p) {
        p = &(*p)->next;
    }
    *p = sync;
    kick(kc);
}

/* libcurl on libev. */

static void
drain_info(struct kube_client *kc)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(kc->multi, &left))) {
        if (msg->msg == CURLMSG_DONE) {
            CURL *e = msg->easy_handle;
            CURLcode res = msg->data.result;
            struct kc_request *req;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **) &req);
            request_done(req, res);
        }
    }
}

static void
socket_action(struct kube_client *kc, curl_socket_t fd, int action)
{
    int running;
    curl_multi_socket_action(kc->multi, fd, action, &running);
    drain_info(kc);
}

static void
sock_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct kc_sock *ks = CONTAINER_OF(w, struct kc_sock, io);
    struct kube_client *kc = ks->kc;
    int action = ((revents & EV_READ ? CURL_CSELECT_IN : 0)
                  | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0));
    /* 'ks' may be freed by the socket action. */
    socket_action(kc, ks->fd, action);
}

static void
sock_free(struct kube_client *kc, struct kc_sock *ks)
{
    ev_io_stop(kc->loop, &ks->io);
    ks->prev->next = ks->next;
    ks->next->prev = ks->prev;
    free(ks);
}

static int
curl_socket_cb(CURL *e, curl_socket_t fd, int what, void *kc_, void *ks_)
{
    struct kube_client *kc = kc_;
    struct kc_sock *ks = ks_;

    if (what == CURL_POLL_REMOVE) {
        if (ks) {
            sock_free(kc, ks);
            curl_multi_assign(kc->multi, fd, NULL);
        }
        return 0;
    }
    if (!ks) {
        ks = xcalloc(1, sizeof *ks);
        ks->kc = kc;
        ks->fd = fd;
        ev_init(&ks->io, sock_io_cb);
        ks->next = kc->socks.next;
        ks->prev = &kc->socks;
        ks->next->prev = ks;
        kc->socks.next = ks;
        curl_multi_assign(kc->multi, fd, ks);
    }
    /* Re-set on every change: the fd number may now name another socket. */
    int events = ((what & CURL_POLL_IN ? EV_READ : 0)
                  | (what & CURL_POLL_OUT ? EV_WRITE : 0));
    ev_io_stop(kc->loop, &ks->io);
    ks->fd = fd;
    ev_io_set(&ks->io, fd, events);
    ev_io_start(kc->loop, &ks->io);
    return 0;
}

static int
curl_timer_cb(CURLM *multi, long timeout_ms, void *kc_)
{
    struct kube_client *kc = kc_;
    ev_timer_stop(kc->loop, &kc->curl_timer);
    if (timeout_ms == 0) {
        kc->timeout_due = true;
        kick(kc);
    } else if (timeout_ms > 0) {
        ev_timer_set(&kc->curl_timer, timeout_ms / 1000.0, 0.);
        ev_timer_start(kc->loop, &kc->curl_timer);
    }
    return 0;
}

static void
curl_timer_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct kube_client *kc = CONTAINER_OF(w, struct kube_client, curl_timer);
    /* No libcurl here: 'work' runs the timeout action. */
    kc->timeout_due = true;
    kick(kc);
}

static void
nudge_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    ev_idle_stop(loop, w);
}

static void
work_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct kube_client *kc = CONTAINER_OF(w, struct kube_client, work);
    ev_prepare_stop(loop, &kc->work);
    ev_idle_stop(loop, &kc->nudge);

    if (kc->timeout_due) {
        kc->timeout_due = false;
        socket_action(kc, CURL_SOCKET_TIMEOUT, 0);
    }
    if (kc->started) {
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            struct kc_kind *kk = &kc->kinds[i];
            if (kk->recheck) {
                kk->recheck = false;
                kind_recheck(kk);
            }
            if (kk->start_pending) {
                kk->start_pending = false;
                kind_start(kk);
            }
        }
    }
    syncs_run(kc);
    for (struct kc_request *req = kc->requests; req; req = req->next) {
        if (req->add_pending) {
            req->add_pending = false;
            CURLMcode mc = curl_multi_add_handle(kc->multi, req->easy);
            assert(mc == CURLM_OK);
            (void) mc;
        }
    }
}

/* Runs 'work' before the loop next blocks, and keeps it from blocking. */
static void
kick(struct kube_client *kc)
{
    ev_prepare_start(kc->loop, &kc->work);
    ev_idle_start(kc->loop, &kc->nudge);
}

/* The client. */

void
kube_client_options_init(struct kube_client_options *o)
{
    memset(o, 0, sizeof *o);
    o->page_size = 500;
    o->max_event_size = 16 * 1024 * 1024;
    o->max_list_size = 256 * 1024 * 1024;
    o->watch_timeout_min = 300;
    o->watch_timeout_max = 600;
    o->backoff_initial = 0.5;
    o->backoff_max = 30;
    o->connect_timeout = 10;
    o->request_timeout = 300;
    o->log_burst = 50;
    o->log_rate = 1;
    o->absent_recheck = 30;
}

struct kube_client *
kube_client_create(struct ev_loop *loop, const struct kube_config *config,
                   const struct kube_client_options *options,
                   const struct kube_client_callbacks *cbs, void *aux)
{
    static bool curl_initialized;
    if (!curl_initialized) {
        curl_initialized = true;
        if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
            abort();
        }
    }
    assert(cbs->on_object);

    struct kube_client *kc = xcalloc(1, sizeof *kc);
    kc->loop = loop;
    kc->config = config;
    if (options) {
        kc->opts = *options;
    } else {
        kube_client_options_init(&kc->opts);
    }
    if (kc->opts.watch_timeout_max < kc->opts.watch_timeout_min) {
        kc->opts.watch_timeout_max = kc->opts.watch_timeout_min;
    }
    kc->cbs = cbs;
    kc->aux = aux;
    kc->rand_state = ((uint64_t) time(NULL) << 20) ^ (uint64_t) getpid()
                     ^ (uintptr_t) kc;
    kc->rand_state |= 1;
    np_log_limit_init(&kc->log_limit, kc->opts.log_rate, kc->opts.log_burst);
    kc->log_limit.last = ev_now(loop);

    kc->socks.next = kc->socks.prev = &kc->socks;
    kc->multi = curl_multi_init();
    if (!kc->multi) {
        abort();
    }
    curl_multi_setopt(kc->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(kc->multi, CURLMOPT_SOCKETDATA, kc);
    curl_multi_setopt(kc->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(kc->multi, CURLMOPT_TIMERDATA, kc);
    ev_timer_init(&kc->curl_timer, curl_timer_expired, 0., 0.);
    ev_prepare_init(&kc->work, work_cb);
    ev_idle_init(&kc->nudge, nudge_cb);

    for (int i = 0; i < KUBE_N_KINDS; i++) {
        struct kc_kind *kk = &kc->kinds[i];
        kk->kc = kc;
        kk->kind = i;
        kk->resource = kind_infos[i].resource;
        kk->path = kind_infos[i].path;
        kk->optional = kind_infos[i].optional;
        kk->plural = kind_infos[i].plural;
        kk->need_list = true;
        strmap_init(&kk->known);
        ev_timer_init(&kk->backoff, backoff_expired, 0., 0.);
    }

    if (config->insecure_skip_tls_verify) {
        kc_log(kc, KUBE_LOG_WARN, "%s: insecure-skip-tls-verify is set: "
               "the API server's certificate is not checked, anyone on the "
               "path can impersonate it", config->origin);
    } else if (!strncmp(config->server, "http://", 7)) {
        kc_log(kc, KUBE_LOG_WARN, "%s: server %s is plain HTTP: the "
               "connection is neither encrypted nor authenticated",
               config->origin, config->server);
    }
    return kc;
}

void
kube_client_start(struct kube_client *kc)
{
    if (!kc->started) {
        kc->started = true;
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            kc->kinds[i].start_pending = true;
        }
        kick(kc);
    }
}

void
kube_client_destroy(struct kube_client *kc)
{
    if (!kc) {
        return;
    }
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        struct kc_kind *kk = &kc->kinds[i];
        ev_timer_stop(kc->loop, &kk->backoff);
        kk->req = NULL;
        kk->listing_req = NULL;
    }
    while (kc->requests) {
        request_free(kc->requests);
    }
    while (kc->syncs) {
        struct kc_sync *sync = kc->syncs;
        kc->syncs = sync->next;
        sync_finish(kc, sync, "the Kubernetes client was destroyed");
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            free(sync->targets[i]);
        }
        free(sync);
    }
    curl_multi_cleanup(kc->multi);
    while (kc->socks.next != &kc->socks) {
        sock_free(kc, kc->socks.next);
    }
    ev_timer_stop(kc->loop, &kc->curl_timer);
    ev_prepare_stop(kc->loop, &kc->work);
    ev_idle_stop(kc->loop, &kc->nudge);

    for (int i = 0; i < KUBE_N_KINDS; i++) {
        struct kc_kind *kk = &kc->kinds[i];
        size_t bucket;
        for (struct strmap_node *node = strmap_first(&kk->known, &bucket);
             node; node = strmap_next(&kk->known, node, &bucket)) {
            known_free(node->value);
        }
        strmap_destroy(&kk->known);
        listing_free(kk->listing);
        listing_free(kk->verify);
        free(kk->rv);
        free(kk->continue_token);
        free(kk->last_error);
        free(kk->abort_rv);
        free(kk->abort_reason);
    }
    free(kc);
}

void
kube_client_get_status(const struct kube_client *kc,
                       struct kube_client_status *st)
{
    memset(st, 0, sizeof *st);
    st->synced = true;
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        const struct kc_kind *kk = &kc->kinds[i];
        struct kube_kind_status *s = &st->kinds[i];
        s->synced = (kk->listed && (!kk->need_list || kk->absent)
                     && !kk->failures);
        st->synced = st->synced && s->synced;
        s->resource = kk->resource;
        s->rv = kk->rv;
        s->listed = kk->listed;
        s->absent = kk->absent;
        s->resyncing = kk->need_list && !kk->absent;
        s->connected = kk->connected;
        s->events = kk->events;
        s->bookmarks = kk->bookmarks;
        s->lists = kk->lists;
        s->pages = kk->pages;
        s->relists = kk->relists;
        s->invalid = kk->invalid;
        s->errors = kk->errors;
        s->watch_reconnects = kk->watch_reconnects;
        s->failures = kk->failures;
        s->last_error = kk->last_error;
    }
}
