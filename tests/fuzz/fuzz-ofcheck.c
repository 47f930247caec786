/* The OpenFlow side of the fuzz targets' checks: every flow we would send
 * to the switch must be one that the switch takes, exactly as switch-of.c
 * sends it (see its format_change() and parse_flow_mod()); a flow it
 * rejects makes the whole bundle fail, and the node keeps stale flows.
 * This file includes OVS headers (with <config.h> first), so no jansson. */
#include <config.h>
#include "fuzz.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "flowtab.h"
#include "openflow/openflow.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/match.h"
#include "openvswitch/ofp-flow.h"
#include "openvswitch/ofp-match.h"
#include "openvswitch/ofp-msgs.h"
#include "openvswitch/ofp-protocol.h"
#include "openvswitch/ofpbuf.h"
#include "openvswitch/vlog.h"
#include "lib/util.h"

void
fuzz_quiet_ovs(void)
{
    vlog_set_levels(NULL, VLF_ANY_DESTINATION, VLL_OFF);
}

static void
check_flow(void *aux, uint8_t table, uint16_t priority, uint64_t cookie,
           const char *match, const char *actions)
{
    struct ds s = DS_EMPTY_INITIALIZER;
    ds_put_format(&s, "table=%"PRIu8",priority=%"PRIu16",cookie=%#"PRIx64,
                  table, priority, cookie);
    if (*match) {
        ds_put_format(&s, ",%s", match);
    }
    ds_put_format(&s, " actions=%s", actions);

    struct ofputil_flow_mod fm;
    enum ofputil_protocol usable;
    char *error = parse_ofp_flow_mod_str(&fm, ds_cstr(&s), NULL, NULL,
                                         OFPFC_ADD, &usable);
    if (!error && !(usable & OFPUTIL_P_OF15_OXM)) {
        error = xstrdup("not usable with OpenFlow 1.5");
    } else if (!error) {
        struct match m, normalized;
        minimatch_expand(&fm.match, &m);
        normalized = m;
        ofputil_normalize_match_quiet(&normalized);
        if (!match_equal(&m, &normalized)) {
            error = xstrdup("a match field lacks its prerequisite");
        } else {
            struct ofpbuf *msg = ofputil_encode_flow_mod(&fm,
                                                         OFPUTIL_P_OF15_OXM);
            if (msg->size > UINT16_MAX - sizeof(struct ofp_header)
                            - sizeof(struct ofp14_bundle_ctrl_msg)) {
                error = xasprintf("too big for one OpenFlow message (%"
                                  PRIu32" bytes)", msg->size);
            }
            ofpbuf_delete(msg);
        }
        free(CONST_CAST(struct ofpact *, fm.ofpacts));
        minimatch_destroy(&fm.match);
    }
    if (error) {
        fprintf(stderr, "fuzz: the switch would reject the flow\n  %s\n: %s\n",
                ds_cstr(&s), error);
        abort();
    }
    ds_destroy(&s);
}

void
fuzz_check_openflow(const struct flowtab *base, const struct flowtab *tab)
{
    if (!base) {
        flowtab_visit(tab, check_flow, NULL);
        return;
    }
    struct flow_change *changes;
    size_t n;
    flowtab_diff(base, tab, &changes, &n);
    for (size_t i = 0; i < n; i++) {
        const struct flow_change *c = &changes[i];
        if (c->type != FLOW_DELETE) {
            char *buf = NULL;
            check_flow(NULL, c->table, c->priority, c->cookie, c->match,
                       flowtab_change_actions(c, &buf));
            free(buf);
        }
    }
    free(changes);
}

void
fuzz_check_same(const struct flowtab *a, const struct flowtab *b,
                const char *what)
{
    if (flowtab_equal(a, b)) {
        return;
    }
    struct flow_change *changes;
    size_t n;
    flowtab_diff(a, b, &changes, &n);
    fprintf(stderr, "fuzz: %s differ in %zu flows:\n", what, n);
    for (size_t i = 0; i < n && i < 20; i++) {
        const struct flow_change *c = &changes[i];
        char *buf = NULL;
        fprintf(stderr, "  %s table=%u,priority=%u,cookie=%#"PRIx64",%s "
                "actions=%s\n",
                c->type == FLOW_ADD ? "+" : c->type == FLOW_DELETE ? "-" : "~",
                c->table, c->priority, c->cookie, c->match,
                flowtab_change_actions(c, &buf));
        free(buf);
    }
    abort();
}
