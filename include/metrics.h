/* metrics: the Prometheus text exposition format (version 0.0.4), and the
 * histograms the daemon keeps for it.
 *
 * The daemon's /metrics (daemon-http.h) is made of the figures its modules
 * already keep for 'status': counters that only grow, gauges read when
 * asked, and a few histograms.  This module writes them out:
 *
 *   # HELP ovs_netpol_engine_runs_total Engine runs that recomputed ...
 *   # TYPE ovs_netpol_engine_runs_total counter
 *   ovs_netpol_engine_runs_total 42
 *   ovs_netpol_objects{kind="pods"} 10000
 *
 * The text goes into a strbuf (np-util.h).  A family is declared once
 * with metrics_family() (its HELP and TYPE lines), then its samples
 * follow.  Names follow Prometheus conventions:
 * a counter ends in _total, durations are in seconds and end in _seconds,
 * timestamps in seconds since the epoch end in _timestamp_seconds.  Label
 * values are escaped as the format requires (backslash, double quote,
 * newline); label names and metric names are ours, and checked by
 * assertions.
 *
 * A histogram counts observations into fixed buckets (upper bounds,
 * ascending) and keeps their sum: observing costs a few comparisons, and
 * writing it out is one line per bucket, whatever was observed.
 *
 * Pure: no I/O, no loop. */
#ifndef NP_METRICS_H
#define NP_METRICS_H 1

#include <stddef.h>
#include <stdint.h>

struct strbuf;

/* The most buckets a histogram has (besides +Inf). */
#define METRICS_MAX_BUCKETS 16

struct metrics_histogram {
    const double *bounds;       /* Upper bounds, ascending; not owned. */
    size_t n_bounds;            /* At most METRICS_MAX_BUCKETS. */
    uint64_t counts[METRICS_MAX_BUCKETS + 1];   /* Per bucket, not
                                                 * cumulative; the last is
                                                 * beyond every bound. */
    uint64_t count;
    double sum;
};

/* Bucket bounds in seconds for the daemon's durations: 1 ms to 10 s, on
 * the 1-2.5-5 scale Prometheus' own defaults use.  Realization latency,
 * engine runs and commits all fall in it (a 10k-pod full recompute takes
 * about a second). */
extern const double metrics_seconds_buckets[];
extern const size_t metrics_n_seconds_buckets;

/* Initializes 'h' with the 'n' ascending 'bounds', which must outlive it
 * (a static array). */
void metrics_histogram_init(struct metrics_histogram *h,
                            const double *bounds, size_t n);
/* Counts 'value' in the first bucket whose bound is at least 'value'. */
void metrics_histogram_observe(struct metrics_histogram *, double value);

/* Writes the HELP and TYPE lines of family 'name'.  'type' is "counter",
 * "gauge" or "histogram"; 'help' is one line (backslashes and newlines
 * are escaped). */
void metrics_family(struct strbuf *, const char *name,
                    const char *type, const char *help);

/* Writes one sample 'name{labels} value'.  The variable arguments are
 * label name and value pairs (const char *), ended by NULL.  A value that
 * is an integer below 2^53 is written as one (no exponent); NaN and the
 * infinities as NaN, +Inf and -Inf. */
void metrics_sample(struct strbuf *, const char *name, double value,
                    ...) __attribute__((sentinel));

/* Writes a whole histogram family: HELP and TYPE, one NAME_bucket per
 * bound with its cumulative count and le="BOUND", NAME_bucket{le="+Inf"},
 * NAME_sum and NAME_count. */
void metrics_histogram_write(struct strbuf *, const char *name,
                             const char *help,
                             const struct metrics_histogram *);

/* A value as the format writes it, into 'buf' (at least 32 bytes). */
void metrics_format_value(double value, char buf[32]);

#endif
