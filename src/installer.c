/* Keeps the bridge's flows equal to the desired table.  See
 * include/installer.h. */
#include "installer.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <time.h>
#include "cookie.h"
#include "engine.h"             /* engine_now_ms(): the batches' clock. */
#include "flowtab.h"
#include "metrics.h"
#include "np-log.h"
#include "np-util.h"
#include "switch-db.h"
#include "switch-of.h"

/* The realization latencies kept for 'status': the last this many. */
#define N_LATENCIES 4096

/* A pod's port as of the table a bundle carries, to be marked once the
 * bundle has committed. */
struct marker {
    char *ns, *name;
    int ofport;
    bool realized;
};

struct installer {
    struct ev_loop *loop;
    struct switch_of *sw;
    struct switch_db *db;
    char *bridge;
    struct installer_callbacks cbs;
    void *aux;

    struct flowtab *installed;  /* Cookies without the generation, like
                                 * the engine's. */
    bool installed_known;       /* False: replace everything next. */
    struct drift_ctx *drift_in_flight;  /* The dump's context, or NULL:
                                         * freed here if the switch drops
                                         * the dump with the connection. */
    bool follows;               /* 'installed' got every change the engine
                                 * journaled since its last reset. */
    uint8_t generation;
    bool generation_chosen;

    /* The request in flight, if any: a dump that picks the generation, a
     * replace ('replacing', the table it installs) or a commit
     * ('committing', the changes it applies, held). */
    bool busy;
    struct flowtab *replacing;
    struct flow_change *committing;
    size_t n_changes;
    uint64_t runs_in_flight;    /* Engine runs the request includes. */
    double batch_start_in_flight;
    struct marker *markers;     /* Bound pods as of the request. */
    size_t n_markers, allocated_markers;

    uint64_t runs_seen;         /* The last engine run noted. */
    double first_uncommitted_ms;        /* 0: everything committed. */
    uint64_t runs_committed;    /* Engine runs whose result is installed. */
    uint64_t commit_seq;        /* Bundles committed (drift staleness). */

    /* Figures for 'status' and the metrics. */
    uint64_t commits, commit_failures, flow_mods, replaces;
    uint64_t flow_mods_by_type[3];      /* By enum flow_change_type. */
    uint64_t drift_checks, drift_repairs;
    uint64_t reconnects;        /* Connections made after the first. */
    bool ever_connected;
    double last_commit_wall;    /* Seconds since the epoch; 0: never. */
    struct metrics_histogram realization;       /* Seconds. */
    double last_commit_seconds;
    char last_commit_time[NP_UTC_STAMP_SIZE];
    /* The error a log line quotes, cut where the daemon's 'status' cuts
     * it, so that the two say the same. */
    char last_error[512];
    double latencies[N_LATENCIES];
    size_t n_latencies;         /* Total recorded; ring index mod N. */

    ev_timer retry;             /* Running: a failure is being waited out. */
    ev_timer drift;
};

/* Seconds since the epoch, for the time of the last commit. */
static double
wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
changed(struct installer *in)
{
    in->cbs.changed(in->aux);
}

/* Keeps 'message' and hands it to the owner. */
static void
set_error(struct installer *in, const char *message)
{
    snprintf(in->last_error, sizeof in->last_error, "%s", message);
    in->cbs.error(in->aux, in->last_error);
}

/* Compiled cookies carry generation 0; the installed ones carry ours. */
static uint64_t
with_generation(const struct installer *in, uint64_t cookie)
{
    return np_cookie_set_generation(cookie, in->generation);
}

/* ---- The "installed" marker on pods' ports. ----
 *
 * A CNI that waits for it before starting a pod's containers closes the
 * window in which a new pod runs before its policies do.  It must be set
 * only once the pod's flows are on the bridge: the bound pods are noted
 * with the table a commit carries, and marked when that commit is done. */

static void
note_marker(void *in_, const char *ns, const char *name, const char *port,
            bool realized)
{
    struct installer *in = in_;
    /* The daemon gave the engine the ofport as text. */
    struct marker m = { xstrdup(ns), xstrdup(name), atoi(port), realized };
    APPEND(in->markers, in->n_markers, in->allocated_markers, m);
}

static void
markers_clear(struct installer *in)
{
    for (size_t i = 0; i < in->n_markers; i++) {
        free(in->markers[i].ns);
        free(in->markers[i].name);
    }
    in->n_markers = 0;
}

/* Notes the bound pods for the table about to be committed. */
static void
markers_snapshot(struct installer *in, const struct installer_table *t)
{
    markers_clear(in);
    t->ports(t->ports_aux, note_marker, in);
}

/* The table the snapshot was taken with is on the bridge. */
static void
markers_commit(struct installer *in)
{
    for (size_t i = 0; i < in->n_markers; i++) {
        switch_db_set_installed(in->db, in->markers[i].ns,
                                in->markers[i].name, in->markers[i].ofport,
                                in->markers[i].realized);
    }
    markers_clear(in);
}

/* ---- Full replace. ---- */


/* After a bundle of 'n' flow changes: a large one's buffers (the flow
 * mods, the switch's copies of every string, the replies) are freed in
 * the middle of the heap, where glibc keeps them from the system unless
 * asked: at 10k pods that was 20 MB of the daemon's resident memory after
 * its first install.  Trimming walks the free chunks: a millisecond or
 * two, against a bundle of thousands of flows. */
static void
trim_after(size_t n)
{
#ifdef __GLIBC__
    if (n >= 4096) {
        malloc_trim(0);
    }
#else
    (void) n;
#endif
}

static void
replace_done(void *in_, const struct switch_of_result *r)
{
    struct installer *in = in_;
    in->busy = false;
    if (r->status == SWITCH_OF_OK) {
        flowtab_destroy(in->installed);
        in->installed = in->replacing;
        in->installed_known = true;
        markers_commit(in);
        in->first_uncommitted_ms = 0;
        in->replaces++;
        in->commits++;
        in->commit_seq++;
        in->runs_committed = in->runs_in_flight;
        in->last_commit_seconds = r->seconds;
        np_utc_stamp(in->last_commit_time);
        in->last_commit_wall = wall_now();
        np_log(NP_LOG_INFO, "switch", "installed %zu flows as generation %u "
               "in one bundle (%.3f s); older generations removed",
               flowtab_count(in->installed), in->generation, r->seconds);
    } else {
        flowtab_destroy(in->replacing);
        in->commit_failures++;
        set_error(in, r->error ? r->error
                               : switch_of_status_to_string(r->status));
        NP_ERR_RL("switch", "replacing flows failed: %s", in->last_error);
        ev_timer_again(in->loop, &in->retry);
    }
    in->replacing = NULL;
    trim_after(flowtab_count(in->installed));
    changed(in);
}

/* Installs the whole desired table over every flow of ours, of any
 * generation, in one bundle. */
static void
start_replace(struct installer *in, const struct installer_table *t)
{
    in->replacing = flowtab_clone(t->desired);
    if (t->changes_reset) {
        /* From this copy on, what the runs change is journaled: once it
         * is installed, commits take only that. */
        t->changes_reset(t->changes_aux);
        in->follows = true;
    }
    markers_snapshot(in, t);
    in->runs_in_flight = t->run;
    /* Every flow, as the additions that make it from nothing. */
    struct flowtab *none = flowtab_create();
    struct flow_change *flows;
    size_t n;
    flowtab_diff(none, in->replacing, &flows, &n);
    flowtab_destroy(none);
    for (size_t i = 0; i < n; i++) {
        flows[i].cookie = with_generation(in, flows[i].cookie);
    }
    in->busy = true;
    switch_of_replace(in->sw, NP_COOKIE_OURS, NP_COOKIE_MASK_OURS, flows, n,
                      replace_done, in);
    free(flows);
}

/* ---- Commits of the difference. ---- */

/* The changes that turn what is installed into 't->desired', into
 * '*changes' (malloc'd; the strings point into the two tables).  The one
 * place the difference is computed: over the flows the engine's runs
 * changed, when 'installed' has followed the desired table since a reset
 * (a replace, or a whole comparison, starts that); over both whole tables
 * otherwise, or when the owner gives no 'changes'. */
static void
diff_installed(struct installer *in, const struct installer_table *t,
               struct flow_change **changes, size_t *n)
{
    if (t->changes && in->follows) {
        t->changes(t->changes_aux, in->installed, changes, n);
    } else {
        flowtab_diff(in->installed, t->desired, changes, n);
        if (t->changes_reset) {
            t->changes_reset(t->changes_aux);
            in->follows = true;
        }
    }
}

static void
commit_done(void *in_, const struct switch_of_result *r)
{
    struct installer *in = in_;
    struct flow_change *changes = in->committing;
    in->committing = NULL;
    in->busy = false;
    if (r->status == SWITCH_OF_OK) {
        flowtab_apply(in->installed, changes, in->n_changes);
        markers_commit(in);
        in->commits++;
        in->commit_seq++;
        in->flow_mods += in->n_changes;
        for (size_t i = 0; i < in->n_changes; i++) {
            in->flow_mods_by_type[changes[i].type]++;
        }
        in->runs_committed = in->runs_in_flight;
        double latency_ms = engine_now_ms() - in->batch_start_in_flight;
        in->latencies[in->n_latencies++ % N_LATENCIES] = latency_ms;
        metrics_histogram_observe(&in->realization, latency_ms / 1000);
        in->last_commit_seconds = r->seconds;
        np_utc_stamp(in->last_commit_time);
        in->last_commit_wall = wall_now();
        np_log(NP_LOG_DBG, "switch", "committed %zu flow changes (%.3f s)",
               in->n_changes, r->seconds);
    } else {
        if (!in->first_uncommitted_ms
            || in->batch_start_in_flight < in->first_uncommitted_ms) {
            in->first_uncommitted_ms = in->batch_start_in_flight;
        }
        in->commit_failures++;
        set_error(in, r->error ? r->error
                               : switch_of_status_to_string(r->status));
        NP_ERR_RL("switch", "commit of %zu flow changes failed: %s",
                  in->n_changes, in->last_error);
        if (r->status != SWITCH_OF_REJECTED) {
            /* Maybe applied, maybe not: start over from a clean slate. */
            in->installed_known = false;
        }
        /* These changes are not installed, and the journal that had them
         * is read: the next commit compares the whole tables. */
        in->follows = false;
        ev_timer_again(in->loop, &in->retry);
    }
    flowtab_changes_free(changes, in->n_changes);
    trim_after(in->n_changes);
    in->n_changes = 0;
    changed(in);
}

static void
start_commit(struct installer *in, const struct installer_table *t)
{
    struct flow_change *changes;
    size_t n;
    diff_installed(in, t, &changes, &n);
    markers_snapshot(in, t);
    if (!n) {
        markers_commit(in);     /* Already on the bridge. */
        free(changes);
        in->first_uncommitted_ms = 0;   /* Nothing to realize. */
        in->runs_committed = t->run;
        return;
    }
    /* The engine may run again before the switch answers, dropping the
     * flows the changes point into: hold them, which also lets the
     * installed table share them when the commit is done. */
    flowtab_changes_hold(changes, n);
    /* The switch's copy carries the generation; the table's cookies stay
     * as the tables have them (flowtab_apply() checks them). */
    struct flow_change *ofc = xmalloc(n * sizeof *ofc);
    for (size_t i = 0; i < n; i++) {
        ofc[i] = changes[i];
        ofc[i].cookie = with_generation(in, changes[i].cookie);
    }
    in->busy = true;
    in->runs_in_flight = t->run;
    /* Measure from the oldest input this commit carries: runs made while
     * an earlier commit was in flight land here too. */
    in->batch_start_in_flight = (in->first_uncommitted_ms
                                 ? in->first_uncommitted_ms
                                 : t->batch_start_ms);
    in->first_uncommitted_ms = 0;
    in->n_changes = n;
    in->committing = changes;
    switch_of_commit(in->sw, ofc, n, commit_done, in);
    free(ofc);
}

/* ---- Generations and connections. ---- */

/* Picks this run's generation: one more than that of the last flow of ours
 * the dump lists, 255 wrapping to 0, so that a restarted daemon's flows
 * are told apart from its predecessor's.  Ours normally all have one
 * generation; after a replace cut short they may not, and the one picked
 * may be one some of them have: harmless, since the replace that follows
 * takes out every flow of ours, of any generation. */
static void
generation_dump_done(void *in_, struct switch_of_flows *flows)
{
    struct installer *in = in_;
    in->busy = false;
    if (flows->status != SWITCH_OF_OK) {
        set_error(in, flows->error ? flows->error : "dump failed");
        ev_timer_again(in->loop, &in->retry);
        changed(in);
        return;
    }
    int newest = -1;
    for (size_t i = 0; i < flows->n_flows; i++) {
        newest = np_cookie_generation(flows->flows[i].cookie);
    }
    in->generation = (uint8_t) (newest + 1);
    in->generation_chosen = true;
    np_log(NP_LOG_INFO, "switch", "%zu flows of ours found; this run uses "
           "generation %u", flows->n_flows, in->generation);
    changed(in);
}

static void
switch_conn(void *in_, bool connected, unsigned int seqno)
{
    /* One line when an outage begins and one when it ends, and no more
     * than a few a minute should the switch come and go. */
    static struct np_log_limit outage_rl = NP_LOG_LIMIT_INIT(10);
    struct installer *in = in_;
    struct switch_of_outage o;
    switch_of_get_outage(in->sw, &o);
    if (connected && o.seconds) {
        np_log_rl(&outage_rl, NP_LOG_INFO, "switch", "connected to %s "
                  "(connection %u) after %.1f s without it (%llu attempts): "
                  "reinstalling every flow", in->bridge, seqno,
                  o.seconds, o.attempts);
    } else if (connected) {
        np_log(NP_LOG_INFO, "switch", "connected to %s (connection %u): "
               "reinstalling every flow", in->bridge, seqno);
    } else {
        np_log_rl(&outage_rl, NP_LOG_WARN, "switch", "%s %s: %s; retrying "
                  "(fast at first, then every few seconds; see status)",
                  seqno ? "connection lost to" : "cannot connect to",
                  in->bridge, o.error ? o.error : "unknown error");
    }
    if (connected) {
        in->reconnects += in->ever_connected;
        in->ever_connected = true;
    }
    /* A restarted switch has no flows; a new connection may have missed
     * anything.  Either way: replace all, as a new generation. */
    in->installed_known = false;
    in->generation_chosen = false;
    changed(in);
}

static void
retry_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    /* Nothing to do: waking up makes the owner's next iteration call
     * installer_run(), which tries again. */
    ev_timer_stop(loop, t);
}

void
installer_run(struct installer *in, const struct installer_table *t)
{
    if (t->run != in->runs_seen) {
        in->runs_seen = t->run;
        if (!in->first_uncommitted_ms) {
            in->first_uncommitted_ms = t->batch_start_ms;
        }
    }
    if (in->busy || !switch_of_is_connected(in->sw)
        || ev_is_active(&in->retry)) {
        return;
    }
    if (!in->generation_chosen) {
        in->busy = true;
        switch_of_dump(in->sw, NP_COOKIE_OURS, NP_COOKIE_MASK_OURS,
                       generation_dump_done, in);
    } else if (!in->installed_known) {
        start_replace(in, t);
    } else if (in->runs_committed < t->run) {
        start_commit(in, t);
    }
}

/* ---- Drift. ---- */

struct drift_ctx {
    struct installer *in;
    uint64_t commit_seq;
};

struct normalize_ctx {
    const struct installer *in;
    struct flowtab *ours;
};

/* Adds a flow of 'installed' to 'nc->ours' as the switch would print it,
 * with the generation it has there. */
static void
put_normalized(void *nc_, uint8_t table, uint16_t priority, uint64_t cookie,
               const char *match, const char *actions)
{
    const struct normalize_ctx *nc = nc_;
    char *m, *a;
    char *err = switch_of_normalize(table, priority, match, actions, &m, &a);
    if (err) {
        free(err);
        return;
    }
    flowtab_put(nc->ours, table, priority, with_generation(nc->in, cookie),
                m, a);
    free(m);
    free(a);
}

static void
drift_dump_done(void *dc_, struct switch_of_flows *flows)
{
    struct drift_ctx *dc = dc_;
    struct installer *in = dc->in;
    in->drift_in_flight = NULL;
    bool stale = dc->commit_seq != in->commit_seq || in->busy;
    if (flows->status != SWITCH_OF_OK || stale || !in->installed_known) {
        free(dc);
        return;                 /* Try again next period. */
    }
    in->drift_checks++;
    /* Normalize what we installed the way the switch prints flows, then
     * compare: anything missing, changed or extra in our cookie range is
     * drift.  The whole table, on purpose: drift is what no run of ours
     * touched. */
    struct flowtab *seen = flowtab_create();
    for (size_t i = 0; i < flows->n_flows; i++) {
        const struct switch_of_flow *f = &flows->flows[i];
        flowtab_put(seen, f->table, f->priority, f->cookie, f->match,
                    f->actions);
    }
    struct flowtab *ours = flowtab_create();
    struct normalize_ctx nc = { in, ours };
    flowtab_visit(in->installed, put_normalized, &nc);
    free(dc);
    struct flow_change *changes;
    size_t n;
    flowtab_diff(seen, ours, &changes, &n);
    free(changes);
    flowtab_destroy(seen);
    flowtab_destroy(ours);
    if (n) {
        in->drift_repairs++;
        NP_WARN_RL("drift", "%zu of our flows on %s were changed or removed "
                   "by someone else: reinstalling", n, in->bridge);
        in->installed_known = false;
        changed(in);
    }
}

static void
drift_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct installer *in = CONTAINER_OF(t, struct installer, drift);
    if (!in->installed_known || in->busy || in->drift_in_flight
        || !switch_of_is_connected(in->sw)) {
        return;
    }
    struct drift_ctx *dc = xmalloc(sizeof *dc);
    dc->in = in;
    dc->commit_seq = in->commit_seq;
    in->drift_in_flight = dc;
    switch_of_dump(in->sw, NP_COOKIE_OURS_GEN(in->generation),
                   NP_COOKIE_MASK_GEN, drift_dump_done, dc);
}

/* ---- Life cycle and status. ---- */

struct installer *
installer_create(struct ev_loop *loop, const struct installer_options *opts,
                 struct switch_db *db, const struct installer_callbacks *cbs,
                 void *aux)
{
    struct installer *in = xcalloc(1, sizeof *in);
    in->loop = loop;
    in->db = db;
    in->bridge = xstrdup(opts->bridge);
    in->cbs = *cbs;
    in->aux = aux;
    in->installed = flowtab_create();
    metrics_histogram_init(&in->realization, metrics_seconds_buckets,
                           metrics_n_seconds_buckets);
    in->sw = switch_of_create(opts->ovs_rundir, opts->bridge, switch_conn,
                              in);
    ev_init(&in->retry, retry_cb);
    in->retry.repeat = 1.;
    if (opts->drift_interval > 0) {
        ev_timer_init(&in->drift, drift_cb, opts->drift_interval,
                      opts->drift_interval);
        ev_timer_start(loop, &in->drift);
    }
    return in;
}

void
installer_destroy(struct installer *in)
{
    if (!in) {
        return;
    }
    /* The switch drops what is queued without calling back: what the
     * callbacks would have freed goes here. */
    switch_of_destroy(in->sw);
    ev_timer_stop(in->loop, &in->retry);
    ev_timer_stop(in->loop, &in->drift);
    flowtab_destroy(in->replacing);
    free(in->drift_in_flight);
    flowtab_changes_free(in->committing, in->n_changes);
    markers_clear(in);
    free(in->markers);
    flowtab_destroy(in->installed);
    free(in->bridge);
    free(in);
}

void
installer_get_status(const struct installer *in, struct installer_status *s)
{
    *s = (struct installer_status) {
        .busy = in->busy,
        .installed_known = in->installed_known,
        .generation_chosen = in->generation_chosen,
        .generation = in->generation,
        .n_installed = flowtab_count(in->installed),
        .runs_committed = in->runs_committed,
        .commits = in->commits,
        .replaces = in->replaces,
        .flow_mods = in->flow_mods,
        .commit_failures = in->commit_failures,
        .drift_checks = in->drift_checks,
        .drift_repairs = in->drift_repairs,
        .flow_adds = in->flow_mods_by_type[FLOW_ADD],
        .flow_modifies = in->flow_mods_by_type[FLOW_MODIFY],
        .flow_deletes = in->flow_mods_by_type[FLOW_DELETE],
        .reconnects = in->reconnects,
        .last_commit_seconds = in->last_commit_seconds,
        .last_commit_wall = in->last_commit_wall,
    };
    memcpy(s->last_commit_time, in->last_commit_time,
           sizeof s->last_commit_time);
}

const struct metrics_histogram *
installer_latency_histogram(const struct installer *in)
{
    return &in->realization;
}

size_t
installer_count_table(const struct installer *in, uint8_t table)
{
    return flowtab_count_table(in->installed, table);
}

static int
compare_doubles(const void *a_, const void *b_)
{
    double a = *(const double *) a_, b = *(const double *) b_;
    return a < b ? -1 : a > b;
}

void
installer_get_latency(const struct installer *in,
                      struct installer_latency *l)
{
    size_t n = in->n_latencies < N_LATENCIES ? in->n_latencies : N_LATENCIES;
    memset(l, 0, sizeof *l);
    if (!n) {
        return;
    }
    double *v = xmalloc(n * sizeof *v);
    memcpy(v, in->latencies, n * sizeof *v);
    np_qsort(v, n, sizeof *v, compare_doubles);
    l->n = n;
    l->p50_ms = v[(n - 1) / 2];
    l->p99_ms = v[(size_t) ((n - 1) * 0.99)];
    l->max_ms = v[n - 1];
    free(v);
}

struct cookie_count {
    uint64_t cookie;
    size_t n;
};

static void
count_cookie(void *cc_, uint8_t table, uint16_t priority, uint64_t cookie,
             const char *match, const char *actions)
{
    struct cookie_count *cc = cc_;
    cc->n += cookie == cc->cookie;
}

size_t
installer_count_cookie(const struct installer *in, uint64_t cookie)
{
    if (!in->installed_known
        || np_cookie_generation(cookie) != in->generation) {
        return 0;
    }
    /* 'installed' keeps compiled cookies, of generation 0. */
    struct cookie_count cc = { np_cookie_set_generation(cookie, 0), 0 };
    flowtab_visit(in->installed, count_cookie, &cc);
    return cc.n;
}

void
installer_get_outage(const struct installer *in, struct switch_of_outage *o)
{
    switch_of_get_outage(in->sw, o);
}

void
installer_dump_flows(struct installer *in, uint64_t cookie,
                     uint64_t cookie_mask, switch_of_dump_cb *cb, void *aux)
{
    switch_of_dump(in->sw, cookie, cookie_mask, cb, aux);
}

struct switch_of *
installer_switch(struct installer *in)
{
    return in->sw;
}
