/* Fuzz target: requests on the daemon's control socket, i.e. the argument
 * parsing of the commands that src/daemon.c and src/daemon-trace.c register
 * (sync --timeout, trace's endpoints and port, explain's cookie or flow
 * text), run by the real handlers of a daemon that follows a directory
 * (the base cluster, fuzz-base.c) and whose switch is absent.
 *
 * The handlers are static: this target compiles daemon.c into itself and
 * replaces src/control.c by the few lines below, which record the handlers
 * and check the replies, as OVS's unixctl server would call and answer
 * them (it counts the arguments against each command's minimum and
 * maximum before calling).  The daemon's loop never runs: a 'sync' that
 * waits is answered here after its handler returns, and a 'trace' that got
 * as far as asking the switch is cancelled ("daemon stopping").
 *
 * Input: the first byte picks a registered command (byte % number of
 * commands) and whether a request still waiting afterwards is answered or
 * abandoned by its client (the next bit); the rest, split at NUL bytes,
 * are its arguments.
 *
 * Checks: every request is answered exactly once, with a text, unless its
 * client went away first; then it is never answered. */
#include "../../src/daemon.c"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "addr.h"
#include "fuzz.h"
#include "fuzz-base.h"

/* ---- src/control.c, recorded. ---- */

struct control_request {
    int n_replies;
    control_cancel_fn *cancel;
    void *cancel_aux;
};

struct command {
    const char *name;
    int min_args, max_args;
    control_handler *fn;
    void *aux;
};
static struct command commands[16];
static size_t n_commands;

struct control *
control_create(const char *path, char **error)
{
    abort();
}

void
control_destroy(struct control *c)
{
}

void
control_register(const char *name, const char *usage, int min_args,
                 int max_args, control_handler *fn, void *aux)
{
    assert(n_commands < ARRAY_SIZE(commands));
    commands[n_commands++] = (struct command) { name, min_args, max_args,
                                                fn, aux };
}

void
control_reply(struct control_request *req, bool ok, const char *text)
{
    assert(text);
    req->n_replies++;
}

void
control_set_cancel(struct control_request *req, control_cancel_fn *cancel,
                   void *aux)
{
    req->cancel = cancel;
    req->cancel_aux = aux;
}

int
control_call(const char *path, int argc, char *argv[], char **result)
{
    abort();
}

/* ---- The daemon. ---- */

static char work_dir[] = "/tmp/np-fuzz-control.XXXXXX";
static struct daemon_options opts;
static struct ip_addr node_addr;
static struct daemon *the_daemon;

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert(f);
    fputs(text, f);
    fclose(f);
}

static void
remove_work_dir(void)
{
    char *s = xasprintf("rm -rf '%s'", work_dir);
    if (system(s)) {
        /* Nothing more to do about it. */
    }
    free(s);
}

/* As daemon_main() up to its loop, with a directory source and no
 * switch, and the base cluster's ports bound as switch-db would bind
 * them. */
static void
daemon_setup(void)
{
    assert(mkdtemp(work_dir));
    atexit(remove_work_dir);
    char *source = xasprintf("%s/source", work_dir);
    char *rundir = xasprintf("%s/run", work_dir);
    assert(!mkdir(source, 0700) && !mkdir(rundir, 0700));
    char *file = xasprintf("%s/cluster.json", source);
    write_file(file, fuzz_base_manifest());
    free(file);
    /* A pid file whose ovs-vswitchd.1.ctl does not exist: a trace goes
     * as far as connecting. */
    file = xasprintf("%s/ovs-vswitchd.pid", rundir);
    write_file(file, "1\n");
    free(file);

    bool ok = ip_addr_parse("10.9.0.254", &node_addr);
    assert(ok);
    opts = (struct daemon_options) {
        .source_dir = source,
        .ovs_rundir = rundir,
        .bridge = "br-int",
        .control = "unused",
        .compile = {
            .node = "node-1",
            .continuation = "NORMAL",
            .node_addrs = &node_addr,
            .n_node_addrs = 1,
        },
    };

    struct daemon *d = xcalloc(1, sizeof *d);
    d->opts = &opts;
    d->loop = EV_DEFAULT;
    ovs_loop_init(d->loop);
    fuzz_quiet_ovs();
    np_log_set_level(NP_LOG_ERR + 1);
    d->engine = fuzz_base_engine();
    d->db = switch_db_create(opts.ovs_rundir, &db_callbacks, d);
    struct installer_options io = {
        .ovs_rundir = opts.ovs_rundir,
        .bridge = opts.bridge,
    };
    d->installer = installer_create(d->loop, &io, d->db, &installer_callbacks,
                                    d);
    /* In this order, which the first byte of the inputs picks from. */
    control_register("status", "", 0, 0, cmd_status, d);
    control_register("recompute", "", 0, 0, cmd_recompute, d);
    control_register("sync", "[--timeout SECONDS]", 0, 2, cmd_sync, d);
    d->trace = daemon_trace_create(&opts, d->engine, d->installer, d->db);
    char *error;
    d->dir = source_dir_create(d->loop, opts.source_dir, &dir_callbacks, d,
                               &error);
    assert(d->dir);
    ev_idle_init(&d->kick, kick_cb);
    the_daemon = d;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!the_daemon) {
        /* Not in LLVMFuzzerInitialize(): OVS's signal handlers must not
         * precede libFuzzer's. */
        daemon_setup();
    }
    if (!size) {
        return 0;
    }
    const struct command *c = &commands[data[0] % n_commands];

    char *text = xmemdup0((const char *) data + 1, size - 1);
    const char **argv = xmalloc((size + 2) * sizeof *argv);
    int argc = 0;
    argv[argc++] = c->name;
    if (size > 1) {
        for (const char *p = text; p <= text + (size - 1);
             p += strlen(p) + 1) {
            argv[argc++] = p;
        }
    }
    argv[argc] = NULL;

    if (argc - 1 >= c->min_args && argc - 1 <= c->max_args) {
        struct control_request req = { 0 };
        c->fn(&req, argc, argv, c->aux);
        struct daemon *d = the_daemon;
        bool abandoned = false;
        if (!req.n_replies && req.cancel && (data[0] / n_commands) & 1) {
            /* The client goes away: control.c calls the cancel function
             * once, and the request must not be answered after it. */
            req.cancel(&req, req.cancel_aux);
            abandoned = true;
        }
        while (d->waiters) {
            waiter_finish(d, d->waiters, false, "fuzz: not waiting");
        }
        daemon_trace_stop(d->trace);
        assert(req.n_replies == !abandoned);
        assert(!d->waiters);
        if (engine_pending(d->engine)) {
            engine_run(d->engine);
        }
    }
    free(argv);
    free(text);
    return 0;
}
