#include "flowtab.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "compile.h"
#include "compile-gen.h"
#include "np-util.h"

/* What a flow's actions are held as. */
enum flow_form {
    FORM_TEXT,                  /* 'actions'. */
    FORM_CONJ,                  /* 'conj': only conjunction() actions, as
                                 * np_conj_pack()s in order, 8 bytes each
                                 * against some 21 as text. */
    FORM_ID,                    /* Neither: a journal's record of a flow
                                 * that is gone (see journal_note()). */
};

/* A flow, immutable once made, shared by every table (and journal) that
 * holds it: the installed table is mostly the desired one, and a flow's
 * actions can be kilobytes, so two copies of each cost more than all the
 * rest of a table.  One block holds the rest too: 'conj', then 'match',
 * then 'actions'. */
struct flow_entry {
    uint32_t n_refs;
    uint32_t hash;              /* flow_hash() of the identity. */
    uint64_t cookie;
    const char *actions;        /* FORM_TEXT only. */
    struct conj_list *list;     /* FORM_CONJ only: a reference. */
    const uint64_t *conj;       /* FORM_CONJ only: list->v. */
    uint32_t n_conj;
    uint16_t priority;
    uint8_t table;
    uint8_t form;
    char match[];
};

/* A set of flows by identity: open addressing with linear probing, and
 * backward-shift deletion so that lookups need no tombstones. */
struct flow_slot {
    struct flow_entry *flow;    /* NULL if the slot is empty. */
    uint32_t hash;              /* flow->hash, to probe without touching
                                 * every flow on the way. */
    uint32_t stamp;             /* flowtab_sync() pass that last saw it. */
};

struct flow_map {
    struct flow_slot *slots;    /* NULL until the first flow. */
    size_t mask;                /* Number of slots - 1. */
    size_t n;
    /* Flows by OpenFlow table, kept as they come and go: a metrics scrape
     * reads them without walking the flows. */
    uint32_t n_by_table[256];
};

struct flowtab {
    struct flow_map flows;
    uint32_t stamp;
    struct flow_map *journal;   /* Flows changed since it was read, or NULL
                                 * when not kept. */
};

#define FLOW_MAP_FOR_EACH(SLOT, MAP)                                    \
    for (struct flow_slot *SLOT = (MAP)->slots;                         \
         (MAP)->slots && SLOT <= &(MAP)->slots[(MAP)->mask]; SLOT++)    \
        if (SLOT->flow)

/* ---- Flows. ---- */

/* Hashes the parts of an identity where they are, eight bytes at a time:
 * every flowtab_set() of an engine run hashes one, and formatting a key
 * string first was a good part of its cost. */
static uint32_t
flow_hash(uint8_t table, uint16_t priority, const char *match, size_t len)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    uint64_t h = ((uint64_t) table << 16 | priority) ^ (len * k);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, match + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, match + i, len - i);
    h ^= w;
    /* MurmurHash3's finalizer: the slot is the low bits. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t) h;
}

/* Returns a new flow with one reference, which the caller owns: with
 * 'actions' if nonnull, else with the 'n_conj' conjunctions of 'conj' if
 * nonnull, else a record of the identity alone. */
/* Returns a new flow with one reference, which the caller owns: with
 * 'actions' if nonnull, else with the conjunctions of 'list' (taking the
 * caller's reference) if nonnull, else a record of the identity alone. */
static struct flow_entry *
flow_create(uint32_t hash, uint8_t table, uint16_t priority, uint64_t cookie,
            const char *match, size_t match_len, const char *actions,
            struct conj_list *list)
{
    size_t actions_size = actions ? strlen(actions) + 1 : 0;
    struct flow_entry *e = xmalloc(sizeof *e + match_len + 1 + actions_size);
    e->n_refs = 1;
    e->hash = hash;
    e->cookie = cookie;
    e->priority = priority;
    e->table = table;
    e->actions = NULL;
    e->list = NULL;
    e->conj = NULL;
    e->n_conj = 0;
    memcpy(e->match, match, match_len + 1);
    if (actions) {
        e->form = FORM_TEXT;
        memcpy(e->match + match_len + 1, actions, actions_size);
        e->actions = e->match + match_len + 1;
    } else if (list) {
        e->form = FORM_CONJ;
        e->list = list;
        e->conj = list->v;
        e->n_conj = list->n;
    } else {
        e->form = FORM_ID;
    }
    return e;
}

/* ---- Conjunction lists. ---- */

static struct conj_list *
conj_list_alloc(size_t allocated)
{
    struct conj_list *l = xmalloc(sizeof *l + allocated * sizeof *l->v);
    l->refs = 1;
    l->n = 0;
    l->allocated = allocated;
    return l;
}

struct conj_list *
conj_list_own(struct conj_list *l, size_t room)
{
    if (!l) {
        return conj_list_alloc(room > 4 ? room : 4);
    }
    if (l->refs > 1) {
        /* Shared with a table: copy on write. */
        size_t allocated = l->n + l->n / 8 + room + 2;
        struct conj_list *copy = conj_list_alloc(allocated);
        copy->n = l->n;
        memcpy(copy->v, l->v, l->n * sizeof *l->v);
        l->refs--;
        return copy;
    }
    if (l->n + room > l->allocated) {
        size_t allocated = 2 * l->allocated;
        if (allocated < l->n + room) {
            allocated = l->n + room;
        }
        l = xrealloc(l, sizeof *l + allocated * sizeof *l->v);
        l->allocated = allocated;
    }
    return l;
}

void
conj_list_unref(struct conj_list *l)
{
    if (l && !--l->refs) {
        free(l);
    }
}

/* 'e''s actions as text: its own, or its conjunctions formatted into
 * '*buf' (freed and replaced; the caller frees the last). */
static const char *
flow_actions(const struct flow_entry *e, char **buf)
{
    if (e->form != FORM_CONJ) {
        return e->actions;
    }
    free(*buf);
    *buf = np_conj_format(e->conj, e->n_conj);
    return *buf;
}

static struct flow_entry *
flow_ref(struct flow_entry *e)
{
    e->n_refs++;
    return e;
}

static void
flow_unref(struct flow_entry *e)
{
    if (e && !--e->n_refs) {
        conj_list_unref(e->list);
        free(e);
    }
}

static bool
flow_same_id(const struct flow_entry *e, uint32_t hash, uint8_t table,
             uint16_t priority, const char *match)
{
    return (e->hash == hash && e->table == table && e->priority == priority
            && !strcmp(e->match, match));
}

static bool
flow_same_value(const struct flow_entry *a, const struct flow_entry *b)
{
    if (a == b) {
        return true;
    } else if (a->cookie != b->cookie) {
        return false;
    } else if (a->form == FORM_TEXT && b->form == FORM_TEXT) {
        return !strcmp(a->actions, b->actions);
    } else if (a->form == FORM_CONJ && b->form == FORM_CONJ) {
        return (a->n_conj == b->n_conj
                && !memcmp(a->conj, b->conj, a->n_conj * sizeof *a->conj));
    }
    /* One of each (a table the compiler made against the engine's): as
     * the switch would see them. */
    char *ba = NULL, *bb = NULL;
    bool same = !strcmp(flow_actions(a, &ba), flow_actions(b, &bb));
    free(ba);
    free(bb);
    return same;
}

/* ---- Sets of flows. ---- */

static void
map_init(struct flow_map *m)
{
    memset(m, 0, sizeof *m);
}

/* Drops the map's references (the flows stay if others hold them). */
static void
map_destroy(struct flow_map *m)
{
    FLOW_MAP_FOR_EACH (s, m) {
        flow_unref(s->flow);
    }
    free(m->slots);
    map_init(m);
}

/* Returns the slot of the flow with this identity, or the empty slot where
 * it would go, or NULL if 'm' has no slots. */
static struct flow_slot *
map_lookup(const struct flow_map *m, uint32_t hash, uint8_t table,
           uint16_t priority, const char *match)
{
    if (!m->slots) {
        return NULL;
    }
    for (size_t i = hash & m->mask; ; i = (i + 1) & m->mask) {
        struct flow_slot *s = &m->slots[i];
        if (!s->flow
            || (s->hash == hash
                && flow_same_id(s->flow, hash, table, priority, match))) {
            return s;
        }
    }
}

/* The same, for the identity of 'e'; a table that shares 'e' finds it by
 * its address. */
static struct flow_slot *
map_lookup_flow(const struct flow_map *m, const struct flow_entry *e)
{
    if (!m->slots) {
        return NULL;
    }
    for (size_t i = e->hash & m->mask; ; i = (i + 1) & m->mask) {
        struct flow_slot *s = &m->slots[i];
        if (!s->flow || s->flow == e
            || (s->hash == e->hash
                && flow_same_id(s->flow, e->hash, e->table, e->priority,
                                e->match))) {
            return s;
        }
    }
}

/* The flow of 'm' with the identity of 'e', or NULL. */
static struct flow_entry *
map_get(const struct flow_map *m, const struct flow_entry *e)
{
    struct flow_slot *s = map_lookup_flow(m, e);
    return s ? s->flow : NULL;
}

/* Adds 'e', whose identity is not in 'm', taking over the caller's
 * reference; returns its slot. */
static struct flow_slot *
map_insert(struct flow_map *m, struct flow_entry *e, uint32_t stamp)
{
    if ((m->n + 1) * 4 > (m->slots ? m->mask + 1 : 0) * 3) {
        struct flow_map bigger = { .mask = m->slots ? m->mask * 2 + 1 : 15 };
        bigger.slots = xcalloc(bigger.mask + 1, sizeof *bigger.slots);
        FLOW_MAP_FOR_EACH (s, m) {
            *map_lookup_flow(&bigger, s->flow) = *s;
        }
        bigger.n = m->n;
        memcpy(bigger.n_by_table, m->n_by_table, sizeof bigger.n_by_table);
        free(m->slots);
        *m = bigger;
    }
    struct flow_slot *s = map_lookup_flow(m, e);
    *s = (struct flow_slot) { e, e->hash, stamp };
    m->n++;
    m->n_by_table[e->table]++;
    return s;
}

/* Empties slot 's', moving back the slots after it; the caller takes over
 * the reference it held. */
static void
map_delete(struct flow_map *m, struct flow_slot *s)
{
    size_t i = s - m->slots;
    m->n_by_table[s->flow->table]--;
    for (size_t j = (i + 1) & m->mask; m->slots[j].flow;
         j = (j + 1) & m->mask) {
        size_t home = m->slots[j].hash & m->mask;
        /* Move j into the hole at i unless its home lies in (i, j]. */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].flow = NULL;
    m->n--;
}

/* ---- The journal. ---- */

/* Notes that the flow with the identity of 'e' changed: 'e' is what the
 * table now has, or what it had if 'gone'.  The journal holds, for each
 * flow it names, the table's record, or for a flow that is gone a record
 * of the identity alone, so that it never keeps actions alive that no
 * table holds. */
static void
journal_note(struct flowtab *tab, struct flow_entry *e, bool gone)
{
    struct flow_map *j = tab->journal;
    if (!j) {
        return;
    }
    struct flow_slot *s = map_lookup_flow(j, e);
    if (s && s->flow && (gone ? s->flow->form == FORM_ID : s->flow == e)) {
        return;                 /* Already as it would be. */
    }
    struct flow_entry *note = (gone
                               ? flow_create(e->hash, e->table, e->priority,
                                             0, e->match, strlen(e->match),
                                             NULL, NULL)
                               : flow_ref(e));
    if (s && s->flow) {
        flow_unref(s->flow);
        s->flow = note;
    } else {
        map_insert(j, note, 0);
    }
}

/* ---- Tables. ---- */

struct flowtab *
flowtab_create(void)
{
    struct flowtab *tab = xcalloc(1, sizeof *tab);
    map_init(&tab->flows);
    return tab;
}

void
flowtab_clear(struct flowtab *tab)
{
    if (tab->journal) {
        FLOW_MAP_FOR_EACH (s, &tab->flows) {
            journal_note(tab, s->flow, true);
        }
    }
    map_destroy(&tab->flows);
}

void
flowtab_destroy(struct flowtab *tab)
{
    if (tab) {
        map_destroy(&tab->flows);
        if (tab->journal) {
            map_destroy(tab->journal);
            free(tab->journal);
        }
        free(tab);
    }
}

size_t
flowtab_count(const struct flowtab *tab)
{
    return tab->flows.n;
}

size_t
flowtab_count_table(const struct flowtab *tab, uint8_t table)
{
    return tab->flows.n_by_table[table];
}

/* Makes 'e' (a reference the caller gives) the flow of 'tab' with its
 * identity, whose slot is 's' (a full one or where to insert), marking it
 * with 'stamp'; returns true if the table changed. */
static bool
put_flow(struct flowtab *tab, struct flow_slot *s, struct flow_entry *e,
         uint32_t stamp)
{
    if (!s || !s->flow) {
        journal_note(tab, e, false);
        map_insert(&tab->flows, e, stamp);
        return true;
    }
    s->stamp = stamp;
    struct flow_entry *old = s->flow;
    bool changed = !flow_same_value(old, e);
    /* Equal but another record: take it anyway, one copy fewer. */
    s->flow = e;
    if (changed) {
        journal_note(tab, e, false);
    }
    flow_unref(old);
    return changed;
}

static bool
put(struct flowtab *tab, uint8_t table, uint16_t priority, uint64_t cookie,
    const char *match, const char *actions, uint32_t stamp)
{
    size_t len = strlen(match);
    uint32_t hash = flow_hash(table, priority, match, len);
    struct flow_slot *s = map_lookup(&tab->flows, hash, table, priority,
                                     match);
    if (s && s->flow && s->flow->cookie == cookie
        && s->flow->form == FORM_TEXT && !strcmp(s->flow->actions, actions)) {
        s->stamp = stamp;       /* The common case: nothing to allocate. */
        return false;
    }
    return put_flow(tab, s, flow_create(hash, table, priority, cookie, match,
                                        len, actions, NULL), stamp);
}

bool
flowtab_set_conj_list(struct flowtab *tab, uint8_t table, uint16_t priority,
                      uint64_t cookie, const char *match, struct conj_list *l)
{
    size_t len = strlen(match);
    uint32_t hash = flow_hash(table, priority, match, len);
    struct flow_slot *s = map_lookup(&tab->flows, hash, table, priority,
                                     match);
    struct flow_entry *e = s ? s->flow : NULL;
    if (e && e->cookie == cookie && e->form == FORM_CONJ
        && (e->list == l
            || (e->n_conj == l->n
                && !memcmp(e->conj, l->v, l->n * sizeof *l->v)))) {
        if (e->list != l) {
            /* Equal, but another copy: keep one.  Every holder of the
             * record sees the same conjunctions. */
            l->refs++;
            conj_list_unref(e->list);
            e->list = l;
            e->conj = l->v;
        }
        s->stamp = tab->stamp;
        return false;
    }
    l->refs++;
    return put_flow(tab, s, flow_create(hash, table, priority, cookie, match,
                                        len, NULL, l), tab->stamp);
}

bool
flowtab_set_conj(struct flowtab *tab, uint8_t table, uint16_t priority,
                 uint64_t cookie, const char *match, const uint64_t *conj,
                 size_t n_conj)
{
    struct conj_list *l = conj_list_own(NULL, n_conj);
    memcpy(l->v, conj, n_conj * sizeof *conj);
    l->n = n_conj;
    bool changed = flowtab_set_conj_list(tab, table, priority, cookie, match,
                                         l);
    conj_list_unref(l);
    return changed;
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
    return put(tab, table, priority, cookie, match, actions, tab->stamp);
}

static void
remove_slot(struct flowtab *tab, struct flow_slot *s)
{
    struct flow_entry *e = s->flow;
    journal_note(tab, e, true);
    map_delete(&tab->flows, s);
    flow_unref(e);
}

bool
flowtab_remove(struct flowtab *tab, uint8_t table, uint16_t priority,
               const char *match)
{
    uint32_t hash = flow_hash(table, priority, match, strlen(match));
    struct flow_slot *s = map_lookup(&tab->flows, hash, table, priority,
                                     match);
    if (!s || !s->flow) {
        return false;
    }
    remove_slot(tab, s);
    return true;
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
    if (!++tab->stamp) {
        /* Wrapped: no slot may keep a stamp this pass could reuse. */
        FLOW_MAP_FOR_EACH (s, &tab->flows) {
            s->stamp = 0;
        }
        tab->stamp = 1;
    }
    uint32_t stamp = tab->stamp;
    size_t n_changed = 0;
    for (size_t i = 0; i < fs->n_flows; i++) {
        const struct np_flow *f = &fs->flows[i];
        n_changed += put(tab, f->table, f->priority, f->cookie, f->match,
                         f->actions, stamp);
    }
    if (tab->flows.n == fs->n_flows) {
        return n_changed;       /* Nothing left over (keys are unique). */
    }
    /* A deletion moves later slots back, maybe into this one: look again
     * before moving on.  (One from the start of the array may move to its
     * end and be seen twice, harmlessly: it stays.) */
    struct flow_map *m = &tab->flows;
    for (size_t i = 0; m->slots && i <= m->mask; ) {
        struct flow_slot *s = &m->slots[i];
        if (s->flow && s->stamp != stamp) {
            remove_slot(tab, s);
            n_changed++;
        } else {
            i++;
        }
    }
    return n_changed;
}

struct flowtab *
flowtab_clone(const struct flowtab *tab)
{
    struct flowtab *copy = flowtab_create();
    const struct flow_map *m = &tab->flows;
    if (m->slots) {
        size_t size = (m->mask + 1) * sizeof *m->slots;
        copy->flows = *m;
        copy->flows.slots = xmalloc(size);
        memcpy(copy->flows.slots, m->slots, size);
        FLOW_MAP_FOR_EACH (s, &copy->flows) {
            flow_ref(s->flow);
        }
    }
    copy->stamp = tab->stamp;
    return copy;
}

/* ---- Differences. ---- */

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

static struct flow_change
make_change(enum flow_change_type type, struct flow_entry *e)
{
    return (struct flow_change) {
        .type = type,
        .table = e->table, .priority = e->priority, .cookie = e->cookie,
        .match = e->match, .actions = e->actions,
        .flow = e,
    };
}

/* Sorts the 'n' changes of 'changes'.  Those of flows held as
 * conjunctions keep NULL 'actions': the installer passes them packed, and
 * formatting every changed flow's list was most of a large commit. */
static struct flow_change *
changes_finish(struct flow_change *changes, size_t n)
{
    np_qsort(changes, n, sizeof *changes, compare_changes);
    return changes;
}

const char *
flowtab_change_actions(const struct flow_change *c, char **buf)
{
    if (c->actions || !c->flow) {
        return c->actions;
    }
    return flow_actions(c->flow, buf);
}

void
flowtab_diff(const struct flowtab *from, const struct flowtab *to,
             struct flow_change **changes_, size_t *n_)
{
    struct flow_change *changes = NULL;
    size_t n = 0, allocated = 0;
    FLOW_MAP_FOR_EACH (s, &to->flows) {
        const struct flow_entry *f = map_get(&from->flows, s->flow);
        if (f && flow_same_value(f, s->flow)) {
            continue;
        }
        APPEND(changes, n, allocated,
               make_change(f ? FLOW_MODIFY : FLOW_ADD, s->flow));
    }
    FLOW_MAP_FOR_EACH (s, &from->flows) {
        if (!map_get(&to->flows, s->flow)) {
            APPEND(changes, n, allocated, make_change(FLOW_DELETE, s->flow));
        }
    }
    *changes_ = changes_finish(changes, n);
    *n_ = n;
}

void
flowtab_journal_start(struct flowtab *tab)
{
    if (!tab->journal) {
        tab->journal = xmalloc(sizeof *tab->journal);
        map_init(tab->journal);
    }
}

void
flowtab_journal_clear(struct flowtab *tab)
{
    if (tab->journal) {
        map_destroy(tab->journal);
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
    if (to->journal) {
        FLOW_MAP_FOR_EACH (s, to->journal) {
            struct flow_entry *t = map_get(&to->flows, s->flow);
            struct flow_entry *f = map_get(&from->flows, s->flow);
            if (t && f && flow_same_value(f, t)) {
                continue;       /* Changed and changed back. */
            }
            if (!t && !f) {
                continue;       /* Came and went. */
            }
            APPEND(changes, n, allocated,
                   make_change(!t ? FLOW_DELETE : f ? FLOW_MODIFY : FLOW_ADD,
                               t ? t : f));
        }
    }
    *changes_ = changes_finish(changes, n);
    flowtab_journal_clear(to);
    *n_ = n;
}

void
flowtab_changes_hold(struct flow_change *changes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct flow_change *c = &changes[i];
        if (c->flow && !c->held) {
            /* Strings replaced since the difference was made would make
             * the record a stranger to the change. */
            assert(c->match == c->flow->match
                   && (c->flow->form == FORM_CONJ
                       || c->actions == c->flow->actions));
            flow_ref(c->flow);
            c->held = true;
        }
    }
}

void
flowtab_changes_free(struct flow_change *changes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (changes[i].held) {
            flow_unref(changes[i].flow);
        }
    }
    free(changes);
}

void
flowtab_apply(struct flowtab *tab, const struct flow_change *changes,
              size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct flow_change *c = &changes[i];
        if (c->type == FLOW_DELETE) {
            flowtab_remove(tab, c->table, c->priority, c->match);
        } else if (c->held) {
            assert(c->cookie == c->flow->cookie);
            put_flow(tab, map_lookup_flow(&tab->flows, c->flow),
                     flow_ref(c->flow), tab->stamp);
        } else if (!c->actions && c->flow && c->flow->form == FORM_CONJ) {
            flowtab_set_conj(tab, c->table, c->priority, c->cookie, c->match,
                             c->flow->conj, c->flow->n_conj);
        } else {
            flowtab_set(tab, c->table, c->priority, c->cookie, c->match,
                        c->actions);
        }
    }
}

bool
flowtab_equal(const struct flowtab *a, const struct flowtab *b)
{
    if (a->flows.n != b->flows.n) {
        return false;
    }
    FLOW_MAP_FOR_EACH (s, &a->flows) {
        const struct flow_entry *e = map_get(&b->flows, s->flow);
        if (!e || !flow_same_value(e, s->flow)) {
            return false;
        }
    }
    return true;
}

void
flowtab_visit(const struct flowtab *tab, flowtab_visit_fn *cb, void *aux)
{
    char *buf = NULL;
    FLOW_MAP_FOR_EACH (s, &tab->flows) {
        const struct flow_entry *e = s->flow;
        cb(aux, e->table, e->priority, e->cookie, e->match,
           flow_actions(e, &buf));
    }
    free(buf);
}

const uint64_t *
flowtab_change_conj(const struct flow_change *c, size_t *n)
{
    if (c->flow && c->flow->form == FORM_CONJ && c->type != FLOW_DELETE) {
        *n = c->flow->n_conj;
        return c->flow->conj;
    }
    *n = 0;
    return NULL;
}
