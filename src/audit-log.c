/* The audit log writer.  See include/audit-log.h. */
#include <np-config.h>
#include "audit-log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "np-log.h"
#include "np-util.h"
#include "strmap.h"

#define MODULE "audit"
#define DEFAULT_MAX_PENDING 10000

/* One folded key: the events of one window, written as one line. */
struct pending {
    struct pending *prev, *next;        /* In 'log->pending', by 'first'. */
    char *key;                  /* Its key in 'log->keys'. */
    char *body;                 /* The line between "node" and "count". */
    double first;               /* Time of the first event. */
    uint64_t count;
};

struct audit_log {
    char *path;                 /* NULL for standard output. */
    char *node;                 /* NULL: no "node". */
    uint64_t max_size;          /* 0: never rotate. */
    unsigned int max_files;
    double window;
    size_t max_pending;

    int fd;                     /* -1 after a failed reopen. */
    bool rotatable;             /* A regular file of ours. */
    uint64_t size;              /* The file's, in bytes. */
    bool rotation_failed;       /* In this call: don't retry per line. */

    /* Lines built but not written yet: one write() for them all. */
    struct strbuf out;
    uint64_t out_lines;

    struct strmap keys;         /* Key -> struct pending. */
    struct pending *head, *tail;        /* Oldest first. */
    size_t n_pending;

    struct audit_log_stats stats;
};

void
audit_log_options_init(struct audit_log_options *o)
{
    *o = (struct audit_log_options) {
        .path = "-",
        .node = NULL,
        .max_size = AUDIT_LOG_DEFAULT_MAX_SIZE,
        .max_files = AUDIT_LOG_DEFAULT_MAX_FILES,
        .window = 1.0,
        .max_pending = DEFAULT_MAX_PENDING,
    };
}

/* Opens 'log->path' for appending and learns its size.  Returns 0 or an
 * errno value. */
static int
open_file(struct audit_log *log)
{
    int fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                  0640);
    if (fd < 0) {
        return errno;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        int error = errno;
        close(fd);
        return error;
    }
    log->fd = fd;
    /* Renaming /dev/null or a FIFO away would break whoever else uses it;
     * only our own regular file is rotated. */
    log->rotatable = S_ISREG(st.st_mode);
    log->size = log->rotatable ? st.st_size : 0;
    return 0;
}

struct audit_log *
audit_log_create(const struct audit_log_options *o, char **error)
{
    assert(o->path);
    struct audit_log *log = xcalloc(1, sizeof *log);
    log->node = o->node ? xstrdup(o->node) : NULL;
    log->max_size = o->max_size;
    log->max_files = o->max_files;
    log->window = o->window > 0 ? o->window : 0;
    log->max_pending = o->max_pending ? o->max_pending : 1;
    log->fd = -1;
    strbuf_init(&log->out);
    strmap_init(&log->keys);
    if (!strcmp(o->path, "-")) {
        log->fd = STDOUT_FILENO;
    } else {
        log->path = xstrdup(o->path);
        int e = open_file(log);
        if (e) {
            *error = xasprintf("audit log %s: cannot open (%s)",
                               log->path, strerror(e));
            audit_log_destroy(log);
            return NULL;
        }
    }
    *error = NULL;
    return log;
}

/* JSON strings. */

/* Appends 's' to 'b' as a JSON string, quotes included, escaped as the
 * header says: names come from the API server and must not be able to
 * break a line or make it invalid. */
static void
put_json_string(struct strbuf *b, const char *s_)
{
    const unsigned char *s = (const unsigned char *) s_;
    strbuf_put(b, "\"");
    while (*s) {
        unsigned char c = *s;
        size_t n = np_utf8_char_len(s, SIZE_MAX);
        if (c == '"' || c == '\\') {
            strbuf_printf(b, "\\%c", c);
        } else if (c == '\n') {
            strbuf_put(b, "\\n");
        } else if (c == '\r') {
            strbuf_put(b, "\\r");
        } else if (c == '\t') {
            strbuf_put(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            strbuf_printf(b, "\\u%04x", c);
        } else if (n == 2 && c == 0xc2 && s[1] < 0xa0) {
            strbuf_printf(b, "\\u%04x", s[1]);          /* C1. */
        } else if (n == 3 && c == 0xe2 && s[1] == 0x80
                   && (s[2] == 0xa8 || s[2] == 0xa9)) {
            strbuf_printf(b, "\\u%04x", 0x2000 + (s[2] & 0x3f)); /* LS/PS. */
        } else if (!n) {
            strbuf_put(b, "\\ufffd");
            n = 1;
        } else {
            strbuf_printf(b, "%.*s", (int) n, (const char *) s);
        }
        s += n;
    }
    strbuf_put(b, "\"");
}

/* Appends ',"name":' and 's' as a JSON string. */
static void
put_member(struct strbuf *b, const char *name, const char *s)
{
    strbuf_printf(b, ",\"%s\":", name);
    put_json_string(b, s);
}

/* Formats 't' (seconds since the epoch) as RFC 3339, UTC, milliseconds. */
#define TIME_SIZE 40
static void
format_time(double t, char buf[TIME_SIZE])
{
    long long ms = isfinite(t) ? llround(t * 1000.0) : 0;
    long long sec = ms / 1000, msec = ms % 1000;
    if (msec < 0) {
        sec--, msec += 1000;
    }
    time_t tt = sec;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) {
        memset(&tm, 0, sizeof tm);
    }
    size_t n = strftime(buf, TIME_SIZE, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, TIME_SIZE - n, ".%03lldZ", msec);
}

static const char *
proto_name(uint8_t proto)
{
    switch (proto) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    default: return NULL;
    }
}

static bool
proto_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

/* Builds the fold key and the line's body for 'ev'.  The body is the key's
 * members with the pods between the addresses and the policies; the key
 * leaves the pods out.  Both are JSON text, so neither is ambiguous
 * whatever the names hold. */
static void
event_text(const struct audit_event *ev, char **key, char **body)
{
    struct strbuf head, pods, tail;
    strbuf_init(&head);
    strbuf_init(&pods);
    strbuf_init(&tail);

    strbuf_printf(&head, "\"direction\":\"%s\",\"verdict\":\"%s\"",
                  ev->ingress ? "ingress" : "egress",
                  ev->allow ? "allow" : "deny");
    const char *name = proto_name(ev->proto);
    if (name) {
        strbuf_printf(&head, ",\"protocol\":\"%s\"", name);
    } else {
        strbuf_printf(&head, ",\"protocol\":%u", ev->proto);
    }
    bool ports = proto_has_ports(ev->proto);
    char addr[IP_ADDR_STRLEN];
    ip_addr_format(&ev->src, addr);
    strbuf_printf(&head, ",\"src\":\"%s\"", addr);
    if (ports) {
        strbuf_printf(&head, ",\"src_port\":%u", ev->src_port);
    }
    ip_addr_format(&ev->dst, addr);
    strbuf_printf(&head, ",\"dst\":\"%s\"", addr);
    if (ports) {
        strbuf_printf(&head, ",\"dst_port\":%u", ev->dst_port);
    }

    if (ev->src_pod) {
        put_member(&pods, "src_pod", ev->src_pod);
    }
    if (ev->dst_pod) {
        put_member(&pods, "dst_pod", ev->dst_pod);
    }

    if (ev->allow) {
        if (ev->policy) {
            put_member(&tail, "policy", ev->policy);
        }
        strbuf_printf(&tail, ",\"rule\":%zu", ev->rule);
    } else {
        strbuf_put(&tail, ",\"policies\":[");
        for (size_t i = 0; i < ev->n_policies; i++) {
            if (i) {
                strbuf_put(&tail, ",");
            }
            put_json_string(&tail, ev->policies[i]);
        }
        strbuf_put(&tail, "]");
    }

    *key = xasprintf("%s%s", head.s, tail.s);
    *body = xasprintf("%s%s%s", head.s, pods.s ? pods.s : "", tail.s);
    strbuf_destroy(&head);
    strbuf_destroy(&pods);
    strbuf_destroy(&tail);
}

/* Output. */

/* Writes 'size' bytes at 'data' to 'fd', through partial writes and
 * signals.  Returns 0 or an errno value. */
static int
write_fully(int fd, const char *data, size_t size)
{
    while (size) {
        ssize_t n = write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        } else if (!n) {
            return EIO;
        }
        data += n;
        size -= n;
    }
    return 0;
}

static const char *
log_name(const struct audit_log *log)
{
    return log->path ? log->path : "standard output";
}

/* Writes the lines in 'log->out', in one write() when it can. */
static void
write_out(struct audit_log *log)
{
    if (!log->out.len) {
        return;
    }
    if (log->fd < 0) {
        int e = open_file(log);
        if (e) {
            log->stats.write_errors++;
            NP_ERR_RL(MODULE, "audit log %s: cannot reopen (%s); "
                      "lines lost: %"PRIu64, log_name(log), strerror(e),
                      log->out_lines);
            goto done;
        }
    }
    int e = write_fully(log->fd, log->out.s, log->out.len);
    if (!e) {
        log->size += log->out.len;
        log->stats.lines += log->out_lines;
    } else {
        log->stats.write_errors++;
        NP_ERR_RL(MODULE, "audit log %s: write failed (%s); "
                  "lines lost: %"PRIu64, log_name(log), strerror(e),
                  log->out_lines);
        /* Take back what went out of a batch that did not, so that the
         * file holds whole lines only. */
        struct stat st;
        if (log->rotatable && !fstat(log->fd, &st)
            && (uint64_t) st.st_size > log->size) {
            if (ftruncate(log->fd, log->size)) {
                NP_ERR_RL(MODULE, "audit log %s: cannot cut back a "
                          "partial line (%s)", log_name(log),
                          strerror(errno));
            }
        }
    }
done:
    free(strbuf_steal(&log->out));
    log->out_lines = 0;
}

static char *
numbered(const char *path, unsigned int i)
{
    return xasprintf("%s.%u", path, i);
}

/* Moves path.(N-1) to path.N, ..., path to path.1 and opens a new path;
 * with 'max_files' 0, truncates path instead.  Returns 0 or an errno
 * value, with what failed in '*what', malloc'd. */
static int
rotate_files(struct audit_log *log, char **what)
{
    if (!log->max_files) {
        if (ftruncate(log->fd, 0)) {
            *what = xasprintf("truncating %s", log->path);
            return errno;
        }
        log->size = 0;
        return 0;
    }
    for (unsigned int i = log->max_files; i >= 1; i--) {
        char *from = i > 1 ? numbered(log->path, i - 1) : xstrdup(log->path);
        char *to = numbered(log->path, i);
        int e = rename(from, to) ? errno : 0;
        if (e && e != ENOENT) {
            *what = xasprintf("renaming %s to %s", from, to);
            free(from);
            free(to);
            return e;
        }
        free(from);
        free(to);
    }
    close(log->fd);
    log->fd = -1;
    int e = open_file(log);
    if (e) {
        *what = xasprintf("opening %s", log->path);
    }
    return e;
}

/* Rotates before a line of 'len' bytes that would take the file beyond
 * 'max_size' (once per call if it fails). */
static void
maybe_rotate(struct audit_log *log, size_t len)
{
    uint64_t size = log->size + log->out.len;
    if (!log->rotatable || !log->max_size || log->fd < 0 || !size
        || size + len <= log->max_size || log->rotation_failed) {
        return;
    }
    write_out(log);
    /* Another writer (or a truncation) may have changed the size. */
    struct stat st;
    if (!fstat(log->fd, &st) && S_ISREG(st.st_mode)) {
        log->size = st.st_size;
        if (!log->size || log->size + len <= log->max_size) {
            return;
        }
    }
    char *what = NULL;
    int e = rotate_files(log, &what);
    if (e) {
        log->stats.write_errors++;
        log->rotation_failed = true;
        NP_ERR_RL(MODULE, "audit log %s: rotation failed: %s (%s)",
                  log_name(log), what, strerror(e));
        free(what);
    } else {
        log->stats.rotations++;
    }
}

/* Adds one line, 'text' without its newline, to what goes out next. */
static void
queue_line(struct audit_log *log, const char *text)
{
    size_t len = strlen(text) + 1;
    maybe_rotate(log, len);
    strbuf_put(&log->out, text);
    strbuf_put(&log->out, "\n");
    log->out_lines++;
}

/* Ends a call that may have queued lines. */
static void
finish(struct audit_log *log)
{
    write_out(log);
    log->rotation_failed = false;
}

/* Pending lines. */

static void
unlink_pending(struct audit_log *log, struct pending *p)
{
    if (p->prev) {
        p->prev->next = p->next;
    } else {
        log->head = p->next;
    }
    if (p->next) {
        p->next->prev = p->prev;
    } else {
        log->tail = p->prev;
    }
    strmap_remove(&log->keys, p->key);
    log->n_pending--;
}

/* Queues the line of 'p' and frees it. */
static void
emit_pending(struct audit_log *log, struct pending *p)
{
    unlink_pending(log, p);
    char when[TIME_SIZE];
    format_time(p->first, when);
    struct strbuf b;
    strbuf_init(&b);
    strbuf_printf(&b, "{\"time\":\"%s\"", when);
    if (log->node) {
        put_member(&b, "node", log->node);
    }
    strbuf_printf(&b, ",%s,\"count\":%"PRIu64"}", p->body, p->count);
    queue_line(log, b.s);
    strbuf_destroy(&b);
    free(p->key);
    free(p->body);
    free(p);
}

static bool
window_ended(const struct audit_log *log, const struct pending *p, double now)
{
    return now >= p->first + log->window;
}

/* Whether 'now' lies more than a window before the newest pending event:
 * the clock was set back, and waiting for it would hold lines for as long
 * as it went back. */
static bool
clock_went_back(const struct audit_log *log, double now)
{
    return log->tail && now < log->tail->first - log->window;
}

/* Queues the lines due by 'now' (all if 'all'). */
static void
flush_pending(struct audit_log *log, double now, bool all)
{
    if (clock_went_back(log, now)) {
        all = true;
    }
    while (log->head && (all || window_ended(log, log->head, now))) {
        emit_pending(log, log->head);
    }
}

void
audit_log_record(struct audit_log *log, const struct audit_event *ev)
{
    log->stats.events++;
    char *key, *body;
    event_text(ev, &key, &body);

    struct pending *p = strmap_get(&log->keys, key);
    if (p && window_ended(log, p, ev->time)) {
        /* Its window is over: write it, and every line due before it. */
        flush_pending(log, ev->time, false);
        p = NULL;
    } else if (!p && clock_went_back(log, ev->time)) {
        flush_pending(log, ev->time, true);
    }
    if (p) {
        p->count++;
        free(key);
        free(body);
        finish(log);
        return;
    }

    while (log->n_pending >= log->max_pending) {
        emit_pending(log, log->head);
    }
    p = xmalloc(sizeof *p);
    *p = (struct pending) { .key = key, .body = body, .first = ev->time,
                            .count = 1 };
    bool created;
    *strmap_slot(&log->keys, key, &created) = p;
    assert(created);
    /* By 'first', from the newest: clocks mostly go forward. */
    struct pending *after = log->tail;
    while (after && after->first > p->first) {
        after = after->prev;
    }
    p->prev = after;
    p->next = after ? after->next : log->head;
    if (p->next) {
        p->next->prev = p;
    } else {
        log->tail = p;
    }
    if (after) {
        after->next = p;
    } else {
        log->head = p;
    }
    log->n_pending++;
    finish(log);
}

double
audit_log_flush(struct audit_log *log, double now, bool all)
{
    flush_pending(log, now, all);
    finish(log);
    return log->head ? log->head->first + log->window : 0;
}

void
audit_log_dropped(struct audit_log *log, double now, uint64_t count)
{
    if (!count) {
        return;
    }
    log->stats.dropped += count;
    char when[TIME_SIZE];
    format_time(now, when);
    struct strbuf b;
    strbuf_init(&b);
    strbuf_printf(&b, "{\"time\":\"%s\"", when);
    if (log->node) {
        put_member(&b, "node", log->node);
    }
    strbuf_printf(&b, ",\"event\":\"dropped\",\"count\":%"PRIu64"}", count);
    queue_line(log, b.s);
    strbuf_destroy(&b);
    finish(log);
}

void
audit_log_get_stats(const struct audit_log *log, struct audit_log_stats *s)
{
    *s = log->stats;
}

void
audit_log_destroy(struct audit_log *log)
{
    if (!log) {
        return;
    }
    flush_pending(log, 0, true);
    finish(log);
    if (log->path && log->fd >= 0) {
        close(log->fd);
    }
    strmap_destroy(&log->keys);
    strbuf_destroy(&log->out);
    free(log->path);
    free(log->node);
    free(log);
}
