/* Unit tests of the engine and the flow tables: batching, relists, port
 * bindings, and differences that hold only what changed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "engine.h"
#include "flowtab.h"
#include "np-util.h"
#include "objects.h"
#include <jansson.h>

static void
apply_text(struct engine *e, const char *text)
{
    struct obj_batch batch;
    obj_batch_init(&batch);
    objects_parse_buffer("test", text, strlen(text), &batch);
    for (size_t i = 0; i < batch.n_errors; i++) {
        print_error("%s\n", batch.errors[i]);
    }
    assert_int_equal(batch.n_errors, 0);
    for (size_t i = 0; i < batch.n_objs; i++) {
        struct k8s_object *obj = xmalloc(sizeof *obj);
        *obj = batch.objs[i];
        engine_apply(e, obj);
    }
    batch.n_objs = 0;
    obj_batch_destroy(&batch);
}

static char *
pod(const char *ns, const char *name, const char *app, const char *ip)
{
    return xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
                     "{\"namespace\":\"%s\",\"name\":\"%s\",\"labels\":"
                     "{\"app\":\"%s\"}},\"spec\":{\"nodeName\":\"n1\","
                     "\"containers\":[{\"name\":\"c\"}]},\"status\":"
                     "{\"phase\":\"Running\",\"podIP\":\"%s\"}}",
                     ns, name, app, ip);
}

static const char *policy_web =
    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
    "\"metadata\":{\"namespace\":\"x\",\"name\":\"web\"},\"spec\":{"
    "\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"ingress\":[{"
    "\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"client\"}}}],"
    "\"ports\":[{\"port\":80}]}]}}";

static void
apply_pods(struct engine *e, int n)
{
    for (int i = 0; i < n; i++) {
        char name[16], ip[32];
        snprintf(name, sizeof name, "p%d", i);
        snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
        char *p = pod("x", name, i % 2 ? "client" : "web", ip);
        apply_text(e, p);
        free(p);
    }
}

static size_t
diff_size(const struct flowtab *a, const struct flowtab *b)
{
    struct flow_change *changes;
    size_t n;
    flowtab_diff(a, b, &changes, &n);
    free(changes);
    return n;
}

/* A burst of inputs costs one run; nothing pending costs none. */
static void
test_batching(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_pods(e, 20);
    apply_text(e, policy_web);
    assert_true(engine_pending(e));
    assert_true(engine_run(e));
    assert_false(engine_run(e));
    struct engine_stats st;
    engine_get_stats(e, &st);
    assert_int_equal(st.runs, 1);
    assert_int_equal(st.n_pods, 20);
    assert_int_equal(st.n_policies, 1);
    assert_int_equal(st.n_flows, flowtab_count(engine_desired(e)));
    engine_destroy(e);
}

/* Relabelling one pod changes only the flows that mention it, and cookies
 * of untouched rules stay put when another policy comes. */
static void
test_small_differences(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_pods(e, 40);
    apply_text(e, policy_web);
    engine_run(e);
    struct flowtab *before = flowtab_create();
    flowtab_visit(engine_desired(e), (flowtab_visit_fn *) flowtab_put, before);
    size_t total = flowtab_count(before);

    /* p1 (client, 10.0.0.2) becomes a web pod: it leaves the peer clause
     * and becomes isolated and selected. */
    char *p = pod("x", "p1", "web", "10.0.0.2");
    apply_text(e, p);
    free(p);
    engine_run(e);
    size_t n = diff_size(before, engine_desired(e));
    assert_true(n > 0);
    assert_true(n <= 4);
    assert_true(total > 50);

    /* A new policy in another namespace: the old rule's flows keep their
     * cookies and conjunction ids. */
    struct flowtab *mid = flowtab_create();
    flowtab_visit(engine_desired(e), (flowtab_visit_fn *) flowtab_put, mid);
    apply_text(e,
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
        "\"metadata\":{\"namespace\":\"a\",\"name\":\"first\"},\"spec\":{"
        "\"podSelector\":{}}}");
    engine_run(e);
    assert_int_equal(diff_size(mid, engine_desired(e)), 0);
    flowtab_destroy(before);
    flowtab_destroy(mid);
    engine_destroy(e);
}

static bool has_flow(const struct flowtab *, uint8_t table,
                     uint16_t priority, const char *match);

/* A spoof-guard flow (table 2, priority 200) with this match. */
static bool
has_match(const struct flowtab *tab, const char *match)
{
    return has_flow(tab, 2, 200, match);
}

/* A port binding turns the address-only spoof guard into a port guard. */
static void
test_ports(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_pods(e, 2);
    engine_run(e);
    assert_true(has_match(engine_desired(e), "ip,nw_src=10.0.0.1"));
    free(engine_set_port(e, "x", "p0", "7", NULL));
    assert_true(engine_pending(e));
    engine_run(e);
    assert_true(has_match(engine_desired(e), "in_port=7,ip,nw_src=10.0.0.1"));
    free(engine_set_port(e, "x", "p0", "7", NULL));       /* Same binding: no run. */
    assert_false(engine_pending(e));
    engine_unset_port(e, "x", "p0", "7");
    engine_run(e);
    assert_false(has_match(engine_desired(e), "in_port=7,ip,nw_src=10.0.0.1"));
    engine_destroy(e);
}

static bool
has_flow(const struct flowtab *tab, uint8_t table, uint16_t priority,
         const char *match)
{
    struct flowtab *one = flowtab_create();
    flowtab_put(one, table, priority, 0, match, "x");
    struct flow_change *changes;
    size_t n;
    flowtab_diff(tab, one, &changes, &n);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        found |= changes[i].type == FLOW_MODIFY;
    }
    free(changes);
    flowtab_destroy(one);
    return found;
}

static void
note_bound(void *aux, const char *ns, const char *name, const char *port,
           bool realized)
{
    int *counts = aux;
    counts[realized]++;
}

/* A pod whose status has no address yet takes the one its CNI wrote on
 * the port; the status wins once it has one; a port whose pod gets no
 * flows drops IP; and the incremental table stays equal to a full one. */
static void
test_port_addresses(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_text(e, policy_web);
    char *p = pod("x", "p0", "web", "10.0.0.1");
    apply_text(e, p);
    free(p);
    /* x/q: scheduled, no address in its status. */
    apply_text(e, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
               "{\"namespace\":\"x\",\"name\":\"q\",\"labels\":"
               "{\"app\":\"web\"}},\"spec\":{\"nodeName\":\"n1\","
               "\"containers\":[{\"name\":\"c\"}]},\"status\":"
               "{\"phase\":\"Pending\"}}");
    free(engine_set_port(e, "x", "q", "8", NULL));
    free(engine_set_port(e, "x", "ghost", "9", "10.0.0.99/24"));
    engine_run(e);
    const struct flowtab *d = engine_desired(e);
    assert_true(has_flow(d, 0, 95, "in_port=8,ip"));        /* No address. */
    assert_true(has_flow(d, 0, 95, "in_port=9,ip"));        /* No pod. */
    assert_true(has_flow(d, 0, 95, "in_port=9,ipv6"));
    int counts[2] = { 0, 0 };
    engine_for_each_bound_port(e, note_bound, counts);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 0);

    /* The CNI's address: x/q gets its spoof guard and its isolation. */
    char *warning = engine_set_port(e, "x", "q", "8",
                                    "10.0.0.7/24 bogus,fd00::7/64");
    assert_non_null(warning);
    assert_string_equal(warning, "\"bogus\" is not an IP address; ignored");
    free(warning);
    assert_true(engine_pending(e));
    engine_run(e);
    d = engine_desired(e);
    assert_true(has_flow(d, 2, 200, "in_port=8,ip,nw_src=10.0.0.7"));
    assert_true(has_flow(d, 2, 200, "in_port=8,ipv6,ipv6_src=fd00::7"));
    assert_true(has_flow(d, NPT_INGRESS_DEFAULT, 100, "ip,nw_dst=10.0.0.7"));
    assert_true(has_flow(d, 2, 150, "in_port=8,ip"));       /* Other srcs. */
    assert_false(has_flow(d, 0, 95, "in_port=8,ip"));       /* Realized. */
    counts[0] = counts[1] = 0;
    engine_for_each_bound_port(e, note_bound, counts);
    assert_int_equal(counts[1], 1);
    struct flowtab *incremental = flowtab_clone(d);
    engine_force_full(e, "test");
    engine_run(e);
    assert_true(flowtab_equal(incremental, engine_desired(e)));
    flowtab_destroy(incremental);

    /* The status brings another address: it wins. */
    p = pod("x", "q", "web", "10.0.0.8");
    apply_text(e, p);
    free(p);
    engine_run(e);
    d = engine_desired(e);
    assert_true(has_flow(d, 2, 200, "in_port=8,ip,nw_src=10.0.0.8"));
    assert_false(has_flow(d, 2, 200, "in_port=8,ip,nw_src=10.0.0.7"));

    /* Unbound: the port's drops go with it. */
    engine_unset_port(e, "x", "ghost", "9");
    engine_run(e);
    assert_false(has_flow(engine_desired(e), 0, 95, "in_port=9,ip"));
    engine_destroy(e);
}

static struct flowtab *snapshot(const struct engine *);

/* A port binding of the re-plug tests: pod x/NAME on PORT with ADDRS. */
struct bind {
    const char *name, *port, *addresses;
};

/* An engine that gets the cluster of the re-plug tests and then 'binds',
 * run once: the full recompute of that state. */
static struct flowtab *
replug_table(const struct bind *binds, size_t n)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_pods(e, 2);
    apply_text(e, policy_web);
    /* x/q: scheduled, no address in its status yet. */
    apply_text(e, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
               "{\"namespace\":\"x\",\"name\":\"q\",\"labels\":"
               "{\"app\":\"web\"}},\"spec\":{\"nodeName\":\"n1\","
               "\"containers\":[{\"name\":\"c\"}]},\"status\":"
               "{\"phase\":\"Pending\"}}");
    for (size_t i = 0; i < n; i++) {
        free(engine_set_port(e, "x", binds[i].name, binds[i].port,
                             binds[i].addresses));
    }
    engine_run(e);
    struct flowtab *t = snapshot(e);
    engine_destroy(e);
    return t;
}

/* The incremental table of 'e' equals its own full recompute and that of
 * a fresh engine that only ever saw 'binds'. */
static void
check_replug(struct engine *e, const struct bind *binds, size_t n,
             const char *what)
{
    engine_run(e);
    struct flowtab *incr = snapshot(e);
    struct flowtab *fresh = replug_table(binds, n);
    if (!flowtab_equal(incr, fresh)) {
        fail_msg("%s: incremental table differs from a fresh engine's "
                 "(%zu flows against %zu)", what, flowtab_count(incr),
                 flowtab_count(fresh));
    }
    engine_force_full(e, "test");
    engine_run(e);
    if (!flowtab_equal(incr, engine_desired(e))) {
        fail_msg("%s: incremental table differs from a full recompute",
                 what);
    }
    flowtab_destroy(incr);
    flowtab_destroy(fresh);
}

static void
note_port(void *aux, const char *ns, const char *name, const char *port,
          bool realized)
{
    char *list = aux;
    size_t len = strlen(list);
    snprintf(list + len, 256 - len, "%s%s/%s:%s%s", len ? " " : "", ns,
             name, port, realized ? "" : "(unrealized)");
}

/* A CNI replaces a pod's port: it plugs the new one, then deletes the old
 * one.  Both ports are guarded while both exist, the survivor stays
 * guarded (its in_port drop, its address allowed from it alone), the
 * addresses from each port count, and at every step the incremental table
 * is the one a fresh engine makes of the same bindings. */
static void
test_replug(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_pods(e, 2);
    apply_text(e, policy_web);
    apply_text(e, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
               "{\"namespace\":\"x\",\"name\":\"q\",\"labels\":"
               "{\"app\":\"web\"}},\"spec\":{\"nodeName\":\"n1\","
               "\"containers\":[{\"name\":\"c\"}]},\"status\":"
               "{\"phase\":\"Pending\"}}");
    const struct bind old[] = {
        { "p0", "3", "10.0.0.1/24" },
        { "q", "8", "10.0.0.7/24" },
    };
    for (size_t i = 0; i < 2; i++) {
        free(engine_set_port(e, "x", old[i].name, old[i].port,
                             old[i].addresses));
    }
    check_replug(e, old, 2, "before");

    /* The new ports: p0's with the same address, q's with a new one. */
    free(engine_set_port(e, "x", "p0", "11", "10.0.0.1/24"));
    free(engine_set_port(e, "x", "q", "9", "10.0.0.9/24"));
    const struct bind both[] = {
        { "p0", "3", "10.0.0.1/24" }, { "p0", "11", "10.0.0.1/24" },
        { "q", "8", "10.0.0.7/24" }, { "q", "9", "10.0.0.9/24" },
    };
    check_replug(e, both, 4, "both ports");
    const struct flowtab *d = engine_desired(e);
    assert_true(has_flow(d, 2, 200, "in_port=3,ip,nw_src=10.0.0.1"));
    assert_true(has_flow(d, 2, 200, "in_port=11,ip,nw_src=10.0.0.1"));
    assert_true(has_flow(d, 2, 150, "in_port=3,ip"));
    assert_true(has_flow(d, 2, 150, "in_port=11,ip"));
    assert_true(has_flow(d, 2, 200, "in_port=9,ip,nw_src=10.0.0.7"));
    assert_true(has_flow(d, 2, 200, "in_port=9,ip,nw_src=10.0.0.9"));
    assert_true(has_flow(d, NPT_INGRESS_DEFAULT, 100, "ip,nw_dst=10.0.0.9"));
    char list[256] = "";
    engine_for_each_bound_port(e, note_port, list);
    assert_non_null(strstr(list, "x/p0:3"));
    assert_non_null(strstr(list, "x/p0:11"));
    assert_non_null(strstr(list, "x/q:8"));
    assert_non_null(strstr(list, "x/q:9"));

    /* The old ports go: only they are unbound. */
    engine_unset_port(e, "x", "p0", "3");
    engine_unset_port(e, "x", "q", "8");
    engine_unset_port(e, "x", "q", "8");        /* Again: nothing. */
    engine_unset_port(e, "x", "nobody", "8");
    const struct bind survivors[] = {
        { "p0", "11", "10.0.0.1/24" }, { "q", "9", "10.0.0.9/24" },
    };
    check_replug(e, survivors, 2, "old ports deleted");
    d = engine_desired(e);
    assert_true(has_flow(d, 2, 200, "in_port=11,ip,nw_src=10.0.0.1"));
    assert_true(has_flow(d, 2, 150, "in_port=11,ip"));
    assert_true(has_flow(d, 2, 150, "in_port=11,ipv6"));
    assert_true(has_flow(d, 2, 100, "ip,nw_src=10.0.0.1"));
    assert_false(has_flow(d, 2, 150, "in_port=3,ip"));
    assert_false(has_flow(d, 2, 200, "in_port=3,ip,nw_src=10.0.0.1"));
    assert_true(has_flow(d, 2, 200, "in_port=9,ip,nw_src=10.0.0.9"));
    assert_false(has_flow(d, 2, 200, "in_port=9,ip,nw_src=10.0.0.7"));
    assert_false(has_flow(d, NPT_INGRESS_DEFAULT, 100, "ip,nw_dst=10.0.0.7"));
    list[0] = '\0';
    engine_for_each_bound_port(e, note_port, list);
    assert_non_null(strstr(list, "x/p0:11"));
    assert_non_null(strstr(list, "x/q:9"));
    assert_null(strstr(list, ":3"));
    assert_null(strstr(list, ":8"));

    /* The last port of a pod goes: the pod is unbound. */
    engine_unset_port(e, "x", "p0", "11");
    const struct bind last[] = { { "q", "9", "10.0.0.9/24" } };
    check_replug(e, last, 1, "last port of p0 deleted");
    assert_false(has_flow(engine_desired(e), 2, 150, "in_port=11,ip"));
    engine_destroy(e);
}

/* ip_addresses is bounded: at most 4 addresses per family, each once; the
 * warning names what was dropped in a few hundred characters at most. */
static void
test_port_address_bounds(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_text(e, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
               "{\"namespace\":\"x\",\"name\":\"q\"},\"spec\":{\"nodeName\":"
               "\"n1\",\"containers\":[{\"name\":\"c\"}]},\"status\":"
               "{\"phase\":\"Pending\"}}");
    engine_run(e);
    size_t base = flowtab_count(engine_desired(e));

    /* 8,000 addresses (90 KB): 4 taken. */
    size_t size = 8000 * 16 + 1, len = 0;
    char *text = xmalloc(size);
    for (int i = 0; i < 8000; i++) {
        len += snprintf(text + len, size - len, "10.1.%d.%d/16 ", i / 250,
                        i % 250 + 1);
    }
    char *warning = engine_set_port(e, "x", "q", "8", text);
    assert_non_null(warning);
    assert_true(strlen(warning) < 200);
    assert_non_null(strstr(warning, "7996 more IPv4 addresses than the 4"));
    free(warning);
    engine_run(e);
    const struct k8s_pod *pod = cluster_find_pod(engine_cluster(e), "x", "q");
    assert_int_equal(pod->n_ips, 4);
    size_t n = flowtab_count(engine_desired(e));
    assert_true(n - base < 40);
    assert_true(has_flow(engine_desired(e), 2, 200,
                         "in_port=8,ip,nw_src=10.1.0.4"));
    assert_false(has_flow(engine_desired(e), 2, 200,
                          "in_port=8,ip,nw_src=10.1.0.5"));

    /* Duplicates count once and are no error; both families. */
    warning = engine_set_port(e, "x", "q", "8", "10.0.0.7 10.0.0.7/24,"
                              "fd00::7/64 10.0.0.7 fd00::7 fd00:0::7");
    assert_null(warning);
    engine_run(e);
    assert_int_equal(pod->n_ips, 2);

    /* Five of each family: one of each too many. */
    warning = engine_set_port(e, "x", "q", "8", "10.0.0.1 10.0.0.2 10.0.0.3 "
                              "10.0.0.4 10.0.0.5 fd00::1 fd00::2 fd00::3 "
                              "fd00::4 fd00::5");
    assert_non_null(warning);
    assert_string_equal(warning, "1 more IPv4 addresses than the 4 a port "
                        "may give its pod; ignored; 1 more IPv6 addresses "
                        "than the 4 a port may give its pod; ignored");
    free(warning);

    /* A 100 KB word, and control characters: quoted short and clean. */
    char *word = xmalloc(100001);
    memset(word, 'z', 100000);
    word[100000] = '\0';
    word[3] = '\n';
    free(text);
    text = xasprintf("10.0.0.7 %s bad\033[2J", word);
    warning = engine_set_port(e, "x", "q", "8", text);
    assert_non_null(warning);
    assert_true(strlen(warning) < 200);
    assert_non_null(strstr(warning, "\"zzz?zzz"));
    assert_non_null(strstr(warning, "(100000 characters)"));
    assert_non_null(strstr(warning, "and 1 more words are not IP"));
    for (const char *p = warning; *p; p++) {
        assert_true((unsigned char) *p >= 0x20 && *p != 0x7f);
    }
    free(warning);
    engine_run(e);
    assert_int_equal(pod->n_ips, 1);
    free(word);
    free(text);
    engine_destroy(e);
}

/* Whether the incremental table equals a full recompute's; leaves the
 * engine with the full one. */
static bool
incremental_equals_full(struct engine *e)
{
    struct flowtab *incremental = flowtab_clone(engine_desired(e));
    engine_force_full(e, "test");
    engine_run(e);
    bool equal = flowtab_equal(incremental, engine_desired(e));
    flowtab_destroy(incremental);
    return equal;
}

/* The engine's table equals compile_cluster()'s with the engine's ids,
 * ports and levels (what 'ovs-netpol compile --ports' gives). */
static bool
equals_compile(const struct engine *e)
{
    struct np_flowset full;
    engine_compile_full(e, &full);
    struct flowtab *oracle = flowtab_create();
    flowtab_assign(oracle, &full);
    np_flowset_destroy(&full);
    bool equal = flowtab_equal(oracle, engine_desired(e));
    flowtab_destroy(oracle);
    return equal;
}

/* A ClusterNetworkPolicy whose 'networks' are IPv6 in a cluster whose pods
 * have IPv4 only (or none yet, as while a cluster's objects arrive one by
 * one): its port matches need IPv6 too, the run counts the family once and
 * ends (it once went round for ever: a daemon hung there), and each step
 * equals compile_cluster()'s table. */
static void
test_cnp_families(void **state)
{
    (void) state;
    struct compile_options opts;
    compile_options_init(&opts);
    opts.node = "n1";
    struct engine *e = engine_create(&opts);
    apply_text(e, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
               "\"metadata\":{\"name\":\"x\"}}");
    apply_text(e, "{\"apiVersion\":\"policy.networking.k8s.io/v1alpha2\","
               "\"kind\":\"ClusterNetworkPolicy\",\"metadata\":{\"name\":"
               "\"v6\"},\"spec\":{\"tier\":\"Admin\",\"priority\":1,"
               "\"subject\":{\"namespaces\":{}},\"egress\":[{\"action\":"
               "\"Deny\",\"to\":[{\"networks\":[\"fd00::/64\"]}],"
               "\"protocols\":[{\"tcp\":{\"destinationPort\":{\"number\":"
               "80}}}]}]}}");
    engine_run(e);
    assert_true(equals_compile(e));
    char *p = pod("x", "a", "web", "10.0.0.1");
    apply_text(e, p);
    free(p);
    engine_run(e);
    assert_true(equals_compile(e));
    /* The v6 port match is there, and the subject's address. */
    bool tcp6 = false, subject = false;
    struct np_flowset full;
    engine_compile_full(e, &full);
    for (size_t i = 0; i < full.n_flows; i++) {
        tcp6 |= strstr(full.flows[i].match, "tcp6,tp_dst=80") != NULL;
        subject |= strstr(full.flows[i].match, "nw_src=10.0.0.1") != NULL
                   && full.flows[i].table == NPT_ADMIN_EGRESS;
    }
    np_flowset_destroy(&full);
    assert_true(tcp6);
    assert_true(subject);
    assert_true(incremental_equals_full(e));
    engine_destroy(e);
}

/* A port that carries no pod sends no IP unless it is an uplink or a node
 * port: its drops (table 0, before conntrack) come and go with its role,
 * incrementally, as the only change; when a CNI binds it, in one run, the
 * drop of an unbound port becomes that of a port whose pod has no flows
 * yet, then the pod's spoof guard. */
static void
test_unbound_ports(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_text(e, policy_web);
    char *p = pod("x", "p0", "web", "10.0.0.1");
    apply_text(e, p);
    free(p);
    engine_run(e);
    engine_changes_reset(e);
    struct flowtab *before = snapshot(e);

    engine_set_port_role(e, "7", COMPILE_PORT_UNBOUND);
    engine_set_port_role(e, "12", COMPILE_PORT_UPLINK);
    engine_set_port_role(e, "13", COMPILE_PORT_NODE);
    assert_int_equal(engine_port_role(e, "7"), COMPILE_PORT_UNBOUND);
    assert_int_equal(engine_port_role(e, "12"), COMPILE_PORT_UPLINK);
    assert_int_equal(engine_port_role(e, "99"), COMPILE_PORT_POD);
    assert_true(engine_pending(e));
    struct engine_stats st0, st1;
    engine_get_stats(e, &st0);
    engine_run(e);
    engine_get_stats(e, &st1);
    assert_int_equal(st1.n_unbound_ports, 1);
    const struct flowtab *d = engine_desired(e);
    assert_true(has_flow(d, 0, PRIO_CLASSIFY_NO_POD_DROP, "in_port=7,ip"));
    assert_true(has_flow(d, 0, PRIO_CLASSIFY_NO_POD_DROP, "in_port=7,ipv6"));
    assert_false(has_match(d, "in_port=12,ip"));
    assert_false(has_match(d, "in_port=13,ip"));
    /* Only its two flows changed, and no policy was compiled again. */
    assert_int_equal(diff_size(before, d), 2);
    assert_int_equal(st1.last_changes, 2);
    assert_int_equal(st1.policies_compiled, st0.policies_compiled);
    assert_true(equals_compile(e));

    /* The same again: nothing to do. */
    engine_set_port_role(e, "7", COMPILE_PORT_UNBOUND);
    engine_set_port_role(e, "13", COMPILE_PORT_NODE);
    assert_false(engine_pending(e));

    /* The CNI binds it to a pod the engine does not know yet, in one
     * batch: from "carries no pod" to "its pod has no flows". */
    engine_set_port_role(e, "7", COMPILE_PORT_POD);
    free(engine_set_port(e, "x", "new", "7", "10.0.0.9/24"));
    engine_run(e);
    d = engine_desired(e);
    assert_false(has_flow(d, 0, PRIO_CLASSIFY_NO_POD_DROP, "in_port=7,ip"));
    assert_true(has_flow(d, 0, PRIO_CLASSIFY_PORT_DROP, "in_port=7,ip"));
    assert_true(has_flow(d, 0, PRIO_CLASSIFY_PORT_DROP, "in_port=7,ipv6"));
    assert_true(equals_compile(e));
    assert_true(incremental_equals_full(e));

    /* The pod comes: its flows, and no drop before conntrack. */
    p = pod("x", "new", "web", "10.0.0.9");
    apply_text(e, p);
    free(p);
    engine_run(e);
    d = engine_desired(e);
    assert_false(has_flow(d, 0, PRIO_CLASSIFY_PORT_DROP, "in_port=7,ip"));
    assert_true(has_flow(d, 2, PRIO_SPOOF_OWN, "in_port=7,ip,nw_src=10.0.0.9"));
    assert_true(equals_compile(e));

    /* An uplink becomes unbound (say, renamed); then it goes. */
    engine_set_port_role(e, "12", COMPILE_PORT_UNBOUND);
    engine_run(e);
    assert_true(has_flow(engine_desired(e), 0, PRIO_CLASSIFY_NO_POD_DROP,
                         "in_port=12,ip"));
    assert_true(equals_compile(e));
    assert_true(incremental_equals_full(e));
    engine_set_port_role(e, "12", COMPILE_PORT_POD);
    engine_run(e);
    assert_false(has_match(engine_desired(e), "in_port=12,ip"));
    assert_true(equals_compile(e));
    flowtab_destroy(before);
    engine_destroy(e);
}

/* An egress rule to an ipBlock with a named port reaches the pods inside
 * the block, by address: a pod whose address (here from its port, before
 * its status has one) enters or leaves the block changes the rule, and
 * the incremental table must follow. */
static void
test_named_port_behind_ipblock(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    apply_text(e,
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
        "\"metadata\":{\"namespace\":\"x\",\"name\":\"to-block\"},\"spec\":{"
        "\"podSelector\":{},\"policyTypes\":[\"Egress\"],\"egress\":[{"
        "\"to\":[{\"ipBlock\":{\"cidr\":\"10.0.1.0/24\"}}],"
        "\"ports\":[{\"port\":\"http\"}]}]}}");
    char *p = pod("x", "client", "client", "10.0.9.1");
    apply_text(e, p);
    free(p);
    /* y/q: http on 8080, no address in its status yet. */
    apply_text(e, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
               "{\"namespace\":\"y\",\"name\":\"q\",\"labels\":{}},\"spec\":"
               "{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\","
               "\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}]},"
               "\"status\":{\"phase\":\"Pending\"}}");
    engine_run(e);
    assert_false(has_flow(engine_desired(e), NPT_EGRESS, 200, "ip,nw_dst=10.0.1.7"));

    free(engine_set_port(e, "y", "q", "8", "10.0.1.7/24"));
    engine_run(e);
    assert_true(has_flow(engine_desired(e), NPT_EGRESS, 200, "ip,nw_dst=10.0.1.7"));
    assert_true(has_flow(engine_desired(e), NPT_EGRESS, 200, "tcp,tp_dst=8080"));
    assert_true(incremental_equals_full(e));

    /* The CNI moves it out of the block. */
    free(engine_set_port(e, "y", "q", "8", "10.0.2.7/24"));
    engine_run(e);
    assert_false(has_flow(engine_desired(e), NPT_EGRESS, 200, "ip,nw_dst=10.0.1.7"));
    assert_false(has_flow(engine_desired(e), NPT_EGRESS, 200, "ip,nw_dst=10.0.2.7"));
    assert_false(has_flow(engine_desired(e), NPT_EGRESS, 200, "tcp,tp_dst=8080"));
    assert_true(incremental_equals_full(e));

    /* Back in, then unbound: the address goes with the port. */
    free(engine_set_port(e, "y", "q", "8", "10.0.1.7/24"));
    engine_run(e);
    assert_true(has_flow(engine_desired(e), NPT_EGRESS, 200, "ip,nw_dst=10.0.1.7"));
    engine_unset_port(e, "y", "q", "8");
    engine_run(e);
    assert_false(has_flow(engine_desired(e), NPT_EGRESS, 200, "ip,nw_dst=10.0.1.7"));
    assert_true(incremental_equals_full(e));
    engine_destroy(e);
}

struct grep_aux {
    const char *match, *actions;
    int n;
};

static void
grep_cb(void *aux_, uint8_t table, uint16_t priority, uint64_t cookie,
        const char *match, const char *actions)
{
    struct grep_aux *aux = aux_;
    aux->n += (!strcmp(match, aux->match)
               && strstr(actions, aux->actions) != NULL);
}

/* How many flows of 'tab' have exactly 'match' and 'actions' among their
 * actions. */
static int
grep_table(const struct flowtab *tab, const char *match, const char *actions)
{
    struct grep_aux aux = { match, actions, 0 };
    flowtab_visit(tab, grep_cb, &aux);
    return aux.n;
}

static int
grep_flows(const struct engine *e, const char *match, const char *actions)
{
    return grep_table(engine_desired(e), match, actions);
}

static char *
netpol(const char *ns, const char *name, const char *app, const char *from)
{
    return xasprintf("{\"apiVersion\":\"networking.k8s.io/v1\","
                     "\"kind\":\"NetworkPolicy\",\"metadata\":"
                     "{\"namespace\":\"%s\",\"name\":\"%s\"},\"spec\":"
                     "{\"podSelector\":{\"matchLabels\":{\"app\":\"%s\"}},"
                     "\"ingress\":[{\"from\":[%s],\"ports\":[{\"port\":80}]"
                     "}]}}", ns, name, app, from);
}

/* Rules whose pod peers read the same share one peer set; a rule's
 * ipBlocks stay its own, so a pod address that is also one of its CIDRs
 * keeps its clause when the pod goes, and a set outlives the rules that
 * leave it as long as one follows it. */
static void
test_shared_peer_sets(void **state)
{
    struct compile_options opts;
    compile_options_init(&opts);
    struct engine *e = engine_create(&opts);
    const char *clients = "{\"podSelector\":{\"matchLabels\":"
                          "{\"app\":\"client\"}}}";
    char *from_b = xasprintf("%s,{\"ipBlock\":{\"cidr\":\"10.0.0.2/32\"}}",
                             clients);
    char *a = netpol("x", "a", "web", clients);
    char *b = netpol("x", "b", "db", from_b);
    char *c = netpol("y", "c", "web", clients);   /* Its own namespace's. */
    apply_text(e, a);
    apply_text(e, b);
    apply_text(e, c);
    const char *pods[][4] = {
        { "x", "web", "web", "10.0.0.1" },
        { "x", "client", "client", "10.0.0.2" },
        { "x", "client2", "client", "10.0.0.3" },
        { "x", "db", "db", "10.0.0.4" },
        { "y", "web", "web", "10.0.1.1" },
        { "y", "client", "client", "10.0.1.2" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(pods); i++) {
        char *p = pod(pods[i][0], pods[i][1], pods[i][2], pods[i][3]);
        apply_text(e, p);
        free(p);
    }
    engine_run(e);
    assert_true(incremental_equals_full(e));
    /* Both x policies' conjunctions on x/client's address; not y's. */
    assert_int_equal(grep_flows(e, "ip,nw_src=10.0.0.2", "conjunction("), 1);
    int both = grep_flows(e, "ip,nw_src=10.0.0.3", "conjunction(");
    assert_int_equal(both, 1);

    /* x/client goes: b's CIDR keeps its address, a's clause goes. */
    engine_delete(e, OBJ_POD, "x", "client");
    engine_run(e);
    assert_true(incremental_equals_full(e));
    assert_int_equal(grep_flows(e, "ip,nw_src=10.0.0.2", "conjunction("), 1);

    /* a goes; b still follows the set: x/client2 stays its peer. */
    engine_delete(e, OBJ_NETPOL, "x", "a");
    engine_run(e);
    assert_true(incremental_equals_full(e));
    assert_int_equal(grep_flows(e, "ip,nw_src=10.0.0.3", "conjunction("), 1);

    /* b sleeps (selects nothing), the set empties; a comes back and fills
     * it again; a pod joins it; then b wakes into the filled set. */
    engine_delete(e, OBJ_POD, "x", "db");
    engine_run(e);
    assert_true(incremental_equals_full(e));
    assert_int_equal(grep_flows(e, "ip,nw_src=10.0.0.3", "conjunction("), 0);
    apply_text(e, a);
    char *p = pod("x", "client", "client", "10.0.0.2");
    apply_text(e, p);
    free(p);
    engine_run(e);
    assert_true(incremental_equals_full(e));
    p = pod("x", "db", "db", "10.0.0.4");
    apply_text(e, p);
    free(p);
    engine_run(e);
    assert_true(incremental_equals_full(e));
    assert_int_equal(grep_flows(e, "ip,nw_src=10.0.0.2", "conjunction("), 1);
    /* Relabelled out of the set, in one event with b's edit. */
    p = pod("x", "client2", "other", "10.0.0.3");
    apply_text(e, p);
    free(p);
    apply_text(e, b);
    engine_run(e);
    assert_true(incremental_equals_full(e));
    assert_int_equal(grep_flows(e, "ip,nw_src=10.0.0.3", "conjunction("), 0);
    free(a);
    free(b);
    free(c);
    free(from_b);
    engine_destroy(e);
}

/* A conjunction list the engine hands a table is one copy while they
 * agree; changing it afterwards copies it first, so the table (and a
 * clone of it, as the installed table) keeps what it was given. */
static void
test_conj_list_shared(void **state)
{
    (void) state;
    struct flowtab *desired = flowtab_create();
    struct conj_list *l = conj_list_own(NULL, 2);
    l->v[0] = (UINT64_C(5) << 16) | (1 << 8) | 2;
    l->v[1] = (UINT64_C(7) << 16) | (2 << 8) | 2;
    l->n = 2;
    assert_true(flowtab_set_conj_list(desired, 3, 200, 1, "ip,nw_src=10.0.0.1",
                                      l));
    assert_int_equal(l->refs, 2);
    struct flowtab *installed = flowtab_clone(desired);

    struct conj_list *mine = conj_list_own(l, 1);
    assert_ptr_not_equal(mine, l);
    mine->v[mine->n++] = (UINT64_C(9) << 16) | (1 << 8) | 2;
    assert_int_equal(grep_table(desired, "ip,nw_src=10.0.0.1",
                                "conjunction(5,1/2),conjunction(7,2/2)"), 1);
    assert_int_equal(grep_table(desired, "ip,nw_src=10.0.0.1",
                                "conjunction(9,1/2)"), 0);
    assert_true(flowtab_set_conj_list(desired, 3, 200, 1,
                                      "ip,nw_src=10.0.0.1", mine));
    assert_int_equal(grep_table(desired, "ip,nw_src=10.0.0.1",
                                "conjunction(9,1/2)"), 1);
    assert_int_equal(grep_table(installed, "ip,nw_src=10.0.0.1",
                                "conjunction(9,1/2)"), 0);

    /* An equal list from elsewhere: no change, and one copy kept. */
    struct conj_list *same = conj_list_own(NULL, 3);
    memcpy(same->v, mine->v, 3 * sizeof *same->v);
    same->n = 3;
    assert_false(flowtab_set_conj_list(desired, 3, 200, 1,
                                       "ip,nw_src=10.0.0.1", same));
    assert_int_equal(same->refs, 2);
    assert_int_equal(mine->refs, 1);
    conj_list_unref(same);
    conj_list_unref(mine);
    flowtab_destroy(installed);
    flowtab_destroy(desired);
}

/* diff + apply turns one table into the other. */
static void
test_flowtab_diff_apply(void **state)
{
    struct flowtab *a = flowtab_create(), *b = flowtab_create();
    flowtab_put(a, 0, 10, 1, "ip", "drop");
    flowtab_put(a, 0, 10, 1, "arp", "NORMAL");
    flowtab_put(a, 1, 5, 1, "tcp", "NORMAL");
    flowtab_put(b, 0, 10, 1, "ip", "NORMAL");   /* Modified actions. */
    flowtab_put(b, 0, 10, 2, "arp", "NORMAL");  /* Modified cookie. */
    flowtab_put(b, 2, 5, 1, "udp", "NORMAL");   /* Added; tcp deleted. */
    struct flow_change *changes;
    size_t n;
    flowtab_diff(a, b, &changes, &n);
    assert_int_equal(n, 4);
    assert_int_equal(changes[0].type, FLOW_DELETE);
    assert_string_equal(changes[0].match, "tcp");
    size_t adds = 0, mods = 0;
    for (size_t i = 0; i < n; i++) {
        adds += changes[i].type == FLOW_ADD;
        mods += changes[i].type == FLOW_MODIFY;
    }
    assert_int_equal(adds, 1);
    assert_int_equal(mods, 2);
    flowtab_apply(a, changes, n);
    free(changes);
    assert_true(flowtab_equal(a, b));
    flowtab_destroy(a);
    flowtab_destroy(b);
}

/* flowtab_sync keeps what stays, changes what differs, removes the rest,
 * and counts the difference; a long match takes the slow key path. */
static void
test_flowtab_sync(void **state)
{
    char long_match[600];
    memset(long_match, 'x', sizeof long_match - 1);
    long_match[sizeof long_match - 1] = '\0';
    struct np_flow fa[] = {
        { .table = 0, .priority = 10, .cookie = 1, .match = "ip",
          .actions = "drop" },
        { .table = 0, .priority = 10, .cookie = 1, .match = "arp",
          .actions = "NORMAL" },
        { .table = 1, .priority = 5, .cookie = 1, .match = long_match,
          .actions = "NORMAL" },
        { .table = 1, .priority = 5, .cookie = 1, .match = "tcp",
          .actions = "NORMAL" },
    };
    struct np_flow fb[] = {
        { .table = 0, .priority = 10, .cookie = 1, .match = "ip",
          .actions = "drop" },
        { .table = 0, .priority = 10, .cookie = 2, .match = "arp",
          .actions = "NORMAL" },
        { .table = 2, .priority = 5, .cookie = 1, .match = "udp",
          .actions = "NORMAL" },
    };
    struct np_flowset a = { .flows = fa, .n_flows = 4 };
    struct np_flowset b = { .flows = fb, .n_flows = 3 };
    struct flowtab *t = flowtab_create(), *want = flowtab_create();
    assert_int_equal(flowtab_sync(t, &a), 4);
    assert_int_equal(flowtab_count(t), 4);
    assert_int_equal(flowtab_sync(t, &a), 0);
    /* arp's cookie, udp added, tcp and the long one removed. */
    assert_int_equal(flowtab_sync(t, &b), 4);
    assert_int_equal(flowtab_count(t), 3);
    flowtab_assign(want, &b);
    assert_true(flowtab_equal(t, want));
    assert_true(flowtab_remove(t, 0, 10, "ip"));
    assert_false(flowtab_equal(t, want));
    struct flowtab *copy = flowtab_clone(want);
    assert_true(flowtab_equal(copy, want));
    flowtab_destroy(copy);
    flowtab_destroy(t);
    flowtab_destroy(want);
}

/* Where a table keeps the strings of one flow, to tell shared from
 * copied. */
struct flow_where {
    uint8_t table;
    uint16_t priority;
    const char *match;
    const char *found_match;    /* NULL if the table has no such flow. */
    const char *found_actions;
};

static void
find_flow(void *fw_, uint8_t table, uint16_t priority, uint64_t cookie,
          const char *match, const char *actions)
{
    struct flow_where *fw = fw_;
    if (table == fw->table && priority == fw->priority
        && !strcmp(match, fw->match)) {
        fw->found_match = match;
        fw->found_actions = actions;
    }
}

static struct flow_where
where(const struct flowtab *tab, uint8_t table, uint16_t priority,
      const char *match)
{
    struct flow_where fw = { table, priority, match, NULL, NULL };
    flowtab_visit(tab, find_flow, &fw);
    return fw;
}

/* True if 'a' and 'b' hold this flow, in one record. */
static bool
shared(const struct flowtab *a, const struct flowtab *b, uint8_t table,
       uint16_t priority, const char *match)
{
    struct flow_where wa = where(a, table, priority, match);
    struct flow_where wb = where(b, table, priority, match);
    return wa.found_match && wa.found_match == wb.found_match
           && wa.found_actions == wb.found_actions;
}

/* A clone shares every flow; a change to either table, through any call,
 * leaves the other as it was. */
static void
test_flowtab_clone_shares(void **state)
{
    struct flowtab *a = flowtab_create();
    flowtab_put(a, 0, 10, 1, "ip", "drop");
    flowtab_put(a, 0, 10, 1, "arp", "NORMAL");
    flowtab_put(a, 1, 5, 1, "tcp", "NORMAL");
    flowtab_put(a, 1, 5, 1, "udp", "NORMAL");
    struct flowtab *b = flowtab_clone(a);
    struct flowtab *want = flowtab_create();
    flowtab_visit(a, (flowtab_visit_fn *) flowtab_put, want);
    assert_true(shared(a, b, 0, 10, "ip"));
    assert_true(shared(a, b, 1, 5, "udp"));

    assert_true(flowtab_set(a, 0, 10, 1, "ip", "NORMAL"));
    assert_true(flowtab_set(a, 0, 10, 2, "arp", "NORMAL"));
    assert_true(flowtab_remove(a, 1, 5, "tcp"));
    assert_true(flowtab_set(a, 2, 1, 1, "sctp", "drop"));
    assert_true(flowtab_equal(b, want));
    assert_false(flowtab_equal(a, b));
    assert_string_equal(where(b, 0, 10, "ip").found_actions, "drop");
    assert_true(shared(a, b, 1, 5, "udp"));
    assert_false(shared(a, b, 0, 10, "ip"));

    /* The other way round, and emptied. */
    flowtab_journal_start(b);
    flowtab_clear(b);
    assert_int_equal(flowtab_journal_size(b), 4);
    assert_int_equal(flowtab_count(a), 4);
    assert_string_equal(where(a, 1, 5, "udp").found_actions, "NORMAL");
    flowtab_destroy(b);
    assert_string_equal(where(a, 0, 10, "arp").found_actions, "NORMAL");
    flowtab_destroy(a);
    flowtab_destroy(want);
}

/* Held changes keep their strings past the table they came from and are
 * applied by sharing its records; others are applied by copying. */
static void
test_flowtab_apply_shares(void **state)
{
    struct flowtab *desired = flowtab_create();
    flowtab_put(desired, 0, 10, 1, "ip", "drop");
    flowtab_put(desired, 0, 10, 1, "arp", "NORMAL");
    struct flowtab *installed = flowtab_clone(desired);
    struct flowtab *copied = flowtab_clone(desired);
    flowtab_journal_start(desired);
    flowtab_set(desired, 0, 10, 1, "ip", "NORMAL");
    flowtab_set(desired, 1, 5, 1, "tcp", "NORMAL");
    flowtab_remove(desired, 0, 10, "arp");

    struct flow_change *changes;
    size_t n;
    flowtab_diff(copied, desired, &changes, &n);
    assert_int_equal(n, 3);
    flowtab_apply(copied, changes, n);
    flowtab_changes_free(changes, n);
    assert_true(flowtab_equal(copied, desired));
    assert_false(shared(copied, desired, 0, 10, "ip"));

    flowtab_diff_journal(installed, desired, &changes, &n);
    assert_int_equal(n, 3);
    flowtab_changes_hold(changes, n);
    struct flowtab *want = flowtab_clone(desired);
    /* The desired table moves on while the commit is out. */
    flowtab_set(desired, 0, 10, 1, "ip", "drop");
    flowtab_set(desired, 1, 5, 1, "tcp", "drop");
    flowtab_destroy(desired);
    assert_string_equal(changes[1].actions, "NORMAL");
    flowtab_apply(installed, changes, n);
    flowtab_changes_free(changes, n);
    assert_true(flowtab_equal(installed, want));
    assert_true(shared(installed, want, 0, 10, "ip"));
    assert_true(shared(installed, want, 1, 5, "tcp"));
    flowtab_destroy(want);
    flowtab_destroy(installed);
    flowtab_destroy(copied);
}

/* A random number from a xorshift generator. */
static uint64_t
next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* The identities of the random test: few, so that operations meet; one
 * match longer than any stack buffer a key might be formatted into. */
#define MODEL_TABLES 3
#define MODEL_PRIORITIES 3
#define MODEL_MATCHES 12
#define MODEL_FLOWS (MODEL_TABLES * MODEL_PRIORITIES * MODEL_MATCHES)

struct model_flow {
    bool present;
    uint64_t cookie;
    int actions;
};

static char model_matches[MODEL_MATCHES][700];
static const char *model_actions[] = {
    "drop", "NORMAL", "resubmit(,3)", "ct(commit),NORMAL",
    /* From MODEL_CONJ on, also set as conjunctions (flowtab_set_conj()),
     * which must equal their text. */
    "conjunction(5,1/2)", "conjunction(5,1/2),conjunction(900001,3/3)",
};
#define MODEL_CONJ 4

/* Sets model flow 'actions' as text, or as conjunctions if it has some and
 * 'packed'. */
static bool
model_set(struct flowtab *tab, uint8_t table, uint16_t priority,
          uint64_t cookie, const char *match, int actions, bool packed)
{
    if (actions < MODEL_CONJ || !packed) {
        return flowtab_set(tab, table, priority, cookie, match,
                           model_actions[actions]);
    }
    /* Packed as src/compile-gen.h's np_conj_pack(): id, clause, clauses. */
    uint64_t conj[2] = { (UINT64_C(5) << 16) | (1 << 8) | 2,
                         (UINT64_C(900001) << 16) | (3 << 8) | 3 };
    return flowtab_set_conj(tab, table, priority, cookie, match, conj,
                            actions == MODEL_CONJ ? 1 : 2);
}

static void
model_identity(int i, uint8_t *table, uint16_t *priority, const char **match)
{
    *table = i / (MODEL_PRIORITIES * MODEL_MATCHES);
    *priority = 100 * (i / MODEL_MATCHES % MODEL_PRIORITIES);
    *match = model_matches[i % MODEL_MATCHES];
}

static struct flowtab *
model_table(const struct model_flow *model)
{
    struct flowtab *tab = flowtab_create();
    for (int i = 0; i < MODEL_FLOWS; i++) {
        if (model[i].present) {
            uint8_t table;
            uint16_t priority;
            const char *match;
            model_identity(i, &table, &priority, &match);
            flowtab_put(tab, table, priority, model[i].cookie, match,
                        model_actions[model[i].actions]);
        }
    }
    return tab;
}

static void
assert_same_changes(const struct flow_change *a, size_t n_a,
                    const struct flow_change *b, size_t n_b, uint64_t seed)
{
    if (n_a != n_b) {
        fail_msg("seed %"PRIu64": %zu changes from the journal, %zu from "
                 "the whole tables", seed, n_a, n_b);
    }
    for (size_t i = 0; i < n_a; i++) {
        assert_int_equal(a[i].type, b[i].type);
        assert_int_equal(a[i].table, b[i].table);
        assert_int_equal(a[i].priority, b[i].priority);
        assert_int_equal(a[i].cookie, b[i].cookie);
        assert_string_equal(a[i].match, b[i].match);
        char *ba = NULL, *bb = NULL;
        assert_string_equal(flowtab_change_actions(&a[i], &ba),
                            flowtab_change_actions(&b[i], &bb));
        free(ba);
        free(bb);
    }
}

/* Random sets, removals, syncs, clears and clones against a model: the
 * table always holds the model's flows, and the difference from its
 * journal always equals the difference of the whole tables, whether the
 * follower shares the changes' records or copies them.  FLOWTAB_SEED
 * picks another sequence. */
static void
test_flowtab_journal_random(void **state)
{
    const char *env = getenv("FLOWTAB_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 1;
    uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
    for (int m = 0; m < MODEL_MATCHES; m++) {
        snprintf(model_matches[m], sizeof model_matches[m],
                 "ip,nw_src=10.0.%d.%d", m, m * 7);
    }
    memset(model_matches[0], 'x', sizeof model_matches[0] - 1);

    struct model_flow model[MODEL_FLOWS] = { { 0 } };
    struct flowtab *to = flowtab_create();
    struct flowtab *from = flowtab_create();
    flowtab_journal_start(to);
    size_t n_changes = 0;
    for (int op = 0; op < 4000; op++) {
        uint64_t r = next_random(&rng);
        int i = r % MODEL_FLOWS;
        uint8_t table;
        uint16_t priority;
        const char *match;
        model_identity(i, &table, &priority, &match);
        int what = (r >> 16) % 100;
        if (what < 55) {
            uint64_t cookie = (r >> 24) % 3;
            int actions = (r >> 32) % ARRAY_SIZE(model_actions);
            bool changed = (!model[i].present || model[i].cookie != cookie
                            || model[i].actions != actions);
            assert_int_equal(model_set(to, table, priority, cookie, match,
                                       actions, r >> 40 & 1), changed);
            model[i] = (struct model_flow) { true, cookie, actions };
        } else if (what < 85) {
            assert_int_equal(flowtab_remove(to, table, priority, match),
                             model[i].present);
            model[i].present = false;
        } else if (what < 93) {
            /* A compile's output: some flows stay, some change, some go. */
            struct np_flow flows[MODEL_FLOWS];
            struct model_flow next[MODEL_FLOWS];
            size_t n = 0, n_differ = 0;
            for (int j = 0; j < MODEL_FLOWS; j++) {
                uint64_t rj = next_random(&rng);
                next[j] = model[j];
                if (rj % 4 == 0) {
                    next[j] = (struct model_flow) {
                        rj % 8 != 0, (rj >> 8) % 3,
                        (rj >> 16) % ARRAY_SIZE(model_actions)
                    };
                }
                if (next[j].present) {
                    model_identity(j, &flows[n].table, &flows[n].priority,
                                   &match);
                    flows[n].match = match;
                    flows[n].cookie = next[j].cookie;
                    flows[n].actions = (char *) model_actions[next[j].actions];
                    n++;
                }
                n_differ += (next[j].present != model[j].present
                             || (next[j].present
                                 && (next[j].cookie != model[j].cookie
                                     || next[j].actions != model[j].actions)));
            }
            struct np_flowset fs = { .flows = flows, .n_flows = n };
            if (what < 92) {
                assert_int_equal(flowtab_sync(to, &fs), n_differ);
            } else {
                flowtab_assign(to, &fs);
            }
            memcpy(model, next, sizeof model);
        } else if (what < 95) {
            flowtab_clear(to);
            memset(model, 0, sizeof model);
        } else if (what < 97) {
            /* A replace: the follower starts over from a copy. */
            struct flow_change *changes;
            size_t n;
            flowtab_diff_journal(from, to, &changes, &n);
            flowtab_changes_free(changes, n);
            flowtab_destroy(from);
            from = flowtab_clone(to);
        }

        if (r >> 48 & 1 && (r >> 49) % 8 == 0) {
            struct flow_change *journal, *full;
            size_t n_journal, n_full;
            flowtab_diff(from, to, &full, &n_full);
            flowtab_diff_journal(from, to, &journal, &n_journal);
            assert_int_equal(flowtab_journal_size(to), 0);
            assert_same_changes(journal, n_journal, full, n_full, seed);
            n_changes += n_journal;
            if (r >> 50 & 1) {
                flowtab_changes_hold(journal, n_journal);
            }
            flowtab_apply(from, journal, n_journal);
            flowtab_changes_free(journal, n_journal);
            free(full);
            assert_true(flowtab_equal(from, to));
        }
        struct flowtab *want = model_table(model);
        if (!flowtab_equal(to, want)) {
            fail_msg("seed %"PRIu64": the table differs from the model after "
                     "operation %d", seed, op);
        }
        flowtab_destroy(want);
    }
    /* Enough happened for the test to mean something. */
    assert_true(n_changes > 1000);
    flowtab_destroy(from);
    flowtab_destroy(to);
}

/* Loads every object of a JSON value (a List or one object) into 'e'. */
static void
apply_json_text(struct engine *e, const char *origin, const char *text)
{
    struct obj_batch batch;
    obj_batch_init(&batch);
    objects_parse_buffer(origin, text, strlen(text), &batch);
    assert_int_equal(batch.n_errors, 0);
    for (size_t i = 0; i < batch.n_objs; i++) {
        struct k8s_object *obj = xmalloc(sizeof *obj);
        *obj = batch.objs[i];
        engine_apply(e, obj);
    }
    batch.n_objs = 0;
    obj_batch_destroy(&batch);
}

static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = xmalloc(size + 1);
    assert_int_equal(fread(text, 1, size, f), size);
    text[size] = '\0';
    fclose(f);
    return text;
}

static struct flowtab *
snapshot(const struct engine *e)
{
    struct flowtab *copy = flowtab_create();
    flowtab_visit(engine_desired(e), (flowtab_visit_fn *) flowtab_put, copy);
    return copy;
}

/* Prints how 'got' differs from 'want'. */
static void
report_diff(const struct flowtab *want, const struct flowtab *got)
{
    struct flow_change *changes;
    size_t n;
    flowtab_diff(want, got, &changes, &n);
    for (size_t i = 0; i < n && i < 20; i++) {
        const struct flow_change *c = &changes[i];
        char *buf = NULL;
        print_message("%s table=%u priority=%u cookie=%#"PRIx64" %s "
                      "actions=%s\n",
                      c->type == FLOW_ADD ? "extra"
                      : c->type == FLOW_DELETE ? "missing" : "differs",
                      c->table, c->priority, c->cookie, c->match,
                      flowtab_change_actions(c, &buf));
        free(buf);
    }
    free(changes);
}

/* Every step of every case of the corpus, replayed incrementally: after
 * each step the table must equal a full recompute's, and steps that touch
 * few policies must not compile the others again. */
static void
test_incremental_equals_full(void **state)
{
    const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
    char *cmd = xasprintf("ls %s/tests/cases/[0-9]*.json", srcdir);
    FILE *ls = popen(cmd, "r");
    free(cmd);
    assert_non_null(ls);
    char *model_path = xasprintf("%s/tests/cases/model.json", srcdir);
    char *model = read_file(model_path);
    free(model_path);
    char path[4096];
    size_t n_cases = 0, n_steps = 0, reused = 0, compiled = 0;
    while (fgets(path, sizeof path, ls)) {
        path[strcspn(path, "\n")] = '\0';
        char *text = read_file(path);
        json_error_t jerr;
        json_t *c = json_loads(text, 0, &jerr);
        assert_non_null(c);
        struct compile_options opts;
        compile_options_init(&opts);
        opts.node = "node-1";
        struct engine *e = engine_create(&opts);
        /* 'fresh' gets the same inputs but runs once, at the end. */
        struct engine *fresh = engine_create(&opts);
        apply_json_text(e, "model", model);
        apply_json_text(fresh, "model", model);
        engine_run(e);
        size_t i;
        json_t *step;
        json_array_foreach(json_object_get(c, "steps"), i, step) {
            size_t j;
            json_t *o;
            json_array_foreach(json_object_get(step, "apply"), j, o) {
                char *s = json_dumps(o, 0);
                apply_json_text(e, path, s);
                apply_json_text(fresh, path, s);
                free(s);
            }
            json_array_foreach(json_object_get(step, "delete"), j, o) {
                const char *kind = json_string_value(json_object_get(o, "kind"));
                const char *ns = json_string_value(json_object_get(o, "namespace"));
                const char *name = json_string_value(json_object_get(o, "name"));
                enum obj_kind k = (!strcmp(kind, "Namespace") ? OBJ_NAMESPACE
                                   : !strcmp(kind, "Pod") ? OBJ_POD
                                   : OBJ_NETPOL);
                engine_delete(e, k, ns ? ns : "", name);
                engine_delete(fresh, k, ns ? ns : "", name);
            }
            struct engine_stats before, after;
            engine_get_stats(e, &before);
            engine_run(e);
            engine_get_stats(e, &after);
            compiled += after.policies_compiled - before.policies_compiled;
            reused += after.policies_reused - before.policies_reused;
            struct flowtab *incr = snapshot(e);
            struct np_flowset full;
            engine_compile_full(e, &full);
            struct flowtab *oracle = flowtab_create();
            flowtab_assign(oracle, &full);
            np_flowset_destroy(&full);
            if (!flowtab_equal(incr, oracle)) {
                report_diff(oracle, incr);
                fail_msg("%s step %zu: incremental table differs from "
                         "compile_cluster()'s", path, i + 1);
            }
            flowtab_destroy(oracle);
            engine_force_full(e, "test");
            engine_run(e);
            if (!flowtab_equal(incr, engine_desired(e))) {
                report_diff(engine_desired(e), incr);
                fail_msg("%s step %zu: incremental table differs from a "
                         "full rebuild", path, i + 1);
            }
            flowtab_destroy(incr);
            n_steps++;
        }
        /* The engine's first build equals the offline compiler's
         * direct table, given the same ids (both number rules in policy
         * order on a first run). */
        struct np_flowset direct;
        compile_cluster(engine_cluster(fresh), &opts, &direct);
        struct flowtab *offline = flowtab_create();
        flowtab_assign(offline, &direct);
        np_flowset_destroy(&direct);
        engine_run(fresh);
        if (!flowtab_equal(offline, engine_desired(fresh))) {
            report_diff(offline, engine_desired(fresh));
            fail_msg("%s: the engine's table differs from compile's", path);
        }
        flowtab_destroy(offline);
        engine_destroy(fresh);
        engine_destroy(e);
        json_decref(c);
        free(text);
        n_cases++;
    }
    pclose(ls);
    free(model);
    print_message("%zu cases, %zu steps: incremental == full; %zu policies "
                  "compiled, %zu reused\n", n_cases, n_steps, compiled,
                  reused);
    assert_true(n_cases >= 60);
    assert_true(reused > 0);
}

/* The cluster's sorted views stay sorted and complete across applies,
 * replacements and deletes made after they were first read. */
static void
test_cluster_sorted_views(void **state)
{
    struct cluster *c = cluster_create();
    size_t n;
    cluster_pods(c, &n);                /* Build the (empty) view first. */
    unsigned int seed = 12345;
    bool present[64] = { false };
    for (int step = 0; step < 2000; step++) {
        seed = seed * 1103515245 + 12345;
        int i = (seed >> 8) % 64;
        char ns[8], name[16];
        snprintf(ns, sizeof ns, "n%d", i % 5);
        snprintf(name, sizeof name, "p%d%s", i, i % 3 ? "-x" : "");
        if ((seed >> 20) % 4 == 0) {
            assert_int_equal(cluster_delete(c, OBJ_POD, ns, name), present[i]);
            present[i] = false;
        } else {
            struct k8s_object *o = xmalloc(sizeof *o);
            o->kind = OBJ_POD;
            o->pod = xcalloc(1, sizeof *o->pod);
            o->pod->namespace = xstrdup(ns);
            o->pod->name = xstrdup(name);
            cluster_apply(c, o);
            present[i] = true;
        }
        if (step % 7 == 0) {
            const struct k8s_pod *const *pods = cluster_pods(c, &n);
            size_t want = 0;
            for (int j = 0; j < 64; j++) {
                want += present[j];
            }
            assert_int_equal(n, want);
            for (size_t j = 0; j + 1 < n; j++) {
                int cmp = strcmp(pods[j]->namespace, pods[j + 1]->namespace);
                if (!cmp) {
                    cmp = strcmp(pods[j]->name, pods[j + 1]->name);
                }
                assert_true(cmp < 0);
            }
            for (size_t j = 0; j < n; j++) {
                assert_ptr_equal(cluster_find_pod(c, pods[j]->namespace,
                                                  pods[j]->name), pods[j]);
            }
        }
    }
    cluster_destroy(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batching),
        cmocka_unit_test(test_small_differences),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_flowtab_diff_apply),
        cmocka_unit_test(test_flowtab_sync),
        cmocka_unit_test(test_flowtab_clone_shares),
        cmocka_unit_test(test_flowtab_apply_shares),
        cmocka_unit_test(test_flowtab_journal_random),
        cmocka_unit_test(test_port_addresses),
        cmocka_unit_test(test_replug),
        cmocka_unit_test(test_port_address_bounds),
        cmocka_unit_test(test_unbound_ports),
        cmocka_unit_test(test_named_port_behind_ipblock),
        cmocka_unit_test(test_shared_peer_sets),
        cmocka_unit_test(test_conj_list_shared),
        cmocka_unit_test(test_incremental_equals_full),
        cmocka_unit_test(test_cnp_families),
        cmocka_unit_test(test_cluster_sorted_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
