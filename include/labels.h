/* Label sets and label selectors (metav1.LabelSelector).
 *
 * Pure data and pure functions: no I/O, no JSON.  A 'struct labels' is kept
 * sorted by key with unique keys, so lookups are binary searches and two
 * sets compare with memcmp-like loops.  Selectors follow the Kubernetes
 * semantics exactly: every matchLabels pair and every matchExpressions
 * requirement must hold; 'NotIn' and 'DoesNotExist' hold for objects that
 * lack the key; an empty selector ({}) selects everything. */
#ifndef NP_LABELS_H
#define NP_LABELS_H 1

#include <stdbool.h>
#include <stddef.h>

struct label {
    char *key;
    char *value;
};

/* A set of labels, sorted by key, keys unique. */
struct labels {
    struct label *items;
    size_t n;
};

void labels_init(struct labels *);
void labels_destroy(struct labels *);
/* Sets 'key' to 'value' (copies both), replacing an existing value. */
void labels_set(struct labels *, const char *key, const char *value);
/* Returns the value of 'key', or NULL when absent. */
const char *labels_get(const struct labels *, const char *key);
void labels_clone(struct labels *dst, const struct labels *src);
bool labels_equal(const struct labels *, const struct labels *);

enum sel_op {
    SEL_IN,
    SEL_NOT_IN,
    SEL_EXISTS,
    SEL_DOES_NOT_EXIST,
};

struct sel_expr {
    char *key;
    enum sel_op op;
    char **values;              /* Sorted, unique; empty for (Does[Not])Exist. */
    size_t n_values;
};

struct selector {
    struct labels match_labels;
    struct sel_expr *exprs;
    size_t n_exprs;
};

void selector_init(struct selector *);
void selector_destroy(struct selector *);
void selector_clone(struct selector *dst, const struct selector *src);
/* Appends a requirement; copies 'key' and 'values' (which it sorts and
 * de-duplicates in its own copy). */
void selector_add_expr(struct selector *, const char *key, enum sel_op,
                       const char *const *values, size_t n_values);
bool selector_is_empty(const struct selector *);
bool selector_matches(const struct selector *, const struct labels *);
/* Writes a canonical text form of the selector into a malloc'd string that
 * the caller frees: equal selectors give equal strings, so the text can key
 * caches of selector results.  It is also what people read in logs, e.g.
 * "app=db,tier in (a,b),!legacy". An empty selector gives "". */
char *selector_to_string(const struct selector *);

#endif
