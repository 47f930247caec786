/* Unit tests of the directory source: a first scan delivers every object,
 * a change (write, rename in, delete) is noticed through inotify and
 * delivered as a relist, and a bad file rejects only itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cluster.h"
#include "engine.h"
#include "np-util.h"
#include "source-dir.h"

struct rec {
    struct engine *engine;
    int synced;
    int errors;
    char last_error[512];
    char all_errors[4096];
};

static void
rec_object(void *aux, struct k8s_object *obj)
{
    struct rec *r = aux;
    engine_apply(r->engine, obj);
}

static void
rec_deleted(void *aux, enum obj_kind kind, const char *ns, const char *name)
{
    struct rec *r = aux;
    engine_delete(r->engine, kind, ns, name);
}

static void
rec_synced(void *aux)
{
    struct rec *r = aux;
    r->synced++;
}

static void
rec_error(void *aux, const char *msg)
{
    struct rec *r = aux;
    r->errors++;
    snprintf(r->last_error, sizeof r->last_error, "%s", msg);
    strncat(r->all_errors, msg, sizeof r->all_errors - strlen(r->all_errors) - 1);
}

static const struct source_callbacks cbs = {
    .object = rec_object,
    .deleted = rec_deleted,
    .synced = rec_synced,
    .error = rec_error,
};

static void
write_file(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(path);
}

static void
timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until 'r->synced' reaches 'target' or 2 s pass. */
static void
wait_synced(struct ev_loop *loop, struct rec *r, int target)
{
    ev_timer t;
    ev_timer_init(&t, timeout_cb, 2., 0.);
    ev_timer_start(loop, &t);
    while (r->synced < target && ev_is_active(&t)) {
        ev_run(loop, EVRUN_ONCE);
    }
    ev_timer_stop(loop, &t);
    assert_int_equal(r->synced, target);
}

static size_t
n_pods(const struct rec *r)
{
    size_t n;
    cluster_pods(engine_cluster(r->engine), &n);
    return n;
}

static void
test_dir_source(void **state)
{
    char dir[] = "/tmp/np-source-dir.XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a.yaml",
               "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
               "status: {podIP: 10.0.0.1}\n");
    write_file(dir, "notes.txt", "not a manifest\n");

    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct compile_options opts;
    compile_options_init(&opts);
    struct rec r = { .engine = engine_create(&opts) };
    char *error;
    struct source_dir *sd = source_dir_create(loop, dir, &cbs, &r, &error);
    assert_non_null(sd);

    wait_synced(loop, &r, 1);
    assert_int_equal(n_pods(&r), 1);
    assert_int_equal(r.errors, 0);

    /* A new file, written in place. */
    write_file(dir, "b.json",
               "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
               "{\"name\":\"b\",\"namespace\":\"x\"}}");
    wait_synced(loop, &r, 2);
    assert_int_equal(n_pods(&r), 2);

    /* A file renamed in, as kubectl and editors do, with one bad object:
     * the bad one is reported, the good one and the other files stay. */
    write_file(dir, ".tmp",
               "apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: x}\n"
               "---\napiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: x}\n"
               "status: {podIP: 10.0.0.300}\n");
    char *from = xasprintf("%s/.tmp", dir), *to = xasprintf("%s/c.yaml", dir);
    assert_int_equal(rename(from, to), 0);
    wait_synced(loop, &r, 3);
    assert_int_equal(n_pods(&r), 3);
    assert_int_equal(r.errors, 1);
    assert_non_null(strstr(r.last_error, "Pod x/d: status.podIP"));

    /* A valid object edited into an invalid one keeps its last valid
     * version: a policy must not vanish (and open traffic) by a typo. */
    write_file(dir, "b.json",
               "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
               "{\"name\":\"b\",\"namespace\":\"x\"},\"status\":"
               "{\"podIP\":\"10.0.0.999\"}}");
    wait_synced(loop, &r, 4);
    assert_int_equal(n_pods(&r), 3);
    assert_non_null(cluster_find_pod(engine_cluster(r.engine), "x", "b"));
    assert_non_null(strstr(r.all_errors, "Pod x/b: status.podIP"));

    /* A deleted file: its objects go. */
    char *a = xasprintf("%s/a.yaml", dir);
    assert_int_equal(unlink(a), 0);
    wait_synced(loop, &r, 5);
    assert_int_equal(n_pods(&r), 2);
    assert_null(cluster_find_pod(engine_cluster(r.engine), "x", "a"));

    /* An explicit rescan (the 'sync' command) runs at once. */
    source_dir_rescan(sd);
    assert_int_equal(r.synced, 6);

    struct source_dir_status st;
    source_dir_get_status(sd, &st);
    assert_int_equal(st.scans, 6);
    assert_int_equal(st.objects, 1);
    assert_int_equal(st.errors, 2);

    source_dir_destroy(sd);
    engine_destroy(r.engine);
    ev_loop_destroy(loop);
    unlink(to);
    char *b = xasprintf("%s/b.json", dir), *n = xasprintf("%s/notes.txt", dir);
    unlink(b);
    unlink(n);
    rmdir(dir);
    free(from);
    free(to);
    free(a);
    free(b);
    free(n);
}

static size_t
n_policies(const struct rec *r)
{
    size_t n;
    cluster_netpols(engine_cluster(r->engine), &n);
    return n;
}

#define DENY_ALL                                                        \
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"           \
    "metadata: {name: deny-all, namespace: x}\n"                        \
    "spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n"
#define ALLOW_WEB                                                       \
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"           \
    "metadata: {name: allow-web, namespace: x}\n"                       \
    "spec: {podSelector: {}, ingress: [{ports: [{port: 80}]}]}\n"

static void
rename_file(const char *dir, const char *from, const char *to)
{
    char *a = xasprintf("%s/%s", dir, from), *b = xasprintf("%s/%s", dir, to);
    assert_int_equal(rename(a, b), 0);
    free(a);
    free(b);
}

/* Replaces 'name' in 'dir' with a FIFO, renamed in as an editor would. */
static void
fifo_file(const char *dir, const char *name)
{
    char *tmp = xasprintf("%s/.fifo", dir), *path = xasprintf("%s/%s", dir,
                                                              name);
    assert_int_equal(mkfifo(tmp, 0600), 0);
    assert_int_equal(rename(tmp, path), 0);
    free(tmp);
    free(path);
}

/* What a scan no longer finds is deleted, of every kind, and nothing
 * else: an object taken out of a file that stays, a Namespace, but not an
 * object that moved to another file in the same scan. */
static void
test_deletions(void **state)
{
    char dir[] = "/tmp/np-source-dir.XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a.yaml",
               "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n"
               "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
               "---\napiVersion: v1\nkind: Pod\n"
               "metadata: {name: b, namespace: x}\n");
    write_file(dir, "c.yaml",
               "apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: x}\n");

    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct compile_options opts;
    compile_options_init(&opts);
    struct rec r = { .engine = engine_create(&opts) };
    char *error;
    struct source_dir *sd = source_dir_create(loop, dir, &cbs, &r, &error);
    assert_non_null(sd);
    wait_synced(loop, &r, 1);
    assert_int_equal(n_pods(&r), 3);
    const struct cluster *c = engine_cluster(r.engine);
    assert_non_null(cluster_find_namespace(c, "x"));

    /* b leaves a.yaml, which stays; c moves from c.yaml into a.yaml;
     * the Namespace goes. */
    write_file(dir, "c.yaml", "");
    write_file(dir, "a.yaml",
               "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
               "---\napiVersion: v1\nkind: Pod\n"
               "metadata: {name: c, namespace: x}\n");
    wait_synced(loop, &r, 2);
    assert_int_equal(n_pods(&r), 2);
    assert_non_null(cluster_find_pod(c, "x", "a"));
    assert_null(cluster_find_pod(c, "x", "b"));
    assert_non_null(cluster_find_pod(c, "x", "c"));
    assert_null(cluster_find_namespace(c, "x"));

    source_dir_destroy(sd);
    engine_destroy(r.engine);
    ev_loop_destroy(loop);
    char *a = xasprintf("%s/a.yaml", dir), *cc = xasprintf("%s/c.yaml", dir);
    unlink(a);
    unlink(cc);
    free(a);
    free(cc);
    rmdir(dir);
}

/* A file that no longer parses keeps the objects it held (a deny-all must
 * not vanish by a typo), and says so; fixed, it is read again; deleted,
 * its objects go. */
static void
test_broken_file(void **state)
{
    char dir[] = "/tmp/np-source-dir.XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a.yaml", DENY_ALL "---\n" ALLOW_WEB);

    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct compile_options opts;
    compile_options_init(&opts);
    struct rec r = { .engine = engine_create(&opts) };
    char *error;
    struct source_dir *sd = source_dir_create(loop, dir, &cbs, &r, &error);
    assert_non_null(sd);
    wait_synced(loop, &r, 1);
    assert_int_equal(n_policies(&r), 2);

    /* A syntax error in the second document. */
    write_file(dir, "a.yaml", DENY_ALL "---\n" ALLOW_WEB "  ingress: [\n");
    wait_synced(loop, &r, 2);
    assert_int_equal(n_policies(&r), 2);
    assert_non_null(cluster_find_netpol(engine_cluster(r.engine), "x",
                                        "allow-web"));
    struct source_dir_status st;
    source_dir_get_status(sd, &st);
    assert_int_equal(st.broken_files, 1);
    assert_int_equal(st.kept, 1);       /* deny-all was delivered again. */
    assert_string_equal(st.broken, "a.yaml (1 object kept)");
    assert_non_null(strstr(r.last_error, "a.yaml: line 10 column 3: did not find expected key"));
    assert_non_null(strstr(r.last_error, "; keeping the 1 object that "
                           "a.yaml held at its last valid version until it "
                           "is fixed"));

    /* Whole-file errors: nothing parses, both are kept. */
    write_file(dir, "a.yaml", "{\"apiVersion\": \"v1\", ");
    wait_synced(loop, &r, 3);
    assert_int_equal(n_policies(&r), 2);
    source_dir_get_status(sd, &st);
    assert_int_equal(st.kept, 2);

    /* Unreadable (a FIFO: not waited on), and still broken: kept. */
    fifo_file(dir, "a.yaml");
    wait_synced(loop, &r, 4);
    assert_int_equal(n_policies(&r), 2);
    assert_non_null(strstr(r.last_error, "it is a FIFO, not a regular "
                           "file; keeping the 2 objects"));

    /* A document whose kind cannot be read may have been either. */
    write_file(dir, ".tmp", DENY_ALL "---\nknd: NetworkPolicy\n");
    rename_file(dir, ".tmp", "a.yaml");
    wait_synced(loop, &r, 5);
    assert_int_equal(n_policies(&r), 2);

    /* Fixed, without allow-web: it goes, as the file says. */
    write_file(dir, "a.yaml", DENY_ALL);
    wait_synced(loop, &r, 6);
    assert_int_equal(n_policies(&r), 1);
    assert_null(cluster_find_netpol(engine_cluster(r.engine), "x",
                                    "allow-web"));
    source_dir_get_status(sd, &st);
    assert_int_equal(st.broken_files, 0);
    assert_string_equal(st.broken, "");

    /* Broken, then deleted: deleting is what the user asked for. */
    write_file(dir, "a.yaml", "[");
    wait_synced(loop, &r, 7);
    assert_int_equal(n_policies(&r), 1);
    char *a = xasprintf("%s/a.yaml", dir);
    assert_int_equal(unlink(a), 0);
    wait_synced(loop, &r, 8);
    assert_int_equal(n_policies(&r), 0);

    /* A new file broken from the start has nothing to keep. */
    write_file(dir, "a.yaml", "[");
    wait_synced(loop, &r, 9);
    assert_non_null(strstr(r.last_error, "; a.yaml held no objects to "
                           "keep"));

    source_dir_destroy(sd);
    engine_destroy(r.engine);
    ev_loop_destroy(loop);
    unlink(a);
    rmdir(dir);
    free(a);
}

static const struct k8s_netpol *
find_np(const struct rec *r, const char *name)
{
    return cluster_find_netpol(engine_cluster(r->engine), "x", name);
}

#define BAD_PORT(NAME)                                                  \
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"           \
    "metadata: {name: " NAME ", namespace: x}\n"                        \
    "spec: {podSelector: {}, ingress: [{ports: [{port: 70000}]}]}\n"
#define GOOD_PORT(NAME)                                                 \
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"           \
    "metadata: {name: " NAME ", namespace: x}\n"                        \
    "spec: {podSelector: {}, ingress: [{ports: [{port: 80}]}]}\n"

/* A NetworkPolicy rejected without a valid version isolates its pods
 * through its stand-in; one with a valid version keeps that. */
static void
test_stand_in(void **state)
{
    char dir[] = "/tmp/np-source-dir.XXXXXX";
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a.yaml", BAD_PORT("np"));

    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct compile_options opts;
    compile_options_init(&opts);
    struct rec r = { .engine = engine_create(&opts) };
    char *error;
    struct source_dir *sd = source_dir_create(loop, dir, &cbs, &r, &error);
    assert_non_null(sd);
    wait_synced(loop, &r, 1);
    const struct k8s_netpol *np = find_np(&r, "np");
    assert_non_null(np);
    assert_non_null(np->invalid);
    assert_true(np->isolates_ingress);
    assert_int_equal(np->n_ingress, 0);
    assert_non_null(strstr(r.last_error, "NetworkPolicy x/np: "
                           "spec.ingress[0].ports[0].port: 70000 is not a "
                           "valid port number (must be between 1 and "
                           "65535); isolating its pods with no rules until "
                           "it is fixed"));

    /* Still invalid at the next scan: the stand-in again. */
    source_dir_rescan(sd);
    np = find_np(&r, "np");
    assert_non_null(np);
    assert_non_null(np->invalid);

    /* Fixed: the policy itself. */
    write_file(dir, "a.yaml", GOOD_PORT("np"));
    wait_synced(loop, &r, 3);
    np = find_np(&r, "np");
    assert_non_null(np);
    assert_null(np->invalid);
    assert_int_equal(np->n_ingress, 1);

    /* Broken again: its last valid version stays. */
    write_file(dir, "a.yaml", BAD_PORT("np"));
    wait_synced(loop, &r, 4);
    np = find_np(&r, "np");
    assert_non_null(np);
    assert_null(np->invalid);
    assert_int_equal(np->n_ingress, 1);
    assert_non_null(strstr(r.last_error, "; keeping its last valid "
                           "version"));

    /* A valid version in another file wins, in either order. */
    write_file(dir, "b.yaml", BAD_PORT("q"));
    write_file(dir, "c.yaml", GOOD_PORT("q") "---\n" BAD_PORT("q2"));
    write_file(dir, "0.yaml", GOOD_PORT("q2"));
    wait_synced(loop, &r, 5);
    assert_non_null(find_np(&r, "q"));
    assert_null(find_np(&r, "q")->invalid);
    assert_non_null(find_np(&r, "q2"));
    assert_null(find_np(&r, "q2")->invalid);

    /* Deleted: gone, stand-in or not. */
    const char *names[] = { "a.yaml", "b.yaml", "c.yaml", "0.yaml" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        unlink(path);
        free(path);
    }
    source_dir_rescan(sd);
    assert_int_equal(n_policies(&r), 0);

    source_dir_destroy(sd);
    engine_destroy(r.engine);
    ev_loop_destroy(loop);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_source),
        cmocka_unit_test(test_deletions),
        cmocka_unit_test(test_broken_file),
        cmocka_unit_test(test_stand_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
