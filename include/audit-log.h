/* The audit log: one JSON line per new connection that a policy decided,
 * for the namespaces that ask for it (README, "Audit log").
 *
 * The switch copies the first packet of an audited connection to the
 * daemon through a meter (ovs/pipeline.md, "Audit"); the daemon attributes
 * it (pods, policies, rule) and hands it here as an audit_event.  This
 * module folds repeats and writes the lines; it knows nothing of OVS or
 * of the cluster.
 *
 * Folding: events with the same key (direction, verdict, protocol, source
 * and destination address and port, and the rule or the policies) within
 * one window (1 s from the first of them) become one line whose "count"
 * says how many there were.  A line is written when its window ends
 * (audit_log_flush()), so a line lags its first packet by at most the
 * window plus the caller's timer.
 *
 * A line, one JSON object (keys in this order; absent ones left out):
 *   {"time":"2026-12-07T11:30:00.123Z","node":"node-1",
 *    "direction":"ingress","verdict":"deny","protocol":"tcp",
 *    "src":"10.9.1.2","src_port":40000,"dst":"10.9.2.3","dst_port":80,
 *    "src_pod":"x/a","dst_pod":"y/b",
 *    "policies":["y/deny-all","y/web"],            (deny)
 *    "policy":"y/web","rule":0,                     (allow)
 *    "count":3}
 * "time" is the first packet's, UTC, milliseconds.  Ports only for TCP,
 * UDP and SCTP; "protocol" is "tcp", "udp", "sctp", "icmp", "icmpv6" or,
 * for any other, the IP protocol number as a JSON number ("protocol":47).
 * A pod is "namespace/name" when the address is a pod's, left out
 * otherwise; the pods are not part of the folding key (they follow from
 * the addresses), a line has those of its first event.  A deny line always
 * has "policies", empty ([]) when no policy isolates the pod any more.
 * Strings are escaped as JSON requires, and more: every control character
 * (C0, DEL, C1) and U+2028/U+2029 as \uXXXX, and each byte that is not
 * part of valid UTF-8 as \ufffd, so that a line is always one line of
 * valid UTF-8 JSON whatever a name holds.  Lines are written in the order
 * of their "time".
 *
 * Packets the meter dropped never reach the daemon; the daemon reads the
 * meter's counter and reports its growth with audit_log_dropped(), a line
 *   {"time":"...","node":"node-1","event":"dropped","count":1234}
 * so that a reader of the log knows how much is missing.  It is written at
 * once (it is not folded, and does not wait for pending lines).
 *
 * Output: a file, rotated by size (path -> path.1 -> ... -> path.N, the
 * oldest removed), or standard output ("-"), never rotated.  Rotation
 * happens before a line that would take a non-empty file beyond
 * 'max_size', so each file holds whole lines and at most 'max_size' bytes
 * (unless a single line is longer).  With 'max_files' 0 no rotated file is
 * kept: the file is truncated instead.  A file that is not a regular one
 * (a FIFO, /dev/stdout) is never rotated.  An existing file is appended
 * to, its size counting toward 'max_size'.
 *
 * Each batch of lines goes out in one write() (repeated for a partial
 * write), so a reader never sees a line cut in two.  A write that fails is
 * counted and reported (rate-limited np_log), never fatal: the verdicts
 * never depend on the log.  Its lines are lost, and a regular file is cut
 * back to its size before it, so no partial line stays.  A rotation that
 * fails is counted the same way and the file grows past 'max_size' until
 * one succeeds.
 *
 * Nothing here blocks beyond the write() to a file (or to standard
 * output, which the caller should not make a pipe that nobody reads). */
#ifndef NP_AUDIT_LOG_H
#define NP_AUDIT_LOG_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct audit_log;

struct audit_log_options {
    const char *path;           /* File, or "-" for standard output. */
    const char *node;           /* For "node"; NULL: left out. */
    uint64_t max_size;          /* Bytes before rotation; 0: never. */
    unsigned int max_files;     /* Rotated files kept (path.1..path.N);
                                 * 0: truncate instead. */
    double window;              /* Folding window, seconds (1.0); 0:
                                 * each event is a line of its own. */
    size_t max_pending;         /* Keys folded at once before an early
                                 * flush of the oldest (bounds memory);
                                 * 10000; 0 is taken as 1. */
};
#define AUDIT_LOG_DEFAULT_MAX_SIZE (100 * 1024 * 1024)
#define AUDIT_LOG_DEFAULT_MAX_FILES 5
void audit_log_options_init(struct audit_log_options *);

struct audit_event {
    double time;                /* Wall clock (seconds since the epoch). */
    bool ingress;               /* Direction of the verdict. */
    bool allow;                 /* Allowed by a rule, or denied. */
    uint8_t proto;              /* IP protocol. */
    struct ip_addr src, dst;
    uint16_t src_port, dst_port;        /* TCP, UDP, SCTP; else 0. */
    const char *src_pod, *dst_pod;      /* "ns/name", or NULL. */
    /* Allow: the policy ("ns/name") and the index of its rule in that
     * direction. */
    const char *policy;
    size_t rule;
    /* Deny: every policy that isolates the pod in that direction
     * ("ns/name"), sorted; none is possible (a policy just removed). */
    const char *const *policies;
    size_t n_policies;
};

struct audit_log_stats {
    uint64_t events;            /* audit_log_record() calls. */
    uint64_t lines;             /* Lines written (folded events, and
                                 * "dropped" lines). */
    uint64_t dropped;           /* Sum of audit_log_dropped() counts. */
    uint64_t write_errors;
    uint64_t rotations;
};

/* Opens the log (the file is created or appended to, mode 0640).  Returns
 * NULL and a malloc'd message in '*error' when it cannot be opened.  The
 * options' strings are copied. */
struct audit_log *audit_log_create(const struct audit_log_options *,
                                   char **error);
/* Flushes what is folded, and closes.  Accepts NULL. */
void audit_log_destroy(struct audit_log *);

/* Takes one event (its strings are copied).  'event->time' is on the
 * clock of audit_log_flush()'s 'now'.  May write lines itself: those of
 * windows that ended by 'event->time' when the event's key has one (to
 * keep the lines in order), the oldest when 'max_pending' keys are
 * folded, and everything when the clock went back by more than a window
 * (so nothing waits for the clock to catch up). */
void audit_log_record(struct audit_log *, const struct audit_event *);
/* Writes the lines whose window has ended by 'now' (all of them if
 * 'all'), oldest first.  Returns when the next window ends, on the clock
 * of 'now' (0: nothing pending); the caller calls again then. */
double audit_log_flush(struct audit_log *, double now, bool all);
/* Reports 'count' packets the meter dropped, at 'now'; writes nothing for
 * 0. */
void audit_log_dropped(struct audit_log *, double now, uint64_t count);

void audit_log_get_stats(const struct audit_log *, struct audit_log_stats *);

#endif
