/* IP addresses and CIDR blocks, IPv4 and IPv6, and the CIDR arithmetic the
 * compiler needs (ipBlock 'except' as a set difference).  Pure functions. */
#ifndef NP_ADDR_H
#define NP_ADDR_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An IPv4 address uses bytes[0..3]; the rest stays zero. */
struct ip_addr {
    int family;                 /* AF_INET or AF_INET6. */
    uint8_t bytes[16];
};

struct cidr {
    struct ip_addr addr;        /* Host bits beyond 'plen' are zero. */
    int plen;
};

#define IP_ADDR_STRLEN 46       /* INET6_ADDRSTRLEN. */
#define CIDR_STRLEN (IP_ADDR_STRLEN + 4)

/* Parses an address in the API server's accepted syntax.  Returns true on
 * success. */
bool ip_addr_parse(const char *, struct ip_addr *);
/* Parses a comma-separated list of addresses into a malloc'd array;
 * returns NULL, or a malloc'd message naming the first bad word. */
char *ip_addr_parse_list(const char *, struct ip_addr **, size_t *n);
void ip_addr_format(const struct ip_addr *, char buf[IP_ADDR_STRLEN]);
int ip_addr_cmp(const struct ip_addr *, const struct ip_addr *);

/* Parses "a.b.c.d/n" or "x::y/n".  As the API server (since 1.24 validation
 * of NetworkPolicy ipBlock uses ParseCIDR), host bits beyond the prefix are
 * accepted and cleared; '*had_host_bits' tells whether there were any.
 * Returns NULL on success, otherwise a malloc'd message the caller frees. */
char *cidr_parse(const char *, struct cidr *, bool *had_host_bits)
    __attribute__((warn_unused_result));
void cidr_format(const struct cidr *, char buf[CIDR_STRLEN]);
bool cidr_contains_addr(const struct cidr *, const struct ip_addr *);
/* True if 'inner' lies wholly inside 'outer' (same family). */
bool cidr_contains(const struct cidr *outer, const struct cidr *inner);
int cidr_cmp(const struct cidr *, const struct cidr *);
int cidr_max_plen(int family);

/* 'block' minus the CIDRs of an ipBlock's 'except' list, prepared once so
 * that counting, listing and membership are cheap: O(n log n) to prepare
 * for n excepts, O(n * address bits) to count or list (without
 * allocating, to count), O(log n) to test an address.  The count comes
 * first, so a caller can refuse a list too long before building it. */
struct cidr_diff {
    struct cidr block;
    struct cidr *excepts;       /* Those inside 'block', sorted, disjoint. */
    size_t n_excepts;
    bool empty;                 /* An except covers all of 'block'. */
};

/* Excepts of another family than 'block', or outside it, are ignored. */
void cidr_diff_init(struct cidr_diff *, const struct cidr *block,
                    const struct cidr *excepts, size_t n_excepts);
void cidr_diff_destroy(struct cidr_diff *);
/* How many CIDRs cidr_diff_list() gives. */
size_t cidr_diff_count(const struct cidr_diff *);
/* The fewest disjoint CIDRs that cover the difference, sorted.  Returns a
 * malloc'd array that the caller frees and stores its length in '*n'. */
struct cidr *cidr_diff_list(const struct cidr_diff *, size_t *n);
bool cidr_diff_contains(const struct cidr_diff *, const struct ip_addr *);

/* cidr_diff_list() of 'block' minus 'excepts', in one call. */
struct cidr *cidr_difference(const struct cidr *block,
                             const struct cidr *excepts, size_t n_excepts,
                             size_t *n);

/* Covers the inclusive port range [lo, hi] with value/mask pairs, the fewest
 * possible (at most 30 for 16 bits).  Writes them into 'values' and 'masks'
 * (each with room for 32) and returns how many. */
size_t port_range_to_masks(uint16_t lo, uint16_t hi,
                           uint16_t values[32], uint16_t masks[32]);

#endif
