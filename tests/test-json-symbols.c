/* test-json-symbols: jansson and libopenvswitch in one program.
 *
 * Both libraries export json_array(), json_equal(), json_integer(),
 * json_object(), json_real() and json_string(), with other meanings.
 * ovs/build-libovs.sh renames the six inside libopenvswitch-renamed.a to
 * ovs_json_*, both where OVS defines them and where OVS calls them
 * (DESIGN.md §4).  This test proves that the six names, as the Kubernetes
 * side calls them, are jansson's, and that OVS's JSON code, which calls its
 * own renamed copies, still works.
 *
 * OVS's <openvswitch/json.h> declares the six names with OVS's types, and
 * JSON_NULL, JSON_OBJECT and the like as its own enumerators, all of which
 * jansson's header contradicts.  Our modules never include both (STYLE.md);
 * this test has to, so it sees OVS's declarations through the same renaming
 * as the library (which also turns OVS's 'struct json_array' into 'struct
 * ovs_json_array' here) and its enumerators as OVS_JSON_*, and jansson's
 * unchanged. */

#include <config.h>

#define json_array ovs_json_array
#define json_equal ovs_json_equal
#define json_integer ovs_json_integer
#define json_object ovs_json_object
#define json_real ovs_json_real
#define json_string ovs_json_string
#define JSON_NULL OVS_JSON_NULL
#define JSON_FALSE OVS_JSON_FALSE
#define JSON_TRUE OVS_JSON_TRUE
#define JSON_OBJECT OVS_JSON_OBJECT
#define JSON_ARRAY OVS_JSON_ARRAY
#define JSON_INTEGER OVS_JSON_INTEGER
#define JSON_REAL OVS_JSON_REAL
#define JSON_STRING OVS_JSON_STRING
#include "openvswitch/json.h"
#include "openvswitch/shash.h"
#include "lib/smap.h"
#include "lib/util.h"      /* OVS's; ours is include/util.h. */
#undef json_array
#undef json_equal
#undef json_integer
#undef json_object
#undef json_real
#undef json_string
#undef JSON_NULL
#undef JSON_FALSE
#undef JSON_TRUE
#undef JSON_OBJECT
#undef JSON_ARRAY
#undef JSON_INTEGER
#undef JSON_REAL
#undef JSON_STRING

#include <dlfcn.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* The shared object that defines 'func', or "" if unknown. */
static const char *
defining_object(void (*func)(void))
{
    Dl_info info;

    return dladdr((void *) func, &info) && info.dli_fname
           ? info.dli_fname : "";
}

/* The six names resolve to code in libjansson. */
static void
test_names_are_janssons(void **state)
{
    void (*funcs[])(void) = {
        (void (*)(void)) json_array,
        (void (*)(void)) json_equal,
        (void (*)(void)) json_integer,
        (void (*)(void)) json_object,
        (void (*)(void)) json_real,
        (void (*)(void)) json_string,
    };

    for (size_t i = 0; i < sizeof funcs / sizeof *funcs; i++) {
        const char *object = defining_object(funcs[i]);

        if (!strstr(object, "libjansson")) {
            fail_msg("function %zu of 6 is defined in \"%s\", not libjansson",
                     i + 1, object);
        }
    }
}

/* The six names behave as jansson documents them. */
static void
test_jansson_builds_json(void **state)
{
    json_t *doc = json_object();
    json_t *list = json_array();
    json_t *copy;
    char *text;

    assert_non_null(doc);
    assert_non_null(list);
    assert_int_equal(json_array_append_new(list, json_integer(42)), 0);
    assert_int_equal(json_array_append_new(list, json_real(2.5)), 0);
    assert_int_equal(json_array_append_new(list, json_string("pod")), 0);
    assert_int_equal(json_object_set_new(doc, "items", list), 0);
    assert_int_equal(json_object_set_new(doc, "kind",
                                         json_string("PodList")), 0);

    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    assert_string_equal(text,
                        "{\"items\":[42,2.5,\"pod\"],\"kind\":\"PodList\"}");

    copy = json_loads(text, 0, NULL);
    assert_non_null(copy);
    assert_true(json_equal(doc, copy));
    assert_int_equal(json_object_set_new(copy, "kind", json_string("x")), 0);
    assert_false(json_equal(doc, copy));

    free(text);
    json_decref(copy);
    json_decref(doc);
}

/* OVS's parser and serializer, which use the renamed accessors. */
static void
test_ovs_json_round_trip(void **state)
{
    struct json *a = json_from_string("{\"b\":[1,2.5,\"x\"],\"a\":true}");
    struct json *b = json_from_string("{\"a\":true,\"b\":[1,2.5,\"x\"]}");
    const struct ovs_json_array *list;
    char *text;

    assert_int_equal(a->type, OVS_JSON_OBJECT);
    assert_true(ovs_json_equal(a, b));

    list = ovs_json_array(shash_find_data(ovs_json_object(a), "b"));
    assert_int_equal(list->n, 3);
    assert_int_equal(ovs_json_integer(list->elems[0]), 1);
    assert_true(ovs_json_real(list->elems[1]) == 2.5);
    assert_string_equal(ovs_json_string(list->elems[2]), "x");

    text = json_to_string(a, JSSF_SORT);
    assert_string_equal(text, "{\"a\":true,\"b\":[1,2.5,\"x\"]}");

    free(text);
    json_destroy(a);
    json_destroy(b);
}

/* smap_from_json() calls json_object() and json_string() inside
 * libopenvswitch, where they must still mean OVS's. */
static void
test_ovs_internal_callers(void **state)
{
    struct json *json = json_from_string("{\"k1\":\"v1\",\"k2\":\"v2\"}");
    struct json *back;
    struct smap map = SMAP_INITIALIZER(&map);

    smap_from_json(&map, json);
    assert_int_equal(smap_count(&map), 2);
    assert_string_equal(smap_get(&map, "k1"), "v1");
    assert_string_equal(smap_get(&map, "k2"), "v2");

    back = smap_to_json(&map);
    assert_true(ovs_json_equal(json, back));

    json_destroy(back);
    json_destroy(json);
    smap_destroy(&map);
}

int
main(int argc, char *argv[])
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_janssons),
        cmocka_unit_test(test_jansson_builds_json),
        cmocka_unit_test(test_ovs_json_round_trip),
        cmocka_unit_test(test_ovs_internal_callers),
    };
    int failed;

    set_program_name(argv[0]);
    failed = cmocka_run_group_tests_name("json-symbols", tests, NULL, NULL);
    if (!failed) {
        printf("PASS: jansson owns json_object() and friends; "
               "OVS JSON works through ovs_json_*\n");
    }
    return failed ? 1 : 0;
}
