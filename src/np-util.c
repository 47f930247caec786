#include "np-util.h"

/* libopenvswitch defines the same functions with the same contracts (abort
 * on out of memory).  Ours are weak so that a program linking both (the
 * daemon) uses one set and the linker does not see two. */
#define NP_WEAK __attribute__((weak))

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

static void
out_of_memory(void)
{
    fputs("ovs-netpol: out of memory\n", stderr);
    abort();
}

NP_WEAK void *
xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        out_of_memory();
    }
    return p;
}

NP_WEAK void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        out_of_memory();
    }
    return p;
}

NP_WEAK void *
xrealloc(void *p, size_t size)
{
    p = realloc(p, size ? size : 1);
    if (!p) {
        out_of_memory();
    }
    return p;
}

NP_WEAK char *
xmemdup0(const char *s, size_t len)
{
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

NP_WEAK char *
xstrdup(const char *s)
{
    return xmemdup0(s, strlen(s));
}

NP_WEAK char *
xvasprintf(const char *format, va_list args)
{
    va_list args2;
    va_copy(args2, args);
    int len = vsnprintf(NULL, 0, format, args);
    if (len < 0) {
        /* Only for output over INT_MAX bytes: a bug, not an input. */
        abort();
    }
    char *s = xmalloc((size_t) len + 1);
    vsnprintf(s, len + 1, format, args2);
    va_end(args2);
    return s;
}

NP_WEAK char *
xasprintf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *s = xvasprintf(format, args);
    va_end(args);
    return s;
}

NP_WEAK void *
x2nrealloc(void *items, size_t *allocated, size_t size)
{
    *allocated = *allocated ? *allocated * 2 : 8;
    return xrealloc(items, *allocated * size);
}

size_t
np_utf8_char_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned char min2 = 0x80, max2 = 0xbf;
    if (s[0] < 0x80) {
        return 1;
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        min2 = s[0] == 0xe0 ? 0xa0 : 0x80;
        max2 = s[0] == 0xed ? 0x9f : 0xbf;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        min2 = s[0] == 0xf0 ? 0x90 : 0x80;
        max2 = s[0] == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (n < len || s[1] < min2 || s[1] > max2) {
        return 0;
    }
    for (size_t i = 2; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return len;
}

char *
np_quote(const char *s_, size_t len)
{
    const unsigned char *s = (const unsigned char *) s_;
    size_t shown = len;
    if (len > NP_QUOTE_MAX) {
        /* Back off to the start of a character. */
        shown = NP_QUOTE_MAX;
        while (shown > 0 && (s[shown] & 0xc0) == 0x80
               && NP_QUOTE_MAX - shown < 3) {
            shown--;
        }
    }

    /* At most 6 bytes out per byte in, plus the quotes and the tail. */
    char *out = xmalloc(shown * 6 + 64);
    char *p = out;
    *p++ = '"';
    for (size_t i = 0; i < shown; ) {
        unsigned char c = s[i];
        size_t n = np_utf8_char_len(s + i, shown - i);
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;
        } else if (c == '\b' || c == '\f' || c == '\n' || c == '\r'
                   || c == '\t') {
            *p++ = '\\';
            *p++ = (c == '\b' ? 'b' : c == '\f' ? 'f' : c == '\n' ? 'n'
                    : c == '\r' ? 'r' : 't');
        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04X", c);
        } else if (!n) {
            p += sprintf(p, "\\x%02X", c);
            n = 1;
        } else {
            memcpy(p, s + i, n);
            p += n;
        }
        i += n ? n : 1;
    }
    *p++ = '"';
    if (shown < len) {
        p += sprintf(p, "\xe2\x80\xa6 (%zu bytes)", len);
    }
    *p = '\0';
    return out;
}

void
strbuf_init(struct strbuf *b)
{
    b->s = NULL;
    b->len = b->allocated = 0;
}

static void
strbuf_put_len(struct strbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->allocated) {
        b->allocated = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->allocated);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void
strbuf_put(struct strbuf *b, const char *s)
{
    strbuf_put_len(b, s, strlen(s));
}

void
strbuf_printf(struct strbuf *b, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *piece = xvasprintf(format, args);
    va_end(args);
    strbuf_put(b, piece);
    free(piece);
}

char *
strbuf_steal(struct strbuf *b)
{
    char *s = b->s ? b->s : xstrdup("");
    strbuf_init(b);
    return s;
}

void
strbuf_destroy(struct strbuf *b)
{
    if (b) {
        free(b->s);
        strbuf_init(b);
    }
}

/* Frees 'p', 'size' bytes, wiped first with NP_READ_SECRET. */
static void
read_free(char *p, size_t size, int flags)
{
    if (p && (flags & NP_READ_SECRET)) {
        explicit_bzero(p, size);
    }
    free(p);
}

int
np_read_fd(int fd, size_t max_size, size_t hint, int flags,
           char **datap, size_t *sizep)
{
    *datap = NULL;
    *sizep = 0;
    /* Room for one byte more than 'max_size', which tells a file that is
     * too big from one of exactly that size, and for the terminator. */
    size_t limit = max_size + 2;
    size_t allocated = hint < 4096 ? 4096 : hint < limit ? hint : limit;
    char *data = xmalloc(allocated);
    size_t size = 0;
    for (;;) {
        if (allocated - size < 2) {
            if (size > max_size) {
                read_free(data, allocated, flags);
                return EFBIG;
            }
            size_t bigger = allocated * 2 < limit ? allocated * 2 : limit;
            /* Not xrealloc(): the old block is wiped when it must be. */
            char *p = xmalloc(bigger);
            memcpy(p, data, size);
            read_free(data, allocated, flags);
            data = p;
            allocated = bigger;
        }
        ssize_t n = read(fd, data + size, allocated - size - 1);
        if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0) {
            int error = errno;
            read_free(data, allocated, flags);
            return error;
        } else if (!n) {
            break;
        }
        size += n;
    }
    if (size > max_size) {
        read_free(data, allocated, flags);
        return EFBIG;
    }
    data[size] = '\0';
    *datap = data;
    *sizep = size;
    return 0;
}

int
np_read_file(const char *path, size_t max_size, int flags, struct stat *st,
             char **datap, size_t *sizep)
{
    *datap = NULL;
    *sizep = 0;
    bool regular = flags & NP_READ_REGULAR;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (regular ? O_NONBLOCK : 0));
    if (fd < 0) {
        return errno;
    }
    struct stat st_;
    st = st ? st : &st_;
    size_t hint = 0;
    int error = 0;
    if (regular) {
        if (fstat(fd, st)) {
            error = errno;
        } else if (!S_ISREG(st->st_mode)) {
            error = NP_READ_NOT_REGULAR;
        } else if ((uintmax_t) st->st_size > max_size) {
            error = EFBIG;
        } else {
            hint = st->st_size + 1;
        }
    }
    if (!error) {
        error = np_read_fd(fd, max_size, hint, flags, datap, sizep);
    }
    close(fd);
    return error;
}

void
np_qsort(void *items, size_t n, size_t size,
         int (*compare)(const void *, const void *))
{
    if (n > 1) {
        qsort(items, n, size, compare);
    }
}

void
np_utc_stamp(char buf[NP_UTC_STAMP_SIZE])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, NP_UTC_STAMP_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
