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
    char *policy, *pod;         /* Filters, or NULL. */
    bool json;
    struct stats_req *next;
};

struct daemon_stats {
    const struct daemon_options *opts;
    const struct engine *engine;
    struct installer *installer;
    struct rule_stats *counters;

    bool reading;               /* Dumps in flight. */
    struct switch_of_flow *rule_flows;  /* The first dump's, kept. */
    size_t n_rule_flows;
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

static bool
resolve(void *ds_, const struct rule_stats_flow *f, struct rule_stats_key *k)
{
    struct daemon_stats *ds = ds_;
    struct np_cookie c;
    if (!np_cookie_decode(f->cookie, &c)) {
        return false;
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
 * this node. */
static bool
keep(void *ds_, const struct rule_stats_key *k)
{
    struct daemon_stats *ds = ds_;
    const struct cluster *cl = engine_cluster(ds->engine);
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
       const char *policy, const char *pod, bool json)
{
    if (!ds->read_ms) {
        char *msg = xasprintf("stats: cannot read the switch's counters: "
                              "%s", ds->error ? ds->error : "no answer");
        control_reply(req, false, msg);
        free(msg);
        return;
    }
    struct rule_stats_filter f = { policy, pod };
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
        answer(ds, r->req, r->policy, r->pod, r->json);
        req_free(r);
    }
}

/* ---- Reading the switch. ---- */

static void
read_failed(struct daemon_stats *ds, const char *error)
{
    free(ds->error);
    ds->error = xstrdup(error);
    ds->reading = false;
    switch_of_flows_free(ds->rule_flows, ds->n_rule_flows);
    ds->rule_flows = NULL;
    ds->n_rule_flows = 0;
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

static void
isolation_dumped(void *ds_, struct switch_of_flows *flows)
{
    struct daemon_stats *ds = ds_;
    if (flows->status != SWITCH_OF_OK) {
        read_failed(ds, flows->error ? flows->error
                    : switch_of_status_to_string(flows->status));
        return;
    }
    size_t n = 0;
    struct rule_stats_flow *all = xcalloc(ds->n_rule_flows + flows->n_flows
                                          + 1, sizeof *all);
    append(all, &n, ds->rule_flows, ds->n_rule_flows);
    append(all, &n, flows->flows, flows->n_flows);
    pods_index(ds);
    rule_stats_update(ds->counters, all, n, resolve, keep, ds);
    strmap_destroy(&ds->pods);
    free(all);
    switch_of_flows_free(ds->rule_flows, ds->n_rule_flows);
    ds->rule_flows = NULL;
    ds->n_rule_flows = 0;
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
rules_dumped(void *ds_, struct switch_of_flows *flows)
{
    struct daemon_stats *ds = ds_;
    if (flows->status != SWITCH_OF_OK) {
        read_failed(ds, flows->error ? flows->error
                    : switch_of_status_to_string(flows->status));
        return;
    }
    ds->rule_flows = flows->flows;
    ds->n_rule_flows = flows->n_flows;
    flows->flows = NULL;
    installer_dump_flows(ds->installer, KIND_COOKIE(NPC_ISOLATION),
                         KIND_MASK, isolation_dumped, ds);
}

static void
read_start(struct daemon_stats *ds)
{
    if (!ds->reading) {
        ds->reading = true;
        installer_dump_flows(ds->installer, KIND_COOKIE(NPC_RULE), KIND_MASK,
                             rules_dumped, ds);
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

static void
cmd_stats(struct control_request *req, int argc, const char *argv[],
          void *ds_)
{
    struct daemon_stats *ds = ds_;
    const char *policy = NULL, *pod = NULL;
    bool json = false;
    char *error = NULL;
    for (int i = 1; i < argc && !error; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--policy") || !strcmp(a, "--pod")) {
            if (i + 1 >= argc) {
                error = xasprintf("stats: %s needs NAMESPACE/NAME", a);
                break;
            }
            const char *v = argv[++i];
            error = check_object(a, v);
            *(!strcmp(a, "--policy") ? &policy : &pod) = v;
        } else {
            error = xasprintf("stats: unknown argument \"%s\" (usage: stats "
                              "[--policy NS/NAME] [--pod NS/NAME] [--json])",
                              a);
        }
    }
    const struct cluster *cl = engine_cluster(ds->engine);
    if (!error && policy) {
        char *ns;
        const char *name = split(policy, &ns);
        if (!cluster_find_netpol(cl, ns, name)) {
            error = xasprintf("stats: --policy %s: no such NetworkPolicy",
                              policy);
        }
        free(ns);
    }
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
        answer(ds, req, policy, pod, json);
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
    control_register("stats", "[--policy NS/NAME] [--pod NS/NAME] [--json]",
                     0, 5, cmd_stats, ds);
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
        switch_of_flows_free(ds->rule_flows, ds->n_rule_flows);
        rule_stats_destroy(ds->counters);
        free(ds->error);
        free(ds);
    }
}
