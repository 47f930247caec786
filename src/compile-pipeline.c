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

/* ---- Cookies. ---- */

uint64_t
np_cookie(const struct compile_options *opts, enum np_cookie_kind kind,
          uint32_t policy, uint32_t rule)
{
    struct np_cookie c = {
        .generation = opts->generation, .kind = kind, .policy = policy,
    };
    np_cookie_set_slot(&c, rule);
    return np_cookie_encode(&c);
}

/* ---- Infrastructure. ---- */

/* What an infrastructure flow does. */
enum infra_action {
    INFRA_CONTINUE,             /* The continuation: hands the packet on. */
    INFRA_DROP,
    INFRA_CONNTRACK,            /* Through conntrack, then NPT_STATE. */
    INFRA_GOTO,                 /* On to table 'next'. */
    INFRA_UNCUT,                /* Commit, clearing the cut mark; on. */
    INFRA_COMMIT,               /* Commit with the deciding rules; on. */
};

struct infra_flow {
    enum np_table table;
    enum np_priority priority;
    const char *match;
    enum infra_action action;
    enum np_table next;         /* For INFRA_GOTO. */
    const char *comment;        /* Or NULL: the one above still applies. */
};

#define ND_COMMENT "IPv6 neighbor discovery is not subject to NetworkPolicy"

/* The flows of every table that do not depend on the cluster. */
static const struct infra_flow infra_flows[] = {
    /* Address resolution is not policy: NetworkPolicy covers IP only. */
    { NPT_CLASSIFY, PRIO_CLASSIFY_NOT_IP, "arp", INFRA_CONTINUE, 0,
      "ARP is not subject to NetworkPolicy" },
    { NPT_CLASSIFY, PRIO_CLASSIFY_NOT_IP, "icmp6,icmp_type=133",
      INFRA_CONTINUE, 0, ND_COMMENT },
    { NPT_CLASSIFY, PRIO_CLASSIFY_NOT_IP, "icmp6,icmp_type=134",
      INFRA_CONTINUE, 0, ND_COMMENT },
    { NPT_CLASSIFY, PRIO_CLASSIFY_NOT_IP, "icmp6,icmp_type=135",
      INFRA_CONTINUE, 0, ND_COMMENT },
    { NPT_CLASSIFY, PRIO_CLASSIFY_NOT_IP, "icmp6,icmp_type=136",
      INFRA_CONTINUE, 0, ND_COMMENT },
    { NPT_CLASSIFY, PRIO_CLASSIFY_NOT_IP, "icmp6,icmp_type=137",
      INFRA_CONTINUE, 0, ND_COMMENT },
    { NPT_CLASSIFY, PRIO_CLASSIFY_IP, "ip", INFRA_CONNTRACK, 0, NULL },
    { NPT_CLASSIFY, PRIO_CLASSIFY_IP, "ipv6", INFRA_CONNTRACK, 0, NULL },
    { NPT_CLASSIFY, PRIO_MISS, "", INFRA_CONTINUE, 0, NULL },

    /* Replies are not what policies match (their fields are the
     * connection's tuple reversed), so they follow their connection's
     * verdict, which the original direction keeps up to date in ct_mark.
     * ICMP errors (+rel) carry the mark of the connection they are
     * about. */
    { NPT_STATE, PRIO_STATE_INVALID, "ct_state=+inv+trk", INFRA_DROP, 0,
      "invalid for conntrack" },
    /* OVS 3.1's userspace conntrack keeps one entry for all SCTP between
     * two addresses, whatever the ports: a packet to a denied port would
     * mark the entry cut and drop the replies of the allowed associations
     * that share it.  So SCTP replies pass whatever the mark; the original
     * direction is still checked packet by packet. */
    { NPT_STATE, PRIO_STATE_SCTP_REPLY,
      "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT",sctp", INFRA_CONTINUE,
      0, "SCTP replies: one conntrack entry for every association between "
      "two addresses" },
    { NPT_STATE, PRIO_STATE_SCTP_REPLY,
      "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT",sctp6",
      INFRA_CONTINUE, 0, NULL },
    { NPT_STATE, PRIO_STATE_CUT_REPLY,
      "ct_state=-new+est+rpl+trk,ct_mark="CT_MARK_CUT, INFRA_DROP, 0,
      "replies of connections that policies no longer allow" },
    { NPT_STATE, PRIO_STATE_CUT_REPLY,
      "ct_state=-new+rel+trk,ct_mark="CT_MARK_CUT, INFRA_DROP, 0, NULL },
    { NPT_STATE, PRIO_STATE_REPLY, "ct_state=-new+est+rpl+trk",
      INFRA_CONTINUE, 0, "replies of allowed connections" },
    { NPT_STATE, PRIO_STATE_REPLY, "ct_state=-new+rel+trk", INFRA_CONTINUE,
      0, NULL },
    /* What policies allowed when the connection started may have changed
     * since: check again.  In the original direction the packet's fields
     * are the connection's tuple, so the rules match as for the first
     * packet. */
    { NPT_STATE, PRIO_STATE_ESTABLISHED, "ct_state=-new+est-rpl+trk",
      INFRA_GOTO, NPT_SPOOF, "established connections, original direction: "
      "policies again" },
    { NPT_STATE, PRIO_MISS, "", INFRA_GOTO, NPT_SPOOF, "new connections" },

    { NPT_SPOOF, PRIO_MISS, "", INFRA_GOTO, NPT_ADMIN_INGRESS,
      "not from a local pod: ingress checks only" },

    /* Each direction: the admin tier, NetworkPolicy's rules, its default
     * deny, the baseline tier; what no tier decides is allowed.  A rule
     * lookup that misses goes on to the default deny. */
    { NPT_ADMIN_EGRESS, PRIO_MISS, "", INFRA_GOTO, NPT_EGRESS,
      "no admin ClusterNetworkPolicy decides: NetworkPolicy" },
    { NPT_EGRESS, PRIO_MISS, "", INFRA_GOTO, NPT_EGRESS_DEFAULT, NULL },
    { NPT_EGRESS_DEFAULT, PRIO_MISS, "", INFRA_GOTO, NPT_BASELINE_EGRESS,
      "source not isolated for egress" },
    { NPT_BASELINE_EGRESS, PRIO_MISS, "", INFRA_GOTO, NPT_ADMIN_INGRESS,
      "no baseline ClusterNetworkPolicy decides: allowed" },
    { NPT_ADMIN_INGRESS, PRIO_MISS, "", INFRA_GOTO, NPT_INGRESS,
      "no admin ClusterNetworkPolicy decides: NetworkPolicy" },
    { NPT_INGRESS, PRIO_MISS, "", INFRA_GOTO, NPT_INGRESS_DEFAULT, NULL },
    { NPT_INGRESS_DEFAULT, PRIO_MISS, "", INFRA_GOTO, NPT_BASELINE_INGRESS,
      "destination not isolated for ingress" },
    { NPT_BASELINE_INGRESS, PRIO_MISS, "", INFRA_GOTO, NPT_COMMIT,
      "no baseline ClusterNetworkPolicy decides: allowed" },

    /* An established connection was committed when it started.  Only one
     * that a policy change cut and a later change allows again needs
     * another commit: clearing the mark lets its replies pass again. */
    { NPT_COMMIT, PRIO_COMMIT_UNCUT,
      "ct_state=-new+est+trk,ct_mark="CT_MARK_CUT",ip", INFRA_UNCUT, 0,
      "allowed again after a policy change had cut it" },
    { NPT_COMMIT, PRIO_COMMIT_UNCUT,
      "ct_state=-new+est+trk,ct_mark="CT_MARK_CUT",ipv6", INFRA_UNCUT, 0,
      NULL },
    { NPT_COMMIT, PRIO_COMMIT_ESTABLISHED, "ct_state=-new+est+trk",
      INFRA_CONTINUE, 0, "established and still allowed" },
    { NPT_COMMIT, PRIO_COMMIT_NEW, "ip", INFRA_COMMIT, 0,
      "allowed: commit with the deciding rules in ct_label" },
    { NPT_COMMIT, PRIO_COMMIT_NEW, "ipv6", INFRA_COMMIT, 0, NULL },
};

/* The commit of a new connection, without the continuation, malloc'd:
 * ct_label gets the egress rule id in the high 32 bits, the ingress one
 * in the low; 0 means "not isolated in that direction". */
static char *
commit_action(const struct compile_options *o)
{
    return xasprintf("ct(commit,zone=%u,exec("
                     "move:NXM_NX_REG0[]->NXM_NX_CT_LABEL[32..63],"
                     "move:NXM_NX_REG1[]->NXM_NX_CT_LABEL[0..31]))",
                     o->ct_zone);
}

/* The actions of 'f' under 'o', malloc'd: the continuation is the
 * operator's, of any length. */
static char *
infra_actions(const struct compile_options *o, const struct infra_flow *f)
{
    switch (f->action) {
    case INFRA_CONTINUE:
        return xstrdup(o->continuation);
    case INFRA_DROP:
        return xstrdup("drop");
    case INFRA_CONNTRACK:
        return xasprintf("ct(table=%u,zone=%u)", np_tbl(o, NPT_STATE),
                         o->ct_zone);
    case INFRA_GOTO:
        return xasprintf("goto_table:%u", np_tbl(o, f->next));
    case INFRA_UNCUT:
        return xasprintf("ct(commit,zone=%u,exec(set_field:0/0x1->ct_mark)),"
                         "%s", o->ct_zone, o->continuation);
    case INFRA_COMMIT: {
        char *ct = commit_action(o);
        char *actions = xasprintf("%s,%s", ct, o->continuation);
        free(ct);
        return actions;
    }
    }
    abort();
}

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
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    for (size_t i = 0; i < ARRAY_SIZE(infra_flows); i++) {
        const struct infra_flow *f = &infra_flows[i];
        char *actions = infra_actions(o, f);
        gen_direct(g, np_tbl(o, f->table), f->priority, cookie, f->match,
                   actions, f->comment);
        free(actions);
    }
}

/* ---- Spoof guard, ports that may send no IP, the node. ---- */

/* Drops all IP from switch port 'port' in table 't' at 'priority'.
 * 'port' comes from the operator or OVSDB, of any length: no fixed
 * buffer. */
static void
add_port_drops(const struct np_gen *g, const char *port, enum np_table t,
               enum np_priority priority, const char *comment)
{
    const struct compile_options *o = g->opts;
    uint64_t cookie = np_cookie(o, NPC_INFRA, 0, 0);
    for (int v6 = 0; v6 < 2; v6++) {
        char *match = xasprintf("in_port=%s,%s", port, v6 ? "ipv6" : "ip");
        gen_direct(g, np_tbl(o, t), priority, cookie, match, "drop",
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
    snprintf(actions, sizeof actions, "goto_table:%u",
             np_tbl(o, NPT_ADMIN_EGRESS));
    const char *const *ports = NULL;
    size_t n_ports = (o->port_of
                      ? o->port_of(o->port_aux, pod->namespace, pod->name,
                                   &ports)
                      : 0);
    struct strbuf comment;
    strbuf_init(&comment);
    strbuf_printf(&comment, "pod %s/%s%s", pod->namespace, pod->name,
                  !n_ports ? " (no port known)"
                  : n_ports == 1 ? " on port " : " on ports ");
    for (size_t i = 0; i < n_ports; i++) {
        if (i) {
            strbuf_put(&comment, ", ");
        }
        strbuf_put(&comment, ports[i]);
    }
    for (size_t i = 0; i < pod->n_ips; i++) {
        np_host_match(&pod->ips[i], false, buf);
        for (size_t j = 0; j < n_ports; j++) {
            char *match = xasprintf("in_port=%s,%s", ports[j], buf);
            gen_direct(g, t, PRIO_SPOOF_OWN, cookie, match, actions,
                       comment.s);
            free(match);
        }
        if (n_ports) {
            gen_direct(g, t, PRIO_SPOOF_ADDRESS_DROP, cookie, buf, "drop",
                       comment.s);
        } else {
            gen_direct(g, t, PRIO_SPOOF_OWN, cookie, buf, actions, comment.s);
        }
    }
    for (size_t j = 0; j < n_ports; j++) {
        add_port_drops(g, ports[j], NPT_SPOOF, PRIO_SPOOF_PORT_DROP,
                       comment.s);
    }
    strbuf_destroy(&comment);
}

/* A port bound to a pod that gets no flows of its own (not known yet, no
 * address yet, finished, or not on this node) must not carry IP traffic:
 * otherwise a new pod would talk freely, as a non-local source, until its
 * policies are in.  In the classify table, before conntrack: table 1
 * passes replies before the spoof guard looks at ports, so a drop there
 * would let the pod answer connections made to its address. */
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
    add_port_drops(g, bp->port, NPT_CLASSIFY, PRIO_CLASSIFY_PORT_DROP,
                   comment);
    free(comment);
}

/* A port that carries no pod and is neither one of the node's ports nor
 * an uplink (compile_port_role()) sends no IP, as in OVN and Antrea,
 * where a port with no logical port sends nothing: it is a pod's port
 * that its CNI has not bound yet (a chained CNI binds it after the main
 * plugin plugged it), or something nobody told us about.  Treated as an
 * uplink, its traffic would skip the egress checks. */
void
np_gen_unbound(const struct np_gen *g, const char *port)
{
    char *comment = xasprintf("port %s carries no pod and is not an uplink "
                              "or node port: no IP from it", port);
    add_port_drops(g, port, NPT_CLASSIFY, PRIO_CLASSIFY_NO_POD_DROP,
                   comment);
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
    snprintf(ingress, sizeof ingress, "goto_table:%u",
             np_tbl(o, NPT_ADMIN_INGRESS));
    for (size_t i = 0; i < o->n_node_addrs; i++) {
        char addr[IP_ADDR_STRLEN];
        ip_addr_format(&o->node_addrs[i], addr);
        char *from = xasprintf("from this node (%s): always allowed", addr);
        char *to = xasprintf("to this node (%s): always allowed", addr);
        np_host_match(&o->node_addrs[i], false, buf);
        for (size_t j = 0; j < o->n_node_ports; j++) {
            char *match = xasprintf("in_port=%s,%s", o->node_ports[j], buf);
            gen_direct(g, np_tbl(o, NPT_SPOOF), PRIO_SPOOF_NODE, cookie,
                       match, commit, j ? NULL : from);
            free(match);
        }
        np_host_match(&o->node_addrs[i], true, buf);
        gen_direct(g, np_tbl(o, NPT_EGRESS_DEFAULT), PRIO_ISOLATION_TO_NODE,
                   cookie, buf, ingress, to);
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
                 uint32_t pno, size_t n, bool audit)
{
    const struct compile_options *o = g->opts;
    char cut[NP_CUT_ACTION_MAX];
    np_cut_action(o, cut);
    uint8_t t = np_tbl(o, ingress ? NPT_INGRESS_DEFAULT : NPT_EGRESS_DEFAULT);
    char *comment = xasprintf("%s/%s isolated for %s by %s%s%s",
                              pod->namespace, pod->name,
                              ingress ? "ingress" : "egress", first,
                              first_invalid
                              ? " (invalid: isolating with no rules)" : "",
                              n > 1 ? " and others" : "");
    struct np_cookie c = {
        .generation = o->generation, .kind = NPC_ISOLATION, .policy = pno,
        .ingress = ingress,
    };
    uint64_t cookie = np_cookie_encode(&c);
    char *cut_comment = xasprintf("%s: established connections cut",
                                  comment);
    char audit_deny[NP_AUDIT_ACTION_MAX];
    np_audit_action(o, false, ingress, audit_deny);
    char *audit_comment = (audit
                           ? xasprintf("%s: new connections copied to the "
                                       "audit log", comment)
                           : NULL);
    char buf[NP_MATCH_MAX], match[NP_MATCH_MAX + 32];
    for (size_t j = 0; j < pod->n_ips; j++) {
        np_host_match(&pod->ips[j], ingress, buf);
        /* Audited: the copy is the only output, so the packet is
         * dropped whether the meter lets the copy through or not. */
        gen_direct(g, t, PRIO_ISOLATION_DROP, cookie, buf,
                   audit ? audit_deny : "drop",
                   audit ? audit_comment : comment);
        snprintf(match, sizeof match, "ct_state=+est+trk,%s", buf);
        gen_direct(g, t, PRIO_ISOLATION_CUT, cookie, match, cut, cut_comment);
    }
    free(audit_comment);
    free(cut_comment);
    free(comment);
}

void
np_cut_action(const struct compile_options *o, char buf[NP_CUT_ACTION_MAX])
{
    snprintf(buf, NP_CUT_ACTION_MAX,
             "ct(commit,zone=%u,exec(set_field:"CT_MARK_CUT"->ct_mark))",
             o->ct_zone);
}

/* ---- The audit copy. ---- */

void
np_audit_action(const struct compile_options *o, bool allow, bool ingress,
                char buf[NP_AUDIT_ACTION_MAX])
{
    snprintf(buf, NP_AUDIT_ACTION_MAX,
             "controller(max_len=%d,id=%d,userdata=4e.50.%02x.%02x.%02x.00."
             "00.00,meter_id=%"PRIu32")", NP_AUDIT_MAX_LEN,
             NP_AUDIT_CONTROLLER_ID, NP_AUDIT_VERSION,
             allow ? NP_AUDIT_VERDICT_ALLOW : NP_AUDIT_VERDICT_DENY, ingress,
             o->audit_meter);
}

/* A new connection allowed by rule 'id' (policy 'pno', rule 'idx' in
 * its direction) whose namespace is audited: committed as by
 * PRIO_COMMIT_NEW, copied to the daemon, handed on.  The copy carries
 * reg0 and reg1, so the daemon can name both rules. */
void
np_gen_audit_allow(const struct np_gen *g, bool ingress, uint32_t id,
                   uint32_t pno, size_t idx, const char *what)
{
    const struct compile_options *o = g->opts;
    struct np_cookie c = {
        .generation = o->generation, .kind = NPC_AUDIT, .policy = pno,
        .ingress = ingress, .rule = idx,
    };
    uint64_t cookie = np_cookie_encode(&c);
    char *ct = commit_action(o);
    char copy[NP_AUDIT_ACTION_MAX];
    np_audit_action(o, true, ingress, copy);
    char *actions = xasprintf("%s,%s,%s", ct, copy, o->continuation);
    char *comment = xasprintf("%s: new connections copied to the audit log",
                              what);
    for (int v6 = 0; v6 < 2; v6++) {
        char match[64];
        snprintf(match, sizeof match, "reg%d=%#"PRIx32",%s", ingress, id,
                 v6 ? "ipv6" : "ip");
        gen_direct(g, np_tbl(o, NPT_COMMIT),
                   ingress ? PRIO_COMMIT_AUDIT_INGRESS
                   : PRIO_COMMIT_AUDIT_EGRESS, cookie, match, actions,
                   v6 ? NULL : comment);
    }
    free(comment);
    free(actions);
    free(ct);
}

/* ---- What a rule's flows say. ---- */

uint64_t
np_rule_cookie(const struct compile_options *opts, uint32_t pno,
               bool ingress, size_t idx)
{
    struct np_cookie c = {
        .generation = opts->generation, .kind = NPC_RULE, .policy = pno,
        .ingress = ingress, .rule = idx,
    };
    return np_cookie_encode(&c);
}

void
np_rule_actions(const struct compile_options *opts, bool ingress,
                uint32_t id, char buf[128])
{
    /* An allow of NetworkPolicy ends its direction: past the baseline
     * tier, which is only for pods no NetworkPolicy isolates. */
    snprintf(buf, 128, "set_field:%#"PRIx32"->%s,goto_table:%u", id,
             ingress ? "reg1" : "reg0",
             np_tbl(opts, ingress ? NPT_COMMIT : NPT_ADMIN_INGRESS));
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
        [NPT_ADMIN_EGRESS] = "admin tier egress",
        [NPT_EGRESS] = "egress rules",
        [NPT_EGRESS_DEFAULT] = "egress default deny",
        [NPT_BASELINE_EGRESS] = "baseline tier egress",
        [NPT_ADMIN_INGRESS] = "admin tier ingress",
        [NPT_INGRESS] = "ingress rules",
        [NPT_INGRESS_DEFAULT] = "ingress default deny",
        [NPT_BASELINE_INGRESS] = "baseline tier ingress",
        [NPT_COMMIT] = "commit",
    };
    return (unsigned) t < NPT_N_TABLES ? names[t] : "?";
}

