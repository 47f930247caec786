/* Unit tests for objects.c and yaml-json.c: every accepted form, the
 * defaults, and every kind of invalid input with its exact message, each
 * time checking that the other objects of the same input survive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "cnp.h"
#include "objects.h"
#include "np-util.h"
#include "yaml-json.h"

/* Fixtures. */

static char *
fixture(const char *name)
{
    const char *srcdir = getenv("srcdir");
    return xasprintf("%s/tests/data/objects/%s", srcdir ? srcdir : ".",
                     name);
}

static void
parse_fixture(const char *name, struct obj_batch *batch)
{
    char *path = fixture(name);
    obj_batch_init(batch);
    objects_parse_file(path, batch);
    free(path);
}

static void
parse_text(const char *origin, const char *text, struct obj_batch *batch)
{
    obj_batch_init(batch);
    objects_parse_buffer(origin, text, strlen(text), batch);
}

/* Checks that 'error' is 'expected' after the fixture's path and ": ". */
static void
assert_fixture_error(const char *name, const char *error,
                     const char *expected)
{
    char *path = fixture(name);
    char *full = xasprintf("%s: %s", path, expected);
    assert_string_equal(error, full);
    free(full);
    free(path);
}

static void
assert_label(const struct labels *labels, const char *key,
             const char *value)
{
    const char *actual = labels_get(labels, key);
    assert_non_null(actual);
    assert_string_equal(actual, value);
}

static void
assert_selector(const struct selector *sel, const char *expected)
{
    assert_non_null(sel);
    char *s = selector_to_string(sel);
    assert_string_equal(s, expected);
    free(s);
}

static void
assert_cidr(const struct cidr *c, const char *expected)
{
    char buf[CIDR_STRLEN];
    cidr_format(c, buf);
    assert_string_equal(buf, expected);
}

static void
assert_ip(const struct ip_addr *ip, const char *expected)
{
    char buf[IP_ADDR_STRLEN];
    ip_addr_format(ip, buf);
    assert_string_equal(buf, expected);
}

static void
assert_port(const struct np_port *p, enum np_proto proto, const char *name,
            uint16_t port, uint16_t end_port)
{
    assert_int_equal(p->proto, proto);
    if (name) {
        assert_non_null(p->name);
        assert_string_equal(p->name, name);
    } else {
        assert_null(p->name);
    }
    assert_int_equal(p->port, port);
    assert_int_equal(p->end_port, end_port);
}

/* Valid forms. */

/* The example policy of the Kubernetes documentation, in YAML. */
static void
test_docs_example(void **state)
{
    struct obj_batch b;
    parse_fixture("test-network-policy.yaml", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 1);

    const struct k8s_object *obj = &b.objs[0];
    assert_int_equal(obj->kind, OBJ_NETPOL);
    assert_string_equal(k8s_object_namespace(obj), "default");
    assert_string_equal(k8s_object_name(obj), "test-network-policy");

    const struct k8s_netpol *np = obj->np;
    assert_null(np->resource_version);
    assert_selector(&np->pod_selector, "role=db");
    assert_true(np->isolates_ingress);
    assert_true(np->isolates_egress);

    assert_int_equal(np->n_ingress, 1);
    const struct np_rule *r = &np->ingress[0];
    assert_int_equal(r->n_peers, 3);
    assert_true(r->peers[0].is_ipblock);
    assert_null(r->peers[0].pod_selector);
    assert_null(r->peers[0].ns_selector);
    assert_cidr(&r->peers[0].block, "172.17.0.0/16");
    assert_int_equal(r->peers[0].n_excepts, 1);
    assert_cidr(&r->peers[0].excepts[0], "172.17.1.0/24");
    assert_false(r->peers[1].is_ipblock);
    assert_null(r->peers[1].pod_selector);
    assert_selector(r->peers[1].ns_selector, "project=myproject");
    assert_false(r->peers[2].is_ipblock);
    assert_selector(r->peers[2].pod_selector, "role=frontend");
    assert_null(r->peers[2].ns_selector);
    assert_int_equal(r->n_ports, 1);
    assert_port(&r->ports[0], NP_TCP, NULL, 6379, 0);

    assert_int_equal(np->n_egress, 1);
    r = &np->egress[0];
    assert_int_equal(r->n_peers, 1);
    assert_true(r->peers[0].is_ipblock);
    assert_cidr(&r->peers[0].block, "10.0.0.0/24");
    assert_int_equal(r->peers[0].n_excepts, 0);
    assert_int_equal(r->n_ports, 1);
    assert_port(&r->ports[0], NP_TCP, NULL, 5978, 0);

    obj_batch_destroy(&b);
}

/* A v1 List in JSON: a Namespace, a Service (skipped), a dual-stack Pod
 * and a policy with a named port and a port range. */
static void
test_json_list(void **state)
{
    struct obj_batch b;
    parse_fixture("list.json", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 3);

    assert_int_equal(b.objs[0].kind, OBJ_NAMESPACE);
    const struct k8s_namespace *ns = b.objs[0].ns;
    assert_string_equal(ns->name, "prod");
    assert_string_equal(k8s_object_namespace(&b.objs[0]), "");
    assert_string_equal(ns->resource_version, "101");
    assert_int_equal(ns->labels.n, 2);
    assert_label(&ns->labels, "env", "prod");
    assert_label(&ns->labels, "kubernetes.io/metadata.name", "prod");

    assert_int_equal(b.objs[1].kind, OBJ_POD);
    const struct k8s_pod *pod = b.objs[1].pod;
    assert_string_equal(pod->namespace, "prod");
    assert_string_equal(pod->name, "web-0");
    assert_string_equal(pod->resource_version, "102");
    assert_label(&pod->labels, "app", "web");
    assert_label(&pod->labels, "app.kubernetes.io/part-of", "shop");
    assert_string_equal(pod->node_name, "node-1");
    assert_false(pod->host_network);
    assert_int_equal(pod->phase, POD_RUNNING);
    /* podIP and podIPs[0] are the same address: kept once. */
    assert_int_equal(pod->n_ips, 2);
    assert_int_equal(pod->ips[0].family, AF_INET);
    assert_ip(&pod->ips[0], "10.244.1.5");
    assert_int_equal(pod->ips[1].family, AF_INET6);
    assert_ip(&pod->ips[1], "fd00:10:244:1::5");
    /* Ports of every container; TCP by default. */
    assert_int_equal(pod->n_ports, 3);
    assert_string_equal(pod->ports[0].name, "http");
    assert_int_equal(pod->ports[0].port, 8080);
    assert_int_equal(pod->ports[0].proto, NP_TCP);
    assert_string_equal(pod->ports[1].name, "dns");
    assert_int_equal(pod->ports[1].port, 53);
    assert_int_equal(pod->ports[1].proto, NP_UDP);
    assert_null(pod->ports[2].name);
    assert_int_equal(pod->ports[2].port, 9901);
    assert_int_equal(pod->ports[2].proto, NP_SCTP);

    assert_int_equal(b.objs[2].kind, OBJ_NETPOL);
    const struct k8s_netpol *np = b.objs[2].np;
    assert_string_equal(np->name, "allow-web");
    assert_true(np->isolates_ingress);
    assert_false(np->isolates_egress);
    assert_int_equal(np->n_ingress, 1);
    assert_int_equal(np->n_egress, 0);
    assert_int_equal(np->ingress[0].n_peers, 0);
    assert_int_equal(np->ingress[0].n_ports, 2);
    assert_port(&np->ingress[0].ports[0], NP_TCP, "http", 0, 0);
    assert_port(&np->ingress[0].ports[1], NP_TCP, NULL, 9000, 9100);

    obj_batch_destroy(&b);
}

/* A PodList as the API server sends it: items without kind and apiVersion. */
static void
test_podlist(void **state)
{
    struct obj_batch b;
    parse_fixture("podlist.json", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 2);

    const struct k8s_pod *a = b.objs[0].pod;
    assert_int_equal(b.objs[0].kind, OBJ_POD);
    assert_string_equal(a->namespace, "x");
    assert_string_equal(a->name, "a");
    assert_string_equal(a->resource_version, "4001");
    assert_true(a->host_network);
    assert_int_equal(a->n_ips, 1);
    assert_ip(&a->ips[0], "192.168.0.10");

    const struct k8s_pod *p = b.objs[1].pod;
    assert_string_equal(p->name, "b");
    assert_null(p->resource_version);
    assert_null(p->node_name);
    assert_int_equal(p->phase, POD_SUCCEEDED);
    assert_int_equal(p->n_ips, 0);
    assert_int_equal(p->n_ports, 0);

    obj_batch_destroy(&b);
}

/* Concatenated JSON values, one of them an array of objects; a Pod
 * without a namespace is in "default". */
static void
test_json_stream(void **state)
{
    struct obj_batch b;
    parse_fixture("stream.json", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 4);
    assert_string_equal(k8s_object_name(&b.objs[0]), "x");
    assert_string_equal(k8s_object_name(&b.objs[1]), "y");
    assert_string_equal(k8s_object_name(&b.objs[2]), "z");
    assert_int_equal(b.objs[3].kind, OBJ_POD);
    assert_string_equal(b.objs[3].pod->namespace, "default");
    assert_int_equal(b.objs[3].pod->phase, POD_PENDING);
    obj_batch_destroy(&b);
}

/* Multi-document YAML with empty documents, a skipped kind and the
 * policyTypes defaults. */
static void
test_yaml_multi(void **state)
{
    struct obj_batch b;
    parse_fixture("multi.yaml", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 4);

    assert_int_equal(b.objs[0].kind, OBJ_NAMESPACE);
    assert_label(&b.objs[0].ns->labels, "team", "yes");
    assert_label(&b.objs[0].ns->labels, "tier", "1");

    assert_int_equal(b.objs[1].kind, OBJ_POD);
    const struct k8s_pod *pod = b.objs[1].pod;
    assert_string_equal(pod->namespace, "shop");
    assert_int_equal(pod->n_ips, 1);
    assert_ip(&pod->ips[0], "10.0.0.7");
    assert_int_equal(pod->n_ports, 1);
    assert_string_equal(pod->ports[0].name, "pg");
    assert_int_equal(pod->ports[0].proto, NP_TCP);

    /* No policyTypes and only egress rules: both directions isolated. */
    const struct k8s_netpol *np = b.objs[2].np;
    assert_string_equal(np->name, "egress-only");
    assert_true(selector_is_empty(&np->pod_selector));
    assert_true(np->isolates_ingress);
    assert_true(np->isolates_egress);
    assert_int_equal(np->n_ingress, 0);
    assert_int_equal(np->n_egress, 1);
    const struct np_rule *r = &np->egress[0];
    assert_int_equal(r->n_peers, 1);
    assert_selector(r->peers[0].ns_selector, "");
    assert_selector(r->peers[0].pod_selector,
                    "app in (cache,db),!legacy");
    assert_int_equal(r->n_ports, 2);
    assert_port(&r->ports[0], NP_TCP, NULL, 5432, 0);
    assert_port(&r->ports[1], NP_UDP, NULL, 0, 0);

    /* Explicit [Egress, Egress]: deduplicated; ingress rules dropped;
     * 'egress: []' denies all egress. */
    np = b.objs[3].np;
    assert_string_equal(np->namespace, "default");
    assert_string_equal(np->name, "egress-explicit");
    assert_false(np->isolates_ingress);
    assert_true(np->isolates_egress);
    assert_int_equal(np->n_ingress, 0);
    assert_int_equal(np->n_egress, 0);

    obj_batch_destroy(&b);
}

/* Defaults and edge forms, inline. */
static void
test_defaults(void **state)
{
    struct obj_batch b;
    parse_text("t.yaml",
               "apiVersion: networking.k8s.io/v1\n"
               "kind: NetworkPolicy\n"
               "metadata: {name: a.b, resourceVersion: '77'}\n"
               "spec:\n"
               "  podSelector: {}\n"
               "  ingress: [{}, {from: [], ports: []}, null]\n"
               "---\n"
               "apiVersion: networking.k8s.io/v1\n"
               "kind: NetworkPolicy\n"
               "metadata: {name: both, namespace: ns1}\n"
               "spec:\n"
               "  podSelector: {matchLabels: null}\n"
               "  policyTypes: [Ingress, Egress]\n"
               "---\n"
               "apiVersion: networking.k8s.io/v1\n"
               "kind: NetworkPolicy\n"
               "metadata: {name: empty-types}\n"
               "spec:\n"
               "  podSelector: {}\n"
               "  policyTypes: []\n"
               "  egress: [{to: [{ipBlock: {cidr: 10.1.2.3/8}}]}]\n", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 3);

    const struct k8s_netpol *np = b.objs[0].np;
    assert_string_equal(np->namespace, "default");
    assert_string_equal(np->resource_version, "77");
    assert_true(np->isolates_ingress);
    assert_false(np->isolates_egress);
    assert_int_equal(np->n_ingress, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(np->ingress[i].n_peers, 0);
        assert_int_equal(np->ingress[i].n_ports, 0);
    }

    np = b.objs[1].np;
    assert_true(np->isolates_ingress);
    assert_true(np->isolates_egress);
    assert_int_equal(np->n_ingress, 0);
    assert_int_equal(np->n_egress, 0);

    /* [] is the same as absent; host bits of a CIDR are cleared. */
    np = b.objs[2].np;
    assert_true(np->isolates_ingress);
    assert_true(np->isolates_egress);
    assert_int_equal(np->n_egress, 1);
    assert_cidr(&np->egress[0].peers[0].block, "10.0.0.0/8");

    obj_batch_destroy(&b);
}

/* IPv6 blocks, both selectors in one peer, every operator. */
static void
test_peers(void **state)
{
    struct obj_batch b;
    parse_text("t.json",
               "{\"apiVersion\": \"networking.k8s.io/v1\","
               " \"kind\": \"NetworkPolicy\","
               " \"metadata\": {\"name\": \"p\", \"namespace\": \"n\"},"
               " \"spec\": {\"podSelector\": {\"matchExpressions\": ["
               "   {\"key\": \"a\", \"operator\": \"NotIn\","
               "    \"values\": [\"x\"]},"
               "   {\"key\": \"example.com/b\", \"operator\": \"Exists\"},"
               "   {\"key\": \"c\", \"operator\": \"DoesNotExist\","
               "    \"values\": []}]},"
               "  \"ingress\": [{\"from\": ["
               "   {\"ipBlock\": {\"cidr\": \"fd00::/48\","
               "                  \"except\": [\"fd00:0:0:1::/64\"]}},"
               "   {\"podSelector\": {\"matchLabels\": {\"r\": \"\"}},"
               "    \"namespaceSelector\": {\"matchLabels\": {\"t\": \"u\"}}}"
               "  ]}]}}", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 1);

    const struct k8s_netpol *np = b.objs[0].np;
    assert_selector(&np->pod_selector, "a notin (x),!c,example.com/b");
    const struct np_peer *peer = &np->ingress[0].peers[0];
    assert_true(peer->is_ipblock);
    assert_int_equal(peer->block.addr.family, AF_INET6);
    assert_cidr(&peer->block, "fd00::/48");
    assert_cidr(&peer->excepts[0], "fd00:0:0:1::/64");
    peer = &np->ingress[0].peers[1];
    assert_false(peer->is_ipblock);
    assert_selector(peer->pod_selector, "r=");
    assert_selector(peer->ns_selector, "t=u");
    obj_batch_destroy(&b);
}

/* The API client's entry points. */
/* Nodes, for ClusterNetworkPolicy 'nodes' peers: the IP addresses of
 * status.addresses, deduplicated, a Hostname entry left out; and
 * ClusterNetworkPolicies read from files with the other kinds. */
static void
test_nodes_and_cnps(void **state)
{
    (void) state;
    static const char text[] =
        "apiVersion: v1\n"
        "kind: Node\n"
        "metadata: {name: kind-worker, labels: {kubernetes.io/os: linux}}\n"
        "status:\n"
        "  addresses:\n"
        "  - {type: InternalIP, address: 172.18.0.3}\n"
        "  - {type: Hostname, address: kind-worker}\n"
        "  - {type: ExternalIP, address: 172.18.0.3}\n"
        "  - {type: InternalIP, address: 'fc00:f853:ccd:e793::3'}\n"
        "---\n"
        "apiVersion: policy.networking.k8s.io/v1alpha2\n"
        "kind: ClusterNetworkPolicy\n"
        "metadata: {name: deny-all, namespace: ignored}\n"
        "spec:\n"
        "  tier: Baseline\n"
        "  priority: 5\n"
        "  subject: {namespaces: {}}\n"
        "  ingress:\n"
        "  - {action: Deny, from: [{namespaces: {}}]}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Node\n"
        "metadata: {name: bad}\n"
        "status: {addresses: [{type: InternalIP}]}\n";
    struct obj_batch b;
    obj_batch_init(&b);
    objects_parse_buffer("n.yaml", text, sizeof text - 1, &b);
    assert_int_equal(b.n_objs, 2);
    assert_int_equal(b.objs[0].kind, OBJ_NODE);
    const struct k8s_node *node = b.objs[0].node;
    assert_string_equal(node->name, "kind-worker");
    assert_int_equal(node->n_ips, 2);
    char buf[IP_ADDR_STRLEN];
    ip_addr_format(&node->ips[0], buf);
    assert_string_equal(buf, "172.18.0.3");
    ip_addr_format(&node->ips[1], buf);
    assert_string_equal(buf, "fc00:f853:ccd:e793::3");
    assert_int_equal(b.objs[1].kind, OBJ_CNP);
    assert_string_equal(k8s_object_name(&b.objs[1]), "deny-all");
    assert_string_equal(k8s_object_namespace(&b.objs[1]), "");
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "n.yaml: Node bad: "
                        "status.addresses[0].address: is required");
    assert_int_equal(b.n_rejected, 1);
    assert_int_equal(b.rejected[0].ref.kind, OBJ_NODE);
    assert_string_equal(b.rejected[0].ref.ns, "");
    obj_batch_destroy(&b);
}

static void
test_from_json(void **state)
{
    json_error_t jerr;
    json_t *j = json_loads("{\"apiVersion\": \"v1\", \"kind\": \"Namespace\","
                           " \"metadata\": {\"name\": \"n1\","
                           "  \"resourceVersion\": \"9\"}}", 0, &jerr);
    assert_non_null(j);
    char *error = (char *) 1;
    struct k8s_object *obj = objects_from_json("watch", j, &error);
    assert_null(error);
    assert_non_null(obj);
    assert_int_equal(obj->kind, OBJ_NAMESPACE);
    assert_string_equal(obj->ns->resource_version, "9");
    k8s_object_destroy(obj);

    /* Without kind: implied by objects_from_json_as() only. */
    json_object_del(j, "kind");
    json_object_del(j, "apiVersion");
    obj = objects_from_json("watch", j, &error);
    assert_null(obj);
    assert_string_equal(error, "watch: kind: is required");
    free(error);
    obj = objects_from_json_as("watch", j, OBJ_NAMESPACE, &error);
    assert_null(error);
    assert_non_null(obj);
    assert_string_equal(k8s_object_name(obj), "n1");
    k8s_object_destroy(obj);

    /* The same JSON read as a Pod is a Pod in "default". */
    obj = objects_from_json_as("watch", j, OBJ_POD, &error);
    assert_null(error);
    assert_int_equal(obj->kind, OBJ_POD);
    assert_string_equal(k8s_object_namespace(obj), "default");
    k8s_object_destroy(obj);

    /* A present apiVersion must still match. */
    json_object_set_new(j, "apiVersion", json_string("v2"));
    obj = objects_from_json_as("watch", j, OBJ_NAMESPACE, &error);
    assert_null(obj);
    assert_string_equal(error, "watch: Namespace n1: apiVersion: \"v2\" is "
                        "not supported for Namespace (must be \"v1\")");
    free(error);
    json_object_del(j, "apiVersion");

    json_object_set_new(j, "kind", json_string("Namespace"));
    obj = objects_from_json_as("watch", j, OBJ_POD, &error);
    assert_null(obj);
    assert_string_equal(error, "watch: kind: \"Namespace\" is not Pod");
    free(error);

    json_object_set_new(j, "kind", json_string("Service"));
    obj = objects_from_json("watch", j, &error);
    assert_null(obj);
    assert_string_equal(error, "watch: kind: \"Service\" is not supported "
                        "(must be Namespace, Pod, NetworkPolicy, "
                        "ClusterNetworkPolicy or Node)");
    free(error);
    json_decref(j);

    j = json_string("x");
    obj = objects_from_json("watch", j, &error);
    assert_null(obj);
    assert_string_equal(error, "watch: must be an object, not string \"x\"");
    free(error);
    json_decref(j);

    k8s_object_destroy(NULL);
    obj_batch_destroy(NULL);
}

/* Format detection: leading space, a byte-order mark, empty input. */
static void
test_detection(void **state)
{
    struct obj_batch b;
    parse_text("t", "\xef\xbb\xbf \n\t{\"apiVersion\": \"v1\", \"kind\": "
               "\"Namespace\", \"metadata\": {\"name\": \"j\"}}\n", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 1);
    obj_batch_destroy(&b);

    parse_text("t", "\xef\xbb\xbf# comment\napiVersion: v1\nkind: Namespace\n"
               "metadata: {name: yy}\n", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 1);
    obj_batch_destroy(&b);

    parse_text("t", "", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 0);
    obj_batch_destroy(&b);

    parse_text("t", "  \n# only comments\n---\n", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 0);
    obj_batch_destroy(&b);

    /* Unknown kinds are skipped without being validated. */
    parse_text("t", "kind: Service\nmetadata: {name: Not_Valid}\n---\n"
               "apiVersion: v1\nkind: ConfigMapList\nitems: [{}]\n", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 0);
    obj_batch_destroy(&b);
}

/* What the API server accepts, so must we (see tests/data/objects/README.md
 * for the rule behind each check). */
static void
test_api_server_accepts(void **state)
{
    struct obj_batch b;
    parse_text("t.yaml",
               /* No spec, no podSelector: Go's zero values, every pod. */
               "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
               "metadata: {name: nospec}\n"
               "---\n"
               "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
               "metadata: {name: nosel}\nspec: {egress: [{}]}\n"
               "---\n"
               /* Leading zeros, legacy values of ParseCIDRSloppy; an
                * IPv4-mapped block; an except that holds the whole cidr
                * through one; selector values that are not label values. */
               "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
               "metadata: {name: sloppy}\nspec:\n"
               "  podSelector: {matchExpressions: [{key: role, operator: In, "
               "values: [ok, 'no way', null]}]}\n"
               "  ingress: [{from: [{ipBlock: {cidr: 010.0.0.0/08, "
               "except: [010.001.0.0/16]}},\n"
               "                    {ipBlock: {cidr: '::ffff:192.168.0.0/112', "
               "except: ['::ffff:192.168.1.0/120']}},\n"
               "                    {ipBlock: {cidr: 0.0.0.0/8, "
               "except: ['::ffff:0.0.0.0/100']}}]}]\n"
               "---\n"
               "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
               "spec: {containers: [{name: c, ports: [{containerPort: 80, "
               "protocol: '', name: http}]}]}\n"
               "status: {phase: Done, podIP: 010.0.0.1, podIPs: [{ip: "
               "'::ffff:10.0.0.1'}, {ip: 'fd00::2'}]}\n", &b);
    for (size_t i = 0; i < b.n_errors; i++) {
        print_error("%s\n", b.errors[i]);
    }
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 4);

    const struct k8s_netpol *np = b.objs[0].np;
    assert_selector(&np->pod_selector, "");
    assert_true(np->isolates_ingress);
    assert_false(np->isolates_egress);
    assert_int_equal(np->n_ingress, 0);
    assert_null(np->invalid);

    np = b.objs[1].np;
    assert_selector(&np->pod_selector, "");
    assert_true(np->isolates_ingress);
    assert_true(np->isolates_egress);
    assert_int_equal(np->n_egress, 1);

    np = b.objs[2].np;
    assert_selector(&np->pod_selector, "role in (,no way,ok)");
    const struct np_rule *r = &np->ingress[0];
    assert_cidr(&r->peers[0].block, "10.0.0.0/8");
    assert_cidr(&r->peers[0].excepts[0], "10.1.0.0/16");
    assert_cidr(&r->peers[1].block, "192.168.0.0/16");
    assert_cidr(&r->peers[1].excepts[0], "192.168.1.0/24");
    assert_cidr(&r->peers[2].block, "0.0.0.0/8");
    assert_cidr(&r->peers[2].excepts[0], "0.0.0.0/8");

    const struct k8s_pod *pod = b.objs[3].pod;
    assert_int_equal(pod->phase, POD_UNKNOWN);
    assert_int_equal(pod->n_ips, 2);
    assert_ip(&pod->ips[0], "10.0.0.1");
    assert_int_equal(pod->ips[0].family, AF_INET);
    assert_ip(&pod->ips[1], "fd00::2");
    assert_int_equal(pod->ports[0].proto, NP_TCP);
    obj_batch_destroy(&b);

    /* And what it refuses, with its test for except: the prefix lengths
     * as written (104 for the IPv4-mapped /8 against 16). */
    parse_text("t.yaml",
               "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
               "metadata: {name: np}\nspec:\n  podSelector: {}\n"
               "  ingress: [{from: [{ipBlock: {cidr: '::ffff:10.0.0.0/104', "
               "except: [10.1.0.0/16]}}]}]\n", &b);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.yaml: NetworkPolicy default/np: "
                        "spec.ingress[0].from[0].ipBlock.except[0]: "
                        "\"10.1.0.0/16\" is not strictly inside cidr "
                        "\"::ffff:10.0.0.0/104\"");
    obj_batch_destroy(&b);
}

/* A rejected NetworkPolicy comes with its fail-closed stand-in: the pods
 * it would isolate, in its directions, with no rules; all of them and both
 * directions where those cannot be read. */
static void
test_stand_ins(void **state)
{
    static const struct {
        const char *spec;
        const char *selector;
        bool ingress, egress;
    } cases[] = {
        { "{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress], "
          "egress: [{ports: [{port: 70000}]}]}", "app=a", false, true },
        { "{podSelector: {matchLabels: {app: a}}, "
          "ingress: [{ports: [{port: 70000}]}]}", "app=a", true, false },
        { "{podSelector: {}, egress: [{ports: [{port: 70000}]}]}", "", true,
          true },
        { "{podSelector: {matchExpressions: [{key: a, operator: Like}]}, "
          "policyTypes: [Ingress]}", "", true, false },
        { "{podSelector: {matchLabels: {app: a}}, policyTypes: [Ingress, "
          "ingress]}", "app=a", true, true },
        { "{podSelector: {matchLabels: {app: a}}, policyTypes: Ingress}",
          "app=a", true, true },
        { "{podSelector: {matchLabels: {app: a}}, egress: {}}", "app=a",
          true, true },
        { "{podSelector: [app], policyTypes: [Ingress]}", "", true, false },
        { "just text", "", true, true },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *text = xasprintf("apiVersion: networking.k8s.io/v1\n"
                               "kind: NetworkPolicy\n"
                               "metadata: {name: np, namespace: x, "
                               "resourceVersion: '7'}\nspec: %s\n",
                               cases[i].spec);
        struct obj_batch b;
        parse_text("t.yaml", text, &b);
        if (b.n_errors != 1 || b.n_rejected != 1
            || !b.rejected[0].stand_in) {
            print_error("case %zu: %s\n", i, text);
            fail();
        }
        assert_false(b.incomplete);
        const struct obj_rejected *r = &b.rejected[0];
        assert_int_equal(r->error, 0);
        assert_string_equal(r->ref.ns, "x");
        const struct k8s_netpol *np = r->stand_in->np;
        assert_string_equal(np->namespace, "x");
        assert_string_equal(np->name, "np");
        assert_string_equal(np->resource_version, "7");
        assert_string_equal(np->invalid, b.errors[0]);
        assert_selector(&np->pod_selector, cases[i].selector);
        if (np->isolates_ingress != cases[i].ingress
            || np->isolates_egress != cases[i].egress) {
            print_error("case %zu: %s: ingress %d egress %d\n", i,
                        cases[i].spec, np->isolates_ingress,
                        np->isolates_egress);
            fail();
        }
        assert_int_equal(np->n_ingress + np->n_egress, 0);
        obj_batch_destroy(&b);
        free(text);
    }

    /* Only NetworkPolicies get one, and only when named. */
    struct obj_batch b;
    parse_text("t.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
               "status: {podIP: x}\n---\n"
               "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
               "metadata: {namespace: x}\nspec: {}\n", &b);
    assert_int_equal(b.n_errors, 2);
    assert_int_equal(b.n_rejected, 1);
    assert_null(b.rejected[0].stand_in);
    assert_true(b.incomplete);
    obj_batch_destroy(&b);

    /* The API client's way, one JSON object at a time. */
    json_t *j = json_loads("{\"metadata\": {\"name\": \"n\"}, \"spec\": "
                           "{\"podSelector\": {\"matchLabels\": {\"a\": "
                           "\"b\"}}}}", 0, NULL);
    struct k8s_object *o = objects_netpol_stand_in(j, "why");
    assert_non_null(o);
    assert_string_equal(o->np->namespace, "default");
    assert_string_equal(o->np->invalid, "why");
    assert_selector(&o->np->pod_selector, "a=b");
    assert_true(o->np->isolates_ingress);
    assert_false(o->np->isolates_egress);
    k8s_object_destroy(o);
    json_decref(j);
    j = json_loads("{\"metadata\": {\"name\": 5}}", 0, NULL);
    assert_null(objects_netpol_stand_in(j, "why"));
    json_decref(j);
}

/* A ClusterNetworkPolicy's stand-in: what can be read is kept, what
 * cannot denies more (cnp.h, cnp_stand_in()). */
static void
test_cnp_stand_ins(void **state)
{
    (void) state;
    static const struct {
        const char *spec;
        enum cnp_tier tier;
        int priority;
        const char *ns_sel, *pod_sel;
        bool ingress, egress;
    } cases[] = {
        /* Readable but for a peer: its place, its subject, its directions. */
        { "{\"tier\": \"Baseline\", \"priority\": 7, \"subject\": "
          "{\"pods\": {\"namespaceSelector\": {\"matchLabels\": {\"t\": "
          "\"a\"}}, \"podSelector\": {\"matchLabels\": {\"app\": "
          "\"db\"}}}}, \"egress\": [{\"action\": \"Accept\", \"to\": "
          "[{\"pods\": {\"bad key!\": 1}}]}]}",
          CNP_TIER_BASELINE, 7, "t=a", "app=db", false, true },
        /* Ingress only; [] and null have no rules. */
        { "{\"tier\": \"Admin\", \"priority\": 3, \"subject\": "
          "{\"namespaces\": {\"matchLabels\": {\"t\": \"b\"}}}, "
          "\"ingress\": [{}], \"egress\": []}",
          CNP_TIER_ADMIN, 3, "t=b", "", true, false },
        /* Unreadable tier, priority and subject: first in the admin tier,
         * every pod; rules of both directions. */
        { "{\"tier\": \"Middle\", \"priority\": 5000, \"subject\": "
          "{\"namespaces\": {\"matchLabels\": {\"bad key!\": \"x\"}}}, "
          "\"ingress\": 5, \"egress\": [{}]}",
          CNP_TIER_ADMIN, 0, "", "", true, true },
        /* No spec at all: every pod, both directions. */
        { "null", CNP_TIER_ADMIN, 0, "", "", true, true },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *text = xasprintf("{\"metadata\": {\"name\": \"c\", "
                               "\"uid\": \"u\"}, \"spec\": %s}",
                               cases[i].spec);
        json_t *j = json_loads(text, 0, NULL);
        assert_non_null(j);
        struct k8s_object *o = objects_stand_in(OBJ_CNP, j, "why");
        assert_non_null(o);
        assert_int_equal(o->kind, OBJ_CNP);
        const struct k8s_cnp *cnp = o->cnp;
        assert_string_equal(cnp->name, "c");
        assert_string_equal(cnp->uid, "u");
        assert_string_equal(cnp->invalid, "why");
        assert_int_equal(cnp->tier, cases[i].tier);
        assert_int_equal(cnp->priority, cases[i].priority);
        assert_selector(&cnp->subject.sel.ns_selector, cases[i].ns_sel);
        assert_selector(&cnp->subject.sel.pod_selector, cases[i].pod_sel);
        assert_int_equal(cnp->n_ingress, cases[i].ingress);
        assert_int_equal(cnp->n_egress, cases[i].egress);
        for (size_t r = 0; r < cnp->n_ingress + cnp->n_egress; r++) {
            const struct cnp_rule *rule = (r < cnp->n_ingress
                                           ? &cnp->ingress[r]
                                           : &cnp->egress[0]);
            assert_true(rule->deny_all);
            assert_int_equal(rule->n_peers, 0);
        }
        k8s_object_destroy(o);
        json_decref(j);
        free(text);
    }
    /* No name, no stand-in; other kinds get none. */
    json_t *j = json_loads("{\"metadata\": {}, \"spec\": {}}", 0, NULL);
    assert_null(objects_stand_in(OBJ_CNP, j, "why"));
    json_decref(j);
    j = json_loads("{\"metadata\": {\"name\": \"n\"}}", 0, NULL);
    assert_null(objects_stand_in(OBJ_POD, j, "why"));
    assert_null(objects_stand_in(OBJ_NODE, j, "why"));
    json_decref(j);
}

/* Invalid objects. */

/* Each bad document goes between two good ones, which must survive. */
struct bad_case {
    const char *text;
    const char *error;
};

#define GOOD_NS "apiVersion: v1\nkind: Namespace\nmetadata: {name: good}\n"
#define GOOD_POD "apiVersion: v1\nkind: Pod\nmetadata: {name: good}\n"

#define NP(SPEC)                                                        \
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"           \
    "metadata: {name: np, namespace: default}\nspec: " SPEC "\n"
#define NP_ID "t.yaml: NetworkPolicy default/np: "
#define INGRESS(RULE) NP("{podSelector: {}, ingress: [" RULE "]}")
#define FROM(PEER) INGRESS("{from: [" PEER "]}")
#define PORT(P) INGRESS("{ports: [" P "]}")
#define SEL(S) NP("{podSelector: " S "}")

#define POD(REST)                                                      \
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\n" \
    REST "\n"
#define POD_ID "t.yaml: Pod default/p: "
#define PORTS(P) POD("spec: {containers: [{name: c, ports: [" P "]}]}")

#define LABEL_MSG "a lowercase RFC 1123 label must consist of lower case " \
    "alphanumeric characters or '-', and must start and end with an "   \
    "alphanumeric character"
#define SUBDOMAIN_MSG "a lowercase RFC 1123 subdomain must consist of "  \
    "lower case alphanumeric characters, '-' or '.', and must start and " \
    "end with an alphanumeric character"
#define QNAME_MSG "must consist of alphanumeric characters, '-', '_' or " \
    "'.', and must start and end with an alphanumeric character"
#define VALUE_MSG "a valid label must be an empty string or consist of " \
    "alphanumeric characters, '-', '_' or '.', and must start and end with " \
    "an alphanumeric character"
#define PORT_NUM_MSG "is not a valid port number (must be between 1 and 65535)"
#define LONG64 \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct bad_case bad_cases[] = {
    /* Kind and apiVersion. */
    { "metadata: {name: x}\n",
      "t.yaml: document 2: kind: is required" },
    { "kind: [Pod]\n",
      "t.yaml: document 2: kind: must be a string, not an array" },
    { "just a string\n",
      "t.yaml: document 2: must be an object, not string \"just a string\"" },
    { "kind: NetworkPolicy\nmetadata: {name: np}\nspec: {podSelector: {}}\n",
      NP_ID "apiVersion: is required" },
    { "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\n"
      "metadata: {name: np}\nspec: {podSelector: {}}\n",
      NP_ID "apiVersion: \"extensions/v1beta1\" is not supported for "
      "NetworkPolicy (must be \"networking.k8s.io/v1\")" },
    { "apiVersion: networking.k8s.io/v1beta1\nkind: Pod\n"
      "metadata: {name: p}\n",
      POD_ID "apiVersion: \"networking.k8s.io/v1beta1\" is not supported "
      "for Pod (must be \"v1\")" },
    { "apiVersion: v1\nkind: List\nitems: {}\n",
      "t.yaml: document 2: items: must be an array, not an object" },
    { "apiVersion: v1\nkind: List\nitems: [{kind: Pod, apiVersion: v1}]\n",
      "t.yaml: document 2, items[0]: Pod: metadata.name: is required" },

    /* Metadata. */
    { "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
      "spec: {podSelector: {}}\n",
      "t.yaml: document 2: NetworkPolicy: metadata.name: is required" },
    { "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
      "metadata: {namespace: prod}\nspec: {podSelector: {}}\n",
      "t.yaml: document 2: NetworkPolicy: metadata.name: is required" },
    { "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
      "metadata: {name: 12}\nspec: {podSelector: {}}\n",
      "t.yaml: document 2: NetworkPolicy: metadata.name: must be a string, "
      "not integer 12" },
    { "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
      "metadata: {name: Bad_Name}\nspec: {podSelector: {}}\n",
      "t.yaml: NetworkPolicy default/Bad_Name: metadata.name: \"Bad_Name\" "
      "is not a valid name: " SUBDOMAIN_MSG },
    { "apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n",
      "t.yaml: Namespace a.b: metadata.name: \"a.b\" is not a valid name: "
      LABEL_MSG },
    { "apiVersion: v1\nkind: Namespace\nmetadata: {name: " LONG64 "}\n",
      "t.yaml: Namespace " LONG64 ": metadata.name: \"" LONG64 "\" is not "
      "a valid name: must be no more than 63 characters" },
    { "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: Prod}\n",
      "t.yaml: Pod Prod/p: metadata.namespace: \"Prod\" is not a valid "
      "namespace name: " LABEL_MSG },
    { "apiVersion: v1\nkind: Pod\n"
      "metadata: {name: p, labels: {bad key: x}}\n",
      POD_ID "metadata.labels: \"bad key\" is not a valid label key: name "
      "part " QNAME_MSG },
    { "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: ns1, labels: {Example.com/x: v}}\n",
      "t.yaml: Namespace ns1: metadata.labels: \"Example.com/x\" is not a "
      "valid label key: prefix part " SUBDOMAIN_MSG },
    { "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: ns1, labels: {/x: v}}\n",
      "t.yaml: Namespace ns1: metadata.labels: \"/x\" is not a valid label "
      "key: prefix part must be non-empty" },
    { "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: ns1, labels: {a/b/c: v}}\n",
      "t.yaml: Namespace ns1: metadata.labels: \"a/b/c\" is not a valid label "
      "key: a qualified name " QNAME_MSG " with an optional DNS subdomain "
      "prefix and '/' (e.g. 'example.com/MyName')" },
    { "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: ns1, labels: {" LONG64 ": v}}\n",
      "t.yaml: Namespace ns1: metadata.labels: \"" LONG64 "\" is not a valid "
      "label key: name part must be no more than 63 characters" },
    { "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: ns1, labels: {app: " LONG64 "}}\n",
      "t.yaml: Namespace ns1: metadata.labels[app]: \"" LONG64 "\" is not a "
      "valid label value: must be no more than 63 characters" },
    { "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: ns1, labels: {app: -x}}\n",
      "t.yaml: Namespace ns1: metadata.labels[app]: \"-x\" is not a valid "
      "label value: " VALUE_MSG },
    /* Unquoted YAML booleans and numbers are not strings, as in kubectl. */
    { "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: ns1, labels: {enabled: yes}}\n",
      "t.yaml: Namespace ns1: metadata.labels[enabled]: must be a string, "
      "not boolean true" },
    { "apiVersion: v1\nkind: Namespace\n"
      "metadata: {name: ns1, labels: {version: 1.10}}\n",
      "t.yaml: Namespace ns1: metadata.labels[version]: must be a string, "
      "not number 1.1000000000000001" },
    { "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns1, labels: [a]}\n",
      "t.yaml: Namespace ns1: metadata.labels: must be an object, not an "
      "array" },

    /* NetworkPolicy spec. */
    { NP("{podSelector: {}, ingress: {}}"),
      NP_ID "spec.ingress: must be an array, not an object" },
    { NP("{podSelector: {}, egress: [7]}"),
      NP_ID "spec.egress[0]: must be an object, not integer 7" },

    /* Selectors. */
    { SEL("{matchLabels: {app: a b}}"),
      NP_ID "spec.podSelector.matchLabels[app]: \"a b\" is not a valid "
      "label value: " VALUE_MSG },
    { SEL("{matchLabels: {-app: x}}"),
      NP_ID "spec.podSelector.matchLabels: \"-app\" is not a valid label "
      "key: name part " QNAME_MSG },
    { SEL("{matchExpressions: [{key: role, operator: in, values: [db]}]}"),
      NP_ID "spec.podSelector.matchExpressions[0].operator: \"in\" is not "
      "a valid selector operator (must be In, NotIn, Exists or "
      "DoesNotExist)" },
    { SEL("{matchExpressions: [{key: role}]}"),
      NP_ID "spec.podSelector.matchExpressions[0].operator: is required" },
    { SEL("{matchExpressions: [{operator: Exists}]}"),
      NP_ID "spec.podSelector.matchExpressions[0].key: is required" },
    { SEL("{matchExpressions: [{key: 'a b', operator: Exists}]}"),
      NP_ID "spec.podSelector.matchExpressions[0].key: \"a b\" is not a "
      "valid label key: name part " QNAME_MSG },
    { SEL("{matchExpressions: [{key: a, operator: Exists},"
          " {key: role, operator: In}]}"),
      NP_ID "spec.podSelector.matchExpressions[1].values: must be "
      "non-empty when operator is In" },
    { SEL("{matchExpressions: [{key: role, operator: NotIn, values: []}]}"),
      NP_ID "spec.podSelector.matchExpressions[0].values: must be "
      "non-empty when operator is NotIn" },
    { SEL("{matchExpressions: [{key: role, operator: Exists, "
          "values: [x]}]}"),
      NP_ID "spec.podSelector.matchExpressions[0].values: must be empty "
      "when operator is Exists" },
    { SEL("{matchExpressions: [{key: role, operator: DoesNotExist, "
          "values: [x]}]}"),
      NP_ID "spec.podSelector.matchExpressions[0].values: must be empty "
      "when operator is DoesNotExist" },
    { SEL("{matchExpressions: [{key: role, operator: In, values: [1]}]}"),
      NP_ID "spec.podSelector.matchExpressions[0].values[0]: must be a "
      "string, not integer 1" },
    { SEL("{matchExpressions: {key: role}}"),
      NP_ID "spec.podSelector.matchExpressions: must be an array, not an "
      "object" },

    /* Ports. */
    { PORT("{protocol: ICMP, port: 1}"),
      NP_ID "spec.ingress[0].ports[0].protocol: \"ICMP\" is not a "
      "supported protocol (must be TCP, UDP or SCTP)" },
    { PORT("{protocol: ''}"),
      NP_ID "spec.ingress[0].ports[0].protocol: \"\" is not a "
      "supported protocol (must be TCP, UDP or SCTP)" },
    { PORT("{protocol: tcp}"),
      NP_ID "spec.ingress[0].ports[0].protocol: \"tcp\" is not a "
      "supported protocol (must be TCP, UDP or SCTP)" },
    { PORT("{port: 80}, {port: 0}"),
      NP_ID "spec.ingress[0].ports[1].port: 0 " PORT_NUM_MSG },
    { PORT("{port: 65536}"),
      NP_ID "spec.ingress[0].ports[0].port: 65536 " PORT_NUM_MSG },
    { PORT("{port: -1}"),
      NP_ID "spec.ingress[0].ports[0].port: -1 " PORT_NUM_MSG },
    { PORT("{port: 80.5}"),
      NP_ID "spec.ingress[0].ports[0].port: must be an integer or a "
      "string, not number 80.5" },
    { PORT("{port: '80'}"),
      NP_ID "spec.ingress[0].ports[0].port: \"80\" is not a valid port "
      "name: must contain at least one letter (a-z)" },
    { PORT("{port: HTTP}"),
      NP_ID "spec.ingress[0].ports[0].port: \"HTTP\" is not a valid port "
      "name: must contain only alpha-numeric characters (a-z, 0-9), and "
      "hyphens (-)" },
    { PORT("{port: web-http-server-01}"),
      NP_ID "spec.ingress[0].ports[0].port: \"web-http-server-01\" is not "
      "a valid port name: must be no more than 15 characters" },
    { PORT("{port: my--port}"),
      NP_ID "spec.ingress[0].ports[0].port: \"my--port\" is not a valid "
      "port name: must not contain consecutive hyphens" },
    { PORT("{port: http-}"),
      NP_ID "spec.ingress[0].ports[0].port: \"http-\" is not a valid port "
      "name: must not begin or end with a hyphen" },
    { PORT("{port: http, endPort: 90}"),
      NP_ID "spec.ingress[0].ports[0].endPort: may not be specified when "
      "port is a name (\"http\")" },
    { PORT("{protocol: UDP, endPort: 90}"),
      NP_ID "spec.ingress[0].ports[0].endPort: may not be specified when "
      "port is not specified" },
    { PORT("{port: 90, endPort: 80}"),
      NP_ID "spec.ingress[0].ports[0].endPort: 80 is less than port 90" },
    { PORT("{port: 90, endPort: 65536}"),
      NP_ID "spec.ingress[0].ports[0].endPort: 65536 " PORT_NUM_MSG },
    { PORT("{port: 90, endPort: '100'}"),
      NP_ID "spec.ingress[0].ports[0].endPort: must be an integer, not "
      "string \"100\"" },

    /* Peers. */
    { FROM("{}"),
      NP_ID "spec.ingress[0].from[0]: must specify a peer: podSelector, "
      "namespaceSelector or ipBlock" },
    { NP("{podSelector: {}, egress: [{to: [{podSelector: {}}, "
         "{podSelector: null}]}]}"),
      NP_ID "spec.egress[0].to[1]: must specify a peer: podSelector, "
      "namespaceSelector or ipBlock" },
    { FROM("{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}"),
      NP_ID "spec.ingress[0].from[0]: ipBlock may not be combined with "
      "podSelector or namespaceSelector in one peer" },
    { FROM("{ipBlock: {cidr: 10.0.0.0/8}, namespaceSelector: {}}"),
      NP_ID "spec.ingress[0].from[0]: ipBlock may not be combined with "
      "podSelector or namespaceSelector in one peer" },
    { FROM("{ipBlock: {}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.cidr: is required" },
    { FROM("{ipBlock: {cidr: ''}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.cidr: is required" },
    { FROM("{ipBlock: {cidr: 10.0.0.0}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.cidr: \"10.0.0.0\" is not a "
      "CIDR (no prefix length)" },
    { FROM("{ipBlock: {cidr: 10.0.0.0/33}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.cidr: \"10.0.0.0/33\" is not a "
      "valid CIDR (prefix length above 32)" },
    { FROM("{ipBlock: {cidr: 10.0.0.256/24}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.cidr: \"10.0.0.256/24\" is not "
      "a valid CIDR (bad address)" },
    { FROM("{podSelector: {}}, {namespaceSelector: {}}, "
           "{ipBlock: {cidr: 172.17.0.0/16, except: [172.18.1.0/24]}}"),
      NP_ID "spec.ingress[0].from[2].ipBlock.except[0]: \"172.18.1.0/24\" "
      "is not inside cidr \"172.17.0.0/16\"" },
    { FROM("{ipBlock: {cidr: 172.17.0.0/16, "
           "except: [172.17.1.0/24, 172.17.0.0/16]}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.except[1]: \"172.17.0.0/16\" "
      "is not strictly inside cidr \"172.17.0.0/16\"" },
    { FROM("{ipBlock: {cidr: 172.17.0.0/16, except: [172.0.0.0/8]}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.except[0]: \"172.0.0.0/8\" "
      "is not inside cidr \"172.17.0.0/16\"" },
    { FROM("{ipBlock: {cidr: 172.17.0.0/16, except: ['fd00::/64']}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.except[0]: \"fd00::/64\" is "
      "not inside cidr \"172.17.0.0/16\"" },
    { FROM("{ipBlock: {cidr: 172.17.0.0/16, except: [172.17.0.0/40]}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.except[0]: \"172.17.0.0/40\" "
      "is not a valid CIDR (prefix length above 32)" },
    { FROM("{ipBlock: {cidr: 172.17.0.0/16, except: 172.17.0.0/24}}"),
      NP_ID "spec.ingress[0].from[0].ipBlock.except: must be an array, not "
      "string \"172.17.0.0/24\"" },

    /* policyTypes. */
    { NP("{podSelector: {}, policyTypes: [Ingress, ingress]}"),
      NP_ID "spec.policyTypes[1]: \"ingress\" is not a supported policy "
      "type (must be Ingress or Egress)" },
    { NP("{podSelector: {}, policyTypes: [Ingress, Egress, Ingress]}"),
      NP_ID "spec.policyTypes: may not list more than two policy types "
      "(has 3)" },
    { NP("{podSelector: {}, policyTypes: Ingress}"),
      NP_ID "spec.policyTypes: must be an array, not string \"Ingress\"" },

    /* Pods. */
    { "apiVersion: v1\nkind: Pod\nmetadata: {name: Web}\n",
      "t.yaml: Pod default/Web: metadata.name: \"Web\" is not a valid name: "
      SUBDOMAIN_MSG },
    { PORTS("{name: http}"),
      POD_ID "spec.containers[0].ports[0].containerPort: is required" },
    { PORTS("{containerPort: 0}"),
      POD_ID "spec.containers[0].ports[0].containerPort: 0 " PORT_NUM_MSG },
    { PORTS("{containerPort: 70000}"),
      POD_ID "spec.containers[0].ports[0].containerPort: 70000 "
      PORT_NUM_MSG },
    { PORTS("{containerPort: '80'}"),
      POD_ID "spec.containers[0].ports[0].containerPort: must be an "
      "integer, not string \"80\"" },
    { PORTS("{containerPort: 80, name: Http}"),
      POD_ID "spec.containers[0].ports[0].name: \"Http\" is not a valid "
      "port name: must contain only alpha-numeric characters (a-z, 0-9), "
      "and hyphens (-)" },
    { PORTS("{containerPort: 80, name: '8080'}"),
      POD_ID "spec.containers[0].ports[0].name: \"8080\" is not a valid "
      "port name: must contain at least one letter (a-z)" },
    { PORTS("{containerPort: 80, name: http}, "
            "{containerPort: 81, name: http}"),
      POD_ID "spec.containers[0].ports[1].name: duplicate port name "
      "\"http\"" },
    { PORTS("{containerPort: 80, protocol: HTTP}"),
      POD_ID "spec.containers[0].ports[0].protocol: \"HTTP\" is not a "
      "supported protocol (must be TCP, UDP or SCTP)" },
    { POD("spec: {containers: [{name: a}, {name: b, ports: {}}]}"),
      POD_ID "spec.containers[1].ports: must be an array, not an object" },
    { POD("spec: {hostNetwork: 'true'}"),
      POD_ID "spec.hostNetwork: must be a boolean, not string \"true\"" },
    { POD("spec: {nodeName: Node_1}"),
      POD_ID "spec.nodeName: \"Node_1\" is not a valid node name: "
      SUBDOMAIN_MSG },
    { POD("status: {podIP: 10.0.0.256}"),
      POD_ID "status.podIP: \"10.0.0.256\" is not a valid IP address" },
    { POD("status: {podIP: 10.0.0.1, podIPs: [{ip: 10.0.0.1}, "
          "{ip: 'fd00::g'}]}"),
      POD_ID "status.podIPs[1].ip: \"fd00::g\" is not a valid IP address" },
    { POD("status: {podIPs: [{}]}"),
      POD_ID "status.podIPs[0].ip: is required" },
    { POD("status: {podIPs: [{ip: 10.0.0.1}, {ip: 10.0.0.2}]}"),
      POD_ID "status.podIPs: may hold one address per family, not 2 "
      "addresses" },
    { POD("status: {podIP: 10.0.0.3, podIPs: [{ip: 10.0.0.1}, "
          "{ip: 'fd00::1'}]}"),
      POD_ID "status.podIPs: may hold one address per family, not 3 "
      "addresses" },
    { POD("status: {podIPs: [10.0.0.1]}"),
      POD_ID "status.podIPs[0]: must be an object, not string "
      "\"10.0.0.1\"" },

    /* YAML problems that reject only their document. */
    { "apiVersion: v1\nkind: Namespace\nkind: Namespace\n",
      "t.yaml: line 18 column 1: mapping key \"kind\" already defined" },
    { "apiVersion: v1\nkind: *nothing\n",
      "t.yaml: line 17 column 7: unknown anchor \"nothing\"" },
    { "apiVersion: v1\nkind: !!int Namespace\n",
      "t.yaml: line 17 column 7: cannot decode \"Namespace\" as !!int" },
    { "apiVersion: v1\nkind: .inf\n",
      "t.yaml: line 17 column 7: .inf cannot be represented in JSON" },
    { "? [a]\n: b\n",
      "t.yaml: line 16 column 3: a mapping key must be a scalar" },
};

static void
test_bad_objects(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        char *text = xasprintf("# Document 1.\n" GOOD_NS "---\n"
                               "# Document 2, the bad one.\n"
                               "# (padding so that its first line is 16)\n"
                               "#\n#\n#\n#\n#\n#\n#\n#\n"
                               "%s---\n" GOOD_POD, c->text);
        struct obj_batch b;
        parse_text("t.yaml", text, &b);
        if (b.n_errors != 1 || strcmp(b.errors[0], c->error)
            || b.n_objs != 2) {
            print_error("case %zu:\n%s\nexpected: %s\n", i, text, c->error);
            for (size_t j = 0; j < b.n_errors; j++) {
                print_error("got:      %s\n", b.errors[j]);
            }
            print_error("with %zu objects\n", b.n_objs);
            fail();
        }
        assert_string_equal(k8s_object_name(&b.objs[0]), "good");
        assert_int_equal(b.objs[0].kind, OBJ_NAMESPACE);
        assert_string_equal(k8s_object_name(&b.objs[1]), "good");
        assert_int_equal(b.objs[1].kind, OBJ_POD);
        obj_batch_destroy(&b);
        free(text);
    }
}

/* The same validation in JSON, where the bad object sits in a List. */
static void
test_bad_json_list(void **state)
{
    struct obj_batch b;
    parse_text("l.json",
               "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
               " {\"apiVersion\": \"v1\", \"kind\": \"Namespace\","
               "  \"metadata\": {\"name\": \"a\"}},"
               " {\"apiVersion\": \"networking.k8s.io/v1\","
               "  \"kind\": \"NetworkPolicy\","
               "  \"metadata\": {\"name\": \"np\", \"namespace\": \"a\"},"
               "  \"spec\": {\"podSelector\": {}, \"ingress\": [{\"ports\":"
               "   [{\"port\": 53, \"protocol\": \"UDP\"},"
               "    {\"port\": true}]}]}},"
               " {\"apiVersion\": \"networking.k8s.io/v1\","
               "  \"kind\": \"NetworkPolicy\", \"metadata\": {}},"
               " 5,"
               " {\"apiVersion\": \"v1\", \"kind\": \"Namespace\","
               "  \"metadata\": {\"name\": \"b\"}}]}", &b);
    assert_int_equal(b.n_objs, 2);
    assert_string_equal(k8s_object_name(&b.objs[0]), "a");
    assert_string_equal(k8s_object_name(&b.objs[1]), "b");
    assert_int_equal(b.n_errors, 3);
    assert_string_equal(b.errors[0], "l.json: NetworkPolicy a/np: "
                        "spec.ingress[0].ports[1].port: must be an integer "
                        "or a string, not boolean true");
    assert_string_equal(b.errors[1], "l.json: object 1, items[2]: "
                        "NetworkPolicy: metadata.name: is required");
    assert_string_equal(b.errors[2], "l.json: object 1, items[3]: must be "
                        "an object, not integer 5");
    obj_batch_destroy(&b);
}

/* The fixture with one good and four bad objects of several kinds. */
static void
test_mixed_fixture(void **state)
{
    struct obj_batch b;
    parse_fixture("mixed.yaml", &b);
    assert_int_equal(b.n_objs, 2);
    assert_int_equal(b.objs[0].kind, OBJ_NAMESPACE);
    assert_string_equal(k8s_object_name(&b.objs[0]), "default");
    assert_int_equal(b.objs[1].kind, OBJ_POD);
    assert_string_equal(k8s_object_name(&b.objs[1]), "ok");

    assert_int_equal(b.n_errors, 4);
    assert_fixture_error("mixed.yaml", b.errors[0],
                         "NetworkPolicy default/db: spec.ingress[0].from[2]"
                         ".ipBlock.except[0]: \"172.18.1.0/24\" is not "
                         "inside cidr \"172.17.0.0/16\"");
    assert_fixture_error("mixed.yaml", b.errors[1],
                         "NetworkPolicy default/old: apiVersion: "
                         "\"extensions/v1beta1\" is not supported for "
                         "NetworkPolicy (must be \"networking.k8s.io/v1\")");
    assert_fixture_error("mixed.yaml", b.errors[2],
                         "NetworkPolicy default/bad-operator: spec."
                         "podSelector.matchExpressions[0].operator: \"in\" "
                         "is not a valid selector operator (must be In, "
                         "NotIn, Exists or DoesNotExist)");
    assert_fixture_error("mixed.yaml", b.errors[3],
                         "Pod default/web: metadata.labels[version]: must "
                         "be a string, not integer 2");
    obj_batch_destroy(&b);
}

/* Syntax errors: what came before is kept. */
static void
test_broken_yaml(void **state)
{
    struct obj_batch b;
    parse_fixture("broken-syntax.yaml", &b);
    assert_int_equal(b.n_objs, 2);
    assert_string_equal(k8s_object_name(&b.objs[0]), "first");
    assert_string_equal(k8s_object_name(&b.objs[1]), "second");
    assert_int_equal(b.n_errors, 1);
    assert_fixture_error("broken-syntax.yaml", b.errors[0],
                         "line 15 column 1: did not find expected ',' or "
                         "']' (while parsing a flow sequence at line 14 "
                         "column 9)");
    obj_batch_destroy(&b);

    parse_text("t.yaml", GOOD_NS "---\nmetadata:\n  name: x\n bad: 1\n", &b);
    assert_int_equal(b.n_objs, 1);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.yaml: line 7 column 2: did not "
                        "find expected key (while parsing a block mapping at "
                        "line 5 column 1)");
    obj_batch_destroy(&b);

    parse_text("t.yaml", "a: \"unterminated\n", &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.yaml: line 2 column 1: found "
                        "unexpected end of stream (while scanning a quoted "
                        "scalar at line 1 column 4)");
    obj_batch_destroy(&b);
}

static void
test_broken_json(void **state)
{
    struct obj_batch b;
    parse_fixture("broken.json", &b);
    assert_int_equal(b.n_objs, 1);
    assert_string_equal(k8s_object_name(&b.objs[0]), "kept");
    assert_int_equal(b.n_errors, 1);
    assert_fixture_error("broken.json", b.errors[0],
                         "line 4 column 1: '}' expected near end of file");
    obj_batch_destroy(&b);

    /* Garbage after a good object, on the same line. */
    parse_text("s.json", "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"a\"}} xyz", &b);
    assert_int_equal(b.n_objs, 1);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "s.json: line 1 column 72: '[' or "
                        "'{' expected near 'xyz'");
    obj_batch_destroy(&b);

    parse_text("s.json", "[{\"kind\": \"Namespace\",\n \"x\": 1,,}]", &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "s.json: line 2 column 9: string or "
                        "'}' expected near ','");
    obj_batch_destroy(&b);
}

/* Lists item by item.  A List that is a top-level JSON value is scanned
 * and loaded one item at a time; whatever the scanner cannot delimit is
 * loaded whole, as before.  The whole path stays reachable by wrapping a
 * List in an array, which these tests use as the reference. */

static void
dump_labels(struct strbuf *s, const char *what, const struct labels *labels)
{
    strbuf_printf(s, " %s{", what);
    for (size_t i = 0; i < labels->n; i++) {
        strbuf_printf(s, "%s=%s;", labels->items[i].key,
                      labels->items[i].value);
    }
    strbuf_printf(s, "}");
}

static void
dump_selector(struct strbuf *s, const char *what, const struct selector *sel)
{
    if (sel) {
        char *str = selector_to_string(sel);
        strbuf_printf(s, " %s<%s>", what, str);
        free(str);
    } else {
        strbuf_printf(s, " %s-", what);
    }
}

static void
dump_rules(struct strbuf *s, const char *what, const struct np_rule *rules,
           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct np_rule *r = &rules[i];
        strbuf_printf(s, " %s[%zu]:", what, i);
        for (size_t j = 0; j < r->n_peers; j++) {
            const struct np_peer *p = &r->peers[j];
            if (p->is_ipblock) {
                char buf[CIDR_STRLEN];
                cidr_format(&p->block, buf);
                strbuf_printf(s, " ipblock %s", buf);
                for (size_t k = 0; k < p->n_excepts; k++) {
                    cidr_format(&p->excepts[k], buf);
                    strbuf_printf(s, " except %s", buf);
                }
            } else {
                dump_selector(s, "pods", p->pod_selector);
                dump_selector(s, "namespaces", p->ns_selector);
            }
        }
        for (size_t j = 0; j < r->n_ports; j++) {
            const struct np_port *p = &r->ports[j];
            strbuf_printf(s, " port %s/%s/%u-%u", np_proto_name(p->proto),
                          p->name ? p->name : "-", p->port, p->end_port);
        }
    }
}

/* Writes every field of 'obj' on one line. */
static void
dump_object(struct strbuf *s, const struct k8s_object *obj)
{
    strbuf_printf(s, "%s %s/%s", obj_kind_name(obj->kind),
                  k8s_object_namespace(obj), k8s_object_name(obj));
    switch (obj->kind) {
    case OBJ_NAMESPACE:
        strbuf_printf(s, " rv=%s", obj->ns->resource_version
                      ? obj->ns->resource_version : "-");
        dump_labels(s, "labels", &obj->ns->labels);
        break;

    case OBJ_POD: {
        const struct k8s_pod *pod = obj->pod;
        strbuf_printf(s, " rv=%s node=%s host=%d phase=%d",
                      pod->resource_version ? pod->resource_version : "-",
                      pod->node_name ? pod->node_name : "-",
                      pod->host_network, pod->phase);
        dump_labels(s, "labels", &pod->labels);
        for (size_t i = 0; i < pod->n_ips; i++) {
            char buf[IP_ADDR_STRLEN];
            ip_addr_format(&pod->ips[i], buf);
            strbuf_printf(s, " ip %s", buf);
        }
        for (size_t i = 0; i < pod->n_ports; i++) {
            strbuf_printf(s, " port %s/%u/%s",
                          pod->ports[i].name ? pod->ports[i].name : "-",
                          pod->ports[i].port,
                          np_proto_name(pod->ports[i].proto));
        }
        break;
    }

    case OBJ_NETPOL: {
        const struct k8s_netpol *np = obj->np;
        strbuf_printf(s, " rv=%s in=%d eg=%d",
                      np->resource_version ? np->resource_version : "-",
                      np->isolates_ingress, np->isolates_egress);
        dump_selector(s, "select", &np->pod_selector);
        dump_rules(s, "ingress", np->ingress, np->n_ingress);
        dump_rules(s, "egress", np->egress, np->n_egress);
        break;
    }

    case OBJ_CNP:
        /* Its fields: tests/test-cnp.c. */
        break;

    case OBJ_NODE:
        dump_labels(s, "labels", &obj->node->labels);
        for (size_t i = 0; i < obj->node->n_ips; i++) {
            char buf[IP_ADDR_STRLEN];
            ip_addr_format(&obj->node->ips[i], buf);
            strbuf_printf(s, " ip %s", buf);
        }
        break;
    }
    strbuf_printf(s, "\n");
}

/* Returns every object and message of 'batch', one a line, malloc'd. */
static char *
dump_batch(const struct obj_batch *batch)
{
    struct strbuf t;
    strbuf_init(&t);
    struct strbuf *s = &t;
    strbuf_printf(s, "%zu objects, %zu errors\n", batch->n_objs,
                  batch->n_errors);
    for (size_t i = 0; i < batch->n_objs; i++) {
        dump_object(s, &batch->objs[i]);
    }
    for (size_t i = 0; i < batch->n_errors; i++) {
        strbuf_printf(s, "error %s\n", batch->errors[i]);
    }
    return strbuf_steal(&t);
}

/* Parses the List 'text' item by item and whole (wrapped in an array) and
 * checks that both give the same objects and messages; messages must name
 * their objects, as the locators of the two differ.  Returns the item by
 * item parse in 'batch'. */
static void
assert_same_as_whole(const char *text, struct obj_batch *batch)
{
    struct obj_batch whole;
    char *wrapped = xasprintf("[%s]", text);
    parse_text("t.json", wrapped, &whole);
    parse_text("t.json", text, batch);

    char *expected = dump_batch(&whole);
    char *actual = dump_batch(batch);
    assert_string_equal(actual, expected);

    free(actual);
    free(expected);
    obj_batch_destroy(&whole);
    free(wrapped);
}

/* Returns a List of 'n' items of every kind that we read, a few of them
 * invalid, and some of kinds that we skip, malloc'd. */
static char *
gen_list(size_t n)
{
    struct strbuf t;
    strbuf_init(&t);
    struct strbuf *s = &t;

    strbuf_printf(s, "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n"
                  "  \"metadata\": {\"resourceVersion\": \"7\"},\n"
                  "  \"items\": [");
    for (size_t i = 0; i < n; i++) {
        strbuf_printf(s, "%s\n    ", i ? "," : "");
        switch (i % 6) {
        case 0:
            strbuf_printf(s, "{\"apiVersion\": \"v1\", "
                          "\"kind\": \"Namespace\",\n"
                          "     \"metadata\": {\"name\": \"ns-%zu\", "
                          "\"resourceVersion\": \"%zu\",\n"
                          "      \"labels\": {\"team\": \"t%zu\", "
                          "\"kubernetes.io/metadata.name\": \"ns-%zu\"}}}",
                          i, i, i % 5, i);
            break;
        case 1:
        case 2:
            strbuf_printf(s, "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n"
                          "     \"metadata\": {\"name\": \"pod-%zu\", "
                          "\"namespace\": \"ns-%zu\",\n"
                          "      \"labels\": {\"app\": \"a%zu\", "
                          "\"tier\": \"%s\"},"
                          " \"annotations\": {\"note\": \"{[\\\"]}\\\\\"}},\n"
                          "     \"spec\": {\"nodeName\": \"node-%zu\", "
                          "\"hostNetwork\": %s, \"containers\": [\n"
                          "       {\"name\": \"c\", \"ports\": "
                          "[{\"containerPort\": %zu, \"name\": \"p%zu\"},\n"
                          "        {\"containerPort\": 53, "
                          "\"protocol\": \"UDP\"}]}]},\n"
                          "     \"status\": {\"phase\": \"%s\", \"podIPs\": "
                          "[{\"ip\": \"10.%zu.%zu.%zu\"}, "
                          "{\"ip\": \"fd00::%zx\"}]}}",
                          i, i / 6 * 6, i % 7, i % 2 ? "web" : "db", i % 3,
                          i % 11 ? "false" : "true", 1000 + i, i % 4,
                          i % 4 ? "Running" : "Pending", i >> 16 & 255,
                          i >> 8 & 255, i & 255, i);
            break;
        case 3:
            strbuf_printf(s, "{\"apiVersion\": \"networking.k8s.io/v1\", "
                          "\"kind\": \"NetworkPolicy\",\n"
                          "     \"metadata\": {\"name\": \"np-%zu\", "
                          "\"namespace\": \"ns-%zu\"},\n"
                          "     \"spec\": {\"podSelector\": {\"matchLabels\": "
                          "{\"app\": \"a%zu\"}},\n"
                          "      \"ingress\": [{\"from\": "
                          "[{\"namespaceSelector\": "
                          "{\"matchExpressions\": [{\"key\": \"team\", "
                          "\"operator\": \"In\", "
                          "\"values\": [\"t1\", \"t2\"]}]},"
                          " \"podSelector\": {}},\n"
                          "        {\"ipBlock\": {\"cidr\": "
                          "\"10.%zu.0.0/16\", "
                          "\"except\": [\"10.%zu.1.0/24\"]}}],\n"
                          "       \"ports\": [{\"port\": \"p%zu\"}, "
                          "{\"port\": 8000, \"endPort\": %zu}]}],\n"
                          "      \"egress\": [{\"to\": [{\"podSelector\": "
                          "{\"matchLabels\": {\"tier\": \"db\"}}}]}],\n"
                          "      \"policyTypes\": [\"Ingress\"%s]}}",
                          i, i / 6 * 6, i % 7, i % 200, i % 200, i % 4,
                          8000 + i % 100, i % 2 ? ", \"Egress\"" : "");
            break;
        case 4:
            strbuf_printf(s, "{\"apiVersion\": \"v1\", \"kind\": \"Service\", "
                          "\"metadata\": {\"name\": \"svc-%zu\"}, \"spec\": "
                          "{\"selector\": {\"items\": \"]\"}}}", i);
            break;
        case 5:
            /* Invalid: the label value is not a string. */
            strbuf_printf(s, "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", "
                          "\"metadata\": {\"name\": \"bad-%zu\", "
                          "\"namespace\": \"x\", \"labels\": {\"v\": %zu}}}",
                          i, i);
            break;
        }
    }
    strbuf_printf(s, "\n  ]\n}\n");
    return strbuf_steal(&t);
}

/* A big List item by item gives what it gives whole. */
static void
test_list_by_item(void **state)
{
    enum { N = 600 };
    struct obj_batch b;
    char *text = gen_list(N);
    assert_same_as_whole(text, &b);
    assert_int_equal(b.n_objs, N / 6 * 4);
    assert_int_equal(b.n_errors, N / 6);
    assert_string_equal(b.errors[0], "t.json: Pod x/bad-5: "
                        "metadata.labels[v]: must be a string, not "
                        "integer 5");
    obj_batch_destroy(&b);

    /* The same with a broken last item: only the item by item parse keeps
     * the others, which shows that it took that path. */
    char *end = strrchr(text, ']');
    char *broken = xasprintf("%.*s, {\"kind\": \"Pod\" \"x\"}\n]}",
                             (int) (end - text), text);
    parse_text("t.json", broken, &b);
    assert_int_equal(b.n_objs, N / 6 * 4);
    assert_int_equal(b.n_errors, N / 6 + 1);
    const char *x = strstr(broken, "\"x\"}");
    int line = 1;
    const char *line_start = broken;
    for (const char *p = broken; p < x; p++) {
        if (*p == '\n') {
            line++;
            line_start = p + 1;
        }
    }
    /* jansson gives the column of the last character of the token. */
    char *expected = xasprintf("t.json: object 1, items[%d]: line %d "
                               "column %d: '}' expected near '\"x\"'",
                               N, line, (int) (x - line_start) + 3);
    assert_string_equal(b.errors[N / 6], expected);
    free(expected);
    obj_batch_destroy(&b);
    free(broken);
    free(text);

    /* The fixtures read whole and item by item. */
    static const char *const names[] = { "list.json", "podlist.json" };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        char *path = fixture(names[i]);
        FILE *file = fopen(path, "r");
        assert_non_null(file);
        char content[8192];
        size_t n = fread(content, 1, sizeof content - 1, file);
        assert_true(n > 0 && n < sizeof content - 1);
        content[n] = '\0';
        fclose(file);
        free(path);

        assert_same_as_whole(content, &b);
        assert_int_equal(b.n_errors, 0);
        assert_true(b.n_objs >= 2);
        obj_batch_destroy(&b);
    }
}

/* Strings with brackets and escapes, and "items" where it is not the
 * List's, do not mislead the scanner. */
static void
test_list_tricky_text(void **state)
{
    static const char text[] =
        "{\"metadata\": {\"note\": \"\\\"items\\\": [{\", \"items\": [1, "
        "{\"x\": \"]}\"}],\n"
        "  \"\\\\\": \"\\\\\", \"items\": \"items\"},\n"
        " \"items\" : [\n"
        "  {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": "
        "{\"name\": \"a\",\n"
        "    \"annotations\": {\"}\": \"{\", \"]\": \"[\", \"q\": "
        "\"\\\"}]\", \"b\": \"\\\\\", \"u\": \"\\u007d\\\\\\\"\"}}},\n"
        "  {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": "
        "{\"name\": \"p\", \"namespace\": \"a\"},\n"
        "   \"spec\": {\"items\": [{\"kind\": \"List\"}], \"containers\": "
        "[]}},\n"
        "  {\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
        "    {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": "
        "{\"name\": \"nested\"}}]},\n"
        "  [{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": "
        "{\"name\": \"in-array\"}}],\n"
        "  {}, [], \"s\\\"]\", -1.5e3, true, null\n"
        " ], \"kind\": \"List\", \"apiVersion\": \"v1\"}";
    struct obj_batch b;
    parse_text("t.json", text, &b);
    assert_int_equal(b.n_objs, 3);
    assert_string_equal(k8s_object_name(&b.objs[0]), "a");
    assert_string_equal(k8s_object_name(&b.objs[1]), "p");
    assert_string_equal(k8s_object_name(&b.objs[2]), "nested");
    /* Only a top-level array holds objects: not a List's items. */
    assert_int_equal(b.n_errors, 7);
    assert_string_equal(b.errors[0], "t.json: object 1, items[3]: must be "
                        "an object, not an array");
    assert_string_equal(b.errors[1], "t.json: object 1, items[4]: kind: is "
                        "required");
    assert_string_equal(b.errors[3], "t.json: object 1, items[6]: must be "
                        "an object, not string \"s\\\"]\"");
    assert_string_equal(b.errors[4], "t.json: object 1, items[7]: must be "
                        "an object, not number -1500");
    assert_string_equal(b.errors[6], "t.json: object 1, items[9]: must be "
                        "an object, not null");
    assert_true(b.incomplete);
    obj_batch_destroy(&b);

    /* The same messages whole, but for the locators. */
    char *wrapped = xasprintf("[%s]", text);
    parse_text("t.json", wrapped, &b);
    assert_int_equal(b.n_objs, 3);
    assert_int_equal(b.n_errors, 7);
    assert_string_equal(b.errors[1], "t.json: object 1[0], items[4]: kind: "
                        "is required");
    obj_batch_destroy(&b);
    free(wrapped);
}

/* Arrays hold objects only at the top level, and Lists nest at most three
 * deep: anything deeper is one error, never walked level by level (a
 * 41 KB file of nested aliases once made 627 MB of locators). */
static void
test_list_nesting(void **state)
{
    struct obj_batch b;
    parse_text("t.json", "[[{\"apiVersion\": \"v1\", \"kind\": "
               "\"Namespace\", \"metadata\": {\"name\": \"a\"}}], "
               "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"b\"}}]", &b);
    assert_int_equal(b.n_objs, 1);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: object 1[0]: must be an "
                        "object, not an array");
    obj_batch_destroy(&b);

#define L(X) "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [" X "]}"
#define NS "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "  \
        "\"metadata\": {\"name\": \"n\"}}"
    parse_text("t.json", "[" L(L(NS)) "]", &b);
    assert_int_equal(b.n_objs, 1);
    assert_int_equal(b.n_errors, 0);
    obj_batch_destroy(&b);

    parse_text("t.yaml", "x: 1\n---\n" L(L(L(L(NS)))), &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 2);
    assert_string_equal(b.errors[1], "t.yaml: document 2, items[0], "
                        "items[0], items[0]: a List may not be nested more "
                        "than 3 deep");
    assert_true(b.incomplete);
    obj_batch_destroy(&b);
#undef L
#undef NS
}

/* "items" before "kind": a PodList's items are Pods whatever the order. */
static void
test_list_items_first(void **state)
{
    static const char text[] =
        "{\"items\": [{\"metadata\": {\"name\": \"a\", \"namespace\": "
        "\"x\"}},\n"
        "            {\"metadata\": {\"name\": \"b\"}, \"apiVersion\": "
        "\"v2\"}],\n"
        " \"metadata\": {\"resourceVersion\": \"5\"},\n"
        " \"apiVersion\": \"v1\", \"kind\": \"PodList\"}\n"
        "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": "
        "{\"name\": \"after\"}}";
    struct obj_batch b;
    parse_text("t.json", text, &b);
    assert_int_equal(b.n_objs, 2);
    assert_int_equal(b.objs[0].kind, OBJ_POD);
    assert_string_equal(b.objs[0].pod->namespace, "x");
    assert_string_equal(b.objs[0].pod->name, "a");
    assert_int_equal(b.objs[1].kind, OBJ_NAMESPACE);
    assert_string_equal(k8s_object_name(&b.objs[1]), "after");
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: Pod default/b: apiVersion: "
                        "\"v2\" is not supported for Pod (must be \"v1\")");
    obj_batch_destroy(&b);
}

/* A syntax error in an item rejects that item alone, with the line and
 * column in the whole text. */
static void
test_list_item_syntax_error(void **state)
{
    struct obj_batch b;
    parse_text("t.json",
               "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
               " {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"a\"}},\n"
               " {\"apiVersion\": \"v1\", \"kind\": \"Namespace\",\n"
               "  \"metadata\": {\"name\": \"b\",}},\n"
               " {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"c\"}}]}\n"
               "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"d\"}}", &b);
    assert_int_equal(b.n_objs, 3);
    assert_string_equal(k8s_object_name(&b.objs[0]), "a");
    assert_string_equal(k8s_object_name(&b.objs[1]), "c");
    assert_string_equal(k8s_object_name(&b.objs[2]), "d");
    assert_int_equal(b.n_errors, 1);
    /* Whole, the message would be "t.json: line 4 column 28: ...". */
    assert_string_equal(b.errors[0], "t.json: object 1, items[1]: line 4 "
                        "column 28: string or '}' expected near '}'");
    obj_batch_destroy(&b);

    /* On one line, after a first object, with characters of several bytes
     * before (columns count characters). */
    parse_text("t.json",
               "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"x\"}} {\"kind\": \"List\", "
               "\"metadata\": {\"note\": \"\xc3\xa9\xc3\xa9\"}, "
               "\"items\": [{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"a\"}}, {\"x\": 1,,}, 5]}", &b);
    assert_int_equal(b.n_objs, 2);
    assert_int_equal(b.n_errors, 2);
    assert_string_equal(b.errors[0], "t.json: object 2, items[1]: line 1 "
                        "column 203: string or '}' expected near ','");
    assert_string_equal(b.errors[1], "t.json: object 2, items[2]: must be "
                        "an object, not integer 5");
    obj_batch_destroy(&b);
}

/* What the scanner cannot take is loaded whole, with the messages of
 * before: a truncated text, errors outside the items, odd Lists. */
static void
test_list_whole(void **state)
{
    struct obj_batch b;

    /* A file cut short: no item is kept, and the message is jansson's
     * about the whole text. */
    char *text = gen_list(60);
    size_t size = strlen(text) / 2;
    char path[] = "/tmp/test-objects.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, size), size);
    close(fd);
    obj_batch_init(&b);
    objects_parse_file(path, &b);
    unlink(path);

    json_error_t jerr;
    assert_null(json_loadb(text, size, JSON_DISABLE_EOF_CHECK, &jerr));
    char *expected = xasprintf("%s: line %d column %d: %s", path, jerr.line,
                               jerr.column, jerr.text);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], expected);
    free(expected);
    obj_batch_destroy(&b);
    free(text);

    /* Truncated in an item, with the message in full. */
    parse_text("t.json",
               "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
               " {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"a\"}},\n"
               " {\"apiVersion\": \"v1\", \"kind\": \"Namespace\",\n"
               "  \"metadata\": {\"name\": \"b\"", &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: line 4 column 26: '}' "
                        "expected near end of file");
    obj_batch_destroy(&b);

    /* Truncated in a string, after the items. */
    parse_text("t.json", "{\"kind\": \"List\", \"items\": [], \"x\": \"ab",
               &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: line 1 column 38: premature "
                        "end of input near '\"ab'");
    obj_batch_destroy(&b);

    /* A syntax error in the envelope, after good items. */
    parse_text("t.json",
               "{\"kind\": \"List\", \"items\": [{\"apiVersion\": \"v1\", "
               "\"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}}],\n"
               " \"metadata\": {\"x\": tru}}", &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: line 2 column 22: invalid "
                        "token near 'tru'");
    obj_batch_destroy(&b);

    /* Items that the scanner does not delimit. */
    parse_text("t.json", "{\"kind\": \"List\", \"items\": [{}, ]}", &b);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: line 1 column 32: unexpected "
                        "token near ']'");
    obj_batch_destroy(&b);

    parse_text("t.json", "{\"kind\": \"List\", \"items\": [{}, 5a]}", &b);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: line 1 column 33: ']' "
                        "expected near 'a'");
    obj_batch_destroy(&b);

    parse_text("t.json", "{\"kind\": \"List\", \"items\": [{\"a\": [}]]}", &b);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: line 1 column 35: unexpected "
                        "token near '}'");
    obj_batch_destroy(&b);

    /* "items" twice: the last wins, as jansson has it; and spelled with an
     * escape. */
    parse_text("t.json", "{\"kind\": \"List\", \"items\": [{\"apiVersion\": "
               "\"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": "
               "\"a\"}}], \"\\u0069tems\": [{\"apiVersion\": \"v1\", "
               "\"kind\": \"Namespace\", \"metadata\": {\"name\": \"b\"}}]}",
               &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 1);
    assert_string_equal(k8s_object_name(&b.objs[0]), "b");
    obj_batch_destroy(&b);

    /* Not a List, or no items array. */
    parse_text("t.json", "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
               "\"metadata\": {\"name\": \"a\"}, \"items\": [{}]}", &b);
    assert_int_equal(b.n_errors, 0);
    assert_int_equal(b.n_objs, 1);
    obj_batch_destroy(&b);

    parse_text("t.json", "{\"kind\": \"PodList\", \"items\": 5}", &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "t.json: object 1: items: must be an "
                        "array, not integer 5");
    obj_batch_destroy(&b);

    parse_text("t.json", "{\"kind\": \"List\", \"items\": null} "
               "{\"kind\": \"List\", \"items\": [ ]} {\"kind\": \"List\"}",
               &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 0);
    obj_batch_destroy(&b);
}

/* Returns a List with one Namespace whose field "x" holds 'n' nested
 * arrays around 'inner', malloc'd. */
static char *
deep_list(int n, const char *inner)
{
    struct strbuf t;
    strbuf_init(&t);
    struct strbuf *s = &t;
    strbuf_printf(s, "{\"kind\": \"List\", \"items\": [{\"apiVersion\": "
                  "\"v1\", \"kind\": \"Namespace\", \"metadata\": "
                  "{\"name\": \"a\"}, \"x\": ");
    for (int i = 0; i < n; i++) {
        strbuf_printf(s, "[");
    }
    strbuf_printf(s, "%s", inner);
    for (int i = 0; i < n; i++) {
        strbuf_printf(s, "]");
    }
    strbuf_printf(s, "}]}");
    return strbuf_steal(&t);
}

/* Items nest as deep as jansson allows in the whole List, and no deeper:
 * jansson counts every value, from 1 for the List. */
static void
test_list_depth(void **state)
{
    for (int depth = JSON_PARSER_MAX_DEPTH - 2;
         depth <= JSON_PARSER_MAX_DEPTH + 2; depth++) {
        for (int scalar = 0; scalar < 2; scalar++) {
            /* The List, "items" and the item are 3 levels. */
            int n = depth - 3 - scalar;
            char *text = deep_list(n, scalar ? "1" : "");
            struct obj_batch b;
            parse_text("t.json", text, &b);
            if (depth <= JSON_PARSER_MAX_DEPTH) {
                assert_int_equal(b.n_errors, 0);
                assert_int_equal(b.n_objs, 1);
            } else {
                assert_int_equal(b.n_objs, 0);
                assert_int_equal(b.n_errors, 1);
                /* At the first value too deep. */
                char *expected = xasprintf(
                    "t.json: line 1 column %d: maximum parsing depth "
                    "reached near '%s'",
                    (int) (strstr(text, "\"x\": ") - text) + 6
                    + JSON_PARSER_MAX_DEPTH - 3,
                    depth == JSON_PARSER_MAX_DEPTH + 1 && scalar
                    ? "1" : "[");
                assert_string_equal(b.errors[0], expected);
                free(expected);
            }
            obj_batch_destroy(&b);
            free(text);
        }
    }
}

static void
test_unreadable_file(void **state)
{
    struct obj_batch b;
    obj_batch_init(&b);
    objects_parse_file("/nonexistent/policy.yaml", &b);
    assert_int_equal(b.n_objs, 0);
    assert_int_equal(b.n_errors, 1);
    assert_string_equal(b.errors[0], "/nonexistent/policy.yaml: cannot "
                        "open: No such file or directory");
    assert_true(b.incomplete);
    obj_batch_destroy(&b);

    /* Only regular files: a FIFO is refused at once, not waited on. */
    char dir[] = "/tmp/np-objects.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *fifo = xasprintf("%s/p.yaml", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = { fifo, dir, "/dev/zero" };
    const char *types[] = { "a FIFO", "a directory", "a character device" };
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
        obj_batch_init(&b);
        objects_parse_file(paths[i], &b);
        assert_int_equal(b.n_errors, 1);
        char *expected = xasprintf("%s: cannot read: it is %s, not a regular "
                                   "file", paths[i], types[i]);
        assert_string_equal(b.errors[0], expected);
        assert_true(b.incomplete);
        free(expected);
        obj_batch_destroy(&b);
    }
    unlink(fifo);
    rmdir(dir);
    free(fifo);
}

/* Values from outside are echoed cut to NP_QUOTE_MAX bytes plus the whole
 * size, however long they are (a 50 MB label once made a 52 MB line). */
static void
test_long_values(void **state)
{
    enum { BIG = 1 << 20 };
    char *big = xmalloc(BIG + 1);
    memset(big, 'a', BIG);
    big[BIG] = '\0';
    char *hundred = xmemdup0(big, NP_QUOTE_MAX);

    struct obj_batch b;
    char *text = xasprintf("{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", "
                           "\"metadata\": {\"name\": \"ns1\", \"labels\": "
                           "{\"app\": \"%s\"}}}", big);
    parse_text("t.json", text, &b);
    assert_int_equal(b.n_errors, 1);
    char *expected = xasprintf("t.json: Namespace ns1: metadata.labels[app]: "
                               "\"%s\"\xe2\x80\xa6 (1048576 bytes) is not a "
                               "valid label value: must be no more than 63 "
                               "characters", hundred);
    assert_string_equal(b.errors[0], expected);
    free(expected);
    obj_batch_destroy(&b);
    free(text);

    /* A name, which the messages about other fields repeat. */
    text = xasprintf("{\"apiVersion\": \"v1\", \"kind\": \"Pod\", "
                     "\"metadata\": {\"name\": \"%s\"}}", big);
    parse_text("t.json", text, &b);
    assert_int_equal(b.n_errors, 1);
    assert_true(strlen(b.errors[0]) < 600);
    expected = xasprintf("t.json: Pod default/\"%s\"\xe2\x80\xa6 (1048576 "
                         "bytes): metadata.name: \"%s\"\xe2\x80\xa6 (1048576 "
                         "bytes) is not a valid name: must be no more than "
                         "253 characters", hundred, hundred);
    assert_string_equal(b.errors[0], expected);
    free(expected);
    obj_batch_destroy(&b);
    free(text);

    /* A CIDR, and YAML's own messages. */
    text = xasprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                     "metadata: {name: np}\nspec:\n  podSelector: {}\n"
                     "  ingress: [{from: [{ipBlock: {cidr: '%s'}}]}]\n", big);
    parse_text("t.yaml", text, &b);
    assert_int_equal(b.n_errors, 1);
    assert_true(strlen(b.errors[0]) < 400);
    assert_non_null(strstr(b.errors[0], "\xe2\x80\xa6 (1048576 bytes) is not "
                           "a CIDR"));
    obj_batch_destroy(&b);
    free(text);

    /* libyaml limits implicit keys to 1024 characters: explicit ones. */
    text = xasprintf("? %s\n: 1\n? %s\n: 2\n", big, big);
    parse_text("t.yaml", text, &b);
    assert_int_equal(b.n_errors, 1);
    expected = xasprintf("t.yaml: line 3 column 3: mapping key \"%s\"\xe2\x80"
                         "\xa6 (1048576 bytes) already defined", hundred);
    assert_string_equal(b.errors[0], expected);
    free(expected);
    obj_batch_destroy(&b);
    free(text);

    text = xasprintf("a: !!int %s\n", big);
    parse_text("t.yaml", text, &b);
    assert_int_equal(b.n_errors, 1);
    assert_true(strlen(b.errors[0]) < 300);
    obj_batch_destroy(&b);
    free(text);

    free(hundred);
    free(big);

    /* Escapes, and a cut that would split a character. */
    char *q = np_quote("a\"b\\c\n\x01\x7f\xc3\xa9\xff", 11);
    assert_string_equal(q, "\"a\\\"b\\\\c\\n\\u0001\x7f\xc3\xa9\\xFF\"");
    free(q);
    char s[NP_QUOTE_MAX + 10];
    memset(s, 'x', sizeof s);
    memcpy(s + NP_QUOTE_MAX - 1, "\xe2\x82\xac", 3);   /* U+20AC. */
    q = np_quote(s, sizeof s);
    assert_int_equal(strlen(q), 1 + NP_QUOTE_MAX - 1 + 1
                     + strlen("\xe2\x80\xa6 (110 bytes)"));
    assert_non_null(strstr(q, "xx\"\xe2\x80\xa6 (110 bytes)"));
    free(q);
    memset(s, 'x', sizeof s);
    q = np_quote(s, NP_QUOTE_MAX);
    assert_int_equal(strlen(q), NP_QUOTE_MAX + 2);
    free(q);
}

/* yaml-json: scalar typing as go-yaml v2 (and so kubectl) does it. */
static void
assert_yaml(const char *yaml, const char *json)
{
    char *error = NULL;
    json_t *doc = yaml_json_load_one(yaml, strlen(yaml), &error);
    if (!doc) {
        print_error("%s: %s\n", yaml, error);
        fail();
    }
    char *s = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS
                         | JSON_ENCODE_ANY);
    if (strcmp(s, json)) {
        print_error("%s\nexpected %s\n     got %s\n", yaml, json, s);
        fail();
    }
    free(s);
    json_decref(doc);
}

static void
test_yaml_scalars(void **state)
{
    assert_yaml("[1, -5, +7, 0x1F, 0o17, 017, 1_000, 0b101, -0b11]",
                "[1,-5,7,31,15,15,1000,5,-3]");
    /* Integral floats become integers as Go's encoding/json writes them
     * (kubectl sends 'port: 80.0' as 80), up to 1e21. */
    assert_yaml("[1.5, .5, 1e3, -2.5e-1, 08, 80.0, -0.0, 1e20, 1e21]",
                "[1.5,0.5,1000,-0.25,8,80,0,1e20,1e21]");
    assert_yaml("[true, True, yes, Yes, ON, y, false, no, Off, n]",
                "[true,true,true,true,true,true,false,false,false,false]");
    assert_yaml("[~, null, Null, NULL, '', \"\"]",
                "[null,null,null,null,\"\",\"\"]");
    assert_yaml("a:\nb: ~\n", "{\"a\":null,\"b\":null}");
    assert_yaml("['1', \"true\", !!str 5, !!str yes, !local 12]",
                "[\"1\",\"true\",\"5\",\"yes\",\"12\"]");
    assert_yaml("a: |\n  x\nb: >-\n  y\n  z\n",
                "{\"a\":\"x\\n\",\"b\":\"y z\"}");
    /* YAML 1.1 booleans as keys too, as in go-yaml v2. */
    assert_yaml("{y: 1, n: 2}", "{\"false\":2,\"true\":1}");
    assert_yaml("[2024-01-01, 1.2.3, 10.0.0.0/8, 0x, abc, 1e, TRUE1]",
                "[\"2024-01-01\",\"1.2.3\",\"10.0.0.0/8\",\"0x\",\"abc\","
                "\"1e\",\"TRUE1\"]");
    assert_yaml("[9223372036854775807, -9223372036854775808]",
                "[9223372036854775807,-9223372036854775808]");
    assert_yaml("[!!float 5, !!float 5.5, !!int '7', !!bool 'off', "
                "!!null '']",
                "[5,5.5,7,false,null]");
    /* Keys that are not strings become strings, as sigs.k8s.io/yaml writes
     * them: floats with Go's FormatFloat(f, 'g', -1, 32), the same through
     * an alias. */
    assert_yaml("{1: a, true: b, 1.5: d, 1e3: e, 1e6: f, 0.1: g, "
                "1.0000001: h, 123456.7: i, 0.0001: j, 0.00001: k, -0.0: l, "
                ".inf: m, -.Inf: nn, .NaN: o, !!float 2: p}",
                "{\"-.inf\":\"nn\",\"-0\":\"l\",\".inf\":\"m\",\".nan\":\"o\","
                "\"0.0001\":\"j\",\"0.1\":\"g\",\"1\":\"a\",\"1.0000001\":\"h\","
                "\"1.5\":\"d\",\"1000\":\"e\",\"123456.7\":\"i\",\"1e+06\":\"f\","
                "\"1e-05\":\"k\",\"2\":\"p\",\"true\":\"b\"}");
    assert_yaml("a: &f 2.5\n*f : b\nc: &g 1e7\n*g : d\n",
                "{\"1e+07\":\"d\",\"2.5\":\"b\",\"a\":2.5,\"c\":10000000}");

    /* A null key is an error there too. */
    char *error;
    json_t *doc = yaml_json_load_one("{null: a}", 9, &error);
    assert_null(doc);
    assert_string_equal(error, "line 1 column 2: a mapping key may not be "
                        "null");
    free(error);
}

static void
test_yaml_structure(void **state)
{
    /* Anchors, aliases and merge keys. */
    assert_yaml("base: &b {x: 1, w: 2}\n"
                "copy: *b\n"
                "merged:\n  <<: *b\n  w: 3\n"
                "list: &l [a, *b]\n"
                "more: {<<: [{p: 1}, {p: 2, q: 2}], q: 0}\n",
                "{\"base\":{\"w\":2,\"x\":1},\"copy\":{\"w\":2,\"x\":1},"
                "\"list\":[\"a\",{\"w\":2,\"x\":1}],"
                "\"merged\":{\"w\":3,\"x\":1},"
                "\"more\":{\"p\":1,\"q\":0}}");
    assert_yaml("{\"json\": [1, {\"a\": null}]}",
                "{\"json\":[1,{\"a\":null}]}");

    char *error;
    json_t *doc = yaml_json_load_one("", 0, &error);
    assert_null(doc);
    assert_string_equal(error, "no YAML document");
    free(error);

    doc = yaml_json_load_one("a: [1\n", 6, &error);
    assert_null(doc);
    assert_string_equal(error, "line 2 column 1: did not find expected ',' "
                        "or ']' (while parsing a flow sequence at line 1 "
                        "column 4)");
    free(error);

    doc = yaml_json_load_one("a: 1\nb: *x\n", 10, &error);
    assert_null(doc);
    assert_string_equal(error, "line 2 column 4: unknown anchor \"x\"");
    free(error);

    doc = yaml_json_load_one("<<: 5\n", 6, &error);
    assert_null(doc);
    assert_string_equal(error, "line 1 column 5: a merge key ('<<') needs a "
                        "mapping or a sequence of mappings");
    free(error);

    /* Too deep, and "billion laughs". */
    char *deep = xmalloc(2001);
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    doc = yaml_json_load_one(deep, 2000, &error);
    assert_null(doc);
    assert_string_equal(error, "line 1 column 513: nesting deeper than 512 "
                        "levels");
    free(error);
    free(deep);

    static const char laughs[] =
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
        "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    doc = yaml_json_load_one(laughs, strlen(laughs), &error);
    assert_null(doc);
    assert_string_equal(error, "line 4 column 8: the document contains "
                        "excessive aliasing");
    free(error);

    /* Aliases nest their anchor again: depth counts through them.  *b
     * holds 302 levels; at 210 levels (the top mapping and 209 sequences)
     * it reaches 512, the limit, and one level more is too deep. */
    for (int n = 209; n <= 210; n++) {
        struct strbuf t;
        strbuf_init(&t);
        strbuf_printf(&t, "a: &a ");
        for (int i = 0; i < 300; i++) {
            strbuf_printf(&t, "[");
        }
        strbuf_printf(&t, "1");
        for (int i = 0; i < 300; i++) {
            strbuf_printf(&t, "]");
        }
        strbuf_printf(&t, "\nb: &b [[*a]]\nc: ");
        for (int i = 0; i < n; i++) {
            strbuf_printf(&t, "[");
        }
        strbuf_printf(&t, "*b");
        for (int i = 0; i < n; i++) {
            strbuf_printf(&t, "]");
        }
        strbuf_printf(&t, "\n");
        doc = yaml_json_load_one(t.s, strlen(t.s), &error);
        if (n == 209) {
            assert_non_null(doc);
            json_decref(doc);
        } else {
            assert_null(doc);
            assert_string_equal(error, "line 3 column 214: nesting deeper "
                                "than 512 levels (alias \"b\" nests 302 "
                                "levels at level 211)");
            free(error);
        }
        free(t.s);
    }

    /* What aliases expand to is bounded by the input's size (1 MiB plus
     * four times it), also where go-yaml's ratio would allow it: 10,000
     * scalars of 10 bytes, aliased 20 times (95% aliased). */
    struct strbuf t;
    strbuf_init(&t);
    strbuf_printf(&t, "a: &a [");
    for (int i = 0; i < 10000; i++) {
        strbuf_printf(&t, "%sxxxxxxxxxx", i ? "," : "");
    }
    strbuf_printf(&t, "]\nb: [");
    for (int i = 0; i < 20; i++) {
        strbuf_printf(&t, "%s*a", i ? "," : "");
    }
    strbuf_printf(&t, "]\n");
    doc = yaml_json_load_one(t.s, strlen(t.s), &error);
    assert_null(doc);
    char *expected = xasprintf("line 2 column 44: aliases expand the input by "
                               "more than %zu nodes and bytes (the limit for "
                               "an input of this size)",
                               (size_t) (1 << 20) + 4 * strlen(t.s));
    assert_string_equal(error, expected);
    free(expected);
    free(error);
    free(t.s);

    /* The bound is for the whole stream: each document below is within
     * it, all of them are not. */
    strbuf_init(&t);
    for (int d = 0; d < 20; d++) {
        strbuf_printf(&t, "---\na: &a [");
        for (int i = 0; i < 1000; i++) {
            strbuf_printf(&t, "%sxxxxxxxxxx", i ? "," : "");
        }
        strbuf_printf(&t, "]\nb: [");
        for (int i = 0; i < 20; i++) {
            strbuf_printf(&t, "%s*a", i ? "," : "");
        }
        strbuf_printf(&t, "]\n");
    }
    struct obj_batch b;
    parse_text("t.yaml", t.s, &b);
    /* Documents 1 to 8 have no kind; 9 goes over and ends the stream. */
    assert_int_equal(b.n_errors, 9);
    assert_string_equal(b.errors[7], "t.yaml: document 8: kind: is required");
    assert_non_null(strstr(b.errors[8], ": aliases expand the input by "
                           "more than "));
    obj_batch_destroy(&b);
    free(t.s);

    /* Invalid UTF-8 is a reader error, located by its offset. */
    doc = yaml_json_load_one("a: b\nc: \xff\n", 9, &error);
    assert_null(doc);
    assert_string_equal(error, "line 2 column 4: invalid leading UTF-8 "
                        "octet");
    free(error);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_example),
        cmocka_unit_test(test_json_list),
        cmocka_unit_test(test_podlist),
        cmocka_unit_test(test_json_stream),
        cmocka_unit_test(test_yaml_multi),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_peers),
        cmocka_unit_test(test_from_json),
        cmocka_unit_test(test_nodes_and_cnps),
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_api_server_accepts),
        cmocka_unit_test(test_stand_ins),
        cmocka_unit_test(test_cnp_stand_ins),
        cmocka_unit_test(test_bad_objects),
        cmocka_unit_test(test_bad_json_list),
        cmocka_unit_test(test_mixed_fixture),
        cmocka_unit_test(test_broken_yaml),
        cmocka_unit_test(test_broken_json),
        cmocka_unit_test(test_list_by_item),
        cmocka_unit_test(test_list_tricky_text),
        cmocka_unit_test(test_list_nesting),
        cmocka_unit_test(test_list_items_first),
        cmocka_unit_test(test_list_item_syntax_error),
        cmocka_unit_test(test_list_whole),
        cmocka_unit_test(test_list_depth),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_yaml_scalars),
        cmocka_unit_test(test_yaml_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
