/* The daemon's 'stats' command and the rule counters of /metrics.  See
 * include/daemon-stats.h. */
#include <np-config.h>
#include "daemon-stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "cluster.h"
#include "cnp.h"
#include "control.h"
#include "cookie.h"
#include "daemon.h"
#include "engine.h"
#include "installer.h"
#include "metrics.h"
#include "np-log.h"
#include "np-util.h"
#include "objects.h"
#include "rule-stats.h"
#include "strmap.h"
#include "switch-of.h"

/* A 'stats' command waiting for a read. */
struct stats_req {
    struct daemon_stats *ds;
    struct control_request *req;
    char *policy, *pod, *cnp;   /* Filters, or NULL. */
    bool json;
    struct stats_req *next;
};

/* A read is one flow dump per cookie kind that counts. */
static const enum np_cookie_kind dump_kinds[] = {
    NPC_RULE, NPC_ISOLATION, NPC_CNP,
};
#define N_DUMPS (sizeof dump_kinds / sizeof *dump_kinds)

struct daemon_stats {
    const struct daemon_options *opts;
    const struct engine *engine;
    struct installer *installer;
    struct rule_stats *counters;

    bool reading;               /* Dumps in flight. */
    size_t n_dumped;            /* Dumps of this read answered so far. */
    struct switch_of_flow *dumped[N_DUMPS];     /* Their flows, kept. */
    size_t n_dumped_flows[N_DUMPS];
    double read_ms;             /* engine_now_ms() of the last read; 0:
                                 * none yet. */
    char *error;                /* Why the last read failed, or NULL. */

    /* While resolving: local pods by address text. */
    struct strmap pods;

    struct stats_req *reqs;
    size_t n_reqs;
};

/* ---- Which flow counts for what. ---- */

/* Whether 'pod' gets flows of its own on this node (engine.h). */
static bool
pod_is_local(const struct daemon_stats *ds, const struct k8s_pod *pod)
{
    const char *node = ds->opts->compile.node;
    return (!node || (pod->node_name && !strcmp(pod->node_name, node)))
           && !pod->host_network && pod->n_ips
           && pod->phase != POD_SUCCEEDED && pod->phase != POD_FAILED;
}

static void
pods_index(struct daemon_stats *ds)
{
    size_t n;
    const struct k8s_pod *const *pods
        = cluster_pods(engine_cluster(ds->engine), &n);
    strmap_init(&ds->pods);
    for (size_t i = 0; i < n; i++) {
        if (!pod_is_local(ds, pods[i])) {
            continue;
        }
        for (size_t j = 0; j < pods[i]->n_ips; j++) {
            char a[IP_ADDR_STRLEN];
            ip_addr_format(&pods[i]->ips[j], a);
            bool created;
            *strmap_slot(&ds->pods, a, &created) = (void *) pods[i];
        }
    }
}

/* The ClusterNetworkPolicy named 'name', or NULL. */
static const struct k8s_cnp *
find_cnp(const struct daemon_stats *ds, const char *name)
{
    return cluster_find_cnp(engine_cluster(ds->engine), name);
}

/* Rule 'idx' of 'cnp' in direction 'ingress', or NULL. */
static const struct cnp_rule *
cnp_rule_at(const struct k8s_cnp *cnp, bool ingress, unsigned int idx)
{
    return (idx < (ingress ? cnp->n_ingress : cnp->n_egress)
            ? &(ingress ? cnp->ingress : cnp->egress)[idx] : NULL);
}

/* What 'rule' of 'cnp' does, as compile-cnp.c compiles it. */
static enum rule_stats_action
cnp_rule_action(const struct k8s_cnp *cnp, const struct cnp_rule *rule)
{
    if (cnp->invalid || rule->deny_all) {
        return RULE_STATS_FAIL_CLOSED;
    }
    switch (rule->action) {
    case CNP_ACCEPT:
        return RULE_STATS_ACCEPT;
    case CNP_DENY:
        return RULE_STATS_DROP;
    case CNP_PASS:
        return RULE_STATS_PASS;
    }
    return RULE_STATS_FAIL_CLOSED;
}

/* A tier flow (kind 6): the cookie's policy number names the policy
 * ("ClusterNetworkPolicy NAME", engine_policy_name()), its rule slot the
 * rule; the tier and action are the policy's as the daemon holds it now,
 * the rule's name too. */
static bool
resolve_cnp(struct daemon_stats *ds, const struct np_cookie *c,
            struct rule_stats_key *k)
{
    const struct k8s_cnp *cnp = engine_policy_cnp(ds->engine, c->policy);
    const struct cnp_rule *rule = (cnp ? cnp_rule_at(cnp, c->ingress,
                                                     c->rule) : NULL);
    if (!rule) {
        return false;
    }
    *k = (struct rule_stats_key) {
        .kind = RULE_STATS_CNP, .object = xstrdup(cnp->name),
        .ingress = c->ingress, .rule = c->rule,
        .baseline = cnp->tier == CNP_TIER_BASELINE,
        .action = cnp_rule_action(cnp, rule),
        .name = rule->name ? xstrdup(rule->name) : NULL,
    };
    return true;
}

static bool
resolve(void *ds_, const struct rule_stats_flow *f, struct rule_stats_key *k)
{
    struct daemon_stats *ds = ds_;
    struct np_cookie c;
    if (!np_cookie_decode(f->cookie, &c)) {
        return false;
    }
    if (c.kind == NPC_CNP) {
        return resolve_cnp(ds, &c, k);
    }
    if (c.kind == NPC_RULE) {
        const char *policy = engine_policy_name(ds->engine, c.policy);
        if (!policy) {
            return false;
        }
        *k = (struct rule_stats_key) {
            .kind = RULE_STATS_RULE, .object = xstrdup(policy),
            .ingress = c.ingress, .rule = c.rule,
        };
        return true;
    }
    struct ip_addr addr;
    if (c.kind == NPC_ISOLATION
        && rule_stats_match_address(f->match, c.ingress, &addr)) {
        char a[IP_ADDR_STRLEN];
        ip_addr_format(&addr, a);
        const struct k8s_pod *pod = strmap_get(&ds->pods, a);
        if (pod) {
            *k = (struct rule_stats_key) {
                .kind = RULE_STATS_DENY,
                .object = xasprintf("%s/%s", pod->namespace, pod->name),
                .ingress = c.ingress,
            };
            return true;
        }
    }
    return false;
}

/* Splits "ns/name" into a malloc'd '*ns' and a pointer into 'object'. */
static const char *
split(const char *object, char **ns)
{
    const char *slash = strchr(object, '/');
    *ns = xmemdup0(object, slash ? slash - object : strlen(object));
    return slash ? slash + 1 : "";
}

/* A counter stays while its policy (with that rule) or pod is there, on
 * this node; a ClusterNetworkPolicy rule's while it is in the same tier
 * with the same action. */
static bool
keep(void *ds_, const struct rule_stats_key *k)
{
    struct daemon_stats *ds = ds_;
    const struct cluster *cl = engine_cluster(ds->engine);
    if (k->kind == RULE_STATS_CNP) {
        const struct k8s_cnp *cnp = find_cnp(ds, k->object);
        const struct cnp_rule *rule = (cnp ? cnp_rule_at(cnp, k->ingress,
                                                         k->rule) : NULL);
        return (rule && (cnp->tier == CNP_TIER_BASELINE) == k->baseline
                && cnp_rule_action(cnp, rule) == k->action);
    }
    char *ns;
    const char *name = split(k->object, &ns);
    bool kept;
    if (k->kind == RULE_STATS_RULE) {
        const struct k8s_netpol *np = cluster_find_netpol(cl, ns, name);
        kept = np && k->rule < (k->ingress ? np->n_ingress : np->n_egress);
    } else {
        const struct k8s_pod *pod = cluster_find_pod(cl, ns, name);
        kept = pod && pod_is_local(ds, pod);
    }
    free(ns);
    return kept;
}

/* ---- Answers. ---- */

static double
age_seconds(const struct daemon_stats *ds)
{
    return (engine_now_ms() - ds->read_ms) / 1000.0;
}

static void
req_free(struct stats_req *r)
{
    struct daemon_stats *ds = r->ds;
    for (struct stats_req **p = &ds->reqs; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    ds->n_reqs--;
    free(r->policy);
    free(r->pod);
    free(r->cnp);
    free(r);
}

static void
req_cancel(struct control_request *req, void *r_)
{
    (void) req;
    req_free(r_);
}

/* Answers with the counters as they are; an error if there are none. */
static void
answer(struct daemon_stats *ds, struct control_request *req,
       const char *policy, const char *pod, const char *cnp, bool json)
{
    if (!ds->read_ms) {
        char *msg = xasprintf("stats: cannot read the switch's counters: "
                              "%s", ds->error ? ds->error : "no answer");
        control_reply(req, false, msg);
        free(msg);
        return;
    }
    struct rule_stats_filter f = { policy, pod, cnp };
    char *note = (ds->error
                  ? xasprintf("the last read failed (%s): these are older",
                              ds->error)
                  : NULL);
    char *text = rule_stats_format(ds->counters, &f, json, age_seconds(ds),
                                   note);
    control_reply(req, true, text);
    free(text);
    free(note);
}

static void
answer_all(struct daemon_stats *ds)
{
    while (ds->reqs) {
        struct stats_req *r = ds->reqs;
        answer(ds, r->req, r->policy, r->pod, r->cnp, r->json);
        req_free(r);
    }
}

/* ---- Reading the switch. ---- */

/* Frees the flows of the dumps of this read. */
static void
dumps_free(struct daemon_stats *ds)
{
    for (size_t i = 0; i < ds->n_dumped; i++) {
        switch_of_flows_free(ds->dumped[i], ds->n_dumped_flows[i]);
        ds->dumped[i] = NULL;
        ds->n_dumped_flows[i] = 0;
    }
    ds->n_dumped = 0;
}

static void
read_failed(struct daemon_stats *ds, const char *error)
{
    free(ds->error);
    ds->error = xstrdup(error);
    ds->reading = false;
    dumps_free(ds);
    NP_WARN_RL("stats", "reading the flow counters of bridge %s: %s",
               ds->opts->bridge, error);
    answer_all(ds);
}

static void
append(struct rule_stats_flow *out, size_t *n,
       const struct switch_of_flow *in, size_t n_in)
{
    for (size_t i = 0; i < n_in; i++) {
        out[(*n)++] = (struct rule_stats_flow) {
            .table = in[i].table, .priority = in[i].priority,
            .cookie = in[i].cookie, .match = in[i].match,
            .n_packets = in[i].n_packets, .n_bytes = in[i].n_bytes,
        };
    }
}

/* Every dump answered: the counters. */
static void
read_done(struct daemon_stats *ds)
{
    size_t total = 0;
    for (size_t i = 0; i < N_DUMPS; i++) {
        total += ds->n_dumped_flows[i];
    }
    size_t n = 0;
    struct rule_stats_flow *all = xcalloc(total + 1, sizeof *all);
    for (size_t i = 0; i < N_DUMPS; i++) {
        append(all, &n, ds->dumped[i], ds->n_dumped_flows[i]);
    }
    pods_index(ds);
    rule_stats_update(ds->counters, all, n, resolve, keep, ds);
    strmap_destroy(&ds->pods);
    free(all);
    dumps_free(ds);
    ds->reading = false;
    ds->read_ms = engine_now_ms();
    free(ds->error);
    ds->error = NULL;
    answer_all(ds);
}

/* The cookie and mask of every flow of ours of 'kind', any generation. */
#define KIND_MASK (NP_COOKIE_MASK_OURS | UINT64_C(0xff) << 32)
#define KIND_COOKIE(KIND) (NP_COOKIE_OURS | (uint64_t) (KIND) << 32)

static void
dumped(void *ds_, struct switch_of_flows *flows)
{
    struct daemon_stats *ds = ds_;
    if (flows->status != SWITCH_OF_OK) {
        read_failed(ds, flows->error ? flows->error
                    : switch_of_status_to_string(flows->status));
        return;
    }
    size_t i = ds->n_dumped++;
    ds->dumped[i] = flows->flows;
    ds->n_dumped_flows[i] = flows->n_flows;
    flows->flows = NULL;
    if (ds->n_dumped < N_DUMPS) {
        installer_dump_flows(ds->installer,
                             KIND_COOKIE(dump_kinds[ds->n_dumped]),
                             KIND_MASK, dumped, ds);
    } else {
        read_done(ds);
    }
}

static void
read_start(struct daemon_stats *ds)
{
    if (!ds->reading) {
        ds->reading = true;
        ds->n_dumped = 0;
        installer_dump_flows(ds->installer, KIND_COOKIE(dump_kinds[0]),
                             KIND_MASK, dumped, ds);
    }
}

static bool
fresh(const struct daemon_stats *ds)
{
    return ds->read_ms && !ds->error
           && age_seconds(ds) < DAEMON_STATS_FRESH;
}

/* ---- The command. ---- */

/* Checks that 'v' is "namespace/name"; NULL or a malloc'd message. */
static char *
check_object(const char *option, const char *v)
{
    const char *slash = strchr(v, '/');
    if (!slash || slash == v || !slash[1] || strchr(slash + 1, '/')) {
        return xasprintf("stats: %s \"%s\": expected NAMESPACE/NAME",
                         option, v);
    }
    return NULL;
}

/* "ClusterNetworkPolicy/": the kind, as kubectl writes it before a
 * cluster-scoped object's name.  No namespace can be named so (a
 * namespace's name has no capital), so it cannot be taken for a
 * NetworkPolicy's "NAMESPACE/NAME". */
#define CNP_PREFIX CNP_KIND "/"

/* Sets '*policy' or '*cnp' from --policy's value 'v': "NAMESPACE/NAME" or
 * "ClusterNetworkPolicy/NAME".  Returns NULL or a malloc'd message. */
static char *
check_policy(const struct daemon_stats *ds, const char *v,
             const char **policy, const char **cnp)
{
    size_t len = strlen(CNP_PREFIX);
    if (!strncmp(v, CNP_PREFIX, len)) {
        const char *name = v + len;
        if (!*name || strchr(name, '/')) {
            return xasprintf("stats: --policy \"%s\": expected "
                             CNP_PREFIX "NAME", v);
        }
        if (!find_cnp(ds, name)) {
            return xasprintf("stats: --policy %s: no such "
                             "ClusterNetworkPolicy", v);
        }
        *cnp = name;
        return NULL;
    }
    const char *slash = strchr(v, '/');
    if (!slash || slash == v || !slash[1] || strchr(slash + 1, '/')) {
        return xasprintf("stats: --policy \"%s\": expected NAMESPACE/NAME "
                         "(a NetworkPolicy) or " CNP_PREFIX "NAME", v);
    }
    char *ns;
    const char *name = split(v, &ns);
    bool found = cluster_find_netpol(engine_cluster(ds->engine), ns, name);
    free(ns);
    if (!found) {
        return xasprintf("stats: --policy %s: no such NetworkPolicy", v);
    }
    *policy = v;
    return NULL;
}

#define STATS_USAGE "[--policy NS/NAME|" CNP_PREFIX "NAME] [--pod NS/NAME] " \
                    "[--json]"

static void
cmd_stats(struct control_request *req, int argc, const char *argv[],
          void *ds_)
{
    struct daemon_stats *ds = ds_;
    const char *policy = NULL, *pod = NULL, *cnp = NULL;
    bool json = false;
    char *error = NULL;
    for (int i = 1; i < argc && !error; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--policy")) {
            if (i + 1 >= argc) {
                error = xstrdup("stats: --policy needs NAMESPACE/NAME or "
                                CNP_PREFIX "NAME");
                break;
            }
            error = check_policy(ds, argv[++i], &policy, &cnp);
        } else if (!strcmp(a, "--pod")) {
            if (i + 1 >= argc) {
                error = xasprintf("stats: %s needs NAMESPACE/NAME", a);
                break;
            }
            pod = argv[++i];
            error = check_object(a, pod);
        } else {
            error = xasprintf("stats: unknown argument \"%s\" (usage: stats "
                              STATS_USAGE ")", a);
        }
    }
    const struct cluster *cl = engine_cluster(ds->engine);
    if (!error && pod) {
        char *ns;
        const char *name = split(pod, &ns);
        if (!cluster_find_pod(cl, ns, name)) {
            error = xasprintf("stats: --pod %s: no such pod", pod);
        }
        free(ns);
    }
    if (error) {
        control_reply(req, false, error);
        free(error);
        return;
    }
    if (fresh(ds)) {
        answer(ds, req, policy, pod, cnp, json);
        return;
    }
    if (ds->n_reqs >= DAEMON_STATS_MAX) {
        control_reply(req, false, "stats: too many 'stats' commands waiting "
                      "for the switch; try again");
        return;
    }
    struct stats_req *r = xcalloc(1, sizeof *r);
    r->ds = ds;
    r->req = req;
    r->policy = policy ? xstrdup(policy) : NULL;
    r->pod = pod ? xstrdup(pod) : NULL;
    r->cnp = cnp ? xstrdup(cnp) : NULL;
    r->json = json;
    r->next = ds->reqs;
    ds->reqs = r;
    ds->n_reqs++;
    control_set_cancel(req, req_cancel, r);
    read_start(ds);
}

/* ---- Module. ---- */

struct daemon_stats *
daemon_stats_create(const struct daemon_options *opts,
                    const struct engine *engine, struct installer *installer)
{
    struct daemon_stats *ds = xcalloc(1, sizeof *ds);
    ds->opts = opts;
    ds->engine = engine;
    ds->installer = installer;
    ds->counters = rule_stats_create();
    control_register("stats", STATS_USAGE, 0, 5, cmd_stats, ds);
    return ds;
}

void
daemon_stats_metrics(struct daemon_stats *ds, struct strbuf *b)
{
    if (!fresh(ds)) {
        read_start(ds);
    }
    rule_stats_metrics(ds->counters, b);
    metrics_family(b, "ovs_netpol_rule_counters_age_seconds", "gauge",
                   "Seconds since the rule and default-deny counters were "
                   "read from the switch (-1: never).");
    metrics_sample(b, "ovs_netpol_rule_counters_age_seconds",
                   ds->read_ms ? age_seconds(ds) : -1, NULL);
}

void
daemon_stats_stop(struct daemon_stats *ds)
{
    while (ds->reqs) {
        control_reply(ds->reqs->req, false, "daemon stopping");
        req_free(ds->reqs);
    }
}

void
daemon_stats_destroy(struct daemon_stats *ds)
{
    if (ds) {
        daemon_stats_stop(ds);
        dumps_free(ds);
        rule_stats_destroy(ds->counters);
        free(ds->error);
        free(ds);
    }
}
