/* Unit tests of np-log.c: what reaches the log when a message carries
 * text from outside (an API server's Status message, a file name), and
 * the rate limit of messages that outside input triggers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "np-log.h"
#include "np-util.h"

/* Logs 'msg' (as "%s") in the format 'json' and returns what was written
 * to stderr, malloc'd. */
static char *
capture(bool json, const char *msg)
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    np_log_set_json(json);
    np_log(NP_LOG_ERR, "kube", "%s", msg);
    np_log_set_json(false);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);

    long size = ftell(tmp);
    assert_true(size > 0);
    char *out = xmalloc(size + 1);
    rewind(tmp);
    assert_int_equal(fread(out, 1, size, tmp), size);
    out[size] = '\0';
    fclose(tmp);
    return out;
}

/* The text after "TIMESTAMP error kube: " of the one line in 'out'. */
static const char *
text_message(const char *out)
{
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_null(strchr(nl + 1, '\n'));
    assert_int_equal(nl[1], '\0');
    const char *p = strstr(out, " error kube: ");
    assert_non_null(p);
    return p + strlen(" error kube: ");
}

/* A Status message from a server with a newline must not forge a log line
 * (the review's reproduction). */
static void
test_text_forged_line(void **state)
{
    char *out = capture(false, "list of pods: forbidden (HTTP 403: "
                        "Forbidden: nope\n2026-01-01T00:00:00.000Z info "
                        "daemon: FAKE LOG LINE injected)");
    assert_string_equal(text_message(out),
                        "list of pods: forbidden (HTTP 403: Forbidden: nope"
                        "\\n2026-01-01T00:00:00.000Z info daemon: FAKE LOG "
                        "LINE injected)\n");
    free(out);
}

static void
test_text_controls(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "a\rb\tc", "a\\rb\\tc" },
        { "esc \x1b[2J del \x7f", "esc \\x1b[2J del \\x7f" },
        /* Valid UTF-8 stays; C1 controls (U+0085 is a line break to some
         * viewers) and bytes that are not UTF-8 are spelled out. */
        { "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },
        { "nel\xc2\x85" "end", "nel\\u0085end" },
        { "bad \xff\xfe, cut \xe2\x82", "bad \\xff\\xfe, cut \\xe2\\x82" },
        { "overlong \xc0\xaf, surrogate \xed\xa0\x80",
          "overlong \\xc0\\xaf, surrogate \\xed\\xa0\\x80" },
        { "quote \" and backslash \\ stay", "quote \" and backslash \\ stay" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *out = capture(false, cases[i].in);
        char *want = xasprintf("%s\n", cases[i].out);
        assert_string_equal(text_message(out), want);
        free(want);
        free(out);
    }
}

/* JSON lines are valid JSON (and UTF-8) whatever the message holds. */
static void
test_json(void **state)
{
    static const struct {
        const char *in, *msg;
    } cases[] = {
        { "nope\n2026-01-01T00:00:00.000Z info daemon: FAKE",
          "nope\n2026-01-01T00:00:00.000Z info daemon: FAKE" },
        { "q\" b\\ del\x7f nel\xc2\x85", "q\" b\\ del\x7f nel\xc2\x85" },
        { "bad \xff caf\xc3\xa9", "bad \\xff caf\xc3\xa9" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *out = capture(true, cases[i].in);
        const char *nl = strchr(out, '\n');
        assert_non_null(nl);
        assert_int_equal(nl[1], '\0');
        json_error_t err;
        json_t *j = json_loads(out, 0, &err);
        if (!j) {
            fail_msg("not JSON (%s): %s", err.text, out);
        }
        assert_string_equal(json_string_value(json_object_get(j, "msg")),
                            cases[i].msg);
        assert_string_equal(json_string_value(json_object_get(j, "module")),
                            "kube");
        json_decref(j);
        free(out);
    }
}

/* The token bucket: 'burst' in a row from the start, whenever it is, then
 * 'rate' per second; what it refuses is counted. */
static void
test_limit(void **state)
{
    struct np_log_limit rl;
    np_log_limit_init(&rl, 2, 5);
    double t = 1e6;
    for (int i = 0; i < 5; i++) {
        assert_true(np_log_limit_allow(&rl, t));
    }
    assert_false(np_log_limit_allow(&rl, t));
    assert_false(np_log_limit_allow(&rl, t + 0.4));
    assert_int_equal(rl.dropped, 2);
    assert_true(np_log_limit_allow(&rl, t + 0.5));     /* 1 token. */
    assert_false(np_log_limit_allow(&rl, t + 0.5));
    /* Long quiet: the bucket holds 'burst' again, no more. */
    for (int i = 0; i < 5; i++) {
        assert_true(np_log_limit_allow(&rl, t + 3600));
    }
    assert_false(np_log_limit_allow(&rl, t + 3600));

    /* NP_LOG_LIMIT_INIT(20): 20 in a row, then one every 3 s. */
    struct np_log_limit site = NP_LOG_LIMIT_INIT(20);
    int n = 0;
    for (int i = 0; i < 100; i++) {
        n += np_log_limit_allow(&site, 500);
    }
    assert_int_equal(n, 20);
    assert_false(np_log_limit_allow(&site, 502));
    assert_true(np_log_limit_allow(&site, 503.1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_forged_line),
        cmocka_unit_test(test_text_controls),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
