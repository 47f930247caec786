/* The incremental compiler.  See src/incr.h for what it does, and
 * src/compile.c for the rules it must agree with: that file compiles a
 * whole cluster the simple way, and tests hold the two to the same
 * table. */
#include "incr.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "addr.h"
#include "cluster.h"
#include "cnp.h"
#include "cnp-class.h"
#include "compile-gen.h"
#include "flowtab.h"
#include "labels.h"
#include "np-util.h"
#include "strmap.h"

/* OpenFlow messages hold at most 64 kB: see compile_cluster(). */
#define MAX_CONJ_PER_FLOW 3000
#define MAX_BUCKETS 128

/* ---- Small maps. ---- */

/* Open addressing from an object to a count, hashed by the object's id
 * (so that the order of a walk depends on the events, not on where
 * malloc put things): the sets the engine keeps per rule and per
 * conjunction hold tens of thousands of members, and a key string per
 * member was most of its memory. */
struct idmap_slot {
    void *key;                  /* NULL: empty. */
    uint32_t hash;
    uint32_t value;
};

struct idmap {
    struct idmap_slot *slots;
    size_t n, mask;             /* 'mask' + 1 slots, or none. */
};

#define IDMAP_FOR_EACH(SLOT, MAP)                                       \
    for (struct idmap_slot *SLOT = (MAP)->slots;                        \
         (MAP)->slots && SLOT <= &(MAP)->slots[(MAP)->mask]; SLOT++)    \
        if (SLOT->key)

static uint32_t
id_hash(uint32_t id)
{
    id ^= id >> 16;
    id *= 0x7feb352d;
    id ^= id >> 15;
    id *= 0x846ca68b;
    return id ^ (id >> 16);
}

static void
idmap_init(struct idmap *m)
{
    m->slots = NULL;
    m->n = m->mask = 0;
}

static void
idmap_destroy(struct idmap *m)
{
    free(m->slots);
    idmap_init(m);
}

static struct idmap_slot *
idmap_lookup(const struct idmap *m, const void *key, uint32_t hash)
{
    if (!m->slots) {
        return NULL;
    }
    for (size_t i = hash & m->mask; ; i = (i + 1) & m->mask) {
        struct idmap_slot *s = &m->slots[i];
        if (!s->key || s->key == key) {
            return s;
        }
    }
}

static uint32_t *
idmap_find(const struct idmap *m, const void *key, uint32_t hash)
{
    struct idmap_slot *s = idmap_lookup(m, key, hash);
    return s && s->key ? &s->value : NULL;
}

/* Returns the value of 'key', inserting it with value 0 if absent. */
static uint32_t *
idmap_insert(struct idmap *m, void *key, uint32_t hash, bool *created)
{
    if ((m->n + 1) * 4 > (m->slots ? m->mask + 1 : 0) * 3) {
        struct idmap bigger = { .mask = m->slots ? m->mask * 2 + 1 : 7 };
        bigger.slots = xcalloc(bigger.mask + 1, sizeof *bigger.slots);
        IDMAP_FOR_EACH (s, m) {
            *idmap_lookup(&bigger, s->key, s->hash) = *s;
        }
        bigger.n = m->n;
        free(m->slots);
        *m = bigger;
    }
    struct idmap_slot *s = idmap_lookup(m, key, hash);
    *created = !s->key;
    if (*created) {
        *s = (struct idmap_slot) { key, hash, 0 };
        m->n++;
    }
    return &s->value;
}

/* Removes 'key' (which must be there), moving back the slots after it so
 * that lookups need no tombstones. */
static void
idmap_remove(struct idmap *m, const void *key, uint32_t hash)
{
    struct idmap_slot *s = idmap_lookup(m, key, hash);
    if (!s || !s->key) {
        abort();
    }
    size_t i = s - m->slots;
    for (size_t j = (i + 1) & m->mask; m->slots[j].key;
         j = (j + 1) & m->mask) {
        size_t home = m->slots[j].hash & m->mask;
        /* Move j into the hole at i unless its home lies in (i, j]. */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = NULL;
    m->n--;
}

/* Sets of pods: as an idmap without counts or stored hashes (the pod has
 * its own), 8 bytes a slot: a pod is in a set per peer set, label and
 * policy that has it, millions at 50k pods. */
struct ipod;

struct podset_slot {
    struct ipod *key;           /* NULL: empty. */
};

struct podset {
    struct podset_slot *slots;
    size_t n, mask;             /* 'mask' + 1 slots, or none. */
};

#define PODSET_FOR_EACH(SLOT, SET)                                      \
    for (struct podset_slot *SLOT = (SET)->slots;                       \
         (SET)->slots && SLOT <= &(SET)->slots[(SET)->mask]; SLOT++)    \
        if (SLOT->key)

static void
podset_init(struct podset *s)
{
    s->slots = NULL;
    s->n = s->mask = 0;
}

static void
podset_destroy(struct podset *s)
{
    free(s->slots);
    podset_init(s);
}

/* A match, interned: pods share their address matches among every set
 * they are in. */
struct imatch {
    uint32_t id;
    uint32_t refs;
    char *text;                 /* The key in 'matches'. */
};

/* ---- Flows as the merge of entries. ---- */

/* Who made an entry, in the order compile_once() makes flows: where two
 * entries with actions of their own meet on one flow, the first wins. */
enum owner_class {
    OC_INFRA, OC_SPOOF, OC_ORPHAN, OC_UNBOUND, OC_NODE, OC_POLICY, OC_DENY,
    OC_TIERS,
};

struct owner {
    uint8_t class;
    const char *ns, *name;
};

struct payload {
    uint64_t cookie;
    char *actions;
};

/* An entry with actions of its own; a clause's entry is just its
 * np_conj_pack() (unique on its flow: a set holds a match once). */
struct entry {
    const struct owner *owner;
    uint64_t seq;               /* Order within the owner. */
    const struct payload *pl;
};

struct fkey {
    uint8_t table;
    uint16_t priority;
    uint32_t hash;
    struct imatch *m;           /* Holds a reference. */
    const char *match;          /* m->text. */
    struct entry *e;            /* Entries with actions of their own. */
    struct conj_list *conj;     /* Clause entries (most of them), in
                                 * order, or NULL; shared with the desired
                                 * table's flow. */
    uint64_t *ops;              /* Clause entries added (or, with
                                 * OP_REMOVE, removed) since the merge. */
    uint32_t n, allocated, n_ops, allocated_ops;
    bool dirty;
};

/* An op is an np_conj_pack() (48 bits: ids are 32) shifted left by one,
 * with this bit for a removal: ops sort by entry, additions first. */
#define OP_REMOVE 1

/* ---- Units: flows made whole by a generator. ---- */

struct ucontrib {
    struct fkey *key;
    struct payload *pl;
    uint64_t seq;
};

struct unit {
    struct owner owner;
    struct ucontrib *c;
    size_t n, allocated;
};

/* ---- Policies. ---- */

/* A set of a conjunction: its matches, counted (two pods may share an
 * address), and how many entries compile_cluster() would count for it
 * (before merging), which the flow limit is about. */
struct dim {
    struct idmap m;             /* imatch -> count. */
    size_t n_entries;
};

struct irule;

struct iconj {
    struct irule *r;
    const struct np_port *named;        /* NULL: the numeric conjunction. */
    size_t name_idx;
    uint16_t number;
    uint8_t n_dims;
    int8_t d_sel, d_peer, d_dst, d_port;        /* Index, or -1. */
    struct dim dims[3];
    bool dst_field[3];          /* Match on the destination address. */
    struct podset dmembers;     /* Named: the ipods in 'd_dst'. */
    bool active;                /* Its entries are in the table. */
    /* The audit copies of what it allows (np_gen_audit_allow()), in the
     * table while it is active and its namespace audits allows. */
    struct unit audit;
    bool audited;
    uint32_t id;                /* 0 until first active. */
    uint16_t priority;
    struct payload pl;
    uint64_t seq;
};

struct ipol;

/* The pods a rule's pod peers select, as OVN's address sets: shared by
 * every rule whose pod peers read the same (and that match the same
 * address field), so that a pod joins it once however many rules name it
 * and a rule that wakes finds it filled when another already follows it.
 * A rule's ipBlocks stay its own (its conjunctions' peer dimension holds
 * them).  Followed only while one of its rules is awake. */
struct pset {
    char *key;
    const struct irule *rep;    /* A user: whose peers it evaluates. */
    bool dst;                   /* Matches the destination address. */
    struct podset pods;
    size_t n_entries;           /* Their addresses (a conjunction's peer
                                 * dimension counts them). */
    struct irule **users, **awake;
    size_t n_users, allocated_users, n_awake, allocated_awake;
    char **anchors;
    size_t n_anchors;
    uint64_t mark;
};

struct irule {
    struct ipol *p;
    const struct np_rule *rule;
    bool ingress;
    size_t idx;
    char *what;
    uint8_t table;
    bool wildcard;
    struct pset *ps;            /* NULL: no pod peers. */
    struct cidr_diff *diffs;
    size_t n_diffs;
    size_t n_cidrs;
    struct cidr *cidrs;         /* Listed unless the policy never fits. */
    bool listed;
    char **pmatches;            /* Numeric port matches, repeats kept. */
    size_t n_pmatches, allocated_pmatches;
    const struct np_port **names;       /* Distinct (name, protocol). */
    size_t n_names;
    struct iconj *c0;
    struct strmap named;        /* "idx/number" -> iconj. */
    uint64_t mark;
};

struct ipol {
    struct owner owner;
    char *key;
    const struct k8s_netpol *np;
    uint32_t pno;
    struct irule *rules;
    size_t n_rules;
    struct podset sel;          /* The local pods it selects. */
    size_t n_sel_addrs;
    size_t n_v4_blocks, n_v6_blocks;
    bool hopeless;              /* Its CIDRs alone are over the limit. */
    bool fits;
    bool touched;
    char *rejected;             /* As of the last run. */
    size_t rejected_flows;
    char **warnings;
    size_t n_warnings;
};

/* ---- Pods. ---- */

enum member_kind { M_SEL, M_PEER, M_NDST };

struct pmember {               /* 16 bytes: there are millions. */
    void *target;               /* ipol, pset, iconj. */
    uint32_t mask;              /* M_NDST: which addresses. */
    uint8_t kind;
};

#define MAX_POD_IPS 32

struct ipod {
    uint32_t id;
    uint32_t hash;              /* id_hash(id), for its sets. */
    char *key, *ns, *name;
    struct ins *ins;            /* Its namespace's (they last as long as
                                 * the engine): looked up once. */
    const struct k8s_pod *pod;  /* While 'in'. */
    bool in;                    /* In the sets, as 'ips'. */
    bool pending;
    bool deny_dirty;
    bool on_node;
    bool gone;                  /* In 'gone'. */
    bool ns_pending;            /* In 'ns_pending'. */
    struct ip_addr *ips;
    size_t n_ips;
    struct imatch **mt[2];      /* Per address: its source and
                                 * destination match. */
    bool indexed;               /* In 'label_index', by x->pod's labels
                                 * (which stay while it is 'in'). */
    struct pmember *m;
    size_t n_m, allocated_m;
    struct ipol **iso[2];
    size_t n_iso[2], allocated_iso[2];
    struct units *u;            /* NULL: no flows of its own (remote pods:
                                 * most of the cluster). */
    /* ClusterNetworkPolicy classes (cnp-class.h), while 'in' and
     * eligible: the slots that select it, and the classes its addresses'
     * classifying flows carry for it (caddr_set()). */
    uint64_t *cls;
    size_t n_cls_words;
    uint32_t cmask[2];
    bool csubject;              /* Local, and some policy's subject. */
    bool cls_pending;           /* In 'cls_pending'. */
};

struct units {
    struct unit spoof, orphan, deny;
};

static struct podset_slot *
podset_lookup(const struct podset *s, const struct ipod *x)
{
    if (!s->slots) {
        return NULL;
    }
    for (size_t i = x->hash & s->mask; ; i = (i + 1) & s->mask) {
        struct podset_slot *slot = &s->slots[i];
        if (!slot->key || slot->key == x) {
            return slot;
        }
    }
}

static bool
podset_has(const struct podset *s, const struct ipod *x)
{
    const struct podset_slot *slot = podset_lookup(s, x);
    return slot && slot->key;
}

/* Adds 'x'; returns false if it was there. */
static bool
podset_insert(struct podset *s, struct ipod *x)
{
    if ((s->n + 1) * 4 > (s->slots ? s->mask + 1 : 0) * 3) {
        struct podset bigger = { .mask = s->slots ? s->mask * 2 + 1 : 7 };
        bigger.slots = xcalloc(bigger.mask + 1, sizeof *bigger.slots);
        PODSET_FOR_EACH (slot, s) {
            *podset_lookup(&bigger, slot->key) = *slot;
        }
        bigger.n = s->n;
        free(s->slots);
        *s = bigger;
    }
    struct podset_slot *slot = podset_lookup(s, x);
    if (slot->key) {
        return false;
    }
    slot->key = x;
    s->n++;
    return true;
}

/* Removes 'x' (which must be there), moving back the slots after it. */
static void
podset_remove(struct podset *s, const struct ipod *x)
{
    struct podset_slot *slot = podset_lookup(s, x);
    if (!slot || !slot->key) {
        abort();
    }
    size_t i = slot - s->slots;
    for (size_t j = (i + 1) & s->mask; s->slots[j].key;
         j = (j + 1) & s->mask) {
        size_t home = s->slots[j].key->hash & s->mask;
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i].key = NULL;
    s->n--;
}

struct ins {
    char *name;
    struct labels labels;       /* As selectors see them (ns_refresh()). */
    int audit;                  /* compile_audit_mode(), enum np_audit. */
    struct podset pods;         /* Those 'in'. */
    struct strmap pols;         /* Key -> ipol. */
};

struct ref_list {
    struct irule **r;
    size_t n, allocated;
};

struct pset_list {
    struct pset **s;
    size_t n, allocated;
};

struct incr {
    const struct compile_options *opts;
    struct compile_options gopts;       /* 'opts' with our buckets. */
    const struct cluster *cluster;
    struct flowtab *desired;
    unsigned int buckets;
    bool v4, v6;                /* Families the table is made for. */
    size_t n_v4, n_v6;          /* Pod addresses and blocks, per family. */
    bool full;                  /* Build everything at the next run. */
    bool bulk;                  /* Building: no entries until the sweep. */
    bool need_buckets;
    bool wiping;                /* Taking everything down: entries are
                                 * dropped key by key afterwards. */

    struct fkey **keys;         /* Open addressing by (match, table, */
    size_t n_keys, keys_mask;   /* priority); 'keys_mask' + 1 slots. */
    struct fkey **dirty;
    size_t n_dirty, allocated_dirty;

    struct strmap pods;         /* Key -> ipod. */
    struct strmap nss;          /* Name -> ins. */
    struct strmap pols;         /* Key -> ipol. */
    struct strmap label_index;  /* "k=v" -> podset of eligible ipods. */
    struct strmap matches;      /* Text -> imatch. */
    uint32_t next_match_id, next_pod_id;
    struct strmap psets;        /* Key -> pset. */
    struct strmap peer_index;   /* Anchor -> pset_list. */
    struct ref_list named_egress;       /* Egress rules with named ports
                                         * and ipBlocks or no 'to'. */
    struct unit infra, node;
    /* The ClusterNetworkPolicy tiers, in their own tables, so no entry of
     * theirs meets another's.  The classes (cnp-class.h) are counted as
     * pods come and go; each address some class selects has its
     * classifying flow, a unit of its own ('caddrs'); the rules are one
     * unit, compile_tier_rules() again after an event that changes them:
     * a policy or Node event, new bits, or an event of a pod that the
     * rules name one by one (a subject, a member of a class without a
     * bit or that resolves named ports; cnp_classes_in_rules()).  An
     * event of a pod that only classes with bits select changes its
     * addresses' classifying flows and nothing else. */
    struct cnp_classes classes;
    bool cnps_changed;          /* Sync the classes at the next run. */
    bool classes_dirty;         /* A count crossed the threshold. */
    bool rules_dirty;
    bool class_flows;           /* Some subject selects a local pod (as of
                                 * the last rules build): the classifying
                                 * flows belong in the table. */
    struct strmap caddrs;       /* Address match -> caddr. */
    struct ipod **cls_pending;
    size_t n_cls_pending, allocated_cls_pending;
    struct unit tiers;          /* The rules. */
    bool tiers_v4, tiers_v6;    /* np_cnp_families() at the last change. */
    struct np_flowset tiers_out;        /* Its warnings and names. */
    struct strmap unbound;      /* Port -> struct uport: the drops of a
                                 * port that carries no pod
                                 * (opts->unbound_ports). */

    struct ipod **pending;
    size_t n_pending, allocated_pending;
    struct strmap pending_pols; /* Key -> (void *) 1. */
    struct ipol **touched;
    size_t n_touched, allocated_touched;
    struct ipod **deny_dirty;
    size_t n_deny_dirty, allocated_deny_dirty;
    struct ipod **ns_pending;   /* Pods whose namespace was relabelled. */
    size_t n_ns_pending, allocated_ns_pending;
    struct ipod **gone;         /* Records that may be freed after a run. */
    size_t n_gone, allocated_gone;
    uint64_t mark;

    char **names;               /* Policy number -> key (not owned). */
    size_t n_names;
    bool lists_stale;
    char **warnings;
    size_t n_warnings;
    struct np_rejected *rejected;
    size_t n_rejected;
    char *bucket_warning;

    struct incr_stats stats;
};

/* ---- Entries and keys. ---- */

static struct imatch *match_get(struct incr *, const char *text);
static struct ins *ns_get(struct incr *, const char *name);
static void conj_audit_sync(struct incr *, struct iconj *);
static void match_release(struct incr *, struct imatch *);

static uint32_t
fkey_hash(const struct imatch *m, uint8_t table, uint16_t priority)
{
    return id_hash(m->id ^ ((uint32_t) table << 24) ^ priority) ^ priority;
}

static struct fkey **
key_slot(const struct incr *in, const struct imatch *m, uint8_t table,
         uint16_t priority, uint32_t hash)
{
    for (size_t i = hash & in->keys_mask; ; i = (i + 1) & in->keys_mask) {
        struct fkey *fk = in->keys[i];
        if (!fk || (fk->m == m && fk->table == table
                    && fk->priority == priority)) {
            return &in->keys[i];
        }
    }
}

/* The flow (table, priority, match 'm'), created empty if need be: the
 * hot path of every entry, so no text is formatted or hashed here. */
static struct fkey *
key_get_m(struct incr *in, uint8_t table, uint16_t priority, struct imatch *m)
{
    if ((in->n_keys + 1) * 4 > (in->keys_mask + 1) * 3) {
        size_t mask = in->keys_mask * 2 + 1;
        struct fkey **old = in->keys;
        size_t old_n = in->keys_mask + 1;
        in->keys = xcalloc(mask + 1, sizeof *in->keys);
        in->keys_mask = mask;
        for (size_t i = 0; i < old_n; i++) {
            if (old[i]) {
                *key_slot(in, old[i]->m, old[i]->table, old[i]->priority,
                          old[i]->hash) = old[i];
            }
        }
        free(old);
    }
    uint32_t hash = fkey_hash(m, table, priority);
    struct fkey **slot = key_slot(in, m, table, priority, hash);
    if (!*slot) {
        struct fkey *fk = xcalloc(1, sizeof *fk);
        fk->table = table;
        fk->priority = priority;
        fk->hash = hash;
        fk->m = m;
        m->refs++;
        fk->match = m->text;
        *slot = fk;
        in->n_keys++;
    }
    return *slot;
}

static struct fkey *
key_get(struct incr *in, uint8_t table, uint16_t priority, const char *match)
{
    struct imatch *m = match_get(in, match);
    struct fkey *fk = key_get_m(in, table, priority, m);
    match_release(in, m);
    return fk;
}

/* Frees 'fk', moving back the slots after it. */
static void
key_free(struct incr *in, struct fkey *fk)
{
    size_t i = key_slot(in, fk->m, fk->table, fk->priority, fk->hash)
               - in->keys;
    for (size_t j = (i + 1) & in->keys_mask; in->keys[j];
         j = (j + 1) & in->keys_mask) {
        size_t home = in->keys[j]->hash & in->keys_mask;
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            in->keys[i] = in->keys[j];
            i = j;
        }
    }
    in->keys[i] = NULL;
    in->n_keys--;
    match_release(in, fk->m);
    free(fk->e);
    conj_list_unref(fk->conj);
    free(fk->ops);
    free(fk);
}

static void
key_dirty(struct incr *in, struct fkey *fk)
{
    if (!fk->dirty) {
        fk->dirty = true;
        APPEND(in->dirty, in->n_dirty, in->allocated_dirty, fk);
    }
}

/* Sorts 'v' ascending: glibc's qsort() with a comparison callback was
 * most of a run that changed 100,000 flows. */
static void
sort_u64(uint64_t *v, size_t n)
{
    while (n > 16) {
        uint64_t a = v[0], b = v[n / 2], c = v[n - 1];
        uint64_t pivot = (a < b ? (b < c ? b : a < c ? c : a)
                          : (a < c ? a : b < c ? c : b));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (v[i] < pivot) {
                i++;
            }
            while (v[j] > pivot) {
                j--;
            }
            if (i >= j) {
                break;
            }
            uint64_t t = v[i];
            v[i++] = v[j];
            v[j--] = t;
        }
        /* [0, j] <= pivot <= [j + 1, n): recurse on the smaller part. */
        size_t left = j + 1;
        if (left < n - left) {
            sort_u64(v, left);
            v += left;
            n -= left;
        } else {
            sort_u64(v + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        size_t j = i;
        for (; j && v[j - 1] > x; j--) {
            v[j] = v[j - 1];
        }
        v[j] = x;
    }
}

/* Clause entries change by ops noted per flow and applied at its merge,
 * in one pass over the list: a flow that gains or loses many entries in a
 * run (a pod that leaves hundreds of rules' peer sets takes an entry of
 * each off its address's flow) cost a search and a move of the list per
 * entry, which made a storm of relabels quadratic. */
static void
conj_op(struct incr *in, struct fkey *fk, uint64_t op)
{
    if (fk->n_ops >= fk->allocated_ops) {
        fk->allocated_ops = fk->allocated_ops ? 2 * fk->allocated_ops : 4;
        fk->ops = xrealloc(fk->ops, fk->allocated_ops * sizeof *fk->ops);
    }
    fk->ops[fk->n_ops++] = op;
    key_dirty(in, fk);
    in->stats.entries_changed++;
}

static size_t
conj_lower_bound(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Applies 'fk''s ops to its list: a new list, in order (a multiset: two
 * pods with one address put their entry twice), of the size it needs
 * (a storm of relabels takes entries off and puts them back).  The
 * entries between two ops are copied as a block: most merges put one
 * entry into a list of hundreds. */
static void
conj_apply_ops(struct fkey *fk)
{
    if (!fk->n_ops) {
        return;
    }
    sort_u64(fk->ops, fk->n_ops);
    const struct conj_list *old = fk->conj;
    const uint64_t *ov = old ? old->v : NULL;
    size_t n_old = old ? old->n : 0;
    long delta = 0;
    for (size_t j = 0; j < fk->n_ops; j++) {
        delta += fk->ops[j] & OP_REMOVE ? -1 : 1;
    }
    if ((long) n_old + delta < 0) {
        abort();                /* Every entry removed was added. */
    }
    struct conj_list *l = conj_list_own(NULL, n_old + delta);
    size_t i = 0, j = 0;
    while (j < fk->n_ops) {
        uint64_t v = fk->ops[j] >> 1;
        size_t lb = ov ? i + conj_lower_bound(ov + i, n_old - i, v) : 0;
        if (lb > i) {
            memcpy(&l->v[l->n], ov + i, (lb - i) * sizeof *ov);
            l->n += lb - i;
            i = lb;
        }
        long count = 0;
        for (; i < n_old && ov[i] == v; i++) {
            count++;
        }
        for (; j < fk->n_ops && fk->ops[j] >> 1 == v; j++) {
            count += fk->ops[j] & OP_REMOVE ? -1 : 1;
        }
        if (count < 0) {
            abort();            /* Every entry removed was added. */
        }
        for (; count; count--) {
            l->v[l->n++] = v;
        }
    }
    if (n_old > i) {
        memcpy(&l->v[l->n], ov + i, (n_old - i) * sizeof *ov);
        l->n += n_old - i;
    }
    conj_list_unref(fk->conj);
    fk->conj = l;
    free(fk->ops);
    fk->ops = NULL;
    fk->n_ops = fk->allocated_ops = 0;
}

static void
entry_add(struct incr *in, struct fkey *fk, const struct owner *owner,
          uint64_t seq, uint64_t conj, const struct payload *pl)
{
    if (conj) {
        conj_op(in, fk, conj << 1);
        return;
    }
    if (fk->n >= fk->allocated) {
        fk->allocated = fk->allocated ? 2 * fk->allocated : 1;
        fk->e = xrealloc(fk->e, fk->allocated * sizeof *fk->e);
    }
    fk->e[fk->n++] = (struct entry) { owner, seq, pl };
    key_dirty(in, fk);
    in->stats.entries_changed++;
}

static void
entry_remove(struct incr *in, struct fkey *fk, const struct owner *owner,
             uint64_t seq, uint64_t conj)
{
    if (in->wiping) {
        return;
    }
    if (conj) {
        conj_op(in, fk, conj << 1 | OP_REMOVE);
        return;
    }
    for (size_t i = 0; i < fk->n; i++) {
        const struct entry *e = &fk->e[i];
        if (e->owner == owner && e->seq == seq) {
            fk->e[i] = fk->e[--fk->n];
            key_dirty(in, fk);
            in->stats.entries_changed++;
            return;
        }
    }
    abort();                    /* Every entry removed was added. */
}

static int
owner_cmp(const struct owner *a, const struct owner *b)
{
    if (a->class != b->class) {
        return a->class < b->class ? -1 : 1;
    }
    int cmp = strcmp(a->ns, b->ns);
    return cmp ? cmp : strcmp(a->name, b->name);
}

static bool
entry_first(const struct entry *a, const struct entry *b)
{
    int cmp = a->owner == b->owner ? 0 : owner_cmp(a->owner, b->owner);
    return cmp < 0 || (!cmp && a->seq < b->seq);
}

/* Writes the merge of 'fk''s entries into the desired table; returns
 * whether the table changed.  Frees 'fk' if it has no entries left. */
static bool
key_merge(struct incr *in, struct fkey *fk)
{
    fk->dirty = false;
    in->stats.keys_merged++;
    const struct entry *best = NULL;
    for (size_t i = 0; i < fk->n; i++) {
        const struct entry *e = &fk->e[i];
        if (!best || entry_first(e, best)) {
            best = e;
        }
    }
    conj_apply_ops(fk);
    size_t n_conj = fk->conj ? fk->conj->n : 0;
    bool changed;
    if (best) {
        changed = flowtab_set(in->desired, fk->table, fk->priority,
                              best->pl->cookie, fk->match, best->pl->actions);
    } else if (n_conj) {
        /* The table takes the list itself, unless it repeats an entry. */
        struct conj_list *l = fk->conj, *unique = NULL;
        for (size_t i = 1; i < n_conj; i++) {
            if (l->v[i] == l->v[i - 1]) {
                unique = conj_list_own(NULL, n_conj);
                memcpy(unique->v, l->v, n_conj * sizeof *l->v);
                unique->n = np_conj_sort(unique->v, n_conj);
                l = unique;
                break;
            }
        }
        if (l->n > MAX_CONJ_PER_FLOW) {
            in->need_buckets = true;
        }
        changed = flowtab_set_conj_list(in->desired, fk->table, fk->priority,
                                        np_cookie(&in->gopts, NPC_CLAUSE, 0,
                                                  0),
                                        fk->match, l);
        conj_list_unref(unique);
    } else {
        changed = flowtab_remove(in->desired, fk->table, fk->priority,
                                 fk->match);
        key_free(in, fk);
    }
    return changed;
}

/* ---- Units. ---- */

static void
unit_direct(void *u_, uint8_t table, uint16_t priority, uint64_t cookie,
            const char *match, const char *actions, const char *comment)
{
    (void) comment;             /* The table has no comments. */
    void **aux = u_;
    struct incr *in = aux[0];
    struct unit *u = aux[1];
    struct payload *pl = xmalloc(sizeof *pl);
    pl->cookie = cookie;
    pl->actions = xstrdup(actions);
    struct ucontrib uc = { key_get(in, table, priority, match), pl, u->n };
    APPEND(u->c, u->n, u->allocated, uc);
    entry_add(in, uc.key, &u->owner, uc.seq, 0, pl);
}

static void
unit_clear(struct incr *in, struct unit *u)
{
    for (size_t i = 0; i < u->n; i++) {
        entry_remove(in, u->c[i].key, &u->owner, u->c[i].seq, 0);
        free(u->c[i].pl->actions);
        free(u->c[i].pl);
    }
    u->n = 0;
}

static void
unit_destroy(struct unit *u)
{
    free(u->c);
}

static void
gen_init(struct incr *in, struct unit *u, void *aux[2], struct np_gen *g)
{
    aux[0] = in;
    aux[1] = u;
    *g = (struct np_gen) { &in->gopts, unit_direct, aux };
}

/* ---- Sets. ---- */

static struct imatch *
match_get(struct incr *in, const char *text)
{
    bool created;
    void **slot = strmap_slot(&in->matches, text, &created);
    if (created) {
        struct imatch *m = xmalloc(sizeof *m);
        m->id = ++in->next_match_id;
        m->refs = 0;
        m->text = xstrdup(text);
        *slot = m;
    }
    struct imatch *m = *slot;
    m->refs++;
    return m;
}

static void
match_release(struct incr *in, struct imatch *m)
{
    if (!--m->refs) {
        strmap_remove(&in->matches, m->text);
        free(m->text);
        free(m);
    }
}

static void
dim_init(struct dim *d)
{
    idmap_init(&d->m);
    d->n_entries = 0;
}

static void
dim_destroy(struct incr *in, struct dim *d)
{
    IDMAP_FOR_EACH (slot, &d->m) {
        match_release(in, slot->key);
    }
    idmap_destroy(&d->m);
}

static size_t
conj_dim_size(const struct iconj *c, int k)
{
    /* A rule's CIDRs are counted apart: listed or not (see 'hopeless'). */
    size_t n = c->dims[k].n_entries;
    if (k == c->d_peer) {
        n += c->r->n_cidrs + (c->r->ps ? c->r->ps->n_entries : 0);
    }
    return n;
}

static uint64_t
conj_entry(const struct iconj *c, int k)
{
    return c->n_dims > 1 ? np_conj_pack(c->id, k + 1, c->n_dims) : 0;
}

static void
conj_entry_add(struct incr *in, struct iconj *c, int k, struct imatch *m)
{
    struct fkey *fk = key_get_m(in, c->r->table, c->priority, m);
    entry_add(in, fk, &c->r->p->owner, c->seq, conj_entry(c, k),
              c->n_dims > 1 ? NULL : &c->pl);
}

static void
conj_entry_remove(struct incr *in, struct iconj *c, int k, struct imatch *m)
{
    struct fkey *fk = key_get_m(in, c->r->table, c->priority, m);
    entry_remove(in, fk, &c->r->p->owner, c->seq, conj_entry(c, k));
}

static void
touch(struct incr *in, struct ipol *p)
{
    /* A build touches every policy afterwards, in policy order: the order
     * compile.c numbers rules in. */
    if (!p->touched && !in->bulk) {
        p->touched = true;
        APPEND(in->touched, in->n_touched, in->allocated_touched, p);
    }
}

static void
dim_add(struct incr *in, struct iconj *c, int k, struct imatch *m)
{
    struct dim *d = &c->dims[k];
    bool created;
    uint32_t *count = idmap_insert(&d->m, m, id_hash(m->id), &created);
    (*count)++;
    d->n_entries++;
    if (created) {
        m->refs++;
        if (c->active) {
            conj_entry_add(in, c, k, m);
        }
    }
    touch(in, c->r->p);
}

static void
dim_add_text(struct incr *in, struct iconj *c, int k, const char *text)
{
    struct imatch *m = match_get(in, text);
    dim_add(in, c, k, m);
    match_release(in, m);
}

static void
dim_remove(struct incr *in, struct iconj *c, int k, struct imatch *m)
{
    struct dim *d = &c->dims[k];
    uint32_t *count = idmap_find(&d->m, m, id_hash(m->id));
    if (!count) {
        abort();                /* Every match removed was added. */
    }
    d->n_entries--;
    if (*count == 1) {
        if (c->active) {
            conj_entry_remove(in, c, k, m);
        }
        idmap_remove(&d->m, m, id_hash(m->id));
        match_release(in, m);
    } else {
        (*count)--;
    }
    touch(in, c->r->p);
}

static void
dim_pod(struct incr *in, struct iconj *c, int k, const struct ipod *x,
        uint32_t mask, bool add)
{
    for (size_t i = 0; i < x->n_ips; i++) {
        if (mask & (UINT32_C(1) << i)) {
            (add ? dim_add : dim_remove)(in, c, k,
                                         x->mt[c->dst_field[k]][i]);
        }
    }
}

static uint32_t
all_ips(const struct ipod *x)
{
    return x->n_ips >= 32 ? UINT32_MAX : (UINT32_C(1) << x->n_ips) - 1;
}

/* ---- Conjunctions. ---- */

static bool
conj_complete(const struct iconj *c)
{
    for (int k = 0; k < c->n_dims; k++) {
        if (!conj_dim_size(c, k)) {
            return false;
        }
    }
    return true;
}

static size_t
conj_cost(const struct iconj *c)
{
    size_t sizes[3];
    for (int k = 0; k < c->n_dims; k++) {
        sizes[k] = conj_dim_size(c, k);
    }
    return np_conj_cost(sizes, c->n_dims);
}

static void
conj_set_active(struct incr *in, struct iconj *c, bool active)
{
    if (c->active == active) {
        return;
    }
    if (active && !c->id) {
        struct ipol *p = c->r->p;
        char *key = np_rule_key(p->np, c->r->ingress, c->r->idx, c->named,
                                c->number);
        c->id = np_ids_get(in->opts->ids, key);
        free(key);
        c->priority = np_rule_priority(c->id, in->buckets);
        char actions[128];
        np_rule_actions(&in->gopts, c->r->ingress, c->id, actions);
        c->pl.actions = xstrdup(actions);
    }
    c->active = active;
    for (int k = 0; k < c->n_dims; k++) {
        IDMAP_FOR_EACH (slot, &c->dims[k].m) {
            (active ? conj_entry_add : conj_entry_remove)(in, c, k,
                                                          slot->key);
        }
        /* The peer dimension is the union of the rule's peer set and its
         * own CIDRs: a match in both has its entry twice, which the merge
         * (a sorted, unique conjunction list) makes one. */
        if (k == c->d_peer && c->r->ps) {
            PODSET_FOR_EACH (slot, &c->r->ps->pods) {
                const struct ipod *x = slot->key;
                for (size_t i = 0; i < x->n_ips; i++) {
                    (active ? conj_entry_add : conj_entry_remove)(
                        in, c, k, x->mt[c->r->ps->dst][i]);
                }
            }
        }
    }
    conj_audit_sync(in, c);
    if (c->n_dims > 1) {
        char match[32];
        np_conj_id_match(c->id, match);
        struct fkey *fk = key_get(in, c->r->table, c->priority, match);
        if (active) {
            entry_add(in, fk, &c->r->p->owner, c->seq, 0, &c->pl);
        } else {
            entry_remove(in, fk, &c->r->p->owner, c->seq, 0);
        }
    }
}

/* The order compile.c emits a policy's flows in: direction (egress
 * first), rule, the numeric conjunction, then named ports by name and
 * number. */
static uint64_t
conj_seq(const struct irule *r, bool named, size_t name_idx, uint16_t number)
{
    uint64_t idx = r->idx < (UINT64_C(1) << 22) ? r->idx : (1 << 22) - 1;
    uint64_t ni = name_idx < 255 ? name_idx : 255;
    return ((uint64_t) r->ingress << 63) | (idx << 41)
           | ((uint64_t) named << 40) | (ni << 32) | ((uint64_t) number << 16);
}

/* Puts in or takes out the audit copies of what 'c' allows, as its
 * state and its namespace's audit mode say. */
static void
conj_audit_sync(struct incr *in, struct iconj *c)
{
    const struct ipol *p = c->r->p;
    bool want = c->active && (ns_get(in, p->np->namespace)->audit
                              & NP_AUDIT_ALLOW);
    if (want == c->audited) {
        return;
    }
    c->audited = want;
    if (want) {
        void *aux[2];
        struct np_gen g;
        c->audit.owner = p->owner;
        gen_init(in, &c->audit, aux, &g);
        np_gen_audit_allow(&g, c->r->ingress, c->id, p->pno, c->r->idx,
                           c->r->what);
    } else {
        unit_clear(in, &c->audit);
    }
}

static struct iconj *
conj_create(struct irule *r, const struct np_port *named, size_t name_idx,
            uint16_t number)
{
    struct iconj *c = xcalloc(1, sizeof *c);
    c->r = r;
    c->named = named;
    c->name_idx = name_idx;
    c->number = number;
    c->d_sel = c->d_peer = c->d_dst = c->d_port = -1;
    bool ingress = r->ingress;
    if (!named) {
        c->d_sel = c->n_dims++;
        c->dst_field[c->d_sel] = ingress;
        if (!r->wildcard) {
            c->d_peer = c->n_dims++;
            c->dst_field[c->d_peer] = !ingress;
        }
        if (r->rule->n_ports) {
            c->d_port = c->n_dims++;
        }
    } else {
        c->d_dst = c->n_dims++;
        c->dst_field[c->d_dst] = true;
        if (!ingress) {
            c->d_sel = c->n_dims++;
        } else if (!r->wildcard) {
            c->d_peer = c->n_dims++;
        }
        c->d_port = c->n_dims++;
    }
    for (int k = 0; k < 3; k++) {
        dim_init(&c->dims[k]);
    }
    podset_init(&c->dmembers);
    c->seq = conj_seq(r, named != NULL, name_idx, number);
    return c;
}

static void
conj_destroy(struct incr *in, struct iconj *c)
{
    for (int k = 0; k < 3; k++) {
        dim_destroy(in, &c->dims[k]);
    }
    podset_destroy(&c->dmembers);
    unit_clear(in, &c->audit);
    unit_destroy(&c->audit);
    free(c->pl.actions);
    free(c);
}

struct port_cb_aux {
    struct incr *in;
    struct iconj *c;
};

static void
port_cb(void *aux_, const char *match)
{
    struct port_cb_aux *aux = aux_;
    dim_add_text(aux->in, aux->c, aux->c->d_port, match);
}

/* Puts the rule's CIDRs into 'c''s peer set. */
static void
rule_fill_cidrs(struct incr *in, struct iconj *c)
{
    const struct irule *r = c->r;
    for (size_t i = 0; r->listed && i < r->n_cidrs; i++) {
        char buf[NP_MATCH_MAX];
        np_addr_match(&r->cidrs[i], c->dst_field[c->d_peer], buf);
        dim_add_text(in, c, c->d_peer, buf);
        c->dims[c->d_peer].n_entries--; /* Counted as r->n_cidrs. */
    }
}

/* Fills the sets a conjunction shares with its rule: selected pods,
 * peers, CIDRs, ports. */
static void
conj_fill(struct incr *in, struct iconj *c)
{
    struct irule *r = c->r;
    struct ipol *p = r->p;
    c->pl.cookie = np_rule_cookie(&in->gopts, p->pno, r->ingress, r->idx);
    if (c->d_sel >= 0) {
        PODSET_FOR_EACH (slot, &p->sel) {
            struct ipod *x = slot->key;
            dim_pod(in, c, c->d_sel, x, all_ips(x), true);
        }
    }
    if (c->d_peer >= 0) {
        rule_fill_cidrs(in, c);        /* Its pods are r->ps's. */
    }
    if (c->d_port >= 0) {
        struct port_cb_aux aux = { in, c };
        if (c->named) {
            np_port_matches(in->v4, in->v6, c->named->proto, c->number, 0,
                            port_cb, &aux);
        } else {
            for (size_t i = 0; i < r->n_pmatches; i++) {
                dim_add_text(in, c, c->d_port, r->pmatches[i]);
            }
        }
    }
}

/* ---- Rules and policies. ---- */

static struct iconj *
named_get(struct incr *in, struct irule *r, size_t name_idx, uint16_t number)
{
    char key[32];
    snprintf(key, sizeof key, "%zu/%u", name_idx, number);
    bool created;
    void **slot = strmap_slot(&r->named, key, &created);
    if (created) {
        struct iconj *c = conj_create(r, r->names[name_idx], name_idx,
                                      number);
        *slot = c;
        conj_fill(in, c);
    }
    return *slot;
}


static void
pmatch_cb(void *aux_, const char *match)
{
    struct irule *r = aux_;
    APPEND(r->pmatches, r->n_pmatches, r->allocated_pmatches,
           xstrdup(match));
}

/* Index keys of a selector that a pod (or namespace) it selects must
 * have among its labels: "<prefix>=k=v" per value of its first equality
 * or In, else "<prefix>?k" for its first Exists.  Returns false if the
 * selector requires no label (it may select what has none). */
static bool
selector_anchors(const struct selector *sel, char prefix, char ***out,
                 size_t *n)
{
    size_t allocated = 0;
    if (sel->match_labels.n) {
        const struct label *l = &sel->match_labels.items[0];
        APPEND(*out, *n, allocated,
               xasprintf("%c=%s=%s", prefix, l->key, l->value));
        return true;
    }
    for (size_t i = 0; i < sel->n_exprs; i++) {
        const struct sel_expr *e = &sel->exprs[i];
        if (e->op == SEL_IN) {
            for (size_t j = 0; j < e->n_values; j++) {
                APPEND(*out, *n, allocated,
                       xasprintf("%c=%s=%s", prefix, e->key, e->values[j]));
            }
            return true;
        }
    }
    for (size_t i = 0; i < sel->n_exprs; i++) {
        const struct sel_expr *e = &sel->exprs[i];
        if (e->op == SEL_EXISTS) {
            APPEND(*out, *n, allocated, xasprintf("%c?%s", prefix, e->key));
            return true;
        }
    }
    return false;
}

static void
ref_list_remove(struct ref_list *l, const struct irule *r)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->r[i] == r) {
            l->r[i] = l->r[--l->n];
            return;
        }
    }
}

/* The key of 'r''s peer set: its pod peers as text, with the namespace of
 * those that select in the policy's own, and the address field; NULL if
 * it has none. */
static char *
pset_key(const struct irule *r)
{
    char *key = xstrdup(r->ingress ? "s" : "d");
    bool any = false;
    for (size_t i = 0; i < r->rule->n_peers; i++) {
        const struct np_peer *peer = &r->rule->peers[i];
        if (peer->is_ipblock) {
            continue;
        }
        char *ns = (peer->ns_selector
                    ? selector_to_string(peer->ns_selector)
                    : xstrdup(r->p->np->namespace));
        char *pod = (peer->pod_selector
                     ? selector_to_string(peer->pod_selector)
                     : xstrdup(""));
        char *longer = xasprintf("%s|%c:%s&%s", key,
                                 peer->ns_selector ? 'n' : 'o', ns, pod);
        free(key);
        free(ns);
        free(pod);
        key = longer;
        any = true;
    }
    if (!any) {
        free(key);
        return NULL;
    }
    return key;
}

static void
pset_index(struct incr *in, struct pset *ps)
{
    const struct irule *r = ps->rep;
    const struct np_rule *rule = r->rule;
    for (size_t i = 0; i < rule->n_peers; i++) {
        const struct np_peer *peer = &rule->peers[i];
        if (peer->is_ipblock) {
            continue;
        }
        char **anchors = NULL;
        size_t n = 0;
        if (!(peer->pod_selector
              && selector_anchors(peer->pod_selector, 'p', &anchors, &n))) {
            if (!peer->ns_selector) {
                anchors = xmalloc(sizeof *anchors);
                anchors[n++] = xasprintf("o%s", r->p->np->namespace);
            } else if (!selector_anchors(peer->ns_selector, 'n', &anchors,
                                         &n)) {
                anchors = xmalloc(sizeof *anchors);
                anchors[n++] = xstrdup("*");
            }
        }
        for (size_t j = 0; j < n; j++) {
            bool created;
            void **slot = strmap_slot(&in->peer_index, anchors[j], &created);
            if (created) {
                *slot = xcalloc(1, sizeof(struct pset_list));
            }
            struct pset_list *l = *slot;
            bool there = false;
            for (size_t k = 0; k < l->n && !there; k++) {
                there = l->s[k] == ps;
            }
            if (!there) {
                APPEND(l->s, l->n, l->allocated, ps);
            }
            ps->anchors = xrealloc(ps->anchors,
                                   (ps->n_anchors + 1) * sizeof *ps->anchors);
            ps->anchors[ps->n_anchors++] = anchors[j];
        }
        free(anchors);
    }
}

static void
pset_unindex(struct incr *in, struct pset *ps)
{
    for (size_t i = 0; i < ps->n_anchors; i++) {
        struct pset_list *l = strmap_get(&in->peer_index, ps->anchors[i]);
        for (size_t k = 0; l && k < l->n; k++) {
            if (l->s[k] == ps) {
                l->s[k] = l->s[--l->n];
                break;
            }
        }
        if (l && !l->n) {
            strmap_remove(&in->peer_index, ps->anchors[i]);
            free(l->s);
            free(l);
        }
        free(ps->anchors[i]);
    }
    free(ps->anchors);
}

/* Makes 'r' a user of the peer set its peers make (created if new). */
static void
pset_attach(struct incr *in, struct irule *r)
{
    char *key = pset_key(r);
    if (!key) {
        r->ps = NULL;
        return;
    }
    bool created;
    void **slot = strmap_slot(&in->psets, key, &created);
    if (created) {
        struct pset *ps = xcalloc(1, sizeof *ps);
        ps->key = key;
        key = NULL;
        ps->rep = r;
        ps->dst = !r->ingress;
        podset_init(&ps->pods);
        *slot = ps;
        pset_index(in, ps);
    }
    free(key);
    struct pset *ps = *slot;
    APPEND(ps->users, ps->n_users, ps->allocated_users, r);
    r->ps = ps;
}

static void
ptr_remove(void **v, size_t *n, const void *p)
{
    for (size_t i = 0; i < *n; i++) {
        if (v[i] == p) {
            v[i] = v[--*n];
            return;
        }
    }
    abort();                    /* Only what was added is removed. */
}

static void
pset_detach(struct incr *in, struct irule *r)
{
    struct pset *ps = r->ps;
    if (!ps) {
        return;
    }
    r->ps = NULL;
    ptr_remove((void **) ps->users, &ps->n_users, r);
    if (ps->n_users) {
        /* Another user's peers read the same. */
        ps->rep = ps->users[0];
        return;
    }
    if (ps->n_awake || ps->pods.n) {
        abort();                /* Emptied when its last user slept. */
    }
    pset_unindex(in, ps);
    strmap_remove(&in->psets, ps->key);
    podset_destroy(&ps->pods);
    free(ps->users);
    free(ps->awake);
    free(ps->key);
    free(ps);
}

static void
rule_init(struct incr *in, struct ipol *p, struct irule *r,
          const struct np_rule *rule, bool ingress, size_t idx)
{
    r->p = p;
    r->rule = rule;
    r->ingress = ingress;
    r->idx = idx;
    r->what = np_rule_what(p->np, ingress, idx);
    r->table = np_tbl(&in->gopts, ingress ? NPT_INGRESS : NPT_EGRESS);
    r->wildcard = !rule->n_peers;
    strmap_init(&r->named);
    r->diffs = xmalloc((rule->n_peers + 1) * sizeof *r->diffs);
    for (size_t i = 0; i < rule->n_peers; i++) {
        const struct np_peer *peer = &rule->peers[i];
        if (peer->is_ipblock) {
            struct cidr_diff *d = &r->diffs[r->n_diffs++];
            cidr_diff_init(d, &peer->block, peer->excepts, peer->n_excepts);
            r->n_cidrs += cidr_diff_count(d);
        }
    }
    size_t n_numeric = 0;
    r->names = xmalloc((rule->n_ports + 1) * sizeof *r->names);
    for (size_t i = 0; i < rule->n_ports; i++) {
        const struct np_port *pp = &rule->ports[i];
        if (!pp->name) {
            n_numeric++;
            np_port_matches(in->v4, in->v6, pp->proto, pp->port,
                            pp->end_port, pmatch_cb, r);
            continue;
        }
        bool seen = false;
        for (size_t j = 0; j < r->n_names && !seen; j++) {
            seen = (r->names[j]->proto == pp->proto
                    && !strcmp(r->names[j]->name, pp->name));
        }
        if (!seen) {
            r->names[r->n_names++] = pp;
        }
    }
    if (n_numeric || !rule->n_ports) {
        r->c0 = conj_create(r, NULL, 0, 0);
    }
}

/* Lists the rule's CIDRs into its peer sets. */
static void
rule_list_cidrs(struct irule *r)
{
    r->cidrs = xmalloc((r->n_cidrs + 1) * sizeof *r->cidrs);
    size_t n = 0;
    for (size_t i = 0; i < r->n_diffs; i++) {
        size_t m;
        struct cidr *list = cidr_diff_list(&r->diffs[i], &m);
        if (m) {
            memcpy(&r->cidrs[n], list, m * sizeof *list);
        }
        n += m;
        free(list);
    }
    r->listed = true;
}

static void
conj_iter_sorted(struct irule *r, struct iconj ***out, size_t *n);

static void
rule_destroy(struct incr *in, struct irule *r)
{
    struct iconj **named;
    size_t n;
    conj_iter_sorted(r, &named, &n);
    for (size_t i = 0; i < n; i++) {
        conj_destroy(in, named[i]);
    }
    free(named);
    strmap_destroy(&r->named);
    if (r->c0) {
        conj_destroy(in, r->c0);
    }
    pset_detach(in, r);
    for (size_t i = 0; i < r->n_diffs; i++) {
        cidr_diff_destroy(&r->diffs[i]);
    }
    free(r->diffs);
    free(r->cidrs);
    for (size_t i = 0; i < r->n_pmatches; i++) {
        free(r->pmatches[i]);
    }
    free(r->pmatches);
    free(r->names);
    free(r->what);
}

static int
compare_conj(const void *a_, const void *b_)
{
    const struct iconj *a = *(const struct iconj *const *) a_;
    const struct iconj *b = *(const struct iconj *const *) b_;
    return (a->name_idx != b->name_idx ? (a->name_idx < b->name_idx ? -1 : 1)
            : a->number < b->number ? -1 : a->number > b->number);
}

/* The named conjunctions of 'r', by (name, number): the order compile.c
 * allocates their ids in. */
static void
conj_iter_sorted(struct irule *r, struct iconj ***out, size_t *n)
{
    *out = xmalloc((r->named.n + 1) * sizeof **out);
    *n = 0;
    size_t b;
    for (struct strmap_node *node = strmap_first(&r->named, &b); node;
         node = strmap_next(&r->named, node, &b)) {
        (*out)[(*n)++] = node->value;
    }
    np_qsort(*out, *n, sizeof **out, compare_conj);
}

/* ---- Pods in sets. ---- */

static void
member_add(struct ipod *x, enum member_kind kind, void *target, uint32_t mask)
{
    struct pmember m = { target, mask, kind };
    APPEND(x->m, x->n_m, x->allocated_m, m);
}

static void
member_forget(struct ipod *x, enum member_kind kind, const void *target)
{
    for (size_t i = 0; i < x->n_m; i++) {
        if (x->m[i].kind == kind && x->m[i].target == target) {
            memmove(&x->m[i], &x->m[i + 1], (x->n_m - i - 1) * sizeof *x->m);
            x->n_m--;
            return;
        }
    }
}

static void
deny_dirty(struct incr *in, struct ipod *x)
{
    if (!x->deny_dirty) {
        x->deny_dirty = true;
        APPEND(in->deny_dirty, in->n_deny_dirty, in->allocated_deny_dirty, x);
    }
}

static void
iso_add(struct incr *in, struct ipod *x, struct ipol *p)
{
    for (int d = 0; d < 2; d++) {
        if (d ? p->np->isolates_ingress : p->np->isolates_egress) {
            if (x->n_iso[d] >= x->allocated_iso[d]) {
                x->iso[d] = x2nrealloc(x->iso[d], &x->allocated_iso[d],
                                       sizeof *x->iso[d]);
            }
            x->iso[d][x->n_iso[d]++] = p;
        }
    }
    deny_dirty(in, x);
}

static void
iso_remove(struct incr *in, struct ipod *x, const struct ipol *p)
{
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < x->n_iso[d]; i++) {
            if (x->iso[d][i] == p) {
                x->iso[d][i] = x->iso[d][--x->n_iso[d]];
                break;
            }
        }
    }
    deny_dirty(in, x);
}

static void
ndst_add(struct incr *in, struct iconj *c, struct ipod *x, uint32_t mask)
{
    dim_pod(in, c, c->d_dst, x, mask, true);
    podset_insert(&c->dmembers, x);
    member_add(x, M_NDST, c, mask);
}

static void
ndst_remove(struct incr *in, struct iconj *c, struct ipod *x, uint32_t mask)
{
    dim_pod(in, c, c->d_dst, x, mask, false);
    podset_remove(&c->dmembers, x);
}

static void pol_wake(struct incr *, struct ipol *);
static void pol_sleep(struct incr *, struct ipol *);

/* Puts 'x''s addresses into (or takes them out of) the selected-pod sets
 * of 'p''s conjunctions. */
static void
sel_dims(struct incr *in, struct ipol *p, struct ipod *x, bool add)
{
    for (size_t i = 0; i < p->n_rules; i++) {
        struct irule *r = &p->rules[i];
        if (r->c0) {
            dim_pod(in, r->c0, r->c0->d_sel, x, all_ips(x), add);
        }
        if (!r->ingress) {
            size_t b;
            for (struct strmap_node *node = strmap_first(&r->named, &b);
                 node; node = strmap_next(&r->named, node, &b)) {
                struct iconj *c = node->value;
                dim_pod(in, c, c->d_sel, x, all_ips(x), add);
            }
        }
    }
}

static void
sel_add(struct incr *in, struct ipol *p, struct ipod *x)
{
    podset_insert(&p->sel, x);
    p->n_sel_addrs += x->n_ips;
    member_add(x, M_SEL, p, 0);
    sel_dims(in, p, x, true);
    for (size_t i = 0; i < p->n_rules; i++) {
        struct irule *r = &p->rules[i];
        if (r->ingress) {
            /* Ingress named ports resolve on the selected pods. */
            for (size_t j = 0; j < r->n_names; j++) {
                uint16_t number = np_pod_named_port(x->pod, r->names[j]);
                if (number) {
                    ndst_add(in, named_get(in, r, j, number), x, all_ips(x));
                }
            }
        }
    }
    iso_add(in, x, p);
    touch(in, p);
    if (p->sel.n == 1) {
        pol_wake(in, p);
    }
}

static void
sel_remove(struct incr *in, struct ipol *p, struct ipod *x)
{
    podset_remove(&p->sel, x);
    p->n_sel_addrs -= x->n_ips;
    sel_dims(in, p, x, false);
    iso_remove(in, x, p);
    touch(in, p);
    if (!p->sel.n) {
        pol_sleep(in, p);
    }
}

/* Calls 'cb' for each conjunction of 'r' with a peer dimension. */
static void
rule_peer_conjs(struct irule *r,
                void (*cb)(struct incr *, struct iconj *, struct imatch *),
                struct incr *in, struct imatch *m)
{
    if (r->c0 && r->c0->d_peer >= 0) {
        cb(in, r->c0, m);
    }
    if (r->ingress) {
        size_t b;
        for (struct strmap_node *node = strmap_first(&r->named, &b); node;
             node = strmap_next(&r->named, node, &b)) {
            cb(in, node->value, m);
        }
    }
}

static void
peer_entry_add(struct incr *in, struct iconj *c, struct imatch *m)
{
    if (c->active) {
        conj_entry_add(in, c, c->d_peer, m);
    }
}

static void
peer_entry_remove(struct incr *in, struct iconj *c, struct imatch *m)
{
    if (c->active) {
        conj_entry_remove(in, c, c->d_peer, m);
    }
}

/* Puts 'x''s addresses into (or takes them out of) peer set 'ps', and so
 * into the conjunctions of the rules that follow it.  A set keeps no
 * matches of its own: its pods hold theirs, and two pods with one address
 * put its entry on the flow twice, which the merge makes one. */
static void
pset_pod(struct incr *in, struct pset *ps, const struct ipod *x, bool add)
{
    for (size_t i = 0; i < x->n_ips; i++) {
        struct imatch *m = x->mt[ps->dst][i];
        for (size_t u = 0; u < ps->n_awake; u++) {
            rule_peer_conjs(ps->awake[u],
                            add ? peer_entry_add : peer_entry_remove, in, m);
        }
    }
    if (add) {
        ps->n_entries += x->n_ips;
    } else {
        ps->n_entries -= x->n_ips;
    }
    for (size_t u = 0; u < ps->n_awake; u++) {
        touch(in, ps->awake[u]->p);
    }
}

static void
peer_add(struct incr *in, struct pset *ps, struct ipod *x)
{
    if (!podset_insert(&ps->pods, x)) {
        return;                 /* Found by pset_fill() already. */
    }
    member_add(x, M_PEER, ps, 0);
    pset_pod(in, ps, x, true);
}

static void
peer_remove(struct incr *in, struct pset *ps, struct ipod *x)
{
    podset_remove(&ps->pods, x);
    pset_pod(in, ps, x, false);
}

static bool
pset_has(const struct irule *r, const struct ipod *x)
{
    return r->ps && podset_has(&r->ps->pods, x);
}

/* Egress rule 'r' with named ports: which of 'x''s addresses are its
 * destinations (a peer's all, those inside its ipBlocks, every eligible
 * pod's with no 'to'), and under which numbers. */
static void
ndst_eval(struct incr *in, struct irule *r, struct ipod *x)
{
    uint32_t mask = 0;
    if (r->wildcard || pset_has(r, x)) {
        mask = all_ips(x);
    }
    for (size_t i = 0; i < x->n_ips && i < 32; i++) {
        for (size_t j = 0; j < r->n_diffs; j++) {
            if (cidr_diff_contains(&r->diffs[j], &x->ips[i])) {
                mask |= UINT32_C(1) << i;
                break;
            }
        }
    }
    if (!mask) {
        return;
    }
    for (size_t j = 0; j < r->n_names; j++) {
        uint16_t number = np_pod_named_port(x->pod, r->names[j]);
        if (number) {
            struct iconj *c = named_get(in, r, j, number);
            if (!podset_has(&c->dmembers, x)) {
                ndst_add(in, c, x, mask);
            }
        }
    }
}

static bool
pset_selects(const struct pset *ps, const struct ipod *x,
             const struct labels *ns_labels)
{
    const struct irule *r = ps->rep;
    const struct np_rule *rule = r->rule;
    for (size_t i = 0; i < rule->n_peers; i++) {
        const struct np_peer *peer = &rule->peers[i];
        if (peer->is_ipblock) {
            continue;
        }
        bool ns_ok = (peer->ns_selector
                      ? selector_matches(peer->ns_selector, ns_labels)
                      : !strcmp(r->p->np->namespace, x->ns));
        if (ns_ok && (!peer->pod_selector
                      || selector_matches(peer->pod_selector,
                                          &x->pod->labels))) {
            return true;
        }
    }
    return false;
}

/* ---- Namespaces, the label index. ---- */

/* Takes the labels selectors see on namespace 'n': its object's, plus the
 * name label the API server always sets. */
static void
ns_refresh(struct incr *in, struct ins *n)
{
    const struct k8s_namespace *ns = cluster_find_namespace(in->cluster,
                                                            n->name);
    labels_destroy(&n->labels);
    if (ns) {
        labels_clone(&n->labels, &ns->labels);
    } else {
        labels_init(&n->labels);
    }
    labels_set(&n->labels, "kubernetes.io/metadata.name", n->name);
    n->audit = compile_audit_mode(in->opts, ns);
}

static struct ins *
ns_get(struct incr *in, const char *name)
{
    bool created;
    void **slot = strmap_slot(&in->nss, name, &created);
    if (created) {
        struct ins *n = xcalloc(1, sizeof *n);
        n->name = xstrdup(name);
        labels_init(&n->labels);
        podset_init(&n->pods);
        strmap_init(&n->pols);
        *slot = n;
        ns_refresh(in, n);
    }
    return *slot;
}

/* "key=value", in 'buf' when it fits. */
static const char *
label_text(const struct label *l, char *buf, size_t size, char **heap)
{
    *heap = NULL;
    if ((size_t) snprintf(buf, size, "%s=%s", l->key, l->value) < size) {
        return buf;
    }
    *heap = xasprintf("%s=%s", l->key, l->value);
    return *heap;
}

static struct ins *
pod_ns(struct incr *in, struct ipod *x)
{
    if (!x->ins) {
        x->ins = ns_get(in, x->ns);
    }
    return x->ins;
}

static void
label_index_add(struct incr *in, struct ipod *x)
{
    const struct labels *l = &x->pod->labels;
    for (size_t i = 0; i < l->n; i++) {
        char buf[128], *heap;
        const char *k = label_text(&l->items[i], buf, sizeof buf, &heap);
        bool created;
        void **slot = strmap_slot(&in->label_index, k, &created);
        if (created) {
            struct podset *set = xmalloc(sizeof *set);
            podset_init(set);
            *slot = set;
        }
        podset_insert(*slot, x);
        free(heap);
    }
    x->indexed = true;
}

static void
label_index_remove(struct incr *in, struct ipod *x)
{
    if (!x->indexed) {
        return;
    }
    const struct labels *l = &x->pod->labels;
    for (size_t i = 0; i < l->n; i++) {
        char buf[128], *heap;
        const char *k = label_text(&l->items[i], buf, sizeof buf, &heap);
        struct podset *set = strmap_get(&in->label_index, k);
        podset_remove(set, x);
        if (!set->n) {
            strmap_remove(&in->label_index, k);
            podset_destroy(set);
            free(set);
        }
        free(heap);
    }
    x->indexed = false;
}

/* ---- Pods. ---- */

static struct units *
units_get(struct ipod *x)
{
    if (!x->u) {
        x->u = xcalloc(1, sizeof *x->u);
        x->u->spoof.owner = (struct owner) { OC_SPOOF, x->ns, x->name };
        x->u->orphan.owner = (struct owner) { OC_ORPHAN, x->ns, x->name };
        x->u->deny.owner = (struct owner) { OC_DENY, x->ns, x->name };
    }
    return x->u;
}

/* Frees 'x''s units if they have no flows. */
static void
units_trim(struct ipod *x)
{
    struct units *u = x->u;
    if (u && !u->spoof.n && !u->orphan.n && !u->deny.n) {
        unit_destroy(&u->spoof);
        unit_destroy(&u->orphan);
        unit_destroy(&u->deny);
        free(u);
        x->u = NULL;
    }
}

static struct ipod *
pod_get(struct incr *in, const char *ns, const char *name, bool create)
{
    char *key = xasprintf("%s/%s", ns, name);
    struct ipod *x;
    if (create) {
        bool created;
        void **slot = strmap_slot(&in->pods, key, &created);
        if (created) {
            x = xcalloc(1, sizeof *x);
            x->key = key;
            key = NULL;
            x->id = ++in->next_pod_id;
            x->hash = id_hash(x->id);
            x->ns = xstrdup(ns);
            x->name = xstrdup(name);
            *slot = x;
        }
        x = *slot;
    } else {
        x = strmap_get(&in->pods, key);
    }
    free(key);
    return x;
}

static void
pending_add(struct incr *in, struct ipod *x)
{
    if (!x->pending) {
        x->pending = true;
        APPEND(in->pending, in->n_pending, in->allocated_pending, x);
    }
}

static void
families_count(struct incr *in, const struct ip_addr *ips, size_t n, int d)
{
    for (size_t i = 0; i < n; i++) {
        if (ips[i].family == AF_INET6) {
            in->n_v6 += d;
        } else {
            in->n_v4 += d;
        }
    }
}

/* ---- ClusterNetworkPolicy classes. ---- */

/* The classifying flow of one address: the union of the classes its pods
 * carry (two pods may share an address for a while), as the whole
 * compiler makes it. */
struct ccontrib {
    struct ipod *x;
    uint32_t mask;
};

struct caddr {
    struct ip_addr addr;
    bool ingress;
    uint32_t mask;              /* In the table. */
    struct ccontrib *c;
    size_t n, allocated;
    struct unit u;
};

static void
caddr_free(struct incr *in, struct caddr *a, const char *text)
{
    unit_clear(in, &a->u);
    unit_destroy(&a->u);
    strmap_remove(&in->caddrs, text);
    free(a->c);
    free(a);
}

/* Address 'ip' of 'x' carries classes 'mask' (0: none) of direction
 * 'ingress' for 'x'. */
static void
caddr_set(struct incr *in, struct ipod *x, bool ingress, size_t ip,
          uint32_t mask)
{
    const char *text = x->mt[!ingress][ip]->text;
    struct caddr *a = strmap_get(&in->caddrs, text);
    if (!a) {
        if (!mask) {
            return;
        }
        a = xcalloc(1, sizeof *a);
        a->addr = x->ips[ip];
        a->ingress = ingress;
        a->u.owner = (struct owner) { OC_TIERS, "", "" };
        *strmap_slot(&in->caddrs, text, NULL) = a;
    }
    size_t i = 0;
    while (i < a->n && a->c[i].x != x) {
        i++;
    }
    if (i == a->n) {
        if (mask) {
            struct ccontrib cc = { x, mask };
            APPEND(a->c, a->n, a->allocated, cc);
        }
    } else if (mask) {
        a->c[i].mask = mask;
    } else {
        a->c[i] = a->c[--a->n];
    }
    uint32_t m = 0;
    for (i = 0; i < a->n; i++) {
        m |= a->c[i].mask;
    }
    if (m != a->mask) {
        unit_clear(in, &a->u);
        if (m) {
            void *aux[2];
            struct np_gen g;
            gen_init(in, &a->u, aux, &g);
            np_gen_class_addr(&g, &a->addr, ingress, m);
        }
        a->mask = m;
    }
    if (!a->n) {
        caddr_free(in, a, text);
    }
}

static void
cls_pending_add(struct incr *in, struct ipod *x)
{
    if (!x->cls_pending) {
        x->cls_pending = true;
        APPEND(in->cls_pending, in->n_cls_pending,
               in->allocated_cls_pending, x);
    }
}

static void
cls_pending_all(struct incr *in)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&in->pods, &b); node;
         node = strmap_next(&in->pods, node, &b)) {
        struct ipod *x = node->value;
        if (x->in || x->cmask[0] || x->cmask[1]) {
            cls_pending_add(in, x);
        }
    }
}

/* Adds 'delta' addresses to 'cl'; a class whose bit may change for it
 * (it qualifies or no longer does, or its size's rank changed: see
 * cnp_class_rank()) needs bits given again. */
static void
cls_add_addrs(struct incr *in, struct cnp_class *cl, ptrdiff_t delta)
{
    unsigned int min = in->opts->peer_class_min;
    bool q = min && cl->n_addrs >= min;
    int rank = cnp_class_rank(cl);
    cl->n_addrs += delta;
    in->classes_dirty |= (q != (min && cl->n_addrs >= min)
                          || rank != cnp_class_rank(cl));
}

/* Counts 'x' (-1: uncounts it) in the classes of its slots. */
static void
cls_count(struct incr *in, struct ipod *x, int d)
{
    for (size_t w = 0; w < x->n_cls_words; w++) {
        for (uint64_t bits = x->cls[w]; bits; bits &= bits - 1) {
            cls_add_addrs(in, in->classes.slots[w * 64
                                                + __builtin_ctzll(bits)],
                          d * (ptrdiff_t) x->n_ips);
        }
    }
}

/* Whether some ClusterNetworkPolicy's subject selects 'x' (local). */
static bool
cls_subject(struct incr *in, struct ipod *x)
{
    size_t n;
    const struct k8s_cnp *const *cnps = cluster_cnps(in->cluster, &n);
    const struct labels *nsl = &pod_ns(in, x)->labels;
    for (size_t i = 0; i < n; i++) {
        const struct cnp_pods *sel = &cnps[i]->subject.sel;
        if (selector_matches(&sel->ns_selector, nsl)
            && selector_matches(&sel->pod_selector, &x->pod->labels)) {
            return true;
        }
    }
    return false;
}

/* The slots that select 'x' among 'slots' (all when NULL), added to its
 * bitmap and counted. */
static void
cls_select(struct incr *in, struct ipod *x, const size_t *slots, size_t n)
{
    size_t words = CNP_CLASS_WORDS(in->classes.n_slots);
    if (x->n_cls_words < words) {
        x->cls = xrealloc(x->cls, words * sizeof *x->cls);
        memset(&x->cls[x->n_cls_words], 0,
               (words - x->n_cls_words) * sizeof *x->cls);
        x->n_cls_words = words;
    }
    const struct labels *nsl = &pod_ns(in, x)->labels;
    size_t n_slots = slots ? n : in->classes.n_slots;
    for (size_t i = 0; i < n_slots; i++) {
        size_t s = slots ? slots[i] : i;
        struct cnp_class *cl = in->classes.slots[s];
        if (cl && cnp_class_selects(cl, nsl, &x->pod->labels)) {
            x->cls[s / 64] |= UINT64_C(1) << (s % 64);
            cls_add_addrs(in, cl, x->n_ips);
        }
    }
}

/* 'x' (eligible, 'in') as the cluster has it now: its classes and
 * whether it is a subject; the rules are built again if they name it. */
static void
cls_in(struct incr *in, struct ipod *x, bool local)
{
    if (!cluster_count(in->cluster, OBJ_CNP)) {
        /* Until a policy comes: its sync selects every pod then. */
        return;
    }
    x->csubject = local && cls_subject(in, x);
    cls_select(in, x, NULL, 0);
    in->rules_dirty |= (x->csubject
                        || cnp_classes_in_rules(&in->classes, x->cls,
                                                x->n_cls_words));
    cls_pending_add(in, x);
}

/* Takes 'x' out of the classes, and its addresses' classifying flows. */
static void
cls_out(struct incr *in, struct ipod *x)
{
    if (!in->wiping) {
        for (int d = 0; d < 2; d++) {
            for (size_t i = 0; x->cmask[d] && i < x->n_ips; i++) {
                caddr_set(in, x, d, i, 0);
            }
        }
        in->rules_dirty |= (x->csubject
                            || cnp_classes_in_rules(&in->classes, x->cls,
                                                    x->n_cls_words));
        cls_count(in, x, -1);
    }
    x->cmask[0] = x->cmask[1] = 0;
    x->csubject = false;
    if (x->cls) {
        memset(x->cls, 0, x->n_cls_words * sizeof *x->cls);
    }
}

/* 'x' again after its namespace's labels changed: its classifying flows
 * stay until cls_settle() finds them different. */
static void
cls_reeval(struct incr *in, struct ipod *x)
{
    in->rules_dirty |= (x->csubject
                        || cnp_classes_in_rules(&in->classes, x->cls,
                                                x->n_cls_words));
    cls_count(in, x, -1);
    if (x->cls) {
        memset(x->cls, 0, x->n_cls_words * sizeof *x->cls);
    }
    x->csubject = false;
    cls_in(in, x, compile_pod_is_local(in->opts, x->pod));
    cls_pending_add(in, x);
}

/* Brings the classifying flows of 'x''s addresses to its classes' bits. */
static void
cls_settle(struct incr *in, struct ipod *x)
{
    x->cls_pending = false;
    for (int d = 0; d < 2; d++) {
        uint32_t m = (in->class_flows && x->in && x->cls
                      ? cnp_classes_mask(&in->classes, d, x->cls,
                                         x->n_cls_words)
                      : 0);
        if (m != x->cmask[d]) {
            for (size_t i = 0; i < x->n_ips; i++) {
                caddr_set(in, x, d, i, m);
            }
            x->cmask[d] = m;
        }
    }
}

/* After a policy or Node event: the classes those of the policies now,
 * the new ones counted over every pod, the subjects found again. */
static void
classes_sync(struct incr *in)
{
    in->cnps_changed = false;
    in->rules_dirty = true;
    size_t n;
    const struct k8s_cnp *const *cnps = cluster_cnps(in->cluster, &n);
    size_t *added = NULL, *removed = NULL, n_added = 0, n_removed = 0;
    in->classes_dirty |= cnp_classes_sync(&in->classes, cnps, n, &added,
                                          &n_added, &removed, &n_removed);
    size_t b;
    for (struct strmap_node *node = strmap_first(&in->pods, &b); node;
         node = strmap_next(&in->pods, node, &b)) {
        struct ipod *x = node->value;
        if (!x->in || !np_pod_eligible(x->pod)) {
            continue;
        }
        for (size_t i = 0; i < n_removed; i++) {
            size_t s = removed[i];
            if (s / 64 < x->n_cls_words) {
                x->cls[s / 64] &= ~(UINT64_C(1) << (s % 64));
            }
        }
        if (n_added) {
            cls_select(in, x, added, n_added);
        }
        x->csubject = (n && compile_pod_is_local(in->opts, x->pod)
                       && cls_subject(in, x));
        if (n_added || n_removed) {
            cls_pending_add(in, x);
        }
    }
    free(added);
    free(removed);
}

/* Takes 'x' out of every set and its flows out of the table. */
static void
pod_remove(struct incr *in, struct ipod *x)
{
    if (x->u) {
        unit_clear(in, &x->u->spoof);
        unit_clear(in, &x->u->orphan);
    }
    if (!x->in) {
        return;
    }
    if (in->wiping) {
        /* Every set goes whole, right after. */
        x->n_m = 0;
        x->n_iso[0] = x->n_iso[1] = 0;
    }
    cls_out(in, x);
    while (x->n_m) {
        struct pmember m = x->m[--x->n_m];
        if (m.kind == M_SEL) {
            sel_remove(in, m.target, x);
        } else if (m.kind == M_PEER) {
            peer_remove(in, m.target, x);
        } else {
            ndst_remove(in, m.target, x, m.mask);
        }
    }
    label_index_remove(in, x);
    struct ins *n = strmap_get(&in->nss, x->ns);
    if (n) {
        podset_remove(&n->pods, x);
    }
    families_count(in, x->ips, x->n_ips, -1);
    for (size_t i = 0; i < x->n_ips; i++) {
        match_release(in, x->mt[0][i]);
        match_release(in, x->mt[1][i]);
    }
    free(x->mt[0]);
    free(x->mt[1]);
    x->mt[0] = x->mt[1] = NULL;
    free(x->ips);
    x->ips = NULL;
    x->n_ips = 0;
    x->in = false;
    x->pod = NULL;
    in->stats.pods_on_node -= x->on_node;
    x->on_node = false;
    deny_dirty(in, x);
}

static void
pod_units(struct incr *in, struct ipod *x, const struct k8s_pod *pod)
{
    void *aux[2];
    struct np_gen g;
    const char *const *ports = NULL;
    size_t n_ports = (in->opts->port_of
                      ? in->opts->port_of(in->opts->port_aux, x->ns, x->name,
                                          &ports)
                      : 0);
    if (n_ports) {
        gen_init(in, &units_get(x)->orphan, aux, &g);
    }
    for (size_t i = 0; i < n_ports; i++) {
        struct compile_bound_port bp = { x->ns, x->name, ports[i] };
        np_gen_orphan(&g, &bp, pod);
    }
    if (pod && compile_pod_is_local(in->opts, pod)) {
        gen_init(in, &units_get(x)->spoof, aux, &g);
        np_gen_spoof(&g, pod);
    }
    units_trim(x);
}

/* The followed peer sets that have 'x', found through the index: only
 * sets whose selectors name one of the pod's or its namespace's labels,
 * or none. */
static struct pset **
pod_peer_sets(struct incr *in, struct ipod *x, size_t *n_out)
{
    const struct k8s_pod *pod = x->pod;
    const struct labels *nsl = &pod_ns(in, x)->labels;
    uint64_t mark = ++in->mark;
    size_t n_keys = 2 * (pod->labels.n + nsl->n) + 2, k = 0;
    char **keys = xmalloc(n_keys * sizeof *keys);
    for (size_t i = 0; i < pod->labels.n; i++) {
        const struct label *l = &pod->labels.items[i];
        keys[k++] = xasprintf("p=%s=%s", l->key, l->value);
        keys[k++] = xasprintf("p?%s", l->key);
    }
    for (size_t i = 0; i < nsl->n; i++) {
        const struct label *l = &nsl->items[i];
        keys[k++] = xasprintf("n=%s=%s", l->key, l->value);
        keys[k++] = xasprintf("n?%s", l->key);
    }
    keys[k++] = xasprintf("o%s", x->ns);
    keys[k++] = xstrdup("*");
    struct pset **sets = NULL;
    size_t n = 0, allocated = 0;
    for (size_t i = 0; i < k; i++) {
        const struct pset_list *l = strmap_get(&in->peer_index, keys[i]);
        for (size_t j = 0; l && j < l->n; j++) {
            struct pset *ps = l->s[j];
            if (ps->mark != mark) {
                ps->mark = mark;
                if (ps->n_awake && pset_selects(ps, x, nsl)) {
                    APPEND(sets, n, allocated, ps);
                }
            }
        }
        free(keys[i]);
    }
    free(keys);
    *n_out = n;
    return sets;
}

/* Marks the awake egress rules with named ports that follow 'ps' (their
 * destinations may have changed with it), listing them in '*named'. */
static void
pset_named_egress(const struct pset *ps, uint64_t mark, struct irule ***named,
                  size_t *n, size_t *allocated)
{
    for (size_t u = 0; u < ps->n_awake; u++) {
        struct irule *r = ps->awake[u];
        if (!r->ingress && r->n_names && r->mark != mark) {
            r->mark = mark;
            APPEND(*named, *n, *allocated, r);
        }
    }
}

/* Resolves egress rule 'r''s named ports on 'x' again: its peer set has
 * changed. */
static void
ndst_refresh(struct incr *in, struct irule *r, struct ipod *x)
{
    for (size_t i = 0; i < x->n_m; ) {
        struct pmember m = x->m[i];
        if (m.kind == M_NDST && ((struct iconj *) m.target)->r == r) {
            ndst_remove(in, m.target, x, m.mask);
            memmove(&x->m[i], &x->m[i + 1], (x->n_m - i - 1) * sizeof *x->m);
            x->n_m--;
        } else {
            i++;
        }
    }
    if (r->p->sel.n) {
        ndst_eval(in, r, x);
    }
}

/* After its namespace's labels changed, puts 'x' into the peer sets it is
 * in now and out of the others: what selects it by its own labels stays,
 * so only the difference is applied. */
static void
pod_reeval_peers(struct incr *in, struct ipod *x)
{
    if (!x->in || !np_pod_eligible(x->pod)) {
        return;
    }
    in->stats.pods_evaluated++;
    size_t n_now;
    struct pset **now = pod_peer_sets(in, x, &n_now);
    uint64_t mark = ++in->mark;
    for (size_t i = 0; i < n_now; i++) {
        now[i]->mark = mark;
    }
    struct pset **gone = NULL;
    size_t n_gone = 0, a_gone = 0;
    for (size_t i = 0; i < x->n_m; i++) {
        struct pset *ps = x->m[i].target;
        if (x->m[i].kind == M_PEER && ps->mark != mark) {
            APPEND(gone, n_gone, a_gone, ps);
        }
    }
    uint64_t rmark = ++in->mark;
    struct irule **named = NULL;
    size_t n_named = 0, a_named = 0;
    for (size_t i = 0; i < n_gone; i++) {
        struct pset *ps = gone[i];
        member_forget(x, M_PEER, ps);
        peer_remove(in, ps, x);
        pset_named_egress(ps, rmark, &named, &n_named, &a_named);
    }
    for (size_t i = 0; i < n_now; i++) {
        struct pset *ps = now[i];
        if (!podset_has(&ps->pods, x)) {
            peer_add(in, ps, x);
            pset_named_egress(ps, rmark, &named, &n_named, &a_named);
        }
    }
    for (size_t i = 0; i < n_named; i++) {
        ndst_refresh(in, named[i], x);
    }
    free(now);
    free(gone);
    free(named);
}

/* Puts 'x' into the sets it is in, as the cluster has it now. */
static void
pod_eval(struct incr *in, struct ipod *x)
{
    in->stats.pods_evaluated++;
    const struct k8s_pod *pod = cluster_find_pod(in->cluster, x->ns,
                                                 x->name);
    pod_units(in, x, pod);
    if (!pod) {
        if (!x->gone) {
            x->gone = true;
            APPEND(in->gone, in->n_gone, in->allocated_gone, x);
        }
        return;
    }
    x->pod = pod;
    x->in = true;
    x->n_ips = pod->n_ips < MAX_POD_IPS ? pod->n_ips : MAX_POD_IPS;
    x->ips = xmalloc((x->n_ips + 1) * sizeof *x->ips);
    if (x->n_ips) {
        memcpy(x->ips, pod->ips, x->n_ips * sizeof *x->ips);
    }
    families_count(in, x->ips, x->n_ips, 1);
    for (int dst = 0; dst < 2; dst++) {
        x->mt[dst] = xmalloc((x->n_ips + 1) * sizeof *x->mt[dst]);
        for (size_t i = 0; i < x->n_ips; i++) {
            char buf[NP_MATCH_MAX];
            np_host_match(&x->ips[i], dst, buf);
            x->mt[dst][i] = match_get(in, buf);
        }
    }
    x->on_node = (!in->opts->node
                  || (pod->node_name
                      && !strcmp(pod->node_name, in->opts->node)));
    in->stats.pods_on_node += x->on_node;
    struct ins *n = pod_ns(in, x);
    podset_insert(&n->pods, x);
    deny_dirty(in, x);
    if (!np_pod_eligible(pod)) {
        return;
    }
    label_index_add(in, x);
    cls_in(in, x, compile_pod_is_local(in->opts, pod));

    size_t b;
    if (compile_pod_is_local(in->opts, pod)) {
        for (struct strmap_node *node = strmap_first(&n->pols, &b); node;
             node = strmap_next(&n->pols, node, &b)) {
            struct ipol *p = node->value;
            if (selector_matches(&p->np->pod_selector, &pod->labels)) {
                sel_add(in, p, x);
            }
        }
    }

    size_t n_sets;
    struct pset **sets = pod_peer_sets(in, x, &n_sets);
    for (size_t i = 0; i < n_sets; i++) {
        peer_add(in, sets[i], x);
    }

    /* Named ports of egress rules resolve on their destinations. */
    uint64_t mark = ++in->mark;
    struct irule **named = NULL;
    size_t n_named = 0, a_named = 0;
    for (size_t i = 0; i < n_sets; i++) {
        pset_named_egress(sets[i], mark, &named, &n_named, &a_named);
    }
    free(sets);
    for (size_t i = 0; i < n_named; i++) {
        ndst_eval(in, named[i], x);
    }
    free(named);
    for (size_t i = 0; i < in->named_egress.n; i++) {
        struct irule *r = in->named_egress.r[i];
        if (r->mark != mark && r->p->sel.n) {
            r->mark = mark;
            ndst_eval(in, r, x);
        }
    }
}

static void
pod_free(struct incr *in, struct ipod *x)
{
    strmap_remove(&in->pods, x->key);
    if (x->u) {
        unit_destroy(&x->u->spoof);
        unit_destroy(&x->u->orphan);
        unit_destroy(&x->u->deny);
        free(x->u);
    }
    free(x->m);
    free(x->cls);
    free(x->iso[0]);
    free(x->iso[1]);
    free(x->ips);
    free(x->key);
    free(x->ns);
    free(x->name);
    free(x);
}

static int
pol_cmp(const struct ipol *a, const struct ipol *b)
{
    int cmp = strcmp(a->np->namespace, b->np->namespace);
    return cmp ? cmp : strcmp(a->np->name, b->np->name);
}

static void
deny_update(struct incr *in, struct ipod *x)
{
    x->deny_dirty = false;
    if (x->u) {
        unit_clear(in, &x->u->deny);
    }
    if (!x->in || (!x->n_iso[0] && !x->n_iso[1])) {
        units_trim(x);
        return;
    }
    void *aux[2];
    struct np_gen g;
    gen_init(in, &units_get(x)->deny, aux, &g);
    for (int d = 0; d < 2; d++) {
        if (!x->n_iso[d]) {
            continue;
        }
        const struct ipol *first = x->iso[d][0];
        for (size_t i = 1; i < x->n_iso[d]; i++) {
            if (pol_cmp(x->iso[d][i], first) < 0) {
                first = x->iso[d][i];
            }
        }
        np_gen_isolation(&g, x->pod, d, first->key, first->np->invalid != NULL,
                         first->pno, x->n_iso[d],
                         (pod_ns(in, x)->audit & NP_AUDIT_DENY) != 0);
    }
}

/* ---- Policies, built and taken down. ---- */

static void
pol_select(struct incr *in, struct ipol *p)
{
    struct ins *n = ns_get(in, p->np->namespace);
    struct ipod **sel = xmalloc((n->pods.n + 1) * sizeof *sel);
    size_t n_sel = 0;
    PODSET_FOR_EACH (slot, &n->pods) {
        struct ipod *x = slot->key;
        if (compile_pod_is_local(in->opts, x->pod)
            && selector_matches(&p->np->pod_selector, &x->pod->labels)) {
            sel[n_sel++] = x;
        }
    }
    for (size_t i = 0; i < n_sel; i++) {
        sel_add(in, p, sel[i]);
    }
    free(sel);
}

/* Finds the pods of peer set 'ps', which no awake rule followed. */
static void
pset_fill(struct incr *in, struct pset *ps)
{
    const struct irule *r = ps->rep;
    const struct np_rule *rule = r->rule;
    size_t b;
    for (size_t j = 0; j < rule->n_peers; j++) {
        const struct np_peer *peer = &rule->peers[j];
        if (peer->is_ipblock) {
            continue;
        }
        /* Candidates: the smallest posting of a label the pod selector
         * requires, else the namespaces' pods. */
        const struct podset *postings = NULL;
        bool none = false;
        for (size_t k = 0; peer->pod_selector
             && k < peer->pod_selector->match_labels.n; k++) {
            const struct label *l = &peer->pod_selector->match_labels.items[k];
            char *lk = xasprintf("%s=%s", l->key, l->value);
            const struct podset *s = strmap_get(&in->label_index, lk);
            free(lk);
            if (!s) {
                none = true;
                break;
            }
            if (!postings || s->n < postings->n) {
                postings = s;
            }
        }
        if (none) {
            continue;
        }
        const struct podset *sets[1];
        struct ins **nss = NULL;
        size_t n_nss = 0;
        if (postings) {
            sets[0] = postings;
        } else if (!peer->ns_selector) {
            n_nss = 1;
            nss = xmalloc(sizeof *nss);
            nss[0] = ns_get(in, r->p->np->namespace);
        } else {
            nss = xmalloc((in->nss.n + 1) * sizeof *nss);
            for (struct strmap_node *node = strmap_first(&in->nss, &b);
                 node; node = strmap_next(&in->nss, node, &b)) {
                struct ins *ns = node->value;
                if (selector_matches(peer->ns_selector, &ns->labels)) {
                    nss[n_nss++] = ns;
                }
            }
        }
        size_t n_sets = postings ? 1 : n_nss;
        for (size_t s = 0; s < n_sets; s++) {
            const struct podset *set = postings ? sets[0] : &nss[s]->pods;
            /* Collected first: peer_add() may not change 'set', but a walk
             * must not depend on that. */
            struct ipod **cands = xmalloc((set->n + 1) * sizeof *cands);
            size_t n_cands = 0;
            PODSET_FOR_EACH (slot, set) {
                cands[n_cands++] = slot->key;
            }
            for (size_t c = 0; c < n_cands; c++) {
                struct ipod *x = cands[c];
                if (!np_pod_eligible(x->pod)
                    || podset_has(&ps->pods, x)) {
                    continue;
                }
                if (pset_selects(ps, x, &pod_ns(in, x)->labels)) {
                    peer_add(in, ps, x);
                }
            }
            free(cands);
        }
        free(nss);
    }
}

/* 'r' no longer follows its peer set: a set no awake rule follows is
 * emptied (its rules' conjunctions are inactive, so no entry goes). */
static void
pset_sleep(struct incr *in, struct irule *r)
{
    struct pset *ps = r->ps;
    if (!ps) {
        return;
    }
    ptr_remove((void **) ps->awake, &ps->n_awake, r);
    if (ps->n_awake) {
        return;
    }
    PODSET_FOR_EACH (slot, &ps->pods) {
        if (!in->wiping) {
            member_forget(slot->key, M_PEER, ps);
        }
    }
    podset_destroy(&ps->pods);
    ps->n_entries = 0;
}

/* A policy that selects no local pod has no flows but its CIDRs' counts:
 * its rules do not follow their peers ('dormant').  This makes them
 * follow, filling the peer sets no other awake rule follows, when it
 * starts selecting one. */
static void
pol_wake(struct incr *in, struct ipol *p)
{
    for (size_t i = 0; i < p->n_rules; i++) {
        struct irule *r = &p->rules[i];
        struct pset *ps = r->ps;
        if (ps) {
            APPEND(ps->awake, ps->n_awake, ps->allocated_awake, r);
            if (ps->n_awake == 1) {
                pset_fill(in, ps);
            }
        }
        if (!r->ingress && r->n_names) {
            size_t bb;
            if (r->wildcard || r->n_diffs) {
                for (struct strmap_node *node = strmap_first(&in->pods, &bb);
                     node; node = strmap_next(&in->pods, node, &bb)) {
                    struct ipod *x = node->value;
                    if (x->in && np_pod_eligible(x->pod)) {
                        ndst_eval(in, r, x);
                    }
                }
            } else if (ps) {
                struct ipod **peers = xmalloc((ps->pods.n + 1)
                                              * sizeof *peers);
                size_t n_peers = 0;
                PODSET_FOR_EACH (slot, &ps->pods) {
                    peers[n_peers++] = slot->key;
                }
                for (size_t k = 0; k < n_peers; k++) {
                    ndst_eval(in, r, peers[k]);
                }
                free(peers);
            }
        }
    }
}

static void
pol_sleep(struct incr *in, struct ipol *p)
{
    for (size_t i = 0; i < p->n_rules; i++) {
        struct irule *r = &p->rules[i];
        struct iconj **named;
        size_t n;
        conj_iter_sorted(r, &named, &n);
        for (size_t j = 0; j < n; j++) {
            struct iconj *c = named[j];
            conj_set_active(in, c, false);
            PODSET_FOR_EACH (slot, &c->dmembers) {
                member_forget(slot->key, M_NDST, c);
            }
            char key[32];
            snprintf(key, sizeof key, "%zu/%u", c->name_idx, c->number);
            strmap_remove(&r->named, key);
            conj_destroy(in, c);
        }
        free(named);
        if (r->c0) {
            /* Its selected set is empty: it has no entries to take out
             * once inactive. */
            conj_set_active(in, r->c0, false);
        }
        pset_sleep(in, r);
    }
    touch(in, p);
}

static void
pol_build(struct incr *in, const char *key)
{
    const char *slash = strchr(key, '/');
    char *ns = xmemdup0(key, slash - key);
    const struct k8s_netpol *np = cluster_find_netpol(in->cluster, ns,
                                                      slash + 1);
    free(ns);
    if (!np) {
        return;
    }
    in->stats.policies_built++;
    struct ipol *p = xcalloc(1, sizeof *p);
    p->np = np;
    p->key = xstrdup(key);
    p->owner = (struct owner) { OC_POLICY, np->namespace, np->name };
    p->pno = np_ids_get(in->opts->policy_ids, key) - 1;
    if (p->pno >= in->n_names) {
        size_t n = p->pno + 1;
        in->names = xrealloc(in->names, n * sizeof *in->names);
        memset(&in->names[in->n_names], 0,
               (n - in->n_names) * sizeof *in->names);
        in->n_names = n;
    }
    in->names[p->pno] = p->key;
    podset_init(&p->sel);
    p->rules = xcalloc(np->n_ingress + np->n_egress + 1, sizeof *p->rules);
    size_t n_cidrs = 0;
    for (int ingress = 0; ingress < 2; ingress++) {
        const struct np_rule *rules = ingress ? np->ingress : np->egress;
        size_t n = ingress ? np->n_ingress : np->n_egress;
        for (size_t r = 0; r < n; r++) {
            for (size_t i = 0; i < rules[r].n_peers; i++) {
                const struct np_peer *peer = &rules[r].peers[i];
                if (peer->is_ipblock) {
                    if (peer->block.addr.family == AF_INET6) {
                        p->n_v6_blocks++;
                    } else {
                        p->n_v4_blocks++;
                    }
                }
            }
        }
        if (!(ingress ? np->isolates_ingress : np->isolates_egress)) {
            continue;           /* Rules of unlisted directions: ignored. */
        }
        for (size_t r = 0; r < n; r++) {
            struct irule *ir = &p->rules[p->n_rules++];
            rule_init(in, p, ir, &rules[r], ingress, r);
            n_cidrs += ir->n_cidrs;
        }
    }
    in->n_v4 += p->n_v4_blocks;
    in->n_v6 += p->n_v6_blocks;
    size_t budget = in->opts->max_policy_flows;
    p->hopeless = budget && n_cidrs > budget;
    for (size_t i = 0; i < p->n_rules; i++) {
        struct irule *r = &p->rules[i];
        if (r->n_diffs && !p->hopeless) {
            rule_list_cidrs(r);
        }
        if (r->c0) {
            conj_fill(in, r->c0);
        }
        pset_attach(in, r);
        if (!r->ingress && r->n_names && (r->wildcard || r->n_diffs)) {
            APPEND(in->named_egress.r, in->named_egress.n,
                   in->named_egress.allocated, r);
        }
    }
    struct ins *n = ns_get(in, np->namespace);
    *strmap_slot(&n->pols, key, NULL) = p;
    *strmap_slot(&in->pols, key, NULL) = p;
    if (!in->bulk) {
        pol_select(in, p);
        touch(in, p);
    }
}

static void
pol_destroy(struct incr *in, struct ipol *p)
{
    for (size_t i = 0; i < p->n_rules; i++) {
        struct irule *r = &p->rules[i];
        struct iconj **named;
        size_t n;
        conj_iter_sorted(r, &named, &n);
        for (size_t j = 0; j < n; j++) {
            conj_set_active(in, named[j], false);
            PODSET_FOR_EACH (slot, &named[j]->dmembers) {
                if (!in->wiping) {
                    member_forget(slot->key, M_NDST, named[j]);
                }
            }
        }
        free(named);
        if (r->c0) {
            conj_set_active(in, r->c0, false);
        }
        if (p->sel.n) {
            pset_sleep(in, r);
        }
        ref_list_remove(&in->named_egress, r);
    }
    PODSET_FOR_EACH (slot, &p->sel) {
        if (!in->wiping) {
            member_forget(slot->key, M_SEL, p);
            iso_remove(in, slot->key, p);
        }
    }
    for (size_t i = 0; i < p->n_rules; i++) {
        rule_destroy(in, &p->rules[i]);
    }
    free(p->rules);
    podset_destroy(&p->sel);
    in->n_v4 -= p->n_v4_blocks;
    in->n_v6 -= p->n_v6_blocks;
    struct ins *n = strmap_get(&in->nss, p->np->namespace);
    if (n) {
        strmap_remove(&n->pols, p->key);
    }
    strmap_remove(&in->pols, p->key);
    if (p->pno < in->n_names && in->names[p->pno] == p->key) {
        in->names[p->pno] = NULL;
    }
    for (size_t i = 0; i < in->n_touched; i++) {
        if (in->touched[i] == p) {
            in->touched[i] = NULL;
        }
    }
    if (p->rejected || p->n_warnings) {
        in->lists_stale = true;
    }
    free(p->rejected);
    for (size_t i = 0; i < p->n_warnings; i++) {
        free(p->warnings[i]);
    }
    free(p->warnings);
    free(p->key);
    free(p);
}

/* ---- Runs. ---- */

/* What compile_policy_rules() counts for rule 'r' without its named
 * ports, and with them. */
static void
rule_costs(const struct irule *r, size_t *plain, size_t *named)
{
    size_t c0 = r->c0 ? conj_cost(r->c0) : 0;
    *plain = c0 + (c0 && !r->wildcard ? 0 : r->n_cidrs);
    *named = 0;
    size_t b;
    for (struct strmap_node *node = strmap_first(&r->named, &b); node;
         node = strmap_next(&r->named, node, &b)) {
        *named += conj_cost(node->value);
    }
}

static void
port_warnings(struct incr *in, const struct irule *r, char ***w, size_t *n,
              size_t *allocated)
{
    if (!r->c0 || !in->v4) {
        return;
    }
    for (size_t i = 0; i < r->rule->n_ports; i++) {
        const struct np_port *pp = &r->rule->ports[i];
        if (!pp->name && pp->port && pp->end_port
            && pp->end_port != pp->port) {
            uint16_t values[32], masks[32];
            size_t m = port_range_to_masks(pp->port, pp->end_port, values,
                                           masks);
            if (m > 16) {
                APPEND(*w, *n, *allocated,
                       xasprintf("%s: port range %u-%u needs %zu flows per "
                                 "clause", r->what, pp->port, pp->end_port,
                                 m));
            }
        }
    }
}

/* Decides whether policy 'p' fits the flow limit, puts its conjunctions
 * in or takes them out accordingly, and writes down what it reports, as
 * compile_policy_rules() would. */
static void
pol_settle(struct incr *in, struct ipol *p)
{
    p->touched = false;
    size_t budget = in->opts->max_policy_flows;
    size_t total = 0;
    char *rejected = NULL;
    size_t allocated = 0, n_warnings = 0;
    char **warnings = NULL;
    if (p->sel.n) {
        for (size_t i = 0; i < p->n_rules && !rejected; i++) {
            const struct irule *r = &p->rules[i];
            size_t plain, named;
            rule_costs(r, &plain, &named);
            total += plain;
            if (budget && total > budget) {
                rejected = np_limit_message(r->what, !r->n_names, plain,
                                            r->n_cidrs, total, budget);
                break;
            }
            for (size_t j = 0; j < r->rule->n_peers && r->n_cidrs; j++) {
                const struct np_peer *peer = &r->rule->peers[j];
                if (!peer->is_ipblock) {
                    continue;
                }
                struct cidr_diff d;
                cidr_diff_init(&d, &peer->block, peer->excepts,
                               peer->n_excepts);
                size_t m = cidr_diff_count(&d);
                cidr_diff_destroy(&d);
                if (m > 64) {
                    char b[CIDR_STRLEN];
                    cidr_format(&peer->block, b);
                    APPEND(warnings, n_warnings, allocated,
                           xasprintf("%s: ipBlock %s with %zu excepts "
                                     "becomes %zu CIDRs", r->what, b,
                                     peer->n_excepts, m));
                }
            }
            total += named;
            if (budget && total > budget) {
                rejected = np_limit_message(r->what, true, plain + named,
                                            r->n_cidrs, total, budget);
            }
        }
        if (!rejected) {
            for (size_t i = 0; i < p->n_rules; i++) {
                port_warnings(in, &p->rules[i], &warnings, &n_warnings,
                              &allocated);
            }
        }
    }
    p->fits = !rejected;

    for (size_t i = 0; i < p->n_rules; i++) {
        struct irule *r = &p->rules[i];
        if (r->c0) {
            conj_set_active(in, r->c0, p->fits && conj_complete(r->c0));
        }
        struct iconj **named;
        size_t n;
        conj_iter_sorted(r, &named, &n);
        for (size_t j = 0; j < n; j++) {
            struct iconj *c = named[j];
            if (!c->dims[c->d_dst].n_entries) {
                conj_set_active(in, c, false);
                char key[32];
                snprintf(key, sizeof key, "%zu/%u", c->name_idx, c->number);
                strmap_remove(&r->named, key);
                conj_destroy(in, c);
            } else {
                conj_set_active(in, c, p->fits && conj_complete(c));
            }
        }
        free(named);
    }

    bool same = ((!rejected && !p->rejected)
                 || (rejected && p->rejected
                     && !strcmp(rejected, p->rejected)))
                && n_warnings == p->n_warnings;
    for (size_t i = 0; same && i < n_warnings; i++) {
        same = !strcmp(warnings[i], p->warnings[i]);
    }
    if (!same) {
        in->lists_stale = true;
    }
    free(p->rejected);
    p->rejected = rejected;
    p->rejected_flows = rejected ? total : 0;
    for (size_t i = 0; i < p->n_warnings; i++) {
        free(p->warnings[i]);
    }
    free(p->warnings);
    p->warnings = warnings;
    p->n_warnings = n_warnings;
}

static void
lists_clear(struct incr *in)
{
    for (size_t i = 0; i < in->n_warnings; i++) {
        free(in->warnings[i]);
    }
    free(in->warnings);
    for (size_t i = 0; i < in->n_rejected; i++) {
        free(in->rejected[i].policy);
        free(in->rejected[i].message);
    }
    free(in->rejected);
}

static void
lists_rebuild(struct incr *in)
{
    in->lists_stale = false;
    lists_clear(in);
    in->warnings = NULL;
    in->rejected = NULL;
    in->n_warnings = in->n_rejected = 0;
    size_t aw = 0, ar = 0, n;
    const struct k8s_netpol *const *nps = cluster_netpols(in->cluster, &n);
    for (size_t i = 0; i < n; i++) {
        char *key = xasprintf("%s/%s", nps[i]->namespace, nps[i]->name);
        const struct ipol *p = strmap_get(&in->pols, key);
        free(key);
        if (!p) {
            continue;
        }
        if (p->rejected) {
            struct np_rejected r = {
                .policy = xstrdup(p->key), .message = xstrdup(p->rejected),
                .flows = p->rejected_flows,
            };
            APPEND(in->rejected, in->n_rejected, ar, r);
        }
        for (size_t j = 0; j < p->n_warnings; j++) {
            APPEND(in->warnings, in->n_warnings, aw,
                   xstrdup(p->warnings[j]));
        }
    }
    for (size_t i = 0; i < in->tiers_out.n_warnings; i++) {
        APPEND(in->warnings, in->n_warnings, aw,
               xstrdup(in->tiers_out.warnings[i]));
    }
    const struct k8s_namespace *const *nss = cluster_namespaces(in->cluster,
                                                                &n);
    for (size_t i = 0; i < n; i++) {
        if (nss[i]->audit_error) {
            APPEND(in->warnings, in->n_warnings, aw,
                   xstrdup(nss[i]->audit_error));
        }
    }
    if (in->bucket_warning) {
        APPEND(in->warnings, in->n_warnings, aw,
               xstrdup(in->bucket_warning));
    }
}

static void
families_of_cluster(struct incr *in)
{
    bool v4 = false, v6 = false;
    size_t n;
    const struct k8s_pod *const *pods = cluster_pods(in->cluster, &n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < pods[i]->n_ips; j++) {
            if (pods[i]->ips[j].family == AF_INET6) {
                v6 = true;
            } else {
                v4 = true;
            }
        }
    }
    const struct k8s_netpol *const *nps = cluster_netpols(in->cluster, &n);
    for (size_t p = 0; p < n; p++) {
        for (int d = 0; d < 2; d++) {
            const struct np_rule *rules = d ? nps[p]->ingress : nps[p]->egress;
            size_t nr = d ? nps[p]->n_ingress : nps[p]->n_egress;
            for (size_t r = 0; r < nr; r++) {
                for (size_t i = 0; i < rules[r].n_peers; i++) {
                    const struct np_peer *peer = &rules[r].peers[i];
                    if (peer->is_ipblock) {
                        if (peer->block.addr.family == AF_INET6) {
                            v6 = true;
                        } else {
                            v4 = true;
                        }
                    }
                }
            }
        }
    }
    /* The tiers' peers too, as compile_cluster() counts them: else a
     * run would find the families changed after every full build. */
    in->tiers_v4 = in->tiers_v6 = false;
    np_cnp_families(in->cluster, &in->tiers_v4, &in->tiers_v6);
    v4 = v4 || in->tiers_v4;
    v6 = v6 || in->tiers_v6;
    in->v6 = v6;
    in->v4 = v4 || !v6;
}

/* ---- Ports that carry no pod. ---- */

/* A port that carries no pod: its drops. */
struct uport {
    struct unit u;              /* Owner: OC_UNBOUND, "", 'port'. */
    char *port;
};

static void
uport_free(struct incr *in, struct uport *up)
{
    unit_clear(in, &up->u);
    unit_destroy(&up->u);
    free(up->port);
    free(up);
}

static void
unbound_add(struct incr *in, const char *port)
{
    bool created;
    void **slot = strmap_slot(&in->unbound, port, &created);
    if (!created) {
        return;                 /* Listed twice: its flows are there. */
    }
    struct uport *up = xcalloc(1, sizeof *up);
    up->port = xstrdup(port);
    up->u.owner = (struct owner) { OC_UNBOUND, "", up->port };
    *slot = up;
    void *aux[2];
    struct np_gen g;
    gen_init(in, &up->u, aux, &g);
    np_gen_unbound(&g, port);
}

static void
unbound_remove(struct incr *in, const char *port)
{
    struct uport *up = strmap_remove(&in->unbound, port);
    if (up) {
        uport_free(in, up);
    }
}

/* Takes every unbound port's flows out. */
static void
unbound_clear(struct incr *in)
{
    size_t b;
    for (struct strmap_node *node = strmap_first(&in->unbound, &b); node;
         node = strmap_next(&in->unbound, node, &b)) {
        uport_free(in, node->value);
    }
    strmap_destroy(&in->unbound);
    strmap_init(&in->unbound);
}

/* Takes every policy and pod out, and every entry off its flow: one
 * pass over the flows instead of a search per entry. */
static void
wipe(struct incr *in)
{
    in->wiping = true;
    size_t b;
    for (struct strmap_node *node = strmap_first(&in->pods, &b); node;
         node = strmap_next(&in->pods, node, &b)) {
        struct ipod *x = node->value;
        pod_remove(in, x);
        if (x->u) {
            unit_clear(in, &x->u->deny);
        }
        x->deny_dirty = false;
        x->pending = false;
        x->ns_pending = false;
    }
    in->n_pending = 0;
    in->n_ns_pending = 0;
    in->n_deny_dirty = 0;
    for (struct strmap_node *node = strmap_first(&in->pols, &b); node;
         node = strmap_first(&in->pols, &b)) {
        pol_destroy(in, node->value);
    }
    unit_clear(in, &in->infra);
    unit_clear(in, &in->node);
    unit_clear(in, &in->tiers);
    for (struct strmap_node *node = strmap_first(&in->caddrs, &b); node;
         node = strmap_first(&in->caddrs, &b)) {
        caddr_free(in, node->value, node->key);
    }
    for (size_t i = 0; i < in->n_cls_pending; i++) {
        in->cls_pending[i]->cls_pending = false;
    }
    in->n_cls_pending = 0;
    in->class_flows = false;
    unbound_clear(in);
    for (size_t i = 0; i < in->n_touched; i++) {
        if (in->touched[i]) {
            in->touched[i]->touched = false;
        }
    }
    in->n_touched = 0;
    in->wiping = false;
    for (size_t i = 0; in->keys && i <= in->keys_mask; i++) {
        struct fkey *fk = in->keys[i];
        if (fk) {
            fk->n = 0;
            conj_list_unref(fk->conj);
            fk->conj = NULL;
            free(fk->ops);
            fk->ops = NULL;
            fk->n_ops = fk->allocated_ops = 0;
            key_dirty(in, fk);
        }
    }
}

/* The rules of the ClusterNetworkPolicy tiers again, whole
 * (compile_tier_rules()); only flows that changed reach the table. */
static void
tiers_build(struct incr *in)
{
    in->rules_dirty = false;
    size_t n_before = in->tiers.n;
    unit_clear(in, &in->tiers);
    np_flowset_destroy(&in->tiers_out);
    bool any_subject = false;
    if (cluster_count(in->cluster, OBJ_CNP)) {
        in->stats.tier_builds++;
        any_subject = compile_tier_rules(in->cluster, &in->gopts,
                                         &in->classes, &in->tiers_out);
        void *aux[2];
        struct np_gen g;
        gen_init(in, &in->tiers, aux, &g);
        for (size_t i = 0; i < in->tiers_out.n_flows; i++) {
            const struct np_flow *f = &in->tiers_out.flows[i];
            unit_direct(aux, f->table, f->priority, f->cookie, f->match,
                        f->actions, NULL);
        }
        in->lists_stale = true;
    } else {
        in->lists_stale |= n_before > 0;
    }
    if (any_subject != in->class_flows) {
        in->class_flows = any_subject;
        cls_pending_all(in);
    }
}

/* The tiers after this run's events: classes, bits, rules, then the
 * classifying flows of the pods whose classes or bits changed. */
static void
tiers_update(struct incr *in)
{
    if (in->cnps_changed) {
        classes_sync(in);
    }
    if (in->classes_dirty) {
        in->classes_dirty = false;
        if (cnp_classes_assign(&in->classes, in->opts->peer_class_min)) {
            in->rules_dirty = true;
            cls_pending_all(in);
        }
    }
    if (in->rules_dirty) {
        tiers_build(in);
    }
    for (size_t i = 0; i < in->n_cls_pending; i++) {
        cls_settle(in, in->cls_pending[i]);
    }
    in->n_cls_pending = 0;
}

/* Takes everything down and builds it again from the cluster, in the
 * order compile_cluster() works in, so that a first run numbers rules as
 * it does. */
static void
full_build(struct incr *in)
{
    in->full = false;
    in->stats.full_builds++;
    wipe(in);
    in->n_pending = 0;
    size_t n;
    strmap_destroy(&in->pending_pols);
    strmap_init(&in->pending_pols);
    families_of_cluster(in);
    /* The classes from nothing: the sync at this run counts every pod. */
    cnp_classes_destroy(&in->classes);
    cnp_classes_init(&in->classes);
    in->cnps_changed = true;
    in->classes_dirty = false;
    in->rules_dirty = true;
    size_t b0;
    for (struct strmap_node *node = strmap_first(&in->nss, &b0); node;
         node = strmap_next(&in->nss, node, &b0)) {
        ns_refresh(in, node->value);
    }
    in->gopts = *in->opts;
    in->gopts.buckets = in->buckets;
    void *aux[2];
    struct np_gen g;
    gen_init(in, &in->infra, aux, &g);
    np_gen_infra(&g);
    gen_init(in, &in->node, aux, &g);
    np_gen_node(&g);
    for (size_t i = 0; i < in->opts->n_unbound_ports; i++) {
        unbound_add(in, in->opts->unbound_ports[i]);
    }

    in->bulk = true;
    const struct k8s_netpol *const *nps = cluster_netpols(in->cluster, &n);
    for (size_t i = 0; i < n; i++) {
        char *key = xasprintf("%s/%s", nps[i]->namespace, nps[i]->name);
        pol_build(in, key);
        free(key);
    }
    const struct k8s_pod *const *pods = cluster_pods(in->cluster, &n);
    for (size_t i = 0; i < n; i++) {
        pod_get(in, pods[i]->namespace, pods[i]->name, true);
    }
    for (size_t i = 0; i < in->opts->n_bound_ports; i++) {
        const struct compile_bound_port *bp = &in->opts->bound_ports[i];
        pod_get(in, bp->ns, bp->name, true);
    }
    size_t b;
    for (struct strmap_node *node = strmap_first(&in->pods, &b); node;
         node = strmap_next(&in->pods, node, &b)) {
        pod_eval(in, node->value);
    }
    for (struct strmap_node *node = strmap_first(&in->pods, &b); node;
         node = strmap_next(&in->pods, node, &b)) {
        /* Grown by doubling while the sets filled: a pod is in dozens of
         * sets, 50,000 pods of them. */
        struct ipod *x = node->value;
        if (x->allocated_m > x->n_m + x->n_m / 4 + 2) {
            x->allocated_m = x->n_m + 1;
            x->m = xrealloc(x->m, x->allocated_m * sizeof *x->m);
        }
    }
    in->bulk = false;
    nps = cluster_netpols(in->cluster, &n);
    for (size_t i = 0; i < n; i++) {
        char *key = xasprintf("%s/%s", nps[i]->namespace, nps[i]->name);
        struct ipol *p = strmap_get(&in->pols, key);
        free(key);
        if (p) {
            touch(in, p);
        }
    }
    in->lists_stale = true;
    free(in->bucket_warning);
    in->bucket_warning = NULL;
}

size_t
incr_run(struct incr *in)
{
    size_t changes = 0;
    for (;;) {
        if (in->full) {
            full_build(in);
        } else {
            size_t b;
            for (struct strmap_node *node = strmap_first(&in->pending_pols,
                                                         &b);
                 node; node = strmap_next(&in->pending_pols, node, &b)) {
                pol_build(in, node->key);
            }
            strmap_destroy(&in->pending_pols);
            strmap_init(&in->pending_pols);
            for (size_t i = 0; i < in->n_pending; i++) {
                struct ipod *x = in->pending[i];
                x->pending = false;
                pod_eval(in, x);
            }
            in->n_pending = 0;
            for (size_t i = 0; i < in->n_ns_pending; i++) {
                struct ipod *x = in->ns_pending[i];
                x->ns_pending = false;
                pod_reeval_peers(in, x);
                if (x->in && np_pod_eligible(x->pod)) {
                    cls_reeval(in, x);
                }
            }
            in->n_ns_pending = 0;
        }
        if (in->cnps_changed) {
            in->tiers_v4 = in->tiers_v6 = false;
            np_cnp_families(in->cluster, &in->tiers_v4, &in->tiers_v6);
        }
        bool v6 = in->n_v6 > 0 || in->tiers_v6;
        bool v4 = in->n_v4 > 0 || in->tiers_v4 || !v6;
        if (v4 != in->v4 || v6 != in->v6) {
            /* Port matches exist per family in use: all of them change. */
            in->full = true;
            continue;
        }
        for (size_t i = 0; i < in->n_touched; i++) {
            if (in->touched[i]) {
                pol_settle(in, in->touched[i]);
            }
        }
        in->n_touched = 0;
        for (size_t i = 0; i < in->n_deny_dirty; i++) {
            deny_update(in, in->deny_dirty[i]);
        }
        in->n_deny_dirty = 0;
        tiers_update(in);
        in->need_buckets = false;
        for (size_t i = 0; i < in->n_dirty; i++) {
            changes += key_merge(in, in->dirty[i]);
        }
        in->n_dirty = 0;
        if (in->need_buckets && in->buckets < MAX_BUCKETS) {
            /* A flow with too many conjunction actions: spread rules over
             * more priorities, which moves every rule. */
            in->buckets *= 2;
            in->full = true;
            continue;
        }
        if (in->need_buckets && !in->bucket_warning) {
            in->bucket_warning = xasprintf(
                "a flow carries more than %d conjunction actions even over "
                "%u priorities: the switch may refuse it",
                MAX_CONJ_PER_FLOW, in->buckets);
            in->lists_stale = true;
        }
        break;
    }

    /* Records of pods that are gone and have no port. */
    for (size_t i = 0; i < in->n_gone; i++) {
        struct ipod *x = in->gone[i];
        x->gone = false;
        if (!x->in && !x->pending && !x->u) {
            pod_free(in, x);
        }
    }
    in->n_gone = 0;
    if (in->lists_stale) {
        lists_rebuild(in);
    }
    return changes;
}

/* ---- Interface. ---- */

struct incr *
incr_create(const struct compile_options *opts, const struct cluster *cluster,
            struct flowtab *desired)
{
    struct incr *in = xcalloc(1, sizeof *in);
    in->opts = opts;
    in->cluster = cluster;
    in->desired = desired;
    in->buckets = opts->buckets ? opts->buckets : 1;
    in->gopts = *opts;
    in->gopts.buckets = in->buckets;
    in->infra.owner = (struct owner) { OC_INFRA, "", "" };
    in->node.owner = (struct owner) { OC_NODE, "", "" };
    in->tiers.owner = (struct owner) { OC_TIERS, "", "" };
    strmap_init(&in->unbound);
    in->keys_mask = 255;
    in->keys = xcalloc(in->keys_mask + 1, sizeof *in->keys);
    strmap_init(&in->pods);
    strmap_init(&in->nss);
    strmap_init(&in->pols);
    strmap_init(&in->label_index);
    strmap_init(&in->matches);
    strmap_init(&in->psets);
    strmap_init(&in->peer_index);
    strmap_init(&in->pending_pols);
    cnp_classes_init(&in->classes);
    strmap_init(&in->caddrs);
    in->full = true;
    return in;
}

void
incr_destroy(struct incr *in)
{
    if (!in) {
        return;
    }
    wipe(in);
    size_t b;
    for (struct strmap_node *node = strmap_first(&in->pods, &b); node;
         node = strmap_first(&in->pods, &b)) {
        pod_free(in, node->value);
    }
    unit_destroy(&in->tiers);
    np_flowset_destroy(&in->tiers_out);
    cnp_classes_destroy(&in->classes);
    strmap_destroy(&in->caddrs);    /* wipe() emptied it. */
    free(in->cls_pending);
    unit_destroy(&in->infra);
    unit_destroy(&in->node);
    strmap_destroy(&in->unbound);   /* wipe() emptied it. */
    for (size_t i = 0; i <= in->keys_mask; i++) {
        struct fkey *fk = in->keys[i];
        if (fk) {
            match_release(in, fk->m);
            free(fk->e);
            conj_list_unref(fk->conj);
            free(fk->ops);
            free(fk);
        }
    }
    free(in->keys);
    for (struct strmap_node *node = strmap_first(&in->nss, &b); node;
         node = strmap_next(&in->nss, node, &b)) {
        struct ins *n = node->value;
        labels_destroy(&n->labels);
        podset_destroy(&n->pods);
        strmap_destroy(&n->pols);
        free(n->name);
        free(n);
    }
    strmap_destroy(&in->nss);
    strmap_destroy(&in->pods);
    strmap_destroy(&in->pols);
    strmap_destroy(&in->label_index);
    for (struct strmap_node *node = strmap_first(&in->matches, &b); node;
         node = strmap_next(&in->matches, node, &b)) {
        struct imatch *m = node->value;
        free(m->text);
        free(m);
    }
    strmap_destroy(&in->matches);
    strmap_destroy(&in->psets);
    strmap_destroy(&in->peer_index);
    strmap_destroy(&in->pending_pols);
    free(in->named_egress.r);
    free(in->dirty);
    free(in->pending);
    free(in->touched);
    free(in->deny_dirty);
    free(in->gone);
    free(in->ns_pending);
    free(in->names);
    lists_clear(in);
    free(in->bucket_warning);
    free(in);
}

void
incr_pod_before(struct incr *in, const char *ns, const char *name)
{
    struct ipod *x = pod_get(in, ns, name, false);
    if (x) {
        pod_remove(in, x);
    }
}

void
incr_pod_after(struct incr *in, const char *ns, const char *name)
{
    if (!in->full) {
        pending_add(in, pod_get(in, ns, name, true));
    }
}

void
incr_pod_replaced(struct incr *in, const char *ns, const char *name)
{
    struct ipod *x = pod_get(in, ns, name, false);
    if (x && x->in) {
        x->pod = cluster_find_pod(in->cluster, ns, name);
    }
}

void
incr_policy_before(struct incr *in, const char *ns, const char *name)
{
    char *key = xasprintf("%s/%s", ns, name);
    struct ipol *p = strmap_get(&in->pols, key);
    free(key);
    if (p) {
        pol_destroy(in, p);
    }
}

void
incr_policy_after(struct incr *in, const char *ns, const char *name)
{
    if (!in->full) {
        char *key = xasprintf("%s/%s", ns, name);
        *strmap_slot(&in->pending_pols, key, NULL) = (void *) 1;
        free(key);
    }
}

void
incr_namespace_before(struct incr *in, const char *name)
{
    /* Its pods stay in their sets: what changes is which peer sets and
     * classes have them, once its labels are new (incr_namespace_after()). */
    (void) in;
    (void) name;
}

void
incr_namespace_after(struct incr *in, const char *name)
{
    struct ins *n = ns_get(in, name);
    int audit = n->audit;
    ns_refresh(in, n);
    in->lists_stale = true;     /* Its annotation may be (in)valid now. */
    if (audit != n->audit && !in->full) {
        PODSET_FOR_EACH (slot, &n->pods) {
            deny_dirty(in, slot->key);
        }
        size_t b;
        for (struct strmap_node *node = strmap_first(&n->pols, &b); node;
             node = strmap_next(&n->pols, node, &b)) {
            struct ipol *p = node->value;
            for (size_t i = 0; i < p->n_rules; i++) {
                struct irule *r = &p->rules[i];
                if (r->c0) {
                    conj_audit_sync(in, r->c0);
                }
                size_t b2;
                for (struct strmap_node *cn = strmap_first(&r->named, &b2);
                     cn; cn = strmap_next(&r->named, cn, &b2)) {
                    conj_audit_sync(in, cn->value);
                }
            }
        }
    }
    PODSET_FOR_EACH (slot, &n->pods) {
        struct ipod *x = slot->key;
        if (!x->ns_pending) {
            x->ns_pending = true;
            APPEND(in->ns_pending, in->n_ns_pending, in->allocated_ns_pending,
                   x);
        }
    }
}

void
incr_unbound_port(struct incr *in, const char *port, bool unbound)
{
    if (in->full) {
        return;                 /* The build takes opts->unbound_ports. */
    }
    if (unbound) {
        unbound_add(in, port);
    } else {
        unbound_remove(in, port);
    }
}

void
incr_force_full(struct incr *in)
{
    in->full = true;
}

unsigned int
incr_buckets(const struct incr *in)
{
    return in->buckets;
}

void
incr_get_stats(const struct incr *in, struct incr_stats *st)
{
    *st = in->stats;
}

const char *const *
incr_warnings(const struct incr *in, size_t *n)
{
    *n = in->n_warnings;
    return (const char *const *) in->warnings;
}

const struct np_rejected *
incr_rejected(const struct incr *in, size_t *n)
{
    *n = in->n_rejected;
    return in->rejected;
}

const char *
incr_policy_name(const struct incr *in, uint32_t pno)
{
    if (pno < in->n_names && in->names[pno]) {
        return in->names[pno];
    }
    return (pno < in->tiers_out.n_names ? in->tiers_out.names[pno] : NULL);
}

void
incr_tiers_changed(struct incr *in)
{
    in->cnps_changed = true;
}
