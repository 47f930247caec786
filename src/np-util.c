#include "np-util.h"

/* libopenvswitch defines the same functions with the same contracts (abort
 * on out of memory).  Ours are weak so that a program linking both (the
 * daemon) uses one set and the linker does not see two. */
#define NP_WEAK __attribute__((weak))

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char *s = xmalloc(len + 1);
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
