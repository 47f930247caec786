/* What our flows do to a packet, in words.  See include/trace.h. */
#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "addr.h"
#include "cluster.h"
#include "cnp.h"
#include "cookie.h"
#include "labels.h"
#include "objects.h"
#include "pipeline.h"
#include "np-util.h"

/* ---- Cookies. ---- */

static bool
parse_hex64(const char *s, uint64_t *value, const char **end)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    if (!isxdigit((unsigned char) *s)) {
        return false;
    }
    uint64_t v = 0;
    size_t n = 0;
    for (; isxdigit((unsigned char) *s); s++, n++) {
        if (n >= 16) {
            return false;
        }
        int d = isdigit((unsigned char) *s) ? *s - '0'
                : tolower((unsigned char) *s) - 'a' + 10;
        v = (v << 4) | (uint64_t) d;
    }
    *value = v;
    *end = s;
    return true;
}

char *
trace_cookie_parse(const char *text, uint64_t *cookie)
{
    const char *p = text;
    while (isspace((unsigned char) *p)) {
        p++;
    }
    const char *end;
    const char *key = strstr(p, "cookie=");
    if (!key) {
        key = strstr(p, "cookie ");
    }
    if (key) {
        if (!parse_hex64(key + 7, cookie, &end)) {
            return xasprintf("\"%.60s\": no hexadecimal number after "
                             "\"cookie\"", key);
        }
        return NULL;
    }
    if (parse_hex64(p, cookie, &end)) {
        while (isspace((unsigned char) *end)) {
            end++;
        }
        if (!*end) {
            return NULL;
        }
    }
    return xasprintf("\"%.80s\" is neither a cookie (hexadecimal, e.g. "
                     "0x4e50000300001800) nor a flow with \"cookie=0x...\"",
                     text);
}

static char *
policy_label(uint32_t pno, trace_policy_name_fn *name_fn, void *aux)
{
    const char *name = name_fn ? name_fn(aux, pno) : NULL;
    return name ? xstrdup(name)
           : xasprintf("#%"PRIu32" (a policy number the daemon does not know "
                       "now: deleted since?)", pno);
}

/* "ClusterNetworkPolicy NAME" for policy number 'pno', whether the name
 * callback gives the flow set's "ClusterNetworkPolicy NAME" or the bare
 * name (malloc'd). */
static char *
cnp_label(uint32_t pno, trace_policy_name_fn *name_fn, void *aux)
{
    const char *name = name_fn ? name_fn(aux, pno) : NULL;
    static const char kind[] = "ClusterNetworkPolicy ";
    return (!name
            ? xasprintf("%s#%"PRIu32" (a policy number the daemon does not "
                        "know now: deleted since?)", kind, pno)
            : !strncmp(name, kind, sizeof kind - 1) ? xstrdup(name)
            : xasprintf("%s%s", kind, name));
}

/* "ClusterNetworkPolicy NAME" 'sep' " egress rule N" and, if the caller
 * knows the rule's name, " (\"RULE\")" (malloc'd). */
static char *
cnp_rule_label(const struct np_cookie *c, const char *sep,
               trace_policy_name_fn *name_fn, trace_rule_name_fn *rule_fn,
               void *aux)
{
    char *p = cnp_label(c->policy, name_fn, aux);
    const char *rule = rule_fn ? rule_fn(aux, c->policy, c->ingress, c->rule)
                       : NULL;
    /* A rule's name is any text (up to 100 characters): quoted, so that
     * a newline in it cannot make a line of its own. */
    char *q = rule ? np_quote(rule, strlen(rule)) : NULL;
    char *s = (rule
               ? xasprintf("%s%s %s rule %u (%s)", p, sep,
                           c->ingress ? "ingress" : "egress", c->rule, q)
               : xasprintf("%s%s %s rule %u", p, sep,
                           c->ingress ? "ingress" : "egress", c->rule));
    free(q);
    free(p);
    return s;
}

char *
trace_cookie_describe(uint64_t cookie, trace_policy_name_fn *name_fn,
                      trace_rule_name_fn *rule_fn, void *aux)
{
    struct np_cookie c;
    if (!np_cookie_decode(cookie, &c)) {
        return xasprintf("cookie %#"PRIx64" is not an ovs-netpol cookie "
                         "(ours are 0x4e50...): someone else's flow", cookie);
    }
    const char *dir = c.ingress ? "ingress" : "egress";
    switch (c.kind) {
    case NPC_INFRA:
        return xstrdup("infrastructure flow: classify (with the drops of "
                       "ports that may send no IP), conntrack state, spoof "
                       "guard, commit, or a table's miss");
    case NPC_CLAUSE:
        return xstrdup("conjunction clause flow, shared by every rule that "
                       "uses its address or port (its conjunction(ID,k/n) "
                       "actions name the rules' conj_ids)");
    case NPC_RULE: {
        char *p = policy_label(c.policy, name_fn, aux);
        char *s = xasprintf("NetworkPolicy %s, %s rule %u", p, dir, c.rule);
        free(p);
        return s;
    }
    case NPC_ISOLATION: {
        char *p = policy_label(c.policy, name_fn, aux);
        char *s = xasprintf("default deny for %s of the pods that "
                            "NetworkPolicy %s isolates for %s (the first of "
                            "the policies isolating them)", dir, p, dir);
        free(p);
        return s;
    }
    case NPC_AUDIT: {
        char *p = policy_label(c.policy, name_fn, aux);
        char *s = xasprintf("audit copy of the new connections that "
                            "NetworkPolicy %s, %s rule %u allows (its "
                            "namespace is audited: ovs-netpol.io/audit)", p,
                            dir, c.rule);
        free(p);
        return s;
    }
    case NPC_CNP:
        /* The tier is the table's, which the cookie does not hold. */
        return cnp_rule_label(&c, ",", name_fn, rule_fn, aux);
    default:
        return xasprintf("an ovs-netpol cookie of unknown kind %u", c.kind);
    }
}

/* ---- A pod's policies. ---- */

/* Whether 'cnp''s subject selects 'pod' in a namespace labelled
 * 'ns_labels'. */
static bool
cnp_selects(const struct k8s_cnp *cnp, const struct k8s_pod *pod,
            const struct labels *ns_labels)
{
    return (!pod->host_network
            && selector_matches(&cnp->subject.sel.ns_selector, ns_labels)
            && selector_matches(&cnp->subject.sel.pod_selector,
                                &pod->labels));
}

/* The lines of one tier and direction: the policies of 'cnps' (sorted)
 * of 'tier' that select the pod and have rules in that direction. */
static void
explain_tier(FILE *out, const struct k8s_cnp *const *cnps, size_t n,
             const struct k8s_pod *pod, const struct labels *ns_labels,
             enum cnp_tier tier, bool ingress, bool isolated)
{
    const char *label = tier == CNP_TIER_ADMIN ? "admin" : "baseline";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct k8s_cnp *cnp = cnps[i];
        size_t n_rules = ingress ? cnp->n_ingress : cnp->n_egress;
        if (cnp->tier != tier || !n_rules
            || !cnp_selects(cnp, pod, ns_labels)) {
            continue;
        }
        if (!k++) {
            fprintf(out, "    %s tier:\n", label);
        }
        fprintf(out, "      %zu. %s %s (priority %d):", k, CNP_KIND,
                cnp->name, cnp->priority);
        for (size_t r = 0; r < n_rules; r++) {
            const struct cnp_rule *rule = &(ingress ? cnp->ingress
                                            : cnp->egress)[r];
            char *name = cnp_rule_name_text(rule);
            fprintf(out, "%s %s rule %zu%s: %s", r ? "," : "",
                    ingress ? "ingress" : "egress", r, name,
                    cnp_rule_action_text(cnp, rule));
            free(name);
        }
        fputc('\n', out);
    }
    if (!k) {
        fprintf(out, "    %s tier:%s none\n", label,
                tier == CNP_TIER_ADMIN ? "   " : "");
    } else if (tier == CNP_TIER_BASELINE && isolated) {
        fprintf(out, "      (not reached: NetworkPolicy decides every "
                "connection of a pod it isolates)\n");
    }
}

char *
trace_explain_pod(const struct cluster *cl, const char *ns, const char *name)
{
    const struct k8s_pod *pod = cluster_find_pod(cl, ns, name);
    if (!pod) {
        return NULL;
    }
    /* The API server gives every namespace this label; a namespace the
     * cluster does not know (yet) has no others. */
    const struct k8s_namespace *nso = cluster_find_namespace(cl, ns);
    struct labels ns_labels;
    labels_init(&ns_labels);
    if (nso) {
        labels_clone(&ns_labels, &nso->labels);
    }
    labels_set(&ns_labels, "kubernetes.io/metadata.name", ns);

    size_t n_cnps;
    const struct k8s_cnp *const *all = cluster_cnps(cl, &n_cnps);
    const struct k8s_cnp **cnps = xmalloc((n_cnps + 1) * sizeof *cnps);
    memcpy(cnps, all, n_cnps * sizeof *cnps);
    np_qsort(cnps, n_cnps, sizeof *cnps, cnp_compare_order);
    size_t n_nps;
    const struct k8s_netpol *const *nps = cluster_netpols(cl, &n_nps);

    size_t size = 0;
    char *buf = NULL;
    FILE *out = open_memstream(&buf, &size);
    if (!out) {
        abort();
    }
    fprintf(out, "pod %s/%s (", ns, name);
    for (size_t i = 0; i < pod->n_ips; i++) {
        char a[IP_ADDR_STRLEN];
        ip_addr_format(&pod->ips[i], a);
        fprintf(out, "%s%s", i ? ", " : "", a);
    }
    fprintf(out, "%snode %s)%s\n", pod->n_ips ? ", " : "no address yet, ",
            pod->node_name ? pod->node_name : "none",
            !nso ? ": its namespace is not known" : "");
    if (pod->host_network) {
        fputs("  hostNetwork: no policy selects or isolates it (it is its "
              "node)\n", out);
    } else if (pod->phase == POD_SUCCEEDED || pod->phase == POD_FAILED) {
        fputs("  finished: it has no flows\n", out);
    }
    for (int ingress = 0; ingress < 2; ingress++) {
        fprintf(out, "%s (connections %s%s/%s%s):\n",
                ingress ? "ingress" : "egress", ingress ? "to " : "", ns,
                name, ingress ? "" : " opens");
        explain_tier(out, cnps, n_cnps, pod, &ns_labels, CNP_TIER_ADMIN,
                     ingress, false);
        size_t k = 0;
        for (size_t i = 0; !pod->host_network && i < n_nps; i++) {
            const struct k8s_netpol *np = nps[i];
            if (strcmp(np->namespace, ns)
                || !(ingress ? np->isolates_ingress : np->isolates_egress)
                || !selector_matches(&np->pod_selector, &pod->labels)) {
                continue;
            }
            size_t n_rules = ingress ? np->n_ingress : np->n_egress;
            fprintf(out, "%s%s/%s (%zu %s rule%s%s)", k++ ? ", "
                    : "    NetworkPolicy: isolated by ", np->namespace,
                    np->name, n_rules, ingress ? "ingress" : "egress",
                    n_rules == 1 ? "" : "s",
                    np->invalid ? "; invalid: isolating with no rules" : "");
        }
        fputs(k ? "\n" : "    NetworkPolicy: not isolated\n", out);
        explain_tier(out, cnps, n_cnps, pod, &ns_labels, CNP_TIER_BASELINE,
                     ingress, k > 0);
    }
    fclose(out);
    free(cnps);
    labels_destroy(&ns_labels);
    return buf;
}

/* ---- Parsing ofproto/trace. ---- */

void
trace_result_destroy(struct trace_result *r)
{
    for (size_t i = 0; i < r->n_sections; i++) {
        struct trace_section *s = &r->sections[i];
        for (size_t j = 0; j < s->n_hits; j++) {
            free(s->hits[j].match);
            free(s->hits[j].actions);
        }
        free(s->hits);
        free(s->datapath_actions);
        free(s->ct_state);
    }
    free(r->sections);
    memset(r, 0, sizeof *r);
}

static struct trace_section *
new_section(struct trace_result *r)
{
    struct trace_section s = { .hits = NULL };
    APPEND(r->sections, r->n_sections, r->allocated_sections, s);
    return &r->sections[r->n_sections - 1];
}

static char *
trim_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char) *s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char) s[n - 1])) {
        n--;
    }
    return xmemdup0(s, n);
}

/* Finds the last occurrence of 'needle' in the first 'n' bytes of 's'. */
static const char *
find_last(const char *s, size_t n, const char *needle)
{
    size_t len = strlen(needle);
    for (size_t i = n >= len ? n - len + 1 : 0; i-- > 0; ) {
        if (!memcmp(s + i, needle, len)) {
            return s + i;
        }
    }
    return NULL;
}

/* Parses "MATCH, priority P, cookie 0xC", "priority P", "No match." ...
 * (the text after "N. ").  Returns false if it is none of them. */
static bool
parse_hit_rest(const char *rest, size_t n, struct trace_hit *h)
{
    if (n >= 8 && !memcmp(rest, "No match", 8)) {
        h->no_match = true;
        h->match = xstrdup("");
        return true;
    }
    size_t body = n;
    const char *ck = find_last(rest, n, ", cookie ");
    if (ck) {
        const char *end;
        if (!parse_hex64(ck + 9, &h->cookie, &end)) {
            return false;
        }
        body = ck - rest;
    }
    const char *pr;
    size_t match_len;
    if (body >= 9 && !memcmp(rest, "priority ", 9)) {
        pr = rest + 9;
        match_len = 0;
    } else {
        pr = find_last(rest, body, ", priority ");
        if (!pr) {
            return false;
        }
        match_len = pr - rest;
        pr += 11;
    }
    char *end;
    errno = 0;
    unsigned long prio = strtoul(pr, &end, 10);
    if (errno || end == pr || prio > 65535 || end != rest + body) {
        return false;
    }
    h->priority = prio;
    h->match = trim_dup(rest, match_len);
    return true;
}

char *
trace_parse(const char *text, struct trace_result *r)
{
    memset(r, 0, sizeof *r);
    struct trace_section *s = new_section(r);
    struct trace_hit *last = NULL;
    unsigned int last_col = 0;
    bool any_actions = false;
    for (const char *line = text; *line; ) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t) (nl - line) : strlen(line);
        const char *next = nl ? nl + 1 : line + len;

        size_t indent = 0;
        while (indent < len && line[indent] == ' ') {
            indent++;
        }
        const char *p = line + indent;
        size_t plen = len - indent;
        size_t digits = 0;
        while (digits < plen && isdigit((unsigned char) p[digits])) {
            digits++;
        }
        if (!strncmp(line, "recirc(", 7)) {
            /* "recirc(0x1) - resume conntrack with ct_state=new|trk" */
            s = new_section(r);
            last = NULL;
            const char *cs = find_last(line, len, "ct_state=");
            if (cs) {
                cs += 9;
                s->ct_state = trim_dup(cs, strcspn(cs, " \n"));
            }
        } else if (!strncmp(line, "Datapath actions: ", 18)) {
            free(s->datapath_actions);
            s->datapath_actions = trim_dup(line + 18, len - 18);
            any_actions = true;
            last = NULL;
        } else if (digits && digits <= 3 && plen > digits + 2
                   && p[digits] == '.' && p[digits + 1] == ' ') {
            struct trace_hit h = { .table = atoi(p) };
            if (h.table > 255
                || !parse_hit_rest(p + digits + 2, plen - digits - 2, &h)) {
                free(h.match);
                char *msg = xasprintf("cannot read the table line \"%.*s\"",
                                      (int) (len > 200 ? 200 : len), line);
                trace_result_destroy(r);
                return msg;
            }
            unsigned int col = indent + digits;     /* Where the '.' is. */
            h.depth = col >= 2 ? (col - 2) / 4 : 0;
            APPEND(s->hits, s->n_hits, s->allocated_hits, h);
            last = &s->hits[s->n_hits - 1];
            last_col = col;
        } else if (last && !last->actions && plen && indent > last_col
                   && strncmp(p, "->", 2)) {
            last->actions = trim_dup(p, plen);
        } else if (!plen) {
            last = NULL;
        }
        line = next;
    }
    if (!any_actions) {
        trace_result_destroy(r);
        return xstrdup("the switch's answer has no \"Datapath actions:\" "
                       "line: not an ofproto/trace output");
    }
    /* A section that ended without actions (e.g. an error) says nothing. */
    while (r->n_sections && !r->sections[r->n_sections - 1].datapath_actions) {
        struct trace_section *t = &r->sections[r->n_sections - 1];
        for (size_t j = 0; j < t->n_hits; j++) {
            free(t->hits[j].match);
            free(t->hits[j].actions);
        }
        free(t->hits);
        free(t->ct_state);
        r->n_sections--;
    }
    return NULL;
}

/* ---- Verdict. ---- */

struct dp_scan {
    bool output, recirc, userspace;
};

static void
scan_actions(const char *s, size_t n, struct dp_scan *scan)
{
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        int depth = 0;
        while (i < n && (depth || s[i] != ',')) {
            if (s[i] == '(') {
                depth++;
            } else if (s[i] == ')' && depth) {
                depth--;
            }
            i++;
        }
        const char *a = s + start;
        size_t len = i - start;
        while (len && isspace((unsigned char) *a)) {
            a++;
            len--;
        }
        size_t digits = 0;
        while (digits < len && isdigit((unsigned char) a[digits])) {
            digits++;
        }
        if (len && digits == len) {
            scan->output = true;        /* A datapath port number. */
        } else if (len >= 6 && !memcmp(a, "output", 6)) {
            scan->output = true;
        } else if (len >= 9 && !memcmp(a, "tnl_push(", 9)) {
            scan->output = true;
        } else if (len >= 7 && !memcmp(a, "recirc(", 7)) {
            scan->recirc = true;
        } else if (len >= 10 && !memcmp(a, "userspace(", 10)) {
            scan->userspace = true;
        } else if ((len >= 6 && !memcmp(a, "clone(", 6))
                   || (len >= 7 && !memcmp(a, "sample(", 7))) {
            const char *open = memchr(a, '(', len);
            if (open && a[len - 1] == ')') {
                scan_actions(open + 1, a + len - 1 - (open + 1), scan);
            }
        }
        i++;                    /* The comma. */
    }
}

enum trace_verdict
trace_verdict_of(const struct trace_result *r)
{
    if (!r->n_sections) {
        return TRACE_UNDECIDED;
    }
    const char *dp = r->sections[r->n_sections - 1].datapath_actions;
    struct dp_scan scan = { false, false, false };
    scan_actions(dp, strlen(dp), &scan);
    return (scan.output ? TRACE_ALLOWED
            : scan.recirc || scan.userspace ? TRACE_UNDECIDED
            : TRACE_DENIED);
}

const char *
trace_verdict_name(enum trace_verdict v)
{
    return (v == TRACE_ALLOWED ? "ALLOWED"
            : v == TRACE_DENIED ? "DENIED" : "UNDECIDED");
}

/* ---- Narration. ---- */

static bool
is_drop(const struct trace_hit *h)
{
    return h->no_match || (h->actions && !strcmp(h->actions, "drop"));
}

/* The port a drop in the classify table is about: the context's name for
 * the packet's port, else what its match says ("in_port=7,ip": "7").
 * Returns a malloc'd string. */
static char *
port_of_hit(const struct trace_hit *h, const struct trace_context *ctx)
{
    if (ctx->in_port) {
        return xstrdup(ctx->in_port);
    }
    const char *p = strstr(h->match, "in_port=");
    if (!p) {
        return xstrdup("?");
    }
    p += 8;
    return xmemdup0(p, strcspn(p, ", "));
}

/* Why the classify table drops IP from the port of 'h' (malloc'd). */
static char *
port_drop_reason(const struct trace_hit *h, const struct trace_context *ctx)
{
    char *port = port_of_hit(h, ctx);
    char *s = xasprintf("port %.64s %s", port,
                        h->priority == PRIO_CLASSIFY_NO_POD_DROP
                        ? "carries no pod and is not an uplink or node port"
                        : "is bound to a pod that has no flows (not known "
                          "yet, no address yet, finished, or on another "
                          "node)");
    free(port);
    return s;
}

/* ---- ClusterNetworkPolicy rules. ---- */

/* What a ClusterNetworkPolicy rule's flow does, read from its first
 * action as compile-cnp.c writes them: Accept loads the rule's id into
 * reg0/reg1 (then goes past the direction), Deny drops a new connection
 * or cuts an established one (ct(commit,...ct_mark)), Pass goes to a
 * table. */
enum cnp_hit {
    CNP_HIT_ACCEPT,
    CNP_HIT_DENY,
    CNP_HIT_CUT,
    CNP_HIT_PASS,
    CNP_HIT_OTHER,              /* Not a flow compile-cnp.c makes. */
};

static enum cnp_hit
cnp_hit_of(const struct trace_hit *h, unsigned int *goto_table)
{
    const char *a = h->actions;
    if (!a) {
        return CNP_HIT_OTHER;
    }
    if (!strncmp(a, "set_field:", 10)
        && (strstr(a, "->reg0") || strstr(a, "->reg1"))) {
        return CNP_HIT_ACCEPT;
    }
    if (!strcmp(a, "drop")) {
        return CNP_HIT_DENY;
    }
    if (!strncmp(a, "ct(commit", 9) && strstr(a, "ct_mark")) {
        return CNP_HIT_CUT;
    }
    if (!strncmp(a, "goto_table:", 11)) {
        *goto_table = atoi(a + 11);
        return CNP_HIT_PASS;
    }
    return CNP_HIT_OTHER;
}

/* Table offset 't' is a tier table: sets '*admin' and '*ingress'. */
static bool
tier_table(unsigned int t, bool *admin, bool *ingress)
{
    switch (t) {
    case NPT_ADMIN_EGRESS:
        *admin = true, *ingress = false;
        return true;
    case NPT_ADMIN_INGRESS:
        *admin = true, *ingress = true;
        return true;
    case NPT_BASELINE_EGRESS:
        *admin = false, *ingress = false;
        return true;
    case NPT_BASELINE_INGRESS:
        *admin = false, *ingress = true;
        return true;
    }
    return false;
}

/* The text of a ClusterNetworkPolicy rule's hit in table offset 't'. */
static char *
describe_cnp(const struct trace_hit *h, unsigned int t,
             const struct np_cookie *c, const struct trace_context *ctx)
{
    char *rule = cnp_rule_label(c, "", ctx->policy_name, ctx->rule_name,
                                ctx->aux);
    bool admin, ingress;
    unsigned int to = 0;
    enum cnp_hit what = cnp_hit_of(h, &to);
    char *s;
    if (!tier_table(t, &admin, &ingress) || ingress != c->ingress
        || what == CNP_HIT_OTHER) {
        /* Not where compile-cnp.c puts it, or not what it writes. */
        s = xasprintf("%s: %s%spriority %u -> %s (not a tier rule's flow)",
                      rule, h->match, *h->match ? ", " : "", h->priority,
                      h->actions ? h->actions : "(no actions)");
        free(rule);
        return s;
    }
    unsigned int past = ctx->table_base + (ingress ? NPT_COMMIT
                                           : NPT_ADMIN_INGRESS);
    switch (what) {
    case CNP_HIT_ACCEPT:
        s = xasprintf("%s: Accept -> allowed for %s, on to %s (table %u)",
                      rule, ingress ? "ingress" : "egress",
                      ingress ? "the commit" : "the ingress side", past);
        break;
    case CNP_HIT_DENY:
        s = xasprintf("%s: Deny -> drop", rule);
        break;
    case CNP_HIT_CUT:
        s = xasprintf("%s: Deny -> established connection cut (drop)", rule);
        break;
    case CNP_HIT_PASS:
        s = (admin
             ? xasprintf("%s: Pass -> on to NetworkPolicy (table %u)", rule,
                         to)
             : xasprintf("%s: Pass -> past the baseline, on to %s (table "
                         "%u)", rule,
                         ingress ? "the commit" : "the ingress side", to));
        break;
    default:
        abort();
    }
    free(rule);
    return s;
}

/* The text of a hit of ours in table offset 't', without the "table N
 * NAME: " part. */
static char *
describe_ours(const struct trace_hit *h, unsigned int t,
              const struct np_cookie *c, const struct trace_context *ctx)
{
    const char *src = ctx->src, *dst = ctx->dst;
    if (c->kind == NPC_RULE) {
        char *p = policy_label(c->policy, ctx->policy_name, ctx->aux);
        char *s = xasprintf("%s -> NetworkPolicy %s %s rule %u",
                            *h->match ? h->match : "any packet", p,
                            c->ingress ? "ingress" : "egress", c->rule);
        free(p);
        return s;
    }
    if (c->kind == NPC_ISOLATION) {
        char *p = policy_label(c->policy, ctx->policy_name, ctx->aux);
        bool cut = h->actions && !strncmp(h->actions, "ct(commit", 9);
        bool copy = h->actions && strstr(h->actions, "controller(");
        char *s = xasprintf("%s isolated for %s by %s -> %s",
                            c->ingress ? dst : src,
                            c->ingress ? "ingress" : "egress", p,
                            cut ? "established connection cut (drop)"
                            : copy ? "drop, a copy to the audit log"
                            : "drop");
        free(p);
        return s;
    }
    if (c->kind == NPC_CNP) {
        return describe_cnp(h, t, c, ctx);
    }
    if (c->kind == NPC_CLAUSE) {
        return xasprintf("%s -> conjunction clause (%s)", h->match,
                         h->actions ? h->actions : "");
    }
    if (c->kind == NPC_AUDIT) {
        char *p = policy_label(c->policy, ctx->policy_name, ctx->aux);
        char *s = xasprintf("allowed by NetworkPolicy %s %s rule %u, whose "
                            "namespace is audited -> connection committed, "
                            "a copy to the audit log, passed on", p,
                            c->ingress ? "ingress" : "egress", c->rule);
        free(p);
        return s;
    }
    /* Infrastructure: by table and priority (pipeline.h). */
    switch (t) {
    case NPT_CLASSIFY:
        if (h->priority == PRIO_CLASSIFY_NO_POD_DROP
            || h->priority == PRIO_CLASSIFY_PORT_DROP) {
            char *why = port_drop_reason(h, ctx);
            char *s = xasprintf("%s -> drop", why);
            free(why);
            return s;
        }
        return (h->actions && !strncmp(h->actions, "ct(", 3)
                ? xasprintf("IP -> conntrack, then table %u",
                            ctx->table_base + NPT_STATE)
                : xasprintf("%s -> passed on, no policy applies (not IP, or "
                            "ARP/neighbor discovery)",
                            *h->match ? h->match : "any packet"));
    case NPT_STATE:
        switch (h->priority) {
        case PRIO_STATE_INVALID:
            return xstrdup("invalid for conntrack -> drop");
        case PRIO_STATE_SCTP_REPLY:
            return xstrdup("SCTP reply -> passes");
        case PRIO_STATE_CUT_REPLY:
            return xstrdup("reply of a connection that policies cut -> "
                           "drop");
        case PRIO_STATE_REPLY:
            return xstrdup("reply of an allowed connection -> passes");
        case PRIO_STATE_ESTABLISHED:
            return xstrdup("established connection, original direction -> "
                           "policies again");
        case PRIO_MISS:
            return xstrdup("new connection -> policies");
        }
        break;
    case NPT_SPOOF:
        switch (h->priority) {
        case PRIO_SPOOF_OWN:
            return xasprintf("%s from its own port with its own address -> "
                             "egress checks", src);
        case PRIO_SPOOF_NODE:
            return xstrdup("from the node on a node port -> always allowed, "
                           "straight to commit");
        case PRIO_SPOOF_PORT_DROP:
            return xasprintf("%s: %s is not the address of this port's pod: "
                             "spoofed -> drop", h->match, src);
        case PRIO_SPOOF_ADDRESS_DROP:
            return xasprintf("%s is a local pod's address from another port: "
                             "spoofed -> drop", src);
        case PRIO_MISS:
            return xasprintf("%s is not a local pod -> ingress checks only",
                             src);
        }
        break;
    case NPT_EGRESS:
        if (h->priority == PRIO_MISS) {
            return xasprintf("no egress rule for %s matches (miss)", src);
        }
        break;
    case NPT_ADMIN_EGRESS:
    case NPT_ADMIN_INGRESS:
        if (h->priority == PRIO_TIER_CLASS
            || h->priority == PRIO_TIER_CLASS_MISS) {
            /* "set_field:0x80000005->reg2,resubmit(,3)": the classes of
             * the address, the bits below the flag. */
            const char *sf = h->actions ? strstr(h->actions, "set_field:")
                                        : NULL;
            unsigned long mask = sf ? strtoul(sf + 10, NULL, 0) : 0;
            mask &= ~(unsigned long) NP_PEER_CLASS_FLAG;
            bool in = t == NPT_ADMIN_INGRESS;
            return (mask
                    ? xasprintf("%s %s is in ClusterNetworkPolicy peer "
                                "classes %#lx (reg%d) -> the tier's rules",
                                in ? "source" : "destination", in ? src : dst,
                                mask, in ? 3 : 2)
                    : xasprintf("%s %s is in no ClusterNetworkPolicy peer "
                                "class -> the tier's rules",
                                in ? "source" : "destination",
                                in ? src : dst));
        }
        if (h->priority == PRIO_MISS) {
            return xasprintf("no admin ClusterNetworkPolicy decides %s's "
                             "%s -> NetworkPolicy",
                             t == NPT_ADMIN_EGRESS ? src : dst,
                             t == NPT_ADMIN_EGRESS ? "egress" : "ingress");
        }
        break;
    case NPT_BASELINE_EGRESS:
    case NPT_BASELINE_INGRESS:
        if (h->priority == PRIO_MISS) {
            return xasprintf("no baseline ClusterNetworkPolicy decides %s's "
                             "%s -> on",
                             t == NPT_BASELINE_EGRESS ? src : dst,
                             t == NPT_BASELINE_EGRESS ? "egress" : "ingress");
        }
        break;
    case NPT_EGRESS_DEFAULT:
        if (h->priority == PRIO_MISS) {
            return xasprintf("%s not isolated for egress -> on", src);
        }
        if (h->priority == PRIO_ISOLATION_TO_NODE) {
            return xstrdup("to the node -> always allowed");
        }
        break;
    case NPT_INGRESS:
        if (h->priority == PRIO_MISS) {
            return xasprintf("no ingress rule for %s matches (miss)", dst);
        }
        break;
    case NPT_INGRESS_DEFAULT:
        if (h->priority == PRIO_MISS) {
            return xasprintf("%s not isolated for ingress -> on", dst);
        }
        break;
    case NPT_COMMIT:
        switch (h->priority) {
        case PRIO_COMMIT_UNCUT:
            return xstrdup("allowed again after a policy change had cut it "
                           "-> mark cleared, passed on");
        case PRIO_COMMIT_ESTABLISHED:
            return xstrdup("established and still allowed -> passed on");
        case PRIO_COMMIT_NEW:
            return xstrdup("allowed -> connection committed (the deciding "
                           "rules go into ct_label), passed on");
        }
        break;
    }
    return xasprintf("%s%spriority %u -> %s", h->match, *h->match ? ", " : "",
                     h->priority, h->actions ? h->actions : "(no actions)");
}

char *
trace_describe_hit(const struct trace_hit *h, const struct trace_context *ctx)
{
    if (h->no_match) {
        return xasprintf("table %u: no flow matches -> drop (table miss)",
                         h->table);
    }
    struct np_cookie c;
    if (!np_cookie_decode(h->cookie, &c)) {
        return xasprintf("table %u: someone else's flow (cookie %#"PRIx64"), "
                         "%s%spriority %u -> %s", h->table, h->cookie,
                         h->match, *h->match ? ", " : "", h->priority,
                         h->actions ? h->actions : "(no actions)");
    }
    unsigned int t = h->table - ctx->table_base;
    bool in_range = h->table >= ctx->table_base && t < NPT_N_TABLES;
    char *what = describe_ours(h, in_range ? t : NPT_N_TABLES, &c, ctx);
    char *stale = (c.generation == ctx->generation ? xstrdup("")
                   : xasprintf(" [generation %u, not the daemon's current "
                               "%u]", c.generation, ctx->generation));
    char *s = in_range
              ? xasprintf("table %u %s: %s%s", h->table, np_table_name(t),
                          what, stale)
              : xasprintf("table %u: %s%s", h->table, what, stale);
    free(what);
    free(stale);
    return s;
}

/* What decided one direction, from the hits of every pass, and the admin
 * ClusterNetworkPolicy rule that passed it on to NetworkPolicy, if any. */
struct decision {
    char *egress, *ingress;
    char *egress_pass, *ingress_pass;
};

static void set_decision(char **slot, char *text);

/* A ClusterNetworkPolicy rule's hit decides its direction, or (admin
 * Pass) hands it on to NetworkPolicy, which decides further on. */
static void
decide_cnp(const struct trace_hit *h, unsigned int t,
           const struct np_cookie *c, const struct trace_context *ctx,
           struct decision *d)
{
    bool admin, ingress;
    unsigned int to = 0;
    enum cnp_hit what = cnp_hit_of(h, &to);
    if (!tier_table(t, &admin, &ingress) || ingress != c->ingress
        || what == CNP_HIT_OTHER) {
        return;
    }
    char *rule = cnp_rule_label(c, "", ctx->policy_name, ctx->rule_name,
                                ctx->aux);
    const char *tier = admin ? "admin" : "baseline";
    char **slot = ingress ? &d->ingress : &d->egress;
    switch (what) {
    case CNP_HIT_ACCEPT:
        set_decision(slot, xasprintf("allowed by %s %s: Accept", tier, rule));
        break;
    case CNP_HIT_DENY:
        set_decision(slot, xasprintf("DENIED by %s %s: Deny%s", tier, rule,
                                     (h->priority == PRIO_TIER_LEFT_OUT
                                      ? " (the policy's rules do not fit in "
                                        "the tier: it denies every "
                                        "connection, fail closed)" : "")));
        break;
    case CNP_HIT_CUT:
        set_decision(slot, xasprintf("DENIED by %s %s: Deny (established "
                                     "connection cut)", tier, rule));
        break;
    case CNP_HIT_PASS:
        if (admin) {
            set_decision(ingress ? &d->ingress_pass : &d->egress_pass,
                         xasprintf("admin %s: Pass, on to NetworkPolicy",
                                   rule));
        } else {
            set_decision(slot, xasprintf("allowed: baseline %s: Pass, past "
                                         "the baseline", rule));
        }
        break;
    default:
        abort();
    }
    free(rule);
}

static void
set_decision(char **slot, char *text)
{
    free(*slot);
    *slot = text;
}

static void
decide(const struct trace_hit *h, const struct trace_context *ctx,
       struct decision *d)
{
    struct np_cookie c;
    bool ours = np_cookie_decode(h->cookie, &c);
    if (h->no_match || !ours || h->table < ctx->table_base
        || h->table - ctx->table_base >= NPT_N_TABLES) {
        return;
    }
    unsigned int t = h->table - ctx->table_base;
    const char *src = ctx->src, *dst = ctx->dst;
    if (c.kind == NPC_CNP) {
        decide_cnp(h, t, &c, ctx, d);
    } else if (c.kind == NPC_RULE) {
        char *p = policy_label(c.policy, ctx->policy_name, ctx->aux);
        set_decision(c.ingress ? &d->ingress : &d->egress,
                     xasprintf("allowed by NetworkPolicy %s %s rule %u", p,
                               c.ingress ? "ingress" : "egress", c.rule));
        free(p);
    } else if (c.kind == NPC_ISOLATION) {
        char *p = policy_label(c.policy, ctx->policy_name, ctx->aux);
        const char *dir = c.ingress ? "ingress" : "egress";
        set_decision(c.ingress ? &d->ingress : &d->egress,
                     xasprintf("DENIED by the default deny of %s: isolated "
                               "for %s by %s, and no %s rule admits this",
                               c.ingress ? dst : src, dir, p, dir));
        free(p);
    } else if (c.kind == NPC_INFRA) {
        if (t == NPT_CLASSIFY && is_drop(h)) {
            char *why = port_drop_reason(h, ctx);
            set_decision(&d->egress, xasprintf("DENIED: %s: it sends no IP",
                                               why));
            free(why);
        } else if (t == NPT_SPOOF && h->priority == PRIO_MISS) {
            set_decision(&d->egress, xasprintf("not checked here: %s is "
                                               "not a local pod", src));
        } else if (t == NPT_SPOOF && h->priority == PRIO_SPOOF_NODE) {
            set_decision(&d->egress, xstrdup("allowed: from the node"));
            set_decision(&d->ingress, xstrdup("allowed: from the node"));
        } else if (t == NPT_SPOOF && is_drop(h)) {
            set_decision(&d->egress, xasprintf("DENIED by the spoof guard "
                                               "(%s)", h->match));
        } else if (t == NPT_STATE && is_drop(h)) {
            set_decision(&d->egress, xstrdup("DENIED by conntrack state "
                                             "(invalid, or a cut "
                                             "connection's reply)"));
        } else if (t == NPT_EGRESS_DEFAULT && h->priority == PRIO_MISS) {
            set_decision(&d->egress, xasprintf("allowed: %s is not isolated "
                                               "for egress", src));
        } else if (t == NPT_EGRESS_DEFAULT
                   && h->priority == PRIO_ISOLATION_TO_NODE) {
            set_decision(&d->egress, xstrdup("allowed: to the node"));
        } else if (t == NPT_INGRESS_DEFAULT && h->priority == PRIO_MISS) {
            set_decision(&d->ingress, xasprintf("allowed: %s is not "
                                                "isolated for ingress", dst));
        }
    }
}

char *
trace_report(const struct trace_result *r, const struct trace_context *ctx,
             const char *what, const char *raw)
{
    enum trace_verdict v = trace_verdict_of(r);
    struct decision d = { NULL, NULL, NULL, NULL };
    size_t size = 0;
    char *buf = NULL;
    FILE *out = open_memstream(&buf, &size);
    if (!out) {
        abort();
    }
    bool reached_commit = false, dropped_by_us = false;
    for (size_t i = 0; i < r->n_sections; i++) {
        const struct trace_section *s = &r->sections[i];
        for (size_t j = 0; j < s->n_hits; j++) {
            const struct trace_hit *h = &s->hits[j];
            decide(h, ctx, &d);
            struct np_cookie c;
            bool ours = np_cookie_decode(h->cookie, &c);
            if (i == r->n_sections - 1 && ours && !h->no_match) {
                if (h->table == ctx->table_base + NPT_COMMIT) {
                    reached_commit = true;
                }
                if (is_drop(h)) {
                    dropped_by_us = true;
                }
            }
        }
    }
    fprintf(out, "%s: %s\n", trace_verdict_name(v), what);
    fprintf(out, "  egress:  %s%s%s%s\n", d.egress ? d.egress : "not reached",
            d.egress_pass ? " (after " : "",
            d.egress_pass ? d.egress_pass : "", d.egress_pass ? ")" : "");
    fprintf(out, "  ingress: %s%s%s%s\n",
            d.ingress ? d.ingress : "not reached",
            d.ingress_pass ? " (after " : "",
            d.ingress_pass ? d.ingress_pass : "", d.ingress_pass ? ")" : "");
    if (v == TRACE_DENIED && reached_commit && !dropped_by_us) {
        fputs("  note: our flows passed it on, but the switch outputs it to "
              "no port (see the continuation)\n", out);
    } else if (v == TRACE_UNDECIDED) {
        fputs("  note: the last pass ends in a recirculation or at the "
              "controller: the trace cannot tell\n", out);
    }
    fputs("path:\n", out);
    for (size_t i = 0; i < r->n_sections; i++) {
        const struct trace_section *s = &r->sections[i];
        if (i) {
            /* The daemon asks for "trk,new"; a capture may say "trk,est". */
            const char *cs = s->ct_state;
            if (!cs || strstr(cs, "new")) {
                fprintf(out, "  -- after conntrack (recirculation %zu): new "
                        "connection\n", i);
            } else {
                fprintf(out, "  -- after conntrack (recirculation %zu): "
                        "%sct_state=%s\n", i, strstr(cs, "est")
                        ? "established connection, " : "", cs);
            }
        }
        for (size_t j = 0; j < s->n_hits; j++) {
            char *line = trace_describe_hit(&s->hits[j], ctx);
            fprintf(out, "  %*s%s\n", (int) (2 * s->hits[j].depth), "", line);
            free(line);
        }
    }
    fprintf(out, "datapath actions: %s\n",
            r->n_sections ? r->sections[r->n_sections - 1].datapath_actions
                          : "none");
    if (raw) {
        fputs("---- ofproto/trace ----\n", out);
        fputs(raw, out);
        if (*raw && raw[strlen(raw) - 1] != '\n') {
            fputc('\n', out);
        }
    }
    fclose(out);
    free(d.egress);
    free(d.ingress);
    free(d.egress_pass);
    free(d.ingress_pass);
    return buf;
}

/* ---- The request. ---- */

const char *
trace_proto_name(enum trace_proto p)
{
    return p == TRACE_UDP ? "udp" : p == TRACE_SCTP ? "sctp" : "tcp";
}

char *
trace_parse_port(const char *text, enum trace_proto *proto, uint16_t *port)
{
    const char *slash = strchr(text, '/');
    const char *num = text;
    *proto = TRACE_TCP;
    if (slash) {
        size_t n = slash - text;
        if (n == 3 && !strncasecmp(text, "tcp", 3)) {
            *proto = TRACE_TCP;
        } else if (n == 3 && !strncasecmp(text, "udp", 3)) {
            *proto = TRACE_UDP;
        } else if (n == 4 && !strncasecmp(text, "sctp", 4)) {
            *proto = TRACE_SCTP;
        } else {
            return xasprintf("\"%.*s\" is not a protocol (tcp, udp or sctp)",
                             (int) (n > 40 ? 40 : n), text);
        }
        num = slash + 1;
    }
    char *end;
    errno = 0;
    long v = strtol(num, &end, 10);
    if (!isdigit((unsigned char) *num) || *end || errno || v < 1
        || v > 65535) {
        return xasprintf("\"%.60s\" is not a port number from 1 to 65535 "
                         "(expected [tcp|udp|sctp/]PORT)", num);
    }
    *port = v;
    return NULL;
}

char *
trace_flow(enum trace_proto proto, uint16_t port, const char *in_port,
           bool ipv6, const char *src, const char *dst)
{
    const char *name = trace_proto_name(proto);
    char *in = (in_port && *in_port ? xasprintf("in_port=%s,", in_port)
                : xstrdup(""));
    char *s = xasprintf("%s%s,%s%s=%s,%s=%s,%s_dst=%u", name, ipv6 ? "6" : "",
                        in, ipv6 ? "ipv6_src" : "nw_src", src,
                        ipv6 ? "ipv6_dst" : "nw_dst", dst, name, port);
    free(in);
    return s;
}
