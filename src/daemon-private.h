/* The daemon's state, shared by src/daemon.c (the glue) and
 * src/daemon-trace.c (the 'explain' and 'trace' commands).  Not an
 * interface: nothing outside the daemon includes it. */
#ifndef NP_DAEMON_PRIVATE_H
#define NP_DAEMON_PRIVATE_H 1

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct control;
struct engine;
struct flowtab;
struct flow_change;
struct kube_client;
struct kube_config;
struct marker;
struct source_dir;
struct switch_db;
struct switch_of;
struct trace_req;
struct waiter;

/* Requests that wait may each hold a connection and memory (and a trace a
 * connection to ovs-vswitchd): at most this many at a time, beyond which
 * they get an error at once. */
#define DAEMON_MAX_SYNCS 64
#define DAEMON_MAX_TRACES 16

struct daemon {
    const struct daemon_options *opts;
    struct ev_loop *loop;
    struct engine *engine;
    struct flowtab *installed;  /* Cookies without the generation, like
                                 * the engine's. */
    bool installed_known;       /* False: replace everything next. */
    uint8_t generation;
    bool generation_chosen;

    struct source_dir *dir;
    struct kube_client *kube;
    struct kube_config *kube_config;
    bool source_synced;         /* The first full view has arrived. */
    struct switch_db *db;
    struct switch_of *sw;
    struct control *control;

    /* The commit in flight, if any. */
    bool busy;
    struct flow_change *committing;     /* Applied to 'installed' once the */
    size_t n_changes;                   /* bundle commits (own copies). */
    uint64_t runs_in_flight;    /* Engine runs the commit includes. */
    struct marker *markers;     /* Bound pods as of the commit in flight. */
    size_t n_markers, allocated_markers;

    /* Figures for 'status'. */
    uint64_t commits, commit_failures, flow_mods, replaces;
    uint64_t drift_checks, drift_repairs;
    uint64_t runs_committed;    /* Engine runs whose result is installed. */
    uint64_t commit_seq;        /* Commits done (for waiters). */
    double last_commit_seconds;
    char last_commit_time[32];
    char last_error[512];
    char last_error_time[32];
    uint64_t commits_at_error;  /* 'commits' when it happened. */

    /* Realization latency: first input of a batch -> its flows committed,
     * the last 4096 batches. */
    double latencies[4096];
    size_t n_latencies;         /* Total recorded; ring index mod 4096. */
    double batch_start_in_flight;
    double first_uncommitted_ms;        /* 0: everything committed. */

    struct waiter *waiters;
    size_t n_waiters;           /* Allocated, see waiter_free(). */
    struct trace_req *traces;   /* 'trace' commands waiting for the switch. */
    size_t n_traces;
    ev_prepare prepare;
    ev_idle kick;               /* One more loop iteration, soon. */
    ev_timer drift;
    ev_timer retry;
    ev_signal sigint, sigterm, sighup;
};

/* Registers 'explain' and 'trace' on the control socket. */
void daemon_trace_register(struct daemon *);
/* Answers the traces still waiting for the switch ("daemon stopping"). */
void daemon_trace_stop(struct daemon *);

#endif
