/* Unit tests of labels.c: label sets and selector semantics, in particular
 * the operators that match objects lacking the key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdlib.h>
#include <string.h>
#include "labels.h"

static void
test_labels(void **state)
{
    struct labels l;
    labels_init(&l);
    labels_set(&l, "b", "2");
    labels_set(&l, "a", "1");
    labels_set(&l, "c", "3");
    labels_set(&l, "b", "20");
    assert_int_equal(l.n, 3);
    assert_string_equal(l.items[0].key, "a");
    assert_string_equal(labels_get(&l, "b"), "20");
    assert_null(labels_get(&l, "d"));
    struct labels copy;
    labels_clone(&copy, &l);
    assert_true(labels_equal(&l, &copy));
    labels_set(&copy, "d", "4");
    assert_false(labels_equal(&l, &copy));
    labels_destroy(&copy);
    labels_destroy(&l);
}

/* Equal keys and values are one string however many sets hold them, and
 * each set still owns its labels: a replaced value or a destroyed set
 * leaves the others as they were. */
static void
test_labels_interned(void **state)
{
    (void) state;
    enum { N = 1000 };
    struct labels *sets = calloc(N, sizeof *sets);
    for (int i = 0; i < N; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i % 7);
        labels_init(&sets[i]);
        labels_set(&sets[i], "app", v);
        labels_set(&sets[i], "tier", "web");
    }
    assert_ptr_equal(labels_get(&sets[0], "tier"), labels_get(&sets[N - 1],
                                                             "tier"));
    assert_ptr_equal(labels_get(&sets[3], "app"), labels_get(&sets[10],
                                                            "app"));
    struct labels copy;
    labels_clone(&copy, &sets[5]);
    labels_set(&sets[5], "app", "other");
    assert_string_equal(labels_get(&copy, "app"), "v5");
    assert_string_equal(labels_get(&sets[5], "app"), "other");
    assert_string_equal(labels_get(&sets[12], "app"), "v5");
    for (int i = 0; i < N; i++) {
        labels_destroy(&sets[i]);
    }
    assert_string_equal(labels_get(&copy, "tier"), "web");
    labels_destroy(&copy);
    free(sets);
}

static void
test_selector_ops(void **state)
{
    struct labels with, without;
    labels_init(&with);
    labels_init(&without);
    labels_set(&with, "env", "prod");
    labels_set(&without, "app", "x");

    struct selector s;
    const char *prod[] = { "prod", "staging" };
    const char *dev[] = { "dev" };

    selector_init(&s);
    assert_true(selector_is_empty(&s));
    assert_true(selector_matches(&s, &without));        /* {} selects all. */
    selector_add_expr(&s, "env", SEL_IN, prod, 2);
    assert_true(selector_matches(&s, &with));
    assert_false(selector_matches(&s, &without));
    selector_destroy(&s);

    selector_init(&s);
    selector_add_expr(&s, "env", SEL_NOT_IN, dev, 1);
    assert_true(selector_matches(&s, &with));
    assert_true(selector_matches(&s, &without));        /* Lacks the key. */
    selector_destroy(&s);

    selector_init(&s);
    selector_add_expr(&s, "env", SEL_NOT_IN, prod, 2);
    assert_false(selector_matches(&s, &with));
    selector_destroy(&s);

    selector_init(&s);
    selector_add_expr(&s, "env", SEL_EXISTS, NULL, 0);
    assert_true(selector_matches(&s, &with));
    assert_false(selector_matches(&s, &without));
    selector_destroy(&s);

    selector_init(&s);
    selector_add_expr(&s, "env", SEL_DOES_NOT_EXIST, NULL, 0);
    assert_false(selector_matches(&s, &with));
    assert_true(selector_matches(&s, &without));
    selector_destroy(&s);

    /* matchLabels and expressions are ANDed. */
    selector_init(&s);
    labels_set(&s.match_labels, "env", "prod");
    selector_add_expr(&s, "app", SEL_DOES_NOT_EXIST, NULL, 0);
    assert_true(selector_matches(&s, &with));
    labels_set(&with, "app", "y");
    assert_false(selector_matches(&s, &with));
    selector_destroy(&s);

    labels_destroy(&with);
    labels_destroy(&without);
}

static void
test_selector_text(void **state)
{
    struct selector a, b;
    const char *v1[] = { "b", "a", "b" };
    const char *v2[] = { "a", "b" };
    selector_init(&a);
    selector_init(&b);
    labels_set(&a.match_labels, "app", "db");
    selector_add_expr(&a, "tier", SEL_IN, v1, 3);
    selector_add_expr(&a, "legacy", SEL_DOES_NOT_EXIST, NULL, 0);
    selector_add_expr(&b, "legacy", SEL_DOES_NOT_EXIST, NULL, 0);
    selector_add_expr(&b, "tier", SEL_IN, v2, 2);
    labels_set(&b.match_labels, "app", "db");
    char *sa = selector_to_string(&a), *sb = selector_to_string(&b);
    assert_string_equal(sa, "app=db,!legacy,tier in (a,b)");
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    struct selector c;
    selector_clone(&c, &a);
    sa = selector_to_string(&c);
    assert_string_equal(sa, "app=db,!legacy,tier in (a,b)");
    free(sa);
    selector_destroy(&a);
    selector_destroy(&b);
    selector_destroy(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_labels_interned),
        cmocka_unit_test(test_selector_ops),
        cmocka_unit_test(test_selector_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
