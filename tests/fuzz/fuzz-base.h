/* fuzz-base.c: a small cluster for the fuzz targets that compile. */
#ifndef NP_FUZZ_BASE_H
#define NP_FUZZ_BASE_H 1

#include <stdbool.h>
#include <stddef.h>
#include "objects.h"

struct engine;

/* The base cluster as a JSON stream. */
const char *fuzz_base_manifest(void);

/* Parses the base cluster's objects into 'batch' (initialized here). */
void fuzz_base_parse(struct obj_batch *batch);

/* True if the base cluster has this object. */
bool fuzz_base_has(enum obj_kind, const char *ns, const char *name);

/* The base cluster's port bindings. */
struct fuzz_base_port {
    const char *ns, *name, *port, *addresses;
};
const struct fuzz_base_port *fuzz_base_ports(size_t *n);

/* A new engine for node "node-1" (node address 10.9.0.254) that holds the
 * base cluster and its port bindings, and has run once. */
struct engine *fuzz_base_engine(void);

#endif
