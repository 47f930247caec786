/* engine-event: events through the engine, one at a time, as the daemon
 * runs them, for a profile that counts what one event costs.
 *
 * Loads a cluster file into an engine (src/engine.c), binds the pods of a
 * ports file to switch ports as OVSDB would, runs the engine once and takes
 * the resulting table as installed.  Then each STEP on the command line is
 * one event, in three phases, each bracketed by callgrind's client
 * requests so that `valgrind --tool=callgrind --instr-atstart=no` counts
 * exactly one phase per dump:
 *
 *   input   engine_apply()/engine_delete() of the event's objects (parsed
 *           before, as the watch client parses them): the cluster update
 *           and the incremental compiler taking the old objects out
 *           (src/incr.c);
 *   run     engine_run(): the new objects put in and the desired table's
 *           update;
 *   commit  the daemon's side of a commit (src/installer.c start_commit(),
 *           commit_done()): the difference from the installed table over
 *           the flows the run changed (engine_changes()) and its
 *           application, without the switch.
 *
 * A STEP is "apply:FILE" (every object of FILE, JSON or YAML, applied as a
 * watch would deliver it: a changed object replaces the old one whole) or
 * "delete:KIND:NS/NAME" (KIND pod or networkpolicy) or
 * "delete:namespace:NAME" or "delete:clusternetworkpolicy:NAME"; several,
 * separated by '+', make one event.
 * For each step it prints one JSON line: the flows, the changes by type
 * and cookie kind, the policies compiled again and reused, and the CPU
 * time of each phase (meaningless under valgrind; the instruction counts
 * are in the callgrind dumps, named after the step and phase).
 *
 * Built by `make` (bench/automake.mk) so that it follows the engine's
 * interface; bench/profile-event.sh drives it.  Not a test. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "compile.h"
#include "cookie.h"
#include "engine.h"
#include "flowtab.h"
#include "np-util.h"
#include "objects.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define CALLGRIND_START_INSTRUMENTATION do { } while (0)
#define CALLGRIND_STOP_INSTRUMENTATION do { } while (0)
#define CALLGRIND_ZERO_STATS do { } while (0)
#define CALLGRIND_DUMP_STATS_AT(NAME) do { (void) (NAME); } while (0)
#endif

/* Resident memory now (not the peak: parsing the file peaks higher). */
static long
rss_kb(void)
{
    malloc_trim(0);             /* What glibc kept from the parse's peak. */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) {
            kb = atol(line + 6);
        }
    }
    if (f) {
        fclose(f);
    }
    return kb;
}

static void
usage(FILE *stream)
{
    fputs("usage: engine-event [--node NAME] [--ports FILE] CLUSTER "
          "[STEP...]\n"
          "  STEP: apply:FILE | delete:pod:NS/NAME | "
          "delete:networkpolicy:NS/NAME\n"
          "        | delete:namespace:NAME | "
          "delete:clusternetworkpolicy:NAME,\n"
          "        several joined by '+' for one event\n"
          "  --node NAME   the local node (default node-1; \"\" for every "
          "pod)\n"
          "  --ports FILE  \"namespace/pod OFPORT\" lines: bind those pods "
          "to ports\n"
          "Run under valgrind --tool=callgrind --instr-atstart=no for "
          "instruction counts per phase.\n", stream);
}

static double
cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Parses every object of 'path' into 'batch'; exits on any error, since a
 * profile of half an event would mislead. */
static void
parse_file(const char *path, struct obj_batch *batch)
{
    size_t n_errors = batch->n_errors;
    objects_parse_file(path, batch);
    if (batch->n_errors > n_errors || batch->incomplete) {
        for (size_t i = n_errors; i < batch->n_errors; i++) {
            fprintf(stderr, "engine-event: %s\n", batch->errors[i]);
        }
        fprintf(stderr, "engine-event: %s: not every object is valid\n",
                path);
        exit(1);
    }
}

/* Gives every object of 'batch' to 'e', one input each, as a watch would
 * deliver them. */
static size_t
apply_batch(struct engine *e, struct obj_batch *batch)
{
    size_t n = batch->n_objs;
    for (size_t i = 0; i < n; i++) {
        struct k8s_object *obj = xmalloc(sizeof *obj);
        *obj = batch->objs[i];
        engine_apply(e, obj);
    }
    batch->n_objs = 0;          /* The engine owns them now. */
    return n;
}

/* One event, parsed: objects to apply, then deletions. */
struct event {
    struct obj_batch batch;
    struct deletion {
        enum obj_kind kind;
        char *ns, *name;
    } *deletions;
    size_t n_deletions, allocated_deletions;
};

static void
parse_deletion(struct event *ev, const char *spec)
{
    char *copy = xstrdup(spec);
    char *kind = copy, *rest = strchr(copy, ':');
    struct deletion d = { .kind = OBJ_NAMESPACE };
    if (rest) {
        *rest++ = '\0';
        char *slash = strchr(rest, '/');
        if (!strcmp(kind, "namespace") && !slash) {
            d.name = xstrdup(rest);
        } else if (!strcmp(kind, "clusternetworkpolicy") && !slash) {
            d.kind = OBJ_CNP;
            d.name = xstrdup(rest);
        } else if (slash && (!strcmp(kind, "pod")
                             || !strcmp(kind, "networkpolicy"))) {
            d.kind = !strcmp(kind, "pod") ? OBJ_POD : OBJ_NETPOL;
            d.ns = xmemdup0(rest, slash - rest);
            d.name = xstrdup(slash + 1);
        }
    }
    if (!d.name) {
        fprintf(stderr, "engine-event: delete:%s: want pod:NS/NAME, "
                "networkpolicy:NS/NAME, namespace:NAME or "
                "clusternetworkpolicy:NAME\n", spec);
        exit(2);
    }
    APPEND(ev->deletions, ev->n_deletions, ev->allocated_deletions, d);
    free(copy);
}

/* Parses 'step': '+'-separated apply:FILE and delete:KIND:NAME parts. */
static void
event_parse(struct event *ev, const char *step)
{
    memset(ev, 0, sizeof *ev);
    obj_batch_init(&ev->batch);
    char *copy = xstrdup(step), *save = NULL;
    for (char *part = strtok_r(copy, "+", &save); part;
         part = strtok_r(NULL, "+", &save)) {
        if (!strncmp(part, "apply:", 6)) {
            parse_file(part + 6, &ev->batch);
        } else if (!strncmp(part, "delete:", 7)) {
            parse_deletion(ev, part + 7);
        } else {
            fprintf(stderr, "engine-event: %s: a step is apply:FILE or "
                    "delete:KIND:NAME\n", part);
            exit(2);
        }
    }
    free(copy);
}

/* Gives the event to 'e': what the daemon's source callbacks do. */
static void
event_input(struct engine *e, struct event *ev)
{
    apply_batch(e, &ev->batch);
    for (size_t i = 0; i < ev->n_deletions; i++) {
        const struct deletion *d = &ev->deletions[i];
        engine_delete(e, d->kind, d->ns, d->name);
    }
}

static void
event_destroy(struct event *ev)
{
    obj_batch_destroy(&ev->batch);
    for (size_t i = 0; i < ev->n_deletions; i++) {
        free(ev->deletions[i].ns);
        free(ev->deletions[i].name);
    }
    free(ev->deletions);
}

static void
bind_ports(struct engine *e, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "engine-event: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char pod[512], port[64];
        if (sscanf(line, "%511s %63s", pod, port) != 2) {
            continue;
        }
        char *slash = strchr(pod, '/');
        if (!slash) {
            continue;
        }
        *slash = '\0';
        char *warning = engine_set_port(e, pod, slash + 1, port, NULL);
        free(warning);
    }
    fclose(f);
}

/* Flow changes by type and by cookie kind (cookie.h). */
struct change_counts {
    size_t type[3];             /* enum flow_change_type. */
    size_t kind[NPC_CNP + 1];   /* enum np_cookie_kind; 0: other. */
};

static void
count_changes(const struct flow_change *changes, size_t n,
              struct change_counts *cc)
{
    memset(cc, 0, sizeof *cc);
    for (size_t i = 0; i < n; i++) {
        struct np_cookie c;
        np_cookie_decode(changes[i].cookie, &c);
        cc->type[changes[i].type]++;
        cc->kind[c.kind <= NPC_CNP ? c.kind : 0]++;
    }
}

/* The daemon's half of a commit (src/installer.c start_commit() and
 * commit_done() on success): the difference, held for the bundle, and the
 * installed table brought up to date. */
static size_t
commit(struct flowtab *installed, struct engine *e, struct change_counts *cc)
{
    struct flow_change *changes;
    size_t n;
    engine_changes(e, installed, &changes, &n);
    flowtab_changes_hold(changes, n);
    count_changes(changes, n, cc);
    flowtab_apply(installed, changes, n);
    flowtab_changes_free(changes, n);
    return n;
}

static void
print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            putchar('\\');
        }
        putchar((unsigned char) *s < 0x20 ? '?' : *s);
    }
    putchar('"');
}

int
main(int argc, char *argv[])
{
    static const struct option longopts[] = {
        { "node", required_argument, NULL, 'n' },
        { "ports", required_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *node = "node-1", *ports = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            node = optarg;
            break;
        case 'p':
            ports = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }

    /* As the daemon makes it (src/daemon.c daemon_main()) with the
     * defaults and --node-address none, which daemon-bench uses. */
    struct compile_options co;
    compile_options_init(&co);
    co.node = *node ? node : NULL;
    struct engine *e = engine_create(&co);

    double t0 = cpu_ms();
    struct obj_batch cluster;
    obj_batch_init(&cluster);
    parse_file(argv[optind], &cluster);
    size_t n_objs = apply_batch(e, &cluster);
    obj_batch_destroy(&cluster);
    if (ports) {
        bind_ports(e, ports);
    }
    engine_run(e);
    struct flowtab *installed = flowtab_clone(engine_desired(e));
    engine_changes_reset(e);
    struct engine_stats st;
    engine_get_stats(e, &st);
    printf("{\"step\":0,\"what\":\"load\",\"objects\":%zu,\"flows\":%zu,"
           "\"local_pods\":%zu,\"policies_compiled\":%"PRIu64","
           "\"entries\":%"PRIu64",\"cpu_ms\":%.1f,\"rss_kb\":%ld}\n",
           n_objs, st.n_flows, st.n_local_pods, st.policies_compiled,
           st.entries_changed, cpu_ms() - t0, rss_kb());
    fflush(stdout);

    for (int i = optind + 1; i < argc; i++) {
        int step = i - optind;
        char name[64];
        struct engine_stats before, after;
        engine_get_stats(e, &before);
        /* Parsed outside the measure: the daemon's watch client does
         * that, one object at a time. */
        struct event ev;
        event_parse(&ev, argv[i]);

        CALLGRIND_ZERO_STATS;
        double c0 = cpu_ms();
        CALLGRIND_START_INSTRUMENTATION;
        event_input(e, &ev);
        CALLGRIND_STOP_INSTRUMENTATION;
        double c1 = cpu_ms();
        snprintf(name, sizeof name, "step-%d-input", step);
        CALLGRIND_DUMP_STATS_AT(name);

        CALLGRIND_START_INSTRUMENTATION;
        bool ran = engine_run(e);
        CALLGRIND_STOP_INSTRUMENTATION;
        double c2 = cpu_ms();
        snprintf(name, sizeof name, "step-%d-run", step);
        CALLGRIND_DUMP_STATS_AT(name);

        struct change_counts cc;
        CALLGRIND_START_INSTRUMENTATION;
        size_t n = commit(installed, e, &cc);
        CALLGRIND_STOP_INSTRUMENTATION;
        double c3 = cpu_ms();
        snprintf(name, sizeof name, "step-%d-commit", step);
        CALLGRIND_DUMP_STATS_AT(name);

        event_destroy(&ev);
        engine_get_stats(e, &after);
        printf("{\"step\":%d,\"what\":", step);
        print_json_string(argv[i]);
        printf(",\"ran\":%s,\"flows\":%zu,\"flow_changes\":%zu,"
               "\"adds\":%zu,\"modifies\":%zu,\"deletes\":%zu,"
               "\"by_kind\":{\"infra\":%zu,\"clause\":%zu,\"rule\":%zu,"
               "\"isolation\":%zu,\"audit\":%zu,\"cnp\":%zu,"
               "\"other\":%zu},"
               "\"policies_compiled\":%"PRIu64",\"policies_reused\":%"PRIu64","
               "\"policies\":%zu,\"cpu_ms\":{\"input\":%.2f,\"run\":%.2f,"
               "\"commit\":%.2f},\"rss_kb\":%ld}\n",
               ran ? "true" : "false", after.n_flows, n,
               cc.type[FLOW_ADD], cc.type[FLOW_MODIFY], cc.type[FLOW_DELETE],
               cc.kind[NPC_INFRA], cc.kind[NPC_CLAUSE], cc.kind[NPC_RULE],
               cc.kind[NPC_ISOLATION], cc.kind[NPC_AUDIT], cc.kind[NPC_CNP],
               cc.kind[0],
               after.policies_compiled - before.policies_compiled,
               after.policies_reused - before.policies_reused,
               after.n_policies, c1 - c0, c2 - c1, c3 - c2, rss_kb());
        fflush(stdout);
    }
    flowtab_destroy(installed);
    engine_destroy(e);
    return 0;
}
