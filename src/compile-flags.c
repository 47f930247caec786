/* The compiler's flags: see include/compile-flags.h. */
#include "compile-flags.h"

#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "np-util.h"
#include "objects.h"

void
compile_flags_init(struct compile_flags *flags)
{
    memset(flags, 0, sizeof *flags);
    compile_options_init(&flags->opts);
}

void
compile_flags_destroy(struct compile_flags *flags)
{
    if (flags) {
        free(flags->node_);
        free(flags->continuation_);
        free(flags->node_addrs_);
        free(flags->node_ports_text_);
        free(flags->node_ports_);
        free(flags->uplink_ports_text_);
        free(flags->uplink_ports_);
    }
}

/* Parses 's' as a whole number from 'min' to 'max' into '*value': decimal
 * digits only, so that "010" is ten in both programs (strtoul()'s base 0
 * made it eight) and "1e3" or "0x10" is a mistake, not a number. */
static bool
parse_whole(const char *s, unsigned long min, unsigned long max,
            unsigned long *value)
{
    size_t len = strlen(s);
    if (!len || len > 10 || strspn(s, "0123456789") != len) {
        return false;
    }
    unsigned long long v = strtoull(s, NULL, 10);
    if (v < min || v > max) {
        return false;
    }
    *value = v;
    return true;
}

/* --node-port, --uplink-port: the words of 'value', each a port
 * compile_check_port() accepts, at least one, into '*text' (the words)
 * and '*ports', '*n' (pointing into them). */
static char *
parse_ports(const char *flag, const char *value, char **text_out,
            const char ***ports_out, const char *const **opts_ports,
            size_t *opts_n)
{
    const char **ports = NULL;
    size_t n = 0, allocated = 0;
    char *text = xstrdup(value), *save = NULL;
    for (char *w = strtok_r(text, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        char *bad = compile_check_port(w);
        if (bad) {
            char *error = xasprintf("--%s: %s", flag, bad);
            free(bad);
            free(ports);
            free(text);
            return error;
        }
        APPEND(ports, n, allocated, (const char *) w);
    }
    if (!n) {
        free(text);
        return xasprintf("--%s: \"%s\" names no port", flag, value);
    }
    free(*text_out);
    free(*ports_out);
    *text_out = text;
    *ports_out = ports;
    *opts_ports = ports;
    *opts_n = n;
    return NULL;
}

/* --node-address: a list of addresses, or "none": nothing is special
 * about the node. */
static char *
parse_node_addrs(struct compile_flags *flags, const char *value)
{
    struct ip_addr *ips = NULL;
    size_t n = 0;
    if (strcmp(value, "none")) {
        char *error = ip_addr_parse_list(value, &ips, &n);
        if (error) {
            char *msg = xasprintf("--node-address: %s", error);
            free(error);
            return msg;
        }
    }
    free(flags->node_addrs_);
    flags->node_addrs_ = ips;
    flags->opts.node_addrs = ips;
    flags->opts.n_node_addrs = n;
    flags->node_addrs_given = true;
    return NULL;
}

char *
compile_flags_parse(struct compile_flags *flags, const char *name,
                    const char *value)
{
    struct compile_options *o = &flags->opts;
    unsigned long v;
    if (!strcmp(name, "node")) {
        free(flags->node_);
        o->node = flags->node_ = xstrdup(value);
    } else if (!strcmp(name, "table-base")) {
        /* All our tables must fit below 256. */
        unsigned long max = 256 - NPT_N_TABLES;
        if (!parse_whole(value, 0, max, &v)) {
            return xasprintf("--table-base: \"%s\" is not a table number "
                             "from 0 to %lu", value, max);
        }
        o->table_base = v;
    } else if (!strcmp(name, "continuation")) {
        if (!*value) {
            return xstrdup("--continuation: empty action");
        }
        free(flags->continuation_);
        o->continuation = flags->continuation_ = xstrdup(value);
    } else if (!strcmp(name, "ct-zone")) {
        if (!parse_whole(value, 0, UINT16_MAX, &v)) {
            return xasprintf("--ct-zone: \"%s\" is not a zone from 0 to "
                             "65535", value);
        }
        o->ct_zone = v;
    } else if (!strcmp(name, "generation")) {
        if (!parse_whole(value, 0, UINT8_MAX, &v)) {
            return xasprintf("--generation: \"%s\" is not a number from 0 "
                             "to 255", value);
        }
        o->generation = v;
    } else if (!strcmp(name, "node-address")) {
        return parse_node_addrs(flags, value);
    } else if (!strcmp(name, "node-port")) {
        return parse_ports(name, value, &flags->node_ports_text_,
                           &flags->node_ports_, &o->node_ports,
                           &o->n_node_ports);
    } else if (!strcmp(name, "uplink-port")) {
        return parse_ports(name, value, &flags->uplink_ports_text_,
                           &flags->uplink_ports_, &o->uplink_ports,
                           &o->n_uplink_ports);
    } else if (!strcmp(name, "max-policy-flows")) {
        if (!parse_whole(value, 1, NP_MAX_POLICY_FLOWS_LIMIT, &v)) {
            return xasprintf("--max-policy-flows: \"%s\" is not a whole "
                             "number from 1 to %d", value,
                             NP_MAX_POLICY_FLOWS_LIMIT);
        }
        o->max_policy_flows = v;
    } else if (!strcmp(name, "audit")) {
        enum np_audit a;
        if (!np_audit_parse(value, &a)) {
            return xasprintf("--audit: \"%s\" is not one of none, deny, "
                             "allow, all", value);
        }
        o->audit = a;
    } else if (!strcmp(name, "audit-meter")) {
        /* OVS's userspace datapath has meters 0 to 2^18 - 1; 0 is none. */
        if (!parse_whole(value, 1, (1 << 18) - 1, &v)) {
            return xasprintf("--audit-meter: \"%s\" is not a meter id from "
                             "1 to %d", value, (1 << 18) - 1);
        }
        o->audit_meter = v;
    } else if (!strcmp(name, "peer-class-min")) {
        /* 0: no classes, every peer by its addresses. */
        if (!parse_whole(value, 0, NP_MAX_POLICY_FLOWS_LIMIT, &v)) {
            return xasprintf("--peer-class-min: \"%s\" is not a whole "
                             "number from 0 to %d", value,
                             NP_MAX_POLICY_FLOWS_LIMIT);
        }
        o->peer_class_min = v;
    } else {
        return xasprintf("--%s: not an option of the compiler", name);
    }
    return NULL;
}
