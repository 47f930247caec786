/* The small cluster that the fuzz targets which compile start from, so that
 * fuzzed policies select real pods and fuzzed pods meet real policies:
 * the upstream e2e model cut down (namespaces x, y, z; pods with named
 * ports, on this node and another, IPv4 and IPv6, one without an address
 * and one on the host network) and one policy. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz-base.h"
#include "addr.h"
#include "cluster.h"
#include "cnp.h"
#include "compile.h"
#include "engine.h"
#include "flowtab.h"
#include "np-util.h"
#include "objects.h"

#define NS(N) \
    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":" \
    "\"" N "\",\"labels\":{\"ns\":\"" N "\"," \
    "\"kubernetes.io/metadata.name\":\"" N "\"}}}\n"
#define PORTS \
    "\"ports\":[{\"name\":\"serve-80-tcp\",\"containerPort\":80}," \
    "{\"name\":\"serve-81-udp\",\"containerPort\":81,\"protocol\":\"UDP\"}," \
    "{\"name\":\"serve-80-sctp\",\"containerPort\":80,\"protocol\":\"SCTP\"}]"
#define POD(NS_, N, NODE, EXTRA, STATUS) \
    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" N \
    "\",\"namespace\":\"" NS_ "\",\"labels\":{\"pod\":\"" N "\"}}," \
    "\"spec\":{\"nodeName\":\"" NODE "\"" EXTRA ",\"containers\":" \
    "[{\"name\":\"c\"," PORTS "}]},\"status\":" STATUS "}\n"
#define RUNNING(IPS) \
    "{\"phase\":\"Running\",\"podIPs\":[" IPS "]}"

static const char base_manifest[] =
    NS("x") NS("y") NS("z")
    POD("x", "a", "node-1", "", RUNNING("{\"ip\":\"10.9.1.1\"},"
                                        "{\"ip\":\"fd00::9:1:1\"}"))
    POD("x", "b", "node-1", "", RUNNING("{\"ip\":\"10.9.1.2\"}"))
    POD("y", "a", "node-1", "", RUNNING("{\"ip\":\"10.9.2.1\"}"))
    POD("y", "b", "node-2", "", RUNNING("{\"ip\":\"10.9.2.2\"},"
                                        "{\"ip\":\"fd00::9:2:2\"}"))
    POD("z", "a", "node-1", "", "{\"phase\":\"Pending\"}")
    POD("z", "h", "node-1", ",\"hostNetwork\":true",
        RUNNING("{\"ip\":\"10.9.0.254\"}"))
    "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
    "\"metadata\":{\"name\":\"allow-x\",\"namespace\":\"x\"},"
    "\"spec\":{\"podSelector\":{\"matchLabels\":{\"pod\":\"a\"}},"
    "\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":"
    "{\"ns\":\"x\"}}}],\"ports\":[{\"port\":80}]}]}}\n";

static const struct fuzz_base_port base_ports[] = {
    { "x", "a", "1", "" },
    { "x", "b", "2", "" },
    { "y", "a", "3", "" },
    { "z", "a", "4", "10.9.3.1/24 fd00::9:3:1/64" },
};

const char *
fuzz_base_manifest(void)
{
    return base_manifest;
}

void
fuzz_base_parse(struct obj_batch *batch)
{
    obj_batch_init(batch);
    objects_parse_buffer("base", base_manifest, strlen(base_manifest), batch);
    assert(!batch->n_errors && batch->n_objs == 10);
}

const struct fuzz_base_port *
fuzz_base_ports(size_t *n)
{
    *n = ARRAY_SIZE(base_ports);
    return base_ports;
}

bool
fuzz_base_has(enum obj_kind kind, const char *ns, const char *name)
{
    static struct cluster *base;
    if (!base) {
        struct obj_batch batch;
        fuzz_base_parse(&batch);
        base = cluster_create();
        cluster_apply_batch(base, &batch);
        obj_batch_destroy(&batch);
    }
    switch (kind) {
    case OBJ_NAMESPACE:
        return cluster_find_namespace(base, name) != NULL;
    case OBJ_POD:
        return cluster_find_pod(base, ns, name) != NULL;
    case OBJ_NETPOL:
        return cluster_find_netpol(base, ns, name) != NULL;
    case OBJ_CNP: {
        size_t n;
        const struct k8s_cnp *const *cnps = cluster_cnps(base, &n);
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(cnps[i]->name, name)) {
                return true;
            }
        }
        return false;
    }
    case OBJ_NODE: {
        size_t n;
        const struct k8s_node *const *nodes = cluster_nodes(base, &n);
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(nodes[i]->name, name)) {
                return true;
            }
        }
        return false;
    }
    }
    return false;
}

static struct ip_addr node_addr;

struct engine *
fuzz_base_engine(void)
{
    struct compile_options co;
    compile_options_init(&co);
    co.node = "node-1";
    bool ok = ip_addr_parse("10.9.0.254", &node_addr);
    assert(ok);
    co.node_addrs = &node_addr;
    co.n_node_addrs = 1;
    struct engine *e = engine_create(&co);

    struct obj_batch batch;
    fuzz_base_parse(&batch);
    for (size_t i = 0; i < batch.n_objs; i++) {
        struct k8s_object *obj = xmalloc(sizeof *obj);
        *obj = batch.objs[i];
        engine_apply(e, obj);
    }
    batch.n_objs = 0;
    obj_batch_destroy(&batch);

    for (size_t i = 0; i < ARRAY_SIZE(base_ports); i++) {
        const struct fuzz_base_port *p = &base_ports[i];
        char *warning = engine_set_port(e, p->ns, p->name, p->port,
                                        p->addresses);
        assert(!warning);
    }
    engine_run(e);
    return e;
}
