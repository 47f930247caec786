/* daemon-http: the daemon's health, readiness and metrics, over HTTP
 * (--http ADDRESS:PORT; http.h serves them).
 *
 *   GET /healthz   200 while the daemon works: its loop turns, and the
 *                  switch is connected or being reconnected on schedule;
 *                  else 503.  For a liveness probe: a 503 means that
 *                  restarting the daemon may help.
 *   GET /readyz    200 once the first full sync is on the bridge and
 *                  while the flows and the source are current; else 503.
 *                  For a readiness probe, and for whoever waits for the
 *                  node's policies before sending it work.
 *   GET /metrics   the Prometheus text format, ovs_netpol_* (README,
 *                  "Health and metrics", lists them).
 *
 * The bodies of /healthz and /readyz are one line of plain text that says
 * why ("ready: 1234 flows installed", "not ready: waiting for the first
 * sync: the switch br-int is not connected ...").  Any other path is 404.
 *
 * Definitions:
 *   - The loop turns: the handler runs on the loop, so an answer means it
 *     turned; a loop that is stuck gives no answer, and the probe's own
 *     timeout is the watchdog.  An ev_check watcher notes when each
 *     iteration's callbacks begin: if the callbacks before ours in this
 *     iteration took longer than DAEMON_HTTP_STALL seconds, /healthz says
 *     503 and how long.
 *   - The switch is recovering: not connected, but connection attempts go
 *     on (the installer tries every 50 ms, then waits at most 4 s between
 *     attempts, forever): /healthz is 503 only if DAEMON_HTTP_STALL
 *     seconds pass without a connection or an attempt.  A switch that is
 *     simply down keeps /healthz at 200 (restarting the daemon would not
 *     bring it back) and makes /readyz 503 once that is stale.
 *   - The first full sync: the source delivered every kind (the first LIST
 *     of each, or the first scan of the directory), the port bindings
 *     were read from OVSDB, and the table the engine made of them was
 *     committed to the switch.  Until then /readyz is 503.
 *   - Stale: after that, /readyz is 503 while either has lasted longer
 *     than 'stale_after' seconds (--stale-after, default 30): the flows on
 *     the bridge are not known to equal the desired table (switch not
 *     connected, a reinstall or commit not done or failing, an input not
 *     yet committed); the source is out of sync (a watch failing, a kind
 *     relisting).  A directory source is never out of sync: a broken file
 *     keeps its objects and counts as an error, not as staleness.
 *
 * Loop rules: runs on the daemon's libev loop; reads the modules' figures
 * when asked, never walks pods or flows (every count is kept as things
 * change), and changes nothing, except that a scrape may start a read of
 * the rule counters (daemon-stats.h), whose result the next scrape shows. */
#ifndef NP_DAEMON_HTTP_H
#define NP_DAEMON_HTTP_H 1

#include <stdbool.h>
#include "http.h"

struct daemon_options;
struct daemon_audit;
struct daemon_stats;
struct engine;
struct ev_loop;
struct installer;
struct events;
struct kube_client;
struct source_dir;
struct switch_db;

/* Seconds of a loop iteration, or without a switch connection attempt,
 * beyond which /healthz is 503. */
#define DAEMON_HTTP_STALL 10.0

/* What the answers are made of; borrowed: each must outlive the
 * daemon_http.  One of 'dir' and 'kube' is NULL. */
struct daemon_http_inputs {
    const struct daemon_options *opts;
    const struct engine *engine;
    const struct installer *installer;
    struct daemon_stats *stats;         /* Reads counters when scraped. */
    struct daemon_audit *audit;         /* The audit log's counters. */
    const struct switch_db *db;
    const struct source_dir *dir;
    const struct kube_client *kube;
    const struct events *events;        /* NULL with 'dir'. */
    const bool *source_synced;  /* The first full view has arrived. */
};

/* Starts serving on 'addr'.  Returns NULL and a malloc'd message in
 * '*error' if it cannot listen there. */
struct daemon_http *daemon_http_create(struct ev_loop *,
                                       const struct http_address *addr,
                                       const struct daemon_http_inputs *,
                                       char **error);
void daemon_http_destroy(struct daemon_http *);

/* What the endpoints answer, for tests and for 'status': the status code
 * and, in '*text' (malloc'd), the body. */
unsigned int daemon_http_healthz(struct daemon_http *, char **text);
unsigned int daemon_http_readyz(struct daemon_http *, char **text);
/* The /metrics text, malloc'd, 'size' bytes. */
char *daemon_http_metrics(struct daemon_http *, size_t *size);

#endif
