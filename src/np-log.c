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

/* Writes 's' so that it stays on one line and is valid UTF-8: a message
 * may carry text from outside (an API server's Status message, a file
 * name), and a newline in it must not start a line that reads as one of
 * ours.  Control characters (C0, DEL and C1, which some viewers take as
 * line breaks) become escapes; so does each byte that is not part of valid
 * UTF-8.  In JSON mode the escapes are JSON's, and "\\" and '"' are
 * escaped as JSON requires. */
static void
put_escaped(FILE *f, const char *s_, bool json)
{
    const unsigned char *s = (const unsigned char *) s_;
    while (*s) {
        unsigned char c = *s;
        size_t n = np_utf8_char_len(s, SIZE_MAX);
        if (json && (c == '"' || c == '\\')) {
            fprintf(f, "\\%c", c);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, json ? "\\u%04x" : "\\x%02x", c);
        } else if (n == 2 && c == 0xc2 && s[1] < 0xa0) {
            fprintf(f, "\\u%04x", s[1]);
        } else if (!n) {
            /* JSON has no escape for a byte: spell it out as text. */
            fprintf(f, json ? "\\\\x%02x" : "\\x%02x", c);
            n = 1;
        } else {
            fwrite(s, 1, n, f);
        }
        s += n;
    }
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
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"",
                when, level_name(level));
        put_escaped(stderr, module, true);
        fputs("\",\"msg\":\"", stderr);
        put_escaped(stderr, msg, true);
        fputs("\"}\n", stderr);
    } else {
        fprintf(stderr, "%s %s ", when, level_name(level));
        put_escaped(stderr, module, false);
        fputs(": ", stderr);
        put_escaped(stderr, msg, false);
        putc('\n', stderr);
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
np_log_limit_init(struct np_log_limit *rl, double rate, unsigned int burst)
{
    *rl = (struct np_log_limit) NP_LOG_LIMIT_INIT(burst);
    rl->rate = rate;
}

bool
np_log_limit_allow(struct np_log_limit *rl, double now)
{
    rl->tokens += (now - rl->last) * rl->rate;
    if (rl->tokens > rl->burst) {
        rl->tokens = rl->burst;
    }
    rl->last = now;
    if (rl->tokens < 1.0) {
        rl->dropped++;
        return false;
    }
    rl->tokens -= 1.0;
    return true;
}

void
np_log_rl(struct np_log_limit *rl, enum np_log_level level,
          const char *module, const char *format, ...)
{
    if (level < log_level) {
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (!np_log_limit_allow(rl, ts.tv_sec + ts.tv_nsec / 1e9)) {
        return;
    }
    va_list args;
    va_start(args, format);
    char *msg = xvasprintf(format, args);
    va_end(args);
    if (rl->dropped) {
        np_log(level, module, "%s (%"PRIu64" earlier messages suppressed)",
               msg, rl->dropped);
        rl->dropped = 0;
    } else {
        np_log(level, module, "%s", msg);
    }
    free(msg);
}
