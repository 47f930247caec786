/* Unit tests of rule-stats.c: counters that add what the switch's flow
 * counters grew by, that never go backwards when flows are replaced, and
 * what 'stats' and /metrics make of them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "cookie.h"
#include "np-util.h"
#include "rule-stats.h"

/* The test's cluster: policy number 1 is x/allow-x, the pod 10.9.1.1 is
 * x/a; 'gone' removes both.  Policy number 2 is the ClusterNetworkPolicy
 * guard-x (Admin tier), whose rules do 'action' and are named 'name';
 * number 3 is closed (Baseline tier), whose rules fail closed;
 * 'cnp_gone' removes both. */
struct world {
    bool gone;
    bool cnp_gone;
    enum rule_stats_action action;
    const char *name;
};

static bool
resolve(void *w_, const struct rule_stats_flow *f, struct rule_stats_key *k)
{
    struct world *w = w_;
    struct np_cookie c;
    if (!np_cookie_decode(f->cookie, &c)) {
        return false;
    }
    if (c.kind == NPC_CNP && !w->cnp_gone && (c.policy == 2 || c.policy == 3)) {
        bool guard = c.policy == 2;
        *k = (struct rule_stats_key) {
            .kind = RULE_STATS_CNP,
            .object = xstrdup(guard ? "guard-x" : "closed"),
            .ingress = c.ingress, .rule = c.rule, .baseline = !guard,
            .action = guard ? w->action : RULE_STATS_FAIL_CLOSED,
            .name = guard && w->name ? xstrdup(w->name) : NULL,
        };
        return true;
    }
    if (w->gone) {
        return false;
    }
    if (c.kind == NPC_RULE && c.policy == 1) {
        *k = (struct rule_stats_key) {
            .kind = RULE_STATS_RULE, .object = xstrdup("x/allow-x"),
            .ingress = c.ingress, .rule = c.rule,
        };
        return true;
    }
    struct ip_addr a, a1;
    assert_true(ip_addr_parse("10.9.1.1", &a1));
    if (c.kind == NPC_ISOLATION
        && rule_stats_match_address(f->match, c.ingress, &a)
        && !ip_addr_cmp(&a, &a1)) {
        *k = (struct rule_stats_key) {
            .kind = RULE_STATS_DENY, .object = xstrdup("x/a"),
            .ingress = c.ingress,
        };
        return true;
    }
    return false;
}

static bool
keep(void *w_, const struct rule_stats_key *k)
{
    struct world *w = w_;
    if (k->kind == RULE_STATS_CNP) {
        return (!w->cnp_gone
                && (k->baseline || k->action == w->action));
    }
    return !w->gone;
}

static uint64_t
cookie_of(uint8_t gen, int kind, uint32_t policy, bool ingress,
          unsigned rule)
{
    struct np_cookie c = { .generation = gen, .kind = kind,
                           .policy = policy, .ingress = ingress,
                           .rule = rule };
    return np_cookie_encode(&c);
}

static uint64_t
cookie(uint8_t gen, int kind, bool ingress, unsigned rule)
{
    return cookie_of(gen, kind, 1, ingress, rule);
}

/* The counter of 'kind' 'object' 'ingress' 'rule', or -1 if none. */
static long long
get(const struct rule_stats *rs, enum rule_stats_kind kind, bool ingress,
    unsigned rule, bool bytes)
{
    size_t n;
    const struct rule_stats_entry *e = rule_stats_entries(rs, &n);
    for (size_t i = 0; i < n; i++) {
        if (e[i].key.kind == kind && e[i].key.ingress == ingress
            && e[i].key.rule == rule) {
            return bytes ? e[i].bytes : e[i].packets;
        }
    }
    return -1;
}

static void
test_deltas(void **state)
{
    (void) state;
    struct world w = { false };
    struct rule_stats *rs = rule_stats_create();
    /* Two flows of one ingress rule (IPv4 and IPv6 conj_id flows) and the
     * ingress default deny of x/a, generation 1. */
    struct rule_stats_flow f[] = {
        { 5, 200, cookie(1, NPC_RULE, true, 0), "conj_id=7,ip", 10, 1000 },
        { 5, 200, cookie(1, NPC_RULE, true, 0), "conj_id=7,ipv6", 1, 100 },
        { 6, 100, cookie(1, NPC_ISOLATION, true, 0), "ip,nw_dst=10.9.1.1",
          3, 180 },
        { 6, 110, cookie(1, NPC_ISOLATION, true, 0),
          "ct_state=+est+trk,ip,nw_dst=10.9.1.1", 2, 120 },
        /* Egress isolation of another pod: counts for nothing here. */
        { 4, 100, cookie(1, NPC_ISOLATION, false, 0), "ip,nw_src=10.9.1.2",
          50, 5000 },
        /* A clause flow: not a rule's decision. */
        { 5, 200, cookie(1, NPC_CLAUSE, true, 0), "ip,nw_src=10.9.1.3",
          99, 9900 },
    };
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    size_t n;
    rule_stats_entries(rs, &n);
    assert_int_equal(n, 2);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, false), 11);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, true), 1100);
    assert_int_equal(get(rs, RULE_STATS_DENY, true, 0, false), 5);
    assert_int_equal(get(rs, RULE_STATS_DENY, true, 0, true), 300);
    assert_int_equal(get(rs, RULE_STATS_DENY, false, 0, false), -1);

    /* Growth adds the difference. */
    f[0].n_packets = 15, f[0].n_bytes = 1500;
    f[2].n_packets = 4, f[2].n_bytes = 240;
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, false), 16);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, true), 1600);
    assert_int_equal(get(rs, RULE_STATS_DENY, true, 0, false), 6);

    /* No change: nothing added. */
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, false), 16);

    /* A full replace: generation 2, every counter back near 0.  The
     * totals go on from where they were. */
    for (int i = 0; i < 6; i++) {
        f[i].cookie = np_cookie_set_generation(f[i].cookie, 2);
        f[i].n_packets = 0;
        f[i].n_bytes = 0;
    }
    f[0].n_packets = 2, f[0].n_bytes = 200;
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, false), 18);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, true), 1800);
    assert_int_equal(get(rs, RULE_STATS_DENY, true, 0, false), 6);

    /* The switch restarted and holds no flow yet: the keys stay. */
    rule_stats_update(rs, NULL, 0, resolve, keep, &w);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, false), 18);
    assert_int_equal(get(rs, RULE_STATS_DENY, true, 0, false), 6);

    /* The flows come back at counts above what was last read: a flow gone
     * from a read is new when it comes back, so all of it counts. */
    f[0].n_packets = 5, f[0].n_bytes = 500;
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, false), 23);

    /* The objects are gone: so are their counters. */
    w.gone = true;
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    rule_stats_entries(rs, &n);
    assert_int_equal(n, 0);
    assert_int_equal(rule_stats_n_updates(rs), 7);
    rule_stats_destroy(rs);
    rule_stats_destroy(NULL);
}

static void
test_match_address(void **state)
{
    (void) state;
    struct ip_addr a, want;
    assert_true(rule_stats_match_address("ip,nw_dst=10.9.1.1", true, &a));
    assert_true(ip_addr_parse("10.9.1.1", &want));
    assert_int_equal(ip_addr_cmp(&a, &want), 0);
    assert_false(rule_stats_match_address("ip,nw_dst=10.9.1.1", false, &a));
    assert_true(rule_stats_match_address(
                    "ct_state=+est+trk,ipv6,ipv6_src=fd00::5", false, &a));
    assert_true(ip_addr_parse("fd00::5", &want));
    assert_int_equal(ip_addr_cmp(&a, &want), 0);
    assert_false(rule_stats_match_address("ipv6,tun_ipv6_src=fd00::5",
                                          false, &a));
    assert_false(rule_stats_match_address("ip,nw_src=10.9.0.0/16", true,
                                          &a));
    assert_false(rule_stats_match_address("", true, &a));
}

static void
test_output(void **state)
{
    (void) state;
    struct world w = { false };
    struct rule_stats *rs = rule_stats_create();
    struct rule_stats_flow f[] = {
        { 3, 200, cookie(1, NPC_RULE, false, 1), "conj_id=3,ip", 4, 400 },
        { 5, 200, cookie(1, NPC_RULE, true, 0), "conj_id=7,ip", 10, 1000 },
        { 6, 100, cookie(1, NPC_ISOLATION, true, 0), "ip,nw_dst=10.9.1.1",
          3, 180 },
    };
    rule_stats_update(rs, f, 3, resolve, keep, &w);

    struct rule_stats_filter all = { NULL, NULL, NULL };
    char *s = rule_stats_format(rs, &all, false, 0.25, NULL);
    assert_non_null(strstr(s, "read from the switch 0.2 s ago")
                    ? s : strstr(s, "read from the switch 0.3 s ago"));
    /* Egress before ingress. */
    char *eg = strstr(s, "x/allow-x  egress        1");
    char *in = strstr(s, "x/allow-x  ingress       0");
    assert_non_null(eg);
    assert_non_null(in);
    assert_true(eg < in);
    assert_non_null(strstr(s, "x/a  ingress"));
    free(s);

    struct rule_stats_filter pod = { NULL, "x/a", NULL };
    s = rule_stats_format(rs, &pod, false, 0, "the switch is away");
    assert_null(strstr(s, "allow-x"));
    assert_non_null(strstr(s, "x/a  ingress"));
    assert_non_null(strstr(s, "note: the switch is away"));
    free(s);

    struct rule_stats_filter pol = { "x/allow-x", NULL, NULL };
    s = rule_stats_format(rs, &pol, true, 1, NULL);
    assert_non_null(strstr(s, "\"policy\": \"allow-x\""));
    assert_non_null(strstr(s, "\"namespace\": \"x\""));
    assert_non_null(strstr(s, "\"packets\": 10"));
    assert_null(strstr(s, "\"pod\""));
    free(s);

    struct rule_stats_filter other = { "y/none", NULL, NULL };
    s = rule_stats_format(rs, &other, false, 0, NULL);
    assert_non_null(strstr(s, "none: no rule flows of this policy"));
    assert_null(strstr(s, "default deny"));
    free(s);

    /* No counter: no family. */
    struct strbuf b;
    strbuf_init(&b);
    struct rule_stats *empty = rule_stats_create();
    rule_stats_metrics(empty, &b);
    assert_int_equal(b.len, 0);
    rule_stats_destroy(empty);

    rule_stats_metrics(rs, &b);
    assert_non_null(strstr(b.s, "# TYPE ovs_netpol_rule_packets_total "
                           "counter\n"));
    assert_non_null(strstr(b.s, "ovs_netpol_rule_packets_total{namespace="
                           "\"x\",policy=\"allow-x\",direction=\"ingress\","
                           "rule=\"0\"} 10\n"));
    assert_non_null(strstr(b.s, "ovs_netpol_rule_bytes_total{namespace="
                           "\"x\",policy=\"allow-x\",direction=\"egress\","
                           "rule=\"1\"} 400\n"));
    assert_non_null(strstr(b.s, "ovs_netpol_denied_packets_total{namespace="
                           "\"x\",pod=\"a\",direction=\"ingress\"} 3\n"));
    assert_non_null(strstr(b.s, "ovs_netpol_denied_bytes_total{namespace="
                           "\"x\",pod=\"a\",direction=\"ingress\"} 180\n"));
    strbuf_destroy(&b);
    rule_stats_destroy(rs);
}

/* The counter of ClusterNetworkPolicy 'object' 'ingress' 'rule', or -1. */
static long long
get_cnp(const struct rule_stats *rs, const char *object, bool ingress,
        unsigned rule, const char **name, enum rule_stats_action *action)
{
    size_t n;
    const struct rule_stats_entry *e = rule_stats_entries(rs, &n);
    for (size_t i = 0; i < n; i++) {
        if (e[i].key.kind == RULE_STATS_CNP
            && !strcmp(e[i].key.object, object)
            && e[i].key.ingress == ingress && e[i].key.rule == rule) {
            if (name) {
                *name = e[i].key.name;
            }
            if (action) {
                *action = e[i].key.action;
            }
            return e[i].packets;
        }
    }
    return -1;
}

static void
test_cnp(void **state)
{
    (void) state;
    struct world w = { .action = RULE_STATS_DROP, .name = "no-y" };
    struct rule_stats *rs = rule_stats_create();
    /* guard-x ingress rule 1 (Deny): the drop of new connections and the
     * cuts of established ones, IPv4 and IPv6; closed's egress rule 0,
     * failing closed: plain flows on the subject's address; a clause flow
     * of the tier table (kind 2), which counts for nothing; x/allow-x's
     * rule, which goes on being counted apart. */
    struct rule_stats_flow f[] = {
        { 7, 59999, cookie_of(1, NPC_CNP, 2, true, 1),
          "ct_state=-est+trk,conj_id=5", 7, 420 },
        { 7, 59999, cookie_of(1, NPC_CNP, 2, true, 1),
          "ct_state=+est+trk,ip,conj_id=5", 2, 104 },
        { 7, 59999, cookie_of(1, NPC_CNP, 2, true, 1),
          "ct_state=+est+trk,ipv6,conj_id=5", 1, 72 },
        { 6, 60000, cookie_of(1, NPC_CNP, 3, false, 0),
          "ct_state=-est+trk,ip,nw_src=10.9.1.2", 3, 180 },
        { 7, 59999, cookie_of(1, NPC_CLAUSE, 0, false, 0),
          "ip,nw_src=10.9.2.1", 40, 4000 },
        { 8, 200, cookie(1, NPC_RULE, true, 0), "conj_id=7,ip", 10, 1000 },
    };
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    size_t n;
    rule_stats_entries(rs, &n);
    assert_int_equal(n, 3);
    const char *name;
    enum rule_stats_action action;
    assert_int_equal(get_cnp(rs, "guard-x", true, 1, &name, &action), 10);
    assert_string_equal(name, "no-y");
    assert_int_equal(action, RULE_STATS_DROP);
    assert_int_equal(get_cnp(rs, "closed", false, 0, &name, &action), 3);
    assert_null(name);
    assert_int_equal(action, RULE_STATS_FAIL_CLOSED);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, false), 10);

    /* Sorted: NetworkPolicy rules, then Admin before Baseline. */
    const struct rule_stats_entry *e = rule_stats_entries(rs, &n);
    assert_int_equal(e[0].key.kind, RULE_STATS_RULE);
    assert_string_equal(e[1].key.object, "guard-x");
    assert_string_equal(e[2].key.object, "closed");

    /* A full replace (generation 2, counters from 0), and the rule
     * renamed: the counter goes on, under the new name. */
    for (int i = 0; i < 6; i++) {
        f[i].cookie = np_cookie_set_generation(f[i].cookie, 2);
        f[i].n_packets = f[i].n_bytes = 0;
    }
    f[0].n_packets = 4, f[0].n_bytes = 240;
    w.name = "deny-y";
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    assert_int_equal(get_cnp(rs, "guard-x", true, 1, &name, NULL), 14);
    assert_string_equal(name, "deny-y");
    /* The name taken away. */
    w.name = NULL;
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    assert_int_equal(get_cnp(rs, "guard-x", true, 1, &name, NULL), 14);
    assert_null(name);
    w.name = "deny-y";
    rule_stats_update(rs, f, 6, resolve, keep, &w);

    /* Output: a section of its own, each rule with its tier, action and
     * name; a fail-closed rule says so. */
    struct rule_stats_filter all = { NULL, NULL, NULL };
    char *s = rule_stats_format(rs, &all, false, 0, NULL);
    assert_non_null(strstr(s, "\nClusterNetworkPolicy rules (packets each "
                           "rule matched"));
    assert_non_null(strstr(s, "  POLICY   TIER     DIRECTION  RULE  ACTION"
                           "                     PACKETS            BYTES"
                           "  NAME\n"));
    assert_non_null(strstr(s, "  guard-x  Admin    ingress       1  Deny"
                           "                            14              836"
                           "  \"deny-y\"\n"));
    assert_non_null(strstr(s, "  closed   Baseline egress        0  Deny "
                           "(fails closed)              3              180"
                           "\n"));
    assert_non_null(strstr(s, "x/allow-x  ingress"));
    free(s);

    /* --policy ClusterNetworkPolicy/guard-x: that policy's rules only. */
    struct rule_stats_filter one = { NULL, NULL, "guard-x" };
    s = rule_stats_format(rs, &one, false, 0, NULL);
    assert_non_null(strstr(s, "guard-x"));
    assert_null(strstr(s, "closed"));
    assert_null(strstr(s, "allow-x"));
    assert_null(strstr(s, "default deny"));
    free(s);
    struct rule_stats_filter none = { NULL, NULL, "other" };
    s = rule_stats_format(rs, &none, false, 0, NULL);
    assert_non_null(strstr(s, "none: no rule flows of this "
                           "ClusterNetworkPolicy"));
    free(s);
    /* --pod and a NetworkPolicy's --policy leave them out. */
    struct rule_stats_filter pod = { NULL, "x/a", NULL };
    s = rule_stats_format(rs, &pod, false, 0, NULL);
    assert_null(strstr(s, "ClusterNetworkPolicy"));
    free(s);
    struct rule_stats_filter pol = { "x/allow-x", NULL, NULL };
    s = rule_stats_format(rs, &pol, true, 0, NULL);
    assert_non_null(strstr(s, "\"cnp_rules\": []"));
    free(s);

    s = rule_stats_format(rs, &one, true, 0, NULL);
    assert_non_null(strstr(s, "\"cnp_rules\": [\n    {\n"
                           "      \"policy\": \"guard-x\",\n"
                           "      \"tier\": \"Admin\",\n"
                           "      \"direction\": \"ingress\",\n"
                           "      \"rule\": 1,\n"
                           "      \"name\": \"deny-y\",\n"
                           "      \"action\": \"Deny\",\n"
                           "      \"fail_closed\": false,\n"
                           "      \"packets\": 14,\n"
                           "      \"bytes\": 836\n"));
    free(s);

    struct strbuf b;
    strbuf_init(&b);
    rule_stats_metrics(rs, &b);
    assert_non_null(strstr(b.s, "# TYPE ovs_netpol_cnp_rule_packets_total "
                           "counter\n"));
    assert_non_null(strstr(b.s, "# HELP ovs_netpol_cnp_rule_bytes_total "));
    assert_non_null(strstr(b.s, "ovs_netpol_cnp_rule_packets_total{policy="
                           "\"guard-x\",tier=\"Admin\",direction=\"ingress\","
                           "rule=\"1\",action=\"Deny\",fail_closed=\"false\"}"
                           " 14\n"));
    assert_non_null(strstr(b.s, "ovs_netpol_cnp_rule_bytes_total{policy="
                           "\"closed\",tier=\"Baseline\",direction=\"egress\","
                           "rule=\"0\",action=\"Deny\",fail_closed=\"true\"}"
                           " 180\n"));
    /* The other families stay as they were. */
    assert_non_null(strstr(b.s, "ovs_netpol_rule_packets_total{namespace="
                           "\"x\",policy=\"allow-x\",direction=\"ingress\","
                           "rule=\"0\"} 10\n"));
    strbuf_destroy(&b);

    /* The rule's action changed (Deny to Accept): the Deny counter goes,
     * the Accept one starts from what its flows count after. */
    w.action = RULE_STATS_ACCEPT;
    f[0].n_packets = 6, f[0].n_bytes = 360;
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    assert_int_equal(get_cnp(rs, "guard-x", true, 1, NULL, &action), 2);
    assert_int_equal(action, RULE_STATS_ACCEPT);
    rule_stats_entries(rs, &n);
    assert_int_equal(n, 3);

    /* The policies gone: so are their counters, not x/allow-x's. */
    w.cnp_gone = true;
    rule_stats_update(rs, f, 6, resolve, keep, &w);
    rule_stats_entries(rs, &n);
    assert_int_equal(n, 1);
    assert_int_equal(get_cnp(rs, "guard-x", true, 1, NULL, NULL), -1);
    assert_int_equal(get(rs, RULE_STATS_RULE, true, 0, false), 10);
    rule_stats_destroy(rs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deltas),
        cmocka_unit_test(test_match_address),
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_cnp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
