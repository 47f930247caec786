/* Fuzz target: the compiler and the engine fed with fuzzed objects.  The
 * input is a manifest (as for fuzz-manifest); its valid objects are added,
 * in two batches, to an engine that holds the base cluster (fuzz-base.c).
 *
 * Checks, besides crashes in objects.c, compile.c, engine.c, flowtab.c:
 *   - every flow the engine wants is one the switch accepts (fuzz-ofcheck.c);
 *   - the incremental run gives the table of a full recompute (engine.h),
 *     and of compile_cluster() (the offline compiler), before and after
 *     the fuzzed objects go away;
 *   - taking the fuzzed objects away again gives back the base table, when
 *     none of them replaced a base object. */
#include <assert.h>
#include <stdlib.h>
#include "compile.h"
#include "engine.h"
#include "flowtab.h"
#include "fuzz.h"
#include "fuzz-base.h"
#include "np-util.h"
#include "objects.h"

static struct flowtab *base_table;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet_ovs();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct obj_batch batch;
    obj_batch_init(&batch);
    objects_parse_buffer("fuzz", (const char *) data, size, &batch);
    if (!batch.n_objs) {
        obj_batch_destroy(&batch);
        return 0;
    }

    struct engine *e = fuzz_base_engine();
    if (!base_table) {
        base_table = flowtab_clone(engine_desired(e));
        fuzz_check_openflow(NULL, base_table);
    }

    /* Keys of the objects, to take them away at the end. */
    size_t n = batch.n_objs;
    struct obj_ref *refs = xcalloc(n, sizeof *refs);
    bool replaces_base = false;
    for (size_t i = 0; i < n; i++) {
        struct k8s_object *obj = xmalloc(sizeof *obj);
        *obj = batch.objs[i];
        refs[i].kind = obj->kind;
        refs[i].ns = xstrdup(k8s_object_namespace(obj));
        refs[i].name = xstrdup(k8s_object_name(obj));
        replaces_base |= fuzz_base_has(refs[i].kind, refs[i].ns,
                                       refs[i].name);
        engine_apply(e, obj);
        if (i == n / 2) {
            engine_run(e);
        }
    }
    batch.n_objs = 0;
    obj_batch_destroy(&batch);

    engine_run(e);
    struct flowtab *incremental = flowtab_clone(engine_desired(e));
    fuzz_check_openflow(base_table, incremental);
    struct np_flowset full;
    engine_compile_full(e, &full);
    struct flowtab *oracle = flowtab_create();
    flowtab_assign(oracle, &full);
    np_flowset_destroy(&full);
    fuzz_check_same(oracle, incremental,
                    "compile_cluster() and the incremental run");
    flowtab_destroy(oracle);
    engine_force_full(e, "fuzz");
    engine_run(e);
    fuzz_check_same(incremental, engine_desired(e),
                    "the incremental run and the full recompute");
    flowtab_destroy(incremental);

    for (size_t i = 0; i < n; i++) {
        engine_delete(e, refs[i].kind, refs[i].ns, refs[i].name);
        free(refs[i].ns);
        free(refs[i].name);
    }
    free(refs);
    engine_run(e);
    engine_compile_full(e, &full);
    oracle = flowtab_create();
    flowtab_assign(oracle, &full);
    np_flowset_destroy(&full);
    fuzz_check_same(oracle, engine_desired(e),
                    "compile_cluster() and the run that took the fuzzed "
                    "objects away");
    flowtab_destroy(oracle);
    if (!replaces_base) {
        fuzz_check_same(base_table, engine_desired(e),
                        "the base table and the table after taking the "
                        "fuzzed objects away");
    }
    engine_destroy(e);
    return 0;
}
