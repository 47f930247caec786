/* Small helpers shared by every module: allocation that aborts on failure
 * (out of memory is not an error path here, see STYLE.md), growable
 * arrays and strings, and reading a file whole. */
#ifndef NP_NP_UTIL_H
#define NP_NP_UTIL_H 1

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xmemdup0(const char *, size_t);
char *xasprintf(const char *format, ...)
    __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *format, va_list);

/* Returns the 'len' bytes at 's' as a double-quoted string for a message,
 * malloc'd: escaped as JSON escapes a string (control characters, '"' and
 * '\\'), each byte that is not part of valid UTF-8 as \xNN, and, when
 * longer than NP_QUOTE_MAX bytes, cut there at a character boundary and
 * followed by an ellipsis and the whole size: "abc"... (52428800 bytes),
 * with U+2026 for the dots.  Values from outside can be megabytes long:
 * every message quotes them through this. */
#define NP_QUOTE_MAX 100
char *np_quote(const char *s, size_t len);

/* Makes room for one more element in the array '*items' of '*n' elements of
 * 'size' bytes, of which '*allocated' are allocated; returns '*items'. */
void *x2nrealloc(void *items, size_t *allocated, size_t size);

#define ARRAY_SIZE(a) (sizeof (a) / sizeof *(a))

/* The struct that holds MEMBER at POINTER: the owner of an embedded
 * watcher or list node (STYLE.md, "Memory ownership").  Spelled exactly
 * as OVS's <openvswitch/util.h> spells it, so that a file that includes
 * both has one macro. */
#ifndef CONTAINER_OF
#define CONTAINER_OF(POINTER, STRUCT, MEMBER)                           \
        ((STRUCT *) (void *) ((char *) (POINTER) - offsetof (STRUCT, MEMBER)))
#endif

/* A string built piece by piece.  strbuf_steal() hands its text to the
 * caller, who frees it; strbuf_destroy() frees it instead.  Either leaves
 * the strbuf empty, ready for more, holding no memory. */
struct strbuf {
    char *s;                    /* Terminated; NULL while empty. */
    size_t len, allocated;      /* Characters; bytes allocated. */
};

/* The length of the UTF-8 sequence at 's' (at most 'n' bytes; a string's
 * terminating NUL ends it too), or 0 if it is not valid UTF-8 (overlong
 * forms and surrogates included). */
size_t np_utf8_char_len(const unsigned char *s, size_t n);

void strbuf_init(struct strbuf *);
void strbuf_put(struct strbuf *, const char *);
void strbuf_printf(struct strbuf *, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
char *strbuf_steal(struct strbuf *);
void strbuf_destroy(struct strbuf *);

/* Reading a file whole, bounded in size, for manifests, kubeconfigs,
 * tokens and certificates. */
enum {
    /* Only a regular file (after symbolic links) will do, and opening it
     * never blocks: the daemon reads files on its event loop, where a
     * FIFO would wait for a writer. */
    NP_READ_REGULAR = 1 << 0,
    /* The data may be a secret (a token, a private key): every buffer is
     * wiped before it goes back to the heap.  The caller wipes the one it
     * gets. */
    NP_READ_SECRET = 1 << 1,
};
/* np_read_file()'s error for a file that is not a regular one under
 * NP_READ_REGULAR: never an errno value. */
#define NP_READ_NOT_REGULAR (-1)

/* Reads 'fd' to its end into '*data', malloc'd, null-terminated, '*size'
 * bytes, with a first buffer of 'hint' bytes.  'flags': NP_READ_SECRET.
 * Returns 0 or an errno value, EFBIG for more than 'max_size' bytes (it
 * stops reading there); then '*data' is NULL. */
int np_read_fd(int fd, size_t max_size, size_t hint, int flags,
               char **data, size_t *size)
    __attribute__((warn_unused_result));
/* Reads the file 'path' as np_read_fd() does.  Returns 0 or an errno
 * value, EFBIG for more than 'max_size' bytes, or NP_READ_NOT_REGULAR.
 * With NP_READ_REGULAR and 'st' nonnull, stores the file's status in
 * '*st' once it is open (else leaves it as it was), so that a caller can
 * say what it was. */
struct stat;
int np_read_file(const char *path, size_t max_size, int flags,
                 struct stat *st, char **data, size_t *size)
    __attribute__((warn_unused_result));

/* qsort() for arrays that may be empty and then NULL: C makes a null
 * pointer argument undefined behaviour even for 0 elements (UBSan reports
 * it), so this does nothing for fewer than 2 elements. */
void np_qsort(void *items, size_t n, size_t size,
              int (*compare)(const void *, const void *));

/* Stores the time now, UTC, as "2026-12-01T09:30:00Z" in 'buf', for
 * status lines that say when something happened. */
#define NP_UTC_STAMP_SIZE 32
void np_utc_stamp(char buf[NP_UTC_STAMP_SIZE]);

/* Appends 'value' to the array 'items' with counters 'n' and 'allocated'. */
#define APPEND(items, n, allocated, value)                              \
    do {                                                                \
        if ((n) >= (allocated)) {                                       \
            (items) = x2nrealloc((items), &(allocated), sizeof *(items)); \
        }                                                               \
        (items)[(n)++] = (value);                                       \
    } while (0)

#endif
