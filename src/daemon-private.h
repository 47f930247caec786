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
struct installer;
struct kube_client;
struct kube_config;
struct source_dir;
struct switch_db;
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
    struct installer *installer;

    struct source_dir *dir;
    struct kube_client *kube;
    struct kube_config *kube_config;
    bool source_synced;         /* The first full view has arrived. */
    struct switch_db *db;
    struct control *control;

    char last_error[512];
    char last_error_time[32];
    uint64_t commits_at_error;  /* Commits when it happened. */

    struct waiter *waiters;
    size_t n_waiters;           /* Allocated, see waiter_free(). */
    struct trace_req *traces;   /* 'trace' commands waiting for the switch. */
    size_t n_traces;
    ev_prepare prepare;
    ev_idle kick;               /* One more loop iteration, soon. */
    ev_signal sigint, sigterm, sighup;
};

/* Registers 'explain' and 'trace' on the control socket. */
void daemon_trace_register(struct daemon *);
/* Answers the traces still waiting for the switch ("daemon stopping"). */
void daemon_trace_stop(struct daemon *);

#endif
