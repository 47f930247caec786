/* Randomized churn of the engine (issue 8): on a generated cluster of
 * about 600 pods, 40 namespaces and 120 policies, 10,000 random pod,
 * namespace, switch port and policy events go through the engine in
 * batches of random sizes, and every 100 events the incremental table
 * must equal a full recompute.  Once per policy mix of
 * bench/gen_cluster.py:
 *
 *   old    narrow selectors, mostly within a namespace;
 *   broad  peers that select whole namespaces, or sets of them, by the
 *          labels they share (env, team, tier), `namespaceSelector: {}`
 *          with a pod selector, many policies in big namespaces, pods
 *          that many rules select as peers.
 *
 * Both mixes also carry what tests/cases covers one case at a time:
 * ipBlocks with excepts in both families (some over the pod network, so
 * that pods move in and out of them), named ports that other pods number
 * otherwise (also behind an ipBlock in egress, and in egress with no
 * 'to'), endPort ranges, UDP and SCTP, each policyTypes, empty and
 * expression selectors, hostNetwork, finished and address-less pods, pods
 * on this node (node-1) and on others, and switch ports that come, go,
 * are replaced and give pods their addresses, and ports that carry no pod
 * (unbound ones, which drop IP, uplinks, node ports) that come, go,
 * change role and get bound, as a chained CNI binds a pod's port.
 *
 * ClusterNetworkPolicies of both tiers (subjects by namespace and pod
 * labels, every action, equal priorities, namespaces, pods, networks and
 * nodes peers, a peer of a newer API that fails closed, numbered and named
 * ports) come, change and go, and so do the Node objects that their
 * 'nodes' peers select.
 *
 * The events lean towards what makes invalidation hard: relabels of the
 * pods most rules select as peers and of local pods, addresses that
 * cross ipBlock and except boundaries, namespace relabels under
 * namespace selectors, cascades of deletes.
 *
 * Environment:
 *   CHURN_SEED    seed of both mixes (default 1); a failure prints it
 *   CHURN_EVENTS  events per mix (default 10000; tests/valgrind.sh asks
 *                 for fewer) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "compile.h"
#include "engine.h"
#include "flowtab.h"
#include "np-util.h"
#include "objects.h"
#include <jansson.h>

/* The comparison interval of the issue. */
#define CHECK_EVERY 100
/* Flows a failure report lists. */
#define REPORT_FLOWS 20
/* Nodes; node-1 is the engine's own. */
#define N_NODES 5
/* Sizes the churn keeps the cluster at: deletes turn into adds below them
 * and adds into deletes 15% above, so that the cluster neither dwindles
 * (a namespace's delete takes its pods and policies along) nor grows the
 * run slower. */
#define TARGET_PODS 600
#define TARGET_NAMESPACES 40
#define TARGET_POLICIES 120
#define TARGET_CNPS 8

/* ---- Random numbers. ---- */

/* splitmix64: small, and the same sequence on every platform, so that a
 * seed replays a failure anywhere. */
struct rng {
    uint64_t state;
};

static uint64_t
rng_next(struct rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double
rng_real(struct rng *r)
{
    return (rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* A number in [0, n), n > 0 (the modulo bias does not matter here). */
static size_t
rng_below(struct rng *r, size_t n)
{
    assert_true(n > 0);
    return rng_next(r) % n;
}

static bool
rng_chance(struct rng *r, double p)
{
    return rng_real(r) < p;
}

static int
rng_between(struct rng *r, int lo, int hi)
{
    return lo + (int) rng_below(r, hi - lo + 1);
}

/* An index in [0, n) drawn with weights 'w' (at least one positive). */
static size_t
rng_weighted(struct rng *r, const double *w, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        total += w[i];
    }
    double x = rng_real(r) * total;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] > 0) {
            if (x < w[i]) {
                return i;
            }
            x -= w[i];
            last = i;
        }
    }
    return last;                /* Rounding. */
}

#define PICK(R, ARRAY) ((ARRAY)[rng_below(R, ARRAY_SIZE(ARRAY))])

/* ---- What runs in the cluster. ---- */

struct port_def {
    const char *name;           /* NULL ends a list. */
    int port;
    const char *proto;
};

/* An application of gen_cluster.py's archetypes: its tier and role labels
 * and its container ports.  The same port name has other numbers in other
 * templates, as upstream charts have. */
struct app_template {
    const char *name, *tier, *role;
    double weight;
    struct port_def ports[5];
};

static const struct app_template app_templates[] = {
    { "gateway", "edge", "proxy", 3,
      { { "http", 80, "TCP" }, { "https", 443, "TCP" },
        { "metrics", 9113, "TCP" } } },
    { "envoy-edge", "edge", "proxy", 2,
      { { "http", 8080, "TCP" }, { "https", 8443, "TCP" },
        { "metrics", 9090, "TCP" } } },
    { "web", "frontend", "web", 4,
      { { "http", 8080, "TCP" }, { "metrics", 9090, "TCP" } } },
    { "storefront", "frontend", "web", 3, { { "http", 80, "TCP" } } },
    { "ui", "frontend", "web", 3,
      { { "http", 3000, "TCP" }, { "metrics", 9100, "TCP" } } },
    { "api", "backend", "api", 8,
      { { "http", 8080, "TCP" }, { "grpc", 50051, "TCP" },
        { "metrics", 9090, "TCP" } } },
    { "orders", "backend", "api", 6,
      { { "http", 8080, "TCP" }, { "metrics", 8081, "TCP" } } },
    { "users", "backend", "api", 6,
      { { "grpc", 9000, "TCP" }, { "metrics", 9090, "TCP" } } },
    { "cart", "backend", "api", 5, { { "http", 5000, "TCP" } } },
    { "payments", "backend", "api", 5,
      { { "http", 8080, "TCP" }, { "grpc", 50051, "TCP" },
        { "metrics", 9090, "TCP" } } },
    { "worker", "backend", "worker", 5, { { "metrics", 9090, "TCP" } } },
    { "indexer", "backend", "worker", 3,
      { { "statsd", 8125, "UDP" }, { "metrics", 9102, "TCP" } } },
    { "cron", "backend", "batch", 2, { { "metrics", 9091, "TCP" } } },
    { "postgres", "data", "db", 4,
      { { "postgresql", 5432, "TCP" }, { "metrics", 9187, "TCP" } } },
    { "mysql", "data", "db", 2,
      { { "mysql", 3306, "TCP" }, { "metrics", 9104, "TCP" } } },
    { "redis", "cache", "cache", 4,
      { { "redis", 6379, "TCP" }, { "metrics", 9121, "TCP" } } },
    { "kafka", "messaging", "queue", 3,
      { { "kafka", 9092, "TCP" }, { "metrics", 9308, "TCP" } } },
    { "sip-proxy", "telecom", "signalling", 1,
      { { "sip", 5060, "UDP" }, { "sip-tcp", 5060, "TCP" },
        { "sip-sctp", 5060, "SCTP" }, { "metrics", 9090, "TCP" } } },
    { "diameter-gw", "telecom", "signalling", 1,
      { { "diameter", 3868, "SCTP" }, { "diameter-tcp", 3868, "TCP" },
        { "metrics", 9090, "TCP" } } },
};

/* The shared pods of the system namespaces: the peers of many rules. */
struct system_app {
    const char *ns, *name;
    const char *key, *value;    /* Its identifying label. */
    bool host_network;          /* One pod per node. */
    int replicas;
    bool broad_only;
    struct port_def ports[4];
};

static const struct system_app system_apps[] = {
    { "kube-system", "coredns", "k8s-app", "kube-dns", false, 2, false,
      { { "dns", 53, "UDP" }, { "dns-tcp", 53, "TCP" },
        { "metrics", 9153, "TCP" } } },
    { "kube-system", "kube-proxy", "k8s-app", "kube-proxy", true, 0, false,
      { { "metrics", 10249, "TCP" } } },
    { "monitoring", "prometheus", "app", "prometheus", false, 2, false,
      { { "web", 9090, "TCP" } } },
    { "monitoring", "node-exporter", "app", "node-exporter", true, 0, false,
      { { "metrics", 9100, "TCP" } } },
    { "monitoring", "grafana", "app", "grafana", false, 1, false,
      { { "http", 3000, "TCP" } } },
    { "ingress-nginx", "controller", "app.kubernetes.io/name",
      "ingress-nginx", false, 3, false,
      { { "http", 80, "TCP" }, { "https", 443, "TCP" },
        { "metrics", 10254, "TCP" } } },
    { "observability", "otel-collector", "app", "otel-collector", false, 3,
      true,
      { { "otlp-grpc", 4317, "TCP" }, { "otlp-http", 4318, "TCP" },
        { "metrics", 8888, "TCP" } } },
};

static const char *const products[] = {
    "shop", "payments", "identity", "search", "media", "analytics",
    "billing", "logistics", "crm", "platform", "data", "ml", "support",
    "marketing", "inventory", "messaging", "maps", "risk", "ledger",
    "portal", "voice", "ads", "catalog", "travel",
};
static const char *const envs[] = {
    "prod", "prod", "prod", "staging", "staging", "dev", "qa",
};
static const char *const teams[] = {
    "alpha", "bravo", "core", "data", "edge", "growth", "infra", "mobile",
    "web", "risk", "sre", "telco",
};
static const char *const ns_tiers[] = { "web", "services", "data",
                                        "platform" };
static const char *const tiers[] = {
    "edge", "frontend", "backend", "data", "cache", "messaging", "telecom",
};
static const char *const roles[] = {
    "proxy", "web", "api", "worker", "batch", "db", "cache", "queue",
    "signalling",
};

/* Upstream tiers come first: who talks to whom in app-ingress. */
static int
tier_rank(const char *tier)
{
    return (!strcmp(tier, "edge") ? 0
            : !strcmp(tier, "frontend") ? 1
            : !strcmp(tier, "backend") || !strcmp(tier, "telecom") ? 2
            : 3);
}

/* ipBlocks, with excepts.  Pod addresses are 10.(128+k).0.0/16 on node-k
 * (its "low" addresses in 10.(128+k).0.0/20, the rest above) and
 * fd00:10:k::/48 (low: the first /120): the pod-network blocks below cut
 * through them, so that address changes move pods in and out of blocks
 * and excepts. */
struct block {
    const char *cidr;
    const char *excepts[3];
};

static const struct block pod_blocks[] = {
    { "10.128.0.0/9", { "10.129.0.0/16" } },   /* All but node-1's. */
    { "10.129.0.0/16", { "10.129.0.0/20" } },  /* Node-1 but the low. */
    { "10.130.0.0/15", { NULL } },             /* Node-2 and node-3. */
    { "10.129.0.0/20", { "10.129.0.0/24", "10.129.8.0/22" } },
    { "fd00:10::/32", { "fd00:10:1::/120" } },
    { "fd00:10:1::/48", { NULL } },
    { "172.18.0.0/16", { "172.18.0.1/32" } },  /* Host network. */
};

static const struct block outside_blocks[] = {
    { "203.0.113.0/24", { "203.0.113.128/25" } },
    { "198.51.100.0/24", { NULL } },
    { "192.168.0.0/16", { "192.168.10.0/24", "192.168.20.0/24" } },
    { "45.12.0.0/20", { "45.12.3.0/24" } },
    { "2001:db8::/32", { "2001:db8:dead::/48" } },
    { "2001:db8:1::/48", { NULL } },
};

/* ---- The model: what the test has told the engine. ---- */

enum mix {
    MIX_OLD,
    MIX_BROAD,
};

struct ns {
    char *name;
    const char *product;        /* NULL for a system namespace. */
    bool system;
    bool present;               /* Applied and not deleted. */
    json_t *obj;                /* The Namespace as last applied. */
    size_t *apps;               /* Indexes into 'apps'. */
    size_t n_apps, allocated_apps;
    unsigned int kinds_made;    /* 1 << kind of the once-per-namespace. */
};

struct app {
    char *name;
    size_t ns;
    const struct app_template *t;       /* NULL for a system app. */
    const struct system_app *sys;       /* NULL for an application. */
    json_t *labels;             /* The labels its pods start with. */
    json_t *containers;         /* spec.containers of its pods... */
    json_t *containers_v2;      /* ...those of its version 2, or NULL. */
    int replicas;
};

struct pod {
    size_t app;
    char *name;
    bool present;
    json_t *obj;                /* As last applied, or NULL: never was. */
    int node;                   /* 1 to N_NODES. */
    /* Switch ports bound to it, oldest first, and what the CNI wrote on
     * them (a port may outlive its pod, as ports do). */
    char *ports[2];
    char *port_addresses[2];
    size_t n_ports;
};

struct pol {
    size_t ns;
    char *name;
    bool present;
    json_t *obj;
};

/* A ClusterNetworkPolicy. */
struct cnpol {
    char *name;
    bool present;
    json_t *obj;
};

enum event {
    EV_POD_ADD, EV_POD_DELETE, EV_POD_RELABEL, EV_POD_ADDRESS,
    EV_POD_FINISH, EV_PORT, EV_NS_ADD, EV_NS_DELETE, EV_NS_RELABEL,
    EV_POLICY_ADD, EV_POLICY_DELETE, EV_POLICY_EDIT, EV_TOUCH,
    EV_SPARE_PORT, EV_CNP_ADD, EV_CNP_DELETE, EV_CNP_EDIT, EV_NODE,
    N_EVENTS
};

struct churn {
    enum mix mix;
    const char *mix_name;
    uint64_t seed;
    struct rng rng;
    struct engine *engine;
    /* A switch's table that follows the engine's by engine_changes(), as
     * the installer's does: it must equal the desired table. */
    struct flowtab *installed;

    struct ns *nss;
    size_t n_nss, allocated_nss;
    struct app *apps;
    size_t n_apps, allocated_apps;
    struct pod *pods;
    size_t n_pods, allocated_pods;
    struct pol *pols;
    size_t n_pols, allocated_pols;
    struct cnpol *cnps;
    size_t n_cnps, allocated_cnps;
    json_t *nodes[N_NODES + 1];         /* Node objects, by number. */

    /* Ports that carry no pod, and what each is. */
    struct spare {
        char *port;
        enum compile_port_role role;
    } *spares;
    size_t n_spares, allocated_spares;

    unsigned int serial;        /* Makes names unique. */
    unsigned int next_ofport;
    uint32_t next_ip[N_NODES + 1];

    /* Pods that the most rules select as peers, as of the last count. */
    size_t *hubs;
    size_t n_hubs;
    size_t max_peer_rules, median_peer_rules;

    /* What happened since the last comparison, for the report. */
    char **log;
    size_t n_log, allocated_log;

    size_t event;               /* The current one, from 1. */
    size_t comparisons;
    size_t runs;                /* Incremental ones. */
    size_t counts[N_EVENTS];
};

static size_t
n_present_pods(const struct churn *ch)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->n_pods; i++) {
        n += ch->pods[i].present;
    }
    return n;
}

static size_t
n_present_pols(const struct churn *ch)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->n_pols; i++) {
        n += ch->pols[i].present;
    }
    return n;
}

static size_t
n_present_nss(const struct churn *ch)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->n_nss; i++) {
        n += ch->nss[i].present;
    }
    return n;
}

static const struct ns *
pod_ns(const struct churn *ch, const struct pod *p)
{
    return &ch->nss[ch->apps[p->app].ns];
}

static void
note(struct churn *ch, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Records what the current event did, for a failure's report. */
static void
note(struct churn *ch, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *what = xvasprintf(format, args);
    va_end(args);
    APPEND(ch->log, ch->n_log, ch->allocated_log,
           xasprintf("%5zu %s", ch->event, what));
    free(what);
}

static void
clear_log(struct churn *ch)
{
    for (size_t i = 0; i < ch->n_log; i++) {
        free(ch->log[i]);
    }
    ch->n_log = 0;
}

/* ---- Telling the engine. ---- */

/* Parses 'obj' as the API server's objects are parsed and hands the result
 * to the engine, as test-engine.c's apply_json_text() does.  The caller
 * keeps 'obj'. */
static void
apply_object(struct churn *ch, const json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    struct obj_batch batch;
    obj_batch_init(&batch);
    objects_parse_buffer("churn", text, strlen(text), &batch);
    for (size_t i = 0; i < batch.n_errors; i++) {
        print_error("%s\n%s\n", batch.errors[i], text);
    }
    assert_int_equal(batch.n_errors, 0);
    assert_int_equal(batch.n_objs, 1);
    struct k8s_object *o = xmalloc(sizeof *o);
    *o = batch.objs[0];
    engine_apply(ch->engine, o);
    batch.n_objs = 0;
    obj_batch_destroy(&batch);
    free(text);
}

static void
apply_ns(struct churn *ch, struct ns *ns)
{
    apply_object(ch, ns->obj);
    ns->present = true;
}

static void
apply_pod(struct churn *ch, struct pod *p)
{
    apply_object(ch, p->obj);
    p->present = true;
}

static void
apply_pol(struct churn *ch, struct pol *pol)
{
    apply_object(ch, pol->obj);
    pol->present = true;
}

static void
bind_port(struct churn *ch, struct pod *p, size_t i, const char *addresses)
{
    free(p->port_addresses[i]);
    p->port_addresses[i] = xstrdup(addresses ? addresses : "");
    char *warning = engine_set_port(ch->engine, pod_ns(ch, p)->name,
                                    p->name, p->ports[i], addresses);
    if (warning) {
        fail_msg("engine_set_port(%s): %s", addresses, warning);
    }
}

/* Binds a new port to 'p' (at most two: a replacement in progress). */
static void
add_port(struct churn *ch, struct pod *p, const char *addresses)
{
    assert_true(p->n_ports < 2);
    size_t i = p->n_ports++;
    p->ports[i] = xasprintf("%u", ch->next_ofport++);
    p->port_addresses[i] = NULL;
    bind_port(ch, p, i, addresses);
}

/* Unbinds the oldest port of 'p'. */
static void
remove_port(struct churn *ch, struct pod *p)
{
    assert_true(p->n_ports > 0);
    engine_unset_port(ch->engine, pod_ns(ch, p)->name, p->name, p->ports[0]);
    free(p->ports[0]);
    free(p->port_addresses[0]);
    p->ports[0] = p->ports[1];
    p->port_addresses[0] = p->port_addresses[1];
    p->ports[1] = p->port_addresses[1] = NULL;
    p->n_ports--;
}

/* ---- Addresses. ---- */

/* A new pod address on 'node': now and then a low one (inside the
 * /20 that blocks except), mostly from the rest of the node's /16. */
static char *
new_ipv4(struct churn *ch, int node)
{
    if (rng_chance(&ch->rng, 0.15)) {
        int third = rng_between(&ch->rng, 0, 15);
        return xasprintf("10.%d.%d.%d", 128 + node, third,
                         rng_between(&ch->rng, 1, 254));
    }
    uint32_t n = ch->next_ip[node]++ % (240 * 256);
    return xasprintf("10.%d.%u.%u", 128 + node, 16 + n / 256, n % 256);
}

static char *
new_ipv6(struct churn *ch, int node)
{
    if (rng_chance(&ch->rng, 0.15)) {
        return xasprintf("fd00:10:%x::%x", node,
                         rng_between(&ch->rng, 1, 255));
    }
    return xasprintf("fd00:10:%x::1:%x", node,
                     ch->next_ip[node]++ % 0xffff);
}

/* Sets the status of pod object 'obj': its phase and addresses (either
 * may be NULL). */
static void
set_status(json_t *obj, const char *phase, const char *ip4, const char *ip6)
{
    json_t *status = json_object();
    json_object_set_new(status, "phase", json_string(phase));
    if (ip4 || ip6) {
        json_t *ips = json_array();
        if (ip4) {
            json_array_append_new(ips, json_pack("{s:s}", "ip", ip4));
        }
        if (ip6) {
            json_array_append_new(ips, json_pack("{s:s}", "ip", ip6));
        }
        json_object_set_new(status, "podIP", json_string(ip4 ? ip4 : ip6));
        json_object_set_new(status, "podIPs", ips);
    }
    json_object_set_new(obj, "status", status);
}

/* The addresses of pod object 'obj''s status, as a CNI writes them on a
 * port ("10.129.16.5/16,fd00:10:1::1:5/64"), or "" for none; malloc'd. */
static char *
status_addresses(const json_t *obj)
{
    json_t *ips = json_object_get(json_object_get(obj, "status"), "podIPs");
    char *s = xstrdup("");
    size_t i;
    json_t *ip;
    json_array_foreach(ips, i, ip) {
        const char *a = json_string_value(json_object_get(ip, "ip"));
        char *t = xasprintf("%s%s%s/%d", s, i ? "," : "", a,
                            strchr(a, ':') ? 64 : 16);
        free(s);
        s = t;
    }
    return s;
}

static bool
pod_has_ip(const struct pod *p)
{
    return json_object_get(json_object_get(p->obj, "status"), "podIP");
}

static const char *
pod_phase(const struct pod *p)
{
    return json_string_value(json_object_get(json_object_get(p->obj,
                                                             "status"),
                                             "phase"));
}

static bool
pod_finished(const struct pod *p)
{
    const char *phase = pod_phase(p);
    return !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
}

static bool
pod_host_network(const struct churn *ch, const struct pod *p)
{
    return ch->apps[p->app].sys && ch->apps[p->app].sys->host_network;
}

/* ---- Making the cluster. ---- */

static json_t *
ports_json(const struct port_def *ports, size_t n, int shift)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && ports[i].name; i++) {
        json_array_append_new(a, json_pack("{s:s,s:i,s:s}", "name",
                                           ports[i].name, "containerPort",
                                           ports[i].port + shift, "protocol",
                                           ports[i].proto));
    }
    return a;
}

static size_t
add_ns(struct churn *ch, const char *name, const char *product, bool system)
{
    struct ns ns = {
        .name = xstrdup(name), .product = product, .system = system,
    };
    json_t *labels = json_pack("{s:s}", "kubernetes.io/metadata.name", name);
    ns.obj = json_pack("{s:s,s:s,s:{s:s,s:o}}", "apiVersion", "v1", "kind",
                       "Namespace", "metadata", "name", name, "labels",
                       labels);
    APPEND(ch->nss, ch->n_nss, ch->allocated_nss, ns);
    return ch->n_nss - 1;
}

static json_t *
ns_labels(const struct ns *ns)
{
    return json_object_get(json_object_get(ns->obj, "metadata"), "labels");
}

static const char *
ns_label(const struct ns *ns, const char *key, const char *otherwise)
{
    const char *v = json_string_value(json_object_get(ns_labels(ns), key));
    return v ? v : otherwise;
}

/* Gives an application namespace the labels gen_cluster.py gives it. */
static void
label_app_ns(struct churn *ch, struct ns *ns, const char *env)
{
    json_t *l = ns_labels(ns);
    /* A product's team, as gen_cluster.py draws it once per product. */
    size_t p;
    for (p = 0; strcmp(products[p], ns->product); p++) {
        continue;
    }
    json_object_set_new(l, "team", json_string(teams[(p * 7 + ch->seed)
                                                     % ARRAY_SIZE(teams)]));
    json_object_set_new(l, "env", json_string(env));
    json_object_set_new(l, "tier", json_string(ns_tiers[p % 4]));
    if (rng_chance(&ch->rng, 0.3)) {
        json_object_set_new(l, "istio-injection", json_string("enabled"));
    }
    if ((!strcmp(ns->product, "payments") || !strcmp(ns->product, "billing")
         || !strcmp(ns->product, "ledger")) && !strcmp(env, "prod")) {
        json_object_set_new(l, "compliance", json_string("pci"));
    }
}

static size_t
new_app_ns(struct churn *ch)
{
    const char *product = PICK(&ch->rng, products);
    const char *env = PICK(&ch->rng, envs);
    char *name = xasprintf("%s-%s", product, env);
    for (int i = 2; ; i++) {
        bool used = false;
        for (size_t j = 0; j < ch->n_nss; j++) {
            used |= !strcmp(ch->nss[j].name, name);
        }
        if (!used) {
            break;
        }
        free(name);
        name = xasprintf("%s-%s-%d", product, env, i);
    }
    size_t i = add_ns(ch, name, product, false);
    free(name);
    label_app_ns(ch, &ch->nss[i], env);
    return i;
}

static size_t
add_app(struct churn *ch, size_t ns_index, const struct app_template *t,
        const struct system_app *sys)
{
    struct ns *ns = &ch->nss[ns_index];
    struct app a = { .ns = ns_index, .t = t, .sys = sys };
    if (sys) {
        a.name = xstrdup(sys->name);
        a.labels = json_pack("{s:s}", sys->key, sys->value);
        a.containers = json_pack("[{s:s,s:o}]", "name", "main", "ports",
                                 ports_json(sys->ports, 4, 0));
        a.replicas = sys->host_network ? N_NODES : sys->replicas;
    } else {
        /* Unique within the namespace: web, web-2, ... */
        a.name = xstrdup(t->name);
        for (int i = 2; ; i++) {
            bool used = false;
            for (size_t j = 0; j < ns->n_apps; j++) {
                used |= !strcmp(ch->apps[ns->apps[j]].name, a.name);
            }
            if (!used) {
                break;
            }
            free(a.name);
            a.name = xasprintf("%s-%d", t->name, i);
        }
        a.labels = json_pack("{s:s,s:s,s:s,s:s}", "app", a.name, "tier",
                             t->tier, "role", t->role, "version",
                             rng_chance(&ch->rng, 0.5) ? "v1" : "v2");
        if (rng_chance(&ch->rng, 0.5)) {
            json_object_set_new(a.labels, "app.kubernetes.io/part-of",
                                json_string(ns->product));
        }
        if (rng_chance(&ch->rng, 0.5)) {
            json_object_set_new(a.labels, "app.kubernetes.io/name",
                                json_string(t->name));
        }
        json_t *containers = json_pack("[{s:s,s:o}]", "name", "main",
                                       "ports", ports_json(t->ports, 5, 0));
        if (rng_chance(&ch->rng, 0.2)) {
            json_array_append_new(containers, json_pack(
                "{s:s,s:[{s:s,s:i}]}", "name", "envoy", "ports", "name",
                "http-envoy-prom", "containerPort", 15090));
        }
        if (rng_chance(&ch->rng, 0.1)) {
            /* An unnamed port: no named port resolves to it. */
            json_array_append_new(containers, json_pack(
                "{s:s,s:[{s:i,s:s}]}", "name", "debug", "ports",
                "containerPort", 6060, "protocol", "TCP"));
        }
        a.containers = containers;
        if (rng_chance(&ch->rng, 0.15)) {
            /* Mid-rollout: version 2 numbers its named ports otherwise. */
            a.containers_v2 = json_pack("[{s:s,s:o}]", "name", "main",
                                        "ports",
                                        ports_json(t->ports, 5, 1));
        }
        a.replicas = (rng_chance(&ch->rng, 0.5) ? rng_between(&ch->rng, 1, 2)
                      : rng_between(&ch->rng, 2, 8));
    }
    APPEND(ch->apps, ch->n_apps, ch->allocated_apps, a);
    APPEND(ns->apps, ns->n_apps, ns->allocated_apps, ch->n_apps - 1);
    return ch->n_apps - 1;
}

/* A pod object for a new pod of 'app' named 'name' on 'node', with
 * 'phase' and, unless 'addressless', addresses. */
static json_t *
make_pod_obj(struct churn *ch, const struct app *a, const char *name,
             int node, const char *phase, bool addressless)
{
    json_t *labels = json_deep_copy(a->labels);
    bool v2 = a->containers_v2 && rng_chance(&ch->rng, 0.5);
    if (a->t) {
        if (v2) {
            json_object_set_new(labels, "version", json_string("v3"));
        }
        if (rng_chance(&ch->rng, 0.05)) {
            json_object_set_new(labels, "track", json_string("canary"));
        }
    }
    json_t *containers = json_deep_copy(v2 ? a->containers_v2
                                        : a->containers);
    char *node_name = xasprintf("node-%d", node);
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:{s:s,s:o}}",
                            "apiVersion", "v1", "kind", "Pod", "metadata",
                            "namespace", ch->nss[a->ns].name, "name", name,
                            "labels", labels, "spec", "nodeName", node_name,
                            "containers", containers);
    free(node_name);
    if (a->sys && a->sys->host_network) {
        json_object_set_new(json_object_get(obj, "spec"), "hostNetwork",
                            json_true());
        char *ip = xasprintf("172.18.0.%d", node);
        set_status(obj, phase, addressless ? NULL : ip, NULL);
        free(ip);
        return obj;
    }
    char *ip4 = NULL, *ip6 = NULL;
    if (!addressless) {
        /* A quarter dual-stack, a few IPv6 only. */
        double r = rng_real(&ch->rng);
        ip4 = r < 0.95 ? new_ipv4(ch, node) : NULL;
        ip6 = r > 0.75 ? new_ipv6(ch, node) : NULL;
    }
    set_status(obj, phase, ip4, ip6);
    free(ip4);
    free(ip6);
    return obj;
}

/* Adds a pod of 'app' to the model, not yet applied. */
static size_t
new_pod(struct churn *ch, size_t app, int node, const char *phase,
        bool addressless)
{
    struct pod p = {
        .app = app, .node = node,
        .name = xasprintf("%s-%u", ch->apps[app].name, ch->serial++),
    };
    p.obj = make_pod_obj(ch, &ch->apps[app], p.name, node, phase,
                         addressless);
    APPEND(ch->pods, ch->n_pods, ch->allocated_pods, p);
    return ch->n_pods - 1;
}

static int
random_node(struct churn *ch)
{
    /* node-1 a little more often than its fifth (about 30%): local pods
     * are where most flows are. */
    return rng_chance(&ch->rng, 0.12) ? 1 : rng_between(&ch->rng, 1, N_NODES);
}

/* A new pod of 'app' in the usual states: mostly running, some pending
 * without an address yet, a few finished. */
static size_t
spawn_pod(struct churn *ch, size_t app)
{
    int node = random_node(ch);
    double r = rng_real(&ch->rng);
    const char *phase = (r < 0.85 ? "Running" : r < 0.95 ? "Pending"
                         : r < 0.98 ? "Succeeded" : "Failed");
    return new_pod(ch, app, node, phase,
                   !strcmp(phase, "Pending") && rng_chance(&ch->rng, 0.8));
}

/* ---- Policies. ---- */

enum kind {
    /* Both mixes, after gen_cluster.py. */
    K_DENY_INGRESS, K_DENY_ALL, K_SAME_NS, K_DNS, K_INGRESS_NGINX,
    K_PROMETHEUS, K_EGRESS_SAME_NS, K_APP_INGRESS, K_APP_EGRESS, K_CROSS_NS,
    K_IPBLOCK_INGRESS, K_EGRESS_INTERNET, K_PORT_RANGE, K_SCTP, K_ALLOW_ALL,
    /* Named ports behind ipBlocks over the pod network, and with no 'to':
     * gen_cluster.py has them rarely, the engine's invalidation must know
     * them. */
    K_EGRESS_BLOCK_NAMED, K_EGRESS_NAMED_ANY,
    /* The broad mix's. */
    K_PROMETHEUS_ANY_NS, K_EGRESS_OTEL, K_EGRESS_SAME_ENV, K_ENV_INGRESS,
    K_TEAM_INGRESS, K_TIER_INGRESS, K_CLUSTER_INGRESS, K_BROAD_EGRESS,
    K_NSSET_INGRESS,
    N_KINDS
};

/* Weights in percent of the policies, as in gen_cluster.py's tables, plus
 * ours; 'once' kinds are made at most once per namespace. */
static const struct {
    const char *name;
    double old, broad;
    bool once;
} kinds[N_KINDS] = {
    [K_DENY_INGRESS] = { "default-deny-ingress", 12, 8, true },
    [K_DENY_ALL] = { "default-deny-all", 4, 3, true },
    [K_SAME_NS] = { "allow-same-namespace", 7, 5, true },
    [K_DNS] = { "allow-dns", 5, 5, true },
    [K_INGRESS_NGINX] = { "allow-ingress-nginx", 4, 4, true },
    [K_PROMETHEUS] = { "allow-prometheus", 5, 0, true },
    [K_EGRESS_SAME_NS] = { "egress-same-namespace", 2, 0, true },
    [K_APP_INGRESS] = { "app-ingress", 31, 7, false },
    [K_APP_EGRESS] = { "app-egress", 8, 0, false },
    [K_CROSS_NS] = { "cross-ns-ingress", 8, 3, false },
    [K_IPBLOCK_INGRESS] = { "ipblock-ingress", 5, 2, false },
    [K_EGRESS_INTERNET] = { "egress-internet", 4, 2, false },
    [K_PORT_RANGE] = { "port-range", 3, 2, false },
    [K_SCTP] = { "sctp", 1, 0.5, false },
    [K_ALLOW_ALL] = { "allow-all-ingress", 1, 0.5, false },
    [K_EGRESS_BLOCK_NAMED] = { "egress-block-named", 3, 3, false },
    [K_EGRESS_NAMED_ANY] = { "egress-named-any", 2, 2, false },
    [K_PROMETHEUS_ANY_NS] = { "allow-prometheus-any-ns", 0, 5, true },
    [K_EGRESS_OTEL] = { "egress-otel", 0, 3, true },
    [K_EGRESS_SAME_ENV] = { "egress-same-env", 0, 3, true },
    [K_ENV_INGRESS] = { "env-ingress", 0, 10, false },
    [K_TEAM_INGRESS] = { "team-ingress", 0, 9, false },
    [K_TIER_INGRESS] = { "tier-ingress", 0, 5, false },
    [K_CLUSTER_INGRESS] = { "cluster-ingress", 0, 8, false },
    [K_BROAD_EGRESS] = { "broad-egress", 0, 16, false },
    [K_NSSET_INGRESS] = { "nsset-ingress", 0, 4, false },
};

#define TYPES_INGRESS 1
#define TYPES_EGRESS 2

/* {"matchLabels": {key: value}} */
static json_t *
sel_label(const char *key, const char *value)
{
    return json_pack("{s:{s:s}}", "matchLabels", key, value);
}

/* Adds a requirement to selector 'sel' and returns 'sel' ({} if NULL).
 * 'values' ends with NULL. */
static json_t *
sel_expr(json_t *sel, const char *key, const char *op,
         const char *const *values)
{
    if (!sel) {
        sel = json_object();
    }
    json_t *exprs = json_object_get(sel, "matchExpressions");
    if (!exprs) {
        exprs = json_array();
        json_object_set_new(sel, "matchExpressions", exprs);
    }
    json_t *e = json_pack("{s:s,s:s}", "key", key, "operator", op);
    if (values) {
        json_t *v = json_array();
        for (size_t i = 0; values[i]; i++) {
            json_array_append_new(v, json_string(values[i]));
        }
        json_object_set_new(e, "values", v);
    }
    json_array_append_new(exprs, e);
    return sel;
}

#define VALUES(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* A peer of namespaces 'ns_sel' and pods 'pod_sel'; takes both (either
 * may be NULL, not both). */
static json_t *
peer(json_t *ns_sel, json_t *pod_sel)
{
    json_t *p = json_object();
    if (ns_sel) {
        json_object_set_new(p, "namespaceSelector", ns_sel);
    }
    if (pod_sel) {
        json_object_set_new(p, "podSelector", pod_sel);
    }
    return p;
}

static json_t *
peer_block(const struct block *b)
{
    json_t *blk = json_pack("{s:s}", "cidr", b->cidr);
    if (b->excepts[0]) {
        json_t *ex = json_array();
        for (size_t i = 0; i < ARRAY_SIZE(b->excepts) && b->excepts[i]; i++) {
            json_array_append_new(ex, json_string(b->excepts[i]));
        }
        json_object_set_new(blk, "except", ex);
    }
    return json_pack("{s:o}", "ipBlock", blk);
}

/* A port entry.  A third of the TCP ones leave the protocol to its
 * default; which ones, by the port and not by a draw: several entries are
 * often made as arguments of one call, in an order C leaves open, and a
 * seed must replay the same events whatever the compiler. */
static json_t *
port_entry(const char *proto, const char *name, int port, int end_port)
{
    json_t *p = name ? json_pack("{s:s}", "port", name)
                : json_pack("{s:i}", "port", port);
    if (strcmp(proto, "TCP") || (name ? strlen(name) : port) % 3) {
        json_object_set_new(p, "protocol", json_string(proto));
    }
    if (end_port) {
        json_object_set_new(p, "endPort", json_integer(end_port));
    }
    return p;
}

/* A rule: 'dir' is "from" or "to"; takes 'peers' and 'ports' (NULL:
 * absent). */
static json_t *
rule(const char *dir, json_t *peers, json_t *ports)
{
    json_t *r = json_object();
    if (peers) {
        json_object_set_new(r, dir, peers);
    }
    if (ports) {
        json_object_set_new(r, "ports", ports);
    }
    return r;
}

/* A NetworkPolicy; takes 'pod_sel', 'ingress' and 'egress' (arrays of
 * rules, or NULL).  'types' is TYPES_*, or 0 for none (the API default). */
static json_t *
netpol(const char *ns, const char *name, json_t *pod_sel, json_t *ingress,
       json_t *egress, int types)
{
    json_t *spec = json_pack("{s:o}", "podSelector",
                             pod_sel ? pod_sel : json_object());
    if (ingress) {
        json_object_set_new(spec, "ingress", ingress);
    }
    if (egress) {
        json_object_set_new(spec, "egress", egress);
    }
    if (types) {
        json_t *t = json_array();
        if (types & TYPES_INGRESS) {
            json_array_append_new(t, json_string("Ingress"));
        }
        if (types & TYPES_EGRESS) {
            json_array_append_new(t, json_string("Egress"));
        }
        json_object_set_new(spec, "policyTypes", t);
    }
    return json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "apiVersion",
                     "networking.k8s.io/v1", "kind", "NetworkPolicy",
                     "metadata", "namespace", ns, "name", name, "spec", spec);
}

/* gen_cluster.py's maybe_types(): a third of the policies say what the
 * default would be. */
static int
maybe_types(struct churn *ch, int types)
{
    return rng_chance(&ch->rng, 0.35) ? types : 0;
}

/* An application of 'ns' (never a system one), weighted by size, or
 * NULL. */
static const struct app *
pick_app(struct churn *ch, const struct ns *ns)
{
    if (!ns->n_apps) {
        return NULL;
    }
    double *w = xmalloc(ns->n_apps * sizeof *w);
    for (size_t i = 0; i < ns->n_apps; i++) {
        const struct app *a = &ch->apps[ns->apps[i]];
        w[i] = a->t ? 1 + a->replicas : 0;
    }
    bool any = false;
    for (size_t i = 0; i < ns->n_apps; i++) {
        any |= w[i] > 0;
    }
    const struct app *a = (any ? &ch->apps[ns->apps[rng_weighted(
                                                &ch->rng, w, ns->n_apps)]]
                           : NULL);
    free(w);
    return a;
}

/* An application of 'ns' upstream of 'a' (or beside it), or NULL. */
static const struct app *
upstream_app(struct churn *ch, const struct ns *ns, const struct app *a)
{
    for (int strict = 1; strict >= 0; strict--) {
        size_t n = 0;
        const struct app *cands[64];
        for (size_t i = 0; i < ns->n_apps && n < ARRAY_SIZE(cands); i++) {
            const struct app *b = &ch->apps[ns->apps[i]];
            if (b != a && b->t
                && (strict ? tier_rank(b->t->tier) < tier_rank(a->t->tier)
                    : tier_rank(b->t->tier) <= tier_rank(a->t->tier))) {
                cands[n++] = b;
            }
        }
        if (n) {
            return cands[rng_below(&ch->rng, n)];
        }
    }
    return NULL;
}

static const struct app *
downstream_app(struct churn *ch, const struct ns *ns, const struct app *a)
{
    size_t n = 0;
    const struct app *cands[64];
    for (size_t i = 0; i < ns->n_apps && n < ARRAY_SIZE(cands); i++) {
        const struct app *b = &ch->apps[ns->apps[i]];
        if (b != a && b->t && tier_rank(b->t->tier) > tier_rank(a->t->tier)) {
            cands[n++] = b;
        }
    }
    return n ? cands[rng_below(&ch->rng, n)] : NULL;
}

/* 1-2 of the ports of 'a', by name or by number. */
static json_t *
app_ports(struct churn *ch, const struct app *a)
{
    const struct port_def *ports = a->t ? a->t->ports : a->sys->ports;
    size_t n = 0;
    while (n < 4 && ports[n].name) {
        n++;
    }
    json_t *out = json_array();
    size_t first = rng_below(&ch->rng, n);
    size_t count = rng_chance(&ch->rng, 0.3) && n > 1 ? 2 : 1;
    for (size_t k = 0; k < count; k++) {
        const struct port_def *p = &ports[(first + k) % n];
        bool named = rng_chance(&ch->rng, 0.45);
        json_array_append_new(out, port_entry(p->proto,
                                              named ? p->name : NULL,
                                              p->port, 0));
    }
    return out;
}

/* The pods a policy about 'a' applies to. */
static json_t *
dest_selector(struct churn *ch, const struct ns *ns, const struct app *a)
{
    double r = rng_real(&ch->rng);
    if (r < 0.6) {
        return sel_label("app", a->name);
    }
    if (r < 0.75) {
        const struct app *b = pick_app(ch, ns);
        return sel_expr(NULL, "app", "In", VALUES(a->name, b->name));
    }
    if (r < 0.9) {
        json_t *s = sel_label("app", a->name);
        return sel_expr(s, "version", "NotIn", VALUES("v0", "v1"));
    }
    return sel_label("tier", a->t->tier);
}

/* A pod peer of the policy's own namespace, for traffic into 'a'. */
static json_t *
source_peer(struct churn *ch, const struct ns *ns, const struct app *a)
{
    const struct app *up = upstream_app(ch, ns, a);
    double r = rng_real(&ch->rng);
    if (up && r < 0.55) {
        return peer(NULL, sel_label("app", up->name));
    }
    if (r < 0.65) {
        return peer(NULL, sel_expr(NULL, "tier", "In",
                                   VALUES("frontend", up ? up->t->tier
                                          : "edge")));
    }
    if (r < 0.75) {
        json_t *s = sel_label("tier", "backend");
        return peer(NULL, sel_expr(s, "role", "NotIn",
                                   VALUES("batch", "worker")));
    }
    if (r < 0.88) {
        json_t *s = sel_expr(NULL, "app", "Exists", NULL);
        return peer(NULL, sel_expr(s, "track", "DoesNotExist", NULL));
    }
    if (up) {
        json_t *s = sel_label("app", up->name);
        json_object_set_new(json_object_get(s, "matchLabels"), "tier",
                            json_string(up->t->tier));
        return peer(NULL, s);
    }
    return peer(NULL, json_object());
}

/* An application namespace other than 'ns', if any. */
static const struct ns *
other_ns(struct churn *ch, const struct ns *ns)
{
    for (int tries = 0; tries < 20; tries++) {
        const struct ns *o = &ch->nss[rng_below(&ch->rng, ch->n_nss)];
        if (o != ns && !o->system) {
            return o;
        }
    }
    return ns;
}

/* gen_cluster.py's cross_peer(): a peer in other namespaces, mostly
 * narrow, a quarter by a namespace label many namespaces share. */
static json_t *
cross_peer(struct churn *ch, const struct ns *ns)
{
    const struct ns *o = other_ns(ch, ns);
    const struct app *src = pick_app(ch, o);
    const char *env = ns_label(ns, "env", "prod");
    double r = rng_real(&ch->rng);
    if (r < 0.35 && src) {
        return peer(sel_label("team", ns_label(o, "team", "core")),
                    sel_label("app", src->name));
    }
    if (r < 0.55) {
        return peer(sel_label("kubernetes.io/metadata.name", o->name),
                    src && rng_chance(&ch->rng, 0.5)
                    ? sel_label("app", src->name) : NULL);
    }
    if (r < 0.70 && src) {
        return peer(sel_expr(NULL, "env", "In", VALUES(env, "prod")),
                    sel_label("app", src->name));
    }
    if (r < 0.78) {
        return peer(sel_expr(NULL, "env", "In", VALUES(env, "prod")), NULL);
    }
    if (r < 0.90) {
        json_t *s = sel_label("role", "api");
        json_object_set_new(json_object_get(s, "matchLabels"), "tier",
                            json_string("backend"));
        s = sel_expr(s, "app", "In", VALUES(src ? src->name : "api", "api"));
        return peer(sel_expr(NULL, "env", "NotIn", VALUES("dev", "qa")), s);
    }
    return peer(sel_expr(NULL, "compliance", "DoesNotExist", NULL),
                sel_label("tier", "frontend"));
}

/* gen_cluster.py's broad_src_pods(): NULL (every pod of the selected
 * namespaces) or a selector many pods match. */
static json_t *
broad_src_pods(struct churn *ch)
{
    double r = rng_real(&ch->rng);
    return (r < 0.4 ? NULL
            : r < 0.7 ? sel_expr(NULL, "tier", "In",
                                 VALUES("edge", "frontend"))
            : r < 0.85 ? sel_label("role", "api")
            : sel_expr(NULL, "role", "In", VALUES("api", "web", "worker")));
}

static json_t *
dns_rule(struct churn *ch, bool named)
{
    json_t *peers = json_pack(
        "[o]", peer(sel_label("kubernetes.io/metadata.name", "kube-system"),
                    sel_label("k8s-app", "kube-dns")));
    json_t *ports = (named
                     ? json_pack("[o,o]", port_entry("UDP", "dns", 0, 0),
                                 port_entry("TCP", "dns-tcp", 0, 0))
                     : json_pack("[o,o]", port_entry("UDP", NULL, 53, 0),
                                 port_entry("TCP", NULL, 53, 0)));
    return rule("to", peers, ports);
}

/* Ports of an endPort policy. */
static json_t *
range_ports(struct churn *ch)
{
    switch (rng_below(&ch->rng, 6)) {
    case 0:
        return json_pack("[o]", port_entry("TCP", NULL, 8000, 8100));
    case 1:
        return json_pack("[o]", port_entry("TCP", NULL, 30000, 32767));
    case 2:
        return json_pack("[o]", port_entry("UDP", NULL, 10000, 20000));
    case 3:
        return json_pack("[o,o]", port_entry("TCP", NULL, 5000, 5010),
                         port_entry("TCP", NULL, 8080, 0));
    case 4:
        return json_pack("[o]", port_entry("TCP", NULL, 9000, 9999));
    default:
        return json_pack("[o,o]", port_entry("UDP", NULL, 5060, 5061),
                         port_entry("SCTP", NULL, 5060, 5061));
    }
}

/* Named ports of all kinds and protocols, for egress to blocks or to
 * anyone: each resolves on the destination pods, where the same name has
 * other numbers. */
static json_t *
named_ports(struct churn *ch)
{
    static const struct port_def names[] = {
        { "http", 0, "TCP" }, { "metrics", 0, "TCP" }, { "grpc", 0, "TCP" },
        { "dns", 0, "UDP" }, { "sip", 0, "UDP" }, { "sip-sctp", 0, "SCTP" },
        { "diameter", 0, "SCTP" }, { "statsd", 0, "UDP" },
        { "http-envoy-prom", 0, "TCP" },
    };
    json_t *ports = json_array();
    size_t n = rng_between(&ch->rng, 1, 3);
    for (size_t i = 0; i < n; i++) {
        const struct port_def *p = &PICK(&ch->rng, names);
        json_array_append_new(ports, port_entry(p->proto, p->name, 0, 0));
    }
    if (rng_chance(&ch->rng, 0.3)) {
        json_array_append_new(ports, port_entry("TCP", NULL, 443, 0));
    }
    return ports;
}

/* The ingress policy of the broad kinds: from 'peers' (taken) to one
 * app, or in 45% to a whole tier or role; a quarter add a second rule. */
static json_t *
broad_ingress(struct churn *ch, const struct ns *ns, const char *name,
              const struct app *a, json_t *peers)
{
    json_t *rules = json_pack("[o]", rule("from", peers, app_ports(ch, a)));
    if (rng_chance(&ch->rng, 0.25)) {
        const struct app *up = upstream_app(ch, ns, a);
        const char *from = (up ? up : a)->name;
        json_array_append_new(rules, rule(
            "from", json_pack("[o]", peer(NULL, sel_label("app", from))),
            app_ports(ch, a)));
    }
    double r = rng_real(&ch->rng);
    json_t *dest = (r < 0.3 ? sel_label("tier", a->t->tier)
                    : r < 0.45 ? sel_label("role", a->t->role)
                    : dest_selector(ch, ns, a));
    return netpol(ns->name, name, dest, rules, NULL,
                  maybe_types(ch, TYPES_INGRESS));
}

/* A policy of 'kind' named 'name' in 'ns', or NULL if 'ns' has nothing
 * it needs. */
static json_t *
make_kind(struct churn *ch, enum kind kind, const struct ns *ns,
          const char *name)
{
    const char *nm = ns->name;
    switch (kind) {
    case K_DENY_INGRESS:
        return netpol(nm, name, NULL, NULL, NULL, TYPES_INGRESS);
    case K_DENY_ALL:
        return netpol(nm, name, NULL, NULL, NULL,
                      TYPES_INGRESS | TYPES_EGRESS);
    case K_SAME_NS:
        return netpol(nm, name, NULL,
                      json_pack("[o]", rule("from", json_pack(
                                                "[o]", peer(NULL,
                                                            json_object())),
                                            NULL)),
                      NULL, maybe_types(ch, TYPES_INGRESS));
    case K_DNS:
        return netpol(nm, name, NULL,
                      NULL, json_pack("[o]", dns_rule(ch, rng_chance(&ch->rng,
                                                                     0.25))),
                      TYPES_EGRESS);
    case K_INGRESS_NGINX: {
        const struct app *a = pick_app(ch, ns);
        json_t *sel = (a && tier_rank(a->t->tier) <= 1
                       && rng_chance(&ch->rng, 0.6)
                       ? sel_label("app", a->name) : NULL);
        json_t *p = peer(sel_label("kubernetes.io/metadata.name",
                                   "ingress-nginx"),
                         sel_label("app.kubernetes.io/name",
                                   "ingress-nginx"));
        json_t *ports = (rng_chance(&ch->rng, 0.5)
                         ? json_pack("[o]", port_entry("TCP", "http", 0,
                                                       0))
                         : json_pack("[o,o]",
                                     port_entry("TCP", NULL, 8080, 0),
                                     port_entry("TCP", NULL, 80, 0)));
        return netpol(nm, name, sel,
                      json_pack("[o]", rule("from", json_pack("[o]", p),
                                            ports)),
                      NULL, maybe_types(ch, TYPES_INGRESS));
    }
    case K_PROMETHEUS:
    case K_PROMETHEUS_ANY_NS: {
        json_t *sel = (rng_chance(&ch->rng, 0.6) ? NULL
                       : sel_expr(NULL, "app", "Exists", NULL));
        json_t *p;
        if (kind == K_PROMETHEUS_ANY_NS) {
            p = peer(json_object(), sel_label("app", "prometheus"));
        } else {
            p = peer(sel_label("kubernetes.io/metadata.name", "monitoring"),
                     (rng_chance(&ch->rng, 0.6)
                      ? sel_label("app", "prometheus") : NULL));
        }
        json_t *ports = json_pack("[o]", port_entry("TCP", "metrics", 0,
                                                    0));
        if (rng_chance(&ch->rng, 0.3)) {
            json_array_append_new(ports, port_entry("TCP",
                                                    "http-envoy-prom", 0, 0));
        }
        return netpol(nm, name, sel,
                      json_pack("[o]", rule("from", json_pack("[o]", p),
                                            ports)),
                      NULL, maybe_types(ch, TYPES_INGRESS));
    }
    case K_EGRESS_SAME_NS:
        return netpol(nm, name, NULL, NULL,
                      json_pack("[o,o]",
                                rule("to", json_pack("[o]",
                                                     peer(NULL,
                                                          json_object())),
                                     NULL),
                                dns_rule(ch, false)),
                      TYPES_EGRESS);
    case K_EGRESS_OTEL: {
        json_t *sel = (rng_chance(&ch->rng, 0.6) ? NULL
                       : sel_expr(NULL, "app", "Exists", NULL));
        json_t *p = peer(sel_label("kubernetes.io/metadata.name",
                                   "observability"),
                         sel_label("app", "otel-collector"));
        json_t *egress = json_pack(
            "[o]", rule("to", json_pack("[o]", p),
                        json_pack("[o,o]",
                                  port_entry("TCP", NULL, 4317, 0),
                                  port_entry("TCP", NULL, 4318, 0))));
        if (rng_chance(&ch->rng, 0.5)) {
            json_array_append_new(egress, dns_rule(ch, false));
        }
        return netpol(nm, name, sel, NULL, egress, TYPES_EGRESS);
    }
    case K_EGRESS_SAME_ENV: {
        json_t *p = peer(sel_label("env", ns_label(ns, "env", "prod")), NULL);
        return netpol(nm, name, NULL, NULL,
                      json_pack("[o,o]", rule("to", json_pack("[o]", p),
                                              NULL),
                                dns_rule(ch, false)),
                      TYPES_EGRESS);
    }
    default:
        break;
    }

    const struct app *a = pick_app(ch, ns);
    if (!a) {
        return NULL;
    }
    switch (kind) {
    case K_APP_INGRESS: {
        json_t *rules = json_array();
        size_t n_rules = rng_chance(&ch->rng, 0.7) ? 1 : 2;
        for (size_t r = 0; r < n_rules; r++) {
            if (r && rng_chance(&ch->rng, 0.5)) {
                json_array_append_new(rules, rule(
                    "from",
                    json_pack("[o]", peer(sel_label(
                                              "kubernetes.io/metadata.name",
                                              "monitoring"), NULL)),
                    json_pack("[o]", port_entry("TCP", "metrics", 0,
                                                0))));
                continue;
            }
            json_t *peers = json_array();
            size_t n_peers = PICK(&ch->rng, ((const int[]) { 1, 1, 1, 2, 2,
                                                             3 }));
            for (size_t i = 0; i < n_peers; i++) {
                json_array_append_new(peers, source_peer(ch, ns, a));
            }
            json_array_append_new(rules, rule("from", peers,
                                              app_ports(ch, a)));
        }
        /* Draws in statements, not in one call's arguments: C leaves
         * their order open, and a seed must replay the same events
         * whatever the compiler (likewise below). */
        json_t *dest = dest_selector(ch, ns, a);
        return netpol(nm, name, dest, rules, NULL,
                      maybe_types(ch, TYPES_INGRESS));
    }
    case K_APP_EGRESS: {
        const struct app *d = downstream_app(ch, ns, a);
        json_t *p;
        if (d && rng_chance(&ch->rng, 0.75)) {
            p = peer(NULL, sel_label("app", d->name));
        } else {
            const struct ns *o = other_ns(ch, ns);
            d = pick_app(ch, o);
            if (!d) {
                d = a;
            }
            p = peer(sel_label("kubernetes.io/metadata.name", o->name),
                     sel_label("app", d->name));
        }
        json_t *egress = json_pack("[o]", rule("to", json_pack("[o]", p),
                                               app_ports(ch, d)));
        if (rng_chance(&ch->rng, 0.4)) {
            json_array_append_new(egress, dns_rule(ch, false));
        }
        return netpol(nm, name, sel_label("app", a->name), NULL, egress,
                      rng_chance(&ch->rng, 0.8) ? TYPES_EGRESS : 0);
    }
    case K_CROSS_NS: {
        json_t *peers = json_pack("[o]", cross_peer(ch, ns));
        if (rng_chance(&ch->rng, 0.33)) {
            json_array_append_new(peers, cross_peer(ch, ns));
        }
        json_t *ports = rng_chance(&ch->rng, 0.85) ? app_ports(ch, a) : NULL;
        json_t *dest = dest_selector(ch, ns, a);
        return netpol(nm, name, dest,
                      json_pack("[o]", rule("from", peers, ports)),
                      NULL, maybe_types(ch, TYPES_INGRESS));
    }
    case K_IPBLOCK_INGRESS: {
        json_t *peers = json_pack("[o]",
                                  peer_block(&PICK(&ch->rng, outside_blocks)));
        if (rng_chance(&ch->rng, 0.3)) {
            json_array_append_new(peers,
                                  peer_block(&PICK(&ch->rng, pod_blocks)));
        }
        if (rng_chance(&ch->rng, 0.3)) {
            json_array_append_new(peers, peer(NULL,
                                              sel_label("app", a->name)));
        }
        json_t *ports = json_pack("[o]", port_entry("TCP", NULL, 443, 0));
        if (rng_chance(&ch->rng, 0.4)) {
            json_array_append_new(ports, port_entry("TCP", "http", 0, 0));
        }
        return netpol(nm, name, sel_label("app", a->name),
                      json_pack("[o]", rule("from", peers, ports)), NULL,
                      maybe_types(ch, TYPES_INGRESS));
    }
    case K_EGRESS_INTERNET: {
        static const struct block internet[] = {
            { "0.0.0.0/0", { "10.0.0.0/8", "172.16.0.0/12",
                             "192.168.0.0/16" } },
            { "0.0.0.0/0", { "169.254.169.254/32" } },
            { "::/0", { "fd00::/8" } },
            { "10.128.0.0/14", { NULL } },
        };
        json_t *peers = json_pack("[o]", peer_block(&PICK(&ch->rng,
                                                          internet)));
        if (rng_chance(&ch->rng, 0.3)) {
            json_array_append_new(peers, peer_block(&internet[2]));
        }
        json_t *ports = json_pack("[o]", port_entry("TCP", NULL, 443, 0));
        if (rng_chance(&ch->rng, 0.3)) {
            json_array_append_new(ports, port_entry("TCP", NULL, 80, 0));
        }
        return netpol(nm, name, sel_label("app", a->name), NULL,
                      json_pack("[o]", rule("to", peers, ports)),
                      TYPES_EGRESS);
    }
    case K_PORT_RANGE: {
        json_t *p = (rng_chance(&ch->rng, 0.7) ? source_peer(ch, ns, a)
                     : cross_peer(ch, ns));
        json_t *ports = range_ports(ch);
        if (rng_chance(&ch->rng, 0.7)) {
            json_t *rules = json_pack("[o]", rule("from", json_pack("[o]", p),
                                                  ports));
            return netpol(nm, name, sel_label("app", a->name), rules, NULL,
                          maybe_types(ch, TYPES_INGRESS));
        }
        return netpol(nm, name, sel_label("app", a->name), NULL,
                      json_pack("[o]", rule("to", json_pack("[o]", p),
                                            ports)),
                      TYPES_EGRESS);
    }
    case K_SCTP: {
        static const int sctp_ports[] = { 3868, 38412, 5060 };
        json_t *ports = (rng_chance(&ch->rng, 0.5)
                         ? json_pack("[o,o]",
                                     port_entry("SCTP", "sip-sctp", 0, 0),
                                     port_entry("SCTP", "diameter", 0, 0))
                         : json_pack("[o]", port_entry(
                                         "SCTP", NULL,
                                         PICK(&ch->rng, sctp_ports), 0)));
        json_t *p = (rng_chance(&ch->rng, 0.5) ? cross_peer(ch, ns)
                     : peer(NULL, sel_label("tier", "telecom")));
        bool in = rng_chance(&ch->rng, 0.6);
        json_t *rules = json_pack("[o]", rule(in ? "from" : "to",
                                              json_pack("[o]", p), ports));
        return netpol(nm, name, sel_label("app", a->name),
                      in ? rules : NULL, in ? NULL : rules,
                      (in ? maybe_types(ch, TYPES_INGRESS)
                       : TYPES_INGRESS | TYPES_EGRESS));
    }
    case K_ALLOW_ALL:
        return netpol(nm, name, sel_label("app", a->name),
                      json_pack("[o]", json_object()), NULL,
                      maybe_types(ch, TYPES_INGRESS));
    case K_EGRESS_BLOCK_NAMED: {
        json_t *peers = json_pack("[o]", peer_block(&PICK(&ch->rng,
                                                          pod_blocks)));
        if (rng_chance(&ch->rng, 0.3)) {
            json_array_append_new(peers,
                                  peer_block(&PICK(&ch->rng, pod_blocks)));
        }
        json_t *ports = named_ports(ch);
        json_t *dest = dest_selector(ch, ns, a);
        return netpol(nm, name, dest, NULL,
                      json_pack("[o]", rule("to", peers, ports)),
                      rng_chance(&ch->rng, 0.7) ? TYPES_EGRESS : 0);
    }
    case K_EGRESS_NAMED_ANY:
        return netpol(nm, name, sel_label("app", a->name), NULL,
                      json_pack("[o]", rule("to", NULL, named_ports(ch))),
                      TYPES_EGRESS);
    case K_ENV_INGRESS: {
        const char *env = (rng_chance(&ch->rng, 0.7)
                           ? ns_label(ns, "env", "prod") : "prod");
        return broad_ingress(ch, ns, name, a, json_pack(
                                 "[o]", peer(sel_label("env", env),
                                             broad_src_pods(ch))));
    }
    case K_TEAM_INGRESS: {
        const char *team = (rng_chance(&ch->rng, 0.6)
                            ? ns_label(ns, "team", "core")
                            : PICK(&ch->rng, teams));
        return broad_ingress(ch, ns, name, a, json_pack(
                                 "[o]", peer(sel_label("team", team),
                                             broad_src_pods(ch))));
    }
    case K_TIER_INGRESS: {
        size_t i = rng_below(&ch->rng, 3), j = rng_below(&ch->rng, 3);
        json_t *nsel = (rng_chance(&ch->rng, 0.33)
                        ? sel_expr(NULL, "tier", "In", VALUES(ns_tiers[i]))
                        : sel_expr(NULL, "tier", "In",
                                   VALUES(ns_tiers[i], ns_tiers[j])));
        json_t *psel;
        switch (rng_below(&ch->rng, 3)) {
        case 0:
            psel = sel_label("role", "api");
            break;
        case 1:
            psel = sel_label("tier", "frontend");
            break;
        default:
            psel = sel_label("role", "web");
        }
        return broad_ingress(ch, ns, name, a,
                             json_pack("[o]", peer(nsel, psel)));
    }
    case K_CLUSTER_INGRESS: {
        json_t *psel;
        switch (rng_below(&ch->rng, 5)) {
        case 0:
            psel = sel_label("tier", "frontend");
            break;
        case 1:
            psel = sel_label("role", "web");
            break;
        case 2:
            psel = sel_label("role", "api");
            json_object_set_new(json_object_get(psel, "matchLabels"), "tier",
                                json_string("backend"));
            break;
        case 3:
            psel = sel_label("app.kubernetes.io/part-of",
                             other_ns(ch, ns)->product);
            break;
        default:
            psel = sel_label("tier", "edge");
        }
        return broad_ingress(ch, ns, name, a,
                             json_pack("[o]", peer(json_object(), psel)));
    }
    case K_NSSET_INGRESS: {
        json_t *p;
        if (rng_chance(&ch->rng, 0.5)) {
            size_t i = rng_below(&ch->rng, ARRAY_SIZE(teams));
            p = peer(sel_expr(NULL, "team", "In",
                              VALUES(teams[i], teams[(i + 3)
                                                     % ARRAY_SIZE(teams)],
                                     teams[(i + 5) % ARRAY_SIZE(teams)])),
                     sel_expr(NULL, "app", "Exists", NULL));
        } else {
            p = peer(sel_expr(NULL, "env", "NotIn", VALUES("dev", "qa")),
                     sel_label("tier", "frontend"));
        }
        return broad_ingress(ch, ns, name, a, json_pack("[o]", p));
    }
    case K_BROAD_EGRESS: {
        json_t *p, *ports;
        double r = rng_real(&ch->rng);
        if (r < 0.3) {
            p = peer(sel_label("tier", "data"),
                     sel_expr(NULL, "role", "In", VALUES("db", "cache")));
            ports = json_pack("[o,o,o,o]",
                              port_entry("TCP", NULL, 5432, 0),
                              port_entry("TCP", NULL, 3306, 0),
                              port_entry("TCP", NULL, 6379, 0),
                              port_entry("TCP", NULL, 9042, 0));
        } else if (r < 0.55) {
            p = peer(sel_label("env", ns_label(ns, "env", "prod")),
                     sel_label("role", "api"));
            ports = (rng_chance(&ch->rng, 0.3)
                     ? json_pack("[o]", port_entry("TCP", "http", 0, 0))
                     : json_pack("[o,o]",
                                 port_entry("TCP", NULL, 8080, 0),
                                 port_entry("TCP", NULL, 50051, 0)));
        } else if (r < 0.75) {
            p = peer(json_object(),
                     sel_expr(NULL, "role", "In", VALUES("api", "web")));
            ports = json_pack("[o,o]", port_entry("TCP", NULL, 8080, 0),
                              port_entry("TCP", NULL, 443, 0));
        } else {
            p = peer(sel_label("team", ns_label(ns, "team", "core")), NULL);
            ports = json_pack("[o,o]", port_entry("TCP", NULL, 8080, 0),
                              port_entry("TCP", NULL, 9000, 0));
        }
        json_t *egress = json_pack("[o]", rule("to", json_pack("[o]", p),
                                               ports));
        if (rng_chance(&ch->rng, 0.5)) {
            json_array_append_new(egress, dns_rule(ch, false));
        }
        return netpol(nm, name, sel_label("app", a->name), NULL, egress,
                      rng_chance(&ch->rng, 0.8) ? TYPES_EGRESS : 0);
    }
    default:
        break;
    }
    return NULL;
}

/* A namespace for a new policy: an application namespace, weighted by its
 * applications; in the broad mix by their square, so that the big ones
 * hold dozens of the 120 policies (gen_cluster.py's power 1.5 does that
 * with its 1,000). */
static size_t
policy_ns(struct churn *ch)
{
    double *w = xcalloc(ch->n_nss, sizeof *w);
    bool any = false;
    for (size_t i = 0; i < ch->n_nss; i++) {
        const struct ns *ns = &ch->nss[i];
        if (!ns->system && ns->present) {
            double n = 1 + ns->n_apps;
            w[i] = ch->mix == MIX_BROAD ? n * n : n;
            any = true;
        }
    }
    assert_true(any);
    size_t i = rng_weighted(&ch->rng, w, ch->n_nss);
    free(w);
    return i;
}

/* The broad mix's policies also let in, or out to, what every namespace
 * shares: Prometheus from any namespace, the ingress controller, the
 * frontends of prod, CoreDNS, the OpenTelemetry collector.  A cluster of
 * 120 policies thus has pods that a hundred rules or more select as
 * peers, as gen_cluster.py's 1,000 have without. */
static void
add_shared_rules(struct churn *ch, json_t *obj)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *in = json_object_get(spec, "ingress");
    json_t *eg = json_object_get(spec, "egress");
    if (json_array_size(in)) {
        /* Scrapes, often a rule per port. */
        for (int i = 0; i < 2 && rng_chance(&ch->rng, i ? 0.4 : 0.7); i++) {
            json_array_append_new(in, rule(
                "from", json_pack("[o]", peer(json_object(),
                                              sel_label("app",
                                                        "prometheus"))),
                json_pack("[o]", port_entry("TCP", (i ? "http-envoy-prom"
                                                        : "metrics"),
                                            0, 0))));
        }
        if (rng_chance(&ch->rng, 0.4)) {
            json_array_append_new(in, rule(
                "from",
                json_pack("[o]", peer(sel_label("kubernetes.io/metadata.name",
                                                "ingress-nginx"),
                                      sel_label("app.kubernetes.io/name",
                                                "ingress-nginx"))),
                json_pack("[o]", port_entry("TCP", "http", 0, 0))));
        }
        if (rng_chance(&ch->rng, 0.35)) {
            json_array_append_new(in, rule(
                "from", json_pack("[o]", peer(sel_label("env", "prod"),
                                              sel_label("tier", "frontend"))),
                json_pack("[o]", port_entry("TCP", NULL, 8080, 0))));
        }
    }
    if (json_array_size(eg)) {
        if (rng_chance(&ch->rng, 0.4)) {
            json_array_append_new(eg, dns_rule(ch, rng_chance(&ch->rng,
                                                              0.3)));
        }
        if (rng_chance(&ch->rng, 0.25)) {
            json_array_append_new(eg, rule(
                "to",
                json_pack("[o]", peer(json_object(),
                                      sel_label("app", "otel-collector"))),
                json_pack("[o]", port_entry("TCP", "otlp-grpc", 0, 0))));
        }
    }
}

/* A random policy of the mix in namespace 'ns_index', named 'name', or
 * after its kind if 'name' is NULL; stores its name in '*namep'
 * (malloc'd). */
static json_t *
random_policy(struct churn *ch, size_t ns_index, const char *name,
              char **namep)
{
    struct ns *ns = &ch->nss[ns_index];
    double w[N_KINDS];
    for (size_t k = 0; k < N_KINDS; k++) {
        w[k] = ch->mix == MIX_OLD ? kinds[k].old : kinds[k].broad;
    }
    for (int tries = 0; ; tries++) {
        enum kind k = rng_weighted(&ch->rng, w, N_KINDS);
        if (kinds[k].once && (ns->kinds_made & (1u << k))) {
            /* gen_cluster.py's fallback; an application-less namespace
             * gets a namespace-wide policy instead. */
            k = tries < 10 ? K_APP_INGRESS : K_SAME_NS;
        }
        char *n = name ? xstrdup(name) : xasprintf("%s-%u", kinds[k].name,
                                                   ch->serial++);
        json_t *obj = make_kind(ch, k, ns, n);
        if (obj && ch->mix == MIX_BROAD) {
            add_shared_rules(ch, obj);
        }
        if (obj) {
            if (kinds[k].once) {
                ns->kinds_made |= 1u << k;
            }
            *namep = n;
            return obj;
        }
        free(n);
        assert_true(tries < 100);
    }
}

static struct pol *
add_policy(struct churn *ch, size_t ns_index)
{
    struct pol pol = { .ns = ns_index };
    pol.obj = random_policy(ch, ns_index, NULL, &pol.name);
    APPEND(ch->pols, ch->n_pols, ch->allocated_pols, pol);
    struct pol *p = &ch->pols[ch->n_pols - 1];
    apply_pol(ch, p);
    return p;
}

/* The addresses a CNI writes on the port of a pod that has none in its
 * status yet: the one its status will have, unless it changes. */
static char *
fresh_port_addresses(struct churn *ch, const struct pod *p)
{
    char *ip = new_ipv4(ch, p->node);
    char *s = xasprintf("%s/16", ip);
    free(ip);
    return s;
}

/* Plugs 'p' in as its CNI would: the addresses of its status, or fresh
 * ones, or none. */
static void
plug(struct churn *ch, struct pod *p)
{
    char *addresses;
    if (pod_has_ip(p)) {
        addresses = (rng_chance(&ch->rng, 0.9) ? status_addresses(p->obj)
                     : fresh_port_addresses(ch, p));
    } else {
        addresses = (rng_chance(&ch->rng, 0.6) ? fresh_port_addresses(ch, p)
                     : xstrdup(""));
    }
    add_port(ch, p, addresses);
    free(addresses);
}

static bool
is_local(const struct pod *p)
{
    return p->node == 1;
}

/* Whether a CNI would give 'p' a switch port on this node. */
static bool
pluggable(const struct churn *ch, const struct pod *p)
{
    return (p->present && is_local(p) && !pod_host_network(ch, p)
            && !pod_finished(p));
}

static json_t *make_node(struct churn *, int k);
static struct cnpol *add_cnp(struct churn *);

static void
generate(struct churn *ch)
{
    /* The system namespaces and their shared pods. */
    for (size_t i = 0; i < ARRAY_SIZE(system_apps); i++) {
        const struct system_app *s = &system_apps[i];
        if (s->broad_only && ch->mix != MIX_BROAD) {
            continue;
        }
        size_t ns;
        for (ns = 0; ns < ch->n_nss && strcmp(ch->nss[ns].name, s->ns);
             ns++) {
            continue;
        }
        if (ns == ch->n_nss) {
            ns = add_ns(ch, s->ns, NULL, true);
            json_t *l = ns_labels(&ch->nss[ns]);
            json_object_set_new(l, "tier", json_string("platform"));
            if (strcmp(s->ns, "kube-system")) {
                json_object_set_new(l, "team", json_string(
                                        strcmp(s->ns, "ingress-nginx")
                                        ? "sre" : "infra"));
            }
        }
        size_t app = add_app(ch, ns, NULL, s);
        for (int r = 0; r < ch->apps[app].replicas; r++) {
            new_pod(ch, app, s->host_network ? r + 1 : random_node(ch),
                    "Running", false);
        }
    }

    /* Application namespaces of heavy-tailed sizes: a few big ones, many
     * small ones. */
    size_t first_app_ns = ch->n_nss;
    while (ch->n_nss < TARGET_NAMESPACES) {
        size_t ns = new_app_ns(ch);
        const struct app_template *t = &PICK(&ch->rng, app_templates);
        add_app(ch, ns, t, NULL);
    }
    size_t n_app_nss = ch->n_nss - first_app_ns;
    double *size_w = xmalloc(n_app_nss * sizeof *size_w);
    for (size_t i = 0; i < n_app_nss; i++) {
        size_w[i] = 1 / (rng_real(&ch->rng) + 0.03);
    }
    double template_w[ARRAY_SIZE(app_templates)];
    for (size_t i = 0; i < ARRAY_SIZE(app_templates); i++) {
        template_w[i] = app_templates[i].weight;
    }
    size_t n_app_pods = 0;
    for (size_t a = 0; a < ch->n_apps; a++) {
        n_app_pods += ch->apps[a].t ? ch->apps[a].replicas : 0;
    }
    while (n_app_pods + ch->n_pods < TARGET_PODS) {
        size_t ns = first_app_ns + rng_weighted(&ch->rng, size_w, n_app_nss);
        size_t t = rng_weighted(&ch->rng, template_w,
                                ARRAY_SIZE(app_templates));
        /* Not ch->apps[add_app()]: add_app() moves the array. */
        size_t a = add_app(ch, ns, &app_templates[t], NULL);
        n_app_pods += ch->apps[a].replicas;
    }
    free(size_w);
    for (size_t a = 0; a < ch->n_apps; a++) {
        for (int r = 0; ch->apps[a].t && r < ch->apps[a].replicas; r++) {
            spawn_pod(ch, a);
        }
    }

    /* Namespaces first, as a daemon's first lists may come. */
    for (size_t i = 0; i < ch->n_nss; i++) {
        apply_ns(ch, &ch->nss[i]);
    }
    for (size_t i = 0; i < ch->n_pods; i++) {
        apply_pod(ch, &ch->pods[i]);
    }
    for (size_t i = 0; i < TARGET_POLICIES; i++) {
        add_policy(ch, policy_ns(ch));
    }
    for (int k = 1; k <= N_NODES; k++) {
        ch->nodes[k] = make_node(ch, k);
        apply_object(ch, ch->nodes[k]);
    }
    for (size_t i = 0; i < TARGET_CNPS; i++) {
        add_cnp(ch);
    }
    for (size_t i = 0; i < ch->n_pods; i++) {
        struct pod *p = &ch->pods[i];
        if (pluggable(ch, p) && rng_chance(&ch->rng, 0.9)) {
            plug(ch, p);
        }
    }
}

/* ---- Pods that many rules select. ---- */

struct peer_count {
    size_t pod, rules;
};

static int
compare_peer_counts(const void *a_, const void *b_)
{
    const struct peer_count *a = a_, *b = b_;
    /* Most selected first; ties by index, so that every libc's qsort
     * gives the same hubs and a seed replays the same events. */
    return (a->rules != b->rules ? (a->rules < b->rules ? 1 : -1)
            : a->pod < b->pod ? -1 : a->pod > b->pod);
}

/* Whether a peer of 'np' selects pod 'pod' of a namespace labelled
 * 'ns_labels' (ipBlocks aside). */
static bool
peer_selects(const struct k8s_netpol *np, const struct np_peer *peer,
             const struct k8s_pod *pod, const struct labels *ns_labels)
{
    if (peer->is_ipblock) {
        return false;
    }
    bool ns_ok = (peer->ns_selector
                  ? selector_matches(peer->ns_selector, ns_labels)
                  : !strcmp(np->namespace, pod->namespace));
    return ns_ok && (!peer->pod_selector
                     || selector_matches(peer->pod_selector, &pod->labels));
}

/* Counts for every present pod the rules that select it as a peer, as
 * the engine's cluster is now, and keeps the tenth that the most rules
 * select as the hubs that relabels favour. */
static void
count_peers(struct churn *ch)
{
    const struct cluster *c = engine_cluster(ch->engine);
    size_t n_nps;
    const struct k8s_netpol *const *nps = cluster_netpols(c, &n_nps);
    struct peer_count *counts = xmalloc((ch->n_pods + 1) * sizeof *counts);
    size_t n = 0;
    for (size_t i = 0; i < ch->n_pods; i++) {
        const struct pod *p = &ch->pods[i];
        if (!p->present) {
            continue;
        }
        const struct k8s_pod *kp = cluster_find_pod(c, pod_ns(ch, p)->name,
                                                    p->name);
        assert_non_null(kp);
        const struct k8s_namespace *kns = cluster_find_namespace(
            c, kp->namespace);
        struct labels nsl;
        if (kns) {
            labels_clone(&nsl, &kns->labels);
        } else {
            labels_init(&nsl);
        }
        labels_set(&nsl, "kubernetes.io/metadata.name", kp->namespace);
        size_t rules = 0;
        for (size_t j = 0; j < n_nps; j++) {
            const struct k8s_netpol *np = nps[j];
            for (int in = 0; in < 2; in++) {
                const struct np_rule *r = in ? np->ingress : np->egress;
                size_t n_r = in ? np->n_ingress : np->n_egress;
                for (size_t k = 0; k < n_r; k++) {
                    for (size_t l = 0; l < r[k].n_peers; l++) {
                        if (peer_selects(np, &r[k].peers[l], kp, &nsl)) {
                            rules++;
                            break;
                        }
                    }
                }
            }
        }
        labels_destroy(&nsl);
        counts[n++] = (struct peer_count) { .pod = i, .rules = rules };
    }
    np_qsort(counts, n, sizeof *counts, compare_peer_counts);
    ch->max_peer_rules = n ? counts[0].rules : 0;
    ch->median_peer_rules = n ? counts[n / 2].rules : 0;
    free(ch->hubs);
    ch->n_hubs = n < 100 ? (n < 10 ? n : 10) : n / 10;
    ch->hubs = xmalloc((ch->n_hubs + 1) * sizeof *ch->hubs);
    for (size_t i = 0; i < ch->n_hubs; i++) {
        ch->hubs[i] = counts[i].pod;
    }
    free(counts);
}

/* ---- Events. ---- */

typedef bool pod_filter(const struct churn *, const struct pod *);

static bool
any_present(const struct churn *ch, const struct pod *p)
{
    return p->present;
}

static bool
local_present(const struct churn *ch, const struct pod *p)
{
    return p->present && is_local(p);
}

static bool
with_ports(const struct churn *ch, const struct pod *p)
{
    return p->n_ports > 0;
}

static bool
present_with_ports(const struct churn *ch, const struct pod *p)
{
    return p->present && p->n_ports > 0;
}

static bool
unplugged(const struct churn *ch, const struct pod *p)
{
    return pluggable(ch, p) && !p->n_ports;
}

/* Pods whose addresses come from their ports (none in their status). */
static bool
plugged_addressless(const struct churn *ch, const struct pod *p)
{
    return p->present && p->n_ports && !pod_has_ip(p);
}

static bool
unplugged_addressless(const struct churn *ch, const struct pod *p)
{
    return unplugged(ch, p) && !pod_has_ip(p);
}

static bool
addressable(const struct churn *ch, const struct pod *p)
{
    return p->present && !pod_host_network(ch, p);
}

static bool
running(const struct churn *ch, const struct pod *p)
{
    return p->present && !pod_finished(p);
}

static bool
finished(const struct churn *ch, const struct pod *p)
{
    return p->present && pod_finished(p);
}

static bool
gone(const struct churn *ch, const struct pod *p)
{
    return !p->present;
}

/* A random pod that 'f' accepts, or NULL. */
static struct pod *
random_pod(struct churn *ch, pod_filter *f)
{
    size_t *cands = xmalloc((ch->n_pods + 1) * sizeof *cands);
    size_t n = 0;
    for (size_t i = 0; i < ch->n_pods; i++) {
        if (f(ch, &ch->pods[i])) {
            cands[n++] = i;
        }
    }
    struct pod *p = n ? &ch->pods[cands[rng_below(&ch->rng, n)]] : NULL;
    free(cands);
    return p;
}

/* A pod that 'f' accepts, a local one with probability 'p_local' (if
 * any), else any. */
static struct pod *
random_pod_local(struct churn *ch, pod_filter *f, double p_local)
{
    if (rng_chance(&ch->rng, p_local)) {
        size_t *cands = xmalloc((ch->n_pods + 1) * sizeof *cands);
        size_t n = 0;
        for (size_t i = 0; i < ch->n_pods; i++) {
            if (is_local(&ch->pods[i]) && f(ch, &ch->pods[i])) {
                cands[n++] = i;
            }
        }
        struct pod *p = n ? &ch->pods[cands[rng_below(&ch->rng, n)]] : NULL;
        free(cands);
        if (p) {
            return p;
        }
    }
    return random_pod(ch, f);
}

static const char *
pod_key(const struct churn *ch, const struct pod *p)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s%s", pod_ns(ch, p)->name, p->name,
             is_local(p) ? " (local)" : "");
    return buf;
}

static json_t *
pod_labels(struct pod *p)
{
    return json_object_get(json_object_get(p->obj, "metadata"), "labels");
}

static void ev_pod_delete(struct churn *);

static void
ev_pod_add(struct churn *ch)
{
    if (n_present_pods(ch) > TARGET_PODS * 115 / 100) {
        ev_pod_delete(ch);
        return;
    }
    struct pod *p = NULL;
    if (rng_chance(&ch->rng, 0.15)) {
        /* A deleted pod comes back (a StatefulSet's, or one whose port
         * was there first). */
        p = random_pod(ch, gone);
        if (p && !ch->nss[ch->apps[p->app].ns].present) {
            p = NULL;
        }
        if (p) {
            json_decref(p->obj);
            p->obj = make_pod_obj(ch, &ch->apps[p->app], p->name, p->node,
                                  "Running", rng_chance(&ch->rng, 0.2));
        }
    }
    if (!p) {
        double *w = xmalloc(ch->n_nss * sizeof *w);
        for (size_t i = 0; i < ch->n_nss; i++) {
            w[i] = ch->nss[i].present ? 1 + ch->nss[i].n_apps : 0;
        }
        size_t ns = rng_weighted(&ch->rng, w, ch->n_nss);
        free(w);
        size_t app;
        if (!ch->nss[ns].system && (!ch->nss[ns].n_apps
                                    || rng_chance(&ch->rng, 0.05))) {
            app = add_app(ch, ns, &PICK(&ch->rng, app_templates), NULL);
        } else {
            app = ch->nss[ns].apps[rng_below(&ch->rng, ch->nss[ns].n_apps)];
        }
        size_t i = spawn_pod(ch, app);
        p = &ch->pods[i];
    }
    apply_pod(ch, p);
    note(ch, "pod %s added, %s%s", pod_key(ch, p), pod_phase(p),
         pod_has_ip(p) ? "" : ", no address");
    if (pluggable(ch, p) && p->n_ports < 2 && rng_chance(&ch->rng, 0.5)) {
        plug(ch, p);
        note(ch, "  and plugged into port %s (%s)", p->ports[p->n_ports - 1],
             p->port_addresses[p->n_ports - 1]);
    }
}

static void
ev_pod_delete(struct churn *ch)
{
    if (n_present_pods(ch) < TARGET_PODS) {
        ev_pod_add(ch);
        return;
    }
    /* Finished pods first, as the pod garbage collector would; else any,
     * so that local ones stay about as many as adds make. */
    struct pod *p = (rng_chance(&ch->rng, 0.4) ? random_pod(ch, finished)
                     : NULL);
    if (!p) {
        p = random_pod(ch, any_present);
    }
    engine_delete(ch->engine, OBJ_POD, pod_ns(ch, p)->name, p->name);
    p->present = false;
    note(ch, "pod %s deleted", pod_key(ch, p));
    if (p->n_ports && rng_chance(&ch->rng, 0.6)) {
        while (p->n_ports) {
            remove_port(ch, p);
        }
        note(ch, "  and unplugged");
    }
}

/* Label values that selectors of either mix look for. */
static const char *
random_label_value(struct churn *ch, const struct pod *p, const char *key)
{
    if (!strcmp(key, "app")) {
        static const char *const hubs[] = { "prometheus", "otel-collector",
                                            "grafana" };
        const struct ns *ns = pod_ns(ch, p);
        return (rng_chance(&ch->rng, 0.2) ? PICK(&ch->rng, hubs)
                : ch->apps[ns->apps[rng_below(&ch->rng,
                                              ns->n_apps)]].name);
    } else if (!strcmp(key, "tier")) {
        return PICK(&ch->rng, tiers);
    } else if (!strcmp(key, "role")) {
        return PICK(&ch->rng, roles);
    } else if (!strcmp(key, "version")) {
        return PICK(&ch->rng, ((const char *const[]) { "v0", "v1", "v2",
                                                       "v3" }));
    } else if (!strcmp(key, "track")) {
        return PICK(&ch->rng, ((const char *const[]) { "canary",
                                                       "stable" }));
    } else if (!strcmp(key, "k8s-app")) {
        return PICK(&ch->rng, ((const char *const[]) { "kube-dns",
                                                       "kube-proxy",
                                                       "kube-dns-old" }));
    } else if (!strcmp(key, "app.kubernetes.io/name")) {
        return PICK(&ch->rng, ((const char *const[]) { "ingress-nginx",
                                                       "web", "api" }));
    }
    return PICK(&ch->rng, products);            /* part-of */
}

static void
ev_pod_relabel(struct churn *ch)
{
    /* The pods most rules select as peers and the local pods: the
     * relabels that touch the most rules and flows. */
    struct pod *p = NULL;
    double r = rng_real(&ch->rng);
    if (r < 0.4 && ch->n_hubs) {
        p = &ch->pods[ch->hubs[rng_below(&ch->rng, ch->n_hubs)]];
        if (!p->present) {
            p = NULL;
        }
    } else if (r < 0.7) {
        p = random_pod(ch, local_present);
    }
    if (!p) {
        p = random_pod(ch, any_present);
    }
    json_t *labels = pod_labels(p);
    if (rng_chance(&ch->rng, 0.15)) {
        /* Back to what its app gave it: hubs go back to being hubs. */
        json_object_update(labels, ch->apps[p->app].labels);
        note(ch, "pod %s relabelled as its app", pod_key(ch, p));
    } else {
        static const char *const keys[] = {
            "app", "tier", "role", "version", "track",
            "app.kubernetes.io/part-of", "k8s-app", "app.kubernetes.io/name",
        };
        const char *key = PICK(&ch->rng, keys);
        if (rng_chance(&ch->rng, 0.7)) {
            /* One it has, rather: the keys of 'keys' in their order, not
             * in jansson's (a seed must replay the same events). */
            const char *own[ARRAY_SIZE(keys)];
            size_t n = 0;
            for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                if (json_object_get(labels, keys[i])) {
                    own[n++] = keys[i];
                }
            }
            if (n) {
                key = own[rng_below(&ch->rng, n)];
            }
        }
        if (json_object_get(labels, key) && rng_chance(&ch->rng, 0.2)) {
            json_object_del(labels, key);
            note(ch, "pod %s loses label %s", pod_key(ch, p), key);
        } else {
            const char *value = random_label_value(ch, p, key);
            json_object_set_new(labels, key, json_string(value));
            note(ch, "pod %s relabelled %s=%s", pod_key(ch, p), key, value);
        }
    }
    apply_pod(ch, p);
}

/* An address of 'p''s first port, without its prefix length, or NULL;
 * malloc'd. */
static char *
port_ipv4(const struct pod *p)
{
    if (!p->n_ports || !p->port_addresses[0][0]
        || strchr(p->port_addresses[0], ':')) {
        return NULL;
    }
    return xmemdup0(p->port_addresses[0],
                    strcspn(p->port_addresses[0], "/,"));
}

static void
ev_pod_address(struct churn *ch)
{
    struct pod *p = random_pod_local(ch, addressable, 0.4);
    if (!p) {
        return;
    }
    json_t *status = json_object_get(p->obj, "status");
    json_t *ips = json_object_get(status, "podIPs");
    const char *phase = pod_phase(p);
    char *ip4 = NULL, *ip6 = NULL;
    for (size_t i = 0; i < json_array_size(ips); i++) {
        const char *a = json_string_value(json_object_get(
                                              json_array_get(ips, i), "ip"));
        *(strchr(a, ':') ? &ip6 : &ip4) = xstrdup(a);
    }
    const char *what;
    if (!ip4 && !ip6) {
        /* It gets its address: most often the one its CNI wrote on its
         * port, if it has one. */
        ip4 = rng_chance(&ch->rng, 0.7) ? port_ipv4(p) : NULL;
        if (!ip4) {
            ip4 = new_ipv4(ch, p->node);
        }
        if (rng_chance(&ch->rng, 0.25)) {
            ip6 = new_ipv6(ch, p->node);
        }
        if (!strcmp(phase, "Pending")) {
            phase = "Running";
        }
        what = "gets its address";
    } else {
        double r = rng_real(&ch->rng);
        if (r < 0.6 || !ip4) {
            free(ip4);
            ip4 = new_ipv4(ch, p->node);
            what = "changes address";
        } else if (r < 0.8) {
            free(ip6);
            ip6 = ip6 ? NULL : new_ipv6(ch, p->node);
            what = ip6 ? "gets an IPv6 address" : "loses its IPv6 address";
        } else if (r < 0.9) {
            free(ip4);
            ip4 = NULL;
            if (!ip6) {
                ip6 = new_ipv6(ch, p->node);
            }
            what = "keeps only its IPv6 address";
        } else {
            free(ip4);
            free(ip6);
            ip4 = ip6 = NULL;
            what = "loses its addresses";
        }
    }
    char *phase_copy = xstrdup(phase);
    set_status(p->obj, phase_copy, ip4, ip6);
    free(phase_copy);
    apply_pod(ch, p);
    note(ch, "pod %s %s: %s %s", pod_key(ch, p), what, ip4 ? ip4 : "-",
         ip6 ? ip6 : "-");
    free(ip4);
    free(ip6);
    if (p->n_ports && rng_chance(&ch->rng, 0.3)) {
        /* Its CNI writes the new addresses on its port too. */
        char *addresses = status_addresses(p->obj);
        bind_port(ch, p, p->n_ports - 1, addresses);
        note(ch, "  and port %s says %s", p->ports[p->n_ports - 1],
             addresses);
        free(addresses);
    }
}

static void
ev_pod_finish(struct churn *ch)
{
    struct pod *p = random_pod_local(ch, running, 0.4);
    if (!p) {
        return;
    }
    const char *phase = rng_chance(&ch->rng, 0.6) ? "Succeeded" : "Failed";
    json_object_set_new(json_object_get(p->obj, "status"), "phase",
                        json_string(phase));
    apply_pod(ch, p);
    note(ch, "pod %s %s", pod_key(ch, p), phase);
    if (p->n_ports && rng_chance(&ch->rng, 0.3)) {
        while (p->n_ports) {
            remove_port(ch, p);
        }
        note(ch, "  and unplugged");
    }
}

static void
ev_port(struct churn *ch)
{
    double r = rng_real(&ch->rng);
    struct pod *p = NULL;
    if (r < 0.2) {
        p = random_pod(ch, with_ports);
        if (p) {
            note(ch, "port %s of %s unplugged", p->ports[0], pod_key(ch, p));
            remove_port(ch, p);
            return;
        }
    } else if (r < 0.45) {
        /* A CNI replaces a pod's port: the new one first, the old one
         * goes in a later event. */
        p = random_pod(ch, present_with_ports);
        if (p && p->n_ports == 2) {
            note(ch, "old port %s of %s unplugged", p->ports[0],
                 pod_key(ch, p));
            remove_port(ch, p);
            return;
        }
        if (p) {
            char *addresses = (rng_chance(&ch->rng, 0.6)
                               ? xstrdup(p->port_addresses[0])
                               : fresh_port_addresses(ch, p));
            add_port(ch, p, addresses);
            note(ch, "pod %s gets a second port %s (%s)", pod_key(ch, p),
                 p->ports[1], addresses);
            free(addresses);
            return;
        }
    } else if (r < 0.6) {
        /* Most often where the port's addresses count: a pod that has
         * none in its status. */
        p = rng_chance(&ch->rng, 0.6) ? random_pod(ch, plugged_addressless)
            : NULL;
        if (!p) {
            p = random_pod(ch, with_ports);
        }
        if (p) {
            size_t i = rng_below(&ch->rng, p->n_ports);
            double s = rng_real(&ch->rng);
            char *addresses = (s < 0.4 ? fresh_port_addresses(ch, p)
                               : s < 0.6 ? xstrdup("")
                               : s < 0.8 && p->obj
                               ? status_addresses(p->obj)
                               : xasprintf("%s,fd00:10:%x::2:%x/64",
                                           p->port_addresses[i][0]
                                           ? p->port_addresses[i]
                                           : "10.129.0.9/16",
                                           p->node, ch->serial++ & 0xfff));
            bind_port(ch, p, i, addresses);
            note(ch, "port %s of %s now says %s", p->ports[i],
                 pod_key(ch, p), addresses);
            free(addresses);
            return;
        }
    } else if (r < 0.65) {
        /* OVSDB may say anything: a port for a pod we do not know, or one
         * on another node. */
        if (rng_chance(&ch->rng, 0.5)) {
            size_t app = rng_below(&ch->rng, ch->n_apps);
            size_t i = new_pod(ch, app, 1, "Running", false);
            p = &ch->pods[i];
        } else {
            p = random_pod(ch, any_present);
        }
        if (p && p->n_ports < 2) {
            plug(ch, p);
            note(ch, "stray port %s for %s%s (%s)", p->ports[p->n_ports - 1],
                 pod_key(ch, p), p->present ? "" : ", no such pod",
                 p->port_addresses[p->n_ports - 1]);
            return;
        }
    }
    p = rng_chance(&ch->rng, 0.4) ? random_pod(ch, unplugged_addressless)
        : NULL;
    if (!p) {
        p = random_pod(ch, unplugged);
    }
    if (p) {
        plug(ch, p);
        note(ch, "pod %s plugged into port %s (%s)", pod_key(ch, p),
             p->ports[0], p->port_addresses[0]);
    }
}

static struct ns *
random_ns(struct churn *ch, bool present, double p_system)
{
    size_t *cands = xmalloc(ch->n_nss * sizeof *cands);
    bool system = rng_chance(&ch->rng, p_system);
    struct ns *ns = NULL;
    for (int pass = 0; pass < 2 && !ns; pass++) {
        size_t n = 0;
        for (size_t i = 0; i < ch->n_nss; i++) {
            if (ch->nss[i].present == present
                && (pass || ch->nss[i].system == system)) {
                cands[n++] = i;
            }
        }
        ns = n ? &ch->nss[cands[rng_below(&ch->rng, n)]] : NULL;
    }
    free(cands);
    return ns;
}

static void ev_ns_relabel(struct churn *);

static void
ev_ns_add(struct churn *ch)
{
    struct ns *ns = random_ns(ch, false, 0.1);
    if (ns && rng_chance(&ch->rng, 0.7)) {
        if (!ns->system && rng_chance(&ch->rng, 0.4)) {
            json_object_set_new(ns_labels(ns), "env",
                                json_string(PICK(&ch->rng, envs)));
        }
        apply_ns(ch, ns);
        note(ch, "namespace %s back", ns->name);
    } else if (n_present_nss(ch) < TARGET_NAMESPACES * 115 / 100) {
        size_t i = new_app_ns(ch);
        add_app(ch, i, &PICK(&ch->rng, app_templates), NULL);
        apply_ns(ch, &ch->nss[i]);
        note(ch, "namespace %s added", ch->nss[i].name);
    } else {
        ev_ns_relabel(ch);
    }
}

static void
ev_ns_delete(struct churn *ch)
{
    if (n_present_nss(ch) < TARGET_NAMESPACES) {
        ev_ns_add(ch);
        return;
    }
    struct ns *ns = random_ns(ch, true, 0.1);
    size_t ns_index = ns - ch->nss;
    engine_delete(ch->engine, OBJ_NAMESPACE, "", ns->name);
    ns->present = false;
    if (rng_chance(&ch->rng, 0.5)) {
        /* What the API server's namespace controller does next, here in
         * the same batch. */
        size_t n_pods = 0, n_pols = 0;
        for (size_t i = 0; i < ch->n_pods; i++) {
            struct pod *p = &ch->pods[i];
            if (ch->apps[p->app].ns == ns_index && p->present) {
                engine_delete(ch->engine, OBJ_POD, ns->name, p->name);
                p->present = false;
                while (p->n_ports) {
                    remove_port(ch, p);
                }
                n_pods++;
            }
        }
        for (size_t i = 0; i < ch->n_pols; i++) {
            struct pol *pol = &ch->pols[i];
            if (pol->ns == ns_index && pol->present) {
                engine_delete(ch->engine, OBJ_NETPOL, ns->name, pol->name);
                pol->present = false;
                n_pols++;
            }
        }
        note(ch, "namespace %s deleted with its %zu pods and %zu policies",
             ns->name, n_pods, n_pols);
    } else {
        note(ch, "namespace %s deleted, its pods and policies stay",
             ns->name);
    }
}

/* The audit annotation (README, "Audit log"): its flows are the copies
 * of the namespace's pods' default denies and of its policies' rules, both
 * of which the engine must put in and take out without a rebuild. */
static void
ev_ns_audit(struct churn *ch)
{
    struct ns *ns = random_ns(ch, true, 0.15);
    json_t *meta = json_object_get(ns->obj, "metadata");
    static const char *const modes[] = { "none", "deny", "allow", "all",
                                         "everything" };
    if (json_object_get(meta, "annotations") && rng_chance(&ch->rng, 0.3)) {
        json_object_del(meta, "annotations");
        note(ch, "namespace %s loses its audit annotation", ns->name);
    } else {
        const char *mode = PICK(&ch->rng, modes);
        json_object_set_new(meta, "annotations",
                            json_pack("{s:s}", "ovs-netpol.io/audit", mode));
        note(ch, "namespace %s audits %s", ns->name, mode);
    }
    apply_ns(ch, ns);
}

static void
ev_ns_relabel(struct churn *ch)
{
    if (rng_chance(&ch->rng, 0.25)) {
        ev_ns_audit(ch);
        return;
    }
    struct ns *ns = random_ns(ch, true, 0.15);
    json_t *l = ns_labels(ns);
    static const char *const keys[] = { "env", "team", "tier", "compliance",
                                        "istio-injection" };
    const char *key = PICK(&ch->rng, keys);
    if (json_object_get(l, key) && rng_chance(&ch->rng, 0.25)) {
        json_object_del(l, key);
        note(ch, "namespace %s loses label %s", ns->name, key);
    } else {
        const char *value = (!strcmp(key, "env") ? PICK(&ch->rng, envs)
                             : !strcmp(key, "team") ? PICK(&ch->rng, teams)
                             : !strcmp(key, "tier") ? PICK(&ch->rng, ns_tiers)
                             : !strcmp(key, "compliance") ? "pci"
                             : "enabled");
        json_object_set_new(l, key, json_string(value));
        note(ch, "namespace %s relabelled %s=%s", ns->name, key, value);
    }
    apply_ns(ch, ns);
}

/* A pod or namespace applied again with only its resourceVersion
 * changed, as most updates a watch delivers: the flows must not move. */
static void
ev_touch(struct churn *ch)
{
    static unsigned int version;
    char rv[32];
    snprintf(rv, sizeof rv, "t%u", ++version);
    if (rng_chance(&ch->rng, 0.8)) {
        struct pod *p = random_pod(ch, any_present);
        if (p) {
            json_object_set_new(json_object_get(p->obj, "metadata"),
                                "resourceVersion", json_string(rv));
            note(ch, "pod %s touched", pod_key(ch, p));
            apply_pod(ch, p);
        }
    } else {
        struct ns *ns = random_ns(ch, true, 0.15);
        if (ns) {
            json_object_set_new(json_object_get(ns->obj, "metadata"),
                                "resourceVersion", json_string(rv));
            note(ch, "namespace %s touched", ns->name);
            apply_ns(ch, ns);
        }
    }
}

static struct pol *
random_pol(struct churn *ch)
{
    size_t *cands = xmalloc((ch->n_pols + 1) * sizeof *cands);
    size_t n = 0;
    for (size_t i = 0; i < ch->n_pols; i++) {
        if (ch->pols[i].present) {
            cands[n++] = i;
        }
    }
    struct pol *pol = n ? &ch->pols[cands[rng_below(&ch->rng, n)]] : NULL;
    free(cands);
    return pol;
}

static void ev_policy_delete(struct churn *);

static void
ev_policy_add(struct churn *ch)
{
    if (n_present_pols(ch) > TARGET_POLICIES * 115 / 100) {
        ev_policy_delete(ch);
        return;
    }
    struct pol *pol = add_policy(ch, policy_ns(ch));
    note(ch, "policy %s/%s added", ch->nss[pol->ns].name, pol->name);
}

static void
ev_policy_delete(struct churn *ch)
{
    if (n_present_pols(ch) < TARGET_POLICIES) {
        ev_policy_add(ch);
        return;
    }
    struct pol *pol = random_pol(ch);
    engine_delete(ch->engine, OBJ_NETPOL, ch->nss[pol->ns].name, pol->name);
    pol->present = false;
    note(ch, "policy %s/%s deleted", ch->nss[pol->ns].name, pol->name);
}

/* A peer of the namespaces of one env.  A function, so that its two
 * draws are in order (see make_kind()). */
static json_t *
env_peer(struct churn *ch)
{
    const char *env = PICK(&ch->rng, envs);
    return peer(sel_label("env", env), broad_src_pods(ch));
}

/* One rule of 'spec', or NULL; stores "from" or "to" in '*dir'. */
static json_t *
random_rule(struct churn *ch, json_t *spec, const char **dir)
{
    json_t *in = json_object_get(spec, "ingress");
    json_t *eg = json_object_get(spec, "egress");
    size_t n_in = json_array_size(in), n_eg = json_array_size(eg);
    if (!n_in && !n_eg) {
        return NULL;
    }
    size_t i = rng_below(&ch->rng, n_in + n_eg);
    *dir = i < n_in ? "from" : "to";
    return i < n_in ? json_array_get(in, i) : json_array_get(eg, i - n_in);
}

static void
ev_policy_edit(struct churn *ch)
{
    struct pol *pol = random_pol(ch);
    struct ns *ns = &ch->nss[pol->ns];
    json_t *spec = json_object_get(pol->obj, "spec");
    const struct app *a = pick_app(ch, ns);
    const char *dir = "from";
    json_t *r = random_rule(ch, spec, &dir);
    double x = rng_real(&ch->rng);
    const char *what;
    if (x < 0.2) {
        char *name;
        json_t *obj = random_policy(ch, pol->ns, pol->name, &name);
        free(name);
        json_decref(pol->obj);
        pol->obj = obj;
        what = "rewritten";
    } else if (x < 0.4 || (!a && x < 0.7)) {
        double s = rng_real(&ch->rng);
        json_t *sel = (s < 0.2 || !a ? json_object()
                       : s < 0.3 ? sel_expr(NULL, "app", "Exists", NULL)
                       : s < 0.4 ? sel_expr(NULL, "track", "DoesNotExist",
                                            NULL)
                       : dest_selector(ch, ns, a));
        json_object_set_new(spec, "podSelector", sel);
        what = "selects other pods";
    } else if (x < 0.7 && r) {
        double s = rng_real(&ch->rng);
        if (s < 0.15) {
            json_object_del(r, "ports");
        } else {
            json_object_set_new(r, "ports",
                                (s < 0.6 ? app_ports(ch, a)
                                 : s < 0.8 ? range_ports(ch)
                                 : named_ports(ch)));
        }
        what = "changes a rule's ports";
    } else if (x < 0.9 && r) {
        double s = rng_real(&ch->rng);
        json_t *p = (s < 0.1 ? NULL
                     : s < 0.3 && a ? source_peer(ch, ns, a)
                     : s < 0.5 ? cross_peer(ch, ns)
                     : s < 0.6 ? peer(json_object(), broad_src_pods(ch))
                     : s < 0.7 ? env_peer(ch)
                     : s < 0.85 ? peer_block(&PICK(&ch->rng, pod_blocks))
                     : peer_block(&PICK(&ch->rng, outside_blocks)));
        if (!p) {
            json_object_del(r, dir);
        } else if (json_array_size(json_object_get(r, dir))
                   && rng_chance(&ch->rng, 0.3)) {
            json_array_append_new(json_object_get(r, dir), p);
        } else {
            json_object_set_new(r, dir, json_pack("[o]", p));
        }
        what = "changes a rule's peers";
    } else if (x < 0.95 || !a) {
        static const int types[] = { 0, TYPES_INGRESS, TYPES_EGRESS,
                                     TYPES_INGRESS | TYPES_EGRESS };
        int t = PICK(&ch->rng, types);
        json_t *list = json_array();
        if (t & TYPES_INGRESS) {
            json_array_append_new(list, json_string("Ingress"));
        }
        if (t & TYPES_EGRESS) {
            json_array_append_new(list, json_string("Egress"));
        }
        if (t) {
            json_object_set_new(spec, "policyTypes", list);
        } else {
            json_decref(list);
            json_object_del(spec, "policyTypes");
        }
        what = "changes its policyTypes";
    } else {
        json_t *in = json_object_get(spec, "ingress");
        if (!in) {
            in = json_array();
            json_object_set_new(spec, "ingress", in);
        }
        json_t *p = source_peer(ch, ns, a);
        json_array_append_new(in, rule("from", json_pack("[o]", p),
                                        app_ports(ch, a)));
        what = "gets another ingress rule";
    }
    apply_pol(ch, pol);
    note(ch, "policy %s/%s %s", ns->name, pol->name, what);
}

/* ---- ClusterNetworkPolicies and Nodes. ---- */

/* Node 'k': its host-network pods' address, an IPv6 one at times, and
 * labels that 'nodes' peers select. */
static json_t *
make_node(struct churn *ch, int k)
{
    char *name = xasprintf("node-%d", k);
    char *ip = xasprintf("172.18.0.%d", k);
    char *ip6 = xasprintf("fd00:18::%d", k);
    json_t *addrs = json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "InternalIP",
                              "address", ip, "type", "Hostname", "address",
                              name);
    if (rng_chance(&ch->rng, 0.5)) {
        json_array_append_new(addrs, json_pack("{s:s,s:s}", "type",
                                               "InternalIP", "address", ip6));
    }
    const char *role = rng_chance(&ch->rng, 0.4) ? "infra" : "worker";
    json_t *obj = json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s}},s:{s:o}}",
                            "apiVersion", "v1", "kind", "Node", "metadata",
                            "name", name, "labels", "role", role, "zone",
                            k % 2 ? "a" : "b", "status", "addresses", addrs);
    free(name);
    free(ip);
    free(ip6);
    return obj;
}

/* A selector of namespaces by one of the labels they share. */
static json_t *
cnp_ns_selector(struct churn *ch)
{
    double s = rng_real(&ch->rng);
    if (s < 0.15) {
        return json_object();
    } else if (s < 0.5) {
        return sel_label("env", PICK(&ch->rng, envs));
    } else if (s < 0.8) {
        return sel_label("team", PICK(&ch->rng, teams));
    }
    return sel_expr(NULL, "tier", "In", VALUES("web", "data"));
}

static json_t *
cnp_pods(struct churn *ch)
{
    json_t *ns_sel = cnp_ns_selector(ch);
    json_t *pod_sel = (rng_chance(&ch->rng, 0.2) ? json_object()
                       : sel_label("tier", PICK(&ch->rng, tiers)));
    return json_pack("{s:o,s:o}", "namespaceSelector", ns_sel, "podSelector",
                     pod_sel);
}

/* One peer; 'egress' may give networks and nodes.  Sets '*address' for
 * those (a named port may not go with them). */
static json_t *
cnp_peer(struct churn *ch, bool egress, bool *address)
{
    double s = rng_real(&ch->rng);
    if (s < 0.3) {
        return json_pack("{s:o}", "namespaces", cnp_ns_selector(ch));
    } else if (s < 0.6 || !egress) {
        if (s > 0.95) {
            /* A peer of a newer API: fails closed. */
            return json_pack("{s:{s:s}}", "serviceAccounts", "name",
                             "default");
        }
        return json_pack("{s:o}", "pods", cnp_pods(ch));
    }
    *address = true;
    if (s < 0.85) {
        const struct block *b = (rng_chance(&ch->rng, 0.6)
                                 ? &PICK(&ch->rng, pod_blocks)
                                 : &PICK(&ch->rng, outside_blocks));
        return json_pack("{s:[s]}", "networks", b->cidr);
    }
    json_t *sel = (rng_chance(&ch->rng, 0.3) ? json_object()
                   : sel_label("role", rng_chance(&ch->rng, 0.5) ? "worker"
                               : "infra"));
    return json_pack("{s:o}", "nodes", sel);
}

static json_t *
cnp_protocols(struct churn *ch, bool named_ok)
{
    json_t *list = json_array();
    int n = rng_between(&ch->rng, 1, 2);
    for (int i = 0; i < n; i++) {
        double s = rng_real(&ch->rng);
        static const int numbers[] = { 80, 8080, 5432, 9090, 53 };
        if (s < 0.35) {
            int port = PICK(&ch->rng, numbers);
            json_array_append_new(list, json_pack(
                                      "{s:{s:{s:i}}}", "tcp",
                                      "destinationPort", "number", port));
        } else if (s < 0.5) {
            json_array_append_new(list, json_pack(
                                      "{s:{s:{s:{s:i,s:i}}}}", "tcp",
                                      "destinationPort", "range", "start",
                                      8000, "end", 9100));
        } else if (s < 0.65) {
            json_array_append_new(list, json_pack(
                                      "{s:{s:{s:i}}}", "udp",
                                      "destinationPort", "number", 53));
        } else if (s < 0.75) {
            json_array_append_new(list, json_pack(
                                      "{s:{s:{s:i}}}", "sctp",
                                      "destinationPort", "number", 5060));
        } else if (named_ok) {
            static const char *const names[] = { "metrics", "http", "dns",
                                                 "grpc" };
            json_array_append_new(list, json_pack(
                                      "{s:s}", "destinationNamedPort",
                                      PICK(&ch->rng, names)));
        } else {
            json_array_append_new(list, json_pack(
                                      "{s:{s:{s:i}}}", "tcp",
                                      "destinationPort", "number", 443));
        }
    }
    return list;
}

static json_t *
cnp_rule(struct churn *ch, bool egress, int idx)
{
    static const char *const actions[] = { "Accept", "Deny", "Pass" };
    const char *action = PICK(&ch->rng, actions);
    char *name = xasprintf("r%d", idx);
    json_t *peers = json_array();
    bool address = false;
    int n = rng_between(&ch->rng, 1, 2);
    for (int i = 0; i < n; i++) {
        json_array_append_new(peers, cnp_peer(ch, egress, &address));
    }
    json_t *r = json_pack("{s:s,s:s,s:o}", "name", name, "action", action,
                          egress ? "to" : "from", peers);
    free(name);
    if (rng_chance(&ch->rng, 0.6)) {
        json_object_set_new(r, "protocols",
                            cnp_protocols(ch, !(egress && address)));
    }
    return r;
}

static json_t *
random_cnp(struct churn *ch, const char *name)
{
    json_t *subject;
    if (rng_chance(&ch->rng, 0.5)) {
        subject = json_pack("{s:o}", "namespaces", cnp_ns_selector(ch));
    } else {
        subject = json_pack("{s:o}", "pods", cnp_pods(ch));
    }
    const char *tier = rng_chance(&ch->rng, 0.6) ? "Admin" : "Baseline";
    /* Few priorities: ties, ordered by name. */
    int priority = rng_between(&ch->rng, 0, 4);
    json_t *spec = json_pack("{s:s,s:i,s:o}", "tier", tier, "priority",
                             priority, "subject", subject);
    int n_in = rng_between(&ch->rng, 0, 3);
    int n_eg = rng_between(&ch->rng, n_in ? 0 : 1, 3);
    json_t *in = json_array(), *eg = json_array();
    for (int i = 0; i < n_in; i++) {
        json_array_append_new(in, cnp_rule(ch, false, i));
    }
    for (int i = 0; i < n_eg; i++) {
        json_array_append_new(eg, cnp_rule(ch, true, i));
    }
    json_object_set_new(spec, "ingress", in);
    json_object_set_new(spec, "egress", eg);
    return json_pack("{s:s,s:s,s:{s:s},s:o}", "apiVersion",
                     "policy.networking.k8s.io/v1alpha2", "kind",
                     "ClusterNetworkPolicy", "metadata", "name", name,
                     "spec", spec);
}

static size_t
n_present_cnps(const struct churn *ch)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->n_cnps; i++) {
        n += ch->cnps[i].present;
    }
    return n;
}

static struct cnpol *
random_cnpol(struct churn *ch)
{
    size_t n = n_present_cnps(ch);
    if (!n) {
        return NULL;
    }
    size_t k = rng_below(&ch->rng, n);
    for (size_t i = 0; i < ch->n_cnps; i++) {
        if (ch->cnps[i].present && !k--) {
            return &ch->cnps[i];
        }
    }
    return NULL;
}

static struct cnpol *
add_cnp(struct churn *ch)
{
    struct cnpol c = { .name = xasprintf("cnp-%u", ch->serial++),
                       .present = true };
    c.obj = random_cnp(ch, c.name);
    APPEND(ch->cnps, ch->n_cnps, ch->allocated_cnps, c);
    apply_object(ch, c.obj);
    return &ch->cnps[ch->n_cnps - 1];
}

static void ev_cnp_delete(struct churn *);

static void
ev_cnp_add(struct churn *ch)
{
    if (n_present_cnps(ch) > TARGET_CNPS * 3 / 2) {
        ev_cnp_delete(ch);
        return;
    }
    struct cnpol *c = add_cnp(ch);
    note(ch, "ClusterNetworkPolicy %s added", c->name);
}

static void
ev_cnp_delete(struct churn *ch)
{
    if (n_present_cnps(ch) < TARGET_CNPS / 2) {
        ev_cnp_add(ch);
        return;
    }
    struct cnpol *c = random_cnpol(ch);
    engine_delete(ch->engine, OBJ_CNP, "", c->name);
    c->present = false;
    note(ch, "ClusterNetworkPolicy %s deleted", c->name);
}

static void
ev_cnp_edit(struct churn *ch)
{
    struct cnpol *c = random_cnpol(ch);
    if (!c) {
        ev_cnp_add(ch);
        return;
    }
    json_t *spec = json_object_get(c->obj, "spec");
    double x = rng_real(&ch->rng);
    const char *what;
    if (x < 0.3) {
        json_decref(c->obj);
        c->obj = random_cnp(ch, c->name);
        what = "rewritten";
    } else if (x < 0.55) {
        json_object_set_new(spec, "priority",
                            json_integer(rng_between(&ch->rng, 0, 4)));
        what = "gets another priority";
    } else if (x < 0.8) {
        json_t *eg = json_object_get(spec, "egress");
        json_t *in = json_object_get(spec, "ingress");
        bool egress = json_array_size(eg) && (!json_array_size(in)
                                              || rng_chance(&ch->rng, 0.5));
        json_t *rules = egress ? eg : in;
        size_t i = rng_below(&ch->rng, json_array_size(rules));
        json_array_set_new(rules, i, cnp_rule(ch, egress, (int) i));
        what = "changes a rule";
    } else {
        json_t *subject;
        if (rng_chance(&ch->rng, 0.5)) {
            subject = json_pack("{s:o}", "namespaces", cnp_ns_selector(ch));
        } else {
            subject = json_pack("{s:o}", "pods", cnp_pods(ch));
        }
        json_object_set_new(spec, "subject", subject);
        what = "selects another subject";
    }
    apply_object(ch, c->obj);
    note(ch, "ClusterNetworkPolicy %s %s", c->name, what);
}

static void
ev_node(struct churn *ch)
{
    int k = rng_between(&ch->rng, 1, N_NODES);
    json_decref(ch->nodes[k]);
    ch->nodes[k] = make_node(ch, k);
    apply_object(ch, ch->nodes[k]);
    note(ch, "Node node-%d changed", k);
}

/* A port that carries no pod: plugged (mostly unbound: a pod's port that
 * its chained CNI has not bound yet; else an uplink or a node port),
 * bound to a pod (its role forgotten and the binding made in one batch,
 * as the daemon reports them), unplugged, or its role changed. */
static void
ev_spare_port(struct churn *ch)
{
    double r = rng_real(&ch->rng);
    if (r < 0.35 || !ch->n_spares) {
        double k = rng_real(&ch->rng);
        struct spare sp = {
            .port = xasprintf("%u", ch->next_ofport++),
            .role = (k < 0.75 ? COMPILE_PORT_UNBOUND
                     : k < 0.9 ? COMPILE_PORT_UPLINK : COMPILE_PORT_NODE),
        };
        APPEND(ch->spares, ch->n_spares, ch->allocated_spares, sp);
        engine_set_port_role(ch->engine, sp.port, sp.role);
        note(ch, "port %s plugged: %s", sp.port,
             compile_port_role_name(sp.role));
        return;
    }
    size_t i = rng_below(&ch->rng, ch->n_spares);
    struct spare *sp = &ch->spares[i];
    if (r < 0.6 && sp->role == COMPILE_PORT_UNBOUND) {
        /* A chained CNI binds a new pod's port. */
        struct pod *p = random_pod(ch, unplugged);
        if (!p) {
            return;
        }
        engine_set_port_role(ch->engine, sp->port, COMPILE_PORT_POD);
        size_t j = p->n_ports++;
        p->ports[j] = sp->port;
        p->port_addresses[j] = NULL;
        char *addresses = (rng_chance(&ch->rng, 0.5)
                           ? fresh_port_addresses(ch, p) : NULL);
        bind_port(ch, p, j, addresses);
        note(ch, "port %s bound to %s (%s)", sp->port, pod_key(ch, p),
             addresses ? addresses : "no addresses");
        free(addresses);
    } else if (r < 0.8) {
        engine_set_port_role(ch->engine, sp->port, COMPILE_PORT_POD);
        note(ch, "port %s (%s) unplugged", sp->port,
             compile_port_role_name(sp->role));
        free(sp->port);
    } else {
        sp->role = (sp->role == COMPILE_PORT_UNBOUND ? COMPILE_PORT_UPLINK
                    : COMPILE_PORT_UNBOUND);
        engine_set_port_role(ch->engine, sp->port, sp->role);
        note(ch, "port %s: %s now", sp->port, compile_port_role_name(sp->role));
        return;
    }
    *sp = ch->spares[--ch->n_spares];
}

/* Weights in percent of the events. */
static const struct {
    const char *name;
    double weight;
    void (*run)(struct churn *);
} events[N_EVENTS] = {
    [EV_POD_ADD] = { "pod-add", 14, ev_pod_add },
    [EV_POD_DELETE] = { "pod-delete", 7, ev_pod_delete },
    [EV_POD_RELABEL] = { "pod-relabel", 20, ev_pod_relabel },
    [EV_POD_ADDRESS] = { "pod-address", 8, ev_pod_address },
    [EV_POD_FINISH] = { "pod-finish", 4, ev_pod_finish },
    [EV_PORT] = { "port", 14, ev_port },
    [EV_NS_ADD] = { "ns-add", 2, ev_ns_add },
    [EV_NS_DELETE] = { "ns-delete", 2, ev_ns_delete },
    [EV_NS_RELABEL] = { "ns-relabel", 6, ev_ns_relabel },
    [EV_POLICY_ADD] = { "policy-add", 8, ev_policy_add },
    [EV_POLICY_DELETE] = { "policy-delete", 5, ev_policy_delete },
    [EV_POLICY_EDIT] = { "policy-edit", 10, ev_policy_edit },
    [EV_TOUCH] = { "touch", 8, ev_touch },
    [EV_SPARE_PORT] = { "spare-port", 4, ev_spare_port },
    [EV_CNP_ADD] = { "cnp-add", 1.5, ev_cnp_add },
    [EV_CNP_DELETE] = { "cnp-delete", 1, ev_cnp_delete },
    [EV_CNP_EDIT] = { "cnp-edit", 3, ev_cnp_edit },
    [EV_NODE] = { "node", 1, ev_node },
};

static void
random_event(struct churn *ch)
{
    double w[N_EVENTS];
    for (size_t i = 0; i < N_EVENTS; i++) {
        w[i] = events[i].weight;
    }
    size_t i = rng_weighted(&ch->rng, w, N_EVENTS);
    ch->counts[i]++;
    events[i].run(ch);
}

/* Events until the next run: often one, sometimes a burst, as a daemon's
 * loop iterations see them. */
static size_t
draw_batch(struct churn *ch)
{
    double r = rng_real(&ch->rng);
    return (r < 0.4 ? 1 : r < 0.75 ? rng_between(&ch->rng, 2, 6)
            : rng_between(&ch->rng, 7, 30));
}

/* ---- The check. ---- */

static void
print_change(const char *what, const struct flow_change *c)
{
    char *buf = NULL;
    print_error("  %-20s table=%u priority=%u cookie=%#"PRIx64" %s "
                "actions=%s\n", what, c->table, c->priority, c->cookie,
                c->match, flowtab_change_actions(c, &buf));
    free(buf);
}

/* Prints the first REPORT_FLOWS flows in which 'incremental' and 'full'
 * differ, and what happened since the last comparison. */
static void
report_difference(const struct churn *ch, const struct flowtab *incremental,
                  const struct flowtab *full, size_t n_events)
{
    struct flow_change *to_full, *to_incremental;
    size_t n, n_back;
    flowtab_diff(incremental, full, &to_full, &n);
    flowtab_diff(full, incremental, &to_incremental, &n_back);
    print_error("churn %s, seed %"PRIu64": after event %zu, the incremental "
                "table (%zu flows) differs from a full recompute (%zu flows) "
                "in %zu flows; replay with CHURN_SEED=%"PRIu64" "
                "CHURN_EVENTS=%zu; the first %d:\n", ch->mix_name, ch->seed,
                ch->event, flowtab_count(incremental), flowtab_count(full), n,
                ch->seed, n_events, REPORT_FLOWS);
    for (size_t i = 0; i < n && i < REPORT_FLOWS; i++) {
        const struct flow_change *c = &to_full[i];
        if (c->type == FLOW_ADD) {
            print_change("only in full:", c);
        } else if (c->type == FLOW_DELETE) {
            print_change("only in incremental:", c);
        } else {
            print_change("full has:", c);
            for (size_t j = 0; j < n_back; j++) {
                const struct flow_change *b = &to_incremental[j];
                if (b->type == FLOW_MODIFY && b->table == c->table
                    && b->priority == c->priority
                    && !strcmp(b->match, c->match)) {
                    print_change("incremental has:", b);
                }
            }
        }
    }
    print_error("events since the last comparison (a \"run\" line: the "
                "engine ran):\n");
    for (size_t i = 0; i < ch->n_log; i++) {
        print_error("  %s\n", ch->log[i]);
    }
    free(to_full);
    free(to_incremental);
}

/* Compares the engine's incremental table with a full recompute of the
 * same inputs and fails, with a report, if they differ.  What "a full
 * recompute" is lives here alone: today the engine's own, which compiles
 * every policy again (engine_force_full()) and leaves the engine with
 * that table, so the next 100 events start from a correct one.  Adds the
 * policies the full run compiled to '*full_compiled'. */
/* Brings 'installed' up to date with what the engine's runs changed, and
 * checks that it then equals the desired table. */
static void
follow(struct churn *ch, bool check)
{
    if (!ch->installed) {
        return;
    }
    struct flow_change *changes;
    size_t n;
    engine_changes(ch->engine, ch->installed, &changes, &n);
    flowtab_changes_hold(changes, n);   /* As the installer does. */
    flowtab_apply(ch->installed, changes, n);
    flowtab_changes_free(changes, n);
    if (check && !flowtab_equal(ch->installed, engine_desired(ch->engine))) {
        fail_msg("churn %s, seed %"PRIu64": a table that followed the "
                 "engine's changes differs from its table after event %zu",
                 ch->mix_name, ch->seed, ch->event);
    }
}

static void
compare_with_full(struct churn *ch, size_t n_events, uint64_t *full_compiled)
{
    struct engine *e = ch->engine;
    engine_run(e);
    follow(ch, true);
    struct flowtab *incremental = flowtab_create();
    flowtab_visit(engine_desired(e), (flowtab_visit_fn *) flowtab_put,
                  incremental);
    /* The full recompute: the offline compiler on the engine's cluster,
     * with its ids and ports (engine_compile_full()); then the engine's own
     * build from scratch. */
    struct np_flowset full;
    engine_compile_full(e, &full);
    struct flowtab *oracle = flowtab_create();
    flowtab_assign(oracle, &full);
    np_flowset_destroy(&full);
    if (!flowtab_equal(incremental, oracle)) {
        report_difference(ch, incremental, oracle, n_events);
        flowtab_destroy(oracle);
        flowtab_destroy(incremental);
        fail_msg("churn %s, seed %"PRIu64": incremental table differs from "
                 "compile_cluster() after event %zu", ch->mix_name, ch->seed,
                 ch->event);
    }
    flowtab_destroy(oracle);
    struct engine_stats before, after;
    engine_get_stats(e, &before);
    engine_force_full(e, "churn test");
    engine_run(e);
    engine_get_stats(e, &after);
    *full_compiled += after.policies_compiled - before.policies_compiled;
    follow(ch, false);
    ch->comparisons++;
    if (!flowtab_equal(incremental, engine_desired(e))) {
        report_difference(ch, incremental, engine_desired(e), n_events);
        flowtab_destroy(incremental);
        fail_msg("churn %s, seed %"PRIu64": incremental table differs from "
                 "a full recompute after event %zu", ch->mix_name, ch->seed,
                 ch->event);
    }
    flowtab_destroy(incremental);
    clear_log(ch);
}

static uint64_t
env_number(const char *name, uint64_t otherwise)
{
    const char *s = getenv(name);
    if (!s || !*s) {
        return otherwise;
    }
    char *end;
    unsigned long long n = strtoull(s, &end, 0);
    if (*end) {
        fail_msg("%s=%s is not a number", name, s);
    }
    return n;
}

static void
churn_destroy(struct churn *ch)
{
    engine_destroy(ch->engine);
    for (size_t i = 0; i < ch->n_spares; i++) {
        free(ch->spares[i].port);
    }
    free(ch->spares);
    flowtab_destroy(ch->installed);
    for (size_t i = 0; i < ch->n_nss; i++) {
        free(ch->nss[i].name);
        free(ch->nss[i].apps);
        json_decref(ch->nss[i].obj);
    }
    for (size_t i = 0; i < ch->n_apps; i++) {
        free(ch->apps[i].name);
        json_decref(ch->apps[i].labels);
        json_decref(ch->apps[i].containers);
        json_decref(ch->apps[i].containers_v2);
    }
    for (size_t i = 0; i < ch->n_pods; i++) {
        struct pod *p = &ch->pods[i];
        free(p->name);
        json_decref(p->obj);
        for (size_t j = 0; j < p->n_ports; j++) {
            free(p->ports[j]);
            free(p->port_addresses[j]);
        }
    }
    for (size_t i = 0; i < ch->n_pols; i++) {
        free(ch->pols[i].name);
        json_decref(ch->pols[i].obj);
    }
    for (size_t i = 0; i < ch->n_cnps; i++) {
        free(ch->cnps[i].name);
        json_decref(ch->cnps[i].obj);
    }
    for (int k = 0; k <= N_NODES; k++) {
        json_decref(ch->nodes[k]);
    }
    free(ch->nss);
    free(ch->apps);
    free(ch->pods);
    free(ch->pols);
    free(ch->cnps);
    free(ch->hubs);
    clear_log(ch);
    free(ch->log);
}

static void
run_churn(enum mix mix)
{
    struct churn ch = {
        .mix = mix,
        .mix_name = mix == MIX_OLD ? "old" : "broad",
        .seed = env_number("CHURN_SEED", 1),
        .next_ofport = 1,
    };
    size_t n_events = env_number("CHURN_EVENTS", 10000);
    ch.rng.state = ch.seed;
    /* Up front, so that any failure, not only a difference, says how to
     * replay it. */
    print_message("churn %s: CHURN_SEED=%"PRIu64" CHURN_EVENTS=%zu\n",
                  ch.mix_name, ch.seed, n_events);
    struct compile_options opts;
    compile_options_init(&opts);
    opts.node = "node-1";
    /* Namespaces without the annotation: nothing in one mix, their
     * denies in the other. */
    opts.audit = mix == MIX_OLD ? NP_AUDIT_NONE : NP_AUDIT_DENY;
    /* ClusterNetworkPolicy peers: by their addresses in one mix, mostly
     * as register classes in the other. */
    opts.peer_class_min = mix == MIX_OLD ? 0 : 3;
    ch.engine = engine_create(&opts);

    generate(&ch);
    uint64_t full_compiled = 0;
    compare_with_full(&ch, n_events, &full_compiled);
    ch.installed = flowtab_clone(engine_desired(ch.engine));
    engine_changes_reset(ch.engine);
    full_compiled = 0;
    count_peers(&ch);
    size_t max_peer_rules = ch.max_peer_rules;
    size_t median_peer_rules = ch.median_peer_rules;
    struct engine_stats start;
    engine_get_stats(ch.engine, &start);

    size_t batch = draw_batch(&ch);
    for (ch.event = 1; ch.event <= n_events; ch.event++) {
        random_event(&ch);
        if (!--batch) {
            engine_run(ch.engine);
            follow(&ch, false);
            note(&ch, "run");
            batch = draw_batch(&ch);
        }
        if (ch.event % CHECK_EVERY == 0 || ch.event == n_events) {
            compare_with_full(&ch, n_events, &full_compiled);
        }
        if (ch.event % 1000 == 0) {
            count_peers(&ch);
        }
    }
    ch.event = n_events;

    struct engine_stats st;
    engine_get_stats(ch.engine, &st);
    size_t n_pods;
    cluster_pods(engine_cluster(ch.engine), &n_pods);
    uint64_t compiled = (st.policies_compiled - start.policies_compiled
                         - full_compiled);
    print_message("churn %s (CHURN_SEED=%"PRIu64"): %zu events, %zu "
                  "comparisons with a full recompute, 0 differences; "
                  "%"PRIu64" runs; at the end %zu namespaces, %zu pods "
                  "(%zu local), %zu policies, %zu flows; incremental runs "
                  "compiled %"PRIu64" policies and reused %"PRIu64"; a pod "
                  "is a peer of up to %zu rules (median %zu)\n",
                  ch.mix_name, ch.seed, n_events, ch.comparisons,
                  st.runs - start.runs, n_present_nss(&ch), n_pods,
                  st.n_local_pods, st.n_policies, st.n_flows, compiled,
                  st.policies_reused - start.policies_reused,
                  max_peer_rules, median_peer_rules);
    char counts[512] = "";
    for (size_t i = 0; i < N_EVENTS; i++) {
        size_t len = strlen(counts);
        snprintf(counts + len, sizeof counts - len, " %s %zu",
                 events[i].name, ch.counts[i]);
    }
    print_message("churn %s events:%s\n", ch.mix_name, counts);

    /* The run did what it is for: many comparisons of incremental runs
     * that reused most policies. */
    assert_int_equal(ch.comparisons, n_events / CHECK_EVERY + 1
                     + (n_events % CHECK_EVERY != 0));
    if (n_events >= 1000) {
        assert_true(st.policies_reused > start.policies_reused);
        for (size_t i = 0; i < N_EVENTS; i++) {
            assert_true(ch.counts[i] > 0);
        }
    }
    churn_destroy(&ch);
}

static void
test_churn_old(void **state)
{
    run_churn(MIX_OLD);
}

static void
test_churn_broad(void **state)
{
    run_churn(MIX_BROAD);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_churn_old),
        cmocka_unit_test(test_churn_broad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
