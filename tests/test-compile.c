/* Unit tests of the compiler at the level of flows: the shape and size of
 * the table (conjunctions, merging, linear growth, stable ids, cookies).
 * Whether the flows enforce the right verdicts is proved with real packets
 * by the end-to-end suite (tests/run-e2e.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "compile.h"
#include "objects.h"
#include "np-util.h"

static struct cluster *
cluster_from(const char *text)
{
    struct obj_batch batch;
    obj_batch_init(&batch);
    objects_parse_buffer("test", text, strlen(text), &batch);
    for (size_t i = 0; i < batch.n_errors; i++) {
        print_error("%s\n", batch.errors[i]);
    }
    assert_int_equal(batch.n_errors, 0);
    struct cluster *c = cluster_create();
    cluster_apply_batch(c, &batch);
    obj_batch_destroy(&batch);
    return c;
}

/* Counts flows in table offset 't' whose match contains 'match' (or equals
 * it, if it starts with '=') and whose actions contain 'actions' (either may
 * be NULL). */
static size_t
count(const struct np_flowset *fs, int t, const char *match,
      const char *actions)
{
    size_t n = 0;
    for (size_t i = 0; i < fs->n_flows; i++) {
        const struct np_flow *f = &fs->flows[i];
        if ((t < 0 || f->table == t)
            && (!match
                || (match[0] == '=' ? !strcmp(f->match, match + 1)
                    : strstr(f->match, match) != NULL))
            && (!actions || strstr(f->actions, actions))) {
            n++;
        }
    }
    return n;
}

static size_t
count_table(const struct np_flowset *fs, int t)
{
    return count(fs, t, NULL, NULL);
}

#define NS(name) "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" name "\",\"labels\":{\"ns\":\"" name "\"}}}"

static char *
pod_json(const char *ns, const char *name, const char *labels, const char *ip,
         const char *node, const char *ports)
{
    return xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
                     "{\"namespace\":\"%s\",\"name\":\"%s\",\"labels\":{%s}},"
                     "\"spec\":{\"nodeName\":\"%s\",\"containers\":[{\"name\":"
                     "\"c\",\"ports\":[%s]}]},\"status\":{\"phase\":\"Running\","
                     "\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}]}}",
                     ns, name, labels, node ? node : "node-1",
                     ports ? ports : "", ip, ip);
}

static void
append(char **list, const char *item)
{
    char *s = xasprintf("%s%s%s", *list, **list ? "," : "", item);
    free(*list);
    *list = s;
}

static char *
wrap_list(const char *items)
{
    return xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[%s]}",
                     items);
}

/* Returns the flow in table 't' whose match is exactly 'match'; fails the
 * test if there is none. */
static const struct np_flow *
find(const struct np_flowset *fs, int t, const char *match)
{
    for (size_t i = 0; i < fs->n_flows; i++) {
        if (fs->flows[i].table == t && !strcmp(fs->flows[i].match, match)) {
            return &fs->flows[i];
        }
    }
    fail_msg("table %d has no flow \"%s\"", t, match);
    return NULL;
}

/* One rule, 1000 sources x 100 destinations x 10 ports: a cross product
 * would be 1,000,000 flows; conjunction keeps it to the sum. */
static void
test_cross_product_is_linear(void **state)
{
    char *items = xstrdup("");
    append(&items, NS("src"));
    append(&items, NS("dst"));
    for (int i = 0; i < 1000; i++) {
        char name[32], ip[32];
        snprintf(name, sizeof name, "s%d", i);
        snprintf(ip, sizeof ip, "10.1.%d.%d", i / 250, i % 250 + 1);
        char *p = pod_json("src", name, "\"role\":\"client\"", ip, NULL, NULL);
        append(&items, p);
        free(p);
    }
    for (int i = 0; i < 100; i++) {
        char name[32], ip[32];
        snprintf(name, sizeof name, "d%d", i);
        snprintf(ip, sizeof ip, "10.2.0.%d", i + 1);
        char *p = pod_json("dst", name, "\"role\":\"server\"", ip, NULL, NULL);
        append(&items, p);
        free(p);
    }
    char ports[1024] = "";
    for (int i = 0; i < 10; i++) {
        char p[64];
        snprintf(p, sizeof p, "%s{\"port\":%d}", i ? "," : "", 8000 + i);
        strcat(ports, p);
    }
    char *np = xasprintf(
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
        "\"metadata\":{\"namespace\":\"dst\",\"name\":\"cross\"},\"spec\":{"
        "\"podSelector\":{\"matchLabels\":{\"role\":\"server\"}},"
        "\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":"
        "{\"ns\":\"src\"}},\"podSelector\":{\"matchLabels\":{\"role\":"
        "\"client\"}}}],\"ports\":[%s]}]}}", ports);
    append(&items, np);
    free(np);
    char *text = wrap_list(items);
    struct cluster *c = cluster_from(text);

    struct compile_options opts;
    compile_options_init(&opts);
    struct np_flowset fs;
    compile_cluster(c, &opts, &fs);
    size_t rules = count_table(&fs, NPT_INGRESS);
    /* 100 + 1000 + 10 clause flows, the conj_id flow, the miss flow. */
    assert_int_equal(rules, 1112);
    assert_int_equal(count(&fs, NPT_INGRESS, "conj_id=", NULL), 1);
    assert_int_equal(count(&fs, NPT_INGRESS, NULL, "/3)"), 1110);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, NULL, "drop"), 100);
    assert_int_equal(count_table(&fs, NPT_EGRESS), 1);  /* Miss only. */
    np_flowset_destroy(&fs);
    cluster_destroy(c);
    free(text);
    free(items);
}

static const char *base_cluster =
    NS("x") "," NS("y");

static char *
small_cluster(const char *policies)
{
    char *items = xstrdup(base_cluster);
    const char *pods[][4] = {
        { "x", "a", "\"pod\":\"a\"", "10.244.1.11" },
        { "x", "b", "\"pod\":\"b\"", "10.244.1.12" },
        { "y", "a", "\"pod\":\"a\"", "10.244.2.11" },
        { "y", "b", "\"pod\":\"b\"", "10.244.2.12" },
    };
    for (size_t i = 0; i < 4; i++) {
        char *ports = xasprintf("{\"name\":\"http\",\"containerPort\":%d},"
                                "{\"name\":\"dns\",\"containerPort\":53,"
                                "\"protocol\":\"UDP\"}",
                                i % 2 ? 8080 : 80);
        char *p = pod_json(pods[i][0], pods[i][1], pods[i][2], pods[i][3],
                           i < 2 ? "node-1" : "node-2", ports);
        append(&items, p);
        free(p);
        free(ports);
    }
    if (*policies) {
        append(&items, policies);
    }
    char *text = wrap_list(items);
    free(items);
    return text;
}

#define NP(ns, name, spec) "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"namespace\":\"" ns "\",\"name\":\"" name "\"},\"spec\":" spec "}"

static void
compile_text(const char *text, const struct compile_options *opts,
             struct np_flowset *fs, struct cluster **cp)
{
    struct cluster *c = cluster_from(text);
    compile_cluster(c, opts, fs);
    if (cp) {
        *cp = c;
    } else {
        cluster_destroy(c);
    }
}

#define CNP(name, spec) "{\"apiVersion\":\"policy.networking.k8s.io/v1alpha2\",\"kind\":\"ClusterNetworkPolicy\",\"metadata\":{\"name\":\"" name "\"},\"spec\":" spec "}"

/* The tier tables: one priority per rule in evaluation order (priority,
 * then name), each action's flows, a rule that fails closed, a named port
 * resolved on the subject, and the policies named for trace. */
static void
test_cnp_tiers(void **state)
{
    char *text = small_cluster(
        CNP("b-deny", "{\"tier\":\"Admin\",\"priority\":5,\"subject\":"
            "{\"namespaces\":{\"matchLabels\":{\"ns\":\"x\"}}},\"egress\":[{"
            "\"action\":\"Deny\",\"to\":[{\"namespaces\":{\"matchLabels\":"
            "{\"ns\":\"y\"}}}],\"protocols\":[{\"tcp\":{\"destinationPort\":"
            "{\"number\":80}}}]}]}") ","
        CNP("a-pass", "{\"tier\":\"Admin\",\"priority\":5,\"subject\":"
            "{\"pods\":{\"namespaceSelector\":{\"matchLabels\":{\"ns\":\"x\"}},"
            "\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}}}},\"egress\":[{"
            "\"action\":\"Pass\",\"to\":[{\"namespaces\":{\"matchLabels\":"
            "{\"ns\":\"y\"}}}]}],\"ingress\":[{\"name\":\"web\",\"action\":"
            "\"Accept\",\"from\":[{\"pods\":{\"namespaceSelector\":{},"
            "\"podSelector\":{\"matchLabels\":{\"pod\":\"b\"}}}}],"
            "\"protocols\":[{\"destinationNamedPort\":\"http\"}]}]}") ","
        CNP("base", "{\"tier\":\"Baseline\",\"priority\":0,\"subject\":"
            "{\"namespaces\":{}},\"ingress\":[{\"action\":\"Deny\",\"from\":"
            "[{\"serviceAccounts\":{\"name\":\"x\"}}]}],\"egress\":[{"
            "\"action\":\"Pass\",\"to\":[{\"networks\":[\"0.0.0.0/0\"]}]}]}"));
    struct compile_options opts;
    compile_options_init(&opts);
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);

    /* Admin egress: a-pass (its name first at priority 5, conjunction 1)
     * above b-deny (2): a Pass, then a Deny split by connection state. */
    assert_int_equal(count(&fs, NPT_ADMIN_EGRESS, "conj_id=", NULL), 4);
    const struct np_flow *f = find(&fs, NPT_ADMIN_EGRESS, "conj_id=1");
    assert_int_equal(f->priority, PRIO_TIER_FIRST);
    assert_string_equal(f->actions, "goto_table:4");
    f = find(&fs, NPT_ADMIN_EGRESS, "ct_state=-est+trk,conj_id=2");
    assert_int_equal(f->priority, PRIO_TIER_FIRST - 1);
    assert_string_equal(f->actions, "drop");
    find(&fs, NPT_ADMIN_EGRESS, "ct_state=+est+trk,ipv6,conj_id=2");
    f = find(&fs, NPT_ADMIN_EGRESS, "ct_state=+est+trk,ip,conj_id=2");
    assert_string_equal(f->actions, "ct(commit,zone=0,exec(set_field:0x1/0x1"
                        "->ct_mark))");
    assert_int_equal(count(&fs, NPT_ADMIN_EGRESS, "=tcp,tp_dst=80",
                           "conjunction(2,3/3)"), 1);
    /* Both of x's pods are b-deny's subject; only x/a is a-pass's. */
    assert_int_equal(count(&fs, NPT_ADMIN_EGRESS, "=ip,nw_src=10.244.1.12",
                           NULL), 1);
    assert_int_equal(count(&fs, NPT_ADMIN_EGRESS, "=ip,nw_src=10.244.1.11",
                           NULL), 2);

    /* Admin ingress: the named port resolves on the subject, x/a: 80; the
     * peers are the pods labelled b of every namespace. */
    f = find(&fs, NPT_ADMIN_INGRESS, "conj_id=3");
    assert_int_equal(f->priority, PRIO_TIER_FIRST);
    assert_string_equal(f->actions, "set_field:0x3->reg1,goto_table:11");
    assert_int_equal(count(&fs, NPT_ADMIN_INGRESS, "=tcp,tp_dst=80",
                           "conjunction(3,3/3)"), 1);
    assert_int_equal(count(&fs, NPT_ADMIN_INGRESS, "=ip,nw_dst=10.244.1.11",
                           "conjunction(3,1/3)"), 1);
    assert_int_equal(count(&fs, NPT_ADMIN_INGRESS, "=ip,nw_src=10.244.1.12",
                           "conjunction(3,2/3)"), 1);
    assert_int_equal(count(&fs, NPT_ADMIN_INGRESS, "=ip,nw_src=10.244.2.12",
                           "conjunction(3,2/3)"), 1);
    assert_int_equal(count(&fs, NPT_ADMIN_INGRESS, "nw_src=10.244.2.11",
                           NULL), 0);

    /* Baseline egress: Pass goes past the baseline; ingress: the unknown
     * peer makes the Deny rule deny all, on the subject alone. */
    f = find(&fs, NPT_BASELINE_EGRESS, "conj_id=4");
    assert_string_equal(f->actions, "goto_table:7");
    assert_int_equal(count(&fs, NPT_BASELINE_INGRESS,
                           "ct_state=-est+trk,ip,nw_dst=", "drop"), 4);
    assert_int_equal(count(&fs, NPT_BASELINE_INGRESS,
                           "ct_state=+est+trk,ip,nw_dst=", "ct(commit"), 4);
    assert_int_equal(fs.n_warnings, 1);
    assert_non_null(strstr(fs.warnings[0], "ClusterNetworkPolicy base"));

    /* Cookies name the policy and the rule. */
    struct np_cookie c;
    assert_true(np_cookie_decode(f->cookie, &c));
    assert_int_equal(c.kind, NPC_CNP);
    assert_false(c.ingress);
    assert_int_equal(c.rule, 0);
    assert_string_equal(fs.names[c.policy], "ClusterNetworkPolicy base");
    np_flowset_destroy(&fs);

    /* With classes: y's pods are one egress class (one register bit for
     * both rules that name namespace y), the pods labelled b one ingress
     * class; the rules match the bit, not the addresses.  A class's bit
     * comes from its key (cnp-class.c): read it from the flows. */
    opts.peer_class_min = 1;
    compile_text(text, &opts, &fs, NULL);
    f = find(&fs, NPT_ADMIN_EGRESS, "reg2=0/0x80000000,ip,nw_dst=10.244.2.11");
    unsigned int ebit;
    assert_int_equal(sscanf(f->actions, "set_field:%x->reg2", &ebit), 1);
    assert_true(ebit & 0x80000000);
    ebit &= ~0x80000000u;
    assert_int_equal(__builtin_popcount(ebit), 1);
    char buf[96];
    snprintf(buf, sizeof buf, "set_field:%#x->reg2,resubmit(,3)",
             ebit | 0x80000000u);
    for (int i = 1; i <= 2; i++) {
        char match[64];
        snprintf(match, sizeof match, "=reg2=0/0x80000000,ip,nw_dst=10.244.2.1%d",
                 i);
        assert_int_equal(count(&fs, NPT_ADMIN_EGRESS, match, buf), 1);
    }
    f = find(&fs, NPT_ADMIN_EGRESS, "reg2=0/0x80000000");
    assert_int_equal(f->priority, PRIO_TIER_CLASS_MISS);
    assert_string_equal(f->actions,
                        "set_field:0x80000000->reg2,resubmit(,3)");
    snprintf(buf, sizeof buf, "=reg2=%#x/%#x", ebit, ebit);
    assert_int_equal(count(&fs, NPT_ADMIN_EGRESS, buf, "conjunction("), 2);
    assert_int_equal(count(&fs, NPT_ADMIN_EGRESS, "=ip,nw_dst=10.244.2.11",
                           NULL), 0);
    f = find(&fs, NPT_ADMIN_INGRESS, "reg3=0/0x80000000,ip,nw_src=10.244.2.12");
    unsigned int ibit;
    assert_int_equal(sscanf(f->actions, "set_field:%x->reg3,resubmit(,7)",
                            &ibit), 1);
    ibit &= ~0x80000000u;
    assert_int_equal(__builtin_popcount(ibit), 1);
    snprintf(buf, sizeof buf, "=reg3=%#x/%#x", ibit, ibit);
    assert_int_equal(count(&fs, NPT_ADMIN_INGRESS, buf, "conjunction(3,2/3)"),
                     1);
    /* The baseline reads the registers; its own peers here are networks. */
    assert_int_equal(count(&fs, NPT_BASELINE_EGRESS, "reg2=0/", NULL), 0);
    np_flowset_destroy(&fs);
    free(text);
}

/* Two rules with the same peer share one clause flow carrying both
 * conjunction actions, not two flows that would replace each other. */

/* A tier with more rules than it has priorities: the policies that do not
 * fit (and every one after them, which would come first if placed) deny
 * every connection of their subjects at PRIO_TIER_LEFT_OUT, after every
 * rule that fits, instead of being left out, which would drop their Deny
 * rules (fail closed). */
static void
test_cnp_left_out(void **state)
{
    (void) state;
    if (getenv("NP_UNDER_VALGRIND")) {
        skip();                 /* tests/valgrind.sh: see there. */
    }
    /* 2,399 policies of 25 rules fill 59,975 of the 59,999 priorities;
     * "y-over" (25 rules) does not fit; "z-one" (1 rule) would. */
    size_t cap = PRIO_TIER_FIRST - PRIO_TIER_LAST + 1;
    size_t n_fill = cap / 25;
    assert_true(n_fill * 25 + 25 > cap && n_fill * 25 + 1 <= cap);
    char *rules = xstrdup("");
    for (int r = 0; r < 25; r++) {
        char *more = xasprintf("%s%s{\"action\":\"Accept\",\"to\":[{\"networks\":"
                               "[\"10.99.%d.0/24\"]}]}", rules, r ? "," : "",
                               r);
        free(rules);
        rules = more;
    }
    char *pols = xstrdup("");
    for (size_t i = 0; i < n_fill + 2; i++) {
        const char *name = (i < n_fill ? NULL : i == n_fill ? "y-over"
                            : "z-one");
        char buf[32];
        if (!name) {
            snprintf(buf, sizeof buf, "fill-%05zu", i);
            name = buf;
        }
        char *p = xasprintf(
            "%s%s{\"apiVersion\":\"policy.networking.k8s.io/v1alpha2\","
            "\"kind\":\"ClusterNetworkPolicy\",\"metadata\":{\"name\":"
            "\"%s\"},\"spec\":{\"tier\":\"Admin\",\"priority\":1,"
            "\"subject\":{\"namespaces\":{\"matchLabels\":{\"ns\":\"x\"}}},"
            "\"egress\":[%s]}}", pols, i ? "," : "", name,
            i == n_fill + 1 ? "{\"action\":\"Accept\",\"to\":[{\"networks\":"
                              "[\"10.98.0.0/24\"]}]}" : rules);
        free(pols);
        pols = p;
    }
    char *text = small_cluster(pols);
    struct compile_options opts;
    compile_options_init(&opts);
    opts.node = "node-1";
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    /* The last fill rule takes the last priority that is a rule's. */
    size_t last_rule = 0, left_out = 0, drops = 0;
    for (size_t i = 0; i < fs.n_flows; i++) {
        const struct np_flow *f = &fs.flows[i];
        if (f->table != NPT_ADMIN_EGRESS) {
            continue;
        }
        if (f->priority == PRIO_TIER_FIRST - n_fill * 25 + 1
            && strstr(f->match, "conj_id=")) {
            last_rule++;
        }
        if (f->priority == PRIO_TIER_LEFT_OUT) {
            left_out++;
            drops += (strstr(f->match, "ct_state=-est+trk") != NULL
                      && !strcmp(f->actions, "drop"));
        }
        /* Neither left-out policy's own rules are anywhere. */
        assert_null(strstr(f->match, "10.98.0.0"));
    }
    assert_int_equal(last_rule, 1);
    /* Two conjunctions (one per policy) of x's two pods: each a drop of
     * new connections, a cut of established ones (IPv4), and clauses. */
    assert_int_equal(drops, 2);
    assert_true(left_out >= 4);
    size_t warned = 0;
    for (size_t i = 0; i < fs.n_warnings; i++) {
        warned += (strstr(fs.warnings[i], "denies every outgoing connection "
                          "of its subject instead (fail closed)") != NULL);
    }
    assert_int_equal(warned, 2);
    np_flowset_destroy(&fs);
    free(text);
    free(pols);
    free(rules);
}

static void
test_clause_flows_merge(void **state)
{
    char *text = small_cluster(
        NP("x", "p1", "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},"
           "\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"pod\":\"b\"}}}],"
           "\"ports\":[{\"port\":80}]}]}") ","
        NP("x", "p2", "{\"podSelector\":{\"matchLabels\":{\"pod\":\"b\"}},"
           "\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"pod\":\"b\"}}}],"
           "\"ports\":[{\"port\":81}]}]}"));
    struct compile_options opts;
    compile_options_init(&opts);
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_INGRESS, "ip,nw_src=10.244.1.12", NULL), 1);
    assert_int_equal(count(&fs, NPT_INGRESS, "ip,nw_src=10.244.1.12",
                           "conjunction(1,2/3),conjunction(2,2/3)"), 1);
    assert_int_equal(count(&fs, NPT_INGRESS, "conj_id=", "set_field:"), 2);
    np_flowset_destroy(&fs);
    free(text);
}

/* With --node, only local pods are isolated and get spoof guards; remote
 * pods are still peers. */
static void
test_node_scoping(void **state)
{
    char *text = small_cluster(
        NP("y", "deny", "{\"podSelector\":{}}") ","
        NP("x", "allow-y", "{\"podSelector\":{},\"ingress\":[{\"from\":["
           "{\"namespaceSelector\":{\"matchLabels\":{\"ns\":\"y\"}}}]}]}"));
    struct compile_options opts;
    compile_options_init(&opts);
    opts.node = "node-1";
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    /* x/a and x/b are local; y's pods are on node-2. */
    assert_int_equal(count(&fs, NPT_SPOOF, "nw_src=", "goto_table"), 2);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, "nw_dst=10.244.1", "drop"), 2);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, "nw_dst=10.244.2", NULL), 0);
    assert_int_equal(count(&fs, NPT_INGRESS, "nw_src=10.244.2.11", "conjunction"), 1);
    np_flowset_destroy(&fs);

    opts.node = NULL;
    compile_text(text, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, NULL, "drop"), 4);
    np_flowset_destroy(&fs);
    free(text);
}

/* A named port resolves on each destination pod: x/a serves http on 80,
 * x/b on 8080, so the rule becomes one conjunction per number. */
static void
test_named_port_per_pod(void **state)
{
    char *text = small_cluster(
        NP("x", "web", "{\"podSelector\":{},\"ingress\":[{\"from\":["
           "{\"namespaceSelector\":{}}],\"ports\":[{\"port\":\"http\"}]}]}"));
    struct compile_options opts;
    compile_options_init(&opts);
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_INGRESS, "conj_id=", NULL), 2);
    assert_int_equal(count(&fs, NPT_INGRESS, "=tcp,tp_dst=80", "conjunction"), 1);
    assert_int_equal(count(&fs, NPT_INGRESS, "tcp,tp_dst=8080", "conjunction"), 1);
    /* x/a only in the port-80 conjunction, x/b only in the 8080 one. */
    assert_int_equal(count(&fs, NPT_INGRESS, "nw_dst=10.244.1.11", "/3)"), 1);
    assert_int_equal(count(&fs, NPT_INGRESS, "nw_dst=10.244.1.12", "/3)"), 1);
    np_flowset_destroy(&fs);
    free(text);

    /* The name with the wrong protocol resolves nowhere: no rule flows. */
    text = small_cluster(
        NP("x", "dns", "{\"podSelector\":{},\"ingress\":[{\"ports\":"
           "[{\"port\":\"dns\"}]}]}"));
    compile_text(text, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_INGRESS, "conj_id=", NULL), 0);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, NULL, "drop"), 2);
    np_flowset_destroy(&fs);
    free(text);
}

/* In egress a named port behind an ipBlock resolves on the pods whose
 * addresses are inside the block minus its excepts, by those addresses
 * only; a pod reached both as a pod peer and through the block is one
 * destination; an address of no pod is never matched. */
static void
test_named_port_behind_ipblock(void **state)
{
    /* y/c: dual-stack, http on 8080. */
    const char *yc =
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"namespace\":"
        "\"y\",\"name\":\"c\",\"labels\":{\"pod\":\"c\"}},\"spec\":{"
        "\"nodeName\":\"node-2\",\"containers\":[{\"name\":\"c\",\"ports\":"
        "[{\"name\":\"http\",\"containerPort\":8080}]}]},\"status\":{"
        "\"phase\":\"Running\",\"podIP\":\"10.244.2.13\",\"podIPs\":["
        "{\"ip\":\"10.244.2.13\"},{\"ip\":\"fd00::13\"}]}}";
    char *policies = xasprintf("%s,%s", yc,
        NP("x", "to-y-http", "{\"podSelector\":{\"matchLabels\":{\"pod\":"
           "\"a\"}},\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":"
           "\"10.244.2.0/24\",\"except\":[\"10.244.2.12/32\"]}},"
           "{\"namespaceSelector\":{\"matchLabels\":{\"ns\":\"y\"}},"
           "\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}}}],"
           "\"ports\":[{\"port\":\"http\"}]}]}"));
    char *text = small_cluster(policies);
    struct compile_options opts;
    compile_options_init(&opts);
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    /* y/a (http 80) through both peers: one flow, one conjunction. */
    const struct np_flow *f = find(&fs, NPT_EGRESS, "ip,nw_dst=10.244.2.11");
    assert_non_null(strstr(f->actions, "conjunction("));
    assert_null(strstr(strstr(f->actions, "conjunction(") + 1,
                       "conjunction("));
    /* y/b is excepted; y/c only by its IPv4 address (on 8080). */
    assert_int_equal(count(&fs, NPT_EGRESS, "nw_dst=10.244.2.12", NULL), 0);
    assert_int_equal(count(&fs, NPT_EGRESS, "=ip,nw_dst=10.244.2.13",
                           "conjunction"), 1);
    assert_int_equal(count(&fs, NPT_EGRESS, "fd00::13", NULL), 0);
    assert_int_equal(count(&fs, NPT_EGRESS, "=tcp,tp_dst=80", "conjunction"),
                     1);
    assert_int_equal(count(&fs, NPT_EGRESS, "=tcp,tp_dst=8080",
                           "conjunction"), 1);
    assert_int_equal(count(&fs, NPT_EGRESS, "conj_id=", NULL), 2);
    /* The block itself (addresses of no pod) is never matched. */
    assert_int_equal(count(&fs, NPT_EGRESS, "/", NULL), 0);
    np_flowset_destroy(&fs);
    free(text);
    free(policies);

    /* No pod inside the block: no rule flows at all, x/a still isolated. */
    text = small_cluster(
        NP("x", "to-nowhere", "{\"podSelector\":{\"matchLabels\":{\"pod\":"
           "\"a\"}},\"policyTypes\":[\"Egress\"],\"egress\":[{\"to\":[{"
           "\"ipBlock\":{\"cidr\":\"10.9.0.0/16\"}}],\"ports\":[{\"port\":"
           "\"http\"}]}]}"));
    compile_text(text, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_EGRESS, NULL, "conjunction"), 0);
    assert_int_equal(count(&fs, NPT_EGRESS, "conj_id=", NULL), 0);
    assert_int_equal(count(&fs, NPT_EGRESS_DEFAULT, "nw_src=10.244.1.11",
                           "drop"), 1);
    np_flowset_destroy(&fs);
    free(text);
}

/* A policy of x whose ingress rule 0 admits 10.0.0.0/8 except 'n' /32s
 * (2 * n + ... CIDRs) of the 'family' (4 or 6; 6: fd00::/8). */
static char *
except_policy(const char *name, int n, int family)
{
    char *excepts = xstrdup("");
    for (int i = 0; i < n; i++) {
        char e[64];
        if (family == 4) {
            snprintf(e, sizeof e, "\"10.%d.%d.%d/32\"", (i * 37) % 256,
                     (i * 101) % 256, i % 256);
        } else {
            snprintf(e, sizeof e, "\"fd00:%x:%x::%x/128\"", (i * 37) % 256,
                     (i * 101) % 256, i);
        }
        append(&excepts, e);
    }
    char *p = xasprintf(
        "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
        "\"metadata\":{\"namespace\":\"x\",\"name\":\"%s\"},\"spec\":{"
        "\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},\"ingress\":["
        "{\"ports\":[{\"port\":81}]},"
        "{\"from\":[{\"ipBlock\":{\"cidr\":\"%s\",\"except\":[%s]}}]}]}}",
        name, family == 4 ? "10.0.0.0/8" : "fd00::/8", excepts);
    free(excepts);
    return p;
}

/* A policy that needs more flows than opts->max_policy_flows gets none of
 * its rules but keeps its default deny; it is reported by name with the
 * rule and the count; other policies are not touched. */
static void
test_policy_flow_limit(void **state)
{
    for (int family = 4; family <= 6; family += 2) {
        char *big = except_policy("big", 300, family);
        char *both = xasprintf("%s,%s", big,
            NP("y", "small", "{\"podSelector\":{},\"ingress\":[{\"from\":["
               "{\"podSelector\":{}}],\"ports\":[{\"port\":80}]}]}"));
        char *text = small_cluster(both);
        struct compile_options opts;
        compile_options_init(&opts);
        assert_int_equal(opts.max_policy_flows, NP_DEFAULT_MAX_POLICY_FLOWS);
        opts.max_policy_flows = 1000;
        struct np_flowset fs;
        compile_text(text, &opts, &fs, NULL);
        assert_int_equal(fs.n_rejected, 1);
        assert_string_equal(fs.rejected[0].policy, "x/big");
        char *m = xstrdup(fs.rejected[0].message);
        assert_non_null(strstr(m, "NetworkPolicy x/big ingress rule 1 needs "));
        assert_non_null(strstr(m, "(its ipBlocks come to "));
        assert_non_null(strstr(m, "with the rules before it"));
        assert_non_null(strstr(m, "over the limit of 1000 per policy"));
        assert_true(fs.rejected[0].flows > 1000);
        /* No rule of x/big, not even rule 0; its default deny stays. */
        assert_int_equal(count(&fs, NPT_INGRESS, "tcp,tp_dst=81", NULL), 0);
        assert_int_equal(count(&fs, NPT_INGRESS, "/", NULL), 0);
        assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, "nw_dst=10.244.1.11",
                               "drop"), 1);
        /* y/small is whole. */
        assert_int_equal(count(&fs, NPT_INGRESS, "=tcp,tp_dst=80",
                               "conjunction"), 1);
        np_flowset_destroy(&fs);

        /* The same with ids kept across compiles, as the engine's: the
         * same report every time. */
        opts.ids = np_ids_create();
        opts.policy_ids = np_ids_create();
        for (int run = 0; run < 2; run++) {
            compile_text(text, &opts, &fs, NULL);
            assert_int_equal(fs.n_rejected, 1);
            assert_string_equal(fs.rejected[0].message, m);
            assert_int_equal(count(&fs, NPT_INGRESS, "tcp,tp_dst=81", NULL),
                             0);
            np_flowset_destroy(&fs);
        }
        /* Within a higher limit: every rule is there. */
        opts.max_policy_flows = 100000;
        compile_text(text, &opts, &fs, NULL);
        assert_int_equal(fs.n_rejected, 0);
        assert_int_equal(count(&fs, NPT_INGRESS, "tcp,tp_dst=81", NULL), 1);
        assert_true(count(&fs, NPT_INGRESS, "/", "conjunction") > 1000);
        np_flowset_destroy(&fs);
        np_ids_destroy(opts.ids);
        np_ids_destroy(opts.policy_ids);
        free(text);
        free(both);
        free(big);
        free(m);
    }
}

/* The count is an upper bound of the flows a policy adds: with the limit
 * at the smallest value that lets a policy through, its rule flows are no
 * more than that, for rules of every kind (numbers, ranges, named ports
 * in both directions, ipBlocks with excepts, pod peers, no peers). */
static void
test_policy_flow_count_bounds(void **state)
{
    const char *specs[] = {
        "{\"podSelector\":{},\"ingress\":[{\"from\":[{\"namespaceSelector\":"
        "{}},{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":["
        "\"10.1.0.0/16\",\"10.244.2.0/24\"]}}],\"ports\":[{\"port\":80},"
        "{\"port\":1000,\"endPort\":2000,\"protocol\":\"UDP\"},{\"port\":"
        "\"http\"},{\"port\":\"dns\",\"protocol\":\"UDP\"}]}]}",
        "{\"podSelector\":{},\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":"
        "\"10.244.0.0/16\",\"except\":[\"10.244.1.12/32\"]}},{\"podSelector\":"
        "{}}],\"ports\":[{\"port\":\"http\"},{\"port\":81}]},{\"ports\":[{"
        "\"port\":\"http\"}]},{}]}",
        "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},\"ingress\":[{}],"
        "\"egress\":[{\"to\":[{\"namespaceSelector\":{}}]}]}",
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        char *np = xasprintf("{\"apiVersion\":\"networking.k8s.io/v1\","
                             "\"kind\":\"NetworkPolicy\",\"metadata\":{"
                             "\"namespace\":\"x\",\"name\":\"p\"},\"spec\":%s}",
                             specs[i]);
        char *text = small_cluster(np);
        struct compile_options opts;
        compile_options_init(&opts);
        struct np_flowset fs;
        /* The rule flows: all of tables 3 and 5 but their misses. */
        opts.max_policy_flows = 0;
        compile_text(text, &opts, &fs, NULL);
        size_t actual = count_table(&fs, NPT_EGRESS)
                        + count_table(&fs, NPT_INGRESS) - 2;
        np_flowset_destroy(&fs);
        assert_true(actual > 0);
        size_t lo = 1, hi = 1000000;    /* Smallest limit that passes. */
        while (lo < hi) {
            opts.max_policy_flows = lo + (hi - lo) / 2;
            compile_text(text, &opts, &fs, NULL);
            if (fs.n_rejected) {
                lo = opts.max_policy_flows + 1;
            } else {
                hi = opts.max_policy_flows;
            }
            np_flowset_destroy(&fs);
        }
        print_message("policy %zu: %zu rule flows, counted %zu\n", i, actual,
                      lo);
        assert_true(actual <= lo);
        free(text);
        free(np);
    }
}

/* Conjunction ids stay with their rule when other policies come and go. */
static void
test_stable_ids(void **state)
{
    const char *p2 = NP("x", "p2", "{\"podSelector\":{},\"ingress\":[{"
                        "\"from\":[{\"podSelector\":{}}],\"ports\":[{\"port\":81}]}]}");
    const char *p1 = NP("x", "p1", "{\"podSelector\":{},\"ingress\":[{"
                        "\"from\":[{\"podSelector\":{}}],\"ports\":[{\"port\":80}]}]}");
    struct compile_options opts;
    compile_options_init(&opts);
    opts.ids = np_ids_create();
    struct np_flowset fs;
    char *text = small_cluster(p2);
    compile_text(text, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_INGRESS, "conj_id=1", NULL), 1);
    np_flowset_destroy(&fs);
    free(text);

    char *both = xasprintf("%s,%s", p1, p2);
    text = small_cluster(both);
    compile_text(text, &opts, &fs, NULL);
    /* p1 sorts first but p2 keeps id 1. */
    assert_int_equal(count(&fs, NPT_INGRESS, "tcp,tp_dst=81", "conjunction(1,3/3)"), 1);
    assert_int_equal(count(&fs, NPT_INGRESS, "=tcp,tp_dst=80", "conjunction(2,3/3)"), 1);
    np_flowset_destroy(&fs);
    free(text);
    free(both);
    np_ids_destroy(opts.ids);
}

/* ipBlock except becomes the CIDR difference; the table base and the
 * continuation are honoured everywhere; cookies carry our prefix. */
static void
test_ipblock_base_continuation(void **state)
{
    char *text = small_cluster(
        NP("x", "ipb", "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},"
           "\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":\"172.17.0.0/16\","
           "\"except\":[\"172.17.1.0/24\"]}}]}]}"));
    struct compile_options opts;
    compile_options_init(&opts);
    opts.table_base = 40;
    opts.continuation = "resubmit(,60)";
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    assert_int_equal(count(&fs, 40 + NPT_EGRESS, "nw_dst=172.17.", "conjunction"), 8);
    assert_int_equal(count(&fs, 40 + NPT_EGRESS, "nw_dst=172.17.1.", NULL), 0);
    assert_int_equal(count(&fs, 40 + NPT_CLASSIFY, "arp", "resubmit(,60)"), 1);
    assert_int_equal(count(&fs, 40 + NPT_COMMIT, "=ip", "ct(commit"), 1);
    assert_int_equal(count(&fs, 40 + NPT_COMMIT, "=ipv6", "ct(commit"), 1);
    assert_int_equal(count(&fs, -1, NULL, "NORMAL"), 0);
    for (size_t i = 0; i < fs.n_flows; i++) {
        assert_true(fs.flows[i].table >= 40
                    && fs.flows[i].table < 40 + NPT_N_TABLES);
        assert_int_equal(fs.flows[i].cookie >> 48, NP_COOKIE_PREFIX);
    }
    /* Egress-only policy without policyTypes: isolated for both. */
    assert_int_equal(count(&fs, 40 + NPT_EGRESS_DEFAULT, "nw_src=10.244.1.11", "drop"), 1);
    assert_int_equal(count(&fs, 40 + NPT_INGRESS_DEFAULT, "nw_dst=10.244.1.11", "drop"), 1);
    np_flowset_destroy(&fs);
    free(text);
}

/* Every cookie decodes (cookie.h) to what its flow is: ours, of the
 * compile's generation; rules and default deny in their tables, naming a
 * policy of the output and the direction of their table. */
static void
test_cookies_decode(void **state)
{
    char *text = small_cluster(
        NP("x", "in", "{\"podSelector\":{},\"ingress\":[{\"from\":"
           "[{\"podSelector\":{}}]},{\"ports\":[{\"port\":80}]}]}")
        ","
        NP("y", "out", "{\"podSelector\":{},\"policyTypes\":[\"Egress\"],"
           "\"egress\":[{\"ports\":[{\"port\":53,\"protocol\":"
           "\"UDP\"}]}]}"));
    struct compile_options opts;
    compile_options_init(&opts);
    opts.table_base = 20;
    opts.generation = 9;
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    free(text);
    size_t n_kind[5] = { 0 };
    for (size_t i = 0; i < fs.n_flows; i++) {
        const struct np_flow *f = &fs.flows[i];
        struct np_cookie c;
        assert_true(np_cookie_decode(f->cookie, &c));
        assert_int_equal(c.generation, 9);
        assert_true(c.kind >= NPC_INFRA && c.kind <= NPC_ISOLATION);
        n_kind[c.kind]++;
        int t = f->table - 20;
        if (c.kind == NPC_RULE || c.kind == NPC_CLAUSE) {
            assert_true(t == NPT_EGRESS || t == NPT_INGRESS);
        } else if (c.kind == NPC_ISOLATION) {
            assert_true(t == NPT_EGRESS_DEFAULT || t == NPT_INGRESS_DEFAULT);
        }
        if (c.kind == NPC_RULE || c.kind == NPC_ISOLATION) {
            assert_int_equal(c.ingress,
                             t == NPT_INGRESS || t == NPT_INGRESS_DEFAULT);
            assert_true(c.policy < fs.n_names && fs.names[c.policy]);
            assert_string_equal(fs.names[c.policy],
                                c.ingress ? "x/in" : "y/out");
            assert_true(c.rule < 2);
            assert_int_equal(f->cookie, np_cookie_encode(&c));
        }
    }
    for (int k = NPC_INFRA; k <= NPC_ISOLATION; k++) {
        assert_true(n_kind[k] > 0);
    }
    np_flowset_destroy(&fs);
}

/* The node: from its ports with its addresses, both checks are skipped;
 * to its addresses, the egress default deny is; ports bound to pods that
 * get no flows, and ports that carry no pod, drop IP before conntrack
 * (above IP, below ARP and neighbor discovery). */
static void
test_node_and_orphan_ports(void **state)
{
    char *items = xstrdup(base_cluster);
    append(&items, NP("x", "deny", "{\"podSelector\":{},\"policyTypes\":"
                      "[\"Ingress\",\"Egress\"]}"));
    char *text = wrap_list(items);
    free(items);
    struct compile_options opts;
    compile_options_init(&opts);
    opts.table_base = 10;
    struct ip_addr node[2];
    assert_true(ip_addr_parse("192.0.2.7", &node[0]));
    assert_true(ip_addr_parse("fd00::7", &node[1]));
    opts.node_addrs = node;
    opts.n_node_addrs = 2;
    const struct compile_bound_port bound[] = {
        { .ns = "x", .name = "nobody", .port = "17" },
    };
    opts.bound_ports = bound;
    opts.n_bound_ports = 1;
    const char *const unbound[] = { "veth9" };
    opts.unbound_ports = unbound;
    opts.n_unbound_ports = 1;
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    free(text);
    const struct np_flow *f;
    /* From the node: to commit; to the node: past the egress default
     * deny and the baseline tier, to the ingress checks. */
    f = find(&fs, 10 + NPT_SPOOF, "in_port=LOCAL,ip,nw_src=192.0.2.7");
    assert_string_equal(f->actions, "goto_table:21");
    f = find(&fs, 10 + NPT_SPOOF, "in_port=LOCAL,ipv6,ipv6_src=fd00::7");
    assert_string_equal(f->actions, "goto_table:21");
    f = find(&fs, 10 + NPT_EGRESS_DEFAULT, "ip,nw_dst=192.0.2.7");
    assert_string_equal(f->actions, "goto_table:17");
    assert_true(f->priority > 110);     /* Above the cut and the drop. */
    f = find(&fs, 10 + NPT_CLASSIFY, "in_port=17,ip");
    assert_string_equal(f->actions, "drop");
    assert_int_equal(f->priority, PRIO_CLASSIFY_PORT_DROP);
    assert_string_equal(f->comment, "port 17 is bound to pod x/nobody, "
                        "which has no flows (not known): no IP from it");
    f = find(&fs, 10 + NPT_CLASSIFY, "in_port=17,ipv6");
    assert_string_equal(f->actions, "drop");
    f = find(&fs, 10 + NPT_CLASSIFY, "in_port=veth9,ip");
    assert_string_equal(f->actions, "drop");
    assert_int_equal(f->priority, PRIO_CLASSIFY_NO_POD_DROP);
    assert_string_equal(f->comment, "port veth9 carries no pod and is not "
                        "an uplink or node port: no IP from it");
    f = find(&fs, 10 + NPT_CLASSIFY, "in_port=veth9,ipv6");
    assert_string_equal(f->actions, "drop");
    /* Neighbor discovery and ARP still pass: they are above. */
    f = find(&fs, 10 + NPT_CLASSIFY, "icmp6,icmp_type=135");
    assert_true(f->priority > PRIO_CLASSIFY_NO_POD_DROP);
    f = find(&fs, 10 + NPT_CLASSIFY, "arp");
    assert_true(f->priority > PRIO_CLASSIFY_NO_POD_DROP);
    assert_true(PRIO_CLASSIFY_PORT_DROP > PRIO_CLASSIFY_IP);
    /* Nothing of theirs is left in the spoof guard. */
    for (size_t i = 0; i < fs.n_flows; i++) {
        assert_false(fs.flows[i].table == 10 + NPT_SPOOF
                     && (strstr(fs.flows[i].match, "in_port=17,")
                         || strstr(fs.flows[i].match, "in_port=veth9,")));
    }
    np_flowset_destroy(&fs);
}

/* Which ports that carry no pod may send: node ports and uplinks (named,
 * or by their OVSDB type) may; anything else may not. */
static void
test_port_roles(void **state)
{
    (void) state;
    struct compile_options opts;
    compile_options_init(&opts);
    const char *const uplinks[] = { "eth1", "12" };
    opts.uplink_ports = uplinks;
    opts.n_uplink_ports = 2;
    const char *const nodes[] = { "LOCAL", "5" };
    opts.node_ports = nodes;
    opts.n_node_ports = 2;
    static const struct {
        const char *name, *ofport, *type;
        enum compile_port_role role;
    } cases[] = {
        { "veth7", "7", "", COMPILE_PORT_UNBOUND },
        { "veth7", "7", NULL, COMPILE_PORT_UNBOUND },
        { "veth7", "7", "system", COMPILE_PORT_UNBOUND },
        { "tap0", "8", "tap", COMPILE_PORT_UNBOUND },
        { "dpdk0", "9", "dpdk", COMPILE_PORT_UNBOUND },
        { "vhu0", "10", "dpdkvhostuserclient", COMPILE_PORT_UNBOUND },
        { "xdp0", "11", "afxdp", COMPILE_PORT_UNBOUND },
        { "eth1", "3", "", COMPILE_PORT_UPLINK },       /* By name. */
        { "ens4", "12", "", COMPILE_PORT_UPLINK },      /* By number. */
        { "mgmt", "5", "", COMPILE_PORT_NODE },
        { "vx0", "20", "vxlan", COMPILE_PORT_UPLINK },
        { "gnv0", "21", "geneve", COMPILE_PORT_UPLINK },
        { "gre0", "22", "gre", COMPILE_PORT_UPLINK },
        { "g6", "23", "ip6gre", COMPILE_PORT_UPLINK },
        { "er", "24", "erspan", COMPILE_PORT_UPLINK },
        { "er6", "25", "ip6erspan", COMPILE_PORT_UPLINK },
        { "stt0", "26", "stt", COMPILE_PORT_UPLINK },
        { "lisp0", "27", "lisp", COMPILE_PORT_UPLINK },
        { "bu0", "28", "bareudp", COMPILE_PORT_UPLINK },
        { "gtp0", "29", "gtpu", COMPILE_PORT_UPLINK },
        { "srv0", "30", "srv6", COMPILE_PORT_UPLINK },
        { "patch-ex", "31", "patch", COMPILE_PORT_UPLINK },
        { "ovn-k8s-mp0", "32", "internal", COMPILE_PORT_UPLINK },
        { "vxlanish", "33", "vxlan0", COMPILE_PORT_UNBOUND },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        enum compile_port_role role = compile_port_role(
            &opts, cases[i].name, cases[i].ofport, cases[i].type);
        if (role != cases[i].role) {
            fail_msg("%s (type %s): %s, expected %s", cases[i].name,
                     cases[i].type ? cases[i].type : "NULL",
                     compile_port_role_name(role),
                     compile_port_role_name(cases[i].role));
        }
    }
}

/* Connections that exist when a policy changes: their original direction
 * goes through the policies again, a default deny drops it and marks the
 * connection cut (so table 1 drops its replies too), and the commit table
 * clears the mark of one allowed again.  Zone, table base and continuation
 * are honoured; IPv4 and IPv6 alike. */
static void
test_established_connections(void **state)
{
    char *items = xstrdup(base_cluster);
    append(&items,
           "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":"
           "{\"namespace\":\"x\",\"name\":\"d\",\"labels\":{\"pod\":\"d\"}},"
           "\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":"
           "\"c\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":"
           "\"10.244.1.14\",\"podIPs\":[{\"ip\":\"10.244.1.14\"},"
           "{\"ip\":\"fd00::14\"}]}}");
    append(&items, NP("x", "deny", "{\"podSelector\":{},\"policyTypes\":"
                      "[\"Ingress\",\"Egress\"]}"));
    char *text = wrap_list(items);
    free(items);
    struct compile_options opts;
    compile_options_init(&opts);
    opts.table_base = 40;
    opts.ct_zone = 7;
    opts.continuation = "resubmit(,60)";
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    free(text);
    const char *cont = "resubmit(,60)";
    const struct np_flow *f, *g;

    /* Table 1: replies pass unless cut; the original direction of an
     * established connection goes through the policies again. */
    int t = 40 + NPT_STATE;
    f = find(&fs, t, "ct_state=-new+est+rpl+trk");
    assert_string_equal(f->actions, cont);
    g = find(&fs, t, "ct_state=-new+est+rpl+trk,ct_mark=0x1/0x1");
    assert_string_equal(g->actions, "drop");
    assert_true(g->priority > f->priority);
    f = find(&fs, t, "ct_state=-new+rel+trk");
    assert_string_equal(f->actions, cont);
    g = find(&fs, t, "ct_state=-new+rel+trk,ct_mark=0x1/0x1");
    assert_string_equal(g->actions, "drop");
    assert_true(g->priority > f->priority);
    /* SCTP shares one conntrack entry per address pair (OVS 3.1). */
    f = find(&fs, t, "ct_state=-new+est+rpl+trk,ct_mark=0x1/0x1,sctp");
    assert_string_equal(f->actions, cont);
    assert_true(f->priority > g->priority);
    f = find(&fs, t, "ct_state=-new+est+rpl+trk,ct_mark=0x1/0x1,sctp6");
    assert_string_equal(f->actions, cont);
    f = find(&fs, t, "ct_state=-new+est-rpl+trk");
    assert_string_equal(f->actions, "goto_table:42");
    assert_true(f->priority < find(&fs, t, "ct_state=-new+rel+trk")->priority);
    assert_true(f->priority > 0);
    /* Only replies and related packets skip the policies. */
    for (size_t i = 0; i < fs.n_flows; i++) {
        if (fs.flows[i].table == t && strstr(fs.flows[i].actions, cont)) {
            assert_true(strstr(fs.flows[i].match, "+rpl")
                        || strstr(fs.flows[i].match, "+rel"));
        }
    }

    /* Tables 4 and 6: per isolated address, new connections dropped, and
     * established ones dropped and marked cut, with no output. */
    const char *cut = "ct(commit,zone=7,exec(set_field:0x1/0x1->ct_mark))";
    const char *addrs[][2] = {
        { "ip,nw_src=10.244.1.14", "ip,nw_dst=10.244.1.14" },
        { "ipv6,ipv6_src=fd00::14", "ipv6,ipv6_dst=fd00::14" },
    };
    for (int a = 0; a < 2; a++) {
        for (int ingress = 0; ingress < 2; ingress++) {
            t = 40 + (ingress ? NPT_INGRESS_DEFAULT : NPT_EGRESS_DEFAULT);
            char match[128];
            snprintf(match, sizeof match, "ct_state=+est+trk,%s",
                     addrs[a][ingress]);
            f = find(&fs, t, match);
            assert_string_equal(f->actions, cut);
            g = find(&fs, t, addrs[a][ingress]);
            assert_string_equal(g->actions, "drop");
            assert_true(f->priority > g->priority);
            assert_non_null(f->comment);
            assert_non_null(strstr(f->comment, "cut"));
            assert_string_not_equal(f->comment, g->comment);
        }
    }
    /* One per address and direction, nothing more. */
    assert_int_equal(count(&fs, 40 + NPT_EGRESS_DEFAULT, NULL, cut), 2);
    assert_int_equal(count(&fs, 40 + NPT_INGRESS_DEFAULT, NULL, cut), 2);
    /* A forged packet must not cut anybody's connection. */
    assert_int_equal(count(&fs, 40 + NPT_SPOOF, NULL, "ct("), 0);

    /* Table 7: allowed again clears the mark; still allowed passes without
     * a commit; new connections are committed with their rules. */
    t = 40 + NPT_COMMIT;
    const char *uncut = "ct(commit,zone=7,exec(set_field:0/0x1->ct_mark)),"
                        "resubmit(,60)";
    f = find(&fs, t, "ct_state=-new+est+trk,ct_mark=0x1/0x1,ip");
    assert_string_equal(f->actions, uncut);
    g = find(&fs, t, "ct_state=-new+est+trk,ct_mark=0x1/0x1,ipv6");
    assert_string_equal(g->actions, uncut);
    g = find(&fs, t, "ct_state=-new+est+trk");
    assert_string_equal(g->actions, cont);
    assert_true(f->priority > g->priority);
    f = find(&fs, t, "ip");
    assert_non_null(strstr(f->actions, "ct(commit,zone=7,exec(move:"));
    assert_true(g->priority > f->priority);
    np_flowset_destroy(&fs);
}

/* 3,500 rules sharing the same source and destination pods would put
 * 3,500 conjunction actions on one flow, beyond what one OpenFlow message
 * holds: the rules are spread over priorities, each rule whole at one. */
static void
test_conjunction_limit(void **state)
{
    char *items = xstrdup(base_cluster);
    char *p = pod_json("x", "c", "\"pod\":\"c\"", "10.244.1.20", NULL, NULL);
    append(&items, p);
    free(p);
    p = pod_json("x", "s", "\"pod\":\"s\"", "10.244.1.21", NULL, NULL);
    append(&items, p);
    free(p);
    for (int i = 0; i < 3500; i++) {
        char *np = xasprintf(
            "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":"
            "\"NetworkPolicy\",\"metadata\":{\"namespace\":\"x\",\"name\":"
            "\"p%d\"},\"spec\":{\"podSelector\":{\"matchLabels\":{\"pod\":"
            "\"s\"}},\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":"
            "{\"pod\":\"c\"}}}],\"ports\":[{\"port\":%d}]}]}}", i, 1000 + i);
        append(&items, np);
        free(np);
    }
    char *text = wrap_list(items);
    free(items);
    struct compile_options opts;
    compile_options_init(&opts);
    struct np_flowset fs;
    compile_text(text, &opts, &fs, NULL);
    free(text);

    size_t max = 0;
    bool prios[256] = { false };
    for (size_t i = 0; i < fs.n_flows; i++) {
        const struct np_flow *f = &fs.flows[i];
        if (f->table != NPT_INGRESS || !f->priority) {
            continue;
        }
        prios[f->priority] = true;
        size_t n = 0;
        for (const char *a = f->actions; (a = strstr(a, "conjunction("));
             a++) {
            /* Every clause of conjunction N sits where conj_id=N does. */
            unsigned int id = strtoul(a + 12, NULL, 10);
            char want[32];
            snprintf(want, sizeof want, "=conj_id=%u", id);
            size_t found = 0;
            for (size_t j = 0; j < fs.n_flows; j++) {
                if (fs.flows[j].priority == f->priority
                    && !strcmp(fs.flows[j].match, want + 1)) {
                    found++;
                }
            }
            if (!found && n < 3) {
                fail_msg("conjunction %u at priority %u has no conj_id flow "
                         "there", id, f->priority);
            }
            n++;
            if (n > 3) {
                break;          /* Checking the first few is enough. */
            }
        }
        const char *a = f->actions;
        n = 0;
        while ((a = strstr(a, "conjunction("))) {
            n++;
            a++;
        }
        max = n > max ? n : max;
    }
    size_t n_prios = 0;
    for (int i = 0; i < 256; i++) {
        n_prios += prios[i];
    }
    assert_true(max <= 3000);
    assert_true(max >= 1000);
    assert_int_equal(n_prios, 2);
    assert_int_equal(count(&fs, NPT_INGRESS, "conj_id=", NULL), 3500);
    np_flowset_destroy(&fs);
}

/* 'text' with namespace 'ns' annotated ovs-netpol.io/audit: 'mode'. */
static char *
annotate(const char *text, const char *ns, const char *mode)
{
    char *from = xasprintf("\"name\":\"%s\",\"labels\"", ns);
    const char *at = strstr(text, from);
    assert_non_null(at);
    char *out = xasprintf("%.*s\"name\":\"%s\",\"annotations\":{"
                          "\"ovs-netpol.io/audit\":\"%s\"},\"labels\"%s",
                          (int) (at - text), text, ns, mode,
                          at + strlen(from));
    free(from);
    return out;
}

/* The audit copies (pipeline.md, "Audit"): x audits, y does not.  x/a is
 * isolated by x/in (rule 0 from y) and y/a by y/out (egress rule 0 to x).
 * With 'all' on x: x/a's drop is a metered copy and nothing else; x/in's
 * rule has commit flows that copy (ingress, reg1, priority 101), y/out's
 * has none; with 'deny' only the drop copies; with 'allow' only the
 * rule; the daemon default (--audit) covers y without an annotation; a
 * bad value is a warning naming the namespace and the field. */
static void
test_audit(void **state)
{
    char *plain = small_cluster(
        NP("x", "in", "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},"
           "\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":"
           "{\"ns\":\"y\"}}}]}]}") ","
        NP("y", "out", "{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},"
           "\"policyTypes\":[\"Egress\"],\"egress\":[{\"to\":[{"
           "\"namespaceSelector\":{\"matchLabels\":{\"ns\":\"x\"}}}]}]}"));
    const char *copy = "controller(max_len=128,id=20048,userdata=4e.50.01.";
    struct compile_options opts;
    compile_options_init(&opts);
    struct np_flowset fs;

    compile_text(plain, &opts, &fs, NULL);
    assert_int_equal(count(&fs, -1, NULL, "controller("), 0);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, "=ip,nw_dst=10.244.1.11",
                           "drop"), 1);
    np_flowset_destroy(&fs);

    char *all = annotate(plain, "x", "all");
    compile_text(all, &opts, &fs, NULL);
    /* x/a's drop: the copy only (deny, ingress), so the packet still
     * goes nowhere; the cut of established connections is unchanged. */
    char *deny_copy = xasprintf("%s00.01.00.00.00,meter_id=20048)", copy);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, "=ip,nw_dst=10.244.1.11",
                           deny_copy), 1);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, NULL, "drop"), 0);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, "ct_state=+est",
                           "set_field:0x1/0x1->ct_mark"), 1);
    /* y/a's egress drop stays a drop. */
    assert_int_equal(count(&fs, NPT_EGRESS_DEFAULT, "=ip,nw_src=10.244.2.11",
                           "drop"), 1);
    /* x/in ingress rule 0: committed, copied, handed on. */
    assert_int_equal(count(&fs, NPT_COMMIT, NULL, "controller("), 2);
    for (size_t i = 0; i < fs.n_flows; i++) {
        const struct np_flow *f = &fs.flows[i];
        if (f->table == NPT_COMMIT && strstr(f->actions, "controller(")) {
            assert_int_equal(f->priority, PRIO_COMMIT_AUDIT_INGRESS);
            assert_true(!strncmp(f->match, "reg1=0x", 7));
            assert_non_null(strstr(f->actions, "ct(commit,zone=0,exec("
                                   "move:NXM_NX_REG0[]->NXM_NX_CT_LABEL"));
            assert_non_null(strstr(f->actions, "01.01.00.00.00,meter_id="
                                   "20048),NORMAL"));
            struct np_cookie c;
            assert_true(np_cookie_decode(f->cookie, &c));
            assert_int_equal(c.kind, NPC_AUDIT);
            assert_true(c.ingress);
            assert_int_equal(c.rule, 0);
            assert_string_equal(fs.names[c.policy], "x/in");
        }
    }
    assert_int_equal(fs.n_warnings, 0);
    np_flowset_destroy(&fs);

    char *deny = annotate(plain, "x", "deny");
    compile_text(deny, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, NULL, deny_copy), 1);
    assert_int_equal(count(&fs, NPT_COMMIT, NULL, "controller("), 0);
    np_flowset_destroy(&fs);

    char *allow = annotate(plain, "x", "allow");
    compile_text(allow, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, NULL, "controller("), 0);
    assert_int_equal(count(&fs, NPT_COMMIT, "reg1=", "controller("), 2);
    np_flowset_destroy(&fs);

    /* The default covers y (no annotation), not x ('allow' wins there);
     * the meter is --audit-meter's. */
    opts.audit = NP_AUDIT_ALL;
    opts.audit_meter = 7;
    compile_text(allow, &opts, &fs, NULL);
    assert_int_equal(count(&fs, NPT_EGRESS_DEFAULT, "=ip,nw_src=10.244.2.11",
                           "00.00.00.00.00,meter_id=7)"), 1);
    assert_int_equal(count(&fs, NPT_INGRESS_DEFAULT, NULL, "controller("), 0);
    assert_int_equal(count(&fs, NPT_COMMIT, "reg0=", "meter_id=7"), 2);
    assert_int_equal(count(&fs, NPT_COMMIT, "reg1=", "meter_id=7"), 2);
    np_flowset_destroy(&fs);

    char *bad = annotate(plain, "x", "yes");
    opts.audit = NP_AUDIT_NONE;
    compile_text(bad, &opts, &fs, NULL);
    assert_int_equal(count(&fs, -1, NULL, "controller("), 0);
    assert_int_equal(fs.n_warnings, 1);
    assert_string_equal(fs.warnings[0], "Namespace x: metadata.annotations"
                        "[\"ovs-netpol.io/audit\"]: \"yes\" is not one of "
                        "none, deny, allow, all: the daemon's default "
                        "(--audit) applies");
    np_flowset_destroy(&fs);

    free(deny_copy);
    free(bad);
    free(allow);
    free(deny);
    free(all);
    free(plain);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_product_is_linear),
        cmocka_unit_test(test_clause_flows_merge),
        cmocka_unit_test(test_cnp_tiers),
        cmocka_unit_test(test_cnp_left_out),
        cmocka_unit_test(test_node_scoping),
        cmocka_unit_test(test_named_port_per_pod),
        cmocka_unit_test(test_named_port_behind_ipblock),
        cmocka_unit_test(test_policy_flow_limit),
        cmocka_unit_test(test_policy_flow_count_bounds),
        cmocka_unit_test(test_stable_ids),
        cmocka_unit_test(test_ipblock_base_continuation),
        cmocka_unit_test(test_conjunction_limit),
        cmocka_unit_test(test_established_connections),
        cmocka_unit_test(test_node_and_orphan_ports),
        cmocka_unit_test(test_port_roles),
        cmocka_unit_test(test_cookies_decode),
        cmocka_unit_test(test_audit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
