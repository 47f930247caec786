/* Peer classes of ClusterNetworkPolicy rules (ovs/pipeline.md, "Peer
 * classes"), as both compilers keep them: src/compile-cnp.c, which counts
 * them over the whole cluster at once, and src/incr.c, which keeps the
 * counts and each pod's classes up to date one event at a time.  What
 * makes a class, which bit it gets and the text of its flows live here,
 * once, so that the two agree.
 *
 * A class is a pod set that rules name as peers, in one direction: the
 * destinations of egress rules (reg2) or the sources of ingress rules
 * (reg3).  Its key is its selectors' text.  It gets a bit when it has at
 * least opts->peer_class_min addresses (the first NP_PEER_CLASS_BITS that
 * qualify, in the order of the keys), the one its key hashes to or the
 * next free (cnp_classes_assign()); then the rules match it with one
 * register clause, and the first flows of the admin tables set the bits
 * of a packet's address.  A set with no bit is matched by its addresses
 * in each rule, as before classes.
 *
 * Not an interface: only those two files include it. */
#ifndef NP_CNP_CLASS_H
#define NP_CNP_CLASS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cnp.h"
#include "strmap.h"

struct np_gen;
struct labels;
struct ip_addr;

struct cnp_class {
    char *key;                  /* Selectors' text: ns "|" pod. */
    bool ingress;               /* Sources (reg3), else destinations. */
    struct cnp_pods sel;        /* A copy: it outlives the policy. */
    bool named_egress;          /* An egress rule with a named port names
                                 * it: the rule resolves the port on each
                                 * of its pods, so they are in its flows
                                 * whatever the bit. */
    size_t n_addrs;             /* Of the eligible pods it selects: kept
                                 * by the caller. */
    int bit;                    /* -1: none. */
    bool seen, named_now;       /* cnp_classes_sync()'s. */
};

/* Classes live in numbered slots, which stay while the class does: a
 * caller may keep, per pod, a bitmap of the slots that select it. */
struct cnp_classes {
    struct cnp_class **slots;   /* NULL: free. */
    size_t n_slots;
    struct strmap idx;          /* 'e' or 'i', key -> slot + 1. */
    uint32_t mask[2];           /* Bits given: [0] reg2, [1] reg3. */
};

#define CNP_CLASS_WORDS(N_SLOTS) (((N_SLOTS) + 63) / 64)

static inline bool
cnp_class_member(const uint64_t *members, size_t n_words, size_t slot)
{
    return slot / 64 < n_words && (members[slot / 64] >> (slot % 64)) & 1;
}

void cnp_classes_init(struct cnp_classes *);
void cnp_classes_destroy(struct cnp_classes *);

/* Makes the classes those that the rules of 'cnps' name ('namespaces' and
 * 'pods' peers of rules that do not fail closed).  A class that stays
 * keeps its slot and count.  The slots of new classes (count 0: the
 * caller counts their pods) are appended to '*added', those of classes
 * that went (now free) to '*removed' (each may be NULL).  Returns whether
 * anything changed, a class's 'named_egress' included. */
bool cnp_classes_sync(struct cnp_classes *, const struct k8s_cnp *const *cnps,
                      size_t n, size_t **added, size_t *n_added,
                      size_t **removed, size_t *n_removed);

/* Gives the bits from the counts, 'min' addresses or more (0: no class
 * gets a bit), and their ranks (where two classes would rather have the
 * same bit, the one of higher rank keeps it).  Returns whether any
 * class's bit changed.  So a bit changes only when a class comes or
 * goes, qualifies or no longer does, or changes rank. */
bool cnp_classes_assign(struct cnp_classes *, unsigned int min);

/* The order of magnitude of 'cl''s size (log2 of its addresses; -1 for
 * none). */
int cnp_class_rank(const struct cnp_class *cl);

/* Whether class 'cl' selects a pod with labels 'pl' in a namespace with
 * labels 'nsl' (as selectors see them). */
bool cnp_class_selects(const struct cnp_class *cl, const struct labels *nsl,
                       const struct labels *pl);

/* The class of peer selectors 'sel' of a rule of direction 'ingress', or
 * NULL. */
const struct cnp_class *cnp_classes_find(const struct cnp_classes *,
                                         bool ingress,
                                         const struct cnp_pods *sel);

/* The bits of direction 'ingress' of the slots in 'members'. */
uint32_t cnp_classes_mask(const struct cnp_classes *, bool ingress,
                          const uint64_t *members, size_t n_words);

/* Whether the rules' flows name pods of a slot in 'members' one by one
 * (a class without a bit, or one that resolves named ports): then an
 * event of such a pod changes the rules, not only the classifying flows. */
bool cnp_classes_in_rules(const struct cnp_classes *,
                          const uint64_t *members, size_t n_words);

/* The classifying flows (ovs/pipeline.md, "Peer classes"): address 'addr'
 * is in the classes 'mask' of direction 'ingress' (the source's classes
 * for ingress rules, the destination's for egress rules); and the miss,
 * for a packet whose address is in no class.  Both only on a node where
 * some policy's subject selects a local pod, and the first only for an
 * address some class selects (two pods may share an address for a while:
 * 'mask' is then the union of theirs). */
void np_gen_class_addr(const struct np_gen *, const struct ip_addr *addr,
                       bool ingress, uint32_t mask);
void np_gen_class_miss(const struct np_gen *, bool ingress);

#endif
