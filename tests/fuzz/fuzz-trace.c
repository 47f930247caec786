/* Fuzz target: src/trace.c's readers: the text of ovs-vswitchd's
 * 'ofproto/trace' answer (trace_parse(), then the verdict and the report
 * that 'ovs-netpol trace' prints), the cookie or dump-flows line that
 * 'explain' accepts (trace_cookie_parse(), trace_cookie_describe()), and
 * trace's "[PROTO/]PORT" argument (trace_parse_port(), trace_flow()).
 * Each reader gets the whole input, up to its first NUL.
 *
 * Checks: a result or a message, never both; a port from 1 to 65535; a
 * verdict among the three; what comes out is a non-empty string. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "np-util.h"
#include "trace.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static const char *
policy_name(void *aux, uint32_t pno)
{
    return (pno % 4 == 1 ? NULL : pno % 4 == 2 ? "x/allow-x"
            : pno % 4 == 3 ? "ClusterNetworkPolicy tenants" : "y/deny-all");
}

/* A ClusterNetworkPolicy rule's name, as the daemon gives it: for some
 * rules, none for others. */
static const char *
rule_name(void *aux, uint32_t pno, bool ingress, unsigned int rule)
{
    return rule % 2 ? NULL : ingress ? "from-web" : "deny-other-tenants";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmemdup0((const char *) data, size);

    struct trace_result r;
    char *error = trace_parse(text, &r);
    if (error) {
        assert(*error && !r.n_sections);
        free(error);
    } else {
        enum trace_verdict v = trace_verdict_of(&r);
        assert(v == TRACE_ALLOWED || v == TRACE_DENIED
               || v == TRACE_UNDECIDED);
        assert(*trace_verdict_name(v));
        struct trace_context ctx = {
            .table_base = 0,
            .generation = 0,
            .policy_name = policy_name,
            .rule_name = rule_name,
            .src = "x/b",
            .dst = "10.9.1.1",
        };
        char *report = trace_report(&r, &ctx, "new tcp connection x/b -> "
                                    "10.9.1.1 port 80 on br-int", text);
        assert(*report);
        free(report);
        ctx.table_base = 40;
        ctx.generation = 1;
        report = trace_report(&r, &ctx, "fuzz", NULL);
        assert(*report);
        free(report);
    }
    trace_result_destroy(&r);

    uint64_t cookie;
    error = trace_cookie_parse(text, &cookie);
    if (error) {
        assert(*error);
        free(error);
    } else {
        char *what = trace_cookie_describe(cookie, policy_name, rule_name,
                                           NULL);
        assert(*what);
        free(what);
    }

    enum trace_proto proto;
    uint16_t port;
    error = trace_parse_port(text, &proto, &port);
    if (error) {
        assert(*error);
        free(error);
    } else {
        assert(port >= 1 && *trace_proto_name(proto));
        char *flow = trace_flow(proto, port, "2", false, "10.9.1.2",
                                "10.9.1.1");
        assert(*flow);
        free(flow);
        flow = trace_flow(proto, port, NULL, true, "fd00::1", "fd00::2");
        assert(*flow);
        free(flow);
    }
    free(text);
    return 0;
}
