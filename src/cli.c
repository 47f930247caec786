#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cluster.h"
#include "compile.h"
#include "objects.h"
#include "strmap.h"
#include "np-util.h"

static bool
parse_uint(const char *s, unsigned long max, unsigned long *value)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || end == s || *end || v > max || s[0] == '-') {
        return false;
    }
    *value = v;
    return true;
}

char *
cli_read_ports(const char *path, struct strmap *ports)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return xasprintf("%s: %s", path, strerror(errno));
    }
    char line[1024];
    int lineno = 0;
    char *error = NULL;
    while (!error && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            error = xasprintf("%s:%d: line longer than %zu bytes", path,
                              lineno, sizeof line - 2);
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        char pod[512], port[256], extra[2];
        int n = sscanf(line, "%511s %255s %1s", pod, port, extra);
        if (n <= 0) {
            continue;
        }
        if (n != 2 || !strchr(pod, '/')) {
            error = xasprintf("%s:%d: expected \"namespace/pod PORT\"",
                              path, lineno);
            break;
        }
        char *bad = compile_check_port(port);
        if (bad) {
            error = xasprintf("%s:%d: %s", path, lineno, bad);
            free(bad);
            break;
        }
        void **slot = strmap_slot(ports, pod, NULL);
        free(*slot);
        *slot = xstrdup(port);
    }
    fclose(f);
    return error;
}

static size_t
port_of(void *aux, const char *ns, const char *name,
        const char *const **port)
{
    struct strmap *ports = aux;
    char *key = xasprintf("%s/%s", ns, name);
    size_t n = 0;
    if (strmap_get(ports, key)) {
        /* The slot of an existing key, stable while the map is not
         * changed: an array of one port. */
        *port = (const char *const *) strmap_slot(ports, key, NULL);
        n = 1;
    }
    free(key);
    return n;
}

/* Reads the files 'paths' into 'cluster', reporting on stderr what is
 * wrong with them.  Returns false if anything is. */
static bool
compile_files(struct cluster *cluster, char *paths[], int n)
{
    struct obj_batch *batches = xcalloc(n, sizeof *batches);
    size_t *n_objs = xcalloc(n, sizeof *n_objs);
    for (int i = 0; i < n; i++) {
        obj_batch_init(&batches[i]);
        if (!strcmp(paths[i], "-")) {
            /* A pipe: 'kubectl get ns,pods,netpol -A -o json | ovs-netpol
             * compile -'.  Blocking is fine here, unlike in the daemon. */
            objects_parse_stream("(standard input)", STDIN_FILENO,
                                 &batches[i]);
        } else {
            objects_parse_file(paths[i], &batches[i]);
        }
        n_objs[i] = batches[i].n_objs;
        cluster_apply_batch(cluster, &batches[i]);
    }

    /* A rejected NetworkPolicy isolates its pods through its stand-in,
     * unless the input also has a valid version of it, which the API
     * server would keep (in whichever order they come). */
    bool ok = true;
    for (int i = 0; i < n; i++) {
        struct obj_batch *b = &batches[i];
        const char **notes = xcalloc(b->n_errors, sizeof *notes);
        for (size_t j = 0; j < b->n_rejected; j++) {
            struct obj_rejected *r = &b->rejected[j];
            if (!r->stand_in) {
                continue;
            }
            const struct k8s_netpol *np
                = cluster_find_netpol(cluster, r->ref.ns, r->ref.name);
            if (np && !np->invalid) {
                notes[r->error] = ("keeping the valid version that the "
                                   "input also has");
            } else {
                cluster_apply(cluster, r->stand_in);
                r->stand_in = NULL;
                notes[r->error] = OBJECTS_STAND_IN_NOTE;
                n_objs[i]++;
            }
        }
        for (size_t j = 0; j < b->n_errors; j++) {
            fprintf(stderr, "ovs-netpol: error: %s%s%s\n", b->errors[j],
                    notes[j] ? "; " : "", notes[j] ? notes[j] : "");
            ok = false;
        }

        /* An empty or truncated file ('kubectl get > file' that failed)
         * must not compile quietly to a table without its policies. */
        if (!n_objs[i] && !b->n_errors) {
            fprintf(stderr, "ovs-netpol: error: %s: holds no Namespace, Pod "
                    "or NetworkPolicy (is it empty?)\n", paths[i]);
            ok = false;
        }
        free(notes);
        obj_batch_destroy(b);
    }
    free(batches);
    free(n_objs);
    return ok;
}

int
cli_compile(int argc, char *argv[])
{
    enum { OPT_NODE = 256, OPT_TABLE_BASE, OPT_CONTINUATION, OPT_PORTS,
           OPT_CT_ZONE, OPT_GENERATION, OPT_NODE_ADDRESS, OPT_NODE_PORT,
           OPT_MAX_POLICY_FLOWS };
    static const struct option long_options[] = {
        {"node", required_argument, NULL, OPT_NODE},
        {"table-base", required_argument, NULL, OPT_TABLE_BASE},
        {"continuation", required_argument, NULL, OPT_CONTINUATION},
        {"ports", required_argument, NULL, OPT_PORTS},
        {"ct-zone", required_argument, NULL, OPT_CT_ZONE},
        {"generation", required_argument, NULL, OPT_GENERATION},
        {"node-address", required_argument, NULL, OPT_NODE_ADDRESS},
        {"node-port", required_argument, NULL, OPT_NODE_PORT},
        {"max-policy-flows", required_argument, NULL, OPT_MAX_POLICY_FLOWS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct compile_options opts;
    compile_options_init(&opts);
    struct strmap ports;
    strmap_init(&ports);
    bool have_ports = false;
    int status = 0;
    struct ip_addr *node_addrs = NULL;
    const char **node_ports = NULL;
    size_t n_node_ports = 0, allocated_node_ports = 0;
    struct compile_bound_port *bound = NULL;

    optind = 1;
    for (;;) {
        int c = getopt_long(argc, argv, "h", long_options, NULL);
        if (c == -1) {
            break;
        }
        unsigned long v;
        switch (c) {
        case OPT_NODE:
            opts.node = optarg;
            break;
        case OPT_TABLE_BASE:
            if (!parse_uint(optarg, 255 - NPT_N_TABLES + 1, &v)) {
                fprintf(stderr, "ovs-netpol compile: --table-base: \"%s\" is "
                        "not a table number from 0 to %d\n", optarg,
                        255 - NPT_N_TABLES + 1);
                status = 2;
                goto out;
            }
            opts.table_base = v;
            break;
        case OPT_CONTINUATION:
            if (!*optarg) {
                fprintf(stderr, "ovs-netpol compile: --continuation: "
                        "empty action\n");
                status = 2;
                goto out;
            }
            opts.continuation = optarg;
            break;
        case OPT_PORTS: {
            char *error = cli_read_ports(optarg, &ports);
            if (error) {
                fprintf(stderr, "ovs-netpol compile: --ports: %s\n", error);
                free(error);
                status = 2;
                goto out;
            }
            have_ports = true;
            break;
        }
        case OPT_CT_ZONE:
            if (!parse_uint(optarg, 65535, &v)) {
                fprintf(stderr, "ovs-netpol compile: --ct-zone: \"%s\" is "
                        "not a zone from 0 to 65535\n", optarg);
                status = 2;
                goto out;
            }
            opts.ct_zone = v;
            break;
        case OPT_GENERATION:
            if (!parse_uint(optarg, 255, &v)) {
                fprintf(stderr, "ovs-netpol compile: --generation: \"%s\" is "
                        "not a number from 0 to 255\n", optarg);
                status = 2;
                goto out;
            }
            opts.generation = v;
            break;
        case OPT_NODE_ADDRESS: {
            free(node_addrs);
            node_addrs = NULL;
            size_t n = 0;
            /* "none", as for the daemon: nothing is special about the
             * node. */
            char *error = (strcmp(optarg, "none")
                           ? ip_addr_parse_list(optarg, &node_addrs, &n)
                           : NULL);
            if (error) {
                fprintf(stderr, "ovs-netpol compile: --node-address: %s\n",
                        error);
                free(error);
                status = 2;
                goto out;
            }
            opts.node_addrs = node_addrs;
            opts.n_node_addrs = n;
            break;
        }
        case OPT_NODE_PORT: {
            char *save = NULL;
            for (char *w = strtok_r(optarg, ",", &save); w;
                 w = strtok_r(NULL, ",", &save)) {
                char *bad = compile_check_port(w);
                if (bad) {
                    fprintf(stderr, "ovs-netpol compile: --node-port: %s\n",
                            bad);
                    free(bad);
                    status = 2;
                goto out;
                }
                APPEND(node_ports, n_node_ports, allocated_node_ports,
                       (const char *) w);
            }
            opts.node_ports = node_ports;
            opts.n_node_ports = n_node_ports;
            break;
        }
        case OPT_MAX_POLICY_FLOWS:
            if (!parse_uint(optarg, NP_MAX_POLICY_FLOWS_LIMIT, &v) || !v) {
                fprintf(stderr, "ovs-netpol compile: --max-policy-flows: "
                        "\"%s\" is not a number from 1 to %d\n", optarg,
                        NP_MAX_POLICY_FLOWS_LIMIT);
                status = 2;
                goto out;
            }
            opts.max_policy_flows = v;
            break;
        case 'h':
            printf("usage: ovs-netpol compile [--node NAME] [--table-base N] "
                   "[--continuation ACTION]\n"
                   "       [--ports FILE] [--ct-zone N] [--generation N]\n"
                   "       [--node-address ADDR,...] [--node-port PORT,...]\n"
                   "       [--max-policy-flows N] FILE...\n");
            goto out;
        default:
            status = 2;
                goto out;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "ovs-netpol compile: no input files\n");
        status = 2;
                goto out;
    }
    if (have_ports) {
        opts.port_of = port_of;
        opts.port_aux = &ports;
        bound = xmalloc((ports.n + 1) * sizeof *bound);
        size_t b;
        for (struct strmap_node *node = strmap_first(&ports, &b); node;
             node = strmap_next(&ports, node, &b)) {
            const char *slash = strchr(node->key, '/');
            if (!slash) {
                continue;
            }
            bound[opts.n_bound_ports++] = (struct compile_bound_port) {
                .ns = xmemdup0(node->key, slash - node->key),
                .name = xstrdup(slash + 1), .port = node->value,
            };
        }
        opts.bound_ports = bound;
    }

    struct cluster *cluster = cluster_create();
    if (!compile_files(cluster, argv + optind, argc - optind)) {
        status = 1;
    }

    struct np_flowset fs;
    compile_cluster(cluster, &opts, &fs);
    for (size_t i = 0; i < fs.n_warnings; i++) {
        fprintf(stderr, "ovs-netpol: warning: %s\n", fs.warnings[i]);
    }
    for (size_t i = 0; i < fs.n_rejected; i++) {
        fprintf(stderr, "ovs-netpol: error: %s\n", fs.rejected[i].message);
        status = 1;
    }
    np_flowset_print(&fs, stdout);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "ovs-netpol: writing flows: %s\n", strerror(errno));
        status = 1;
    }
    np_flowset_destroy(&fs);
    cluster_destroy(cluster);

out:
    for (size_t i = 0; i < opts.n_bound_ports; i++) {
        free((char *) bound[i].ns);
        free((char *) bound[i].name);
    }
    free(bound);
    free(node_addrs);
    free(node_ports);

    size_t b;
    for (struct strmap_node *node = strmap_first(&ports, &b); node;
         node = strmap_next(&ports, node, &b)) {
        free(node->value);
    }
    strmap_destroy(&ports);
    return status;
}

/* Without libopenvswitch there is nothing to name; src/cli-control.c
 * replaces this when there is. */
__attribute__((weak)) void
cli_set_program_name(const char *argv0)
{
}

/* Without libopenvswitch (configure without --with-ovs) there is no control
 * client; src/cli-control.c replaces this when there is. */
__attribute__((weak)) int
cli_control(const char *path, int argc, char *argv[])
{
    fprintf(stderr, "ovs-netpol: built without libopenvswitch: cannot talk "
            "to the daemon at %s\n", path);
    return 2;
}
