#include "labels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "np-util.h"

/* Label keys and values, interned: a cluster's 300,000 pod labels have a
 * few dozen distinct keys and some thousands of values, and a copy of
 * each was a tenth of the daemon's memory.  One pool per process (the
 * daemon and the tools are single-threaded); a string goes when its last
 * label does. */
struct istr {
    uint32_t refs;
    uint32_t hash;
    char s[];
};

static struct {
    struct istr **slots;        /* Open addressing; 'mask' + 1 slots. */
    size_t n, mask;
} pool;

static uint32_t
str_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h = (h ^ (unsigned char) *s) * 16777619u;
    }
    return h ^ (h >> 15);
}

static struct istr **
pool_slot(const char *s, uint32_t hash)
{
    for (size_t i = hash & pool.mask; ; i = (i + 1) & pool.mask) {
        struct istr *p = pool.slots[i];
        if (!p || (p->hash == hash && !strcmp(p->s, s))) {
            return &pool.slots[i];
        }
    }
}

static char *
intern(const char *s)
{
    if ((pool.n + 1) * 4 > (pool.slots ? pool.mask + 1 : 0) * 3) {
        struct istr **old = pool.slots;
        size_t old_size = old ? pool.mask + 1 : 0;
        pool.mask = old ? pool.mask * 2 + 1 : 63;
        pool.slots = xcalloc(pool.mask + 1, sizeof *pool.slots);
        for (size_t i = 0; i < old_size; i++) {
            if (old[i]) {
                *pool_slot(old[i]->s, old[i]->hash) = old[i];
            }
        }
        free(old);
    }
    uint32_t hash = str_hash(s);
    struct istr **slot = pool_slot(s, hash);
    if (!*slot) {
        size_t len = strlen(s);
        struct istr *p = xmalloc(sizeof *p + len + 1);
        p->refs = 0;
        p->hash = hash;
        memcpy(p->s, s, len + 1);
        *slot = p;
        pool.n++;
    }
    (*slot)->refs++;
    return (*slot)->s;
}

static char *
intern_ref(char *s)
{
    CONTAINER_OF(s, struct istr, s)->refs++;
    return s;
}

static void
unintern(char *s)
{
    struct istr *p = CONTAINER_OF(s, struct istr, s);
    if (--p->refs) {
        return;
    }
    size_t i = pool_slot(p->s, p->hash) - pool.slots;
    for (size_t j = (i + 1) & pool.mask; pool.slots[j];
         j = (j + 1) & pool.mask) {
        size_t home = pool.slots[j]->hash & pool.mask;
        /* Move j into the hole at i unless its home lies in (i, j]. */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            pool.slots[i] = pool.slots[j];
            i = j;
        }
    }
    pool.slots[i] = NULL;
    free(p);
    if (!--pool.n) {
        free(pool.slots);
        pool.slots = NULL;
        pool.mask = 0;
    }
}

void
labels_init(struct labels *labels)
{
    labels->items = NULL;
    labels->n = 0;
}

void
labels_destroy(struct labels *labels)
{
    if (labels) {
        for (size_t i = 0; i < labels->n; i++) {
            unintern(labels->items[i].key);
            unintern(labels->items[i].value);
        }
        free(labels->items);
        labels->items = NULL;
        labels->n = 0;
    }
}

/* Returns the index of 'key', or the bitwise complement of the index where
 * it would be inserted. */
static long
labels_find(const struct labels *labels, const char *key)
{
    size_t lo = 0, hi = labels->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(labels->items[mid].key, key);
        if (!cmp) {
            return mid;
        } else if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return ~(long) lo;
}

void
labels_set(struct labels *labels, const char *key, const char *value)
{
    long idx = labels_find(labels, key);
    if (idx >= 0) {
        char *old = labels->items[idx].value;
        labels->items[idx].value = intern(value);
        unintern(old);
        return;
    }
    size_t pos = ~idx;
    /* Sets are small and built once per object, so one realloc per
     * insertion costs less than tracking capacity. */
    labels->items = xrealloc(labels->items,
                             (labels->n + 1) * sizeof *labels->items);
    memmove(&labels->items[pos + 1], &labels->items[pos],
            (labels->n - pos) * sizeof *labels->items);
    labels->items[pos].key = intern(key);
    labels->items[pos].value = intern(value);
    labels->n++;
}

const char *
labels_get(const struct labels *labels, const char *key)
{
    long idx = labels_find(labels, key);
    return idx >= 0 ? labels->items[idx].value : NULL;
}

void
labels_clone(struct labels *dst, const struct labels *src)
{
    dst->n = src->n;
    dst->items = src->n ? xmalloc(src->n * sizeof *dst->items) : NULL;
    for (size_t i = 0; i < src->n; i++) {
        dst->items[i].key = intern_ref(src->items[i].key);
        dst->items[i].value = intern_ref(src->items[i].value);
    }
}

bool
labels_equal(const struct labels *a, const struct labels *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->items[i].key, b->items[i].key)
            || strcmp(a->items[i].value, b->items[i].value)) {
            return false;
        }
    }
    return true;
}

void
selector_init(struct selector *sel)
{
    labels_init(&sel->match_labels);
    sel->exprs = NULL;
    sel->n_exprs = 0;
}

static void
sel_expr_destroy(struct sel_expr *e)
{
    free(e->key);
    for (size_t i = 0; i < e->n_values; i++) {
        free(e->values[i]);
    }
    free(e->values);
}

void
selector_destroy(struct selector *sel)
{
    if (sel) {
        labels_destroy(&sel->match_labels);
        for (size_t i = 0; i < sel->n_exprs; i++) {
            sel_expr_destroy(&sel->exprs[i]);
        }
        free(sel->exprs);
        sel->exprs = NULL;
        sel->n_exprs = 0;
    }
}

static int
compare_strings(const void *a_, const void *b_)
{
    const char *const *a = a_;
    const char *const *b = b_;
    return strcmp(*a, *b);
}

void
selector_add_expr(struct selector *sel, const char *key, enum sel_op op,
                  const char *const *values, size_t n_values)
{
    sel->exprs = xrealloc(sel->exprs, (sel->n_exprs + 1) * sizeof *sel->exprs);
    struct sel_expr *e = &sel->exprs[sel->n_exprs++];
    e->key = xstrdup(key);
    e->op = op;
    e->values = n_values ? xmalloc(n_values * sizeof *e->values) : NULL;
    for (size_t i = 0; i < n_values; i++) {
        e->values[i] = xstrdup(values[i]);
    }
    if (n_values) {
        np_qsort(e->values, n_values, sizeof *e->values, compare_strings);
    }
    size_t n = 0;
    for (size_t i = 0; i < n_values; i++) {
        if (n && !strcmp(e->values[n - 1], e->values[i])) {
            free(e->values[i]);
        } else {
            e->values[n++] = e->values[i];
        }
    }
    e->n_values = n;
}

void
selector_clone(struct selector *dst, const struct selector *src)
{
    labels_clone(&dst->match_labels, &src->match_labels);
    dst->exprs = NULL;
    dst->n_exprs = 0;
    for (size_t i = 0; i < src->n_exprs; i++) {
        const struct sel_expr *e = &src->exprs[i];
        selector_add_expr(dst, e->key, e->op,
                          (const char *const *) e->values, e->n_values);
    }
}

bool
selector_is_empty(const struct selector *sel)
{
    return !sel->match_labels.n && !sel->n_exprs;
}

static bool
sel_expr_has_value(const struct sel_expr *e, const char *value)
{
    return bsearch(&value, e->values, e->n_values, sizeof *e->values,
                   compare_strings) != NULL;
}

bool
selector_matches(const struct selector *sel, const struct labels *labels)
{
    for (size_t i = 0; i < sel->match_labels.n; i++) {
        const char *v = labels_get(labels, sel->match_labels.items[i].key);
        if (!v || strcmp(v, sel->match_labels.items[i].value)) {
            return false;
        }
    }
    for (size_t i = 0; i < sel->n_exprs; i++) {
        const struct sel_expr *e = &sel->exprs[i];
        const char *v = labels_get(labels, e->key);
        bool ok;
        switch (e->op) {
        case SEL_IN:
            ok = v && sel_expr_has_value(e, v);
            break;
        case SEL_NOT_IN:
            ok = !v || !sel_expr_has_value(e, v);
            break;
        case SEL_EXISTS:
            ok = v != NULL;
            break;
        case SEL_DOES_NOT_EXIST:
            ok = v == NULL;
            break;
        default:
            abort();
        }
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int
compare_exprs(const void *a_, const void *b_)
{
    const struct sel_expr *const *a = a_;
    const struct sel_expr *const *b = b_;
    int cmp = strcmp((*a)->key, (*b)->key);
    return cmp ? cmp : (int) (*a)->op - (int) (*b)->op;
}

char *
selector_to_string(const struct selector *sel)
{
    struct strbuf b;
    strbuf_init(&b);
    for (size_t i = 0; i < sel->match_labels.n; i++) {
        if (b.len) {
            strbuf_put(&b, ",");
        }
        strbuf_put(&b, sel->match_labels.items[i].key);
        strbuf_put(&b, "=");
        strbuf_put(&b, sel->match_labels.items[i].value);
    }

    /* Requirements are ANDed, so their order does not matter: sort them so
     * that equal selectors print equally. */
    const struct sel_expr **sorted = xmalloc((sel->n_exprs + 1) * sizeof *sorted);
    for (size_t i = 0; i < sel->n_exprs; i++) {
        sorted[i] = &sel->exprs[i];
    }
    np_qsort(sorted, sel->n_exprs, sizeof *sorted, compare_exprs);
    for (size_t i = 0; i < sel->n_exprs; i++) {
        const struct sel_expr *e = sorted[i];
        if (b.len) {
            strbuf_put(&b, ",");
        }
        switch (e->op) {
        case SEL_IN:
        case SEL_NOT_IN:
            strbuf_put(&b, e->key);
            strbuf_put(&b, e->op == SEL_IN ? " in (" : " notin (");
            for (size_t j = 0; j < e->n_values; j++) {
                if (j) {
                    strbuf_put(&b, ",");
                }
                strbuf_put(&b, e->values[j]);
            }
            strbuf_put(&b, ")");
            break;
        case SEL_EXISTS:
            strbuf_put(&b, e->key);
            break;
        case SEL_DOES_NOT_EXIST:
            strbuf_put(&b, "!");
            strbuf_put(&b, e->key);
            break;
        }
    }
    free(sorted);
    return strbuf_steal(&b);
}
