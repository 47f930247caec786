/* The pipeline: what our tables hold besides the rules' conjunctions, as
 * both compilers make it (compile-gen.h): the infrastructure flows of every
 * table, the spoof guard of each local pod, the node, ports whose pod has
 * no flows, the default deny of isolated pods, and what a rule's flows
 * say (cookie, actions).  The tables and their priorities are named in
 * include/pipeline.h and described in ovs/pipeline.md.
 *
 * Default deny lives in tables of its own after the rule tables (a missed
 * rule lookup goes on to them), so no lookup depends on how the classifier
 * falls back from a failed conjunction to a lower-priority flow. */
#include "compile-gen.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "np-util.h"

/* Bit 0 of ct_mark (in our zone) says "cut": a policy change made the
 * connection's original direction denied.  Table 1 drops its replies; the
 * commit table clears it when a later change allows the connection again. */
#define CT_MARK_CUT "0x1/0x1"

/* ---- Growable text. ---- */

struct ds {
    char *s;
    size_t len, cap;
};

static void
ds_put(struct ds *ds, const char *s, size_t n)
{
    if (ds->len + n + 1 > ds->cap) {
        ds->cap = (ds->len + n + 1) * 2;
        ds->s = xrealloc(ds->s, ds->cap);
    }
    memcpy(ds->s + ds->len, s, n);
    ds->len += n;
    ds->s[ds->len] = '\0';
}

/* ---- Cookies. ---- */

uint64_t
np_cookie(const struct compile_options *opts, enum np_cookie_kind kind,
          uint32_t policy, uint32_t rule)
{
    return (NP_COOKIE_PREFIX << 48)
           | ((uint64_t) opts->generation << 40)
           | ((uint64_t) kind << 32)
           | ((uint64_t) (policy & 0xfffff) << 12)
           | (rule & 0xfff);
}

/* ---- Infrastructure. ---- */

static void
gen_direct(const struct np_gen *g, uint8_t table, uint16_t priority,
           uint64_t cookie, const char *match, const char *actions,
           const char *comment)
{
    g->direct(g->aux, table, priority, cookie, match, actions, comment);
}

void
np_gen_infra(const struct np_gen *g)
{
    const struct compile_options *o = g->opts;
    const char *cont = o->continuation;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    char actions[256];
    uint8_t t_classify = np_tbl(o, NPT_CLASSIFY);

    /* Address resolution is not policy: NetworkPolicy covers IP only. */
    gen_direct(g, t_classify, 100, cookie, "arp", cont,
               "ARP is not subject to NetworkPolicy");
    for (int type = 133; type <= 137; type++) {
        char match[64];
        snprintf(match, sizeof match, "icmp6,icmp_type=%d", type);
        gen_direct(g, t_classify, 100, cookie, match, cont,
                   "IPv6 neighbor discovery is not subject to NetworkPolicy");
    }
    snprintf(actions, sizeof actions, "ct(table=%u,zone=%u)",
             np_tbl(o, NPT_STATE), o->ct_zone);
    gen_direct(g, t_classify, 90, cookie, "ip", actions, NULL);
    gen_direct(g, t_classify, 90, cookie, "ipv6", actions, NULL);
    gen_direct(g, t_classify, 0, cookie, "", cont, NULL);

    /* Replies are not what policies match (their fields are the
     * connection's tuple reversed), so they follow their connection's
     * verdict, which the original direction keeps up to date in ct_mark.
     * ICMP errors (+rel) carry the mark of the connection they are about. */
    uint8_t t_state = np_tbl(o, NPT_STATE);
    gen_direct(g, t_state, 200, cookie, "ct_state=+inv+trk", "drop",
               "invalid for conntrack");
    /* OVS 3.1's userspace conntrack keeps one entry for all SCTP between
     * two addresses, whatever the ports: a packet to a denied port would
     * mark the entry cut and drop the replies of the allowed associations
     * that share it.  So SCTP replies pass whatever the mark; the original
     * direction is still checked packet by packet. */
    gen_direct(g, t_state, 195, cookie,
               "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT",sctp", cont,
               "SCTP replies: one conntrack entry for every association "
               "between two addresses");
    gen_direct(g, t_state, 195, cookie,
               "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT",sctp6", cont,
               NULL);
    gen_direct(g, t_state, 190, cookie,
               "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT, "drop",
               "replies of connections that policies no longer allow");
    gen_direct(g, t_state, 190, cookie,
               "ct_state=-new+rel+trk,ct_mark="CT_MARK_CUT, "drop", NULL);
    gen_direct(g, t_state, 180, cookie, "ct_state=-new+est+rpl+trk", cont,
               "replies of allowed connections");
    gen_direct(g, t_state, 180, cookie, "ct_state=-new+rel+trk", cont, NULL);
    /* What policies allowed when the connection started may have changed
     * since: check again.  In the original direction the packet's fields
     * are the connection's tuple, so the rules match as for the first
     * packet. */
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_SPOOF));
    gen_direct(g, t_state, 170, cookie, "ct_state=-new+est-rpl+trk", actions,
               "established connections, original direction: policies "
               "again");
    gen_direct(g, t_state, 0, cookie, "", actions, "new connections");

    uint8_t t_spoof = np_tbl(o, NPT_SPOOF);
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_INGRESS));
    gen_direct(g, t_spoof, 0, cookie, "", actions,
               "not from a local pod: ingress checks only");

    uint8_t t_eg = np_tbl(o, NPT_EGRESS);
    snprintf(actions, sizeof actions, "goto_table:%u",
             np_tbl(o, NPT_EGRESS_DEFAULT));
    gen_direct(g, t_eg, 0, cookie, "", actions, NULL);
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_INGRESS));
    gen_direct(g, np_tbl(o, NPT_EGRESS_DEFAULT), 0, cookie, "", actions,
               "source not isolated for egress");
    snprintf(actions, sizeof actions, "goto_table:%u",
             np_tbl(o, NPT_INGRESS_DEFAULT));
    gen_direct(g, np_tbl(o, NPT_INGRESS), 0, cookie, "", actions, NULL);
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_COMMIT));
    gen_direct(g, np_tbl(o, NPT_INGRESS_DEFAULT), 0, cookie, "", actions,
               "destination not isolated for ingress");

    /* An established connection was committed when it started.  Only one
     * that a policy change cut and a later change allows again needs
     * another commit: clearing the mark lets its replies pass again. */
    uint8_t t_commit = np_tbl(o, NPT_COMMIT);
    /* These two end in the operator's continuation, of any length. */
    char *commit = xasprintf(
        "ct(commit,zone=%u,exec(set_field:0/0x1->ct_mark)),%s",
        o->ct_zone, cont);
    gen_direct(g, t_commit, 110, cookie,
               "ct_state=-new+est+trk,ct_mark="CT_MARK_CUT",ip", commit,
               "allowed again after a policy change had cut it");
    gen_direct(g, t_commit, 110, cookie,
               "ct_state=-new+est+trk,ct_mark="CT_MARK_CUT",ipv6", commit,
               NULL);
    free(commit);
    gen_direct(g, t_commit, 105, cookie, "ct_state=-new+est+trk", cont,
               "established and still allowed");

    /* ct_label: egress rule id in the high 32 bits, ingress in the low;
     * 0 means "not isolated in that direction". */
    commit = xasprintf(
        "ct(commit,zone=%u,exec(move:NXM_NX_REG0[]->NXM_NX_CT_LABEL[32..63],"
        "move:NXM_NX_REG1[]->NXM_NX_CT_LABEL[0..31])),%s",
        o->ct_zone, cont);
    gen_direct(g, t_commit, 100, cookie, "ip", commit,
               "allowed: commit with the deciding rules in ct_label");
    gen_direct(g, t_commit, 100, cookie, "ipv6", commit, NULL);
    free(commit);
}

/* ---- Spoof guard, orphan ports, the node. ---- */

/* Drops all IP from switch port 'port' (in the spoof guard table, below
 * what its pod may send).  'port' comes from the operator or OVSDB, of
 * any length: no fixed buffer. */
static void
add_port_drops(const struct np_gen *g, const char *port, const char *comment)
{
    const struct compile_options *o = g->opts;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    for (int v6 = 0; v6 < 2; v6++) {
        char *match = xasprintf("in_port=%s,%s", port, v6 ? "ipv6" : "ip");
        gen_direct(g, np_tbl(o, NPT_SPOOF), 150, cookie, match, "drop",
                   comment);
        free(match);
    }
}

/* The spoof guard for local pod 'pod': its own addresses go on to egress
 * checks from each of its ports; anything else from its ports is dropped,
 * and its addresses from any other port too. */
void
np_gen_spoof(const struct np_gen *g, const struct k8s_pod *pod)
{
    const struct compile_options *o = g->opts;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    uint8_t t = np_tbl(o, NPT_SPOOF);
    char actions[64], buf[NP_MATCH_MAX];
    snprintf(actions, sizeof actions, "goto_table:%u", np_tbl(o, NPT_EGRESS));
    const char *const *ports = NULL;
    size_t n_ports = (o->port_of
                      ? o->port_of(o->port_aux, pod->namespace, pod->name,
                                   &ports)
                      : 0);
    struct ds comment = { NULL, 0, 0 };
    char *head = xasprintf("pod %s/%s%s", pod->namespace, pod->name,
                           !n_ports ? " (no port known)"
                           : n_ports == 1 ? " on port " : " on ports ");
    ds_put(&comment, head, strlen(head));
    free(head);
    for (size_t i = 0; i < n_ports; i++) {
        if (i) {
            ds_put(&comment, ", ", 2);
        }
        ds_put(&comment, ports[i], strlen(ports[i]));
    }
    for (size_t i = 0; i < pod->n_ips; i++) {
        np_host_match(&pod->ips[i], false, buf);
        for (size_t j = 0; j < n_ports; j++) {
            char *match = xasprintf("in_port=%s,%s", ports[j], buf);
            gen_direct(g, t, 200, cookie, match, actions, comment.s);
            free(match);
        }
        if (n_ports) {
            gen_direct(g, t, 100, cookie, buf, "drop", comment.s);
        } else {
            gen_direct(g, t, 200, cookie, buf, actions, comment.s);
        }
    }
    for (size_t j = 0; j < n_ports; j++) {
        add_port_drops(g, ports[j], comment.s);
    }
    free(comment.s);
}

/* A port bound to a pod that gets no flows of its own (not known yet, no
 * address yet, finished, or not on this node) must not carry IP traffic:
 * otherwise a new pod would talk freely, as a non-local source, until its
 * policies are in. */
void
np_gen_orphan(const struct np_gen *g, const struct compile_bound_port *bp,
              const struct k8s_pod *pod)
{
    if (pod && compile_pod_is_local(g->opts, pod)) {
        return;
    }
    char *comment = xasprintf(
        "port %s is bound to pod %s/%s, which has no flows (%s): no IP "
        "from it", bp->port, bp->ns, bp->name,
        !pod ? "not known" : !pod->n_ips ? "no address yet"
        : pod->host_network ? "hostNetwork"
        : (pod->phase == POD_SUCCEEDED || pod->phase == POD_FAILED)
        ? "finished" : "on another node");
    add_port_drops(g, bp->port, comment);
    free(comment);
}

/* "Traffic to and from the node where a Pod is running is always allowed,
 * regardless of the IP address of the Pod or the node" (Kubernetes'
 * NetworkPolicy documentation): the kubelet's probes must reach an
 * isolated pod, and host-network pods of this node are this node.  From
 * the node: a packet with one of its addresses arriving on one of its
 * ports (never a pod's, so a pod cannot claim to be the node) skips both
 * checks.  To the node: by address, above the egress default deny. */
void
np_gen_node(const struct np_gen *g)
{
    const struct compile_options *o = g->opts;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    char commit[32], ingress[32], buf[NP_MATCH_MAX];
    snprintf(commit, sizeof commit, "goto_table:%u", np_tbl(o, NPT_COMMIT));
    snprintf(ingress, sizeof ingress, "goto_table:%u", np_tbl(o, NPT_INGRESS));
    for (size_t i = 0; i < o->n_node_addrs; i++) {
        char addr[IP_ADDR_STRLEN];
        ip_addr_format(&o->node_addrs[i], addr);
        char *from = xasprintf("from this node (%s): always allowed", addr);
        char *to = xasprintf("to this node (%s): always allowed", addr);
        np_host_match(&o->node_addrs[i], false, buf);
        for (size_t j = 0; j < o->n_node_ports; j++) {
            char *match = xasprintf("in_port=%s,%s", o->node_ports[j], buf);
            gen_direct(g, np_tbl(o, NPT_SPOOF), 190, cookie, match, commit,
                       j ? NULL : from);
            free(match);
        }
        np_host_match(&o->node_addrs[i], true, buf);
        gen_direct(g, np_tbl(o, NPT_EGRESS_DEFAULT), NP_PRIO_NODE, cookie,
                   buf, ingress, to);
        free(from);
        free(to);
    }
}

/* ---- Default deny. ---- */

/* Default deny for an isolated pod, one flow per address, named after the
 * first isolating policy (all of them: see the comment).  An established
 * connection that gets here was allowed when it started and is not any
 * more: drop the packet and mark the connection cut, so that table 1 drops
 * its replies too.  Its own flow, so that its counter tells cut
 * connections from refused ones. */
void
np_gen_isolation(const struct np_gen *g, const struct k8s_pod *pod,
                 bool ingress, const char *first, bool first_invalid,
                 uint32_t pno, size_t n)
{
    const struct compile_options *o = g->opts;
    char cut[64];
    snprintf(cut, sizeof cut,
             "ct(commit,zone=%u,exec(set_field:"CT_MARK_CUT"->ct_mark))",
             o->ct_zone);
    uint8_t t = np_tbl(o, ingress ? NPT_INGRESS_DEFAULT : NPT_EGRESS_DEFAULT);
    char *comment = xasprintf("%s/%s isolated for %s by %s%s%s",
                              pod->namespace, pod->name,
                              ingress ? "ingress" : "egress", first,
                              first_invalid
                              ? " (invalid: isolating with no rules)" : "",
                              n > 1 ? " and others" : "");
    uint64_t cookie = np_cookie(o, NPC_ISOLATION, pno, ingress ? 0x800 : 0);
    char *cut_comment = xasprintf("%s: established connections cut",
                                  comment);
    char buf[NP_MATCH_MAX], match[NP_MATCH_MAX + 32];
    for (size_t j = 0; j < pod->n_ips; j++) {
        np_host_match(&pod->ips[j], ingress, buf);
        gen_direct(g, t, NP_PRIO_DEFAULT_DENY, cookie, buf, "drop", comment);
        snprintf(match, sizeof match, "ct_state=+est+trk,%s", buf);
        gen_direct(g, t, NP_PRIO_DEFAULT_CUT, cookie, match, cut,
                   cut_comment);
    }
    free(cut_comment);
    free(comment);
}

/* ---- What a rule's flows say. ---- */

uint64_t
np_rule_cookie(const struct compile_options *opts, uint32_t pno,
               bool ingress, size_t idx)
{
    return np_cookie(opts, NPC_RULE, pno, (ingress ? 0x800 : 0)
                                          | (idx & 0x7ff));
}

void
np_rule_actions(const struct compile_options *opts, bool ingress,
                uint32_t id, char buf[128])
{
    snprintf(buf, 128, "set_field:%#"PRIx32"->%s,goto_table:%u", id,
             ingress ? "reg1" : "reg0",
             np_tbl(opts, ingress ? NPT_COMMIT : NPT_INGRESS));
}

void
np_conj_id_match(uint32_t id, char buf[32])
{
    snprintf(buf, 32, "conj_id=%"PRIu32, id);
}

/* ---- Names. ---- */

const char *
np_table_name(enum np_table t)
{
    static const char *const names[] = {
        [NPT_CLASSIFY] = "classify",
        [NPT_STATE] = "conntrack state",
        [NPT_SPOOF] = "spoof guard",
        [NPT_EGRESS] = "egress rules",
        [NPT_EGRESS_DEFAULT] = "egress default deny",
        [NPT_INGRESS] = "ingress rules",
        [NPT_INGRESS_DEFAULT] = "ingress default deny",
        [NPT_COMMIT] = "commit",
    };
    return (unsigned) t < NPT_N_TABLES ? names[t] : "?";
}

