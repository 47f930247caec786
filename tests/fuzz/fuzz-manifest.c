/* Fuzz target: manifests, as 'ovs-netpol compile' and '--source dir:' read
 * them (objects_parse_buffer(): JSON, JSON streams, YAML, multi-document
 * YAML, Lists), and single decoded objects as the API client hands them
 * over (objects_from_json() and objects_from_json_as() for each kind).
 *
 * Checks: every object that comes out has a name (and a namespace unless it
 * is a Namespace); every rejection has a message; objects_from_json*()
 * return an object or a message, never both or neither. */
#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "objects.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void
check_object(const struct k8s_object *o, enum obj_kind want, bool any)
{
    assert(any || o->kind == want);
    const char *ns = k8s_object_namespace(o);
    const char *name = k8s_object_name(o);
    assert(name && *name);
    assert(ns && (o->kind == OBJ_NAMESPACE ? !*ns : !!*ns));
}

static void
from_json(const json_t *json, bool as, enum obj_kind kind)
{
    char *error = NULL;
    struct k8s_object *o = (as
                            ? objects_from_json_as("fuzz", json, kind, &error)
                            : objects_from_json("fuzz", json, &error));
    assert(!o != !error);
    if (o) {
        check_object(o, kind, !as);
    } else {
        assert(*error);
    }
    k8s_object_destroy(o);
    free(error);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct obj_batch batch;
    obj_batch_init(&batch);
    objects_parse_buffer("fuzz", (const char *) data, size, &batch);
    for (size_t i = 0; i < batch.n_objs; i++) {
        check_object(&batch.objs[i], 0, true);
    }
    for (size_t i = 0; i < batch.n_errors; i++) {
        assert(batch.errors[i] && *batch.errors[i]);
    }
    for (size_t i = 0; i < batch.n_rejected; i++) {
        const struct obj_rejected *r = &batch.rejected[i];
        assert(r->ref.name && r->ref.ns);
        assert(r->error < batch.n_errors);
        /* A rejected NetworkPolicy fails closed: its stand-in isolates and
         * allows nothing. */
        if (r->stand_in) {
            assert(r->ref.kind == OBJ_NETPOL);
            assert(r->stand_in->kind == OBJ_NETPOL);
            const struct k8s_netpol *np = r->stand_in->np;
            assert(np->invalid);
            assert(!np->n_ingress && !np->n_egress);
            assert(np->isolates_ingress || np->isolates_egress);
            assert(!strcmp(np->namespace, r->ref.ns)
                   && !strcmp(np->name, r->ref.name));
        }
    }
    obj_batch_destroy(&batch);

    json_t *json = json_loadb((const char *) data, size, 0, NULL);
    if (json) {
        from_json(json, false, 0);
        from_json(json, true, OBJ_NAMESPACE);
        from_json(json, true, OBJ_POD);
        from_json(json, true, OBJ_NETPOL);
        json_decref(json);
    }
    return 0;
}
