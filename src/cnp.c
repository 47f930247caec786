/* ClusterNetworkPolicy: one JSON value to one validated struct.  See
 * include/cnp.h for what is checked and why; the field paths, quoting and
 * messages are the objects module's (src/objects-int.h). */
#include "cnp.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "np-util.h"
#include "objects-int.h"

const char *
cnp_tier_name(enum cnp_tier tier)
{
    return tier == CNP_TIER_ADMIN ? "Admin" : "Baseline";
}

const char *
cnp_action_name(enum cnp_action action)
{
    switch (action) {
    case CNP_ACCEPT:
        return "Accept";
    case CNP_DENY:
        return "Deny";
    case CNP_PASS:
        return "Pass";
    }
    return "?";
}

const char *
cnp_peer_kind_name(enum cnp_peer_kind kind)
{
    switch (kind) {
    case CNP_PEER_NAMESPACES:
        return "namespaces";
    case CNP_PEER_PODS:
        return "pods";
    case CNP_PEER_NETWORKS:
        return "networks";
    case CNP_PEER_NODES:
        return "nodes";
    case CNP_PEER_DOMAIN_NAMES:
        return "domainNames";
    case CNP_PEER_UNKNOWN:
        return "unknown";
    }
    return "?";
}

/* Lifecycle. */

static void
cnp_pods_init(struct cnp_pods *p)
{
    selector_init(&p->ns_selector);
    selector_init(&p->pod_selector);
}

static void
cnp_pods_destroy(struct cnp_pods *p)
{
    selector_destroy(&p->ns_selector);
    selector_destroy(&p->pod_selector);
}

static void
cnp_peer_init(struct cnp_peer *peer)
{
    memset(peer, 0, sizeof *peer);
    cnp_pods_init(&peer->sel);
    selector_init(&peer->node_selector);
}

static void
cnp_peer_destroy(struct cnp_peer *peer)
{
    cnp_pods_destroy(&peer->sel);
    selector_destroy(&peer->node_selector);
    free(peer->networks);
    for (size_t i = 0; i < peer->n_domain_names; i++) {
        free(peer->domain_names[i]);
    }
    free(peer->domain_names);
    free(peer->unknown_fields);
}

static void
cnp_rules_free(struct cnp_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct cnp_rule *r = &rules[i];
        free(r->name);
        for (size_t j = 0; j < r->n_peers; j++) {
            cnp_peer_destroy(&r->peers[j]);
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
k8s_cnp_destroy(struct k8s_cnp *cnp)
{
    if (!cnp) {
        return;
    }
    free(cnp->name);
    free(cnp->resource_version);
    free(cnp->uid);
    cnp_pods_destroy(&cnp->subject.sel);
    cnp_rules_free(cnp->ingress, cnp->n_ingress);
    cnp_rules_free(cnp->egress, cnp->n_egress);
    for (size_t i = 0; i < cnp->n_warnings; i++) {
        free(cnp->warnings[i]);
    }
    free(cnp->warnings);
    free(cnp->invalid);
    free(cnp);
}

/* Parsing. */

/* The parse of one object: the validation context, and the object being
 * filled in (for its warnings). */
struct cnp_parse {
    struct vctx *ctx;
    struct k8s_cnp *cnp;
    size_t allocated_warnings;
};

/* Adds a warning at the current path, formatted as an error is.  Only
 * while there is no error: the first error ends the parse. */
static void add_warning(struct cnp_parse *, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_warning(struct cnp_parse *p, const char *format, ...)
{
    assert(!p->ctx->error);
    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);

    vctx_fail(p->ctx, "%s", msg);
    free(msg);
    APPEND(p->cnp->warnings, p->cnp->n_warnings, p->allocated_warnings,
           p->ctx->error);
    p->ctx->error = NULL;
}

/* How many characters the UTF-8 string 's' holds, as the API server
 * counts them for maxLength (jansson's strings are valid UTF-8). */
static size_t
utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        n += ((unsigned char) *s & 0xc0) != 0x80;
    }
    return n;
}

/* Member 'key' of 'obj', a LabelSelector, into 'sel' (initialized by the
 * caller); absent leaves 'sel' empty, unless 'required'. */
static bool
parse_selector_at(struct vctx *ctx, const json_t *obj, const char *key,
                  bool required, struct selector *sel)
{
    const json_t *v;
    if (!vctx_get_object(ctx, obj, key, &v)) {
        return false;
    }
    if (!v) {
        return !required || vctx_fail_at(ctx, key, "is required");
    }
    size_t mark = vctx_push(ctx, key);
    if (!vctx_parse_selector(ctx, v, sel)) {
        return false;
    }
    vctx_pop(ctx, mark);
    return true;
}

/* NamespacedPod: podSelector required, namespaceSelector optional. */
static bool
parse_namespaced_pod(struct vctx *ctx, const json_t *v, struct cnp_pods *sel)
{
    return (parse_selector_at(ctx, v, "namespaceSelector", false,
                              &sel->ns_selector)
            && parse_selector_at(ctx, v, "podSelector", true,
                                 &sel->pod_selector));
}

/* An object whose schema says "exactly one of 'keys'" (minProperties and
 * maxProperties 1, once the API server has pruned what it does not know).
 * Returns how many of them 'v' sets (null is unset) and stores the index
 * of the first in '*which' and of the second in '*other'. */
static size_t
count_set(const json_t *v, const char *const *keys, size_t n_keys,
          size_t *which, size_t *other)
{
    size_t n = 0;
    *which = *other = 0;
    for (size_t i = 0; i < n_keys; i++) {
        if (obj_member(v, keys[i])) {
            if (!n) {
                *which = i;
            } else if (n == 1) {
                *other = i;
            }
            n++;
        }
    }
    return n;
}

/* "a or b", "a, b or c", for messages. */
static char *
join_or(const char *const *keys, size_t n)
{
    char *s = xstrdup(keys[0]);
    for (size_t i = 1; i < n; i++) {
        char *t = xasprintf("%s%s%s", s, i == n - 1 ? " or " : ", ", keys[i]);
        free(s);
        s = t;
    }
    return s;
}

/* Fails because 'v' does not set exactly one of 'keys' ('n' is how many
 * it sets, 'which' and 'other' the first two). */
static bool
fail_one_of(struct vctx *ctx, const char *const *keys, size_t n_keys,
            size_t n, size_t which, size_t other)
{
    char *list = join_or(keys, n_keys);
    if (!n) {
        vctx_fail(ctx, "must set one of %s", list);
    } else {
        vctx_fail(ctx, "may set only one of %s (sets %s and %s)", list,
                  keys[which], keys[other]);
    }
    free(list);
    return false;
}

static bool
parse_subject(struct vctx *ctx, const json_t *spec, struct cnp_subject *subj)
{
    static const char *const keys[] = { "namespaces", "pods" };
    const json_t *v;
    if (!vctx_get_object(ctx, spec, "subject", &v)) {
        return false;
    } else if (!v) {
        return vctx_fail_at(ctx, "subject", "is required");
    }

    size_t mark = vctx_push(ctx, "subject");
    size_t which, other;
    size_t n = count_set(v, keys, ARRAY_SIZE(keys), &which, &other);
    if (n != 1) {
        return fail_one_of(ctx, keys, ARRAY_SIZE(keys), n, which, other);
    }
    if (which == 0) {
        if (!parse_selector_at(ctx, v, "namespaces", true,
                               &subj->sel.ns_selector)) {
            return false;
        }
    } else {
        const json_t *pods;
        if (!vctx_get_object(ctx, v, "pods", &pods)) {
            return false;
        }
        size_t mark2 = vctx_push(ctx, "pods");
        if (!parse_namespaced_pod(ctx, pods, &subj->sel)) {
            return false;
        }
        vctx_pop(ctx, mark2);
        subj->is_pods = true;
    }
    vctx_pop(ctx, mark);
    return true;
}

/* Member 'key' of 'obj', an array whose schema has minItems 1 and
 * maxItems 'max' ('what' and 'whats' name its items in messages); '*out'
 * NULL if absent, and then 'required' says whether that is an error. */
static bool
get_array_sized(struct vctx *ctx, const json_t *obj, const char *key,
                bool required, size_t max, const char *what,
                const char *whats, const json_t **out)
{
    if (!vctx_get_array(ctx, obj, key, out)) {
        return false;
    } else if (!*out) {
        return !required || vctx_fail_at(ctx, key, "is required");
    }
    size_t n = json_array_size(*out);
    if (!n) {
        return vctx_fail_at(ctx, key, "must hold at least 1 %s", what);
    } else if (n > max) {
        return vctx_fail_at(ctx, key, "may hold at most %zu %s, not %zu", max,
                            whats, n);
    }
    return true;
}

/* An item of a list of strings with list-type "set" (the current path is
 * its index): a string, different from the items before it. */
static bool
check_set_item(struct vctx *ctx, const json_t *array, size_t i)
{
    const json_t *v = json_array_get(array, i);
    if (!vctx_check_type(ctx, v, JSON_STRING, "a string")) {
        return false;
    }
    for (size_t j = 0; j < i; j++) {
        if (json_equal((json_t *) v, json_array_get(array, j))) {
            return vctx_fail(ctx, "duplicate value %s",
                             vctx_quote(ctx, json_string_value(v)));
        }
    }
    return true;
}

/* The CEL function isCIDR(): Go's netip.ParsePrefix() accepts 's' and its
 * address is not IPv4-mapped IPv6.  Returns NULL with the block, host bits
 * cleared, in '*cidr', or why not, to follow the quoted value. */
static const char *
parse_network(const char *s, struct cidr *cidr)
{
    const char *slash = strrchr(s, '/');
    if (!slash) {
        return "is not a CIDR (no prefix length)";
    }

    char buf[IP_ADDR_STRLEN];
    size_t len = slash - s;
    struct ip_addr addr;
    if (len >= sizeof buf) {
        return "is not a valid CIDR (bad address)";
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* inet_pton(): four decimal numbers without leading zeros, or IPv6
     * without a zone, as netip.ParseAddr(). */
    if (!ip_addr_parse(buf, &addr)) {
        return "is not a valid CIDR (bad address)";
    }
    static const uint8_t mapped[12] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
    };
    if (addr.family == AF_INET6 && !memcmp(addr.bytes, mapped, 12)) {
        return "is not a valid CIDR (an IPv4-mapped IPv6 address)";
    }

    /* Decimal, no sign, no leading zero. */
    const char *p = slash + 1;
    size_t digits = strspn(p, "0123456789");
    if (!digits || p[digits] || (digits > 1 && *p == '0') || digits > 3) {
        return "is not a valid CIDR (bad prefix length)";
    }
    if (atoi(p) > cidr_max_plen(addr.family)) {
        return (addr.family == AF_INET
                ? "is not a valid CIDR (prefix length above 32)"
                : "is not a valid CIDR (prefix length above 128)");
    }

    /* What is left is the value: the same parse, which clears the host
     * bits (accepting a superset of this syntax, it cannot fail). */
    const char *reason = cidr_parse_k8s(s, cidr, NULL, NULL);
    assert(!reason);
    return reason;
}

static bool
parse_networks(struct vctx *ctx, const json_t *peer_v,
               struct cnp_peer *peer)
{
    const json_t *array;
    if (!get_array_sized(ctx, peer_v, "networks", true, CNP_MAX_NETWORKS,
                         "CIDR", "CIDRs", &array)) {
        return false;
    }
    size_t n = json_array_size(array);
    peer->networks = xcalloc(n, sizeof *peer->networks);
    size_t mark = vctx_push(ctx, "networks");
    for (size_t i = 0; i < n; i++) {
        size_t mark2 = vctx_push_index(ctx, i);
        if (!check_set_item(ctx, array, i)) {
            return false;
        }
        const char *s = json_string_value(json_array_get(array, i));
        if (utf8_length(s) > CNP_CIDR_MAX) {
            return vctx_fail(ctx, "%s is longer than %d characters",
                             vctx_quote(ctx, s), CNP_CIDR_MAX);
        }
        const char *reason = parse_network(s, &peer->networks[i]);
        if (reason) {
            return vctx_fail(ctx, "%s %s", vctx_quote(ctx, s), reason);
        }
        peer->n_networks++;
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

/* The CRD's DomainName pattern,
 *
 *   ^(\*\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+
 *    [a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$
 *
 * taken as written: "A-z" also covers the six characters between 'Z' and
 * 'a' ("[\]^_`"), which may then start a label. */
static bool
dn_first(unsigned char c)
{
    return (c >= 'A' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
dn_last(unsigned char c)
{
    return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'));
}

static bool
dn_label(const char *s, size_t len)
{
    if (!len || !dn_first(s[0])) {
        return false;
    } else if (len == 1) {
        return true;
    } else if (!dn_last(s[len - 1])) {
        return false;
    }
    for (size_t i = 1; i < len - 1; i++) {
        if (s[i] != '-' && s[i] != '_' && !dn_last(s[i])) {
            return false;
        }
    }
    return true;
}

static bool
domain_name_valid(const char *s)
{
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '*' && s[1] == '.') {
        s += 2;
        len -= 2;
    }
    if (len && s[len - 1] == '.') {
        len--;
    }
    /* At least two labels, each followed by a dot but the last. */
    size_t n_labels = 0;
    for (;;) {
        const char *dot = memchr(s, '.', len);
        size_t label_len = dot ? (size_t) (dot - s) : len;
        if (!dn_label(s, label_len)) {
            return false;
        }
        n_labels++;
        if (!dot) {
            return n_labels >= 2;
        }
        s = dot + 1;
        len -= label_len + 1;
    }
}

static bool
parse_domain_names(struct vctx *ctx, const json_t *peer_v,
                   struct cnp_peer *peer)
{
    const json_t *array;
    if (!get_array_sized(ctx, peer_v, "domainNames", true,
                         CNP_MAX_DOMAIN_NAMES, "domain name", "domain names",
                         &array)) {
        return false;
    }
    size_t n = json_array_size(array);
    peer->domain_names = xcalloc(n, sizeof *peer->domain_names);
    size_t mark = vctx_push(ctx, "domainNames");
    for (size_t i = 0; i < n; i++) {
        size_t mark2 = vctx_push_index(ctx, i);
        if (!check_set_item(ctx, array, i)) {
            return false;
        }
        const char *s = json_string_value(json_array_get(array, i));
        if (!domain_name_valid(s)) {
            return vctx_fail(ctx, "%s is not a valid domain name (labels of "
                             "letters, digits, '-' and '_', at least two, "
                             "the first may be \"*\")", vctx_quote(ctx, s));
        }
        peer->domain_names[peer->n_domain_names++] = xstrdup(s);
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

/* The members of the peer 'v' that it sets, quoted, for messages. */
static char *
list_members(struct vctx *ctx, const json_t *v)
{
    char *s = xstrdup("");
    const char *key;
    const json_t *value;
    size_t n = 0;
    json_object_foreach ((json_t *) v, key, value) {
        if (json_is_null(value)) {
            continue;
        } else if (n++ == 3) {
            char *t = xasprintf("%s, ...", s);
            free(s);
            return t;
        }
        char *t = xasprintf("%s%s%s", s, *s ? ", " : "", vctx_quote(ctx, key));
        free(s);
        s = t;
    }
    return s;
}

/* What a rule does with a peer that matches nothing, for warnings. */
static void
warn_fail_closed(struct cnp_parse *p, const struct cnp_rule *rule,
                 bool egress, const char *what)
{
    if (rule->action == CNP_ACCEPT) {
        add_warning(p, "%s: this peer matches nothing (fail closed)",
                    what);
    } else {
        add_warning(p, "%s: this %s rule denies all %s traffic of the "
                    "policy's subject instead (fail closed)", what,
                    cnp_action_name(rule->action),
                    egress ? "egress" : "ingress");
    }
}

static bool
parse_peer(struct cnp_parse *p, const json_t *v, bool egress,
           struct cnp_rule *rule, struct cnp_peer *peer)
{
    static const char *const egress_keys[] = {
        "namespaces", "pods", "networks", "nodes", "domainNames"
    };
    static const enum cnp_peer_kind egress_kinds[] = {
        CNP_PEER_NAMESPACES, CNP_PEER_PODS, CNP_PEER_NETWORKS,
        CNP_PEER_NODES, CNP_PEER_DOMAIN_NAMES
    };
    struct vctx *ctx = p->ctx;
    /* Ingress knows the first two. */
    size_t n_keys = egress ? ARRAY_SIZE(egress_keys) : 2;

    size_t which, other;
    size_t n = count_set(v, egress_keys, n_keys, &which, &other);
    if (!n) {
        char *members = list_members(ctx, v);
        if (!*members) {
            free(members);
            return fail_one_of(ctx, egress_keys, n_keys, 0, 0, 0);
        }
        /* A newer API's peer: keep it, failing closed. */
        peer->kind = CNP_PEER_UNKNOWN;
        peer->unknown_fields = members;
        char *what = xasprintf("sets no peer field that this version "
                               "knows (it sets %s)", members);
        warn_fail_closed(p, rule, egress, what);
        free(what);
        return true;
    } else if (n > 1) {
        return fail_one_of(ctx, egress_keys, n_keys, n, which, other);
    }

    peer->kind = egress_kinds[which];
    switch (peer->kind) {
    case CNP_PEER_NAMESPACES:
        return parse_selector_at(ctx, v, "namespaces", true,
                                 &peer->sel.ns_selector);
    case CNP_PEER_PODS: {
        const json_t *pods;
        if (!vctx_get_object(ctx, v, "pods", &pods)) {
            return false;
        }
        size_t mark = vctx_push(ctx, "pods");
        if (!parse_namespaced_pod(ctx, pods, &peer->sel)) {
            return false;
        }
        vctx_pop(ctx, mark);
        return true;
    }
    case CNP_PEER_NETWORKS:
        return parse_networks(ctx, v, peer);
    case CNP_PEER_NODES:
        return parse_selector_at(ctx, v, "nodes", true, &peer->node_selector);
    case CNP_PEER_DOMAIN_NAMES: {
        if (!parse_domain_names(ctx, v, peer)) {
            return false;
        }
        size_t mark = vctx_push(ctx, "domainNames");
        warn_fail_closed(p, rule, egress,
                         "domain name peers are not supported");
        vctx_pop(ctx, mark);
        return true;
    }
    case CNP_PEER_UNKNOWN:
    default:
        abort();
    }
}

/* Adds 'port' to the rule's ports. */
static void
add_port(struct cnp_rule *rule, size_t *allocated, enum np_proto proto,
         const char *name, uint16_t port, uint16_t end_port)
{
    struct np_port np = {
        .proto = proto,
        .name = name ? xstrdup(name) : NULL,
        .port = port,
        .end_port = end_port,
    };
    APPEND(rule->ports, rule->n_ports, *allocated, np);
}

/* 'v', the tcp, udp or sctp member of a protocol entry. */
static bool
parse_proto_port(struct vctx *ctx, const json_t *v, enum np_proto proto,
                 struct cnp_rule *rule, size_t *allocated)
{
    static const char *const keys[] = { "number", "range" };
    const json_t *dport;
    if (!vctx_get_object(ctx, v, "destinationPort", &dport)) {
        return false;
    } else if (!dport) {
        /* minProperties 1, and it is the only property. */
        return vctx_fail_at(ctx, "destinationPort", "is required");
    }

    size_t mark = vctx_push(ctx, "destinationPort");
    size_t which, other;
    size_t n = count_set(dport, keys, ARRAY_SIZE(keys), &which, &other);
    if (n != 1) {
        return fail_one_of(ctx, keys, ARRAY_SIZE(keys), n, which, other);
    }
    if (which == 0) {
        const json_t *num;
        if (!vctx_get_int(ctx, dport, "number", &num)
            || !vctx_check_port_num(ctx, "number", num)) {
            return false;
        }
        add_port(rule, allocated, proto, NULL, json_integer_value(num), 0);
    } else {
        const json_t *range, *start, *end;
        if (!vctx_get_object(ctx, dport, "range", &range)) {
            return false;
        }
        size_t mark2 = vctx_push(ctx, "range");
        if (!vctx_get_int(ctx, range, "start", &start)
            || !vctx_get_int(ctx, range, "end", &end)) {
            return false;
        } else if (!start) {
            return vctx_fail_at(ctx, "start", "is required");
        } else if (!end) {
            return vctx_fail_at(ctx, "end", "is required");
        } else if (!vctx_check_port_num(ctx, "start", start)
                   || !vctx_check_port_num(ctx, "end", end)) {
            return false;
        }
        json_int_t s = json_integer_value(start);
        json_int_t e = json_integer_value(end);
        if (s >= e) {
            /* The CEL rule's message. */
            return vctx_fail(ctx, "Start port must be less than End port "
                             "(start %" JSON_INTEGER_FORMAT ", end %"
                             JSON_INTEGER_FORMAT ")", s, e);
        }
        add_port(rule, allocated, proto, NULL, s, e);
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

/* Parses the rule's protocols; '*has_named' tells whether one is a
 * destinationNamedPort. */
static bool
parse_protocols(struct vctx *ctx, const json_t *rule_v,
                struct cnp_rule *rule, bool *has_named)
{
    static const char *const keys[] = {
        "tcp", "udp", "sctp", "destinationNamedPort"
    };
    static const enum np_proto protos[] = { NP_TCP, NP_UDP, NP_SCTP };
    const json_t *array;
    *has_named = false;
    if (!get_array_sized(ctx, rule_v, "protocols", false, CNP_MAX_PROTOCOLS,
                         "protocol", "protocols", &array)) {
        return false;
    } else if (!array) {
        return true;
    }

    size_t allocated = 0;
    size_t mark = vctx_push(ctx, "protocols");
    size_t i;
    const json_t *v;
    json_array_foreach (array, i, v) {
        size_t mark2 = vctx_push_index(ctx, i);
        if (!vctx_check_type(ctx, v, JSON_OBJECT, "an object")) {
            return false;
        }
        size_t which, other;
        size_t n = count_set(v, keys, ARRAY_SIZE(keys), &which, &other);
        if (n != 1) {
            return fail_one_of(ctx, keys, ARRAY_SIZE(keys), n, which, other);
        }
        if (which < ARRAY_SIZE(protos)) {
            const json_t *proto_v;
            if (!vctx_get_object(ctx, v, keys[which], &proto_v)) {
                return false;
            }
            size_t mark3 = vctx_push(ctx, keys[which]);
            if (!parse_proto_port(ctx, proto_v, protos[which], rule,
                                  &allocated)) {
                return false;
            }
            vctx_pop(ctx, mark3);
        } else {
            const char *name;
            if (!vctx_get_string(ctx, v, "destinationNamedPort", &name)) {
                return false;
            }
            /* Any protocol: a container port has one, so the three
             * entries together match exactly the port so named. */
            for (size_t k = 0; k < ARRAY_SIZE(protos); k++) {
                add_port(rule, &allocated, protos[k], name, 0, 0);
            }
            *has_named = true;
        }
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

static bool
parse_rule(struct cnp_parse *p, const json_t *v, bool egress,
           struct cnp_rule *rule)
{
    struct vctx *ctx = p->ctx;
    const char *peers_key = egress ? "to" : "from";

    const char *name, *action;
    if (!vctx_get_string(ctx, v, "name", &name)
        || !vctx_get_string(ctx, v, "action", &action)) {
        return false;
    }
    if (name && utf8_length(name) > CNP_RULE_NAME_MAX) {
        return vctx_fail_at(ctx, "name", "may be at most %d characters, not "
                            "%zu", CNP_RULE_NAME_MAX, utf8_length(name));
    }
    rule->name = name && *name ? xstrdup(name) : NULL;

    if (!action) {
        return vctx_fail_at(ctx, "action", "is required");
    } else if (!strcmp(action, "Accept")) {
        rule->action = CNP_ACCEPT;
    } else if (!strcmp(action, "Deny")) {
        rule->action = CNP_DENY;
    } else if (!strcmp(action, "Pass")) {
        rule->action = CNP_PASS;
    } else {
        return vctx_fail_at(ctx, "action", "%s is not a valid action (must "
                            "be Accept, Deny or Pass)",
                            vctx_quote(ctx, action));
    }

    const json_t *peers;
    if (!get_array_sized(ctx, v, peers_key, true, CNP_MAX_PEERS, "peer",
                         "peers", &peers)) {
        return false;
    }
    rule->peers = xcalloc(json_array_size(peers), sizeof *rule->peers);
    bool has_address_peer = false;
    size_t mark = vctx_push(ctx, peers_key);
    size_t i;
    const json_t *peer_v;
    json_array_foreach (peers, i, peer_v) {
        size_t mark2 = vctx_push_index(ctx, i);
        if (!vctx_check_type(ctx, peer_v, JSON_OBJECT, "an object")) {
            return false;
        }
        struct cnp_peer *peer = &rule->peers[rule->n_peers++];
        cnp_peer_init(peer);
        if (!parse_peer(p, peer_v, egress, rule, peer)) {
            return false;
        }
        if (peer->kind == CNP_PEER_DOMAIN_NAMES
            || peer->kind == CNP_PEER_UNKNOWN) {
            rule->deny_all = rule->action != CNP_ACCEPT;
        }
        has_address_peer |= (peer->kind == CNP_PEER_NETWORKS
                             || peer->kind == CNP_PEER_NODES
                             || peer->kind == CNP_PEER_DOMAIN_NAMES);
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);

    bool has_named;
    if (!parse_protocols(ctx, v, rule, &has_named)) {
        return false;
    }
    if (egress && has_address_peer && has_named) {
        /* The CEL rule of ClusterNetworkPolicyEgressRule, its message. */
        return vctx_fail(ctx, "networks/nodes/domainNames peer cannot be set "
                         "with namedPorts since there are no namedPorts for "
                         "networks/nodes/domainNames");
    }
    return true;
}

static bool
parse_rules(struct cnp_parse *p, const json_t *spec, bool egress,
            struct cnp_rule **rules, size_t *n_rules)
{
    struct vctx *ctx = p->ctx;
    const char *key = egress ? "egress" : "ingress";
    const json_t *array;
    if (!vctx_get_array(ctx, spec, key, &array)) {
        return false;
    } else if (!array || !json_array_size(array)) {
        return true;
    } else if (json_array_size(array) > CNP_MAX_RULES) {
        return vctx_fail_at(ctx, key, "may hold at most %d rules, not %zu",
                            CNP_MAX_RULES, json_array_size(array));
    }

    *rules = xcalloc(json_array_size(array), sizeof **rules);
    size_t mark = vctx_push(ctx, key);
    size_t i;
    const json_t *v;
    json_array_foreach (array, i, v) {
        size_t mark2 = vctx_push_index(ctx, i);
        if (!vctx_check_type(ctx, v, JSON_OBJECT, "an object")) {
            return false;
        }
        /* The rule's members are owned by the array from here on. */
        (*n_rules)++;
        if (!parse_rule(p, v, egress, &(*rules)[i])) {
            return false;
        }
        vctx_pop(ctx, mark2);
    }
    vctx_pop(ctx, mark);
    return true;
}

static bool
parse_spec(struct cnp_parse *p, const json_t *spec)
{
    struct vctx *ctx = p->ctx;
    struct k8s_cnp *cnp = p->cnp;

    const char *tier;
    const json_t *priority;
    if (!vctx_get_string(ctx, spec, "tier", &tier)) {
        return false;
    } else if (!tier) {
        return vctx_fail_at(ctx, "tier", "is required");
    } else if (!strcmp(tier, "Admin")) {
        cnp->tier = CNP_TIER_ADMIN;
    } else if (!strcmp(tier, "Baseline")) {
        cnp->tier = CNP_TIER_BASELINE;
    } else {
        return vctx_fail_at(ctx, "tier", "%s is not a valid tier (must be "
                            "Admin or Baseline)", vctx_quote(ctx, tier));
    }

    if (!vctx_get_int(ctx, spec, "priority", &priority)) {
        return false;
    } else if (!priority) {
        return vctx_fail_at(ctx, "priority", "is required");
    }
    json_int_t prio = json_integer_value(priority);
    if (prio < 0 || prio > CNP_PRIORITY_MAX) {
        return vctx_fail_at(ctx, "priority", "%" JSON_INTEGER_FORMAT " is not "
                            "a valid priority (must be between 0 and %d)",
                            prio, CNP_PRIORITY_MAX);
    }
    cnp->priority = prio;

    return (parse_subject(ctx, spec, &cnp->subject)
            && parse_rules(p, spec, false, &cnp->ingress, &cnp->n_ingress)
            && parse_rules(p, spec, true, &cnp->egress, &cnp->n_egress));
}

struct k8s_cnp *
cnp_parse(struct vctx *ctx, const void *json)
{
    const json_t *v = json;
    assert(ctx->kind && !strcmp(ctx->kind, CNP_KIND));

    struct k8s_cnp *cnp = xcalloc(1, sizeof *cnp);
    cnp_pods_init(&cnp->subject.sel);
    struct cnp_parse p = { .ctx = ctx, .cnp = cnp };

    struct meta m;
    struct labels labels;
    labels_init(&labels);
    /* Cluster-scoped: metadata.namespace is not read (the API server
     * clears it), so messages name the policy alone, whatever a caller
     * that reads namespaced kinds too has put in 'ctx->ns'. */
    ctx->ns = NULL;
    vctx_peek_meta(ctx, v, false, &m);
    bool ok = vctx_parse_meta(ctx, v, false, NAME_DNS_SUBDOMAIN, &labels, &m);
    labels_destroy(&labels);

    const json_t *spec;
    if (!ok || !vctx_get_object(ctx, v, "spec", &spec)) {
        goto error;
    } else if (!spec) {
        vctx_fail_at(ctx, "spec", "is required");
        goto error;
    }
    size_t mark = vctx_push(ctx, "spec");
    if (!parse_spec(&p, spec)) {
        goto error;
    }
    vctx_pop(ctx, mark);

    cnp->name = xstrdup(m.name);
    cnp->resource_version = (m.resource_version
                             ? xstrdup(m.resource_version) : NULL);
    cnp->uid = m.uid ? xstrdup(m.uid) : NULL;
    return cnp;

error:
    k8s_cnp_destroy(cnp);
    return NULL;
}

/* Whether rules member 'key' of 'spec' is absent, null or []: then the
 * policy has no rules of that direction, whatever else is wrong. */
static bool
no_rules(const json_t *spec, const char *key)
{
    const json_t *r = json_object_get(spec, key);
    return !r || json_is_null(r) || (json_is_array(r) && !json_array_size(r));
}

struct k8s_cnp *
cnp_stand_in(const void *json, const char *error)
{
    const json_t *v = json;
    const json_t *meta = obj_member(v, "metadata");
    const char *name = json_string_value(obj_member(meta, "name"));
    if (!json_is_object(v) || !name || !*name) {
        return NULL;
    }
    struct k8s_cnp *cnp = xcalloc(1, sizeof *cnp);
    cnp_pods_init(&cnp->subject.sel);
    cnp->name = xstrdup(name);
    const char *rv = json_string_value(obj_member(meta, "resourceVersion"));
    const char *uid = json_string_value(obj_member(meta, "uid"));
    cnp->resource_version = rv ? xstrdup(rv) : NULL;
    cnp->uid = uid ? xstrdup(uid) : NULL;
    cnp->invalid = xstrdup(error);

    /* What cannot be read denies more: first in the admin tier, every
     * pod, both directions. */
    const json_t *spec = obj_member(v, "spec");
    bool readable = json_is_object(spec);
    const char *tier = json_string_value(obj_member(spec, "tier"));
    cnp->tier = (tier && !strcmp(tier, "Baseline") ? CNP_TIER_BASELINE
                 : CNP_TIER_ADMIN);
    const json_t *prio = obj_member(spec, "priority");
    if (json_is_integer(prio) && json_integer_value(prio) >= 0
        && json_integer_value(prio) <= CNP_PRIORITY_MAX) {
        cnp->priority = json_integer_value(prio);
    }
    struct vctx ctx;
    vctx_init(&ctx, "", NULL);
    if (!readable || !parse_subject(&ctx, spec, &cnp->subject)) {
        cnp_pods_destroy(&cnp->subject.sel);
        cnp_pods_init(&cnp->subject.sel);
        cnp->subject.is_pods = false;
    }
    vctx_destroy(&ctx);
    for (int egress = 0; egress < 2; egress++) {
        if (readable && no_rules(spec, egress ? "egress" : "ingress")) {
            continue;
        }
        struct cnp_rule *r = xcalloc(1, sizeof *r);
        r->action = CNP_DENY;
        r->deny_all = true;
        if (egress) {
            cnp->egress = r;
            cnp->n_egress = 1;
        } else {
            cnp->ingress = r;
            cnp->n_ingress = 1;
        }
    }
    return cnp;
}

int
cnp_compare_order(const void *a_, const void *b_)
{
    const struct k8s_cnp *a = *(const struct k8s_cnp *const *) a_;
    const struct k8s_cnp *b = *(const struct k8s_cnp *const *) b_;
    if (a->priority != b->priority) {
        return a->priority < b->priority ? -1 : 1;
    }
    return strcmp(a->name, b->name);
}

char *
cnp_rule_name_text(const struct cnp_rule *rule)
{
    if (!rule->name) {
        return xstrdup("");
    }
    char *q = np_quote(rule->name, strlen(rule->name));
    char *s = xasprintf(" %s", q);
    free(q);
    return s;
}

const char *
cnp_rule_action_text(const struct k8s_cnp *cnp, const struct cnp_rule *rule)
{
    return (cnp->invalid
            ? "Deny (the fail-closed stand-in of a rejected policy: every "
              "connection)"
            : rule->deny_all ? "Deny (fails closed: every connection)"
            : cnp_action_name(rule->action));
}

void
cnp_for_each_peer(const struct k8s_cnp *cnp,
                  void (*cb)(void *aux, const struct k8s_cnp *, bool ingress,
                             const struct cnp_rule *, const struct cnp_peer *),
                  void *aux)
{
    for (int ingress = 0; ingress < 2; ingress++) {
        const struct cnp_rule *rules = ingress ? cnp->ingress : cnp->egress;
        size_t n = ingress ? cnp->n_ingress : cnp->n_egress;
        for (size_t r = 0; r < n; r++) {
            for (size_t k = 0; k < rules[r].n_peers; k++) {
                cb(aux, cnp, ingress, &rules[r], &rules[r].peers[k]);
            }
        }
    }
}

struct k8s_cnp *
cnp_from_json(const char *origin, const void *json, char **error)
{
    const json_t *v = json;
    struct k8s_cnp *cnp = NULL;
    struct vctx ctx;

    assert(origin);
    vctx_init(&ctx, origin, NULL);
    const char *kind, *api_version;
    if (!vctx_check_type(&ctx, v, JSON_OBJECT, "an object")
        || !vctx_get_string(&ctx, v, "kind", &kind)
        || !vctx_get_string(&ctx, v, "apiVersion", &api_version)) {
        goto done;
    }
    if (kind && *kind && strcmp(kind, CNP_KIND)) {
        vctx_fail_at(&ctx, "kind", "%s is not %s", vctx_quote(&ctx, kind),
                     CNP_KIND);
        goto done;
    }

    ctx.kind = CNP_KIND;
    struct meta m;
    vctx_peek_meta(&ctx, v, false, &m);
    if (api_version && *api_version && strcmp(api_version, CNP_API_VERSION)) {
        vctx_fail_at(&ctx, "apiVersion", "%s is not supported for %s (must "
                     "be %s)", vctx_quote(&ctx, api_version), CNP_KIND,
                     vctx_quote(&ctx, CNP_API_VERSION));
        goto done;
    }
    cnp = cnp_parse(&ctx, v);

done:
    *error = ctx.error;
    ctx.error = NULL;
    vctx_destroy(&ctx);
    return cnp;
}
