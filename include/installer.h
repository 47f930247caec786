/* installer: keeps one bridge's flows equal to a desired table, as OVN's
 * ofctrl does for ovn-controller.
 *
 *   engine ──desired table──▶ installer ──one atomic bundle──▶ switch-of
 *                                 │
 *                                 └──"installed" markers──▶ switch-db
 *
 * It owns the OpenFlow connection to the bridge, the table installed
 * there, this run's cookie generation, the one request in flight, the
 * retries, the periodic drift check and the pods' "installed" markers.
 * 'installed' changes only once the switch has committed a bundle: a
 * rejected bundle is sent again later, and one whose fate is unknown (the
 * connection was lost after the commit went out) makes the next bundle a
 * full replace.
 *
 * Generations.  After every (re)connection, and at start, the installer
 * dumps the flows of ours already in the switch, picks a generation
 * (cookie bits 40-47) that tells its flows apart from them, and replaces
 * every flow of ours, of any generation, by the desired table in one
 * bundle: no flush, no moment without policy.  A restarted switch has no
 * flows, and a new connection may have missed anything.  Compiled cookies
 * carry generation 0; the installer puts its own in as they go out, so
 * its 'installed' table, like the engine's, has none.
 *
 * Drift.  Every 'drift_interval' seconds, when nothing is in flight, it
 * dumps this generation's flows and compares them with 'installed',
 * normalized the way the switch prints flows; anything missing, changed
 * or extra (someone else's ovs-ofctl) is counted and repaired by a full
 * replace.
 *
 * Markers.  A CNI may wait for external_ids:ovs-netpol-installed on a
 * pod's Interface before it starts the pod (switch-db.h).  The pods'
 * ports are listed with the table a bundle carries and marked only once
 * that bundle has committed, so a marker never runs ahead of the flows.
 *
 * Loop rules: runs on the libev loop with ovs-loop (ovs_loop_init()
 * first); nothing here blocks.  The owner calls installer_run() once per
 * loop iteration, after the engine's run.  Results of switch requests
 * arrive from ovs-loop's own watchers, possibly after that iteration's
 * installer_run(): the 'changed' callback then tells the owner, which
 * must make sure another iteration follows. */
#ifndef NP_INSTALLER_H
#define NP_INSTALLER_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "switch-of.h"

struct ev_loop;
struct flow_change;
struct flowtab;
struct installer;
struct switch_db;
struct switch_of_outage;

struct installer_options {
    const char *ovs_rundir;     /* Where BRIDGE.mgmt lives. */
    const char *bridge;         /* Also names the bridge in log lines. */
    double drift_interval;      /* Seconds; 0 disables the check. */
};

struct installer_callbacks {
    /* Something a waiter may be waiting for happened: a bundle or a dump
     * ended, the connection came or went, drift was found.  The owner
     * makes sure the loop turns again (so that installer_run() sends what
     * is next) and checks its waiters. */
    void (*changed)(void *aux);
    /* A bundle or a dump failed: 'message' (valid during the call) says
     * why.  The installer has logged what needs logging and retries by
     * itself within a second; this is for the owner's 'last error'. */
    void (*error)(void *aux, const char *message);
};

/* Connects to 'opts->ovs_rundir'/'opts->bridge'.mgmt and starts the drift
 * timer.  'opts' and 'cbs' are copied.  'db' is borrowed for the markers
 * and must outlive the installer.  ovs_loop_init() must have been called
 * on 'loop'.  Returns a new installer, which the caller frees with
 * installer_destroy(). */
struct installer *installer_create(struct ev_loop *loop,
                                   const struct installer_options *opts,
                                   struct switch_db *db,
                                   const struct installer_callbacks *cbs,
                                   void *aux);

/* Closes the connection; the flows stay in the switch, and whatever was in
 * flight is dropped without its callbacks.  Accepts NULL. */
void installer_destroy(struct installer *);

/* ---- Input. ---- */

/* Called for every port bound to a pod, with whether the table gives that
 * pod flows of its own (engine_port_fn). */
typedef void installer_port_fn(void *cb_aux, const char *ns, const char *name,
                               const char *port, bool realized);
/* Calls 'cb' with 'cb_aux' for every port bound to a pod, as things are
 * when the table was made (engine_for_each_bound_port()). */
typedef void installer_ports_fn(const void *ports_aux, installer_port_fn *cb,
                                void *cb_aux);

/* The engine's result, as installer_run() reads it. */
struct installer_table {
    const struct flowtab *desired;      /* Cookies with generation 0. */
    uint64_t run;               /* Engine runs it includes (counting up). */
    double batch_start_ms;      /* engine_now_ms() of the first input
                                 * that run 'run' included. */
    installer_ports_fn *ports;  /* The ports the markers follow. */
    const void *ports_aux;
    /* What changed in 'desired' (engine_changes()): the difference from a
     * table that followed it, at the cost of what changed; and the reset
     * that starts a table following it (engine_changes_reset()).  NULL:
     * the installer compares the whole tables on every commit. */
    void (*changes)(void *aux, const struct flowtab *installed,
                    struct flow_change **changes, size_t *n);
    void (*changes_reset)(void *aux);
    void *changes_aux;
};

/* Once per loop iteration: notes a new engine run, then, unless a request
 * is in flight, the switch is away or a failure is being waited out,
 * sends what is next: the dump that picks a generation, a full replace,
 * or one bundle of the difference between 'installed' and 't->desired'.
 * The caller retains ownership of 't' and of what it points to; the
 * installer copies what it keeps (the engine may run again before the
 * switch answers). */
void installer_run(struct installer *, const struct installer_table *t);

/* ---- Output. ---- */

struct installer_status {
    bool busy;                  /* A bundle or a dump is in flight. */
    bool installed_known;       /* False: the next bundle replaces all. */
    bool generation_chosen;     /* False until the dump after connecting. */
    uint8_t generation;         /* Of this run's cookies. */
    size_t n_installed;         /* Flows in 'installed'. */
    /* The engine run whose table is on the switch: 'sync' waits for it to
     * reach the run that includes every input seen. */
    uint64_t runs_committed;
    uint64_t commits;           /* Bundles committed, replaces included. */
    uint64_t replaces;          /* Full replaces among them. */
    uint64_t flow_mods;         /* Flow changes in the other bundles... */
    uint64_t flow_adds, flow_modifies, flow_deletes;    /* ...by type. */
    uint64_t commit_failures;   /* Bundles that failed. */
    uint64_t drift_checks, drift_repairs;
    uint64_t reconnects;        /* Connections to the switch made after
                                 * the first (each a full replace). */
    double last_commit_seconds;
    double last_commit_wall;    /* When, in seconds since the epoch; 0
                                 * before the first. */
    char last_commit_time[32];  /* np_utc_stamp(); "" before the first. */
};
void installer_get_status(const struct installer *, struct installer_status *);

/* Realization latency: from the first input of a batch to the commit of
 * the bundle that carries it, over the last 4,096 bundles that changed
 * flows.  'n' is 0 before the first. */
struct installer_latency {
    size_t n;
    double p50_ms, p99_ms, max_ms;
};
void installer_get_latency(const struct installer *,
                           struct installer_latency *);
/* The same latencies since start, in seconds (metrics_seconds_buckets):
 * every bundle that changed flows, full replaces left out. */
struct metrics_histogram;
const struct metrics_histogram *installer_latency_histogram(
    const struct installer *);

/* Flows of the installed table in OpenFlow table 'table' (as of the last
 * commit: while 'installed_known' is false the switch may hold others). */
size_t installer_count_table(const struct installer *, uint8_t table);

/* How many installed flows carry 'cookie' exactly as the switch shows it
 * (with this run's generation): 0 for another generation's cookie, and
 * while the installed table is not known. */
size_t installer_count_cookie(const struct installer *, uint64_t cookie);

/* Dumps the flows on the switch whose cookie matches 'cookie' under
 * 'cookie_mask', with their counters (switch_of_dump()), behind whatever
 * the installer sent before: for 'stats'.  'cb' is called later, never
 * from inside this call, and not at all once the installer is destroyed. */
void installer_dump_flows(struct installer *, uint64_t cookie,
                          uint64_t cookie_mask, switch_of_dump_cb *cb,
                          void *aux);

/* The connection's state and its last outage (switch_of_get_outage()). */
void installer_get_outage(const struct installer *, struct switch_of_outage *);

/* The switch connection, for what shares it (the audit copies). */
struct switch_of *installer_switch(struct installer *);

#endif
