/* Fuzz target: the values a CNI (or anyone who can write OVSDB) puts in an
 * Interface's external_ids, as the daemon reads them: iface-id, split by
 * switch_db_parse_iface_id() (src/switch-db.c), and ip_addresses, parsed
 * by engine_set_port() (src/engine.c) into the addresses of a pod whose
 * status has none yet, and compiled.
 *
 * Input: the iface-id, a newline, the ip_addresses value (each up to the
 * first NUL: OVSDB strings hold none).  The addresses are bound both to the
 * base cluster's pod z/a (no address in its status) and to the pod the
 * iface-id names.
 *
 * Checks: a valid split gives two non-empty parts, the namespace without
 * '_', that join back into the iface-id, and an invalid one a bounded
 * message and names no pod can have (or none); every flow is one the switch accepts;
 * incremental run = full recompute; restoring the bindings restores the
 * base table. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "flowtab.h"
#include "fuzz.h"
#include "fuzz-base.h"
#include "np-util.h"
#include "switch-db.h"

static struct flowtab *base_table;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet_ovs();
    return 0;
}

static void
bind(struct engine *e, const char *ns, const char *name, const char *port,
     const char *addresses)
{
    char *warning = engine_set_port(e, ns, name, port, addresses);
    assert(!warning || *warning);
    free(warning);
}

/* Takes the binding to 'port' off ns/name, and gives ns/name back its
 * binding of the base cluster, if it has one. */
static void
restore(struct engine *e, const char *ns, const char *name, const char *port)
{
    size_t n;
    const struct fuzz_base_port *ports = fuzz_base_ports(&n);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(ports[i].ns, ns) && !strcmp(ports[i].name, name)) {
            if (strcmp(ports[i].port, port)) {
                engine_unset_port(e, ns, name, port);
            }
            bind(e, ns, name, ports[i].port, ports[i].addresses);
            return;
        }
    }
    engine_unset_port(e, ns, name, port);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmemdup0((const char *) data, size);
    char *nl = strchr(text, '\n');
    const char *iface_id = text;
    const char *addresses = "";
    if (nl) {
        *nl = '\0';
        addresses = nl + 1;
    }

    char *ns = NULL, *pod = NULL;
    char *bad = switch_db_parse_iface_id(iface_id, &ns, &pod);
    if (!bad) {
        assert(*ns && *pod && !strchr(ns, '_'));
        char *joined = xasprintf("%s_%s", ns, pod);
        assert(!strcmp(joined, iface_id));
        free(joined);
    } else {
        /* The message is bounded whatever the value; a port that is not
         * left unbound is bound to names no pod can have. */
        assert(*bad && strlen(bad) < 512);
        assert(!ns == !pod);
        for (const char *p = ns; p && *p; p++) {
            assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789-.?", *p));
        }
        for (const char *p = pod; p && *p; p++) {
            assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789-.?", *p));
        }
        free(bad);
    }

    struct engine *e = fuzz_base_engine();
    if (!base_table) {
        base_table = flowtab_clone(engine_desired(e));
    }
    bind(e, "z", "a", "4", addresses);
    if (ns) {
        bind(e, ns, pod, "9", addresses);
    }
    engine_run(e);
    struct flowtab *incremental = flowtab_clone(engine_desired(e));
    fuzz_check_openflow(base_table, incremental);
    engine_force_full(e, "fuzz");
    engine_run(e);
    fuzz_check_same(incremental, engine_desired(e),
                    "the incremental run and the full recompute");
    flowtab_destroy(incremental);

    if (ns) {
        restore(e, ns, pod, "9");
    }
    restore(e, "z", "a", "4");
    engine_run(e);
    fuzz_check_same(base_table, engine_desired(e),
                    "the base table and the table after restoring the "
                    "bindings");

    engine_destroy(e);
    free(ns);
    free(pod);
    free(text);
    return 0;
}
