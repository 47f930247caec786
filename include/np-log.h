/* Logging for the daemon: one line per event, as text
 *   2026-11-27T12:00:00.123Z info engine: recomputed 5885 flows (pod x/a changed)
 * or as JSON ({"ts":..,"level":..,"module":..,"msg":..}), to stderr.
 * Each event is exactly one line whatever its message holds: control
 * characters become escapes ("\n", "\x1b", "\u0085") and bytes that are
 * not UTF-8 are written as "\xff", so text from outside cannot forge a
 * line of ours.
 *
 * Messages triggered by outside input (API server, OVS, manifests) go
 * through a rate limit, a token bucket as OVS's VLOG_WARN_RL() has, so a
 * misbehaving peer cannot flood the log: np_log_rl() keeps one per call
 * site, kube-client one per client.  The first message let through after
 * some were dropped says how many. */
#ifndef NP_LOG_H
#define NP_LOG_H 1

#include <stdbool.h>
#include <stdint.h>

enum np_log_level {
    NP_LOG_DBG,
    NP_LOG_INFO,
    NP_LOG_WARN,
    NP_LOG_ERR,
};

void np_log_set_json(bool);
void np_log_set_level(enum np_log_level);
/* Parses "debug", "info", "warn" or "error". */
bool np_log_parse_level(const char *, enum np_log_level *);

void np_log(enum np_log_level, const char *module, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* A rate limit: 'burst' messages in a row, then 'rate' per second. */
struct np_log_limit {
    double rate;                /* Messages per second, in the long run. */
    double burst;               /* Messages in a row. */
    double tokens;              /* Messages that may go now. */
    double last;                /* When 'tokens' was last topped up. */
    uint64_t dropped;           /* Refused since the last one allowed. */
};
/* 'BURST' in a row, and 'BURST' a minute in the long run. */
#define NP_LOG_LIMIT_INIT(BURST) { (BURST) / 60.0, (BURST), (BURST), 0, 0 }

void np_log_limit_init(struct np_log_limit *, double rate,
                       unsigned int burst);
/* Whether one more message may go out at time 'now', in seconds on a
 * clock that never goes back (the first call may come at any time).  If
 * not, counts it in 'dropped', which the caller reports and clears with
 * the next message it lets through. */
bool np_log_limit_allow(struct np_log_limit *, double now);

void np_log_rl(struct np_log_limit *, enum np_log_level, const char *module,
               const char *format, ...)
    __attribute__((format(printf, 4, 5)));

#define NP_ERR_RL(MODULE, ...)                                          \
    do {                                                                \
        static struct np_log_limit rl_ = NP_LOG_LIMIT_INIT(20);         \
        np_log_rl(&rl_, NP_LOG_ERR, MODULE, __VA_ARGS__);               \
    } while (0)
#define NP_WARN_RL(MODULE, ...)                                         \
    do {                                                                \
        static struct np_log_limit rl_ = NP_LOG_LIMIT_INIT(20);         \
        np_log_rl(&rl_, NP_LOG_WARN, MODULE, __VA_ARGS__);              \
    } while (0)

#endif
