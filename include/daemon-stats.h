/* daemon-stats: the daemon's 'stats' command and the counters of /metrics
 * per policy rule and per pod's default deny (rule-stats.h).
 *
 *   stats [--policy NS/NAME|ClusterNetworkPolicy/NAME] [--pod NS/NAME]
 *         [--json]
 *       packets and bytes per rule of the NetworkPolicies and
 *       ClusterNetworkPolicies installed on this node and per default deny
 *       of this node's isolated pods, since the daemon started; --policy
 *       shows one policy's rules, --pod one pod's default deny (the rules'
 *       counters are per rule, not per pod)
 *
 * What counts: the switch's counters of the flows that decide.  A rule's
 * are its conj_id flows (or its plain flow, for a rule of one clause) in
 * tables 4 and 8, kind 3 cookies: every packet of the original direction
 * that the rule allowed, the first of a connection and the later ones
 * alike (the pipeline checks those again, ovs/pipeline.md), not replies.
 * A pod's default deny is the drop and cut flows of its addresses in
 * tables 5 and 9, kind 4 cookies: every packet dropped because no rule
 * allowed it.  A ClusterNetworkPolicy rule's are its conj_id flows (or
 * plain flows: a rule that fails closed) in the tier tables 3, 6, 7 and
 * 10, kind 6 cookies: every packet of the original direction the rule
 * matched, which for Deny is every packet it dropped (the new
 * connection's and the established one's it cut), for Accept and Pass
 * every packet it let on.  The flows' matches name the pod (its address),
 * their cookies the policy and rule (cookie.h); a ClusterNetworkPolicy
 * rule's tier, action and name are the policy's as the daemon holds it.
 * New connections per rule are not counted apart: an Accept's flow does
 * not tell a new connection from an established one.
 *
 * When: on demand, never per packet and never on a timer.  'stats' reads
 * the switch unless the last read is less than DAEMON_STATS_FRESH seconds
 * old and answers when the switch has answered; a /metrics scrape never
 * waits: it shows the last read and starts a new one if that is older than
 * DAEMON_STATS_FRESH, so that the next scrape sees it (the first scrape
 * after a while shows counters as old as the previous one; the
 * ovs_netpol_rule_counters_age_seconds gauge says how old).  A read is three
 * flow dumps, of kinds 3, 4 and 6 only.
 *
 * Loop rules: runs on the daemon's loop; the reads go through the
 * installer's switch connection, queued behind its bundles; at most
 * DAEMON_STATS_MAX 'stats' commands wait at a time. */
#ifndef NP_DAEMON_STATS_H
#define NP_DAEMON_STATS_H 1

struct daemon_options;
struct engine;
struct installer;
struct strbuf;

/* Counters read less than this many seconds ago are not read again. */
#define DAEMON_STATS_FRESH 1.0

/* 'stats' commands that may wait for the switch at once. */
#define DAEMON_STATS_MAX 16

/* Registers 'stats' on the control socket.  Everything passed in is
 * borrowed and must outlive the result. */
struct daemon_stats *daemon_stats_create(const struct daemon_options *,
                                         const struct engine *,
                                         struct installer *);

/* Writes the counters' families for /metrics, and starts a read of the
 * switch if the counters are older than DAEMON_STATS_FRESH.  Never
 * waits. */
void daemon_stats_metrics(struct daemon_stats *, struct strbuf *);

/* Answers the 'stats' commands still waiting ("daemon stopping"). */
void daemon_stats_stop(struct daemon_stats *);

/* Stops, then frees.  Call it after installer_destroy() (a read in flight
 * would call back into it) and before control_destroy().  Accepts NULL. */
void daemon_stats_destroy(struct daemon_stats *);

#endif
