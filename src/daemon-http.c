/* The daemon's /healthz, /readyz and /metrics.  See
 * include/daemon-http.h. */
#include <np-config.h>
#include "daemon-http.h"

#include <ev.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cluster.h"
#include "daemon.h"
#include "daemon-audit.h"
#include "daemon-stats.h"
#include "engine.h"
#include "events.h"
#include "installer.h"
#include "kube-client.h"
#include "metrics.h"
#include "np-util.h"
#include "pipeline.h"
#include "source-dir.h"
#include "switch-db.h"
#include "switch-of.h"

struct daemon_http {
    struct ev_loop *loop;
    struct daemon_http_inputs in;
    struct http_server *server;

    /* The watchdog: when this iteration's callbacks began. */
    ev_check check;
    double iteration_start;

    /* Readiness, followed at every iteration. */
    bool first_sync;            /* Done once; never undone. */
    double flows_behind_since;  /* ev_now(); 0: current. */
    double source_behind_since; /* ev_now(); 0: current. */
    /* Switch connection attempts, for "recovering". */
    unsigned long long attempts_seen;
    double last_attempt;        /* ev_now() of the last connection or
                                 * attempt seen. */
};

/* The most bytes of a kind's last error quoted in /readyz. */
#define REASON_MAX 200

static const char TEXT_PLAIN[] = "text/plain; charset=utf-8";
static const char TEXT_METRICS[] = "text/plain; version=0.0.4; "
                                   "charset=utf-8";

/* ---- Following the state. ---- */

/* The flows on the bridge are those of the engine's last table, with
 * nothing left to run. */
static bool
flows_current(const struct daemon_http *dh)
{
    struct installer_status is;
    installer_get_status(dh->in.installer, &is);
    struct switch_of_outage o;
    installer_get_outage(dh->in.installer, &o);
    struct engine_stats st;
    engine_get_stats(dh->in.engine, &st);
    return (o.connected && is.installed_known && is.generation_chosen
            && !engine_pending(dh->in.engine)
            && st.runs && is.runs_committed >= st.runs);
}

static bool
source_current(const struct daemon_http *dh)
{
    if (!*dh->in.source_synced) {
        return false;
    }
    if (dh->in.kube) {
        struct kube_client_status ks;
        kube_client_get_status(dh->in.kube, &ks);
        return ks.synced;
    }
    return true;
}

/* Notes how things stand, at every loop iteration (and before each
 * answer): what began when. */
static void
follow(struct daemon_http *dh)
{
    double now = ev_now(dh->loop);
    bool flows = flows_current(dh);
    bool source = source_current(dh);
    if (!dh->first_sync && flows && source
        && switch_db_is_synced(dh->in.db)) {
        dh->first_sync = true;
    }
    if (flows) {
        dh->flows_behind_since = 0;
    } else if (!dh->flows_behind_since) {
        dh->flows_behind_since = now;
    }
    if (source) {
        dh->source_behind_since = 0;
    } else if (!dh->source_behind_since) {
        dh->source_behind_since = now;
    }
    struct switch_of_outage o;
    installer_get_outage(dh->in.installer, &o);
    if (o.connected || o.attempts != dh->attempts_seen) {
        dh->attempts_seen = o.attempts;
        dh->last_attempt = now;
    }
}

static void
check_cb(struct ev_loop *loop, ev_check *w, int revents)
{
    struct daemon_http *dh = CONTAINER_OF(w, struct daemon_http, check);
    dh->iteration_start = ev_time();
    follow(dh);
}

/* ---- /healthz and /readyz. ---- */

unsigned int
daemon_http_healthz(struct daemon_http *dh, char **text)
{
    follow(dh);
    double now = ev_now(dh->loop);
    double busy = ev_time() - dh->iteration_start;
    const char *bridge = dh->in.opts->bridge;
    struct switch_of_outage o;
    installer_get_outage(dh->in.installer, &o);
    if (busy > DAEMON_HTTP_STALL) {
        *text = xasprintf("unhealthy: the event loop spent %.1f s on this "
                          "iteration before answering\n", busy);
        return 503;
    }
    if (!o.connected && now - dh->last_attempt > DAEMON_HTTP_STALL) {
        *text = xasprintf("unhealthy: the switch %s has not been connected "
                          "for %.1f s, and no connection attempt was made "
                          "in the last %.1f s\n", bridge, o.seconds,
                          now - dh->last_attempt);
        return 503;
    }
    *text = (o.connected
             ? xasprintf("ok: switch %s connected\n", bridge)
             : xasprintf("ok: switch %s recovering: not connected for "
                         "%.1f s, %llu attempts, the next in %.1f s (%s)\n",
                         bridge, o.seconds, o.attempts, o.next_attempt,
                         o.error ? o.error : "connecting"));
    return 200;
}

/* Why the flows are not current: for /readyz. */
static char *
flows_reason(const struct daemon_http *dh)
{
    struct switch_of_outage o;
    installer_get_outage(dh->in.installer, &o);
    struct installer_status is;
    installer_get_status(dh->in.installer, &is);
    const char *bridge = dh->in.opts->bridge;
    if (!switch_db_is_synced(dh->in.db)) {
        return xstrdup("the port bindings have not been read from OVSDB "
                       "yet");
    } else if (!o.connected) {
        return xasprintf("the switch %s is not connected (for %.1f s, %llu "
                         "attempts: %s)", bridge, o.seconds, o.attempts,
                         o.error ? o.error : "connecting");
    } else if (!is.generation_chosen || !is.installed_known) {
        return xasprintf("every flow is being installed on %s", bridge);
    }
    return xasprintf("changes are being committed to %s", bridge);
}

/* Why the source is not current: for /readyz. */
static char *
source_reason(const struct daemon_http *dh)
{
    if (!dh->in.kube) {
        return xstrdup("the manifest directory has not been read yet");
    }
    struct kube_client_status ks;
    kube_client_get_status(dh->in.kube, &ks);
    struct strbuf b;
    strbuf_init(&b);
    strbuf_put(&b, "the Kubernetes source is not in sync:");
    const char *sep = " ";
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        const struct kube_kind_status *k = &ks.kinds[i];
        if (k->synced) {
            continue;
        }
        strbuf_printf(&b, "%s%s %s", sep, k->resource,
                      !k->listed ? "listing"
                      : k->resyncing ? "relisting" : "failing");
        if (k->failures && k->last_error) {
            /* Its own messages, bounded; cut further, at a character
             * boundary, so that a probe's log shows the line whole. */
            size_t n = strlen(k->last_error);
            if (n > REASON_MAX) {
                n = REASON_MAX;
                while (n && (k->last_error[n] & 0xc0) == 0x80) {
                    n--;
                }
            }
            strbuf_printf(&b, " (%.*s%s)", (int) n, k->last_error,
                          k->last_error[n] ? "..." : "");
        }
        sep = "; ";
    }
    return strbuf_steal(&b);
}

unsigned int
daemon_http_readyz(struct daemon_http *dh, char **text)
{
    follow(dh);
    double now = ev_now(dh->loop);
    double stale = dh->in.opts->stale_after;
    if (!dh->first_sync) {
        char *why = (!*dh->in.source_synced || !source_current(dh)
                     ? source_reason(dh) : flows_reason(dh));
        *text = xasprintf("not ready: waiting for the first sync: %s\n",
                          why);
        free(why);
        return 503;
    }
    if (dh->source_behind_since && now - dh->source_behind_since > stale) {
        char *why = source_reason(dh);
        *text = xasprintf("not ready: out of date for %.1f s (more than "
                          "%g): %s\n", now - dh->source_behind_since, stale,
                          why);
        free(why);
        return 503;
    }
    if (dh->flows_behind_since && now - dh->flows_behind_since > stale) {
        char *why = flows_reason(dh);
        *text = xasprintf("not ready: the flows on the bridge have not "
                          "matched the desired table for %.1f s (more than "
                          "%g): %s\n", now - dh->flows_behind_since, stale,
                          why);
        free(why);
        return 503;
    }
    struct installer_status is;
    installer_get_status(dh->in.installer, &is);
    *text = xasprintf("ready: %zu flows installed on %s%s\n",
                      is.n_installed, dh->in.opts->bridge,
                      dh->flows_behind_since || dh->source_behind_since
                      ? " (catching up)" : "");
    return 200;
}

/* ---- /metrics. ---- */

static const char *const kind_labels[KUBE_N_KINDS] = {
    [OBJ_NAMESPACE] = "namespaces",
    [OBJ_POD] = "pods",
    [OBJ_NETPOL] = "networkpolicies",
    [OBJ_CNP] = "clusternetworkpolicies",
};

static void
gauge(struct strbuf *b, const char *name, const char *help, double v)
{
    metrics_family(b, name, "gauge", help);
    metrics_sample(b, name, v, NULL);
}

static void
counter(struct strbuf *b, const char *name, const char *help, double v)
{
    metrics_family(b, name, "counter", help);
    metrics_sample(b, name, v, NULL);
}

/* One family with a sample per object kind. */
static void
by_kind(struct strbuf *b, const char *name, const char *type,
        const char *help, const uint64_t v[KUBE_N_KINDS])
{
    metrics_family(b, name, type, help);
    for (int i = 0; i < KUBE_N_KINDS; i++) {
        metrics_sample(b, name, v[i], "kind", kind_labels[i], NULL);
    }
}

/* The Kubernetes Events the daemon writes (README, "Events"). */
static void
events_metrics(struct strbuf *b, const struct events *ev)
{
    struct events_stats st;
    events_get_stats(ev, &st);
    counter(b, "ovs_netpol_events_reported_total", "Things worth a "
            "Kubernetes Event the daemon found (an invalid policy, too many "
            "flows, a named port that resolves nowhere), repeats included.",
            st.reported);
    metrics_family(b, "ovs_netpol_events_suppressed_total", "counter",
                   "Reports that wrote nothing: the same as the last one about "
                   "that object (unchanged), or over the spam filter's rate "
                   "(spam).");
    metrics_sample(b, "ovs_netpol_events_suppressed_total", st.steady,
                   "why", "unchanged", NULL);
    metrics_sample(b, "ovs_netpol_events_suppressed_total", st.spam,
                   "why", "spam", NULL);
    metrics_family(b, "ovs_netpol_events_writes_total", "counter",
                   "Event writes queued for the API server: a new Event "
                   "(create) or a count raised (patch).");
    metrics_sample(b, "ovs_netpol_events_writes_total", st.created,
                   "op", "create", NULL);
    metrics_sample(b, "ovs_netpol_events_writes_total", st.patched,
                   "op", "patch", NULL);
    metrics_family(b, "ovs_netpol_events_write_outcomes_total", "counter",
                   "How the queued writes ended: answered 2xx (sent), dropped "
                   "after a failure (failed), dropped from a full queue "
                   "(overflow).");
    metrics_sample(b, "ovs_netpol_events_write_outcomes_total", st.sent,
                   "outcome", "sent", NULL);
    metrics_sample(b, "ovs_netpol_events_write_outcomes_total", st.failed,
                   "outcome", "failed", NULL);
    metrics_sample(b, "ovs_netpol_events_write_outcomes_total", st.overflow,
                   "outcome", "overflow", NULL);
    gauge(b, "ovs_netpol_events_queued", "Event writes waiting to be sent.",
          st.queued);
}

static void
source_metrics(struct strbuf *b, const struct daemon_http *dh)
{
    uint64_t v[KUBE_N_KINDS];
    if (dh->in.kube) {
        struct kube_client_status ks;
        kube_client_get_status(dh->in.kube, &ks);
        const struct kube_kind_status *k = ks.kinds;
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            v[i] = k[i].events;
        }
        by_kind(b, "ovs_netpol_watch_events_total", "counter",
                "Watch events handled, bookmarks included.", v);
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            v[i] = k[i].watch_reconnects;
        }
        by_kind(b, "ovs_netpol_watch_reconnects_total", "counter",
                "Watches started again to resume one that ended, failed or "
                "broke.", v);
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            v[i] = k[i].lists;
        }
        by_kind(b, "ovs_netpol_lists_total", "counter",
                "LISTs completed, the first included.", v);
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            v[i] = k[i].relists;
        }
        by_kind(b, "ovs_netpol_relists_total", "counter",
                "LISTs started again because the watch's resourceVersion "
                "was gone (410) or the stream kept breaking there.", v);
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            v[i] = k[i].errors;
        }
        by_kind(b, "ovs_netpol_source_errors_total", "counter",
                "Failed API requests and broken watch streams.", v);
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            v[i] = k[i].invalid;
        }
        by_kind(b, "ovs_netpol_invalid_objects_total", "counter",
                "Objects that failed validation (their last valid version, "
                "or a NetworkPolicy's fail-closed stand-in, stays).", v);
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            v[i] = k[i].synced;
        }
        by_kind(b, "ovs_netpol_source_synced", "gauge",
                "1 while the kind is listed, not relisting, and its last "
                "request did not fail (a kind the server does not serve, "
                "no CRD, counts as listed with no objects).", v);
        for (int i = 0; i < KUBE_N_KINDS; i++) {
            v[i] = k[i].absent;
        }
        by_kind(b, "ovs_netpol_source_absent", "gauge",
                "1 while the server does not serve the kind (its CRD is "
                "not installed): the daemon holds none of it, and lists it "
                "again every 30 s, or at once when `ovs-netpol sync` finds "
                "it served.", v);
    } else {
        struct source_dir_status ds;
        source_dir_get_status(dh->in.dir, &ds);
        counter(b, "ovs_netpol_source_scans_total",
                "Scans of the manifest directory.", ds.scans);
        metrics_family(b, "ovs_netpol_source_errors_total", "counter",
                       "Manifest files (or the directory) that could not "
                       "be read or parsed whole, at every scan that met "
                       "them.");
        metrics_sample(b, "ovs_netpol_source_errors_total",
                       ds.file_errors_total, "kind", "files", NULL);
        by_kind(b, "ovs_netpol_invalid_objects_total", "counter",
                "Objects that failed validation, at every scan that met "
                "them (their last valid version, or a NetworkPolicy's "
                "fail-closed stand-in, stays).", ds.invalid_total);
        gauge(b, "ovs_netpol_broken_files", "Manifest files that the last "
              "scan could not read or parse whole.", ds.broken_files);
    }
}

char *
daemon_http_metrics(struct daemon_http *dh, size_t *size)
{
    follow(dh);
    struct strbuf b;
    strbuf_init(&b);
    const struct daemon_options *opts = dh->in.opts;
    struct engine_stats st;
    engine_get_stats(dh->in.engine, &st);
    struct installer_status is;
    installer_get_status(dh->in.installer, &is);
    struct switch_of_outage o;
    installer_get_outage(dh->in.installer, &o);

    metrics_family(&b, "ovs_netpol_build_info", "gauge",
                   "The daemon's version, as a label; always 1.");
    metrics_sample(&b, "ovs_netpol_build_info", 1, "version",
                   PACKAGE_VERSION, NULL);
    char *ready_text, *health_text;
    unsigned int ready = daemon_http_readyz(dh, &ready_text);
    unsigned int healthy = daemon_http_healthz(dh, &health_text);
    free(ready_text);
    free(health_text);
    gauge(&b, "ovs_netpol_ready", "1 when /readyz answers 200.",
          ready == 200);
    gauge(&b, "ovs_netpol_healthy", "1 when /healthz answers 200.",
          healthy == 200);

    /* What the daemon knows. */
    uint64_t objects[KUBE_N_KINDS] = {
        [OBJ_NAMESPACE] = st.n_namespaces,
        [OBJ_POD] = st.n_pods,
        [OBJ_NETPOL] = st.n_policies,
        [OBJ_CNP] = cluster_count(engine_cluster(dh->in.engine), OBJ_CNP),
    };
    by_kind(&b, "ovs_netpol_objects", "gauge",
            "Objects known, of every node.", objects);
    gauge(&b, "ovs_netpol_local_pods", "Pods of this node that get flows "
          "of their own, as of the last engine run.", st.n_local_pods);
    gauge(&b, "ovs_netpol_bound_pods", "Switch ports bound to a pod "
          "(external_ids:iface-id; a pod whose port is being replaced "
          "counts twice).", switch_db_count(dh->in.db));
    gauge(&b, "ovs_netpol_waiting_pods", "Bound ports whose pod's flows "
          "are not on the bridge yet (no ovs-netpol-installed marker).",
          switch_db_count_waiting(dh->in.db));
    gauge(&b, "ovs_netpol_unbound_ports", "Switch ports that carry no pod "
          "and are neither uplinks nor node ports: they send no IP.",
          st.n_unbound_ports);
    gauge(&b, "ovs_netpol_policies_over_flow_limit", "NetworkPolicies "
          "whose rules need more than --max-policy-flows (their pods stay "
          "isolated).", st.n_rejected);

    /* Flows. */
    gauge(&b, "ovs_netpol_desired_flows", "Flows of the engine's table.",
          st.n_flows);
    metrics_family(&b, "ovs_netpol_ovs_flows", "gauge",
                   "Flows of ours installed on the bridge, by OpenFlow "
                   "table.");
    for (int t = 0; t < NPT_N_TABLES; t++) {
        unsigned int table = opts->compile.table_base + t;
        char id[16], name[32];
        snprintf(id, sizeof id, "%u", table);
        snprintf(name, sizeof name, "%s", np_table_name(t));
        for (char *p = name; *p; p++) {
            *p = *p == ' ' ? '_' : *p;
        }
        metrics_sample(&b, "ovs_netpol_ovs_flows",
                       table < 256 ? installer_count_table(dh->in.installer,
                                                           table) : 0,
                       "table_id", id, "table_name", name, NULL);
    }
    gauge(&b, "ovs_netpol_generation", "The cookie generation of this "
          "run's flows (bits 40-47).", is.generation);

    /* The engine. */
    counter(&b, "ovs_netpol_engine_runs_total", "Engine runs that "
            "recomputed the desired table.", st.runs);
    metrics_histogram_write(&b, "ovs_netpol_engine_run_duration_seconds",
                            "Duration of the engine's runs.",
                            engine_run_histogram(dh->in.engine));
    counter(&b, "ovs_netpol_full_recomputes_total", "Runs asked to "
            "compile every policy again (recompute, SIGHUP).",
            st.full_recomputes);
    counter(&b, "ovs_netpol_policies_compiled_total", "NetworkPolicies "
            "built (again) by engine runs.", st.policies_compiled);
    counter(&b, "ovs_netpol_policies_reused_total", "NetworkPolicies "
            "whose flows an engine run kept as they were.",
            st.policies_reused);

    /* The switch. */
    gauge(&b, "ovs_netpol_switch_connected", "1 while the OpenFlow "
          "connection to the bridge is up.", o.connected);
    counter(&b, "ovs_netpol_switch_reconnects_total", "Connections to the "
            "bridge made after the first (each reinstalls every flow).",
            is.reconnects);
    metrics_family(&b, "ovs_netpol_bundle_commits_total", "counter",
                   "Atomic bundles sent to the bridge, full replaces "
                   "included, by result.");
    metrics_sample(&b, "ovs_netpol_bundle_commits_total", is.commits,
                   "result", "success", NULL);
    metrics_sample(&b, "ovs_netpol_bundle_commits_total", is.commit_failures,
                   "result", "failure", NULL);
    counter(&b, "ovs_netpol_full_replaces_total", "Bundles that replaced "
            "every flow of ours (at start, after reconnections and "
            "drift).", is.replaces);
    metrics_family(&b, "ovs_netpol_flow_mods_total", "counter",
                   "Flow changes committed by the bundles that were not "
                   "full replaces, by operation.");
    metrics_sample(&b, "ovs_netpol_flow_mods_total", is.flow_adds,
                   "operation", "add", NULL);
    metrics_sample(&b, "ovs_netpol_flow_mods_total", is.flow_modifies,
                   "operation", "modify", NULL);
    metrics_sample(&b, "ovs_netpol_flow_mods_total", is.flow_deletes,
                   "operation", "delete", NULL);
    metrics_histogram_write(&b, "ovs_netpol_realization_duration_seconds",
                            "From the first input of a batch to the commit "
                            "of the bundle that carries it.",
                            installer_latency_histogram(dh->in.installer));
    gauge(&b, "ovs_netpol_last_commit_timestamp_seconds", "When the last "
          "bundle was committed, in seconds since the epoch (0: never).",
          is.last_commit_wall);
    counter(&b, "ovs_netpol_drift_checks_total", "Comparisons of our flows "
            "on the bridge with what was installed.", is.drift_checks);
    counter(&b, "ovs_netpol_drift_repairs_total", "Drift checks that found "
            "flows of ours changed, removed or added by someone else, and "
            "reinstalled them.", is.drift_repairs);
    counter(&b, "ovs_netpol_marker_writes_total", "external_ids:"
            "ovs-netpol-installed markers written to OVSDB.",
            switch_db_marker_writes(dh->in.db));

    source_metrics(&b, dh);
    if (dh->in.events) {
        events_metrics(&b, dh->in.events);
    }
    daemon_stats_metrics(dh->in.stats, &b);
    daemon_audit_metrics(dh->in.audit, &b);
    *size = b.len;
    return strbuf_steal(&b);
}

/* ---- Serving. ---- */

static void
handle(void *dh_, const char *path, struct http_response *r)
{
    struct daemon_http *dh = dh_;
    r->content_type = TEXT_PLAIN;
    if (!strcmp(path, "/healthz")) {
        r->status = daemon_http_healthz(dh, &r->body);
    } else if (!strcmp(path, "/readyz")) {
        r->status = daemon_http_readyz(dh, &r->body);
    } else if (!strcmp(path, "/metrics")) {
        r->status = 200;
        r->content_type = TEXT_METRICS;
        r->body = daemon_http_metrics(dh, &r->size);
        return;
    } else {
        r->status = 404;
        r->body = xstrdup("not found: the paths are /healthz, /readyz and "
                          "/metrics\n");
    }
    r->size = strlen(r->body);
}

struct daemon_http *
daemon_http_create(struct ev_loop *loop, const struct http_address *addr,
                   const struct daemon_http_inputs *in, char **error)
{
    struct daemon_http *dh = xcalloc(1, sizeof *dh);
    dh->loop = loop;
    dh->in = *in;
    dh->server = http_server_create(loop, addr, handle, dh, error);
    if (!dh->server) {
        free(dh);
        return NULL;
    }
    dh->iteration_start = ev_time();
    dh->last_attempt = ev_now(loop);
    ev_check_init(&dh->check, check_cb);
    ev_check_start(loop, &dh->check);
    return dh;
}

void
daemon_http_destroy(struct daemon_http *dh)
{
    if (dh) {
        ev_check_stop(dh->loop, &dh->check);
        http_server_destroy(dh->server);
        free(dh);
    }
}
