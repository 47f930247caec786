/* cookie: the layout of our OpenFlow cookies, written down once.
 *
 *    63        48 47       40 39     32 31                12 11         0
 *   +------------+-----------+---------+--------------------+------------+
 *   | 0x4e50 "NP"| generation| kind    | policy number      | rule slot  |
 *   +------------+-----------+---------+--------------------+------------+
 *
 * The prefix tells our flows from everybody else's, so that a dump, a
 * count or a delete by cookie mask touches only ours.  The generation is
 * the daemon run that installed the flow (installer.h): the compiler
 * writes 0, the installer its own as the flows go out, and a new run
 * replaces every older generation in one bundle.  The kind, policy number
 * and rule slot say what the flow is for, so that 'ovs-netpol explain' and
 * 'trace' can name the policy and rule; a policy keeps its number for its
 * lifetime (compile.h, 'policy_ids').  The rule slot is the rule's index,
 * with bit 11 set for ingress.  See ovs/pipeline.md, "Cookies".
 *
 * Pure: no I/O. */
#ifndef NP_COOKIE_H
#define NP_COOKIE_H 1

#include <stdbool.h>
#include <stdint.h>

#define NP_COOKIE_PREFIX UINT64_C(0x4e50)       /* "NP" */
#define NP_COOKIE_MASK_OURS UINT64_C(0xffff000000000000)
#define NP_COOKIE_MASK_GEN UINT64_C(0xffffff0000000000)

/* With NP_COOKIE_MASK_OURS: every flow of ours, of any generation. */
#define NP_COOKIE_OURS (NP_COOKIE_PREFIX << 48)
/* With NP_COOKIE_MASK_GEN: our flows of generation 'G' (a constant
 * expression, for tests' tables too). */
#define NP_COOKIE_OURS_GEN(G) (NP_COOKIE_OURS | (uint64_t) (uint8_t) (G) << 40)

enum np_cookie_kind {
    NPC_INFRA = 1,              /* Classify, state, spoof guard, commit. */
    NPC_CLAUSE = 2,             /* Conjunction clauses shared by rules. */
    NPC_RULE = 3,               /* A rule's conj_id or direct flow. */
    NPC_ISOLATION = 4,          /* Default deny of an isolated pod. */
    NPC_AUDIT = 5,              /* A rule's audit copy in the commit
                                 * table (pipeline.md, "Audit"). */
    NPC_CNP = 6,                /* A ClusterNetworkPolicy rule's flow:
                                 * the policy number is the CNP's. */
};

/* A cookie of ours, field by field. */
struct np_cookie {
    uint8_t generation;
    uint8_t kind;               /* enum np_cookie_kind; decoded, any. */
    uint32_t policy;            /* 20 bits: the policy number. */
    bool ingress;               /* Bit 11 of the rule slot. */
    uint16_t rule;              /* 11 bits: the rule's index. */
};

/* The 12-bit rule slot of 'c'. */
static inline uint16_t
np_cookie_slot(const struct np_cookie *c)
{
    return (c->ingress ? 0x800 : 0) | (c->rule & 0x7ff);
}

/* Sets 'c''s direction and rule from the 12-bit rule slot 'slot'. */
static inline void
np_cookie_set_slot(struct np_cookie *c, uint16_t slot)
{
    c->ingress = (slot & 0x800) != 0;
    c->rule = slot & 0x7ff;
}

/* Our cookie for 'c'; fields wider than their bits are cut. */
static inline uint64_t
np_cookie_encode(const struct np_cookie *c)
{
    return NP_COOKIE_OURS_GEN(c->generation)
           | (uint64_t) c->kind << 32
           | (uint64_t) (c->policy & 0xfffff) << 12
           | np_cookie_slot(c);
}

/* Fills '*c' from 'cookie' and returns true if the cookie is ours; if it
 * is not, returns false, and '*c' means nothing. */
static inline bool
np_cookie_decode(uint64_t cookie, struct np_cookie *c)
{
    c->generation = (cookie >> 40) & 0xff;
    c->kind = (cookie >> 32) & 0xff;
    c->policy = (cookie >> 12) & 0xfffff;
    np_cookie_set_slot(c, cookie & 0xfff);
    return (cookie & NP_COOKIE_MASK_OURS) == NP_COOKIE_OURS;
}

static inline uint8_t
np_cookie_generation(uint64_t cookie)
{
    return (cookie >> 40) & 0xff;
}

/* 'cookie' with its generation replaced by 'generation'. */
static inline uint64_t
np_cookie_set_generation(uint64_t cookie, uint8_t generation)
{
    return (cookie & ~(NP_COOKIE_MASK_GEN & ~NP_COOKIE_MASK_OURS))
           | (uint64_t) generation << 40;
}

#endif
