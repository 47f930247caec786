/* Kubernetes objects: their lifecycle, names and keys, and the batch a
 * parse fills.  See objects.h; the parsers are objects-json.c and
 * objects-read.c (objects-int.h). */
#include "objects.h"

#include <stdlib.h>
#include <string.h>
#include "cnp.h"
#include "np-util.h"
#include "objects-int.h"

const char *
np_proto_name(enum np_proto proto)
{
    switch (proto) {
    case NP_TCP:
        return "TCP";
    case NP_UDP:
        return "UDP";
    case NP_SCTP:
        return "SCTP";
    }
    return "?";
}

static const char *const audit_names[] = {
    [NP_AUDIT_NONE] = "none", [NP_AUDIT_DENY] = "deny",
    [NP_AUDIT_ALLOW] = "allow", [NP_AUDIT_ALL] = "all",
    [NP_AUDIT_UNSET] = "unset",
};

const char *
np_audit_name(enum np_audit a)
{
    return (unsigned) a <= NP_AUDIT_UNSET ? audit_names[a] : "?";
}

bool
np_audit_parse(const char *s, enum np_audit *a)
{
    for (int i = NP_AUDIT_NONE; i <= NP_AUDIT_ALL; i++) {
        if (!strcmp(s, audit_names[i])) {
            *a = i;
            return true;
        }
    }
    return false;
}

const char *
obj_kind_name(enum obj_kind kind)
{
    switch (kind) {
    case OBJ_NAMESPACE:
        return "Namespace";
    case OBJ_POD:
        return "Pod";
    case OBJ_NETPOL:
        return "NetworkPolicy";
    case OBJ_CNP:
        return "ClusterNetworkPolicy";
    case OBJ_NODE:
        return "Node";
    }
    return "?";
}

void
k8s_namespace_destroy(struct k8s_namespace *ns)
{
    if (ns) {
        free(ns->name);
        free(ns->resource_version);
        free(ns->audit_error);
        labels_destroy(&ns->labels);
        free(ns);
    }
}

void
k8s_pod_destroy(struct k8s_pod *pod)
{
    if (pod) {
        free(pod->namespace);
        free(pod->name);
        free(pod->resource_version);
        labels_destroy(&pod->labels);
        free(pod->node_name);
        free(pod->ips);
        for (size_t i = 0; i < pod->n_ports; i++) {
            free(pod->ports[i].name);
        }
        free(pod->ports);
        free(pod);
    }
}

void
selector_free(struct selector *sel)
{
    if (sel) {
        selector_destroy(sel);
        free(sel);
    }
}

void
np_rules_free(struct np_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct np_rule *r = &rules[i];
        for (size_t j = 0; j < r->n_peers; j++) {
            selector_free(r->peers[j].pod_selector);
            selector_free(r->peers[j].ns_selector);
            free(r->peers[j].excepts);
        }
        free(r->peers);
        for (size_t j = 0; j < r->n_ports; j++) {
            free(r->ports[j].name);
        }
        free(r->ports);
    }
    free(rules);
}

void
k8s_netpol_destroy(struct k8s_netpol *np)
{
    if (np) {
        free(np->namespace);
        free(np->name);
        free(np->resource_version);
        free(np->uid);
        free(np->invalid);
        selector_destroy(&np->pod_selector);
        np_rules_free(np->ingress, np->n_ingress);
        np_rules_free(np->egress, np->n_egress);
        free(np);
    }
}

void
k8s_node_destroy(struct k8s_node *node)
{
    if (node) {
        free(node->name);
        free(node->resource_version);
        labels_destroy(&node->labels);
        free(node->ips);
        free(node);
    }
}

/* Frees what 'obj' points to, not 'obj'. */
static void
k8s_object_clear(struct k8s_object *obj)
{
    switch (obj->kind) {
    case OBJ_NAMESPACE:
        k8s_namespace_destroy(obj->ns);
        break;
    case OBJ_POD:
        k8s_pod_destroy(obj->pod);
        break;
    case OBJ_NETPOL:
        k8s_netpol_destroy(obj->np);
        break;
    case OBJ_CNP:
        k8s_cnp_destroy(obj->cnp);
        break;
    case OBJ_NODE:
        k8s_node_destroy(obj->node);
        break;
    }
}

void
k8s_object_destroy(struct k8s_object *obj)
{
    if (obj) {
        k8s_object_clear(obj);
        free(obj);
    }
}

const char *
k8s_object_namespace(const struct k8s_object *obj)
{
    switch (obj->kind) {
    case OBJ_NAMESPACE:
    case OBJ_CNP:
    case OBJ_NODE:
        return "";
    case OBJ_POD:
        return obj->pod->namespace;
    case OBJ_NETPOL:
        return obj->np->namespace;
    }
    return "";
}

char *
k8s_object_key(const char *ns, const char *name)
{
    return ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

const char *
k8s_object_name(const struct k8s_object *obj)
{
    switch (obj->kind) {
    case OBJ_NAMESPACE:
        return obj->ns->name;
    case OBJ_POD:
        return obj->pod->name;
    case OBJ_NETPOL:
        return obj->np->name;
    case OBJ_CNP:
        return obj->cnp->name;
    case OBJ_NODE:
        return obj->node->name;
    }
    return "";
}

void
obj_batch_init(struct obj_batch *batch)
{
    memset(batch, 0, sizeof *batch);
}

void
obj_batch_destroy(struct obj_batch *batch)
{
    if (batch) {
        for (size_t i = 0; i < batch->n_objs; i++) {
            k8s_object_clear(&batch->objs[i]);
        }
        free(batch->objs);
        for (size_t i = 0; i < batch->n_errors; i++) {
            free(batch->errors[i]);
        }
        free(batch->errors);
        for (size_t i = 0; i < batch->n_rejected; i++) {
            free(batch->rejected[i].ref.ns);
            free(batch->rejected[i].ref.name);
            k8s_object_destroy(batch->rejected[i].stand_in);
        }
        free(batch->rejected);
        obj_batch_init(batch);
    }
}

