/* daemon-audit: the audit log of the daemon (README, "Audit log").
 *
 * The switch copies the first packet of each new connection that an
 * audited namespace's default deny drops, or that a rule of an audited
 * namespace's policy allows, to our OpenFlow connection, through meter
 * --audit-meter (ovs/pipeline.md, "Audit"; switch_of_audit()).  For each
 * copy this module names what decided, from the daemon's view of the
 * cluster when the copy arrives:
 *
 *   deny   the pod the copy's direction isolates (the source for egress,
 *          the destination for ingress) and every policy that isolates it
 *          in that direction;
 *   allow  the rule of each direction whose namespace is audited (reg0:
 *          the egress rule at the source, reg1: the ingress rule at the
 *          destination): one line per direction;
 *
 * and the pods on both sides, by address.  audit-log.h folds repeats and
 * writes the lines.  Every second it reads the meter's counters and
 * reports the copies the meter dropped, in the log ("dropped" lines) and
 * in /metrics.
 *
 * The verdicts never depend on any of this: the switch drops or passes
 * the packet whatever the meter, the connection or the log do.  A log
 * that cannot be opened or written is reported (and retried), never
 * fatal.
 *
 * Loop rules: runs on the daemon's loop; copies arrive from the
 * installer's switch connection. */
#ifndef NP_DAEMON_AUDIT_H
#define NP_DAEMON_AUDIT_H 1

struct daemon_options;
struct engine;
struct ev_loop;
struct installer;
struct strbuf;

/* Seconds between reads of the meter's counters. */
#define DAEMON_AUDIT_METER_INTERVAL 1.0

/* Sets the audit up on the installer's switch connection.  The log is
 * opened at its first line (a node where nothing is audited never makes
 * it), and again every few seconds while it cannot be.  Everything passed
 * in is borrowed and must outlive the result. */
struct daemon_audit *daemon_audit_create(struct ev_loop *,
                                         const struct daemon_options *,
                                         const struct engine *,
                                         struct installer *);
/* Writes what is folded, and closes.  Accepts NULL. */
void daemon_audit_destroy(struct daemon_audit *);

/* The audit families of /metrics. */
void daemon_audit_metrics(const struct daemon_audit *, struct strbuf *);

#endif
