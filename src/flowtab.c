#include "flowtab.h"

#include <stdlib.h>
#include <string.h>
#include "compile.h"
#include "np-util.h"
#include "strmap.h"

struct flow_entry {
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    uint64_t stamp;             /* flowtab_sync() pass that last saw it. */
    char *match;
    char *actions;
};

struct flowtab {
    struct strmap flows;        /* "table|priority|match" -> flow_entry. */
    uint64_t stamp;
    struct strmap *journal;     /* Keys changed since it was read, or NULL
                                 * when not kept. */
};

static void
journal_note(struct flowtab *tab, const char *key)
{
    if (tab->journal) {
        strmap_slot(tab->journal, key, NULL);
    }
}

/* The key of a flow, in 'buf' when it fits (it nearly always does), else
 * in memory the caller frees: an engine run looks up every flow, and a
 * malloc per lookup was a good part of its cost. */
struct flow_key {
    char buf[256];
    char *heap;
};

static const char *
flow_key(struct flow_key *k, uint8_t table, uint16_t priority,
         const char *match)
{
    int n = snprintf(k->buf, sizeof k->buf, "%u|%u|%s", table, priority,
                     match);
    k->heap = NULL;
    if (n >= (int) sizeof k->buf) {
        k->heap = xasprintf("%u|%u|%s", table, priority, match);
        return k->heap;
    }
    return k->buf;
}

struct flowtab *
flowtab_create(void)
{
    struct flowtab *tab = xcalloc(1, sizeof *tab);
    strmap_init(&tab->flows);
    return tab;
}

static void
flow_entry_destroy(struct flow_entry *e)
{
    free(e->match);
    free(e->actions);
    free(e);
}

void
flowtab_clear(struct flowtab *tab)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&tab->flows, &b); node;
         node = strmap_next(&tab->flows, node, &b)) {
        journal_note(tab, node->key);
        flow_entry_destroy(node->value);
    }
    strmap_destroy(&tab->flows);
    strmap_init(&tab->flows);
}

void
flowtab_destroy(struct flowtab *tab)
{
    if (tab) {
        flowtab_clear(tab);
        if (tab->journal) {
            strmap_destroy(tab->journal);
            free(tab->journal);
        }
        strmap_destroy(&tab->flows);
        free(tab);
    }
}

size_t
flowtab_count(const struct flowtab *tab)
{
    return tab->flows.n;
}

static struct flow_entry *
put(struct flowtab *tab, uint8_t table, uint16_t priority, uint64_t cookie,
    const char *match, const char *actions, bool *changed)
{
    struct flow_key k;
    const char *key = flow_key(&k, table, priority, match);
    void **slot = strmap_slot(&tab->flows, key, NULL);
    struct flow_entry *e = *slot;
    *changed = false;
    if (!e) {
        e = xmalloc(sizeof *e);
        e->table = table;
        e->priority = priority;
        e->match = xstrdup(match);
        e->cookie = cookie;
        e->actions = NULL;
        *slot = e;
        *changed = true;
    }
    if (e->cookie != cookie) {
        e->cookie = cookie;
        *changed = true;
    }
    if (!e->actions || strcmp(e->actions, actions)) {
        free(e->actions);
        e->actions = xstrdup(actions);
        *changed = true;
    }
    if (*changed) {
        journal_note(tab, key);
    }
    free(k.heap);
    return e;
}

void
flowtab_put(struct flowtab *tab, uint8_t table, uint16_t priority,
            uint64_t cookie, const char *match, const char *actions)
{
    flowtab_set(tab, table, priority, cookie, match, actions);
}

bool
flowtab_set(struct flowtab *tab, uint8_t table, uint16_t priority,
            uint64_t cookie, const char *match, const char *actions)
{
    bool changed;
    put(tab, table, priority, cookie, match, actions, &changed)->stamp
        = tab->stamp;
    return changed;
}

bool
flowtab_remove(struct flowtab *tab, uint8_t table, uint16_t priority,
               const char *match)
{
    struct flow_key k;
    const char *key = flow_key(&k, table, priority, match);
    struct flow_entry *e = strmap_remove(&tab->flows, key);
    if (e) {
        journal_note(tab, key);
        flow_entry_destroy(e);
    }
    free(k.heap);
    return e != NULL;
}

void
flowtab_assign(struct flowtab *tab, const struct np_flowset *fs)
{
    flowtab_clear(tab);
    flowtab_sync(tab, fs);
}

size_t
flowtab_sync(struct flowtab *tab, const struct np_flowset *fs)
{
    /* Mark and sweep: flows that stay keep their memory, so a run that
     * changes a few flows of thousands allocates for those few only. */
    uint64_t stamp = ++tab->stamp;
    size_t n_changed = 0;
    for (size_t i = 0; i < fs->n_flows; i++) {
        const struct np_flow *f = &fs->flows[i];
        bool changed;
        put(tab, f->table, f->priority, f->cookie, f->match, f->actions,
            &changed)->stamp = stamp;
        n_changed += changed;
    }
    if (tab->flows.n == fs->n_flows) {
        return n_changed;       /* Nothing left over (keys are unique). */
    }
    struct flow_entry **gone = NULL;
    size_t n_gone = 0, allocated = 0;
    size_t b;
    for (struct strmap_node *node = strmap_first(&tab->flows, &b); node;
         node = strmap_next(&tab->flows, node, &b)) {
        struct flow_entry *e = node->value;
        if (e->stamp != stamp) {
            APPEND(gone, n_gone, allocated, e);
        }
    }
    for (size_t i = 0; i < n_gone; i++) {
        flowtab_remove(tab, gone[i]->table, gone[i]->priority,
                       gone[i]->match);
    }
    free(gone);
    return n_changed + n_gone;
}

static void
put_into(void *tab, uint8_t table, uint16_t priority, uint64_t cookie,
         const char *match, const char *actions)
{
    flowtab_put(tab, table, priority, cookie, match, actions);
}

struct flowtab *
flowtab_clone(const struct flowtab *tab)
{
    struct flowtab *copy = flowtab_create();
    flowtab_visit(tab, put_into, copy);
    return copy;
}

static int
compare_changes(const void *a_, const void *b_)
{
    const struct flow_change *a = a_, *b = b_;
    /* Deletions first: a bundle is atomic anyway, but a reader of the
     * change log sees what went away before what came. */
    int da = a->type == FLOW_DELETE, db = b->type == FLOW_DELETE;
    if (da != db) {
        return db - da;
    }
    if (a->table != b->table) {
        return a->table < b->table ? -1 : 1;
    }
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    return strcmp(a->match, b->match);
}

void
flowtab_diff(const struct flowtab *from, const struct flowtab *to,
             struct flow_change **changes_, size_t *n_)
{
    struct flow_change *changes = NULL;
    size_t n = 0, allocated = 0;
    size_t b;
    for (struct strmap_node *node = strmap_first(&to->flows, &b); node;
         node = strmap_next(&to->flows, node, &b)) {
        const struct flow_entry *t = node->value;
        const struct flow_entry *f = strmap_get(&from->flows, node->key);
        if (f && f->cookie == t->cookie
            && (f->actions == t->actions || !strcmp(f->actions, t->actions))) {
            continue;
        }
        struct flow_change c = {
            .type = f ? FLOW_MODIFY : FLOW_ADD,
            .table = t->table, .priority = t->priority, .cookie = t->cookie,
            .match = t->match, .actions = t->actions,
        };
        APPEND(changes, n, allocated, c);
    }
    for (struct strmap_node *node = strmap_first(&from->flows, &b); node;
         node = strmap_next(&from->flows, node, &b)) {
        if (!strmap_get(&to->flows, node->key)) {
            const struct flow_entry *f = node->value;
            struct flow_change c = {
                .type = FLOW_DELETE,
                .table = f->table, .priority = f->priority,
                .cookie = f->cookie, .match = f->match, .actions = f->actions,
            };
            APPEND(changes, n, allocated, c);
        }
    }
    if (n) {
        np_qsort(changes, n, sizeof *changes, compare_changes);
    }
    *changes_ = changes;
    *n_ = n;
}

void
flowtab_journal_start(struct flowtab *tab)
{
    if (!tab->journal) {
        tab->journal = xmalloc(sizeof *tab->journal);
        strmap_init(tab->journal);
    }
}

void
flowtab_journal_clear(struct flowtab *tab)
{
    if (tab->journal) {
        strmap_destroy(tab->journal);
        strmap_init(tab->journal);
    }
}

size_t
flowtab_journal_size(const struct flowtab *tab)
{
    return tab->journal ? tab->journal->n : 0;
}

void
flowtab_diff_journal(const struct flowtab *from, struct flowtab *to,
                     struct flow_change **changes_, size_t *n_)
{
    struct flow_change *changes = NULL;
    size_t n = 0, allocated = 0;
    size_t b;
    for (struct strmap_node *node = (to->journal
                                     ? strmap_first(to->journal, &b) : NULL);
         node; node = strmap_next(to->journal, node, &b)) {
        const struct flow_entry *t = strmap_get(&to->flows, node->key);
        const struct flow_entry *f = strmap_get(&from->flows, node->key);
        if (t && f && f->cookie == t->cookie
            && !strcmp(f->actions, t->actions)) {
            continue;           /* Changed and changed back. */
        }
        if (!t && !f) {
            continue;           /* Came and went. */
        }
        const struct flow_entry *e = t ? t : f;
        struct flow_change c = {
            .type = !t ? FLOW_DELETE : f ? FLOW_MODIFY : FLOW_ADD,
            .table = e->table, .priority = e->priority, .cookie = e->cookie,
            .match = e->match, .actions = e->actions,
        };
        APPEND(changes, n, allocated, c);
    }
    if (n) {
        np_qsort(changes, n, sizeof *changes, compare_changes);
    }
    flowtab_journal_clear(to);
    *changes_ = changes;
    *n_ = n;
}

void
flowtab_apply(struct flowtab *tab, const struct flow_change *changes,
              size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct flow_change *c = &changes[i];
        if (c->type == FLOW_DELETE) {
            flowtab_remove(tab, c->table, c->priority, c->match);
        } else {
            flowtab_put(tab, c->table, c->priority, c->cookie, c->match,
                        c->actions);
        }
    }
}

bool
flowtab_equal(const struct flowtab *a, const struct flowtab *b)
{
    struct flow_change *changes;
    size_t n;
    flowtab_diff(a, b, &changes, &n);
    free(changes);
    return n == 0;
}

void
flowtab_visit(const struct flowtab *tab, flowtab_visit_fn *cb, void *aux)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&tab->flows, &b); node;
         node = strmap_next(&tab->flows, node, &b)) {
        const struct flow_entry *e = node->value;
        cb(aux, e->table, e->priority, e->cookie, e->match, e->actions);
    }
}
