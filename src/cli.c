#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cluster.h"
#include "cnp.h"
#include "compile.h"
#include "compile-flags.h"
#include "objects.h"
#include "strmap.h"
#include "np-util.h"

/* An OVSDB Interface type as a ports file gives it: a word of a-z, 0-9
 * and '_' (OVS's own are "system", "internal", "vxlan", "dpdkvhostuser",
 * ...), at most 32 characters. */
static bool
is_port_type(const char *s)
{
    size_t len = strlen(s);
    return len && len <= 32
           && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == len;
}

char *
cli_read_ports(const char *path, struct strmap *ports, struct strmap *others)
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
        char pod[512], port[256], type[64], extra[2];
        int n = sscanf(line, "%511s %255s %63s %1s", pod, port, type, extra);
        if (n <= 0) {
            continue;
        }
        bool other = !strcmp(pod, "-");
        if (other ? n != 2 && n != 3 : n != 2 || !strchr(pod, '/')) {
            error = xasprintf("%s:%d: expected \"namespace/pod PORT\" or "
                              "\"- PORT [TYPE]\"", path, lineno);
            break;
        }
        char *bad = compile_check_port(port);
        if (bad) {
            error = xasprintf("%s:%d: %s", path, lineno, bad);
            free(bad);
            break;
        }
        if (other && n == 3 && !is_port_type(type)) {
            error = xasprintf("%s:%d: \"%.40s\" is not an interface type "
                              "(a word of a-z, 0-9 and _, as OVSDB's "
                              "Interface type: system, internal, vxlan, "
                              "...)", path, lineno, type);
            break;
        }
        void **slot = strmap_slot(other ? others : ports,
                                  other ? port : pod, NULL);
        free(*slot);
        *slot = xstrdup(other ? (n == 3 ? type : "") : port);
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

/* Whether 'cluster' holds a valid version of the policy 'ref' names. */
static bool
cli_holds_valid(const struct cluster *cluster, const struct obj_ref *ref)
{
    if (ref->kind == OBJ_NETPOL) {
        const struct k8s_netpol *np = cluster_find_netpol(cluster, ref->ns,
                                                          ref->name);
        return np && !np->invalid;
    }
    const struct k8s_cnp *cnp = cluster_find_cnp(cluster, ref->name);
    return cnp && !cnp->invalid;
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

    /* A rejected policy is enforced through its stand-in,
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
            if (cli_holds_valid(cluster, &r->ref)) {
                notes[r->error] = ("keeping the valid version that the "
                                   "input also has");
            } else {
                cluster_apply(cluster, r->stand_in);
                r->stand_in = NULL;
                notes[r->error] = OBJECTS_STAND_IN_NOTE_OF(r->ref.kind);
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

/* What 'ovs-netpol compile' was asked to do. */
struct compile_cmd {
    struct compile_flags flags;
    struct strmap ports;        /* --ports: "ns/pod" -> port, malloc'd. */
    struct strmap others;       /* --ports: port -> type, of ports that
                                 * carry no pod, malloc'd. */
    bool have_ports;
    char **files;               /* The inputs, in argv. */
    int n_files;
    struct compile_bound_port *bound;   /* The ports of 'ports', bound. */
    size_t n_bound;
    const char **unbound;       /* The ports of 'others' that send no IP. */
    size_t n_unbound;
};

static void
compile_cmd_init(struct compile_cmd *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    compile_flags_init(&cmd->flags);
    strmap_init(&cmd->ports);
    strmap_init(&cmd->others);
}

static void
compile_cmd_destroy(struct compile_cmd *cmd)
{
    for (size_t i = 0; i < cmd->n_bound; i++) {
        free((char *) cmd->bound[i].ns);
        free((char *) cmd->bound[i].name);
    }
    free(cmd->bound);
    size_t b;
    for (struct strmap_node *node = strmap_first(&cmd->ports, &b); node;
         node = strmap_next(&cmd->ports, node, &b)) {
        free(node->value);
    }
    strmap_destroy(&cmd->ports);
    for (struct strmap_node *node = strmap_first(&cmd->others, &b); node;
         node = strmap_next(&cmd->others, node, &b)) {
        free(node->value);
    }
    strmap_destroy(&cmd->others);
    free(cmd->unbound);
    compile_flags_destroy(&cmd->flags);
}

static void
compile_usage(void)
{
    printf("usage: ovs-netpol compile [--node NAME] [--table-base N] "
           "[--continuation ACTION]\n"
           "       [--ports FILE] [--ct-zone N] [--generation N]\n"
           "       [--node-address ADDR,...] [--node-port PORT,...]\n"
           "       [--uplink-port PORT,...]\n"
           "       [--max-policy-flows N] [--audit none|deny|allow|all]\n"
           "       [--audit-meter N] [--peer-class-min N] FILE...\n");
}

/* Parses the arguments of 'compile' into 'cmd'.  Returns -1 to go on, or
 * the exit status: 0 after --help, 2 after a usage error, printed.  The
 * compiler's flags are the daemon's too (compile-flags.h); --generation
 * and --ports are the offline compiler's own. */
static int
compile_cmd_parse(struct compile_cmd *cmd, int argc, char *argv[])
{
    enum { OPT_COMPILE = 256, OPT_PORTS };
    static const struct option long_options[] = {
        COMPILE_FLAGS_OPTIONS(OPT_COMPILE),
        {"generation", required_argument, NULL, OPT_COMPILE},
        {"ports", required_argument, NULL, OPT_PORTS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    for (;;) {
        int index;
        int c = getopt_long(argc, argv, "h", long_options, &index);
        if (c == -1) {
            break;
        }
        char *error = NULL;
        switch (c) {
        case OPT_COMPILE:
            error = compile_flags_parse(&cmd->flags, long_options[index].name,
                                        optarg);
            break;
        case OPT_PORTS: {
            char *bad = cli_read_ports(optarg, &cmd->ports, &cmd->others);
            if (bad) {
                error = xasprintf("--ports: %s", bad);
                free(bad);
            }
            cmd->have_ports = true;
            break;
        }
        case 'h':
            compile_usage();
            return 0;
        default:
            return 2;           /* getopt_long() said why. */
        }
        if (error) {
            fprintf(stderr, "ovs-netpol compile: %s\n", error);
            free(error);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "ovs-netpol compile: no input files\n");
        return 2;
    }
    cmd->files = argv + optind;
    cmd->n_files = argc - optind;
    return -1;
}

/* The switch ports of --ports, into 'opts': every pod's own (port_of) and
 * the list of bound ports, whose pods, if they get no flows, have their
 * traffic dropped.  Without --ports no pod has a known port. */
static void
bind_ports(struct compile_cmd *cmd, struct compile_options *opts)
{
    if (!cmd->have_ports) {
        return;
    }
    cmd->bound = xmalloc((cmd->ports.n + 1) * sizeof *cmd->bound);
    size_t b;
    for (struct strmap_node *node = strmap_first(&cmd->ports, &b); node;
         node = strmap_next(&cmd->ports, node, &b)) {
        const char *slash = strchr(node->key, '/');
        if (!slash) {
            continue;
        }
        cmd->bound[cmd->n_bound++] = (struct compile_bound_port) {
            .ns = xmemdup0(node->key, slash - node->key),
            .name = xstrdup(slash + 1), .port = node->value,
        };
    }
    opts->port_of = port_of;
    opts->port_aux = &cmd->ports;
    opts->bound_ports = cmd->bound;
    opts->n_bound_ports = cmd->n_bound;

    /* The others, classified as the daemon classifies the Interfaces
     * without a pod that it reads from OVSDB; a port bound to a pod is
     * the pod's, whatever else the file says of it. */
    cmd->unbound = xmalloc((cmd->others.n + 1) * sizeof *cmd->unbound);
    for (struct strmap_node *node = strmap_first(&cmd->others, &b); node;
         node = strmap_next(&cmd->others, node, &b)) {
        bool bound = false;
        for (size_t i = 0; i < cmd->n_bound && !bound; i++) {
            bound = !strcmp(cmd->bound[i].port, node->key);
        }
        if (!bound && compile_port_role(opts, node->key, node->key,
                                        node->value)
                      == COMPILE_PORT_UNBOUND) {
            cmd->unbound[cmd->n_unbound++] = node->key;
        }
    }
    opts->unbound_ports = cmd->unbound;
    opts->n_unbound_ports = cmd->n_unbound;
}

/* Prints what compiling said (warnings, and errors for the policies over
 * the flow limit) on stderr and the flows on stdout.  Returns the exit
 * status: 1 if a policy was refused or the flows could not be written. */
static int
print_flowset(const struct np_flowset *fs)
{
    int status = 0;
    for (size_t i = 0; i < fs->n_warnings; i++) {
        fprintf(stderr, "ovs-netpol: warning: %s\n", fs->warnings[i]);
    }
    for (size_t i = 0; i < fs->n_rejected; i++) {
        fprintf(stderr, "ovs-netpol: error: %s\n", fs->rejected[i].message);
        status = 1;
    }
    np_flowset_print(fs, stdout);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "ovs-netpol: writing flows: %s\n", strerror(errno));
        status = 1;
    }
    return status;
}

int
cli_compile(int argc, char *argv[])
{
    struct compile_cmd cmd;
    compile_cmd_init(&cmd);
    int status = compile_cmd_parse(&cmd, argc, argv);
    if (status < 0) {
        struct compile_options opts = cmd.flags.opts;
        bind_ports(&cmd, &opts);

        /* Bad input is reported and compiled around: the flows of
         * everything valid still come out, with exit status 1. */
        struct cluster *cluster = cluster_create();
        status = compile_files(cluster, cmd.files, cmd.n_files) ? 0 : 1;
        struct np_flowset fs;
        compile_cluster(cluster, &opts, &fs);
        if (print_flowset(&fs)) {
            status = 1;
        }
        np_flowset_destroy(&fs);
        cluster_destroy(cluster);
    }
    compile_cmd_destroy(&cmd);
    return status;
}
