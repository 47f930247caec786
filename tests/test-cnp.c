/* Unit tests for cnp.c: ClusterNetworkPolicy objects.  The valid objects
 * take the shapes of the upstream conformance suite's base manifests
 * (kubernetes-sigs/network-policy-api conformance/base/{admin_tier,
 * baseline_tier,api_integration}, v0.2.0), written anew; then every peer
 * kind, every protocol form, the fail-closed peers, and one case per check
 * of the CRD's schema and CEL rules with its exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <jansson.h>
#include "cnp.h"
#include "np-util.h"
#include "yaml-json.h"
/* For cnp_parse(), the entry for the objects module's readers. */
#include "../src/objects-int.h"

/* Helpers. */

static void
one_doc(void *aux, int index, json_t *doc, const char *error)
{
    json_t **out = aux;
    assert_null(error);
    assert_int_equal(index, 1);
    assert_null(*out);
    *out = doc;
}

/* The single YAML document 'text' as JSON (a new reference). */
static json_t *
yaml(const char *text)
{
    json_t *doc = NULL;
    yaml_json_load(text, strlen(text), one_doc, &doc);
    assert_non_null(doc);
    return doc;
}

/* Parses 'doc' (and drops it), expecting success. */
static struct k8s_cnp *
parse_ok(json_t *doc)
{
    char *error = NULL;
    struct k8s_cnp *cnp = cnp_from_json("t.yaml", doc, &error);
    if (error) {
        fail_msg("unexpected error: %s", error);
    }
    assert_non_null(cnp);
    json_decref(doc);
    return cnp;
}

static struct k8s_cnp *
parse_yaml_ok(const char *text)
{
    return parse_ok(yaml(text));
}

/* Parses 'doc' (and drops it), expecting the error "t.yaml: " 'expected'. */
static void
parse_error(json_t *doc, const char *expected)
{
    char *error = NULL;
    struct k8s_cnp *cnp = cnp_from_json("t.yaml", doc, &error);
    if (cnp) {
        fail_msg("accepted, but expected: %s", expected);
    }
    assert_non_null(error);
    char *full = xasprintf("t.yaml: %s", expected);
    assert_string_equal(error, full);
    free(full);
    free(error);
    json_decref(doc);
}

static void
assert_selector(const struct selector *sel, const char *expected)
{
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

static void
assert_rule(const struct cnp_rule *r, const char *name,
            enum cnp_action action, size_t n_peers, size_t n_ports)
{
    if (name) {
        assert_non_null(r->name);
        assert_string_equal(r->name, name);
    } else {
        assert_null(r->name);
    }
    assert_int_equal(r->action, action);
    assert_int_equal(r->n_peers, n_peers);
    assert_int_equal(r->n_ports, n_ports);
    assert_false(r->deny_all);
}

/* A 'namespaces' peer selecting one namespace by name. */
static void
assert_ns_peer(const struct cnp_peer *p, const char *ns)
{
    assert_int_equal(p->kind, CNP_PEER_NAMESPACES);
    char *expected = xasprintf("kubernetes.io/metadata.name=%s", ns);
    assert_selector(&p->sel.ns_selector, expected);
    free(expected);
    assert_true(selector_is_empty(&p->sel.pod_selector));
}

/* Sets the member at 'path' ("spec.ingress[0].from", keys and indices) of
 * 'root' to 'value', JSON text, or deletes it if 'value' is NULL.
 * "REPEAT:N:JSON" is an array of N copies of JSON. */
static void
set_path(json_t *root, const char *path, const char *value)
{
    json_t *v = NULL;
    if (value && !strncmp(value, "REPEAT:", 7)) {
        char *end;
        long n = strtol(value + 7, &end, 10);
        assert_true(*end == ':');
        json_t *item = json_loads(end + 1, JSON_DECODE_ANY, NULL);
        assert_non_null(item);
        v = json_array();
        for (long i = 0; i < n; i++) {
            json_array_append_new(v, json_deep_copy(item));
        }
        json_decref(item);
    } else if (value) {
        json_error_t jerr;
        v = json_loads(value, JSON_DECODE_ANY, &jerr);
        if (!v) {
            fail_msg("bad JSON %s: %s", value, jerr.text);
        }
    }

    json_t *cur = root;
    const char *p = path;
    for (;;) {
        size_t len = strcspn(p, ".[");
        char *key = xmalloc(len + 1);
        memcpy(key, p, len);
        key[len] = '\0';
        p += len;
        /* Indices after the key. */
        json_t *holder = cur;
        long index = -1;
        if (*p == '[') {
            holder = json_object_get(cur, key);
            assert_non_null(holder);
            for (;;) {
                index = strtol(p + 1, (char **) &p, 10);
                assert_true(*p == ']');
                p++;
                if (*p != '[') {
                    break;
                }
                holder = json_array_get(holder, index);
                assert_non_null(holder);
            }
        }
        if (!*p) {
            if (index < 0 && v) {
                json_object_set_new(holder, key, v);
            } else if (index < 0) {
                json_object_del(holder, key);
            } else if (v) {
                json_array_set_new(holder, index, v);
            } else {
                json_array_remove(holder, index);
            }
            free(key);
            return;
        }
        assert_true(*p == '.');
        p++;
        cur = index < 0 ? json_object_get(holder, key)
                        : json_array_get(holder, index);
        if (!cur) {
            fail_msg("%s: no %s", path, key);
        }
        free(key);
    }
}

/* The base of the validation cases: valid, with every peer kind of both
 * directions but the fail-closed ones, and every protocol form. */
static const char base_yaml[] =
    "apiVersion: policy.networking.k8s.io/v1alpha2\n"
    "kind: ClusterNetworkPolicy\n"
    "metadata:\n"
    "  name: base\n"
    "spec:\n"
    "  tier: Admin\n"
    "  priority: 10\n"
    "  subject:\n"
    "    namespaces:\n"
    "      matchLabels: {house: gryffindor}\n"
    "  ingress:\n"
    "  - name: from-ravenclaw\n"
    "    action: Accept\n"
    "    from:\n"
    "    - namespaces:\n"
    "        matchLabels: {house: ravenclaw}\n"
    "    - pods:\n"
    "        namespaceSelector: {matchLabels: {house: slytherin}}\n"
    "        podSelector: {matchLabels: {app: web}}\n"
    "    protocols:\n"
    "    - tcp: {destinationPort: {number: 80}}\n"
    "    - destinationNamedPort: dns\n"
    "  egress:\n"
    "  - name: to-outside\n"
    "    action: Deny\n"
    "    to:\n"
    "    - networks: [10.0.0.0/8, 'fd00::/8']\n"
    "    - nodes: {matchLabels: {kubernetes.io/os: linux}}\n"
    "    protocols:\n"
    "    - udp: {destinationPort: {range: {start: 5000, end: 6000}}}\n"
    "  - action: Pass\n"
    "    to:\n"
    "    - pods:\n"
    "        podSelector: {}\n";

static json_t *
base(void)
{
    return yaml(base_yaml);
}

/* Valid objects. */

static void
test_base(void **state)
{
    struct k8s_cnp *cnp = parse_ok(base());
    assert_string_equal(cnp->name, "base");
    assert_null(cnp->resource_version);
    assert_null(cnp->uid);
    assert_int_equal(cnp->tier, CNP_TIER_ADMIN);
    assert_int_equal(cnp->priority, 10);
    assert_false(cnp->subject.is_pods);
    assert_selector(&cnp->subject.sel.ns_selector, "house=gryffindor");
    assert_true(selector_is_empty(&cnp->subject.sel.pod_selector));
    assert_int_equal(cnp->n_warnings, 0);

    assert_int_equal(cnp->n_ingress, 1);
    const struct cnp_rule *r = &cnp->ingress[0];
    assert_rule(r, "from-ravenclaw", CNP_ACCEPT, 2, 4);
    assert_int_equal(r->peers[0].kind, CNP_PEER_NAMESPACES);
    assert_selector(&r->peers[0].sel.ns_selector, "house=ravenclaw");
    assert_true(selector_is_empty(&r->peers[0].sel.pod_selector));
    assert_int_equal(r->peers[1].kind, CNP_PEER_PODS);
    assert_selector(&r->peers[1].sel.ns_selector, "house=slytherin");
    assert_selector(&r->peers[1].sel.pod_selector, "app=web");
    assert_port(&r->ports[0], NP_TCP, NULL, 80, 0);
    /* A named port is one per protocol: the container port's decides. */
    assert_port(&r->ports[1], NP_TCP, "dns", 0, 0);
    assert_port(&r->ports[2], NP_UDP, "dns", 0, 0);
    assert_port(&r->ports[3], NP_SCTP, "dns", 0, 0);

    assert_int_equal(cnp->n_egress, 2);
    r = &cnp->egress[0];
    assert_rule(r, "to-outside", CNP_DENY, 2, 1);
    assert_int_equal(r->peers[0].kind, CNP_PEER_NETWORKS);
    assert_int_equal(r->peers[0].n_networks, 2);
    assert_int_equal(r->peers[0].networks[0].addr.family, AF_INET);
    assert_cidr(&r->peers[0].networks[0], "10.0.0.0/8");
    assert_int_equal(r->peers[0].networks[1].addr.family, AF_INET6);
    assert_cidr(&r->peers[0].networks[1], "fd00::/8");
    assert_int_equal(r->peers[1].kind, CNP_PEER_NODES);
    assert_selector(&r->peers[1].node_selector, "kubernetes.io/os=linux");
    assert_port(&r->ports[0], NP_UDP, NULL, 5000, 6000);

    /* No name, an empty pod selector and no namespaceSelector: every pod
     * of every namespace; no protocols: every port. */
    r = &cnp->egress[1];
    assert_rule(r, NULL, CNP_PASS, 1, 0);
    assert_int_equal(r->peers[0].kind, CNP_PEER_PODS);
    assert_true(selector_is_empty(&r->peers[0].sel.ns_selector));
    assert_true(selector_is_empty(&r->peers[0].sel.pod_selector));
    k8s_cnp_destroy(cnp);
}

/* admin_tier/standard-gress-rules-combined.yaml's shape: every action in
 * both directions, rule order kept, TCP, UDP and SCTP ports. */
static void
test_conformance_gress_rules(void **state)
{
    struct k8s_cnp *cnp = parse_yaml_ok(
        "apiVersion: policy.networking.k8s.io/v1alpha2\n"
        "kind: ClusterNetworkPolicy\n"
        "metadata:\n"
        "  name: gress-rules\n"
        "  resourceVersion: \"4711\"\n"
        "  uid: 0b3c6f3e-8d1a-4c1e-9d7e-2f0a8c1b5e42\n"
        "spec:\n"
        "  tier: Admin\n"
        "  priority: 15\n"
        "  subject:\n"
        "    namespaces:\n"
        "      matchLabels:\n"
        "        kubernetes.io/metadata.name: np-gryffindor\n"
        "  egress:\n"
        "  - name: accept-to-ravenclaw-everything\n"
        "    action: Accept\n"
        "    to:\n"
        "    - namespaces:\n"
        "        matchLabels:\n"
        "          kubernetes.io/metadata.name: np-ravenclaw\n"
        "  - name: deny-to-ravenclaw-everything\n"
        "    action: Deny\n"
        "    to:\n"
        "    - namespaces:\n"
        "        matchLabels:\n"
        "          kubernetes.io/metadata.name: np-ravenclaw\n"
        "  - name: deny-to-slytherin-at-ports-80-53-9003\n"
        "    action: Deny\n"
        "    to:\n"
        "    - namespaces:\n"
        "        matchLabels:\n"
        "          kubernetes.io/metadata.name: np-slytherin\n"
        "    protocols:\n"
        "    - tcp:\n"
        "        destinationPort:\n"
        "          number: 80\n"
        "    - udp:\n"
        "        destinationPort:\n"
        "          number: 53\n"
        "    - sctp:\n"
        "        destinationPort:\n"
        "          number: 9003\n"
        "  ingress:\n"
        "  - name: pass-from-ravenclaw-everything\n"
        "    action: Pass\n"
        "    from:\n"
        "    - namespaces:\n"
        "        matchLabels:\n"
        "          kubernetes.io/metadata.name: np-ravenclaw\n"
        "  - name: accept-from-hufflepuff-at-port-80-5353-9003\n"
        "    action: Accept\n"
        "    from:\n"
        "    - namespaces:\n"
        "        matchLabels:\n"
        "          kubernetes.io/metadata.name: np-hufflepuff\n"
        "    protocols:\n"
        "    - tcp:\n"
        "        destinationPort:\n"
        "          number: 80\n"
        "    - udp:\n"
        "        destinationPort:\n"
        "          number: 5353\n"
        "    - sctp:\n"
        "        destinationPort:\n"
        "          number: 9003\n"
        "  - name: deny-from-hufflepuff-everything-else\n"
        "    action: Deny\n"
        "    from:\n"
        "    - namespaces:\n"
        "        matchLabels:\n"
        "          kubernetes.io/metadata.name: np-hufflepuff\n");
    assert_string_equal(cnp->name, "gress-rules");
    assert_string_equal(cnp->resource_version, "4711");
    assert_string_equal(cnp->uid, "0b3c6f3e-8d1a-4c1e-9d7e-2f0a8c1b5e42");
    assert_int_equal(cnp->tier, CNP_TIER_ADMIN);
    assert_int_equal(cnp->priority, 15);
    assert_selector(&cnp->subject.sel.ns_selector,
                    "kubernetes.io/metadata.name=np-gryffindor");

    assert_int_equal(cnp->n_egress, 3);
    assert_rule(&cnp->egress[0], "accept-to-ravenclaw-everything",
                CNP_ACCEPT, 1, 0);
    assert_ns_peer(&cnp->egress[0].peers[0], "np-ravenclaw");
    assert_rule(&cnp->egress[1], "deny-to-ravenclaw-everything", CNP_DENY,
                1, 0);
    assert_rule(&cnp->egress[2], "deny-to-slytherin-at-ports-80-53-9003",
                CNP_DENY, 1, 3);
    assert_ns_peer(&cnp->egress[2].peers[0], "np-slytherin");
    assert_port(&cnp->egress[2].ports[0], NP_TCP, NULL, 80, 0);
    assert_port(&cnp->egress[2].ports[1], NP_UDP, NULL, 53, 0);
    assert_port(&cnp->egress[2].ports[2], NP_SCTP, NULL, 9003, 0);

    assert_int_equal(cnp->n_ingress, 3);
    assert_rule(&cnp->ingress[0], "pass-from-ravenclaw-everything",
                CNP_PASS, 1, 0);
    assert_rule(&cnp->ingress[1],
                "accept-from-hufflepuff-at-port-80-5353-9003", CNP_ACCEPT, 1,
                3);
    assert_ns_peer(&cnp->ingress[1].peers[0], "np-hufflepuff");
    assert_port(&cnp->ingress[1].ports[1], NP_UDP, NULL, 5353, 0);
    assert_rule(&cnp->ingress[2], "deny-from-hufflepuff-everything-else",
                CNP_DENY, 1, 0);
    k8s_cnp_destroy(cnp);
}

/* baseline_tier and api_integration's shape: the Baseline tier, with the
 * name 'default' as upstream writes it (no singleton rule any more) and a
 * 'pods' subject; priority 0 and 1000 are both valid. */
static void
test_conformance_baseline(void **state)
{
    static const char text[] =
        "apiVersion: policy.networking.k8s.io/v1alpha2\n"
        "kind: ClusterNetworkPolicy\n"
        "metadata:\n"
        "  name: default\n"
        "spec:\n"
        "  tier: Baseline\n"
        "  priority: 10\n"
        "  subject:\n"
        "    pods:\n"
        "      namespaceSelector:\n"
        "        matchLabels:\n"
        "          conformance-house: gryffindor\n"
        "      podSelector:\n"
        "        matchLabels:\n"
        "          conformance-house: gryffindor\n"
        "  ingress:\n"
        "  - name: deny-all-ingress-from-slytherin\n"
        "    action: Deny\n"
        "    from:\n"
        "    - pods:\n"
        "        namespaceSelector:\n"
        "          matchLabels:\n"
        "            conformance-house: slytherin\n"
        "        podSelector:\n"
        "          matchLabels:\n"
        "            conformance-house: slytherin\n"
        "  egress:\n"
        "  - name: allow-all-egress-to-slytherin\n"
        "    action: Accept\n"
        "    to:\n"
        "    - namespaces:\n"
        "        matchExpressions:\n"
        "        - {key: conformance-house, operator: In, "
        "values: [slytherin, hufflepuff]}\n";
    struct k8s_cnp *cnp = parse_yaml_ok(text);
    assert_string_equal(cnp->name, "default");
    assert_int_equal(cnp->tier, CNP_TIER_BASELINE);
    assert_int_equal(cnp->priority, 10);
    assert_true(cnp->subject.is_pods);
    assert_selector(&cnp->subject.sel.ns_selector,
                    "conformance-house=gryffindor");
    assert_selector(&cnp->subject.sel.pod_selector,
                    "conformance-house=gryffindor");
    assert_rule(&cnp->ingress[0], "deny-all-ingress-from-slytherin",
                CNP_DENY, 1, 0);
    assert_int_equal(cnp->ingress[0].peers[0].kind, CNP_PEER_PODS);
    assert_selector(&cnp->ingress[0].peers[0].sel.pod_selector,
                    "conformance-house=slytherin");
    assert_rule(&cnp->egress[0], "allow-all-egress-to-slytherin",
                CNP_ACCEPT, 1, 0);
    assert_selector(&cnp->egress[0].peers[0].sel.ns_selector,
                    "conformance-house in (hufflepuff,slytherin)");
    k8s_cnp_destroy(cnp);

    json_t *doc = yaml(text);
    set_path(doc, "spec.priority", "0");
    cnp = parse_ok(doc);
    assert_int_equal(cnp->priority, 0);
    k8s_cnp_destroy(cnp);
    doc = yaml(text);
    set_path(doc, "spec.priority", "1000");
    cnp = parse_ok(doc);
    assert_int_equal(cnp->priority, 1000);
    k8s_cnp_destroy(cnp);
}

/* admin_tier/standard-egress-inline-cidr-rules.yaml and
 * experimental-egress-selector-rules.yaml's shapes: networks of both
 * families (host bits cleared), nodes, pods. */
static void
test_conformance_cidr_and_nodes(void **state)
{
    struct k8s_cnp *cnp = parse_yaml_ok(
        "apiVersion: policy.networking.k8s.io/v1alpha2\n"
        "kind: ClusterNetworkPolicy\n"
        "metadata:\n"
        "  name: node-and-cidr-as-peers-example\n"
        "spec:\n"
        "  tier: Admin\n"
        "  priority: 75\n"
        "  subject:\n"
        "    pods:\n"
        "      namespaceSelector:\n"
        "        matchLabels:\n"
        "          conformance-house: gryffindor\n"
        "      podSelector:\n"
        "        matchLabels:\n"
        "          conformance-house: gryffindor\n"
        "  egress:\n"
        "  - name: allow-egress-to-36363-on-nodes\n"
        "    action: Accept\n"
        "    to:\n"
        "    - nodes:\n"
        "        matchLabels:\n"
        "          kubernetes.io/os: linux\n"
        "    protocols:\n"
        "      - tcp:\n"
        "          destinationPort:\n"
        "            number: 36363\n"
        "  - name: allow-egress-to-specific-pod-ips\n"
        "    action: Accept\n"
        "    to:\n"
        "    - networks:\n"
        "      - 10.244.1.7/32\n"
        "      - 10.244.2.9/24\n"
        "      - fd00:10:244:1::7/128\n"
        "      - 2001:db8::1/48\n"
        "  - name: deny-egress-to-slytherin-and-nodes-and-internet\n"
        "    action: Deny\n"
        "    to:\n"
        "    - pods:\n"
        "        namespaceSelector:\n"
        "          matchLabels:\n"
        "            conformance-house: slytherin\n"
        "        podSelector:\n"
        "          matchLabels:\n"
        "            conformance-house: slytherin\n"
        "    - nodes:\n"
        "        matchLabels:\n"
        "          kubernetes.io/os: linux\n"
        "    - networks:\n"
        "        - 0.0.0.0/0\n"
        "        - ::/0\n");
    assert_int_equal(cnp->n_egress, 3);
    const struct cnp_rule *r = &cnp->egress[0];
    assert_rule(r, "allow-egress-to-36363-on-nodes", CNP_ACCEPT, 1, 1);
    assert_int_equal(r->peers[0].kind, CNP_PEER_NODES);
    assert_selector(&r->peers[0].node_selector, "kubernetes.io/os=linux");
    assert_port(&r->ports[0], NP_TCP, NULL, 36363, 0);

    r = &cnp->egress[1];
    assert_rule(r, "allow-egress-to-specific-pod-ips", CNP_ACCEPT, 1, 0);
    assert_int_equal(r->peers[0].n_networks, 4);
    assert_cidr(&r->peers[0].networks[0], "10.244.1.7/32");
    assert_cidr(&r->peers[0].networks[1], "10.244.2.0/24");
    assert_cidr(&r->peers[0].networks[2], "fd00:10:244:1::7/128");
    assert_cidr(&r->peers[0].networks[3], "2001:db8::/48");

    r = &cnp->egress[2];
    assert_rule(r, "deny-egress-to-slytherin-and-nodes-and-internet",
                CNP_DENY, 3, 0);
    assert_int_equal(r->peers[0].kind, CNP_PEER_PODS);
    assert_int_equal(r->peers[1].kind, CNP_PEER_NODES);
    assert_int_equal(r->peers[2].kind, CNP_PEER_NETWORKS);
    assert_cidr(&r->peers[2].networks[0], "0.0.0.0/0");
    assert_cidr(&r->peers[2].networks[1], "::/0");
    assert_int_equal(cnp->n_ingress, 0);
    k8s_cnp_destroy(cnp);
}

/* The named-port tests' shapes: destinationNamedPort with pods and
 * namespaces peers, both directions; a nodes peer with an empty selector
 * (every Node). */
static void
test_named_ports(void **state)
{
    struct k8s_cnp *cnp = parse_yaml_ok(
        "kind: ClusterNetworkPolicy\n"
        "apiVersion: policy.networking.k8s.io/v1alpha2\n"
        "metadata: {name: named-ports}\n"
        "spec:\n"
        "  tier: Admin\n"
        "  priority: 3\n"
        "  subject: {namespaces: {}}\n"
        "  ingress:\n"
        "  - action: Deny\n"
        "    from: [{namespaces: {}}]\n"
        "    protocols: [{destinationNamedPort: dns}]\n"
        "  egress:\n"
        "  - action: Accept\n"
        "    to: [{pods: {podSelector: {}}}]\n"
        "    protocols:\n"
        "    - destinationNamedPort: web\n"
        "    - sctp: {destinationPort: {range: {start: 9003, end: 9005}}}\n"
        "  - action: Deny\n"
        "    to: [{nodes: {}}]\n");
    assert_true(selector_is_empty(&cnp->subject.sel.ns_selector));
    const struct cnp_rule *r = &cnp->ingress[0];
    assert_rule(r, NULL, CNP_DENY, 1, 3);
    assert_port(&r->ports[0], NP_TCP, "dns", 0, 0);
    assert_port(&r->ports[1], NP_UDP, "dns", 0, 0);
    assert_port(&r->ports[2], NP_SCTP, "dns", 0, 0);
    r = &cnp->egress[0];
    assert_rule(r, NULL, CNP_ACCEPT, 1, 4);
    assert_port(&r->ports[0], NP_TCP, "web", 0, 0);
    assert_port(&r->ports[1], NP_UDP, "web", 0, 0);
    assert_port(&r->ports[2], NP_SCTP, "web", 0, 0);
    assert_port(&r->ports[3], NP_SCTP, NULL, 9003, 9005);
    r = &cnp->egress[1];
    assert_int_equal(r->peers[0].kind, CNP_PEER_NODES);
    assert_true(selector_is_empty(&r->peers[0].node_selector));
    k8s_cnp_destroy(cnp);
}

/* Fail closed. */

/* A peer of a newer API: kept, matching nothing in an Accept rule, making
 * a Deny or Pass rule deny all; a warning says so. */
static void
test_unknown_peer(void **state)
{
    static const char *const actions[] = { "Accept", "Deny", "Pass" };
    for (size_t i = 0; i < 3; i++) {
        json_t *doc = base();
        char *v = xasprintf("\"%s\"", actions[i]);
        set_path(doc, "spec.ingress[0].action", v);
        free(v);
        set_path(doc, "spec.ingress[0].from[0]",
                 "{\"serviceAccounts\": {\"name\": \"x\"}, \"null\": null}");
        set_path(doc, "spec.egress[1].action", v = xasprintf("\"%s\"",
                                                             actions[i]));
        free(v);
        set_path(doc, "spec.egress[1].to[0]",
                 "{\"all\": true, \"serviceAccounts\": {}}");
        struct k8s_cnp *cnp = parse_ok(doc);

        const struct cnp_rule *r = &cnp->ingress[0];
        assert_int_equal(r->action, i);
        assert_int_equal(r->n_peers, 2);
        assert_int_equal(r->peers[0].kind, CNP_PEER_UNKNOWN);
        assert_string_equal(r->peers[0].unknown_fields,
                            "\"serviceAccounts\"");
        assert_int_equal(r->peers[1].kind, CNP_PEER_PODS);
        assert_int_equal(r->deny_all, i != 0);
        /* The rest of the rule is as written. */
        assert_int_equal(r->n_ports, 4);

        r = &cnp->egress[1];
        assert_int_equal(r->peers[0].kind, CNP_PEER_UNKNOWN);
        assert_string_equal(r->peers[0].unknown_fields,
                            "\"all\", \"serviceAccounts\"");
        assert_int_equal(r->deny_all, i != 0);
        /* Other rules are not affected. */
        assert_false(cnp->egress[0].deny_all);

        assert_int_equal(cnp->n_warnings, 2);
        if (i == 0) {
            assert_string_equal(
                cnp->warnings[0], "t.yaml: ClusterNetworkPolicy base: "
                "spec.ingress[0].from[0]: sets no peer field that this "
                "version knows (it sets \"serviceAccounts\"): this peer "
                "matches nothing (fail closed)");
        } else {
            char *expected = xasprintf(
                "t.yaml: ClusterNetworkPolicy base: spec.egress[1].to[0]: "
                "sets no peer field that this version knows (it sets "
                "\"all\", \"serviceAccounts\"): this %s rule denies all "
                "egress traffic of the policy's subject instead (fail "
                "closed)", actions[i]);
            assert_string_equal(cnp->warnings[1], expected);
            free(expected);
        }
        k8s_cnp_destroy(cnp);
    }

    /* Known in egress only: for an ingress peer, a newer API's. */
    json_t *doc = base();
    set_path(doc, "spec.ingress[0].from[0]",
             "{\"networks\": [\"10.0.0.0/8\"]}");
    struct k8s_cnp *cnp = parse_ok(doc);
    assert_int_equal(cnp->ingress[0].peers[0].kind, CNP_PEER_UNKNOWN);
    assert_string_equal(cnp->ingress[0].peers[0].unknown_fields,
                        "\"networks\"");
    k8s_cnp_destroy(cnp);

    /* At most three members are named. */
    doc = base();
    set_path(doc, "spec.egress[1].to[0]",
             "{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4, \"e\": 5}");
    cnp = parse_ok(doc);
    assert_string_equal(cnp->egress[1].peers[0].unknown_fields,
                        "\"a\", \"b\", \"c\", ...");
    k8s_cnp_destroy(cnp);
}

/* domainNames (experimental): validated as the CRD says, then fails closed
 * as an unknown peer does. */
static void
test_domain_names(void **state)
{
    json_t *doc = base();
    set_path(doc, "spec.egress[0].action", "\"Accept\"");
    set_path(doc, "spec.egress[0].to[1]",
             "{\"domainNames\": [\"kubernetes.io\", \"*.kubernetes.io\", "
             "\"www.example.com.\"]}");
    struct k8s_cnp *cnp = parse_ok(doc);
    const struct cnp_rule *r = &cnp->egress[0];
    assert_int_equal(r->peers[1].kind, CNP_PEER_DOMAIN_NAMES);
    assert_int_equal(r->peers[1].n_domain_names, 3);
    assert_string_equal(r->peers[1].domain_names[1], "*.kubernetes.io");
    assert_false(r->deny_all);
    assert_int_equal(cnp->n_warnings, 1);
    assert_string_equal(cnp->warnings[0],
                        "t.yaml: ClusterNetworkPolicy base: "
                        "spec.egress[0].to[1].domainNames: domain name peers "
                        "are not supported: this peer matches nothing (fail "
                        "closed)");
    k8s_cnp_destroy(cnp);

    doc = base();
    set_path(doc, "spec.egress[0].to[1]",
             "{\"domainNames\": [\"example.com\"]}");
    cnp = parse_ok(doc);
    assert_true(cnp->egress[0].deny_all);
    assert_string_equal(cnp->warnings[0],
                        "t.yaml: ClusterNetworkPolicy base: "
                        "spec.egress[0].to[1].domainNames: domain name peers "
                        "are not supported: this Deny rule denies all egress "
                        "traffic of the policy's subject instead (fail "
                        "closed)");
    k8s_cnp_destroy(cnp);

    /* The CRD's pattern, as written ("A-z" also takes "[\]^_`" first). */
    static const char *const valid[] = {
        "a.b", "kubernetes.io", "*.kubernetes.io", "blog.kubernetes.io.",
        "x-1.y_2.z", "_srv.example.com", "a.b.c.d.e.f", "1.2.3.4",
        "[w.example", "`x.example",
    };
    static const char *const invalid[] = {
        "kubernetes", "*.io", "*kubernetes.io", "a..b", ".a.b", "a.b..",
        "-a.b", "a-.b", "a.b-", "a_.b", "*.*.a.b", "a.*.b", "a b.c",
        "\xc3\xa9t\xc3\xa9.fr", "", "*.", "a.b/c",
    };
    for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
        doc = base();
        char *v = xasprintf("[\"%s\"]", valid[i]);
        set_path(doc, "spec.egress[0].to[1].domainNames", v);
        set_path(doc, "spec.egress[0].to[1].nodes", NULL);
        free(v);
        cnp = parse_ok(doc);
        assert_string_equal(cnp->egress[0].peers[1].domain_names[0],
                            valid[i]);
        k8s_cnp_destroy(cnp);
    }
    for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
        doc = base();
        json_t *names = json_pack("[s]", invalid[i]);
        json_object_set_new(json_array_get(json_object_get(
            json_array_get(json_object_get(json_object_get(doc, "spec"),
                                           "egress"), 0), "to"), 1),
            "domainNames", names);
        set_path(doc, "spec.egress[0].to[1].nodes", NULL);
        char *q = np_quote(invalid[i], strlen(invalid[i]));
        char *expected = xasprintf(
            "ClusterNetworkPolicy base: spec.egress[0].to[1].domainNames[0]: "
            "%s is not a valid domain name (labels of letters, digits, '-' "
            "and '_', at least two, the first may be \"*\")", q);
        parse_error(doc, expected);
        free(expected);
        free(q);
    }
}

/* networks: isCIDR() as the API server's CEL library has it. */
static void
test_networks(void **state)
{
    static const struct {
        const char *in, *out;
    } valid[] = {
        { "10.0.0.0/8", "10.0.0.0/8" },
        { "10.1.2.3/8", "10.0.0.0/8" },     /* Host bits allowed. */
        { "192.168.1.1/32", "192.168.1.1/32" },
        { "0.0.0.0/0", "0.0.0.0/0" },
        { "::/0", "::/0" },
        { "FD00::1/8", "fd00::/8" },
        { "::1.2.3.4/128", "::1.2.3.4/128" },
        { "2001:db8::/32", "2001:db8::/32" },
        /* 43 characters, the CRD's maxLength. */
        { "0000:0000:0000:0000:0000:0000:0000:0001/128", "::1/128" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
        json_t *doc = base();
        char *v = xasprintf("[\"%s\"]", valid[i].in);
        set_path(doc, "spec.egress[0].to[0].networks", v);
        free(v);
        struct k8s_cnp *cnp = parse_ok(doc);
        assert_cidr(&cnp->egress[0].peers[0].networks[0], valid[i].out);
        k8s_cnp_destroy(cnp);
    }

    static const struct {
        const char *in, *reason;
    } invalid[] = {
        { "10.0.0.0", "is not a CIDR (no prefix length)" },
        { "10.0.0/8", "is not a valid CIDR (bad address)" },
        { "010.0.0.0/8", "is not a valid CIDR (bad address)" },
        { "10.0.0.256/8", "is not a valid CIDR (bad address)" },
        { "fe80::1%eth0/64", "is not a valid CIDR (bad address)" },
        { " 10.0.0.0/8", "is not a valid CIDR (bad address)" },
        { "10.0.0.0/8/8", "is not a valid CIDR (bad address)" },
        { "/8", "is not a valid CIDR (bad address)" },
        { "10.0.0.0/", "is not a valid CIDR (bad prefix length)" },
        { "10.0.0.0/08", "is not a valid CIDR (bad prefix length)" },
        { "10.0.0.0/+8", "is not a valid CIDR (bad prefix length)" },
        { "10.0.0.0/8 ", "is not a valid CIDR (bad prefix length)" },
        { "10.0.0.0/0008", "is not a valid CIDR (bad prefix length)" },
        { "10.0.0.0/33", "is not a valid CIDR (prefix length above 32)" },
        { "fd00::/129", "is not a valid CIDR (prefix length above 128)" },
        { "::ffff:10.0.0.0/104",
          "is not a valid CIDR (an IPv4-mapped IPv6 address)" },
        { "::ffff:a00:0/120",
          "is not a valid CIDR (an IPv4-mapped IPv6 address)" },
        /* 44 characters. */
        { "0000:0000:0000:0000:0000:0000:0000:0001/0128",
          "is longer than 43 characters" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
        json_t *doc = base();
        char *v = xasprintf("[\"10.0.0.0/8\", \"%s\"]", invalid[i].in);
        set_path(doc, "spec.egress[0].to[0].networks", v);
        free(v);
        char *expected = xasprintf(
            "ClusterNetworkPolicy base: spec.egress[0].to[0].networks[1]: "
            "\"%s\" %s", invalid[i].in, invalid[i].reason);
        parse_error(doc, expected);
        free(expected);
    }
}

/* JSON null is an absent member, unknown members are ignored (pruned),
 * metadata.namespace is ignored (cluster-scoped), and kind and apiVersion
 * may be absent. */
static void
test_api_server_leniency(void **state)
{
    json_t *doc = base();
    set_path(doc, "kind", NULL);
    set_path(doc, "apiVersion", NULL);
    set_path(doc, "metadata.namespace", "\"kube-system\"");
    set_path(doc, "status", "{\"conditions\": []}");
    set_path(doc, "spec.future", "{\"x\": 1}");
    set_path(doc, "spec.subject.pods", "null");
    set_path(doc, "spec.ingress[0].from[0].pods", "null");
    set_path(doc, "spec.ingress[0].from[0].serviceAccounts", "{}");
    set_path(doc, "spec.ingress[0].protocols[0].udp", "null");
    set_path(doc, "spec.ingress[0].protocols[0].icmp", "{}");
    set_path(doc, "spec.ingress[0].protocols[0].tcp.destinationPort.x",
             "\"y\"");
    set_path(doc, "spec.ingress[0].name", "\"\"");
    set_path(doc, "spec.egress[0].protocols", "null");
    set_path(doc, "spec.egress[1].comment", "\"hi\"");
    struct k8s_cnp *cnp = parse_ok(doc);
    assert_string_equal(cnp->name, "base");
    assert_false(cnp->subject.is_pods);
    assert_int_equal(cnp->ingress[0].peers[0].kind, CNP_PEER_NAMESPACES);
    assert_null(cnp->ingress[0].name);
    assert_port(&cnp->ingress[0].ports[0], NP_TCP, NULL, 80, 0);
    assert_int_equal(cnp->egress[0].n_ports, 0);
    assert_int_equal(cnp->n_warnings, 0);
    k8s_cnp_destroy(cnp);

    /* Absent, null and empty rule lists: no rules, no effect. */
    doc = base();
    set_path(doc, "spec.ingress", "[]");
    set_path(doc, "spec.egress", "null");
    cnp = parse_ok(doc);
    assert_int_equal(cnp->n_ingress, 0);
    assert_int_equal(cnp->n_egress, 0);
    k8s_cnp_destroy(cnp);

    /* 25 rules of 25 peers and 25 protocols, 25 networks; a name of 100
     * characters (each two bytes). */
    doc = base();
    set_path(doc, "spec.ingress[0].from",
             "REPEAT:25:{\"namespaces\": {}}");
    set_path(doc, "spec.ingress[0].protocols",
             "REPEAT:25:{\"tcp\": {\"destinationPort\": {\"number\": 1}}}");
    char *name = xmalloc(201);
    for (int i = 0; i < 100; i++) {
        memcpy(name + 2 * i, "\xc3\xa9", 2);
    }
    name[200] = '\0';
    json_object_set_new(json_array_get(json_object_get(
        json_object_get(doc, "spec"), "ingress"), 0), "name",
        json_string(name));
    json_t *rule = json_deep_copy(json_array_get(json_object_get(
        json_object_get(doc, "spec"), "ingress"), 0));
    json_t *rules = json_array();
    for (int i = 0; i < 25; i++) {
        json_array_append(rules, rule);
    }
    json_decref(rule);
    json_object_set_new(json_object_get(doc, "spec"), "ingress", rules);
    json_t *nets = json_array();
    for (int i = 0; i < 25; i++) {
        char *s = xasprintf("10.%d.0.0/16", i);
        json_array_append_new(nets, json_string(s));
        free(s);
    }
    json_object_set_new(json_array_get(json_object_get(json_array_get(
        json_object_get(json_object_get(doc, "spec"), "egress"), 0), "to"),
        0), "networks", nets);
    cnp = parse_ok(doc);
    assert_int_equal(cnp->n_ingress, 25);
    assert_int_equal(cnp->ingress[24].n_peers, 25);
    assert_int_equal(cnp->ingress[24].n_ports, 25);
    assert_string_equal(cnp->ingress[24].name, name);
    assert_int_equal(cnp->egress[0].peers[0].n_networks, 25);
    k8s_cnp_destroy(cnp);
    free(name);
}

/* Invalid objects: one case per check, on the base object. */

struct bad_case {
    const char *path;           /* What to change... */
    const char *value;          /* ...to what (JSON), or NULL: delete. */
    /* After "t.yaml: ClusterNetworkPolicy base: ". */
    const char *error;
};

static const struct bad_case bad_cases[] = {
    /* spec, tier, priority. */
    { "spec", NULL, "spec: is required" },
    { "spec", "[]", "spec: must be an object, not an array" },
    { "spec.tier", NULL, "spec.tier: is required" },
    { "spec.tier", "\"admin\"",
      "spec.tier: \"admin\" is not a valid tier (must be Admin or "
      "Baseline)" },
    { "spec.tier", "\"\"",
      "spec.tier: \"\" is not a valid tier (must be Admin or Baseline)" },
    { "spec.tier", "1", "spec.tier: must be a string, not integer 1" },
    { "spec.priority", NULL, "spec.priority: is required" },
    { "spec.priority", "-1",
      "spec.priority: -1 is not a valid priority (must be between 0 and "
      "1000)" },
    { "spec.priority", "1001",
      "spec.priority: 1001 is not a valid priority (must be between 0 and "
      "1000)" },
    { "spec.priority", "4294967306",
      "spec.priority: 4294967306 is not a valid priority (must be between 0 "
      "and 1000)" },
    { "spec.priority", "\"5\"",
      "spec.priority: must be an integer, not string \"5\"" },
    { "spec.priority", "5.5",
      "spec.priority: must be an integer, not number 5.5" },

    /* subject: exactly one of namespaces or pods. */
    { "spec.subject", NULL, "spec.subject: is required" },
    { "spec.subject", "{}",
      "spec.subject: must set one of namespaces or pods" },
    { "spec.subject", "{\"serviceAccounts\": {}, \"pods\": null}",
      "spec.subject: must set one of namespaces or pods" },
    { "spec.subject.pods", "{\"podSelector\": {}}",
      "spec.subject: may set only one of namespaces or pods (sets "
      "namespaces and pods)" },
    { "spec.subject.namespaces", "[]",
      "spec.subject.namespaces: must be an object, not an array" },
    { "spec.subject", "{\"pods\": {\"namespaceSelector\": {}}}",
      "spec.subject.pods.podSelector: is required" },
    { "spec.subject", "{\"pods\": {\"podSelector\": {}, "
      "\"namespaceSelector\": 7}}",
      "spec.subject.pods.namespaceSelector: must be an object, not integer "
      "7" },
    { "spec.subject.namespaces", "{\"matchLabels\": {\"a\": 1}}",
      "spec.subject.namespaces.matchLabels[a]: must be a string, not "
      "integer 1" },
    { "spec.subject", "{\"pods\": {\"podSelector\": {\"matchExpressions\": "
      "[{\"key\": \"app\", \"operator\": \"Is\"}]}}}",
      "spec.subject.pods.podSelector.matchExpressions[0].operator: \"Is\" is "
      "not a valid selector operator (must be In, NotIn, Exists or "
      "DoesNotExist)" },

    /* Rule lists and rules. */
    { "spec.ingress", "{}", "spec.ingress: must be an array, not an object" },
    { "spec.ingress",
      "REPEAT:26:{\"action\": \"Deny\", \"from\": [{\"namespaces\": {}}]}",
      "spec.ingress: may hold at most 25 rules, not 26" },
    { "spec.egress",
      "REPEAT:26:{\"action\": \"Deny\", \"to\": [{\"namespaces\": {}}]}",
      "spec.egress: may hold at most 25 rules, not 26" },
    { "spec.ingress[0]", "null",
      "spec.ingress[0]: must be an object, not null" },
    { "spec.egress[1]", "\"x\"",
      "spec.egress[1]: must be an object, not string \"x\"" },
    { "spec.ingress[0].name", "5",
      "spec.ingress[0].name: must be a string, not integer 5" },
    { "spec.ingress[0].name",
      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
      "spec.ingress[0].name: may be at most 100 characters, not 101" },
    { "spec.ingress[0].action", NULL, "spec.ingress[0].action: is required" },
    { "spec.egress[1].action", "\"Allow\"",
      "spec.egress[1].action: \"Allow\" is not a valid action (must be "
      "Accept, Deny or Pass)" },
    { "spec.ingress[0].action", "\"deny\"",
      "spec.ingress[0].action: \"deny\" is not a valid action (must be "
      "Accept, Deny or Pass)" },

    /* from/to: 1 to 25 peers, each exactly one kind. */
    { "spec.ingress[0].from", NULL, "spec.ingress[0].from: is required" },
    { "spec.egress[0].to", NULL, "spec.egress[0].to: is required" },
    { "spec.ingress[0].from", "[]",
      "spec.ingress[0].from: must hold at least 1 peer" },
    { "spec.egress[1].to", "[]",
      "spec.egress[1].to: must hold at least 1 peer" },
    { "spec.ingress[0].from", "REPEAT:26:{\"namespaces\": {}}",
      "spec.ingress[0].from: may hold at most 25 peers, not 26" },
    { "spec.egress[0].to", "REPEAT:26:{\"namespaces\": {}}",
      "spec.egress[0].to: may hold at most 25 peers, not 26" },
    { "spec.ingress[0].from[0]", "{}",
      "spec.ingress[0].from[0]: must set one of namespaces or pods" },
    { "spec.ingress[0].from[0]", "{\"pods\": null}",
      "spec.ingress[0].from[0]: must set one of namespaces or pods" },
    { "spec.ingress[0].from[0]", "null",
      "spec.ingress[0].from[0]: must be an object, not null" },
    { "spec.egress[0].to[1]", "{}",
      "spec.egress[0].to[1]: must set one of namespaces, pods, networks, "
      "nodes or domainNames" },
    { "spec.ingress[0].from[0].pods", "{\"podSelector\": {}}",
      "spec.ingress[0].from[0]: may set only one of namespaces or pods "
      "(sets namespaces and pods)" },
    { "spec.egress[0].to[0].nodes", "{}",
      "spec.egress[0].to[0]: may set only one of namespaces, pods, "
      "networks, nodes or domainNames (sets networks and nodes)" },
    { "spec.egress[0].to[1].domainNames", "[\"a.b\"]",
      "spec.egress[0].to[1]: may set only one of namespaces, pods, "
      "networks, nodes or domainNames (sets nodes and domainNames)" },
    { "spec.ingress[0].from[1].pods.podSelector", NULL,
      "spec.ingress[0].from[1].pods.podSelector: is required" },
    { "spec.egress[1].to[0].pods", "{}",
      "spec.egress[1].to[0].pods.podSelector: is required" },
    { "spec.ingress[0].from[1].pods.podSelector.matchLabels",
      "{\"bad key!\": \"x\"}",
      "spec.ingress[0].from[1].pods.podSelector.matchLabels: \"bad key!\" is "
      "not a valid label key: name part must consist of alphanumeric "
      "characters, '-', '_' or '.', and must start and end with an "
      "alphanumeric character" },
    { "spec.ingress[0].from[1].pods.namespaceSelector.matchLabels.house",
      "\"-x\"",
      "spec.ingress[0].from[1].pods.namespaceSelector.matchLabels[house]: "
      "\"-x\" is not a valid label value: a valid label must be an empty "
      "string or consist of alphanumeric characters, '-', '_' or '.', and "
      "must start and end with an alphanumeric character" },
    { "spec.ingress[0].from[0].namespaces",
      "{\"matchExpressions\": [{\"operator\": \"Exists\"}]}",
      "spec.ingress[0].from[0].namespaces.matchExpressions[0].key: is "
      "required" },
    { "spec.egress[0].to[1].nodes",
      "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\"}]}",
      "spec.egress[0].to[1].nodes.matchExpressions[0].values: must be "
      "non-empty when operator is In" },
    { "spec.egress[0].to[1].nodes",
      "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"Exists\", "
      "\"values\": [\"x\"]}]}",
      "spec.egress[0].to[1].nodes.matchExpressions[0].values: must be empty "
      "when operator is Exists" },

    /* networks. */
    { "spec.egress[0].to[0].networks", "[]",
      "spec.egress[0].to[0].networks: must hold at least 1 CIDR" },
    { "spec.egress[0].to[0].networks", "\"10.0.0.0/8\"",
      "spec.egress[0].to[0].networks: must be an array, not string "
      "\"10.0.0.0/8\"" },
    { "spec.egress[0].to[0].networks", "REPEAT:26:\"10.0.0.0/8\"",
      "spec.egress[0].to[0].networks: may hold at most 25 CIDRs, not 26" },
    { "spec.egress[0].to[0].networks", "[\"10.0.0.0/8\", 10]",
      "spec.egress[0].to[0].networks[1]: must be a string, not integer 10" },
    { "spec.egress[0].to[0].networks",
      "[\"10.0.0.0/8\", \"fd00::/8\", \"10.0.0.0/8\"]",
      "spec.egress[0].to[0].networks[2]: duplicate value \"10.0.0.0/8\"" },
    { "spec.egress[0].to[0].networks", "[\"10.0.0.0/33\"]",
      "spec.egress[0].to[0].networks[0]: \"10.0.0.0/33\" is not a valid CIDR "
      "(prefix length above 32)" },

    /* domainNames. */
    { "spec.egress[0].to[1]", "{\"domainNames\": []}",
      "spec.egress[0].to[1].domainNames: must hold at least 1 domain name" },
    { "spec.egress[0].to[1]", "{\"domainNames\": \"a.b\"}",
      "spec.egress[0].to[1].domainNames: must be an array, not string "
      "\"a.b\"" },
    { "spec.egress[0].to[1]", "{\"domainNames\": [\"a.b\", \"c.d\", \"a.b\"]}",
      "spec.egress[0].to[1].domainNames[2]: duplicate value \"a.b\"" },

    /* protocols: 1 to 25, each exactly one of four. */
    { "spec.ingress[0].protocols", "[]",
      "spec.ingress[0].protocols: must hold at least 1 protocol" },
    { "spec.egress[0].protocols",
      "REPEAT:26:{\"tcp\": {\"destinationPort\": {\"number\": 1}}}",
      "spec.egress[0].protocols: may hold at most 25 protocols, not 26" },
    { "spec.ingress[0].protocols[0]", "{}",
      "spec.ingress[0].protocols[0]: must set one of tcp, udp, sctp or "
      "destinationNamedPort" },
    { "spec.ingress[0].protocols[0]", "{\"icmp\": {}}",
      "spec.ingress[0].protocols[0]: must set one of tcp, udp, sctp or "
      "destinationNamedPort" },
    { "spec.ingress[0].protocols[1]", "null",
      "spec.ingress[0].protocols[1]: must be an object, not null" },
    { "spec.ingress[0].protocols[0].udp",
      "{\"destinationPort\": {\"number\": 53}}",
      "spec.ingress[0].protocols[0]: may set only one of tcp, udp, sctp or "
      "destinationNamedPort (sets tcp and udp)" },
    { "spec.ingress[0].protocols[1].sctp",
      "{\"destinationPort\": {\"number\": 53}}",
      "spec.ingress[0].protocols[1]: may set only one of tcp, udp, sctp or "
      "destinationNamedPort (sets sctp and destinationNamedPort)" },
    { "spec.ingress[0].protocols[0].tcp", "{}",
      "spec.ingress[0].protocols[0].tcp.destinationPort: is required" },
    { "spec.ingress[0].protocols[0].tcp", "80",
      "spec.ingress[0].protocols[0].tcp: must be an object, not integer 80" },
    { "spec.ingress[0].protocols[0].tcp.destinationPort", "{}",
      "spec.ingress[0].protocols[0].tcp.destinationPort: must set one of "
      "number or range" },
    { "spec.ingress[0].protocols[0].tcp.destinationPort.range",
      "{\"start\": 1, \"end\": 2}",
      "spec.ingress[0].protocols[0].tcp.destinationPort: may set only one of "
      "number or range (sets number and range)" },
    { "spec.ingress[0].protocols[0].tcp.destinationPort.number", "0",
      "spec.ingress[0].protocols[0].tcp.destinationPort.number: 0 is not a "
      "valid port number (must be between 1 and 65535)" },
    { "spec.ingress[0].protocols[0].tcp.destinationPort.number", "65536",
      "spec.ingress[0].protocols[0].tcp.destinationPort.number: 65536 is not "
      "a valid port number (must be between 1 and 65535)" },
    { "spec.ingress[0].protocols[0].tcp.destinationPort.number", "\"80\"",
      "spec.ingress[0].protocols[0].tcp.destinationPort.number: must be an "
      "integer, not string \"80\"" },
    { "spec.egress[0].protocols[0].udp.destinationPort.range.start", NULL,
      "spec.egress[0].protocols[0].udp.destinationPort.range.start: is "
      "required" },
    { "spec.egress[0].protocols[0].udp.destinationPort.range.end", NULL,
      "spec.egress[0].protocols[0].udp.destinationPort.range.end: is "
      "required" },
    { "spec.egress[0].protocols[0].udp.destinationPort.range.start", "0",
      "spec.egress[0].protocols[0].udp.destinationPort.range.start: 0 is not "
      "a valid port number (must be between 1 and 65535)" },
    { "spec.egress[0].protocols[0].udp.destinationPort.range.end", "65536",
      "spec.egress[0].protocols[0].udp.destinationPort.range.end: 65536 is "
      "not a valid port number (must be between 1 and 65535)" },
    { "spec.egress[0].protocols[0].udp.destinationPort.range", "[]",
      "spec.egress[0].protocols[0].udp.destinationPort.range: must be an "
      "object, not an array" },
    /* CEL: self.start < self.end. */
    { "spec.egress[0].protocols[0].udp.destinationPort.range.end", "5000",
      "spec.egress[0].protocols[0].udp.destinationPort.range: Start port "
      "must be less than End port (start 5000, end 5000)" },
    { "spec.egress[0].protocols[0].udp.destinationPort.range.end", "4999",
      "spec.egress[0].protocols[0].udp.destinationPort.range: Start port "
      "must be less than End port (start 5000, end 4999)" },
    { "spec.ingress[0].protocols[1].destinationNamedPort", "53",
      "spec.ingress[0].protocols[1].destinationNamedPort: must be a string, "
      "not integer 53" },

    /* CEL: no named port with networks, nodes or domainNames peers. */
    { "spec.egress[0].protocols[0]", "{\"destinationNamedPort\": \"web\"}",
      "spec.egress[0]: networks/nodes/domainNames peer cannot be set with "
      "namedPorts since there are no namedPorts for "
      "networks/nodes/domainNames" },
};

/* Those whose message does not start with the base object's name, or
 * that need more than one change. */
static void
test_bad_objects_special(void **state)
{
    json_t *doc;

    /* CEL named port with nodes, and with domainNames. */
    doc = base();
    set_path(doc, "spec.egress[0].to[0]", "{\"pods\": {\"podSelector\": {}}}");
    set_path(doc, "spec.egress[0].protocols[0]",
             "{\"destinationNamedPort\": \"web\"}");
    parse_error(doc, "ClusterNetworkPolicy base: spec.egress[0]: "
                "networks/nodes/domainNames peer cannot be set with "
                "namedPorts since there are no namedPorts for "
                "networks/nodes/domainNames");
    doc = base();
    set_path(doc, "spec.egress[0].to", "[{\"pods\": {\"podSelector\": {}}}, "
             "{\"domainNames\": [\"a.example\"]}]");
    set_path(doc, "spec.egress[0].protocols[0]",
             "{\"destinationNamedPort\": \"web\"}");
    parse_error(doc, "ClusterNetworkPolicy base: spec.egress[0]: "
                "networks/nodes/domainNames peer cannot be set with "
                "namedPorts since there are no namedPorts for "
                "networks/nodes/domainNames");
    /* Named ports with pods and namespaces peers are fine, and so are
     * address peers with numbered ports (the base object). */
    doc = base();
    set_path(doc, "spec.egress[0].to", "[{\"pods\": {\"podSelector\": {}}}, "
             "{\"namespaces\": {}}]");
    set_path(doc, "spec.egress[0].protocols[0]",
             "{\"destinationNamedPort\": \"web\"}");
    k8s_cnp_destroy(parse_ok(doc));
    /* An unknown peer is not an address peer for the rule: CEL's has()
     * sees only the fields the CRD knows. */
    doc = base();
    set_path(doc, "spec.egress[0].to", "[{\"pods\": {\"podSelector\": {}}}, "
             "{\"fqdn\": \"x\"}]");
    set_path(doc, "spec.egress[0].protocols[0]",
             "{\"destinationNamedPort\": \"web\"}");
    k8s_cnp_destroy(parse_ok(doc));

    /* 26 domain names. */
    doc = base();
    json_t *names = json_array();
    for (int i = 0; i < 26; i++) {
        char *s = xasprintf("d%d.example", i);
        json_array_append_new(names, json_string(s));
        free(s);
    }
    set_path(doc, "spec.egress[0].to[1]", "{}");
    json_object_set_new(json_array_get(json_object_get(json_array_get(
        json_object_get(json_object_get(doc, "spec"), "egress"), 0), "to"),
        1), "domainNames", names);
    parse_error(doc, "ClusterNetworkPolicy base: spec.egress[0].to[1]."
                "domainNames: may hold at most 25 domain names, not 26");

    /* metadata: the name is required and a DNS-1123 subdomain; labels
     * are labels; the object and its kind and apiVersion. */
    doc = base();
    set_path(doc, "metadata", NULL);
    parse_error(doc, "ClusterNetworkPolicy: metadata.name: is required");
    doc = base();
    set_path(doc, "metadata.name", "\"\"");
    parse_error(doc, "ClusterNetworkPolicy: metadata.name: is required");
    doc = base();
    set_path(doc, "metadata.name", "\"Tenant_A\"");
    parse_error(doc, "ClusterNetworkPolicy Tenant_A: metadata.name: "
                "\"Tenant_A\" is not a valid name: a lowercase RFC 1123 "
                "subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an "
                "alphanumeric character");
    doc = base();
    set_path(doc, "metadata.name", "\"tenants.example.com\"");
    set_path(doc, "metadata.labels", "{\"team\": \"net\"}");
    struct k8s_cnp *cnp = parse_ok(doc);
    assert_string_equal(cnp->name, "tenants.example.com");
    k8s_cnp_destroy(cnp);
    doc = base();
    set_path(doc, "metadata.labels", "{\"team\": true}");
    parse_error(doc, "ClusterNetworkPolicy base: metadata.labels[team]: must "
                "be a string, not boolean true");
    doc = base();
    set_path(doc, "metadata.namespace", "5");
    parse_error(doc, "ClusterNetworkPolicy base: metadata.namespace: must be "
                "a string, not integer 5");
    doc = base();
    set_path(doc, "kind", "\"NetworkPolicy\"");
    parse_error(doc, "kind: \"NetworkPolicy\" is not ClusterNetworkPolicy");
    doc = base();
    set_path(doc, "apiVersion", "\"policy.networking.k8s.io/v1alpha1\"");
    parse_error(doc, "ClusterNetworkPolicy base: apiVersion: "
                "\"policy.networking.k8s.io/v1alpha1\" is not supported for "
                "ClusterNetworkPolicy (must be "
                "\"policy.networking.k8s.io/v1alpha2\")");
    parse_error(json_array(), "must be an object, not an array");
}

static void
test_bad_objects(void **state)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        json_t *doc = base();
        set_path(doc, c->path, c->value);
        char *expected = xasprintf("ClusterNetworkPolicy base: %s", c->error);
        print_message("case %zu: %s\n", i, c->path);
        parse_error(doc, expected);
        free(expected);
    }
}

/* cnp_parse() inside the objects module's validation context: its origin
 * and locator in messages, no namespace even if the caller set one. */
static void
test_parse_in_context(void **state)
{
    struct locator loc = { .root = "document", .index = 2 };
    struct vctx ctx;
    json_t *doc = base();

    vctx_init(&ctx, "all.yaml", &loc);
    ctx.kind = CNP_KIND;
    ctx.ns = "default";
    struct k8s_cnp *cnp = cnp_parse(&ctx, doc);
    assert_non_null(cnp);
    assert_null(ctx.error);
    assert_string_equal(cnp->name, "base");
    k8s_cnp_destroy(cnp);
    vctx_destroy(&ctx);

    set_path(doc, "spec.priority", "2000");
    vctx_init(&ctx, "all.yaml", &loc);
    ctx.kind = CNP_KIND;
    ctx.ns = "default";
    assert_null(cnp_parse(&ctx, doc));
    assert_string_equal(ctx.error, "all.yaml: ClusterNetworkPolicy base: "
                        "spec.priority: 2000 is not a valid priority (must "
                        "be between 0 and 1000)");
    vctx_destroy(&ctx);

    set_path(doc, "metadata.name", NULL);
    vctx_init(&ctx, "all.yaml", &loc);
    ctx.kind = CNP_KIND;
    assert_null(cnp_parse(&ctx, doc));
    assert_string_equal(ctx.error, "all.yaml: document 2: "
                        "ClusterNetworkPolicy: metadata.name: is required");
    vctx_destroy(&ctx);
    json_decref(doc);
}

static void
test_names(void **state)
{
    assert_string_equal(cnp_tier_name(CNP_TIER_ADMIN), "Admin");
    assert_string_equal(cnp_tier_name(CNP_TIER_BASELINE), "Baseline");
    assert_string_equal(cnp_action_name(CNP_ACCEPT), "Accept");
    assert_string_equal(cnp_action_name(CNP_DENY), "Deny");
    assert_string_equal(cnp_action_name(CNP_PASS), "Pass");
    assert_string_equal(cnp_peer_kind_name(CNP_PEER_NAMESPACES),
                        "namespaces");
    assert_string_equal(cnp_peer_kind_name(CNP_PEER_PODS), "pods");
    assert_string_equal(cnp_peer_kind_name(CNP_PEER_NETWORKS), "networks");
    assert_string_equal(cnp_peer_kind_name(CNP_PEER_NODES), "nodes");
    assert_string_equal(cnp_peer_kind_name(CNP_PEER_DOMAIN_NAMES),
                        "domainNames");
    assert_string_equal(cnp_peer_kind_name(CNP_PEER_UNKNOWN), "unknown");
    k8s_cnp_destroy(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base),
        cmocka_unit_test(test_conformance_gress_rules),
        cmocka_unit_test(test_conformance_baseline),
        cmocka_unit_test(test_conformance_cidr_and_nodes),
        cmocka_unit_test(test_named_ports),
        cmocka_unit_test(test_unknown_peer),
        cmocka_unit_test(test_domain_names),
        cmocka_unit_test(test_networks),
        cmocka_unit_test(test_api_server_leniency),
        cmocka_unit_test(test_bad_objects),
        cmocka_unit_test(test_bad_objects_special),
        cmocka_unit_test(test_parse_in_context),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
