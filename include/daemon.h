/* ovs-netpold: keeps br-int's flows equal to what the cluster's
 * NetworkPolicies compile to.
 *
 *   source (API or directory) ──▶ engine ──▶ desired flows
 *   switch-db (port bindings) ──▶ engine          │
 *                                                 ▼
 *                               installer: the difference with what is
 *                               installed, one atomic bundle at a time
 *                               (switch-of), and the pods' markers
 *
 * One libev loop drives everything (OVS's connections through ovs-loop).
 * Inputs only record changes; an ev_prepare watcher runs the engine once
 * per loop iteration and hands its table to the installer, which owns
 * everything about the switch's table: what is installed, the generation,
 * the bundle in flight, the full replace after every reconnection and the
 * drift check (installer.h).  The daemon itself is glue: sources and port
 * bindings into the engine, the engine into the installer, the control
 * commands, and 'sync' requests waiting for a commit. */
#ifndef NP_DAEMON_H
#define NP_DAEMON_H 1

#include <stdbool.h>
#include <stddef.h>
#include "compile.h"

struct http_address;

struct daemon_options {
    const char *source_dir;     /* --source dir:PATH, or NULL. */
    const char *kubeconfig;     /* --kubeconfig FILE, or NULL. */
    const char *ovs_rundir;     /* Where db.sock and BRIDGE.mgmt live. */
    const char *bridge;
    const char *control;        /* Control socket path. */
    double drift_interval;      /* Seconds; 0 disables the check. */
    /* --http: where /healthz, /readyz and /metrics are served
     * (daemon-http.h), or NULL for nowhere. */
    const struct http_address *http;
    /* Seconds after which flows that do not match the desired table, or
     * a source out of sync, make /readyz 503. */
    double stale_after;
    /* Send the kubeconfig's bearer token to an http:// server.  Without
     * it the daemon refuses to start with such a config. */
    bool allow_insecure_http_token;
    /* What the engine compiles with, as 'ovs-netpol compile' takes it
     * (compile-flags.h): its node is never NULL, the daemon is per node;
     * its node addresses and ports are this node's, whose traffic is
     * always allowed; a policy over its 'max_policy_flows' isolates its
     * pods and allows nothing, and 'status' lists it.  The engine sets
     * the ports, ids and generation itself. */
    struct compile_options compile;
    /* The audit log (daemon-audit.h); compile.audit and audit_meter say
     * what is copied. */
    const char *audit_log;      /* Path, or "-" for standard output. */
    unsigned int audit_rate;    /* Copies per second, at most. */
    unsigned int audit_burst;   /* ...in a row; 0: 'audit_rate'. */
    unsigned long long audit_max_size;  /* Bytes before rotation. */
    unsigned int audit_max_files;
};
#define DAEMON_AUDIT_LOG "/var/log/ovs-netpol/audit.log"
#define DAEMON_AUDIT_RATE 100

/* Runs until SIGINT or SIGTERM; returns the exit status.  The flows stay
 * in the switch when the daemon stops.  SIGHUP rescans a manifest
 * directory and forces a full recompute.  Exits at once with status 1 when
 * another daemon holds the control socket (control.h). */
int daemon_main(const struct daemon_options *);

#endif
