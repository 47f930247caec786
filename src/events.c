/* Kubernetes Events: steady-state filter, spam filter, de-duplication and
 * the write queue (events.h). */
#include <np-config.h>
#include "events.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "np-util.h"
#include "strmap.h"

#define DEFAULT_MAX_QUEUE 64

/* Step 1: what was last reported of (object, reason). */
struct steady {
    char *rv;                   /* "" if none. */
    char *message;
};

/* Step 2: one object's token bucket. */
struct bucket {
    double tokens;
    double last;
};

/* Step 3: an Event this node wrote, by (object, reason, message). */
struct record {
    char *ns;
    char *name;                 /* The Event's. */
    char *post_body;            /* The whole Event, for a POST again. */
    unsigned int count;
    double last;                /* When it was last written. */
};

struct write {
    char *method;               /* "POST" or "PATCH". */
    char *path;
    char *body;
    /* For a PATCH: the POST that replaces it should the Event be gone. */
    char *post_path;
    char *post_body;
};

struct events {
    struct events_options opts;
    char *component;
    char *host;
    struct strmap steady;       /* "kind\037ns\037name\037reason" */
    struct strmap buckets;      /* "kind\037ns\037name\037uid" */
    struct strmap records;      /* bucket key "\037reason\037message" */

    struct write *queue;        /* Ring of 'opts.max_queue'. */
    size_t head, n;
    bool in_flight;             /* queue[head] is being sent. */
    unsigned int failures;      /* In a row, for the backoff. */
    double retry_at;
    uint64_t name_seq;          /* Keeps generated names unique. */

    struct events_stats stats;
};

static void
write_free(struct write *w)
{
    free(w->method);
    free(w->path);
    free(w->body);
    free(w->post_path);
    free(w->post_body);
    memset(w, 0, sizeof *w);
}

static void
record_free(struct record *r)
{
    if (r) {
        free(r->ns);
        free(r->name);
        free(r->post_body);
        free(r);
    }
}

static void
steady_free(struct steady *s)
{
    if (s) {
        free(s->rv);
        free(s->message);
        free(s);
    }
}

struct events *
events_create(const struct events_options *opts)
{
    struct events *ev = xcalloc(1, sizeof *ev);
    ev->opts = *opts;
    ev->component = xstrdup(opts->component);
    ev->host = xstrdup(opts->host);
    ev->opts.component = ev->component;
    ev->opts.host = ev->host;
    if (!ev->opts.max_queue) {
        ev->opts.max_queue = DEFAULT_MAX_QUEUE;
    }
    ev->queue = xcalloc(ev->opts.max_queue, sizeof *ev->queue);
    strmap_init(&ev->steady);
    strmap_init(&ev->buckets);
    strmap_init(&ev->records);
    return ev;
}

void
events_destroy(struct events *ev)
{
    if (!ev) {
        return;
    }
    size_t b;
    for (struct strmap_node *n = strmap_first(&ev->steady, &b); n;
         n = strmap_next(&ev->steady, n, &b)) {
        steady_free(n->value);
    }
    for (struct strmap_node *n = strmap_first(&ev->buckets, &b); n;
         n = strmap_next(&ev->buckets, n, &b)) {
        free(n->value);
    }
    for (struct strmap_node *n = strmap_first(&ev->records, &b); n;
         n = strmap_next(&ev->records, n, &b)) {
        record_free(n->value);
    }
    strmap_destroy(&ev->steady);
    strmap_destroy(&ev->buckets);
    strmap_destroy(&ev->records);
    for (size_t i = 0; i < ev->n; i++) {
        write_free(&ev->queue[(ev->head + i) % ev->opts.max_queue]);
    }
    free(ev->queue);
    free(ev->component);
    free(ev->host);
    free(ev);
}

/* RFC 3339 in UTC, to the second, as metav1.Time is written. */
static void
stamp(double now, char out[32])
{
    time_t t = (time_t) now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* 'message' cut to EVENTS_MESSAGE_MAX bytes, on a UTF-8 boundary. */
static char *
cut_message(const char *message)
{
    size_t n = strlen(message);
    if (n <= EVENTS_MESSAGE_MAX) {
        return xstrdup(message);
    }
    n = EVENTS_MESSAGE_MAX - 3;
    while (n && ((unsigned char) message[n] & 0xc0) == 0x80) {
        n--;
    }
    char *s = xmalloc(n + 4);
    memcpy(s, message, n);
    memcpy(s + n, "...", 4);
    return s;
}

static char *
dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s) {
        abort();
    }
    json_decref(v);
    return s;
}

static void
set_str(json_t *obj, const char *key, const char *value)
{
    if (value) {
        json_object_set_new(obj, key, json_string(value));
    }
}

/* The whole Event 'r' (named already) as a POST body. */
static char *
event_body(const struct events *ev, const struct events_ref *ref,
           const char *reason, const char *message, const char *name,
           const char *first, const char *last, unsigned int count)
{
    json_t *meta = json_object();
    set_str(meta, "name", name);
    set_str(meta, "namespace", ref->ns);
    json_t *inv = json_object();
    set_str(inv, "kind", ref->kind);
    set_str(inv, "apiVersion", ref->api_version);
    set_str(inv, "namespace", ref->cluster_scoped ? NULL : ref->ns);
    set_str(inv, "name", ref->name);
    set_str(inv, "uid", ref->uid);
    set_str(inv, "resourceVersion", ref->rv);
    json_t *src = json_object();
    set_str(src, "component", ev->component);
    set_str(src, "host", ev->host);

    json_t *e = json_object();
    set_str(e, "apiVersion", "v1");
    set_str(e, "kind", "Event");
    json_object_set_new(e, "metadata", meta);
    json_object_set_new(e, "involvedObject", inv);
    set_str(e, "reason", reason);
    set_str(e, "message", message);
    set_str(e, "type", "Warning");
    json_object_set_new(e, "source", src);
    set_str(e, "firstTimestamp", first);
    set_str(e, "lastTimestamp", last);
    json_object_set_new(e, "count", json_integer(count));
    set_str(e, "reportingComponent", ev->component);
    set_str(e, "reportingInstance", ev->host);
    return dump(e);
}

/* Appends a write, dropping the oldest queued one (not the one in flight)
 * if the queue is full.  Takes ownership of the strings. */
static void
enqueue(struct events *ev, char *method, char *path, char *body,
        char *post_path, char *post_body)
{
    size_t max = ev->opts.max_queue;
    /* A PATCH of an Event whose PATCH waits replaces it: only the newest
     * count matters. */
    if (!strcmp(method, "PATCH")) {
        for (size_t i = ev->in_flight ? 1 : 0; i < ev->n; i++) {
            struct write *w = &ev->queue[(ev->head + i) % max];
            if (!strcmp(w->method, "PATCH") && !strcmp(w->path, path)) {
                write_free(w);
                *w = (struct write) { method, path, body, post_path,
                                      post_body };
                return;
            }
        }
    }
    if (ev->n == max) {
        size_t drop = ev->in_flight ? 1 : 0;
        if (drop >= ev->n) {
            /* max_queue is 1 and it is in flight: drop the new one. */
            free(method), free(path), free(body), free(post_path);
            free(post_body);
            ev->stats.overflow++;
            return;
        }
        size_t at = (ev->head + drop) % max;
        write_free(&ev->queue[at]);
        /* Close the gap: move the in-flight one (if any) up a slot. */
        if (drop) {
            ev->queue[at] = ev->queue[ev->head];
            memset(&ev->queue[ev->head], 0, sizeof ev->queue[ev->head]);
        }
        ev->head = (ev->head + 1) % max;
        ev->n--;
        ev->stats.overflow++;
    }
    ev->queue[(ev->head + ev->n) % max] = (struct write) {
        method, path, body, post_path, post_body };
    ev->n++;
}

static char *
object_key(const struct events_ref *ref)
{
    return xasprintf("%s\037%s\037%s\037%s", ref->kind, ref->ns, ref->name,
                     ref->uid ? ref->uid : "");
}

/* Forgets the Events too old to raise the count of, and the buckets that
 * have refilled (a new one starts full): memory stays bounded by what
 * happened in the last few hours. */
static void
prune_records(struct events *ev, double now)
{
    size_t b;
    struct strmap_node *n = strmap_first(&ev->buckets, &b);
    while (n) {
        struct strmap_node *next = strmap_next(&ev->buckets, n, &b);
        struct bucket *bk = n->value;
        if (bk->tokens + (now - bk->last) / EVENTS_REFILL_SECONDS
            >= EVENTS_BURST) {
            char *key = xstrdup(n->key);
            free(strmap_remove(&ev->buckets, key));
            free(key);
        }
        n = next;
    }
    n = strmap_first(&ev->records, &b);
    while (n) {
        struct strmap_node *next = strmap_next(&ev->records, n, &b);
        struct record *r = n->value;
        if (now - r->last >= EVENTS_DEDUP_SECONDS) {
            char *key = xstrdup(n->key);
            record_free(strmap_remove(&ev->records, key));
            free(key);
        }
        n = next;
    }
}

bool
events_report(struct events *ev, const struct events_ref *ref,
              const char *reason, const char *message_, double now)
{
    ev->stats.reported++;
    char *message = cut_message(message_);

    /* 1. Steady state. */
    char *skey = xasprintf("%s\037%s\037%s\037%s", ref->kind, ref->ns,
                           ref->name, reason);
    bool created;
    struct steady **sp = (struct steady **) strmap_slot(&ev->steady, skey,
                                                        &created);
    free(skey);
    const char *rv = ref->rv ? ref->rv : "";
    if (!created && !strcmp((*sp)->rv, rv)
        && !strcmp((*sp)->message, message)) {
        ev->stats.steady++;
        free(message);
        return false;
    }
    if (created) {
        *sp = xcalloc(1, sizeof **sp);
    }
    free((*sp)->rv);
    free((*sp)->message);
    (*sp)->rv = xstrdup(rv);
    (*sp)->message = xstrdup(message);

    /* 2. Spam filter. */
    prune_records(ev, now);
    char *okey = object_key(ref);
    struct bucket **bp = (struct bucket **) strmap_slot(&ev->buckets, okey,
                                                        &created);
    if (created) {
        *bp = xmalloc(sizeof **bp);
        (*bp)->tokens = EVENTS_BURST;
        (*bp)->last = now;
    }
    struct bucket *bk = *bp;
    if (now > bk->last) {
        bk->tokens += (now - bk->last) / EVENTS_REFILL_SECONDS;
        if (bk->tokens > EVENTS_BURST) {
            bk->tokens = EVENTS_BURST;
        }
    }
    bk->last = now;
    if (bk->tokens < 1) {
        ev->stats.spam++;
        free(okey);
        free(message);
        return false;
    }
    bk->tokens -= 1;

    /* 3. De-duplication. */
    char *rkey = xasprintf("%s\037%s\037%s", okey, reason, message);
    free(okey);
    struct record **rp = (struct record **) strmap_slot(&ev->records, rkey,
                                                        &created);
    free(rkey);
    char now_s[32];
    stamp(now, now_s);
    if (!created) {
        struct record *r = *rp;
        r->count++;
        r->last = now;
        json_t *patch = json_object();
        json_object_set_new(patch, "count", json_integer(r->count));
        set_str(patch, "lastTimestamp", now_s);
        set_str(patch, "message", message);
        /* Should the Event be gone: the same one again, as it would
         * be had it stayed. */
        json_t *post = json_loads(r->post_body, 0, NULL);
        assert(post);
        json_object_set_new(post, "count", json_integer(r->count));
        set_str(post, "lastTimestamp", now_s);
        json_object_set_new(json_object_get(post, "involvedObject"),
                            "resourceVersion",
                            ref->rv ? json_string(ref->rv) : json_null());
        free(r->post_body);
        r->post_body = dump(post);
        enqueue(ev, xstrdup("PATCH"),
                xasprintf("/api/v1/namespaces/%s/events/%s", r->ns, r->name),
                dump(patch),
                xasprintf("/api/v1/namespaces/%s/events", r->ns),
                xstrdup(r->post_body));
        ev->stats.patched++;
        free(message);
        return true;
    }

    struct record *r = xcalloc(1, sizeof *r);
    *rp = r;
    r->ns = xstrdup(ref->ns);
    /* client-go: "%v.%x" of the name and UnixNano(); the sequence keeps two
     * in the same nanosecond (a fake clock) apart. */
    uint64_t ns_time = (uint64_t) (now * 1e9) + ev->name_seq++;
    r->name = xasprintf("%s.%"PRIx64, ref->name, ns_time);
    r->count = 1;
    r->last = now;
    r->post_body = event_body(ev, ref, reason, message, r->name, now_s,
                              now_s, 1);
    enqueue(ev, xstrdup("POST"),
            xasprintf("/api/v1/namespaces/%s/events", r->ns),
            xstrdup(r->post_body), NULL, NULL);
    ev->stats.created++;
    free(message);
    return true;
}

void
events_forget(struct events *ev, const char *kind, const char *ns,
              const char *name, const char *reason)
{
    char *prefix = xasprintf("%s\037%s\037%s\037", kind, ns, name);
    size_t plen = strlen(prefix);
    size_t b;
    struct strmap_node *n = strmap_first(&ev->steady, &b);
    while (n) {
        struct strmap_node *next = strmap_next(&ev->steady, n, &b);
        if (!strncmp(n->key, prefix, plen)
            && (!reason || !strcmp(n->key + plen, reason))) {
            char *key = xstrdup(n->key);
            steady_free(strmap_remove(&ev->steady, key));
            free(key);
        }
        n = next;
    }
    free(prefix);
}

bool
events_next(struct events *ev, double now, const char **method,
            const char **path, const char **body, double *wake)
{
    if (wake) {
        *wake = 0;
    }
    if (!ev->n || ev->in_flight) {
        return false;
    }
    if (now < ev->retry_at) {
        if (wake) {
            *wake = ev->retry_at;
        }
        return false;
    }
    struct write *w = &ev->queue[ev->head];
    ev->in_flight = true;
    *method = w->method;
    *path = w->path;
    *body = w->body;
    return true;
}

static void
pop(struct events *ev)
{
    write_free(&ev->queue[ev->head]);
    ev->head = (ev->head + 1) % ev->opts.max_queue;
    ev->n--;
}

void
events_done(struct events *ev, long status, double now)
{
    assert(ev->in_flight && ev->n);
    ev->in_flight = false;
    struct write *w = &ev->queue[ev->head];
    if (status >= 200 && status <= 299) {
        ev->failures = 0;
        ev->retry_at = 0;
        ev->stats.sent++;
        pop(ev);
    } else if (status == 404 && w->post_path) {
        /* The Event expired: write it whole again. */
        free(w->method);
        free(w->path);
        free(w->body);
        w->method = xstrdup("POST");
        w->path = w->post_path;
        w->body = w->post_body;
        w->post_path = w->post_body = NULL;
    } else if (status == 409 && !strcmp(w->method, "POST")) {
        /* Already there: an earlier attempt did arrive. */
        ev->failures = 0;
        ev->stats.sent++;
        pop(ev);
    } else if (!status || status == 429 || status >= 500) {
        ev->failures++;
        double delay = EVENTS_BACKOFF_MIN;
        for (unsigned int i = 1; i < ev->failures
                 && delay < EVENTS_BACKOFF_MAX; i++) {
            delay *= 2;
        }
        if (delay > EVENTS_BACKOFF_MAX) {
            delay = EVENTS_BACKOFF_MAX;
        }
        ev->retry_at = now + delay;
    } else {
        ev->failures = 0;
        ev->stats.failed++;
        pop(ev);
    }
}

void
events_get_stats(const struct events *ev, struct events_stats *st)
{
    *st = ev->stats;
    st->queued = ev->n;
}
