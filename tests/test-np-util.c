/* Unit tests of np-util.c's growable string and bounded file reading. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "np-util.h"

static void
test_strbuf(void **state)
{
    struct strbuf b;
    strbuf_init(&b);
    char *s = strbuf_steal(&b);
    assert_string_equal(s, "");
    free(s);

    for (int i = 0; i < 1000; i++) {
        strbuf_printf(&b, "%d,", i);
    }
    strbuf_put(&b, "end");
    assert_int_equal(b.len, strlen(b.s));
    assert_memory_equal(b.s, "0,1,2,", 6);
    assert_string_equal(b.s + b.len - 7, "999,end");
    s = strbuf_steal(&b);
    assert_null(b.s);
    assert_int_equal(b.len, 0);
    free(s);

    strbuf_put(&b, "x");
    strbuf_destroy(&b);
    assert_null(b.s);
    strbuf_destroy(NULL);
}

/* Writes 'size' bytes of 'c' to a new temporary file; returns its name,
 * malloc'd. */
static char *
temp_file(size_t size, char c)
{
    char *path = strdup("/tmp/test-np-util.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *data = malloc(size + 1);
    memset(data, c, size);
    assert_int_equal(write(fd, data, size), size);
    free(data);
    close(fd);
    return path;
}

/* A file of exactly the limit is read whole; one byte more is EFBIG,
 * whether the size is known up front or found while reading. */
static void
test_read_bounds(void **state)
{
    for (int flags = 0; flags < 4; flags++) {
        for (size_t size = 0; size < 10000; size += 4999) {
            char *path = temp_file(size, 'a');
            char *data;
            size_t n;
            assert_int_equal(np_read_file(path, size, flags, NULL, &data,
                                          &n), 0);
            assert_int_equal(n, size);
            assert_int_equal(strlen(data), size);
            free(data);
            if (size) {
                assert_int_equal(np_read_file(path, size - 1, flags, NULL,
                                              &data, &n), EFBIG);
                assert_null(data);
            }
            unlink(path);
            free(path);
        }
    }

    char *data;
    size_t n;
    assert_int_equal(np_read_file("/nonexistent/x", 10, 0, NULL, &data, &n),
                     ENOENT);
    struct stat st = { .st_mode = 0 };
    assert_int_equal(np_read_file("/tmp", 10, NP_READ_REGULAR, &st, &data,
                                  &n), NP_READ_NOT_REGULAR);
    assert_true(S_ISDIR(st.st_mode));

    /* A pipe: its size is found while reading. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "0123456789", 10), 10);
    close(fds[1]);
    assert_int_equal(np_read_fd(fds[0], 9, 0, 0, &data, &n), EFBIG);
    close(fds[0]);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "0123456789", 10), 10);
    close(fds[1]);
    assert_int_equal(np_read_fd(fds[0], 10, 0, NP_READ_SECRET, &data, &n),
                     0);
    assert_string_equal(data, "0123456789");
    free(data);
    close(fds[0]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strbuf),
        cmocka_unit_test(test_read_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
