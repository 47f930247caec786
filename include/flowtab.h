/* Flow tables as sets: the flows we want (desired) and the flows the
 * switch has (installed), and the difference between them.
 *
 * A flow is identified as OpenFlow identifies it: by (table, priority,
 * match).  Two flows with that identity are the same flow, whatever their
 * cookies and actions, so the difference of two tables is a list of adds,
 * modifications (same identity, other cookie or actions) and deletions.
 *
 * The daemon keeps two tables: 'desired' from the compiler, 'installed'
 * updated only after the switch committed a bundle of the difference, so
 * that a failed or lost bundle is retried rather than forgotten.  Pure: no
 * OVS types, no I/O.
 *
 * The installed table is nearly always the desired one, so the two share
 * their flows: a flow is an immutable, reference-counted record, which a
 * clone, and an apply of held changes, take by reference.  Changing a
 * flow in one table gives that table a new record and leaves the other's
 * alone. */
#ifndef NP_FLOWTAB_H
#define NP_FLOWTAB_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct np_flowset;
struct flow_entry;

enum flow_change_type {
    FLOW_ADD,                   /* Not installed yet. */
    FLOW_MODIFY,                /* Installed with another cookie/actions. */
    FLOW_DELETE,                /* Installed but no longer desired. */
};

/* One element of a difference.  The strings are in 'flow', a record that
 * belongs to the tables the difference was computed from: they live as
 * long as those stay unchanged, or, once flowtab_changes_hold() took a
 * reference to the record, until flowtab_changes_free().  A flow held as
 * conjunctions (flowtab_set_conj()) has NULL 'actions': see
 * flowtab_change_conj() and flowtab_change_actions(). */
struct flow_change {
    enum flow_change_type type;
    uint8_t table;
    uint16_t priority;
    uint64_t cookie;
    const char *match;
    const char *actions;        /* The new actions (old ones for DELETE). */
    struct flow_entry *flow;    /* NULL in a change made by hand. */
    bool held;                  /* The change holds a reference to 'flow'. */
};

struct flowtab;

struct flowtab *flowtab_create(void);
void flowtab_destroy(struct flowtab *);
void flowtab_clear(struct flowtab *);
/* A table with the flows of the argument, shared, and no journal. */
struct flowtab *flowtab_clone(const struct flowtab *);
size_t flowtab_count(const struct flowtab *);
/* The flows in OpenFlow table 'table': kept as flows come and go, so
 * this costs nothing whatever the size of the table. */
size_t flowtab_count_table(const struct flowtab *, uint8_t table);

/* Replaces the contents of 'tab' by copies of the flows of 'fs'. */
void flowtab_assign(struct flowtab *tab, const struct np_flowset *fs);
/* Makes 'tab' hold exactly the flows of 'fs', touching only what differs;
 * returns the number of flows added, changed or removed. */
size_t flowtab_sync(struct flowtab *tab, const struct np_flowset *fs);
/* Adds or replaces one flow (copies the strings). */
void flowtab_put(struct flowtab *, uint8_t table, uint16_t priority,
                 uint64_t cookie, const char *match, const char *actions);
/* The same; returns true if the table changed. */
bool flowtab_set(struct flowtab *, uint8_t table, uint16_t priority,
                 uint64_t cookie, const char *match, const char *actions);
/* A list of packed conjunctions that a table's flow and its maker share:
 * a count of references, changed in place only by a sole holder
 * (conj_list_own()), so that the engine's list for a flow and the flow in
 * the desired and installed tables are one copy while they agree. */
struct conj_list {
    uint32_t refs;
    uint32_t n, allocated;
    uint64_t v[];
};

/* A list of the caller's alone with room for 'room' more: 'l' itself if
 * the caller is its sole holder (grown if need be), else a copy (and the
 * caller's reference to 'l' is dropped); a new one if 'l' is NULL. */
struct conj_list *conj_list_own(struct conj_list *l, size_t room);
void conj_list_unref(struct conj_list *);

/* flowtab_set_conj() of the conjunctions of 'l' (ascending, no repeats),
 * taking a reference to it rather than copying them. */
bool flowtab_set_conj_list(struct flowtab *, uint8_t table,
                           uint16_t priority, uint64_t cookie,
                           const char *match, struct conj_list *l);
/* flowtab_set() of a flow whose actions are the 'n_conj' conjunction()s
 * of 'conj' (np_conj_pack()s, ascending, no repeats): held as they are,
 * 8 bytes each, and made text only for the flows a difference or a visit
 * returns. */
bool flowtab_set_conj(struct flowtab *, uint8_t table, uint16_t priority,
                      uint64_t cookie, const char *match,
                      const uint64_t *conj, size_t n_conj);
/* Removes a flow; returns false if there was none. */
bool flowtab_remove(struct flowtab *, uint8_t table, uint16_t priority,
                    const char *match);

/* Computes the changes that turn 'from' into 'to', in a stable order
 * (deletions, then additions and modifications, each by table, descending
 * priority, match).  Stores a malloc'd array in '*changes' (free() it) and
 * its length in '*n'. */
void flowtab_diff(const struct flowtab *from, const struct flowtab *to,
                  struct flow_change **changes, size_t *n);

/* The journal: from flowtab_journal_start() on, 'tab' notes the identity
 * of every flow that any call changes, so that the difference from a
 * table that was equal to it when the journal was last cleared takes the
 * work of what changed, not of the whole table.  The daemon's installed
 * table copies the desired one and then follows it by these differences. */
void flowtab_journal_start(struct flowtab *);
void flowtab_journal_clear(struct flowtab *);
size_t flowtab_journal_size(const struct flowtab *);
/* The changes that turn 'from' into 'to', looking only at the flows 'to''s
 * journal names, in flowtab_diff()'s order; clears the journal.  Equals
 * flowtab_diff(from, to) when 'from' equals 'to' everywhere else, i.e.
 * when 'from' was equal to 'to' when the journal was last cleared and got
 * every change this returned since. */
void flowtab_diff_journal(const struct flowtab *from, struct flowtab *to,
                          struct flow_change **changes, size_t *n);

/* Makes 'changes' (from flowtab_diff() or flowtab_diff_journal(), with
 * their strings as they came) independent of the tables they came from:
 * a commit takes time, and the table it was computed from changes
 * meanwhile.  Costs a reference per change, not a copy. */
void flowtab_changes_hold(struct flow_change *changes, size_t n);
/* Releases what flowtab_changes_hold() took, if it was called, and frees
 * the array of a difference. */
void flowtab_changes_free(struct flow_change *changes, size_t n);

/* Applies 'changes' to 'tab'.  'tab' shares the records of held changes,
 * so that a table that follows another by its differences (the installed
 * table) costs no second copy of its flows.  It copies the strings of the
 * others: a caller may have replaced them by its own copies, and then
 * their records may be gone. */
void flowtab_apply(struct flowtab *tab, const struct flow_change *changes,
                   size_t n);

bool flowtab_equal(const struct flowtab *, const struct flowtab *);

/* The conjunctions of a change's flow held as such (flowtab_set_conj()),
 * into '*n', or NULL: valid as long as its strings. */
const uint64_t *flowtab_change_conj(const struct flow_change *, size_t *n);
/* A change's actions as text: its 'actions', or its conjunctions
 * formatted into '*buf' (freed and replaced; the caller frees the last). */
const char *flowtab_change_actions(const struct flow_change *, char **buf);

/* Calls 'cb' for every flow, in no particular order.  'actions' may be
 * made for the call: copy it to keep it. */
typedef void flowtab_visit_fn(void *aux, uint8_t table, uint16_t priority,
                              uint64_t cookie, const char *match,
                              const char *actions);
void flowtab_visit(const struct flowtab *, flowtab_visit_fn *, void *aux);

#endif
