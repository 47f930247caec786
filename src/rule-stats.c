/* Counters per rule and per default deny.  See include/rule-stats.h. */
#include <np-config.h>
#include "rule-stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "addr.h"
#include "metrics.h"
#include "np-util.h"
#include "strmap.h"

/* A flow's counters at the last read. */
struct flow_last {
    uint64_t packets, bytes;
    uint64_t seen;              /* The update that last saw it. */
};

struct rule_stats {
    struct strmap flows;        /* "table/priority/match" -> flow_last. */
    struct rule_stats_entry *entries;   /* Sorted. */
    size_t n_entries, allocated;
    struct strmap index;        /* key_string() -> index + 1. */
    uint64_t n_updates;
};

struct rule_stats *
rule_stats_create(void)
{
    struct rule_stats *rs = xcalloc(1, sizeof *rs);
    strmap_init(&rs->flows);
    strmap_init(&rs->index);
    return rs;
}

static void
free_flows(struct strmap *flows)
{
    size_t b;
    for (struct strmap_node *n = strmap_first(flows, &b); n;
         n = strmap_next(flows, n, &b)) {
        free(n->value);
    }
}

void
rule_stats_destroy(struct rule_stats *rs)
{
    if (rs) {
        free_flows(&rs->flows);
        strmap_destroy(&rs->flows);
        strmap_destroy(&rs->index);
        for (size_t i = 0; i < rs->n_entries; i++) {
            free(rs->entries[i].key.object);
            free(rs->entries[i].key.name);
        }
        free(rs->entries);
        free(rs);
    }
}

const char *
rule_stats_action_name(enum rule_stats_action action, bool long_form)
{
    switch (action) {
    case RULE_STATS_ACCEPT:
        return "Accept";
    case RULE_STATS_DROP:
        return "Deny";
    case RULE_STATS_PASS:
        return "Pass";
    case RULE_STATS_FAIL_CLOSED:
        return long_form ? "Deny (fails closed)" : "Deny";
    }
    return "?";
}

/* What the counter is for: every field but 'name'. */
static char *
key_string(const struct rule_stats_key *k)
{
    return xasprintf("%d\x1f%s\x1f%d\x1f%u\x1f%d\x1f%d", (int) k->kind,
                     k->object, k->ingress, k->rule, k->baseline,
                     (int) k->action);
}

static int
compare_entries(const void *a_, const void *b_)
{
    const struct rule_stats_key *a = &((const struct rule_stats_entry *) a_)->key;
    const struct rule_stats_key *b = &((const struct rule_stats_entry *) b_)->key;
    if (a->kind != b->kind) {
        return a->kind < b->kind ? -1 : 1;
    }
    if (a->baseline != b->baseline) {
        return a->baseline ? 1 : -1;
    }
    int c = strcmp(a->object, b->object);
    if (c) {
        return c;
    }
    if (a->ingress != b->ingress) {
        return a->ingress ? 1 : -1;
    }
    if (a->rule != b->rule) {
        return a->rule < b->rule ? -1 : 1;
    }
    return a->action < b->action ? -1 : a->action > b->action;
}

/* The entry for 'key', created at 0 if new; takes 'key->object' and
 * 'key->name' (the entry shows the newest name). */
static struct rule_stats_entry *
entry_for(struct rule_stats *rs, struct rule_stats_key *key)
{
    char *ks = key_string(key);
    bool created;
    void **slot = strmap_slot(&rs->index, ks, &created);
    free(ks);
    if (!created) {
        struct rule_stats_entry *e = &rs->entries[(uintptr_t) *slot - 1];
        free(key->object);
        if (key->name && e->key.name && !strcmp(key->name, e->key.name)) {
            free(key->name);
        } else {
            free(e->key.name);
            e->key.name = key->name;
        }
        return e;
    }
    if (rs->n_entries >= rs->allocated) {
        rs->entries = x2nrealloc(rs->entries, &rs->allocated,
                                 sizeof *rs->entries);
    }
    struct rule_stats_entry *e = &rs->entries[rs->n_entries++];
    *e = (struct rule_stats_entry) { .key = *key };
    *slot = (void *) (uintptr_t) rs->n_entries;
    return e;
}

void
rule_stats_update(struct rule_stats *rs, const struct rule_stats_flow *flows,
                  size_t n, rule_stats_resolve_fn *resolve,
                  rule_stats_keep_fn *keep, void *aux)
{
    uint64_t update = ++rs->n_updates;
    for (size_t i = 0; i < n; i++) {
        const struct rule_stats_flow *f = &flows[i];
        char *fk = xasprintf("%u/%u/%s", f->table, f->priority, f->match);
        bool created;
        void **slot = strmap_slot(&rs->flows, fk, &created);
        free(fk);
        struct flow_last *last = *slot;
        if (created) {
            last = *slot = xcalloc(1, sizeof *last);
        }
        /* A counter that went down belongs to a flow added again since the
         * last read: all of it is new. */
        bool reset = f->n_packets < last->packets || f->n_bytes < last->bytes;
        uint64_t dp = reset ? f->n_packets : f->n_packets - last->packets;
        uint64_t db = reset ? f->n_bytes : f->n_bytes - last->bytes;
        last->packets = f->n_packets;
        last->bytes = f->n_bytes;
        last->seen = update;

        struct rule_stats_key key;
        if (resolve(aux, f, &key)) {
            struct rule_stats_entry *e = entry_for(rs, &key);
            e->packets += dp;
            e->bytes += db;
        }
    }

    /* Flows gone from the switch: a flow with the same match added later is
     * a new one. */
    size_t b;
    struct strmap_node *node = strmap_first(&rs->flows, &b);
    while (node) {
        struct strmap_node *next = strmap_next(&rs->flows, node, &b);
        struct flow_last *last = node->value;
        if (last->seen != update) {
            char *k = xstrdup(node->key);
            free(strmap_remove(&rs->flows, k));
            free(k);
        }
        node = next;
    }

    /* Drop the keys whose object is gone, sort, index again. */
    size_t j = 0;
    for (size_t i = 0; i < rs->n_entries; i++) {
        if (keep(aux, &rs->entries[i].key)) {
            rs->entries[j++] = rs->entries[i];
        } else {
            free(rs->entries[i].key.object);
            free(rs->entries[i].key.name);
        }
    }
    rs->n_entries = j;
    if (rs->n_entries) {
        qsort(rs->entries, rs->n_entries, sizeof *rs->entries,
              compare_entries);
    }
    strmap_destroy(&rs->index);
    strmap_init(&rs->index);
    for (size_t i = 0; i < rs->n_entries; i++) {
        char *ks = key_string(&rs->entries[i].key);
        bool created;
        *strmap_slot(&rs->index, ks, &created) = (void *) (uintptr_t) (i + 1);
        free(ks);
    }
}

const struct rule_stats_entry *
rule_stats_entries(const struct rule_stats *rs, size_t *n)
{
    *n = rs->n_entries;
    return rs->entries;
}

uint64_t
rule_stats_n_updates(const struct rule_stats *rs)
{
    return rs->n_updates;
}

/* ---- Reading a flow. ---- */

bool
rule_stats_match_address(const char *match, bool ingress,
                         struct ip_addr *addr)
{
    const char *fields[2] = { ingress ? "nw_dst=" : "nw_src=",
                              ingress ? "ipv6_dst=" : "ipv6_src=" };
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(fields[i]);
        for (const char *p = match; (p = strstr(p, fields[i])); p += len) {
            if (p != match && p[-1] != ',') {
                continue;       /* E.g. "tun_ipv6_dst=". */
            }
            const char *v = p + len;
            size_t vlen = strcspn(v, ",/ ");
            char buf[IP_ADDR_STRLEN + 1];
            if (vlen >= sizeof buf) {
                return false;
            }
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return ip_addr_parse(buf, addr);
        }
    }
    return false;
}

/* ---- Output. ---- */

/* The filter's object of 'kind', or NULL. */
static const char *
filter_object(const struct rule_stats_filter *f, enum rule_stats_kind kind)
{
    switch (kind) {
    case RULE_STATS_RULE:
        return f->policy;
    case RULE_STATS_DENY:
        return f->pod;
    case RULE_STATS_CNP:
        return f->cnp;
    }
    return NULL;
}

/* Whether the counters of 'kind' are shown at all: with no filter, all;
 * with one, only its kind. */
static bool
kind_shown(const struct rule_stats_filter *f, enum rule_stats_kind kind)
{
    return filter_object(f, kind) || (!f->policy && !f->pod && !f->cnp);
}

static bool
selected(const struct rule_stats_entry *e,
         const struct rule_stats_filter *f)
{
    const char *object = filter_object(f, e->key.kind);
    return (object ? !strcmp(object, e->key.object)
            : kind_shown(f, e->key.kind));
}

/* Splits "ns/name" into 'j' as 'ns_field' and 'name_field'. */
static void
set_object(json_t *j, const char *object, const char *name_field)
{
    const char *slash = strchr(object, '/');
    char *ns = xmemdup0(object, slash ? slash - object : 0);
    json_object_set_new(j, "namespace", json_string(ns));
    json_object_set_new(j, name_field, json_string(slash ? slash + 1
                                                   : object));
    free(ns);
}

static char *
format_json(const struct rule_stats *rs, const struct rule_stats_filter *f,
            double age, const char *note)
{
    json_t *top = json_object();
    json_t *rules = json_array();
    json_t *denied = json_array();
    json_t *cnp_rules = json_array();
    json_object_set_new(top, "age_seconds", json_real(age));
    if (note) {
        json_object_set_new(top, "note", json_string(note));
    }
    for (size_t i = 0; i < rs->n_entries; i++) {
        const struct rule_stats_entry *e = &rs->entries[i];
        if (!selected(e, f)) {
            continue;
        }
        json_t *j = json_object();
        if (e->key.kind == RULE_STATS_CNP) {
            json_object_set_new(j, "policy", json_string(e->key.object));
            json_object_set_new(j, "tier", json_string(e->key.baseline
                                                       ? "Baseline"
                                                       : "Admin"));
            json_object_set_new(j, "direction",
                                json_string(e->key.ingress ? "ingress"
                                            : "egress"));
            json_object_set_new(j, "rule", json_integer(e->key.rule));
            json_object_set_new(j, "name", (e->key.name
                                            ? json_string(e->key.name)
                                            : json_null()));
            json_object_set_new(j, "action", json_string(
                                    rule_stats_action_name(e->key.action,
                                                           false)));
            json_object_set_new(j, "fail_closed", json_boolean(
                                    e->key.action == RULE_STATS_FAIL_CLOSED));
            json_object_set_new(j, "packets", json_integer(e->packets));
            json_object_set_new(j, "bytes", json_integer(e->bytes));
            json_array_append_new(cnp_rules, j);
            continue;
        }
        bool rule = e->key.kind == RULE_STATS_RULE;
        set_object(j, e->key.object, rule ? "policy" : "pod");
        json_object_set_new(j, "direction",
                            json_string(e->key.ingress ? "ingress"
                                        : "egress"));
        if (rule) {
            json_object_set_new(j, "rule", json_integer(e->key.rule));
        }
        json_object_set_new(j, "packets", json_integer(e->packets));
        json_object_set_new(j, "bytes", json_integer(e->bytes));
        json_array_append_new(rule ? rules : denied, j);
    }
    json_object_set_new(top, "rules", rules);
    json_object_set_new(top, "denied", denied);
    json_object_set_new(top, "cnp_rules", cnp_rules);
    char *s = json_dumps(top, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(top);
    char *out = xasprintf("%s\n", s);
    free(s);
    return out;
}

/* The ClusterNetworkPolicy section: one line per rule, the rule's name
 * last (it may be long). */
static void
format_cnp(const struct rule_stats *rs, const struct rule_stats_filter *f,
           struct strbuf *b)
{
    strbuf_printf(b, "\nClusterNetworkPolicy rules (packets each rule "
                  "matched, in the original direction:\n"
                  "what a Deny dropped, what an Accept or a Pass let on):\n");
    int w_policy = 6, w_action = 6;
    size_t n = 0;
    for (size_t i = 0; i < rs->n_entries; i++) {
        const struct rule_stats_entry *e = &rs->entries[i];
        if (e->key.kind == RULE_STATS_CNP && selected(e, f)) {
            int len = strlen(e->key.object);
            w_policy = len > w_policy ? len : w_policy;
            len = strlen(rule_stats_action_name(e->key.action, true));
            w_action = len > w_action ? len : w_action;
            n++;
        }
    }
    if (!n) {
        strbuf_printf(b, "  %s\n", f->cnp
                      ? "none: no rule flows of this ClusterNetworkPolicy "
                        "are installed on this node"
                      : "none: no ClusterNetworkPolicy rules are installed "
                        "on this node");
        return;
    }
    strbuf_printf(b, "  %-*s  %-8s %-9s %5s  %-*s %14s %16s  %s\n", w_policy,
                  "POLICY", "TIER", "DIRECTION", "RULE", w_action, "ACTION",
                  "PACKETS", "BYTES", "NAME");
    for (size_t i = 0; i < rs->n_entries; i++) {
        const struct rule_stats_entry *e = &rs->entries[i];
        if (e->key.kind != RULE_STATS_CNP || !selected(e, f)) {
            continue;
        }
        strbuf_printf(b, "  %-*s  %-8s %-9s %5u  %-*s %14"PRIu64" %16"PRIu64,
                      w_policy, e->key.object,
                      e->key.baseline ? "Baseline" : "Admin",
                      e->key.ingress ? "ingress" : "egress", e->key.rule,
                      w_action, rule_stats_action_name(e->key.action, true),
                      e->packets, e->bytes);
        if (e->key.name) {
            /* Any text: quoted, so that a newline cannot start a line. */
            char *q = np_quote(e->key.name, strlen(e->key.name));
            strbuf_printf(b, "  %s", q);
            free(q);
        }
        strbuf_printf(b, "\n");
    }
}

char *
rule_stats_format(const struct rule_stats *rs,
                  const struct rule_stats_filter *f, bool json, double age,
                  const char *note)
{
    if (json) {
        return format_json(rs, f, age, note);
    }
    struct strbuf b;
    strbuf_init(&b);
    strbuf_printf(&b, "counters since the daemon started, read from the "
                  "switch %.1f s ago\n", age);
    if (note) {
        strbuf_printf(&b, "note: %s\n", note);
    }
    /* Column widths: the longest name shown. */
    int w[2] = { 6, 3 };
    size_t n[2] = { 0, 0 };
    for (size_t i = 0; i < rs->n_entries; i++) {
        const struct rule_stats_entry *e = &rs->entries[i];
        if (e->key.kind != RULE_STATS_CNP && selected(e, f)) {
            int k = e->key.kind == RULE_STATS_RULE ? 0 : 1;
            int len = strlen(e->key.object);
            w[k] = len > w[k] ? len : w[k];
            n[k]++;
        }
    }
    if (kind_shown(f, RULE_STATS_RULE)) {
        strbuf_printf(&b, "\nNetworkPolicy rules (packets each rule "
                      "allowed, in the original direction):\n");
        if (!n[0]) {
            strbuf_printf(&b, "  %s\n", f->policy
                          ? "none: no rule flows of this policy are "
                            "installed on this node"
                          : "none: no policy rules are installed on this "
                            "node");
        } else {
            strbuf_printf(&b, "  %-*s  %-9s %5s %14s %16s\n", w[0],
                          "POLICY", "DIRECTION", "RULE", "PACKETS",
                          "BYTES");
        }
        for (size_t i = 0; i < rs->n_entries; i++) {
            const struct rule_stats_entry *e = &rs->entries[i];
            if (e->key.kind == RULE_STATS_RULE && selected(e, f)) {
                strbuf_printf(&b, "  %-*s  %-9s %5u %14"PRIu64" %16"PRIu64
                              "\n", w[0], e->key.object,
                              e->key.ingress ? "ingress" : "egress",
                              e->key.rule, e->packets, e->bytes);
            }
        }
    }
    if (kind_shown(f, RULE_STATS_DENY)) {
        strbuf_printf(&b, "\ndefault deny (packets dropped because no rule "
                      "allowed them):\n");
        if (!n[1]) {
            strbuf_printf(&b, "  %s\n", f->pod
                          ? "none: this pod is not isolated on this node"
                          : "none: no pod of this node is isolated");
        } else {
            strbuf_printf(&b, "  %-*s  %-9s %14s %16s\n", w[1], "POD",
                          "DIRECTION", "PACKETS", "BYTES");
        }
        for (size_t i = 0; i < rs->n_entries; i++) {
            const struct rule_stats_entry *e = &rs->entries[i];
            if (e->key.kind == RULE_STATS_DENY && selected(e, f)) {
                strbuf_printf(&b, "  %-*s  %-9s %14"PRIu64" %16"PRIu64"\n",
                              w[1], e->key.object,
                              e->key.ingress ? "ingress" : "egress",
                              e->packets, e->bytes);
            }
        }
    }
    if (kind_shown(f, RULE_STATS_CNP)) {
        format_cnp(rs, f, &b);
    }
    return strbuf_steal(&b);
}

/* One family of 'kind' with 'packets' or bytes; nothing at all without a
 * sample (a family of no samples says nothing, and strict parsers, ours
 * in tests/daemon/t-http.py among them, refuse it). */
static void
write_family(const struct rule_stats *rs, struct strbuf *b,
             enum rule_stats_kind kind, bool packets, const char *name,
             const char *help)
{
    bool declared = false;
    for (size_t i = 0; i < rs->n_entries; i++) {
        const struct rule_stats_entry *e = &rs->entries[i];
        if (e->key.kind != kind) {
            continue;
        }
        if (!declared) {
            metrics_family(b, name, "counter", help);
            declared = true;
        }
        const char *dir = e->key.ingress ? "ingress" : "egress";
        double v = packets ? e->packets : e->bytes;
        if (kind == RULE_STATS_CNP) {
            char rule[16];
            snprintf(rule, sizeof rule, "%u", e->key.rule);
            metrics_sample(b, name, v, "policy", e->key.object,
                           "tier", e->key.baseline ? "Baseline" : "Admin",
                           "direction", dir, "rule", rule, "action",
                           rule_stats_action_name(e->key.action, false),
                           "fail_closed",
                           (e->key.action == RULE_STATS_FAIL_CLOSED
                            ? "true" : "false"), NULL);
            continue;
        }
        const char *slash = strchr(e->key.object, '/');
        char *ns = xmemdup0(e->key.object,
                            slash ? slash - e->key.object : 0);
        const char *obj = slash ? slash + 1 : e->key.object;
        if (kind == RULE_STATS_RULE) {
            char rule[16];
            snprintf(rule, sizeof rule, "%u", e->key.rule);
            metrics_sample(b, name, v, "namespace", ns, "policy", obj,
                           "direction", dir, "rule", rule, NULL);
        } else {
            metrics_sample(b, name, v, "namespace", ns, "pod", obj,
                           "direction", dir, NULL);
        }
        free(ns);
    }
}

void
rule_stats_metrics(const struct rule_stats *rs, struct strbuf *b)
{
    write_family(rs, b, RULE_STATS_RULE, true,
                 "ovs_netpol_rule_packets_total",
                 "Packets a NetworkPolicy rule allowed on this node (every "
                 "packet of the original direction), since the daemon "
                 "started.");
    write_family(rs, b, RULE_STATS_RULE, false,
                 "ovs_netpol_rule_bytes_total",
                 "Bytes of those packets.");
    write_family(rs, b, RULE_STATS_DENY, true,
                 "ovs_netpol_denied_packets_total",
                 "Packets a pod of this node's default deny dropped (no "
                 "rule allowed them), since the daemon started.");
    write_family(rs, b, RULE_STATS_DENY, false,
                 "ovs_netpol_denied_bytes_total",
                 "Bytes of those packets.");
    write_family(rs, b, RULE_STATS_CNP, true,
                 "ovs_netpol_cnp_rule_packets_total",
                 "Packets a ClusterNetworkPolicy rule matched on this node "
                 "(every packet of the original direction; Deny: dropped, "
                 "Accept and Pass: let on), since the daemon started.");
    write_family(rs, b, RULE_STATS_CNP, false,
                 "ovs_netpol_cnp_rule_bytes_total",
                 "Bytes of those packets.");
}
