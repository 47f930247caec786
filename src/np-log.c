#include "np-log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "np-util.h"

static bool log_json;
static enum np_log_level log_level = NP_LOG_INFO;

void
np_log_set_json(bool json)
{
    log_json = json;
}

void
np_log_set_level(enum np_log_level level)
{
    log_level = level;
}

bool
np_log_parse_level(const char *s, enum np_log_level *level)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, names[i])) {
            *level = i;
            return true;
        }
    }
    return false;
}

static const char *
level_name(enum np_log_level level)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    return names[level];
}

static void
put_json_string(FILE *f, const char *s)
{
    putc('"', f);
    for (; *s; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(f, "\\u%04x", c);
        } else {
            putc(c, f);
        }
    }
    putc('"', f);
}

static void
np_log_valist(enum np_log_level level, const char *module,
              const char *format, va_list args)
{
    if (level < log_level) {
        return;
    }
    char *msg = xvasprintf(format, args);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    flockfile(stderr);
    if (log_json) {
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":",
                when, level_name(level));
        put_json_string(stderr, module);
        fputs(",\"msg\":", stderr);
        put_json_string(stderr, msg);
        fputs("}\n", stderr);
    } else {
        fprintf(stderr, "%s %s %s: %s\n", when, level_name(level), module,
                msg);
    }
    funlockfile(stderr);
    fflush(stderr);
    free(msg);
}

void
np_log(enum np_log_level level, const char *module, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    np_log_valist(level, module, format, args);
    va_end(args);
}

void
np_log_rl(struct np_log_limit *rl, enum np_log_level level,
          const char *module, const char *format, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = ts.tv_sec + ts.tv_nsec / 1e9;
    if (now - rl->window_start >= 60.) {
        if (rl->dropped) {
            np_log(NP_LOG_WARN, module, "%"PRIu64" similar messages were "
                   "suppressed in the last minute", rl->dropped);
        }
        rl->window_start = now;
        rl->sent = 0;
        rl->dropped = 0;
    }
    if (rl->sent >= rl->burst) {
        rl->dropped++;
        return;
    }
    rl->sent++;
    va_list args;
    va_start(args, format);
    np_log_valist(level, module, format, args);
    va_end(args);
}
