/* A hash map from strings to pointers, with owned copies of the keys.
 * Used for object lookups by name and for the compiler's caches keyed by
 * canonical text (selectors, flow matches). */
#ifndef NP_STRMAP_H
#define NP_STRMAP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strmap_node {
    struct strmap_node *next;
    uint32_t hash;
    char *key;
    void *value;
};

struct strmap {
    struct strmap_node **buckets;
    size_t n_buckets;           /* A power of 2. */
    size_t n;
};

void strmap_init(struct strmap *);
/* Frees the nodes and keys, not the values. */
void strmap_destroy(struct strmap *);
uint32_t strmap_hash(const char *, size_t len);

/* Returns the value for 'key', or NULL. */
void *strmap_get(const struct strmap *, const char *key);
/* Returns the slot for 'key', creating it with a NULL value if absent, so
 * that a caller can look up and insert with one hash. */
void **strmap_slot(struct strmap *, const char *key, bool *created);
/* Removes 'key' and returns its value, or NULL if absent. */
void *strmap_remove(struct strmap *, const char *key);

/* Iteration: for (node = strmap_first(m, &b); node; node = strmap_next(m, node, &b)) */
struct strmap_node *strmap_first(const struct strmap *, size_t *bucket);
struct strmap_node *strmap_next(const struct strmap *, struct strmap_node *,
                                size_t *bucket);

#endif
