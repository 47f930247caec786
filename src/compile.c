/* The policy compiler, whole-cluster: see include/compile.h for the
 * contract and ovs/pipeline.md for the tables it fills.
 *
 * One compile goes from ctx_init() to ctx_finish(): the infrastructure,
 * the spoof guards of local pods, ports whose pod has no flows and the
 * node (compile-pipeline.c), then policy by policy the local pods it
 * selects (compile-select.c), its rules (compile-rules.c) and at the end
 * the default deny of every isolated pod; every flow goes through
 * compile-flows.c, which merges flows with one match.  compile-ctx.h
 * describes the state they share.  src/incr.c keeps the same table up to
 * date event by event and shares the flows' text (compile-gen.h). */
#include "compile.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "compile-ctx.h"
#include "np-util.h"
#include "objects.h"
#include "strmap.h"

/* ---- Conjunction ids. ---- */

struct np_ids {
    struct strmap by_rule;      /* Rule identity -> (void *) id. */
    uint32_t next_id;
    const char **keys;          /* Id -> its key in 'by_rule'. */
    size_t allocated_keys;
};

struct np_ids *
np_ids_create(void)
{
    struct np_ids *ids = xmalloc(sizeof *ids);
    strmap_init(&ids->by_rule);
    ids->next_id = 1;           /* 0 in a register means "no rule". */
    ids->keys = NULL;
    ids->allocated_keys = 0;
    return ids;
}

void
np_ids_destroy(struct np_ids *ids)
{
    if (ids) {
        strmap_destroy(&ids->by_rule);
        free(ids->keys);
        free(ids);
    }
}

uint32_t
np_ids_get(struct np_ids *ids, const char *rule_key)
{
    bool created;
    void **slot = strmap_slot(&ids->by_rule, rule_key, &created);
    if (created) {
        uint32_t id = ids->next_id++;
        *slot = (void *) (uintptr_t) id;
        /* A loop: the program may link OVS's x2nrealloc(), which grows
         * an empty array to one element only. */
        while (id >= ids->allocated_keys) {
            ids->keys = x2nrealloc(ids->keys, &ids->allocated_keys,
                                   sizeof *ids->keys);
        }
        /* The node holding the slot owns the key, and never moves. */
        ids->keys[id] = ((const struct strmap_node *)
                         ((char *) slot
                          - offsetof(struct strmap_node, value)))->key;
    }
    return (uint32_t) (uintptr_t) *slot;
}

bool
np_ids_rule(const struct np_ids *ids, uint32_t id, struct np_rule_ref *ref)
{
    if (!id || id >= ids->next_id) {
        return false;
    }
    /* "ns/name|d|idx|..." (np_rule_key()). */
    const char *key = ids->keys[id];
    const char *bar = strchr(key, '|');
    const char *slash = memchr(key, '/', bar ? bar - key : 0);
    if (!bar || !slash || (bar[1] != 'i' && bar[1] != 'e') || bar[2] != '|') {
        return false;
    }
    ref->policy = xmemdup0(key, bar - key);
    ref->ingress = bar[1] == 'i';
    ref->index = strtoul(bar + 3, NULL, 10);
    return true;
}

/* ---- Output. ---- */

void
ctx_warn(struct ctx *c, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    struct np_flowset *out = c->out;
    out->warnings = xrealloc(out->warnings,
                             (out->n_warnings + 1) * sizeof *out->warnings);
    out->warnings[out->n_warnings++] = msg;
}

/* Reports policy 'name' as over the flow limit, for 'message'. */
static void
add_rejected(struct ctx *c, const char *name, const char *message,
             size_t flows)
{
    struct np_flowset *out = c->out;
    out->rejected = xrealloc(out->rejected, (out->n_rejected + 1)
                             * sizeof *out->rejected);
    out->rejected[out->n_rejected++] = (struct np_rejected) {
        .policy = xstrdup(name), .message = xstrdup(message),
        .flows = flows,
    };
}

/* ---- Policies. ---- */

struct isolation {
    const char *first;          /* "ns/name" of the first isolating policy. */
    bool first_invalid;         /* It is a fail-closed stand-in. */
    uint32_t pno;
    size_t n;                   /* Policies isolating the pod. */
};

/* Numbers policy 'np' and names it in the output: stores its "ns/name" in
 * '*name', owned by c->out. */
static uint32_t
policy_number(struct ctx *c, const struct k8s_netpol *np, char **name)
{
    *name = xasprintf("%s/%s", np->namespace, np->name);
    return ctx_policy_number(c, *name, *name);
}

uint32_t
ctx_policy_number(struct ctx *c, const char *key, char *name)
{
    /* Policy numbers go into cookies, so they must not shift when another
     * policy comes or goes. */
    uint32_t pno = np_ids_get(c->policy_ids, key) - 1;
    struct np_flowset *out = c->out;
    if (pno >= out->n_names) {
        size_t n = pno + 1;
        out->names = xrealloc(out->names, n * sizeof *out->names);
        memset(&out->names[out->n_names], 0,
               (n - out->n_names) * sizeof *out->names);
        out->n_names = n;
    }
    free(out->names[pno]);
    out->names[pno] = name;
    return pno;
}

/* Every policy's rules, then the default deny of every pod a policy
 * isolates, named after the first policy that does. */
static void
compile_policies(struct ctx *c, const struct cluster *cluster)
{
    size_t n_np;
    const struct k8s_netpol *const *nps = cluster_netpols(cluster, &n_np);
    struct isolation *iso[2];   /* [egress, ingress] per pod. */
    for (int d = 0; d < 2; d++) {
        iso[d] = xcalloc(c->n_pods + 1, sizeof *iso[d]);
    }
    size_t *selected = xmalloc((c->n_pods + 1) * sizeof *selected);

    for (size_t p = 0; p < n_np; p++) {
        const struct k8s_netpol *np = nps[p];
        char *name;
        uint32_t pno = policy_number(c, np, &name);
        size_t n_selected = ctx_select_policy(c, np, selected);
        if (!n_selected) {
            continue;
        }
        for (int ingress = 0; ingress < 2; ingress++) {
            bool isolates = ingress ? np->isolates_ingress
                            : np->isolates_egress;
            if (!isolates) {
                continue;       /* Rules of unlisted directions are ignored. */
            }
            for (size_t i = 0; i < n_selected; i++) {
                struct isolation *is = &iso[ingress][selected[i]];
                if (!is->n++) {
                    is->first = name;
                    is->first_invalid = np->invalid != NULL;
                    is->pno = pno;
                }
            }
        }
        size_t needed;
        c->audit_allow = (compile_audit_mode(
                              c->opts, cluster_find_namespace(
                                  cluster, np->namespace))
                          & NP_AUDIT_ALLOW) != 0;
        char *rejected = compile_policy_rules(c, np, pno, selected,
                                              n_selected, &needed);
        if (rejected) {
            add_rejected(c, name, rejected, needed);
            free(rejected);
        }
    }
    free(selected);

    struct np_gen g = { c->opts, ctx_direct, c };
    for (int ingress = 0; ingress < 2; ingress++) {
        for (size_t i = 0; i < c->n_pods; i++) {
            const struct isolation *is = &iso[ingress][i];
            if (is->n) {
                const struct k8s_namespace *ns = cluster_find_namespace(
                    cluster, c->pods[i]->namespace);
                bool audit = (compile_audit_mode(c->opts, ns)
                              & NP_AUDIT_DENY) != 0;
                np_gen_isolation(&g, c->pods[i], ingress, is->first,
                                 is->first_invalid, is->pno, is->n, audit);
            }
        }
    }
    for (int d = 0; d < 2; d++) {
        free(iso[d]);
    }
}

/* ---- Options. ---- */

void
compile_options_init(struct compile_options *opts)
{
    static const char *const local[] = { "LOCAL" };
    memset(opts, 0, sizeof *opts);
    opts->continuation = "NORMAL";
    opts->ct_zone = 0;
    opts->node_ports = local;
    opts->n_node_ports = 1;
    opts->max_policy_flows = NP_DEFAULT_MAX_POLICY_FLOWS;
    opts->audit = NP_AUDIT_NONE;
    opts->audit_meter = NP_AUDIT_METER_ID;
    opts->peer_class_min = NP_DEFAULT_PEER_CLASS_MIN;
}

int
compile_audit_mode(const struct compile_options *opts,
                   const struct k8s_namespace *ns)
{
    return ns && ns->audit != NP_AUDIT_UNSET ? (int) ns->audit : opts->audit;
}

static bool
port_listed(const char *const *ports, size_t n, const char *name,
            const char *ofport)
{
    for (size_t i = 0; i < n; i++) {
        if ((name && !strcmp(ports[i], name))
            || (ofport && !strcmp(ports[i], ofport))) {
            return true;
        }
    }
    return false;
}

enum compile_port_role
compile_port_role(const struct compile_options *opts, const char *name,
                  const char *ofport, const char *type)
{
    /* What OVS 3.1 knows as tunnels (lib/netdev-vport.c), whatever the
     * datapath: they carry other nodes' traffic. */
    static const char *const uplink_types[] = {
        "geneve", "vxlan", "gre", "ip6gre", "erspan", "ip6erspan", "stt",
        "lisp", "bareudp", "gtpu", "srv6", "patch", "internal",
    };
    if (port_listed(opts->node_ports, opts->n_node_ports, name, ofport)) {
        return COMPILE_PORT_NODE;
    }
    if (port_listed(opts->uplink_ports, opts->n_uplink_ports, name, ofport)) {
        return COMPILE_PORT_UPLINK;
    }
    for (size_t i = 0; type && i < ARRAY_SIZE(uplink_types); i++) {
        if (!strcmp(type, uplink_types[i])) {
            return COMPILE_PORT_UPLINK;
        }
    }
    return COMPILE_PORT_UNBOUND;
}

const char *
compile_port_role_name(enum compile_port_role role)
{
    switch (role) {
    case COMPILE_PORT_POD:
        return "pod";
    case COMPILE_PORT_NODE:
        return "node";
    case COMPILE_PORT_UPLINK:
        return "uplink";
    case COMPILE_PORT_UNBOUND:
        return "unbound";
    }
    return "?";
}

char *
compile_check_port(const char *port)
{
    size_t len = strlen(port);
    if (!len) {
        return xstrdup("empty port name");
    }
    if (strspn(port, "0123456789") == len) {
        char *end;
        unsigned long n = strtoul(port, &end, 10);
        if (len > 5 || n < 1 || n > 0xfeff) {
            return xasprintf("\"%s\" is not a port number from 1 to 65279",
                             port);
        }
        return NULL;
    }
    for (const char *p = port; *p; p++) {
        unsigned char ch = *p;
        if (ch <= ' ' || ch >= 0x7f) {
            return xasprintf("port name has a space, control or non-ASCII "
                             "byte at position %zu", (size_t) (p - port) + 1);
        } else if (strchr(",=()\"\\", ch)) {
            return xasprintf("port name \"%s\" has '%c', which an OpenFlow "
                             "match cannot hold", port, ch);
        }
    }
    if (len > 15) {
        return xasprintf("port name \"%.40s%s\" is longer than 15 "
                         "characters", port, len > 40 ? "..." : "");
    }
    return NULL;
}

bool
compile_pod_is_local(const struct compile_options *opts,
                     const struct k8s_pod *pod)
{
    return np_pod_eligible(pod)
           && (!opts->node
               || (pod->node_name && !strcmp(pod->node_name, opts->node)));
}

/* ---- One compile. ---- */

/* The address families in use: of the pods' addresses and the ipBlocks';
 * IPv4 when there is none. */
static struct family_set
detect_families(const struct cluster *cluster)
{
    struct family_set fam = { false, false };
    size_t n_pods;
    const struct k8s_pod *const *pods = cluster_pods(cluster, &n_pods);
    for (size_t i = 0; i < n_pods; i++) {
        for (size_t j = 0; j < pods[i]->n_ips; j++) {
            if (pods[i]->ips[j].family == AF_INET6) {
                fam.v6 = true;
            } else {
                fam.v4 = true;
            }
        }
    }
    size_t n_np;
    const struct k8s_netpol *const *nps = cluster_netpols(cluster, &n_np);
    for (size_t p = 0; p < n_np; p++) {
        for (int d = 0; d < 2; d++) {
            const struct np_rule *rules = d ? nps[p]->ingress : nps[p]->egress;
            size_t n = d ? nps[p]->n_ingress : nps[p]->n_egress;
            for (size_t r = 0; r < n; r++) {
                for (size_t i = 0; i < rules[r].n_peers; i++) {
                    const struct np_peer *peer = &rules[r].peers[i];
                    if (peer->is_ipblock) {
                        if (peer->block.addr.family == AF_INET6) {
                            fam.v6 = true;
                        } else {
                            fam.v4 = true;
                        }
                    }
                }
            }
        }
    }
    np_cnp_families(cluster, &fam.v4, &fam.v6);
    if (!fam.v6) {
        fam.v4 = true;
    }
    return fam;
}

/* Sets up 'c' to compile 'cluster' with 'opts' and rule priorities spread
 * over 'buckets' levels into 'out'. */
static void
ctx_init(struct ctx *c, const struct cluster *cluster,
         const struct compile_options *opts, unsigned int buckets,
         struct np_flowset *out)
{
    memset(out, 0, sizeof *out);
    out->table_base = opts->table_base;
    out->buckets = buckets;
    *c = (struct ctx) { .opts = opts, .out = out, .buckets = buckets };
    c->pods = cluster_pods(cluster, &c->n_pods);
    c->eligible = xcalloc(c->n_pods + 1, sizeof *c->eligible);
    c->local = xcalloc(c->n_pods + 1, sizeof *c->local);
    c->pod_first_match = xmalloc((c->n_pods + 1)
                                 * sizeof *c->pod_first_match);
    size_t n_addrs = 0;
    for (size_t i = 0; i < c->n_pods; i++) {
        c->eligible[i] = np_pod_eligible(c->pods[i]);
        c->local[i] = compile_pod_is_local(opts, c->pods[i]);
        c->pod_first_match[i] = n_addrs;
        n_addrs += c->pods[i]->n_ips;
    }
    c->pod_first_match[c->n_pods] = n_addrs;
    c->families = detect_families(cluster);
    c->ids = opts->ids ? opts->ids : np_ids_create();
    c->policy_ids = opts->policy_ids ? opts->policy_ids : np_ids_create();
    ctx_select_init(c, cluster);
    ctx_flows_init(c);
}

/* Puts the flows into c->out and frees the rest of 'c'; returns the most
 * conjunction actions any one flow got. */
static size_t
ctx_finish(struct ctx *c)
{
    size_t max_conj = ctx_flows_finish(c);
    ctx_select_destroy(c);
    if (!c->opts->ids) {
        np_ids_destroy(c->ids);
    }
    if (!c->opts->policy_ids) {
        np_ids_destroy(c->policy_ids);
    }
    free(c->eligible);
    free(c->local);
    free(c->pod_first_match);
    return max_conj;
}

/* Compiles with rule priorities spread over 'buckets' levels; returns the
 * most conjunction actions any one flow got. */
static size_t
compile_once(const struct cluster *cluster,
             const struct compile_options *opts, unsigned int buckets,
             struct np_flowset *out)
{
    struct ctx c;
    ctx_init(&c, cluster, opts, buckets, out);
    struct np_gen g = { opts, ctx_direct, &c };
    np_gen_infra(&g);
    for (size_t i = 0; i < c.n_pods; i++) {
        if (c.local[i]) {
            np_gen_spoof(&g, c.pods[i]);
        }
    }
    for (size_t i = 0; i < opts->n_bound_ports; i++) {
        const struct compile_bound_port *bp = &opts->bound_ports[i];
        np_gen_orphan(&g, bp, cluster_find_pod(cluster, bp->ns, bp->name));
    }
    for (size_t i = 0; i < opts->n_unbound_ports; i++) {
        np_gen_unbound(&g, opts->unbound_ports[i]);
    }
    np_gen_node(&g);
    compile_policies(&c, cluster);
    compile_cnps(&c, cluster);
    size_t n_ns;
    const struct k8s_namespace *const *nss = cluster_namespaces(cluster,
                                                                &n_ns);
    for (size_t i = 0; i < n_ns; i++) {
        if (nss[i]->audit_error) {
            ctx_warn(&c, "%s", nss[i]->audit_error);
        }
    }
    return ctx_finish(&c);
}

bool
compile_tier_rules(const struct cluster *cluster,
                   const struct compile_options *opts,
                   const struct cnp_classes *cls, struct np_flowset *out)
{
    struct ctx c;
    ctx_init(&c, cluster, opts, opts->buckets ? opts->buckets : 1, out);
    c.no_label_index = true;
    bool any_subject = compile_cnp_rules(&c, cluster, cls);
    ctx_finish(&c);
    return any_subject;
}

/* OpenFlow messages hold at most 64 kB: about 4,000 conjunction actions on
 * one flow.  A match shared by more rules than this is spread over several
 * priorities (each rule's conjunction lives at one of them, so its clauses
 * stay together); a failed conjunction at one priority falls through to
 * the next, so the verdict is the same. */
#define NP_MAX_CONJ_PER_FLOW 3000
#define NP_MAX_BUCKETS 128

void
compile_cluster(const struct cluster *cluster,
                const struct compile_options *opts, struct np_flowset *out)
{
    unsigned int buckets = opts->buckets ? opts->buckets : 1;
    for (;;) {
        size_t max_conj = compile_once(cluster, opts, buckets, out);
        if (max_conj > NP_MAX_CONJ_PER_FLOW && buckets < NP_MAX_BUCKETS) {
            np_flowset_destroy(out);
            buckets *= 2;
        } else {
            if (max_conj > NP_MAX_CONJ_PER_FLOW) {
                char *msg = xasprintf("a flow carries %zu conjunction actions "
                                      "even over %u priorities: the switch "
                                      "may refuse it", max_conj, buckets);
                out->warnings = xrealloc(out->warnings, (out->n_warnings + 1)
                                         * sizeof *out->warnings);
                out->warnings[out->n_warnings++] = msg;
            }
            break;
        }
    }
}

/* ---- The flow set. ---- */

void
np_flowset_destroy(struct np_flowset *fs)
{
    if (!fs) {
        return;
    }
    for (size_t i = 0; i < fs->n_flows; i++) {
        free(fs->flows[i].actions);
        free((char *) fs->flows[i].comment);
    }
    free(fs->flows);
    for (size_t i = 0; i < fs->n_warnings; i++) {
        free(fs->warnings[i]);
    }
    free(fs->warnings);
    for (size_t i = 0; i < fs->n_rejected; i++) {
        free(fs->rejected[i].policy);
        free(fs->rejected[i].message);
    }
    free(fs->rejected);
    for (size_t i = 0; i < fs->n_names; i++) {
        free(fs->names[i]);
    }
    free(fs->names);
    for (size_t i = 0; i < fs->n_strs_; i++) {
        free(fs->strs_[i]);
    }
    free(fs->strs_);
    memset(fs, 0, sizeof *fs);
}

void
np_flowset_print(const struct np_flowset *fs, FILE *stream)
{
    int last_table = -1;
    const char *last_comment = NULL;
    for (size_t i = 0; i < fs->n_flows; i++) {
        const struct np_flow *f = &fs->flows[i];
        if (f->table != last_table) {
            fprintf(stream, "# table %u: %s\n", f->table,
                    np_table_name(f->table - fs->table_base));
            last_table = f->table;
            last_comment = NULL;
        }
        /* A comment names the flows below it, up to the next comment. */
        const char *comment = f->comment;
        if (!comment && !strncmp(f->actions, "conjunction(", 12)) {
            comment = "conjunction clauses, shared by rules";
        }
        if (comment && (!last_comment || strcmp(comment, last_comment))) {
            fprintf(stream, "# %s\n", comment);
        }
        last_comment = comment;
        fprintf(stream, "table=%u, priority=%u, cookie=0x%"PRIx64", %s%s"
                "actions=%s\n", f->table, f->priority, f->cookie, f->match,
                *f->match ? " " : "", f->actions);
    }
}
