/* One JSON value to one validated object, and the fail-closed stand-ins.
 * See objects.h and objects-int.h.
 *
 * Validation follows the API server's (k8s.io/kubernetes
 * pkg/apis/networking/validation, pkg/apis/core/validation and apimachinery's
 * label and name validation) for the fields that we read; fields we do not
 * read are ignored, as the API server drops unknown fields.  JSON 'null' is
 * the same as an absent field, as in Go's decoder.  An object stops at its
 * first error: one message per rejected object. */
#include "objects-int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cnp.h"
#include "k8s-names.h"
#include "np-util.h"

char *
locator_format(const struct locator *loc)
{
    if (!loc) {
        return NULL;
    } else if (loc->root) {
        return xasprintf("%s %zu", loc->root, loc->index);
    }
    char *parent = locator_format(loc->parent);
    char *s = xasprintf("%s%s[%zu]", parent ? parent : "",
                        loc->is_item ? (parent ? ", items" : "items") : "",
                        loc->index);
    free(parent);
    return s;
}

void
vctx_init(struct vctx *ctx, const char *origin,
          const struct locator *locator)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->origin = origin;
    ctx->locator = locator;
    ctx->path_allocated = 64;
    ctx->path = xmalloc(ctx->path_allocated);
    ctx->path[0] = '\0';
}

void
vctx_destroy(struct vctx *ctx)
{
    free(ctx->path);
    for (size_t i = 0; i < ctx->n_quoted; i++) {
        free(ctx->quoted[i]);
    }
    free(ctx->quoted);
    free(ctx->error);
}

static void
path_append(struct vctx *ctx, const char *s)
{
    size_t len = strlen(s);
    while (ctx->path_len + len + 1 > ctx->path_allocated) {
        ctx->path_allocated *= 2;
        ctx->path = xrealloc(ctx->path, ctx->path_allocated);
    }
    memcpy(ctx->path + ctx->path_len, s, len + 1);
    ctx->path_len += len;
}

/* Each push returns a mark that vctx_pop() takes to undo it. */
size_t
vctx_push(struct vctx *ctx, const char *field)
{
    size_t mark = ctx->path_len;
    if (ctx->path_len) {
        path_append(ctx, ".");
    }
    path_append(ctx, field);
    return mark;
}

size_t
vctx_push_index(struct vctx *ctx, size_t index)
{
    size_t mark = ctx->path_len;
    char buf[32];
    snprintf(buf, sizeof buf, "[%zu]", index);
    path_append(ctx, buf);
    return mark;
}

/* A map key, as Kubernetes field paths write it: "metadata.labels[app]". */
size_t
vctx_push_key(struct vctx *ctx, const char *key)
{
    size_t mark = ctx->path_len;
    path_append(ctx, "[");
    path_append(ctx, key);
    path_append(ctx, "]");
    return mark;
}

void
vctx_pop(struct vctx *ctx, size_t mark)
{
    ctx->path_len = mark;
    ctx->path[mark] = '\0';
}

/* Returns 's' as a JSON string literal, cut after NP_QUOTE_MAX bytes (see
 * np_quote()), valid until 'ctx' is destroyed. */
const char *
vctx_quote(struct vctx *ctx, const char *s)
{
    char *q = np_quote(s, strlen(s));
    APPEND(ctx->quoted, ctx->n_quoted, ctx->allocated_quoted, q);
    return q;
}

/* Returns 's', a namespace or name read from the object and not validated
 * yet, as it can go into a message: as is if it is short and printable,
 * otherwise quoted and cut as vctx_quote() does. */
static const char *
show_name(struct vctx *ctx, const char *s)
{
    size_t len = strlen(s);
    bool plain = len <= 253;
    for (size_t i = 0; plain && i < len; i++) {
        plain = s[i] > ' ' && s[i] < 0x7f && s[i] != '"' && s[i] != '\\';
    }
    return plain ? s : vctx_quote(ctx, s);
}

/* Describes 'v' for "must be a string, not ..." messages. */
const char *
vctx_describe(struct vctx *ctx, const json_t *v)
{
    char *s;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        s = xasprintf("string %s", vctx_quote(ctx, json_string_value(v)));
        break;
    case JSON_INTEGER:
        s = xasprintf("integer %" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        s = xasprintf("number %.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        return "boolean true";
    case JSON_FALSE:
        return "boolean false";
    case JSON_NULL:
    default:
        return "null";
    }
    APPEND(ctx->quoted, ctx->n_quoted, ctx->allocated_quoted, s);
    return s;
}

bool
vctx_fail(struct vctx *ctx, const char *format, ...)
{
    if (ctx->error) {
        return false;
    }

    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);

    char *who;
    if (ctx->kind && ctx->name) {
        who = xasprintf("%s %s%s%s", ctx->kind,
                        ctx->ns ? show_name(ctx, ctx->ns) : "",
                        ctx->ns ? "/" : "", show_name(ctx, ctx->name));
    } else if (ctx->kind) {
        char *where = locator_format(ctx->locator);
        who = xasprintf("%s%s%s", where ? where : "", where ? ": " : "",
                        ctx->kind);
        free(where);
    } else {
        who = locator_format(ctx->locator);
    }

    ctx->error = xasprintf("%s: %s%s%s%s%s", ctx->origin,
                           who ? who : "", who ? ": " : "",
                           ctx->path, ctx->path_len ? ": " : "", msg);
    free(who);
    free(msg);
    return false;
}

bool
vctx_fail_at(struct vctx *ctx, const char *field, const char *format, ...)
{
    size_t mark = vctx_push(ctx, field);
    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    vctx_fail(ctx, "%s", msg);
    free(msg);
    vctx_pop(ctx, mark);
    return false;
}

/* JSON access.  'null' counts as absent.  Each getter checks the type of
 * member 'key' of 'obj' and reports a mismatch at that member's path. */

const json_t *
obj_member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

bool
vctx_check_type(struct vctx *ctx, const json_t *v, json_type type,
                const char *what)
{
    if (json_typeof(v) != type) {
        return vctx_fail(ctx, "must be %s, not %s", what,
                         vctx_describe(ctx, v));
    }
    return true;
}

static bool
get_typed(struct vctx *ctx, const json_t *obj, const char *key,
          json_type type, const char *what, const json_t **out)
{
    *out = obj_member(obj, key);
    if (*out && json_typeof(*out) != type) {
        return vctx_fail_at(ctx, key, "must be %s, not %s", what,
                            vctx_describe(ctx, *out));
    }
    return true;
}

bool
vctx_get_string(struct vctx *ctx, const json_t *obj, const char *key,
                const char **out)
{
    const json_t *v;
    if (!get_typed(ctx, obj, key, JSON_STRING, "a string", &v)) {
        return false;
    }
    *out = v ? json_string_value(v) : NULL;
    return true;
}

bool
vctx_get_object(struct vctx *ctx, const json_t *obj, const char *key,
                const json_t **out)
{
    return get_typed(ctx, obj, key, JSON_OBJECT, "an object", out);
}

bool
vctx_get_array(struct vctx *ctx, const json_t *obj, const char *key,
               const json_t **out)
{
    return get_typed(ctx, obj, key, JSON_ARRAY, "an array", out);
}

bool
vctx_get_int(struct vctx *ctx, const json_t *obj, const char *key,
             const json_t **out)
{
    return get_typed(ctx, obj, key, JSON_INTEGER, "an integer", out);
}

static bool
get_bool(struct vctx *ctx, const json_t *obj, const char *key, bool *out)
{
    const json_t *v = obj_member(obj, key);
    *out = false;
    if (v && !json_is_boolean(v)) {
        return vctx_fail_at(ctx, key, "must be a boolean, not %s",
                            vctx_describe(ctx, v));
    }
    *out = v && json_is_true(v);
    return true;
}

/* Array elements that are objects; 'null' elements count as {}, as Go
 * decodes them into zero structs. */
bool
vctx_check_element_object(struct vctx *ctx, const json_t *elem)
{
    return json_is_null(elem) || vctx_check_type(ctx, elem, JSON_OBJECT,
                                                 "an object");
}

/* Labels and selectors. */

/* Validates the label map 'v' (at the current path) into 'labels'. */
static bool
parse_label_map(struct vctx *ctx, const json_t *v, struct labels *labels)
{
    const char *key;
    const json_t *value;
    json_object_foreach ((json_t *) v, key, value) {
        const char *reason = qualified_name_error(key);
        if (reason) {
            return vctx_fail(ctx, "%s is not a valid label key: %s",
                             vctx_quote(ctx, key), reason);
        }
        size_t mark = vctx_push_key(ctx, key);
        if (!vctx_check_type(ctx, value, JSON_STRING, "a string")) {
            return false;
        }
        reason = label_value_error(json_string_value(value));
        if (reason) {
            return vctx_fail(ctx, "%s is not a valid label value: %s",
                             vctx_quote(ctx, json_string_value(value)),
                             reason);
        }
        vctx_pop(ctx, mark);
        labels_set(labels, key, json_string_value(value));
    }
    return true;
}

static bool
parse_sel_expr(struct vctx *ctx, const json_t *e, struct selector *sel)
{
    const char *key, *op_name;
    const json_t *values;
    if (!vctx_get_string(ctx, e, "key", &key)
        || !vctx_get_string(ctx, e, "operator", &op_name)
        || !vctx_get_array(ctx, e, "values", &values)) {
        return false;
    }

    if (!key) {
        return vctx_fail_at(ctx, "key", "is required");
    }
    const char *reason = qualified_name_error(key);
    if (reason) {
        return vctx_fail_at(ctx, "key", "%s is not a valid label key: %s",
                            vctx_quote(ctx, key), reason);
    }

    enum sel_op op;
    if (!op_name) {
        return vctx_fail_at(ctx, "operator", "is required");
    } else if (!strcmp(op_name, "In")) {
        op = SEL_IN;
    } else if (!strcmp(op_name, "NotIn")) {
        op = SEL_NOT_IN;
    } else if (!strcmp(op_name, "Exists")) {
        op = SEL_EXISTS;
    } else if (!strcmp(op_name, "DoesNotExist")) {
        op = SEL_DOES_NOT_EXIST;
    } else {
        return vctx_fail_at(ctx, "operator", "%s is not a valid selector "
                            "operator (must be In, NotIn, Exists or "
                            "DoesNotExist)", vctx_quote(ctx, op_name));
    }

    size_t n = values ? json_array_size(values) : 0;
    if ((op == SEL_IN || op == SEL_NOT_IN) && !n) {
        return vctx_fail_at(ctx, "values", "must be non-empty when "
                            "operator is %s", op_name);
    } else if ((op == SEL_EXISTS || op == SEL_DOES_NOT_EXIST) && n) {
        return vctx_fail_at(ctx, "values", "must be empty when operator is %s",
                            op_name);
    }

    /* The values are not checked as label values: the API server keeps
     * policies written before it checked them (AllowInvalidLabelValue-
     * InSelector), and such a value just matches no label.  A null is "",
     * as Go decodes it. */
    const char **strings = xcalloc(n, sizeof *strings);
    size_t mark = vctx_push(ctx, "values");
    for (size_t i = 0; i < n; i++) {
        const json_t *value = json_array_get(values, i);
        size_t mark2 = vctx_push_index(ctx, i);
        if (!json_is_null(value)
            && !vctx_check_type(ctx, value, JSON_STRING, "a string")) {
            free(strings);
            return false;
        }
        strings[i] = json_is_null(value) ? "" : json_string_value(value);
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);

    selector_add_expr(sel, key, op, strings, n);
    free(strings);
    return true;
}

/* Validates the LabelSelector 'v' (an object, at the current path) into
 * 'sel', which the caller has initialized. */
bool
vctx_parse_selector(struct vctx *ctx, const json_t *v, struct selector *sel)
{
    const json_t *match_labels, *exprs;
    if (!vctx_get_object(ctx, v, "matchLabels", &match_labels)
        || !vctx_get_array(ctx, v, "matchExpressions", &exprs)) {
        return false;
    }

    if (match_labels) {
        size_t mark = vctx_push(ctx, "matchLabels");
        if (!parse_label_map(ctx, match_labels, &sel->match_labels)) {
            return false;
        }
        vctx_pop(ctx, mark);
    }

    if (exprs) {
        size_t mark = vctx_push(ctx, "matchExpressions");
        size_t i;
        const json_t *e;
        json_array_foreach (exprs, i, e) {
            size_t mark2 = vctx_push_index(ctx, i);
            if (!vctx_check_type(ctx, e, JSON_OBJECT, "an object")
                || !parse_sel_expr(ctx, e, sel)) {
                return false;
            }
            vctx_pop(ctx, mark2);
        }
        vctx_pop(ctx, mark);
    }
    return true;
}

/* Parses member 'key' of 'obj', a LabelSelector, into a new selector in
 * '*out'; '*out' is NULL if the member is absent. */
static bool
get_selector(struct vctx *ctx, const json_t *obj, const char *key,
             struct selector **out)
{
    const json_t *v;
    *out = NULL;
    if (!vctx_get_object(ctx, obj, key, &v)) {
        return false;
    }
    if (v) {
        *out = xmalloc(sizeof **out);
        selector_init(*out);
        size_t mark = vctx_push(ctx, key);
        if (!vctx_parse_selector(ctx, v, *out)) {
            selector_free(*out);
            *out = NULL;
            return false;
        }
        vctx_pop(ctx, mark);
    }
    return true;
}

/* Metadata. */

/* Reads the identity of the object 'v' into 'm' and 'ctx', tolerating
 * errors: messages about other fields must still name the object. */
void
vctx_peek_meta(struct vctx *ctx, const json_t *v, bool namespaced,
               struct meta *m)
{
    const json_t *meta = obj_member(v, "metadata");
    const json_t *name = meta ? obj_member(meta, "name") : NULL;
    const json_t *ns = meta ? obj_member(meta, "namespace") : NULL;

    memset(m, 0, sizeof *m);
    if (json_is_string(name) && *json_string_value(name)) {
        ctx->name = m->name = json_string_value(name);
    }
    if (namespaced) {
        /* As kubectl does with a file, an object without a namespace is in
         * "default". */
        ctx->ns = m->ns = (json_is_string(ns) && *json_string_value(ns)
                           ? json_string_value(ns) : "default");
    }
}

bool
vctx_parse_meta(struct vctx *ctx, const json_t *v, bool namespaced,
                enum name_rule rule, struct labels *labels, struct meta *m)
{
    const json_t *meta;
    if (!vctx_get_object(ctx, v, "metadata", &meta)) {
        return false;
    }
    if (!meta) {
        return vctx_fail_at(ctx, "metadata.name", "is required");
    }

    size_t mark = vctx_push(ctx, "metadata");
    const char *name, *ns, *rv, *uid;
    const json_t *label_map;
    if (!vctx_get_string(ctx, meta, "name", &name)
        || !vctx_get_string(ctx, meta, "namespace", &ns)
        || !vctx_get_string(ctx, meta, "resourceVersion", &rv)
        || !vctx_get_string(ctx, meta, "uid", &uid)
        || !vctx_get_object(ctx, meta, "labels", &label_map)) {
        return false;
    }

    if (!name || !*name) {
        return vctx_fail_at(ctx, "name", "is required");
    }
    const char *reason = (rule == NAME_DNS_LABEL
                          ? dns1123_label_error(name)
                          : dns1123_subdomain_error(name));
    if (reason) {
        return vctx_fail_at(ctx, "name", "%s is not a valid name: %s",
                            vctx_quote(ctx, name), reason);
    }

    if (namespaced && ns && *ns) {
        reason = dns1123_label_error(ns);
        if (reason) {
            return vctx_fail_at(ctx, "namespace", "%s is not a valid "
                                "namespace name: %s", vctx_quote(ctx, ns),
                                reason);
        }
    }

    if (label_map) {
        size_t mark2 = vctx_push(ctx, "labels");
        if (!parse_label_map(ctx, label_map, labels)) {
            return false;
        }
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);

    m->resource_version = rv;
    m->uid = uid;
    return true;
}

/* Namespace. */

static struct k8s_namespace *
parse_namespace(struct vctx *ctx, const json_t *v)
{
    struct k8s_namespace *ns = xcalloc(1, sizeof *ns);
    struct meta m;

    labels_init(&ns->labels);
    vctx_peek_meta(ctx, v, false, &m);
    if (!vctx_parse_meta(ctx, v, false, NAME_DNS_LABEL, &ns->labels, &m)) {
        k8s_namespace_destroy(ns);
        return NULL;
    }
    ns->name = xstrdup(ctx->name);
    ns->resource_version = m.resource_version
                           ? xstrdup(m.resource_version) : NULL;
    ns->audit = NP_AUDIT_UNSET;
    /* The API server guarantees a map of strings; a manifest may not. */
    const json_t *ann = json_object_get(json_object_get(v, "metadata"),
                                        "annotations");
    const json_t *audit = json_object_get(ann, NP_AUDIT_ANNOTATION);
    if (audit) {
        const char *s = json_string_value(audit);
        if (!s || !np_audit_parse(s, &ns->audit)) {
            char *shown = s ? np_quote(s, strlen(s)) : xstrdup("not a string");
            ns->audit_error = xasprintf(
                "Namespace %s: metadata.annotations[\"%s\"]: %s is not one "
                "of none, deny, allow, all: the daemon's default (--audit) "
                "applies", ns->name, NP_AUDIT_ANNOTATION, shown);
            free(shown);
        }
    }
    return ns;
}

/* Pod. */

/* 'empty_is_tcp': a container port's "" is TCP (the API server's defaults
 * set it), a NetworkPolicy port's is not (they default only an absent
 * one, and validation refuses ""). */
static bool
parse_proto(struct vctx *ctx, const json_t *obj, bool empty_is_tcp,
            enum np_proto *proto)
{
    const char *s;
    if (!vctx_get_string(ctx, obj, "protocol", &s)) {
        return false;
    }
    if (!s || !strcmp(s, "TCP") || (empty_is_tcp && !*s)) {
        *proto = NP_TCP;
    } else if (!strcmp(s, "UDP")) {
        *proto = NP_UDP;
    } else if (!strcmp(s, "SCTP")) {
        *proto = NP_SCTP;
    } else {
        return vctx_fail_at(ctx, "protocol", "%s is not a supported protocol "
                            "(must be TCP, UDP or SCTP)", vctx_quote(ctx, s));
    }
    return true;
}

/* Checks that integer 'v' is a port number, at child 'field'. */
bool
vctx_check_port_num(struct vctx *ctx, const char *field, const json_t *v)
{
    json_int_t n = json_integer_value(v);
    if (n < 1 || n > 65535) {
        return vctx_fail_at(ctx, field, "%" JSON_INTEGER_FORMAT " is not a "
                            "valid port number (must be between 1 and 65535)",
                            n);
    }
    return true;
}

static bool
parse_container_ports(struct vctx *ctx, const json_t *container,
                      struct k8s_pod *pod)
{
    const json_t *ports;
    if (!vctx_get_array(ctx, container, "ports", &ports)) {
        return false;
    }
    if (!ports) {
        return true;
    }

    size_t first = pod->n_ports;
    size_t allocated = pod->n_ports + json_array_size(ports);
    pod->ports = xrealloc(pod->ports, allocated * sizeof *pod->ports);

    size_t mark = vctx_push(ctx, "ports");
    size_t i;
    const json_t *p;
    json_array_foreach (ports, i, p) {
        size_t mark2 = vctx_push_index(ctx, i);
        if (!vctx_check_element_object(ctx, p)) {
            return false;
        }

        const json_t *num;
        const char *name;
        enum np_proto proto;
        if (!vctx_get_int(ctx, p, "containerPort", &num)
            || !vctx_get_string(ctx, p, "name", &name)
            || !parse_proto(ctx, p, true, &proto)) {
            return false;
        }
        if (!num) {
            return vctx_fail_at(ctx, "containerPort", "is required");
        } else if (!vctx_check_port_num(ctx, "containerPort", num)) {
            return false;
        }
        if (name && *name) {
            const char *reason = port_name_error(name);
            if (reason) {
                return vctx_fail_at(ctx, "name", "%s is not a valid port "
                                    "name: %s", vctx_quote(ctx, name),
                                    reason);
            }
            for (size_t j = first; j < pod->n_ports; j++) {
                if (pod->ports[j].name && !strcmp(pod->ports[j].name, name)) {
                    return vctx_fail_at(ctx, "name", "duplicate port name %s",
                                        vctx_quote(ctx, name));
                }
            }
        } else {
            name = NULL;
        }

        struct container_port *cp = &pod->ports[pod->n_ports++];
        cp->name = name ? xstrdup(name) : NULL;
        cp->port = json_integer_value(num);
        cp->proto = proto;
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

static void
pod_add_ip(struct k8s_pod *pod, const struct ip_addr *ip)
{
    for (size_t i = 0; i < pod->n_ips; i++) {
        if (!ip_addr_cmp(&pod->ips[i], ip)) {
            return;
        }
    }
    pod->ips = xrealloc(pod->ips, (pod->n_ips + 1) * sizeof *pod->ips);
    pod->ips[pod->n_ips++] = *ip;
}

static bool
parse_pod_ip(struct vctx *ctx, const json_t *obj, const char *key,
             struct k8s_pod *pod)
{
    const char *s;
    if (!vctx_get_string(ctx, obj, key, &s)) {
        return false;
    }
    if (s && *s) {
        struct ip_addr ip;
        if (!ip_addr_parse_k8s(s, &ip)) {
            return vctx_fail_at(ctx, key, "%s is not a valid IP address",
                                vctx_quote(ctx, s));
        }
        pod_add_ip(pod, &ip);
    }
    return true;
}

static bool
parse_pod_spec(struct vctx *ctx, const json_t *spec, struct k8s_pod *pod)
{
    const char *node;
    const json_t *containers;
    if (!vctx_get_string(ctx, spec, "nodeName", &node)
        || !get_bool(ctx, spec, "hostNetwork", &pod->host_network)
        || !vctx_get_array(ctx, spec, "containers", &containers)) {
        return false;
    }

    if (node && *node) {
        const char *reason = dns1123_subdomain_error(node);
        if (reason) {
            return vctx_fail_at(ctx, "nodeName", "%s is not a valid node "
                                "name: %s", vctx_quote(ctx, node), reason);
        }
        pod->node_name = xstrdup(node);
    }

    if (containers) {
        size_t mark = vctx_push(ctx, "containers");
        size_t i;
        const json_t *c;
        json_array_foreach (containers, i, c) {
            size_t mark2 = vctx_push_index(ctx, i);
            if (!vctx_check_element_object(ctx, c)
                || (c && !json_is_null(c)
                    && !parse_container_ports(ctx, c, pod))) {
                return false;
            }
            vctx_pop(ctx, mark2);
        }
        vctx_pop(ctx, mark);
    }
    return true;
}

static bool
parse_pod_status(struct vctx *ctx, const json_t *status, struct k8s_pod *pod)
{
    static const char *const phases[] = {
        [POD_PENDING] = "Pending",
        [POD_RUNNING] = "Running",
        [POD_SUCCEEDED] = "Succeeded",
        [POD_FAILED] = "Failed",
        [POD_UNKNOWN] = "Unknown",
    };
    const char *phase;
    const json_t *ips;
    if (!vctx_get_string(ctx, status, "phase", &phase)
        || !vctx_get_array(ctx, status, "podIPs", &ips)
        || !parse_pod_ip(ctx, status, "podIP", pod)) {
        return false;
    }

    pod->phase = POD_PENDING;
    if (phase && *phase) {
        size_t i;
        for (i = 0; i < ARRAY_SIZE(phases); i++) {
            if (!strcmp(phase, phases[i])) {
                pod->phase = i;
                break;
            }
        }
        if (i >= ARRAY_SIZE(phases)) {
            /* The API server does not check the phase: a pod with one we
             * do not know is still a pod, taken as running. */
            pod->phase = POD_UNKNOWN;
        }
    }

    if (ips) {
        size_t mark = vctx_push(ctx, "podIPs");
        size_t i;
        const json_t *entry;
        json_array_foreach (ips, i, entry) {
            size_t mark2 = vctx_push_index(ctx, i);
            if (!vctx_check_type(ctx, entry, JSON_OBJECT, "an object")) {
                return false;
            }
            if (!obj_member(entry, "ip")) {
                return vctx_fail_at(ctx, "ip", "is required");
            }
            if (!parse_pod_ip(ctx, entry, "ip", pod)) {
                return false;
            }
            vctx_pop(ctx, mark2);
        }
        vctx_pop(ctx, mark);
    }
    /* As the API server's validation: at most one address per family
     * (podIP is podIPs[0]). */
    if (pod->n_ips > 2
        || (pod->n_ips == 2 && pod->ips[0].family == pod->ips[1].family)) {
        return vctx_fail_at(ctx, "podIPs", "may hold one address per family, "
                            "not %zu addresses", pod->n_ips);
    }
    return true;
}

static struct k8s_pod *
parse_pod(struct vctx *ctx, const json_t *v)
{
    struct k8s_pod *pod = xcalloc(1, sizeof *pod);
    struct meta m;
    const json_t *spec, *status;

    labels_init(&pod->labels);
    vctx_peek_meta(ctx, v, true, &m);
    if (!vctx_parse_meta(ctx, v, true, NAME_DNS_SUBDOMAIN, &pod->labels, &m)
        || !vctx_get_object(ctx, v, "spec", &spec)
        || !vctx_get_object(ctx, v, "status", &status)) {
        goto error;
    }

    if (spec) {
        size_t mark = vctx_push(ctx, "spec");
        if (!parse_pod_spec(ctx, spec, pod)) {
            goto error;
        }
        vctx_pop(ctx, mark);
    }
    pod->phase = POD_PENDING;
    if (status) {
        size_t mark = vctx_push(ctx, "status");
        if (!parse_pod_status(ctx, status, pod)) {
            goto error;
        }
        vctx_pop(ctx, mark);
    }

    pod->namespace = xstrdup(ctx->ns);
    pod->name = xstrdup(ctx->name);
    pod->resource_version = (m.resource_version
                             ? xstrdup(m.resource_version) : NULL);
    return pod;

error:
    k8s_pod_destroy(pod);
    return NULL;
}

/* NetworkPolicy. */

static bool
parse_np_port(struct vctx *ctx, const json_t *v, struct np_port *port)
{
    memset(port, 0, sizeof *port);
    if (!parse_proto(ctx, v, false, &port->proto)) {
        return false;
    }

    const json_t *num = obj_member(v, "port");
    const json_t *end;
    if (!vctx_get_int(ctx, v, "endPort", &end)) {
        return false;
    }
    if (!num) {
        if (end) {
            return vctx_fail_at(ctx, "endPort", "may not be specified when "
                                "port is not specified");
        }
    } else if (json_is_integer(num)) {
        if (!vctx_check_port_num(ctx, "port", num)) {
            return false;
        }
        port->port = json_integer_value(num);
        if (end) {
            json_int_t e = json_integer_value(end);
            if (e < json_integer_value(num)) {
                return vctx_fail_at(ctx, "endPort", "%" JSON_INTEGER_FORMAT
                                    " is less than port %" JSON_INTEGER_FORMAT,
                                    e, json_integer_value(num));
            } else if (!vctx_check_port_num(ctx, "endPort", end)) {
                return false;
            }
            port->end_port = e;
        }
    } else if (json_is_string(num)) {
        const char *name = json_string_value(num);
        const char *reason = port_name_error(name);
        if (reason) {
            return vctx_fail_at(ctx, "port", "%s is not a valid port name: %s",
                                vctx_quote(ctx, name), reason);
        } else if (end) {
            return vctx_fail_at(ctx, "endPort", "may not be specified when "
                                "port is a name (%s)", vctx_quote(ctx, name));
        }
        port->name = xstrdup(name);
    } else {
        return vctx_fail_at(ctx, "port", "must be an integer or a string, "
                            "not %s", vctx_describe(ctx, num));
    }
    return true;
}

static void
np_peer_clear(struct np_peer *peer)
{
    selector_free(peer->pod_selector);
    selector_free(peer->ns_selector);
    free(peer->excepts);
    memset(peer, 0, sizeof *peer);
}

static bool
parse_ipblock(struct vctx *ctx, const json_t *v, struct np_peer *peer)
{
    const char *cidr_s;
    const json_t *excepts;
    if (!vctx_get_string(ctx, v, "cidr", &cidr_s)
        || !vctx_get_array(ctx, v, "except", &excepts)) {
        return false;
    }
    if (!cidr_s || !*cidr_s) {
        return vctx_fail_at(ctx, "cidr", "is required");
    }
    int block_plen;
    const char *reason = cidr_parse_k8s(cidr_s, &peer->block, &block_plen,
                                        NULL);
    if (reason) {
        return vctx_fail_at(ctx, "cidr", "%s %s", vctx_quote(ctx, cidr_s),
                            reason);
    }
    peer->is_ipblock = true;

    if (excepts) {
        size_t n = json_array_size(excepts);
        peer->excepts = xcalloc(n, sizeof *peer->excepts);

        size_t mark = vctx_push(ctx, "except");
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(excepts, i);
            struct cidr *c = &peer->excepts[i];
            size_t mark2 = vctx_push_index(ctx, i);
            if (!vctx_check_type(ctx, e, JSON_STRING, "a string")) {
                return false;
            }
            const char *s = json_string_value(e);
            int plen;
            reason = cidr_parse_k8s(s, c, &plen, NULL);
            if (reason) {
                return vctx_fail(ctx, "%s %s", vctx_quote(ctx, s), reason);
            }
            /* The API server's test: cidr holds the except's address, and
             * the except's prefix, as written, is longer. */
            if (!cidr_contains_addr(&peer->block, &c->addr)) {
                return vctx_fail(ctx, "%s is not inside cidr %s",
                                 vctx_quote(ctx, s), vctx_quote(ctx, cidr_s));
            } else if (plen <= block_plen) {
                return vctx_fail(ctx, "%s is not strictly inside cidr %s",
                                 vctx_quote(ctx, s), vctx_quote(ctx, cidr_s));
            }
            /* Through an IPv4-mapped form, an except can pass that test
             * and still hold the whole cidr: it excepts the whole cidr. */
            if (cidr_contains(c, &peer->block)) {
                *c = peer->block;
            }
            peer->n_excepts++;
            vctx_pop(ctx, mark2);
        }
        vctx_pop(ctx, mark);
    }
    return true;
}

static bool
parse_np_peer(struct vctx *ctx, const json_t *v, struct np_peer *peer)
{
    memset(peer, 0, sizeof *peer);

    const json_t *ipblock;
    if (!vctx_get_object(ctx, v, "ipBlock", &ipblock)
        || !get_selector(ctx, v, "podSelector", &peer->pod_selector)
        || !get_selector(ctx, v, "namespaceSelector", &peer->ns_selector)) {
        return false;
    }

    if (ipblock) {
        if (peer->pod_selector || peer->ns_selector) {
            return vctx_fail(ctx, "ipBlock may not be combined with "
                             "podSelector or namespaceSelector in one peer");
        }
        size_t mark = vctx_push(ctx, "ipBlock");
        if (!parse_ipblock(ctx, ipblock, peer)) {
            return false;
        }
        vctx_pop(ctx, mark);
    } else if (!peer->pod_selector && !peer->ns_selector) {
        return vctx_fail(ctx, "must specify a peer: podSelector, "
                         "namespaceSelector or ipBlock");
    }
    return true;
}

/* Parses one rule; 'peers_key' is "from" or "to". */
static bool
parse_np_rule(struct vctx *ctx, const json_t *v, const char *peers_key,
              struct np_rule *rule)
{
    const json_t *ports, *peers;
    memset(rule, 0, sizeof *rule);
    if (json_is_null(v)) {
        return true;
    }
    if (!vctx_get_array(ctx, v, "ports", &ports)
        || !vctx_get_array(ctx, v, peers_key, &peers)) {
        return false;
    }

    if (ports && json_array_size(ports)) {
        rule->ports = xcalloc(json_array_size(ports), sizeof *rule->ports);
        size_t mark = vctx_push(ctx, "ports");
        size_t i;
        const json_t *p;
        json_array_foreach (ports, i, p) {
            size_t mark2 = vctx_push_index(ctx, i);
            if (!vctx_check_element_object(ctx, p)) {
                return false;
            }
            if (!parse_np_port(ctx, p, &rule->ports[i])) {
                free(rule->ports[i].name);
                return false;
            }
            rule->n_ports++;
            vctx_pop(ctx, mark2);
        }
        vctx_pop(ctx, mark);
    }

    if (peers && json_array_size(peers)) {
        rule->peers = xcalloc(json_array_size(peers), sizeof *rule->peers);
        size_t mark = vctx_push(ctx, peers_key);
        size_t i;
        const json_t *p;
        json_array_foreach (peers, i, p) {
            size_t mark2 = vctx_push_index(ctx, i);
            if (!vctx_check_element_object(ctx, p)) {
                return false;
            }
            if (!parse_np_peer(ctx, p, &rule->peers[i])) {
                np_peer_clear(&rule->peers[i]);
                return false;
            }
            rule->n_peers++;
            vctx_pop(ctx, mark2);
        }
        vctx_pop(ctx, mark);
    }
    return true;
}

/* Parses member 'key' ("ingress" or "egress") of 'spec'. */
static bool
parse_np_rules(struct vctx *ctx, const json_t *spec, const char *key,
               const char *peers_key, struct np_rule **rules, size_t *n)
{
    const json_t *array;
    if (!vctx_get_array(ctx, spec, key, &array)) {
        return false;
    }
    if (!array || !json_array_size(array)) {
        return true;
    }

    *rules = xcalloc(json_array_size(array), sizeof **rules);
    size_t mark = vctx_push(ctx, key);
    size_t i;
    const json_t *r;
    json_array_foreach (array, i, r) {
        size_t mark2 = vctx_push_index(ctx, i);
        if (!vctx_check_element_object(ctx, r)) {
            return false;
        }
        /* The rule's members are owned by the array from here on. */
        (*n)++;
        if (!parse_np_rule(ctx, r, peers_key, &(*rules)[i])) {
            return false;
        }
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

static bool
parse_policy_types(struct vctx *ctx, const json_t *spec,
                   struct k8s_netpol *np)
{
    const json_t *types;
    if (!vctx_get_array(ctx, spec, "policyTypes", &types)) {
        return false;
    }

    if (!types || !json_array_size(types)) {
        /* The API server's defaults. */
        np->isolates_ingress = true;
        np->isolates_egress = np->n_egress > 0;
        return true;
    }

    size_t mark = vctx_push(ctx, "policyTypes");
    if (json_array_size(types) > 2) {
        return vctx_fail(ctx, "may not list more than two policy types (has "
                         "%zu)", json_array_size(types));
    }
    size_t i;
    const json_t *t;
    json_array_foreach (types, i, t) {
        size_t mark2 = vctx_push_index(ctx, i);
        if (!vctx_check_type(ctx, t, JSON_STRING, "a string")) {
            return false;
        }
        const char *s = json_string_value(t);
        if (!strcmp(s, "Ingress")) {
            np->isolates_ingress = true;
        } else if (!strcmp(s, "Egress")) {
            np->isolates_egress = true;
        } else {
            return vctx_fail(ctx, "%s is not a supported policy type (must be "
                             "Ingress or Egress)", vctx_quote(ctx, s));
        }
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

static struct k8s_netpol *
parse_netpol(struct vctx *ctx, const json_t *v)
{
    struct k8s_netpol *np = xcalloc(1, sizeof *np);
    struct meta m;
    struct labels labels;
    const json_t *spec, *pod_selector = NULL;

    selector_init(&np->pod_selector);
    labels_init(&labels);
    vctx_peek_meta(ctx, v, true, &m);
    bool ok = vctx_parse_meta(ctx, v, true, NAME_DNS_SUBDOMAIN, &labels, &m);
    labels_destroy(&labels);
    if (!ok || !vctx_get_object(ctx, v, "spec", &spec)) {
        goto error;
    }

    /* Go decodes an absent spec or podSelector to its zero value, which
     * the API server takes: every pod of the namespace, for Ingress. */
    size_t mark = vctx_push(ctx, "spec");
    if (spec && !vctx_get_object(ctx, spec, "podSelector", &pod_selector)) {
        goto error;
    }
    if (spec && pod_selector) {
        size_t mark2 = vctx_push(ctx, "podSelector");
        if (!vctx_parse_selector(ctx, pod_selector, &np->pod_selector)) {
            goto error;
        }
        vctx_pop(ctx, mark2);
    }

    if (!parse_np_rules(ctx, spec, "ingress", "from",
                        &np->ingress, &np->n_ingress)
        || !parse_np_rules(ctx, spec, "egress", "to",
                           &np->egress, &np->n_egress)
        || !parse_policy_types(ctx, spec, np)) {
        goto error;
    }
    vctx_pop(ctx, mark);

    /* Rules of a direction that the policy does not isolate have no
     * effect: drop them, so that no consumer can apply them by mistake. */
    if (!np->isolates_ingress) {
        np_rules_free(np->ingress, np->n_ingress);
        np->ingress = NULL;
        np->n_ingress = 0;
    }
    if (!np->isolates_egress) {
        np_rules_free(np->egress, np->n_egress);
        np->egress = NULL;
        np->n_egress = 0;
    }

    np->namespace = xstrdup(ctx->ns);
    np->name = xstrdup(ctx->name);
    np->resource_version = (m.resource_version
                            ? xstrdup(m.resource_version) : NULL);
    np->uid = m.uid ? xstrdup(m.uid) : NULL;
    return np;

error:
    k8s_netpol_destroy(np);
    return NULL;
}

/* Node. */

/* status.addresses: the entries that are IP addresses, whatever their type
 * (a Hostname's is a name).  The API server checks only that each entry
 * has a type and an address. */
static bool
parse_node_addresses(struct vctx *ctx, const json_t *status,
                     struct k8s_node *node)
{
    const json_t *addrs;
    if (!vctx_get_array(ctx, status, "addresses", &addrs)) {
        return false;
    }
    if (!addrs) {
        return true;
    }
    size_t mark = vctx_push(ctx, "addresses");
    size_t i;
    const json_t *entry;
    json_array_foreach (addrs, i, entry) {
        size_t mark2 = vctx_push_index(ctx, i);
        const char *type, *address;
        if (!vctx_check_type(ctx, entry, JSON_OBJECT, "an object")
            || !vctx_get_string(ctx, entry, "type", &type)
            || !vctx_get_string(ctx, entry, "address", &address)) {
            return false;
        }
        if (!type || !*type) {
            return vctx_fail_at(ctx, "type", "is required");
        } else if (!address || !*address) {
            return vctx_fail_at(ctx, "address", "is required");
        }
        struct ip_addr ip;
        if (ip_addr_parse_k8s(address, &ip)) {
            bool seen = false;
            for (size_t j = 0; j < node->n_ips && !seen; j++) {
                seen = !ip_addr_cmp(&node->ips[j], &ip);
            }
            if (!seen) {
                node->ips = xrealloc(node->ips,
                                     (node->n_ips + 1) * sizeof *node->ips);
                node->ips[node->n_ips++] = ip;
            }
        }
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

static struct k8s_node *
parse_node(struct vctx *ctx, const json_t *v)
{
    struct k8s_node *node = xcalloc(1, sizeof *node);
    struct meta m;
    const json_t *status;

    labels_init(&node->labels);
    vctx_peek_meta(ctx, v, false, &m);
    if (!vctx_parse_meta(ctx, v, false, NAME_DNS_SUBDOMAIN, &node->labels,
                         &m)
        || !vctx_get_object(ctx, v, "status", &status)) {
        goto error;
    }
    if (status) {
        size_t mark = vctx_push(ctx, "status");
        if (!parse_node_addresses(ctx, status, node)) {
            goto error;
        }
        vctx_pop(ctx, mark);
    }
    node->name = xstrdup(ctx->name);
    node->resource_version = (m.resource_version
                              ? xstrdup(m.resource_version) : NULL);
    return node;

error:
    k8s_node_destroy(node);
    return NULL;
}

/* Objects. */

struct kind_info {
    const char *kind;
    const char *api_version;
    enum obj_kind obj_kind;
};

/* In enum obj_kind's order. */
static const struct kind_info kinds[] = {
    { "Namespace", "v1", OBJ_NAMESPACE },
    { "Pod", "v1", OBJ_POD },
    { "NetworkPolicy", "networking.k8s.io/v1", OBJ_NETPOL },
    { CNP_KIND, CNP_API_VERSION, OBJ_CNP },
    { "Node", "v1", OBJ_NODE },
};

static const struct kind_info *
find_kind(const char *kind)
{
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        if (!strcmp(kind, kinds[i].kind)) {
            return &kinds[i];
        }
    }
    return NULL;
}

struct k8s_object *
object_from_json(const char *origin, const struct locator *locator,
                 const json_t *v,
                 const char *default_kind, const char *default_api_version,
                 bool skip_other, char **error)
{
    struct k8s_object *obj = NULL;
    struct vctx ctx;

    vctx_init(&ctx, origin, locator);
    *error = NULL;
    if (!vctx_check_type(&ctx, v, JSON_OBJECT, "an object")) {
        goto done;
    }

    const char *kind, *api_version;
    if (!vctx_get_string(&ctx, v, "kind", &kind)
        || !vctx_get_string(&ctx, v, "apiVersion", &api_version)) {
        goto done;
    }
    if (!kind) {
        kind = default_kind;
        api_version = api_version ? api_version : default_api_version;
    }
    if (!kind || !*kind) {
        vctx_fail_at(&ctx, "kind", "is required");
        goto done;
    }
    const struct kind_info *info = find_kind(kind);
    if (!info) {
        if (!skip_other) {
            vctx_fail_at(&ctx, "kind", "%s is not supported (must be "
                         "Namespace, Pod, NetworkPolicy, "
                         "ClusterNetworkPolicy or Node)",
                         vctx_quote(&ctx, kind));
        }
        goto done;
    }

    ctx.kind = info->kind;
    struct meta m;
    vctx_peek_meta(&ctx, v, !obj_kind_cluster_scoped(info->obj_kind), &m);
    if (!api_version || !*api_version) {
        vctx_fail_at(&ctx, "apiVersion", "is required");
        goto done;
    } else if (strcmp(api_version, info->api_version)) {
        vctx_fail_at(&ctx, "apiVersion", "%s is not supported for %s (must be "
                     "%s)", vctx_quote(&ctx, api_version), info->kind,
                     vctx_quote(&ctx, info->api_version));
        goto done;
    }

    obj = xmalloc(sizeof *obj);
    obj->kind = info->obj_kind;
    switch (info->obj_kind) {
    case OBJ_NAMESPACE:
        obj->ns = parse_namespace(&ctx, v);
        break;
    case OBJ_POD:
        obj->pod = parse_pod(&ctx, v);
        break;
    case OBJ_NETPOL:
        obj->np = parse_netpol(&ctx, v);
        break;
    case OBJ_CNP:
        obj->cnp = cnp_parse(&ctx, v);
        break;
    case OBJ_NODE:
        obj->node = parse_node(&ctx, v);
        break;
    }
    if (ctx.error) {
        free(obj);
        obj = NULL;
    }

done:
    if (ctx.error) {
        *error = ctx.error;
        ctx.error = NULL;
    }
    vctx_destroy(&ctx);
    return obj;
}

struct k8s_object *
objects_from_json(const char *origin, const void *json, char **error)
{
    return object_from_json(origin, NULL, json, NULL, NULL, false, error);
}

struct k8s_object *
objects_from_json_as(const char *origin, const void *json_,
                     enum obj_kind kind, char **error)
{
    const json_t *json = json_;
    assert(kind < ARRAY_SIZE(kinds) && kinds[kind].obj_kind == kind);
    const struct kind_info *info = &kinds[kind];

    const json_t *actual = json_object_get(json, "kind");
    if (json_is_string(actual) && *json_string_value(actual)
        && strcmp(json_string_value(actual), info->kind)) {
        struct vctx ctx;
        vctx_init(&ctx, origin, NULL);
        vctx_fail_at(&ctx, "kind", "%s is not %s",
                     vctx_quote(&ctx, json_string_value(actual)), info->kind);
        *error = ctx.error;
        ctx.error = NULL;
        vctx_destroy(&ctx);
        return NULL;
    }
    return object_from_json(origin, NULL, json, info->kind,
                            info->api_version, false, error);
}

/* Reads spec.policyTypes of the rejected policy 'spec' into 'np' as
 * objects_netpol_stand_in() says; returns false if they cannot be read. */
static bool
stand_in_policy_types(const json_t *spec, struct k8s_netpol *np)
{
    const json_t *types = obj_member(spec, "policyTypes");
    if (!types || (json_is_array(types) && !json_array_size(types))) {
        const json_t *egress = obj_member(spec, "egress");
        np->isolates_ingress = true;
        np->isolates_egress = (egress && !(json_is_array(egress)
                                           && !json_array_size(egress)));
        return true;
    } else if (!json_is_array(types) || json_array_size(types) > 2) {
        return false;
    }
    size_t i;
    const json_t *t;
    json_array_foreach (types, i, t) {
        const char *s = json_string_value(t);
        if (s && !strcmp(s, "Ingress")) {
            np->isolates_ingress = true;
        } else if (s && !strcmp(s, "Egress")) {
            np->isolates_egress = true;
        } else {
            return false;
        }
    }
    return true;
}

struct k8s_object *
objects_netpol_stand_in(const void *json_, const char *error)
{
    const json_t *v = json_;
    const json_t *meta = obj_member(v, "metadata");
    const char *name = json_string_value(obj_member(meta, "name"));
    const char *ns = json_string_value(obj_member(meta, "namespace"));
    const char *rv = json_string_value(obj_member(meta, "resourceVersion"));
    if (!json_is_object(v) || !name || !*name) {
        return NULL;
    }

    struct k8s_netpol *np = xcalloc(1, sizeof *np);
    np->namespace = xstrdup(ns && *ns ? ns : "default");
    np->name = xstrdup(name);
    np->resource_version = rv ? xstrdup(rv) : NULL;
    const char *uid = json_string_value(obj_member(meta, "uid"));
    np->uid = uid ? xstrdup(uid) : NULL;
    np->invalid = xstrdup(error);

    /* What cannot be read isolates more: every pod of the namespace, in
     * both directions. */
    selector_init(&np->pod_selector);
    const json_t *spec = obj_member(v, "spec");
    const json_t *sel = obj_member(spec, "podSelector");
    if (sel) {
        struct vctx ctx;
        vctx_init(&ctx, "", NULL);
        if (!json_is_object(sel)
            || !vctx_parse_selector(&ctx, sel, &np->pod_selector)) {
            selector_destroy(&np->pod_selector);
            selector_init(&np->pod_selector);
        }
        vctx_destroy(&ctx);
    }
    if ((spec && !json_is_object(spec))
        || !stand_in_policy_types(spec, np)) {
        np->isolates_ingress = np->isolates_egress = true;
    }

    struct k8s_object *obj = xmalloc(sizeof *obj);
    obj->kind = OBJ_NETPOL;
    obj->np = np;
    return obj;
}

struct k8s_object *
objects_stand_in(enum obj_kind kind, const void *json, const char *error)
{
    if (kind == OBJ_NETPOL) {
        return objects_netpol_stand_in(json, error);
    } else if (kind == OBJ_CNP) {
        struct k8s_cnp *cnp = cnp_stand_in(json, error);
        if (cnp) {
            struct k8s_object *obj = xmalloc(sizeof *obj);
            obj->kind = OBJ_CNP;
            obj->cnp = cnp;
            return obj;
        }
    }
    return NULL;
}

char *
list_check(const char *origin, const struct locator *loc,
           const json_t *items, int depth)
{
    struct vctx ctx;
    vctx_init(&ctx, origin, loc);
    if (depth >= MAX_LIST_DEPTH) {
        vctx_fail(&ctx, "a List may not be nested more than %d deep",
                  MAX_LIST_DEPTH);
    } else if (items && !json_is_null(items) && !json_is_array(items)) {
        vctx_fail_at(&ctx, "items", "must be an array, not %s",
                     vctx_describe(&ctx, items));
    }
    char *error = ctx.error;
    ctx.error = NULL;
    vctx_destroy(&ctx);
    return error;
}
