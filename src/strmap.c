#include "strmap.h"

#include <stdlib.h>
#include <string.h>
#include "np-util.h"

void
strmap_init(struct strmap *m)
{
    m->n_buckets = 16;
    m->buckets = xcalloc(m->n_buckets, sizeof *m->buckets);
    m->n = 0;
}

void
strmap_destroy(struct strmap *m)
{
    if (!m->buckets) {
        return;
    }
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct strmap_node *node = m->buckets[i];
        while (node) {
            struct strmap_node *next = node->next;
            free(node->key);
            free(node);
            node = next;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->n = 0;
}

/* FNV-1a: keys are short text and this is not exposed to adversaries that
 * could pick colliding names at a scale that matters. */
uint32_t
strmap_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t) s[i]) * 16777619u;
    }
    return h;
}

static void
strmap_expand(struct strmap *m)
{
    size_t n_buckets = m->n_buckets * 2;
    struct strmap_node **buckets = xcalloc(n_buckets, sizeof *buckets);
    for (size_t i = 0; i < m->n_buckets; i++) {
        struct strmap_node *node = m->buckets[i];
        while (node) {
            struct strmap_node *next = node->next;
            size_t b = node->hash & (n_buckets - 1);
            node->next = buckets[b];
            buckets[b] = node;
            node = next;
        }
    }
    free(m->buckets);
    m->buckets = buckets;
    m->n_buckets = n_buckets;
}

static struct strmap_node *
strmap_find(const struct strmap *m, const char *key, uint32_t hash)
{
    for (struct strmap_node *node = m->buckets[hash & (m->n_buckets - 1)];
         node; node = node->next) {
        if (node->hash == hash && !strcmp(node->key, key)) {
            return node;
        }
    }
    return NULL;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
    struct strmap_node *node = strmap_find(m, key,
                                           strmap_hash(key, strlen(key)));
    return node ? node->value : NULL;
}

void **
strmap_slot(struct strmap *m, const char *key, bool *created)
{
    size_t len = strlen(key);
    uint32_t hash = strmap_hash(key, len);
    struct strmap_node *node = strmap_find(m, key, hash);
    if (node) {
        if (created) {
            *created = false;
        }
        return &node->value;
    }
    if (m->n >= m->n_buckets) {
        strmap_expand(m);
    }
    node = xmalloc(sizeof *node);
    node->hash = hash;
    node->key = xmemdup0(key, len);
    node->value = NULL;
    size_t b = hash & (m->n_buckets - 1);
    node->next = m->buckets[b];
    m->buckets[b] = node;
    m->n++;
    if (created) {
        *created = true;
    }
    return &node->value;
}

void *
strmap_remove(struct strmap *m, const char *key)
{
    uint32_t hash = strmap_hash(key, strlen(key));
    struct strmap_node **prev = &m->buckets[hash & (m->n_buckets - 1)];
    for (struct strmap_node *node = *prev; node; prev = &node->next,
         node = node->next) {
        if (node->hash == hash && !strcmp(node->key, key)) {
            void *value = node->value;
            *prev = node->next;
            free(node->key);
            free(node);
            m->n--;
            return value;
        }
    }
    return NULL;
}

struct strmap_node *
strmap_first(const struct strmap *m, size_t *bucket)
{
    for (*bucket = 0; *bucket < m->n_buckets; (*bucket)++) {
        if (m->buckets[*bucket]) {
            return m->buckets[*bucket];
        }
    }
    return NULL;
}

struct strmap_node *
strmap_next(const struct strmap *m, struct strmap_node *node, size_t *bucket)
{
    if (node->next) {
        return node->next;
    }
    for ((*bucket)++; *bucket < m->n_buckets; (*bucket)++) {
        if (m->buckets[*bucket]) {
            return m->buckets[*bucket];
        }
    }
    return NULL;
}
