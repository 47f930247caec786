/* Unit tests of events.c: the steady-state filter, the spam filter, the
 * de-duplication into count increments and the write queue, on a fake
 * clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "events.h"

#define T0 1780000000.0         /* 2026-05-28T20:26:40Z */

static const struct events_options OPTS = {
    .component = "ovs-netpold", .host = "node-1",
};

static struct events_ref
ref_of(const char *name, const char *rv)
{
    return (struct events_ref) {
        .kind = "NetworkPolicy", .api_version = "networking.k8s.io/v1",
        .ns = "default", .name = name, .uid = "uid-1", .rv = rv,
    };
}

/* Takes the next write, checks its method and path prefix, answers it with
 * 'status', and returns its body parsed. */
static json_t *
take(struct events *ev, double now, const char *method, const char *path,
     long status)
{
    const char *m, *p, *b;
    assert_true(events_next(ev, now, &m, &p, &b, NULL));
    assert_string_equal(m, method);
    assert_memory_equal(p, path, strlen(path));
    json_t *body = json_loads(b, 0, NULL);
    assert_non_null(body);
    events_done(ev, status, now);
    return body;
}

static void
assert_idle(struct events *ev, double now)
{
    const char *m, *p, *b;
    double wake;
    assert_false(events_next(ev, now, &m, &p, &b, &wake));
    assert_true(wake == 0);
}

static const char *
str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A condition that persists is one Event: a report per resync writes
 * nothing more. */
static void
test_steady_state(void **state)
{
    struct events *ev = events_create(&OPTS);
    struct events_ref r = ref_of("bad", "10");
    assert_true(events_report(ev, &r, "InvalidPolicy", "spec: bad", T0));
    json_t *e = take(ev, T0, "POST", "/api/v1/namespaces/default/events",
                     201);
    assert_string_equal(str(e, "kind"), "Event");
    assert_string_equal(str(e, "reason"), "InvalidPolicy");
    assert_string_equal(str(e, "message"), "spec: bad");
    assert_string_equal(str(e, "type"), "Warning");
    assert_int_equal(json_integer_value(json_object_get(e, "count")), 1);
    assert_string_equal(str(e, "firstTimestamp"), "2026-05-28T20:26:40Z");
    assert_string_equal(str(e, "lastTimestamp"), "2026-05-28T20:26:40Z");
    assert_string_equal(str(e, "reportingComponent"), "ovs-netpold");
    assert_string_equal(str(e, "reportingInstance"), "node-1");
    json_t *src = json_object_get(e, "source");
    assert_string_equal(str(src, "component"), "ovs-netpold");
    assert_string_equal(str(src, "host"), "node-1");
    json_t *io = json_object_get(e, "involvedObject");
    assert_string_equal(str(io, "kind"), "NetworkPolicy");
    assert_string_equal(str(io, "apiVersion"), "networking.k8s.io/v1");
    assert_string_equal(str(io, "namespace"), "default");
    assert_string_equal(str(io, "name"), "bad");
    assert_string_equal(str(io, "uid"), "uid-1");
    assert_string_equal(str(io, "resourceVersion"), "10");
    json_t *meta = json_object_get(e, "metadata");
    assert_string_equal(str(meta, "namespace"), "default");
    assert_memory_equal(str(meta, "name"), "bad.", 4);
    json_decref(e);

    /* Relists, recomputes, an hour of them. */
    for (int i = 1; i <= 1000; i++) {
        assert_false(events_report(ev, &r, "InvalidPolicy", "spec: bad",
                                   T0 + i * 3.6));
    }
    assert_idle(ev, T0 + 3600);
    /* Another reason about the same version is its own Event. */
    assert_true(events_report(ev, &r, "TooManyFlows", "over", T0 + 3600));
    json_decref(take(ev, T0 + 3600, "POST", "/api/v1/namespaces/", 201));

    /* A cluster-scoped object's Event lives in "default" and names the
     * object without a namespace, as `kubectl describe` looks for it. */
    struct events_ref c = {
        .kind = "ClusterNetworkPolicy",
        .api_version = "policy.networking.k8s.io/v1alpha2", .ns = "default",
        .name = "tenants", .uid = "uid-2", .rv = "11", .cluster_scoped = true,
    };
    assert_true(events_report(ev, &c, "InvalidPolicy", "spec: bad",
                              T0 + 3600));
    e = take(ev, T0 + 3600, "POST", "/api/v1/namespaces/default/events", 201);
    io = json_object_get(e, "involvedObject");
    assert_string_equal(str(io, "kind"), "ClusterNetworkPolicy");
    assert_null(json_object_get(io, "namespace"));
    assert_string_equal(str(json_object_get(e, "metadata"), "namespace"),
                        "default");
    json_decref(e);

    struct events_stats st;
    events_get_stats(ev, &st);
    assert_int_equal(st.reported, 1003);
    assert_int_equal(st.steady, 1000);
    assert_int_equal(st.created, 3);
    assert_int_equal(st.sent, 3);
    events_destroy(ev);
}

/* A new version with the same problem within ten minutes raises the
 * count of the same Event; later, or with another message, it is a new
 * Event. */
static void
test_dedup(void **state)
{
    struct events *ev = events_create(&OPTS);
    struct events_ref r = ref_of("bad", "10");
    events_report(ev, &r, "InvalidPolicy", "spec: bad", T0);
    json_t *e = take(ev, T0, "POST", "/api/v1/namespaces/default/events",
                     201);
    char *name = strdup(str(json_object_get(e, "metadata"), "name"));
    json_decref(e);

    r.rv = "11";
    assert_true(events_report(ev, &r, "InvalidPolicy", "spec: bad",
                              T0 + 60));
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/default/events/%s",
             name);
    e = take(ev, T0 + 60, "PATCH", path, 200);
    assert_int_equal(json_integer_value(json_object_get(e, "count")), 2);
    assert_string_equal(str(e, "lastTimestamp"), "2026-05-28T20:27:40Z");
    json_decref(e);

    /* Another message: another Event. */
    r.rv = "12";
    events_report(ev, &r, "InvalidPolicy", "spec: worse", T0 + 120);
    e = take(ev, T0 + 120, "POST", "/api/v1/namespaces/default/events",
             201);
    assert_string_not_equal(str(json_object_get(e, "metadata"), "name"),
                            name);
    json_decref(e);

    /* The first message again, more than ten minutes after its last
     * write: a new Event too. */
    r.rv = "13";
    events_report(ev, &r, "InvalidPolicy", "spec: bad", T0 + 60 + 601);
    e = take(ev, T0 + 661, "POST", "/api/v1/namespaces/default/events",
             201);
    assert_int_equal(json_integer_value(json_object_get(e, "count")), 1);
    json_decref(e);

    /* Fixed (forgotten), then broken again at the same version: reported
     * again, as a count increment. */
    events_forget(ev, "NetworkPolicy", "default", "bad", NULL);
    events_report(ev, &r, "InvalidPolicy", "spec: bad", T0 + 700);
    e = take(ev, T0 + 700, "PATCH", "/api/v1/namespaces/default/events/",
             200);
    assert_int_equal(json_integer_value(json_object_get(e, "count")), 2);
    json_decref(e);
    free(name);
    events_destroy(ev);
}

/* client-go's spam filter: 25 at once per object, then one per five
 * minutes. */
static void
test_spam_filter(void **state)
{
    struct events *ev = events_create(&(struct events_options) {
                                          .component = "c", .host = "h",
                                          .max_queue = 100 });
    char rv[16], msg[32];
    struct events_ref r = ref_of("flappy", rv);
    int written = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(rv, sizeof rv, "%d", i);
        snprintf(msg, sizeof msg, "problem %d", i);
        written += events_report(ev, &r, "InvalidPolicy", msg, T0 + i);
    }
    assert_int_equal(written, 25);
    /* Another object has its own bucket. */
    struct events_ref other = ref_of("calm", "1");
    assert_true(events_report(ev, &other, "InvalidPolicy", "x", T0 + 40));
    /* Five minutes give one more. */
    snprintf(rv, sizeof rv, "a");
    assert_true(events_report(ev, &r, "InvalidPolicy", "late 1",
                              T0 + 40 + 300));
    snprintf(rv, sizeof rv, "b");
    assert_false(events_report(ev, &r, "InvalidPolicy", "late 2",
                               T0 + 40 + 301));
    struct events_stats st;
    events_get_stats(ev, &st);
    assert_int_equal(st.spam, 16);
    assert_int_equal(st.queued, 27);
    events_destroy(ev);
}

/* Failures back off and retry; a gone Event is written again whole; a
 * full queue drops the oldest; a refused write is dropped. */
static void
test_queue(void **state)
{
    struct events *ev = events_create(&(struct events_options) {
                                          .component = "c", .host = "h",
                                          .max_queue = 3 });
    struct events_ref r = ref_of("a", "1");
    events_report(ev, &r, "R", "m", T0);
    const char *m, *p, *b;
    double wake;
    assert_true(events_next(ev, T0, &m, &p, &b, &wake));
    /* One in flight at a time. */
    assert_false(events_next(ev, T0, &m, &p, &b, &wake));
    events_done(ev, 503, T0);
    assert_false(events_next(ev, T0 + 0.5, &m, &p, &b, &wake));
    assert_true(wake == T0 + 1);
    assert_true(events_next(ev, T0 + 1, &m, &p, &b, &wake));
    events_done(ev, 0, T0 + 1);         /* No answer: 2 s now. */
    assert_false(events_next(ev, T0 + 2.5, &m, &p, &b, &wake));
    assert_true(wake == T0 + 3);
    json_decref(take(ev, T0 + 3, "POST", "/api/v1/namespaces/default/events",
                     201));
    assert_idle(ev, T0 + 3);

    /* The Event expired on the server: the PATCH becomes a POST of it all,
     * with the new count. */
    r.rv = "2";
    events_report(ev, &r, "R", "m", T0 + 10);
    json_decref(take(ev, T0 + 10, "PATCH", "/api/v1/namespaces/default/"
                     "events/a.", 404));
    json_t *e = take(ev, T0 + 10, "POST", "/api/v1/namespaces/default/events",
                     201);
    assert_int_equal(json_integer_value(json_object_get(e, "count")), 2);
    assert_string_equal(str(json_object_get(e, "involvedObject"),
                            "resourceVersion"), "2");
    json_decref(e);

    /* 403 (the role lacks the verb): dropped, not retried. */
    struct events_ref b1 = ref_of("b", "1");
    events_report(ev, &b1, "R", "m", T0 + 20);
    json_decref(take(ev, T0 + 20, "POST", "/api/v1/", 403));
    assert_idle(ev, T0 + 20);

    /* Five writes into a queue of three, the first in flight: the oldest
     * waiting ones go. */
    const char *names[] = { "c1", "c2", "c3", "c4", "c5" };
    struct events_ref rc = ref_of("c1", "1");
    events_report(ev, &rc, "R", "m", T0 + 30);
    assert_true(events_next(ev, T0 + 30, &m, &p, &b, &wake));
    for (int i = 1; i < 5; i++) {
        rc.name = names[i];
        events_report(ev, &rc, "R", "m", T0 + 30);
    }
    struct events_stats st;
    events_get_stats(ev, &st);
    assert_int_equal(st.overflow, 2);
    assert_int_equal(st.queued, 3);
    assert_non_null(strstr(b, "\"c1\""));
    events_done(ev, 201, T0 + 30);
    e = take(ev, T0 + 30, "POST", "/api/v1/", 201);
    assert_string_equal(str(json_object_get(e, "involvedObject"), "name"),
                        "c4");
    json_decref(e);
    e = take(ev, T0 + 30, "POST", "/api/v1/", 201);
    assert_string_equal(str(json_object_get(e, "involvedObject"), "name"),
                        "c5");
    json_decref(e);
    assert_idle(ev, T0 + 30);
    events_get_stats(ev, &st);
    assert_int_equal(st.failed, 1);
    events_destroy(ev);
}

/* Messages are cut to what the API server keeps, on a character
 * boundary. */
static void
test_long_message(void **state)
{
    struct events *ev = events_create(&OPTS);
    char msg[3000];
    memset(msg, 'x', sizeof msg);
    memcpy(msg + EVENTS_MESSAGE_MAX - 4, "\xc3\xa9\xc3\xa9", 4);
    msg[sizeof msg - 1] = '\0';
    struct events_ref r = ref_of("long", "1");
    events_report(ev, &r, "R", msg, T0);
    json_t *e = take(ev, T0, "POST", "/api/v1/", 201);
    const char *m = str(e, "message");
    assert_non_null(m);
    assert_true(strlen(m) <= EVENTS_MESSAGE_MAX);
    assert_string_equal(m + strlen(m) - 3, "...");
    json_decref(e);
    events_destroy(ev);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_state),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_spam_filter),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_long_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
