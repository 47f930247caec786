/* Flow building for the whole-cluster compiler (see compile-ctx.h).
 * Matches are interned (a pod's address match appears in many rules, and
 * a flow keeps an id, not a copy); flows are merged by (table, priority,
 * match) as OpenFlow merges them, so a clause flow shared by rules carries
 * every rule's conjunction action; a conjunction is made of dimensions,
 * lists of matches, one clause each.  At the end the flows become the
 * sorted np_flowset, each clause flow's actions in (id, clause) order. */
#include "compile-ctx.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "np-util.h"
#include "objects.h"

/* ---- Flows under construction. ---- */

/* A flow is either "direct" (it has its own actions) or a clause flow that
 * carries one or more conjunction actions.  A direct flow with the same
 * match swallows clause actions: whatever it matches is already decided. */
struct pflow {
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    uint32_t match;             /* Interned match id. */
    char *actions;              /* Direct actions, or NULL. */
    uint64_t *conj;             /* np_conj_pack() of each conjunction */
    size_t n_conj, allocated_conj;      /* action, in the order added. */
    char *comment;
};

/* Open addressing from a 64-bit key to a flow: the compiler adds every
 * clause flow once per rule that uses it, so this lookup is the hot path. */
struct flowmap {
    uint64_t *keys;
    struct pflow **values;      /* NULL: empty slot. */
    size_t n, mask;
};

static void
flowmap_init(struct flowmap *m)
{
    m->mask = 1023;
    m->n = 0;
    m->keys = xcalloc(m->mask + 1, sizeof *m->keys);
    m->values = xcalloc(m->mask + 1, sizeof *m->values);
}

static void
flowmap_destroy(struct flowmap *m)
{
    free(m->keys);
    free(m->values);
}

static size_t
flowmap_hash(uint64_t key)
{
    key ^= key >> 33;
    key *= UINT64_C(0xff51afd7ed558ccd);
    key ^= key >> 33;
    return key;
}

static struct pflow **
flowmap_slot(struct flowmap *m, uint64_t key)
{
    if (m->n * 2 >= m->mask) {
        struct flowmap bigger = { .mask = m->mask * 2 + 1, .n = m->n };
        bigger.keys = xcalloc(bigger.mask + 1, sizeof *bigger.keys);
        bigger.values = xcalloc(bigger.mask + 1, sizeof *bigger.values);
        for (size_t i = 0; i <= m->mask; i++) {
            if (m->values[i]) {
                size_t j = flowmap_hash(m->keys[i]) & bigger.mask;
                while (bigger.values[j]) {
                    j = (j + 1) & bigger.mask;
                }
                bigger.keys[j] = m->keys[i];
                bigger.values[j] = m->values[i];
            }
        }
        flowmap_destroy(m);
        *m = bigger;
    }
    size_t i = flowmap_hash(key) & m->mask;
    while (m->values[i] && m->keys[i] != key) {
        i = (i + 1) & m->mask;
    }
    m->keys[i] = key;
    return &m->values[i];
}

static uint16_t
rule_priority(const struct ctx *c, uint32_t id)
{
    return np_rule_priority(id, c->buckets);
}

static uint32_t intern(struct ctx *, const char *text);

uint32_t
ctx_intern(struct ctx *c, const char *text)
{
    return intern(c, text);
}

static uint32_t
intern(struct ctx *c, const char *text)
{
    bool created;
    void **slot = strmap_slot(&c->interned, text, &created);
    if (created) {
        APPEND(c->strs, c->n_strs, c->allocated_strs, xstrdup(text));
        *slot = (void *) (uintptr_t) c->n_strs;
    }
    return (uint32_t) (uintptr_t) *slot - 1;
}

static struct pflow *
flow_slot(struct ctx *c, uint8_t table, uint16_t priority, uint32_t match,
          bool *created)
{
    uint64_t key = ((uint64_t) table << 48) | ((uint64_t) priority << 32)
                   | match;
    struct pflow **slot = flowmap_slot(c->flows, key);
    *created = !*slot;
    if (*created) {
        struct pflow *f = xcalloc(1, sizeof *f);
        f->table = table;
        f->priority = priority;
        f->match = match;
        *slot = f;
        c->flows->n++;
    }
    return *slot;
}

/* Adds a flow with its own actions.  The first of several direct flows with
 * one match wins: policies are visited in a fixed order, so the result is
 * deterministic, and any of them decides the same way. */
static void
add_direct_id(struct ctx *c, uint8_t table, uint16_t priority,
              uint64_t cookie, uint32_t match, const char *actions,
              const char *comment)
{
    bool created;
    struct pflow *f = flow_slot(c, table, priority, match, &created);
    if (f->actions) {
        return;
    }
    f->actions = xstrdup(actions);
    f->cookie = cookie;
    free(f->comment);
    f->comment = comment ? xstrdup(comment) : NULL;
    free(f->conj);
    f->conj = NULL;
    f->n_conj = f->allocated_conj = 0;
}

static void
add_direct(struct ctx *c, uint8_t table, uint16_t priority, uint64_t cookie,
           const char *match, const char *actions, const char *comment)
{
    add_direct_id(c, table, priority, cookie, intern(c, match), actions,
                  comment);
}

void
ctx_direct(void *c, uint8_t table, uint16_t priority, uint64_t cookie,
           const char *match, const char *actions, const char *comment)
{
    add_direct(c, table, priority, cookie, match, actions, comment);
}

static void
add_clause(struct ctx *c, uint8_t table, uint16_t priority, uint32_t match,
           uint32_t id, uint8_t k, uint8_t n)
{
    bool created;
    struct pflow *f = flow_slot(c, table, priority, match, &created);
    if (created) {
        f->cookie = np_cookie(c->opts, NPC_CLAUSE, 0, 0);
    }
    uint64_t entry = np_conj_pack(id, k, n);
    if (f->actions || (f->n_conj && f->conj[f->n_conj - 1] == entry)) {
        return;
    }
    APPEND(f->conj, f->n_conj, f->allocated_conj, entry);
}

/* ---- Matches. ---- */

static void
format_addr_match(const struct cidr *cidr, enum addr_field field,
                  char *buf, size_t size)
{
    char a[IP_ADDR_STRLEN];
    ip_addr_format(&cidr->addr, a);
    bool v4 = cidr->addr.family == AF_INET;
    const char *dl = v4 ? "ip" : "ipv6";
    const char *f = (v4 ? (field == FIELD_SRC ? "nw_src" : "nw_dst")
                     : (field == FIELD_SRC ? "ipv6_src" : "ipv6_dst"));
    if (cidr->plen == 0) {
        snprintf(buf, size, "%s", dl);
    } else if (cidr->plen == cidr_max_plen(cidr->addr.family)) {
        snprintf(buf, size, "%s,%s=%s", dl, f, a);
    } else {
        snprintf(buf, size, "%s,%s=%s/%d", dl, f, a, cidr->plen);
    }
}

static struct cidr
host_cidr(const struct ip_addr *addr)
{
    struct cidr cidr = { .addr = *addr, .plen = cidr_max_plen(addr->family) };
    return cidr;
}

void
np_addr_match(const struct cidr *cidr, bool dst, char buf[NP_MATCH_MAX])
{
    format_addr_match(cidr, dst ? FIELD_DST : FIELD_SRC, buf, NP_MATCH_MAX);
}

void
np_host_match(const struct ip_addr *addr, bool dst, char buf[NP_MATCH_MAX])
{
    struct cidr h = host_cidr(addr);
    np_addr_match(&h, dst, buf);
}

static const char *
proto_match(enum np_proto proto, bool v6)
{
    switch (proto) {
    case NP_TCP: return v6 ? "tcp6" : "tcp";
    case NP_UDP: return v6 ? "udp6" : "udp";
    case NP_SCTP: return v6 ? "sctp6" : "sctp";
    }
    abort();
}

/* ---- Dimensions of a conjunction. ---- */

void
conj_dim_add(struct conj_dim *d, uint32_t match)
{
    APPEND(d->matches, d->n, d->allocated, match);
}

void
conj_dim_destroy(struct conj_dim *d)
{
    free(d->matches);
    memset(d, 0, sizeof *d);
}

/* Returns the interned matches of pod 'idx' on 'field', one per address,
 * computing them on first use: a pod appears in many rules. */
const uint32_t *
ctx_pod_matches(struct ctx *c, size_t idx, enum addr_field field)
{
    uint32_t *m = &c->pod_matches[field][c->pod_first_match[idx]];
    if (!c->pod_matched[field][idx]) {
        const struct k8s_pod *pod = c->pods[idx];
        char buf[128];
        for (size_t i = 0; i < pod->n_ips; i++) {
            struct cidr h = host_cidr(&pod->ips[i]);
            format_addr_match(&h, field, buf, sizeof buf);
            m[i] = intern(c, buf);
        }
        c->pod_matched[field][idx] = true;
    }
    return m;
}

void
conj_dim_add_pod(struct ctx *c, struct conj_dim *d, size_t idx,
                 enum addr_field field)
{
    const uint32_t *m = ctx_pod_matches(c, idx, field);
    for (size_t i = 0; i < c->pods[idx]->n_ips; i++) {
        conj_dim_add(d, m[i]);
    }
}

void
conj_dim_add_cidr(struct ctx *c, struct conj_dim *d, const struct cidr *cidr,
                  enum addr_field field)
{
    char buf[128];
    format_addr_match(cidr, field, buf, sizeof buf);
    conj_dim_add(d, intern(c, buf));
}

size_t
np_port_matches(bool v4, bool v6, enum np_proto proto, uint16_t port,
                uint16_t end_port,
                void (*cb)(void *aux, const char *match), void *aux)
{
    size_t n_range = 1;
    for (int is_v6 = 0; is_v6 < 2; is_v6++) {
        if (is_v6 ? !v6 : !v4) {
            continue;
        }
        const char *p = proto_match(proto, is_v6);
        char buf[64];
        if (!port) {
            cb(aux, p);
        } else if (!end_port || end_port == port) {
            snprintf(buf, sizeof buf, "%s,tp_dst=%u", p, port);
            cb(aux, buf);
        } else {
            uint16_t values[32], masks[32];
            n_range = port_range_to_masks(port, end_port, values, masks);
            for (size_t i = 0; i < n_range; i++) {
                if (masks[i] == 0xffff) {
                    snprintf(buf, sizeof buf, "%s,tp_dst=%u", p, values[i]);
                } else {
                    snprintf(buf, sizeof buf, "%s,tp_dst=0x%x/0x%x", p,
                             values[i], masks[i]);
                }
                cb(aux, buf);
            }
        }
    }
    return n_range;
}

struct conj_dim_port_aux {
    struct ctx *c;
    struct conj_dim *d;
};

static void
conj_dim_add_port_cb(void *aux_, const char *match)
{
    struct conj_dim_port_aux *aux = aux_;
    conj_dim_add(aux->d, intern(aux->c, match));
}

/* Adds the port matches of one (protocol, port[-end]) entry. */
void
conj_dim_add_port(struct ctx *c, struct conj_dim *d, enum np_proto proto,
                  uint16_t port, uint16_t end_port, const char *what)
{
    struct conj_dim_port_aux aux = { c, d };
    size_t n = np_port_matches(c->families.v4, c->families.v6, proto, port,
                               end_port, conj_dim_add_port_cb, &aux);
    if (n > 16 && c->families.v4) {
        ctx_warn(c, "%s: port range %u-%u needs %zu flows per clause",
             what, port, end_port, n);
    }
}

void
conj_dim_add_numeric_ports(struct ctx *c, struct conj_dim *d,
                           const struct np_port *ports, size_t n,
                           const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (!ports[i].name) {
            conj_dim_add_port(c, d, ports[i].proto, ports[i].port,
                              ports[i].end_port, what);
        }
    }
}

/* Emits 'spec' as the rule identified by 'rule_key' at 'priority' in
 * 'table': what matches does 'actions', or, when 'est_actions' is not
 * NULL, 'actions' for a new connection and 'est_actions' for an
 * established one.  Returns the rule's id, or 0 if a set is empty. */
static uint32_t
emit_at(struct ctx *c, uint8_t table, uint16_t priority, uint32_t id,
        uint64_t cookie, const char *comment, struct conj_spec *spec,
        const char *actions, const char *est_actions)
{
    for (size_t i = 0; i < spec->n_dims; i++) {
        if (!spec->dims[i].n) {
            return 0;           /* An empty set matches nothing. */
        }
    }
    /* A connection's state splits one flow in two that never overlap: a
     * packet that reaches the policy tables is new or established. */
    static const char *const states[2] = { "ct_state=-est+trk,",
                                           "ct_state=+est+trk," };
    int n_states = est_actions ? 2 : 1;
    if (spec->n_dims == 1) {
        for (size_t i = 0; i < spec->dims[0].n; i++) {
            uint32_t m = spec->dims[0].matches[i];
            for (int st = 0; st < n_states; st++) {
                if (!est_actions) {
                    add_direct_id(c, table, priority, cookie, m, actions,
                                  comment);
                } else {
                    char *match = xasprintf("%s%s", states[st], c->strs[m]);
                    add_direct(c, table, priority, cookie, match,
                               st ? est_actions : actions, comment);
                    free(match);
                }
            }
        }
        return id;
    }
    for (size_t k = 0; k < spec->n_dims; k++) {
        for (size_t i = 0; i < spec->dims[k].n; i++) {
            add_clause(c, table, priority, spec->dims[k].matches[i], id,
                       k + 1, spec->n_dims);
        }
    }
    char match[32];
    np_conj_id_match(id, match);
    if (!est_actions) {
        add_direct(c, table, priority, cookie, match, actions, comment);
        return id;
    }
    char *m = xasprintf("%s%s", states[0], match);
    add_direct(c, table, priority, cookie, m, actions, comment);
    free(m);
    /* ct() needs the match to say IPv4 or IPv6. */
    for (int v6 = 0; v6 < 2; v6++) {
        m = xasprintf("%s%s,%s", states[1], v6 ? "ipv6" : "ip", match);
        add_direct(c, table, priority, cookie, m, est_actions, comment);
        free(m);
    }
    return id;
}

uint32_t
conj_spec_emit(struct ctx *c, uint8_t table, const char *rule_key,
               bool ingress, uint64_t cookie, const char *comment,
               struct conj_spec *spec)
{
    for (size_t i = 0; i < spec->n_dims; i++) {
        if (!spec->dims[i].n) {
            return 0;
        }
    }
    uint32_t id = np_ids_get(c->ids, rule_key);
    char actions[128];
    np_rule_actions(c->opts, ingress, id, actions);
    return emit_at(c, table, rule_priority(c, id), id, cookie, comment, spec,
                   actions, NULL);
}

uint32_t
conj_spec_emit_at(struct ctx *c, uint8_t table, uint16_t priority,
                  const char *rule_key, uint64_t cookie, const char *comment,
                  struct conj_spec *spec, const char *actions,
                  const char *est_actions)
{
    for (size_t i = 0; i < spec->n_dims; i++) {
        if (!spec->dims[i].n) {
            return 0;
        }
    }
    uint32_t id = np_ids_get(c->ids, rule_key);
    char *text = xstrdup(actions);
    /* "%ID" in the actions stands for the rule's id: an Accept records
     * it in a register, as a NetworkPolicy rule does. */
    char *at = strstr(text, "%ID");
    if (at) {
        char *t = xasprintf("%.*s%#"PRIx32"%s", (int) (at - text), text, id,
                            at + 3);
        free(text);
        text = t;
    }
    uint32_t r = emit_at(c, table, priority, id, cookie, comment, spec,
                         text, est_actions);
    free(text);
    return r;
}

void
conj_spec_destroy(struct conj_spec *spec)
{
    for (size_t i = 0; i < spec->n_dims; i++) {
        conj_dim_destroy(&spec->dims[i]);
    }
    spec->n_dims = 0;
}

/* ---- Conjunction text. ---- */

/* Appends the decimal form of 'v' to 'p'; returns the end. */
static char *
put_uint(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = '0' + v % 10;
        v /= 10;
    } while (v);
    while (n) {
        *p++ = tmp[--n];
    }
    return p;
}

static int
compare_u64(const void *a_, const void *b_)
{
    uint64_t a = *(const uint64_t *) a_, b = *(const uint64_t *) b_;
    return a < b ? -1 : a > b;
}

size_t
np_conj_sort(uint64_t *entries, size_t n)
{
    np_qsort(entries, n, sizeof *entries, compare_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!m || entries[m - 1] != entries[i]) {
            entries[m++] = entries[i];
        }
    }
    return m;
}

/* printf() here was a tenth of a large compile. */
char *
np_conj_format(const uint64_t *entries, size_t n)
{
    char *text = xmalloc(n * 40 + 1), *p = text;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }
        memcpy(p, "conjunction(", 12);
        p = put_uint(p + 12, entries[i] >> 16);
        *p++ = ',';
        p = put_uint(p, (entries[i] >> 8) & 0xff);
        *p++ = '/';
        p = put_uint(p, entries[i] & 0xff);
        *p++ = ')';
    }
    *p = '\0';
    return text;
}

/* ---- The flow set. ---- */

static int
compare_flows(const void *a_, const void *b_)
{
    const struct np_flow *a = a_, *b = b_;
    if (a->table != b->table) {
        return a->table < b->table ? -1 : 1;
    }
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    return strcmp(a->match, b->match);
}

void
ctx_flows_init(struct ctx *c)
{
    c->flows = xmalloc(sizeof *c->flows);
    flowmap_init(c->flows);
    strmap_init(&c->interned);
    size_t n_addrs = c->pod_first_match[c->n_pods];
    for (int f = 0; f < 2; f++) {
        c->pod_matches[f] = xmalloc((n_addrs + 1) * sizeof *c->pod_matches[f]);
        c->pod_matched[f] = xcalloc(c->n_pods + 1, sizeof *c->pod_matched[f]);
    }
}

size_t
ctx_flows_finish(struct ctx *c)
{
    struct np_flowset *out = c->out;
    out->flows = xmalloc((c->flows->n + 1) * sizeof *out->flows);
    size_t max_conj = 0;
    for (size_t i = 0; i <= c->flows->mask; i++) {
        struct pflow *f = c->flows->values[i];
        if (!f) {
            continue;
        }
        char *conj = NULL;
        if (!f->actions) {
            size_t n = np_conj_sort(f->conj, f->n_conj);
            max_conj = n > max_conj ? n : max_conj;
            conj = np_conj_format(f->conj, n);
        }
        struct np_flow *of = &out->flows[out->n_flows++];
        of->table = f->table;
        of->priority = f->priority;
        of->cookie = f->cookie;
        of->match = c->strs[f->match];
        of->actions = f->actions ? f->actions : conj;
        free(f->conj);
        of->comment = f->comment;
        free(f);
    }
    np_qsort(out->flows, out->n_flows, sizeof *out->flows, compare_flows);
    out->strs_ = c->strs;
    out->n_strs_ = c->n_strs;

    flowmap_destroy(c->flows);
    free(c->flows);
    strmap_destroy(&c->interned);
    for (int f = 0; f < 2; f++) {
        free(c->pod_matches[f]);
        free(c->pod_matched[f]);
    }
    return max_conj;
}
