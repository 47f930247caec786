#include "cluster.h"

#include <stdlib.h>
#include <string.h>
#include "cnp.h"
#include "np-util.h"
#include "strmap.h"

struct kind_table {
    struct strmap by_key;       /* k8s_object_key() -> k8s_object. */
    const void **sorted;        /* Lazily rebuilt; NULL when stale. */
    size_t n_sorted;
};

struct cluster {
    struct kind_table kinds[OBJ_N_KINDS];
};

struct cluster *
cluster_create(void)
{
    struct cluster *c = xcalloc(1, sizeof *c);
    for (int k = 0; k < OBJ_N_KINDS; k++) {
        strmap_init(&c->kinds[k].by_key);
    }
    return c;
}

static void
kind_table_invalidate(struct kind_table *t)
{
    free(t->sorted);
    t->sorted = NULL;
    t->n_sorted = 0;
}

void
cluster_destroy(struct cluster *c)
{
    if (!c) {
        return;
    }
    for (int k = 0; k < OBJ_N_KINDS; k++) {
        struct kind_table *t = &c->kinds[k];
        size_t b;
        for (struct strmap_node *node = strmap_first(&t->by_key, &b); node;
             node = strmap_next(&t->by_key, node, &b)) {
            k8s_object_destroy(node->value);
        }
        strmap_destroy(&t->by_key);
        kind_table_invalidate(t);
    }
    free(c);
}

static const void *
wrapped(const struct k8s_object *o)
{
    switch (o->kind) {
    case OBJ_NAMESPACE:
        return o->ns;
    case OBJ_POD:
        return o->pod;
    case OBJ_NETPOL:
        return o->np;
    case OBJ_CNP:
        return o->cnp;
    case OBJ_NODE:
        return o->node;
    }
    abort();
}

static void
wrapped_key(enum obj_kind kind, const void *p, const char **ns,
            const char **name)
{
    *ns = "";
    switch (kind) {
    case OBJ_NAMESPACE:
        *name = ((const struct k8s_namespace *) p)->name;
        return;
    case OBJ_POD:
        *ns = ((const struct k8s_pod *) p)->namespace;
        *name = ((const struct k8s_pod *) p)->name;
        return;
    case OBJ_NETPOL:
        *ns = ((const struct k8s_netpol *) p)->namespace;
        *name = ((const struct k8s_netpol *) p)->name;
        return;
    case OBJ_CNP:
        *name = ((const struct k8s_cnp *) p)->name;
        return;
    case OBJ_NODE:
        *name = ((const struct k8s_node *) p)->name;
        return;
    }
    abort();
}

/* Finds (ns, name) in the sorted view: returns its index, or the bitwise
 * complement of where it would go. */
static long
sorted_find(const struct kind_table *t, enum obj_kind kind, const char *ns,
            const char *name)
{
    size_t lo = 0, hi = t->n_sorted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *mns, *mname;
        wrapped_key(kind, t->sorted[mid], &mns, &mname);
        int cmp = strcmp(mns, ns);
        if (!cmp) {
            cmp = strcmp(mname, name);
        }
        if (!cmp) {
            return mid;
        } else if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return ~(long) lo;
}

/* Keeps the sorted view valid across one change instead of sorting it all
 * again at the next read: a burst of pod events would otherwise re-sort
 * every pod each engine run.  'obj' NULL removes (ns, name). */
static void
sorted_update(struct kind_table *t, enum obj_kind kind, const char *ns,
              const char *name, const struct k8s_object *obj)
{
    if (!t->sorted) {
        return;
    }
    long idx = sorted_find(t, kind, ns, name);
    if (obj && idx >= 0) {
        t->sorted[idx] = wrapped(obj);
    } else if (obj) {
        size_t pos = ~idx;
        t->sorted = xrealloc(t->sorted, (t->n_sorted + 1) * sizeof *t->sorted);
        memmove(&t->sorted[pos + 1], &t->sorted[pos],
                (t->n_sorted - pos) * sizeof *t->sorted);
        t->sorted[pos] = wrapped(obj);
        t->n_sorted++;
    } else if (idx >= 0) {
        memmove(&t->sorted[idx], &t->sorted[idx + 1],
                (t->n_sorted - idx - 1) * sizeof *t->sorted);
        t->n_sorted--;
    }
}

void
cluster_apply(struct cluster *c, struct k8s_object *obj)
{
    struct kind_table *t = &c->kinds[obj->kind];
    char *key = k8s_object_key(k8s_object_namespace(obj),
                               k8s_object_name(obj));
    void **slot = strmap_slot(&t->by_key, key, NULL);
    free(key);
    sorted_update(t, obj->kind, k8s_object_namespace(obj),
                  k8s_object_name(obj), obj);
    k8s_object_destroy(*slot);
    *slot = obj;
}

void
cluster_apply_batch(struct cluster *c, struct obj_batch *batch)
{
    for (size_t i = 0; i < batch->n_objs; i++) {
        struct k8s_object *obj = xmalloc(sizeof *obj);
        *obj = batch->objs[i];
        cluster_apply(c, obj);
    }
    batch->n_objs = 0;
}

bool
cluster_delete(struct cluster *c, enum obj_kind kind, const char *ns,
               const char *name)
{
    struct kind_table *t = &c->kinds[kind];
    if (obj_kind_cluster_scoped(kind)) {
        ns = "";
    }
    char *key = k8s_object_key(ns, name);
    struct k8s_object *obj = strmap_remove(&t->by_key, key);
    free(key);
    if (!obj) {
        return false;
    }
    sorted_update(t, kind, ns, name, NULL);
    k8s_object_destroy(obj);
    return true;
}

static const struct k8s_object *
cluster_find(const struct cluster *c, enum obj_kind kind, const char *ns,
             const char *name)
{
    char *key = k8s_object_key(ns, name);
    const struct k8s_object *obj = strmap_get(&c->kinds[kind].by_key, key);
    free(key);
    return obj;
}

const struct k8s_namespace *
cluster_find_namespace(const struct cluster *c, const char *name)
{
    const struct k8s_object *obj = cluster_find(c, OBJ_NAMESPACE, "", name);
    return obj ? obj->ns : NULL;
}

const struct k8s_pod *
cluster_find_pod(const struct cluster *c, const char *ns, const char *name)
{
    const struct k8s_object *obj = cluster_find(c, OBJ_POD, ns, name);
    return obj ? obj->pod : NULL;
}

const struct k8s_netpol *
cluster_find_netpol(const struct cluster *c, const char *ns, const char *name)
{
    const struct k8s_object *obj = cluster_find(c, OBJ_NETPOL, ns, name);
    return obj ? obj->np : NULL;
}

const struct k8s_cnp *
cluster_find_cnp(const struct cluster *c, const char *name)
{
    const struct k8s_object *obj = cluster_find(c, OBJ_CNP, "", name);
    return obj ? obj->cnp : NULL;
}

static int
compare_objects(const void *a_, const void *b_)
{
    const struct k8s_object *a = *(const struct k8s_object *const *) a_;
    const struct k8s_object *b = *(const struct k8s_object *const *) b_;
    int cmp = strcmp(k8s_object_namespace(a), k8s_object_namespace(b));
    return cmp ? cmp : strcmp(k8s_object_name(a), k8s_object_name(b));
}

static const void *const *
cluster_sorted(const struct cluster *c_, enum obj_kind kind, size_t *n)
{
    /* The sorted view is a cache: logically const. */
    struct cluster *c = (struct cluster *) c_;
    struct kind_table *t = &c->kinds[kind];
    if (!t->sorted) {
        const struct k8s_object **objs = xmalloc((t->by_key.n + 1)
                                                 * sizeof *objs);
        size_t n_objs = 0, b;
        for (struct strmap_node *node = strmap_first(&t->by_key, &b); node;
             node = strmap_next(&t->by_key, node, &b)) {
            objs[n_objs++] = node->value;
        }
        np_qsort(objs, n_objs, sizeof *objs, compare_objects);
        /* Replace each object by the struct it wraps, in place. */
        for (size_t i = 0; i < n_objs; i++) {
            objs[i] = wrapped(objs[i]);
        }
        t->sorted = (const void **) objs;
        t->n_sorted = n_objs;
    }
    *n = t->n_sorted;
    return t->sorted;
}

const struct k8s_namespace *const *
cluster_namespaces(const struct cluster *c, size_t *n)
{
    return (const struct k8s_namespace *const *)
        cluster_sorted(c, OBJ_NAMESPACE, n);
}

const struct k8s_pod *const *
cluster_pods(const struct cluster *c, size_t *n)
{
    return (const struct k8s_pod *const *) cluster_sorted(c, OBJ_POD, n);
}

const struct k8s_netpol *const *
cluster_netpols(const struct cluster *c, size_t *n)
{
    return (const struct k8s_netpol *const *) cluster_sorted(c, OBJ_NETPOL,
                                                             n);
}

const struct k8s_cnp *const *
cluster_cnps(const struct cluster *c, size_t *n)
{
    return (const struct k8s_cnp *const *) cluster_sorted(c, OBJ_CNP, n);
}

const struct k8s_node *const *
cluster_nodes(const struct cluster *c, size_t *n)
{
    return (const struct k8s_node *const *) cluster_sorted(c, OBJ_NODE, n);
}

size_t
cluster_count(const struct cluster *c, enum obj_kind kind)
{
    return c->kinds[kind].by_key.n;
}
