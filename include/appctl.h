/* appctl: one command to an Open vSwitch daemon's unixctl socket (what
 * 'ovs-appctl -t SOCKET CMD ARG...' does), without blocking the loop.
 *
 * The daemon's 'trace' command asks ovs-vswitchd for 'ofproto/trace'
 * through it.  OVS's own client, unixctl_client_transact(), blocks with no
 * timeout, and a blocked loop stops the flows being kept up to date: this
 * one runs on ovs-loop (ovs_loop_init() first), connects without blocking,
 * and gives up after a timeout.  One call is one connection.  No OVS type
 * appears here. */
#ifndef NP_APPCTL_H
#define NP_APPCTL_H 1

struct appctl_call;

enum appctl_status {
    APPCTL_OK,                  /* 'text' is the command's answer. */
    APPCTL_FAILED,              /* The daemon answered with an error. */
    APPCTL_UNREACHABLE,         /* Could not connect, the connection broke,
                                 * or no answer in time: 'text' says which. */
};

/* 'text' is valid only during the call.  After the callback the call is
 * over: its handle must not be used again. */
typedef void appctl_done_fn(void *aux, enum appctl_status, const char *text);

/* Sends 'command' with 'argc' arguments 'argv' to the unixctl socket at
 * 'path' and calls 'done' from the loop (never from inside this call) with
 * the answer, or with APPCTL_UNREACHABLE after 'timeout_ms' or when the
 * answer grows past 16 MiB.  Returns a
 * handle for appctl_cancel(). */
struct appctl_call *appctl_call(const char *path, const char *command,
                                int argc, const char *const argv[],
                                int timeout_ms, appctl_done_fn *done,
                                void *aux);

/* Abandons 'call' without calling its callback (NULL is allowed). */
void appctl_cancel(struct appctl_call *);

/* The unixctl socket of the ovs-vswitchd whose pid file is in 'rundir':
 * "RUNDIR/ovs-vswitchd.PID.ctl".  Returns NULL and stores a malloc'd path,
 * or returns a malloc'd message (no pid file: the switch is not running). */
char *appctl_vswitchd_path(const char *rundir, char **path)
    __attribute__((warn_unused_result));

#endif
