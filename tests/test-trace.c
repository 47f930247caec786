/* Unit tests of src/trace.c: cookies, ofproto/trace parsing (on outputs
 * captured from a real sandbox switch, tests/data/trace/), verdicts and
 * the report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "cookie.h"
#include "np-util.h"
#include "objects.h"
#include "pipeline.h"
#include "trace.h"

/* The captures: the bed of tests/daemon (x/a 10.9.1.1 port 1, x/b
 * 10.9.1.2 port 2, y/a 10.9.2.1 port 3, z/a 10.9.3.1 port 4), flows of
 * 'ovs-netpol compile --node node-1 --ports PORTS' with x/allow-x (policy
 * 0: namespace x to x/a:80) and, in the "--generation 3" captures, also
 * z/egress-z (policy 1: z's pods may reach 10.9.1.0/24:80 only); in the
 * "--generation 5" captures (cnp-*.txt) x/allow-x and the
 * ClusterNetworkPolicies of capture.py's CNPS:
 *
 *   1 quiet-y           Baseline 10, subject namespace y, ingress rule 0
 *                       "deny-all": Deny from every namespace
 *   2 tenant-isolation  Admin 10, subject namespace z, egress rule 0
 *                       "accept-x-web": Accept to namespace x TCP 80,
 *                       rule 1 "deny-other-tenants": Deny to namespace y
 *   3 no-names          Baseline 20, subject x/a, egress rule 0
 *                       "deny-example": Deny to a domain name (fails
 *                       closed: every connection)
 *   4 web-from-z        Admin 20, subject x's app=a pods, ingress rule 0
 *                       "z-to-web": Accept from namespace z to the named
 *                       port "http" (80), rule 1 "y-to-netpol": Pass from
 *                       namespace y
 */
static char *
read_capture(const char *name)
{
    const char *srcdir = getenv("srcdir");
    char *path = xasprintf("%s/tests/data/trace/%s", srcdir ? srcdir : ".",
                           name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fail_msg("%s: cannot open", path);
    }
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    int c;
    while ((c = getc(f)) != EOF) {
        putc(c, out);
    }
    fclose(out);
    fclose(f);
    free(path);
    return buf;
}

static const char *
names(void *aux, uint32_t pno)
{
    static const char *const n[] = { "x/allow-x", "z/egress-z" };
    return pno < 2 ? n[pno] : NULL;
}

/* The flow set's names of generation 5 (compile.h), and the rules' names
 * that only the objects hold (the daemon looks them up). */
static const char *
names5(void *aux, uint32_t pno)
{
    static const char *const n[] = {
        "x/allow-x", "ClusterNetworkPolicy quiet-y",
        "ClusterNetworkPolicy tenant-isolation",
        "ClusterNetworkPolicy no-names", "ClusterNetworkPolicy web-from-z",
    };
    return pno < ARRAY_SIZE(n) ? n[pno] : NULL;
}

static const char *
rules5(void *aux, uint32_t pno, bool ingress, unsigned int rule)
{
    static const char *const egress[5][2] = {
        [2] = { "accept-x-web", "deny-other-tenants" },
        [3] = { "deny-example", NULL },
    };
    static const char *const ingress_[5][2] = {
        [1] = { "deny-all", NULL }, [4] = { "z-to-web", "y-to-netpol" },
    };
    return (pno < 5 && rule < 2 ? (ingress ? ingress_ : egress)[pno][rule]
            : NULL);
}

static void
assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle)) {
        fail_msg("%s\n---- lacks ----\n%s", haystack, needle);
    }
}

/* ---- Cookies. ---- */

/* cookie.h, which explain and trace read cookies with. */
static void
test_cookie_decode(void **state)
{
    struct np_cookie c;
    assert_true(np_cookie_decode(UINT64_C(0x4e50000300001800), &c));
    assert_int_equal(c.generation, 0);
    assert_int_equal(c.kind, 3);
    assert_int_equal(c.policy, 1);
    assert_true(c.ingress);
    assert_int_equal(c.rule, 0);
    assert_int_equal(np_cookie_slot(&c), 0x800);
    assert_true(np_cookie_encode(&c) == UINT64_C(0x4e50000300001800));

    assert_true(np_cookie_decode(UINT64_C(0x4e50ff04fffff7ff), &c));
    assert_int_equal(c.generation, 255);
    assert_int_equal(c.kind, 4);
    assert_int_equal(c.policy, 0xfffff);
    assert_false(c.ingress);
    assert_int_equal(c.rule, 0x7ff);
    assert_true(np_cookie_encode(&c) == UINT64_C(0x4e50ff04fffff7ff));

    assert_false(np_cookie_decode(UINT64_C(0x1234), &c));
    assert_false(np_cookie_decode(UINT64_C(0x4e51000300001800), &c));

    /* Fields wider than their bits are cut, not spilled into others. */
    c = (struct np_cookie) { .generation = 7, .kind = NPC_RULE,
                             .policy = 0x123456, .ingress = true,
                             .rule = 0x1801 };
    assert_true(np_cookie_encode(&c) == UINT64_C(0x4e50070323456801));
}

static void
test_cookie_generation(void **state)
{
    uint64_t compiled = UINT64_C(0x4e50000300001800);
    uint64_t installed = np_cookie_set_generation(compiled, 9);
    assert_true(installed == UINT64_C(0x4e50090300001800));
    assert_int_equal(np_cookie_generation(installed), 9);
    assert_true(np_cookie_set_generation(installed, 0) == compiled);
    /* Generation 9 under the mask, nothing else. */
    assert_true((installed & NP_COOKIE_MASK_GEN) == NP_COOKIE_OURS_GEN(9));
    assert_true((compiled & NP_COOKIE_MASK_GEN) != NP_COOKIE_OURS_GEN(9));
    assert_true((installed & NP_COOKIE_MASK_OURS) == NP_COOKIE_OURS);
    assert_true(NP_COOKIE_OURS_GEN(255) == UINT64_C(0x4e50ff0000000000));
}

static void
test_cookie_parse(void **state)
{
    uint64_t v;
    char *e;
    assert_null(e = trace_cookie_parse("0x4e50000300001800", &v));
    assert_true(v == UINT64_C(0x4e50000300001800));
    assert_null(e = trace_cookie_parse(" 4E50000300001800 \n", &v));
    assert_true(v == UINT64_C(0x4e50000300001800));
    assert_null(e = trace_cookie_parse(
        " cookie=0x4e50030300001000, duration=1.2s, table=3, n_packets=0, "
        "n_bytes=0, idle_age=1, priority=200,conj_id=2 "
        "actions=set_field:0x2->reg0,goto_table:5", &v));
    assert_true(v == UINT64_C(0x4e50030300001000));
    assert_null(e = trace_cookie_parse(
        " 6. ip,nw_dst=10.9.1.1, priority 100, cookie 0x4e50000400000800", &v));
    assert_true(v == UINT64_C(0x4e50000400000800));

    const char *bad[] = { "", "zzz", "0x", "0x4e50 extra",
                          "0x14e50000300001800", "cookie=xyz" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        e = trace_cookie_parse(bad[i], &v);
        if (!e) {
            fail_msg("\"%s\" accepted", bad[i]);
        }
        free(e);
    }
}

static void
test_cookie_describe(void **state)
{
    char *s = trace_cookie_describe(UINT64_C(0x4e50000300000800), names, NULL, NULL);
    assert_string_equal(s, "NetworkPolicy x/allow-x, ingress rule 0");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50030300001003), names, NULL, NULL);
    assert_string_equal(s, "NetworkPolicy z/egress-z, egress rule 3");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50000400000800), names, NULL, NULL);
    assert_contains(s, "default deny for ingress");
    assert_contains(s, "NetworkPolicy x/allow-x isolates for ingress");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50000300009800), names, NULL, NULL);
    assert_contains(s, "NetworkPolicy #9 (a policy number the daemon does "
                    "not know now");
    free(s);
    /* ClusterNetworkPolicy: the flow set's name, the rule's name if the
     * caller knows it. */
    s = trace_cookie_describe(UINT64_C(0x4e50000600002001), names5, rules5,
                              NULL);
    assert_string_equal(s, "ClusterNetworkPolicy tenant-isolation, egress "
                        "rule 1 (\"deny-other-tenants\")");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50000600004800), names5, NULL,
                              NULL);
    assert_string_equal(s, "ClusterNetworkPolicy web-from-z, ingress rule 0");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50000600000001), names, NULL,
                              NULL);      /* A bare name is the CNP's. */
    assert_string_equal(s, "ClusterNetworkPolicy x/allow-x, egress rule 1");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50000600009000), names5, rules5,
                              NULL);
    assert_string_equal(s, "ClusterNetworkPolicy #9 (a policy number the "
                        "daemon does not know now: deleted since?), egress "
                        "rule 0");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50000100000000), names, NULL, NULL);
    assert_contains(s, "infrastructure");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50000200000000), names, NULL, NULL);
    assert_contains(s, "conjunction clause");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x4e50000900000000), names, NULL, NULL);
    assert_contains(s, "unknown kind 9");
    free(s);
    s = trace_cookie_describe(UINT64_C(0x1234), names, NULL, NULL);
    assert_contains(s, "cookie 0x1234 is not an ovs-netpol cookie");
    free(s);
}

/* ---- Parsing. ---- */

static void
test_parse_allowed(void **state)
{
    char *text = read_capture("allowed-ingress-rule.txt");
    struct trace_result r;
    assert_null(trace_parse(text, &r));
    assert_int_equal(r.n_sections, 2);

    const struct trace_section *s0 = &r.sections[0];
    assert_int_equal(s0->n_hits, 1);
    assert_int_equal(s0->hits[0].table, 0);
    assert_string_equal(s0->hits[0].match, "ip");
    assert_int_equal(s0->hits[0].priority, 90);
    assert_true(s0->hits[0].cookie == UINT64_C(0x4e50000100000000));
    assert_string_equal(s0->hits[0].actions, "ct(table=1)");
    assert_string_equal(s0->datapath_actions, "ct,recirc(0x1)");

    const struct trace_section *s1 = &r.sections[1];
    static const unsigned int tables[] = { 1, 2, 3, 4, 5, 6, 7, 8, 11 };
    assert_int_equal(s1->n_hits, ARRAY_SIZE(tables));
    for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
        assert_int_equal(s1->hits[i].table, tables[i]);
        assert_int_equal(s1->hits[i].depth, 0);
        assert_false(s1->hits[i].no_match);
    }
    assert_string_equal(s1->hits[0].match, "");
    assert_int_equal(s1->hits[0].priority, 0);
    assert_string_equal(s1->hits[1].match, "ip,in_port=2,nw_src=10.9.1.2");
    assert_int_equal(s1->hits[1].priority, 200);
    assert_string_equal(s1->hits[7].match, "conj_id=1");
    assert_true(s1->hits[7].cookie == UINT64_C(0x4e50000300000800));
    assert_string_equal(s1->hits[7].actions, "set_field:0x1->reg1");
    /* NORMAL floods: the port order is the datapath's, which differs
     * from one capture (tests/data/trace/capture.py) to the next. */
    static const char commit[] = "ct(commit,label=0x1/0xffffffffffffffff),";
    assert_true(!strncmp(s1->datapath_actions, commit, strlen(commit)));
    assert_int_equal(trace_verdict_of(&r), TRACE_ALLOWED);
    trace_result_destroy(&r);
    free(text);
}

static void
test_parse_no_match(void **state)
{
    /* Someone else's table-0 flow, nothing in table 1. */
    char *text = read_capture("foreign-no-match.txt");
    struct trace_result r;
    assert_null(trace_parse(text, &r));
    assert_int_equal(r.n_sections, 2);
    assert_true(r.sections[0].hits[0].cookie == 0x1234);
    assert_int_equal(r.sections[0].hits[0].priority, 5);
    assert_int_equal(r.sections[1].n_hits, 1);
    assert_true(r.sections[1].hits[0].no_match);
    assert_int_equal(r.sections[1].hits[0].table, 1);
    assert_int_equal(trace_verdict_of(&r), TRACE_DENIED);

    struct trace_context ctx = { .policy_name = names, .src = "x/b",
                                 .dst = "x/a" };
    char *rep = trace_report(&r, &ctx, "test", NULL);
    assert_contains(rep, "DENIED: test\n");
    assert_contains(rep, "table 0: someone else's flow (cookie 0x1234), ip, "
                    "priority 5 -> ct(table=1)");
    assert_contains(rep, "table 1: no flow matches -> drop (table miss)");
    assert_contains(rep, "egress:  not reached");
    free(rep);
    trace_result_destroy(&r);
    free(text);
}

static void
test_parse_errors(void **state)
{
    struct trace_result r;
    char *e = trace_parse("", &r);
    assert_non_null(e);
    free(e);
    trace_result_destroy(&r);
    e = trace_parse("Bad openflow flow syntax: udp,tp_dst=53: prerequisites "
                    "not met for setting tp_dst\n", &r);
    assert_non_null(e);
    assert_contains(e, "Datapath actions");
    free(e);
    trace_result_destroy(&r);
    e = trace_parse(" 3. ip, priority banana\nDatapath actions: drop\n", &r);
    assert_non_null(e);
    assert_contains(e, "cannot read the table line");
    free(e);
    trace_result_destroy(&r);
}

/* Nested resubmits, two-digit tables (--table-base 40), a table miss
 * without cookie. */
static void
test_parse_nested(void **state)
{
    static const char text[] =
        "Flow: tcp,in_port=1,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=80\n"
        "\n"
        "bridge(\"br-int\")\n"
        "----------------\n"
        " 0. priority 0\n"
        "    resubmit(,40)\n"
        "    40. ip, priority 90, cookie 0x4e50000100000000\n"
        "            ct(table=41)\n"
        "            drop\n"
        "\n"
        "Final flow: unchanged\n"
        "Datapath actions: ct,recirc(0x9)\n"
        "\n"
        "===========\n"
        "recirc(0x9) - resume conntrack with ct_state=new|trk\n"
        "===========\n"
        "\n"
        "bridge(\"br-int\")\n"
        "----------------\n"
        "    thaw\n"
        "        Resuming from table 41\n"
        "41. priority 0, cookie 0x4e50000100000000\n"
        "    goto_table:42\n"
        "42. ip,in_port=1,nw_src=10.0.0.1, priority 200, cookie 0x4e50000100000000\n"
        "    goto_table:43\n"
        "43. priority 0, cookie 0x4e50000100000000\n"
        "    goto_table:44\n"
        "44. ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,tcp,tp_dst=80, priority 200, cookie 0x4e50000300000002\n"
        "    set_field:0x7->reg0\n"
        "    goto_table:47\n"
        "47. priority 0, cookie 0x4e50000100000000\n"
        "    goto_table:48\n"
        "48. priority 0, cookie 0x4e50000100000000\n"
        "    goto_table:49\n"
        "49. priority 0, cookie 0x4e50000100000000\n"
        "    goto_table:50\n"
        "50. priority 0, cookie 0x4e50000100000000\n"
        "    goto_table:51\n"
        "51. ip, priority 100, cookie 0x4e50000100000000\n"
        "    ct(commit,zone=5,exec(move:NXM_NX_REG0[]->NXM_NX_CT_LABEL[32..63]))\n"
        "    resubmit(,60)\n"
        "    60. priority 0\n"
        "            output:2\n"
        "\n"
        "Final flow: unchanged\n"
        "Datapath actions: ct(commit,zone=5),clone(tnl_push(tnl_port(4789),header(size=50)),out_port(2))\n";
    struct trace_result r;
    assert_null(trace_parse(text, &r));
    assert_int_equal(r.n_sections, 2);
    assert_int_equal(r.sections[0].n_hits, 2);
    assert_int_equal(r.sections[0].hits[0].depth, 0);
    assert_true(r.sections[0].hits[0].cookie == 0);
    assert_string_equal(r.sections[0].hits[0].actions, "resubmit(,40)");
    assert_int_equal(r.sections[0].hits[1].table, 40);
    assert_int_equal(r.sections[0].hits[1].depth, 1);
    assert_string_equal(r.sections[0].hits[1].actions, "ct(table=41)");
    const struct trace_section *s = &r.sections[1];
    assert_int_equal(s->n_hits, 10);
    assert_int_equal(s->hits[0].table, 41);
    assert_int_equal(s->hits[0].depth, 0);
    assert_string_equal(s->hits[3].match,
                        "ip,nw_src=10.0.0.1,nw_dst=10.0.0.2,tcp,tp_dst=80");
    assert_int_equal(s->hits[9].table, 60);
    assert_int_equal(s->hits[9].depth, 1);
    assert_int_equal(trace_verdict_of(&r), TRACE_ALLOWED);

    struct trace_context ctx = { .table_base = 40, .policy_name = names,
                                 .src = "a/p", .dst = "10.0.0.2" };
    char *rep = trace_report(&r, &ctx, "pkt", NULL);
    assert_contains(rep, "ALLOWED: pkt\n");
    assert_contains(rep, "  egress:  allowed by NetworkPolicy x/allow-x egress "
                    "rule 2\n");
    assert_contains(rep, "  ingress: allowed: 10.0.0.2 is not isolated for "
                    "ingress\n");
    /* Under --table-base 40 every table is named by its real number. */
    assert_contains(rep, "  table 40 classify: IP -> conntrack, then table "
                    "41\n");
    assert_contains(rep, "table 41 conntrack state: new connection -> "
                    "policies\n");
    assert_contains(rep, "table 44 egress rules: ip,nw_src=10.0.0.1,"
                    "nw_dst=10.0.0.2,tcp,tp_dst=80 -> NetworkPolicy x/allow-x "
                    "egress rule 2\n");
    assert_contains(rep, "table 51 commit: allowed -> connection committed");
    assert_contains(rep, "    table 60: someone else's flow (cookie 0), "
                    "priority 0 -> output:2\n");
    free(rep);
    trace_result_destroy(&r);
}

/* ---- Verdicts. ---- */

static enum trace_verdict
verdict_of_actions(const char *actions)
{
    char *text = xasprintf(" 0. priority 0\n    NORMAL\n\n"
                           "Datapath actions: %s\n", actions);
    struct trace_result r;
    char *e = trace_parse(text, &r);
    assert_null(e);
    enum trace_verdict v = trace_verdict_of(&r);
    trace_result_destroy(&r);
    free(text);
    return v;
}

static void
test_verdicts(void **state)
{
    assert_int_equal(verdict_of_actions("drop"), TRACE_DENIED);
    assert_int_equal(verdict_of_actions("3"), TRACE_ALLOWED);
    assert_int_equal(verdict_of_actions(
        "ct(commit,label=0x1/0xffffffffffffffff),1,5,2,4"), TRACE_ALLOWED);
    /* Committed but output nowhere (e.g. NORMAL on a one-port bridge). */
    assert_int_equal(verdict_of_actions("ct(commit,zone=2,label=0x1/0x1)"),
                     TRACE_DENIED);
    assert_int_equal(verdict_of_actions("ct(zone=1),recirc(0x4)"),
                     TRACE_UNDECIDED);
    assert_int_equal(verdict_of_actions("userspace(pid=0,controller)"),
                     TRACE_UNDECIDED);
    assert_int_equal(verdict_of_actions(
        "clone(tnl_push(tnl_port(4789),header(size=50)),out_port(2))"),
        TRACE_ALLOWED);
    assert_int_equal(verdict_of_actions("set(eth(dst=0a:58:0a:09:01:01)),7"),
                     TRACE_ALLOWED);
    assert_string_equal(trace_verdict_name(TRACE_ALLOWED), "ALLOWED");
    assert_string_equal(trace_verdict_name(TRACE_DENIED), "DENIED");
}

/* ---- Reports on the captures. ---- */

struct capture_case {
    const char *file;
    const char *src, *dst;
    uint8_t generation;
    enum trace_verdict verdict;
    const char *needles[6];
    const char *absent[4];      /* Must not appear (a wrong rule, tier). */
};

static const struct capture_case cases[] = {
    { "allowed-ingress-rule.txt", "x/b", "x/a", 0, TRACE_ALLOWED,
      { "  egress:  allowed: x/b is not isolated for egress\n",
        "  ingress: allowed by NetworkPolicy x/allow-x ingress rule 0\n",
        "  table 2 spoof guard: x/b from its own port with its own address -> "
        "egress checks\n",
        "  table 4 egress rules: no egress rule for x/b matches (miss)\n",
        "  table 8 ingress rules: conj_id=1 -> NetworkPolicy x/allow-x "
        "ingress rule 0\n",
        "  table 11 commit: allowed -> connection committed" }, { NULL } },
    { "denied-ingress-default.txt", "y/a", "x/a", 0, TRACE_DENIED,
      { "  ingress: DENIED by the default deny of x/a: isolated for ingress "
        "by x/allow-x, and no ingress rule admits this\n",
        "  table 3 admin tier egress: no admin ClusterNetworkPolicy decides "
        "y/a's egress -> NetworkPolicy\n",
        "  table 6 baseline tier egress: no baseline ClusterNetworkPolicy "
        "decides y/a's egress -> on\n",
        "  table 8 ingress rules: no ingress rule for x/a matches (miss)\n",
        "  table 9 ingress default deny: x/a isolated for ingress by "
        "x/allow-x -> drop\n",
        "datapath actions: drop\n" }, { NULL } },
    { "denied-egress-default.txt", "z/a", "y/a", 3, TRACE_DENIED,
      { "  egress:  DENIED by the default deny of z/a: isolated for egress "
        "by z/egress-z, and no egress rule admits this\n",
        "  ingress: not reached\n",
        "  table 5 egress default deny: z/a isolated for egress by "
        "z/egress-z -> drop\n" }, { NULL } },
    { "denied-egress-rule-ingress-default.txt", "z/a", "x/a", 3, TRACE_DENIED,
      { "  egress:  allowed by NetworkPolicy z/egress-z egress rule 0\n",
        "  ingress: DENIED by the default deny of x/a",
        "  table 4 egress rules: conj_id=2 -> NetworkPolicy z/egress-z "
        "egress rule 0\n",
        "  table 7 admin tier ingress: no admin ClusterNetworkPolicy decides "
        "x/a's ingress -> NetworkPolicy\n" }, { NULL } },
    { "denied-spoof.txt", "10.9.1.2", "x/a", 3, TRACE_DENIED,
      { "  egress:  DENIED by the spoof guard (ip,in_port=3)\n",
        "  table 2 spoof guard: ip,in_port=3: 10.9.1.2 is not the address "
        "of this port's pod: spoofed -> drop\n" }, { NULL } },
    /* A veth plugged without iface-id (ofport 5); the trace names it
     * from its match when the daemon gives no name. */
    { "denied-unbound-port.txt", "10.9.1.50", "z/a", 0, TRACE_DENIED,
      { "  egress:  DENIED: port 5 carries no pod and is not an uplink or "
        "node port: it sends no IP\n",
        "  ingress: not reached\n",
        "  table 0 classify: port 5 carries no pod and is not an uplink or "
        "node port -> drop\n",
        "datapath actions: drop\n" }, { NULL } },
    /* A reply from the port of pod y/g, which the daemon does not know:
     * dropped before conntrack could pass it. */
    { "denied-port-no-flows.txt", "y/g", "y/a", 0, TRACE_DENIED,
      { "  egress:  DENIED: port 6 is bound to a pod that has no flows (not "
        "known yet, no address yet, finished, or on another node): it sends "
        "no IP\n",
        "  table 0 classify: port 6 is bound to a pod that has no flows" }, { NULL } },
    { "allowed-none-isolated-udp.txt", "y/a", "z/a", 3, TRACE_ALLOWED,
      { "  egress:  allowed: y/a is not isolated for egress\n",
        "  ingress: allowed: z/a is not isolated for ingress\n" }, { NULL } },
    { "denied-from-local-nonnode.txt", "10.9.0.254", "x/a", 3, TRACE_DENIED,
      { "  egress:  not checked here: 10.9.0.254 is not a local pod\n",
        "  table 2 spoof guard: 10.9.0.254 is not a local pod -> ingress "
        "checks only\n",
        "  table 9 ingress default deny: x/a isolated for ingress by "
        "x/allow-x -> drop\n" }, { NULL } },
    { "denied-sctp-egress.txt", "z/a", "x/a", 3, TRACE_DENIED,
      { "  egress:  DENIED by the default deny of z/a" }, { NULL } },

    /* ClusterNetworkPolicy: the tier (from the table), the policy (from
     * the cookie's number), the rule (its index, and its name from the
     * objects), and the action (from the flow's actions). */
    { "cnp-admin-accept.txt", "z/a", "x/a", 5, TRACE_ALLOWED,
      { "  egress:  allowed by admin ClusterNetworkPolicy tenant-isolation "
        "egress rule 0 (\"accept-x-web\"): Accept\n",
        "  ingress: allowed by admin ClusterNetworkPolicy web-from-z ingress "
        "rule 0 (\"z-to-web\"): Accept\n",
        "  table 3 admin tier egress: ClusterNetworkPolicy tenant-isolation "
        "egress rule 0 (\"accept-x-web\"): Accept -> allowed for egress, on "
        "to the ingress side (table 7)\n",
        "  table 7 admin tier ingress: ClusterNetworkPolicy web-from-z "
        "ingress rule 0 (\"z-to-web\"): Accept -> allowed for ingress, on to "
        "the commit (table 11)\n",
        "  table 11 commit: allowed -> connection committed" },
      /* Accept ends the direction: NetworkPolicy is not asked (x/a is
       * isolated by x/allow-x, which z is not in). */
      { "table 4 ", "table 8 ", "table 9 ", "default deny" } },
    { "cnp-admin-deny-new.txt", "z/a", "y/a", 5, TRACE_DENIED,
      { "  egress:  DENIED by admin ClusterNetworkPolicy tenant-isolation "
        "egress rule 1 (\"deny-other-tenants\"): Deny\n",
        "  ingress: not reached\n",
        "  table 3 admin tier egress: ClusterNetworkPolicy tenant-isolation "
        "egress rule 1 (\"deny-other-tenants\"): Deny -> drop\n",
        "datapath actions: drop\n" },
      { "accept-x-web", "baseline", "quiet-y" } },
    { "cnp-admin-deny-established.txt", "z/a", "y/a", 5, TRACE_DENIED,
      { "  egress:  DENIED by admin ClusterNetworkPolicy tenant-isolation "
        "egress rule 1 (\"deny-other-tenants\"): Deny (established "
        "connection cut)\n",
        "  -- after conntrack (recirculation 1): established connection, "
        "ct_state=est|trk\n",
        "  table 1 conntrack state: established connection, original "
        "direction -> policies again\n",
        "  table 3 admin tier egress: ClusterNetworkPolicy tenant-isolation "
        "egress rule 1 (\"deny-other-tenants\"): Deny -> established "
        "connection cut (drop)\n" },
      { "new connection", "accept-x-web" } },
    { "cnp-admin-pass.txt", "y/a", "x/a", 5, TRACE_DENIED,
      { "  egress:  allowed: y/a is not isolated for egress\n",
        "  ingress: DENIED by the default deny of x/a: isolated for ingress "
        "by x/allow-x, and no ingress rule admits this (after admin "
        "ClusterNetworkPolicy web-from-z ingress rule 1 (\"y-to-netpol\"): "
        "Pass, on to NetworkPolicy)\n",
        "  table 7 admin tier ingress: ClusterNetworkPolicy web-from-z "
        "ingress rule 1 (\"y-to-netpol\"): Pass -> on to NetworkPolicy "
        "(table 8)\n",
        "  table 9 ingress default deny: x/a isolated for ingress by "
        "x/allow-x -> drop\n" },
      { "z-to-web", "table 10 " } },
    { "cnp-baseline-deny.txt", "x/b", "y/a", 5, TRACE_DENIED,
      { "  egress:  allowed: x/b is not isolated for egress\n",
        "  ingress: DENIED by baseline ClusterNetworkPolicy quiet-y ingress "
        "rule 0 (\"deny-all\"): Deny\n",
        "  table 3 admin tier egress: no admin ClusterNetworkPolicy decides "
        "x/b's egress -> NetworkPolicy\n",
        "  table 9 ingress default deny: y/a not isolated for ingress -> on\n",
        "  table 10 baseline tier ingress: ClusterNetworkPolicy quiet-y "
        "ingress rule 0 (\"deny-all\"): Deny -> drop\n" },
      { "admin ClusterNetworkPolicy quiet-y", "tenant-isolation",
        "web-from-z" } },
    /* The admin tables hold rules for z and x/a; none matches x/b. */
    { "cnp-admin-miss.txt", "x/b", "x/a", 5, TRACE_ALLOWED,
      { "  egress:  allowed: x/b is not isolated for egress\n",
        "  ingress: allowed by NetworkPolicy x/allow-x ingress rule 0\n",
        "  table 3 admin tier egress: no admin ClusterNetworkPolicy decides "
        "x/b's egress -> NetworkPolicy\n",
        "  table 7 admin tier ingress: no admin ClusterNetworkPolicy decides "
        "x/a's ingress -> NetworkPolicy\n",
        "  table 8 ingress rules: conj_id=1 -> NetworkPolicy x/allow-x "
        "ingress rule 0\n" },
      { "ClusterNetworkPolicy web-from-z", "ClusterNetworkPolicy tenant",
        "(after " } },
};

/* A ClusterNetworkPolicy rule's hit by itself: the tier from the table
 * (with a table base), the action from the first action line. */
static void
test_cnp_hits(void **state)
{
    (void) state;
    struct trace_context ctx = {
        .table_base = 20, .policy_name = names5, .rule_name = rules5,
        .src = "z/a", .dst = "y/a",
    };
    struct np_cookie ck = { .kind = NPC_CNP, .policy = 2, .rule = 0 };
    struct trace_hit h = {
        .table = 26, .match = (char *) "conj_id=7", .priority = 60000,
        .cookie = np_cookie_encode(&ck), .actions = (char *) "goto_table:27",
    };
    char *s = trace_describe_hit(&h, &ctx);
    assert_string_equal(s, "table 26 baseline tier egress: ClusterNetworkPolicy "
                        "tenant-isolation egress rule 0 (\"accept-x-web\"): "
                        "Pass -> past the baseline, on to the ingress side "
                        "(table 27)");
    free(s);

    h.table = 23;
    h.actions = (char *) "set_field:0x7->reg0";
    s = trace_describe_hit(&h, &ctx);
    assert_string_equal(s, "table 23 admin tier egress: ClusterNetworkPolicy "
                        "tenant-isolation egress rule 0 (\"accept-x-web\"): "
                        "Accept -> allowed for egress, on to the ingress "
                        "side (table 27)");
    free(s);

    /* Baseline Pass decides: nothing after the baseline denies. */
    struct trace_result r = { .n_sections = 1 };
    struct trace_section sec = {
        .hits = &h, .n_hits = 1, .datapath_actions = (char *) "1",
    };
    r.sections = &sec;
    h.table = 26;
    h.actions = (char *) "goto_table:27";
    char *rep = trace_report(&r, &ctx, "pkt", NULL);
    assert_contains(rep, "  egress:  allowed: baseline ClusterNetworkPolicy "
                    "tenant-isolation egress rule 0 (\"accept-x-web\"): "
                    "Pass, past the baseline\n");
    free(rep);

    /* An egress rule's cookie in an ingress table, or a CNP cookie in
     * NetworkPolicy's table: not what the compiler makes, said so, and it
     * decides nothing. */
    h.table = 27;
    s = trace_describe_hit(&h, &ctx);
    assert_contains(s, "(not a tier rule's flow)");
    free(s);
    h.table = 24;
    h.actions = (char *) "drop";
    s = trace_describe_hit(&h, &ctx);
    assert_contains(s, "table 24 egress rules: ClusterNetworkPolicy "
                    "tenant-isolation egress rule 0 (\"accept-x-web\"): "
                    "conj_id=7, priority 60000 -> drop (not a tier rule's "
                    "flow)");
    free(s);
    rep = trace_report(&r, &ctx, "pkt", NULL);
    assert_contains(rep, "  egress:  not reached\n");
    free(rep);

    /* Peer classes: the address's classes, then the table again, where
     * the rule (one level deeper) decides. */
    struct np_cookie infra = { .kind = NPC_INFRA };
    struct trace_hit hits[2] = {
        { .table = 23, .match = (char *) "reg2=0/0x80000000,ip,nw_dst=10.0.0.2",
          .priority = PRIO_TIER_CLASS, .cookie = np_cookie_encode(&infra),
          .actions = (char *) "set_field:0x80000005->reg2,resubmit(,23)" },
        { .table = 23, .match = (char *) "conj_id=7", .priority = 60000,
          .cookie = np_cookie_encode(&ck), .actions = (char *) "drop",
          .depth = 1 },
    };
    s = trace_describe_hit(&hits[0], &ctx);
    assert_string_equal(s, "table 23 admin tier egress: destination y/a is in "
                        "ClusterNetworkPolicy peer classes 0x5 (reg2) -> the "
                        "tier's rules");
    free(s);
    hits[0].actions = (char *) "set_field:0x80000000->reg2,resubmit(,23)";
    hits[0].priority = PRIO_TIER_CLASS_MISS;
    s = trace_describe_hit(&hits[0], &ctx);
    assert_string_equal(s, "table 23 admin tier egress: destination y/a is in "
                        "no ClusterNetworkPolicy peer class -> the tier's "
                        "rules");
    free(s);
    sec.hits = hits;
    sec.n_hits = 2;
    sec.datapath_actions = (char *) "drop";
    rep = trace_report(&r, &ctx, "pkt", NULL);
    assert_contains(rep, "  egress:  DENIED by admin ClusterNetworkPolicy "
                    "tenant-isolation egress rule 0 (\"accept-x-web\"): "
                    "Deny\n");
    free(rep);
}

/* ---- explain NS/POD. ---- */

static struct cluster *
cluster_from_file(const char *name)
{
    char *text = read_capture(name);
    struct obj_batch batch;
    obj_batch_init(&batch);
    objects_parse_buffer(name, text, strlen(text), &batch);
    for (size_t i = 0; i < batch.n_errors; i++) {
        print_error("%s\n", batch.errors[i]);
    }
    assert_int_equal(batch.n_errors, 0);
    struct cluster *c = cluster_create();
    cluster_apply_batch(c, &batch);
    obj_batch_destroy(&batch);
    free(text);
    return c;
}

static void
test_explain_pod(void **state)
{
    (void) state;
    struct cluster *c = cluster_from_file("explain-pod.yaml");
    char *s = trace_explain_pod(c, "x", "a");
    assert_non_null(s);
    /* Per direction: admin (by priority, then name; only the policies
     * with rules in that direction whose subject selects the pod),
     * NetworkPolicy, baseline. */
    assert_string_equal(s,
        "pod x/a (10.9.1.1, node node-1)\n"
        "egress (connections x/a opens):\n"
        "    admin tier:\n"
        "      1. ClusterNetworkPolicy z-early (priority 1): egress rule 0 "
        "\"dns\": Accept\n"
        "      2. ClusterNetworkPolicy a-first (priority 5): egress rule 0: "
        "Deny, egress rule 1 \"web\": Pass\n"
        "      3. ClusterNetworkPolicy b-second (priority 5): egress rule 0 "
        "\"to-red\": Accept\n"
        "    NetworkPolicy: not isolated\n"
        "    baseline tier:\n"
        "      1. ClusterNetworkPolicy base (priority 3): egress rule 0 "
        "\"no-names\": Deny (fails closed: every connection)\n"
        "ingress (connections to x/a):\n"
        "    admin tier:    none\n"
        "    NetworkPolicy: isolated by x/allow-x (1 ingress rule)\n"
        "    baseline tier:\n"
        "      1. ClusterNetworkPolicy base (priority 3): ingress rule 0 "
        "\"deny-all\": Deny\n"
        "      (not reached: NetworkPolicy decides every connection of a "
        "pod it isolates)\n");
    free(s);

    /* A hostNetwork pod is its node: nothing selects it. */
    s = trace_explain_pod(c, "x", "h");
    assert_contains(s, "  hostNetwork: no policy selects or isolates it");
    assert_null(strstr(s, "ClusterNetworkPolicy"));
    assert_null(strstr(s, "allow-x"));
    free(s);

    assert_null(trace_explain_pod(c, "x", "nope"));
    cluster_destroy(c);
}

/* trace --in-port NAME: the narration names the port as the operator
 * did. */
static void
test_report_port_name(void **state)
{
    (void) state;
    char *text = read_capture("denied-unbound-port.txt");
    struct trace_result r;
    char *e = trace_parse(text, &r);
    assert_null(e);
    struct trace_context ctx = {
        .policy_name = names, .src = "10.9.1.50", .dst = "z/a",
        .in_port = "unb1",
    };
    char *rep = trace_report(&r, &ctx, "pkt", NULL);
    assert_contains(rep, "  table 0 classify: port unb1 carries no pod and "
                    "is not an uplink or node port -> drop\n");
    assert_contains(rep, "  egress:  DENIED: port unb1 carries no pod");
    free(rep);
    trace_result_destroy(&r);
    free(text);
}

static void
test_reports(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct capture_case *c = &cases[i];
        char *text = read_capture(c->file);
        struct trace_result r;
        char *e = trace_parse(text, &r);
        if (e) {
            fail_msg("%s: %s", c->file, e);
        }
        if (trace_verdict_of(&r) != c->verdict) {
            fail_msg("%s: verdict %s", c->file,
                     trace_verdict_name(trace_verdict_of(&r)));
        }
        bool cnp = c->generation == 5;
        struct trace_context ctx = {
            .generation = c->generation,
            .policy_name = cnp ? names5 : names,
            .rule_name = cnp ? rules5 : NULL,
            .src = c->src, .dst = c->dst,
        };
        char *rep = trace_report(&r, &ctx, "pkt", text);
        char *head = xasprintf("%s: pkt\n", trace_verdict_name(c->verdict));
        assert_true(!strncmp(rep, head, strlen(head)));
        for (size_t j = 0; j < ARRAY_SIZE(c->needles) && c->needles[j]; j++) {
            assert_contains(rep, c->needles[j]);
        }
        /* Before the raw text, which has every table's number. */
        const char *raw = strstr(rep, "---- ofproto/trace ----\n");
        for (size_t j = 0; j < ARRAY_SIZE(c->absent) && c->absent[j]; j++) {
            const char *hit = strstr(rep, c->absent[j]);
            if (hit && (!raw || hit < raw)) {
                fail_msg("%s: %s\n---- has ----\n%s", c->file, rep,
                         c->absent[j]);
            }
        }
        /* Our flows carry the generation we said is current. */
        assert_null(strstr(rep, "not the daemon's current"));
        /* --raw: the switch's own text after the separator. */
        const char *sep = strstr(rep, "---- ofproto/trace ----\n");
        assert_non_null(sep);
        assert_string_equal(sep + 24, text);
        free(head);
        free(rep);
        trace_result_destroy(&r);
        free(text);
    }
}

static void
test_stale_generation(void **state)
{
    char *text = read_capture("denied-ingress-default.txt");
    struct trace_result r;
    assert_null(trace_parse(text, &r));
    struct trace_context ctx = { .generation = 4, .policy_name = names,
                                 .src = "y/a", .dst = "x/a" };
    char *rep = trace_report(&r, &ctx, "pkt", NULL);
    assert_contains(rep, "-> drop [generation 0, not the daemon's current 4]");
    assert_null(strstr(rep, "---- ofproto/trace"));
    free(rep);
    trace_result_destroy(&r);
    free(text);
}

/* ---- The request. ---- */

static void
test_ports(void **state)
{
    enum trace_proto p;
    uint16_t port;
    assert_null(trace_parse_port("80", &p, &port));
    assert_int_equal(p, TRACE_TCP);
    assert_int_equal(port, 80);
    assert_null(trace_parse_port("UDP/53", &p, &port));
    assert_int_equal(p, TRACE_UDP);
    assert_int_equal(port, 53);
    assert_null(trace_parse_port("sctp/65535", &p, &port));
    assert_int_equal(p, TRACE_SCTP);
    assert_int_equal(port, 65535);
    assert_null(trace_parse_port("tcp/1", &p, &port));

    const char *bad[] = { "", "0", "65536", "-1", "80x", "icmp/8", "tcp/",
                          "/80", "tcp/udp/80", " 80", "http" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        char *e = trace_parse_port(bad[i], &p, &port);
        if (!e) {
            fail_msg("\"%s\" accepted", bad[i]);
        }
        free(e);
    }
    char *e = trace_parse_port("icmp/8", &p, &port);
    assert_string_equal(e, "\"icmp\" is not a protocol (tcp, udp or sctp)");
    free(e);
}

static void
test_flow(void **state)
{
    char *f = trace_flow(TRACE_TCP, 80, "2", false, "10.9.1.2", "10.9.1.1");
    assert_string_equal(f, "tcp,in_port=2,nw_src=10.9.1.2,nw_dst=10.9.1.1,"
                        "tcp_dst=80");
    free(f);
    f = trace_flow(TRACE_UDP, 53, "LOCAL", true, "fd00::1", "fd00::2");
    assert_string_equal(f, "udp6,in_port=LOCAL,ipv6_src=fd00::1,"
                        "ipv6_dst=fd00::2,udp_dst=53");
    free(f);
    f = trace_flow(TRACE_SCTP, 9, NULL, false, "1.2.3.4", "5.6.7.8");
    assert_string_equal(f, "sctp,nw_src=1.2.3.4,nw_dst=5.6.7.8,sctp_dst=9");
    free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_decode),
        cmocka_unit_test(test_cookie_generation),
        cmocka_unit_test(test_cookie_parse),
        cmocka_unit_test(test_cookie_describe),
        cmocka_unit_test(test_parse_allowed),
        cmocka_unit_test(test_parse_no_match),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_nested),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_cnp_hits),
        cmocka_unit_test(test_explain_pod),
        cmocka_unit_test(test_report_port_name),
        cmocka_unit_test(test_stale_generation),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_flow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
